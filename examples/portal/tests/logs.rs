//! Nothing secret reaches the log: a whole login and enrollment, a login with a recovery
//! code (and a refused one), the issue of new recovery codes, the support desk's code
//! check and resync from codes the customer read out, the operator's login with the
//! desk's one-time password (enrolled at the first login; refused codes too), and (in
//! `own` mode with the
//! transaction password) adding, confirming and removing apps, the desk's removal of one
//! and the lost-phone 利用停止 with a recovery code, at TRACE level, with the
//! request spans, the engine's spans and the audit lines of the delivery, hold no
//! password, setup key, code, recovery code, CSRF token or session id; the audit line names
//! the request (its `X-Request-Id`) and the client. Its own test process, so the log
//! subscriber can be process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{
    App, Browser, DESK_01, HANAKO, TARO, deliver, own_devices, portal, portal_with, wrong,
};

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
    let issued = b
        .post(
            "/recovery-codes",
            &[("code", &issue_code), ("trade_password", TARO.2)],
        )
        .await;
    assert_eq!(issued.location(), "/recovery-codes/show");
    let new_codes = b.get("/recovery-codes/show").await.recovery_codes();
    assert_eq!(new_codes.len(), 10);
    recovery_codes.extend(new_codes);

    // The support desk: the operator's login (a wrong password, then the enrollment of
    // the desk's one-time password with a refused code first; later a login with a wrong
    // code, then the right one) …
    let mut desk = Browser::new(&portal);
    desk.desk_password((DESK_01.0, "wrong-desk-pw-xyz")).await;
    let operator = desk.desk_password(DESK_01).await;
    assert_eq!(operator.location(), "/desk/enroll");
    let desk_key = desk.get("/desk/enroll").await.copy_key();
    let desk_app = App::from_key(&desk_key);
    let mut desk_codes = vec![desk_app.code(&clock)];
    desk.post("/desk/enroll", &[("code", &wrong(&desk_codes[0]))])
        .await;
    let enrolled = desk.post("/desk/enroll", &[("code", &desk_codes[0])]).await;
    assert_eq!(enrolled.location(), "/desk");
    desk.get("/desk").await;
    desk.post("/desk/logout", &[]).await;
    clock.advance(30);
    desk_codes.push(desk_app.code(&clock));
    assert_eq!(desk.desk_password(DESK_01).await.location(), "/desk/otp");
    desk.get("/desk/otp").await;
    desk.post("/desk/otp", &[("code", &wrong(&desk_codes[1]))])
        .await;
    let operator = desk.post("/desk/otp", &[("code", &desk_codes[1])]).await;
    assert_eq!(operator.location(), "/desk");
    // … a code check (4 minutes fast) and a resync from two consecutive codes the
    // customer read out.
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

    // `own` mode with the transaction password: two apps added (one refused first), one
    // removed by the customer with another's code, one by the desk; then a login with a
    // recovery code and the lost-phone 利用停止 with another.
    let (own, clock) = portal_with(own_devices(true)).await;
    let mut c = Browser::new(&own);
    c.login(HANAKO).await;
    let (phone, own_codes) = c.enroll_with_codes(HANAKO, &clock).await;
    recovery_codes.extend(own_codes.iter().cloned());
    clock.advance(30);
    let mut device_codes = vec![phone.code(&clock)];
    c.get("/devices/add").await;
    c.post(
        "/devices/add",
        &[
            ("name", "iPad"),
            ("code", &device_codes[0]),
            ("trade_password", "wrong-trade-pw-xyz"),
        ],
    )
    .await;
    let register = c.add_device("iPad", &device_codes[0], Some(HANAKO.2)).await;
    let tablet_key = register.copy_key();
    let tablet = App::scan(&register);
    c.get("/devices/confirm").await;
    device_codes.push(tablet.code(&clock));
    let tablet_confirmed = c
        .post(
            "/devices/confirm",
            &[("id", "2"), ("code", &device_codes[1])],
        )
        .await;
    assert_eq!(tablet_confirmed.location(), "/account");
    clock.advance(30);
    device_codes.push(phone.code(&clock));
    let register = c
        .add_device("Android", &device_codes[2], Some(HANAKO.2))
        .await;
    let android_key = register.copy_key();
    let android = App::scan(&register);
    c.get("/devices/confirm").await;
    device_codes.push(android.code(&clock));
    c.post(
        "/devices/confirm",
        &[("id", "3"), ("code", &device_codes[3])],
    )
    .await;
    c.post("/logout", &[]).await;
    clock.advance(30);
    device_codes.push(tablet.code(&clock));
    let login = c.otp_login(HANAKO, &device_codes[4]).await;
    assert_eq!(login.location(), "/account");
    c.get("/devices/remove?id=3").await;
    device_codes.push(phone.code(&clock));
    let removed = c
        .post(
            "/devices/remove",
            &[
                ("id", "3"),
                ("code", &device_codes[5]),
                ("trade_password", HANAKO.2),
            ],
        )
        .await;
    assert_eq!(removed.location(), "/account");
    let mut own_desk = Browser::new(&own);
    let own_desk_app = own_desk.desk_login(DESK_01, &clock).await;
    desk_codes.push(own_desk_app.code(&clock));
    own_desk.get(&format!("/desk?login_id={}", HANAKO.0)).await;
    let desk_removed = own_desk
        .post(
            "/desk/remove-authenticator",
            &[
                ("login_id", HANAKO.0),
                ("authenticator", "2"),
                ("reason", "タブレット紛失"),
            ],
        )
        .await;
    assert_eq!(desk_removed.status, axum::http::StatusCode::SEE_OTHER);
    c.post("/logout", &[]).await;
    let recovered = c.recovery_login(HANAKO, &own_codes[0]).await;
    assert_eq!(recovered.location(), "/account");
    c.get("/account").await;
    c.get("/stop/lost").await;
    let stopped = c
        .post(
            "/stop/lost",
            &[
                ("recovery_code", &own_codes[1]),
                ("trade_password", HANAKO.2),
            ],
        )
        .await;
    assert_eq!(stopped.location(), "/stop/done");
    deliver(&own).await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let audit_line = log
        .lines()
        .find(|line| {
            line.contains("totp_enroll_portal::audit") && line.contains("\"enrollment_confirmed\"")
        })
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
        "wrong-desk-pw-xyz",
        desk_key.as_str(),
        &desk_key[..8],
        csrf.as_str(),
        HANAKO.1,
        HANAKO.2,
        "wrong-trade-pw-xyz",
        tablet_key.as_str(),
        &tablet_key[..8],
        android_key.as_str(),
        &android_key[..8],
    ] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
    for code in &device_codes {
        assert!(!log.contains(code.as_str()), "an app's code in the log");
    }
    for code in &desk_codes {
        assert!(!log.contains(code.as_str()), "a desk code in the log");
        assert!(
            !log.contains(wrong(code).as_str()),
            "a wrong desk code in the log"
        );
    }
    for call in [
        "add_authenticator",
        "confirm_authenticator",
        "remove_authenticator",
        "desk_remove_authenticator",
        "stop_with_recovery_code",
    ] {
        assert!(log.contains(call), "{call} is logged: {log}");
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
