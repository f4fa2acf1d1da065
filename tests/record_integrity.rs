//! Stored records are authenticated as a whole (record formats 2 and 3): a database writer who
//! edits any field of a row, writes an older row's bytes back, or copies a row onto another
//! account gets a typed error from the engine, never an acceptance and never a changed
//! decision. Format-2 rows (committed fixtures) keep working and are re-written as format 3;
//! legacy format-1 rows are accepted and re-written as format 3, unless the policy refuses
//! them; a sealed secret of an authenticated row never opens inside a forged format-1 row.
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
                .begin(&self.account, "taro@example.jp", &step_up)
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

/// Byte ranges of a format-2 row, counted from its end (the fields after the label).
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

#[tokio::test]
async fn a_row_rewritten_unchanged_is_accepted() {
    // The control for every edit below: the same rewrite without a change passes.
    let bank = Bank::new();
    let app = bank.enrolled().await;
    bank.table.edit(&bank.account, |_| {});
    let login = bank.login(&app.code_at(bank.now())).await.unwrap();
    assert!(matches!(login, Login::Verified(_)));
    let record = bank.record();
    assert_eq!(record.format_version(), 3);
    assert_eq!(record.mac_key_id(), Some(1));
}

#[tokio::test]
async fn rolling_back_the_last_used_step_does_not_make_a_used_code_acceptable_again() {
    let bank = Bank::new();
    let app = bank.enrolled().await;
    let code = app.code_at(bank.now());
    let Login::Verified(used) = bank.login(&code).await.unwrap() else {
        panic!("not verified");
    };
    assert!(matches!(
        bank.login(&code).await,
        Err(EngineError::Refused(Refusal::Replayed))
    ));

    bank.table.edit(&bank.account, |bytes| {
        let len = bytes.len();
        put_u64(bytes, layout::second_time(len), used.step() - 1);
    });
    assert_eq!(bank.record().last_used_step(), Some(used.step() - 1));
    let replay = bank.login(&code).await;
    assert!(integrity_error(&replay), "{replay:?}");
}

/// An engine that holds its own last write decides a login from it and writes
/// conditionally on the version, without loading the row. An edit behind its back at the
/// same version is still never trusted: a decision that would need the row (a replay, any
/// refusal) is taken again from the loaded row, where the MAC catches the edit; an
/// acceptance overwrites the edit with the engine's own signed record.
#[tokio::test]
async fn an_edit_behind_an_engine_holding_its_last_write_is_never_trusted() {
    let table = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(T0));
    let engine = Engine::new(
        table.clone(),
        KeyRing::new(1, KEY),
        policy().with_held_records(true),
    )
    .unwrap()
    .with_clock(clock.clone());
    let bank = Bank {
        engine,
        table,
        clock,
        account: AccountId::new("customer-0001").unwrap(),
    };
    let app = bank.enrolled().await;
    let code = app.code_at(bank.now());
    let Login::Verified(used) = bank.login(&code).await.unwrap() else {
        panic!("not verified");
    };

    // The replay floor rolled back at the same version: the held record refuses the
    // replay, the refusal is re-decided from the row, and the row fails its MAC.
    let (version, honest) = bank.table.row(&bank.account);
    bank.table.edit(&bank.account, |bytes| {
        let len = bytes.len();
        put_u64(bytes, layout::second_time(len), used.step() - 1);
    });
    let replay = bank.login(&code).await;
    assert!(integrity_error(&replay), "{replay:?}");

    // The status edited to not registered at the same version: the held record accepts
    // the next code and its conditional write replaces the edited row with its own.
    bank.table.set_row(&bank.account, version, honest);
    bank.clock.advance(30);
    assert!(matches!(
        bank.login(&app.code_at(bank.now())).await.unwrap(),
        Login::Verified(_)
    ));
    bank.clock.advance(30);
    let (version, _) = bank.table.row(&bank.account);
    bank.table.edit(&bank.account, |bytes| {
        let len = bytes.len();
        let mut not_registered = bytes[..layout::STATUS].to_vec();
        // Status 0, no recovery codes.
        not_registered.extend_from_slice(&[0, 0]);
        not_registered.extend_from_slice(&bytes[layout::failures(len).start..]);
        *bytes = not_registered;
    });
    assert!(matches!(
        bank.login(&app.code_at(bank.now())).await.unwrap(),
        Login::Verified(_)
    ));
    let (after, _) = bank.table.row(&bank.account);
    assert_eq!(after, version + 1);
    assert!(matches!(
        bank.record().status(),
        totp_enroll::lifecycle::RecordStatus::Active { .. }
    ));
    let fresh = Engine::new(
        bank.table.clone(),
        KeyRing::new(1, KEY),
        policy().with_key_cache(0),
    )
    .unwrap()
    .with_clock(bank.clock.clone());
    assert!(
        fresh.status(&bank.account).await.is_ok(),
        "the row is the engine's own signed record again"
    );
}

