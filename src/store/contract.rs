//! [`Store`]: the storage trait, whose one essential operation is the atomic
//! check-and-replace of an account's record together with its audit events.

use core::future::Future;

use crate::account::AccountId;
use crate::error::StoreError;
use crate::lifecycle::enrollment::Enrollment;
use crate::store::{Listed, OutboxEntry, Versioned};

/// Persistent storage of enrollment records and their audit outbox.
///
/// Implementations must make every write atomic with respect to every other writer of
/// the same account, in this process and in any other sharing the backend (a single
/// `UPDATE … WHERE account = $1 AND version = $2` in SQL), and write the given events in
/// the same atomic step: if anything fails, neither the record nor an event is written.
/// They store only what [`Enrollment::encode`] produces, which holds sealed
/// secrets, never plaintext. The crate's `testing` feature exports a conformance suite to
/// check an implementation.
pub trait Store: Send + Sync {
    /// The account's record and version, or `None` if it was never written or was erased
    /// (a tombstone).
    fn load(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Option<Versioned>, StoreError>> + Send;

    /// The version of the account's row without decoding its record: `Some` for a
    /// record (decodable or not) and for a tombstone, `None` if there is no row at all.
    /// The support desk's repair and a first enrollment after an erasure start from it.
    fn version(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// Writes `record` and appends `events` to the outbox, atomically, if the stored
    /// version equals `expected` (`None`: only if there is no row at all; a tombstone has a
    /// version). Returns the new version, or [`StoreError::Conflict`] if the version
    /// differs, or [`StoreError::VersionExhausted`] if `expected` is the largest version
    /// the store can hold (nothing is written then).
    fn replace_if(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Appends `events` of `account` to the outbox without changing any record (a refusal
    /// that changes no state). All or none are written.
    fn append_events(
        &self,
        account: &AccountId,
        events: &[Vec<u8>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Erases the account's record if its version equals `expected`, leaving a tombstone
    /// at the next version, and appends `events`, atomically. Returns the tombstone's
    /// version; [`StoreError::Conflict`] or [`StoreError::VersionExhausted`] as for
    /// [`Store::replace_if`]. Works whatever the row's bytes are.
    fn forget(
        &self,
        account: &AccountId,
        expected: u64,
        events: &[Vec<u8>],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The support desk's repair of a row whose version cannot be advanced: if the stored
    /// version equals `expected` and is the largest the store can hold, replaces the row
    /// with `record` at version 1 and appends `events`, atomically; otherwise
    /// [`StoreError::Conflict`]. (Only a corrupted or tampered row reaches that version; no
    /// writer can hold a version from before it, so restarting at 1 re-admits none.)
    fn reinstate(
        &self,
        account: &AccountId,
        expected: u64,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Up to `limit` live accounts (tombstones skipped) whose ids sort after `after`
    /// (byte order of the id; `None`: from the first), in that order. Paging with the last
    /// id of each page visits every account that exists throughout, once, while writes go
    /// on.
    fn list(
        &self,
        after: Option<&AccountId>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Listed>, StoreError>> + Send;

    /// The oldest `limit` undelivered events, in increasing id order.
    fn pending_events(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>, StoreError>> + Send;

    /// Removes delivered events (unknown ids are ignored, so acknowledging twice is safe).
    fn acknowledge(&self, ids: &[u64]) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    fn load(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Option<Versioned>, StoreError>> + Send {
        (**self).load(account)
    }

    fn version(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send {
        (**self).version(account)
    }

    fn replace_if(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        (**self).replace_if(account, expected, record, events)
    }

    fn append_events(
        &self,
        account: &AccountId,
        events: &[Vec<u8>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).append_events(account, events)
    }

    fn forget(
        &self,
        account: &AccountId,
        expected: u64,
        events: &[Vec<u8>],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        (**self).forget(account, expected, events)
    }

    fn reinstate(
        &self,
        account: &AccountId,
        expected: u64,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).reinstate(account, expected, record, events)
    }

    fn list(
        &self,
        after: Option<&AccountId>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Listed>, StoreError>> + Send {
        (**self).list(after, limit)
    }

    fn pending_events(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>, StoreError>> + Send {
        (**self).pending_events(limit)
    }

    fn acknowledge(&self, ids: &[u64]) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).acknowledge(ids)
    }
}
