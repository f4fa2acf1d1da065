//! The [`Engine`] itself: its parts (store, key ring, policy, clock, in-process sink, key
//! cache, tracing), its construction, and the steps every call shares — load and
//! authenticate a record, sign one for writing, prepare keys, hold the last write, build
//! and record events.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::account::AccountId;
use crate::audit::{AuditEvent, AuditKind, AuditSink, NoAudit, RequestContext};
use crate::clock::{Clock, SystemClock};
use crate::engine::key_cache::{Held, KeyCache};
use crate::engine::policy::EnginePolicy;
use crate::engine::trace::Trace;
use crate::error::{EngineError, SealError, StoreError};
use crate::keys::{KeyRing, SealedSecret};
use crate::lifecycle::enrollment::Enrollment;
use crate::otp::PreparedKey;
use crate::otp::policy::OtpParams;
use crate::otp::secret::Secret;
use crate::provision::provisioning::Provisioning;
use crate::provision::uri::KeyUri;
use crate::store::{Store, Versioned};

/// The engine behind every screen of the one-time password service.
///
/// ```
/// # tokio_test_block_on(async {
/// use std::sync::Arc;
/// use totp_enroll::{AccountId, AccountLabel, Engine, EnginePolicy, KeyRing, ManualClock};
/// use totp_enroll::{MemoryStore, OtpPolicy, Status, StepUp, otp::Totp};
///
/// let clock = Arc::new(ManualClock::new(1_700_000_000));
/// let policy = EnginePolicy::new(OtpPolicy::new("Example Securities")?);
/// let engine = Engine::new(MemoryStore::new(), KeyRing::generate(1)?, policy)?.with_clock(clock.clone());
/// let account = AccountId::new("customer-42")?;
///
/// let step_up = StepUp::password_verified(&account, engine.now()?);
/// let label = AccountLabel::new("jane@example.com")?;
/// let screen = engine.begin(&account, &label, &step_up).await?;
/// // The customer's app computes the code from the provisioned key:
/// let app = Totp::new(&totp_enroll::provision::KeyUri::parse(&screen.uri())?.secret().clone(), engine.policy().otp());
/// engine.confirm(&account, &app.code_at(1_700_000_000).to_string()).await?;
/// assert!(matches!(engine.status(&account).await?, Status::Active { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub struct Engine<S> {
    pub(super) store: S,
    pub(super) keys: ArcSwap<KeyRing>,
    pub(super) policy: EnginePolicy,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) audit: Arc<dyn AuditSink>,
    pub(super) key_cache: KeyCache,
    pub(super) trace: Trace,
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
pub(super) struct Outgoing {
    pub(super) events: Vec<AuditEvent>,
    pub(super) encoded: Vec<Vec<u8>>,
}

impl<S: Store> Engine<S> {
    /// An engine over `store`, sealing secrets with `keys`, using the system clock and no
    /// in-process audit sink ([`with_audit`](Self::with_audit)).
    ///
    /// **The audit trail accumulates in the store.** With the default policy every call
    /// writes its audit events into the store's outbox (`totp_enroll_outbox` in the SQL
    /// stores) in the same atomic step as its record, and nothing removes them but a
    /// delivery: run [`Outbox::run`](crate::Outbox::run) over the same store beside the
    /// engine (one line; it stops with the application), or the outbox grows for ever. An
    /// application that wants no durable trail turns it off with
    /// [`EnginePolicy::with_outbox(false)`](crate::EnginePolicy::with_outbox).
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

    /// The registration screen of `secret` with the code parameters it was enrolled with
    /// (a later policy change does not alter them) and the app's account name `label`.
    pub(super) fn provisioning(
        &self,
        secret: Secret,
        params: &OtpParams,
        label: &str,
    ) -> Result<Provisioning, EngineError> {
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

    /// The engine's time (Unix seconds), from its clock ([`Engine::with_clock`]): the time
    /// to put in a [`StepUp`](crate::StepUp) and to classify an error at.
    pub fn now(&self) -> Result<u64, EngineError> {
        Ok(self.clock.now()?)
    }

    /// The account's record and version; for no record, a fresh one, with the version of
    /// the tombstone an erasure left, if any (a first write over it needs that version).
    pub(super) async fn load_or_default(
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
    pub(super) async fn load(&self, account: &AccountId) -> Result<Option<Versioned>, EngineError> {
        let Some(loaded) = self.store.load(account).await? else {
            return Ok(None);
        };
        self.authenticate(account, loaded).map(Some)
    }

    /// The checks of [`Engine::load`] on a record already read.
    pub(super) fn authenticate(
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
    pub(super) fn for_write(
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
    pub(super) fn prepared_key(
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
    pub(super) fn hold(
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
    pub(super) fn outgoing(
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
    pub(super) async fn append(
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
    pub(super) fn observe(&self, outgoing: Outgoing) {
        for event in outgoing.events {
            self.audit.record(event);
        }
    }
}