#[tokio::test]
async fn resetting_the_failure_counter_is_detected() {
    let bank = Bank::new();
    let app = bank.enrolled().await;
    for wrong in wrong_codes(&app, bank.now(), 2) {
        assert!(matches!(
            bank.login(&wrong).await,
            Err(EngineError::Refused(Refusal::WrongCode))
        ));
    }
    assert_eq!(bank.record().throttle().failures(), 2);

    bank.table.edit(&bank.account, |bytes| {
        let len = bytes.len();
        bytes[layout::failures(len)].copy_from_slice(&0u32.to_be_bytes());
    });
    assert_eq!(bank.record().throttle().failures(), 0);
    let next_guess = &wrong_codes(&app, bank.now(), 3)[2];
    let result = bank.login(next_guess).await;
    assert!(integrity_error(&result), "{result:?}");
    // The valid code is not accepted either: the record is not trusted at all.
    assert!(integrity_error(&bank.login(&app.code_at(bank.now())).await));
}

#[tokio::test]
async fn clearing_a_lock_is_detected() {
    let lock_after_3 = ThrottlePolicy::new(3, 1, 1, 3).unwrap();
    let bank = Bank::with(policy().with_throttle(lock_after_3), KeyRing::new(1, KEY));
    let app = bank.enrolled().await;
    for wrong in wrong_codes(&app, bank.now(), 3) {
        let _ = bank.login(&wrong).await;
        bank.clock.advance(2);
    }
    assert!(bank.record().throttle().is_locked());
    let code = app.code_at(bank.now());
    assert!(matches!(
        bank.login(&code).await,
        Err(EngineError::Refused(Refusal::Locked))
    ));

    bank.table.edit(&bank.account, |bytes| {
        let len = bytes.len();
        bytes[layout::locked(len)] = 0;
        bytes[layout::failures(len)].copy_from_slice(&0u32.to_be_bytes());
        put_u64(bytes, layout::backoff_until(len), 0);
    });
    assert!(!bank.record().throttle().is_locked());
    let result = bank.login(&code).await;
    assert!(integrity_error(&result), "{result:?}");
}

#[tokio::test]
async fn clearing_a_backoff_is_detected() {
    let backoff_at_once = ThrottlePolicy::new(1, 600, 600, 10).unwrap();
    let bank = Bank::with(
        policy().with_throttle(backoff_at_once),
        KeyRing::new(1, KEY),
    );
    let app = bank.enrolled().await;
    let wrong = &wrong_codes(&app, bank.now(), 1)[0];
    assert!(matches!(
        bank.login(wrong).await,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));
    let code = app.code_at(bank.now());
    assert!(matches!(
        bank.login(&code).await,
        Err(EngineError::Refused(Refusal::Throttled { .. }))
    ));

    bank.table.edit(&bank.account, |bytes| {
        let len = bytes.len();
        put_u64(bytes, layout::backoff_until(len), 0);
    });
    assert_eq!(bank.record().throttle().backoff_until(), 0);
    let result = bank.login(&code).await;
    assert!(integrity_error(&result), "{result:?}");
}

#[tokio::test]
async fn changing_the_status_from_active_to_not_registered_is_detected() {
    let bank = Bank::new();
    let app = bank.enrolled().await;
    // A not-registered row: header, status 0, the throttle fields and the integrity
    // trailer of the active row (its MAC key id and tag).
    bank.table.edit(&bank.account, |bytes| {
        let len = bytes.len();
        let mut not_registered = bytes[..layout::STATUS].to_vec();
        // Status 0, no recovery codes.
        not_registered.extend_from_slice(&[0, 0]);
        not_registered.extend_from_slice(&bytes[layout::failures(len).start..]);
        *bytes = not_registered;
    });
    assert_eq!(
        bank.record().status(),
        &totp_enroll::lifecycle::RecordStatus::NotRegistered
    );
    // Without the MAC this would be `Login::NotRequired`: a login without the code.
    let result = bank.login(&app.code_at(bank.now())).await;
    assert!(integrity_error(&result), "{result:?}");
    assert!(matches!(
        bank.engine.status(&bank.account).await,
        Err(EngineError::Seal(SealError::IntegrityMismatch))
    ));
}

