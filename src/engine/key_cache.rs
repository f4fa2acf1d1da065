//! A bounded, sharded cache per account: the prepared HMAC keys of its secrets (a pending
//! one's and each authenticator's), and the record this engine last wrote for it (with its
//! version), so that a login needs neither to unseal a secret nor, usually, to load the
//! record first.
//!
//! * **Prepared keys.** Unsealing costs about twice a whole window verification; an
//!   entry's [`PreparedKey`] is used only when the record's sealed bytes (key id, nonce,
//!   ciphertext and tag) are identical to the ones it was derived from, so a
//!   re-enrollment, a rotation re-seal or a tampered record is always a miss that goes
//!   through the tag check.
//! * **Held records.** After a successful conditional write, the engine keeps the record it
//!   wrote and the version the store gave it. The next login of that account decides from
//!   it and sends its conditional write directly (one round trip); if another writer (a
//!   process, an engine, the support desk) changed the row since, the version differs, the
//!   write is refused and the engine loads and decides again, so acceptance is still
//!   reported only after a durable compare-and-swap. A held record is used for at most
//!   [`KeyCache::HELD_MAX_AGE`] seconds, which bounds how long a row restored behind the
//!   engine's back at the same version could go unnoticed.
//! * **Consistency with the key ring.** Every entry belongs to one generation of the
//!   engine's key ring; replacing the ring empties the cache and starts a new generation,
//!   and an entry prepared under an older ring is never inserted.
//! * **Exposure.** The entries are key-equivalent, like the key ring that the engine holds
//!   for its whole life and that opens every record; they are zeroized when evicted or
//!   replaced, and the engine evicts an account's entry when its secret is erased. Each
//!   entry is boxed, so a resizing table moves pointers only: no copy of a prepared key is
//!   left in freed memory.
//! * **Population scale.** Accounts are spread over [`KeyCache::SHARDS`] locks; each shard
//!   evicts its oldest entry first (FIFO, O(1)), and when full admits only one new account
//!   in [`KeyCache::ADMIT_WHEN_FULL`], so a population far larger than the capacity costs
//!   a miss, never a scan nor an entry rebuilt per login. A capacity of 0 disables it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use crate::account::AccountId;
use crate::keys::SealedSecret;
use crate::lifecycle::authenticator::Authenticator;
use crate::lifecycle::enrollment::Enrollment;
use crate::otp::PreparedKey;
use crate::otp::policy::Algorithm;

/// Prepared keys kept per account: a pending secret and every authenticator's, with room
/// to spare.
const KEYS_PER_ACCOUNT: usize = Authenticator::MAX_PER_ACCOUNT + 2;

/// One account's cached state.
struct Entry {
    /// The prepared key of each sealed secret seen (oldest first). The vector is never
    /// grown in place: a new key makes a new one of exact size, so no key is ever moved
    /// into a freed buffer (the old vector's keys are zeroized when it is dropped).
    keys: Vec<(SealedSecret, PreparedKey)>,
    /// The record this engine last wrote, its store version, and when (engine clock).
    held: Option<Held>,
    /// Its position in the shard's FIFO (entries re-inserted get a new one).
    serial: u64,
}

/// A record the engine wrote, with the version the store gave it.
#[derive(Clone)]
pub(crate) struct Held {
    pub(crate) version: u64,
    pub(crate) record: Enrollment,
    pub(crate) at: u64,
}

/// One lock's share of the cache.
#[derive(Default)]
struct Shard {
    generation: u64,
    next_serial: u64,
    /// Misses met while the shard was full (see [`KeyCache::ADMIT_WHEN_FULL`]).
    full_misses: u64,
    map: HashMap<AccountId, Box<Entry>>,
    /// Accounts in insertion order, with the serial they were inserted under (stale
    /// pairs, whose entry was replaced or removed, are skipped when met).
    order: VecDeque<(AccountId, u64)>,
}

pub(crate) struct KeyCache {
    per_shard: usize,
    shards: Box<[Mutex<Shard>]>,
}

