//! Removing a second factor ends the customer's other sessions: a second browser logged
//! in as the same customer is sent to the login after the desk's reset, erasure or removal
//! of one app, and after the customer's own 利用停止, lost-phone 利用停止, アプリの削除 and
//! new recovery codes (which void the old set); the browser that did it continues, and
//! another customer's session is untouched.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::http::StatusCode;
use support::{App, Browser, DESK_01, HANAKO, TARO, own_devices, portal, portal_with};
use totp_enroll::ManualClock;
use totp_enroll_portal::app::Portal;

/// TARO enrolled in one browser (its recovery codes noted), logged in with the app's code
/// in a second; HANAKO logged in in a third.
struct Three {
    first: Browser,
    second: Browser,
    other: Browser,
    app: App,
    codes: Vec<String>,
}

async fn three_browsers(portal: &Portal, clock: &ManualClock) -> Three {
    let mut first = Browser::new(portal);
    first.login(TARO).await;
    let (app, codes) = first.enroll_with_codes(TARO, clock).await;
    first.post("/apply/done", &[]).await;
    clock.advance(30);
    let mut second = Browser::new(portal);
    let login = second.otp_login(TARO, &app.code(clock)).await;
    assert_eq!(login.location(), "/account");
    let mut other = Browser::new(portal);
    other.login(HANAKO).await;
    clock.advance(30);
    Three {
        first,
        second,
        other,
        app,
        codes,
    }
}

/// Both TARO browsers are logged out; HANAKO's session works.
async fn all_of_taros_sessions_ended(three: &mut Three) {
    for b in [&mut three.first, &mut three.second] {
        assert_eq!(b.get("/account").await.location(), "/login");
    }
    assert_eq!(three.other.get("/account").await.status, StatusCode::OK);
}

/// The acting browser continues; the second is logged out; HANAKO's session works.
async fn the_other_session_ended(three: &mut Three) {
    assert_eq!(three.first.get("/account").await.status, StatusCode::OK);
    assert_eq!(three.second.get("/account").await.location(), "/login");
    assert_eq!(three.other.get("/account").await.status, StatusCode::OK);
}

/// A desk operator's browser on TARO's page.
async fn desk_on_taro(portal: &Portal, clock: &ManualClock) -> Browser {
    let mut desk = Browser::new(portal);
    desk.desk_login(DESK_01, clock).await;
    desk.get(&format!("/desk?login_id={}", TARO.0)).await;
    desk
}

#[tokio::test]
async fn the_desks_reset_ends_every_session_of_the_customer() {
    let (portal, clock) = portal().await;
    let mut three = three_browsers(&portal, &clock).await;
    let mut desk = desk_on_taro(&portal, &clock).await;
    let reset = desk
        .post(
            "/desk/reset",
            &[("login_id", TARO.0), ("reason", "端末紛失")],
        )
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    all_of_taros_sessions_ended(&mut three).await;
}

#[tokio::test]
async fn the_desks_erasure_ends_every_session_of_the_customer() {
    let (portal, clock) = portal().await;
    let mut three = three_browsers(&portal, &clock).await;
    let mut desk = desk_on_taro(&portal, &clock).await;
    let forgotten = desk
        .post(
            "/desk/forget",
            &[("login_id", TARO.0), ("reason", "削除依頼")],
        )
        .await;
    assert_eq!(forgotten.status, StatusCode::SEE_OTHER);
    all_of_taros_sessions_ended(&mut three).await;
}

#[tokio::test]
async fn the_desks_removal_of_one_app_ends_every_session_of_the_customer() {
    let (portal, clock) = portal_with(own_devices(false)).await;
    let mut three = three_browsers(&portal, &clock).await;
    three
        .first
        .add_and_confirm_device("iPad", &three.app, &clock, None)
        .await;
    let mut desk = desk_on_taro(&portal, &clock).await;
    let removed = desk
        .post(
            "/desk/remove-authenticator",
            &[
                ("login_id", TARO.0),
                ("authenticator", "2"),
                ("reason", "タブレット紛失"),
            ],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    all_of_taros_sessions_ended(&mut three).await;
}

#[tokio::test]
async fn stopping_the_service_ends_the_customers_other_sessions() {
    let (portal, clock) = portal().await;
    let mut three = three_browsers(&portal, &clock).await;
    three.first.get("/stop").await;
    let stopped = three
        .first
        .post("/stop", &[("code", &three.app.code(&clock))])
        .await;
    assert_eq!(stopped.location(), "/stop/done");
    assert_eq!(three.first.get("/stop/done").await.status, StatusCode::OK);
    the_other_session_ended(&mut three).await;
}

#[tokio::test]
async fn the_lost_phone_stop_ends_the_customers_other_sessions() {
    let (portal, clock) = portal().await;
    let mut three = three_browsers(&portal, &clock).await;
    // The first browser logs in again with a recovery code (the phone is lost) …
    three.first.post("/logout", &[]).await;
    let recovered = three.first.recovery_login(TARO, &three.codes[0]).await;
    assert_eq!(recovered.location(), "/account");
    three.first.get("/stop/lost").await;
    // … and stops the service with another.
    let stopped = three
        .first
        .post(
            "/stop/lost",
            &[
                ("recovery_code", &three.codes[1]),
                ("trade_password", TARO.2),
            ],
        )
        .await;
    assert_eq!(stopped.location(), "/stop/done");
    the_other_session_ended(&mut three).await;
}

#[tokio::test]
async fn removing_an_app_ends_the_customers_other_sessions() {
    let (portal, clock) = portal_with(own_devices(true)).await;
    let mut three = three_browsers(&portal, &clock).await;
    three
        .first
        .add_and_confirm_device("iPad", &three.app, &clock, Some(TARO.2))
        .await;
    // The second browser is still in (adding is no removal).
    assert_eq!(three.second.get("/account").await.status, StatusCode::OK);
    clock.advance(30);
    three.first.get("/devices/remove?id=2").await;
    let removed = three
        .first
        .post(
            "/devices/remove",
            &[
                ("id", "2"),
                ("code", &three.app.code(&clock)),
                ("trade_password", TARO.2),
            ],
        )
        .await;
    assert_eq!(removed.location(), "/account", "{}", removed.body);
    the_other_session_ended(&mut three).await;
}

#[tokio::test]
async fn new_recovery_codes_end_the_customers_other_sessions() {
    let (portal, clock) = portal().await;
    let mut three = three_browsers(&portal, &clock).await;
    three.first.get("/recovery-codes").await;
    let issued = three
        .first
        .post(
            "/recovery-codes",
            &[
                ("code", &three.app.code(&clock)),
                ("trade_password", TARO.2),
            ],
        )
        .await;
    assert_eq!(issued.location(), "/recovery-codes/show");
    assert_eq!(
        three
            .first
            .get("/recovery-codes/show")
            .await
            .recovery_codes()
            .len(),
        10
    );
    the_other_session_ended(&mut three).await;
}
