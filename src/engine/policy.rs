//! [`EnginePolicy`]: the lifecycle rules around the code policy.

use crate::error::PolicyError;
use crate::lifecycle::recovery_code::RecoveryCodes;
use crate::lifecycle::throttle::ThrottlePolicy;
use crate::otp::policy::OtpPolicy;

/// The lifecycle rules around the code policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnginePolicy {
    pub(super) otp: OtpPolicy,
    pub(super) throttle: ThrottlePolicy,
    pub(super) pending_ttl: u64,
    pub(super) step_up_max_age: u64,
    pub(super) step_up_max_skew: u64,
    pub(super) allow_redisplay: bool,
    pub(super) key_cache_capacity: usize,
    pub(super) accept_legacy_records: bool,
    pub(super) outbox: bool,
    pub(super) hold_records: bool,
    pub(super) recovery_codes: usize,
    pub(super) recovery_low_mark: u8,
    pub(super) drift_limit: u64,
    pub(super) resync_window: u64,
    pub(super) resync_backward_limit: u64,
    pub(super) second_device: SecondDevice,
    /// `None`: the mode's default ([`SecondDevice::step_up_by_default`]).
    pub(super) second_device_step_up: Option<bool>,
}

/// How a customer's second device gets its codes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecondDevice {
    /// コード再表示 (the Japanese securities portal (examples/portal), the default): after a current code, the same secret is
    /// shown again ([`Engine::redisplay`](crate::Engine::redisplay)); both devices are one
    /// authenticator.
    #[default]
    SameSecret,
    /// After a current code of an existing authenticator, a new pending authenticator with
    /// its own secret is provisioned ([`Engine::add_authenticator`](crate::Engine::add_authenticator)),
    /// active only once confirmed with its own first code; re-display is refused. NIST SP
    /// 800-63B-4 asks for this: each device its own authenticator, removable on its own.
    OwnSecret,
}

impl SecondDevice {
    /// Whether this mode asks for a fresh step-up besides a current code before it shows a
    /// secret for a second device or removes an authenticator, unless the policy says
    /// otherwise ([`EnginePolicy::with_second_device_step_up`]): `false` for
    /// [`SecondDevice::SameSecret`] (the manual's screens), `true` for
    /// [`SecondDevice::OwnSecret`].
    pub fn step_up_by_default(self) -> bool {
        match self {
            Self::SameSecret => false,
            Self::OwnSecret => true,
        }
    }
}

impl EnginePolicy {
    /// A pending enrollment lapses after 10 minutes.
    pub const DEFAULT_PENDING_TTL: u64 = 10 * 60;
    /// A transaction-password re-verification is good for 5 minutes.
    pub const DEFAULT_STEP_UP_MAX_AGE: u64 = 5 * 60;
    /// A step-up proof may be dated up to 30 s in the future (server clock differences).
    pub const DEFAULT_STEP_UP_MAX_SKEW: u64 = 30;
    /// Prepared keys of up to 4096 accounts are kept between logins.
    pub const DEFAULT_KEY_CACHE_CAPACITY: usize = 4096;
    /// A set of recovery codes has 10 codes.
    pub const DEFAULT_RECOVERY_CODES: usize = RecoveryCodes::DEFAULT_COUNT;
    /// The customer is told to issue new recovery codes when 3 or fewer are left.
    pub const DEFAULT_RECOVERY_LOW_MARK: u8 = 3;
    /// Logins centre the window on an authenticator's drift of at most 2 minutes.
    pub const DEFAULT_DRIFT_LIMIT: u64 = 2 * 60;
    /// The largest drift logins may track: 5 minutes.
    pub const MAX_DRIFT_LIMIT: u64 = 5 * 60;
    /// A resync searches ±1 day.
    pub const DEFAULT_RESYNC_WINDOW: u64 = 24 * 60 * 60;
    /// The widest resync search: ±2 days.
    pub const MAX_RESYNC_WINDOW: u64 = 2 * 24 * 60 * 60;
    /// A resync moves an authenticator's window back (an app whose clock is behind) by at
    /// most 10 minutes: codes older than that are never made valid again.
    pub const DEFAULT_RESYNC_BACKWARD_LIMIT: u64 = 10 * 60;

