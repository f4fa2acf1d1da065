//! Stored records are authenticated as a whole (record formats 2, 3 and 4): a database
//! writer who edits any field of a row, writes an older row's bytes back, or copies a row
//! onto another account gets a typed error from the engine, never an acceptance and never a
//! changed decision. Format-2 and format-3 rows (committed fixtures) keep working and are
//! re-written as format 4 with every secret re-sealed; legacy format-1 rows are accepted and
//! re-written as format 4, unless the policy refuses them; a sealed secret of an
//! authenticated row never opens inside a forged format-1 row.
//!
//! The rows are edited the way a database writer would: in a test store that keeps, like
//! a SQL table, a version column and the encoded record bytes, and lets the test rewrite
//! either one. Every edit below decodes to a valid record with exactly the intended change,
//! so only the MAC can catch it.
//!
//! What the row alone cannot show (stated here as the threat model, see the last tests):
//! restoring a *whole* earlier row together with its version column, and deleting the row.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

#[path = "../common/mod.rs"]
mod common;

use std::sync::Arc;

use common::{App, T0, policy, wrong_codes};
use totp_enroll::{
    AccountId, Engine, EnginePolicy, KeyRing, Login, ManualClock, MemoryStore, Operator, StepUp,
    error::EngineError, error::Refusal, error::SealError, error::StoreError, lifecycle::Enrollment,
    lifecycle::ThrottlePolicy,
};

/// A table `(account, version, record)` whose rows a test rewrites behind the engine's
/// back: a `MemoryStore` and its raw row access (feature `testing`).
trait Table {
    /// `SELECT version, record`.
    fn row(&self, account: &AccountId) -> (u64, Vec<u8>);

    /// `UPDATE … SET version = ?, record = ?` (or an INSERT).
    fn set_row(&self, account: &AccountId, version: u64, bytes: Vec<u8>);

    /// Rewrites the record bytes in place, keeping the version column.
    fn edit(&self, account: &AccountId, edit: impl FnOnce(&mut Vec<u8>)) {
        let (version, mut bytes) = self.row(account);
        edit(&mut bytes);
        self.set_row(account, version, bytes);
    }
}

impl Table for MemoryStore {
    fn row(&self, account: &AccountId) -> (u64, Vec<u8>) {
        self.raw_row(account).unwrap()
    }

    fn set_row(&self, account: &AccountId, version: u64, bytes: Vec<u8>) {
        self.put_raw(account, version, &bytes);
    }
}

const KEY: [u8; 32] = [0x3c; 32];

struct Bank {
    engine: Engine<Arc<MemoryStore>>,
    table: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    account: AccountId,
}

impl Bank {
    fn new() -> Self {
        Self::with(policy(), KeyRing::new(1, KEY))
    }

    fn with(policy: EnginePolicy, keys: KeyRing) -> Self {
        let table = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(T0));
        let engine = Engine::new(table.clone(), keys, policy)
            .unwrap()
            .with_clock(clock.clone());
        Self {
            engine,
            table,
            clock,
            account: AccountId::new("customer-0001").unwrap(),
        }
    }

    fn now(&self) -> i64 {
        i64::try_from(totp_enroll::Clock::now(self.clock.as_ref()).unwrap()).unwrap()
    }

    async fn begin(&self) -> App {
        let step_up = StepUp::transaction_password_verified(
            &self.account,
            u64::try_from(self.now()).unwrap(),
        );
        App::scan(
            &self
                .engine
                .begin(
                    &self.account,
                    &totp_enroll::AccountLabel::new("taro@example.jp").unwrap(),
                    &step_up,
                )
                .await
                .unwrap(),
        )
    }

    /// Begins and confirms; the clock then sits one step later.
    async fn enrolled(&self) -> App {
        let app = self.begin().await;
        self.engine
            .confirm(&self.account, &app.code_at(self.now()))
            .await
            .unwrap();
        self.clock.advance(30);
        app
    }

    async fn login(&self, code: &str) -> Result<Login, EngineError> {
        self.engine.verify_login(&self.account, code).await
    }

    fn record(&self) -> Enrollment {
        Enrollment::decode(&self.table.row(&self.account).1).unwrap()
    }
}

/// Byte ranges of a row (format 2, 3 or 4), counted from its end (the fields after the label).
mod layout {
    use std::ops::Range;
    /// integrity u8, mac_key_id u32, tag [32].
    pub(super) const TRAILER: usize = 37;
    pub(super) fn tag(len: usize) -> Range<usize> {
        len - 32..len
    }
    pub(super) fn mac_key_id(len: usize) -> Range<usize> {
        len - 36..len - 32
    }
    pub(super) fn integrity(len: usize) -> usize {
        len - 37
    }
    pub(super) fn backoff_until(len: usize) -> Range<usize> {
        len - 45..len - 37
    }
    pub(super) fn locked(len: usize) -> usize {
        len - 46
    }
    pub(super) fn failures(len: usize) -> Range<usize> {
        len - 50..len - 46
    }
    /// `last_used_step` (active) or `expires_at` (pending).
    pub(super) fn second_time(len: usize) -> Range<usize> {
        len - 58..len - 50
    }
    /// The status byte, after the 8-byte header.
    pub(super) const STATUS: usize = 8;
    /// The format version byte.
    pub(super) const FORMAT: usize = 7;
    /// An active row's `since` (after the status byte and an empty recovery-code count).
    pub(super) const SINCE: std::ops::Range<usize> = 10..18;
    /// Where an active row's first authenticator's secret begins (its name empty).
    pub(super) const ACTIVE_SECRET: usize = 43;
    /// Where a pending row's secret begins.
    pub(super) const PENDING_SECRET: usize = 10;
    /// A secret's end, from the end: throttle 13 and `last_used_step` (or `started_at`
    /// and `expires_at`, 16) before the trailer.
    pub(super) fn active_secret_end(len: usize) -> usize {
        len - TRAILER - 13 - 8
    }
    pub(super) fn pending_secret_end(len: usize) -> usize {
        len - TRAILER - 13 - 16
    }
}

fn put_u64(bytes: &mut [u8], range: std::ops::Range<usize>, value: u64) {
    bytes[range].copy_from_slice(&value.to_be_bytes());
}

fn integrity_error(result: &Result<Login, EngineError>) -> bool {
    matches!(result, Err(EngineError::Seal(SealError::IntegrityMismatch)))
}

mod bits_keys_and_formats;
mod field_edits;
mod format_3_rows;
mod whole_rows;
