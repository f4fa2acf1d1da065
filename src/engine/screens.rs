//! The Japanese portal manual's screens: registration info (`status`), 申込 (`begin`), 確認
//! (`confirm`), login (`verify_login`), コード再表示 (`redisplay`) and 利用停止 (`stop`).

use crate::account::{AccountId, AccountLabel, StepUp};
use crate::audit::{AuditKind, Operation};
use crate::engine::check::{Checked, CodeCheck, Needs, retry};
use crate::engine::trace::traced;
use crate::engine::{Engine, SecondDevice};
use crate::error::{EngineError, Refusal, StoreError};
use crate::lifecycle::enrollment::{Enrollment, RecordStatus};
use crate::lifecycle::status::Status;
use crate::otp::PreparedKey;
use crate::otp::policy::OtpParams;
use crate::otp::secret::Secret;
use crate::otp::verify::Verified;
use crate::provision::provisioning::Provisioning;
use crate::provision::uri::KeyUri;
use crate::store::Store;

/// The answer to a login's code check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a login is allowed only on Verified or NotRequired"]
#[non_exhaustive]
pub enum Login {
    /// The code was accepted and its step is recorded as used.
    Verified(Verified),
    /// The account does not use the one-time password service (未登録, or an unconfirmed
    /// enrollment): log in with ID and password alone, as the manual describes.
    NotRequired,
    /// A recovery code was accepted ([`Engine::verify_recovery_code`]) and can never be
    /// used again. The customer has lost (or is without) the app: ask them to enrol a new
    /// device, and to issue new recovery codes when `remaining` is low.
    RecoveryCode {
        /// Unused recovery codes left.
        remaining: u8,
    },
}

impl<S: Store> Engine<S> {
    /// For the registration-info screen: not registered, pending (until when) or active
    /// (since when), and whether verification is throttled or locked. A lapsed
    /// application's secret is erased on the way (audited as
    /// [`AuditKind::EnrollmentExpired`]).
    pub async fn status(&self, account: &AccountId) -> Result<Status, EngineError> {
        traced(&self.trace, "status", account, async {
            let now = self.clock.now()?;
            let Some(loaded) = self.load(account).await? else {
                return Ok(Status::NotRegistered);
            };
            let status = loaded.record.status_at(now);
            if loaded.record.is_expired_pending(now) {
                self.erase_expired(account, loaded, now).await?;
            }
            Ok(status)
        })
        .await
    }

    /// 申込: begins enrollment after the portal re-verified the transaction password.
    ///
    /// Issues a fresh secret and returns what the registration screen shows (QR code,
    /// account name, key type, and the setup key behind an explicit reveal). Starting again
    /// while pending replaces the pending secret; starting while active is refused with
    /// [`EngineError::AlreadyActive`]. An application locked by wrong confirmation codes
    /// stays locked when it lapses or is restarted: `begin` is then refused with
    /// [`Refusal::Locked`] (audited) until the support desk resets it, instead of issuing a
    /// QR code that could never be confirmed. `label` is the account name put in the key URI.
    pub async fn begin(
        &self,
        account: &AccountId,
        label: &AccountLabel,
        step_up: &StepUp,
    ) -> Result<Provisioning, EngineError> {
        traced(&self.trace, "begin", account, async {
            let now = self.clock.now()?;
            self.check_step_up(account, Some(step_up), now).await?;
            let secret = Secret::generate()?;
            let provisioning = Provisioning::new(KeyUri::new(
                secret.clone(),
                label.as_str(),
                &self.policy.otp,
            )?);
            // The generation before the ring that seals: see `KeyCache::insert`.
            let generation = self.key_cache.generation(account);
            let sealed = self.keys.load().seal(&secret, account)?;
            let params = OtpParams::from_policy(&self.policy.otp);
            retry!({
                let (version, record) = self.load_or_default(account).await?;
                let lapsed = record.is_expired_pending(now);
                let replaced_pending =
                    matches!(record.status(), RecordStatus::Pending { .. }) && !lapsed;
                let active = matches!(record.status(), RecordStatus::Active { .. });
                if record.throttle().is_locked() && !active {
                    // A lock survives a lapsed or replaced application: issuing a QR code
                    // that can never be confirmed would only hide it from the customer.
                    return self.refuse_locked_application(account, &record, now).await;
                }
                let next = record.begin(
                    sealed.clone(),
                    params,
                    label.as_str().to_owned(),
                    now,
                    self.policy.pending_ttl,
                )?;
                let next = self.for_write(next, account, version)?;
                let started = AuditKind::EnrollmentStarted {
                    expires_at: now.saturating_add(self.policy.pending_ttl),
                    replaced_pending,
                };
                let kinds = lapsed
                    .then_some(AuditKind::EnrollmentExpired)
                    .into_iter()
                    .chain([started]);
                let outgoing = self.outgoing(account, now, kinds);
                match self
                    .store
                    .replace_if(account, version, &next, &outgoing.encoded)
                    .await
                {
                    Ok(written) => {
                        // Replaces any cached entry (a replaced pending secret must not
                        // linger), and lets the confirmation skip its load.
                        let key = PreparedKey::new(&secret, params.algorithm());
                        self.hold(account, written, &next, &[(1, &key)], generation, now);
                        self.observe(outgoing);
                        Ok(Some(()))
                    }
                    Err(StoreError::Conflict) => Ok(None),
                    Err(error) => Err(error.into()),
                }
            })?;
            Ok(provisioning)
        })
        .await
    }

