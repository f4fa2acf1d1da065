//! The portal's screens over HTTP, in-process (`tower::ServiceExt::oneshot`): every route,
//! both outcomes, every refusal, CSRF, sessions and the security headers. A manual clock
//! lets the tests compute the authenticator app's codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use support::{
    App, Browser, DESK_01, DESK_02, HANAKO, T0, TARO, deliver, mailbox, own_devices, portal,
    portal_with, wrong,
};
use totp_enroll::{
    AccountId, AuditDelivery as _, AuditEvent, AuditKind, Clock as _, KeyRing, Store as _,
    engine::DeliveredEvent, error::EngineError, error::Refusal,
};
use totp_enroll_portal::background::{Background, ReloadError, ReloadedRing, reload_keys};
use totp_enroll_portal::config::SecondDeviceConfig;

// ---------------------------------------------------------------- security headers

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    let pages = [
        b.get("/login").await,
        b.get("/static/app.js").await,
        b.get("/no-such-page").await,
        b.post_raw("/login", &[("login_id", "x")]).await,
        b.get("/account").await,
    ];
    for page in pages {
        let h = &page.headers;
        assert_eq!(
            h["content-security-policy"],
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        );
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
    }
}

#[tokio::test]
async fn pages_have_no_inline_script_and_the_script_is_a_file() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(HANAKO).await;
    let page = b.apply(HANAKO).await;
    assert!(
        page.body
            .contains("<script src=\"/static/app.js\" defer></script>")
    );
    assert_eq!(
        page.body.matches("<script").count(),
        1,
        "only the file script"
    );
    assert!(
        !page.body.contains(" style=\""),
        "no inline style (CSP style-src 'self')"
    );
    let js = b.get("/static/app.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(
        js.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.body.contains("コードを隠す"));
    let _ = clock;
}

#[tokio::test]
async fn the_session_cookie_is_httponly_and_samesite_strict() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    // Before the login: no session, only the login form's token cookie.
    let page = b.get("/login").await;
    let form = page.headers["set-cookie"].to_str().unwrap();
    let login = b
        .post("/login", &[("login_id", TARO.0), ("password", TARO.1)])
        .await;
    let cookie = login
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("portal_session="))
        .unwrap();
    assert!(form.starts_with("portal_login_csrf="), "{form}");
    for cookie in [form, cookie] {
        assert!(cookie.contains("; HttpOnly"), "{cookie}");
        assert!(cookie.contains("; SameSite=Strict"), "{cookie}");
        assert!(cookie.contains("; Path=/"), "{cookie}");
        assert!(
            !cookie.contains("Secure"),
            "not behind TLS in this configuration"
        );
        let id = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
        assert_eq!(id.len(), 43, "256 random bits, base64url");
    }
}

#[tokio::test]
async fn cookies_are_secure_when_configured_for_tls() {
    let clock = std::sync::Arc::new(totp_enroll::ManualClock::new(T0));
    let keys = totp_enroll_portal::config::key_ring_from_text(
        &totp_enroll_portal::config::generate_key_ring_text().unwrap(),
    )
    .unwrap();
    let mut options = totp_enroll_portal::app::PortalOptions::for_tests(clock).unwrap();
    options.secure_cookies = true;
    let portal = totp_enroll_portal::app::build(
        &totp_enroll_portal::config::Database::Sqlite("sqlite::memory:".into()),
        keys,
        options,
    )
    .await
    .unwrap();
    let page = Browser::new(&portal).get("/login").await;
    assert!(
        page.headers["set-cookie"]
            .to_str()
            .unwrap()
            .ends_with("; Secure")
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    b.get("/login").await;
    let big = "x".repeat(20 * 1024);
    let page = b
        .post("/login", &[("login_id", &big), ("password", "p")])
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn every_response_carries_a_fresh_request_id_of_the_portals_own() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    // A client's id is not taken over: the audit trail's ids are the portal's.
    b.headers.push((
        HeaderName::from_static("x-request-id"),
        HeaderValue::from_static("chosen-by-the-client"),
    ));
    let big = "x".repeat(20 * 1024);
    let pages = [
        b.get("/login").await,
        b.get("/static/app.js").await,
        b.get("/no-such-page").await,
        b.post_raw("/login", &[("login_id", "x")]).await,
        b.post_raw("/login", &[("login_id", big.as_str())]).await,
        b.get("/account").await,
    ];
    let mut seen = BTreeSet::new();
    for page in &pages {
        let id = page.request_id();
        assert_eq!(id.len(), 32, "{id}");
        assert!(
            id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
            "{id}"
        );
        assert!(seen.insert(id), "each response its own id");
    }
    assert_eq!(pages[3].status, StatusCode::FORBIDDEN);
    assert_eq!(pages[4].status, StatusCode::PAYLOAD_TOO_LARGE);
}

// ---------------------------------------------------------------- CSRF

#[tokio::test]
async fn a_post_without_the_sessions_csrf_token_is_refused() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    b.get("/login").await;
    let login = [("login_id", TARO.0), ("password", TARO.1)];

    let missing = b.post_raw("/login", &login).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.error().unwrap().contains("画面の有効期限"));

    let wrong_token = b
        .post_raw(
            "/login",
            &[
                ("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                login[0],
                login[1],
            ],
        )
        .await;
    assert_eq!(wrong_token.status, StatusCode::FORBIDDEN);

    // Another visitor's (valid) token is not this session's.
    let mut other = Browser::new(&portal);
    other.get("/login").await;
    let theirs = other.csrf.clone().unwrap();
    let foreign = b
        .post_raw("/login", &[("csrf", &theirs), login[0], login[1]])
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);

    // With its own token the same request goes through.
    let ok = b.post("/login", &login).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn every_post_route_checks_the_token() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    for path in [
        "/logout",
        "/login/otp",
        "/login/recovery",
        "/apply",
        "/apply/confirm",
        "/apply/done",
        "/redisplay",
        "/redisplay/show",
        "/recovery-codes",
        "/recovery-codes/show",
        "/stop",
        "/stop/lost",
        "/devices/add",
        "/devices/confirm",
        "/devices/remove",
        "/desk/login",
        "/desk/otp",
        "/desk/enroll",
        "/desk/logout",
        "/desk/operators/unlock",
        "/desk/operators/reset",
        "/desk/diagnose",
        "/desk/unlock",
        "/desk/resync",
        "/desk/reset",
        "/desk/forget",
        "/desk/remove-authenticator",
    ] {
        let page = b.post_raw(path, &[("code", "123456")]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
    }
}

// ---------------------------------------------------------------- login

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

// ---------------------------------------------------------------- 登録情報照会

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

// ---------------------------------------------------------------- 申込

#[tokio::test]
async fn the_transaction_password_page_has_the_manuals_fields() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let page = b.get("/apply").await;
    assert!(page.body.contains("<h1>取引パスワード認証</h1>"));
    assert!(
        page.body
            .contains("<label for=\"trade-password\">取引パスワード</label>")
    );
    assert!(
        page.body
            .contains("<label for=\"show-password\">パスワードを表示する</label>")
    );
    assert_eq!(page.text_of("back-button").as_deref(), Some("戻る"));
    assert_eq!(page.text_of("auth-button").as_deref(), Some("認証"));
}

#[tokio::test]
async fn a_wrong_transaction_password_issues_nothing() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    b.get("/apply").await;
    let page = b.post("/apply", &[("trade_password", TARO.1)]).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(
        page.error()
            .unwrap()
            .contains("取引パスワードが正しくありません")
    );
    assert!(!page.body.contains("id=\"setup-key\""));
    assert_eq!(b.get("/apply/register").await.location(), "/account");
    let account = totp_enroll::AccountId::new(TARO.0).unwrap();
    let status = portal.state.engine.status(&account).await.unwrap();
    assert_eq!(
        status,
        totp_enroll::Status::NotRegistered,
        "no pending secret"
    );
}

#[tokio::test]
async fn the_registration_page_shows_the_qr_code_and_hides_the_key() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let page = b.apply(TARO).await;
    let body = &page.body;
    assert!(body.contains("<h1>サービス申込 -登録-</h1>"));
    assert!(body.contains("aria-current=\"step\""));
    assert!(body.contains("https://www.apple.com/jp/app-store/"));
    assert!(body.contains("https://play.google.com/store/apps/"));
    assert!(body.contains("iOSの場合") && body.contains("Androidの場合"));
    assert!(body.contains("<h2>登録用二次元バーコード</h2>"));
    // The QR code: an inline SVG element with an accessible name.
    let qr = &body[body.find("id=\"qr\"").unwrap()..];
    assert!(qr.contains("role=\"img\" aria-label=\"登録用二次元バーコード"));
    assert!(!body.contains("<?xml"));
    // The manual-entry table.
    assert!(body.contains("<th scope=\"row\">アカウント名</th><td class=\"account-name\">北洋証券オンラインサービス</td>"));
    assert!(
        body.contains("<th scope=\"row\">キーの種類</th><td class=\"key-type\">時間ベース</td>")
    );
    assert!(body.contains("※セキュリティ上の理由により、初期状態を非表示にしています。"));
    // The key: hidden by default, grouped; the copy button holds it unspaced.
    assert!(body.contains("<code id=\"setup-key\" hidden>"));
    assert_eq!(page.text_of("reveal-key").as_deref(), Some("コードを表示"));
    assert_eq!(
        page.text_of("copy-key").as_deref(),
        Some("コードをコピーする")
    );
    let grouped = page.text_of("setup-key").unwrap();
    assert_eq!(grouped.replace(' ', ""), page.copy_key());
    assert_eq!(page.copy_key().len(), 32, "160-bit key");
    assert_eq!(page.text_of("next-button").as_deref(), Some("次へ"));
}

#[tokio::test]
async fn enrollment_from_confirm_to_accepted() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let register = b.apply(TARO).await;
    let app = App::scan(&register);

    let confirm = b.get("/apply/confirm").await;
    assert!(confirm.body.contains("<h1>サービス申込 -確認-</h1>"));
    assert!(confirm.body.contains("<h2>ご注意事項</h2>"));
    assert!(
        confirm
            .body
            .contains("お客さまサポート窓口までお問い合わせください。")
    );
    assert!(
        confirm
            .body
            .contains("<label for=\"otp\">ワンタイムパスワード</label>")
    );
    assert_eq!(confirm.text_of("confirm-button").as_deref(), Some("認証"));

    let refused = b
        .post("/apply/confirm", &[("code", &wrong(&app.code(&clock)))])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.body.contains("<h1>サービス申込 -確認-</h1>"),
        "stays on the page"
    );
    assert!(refused.error().unwrap().contains("正しくありません"));

    let malformed = b.post("/apply/confirm", &[("code", "12a456")]).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(
        malformed
            .error()
            .unwrap()
            .contains("数字で入力してください")
    );
    let short = b.post("/apply/confirm", &[("code", "12345")]).await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(short.error().unwrap().contains("6桁の数字"));

    // Full-width digits, as a Japanese keyboard types them.
    let fullwidth: String = app
        .code(&clock)
        .chars()
        .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap())
        .collect();
    let done = b.post("/apply/confirm", &[("code", &fullwidth)]).await;
    assert_eq!(done.location(), "/apply/done");
    let page = b.get("/apply/done").await;
    assert!(page.body.contains("<h1>サービス申込 -受付-</h1>"));
    assert!(page.body.contains(
        "ワンタイムパスワードサービス申込を受け付けました。必ず登録情報照会で確認してください。"
    ));
    assert_eq!(
        page.text_of("to-account-button").as_deref(),
        Some("登録情報照会へ")
    );

    let account = b.get("/account").await;
    assert_eq!(account.text_of("otp-status").as_deref(), Some("利用中"));
    assert_eq!(
        account.text_of("redisplay-button").as_deref(),
        Some("コード再表示")
    );
    assert_eq!(account.text_of("stop-button").as_deref(), Some("利用停止"));
    assert!(account.text_of("apply-button").is_none());
    // The key is no longer shown.
    assert_eq!(b.get("/apply/register").await.location(), "/account");
    // Applying again while in use goes back to the registration info.
    assert_eq!(b.get("/apply").await.location(), "/account");
}

