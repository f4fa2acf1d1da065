//! [`Engine`]: the async façade the portal calls, one method per screen of the seed manual.
//!
//! Each call loads the record, opens its secret, decides with the pure transitions of
//! [`EnrollmentRecord`], writes the result with [`Store::replace_if`] and only then reports
//! the verdict and emits the audit event. A conflicting write makes it reload and decide
//! again; a storage failure is an error, never an acceptance (fail closed).

use std::sync::Arc;

use crate::account::{AccountId, Operator, StepUp};
use crate::audit::{AuditEvent, AuditKind, AuditSink, NoAudit, Operation};
use crate::clock::{Clock, SystemClock};
use crate::engine_trace::{Trace, traced};
use crate::enrollment::Status;
use crate::error::{EngineError, PolicyError, Refusal, SealError, StoreError};
use crate::key_cache::KeyCache;
use crate::otp::{PreparedKey, Totp};
use crate::policy::OtpPolicy;
use crate::provisioning::Provisioning;
use crate::record::{EnrollmentRecord, Integrity, OtpParams, RecordStatus};
use crate::seal::{KeyRing, SealedSecret};
use crate::secret::Secret;
use crate::store::{Store, Versioned};
use crate::throttle::ThrottlePolicy;
use crate::uri::KeyUri;
use crate::verify::Verified;

/// How many times one call reloads after conflicting writes before giving up with
/// [`EngineError::Contention`]. Each conflict means another writer made progress.
const MAX_RETRIES: usize = 512;

/// The lifecycle rules around the code policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnginePolicy {
    otp: OtpPolicy,
    throttle: ThrottlePolicy,
    pending_ttl: u64,
    step_up_max_age: u64,
    step_up_max_skew: u64,
    allow_redisplay: bool,
    key_cache_capacity: usize,
    accept_legacy_records: bool,
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

    /// The defaults around `otp`: throttling per [`ThrottlePolicy::default`], pending
    /// lifetime 10 min, step-up valid 5 min, re-display for another device allowed (as the
    /// seed portal does).
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
        }
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
    /// discourages cloning one secret to several devices; the seed portal allows it.
    #[must_use]
    pub fn with_redisplay(mut self, allowed: bool) -> Self {
        self.allow_redisplay = allowed;
        self
    }

    /// Accepts (the default) or refuses stored records of the legacy format 1, which have
    /// no MAC over their fields. Accepted legacy records are re-written in format 2 (with a
    /// MAC) on the engine's next write of each; refused ones fail with
    /// [`SealError::LegacyRecordRefused`](crate::SealError::LegacyRecordRefused). Refuse
    /// them once every row has been re-written
    /// ([`EnrollmentRecord::format_version`] tells): until then a database writer can put
    /// an unauthenticated legacy row in place of any record.
    #[must_use]
    pub fn with_legacy_records(mut self, accepted: bool) -> Self {
        self.accept_legacy_records = accepted;
        self
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

    fn validate(&self) -> Result<(), PolicyError> {
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
        Ok(())
    }
}

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
}

/// Which state an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    Pending,
    Active,
}

