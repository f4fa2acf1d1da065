//! [`PortalStore`]: the library's SQLite or PostgreSQL store, chosen at run time.

use totp_enroll::store::{PostgresStore, SqliteStore};
use totp_enroll::{
    AccountId, Store, error::StoreError, lifecycle::Enrollment, store::Listed, store::OutboxEntry,
    store::Versioned,
};

/// The enrollment store the portal runs on: one enum so that the router and its state have
/// one concrete type whatever the database. Every method delegates to the chosen store.
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

    async fn version(&self, account: &AccountId) -> Result<Option<u64>, StoreError> {
        match self {
            Self::Sqlite(store) => store.version(account).await,
            Self::Postgres(store) => store.version(account).await,
        }
    }

    async fn replace_if(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(store) => store.replace_if(account, expected, record, events).await,
            Self::Postgres(store) => store.replace_if(account, expected, record, events).await,
        }
    }

    async fn append_events(
        &self,
        account: &AccountId,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(store) => store.append_events(account, events).await,
            Self::Postgres(store) => store.append_events(account, events).await,
        }
    }

    async fn forget(
        &self,
        account: &AccountId,
        expected: u64,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(store) => store.forget(account, expected, events).await,
            Self::Postgres(store) => store.forget(account, expected, events).await,
        }
    }

    async fn reinstate(
        &self,
        account: &AccountId,
        expected: u64,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(store) => store.reinstate(account, expected, record, events).await,
            Self::Postgres(store) => store.reinstate(account, expected, record, events).await,
        }
    }

    async fn list(
        &self,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError> {
        match self {
            Self::Sqlite(store) => store.list(after, limit).await,
            Self::Postgres(store) => store.list(after, limit).await,
        }
    }

    async fn pending_events(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        match self {
            Self::Sqlite(store) => store.pending_events(limit).await,
            Self::Postgres(store) => store.pending_events(limit).await,
        }
    }

    async fn acknowledge(&self, ids: &[u64]) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(store) => store.acknowledge(ids).await,
            Self::Postgres(store) => store.acknowledge(ids).await,
        }
    }
}
