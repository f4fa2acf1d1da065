//! Sessions against a web attacker: a login starts from an empty session (nothing of a
//! previous customer survives), anonymous requests create no server-side state (the login
//! forms' CSRF token is a double-submit cookie), sessions are bounded so that no one can
//! evict another's, a second cookie of the session's name is no session, `__Host-` cookies
//! behind TLS, the desk's store serves `/desk` and `/desk/…` only, and the lifetimes are
//! configuration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use support::{Browser, DESK_01, HANAKO, TARO, portal, portal_configured};
use totp_enroll_portal::session::{SessionLifetimes, SessionSettings};

/// The `Set-Cookie` values of `page`.
fn set_cookies(page: &support::Page) -> Vec<String> {
    page.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------- P1

#[tokio::test]
async fn a_login_starts_from_an_empty_session() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    // Customer 1 passes the transaction-password step: the setup key is in the session.
    b.login(TARO).await;
    let register = b.apply(TARO).await;
    let taro_key = register.copy_key();
    let taro_session = b.cookie("portal_session").cloned().unwrap();
    // In the same browser, customer 2 logs in.
    let login = b
        .post("/login", &[("login_id", HANAKO.0), ("password", HANAKO.1)])
        .await;
    assert_eq!(login.location(), "/account");
    assert_ne!(b.cookie("portal_session").unwrap(), &taro_session);
    let register = b.get("/apply/register").await;
    assert_eq!(
        register.location(),
        "/account",
        "no registration screen: nothing of customer 1's session survived"
    );
    assert!(!register.body.contains(&taro_key));
    let account = b.get("/account").await;
    assert_eq!(
        account.text_of("customer-name").as_deref(),
        Some("北洋 花子 様")
    );
    assert!(!account.body.contains(&taro_key));
    // Customer 1's session ended with the new login.
    let mut stale = b.clone();
    stale.set_session(&taro_session);
    assert_eq!(stale.get("/apply/register").await.location(), "/login");
}

#[tokio::test]
async fn a_password_step_in_a_pending_login_starts_from_an_empty_session_too() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let app = b.enroll(TARO, &clock).await;
    b.post("/logout", &[]).await;
    clock.advance(30);
    // TARO's password step: a pending login for TARO's code …
    assert_eq!(b.password_step(TARO).await.location(), "/login/otp");
    // … then HANAKO's password in the same browser: TARO's code no longer logs anyone in.
    b.get("/login").await;
    let hanako = b
        .post("/login", &[("login_id", HANAKO.0), ("password", HANAKO.1)])
        .await;
    assert_eq!(hanako.location(), "/account");
    b.get("/account").await;
    assert_eq!(b.get("/login/otp").await.location(), "/login");
    let code = b.post("/login/otp", &[("code", &app.code(&clock))]).await;
    assert_eq!(code.location(), "/login", "no pending login of TARO's");
    assert_eq!(
        b.get("/account").await.text_of("customer-name").as_deref(),
        Some("北洋 花子 様")
    );
}

// ---------------------------------------------------------------- P5

