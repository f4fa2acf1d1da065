//! Authenticators as a set: a second device with its own secret
//! ([`SecondDevice::OwnSecret`]), its confirmation, and removing one authenticator.
//!
//! * [`Engine::add_authenticator`]: after a current code of an existing authenticator
//!   (and a step-up when the policy asks), a new pending authenticator with its own secret
//!   is provisioned; it cannot log in until [`Engine::confirm_authenticator`] accepts its
//!   own first code, and the others keep working. A pending one is replaced by the next
//!   add.
//! * [`Engine::remove_authenticator`]: needs a current code of *another* authenticator;
//!   the only confirmed one cannot be removed (stop the service instead).
//!   [`Engine::desk_remove_authenticator`] is the support desk's, with operator and reason.

use crate::account::{AccountId, Operator, StepUp, check_authenticator_name};
use crate::audit::{AuditKind, Operation};
use crate::engine::check::{Checked, CodeCheck, Needs, retry};
use crate::engine::trace::traced;
use crate::engine::{Engine, SecondDevice};
use crate::error::EngineError;
use crate::lifecycle::authenticator::Authenticator;
use crate::lifecycle::enrollment::{Enrollment, Integrity};
use crate::otp::policy::OtpParams;
use crate::otp::secret::Secret;
use crate::provision::provisioning::Provisioning;
use crate::store::{Store, Versioned};

/// A new authenticator, pending until its first code is confirmed
/// ([`Engine::add_authenticator`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct NewAuthenticator {
    /// Its id, for [`Engine::confirm_authenticator`].
    pub id: u8,
    /// What the registration screen shows for it (its own QR code and setup key).
    pub provisioning: Provisioning,
}

impl<S: Store> Engine<S> {
    /// A second device with its own secret ([`SecondDevice::OwnSecret`]): after a current
    /// code of an existing authenticator (consumed), provisions a new pending authenticator
    /// named `name` (1 to 64 bytes, e.g. `iPad`) with a fresh secret, replacing a pending
    /// one; the others keep working. `step_up` is needed when
    /// [`EnginePolicy::with_second_device_step_up`](crate::EnginePolicy::with_second_device_step_up)
    /// asks for it. Refused under [`SecondDevice::SameSecret`]
    /// ([`EngineError::OwnSecretDisabled`]) and when the account already has
    /// [`Authenticator::MAX_PER_ACCOUNT`] ([`EngineError::TooManyAuthenticators`]).
    /// Audited as [`AuditKind::AuthenticatorAdded`].
    pub async fn add_authenticator(
        &self,
        account: &AccountId,
        name: &str,
        code: &str,
        step_up: Option<&StepUp>,
    ) -> Result<NewAuthenticator, EngineError> {
        traced(&self.trace, "add_authenticator", account, async {
            let now = self.clock.now()?;
            if self.policy.second_device != SecondDevice::OwnSecret {
                return Err(EngineError::OwnSecretDisabled);
            }
            check_authenticator_name(name)?;
            self.second_device_step_up(account, step_up, now).await?;
            let secret = Secret::generate()?;
            let sealed = self.keys.load().seal(&secret, account)?;
            let params = OtpParams::from_policy(&self.policy.otp);
            let ttl = self.policy.pending_ttl;
            let checked = self
                .check_code(
                    account,
                    code,
                    now,
                    &CodeCheck {
                        operation: Operation::AddAuthenticator,
                        needs: Needs::Active,
                        on_accept: &|record, v| {
                            let mut next = record
                                .used(v.authenticator(), v.step(), now, self.policy.drift_limit)
                                .ok_or(EngineError::NotActive)?;
                            let label = next
                                .authenticator(v.authenticator())
                                .map(|a| a.label.clone())
                                .unwrap_or_default();
                            next.add_pending(Authenticator {
                                id: 0,
                                name: name.to_owned(),
                                secret: sealed.clone(),
                                params,
                                label,
                                created_at: now,
                                last_used_at: None,
                                last_used_step: 0,
                                drift: 0,
                                pending_until: Some(now.saturating_add(ttl)),
                            })?;
                            Ok(next)
                        },
                        accepted: &|record, _| {
                            let id = record.next_authenticator_id().unwrap_or(0);
                            let added = AuditKind::AuthenticatorAdded {
                                id,
                                name: name.to_owned(),
                            };
                            vec![added]
                        },
                    },
                )
                .await?;
            let Checked::Accepted { record, .. } = checked else {
                return Err(EngineError::NotActive);
            };
            let added = record
                .authenticators()
                .iter()
                .find(|a| a.is_pending())
                .ok_or(EngineError::NotActive)?;
            Ok(NewAuthenticator {
                id: added.id,
                provisioning: self.provisioning(secret, &params, &added.label)?,
            })
        })
        .await
    }

