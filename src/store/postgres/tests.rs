//! Unit tests of the PostgreSQL store.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_sign_loss,
    clippy::panic,
    clippy::print_stderr
)]

use super::*;

fn account(id: &str) -> AccountId {
    AccountId::new(id).unwrap()
}

fn events(names: &[&str]) -> Vec<Vec<u8>> {
    names.iter().map(|n| n.as_bytes().to_vec()).collect()
}

/// A fresh database `name` on the test server, and the server's pool to drop it with.
/// Its default collation is ICU's `en-US` where the server has ICU (so that byte order
/// differs from the default order: "a" < "B"), else the server's.
async fn database(name: &str) -> Option<(PgConnectOptions, PgPool)> {
    let Ok(url) = std::env::var("TOTP_ENROLL_PG_URL") else {
        eprintln!("TOTP_ENROLL_PG_URL is not set: skipped");
        return None;
    };
    let admin = PgPool::connect(&url).await.unwrap();
    let name = format!("totp_enroll_unit_{name}_{}", std::process::id());
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
        .await
        .unwrap();
    let icu =
        format!("CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'");
    if admin.execute(icu.as_str()).await.is_err() {
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
    }
    Some((PostgresStore::options(&url).unwrap().database(&name), admin))
}

async fn drop_database(store: PostgresStore, options: &PgConnectOptions, admin: &PgPool) {
    store.close().await;
    let name = options.get_database().unwrap();
    // WITH (FORCE): a connection the test closed may not have left the server yet.
    admin
        .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
}

async fn outbox(store: &PostgresStore) -> Vec<(u64, String, Vec<u8>)> {
    store
        .pending_events(100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.account.as_str().to_owned(), e.bytes))
        .collect()
}

async fn put_raw(store: &PostgresStore, account: &str, version: i64, bytes: &[u8]) {
    sqlx::query(
        "INSERT INTO totp_enroll_enrollments (account, version, record) VALUES ($1, $2, $3) \
         ON CONFLICT (account) DO UPDATE SET version = $2, record = $3",
    )
    .bind(account)
    .bind(version)
    .bind(bytes)
    .execute(store.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn version_1_database_migrates_to_2() {
    let Some((options, admin)) = database("migrate").await else {
        return;
    };
    let pool = PgPool::connect_with(options.clone()).await.unwrap();
    pool.execute(MIGRATIONS[0].sql()).await.unwrap();
    let store = PostgresStore { pool };
    let a = account("alice");
    let record = Enrollment::not_registered();
    assert_eq!(store.replace_if(&a, None, &record, &[]).await.unwrap(), 1);
    store.migrate().await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 2);
    store.migrate().await.unwrap();
    assert_eq!(
        store
            .replace_if(&a, Some(1), &record, &events(&["e"]))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        outbox(&store).await,
        vec![(1, "alice".into(), b"e".to_vec())]
    );
    drop_database(store, &options, &admin).await;
}

#[tokio::test]
async fn writes_events_tombstones_limits_and_pages() {
    let Some((options, admin)) = database("writes").await else {
        return;
    };
    let store = PostgresStore::connect_with(options.clone(), PostgresStore::pool_options())
        .await
        .unwrap();
    let a = account("alice");
    let record = Enrollment::not_registered();
    assert_eq!(store.version(&a).await.unwrap(), None);
    assert_eq!(
        store
            .replace_if(&a, None, &record, &events(&["1", "2"]))
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        store.replace_if(&a, None, &record, &events(&["x"])).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        store
            .replace_if(&a, Some(5), &record, &events(&["x"]))
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.replace_if(&a, Some(1), &record, &[]).await.unwrap(),
        2
    );
    assert!(matches!(
        store.forget(&a, 1, &events(&["x"])).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.forget(&a, 2, &events(&["3"])).await.unwrap(), 3);
    assert_eq!(store.load(&a).await.unwrap(), None);
    assert_eq!(store.version(&a).await.unwrap(), Some(3));
    assert!(matches!(
        store.replace_if(&a, None, &record, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store
            .replace_if(&a, Some(3), &record, &events(&["4", "5", "6"]))
            .await
            .unwrap(),
        4
    );
    store.append_events(&a, &events(&["7", "8"])).await.unwrap();
    store.append_events(&a, &[]).await.unwrap();
    let all = outbox(&store).await;
    let names: Vec<&[u8]> = all.iter().map(|e| e.2.as_slice()).collect();
    assert_eq!(names, [b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8"]);
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
    store
        .acknowledge(&[all[0].0, all[1].0, 999, u64::MAX])
        .await
        .unwrap();
    store.acknowledge(&[]).await.unwrap();
    assert_eq!(outbox(&store).await.len(), 6);

    // Version limits and the repair.
    let b = account("bob");
    put_raw(&store, "bob", i64::MAX, b"garbage").await;
    assert_eq!(store.version(&b).await.unwrap(), Some(i64::MAX as u64));
    assert!(matches!(
        store
            .replace_if(&b, Some(i64::MAX as u64), &record, &[])
            .await,
        Err(StoreError::VersionExhausted)
    ));
    assert!(matches!(
        store.forget(&b, i64::MAX as u64, &events(&["x"])).await,
        Err(StoreError::VersionExhausted)
    ));
    assert!(matches!(
        store.replace_if(&b, Some(u64::MAX), &record, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        store.reinstate(&b, 7, &record, &[]).await,
        Err(StoreError::Conflict)
    ));
    store
        .reinstate(&b, i64::MAX as u64, &record, &events(&["r"]))
        .await
        .unwrap();
    assert_eq!(store.load(&b).await.unwrap().unwrap().version, 1);
    assert!(matches!(
        store
            .reinstate(&b, i64::MAX as u64, &record, &events(&["y"]))
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(outbox(&store).await.len(), 7);

    // Pages in byte order, whatever the database's collation.
    for id in ["é", "b", "a", "B", "gone"] {
        store
            .replace_if(&account(id), None, &record, &[])
            .await
            .unwrap();
    }
    store.forget(&account("gone"), 1, &[]).await.unwrap();
    put_raw(&store, "bad", 4, b"garbage").await;
    let ids = |page: &[Listed]| -> Vec<String> {
        page.iter().map(|l| l.account.as_str().to_owned()).collect()
    };
    let page = store.list(None, 3).await.unwrap();
    assert_eq!(ids(&page), ["B", "a", "alice"]);
    let page = store.list(Some(&account("alice")), 10).await.unwrap();
    assert_eq!(ids(&page), ["b", "bad", "bob", "é"]);
    assert!(page[1].record.is_err());
    assert_eq!(page[1].version, 4);
    assert_eq!(page[0].record, Ok(record.clone()));
    assert!(store.list(None, 0).await.unwrap().is_empty());
    // The page after an id can be read from the byte-order index (the collations
    // match); with a few rows the planner would rather sort, so seq scans are off.
    let mut conn = store.pool().acquire().await.unwrap();
    conn.execute("SET enable_seqscan = off").await.unwrap();
    let explain = format!(
        "EXPLAIN {}",
        LIST_AFTER.replace("$1", "'a'::text").replace("$2", "10")
    );
    let plan: Vec<String> = sqlx::query_scalar(&explain)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let plan = plan.join("\n");
    assert!(
        plan.contains("Index Scan using totp_enroll_enrollments_account_bytes")
            && !plan.contains("Sort"),
        "{plan}"
    );
    drop(conn);
    drop_database(store, &options, &admin).await;
}
