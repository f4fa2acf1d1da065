use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Connection as _;
use sqlx::sqlite::SqliteConnection;
use totp_enroll::store::SqliteStore;
use totp_enroll::testing::conformance::START;
use totp_enroll::{Login, Status, StepUp, error::EngineError, error::StoreError};

use super::rig::{Rig, chain, last_used_step};
use super::{LATEST_SQLITE_SCHEMA as LATEST_SCHEMA, TempDir};

/// Another connection holds `BEGIN EXCLUSIVE`: after the busy timeout the verify fails
/// with a typed backend error, the step is not consumed, and once the lock is released
/// the same code is accepted.
#[tokio::test(flavor = "multi_thread")]
async fn locked_database_fails_closed_after_the_busy_timeout() {
    let dir = TempDir::new("locked");
    let url = dir.sqlite_url();
    let store = SqliteStore::connect_with(
        SqliteStore::options(&url)
            .unwrap()
            .busy_timeout(Duration::from_millis(300)),
        SqliteStore::pool_options(),
    )
    .await
    .unwrap();
    let rig = Rig::new(store);
    let (account, totp) = rig.enroll("locked").await;
    let confirmed_step = last_used_step(rig.engine.store(), &account).await;
    let now = rig.next_period();
    let code = totp.code_at(now).to_string();

    let mut locker = SqliteConnection::connect_with(&SqliteStore::options(&url).unwrap())
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut locker)
        .await
        .unwrap();

    let started = Instant::now();
    let result = rig.engine.verify_login(&account, &code).await;
    let waited = started.elapsed();
    match &result {
        Err(EngineError::Store(StoreError::Backend(error))) => {
            let text = chain(&**error);
            assert!(
                text.contains("locked") || text.contains("busy"),
                "the backend error names the lock: {text}"
            );
        }
        other => panic!("a locked database must give StoreError::Backend, got {other:?}"),
    }
    assert!(
        waited >= Duration::from_millis(250),
        "the store waited for the busy timeout ({waited:?})"
    );

    sqlx::raw_sql("ROLLBACK")
        .execute(&mut locker)
        .await
        .unwrap();
    locker.close().await.unwrap();
    assert_eq!(
        last_used_step(rig.engine.store(), &account).await,
        confirmed_step,
        "nothing was written while locked"
    );
    assert!(
        matches!(
            rig.engine.verify_login(&account, &code).await,
            Ok(Login::Verified(_))
        ),
        "the code was not consumed by the failed attempt"
    );
    assert_eq!(
        last_used_step(rig.engine.store(), &account).await,
        Some(totp.step_at(now))
    );
}

/// A database that cannot be written (opened read-only): a valid code and a wrong code
/// both give a typed backend error; neither is reported as accepted or counted silently.
#[tokio::test(flavor = "multi_thread")]
async fn read_only_database_fails_closed() {
    let dir = TempDir::new("readonly");
    let url = dir.sqlite_url();
    let writable = Arc::new(SqliteStore::connect(&url).await.unwrap());
    let rig = Rig::new(Arc::clone(&writable));
    let (account, totp) = rig.enroll("readonly").await;
    let confirmed_step = last_used_step(&*writable, &account).await;

    let read_only = SqliteStore::connect_with(
        SqliteStore::options(&url).unwrap().read_only(true),
        SqliteStore::pool_options(),
    )
    .await
    .unwrap();
    let blocked = rig.sibling(read_only);
    let now = rig.next_period();
    let code = totp.code_at(now).to_string();
    for input in [
        code.clone(),
        totp_enroll::testing::conformance::wrong_code(&totp, now),
    ] {
        match blocked.verify_login(&account, &input).await {
            Err(EngineError::Store(StoreError::Backend(error))) => {
                let text = chain(&*error);
                assert!(text.contains("readonly"), "names the cause: {text}");
            }
            other => {
                panic!("a read-only database must give StoreError::Backend, got {other:?}")
            }
        }
    }
    let stored = writable.load(&account).await.unwrap().unwrap().record;
    assert_eq!(stored.last_used_step(), confirmed_step);
    assert_eq!(stored.throttle().failures(), 0);
    assert!(matches!(
        rig.engine.verify_login(&account, &code).await,
        Ok(Login::Verified(_))
    ));
}

use totp_enroll::Store as _;

