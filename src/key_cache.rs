//! A bounded cache of prepared HMAC keys, so a login does not unseal its secret every time.
//!
//! Unsealing (XChaCha20-Poly1305) costs several times a whole window verification; the
//! cache keeps, per account, the [`PreparedKey`] derived from one exact sealed secret. An
//! entry is used only when the stored sealed bytes (key id, nonce, ciphertext and tag) are
//! identical to the ones it was derived from, so a re-enrollment, a rotation re-seal or a
//! tampered record is always a miss that goes through the AEAD.
//!
//! Exposure: the entries are key-equivalent, like the key ring that the engine already
//! holds for its whole life and that opens every record; they are zeroized when evicted or
//! replaced, and the engine evicts an account's entry when its secret is erased (stop,
//! administrative reset). Each entry is boxed, so when the map grows (or a removed entry's
//! slot stays behind) the table holds only a pointer: resizing never leaves a copy of a
//! prepared key in freed memory. A capacity of 0 disables the cache.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::account::AccountId;
use crate::otp::PreparedKey;
use crate::policy::Algorithm;
use crate::seal::SealedSecret;

/// The sealed bytes a prepared key came from (including the record format they were
/// sealed for), and the key, which zeroizes itself on drop wherever the box puts it.
struct Entry {
    sealed: SealedSecret,
    key: PreparedKey,
}

pub(crate) struct KeyCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

/// The entries, all derived under the key ring of `generation`.
#[derive(Default)]
struct Entries {
    generation: u64,
    map: HashMap<AccountId, Box<Entry>>,
}

impl KeyCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// The prepared key for exactly this sealed secret and algorithm, if cached.
    /// The prepared key cached for exactly `sealed`; otherwise the cache's generation, to
    /// pass to [`KeyCache::insert`] once the key is prepared (under the ring loaded after
    /// this call).
    pub(crate) fn get(
        &self,
        account: &AccountId,
        sealed: &SealedSecret,
        algorithm: Algorithm,
    ) -> Result<PreparedKey, u64> {
        let Ok(entries) = self.entries.lock() else {
            return Err(u64::MAX);
        };
        entries
            .map
            .get(account)
            .filter(|e| &e.sealed == sealed && e.key.algorithm() == algorithm)
            .map(|e| e.key.clone())
            .ok_or(entries.generation)
    }

    /// Caches `key`, unless the key ring changed since `generation` was read (the key may
    /// come from a ring that is no longer the engine's).
    pub(crate) fn insert(
        &self,
        account: &AccountId,
        sealed: &SealedSecret,
        key: &PreparedKey,
        generation: u64,
    ) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.generation != generation {
            return;
        }
        let map = &mut entries.map;
        if map.len() >= self.capacity && !map.contains_key(account) {
            let victim = map.keys().next().cloned();
            if let Some(victim) = victim {
                map.remove(&victim);
            }
        }
        map.insert(
            account.clone(),
            Box::new(Entry {
                sealed: sealed.clone(),
                key: key.clone(),
            }),
        );
    }

    /// Drops every entry (zeroized) and starts a new generation: called after the engine's
    /// key ring was replaced, so that cached and uncached accounts behave alike.
    pub(crate) fn reset(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.map.clear();
            entries.generation = entries.generation.wrapping_add(1);
        }
    }

    pub(crate) fn evict(&self, account: &AccountId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.map.remove(account);
        }
    }
}
