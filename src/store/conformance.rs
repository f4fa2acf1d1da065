//! The store conformance suite (feature `testing`): the checks every [`Store`] must pass.
//!
//! This crate runs it against [`MemoryStore`](crate::MemoryStore), `SqliteStore` (a WAL
//! file and `:memory:`) and `PostgresStore`; the author of another store runs the same
//! checks against theirs. Each [`Check`] is an async function over any `S: Store` that
//! returns `Ok(())` or a message naming what broke:
//!
//! * [`Check::Crud`]: load of a missing row, first write (version 1), load back equal,
//!   second write (version 2), accounts isolated from each other.
//! * [`Check::VersionConflicts`]: a stale, future or missing version and a second first
//!   write are [`StoreError::Conflict`] and write nothing.
//! * [`Check::RecordRoundTrip`]: every record status (not registered, pending, active;
//!   throttled and locked counters; every algorithm; shortest and longest secrets and
//!   labels; extreme times) loads back exactly as written.
//! * Through [`Engine`]s sharing the store (several engines, as several portal processes
//!   would be), the concurrency promises:
//!   [`Check::OneAcceptance`] (N concurrent verifications of one valid code accept exactly
//!   one, round after round), [`Check::ExactFailureCount`] (N parallel wrong codes under a
//!   throttle that never backs off add exactly N failures), and
//!   [`Check::ThrottleBoundsGuesses`] (with a lock after 5 failures, N parallel guesses get
//!   at most 5 [`Refusal::WrongCode`]; all others are throttled or locked).
//!
//! The concurrent checks spawn tokio tasks: run them inside a tokio runtime, preferably the
//! multi-thread flavor so the tasks really run in parallel. Every check uses fresh account
//! ids ([`fresh_account`]), so one database may be shared by many checks and runs.
//!
//! ```no_run
//! use std::sync::Arc;
//! use totp_enroll::MemoryStore;
//! use totp_enroll::store::conformance::{Check, Config};
//!
//! #[tokio::main(flavor = "multi_thread")]
//! async fn main() -> Result<(), String> {
//!     // One test per check names the failing one; `run_all` runs them in sequence.
//!     for check in Check::ALL {
//!         check.run(Arc::new(MemoryStore::new()), &Config::default()).await?;
//!     }
//!     Ok(())
//! }
//! ```

use core::future::Future;
use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::TryRngCore;
use rand::rngs::OsRng;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::account::{AccountId, StepUp};
use crate::clock::ManualClock;
use crate::engine::{Engine, EnginePolicy, Login};
use crate::error::{EngineError, Refusal, StoreError};
use crate::otp::Totp;
use crate::policy::{Algorithm, OtpPolicy};
use crate::record::{EnrollmentRecord, Integrity, OtpParams, RecordStatus};
use crate::seal::KeyRing;
use crate::secret::Secret;
use crate::store::Store;
use crate::throttle::{ThrottlePolicy, ThrottleState};
use crate::uri::KeyUri;

/// The time (Unix seconds) the suite's engines' clocks start at.
pub const START: u64 = 1_700_000_000;

/// The issuer of the suite's code policy.
pub const ISSUER: &str = "Conformance";

/// Sizes of the concurrent checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Rounds of [`Check::OneAcceptance`], each with a new code (default 50; 20 is plenty
    /// for a SQL store).
    pub rounds: usize,
    /// Concurrent verifications of one code per round (default 64).
    pub concurrency: usize,
    /// Engines sharing the store; tasks are spread over them (default 4).
    pub engines: usize,
    /// Parallel wrong codes in [`Check::ExactFailureCount`], 1 to 99 (default 50).
    pub wrong_codes: usize,
    /// Parallel guesses in [`Check::ThrottleBoundsGuesses`] (default 50).
    pub guesses: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            rounds: 50,
            concurrency: 64,
            engines: 4,
            wrong_codes: 50,
            guesses: 50,
        }
    }
}

