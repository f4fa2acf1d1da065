//! [`MemoryStore`]: the embedded default, safe under parallel use from tasks and threads.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::account::AccountId;
use crate::error::StoreError;
use crate::lifecycle::enrollment::Enrollment;
use crate::store::{Listed, OutboxEntry, Store, Versioned};

/// An in-process store. Records are kept encoded, exactly as a database would hold them.
/// Accounts are spread over [`MemoryStore::SHARDS`] mutexes by a hash of their id, so engines on
/// several cores rarely wait for each other; each operation on one account is atomic under
/// its shard's lock, and a write's outbox events are appended while that lock is held, so
/// a record and its events appear together. Decoding happens outside the lock.
///
/// The outbox lives in memory like the records: it survives nothing, and grows until an
/// [`Outbox`](crate::Outbox) delivers and acknowledges its events (or the engine's policy
/// turns the outbox off).
#[derive(Debug)]
pub struct MemoryStore {
    shards: Box<[Mutex<Rows>]>,
    outbox: Mutex<Events>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            shards: (0..Self::SHARDS).map(|_| Mutex::default()).collect(),
            outbox: Mutex::default(),
        }
    }
}

/// A version and the encoded record, shared so a load copies no bytes under the lock.
/// Empty bytes are a tombstone (an erased account).
type Row = (u64, Arc<[u8]>);

/// One shard's rows: a hash map for the per-account operations (a lookup costs one hash
/// of the id, whatever the population), and the ids in byte order for `list` (touched only
/// when an account's row is created or deleted).
#[derive(Debug, Default)]
struct Rows {
    by_account: HashMap<AccountId, Row>,
    in_order: BTreeSet<AccountId>,
}

impl Rows {
    fn get(&self, account: &AccountId) -> Option<&Row> {
        self.by_account.get(account)
    }

    fn insert(&mut self, account: &AccountId, row: Row) {
        if self.by_account.insert(account.clone(), row).is_none() {
            self.in_order.insert(account.clone());
        }
    }

    #[cfg(feature = "testing")]
    fn remove(&mut self, account: &AccountId) {
        self.by_account.remove(account);
        self.in_order.remove(account);
    }

    /// Up to `limit` live rows after `after`, in byte order of the id.
    fn live_after(
        &self,
        after: Option<&AccountId>,
        limit: usize,
    ) -> impl Iterator<Item = (&AccountId, &Row)> {
        let ids: Box<dyn Iterator<Item = &AccountId>> = match after {
            Some(after) => Box::new(self.in_order.range::<AccountId, _>((
                core::ops::Bound::Excluded(after),
                core::ops::Bound::Unbounded,
            ))),
            None => Box::new(self.in_order.iter()),
        };
        ids.filter_map(|account| self.by_account.get(account).map(|row| (account, row)))
            .filter(|(_, (_, bytes))| !bytes.is_empty())
            .take(limit)
    }
}

/// The outbox: events by id, and the next id to give.
#[derive(Debug, Default)]
struct Events {
    next_id: u64,
    pending: BTreeMap<u64, (AccountId, Arc<[u8]>)>,
}

impl Events {
    fn append(&mut self, account: &AccountId, events: &[Vec<u8>]) -> Result<(), StoreError> {
        let count = u64::try_from(events.len()).map_err(|_| StoreError::VersionExhausted)?;
        let first = self
            .next_id
            .checked_add(1)
            .ok_or(StoreError::VersionExhausted)?;
        self.next_id = self
            .next_id
            .checked_add(count)
            .ok_or(StoreError::VersionExhausted)?;
        for (id, bytes) in (first..).zip(events) {
            self.pending
                .insert(id, (account.clone(), Arc::from(bytes.as_slice())));
        }
        Ok(())
    }
}

/// The mutex was poisoned by a panic in another thread.
#[derive(Debug, thiserror::Error)]
#[error("memory store lock poisoned")]
struct Poisoned;

impl MemoryStore {
    /// Number of independently locked shards.
    pub const SHARDS: usize = 32;

    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stored bytes of `account`, as a database row would hold them (for inspection;
    /// empty for a tombstone).
    pub fn raw_record(&self, account: &AccountId) -> Option<Vec<u8>> {
        self.shard(account)
            .ok()
            .and_then(|rows| rows.get(account).map(|(_, bytes)| bytes.to_vec()))
    }

    /// Puts raw bytes at a version into the account's row, bypassing every check (for
    /// tests of corrupted rows and of the support desk's repair).
    #[cfg(feature = "testing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
    pub fn put_raw(&self, account: &AccountId, version: u64, bytes: &[u8]) {
        if let Ok(mut rows) = self.shard(account) {
            rows.insert(account, (version, Arc::from(bytes)));
        }
    }

    /// Deletes the account's row outright, bypassing every check (a test of a row deleted
    /// behind the engine's back; the store itself only ever leaves tombstones).
    #[cfg(feature = "testing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
    pub fn delete_raw(&self, account: &AccountId) {
        if let Ok(mut rows) = self.shard(account) {
            rows.remove(account);
        }
    }

    /// The account's row as stored: its version and bytes (for tests of corrupted rows).
    #[cfg(feature = "testing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
    pub fn raw_row(&self, account: &AccountId) -> Option<(u64, Vec<u8>)> {
        self.shard(account)
            .ok()
            .and_then(|rows| rows.get(account).map(|(v, bytes)| (*v, bytes.to_vec())))
    }

    /// The number of undelivered outbox events.
    pub fn pending_event_count(&self) -> usize {
        self.outbox.lock().map_or(0, |events| events.pending.len())
    }

    /// The locked shard that holds `account`. The shard is picked by FNV-1a of the id:
    /// cheap and unkeyed, which is fine here — ids crowding into one shard only make it as
    /// slow as a single lock.
    fn shard(&self, account: &AccountId) -> Result<MutexGuard<'_, Rows>, StoreError> {
        const MASK: u64 = MemoryStore::SHARDS as u64 - 1;
        let hash = account
            .as_str()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
        let index = usize::try_from(hash & MASK).unwrap_or(0);
        self.shards
            .get(index)
            .ok_or_else(|| StoreError::backend(Poisoned))?
            .lock()
            .map_err(|_| StoreError::backend(Poisoned))
    }

