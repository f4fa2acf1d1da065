#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]
//! The store conformance suite (`totp_enroll::testing::conformance`) against every store of
//! this crate, one test per (store, check) so a failure names both; then each SQL store's
//! failure modes (locked, read-only and full SQLite files; a PostgreSQL connection killed
//! between load and write; an unreachable server): always a typed `StoreError::Backend`,
//! never an acceptance without the step written.
//!
//! PostgreSQL: set `TOTP_ENROLL_PG_URL` (e.g. `source .ci/postgres.sh && pg_start`) and run
//! `cargo test --all-features`. Without it the PostgreSQL tests print that they were skipped
//! and pass, except under `CI=true`, where a missing server is a failure.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use totp_enroll::MemoryStore;
use totp_enroll::testing::conformance::{Check, Config};

mod pg_env;

use pg_env::note;

/// The PostgreSQL URL for this file's suites (see `tests/pg_env`).
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
fn pg_url() -> Option<String> {
    pg_env::pg_url("store tests")
}

/// A directory under the system temp dir, removed on drop.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
struct TempDir(PathBuf);

#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
impl TempDir {
    fn new(tag: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "totp-enroll-{tag}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.0.join("totp.db").display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The schema version of this build's PostgreSQL store (records, then the outbox), and the
/// number of migrations recorded.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
const LATEST_SCHEMA: i64 = 2;

/// The same for the SQLite store: records, the outbox, then the events column and the
/// outbox triggers of its one-statement writes.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
const LATEST_SQLITE_SCHEMA: i64 = 3;

/// PostgreSQL tests share one server: each holds this for reading, and the test that
/// restarts the server holds it for writing, so no other test sees the restart.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
static PG_SERVER: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// A store for one test, with whatever must live as long as it.
struct Fixture<S> {
    store: Arc<S>,
    _dir: Option<TempDir>,
    _server: Option<tokio::sync::RwLockReadGuard<'static, ()>>,
}

async fn memory() -> Option<Fixture<MemoryStore>> {
    Some(Fixture {
        store: Arc::new(MemoryStore::new()),
        _dir: None,
        _server: None,
    })
}

/// One `#[tokio::test]` per check for a store made by `$make` (an async fn returning
/// `Option<Fixture<_>>`; `None` skips).
macro_rules! conformance {
    ($module:ident, $make:path, $config:expr) => {
        mod $module {
            use super::*;
            conformance!(@check $make, $config, crud, Check::Crud);
            conformance!(@check $make, $config, version_conflicts, Check::VersionConflicts);
            conformance!(@check $make, $config, record_round_trip, Check::RecordRoundTrip);
            conformance!(@check $make, $config, tombstones, Check::Tombstones);
            conformance!(@check $make, $config, listing, Check::Listing);
            conformance!(@check $make, $config, outbox_atomicity, Check::OutboxAtomicity);
            conformance!(@check $make, $config, outbox_delivery, Check::OutboxDelivery);
            conformance!(@check $make, $config, concurrent_writes, Check::ConcurrentWrites);
            conformance!(@check $make, $config, one_acceptance, Check::OneAcceptance);
            conformance!(@check $make, $config, exact_failure_count, Check::ExactFailureCount);
            conformance!(@check $make, $config, throttle_bounds_guesses, Check::ThrottleBoundsGuesses);

            /// Every check exists here: a check added to the suite must get a test.
            #[test]
            fn covers_every_check() {
                assert_eq!(Check::ALL.len(), 11, "add a test line for the new check");
            }
        }
    };
    (@check $make:path, $config:expr, $name:ident, $check:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let Some(fixture) = $make().await else {
                return;
            };
            let config: Config = $config;
            if let Err(message) = $check.run(Arc::clone(&fixture.store), &config).await {
                panic!("{message}");
            }
        }
    };
}

conformance!(memory_store, memory, Config::default());

#[cfg(feature = "sqlite")]
mod sqlite_fixtures {
    use super::*;
    use totp_enroll::store::SqliteStore;

    pub(crate) async fn file() -> Option<Fixture<SqliteStore>> {
        let dir = TempDir::new("conformance");
        let store = SqliteStore::connect(&dir.sqlite_url()).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(mode, "wal", "a file store runs in WAL mode");
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(
            synchronous, 2,
            "synchronous = FULL: an acceptance is on disk first"
        );
        Some(Fixture {
            store: Arc::new(store),
            _dir: Some(dir),
            _server: None,
        })
    }

    pub(crate) async fn in_memory() -> Option<Fixture<SqliteStore>> {
        Some(Fixture {
            store: Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap()),
            _dir: None,
            _server: None,
        })
    }

    pub(crate) async fn plain_memory() -> Option<Fixture<SqliteStore>> {
        Some(Fixture {
            store: Arc::new(SqliteStore::connect(":memory:").await.unwrap()),
            _dir: None,
            _server: None,
        })
    }
}

#[cfg(feature = "sqlite")]
conformance!(
    sqlite_file_wal,
    sqlite_fixtures::file,
    Config::default().with_rounds(20)
);
#[cfg(feature = "sqlite")]
conformance!(
    sqlite_memory,
    sqlite_fixtures::in_memory,
    Config::default().with_rounds(20)
);
#[cfg(feature = "sqlite")]
conformance!(
    sqlite_plain_memory,
    sqlite_fixtures::plain_memory,
    Config::default().with_rounds(5)
);

