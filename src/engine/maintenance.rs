//! Keys and rows over the whole store, while the engine serves: key rotation without a
//! restart, which keys records still need, the bulk re-seal that retires a key, and the
//! sweep that erases lapsed applications nobody touches.
//!
//! All of it pages through [`Store::list`] and writes with the same conditional write as
//! a login, so it is safe while logins happen: a row a login changed in between is
//! reloaded and decided again.

use std::collections::BTreeMap;

use crate::account::AccountId;
use crate::engine::Engine;
use crate::engine::check::retry;
use crate::error::{EngineError, StoreError};
use crate::keys::KeyRing;
use crate::lifecycle::enrollment::Enrollment;
use crate::store::{Listed, Store, Versioned};

/// Rows read per page by the maintenance passes.
const PAGE: usize = 500;

/// Which key ids the stored records need, from one pass over the store
/// ([`Engine::key_usage`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyUsage {
    /// Live records whose secret is sealed under each key id.
    pub sealed_under: BTreeMap<u32, u64>,
    /// Live records whose MAC is under each key id.
    pub signed_under: BTreeMap<u32, u64>,
    /// Live records whose unused recovery codes are hashed under each key id. A hash
    /// cannot be re-computed without the code (the engine never keeps one), so
    /// [`Engine::reseal_all`] leaves them: the key stays needed until the codes are used
    /// or a new set is issued.
    pub hashed_under: BTreeMap<u32, u64>,
    /// Records in the legacy format 1 (no MAC), which [`Engine::reseal_all`] rewrites.
    pub legacy: u64,
    /// Rows that do not decode (only the support desk's reset repairs them).
    pub undecodable: Vec<AccountId>,
    /// Live rows read.
    pub rows: u64,
}

impl KeyUsage {
    /// Whether any record still needs `key_id` to open its secret, check its MAC or
    /// check its recovery codes.
    pub fn is_needed(&self, key_id: u32) -> bool {
        self.sealed_under.contains_key(&key_id)
            || self.signed_under.contains_key(&key_id)
            || self.hashed_under.contains_key(&key_id)
    }
}

/// What [`Engine::reseal_all`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResealReport {
    /// Records re-written under the current key, by the key id their secret (or, for a
    /// record without a secret, their MAC) was under before; legacy records under
    /// `u32::MAX`.
    pub resealed: BTreeMap<u32, u64>,
    /// Records already entirely under the current key.
    pub current: u64,
    /// Records that changed between the listing and the write and were reloaded.
    pub retried: u64,
    /// Rows that could not be re-sealed: they do not decode, fail their integrity check,
    /// or need a key the ring no longer holds. Left untouched.
    pub failed: Vec<(AccountId, String)>,
}

/// What [`Engine::sweep_expired`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SweepReport {
    /// Lapsed applications whose secret this sweep erased (a row that changed between the
    /// listing and the erasure is left to whoever changed it, and not counted).
    pub erased: u64,
    /// Live rows read.
    pub rows: u64,
}

impl<S: Store> Engine<S> {
    /// The engine's key ring (shared; replaced as a whole by [`Engine::set_keys`]).
    pub fn keys(&self) -> std::sync::Arc<KeyRing> {
        self.keys.load_full()
    }

    /// Replaces the key ring while the engine serves (an `Arc<Engine>` needs no `&mut`):
    /// calls that start afterwards seal under the new current key and open with the new
    /// ring; the prepared-key cache is emptied, so a key that left the ring stops working
    /// for cached and uncached accounts alike. Keep every key still needed
    /// ([`Engine::key_usage`]), or use [`Engine::retire_key`], which checks.
    pub fn set_keys(&self, keys: KeyRing) {
        self.keys.store(std::sync::Arc::new(keys));
        self.key_cache.reset();
    }

