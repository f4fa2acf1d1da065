//! The demo mailbox (every mail the portal would send: each customer's name, address and
//! security events) is served only when enabled, and then only to a logged-in support-desk
//! operator at `/desk/mail`; `/mail` does not exist.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::http::StatusCode;
use support::{Browser, DESK_01, TARO, portal, portal_configured};
use totp_enroll_portal::app::PortalOptions;

#[tokio::test]
async fn the_mailbox_is_off_by_default() {
    // Off unless enabled (`TOTP_PORTAL_DEMO_MAILBOX=1` in `main.rs`).
    assert!(!PortalOptions::production(false).unwrap().demo_mailbox);
    let clock = std::sync::Arc::new(totp_enroll::ManualClock::new(support::T0));
    assert!(!PortalOptions::for_tests(clock).unwrap().demo_mailbox);
    let (portal, clock) = portal_configured(|options| options.demo_mailbox = false).await;
    let mut customer = Browser::new(&portal);
    customer.login(TARO).await;
    customer.enroll(TARO, &clock).await;
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    assert!(desk.get("/desk").await.text_of("desk-mail-link").is_none());
    for b in [&mut Browser::new(&portal), &mut customer, &mut desk] {
        for path in ["/mail", "/desk/mail"] {
            let page = b.get(path).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
            assert!(!page.body.contains("taro@example.jp"));
        }
    }
}

#[tokio::test]
async fn when_enabled_the_mailbox_is_for_logged_in_operators_only() {
    let (portal, clock) = portal().await;
    let mut customer = Browser::new(&portal);
    customer.login(TARO).await;
    customer.enroll(TARO, &clock).await;
    let mut anonymous = Browser::new(&portal);
    let mut half_way = Browser::new(&portal);
    assert_eq!(
        half_way
            .desk_password(("desk-02", "demo-desk-pw2"))
            .await
            .location(),
        "/desk/enroll"
    );
    for (b, status) in [
        (&mut anonymous, StatusCode::UNAUTHORIZED),
        (&mut customer, StatusCode::UNAUTHORIZED),
        (&mut half_way, StatusCode::SEE_OTHER),
    ] {
        let page = b.get("/desk/mail").await;
        assert_eq!(page.status, status);
        assert!(!page.body.contains("taro@example.jp"));
        assert!(!page.body.contains("北洋 太郎"));
        assert_eq!(b.get("/mail").await.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(half_way.get("/desk/mail").await.location(), "/desk/enroll");
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let link = desk.get("/desk").await.attr_of("desk-mail-link", "href");
    assert_eq!(link.as_deref(), Some("/desk/mail"));
    let mails = desk.get("/desk/mail").await;
    assert_eq!(mails.status, StatusCode::OK);
    assert!(mails.body.contains("taro@example.jp"));
    assert!(mails.body.contains("お申込み完了"));
    assert_eq!(desk.get("/mail").await.status, StatusCode::NOT_FOUND);
}
