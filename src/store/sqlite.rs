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
use crate::record::Enrollment;
use crate::store::sql::{self, Migration, Schema};
use crate::store::{Listed, OutboxEntry, Store, Versioned};

/// The schema, oldest first. Released entries are never edited: append a new one.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "create totp_enroll_enrollments",
        sql: include_str!("../../migrations/sqlite/0001_create_enrollments.sql"),
    },
    Migration {
        version: 2,
        description: "create totp_enroll_outbox",
        sql: include_str!("../../migrations/sqlite/0002_create_outbox.sql"),
    },
    Migration {
        version: 3,
        description: "one-statement writes: events column and outbox triggers",
        sql: include_str!("../../migrations/sqlite/0003_one_statement_writes.sql"),
    },
];

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

/// Unix seconds, for the `updated_at` and `created_at` columns.
macro_rules! now {
    () => {
        "CAST(strftime('%s', 'now') AS INTEGER)"
    };
}

/// A live row (a tombstone's record is empty).
const LOAD: &str = "SELECT version, record FROM totp_enroll_enrollments \
     WHERE account = ?1 AND length(record) > 0";

/// Any row, tombstone or not; the record is not read.
const VERSION: &str = "SELECT version FROM totp_enroll_enrollments WHERE account = ?1";

const INSERT: &str = concat!(
    "INSERT INTO totp_enroll_enrollments (account, version, record, updated_at) ",
    "VALUES (?1, 1, ?2, ",
    now!(),
    ") ON CONFLICT (account) DO NOTHING"
);

const UPDATE: &str = concat!(
    "UPDATE totp_enroll_enrollments ",
    "SET record = ?3, version = version + 1, updated_at = ",
    now!(),
    " WHERE account = ?1 AND version = ?2"
);

const FORGET: &str = concat!(
    "UPDATE totp_enroll_enrollments ",
    "SET record = X'', version = version + 1, updated_at = ",
    now!(),
    " WHERE account = ?1 AND version = ?2"
);

const REINSTATE: &str = concat!(
    "UPDATE totp_enroll_enrollments ",
    "SET record = ?3, version = 1, updated_at = ",
    now!(),
    " WHERE account = ?1 AND version = ?2"
);

// The same writes with a batch of events (`events_json`), still one statement each: the
// triggers of migration 3 insert the batch into the outbox and clear the column.

const INSERT_WITH_EVENTS: &str = concat!(
    "INSERT INTO totp_enroll_enrollments (account, version, record, events, updated_at) ",
    "VALUES (?1, 1, ?2, ?3, ",
    now!(),
    ") ON CONFLICT (account) DO NOTHING"
);

const UPDATE_WITH_EVENTS: &str = concat!(
    "UPDATE totp_enroll_enrollments ",
    "SET record = ?3, version = version + 1, events = ?4, updated_at = ",
    now!(),
    " WHERE account = ?1 AND version = ?2"
);

const FORGET_WITH_EVENTS: &str = concat!(
    "UPDATE totp_enroll_enrollments ",
    "SET record = X'', version = version + 1, events = ?3, updated_at = ",
    now!(),
    " WHERE account = ?1 AND version = ?2"
);

const REINSTATE_WITH_EVENTS: &str = concat!(
    "UPDATE totp_enroll_enrollments ",
    "SET record = ?3, version = 1, events = ?4, updated_at = ",
    now!(),
    " WHERE account = ?1 AND version = ?2"
);

const INSERT_EVENT: &str = concat!(
    "INSERT INTO totp_enroll_outbox (account, event, created_at) VALUES (?1, ?2, ",
    now!(),
    ")"
);

/// Several events of one account in one statement, from the same batch as the writes
/// above, in array order (so their ids increase in that order).
const INSERT_EVENTS: &str = concat!(
    "INSERT INTO totp_enroll_outbox (account, event, created_at) ",
    "SELECT ?1, unhex(value), ",
    now!(),
    " FROM json_each(?2) ORDER BY key"
);

