//! The support desk's login against a web attacker: a password AND a one-time password of
//! the desk's own engine (enrolled at the first login, before anything else of the desk),
//! an unknown operator and a wrong password alike, five consecutive failures of either
//! factor lock the operator (counted atomically) until another operator unlocks it, a
//! lost one-time password is reset by another operator (its sessions end), the operators'
//! accounts are a namespace no customer login ID can take, and their second factor is in
//! the audit trail but mails nobody.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::http::StatusCode;
use support::{App, Browser, DESK_01, DESK_02, HANAKO, TARO, deliver, portal, wrong};
use totp_enroll::{AccountId, Status};
use totp_enroll_portal::db::Customer;
use totp_enroll_portal::db::operators::LOCK_AFTER;

const LOCKED: &str = "このオペレーターIDは、ログインに続けて失敗したためロックされています。ほかのオペレーターにロック解除を依頼してください。";
const WRONG: &str = "オペレーターIDまたはパスワードが正しくありません。";

/// An operator's row: (failures, locked).
async fn operator_row(portal: &totp_enroll_portal::app::Portal, id: &str) -> (i64, bool) {
    let row = portal.state.db.operator(id).await.unwrap().unwrap();
    (row.failures, row.locked())
}

fn desk_account(operator: &str) -> AccountId {
    AccountId::new(format!("desk:{operator}")).unwrap()
}

