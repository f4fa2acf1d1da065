#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]
//! Erasure and repair: `desk_forget` erases a row for a data-protection request and leaves a
//! tombstone that keeps stale writers out; the support desk's reset repairs any row (one
//! that does not decode, one at the version limit); a lapsed application's secret is erased
//! on any access, and a sweep erases the ones nobody touches.

mod common;

use common::{App, Harness};
use totp_enroll::{
    AccountId, AuditKind, Login, Operator, Status, StepUp, Store, error::EngineError,
    error::StoreError, lifecycle::Enrollment, lifecycle::RecordStatus,
};

/// The default pending lifetime, for the manual clock.
const TTL: i64 = totp_enroll::EnginePolicy::DEFAULT_PENDING_TTL as i64;

fn operator() -> Operator {
    Operator::new("desk-07").unwrap()
}

#[tokio::test]
async fn forget_erases_the_row_and_keeps_only_a_tombstone() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let version = h.store.inner().version(&h.account).await.unwrap().unwrap();

    h.engine
        .desk_forget(&h.account, &operator(), "APPI deletion request #81")
        .await
        .unwrap();

    assert_eq!(
        h.store.inner().raw_record(&h.account).unwrap(),
        b"",
        "no record bytes"
    );
    assert_eq!(h.store.inner().load(&h.account).await.unwrap(), None);
    assert_eq!(
        h.store.inner().version(&h.account).await.unwrap(),
        Some(version + 1)
    );
    assert!(h.store.inner().list(None, 10).await.unwrap().is_empty());
    assert_eq!(
        h.engine.status(&h.account).await.unwrap(),
        Status::NotRegistered
    );
    assert_eq!(
        h.engine
            .verify_login(&h.account, &app.code_at(h.now()))
            .await
            .unwrap(),
        Login::NotRequired
    );
    assert_eq!(
        h.audit_kinds().last(),
        Some(&AuditKind::Forgotten {
            operator: operator(),
            reason: "APPI deletion request #81".to_owned()
        })
    );
}

/// The tombstone's version keeps counting: a writer holding a version from before the
/// erasure fails, also once the customer has enrolled again.
#[tokio::test]
async fn a_stale_writer_never_succeeds_after_erasure_and_re_enrollment() {
    let h = Harness::new();
    h.enrolled().await;
    let stale = h.store.inner().load(&h.account).await.unwrap().unwrap();
    h.engine
        .desk_forget(&h.account, &operator(), "request")
        .await
        .unwrap();

    let again = h.enrolled().await;
    assert!(matches!(
        h.engine
            .verify_login(&h.account, &again.code_at(h.now()))
            .await
            .unwrap(),
        Login::Verified(_)
    ));
    let current = h.store.inner().version(&h.account).await.unwrap().unwrap();
    assert!(current > stale.version + 1);
    for expected in [Some(stale.version), Some(stale.version + 1), None] {
        let write = h
            .store
            .inner()
            .replace_if(&h.account, expected, &stale.record, &[])
            .await;
        assert!(
            matches!(write, Err(StoreError::Conflict)),
            "{expected:?}: {write:?}"
        );
    }
}

#[tokio::test]
async fn forgetting_an_account_without_a_row_is_audited_and_changes_nothing() {
    let h = Harness::new();
    let stranger = AccountId::new("never-enrolled").unwrap();
    h.engine
        .desk_forget(&stranger, &operator(), "request")
        .await
        .unwrap();
    assert_eq!(h.store.inner().version(&stranger).await.unwrap(), None);
    assert!(matches!(h.audit_kinds()[..], [AuditKind::Forgotten { .. }]));
}