impl Entry {
    fn key_for(&self, sealed: &SealedSecret, algorithm: Algorithm) -> Option<&PreparedKey> {
        self.keys
            .iter()
            .find(|(s, k)| s == sealed && k.algorithm() == algorithm)
            .map(|(_, key)| key)
    }

    /// The keys after caching `fresh`: those of the secrets `held` holds (all when there
    /// is no record), then the new ones, oldest first, at most [`KEYS_PER_ACCOUNT`]. The
    /// vector is rebuilt (exactly sized) only when it changes.
    fn merge(&mut self, fresh: &[(&SealedSecret, &PreparedKey)], held: Option<&Held>) {
        let kept = |s: &SealedSecret| held.is_none_or(|h| h.record.secrets().any(|r| r == s));
        let new: Vec<&(&SealedSecret, &PreparedKey)> = fresh
            .iter()
            .filter(|(sealed, key)| self.key_for(sealed, key.algorithm()).is_none())
            .collect();
        if new.is_empty() && self.keys.iter().all(|(s, _)| kept(s)) {
            return;
        }
        let old = self.keys.iter().filter(|(s, _)| kept(s));
        let total = old.clone().count().saturating_add(new.len());
        let skip = total.saturating_sub(KEYS_PER_ACCOUNT);
        let mut next = Vec::with_capacity(total.saturating_sub(skip));
        let all = old
            .map(|(s, k)| (s, k))
            .chain(new.into_iter().map(|(s, k)| (*s, *k)));
        next.extend(all.skip(skip).map(|(s, k)| (s.clone(), k.clone())));
        self.keys = next;
    }
}

impl KeyCache {
    /// Number of independently locked shards.
    pub(crate) const SHARDS: usize = 16;

    /// How long (engine clock, seconds) a held record may be used without loading the row.
    pub(crate) const HELD_MAX_AGE: u64 = 300;

