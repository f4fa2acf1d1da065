//! 利用停止.

use super::*;

#[tokio::test]
async fn stopping_the_service_returns_to_not_registered() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let app = b.enroll(TARO, &clock).await;
    clock.advance(30);

    let confirm = b.get("/stop").await;
    assert!(confirm.body.contains("<h1>サービス利用停止 -確認-</h1>"));
    assert!(
        confirm
            .body
            .contains("<label for=\"otp\">ワンタイムパスワード</label>")
    );
    assert_eq!(
        confirm.text_of("stop-submit-button").as_deref(),
        Some("利用停止")
    );

    let refused = b
        .post("/stop", &[("code", &wrong(&app.code(&clock)))])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        b.get("/account").await.text_of("otp-status").as_deref(),
        Some("利用中")
    );

    let ok = b.post("/stop", &[("code", &app.code(&clock))]).await;
    assert_eq!(ok.location(), "/stop/done");
    let done = b.get("/stop/done").await;
    assert!(done.body.contains("<h1>サービス利用停止 -受付-</h1>"));
    assert!(done.body.contains(
        "ワンタイムパスワードサービス利用停止 完了。必ず登録情報照会で確認してください。"
    ));
    assert_eq!(
        done.text_of("to-account-button").as_deref(),
        Some("登録情報照会へ")
    );
    let account = b.get("/account").await;
    assert_eq!(account.text_of("otp-status").as_deref(), Some("未登録"));
    assert_eq!(account.text_of("apply-button").as_deref(), Some("申込"));
    assert_eq!(b.get("/stop").await.location(), "/account");

    // Logging in needs no code any more.
    b.post("/logout", &[]).await;
    b.login(TARO).await;
}
