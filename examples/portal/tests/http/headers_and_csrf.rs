//! Security headers and CSRF on every route.

use super::*;

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