#[cfg(feature = "postgres")]
mod postgres_fixtures {
    use super::*;
    use totp_enroll::store::PostgresStore;

    pub(crate) async fn server() -> Option<Fixture<PostgresStore>> {
        let url = pg_url()?;
        let server = PG_SERVER.read().await;
        let store = PostgresStore::connect_with(
            PostgresStore::options(&url).unwrap(),
            PostgresStore::pool_options().max_connections(8),
        )
        .await
        .unwrap_or_else(|e| panic!("connecting to TOTP_ENROLL_PG_URL failed: {e}"));
        Some(Fixture {
            store: Arc::new(store),
            _dir: None,
            _server: Some(server),
        })
    }
}

#[cfg(feature = "postgres")]
conformance!(
    postgres,
    postgres_fixtures::server,
    Config::default().with_rounds(20)
);

/// Says plainly which SQL suites this build skips, and fails under CI without PostgreSQL.
#[test]
fn sql_store_suites_status() {
    if cfg!(not(feature = "sqlite")) {
        note(
            "NOTE: SQLite store tests not built (feature `sqlite` off). Run: cargo test --all-features",
        );
    }
    if cfg!(not(feature = "postgres")) {
        note(
            "NOTE: PostgreSQL store tests SKIPPED: feature `postgres` off. Run them with: \
             TOTP_ENROLL_PG_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test --all-features",
        );
    } else {
        let _ = pg_url();
    }
}

/// Failure modes shared by the SQL stores' tests: an engine over a store, enrolled.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod rig {
    use std::sync::Arc;

    use totp_enroll::testing::conformance::{self, START};
    use totp_enroll::{
        AccountId, Engine, ManualClock, Store, lifecycle::ThrottlePolicy, otp::Totp,
    };

    pub(crate) struct Rig<S: Store> {
        pub(crate) engine: Engine<S>,
        pub(crate) clock: Arc<ManualClock>,
        pub(crate) key: [u8; 32],
    }

    impl<S: Store> Rig<S> {
        pub(crate) fn new(store: S) -> Self {
            let clock = Arc::new(ManualClock::new(START as i64));
            let key = conformance::random_key().unwrap();
            let engine =
                conformance::engine(store, key, Arc::clone(&clock), ThrottlePolicy::default())
                    .unwrap();
            Self { engine, clock, key }
        }

        /// Another engine with the same key and clock over `store`.
        pub(crate) fn sibling<T: Store>(&self, store: T) -> Engine<T> {
            conformance::engine(
                store,
                self.key,
                Arc::clone(&self.clock),
                ThrottlePolicy::default(),
            )
            .unwrap()
        }

        pub(crate) async fn enroll(&self, tag: &str) -> (AccountId, Totp) {
            let account = conformance::fresh_account(tag).unwrap();
            self.clock.set(START as i64);
            let totp = conformance::enroll(&self.engine, &account, START)
                .await
                .unwrap();
            (account, totp)
        }

        /// Moves the clock one period on and returns the new time.
        pub(crate) fn next_period(&self) -> u64 {
            use totp_enroll::Clock as _;
            self.clock.advance(30);
            self.clock.now().unwrap()
        }
    }

    /// The stored last used step of `account`.
    pub(crate) async fn last_used_step<S: Store>(store: &S, account: &AccountId) -> Option<u64> {
        store
            .load(account)
            .await
            .unwrap()
            .and_then(|v| v.record.last_used_step())
    }

    /// The full text of an error and its sources.
    pub(crate) fn chain(error: &dyn std::error::Error) -> String {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(inner) = source {
            text.push_str(" <- ");
            text.push_str(&inner.to_string());
            source = inner.source();
        }
        text
    }
}

#[cfg(feature = "sqlite")]
mod sqlite_faults {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use sqlx::Connection as _;
    use sqlx::sqlite::SqliteConnection;
    use totp_enroll::store::SqliteStore;
    use totp_enroll::testing::conformance::START;
    use totp_enroll::{Login, Status, StepUp, error::EngineError, error::StoreError};

    use super::rig::{Rig, chain, last_used_step};
    use super::{LATEST_SQLITE_SCHEMA as LATEST_SCHEMA, TempDir};