impl Config {
    /// Sets [`Config::rounds`].
    #[must_use]
    pub fn with_rounds(mut self, rounds: usize) -> Self {
        self.rounds = rounds;
        self
    }

    /// Sets [`Config::concurrency`].
    #[must_use]
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Sets [`Config::engines`].
    #[must_use]
    pub fn with_engines(mut self, engines: usize) -> Self {
        self.engines = engines;
        self
    }

    /// Sets [`Config::wrong_codes`].
    #[must_use]
    pub fn with_wrong_codes(mut self, wrong_codes: usize) -> Self {
        self.wrong_codes = wrong_codes;
        self
    }

    /// Sets [`Config::guesses`].
    #[must_use]
    pub fn with_guesses(mut self, guesses: usize) -> Self {
        self.guesses = guesses;
        self
    }
}

/// One conformance check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// Load, first write, load back, second write.
    Crud,
    /// Stale and duplicate writes are conflicts that write nothing.
    VersionConflicts,
    /// Every record status loads back exactly as written.
    RecordRoundTrip,
    /// N concurrent verifications of one valid code: exactly one acceptance.
    OneAcceptance,
    /// N parallel wrong codes add exactly N failures.
    ExactFailureCount,
    /// Parallel guesses cannot get past the lock.
    ThrottleBoundsGuesses,
}

impl Check {
    /// Every check, in a sensible order.
    pub const ALL: [Self; 6] = [
        Self::Crud,
        Self::VersionConflicts,
        Self::RecordRoundTrip,
        Self::OneAcceptance,
        Self::ExactFailureCount,
        Self::ThrottleBoundsGuesses,
    ];

    /// The check's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Crud => "crud",
            Self::VersionConflicts => "version_conflicts",
            Self::RecordRoundTrip => "record_round_trip",
            Self::OneAcceptance => "one_acceptance",
            Self::ExactFailureCount => "exact_failure_count",
            Self::ThrottleBoundsGuesses => "throttle_bounds_guesses",
        }
    }

    /// Runs the check against `store`.
    pub async fn run<S: Store + 'static>(
        self,
        store: Arc<S>,
        config: &Config,
    ) -> Result<(), String> {
        let result = match self {
            Self::Crud => crud(&*store).await,
            Self::VersionConflicts => version_conflicts(&*store).await,
            Self::RecordRoundTrip => record_round_trip(&*store).await,
            Self::OneAcceptance => one_acceptance(store, config).await,
            Self::ExactFailureCount => exact_failure_count(store, config).await,
            Self::ThrottleBoundsGuesses => throttle_bounds_guesses(store, config).await,
        };
        result.map_err(|message| {
            format!(
                "store conformance check `{}` failed: {message}",
                self.name()
            )
        })
    }
}

/// Runs every check, each against a fresh store from `new_store`; stops at the first failure.
pub async fn run_all<S, F, Fut>(mut new_store: F, config: &Config) -> Result<(), String>
where
    S: Store + 'static,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<S, StoreError>>,
{
    for check in Check::ALL {
        let store = new_store().await.map_err(|e| {
            format!(
                "store conformance check `{}`: creating the store failed: {e}",
                check.name()
            )
        })?;
        check.run(Arc::new(store), config).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Helpers, public for store authors' own tests (and this crate's cross-process tests).
// ---------------------------------------------------------------------------------------

/// An account id no other check, run or process uses: `prefix`, process id, time and
/// randomness.
pub fn fresh_account(prefix: &str) -> Result<AccountId, String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let random = OsRng
        .try_next_u64()
        .map_err(|e| format!("the OS random number generator failed: {e}"))?;
    AccountId::new(format!(
        "{prefix}-{}-{nanos}-{n}-{random:016x}",
        std::process::id()
    ))
    .map_err(|e| format!("account id: {e}"))
}

/// A random 256-bit sealing key, to build several engines (or processes) that open each
/// other's records with [`KeyRing::new`].
pub fn random_key() -> Result<[u8; 32], String> {
    let mut key = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut key)
        .map_err(|e| format!("the OS random number generator failed: {e}"))?;
    Ok(key)
}

