//! Recovery codes: issued after a current code or with the confirmation, shown once,
//! stored only as keyed hashes, each accepted at most once, counted like wrong codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::sync::Arc;

use common::{App, Harness, lenient_throttle, policy};
use totp_enroll::testing::conformance::{self, Outcome};
use totp_enroll::{
    AccountId, AuditKind, Engine, KeyRing, Login, MemoryStore, Operator, RecoveryCodes, StepUp,
    Store, audit::Operation, error::EngineError, error::RecoveryCodeError, error::Refusal,
    error::StepUpError,
};

/// Begins, confirms with recovery codes, and moves to the next step.
async fn enrolled_with_codes(h: &Harness) -> (App, RecoveryCodes) {
    let app = App::scan(&h.begin().await);
    let codes = h
        .engine
        .confirm_with_recovery_codes(&h.account, &app.code_at(h.now()))
        .await
        .unwrap();
    h.next_step();
    (app, codes)
}

fn grouped(codes: &RecoveryCodes) -> Vec<String> {
    codes.iter().map(|c| c.grouped().to_string()).collect()
}

async fn recover(h: &Harness, code: &str) -> Result<Login, EngineError> {
    h.engine.verify_recovery_code(&h.account, code).await
}

#[tokio::test]
async fn confirmation_issues_ten_codes_in_the_same_write() {
    let h = Harness::new();
    let (_, codes) = enrolled_with_codes(&h).await;
    assert_eq!(codes.len(), 10);
    assert_eq!(h.record().await.recovery_codes_remaining(), 10);
    assert_eq!(
        h.engine.status(&h.account).await.unwrap().portal_label(),
        "利用中"
    );
    let kinds = h.audit_kinds();
    let confirmed = kinds
        .iter()
        .position(|k| matches!(k, AuditKind::EnrollmentConfirmed { .. }))
        .unwrap();
    assert_eq!(
        kinds[confirmed + 1],
        AuditKind::RecoveryCodesIssued {
            count: 10,
            discarded: 0
        }
    );
}

#[tokio::test]
async fn each_code_logs_in_exactly_once_and_reports_how_many_remain() {
    let h = Harness::new();
    let (_, codes) = enrolled_with_codes(&h).await;
    for (used, code) in grouped(&codes).iter().enumerate() {
        let remaining = u8::try_from(9 - used).unwrap();
        assert_eq!(
            recover(&h, code).await.unwrap(),
            Login::RecoveryCode { remaining }
        );
        // Used up: the same code again is a wrong code, counted (the next acceptance
        // clears the counter).
        assert!(matches!(
            recover(&h, code).await,
            Err(EngineError::Refused(Refusal::WrongCode))
        ));
        assert_eq!(h.record().await.throttle().failures(), 1);
    }
    assert_eq!(h.record().await.recovery_codes_remaining(), 0);
}

#[tokio::test]
async fn a_code_is_accepted_as_typed_with_separators_lowercase_and_full_width() {
    let h = Harness::new();
    let (_, codes) = enrolled_with_codes(&h).await;
    let all = grouped(&codes);
    let plain = all[0].replace('-', "");
    let spaced = all[1].replace('-', " ").to_lowercase();
    let full_width: String = all[2]
        .chars()
        .map(|c| match c {
            '-' => 'ー',
            c => char::from_u32(u32::from(c) - 0x21 + 0xFF01).unwrap(),
        })
        .collect();
    for typed in [plain, spaced, full_width] {
        assert!(
            matches!(recover(&h, &typed).await, Ok(Login::RecoveryCode { .. })),
            "{typed}"
        );
    }
}

#[tokio::test]
async fn a_malformed_code_is_refused_and_not_counted() {
    let h = Harness::new();
    let _ = enrolled_with_codes(&h).await;
    let result = recover(&h, "ABCD-EFGH").await;
    assert!(
        matches!(
            result,
            Err(EngineError::Refused(Refusal::MalformedRecoveryCode(
                RecoveryCodeError::WrongLength {
                    expected: 16,
                    found: 8
                }
            )))
        ),
        "{result:?}"
    );
    assert_eq!(h.record().await.throttle().failures(), 0);
    assert!(h.audit_kinds().contains(&AuditKind::Refused {
        operation: Operation::RecoveryLogin,
        refusal: Refusal::MalformedRecoveryCode(RecoveryCodeError::WrongLength {
            expected: 16,
            found: 8
        }),
        failures: 0
    }));
}

