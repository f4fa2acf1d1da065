//! The enrollment state machine as pure transitions over [`Enrollment`]s.
//!
//! No function here does I/O or reads a clock: each takes the current time and returns the
//! record to write (if any) together with the verdict. The [`Engine`](crate::Engine) loads,
//! calls these, writes conditionally and only then reports the verdict.

use crate::authenticator::Authenticator;
use crate::error::{EngineError, Refusal};
use crate::record::{Enrollment, Integrity, OtpParams, RecordStatus};
use crate::seal::SealedSecret;
use crate::throttle::{ThrottlePolicy, ThrottleState};
use crate::verify::{Rejection, Verified};

/// What the registration-info screen shows.
///
/// With the `serde` feature: externally tagged, snake_case (`"not_registered"`,
/// `{"active": {"since": 1764000000, "access": "open"}}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Status {
    /// 未登録: never enrolled, stopped, reset, or a pending enrollment that expired.
    NotRegistered,
    /// Enrollment started; the first code from the app is awaited until `expires_at`.
    Pending {
        /// When the pending enrollment lapses (Unix seconds).
        expires_at: u64,
        /// Whether confirmation attempts are currently allowed.
        access: Access,
    },
    /// 利用中: codes are required at login.
    Active {
        /// When enrollment was confirmed (Unix seconds).
        since: u64,
        /// Whether verification is currently allowed.
        access: Access,
    },
}

impl Status {
    /// The label the seed portal shows for this status: `未登録` or `利用中`. A pending
    /// enrollment is still `未登録` (the manual has no third state).
    pub fn portal_label(&self) -> &'static str {
        self.label(crate::messages::Lang::Ja)
    }
}

/// Whether codes are currently checked.
///
/// With the `serde` feature: `"open"`, `{"throttled": {"until": 1764000090}}`, `"locked"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Access {
    /// Codes are checked.
    Open,
    /// No code is checked before `until` (Unix seconds) after repeated failures.
    Throttled {
        /// When attempts are allowed again.
        until: u64,
    },
    /// Locked after too many failures; only an administrative reset unlocks.
    Locked,
}

/// The result of checking a code against a record: the verdict, and the record to write
/// for it (`None` when nothing changes). On acceptance the caller derives the record to
/// write from the operation (login, confirm, stop, re-display).
#[derive(Debug)]
pub(crate) struct Attempt {
    pub(crate) verdict: Result<Verified, Refusal>,
    pub(crate) failure_record: Option<Enrollment>,
}

impl Enrollment {
    /// The record as seen at `now`: a lapsed pending enrollment reads as not registered.
    pub fn status_at(&self, now: u64) -> Status {
        let access = match self.throttle.gate(now) {
            Ok(()) => Access::Open,
            Err(Refusal::Throttled { until }) => Access::Throttled { until },
            Err(_) => Access::Locked,
        };
        match &self.status {
            RecordStatus::NotRegistered => Status::NotRegistered,
            RecordStatus::Pending { expires_at, .. } if now >= *expires_at => Status::NotRegistered,
            RecordStatus::Pending { expires_at, .. } => Status::Pending {
                expires_at: *expires_at,
                access,
            },
            RecordStatus::Active { since, .. } => Status::Active {
                since: *since,
                access,
            },
        }
    }

    /// Whether the record holds a pending enrollment that lapsed at or before `now`.
    pub fn is_expired_pending(&self, now: u64) -> bool {
        matches!(&self.status, RecordStatus::Pending { expires_at, .. } if now >= *expires_at)
    }

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
        match verify() {
            Ok(verified) => Attempt {
                verdict: Ok(verified),
                failure_record: None,
            },
            Err(Rejection::WrongCode) => Attempt {
                verdict: Err(Refusal::WrongCode),
                failure_record: Some(self.failed(now, policy)),
            },
            Err(Rejection::Replayed) => Attempt {
                verdict: Err(Refusal::Replayed),
                failure_record: None,
            },
            Err(Rejection::Malformed(error)) => Attempt {
                verdict: Err(Refusal::Malformed(error)),
                failure_record: None,
            },
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

    /// The authenticator `id` of an active enrollment, to change it.
    pub(crate) fn authenticator_mut(&mut self, id: u8) -> Option<&mut Authenticator> {
        match &mut self.status {
            RecordStatus::Active { authenticators, .. } => {
                authenticators.iter_mut().find(|a| a.id == id)
            }
            _ => None,
        }
    }

    /// When a pending enrollment lapses.
    pub(crate) fn pending_expiry(&self) -> Option<u64> {
        match &self.status {
            RecordStatus::Pending { expires_at, .. } => Some(*expires_at),
            _ => None,
        }
    }

    /// The sealed secret, parameters and label of a pending enrollment.
    pub(crate) fn pending_material(&self) -> Option<(&SealedSecret, &OtpParams, &str)> {
        match &self.status {
            RecordStatus::Pending {
                secret,
                params,
                label,
                ..
            } => Some((secret, params, label)),
            _ => None,
        }
    }
}
