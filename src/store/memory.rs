//! [`MemoryStore`]: the embedded default, safe under parallel use from tasks and threads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::account::AccountId;
use crate::error::StoreError;
use crate::record::EnrollmentRecord;
use crate::store::{Store, Versioned};

/// An in-process store. Records are kept encoded, exactly as a database would hold them.
/// Accounts are spread over [`MemoryStore::SHARDS`] mutexes by a hash of their id, so engines on
/// several cores rarely wait for each other; each operation on one account is atomic under
/// its shard's lock. Decoding happens outside the lock.
#[derive(Debug)]
pub struct MemoryStore {
    shards: Box<[Mutex<HashMap<AccountId, Row>>]>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            shards: (0..Self::SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

/// A version and the encoded record, shared so a load copies no bytes under the lock.
type Row = (u64, Arc<[u8]>);

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

    /// The stored bytes of `account`, as a database row would hold them (for inspection).
    pub fn raw_record(&self, account: &AccountId) -> Option<Vec<u8>> {
        self.shard(account)
            .ok()
            .and_then(|rows| rows.get(account).map(|(_, bytes)| bytes.to_vec()))
    }

    /// The locked shard that holds `account`. The shard is picked by FNV-1a of the id:
    /// cheap and unkeyed, which is fine here — ids crowding into one shard only make it as
    /// slow as a single lock, and each shard's map keeps std's keyed hash.
    fn shard(
        &self,
        account: &AccountId,
    ) -> Result<MutexGuard<'_, HashMap<AccountId, Row>>, StoreError> {
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
}

impl Store for MemoryStore {
    async fn load(&self, account: &AccountId) -> Result<Option<Versioned>, StoreError> {
        let row = self.shard(account)?.get(account).cloned();
        row.map(|(version, bytes)| {
            Ok(Versioned {
                version,
                record: EnrollmentRecord::decode(&bytes)?,
            })
        })
        .transpose()
    }

    async fn replace_if(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        record: &EnrollmentRecord,
    ) -> Result<u64, StoreError> {
        let bytes: Arc<[u8]> = record.encode().into();
        let mut rows = self.shard(account)?;
        match (rows.get_mut(account), expected) {
            (Some(row), Some(expected)) if row.0 == expected => {
                let version = expected.checked_add(1).ok_or(StoreError::Conflict)?;
                *row = (version, bytes);
                Ok(version)
            }
            (None, None) => {
                rows.insert(account.clone(), (1, bytes));
                Ok(1)
            }
            _ => Err(StoreError::Conflict),
        }
    }
}