#[tokio::test]
async fn changing_the_status_from_pending_to_active_is_detected() {
    let bank = Bank::new();
    let app = bank.begin().await;
    bank.table.edit(&bank.account, |bytes| {
        // The pending row's secret as the only authenticator of an active row (since the
        // pending start, never used), its throttle and MAC trailer unchanged.
        let len = bytes.len();
        let secret = &bytes[layout::PENDING_SECRET..layout::pending_secret_end(len)];
        let started_at =
            &bytes[layout::pending_secret_end(len)..layout::pending_secret_end(len) + 8];
        let mut active = bytes[..layout::STATUS].to_vec();
        active.extend_from_slice(&[2, 0]);
        active.extend_from_slice(started_at);
        active.extend_from_slice(&[1, 1, 0, 0]);
        active.extend_from_slice(started_at);
        active.extend_from_slice(&[0; 8 + 4 + 1]);
        active.extend_from_slice(secret);
        active.extend_from_slice(&[0; 8]);
        active.extend_from_slice(&bytes[layout::failures(len).start..]);
        *bytes = active;
    });
    assert!(matches!(
        bank.record().status(),
        totp_enroll::lifecycle::RecordStatus::Active { .. }
    ));
    let result = bank.login(&app.code_at(bank.now())).await;
    assert!(integrity_error(&result), "{result:?}");
    assert!(matches!(
        bank.engine.status(&bank.account).await,
        Err(EngineError::Seal(SealError::IntegrityMismatch))
    ));
}

#[tokio::test]
async fn an_old_row_written_back_after_an_admin_reset_is_detected() {
    let bank = Bank::new();
    let app = bank.enrolled().await;
    let (old_version, old_bytes) = bank.table.row(&bank.account);
    let operator = Operator::new("support-desk-7").unwrap();
    bank.engine
        .desk_reset(&bank.account, &operator, "lost phone")
        .await
        .unwrap();
    let (reset_version, _) = bank.table.row(&bank.account);
    assert_eq!(reset_version, old_version + 1);

    // The pre-reset bytes under the current version number (or any later one).
    for version in [reset_version, reset_version + 1] {
        bank.table
            .set_row(&bank.account, version, old_bytes.clone());
        let result = bank.login(&app.code_at(bank.now())).await;
        assert!(integrity_error(&result), "version {version}: {result:?}");
    }
}

/// The limit of what a row can prove: the *whole* earlier row, bytes and version column
/// together, is indistinguishable from a row that was never reset (or never advanced). A
/// portal that must detect it keeps state outside the row (e.g. its own record of resets
/// and of which accounts use the service).
#[tokio::test]
async fn a_whole_old_row_restored_with_its_version_is_not_detectable_from_the_row() {
    let bank = Bank::new();
    let app = bank.enrolled().await;
    let (old_version, old_bytes) = bank.table.row(&bank.account);
    let operator = Operator::new("support-desk-7").unwrap();
    bank.engine
        .desk_reset(&bank.account, &operator, "lost phone")
        .await
        .unwrap();
    bank.table.set_row(&bank.account, old_version, old_bytes);
    let login = bank.login(&app.code_at(bank.now())).await.unwrap();
    assert!(matches!(login, Login::Verified(_)));
}

/// Likewise a deleted row reads as an account that never enrolled.
#[tokio::test]
async fn a_deleted_row_reads_as_not_registered() {
    let bank = Bank::new();
    let app = bank.enrolled().await;
    bank.table.delete_raw(&bank.account);
    let login = bank.login(&app.code_at(bank.now())).await.unwrap();
    assert_eq!(login, Login::NotRequired);
}

