//! The storage trait: versioned records with one atomic check-and-replace, and the audit
//! outbox written in the same atomic step.
//!
//! A store keeps one [`Enrollment`] per account with a version number. Its one
//! essential operation is [`Store::replace_if`]: write only if the version is still the
//! one that was loaded. The engine never reports an acceptance before that write
//! succeeded, and on a [`StoreError::Conflict`](crate::error::StoreError::Conflict) it reloads and decides again, so N
//! concurrent verifications of one code accept exactly one, across any number of engine
//! instances sharing the store.
//!
//! * **Outbox.** Every write carries the audit events of its transition (encoded by the
//!   engine, opaque to the store) and stores them in the same atomic step as the record
//!   (an outbox table written in the same transaction or statement): a failed write leaves
//!   neither, a committed one both. Refusals that change no record are appended with
//!   [`Store::append_events`]. Events get increasing ids; [`Store::pending_events`] lists
//!   the oldest undelivered ones and [`Store::acknowledge`] removes delivered ones (see
//!   [`Outbox`](crate::Outbox)). Nothing else removes them: with the engine's default
//!   policy the outbox grows until the application runs
//!   [`Outbox::run`](crate::Outbox::run) (or turns it off,
//!   [`EnginePolicy::with_outbox`](crate::EnginePolicy::with_outbox)).
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
//!
//! The SQL stores ([`SqliteStore`], [`PostgresStore`], features `sqlite` and `postgres`)
//! open a pool of their own and migrate at start (`connect`, the embedded default), or
//! join the application's database on its pool (`from_pool`: no DDL, the schema version
//! checked) after its migration runner applied their [`Migration`]s. Their API holds
//! sqlx 0.8's pool types: see each store's Driver section for what that means.

use crate::account::AccountId;
use crate::error::RecordError;
use crate::lifecycle::enrollment::Enrollment;

pub(crate) mod contract;
pub(crate) mod memory;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod migration;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

pub(crate) use contract::Store;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "postgres"))))]
pub use migration::Migration;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// A record with the version it was loaded at.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Versioned {
    /// The version: starts at 1 and grows by one on every successful write.
    pub version: u64,
    /// The record.
    pub record: Enrollment,
}

/// One row of a [`Store::list`] page: a live (not erased) account, its version, and its
/// record or why the stored bytes do not decode (a listing never stops at a bad row).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
#[non_exhaustive]
pub struct OutboxEntry {
    /// The store's id of the event: unique, never reused, and increasing in the order of the
    /// writes of each account. The delivery passes it on for de-duplication.
    pub id: u64,
    /// The account the event belongs to.
    pub account: AccountId,
    /// The event as [`AuditEvent::encode`](crate::AuditEvent::encode) wrote it.
    pub bytes: Vec<u8>,
}

impl Versioned {
    /// `record` at `version` (a store's [`Store::load`]).
    pub fn new(version: u64, record: Enrollment) -> Self {
        Self { version, record }
    }
}

impl Listed {
    /// A row of a listing (a store's [`Store::list`]).
    pub fn new(account: AccountId, version: u64, record: Result<Enrollment, RecordError>) -> Self {
        Self {
            account,
            version,
            record,
        }
    }
}

impl OutboxEntry {
    /// An undelivered event (a store's [`Store::pending_events`]).
    pub fn new(id: u64, account: AccountId, bytes: Vec<u8>) -> Self {
        Self { id, account, bytes }
    }
}