    /// The defaults around `otp`: throttling per [`ThrottlePolicy::default`], pending
    /// lifetime 10 min, step-up valid 5 min, re-display for another device allowed (as the
    /// Japanese portal does).
    pub fn new(otp: OtpPolicy) -> Self {
        Self {
            otp,
            throttle: ThrottlePolicy::default(),
            pending_ttl: Self::DEFAULT_PENDING_TTL,
            step_up_max_age: Self::DEFAULT_STEP_UP_MAX_AGE,
            step_up_max_skew: Self::DEFAULT_STEP_UP_MAX_SKEW,
            allow_redisplay: true,
            key_cache_capacity: Self::DEFAULT_KEY_CACHE_CAPACITY,
            accept_legacy_records: true,
            outbox: true,
            hold_records: false,
            recovery_codes: Self::DEFAULT_RECOVERY_CODES,
            recovery_low_mark: Self::DEFAULT_RECOVERY_LOW_MARK,
            drift_limit: Self::DEFAULT_DRIFT_LIMIT,
            resync_window: Self::DEFAULT_RESYNC_WINDOW,
            resync_backward_limit: Self::DEFAULT_RESYNC_BACKWARD_LIMIT,
            second_device: SecondDevice::SameSecret,
            second_device_step_up: None,
        }
    }

    /// Sets how a second device gets its codes (default [`SecondDevice::SameSecret`], as
    /// the manual describes).
    #[must_use]
    pub fn with_second_device(mut self, mode: SecondDevice) -> Self {
        self.second_device = mode;
        self
    }

    /// Requires (or not), besides a current code, a fresh transaction-password step-up to
    /// show a secret for a second device (re-display or a new authenticator) and to remove
    /// an authenticator: one code alone then never reveals a secret nor removes a device.
    ///
    /// Unset, it follows the mode ([`SecondDevice::step_up_by_default`]): off for
    /// [`SecondDevice::SameSecret`] (the manual's コード再表示 asks for a code only), on for
    /// [`SecondDevice::OwnSecret`], which has no manual to stay compatible with.
    #[must_use]
    pub fn with_second_device_step_up(mut self, required: bool) -> Self {
        self.second_device_step_up = Some(required);
        self
    }

    /// How a second device gets its codes.
    pub fn second_device(&self) -> SecondDevice {
        self.second_device
    }

    /// Whether showing a secret to a second device, or removing an authenticator, also
    /// needs a fresh step-up (as set, or the mode's default).
    pub fn second_device_step_up(&self) -> bool {
        self.second_device_step_up
            .unwrap_or_else(|| self.second_device.step_up_by_default())
    }

    /// How long (seconds) a pending enrollment, or a pending added authenticator, may be
    /// confirmed.
    pub fn pending_ttl(&self) -> u64 {
        self.pending_ttl
    }

    /// How far (seconds each way) a resync and the desk's diagnosis search.
    pub fn resync_window(&self) -> u64 {
        self.resync_window
    }

    /// The mark at or below which few recovery codes are left.
    pub fn recovery_low_mark(&self) -> u8 {
        self.recovery_low_mark
    }

    /// Sets how far (seconds, at most [`EnginePolicy::MAX_DRIFT_LIMIT`]; 0 turns drift
    /// tracking off) logins may move an authenticator's window (RFC 6238 §6): each accepted
    /// code records its whole-step offset from now, bounded by this, and the next
    /// verification window is centred on it. The replay floor stays absolute: a shift never
    /// re-admits a used step. A resync ([`Engine::resync`](crate::Engine::resync)) may set
    /// a larger drift, up to its search window.
    #[must_use]
    pub fn with_drift_limit(mut self, seconds: u64) -> Self {
        self.drift_limit = seconds;
        self
    }