#[tokio::test]
async fn the_support_desk_repairs_a_row_that_does_not_decode() {
    let h = Harness::new();
    h.enrolled().await;
    h.store.inner().put_raw(&h.account, 9, b"\x00garbage");
    assert!(matches!(
        h.engine.status(&h.account).await.unwrap_err(),
        EngineError::Store(StoreError::Corrupt(_))
    ));

    h.engine
        .desk_reset(&h.account, &operator(), "row repair after incident #12")
        .await
        .unwrap();
    assert_eq!(
        h.engine.status(&h.account).await.unwrap(),
        Status::NotRegistered
    );
    assert_eq!(h.store.inner().version(&h.account).await.unwrap(), Some(10));
    let app = h.enrolled().await; // and the customer can enroll again
    assert!(matches!(
        h.engine
            .verify_login(&h.account, &app.code_at(h.now()))
            .await
            .unwrap(),
        Login::Verified(_)
    ));
}

/// No write can advance a row at the largest version; the reset re-instates it at 1.
#[tokio::test]
async fn the_support_desk_repairs_a_row_at_the_version_limit() {
    let h = Harness::new();
    h.enrolled().await;
    let bytes = h.store.inner().raw_record(&h.account).unwrap();
    h.store.inner().put_raw(&h.account, u64::MAX, &bytes);

    h.engine
        .desk_reset(&h.account, &operator(), "version overflow")
        .await
        .unwrap();
    assert_eq!(h.store.inner().version(&h.account).await.unwrap(), Some(1));
    assert_eq!(
        h.engine.status(&h.account).await.unwrap(),
        Status::NotRegistered
    );
    h.enrolled().await;

    // forget repairs it too.
    let bytes = h.store.inner().raw_record(&h.account).unwrap();
    h.store.inner().put_raw(&h.account, u64::MAX, &bytes);
    h.engine
        .desk_forget(&h.account, &operator(), "request")
        .await
        .unwrap();
    assert_eq!(h.store.inner().load(&h.account).await.unwrap(), None);
    assert_eq!(h.store.inner().version(&h.account).await.unwrap(), Some(2));
}

// ---- lapsed applications -------------------------------------------------------------------

/// Holds a secret until something erases it.
async fn holds_a_secret(h: &Harness, account: &AccountId) -> bool {
    let record: Option<Enrollment> = h
        .store
        .inner()
        .load(account)
        .await
        .unwrap()
        .map(|v| v.record);
    record.is_some_and(|r| !matches!(r.status(), RecordStatus::NotRegistered))
}

async fn lapsed(h: &Harness) -> App {
    let app = App::scan(&h.begin().await);
    h.clock.advance(TTL + 1);
    assert!(holds_a_secret(h, &h.account).await);
    app
}

fn expired_events(h: &Harness) -> usize {
    h.audit_kinds()
        .iter()
        .filter(|k| **k == AuditKind::EnrollmentExpired)
        .count()
}

/// One of the calls that meet a lapsed application, with what it answers.
async fn access(h: &Harness, app: &App, call: &str) {
    let code = app.code_at(h.now());
    match call {
        "status" => assert_eq!(
            h.engine.status(&h.account).await.unwrap(),
            Status::NotRegistered
        ),
        "login" => assert_eq!(
            h.engine.verify_login(&h.account, &code).await.unwrap(),
            Login::NotRequired
        ),
        "redisplay" => assert!(matches!(
            h.engine.redisplay(&h.account, &code).await.unwrap_err(),
            EngineError::NotActive
        )),
        "stop" => assert!(matches!(
            h.engine.stop(&h.account, &code).await.unwrap_err(),
            EngineError::NotActive
        )),
        "confirm" => assert!(matches!(
            h.engine.confirm(&h.account, &code).await.unwrap_err(),
            EngineError::NoPendingEnrollment
        )),
        other => panic!("no call {other}"),
    }
}

#[tokio::test]
async fn a_lapsed_applications_secret_is_erased_on_any_access() {
    for call in ["status", "login", "redisplay", "stop", "confirm"] {
        let h = Harness::new();
        let app = lapsed(&h).await;
        access(&h, &app, call).await;
        assert!(
            !holds_a_secret(&h, &h.account).await,
            "{call} left the secret"
        );
        assert_eq!(expired_events(&h), 1, "{call}: audited once");
    }
}

