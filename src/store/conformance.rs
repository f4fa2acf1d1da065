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
//! * [`Check::Tombstones`]: [`Store::forget`] at the current version leaves a tombstone at
//!   the next version: [`Store::load`] gives `None`, [`Store::version`] the tombstone's
//!   version, [`Store::list`] skips it (even as the first row of a one-row page); a first
//!   write, a write with a version from before the erasure and a future version are
//!   conflicts, a write at the tombstone's version enrolls again (at the next version);
//!   stale and future forgets, a forget of a missing row and a [`Store::reinstate`] of a
//!   row not at the largest version are conflicts.
//! * [`Check::Listing`]: 32 accounts under one fresh prefix, some written twice, some
//!   erased, three erased and enrolled again, with ids whose byte order differs from a
//!   collation's, UTF-16's and numeric order (`A`, `a`, `a b`, `a_b`, `é`, `口座-日本`,
//!   `ｱ`, `😀`, `n10` …), paged with limit 7 (`after` = the last id of the previous page)
//!   while two of them are written: every live account exactly once, in byte order of the
//!   id, with its current version and record; erased ones never; a page after an erased id
//!   starts at the next live one; limit 0 lists nothing.
//! * [`Check::OutboxAtomicity`]: a successful [`Store::replace_if`] appends its events to
//!   the outbox in slice order, with increasing ids, tagged with the account; a conflicting
//!   one (second first write, stale or future version), a stale [`Store::forget`] and a
//!   refused [`Store::reinstate`] append none of theirs and write no record;
//!   [`Store::append_events`] (also for an account without a row) and [`Store::forget`]
//!   append all of theirs; empty, every-byte-value and 64 KiB events round-trip exactly.
//! * [`Check::OutboxDelivery`]: two accounts' interleaved writes and appends come out in
//!   each account's write order; [`Store::pending_events`] with small limits returns at most
//!   the limit, in increasing id order, the oldest first (none of the check's events older
//!   than the newest returned is left out); [`Store::acknowledge`] removes exactly the given
//!   ids (unknown ids, no ids and acknowledging twice are fine) and every other event is
//!   returned again with its id, bytes and account (at least once); ids are never reused.
//! * [`Check::ConcurrentWrites`]: writers racing on one row with [`Store::replace_if`],
//!   each write carrying two events, round after round: exactly one wins each round, and
//!   the outbox holds exactly the winner's events, in order (a losing write leaves none).
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
//! ids ([`fresh_account`]), so one database may be shared by many checks and runs. The
//! outbox checks therefore read only their own accounts' events (asking
//! [`Store::pending_events`] for ever larger limits past other checks' events) and
//! acknowledge only those; they acknowledge theirs when they pass.
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
use crate::authenticator::Authenticator;
use crate::clock::ManualClock;
use crate::engine::{Engine, EnginePolicy, Login};
use crate::error::{EngineError, Refusal, StoreError};
use crate::otp::Totp;
use crate::policy::{Algorithm, OtpPolicy};
use crate::record::{Enrollment, OtpParams, RecordStatus, RecoveryHashes};
use crate::seal::{KeyRing, SealedSecret};
use crate::secret::Secret;
use crate::store::{Listed, OutboxEntry, Store};
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
    /// Erasure leaves a tombstone whose version every later write needs.
    Tombstones,
    /// Paging through accounts visits each live one once, in byte order of the id.
    Listing,
    /// A write's events are in the outbox if and only if the write succeeded, in order.
    OutboxAtomicity,
    /// Pending events oldest first; acknowledge removes exactly the given ids.
    OutboxDelivery,
    /// Racing writers on one row: one wins per round, and only its events are written.
    ConcurrentWrites,
    /// N concurrent verifications of one valid code: exactly one acceptance.
    OneAcceptance,
    /// N parallel wrong codes add exactly N failures.
    ExactFailureCount,
    /// Parallel guesses cannot get past the lock.
    ThrottleBoundsGuesses,
}

