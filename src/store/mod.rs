//! The storage trait: versioned records with one atomic check-and-replace.
//!
//! A store keeps one [`EnrollmentRecord`] per account with a version number. Its one
//! essential operation is [`Store::replace_if`]: write only if the version is still the
//! one that was loaded. The engine never reports an acceptance before that write
//! succeeded, and on a [`StoreError::Conflict`] it reloads and decides again, so N
//! concurrent verifications of one code accept exactly one, across any number of engine
//! instances sharing the store.
//!
//! * There is no delete: stopping or resetting writes a `NotRegistered` record that holds
//!   no secret, so versions only grow and a stale writer can never succeed after a
//!   delete-and-recreate. A portal that must forget an account removes its row itself.
//! * A write whose acknowledgement is lost (the database committed, the connection died)
//!   is reported as an error: the login fails closed, and the consumed code cannot be
//!   accepted later; the customer uses the next code.

use core::future::Future;

use crate::account::AccountId;
use crate::error::StoreError;
use crate::record::EnrollmentRecord;

#[cfg(feature = "testing")]
pub mod conformance;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

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
    pub record: EnrollmentRecord,
}

/// Persistent storage of enrollment records.
///
/// Implementations must make [`Store::replace_if`] atomic with respect to every other
/// writer of the same account, in this process and in any other sharing the backend (a
/// single `UPDATE … WHERE account = $1 AND version = $2` in SQL). They store only what
/// [`EnrollmentRecord::encode`] produces, which holds sealed secrets, never plaintext.
/// The crate's `testing` feature exports a conformance suite to check an implementation.
pub trait Store: Send + Sync {
    /// The account's record and version, or `None` if it was never written.
    fn load(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Option<Versioned>, StoreError>> + Send;

    /// Writes `record` if the stored version equals `expected` (`None`: only if no record
    /// exists). Returns the new version, or [`StoreError::Conflict`] if the version differs
    /// (nothing is written then).
    fn replace_if(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        record: &EnrollmentRecord,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    fn load(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Option<Versioned>, StoreError>> + Send {
        (**self).load(account)
    }

    fn replace_if(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        record: &EnrollmentRecord,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        (**self).replace_if(account, expected, record)
    }
}