    /// Drops `key_id` from the ring if no record needs it any more; otherwise
    /// [`EngineError::KeyStillNeeded`] with how many records do (run
    /// [`Engine::reseal_all`] first). The current key cannot be retired.
    ///
    /// The ring is replaced by compare-and-swap: the ring the usage was counted for, minus
    /// `key_id`, is installed only if it is still the engine's ring. A
    /// [`Engine::set_keys`] made during the scan (a rotation to a newer key) is never
    /// undone; the retirement is refused with [`EngineError::KeyRingChanged`] instead, and
    /// nothing changes.
    ///
    /// The check sees the store's truth at the time of the scan, and this engine's ring
    /// only. Several processes sharing a store each hold their own ring: give every
    /// process the ring with the new current key first, then re-seal, then retire (on
    /// every process, or by deploying the ring without the old key). A process that still
    /// seals under the old key after the retirement writes records the others cannot open
    /// ([`SealError::UnknownKeyId`](crate::error::SealError::UnknownKeyId): they fail closed,
    /// never accept) until it gets the new ring and they are re-sealed.
    pub async fn retire_key(&self, key_id: u32) -> Result<(), EngineError> {
        let keys = self.keys();
        if keys.current_key_id() == key_id {
            return Err(EngineError::KeyStillNeeded {
                key_id,
                records: u64::MAX,
            });
        }
        let usage = self.key_usage().await?;
        if usage.is_needed(key_id) {
            let records = usage
                .sealed_under
                .get(&key_id)
                .copied()
                .unwrap_or(0)
                .max(usage.signed_under.get(&key_id).copied().unwrap_or(0))
                .max(usage.hashed_under.get(&key_id).copied().unwrap_or(0));
            return Err(EngineError::KeyStillNeeded { key_id, records });
        }
        let mut next = (*keys).clone();
        next.remove(key_id);
        let previous = self.keys.compare_and_swap(&keys, std::sync::Arc::new(next));
        if !std::sync::Arc::ptr_eq(&*previous, &keys) {
            return Err(EngineError::KeyRingChanged { key_id });
        }
        self.key_cache.reset();
        Ok(())
    }

    /// Counts, over every live row, the key ids their secrets and MACs are under.
    pub async fn key_usage(&self) -> Result<KeyUsage, EngineError> {
        let mut usage = KeyUsage::default();
        let mut after = None;
        while let Some(page) = self.next_page(&mut after).await? {
            for row in page {
                usage.rows = usage.rows.saturating_add(1);
                match row.record {
                    Err(_) => usage.undecodable.push(row.account),
                    Ok(record) => {
                        // Each key id once per record, however many secrets it seals.
                        let mut key_ids: Vec<u32> = record.secrets().map(|s| s.key_id()).collect();
                        key_ids.sort_unstable();
                        key_ids.dedup();
                        for key_id in key_ids {
                            bump(&mut usage.sealed_under, key_id);
                        }
                        if record.recovery_codes_remaining() > 0 {
                            bump(&mut usage.hashed_under, record.recovery.key_id);
                        }
                        match record.mac_key_id() {
                            Some(key_id) => bump(&mut usage.signed_under, key_id),
                            None => usage.legacy = usage.legacy.saturating_add(1),
                        }
                    }
                }
            }
        }
        Ok(usage)
    }

    /// Re-writes every live record that is not entirely under the current key and format
    /// (its secret sealed, or its MAC computed, under an older key; its secrets sealed with
    /// the construction of an earlier record format, 1 to 3: see
    /// [`KeyRing`](crate::KeyRing)), with the
    /// same conditional write as a login, so it is safe while logins happen. Afterwards
    /// [`Engine::key_usage`] shows the old keys unused (except for rows in
    /// [`ResealReport::failed`], and for recovery codes hashed under them:
    /// [`KeyUsage::hashed_under`]) and [`Engine::retire_key`] can drop them.
    pub async fn reseal_all(&self) -> Result<ResealReport, EngineError> {
        let mut report = ResealReport::default();
        let current = self.keys().current_key_id();
        let mut after = None;
        while let Some(page) = self.next_page(&mut after).await? {
            for row in page {
                self.reseal_row(row, current, &mut report).await?;
            }
        }
        Ok(report)
    }

