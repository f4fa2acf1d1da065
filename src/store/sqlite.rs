//! [`SqliteStore`] (feature `sqlite`): enrollment records in a SQLite database file, the
//! embedded default for a small portal (one host, one or a few processes).
//!
//! Driver, schema, migrations, atomicity and failure behaviour: see [`SqliteStore`].

use core::str::FromStr;
use core::time::Duration;

use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::account::AccountId;
use crate::error::StoreError;
use crate::record::EnrollmentRecord;
use crate::store::sql::{self, Migration, Schema};
use crate::store::{Store, Versioned};

/// The schema, oldest first. Released entries are never edited: append a new one.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "create totp_enroll_enrollments",
    sql: include_str!("../../migrations/sqlite/0001_create_enrollments.sql"),
}];

const CREATE_SCHEMA_VERSION: &str = "CREATE TABLE IF NOT EXISTS totp_enroll_schema_version (\
     version BIGINT NOT NULL PRIMARY KEY, \
     description TEXT NOT NULL, \
     applied_at BIGINT NOT NULL)";

const SCHEMA_VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM totp_enroll_schema_version";

const RECORD_MIGRATION: &str = "INSERT INTO totp_enroll_schema_version (version, description, applied_at) \
     VALUES (?1, ?2, CAST(strftime('%s', 'now') AS INTEGER))";

/// The migrations and the version table's statements.
const SCHEMA: Schema = Schema {
    migrations: MIGRATIONS,
    create_table: CREATE_SCHEMA_VERSION,
    read_version: SCHEMA_VERSION,
    record_migration: RECORD_MIGRATION,
};

const LOAD: &str = "SELECT version, record FROM totp_enroll_enrollments WHERE account = ?1";

const INSERT: &str = "INSERT INTO totp_enroll_enrollments (account, version, record, updated_at) \
     VALUES (?1, 1, ?2, CAST(strftime('%s', 'now') AS INTEGER)) \
     ON CONFLICT (account) DO NOTHING";

const UPDATE: &str = "UPDATE totp_enroll_enrollments \
     SET record = ?3, version = version + 1, updated_at = CAST(strftime('%s', 'now') AS INTEGER) \
     WHERE account = ?1 AND version = ?2";

/// A SQLite-backed [`Store`]: a pool of connections to one database file (WAL mode), or
/// to a private in-memory database for tests.
///
/// ## Driver
///
/// [sqlx](https://docs.rs/sqlx) 0.8 with `default-features = false` and only
/// `runtime-tokio` plus `sqlite` (the same crate serves `PostgresStore` with feature `postgres`):
/// one async API and one pool implementation for both databases; SQLite runs on sqlx's
/// worker threads, so a connection waiting on a lock never blocks the async runtime; no
/// `macros` (queries are plain strings exercised by the conformance suite, so building
/// needs no database), no TLS, no `migrate` (the few embedded migrations below are applied
/// by this module). SQLite itself is compiled in (bundled), so no system library is needed.
///
/// ## Schema and migrations
///
/// [`SqliteStore::connect`] (or [`SqliteStore::migrate`]) applies the embedded, numbered
/// migrations in `migrations/sqlite/` inside one `BEGIN IMMEDIATE` transaction and records
/// each in the table `totp_enroll_schema_version`; several processes starting at once
/// serialise on SQLite's write lock. The records live in
/// `totp_enroll_enrollments(account TEXT PRIMARY KEY, version BIGINT, record BLOB, updated_at BIGINT)`;
/// `record` holds exactly [`EnrollmentRecord::encode`]'s bytes (the secret is sealed).
///
/// ## Atomicity
///
/// [`Store::replace_if`] is ONE statement, never a read followed by a write:
/// `UPDATE … SET record = ?3, version = version + 1 WHERE account = ?1 AND version = ?2`,
/// or for a first write `INSERT … ON CONFLICT (account) DO NOTHING`. SQLite runs each
/// statement under its database write lock, so with any number of connections or processes
/// on the file exactly one writer of a given version changes a row; the others change zero
/// rows and get [`StoreError::Conflict`].
///
/// ## Failures
///
/// A database locked by another connection for longer than the busy timeout
/// ([`SqliteStore::DEFAULT_BUSY_TIMEOUT`]), a full disk, a read-only file or any I/O error
/// is a [`StoreError::Backend`]; the engine then reports an error, never an acceptance.
///
/// [`Store::replace_if`]: crate::store::Store::replace_if
///
/// ```no_run
/// # async fn demo() -> Result<(), totp_enroll::StoreError> {
/// use totp_enroll::store::SqliteStore;
/// let store = SqliteStore::connect("sqlite:///var/lib/portal/totp.db").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

/// The database's name in error messages.
const BACKEND: &str = "SQLite";

fn failure(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    sql::failure(BACKEND, operation)
}

/// Whether `url` names an in-memory database (`:memory:`, `sqlite::memory:`, `mode=memory`).
fn is_in_memory(url: &str) -> bool {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    database == ":memory:" || params.split('&').any(|p| p == "mode=memory")
}

