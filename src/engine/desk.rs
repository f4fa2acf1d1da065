//! The support desk's tools (お客さまサポート窓口) and the clock resync.
//!
//! * [`Engine::overview`]: what the desk sees of an account (never a secret).
//! * [`Engine::desk_diagnose`]: by how many steps a code read out over the phone is off, or
//!   that it matches nothing in a wide window; never an acceptance, never a consumed step,
//!   and counted as a failure so the desk cannot be used as an oracle.
//! * [`Engine::desk_unlock`]: clears the failure counter, lock and backoff after the
//!   customer's identity was re-proofed, keeping the secret and the recovery codes.
//! * [`Engine::resync`] (the customer, after a step-up) and [`Engine::desk_resync`]: two
//!   consecutive codes, searched in a wide window, set the authenticator's drift; both
//!   steps are consumed and a failed resync counts as a failure.

use crate::account::{AccountId, Operator, StepUp};
use crate::audit::{AuditKind, Operation};
use crate::engine::Engine;
use crate::engine::check::{Refused, retry};
use crate::engine::trace::traced;
use crate::error::{EngineError, Refusal};
use crate::lifecycle::authenticator::Authenticator;
use crate::lifecycle::enrollment::{Enrollment, Integrity, RecordStatus};
use crate::lifecycle::status::Status;
use crate::otp::code::Code;
use crate::otp::wide_search::WideSearch;
use crate::otp::{step_at, step_offset, steps_in};
use crate::store::{Store, Versioned};

/// What the support desk sees of an account ([`Engine::overview`]): never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountOverview {
    /// The registration status, as the customer's screen shows it.
    pub status: Status,
    /// The account's authenticators (a pending application's shows as one pending).
    pub authenticators: Vec<AuthenticatorOverview>,
    /// Unused recovery codes.
    pub recovery_codes_remaining: usize,
    /// Consecutive failed attempts.
    pub failures: u32,
    /// Whether attempts are locked until the desk unlocks or resets.
    pub locked: bool,
    /// Until when attempts are refused after repeated failures (Unix seconds), if later
    /// than now.
    pub backoff_until: Option<u64>,
}

/// One authenticator as the desk sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthenticatorOverview {
    /// Its id within the account.
    pub id: u8,
    /// The name the customer gave it (empty for the first app unless renamed).
    pub name: String,
    /// The account name the app shows (the key URI's label).
    pub label: String,
    /// When it was enrolled (confirmed; for a pending one, when the application began).
    pub created_at: u64,
    /// When its last accepted code's step began (Unix seconds); `None` while pending.
    pub last_used_at: Option<u64>,
    /// Whether it still awaits its first code.
    pub pending: bool,
    /// Until when a pending one may be confirmed (Unix seconds); a lapsed one is replaced
    /// by the next add.
    pub pending_until: Option<u64>,
    /// Its clock offset in whole steps (positive: the app is ahead).
    pub drift_steps: i32,
    /// The same in seconds.
    pub drift_seconds: i64,
}

/// What [`Engine::desk_diagnose`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Diagnosis {
    /// The code belongs to the step `offset` steps from now (negative: the app's clock is
    /// behind) of one of the account's authenticators: the nearest such step of the
    /// searched window, over all of them.
    Matches {
        /// The authenticator whose code it is.
        authenticator: u8,
        /// Whole steps from the current step.
        offset: i64,
        /// The same in seconds (the period times `offset`).
        seconds: i64,
        /// Whether that step is at or before the last used one (a code already used, or
        /// older than one already used).
        already_used: bool,
    },
    /// No step within `searched` steps of now has this code: the secret differs (another
    /// account in the app, a deleted entry re-added by hand) or the clock is off by more.
    NoMatch {
        /// Steps searched each way.
        searched: u64,
    },
}

/// What a resync set ([`Engine::resync`], [`Engine::desk_resync`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resynced {
    /// The authenticator whose clock it was.
    pub authenticator: u8,
    /// The recorded clock offset, in whole steps.
    pub drift: i32,
    /// The step of the second code, now the last used step.
    pub step: u64,
}

