//! What the SQL stores (`SqliteStore`, `PostgresStore`) share whatever the database: the
//! migration loop (in the backend's transaction) and the schema check of a pool opened
//! elsewhere, the errors they report, the conversion
//! of versions, ids and limits between the trait's `u64`/`usize` and SQL's `BIGINT`, the
//! reading of rows (records, list pages, outbox entries) and of a write's row count.
//!
//! Each backend keeps its SQL, connection options, transactions and locking.

use sqlx::{Executor as _, Row as _};

use crate::account::AccountId;
use crate::error::{RecordError, StoreError};
use crate::lifecycle::enrollment::Enrollment;
use crate::store::migration::Migration;
use crate::store::{Listed, OutboxEntry, Versioned};

/// A backend's migrations and its statements on the table `totp_enroll_schema_version`.
pub(super) struct Schema {
    /// The migrations, oldest first; each records its own version.
    pub(super) migrations: &'static [Migration],
    /// Creates the version table if it does not exist.
    pub(super) create_table: &'static str,
    /// Answers whether the version table exists, as one boolean (creates nothing).
    pub(super) table_exists: &'static str,
    /// Reads the schema version as one `BIGINT` (0 before the first migration).
    pub(super) read_version: &'static str,
}

impl Schema {
    /// The schema version the migrations lead to (0 for none).
    pub(super) fn latest_version(&self) -> i64 {
        self.migrations.last().map_or(0, Migration::version)
    }

    /// `Ok` if `found` is the version this build works with, else [`StoreError::Schema`].
    pub(super) fn require(&self, found: i64) -> Result<(), StoreError> {
        let expected = self.latest_version();
        if found == expected {
            Ok(())
        } else {
            Err(StoreError::Schema { found, expected })
        }
    }

    /// The schema version recorded in the database behind `executor`, 0 if it has no
    /// version table; reads only (nothing is created).
    pub(super) async fn recorded_version<'e, DB, E>(
        &self,
        backend: &'static str,
        executor: E,
    ) -> Result<i64, StoreError>
    where
        DB: sqlx::Database,
        E: sqlx::Executor<'e, Database = DB> + Copy,
        for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
        for<'q> i64: sqlx::Decode<'q, DB> + sqlx::Type<DB>,
        for<'q> bool: sqlx::Decode<'q, DB> + sqlx::Type<DB>,
        usize: sqlx::ColumnIndex<DB::Row>,
    {
        let exists: bool = executor
            .fetch_one(self.table_exists)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(failure(backend, "looking for totp_enroll_schema_version"))?;
        if !exists {
            return Ok(0);
        }
        executor
            .fetch_one(self.read_version)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(failure(backend, "reading the schema version"))
    }

    /// Creates the version table if needed, reads the schema version, refuses a database
    /// newer than this build knows ([`StoreError::Schema`]), then applies each newer
    /// migration, oldest first, on `conn`: a transaction the backend began (and locked)
    /// and commits. Each migration's text records its version itself.
    ///
    /// The bounds say that `DB` runs statements on a borrowed connection and reads an
    /// `i64` from column 0; SQLite and PostgreSQL do.
    pub(super) async fn apply<DB>(
        &self,
        backend: &'static str,
        conn: &mut DB::Connection,
    ) -> Result<(), StoreError>
    where
        DB: sqlx::Database,
        for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
        for<'q> i64: sqlx::Decode<'q, DB> + sqlx::Type<DB>,
        usize: sqlx::ColumnIndex<DB::Row>,
    {
        // Executor methods (boxed `Send` futures) rather than `query(..).execute(conn)`,
        // whose futures rustc cannot prove `Send` for a borrowed connection: `connect` and
        // `migrate` must run in spawned tasks.
        (&mut *conn)
            .execute(self.create_table)
            .await
            .map_err(failure(backend, "creating totp_enroll_schema_version"))?;
        let current: i64 = (&mut *conn)
            .fetch_one(self.read_version)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(failure(backend, "reading the schema version"))?;
        let expected = self.latest_version();
        if current > expected {
            return Err(StoreError::Schema {
                found: current,
                expected,
            });
        }
        for migration in self.migrations {
            if migration.version() <= current {
                continue;
            }
            (&mut *conn)
                .execute(migration.sql())
                .await
                .map_err(failure(backend, "applying a migration"))?;
        }
        Ok(())
    }
}

/// A database operation failed; wraps the driver's error (find it with `source()`).
#[derive(Debug, thiserror::Error)]
#[error("{backend} {operation} failed: {source}")]
struct Failure {
    /// The database's name as the message shows it ("SQLite", "PostgreSQL").
    backend: &'static str,
    operation: &'static str,
    #[source]
    source: sqlx::Error,
}

/// A statement changed a number of rows a primary key makes impossible.
#[derive(Debug, thiserror::Error)]
#[error("{backend} {operation} changed {rows} rows; at most one was possible")]
struct UnexpectedRows {
    backend: &'static str,
    operation: &'static str,
    rows: u64,
}

/// Maps a driver error of `operation` on `backend` to [`StoreError::Backend`].
pub(super) fn failure(
    backend: &'static str,
    operation: &'static str,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| {
        StoreError::backend(Failure {
            backend,
            operation,
            source,
        })
    }
}