#[tokio::test]
async fn a_code_typed_as_the_app_shows_it_is_accepted() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let app = App::scan(&b.apply(TARO).await);
    let grouped = app.grouped(&clock);
    assert_eq!(grouped.len(), 7, "123 456");
    let done = b.post("/apply/confirm", &[("code", &grouped)]).await;
    assert_eq!(done.location(), "/apply/done");
}

#[tokio::test]
async fn an_expired_application_is_refused_with_409() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let app = App::scan(&b.apply(TARO).await);
    clock.advance(10 * 60);
    b.get("/account").await; // keeps the session alive
    let late = b
        .post("/apply/confirm", &[("code", &app.code(&clock))])
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.error().unwrap().contains("有効期限が切れ"));
    assert_eq!(
        b.get("/account").await.text_of("otp-status").as_deref(),
        Some("未登録")
    );
}

#[tokio::test]
async fn repeated_wrong_codes_are_throttled_then_locked_with_the_support_desk_hint() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(HANAKO).await;
    let app = b.enroll(HANAKO, &clock).await;
    clock.advance(30);
    b.get("/redisplay").await;
    let bad = wrong(&app.code(&clock));
    for _ in 0..2 {
        let page = b.post("/redisplay", &[("code", &bad)]).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    // The 3rd failure imposes 30 s of backoff; during it even the right code is refused.
    let third = b.post("/redisplay", &[("code", &bad)]).await;
    assert_eq!(third.status, StatusCode::UNAUTHORIZED);
    let throttled = b.post("/redisplay", &[("code", &app.code(&clock))]).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers["retry-after"], "30");
    // T0 + 30 s + 30 s backoff = 01:01:00 JST
    assert!(
        throttled
            .error()
            .unwrap()
            .contains("2025年11月25日 01:01:00（日本時間）以降"),
        "{:?}",
        throttled.error()
    );
    // Fail until locked (the 10th consecutive failure).
    let mut last = throttled;
    for _ in 0..30 {
        clock.advance(14 * 60); // within the session's idle timeout
        b.get("/account").await;
        last = b
            .post("/redisplay", &[("code", &wrong(&app.code(&clock)))])
            .await;
        assert_ne!(last.status, StatusCode::OK);
        if last.status == StatusCode::FORBIDDEN {
            break;
        }
    }
    assert_eq!(last.status, StatusCode::FORBIDDEN);
    assert!(
        last.error()
            .unwrap()
            .contains("お客さまサポート窓口までお問い合わせください")
    );
    let account = b.get("/account").await;
    assert!(
        account
            .text_of("access-note")
            .unwrap()
            .contains("お客さまサポート窓口")
    );
    let mails = mailbox(&portal, &clock).await;
    assert!(
        mails
            .body
            .contains("ワンタイムパスワード認証ロックのお知らせ")
    );

    // Locked: the login's code page refuses even the right code, with the desk's hint …
    b.post("/logout", &[]).await;
    clock.advance(30);
    assert_eq!(b.password_step(HANAKO).await.location(), "/login/otp");
    b.get("/login/otp").await;
    let locked = b.post("/login/otp", &[("code", &app.code(&clock))]).await;
    assert_eq!(locked.status, StatusCode::FORBIDDEN);
    assert!(locked.error().unwrap().contains("お客さまサポート窓口"));
    assert_eq!(b.get("/account").await.location(), "/login");

    // … until the support desk resets it: then ID and password log in again.
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    desk.get(&format!("/desk?login_id={}", HANAKO.0)).await;
    let reset = desk
        .post(
            "/desk/reset",
            &[("login_id", HANAKO.0), ("reason", "端末紛失")],
        )
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    b.login(HANAKO).await;
    assert_eq!(
        b.get("/account").await.text_of("otp-status").as_deref(),
        Some("未登録")
    );
}

// ---------------------------------------------------------------- コード再表示

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

// ---------------------------------------------------------------- 利用停止

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

// ---------------------------------------------------------------- support desk

#[tokio::test]
async fn the_desk_needs_its_own_login() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    // A customer's session is not an operator's.
    let page = b.get(&format!("/desk?login_id={}", TARO.0)).await;
    assert!(page.body.contains("desk-login-button"));
    assert!(!page.body.contains("reset-button"));
    let wrong_pw = b
        .post("/desk/login", &[("operator", "desk-01"), ("password", "x")])
        .await;
    assert_eq!(wrong_pw.status, StatusCode::UNAUTHORIZED);
    let unknown = b
        .post("/desk/login", &[("operator", "desk-99"), ("password", "x")])
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_pw.error(), unknown.error());
    let reset = b
        .post(
            "/desk/reset",
            &[("login_id", TARO.0), ("reason", "lost phone")],
        )
        .await;
    assert_eq!(reset.status, StatusCode::UNAUTHORIZED);
    let forget = b
        .post(
            "/desk/forget",
            &[("login_id", TARO.0), ("reason", "削除依頼")],
        )
        .await;
    assert_eq!(forget.status, StatusCode::UNAUTHORIZED);
    assert!(!forget.body.contains("forget-button"));
    for (path, fields) in [
        (
            "/desk/diagnose",
            &[("login_id", TARO.0), ("code", "123456")][..],
        ),
        (
            "/desk/unlock",
            &[("login_id", TARO.0), ("reason", "本人確認済み")][..],
        ),
        (
            "/desk/resync",
            &[
                ("login_id", TARO.0),
                ("first", "123456"),
                ("second", "234567"),
                ("reason", "時刻ずれ"),
            ][..],
        ),
    ] {
        let page = b.post(path, fields).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(page.body.contains("desk-login-button"), "{path}");
    }
    b.desk_login(DESK_01, &clock).await;
    assert!(b.cookie("desk_session").is_some());
}

#[tokio::test]
async fn the_desk_resets_a_lost_phone_with_a_mandatory_reason() {
    let (portal, clock) = portal().await;
    let mut customer = Browser::new(&portal);
    customer.login(HANAKO).await;
    let register = customer.apply(HANAKO).await;
    let key = register.copy_key();
    let app = App::scan(&register);
    customer
        .post("/apply/confirm", &[("code", &app.code(&clock))])
        .await;

    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let unknown = desk.get("/desk?login_id=9999-999999").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let page = desk.get(&format!("/desk?login_id={}", HANAKO.0)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text_of("otp-status").as_deref(), Some("利用中"));
    assert!(page.body.contains("申込完了（利用中）"), "recent events");
    assert!(!page.body.contains(&key), "no secret on the desk");
    assert!(
        !page.body.contains(&app.code(&clock)),
        "no code on the desk"
    );

    let no_reason = desk
        .post("/desk/reset", &[("login_id", HANAKO.0), ("reason", "  ")])
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    assert!(
        no_reason
            .error()
            .unwrap()
            .contains("理由を入力してください")
    );
    assert_eq!(
        desk.get(&format!("/desk?login_id={}", HANAKO.0))
            .await
            .text_of("otp-status")
            .as_deref(),
        Some("利用中")
    );

    let spoofed = desk
        .post(
            "/desk/reset",
            &[("login_id", HANAKO.0), ("reason", "lost \u{202E}enohp")],
        )
        .await;
    assert_eq!(
        spoofed.status,
        StatusCode::BAD_REQUEST,
        "a bidi control is refused"
    );
    assert!(!spoofed.error().unwrap().is_ascii());

    let done = desk
        .post(
            "/desk/reset",
            &[("login_id", HANAKO.0), ("reason", "端末紛失\n本人確認済み")],
        )
        .await;
    assert_eq!(
        done.location(),
        format!("/desk?login_id={}&done=reset", HANAKO.0)
    );
    let page = desk.get(done.location()).await;
    assert_eq!(
        page.text_of("notice").as_deref(),
        Some("ワンタイムパスワードサービスをリセットしました（未登録）。")
    );
    assert_eq!(page.text_of("otp-status").as_deref(), Some("未登録"));
    assert!(
        page.body
            .contains("サポート窓口リセット（担当 desk-01：端末紛失 本人確認済み）")
    );

    // The customer's session ended with the reset; logged in again: 未登録.
    assert_eq!(customer.get("/account").await.location(), "/login");
    customer.login(HANAKO).await;
    assert_eq!(
        customer
            .get("/account")
            .await
            .text_of("otp-status")
            .as_deref(),
        Some("未登録")
    );
    let mails = desk.get("/desk/mail").await;
    assert!(mails.body.contains("hanako@example.jp"));
    assert!(mails.body.contains("登録解除のお知らせ"));
}

#[tokio::test]
async fn the_desk_erases_a_registration_on_a_data_protection_request() {
    let (portal, clock) = portal().await;
    let mut customer = Browser::new(&portal);
    customer.login(HANAKO).await;
    customer.enroll(HANAKO, &clock).await;
    let account = AccountId::new(HANAKO.0).unwrap();
    let store = portal.state.engine.store();

    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let page = desk.get(&format!("/desk?login_id={}", HANAKO.0)).await;
    assert!(
        page.body
            .contains("個人情報削除（ご本人からの削除のご依頼）")
    );
    assert!(page.body.contains("action=\"/desk/forget\""));
    assert!(page.body.contains("<label for=\"forget-reason\">"));
    assert!(page.body.contains("id=\"forget-button\""));

    // Without the session's token nothing is erased.
    let fields = [("login_id", HANAKO.0), ("reason", "ご本人より削除依頼")];
    let forged = desk.post_raw("/desk/forget", &fields).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let wrong_token = [
        ("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        fields[0],
        fields[1],
    ];
    let forged = desk.post_raw("/desk/forget", &wrong_token).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Nor without a reason.
    desk.get(&format!("/desk?login_id={}", HANAKO.0)).await;
    let no_reason = desk
        .post(
            "/desk/forget",
            &[("login_id", HANAKO.0), ("reason", " \n ")],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    assert!(no_reason.error().unwrap().contains("個人情報削除の理由"));
    assert!(store.load(&account).await.unwrap().is_some(), "still there");
    assert_eq!(no_reason.text_of("otp-status").as_deref(), Some("利用中"));

    let done = desk
        .post(
            "/desk/forget",
            &[
                ("login_id", HANAKO.0),
                ("reason", "ご本人より削除依頼\n受付番号 A-17"),
            ],
        )
        .await;
    assert_eq!(
        done.location(),
        format!("/desk?login_id={}&done=forget", HANAKO.0)
    );
    let page = desk.get(done.location()).await;
    assert_eq!(
        page.text_of("notice").as_deref(),
        Some("ご依頼によりワンタイムパスワードサービスの登録情報を削除しました（未登録）。")
    );
    assert_eq!(page.text_of("otp-status").as_deref(), Some("未登録"));
    assert!(page.body.contains(
        "個人情報削除の依頼により登録情報を消去（担当 desk-01：ご本人より削除依頼 受付番号 A-17）"
    ));

    // The library keeps a tombstone: no record, but the row's version.
    assert!(store.load(&account).await.unwrap().is_none());
    assert!(store.version(&account).await.unwrap().is_some());
    // Audited with the operator, in the desk's request.
    let newest = &portal.state.db.recent_audit(HANAKO.0, 1).await.unwrap()[0];
    assert_eq!(newest.kind, "forgotten");
    assert!(newest.detail.contains("担当 desk-01"));
    assert_eq!(
        newest.request_id.as_deref(),
        Some(done.request_id().as_str())
    );
    // The customer is told, once.
    let mails = portal.state.db.mails(100).await.unwrap();
    let notices: Vec<_> = mails
        .iter()
        .filter(|m| m.subject.contains("登録情報消去のお知らせ"))
        .collect();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].to_address, "hanako@example.jp");

    // The customer's session ended with the erasure; logged in again: 未登録, and may
    // apply again over the tombstone.
    assert_eq!(customer.get("/account").await.location(), "/login");
    customer.login(HANAKO).await;
    assert_eq!(
        customer
            .get("/account")
            .await
            .text_of("otp-status")
            .as_deref(),
        Some("未登録")
    );
    clock.advance(30);
    customer.enroll(HANAKO, &clock).await;
    assert_eq!(
        customer
            .get("/account")
            .await
            .text_of("otp-status")
            .as_deref(),
        Some("利用中")
    );
}

