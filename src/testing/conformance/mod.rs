//! The store conformance suite (feature `testing`): the checks every [`Store`] must pass.
//!
//! This crate runs it against [`MemoryStore`](crate::MemoryStore), `SqliteStore` (a WAL
//! file and `:memory:`) and `PostgresStore`; the author of another store runs the same
//! checks against theirs. Each [`Check`] is an async function over any `S: Store` that
//! returns `Ok(())` or a message naming what broke:
//!
//! * [`Check::Crud`]: load of a missing row, first write (version 1), load back equal,
//!   second write (version 2), accounts isolated from each other.
//! * [`Check::VersionConflicts`]: a stale, future or missing version and a second first
//!   write are [`StoreError::Conflict`] and write nothing.
//! * [`Check::RecordRoundTrip`]: every record status (not registered, pending, active;
//!   throttled and locked counters; every algorithm; shortest and longest secrets and
//!   labels; extreme times) loads back exactly as written.
//! * [`Check::Tombstones`]: [`Store::forget`] at the current version leaves a tombstone at
//!   the next version: [`Store::load`] gives `None`, [`Store::version`] the tombstone's
//!   version, [`Store::list`] skips it (even as the first row of a one-row page); a first
//!   write, a write with a version from before the erasure and a future version are
//!   conflicts, a write at the tombstone's version enrolls again (at the next version);
//!   stale and future forgets, a forget of a missing row and a [`Store::reinstate`] of a
//!   row not at the largest version are conflicts.
//! * [`Check::Listing`]: 32 accounts under one fresh prefix, some written twice, some
//!   erased, three erased and enrolled again, with ids whose byte order differs from a
//!   collation's, UTF-16's and numeric order (`A`, `a`, `a b`, `a_b`, `é`, `口座-日本`,
//!   `ｱ`, `😀`, `n10` …), paged with limit 7 (`after` = the last id of the previous page)
//!   while two of them are written: every live account exactly once, in byte order of the
//!   id, with its current version and record; erased ones never; a page after an erased id
//!   starts at the next live one; limit 0 lists nothing.
//! * [`Check::OutboxAtomicity`]: a successful [`Store::replace_if`] appends its events to
//!   the outbox in slice order, with increasing ids, tagged with the account; a conflicting
//!   one (second first write, stale or future version), a stale [`Store::forget`] and a
//!   refused [`Store::reinstate`] append none of theirs and write no record;
//!   [`Store::append_events`] (also for an account without a row) and [`Store::forget`]
//!   append all of theirs; empty, every-byte-value and 64 KiB events round-trip exactly.
//! * [`Check::OutboxDelivery`]: two accounts' interleaved writes and appends come out in
//!   each account's write order; [`Store::pending_events`] with small limits returns at most
//!   the limit, in increasing id order, the oldest first (none of the check's events older
//!   than the newest returned is left out); [`Store::acknowledge`] removes exactly the given
//!   ids (unknown ids, no ids and acknowledging twice are fine) and every other event is
//!   returned again with its id, bytes and account (at least once); ids are never reused.
//! * [`Check::ConcurrentWrites`]: writers racing on one row with [`Store::replace_if`],
//!   each write carrying two events, round after round: exactly one wins each round, and
//!   the outbox holds exactly the winner's events, in order (a losing write leaves none).
//! * Through [`Engine`](crate::Engine)s sharing the store (several engines, as several portal processes
//!   would be), the concurrency promises:
//!   [`Check::OneAcceptance`] (N concurrent verifications of one valid code accept exactly
//!   one, round after round), [`Check::ExactFailureCount`] (N parallel wrong codes under a
//!   throttle that never backs off add exactly N failures), and
//!   [`Check::ThrottleBoundsGuesses`] (with a lock after 5 failures, N parallel guesses get
//!   at most 5 [`Refusal::WrongCode`](crate::error::Refusal::WrongCode); all others are throttled or locked).
//!
//! The concurrent checks spawn tokio tasks: run them inside a tokio runtime, preferably the
//! multi-thread flavor so the tasks really run in parallel. Every check uses fresh account
//! ids ([`fresh_account`]), so one database may be shared by many checks and runs. The
//! outbox checks therefore read only their own accounts' events (asking
//! [`Store::pending_events`] for ever larger limits past other checks' events) and
//! acknowledge only those; they acknowledge theirs when they pass.
//!
//! ```no_run
//! use std::sync::Arc;
//! use totp_enroll::MemoryStore;
//! use totp_enroll::testing::conformance::{Check, Config};
//!
//! #[tokio::main(flavor = "multi_thread")]
//! async fn main() -> Result<(), String> {
//!     // One test per check names the failing one; `run_all` runs them in sequence.
//!     for check in Check::ALL {
//!         check.run(Arc::new(MemoryStore::new()), &Config::default()).await?;
//!     }
//!     Ok(())
//! }
//! ```

use core::future::Future;
use std::sync::Arc;

use crate::error::StoreError;
use crate::store::Store;

mod engines;
mod helpers;
mod listing;
mod outbox;
mod records;
mod support;
mod tombstones;

use engines::*;
use listing::*;
use outbox::*;
use records::*;
use tombstones::*;

pub use helpers::{Outcome, engine, enroll, fresh_account, race, random_key, wrong_code};

/// The time (Unix seconds) the suite's engines' clocks start at.
pub const START: u64 = 1_700_000_000;

