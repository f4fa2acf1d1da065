//! The enrollment state machine as pure transitions over [`Enrollment`]s.
//!
//! No function here does I/O or reads a clock: each takes the current time and returns the
//! record to write (if any) together with the verdict. The [`Engine`](crate::Engine) loads,
//! calls these, writes conditionally and only then reports the verdict.

use crate::error::{EngineError, Refusal};
use crate::keys::SealedSecret;
use crate::lifecycle::authenticator::Authenticator;
use crate::lifecycle::enrollment::{Enrollment, Integrity, RecordStatus, RecoveryHashes};
use crate::lifecycle::throttle::{ThrottlePolicy, ThrottleState};
use crate::otp::policy::OtpParams;
use crate::otp::verify::{Rejection, Verified};

/// The result of checking a code against a record: the verdict, and the record to write
/// for it (`None` when nothing changes). On acceptance the caller derives the record to
/// write from the operation (login, confirm, stop, re-display).
#[derive(Debug)]
pub(crate) struct Attempt {
    pub(crate) verdict: Result<Verified, Refusal>,
    pub(crate) failure_record: Option<Enrollment>,
}

impl Enrollment {
    /// Begins (or restarts) enrollment with a freshly sealed secret. Refused while active.
    /// The failure counter carries over, so restarting never clears a lock.
    pub(crate) fn begin(
        &self,
        secret: SealedSecret,
        params: OtpParams,
        label: String,
        now: u64,
        pending_ttl: u64,
    ) -> Result<Self, EngineError> {
        if matches!(self.status, RecordStatus::Active { .. }) {
            return Err(EngineError::AlreadyActive);
        }
        Ok(Self {
            status: RecordStatus::Pending {
                secret,
                params,
                label,
                started_at: now,
                expires_at: now.saturating_add(pending_ttl),
            },
            throttle: self.throttle,
            ..Self::not_registered()
        })
    }

    /// Checks a code: refuses without checking while locked or backing off, otherwise runs
    /// `verify` (which applies each authenticator's replay floor) and counts a wrong code
    /// as one failure.
    pub(crate) fn attempt(
        &self,
        now: u64,
        policy: &ThrottlePolicy,
        verify: impl FnOnce() -> Result<Verified, Rejection>,
    ) -> Attempt {
        if let Err(refusal) = self.throttle.gate(now) {
            return Attempt {
                verdict: Err(refusal),
                failure_record: None,
            };
        }
        let verdict = verify();
        // Only a wrong code counts: a replay or a malformed input is no guess.
        let counted = matches!(verdict, Err(Rejection::WrongCode));
        Attempt {
            verdict: verdict.map_err(Refusal::from),
            failure_record: counted.then(|| self.failed(now, policy)),
        }
    }

    /// The same record with one more failed attempt counted at `now` (and the backoff or
    /// lock it brings), to be written with the refusal.
    pub(crate) fn failed(&self, now: u64, policy: &ThrottlePolicy) -> Self {
        Self {
            throttle: self.throttle.after_failure(now, policy),
            integrity: Integrity::Unsigned,
            ..self.clone()
        }
    }

    /// Pending → active with its first authenticator (id 1), consuming the confirmation
    /// code's step, whose offset from `now` becomes its drift (at most `drift_limit`
    /// seconds).
    pub(crate) fn confirmed(self, step: u64, now: u64, drift_limit: u64) -> Option<Self> {
        match self.status {
            RecordStatus::Pending {
                secret,
                params,
                label,
                ..
            } => {
                let mut first = Authenticator {
                    id: 1,
                    name: String::new(),
                    secret,
                    params,
                    label,
                    created_at: now,
                    last_used_at: None,
                    last_used_step: 0,
                    drift: 0,
                    pending_until: None,
                };
                first.use_step(step, now, drift_limit);
                Some(Self {
                    status: RecordStatus::Active {
                        since: now,
                        authenticators: vec![first],
                    },
                    ..Self::not_registered()
                })
            }
            _ => None,
        }
    }

    /// Active, with `step` of authenticator `id` recorded as used (its drift tracked, a
    /// pending one confirmed) and the failure counter cleared.
    pub(crate) fn used(mut self, id: u8, step: u64, now: u64, drift_limit: u64) -> Option<Self> {
        let authenticator = self.authenticator_mut(id)?;
        authenticator.use_step(step, now, drift_limit);
        self.throttle = ThrottleState::default();
        Some(self)
    }

    /// Active, with `step` of authenticator `id` used, its drift set to `drift` and the
    /// failure counter cleared.
    pub(crate) fn resynced(mut self, id: u8, step: u64, drift: i32) -> Option<Self> {
        let authenticator = self.authenticator_mut(id)?;
        authenticator.last_used_step = step;
        authenticator.drift = drift;
        self.throttle = Default::default();
        Some(self)
    }

    /// The same record with `recovery` as its set of recovery codes.
    pub(crate) fn with_recovery(mut self, recovery: RecoveryHashes) -> Self {
        self.recovery = recovery;
        self
    }
}