/// The desk's page of `login_id`.
async fn desk_page(desk: &mut Browser, login_id: &str) -> support::Page {
    let page = desk.get(&format!("/desk?login_id={login_id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page
}

/// Six digits that no step of `app` within a day of now shows (what the desk's ±1 day
/// search cannot match).
fn matching_no_step(app: &App, clock: &totp_enroll::ManualClock) -> String {
    let day = 24 * 60 * 60 / 30;
    let shown: BTreeSet<String> = (-day..=day)
        .map(|k| app.code_off_by(clock, k * 30))
        .collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !shown.contains(c))
        .unwrap()
}

/// The text of the desk's コード確認 result (its lines), if the page shows one.
fn diagnosis(page: &support::Page) -> Option<String> {
    let start = page.body.find("id=\"diagnosis\"")?;
    let end = page.body[start..].find("</section>")? + start;
    Some(page.body[start..end].to_owned())
}

#[tokio::test]
async fn the_desk_overview_shows_the_counts_the_lock_state_and_the_drift() {
    let (portal, clock) = portal().await;
    let mut customer = Browser::new(&portal);
    customer.login(HANAKO).await;
    let (app, codes) = customer.enroll_with_codes(HANAKO, &clock).await;
    customer.post("/logout", &[]).await;
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;

    let page = desk_page(&mut desk, HANAKO.0).await;
    assert_eq!(page.text_of("otp-status").as_deref(), Some("利用中"));
    assert_eq!(
        page.text_of("desk-recovery-codes").as_deref(),
        Some("10 個")
    );
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("0 回"));
    assert_eq!(page.text_of("desk-lock").as_deref(), Some("なし"));
    let table = page.body.split("id=\"authenticators\"").nth(1).unwrap();
    let table = &table[..table.find("</table>").unwrap()];
    for heading in ["アカウント名", "登録日時", "最終利用日時", "時刻のずれ"] {
        assert!(table.contains(heading), "{heading}");
    }
    // Confirmed at T0 (01:00:00 JST), with the code of that step.
    assert_eq!(
        table.matches("2025年11月25日 01:00:00（日本時間）").count(),
        2
    );
    assert!(table.contains("0秒（ずれなし）"), "{table}");

    // A login with a recovery code, then one with an app 30 s fast.
    clock.advance(30);
    let recovered = customer.recovery_login(HANAKO, &codes[0]).await;
    assert_eq!(recovered.location(), "/account");
    customer.get("/account").await;
    customer.post("/logout", &[]).await;
    clock.advance(30);
    customer.password_step(HANAKO).await;
    customer.get("/login/otp").await;
    let fast = app.code_off_by(&clock, 30);
    let login = customer.post("/login/otp", &[("code", &fast)]).await;
    assert_eq!(login.location(), "/account");
    customer.get("/account").await;
    customer.post("/logout", &[]).await;
    // Then one wrong code.
    customer.password_step(HANAKO).await;
    customer.get("/login/otp").await;
    let refused = customer
        .post("/login/otp", &[("code", &wrong(&app.code(&clock)))])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    let page = desk_page(&mut desk, HANAKO.0).await;
    assert_eq!(page.text_of("desk-recovery-codes").as_deref(), Some("9 個"));
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("1 回"));
    assert_eq!(page.text_of("desk-lock").as_deref(), Some("なし"));
    let table = page.body.split("id=\"authenticators\"").nth(1).unwrap();
    let table = &table[..table.find("</table>").unwrap()];
    assert!(
        table.contains("+30秒（1ステップ進み）"),
        "the fast app's offset: {table}"
    );
    // Last used: the fast login (the engine's time of it, at T0 + 60 s or its code's step
    // at T0 + 90 s), in JST.
    let account = AccountId::new(HANAKO.0).unwrap();
    let overview = portal.state.engine.overview(&account).await.unwrap();
    let last_used = overview.authenticators[0].last_used_at.unwrap();
    assert!(
        (T0 as u64 + 60..=T0 as u64 + 90).contains(&last_used),
        "{last_used}"
    );
    let shown = totp_enroll_portal::LOCALE.time(last_used);
    assert!(table.contains(&shown), "last used {shown}: {table}");
    assert!(!page.body.contains(&fast), "no code on the desk");
    assert!(
        !page.body.contains(&codes[0]),
        "no recovery code on the desk"
    );

    // Two more wrong codes: the third failure imposes 30 s of backoff.
    for _ in 0..2 {
        customer
            .post("/login/otp", &[("code", &wrong(&app.code(&clock)))])
            .await;
    }
    let page = desk_page(&mut desk, HANAKO.0).await;
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("3 回"));
    assert_eq!(
        page.text_of("desk-lock").as_deref(),
        Some("一時停止中（2025年11月25日 01:01:30（日本時間）まで）")
    );
}

#[tokio::test]
async fn the_desks_code_check_tells_the_drift_counts_a_failure_and_consumes_nothing() {
    let (portal, clock) = portal().await;
    let mut customer = Browser::new(&portal);
    customer.login(HANAKO).await;
    let app = customer.enroll(HANAKO, &clock).await;
    let confirmation = app.code(&clock);
    customer.post("/logout", &[]).await;
    clock.advance(30);
    deliver(&portal).await;
    let mails_before = portal.state.db.mails(100).await.unwrap().len();

    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let page = desk_page(&mut desk, HANAKO.0).await;
    assert!(page.body.contains("action=\"/desk/diagnose\""));
    assert!(
        page.body
            .contains("<label for=\"diagnose-code\">読み上げられたコード</label>")
    );
    assert!(
        page.body
            .contains("1回の確認ごとに認証の失敗1回として数えられ")
    );
    assert!(diagnosis(&page).is_none());

    // The operator's token is needed: a forged check counts nothing.
    let fast = app.code_off_by(&clock, 240);
    let forged = desk
        .post_raw("/desk/diagnose", &[("login_id", HANAKO.0), ("code", &fast)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        desk_page(&mut desk, HANAKO.0)
            .await
            .text_of("desk-failures")
            .as_deref(),
        Some("0 回")
    );

    // A code 8 steps ahead: the phone is about 4 minutes fast.
    let checked = desk
        .post("/desk/diagnose", &[("login_id", HANAKO.0), ("code", &fast)])
        .await;
    assert_eq!(checked.status, StatusCode::SEE_OTHER);
    assert_eq!(
        checked.location(),
        format!("/desk?login_id={}&done=diagnose", HANAKO.0)
    );
    assert!(!checked.location().contains(&fast), "no code in the URL");
    let page = desk.get(checked.location()).await;
    let result = diagnosis(&page).unwrap();
    assert!(
        result.contains("お客さまのスマートフォンの時刻が約4分進んでいます（8ステップ）。"),
        "{result}"
    );
    assert!(
        result.contains("このずれではログインできません"),
        "{result}"
    );
    assert!(
        page.text_of("diagnosis-note")
            .unwrap()
            .contains("1回ごとにワンタイムパスワードの認証失敗1回として数えられます（現在の連続失敗回数：1 回）"),
        "{:?}",
        page.text_of("diagnosis-note")
    );
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("1 回"));
    assert!(!page.body.contains(&fast), "the code is not echoed");
    assert!(
        page.body
            .contains("コード確認（8 ステップのずれ・担当 desk-01・連続失敗 1 回）"),
        "audited with the operator"
    );
    // Shown once: a reload shows the page without it.
    assert!(diagnosis(&desk.get(checked.location()).await).is_none());
    // Nobody was logged in, in the desk's browser or elsewhere.
    assert_eq!(desk.get("/account").await.location(), "/login");
    assert_eq!(customer.get("/account").await.location(), "/login");
    let newest = &portal.state.db.recent_audit(HANAKO.0, 1).await.unwrap()[0];
    assert_eq!(newest.kind, "diagnosed");

    // Nothing was consumed: when the phone's code is the current one, it logs in.
    clock.advance(240);
    customer.password_step(HANAKO).await;
    customer.get("/login/otp").await;
    let login = customer.post("/login/otp", &[("code", &fast)]).await;
    assert_eq!(login.location(), "/account", "{:?}", login.error());
    customer.get("/account").await;
    customer.post("/logout", &[]).await;
    let page = desk_page(&mut desk, HANAKO.0).await;
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("0 回"));

    // The code just used, and the confirmation's: already used.
    for used in [&fast, &confirmation] {
        let checked = desk
            .post("/desk/diagnose", &[("login_id", HANAKO.0), ("code", used)])
            .await;
        let result = diagnosis(&desk.get(checked.location()).await).unwrap();
        assert!(result.contains("既に使用済みのコードです。"), "{result}");
    }
    // A slow phone's code (later than the login's: older ones count as used).
    clock.advance(300);
    let slow = app.code_off_by(&clock, -60);
    let checked = desk
        .post("/desk/diagnose", &[("login_id", HANAKO.0), ("code", &slow)])
        .await;
    let result = diagnosis(&desk.get(checked.location()).await).unwrap();
    assert!(
        result.contains("お客さまのスマートフォンの時刻が約1分遅れています（2ステップ）。"),
        "{result}"
    );
    // A code of no step within a day (another account's, or a clock far off).
    let none = matching_no_step(&app, &clock);
    let checked = desk
        .post("/desk/diagnose", &[("login_id", HANAKO.0), ("code", &none)])
        .await;
    let page = desk.get(checked.location()).await;
    let result = diagnosis(&page).unwrap();
    assert!(
        result.contains("一致するコードがありません（前後1日）。"),
        "{result}"
    );
    assert!(result.contains("北洋証券オンラインサービス"), "{result}");
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("4 回"));
    // The 3rd failure imposed a backoff; the desk's check does not wait for it.
    assert!(page.text_of("desk-lock").unwrap().starts_with("一時停止中"));

    // Malformed input is refused on the same page and not counted.
    let malformed = desk
        .post(
            "/desk/diagnose",
            &[("login_id", HANAKO.0), ("code", "12ab")],
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(
        malformed
            .error()
            .unwrap()
            .contains("数字で入力してください")
    );
    assert_eq!(malformed.text_of("desk-failures").as_deref(), Some("4 回"));
    assert!(!malformed.body.contains("12ab"), "the input is not echoed");

    // No customer mail for a check.
    deliver(&portal).await;
    assert_eq!(
        portal.state.db.mails(100).await.unwrap().len(),
        mails_before
    );
}