/// Live rows in byte order (TEXT's default BINARY collation compares bytes).
const LIST_FIRST: &str = "SELECT account, version, record FROM totp_enroll_enrollments \
     WHERE length(record) > 0 ORDER BY account LIMIT ?1";

const LIST_AFTER: &str = "SELECT account, version, record FROM totp_enroll_enrollments \
     WHERE account > ?1 AND length(record) > 0 ORDER BY account LIMIT ?2";

/// Copies every committed page into the database file and truncates the write-ahead log
/// to zero bytes; answers `(busy, log frames, checkpointed frames)`.
const CHECKPOINT_TRUNCATE: &str = "PRAGMA wal_checkpoint(TRUNCATE)";

/// Zeroes what a statement deletes or overwrites, on this connection.
const SECURE_DELETE: &str = "PRAGMA secure_delete = ON";

const PENDING_EVENTS: &str =
    "SELECT id, account, event FROM totp_enroll_outbox ORDER BY id LIMIT ?1";

/// The ids are bound as one JSON array: one statement for any number of ids.
const ACKNOWLEDGE: &str =
    "DELETE FROM totp_enroll_outbox WHERE id IN (SELECT value FROM json_each(?1))";

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

/// `connect` and `migrate` can run in spawned tasks.
#[allow(dead_code, clippy::let_underscore_future)]
fn futures_are_send(store: &SqliteStore) {
    fn send<T: Send>(_: T) {}
    send(SqliteStore::connect(""));
    send(store.migrate());
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::cast_sign_loss,
        clippy::cast_possible_truncation,
        clippy::panic
    )]

    use super::*;
    use crate::error::RecordError;

    fn account(id: &str) -> AccountId {
        AccountId::new(id).unwrap()
    }

    fn events(names: &[&str]) -> Vec<Vec<u8>> {
        names.iter().map(|n| n.as_bytes().to_vec()).collect()
    }

    async fn store() -> SqliteStore {
        SqliteStore::connect("sqlite::memory:").await.unwrap()
    }

    async fn outbox(store: &SqliteStore) -> Vec<(u64, String, Vec<u8>)> {
        store
            .pending_events(100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.id, e.account.as_str().to_owned(), e.bytes))
            .collect()
    }

    async fn put_raw(store: &SqliteStore, account: &str, version: i64, bytes: &[u8]) {
        sqlx::query(
            "INSERT OR REPLACE INTO totp_enroll_enrollments (account, version, record, updated_at) \
             VALUES (?1, ?2, ?3, 0)",
        )
        .bind(account)
        .bind(version)
        .bind(bytes)
        .execute(store.pool())
        .await
        .unwrap();
    }

    /// A pool on a private in-memory database with the schema up to `version`, as an
    /// older build left it.
    async fn store_at_version(version: i64) -> SqliteStore {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query(CREATE_SCHEMA_VERSION)
            .execute(&pool)
            .await
            .unwrap();
        for migration in MIGRATIONS.iter().filter(|m| m.version <= version) {
            sqlx::raw_sql(migration.sql).execute(&pool).await.unwrap();
            sqlx::query(RECORD_MIGRATION)
                .bind(migration.version)
                .bind(migration.description)
                .execute(&pool)
                .await
                .unwrap();
        }
        let store = SqliteStore { pool };
        assert_eq!(store.schema_version().await.unwrap(), version);
        store
    }

    #[tokio::test]
    async fn version_1_database_migrates_to_3() {
        let store = store_at_version(1).await;
        let a = account("alice");
        let record = Enrollment::not_registered();
        assert_eq!(store.replace_if(&a, None, &record, &[]).await.unwrap(), 1);
        store.migrate().await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), 3);
        assert_eq!(store.load(&a).await.unwrap().unwrap().version, 1);
        store.migrate().await.unwrap();
        assert_eq!(
            store
                .replace_if(&a, Some(1), &record, &events(&["e"]))
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            outbox(&store).await,
            vec![(1, "alice".into(), b"e".to_vec())]
        );
    }

    /// A version-2 database (transactional writes) keeps its rows and undelivered events,
    /// and its outbox ids go on growing past the deleted newest ones.
    #[tokio::test]
    async fn version_2_database_migrates_to_3() {
        let store = store_at_version(2).await;
        let a = account("alice");
        let record = Enrollment::not_registered();
        // Written as version 2 did: the row, then the events (no `events` column yet).
        put_raw(&store, "alice", 1, &record.encode()).await;
        for event in ["1", "2", "3"] {
            sqlx::query(INSERT_EVENT)
                .bind("alice")
                .bind(event.as_bytes())
                .execute(store.pool())
                .await
                .unwrap();
        }
        store.acknowledge(&[3]).await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), 3);
        assert_eq!(store.load(&a).await.unwrap().unwrap().version, 1);
        assert_eq!(
            store
                .replace_if(&a, Some(1), &record, &events(&["4", "5"]))
                .await
                .unwrap(),
            2
        );
        let all = outbox(&store).await;
        let ids: Vec<u64> = all.iter().map(|e| e.0).collect();
        assert_eq!(ids, [1, 2, 4, 5]);
        let names: Vec<&[u8]> = all.iter().map(|e| e.2.as_slice()).collect();
        assert_eq!(names, [b"1", b"2", b"4", b"5"]);
    }

    /// The batch column: every byte value and an empty event come back unchanged, in
    /// order, and the column is empty again after each write.
    #[tokio::test]
    async fn event_batches_round_trip_and_are_cleared() {
        let store = store().await;
        let a = account("alice");
        let record = Enrollment::not_registered();
        let every_byte: Vec<u8> = (0..=255).collect();
        let batch = vec![every_byte.clone(), Vec::new(), vec![0xff, 0x00]];
        assert_eq!(events_json(&batch[1..]), r#"["","ff00"]"#);
        assert_eq!(
            store.replace_if(&a, None, &record, &batch).await.unwrap(),
            1
        );
        assert_eq!(
            store
                .replace_if(&a, Some(1), &record, &batch)
                .await
                .unwrap(),
            2
        );
        assert_eq!(store.forget(&a, 2, &batch).await.unwrap(), 3);
        store.append_events(&a, &batch).await.unwrap();
        let all = outbox(&store).await;
        let got: Vec<Vec<u8>> = all.into_iter().map(|e| e.2).collect();
        let expected: Vec<Vec<u8>> = (0..4).flat_map(|_| batch.clone()).collect();
        assert_eq!(got, expected);
        let pending: Vec<Option<String>> =
            sqlx::query_scalar("SELECT events FROM totp_enroll_enrollments")
                .fetch_all(store.pool())
                .await
                .unwrap();
        assert_eq!(pending, vec![None]);
    }

    /// A batch the triggers cannot decode aborts the whole statement: neither the record
    /// nor any event of the batch is written.
    #[tokio::test]
    async fn a_bad_batch_writes_nothing() {
        let store = store().await;
        let a = account("alice");
        let record = Enrollment::not_registered();
        assert_eq!(store.replace_if(&a, None, &record, &[]).await.unwrap(), 1);
        for batch in [r#"["00","zz"]"#, r#"["00","0"]"#, "[1]", "not json"] {
            let result = sqlx::query(UPDATE_WITH_EVENTS)
                .bind("alice")
                .bind(1_i64)
                .bind(record.encode())
                .bind(batch)
                .execute(store.pool())
                .await;
            assert!(result.is_err(), "{batch}");
            assert_eq!(store.version(&a).await.unwrap(), Some(1), "{batch}");
            assert!(outbox(&store).await.is_empty(), "{batch}");
            // The first write's `ON CONFLICT DO NOTHING` concerns its own row only: the
            // trigger's failed insert still aborts the statement.
            let result = sqlx::query(INSERT_WITH_EVENTS)
                .bind("bob")
                .bind(record.encode())
                .bind(batch)
                .execute(store.pool())
                .await;
            assert!(result.is_err(), "{batch}");
            assert_eq!(
                store.version(&account("bob")).await.unwrap(),
                None,
                "{batch}"
            );
            assert!(outbox(&store).await.is_empty(), "{batch}");
        }
    }

    #[tokio::test]
    async fn writes_events_tombstones_and_conflicts() {
        let store = store().await;
        let a = account("alice");
        let record = Enrollment::not_registered();
        assert_eq!(store.version(&a).await.unwrap(), None);
        assert_eq!(
            store
                .replace_if(&a, None, &record, &events(&["1", "2"]))
                .await
                .unwrap(),
            1
        );
        // A conflict writes no event.
        assert!(matches!(
            store.replace_if(&a, None, &record, &events(&["x"])).await,
            Err(StoreError::Conflict)
        ));
        assert!(matches!(
            store
                .replace_if(&a, Some(5), &record, &events(&["x"]))
                .await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(
            store.replace_if(&a, Some(1), &record, &[]).await.unwrap(),
            2
        );
        assert_eq!(store.forget(&a, 2, &events(&["3"])).await.unwrap(), 3);
        assert_eq!(store.load(&a).await.unwrap(), None);
        assert_eq!(store.version(&a).await.unwrap(), Some(3));
        assert!(store.list(None, 10).await.unwrap().is_empty());
        // A first write over a tombstone needs its version.
        assert!(matches!(
            store.replace_if(&a, None, &record, &[]).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(
            store
                .replace_if(&a, Some(3), &record, &events(&["4", "5", "6"]))
                .await
                .unwrap(),
            4
        );
        store.append_events(&a, &events(&["7"])).await.unwrap();
        store.append_events(&a, &events(&["8", "9"])).await.unwrap();
        store.append_events(&a, &[]).await.unwrap();
        let all = outbox(&store).await;
        let names: Vec<&[u8]> = all.iter().map(|e| e.2.as_slice()).collect();
        assert_eq!(
            names,
            [b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9"]
        );
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
        let first = store.pending_events(2).await.unwrap();
        assert_eq!(first.len(), 2);
        store
            .acknowledge(&[first[0].id, first[1].id, 999, u64::MAX])
            .await
            .unwrap();
        store.acknowledge(&[first[0].id]).await.unwrap();
        store.acknowledge(&[]).await.unwrap();
        assert_eq!(outbox(&store).await.len(), 7);
        // Ids are never reused after the newest are acknowledged.
        let ids: Vec<u64> = outbox(&store).await.iter().map(|e| e.0).collect();
        store.acknowledge(&ids).await.unwrap();
        store.append_events(&a, &events(&["10"])).await.unwrap();
        assert_eq!(outbox(&store).await[0].0, 10);
    }

    #[tokio::test]
    async fn a_failed_event_insert_writes_no_record() {
        let store = store().await;
        let a = account("alice");
        let record = Enrollment::not_registered();
        // Every outbox insert fails (as a full disk would), after the record's change.
        sqlx::query(
            "CREATE TRIGGER fail_outbox BEFORE INSERT ON totp_enroll_outbox \
             BEGIN SELECT RAISE(ABORT, 'injected outbox failure'); END",
        )
        .execute(store.pool())
        .await
        .unwrap();
        assert!(matches!(
            store.replace_if(&a, None, &record, &events(&["1"])).await,
            Err(StoreError::Backend(_))
        ));
        assert_eq!(store.version(&a).await.unwrap(), None);
        assert_eq!(store.replace_if(&a, None, &record, &[]).await.unwrap(), 1);
        assert!(store.forget(&a, 1, &events(&["1"])).await.is_err());
        assert!(
            store
                .replace_if(&a, Some(1), &record, &events(&["1", "2"]))
                .await
                .is_err()
        );
        assert!(store.append_events(&a, &events(&["1", "2"])).await.is_err());
        assert_eq!(store.version(&a).await.unwrap(), Some(1));
        assert!(store.load(&a).await.unwrap().is_some());
        // Without the outbox table no write with events can even be prepared.
        sqlx::query("DROP TABLE totp_enroll_outbox")
            .execute(store.pool())
            .await
            .unwrap();
        assert!(matches!(
            store
                .replace_if(&a, Some(1), &record, &events(&["1"]))
                .await,
            Err(StoreError::Backend(_))
        ));
        assert_eq!(store.version(&a).await.unwrap(), Some(1));
    }

    #[tokio::test]
    async fn version_limits_and_reinstate() {
        let store = store().await;
        let a = account("alice");
        let record = Enrollment::not_registered();
        put_raw(&store, "alice", i64::MAX, b"garbage").await;
        assert_eq!(store.version(&a).await.unwrap(), Some(i64::MAX as u64));
        assert!(matches!(store.load(&a).await, Err(StoreError::Corrupt(_))));
        assert!(matches!(
            store
                .replace_if(&a, Some(i64::MAX as u64), &record, &[])
                .await,
            Err(StoreError::VersionExhausted)
        ));
        assert!(matches!(
            store.forget(&a, i64::MAX as u64, &[]).await,
            Err(StoreError::VersionExhausted)
        ));
        assert!(matches!(
            store.replace_if(&a, Some(u64::MAX), &record, &[]).await,
            Err(StoreError::Conflict)
        ));
        assert!(matches!(
            store.reinstate(&a, 7, &record, &events(&["x"])).await,
            Err(StoreError::Conflict)
        ));
        assert!(matches!(
            store.reinstate(&a, u64::MAX, &record, &[]).await,
            Err(StoreError::Conflict)
        ));
        store
            .reinstate(&a, i64::MAX as u64, &record, &events(&["r"]))
            .await
            .unwrap();
        assert_eq!(store.load(&a).await.unwrap().unwrap().version, 1);
        assert_eq!(outbox(&store).await.len(), 1);
        // Not at the largest version: no reinstatement.
        assert!(matches!(
            store
                .reinstate(&a, i64::MAX as u64, &record, &events(&["y"]))
                .await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(outbox(&store).await.len(), 1);
    }

    #[tokio::test]
    async fn list_pages_in_byte_order() {
        let store = store().await;
        let record = Enrollment::not_registered();
        // Byte order: "B" < "a" < "b" < "é" (0xC3 0xA9).
        for id in ["é", "b", "a", "B", "gone"] {
            store
                .replace_if(&account(id), None, &record, &[])
                .await
                .unwrap();
        }
        store.forget(&account("gone"), 1, &[]).await.unwrap();
        put_raw(&store, "bad", 4, b"garbage").await;
        let page = store.list(None, 2).await.unwrap();
        let ids: Vec<&str> = page.iter().map(|l| l.account.as_str()).collect();
        assert_eq!(ids, ["B", "a"]);
        let page = store.list(Some(&account("a")), 10).await.unwrap();
        let ids: Vec<&str> = page.iter().map(|l| l.account.as_str()).collect();
        assert_eq!(ids, ["b", "bad", "é"]);
        assert_eq!(page[1].version, 4);
        assert!(page[1].record.is_err());
        assert_eq!(page[0].record, Ok(record.clone()));
        assert!(store.list(None, 0).await.unwrap().is_empty());
        assert_eq!(store.list(None, usize::MAX).await.unwrap().len(), 5);
        put_raw(&store, "bad\nid", 1, &record.encode()).await;
        assert!(matches!(
            store.list(None, 10).await,
            Err(StoreError::Corrupt(RecordError::InvalidField("account")))
        ));
    }
}