#[tokio::test]
async fn wrong_recovery_codes_count_in_the_same_counter_and_lock() {
    let h = Harness::new();
    let (app, codes) = enrolled_with_codes(&h).await;
    // One wrong one-time code, then wrong recovery codes up to the lock (10 by default).
    assert!(
        h.engine
            .verify_login(&h.account, &common::wrong_codes(&app, h.now(), 1)[0])
            .await
            .is_err()
    );
    let mut locked = false;
    for _ in 0..20 {
        match recover(&h, "0000-0000-0000-0000").await {
            Err(EngineError::Refused(Refusal::WrongCode)) => {}
            Err(EngineError::Refused(
                Refusal::Throttled { until } | Refusal::WrongCodeThrottled { until },
            )) => {
                h.clock.set(i64::try_from(until).unwrap());
            }
            // The wrong code that locks says so itself.
            Err(EngineError::Refused(Refusal::WrongCodeLocked)) => {
                locked = true;
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(locked);
    assert_eq!(h.record().await.throttle().failures(), 10);
    // Locked for both kinds of code: a valid recovery code is not even compared.
    assert!(matches!(
        recover(&h, &grouped(&codes)[0]).await,
        Err(EngineError::Refused(Refusal::Locked))
    ));
    assert!(matches!(
        h.engine
            .verify_login(&h.account, &app.code_at(h.now()))
            .await,
        Err(EngineError::Refused(Refusal::Locked))
    ));
    assert_eq!(h.record().await.recovery_codes_remaining(), 10);
}

#[tokio::test]
async fn an_accepted_recovery_code_clears_the_failure_counter() {
    let h = Harness::new();
    let (app, codes) = enrolled_with_codes(&h).await;
    for code in common::wrong_codes(&app, h.now(), 2) {
        let _ = h.engine.verify_login(&h.account, &code).await;
    }
    assert_eq!(h.record().await.throttle().failures(), 2);
    assert_eq!(
        recover(&h, &grouped(&codes)[3]).await.unwrap(),
        Login::RecoveryCode { remaining: 9 }
    );
    assert_eq!(h.record().await.throttle().failures(), 0);
}

#[tokio::test]
async fn issuing_again_replaces_the_whole_set_in_one_write() {
    let h = Harness::new();
    let (app, first) = enrolled_with_codes(&h).await;
    assert_eq!(
        recover(&h, &grouped(&first)[0]).await.unwrap(),
        Login::RecoveryCode { remaining: 9 }
    );
    let second = h
        .engine
        .issue_recovery_codes(&h.account, &app.code_at(h.now()), &h.step_up())
        .await
        .unwrap();
    assert!(h.audit_kinds().contains(&AuditKind::RecoveryCodesIssued {
        count: 10,
        discarded: 9
    }));
    for old in &grouped(&first)[1..3] {
        assert!(matches!(
            recover(&h, old).await,
            Err(EngineError::Refused(Refusal::WrongCode))
        ));
    }
    assert_eq!(
        recover(&h, &grouped(&second)[9]).await.unwrap(),
        Login::RecoveryCode { remaining: 9 }
    );
}

#[tokio::test]
async fn issuing_needs_a_fresh_step_up_so_one_phished_code_yields_no_codes() {
    // Also under the policy that asks for no step-up to show a secret again: recovery
    // codes are permanent factors, and issuing destroys the customer's own set.
    let h = Harness::new();
    let (app, first) = enrolled_with_codes(&h).await;
    let code = app.code_at(h.now());
    let stale =
        StepUp::transaction_password_verified(&h.account, u64::try_from(h.now() - 3600).unwrap());
    assert!(matches!(
        h.engine
            .issue_recovery_codes(&h.account, &code, &stale)
            .await,
        Err(EngineError::StepUp(StepUpError::Expired { .. }))
    ));
    let someone_else = StepUp::transaction_password_verified(
        &AccountId::new("someone-else").unwrap(),
        u64::try_from(h.now()).unwrap(),
    );
    assert!(matches!(
        h.engine
            .issue_recovery_codes(&h.account, &code, &someone_else)
            .await,
        Err(EngineError::StepUp(StepUpError::WrongAccount))
    ));
    assert_eq!(
        h.audit_kinds()
            .iter()
            .filter(|k| **k == AuditKind::StepUpRefused)
            .count(),
        2
    );
    // Nothing was issued or consumed: the customer's set still works, and so does the code.
    assert_eq!(
        recover(&h, &grouped(&first)[0]).await.unwrap(),
        Login::RecoveryCode { remaining: 9 }
    );
    assert!(matches!(
        h.engine.verify_login(&h.account, &code).await,
        Ok(Login::Verified(_))
    ));
}

#[tokio::test]
async fn issuing_needs_a_current_code_which_it_consumes() {
    let h = Harness::new();
    let (app, _) = enrolled_with_codes(&h).await;
    let wrong = &common::wrong_codes(&app, h.now(), 1)[0];
    assert!(matches!(
        h.engine
            .issue_recovery_codes(&h.account, wrong, &h.step_up())
            .await,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));
    let code = app.code_at(h.now());
    h.engine
        .issue_recovery_codes(&h.account, &code, &h.step_up())
        .await
        .unwrap();
    assert!(matches!(
        h.engine.verify_login(&h.account, &code).await,
        Err(EngineError::Refused(Refusal::Replayed))
    ));
}

#[tokio::test]
async fn few_codes_left_is_audited_and_notified() {
    let h = Harness::with_policy(policy().with_throttle(lenient_throttle()));
    let (_, codes) = enrolled_with_codes(&h).await;
    for code in &grouped(&codes)[..7] {
        assert!(matches!(
            recover(&h, code).await.unwrap(),
            Login::RecoveryCode { .. }
        ));
    }
    let kinds = h.audit_kinds();
    assert!(kinds.contains(&AuditKind::RecoveryCodeUsed {
        remaining: 3,
        operation: Operation::RecoveryLogin,
    }));
    assert!(kinds.contains(&AuditKind::RecoveryCodesLow { remaining: 3 }));
    assert!(!kinds.contains(&AuditKind::RecoveryCodesLow { remaining: 4 }));
    for kind in [
        AuditKind::RecoveryCodeUsed {
            remaining: 3,
            operation: Operation::RecoveryLogin,
        },
        AuditKind::RecoveryCodesLow { remaining: 3 },
        AuditKind::RecoveryCodesIssued {
            count: 10,
            discarded: 0,
        },
    ] {
        assert!(kind.is_factor_change(), "{kind:?} notifies the customer");
    }
    // The durable trail has them too.
    let delivered: Vec<AuditKind> = h.delivered().await.into_iter().map(|e| e.kind).collect();
    assert!(delivered.contains(&AuditKind::RecoveryCodesLow { remaining: 3 }));
}

#[tokio::test]
async fn an_account_without_the_service_does_not_need_a_code() {
    let h = Harness::new();
    assert_eq!(
        recover(&h, "not even a code").await.unwrap(),
        Login::NotRequired
    );
    // Pending is not in use either.
    let _ = h.begin().await;
    assert_eq!(
        recover(&h, "0000-0000-0000-0000").await.unwrap(),
        Login::NotRequired
    );
}

#[tokio::test]
async fn an_enrollment_confirmed_without_codes_has_none() {
    let h = Harness::new();
    let _ = h.enrolled().await;
    assert_eq!(h.record().await.recovery_codes_remaining(), 0);
    assert!(matches!(
        recover(&h, "0000-0000-0000-0000").await,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));
}

#[tokio::test]
async fn stopping_the_service_or_a_desk_reset_removes_the_codes() {
    let h = Harness::new();
    let (app, codes) = enrolled_with_codes(&h).await;
    h.engine
        .stop(&h.account, &app.code_at(h.now()))
        .await
        .unwrap();
    h.next_step();
    let app = App::scan(&h.begin().await);
    h.engine
        .confirm(&h.account, &app.code_at(h.now()))
        .await
        .unwrap();
    assert!(matches!(
        recover(&h, &grouped(&codes)[0]).await,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));

    let h = Harness::new();
    let (_, codes) = enrolled_with_codes(&h).await;
    let desk = Operator::new("desk-01").unwrap();
    h.engine
        .desk_reset(&h.account, &desk, "lost phone, identity re-proofed")
        .await
        .unwrap();
    assert_eq!(
        recover(&h, &grouped(&codes)[0]).await.unwrap(),
        Login::NotRequired
    );
}

#[tokio::test]
async fn the_row_holds_keyed_hashes_never_the_codes() {
    let h = Harness::new();
    let (_, codes) = enrolled_with_codes(&h).await;
    let row = h.store.inner().raw_record(&h.account).unwrap();
    let record = h.record().await;
    let debug = format!("{record:?}");
    for code in grouped(&codes) {
        let canonical = code.replace('-', "");
        for form in [code.as_bytes(), canonical.as_bytes()] {
            assert!(!row.windows(form.len()).any(|w| w == form));
        }
        assert!(!debug.contains(&canonical));
    }
    assert!(!format!("{codes:?}").contains(&grouped(&codes)[0]));
}

#[tokio::test]
async fn a_code_of_one_account_does_not_work_on_another() {
    let h = Harness::new();
    let (_, codes) = enrolled_with_codes(&h).await;
    let other = AccountId::new("customer-0002").unwrap();
    let step_up =
        totp_enroll::StepUp::transaction_password_verified(&other, u64::try_from(h.now()).unwrap());
    let app = App::scan(
        &h.engine
            .begin(
                &other,
                &totp_enroll::AccountLabel::new("other").unwrap(),
                &step_up,
            )
            .await
            .unwrap(),
    );
    h.engine
        .confirm_with_recovery_codes(&other, &app.code_at(h.now()))
        .await
        .unwrap();
    assert!(matches!(
        h.engine
            .verify_recovery_code(&other, &grouped(&codes)[0])
            .await,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));
}

#[tokio::test]
async fn codes_keep_working_across_a_key_rotation_and_keep_their_key_needed() {
    let h = Harness::with_keys(policy(), KeyRing::new(1, [0x11; 32]));
    let (_, codes) = enrolled_with_codes(&h).await;
    let mut ring = (*h.engine.keys()).clone();
    ring.rotate(2, [0x22; 32]);
    h.engine.set_keys(ring);
    let report = h.engine.reseal_all().await.unwrap();
    assert_eq!(report.resealed.get(&1), Some(&1));
    let usage = h.engine.key_usage().await.unwrap();
    assert!(!usage.sealed_under.contains_key(&1));
    assert_eq!(usage.hashed_under.get(&1), Some(&1));
    assert!(matches!(
        h.engine.retire_key(1).await,
        Err(EngineError::KeyStillNeeded { key_id: 1, .. })
    ));
    assert_eq!(
        recover(&h, &grouped(&codes)[0]).await.unwrap(),
        Login::RecoveryCode { remaining: 9 }
    );
}

/// 64 parallel submissions of one code over 4 engines sharing a store: exactly one is
/// accepted, every other is refused as wrong (the code is used up) and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_parallel_submissions_of_one_code_are_accepted_exactly_once() {
    let store = Arc::new(MemoryStore::new());
    let key = conformance::random_key().unwrap();
    let clock = Arc::new(totp_enroll::ManualClock::new(
        i64::try_from(conformance::START).unwrap(),
    ));
    let engines: Vec<Arc<Engine<Arc<MemoryStore>>>> = (0..4)
        .map(|_| {
            Arc::new(
                conformance::engine(store.clone(), key, clock.clone(), lenient_throttle()).unwrap(),
            )
        })
        .collect();
    let account = conformance::fresh_account("recovery-race").unwrap();
    let totp = conformance::enroll(&engines[0], &account, conformance::START)
        .await
        .unwrap();
    clock.advance(30);
    let now = conformance::START + 30;
    let codes = engines[1]
        .issue_recovery_codes(
            &account,
            &totp.code_at(now).to_string(),
            &StepUp::transaction_password_verified(&account, now),
        )
        .await
        .unwrap();
    let code = codes.iter().next().unwrap().grouped().to_string();
    let outcomes = conformance::race(64, |i| {
        let engine = Arc::clone(&engines[i % 4]);
        let (account, code) = (account.clone(), code.clone());
        async move { Outcome::from(engine.verify_recovery_code(&account, &code).await) }
    })
    .await
    .unwrap();
    let accepted = outcomes
        .iter()
        .filter(|o| **o == Outcome::Recovered)
        .count();
    let wrong = outcomes
        .iter()
        .filter(|o| **o == Outcome::Refused(Refusal::WrongCode))
        .count();
    assert_eq!((accepted, wrong), (1, 63), "{outcomes:?}");
    let record = store.load(&account).await.unwrap().unwrap().record;
    assert_eq!(record.recovery_codes_remaining(), 9);
    assert_eq!(record.throttle().failures(), 63);
}

/// The lost-phone path without the desk: a recovery code and a fresh step-up stop the
/// service (the lost phone's secret is erased), then the customer applies with a new one.
#[tokio::test]
async fn a_recovery_code_and_a_step_up_stop_the_service_of_a_lost_phone() {
    let h = Harness::new();
    let (lost, codes) = enrolled_with_codes(&h).await;
    let stale = totp_enroll::StepUp::transaction_password_verified(
        &h.account,
        u64::try_from(h.now() - 3600).unwrap(),
    );
    assert!(matches!(
        h.engine
            .stop_with_recovery_code(&h.account, &grouped(&codes)[0], &stale)
            .await,
        Err(EngineError::StepUp(_))
    ));
    assert!(matches!(
        h.engine
            .stop_with_recovery_code(&h.account, "0000-0000-0000-0000", &h.step_up())
            .await,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));
    h.engine
        .stop_with_recovery_code(&h.account, &grouped(&codes)[0], &h.step_up())
        .await
        .unwrap();
    assert_eq!(
        h.engine.status(&h.account).await.unwrap().portal_label(),
        "未登録"
    );
    assert!(h.audit_kinds().contains(&AuditKind::Stopped));
    assert!(h.audit_kinds().contains(&AuditKind::RecoveryCodeUsed {
        remaining: 9,
        operation: Operation::Stop
    }));
    assert_eq!(
        h.engine
            .verify_login(&h.account, &lost.code_at(h.now()))
            .await
            .unwrap(),
        Login::NotRequired
    );
    let new_phone = App::scan(&h.begin().await);
    h.engine
        .confirm(&h.account, &new_phone.code_at(h.now()))
        .await
        .unwrap();
    assert!(matches!(
        recover(&h, &grouped(&codes)[1]).await,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));
}