#[tokio::test]
async fn the_desk_unlocks_after_a_lock_and_keeps_the_recovery_codes() {
    let (portal, clock) = portal().await;
    let mut customer = Browser::new(&portal);
    customer.login(HANAKO).await;
    let (app, codes) = customer.enroll_with_codes(HANAKO, &clock).await;
    customer.post("/logout", &[]).await;
    clock.advance(30);

    // Every check counts: ten of a code that matches nothing lock the service.
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let page = desk_page(&mut desk, HANAKO.0).await;
    assert!(page.body.contains("action=\"/desk/unlock\""));
    assert!(
        page.body
            .contains("<label for=\"unlock-reason\">理由</label>")
    );
    let none = matching_no_step(&app, &clock);
    for n in 1..=10 {
        let checked = desk
            .post("/desk/diagnose", &[("login_id", HANAKO.0), ("code", &none)])
            .await;
        assert_eq!(checked.status, StatusCode::SEE_OTHER, "check {n}");
        desk.get(checked.location()).await;
    }
    let page = desk_page(&mut desk, HANAKO.0).await;
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("10 回"));
    assert!(
        page.text_of("desk-lock").unwrap().starts_with("ロック中"),
        "{:?}",
        page.text_of("desk-lock")
    );
    // Locked: the desk's check is refused with the refusal's text.
    let locked = desk
        .post(
            "/desk/diagnose",
            &[("login_id", HANAKO.0), ("code", &app.code(&clock))],
        )
        .await;
    assert_eq!(locked.status, StatusCode::FORBIDDEN);
    let error = locked.error().unwrap();
    assert!(
        error
            .starts_with(&totp_enroll_portal::LOCALE.refusal(&totp_enroll::error::Refusal::Locked)),
        "{error}"
    );
    assert!(error.contains("「ロック解除」を行ってください"), "{error}");
    assert!(!locked.body.contains(&app.code(&clock)));
    // The customer's right code is refused too.
    customer.password_step(HANAKO).await;
    customer.get("/login/otp").await;
    let refused = customer
        .post("/login/otp", &[("code", &app.code(&clock))])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Without a reason nothing is unlocked.
    let no_reason = desk
        .post("/desk/unlock", &[("login_id", HANAKO.0), ("reason", " ")])
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        no_reason.error().as_deref(),
        Some("ロック解除の理由を入力してください。")
    );
    assert!(
        no_reason
            .text_of("desk-lock")
            .unwrap()
            .starts_with("ロック中")
    );
    // A reason the engine refuses (a bidi control) is refused with its text.
    let spoofed = desk
        .post(
            "/desk/unlock",
            &[("login_id", HANAKO.0), ("reason", "ok \u{202E}kcolnu")],
        )
        .await;
    assert_eq!(spoofed.status, StatusCode::BAD_REQUEST);
    assert!(!spoofed.error().unwrap().is_ascii());

    let unlocked = desk
        .post(
            "/desk/unlock",
            &[
                ("login_id", HANAKO.0),
                ("reason", "ご本人確認済み\n（電話）"),
            ],
        )
        .await;
    assert_eq!(
        unlocked.location(),
        format!("/desk?login_id={}&done=unlock", HANAKO.0)
    );
    let page = desk.get(unlocked.location()).await;
    assert!(
        page.text_of("notice")
            .unwrap()
            .contains("ロックを解除しました"),
        "{:?}",
        page.text_of("notice")
    );
    assert_eq!(page.text_of("desk-lock").as_deref(), Some("なし"));
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("0 回"));
    assert_eq!(
        page.text_of("desk-recovery-codes").as_deref(),
        Some("10 個")
    );
    assert_eq!(page.text_of("otp-status").as_deref(), Some("利用中"));
    assert!(
        page.body
            .contains("サポート窓口でロック解除（担当 desk-01：ご本人確認済み （電話））")
    );

    // The customer logs in with the app again, and the recovery codes still work.
    customer.password_step(HANAKO).await;
    customer.get("/login/otp").await;
    clock.advance(30);
    let login = customer
        .post("/login/otp", &[("code", &app.code(&clock))])
        .await;
    assert_eq!(login.location(), "/account", "{:?}", login.error());
    customer.get("/account").await;
    customer.post("/logout", &[]).await;
    let recovered = customer.recovery_login(HANAKO, &codes[0]).await;
    assert_eq!(recovered.location(), "/account");

    deliver(&portal).await;
    let mails = portal.state.db.mails(100).await.unwrap();
    let unlock_mails: Vec<_> = mails
        .iter()
        .filter(|m| m.subject.contains("ロック解除のお知らせ"))
        .collect();
    assert_eq!(unlock_mails.len(), 1);
    assert_eq!(unlock_mails[0].to_address, "hanako@example.jp");
    assert!(
        unlock_mails[0]
            .body
            .contains("お客さまサポート窓口にて、ワンタイムパスワード認証のロックを解除しました。")
    );
}

#[tokio::test]
async fn the_desk_corrects_a_fast_clock_from_two_consecutive_codes() {
    let (portal, clock) = portal().await;
    let mut customer = Browser::new(&portal);
    customer.login(HANAKO).await;
    let app = customer.enroll(HANAKO, &clock).await;
    customer.post("/logout", &[]).await;
    clock.advance(30);
    // The phone's clock is 10 minutes fast: its codes do not log in.
    let ten_minutes = 10 * 60;
    customer.password_step(HANAKO).await;
    customer.get("/login/otp").await;
    let refused = customer
        .post(
            "/login/otp",
            &[("code", &app.code_off_by(&clock, ten_minutes))],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let page = desk_page(&mut desk, HANAKO.0).await;
    assert!(page.body.contains("action=\"/desk/resync\""));
    for label in [
        "<label for=\"resync-first\">",
        "<label for=\"resync-second\">",
        "<label for=\"resync-reason\">",
    ] {
        assert!(page.body.contains(label), "{label}");
    }
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("1 回"));

    // The customer reads out the code the app shows, and the next one 30 s later.
    let first = app.code_off_by(&clock, ten_minutes);
    let no_reason = desk
        .post(
            "/desk/resync",
            &[
                ("login_id", HANAKO.0),
                ("first", &first),
                ("second", &first),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        no_reason.error().as_deref(),
        Some("時刻ずれの補正の理由を入力してください。")
    );
    assert_eq!(no_reason.text_of("desk-failures").as_deref(), Some("1 回"));
    let reason = "お客さまより時刻のずれのご相談（本人確認済み）";
    // The same code twice is not two consecutive ones: refused and counted.
    let not_consecutive = desk
        .post(
            "/desk/resync",
            &[
                ("login_id", HANAKO.0),
                ("first", &first),
                ("second", &first),
                ("reason", reason),
            ],
        )
        .await;
    assert_eq!(not_consecutive.status, StatusCode::UNAUTHORIZED);
    assert!(
        not_consecutive
            .error()
            .unwrap()
            .contains("続けて表示されたコードとして確認できませんでした"),
        "{:?}",
        not_consecutive.error()
    );
    assert_eq!(
        not_consecutive.text_of("desk-failures").as_deref(),
        Some("2 回")
    );
    assert!(!not_consecutive.body.contains(&first), "no code echoed");

    clock.advance(30);
    let second = app.code_off_by(&clock, ten_minutes);
    let resynced = desk
        .post(
            "/desk/resync",
            &[
                ("login_id", HANAKO.0),
                ("first", &first),
                ("second", &second),
                ("reason", reason),
            ],
        )
        .await;
    assert_eq!(
        resynced.location(),
        format!("/desk?login_id={}&done=resync", HANAKO.0),
        "{:?}",
        resynced.error()
    );
    let page = desk.get(resynced.location()).await;
    let notice = page.text_of("notice").unwrap();
    assert!(
        notice.contains(
            "時刻のずれを補正しました。お客さまのスマートフォンの時刻が約10分進んでいます（20ステップ）。"
        ),
        "{notice}"
    );
    assert!(
        page.body.contains("+600秒（20ステップ進み）"),
        "the overview's offset"
    );
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("0 回"));
    for code in [&first, &second] {
        assert!(!page.body.contains(code.as_str()), "no code on the page");
    }
    assert!(
        page.body
            .contains("時刻ずれを補正（20 ステップ・担当 desk-01）"),
        "audited with the operator"
    );
    // The notice is shown once.
    assert!(
        desk.get(resynced.location())
            .await
            .text_of("notice")
            .is_none()
    );

    // The fast phone logs in now (both read-out codes were consumed: the next one).
    clock.advance(30);
    customer.password_step(HANAKO).await;
    customer.get("/login/otp").await;
    let login = customer
        .post(
            "/login/otp",
            &[("code", &app.code_off_by(&clock, ten_minutes))],
        )
        .await;
    assert_eq!(login.location(), "/account", "{:?}", login.error());
    customer.get("/account").await;
    customer.post("/logout", &[]).await;
    // The second read-out code is used.
    customer.password_step(HANAKO).await;
    customer.get("/login/otp").await;
    let replayed = customer.post("/login/otp", &[("code", &second)]).await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED);

    deliver(&portal).await;
    let mails = portal.state.db.mails(100).await.unwrap();
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.subject.contains("時刻ずれ補正のお知らせ")
                && m.to_address == "hanako@example.jp")
            .count(),
        1
    );
}

// ---------------------------------------------------------------- リカバリーコード

/// Whether `code` has the grouped form `XXXX-XXXX-XXXX-XXXX` of Crockford base32.
fn is_grouped_recovery_code(code: &str) -> bool {
    code.len() == 19
        && code.split('-').count() == 4
        && code.split('-').all(|group| {
            group.len() == 4
                && group
                    .bytes()
                    .all(|c| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&c))
        })
}

#[tokio::test]
async fn the_confirmation_shows_ten_recovery_codes_once() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let app = App::scan(&b.apply(TARO).await);
    b.get("/apply/confirm").await;
    let confirmed = b
        .post("/apply/confirm", &[("code", &app.code(&clock))])
        .await;
    assert_eq!(confirmed.location(), "/apply/done", "no code in the URL");

    let done = b.get("/apply/done").await;
    assert_eq!(done.status, StatusCode::OK);
    assert_eq!(done.headers["cache-control"], "no-store");
    assert!(done.body.contains("<h1>サービス申込 -受付-</h1>"));
    let codes = done.recovery_codes();
    assert_eq!(codes.len(), 10);
    assert!(
        codes.iter().all(|c| is_grouped_recovery_code(c)),
        "{codes:?}"
    );
    assert_eq!(codes.iter().collect::<BTreeSet<_>>().len(), 10, "distinct");
    let section = &done.body[done.body.find("id=\"recovery-codes-caution\"").unwrap()..];
    assert!(section.contains("この画面で一度だけ表示します"));
    assert!(section.contains("印刷する、紙に書き写すなど"));
    assert!(section.contains("各コードは1回だけ使用できます"));
    assert!(done.text_of("recovery-codes-gone").is_none());

    // A reload (or a prefetch) shows them again, until 「登録情報照会へ」; after it, the
    // page is without them, and so is a later visit.
    assert_eq!(b.get("/apply/done").await.recovery_codes(), codes);
    let left = b.post("/apply/done", &[]).await;
    assert_eq!(left.location(), "/account");
    let reload = b.get("/apply/done").await;
    assert_eq!(reload.status, StatusCode::OK);
    assert!(reload.recovery_codes().is_empty());
    assert!(
        reload
            .text_of("recovery-codes-gone")
            .unwrap()
            .contains("再度表示することはできません")
    );
    b.get("/account").await;
    let later = b.get("/apply/done").await;
    for page in [&reload, &later] {
        for code in &codes {
            assert!(!page.body.contains(code.as_str()), "shown once only");
        }
    }
    // Nor anywhere else: the account page, the mails, the desk.
    let account = b.get("/account").await;
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let mails = desk.get("/desk/mail").await;
    let looked_up = desk.get(&format!("/desk?login_id={}", TARO.0)).await;
    assert!(
        looked_up.body.contains("リカバリーコード発行（10 個）"),
        "the desk sees that codes were issued, not the codes"
    );
    for page in [&account, &mails, &looked_up] {
        for code in &codes {
            assert!(!page.body.contains(code.as_str()));
            assert!(!page.body.contains(&code.replace('-', "")));
        }
    }
}

