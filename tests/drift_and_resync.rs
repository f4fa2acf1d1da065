//! Clock drift (RFC 6238 §6): logins centre the window on the authenticator's recorded
//! offset, bounded by policy, with an absolute replay floor; a resync from two consecutive
//! codes, searched in a wide window, sets the offset.
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

mod common;

use common::{App, Harness, lenient_throttle, policy};
use totp_enroll::{
    AuditKind, Login, Operator, StepUp, error::EngineError, error::Refusal, error::StepUpError,
};

async fn login(h: &Harness, code: &str) -> Result<Login, EngineError> {
    h.engine.verify_login(&h.account, code).await
}

fn verified(result: &Result<Login, EngineError>) -> bool {
    matches!(result, Ok(Login::Verified(_)))
}

/// The app's clock runs `steps` steps ahead (negative: behind) of the server's.
fn code_off(h: &Harness, app: &App, steps: i64) -> String {
    app.code_at(h.now() + steps * 30)
}

#[tokio::test]
async fn logins_follow_an_app_whose_clock_drifts_step_by_step_up_to_the_limit() {
    // Default limit: 2 minutes, 4 steps of 30 s; window ±1.
    let h = Harness::with_policy(policy().with_throttle(lenient_throttle()));
    let app = h.enrolled().await;
    assert_eq!(h.record().await.authenticators()[0].drift(), 0);
    for offset in 1..=5 {
        assert!(
            verified(&login(&h, &code_off(&h, &app, offset)).await),
            "{offset}"
        );
        assert_eq!(
            h.record().await.authenticators()[0].drift(),
            offset.min(4) as i32
        );
        h.next_step();
    }
    // Centred on +4 (the limit), ±1: +6 is outside, +5 still inside.
    assert!(matches!(
        login(&h, &code_off(&h, &app, 6)).await,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));
    assert!(verified(&login(&h, &code_off(&h, &app, 5)).await));
}

#[tokio::test]
async fn a_window_centred_on_a_drift_never_readmits_a_used_step() {
    let h = Harness::with_policy(policy().with_throttle(lenient_throttle()));
    let app = h.enrolled().await;
    // The app is one step ahead: its code is accepted and the drift becomes +1.
    let ahead = code_off(&h, &app, 1);
    assert!(verified(&login(&h, &ahead).await));
    assert_eq!(h.record().await.authenticators()[0].drift(), 1);
    let used = h.record().await.last_used_step().unwrap();
    // The window is now centred one step ahead. Every code of a step at or before the
    // used one (the same code, the current step's, the previous step's) is a replay, not
    // an acceptance (LinOTP #110: a shifted window re-admitted used codes).
    for step in used - 2..=used {
        let result = login(&h, &app.code_at_step(step)).await;
        assert!(
            !verified(&result),
            "step {step} (used {used}) was accepted again: {result:?}"
        );
    }
    // The clock moves on; the app's clock is corrected (drift back to 0): the code of the
    // step just after the used one is accepted, the used one still is not.
    h.next_step();
    assert!(!verified(&login(&h, &ahead).await));
    assert!(verified(&login(&h, &app.code_at_step(used + 1)).await));
}

#[tokio::test]
async fn the_confirmation_code_records_the_first_drift() {
    let h = Harness::new();
    let app = App::scan(&h.begin().await);
    h.engine
        .confirm(&h.account, &code_off(&h, &app, -1))
        .await
        .unwrap();
    assert_eq!(h.record().await.authenticators()[0].drift(), -1);
}

#[tokio::test]
async fn a_drift_limit_of_zero_keeps_every_window_centred_on_now() {
    let h = Harness::with_policy(
        policy()
            .with_drift_limit(0)
            .with_throttle(lenient_throttle()),
    );
    let app = h.enrolled().await;
    assert!(verified(&login(&h, &code_off(&h, &app, 1)).await));
    assert_eq!(h.record().await.authenticators()[0].drift(), 0);
    h.next_step();
    assert!(matches!(
        login(&h, &code_off(&h, &app, 2)).await,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));
}

#[tokio::test]
async fn a_drift_limit_over_five_minutes_is_refused() {
    let result = totp_enroll::Engine::new(
        totp_enroll::MemoryStore::new(),
        totp_enroll::KeyRing::generate(1).unwrap(),
        policy().with_drift_limit(301),
    );
    assert!(matches!(result, Err(EngineError::Policy(_))));
}

