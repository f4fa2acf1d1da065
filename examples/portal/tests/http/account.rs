//! 登録情報照会.

use super::*;

#[tokio::test]
async fn registration_info_shows_not_registered_with_apply() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    assert_eq!(b.get("/account").await.location(), "/login");
    b.login(TARO).await;
    let page = b.get("/account").await;
    assert!(page.body.contains("<h1>登録情報照会</h1>"));
    assert!(page.body.contains("口座情報"));
    assert!(page.body.contains("ワンタイムパスワードサービス"));
    assert_eq!(page.text_of("otp-status").as_deref(), Some("未登録"));
    assert_eq!(page.text_of("apply-button").as_deref(), Some("申込"));
    assert!(page.text_of("redisplay-button").is_none());
}

#[tokio::test]
async fn a_pending_application_shows_as_not_registered_with_its_expiry() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    b.apply(TARO).await;
    let page = b.get("/account").await;
    assert_eq!(page.text_of("otp-status").as_deref(), Some("未登録"));
    assert_eq!(page.text_of("apply-button").as_deref(), Some("申込"));
    // T0 + 10 min = 2025-11-25 01:10 JST
    assert!(
        page.text_of("pending-note")
            .unwrap()
            .contains("2025年11月25日 01:10:00（日本時間）")
    );
}