    /// Another connection holds `BEGIN EXCLUSIVE`: after the busy timeout the verify fails
    /// with a typed backend error, the step is not consumed, and once the lock is released
    /// the same code is accepted.
    #[tokio::test(flavor = "multi_thread")]
    async fn locked_database_fails_closed_after_the_busy_timeout() {
        let dir = TempDir::new("locked");
        let url = dir.sqlite_url();
        let store = SqliteStore::connect_with(
            SqliteStore::options(&url)
                .unwrap()
                .busy_timeout(Duration::from_millis(300)),
            SqliteStore::pool_options(),
        )
        .await
        .unwrap();
        let rig = Rig::new(store);
        let (account, totp) = rig.enroll("locked").await;
        let confirmed_step = last_used_step(rig.engine.store(), &account).await;
        let now = rig.next_period();
        let code = totp.code_at(now).to_string();

        let mut locker = SqliteConnection::connect_with(&SqliteStore::options(&url).unwrap())
            .await
            .unwrap();
        sqlx::raw_sql("BEGIN EXCLUSIVE")
            .execute(&mut locker)
            .await
            .unwrap();

        let started = Instant::now();
        let result = rig.engine.verify_login(&account, &code).await;
        let waited = started.elapsed();
        match &result {
            Err(EngineError::Store(StoreError::Backend(error))) => {
                let text = chain(&**error);
                assert!(
                    text.contains("locked") || text.contains("busy"),
                    "the backend error names the lock: {text}"
                );
            }
            other => panic!("a locked database must give StoreError::Backend, got {other:?}"),
        }
        assert!(
            waited >= Duration::from_millis(250),
            "the store waited for the busy timeout ({waited:?})"
        );

        sqlx::raw_sql("ROLLBACK")
            .execute(&mut locker)
            .await
            .unwrap();
        locker.close().await.unwrap();
        assert_eq!(
            last_used_step(rig.engine.store(), &account).await,
            confirmed_step,
            "nothing was written while locked"
        );
        assert!(
            matches!(
                rig.engine.verify_login(&account, &code).await,
                Ok(Login::Verified(_))
            ),
            "the code was not consumed by the failed attempt"
        );
        assert_eq!(
            last_used_step(rig.engine.store(), &account).await,
            Some(totp.step_at(now))
        );
    }

    /// A database that cannot be written (opened read-only): a valid code and a wrong code
    /// both give a typed backend error; neither is reported as accepted or counted silently.
    #[tokio::test(flavor = "multi_thread")]
    async fn read_only_database_fails_closed() {
        let dir = TempDir::new("readonly");
        let url = dir.sqlite_url();
        let writable = Arc::new(SqliteStore::connect(&url).await.unwrap());
        let rig = Rig::new(Arc::clone(&writable));
        let (account, totp) = rig.enroll("readonly").await;
        let confirmed_step = last_used_step(&*writable, &account).await;

        let read_only = SqliteStore::connect_with(
            SqliteStore::options(&url).unwrap().read_only(true),
            SqliteStore::pool_options(),
        )
        .await
        .unwrap();
        let blocked = rig.sibling(read_only);
        let now = rig.next_period();
        let code = totp.code_at(now).to_string();
        for input in [
            code.clone(),
            totp_enroll::testing::conformance::wrong_code(&totp, now),
        ] {
            match blocked.verify_login(&account, &input).await {
                Err(EngineError::Store(StoreError::Backend(error))) => {
                    let text = chain(&*error);
                    assert!(text.contains("readonly"), "names the cause: {text}");
                }
                other => {
                    panic!("a read-only database must give StoreError::Backend, got {other:?}")
                }
            }
        }
        let stored = writable.load(&account).await.unwrap().unwrap().record;
        assert_eq!(stored.last_used_step(), confirmed_step);
        assert_eq!(stored.throttle().failures(), 0);
        assert!(matches!(
            rig.engine.verify_login(&account, &code).await,
            Ok(Login::Verified(_))
        ));
    }

    use totp_enroll::Store as _;

