//! The code check every screen that takes a one-time code goes through, in three steps:
//!
//! 1. **Read**: the record this engine last wrote for the account (held, with its version)
//!    or the stored row, authenticated as a whole; the prepared keys of the secrets the
//!    operation checks ([`Needs`]), from the cache or unsealed.
//! 2. **Decide** ([`decide`], pure): the throttle's gate, the constant-time verdict over every
//!    candidate, and what follows from it — the record to write and its audit events for an
//!    acceptance ([`CodeCheck`] says what the operation writes), or the refusal and the
//!    failure it counts.
//! 3. **Commit**: one conditional write on the version the decision was made from
//!    ([`Engine::commit`]); an acceptance is reported only after it is durable. A write that
//!    meets a changed row is decided again from a fresh load, by the one retry rule
//!    ([`retry`]).
//!
//! A decision from a held record is trusted only for an acceptance written with a
//! conditional write: anything else it would decide (a refusal, the wrong state) is decided
//! again from the stored row.

use crate::account::AccountId;
use crate::audit::{AuditKind, Operation};
use crate::engine::{Engine, Versioned};
use crate::error::{EngineError, Refusal, StoreError};
use crate::keys::SealedSecret;
use crate::lifecycle::enrollment::{Enrollment, RecordStatus};
use crate::lifecycle::throttle::ThrottlePolicy;
use crate::otp::policy::OtpParams;
use crate::otp::verify::{Candidate, Verified, verify_any};
use crate::otp::{PreparedKey, Totp};
use crate::store::Store;

/// The one retry rule: `$step` (a block, run as an async block: `return` leaves it)
/// decides from a fresh read and writes conditionally, giving `Ok(Some(answer))`, an error,
/// or `Ok(None)` when its write met a row that changed since it was read (another writer
/// made progress). Then it runs again, at most [`MAX_RETRIES`] times, and after that the
/// answer is [`EngineError::Contention`] (nothing was decided).
macro_rules! retry {
    ($step:block) => {
        'retry: {
            for _ in 0..crate::engine::MAX_RETRIES {
                let step: Result<Option<_>, crate::error::EngineError> = async $step.await;
                match step {
                    Ok(None) => continue,
                    Ok(Some(answer)) => break 'retry Ok(answer),
                    Err(error) => break 'retry Err(error),
                }
            }
            Err(crate::error::EngineError::Contention)
        }
    };
}
pub(super) use retry;

/// Which of the record's secrets an operation checks a code against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Needs {
    /// A pending enrollment's secret (its first confirmation).
    Pending,
    /// Every confirmed authenticator of an active enrollment.
    Active,
    /// The pending authenticator with this id of an active enrollment (its confirmation).
    PendingAuthenticator(u8),
    /// Every confirmed authenticator but this one (to remove it).
    ActiveExcept(u8),
}

/// One secret a code is checked against: the authenticator's id (1 for a pending
/// enrollment's secret, the id it gets), its sealed secret and parameters, the centre of
/// its window and its replay floor.
struct Target<'a> {
    id: u8,
    sealed: &'a SealedSecret,
    params: &'a OtpParams,
    centre: u64,
    floor: Option<u64>,
}

