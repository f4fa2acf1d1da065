//! [`PostgresStore`] (feature `postgres`): enrollment records in PostgreSQL, for many portal
//! processes on several hosts sharing one database.
//!
//! Driver, schema, migrations, atomicity and failure behaviour: see [`PostgresStore`].

use core::str::FromStr;
use core::time::Duration;

use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Executor as _, Row};

use crate::account::AccountId;
use crate::error::StoreError;
use crate::lifecycle::enrollment::Enrollment;
use crate::store::migration::Migration;
use crate::store::sql::{self, Schema};
use crate::store::{Listed, OutboxEntry, Store, Versioned};

/// The version table, created by the first migration (and before reading the version).
macro_rules! create_schema_version {
    () => {
        "CREATE TABLE IF NOT EXISTS totp_enroll_schema_version (\
         version BIGINT NOT NULL PRIMARY KEY, \
         description TEXT NOT NULL, \
         applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    };
}

/// Migration `$version` from `migrations/postgres/$file`, followed by the statements that
/// record it in `totp_enroll_schema_version` (see [`Migration::sql`]).
macro_rules! migration {
    ($version:literal, $description:literal, $file:literal) => {
        Migration::new(
            $version,
            $description,
            concat!(
                include_str!(concat!("../../../migrations/postgres/", $file)),
                "\n-- totp-enroll: record schema version ",
                $version,
                " (PostgresStore::from_pool checks it).\n",
                create_schema_version!(),
                ";\nINSERT INTO totp_enroll_schema_version (version, description) VALUES (",
                $version,
                ", '",
                $description,
                "');\n"
            ),
        )
    };
}

/// The schema, oldest first. Released entries are never edited: append a new one.
const MIGRATIONS: &[Migration] = &[
    migration!(
        1,
        "create totp_enroll_enrollments",
        "0001_create_enrollments.sql"
    ),
    migration!(
        2,
        "create totp_enroll_outbox and the byte-order account index",
        "0002_create_outbox.sql"
    ),
];

/// Key of the advisory lock that serialises migrations across processes ("totpenrl").
const MIGRATION_LOCK: i64 = 0x746f_7470_656e_726c;

const CREATE_SCHEMA_VERSION: &str = create_schema_version!();

const SCHEMA_VERSION: &str =
    "SELECT COALESCE(MAX(version), 0)::BIGINT FROM totp_enroll_schema_version";

/// Whether the version table exists where the session's `search_path` finds it (the
/// schema the other statements use); creates nothing.
const SCHEMA_VERSION_EXISTS: &str = "SELECT to_regclass('totp_enroll_schema_version') IS NOT NULL";

/// The migrations and the version table's statements.
const SCHEMA: Schema = Schema {
    migrations: MIGRATIONS,
    create_table: CREATE_SCHEMA_VERSION,
    table_exists: SCHEMA_VERSION_EXISTS,
    read_version: SCHEMA_VERSION,
};

/// A live row (a tombstone's record is empty).
const LOAD: &str = "SELECT version, record FROM totp_enroll_enrollments \
     WHERE account = $1 AND length(record) > 0";

/// Any row, tombstone or not; the record is not read.
const VERSION: &str = "SELECT version FROM totp_enroll_enrollments WHERE account = $1";

/// Defines a write statement (it changes at most one row of `account` `$1`) as `$plain`,
/// and as `$with_events`: the same statement that also inserts the events bound as
/// `$events` (a `bytea[]`, in array order) into the outbox for the row it changed (none if
/// it changed none), in ONE statement, answering the number of rows it changed.
macro_rules! write_statements {
    ($(#[$doc:meta])* $plain:ident, $with_events:ident = $write:literal, events = $events:literal) => {
        $(#[$doc])*
        const $plain: &str = $write;
        #[doc = concat!("`", stringify!($plain), "` inserting the events bound as `", $events, "` too.")]
        const $with_events: &str = concat!(
            "WITH written AS (",
            $write,
            " RETURNING account), ",
            "outbox AS (INSERT INTO totp_enroll_outbox (account, event) ",
            "SELECT w.account, e.event FROM written w ",
            "CROSS JOIN unnest(",
            $events,
            "::bytea[]) WITH ORDINALITY AS e(event, n) ORDER BY e.n) ",
            "SELECT count(*) FROM written"
        );
    };
}

write_statements!(
    /// A first write: a tombstone is a row, so it conflicts.
    INSERT,
    INSERT_WITH_EVENTS = "INSERT INTO totp_enroll_enrollments (account, version, record) \
         VALUES ($1, 1, $2) ON CONFLICT (account) DO NOTHING",
    events = "$3"
);

write_statements!(
    /// `replace_if` of the row at version `$2`.
    UPDATE,
    UPDATE_WITH_EVENTS = "UPDATE totp_enroll_enrollments \
         SET record = $3, version = version + 1, updated_at = now() \
         WHERE account = $1 AND version = $2",
    events = "$4"
);

write_statements!(
    /// `forget` of the row at version `$2`: a tombstone at the next version.
    FORGET,
    FORGET_WITH_EVENTS = "UPDATE totp_enroll_enrollments \
         SET record = ''::bytea, version = version + 1, updated_at = now() \
         WHERE account = $1 AND version = $2",
    events = "$3"
);

write_statements!(
    /// `reinstate` of the row at version `$2` (the largest `BIGINT`): version 1 again.
    REINSTATE,
    REINSTATE_WITH_EVENTS = "UPDATE totp_enroll_enrollments \
         SET record = $3, version = 1, updated_at = now() \
         WHERE account = $1 AND version = $2",
    events = "$4"
);

/// The events bound as `$2`, in array order (so their ids increase in that order).
const APPEND_EVENTS: &str = "INSERT INTO totp_enroll_outbox (account, event) \
     SELECT $1, e.event FROM unnest($2::bytea[]) WITH ORDINALITY AS e(event, n) ORDER BY e.n";

/// Live rows in byte order (`COLLATE "C"`, served by the index of migration 2).
const LIST_FIRST: &str = "SELECT account, version, record FROM totp_enroll_enrollments \
     WHERE length(record) > 0 ORDER BY account COLLATE \"C\" LIMIT $1";

const LIST_AFTER: &str = "SELECT account, version, record FROM totp_enroll_enrollments \
     WHERE account COLLATE \"C\" > $1 AND length(record) > 0 \
     ORDER BY account COLLATE \"C\" LIMIT $2";

const PENDING_EVENTS: &str =
    "SELECT id, account, event FROM totp_enroll_outbox ORDER BY id LIMIT $1";

const ACKNOWLEDGE: &str = "DELETE FROM totp_enroll_outbox WHERE id = ANY($1::bigint[])";

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
/// sqlx **0.8** is the supported version (any 0.8.x: Cargo shares one copy with an
/// application on 0.8). Its types are part of this store's API ([`PgPool`],
/// [`PgConnectOptions`], [`PgPoolOptions`]), so an application sharing its pool
/// ([`PostgresStore::from_pool`]) must use sqlx 0.8 too: a pool of another sqlx major
/// version (0.9, …) is another type and does not compile here. Moving this crate to a new
/// sqlx major version is therefore a breaking release of this crate (a new major version;
/// before 1.0, a new minor), never a patch.
///
/// ## Schema and migrations
///
/// Two ways to open a store, the difference being who runs the DDL:
///
/// * [`PostgresStore::connect`] (and [`connect_with`](PostgresStore::connect_with)), the
///   embedded default: opens a pool of its own and applies the numbered migrations of
///   `migrations/postgres/` not yet applied, in one transaction holding a
///   transaction-scoped advisory lock (processes starting together apply each migration
///   once), recording each in `totp_enroll_schema_version`. Its role needs the right to
///   create tables.
/// * [`PostgresStore::from_pool`]: on the application's own pool; runs no DDL, only
///   checks the recorded schema version and refuses another one with
///   [`StoreError::Schema`]. The migrations run on request: the application's migration
///   runner applies [`PostgresStore::migrations`] (the same text `migrate` runs,
///   recording each version; see [`Migration`](crate::store::Migration)), or the
///   deployment calls [`PostgresStore::migrate_pool`].
///
/// The records live in
/// `totp_enroll_enrollments(account TEXT PRIMARY KEY, version BIGINT, record BYTEA, updated_at TIMESTAMPTZ)`;
/// `record` holds exactly [`Enrollment::encode`]'s bytes (the secret is sealed), or
/// nothing for a tombstone (an erased account keeping its version). Migration 2 adds the
/// audit outbox
/// `totp_enroll_outbox(id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account TEXT, event BYTEA, created_at TIMESTAMPTZ)`
/// (ids only grow and are never reused) and an index on `account COLLATE "C"` for
/// [`Store::list`]'s byte-order pages (built inside the migration's transaction: on a
/// large table, writes wait while it is built).
///
/// ## Atomicity
///
/// Every write is ONE statement, never a read followed by a write:
/// `UPDATE … SET record = $3, version = version + 1 WHERE account = $1 AND version = $2`
/// ([`Store::replace_if`]; [`Store::forget`] sets `record = ''`, [`Store::reinstate`]
/// sets `version = 1`), or for a first write `INSERT … ON CONFLICT (account) DO NOTHING`
/// (a tombstone is a row, so it conflicts). With events, the same statement sits in a
/// `WITH written AS (… RETURNING account)` whose second part inserts
/// `unnest($n::bytea[]) WITH ORDINALITY` into the outbox for the rows `written` returns,
/// in array order: the record and its events commit together, or neither does (no
/// events when nothing was changed). Under PostgreSQL's default READ COMMITTED isolation
/// a concurrent `UPDATE` of the same row waits for the first writer, then re-checks
/// `version = $2` against the committed row and changes nothing; a concurrent `INSERT`
/// waits on the primary key and does nothing. Zero rows changed is
/// [`StoreError::Conflict`]. This holds across every pool and process.
///
/// ## The audit outbox grows until delivered
///
/// Unless the engine's policy turns it off
/// ([`EnginePolicy::with_outbox(false)`](crate::EnginePolicy::with_outbox)), every engine
/// call adds rows to `totp_enroll_outbox`, and only an [`Outbox`](crate::Outbox) removes
/// them, once its [`AuditDelivery`](crate::AuditDelivery) took them: run
/// [`Outbox::run`](crate::Outbox::run) beside the application (one loop per database is
/// enough), or the table grows forever.
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
/// [`Store::forget`]: crate::store::Store::forget
/// [`Store::reinstate`]: crate::store::Store::reinstate
/// [`Store::list`]: crate::store::Store::list
///
/// ```no_run
/// # async fn demo() -> Result<(), totp_enroll::error::StoreError> {
/// use totp_enroll::store::PostgresStore;
/// // Embedded: a pool of its own, the schema created or upgraded at start.
/// let store = PostgresStore::connect("postgres://portal@127.0.0.1:5432/portal").await?;
///
/// // On the application's pool, migrated beforehand (its migration runner applied
/// // `PostgresStore::migrations()`): no DDL here, no second pool.
/// let pool = sqlx::PgPool::connect("postgres://app@127.0.0.1:5432/app")
///     .await
///     .map_err(totp_enroll::error::StoreError::backend)?;
/// let store = PostgresStore::from_pool(pool.clone()).await?; // StoreError::Schema if not migrated
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
    /// socket: `postgres:///database?host=/run/postgresql`) with a pool of its own, and
    /// applies the migrations: it creates or alters the store's tables when the database
    /// is new or older than this build, so its role needs the right to do so at every
    /// start. The embedded default (the portal, the README); to share the application's
    /// pool and migrate on request only, see [`from_pool`](Self::from_pool).
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

    /// Opens a pool with explicit options and applies the migrations (as
    /// [`connect`](Self::connect) does).
    pub async fn connect_with(
        options: PgConnectOptions,
        pool: PgPoolOptions,
    ) -> Result<Self, StoreError> {
        let pool = pool
            .connect_with(options)
            .await
            .map_err(failure("connecting"))?;
        Self::migrate_pool(&pool).await?;
        Ok(Self { pool })
    }

    /// The store on the application's own `pool`: the store shares the pool (one pool per
    /// process for the application and the store), opens no connection of its own and
    /// runs no DDL, so the pool's role needs no right to create tables. It only reads the
    /// schema version recorded in `totp_enroll_schema_version` and refuses with
    /// [`StoreError::Schema`] a database whose schema is older (0: never migrated) or
    /// newer than this build's, having created and changed nothing.
    ///
    /// Migrate first, on request: with your migration runner applying
    /// [`migrations`](Self::migrations) (see [`Migration`](crate::store::Migration)), or
    /// with [`migrate_pool`](Self::migrate_pool) at deployment. The tables are found
    /// through the pool's `search_path`, like the application's. The pool is sqlx 0.8's
    /// `PgPool` (see the Driver section above).
    pub async fn from_pool(pool: PgPool) -> Result<Self, StoreError> {
        let store = Self { pool };
        SCHEMA.require(store.schema_version().await?)?;
        Ok(store)
    }

    /// The migrations this build's schema consists of, oldest first, for an application's
    /// own migration runner (how to apply them: [`Migration`](crate::store::Migration)).
    /// [`migrate`](Self::migrate) applies the same text.
    pub fn migrations() -> &'static [crate::store::Migration] {
        MIGRATIONS
    }

    /// Applies the migrations not yet recorded in `totp_enroll_schema_version` to the
    /// database behind `pool`, in one transaction under an advisory lock (processes
    /// starting together apply each once): what [`connect`](Self::connect) does, on
    /// request, for a pool opened elsewhere (then [`from_pool`](Self::from_pool)).
    /// Idempotent. Refuses with [`StoreError::Schema`] a database whose schema is newer
    /// than this build knows.
    pub async fn migrate_pool(pool: &PgPool) -> Result<(), StoreError> {
        let latest = SCHEMA.latest_version();
        if SCHEMA
            .recorded_version(BACKEND, pool)
            .await
            .is_ok_and(|current| current == latest)
        {
            return Ok(());
        }
        let mut tx = pool
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

    /// Applies the migrations not yet applied to this store's database
    /// ([`migrate_pool`](Self::migrate_pool) on its pool). Idempotent;
    /// [`connect`](Self::connect) calls it.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Self::migrate_pool(&self.pool).await
    }

    /// The schema version recorded in the database (0 before the first migration, or
    /// without a `totp_enroll_schema_version` table). Reads only.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        SCHEMA.recorded_version(BACKEND, &self.pool).await
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

/// A statement of this store with its arguments bound.
type Statement<'q> = sqlx::query::Query<'q, sqlx::Postgres, PgArguments>;

impl PostgresStore {
    /// Runs `statement` (a write of one account's row, as `operation`): the plain statement
    /// when `with_events` is false (its row count is read), otherwise its
    /// `…_WITH_EVENTS` form, which answers the count of rows it changed. Returns `next`,
    /// the row's new version.
    async fn write(
        &self,
        operation: &'static str,
        statement: Statement<'_>,
        with_events: bool,
        next: i64,
    ) -> Result<u64, StoreError> {
        let rows = if with_events {
            statement
                .fetch_one(&self.pool)
                .await
                .and_then(|row| row.try_get::<i64, _>(0))
                .map(|rows| u64::try_from(rows).unwrap_or(u64::MAX))
        } else {
            statement
                .execute(&self.pool)
                .await
                .map(|r| r.rows_affected())
        };
        sql::written(BACKEND, operation, rows, next)
    }
}

/// `plain`, or `with_events` when there are events.
fn statement<'q>(plain: &'q str, with_events: &'q str, events: &[Vec<u8>]) -> Statement<'q> {
    sqlx::query(if events.is_empty() {
        plain
    } else {
        with_events
    })
}

/// `statement` with `events` bound as its last argument if there are any.
fn bind_events<'q>(statement: Statement<'q>, events: &'q [Vec<u8>]) -> Statement<'q> {
    if events.is_empty() {
        statement
    } else {
        statement.bind(events)
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

    async fn version(&self, account: &AccountId) -> Result<Option<u64>, StoreError> {
        let Some(row) = sqlx::query(VERSION)
            .bind(account.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(failure("reading a version"))?
        else {
            return Ok(None);
        };
        sql::version_from_sql(row.try_get(0)).map(Some)
    }

    async fn replace_if(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        let bytes = record.encode();
        let with_events = !events.is_empty();
        match expected {
            None => {
                let query = statement(INSERT, INSERT_WITH_EVENTS, events)
                    .bind(account.as_str())
                    .bind(bytes);
                self.write("insert", bind_events(query, events), with_events, 1)
                    .await
            }
            Some(expected) => {
                let (expected, next) = sql::update_versions(expected)?;
                let query = statement(UPDATE, UPDATE_WITH_EVENTS, events)
                    .bind(account.as_str())
                    .bind(expected)
                    .bind(bytes);
                self.write(
                    "conditional update",
                    bind_events(query, events),
                    with_events,
                    next,
                )
                .await
            }
        }
    }

    async fn append_events(
        &self,
        account: &AccountId,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        sqlx::query(APPEND_EVENTS)
            .bind(account.as_str())
            .bind(events)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(failure("inserting outbox events"))
    }

    async fn forget(
        &self,
        account: &AccountId,
        expected: u64,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        let (expected, next) = sql::update_versions(expected)?;
        let query = statement(FORGET, FORGET_WITH_EVENTS, events)
            .bind(account.as_str())
            .bind(expected);
        self.write(
            "erasure",
            bind_events(query, events),
            !events.is_empty(),
            next,
        )
        .await
    }

    async fn reinstate(
        &self,
        account: &AccountId,
        expected: u64,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        let expected = sql::reinstate_version(expected)?;
        let query = statement(REINSTATE, REINSTATE_WITH_EVENTS, events)
            .bind(account.as_str())
            .bind(expected)
            .bind(record.encode());
        self.write(
            "reinstatement",
            bind_events(query, events),
            !events.is_empty(),
            1,
        )
        .await
        .map(|_| ())
    }

    async fn list(
        &self,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError> {
        let limit = sql::limit_to_sql(limit);
        let query = match after {
            None => sqlx::query(LIST_FIRST).bind(limit),
            Some(after) => sqlx::query(LIST_AFTER).bind(after.as_str()).bind(limit),
        };
        query
            .fetch_all(&self.pool)
            .await
            .map_err(failure("listing accounts"))?
            .iter()
            .map(|row| sql::listed(row.try_get(0), row.try_get(1), row.try_get(2)))
            .collect()
    }

    async fn pending_events(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        sqlx::query(PENDING_EVENTS)
            .bind(sql::limit_to_sql(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(failure("reading the outbox"))?
            .iter()
            .map(|row| sql::outbox_entry(row.try_get(0), row.try_get(1), row.try_get(2)))
            .collect()
    }

    async fn acknowledge(&self, ids: &[u64]) -> Result<(), StoreError> {
        let ids = sql::ids_to_sql(ids);
        if ids.is_empty() {
            return Ok(());
        }
        sqlx::query(ACKNOWLEDGE)
            .bind(ids)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(failure("acknowledging outbox events"))
    }
}

/// `connect`, `migrate`, `migrate_pool` and `from_pool` can run in spawned tasks.
#[allow(dead_code, clippy::let_underscore_future)]
fn futures_are_send(store: &PostgresStore, pool: PgPool) {
    fn send<T: Send>(_: T) {}
    send(PostgresStore::connect(""));
    send(store.migrate());
    send(PostgresStore::migrate_pool(&pool));
    send(PostgresStore::from_pool(pool));
}

/// Against the server at `TOTP_ENROLL_PG_URL` (skipped when unset), each test in a database
/// of its own that it drops at the end.
#[cfg(test)]
mod tests;
