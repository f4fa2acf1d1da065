//! The new checks have teeth too: a store with one outbox, tombstone or listing flaw
//! fails the check that covers it.

use std::sync::Arc;

use totp_enroll::store::{Listed, OutboxEntry};
use totp_enroll::testing::conformance::{Check, Config};
use totp_enroll::{
    AccountId, MemoryStore, Store, error::StoreError, lifecycle::Enrollment, store::Versioned,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// A write's events are appended before (and whatever) the version check says.
    EventsOnConflict,
    /// Empty events are dropped.
    DropsEmptyEvents,
    /// `pending_events` answers the newest `limit` events.
    NewestFirst,
    /// `acknowledge` removes every event of the acknowledged events' accounts.
    AcknowledgesAccounts,
    /// An erased account looks never written: no version, and a first write over it
    /// succeeds.
    ErasureForgetsVersion,
    /// `list` orders ids by UTF-16 code units (as a Java or JavaScript backend would).
    ListsByUtf16,
}

struct Flawed {
    inner: MemoryStore,
    flaw: Flaw,
}

impl Flawed {
    fn events(&self, events: &[Vec<u8>]) -> Vec<Vec<u8>> {
        events
            .iter()
            .filter(|e| self.flaw != Flaw::DropsEmptyEvents || !e.is_empty())
            .cloned()
            .collect()
    }

    async fn everything(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        self.inner.pending_events(usize::MAX).await
    }
}

impl Store for Flawed {
    async fn load(&self, account: &AccountId) -> Result<Option<Versioned>, StoreError> {
        self.inner.load(account).await
    }

    async fn version(&self, account: &AccountId) -> Result<Option<u64>, StoreError> {
        let version = self.inner.version(account).await?;
        if self.flaw == Flaw::ErasureForgetsVersion && self.inner.load(account).await?.is_none() {
            return Ok(None);
        }
        Ok(version)
    }

    async fn replace_if(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        let events = self.events(events);
        let mut expected = expected;
        if self.flaw == Flaw::EventsOnConflict {
            self.inner.append_events(account, &events).await?;
            return self.inner.replace_if(account, expected, record, &[]).await;
        }
        // A first write over a tombstone takes the tombstone's version.
        if self.flaw == Flaw::ErasureForgetsVersion
            && expected.is_none()
            && self.inner.load(account).await?.is_none()
        {
            expected = self.inner.version(account).await?;
        }
        self.inner
            .replace_if(account, expected, record, &events)
            .await
    }

    async fn append_events(
        &self,
        account: &AccountId,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        self.inner
            .append_events(account, &self.events(events))
            .await
    }

    async fn forget(
        &self,
        account: &AccountId,
        expected: u64,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        self.inner
            .forget(account, expected, &self.events(events))
            .await
    }

    async fn reinstate(
        &self,
        account: &AccountId,
        expected: u64,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        self.inner
            .reinstate(account, expected, record, &self.events(events))
            .await
    }

    async fn list(
        &self,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError> {
        if self.flaw != Flaw::ListsByUtf16 {
            return self.inner.list(after, limit).await;
        }
        let key = |id: &AccountId| id.as_str().encode_utf16().collect::<Vec<u16>>();
        let mut all = self.inner.list(None, usize::MAX).await?;
        all.sort_by_key(|row| key(&row.account));
        Ok(all
            .into_iter()
            .filter(|row| after.is_none_or(|after| key(&row.account) > key(after)))
            .take(limit)
            .collect())
    }

    async fn pending_events(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        if self.flaw != Flaw::NewestFirst {
            return self.inner.pending_events(limit).await;
        }
        let all = self.everything().await?;
        let skip = all.len().saturating_sub(limit);
        Ok(all.into_iter().skip(skip).collect())
    }

    async fn acknowledge(&self, ids: &[u64]) -> Result<(), StoreError> {
        if self.flaw != Flaw::AcknowledgesAccounts {
            return self.inner.acknowledge(ids).await;
        }
        let all = self.everything().await?;
        let accounts: Vec<&AccountId> = all
            .iter()
            .filter(|e| ids.contains(&e.id))
            .map(|e| &e.account)
            .collect();
        let doomed: Vec<u64> = all
            .iter()
            .filter(|e| accounts.contains(&&e.account))
            .map(|e| e.id)
            .collect();
        self.inner.acknowledge(&doomed).await
    }
}

async fn fails(flaw: Flaw, check: Check, wanted: &str) {
    let store = Arc::new(Flawed {
        inner: MemoryStore::new(),
        flaw,
    });
    let error = check
        .run(store, &Config::default())
        .await
        .expect_err(&format!("{check:?} must catch {flaw:?}"));
    assert!(error.contains(check.name()), "{error}");
    assert!(error.contains(wanted), "{flaw:?}: {error}");
    eprintln!("{flaw:?}: {error}");
}

#[tokio::test]
async fn events_of_a_conflicting_write() {
    fails(
        Flaw::EventsOnConflict,
        Check::OutboxAtomicity,
        "a failed one none",
    )
    .await;
}

#[tokio::test]
async fn dropped_empty_events() {
    fails(
        Flaw::DropsEmptyEvents,
        Check::OutboxAtomicity,
        "expected 0 bytes",
    )
    .await;
}

#[tokio::test]
async fn newest_events_first() {
    fails(Flaw::NewestFirst, Check::OutboxDelivery, "the oldest").await;
}

#[tokio::test]
async fn acknowledging_more_than_asked() {
    fails(
        Flaw::AcknowledgesAccounts,
        Check::OutboxDelivery,
        "removes exactly the given ids",
    )
    .await;
}

#[tokio::test]
async fn erasure_that_forgets_the_version() {
    fails(
        Flaw::ErasureForgetsVersion,
        Check::Tombstones,
        "an erased account (its tombstone)",
    )
    .await;
}

#[tokio::test]
async fn listing_in_utf16_order() {
    fails(Flaw::ListsByUtf16, Check::Listing, "byte order").await;
}

/// The same stores pass the checks that do not cover their flaw (the flaws are real
/// flaws, not broken stores).
#[tokio::test]
async fn each_flaw_passes_the_crud_check() {
    for flaw in [
        Flaw::EventsOnConflict,
        Flaw::DropsEmptyEvents,
        Flaw::NewestFirst,
        Flaw::AcknowledgesAccounts,
        Flaw::ErasureForgetsVersion,
        Flaw::ListsByUtf16,
    ] {
        let store = Arc::new(Flawed {
            inner: MemoryStore::new(),
            flaw,
        });
        Check::Crud
            .run(store, &Config::default())
            .await
            .unwrap_or_else(|e| panic!("{flaw:?}: {e}"));
    }
}
