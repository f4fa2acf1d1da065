//! One-time material (a setup key, recovery codes) is consumed only by the POST that
//! completes its step: a GET (a reload, a browser's prefetch) or a HEAD shows it (or
//! skips it) without losing it, 登録情報照会 leaves it where it is and links back to it,
//! and logout drops it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::http::StatusCode;
use support::{App, Browser, HANAKO, TARO, own_devices, portal, portal_with};

/// A GET, a prefetch (the same GET again), a HEAD, a visit of 登録情報照会 (which links
/// back to `path`), and the GET again: each shows the same `shown`.
async fn survives_prefetch_and_head<T: PartialEq + std::fmt::Debug>(
    b: &mut Browser,
    path: &str,
    shown: impl Fn(&support::Page) -> T,
) -> T {
    let first = b.get(path).await;
    assert_eq!(first.status, StatusCode::OK, "{path}");
    let expected = shown(&first);
    let prefetched = b.get(path).await;
    assert_eq!(shown(&prefetched), expected, "{path}: a second GET");
    let head = b.head(path).await;
    assert_eq!(head.status, StatusCode::OK, "{path}: HEAD");
    assert!(head.body.is_empty());
    let account = b.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert_eq!(
        account.attr_of("unfinished-link", "href").as_deref(),
        Some(path),
        "登録情報照会 leads back to {path}"
    );
    let again = b.get(path).await;
    assert_eq!(
        shown(&again),
        expected,
        "{path}: after HEAD and 登録情報照会"
    );
    expected
}

#[tokio::test]
async fn the_first_recovery_codes_stay_until_the_completing_post() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    b.enroll(TARO, &clock).await;
    let codes = survives_prefetch_and_head(&mut b, "/apply/done", |p| p.recovery_codes()).await;
    assert_eq!(codes.len(), 10);
    let done = b.post("/apply/done", &[]).await;
    assert_eq!(done.location(), "/account");
    let after = b.get("/apply/done").await;
    assert!(after.recovery_codes().is_empty());
    assert!(after.text_of("recovery-codes-gone").is_some());
    assert!(b.get("/account").await.text_of("unfinished-note").is_none());
}

#[tokio::test]
async fn reissued_recovery_codes_stay_until_the_completing_post() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let app = b.enroll(TARO, &clock).await;
    b.post("/apply/done", &[]).await;
    clock.advance(30);
    b.get("/recovery-codes").await;
    let issued = b
        .post(
            "/recovery-codes",
            &[("code", &app.code(&clock)), ("trade_password", TARO.2)],
        )
        .await;
    assert_eq!(issued.location(), "/recovery-codes/show");
    let codes =
        survives_prefetch_and_head(&mut b, "/recovery-codes/show", |p| p.recovery_codes()).await;
    assert_eq!(codes.len(), 10);
    let done = b.post("/recovery-codes/show", &[]).await;
    assert_eq!(done.location(), "/account");
    assert_eq!(b.get("/recovery-codes/show").await.location(), "/account");
}

#[tokio::test]
async fn the_redisplayed_key_stays_until_the_completing_post() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let app = b.enroll(TARO, &clock).await;
    b.post("/apply/done", &[]).await;
    clock.advance(30);
    b.get("/redisplay").await;
    let shown = b.post("/redisplay", &[("code", &app.code(&clock))]).await;
    assert_eq!(shown.location(), "/redisplay/show");
    let key = survives_prefetch_and_head(&mut b, "/redisplay/show", |p| p.copy_key()).await;
    assert!(!key.is_empty());
    let done = b.post("/redisplay/show", &[]).await;
    assert_eq!(done.location(), "/account");
    assert_eq!(b.get("/redisplay/show").await.location(), "/account");
}

#[tokio::test]
async fn the_registration_key_stays_until_the_confirmation() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(HANAKO).await;
    b.apply(HANAKO).await;
    let key = survives_prefetch_and_head(&mut b, "/apply/register", |p| p.copy_key()).await;
    let app = App::scan(&b.get("/apply/register").await);
    b.get("/apply/confirm").await;
    let confirmed = b
        .post("/apply/confirm", &[("code", &app.code(&clock))])
        .await;
    assert_eq!(confirmed.location(), "/apply/done");
    let after = b.get("/apply/register").await;
    assert_eq!(after.location(), "/account");
    assert!(!after.body.contains(&key));
}

#[tokio::test]
async fn a_new_apps_key_stays_until_its_confirmation() {
    let (portal, clock) = portal_with(own_devices(false)).await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let phone = b.enroll(TARO, &clock).await;
    b.post("/apply/done", &[]).await;
    clock.advance(30);
    b.add_device("iPad", &phone.code(&clock), None).await;
    survives_prefetch_and_head(&mut b, "/devices/register", |p| p.copy_key()).await;
    let tablet = App::scan(&b.get("/devices/register").await);
    b.get("/devices/confirm").await;
    let confirmed = b
        .post(
            "/devices/confirm",
            &[("id", "2"), ("code", &tablet.code(&clock))],
        )
        .await;
    assert_eq!(confirmed.location(), "/account");
    assert_eq!(b.get("/devices/register").await.location(), "/account");
}

#[tokio::test]
async fn logout_drops_the_one_time_material() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let app = b.enroll(TARO, &clock).await;
    assert_eq!(b.get("/apply/done").await.recovery_codes().len(), 10);
    b.post("/logout", &[]).await;
    clock.advance(30);
    let login = b.otp_login(TARO, &app.code(&clock)).await;
    assert_eq!(login.location(), "/account");
    assert!(b.get("/apply/done").await.recovery_codes().is_empty());
    assert!(b.get("/account").await.text_of("unfinished-note").is_none());
}