#[tokio::test]
async fn an_operator_logs_in_with_the_password_and_a_one_time_password_of_the_desks_engine() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    // First login: the enrollment, right after the password.
    let step = b.desk_password(DESK_01).await;
    assert_eq!(step.location(), "/desk/enroll");
    let enroll = b.get("/desk/enroll").await;
    assert_eq!(enroll.status, StatusCode::OK);
    assert!(
        enroll
            .body
            .contains("<h1>お客さまサポート窓口 ワンタイムパスワードの登録</h1>")
    );
    assert!(enroll.body.contains("id=\"qr\""));
    assert!(enroll.body.contains("<code id=\"setup-key\" hidden>"));
    assert!(
        enroll
            .body
            .contains("<td class=\"account-name\">北洋証券 お客さまサポート窓口</td>"),
        "the desk engine's issuer"
    );
    let app = App::scan(&enroll);
    let refused = b
        .post("/desk/enroll", &[("code", &wrong(&app.code(&clock)))])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused
            .error()
            .unwrap()
            .contains("ワンタイムパスワードが正しくありません")
    );
    let confirmed = b.post("/desk/enroll", &[("code", &app.code(&clock))]).await;
    assert_eq!(confirmed.location(), "/desk");
    let desk = b.get("/desk").await;
    assert_eq!(
        desk.text_of("operator-name").as_deref(),
        Some("お客さまサポート窓口：desk-01")
    );
    assert!(matches!(
        portal
            .state
            .desk_engine
            .status(&desk_account("desk-01"))
            .await
            .unwrap(),
        Status::Active { .. }
    ));
    assert_eq!(operator_row(&portal, "desk-01").await, (0, false));
    // Later logins: password, then a current code (a wrong one refused); the session id
    // rotates after the code.
    b.post("/desk/logout", &[]).await;
    assert!(b.cookie("desk_session").is_none());
    clock.advance(30);
    assert_eq!(b.desk_password(DESK_01).await.location(), "/desk/otp");
    let after_password = b.cookie("desk_session").cloned().unwrap();
    let otp = b.get("/desk/otp").await;
    assert!(
        otp.body
            .contains("<h1>お客さまサポート窓口 ワンタイムパスワード認証</h1>")
    );
    assert!(
        otp.body
            .contains("<label for=\"otp\">ワンタイムパスワード</label>")
    );
    let refused = b
        .post("/desk/otp", &[("code", &wrong(&app.code(&clock)))])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(operator_row(&portal, "desk-01").await, (1, false));
    let ok = b.post("/desk/otp", &[("code", &app.code(&clock))]).await;
    assert_eq!(ok.location(), "/desk");
    assert_ne!(b.cookie("desk_session").unwrap(), &after_password);
    assert_eq!(operator_row(&portal, "desk-01").await, (0, false));
    assert_eq!(
        b.get(&format!("/desk?login_id={}", TARO.0)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn before_its_second_factor_an_operator_reaches_nothing_else_of_the_desk() {
    let (portal, clock) = portal().await;
    let mut customer = Browser::new(&portal);
    customer.login(HANAKO).await;
    customer.enroll(HANAKO, &clock).await;
    let mut enrolled = Browser::new(&portal);
    let app = enrolled.desk_login(DESK_02, &clock).await;
    enrolled.post("/desk/logout", &[]).await;
    clock.advance(30);
    let mut enrolling = Browser::new(&portal);
    assert_eq!(
        enrolling.desk_password(DESK_01).await.location(),
        "/desk/enroll"
    );
    assert_eq!(
        enrolled.desk_password(DESK_02).await.location(),
        "/desk/otp"
    );
    for (b, step) in [
        (&mut enrolling, "/desk/enroll"),
        (&mut enrolled, "/desk/otp"),
    ] {
        let token = b.get(step).await.csrf().unwrap();
        for path in [
            "/desk".to_owned(),
            format!("/desk?login_id={}", HANAKO.0),
            "/desk/operators".to_owned(),
            "/desk/operators?operator_id=desk-02".to_owned(),
        ] {
            assert_eq!(b.get(&path).await.location(), step, "{path}");
        }
        for (path, fields) in [
            (
                "/desk/reset",
                vec![("login_id", HANAKO.0), ("reason", "端末紛失")],
            ),
            (
                "/desk/forget",
                vec![("login_id", HANAKO.0), ("reason", "削除依頼")],
            ),
            (
                "/desk/diagnose",
                vec![("login_id", HANAKO.0), ("code", "123456")],
            ),
            (
                "/desk/operators/unlock",
                vec![("operator_id", "desk-02"), ("reason", "確認済み")],
            ),
        ] {
            let mut all = vec![("csrf", token.as_str())];
            all.extend(fields);
            assert_eq!(b.post_raw(path, &all).await.location(), step, "{path}");
        }
    }
    assert_eq!(
        customer
            .get("/account")
            .await
            .text_of("otp-status")
            .as_deref(),
        Some("利用中"),
        "nothing was reset"
    );
    // The code step lapses five minutes after the password.
    clock.advance(5 * 60 + 1);
    let late = enrolled
        .post("/desk/otp", &[("code", &app.code(&clock))])
        .await;
    assert_eq!(late.location(), "/desk");
    assert!(
        enrolled
            .get("/desk")
            .await
            .body
            .contains("desk-login-button")
    );
}

#[tokio::test]
async fn an_unknown_operator_and_a_wrong_password_get_the_same_answer() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    let wrong_password = b.desk_password((DESK_01.0, "not-the-password")).await;
    let unknown = b.desk_password(("desk-99", "not-the-password")).await;
    for page in [&wrong_password, &unknown] {
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert_eq!(page.error().as_deref(), Some(WRONG));
    }
    let strip = |p: &support::Page| p.body.replace(p.csrf().unwrap().as_str(), "");
    assert_eq!(strip(&wrong_password), strip(&unknown), "the same page");
    assert_eq!(operator_row(&portal, "desk-01").await, (1, false));
    assert!(portal.state.db.operator("desk-99").await.unwrap().is_none());
}

#[tokio::test]
async fn five_consecutive_failures_of_either_factor_lock_the_operator() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    let app = b.desk_login(DESK_01, &clock).await;
    b.post("/desk/logout", &[]).await;
    clock.advance(30);
    // Two wrong passwords, two refused codes: 4, not locked yet.
    for _ in 0..2 {
        let page = b.desk_password((DESK_01.0, "wrong")).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    for _ in 0..2 {
        assert_eq!(b.desk_password(DESK_01).await.location(), "/desk/otp");
        b.get("/desk/otp").await;
        let page = b
            .post("/desk/otp", &[("code", &wrong(&app.code(&clock)))])
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        // 中止: back to the login page.
        b.post("/desk/logout", &[]).await;
    }
    assert_eq!(operator_row(&portal, "desk-01").await, (4, false));
    // The fifth failure (a refused code) locks, and ends the half-way session.
    assert_eq!(b.desk_password(DESK_01).await.location(), "/desk/otp");
    b.get("/desk/otp").await;
    let locked = b
        .post("/desk/otp", &[("code", &wrong(&app.code(&clock)))])
        .await;
    assert_eq!(locked.status, StatusCode::FORBIDDEN);
    assert_eq!(locked.error().as_deref(), Some(LOCKED));
    assert_eq!(operator_row(&portal, "desk-01").await, (5, true));
    assert_eq!(b.get("/desk/otp").await.location(), "/desk");
    // Locked: the right password is refused too (and counts no more).
    let page = b.desk_password(DESK_01).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(page.error().as_deref(), Some(LOCKED));
    assert!(b.cookie("desk_session").is_none());
    assert_eq!(operator_row(&portal, "desk-01").await, (5, true));
    // Audited, for the other operators.
    let rows = portal
        .state
        .db
        .recent_audit("desk:desk-01", 10)
        .await
        .unwrap();
    let lock = rows.iter().find(|r| r.kind == "operator_locked").unwrap();
    assert_eq!(
        lock.detail,
        "オペレーターをロック（ログインの連続失敗 5 回）"
    );
    assert_eq!(
        lock.request_id.as_deref(),
        Some(locked.request_id().as_str())
    );
}

#[tokio::test]
async fn five_wrong_passwords_lock_an_operator_without_a_one_time_password_too() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    for n in 1..=4 {
        let page = b.desk_password((DESK_02.0, "wrong")).await;
        assert_eq!(page.error().as_deref(), Some(WRONG), "failure {n}");
    }
    let page = b.desk_password((DESK_02.0, "wrong")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(page.error().as_deref(), Some(LOCKED));
    let page = b.desk_password(DESK_02).await;
    assert_eq!(
        page.status,
        StatusCode::FORBIDDEN,
        "no enrollment while locked"
    );
}

#[tokio::test]
async fn a_complete_login_clears_the_failures() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    for _ in 0..4 {
        b.desk_password((DESK_01.0, "wrong")).await;
    }
    assert_eq!(operator_row(&portal, "desk-01").await, (4, false));
    let app = b.desk_login(DESK_01, &clock).await;
    assert_eq!(operator_row(&portal, "desk-01").await, (0, false));
    b.post("/desk/logout", &[]).await;
    for _ in 0..4 {
        b.desk_password((DESK_01.0, "wrong")).await;
    }
    assert_eq!(operator_row(&portal, "desk-01").await, (4, false));
    clock.advance(30);
    b.desk_login_with(DESK_01, &app, &clock).await;
    assert_eq!(operator_row(&portal, "desk-01").await, (0, false));
}

