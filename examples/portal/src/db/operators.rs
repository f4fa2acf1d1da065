//! The support desk's operators: their password hashes and their consecutive login
//! failures (either factor). Every change of the count is ONE statement on the row
//! (`failures = failures + 1 … RETURNING`, `failures = 0 WHERE locked_at IS NULL`), so two
//! portal processes, or two requests at once, never lose a failure nor clear a lock they
//! did not see.

use sqlx::Row as _;

use super::Db;

/// Consecutive failures (of the password or the one-time password) that lock an
/// operator until another operator unlocks it.
pub const LOCK_AFTER: i64 = 5;

/// One operator's row.
#[derive(Clone)]
pub struct OperatorRow {
    /// オペレーターID.
    pub operator_id: String,
    /// argon2id hash of the password.
    pub password_hash: String,
    /// Consecutive failed logins (wrong password, refused one-time password).
    pub failures: i64,
    /// When the operator was locked (Unix seconds); `None`: not locked.
    pub locked_at: Option<i64>,
}

impl core::fmt::Debug for OperatorRow {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OperatorRow")
            .field("operator_id", &self.operator_id)
            .field("failures", &self.failures)
            .field("locked_at", &self.locked_at)
            .finish_non_exhaustive()
    }
}

impl OperatorRow {
    /// Whether the operator is locked.
    pub fn locked(&self) -> bool {
        self.locked_at.is_some()
    }
}

/// The count after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperatorFailures {
    /// Consecutive failures now.
    pub failures: i64,
    /// Whether the operator is locked now.
    pub locked: bool,
}

const COLUMNS: &str = "operator_id, password_hash, failures, locked_at";

impl Db {
    /// Adds an operator (nothing if the ID exists).
    pub async fn insert_operator(&self, id: &str, hash: &str) -> Result<(), sqlx::Error> {
        const SQL: &str = "INSERT INTO portal_operators (operator_id, password_hash) \
            VALUES ($1, $2) ON CONFLICT (operator_id) DO NOTHING";
        on_pool!(self, pool => sqlx::query(SQL).bind(id).bind(hash).execute(pool).await.map(|_| ()))
    }

    /// The operator with this ID.
    pub async fn operator(&self, id: &str) -> Result<Option<OperatorRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM portal_operators WHERE operator_id = $1");
        let row = on_pool!(self, pool => sqlx::query(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .map(|row| -> Result<OperatorRow, sqlx::Error> {
            Ok(OperatorRow {
                operator_id: row.try_get("operator_id")?,
                password_hash: row.try_get("password_hash")?,
                failures: row.try_get("failures")?,
                locked_at: row.try_get("locked_at")?,
            })
        }));
        row.transpose()
    }

    /// Every operator, by ID.
    pub async fn operators(&self) -> Result<Vec<OperatorRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM portal_operators ORDER BY operator_id");
        let rows = on_pool!(self, pool => sqlx::query(&sql)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| -> Result<OperatorRow, sqlx::Error> {
                Ok(OperatorRow {
                    operator_id: row.try_get("operator_id")?,
                    password_hash: row.try_get("password_hash")?,
                    failures: row.try_get("failures")?,
                    locked_at: row.try_get("locked_at")?,
                })
            })
            .collect::<Vec<_>>());
        rows.into_iter().collect()
    }

    /// Counts one failed login of operator `id` at `now` (one statement: never a lost
    /// count), locking it at the [`LOCK_AFTER`]th; the count after it (`None`: no such
    /// operator).
    pub async fn record_operator_failure(
        &self,
        id: &str,
        now: u64,
    ) -> Result<Option<OperatorFailures>, sqlx::Error> {
        const SQL: &str = "UPDATE portal_operators SET failures = failures + 1, \
            locked_at = CASE WHEN locked_at IS NULL AND failures + 1 >= $3 THEN $2 \
            ELSE locked_at END \
            WHERE operator_id = $1 RETURNING failures, locked_at";
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let row = on_pool!(self, pool => sqlx::query(SQL)
        .bind(id).bind(now).bind(LOCK_AFTER)
        .fetch_optional(pool)
        .await?
        .map(|row| -> Result<OperatorFailures, sqlx::Error> {
            let locked_at: Option<i64> = row.try_get("locked_at")?;
            Ok(OperatorFailures {
                failures: row.try_get("failures")?,
                locked: locked_at.is_some(),
            })
        }));
        row.transpose()
    }

    /// A complete login of operator `id`: its failures back to 0, unless it is locked
    /// (then nothing changes). Whether the login may complete (not locked).
    pub async fn clear_operator_failures(&self, id: &str) -> Result<bool, sqlx::Error> {
        const SQL: &str = "UPDATE portal_operators SET failures = 0 \
            WHERE operator_id = $1 AND locked_at IS NULL";
        on_pool!(self, pool => sqlx::query(SQL).bind(id).execute(pool).await
            .map(|done| done.rows_affected() == 1))
    }

    /// Unlocks operator `id` (another operator's action): no lock, no failures. Whether
    /// there is such an operator.
    pub async fn unlock_operator(&self, id: &str) -> Result<bool, sqlx::Error> {
        const SQL: &str = "UPDATE portal_operators SET failures = 0, locked_at = NULL \
            WHERE operator_id = $1";
        on_pool!(self, pool => sqlx::query(SQL).bind(id).execute(pool).await
            .map(|done| done.rows_affected() == 1))
    }
}
