//! Background work: delivery at shutdown, key reloads.

use super::*;

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
    assert!(kinds.contains(&"enrollment_confirmed"), "{kinds:?}");
    assert!(kinds.contains(&"recovery_codes_issued"), "{kinds:?}");
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
