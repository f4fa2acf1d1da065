//! The seed manual's chapters as rules: every screen of flows.md is one engine call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation
)]

mod common;

use common::{App, Harness, T0};
use totp_enroll::{
    Access, AuditKind, Login, Operator, Status, StepUp, audit::Operation, error::EngineError,
    error::IdentifierError, error::Refusal, error::StepUpError, lifecycle::RecordStatus,
    provision::KeyType,
};

// ---- Chapter 1: new enrollment -------------------------------------------------------

#[tokio::test]
async fn chapter1_new_enrollment_from_not_registered_to_in_use() {
    let h = Harness::new();
    // Registration info shows 未登録 and the apply button.
    let status = h.engine.status(&h.account).await.unwrap();
    assert_eq!(status, Status::NotRegistered);
    assert_eq!(status.portal_label(), "未登録");

    // 申込 after the transaction password: QR, account name, key type, hidden setup key.
    let screen = h.begin().await;
    assert_eq!(screen.issuer(), common::ISSUER);
    assert_eq!(screen.key_type(), KeyType::TimeBased);
    assert!(screen.qr().unwrap().width() > 0);
    assert!(matches!(
        h.engine.status(&h.account).await.unwrap(),
        Status::Pending { .. }
    ));

    // A phone-only customer types the setup key; a PC customer scans the QR: same codes.
    let typed = App::type_in(&screen.reveal_setup_key(), h.engine.policy().otp());
    let scanned = App::scan(&screen);
    assert_eq!(typed.code_at(h.now()), scanned.code_at(h.now()));

    // 確認 with the 6 digits the app shows ("123 456", with its space).
    h.engine
        .confirm(&h.account, &scanned.shown_at(h.now()))
        .await
        .unwrap();
    let status = h.engine.status(&h.account).await.unwrap();
    assert_eq!(status.portal_label(), "利用中");
    assert!(matches!(status, Status::Active { since, access: Access::Open } if since == T0 as u64));

    // From now on: login ID + password, then the one-time password.
    h.next_step();
    let login = h
        .engine
        .verify_login(&h.account, &scanned.code_at(h.now()))
        .await
        .unwrap();
    assert!(matches!(login, Login::Verified(_)));
    assert!(matches!(
        h.audit_kinds().as_slice(),
        [
            AuditKind::EnrollmentStarted { .. },
            AuditKind::EnrollmentConfirmed { .. },
            AuditKind::LoginAccepted { .. }
        ]
    ));
}

#[tokio::test]
async fn enrollment_cannot_begin_without_a_fresh_transaction_password_step_up() {
    let h = Harness::new();
    let now = h.now() as u64;
    let stale = StepUp::transaction_password_verified(&h.account, now - 301);
    let err = h
        .engine
        .begin(
            &h.account,
            &totp_enroll::AccountLabel::new("taro").unwrap(),
            &stale,
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        EngineError::StepUp(StepUpError::Expired {
            age: 301,
            max_age: 300
        })
    ));

    let other = totp_enroll::AccountId::new("someone-else").unwrap();
    let foreign = StepUp::transaction_password_verified(&other, now);
    let err = h
        .engine
        .begin(
            &h.account,
            &totp_enroll::AccountLabel::new("taro").unwrap(),
            &foreign,
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        EngineError::StepUp(StepUpError::WrongAccount)
    ));

    let future = StepUp::transaction_password_verified(&h.account, now + 3600);
    let err = h
        .engine
        .begin(
            &h.account,
            &totp_enroll::AccountLabel::new("taro").unwrap(),
            &future,
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        EngineError::StepUp(StepUpError::FromTheFuture)
    ));

    // Nothing was issued or stored, and every refusal was audited.
    assert_eq!(
        h.engine.status(&h.account).await.unwrap(),
        Status::NotRegistered
    );
    assert!(h.store.inner().raw_record(&h.account).is_none());
    assert_eq!(
        h.audit_kinds(),
        vec![AuditKind::StepUpRefused; 3],
        "each refused step-up is audited"
    );

    // A step-up exactly at the limit still works.
    let at_limit = StepUp::transaction_password_verified(&h.account, now - 300);
    h.engine
        .begin(
            &h.account,
            &totp_enroll::AccountLabel::new("taro").unwrap(),
            &at_limit,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn the_confirmation_code_can_never_be_used_to_log_in() {
    let h = Harness::new();
    let app = App::scan(&h.begin().await);
    let code = app.code_at(h.now());
    h.engine.confirm(&h.account, &code).await.unwrap();
    let err = h.engine.verify_login(&h.account, &code).await.unwrap_err();
    assert!(matches!(err, EngineError::Refused(Refusal::Replayed)));
}

#[tokio::test]
async fn a_pending_enrollment_never_satisfies_login() {
    let h = Harness::new();
    let app = App::scan(&h.begin().await);
    // Even the right code does not verify a login: the service is not in use yet.
    let login = h
        .engine
        .verify_login(&h.account, &app.code_at(h.now()))
        .await
        .unwrap();
    assert_eq!(login, Login::NotRequired);
    // And the code was not consumed: it still confirms.
    h.engine
        .confirm(&h.account, &app.code_at(h.now()))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_pending_enrollment_expires_after_ten_minutes_and_its_secret_is_erased() {
    let h = Harness::new();
    let app = App::scan(&h.begin().await);
    h.clock.advance(600);
    assert_eq!(
        h.engine.status(&h.account).await.unwrap(),
        Status::NotRegistered
    );
    let err = h
        .engine
        .confirm(&h.account, &app.code_at(h.now()))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NoPendingEnrollment));
    assert_eq!(h.record().await.status(), &RecordStatus::NotRegistered);
    assert!(h.audit_kinds().contains(&AuditKind::EnrollmentExpired));
    // Enrollment can start again.
    h.begin().await;
}