/// An engine over `store` with the suite's code policy ([`ISSUER`], 6 digits, 30 s),
/// `throttle`, the key ring `{1: key}` and `clock`.
pub fn engine<S: Store>(
    store: S,
    key: [u8; 32],
    clock: Arc<ManualClock>,
    throttle: ThrottlePolicy,
) -> Result<Engine<S>, String> {
    let otp = OtpPolicy::new(ISSUER).map_err(|e| format!("policy: {e}"))?;
    let policy = EnginePolicy::new(otp).with_throttle(throttle);
    Ok(Engine::new(store, KeyRing::new(1, key), policy)
        .map_err(|e| format!("engine: {e}"))?
        .with_clock(clock))
}

/// Enrolls `account` as a customer would: begin (after a step-up at `now`), read the
/// secret from the provisioning URI as an authenticator app does, confirm with the app's
/// code. The engine's clock must read `now`. Returns the app's code generator.
pub async fn enroll<S: Store>(
    engine: &Engine<S>,
    account: &AccountId,
    now: u64,
) -> Result<Totp, String> {
    let step_up = StepUp::transaction_password_verified(account, now);
    let provisioning = engine
        .begin(account, account.as_str(), &step_up)
        .await
        .map_err(|e| format!("begin enrollment: {e}"))?;
    let uri = KeyUri::parse(&provisioning.uri()).map_err(|e| format!("provisioning URI: {e}"))?;
    let app = Totp::new(uri.secret(), engine.policy().otp());
    engine
        .confirm(account, &app.code_at(now).to_string())
        .await
        .map_err(|e| format!("confirm enrollment: {e}"))?;
    Ok(app)
}

/// A code of `totp`'s length that no step within [`Window::MAX_STEPS`](crate::Window::MAX_STEPS)
/// of `now` produces: certainly wrong, and never a replay.
pub fn wrong_code(totp: &Totp, now: u64) -> String {
    let width = usize::from(totp.digits().get());
    let step = totp.step_at(now);
    let reach = u64::from(crate::policy::Window::MAX_STEPS);
    let valid: Vec<String> = (step.saturating_sub(reach)..=step.saturating_add(reach))
        .map(|s| totp.code_at_step(s).to_string())
        .collect();
    let modulus = totp.digits().modulus();
    let mut candidate = 0u32;
    loop {
        let text = format!("{candidate:0width$}");
        if !valid.contains(&text) || candidate >= modulus.saturating_sub(1) {
            return text;
        }
        candidate = candidate.saturating_add(1);
    }
}

/// What one engine call answered, for tallies and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `Login::Verified`.
    Verified,
    /// `Login::NotRequired`.
    NotRequired,
    /// `EngineError::Refused(refusal)`.
    Refused(Refusal),
    /// Any other error, as text.
    Error(String),
}

impl From<Result<Login, EngineError>> for Outcome {
    fn from(result: Result<Login, EngineError>) -> Self {
        match result {
            Ok(Login::Verified(_)) => Self::Verified,
            Ok(_) => Self::NotRequired,
            Err(EngineError::Refused(refusal)) => Self::Refused(refusal),
            Err(error) => Self::Error(error.to_string()),
        }
    }
}

/// Runs `tasks` futures made by `make(i)` as tokio tasks released together by a barrier,
/// and returns their outputs (in completion order).
pub async fn race<T, F, Fut>(tasks: usize, make: F) -> Result<Vec<T>, String>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    tokio::runtime::Handle::try_current().map_err(|_| {
        "the concurrent checks spawn tokio tasks: run them inside a tokio runtime \
         (#[tokio::test(flavor = \"multi_thread\")])"
            .to_owned()
    })?;
    let barrier = Arc::new(Barrier::new(tasks));
    let mut set = JoinSet::new();
    for i in 0..tasks {
        let task = make(i);
        let barrier = Arc::clone(&barrier);
        set.spawn(async move {
            barrier.wait().await;
            task.await
        });
    }
    let mut outputs = Vec::with_capacity(tasks);
    while let Some(joined) = set.join_next().await {
        outputs.push(joined.map_err(|e| format!("a concurrent task failed: {e}"))?);
    }
    Ok(outputs)
}