    /// A full database (`PRAGMA max_page_count` at the current size): writes that need a new
    /// page fail with a typed backend error ("database or disk is full") and leave nothing
    /// behind; a verify through the full store is either accepted WITH its step written or an
    /// error without it.
    #[tokio::test(flavor = "multi_thread")]
    async fn full_database_fails_closed() {
        let dir = TempDir::new("full");
        let url = dir.sqlite_url();
        let writable = Arc::new(SqliteStore::connect(&url).await.unwrap());
        let rig = Rig::new(Arc::clone(&writable));
        let (account, totp) = rig.enroll("full").await;
        let confirmed_step = last_used_step(&*writable, &account).await;

        let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(writable.pool())
            .await
            .unwrap();
        let full = Arc::new(
            SqliteStore::connect_with(
                SqliteStore::options(&url)
                    .unwrap()
                    .pragma("max_page_count", pages.to_string()),
                SqliteStore::pool_options(),
            )
            .await
            .unwrap(),
        );
        let engine = rig.sibling(Arc::clone(&full));

        let mut filled = false;
        for i in 0..2_000 {
            let other = totp_enroll::AccountId::new(format!("full-{i}")).unwrap();
            let step_up = StepUp::transaction_password_verified(&other, START);
            match engine.begin(&other, "full", &step_up).await {
                Ok(_) => {}
                Err(EngineError::Store(StoreError::Backend(error))) => {
                    let text = chain(&*error);
                    assert!(text.contains("full"), "names the cause: {text}");
                    assert_eq!(
                        rig.engine.status(&other).await.unwrap(),
                        Status::NotRegistered,
                        "a failed write leaves nothing behind"
                    );
                    filled = true;
                    break;
                }
                Err(other) => {
                    panic!("a full database must give StoreError::Backend, got {other:?}")
                }
            }
        }
        assert!(filled, "the database never filled up");

        let now = rig.next_period();
        let code = totp.code_at(now).to_string();
        match engine.verify_login(&account, &code).await {
            Ok(Login::Verified(_)) => assert_eq!(
                last_used_step(&*writable, &account).await,
                Some(totp.step_at(now)),
                "an acceptance is reported only with its step written"
            ),
            Err(EngineError::Store(StoreError::Backend(_))) => {
                assert_eq!(last_used_step(&*writable, &account).await, confirmed_step)
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }

    /// The schema version table records the embedded migrations; connecting again changes
    /// nothing.
    #[tokio::test(flavor = "multi_thread")]
    async fn migrations_are_recorded_and_idempotent() {
        let dir = TempDir::new("migrate");
        let url = dir.sqlite_url();
        let first = SqliteStore::connect(&url).await.unwrap();
        assert_eq!(first.schema_version().await.unwrap(), LATEST_SCHEMA);
        first.migrate().await.unwrap();
        let second = SqliteStore::connect(&url).await.unwrap();
        assert_eq!(second.schema_version().await.unwrap(), LATEST_SCHEMA);
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM totp_enroll_schema_version")
            .fetch_one(second.pool())
            .await
            .unwrap();
        assert_eq!(rows, LATEST_SCHEMA, "each migration recorded once");
        // A database from a newer build is refused rather than written.
        sqlx::query(
            "INSERT INTO totp_enroll_schema_version (version, description, applied_at) VALUES (99, 'future', 0)",
        )
        .execute(second.pool())
        .await
        .unwrap();
        match SqliteStore::connect(&url).await {
            Err(StoreError::Backend(error)) => {
                assert!(error.to_string().contains("schema version 99"), "{error}");
            }
            other => panic!("a newer schema must be refused, got {other:?}"),
        }
    }

    /// The stored bytes are the record's encoding, which holds the sealed secret only: the
    /// plaintext secret the customer's app received appears nowhere in the file.
    #[tokio::test(flavor = "multi_thread")]
    async fn stores_only_the_sealed_record() {
        let dir = TempDir::new("sealed");
        let store = Arc::new(SqliteStore::connect(&dir.sqlite_url()).await.unwrap());
        let rig = Rig::new(Arc::clone(&store));
        let account = totp_enroll::testing::conformance::fresh_account("sealed").unwrap();
        let step_up = StepUp::transaction_password_verified(&account, START);
        let screen = rig
            .engine
            .begin(&account, "sealed", &step_up)
            .await
            .unwrap();
        let uri = totp_enroll::provision::KeyUri::parse(&screen.uri()).unwrap();
        let secret = uri.secret().expose_secret_bytes().to_vec();
        let bytes: Vec<u8> =
            sqlx::query_scalar("SELECT record FROM totp_enroll_enrollments WHERE account = ?1")
                .bind(account.as_str())
                .fetch_one(store.pool())
                .await
                .unwrap();
        let loaded = store.load(&account).await.unwrap().unwrap();
        assert_eq!(bytes, loaded.record.encode());
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_slice()));
        store.close().await;
        let file = std::fs::read(dir.0.join("totp.db")).unwrap();
        let wal = std::fs::read(dir.0.join("totp.db-wal")).unwrap_or_default();
        for content in [file, wal] {
            assert!(
                !content
                    .windows(secret.len())
                    .any(|w| w == secret.as_slice())
            );
        }
    }
}

#[cfg(feature = "postgres")]
mod postgres_faults {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use totp_enroll::store::{Listed, OutboxEntry, PostgresStore};
    use totp_enroll::testing::conformance::fresh_account;
    use totp_enroll::{
        AccountId, Login, Store, error::EngineError, error::Refusal, error::StoreError,
        lifecycle::Enrollment, store::Versioned,
    };

    use super::rig::{Rig, chain, last_used_step};
    use super::{LATEST_SCHEMA, PG_SERVER, note, pg_url};

    /// What happens between the engine's load and its write.
    enum Hook {
        /// `pg_terminate_backend` of the store's sessions (a dropped connection).
        KillSessions,
        /// A fast shutdown and start of the server (`TOTP_ENROLL_PG_RESTART`).
        RestartServer(String),
    }

    /// A store that, once armed, runs its hook between the engine's load and its write.
    struct Interrupted {
        inner: PostgresStore,
        admin: PostgresStore,
        application_name: String,
        hook: Hook,
        armed: AtomicBool,
    }

    impl Interrupted {
        /// A store whose pool does not ping connections before use (so the dead one is
        /// really used) and an admin store, at `url`.
        async fn connect(url: &str, hook: Hook) -> Self {
            let application_name = fresh_account("totp-interrupted")
                .unwrap()
                .as_str()
                .to_owned();
            let inner = PostgresStore::connect_with(
                PostgresStore::options(url)
                    .unwrap()
                    .application_name(&application_name),
                PostgresStore::pool_options()
                    .max_connections(2)
                    .test_before_acquire(false),
            )
            .await
            .unwrap();
            Self {
                inner,
                admin: PostgresStore::connect(url).await.unwrap(),
                application_name,
                hook,
                armed: AtomicBool::new(false),
            }
        }

        async fn run_hook(&self) {
            match &self.hook {
                Hook::KillSessions => self.kill_sessions().await,
                Hook::RestartServer(script) => {
                    let script = script.clone();
                    let status = tokio::task::spawn_blocking(move || {
                        std::process::Command::new("sh").arg(&script).status()
                    })
                    .await
                    .unwrap()
                    .unwrap();
                    assert!(status.success(), "restarting the server failed: {status}");
                }
            }
        }