#[tokio::test]
async fn two_consecutive_codes_an_hour_ahead_resync_the_app() {
    let h = Harness::new();
    let app = h.enrolled().await;
    // The phone's clock is an hour (120 steps) ahead: its code is refused.
    assert!(matches!(
        login(&h, &code_off(&h, &app, 120)).await,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));
    let (first, second) = (code_off(&h, &app, 119), code_off(&h, &app, 120));
    let resynced = h
        .engine
        .resync(&h.account, &first, &second, &h.step_up())
        .await
        .unwrap();
    assert_eq!(resynced.drift, 120);
    assert_eq!(h.record().await.authenticators()[0].drift(), 120);
    // The failure of the refused login was cleared by the resync.
    assert_eq!(h.record().await.throttle().failures(), 0);
    assert!(h.audit_kinds().contains(&AuditKind::Resynced {
        drift: 120,
        operator: None
    }));
    // Both steps are consumed.
    assert!(!verified(&login(&h, &first).await));
    assert!(!verified(&login(&h, &second).await));
    // The app's next code logs in; the window stays around +120 (beyond the login limit
    // of 4 steps, which bounds what logins track, not what a resync set).
    h.next_step();
    assert!(verified(&login(&h, &code_off(&h, &app, 120)).await));
    assert_eq!(h.record().await.authenticators()[0].drift(), 120);
}

/// The replay floor is absolute: the codes of an app whose clock went back behind the last
/// used step are codes of steps already passed, and no resync may accept them (the desk's
/// diagnosis says so: the phone's clock must be corrected).
#[tokio::test]
async fn an_app_whose_clock_went_back_behind_the_last_used_step_cannot_be_resynced() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let result = h
        .engine
        .resync(
            &h.account,
            &code_off(&h, &app, -121),
            &code_off(&h, &app, -120),
            &h.step_up(),
        )
        .await;
    assert!(matches!(
        result,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));
    let desk = Operator::new("desk-07").unwrap();
    let diagnosis = h
        .engine
        .desk_diagnose(&h.account, &code_off(&h, &app, -120), &desk)
        .await
        .unwrap();
    assert!(matches!(
        diagnosis,
        totp_enroll::engine::Diagnosis::Matches {
            authenticator: 1,
            offset: -120,
            seconds: -3600,
            already_used: true
        }
    ));
}

#[tokio::test]
async fn codes_that_are_not_consecutive_are_refused_and_counted() {
    let h = Harness::new();
    let app = h.enrolled().await;
    // The third failure starts the first backoff, and says so.
    for (n, (a, b)) in [(-30, -28), (-29, -30), (5, 5)].into_iter().enumerate() {
        let result = h
            .engine
            .resync(
                &h.account,
                &code_off(&h, &app, a),
                &code_off(&h, &app, b),
                &h.step_up(),
            )
            .await;
        let expected = if n < 2 {
            matches!(result, Err(EngineError::Refused(Refusal::WrongCode)))
        } else {
            matches!(
                result,
                Err(EngineError::Refused(Refusal::WrongCodeThrottled { .. }))
            )
        };
        assert!(expected, "{a},{b}: {result:?}");
    }
    assert_eq!(h.record().await.throttle().failures(), 3);
    assert_eq!(h.record().await.authenticators()[0].drift(), 0);
}

#[tokio::test]
async fn a_resync_never_readmits_used_steps() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let used = h.record().await.last_used_step().unwrap();
    // The confirmation step and the one before it: the second is used.
    let result = h
        .engine
        .resync(
            &h.account,
            &app.code_at_step(used - 1),
            &app.code_at_step(used),
            &h.step_up(),
        )
        .await;
    assert!(matches!(
        result,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));
}

#[tokio::test]
async fn a_resync_searches_one_day_each_way_and_no_further() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let day = 2880;
    let found = h
        .engine
        .resync(
            &h.account,
            &code_off(&h, &app, day - 1),
            &code_off(&h, &app, day),
            &h.step_up(),
        )
        .await
        .unwrap();
    assert_eq!(found.drift, day as i32);
    let h = Harness::new();
    let app = h.enrolled().await;
    let result = h
        .engine
        .resync(
            &h.account,
            &code_off(&h, &app, day + 5),
            &code_off(&h, &app, day + 6),
            &h.step_up(),
        )
        .await;
    assert!(matches!(
        result,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));
}

#[tokio::test]
async fn a_resync_needs_a_fresh_step_up_for_this_account() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let stale =
        StepUp::transaction_password_verified(&h.account, u64::try_from(h.now() - 3600).unwrap());
    let result = h
        .engine
        .resync(
            &h.account,
            &code_off(&h, &app, 1),
            &code_off(&h, &app, 2),
            &stale,
        )
        .await;
    assert!(matches!(
        result,
        Err(EngineError::StepUp(StepUpError::Expired { .. }))
    ));
    assert_eq!(h.record().await.authenticators()[0].drift(), 0);
}