// ---------------------------------------------------------------------------------------
// The checks.
// ---------------------------------------------------------------------------------------

async fn load_record<S: Store>(
    store: &S,
    account: &AccountId,
) -> Result<Option<(u64, EnrollmentRecord)>, String> {
    store
        .load(account)
        .await
        .map(|row| row.map(|v| (v.version, v.record)))
        .map_err(|e| format!("load failed: {e}"))
}

/// Expects the row of `account` to be exactly `(version, record)`.
async fn expect_row<S: Store>(
    store: &S,
    account: &AccountId,
    expected: Option<(u64, &EnrollmentRecord)>,
    context: &str,
) -> Result<(), String> {
    let found = load_record(store, account).await?;
    let matches = match (&found, expected) {
        (None, None) => true,
        (Some((version, record)), Some((v, r))) => *version == v && record == r,
        _ => false,
    };
    if matches {
        return Ok(());
    }
    let found = found.map(|(version, record)| format!("version {version}, {record:?}"));
    let expected = expected.map(|(version, record)| format!("version {version}, {record:?}"));
    Err(format!(
        "{context}: expected {expected:?}, loaded {found:?}"
    ))
}

async fn write<S: Store>(
    store: &S,
    account: &AccountId,
    expected: Option<u64>,
    record: &EnrollmentRecord,
    context: &str,
) -> Result<u64, String> {
    store
        .replace_if(account, expected, record)
        .await
        .map_err(|e| format!("{context}: replace_if(expected {expected:?}) failed: {e}"))
}

async fn expect_conflict<S: Store>(
    store: &S,
    account: &AccountId,
    expected: Option<u64>,
    record: &EnrollmentRecord,
    context: &str,
) -> Result<(), String> {
    match store.replace_if(account, expected, record).await {
        Err(StoreError::Conflict) => Ok(()),
        Ok(version) => Err(format!(
            "{context}: replace_if(expected {expected:?}) wrote version {version}; expected StoreError::Conflict"
        )),
        Err(error) => Err(format!(
            "{context}: replace_if(expected {expected:?}) failed with `{error}`; expected StoreError::Conflict"
        )),
    }
}

