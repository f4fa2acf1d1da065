//! [`PostgresStore`] (feature `postgres`): enrollment records in PostgreSQL, for many portal
//! processes on several hosts sharing one database.
//!
//! Driver, schema, migrations, atomicity and failure behaviour: see [`PostgresStore`].

use core::str::FromStr;
use core::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Executor as _, Row};

use crate::account::AccountId;
use crate::error::StoreError;
use crate::record::EnrollmentRecord;
use crate::store::sql::{self, Migration, Schema};
use crate::store::{Store, Versioned};

/// The schema, oldest first. Released entries are never edited: append a new one.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "create totp_enroll_enrollments",
    sql: include_str!("../../migrations/postgres/0001_create_enrollments.sql"),
}];

/// Key of the advisory lock that serialises migrations across processes ("totpenrl").
const MIGRATION_LOCK: i64 = 0x746f_7470_656e_726c;

const CREATE_SCHEMA_VERSION: &str = "CREATE TABLE IF NOT EXISTS totp_enroll_schema_version (\
     version BIGINT NOT NULL PRIMARY KEY, \
     description TEXT NOT NULL, \
     applied_at TIMESTAMPTZ NOT NULL DEFAULT now())";

const SCHEMA_VERSION: &str =
    "SELECT COALESCE(MAX(version), 0)::BIGINT FROM totp_enroll_schema_version";

const RECORD_MIGRATION: &str =
    "INSERT INTO totp_enroll_schema_version (version, description) VALUES ($1, $2)";

/// The migrations and the version table's statements.
const SCHEMA: Schema = Schema {
    migrations: MIGRATIONS,
    create_table: CREATE_SCHEMA_VERSION,
    read_version: SCHEMA_VERSION,
    record_migration: RECORD_MIGRATION,
};

const LOAD: &str = "SELECT version, record FROM totp_enroll_enrollments WHERE account = $1";

const INSERT: &str = "INSERT INTO totp_enroll_enrollments (account, version, record) \
     VALUES ($1, 1, $2) ON CONFLICT (account) DO NOTHING";

const UPDATE: &str = "UPDATE totp_enroll_enrollments \
     SET record = $3, version = version + 1, updated_at = now() \
     WHERE account = $1 AND version = $2";

/// A PostgreSQL-backed [`Store`]: a connection pool to one database.
///
/// ## Driver
///
/// [sqlx](https://docs.rs/sqlx) 0.8 with `default-features = false` and only
/// `runtime-tokio` plus `postgres`: a pure-Rust client (no libpq) with a connection pool,
/// the same API as `SqliteStore` (feature `sqlite`); no `macros` (queries are plain
/// strings exercised by the conformance suite, so building needs no database), no TLS
/// (compiled out: use a unix socket, 127.0.0.1 or a private network; add a sqlx TLS
/// feature in the application if the database is remote), no `migrate` (the embedded
/// migrations are applied by this module).
///
/// ## Schema and migrations
///
/// [`PostgresStore::connect`] (or [`PostgresStore::migrate`]) applies the embedded,
/// numbered migrations in `migrations/postgres/` in one transaction holding a
/// transaction-scoped advisory lock, so processes starting together apply each migration
/// once, and records each in `totp_enroll_schema_version`. The records live in
/// `totp_enroll_enrollments(account TEXT PRIMARY KEY, version BIGINT, record BYTEA, updated_at TIMESTAMPTZ)`;
/// `record` holds exactly [`EnrollmentRecord::encode`]'s bytes (the secret is sealed).
///
/// ## Atomicity
///
/// [`Store::replace_if`] is ONE statement, never a read followed by a write:
/// `UPDATE … SET record = $3, version = version + 1 WHERE account = $1 AND version = $2`,
/// or for a first write `INSERT … ON CONFLICT (account) DO NOTHING`. Under PostgreSQL's
/// default READ COMMITTED isolation a concurrent `UPDATE` of the same row waits for the
/// first writer, then re-checks `version = $2` against the committed row and changes
/// nothing; a concurrent `INSERT` waits on the primary key and does nothing. Zero rows
/// changed is [`StoreError::Conflict`]. This holds across every pool and process.
///
/// ## Failures
///
/// A lost connection, a server restart, a pool that cannot connect within its acquire
/// timeout or any server error is a [`StoreError::Backend`]; the engine then reports an
/// error, never an acceptance. A connection lost after the server committed but before the
/// reply arrived is also an error: the step is then consumed without an acceptance (fail
/// closed; the customer types the next code).
///
/// [`Store::replace_if`]: crate::store::Store::replace_if
///
/// ```no_run
/// # async fn demo() -> Result<(), totp_enroll::StoreError> {
/// use totp_enroll::store::PostgresStore;
/// let store = PostgresStore::connect("postgres://portal@127.0.0.1:5432/portal").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

/// The database's name in error messages.
const BACKEND: &str = "PostgreSQL";

fn failure(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    sql::failure(BACKEND, operation)
}

impl PostgresStore {
    /// Connections in the pool of one process.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
    /// How long a caller waits for a connection (free, or newly opened) before
    /// [`StoreError::Backend`].
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
    /// The `application_name` the store's sessions show in `pg_stat_activity` unless the
    /// URL or `PGAPPNAME` sets one.
    pub const DEFAULT_APPLICATION_NAME: &'static str = "totp-enroll";

    /// Connects to `url` (`postgres://user[:password]@host[:port]/database`, or a unix
    /// socket: `postgres:///database?host=/run/postgresql`) and applies the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(Self::options(url)?, Self::pool_options()).await
    }

    /// The connection options [`connect`](Self::connect) uses for `url`, to adjust before
    /// [`connect_with`](Self::connect_with).
    pub fn options(url: &str) -> Result<PgConnectOptions, StoreError> {
        let options =
            PgConnectOptions::from_str(url).map_err(failure("parsing the database URL"))?;
        Ok(if options.get_application_name().is_none() {
            options.application_name(Self::DEFAULT_APPLICATION_NAME)
        } else {
            options
        })
    }

    /// The pool options [`connect`](Self::connect) uses.
    pub fn pool_options() -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(Self::DEFAULT_MAX_CONNECTIONS)
            .acquire_timeout(Self::DEFAULT_ACQUIRE_TIMEOUT)
    }

    /// Opens a pool with explicit options and applies the migrations.
    pub async fn connect_with(
        options: PgConnectOptions,
        pool: PgPoolOptions,
    ) -> Result<Self, StoreError> {
        let pool = pool
            .connect_with(options)
            .await
            .map_err(failure("connecting"))?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the embedded migrations not yet recorded in `totp_enroll_schema_version`, in
    /// one transaction under an advisory lock. Idempotent; [`connect`](Self::connect) calls
    /// it. Refuses a database whose schema is newer than this build knows.
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
            .begin()
            .await
            .map_err(failure("beginning the migration"))?;
        // Executor methods (boxed `Send` futures) rather than `query(..).execute(&mut *tx)`,
        // whose futures rustc cannot prove `Send` for a borrowed connection: `connect` and
        // `migrate` must run in spawned tasks.
        (&mut *tx)
            .execute(sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK))
            .await
            .map_err(failure("locking the migration"))?;
        SCHEMA.apply::<sqlx::Postgres>(BACKEND, &mut tx).await?;
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
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection; later operations fail with [`StoreError::Backend`].
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl Store for PostgresStore {
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
fn futures_are_send(store: &PostgresStore) {
    fn send<T: Send>(_: T) {}
    send(PostgresStore::connect(""));
    send(store.migrate());
}