/// Parallel wrong passwords below the lock each count once (one atomic increment, none
/// lost); the one that reaches the threshold locks. (Attempts that read the operator as
/// locked are answered "locked" without a password check, so they count nothing: below the
/// threshold every attempt is checked, and the count is exact.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_failures_are_all_counted() {
    let (portal, _) = portal().await;
    let below_the_lock = usize::try_from(LOCK_AFTER - 1).unwrap();
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..below_the_lock {
        let mut b = Browser::new(&portal);
        attempts.spawn(async move { b.desk_password((DESK_01.0, "wrong")).await.status });
    }
    while let Some(status) = attempts.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        operator_row(&portal, "desk-01").await,
        (LOCK_AFTER - 1, false),
        "one atomic increment per failure: none lost"
    );
    let mut b = Browser::new(&portal);
    let locking = b.desk_password((DESK_01.0, "wrong")).await;
    assert_eq!(locking.status, StatusCode::FORBIDDEN);
    assert_eq!(operator_row(&portal, "desk-01").await, (LOCK_AFTER, true));
}

#[tokio::test]
async fn the_desks_engine_throttles_the_codes_too() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    let app = b.desk_login(DESK_01, &clock).await;
    b.post("/desk/logout", &[]).await;
    clock.advance(30);
    assert_eq!(b.desk_password(DESK_01).await.location(), "/desk/otp");
    b.get("/desk/otp").await;
    for expected in [
        StatusCode::UNAUTHORIZED,
        StatusCode::UNAUTHORIZED,
        // The third wrong code starts the engine's backoff and says so.
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        let page = b
            .post("/desk/otp", &[("code", &wrong(&app.code(&clock)))])
            .await;
        assert_eq!(page.status, expected);
    }
    // The engine's backoff after the third wrong code: even the right code is refused.
    let throttled = b.post("/desk/otp", &[("code", &app.code(&clock))]).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers.contains_key("retry-after"));
    assert_eq!(operator_row(&portal, "desk-01").await, (4, false));
}