/// Records of every status and shape, sealed for `account`.
fn sample_records(account: &AccountId) -> Result<Vec<(&'static str, EnrollmentRecord)>, String> {
    let keys = KeyRing::new(7, random_key()?);
    let seal = |len: usize| -> Result<_, String> {
        let mut bytes = vec![0u8; len];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| format!("random: {e}"))?;
        let secret = Secret::from_bytes_legacy(&bytes).map_err(|e| format!("secret: {e}"))?;
        keys.seal(&secret, account)
            .map_err(|e| format!("seal: {e}"))
    };
    let params = |algorithm: Algorithm, digits: u32, period: u64| -> Result<OtpParams, String> {
        let policy = OtpPolicy::builder(ISSUER)
            .algorithm(algorithm)
            .digits(digits)
            .period(period)
            .build()
            .map_err(|e| format!("policy: {e}"))?;
        Ok(OtpParams::from_policy(&policy))
    };
    let long_label = "顧".repeat(KeyUri::MAX_ACCOUNT_BYTES / 3);
    let throttled = ThrottleState {
        failures: 4,
        locked: false,
        backoff_until: START.saturating_add(60),
    };
    let locked = ThrottleState {
        failures: u32::MAX,
        locked: true,
        backoff_until: u64::MAX,
    };
    Ok(vec![
        ("not registered", EnrollmentRecord::not_registered()),
        (
            "not registered, throttled",
            EnrollmentRecord {
                status: RecordStatus::NotRegistered,
                throttle: throttled,
                integrity: Integrity::Unsigned,
            },
        ),
        (
            "pending",
            EnrollmentRecord {
                status: RecordStatus::Pending {
                    secret: seal(Secret::DEFAULT_BYTES)?,
                    params: params(Algorithm::Sha1, 6, 30)?,
                    label: "北洋証券オンラインサービス 顧客42".to_owned(),
                    started_at: START,
                    expires_at: START.saturating_add(600),
                },
                throttle: ThrottleState::default(),
                integrity: Integrity::Unsigned,
            },
        ),
        (
            "pending, SHA-512, 8 digits, longest secret and label, extreme times",
            EnrollmentRecord {
                status: RecordStatus::Pending {
                    secret: seal(Secret::MAX_BYTES)?,
                    params: params(Algorithm::Sha512, 8, u64::from(OtpPolicy::MAX_PERIOD))?,
                    label: long_label.clone(),
                    started_at: 0,
                    expires_at: u64::MAX,
                },
                throttle: throttled,
                integrity: Integrity::Unsigned,
            },
        ),
        (
            "active",
            EnrollmentRecord {
                status: RecordStatus::Active {
                    secret: seal(Secret::DEFAULT_BYTES)?,
                    params: params(Algorithm::Sha1, 6, 30)?,
                    label: "customer-42".to_owned(),
                    since: START,
                    last_used_step: START / 30,
                },
                throttle: ThrottleState::default(),
                integrity: Integrity::Unsigned,
            },
        ),
        (
            "active, SHA-256, 7 digits, shortest secret, throttled",
            EnrollmentRecord {
                status: RecordStatus::Active {
                    secret: seal(Secret::LEGACY_MIN_BYTES)?,
                    params: params(Algorithm::Sha256, 7, u64::from(OtpPolicy::MIN_PERIOD))?,
                    label: String::new(),
                    since: 1,
                    last_used_step: 0,
                },
                throttle: throttled,
                integrity: Integrity::Unsigned,
            },
        ),
        (
            "active, locked, largest counters and step",
            EnrollmentRecord {
                status: RecordStatus::Active {
                    secret: seal(Secret::MAX_BYTES)?,
                    params: params(Algorithm::Sha512, 8, 60)?,
                    label: long_label,
                    since: u64::MAX,
                    last_used_step: u64::MAX,
                },
                throttle: locked,
                integrity: Integrity::Unsigned,
            },
        ),
    ])
}

/// Load of a missing row, first write, load back, second write, isolation of accounts.
async fn crud<S: Store>(store: &S) -> Result<(), String> {
    let account = fresh_account("crud")?;
    let other = fresh_account("crud-other")?;
    let samples = sample_records(&account)?;
    let (Some((_, first)), Some((_, second))) = (samples.get(2), samples.get(4)) else {
        return Err("internal: too few sample records".to_owned());
    };
    expect_row(store, &account, None, "load before any write").await?;
    let v1 = write(store, &account, None, first, "first write").await?;
    if v1 != 1 {
        return Err(format!(
            "the first write returned version {v1}; versions start at 1"
        ));
    }
    expect_row(
        store,
        &account,
        Some((1, first)),
        "load after the first write",
    )
    .await?;
    let v2 = write(store, &account, Some(1), second, "second write").await?;
    if v2 != 2 {
        return Err(format!(
            "the second write returned version {v2}; expected 2"
        ));
    }
    expect_row(
        store,
        &account,
        Some((2, second)),
        "load after the second write",
    )
    .await?;
    let v3 = write(store, &account, Some(2), first, "third write").await?;
    if v3 != 3 {
        return Err(format!("the third write returned version {v3}; expected 3"));
    }
    expect_row(
        store,
        &account,
        Some((3, first)),
        "load after the third write",
    )
    .await?;
    expect_row(
        store,
        &other,
        None,
        "another account after writes to the first",
    )
    .await?;
    write(
        store,
        &other,
        None,
        second,
        "first write of another account",
    )
    .await?;
    expect_row(store, &other, Some((1, second)), "the other account").await?;
    expect_row(
        store,
        &account,
        Some((3, first)),
        "the first account after the other's write",
    )
    .await
}