/// Wrong confirmation codes lock a pending application like a login; the lock outlives
/// the application, so starting again is refused with the lock's reason (no QR code that
/// could never be confirmed) until the support desk resets it.
#[tokio::test]
async fn an_application_locked_while_pending_cannot_be_restarted_until_the_desk_resets_it() {
    let h = Harness::with_policy(
        common::policy()
            .with_throttle(totp_enroll::lifecycle::ThrottlePolicy::new(3, 1, 1, 3).unwrap()),
    );
    let app = App::scan(&h.begin().await);
    for wrong in common::wrong_codes(&app, h.now(), 3) {
        let _ = h.engine.confirm(&h.account, &wrong).await.unwrap_err();
        h.clock.advance(1);
    }
    let events_before = h.audit_kinds().len();
    let err = h
        .engine
        .begin(
            &h.account,
            &totp_enroll::AccountLabel::new("taro@example.jp").unwrap(),
            &h.step_up(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Refused(Refusal::Locked)),
        "{err:?}"
    );
    assert_eq!(
        h.audit_kinds()[events_before..],
        [AuditKind::Refused {
            operation: Operation::Begin,
            refusal: Refusal::Locked,
            failures: 3
        }]
    );
    // Also after the application lapsed and its secret was erased.
    h.clock.advance(600);
    assert_eq!(
        h.engine.status(&h.account).await.unwrap(),
        Status::NotRegistered
    );
    let err = h
        .engine
        .begin(
            &h.account,
            &totp_enroll::AccountLabel::new("taro@example.jp").unwrap(),
            &h.step_up(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Refused(Refusal::Locked)));
    h.engine
        .desk_reset(
            &h.account,
            &Operator::new("desk-01").unwrap(),
            "本人確認済み",
        )
        .await
        .unwrap();
    let app = App::scan(&h.begin().await);
    h.engine
        .confirm(&h.account, &app.code_at(h.now()))
        .await
        .unwrap();
}

#[tokio::test]
async fn starting_again_while_pending_replaces_the_pending_secret() {
    let h = Harness::new();
    let first = App::scan(&h.begin().await);
    let second = App::scan(&h.begin().await);
    assert_ne!(
        first.code_at_step(1) + &first.code_at_step(2),
        second.code_at_step(1) + &second.code_at_step(2),
        "a new secret was issued"
    );
    let err = h
        .engine
        .confirm(&h.account, &first.code_at(h.now()))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Refused(Refusal::WrongCode)));
    h.engine
        .confirm(&h.account, &second.code_at(h.now()))
        .await
        .unwrap();
    assert!(h.audit_kinds().contains(&AuditKind::EnrollmentStarted {
        expires_at: T0 as u64 + 600,
        replaced_pending: true
    }));
}

#[tokio::test]
async fn starting_while_in_use_is_refused() {
    let h = Harness::new();
    h.enrolled().await;
    let err = h
        .engine
        .begin(
            &h.account,
            &totp_enroll::AccountLabel::new("taro").unwrap(),
            &h.step_up(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::AlreadyActive));
}

#[tokio::test]
async fn confirming_without_a_pending_enrollment_is_refused() {
    let h = Harness::new();
    let err = h.engine.confirm(&h.account, "123456").await.unwrap_err();
    assert!(matches!(err, EngineError::NoPendingEnrollment));
}

#[tokio::test]
async fn a_wrong_confirmation_code_counts_as_a_failure() {
    let h = Harness::new();
    let app = App::scan(&h.begin().await);
    let wrong = wrong_code(&app, h.now());
    let err = h.engine.confirm(&h.account, &wrong).await.unwrap_err();
    assert!(matches!(err, EngineError::Refused(Refusal::WrongCode)));
    assert_eq!(h.record().await.throttle().failures(), 1);
}