/// The secrets of `record` that `needs` checks at `now` (none when the record is not in
/// the state the operation needs).
fn targets(record: &Enrollment, needs: Needs, now: u64) -> Vec<Target<'_>> {
    match (needs, record.status()) {
        (Needs::Pending, RecordStatus::Pending { .. }) if !record.is_expired_pending(now) => record
            .pending_material()
            .map(|(sealed, params, _)| Target {
                id: 1,
                sealed,
                params,
                centre: now,
                floor: None,
            })
            .into_iter()
            .collect(),
        (Needs::Active | Needs::ActiveExcept(_), RecordStatus::Active { authenticators, .. }) => {
            authenticators
                .iter()
                .filter(|a| !a.is_pending() && needs != Needs::ActiveExcept(a.id))
                .map(|a| Target {
                    id: a.id,
                    sealed: &a.secret,
                    params: &a.params,
                    centre: a.window_centre(now),
                    floor: a.last_used_step(),
                })
                .collect()
        }
        (Needs::PendingAuthenticator(id), RecordStatus::Active { authenticators, .. }) => {
            authenticators
                .iter()
                .filter(|a| a.id == id && a.pending_until.is_some_and(|until| now < until))
                .map(|a| Target {
                    id: a.id,
                    sealed: &a.secret,
                    params: &a.params,
                    centre: now,
                    floor: None,
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// What an operation that takes a code is: its name in the audit trail, which secrets it
/// checks, the record an acceptance writes and the events it reports.
pub(super) struct CodeCheck<'a> {
    /// The operation, for refusals.
    pub(super) operation: Operation,
    /// Which secrets are checked.
    pub(super) needs: Needs,
    /// The record to write for an accepted code (from the record it was decided on).
    pub(super) on_accept:
        &'a (dyn Fn(Enrollment, Verified) -> Result<Enrollment, EngineError> + Sync),
    /// The events of an acceptance (from the record before it).
    pub(super) accepted: &'a (dyn Fn(&Enrollment, &Verified) -> Vec<AuditKind> + Sync),
}

/// The answer of a code check that may meet a record in another state.
pub(super) enum Checked {
    /// The record is not in the state the operation needs (a lapsed application was
    /// erased on the way).
    WrongState,
    /// Accepted and durably recorded.
    Accepted {
        verified: Verified,
        record: Box<Enrollment>,
    },
}

/// What a code check decided from one version of the record, before anything is written.
enum Decision {
    /// Accepted: `record` and `events` are to be written over the version decided on.
    Accept {
        verified: Verified,
        record: Enrollment,
        events: Vec<AuditKind>,
    },
    /// Refused, with what records the refusal.
    Refuse(Refused),
}

/// A refusal and what records it: the record with one more failure (and the lock it may
/// cause) written with the refusal's events, or, when no counter changes, the events alone.
pub(super) struct Refused {
    refusal: Refusal,
    record: Option<Enrollment>,
    events: Vec<AuditKind>,
}

impl Refused {
    /// `refusal` of `operation`, decided from `before`; `failed` is `before` with the
    /// failure counted at `now`, when the refusal counts.
    pub(super) fn new(
        operation: Operation,
        refusal: Refusal,
        before: &Enrollment,
        failed: Option<(Enrollment, u64)>,
    ) -> Self {
        let Some((failed, now)) = failed else {
            let failures = before.throttle().failures();
            return Self {
                refusal,
                record: None,
                events: vec![AuditKind::Refused {
                    operation,
                    refusal,
                    failures,
                }],
            };
        };
        let failures = failed.throttle().failures();
        let locked_now = failed.throttle().is_locked() && !before.throttle().is_locked();
        // The wrong code that starts a backoff or the lock says so on its own screen.
        let backoff = failed.throttle().backoff_until();
        let refusal = match refusal {
            Refusal::WrongCode if locked_now => Refusal::WrongCodeLocked,
            Refusal::WrongCode if backoff > now => Refusal::WrongCodeThrottled { until: backoff },
            other => other,
        };
        // The refusal first, then the lock it caused: the trail reads in the order things
        // happened.
        let mut events = vec![AuditKind::Refused {
            operation,
            refusal,
            failures,
        }];
        events.extend(locked_now.then_some(AuditKind::Locked { failures }));
        Self {
            refusal,
            record: Some(failed),
            events,
        }
    }

    /// `refusal` of `operation`, decided from `before`, that counts nothing (it is only
    /// audited).
    pub(super) fn alone(operation: Operation, refusal: Refusal, before: &Enrollment) -> Self {
        Self::new(operation, refusal, before, None)
    }

    /// A wrong code of `operation` at `now`: one more failure counted.
    pub(super) fn wrong(
        operation: Operation,
        before: &Enrollment,
        now: u64,
        throttle: &ThrottlePolicy,
    ) -> Self {
        Self::new(
            operation,
            Refusal::WrongCode,
            before,
            Some((before.failed(now, throttle), now)),
        )
    }
}

/// The decision of a code check over plain data: the gate, the verdict over `candidates`
/// (every one computed, no early exit), and what follows from it for `check`.
fn decide(
    check: &CodeCheck<'_>,
    record: Enrollment,
    candidates: &[Candidate<'_>],
    code: &str,
    now: u64,
    throttle: &ThrottlePolicy,
) -> Result<Decision, EngineError> {
    let attempt = record.attempt(now, throttle, || verify_any(code, candidates));
    match attempt.verdict {
        Err(refusal) => Ok(Decision::Refuse(Refused::new(
            check.operation,
            refusal,
            &record,
            attempt.failure_record.map(|failed| (failed, now)),
        ))),
        Ok(verified) => {
            let events = (check.accepted)(&record, &verified);
            let record = (check.on_accept)(record, verified)?;
            Ok(Decision::Accept {
                verified,
                record,
                events,
            })
        }
    }
}

/// The prepared keys of a check's targets, each in its `Totp`, by authenticator id, and
/// the cache generation they belong to.
struct Keys {
    totps: Vec<(u8, Totp)>,
    generation: u64,
}

impl<S: Store> Engine<S> {
    /// Checks `code` for `check` against the account's record and writes the outcome with
    /// the version it was decided on (read, decide, commit; see the module documentation).
    /// An acceptance is returned only after its record was written together with its
    /// events. A lapsed application met on the way is erased.
    pub(super) async fn check_code(
        &self,
        account: &AccountId,
        code: &str,
        now: u64,
        check: &CodeCheck<'_>,
    ) -> Result<Checked, EngineError> {
        // The record only: prepared keys are never held in this future's (heap) state,
        // where a moved copy would be left behind un-zeroized.
        let mut held = self
            .policy
            .hold_records
            .then(|| self.key_cache.held(account, now))
            .flatten();
        retry!({
            // The held record is tried first, once, and moved out (no copy of it is made).
            let from_held = held.is_some();
            let (version, record) = match held.take() {
                Some(held) => (held.version, held.record),
                None => match self.load(account).await? {
                    Some(Versioned { version, record }) => (version, record),
                    None => return Ok(Some(Checked::WrongState)),
                },
            };
            let targets = targets(&record, check.needs, now);
            if targets.is_empty() {
                if from_held {
                    return Ok(None);
                }
                if record.is_expired_pending(now) {
                    self.erase_expired(account, Versioned { version, record }, now)
                        .await?;
                }
                return Ok(Some(Checked::WrongState));
            }
            let keys = self.keys_of(account, &targets)?;
            let candidates: Vec<Candidate<'_>> = targets
                .iter()
                .zip(&keys.totps)
                .map(|(target, (_, totp))| Candidate {
                    id: target.id,
                    totp,
                    centre: target.centre,
                    floor: target.floor,
                })
                .collect();
            drop(targets);
            let decision = decide(check, record, &candidates, code, now, &self.policy.throttle)?;
            drop(candidates);
            match decision {
                // A refusal is decided from the stored row, never from a held copy.
                Decision::Refuse(_) if from_held => Ok(None),
                Decision::Refuse(refused) => {
                    match self.refuse(account, now, version, refused).await {
                        Some(answer) => Err(answer),
                        None => Ok(None),
                    }
                }
                Decision::Accept {
                    verified,
                    record,
                    events,
                } => {
                    let Some((written, record)) =
                        self.commit(account, now, version, record, events).await?
                    else {
                        self.key_cache.release(account);
                        return Ok(None);
                    };
                    let prepared: Vec<(u8, &PreparedKey)> = keys
                        .totps
                        .iter()
                        .map(|(id, totp)| (*id, &totp.key))
                        .collect();
                    self.hold(account, written, &record, &prepared, keys.generation, now);
                    Ok(Some(Checked::Accepted {
                        verified,
                        record: Box::new(record),
                    }))
                }
            }
        })
    }

    /// The prepared keys of `targets`: each goes straight into its `Totp`, in a vector of
    /// exact size (never grown, so never moved), which zeroizes them when dropped. The
    /// generation is the first key's: if the ring is replaced meanwhile, nothing is cached.
    fn keys_of(&self, account: &AccountId, targets: &[Target<'_>]) -> Result<Keys, EngineError> {
        let mut generation = None;
        let mut totps = Vec::with_capacity(targets.len());
        for target in targets {
            let mut key_generation = 0;
            let totp = Totp {
                // Cloned out of its box, never moved: a key moved out of a temporary in
                // this future's (heap) state would leave its bytes behind there.
                key: (*self.prepared_key(
                    account,
                    target.sealed,
                    target.params,
                    &mut key_generation,
                )?)
                .clone(),
                digits: target.params.digits(),
                period: target.params.period(),
                window: self.policy.otp.window(),
            };
            totps.push((target.id, totp));
            generation.get_or_insert(key_generation);
        }
        Ok(Keys {
            totps,
            generation: generation.unwrap_or(u64::MAX),
        })
    }

    /// The commit step: `record` (decided from `version`) written with `events` by one
    /// conditional write, the events handed to the in-process sink once it is durable.
    /// `Ok(None)`: the row changed since `version` (decide again). Returns the new version
    /// and the record as written (re-sealed under the current key, with its MAC).
    pub(super) async fn commit(
        &self,
        account: &AccountId,
        now: u64,
        version: u64,
        record: Enrollment,
        events: Vec<AuditKind>,
    ) -> Result<Option<(u64, Enrollment)>, EngineError> {
        let record = self.for_write(record, account, Some(version))?;
        let outgoing = self.outgoing(account, now, events);
        match self
            .store
            .replace_if(account, Some(version), &record, &outgoing.encoded)
            .await
        {
            Ok(written) => {
                self.observe(outgoing);
                Ok(Some((written, record)))
            }
            Err(StoreError::Conflict) => Ok(None),
            Err(error) => {
                self.key_cache.release(account);
                Err(error.into())
            }
        }
    }

    /// Records `refused`, decided from the stored row at `version`: its record written
    /// with its events, or the events alone appended. Returns the call's answer (the
    /// refusal, or why it could not be recorded), or `None` when the row changed since and
    /// the attempt must be decided again.
    pub(super) async fn refuse(
        &self,
        account: &AccountId,
        now: u64,
        version: u64,
        refused: Refused,
    ) -> Option<EngineError> {
        let Refused {
            refusal,
            record,
            events,
        } = refused;
        let Some(record) = record else {
            // Nothing to write but the refusal itself.
            return Some(match self.append(account, now, events).await {
                Ok(()) => EngineError::Refused(refusal),
                Err(error) => error,
            });
        };
        self.key_cache.release(account);
        match self.commit(account, now, version, record, events).await {
            Ok(Some(_)) => Some(EngineError::Refused(refusal)),
            Ok(None) => None,
            Err(error) => Some(error),
        }
    }

    /// Records a refusal that counts nothing ([`Refused::alone`]): the call's error (no
    /// conditional write, so nothing to decide again).
    pub(super) async fn refused(
        &self,
        account: &AccountId,
        now: u64,
        version: u64,
        refused: Refused,
    ) -> EngineError {
        let refusal = refused.refusal;
        self.refuse(account, now, version, refused)
            .await
            .unwrap_or(EngineError::Refused(refusal))
    }

    /// Writes `record`, decided from the stored row at `version`, with the events of
    /// `kinds`, dropping the account's held record first (it is stale now): the desk's and
    /// the maintenance's writes. `Ok(None)`: the row changed since (decide again).
    pub(super) async fn write(
        &self,
        account: &AccountId,
        version: u64,
        record: Enrollment,
        kinds: impl IntoIterator<Item = AuditKind>,
        now: u64,
    ) -> Result<Option<()>, EngineError> {
        self.key_cache.release(account);
        let written = self
            .commit(account, now, version, record, kinds.into_iter().collect())
            .await?;
        Ok(written.map(|_| ()))
    }

    /// Erases a lapsed pending enrollment's secret (keeping its failure counter). Returns
    /// whether this call erased it: `false` when the write conflicted (someone else changed
    /// the row first; their write decides, and audits).
    pub(super) async fn erase_expired(
        &self,
        account: &AccountId,
        loaded: Versioned,
        now: u64,
    ) -> Result<bool, EngineError> {
        let erased = Enrollment {
            throttle: loaded.record.throttle,
            ..Enrollment::not_registered()
        };
        let expired = vec![AuditKind::EnrollmentExpired];
        match self
            .commit(account, now, loaded.version, erased, expired)
            .await?
        {
            Some(_) => {
                self.key_cache.evict(account);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
