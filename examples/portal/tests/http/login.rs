//! ログイン: ID and password, then the one-time password.

use super::*;

#[tokio::test]
async fn the_login_page_has_the_manuals_labels() {
    let (portal, _) = portal().await;
    let page = Browser::new(&portal).get("/login").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<h1>ログイン</h1>"));
    assert!(
        page.body
            .contains("<label for=\"login-id\">ログインID</label>")
    );
    assert!(
        page.body
            .contains("<label for=\"login-password\">ログインパスワード</label>")
    );
    assert_eq!(page.text_of("login-button").as_deref(), Some("ログイン"));
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_id_get_the_same_answer() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    b.get("/login").await;
    let wrong_pw = b
        .post("/login", &[("login_id", TARO.0), ("password", "nope")])
        .await;
    let unknown = b
        .post(
            "/login",
            &[("login_id", "9999-999999"), ("password", "nope")],
        )
        .await;
    assert_eq!(wrong_pw.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_pw.error(), unknown.error());
    assert_eq!(
        wrong_pw.error().as_deref(),
        Some("ログインIDまたはログインパスワードが正しくありません。")
    );
    assert!(b.get("/account").await.location() == "/login");
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes() {
    let (portal, _) = portal().await;
    let c = portal.state.db.customer(TARO.0).await.unwrap().unwrap();
    assert_eq!(c.name, "北洋 太郎");
    assert_eq!(c.email, "taro@example.jp");
    for (hash, clear) in [
        (&c.login_password_hash, TARO.1),
        (&c.trade_password_hash, TARO.2),
    ] {
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains(clear));
    }
    for (operator, password) in [("desk-01", "demo-desk-pw"), ("desk-02", "demo-desk-pw2")] {
        let desk = portal.state.db.operator(operator).await.unwrap().unwrap();
        assert!(desk.password_hash.starts_with("$argon2id$"));
        assert!(!desk.password_hash.contains(password));
    }
    let hanako = portal.state.db.customer(HANAKO.0).await.unwrap().unwrap();
    assert_eq!(hanako.name, "北洋 花子");
}

#[tokio::test]
async fn without_the_service_id_and_password_log_in_and_the_session_id_rotates() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    b.get("/login").await;
    assert!(b.cookie("portal_session").is_none(), "no session before");
    b.login(TARO).await;
    let before = b.cookie("portal_session").cloned().unwrap();
    let page = b.get("/account").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.text_of("customer-name").as_deref(),
        Some("北洋 太郎 様")
    );
    assert_eq!(page.text_of("logout-button").as_deref(), Some("ログアウト"));
    // Another login in this browser: a new session id, and the old id is dead.
    b.post("/login", &[("login_id", TARO.0), ("password", TARO.1)])
        .await;
    let after = b.cookie("portal_session").cloned().unwrap();
    assert_ne!(before, after, "a new session id at login");
    assert_eq!(b.get("/account").await.status, StatusCode::OK);
    let mut stale = b.clone();
    stale.set_session(&before);
    assert_eq!(stale.get("/account").await.location(), "/login");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    b.get("/account").await;
    let out = b.post("/logout", &[]).await;
    assert_eq!(out.location(), "/login");
    assert_eq!(b.get("/account").await.location(), "/login");
}

#[tokio::test]
async fn with_the_service_in_use_login_needs_the_code_and_it_cannot_be_skipped() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let app = b.enroll(TARO, &clock).await;
    b.post("/logout", &[]).await;
    clock.advance(30);

    let page = b.password_step(TARO).await;
    assert_eq!(page.location(), "/login/otp");
    let after_password = b.cookie("portal_session").cloned().unwrap();
    // Not logged in yet: every other page sends the visitor back to the login.
    for path in [
        "/account",
        "/apply",
        "/redisplay",
        "/stop",
        "/apply/register",
        "/stop/done",
    ] {
        assert_eq!(b.get(path).await.location(), "/login", "{path}");
    }
    // Another browser cannot use the second page.
    let mut other = Browser::new(&portal);
    assert_eq!(other.get("/login/otp").await.location(), "/login");

    let otp = b.get("/login/otp").await;
    assert_eq!(otp.status, StatusCode::OK);
    assert!(
        otp.body
            .contains("<label for=\"otp\">ワンタイムパスワード</label>")
    );
    assert_eq!(otp.text_of("otp-button").as_deref(), Some("認証"));

    let refused = b
        .post("/login/otp", &[("code", &wrong(&app.code(&clock)))])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused
            .error()
            .unwrap()
            .contains("ワンタイムパスワードが正しくありません")
    );
    assert_eq!(b.get("/account").await.location(), "/login");

    let ok = b.post("/login/otp", &[("code", &app.code(&clock))]).await;
    assert_eq!(ok.location(), "/account");
    assert_ne!(
        b.cookie("portal_session").unwrap(),
        &after_password,
        "rotated after the code"
    );
    assert_eq!(
        b.get("/account").await.text_of("otp-status").as_deref(),
        Some("利用中")
    );
}

#[tokio::test]
async fn the_code_page_lapses_five_minutes_after_the_password() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let app = b.enroll(TARO, &clock).await;
    b.post("/logout", &[]).await;
    b.password_step(TARO).await;
    b.get("/login/otp").await;
    clock.advance(5 * 60 + 30);
    let late = b.post("/login/otp", &[("code", &app.code(&clock))]).await;
    assert_eq!(late.location(), "/login");
}

#[tokio::test]
async fn a_used_code_is_refused_at_login() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let app = b.enroll(TARO, &clock).await;
    b.post("/logout", &[]).await;
    // The confirmation code's step is consumed: the same code cannot log in.
    b.password_step(TARO).await;
    b.get("/login/otp").await;
    let replay = b.post("/login/otp", &[("code", &app.code(&clock))]).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert!(replay.error().unwrap().contains("既に使用されています"));
}

#[tokio::test]
async fn sessions_expire_after_15_idle_minutes() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    clock.advance(14 * 60);
    assert_eq!(b.get("/account").await.status, StatusCode::OK);
    clock.advance(14 * 60);
    assert_eq!(
        b.get("/account").await.status,
        StatusCode::OK,
        "activity keeps it alive"
    );
    clock.advance(15 * 60);
    assert_eq!(b.get("/account").await.location(), "/login");
}

#[tokio::test]
async fn sessions_expire_after_8_hours_however_active() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    for _ in 0..47 {
        clock.advance(10 * 60);
        assert_eq!(b.get("/account").await.status, StatusCode::OK);
    }
    clock.advance(10 * 60);
    assert_eq!(b.get("/account").await.location(), "/login");
}