    /// Sets how far (seconds each way, 1 minute to [`EnginePolicy::MAX_RESYNC_WINDOW`])
    /// a resync searches for two consecutive codes.
    #[must_use]
    pub fn with_resync_window(mut self, seconds: u64) -> Self {
        self.resync_window = seconds;
        self
    }

    /// Sets how far back (seconds, at most the resync window) a resync may find the first of
    /// its two codes (default [`EnginePolicy::DEFAULT_RESYNC_BACKWARD_LIMIT`]). Forward (an
    /// app whose clock is ahead) it searches the whole resync window; backward, two old
    /// codes that were phished or overheard and never used would otherwise move the window
    /// back to where other stale codes of the same haul become valid. An app further
    /// behind needs its clock corrected (the desk's [`Engine::desk_diagnose`](crate::Engine::desk_diagnose)
    /// tells by how much).
    #[must_use]
    pub fn with_resync_backward_limit(mut self, seconds: u64) -> Self {
        self.resync_backward_limit = seconds;
        self
    }

    /// How far back (seconds) a resync may find its first code.
    pub fn resync_backward_limit(&self) -> u64 {
        self.resync_backward_limit
    }

    /// Sets how many codes a set of recovery codes has (1 to
    /// [`RecoveryCodes::MAX_COUNT`], checked by [`Engine::new`](crate::Engine::new)).
    #[must_use]
    pub fn with_recovery_codes(mut self, count: usize) -> Self {
        self.recovery_codes = count;
        self
    }

    /// Sets when few recovery codes are left: a login with a recovery code that leaves at
    /// most `remaining` is audited with [`AuditKind::RecoveryCodesLow`](crate::AuditKind::RecoveryCodesLow)
    /// as well (and the portal asks the customer to issue new ones).
    #[must_use]
    pub fn with_recovery_low_mark(mut self, remaining: u8) -> Self {
        self.recovery_low_mark = remaining;
        self
    }

    /// How many codes a set of recovery codes has.
    pub fn recovery_codes(&self) -> usize {
        self.recovery_codes
    }

    /// Sets how many accounts' prepared HMAC keys are kept between verifications, so a
    /// login need not unseal its secret each time (0 disables it). Entries are bound to the
    /// exact sealed bytes they came from, zeroized on eviction, and evicted when a secret
    /// is erased; the engine's key ring, which opens every record, is in memory anyway.
    #[must_use]
    pub fn with_key_cache(mut self, capacity: usize) -> Self {
        self.key_cache_capacity = capacity;
        self
    }

    /// Sets the throttling policy.
    #[must_use]
    pub fn with_throttle(mut self, throttle: ThrottlePolicy) -> Self {
        self.throttle = throttle;
        self
    }

    /// Sets how long a pending enrollment waits for confirmation (1 s to 1 day).
    #[must_use]
    pub fn with_pending_ttl(mut self, seconds: u64) -> Self {
        self.pending_ttl = seconds;
        self
    }

    /// Sets how old a step-up proof may be (1 s to 1 hour).
    #[must_use]
    pub fn with_step_up_max_age(mut self, seconds: u64) -> Self {
        self.step_up_max_age = seconds;
        self
    }

    /// Allows or forbids re-displaying the secret for another device. NIST SP 800-63B
    /// discourages cloning one secret to several devices; the Japanese securities portal (examples/portal) allows it.
    #[must_use]
    pub fn with_redisplay(mut self, allowed: bool) -> Self {
        self.allow_redisplay = allowed;
        self
    }

