//! Edits of one field of a row, each detected.

use super::*;

#[tokio::test]
async fn a_row_rewritten_unchanged_is_accepted() {
    // The control for every edit below: the same rewrite without a change passes.
    let bank = Bank::new();
    let app = bank.enrolled().await;
    bank.table.edit(&bank.account, |_| {});
    let login = bank.login(&app.code_at(bank.now())).await.unwrap();
    assert!(matches!(login, Login::Verified(_)));
    let record = bank.record();
    assert_eq!(record.format_version(), 4);
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
        Err(EngineError::Refused(Refusal::WrongCodeThrottled { .. }))
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