    fn events(&self) -> Result<MutexGuard<'_, Events>, StoreError> {
        self.outbox
            .lock()
            .map_err(|_| StoreError::backend(Poisoned))
    }

    /// Replaces the row of `account` at version `expected` (`None`: no row) by
    /// `(next(expected), bytes)` and appends `events`, all under the shard's lock.
    fn write(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        next: impl FnOnce(Option<u64>) -> Result<u64, StoreError>,
        bytes: Arc<[u8]>,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        let mut rows = self.shard(account)?;
        let current = rows.get(account).map(|row| row.0);
        if current != expected {
            return Err(StoreError::Conflict);
        }
        let version = next(expected)?;
        // The outbox lock is taken under the shard's (always in this order), so a reader of
        // the outbox never sees an event whose record is not there.
        self.events()?.append(account, events)?;
        rows.insert(account, (version, bytes));
        Ok(version)
    }
}

/// The version after `expected` (1 after none).
fn advanced(expected: Option<u64>) -> Result<u64, StoreError> {
    match expected {
        None => Ok(1),
        Some(version) => version.checked_add(1).ok_or(StoreError::VersionExhausted),
    }
}

impl Store for MemoryStore {
    async fn load(&self, account: &AccountId) -> Result<Option<Versioned>, StoreError> {
        let row = self.shard(account)?.get(account).cloned();
        match row {
            Some((version, bytes)) if !bytes.is_empty() => Ok(Some(Versioned {
                version,
                record: Enrollment::decode(&bytes)?,
            })),
            _ => Ok(None),
        }
    }

    async fn version(&self, account: &AccountId) -> Result<Option<u64>, StoreError> {
        Ok(self.shard(account)?.get(account).map(|row| row.0))
    }

    async fn replace_if(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        let bytes: Arc<[u8]> = record.encode().into();
        self.write(account, expected, advanced, bytes, events)
    }

    async fn append_events(
        &self,
        account: &AccountId,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        self.events()?.append(account, events)
    }

    async fn forget(
        &self,
        account: &AccountId,
        expected: u64,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        self.write(account, Some(expected), advanced, Arc::from([]), events)
    }

    async fn reinstate(
        &self,
        account: &AccountId,
        expected: u64,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        if expected != u64::MAX {
            return Err(StoreError::Conflict);
        }
        let bytes: Arc<[u8]> = record.encode().into();
        self.write(account, Some(expected), |_| Ok(1), bytes, events)
            .map(|_| ())
    }

    async fn list(
        &self,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError> {
        // Each shard's next `limit` live rows after `after`, merged; at most
        // SHARDS × limit rows are copied per page.
        let mut page: Vec<(AccountId, u64, Arc<[u8]>)> = Vec::new();
        for index in 0..Self::SHARDS {
            let shard = self
                .shards
                .get(index)
                .ok_or_else(|| StoreError::backend(Poisoned))?
                .lock()
                .map_err(|_| StoreError::backend(Poisoned))?;
            page.extend(
                shard
                    .live_after(after, limit)
                    .map(|(account, (version, bytes))| (account.clone(), *version, bytes.clone())),
            );
        }
        page.sort_unstable_by(|a, b| a.0.as_str().as_bytes().cmp(b.0.as_str().as_bytes()));
        page.truncate(limit);
        Ok(page
            .into_iter()
            .map(|(account, version, bytes)| Listed {
                account,
                version,
                record: Enrollment::decode(&bytes),
            })
            .collect())
    }

    async fn pending_events(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        Ok(self
            .events()?
            .pending
            .iter()
            .take(limit)
            .map(|(id, (account, bytes))| OutboxEntry {
                id: *id,
                account: account.clone(),
                bytes: bytes.to_vec(),
            })
            .collect())
    }

    async fn acknowledge(&self, ids: &[u64]) -> Result<(), StoreError> {
        let mut events = self.events()?;
        for id in ids {
            events.pending.remove(id);
        }
        Ok(())
    }
}