/// The result of a code check that may have been refused for the record's state.
enum Checked {
    /// The record is not in the state the operation needs.
    WrongState(Option<Versioned>),
    /// Accepted and durably recorded.
    Accepted {
        verified: Verified,
        record: EnrollmentRecord,
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
    keys: KeyRing,
    policy: EnginePolicy,
    clock: Arc<dyn Clock>,
    audit: Arc<dyn AuditSink>,
    key_cache: KeyCache,
    trace: Trace,
}

impl<S> core::fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("keys", &self.keys)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<S: Store> Engine<S> {
    /// An engine over `store`, sealing secrets with `keys`, using the system clock and no
    /// audit sink.
    pub fn new(store: S, keys: KeyRing, policy: EnginePolicy) -> Result<Self, EngineError> {
        policy.validate()?;
        Ok(Self {
            store,
            keys,
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

    /// Sends audit events to `audit`.
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

    /// The key ring, e.g. to rotate keys between requests.
    pub fn keys_mut(&mut self) -> &mut KeyRing {
        &mut self.keys
    }

    /// For the registration-info screen: not registered, pending (until when) or active
    /// (since when), and whether verification is throttled or locked.
    pub async fn status(&self, account: &AccountId) -> Result<Status, EngineError> {
        traced(&self.trace, "status", account, async {
            let now = self.clock.now()?;
            Ok(self
                .load(account)
                .await?
                .map_or(Status::NotRegistered, |v| v.record.status_at(now)))
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
            if let Err(refused) = step_up.check(
                account,
                now,
                self.policy.step_up_max_age,
                self.policy.step_up_max_skew,
            ) {
                self.emit(account, now, AuditKind::StepUpRefused);
                return Err(refused.into());
            }
            let secret = Secret::generate()?;
            let provisioning =
                Provisioning::new(KeyUri::new(secret.clone(), label, &self.policy.otp)?)?;
            let sealed = self.keys.seal(&secret, account)?;
            let params = OtpParams::from_policy(&self.policy.otp);
            for _ in 0..MAX_RETRIES {
                let (version, record) = self.load_or_default(account).await?;
                let replaced_pending = matches!(record.status(), RecordStatus::Pending { .. })
                    && !record.is_expired_pending(now);
                let active = matches!(record.status(), RecordStatus::Active { .. });
                if record.throttle().is_locked() && !active {
                    // A lock survives a lapsed or replaced application: issuing a QR code
                    // that can never be confirmed would only hide it from the customer.
                    self.emit(
                        account,
                        now,
                        AuditKind::Refused {
                            operation: Operation::Begin,
                            refusal: Refusal::Locked,
                            failures: record.throttle().failures(),
                        },
                    );
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
                match self.store.replace_if(account, version, &next).await {
                    Ok(_) => {
                        // A replaced pending secret must not linger in the cache.
                        self.key_cache.evict(account);
                        let expires_at = now.saturating_add(self.policy.pending_ttl);
                        self.emit(
                            account,
                            now,
                            AuditKind::EnrollmentStarted {
                                expires_at,
                                replaced_pending,
                            },
                        );
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
                    |record, v| record.confirmed(v.step(), now),
                )
                .await?;
            match checked {
                Checked::Accepted { verified, .. } => {
                    self.emit(
                        account,
                        now,
                        AuditKind::EnrollmentConfirmed {
                            step: verified.step(),
                        },
                    );
                    Ok(())
                }
                Checked::WrongState(Some(loaded)) if loaded.record.is_expired_pending(now) => {
                    self.erase_expired(account, loaded, now).await?;
                    Err(EngineError::NoPendingEnrollment)
                }
                Checked::WrongState(_) => Err(EngineError::NoPendingEnrollment),
            }
        })
        .await
    }

    /// Login: checks the code of an active enrollment with replay protection and
    /// throttling. For an account that does not use the service the answer is
    /// [`Login::NotRequired`]; the code is then not examined.
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
                    |record, v| record.used(v.step()),
                )
                .await?;
            match checked {
                Checked::Accepted { verified, .. } => {
                    self.emit(
                        account,
                        now,
                        AuditKind::LoginAccepted {
                            step: verified.step(),
                            drift: verified.drift(),
                        },
                    );
                    Ok(Login::Verified(verified))
                }
                Checked::WrongState(_) => Ok(Login::NotRequired),
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
            let now = self.clock.now()?;
            if !self.policy.allow_redisplay {
                self.emit(account, now, AuditKind::RedisplayDisabled);
                return Err(EngineError::RedisplayDisabled);
            }
            let checked = self
                .check_code(
                    account,
                    code,
                    now,
                    Operation::Redisplay,
                    Needs::Active,
                    |record, v| record.used(v.step()),
                )
                .await?;
            let Checked::Accepted { record, .. } = checked else {
                return Err(EngineError::NotActive);
            };
            let (sealed, params, label) = record.key_material().ok_or(EngineError::NotActive)?;
            let secret = self.keys.open(sealed, account)?;
            let policy = self
                .policy
                .otp
                .to_builder()
                .algorithm(params.algorithm())
                .digits(u32::from(params.digits().get()))
                .period(u64::from(params.period()))
                .build()?;
            let provisioning = Provisioning::new(KeyUri::new(secret, label, &policy)?)?;
            self.emit(account, now, AuditKind::Redisplayed);
            Ok(provisioning)
        })
        .await
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
                    |_, _| Some(EnrollmentRecord::not_registered()),
                )
                .await?;
            match checked {
                Checked::Accepted { .. } => {
                    self.key_cache.evict(account);
                    self.emit(account, now, AuditKind::Stopped);
                    Ok(())
                }
                Checked::WrongState(_) => Err(EngineError::NotActive),
            }
        })
        .await
    }

