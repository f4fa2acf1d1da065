//! Recovery codes: issued after a current code (or with the confirmation), stored only as
//! keyed hashes, each accepted at most once at login.
//!
//! * **Issue.** [`Engine::confirm_with_recovery_codes`] and [`Engine::issue_recovery_codes`]
//!   generate a set ([`EnginePolicy::recovery_codes`](crate::EnginePolicy::recovery_codes)
//!   codes of 80 bits), store their HMAC-SHA-256 under the ring's current key, bound to the
//!   account, and return the codes, which exist nowhere else: shown once. A new set
//!   replaces the whole earlier one in the same single write.
//! * **Use.** [`Engine::verify_recovery_code`] hashes the input once and compares it with
//!   every stored hash in constant time (which one matched steers no branch); the matching
//!   hash is removed with the same conditional write as a login, so among any number of
//!   parallel submissions of one code, across engines and processes, exactly one is
//!   accepted. A wrong code counts in the same failure counter (and lock) as a wrong
//!   one-time code.

use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::account::{AccountId, StepUp};
use crate::audit::{AuditKind, Operation};
use crate::engine::check::{Checked, CodeCheck, Needs, Refused, retry};
use crate::engine::trace::traced;
use crate::engine::{Engine, Login};
use crate::error::{EngineError, RecoveryCodeError, Refusal, SecretError};
use crate::lifecycle::enrollment::{Enrollment, RecordStatus, RecoveryHashes};
use crate::lifecycle::recovery_code::{RecoveryCode, RecoveryCodes};
use crate::store::{Store, Versioned};

impl<S: Store> Engine<S> {
    /// 確認 with recovery codes: [`Engine::confirm`], and in the same write a first set of
    /// recovery codes, returned to be shown once (the completion screen).
    pub async fn confirm_with_recovery_codes(
        &self,
        account: &AccountId,
        code: &str,
    ) -> Result<RecoveryCodes, EngineError> {
        traced(&self.trace, "confirm_with_recovery_codes", account, async {
            let now = self.clock.now()?;
            let (codes, hashes) = self.new_recovery_codes(account, now)?;
            let issued = AuditKind::RecoveryCodesIssued {
                count: count_u8(hashes.hashes.len()),
                discarded: 0,
            };
            let checked = self
                .check_code(
                    account,
                    code,
                    now,
                    &CodeCheck {
                        operation: Operation::Confirm,
                        needs: Needs::Pending,
                        on_accept: &|record, v| {
                            record
                                .confirmed(v.step(), now, self.policy.drift_limit)
                                .map(|next| next.with_recovery(hashes.clone()))
                                .ok_or(EngineError::NoPendingEnrollment)
                        },
                        accepted: &|_, v| {
                            let confirmed = AuditKind::EnrollmentConfirmed { step: v.step() };
                            vec![confirmed, issued.clone()]
                        },
                    },
                )
                .await?;
            match checked {
                Checked::Accepted { .. } => Ok(codes),
                Checked::WrongState => Err(EngineError::NoPendingEnrollment),
            }
        })
        .await
    }