// ---- Chapter 2: a second device --------------------------------------------------------

#[tokio::test]
async fn chapter2_second_device_gets_the_same_secret_after_a_code_check() {
    let h = Harness::new();
    let phone = h.enrolled().await;
    let before = h
        .engine
        .begin(
            &h.account,
            &totp_enroll::AccountLabel::new("x").unwrap(),
            &h.step_up(),
        )
        .await
        .unwrap_err();
    assert!(matches!(before, EngineError::AlreadyActive));

    let screen = h
        .engine
        .redisplay(&h.account, &phone.code_at(h.now()))
        .await
        .unwrap();
    let tablet = App::scan(&screen);
    for step in 0..5 {
        let t = h.now() + step * 30;
        assert_eq!(
            phone.code_at(t),
            tablet.code_at(t),
            "both devices show the same codes"
        );
    }
    assert!(h.audit_kinds().contains(&AuditKind::Redisplayed));

    // The code that unlocked the re-display was consumed.
    let err = h
        .engine
        .verify_login(&h.account, &phone.code_at(h.now()))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Refused(Refusal::Replayed)));
    // The second device logs in at the next step.
    h.next_step();
    let login = h
        .engine
        .verify_login(&h.account, &tablet.code_at(h.now()))
        .await
        .unwrap();
    assert!(matches!(login, Login::Verified(_)));
}

#[tokio::test]
async fn redisplay_with_a_wrong_code_shows_nothing_and_counts_a_failure() {
    let h = Harness::new();
    let phone = h.enrolled().await;
    let err = h
        .engine
        .redisplay(&h.account, &wrong_code(&phone, h.now()))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Refused(Refusal::WrongCode)));
    assert_eq!(h.record().await.throttle().failures(), 1);
    assert!(h.audit_kinds().contains(&AuditKind::Refused {
        operation: Operation::Redisplay,
        refusal: Refusal::WrongCode,
        failures: 1
    }));
}

#[tokio::test]
async fn redisplay_can_be_forbidden_by_policy() {
    let h = Harness::with_policy(common::policy().with_redisplay(false));
    let phone = h.enrolled().await;
    let err = h
        .engine
        .redisplay(&h.account, &phone.code_at(h.now()))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::RedisplayDisabled));
    assert_eq!(h.audit_kinds().last(), Some(&AuditKind::RedisplayDisabled));
    // The code was not checked, so it was not consumed: it still logs in.
    let login = h
        .engine
        .verify_login(&h.account, &phone.code_at(h.now()))
        .await
        .unwrap();
    assert!(matches!(login, Login::Verified(_)));
}

// ---- Chapter 3: stopping the service ---------------------------------------------------

#[tokio::test]
async fn chapter3_stopping_needs_a_current_code_then_login_needs_no_otp() {
    let h = Harness::new();
    let phone = h.enrolled().await;
    h.engine
        .stop(&h.account, &phone.code_at(h.now()))
        .await
        .unwrap();
    assert_eq!(
        h.engine.status(&h.account).await.unwrap().portal_label(),
        "未登録"
    );
    assert_eq!(h.record().await.status(), &RecordStatus::NotRegistered);
    assert!(h.audit_kinds().contains(&AuditKind::Stopped));

    // Login is ID + password alone again.
    h.next_step();
    let login = h
        .engine
        .verify_login(&h.account, &phone.code_at(h.now()))
        .await
        .unwrap();
    assert_eq!(login, Login::NotRequired);
    // And enrollment can begin again.
    h.begin().await;
}

#[tokio::test]
async fn a_wrong_or_replayed_code_does_not_stop_the_service() {
    let h = Harness::new();
    let phone = h.enrolled().await;
    let wrong = h
        .engine
        .stop(&h.account, &wrong_code(&phone, h.now()))
        .await
        .unwrap_err();
    assert!(matches!(wrong, EngineError::Refused(Refusal::WrongCode)));
    let login_code = phone.code_at(h.now());
    let _ = h
        .engine
        .verify_login(&h.account, &login_code)
        .await
        .unwrap();
    let replayed = h.engine.stop(&h.account, &login_code).await.unwrap_err();
    assert!(matches!(replayed, EngineError::Refused(Refusal::Replayed)));
    assert_eq!(
        h.engine.status(&h.account).await.unwrap().portal_label(),
        "利用中"
    );
}

#[tokio::test]
async fn stopping_a_service_not_in_use_is_refused() {
    let h = Harness::new();
    let err = h.engine.stop(&h.account, "123456").await.unwrap_err();
    assert!(matches!(err, EngineError::NotActive));
}

