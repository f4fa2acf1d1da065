//! The storage trait: versioned records with one atomic check-and-replace, and the audit
//! outbox written in the same atomic step.
//!
//! A store keeps one [`Enrollment`] per account with a version number. Its one
//! essential operation is [`Store::replace_if`]: write only if the version is still the
//! one that was loaded. The engine never reports an acceptance before that write
//! succeeded, and on a [`StoreError::Conflict`] it reloads and decides again, so N
//! concurrent verifications of one code accept exactly one, across any number of engine
//! instances sharing the store.
//!
//! * **Outbox.** Every write carries the audit events of its transition (encoded by the
//!   engine, opaque to the store) and stores them in the same atomic step as the record
//!   (an outbox table written in the same transaction or statement): a failed write leaves
//!   neither, a committed one both. Refusals that change no record are appended with
//!   [`Store::append_events`]. Events get increasing ids; [`Store::pending_events`] lists
//!   the oldest undelivered ones and [`Store::acknowledge`] removes delivered ones (see
//!   [`Outbox`](crate::Outbox)).
//! * **Versions only grow.** Stopping or resetting writes a `NotRegistered` record that
//!   holds no secret. Erasing an account ([`Store::forget`]) leaves a *tombstone*: the row
//!   keeps the account id and its version, nothing else (no record, no label, no
//!   counters). [`Store::load`] and [`Store::list`] treat a tombstone as absent, but
//!   [`Store::version`] reports it and a first write over it needs its version, so a stale
//!   writer holding a version from before the erasure can never succeed after the account
//!   is enrolled again.
//! * A write whose acknowledgement is lost (the database committed, the connection died)
//!   is reported as an error: the login fails closed, and the consumed code cannot be
//!   accepted later; the customer uses the next code.

use core::future::Future;

use crate::account::AccountId;
use crate::error::{RecordError, StoreError};
use crate::lifecycle::enrollment::Enrollment;

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// A record with the version it was loaded at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The version: starts at 1 and grows by one on every successful write.
    pub version: u64,
    /// The record.
    pub record: Enrollment,
}

/// One row of a [`Store::list`] page: a live (not erased) account, its version, and its
/// record or why the stored bytes do not decode (a listing never stops at a bad row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The account.
    pub account: AccountId,
    /// The row's version.
    pub version: u64,
    /// The decoded record, or the decoding error of its bytes.
    pub record: Result<Enrollment, RecordError>,
}

/// An undelivered audit event as the outbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The store's id of the event: unique, never reused, and increasing in the order of the
    /// writes of each account. The delivery passes it on for de-duplication.
    pub id: u64,
    /// The account the event belongs to.
    pub account: AccountId,
    /// The event as [`AuditEvent::encode`](crate::AuditEvent::encode) wrote it.
    pub bytes: Vec<u8>,
}

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
