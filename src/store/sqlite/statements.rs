//! The SQLite store's schema migrations and statements, each one statement with bound
//! parameters.

use crate::store::migration::Migration;
use crate::store::sql::Schema;

/// Unix seconds, for the `updated_at`, `created_at` and `applied_at` columns.
macro_rules! now {
    () => {
        "CAST(strftime('%s', 'now') AS INTEGER)"
    };
}

/// The version table, created by the first migration (and before reading the version).
macro_rules! create_schema_version {
    () => {
        "CREATE TABLE IF NOT EXISTS totp_enroll_schema_version (\
         version BIGINT NOT NULL PRIMARY KEY, \
         description TEXT NOT NULL, \
         applied_at BIGINT NOT NULL)"
    };
}

/// Migration `$version` from `migrations/sqlite/$file`, followed by the statements that
/// record it in `totp_enroll_schema_version` (see [`Migration::sql`]).
macro_rules! migration {
    ($version:literal, $description:literal, $file:literal) => {
        Migration::new(
            $version,
            $description,
            concat!(
                include_str!(concat!("../../../migrations/sqlite/", $file)),
                "\n-- totp-enroll: record schema version ",
                $version,
                " (SqliteStore::from_pool checks it).\n",
                create_schema_version!(),
                ";\nINSERT INTO totp_enroll_schema_version (version, description, applied_at) \
                 VALUES (",
                $version,
                ", '",
                $description,
                "', ",
                now!(),
                ");\n"
            ),
        )
    };
}

/// The schema, oldest first. Released entries are never edited: append a new one.
pub(super) const MIGRATIONS: &[Migration] = &[
    migration!(
        1,
        "create totp_enroll_enrollments",
        "0001_create_enrollments.sql"
    ),
    migration!(2, "create totp_enroll_outbox", "0002_create_outbox.sql"),
    migration!(
        3,
        "one-statement writes: events column and outbox triggers",
        "0003_one_statement_writes.sql"
    ),
];

pub(super) const CREATE_SCHEMA_VERSION: &str = create_schema_version!();

pub(super) const SCHEMA_VERSION: &str =
    "SELECT COALESCE(MAX(version), 0) FROM totp_enroll_schema_version";

/// Whether the version table exists (read without creating anything).
pub(super) const SCHEMA_VERSION_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM sqlite_master \
     WHERE type = 'table' AND name = 'totp_enroll_schema_version')";

/// The migrations and the version table's statements.
pub(super) const SCHEMA: Schema = Schema {
    migrations: MIGRATIONS,
    create_table: CREATE_SCHEMA_VERSION,
    table_exists: SCHEMA_VERSION_EXISTS,
    read_version: SCHEMA_VERSION,
};

/// A live row (a tombstone's record is empty).
pub(super) const LOAD: &str = "SELECT version, record FROM totp_enroll_enrollments \
     WHERE account = ?1 AND length(record) > 0";

/// Any row, tombstone or not; the record is not read.
pub(super) const VERSION: &str = "SELECT version FROM totp_enroll_enrollments WHERE account = ?1";

pub(super) const INSERT: &str = concat!(
    "INSERT INTO totp_enroll_enrollments (account, version, record, updated_at) ",
    "VALUES (?1, 1, ?2, ",
    now!(),
    ") ON CONFLICT (account) DO NOTHING"
);

pub(super) const UPDATE: &str = concat!(
    "UPDATE totp_enroll_enrollments ",
    "SET record = ?3, version = version + 1, updated_at = ",
    now!(),
    " WHERE account = ?1 AND version = ?2"
);

pub(super) const FORGET: &str = concat!(
    "UPDATE totp_enroll_enrollments ",
    "SET record = X'', version = version + 1, updated_at = ",
    now!(),
    " WHERE account = ?1 AND version = ?2"
);

pub(super) const REINSTATE: &str = concat!(
    "UPDATE totp_enroll_enrollments ",
    "SET record = ?3, version = 1, updated_at = ",
    now!(),
    " WHERE account = ?1 AND version = ?2"
);

// The same writes with a batch of events (`events_json`), still one statement each: the
// triggers of migration 3 insert the batch into the outbox and clear the column.

pub(super) const INSERT_WITH_EVENTS: &str = concat!(
    "INSERT INTO totp_enroll_enrollments (account, version, record, events, updated_at) ",
    "VALUES (?1, 1, ?2, ?3, ",
    now!(),
    ") ON CONFLICT (account) DO NOTHING"
);

pub(super) const UPDATE_WITH_EVENTS: &str = concat!(
    "UPDATE totp_enroll_enrollments ",
    "SET record = ?3, version = version + 1, events = ?4, updated_at = ",
    now!(),
    " WHERE account = ?1 AND version = ?2"
);

pub(super) const FORGET_WITH_EVENTS: &str = concat!(
    "UPDATE totp_enroll_enrollments ",
    "SET record = X'', version = version + 1, events = ?3, updated_at = ",
    now!(),
    " WHERE account = ?1 AND version = ?2"
);

pub(super) const REINSTATE_WITH_EVENTS: &str = concat!(
    "UPDATE totp_enroll_enrollments ",
    "SET record = ?3, version = 1, events = ?4, updated_at = ",
    now!(),
    " WHERE account = ?1 AND version = ?2"
);

pub(super) const INSERT_EVENT: &str = concat!(
    "INSERT INTO totp_enroll_outbox (account, event, created_at) VALUES (?1, ?2, ",
    now!(),
    ")"
);

/// Several events of one account in one statement, from the same batch as the writes
/// above, in array order (so their ids increase in that order).
pub(super) const INSERT_EVENTS: &str = concat!(
    "INSERT INTO totp_enroll_outbox (account, event, created_at) ",
    "SELECT ?1, unhex(value), ",
    now!(),
    " FROM json_each(?2) ORDER BY key"
);

/// Live rows in byte order (TEXT's default BINARY collation compares bytes).
pub(super) const LIST_FIRST: &str = "SELECT account, version, record FROM totp_enroll_enrollments \
     WHERE length(record) > 0 ORDER BY account LIMIT ?1";

pub(super) const LIST_AFTER: &str = "SELECT account, version, record FROM totp_enroll_enrollments \
     WHERE account > ?1 AND length(record) > 0 ORDER BY account LIMIT ?2";

/// Copies every committed page into the database file and truncates the write-ahead log
/// to zero bytes; answers `(busy, log frames, checkpointed frames)`.
pub(super) const CHECKPOINT_TRUNCATE: &str = "PRAGMA wal_checkpoint(TRUNCATE)";

/// Zeroes what a statement deletes or overwrites, on this connection.
pub(super) const SECURE_DELETE: &str = "PRAGMA secure_delete = ON";

pub(super) const PENDING_EVENTS: &str =
    "SELECT id, account, event FROM totp_enroll_outbox ORDER BY id LIMIT ?1";

/// The ids are bound as one JSON array: one statement for any number of ids.
pub(super) const ACKNOWLEDGE: &str =
    "DELETE FROM totp_enroll_outbox WHERE id IN (SELECT value FROM json_each(?1))";