    /// Erases the secrets of lapsed applications that nobody touched (any call on such an
    /// account erases it too). Run it now and then, e.g. hourly.
    pub async fn sweep_expired(&self) -> Result<SweepReport, EngineError> {
        let now = self.clock.now()?;
        let mut report = SweepReport::default();
        let mut after = None;
        while let Some(page) = self.next_page(&mut after).await? {
            for row in page {
                report.rows = report.rows.saturating_add(1);
                let Ok(record) = row.record else { continue };
                if !record.is_expired_pending(now) {
                    continue;
                }
                let loaded = Versioned {
                    version: row.version,
                    record,
                };
                // A row that fails its checks is left for the support desk.
                if let Ok(loaded) = self.authenticate(&row.account, loaded)
                    && self.erase_expired(&row.account, loaded, now).await?
                {
                    report.erased = report.erased.saturating_add(1);
                }
            }
        }
        Ok(report)
    }

    /// The page of live rows after `after` (then moved to the page's last account), or
    /// `None` at the end.
    async fn next_page(
        &self,
        after: &mut Option<AccountId>,
    ) -> Result<Option<Vec<Listed>>, EngineError> {
        let page = self.store.list(after.as_ref(), PAGE).await?;
        match page.last() {
            None => Ok(None),
            Some(last) => {
                *after = Some(last.account.clone());
                Ok(Some(page))
            }
        }
    }

    /// Re-writes one listed row under the current key if it needs it, reloading on a
    /// conflict.
    async fn reseal_row(
        &self,
        row: Listed,
        current: u32,
        report: &mut ResealReport,
    ) -> Result<(), EngineError> {
        let account = row.account;
        let mut listed = match row.record {
            Ok(record) => Some(Versioned {
                version: row.version,
                record,
            }),
            Err(error) => {
                report.failed.push((account, error.to_string()));
                return Ok(());
            }
        };
        retry!({
            // The listed row first; after a conflict, the row as it is now.
            let loaded = match listed.take() {
                Some(loaded) => loaded,
                None => match self.store.load(&account).await? {
                    Some(reloaded) => reloaded,
                    None => return Ok(Some(())),
                },
            };
            let Some(old_key) = outdated_key(&loaded.record, &self.keys(), current) else {
                report.current = report.current.saturating_add(1);
                return Ok(Some(()));
            };
            let version = loaded.version;
            let written = self
                .authenticate(&account, loaded)
                .and_then(|checked| self.for_write(checked.record, &account, Some(version)));
            let next = match written {
                Ok(next) => next,
                Err(error) => {
                    report.failed.push((account.clone(), error.to_string()));
                    return Ok(Some(()));
                }
            };
            match self
                .store
                .replace_if(&account, Some(version), &next, &[])
                .await
            {
                Ok(_) => {
                    self.key_cache.evict(&account);
                    bump(&mut report.resealed, old_key);
                    Ok(Some(()))
                }
                Err(StoreError::Conflict) => {
                    report.retried = report.retried.saturating_add(1);
                    Ok(None)
                }
                Err(error) => Err(error.into()),
            }
        })
    }
}

/// The key id that makes `record` need a re-write under `current`: its secret's sealing
/// key, else its MAC key, if not `current`; `u32::MAX` for a legacy record; `current` for
/// a record of an earlier format whose secrets need the current construction.
fn outdated_key(record: &Enrollment, keys: &KeyRing, current: u32) -> Option<u32> {
    let Some(mac_key) = record.mac_key_id() else {
        return Some(u32::MAX);
    };
    let sealed_key = record
        .secrets()
        .map(|sealed| sealed.key_id())
        .find(|key_id| *key_id != current);
    match sealed_key {
        Some(key_id) => Some(key_id),
        None if mac_key != current => Some(mac_key),
        None if record.secrets().any(|sealed| keys.needs_reseal(sealed)) => Some(current),
        None => None,
    }
}

fn bump(counts: &mut BTreeMap<u32, u64>, key_id: u32) {
    let count = counts.entry(key_id).or_insert(0);
    *count = count.saturating_add(1);
}
