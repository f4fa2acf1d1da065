//! Fail closed: a storage fault is an error or a refusal, never an acceptance without a
//! durable step, and never a lost or half-written record.
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

use common::Harness;
use totp_enroll::testing::Fault;
use totp_enroll::{
    Login, error::EngineError, error::Refusal, error::StoreError, lifecycle::Enrollment,
};

fn is_storage_error(result: &Result<Login, EngineError>) -> bool {
    matches!(result, Err(EngineError::Store(StoreError::Backend(_))))
}

#[tokio::test]
async fn a_failing_load_is_an_error_never_an_acceptance() {
    let h = Harness::new();
    let app = h.enrolled().await;
    h.store.set_fault(Fault::Load);
    let result = h
        .engine
        .verify_login(&h.account, &app.code_at(h.now()))
        .await;
    assert!(is_storage_error(&result), "{result:?}");
    // Not even "OTP not required": a load failure must not look like 未登録.
    assert!(h.engine.status(&h.account).await.is_err());
}

#[tokio::test]
async fn a_failing_write_after_a_match_is_an_error_and_the_code_stays_usable() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let before = h.record().await;
    let code = app.code_at(h.now());

    h.store.set_fault(Fault::WriteAcceptance);
    let result = h.engine.verify_login(&h.account, &code).await;
    assert!(is_storage_error(&result), "{result:?}");
    assert_eq!(h.record().await, before, "nothing was written");

    // Once storage recovers, the same code is accepted (it was never consumed).
    h.store.set_fault(Fault::None);
    let login = h.engine.verify_login(&h.account, &code).await.unwrap();
    assert!(matches!(login, Login::Verified(_)));
}

#[tokio::test]
async fn a_failing_failure_count_write_is_an_error_and_counts_nothing() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let before = h.record().await;
    h.store.set_fault(Fault::WriteFailureCount);
    let wrong = common::wrong_codes(&app, h.now(), 1).remove(0);
    let result = h.engine.verify_login(&h.account, &wrong).await;
    assert!(is_storage_error(&result), "{result:?}");
    assert_eq!(h.record().await, before, "the failure was not counted");
}

#[tokio::test]
async fn a_lost_acknowledgement_is_an_error_and_the_step_is_consumed() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let code = app.code_at(h.now());
    h.store.set_fault(Fault::LostAcknowledgement);
    let result = h.engine.verify_login(&h.account, &code).await;
    assert!(is_storage_error(&result), "{result:?}");
    h.store.set_fault(Fault::None);
    // The write did land: the code is used up, so it can never be accepted twice.
    let err = h.engine.verify_login(&h.account, &code).await.unwrap_err();
    assert!(matches!(err, EngineError::Refused(Refusal::Replayed)));
}

#[tokio::test]
async fn every_operation_fails_closed_under_every_fault() {
    for fault in [
        Fault::Load,
        Fault::Write,
        Fault::WriteAcceptance,
        Fault::LostAcknowledgement,
    ] {
        let h = Harness::new();
        let app = h.enrolled().await;
        let before = h.record().await;
        h.store.set_fault(fault);
        let code = app.code_at(h.now());

        let login = h.engine.verify_login(&h.account, &code).await;
        assert!(is_storage_error(&login), "{fault:?}: login {login:?}");
        let redisplay = h.engine.redisplay(&h.account, &code).await;
        assert!(redisplay.is_err(), "{fault:?}: redisplay showed the secret");
        let stop = h.engine.stop(&h.account, &code).await;
        assert!(stop.is_err(), "{fault:?}: stop {stop:?}");
        let confirm = h.engine.confirm(&h.account, &code).await;
        assert!(confirm.is_err(), "{fault:?}: confirm {confirm:?}");

        // Whatever is stored decodes to a whole record: the old one, or (lost
        // acknowledgement) one with the code consumed.
        h.store.set_fault(Fault::None);
        let raw = h.store.inner().raw_record(&h.account).unwrap();
        let after = Enrollment::decode(&raw).unwrap();
        if fault == Fault::LostAcknowledgement {
            assert!(after.last_used_step() > before.last_used_step());
        } else {
            assert_eq!(after, before, "{fault:?}");
        }
    }
}

#[tokio::test]
async fn a_failing_write_during_begin_issues_nothing() {
    let h = Harness::new();
    h.store.set_fault(Fault::Write);
    let result = h
        .engine
        .begin(
            &h.account,
            &totp_enroll::AccountLabel::new("taro").unwrap(),
            &h.step_up(),
        )
        .await;
    assert!(matches!(result, Err(EngineError::Store(_))));
    assert!(h.store.inner().raw_record(&h.account).is_none());
    assert!(
        h.audit.events().is_empty(),
        "no event for a change that did not happen"
    );
}
