//! [`Engine`]: the async façade the portal calls, one method per screen of the seed manual.
//!
//! Each call loads the record, opens its secret, decides with the pure transitions of
//! [`Enrollment`], writes the result together with its audit events (the store's
//! outbox) with one atomic [`Store::replace_if`], and only then reports the verdict. A
//! conflicting write makes it reload and decide again; a storage failure is an error,
//! never an acceptance (fail closed).
//!
//! * `policy`: [`EnginePolicy`], the lifecycle rules.
//! * `maintenance`: key rotation while serving ([`Engine::set_keys`]), key usage, bulk
//!   re-seal and key retirement, the sweep of lapsed applications.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::account::{AccountId, Operator, StepUp};
use crate::audit::{AuditEvent, AuditKind, AuditSink, NoAudit, Operation, RequestContext};
use crate::clock::{Clock, SystemClock};
use crate::engine::key_cache::{Held, KeyCache};
use crate::engine::trace::{Trace, traced};
use crate::error::{EngineError, Refusal, SealError, StoreError};
use crate::keys::{KeyRing, SealedSecret};
use crate::lifecycle::enrollment::{Enrollment, RecordStatus};
use crate::lifecycle::status::Status;
use crate::otp::policy::OtpParams;
use crate::otp::secret::Secret;
use crate::otp::verify::{Candidate, Verified, verify_any};
use crate::otp::{PreparedKey, Totp};
use crate::provision::provisioning::Provisioning;
use crate::provision::uri::KeyUri;
use crate::store::{Store, Versioned};

mod desk;
mod devices;
mod key_cache;
mod maintenance;
mod outbox;
mod outcomes;
mod policy;
mod recovery;
mod trace;

pub use desk::{AccountOverview, AuthenticatorOverview, Diagnosis, Resynced};
pub use devices::NewAuthenticator;
pub use maintenance::{KeyUsage, ResealReport, SweepReport};
pub use outbox::{AuditDelivery, DeliveredEvent, Outbox, OutboxError};
pub use policy::{EnginePolicy, SecondDevice};

/// How many times one call reloads after conflicting writes before giving up with
/// [`EngineError::Contention`]. Each conflict means another writer made progress.
const MAX_RETRIES: usize = 512;

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

/// Which of the record's secrets an operation checks a code against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
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

/// The result of a code check that may have been refused for the record's state.
enum Checked {
    /// The record is not in the state the operation needs (a lapsed application was
    /// erased on the way).
    WrongState,

    /// Accepted and durably recorded.
    Accepted {
        verified: Verified,
        record: Box<Enrollment>,
    },
}

/// The engine behind every screen of the one-time password service.
///
/// ```
/// # tokio_test_block_on(async {
/// use std::sync::Arc;
/// use totp_enroll::{AccountId, Engine, EnginePolicy, KeyRing, ManualClock, MemoryStore, OtpPolicy, StepUp, Totp};
///
/// let clock = Arc::new(ManualClock::new(1_700_000_000));
/// let policy = EnginePolicy::new(OtpPolicy::new("Example Securities")?);
/// let engine = Engine::new(MemoryStore::new(), KeyRing::generate(1)?, policy)?.with_clock(clock.clone());
/// let account = AccountId::new("customer-42")?;
///
/// let step_up = StepUp::transaction_password_verified(&account, 1_700_000_000);
/// let screen = engine.begin(&account, "customer-42", &step_up).await?;
/// // The customer's app computes the code from the provisioned key:
/// let app = Totp::new(&totp_enroll::KeyUri::parse(&screen.uri())?.secret().clone(), engine.policy().otp());
/// engine.confirm(&account, &app.code_at(1_700_000_000).to_string()).await?;
/// assert_eq!(engine.status(&account).await?.portal_label(), "利用中");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub struct Engine<S> {
    store: S,
    keys: ArcSwap<KeyRing>,
    policy: EnginePolicy,
    clock: Arc<dyn Clock>,
    audit: Arc<dyn AuditSink>,
    key_cache: KeyCache,
    trace: Trace,
}

impl<S> core::fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("keys", &**self.keys.load())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The audit events of one write: built before it, written with it into the outbox, and
/// handed to the in-process sink once it is durable.
struct Outgoing {
    events: Vec<AuditEvent>,
    encoded: Vec<Vec<u8>>,
}

