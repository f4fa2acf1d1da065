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
//! this crate, one test per (store, check) so a failure names both (the SQL stores also
//! as opened on an application's own pool, `from_pool`: `app_pool.rs`); then each SQL store's
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

#[path = "../pg_env/mod.rs"]
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

#[cfg(feature = "sqlite")]
conformance!(
    sqlite_from_pool,
    app_pool::sqlite::from_pool_fixture,
    Config::default().with_rounds(20)
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
#[cfg(feature = "postgres")]
conformance!(
    postgres_from_pool,
    app_pool::postgres::from_pool_fixture,
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

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod rig;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod app_pool;

#[cfg(feature = "sqlite")]
mod sqlite_faults;

#[cfg(feature = "postgres")]
mod postgres_faults;

mod suite_catches_a_racy_store;

mod suite_catches_broken_stores;

mod faulty_store;