        async fn kill_sessions(&self) {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE application_name = $1 AND pid <> pg_backend_pid()",
            )
            .bind(&self.application_name)
            .execute(self.admin.pool())
            .await
            .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let alive: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1",
                )
                .bind(&self.application_name)
                .fetch_one(self.admin.pool())
                .await
                .unwrap();
                if alive == 0 {
                    return;
                }
                assert!(Instant::now() < deadline, "sessions did not end");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    impl Store for Interrupted {
        async fn load(&self, account: &AccountId) -> Result<Option<Versioned>, StoreError> {
            self.inner.load(account).await
        }

        async fn version(&self, account: &AccountId) -> Result<Option<u64>, StoreError> {
            self.inner.version(account).await
        }

        async fn replace_if(
            &self,
            account: &AccountId,
            expected: Option<u64>,
            record: &Enrollment,
            events: &[Vec<u8>],
        ) -> Result<u64, StoreError> {
            if self.armed.swap(false, Ordering::SeqCst) {
                self.run_hook().await;
            }
            self.inner
                .replace_if(account, expected, record, events)
                .await
        }

        async fn append_events(
            &self,
            account: &AccountId,
            events: &[Vec<u8>],
        ) -> Result<(), StoreError> {
            self.inner.append_events(account, events).await
        }

        async fn forget(
            &self,
            account: &AccountId,
            expected: u64,
            events: &[Vec<u8>],
        ) -> Result<u64, StoreError> {
            self.inner.forget(account, expected, events).await
        }

        async fn reinstate(
            &self,
            account: &AccountId,
            expected: u64,
            record: &Enrollment,
            events: &[Vec<u8>],
        ) -> Result<(), StoreError> {
            self.inner
                .reinstate(account, expected, record, events)
                .await
        }

        async fn list(
            &self,
            after: Option<&AccountId>,
            limit: usize,
        ) -> Result<Vec<Listed>, StoreError> {
            self.inner.list(after, limit).await
        }

        async fn pending_events(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
            self.inner.pending_events(limit).await
        }

        async fn acknowledge(&self, ids: &[u64]) -> Result<(), StoreError> {
            self.inner.acknowledge(ids).await
        }
    }

    /// Verify with the hook between load and write: a typed backend error and the step not
    /// written; the pool then recovers and the same code, never consumed, is accepted once.
    async fn fails_closed_when_interrupted(url: &str, hook: Hook) {
        let store = Arc::new(Interrupted::connect(url, hook).await);
        let rig = Rig::new(Arc::clone(&store));
        let (account, totp) = rig.enroll("pg-interrupted").await;
        let confirmed_step = last_used_step(&store.admin, &account).await;
        let now = rig.next_period();
        let code = totp.code_at(now).to_string();

        store.armed.store(true, Ordering::SeqCst);
        match rig.engine.verify_login(&account, &code).await {
            Err(EngineError::Store(StoreError::Backend(error))) => {
                eprintln!("interrupted verify: {}", chain(&*error));
            }
            other => panic!("a lost connection must give StoreError::Backend, got {other:?}"),
        }
        assert_eq!(
            last_used_step(&store.admin, &account).await,
            confirmed_step,
            "nothing was written"
        );

        // The pool drops dead connections as they fail; within a few tries the code is
        // accepted, once.
        let mut accepted = 0;
        for _ in 0..4 {
            match rig.engine.verify_login(&account, &code).await {
                Ok(Login::Verified(_)) => {
                    accepted += 1;
                    break;
                }
                Err(EngineError::Store(StoreError::Backend(_))) => {
                    assert_eq!(last_used_step(&store.admin, &account).await, confirmed_step);
                }
                other => panic!("unexpected outcome {other:?}"),
            }
        }
        assert_eq!(accepted, 1, "the pool recovered");
        assert_eq!(
            last_used_step(&store.admin, &account).await,
            Some(totp.step_at(now))
        );
        assert!(matches!(
            rig.engine.verify_login(&account, &code).await,
            Err(EngineError::Refused(Refusal::Replayed))
        ));
    }

    /// The store's connections are terminated between load and write.
    #[tokio::test(flavor = "multi_thread")]
    async fn connection_killed_between_load_and_write_fails_closed() {
        let Some(url) = pg_url() else { return };
        let _server = PG_SERVER.read().await;
        fails_closed_when_interrupted(&url, Hook::KillSessions).await;
    }

    /// The server restarts (fast shutdown, start) between load and write. Needs
    /// `TOTP_ENROLL_PG_RESTART` (exported by `.ci/postgres.sh`); other PostgreSQL tests of
    /// this binary wait while it runs.
    #[tokio::test(flavor = "multi_thread")]
    async fn server_restart_between_load_and_write_fails_closed() {
        let Some(url) = pg_url() else { return };
        let Ok(script) = std::env::var("TOTP_ENROLL_PG_RESTART") else {
            note(
                "NOTE: PostgreSQL restart test SKIPPED: TOTP_ENROLL_PG_RESTART (a script that \
                 restarts the server, exported by `.ci/postgres.sh`) is not set.",
            );
            return;
        };
        let _exclusive = PG_SERVER.write().await;
        fails_closed_when_interrupted(&url, Hook::RestartServer(script)).await;
    }