/// Stale, future and missing versions and a repeated first write are conflicts that write
/// nothing.
async fn version_conflicts<S: Store>(store: &S) -> Result<(), String> {
    let account = fresh_account("conflicts")?;
    let samples = sample_records(&account)?;
    let (Some((_, a)), Some((_, b)), Some((_, c))) =
        (samples.get(2), samples.get(4), samples.get(6))
    else {
        return Err("internal: too few sample records".to_owned());
    };
    expect_conflict(
        store,
        &account,
        Some(1),
        a,
        "a conditional write to a missing row",
    )
    .await?;
    expect_row(
        store,
        &account,
        None,
        "after a conditional write to a missing row",
    )
    .await?;
    write(store, &account, None, a, "first write").await?;
    expect_conflict(
        store,
        &account,
        None,
        b,
        "a second first write (insert twice)",
    )
    .await?;
    expect_row(store, &account, Some((1, a)), "after inserting twice").await?;
    write(store, &account, Some(1), b, "write at version 1").await?;
    expect_conflict(
        store,
        &account,
        Some(1),
        c,
        "a write with the stale version 1",
    )
    .await?;
    expect_row(store, &account, Some((2, b)), "after a stale write").await?;
    expect_conflict(
        store,
        &account,
        Some(3),
        c,
        "a write with the future version 3",
    )
    .await?;
    expect_conflict(
        store,
        &account,
        Some(u64::MAX),
        c,
        "a write with version u64::MAX",
    )
    .await?;
    expect_conflict(
        store,
        &account,
        None,
        c,
        "a first write over an existing row",
    )
    .await?;
    expect_row(
        store,
        &account,
        Some((2, b)),
        "after future and repeated writes",
    )
    .await?;
    let v3 = write(store, &account, Some(2), c, "write at the current version").await?;
    if v3 != 3 {
        return Err(format!(
            "the write after conflicts returned version {v3}; expected 3"
        ));
    }
    expect_row(
        store,
        &account,
        Some((3, c)),
        "after the write at the current version",
    )
    .await
}

/// Every record shape loads back as written, as a first write and as an update.
async fn record_round_trip<S: Store>(store: &S) -> Result<(), String> {
    let chain = fresh_account("round-trip")?;
    let samples = sample_records(&chain)?;
    let mut version = None;
    for (name, record) in &samples {
        let decoded = EnrollmentRecord::decode(&record.encode());
        if decoded.as_ref() != Ok(record) {
            return Err(format!(
                "internal: sample `{name}` does not survive encode/decode: {decoded:?}"
            ));
        }
        let written = write(store, &chain, version, record, name).await?;
        expect_row(
            store,
            &chain,
            Some((written, record)),
            &format!("`{name}` as an update"),
        )
        .await?;
        version = Some(written);
    }
    for (name, record) in &samples {
        let account = fresh_account("round-trip-one")?;
        let written = write(store, &account, None, record, name).await?;
        expect_row(
            store,
            &account,
            Some((written, record)),
            &format!("`{name}` as a first write"),
        )
        .await?;
    }
    Ok(())
}

/// The engines of one check: `count` engines over one store, one key, one clock.
struct Rig<S> {
    engines: Vec<Arc<Engine<Arc<S>>>>,
    clock: Arc<ManualClock>,
}

