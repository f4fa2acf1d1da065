//! Throttling of failed attempts per enrollment (RFC 4226 §7.3, NIST SP 800-63B §5.2.2).
//!
//! Defaults, and why:
//! * the first two consecutive failures cost nothing: a customer who mistypes twice is not
//!   slowed down;
//! * the [`ThrottlePolicy::DEFAULT_BACKOFF_AFTER`]rd (3rd) consecutive failure imposes a
//!   backoff of 30 s, and each further one doubles it (60 s, 120 s, …), capped at 15 minutes;
//!   during a backoff no code is checked, a correct one included;
//! * the [`ThrottlePolicy::DEFAULT_LOCK_AFTER`]th (10th) consecutive failure locks the
//!   enrollment until an administrative reset. With 6 digits and a ±1 window an online
//!   guesser then succeeds with probability below 10 × 3 / 10⁶ = 3·10⁻⁵ per lock, far inside
//!   NIST's limit of 100 attempts.
//!
//! A success before the lock clears the counter. Replayed and malformed codes are refused
//! without counting: they test no unknown secret value.

use crate::error::{PolicyError, Refusal};

/// Bounds on failed attempts.
///
/// With the `serde` feature: `{"backoff_after": 3, "base_backoff": 30, "max_backoff": 900,
/// "lock_after": 10}`, every field required and no other accepted; deserializing validates
/// like [`ThrottlePolicy::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "ThrottlePolicyFields"))]
pub struct ThrottlePolicy {
    backoff_after: u32,
    base_backoff: u64,
    max_backoff: u64,
    lock_after: u32,
}

impl ThrottlePolicy {
    /// The consecutive failure that imposes the first backoff (the ones before it are free).
    pub const DEFAULT_BACKOFF_AFTER: u32 = 3;
    /// First backoff, in seconds.
    pub const DEFAULT_BASE_BACKOFF: u64 = 30;
    /// Longest backoff, in seconds.
    pub const DEFAULT_MAX_BACKOFF: u64 = 15 * 60;
    /// Consecutive failures that lock the enrollment.
    pub const DEFAULT_LOCK_AFTER: u32 = 10;
    /// NIST SP 800-63B §5.2.2: at most 100 consecutive failed attempts.
    pub const MAX_LOCK_AFTER: u32 = 100;

    /// A policy: backoff from the `backoff_after`-th consecutive failure, starting at
    /// `base_backoff` seconds and doubling up to `max_backoff`; lock at the `lock_after`-th.
    pub fn new(
        backoff_after: u32,
        base_backoff: u64,
        max_backoff: u64,
        lock_after: u32,
    ) -> Result<Self, PolicyError> {
        if lock_after == 0 || lock_after > Self::MAX_LOCK_AFTER {
            return Err(PolicyError::Throttle(
                "lock_after must be between 1 and 100",
            ));
        }
        if backoff_after == 0 || backoff_after > lock_after {
            return Err(PolicyError::Throttle(
                "backoff_after must be between 1 and lock_after",
            ));
        }
        if base_backoff == 0 || base_backoff > max_backoff {
            return Err(PolicyError::Throttle(
                "base_backoff must be positive and at most max_backoff",
            ));
        }
        Ok(Self {
            backoff_after,
            base_backoff,
            max_backoff,
            lock_after,
        })
    }

    /// Consecutive failures that lock the enrollment.
    pub fn lock_after(&self) -> u32 {
        self.lock_after
    }

    /// The consecutive failure that imposes the first backoff: failures before it are free,
    /// this one and each later one impose a backoff.
    pub fn backoff_after(&self) -> u32 {
        self.backoff_after
    }

    /// The backoff imposed after the `failures`-th consecutive failure, in seconds.
    fn backoff_for(&self, failures: u32) -> u64 {
        let Some(doublings) = failures.checked_sub(self.backoff_after) else {
            return 0;
        };
        let factor = 1u64.checked_shl(doublings).unwrap_or(u64::MAX);
        self.base_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// The unvalidated shape a [`ThrottlePolicy`] is deserialized from.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ThrottlePolicyFields {
    backoff_after: u32,
    base_backoff: u64,
    max_backoff: u64,
    lock_after: u32,
}

#[cfg(feature = "serde")]
impl TryFrom<ThrottlePolicyFields> for ThrottlePolicy {
    type Error = PolicyError;
    fn try_from(f: ThrottlePolicyFields) -> Result<Self, PolicyError> {
        Self::new(f.backoff_after, f.base_backoff, f.max_backoff, f.lock_after)
    }
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            backoff_after: Self::DEFAULT_BACKOFF_AFTER,
            base_backoff: Self::DEFAULT_BASE_BACKOFF,
            max_backoff: Self::DEFAULT_MAX_BACKOFF,
            lock_after: Self::DEFAULT_LOCK_AFTER,
        }
    }
}

/// The failure counter kept in each enrollment record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThrottleState {
    pub(crate) failures: u32,
    pub(crate) locked: bool,
    pub(crate) backoff_until: u64,
}

impl ThrottleState {
    /// Consecutive failed attempts.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether the enrollment is locked until an administrative reset.
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// Until when (Unix seconds) no code is checked; in the past when none is imposed.
    pub fn backoff_until(&self) -> u64 {
        self.backoff_until
    }

    /// Refuses without checking any code while locked or backing off.
    pub(crate) fn gate(&self, now: u64) -> Result<(), Refusal> {
        if self.locked {
            return Err(Refusal::Locked);
        }
        if now < self.backoff_until {
            return Err(Refusal::Throttled {
                until: self.backoff_until,
            });
        }
        Ok(())
    }

    /// The state after one more failure at `now`.
    pub(crate) fn after_failure(&self, now: u64, policy: &ThrottlePolicy) -> Self {
        let failures = self.failures.saturating_add(1);
        Self {
            failures,
            locked: failures >= policy.lock_after,
            backoff_until: now.saturating_add(policy.backoff_for(failures)),
        }
    }
}