    /// The registration screen of the pending enrollment again, on any instance: a reload,
    /// the back button, or another process behind a load balancer renders the same QR code
    /// and setup key that [`Engine::begin`] returned, from the sealed secret in the store,
    /// so the caller never keeps the secret in its session.
    ///
    /// The same rules as `begin`: a fresh `step_up` for this account (the portal keeps the
    /// time of its re-verification, not the secret), a pending enrollment that has not
    /// lapsed ([`EngineError::NoPendingEnrollment`] otherwise; a lapsed one is erased on the
    /// way, audited as [`AuditKind::EnrollmentExpired`]), and no lock ([`Refusal::Locked`],
    /// audited). Each showing is audited as [`AuditKind::EnrollmentShownAgain`]. The secret
    /// and its code parameters are the ones `begin` issued; a policy change since does not
    /// alter them.
    pub async fn pending_provisioning(
        &self,
        account: &AccountId,
        step_up: &StepUp,
    ) -> Result<Provisioning, EngineError> {
        traced(&self.trace, "pending_provisioning", account, async {
            let now = self.clock.now()?;
            self.check_step_up(account, Some(step_up), now).await?;
            let Some(loaded) = self.load(account).await? else {
                return Err(EngineError::NoPendingEnrollment);
            };
            if loaded.record.is_expired_pending(now) {
                self.erase_expired(account, loaded, now).await?;
                return Err(EngineError::NoPendingEnrollment);
            }
            let record = &loaded.record;
            let (expires_at, (sealed, params, label)) = match record.status() {
                RecordStatus::Pending { expires_at, .. } => (
                    *expires_at,
                    record
                        .pending_material()
                        .ok_or(EngineError::NoPendingEnrollment)?,
                ),
                _ => return Err(EngineError::NoPendingEnrollment),
            };
            if record.throttle().is_locked() {
                return self.refuse_locked_application(account, record, now).await;
            }
            let secret = self.keys.load().open(sealed, account)?;
            let provisioning = self.provisioning(secret, params, label)?;
            self.append(
                account,
                now,
                [AuditKind::EnrollmentShownAgain { expires_at }],
            )
            .await?;
            Ok(provisioning)
        })
        .await
    }

    /// Refuses to show an application's QR code while its enrollment is locked (it could
    /// never be confirmed), audited as a refused begin.
    async fn refuse_locked_application<T>(
        &self,
        account: &AccountId,
        record: &Enrollment,
        now: u64,
    ) -> Result<T, EngineError> {
        let refused = AuditKind::Refused {
            operation: Operation::Begin,
            refusal: Refusal::Locked,
            failures: record.throttle().failures(),
        };
        self.append(account, now, [refused]).await?;
        Err(Refusal::Locked.into())
    }