/// The issuer of the suite's code policy.
pub const ISSUER: &str = "Conformance";

/// Sizes of the concurrent checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Rounds of [`Check::OneAcceptance`], each with a new code (default 50; 20 is plenty
    /// for a SQL store).
    pub rounds: usize,
    /// Concurrent verifications of one code per round (default 64).
    pub concurrency: usize,
    /// Engines sharing the store; tasks are spread over them (default 4).
    pub engines: usize,
    /// Parallel wrong codes in [`Check::ExactFailureCount`], 1 to 99 (default 50).
    pub wrong_codes: usize,
    /// Parallel guesses in [`Check::ThrottleBoundsGuesses`] (default 50).
    pub guesses: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            rounds: 50,
            concurrency: 64,
            engines: 4,
            wrong_codes: 50,
            guesses: 50,
        }
    }
}

impl Config {
    /// Sets [`Config::rounds`].
    #[must_use]
    pub fn with_rounds(mut self, rounds: usize) -> Self {
        self.rounds = rounds;
        self
    }

    /// Sets [`Config::concurrency`].
    #[must_use]
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Sets [`Config::engines`].
    #[must_use]
    pub fn with_engines(mut self, engines: usize) -> Self {
        self.engines = engines;
        self
    }

    /// Sets [`Config::wrong_codes`].
    #[must_use]
    pub fn with_wrong_codes(mut self, wrong_codes: usize) -> Self {
        self.wrong_codes = wrong_codes;
        self
    }

    /// Sets [`Config::guesses`].
    #[must_use]
    pub fn with_guesses(mut self, guesses: usize) -> Self {
        self.guesses = guesses;
        self
    }
}

/// One conformance check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// Load, first write, load back, second write.
    Crud,
    /// Stale and duplicate writes are conflicts that write nothing.
    VersionConflicts,
    /// Every record status loads back exactly as written.
    RecordRoundTrip,
    /// Erasure leaves a tombstone whose version every later write needs.
    Tombstones,
    /// Paging through accounts visits each live one once, in byte order of the id.
    Listing,
    /// A write's events are in the outbox if and only if the write succeeded, in order.
    OutboxAtomicity,
    /// Pending events oldest first; acknowledge removes exactly the given ids.
    OutboxDelivery,
    /// Racing writers on one row: one wins per round, and only its events are written.
    ConcurrentWrites,
    /// N concurrent verifications of one valid code: exactly one acceptance.
    OneAcceptance,
    /// N parallel wrong codes add exactly N failures.
    ExactFailureCount,
    /// Parallel guesses cannot get past the lock.
    ThrottleBoundsGuesses,
}

impl Check {
    /// Every check, in a sensible order.
    pub const ALL: [Self; 11] = [
        Self::Crud,
        Self::VersionConflicts,
        Self::RecordRoundTrip,
        Self::Tombstones,
        Self::Listing,
        Self::OutboxAtomicity,
        Self::OutboxDelivery,
        Self::ConcurrentWrites,
        Self::OneAcceptance,
        Self::ExactFailureCount,
        Self::ThrottleBoundsGuesses,
    ];

    /// The check's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Crud => "crud",
            Self::VersionConflicts => "version_conflicts",
            Self::RecordRoundTrip => "record_round_trip",
            Self::Tombstones => "tombstones",
            Self::Listing => "listing",
            Self::OutboxAtomicity => "outbox_atomicity",
            Self::OutboxDelivery => "outbox_delivery",
            Self::ConcurrentWrites => "concurrent_writes",
            Self::OneAcceptance => "one_acceptance",
            Self::ExactFailureCount => "exact_failure_count",
            Self::ThrottleBoundsGuesses => "throttle_bounds_guesses",
        }
    }

    /// Runs the check against `store`.
    pub async fn run<S: Store + 'static>(
        self,
        store: Arc<S>,
        config: &Config,
    ) -> Result<(), String> {
        let result = match self {
            Self::Crud => crud(&*store).await,
            Self::VersionConflicts => version_conflicts(&*store).await,
            Self::RecordRoundTrip => record_round_trip(&*store).await,
            Self::Tombstones => tombstones(&*store).await,
            Self::Listing => listing(&*store).await,
            Self::OutboxAtomicity => outbox_atomicity(&*store).await,
            Self::OutboxDelivery => outbox_delivery(&*store).await,
            Self::ConcurrentWrites => concurrent_writes(store, config).await,
            Self::OneAcceptance => one_acceptance(store, config).await,
            Self::ExactFailureCount => exact_failure_count(store, config).await,
            Self::ThrottleBoundsGuesses => throttle_bounds_guesses(store, config).await,
        };
        result.map_err(|message| {
            format!(
                "store conformance check `{}` failed: {message}",
                self.name()
            )
        })
    }
}

/// Runs every check, each against a fresh store from `new_store`; stops at the first failure.
pub async fn run_all<S, F, Fut>(mut new_store: F, config: &Config) -> Result<(), String>
where
    S: Store + 'static,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<S, StoreError>>,
{
    for check in Check::ALL {
        let store = new_store().await.map_err(|e| {
            format!(
                "store conformance check `{}`: creating the store failed: {e}",
                check.name()
            )
        })?;
        check.run(Arc::new(store), config).await?;
    }
    Ok(())
}