    /// Accepts (the default) or refuses stored records of the legacy format 1, which have
    /// no MAC over their fields. Accepted legacy records are re-written in format 2 (with a
    /// MAC) on the engine's next write of each; refused ones fail with
    /// [`SealError::LegacyRecordRefused`](crate::error::SealError::LegacyRecordRefused). Refuse
    /// them once every row has been re-written
    /// ([`Enrollment::format_version`](crate::lifecycle::Enrollment::format_version)
    /// tells, and [`Engine::reseal_all`](crate::Engine::reseal_all) re-writes them all):
    /// until then a database writer can put an unauthenticated legacy row in place of any
    /// record.
    #[must_use]
    pub fn with_legacy_records(mut self, accepted: bool) -> Self {
        self.accept_legacy_records = accepted;
        self
    }

    /// Writes each call's audit events into the store's outbox in the same atomic step as
    /// the record (the default), to be delivered by an [`Outbox`](crate::Outbox); `false`
    /// keeps only the in-process [`AuditSink`](crate::AuditSink), e.g. for benchmarks or a
    /// demo that never delivers. With the outbox on, a call whose events cannot be written
    /// fails and changes nothing (fail closed).
    #[must_use]
    pub fn with_outbox(mut self, enabled: bool) -> Self {
        self.outbox = enabled;
        self
    }

    /// Lets a login decide from the record this engine last wrote for the account (held in
    /// the key cache with its store version, for at most 5 minutes) and send its
    /// conditional write directly: one round trip instead of a load and a write. If anyone
    /// else wrote the row since (another process, the support desk), the write is refused
    /// and the engine loads and decides again; every refusal is decided from the loaded
    /// row. Acceptance is still reported only after a durable compare-and-swap, in every
    /// process.
    ///
    /// Off by default: then every call loads the row and checks its MAC first, so an edit
    /// behind the engine's back is reported at the next call, and a failing read fails the
    /// login. On, a same-version edit is met only at the next load (a refusal, a conflict),
    /// or overwritten by the engine's own signed record. Needs the key cache
    /// ([`EnginePolicy::with_key_cache`] > 0).
    #[must_use]
    pub fn with_held_records(mut self, enabled: bool) -> Self {
        self.hold_records = enabled;
        self
    }

    /// Whether logins may decide from held records.
    pub fn holds_records(&self) -> bool {
        self.hold_records
    }

    /// Whether audit events are written to the store's outbox.
    pub fn writes_outbox(&self) -> bool {
        self.outbox
    }

    /// Whether legacy (format 1) records are accepted.
    pub fn accepts_legacy_records(&self) -> bool {
        self.accept_legacy_records
    }

    /// The code policy.
    pub fn otp(&self) -> &OtpPolicy {
        &self.otp
    }

    /// The throttling policy.
    pub fn throttle(&self) -> &ThrottlePolicy {
        &self.throttle
    }

    pub(super) fn validate(&self) -> Result<(), PolicyError> {
        if !(1..=24 * 60 * 60).contains(&self.pending_ttl) {
            return Err(PolicyError::Lifecycle(
                "pending_ttl must be between 1 s and 1 day",
            ));
        }
        if !(1..=60 * 60).contains(&self.step_up_max_age) {
            return Err(PolicyError::Lifecycle(
                "step_up_max_age must be between 1 s and 1 hour",
            ));
        }
        if self.drift_limit > Self::MAX_DRIFT_LIMIT {
            return Err(PolicyError::Lifecycle(
                "drift_limit must be at most EnginePolicy::MAX_DRIFT_LIMIT (5 minutes)",
            ));
        }
        if !(60..=Self::MAX_RESYNC_WINDOW).contains(&self.resync_window) {
            return Err(PolicyError::Lifecycle(
                "resync_window must be between 1 minute and EnginePolicy::MAX_RESYNC_WINDOW",
            ));
        }
        if self.resync_backward_limit > self.resync_window {
            return Err(PolicyError::Lifecycle(
                "resync_backward_limit must be at most resync_window",
            ));
        }
        if !(1..=RecoveryCodes::MAX_COUNT).contains(&self.recovery_codes) {
            return Err(PolicyError::Lifecycle(
                "recovery_codes must be between 1 and RecoveryCodes::MAX_COUNT",
            ));
        }
        Ok(())
    }
}