#[tokio::test]
async fn another_operator_unlocks_a_locked_operator_with_a_reason_and_it_is_audited() {
    let (portal, clock) = portal().await;
    let mut locked = Browser::new(&portal);
    for _ in 0..5 {
        locked.desk_password((DESK_02.0, "wrong")).await;
    }
    assert_eq!(operator_row(&portal, "desk-02").await, (5, true));
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let desk_page = desk.get("/desk").await;
    assert_eq!(
        desk_page.attr_of("operators-link", "href").as_deref(),
        Some("/desk/operators")
    );
    let page = desk.get("/desk/operators?operator_id=desk-02").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text_of("operator-desk-02-lock")
            .unwrap()
            .starts_with("ロック中")
    );
    assert_eq!(
        page.text_of("operator-desk-02-failures").as_deref(),
        Some("5 回")
    );
    assert_eq!(
        page.text_of("operator-desk-02-otp").as_deref(),
        Some("未登録")
    );
    assert_eq!(
        page.text_of("operator-desk-01-otp").as_deref(),
        Some("登録済み")
    );
    assert!(
        page.body
            .contains("オペレーターをロック（ログインの連続失敗 5 回）")
    );
    // A reason is required; no one unlocks or resets themselves.
    let no_reason = desk
        .post(
            "/desk/operators/unlock",
            &[("operator_id", "desk-02"), ("reason", " ")],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    assert!(
        no_reason
            .error()
            .unwrap()
            .contains("理由を入力してください")
    );
    let own = desk.get("/desk/operators?operator_id=desk-01").await;
    assert!(own.text_of("operator-self-note").is_some());
    assert!(!own.body.contains("operator-unlock-button"));
    for path in ["/desk/operators/unlock", "/desk/operators/reset"] {
        let page = desk
            .post(path, &[("operator_id", "desk-01"), ("reason", "自分で")])
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(page.error().unwrap().contains("ご自身"), "{path}");
    }
    let unknown = desk
        .post(
            "/desk/operators/unlock",
            &[("operator_id", "desk-99"), ("reason", "確認済み")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    desk.get("/desk/operators?operator_id=desk-02").await;
    let unlocked = desk
        .post(
            "/desk/operators/unlock",
            &[
                ("operator_id", "desk-02"),
                ("reason", "本人確認済み\n（内線）"),
            ],
        )
        .await;
    assert_eq!(
        unlocked.location(),
        "/desk/operators?operator_id=desk-02&done=operator-unlock"
    );
    let page = desk.get(unlocked.location()).await;
    assert!(
        page.text_of("notice")
            .unwrap()
            .contains("ロックを解除しました")
    );
    assert_eq!(
        page.text_of("operator-desk-02-lock").as_deref(),
        Some("なし")
    );
    assert!(
        page.body
            .contains("オペレーターのロック解除（担当 desk-01：本人確認済み （内線））")
    );
    let row = portal
        .state
        .db
        .recent_audit("desk:desk-02", 1)
        .await
        .unwrap();
    assert_eq!(row[0].kind, "operator_unlocked");
    assert_eq!(
        row[0].request_id.as_deref(),
        Some(unlocked.request_id().as_str())
    );
    assert_eq!(operator_row(&portal, "desk-02").await, (0, false));
    // desk-02 logs in again (its first login: the enrollment).
    locked.desk_login(DESK_02, &clock).await;
}

#[tokio::test]
async fn another_operator_resets_a_lost_one_time_password_and_ends_its_sessions() {
    let (portal, clock) = portal().await;
    let mut lost = Browser::new(&portal);
    let old_app = lost.desk_login(DESK_02, &clock).await;
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    desk.get("/desk/operators?operator_id=desk-02").await;
    let reset = desk
        .post(
            "/desk/operators/reset",
            &[("operator_id", "desk-02"), ("reason", "端末紛失")],
        )
        .await;
    assert_eq!(
        reset.location(),
        "/desk/operators?operator_id=desk-02&done=operator-reset"
    );
    let page = desk.get(reset.location()).await;
    assert!(page.text_of("notice").unwrap().contains("リセットしました"));
    assert_eq!(
        page.text_of("operator-desk-02-otp").as_deref(),
        Some("未登録")
    );
    deliver(&portal).await;
    let page = desk.get("/desk/operators?operator_id=desk-02").await;
    assert!(
        page.body.contains("（担当 desk-01：端末紛失）"),
        "the desk engine's reset in the trail: {}",
        page.body
    );
    // desk-02's session ended; its next login enrolls a new app, the old one is void.
    assert!(lost.get("/desk").await.body.contains("desk-login-button"));
    clock.advance(30);
    assert_eq!(lost.desk_password(DESK_02).await.location(), "/desk/enroll");
    let new_key = lost.get("/desk/enroll").await.copy_key();
    let new_app = App::from_key(&new_key);
    assert_ne!(new_app.code(&clock), old_app.code(&clock));
    let confirmed = lost
        .post("/desk/enroll", &[("code", &new_app.code(&clock))])
        .await;
    assert_eq!(confirmed.location(), "/desk");
}

#[tokio::test]
async fn a_desk_login_starts_from_an_empty_session() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.desk_login(DESK_01, &clock).await;
    let first = b.cookie("desk_session").cloned().unwrap();
    // Another operator's password in the same browser: desk-01 is gone from it.
    let step = b
        .post(
            "/desk/login",
            &[("operator", DESK_02.0), ("password", DESK_02.1)],
        )
        .await;
    assert_eq!(step.location(), "/desk/enroll");
    assert_ne!(b.cookie("desk_session").unwrap(), &first);
    assert_eq!(b.get("/desk").await.location(), "/desk/enroll");
    let mut stale = b.clone();
    stale.set_cookie("desk_session", &first, "/desk");
    assert!(stale.get("/desk").await.body.contains("desk-login-button"));
}

#[tokio::test]
async fn customer_login_ids_in_the_operators_namespace_are_refused() {
    let (portal, clock) = portal().await;
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let mut b = Browser::new(&portal);
    b.get("/login").await;
    for login_id in ["desk:desk-01", "DESK:desk-01"] {
        let page = b
            .post("/login", &[("login_id", login_id), ("password", DESK_01.1)])
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{login_id}");
        assert_eq!(
            page.error().as_deref(),
            Some("ログインIDまたはログインパスワードが正しくありません。")
        );
        let looked_up = desk.get(&format!("/desk?login_id={login_id}")).await;
        assert_eq!(looked_up.status, StatusCode::NOT_FOUND, "{login_id}");
    }
    let reset = desk
        .post(
            "/desk/reset",
            &[("login_id", "desk:desk-01"), ("reason", "試験")],
        )
        .await;
    assert_eq!(reset.status, StatusCode::NOT_FOUND);
    let template = portal.state.db.customer(TARO.0).await.unwrap().unwrap();
    let squatter = Customer {
        login_id: "desk:desk-02".into(),
        ..template
    };
    assert!(portal.state.db.insert_customer(&squatter).await.is_err());
    assert!(
        portal
            .state
            .db
            .customer("desk:desk-02")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn the_operators_second_factor_is_in_the_trail_and_mails_nobody() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    let app = b.desk_login(DESK_01, &clock).await;
    b.post("/desk/logout", &[]).await;
    clock.advance(30);
    b.desk_login_with(DESK_01, &app, &clock).await;
    deliver(&portal).await;
    let rows = portal
        .state
        .db
        .recent_audit("desk:desk-01", 10)
        .await
        .unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    for kind in [
        "enrollment_started",
        "enrollment_confirmed",
        "login_accepted",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let mails = portal.state.db.mails(100).await.unwrap();
    assert!(
        mails.iter().all(|m| !m.account.starts_with("desk:")),
        "no mail for an operator: {:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert!(mails.is_empty());
}