#[tokio::test]
async fn a_recovery_code_logs_in_once_and_a_second_use_is_refused() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let (_app, codes) = b.enroll_with_codes(TARO, &clock).await;
    b.post("/logout", &[]).await;

    // Only after the password step: not from another browser, not before.
    let mut other = Browser::new(&portal);
    assert_eq!(other.get("/login/recovery").await.location(), "/login");
    other.get("/login").await;
    let skipped = other
        .post("/login/recovery", &[("recovery_code", &codes[0])])
        .await;
    assert_eq!(skipped.location(), "/login");

    let page = b.password_step(TARO).await;
    assert_eq!(page.location(), "/login/otp");
    let otp = b.get("/login/otp").await;
    assert_eq!(
        otp.text_of("recovery-link").as_deref(),
        Some("リカバリーコードでログイン")
    );
    assert_eq!(
        otp.attr_of("recovery-link", "href").as_deref(),
        Some("/login/recovery")
    );
    let form = b.get("/login/recovery").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<h1>リカバリーコードでログイン</h1>"));
    assert!(
        form.body
            .contains("<label for=\"recovery-code\">リカバリーコード</label>")
    );
    assert_eq!(
        form.text_of("recovery-login-button").as_deref(),
        Some("ログイン")
    );
    // Still not logged in.
    assert_eq!(b.get("/account").await.location(), "/login");

    let after_password = b.cookie("portal_session").cloned().unwrap();
    // As a customer may type it: lower case, spaces for the hyphens.
    let typed = codes[0].to_lowercase().replace('-', " ");
    let ok = b
        .post("/login/recovery", &[("recovery_code", &typed)])
        .await;
    assert_eq!(ok.location(), "/account", "{}", ok.body);
    assert_ne!(
        b.cookie("portal_session").unwrap(),
        &after_password,
        "rotated after the recovery code"
    );
    let account = b.get("/account").await;
    assert_eq!(account.text_of("otp-status").as_deref(), Some("利用中"));
    let notice = account.text_of("recovery-login-notice").unwrap();
    assert!(notice.contains("残り9個です"), "{notice}");
    assert_eq!(
        account.text_of("recovery-codes-left").as_deref(),
        Some("9 個")
    );
    assert!(notice.contains("アプリを登録し直し"), "{notice}");
    assert!(notice.contains("リカバリーコードの再発行"), "{notice}");
    assert!(
        account
            .body
            .contains("class=\"notice\" id=\"recovery-login-notice\"")
    );
    assert!(
        b.get("/account")
            .await
            .text_of("recovery-login-notice")
            .is_none(),
        "the notice is shown once"
    );
    b.post("/logout", &[]).await;

    // The same code again: refused, in the recovery code's wording.
    let again = b.recovery_login(TARO, &codes[0]).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(again.body.contains("<h1>リカバリーコードでログイン</h1>"));
    assert_eq!(
        again.error().as_deref(),
        Some(
            totp_enroll::Locale::JA_JST
                .recovery_code_refusal(&totp_enroll::error::Refusal::WrongCode)
                .as_str()
        )
    );
    assert_eq!(b.get("/account").await.location(), "/login");
    // Malformed input: 400 with the input rules.
    b.password_step(TARO).await;
    b.get("/login/recovery").await;
    let malformed = b
        .post("/login/recovery", &[("recovery_code", "7K3M-9QXR-2HV8")])
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(malformed.error().unwrap().contains("英数字16文字"));
    // Another code of the set still works.
    let second = b
        .post("/login/recovery", &[("recovery_code", &codes[1])])
        .await;
    assert_eq!(second.location(), "/account");
    assert!(
        b.get("/account")
            .await
            .text_of("recovery-login-notice")
            .unwrap()
            .contains("残り8個です")
    );

    // Each use is mailed to the customer and audited.
    deliver(&portal).await;
    let mails = portal.state.db.mails(100).await.unwrap();
    let used: Vec<_> = mails
        .iter()
        .filter(|m| {
            m.subject
                .contains("リカバリーコードによるログインのお知らせ")
        })
        .collect();
    assert_eq!(used.len(), 2);
    assert_eq!(used[0].to_address, "taro@example.jp");
    assert_eq!(
        used[0].body.matches("お心当たり").count(),
        1,
        "one 'if this was not you': {}",
        used[0].body
    );
    let rows = portal.state.db.recent_audit(TARO.0, 100).await.unwrap();
    assert_eq!(
        rows.iter()
            .filter(|r| r.kind == "recovery_code_used")
            .count(),
        2
    );
    for row in &rows {
        for code in &codes {
            assert!(!row.detail.contains(code.as_str()));
        }
    }
}

#[tokio::test]
async fn few_remaining_recovery_codes_get_an_urgent_notice_and_a_mail() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let (_app, codes) = b.enroll_with_codes(TARO, &clock).await;
    b.post("/logout", &[]).await;
    for (used, code) in codes.iter().enumerate() {
        let ok = b.recovery_login(TARO, code).await;
        assert_eq!(ok.location(), "/account");
        let account = b.get("/account").await;
        let remaining = 9 - used;
        let notice = account.text_of("recovery-login-notice").unwrap();
        if remaining > 3 {
            assert!(
                notice.contains(&format!("残り{remaining}個です")),
                "{notice}"
            );
            assert!(
                account
                    .body
                    .contains("class=\"notice\" id=\"recovery-login-notice\"")
            );
        } else {
            assert!(
                account
                    .body
                    .contains("class=\"error\" id=\"recovery-login-notice\" role=\"alert\""),
                "{remaining} left: an alert"
            );
            assert!(notice.contains("至急"), "{notice}");
            if remaining > 0 {
                assert!(notice.contains(&format!("残り{remaining}個しかありません")));
            } else {
                assert!(notice.contains("もうありません"), "{notice}");
            }
        }
        b.post("/logout", &[]).await;
    }
    // All used: none is accepted any more.
    let refused = b.recovery_login(TARO, &codes[9]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    deliver(&portal).await;
    let mails = portal.state.db.mails(100).await.unwrap();
    let low = mails
        .iter()
        .filter(|m| m.subject.contains("リカバリーコード残りわずかのお知らせ"))
        .count();
    assert_eq!(low, 4, "3, 2, 1 and 0 left");
}

#[tokio::test]
async fn wrong_recovery_codes_count_with_wrong_codes_and_lock_the_service() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(HANAKO).await;
    let (app, codes) = b.enroll_with_codes(HANAKO, &clock).await;
    b.post("/logout", &[]).await;
    clock.advance(30);
    let account = AccountId::new(HANAKO.0).unwrap();
    let not_issued = "0000-0000-0000-0000";

    // Malformed input is not counted.
    b.password_step(HANAKO).await;
    b.get("/login/recovery").await;
    for _ in 0..5 {
        let page = b.post("/login/recovery", &[("recovery_code", "abc")]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
    }
    // A wrong one-time code and two wrong recovery codes: three failures in one counter.
    b.get("/login/otp").await;
    let first = b
        .post("/login/otp", &[("code", &wrong(&app.code(&clock)))])
        .await;
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    b.get("/login/recovery").await;
    for _ in 0..2 {
        let page = b
            .post("/login/recovery", &[("recovery_code", not_issued)])
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    // The 3rd failure imposed 30 s of backoff: even a right recovery code is refused.
    let throttled = b
        .post("/login/recovery", &[("recovery_code", &codes[0])])
        .await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers["retry-after"], "30");
    assert!(
        throttled
            .error()
            .unwrap()
            .contains("2025年11月25日 01:01:00（日本時間）以降"),
        "{:?}",
        throttled.error()
    );
    let status = portal.state.engine.status(&account).await.unwrap();
    assert!(
        matches!(
            status,
            totp_enroll::Status::Active {
                access: totp_enroll::Access::Throttled { .. },
                ..
            }
        ),
        "{status:?}"
    );

    // Fail until locked (the 10th consecutive failure).
    let mut last = throttled;
    for _ in 0..30 {
        clock.advance(15 * 60 + 1); // past the longest backoff; the password step again
        b.password_step(HANAKO).await;
        b.get("/login/recovery").await;
        last = b
            .post("/login/recovery", &[("recovery_code", not_issued)])
            .await;
        assert_ne!(last.status, StatusCode::SEE_OTHER);
        if last.status == StatusCode::FORBIDDEN {
            break;
        }
    }
    assert_eq!(last.status, StatusCode::FORBIDDEN);
    assert!(
        last.error()
            .unwrap()
            .contains("お客さまサポート窓口までお問い合わせください")
    );
    // Locked: neither an unused recovery code nor the right one-time code logs in.
    let locked = b
        .post("/login/recovery", &[("recovery_code", &codes[1])])
        .await;
    assert_eq!(locked.status, StatusCode::FORBIDDEN);
    b.get("/login/otp").await;
    let locked = b.post("/login/otp", &[("code", &app.code(&clock))]).await;
    assert_eq!(locked.status, StatusCode::FORBIDDEN);
    assert!(matches!(
        portal.state.engine.status(&account).await.unwrap(),
        totp_enroll::Status::Active {
            access: totp_enroll::Access::Locked,
            ..
        }
    ));
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let page = desk.get(&format!("/desk?login_id={}", HANAKO.0)).await;
    assert!(page.body.contains("ロック中"), "the desk sees the lock");
    let mails = desk.get("/desk/mail").await;
    assert!(
        mails
            .body
            .contains("ワンタイムパスワード認証ロックのお知らせ")
    );
}

#[tokio::test]
async fn issuing_new_recovery_codes_invalidates_the_old_set() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    // Not while 未登録.
    assert_eq!(b.get("/recovery-codes").await.location(), "/account");
    let (app, old) = b.enroll_with_codes(TARO, &clock).await;
    let account = b.get("/account").await;
    assert_eq!(
        account.text_of("recovery-codes-button").as_deref(),
        Some("リカバリーコードの再発行")
    );
    assert_eq!(
        account.attr_of("recovery-codes-button", "href").as_deref(),
        Some("/recovery-codes")
    );
    // Nothing to show before a new set is issued.
    assert_eq!(b.get("/recovery-codes/show").await.location(), "/account");

    let form = b.get("/recovery-codes").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<h1>リカバリーコードの再発行</h1>"));
    assert!(
        form.body
            .contains("<label for=\"otp\">ワンタイムパスワード</label>")
    );
    assert_eq!(
        form.text_of("recovery-issue-button").as_deref(),
        Some("発行")
    );
    assert!(
        form.body
            .contains("<label for=\"trade-password\">取引パスワード</label>")
    );
    clock.advance(30);
    let refused = b
        .post(
            "/recovery-codes",
            &[
                ("code", &wrong(&app.code(&clock))),
                ("trade_password", TARO.2),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.body.contains("<h1>リカバリーコードの再発行</h1>"));
    assert!(refused.recovery_codes().is_empty());
    // One phished code is not enough: without the transaction password nothing is issued,
    // and the code is not consumed.
    let no_step_up = b
        .post(
            "/recovery-codes",
            &[
                ("code", &app.code(&clock)),
                ("trade_password", "wrong-trade-pw"),
            ],
        )
        .await;
    assert_eq!(no_step_up.status, StatusCode::UNAUTHORIZED);
    assert!(
        no_step_up
            .error()
            .unwrap()
            .contains("取引パスワードが正しくありません")
    );
    assert!(no_step_up.recovery_codes().is_empty());

    let issued = b
        .post(
            "/recovery-codes",
            &[("code", &app.code(&clock)), ("trade_password", TARO.2)],
        )
        .await;
    assert_eq!(
        issued.location(),
        "/recovery-codes/show",
        "no code in the URL"
    );
    // The one-time code was consumed.
    b.get("/recovery-codes").await;
    let replay = b
        .post(
            "/recovery-codes",
            &[("code", &app.code(&clock)), ("trade_password", TARO.2)],
        )
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert!(replay.error().unwrap().contains("既に使用されています"));

    let show = b.get("/recovery-codes/show").await;
    assert_eq!(show.status, StatusCode::OK);
    assert_eq!(show.headers["cache-control"], "no-store");
    let new = show.recovery_codes();
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| is_grouped_recovery_code(c)));
    assert!(new.iter().all(|c| !old.contains(c)), "a fresh set");
    assert!(show.body.contains("この画面で一度だけ表示します"));
    // Shown until 「登録情報照会へ」, then never again.
    assert_eq!(b.get("/recovery-codes/show").await.recovery_codes(), new);
    let left = b.post("/recovery-codes/show", &[]).await;
    assert_eq!(left.location(), "/account");
    let reload = b.get("/recovery-codes/show").await;
    assert_eq!(reload.location(), "/account");
    b.post("/logout", &[]).await;

    // The old set no longer works; the new one does.
    let stale = b.recovery_login(TARO, &old[5]).await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED);
    assert!(stale.error().unwrap().contains("リカバリーコード"));
    b.get("/login/recovery").await;
    let ok = b
        .post("/login/recovery", &[("recovery_code", &new[0])])
        .await;
    assert_eq!(ok.location(), "/account");
    assert!(
        b.get("/account")
            .await
            .text_of("recovery-login-notice")
            .unwrap()
            .contains("残り9個です")
    );

    deliver(&portal).await;
    let mails = portal.state.db.mails(100).await.unwrap();
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.subject.contains("リカバリーコード発行のお知らせ"))
            .count(),
        2,
        "with the confirmation and again"
    );
    let rows = portal.state.db.recent_audit(TARO.0, 100).await.unwrap();
    let issued_rows: Vec<_> = rows
        .iter()
        .filter(|r| r.kind == "recovery_codes_issued")
        .collect();
    assert_eq!(issued_rows.len(), 2);
    for page in [mailbox(&portal, &clock).await] {
        for code in old.iter().chain(&new) {
            assert!(!page.body.contains(code.as_str()));
        }
    }
}

