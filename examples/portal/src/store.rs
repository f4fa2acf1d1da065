//! [`PortalStore`]: the library's SQLite or PostgreSQL store, chosen at run time.

use totp_enroll::store::{PostgresStore, SqliteStore};
use totp_enroll::{AccountId, EnrollmentRecord, Store, StoreError, Versioned};

/// The enrollment store the portal runs on: one enum so that the router and its state have
/// one concrete type whatever the database.
#[derive(Debug, Clone)]
pub enum PortalStore {
    /// The embedded default: a SQLite file.
    Sqlite(SqliteStore),
    /// Several portal processes sharing one PostgreSQL database.
    Postgres(PostgresStore),
}

impl Store for PortalStore {
    async fn load(&self, account: &AccountId) -> Result<Option<Versioned>, StoreError> {
        match self {
            Self::Sqlite(store) => store.load(account).await,
            Self::Postgres(store) => store.load(account).await,
        }
    }

    async fn replace_if(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        record: &EnrollmentRecord,
    ) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(store) => store.replace_if(account, expected, record).await,
            Self::Postgres(store) => store.replace_if(account, expected, record).await,
        }
    }
}
