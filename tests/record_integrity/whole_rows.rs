//! Rows written back, copied, blanked or removed.

use super::*;

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
    assert_eq!(bank.record().format_version(), 4);
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
