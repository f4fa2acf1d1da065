//! [`Migration`]: one versioned step of a SQL store's schema, as the store applies it and
//! as an application's own migration runner can apply it.

/// One step of a SQL store's schema (`SqliteStore::migrations()`,
/// `PostgresStore::migrations()`), oldest first, numbered 1, 2, 3, …
///
/// [`sql`](Self::sql) is the text to run: the statements of the migration file in the
/// repository's `migrations/<database>/` directory, followed by the statements that
/// record the step in the store's table `totp_enroll_schema_version` (created if it does
/// not exist). The store's own `migrate()` runs exactly this text, so a database migrated
/// by an application's runner and one migrated by the store are the same, and the store's
/// `from_pool` accepts either.
///
/// ## Applying them with your own migration runner
///
/// * Apply every migration, in increasing [`version`](Self::version), each exactly once,
///   each in one transaction (what most runners do per file). Do not edit the text and do
///   not leave out its last statements: they record the version, which is all the store's
///   `from_pool` checks (it never inspects the tables).
/// * To hand them to a runner that reads files (sqlx's `migrate!`, refinery, Flyway, …),
///   write each [`sql`](Self::sql) into a file named as the runner wants, numbered in the
///   application's own sequence after its migrations of that moment (e.g.
///   `0042_totp_enroll_1.sql`, `0043_totp_enroll_2.sql`). Copy the text this build
///   returns, not the repository's `migrations/` files, which lack the recording
///   statements.
/// * When you upgrade the crate, the release notes say whether it added a migration; add
///   the new ones to your runner in the same deployment (`from_pool` refuses the older
///   schema with [`StoreError::Schema`](crate::error::StoreError::Schema) until they ran).
/// * A database that the store migrated itself (`connect`) already holds every step:
///   mark them applied in your runner's history (its "baseline") instead of running them
///   again, which would fail on the existing tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    version: i64,
    description: &'static str,
    sql: &'static str,
}

impl Migration {
    /// A step of a store's schema (the stores' lists are constants).
    pub(crate) const fn new(version: i64, description: &'static str, sql: &'static str) -> Self {
        Self {
            version,
            description,
            sql,
        }
    }

    /// Its number: the schema version of a database once it is applied (the first is 1).
    pub fn version(&self) -> i64 {
        self.version
    }

    /// What it does, in a few words (also recorded in `totp_enroll_schema_version`).
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// The SQL to run, in one transaction: the migration's statements, then the statements
    /// recording its version.
    pub fn sql(&self) -> &'static str {
        self.sql
    }
}