/// `begin` over a lapsed application replaces its secret; the lapse is audited first.
#[tokio::test]
async fn beginning_again_after_a_lapse_audits_the_lapse_then_the_new_application() {
    let h = Harness::new();
    lapsed(&h).await;
    h.begin().await;
    let kinds = h.audit_kinds();
    assert!(
        matches!(
            kinds[..],
            [
                AuditKind::EnrollmentStarted { .. },
                AuditKind::EnrollmentExpired,
                AuditKind::EnrollmentStarted {
                    replaced_pending: false,
                    ..
                }
            ]
        ),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn the_sweep_erases_the_lapsed_applications_nobody_touches() {
    let h = Harness::new();
    let now = u64::try_from(h.now()).unwrap();
    let mut lapsing = Vec::new();
    for n in 0..5 {
        let account = AccountId::new(format!("lapsing-{n}")).unwrap();
        let step_up = StepUp::transaction_password_verified(&account, now);
        h.engine
            .begin(
                &account,
                &totp_enroll::AccountLabel::new("x").unwrap(),
                &step_up,
            )
            .await
            .unwrap();
        lapsing.push(account);
    }
    h.enrolled().await; // an active customer
    h.clock.advance(TTL + 1);
    let fresh = AccountId::new("fresh").unwrap();
    let step_up = StepUp::transaction_password_verified(&fresh, u64::try_from(h.now()).unwrap());
    h.engine
        .begin(
            &fresh,
            &totp_enroll::AccountLabel::new("x").unwrap(),
            &step_up,
        )
        .await
        .unwrap();

    let report = h.engine.sweep_expired().await.unwrap();
    assert_eq!((report.erased, report.rows), (5, 7));
    for account in &lapsing {
        assert!(!holds_a_secret(&h, account).await);
    }
    assert!(
        holds_a_secret(&h, &fresh).await,
        "a running application stays"
    );
    assert!(
        holds_a_secret(&h, &h.account).await,
        "an active enrollment stays"
    );
    assert_eq!(h.engine.sweep_expired().await.unwrap().erased, 0);
}

/// A lapsed application that the customer restarts between the sweep's listing and its
/// erasure is the customer's (a fresh application): the sweep's write conflicts, and the
/// report does not count a row it did not erase.
#[tokio::test]
async fn the_sweep_counts_only_the_rows_it_erased() {
    use std::sync::Arc;
    let store = Arc::new(common::paused::PausedListing::new(
        totp_enroll::MemoryStore::new(),
    ));
    let clock = Arc::new(totp_enroll::ManualClock::new(common::T0));
    let engine = Arc::new(
        totp_enroll::Engine::new(
            store.clone(),
            totp_enroll::KeyRing::new(1, [7; 32]),
            common::policy(),
        )
        .unwrap()
        .with_clock(clock.clone()),
    );
    let now = u64::try_from(common::T0).unwrap();
    let account = AccountId::new("restarted").unwrap();
    let step_up = StepUp::transaction_password_verified(&account, now);
    engine
        .begin(
            &account,
            &totp_enroll::AccountLabel::new("x").unwrap(),
            &step_up,
        )
        .await
        .unwrap();
    clock.advance(TTL + 1);

    store.arm();
    let sweeping = tokio::spawn({
        let engine = Arc::clone(&engine);
        async move { engine.sweep_expired().await }
    });
    store.paused().await;
    let later = u64::try_from(common::T0 + TTL + 1).unwrap();
    let step_up = StepUp::transaction_password_verified(&account, later);
    let restarted = engine
        .begin(
            &account,
            &totp_enroll::AccountLabel::new("x").unwrap(),
            &step_up,
        )
        .await
        .unwrap();
    store.resume();
    let report = sweeping.await.unwrap().unwrap();
    assert_eq!((report.erased, report.rows), (0, 1), "{report:?}");

    // The restarted application is intact and confirms.
    let app = App::scan(&restarted);
    engine
        .confirm(&account, &app.code_at(common::T0 + TTL + 1))
        .await
        .unwrap();
    assert_eq!(
        engine.status(&account).await.unwrap().portal_label(),
        "利用中"
    );
}
