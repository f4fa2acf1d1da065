//! [`SqliteStore`] (feature `sqlite`): enrollment records in a SQLite database file, the
//! embedded default for a small portal (one host, one or a few processes).
//!
//! Driver, schema, migrations, atomicity and failure behaviour: see [`SqliteStore`].

use core::str::FromStr;
use core::time::Duration;

use sqlx::Row;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};

use crate::account::AccountId;
use crate::error::StoreError;
use crate::lifecycle::enrollment::Enrollment;
use crate::store::sql;
use crate::store::{Listed, OutboxEntry, Store, Versioned};

mod statements;

use statements::*;

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
/// sqlx **0.8** is the supported version (any 0.8.x: Cargo shares one copy with an
/// application on 0.8). Its types are part of this store's API ([`SqlitePool`],
/// [`SqliteConnectOptions`], [`SqlitePoolOptions`]), so an application sharing its pool
/// ([`SqliteStore::from_pool`]) must use sqlx 0.8 too: a pool of another sqlx major
/// version (0.9, …) is another type and does not compile here. Moving this crate to a new
/// sqlx major version is therefore a breaking release of this crate (a new major version;
/// before 1.0, a new minor), never a patch.
///
/// ## Schema and migrations
///
/// Two ways to open a store, the difference being who runs the DDL:
///
/// * [`SqliteStore::connect`] (and [`connect_with`](SqliteStore::connect_with)), the
///   embedded default: opens a pool of its own and applies the numbered migrations of
///   `migrations/sqlite/` not yet applied, inside one `BEGIN IMMEDIATE` transaction (so
///   several processes starting at once serialise on SQLite's write lock), recording each
///   in the table `totp_enroll_schema_version`.
/// * [`SqliteStore::from_pool`]: on the application's own pool; runs no DDL, only checks
///   the recorded schema version and refuses another one with [`StoreError::Schema`].
///   The migrations run on request: the application's migration runner applies
///   [`SqliteStore::migrations`] (the same text `migrate` runs, recording each version;
///   see [`Migration`](crate::store::Migration)), or the deployment calls
///   [`SqliteStore::migrate_pool`].
///
/// The records live in
/// `totp_enroll_enrollments(account TEXT PRIMARY KEY, version BIGINT, record BLOB, updated_at BIGINT, events TEXT)`;
/// `record` holds exactly [`Enrollment::encode`]'s bytes (the secret is sealed), or
/// nothing for a tombstone (an erased account keeping its version). The audit outbox is
/// `totp_enroll_outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT, event BLOB, created_at BIGINT)`
/// (migration 2): ids only grow and are never reused. Migration 3 adds the column `events`
/// (NULL outside a write) and two triggers on `totp_enroll_enrollments`, `AFTER INSERT`
/// and `AFTER UPDATE OF events`, which move a batch of events written into that column
/// into the outbox and clear it (see below).
///
/// ## Atomicity
///
/// Every write is ONE statement with bound parameters, never a read followed by a write:
/// `UPDATE … SET record = ?3, version = version + 1 WHERE account = ?1 AND version = ?2`
/// ([`Store::replace_if`]; [`Store::forget`] sets `record = X''`, [`Store::reinstate`]
/// sets `version = 1`), or for a first write `INSERT … ON CONFLICT (account) DO NOTHING`
/// (a tombstone is a row, so it conflicts). SQLite runs each statement under its database
/// write lock, so with any number of connections or processes on the file exactly one
/// writer of a given version changes a row; the others change zero rows and get
/// [`StoreError::Conflict`] (the count is `sqlite3_changes()`, the statement's own rows,
/// never its triggers').
///
/// A write with events is the same single statement that also sets
/// `events = ?` to the batch: a JSON array of the events' bytes in hex, in order
/// (`["0a1b…","2c…"]`). The triggers of migration 3 fire for the changed row only, insert
/// one outbox row per array element (`unhex(value) FROM json_each(NEW.events) ORDER BY
/// key`, so the ids increase in the order of the events) and set `events` back to NULL.
/// A statement and its triggers are atomic in SQLite: if any insert fails (a full disk,
/// a batch that does not decode), the whole statement is undone, so a record and its
/// events are committed together or not at all; a version mismatch changes no row and
/// fires nothing. Why: the former `BEGIN IMMEDIATE` transaction (the write, one
/// `INSERT INTO totp_enroll_outbox` per event, `COMMIT`) cost four or more round trips
/// through sqlx's SQLite worker thread for every login; one statement costs one, like a
/// write without events. [`Store::append_events`] is one statement too
/// (`INSERT … SELECT … FROM json_each(?2)` for several events). Writes without events
/// never set `events`, so they do not run the `UPDATE` trigger.
/// [`Store::list`] pages with `account > ?1 ORDER BY account` (byte order: TEXT's
/// default `BINARY` collation).
///
/// ## The audit outbox grows until delivered
///
/// Unless the engine's policy turns it off
/// ([`EnginePolicy::with_outbox(false)`](crate::EnginePolicy::with_outbox)), every engine
/// call adds rows to `totp_enroll_outbox`, and only an [`Outbox`](crate::Outbox) removes
/// them, once its [`AuditDelivery`](crate::AuditDelivery) took them: run
/// [`Outbox::run`](crate::Outbox::run) beside the application, or the table grows forever.
///
/// ## Erasure
///
/// Every connection runs with `secure_delete = ON` ([`SqliteStore::options`]): SQLite
/// overwrites with zeros the bytes a statement deletes or replaces (a row's earlier
/// record, a delivered outbox event, a freed page), instead of leaving them in the file's
/// free space. [`Store::forget`] runs its statement with it on that very connection
/// (also when [`SqliteStore::connect_with`] was given options without it), then
/// [`SqliteStore::checkpoint_truncate`]: the write-ahead log, which holds earlier images
/// of the row's page (every login rewrote it), is copied into the database file and
/// truncated to zero bytes. When `forget` returns, no file of the database (`*.db`,
/// `*-wal`, `*-shm`) holds the erased record's sealed secret, recovery-code hashes or
/// label (`tests/erasure_on_disk.rs` scans them). If readers keep the log busy past the
/// busy timeout, `forget` fails after the tombstone was written: call it again (it
/// erases the tombstone's row anew and retries the truncation). Not covered: a database
/// written before this version with `secure_delete` off may hold older copies in free
/// space (run `VACUUM` once), and copies outside the database's files (backups, the file
/// system's or the disk's own remapped blocks).
///
/// ## Failures
///
/// A database locked by another connection for longer than the busy timeout
/// ([`SqliteStore::DEFAULT_BUSY_TIMEOUT`]), a full disk, a read-only file or any I/O error
/// is a [`StoreError::Backend`]; the engine then reports an error, never an acceptance.
///
/// [`Store::replace_if`]: crate::store::Store::replace_if
/// [`Store::append_events`]: crate::store::Store::append_events
/// [`Store::forget`]: crate::store::Store::forget
/// [`Store::reinstate`]: crate::store::Store::reinstate
/// [`Store::list`]: crate::store::Store::list
///
/// ```no_run
/// # async fn demo() -> Result<(), totp_enroll::error::StoreError> {
/// use totp_enroll::store::SqliteStore;
/// // Embedded: a pool of its own, the schema created or upgraded at start.
/// let store = SqliteStore::connect("sqlite:///var/lib/portal/totp.db").await?;
///
/// // In the application's database, on the application's pool, migrated beforehand
/// // (its migration runner applied `SqliteStore::migrations()`): no DDL here.
/// let pool = sqlx::sqlite::SqlitePoolOptions::new()
///     .connect_with(SqliteStore::options("sqlite:///var/lib/portal/app.db")?)
///     .await
///     .map_err(totp_enroll::error::StoreError::backend)?;
/// let store = SqliteStore::from_pool(pool.clone()).await?; // StoreError::Schema if not migrated
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

    /// Opens (creating if missing) the database at `url` with a pool of its own, and
    /// applies the migrations: it creates or alters the store's tables when the database
    /// is new or older than this build, so it needs the right to do so at every start.
    /// The embedded default (the portal, the README); to share the application's pool
    /// and migrate on request only, see [`from_pool`](Self::from_pool).
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
    /// timeout, pragmas, read-only) before [`connect_with`](Self::connect_with): WAL,
    /// `synchronous = FULL`, `secure_delete = ON` (see Erasure above) and the busy timeout.
    pub fn options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(failure("parsing the database URL"))?
            .create_if_missing(true)
            .busy_timeout(Self::DEFAULT_BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Full)
            .pragma("secure_delete", "ON");
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

    /// Opens a pool with explicit options and applies the migrations (as
    /// [`connect`](Self::connect) does). For an in-memory database the pool must hold
    /// exactly one connection that is never closed (see [`connect`](Self::connect)).
    pub async fn connect_with(
        options: SqliteConnectOptions,
        pool: SqlitePoolOptions,
    ) -> Result<Self, StoreError> {
        let pool = pool
            .connect_with(options)
            .await
            .map_err(failure("connecting"))?;
        Self::migrate_pool(&pool).await?;
        Ok(Self { pool })
    }

    /// The store on the application's own `pool` (its database holds the application's
    /// tables too): the store shares the pool, opens no connection of its own and runs no
    /// DDL. It only reads the schema version recorded in `totp_enroll_schema_version` and
    /// refuses with [`StoreError::Schema`] a database whose schema is older (0: never
    /// migrated) or newer than this build's, having created and changed nothing.
    ///
    /// Migrate first, on request: with your migration runner applying
    /// [`migrations`](Self::migrations) (see [`Migration`](crate::store::Migration)), or
    /// with [`migrate_pool`](Self::migrate_pool) at deployment.
    ///
    /// Build the pool with [`options`](Self::options) (WAL, `synchronous = FULL`: an
    /// accepted code is on disk before it is reported; the busy timeout;
    /// `secure_delete`) and adjust what the application needs; the store's guarantees
    /// assume those settings, which it cannot check on a pool it did not open. An
    /// in-memory database needs a pool of exactly one connection that is never closed.
    /// The pool is sqlx 0.8's `SqlitePool` (see the Driver section above).
    pub async fn from_pool(pool: SqlitePool) -> Result<Self, StoreError> {
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
    /// database behind `pool`, in one `BEGIN IMMEDIATE` transaction: what
    /// [`connect`](Self::connect) does, on request, for a pool opened elsewhere (then
    /// [`from_pool`](Self::from_pool)). Idempotent. Refuses with [`StoreError::Schema`]
    /// a database whose schema is newer than this build knows. An up-to-date database is
    /// only read, so a read-only database can be opened.
    pub async fn migrate_pool(pool: &SqlitePool) -> Result<(), StoreError> {
        let latest = SCHEMA.latest_version();
        if SCHEMA
            .recorded_version(BACKEND, pool)
            .await
            .is_ok_and(|current| current == latest)
        {
            return Ok(());
        }
        let mut tx = pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(failure("beginning the migration"))?;
        SCHEMA.apply::<sqlx::Sqlite>(BACKEND, &mut tx).await?;
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

    /// Copies every committed page of the write-ahead log into the database file and
    /// truncates the log to zero bytes (`PRAGMA wal_checkpoint(TRUNCATE)`), waiting up to
    /// the busy timeout for readers of older snapshots; [`Store::forget`] calls it so that
    /// no earlier image of an erased row stays in the log. A log still busy after three
    /// tries is a [`StoreError::Backend`]. Nothing to do for an in-memory database.
    pub async fn checkpoint_truncate(&self) -> Result<(), StoreError> {
        for _ in 0..3 {
            let (busy, _, _): (i64, i64, i64) = sqlx::query_as(CHECKPOINT_TRUNCATE)
                .fetch_one(&self.pool)
                .await
                .map_err(failure("truncating the write-ahead log"))?;
            if busy == 0 {
                return Ok(());
            }
        }
        Err(StoreError::backend(LogStillBusy))
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

/// The write-ahead log stayed busy (readers of older snapshots) through every try of
/// [`SqliteStore::checkpoint_truncate`].
#[derive(Debug, thiserror::Error)]
#[error("SQLite write-ahead log still busy after three checkpoints; erase again to retry")]
struct LogStillBusy;

/// A statement of this store with its arguments bound.
type Statement<'q> = sqlx::query::Query<'q, sqlx::Sqlite, SqliteArguments<'q>>;

impl SqliteStore {
    /// Runs `statement`, the single-statement insert or conditional update of one row (as
    /// `operation`, with or without a batch of events for the outbox triggers). Returns
    /// `next`, the row's new version, if it changed the row; [`StoreError::Conflict`] if
    /// it changed none (then its triggers did not fire: no event was written either).
    async fn write(
        &self,
        operation: &'static str,
        statement: Statement<'_>,
        next: i64,
    ) -> Result<u64, StoreError> {
        // `rows_affected` is `sqlite3_changes()`: the rows the statement itself changed,
        // not those of its triggers.
        let rows = statement
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected());
        sql::written(BACKEND, operation, rows, next)
    }
}

/// `events` as the batch the outbox triggers (and [`INSERT_EVENTS`]) read: a JSON array
/// of each event's bytes in lowercase hex, in order (`["0a1b", "2c"]`). SQLite turns each
/// back into the same bytes with `unhex`.
fn events_json(events: &[Vec<u8>]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let bytes: usize = events.iter().map(Vec::len).sum();
    // Two digits per byte plus `"",` per event and the brackets; only a capacity hint.
    let mut json = String::with_capacity(
        bytes
            .saturating_mul(2)
            .saturating_add(events.len().saturating_mul(3))
            .saturating_add(2),
    );
    json.push('[');
    for (index, event) in events.iter().enumerate() {
        if index != 0 {
            json.push(',');
        }
        json.push('"');
        for byte in event {
            for nibble in [byte >> 4, byte & 0x0f] {
                if let Some(digit) = DIGITS.get(usize::from(nibble)) {
                    json.push(char::from(*digit));
                }
            }
        }
        json.push('"');
    }
    json.push(']');
    json
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
        match expected {
            None => {
                let statement = match events {
                    [] => sqlx::query(INSERT).bind(account.as_str()).bind(bytes),
                    _ => sqlx::query(INSERT_WITH_EVENTS)
                        .bind(account.as_str())
                        .bind(bytes)
                        .bind(events_json(events)),
                };
                self.write("insert", statement, 1).await
            }
            Some(expected) => {
                let (expected, next) = sql::update_versions(expected)?;
                let statement = match events {
                    [] => sqlx::query(UPDATE)
                        .bind(account.as_str())
                        .bind(expected)
                        .bind(bytes),
                    _ => sqlx::query(UPDATE_WITH_EVENTS)
                        .bind(account.as_str())
                        .bind(expected)
                        .bind(bytes)
                        .bind(events_json(events)),
                };
                self.write("conditional update", statement, next).await
            }
        }
    }

    async fn append_events(
        &self,
        account: &AccountId,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        match events {
            [] => Ok(()),
            // One statement is atomic by itself.
            [event] => sqlx::query(INSERT_EVENT)
                .bind(account.as_str())
                .bind(event.as_slice())
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(failure("inserting an outbox event")),
            _ => sqlx::query(INSERT_EVENTS)
                .bind(account.as_str())
                .bind(events_json(events))
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(failure("inserting outbox events")),
        }
    }

    async fn forget(
        &self,
        account: &AccountId,
        expected: u64,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        let (expected, next) = sql::update_versions(expected)?;
        let statement = match events {
            [] => sqlx::query(FORGET).bind(account.as_str()).bind(expected),
            _ => sqlx::query(FORGET_WITH_EVENTS)
                .bind(account.as_str())
                .bind(expected)
                .bind(events_json(events)),
        };
        // On one connection: secure_delete on (whatever the pool's options), then the
        // erasure, so the record's bytes are zeroed where they stood.
        let mut connection = self.pool.acquire().await.map_err(failure("erasure"))?;
        sqlx::query(SECURE_DELETE)
            .execute(&mut *connection)
            .await
            .map_err(failure("erasure"))?;
        let rows = statement
            .execute(&mut *connection)
            .await
            .map(|r| r.rows_affected());
        drop(connection);
        let version = sql::written(BACKEND, "erasure", rows, next)?;
        self.checkpoint_truncate().await?;
        Ok(version)
    }

    async fn reinstate(
        &self,
        account: &AccountId,
        expected: u64,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        let expected = sql::reinstate_version(expected)?;
        let statement = match events {
            [] => sqlx::query(REINSTATE)
                .bind(account.as_str())
                .bind(expected)
                .bind(record.encode()),
            _ => sqlx::query(REINSTATE_WITH_EVENTS)
                .bind(account.as_str())
                .bind(expected)
                .bind(record.encode())
                .bind(events_json(events)),
        };
        self.write("reinstatement", statement, 1).await.map(|_| ())
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
        let mut array = String::from("[");
        for (index, id) in ids.iter().enumerate() {
            if index != 0 {
                array.push(',');
            }
            array.push_str(&id.to_string());
        }
        array.push(']');
        sqlx::query(ACKNOWLEDGE)
            .bind(array)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(failure("acknowledging outbox events"))
    }
}

/// `connect`, `migrate`, `migrate_pool` and `from_pool` can run in spawned tasks.
#[allow(dead_code, clippy::let_underscore_future)]
fn futures_are_send(store: &SqliteStore, pool: SqlitePool) {
    fn send<T: Send>(_: T) {}
    send(SqliteStore::connect(""));
    send(store.migrate());
    send(SqliteStore::migrate_pool(&pool));
    send(SqliteStore::from_pool(pool));
}

#[cfg(test)]
mod tests;
