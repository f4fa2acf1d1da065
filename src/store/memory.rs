//! [`MemoryStore`]: the embedded default, safe under parallel use from tasks and threads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::account::AccountId;
use crate::error::StoreError;
use crate::record::EnrollmentRecord;
use crate::store::{Store, Versioned};

/// An in-process store. Records are kept encoded, exactly as a database would hold them,
/// behind one mutex; every operation is atomic. Decoding happens outside the lock.
#[derive(Debug, Default)]
pub struct MemoryStore {
    rows: Mutex<HashMap<AccountId, Row>>,
}

/// A version and the encoded record, shared so a load copies no bytes under the lock.
type Row = (u64, Arc<[u8]>);

/// The mutex was poisoned by a panic in another thread.
#[derive(Debug, thiserror::Error)]
#[error("memory store lock poisoned")]
struct Poisoned;

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stored bytes of `account`, as a database row would hold them (for inspection).
    pub fn raw_record(&self, account: &AccountId) -> Option<Vec<u8>> {
        self.rows
            .lock()
            .ok()
            .and_then(|rows| rows.get(account).map(|(_, bytes)| bytes.to_vec()))
    }
}

impl Store for MemoryStore {
    async fn load(&self, account: &AccountId) -> Result<Option<Versioned>, StoreError> {
        let row = {
            let rows = self
                .rows
                .lock()
                .map_err(|_| StoreError::backend(Poisoned))?;
            rows.get(account).cloned()
        };
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
        let mut rows = self
            .rows
            .lock()
            .map_err(|_| StoreError::backend(Poisoned))?;
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