/// A live row whose record a database writer blanks (keeping its version) reads as an
/// erasure's tombstone: 未登録, no code at login, a new application possible. Decided, not
/// fixed (README, threat model): it is the power of deleting the row, which the row itself
/// can never reveal, so a signed tombstone would close one door of two and change the store
/// contract of every backend. The portal's own record of who uses the service (the audit
/// trail) is what detects both.
#[tokio::test]
async fn a_blanked_row_reads_as_an_erasure_as_a_deleted_row_reads_as_never_enrolled() {
    let bank = Bank::new();
    let app = bank.enrolled().await;
    let (version, _) = bank.table.row(&bank.account);
    bank.table.set_row(&bank.account, version, Vec::new());
    assert_eq!(
        bank.engine.status(&bank.account).await.unwrap(),
        totp_enroll::Status::NotRegistered
    );
    let login = bank.login(&app.code_at(bank.now())).await.unwrap();
    assert_eq!(login, Login::NotRequired);
    // Exactly what deleting the row does.
    let deleted = Bank::new();
    let app = deleted.enrolled().await;
    deleted.table.delete_raw(&deleted.account);
    assert_eq!(
        deleted.engine.status(&deleted.account).await.unwrap(),
        totp_enroll::Status::NotRegistered
    );
    assert_eq!(
        deleted.login(&app.code_at(deleted.now())).await.unwrap(),
        Login::NotRequired
    );
}

#[tokio::test]
async fn a_row_copied_onto_another_account_is_refused() {
    let bank = Bank::new();
    let victim_app = bank.enrolled().await;
    let (version, victim_row) = bank.table.row(&bank.account);

    // An active row copied onto an account without one: its secret does not open there.
    let attacker = AccountId::new("attacker").unwrap();
    bank.table.set_row(&attacker, version, victim_row.clone());
    let result = bank
        .engine
        .verify_login(&attacker, &victim_app.code_at(bank.now()))
        .await;
    assert!(
        matches!(result, Err(EngineError::Seal(SealError::Authentication))),
        "{result:?}"
    );

    // A not-registered row (no secret at all) copied over an active account, at the
    // active account's own version: only the MAC's account binding catches it.
    let stopped = AccountId::new("customer-0002").unwrap();
    let operator = Operator::new("support-desk-7").unwrap();
    bank.engine
        .desk_reset(&stopped, &operator, "never used")
        .await
        .unwrap();
    // Under the version it was authenticated for, so that only the account differs.
    let (stopped_version, not_registered_row) = bank.table.row(&stopped);
    bank.table
        .set_row(&bank.account, stopped_version, not_registered_row);
    let result = bank.login(&victim_app.code_at(bank.now())).await;
    assert!(integrity_error(&result), "{result:?}");
}

#[tokio::test]
async fn a_row_without_its_mac_is_refused() {
    let bank = Bank::new();
    let app = bank.enrolled().await;
    bank.table.edit(&bank.account, |bytes| {
        let len = bytes.len();
        bytes.truncate(layout::integrity(len) + 1);
        let last = bytes.len() - 1;
        bytes[last] = 0; // integrity: none
    });
    assert_eq!(bank.record().mac_key_id(), None);
    assert_eq!(bank.record().format_version(), 3);
    let result = bank.login(&app.code_at(bank.now())).await;
    assert!(integrity_error(&result), "{result:?}");
}

#[tokio::test]
async fn a_format_2_sealed_secret_never_opens_inside_a_forged_format_1_row() {
    let bank = Bank::new();
    let app = bank.enrolled().await;
    // Downgrade: drop the integrity trailer and claim format 1, which has no MAC.
    bank.table.edit(&bank.account, |bytes| {
        // Format 1: status, secret, since, last_used_step, throttle; no recovery codes, no
        // authenticator fields, no trailer.
        let len = bytes.len();
        let secret_end = layout::active_secret_end(len);
        let mut v1 = bytes[..layout::FORMAT].to_vec();
        v1.extend_from_slice(&[1, 2]);
        v1.extend_from_slice(&bytes[layout::ACTIVE_SECRET..secret_end]);
        v1.extend_from_slice(&bytes[layout::SINCE]);
        v1.extend_from_slice(&bytes[secret_end..len - layout::TRAILER]);
        *bytes = v1;
    });
    assert_eq!(bank.record().format_version(), 1);
    // The engine that cached this secret's prepared key, and a fresh one.
    let result = bank.login(&app.code_at(bank.now())).await;
    assert!(
        matches!(result, Err(EngineError::Seal(SealError::Authentication))),
        "{result:?}"
    );
    let fresh = Engine::new(bank.table.clone(), KeyRing::new(1, KEY), policy())
        .unwrap()
        .with_clock(bank.clock.clone());
    let result = fresh
        .verify_login(&bank.account, &app.code_at(bank.now()))
        .await;
    assert!(
        matches!(result, Err(EngineError::Seal(SealError::Authentication))),
        "{result:?}"
    );
}