// ---- Chapter 4 and the support desk: lost phone ----------------------------------------

#[tokio::test]
async fn lost_phone_support_desk_reset_then_enrollment_is_possible_again() {
    let h = Harness::new();
    let _lost = h.enrolled().await;
    let operator = Operator::new("support-desk-07").unwrap();
    h.engine
        .desk_reset(
            &h.account,
            &operator,
            "customer lost the phone (call #4711)",
        )
        .await
        .unwrap();
    assert_eq!(
        h.engine.status(&h.account).await.unwrap(),
        Status::NotRegistered
    );
    assert_eq!(h.record().await.status(), &RecordStatus::NotRegistered);
    assert!(h.audit_kinds().contains(&AuditKind::AdministrativelyReset {
        operator,
        reason: "customer lost the phone (call #4711)".into()
    }));
    // Login needs no OTP until the customer enrolls a new phone.
    assert_eq!(
        h.engine.verify_login(&h.account, "000000").await.unwrap(),
        Login::NotRequired
    );
    let new_phone = App::scan(&h.begin().await);
    h.engine
        .confirm(&h.account, &new_phone.code_at(h.now()))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_administrative_reset_needs_an_operator_and_a_reason() {
    let h = Harness::new();
    h.enrolled().await;
    assert!(matches!(
        Operator::new("  "),
        Err(IdentifierError::Empty { field: "operator" })
    ));
    let operator = Operator::new("support-desk-07").unwrap();
    let err = h
        .engine
        .desk_reset(&h.account, &operator, " ")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        EngineError::InvalidIdentifier(IdentifierError::Empty {
            field: "reset reason"
        })
    ));
    assert_eq!(
        h.engine.status(&h.account).await.unwrap().portal_label(),
        "利用中"
    );
}

#[tokio::test]
async fn an_account_that_never_applied_logs_in_without_otp() {
    let h = Harness::new();
    assert_eq!(
        h.engine.verify_login(&h.account, "garbage").await.unwrap(),
        Login::NotRequired
    );
}

/// A code that differs from every code of the window around `now`.
fn wrong_code(app: &App, now: i64) -> String {
    common::wrong_codes(app, now, 1).remove(0)
}

/// Compile-time rule: every engine call is a `Send` future over a shared engine, so it can
/// run inside axum handlers and `tokio::spawn`.
#[test]
fn every_engine_call_is_a_send_future_usable_from_axum_and_tokio() {
    fn send<T: Send>(_: &T) {}
    fn engine_is_shareable<T: Send + Sync>() {}
    engine_is_shareable::<totp_enroll::Engine<totp_enroll::MemoryStore>>();
    let h = Harness::new();
    let operator = Operator::new("desk").unwrap();
    let step_up = h.step_up();
    send(&h.engine.status(&h.account));
    send(&h.engine.begin(
        &h.account,
        &totp_enroll::AccountLabel::new("taro").unwrap(),
        &step_up,
    ));
    send(&h.engine.confirm(&h.account, "123456"));
    send(&h.engine.verify_login(&h.account, "123456"));
    send(&h.engine.redisplay(&h.account, "123456"));
    send(&h.engine.stop(&h.account, "123456"));
    send(&h.engine.desk_reset(&h.account, &operator, "reason"));
}

/// A step-up says what the portal re-verified, and every kind starts an enrollment: the
/// engine's rule is freshness and account, the kind is the portal's statement.
#[tokio::test]
async fn a_step_up_says_what_was_re_verified_and_any_fresh_one_starts_an_enrollment() {
    use totp_enroll::StepUpFactor;
    let h = Harness::new();
    let now = h.engine.now().unwrap();
    assert_eq!(now, h.now() as u64, "the engine's time is its clock's");
    let proofs = [
        (
            StepUp::password_verified(&h.account, now),
            StepUpFactor::Password,
        ),
        (
            StepUp::transaction_password_verified(&h.account, now),
            StepUpFactor::TransactionPassword,
        ),
        (
            StepUp::other_factor_verified(&h.account, now),
            StepUpFactor::OtherFactor,
        ),
    ];
    for (proof, factor) in &proofs {
        assert_eq!(proof.factor(), *factor);
        h.engine
            .begin(
                &h.account,
                &totp_enroll::AccountLabel::new("taro").unwrap(),
                proof,
            )
            .await
            .unwrap();
    }
    let stale = StepUp::password_verified(&h.account, now - 301);
    assert!(matches!(
        h.engine
            .begin(
                &h.account,
                &totp_enroll::AccountLabel::new("taro").unwrap(),
                &stale
            )
            .await,
        Err(EngineError::StepUp(StepUpError::Expired { .. }))
    ));
}