    /// No server: connecting is a typed backend error (not a hang, not a panic).
    #[tokio::test(flavor = "multi_thread")]
    async fn unreachable_server_is_a_backend_error() {
        if pg_url().is_none() {
            return;
        }
        let result = PostgresStore::connect_with(
            PostgresStore::options("postgres://postgres@127.0.0.1:1/postgres").unwrap(),
            PostgresStore::pool_options().acquire_timeout(Duration::from_secs(3)),
        )
        .await;
        assert!(
            matches!(result, Err(StoreError::Backend(_))),
            "got {result:?}"
        );
    }

    /// Migrations are recorded once, even when several processes connect at once, and
    /// connecting again (as every process does) is a no-op.
    #[tokio::test(flavor = "multi_thread")]
    async fn migrations_are_recorded_and_idempotent() {
        let Some(url) = pg_url() else { return };
        let _server = PG_SERVER.read().await;
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { PostgresStore::connect(&url).await })
            })
            .collect();
        for handle in handles {
            let store = handle.await.unwrap().unwrap();
            assert_eq!(store.schema_version().await.unwrap(), LATEST_SCHEMA);
        }
        let store = PostgresStore::connect(&url).await.unwrap();
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM totp_enroll_schema_version")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(rows, LATEST_SCHEMA, "each migration recorded once");
    }
}

/// The suite has teeth: a store whose `replace_if` checks the version and then writes in a
/// second step (read-then-write across an await, the bug the single conditional statement
/// prevents) fails the concurrency checks.
mod suite_catches_a_racy_store {
    use std::sync::Arc;
    use std::time::Duration;

    use totp_enroll::store::{Listed, OutboxEntry};
    use totp_enroll::testing::conformance::{Check, Config};
    use totp_enroll::{
        AccountId, MemoryStore, Store, error::StoreError, lifecycle::Enrollment, store::Versioned,
    };

    struct RacyStore(MemoryStore);

    impl Store for RacyStore {
        async fn load(&self, account: &AccountId) -> Result<Option<Versioned>, StoreError> {
            self.0.load(account).await
        }

        async fn version(&self, account: &AccountId) -> Result<Option<u64>, StoreError> {
            self.0.version(account).await
        }