#[tokio::test]
async fn anonymous_requests_create_no_session_and_a_flood_logs_nobody_out() {
    let (portal, _) = portal().await;
    let mut taro = Browser::new(&portal);
    taro.login(TARO).await;
    assert_eq!(portal.state.sessions.len(), 1);
    let mut flood = Browser::new(&portal);
    for round in 0..500 {
        for path in ["/login", "/desk", "/", "/account", "/login/otp", "/no-such"] {
            let request = Request::get(path).body(Body::empty()).unwrap();
            let page = flood.send(request).await;
            assert!(
                set_cookies(&page).iter().all(|c| !c.contains("_session=")),
                "{path}: no session cookie for an anonymous visitor"
            );
        }
        let forged = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("login_id=x{round}&password=y")))
            .unwrap();
        assert_eq!(flood.send(forged).await.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(portal.state.sessions.len(), 1, "the store did not grow");
    assert!(portal.state.desk_sessions.is_empty());
    assert_eq!(taro.get("/account").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_login_forms_carry_a_double_submit_token_until_a_session_exists() {
    let (portal, _) = portal().await;
    for (form_path, post_path, cookie_name, fields) in [
        (
            "/login",
            "/login",
            "portal_login_csrf",
            [("login_id", TARO.0), ("password", TARO.1)],
        ),
        (
            "/desk",
            "/desk/login",
            "desk_login_csrf",
            [("operator", "desk-01"), ("password", "demo-desk-pw")],
        ),
    ] {
        let mut b = Browser::new(&portal);
        let page = b.get(form_path).await;
        let token = page.csrf().unwrap();
        assert_eq!(b.cookie(cookie_name), Some(&token), "the same token twice");
        let cookie = set_cookies(&page)
            .into_iter()
            .find(|c| c.starts_with(cookie_name))
            .unwrap();
        assert!(cookie.contains("; HttpOnly; SameSite=Strict"), "{cookie}");
        // Another visitor's pair works for him only: his token with our cookie fails.
        let mut other = Browser::new(&portal);
        let theirs = other.get(form_path).await.csrf().unwrap();
        assert_ne!(theirs, token);
        let mixed = b
            .post_raw(post_path, &[("csrf", &theirs), fields[0], fields[1]])
            .await;
        assert_eq!(mixed.status, StatusCode::FORBIDDEN, "{post_path}");
        // The token without its cookie fails.
        let mut no_cookie = Browser::new(&portal);
        let alone = no_cookie
            .post_raw(post_path, &[("csrf", &token), fields[0], fields[1]])
            .await;
        assert_eq!(alone.status, StatusCode::FORBIDDEN, "{post_path}");
        // The pair logs in; the form cookie is then deleted and the session's token used.
        let ok = b
            .post_raw(post_path, &[("csrf", &token), fields[0], fields[1]])
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{post_path}");
        assert!(
            set_cookies(&ok)
                .iter()
                .any(|c| c.starts_with(&format!("{cookie_name}=;")) && c.contains("Max-Age=0")),
            "{:?}",
            set_cookies(&ok)
        );
        assert!(b.cookie(cookie_name).is_none());
        let next = b.get(ok.location()).await;
        assert_ne!(next.csrf().unwrap(), token, "the session's own token");
    }
}

#[tokio::test]
async fn a_login_ids_sessions_are_bounded_by_ending_its_own_oldest() {
    let (portal, _) = portal().await;
    let mut hanako = Browser::new(&portal);
    hanako.login(HANAKO).await;
    let mut taros = Vec::new();
    for _ in 0..SessionSettings::DEFAULT_MAX_PER_LOGIN + 1 {
        let mut b = Browser::new(&portal);
        b.login(TARO).await;
        taros.push(b);
    }
    assert_eq!(
        taros[0].get("/account").await.location(),
        "/login",
        "TARO's oldest session made room for his newest"
    );
    for b in &mut taros[1..] {
        assert_eq!(b.get("/account").await.status, StatusCode::OK);
    }
    assert_eq!(hanako.get("/account").await.status, StatusCode::OK);
    assert_eq!(
        portal.state.sessions.len(),
        SessionSettings::DEFAULT_MAX_PER_LOGIN + 1
    );
}

#[tokio::test]
async fn a_full_store_refuses_a_new_login_with_503_and_evicts_nobody() {
    let (portal, clock) = portal_configured(|options| {
        options.sessions.max_sessions = 2;
    })
    .await;
    let mut taro = Browser::new(&portal);
    taro.login(TARO).await;
    let mut hanako = Browser::new(&portal);
    hanako.login(HANAKO).await;
    let mut third = Browser::new(&portal);
    let refused = third.password_step(TARO).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.error().unwrap().contains("混み合っております"));
    assert!(third.cookie("portal_session").is_none());
    assert_eq!(taro.get("/account").await.status, StatusCode::OK);
    assert_eq!(hanako.get("/account").await.status, StatusCode::OK);
    // Expired sessions make room again.
    clock.advance(15 * 60);
    third.login(TARO).await;
    assert_eq!(third.get("/account").await.status, StatusCode::OK);
}

// ---------------------------------------------------------------- P9

#[tokio::test]
async fn two_cookies_of_the_session_name_are_no_session() {
    let (portal, _) = portal().await;
    let mut victim = Browser::new(&portal);
    victim.login(TARO).await;
    let mut attacker = Browser::new(&portal);
    attacker.login(HANAKO).await;
    let victims = victim.cookie("portal_session").unwrap().clone();
    let attackers = attacker.cookie("portal_session").unwrap().clone();
    // A sibling domain's cookie in front of the portal's (or behind it): neither is used.
    for cookies in [
        format!("portal_session={attackers}; portal_session={victims}"),
        format!("portal_session={victims}; portal_session={attackers}"),
    ] {
        let request = Request::get("/account")
            .header(header::COOKIE, cookies)
            .body(Body::empty())
            .unwrap();
        let page = victim.send(request).await;
        assert_eq!(page.location(), "/login");
        assert!(!page.body.contains("北洋"));
    }
    // Each alone is its own session still.
    assert_eq!(victim.get("/account").await.status, StatusCode::OK);
    assert_eq!(attacker.get("/account").await.status, StatusCode::OK);
}

#[tokio::test]
async fn behind_tls_the_cookies_have_the_host_prefix() {
    let (portal, _) = portal_configured(|options| options.secure_cookies = true).await;
    let mut b = Browser::new(&portal);
    let form = b.get("/login").await;
    let login = b
        .post("/login", &[("login_id", TARO.0), ("password", TARO.1)])
        .await;
    let mut desk = Browser::new(&portal);
    let desk_form = desk.get("/desk").await;
    let desk_login = desk
        .post(
            "/desk/login",
            &[("operator", "desk-01"), ("password", "demo-desk-pw")],
        )
        .await;
    let all: Vec<String> = [&form, &login, &desk_form, &desk_login]
        .into_iter()
        .flat_map(set_cookies)
        .filter(|c| !c.contains("Max-Age=0"))
        .collect();
    for prefix in [
        "__Host-portal_login_csrf=",
        "__Host-portal_session=",
        "__Host-desk_login_csrf=",
        "__Host-desk_session=",
    ] {
        let cookie = all
            .iter()
            .find(|c| c.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix} in {all:?}"));
        assert!(cookie.contains("; Path=/;"), "{cookie}");
        assert!(cookie.ends_with("; Secure"), "{cookie}");
        assert!(!cookie.contains("Domain"), "{cookie}");
    }
    assert_eq!(b.get("/account").await.status, StatusCode::OK);
    // A cookie without the prefix is not the session's.
    let id = b.cookie("__Host-portal_session").unwrap().clone();
    let mut plain = Browser::new(&portal);
    plain.set_session(&id);
    assert_eq!(plain.get("/account").await.location(), "/login");
}

#[tokio::test]
async fn the_desks_sessions_serve_desk_and_below_only() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let customer_token = b.get("/account").await.csrf().unwrap();
    b.desk_login(DESK_01, &clock).await;
    assert!(b.cookie("desk_session").is_some());
    // `/desktop` is a customer path: its POST is checked against the customer's session,
    // and it does not exist.
    let page = b.post_raw("/desktop", &[("csrf", &customer_token)]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(b.get("/desktop").await.status, StatusCode::NOT_FOUND);
    let desk_token = b.get("/desk").await.csrf().unwrap();
    let page = b.post_raw("/desktop", &[("csrf", &desk_token)]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "not the desk's session");
}

#[tokio::test]
async fn session_lifetimes_follow_the_configuration() {
    let (portal, clock) = portal_configured(|options| {
        options.sessions.lifetimes = SessionLifetimes::new(120, 600).unwrap();
    })
    .await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    clock.advance(119);
    assert_eq!(b.get("/account").await.status, StatusCode::OK);
    clock.advance(120);
    assert_eq!(b.get("/account").await.location(), "/login", "120 s idle");
    b.login(TARO).await;
    for _ in 0..5 {
        clock.advance(100);
        assert_eq!(b.get("/account").await.status, StatusCode::OK);
    }
    clock.advance(100);
    assert_eq!(b.get("/account").await.location(), "/login", "600 s in all");
}