    /// Confirms the pending authenticator `id` with its own first code (consumed): from
    /// then on it logs in like the others. Other authenticators' codes are not accepted
    /// here; wrong codes count toward throttling. A lapsed or unknown one is
    /// [`EngineError::UnknownAuthenticator`]. Audited as
    /// [`AuditKind::AuthenticatorConfirmed`].
    pub async fn confirm_authenticator(
        &self,
        account: &AccountId,
        id: u8,
        code: &str,
    ) -> Result<(), EngineError> {
        traced(&self.trace, "confirm_authenticator", account, async {
            let now = self.clock.now()?;
            let checked = self
                .check_code(
                    account,
                    code,
                    now,
                    &CodeCheck {
                        operation: Operation::ConfirmAuthenticator,
                        needs: Needs::PendingAuthenticator(id),
                        on_accept: &|record, v| {
                            record
                                .used(id, v.step(), now, self.policy.drift_limit)
                                .ok_or(EngineError::UnknownAuthenticator(id))
                        },
                        accepted: &|_, _| vec![AuditKind::AuthenticatorConfirmed { id }],
                    },
                )
                .await?;
            match checked {
                Checked::Accepted { .. } => Ok(()),
                Checked::WrongState => Err(EngineError::UnknownAuthenticator(id)),
            }
        })
        .await
    }

    /// Removes authenticator `id` after a current code of *another* authenticator
    /// (consumed): a lost tablet is removed with the phone. The only confirmed
    /// authenticator cannot be removed ([`EngineError::LastAuthenticator`]: stop the
    /// service instead). `step_up` is needed whenever adding one needs it
    /// ([`EnginePolicy::second_device_step_up`](crate::EnginePolicy::second_device_step_up)):
    /// otherwise a device an attacker added with one phished code could remove the
    /// customer's own with its own code. Audited as [`AuditKind::AuthenticatorRemoved`].
    pub async fn remove_authenticator(
        &self,
        account: &AccountId,
        id: u8,
        code: &str,
        step_up: Option<&StepUp>,
    ) -> Result<(), EngineError> {
        traced(&self.trace, "remove_authenticator", account, async {
            let now = self.clock.now()?;
            self.second_device_step_up(account, step_up, now).await?;
            match self.load(account).await? {
                Some(Versioned { record, .. }) => record.check_removable(id)?,
                None => return Err(EngineError::NotActive),
            }
            let checked = self
                .check_code(
                    account,
                    code,
                    now,
                    &CodeCheck {
                        operation: Operation::RemoveAuthenticator,
                        needs: Needs::ActiveExcept(id),
                        on_accept: &|record, v| {
                            let mut next = record
                                .used(v.authenticator(), v.step(), now, self.policy.drift_limit)
                                .ok_or(EngineError::NotActive)?;
                            next.remove_authenticator(id)?;
                            Ok(next)
                        },
                        accepted: &|_, _| {
                            vec![AuditKind::AuthenticatorRemoved { id, operator: None }]
                        },
                    },
                )
                .await?;
            match checked {
                Checked::Accepted { .. } => Ok(()),
                Checked::WrongState => Err(EngineError::NotActive),
            }
        })
        .await
    }

    /// The support desk removes authenticator `id` (a lost device), with the operator and
    /// a reason as [`Engine::desk_reset`] needs them; the others keep working. The only
    /// confirmed authenticator cannot be removed this way ([`EngineError::LastAuthenticator`]:
    /// reset the account instead).
    pub async fn desk_remove_authenticator(
        &self,
        account: &AccountId,
        id: u8,
        operator: &Operator,
        reason: &str,
    ) -> Result<(), EngineError> {
        traced(&self.trace, "desk_remove_authenticator", account, async {
            crate::account::check_reason(reason)?;
            let now = self.clock.now()?;
            retry!({
                let Some(Versioned { version, record }) = self.load(account).await? else {
                    return Err(EngineError::NotActive);
                };
                let mut next = Enrollment {
                    integrity: Integrity::Unsigned,
                    ..record
                };
                next.remove_authenticator(id)?;
                let removed = AuditKind::AuthenticatorRemoved {
                    id,
                    operator: Some(operator.clone()),
                };
                let written = self.write(account, version, next, [removed], now).await?;
                if written.is_some() {
                    self.key_cache.evict(account);
                }
                Ok(written)
            })
        })
        .await
    }
}