impl<S: Store> Engine<S> {
    /// For the support desk: the account's status, authenticators (label, created, last
    /// used, drift; never a secret), recovery-code count and lock state.
    pub async fn overview(&self, account: &AccountId) -> Result<AccountOverview, EngineError> {
        traced(&self.trace, "overview", account, async {
            let now = self.clock.now()?;
            let record = match self.load(account).await? {
                Some(loaded) => loaded.record,
                None => Enrollment::not_registered(),
            };
            let status = record.status_at(now);
            let authenticators = match &record.status {
                _ if status == Status::NotRegistered => Vec::new(),
                RecordStatus::NotRegistered => Vec::new(),
                RecordStatus::Pending {
                    label, started_at, ..
                } => vec![AuthenticatorOverview {
                    id: 1,
                    name: String::new(),
                    label: label.clone(),
                    created_at: *started_at,
                    last_used_at: None,
                    pending: true,
                    pending_until: record.pending_expiry(),
                    drift_steps: 0,
                    drift_seconds: 0,
                }],
                RecordStatus::Active { authenticators, .. } => authenticators
                    .iter()
                    .map(|a| {
                        let period = u64::from(a.params.period());
                        AuthenticatorOverview {
                            id: a.id,
                            name: a.name.clone(),
                            label: a.label.clone(),
                            created_at: a.created_at,
                            // Rows of format 2 kept only the step.
                            last_used_at: a
                                .last_used_at
                                .or_else(|| a.last_used_step().map(|s| s.saturating_mul(period))),
                            pending: a.is_pending(),
                            pending_until: a.pending_until,
                            drift_steps: a.drift,
                            drift_seconds: i64::from(a.drift)
                                .saturating_mul(i64::from(a.params.period())),
                        }
                    })
                    .collect(),
            };
            let throttle = record.throttle();
            Ok(AccountOverview {
                status,
                authenticators,
                recovery_codes_remaining: record.recovery_codes_remaining(),
                failures: throttle.failures(),
                locked: throttle.is_locked(),
                backoff_until: Some(throttle.backoff_until()).filter(|until| *until > now),
            })
        })
        .await
    }

    /// For the support desk: by how many steps `code` (read out by the customer) is off
    /// from now for one of the account's confirmed authenticators (a device still awaiting
    /// its first code is not searched), searched within the resync window
    /// ([`EnginePolicy::with_resync_window`](crate::EnginePolicy::with_resync_window)).
    ///
    /// Never an acceptance and never a consumed step. Every diagnosis counts as a failed
    /// attempt (so the desk cannot be used as an oracle for codes) and may cause the lock;
    /// a locked account is refused ([`Refusal::Locked`]: unlock it first), a backoff is not
    /// waited for. Audited as [`AuditKind::Diagnosed`] with the operator.
    pub async fn desk_diagnose(
        &self,
        account: &AccountId,
        code: &str,
        operator: &Operator,
    ) -> Result<Diagnosis, EngineError> {
        traced(&self.trace, "desk_diagnose", account, async {
            let now = self.clock.now()?;
            let operation = Operation::Diagnose;
            retry!({
                let (version, record) = self.active(account, now).await?;
                if record.throttle().is_locked() {
                    let locked = Refused::alone(operation, Refusal::Locked, &record);
                    return Err(self.refused(account, now, version, locked).await);
                }
                let mut nearest: Option<(u8, i64, i64, bool)> = None;
                let mut malformed = None;
                let mut parsed_once = false;
                // Confirmed authenticators only, as a resync: a pending one has not proven
                // that anyone holds its secret, and the desk must not vouch for its codes.
                for a in record.authenticators().iter().filter(|a| !a.is_pending()) {
                    let parsed = match Code::parse(code, a.params.digits()) {
                        Ok(parsed) => parsed,
                        Err(error) => {
                            malformed.get_or_insert(error);
                            continue;
                        }
                    };
                    parsed_once = true;
                    let (search, now_step) = self.wide_search(account, a, now)?;
                    if let Some(step) = search.nearest(parsed.value(), now_step) {
                        let offset = i64::try_from(step_offset(step, now_step)).unwrap_or(i64::MAX);
                        let seconds = offset.saturating_mul(i64::from(a.params.period()));
                        let used = a.last_used_step().is_some_and(|floor| step <= floor);
                        if nearest.is_none_or(|(_, best, _, _)| {
                            offset.unsigned_abs() < best.unsigned_abs()
                        }) {
                            nearest = Some((a.id, offset, seconds, used));
                        }
                    }
                }
                if let (false, Some(error)) = (parsed_once, malformed) {
                    let malformed = Refused::alone(operation, Refusal::Malformed(error), &record);
                    return Err(self.refused(account, now, version, malformed).await);
                }
                let half = record.authenticators().first().map_or(0, |a| {
                    steps_in(self.policy.resync_window, a.params.period())
                });
                let diagnosis = match nearest {
                    Some((authenticator, offset, seconds, already_used)) => Diagnosis::Matches {
                        authenticator,
                        offset,
                        seconds,
                        already_used,
                    },
                    None => Diagnosis::NoMatch { searched: half },
                };
                let offset = match diagnosis {
                    Diagnosis::Matches { offset, .. } => Some(offset),
                    Diagnosis::NoMatch { .. } => None,
                };
                let failed = record.failed(now, &self.policy.throttle);
                let failures = failed.throttle().failures();
                let locked = failed
                    .throttle()
                    .is_locked()
                    .then_some(AuditKind::Locked { failures });
                let diagnosed = AuditKind::Diagnosed {
                    operator: operator.clone(),
                    offset,
                    failures,
                };
                let kinds = [diagnosed].into_iter().chain(locked);
                let written = self.write(account, version, failed, kinds, now).await?;
                Ok(written.map(|()| diagnosis))
            })
        })
        .await
    }