impl<S: Store + 'static> Rig<S> {
    fn new(store: &Arc<S>, count: usize, throttle: ThrottlePolicy) -> Result<Self, String> {
        let clock = Arc::new(ManualClock::new(to_clock(START)?));
        let key = random_key()?;
        let engines = (0..count.max(1))
            .map(|_| engine(Arc::clone(store), key, Arc::clone(&clock), throttle).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { engines, clock })
    }

    fn engine(&self, i: usize) -> Result<Arc<Engine<Arc<S>>>, String> {
        let count = self.engines.len().max(1);
        self.engines
            .get(i.checked_rem(count).unwrap_or(0))
            .cloned()
            .ok_or_else(|| "internal: no engine".to_owned())
    }

    fn set_time(&self, now: u64) -> Result<(), String> {
        self.clock.set(to_clock(now)?);
        Ok(())
    }

    /// `tasks` concurrent `verify_login(account, code)` spread over the engines.
    async fn verify_all(
        &self,
        tasks: usize,
        account: &AccountId,
        code: &str,
    ) -> Result<Vec<Outcome>, String> {
        let engines = (0..tasks)
            .map(|i| self.engine(i))
            .collect::<Result<Vec<_>, _>>()?;
        race(tasks, |i| {
            let engine = engines.get(i).cloned();
            let account = account.clone();
            let code = code.to_owned();
            async move {
                match engine {
                    Some(engine) => Outcome::from(engine.verify_login(&account, &code).await),
                    None => Outcome::Error("internal: no engine for this task".to_owned()),
                }
            }
        })
        .await
    }
}

fn to_clock(now: u64) -> Result<i64, String> {
    i64::try_from(now).map_err(|_| format!("time {now} does not fit the manual clock"))
}

fn count(outcomes: &[Outcome], wanted: impl Fn(&Outcome) -> bool) -> usize {
    outcomes.iter().filter(|o| wanted(o)).count()
}

/// N concurrent verifications of one valid code accept exactly one, every round.
async fn one_acceptance<S: Store + 'static>(store: Arc<S>, config: &Config) -> Result<(), String> {
    if config.concurrency == 0 || config.rounds == 0 {
        return Err("Config::concurrency and Config::rounds must be positive".to_owned());
    }
    let rig = Rig::new(&store, config.engines, ThrottlePolicy::default())?;
    let account = fresh_account("one-acceptance")?;
    let totp = enroll(&*rig.engine(0)?, &account, START).await?;
    let period = u64::from(totp.period());
    for round in 1..=config.rounds {
        let offset = u64::try_from(round)
            .ok()
            .and_then(|r| r.checked_mul(period))
            .ok_or("round number overflow")?;
        let now = START.checked_add(offset).ok_or("time overflow")?;
        rig.set_time(now)?;
        let code = totp.code_at(now).to_string();
        let outcomes = rig.verify_all(config.concurrency, &account, &code).await?;
        let accepted = count(&outcomes, |o| *o == Outcome::Verified);
        let replayed = count(&outcomes, |o| *o == Outcome::Refused(Refusal::Replayed));
        let others: Vec<_> = outcomes
            .iter()
            .filter(|o| **o != Outcome::Verified && **o != Outcome::Refused(Refusal::Replayed))
            .collect();
        if accepted != 1 || !others.is_empty() {
            return Err(format!(
                "round {round}: {accepted} of {} concurrent verifications of one valid code were \
                 accepted (expected exactly 1); {replayed} refused as replayed; other outcomes: {others:?}",
                config.concurrency
            ));
        }
        let stored = load_record(&*store, &account)
            .await?
            .map(|(_, r)| r.last_used_step());
        let step = totp.step_at(now);
        if stored != Some(Some(step)) {
            return Err(format!(
                "round {round}: after the acceptance the stored last used step is {stored:?}, expected {step}"
            ));
        }
    }
    Ok(())
}