    /// Issues a new set of recovery codes after a fresh step-up (the transaction password
    /// re-verified, as for [`Engine::begin`]) and a current code (consumed), replacing the
    /// whole earlier set (its unused codes stop working) in one write. The codes are
    /// returned to be shown once; the engine keeps only their keyed hashes.
    ///
    /// The step-up is always required, whatever the second-device policy: a set is ten
    /// permanent login factors, so one phished code alone must never yield them (nor
    /// destroy the customer's own set). A missing or stale step-up is refused before the
    /// code is examined (nothing consumed, audited as [`AuditKind::StepUpRefused`]).
    pub async fn issue_recovery_codes(
        &self,
        account: &AccountId,
        code: &str,
        step_up: &StepUp,
    ) -> Result<RecoveryCodes, EngineError> {
        traced(&self.trace, "issue_recovery_codes", account, async {
            let now = self.clock.now()?;
            self.check_step_up(account, Some(step_up), now).await?;
            let (codes, hashes) = self.new_recovery_codes(account, now)?;
            let count = count_u8(hashes.hashes.len());
            let checked = self
                .check_code(
                    account,
                    code,
                    now,
                    &CodeCheck {
                        operation: Operation::IssueRecoveryCodes,
                        needs: Needs::Active,
                        on_accept: &|record, v| {
                            record
                                .used(v.authenticator(), v.step(), now, self.policy.drift_limit)
                                .map(|r| r.with_recovery(hashes.clone()))
                                .ok_or(EngineError::NotActive)
                        },
                        accepted: &|before, _| {
                            let discarded = count_u8(before.recovery_codes_remaining());
                            vec![AuditKind::RecoveryCodesIssued { count, discarded }]
                        },
                    },
                )
                .await?;
            match checked {
                Checked::Accepted { .. } => Ok(codes),
                Checked::WrongState => Err(EngineError::NotActive),
            }
        })
        .await
    }

    /// Login with a recovery code instead of the app's code (the phone is lost or not at
    /// hand): [`Login::RecoveryCode`] with how many remain when one of the account's unused
    /// codes matches, which is then used up. For an account that does not use the service
    /// the answer is [`Login::NotRequired`] and the input is not examined.
    ///
    /// The input follows [`RecoveryCode::parse`] (separators and full-width input are
    /// accepted); malformed input is [`Refusal::MalformedRecoveryCode`] and not counted. A
    /// well-formed code that matches none (wrong, or already used) is
    /// [`Refusal::WrongCode`] and counts as a failed attempt, as a wrong one-time code
    /// does; throttling and the lock apply before anything is compared. Audited as
    /// [`AuditKind::RecoveryCodeUsed`] (and [`AuditKind::RecoveryCodesLow`] when few are
    /// left).
    pub async fn verify_recovery_code(
        &self,
        account: &AccountId,
        input: &str,
    ) -> Result<Login, EngineError> {
        traced(&self.trace, "verify_recovery_code", account, async {
            let now = self.clock.now()?;
            let used = self
                .consume_recovery_code(account, input, now, Operation::RecoveryLogin, false)
                .await?;
            Ok(
                used.map_or(Login::NotRequired, |remaining| Login::RecoveryCode {
                    remaining,
                }),
            )
        })
        .await
    }

    /// 利用停止 without the phone (it was lost): a recovery code (used up, with the rules
    /// of [`Engine::verify_recovery_code`]) instead of a one-time code, after a fresh
    /// transaction-password step-up. Erases every authenticator and the recovery codes;
    /// the status returns to 未登録 and the customer applies again with the new phone.
    /// Audited as [`AuditKind::RecoveryCodeUsed`] and [`AuditKind::Stopped`].
    pub async fn stop_with_recovery_code(
        &self,
        account: &AccountId,
        input: &str,
        step_up: &StepUp,
    ) -> Result<(), EngineError> {
        traced(&self.trace, "stop_with_recovery_code", account, async {
            let now = self.clock.now()?;
            self.check_step_up(account, Some(step_up), now).await?;
            match self
                .consume_recovery_code(account, input, now, Operation::Stop, true)
                .await?
            {
                Some(_) => Ok(()),
                None => Err(EngineError::NotActive),
            }
        })
        .await
    }