    /// 確認: confirms a pending enrollment with the first code from the app. On success the
    /// service is in use (利用中) and the code's step is consumed, so the confirmation code
    /// can never be used to log in. Wrong codes count toward throttling.
    pub async fn confirm(&self, account: &AccountId, code: &str) -> Result<(), EngineError> {
        traced(&self.trace, "confirm", account, async {
            let now = self.clock.now()?;
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
                                .ok_or(EngineError::NoPendingEnrollment)
                        },
                        accepted: &|_, v| vec![AuditKind::EnrollmentConfirmed { step: v.step() }],
                    },
                )
                .await?;
            match checked {
                Checked::Accepted { .. } => Ok(()),
                Checked::WrongState => Err(EngineError::NoPendingEnrollment),
            }
        })
        .await
    }

    /// Login: checks the code of an active enrollment with replay protection and
    /// throttling. For an account that does not use the service the answer is
    /// [`Login::NotRequired`]; the code is then not examined.
    ///
    /// A record sealed under a key the engine's ring no longer holds (retired too early)
    /// fails with [`SealError::UnknownKeyId`](crate::error::SealError::UnknownKeyId) naming the key, for login and status alike;
    /// [`Engine::retire_key`] refuses to drop a key that records still need.
    pub async fn verify_login(
        &self,
        account: &AccountId,
        code: &str,
    ) -> Result<Login, EngineError> {
        traced(&self.trace, "verify_login", account, async {
            let now = self.clock.now()?;
            let checked = self
                .check_code(
                    account,
                    code,
                    now,
                    &CodeCheck {
                        operation: Operation::Login,
                        needs: Needs::Active,
                        on_accept: &|record, v| {
                            record
                                .used(v.authenticator(), v.step(), now, self.policy.drift_limit)
                                .ok_or(EngineError::NotActive)
                        },
                        accepted: &|_, v| {
                            let accepted = AuditKind::LoginAccepted {
                                step: v.step(),
                                drift: v.drift(),
                                authenticator: v.authenticator(),
                            };
                            vec![accepted]
                        },
                    },
                )
                .await?;
            match checked {
                Checked::Accepted { verified, .. } => Ok(Login::Verified(verified)),
                Checked::WrongState => Ok(Login::NotRequired),
            }
        })
        .await
    }

    /// コード再表示: after a current valid code (consumed), shows the SAME secret again for
    /// another device. Refused when the policy forbids it. Always audited.
    pub async fn redisplay(
        &self,
        account: &AccountId,
        code: &str,
    ) -> Result<Provisioning, EngineError> {
        traced(&self.trace, "redisplay", account, async {
            self.redisplay_checked(account, code, None).await
        })
        .await
    }

    /// [`Engine::redisplay`] with a fresh transaction-password step-up, which
    /// [`EnginePolicy::with_second_device_step_up`](crate::EnginePolicy::with_second_device_step_up) may require.
    pub async fn redisplay_after_step_up(
        &self,
        account: &AccountId,
        code: &str,
        step_up: &StepUp,
    ) -> Result<Provisioning, EngineError> {
        traced(&self.trace, "redisplay", account, async {
            self.redisplay_checked(account, code, Some(step_up)).await
        })
        .await
    }

    async fn redisplay_checked(
        &self,
        account: &AccountId,
        code: &str,
        step_up: Option<&StepUp>,
    ) -> Result<Provisioning, EngineError> {
        {
            let now = self.clock.now()?;
            if !self.policy.allow_redisplay || self.policy.second_device != SecondDevice::SameSecret
            {
                self.append(account, now, [AuditKind::RedisplayDisabled])
                    .await?;
                return Err(EngineError::RedisplayDisabled);
            }
            self.second_device_step_up(account, step_up, now).await?;
            let checked = self
                .check_code(
                    account,
                    code,
                    now,
                    &CodeCheck {
                        operation: Operation::Redisplay,
                        needs: Needs::Active,
                        on_accept: &|record, v| {
                            record
                                .used(v.authenticator(), v.step(), now, self.policy.drift_limit)
                                .ok_or(EngineError::NotActive)
                        },
                        accepted: &|_, _| vec![AuditKind::Redisplayed],
                    },
                )
                .await?;
            let Checked::Accepted { record, verified } = checked else {
                return Err(EngineError::NotActive);
            };
            // The secret of the authenticator whose code it was.
            let shown = record
                .authenticator(verified.authenticator())
                .ok_or(EngineError::NotActive)?;
            let (sealed, params, label) = (&shown.secret, &shown.params, shown.label.as_str());
            let secret = self.keys.load().open(sealed, account)?;
            self.provisioning(secret, params, label)
        }
    }

    /// 利用停止: after a current valid code (consumed), erases the secret; the status
    /// returns to 未登録. A wrong or replayed code changes nothing but the failure counter.
    pub async fn stop(&self, account: &AccountId, code: &str) -> Result<(), EngineError> {
        traced(&self.trace, "stop", account, async {
            let now = self.clock.now()?;
            let checked = self
                .check_code(
                    account,
                    code,
                    now,
                    &CodeCheck {
                        operation: Operation::Stop,
                        needs: Needs::Active,
                        on_accept: &|_, _| Ok(Enrollment::not_registered()),
                        accepted: &|_, _| vec![AuditKind::Stopped],
                    },
                )
                .await?;
            match checked {
                Checked::Accepted { .. } => {
                    self.key_cache.evict(account);
                    Ok(())
                }
                Checked::WrongState => Err(EngineError::NotActive),
            }
        })
        .await
    }
}