        async fn replace_if(
            &self,
            account: &AccountId,
            expected: Option<u64>,
            record: &Enrollment,
            events: &[Vec<u8>],
        ) -> Result<u64, StoreError> {
            let seen = self.0.version(account).await?;
            if seen != expected {
                return Err(StoreError::Conflict);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            // Blind write: whatever the version is now.
            let current = self.0.version(account).await?;
            self.0.replace_if(account, current, record, events).await
        }

        async fn append_events(
            &self,
            account: &AccountId,
            events: &[Vec<u8>],
        ) -> Result<(), StoreError> {
            self.0.append_events(account, events).await
        }

        async fn forget(
            &self,
            account: &AccountId,
            expected: u64,
            events: &[Vec<u8>],
        ) -> Result<u64, StoreError> {
            self.0.forget(account, expected, events).await
        }

        async fn reinstate(
            &self,
            account: &AccountId,
            expected: u64,
            record: &Enrollment,
            events: &[Vec<u8>],
        ) -> Result<(), StoreError> {
            self.0.reinstate(account, expected, record, events).await
        }

        async fn list(
            &self,
            after: Option<&AccountId>,
            limit: usize,
        ) -> Result<Vec<Listed>, StoreError> {
            self.0.list(after, limit).await
        }

        async fn pending_events(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
            self.0.pending_events(limit).await
        }

        async fn acknowledge(&self, ids: &[u64]) -> Result<(), StoreError> {
            self.0.acknowledge(ids).await
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racy_store_fails_one_acceptance() {
        let store = Arc::new(RacyStore(MemoryStore::new()));
        let config = Config::default().with_rounds(5);
        let error = Check::OneAcceptance.run(store, &config).await.unwrap_err();
        assert!(error.contains("one_acceptance"), "{error}");
        eprintln!("{error}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racy_store_fails_exact_failure_count() {
        let store = Arc::new(RacyStore(MemoryStore::new()));
        let error = Check::ExactFailureCount
            .run(store, &Config::default())
            .await
            .unwrap_err();
        assert!(error.contains("failures"), "{error}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racy_store_passes_the_sequential_checks() {
        let store = Arc::new(RacyStore(MemoryStore::new()));
        for check in [
            Check::Crud,
            Check::VersionConflicts,
            Check::RecordRoundTrip,
            Check::Tombstones,
            Check::Listing,
            Check::OutboxAtomicity,
            Check::OutboxDelivery,
        ] {
            check
                .run(Arc::clone(&store), &Config::default())
                .await
                .unwrap();
        }
    }
}

/// The new checks have teeth too: a store with one outbox, tombstone or listing flaw
/// fails the check that covers it.
mod suite_catches_broken_stores {
    use std::sync::Arc;

    use totp_enroll::store::{Listed, OutboxEntry};
    use totp_enroll::testing::conformance::{Check, Config};
    use totp_enroll::{
        AccountId, MemoryStore, Store, error::StoreError, lifecycle::Enrollment, store::Versioned,
    };

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Flaw {
        /// A write's events are appended before (and whatever) the version check says.
        EventsOnConflict,
        /// Empty events are dropped.
        DropsEmptyEvents,
        /// `pending_events` answers the newest `limit` events.
        NewestFirst,
        /// `acknowledge` removes every event of the acknowledged events' accounts.
        AcknowledgesAccounts,
        /// An erased account looks never written: no version, and a first write over it
        /// succeeds.
        ErasureForgetsVersion,
        /// `list` orders ids by UTF-16 code units (as a Java or JavaScript backend would).
        ListsByUtf16,
    }

    struct Flawed {
        inner: MemoryStore,
        flaw: Flaw,
    }

    impl Flawed {
        fn events(&self, events: &[Vec<u8>]) -> Vec<Vec<u8>> {
            events
                .iter()
                .filter(|e| self.flaw != Flaw::DropsEmptyEvents || !e.is_empty())
                .cloned()
                .collect()
        }

        async fn everything(&self) -> Result<Vec<OutboxEntry>, StoreError> {
            self.inner.pending_events(usize::MAX).await
        }
    }

    impl Store for Flawed {
        async fn load(&self, account: &AccountId) -> Result<Option<Versioned>, StoreError> {
            self.inner.load(account).await
        }

        async fn version(&self, account: &AccountId) -> Result<Option<u64>, StoreError> {
            let version = self.inner.version(account).await?;
            if self.flaw == Flaw::ErasureForgetsVersion && self.inner.load(account).await?.is_none()
            {
                return Ok(None);
            }
            Ok(version)
        }

        async fn replace_if(
            &self,
            account: &AccountId,
            expected: Option<u64>,
            record: &Enrollment,
            events: &[Vec<u8>],
        ) -> Result<u64, StoreError> {
            let events = self.events(events);
            let mut expected = expected;
            if self.flaw == Flaw::EventsOnConflict {
                self.inner.append_events(account, &events).await?;
                return self.inner.replace_if(account, expected, record, &[]).await;
            }
            // A first write over a tombstone takes the tombstone's version.
            if self.flaw == Flaw::ErasureForgetsVersion
                && expected.is_none()
                && self.inner.load(account).await?.is_none()
            {
                expected = self.inner.version(account).await?;
            }
            self.inner
                .replace_if(account, expected, record, &events)
                .await
        }

        async fn append_events(
            &self,
            account: &AccountId,
            events: &[Vec<u8>],
        ) -> Result<(), StoreError> {
            self.inner
                .append_events(account, &self.events(events))
                .await
        }

        async fn forget(
            &self,
            account: &AccountId,
            expected: u64,
            events: &[Vec<u8>],
        ) -> Result<u64, StoreError> {
            self.inner
                .forget(account, expected, &self.events(events))
                .await
        }

        async fn reinstate(
            &self,
            account: &AccountId,
            expected: u64,
            record: &Enrollment,
            events: &[Vec<u8>],
        ) -> Result<(), StoreError> {
            self.inner
                .reinstate(account, expected, record, &self.events(events))
                .await
        }

        async fn list(
            &self,
            after: Option<&AccountId>,
            limit: usize,
        ) -> Result<Vec<Listed>, StoreError> {
            if self.flaw != Flaw::ListsByUtf16 {
                return self.inner.list(after, limit).await;
            }
            let key = |id: &AccountId| id.as_str().encode_utf16().collect::<Vec<u16>>();
            let mut all = self.inner.list(None, usize::MAX).await?;
            all.sort_by_key(|row| key(&row.account));
            Ok(all
                .into_iter()
                .filter(|row| after.is_none_or(|after| key(&row.account) > key(after)))
                .take(limit)
                .collect())
        }

        async fn pending_events(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
            if self.flaw != Flaw::NewestFirst {
                return self.inner.pending_events(limit).await;
            }
            let all = self.everything().await?;
            let skip = all.len().saturating_sub(limit);
            Ok(all.into_iter().skip(skip).collect())
        }

        async fn acknowledge(&self, ids: &[u64]) -> Result<(), StoreError> {
            if self.flaw != Flaw::AcknowledgesAccounts {
                return self.inner.acknowledge(ids).await;
            }
            let all = self.everything().await?;
            let accounts: Vec<&AccountId> = all
                .iter()
                .filter(|e| ids.contains(&e.id))
                .map(|e| &e.account)
                .collect();
            let doomed: Vec<u64> = all
                .iter()
                .filter(|e| accounts.contains(&&e.account))
                .map(|e| e.id)
                .collect();
            self.inner.acknowledge(&doomed).await
        }
    }

    async fn fails(flaw: Flaw, check: Check, wanted: &str) {
        let store = Arc::new(Flawed {
            inner: MemoryStore::new(),
            flaw,
        });
        let error = check
            .run(store, &Config::default())
            .await
            .expect_err(&format!("{check:?} must catch {flaw:?}"));
        assert!(error.contains(check.name()), "{error}");
        assert!(error.contains(wanted), "{flaw:?}: {error}");
        eprintln!("{flaw:?}: {error}");
    }

    #[tokio::test]
    async fn events_of_a_conflicting_write() {
        fails(
            Flaw::EventsOnConflict,
            Check::OutboxAtomicity,
            "a failed one none",
        )
        .await;
    }

    #[tokio::test]
    async fn dropped_empty_events() {
        fails(
            Flaw::DropsEmptyEvents,
            Check::OutboxAtomicity,
            "expected 0 bytes",
        )
        .await;
    }

    #[tokio::test]
    async fn newest_events_first() {
        fails(Flaw::NewestFirst, Check::OutboxDelivery, "the oldest").await;
    }

    #[tokio::test]
    async fn acknowledging_more_than_asked() {
        fails(
            Flaw::AcknowledgesAccounts,
            Check::OutboxDelivery,
            "removes exactly the given ids",
        )
        .await;
    }

    #[tokio::test]
    async fn erasure_that_forgets_the_version() {
        fails(
            Flaw::ErasureForgetsVersion,
            Check::Tombstones,
            "an erased account (its tombstone)",
        )
        .await;
    }

    #[tokio::test]
    async fn listing_in_utf16_order() {
        fails(Flaw::ListsByUtf16, Check::Listing, "byte order").await;
    }

    /// The same stores pass the checks that do not cover their flaw (the flaws are real
    /// flaws, not broken stores).
    #[tokio::test]
    async fn each_flaw_passes_the_crud_check() {
        for flaw in [
            Flaw::EventsOnConflict,
            Flaw::DropsEmptyEvents,
            Flaw::NewestFirst,
            Flaw::AcknowledgesAccounts,
            Flaw::ErasureForgetsVersion,
            Flaw::ListsByUtf16,
        ] {
            let store = Arc::new(Flawed {
                inner: MemoryStore::new(),
                flaw,
            });
            Check::Crud
                .run(store, &Config::default())
                .await
                .unwrap_or_else(|e| panic!("{flaw:?}: {e}"));
        }
    }
}

/// `FaultyStore` delegates every method (it passes the whole suite with no fault) and each
/// write-failing fault writes neither a record nor an event.
mod faulty_store {
    use std::sync::Arc;

    use totp_enroll::testing::conformance::{Check, Config, fresh_account};
    use totp_enroll::testing::{Fault, FaultyStore};
    use totp_enroll::{MemoryStore, Store, error::StoreError, lifecycle::Enrollment};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn passes_every_check_without_a_fault() {
        let store = Arc::new(FaultyStore::new(MemoryStore::new()));
        for check in Check::ALL {
            check
                .run(Arc::clone(&store), &Config::default().with_rounds(5))
                .await
                .unwrap();
        }
    }

    fn injected<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
        matches!(result, Err(StoreError::Backend(ref e)) if e.to_string() == "injected storage fault")
    }

    /// Every write (and, under `Outbox`, every write with events) fails and leaves the
    /// store as it was; the others pass.
    #[tokio::test]
    async fn write_faults_write_nothing() {
        let record = Enrollment::not_registered();
        let events = vec![b"event".to_vec()];
        for fault in [Fault::Write, Fault::Outbox] {
            let store = FaultyStore::new(MemoryStore::new());
            let account = fresh_account("faulty").unwrap();
            store
                .replace_if(&account, None, &record, &[])
                .await
                .unwrap();
            store.append_events(&account, &events).await.unwrap();
            let pending = store.pending_events(10).await.unwrap();
            store.set_fault(fault);
            assert!(injected(
                store.replace_if(&account, Some(1), &record, &events).await
            ));
            assert!(injected(store.append_events(&account, &events).await));
            assert!(injected(store.forget(&account, 1, &events).await));
            assert!(injected(
                store.reinstate(&account, 1, &record, &events).await
            ));
            let ids: Vec<u64> = pending.iter().map(|e| e.id).collect();
            match fault {
                Fault::Write => {
                    assert!(injected(
                        store.replace_if(&account, Some(1), &record, &[]).await
                    ));
                    assert!(injected(store.append_events(&account, &[]).await));
                    assert!(injected(store.forget(&account, 1, &[]).await));
                    assert!(injected(store.acknowledge(&ids).await));
                }
                _ => {
                    // Without events the writes reach the store (and the reads work).
                    assert_eq!(store.version(&account).await.unwrap(), Some(1));
                    store.append_events(&account, &[]).await.unwrap();
                    assert!(matches!(
                        store.reinstate(&account, 1, &record, &[]).await,
                        Err(StoreError::Conflict)
                    ));
                }
            }
            store.set_fault(Fault::None);
            assert_eq!(store.version(&account).await.unwrap(), Some(1), "{fault:?}");
            assert_eq!(
                store.pending_events(10).await.unwrap(),
                pending,
                "{fault:?}"
            );
        }
    }

    /// `Acknowledge` keeps the events; `LostAcknowledgement` removes them but reports an
    /// error; `Load` fails every read.
    #[tokio::test]
    async fn acknowledgement_and_read_faults() {
        let store = FaultyStore::new(MemoryStore::new());
        let account = fresh_account("faulty").unwrap();
        store
            .append_events(&account, &[b"a".to_vec(), b"b".to_vec()])
            .await
            .unwrap();
        let ids: Vec<u64> = store
            .pending_events(10)
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        store.set_fault(Fault::Acknowledge);
        assert!(injected(store.acknowledge(&ids).await));
        store.set_fault(Fault::Load);
        assert!(injected(store.load(&account).await));
        assert!(injected(store.version(&account).await));
        assert!(injected(store.list(None, 10).await));
        assert!(injected(store.pending_events(10).await));
        store.set_fault(Fault::LostAcknowledgement);
        assert_eq!(store.pending_events(10).await.unwrap().len(), 2);
        assert!(injected(store.acknowledge(&ids).await));
        store.set_fault(Fault::None);
        assert!(store.pending_events(10).await.unwrap().is_empty());
    }
}