// ---------------------------------------------------------------- 別の端末を追加 (own mode)

/// The engine's customer text of `error`.
fn engine_text(error: &EngineError) -> String {
    totp_enroll_portal::LOCALE.engine_error(error)
}

/// The subjects of the mails queued so far.
async fn mail_subjects(portal: &totp_enroll_portal::app::Portal) -> Vec<String> {
    deliver(portal).await;
    let mails = portal.state.db.mails(100).await.unwrap();
    mails.into_iter().map(|m| m.subject).collect()
}

#[tokio::test]
async fn in_own_mode_an_added_app_logs_in_only_once_confirmed_with_its_own_code() {
    let (portal, clock) = portal_with(own_devices(false)).await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let register = b.apply(TARO).await;
    let first_key = register.copy_key();
    let phone = App::scan(&register);
    b.get("/apply/confirm").await;
    let confirmed = b
        .post("/apply/confirm", &[("code", &phone.code(&clock))])
        .await;
    assert_eq!(confirmed.location(), "/apply/done");

    // 登録情報照会: the apps, 別の端末を追加 instead of コード再表示, no 削除 for the only app.
    let account = b.get("/account").await;
    assert_eq!(account.text_of("otp-status").as_deref(), Some("利用中"));
    assert!(account.text_of("redisplay-button").is_none());
    assert_eq!(
        account.text_of("add-device-button").as_deref(),
        Some("別の端末を追加")
    );
    assert!(account.body.contains("id=\"apps\""));
    assert_eq!(
        account.text_of("app-1-name").as_deref(),
        Some("最初に登録したアプリ")
    );
    assert!(account.body.contains("2025年11月25日 01:00:00（日本時間）"));
    assert!(account.text_of("remove-app-1").is_none(), "the only app");
    // コード再表示 is not offered, and the engine refuses it.
    assert_eq!(b.get("/redisplay").await.location(), "/account");
    clock.advance(30);
    let refused = b.post("/redisplay", &[("code", &phone.code(&clock))]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(
        refused.error(),
        Some(engine_text(&EngineError::RedisplayDisabled))
    );
    assert!(!refused.body.contains("id=\"setup-key\""));

    // 別の端末を追加: name and a current code of the phone.
    let form = b.get("/devices/add").await;
    assert!(form.body.contains("<h1>別の端末を追加</h1>"));
    assert!(
        form.body
            .contains("<label for=\"device-name\">追加する端末の名前</label>")
    );
    assert!(
        form.body
            .contains("<label for=\"otp\">ワンタイムパスワード</label>")
    );
    assert!(
        !form.body.contains("id=\"trade-password\""),
        "not configured"
    );
    let no_name = b
        .post(
            "/devices/add",
            &[("name", " "), ("code", &phone.code(&clock))],
        )
        .await;
    assert_eq!(no_name.status, StatusCode::BAD_REQUEST);
    assert!(no_name.error().unwrap().contains("名前を入力してください"));
    let wrong_code = b
        .post(
            "/devices/add",
            &[("name", "iPad"), ("code", &wrong(&phone.code(&clock)))],
        )
        .await;
    assert_eq!(wrong_code.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong_code.error(),
        Some(engine_text(&EngineError::Refused(Refusal::WrongCode)))
    );
    assert_eq!(
        wrong_code.attr_of("device-name", "value").as_deref(),
        Some("iPad")
    );
    assert!(!wrong_code.body.contains("id=\"setup-key\""));
    assert_eq!(b.get("/devices/register").await.location(), "/account");

    clock.advance(30);
    let register = b.add_device("iPad", &phone.code(&clock), None).await;
    assert!(register.body.contains("<h1>別の端末を追加 -登録-</h1>"));
    assert_eq!(
        register.text_of("device-name-shown").as_deref(),
        Some("iPad")
    );
    assert!(
        register
            .body
            .contains("role=\"img\" aria-label=\"登録用二次元バーコード")
    );
    assert!(register.body.contains("<code id=\"setup-key\" hidden>"));
    assert!(register.body.contains("<td class=\"account-name\">"));
    assert!(
        register
            .body
            .contains("<td class=\"key-type\">時間ベース</td>")
    );
    assert_ne!(register.copy_key(), first_key, "its own secret");
    let tablet = App::scan(&register);
    assert_eq!(
        register.attr_of("next-button", "href").as_deref(),
        Some("/devices/confirm")
    );

    // Pending: listed as such, removable, and no login with its code yet.
    let account = b.get("/account").await;
    assert_eq!(account.text_of("app-2-name").as_deref(), Some("iPad"));
    assert_eq!(
        account.text_of("app-2-pending").as_deref(),
        Some("確認待ち")
    );
    assert!(account.text_of("remove-app-2").is_some());
    assert!(
        account.text_of("remove-app-1").is_none(),
        "still the only confirmed one"
    );
    assert_eq!(
        b.get("/devices/register").await.copy_key(),
        register.copy_key(),
        "the key stays until its confirmation (or the session's end)"
    );
    let out = b.post("/logout", &[]).await;
    assert_eq!(out.location(), "/login", "{}", out.body);
    clock.advance(30);
    let early = b.otp_login(TARO, &tablet.code(&clock)).await;
    assert_eq!(
        early.status,
        StatusCode::UNAUTHORIZED,
        "not before its confirmation"
    );
    let login = b.post("/login/otp", &[("code", &phone.code(&clock))]).await;
    assert_eq!(login.location(), "/account", "the phone keeps working");

    // 確認: another app's code is not the new app's first code.
    let confirm = b.get("/devices/confirm").await;
    assert!(confirm.body.contains("<h1>別の端末を追加 -確認-</h1>"));
    assert_eq!(
        confirm.text_of("device-name-shown").as_deref(),
        Some("iPad")
    );
    assert_eq!(confirm.attr_of("device-id", "value").as_deref(), Some("2"));
    clock.advance(30);
    let with_phone = b
        .post(
            "/devices/confirm",
            &[("id", "2"), ("code", &phone.code(&clock))],
        )
        .await;
    assert_eq!(with_phone.status, StatusCode::UNAUTHORIZED);
    let ok = b
        .post(
            "/devices/confirm",
            &[("id", "2"), ("code", &tablet.code(&clock))],
        )
        .await;
    assert_eq!(ok.location(), "/account", "{}", ok.body);
    let account = b.get("/account").await;
    assert!(
        account
            .text_of("notice")
            .unwrap()
            .contains("「iPad」を追加しました")
    );
    assert!(account.text_of("app-2-pending").is_none());
    assert!(account.text_of("remove-app-1").is_some() && account.text_of("remove-app-2").is_some());
    assert!(
        b.get("/account").await.text_of("notice").is_none(),
        "shown once"
    );
    assert_eq!(
        b.get("/devices/confirm").await.location(),
        "/account",
        "none pending"
    );

    // Both log in.
    b.post("/logout", &[]).await;
    clock.advance(30);
    assert_eq!(
        b.otp_login(TARO, &tablet.code(&clock)).await.location(),
        "/account"
    );
    b.post("/logout", &[]).await;
    assert_eq!(
        b.otp_login(TARO, &phone.code(&clock)).await.location(),
        "/account"
    );

    let subjects = mail_subjects(&portal).await;
    for subject in [
        "【北洋証券】認証アプリ追加のお知らせ",
        "【北洋証券】認証アプリ追加完了のお知らせ",
    ] {
        assert_eq!(
            subjects.iter().filter(|s| *s == subject).count(),
            1,
            "{subjects:?}"
        );
    }
    let rows = portal.state.db.recent_audit(TARO.0, 100).await.unwrap();
    for kind in ["authenticator_added", "authenticator_confirmed"] {
        assert!(rows.iter().any(|r| r.kind == kind), "{kind}");
    }
}

#[tokio::test]
async fn removing_an_app_needs_another_apps_code_and_the_last_cannot_be_removed() {
    let (portal, clock) = portal_with(own_devices(false)).await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let phone = b.enroll(TARO, &clock).await;
    clock.advance(30);
    let tablet = b.add_and_confirm_device("iPad", &phone, &clock, None).await;
    clock.advance(30);

    let account = b.get("/account").await;
    assert_eq!(
        account.attr_of("remove-app-2", "href").as_deref(),
        Some("/devices/remove?id=2")
    );
    let form = b.get("/devices/remove?id=2").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<h1>アプリの削除</h1>"));
    assert_eq!(form.text_of("device-name-shown").as_deref(), Some("iPad"));
    assert!(
        form.body
            .contains("<label for=\"otp\">ワンタイムパスワード</label>")
    );
    assert_eq!(
        form.text_of("remove-submit-button").as_deref(),
        Some("削除")
    );
    // Its own code does not remove it.
    let own_code = b
        .post(
            "/devices/remove",
            &[("id", "2"), ("code", &tablet.code(&clock))],
        )
        .await;
    assert_eq!(own_code.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        own_code.error(),
        Some(engine_text(&EngineError::Refused(Refusal::WrongCode)))
    );
    let unknown = b
        .post(
            "/devices/remove",
            &[("id", "9"), ("code", &phone.code(&clock))],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown.error(),
        Some(engine_text(&EngineError::UnknownAuthenticator(9)))
    );
    let removed = b
        .post(
            "/devices/remove",
            &[("id", "2"), ("code", &phone.code(&clock))],
        )
        .await;
    assert_eq!(removed.location(), "/account", "{}", removed.body);
    let account = b.get("/account").await;
    assert!(
        account
            .text_of("notice")
            .unwrap()
            .contains("「iPad」を削除しました")
    );
    assert!(account.text_of("app-2-name").is_none());
    assert!(
        account.text_of("remove-app-1").is_none(),
        "the last app has no 削除"
    );

    // The last app: no form, and the engine refuses it.
    assert_eq!(b.get("/devices/remove?id=1").await.location(), "/account");
    clock.advance(30);
    let last = b
        .post(
            "/devices/remove",
            &[("id", "1"), ("code", &phone.code(&clock))],
        )
        .await;
    assert_eq!(last.status, StatusCode::CONFLICT);
    assert_eq!(
        last.error(),
        Some(engine_text(&EngineError::LastAuthenticator))
    );
    assert_eq!(
        last.text_of("device-name-shown").as_deref(),
        Some("最初に登録したアプリ")
    );

    // The removed app no longer logs in; the phone does.
    b.post("/logout", &[]).await;
    let gone = b.otp_login(TARO, &tablet.code(&clock)).await;
    assert_eq!(gone.status, StatusCode::UNAUTHORIZED);
    let login = b.post("/login/otp", &[("code", &phone.code(&clock))]).await;
    assert_eq!(login.location(), "/account");
    let subjects = mail_subjects(&portal).await;
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.as_str() == "【北洋証券】認証アプリ削除のお知らせ")
            .count(),
        1,
        "{subjects:?}"
    );
}