impl Check {
    /// Every check, in a sensible order.
    pub const ALL: [Self; 11] = [
        Self::Crud,
        Self::VersionConflicts,
        Self::RecordRoundTrip,
        Self::Tombstones,
        Self::Listing,
        Self::OutboxAtomicity,
        Self::OutboxDelivery,
        Self::ConcurrentWrites,
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
            Self::Tombstones => "tombstones",
            Self::Listing => "listing",
            Self::OutboxAtomicity => "outbox_atomicity",
            Self::OutboxDelivery => "outbox_delivery",
            Self::ConcurrentWrites => "concurrent_writes",
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
            Self::Tombstones => tombstones(&*store).await,
            Self::Listing => listing(&*store).await,
            Self::OutboxAtomicity => outbox_atomicity(&*store).await,
            Self::OutboxDelivery => outbox_delivery(&*store).await,
            Self::ConcurrentWrites => concurrent_writes(store, config).await,
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
    // Held records on: the concurrent checks then race engines that decide from their own
    // last write and write directly, the path a portal tuned for one round trip takes.
    let policy = EnginePolicy::new(otp)
        .with_throttle(throttle)
        .with_held_records(true);
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
    /// `Login::RecoveryCode`: a recovery code was accepted.
    Recovered,
    /// `EngineError::Refused(refusal)`.
    Refused(Refusal),
    /// Any other error, as text.
    Error(String),
}

impl From<Result<Login, EngineError>> for Outcome {
    fn from(result: Result<Login, EngineError>) -> Self {
        match result {
            Ok(Login::Verified(_)) => Self::Verified,
            Ok(Login::RecoveryCode { .. }) => Self::Recovered,
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
) -> Result<Option<(u64, Enrollment)>, String> {
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
    expected: Option<(u64, &Enrollment)>,
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
    record: &Enrollment,
    context: &str,
) -> Result<u64, String> {
    write_with(store, account, expected, record, &[], context).await
}

/// [`write`] with outbox events.
async fn write_with<S: Store>(
    store: &S,
    account: &AccountId,
    expected: Option<u64>,
    record: &Enrollment,
    events: &[Vec<u8>],
    context: &str,
) -> Result<u64, String> {
    store
        .replace_if(account, expected, record, events)
        .await
        .map_err(|e| {
            format!(
                "{context}: replace_if(expected {expected:?}, {} events) failed: {e}",
                events.len()
            )
        })
}

async fn expect_conflict<S: Store>(
    store: &S,
    account: &AccountId,
    expected: Option<u64>,
    record: &Enrollment,
    context: &str,
) -> Result<(), String> {
    expect_conflict_with(store, account, expected, record, &[], context).await
}

/// [`expect_conflict`] for a write with outbox events.
async fn expect_conflict_with<S: Store>(
    store: &S,
    account: &AccountId,
    expected: Option<u64>,
    record: &Enrollment,
    events: &[Vec<u8>],
    context: &str,
) -> Result<(), String> {
    conflict(
        store.replace_if(account, expected, record, events).await,
        &format!("{context}: replace_if(expected {expected:?})"),
    )
}

/// Expects a write's `result` to be [`StoreError::Conflict`]; `what` names the call.
fn conflict<T: core::fmt::Debug>(result: Result<T, StoreError>, what: &str) -> Result<(), String> {
    match result {
        Err(StoreError::Conflict) => Ok(()),
        Ok(written) => Err(format!(
            "{what} succeeded ({written:?}); expected StoreError::Conflict"
        )),
        Err(error) => Err(format!(
            "{what} failed with `{error}`; expected StoreError::Conflict"
        )),
    }
}

/// Records of every status and shape, sealed for `account`.
fn sample_records(account: &AccountId) -> Result<Vec<(&'static str, Enrollment)>, String> {
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
        ("not registered", Enrollment::not_registered()),
        (
            "not registered, throttled",
            Enrollment {
                status: RecordStatus::NotRegistered,
                throttle: throttled,
                ..Enrollment::not_registered()
            },
        ),
        (
            "pending",
            Enrollment {
                status: RecordStatus::Pending {
                    secret: seal(Secret::DEFAULT_BYTES)?,
                    params: params(Algorithm::Sha1, 6, 30)?,
                    label: "北洋証券オンラインサービス 顧客42".to_owned(),
                    started_at: START,
                    expires_at: START.saturating_add(600),
                },
                throttle: ThrottleState::default(),
                ..Enrollment::not_registered()
            },
        ),
        (
            "pending, SHA-512, 8 digits, longest secret and label, extreme times",
            Enrollment {
                status: RecordStatus::Pending {
                    secret: seal(Secret::MAX_BYTES)?,
                    params: params(Algorithm::Sha512, 8, u64::from(OtpPolicy::MAX_PERIOD))?,
                    label: long_label.clone(),
                    started_at: 0,
                    expires_at: u64::MAX,
                },
                throttle: throttled,
                ..Enrollment::not_registered()
            },
        ),
        (
            "active",
            active(
                vec![one(
                    1,
                    seal(Secret::DEFAULT_BYTES)?,
                    params(Algorithm::Sha1, 6, 30)?,
                    "customer-42",
                    START / 30,
                )],
                ThrottleState::default(),
            ),
        ),
        (
            "active, SHA-256, 7 digits, shortest secret, throttled",
            active(
                vec![one(
                    1,
                    seal(Secret::LEGACY_MIN_BYTES)?,
                    params(Algorithm::Sha256, 7, u64::from(OtpPolicy::MIN_PERIOD))?,
                    "",
                    0,
                )],
                throttled,
            ),
        ),
        (
            "active, locked, largest counters and step",
            active(
                vec![one(
                    1,
                    seal(Secret::MAX_BYTES)?,
                    params(Algorithm::Sha512, 8, 60)?,
                    &long_label,
                    u64::MAX,
                )],
                locked,
            ),
        ),
        (
            "active, five authenticators (one pending, named, drifted) and the most recovery codes",
            Enrollment {
                status: RecordStatus::Active {
                    since: START,
                    authenticators: vec![
                        one(
                            1,
                            seal(Secret::DEFAULT_BYTES)?,
                            params(Algorithm::Sha1, 6, 30)?,
                            "customer-42",
                            START / 30,
                        ),
                        Authenticator {
                            name: "iPad".to_owned(),
                            drift: -3,
                            last_used_at: Some(START),
                            ..one(
                                2,
                                seal(Secret::DEFAULT_BYTES)?,
                                params(Algorithm::Sha1, 6, 30)?,
                                "customer-42",
                                START / 30 + 1,
                            )
                        },
                        Authenticator {
                            name: "仕事用スマートフォン".to_owned(),
                            drift: i32::MAX,
                            ..one(
                                4,
                                seal(Secret::MAX_BYTES)?,
                                params(Algorithm::Sha256, 8, 60)?,
                                "customer-42",
                                u64::MAX,
                            )
                        },
                        one(
                            7,
                            seal(Secret::DEFAULT_BYTES)?,
                            params(Algorithm::Sha1, 6, 30)?,
                            "customer-42",
                            1,
                        ),
                        Authenticator {
                            name: "Android".to_owned(),
                            last_used_step: 0,
                            pending_until: Some(START.saturating_add(600)),
                            ..one(
                                255,
                                seal(Secret::DEFAULT_BYTES)?,
                                params(Algorithm::Sha1, 6, 30)?,
                                "customer-42",
                                0,
                            )
                        },
                    ],
                },
                recovery: RecoveryHashes {
                    key_id: 7,
                    issued_at: START,
                    hashes: (0..16u8).map(|i| [i; 32]).collect(),
                },
                ..Enrollment::not_registered()
            },
        ),
    ])
}

/// A confirmed authenticator for the sample records.
fn one(
    id: u8,
    secret: SealedSecret,
    params: OtpParams,
    label: &str,
    last_used_step: u64,
) -> Authenticator {
    Authenticator {
        id,
        name: String::new(),
        secret,
        params,
        label: label.to_owned(),
        created_at: START,
        last_used_at: None,
        last_used_step,
        drift: 0,
        pending_until: None,
    }
}

/// An active sample record with `authenticators`.
fn active(authenticators: Vec<Authenticator>, throttle: ThrottleState) -> Enrollment {
    Enrollment {
        status: RecordStatus::Active {
            since: START,
            authenticators,
        },
        throttle,
        ..Enrollment::not_registered()
    }
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
        let decoded = Enrollment::decode(&record.encode());
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

// ---------------------------------------------------------------------------------------
// Tombstones, listing and the outbox.
// ---------------------------------------------------------------------------------------

/// The version after `version`, as a message on overflow.
fn next(version: u64) -> Result<u64, String> {
    version
        .checked_add(1)
        .ok_or_else(|| format!("internal: version {version} overflows"))
}

/// A random number unique to one check, to mark its events.
fn nonce() -> Result<u64, String> {
    OsRng
        .try_next_u64()
        .map_err(|e| format!("the OS random number generator failed: {e}"))
}

/// `len` random bytes.
fn random_bytes(len: usize) -> Result<Vec<u8>, String> {
    let mut bytes = vec![0u8; len];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| format!("the OS random number generator failed: {e}"))?;
    Ok(bytes)
}

/// The bytes of a check's event: no other event in any store has them.
fn event(nonce: u64, tag: &str, index: usize) -> Vec<u8> {
    format!("conformance event {nonce:016x} {tag} {index}").into_bytes()
}

/// `count` events tagged `tag`.
fn events(nonce: u64, tag: &str, count: usize) -> Vec<Vec<u8>> {
    (0..count).map(|index| event(nonce, tag, index)).collect()
}

/// An event's bytes for a message: their length and a readable start.
fn describe(bytes: &[u8]) -> String {
    let start = bytes.get(..48).unwrap_or(bytes);
    format!("{} bytes {:?}", bytes.len(), String::from_utf8_lossy(start))
}

/// An account id `prefix/suffix`: every id made from one fresh prefix sorts right after
/// the prefix, before any id that does not start with it.
fn child_id(prefix: &AccountId, suffix: &str) -> Result<AccountId, String> {
    AccountId::new(format!("{}/{suffix}", prefix.as_str()))
        .map_err(|e| format!("internal: account id `{}/{suffix}`: {e}", prefix.as_str()))
}

/// Whether `account` is one of the ids made by [`child_id`] from `prefix`.
fn is_child(prefix: &AccountId, account: &AccountId) -> bool {
    account
        .as_str()
        .strip_prefix(prefix.as_str())
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The largest `pending_events` limit [`own_pending`] asks for before giving up.
const MAX_OUTBOX_SCAN: usize = 1 << 22;

/// Checks one `pending_events(limit)` answer: at most `limit` events, in strictly
/// increasing id order.
fn check_outbox_page(page: &[OutboxEntry], limit: usize, context: &str) -> Result<(), String> {
    if page.len() > limit {
        return Err(format!(
            "{context}: pending_events({limit}) returned {} events",
            page.len()
        ));
    }
    for pair in page.windows(2) {
        if let [first, second] = pair
            && first.id >= second.id
        {
            return Err(format!(
                "{context}: pending_events({limit}) returned id {} before id {}; events come \
                 in increasing id order, each id once",
                first.id, second.id
            ));
        }
    }
    Ok(())
}

/// [`Check::ConcurrentWrites`]: `config.concurrency` (at most 16) writers race on one
/// fresh row for `config.rounds` (at most 20) rounds; each write carries two events naming
/// its round and writer.
async fn concurrent_writes<S: Store + 'static>(
    store: Arc<S>,
    config: &Config,
) -> Result<(), String> {
    let account = fresh_account("concurrent-writes")?;
    let record = Enrollment::not_registered();
    let writers = config.concurrency.clamp(2, 16);
    let mut version = None;
    for round in 0..config.rounds.clamp(1, 20) {
        let outcomes = race(writers, |writer| {
            let (store, account, record) = (Arc::clone(&store), account.clone(), record.clone());
            async move {
                let events = [
                    format!("{round}-{writer}-first").into_bytes(),
                    format!("{round}-{writer}-second").into_bytes(),
                ];
                (
                    writer,
                    store.replace_if(&account, version, &record, &events).await,
                )
            }
        })
        .await?;
        let mut winners = Vec::new();
        for (writer, outcome) in outcomes {
            match outcome {
                Ok(written) => winners.push((writer, written)),
                Err(StoreError::Conflict) => {}
                Err(error) => {
                    return Err(format!("round {round}: writer {writer} failed: {error}"));
                }
            }
        }
        let [(winner, written)] = winners[..] else {
            return Err(format!(
                "round {round}: {} of {writers} writes at version {version:?} succeeded;                  exactly one must",
                winners.len()
            ));
        };
        let expected: Vec<(AccountId, Vec<u8>)> = ["first", "second"]
            .iter()
            .map(|n| {
                (
                    account.clone(),
                    format!("{round}-{winner}-{n}").into_bytes(),
                )
            })
            .collect();
        let newest = expected
            .last()
            .map(|(_, b)| b.clone())
            .into_iter()
            .collect::<Vec<_>>();
        let context = format!("round {round}");
        let found =
            own_pending(&*store, core::slice::from_ref(&account), &newest, &context).await?;
        expect_events(&found, &expected, &context)?;
        let ids: Vec<u64> = found.iter().map(|entry| entry.id).collect();
        store
            .acknowledge(&ids)
            .await
            .map_err(|e| format!("{context}: acknowledge failed: {e}"))?;
        version = Some(written);
    }
    Ok(())
}

/// The pending events of `accounts`, oldest first. The outbox may hold any number of other
/// checks' events (a store shared by many checks and runs), so this asks
/// `pending_events` for a limit that doubles from 256 until the answer is not full (the
/// whole outbox was read) or holds every event of `newest` (bytes of the last event
/// written for each account: ids grow with each account's writes, so all older ones of
/// that account are in that answer too).
async fn own_pending<S: Store>(
    store: &S,
    accounts: &[AccountId],
    newest: &[Vec<u8>],
    context: &str,
) -> Result<Vec<OutboxEntry>, String> {
    let mut limit: usize = 256;
    loop {
        let page = store
            .pending_events(limit)
            .await
            .map_err(|e| format!("{context}: pending_events({limit}) failed: {e}"))?;
        check_outbox_page(&page, limit, context)?;
        let full = page.len() >= limit;
        let own: Vec<OutboxEntry> = page
            .into_iter()
            .filter(|entry| accounts.contains(&entry.account))
            .collect();
        let complete = !newest.is_empty()
            && newest
                .iter()
                .all(|bytes| own.iter().any(|entry| entry.bytes == *bytes));
        if !full || complete {
            return Ok(own);
        }
        limit = limit
            .checked_mul(2)
            .filter(|l| *l <= MAX_OUTBOX_SCAN)
            .ok_or_else(|| {
                format!(
                    "{context}: the outbox holds more than {MAX_OUTBOX_SCAN} pending events \
                     and this check's newest are not among them"
                )
            })?;
    }
}

/// Expects the pending events `found` (in id order) to be exactly `expected` (account and
/// bytes, in write order) for each account: every event of a successful write, in the
/// order written, tagged with its account, and nothing else.
fn expect_events(
    found: &[OutboxEntry],
    expected: &[(AccountId, Vec<u8>)],
    context: &str,
) -> Result<(), String> {
    let mut accounts: Vec<&AccountId> = expected.iter().map(|(account, _)| account).collect();
    accounts.extend(found.iter().map(|entry| &entry.account));
    accounts.sort_unstable();
    accounts.dedup();
    for account in accounts {
        let wanted: Vec<&[u8]> = expected
            .iter()
            .filter(|(a, _)| a == account)
            .map(|(_, bytes)| bytes.as_slice())
            .collect();
        let got: Vec<(u64, &[u8])> = found
            .iter()
            .filter(|entry| &entry.account == account)
            .map(|entry| (entry.id, entry.bytes.as_slice()))
            .collect();
        let position = wanted
            .iter()
            .zip(&got)
            .position(|(w, (_, g))| w != g)
            .unwrap_or_else(|| wanted.len().min(got.len()));
        if wanted.len() == got.len() && position == wanted.len() {
            continue;
        }
        let wanted_at = wanted
            .get(position)
            .map_or_else(|| "nothing".to_owned(), |bytes| describe(bytes));
        let got_at = got.get(position).map_or_else(
            || "nothing".to_owned(),
            |(id, bytes)| format!("id {id}: {}", describe(bytes)),
        );
        return Err(format!(
            "{context}: account `{account}` has {} pending events, expected {}; at position \
             {position} expected {wanted_at}, found {got_at} (a successful write appends all \
             its events in order, a failed one none)",
            got.len(),
            wanted.len()
        ));
    }
    Ok(())
}

/// Acknowledges `entries` (a check cleaning up after itself).
async fn acknowledge_all<S: Store>(
    store: &S,
    entries: &[OutboxEntry],
    context: &str,
) -> Result<(), String> {
    let ids: Vec<u64> = entries.iter().map(|entry| entry.id).collect();
    store
        .acknowledge(&ids)
        .await
        .map_err(|e| format!("{context}: acknowledge({} ids) failed: {e}", ids.len()))
}

async fn expect_version<S: Store>(
    store: &S,
    account: &AccountId,
    expected: Option<u64>,
    context: &str,
) -> Result<(), String> {
    let found = store
        .version(account)
        .await
        .map_err(|e| format!("{context}: version failed: {e}"))?;
    if found == expected {
        return Ok(());
    }
    Err(format!(
        "{context}: version() returned {found:?}, expected {expected:?}"
    ))
}

async fn forget<S: Store>(
    store: &S,
    account: &AccountId,
    expected: u64,
    events: &[Vec<u8>],
    context: &str,
) -> Result<u64, String> {
    store
        .forget(account, expected, events)
        .await
        .map_err(|e| format!("{context}: forget(expected {expected}) failed: {e}"))
}

/// A store's list page as `(account, version)` pairs, for messages.
fn listed_ids(page: &[Listed]) -> Vec<(&str, u64)> {
    page.iter()
        .map(|row| (row.account.as_str(), row.version))
        .collect()
}

/// The rows of `prefix`'s accounts ([`child_id`]) in the first page after `prefix`.
async fn list_children<S: Store>(
    store: &S,
    prefix: &AccountId,
    context: &str,
) -> Result<Vec<Listed>, String> {
    let page = store
        .list(Some(prefix), 16)
        .await
        .map_err(|e| format!("{context}: list failed: {e}"))?;
    Ok(page
        .into_iter()
        .filter(|row| is_child(prefix, &row.account))
        .collect())
}

/// Expects `rows` to be exactly `expected` (account, version and record), in that order.
fn expect_listed(
    rows: &[Listed],
    expected: &[(&AccountId, u64, &Enrollment)],
    context: &str,
) -> Result<(), String> {
    let matches = rows.len() == expected.len()
        && rows
            .iter()
            .zip(expected)
            .all(|(row, (account, version, record))| {
                row.account == **account
                    && row.version == *version
                    && row.record.as_ref() == Ok(*record)
            });
    if matches {
        return Ok(());
    }
    let wanted: Vec<(&str, u64)> = expected
        .iter()
        .map(|(account, version, _)| (account.as_str(), *version))
        .collect();
    Err(format!(
        "{context}: list returned {:?}, expected {wanted:?} (with the records written)",
        listed_ids(rows)
    ))
}

/// Erasure leaves a tombstone: absent for load and list, but its version is kept and
/// needed, so no write from before the erasure succeeds.
async fn tombstones<S: Store>(store: &S) -> Result<(), String> {
    let prefix = fresh_account("tombstones")?;
    let (before, erased, after) = (
        child_id(&prefix, "a")?,
        child_id(&prefix, "b")?,
        child_id(&prefix, "c")?,
    );
    let samples = sample_records(&erased)?;
    let (Some((_, a)), Some((_, b)), Some((_, c))) =
        (samples.get(2), samples.get(4), samples.get(6))
    else {
        return Err("internal: too few sample records".to_owned());
    };
    expect_version(store, &erased, None, "an account never written").await?;
    conflict(
        store.forget(&erased, 1, &[]).await,
        "forget(expected 1) of an account never written",
    )?;
    expect_version(
        store,
        &erased,
        None,
        "after forgetting an account never written",
    )
    .await?;

    let vb = write(store, &before, None, a, "first write of a neighbour").await?;
    let va = write(store, &after, None, c, "first write of a neighbour").await?;
    let v1 = write(store, &erased, None, a, "first write").await?;
    let v2 = write(store, &erased, Some(v1), b, "second write").await?;
    expect_version(store, &erased, Some(v2), "a live account").await?;
    conflict(
        store.forget(&erased, v1, &[]).await,
        &format!("forget with the stale version {v1}"),
    )?;
    conflict(
        store.forget(&erased, next(v2)?, &[]).await,
        "forget with a future version",
    )?;
    expect_row(store, &erased, Some((v2, b)), "after a stale forget").await?;

    let tomb = forget(store, &erased, v2, &[], "forget at the current version").await?;
    if tomb != next(v2)? {
        return Err(format!(
            "forget(expected {v2}) returned version {tomb}; the tombstone is at the next version"
        ));
    }
    expect_row(store, &erased, None, "load of an erased account").await?;
    expect_version(
        store,
        &erased,
        Some(tomb),
        "an erased account (its tombstone)",
    )
    .await?;
    let rows = list_children(store, &prefix, "listing around a tombstone").await?;
    expect_listed(
        &rows,
        &[(&before, vb, a), (&after, va, c)],
        "listing around a tombstone (it is skipped)",
    )?;
    let page = store
        .list(Some(&before), 1)
        .await
        .map_err(|e| format!("list(after the tombstone's neighbour, 1) failed: {e}"))?;
    expect_listed(
        &page,
        &[(&after, va, c)],
        "list(limit 1) starting right before a tombstone (it neither appears nor uses up \
         the limit)",
    )?;

    expect_conflict(
        store,
        &erased,
        None,
        c,
        "a first write over a tombstone (it has a version)",
    )
    .await?;
    expect_conflict(
        store,
        &erased,
        Some(v2),
        c,
        "a write with the version from before the erasure",
    )
    .await?;
    expect_conflict(store, &erased, Some(v1), c, "a write with an older version").await?;
    expect_conflict(
        store,
        &erased,
        Some(next(tomb)?),
        c,
        "a write with a future version",
    )
    .await?;
    conflict(
        store.reinstate(&erased, tomb, c, &[]).await,
        "reinstate of a tombstone that is not at the largest version",
    )?;
    expect_row(store, &erased, None, "a tombstone after refused writes").await?;
    expect_version(
        store,
        &erased,
        Some(tomb),
        "a tombstone after refused writes",
    )
    .await?;

    let again = write(
        store,
        &erased,
        Some(tomb),
        c,
        "a write over the tombstone at its version",
    )
    .await?;
    if again != next(tomb)? {
        return Err(format!(
            "the write over the tombstone at version {tomb} returned version {again}; expected {}",
            next(tomb)?
        ));
    }
    expect_row(
        store,
        &erased,
        Some((again, c)),
        "an account enrolled again after erasure",
    )
    .await?;
    expect_version(store, &erased, Some(again), "an account enrolled again").await?;
    let rows = list_children(store, &prefix, "listing after enrolling again").await?;
    expect_listed(
        &rows,
        &[(&before, vb, a), (&erased, again, c), (&after, va, c)],
        "listing after enrolling again",
    )?;
    conflict(
        store.forget(&erased, tomb, &[]).await,
        "forget with the tombstone's (now stale) version",
    )?;
    conflict(
        store.forget(&erased, v2, &[]).await,
        "forget with a version from before the erasure",
    )?;
    expect_row(store, &erased, Some((again, c)), "after stale forgets").await?;

    // A second erasure: the versions of both earlier lives are stale.
    let second = forget(store, &erased, again, &[], "a second erasure").await?;
    for stale in [v2, tomb, again] {
        expect_conflict(
            store,
            &erased,
            Some(stale),
            a,
            &format!("a write with version {stale} after the second erasure"),
        )
        .await?;
    }
    let third = write(store, &erased, Some(second), a, "a third enrollment").await?;
    expect_row(store, &erased, Some((third, a)), "the third enrollment").await?;
    expect_row(
        store,
        &before,
        Some((vb, a)),
        "a neighbour of the erased account",
    )
    .await?;
    expect_row(
        store,
        &after,
        Some((va, c)),
        "a neighbour of the erased account",
    )
    .await
}

/// Names that sort differently by bytes than by a collation, by UTF-16 or numerically.
const LISTING_NAMES: [&str; 14] = [
    "A",
    "a",
    "B",
    "b",
    "a b",
    "a-b",
    "a_b",
    "ab",
    "z",
    "é",
    "口座-日本",
    "口座-中国",
    "ｱ",
    "😀",
];

/// Pages through the accounts of one prefix with a small limit while writes go on: every
/// live account once, in byte order of the id, with its version and record; tombstones
/// never.
async fn listing<S: Store>(store: &S) -> Result<(), String> {
    const LIMIT: usize = 7;
    let prefix = fresh_account("listing")?;
    let samples = sample_records(&prefix)?;
    const NUMBERED: usize = 18;
    let mut names: Vec<String> = (0..NUMBERED).map(|n| format!("n{n}")).collect();
    names.extend(LISTING_NAMES.iter().map(|name| (*name).to_owned()));
    // The expected live rows by id, and the erased ids.
    let mut live: std::collections::BTreeMap<AccountId, (u64, Enrollment)> =
        std::collections::BTreeMap::new();
    let mut erased: Vec<AccountId> = Vec::new();
    let mut records = samples.iter().map(|(_, record)| record).cycle();
    for (index, name) in names.iter().enumerate() {
        let account = child_id(&prefix, name)?;
        let record = records.next().ok_or("internal: no sample records")?;
        let mut version = write(
            store,
            &account,
            None,
            record,
            &format!("first write of `{name}`"),
        )
        .await?;
        if index.checked_rem(3) == Some(1) {
            version = write(
                store,
                &account,
                Some(version),
                record,
                &format!("second write of `{name}`"),
            )
            .await?;
        }
        // Erased: every fourth numbered one and `a_b`; erased and enrolled again: two
        // numbered ones and `é`. The names whose orders differ stay live.
        let numbered = index < NUMBERED;
        let erase = name == "a_b" || (numbered && index.checked_rem(4) == Some(2));
        let again = name == "é" || (numbered && index.checked_rem(12) == Some(3));
        if erase {
            forget(store, &account, version, &[], &format!("erasing `{name}`")).await?;
            erased.push(account);
        } else if again {
            let tomb = forget(store, &account, version, &[], &format!("erasing `{name}`")).await?;
            let again = write(
                store,
                &account,
                Some(tomb),
                record,
                &format!("enrolling `{name}` again"),
            )
            .await?;
            live.insert(account, (again, record.clone()));
        } else {
            live.insert(account, (version, record.clone()));
        }
    }
    let empty = store
        .list(Some(&prefix), 0)
        .await
        .map_err(|e| format!("list(limit 0) failed: {e}"))?;
    if !empty.is_empty() {
        return Err(format!("list(limit 0) returned {:?}", listed_ids(&empty)));
    }
    let first = store
        .list(None, LIMIT)
        .await
        .map_err(|e| format!("list(from the first, {LIMIT}) failed: {e}"))?;
    check_list_page(&first, None, LIMIT, &erased, "list(from the first)")?;

    // The walk: `after` is the last id of the previous page, starting at the prefix (every
    // id of this check sorts after it and before any other id greater than it).
    let mut seen: Vec<AccountId> = Vec::new();
    let mut after = prefix.clone();
    let mut pages: usize = 0;
    loop {
        let page = store
            .list(Some(&after), LIMIT)
            .await
            .map_err(|e| format!("list(after `{after}`, {LIMIT}) failed: {e}"))?;
        let context = format!("page {pages} (after `{after}`)");
        check_list_page(&page, Some(&after), LIMIT, &erased, &context)?;
        let mut beyond = false;
        for row in &page {
            if !is_child(&prefix, &row.account) {
                beyond = true;
                break;
            }
            let Some((version, record)) = live.get(&row.account) else {
                return Err(format!(
                    "{context}: listed `{}`, which this check never wrote or erased",
                    row.account
                ));
            };
            if row.version != *version || row.record.as_ref() != Ok(record) {
                return Err(format!(
                    "{context}: `{}` listed at version {} with {:?}; expected version {version} \
                     and the record written",
                    row.account, row.version, row.record
                ));
            }
            seen.push(row.account.clone());
        }
        let Some(last) = page.last() else { break };
        if beyond || page.len() < LIMIT {
            break;
        }
        after = last.account.clone();
        pages = pages
            .checked_add(1)
            .ok_or("internal: page count overflow")?;
        if pages > names.len() {
            return Err(format!(
                "the walk did not end after {pages} pages of {LIMIT} for {} accounts",
                names.len()
            ));
        }
        if pages == 1 {
            // Writes go on: an account listed already and the last one, not listed yet.
            let mut writes: Vec<AccountId> = seen.first().cloned().into_iter().collect();
            writes.extend(live.keys().next_back().cloned());
            for account in writes {
                let Some((version, record)) = live.get(&account).cloned() else {
                    continue;
                };
                let written = write(
                    store,
                    &account,
                    Some(version),
                    &record,
                    "a write during the walk",
                )
                .await?;
                live.insert(account, (written, record));
            }
        }
    }
    let wanted: Vec<&AccountId> = live.keys().collect();
    let found: Vec<&AccountId> = seen.iter().collect();
    if found != wanted {
        let show = |ids: &[&AccountId]| -> Vec<String> {
            ids.iter()
                .map(|id| {
                    id.as_str()
                        .strip_prefix(prefix.as_str())
                        .unwrap_or(id.as_str())
                        .to_owned()
                })
                .collect()
        };
        return Err(format!(
            "paging with limit {LIMIT} from `{prefix}` listed {:?}; expected every live account \
             once, in byte order of the id, and no erased one: {:?}",
            show(&found),
            show(&wanted)
        ));
    }
    for tomb in &erased {
        let page = store
            .list(Some(tomb), 1)
            .await
            .map_err(|e| format!("list(after the tombstone `{tomb}`, 1) failed: {e}"))?;
        let next_live = live
            .range::<AccountId, _>((
                core::ops::Bound::Excluded(tomb),
                core::ops::Bound::Unbounded,
            ))
            .next()
            .map(|(account, _)| account);
        let listed = page.first().map(|row| &row.account);
        if let Some(next_live) = next_live
            && listed != Some(next_live)
        {
            return Err(format!(
                "list(after the tombstone `{tomb}`, 1) returned {:?}; expected `{next_live}`",
                listed_ids(&page)
            ));
        }
    }
    Ok(())
}

/// Checks one list page: at most `limit` rows, ids strictly increasing by bytes and after
/// `after`, none of the `erased` ones.
fn check_list_page(
    page: &[Listed],
    after: Option<&AccountId>,
    limit: usize,
    erased: &[AccountId],
    context: &str,
) -> Result<(), String> {
    if page.len() > limit {
        return Err(format!(
            "{context}: list(limit {limit}) returned {} rows",
            page.len()
        ));
    }
    let mut previous = after.map(|id| id.as_str().as_bytes());
    for row in page {
        let id = row.account.as_str().as_bytes();
        if previous.is_some_and(|p| p >= id) {
            return Err(format!(
                "{context}: list returned {:?}: ids must be strictly increasing in byte order \
                 and sort after `after` (a store sorting by a collation or by characters other \
                 than UTF-8 bytes gets this wrong)",
                listed_ids(page)
            ));
        }
        if erased.contains(&row.account) {
            return Err(format!(
                "{context}: list returned the erased account `{}` (a tombstone is never listed)",
                row.account
            ));
        }
        previous = Some(id);
    }
    Ok(())
}

/// A committed write's events are in the outbox in order, a conflicting write's are not;
/// event bytes round-trip exactly.
async fn outbox_atomicity<S: Store>(store: &S) -> Result<(), String> {
    let account = fresh_account("outbox-atomicity")?;
    let bare = fresh_account("outbox-atomicity-no-row")?;
    let accounts = [account.clone(), bare.clone()];
    let nonce = nonce()?;
    let samples = sample_records(&account)?;
    let (Some((_, a)), Some((_, b)), Some((_, c))) =
        (samples.get(2), samples.get(4), samples.get(6))
    else {
        return Err("internal: too few sample records".to_owned());
    };
    let mut expected: Vec<(AccountId, Vec<u8>)> = Vec::new();
    let tag = |events: &[Vec<u8>], account: &AccountId| -> Vec<(AccountId, Vec<u8>)> {
        events
            .iter()
            .map(|bytes| (account.clone(), bytes.clone()))
            .collect()
    };

    let first = events(nonce, "first", 3);
    let v1 = write_with(
        store,
        &account,
        None,
        a,
        &first,
        "a first write with three events",
    )
    .await?;
    expected.extend(tag(&first, &account));
    let found = own_pending(store, &accounts, &newest(&first), "after a first write").await?;
    expect_events(&found, &expected, "after a first write with three events")?;

    expect_conflict_with(
        store,
        &account,
        None,
        b,
        &events(nonce, "second-first-write", 2),
        "a second first write with events",
    )
    .await?;
    let second = events(nonce, "second", 1);
    let v2 = write_with(
        store,
        &account,
        Some(v1),
        b,
        &second,
        "a second write with one event",
    )
    .await?;
    expected.extend(tag(&second, &account));
    expect_conflict_with(
        store,
        &account,
        Some(v1),
        c,
        &events(nonce, "stale", 2),
        "a stale write with events",
    )
    .await?;
    expect_conflict_with(
        store,
        &account,
        Some(next(v2)?),
        c,
        &events(nonce, "future", 1),
        "a write with a future version and events",
    )
    .await?;
    conflict(
        store
            .forget(&account, v1, &events(nonce, "stale-forget", 1))
            .await,
        "a stale forget with events",
    )?;
    conflict(
        store
            .reinstate(&account, v2, c, &events(nonce, "reinstate", 1))
            .await,
        "reinstate of a row not at the largest version, with events",
    )?;
    expect_row(
        store,
        &account,
        Some((v2, b)),
        "after conflicting writes with events",
    )
    .await?;
    let v3 = write_with(store, &account, Some(v2), c, &[], "a write with no events").await?;

    let appended = events(nonce, "appended", 3);
    store
        .append_events(&account, &appended)
        .await
        .map_err(|e| format!("append_events(3 events) failed: {e}"))?;
    expected.extend(tag(&appended, &account));
    store
        .append_events(&account, &[])
        .await
        .map_err(|e| format!("append_events(no events) failed: {e}"))?;
    expect_row(
        store,
        &account,
        Some((v3, c)),
        "after append_events (it writes no record)",
    )
    .await?;

    // Exact bytes: empty, a zero byte, every byte value, 64 KiB of random bytes; for an
    // account without any row (a refusal of an unknown account is audited too).
    let all_bytes: Vec<u8> = (0..=u8::MAX).collect();
    let odd = vec![
        Vec::new(),
        vec![0u8],
        all_bytes,
        random_bytes(64 * 1024)?,
        event(nonce, "no-row", 0),
    ];
    store
        .append_events(&bare, &odd)
        .await
        .map_err(|e| format!("append_events for an account with no row failed: {e}"))?;
    expected.extend(tag(&odd, &bare));
    expect_row(
        store,
        &bare,
        None,
        "append_events for an account with no row",
    )
    .await?;
    expect_version(
        store,
        &bare,
        None,
        "append_events for an account with no row",
    )
    .await?;

    let with_record = vec![
        Vec::new(),
        random_bytes(64 * 1024)?,
        event(nonce, "with-record", 0),
    ];
    let v4 = write_with(
        store,
        &account,
        Some(v3),
        a,
        &with_record,
        "a write with an empty and a 64 KiB event",
    )
    .await?;
    expected.extend(tag(&with_record, &account));
    let erasure = events(nonce, "forget", 2);
    forget(store, &account, v4, &erasure, "forget with two events").await?;
    expected.extend(tag(&erasure, &account));

    let newest_events = [erasure.last(), odd.last()]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>();
    let found = own_pending(store, &accounts, &newest_events, "at the end").await?;
    let result = expect_events(&found, &expected, "after every write");
    acknowledge_all(store, &found, "cleaning up").await?;
    result
}

/// The last of `events`, as [`own_pending`]'s `newest`.
fn newest(events: &[Vec<u8>]) -> Vec<Vec<u8>> {
    events.last().cloned().into_iter().collect()
}

/// Pending events come oldest first within the limit; acknowledging removes exactly the
/// given ids; the others are returned again, with the same ids.
async fn outbox_delivery<S: Store>(store: &S) -> Result<(), String> {
    let accounts = [
        fresh_account("outbox-delivery-a")?,
        fresh_account("outbox-delivery-b")?,
    ];
    let nonce = nonce()?;
    let samples = sample_records(accounts.first().ok_or("internal: no account")?)?;
    let mut records = samples.iter().map(|(_, record)| record).cycle();
    let mut versions: Vec<Option<u64>> = vec![None; accounts.len()];
    let mut expected: Vec<(AccountId, Vec<u8>)> = Vec::new();
    // Two accounts' writes interleaved: a record with two events, an append of one, a
    // record with one; each account's events must come in its write order.
    let kinds: [(bool, usize); 3] = [(true, 2), (false, 1), (true, 1)];
    let plan = (0..accounts.len())
        .cycle()
        .zip(kinds.iter().cycle())
        .take(18);
    for (round, (which, (record_write, count))) in plan.enumerate() {
        let (Some(account), Some(version)) = (accounts.get(which), versions.get_mut(which)) else {
            return Err("internal: account index".to_owned());
        };
        let batch = events(nonce, &format!("round-{round}"), *count);
        if *record_write {
            let record = records.next().ok_or("internal: no sample records")?;
            let written = write_with(
                store,
                account,
                *version,
                record,
                &batch,
                &format!("write {round}"),
            )
            .await?;
            *version = Some(written);
        } else {
            store
                .append_events(account, &batch)
                .await
                .map_err(|e| format!("append_events {round} failed: {e}"))?;
        }
        expected.extend(batch.into_iter().map(|bytes| (account.clone(), bytes)));
    }
    let last: Vec<Vec<u8>> = accounts
        .iter()
        .filter_map(|account| {
            expected
                .iter()
                .rev()
                .find(|(a, _)| a == account)
                .map(|(_, bytes)| bytes.clone())
        })
        .collect();
    let own = own_pending(store, &accounts, &last, "after interleaved writes").await?;
    expect_events(&own, &expected, "two accounts' interleaved writes")?;

    // Small limits: the oldest first. Other checks' events may come first (a shared
    // store); of this check's, none older than the newest one returned may be missing.
    for limit in [0, 1, 3, 7] {
        let page = store
            .pending_events(limit)
            .await
            .map_err(|e| format!("pending_events({limit}) failed: {e}"))?;
        check_outbox_page(&page, limit, "small limits")?;
        let newest_id = page.last().map(|entry| entry.id);
        for entry in &own {
            let listed = page.iter().find(|p| p.id == entry.id);
            let required = newest_id.is_some_and(|n| entry.id <= n) || page.len() < limit;
            match listed {
                Some(p) if p != entry => {
                    return Err(format!(
                        "pending_events({limit}) returned id {} as {:?} / {}, earlier as {:?} / {} \
                         (an event keeps its id, account and bytes until acknowledged)",
                        p.id,
                        p.account.as_str(),
                        describe(&p.bytes),
                        entry.account.as_str(),
                        describe(&entry.bytes)
                    ));
                }
                None if required => {
                    return Err(format!(
                        "pending_events({limit}) returned ids {:?} but not the older pending id {} \
                         (the oldest `limit` events come first)",
                        page.iter().map(|p| p.id).collect::<Vec<_>>(),
                        entry.id
                    ));
                }
                _ => {}
            }
        }
    }

    // Acknowledge every third (not the newest of an account), an unknown id, and the same
    // ids again.
    let newest_ids: Vec<u64> = last
        .iter()
        .filter_map(|bytes| own.iter().find(|e| e.bytes == *bytes).map(|e| e.id))
        .collect();
    let acked: Vec<u64> = own
        .iter()
        .step_by(3)
        .map(|entry| entry.id)
        .filter(|id| !newest_ids.contains(id))
        .collect();
    let remaining: Vec<OutboxEntry> = own
        .iter()
        .filter(|entry| !acked.contains(&entry.id))
        .cloned()
        .collect();
    let mut with_unknown = acked.clone();
    with_unknown.extend([u64::MAX, u64::try_from(i64::MAX).unwrap_or(u64::MAX)]);
    store
        .acknowledge(&with_unknown)
        .await
        .map_err(|e| format!("acknowledge (with unknown ids) failed: {e}"))?;
    store
        .acknowledge(&acked)
        .await
        .map_err(|e| format!("acknowledging the same ids again failed: {e}"))?;
    store
        .acknowledge(&[])
        .await
        .map_err(|e| format!("acknowledge(no ids) failed: {e}"))?;
    for attempt in ["after acknowledging some", "read again (at least once)"] {
        let found = own_pending(store, &accounts, &last, attempt).await?;
        if found != remaining {
            return Err(format!(
                "{attempt}: pending ids {:?}; expected {:?} (acknowledge removes exactly the \
                 given ids; the others stay, with their ids, until acknowledged)",
                found.iter().map(|e| e.id).collect::<Vec<_>>(),
                remaining.iter().map(|e| e.id).collect::<Vec<_>>()
            ));
        }
    }

    // Acknowledge the rest; then a new event per account is all that is pending.
    acknowledge_all(store, &remaining, "acknowledging the rest").await?;
    let mut markers: Vec<(AccountId, Vec<u8>)> = Vec::new();
    for account in &accounts {
        let marker = vec![event(nonce, &format!("after-all-{account}"), 0)];
        store
            .append_events(account, &marker)
            .await
            .map_err(|e| format!("append_events after acknowledging all failed: {e}"))?;
        markers.extend(marker.into_iter().map(|bytes| (account.clone(), bytes)));
    }
    let newest_markers: Vec<Vec<u8>> = markers.iter().map(|(_, bytes)| bytes.clone()).collect();
    let found = own_pending(store, &accounts, &newest_markers, "after acknowledging all").await?;
    let result = expect_events(&found, &markers, "after acknowledging every earlier event");
    if let Some(reused) = found.iter().find(|e| own.iter().any(|o| o.id == e.id)) {
        return Err(format!(
            "a new event got the id {} of an acknowledged one (ids are never reused)",
            reused.id
        ));
    }
    acknowledge_all(store, &found, "cleaning up").await?;
    result
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