/// A full database (`PRAGMA max_page_count` at the current size): writes that need a new
/// page fail with a typed backend error ("database or disk is full") and leave nothing
/// behind; a verify through the full store is either accepted WITH its step written or an
/// error without it.
#[tokio::test(flavor = "multi_thread")]
async fn full_database_fails_closed() {
    let dir = TempDir::new("full");
    let url = dir.sqlite_url();
    let writable = Arc::new(SqliteStore::connect(&url).await.unwrap());
    let rig = Rig::new(Arc::clone(&writable));
    let (account, totp) = rig.enroll("full").await;
    let confirmed_step = last_used_step(&*writable, &account).await;

    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(writable.pool())
        .await
        .unwrap();
    let full = Arc::new(
        SqliteStore::connect_with(
            SqliteStore::options(&url)
                .unwrap()
                .pragma("max_page_count", pages.to_string()),
            SqliteStore::pool_options(),
        )
        .await
        .unwrap(),
    );
    let engine = rig.sibling(Arc::clone(&full));

    let mut filled = false;
    for i in 0..2_000 {
        let other = totp_enroll::AccountId::new(format!("full-{i}")).unwrap();
        let step_up = StepUp::transaction_password_verified(&other, START);
        match engine
            .begin(
                &other,
                &totp_enroll::AccountLabel::new("full").unwrap(),
                &step_up,
            )
            .await
        {
            Ok(_) => {}
            Err(EngineError::Store(StoreError::Backend(error))) => {
                let text = chain(&*error);
                assert!(text.contains("full"), "names the cause: {text}");
                assert_eq!(
                    rig.engine.status(&other).await.unwrap(),
                    Status::NotRegistered,
                    "a failed write leaves nothing behind"
                );
                filled = true;
                break;
            }
            Err(other) => {
                panic!("a full database must give StoreError::Backend, got {other:?}")
            }
        }
    }
    assert!(filled, "the database never filled up");

    let now = rig.next_period();
    let code = totp.code_at(now).to_string();
    match engine.verify_login(&account, &code).await {
        Ok(Login::Verified(_)) => assert_eq!(
            last_used_step(&*writable, &account).await,
            Some(totp.step_at(now)),
            "an acceptance is reported only with its step written"
        ),
        Err(EngineError::Store(StoreError::Backend(_))) => {
            assert_eq!(last_used_step(&*writable, &account).await, confirmed_step)
        }
        other => panic!("unexpected outcome {other:?}"),
    }
}

/// The schema version table records the embedded migrations; connecting again changes
/// nothing.
#[tokio::test(flavor = "multi_thread")]
async fn migrations_are_recorded_and_idempotent() {
    let dir = TempDir::new("migrate");
    let url = dir.sqlite_url();
    let first = SqliteStore::connect(&url).await.unwrap();
    assert_eq!(first.schema_version().await.unwrap(), LATEST_SCHEMA);
    first.migrate().await.unwrap();
    let second = SqliteStore::connect(&url).await.unwrap();
    assert_eq!(second.schema_version().await.unwrap(), LATEST_SCHEMA);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM totp_enroll_schema_version")
        .fetch_one(second.pool())
        .await
        .unwrap();
    assert_eq!(rows, LATEST_SCHEMA, "each migration recorded once");
    // A database from a newer build is refused rather than written.
    sqlx::query(
        "INSERT INTO totp_enroll_schema_version (version, description, applied_at) VALUES (99, 'future', 0)",
    )
    .execute(second.pool())
    .await
    .unwrap();
    match SqliteStore::connect(&url).await {
        Err(StoreError::Schema { found, expected }) => {
            assert_eq!((found, expected), (99, LATEST_SCHEMA));
        }
        other => panic!("a newer schema must be refused, got {other:?}"),
    }
}

/// The stored bytes are the record's encoding, which holds the sealed secret only: the
/// plaintext secret the customer's app received appears nowhere in the file.
#[tokio::test(flavor = "multi_thread")]
async fn stores_only_the_sealed_record() {
    let dir = TempDir::new("sealed");
    let store = Arc::new(SqliteStore::connect(&dir.sqlite_url()).await.unwrap());
    let rig = Rig::new(Arc::clone(&store));
    let account = totp_enroll::testing::conformance::fresh_account("sealed").unwrap();
    let step_up = StepUp::transaction_password_verified(&account, START);
    let screen = rig
        .engine
        .begin(
            &account,
            &totp_enroll::AccountLabel::new("sealed").unwrap(),
            &step_up,
        )
        .await
        .unwrap();
    let uri = totp_enroll::provision::KeyUri::parse(&screen.uri()).unwrap();
    let secret = uri.secret().expose_secret_bytes().to_vec();
    let bytes: Vec<u8> =
        sqlx::query_scalar("SELECT record FROM totp_enroll_enrollments WHERE account = ?1")
            .bind(account.as_str())
            .fetch_one(store.pool())
            .await
            .unwrap();
    let loaded = store.load(&account).await.unwrap().unwrap();
    assert_eq!(bytes, loaded.record.encode());
    assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_slice()));
    store.close().await;
    let file = std::fs::read(dir.0.join("totp.db")).unwrap();
    let wal = std::fs::read(dir.0.join("totp.db-wal")).unwrap_or_default();
    for content in [file, wal] {
        assert!(
            !content
                .windows(secret.len())
                .any(|w| w == secret.as_slice())
        );
    }
}