    /// When a shard is full, one new account in this many is admitted (evicting the
    /// oldest). With a population far larger than the cache, admitting every miss made
    /// each login evict and rebuild an entry that would almost never be hit again, which
    /// cost more than having no cache; an account that keeps coming back is still
    /// admitted soon.
    pub(crate) const ADMIT_WHEN_FULL: u64 = 8;

    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            per_shard: capacity.div_ceil(Self::SHARDS),
            shards: (0..Self::SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    fn shard(&self, account: &AccountId) -> Option<MutexGuard<'_, Shard>> {
        const MASK: u64 = KeyCache::SHARDS as u64 - 1;
        let hash = account.as_str().bytes().fold(0x811c_9dc5_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0193)
        });
        let index = usize::try_from(hash & MASK).unwrap_or(0);
        self.shards.get(index)?.lock().ok()
    }

    /// The prepared key cached for exactly `sealed`, if any, and the shard's generation to
    /// pass to [`KeyCache::insert`] later (a key prepared after this call must come from
    /// the ring loaded after it).
    pub(crate) fn get(
        &self,
        account: &AccountId,
        sealed: &SealedSecret,
        algorithm: Algorithm,
    ) -> (Option<Box<PreparedKey>>, u64) {
        let Some(shard) = self.shard(account) else {
            return (None, u64::MAX);
        };
        // Boxed: the caller's copy then moves as a pointer only.
        let key = shard
            .map
            .get(account)
            .and_then(|e| e.key_for(sealed, algorithm))
            .map(|key| Box::new(key.clone()));
        (key, shard.generation)
    }

    /// The record this engine last wrote for `account`, if written less than
    /// [`KeyCache::HELD_MAX_AGE`] ago (`now`, engine clock). Its prepared keys are found
    /// with [`KeyCache::get`].
    pub(crate) fn held(&self, account: &AccountId, now: u64) -> Option<Held> {
        let shard = self.shard(account)?;
        let entry = shard.map.get(account)?;
        let held = entry.held.as_ref()?;
        (now.saturating_sub(held.at) < Self::HELD_MAX_AGE && now >= held.at).then(|| held.clone())
    }

    /// Caches `key` for `sealed` (and the record written as `held`, if any): see
    /// [`KeyCache::insert_all`].
    pub(crate) fn insert(
        &self,
        account: &AccountId,
        sealed: &SealedSecret,
        key: &PreparedKey,
        generation: u64,
        held: Option<Held>,
    ) {
        self.insert_all(account, &[(sealed, key)], generation, held);
    }

    /// Caches each key for its sealed secret (and the record written as `held`, if any,
    /// once for all of them), unless the key ring changed since `generation` was read (the
    /// keys may come from a ring that is no longer the engine's).
    pub(crate) fn insert_all(
        &self,
        account: &AccountId,
        keys: &[(&SealedSecret, &PreparedKey)],
        generation: u64,
        held: Option<Held>,
    ) {
        if self.per_shard == 0 {
            return;
        }
        let Some(mut shard) = self.shard(account) else {
            return;
        };
        if shard.generation != generation {
            return;
        }
        if let Some(entry) = shard.map.get_mut(account) {
            // Keep its place; add the key if new, drop the keys of secrets the written
            // record no longer holds, update the record.
            entry.merge(keys, held.as_ref());
            entry.held = held;
            return;
        }
        if shard.map.len() >= self.per_shard {
            shard.full_misses = shard.full_misses.wrapping_add(1);
            if shard.full_misses % Self::ADMIT_WHEN_FULL != 0 {
                return;
            }
        }
        let serial = shard.next_serial;
        shard.next_serial = serial.wrapping_add(1);
        while shard.map.len() >= self.per_shard {
            let Some((oldest, oldest_serial)) = shard.order.pop_front() else {
                break;
            };
            if shard
                .map
                .get(&oldest)
                .is_some_and(|e| e.serial == oldest_serial)
            {
                shard.map.remove(&oldest);
            }
        }
        shard.map.insert(
            account.clone(),
            Box::new(Entry {
                keys: {
                    let mut fresh = Vec::with_capacity(keys.len().min(KEYS_PER_ACCOUNT));
                    fresh.extend(
                        keys.iter()
                            .take(KEYS_PER_ACCOUNT)
                            .map(|(s, k)| ((*s).clone(), (*k).clone())),
                    );
                    fresh
                },
                held,
                serial,
            }),
        );
        shard.order.push_back((account.clone(), serial));
        // Stale pairs (replaced or evicted entries) stay queued until met; keep the queue
        // within a bound of the map.
        let bound = shard.map.len().saturating_mul(2).saturating_add(16);
        if shard.order.len() > bound {
            let Shard { map, order, .. } = &mut *shard;
            order.retain(|(account, serial)| map.get(account).is_some_and(|e| e.serial == *serial));
        }
    }

    /// The generation of `account`'s shard, to read before loading the ring that prepares
    /// a key later passed to [`KeyCache::insert`].
    pub(crate) fn generation(&self, account: &AccountId) -> u64 {
        self.shard(account)
            .map_or(u64::MAX, |shard| shard.generation)
    }

    /// Forgets the held record of `account` (keeping its prepared key): the row changed
    /// behind this engine's back, or a write failed in an unknown way.
    pub(crate) fn release(&self, account: &AccountId) {
        if let Some(mut shard) = self.shard(account)
            && let Some(entry) = shard.map.get_mut(account)
        {
            entry.held = None;
        }
    }

    /// Drops every entry (zeroized) and starts a new generation: called after the engine's
    /// key ring was replaced, so that cached and uncached accounts behave alike.
    pub(crate) fn reset(&self) {
        for shard in self.shards.iter() {
            if let Ok(mut shard) = shard.lock() {
                shard.map.clear();
                shard.order.clear();
                shard.generation = shard.generation.wrapping_add(1);
            }
        }
    }

    pub(crate) fn evict(&self, account: &AccountId) {
        if let Some(mut shard) = self.shard(account) {
            shard.map.remove(account);
        }
    }
}