    /// Support desk (lost phone): erases the enrollment and its counters. Needs the
    /// operator and a reason (1 byte to 1 KiB, no control or invisible characters:
    /// otherwise [`EngineError::InvalidIdentifier`]), which are audited; never returns the
    /// secret.
    pub async fn admin_reset(
        &self,
        account: &AccountId,
        operator: &Operator,
        reason: &str,
    ) -> Result<(), EngineError> {
        traced(&self.trace, "admin_reset", account, async {
            crate::account::check_reason(reason)?;
            let now = self.clock.now()?;
            let cleared = EnrollmentRecord::not_registered();
            for _ in 0..MAX_RETRIES {
                let version = self.store.load(account).await?.map(|v| v.version);
                let signed = self.for_write(cleared.clone(), account, version)?;
                match self.store.replace_if(account, version, &signed).await {
                    Ok(_) => {
                        self.key_cache.evict(account);
                        self.emit(
                            account,
                            now,
                            AuditKind::AdministrativelyReset {
                                operator: operator.clone(),
                                reason: reason.to_owned(),
                            },
                        );
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

    /// Loads, checks `code` against the record's secret, and writes the outcome with the
    /// version it loaded, retrying from the load on a conflict. An acceptance is returned
    /// only after `on_accept`'s record was written.
    async fn check_code(
        &self,
        account: &AccountId,
        code: &str,
        now: u64,
        operation: Operation,
        needs: Needs,
        on_accept: impl Fn(EnrollmentRecord, Verified) -> Option<EnrollmentRecord>,
    ) -> Result<Checked, EngineError> {
        for _ in 0..MAX_RETRIES {
            let Some(Versioned { version, record }) = self.load(account).await? else {
                return Ok(Checked::WrongState(None));
            };
            let in_state = match (needs, record.status()) {
                (Needs::Pending, RecordStatus::Pending { .. }) => !record.is_expired_pending(now),
                (Needs::Active, RecordStatus::Active { .. }) => true,
                _ => false,
            };
            let Some((sealed, params, _)) = record.key_material().filter(|_| in_state) else {
                return Ok(Checked::WrongState(Some(Versioned { version, record })));
            };
            let totp = Totp {
                key: self.prepared_key(account, sealed, params)?,
                digits: params.digits(),
                period: params.period(),
                window: self.policy.otp.window(),
            };
            let attempt = record.attempt(now, &self.policy.throttle, |last_used| {
                totp.verify_input(code, now, last_used)
            });
            match attempt.verdict {
                Ok(verified) => {
                    let next = on_accept(record, verified).ok_or(EngineError::NotActive)?;
                    let next = self.for_write(next, account, Some(version))?;
                    match self.store.replace_if(account, Some(version), &next).await {
                        Ok(_) => {
                            return Ok(Checked::Accepted {
                                verified,
                                record: next,
                            });
                        }
                        Err(StoreError::Conflict) => continue,
                        Err(error) => return Err(error.into()),
                    }
                }
                Err(refusal) => {
                    let mut failures = record.throttle().failures();
                    let mut locked_by_this_attempt = false;
                    if let Some(failed) = attempt.failure_record {
                        let failed = self.for_write(failed, account, Some(version))?;
                        match self.store.replace_if(account, Some(version), &failed).await {
                            Ok(_) => {}
                            Err(StoreError::Conflict) => continue,
                            Err(error) => return Err(error.into()),
                        }
                        failures = failed.throttle().failures();
                        locked_by_this_attempt =
                            failed.throttle().is_locked() && !record.throttle().is_locked();
                    }
                    // The refusal first, then the lock it caused: the audit trail reads in
                    // the order things happened.
                    self.emit(
                        account,
                        now,
                        AuditKind::Refused {
                            operation,
                            refusal,
                            failures,
                        },
                    );
                    if locked_by_this_attempt {
                        self.emit(account, now, AuditKind::Locked { failures });
                    }
                    return Err(EngineError::Refused(refusal));
                }
            }
        }
        Err(EngineError::Contention)
    }

    /// Erases a lapsed pending enrollment's secret (keeping its failure counter).
    async fn erase_expired(
        &self,
        account: &AccountId,
        loaded: Versioned,
        now: u64,
    ) -> Result<(), EngineError> {
        let erased = EnrollmentRecord {
            status: RecordStatus::NotRegistered,
            throttle: loaded.record.throttle,
            integrity: Integrity::Unsigned,
        };
        let erased = self.for_write(erased, account, Some(loaded.version))?;
        match self
            .store
            .replace_if(account, Some(loaded.version), &erased)
            .await
        {
            Ok(_) => {
                self.key_cache.evict(account);
                self.emit(account, now, AuditKind::EnrollmentExpired);
                Ok(())
            }
            // Someone else changed the record first: their write decides, and audits.
            Err(StoreError::Conflict) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    async fn load_or_default(
        &self,
        account: &AccountId,
    ) -> Result<(Option<u64>, EnrollmentRecord), EngineError> {
        Ok(match self.load(account).await? {
            Some(Versioned { version, record }) => (Some(version), record),
            None => (None, EnrollmentRecord::not_registered()),
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
        if loaded.record.format_version() == 1 {
            if self.policy.accept_legacy_records {
                return Ok(Some(loaded));
            }
            return Err(SealError::LegacyRecordRefused.into());
        }
        match loaded
            .record
            .verify_integrity(&self.keys, account, loaded.version)
        {
            Ok(()) => Ok(Some(loaded)),
            Err(SealError::IntegrityMismatch) => {
                // Only on the failure path: name the more specific defect if there is one.
                if let Some((sealed, _, _)) = loaded.record.key_material() {
                    self.keys.open(sealed, account)?;
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
        record: EnrollmentRecord,
        account: &AccountId,
        expected: Option<u64>,
    ) -> Result<EnrollmentRecord, EngineError> {
        let version = match expected {
            None => 1,
            Some(version) => version.checked_add(1).ok_or(StoreError::Conflict)?,
        };
        Ok(self
            .resealed(record, account)?
            .signed(&self.keys, account, version)?)
    }

    /// Re-seals the record's secret under the current key if it was sealed under another,
    /// or for a legacy record.
    fn resealed(
        &self,
        record: EnrollmentRecord,
        account: &AccountId,
    ) -> Result<EnrollmentRecord, EngineError> {
        match record.key_material() {
            Some((sealed, _, _)) if self.keys.needs_reseal(sealed) => {
                let secret = self.keys.open(sealed, account)?;
                Ok(record.with_secret(self.keys.seal(&secret, account)?))
            }
            _ => Ok(record),
        }
    }

    /// The prepared key of a sealed secret: from the cache when it holds one for exactly
    /// these sealed bytes, otherwise unsealed (authenticating the record) and prepared.
    fn prepared_key(
        &self,
        account: &AccountId,
        sealed: &SealedSecret,
        params: &OtpParams,
    ) -> Result<PreparedKey, EngineError> {
        if let Some(key) = self.key_cache.get(account, sealed, params.algorithm()) {
            return Ok(key);
        }
        let secret = self.keys.open(sealed, account)?;
        let key = PreparedKey::new(&secret, params.algorithm());
        self.key_cache.insert(account, sealed, &key);
        Ok(key)
    }

    fn emit(&self, account: &AccountId, at: u64, kind: AuditKind) {
        self.audit.record(AuditEvent {
            account: account.clone(),
            at,
            kind,
        });
    }
}
