//! The suite has teeth: a store whose `replace_if` checks the version and then writes in a
//! second step (read-then-write across an await, the bug the single conditional statement
//! prevents) fails the concurrency checks.

use std::sync::Arc;
use std::time::Duration;

use totp_enroll::store::{Listed, OutboxEntry};
use totp_enroll::testing::conformance::{Check, Config};
use totp_enroll::{
    AccountId, MemoryStore, Store, error::StoreError, lifecycle::Enrollment, store::Versioned,
};

struct RacyStore(MemoryStore);

impl Store for RacyStore {
    async fn load(&self, account: &AccountId) -> Result<Option<Versioned>, StoreError> {
        self.0.load(account).await
    }

    async fn version(&self, account: &AccountId) -> Result<Option<u64>, StoreError> {
        self.0.version(account).await
    }

    async fn replace_if(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        let seen = self.0.version(account).await?;
        if seen != expected {
            return Err(StoreError::Conflict);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
        // Blind write: whatever the version is now.
        let current = self.0.version(account).await?;
        self.0.replace_if(account, current, record, events).await
    }

    async fn append_events(
        &self,
        account: &AccountId,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        self.0.append_events(account, events).await
    }

    async fn forget(
        &self,
        account: &AccountId,
        expected: u64,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        self.0.forget(account, expected, events).await
    }

    async fn reinstate(
        &self,
        account: &AccountId,
        expected: u64,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        self.0.reinstate(account, expected, record, events).await
    }

    async fn list(
        &self,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError> {
        self.0.list(after, limit).await
    }

    async fn pending_events(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.0.pending_events(limit).await
    }

    async fn acknowledge(&self, ids: &[u64]) -> Result<(), StoreError> {
        self.0.acknowledge(ids).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racy_store_fails_one_acceptance() {
    let store = Arc::new(RacyStore(MemoryStore::new()));
    let config = Config::default().with_rounds(5);
    let error = Check::OneAcceptance.run(store, &config).await.unwrap_err();
    assert!(error.contains("one_acceptance"), "{error}");
    eprintln!("{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racy_store_fails_exact_failure_count() {
    let store = Arc::new(RacyStore(MemoryStore::new()));
    let error = Check::ExactFailureCount
        .run(store, &Config::default())
        .await
        .unwrap_err();
    assert!(error.contains("failures"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racy_store_passes_the_sequential_checks() {
    let store = Arc::new(RacyStore(MemoryStore::new()));
    for check in [
        Check::Crud,
        Check::VersionConflicts,
        Check::RecordRoundTrip,
        Check::Tombstones,
        Check::Listing,
        Check::OutboxAtomicity,
        Check::OutboxDelivery,
    ] {
        check
            .run(Arc::clone(&store), &Config::default())
            .await
            .unwrap();
    }
}