#[tokio::test]
async fn in_same_mode_the_manuals_screens_are_unchanged() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let phone = b.enroll(TARO, &clock).await;
    let account = b.get("/account").await;
    assert_eq!(
        account.text_of("redisplay-button").as_deref(),
        Some("コード再表示")
    );
    assert!(account.text_of("add-device-button").is_none());
    assert!(!account.body.contains("id=\"apps\""));
    assert!(
        account.text_of("lost-phone-button").is_none(),
        "not after an app's code"
    );
    for path in ["/devices/add", "/devices/confirm", "/devices/remove?id=1"] {
        assert_eq!(b.get(path).await.location(), "/account", "{path}");
    }
    clock.advance(30);
    let add = b
        .post(
            "/devices/add",
            &[("name", "iPad"), ("code", &phone.code(&clock))],
        )
        .await;
    assert_eq!(
        add.location(),
        "/account",
        "nothing added, no code consumed"
    );
    let auth = b.get("/redisplay").await;
    assert!(!auth.body.contains("id=\"trade-password\""));
    let ok = b.post("/redisplay", &[("code", &phone.code(&clock))]).await;
    assert_eq!(ok.location(), "/redisplay/show");
    let overview = portal
        .state
        .engine
        .overview(&AccountId::new(TARO.0).unwrap())
        .await
        .unwrap();
    assert_eq!(overview.authenticators.len(), 1);
}

#[tokio::test]
async fn the_step_up_setting_asks_for_the_transaction_password_too() {
    // コード再表示 (same mode).
    let (portal, clock) = portal_with(SecondDeviceConfig {
        step_up: true,
        ..SecondDeviceConfig::default()
    })
    .await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let phone = b.enroll(TARO, &clock).await;
    clock.advance(30);
    let auth = b.get("/redisplay").await;
    assert!(
        auth.body
            .contains("<label for=\"trade-password\">取引パスワード</label>")
    );
    assert!(auth.body.contains("id=\"show-password\""));
    let code = phone.code(&clock);
    for fields in [
        &[("code", code.as_str())][..],
        &[
            ("code", code.as_str()),
            ("trade_password", "wrong-trade-pw"),
        ][..],
    ] {
        let refused = b.post("/redisplay", fields).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(
            refused
                .error()
                .unwrap()
                .contains("取引パスワードが正しくありません")
        );
        assert!(!refused.body.contains("id=\"setup-key\""));
    }
    // The code was not consumed by the refusals.
    let ok = b
        .post("/redisplay", &[("code", &code), ("trade_password", TARO.2)])
        .await;
    assert_eq!(ok.location(), "/redisplay/show", "{}", ok.body);
    // The engine itself requires the step-up.
    clock.advance(30);
    let account = AccountId::new(TARO.0).unwrap();
    let bare = portal
        .state
        .engine
        .redisplay(&account, &phone.code(&clock))
        .await;
    assert!(
        matches!(bare, Err(EngineError::StepUp(_))),
        "{:?}",
        bare.map(|_| ())
    );

    // 別の端末を追加 (own mode).
    let (portal, clock) = portal_with(own_devices(true)).await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let phone = b.enroll(TARO, &clock).await;
    clock.advance(30);
    let form = b.get("/devices/add").await;
    assert!(form.body.contains("id=\"trade-password\""));
    let code = phone.code(&clock);
    let refused = b
        .post(
            "/devices/add",
            &[("name", "iPad"), ("code", &code), ("trade_password", "x")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused
            .error()
            .unwrap()
            .contains("取引パスワードが正しくありません")
    );
    assert!(!refused.body.contains("id=\"setup-key\""));
    let register = b.add_device("iPad", &code, Some(TARO.2)).await;
    assert!(register.body.contains("id=\"setup-key\""));
    clock.advance(30);
    let account = AccountId::new(TARO.0).unwrap();
    let bare = portal
        .state
        .engine
        .add_authenticator(&account, "iPad", &phone.code(&clock), None)
        .await;
    assert!(
        matches!(bare, Err(EngineError::StepUp(_))),
        "{:?}",
        bare.map(|n| n.id)
    );

    // アプリの削除 asks for it as well: a device added with one phished code cannot remove
    // the customer's phone with its own code alone.
    let tablet = App::scan(&register);
    b.get("/devices/confirm").await;
    let confirmed = b
        .post(
            "/devices/confirm",
            &[("id", "2"), ("code", &tablet.code(&clock))],
        )
        .await;
    assert_eq!(confirmed.location(), "/account");
    clock.advance(30);
    let form = b.get("/devices/remove?id=1").await;
    assert!(form.body.contains("id=\"trade-password\""));
    let refused = b
        .post(
            "/devices/remove",
            &[
                ("id", "1"),
                ("code", &tablet.code(&clock)),
                ("trade_password", "x"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused
            .error()
            .unwrap()
            .contains("取引パスワードが正しくありません")
    );
    let record = portal.state.engine.store().load(&account).await.unwrap();
    assert!(
        record.unwrap().record.authenticator(1).is_some(),
        "the phone stays"
    );
    let removed = b
        .post(
            "/devices/remove",
            &[
                ("id", "1"),
                ("code", &tablet.code(&clock)),
                ("trade_password", TARO.2),
            ],
        )
        .await;
    assert_eq!(removed.location(), "/account");
}

#[tokio::test]
async fn the_desk_shows_the_apps_by_name_and_removes_one() {
    let (portal, clock) = portal_with(own_devices(false)).await;
    let mut customer = Browser::new(&portal);
    customer.login(TARO).await;
    let phone = customer.enroll(TARO, &clock).await;
    clock.advance(30);
    let tablet = customer
        .add_and_confirm_device("iPad", &phone, &clock, None)
        .await;
    let tablet_key_probe = tablet.code(&clock);
    customer.post("/logout", &[]).await;
    clock.advance(30);

    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let page = desk_page(&mut desk, TARO.0).await;
    let table = page.body.split("id=\"authenticators\"").nth(1).unwrap();
    let table = &table[..table.find("</table>").unwrap()];
    for heading in [
        "ID",
        "名前",
        "アカウント名",
        "登録日時",
        "最終利用日時",
        "時刻のずれ",
    ] {
        assert!(table.contains(&format!(">{heading}</th>")), "{heading}");
    }
    assert!(
        table.contains("<td class=\"app-id\">1</td>")
            && table.contains("<td class=\"app-id\">2</td>")
    );
    assert_eq!(
        page.text_of("desk-app-1-name").as_deref(),
        Some("最初に登録したアプリ")
    );
    assert_eq!(page.text_of("desk-app-2-name").as_deref(), Some("iPad"));
    assert_eq!(
        page.text_of("remove-app-button-2").as_deref(),
        Some("このアプリを削除")
    );
    assert!(
        page.text_of("remove-app-button-1").is_some(),
        "either of two"
    );
    assert!(
        page.body
            .contains("<label for=\"remove-app-reason-2\">理由</label>")
    );
    assert!(!page.body.contains(&tablet_key_probe));

    // コード確認 says which app's code it is.
    let diagnosed = desk
        .post(
            "/desk/diagnose",
            &[("login_id", TARO.0), ("code", &tablet.code(&clock))],
        )
        .await;
    let page = desk.get(diagnosed.location()).await;
    let result = diagnosis(&page).unwrap();
    assert!(
        result.contains("一致したアプリ：「iPad」（ID 2）"),
        "{result}"
    );
    assert!(result.contains("そのままログインできます"), "{result}");

    // このアプリを削除: a reason is required.
    let no_reason = desk
        .post(
            "/desk/remove-authenticator",
            &[
                ("login_id", TARO.0),
                ("authenticator", "2"),
                ("reason", " "),
            ],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    assert!(
        no_reason
            .error()
            .unwrap()
            .contains("アプリの削除の理由を入力してください")
    );
    let done = desk
        .post(
            "/desk/remove-authenticator",
            &[
                ("login_id", TARO.0),
                ("authenticator", "2"),
                ("reason", "タブレット紛失、本人確認済み"),
            ],
        )
        .await;
    assert_eq!(
        done.location(),
        format!("/desk?login_id={}&done=remove-authenticator", TARO.0)
    );
    let page = desk.get(done.location()).await;
    assert!(
        page.text_of("notice")
            .unwrap()
            .contains("アプリ「iPad」（ID 2）を削除しました"),
        "{:?}",
        page.text_of("notice")
    );
    assert!(page.text_of("desk-app-2-name").is_none());
    assert!(
        page.text_of("remove-app-button-1").is_none(),
        "not for the last app"
    );
    assert!(page.body.contains("認証アプリ 2 番を削除（担当 desk-01）"));
    // The last one, posted anyway: the engine refuses it.
    let last = desk
        .post(
            "/desk/remove-authenticator",
            &[
                ("login_id", TARO.0),
                ("authenticator", "1"),
                ("reason", "誤操作"),
            ],
        )
        .await;
    assert_eq!(last.status, StatusCode::CONFLICT);
    let error = last.error().unwrap();
    assert!(
        error.starts_with(&engine_text(&EngineError::LastAuthenticator)),
        "{error}"
    );
    assert!(error.contains("リセット"), "{error}");
    assert_eq!(last.text_of("otp-status").as_deref(), Some("利用中"));

    // The customer: the tablet no longer logs in, and a mail tells of the removal.
    let refused = customer.otp_login(TARO, &tablet.code(&clock)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let subjects = mail_subjects(&portal).await;
    assert!(
        subjects
            .iter()
            .any(|s| s == "【北洋証券】認証アプリ削除のお知らせ"),
        "{subjects:?}"
    );
}

#[tokio::test]
async fn a_lost_phone_is_stopped_with_a_recovery_code_then_applied_for_again() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let (_lost_phone, codes) = b.enroll_with_codes(TARO, &clock).await;
    b.post("/logout", &[]).await;
    clock.advance(30);

    let recovered = b.recovery_login(TARO, &codes[0]).await;
    assert_eq!(recovered.location(), "/account");
    let account = b.get("/account").await;
    assert!(
        account
            .text_of("recovery-login-notice")
            .unwrap()
            .contains("「スマートフォンを紛失した場合：利用停止」")
    );
    assert_eq!(
        account.text_of("lost-phone-button").as_deref(),
        Some("スマートフォンを紛失した場合：利用停止")
    );
    assert_eq!(
        account.attr_of("lost-phone-button", "href").as_deref(),
        Some("/stop/lost")
    );
    let form = b.get("/stop/lost").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body
            .contains("<h1>スマートフォンを紛失した場合の利用停止</h1>")
    );
    assert!(
        form.body
            .contains("<label for=\"recovery-code\">リカバリーコード</label>")
    );
    assert!(
        form.body
            .contains("<label for=\"trade-password\">取引パスワード</label>")
    );
    assert!(
        form.text_of("other-apps-note").is_none(),
        "same mode: one app"
    );

    // A wrong transaction password uses up nothing.
    let wrong_pw = b
        .post(
            "/stop/lost",
            &[
                ("recovery_code", &codes[1]),
                ("trade_password", "wrong-trade-pw"),
            ],
        )
        .await;
    assert_eq!(wrong_pw.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong_pw
            .error()
            .unwrap()
            .contains("取引パスワードが正しくありません")
    );
    // The code used for the login is used up.
    let used = b
        .post(
            "/stop/lost",
            &[("recovery_code", &codes[0]), ("trade_password", TARO.2)],
        )
        .await;
    assert_eq!(used.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        used.error(),
        Some(totp_enroll_portal::LOCALE.recovery_code_refusal(&Refusal::WrongCode))
    );
    assert_eq!(
        b.get("/account").await.text_of("otp-status").as_deref(),
        Some("利用中")
    );

    let stopped = b
        .post(
            "/stop/lost",
            &[("recovery_code", &codes[1]), ("trade_password", TARO.2)],
        )
        .await;
    assert_eq!(stopped.location(), "/stop/done", "{}", stopped.body);
    let done = b.get("/stop/done").await;
    assert!(done.body.contains("<h1>サービス利用停止 -受付-</h1>"));
    let account = b.get("/account").await;
    assert_eq!(account.text_of("otp-status").as_deref(), Some("未登録"));
    assert!(account.text_of("lost-phone-button").is_none());
    assert_eq!(b.get("/stop/lost").await.location(), "/account");

    // The mails: the login's recovery code, then the stop (not a second "login").
    let subjects = mail_subjects(&portal).await;
    let count = |subject: &str| subjects.iter().filter(|s| s.contains(subject)).count();
    assert_eq!(
        count("リカバリーコードによるログインのお知らせ"),
        1,
        "{subjects:?}"
    );
    assert_eq!(count("利用停止のお知らせ"), 1, "{subjects:?}");
    let rows = portal.state.db.recent_audit(TARO.0, 100).await.unwrap();
    assert!(
        rows.iter()
            .any(|r| r.detail == totp_enroll_portal::notify::STOPPED_WITH_RECOVERY_CODE)
    );
    assert!(rows.iter().any(|r| r.kind == "stopped"));

    // 申込 with the new phone, as usual; the old recovery codes are gone.
    let new_phone = b.enroll(TARO, &clock).await;
    b.get("/apply/done").await;
    b.post("/logout", &[]).await;
    clock.advance(30);
    let old = b.recovery_login(TARO, &codes[2]).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let login = b.otp_login(TARO, &new_phone.code(&clock)).await;
    assert_eq!(login.location(), "/account");
}

#[tokio::test]
async fn in_own_mode_the_lost_phone_page_points_to_removing_one_app() {
    let (portal, clock) = portal_with(own_devices(false)).await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let (phone, codes) = b.enroll_with_codes(TARO, &clock).await;
    clock.advance(30);
    b.add_and_confirm_device("iPad", &phone, &clock, None).await;
    b.post("/logout", &[]).await;
    assert_eq!(
        b.recovery_login(TARO, &codes[0]).await.location(),
        "/account"
    );
    let page = b.get("/stop/lost").await;
    assert!(
        page.text_of("other-apps-note")
            .unwrap()
            .contains("「削除」")
    );
    let stopped = b
        .post(
            "/stop/lost",
            &[("recovery_code", &codes[1]), ("trade_password", TARO.2)],
        )
        .await;
    assert_eq!(stopped.location(), "/stop/done");
    let overview = portal
        .state
        .engine
        .overview(&AccountId::new(TARO.0).unwrap())
        .await
        .unwrap();
    assert!(overview.authenticators.is_empty(), "every app erased");
    assert_eq!(overview.recovery_codes_remaining, 0);
}

#[tokio::test]
async fn the_new_screens_label_every_field() {
    let (portal, clock) = portal_with(own_devices(true)).await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let (phone, codes) = b.enroll_with_codes(TARO, &clock).await;
    clock.advance(30);
    let mut pages = vec![b.get("/devices/add").await];
    pages.push(
        b.add_device("iPad", &phone.code(&clock), Some(TARO.2))
            .await,
    );
    pages.push(b.get("/devices/confirm").await);
    pages.push(b.get("/devices/remove?id=2").await);
    pages.push(b.get("/account").await);
    b.post("/logout", &[]).await;
    b.recovery_login(TARO, &codes[0]).await;
    pages.push(b.get("/account").await);
    pages.push(b.get("/stop/lost").await);
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    pages.push(desk_page(&mut desk, TARO.0).await);
    for page in &pages {
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_every_field_labelled(page);
    }
}

// ---------------------------------------------------------------- Eメール通知

#[tokio::test]
async fn factor_changes_send_mail_and_logins_do_not() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_02, &clock).await;
    let empty = desk.get("/desk/mail").await;
    assert!(empty.body.contains("メールはありません。"));
    b.login(TARO).await;
    let app = b.enroll(TARO, &clock).await;
    b.post("/logout", &[]).await;
    clock.advance(30);
    b.password_step(TARO).await;
    b.get("/login/otp").await;
    b.post("/login/otp", &[("code", &app.code(&clock))]).await;

    deliver(&portal).await;
    let mails = portal.state.db.mails(10).await.unwrap();
    let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        mails.len(),
        2,
        "the confirmation and its recovery codes only: a login is not a factor change: {subjects:?}"
    );
    assert!(subjects.iter().any(|s| s.contains("お申込み完了")));
    assert!(subjects.iter().any(|s| s.contains("リカバリーコード発行")));
    for mail in &mails {
        assert_eq!(mail.to_address, "taro@example.jp");
        assert!(mail.body.starts_with("北洋 太郎 様"));
    }
    let page = desk.get("/desk/mail").await;
    assert!(page.body.contains("taro@example.jp"));
    assert!(!page.body.contains(&app.code(&clock)));
}

