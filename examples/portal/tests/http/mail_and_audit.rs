//! Eメール通知 and the audit trail.

use super::*;

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
    let row = rows.iter().find(|r| r.kind == "login_accepted").unwrap();
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