impl SqliteStore {
    /// How long a statement waits for another connection's lock before failing with a
    /// [`StoreError::Backend`] (`SQLITE_BUSY`).
    pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
    /// Connections in the pool of a file database (writes are serialised by SQLite anyway;
    /// more connections only add concurrent readers).
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;
    /// How long a caller waits for a free connection from the pool.
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

    /// Opens (creating if missing) the database at `url` and applies the migrations.
    ///
    /// `url` is a path or a `sqlite:` URL (`sqlite:///abs/path.db`, `sqlite://rel.db`,
    /// `sqlite:path.db?mode=rwc`). A file database is put in WAL mode with
    /// `synchronous = FULL` (an accepted code is on disk before it is reported) and the
    /// [`DEFAULT_BUSY_TIMEOUT`](Self::DEFAULT_BUSY_TIMEOUT). `:memory:` (or
    /// `sqlite::memory:`) opens a private in-memory database for tests, held by a pool of
    /// exactly one connection that is never closed (a pool of several would give each
    /// connection its own empty database); it vanishes with the store.
    ///
    /// Two processes creating the same NEW file at the same instant may race on switching
    /// it to WAL (SQLite cannot wait for that lock): create it once (e.g. at deployment)
    /// before starting several processes.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = Self::options(url)?;
        let pool = if is_in_memory(url) {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(Self::DEFAULT_ACQUIRE_TIMEOUT)
        } else {
            Self::pool_options()
        };
        Self::connect_with(options, pool).await
    }

    /// The connection options [`connect`](Self::connect) uses for `url`, to adjust (busy
    /// timeout, pragmas, read-only) before [`connect_with`](Self::connect_with).
    pub fn options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(failure("parsing the database URL"))?
            .create_if_missing(true)
            .busy_timeout(Self::DEFAULT_BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Full);
        Ok(if is_in_memory(url) {
            options
        } else {
            options.journal_mode(SqliteJournalMode::Wal)
        })
    }

    /// The pool options [`connect`](Self::connect) uses for a file database.
    pub fn pool_options() -> SqlitePoolOptions {
        SqlitePoolOptions::new()
            .max_connections(Self::DEFAULT_MAX_CONNECTIONS)
            .acquire_timeout(Self::DEFAULT_ACQUIRE_TIMEOUT)
    }

    /// Opens a pool with explicit options and applies the migrations. For an in-memory
    /// database the pool must hold exactly one connection that is never closed (see
    /// [`connect`](Self::connect)).
    pub async fn connect_with(
        options: SqliteConnectOptions,
        pool: SqlitePoolOptions,
    ) -> Result<Self, StoreError> {
        let pool = pool
            .connect_with(options)
            .await
            .map_err(failure("connecting"))?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the embedded migrations not yet recorded in `totp_enroll_schema_version`,
    /// in one `BEGIN IMMEDIATE` transaction. Idempotent; [`connect`](Self::connect) calls
    /// it. Refuses a database whose schema is newer than this build knows. An up-to-date
    /// database is only read, so a read-only database can be opened.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let latest = SCHEMA.latest_version();
        if self
            .schema_version()
            .await
            .is_ok_and(|current| current == latest)
        {
            return Ok(());
        }
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(failure("beginning the migration"))?;
        SCHEMA.apply::<sqlx::Sqlite>(BACKEND, &mut tx).await?;
        tx.commit()
            .await
            .map_err(failure("committing the migration"))
    }

    /// The schema version recorded in the database (0 before the first migration).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar(SCHEMA_VERSION)
            .fetch_one(&self.pool)
            .await
            .map_err(failure("reading the schema version"))
    }

    /// The connection pool, e.g. for health checks.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection; later operations fail with [`StoreError::Backend`].
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl Store for SqliteStore {
    async fn load(&self, account: &AccountId) -> Result<Option<Versioned>, StoreError> {
        let Some(row) = sqlx::query(LOAD)
            .bind(account.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(failure("load"))?
        else {
            return Ok(None);
        };
        sql::versioned(row.try_get(0), row.try_get(1)).map(Some)
    }

    async fn replace_if(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        record: &EnrollmentRecord,
    ) -> Result<u64, StoreError> {
        let bytes = record.encode();
        let (operation, result, next) = match expected {
            None => {
                let result = sqlx::query(INSERT)
                    .bind(account.as_str())
                    .bind(bytes)
                    .execute(&self.pool)
                    .await;
                ("insert", result, 1)
            }
            Some(expected) => {
                let (expected, next) = sql::update_versions(expected)?;
                let result = sqlx::query(UPDATE)
                    .bind(account.as_str())
                    .bind(expected)
                    .bind(bytes)
                    .execute(&self.pool)
                    .await;
                ("conditional update", result, next)
            }
        };
        sql::written(BACKEND, operation, result.map(|r| r.rows_affected()), next)
    }
}

/// `connect` and `migrate` can run in spawned tasks.
#[allow(dead_code, clippy::let_underscore_future)]
fn futures_are_send(store: &SqliteStore) {
    fn send<T: Send>(_: T) {}
    send(SqliteStore::connect(""));
    send(store.migrate());
}