/// A stored version as the trait's `u64` (versions start at 1); an unreadable column or a
/// value below 1 is [`StoreError::Corrupt`].
pub(super) fn version_from_sql(version: Result<i64, sqlx::Error>) -> Result<u64, StoreError> {
    version
        .ok()
        .and_then(|v| u64::try_from(v).ok())
        .filter(|v| *v >= 1)
        .ok_or(StoreError::Corrupt(RecordError::InvalidField("version")))
}

/// A stored account column as an [`AccountId`]; unreadable or not a valid id is
/// [`StoreError::Corrupt`].
fn account_from_sql(account: Result<String, sqlx::Error>) -> Result<AccountId, StoreError> {
    account
        .ok()
        .and_then(|a| AccountId::new(a).ok())
        .ok_or(StoreError::Corrupt(RecordError::InvalidField("account")))
}

/// A loaded row's version and record columns as a [`Versioned`] (an unreadable column is
/// [`StoreError::Corrupt`]).
pub(super) fn versioned(
    version: Result<i64, sqlx::Error>,
    record: Result<Vec<u8>, sqlx::Error>,
) -> Result<Versioned, StoreError> {
    let bytes = record.map_err(|_| StoreError::Corrupt(RecordError::InvalidField("record")))?;
    Ok(Versioned {
        version: version_from_sql(version)?,
        record: Enrollment::decode(&bytes)?,
    })
}

/// A row of a list page (account, version, record columns) as a [`Listed`]: a record that
/// does not decode (or cannot be read) is the row's error; an account or version that
/// cannot be read fails the page with [`StoreError::Corrupt`].
pub(super) fn listed(
    account: Result<String, sqlx::Error>,
    version: Result<i64, sqlx::Error>,
    record: Result<Vec<u8>, sqlx::Error>,
) -> Result<Listed, StoreError> {
    Ok(Listed {
        account: account_from_sql(account)?,
        version: version_from_sql(version)?,
        record: record
            .map_err(|_| RecordError::InvalidField("record"))
            .and_then(|bytes| Enrollment::decode(&bytes)),
    })
}

/// An outbox row (id, account, event columns) as an [`OutboxEntry`]; an unreadable
/// column or an id below 1 is [`StoreError::Corrupt`].
pub(super) fn outbox_entry(
    id: Result<i64, sqlx::Error>,
    account: Result<String, sqlx::Error>,
    event: Result<Vec<u8>, sqlx::Error>,
) -> Result<OutboxEntry, StoreError> {
    let id = id
        .ok()
        .and_then(|id| u64::try_from(id).ok())
        .filter(|id| *id >= 1)
        .ok_or(StoreError::Corrupt(RecordError::InvalidField("outbox id")))?;
    Ok(OutboxEntry {
        id,
        account: account_from_sql(account)?,
        bytes: event.map_err(|_| StoreError::Corrupt(RecordError::InvalidField("outbox event")))?,
    })
}

/// A page size as SQL's `LIMIT` (a `usize` beyond `BIGINT` is clamped: no table holds
/// that many rows).
pub(super) fn limit_to_sql(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The outbox ids to delete for `acknowledge`: ids beyond `BIGINT` are left out (no row
/// can hold them).
pub(super) fn ids_to_sql(ids: &[u64]) -> Vec<i64> {
    ids.iter()
        .filter_map(|id| i64::try_from(*id).ok())
        .collect()
}

/// The version to bind for a conditional update (`replace_if`, `forget`) of the row at
/// `expected`, and the version the row then has. [`StoreError::Conflict`] if no row can
/// hold `expected` (beyond `BIGINT`); [`StoreError::VersionExhausted`] if `expected` is
/// the largest `BIGINT`, which cannot be advanced.
pub(super) fn update_versions(expected: u64) -> Result<(i64, i64), StoreError> {
    let expected = i64::try_from(expected).map_err(|_| StoreError::Conflict)?;
    let next = expected
        .checked_add(1)
        .ok_or(StoreError::VersionExhausted)?;
    Ok((expected, next))
}

/// The version to bind for `reinstate`: only the largest `BIGINT` can be reinstated; any
/// other `expected` is [`StoreError::Conflict`].
pub(super) fn reinstate_version(expected: u64) -> Result<i64, StoreError> {
    i64::try_from(expected)
        .ok()
        .filter(|e| *e == i64::MAX)
        .ok_or(StoreError::Conflict)
}

/// A write's answer once `operation` (an insert or a conditional update of one account's
/// row) changed `rows` rows: none is [`StoreError::Conflict`], one is the row's new
/// version `next`.
pub(super) fn written(
    backend: &'static str,
    operation: &'static str,
    rows: Result<u64, sqlx::Error>,
    next: i64,
) -> Result<u64, StoreError> {
    match rows.map_err(failure(backend, operation))? {
        0 => Err(StoreError::Conflict),
        1 => version_from_sql(Ok(next)),
        rows => Err(StoreError::backend(UnexpectedRows {
            backend,
            operation,
            rows,
        })),
    }
}
