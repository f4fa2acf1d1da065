//! Two portal instances on one database behave as one portal: each has its own router,
//! engine and connection pool (as two processes behind a load balancer would), a code
//! submitted to both at once logs in exactly once, and a desk operator's failed logins
//! count in the shared table whichever portal took them.
//!
//! Always on SQLite (one file, two pools); on PostgreSQL when `TOTP_ENROLL_PG_URL` is set
//! (skipped with a notice otherwise, and a failure under `CI=true`: the rule of
//! `tests/pg_env` in the library).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../tests/pg_env/mod.rs"]
mod pg_env;
mod support;

use std::sync::Arc;

use axum::http::StatusCode;
use support::{Browser, T0, TARO};
use totp_enroll::{
    AccountId, AuditDelivery as _, AuditEvent, ManualClock, Operator, Store as _,
    engine::DeliveredEvent,
};
use totp_enroll_portal::app::{self, Portal, PortalOptions};
use totp_enroll_portal::config::{Database, generate_key_ring_text, key_ring_from_text};

/// Two portals over `database`, sharing the key ring (as two processes with one
/// `TOTP_PORTAL_KEYS` would) and a clock.
async fn two_portals(database: &Database) -> (Portal, Portal, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let keys = generate_key_ring_text().unwrap();
    let one = app::build(
        database,
        key_ring_from_text(&keys).unwrap(),
        PortalOptions::for_tests(clock.clone()).unwrap(),
    )
    .await
    .unwrap();
    let two = app::build(
        database,
        key_ring_from_text(&keys).unwrap(),
        PortalOptions::for_tests(clock.clone()).unwrap(),
    )
    .await
    .unwrap();
    assert!(!Arc::ptr_eq(&one.state.engine, &two.state.engine));
    (one, two, clock)
}

async fn a_code_logs_in_once_across_both(database: Database) {
    let (one, two, clock) = two_portals(&database).await;
    // A database kept from an earlier run: start from 未登録.
    let account = AccountId::new(TARO.0).unwrap();
    one.state
        .engine
        .desk_reset(
            &account,
            &Operator::new("two-portals-test").unwrap(),
            "test setup",
        )
        .await
        .unwrap();

    // Enrolled through the first portal …
    let mut setup = Browser::new(&one);
    setup.login(TARO).await;
    let app = setup.enroll(TARO, &clock).await;
    // … and in use on the second.
    let mut check = Browser::new(&two);
    assert_eq!(check.password_step(TARO).await.location(), "/login/otp");

    for round in 0..5 {
        clock.advance(30);
        let mut on_one = Browser::new(&one);
        let mut on_two = Browser::new(&two);
        assert_eq!(on_one.password_step(TARO).await.location(), "/login/otp");
        assert_eq!(on_two.password_step(TARO).await.location(), "/login/otp");
        on_one.get("/login/otp").await;
        on_two.get("/login/otp").await;
        let code = app.code(&clock);
        let fields = [("code", code.as_str())];
        let (a, b) = tokio::join!(
            on_one.post("/login/otp", &fields),
            on_two.post("/login/otp", &fields),
        );
        let accepted = [&a, &b]
            .iter()
            .filter(|p| p.status == StatusCode::SEE_OTHER && p.location() == "/account")
            .count();
        assert_eq!(
            accepted, 1,
            "round {round}: exactly one login with one code"
        );
        let refused = if a.status == StatusCode::SEE_OTHER {
            &b
        } else {
            &a
        };
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "round {round}");
        assert!(refused.error().unwrap().contains("既に使用されています"));
    }

    // The outbox is shared: what the first portal delivered (the confirmation's mail) the
    // second sees, and delivering the same events again from the second adds no mail.
    let pending: Vec<DeliveredEvent> = one
        .state
        .engine
        .store()
        .pending_events(1000)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| DeliveredEvent::new(entry.id, AuditEvent::decode(&entry.bytes).unwrap()))
        .collect();
    one.state.audit.deliver_pending().await.unwrap();
    let mails = two.state.db.mails(1000).await.unwrap();
    assert!(mails.iter().any(|m| m.to_address == "taro@example.jp"));
    two.state.audit.delivery().deliver(&pending).await.unwrap();
    assert_eq!(two.state.db.mails(1000).await.unwrap().len(), mails.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_portals_on_one_sqlite_file_accept_a_code_once() {
    let dir = std::env::temp_dir().join(format!("totp-portal-two-{}-{}", std::process::id(), T0));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("portal.db");
    // Create the file (and switch it to WAL) once, as a deployment would, before the two
    // instances open it.
    drop(
        totp_enroll::store::SqliteStore::connect(file.to_str().unwrap())
            .await
            .unwrap(),
    );
    a_code_logs_in_once_across_both(Database::Sqlite(file.to_str().unwrap().to_owned())).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_portals_on_one_postgres_database_accept_a_code_once() {
    let Some(url) = pg_env::pg_url("portal tests (two portals on one database)") else {
        return;
    };
    a_code_logs_in_once_across_both(Database::Postgres(url)).await;
}

/// A support-desk operator's failed logins count in the shared table whichever portal
/// took them (one statement each, none lost), and the lock holds in both.
async fn an_operators_failures_count_across_both(database: Database) {
    let (one, two, _) = two_portals(&database).await;
    // A database kept from an earlier run: start unlocked.
    one.state.db.unlock_operator("desk-02").await.unwrap();
    let wrong = [("operator", "desk-02"), ("password", "not-the-password")];
    let mut attempts = Vec::new();
    for portal in [&one, &two, &one, &two] {
        let mut b = Browser::new(portal);
        b.get("/desk").await;
        attempts.push(async move { b.post("/desk/login", &wrong).await.status });
    }
    let (a, b, c, d) = tokio::join!(
        attempts.remove(0),
        attempts.remove(0),
        attempts.remove(0),
        attempts.remove(0)
    );
    assert!([a, b, c, d].iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    let row = two.state.db.operator("desk-02").await.unwrap().unwrap();
    assert_eq!((row.failures, row.locked()), (4, false));
    let mut fifth = Browser::new(&two);
    fifth.get("/desk").await;
    assert_eq!(
        fifth.post("/desk/login", &wrong).await.status,
        StatusCode::FORBIDDEN
    );
    let mut on_one = Browser::new(&one);
    on_one.get("/desk").await;
    let refused = on_one
        .post(
            "/desk/login",
            &[("operator", "desk-02"), ("password", "demo-desk-pw2")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "locked in both");
    one.state.db.unlock_operator("desk-02").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_failures_count_across_two_portals_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("totp-portal-ops-{}-{}", std::process::id(), T0));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("portal.db");
    drop(
        totp_enroll::store::SqliteStore::connect(file.to_str().unwrap())
            .await
            .unwrap(),
    );
    an_operators_failures_count_across_both(Database::Sqlite(file.to_str().unwrap().to_owned()))
        .await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_failures_count_across_two_portals_on_postgres() {
    let Some(url) = pg_env::pg_url("portal tests (an operator's failures on two portals)") else {
        return;
    };
    an_operators_failures_count_across_both(Database::Postgres(url)).await;
}
