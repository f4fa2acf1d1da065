//! コード再表示.

use super::*;

#[tokio::test]
async fn redisplay_needs_a_current_code_and_shows_the_same_key() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let register = b.apply(TARO).await;
    let key = register.copy_key();
    let app = App::scan(&register);
    b.post("/apply/confirm", &[("code", &app.code(&clock))])
        .await;
    clock.advance(30);

    let auth = b.get("/redisplay").await;
    assert!(auth.body.contains("<h1>ワンタイムパスワード認証</h1>"));
    assert!(
        auth.body
            .contains("<label for=\"otp\">ワンタイムパスワード</label>")
    );
    assert_eq!(auth.text_of("back-button").as_deref(), Some("戻る"));
    assert_eq!(
        auth.text_of("redisplay-auth-button").as_deref(),
        Some("認証")
    );
    assert_eq!(
        b.get("/redisplay/show").await.location(),
        "/account",
        "not without a code"
    );

    let refused = b
        .post("/redisplay", &[("code", &wrong(&app.code(&clock)))])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(!refused.body.contains("id=\"setup-key\""));

    let ok = b.post("/redisplay", &[("code", &app.code(&clock))]).await;
    assert_eq!(ok.location(), "/redisplay/show");
    let show = b.get("/redisplay/show").await;
    assert!(show.body.contains("<h1>登録コード再表示</h1>"));
    assert!(
        show.body
            .contains("role=\"img\" aria-label=\"登録用二次元バーコード")
    );
    assert!(show.body.contains("<code id=\"setup-key\" hidden>"));
    assert_eq!(show.copy_key(), key, "the same secret as at enrollment");
    assert_eq!(
        show.text_of("to-account-button").as_deref(),
        Some("登録情報照会へ")
    );
    // 「登録情報照会へ」 ends it (a visit of 登録情報照会 alone does not).
    b.get("/account").await;
    assert_eq!(b.get("/redisplay/show").await.copy_key(), key);
    let left = b.post("/redisplay/show", &[]).await;
    assert_eq!(left.location(), "/account");
    assert_eq!(b.get("/redisplay/show").await.location(), "/account");
    let mails = mailbox(&portal, &clock).await;
    assert!(mails.body.contains("登録コード再表示のお知らせ"));
}
