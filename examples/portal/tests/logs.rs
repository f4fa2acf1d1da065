//! Nothing secret reaches the log: a whole login and enrollment, a login with a recovery
//! code (and a refused one), the issue of new recovery codes, and the support desk's code
//! check and resync from codes the customer read out, at TRACE level, with the
//! request spans, the engine's spans and the audit lines of the delivery, hold no
//! password, setup key, code, recovery code, CSRF token or session id; the audit line names
//! the request (its `X-Request-Id`) and the client. Its own test process, so the log
//! subscriber can be process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{App, Browser, TARO, deliver, portal, wrong};

/// A log sink for one test: everything written at any level.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_password_key_or_code_reaches_the_log() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .without_time() // a timestamp could hold six digits of a code
        // Plain text: colour codes (on when a workspace build enables `ansi`) would split it.
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    // The process-wide subscriber (this file is its own test process): a thread-local one
    // would miss callsites that other threads registered first.
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.peer = Some("203.0.113.9:50123".parse().unwrap());
    b.get("/login").await;
    b.post(
        "/login",
        &[("login_id", TARO.0), ("password", "wrong-pw-xyz")],
    )
    .await;
    b.login(TARO).await;
    let register = b.apply(TARO).await;
    let key = register.copy_key();
    let app = App::scan(&register);
    let code = app.code(&clock);
    b.post("/apply/confirm", &[("code", &wrong(&code))]).await;
    let confirmed = b.post("/apply/confirm", &[("code", &code)]).await;
    assert_eq!(confirmed.location(), "/apply/done");
    let csrf = b.csrf.clone().unwrap();
    let mut recovery_codes = b.get("/apply/done").await.recovery_codes();
    assert_eq!(recovery_codes.len(), 10);

    // A login with a recovery code, a refused one (the same again), new codes.
    b.post("/logout", &[]).await;
    let recovered = b.recovery_login(TARO, &recovery_codes[0]).await;
    assert_eq!(recovered.location(), "/account");
    b.get("/account").await;
    b.post("/logout", &[]).await;
    let refused = b.recovery_login(TARO, &recovery_codes[0]).await;
    assert_eq!(refused.status, axum::http::StatusCode::UNAUTHORIZED);
    b.get("/login/otp").await;
    clock.advance(30);
    let login_code = app.code(&clock);
    let login = b.post("/login/otp", &[("code", &login_code)]).await;
    assert_eq!(login.location(), "/account");
    clock.advance(30);
    let issue_code = app.code(&clock);
    b.get("/recovery-codes").await;
    let issued = b.post("/recovery-codes", &[("code", &issue_code)]).await;
    assert_eq!(issued.location(), "/recovery-codes/show");
    let new_codes = b.get("/recovery-codes/show").await.recovery_codes();
    assert_eq!(new_codes.len(), 10);
    recovery_codes.extend(new_codes);

    // The support desk: a code check (4 minutes fast) and a resync from two consecutive
    // codes the customer read out.
    let mut desk = Browser::new(&portal);
    desk.get("/desk").await;
    let operator = desk
        .post(
            "/desk/login",
            &[("operator", "desk-01"), ("password", "demo-desk-pw")],
        )
        .await;
    assert_eq!(operator.location(), "/desk");
    desk.get(&format!("/desk?login_id={}", TARO.0)).await;
    let diagnosed_code = app.code_off_by(&clock, 240);
    let diagnosed = desk
        .post(
            "/desk/diagnose",
            &[("login_id", TARO.0), ("code", &diagnosed_code)],
        )
        .await;
    assert_eq!(diagnosed.status, axum::http::StatusCode::SEE_OTHER);
    desk.get(diagnosed.location()).await;
    let resync_first = app.code_off_by(&clock, 120);
    clock.advance(30);
    let resync_second = app.code_off_by(&clock, 120);
    let resynced = desk
        .post(
            "/desk/resync",
            &[
                ("login_id", TARO.0),
                ("first", &resync_first),
                ("second", &resync_second),
                ("reason", "時刻ずれのご相談"),
            ],
        )
        .await;
    assert_eq!(resynced.status, axum::http::StatusCode::SEE_OTHER);
    deliver(&portal).await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let audit_line = log
        .lines()
        .find(|line| line.contains("totp_enroll_portal::audit") && line.contains("\"confirmed\""))
        .unwrap_or_else(|| panic!("an audit line for the confirmation: {log}"));
    assert!(
        audit_line.contains(&confirmed.request_id()),
        "the request's id: {audit_line}"
    );
    assert!(
        audit_line.contains("203.0.113.9"),
        "the client: {audit_line}"
    );
    assert!(log.contains("/apply/confirm"), "requests are logged: {log}");
    assert!(
        log.contains("totp_enroll::engine"),
        "engine calls are logged: {log}"
    );
    for secret in [
        TARO.1,
        TARO.2,
        "wrong-pw-xyz",
        key.as_str(),
        &key[..8],
        code.as_str(),
        wrong(&code).as_str(),
        login_code.as_str(),
        issue_code.as_str(),
        diagnosed_code.as_str(),
        resync_first.as_str(),
        resync_second.as_str(),
        "demo-desk-pw",
        csrf.as_str(),
    ] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
    assert!(
        log.contains("verify_recovery_code") && log.contains("issue_recovery_codes"),
        "the recovery-code calls are logged: {log}"
    );
    assert!(
        log.contains("diagnose") && log.contains("desk_resync"),
        "the desk's calls are logged: {log}"
    );
    for recovery_code in &recovery_codes {
        let plain = recovery_code.replace('-', "");
        let typed = recovery_code.to_lowercase();
        for form in [
            recovery_code.as_str(),
            plain.as_str(),
            &plain[..8],
            typed.as_str(),
        ] {
            assert!(!log.contains(form), "a recovery code in the log");
        }
    }
    let cookie = b.cookie("portal_session").unwrap();
    assert!(!log.contains(cookie.as_str()), "session id in the log");
}