    /// Support desk, after re-proofing the customer's identity: clears the failure
    /// counter, the lock and any backoff, keeping the secret and the recovery codes
    /// (unlike [`Engine::desk_reset`]). Needs the operator and a reason as `desk_reset`
    /// does; audited as [`AuditKind::Unlocked`] (and notified to the customer).
    pub async fn desk_unlock(
        &self,
        account: &AccountId,
        operator: &Operator,
        reason: &str,
    ) -> Result<(), EngineError> {
        traced(&self.trace, "desk_unlock", account, async {
            crate::account::check_reason(reason)?;
            let now = self.clock.now()?;
            retry!({
                let Some(Versioned { version, record }) = self.load(account).await? else {
                    return Err(EngineError::NotActive);
                };
                let unlocked = Enrollment {
                    throttle: Default::default(),
                    integrity: Integrity::Unsigned,
                    ..record
                };
                let kind = AuditKind::Unlocked {
                    operator: operator.clone(),
                    reason: reason.to_owned(),
                };
                self.write(account, version, unlocked, [kind], now).await
            })
        })
        .await
    }

    /// 時刻ずれの補正, by the customer after a fresh transaction-password step-up: two
    /// consecutive codes from the app (`first`, then the next one it shows) are searched
    /// within the resync window forward and within
    /// [`EnginePolicy::with_resync_backward_limit`](crate::EnginePolicy::with_resync_backward_limit)
    /// back; when found (both later than the last used step, and within the window), both
    /// steps are consumed and the authenticator's drift is set to the second's offset, so
    /// later logins are verified around it. Not found (wrong, or not consecutive) is
    /// [`Refusal::WrongCode`], counted as a failure. Audited as [`AuditKind::Resynced`].
    pub async fn resync(
        &self,
        account: &AccountId,
        first: &str,
        second: &str,
        step_up: &StepUp,
    ) -> Result<Resynced, EngineError> {
        traced(&self.trace, "resync", account, async {
            let now = self.clock.now()?;
            self.check_step_up(account, Some(step_up), now).await?;
            self.resync_with(account, first, second, now, None).await
        })
        .await
    }

    /// [`Engine::resync`] by the support desk (the customer reads out two consecutive
    /// codes), with the operator and a reason; audited with the operator.
    pub async fn desk_resync(
        &self,
        account: &AccountId,
        first: &str,
        second: &str,
        operator: &Operator,
        reason: &str,
    ) -> Result<Resynced, EngineError> {
        traced(&self.trace, "desk_resync", account, async {
            crate::account::check_reason(reason)?;
            let now = self.clock.now()?;
            self.resync_with(account, first, second, now, Some(operator.clone()))
                .await
        })
        .await
    }