// ---------------------------------------------------------------- audit trail

#[tokio::test]
async fn a_logins_audit_row_carries_its_request_id_and_the_peer_address() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.peer = Some("203.0.113.7:41000".parse().unwrap());
    b.headers.push((
        header::USER_AGENT,
        HeaderValue::from_static("PortalTest/1.0 (iPhone)"),
    ));
    // Anyone can send this header; the portal (no proxy configured) does not read it.
    b.headers.push((
        HeaderName::from_static("x-forwarded-for"),
        HeaderValue::from_static("198.51.100.23"),
    ));
    b.login(TARO).await;
    let app = b.enroll(TARO, &clock).await;
    b.post("/logout", &[]).await;
    clock.advance(30);
    b.password_step(TARO).await;
    b.get("/login/otp").await;
    let login = b.post("/login/otp", &[("code", &app.code(&clock))]).await;
    assert_eq!(login.location(), "/account");

    assert!(deliver(&portal).await >= 3, "started, confirmed, login");
    let rows = portal.state.db.recent_audit(TARO.0, 10).await.unwrap();
    let row = rows.iter().find(|r| r.kind == "login").unwrap();
    assert_eq!(row.request_id.as_deref(), Some(login.request_id().as_str()));
    assert_eq!(row.client.as_deref(), Some("203.0.113.7"));
    assert_eq!(row.user_agent.as_deref(), Some("PortalTest/1.0 (iPhone)"));
    assert!(
        rows.iter()
            .all(|r| r.event_id.is_some() && r.client.as_deref() == Some("203.0.113.7"))
    );
}

#[tokio::test]
async fn a_redelivered_factor_change_queues_its_mail_once() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    b.enroll(TARO, &clock).await;

    // What the outbox holds, as the library's delivery hands it over.
    let store = portal.state.engine.store();
    let batch: Vec<DeliveredEvent> = store
        .pending_events(100)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| DeliveredEvent::new(entry.id, AuditEvent::decode(&entry.bytes).unwrap()))
        .collect();
    assert!(
        batch
            .iter()
            .any(|d| matches!(d.event.kind, AuditKind::EnrollmentConfirmed { .. }))
    );
    // Delivered twice (as after a lost acknowledgement), then a third time by the outbox,
    // which removes the events only then.
    let delivery = portal.state.audit.delivery();
    delivery.deliver(&batch).await.unwrap();
    delivery.deliver(&batch).await.unwrap();
    assert_eq!(deliver(&portal).await, batch.len());
    assert!(store.pending_events(100).await.unwrap().is_empty());
    assert_eq!(deliver(&portal).await, 0);

    let mails = portal.state.db.mails(100).await.unwrap();
    assert_eq!(
        mails.len(),
        2,
        "one mail for the confirmation, one for its recovery codes"
    );
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.subject.contains("お申込み完了"))
            .count(),
        1
    );
    let rows = portal.state.db.recent_audit(TARO.0, 100).await.unwrap();
    assert_eq!(rows.len(), batch.len(), "one row per event");
}

#[tokio::test]
async fn every_field_has_a_label() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    let mut pages = vec![b.get("/login").await];
    b.login(TARO).await;
    pages.push(b.get("/apply").await);
    pages.push(b.get("/apply/confirm").await);
    b.enroll(TARO, &clock).await;
    let mut desk = Browser::new(&portal);
    pages.push(desk.get("/desk").await);
    desk.desk_login(DESK_01, &clock).await;
    let looked_up = desk_page(&mut desk, TARO.0).await;
    assert!(looked_up.body.contains("id=\"diagnose-code\""));
    pages.push(looked_up);
    for page in pages {
        assert_every_field_labelled(&page);
    }
}

/// Every visible `<input>` and `<textarea>` of `page` has a `<label for=…>`.
fn assert_every_field_labelled(page: &support::Page) {
    for element in ["<input", "<textarea"] {
        for chunk in page.body.split(element).skip(1) {
            let tag = &chunk[..chunk.find('>').unwrap()];
            if tag.contains("type=\"hidden\"") {
                continue;
            }
            let id = tag
                .split("id=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            assert!(
                page.body.contains(&format!("<label for=\"{id}\">")),
                "label for {id}"
            );
        }
    }
}

#[tokio::test]
async fn storage_down_is_a_503_with_a_japanese_page_not_a_500() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    match portal.state.engine.store() {
        totp_enroll_portal::store::PortalStore::Sqlite(store) => store.close().await,
        totp_enroll_portal::store::PortalStore::Postgres(store) => store.close().await,
    }
    let page = b.get("/account").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.error().unwrap().contains("混み合っております"));
}

#[tokio::test]
async fn the_clock_hook_drives_the_engine() {
    let (portal, clock) = portal().await;
    assert_eq!(portal.state.now().unwrap(), clock.now().unwrap());
}

// ---------------------------------------------------------------- background work

#[tokio::test]
async fn stopping_the_background_work_delivers_what_is_pending() {
    let (portal, clock) = portal().await;
    let background = Background::spawn(&portal.state, None);
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    b.enroll(TARO, &clock).await;
    background.stop().await;
    let store = portal.state.engine.store();
    assert!(store.pending_events(100).await.unwrap().is_empty());
    let rows = portal.state.db.recent_audit(TARO.0, 10).await.unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert!(kinds.contains(&"confirmed"), "{kinds:?}");
    assert!(kinds.contains(&"recovery_codes_issued"), "{kinds:?}");
}

/// Writes `text` to `path` with `mode`.
fn write_key_file(path: &std::path::Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn a_key_reload_keeps_the_ring_unless_the_file_holds_every_key_in_use() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let app = b.enroll(TARO, &clock).await; // sealed under key 1
    let engine = &portal.state.engine;
    let dir = std::env::temp_dir().join(format!("portal-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sealing-keys.txt");

    let missing = reload_keys(engine, &path).await.unwrap_err();
    assert!(matches!(missing, ReloadError::Read(_)), "{missing}");

    let only_new = KeyRing::new(2, [7; 32]).export_text();
    write_key_file(&path, &only_new, 0o600);
    let refused = reload_keys(engine, &path).await.unwrap_err();
    assert!(
        matches!(&refused, ReloadError::MissingKeys { missing } if missing == &[1]),
        "{refused}"
    );

    let mut rotated = (*engine.keys()).clone();
    rotated.rotate(2, [7; 32]);
    let rotated = rotated.export_text();
    write_key_file(&path, &rotated, 0o644);
    let readable = reload_keys(engine, &path).await.unwrap_err();
    assert!(matches!(readable, ReloadError::Read(_)), "{readable}");

    write_key_file(&path, "totp-enroll-keys/v1; current=2; 2=!!!!", 0o600);
    let malformed = reload_keys(engine, &path).await.unwrap_err();
    assert!(!malformed.to_string().contains("!!!!"), "{malformed}");

    assert_eq!(engine.keys().key_ids(), [1], "every failure kept the ring");
    assert_eq!(engine.keys().current_key_id(), 1);

    write_key_file(&path, &rotated, 0o600);
    assert_eq!(
        reload_keys(engine, &path).await.unwrap(),
        ReloadedRing {
            current: 2,
            key_ids: vec![1, 2]
        }
    );
    assert_eq!(engine.keys().current_key_id(), 2);
    // The record sealed under key 1 still opens: the customer logs in with the code.
    b.post("/logout", &[]).await;
    clock.advance(30);
    b.password_step(TARO).await;
    b.get("/login/otp").await;
    let login = b.post("/login/otp", &[("code", &app.code(&clock))]).await;
    assert_eq!(login.location(), "/account");
    let _ = std::fs::remove_dir_all(&dir);
}