/// N parallel wrong codes under a throttle that never backs off add exactly N failures.
async fn exact_failure_count<S: Store + 'static>(
    store: Arc<S>,
    config: &Config,
) -> Result<(), String> {
    let n = config.wrong_codes;
    let throttle = ThrottlePolicy::new(100, 1, 1, 100).map_err(|e| format!("throttle: {e}"))?;
    if n == 0 || n >= 100 {
        return Err(format!(
            "Config::wrong_codes must be 1 to 99 (the lock is at 100), not {n}"
        ));
    }
    let rig = Rig::new(&store, config.engines, throttle)?;
    let account = fresh_account("failure-count")?;
    let totp = enroll(&*rig.engine(0)?, &account, START).await?;
    let now = START.saturating_add(u64::from(totp.period()));
    rig.set_time(now)?;
    let outcomes = rig.verify_all(n, &account, &wrong_code(&totp, now)).await?;
    let wrong = count(&outcomes, |o| *o == Outcome::Refused(Refusal::WrongCode));
    if wrong != n {
        let others: Vec<_> = outcomes
            .iter()
            .filter(|o| **o != Outcome::Refused(Refusal::WrongCode))
            .collect();
        let hint = if others
            .iter()
            .any(|o| matches!(o, Outcome::Error(e) if e.contains("integrity check")))
        {
            "; integrity check failures mean the store kept a record under another version \
             than `replace_if` reported (versions start at 1 and grow by one per write)"
        } else {
            ""
        };
        return Err(format!(
            "{wrong} of {n} parallel wrong codes were refused as wrong (each must be, and be \
             counted among the failures); other outcomes: {others:?}{hint}"
        ));
    }
    let Some((_, record)) = load_record(&*store, &account).await? else {
        return Err("the enrollment disappeared".to_owned());
    };
    let failures = record.throttle().failures();
    if usize::try_from(failures).ok() != Some(n) || record.throttle().is_locked() {
        return Err(format!(
            "{n} parallel wrong codes left {failures} failures recorded (locked: {}); expected exactly {n} \
             (a lost update lets an attacker guess without being counted)",
            record.throttle().is_locked()
        ));
    }
    Ok(())
}

/// With a lock after 5 failures, parallel guesses get at most 5 wrong-code answers; every
/// other guess is throttled or locked, and the enrollment ends locked.
async fn throttle_bounds_guesses<S: Store + 'static>(
    store: Arc<S>,
    config: &Config,
) -> Result<(), String> {
    const LOCK_AFTER: u32 = 5;
    let n = config.guesses;
    let throttle = ThrottlePolicy::new(LOCK_AFTER, 30, 900, LOCK_AFTER)
        .map_err(|e| format!("throttle: {e}"))?;
    let rig = Rig::new(&store, config.engines, throttle)?;
    let account = fresh_account("guesses")?;
    let totp = enroll(&*rig.engine(0)?, &account, START).await?;
    let now = START.saturating_add(u64::from(totp.period()));
    rig.set_time(now)?;
    let outcomes = rig.verify_all(n, &account, &wrong_code(&totp, now)).await?;
    let wrong = count(&outcomes, |o| *o == Outcome::Refused(Refusal::WrongCode));
    let blocked = count(&outcomes, |o| {
        matches!(
            o,
            Outcome::Refused(Refusal::Locked | Refusal::Throttled { .. })
        )
    });
    let limit = usize::try_from(LOCK_AFTER).unwrap_or(usize::MAX);
    if wrong > limit || wrong.saturating_add(blocked) != n {
        let others: Vec<_> = outcomes
            .iter()
            .filter(|o| {
                !matches!(
                    o,
                    Outcome::Refused(
                        Refusal::WrongCode | Refusal::Locked | Refusal::Throttled { .. }
                    )
                )
            })
            .collect();
        return Err(format!(
            "{n} parallel guesses: {wrong} refused as wrong (at most {LOCK_AFTER} allowed), {blocked} \
             throttled or locked; other outcomes: {others:?}"
        ));
    }
    let Some((_, record)) = load_record(&*store, &account).await? else {
        return Err("the enrollment disappeared".to_owned());
    };
    let failures = record.throttle().failures();
    if usize::try_from(failures).ok() != Some(wrong) {
        return Err(format!(
            "{wrong} guesses were answered `wrong code` but {failures} failures are recorded"
        ));
    }
    if n >= limit && !record.throttle().is_locked() {
        return Err(format!(
            "{n} wrong guesses did not lock the enrollment ({failures} failures)"
        ));
    }
    if n >= limit {
        let valid = totp.code_at(now).to_string();
        let outcome = Outcome::from(rig.engine(0)?.verify_login(&account, &valid).await);
        if outcome != Outcome::Refused(Refusal::Locked) {
            return Err(format!(
                "after the lock a valid code got {outcome:?}; expected Locked"
            ));
        }
    }
    Ok(())
}