    async fn resync_with(
        &self,
        account: &AccountId,
        first: &str,
        second: &str,
        now: u64,
        operator: Option<Operator>,
    ) -> Result<Resynced, EngineError> {
        let operation = Operation::Resync;
        retry!({
            let (version, record) = self.active(account, now).await?;
            if let Err(refusal) = record.throttle.gate(now) {
                let gated = Refused::alone(operation, refusal, &record);
                return Err(self.refused(account, now, version, gated).await);
            }
            // Every confirmed authenticator is searched (no early exit); the first, by id,
            // where the two codes are consecutive is resynchronised.
            let mut found = None;
            let mut malformed = None;
            let mut parsed_once = false;
            for a in record.authenticators().iter().filter(|a| !a.is_pending()) {
                let digits = a.params.digits();
                let codes =
                    Code::parse(first, digits).and_then(|x| Ok((x, Code::parse(second, digits)?)));
                let (x, y) = match codes {
                    Ok(codes) => codes,
                    Err(error) => {
                        malformed.get_or_insert(error);
                        continue;
                    }
                };
                parsed_once = true;
                let (search, now_step) = self.wide_search(account, a, now)?;
                // The first code's step must be later than the last used step and no
                // further back than the backward limit.
                let behind = steps_in(self.policy.resync_backward_limit, a.params.period());
                let oldest_allowed = now_step.saturating_sub(behind).checked_sub(1);
                let floor = a.last_used_step().max(oldest_allowed);
                let step = search.consecutive(x.value(), y.value(), floor);
                if let (None, Some(step)) = (found, step) {
                    found = Some((a.id, step, now_step));
                }
            }
            if let (false, Some(error)) = (parsed_once, malformed) {
                let malformed = Refused::alone(operation, Refusal::Malformed(error), &record);
                return Err(self.refused(account, now, version, malformed).await);
            }
            let Some(step) = found else {
                let wrong = Refused::wrong(operation, &record, now, &self.policy.throttle);
                return match self.refuse(account, now, version, wrong).await {
                    Some(error) => Err(error),
                    None => Ok(None),
                };
            };
            let (id, step, now_step) = step;
            let drift = i32::try_from(step_offset(step, now_step)).unwrap_or(0);
            let next = record
                .resynced(id, step, drift)
                .ok_or(EngineError::NotActive)?;
            let kind = AuditKind::Resynced {
                drift,
                operator: operator.clone(),
            };
            let written = self.write(account, version, next, [kind], now).await?;
            Ok(written.map(|()| Resynced {
                authenticator: id,
                drift,
                step,
            }))
        })
    }

    /// Every code of authenticator `a` within the resync window of `now`, and the current
    /// step.
    fn wide_search(
        &self,
        account: &AccountId,
        a: &Authenticator,
        now: u64,
    ) -> Result<(WideSearch, u64), EngineError> {
        let period = a.params.period();
        let now_step = step_at(now, period);
        let half = steps_in(self.policy.resync_window, period);
        let mut generation = 0;
        let key = self.prepared_key(account, &a.secret, &a.params, &mut generation)?;
        Ok((
            WideSearch::new(&key, a.params.digits(), period, now_step, half),
            now_step,
        ))
    }

    /// The account's active record and its version; [`EngineError::NotActive`] otherwise
    /// (a lapsed application met on the way is erased).
    async fn active(
        &self,
        account: &AccountId,
        now: u64,
    ) -> Result<(u64, Enrollment), EngineError> {
        let Some(Versioned { version, record }) = self.load(account).await? else {
            return Err(EngineError::NotActive);
        };
        if matches!(record.status(), RecordStatus::Active { .. }) {
            return Ok((version, record));
        }
        if record.is_expired_pending(now) {
            self.erase_expired(account, Versioned { version, record }, now)
                .await?;
        }
        Err(EngineError::NotActive)
    }
}