#[tokio::test]
async fn no_single_bit_flip_anywhere_in_a_row_is_accepted() {
    let bank = Bank::new();
    let app = bank.enrolled().await;
    let (version, original) = bank.table.row(&bank.account);
    let code = app.code_at(bank.now());
    let mut decoded = 0;
    for index in 0..original.len() {
        for bit in 0..8 {
            let mut flipped = original.clone();
            flipped[index] ^= 1 << bit;
            decoded += usize::from(Enrollment::decode(&flipped).is_ok());
            bank.table.set_row(&bank.account, version, flipped);
            let result = bank.login(&code).await;
            assert!(
                matches!(
                    result,
                    Err(EngineError::Seal(_) | EngineError::Store(StoreError::Corrupt(_)))
                ),
                "byte {index} bit {bit}: {result:?}"
            );
        }
    }
    // Most flips decode to a valid record: the MAC, not the decoder, refuses them.
    assert!(decoded > original.len() * 4, "{decoded}");
}

#[tokio::test]
async fn records_authenticated_under_a_retired_key_verify_and_are_re_authenticated() {
    let bank = Bank::new();
    let app = bank.enrolled().await;
    assert_eq!(bank.record().mac_key_id(), Some(1));

    let rotated = KeyRing::new(2, [0x77; 32]).with_retired(1, KEY);
    let engine = Engine::new(bank.table.clone(), rotated, policy())
        .unwrap()
        .with_clock(bank.clock.clone());
    let login = engine
        .verify_login(&bank.account, &app.code_at(bank.now()))
        .await
        .unwrap();
    assert!(matches!(login, Login::Verified(_)));
    assert_eq!(bank.record().mac_key_id(), Some(2));

    // The old engine has no key 2: a typed error, not an acceptance.
    bank.clock.advance(30);
    let result = bank.login(&app.code_at(bank.now())).await;
    assert!(
        matches!(result, Err(EngineError::Seal(SealError::UnknownKeyId(2)))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_mac_key_id_edited_to_another_ring_key_is_refused() {
    let keys = KeyRing::new(2, [0x77; 32]).with_retired(1, KEY);
    let bank = Bank::with(policy(), keys);
    let app = bank.enrolled().await;
    bank.table.edit(&bank.account, |bytes| {
        let len = bytes.len();
        bytes[layout::mac_key_id(len)].copy_from_slice(&1u32.to_be_bytes());
    });
    assert_eq!(bank.record().mac_key_id(), Some(1));
    let result = bank.login(&app.code_at(bank.now())).await;
    assert!(integrity_error(&result), "{result:?}");
    // And a tag from another row of the same account does not fit this one.
    let bank = Bank::new();
    let app = bank.enrolled().await;
    let (_, before) = bank.table.row(&bank.account);
    assert!(matches!(
        bank.login(&app.code_at(bank.now())).await,
        Ok(Login::Verified(_))
    ));
    bank.table.edit(&bank.account, |bytes| {
        let len = bytes.len();
        bytes[layout::tag(len)].copy_from_slice(&before[layout::tag(before.len())]);
    });
    let result = bank.login(&app.code_at(bank.now() + 30)).await;
    assert!(integrity_error(&result), "{result:?}");
}

// ---------------------------------------------------------------------------------------
// Legacy format-1 rows. tests/fixtures/v1_*.bin were written by the format-1 engine
// (commit 5273fc7) with key ring {1: [0x4c; 32]} at T0 = 1_700_000_010, issuer
// "Legacy Bank"; see tests/fixtures/README.md.
// ---------------------------------------------------------------------------------------

const LEGACY_KEY: [u8; 32] = [0x4c; 32];
const LEGACY_ACTIVE_SECRET: &str = "6XK7WSGQJGWNEYZUN2D47F35AZAXI5HF";
const LEGACY_PENDING_SECRET: &str = "TQTLQWJJPEYEPMVOCLDYNFS4ZBKXETCE";

fn legacy_bank(policy: EnginePolicy) -> Bank {
    let bank = Bank::with(policy, KeyRing::new(1, LEGACY_KEY));
    let active = AccountId::new("legacy-active").unwrap();
    let pending = AccountId::new("legacy-pending").unwrap();
    bank.table.set_row(
        &active,
        2,
        std::fs::read("tests/fixtures/v1_active.bin").unwrap(),
    );
    bank.table.set_row(
        &pending,
        1,
        std::fs::read("tests/fixtures/v1_pending.bin").unwrap(),
    );
    bank
}

fn legacy_app(secret: &str) -> App {
    App::type_in(secret, &totp_enroll::OtpPolicy::new("Legacy Bank").unwrap())
}

#[tokio::test]
async fn legacy_format_1_rows_are_accepted_and_rewritten_as_format_3() {
    let bank = legacy_bank(policy());
    let active = AccountId::new("legacy-active").unwrap();
    let pending = AccountId::new("legacy-pending").unwrap();
    let (_, active_row) = bank.table.row(&active);
    assert_eq!(Enrollment::decode(&active_row).unwrap().format_version(), 1);

    bank.clock.advance(30);
    let active_app = legacy_app(LEGACY_ACTIVE_SECRET);
    let login = bank
        .engine
        .verify_login(&active, &active_app.code_at(bank.now()))
        .await
        .unwrap();
    assert!(matches!(login, Login::Verified(_)));
    let (version, row) = bank.table.row(&active);
    assert_eq!(version, 3);
    let record = Enrollment::decode(&row).unwrap();
    assert_eq!(record.format_version(), 3);
    assert_eq!(record.mac_key_id(), Some(1));

    let pending_app = legacy_app(LEGACY_PENDING_SECRET);
    bank.engine
        .confirm(&pending, &pending_app.code_at(bank.now()))
        .await
        .unwrap();
    let record = Enrollment::decode(&bank.table.row(&pending).1).unwrap();
    assert_eq!(record.format_version(), 3);

    // From now on the rewritten row is protected like any other.
    bank.table.edit(&active, |bytes| {
        let len = bytes.len();
        put_u64(bytes, layout::second_time(len), 0);
    });
    bank.clock.advance(30);
    let result = bank
        .engine
        .verify_login(&active, &active_app.code_at(bank.now()))
        .await;
    assert!(integrity_error(&result), "{result:?}");
}

#[tokio::test]
async fn legacy_rows_are_refused_when_the_policy_refuses_them() {
    assert!(policy().accepts_legacy_records());
    let bank = legacy_bank(policy().with_legacy_records(false));
    let active = AccountId::new("legacy-active").unwrap();
    bank.clock.advance(30);
    let app = legacy_app(LEGACY_ACTIVE_SECRET);
    let result = bank
        .engine
        .verify_login(&active, &app.code_at(bank.now()))
        .await;
    assert!(
        matches!(
            result,
            Err(EngineError::Seal(SealError::LegacyRecordRefused))
        ),
        "{result:?}"
    );
    assert!(matches!(
        bank.engine.status(&active).await,
        Err(EngineError::Seal(SealError::LegacyRecordRefused))
    ));
}

/// Why the option exists: while legacy rows are accepted, a database writer can replace
/// any record with a forged legacy one that no MAC protects (here, "not registered": a
/// login without the code). Refusing legacy rows closes that.
#[tokio::test]
async fn a_forged_legacy_row_is_accepted_only_while_legacy_rows_are() {
    let not_registered_v1: Vec<u8> = {
        let mut bytes = b"TOTPENR\x01\x00".to_vec();
        bytes.extend_from_slice(&[0; 13]);
        bytes
    };
    assert_eq!(
        Enrollment::decode(&not_registered_v1)
            .unwrap()
            .format_version(),
        1
    );
    for accept in [true, false] {
        let bank = Bank::with(policy().with_legacy_records(accept), KeyRing::new(1, KEY));
        let app = bank.enrolled().await;
        let (version, _) = bank.table.row(&bank.account);
        bank.table
            .set_row(&bank.account, version, not_registered_v1.clone());
        let result = bank.login(&app.code_at(bank.now())).await;
        if accept {
            assert!(matches!(result, Ok(Login::NotRequired)), "{result:?}");
        } else {
            assert!(
                matches!(
                    result,
                    Err(EngineError::Seal(SealError::LegacyRecordRefused))
                ),
                "{result:?}"
            );
        }
    }
}

#[test]
fn integrity_errors_name_no_secret_and_are_typed() {
    let message = EngineError::Seal(SealError::IntegrityMismatch).to_string();
    assert!(message.contains("integrity"), "{message}");
    let message = SealError::LegacyRecordRefused.to_string();
    assert!(message.contains("format 1"), "{message}");
}

// ---------------------------------------------------------------------------------------
// Format-2 rows. tests/fixtures/v2_*.bin were written by the format-2 engine (commit
// 29e381c) with key ring {1: [0x5d; 32]} at T0 = 1_700_000_010, issuer "Format Two Bank";
// see tests/fixtures/README.md.
// ---------------------------------------------------------------------------------------

const V2_KEY: [u8; 32] = [0x5d; 32];
const V2_ACTIVE_SECRET: &str = "MJW4I4BCYRWWRBH2UJYSDKJTEYLLV75D";
const V2_PENDING_SECRET: &str = "MHP6FTH3B46WBZWNIBEW5MF3AEYMZVGQ";

fn v2_bank(policy: EnginePolicy) -> Bank {
    let bank = Bank::with(policy, KeyRing::new(1, V2_KEY));
    for (account, version, file) in [
        ("v2-active", 2, "tests/fixtures/v2_active.bin"),
        ("v2-pending", 1, "tests/fixtures/v2_pending.bin"),
    ] {
        let account = AccountId::new(account).unwrap();
        bank.table
            .set_row(&account, version, std::fs::read(file).unwrap());
    }
    bank
}

#[tokio::test]
async fn format_2_rows_decode_as_format_2_with_their_mac() {
    for file in [
        "tests/fixtures/v2_active.bin",
        "tests/fixtures/v2_pending.bin",
    ] {
        let bytes = std::fs::read(file).unwrap();
        let record = Enrollment::decode(&bytes).unwrap();
        assert_eq!(record.format_version(), 2, "{file}");
        assert_eq!(record.mac_key_id(), Some(1), "{file}");
        assert_eq!(record.recovery_codes_remaining(), 0);
        assert!(record.authenticators().iter().all(|a| a.drift() == 0));
        assert_eq!(record.encode(), bytes, "{file}: one encoding per record");
    }
}

#[tokio::test]
async fn format_2_rows_keep_working_and_are_rewritten_as_format_3() {
    let bank = v2_bank(policy());
    let active = AccountId::new("v2-active").unwrap();
    let pending = AccountId::new("v2-pending").unwrap();
    let otp = totp_enroll::OtpPolicy::new("Format Two Bank").unwrap();
    let active_app = App::type_in(V2_ACTIVE_SECRET, &otp);
    let pending_app = App::type_in(V2_PENDING_SECRET, &otp);

    // The status screen reads them unchanged (the MAC checks over the format-2 bytes).
    assert_eq!(
        bank.engine.status(&active).await.unwrap().portal_label(),
        "利用中"
    );
    // The confirmation code's step was consumed in format 2 and stays consumed.
    assert!(matches!(
        bank.engine
            .verify_login(&active, &active_app.code_at(T0))
            .await,
        Err(EngineError::Refused(Refusal::Replayed))
    ));
    bank.clock.advance(30);
    let login = bank
        .engine
        .verify_login(&active, &active_app.code_at(bank.now()))
        .await
        .unwrap();
    assert!(matches!(login, Login::Verified(_)));
    let (version, row) = bank.table.row(&active);
    assert_eq!(version, 3);
    let record = Enrollment::decode(&row).unwrap();
    assert_eq!(record.format_version(), 3);
    assert_eq!(record.mac_key_id(), Some(1));

    // The pending application confirms, with recovery codes, into format 3.
    let codes = bank
        .engine
        .confirm_with_recovery_codes(&pending, &pending_app.code_at(bank.now()))
        .await
        .unwrap();
    let record = Enrollment::decode(&bank.table.row(&pending).1).unwrap();
    assert_eq!(record.format_version(), 3);
    assert_eq!(record.recovery_codes_remaining(), codes.len());

    // An edited format-2 row is caught like any other.
    let bank = v2_bank(policy());
    bank.table.edit(&active, |bytes| {
        let len = bytes.len();
        put_u64(bytes, layout::second_time(len), 0);
    });
    bank.clock.advance(30);
    let result = bank
        .engine
        .verify_login(&active, &active_app.code_at(bank.now()))
        .await;
    assert!(integrity_error(&result), "{result:?}");
}