impl<S: Store> Engine<S> {
    /// An engine over `store`, sealing secrets with `keys`, using the system clock and no
    /// audit sink.
    pub fn new(store: S, keys: KeyRing, policy: EnginePolicy) -> Result<Self, EngineError> {
        policy.validate()?;
        Ok(Self {
            store,
            keys: ArcSwap::from_pointee(keys),
            key_cache: KeyCache::new(policy.key_cache_capacity),
            policy,
            clock: Arc::new(SystemClock),
            audit: Arc::new(NoAudit),
            trace: Trace::default(),
        })
    }

    /// Uses `clock` instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sends audit events to `audit` as well, right after each durable step (an in-process
    /// observer; the durable trail is the store's outbox).
    #[must_use]
    pub fn with_audit(mut self, audit: Arc<dyn AuditSink>) -> Self {
        self.audit = audit;
        self
    }

    /// Shows each account in the engine's `tracing` spans as `pseudonym` makes it (e.g. a
    /// keyed hash) instead of as given; the function is called only when a span is enabled.
    #[cfg(feature = "tracing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
    #[must_use]
    pub fn with_account_pseudonym(
        mut self,
        pseudonym: Arc<dyn Fn(&AccountId) -> String + Send + Sync>,
    ) -> Self {
        self.trace = Trace::with_pseudonym(pseudonym);
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The policy.
    pub fn policy(&self) -> &EnginePolicy {
        &self.policy
    }

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
        label: &str,
        step_up: &StepUp,
    ) -> Result<Provisioning, EngineError> {
        traced(&self.trace, "begin", account, async {
            let now = self.clock.now()?;
            self.check_step_up(account, Some(step_up), now).await?;
            let secret = Secret::generate()?;
            let provisioning =
                Provisioning::new(KeyUri::new(secret.clone(), label, &self.policy.otp)?);
            // The generation before the ring that seals: see `KeyCache::insert`.
            let generation = self.key_cache.generation(account);
            let sealed = self.keys.load().seal(&secret, account)?;
            let params = OtpParams::from_policy(&self.policy.otp);
            for _ in 0..MAX_RETRIES {
                let (version, record) = self.load_or_default(account).await?;
                let lapsed = record.is_expired_pending(now);
                let replaced_pending =
                    matches!(record.status(), RecordStatus::Pending { .. }) && !lapsed;
                let active = matches!(record.status(), RecordStatus::Active { .. });
                if record.throttle().is_locked() && !active {
                    // A lock survives a lapsed or replaced application: issuing a QR code
                    // that can never be confirmed would only hide it from the customer.
                    let refused = AuditKind::Refused {
                        operation: Operation::Begin,
                        refusal: Refusal::Locked,
                        failures: record.throttle().failures(),
                    };
                    self.append(account, now, [refused]).await?;
                    return Err(Refusal::Locked.into());
                }
                let next = record.begin(
                    sealed.clone(),
                    params,
                    label.to_owned(),
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
                        return Ok(provisioning);
                    }
                    Err(StoreError::Conflict) => continue,
                    Err(error) => return Err(error.into()),
                }
            }
            Err(EngineError::Contention)
        })
        .await
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
                    Operation::Confirm,
                    Needs::Pending,
                    |record, v| {
                        record
                            .confirmed(v.step(), now, self.policy.drift_limit)
                            .ok_or(EngineError::NoPendingEnrollment)
                    },
                    |_, v| (AuditKind::EnrollmentConfirmed { step: v.step() }, None),
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
    /// fails with [`SealError::UnknownKeyId`] naming the key, for login and status alike;
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
                    Operation::Login,
                    Needs::Active,
                    |record, v| {
                        record
                            .used(v.authenticator(), v.step(), now, self.policy.drift_limit)
                            .ok_or(EngineError::NotActive)
                    },
                    |_, v| {
                        let accepted = AuditKind::LoginAccepted {
                            step: v.step(),
                            drift: v.drift(),
                            authenticator: v.authenticator(),
                        };
                        (accepted, None)
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
    /// [`EnginePolicy::with_second_device_step_up`] may require.
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
                    Operation::Redisplay,
                    Needs::Active,
                    |record, v| {
                        record
                            .used(v.authenticator(), v.step(), now, self.policy.drift_limit)
                            .ok_or(EngineError::NotActive)
                    },
                    |_, _| (AuditKind::Redisplayed, None),
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
            let policy = self
                .policy
                .otp
                .to_builder()
                .algorithm(params.algorithm())
                .digits(u32::from(params.digits().get()))
                .period(u64::from(params.period()))
                .build()?;
            Ok(Provisioning::new(KeyUri::new(secret, label, &policy)?))
        }
    }

    /// The step-up check for showing a secret to a second device, when the policy asks for
    /// one ([`StepUpError::Required`](crate::StepUpError::Required) without it); audited
    /// when refused.
    async fn second_device_step_up(
        &self,
        account: &AccountId,
        step_up: Option<&StepUp>,
        now: u64,
    ) -> Result<(), EngineError> {
        if !self.policy.second_device_step_up() {
            return Ok(());
        }
        self.check_step_up(account, step_up, now).await
    }

    /// Checks a step-up proof (`None`: [`StepUpError::Required`](crate::StepUpError::Required))
    /// against the policy's age and skew; a refusal is audited as
    /// [`AuditKind::StepUpRefused`].
    async fn check_step_up(
        &self,
        account: &AccountId,
        step_up: Option<&StepUp>,
        now: u64,
    ) -> Result<(), EngineError> {
        let checked = match step_up {
            None => Err(crate::error::StepUpError::Required),
            Some(step_up) => step_up.check(
                account,
                now,
                self.policy.step_up_max_age,
                self.policy.step_up_max_skew,
            ),
        };
        if let Err(refused) = checked {
            self.append(account, now, [AuditKind::StepUpRefused])
                .await?;
            return Err(refused.into());
        }
        Ok(())
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
                    Operation::Stop,
                    Needs::Active,
                    |_, _| Ok(Enrollment::not_registered()),
                    |_, _| (AuditKind::Stopped, None),
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

    /// Support desk (lost phone): erases the enrollment and its counters. Needs the
    /// operator and a reason (1 byte to 1 KiB, no control or invisible characters:
    /// otherwise [`EngineError::InvalidIdentifier`]), which are audited; never returns the
    /// secret.
    ///
    /// It repairs any row: the stored record is not decoded (a corrupt or undecodable row
    /// is reset like any other), and a row at the store's largest version, which no write
    /// can advance, is re-instated at version 1 ([`Store::reinstate`]).
    pub async fn admin_reset(
        &self,
        account: &AccountId,
        operator: &Operator,
        reason: &str,
    ) -> Result<(), EngineError> {
        traced(&self.trace, "admin_reset", account, async {
            crate::account::check_reason(reason)?;
            let now = self.clock.now()?;
            let reset = AuditKind::AdministrativelyReset {
                operator: operator.clone(),
                reason: reason.to_owned(),
            };
            self.overwrite(account, now, reset).await
        })
        .await
    }

    /// Erases the account's row for a data-protection request (APPI, GDPR): its record,
    /// label, counters and timestamps. Needs the operator and a reason as
    /// [`Engine::admin_reset`] does; audited as [`AuditKind::Forgotten`] (the event itself
    /// names the account, as the audit trail must).
    ///
    /// The store keeps a tombstone with the account id and its version and nothing else,
    /// so a writer holding a version from before the erasure can never succeed, also
    /// after the account enrolls again. Works on any row, like `admin_reset`; an account
    /// with no row is audited and left alone.
    pub async fn forget(
        &self,
        account: &AccountId,
        operator: &Operator,
        reason: &str,
    ) -> Result<(), EngineError> {
        traced(&self.trace, "forget", account, async {
            crate::account::check_reason(reason)?;
            let now = self.clock.now()?;
            let forgotten = AuditKind::Forgotten {
                operator: operator.clone(),
                reason: reason.to_owned(),
            };
            for _ in 0..MAX_RETRIES {
                let Some(version) = self.store.version(account).await? else {
                    return self.append(account, now, [forgotten]).await;
                };
                let outgoing = self.outgoing(account, now, [forgotten.clone()]);
                let result = match self.store.forget(account, version, &outgoing.encoded).await {
                    Err(StoreError::VersionExhausted) => {
                        // First back to version 1 (nothing audited yet), then erased.
                        let cleared =
                            self.for_write(Enrollment::not_registered(), account, None)?;
                        match self.store.reinstate(account, version, &cleared, &[]).await {
                            Ok(()) | Err(StoreError::Conflict) => continue,
                            Err(error) => return Err(error.into()),
                        }
                    }
                    result => result,
                };
                match result {
                    Ok(_) => {
                        self.key_cache.evict(account);
                        self.observe(outgoing);
                        return Ok(());
                    }
                    Err(StoreError::Conflict) => continue,
                    Err(error) => return Err(error.into()),
                }
            }
            Err(EngineError::Contention)
        })
        .await
    }

    /// Writes a fresh not-registered record over whatever the account's row holds, with
    /// `kind` audited: a conditional write on the row's version (not decoding it), or a
    /// re-instatement at version 1 when the version cannot be advanced.
    async fn overwrite(
        &self,
        account: &AccountId,
        now: u64,
        kind: AuditKind,
    ) -> Result<(), EngineError> {
        let cleared = Enrollment::not_registered();
        for _ in 0..MAX_RETRIES {
            let version = self.store.version(account).await?;
            let outgoing = self.outgoing(account, now, [kind.clone()]);
            let written = match self.for_write(cleared.clone(), account, version) {
                Ok(signed) => {
                    self.store
                        .replace_if(account, version, &signed, &outgoing.encoded)
                        .await
                }
                Err(EngineError::Store(StoreError::VersionExhausted)) => {
                    Err(StoreError::VersionExhausted)
                }
                Err(error) => return Err(error),
            };
            let result = match (written, version) {
                (Err(StoreError::VersionExhausted), Some(version)) => {
                    let restarted = self.for_write(cleared.clone(), account, None)?;
                    self.store
                        .reinstate(account, version, &restarted, &outgoing.encoded)
                        .await
                        .map(|()| 1)
                }
                (result, _) => result,
            };
            match result {
                Ok(_) => {
                    self.key_cache.evict(account);
                    self.observe(outgoing);
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(EngineError::Contention)
    }

    /// Checks `code` against the account's record and writes the outcome with the version
    /// it was decided on, retrying from a fresh load on a conflict. An acceptance is
    /// returned only after `on_accept`'s record was written together with `accepted`'s
    /// event. A lapsed application met on the way is erased.
    ///
    /// The first decision may come from the record this engine last wrote for the account
    /// (held, with its version): an acceptance is then written directly, one round trip,
    /// and a refused write (someone else wrote since) sends it to the fresh path. Every
    /// other outcome of a held record (a refusal, the wrong state) is decided again from
    /// the stored row, so only a durable compare-and-swap ever short-cuts the load.
    #[allow(clippy::too_many_arguments)]
    async fn check_code(
        &self,
        account: &AccountId,
        code: &str,
        now: u64,
        operation: Operation,
        needs: Needs,
        on_accept: impl Fn(Enrollment, Verified) -> Result<Enrollment, EngineError>,
        accepted: impl Fn(&Enrollment, &Verified) -> (AuditKind, Option<AuditKind>),
    ) -> Result<Checked, EngineError> {
        // The record only: prepared keys are never held in this future's (heap) state,
        // where a moved copy would be left behind un-zeroized.
        let mut held = self
            .policy
            .hold_records
            .then(|| self.key_cache.held(account, now))
            .flatten();
        for _ in 0..MAX_RETRIES {
            // The held record is tried first, once, and moved out (no copy of it is made).
            let from_held = held.is_some();
            let (version, record) = match held.take() {
                Some(held) => (held.version, held.record),
                None => match self.load(account).await? {
                    Some(Versioned { version, record }) => (version, record),
                    None => return Ok(Checked::WrongState),
                },
            };
            let targets = targets(&record, needs, now);
            if targets.is_empty() {
                if from_held {
                    continue;
                }
                if record.is_expired_pending(now) {
                    self.erase_expired(account, Versioned { version, record }, now)
                        .await?;
                }
                return Ok(Checked::WrongState);
            }
            // Each key goes straight into its `Totp`, in a vector of exact size (never
            // grown, so never moved), which zeroizes them when dropped. The generation is
            // the first key's: if the ring is replaced meanwhile, nothing is cached.
            let mut generation = None;
            let mut totps = Vec::with_capacity(targets.len());
            for target in &targets {
                let mut key_generation = 0;
                let totp = Totp {
                    // Cloned out of its box, never moved: a key moved out of a temporary
                    // in this future's (heap) state would leave its bytes behind there.
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
            let generation = generation.unwrap_or(u64::MAX);
            let candidates: Vec<Candidate<'_>> = targets
                .iter()
                .zip(&totps)
                .map(|(target, (_, totp))| Candidate {
                    id: target.id,
                    totp,
                    centre: target.centre,
                    floor: target.floor,
                })
                .collect();
            let attempt =
                record.attempt(now, &self.policy.throttle, || verify_any(code, &candidates));
            drop(candidates);
            drop(targets);
            let verified = match attempt.verdict {
                Ok(verified) => verified,
                // A refusal is decided from the stored row, never from a held copy.
                Err(_) if from_held => continue,
                Err(refusal) => {
                    let refused = self
                        .refuse(
                            account,
                            now,
                            operation,
                            refusal,
                            record,
                            version,
                            attempt.failure_record,
                        )
                        .await;
                    match refused {
                        Some(error) => return Err(error),
                        None => continue,
                    }
                }
            };
            let (event, also) = accepted(&record, &verified);
            let next = on_accept(record, verified)?;
            let next = self.for_write(next, account, Some(version))?;
            let outgoing = self.outgoing(account, now, [event].into_iter().chain(also));
            match self
                .store
                .replace_if(account, Some(version), &next, &outgoing.encoded)
                .await
            {
                Ok(written) => {
                    self.observe(outgoing);
                    let keys: Vec<(u8, &PreparedKey)> =
                        totps.iter().map(|(id, totp)| (*id, &totp.key)).collect();
                    self.hold(account, written, &next, &keys, generation, now);
                    return Ok(Checked::Accepted {
                        verified,
                        record: Box::new(next),
                    });
                }
                Err(StoreError::Conflict) => {
                    self.key_cache.release(account);
                    continue;
                }
                Err(error) => {
                    self.key_cache.release(account);
                    return Err(error.into());
                }
            }
        }
        Err(EngineError::Contention)
    }

    /// Records a refused code decided from the stored row at `version`: the failure
    /// counter's record with the refusal (and the lock it caused) in one write, or the
    /// refusal alone when the counter does not change. Returns the call's error (the
    /// refusal, or why it could not be recorded), or `None` when the write conflicted and
    /// the code must be decided again.
    #[allow(clippy::too_many_arguments)]
    async fn refuse(
        &self,
        account: &AccountId,
        now: u64,
        operation: Operation,
        refusal: Refusal,
        record: Enrollment,
        version: u64,
        failure_record: Option<Enrollment>,
    ) -> Option<EngineError> {
        let Some(failed) = failure_record else {
            // Nothing to write but the refusal itself.
            let refused = AuditKind::Refused {
                operation,
                refusal,
                failures: record.throttle().failures(),
            };
            return Some(match self.append(account, now, [refused]).await {
                Ok(()) => EngineError::Refused(refusal),
                Err(error) => error,
            });
        };
        let failed = match self.for_write(failed, account, Some(version)) {
            Ok(failed) => failed,
            Err(error) => return Some(error),
        };
        let failures = failed.throttle().failures();
        let locked_by_this_attempt =
            failed.throttle().is_locked() && !record.throttle().is_locked();
        // The refusal first, then the lock it caused: the audit trail reads in the order
        // things happened.
        let refused = AuditKind::Refused {
            operation,
            refusal,
            failures,
        };
        let locked = locked_by_this_attempt.then_some(AuditKind::Locked { failures });
        let outgoing = self.outgoing(account, now, [refused].into_iter().chain(locked));
        self.key_cache.release(account);
        match self
            .store
            .replace_if(account, Some(version), &failed, &outgoing.encoded)
            .await
        {
            Ok(_) => {
                self.observe(outgoing);
                Some(EngineError::Refused(refusal))
            }
            Err(StoreError::Conflict) => None,
            Err(error) => Some(error.into()),
        }
    }

    /// A refusal that changes no record, audited; the call's error.
    async fn refused(
        &self,
        account: &AccountId,
        now: u64,
        operation: Operation,
        refusal: Refusal,
        record: Enrollment,
        version: u64,
    ) -> EngineError {
        self.refuse(account, now, operation, refusal, record, version, None)
            .await
            .unwrap_or(EngineError::Refused(refusal))
    }

    /// Records a wrong code decided from the stored row at `version`: one more failure
    /// (and the lock it may cause) with the refusal, in one write. The call's error, or
    /// `None` when the write conflicted and the code must be decided again.
    async fn refuse_wrong(
        &self,
        account: &AccountId,
        now: u64,
        operation: Operation,
        record: Enrollment,
        version: u64,
    ) -> Option<EngineError> {
        let failed = record.failed(now, &self.policy.throttle);
        self.refuse(
            account,
            now,
            operation,
            Refusal::WrongCode,
            record,
            version,
            Some(failed),
        )
        .await
    }

    /// Erases a lapsed pending enrollment's secret (keeping its failure counter). Returns
    /// whether this call erased it: `false` when the write conflicted (someone else changed
    /// the row first; their write decides, and audits).
    async fn erase_expired(
        &self,
        account: &AccountId,
        loaded: Versioned,
        now: u64,
    ) -> Result<bool, EngineError> {
        let erased = Enrollment {
            throttle: loaded.record.throttle,
            ..Enrollment::not_registered()
        };
        let erased = self.for_write(erased, account, Some(loaded.version))?;
        let outgoing = self.outgoing(account, now, [AuditKind::EnrollmentExpired]);
        match self
            .store
            .replace_if(account, Some(loaded.version), &erased, &outgoing.encoded)
            .await
        {
            Ok(_) => {
                self.key_cache.evict(account);
                self.observe(outgoing);
                Ok(true)
            }
            // Someone else changed the record first: their write decides, and audits.
            Err(StoreError::Conflict) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// The account's record and version; for no record, a fresh one, with the version of
    /// the tombstone an erasure left, if any (a first write over it needs that version).
    async fn load_or_default(
        &self,
        account: &AccountId,
    ) -> Result<(Option<u64>, Enrollment), EngineError> {
        Ok(match self.load(account).await? {
            Some(Versioned { version, record }) => (Some(version), record),
            None => (
                self.store.version(account).await?,
                Enrollment::not_registered(),
            ),
        })
    }

    /// Loads the account's record and authenticates it as a whole before anything is
    /// decided from it: its MAC must verify for this account and the loaded version (a
    /// legacy record is accepted only if the policy allows). Fails closed with a
    /// [`SealError`]; on a MAC mismatch, a sealed secret that does not open for this
    /// account at all is reported as [`SealError::Authentication`] (a copied or forged
    /// secret), any other as [`SealError::IntegrityMismatch`].
    async fn load(&self, account: &AccountId) -> Result<Option<Versioned>, EngineError> {
        let Some(loaded) = self.store.load(account).await? else {
            return Ok(None);
        };
        self.authenticate(account, loaded).map(Some)
    }

    /// The checks of [`Engine::load`] on a record already read.
    fn authenticate(
        &self,
        account: &AccountId,
        loaded: Versioned,
    ) -> Result<Versioned, EngineError> {
        if loaded.record.format_version() == 1 {
            if self.policy.accept_legacy_records {
                return Ok(loaded);
            }
            return Err(SealError::LegacyRecordRefused.into());
        }
        let keys = self.keys.load();
        match loaded
            .record
            .verify_integrity(&keys, account, loaded.version)
        {
            Ok(()) => Ok(loaded),
            Err(SealError::IntegrityMismatch) => {
                // Only on the failure path: name the more specific defect if there is one.
                for sealed in loaded.record.secrets() {
                    keys.open(sealed, account)?;
                }
                Err(SealError::IntegrityMismatch.into())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The record as it is written as the version after `expected`: its secret re-sealed
    /// under the current key (and for the current format) if needed, and its MAC computed.
    fn for_write(
        &self,
        record: Enrollment,
        account: &AccountId,
        expected: Option<u64>,
    ) -> Result<Enrollment, EngineError> {
        let version = match expected {
            None => 1,
            Some(version) => version.checked_add(1).ok_or(StoreError::VersionExhausted)?,
        };
        let keys = self.keys.load();
        let mut record = record;
        for sealed in record.secrets_mut() {
            if keys.needs_reseal(sealed) {
                let secret = keys.open(sealed, account)?;
                *sealed = keys.seal(&secret, account)?;
            }
        }
        Ok(record.signed(&keys, account, version)?)
    }

    /// The prepared key of a sealed secret, and (in `generation`) the cache generation it
    /// belongs to: from the cache when it holds one for exactly these sealed bytes,
    /// otherwise unsealed (authenticating the record), prepared and cached.
    fn prepared_key(
        &self,
        account: &AccountId,
        sealed: &SealedSecret,
        params: &OtpParams,
        generation: &mut u64,
    ) -> Result<Box<PreparedKey>, EngineError> {
        let (cached, cache_generation) = self.key_cache.get(account, sealed, params.algorithm());
        *generation = cache_generation;
        if let Some(key) = cached {
            return Ok(key);
        }
        // The ring is loaded after the cache's generation was read: if the ring is replaced
        // in between, the generation is stale and the key is not cached.
        let secret = self.keys.load().open(sealed, account)?;
        let key = Box::new(PreparedKey::new(&secret, params.algorithm()));
        self.key_cache
            .insert(account, sealed, &key, cache_generation, None);
        Ok(key)
    }

    /// Keeps `record`, just written as `version`, with the prepared keys of its
    /// authenticators `keys` (by id; for a pending enrollment, id 1 is its secret), so
    /// that the next login of the account can decide from it without loading the row (a
    /// record without a secret is not kept: its entry is evicted).
    fn hold(
        &self,
        account: &AccountId,
        version: u64,
        record: &Enrollment,
        keys: &[(u8, &PreparedKey)],
        generation: u64,
        now: u64,
    ) {
        if record.secrets().next().is_none() {
            self.key_cache.evict(account);
            return;
        }
        let held = self.policy.hold_records.then(|| Held {
            version,
            record: record.clone(),
            at: now,
        });
        let sealed_keys: Vec<(&SealedSecret, &PreparedKey)> = keys
            .iter()
            .filter_map(|(id, key)| {
                let sealed = match record.pending_material() {
                    Some((sealed, _, _)) => Some(sealed),
                    None => record.authenticator(*id).map(|a| &a.secret),
                };
                sealed.map(|sealed| (sealed, *key))
            })
            .collect();
        self.key_cache
            .insert_all(account, &sealed_keys, generation, held);
    }

    /// The events of `kinds`, stamped with the account, the time and the request context,
    /// and (with the outbox on) encoded for the store.
    fn outgoing(
        &self,
        account: &AccountId,
        at: u64,
        kinds: impl IntoIterator<Item = AuditKind>,
    ) -> Outgoing {
        let context = RequestContext::current();
        let events: Vec<AuditEvent> = kinds
            .into_iter()
            .map(|kind| AuditEvent {
                account: account.clone(),
                at,
                kind,
                context: context.clone(),
            })
            .collect();
        let encoded = if self.policy.outbox {
            events.iter().map(AuditEvent::encode).collect()
        } else {
            Vec::new()
        };
        Outgoing { events, encoded }
    }

    /// Records events that change no record: appended to the outbox (fail closed: the call
    /// fails if they cannot be written), then observed.
    async fn append(
        &self,
        account: &AccountId,
        at: u64,
        kinds: impl IntoIterator<Item = AuditKind>,
    ) -> Result<(), EngineError> {
        let outgoing = self.outgoing(account, at, kinds);
        if !outgoing.encoded.is_empty() {
            self.store.append_events(account, &outgoing.encoded).await?;
        }
        self.observe(outgoing);
        Ok(())
    }

    /// Hands durable events to the in-process sink.
    fn observe(&self, outgoing: Outgoing) {
        for event in outgoing.events {
            self.audit.record(event);
        }
    }
}