    /// Uses up the recovery code `input` matches (the record then cleared, or erased when
    /// `stop`), or records the refusal; `None` for an account that does not use the
    /// service, otherwise the codes left.
    async fn consume_recovery_code(
        &self,
        account: &AccountId,
        input: &str,
        now: u64,
        operation: Operation,
        stop: bool,
    ) -> Result<Option<u8>, EngineError> {
        {
            let parsed = RecoveryCode::parse(input);
            retry!({
                let Some(Versioned { version, record }) = self.load(account).await? else {
                    return Ok(Some(None));
                };
                if !matches!(record.status(), RecordStatus::Active { .. }) {
                    if record.is_expired_pending(now) {
                        self.erase_expired(account, Versioned { version, record }, now)
                            .await?;
                    }
                    return Ok(Some(None));
                }
                if let Err(refusal) = record.throttle.gate(now) {
                    let gated = Refused::alone(operation, refusal, &record);
                    return Err(self.refused(account, now, version, gated).await);
                }
                let code = match &parsed {
                    Ok(code) => code,
                    Err(error) => {
                        let refusal = Refusal::MalformedRecoveryCode(*error);
                        let malformed = Refused::alone(operation, refusal, &record);
                        return Err(self.refused(account, now, version, malformed).await);
                    }
                };
                let Some(index) = self.matching_recovery_code(account, &record, code)? else {
                    let wrong = Refused::wrong(operation, &record, now, &self.policy.throttle);
                    return match self.refuse(account, now, version, wrong).await {
                        Some(error) => Err(error),
                        None => Ok(None),
                    };
                };
                let mut next = record;
                if index < next.recovery.hashes.len() {
                    next.recovery.hashes.remove(index);
                }
                next.throttle = Default::default();
                let remaining = count_u8(next.recovery.hashes.len());
                let used = AuditKind::RecoveryCodeUsed {
                    remaining,
                    operation,
                };
                let (next, then) = if stop {
                    (Enrollment::not_registered(), Some(AuditKind::Stopped))
                } else {
                    let low = (remaining <= self.policy.recovery_low_mark)
                        .then_some(AuditKind::RecoveryCodesLow { remaining });
                    (next, low)
                };
                // The held record (if any) is now stale either way.
                let events = [used].into_iter().chain(then);
                let Some(()) = self.write(account, version, next, events, now).await? else {
                    return Ok(None);
                };
                if stop {
                    self.key_cache.evict(account);
                }
                Ok(Some(Some(remaining)))
            })
        }
    }

    /// A new set of codes and their keyed hashes under the ring's current key.
    fn new_recovery_codes(
        &self,
        account: &AccountId,
        now: u64,
    ) -> Result<(RecoveryCodes, RecoveryHashes), EngineError> {
        let codes =
            RecoveryCodes::generate(self.policy.recovery_codes).map_err(|error| match error {
                RecoveryCodeError::InvalidCount { .. } => EngineError::Policy(
                    crate::error::PolicyError::Lifecycle("recovery_codes is out of range"),
                ),
                _ => EngineError::Secret(SecretError::RandomUnavailable),
            })?;
        let keys = self.keys.load();
        let key_id = keys.current_key_id();
        let hashes = codes
            .iter()
            .map(|code| keys.recovery_hash(key_id, account, code.canonical()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((
            codes,
            RecoveryHashes {
                key_id,
                issued_at: now,
                hashes,
            },
        ))
    }

    /// The index of the stored hash `code` matches, if any: the input is hashed once and
    /// compared with every stored hash in constant time, the index chosen by constant-time
    /// selects (an account without codes hashes it all the same).
    fn matching_recovery_code(
        &self,
        account: &AccountId,
        record: &Enrollment,
        code: &RecoveryCode,
    ) -> Result<Option<usize>, EngineError> {
        let keys = self.keys.load();
        let key_id = if record.recovery.hashes.is_empty() {
            keys.current_key_id()
        } else {
            record.recovery.key_id
        };
        let hash = keys.recovery_hash(key_id, account, code.canonical())?;
        let mut found = 0u8;
        let mut index = 0u32;
        for (i, stored) in (0u32..).zip(&record.recovery.hashes) {
            let equal = stored.ct_eq(&hash);
            index.conditional_assign(&i, equal);
            found |= equal.unwrap_u8();
        }
        Ok((found != 0).then(|| usize::try_from(index).unwrap_or(usize::MAX)))
    }
}

/// A count of recovery codes (at most [`RecoveryCodes::MAX_COUNT`]) as the audit trail
/// holds it.
fn count_u8(count: usize) -> u8 {
    u8::try_from(count).unwrap_or(u8::MAX)
}