#[tokio::test]
async fn the_support_desk_resyncs_with_its_operator_audited() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let desk = Operator::new("desk-07").unwrap();
    let resynced = h
        .engine
        .desk_resync(
            &h.account,
            &code_off(&h, &app, 9),
            &code_off(&h, &app, 10),
            &desk,
            "お客さまが電話で読み上げ",
        )
        .await
        .unwrap();
    assert_eq!(resynced.drift, 10);
    assert_eq!(Some(resynced.step), h.record().await.last_used_step());
    assert!(h.audit_kinds().contains(&AuditKind::Resynced {
        drift: 10,
        operator: Some(desk)
    }));
}

#[tokio::test]
async fn malformed_resync_codes_are_refused_and_not_counted() {
    let h = Harness::new();
    let _ = h.enrolled().await;
    let result = h
        .engine
        .resync(&h.account, "12345", "123456", &h.step_up())
        .await;
    assert!(matches!(
        result,
        Err(EngineError::Refused(Refusal::Malformed(_)))
    ));
    assert_eq!(h.record().await.throttle().failures(), 0);
}

/// The review's edge: with a 600 s window a resync set a drift of 21 steps (630 s). The
/// pair lies wholly inside the window, so the drift it sets never exceeds it.
#[tokio::test]
async fn a_resync_never_sets_a_drift_beyond_its_window() {
    let h = Harness::with_policy(
        policy()
            .with_resync_window(600)
            .with_throttle(lenient_throttle()),
    );
    let app = h.enrolled().await;
    let result = h
        .engine
        .resync(
            &h.account,
            &code_off(&h, &app, 20),
            &code_off(&h, &app, 21),
            &h.step_up(),
        )
        .await;
    assert!(
        matches!(result, Err(EngineError::Refused(Refusal::WrongCode))),
        "{result:?}"
    );
    let resynced = h
        .engine
        .resync(
            &h.account,
            &code_off(&h, &app, 19),
            &code_off(&h, &app, 20),
            &h.step_up(),
        )
        .await
        .unwrap();
    assert_eq!(resynced.drift, 20, "600 s is the most a 600 s window sets");
}

/// Two old codes that were phished or overheard and never used must not move the window
/// back to where the rest of the haul becomes valid: backward, a resync reaches at most
/// `EnginePolicy::DEFAULT_RESYNC_BACKWARD_LIMIT` (10 minutes), for the customer and the
/// desk alike; forward it searches the whole window.
#[tokio::test]
async fn a_resync_moves_the_window_back_at_most_the_backward_limit() {
    let h = Harness::with_policy(policy().with_throttle(lenient_throttle()));
    let app = h.enrolled().await;
    h.clock.advance(3600); // the last used step is an hour back
    let desk = Operator::new("desk-07").unwrap();
    // The first code 21 steps (630 s) back: refused and counted, also at the desk.
    let too_old = (code_off(&h, &app, -21), code_off(&h, &app, -20));
    let customer = h
        .engine
        .resync(&h.account, &too_old.0, &too_old.1, &h.step_up())
        .await;
    assert!(
        matches!(customer, Err(EngineError::Refused(Refusal::WrongCode))),
        "{customer:?}"
    );
    let at_desk = h
        .engine
        .desk_resync(&h.account, &too_old.0, &too_old.1, &desk, "読み上げ")
        .await;
    assert!(
        matches!(at_desk, Err(EngineError::Refused(Refusal::WrongCode))),
        "{at_desk:?}"
    );
    assert_eq!(h.record().await.throttle().failures(), 2);
    // 20 steps (600 s) back is within the limit.
    let resynced = h
        .engine
        .resync(
            &h.account,
            &code_off(&h, &app, -20),
            &code_off(&h, &app, -19),
            &h.step_up(),
        )
        .await
        .unwrap();
    assert_eq!(resynced.drift, -19);

    // A policy may allow more, up to the window.
    let h = Harness::with_policy(policy().with_resync_backward_limit(3600));
    let app = h.enrolled().await;
    h.clock.advance(2 * 3600);
    let resynced = h
        .engine
        .resync(
            &h.account,
            &code_off(&h, &app, -120),
            &code_off(&h, &app, -119),
            &h.step_up(),
        )
        .await
        .unwrap();
    assert_eq!(resynced.drift, -119);
    assert_eq!(
        policy().resync_backward_limit(),
        totp_enroll::EnginePolicy::DEFAULT_RESYNC_BACKWARD_LIMIT
    );
    assert!(
        totp_enroll::Engine::new(
            totp_enroll::MemoryStore::new(),
            totp_enroll::KeyRing::generate(1).unwrap(),
            policy()
                .with_resync_window(600)
                .with_resync_backward_limit(601),
        )
        .is_err(),
        "no further back than the window"
    );
}
