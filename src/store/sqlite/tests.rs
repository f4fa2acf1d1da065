//! Unit tests of the SQLite store.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_sign_loss,
    clippy::cast_possible_truncation,
    clippy::panic
)]

use super::*;
use crate::error::RecordError;

fn account(id: &str) -> AccountId {
    AccountId::new(id).unwrap()
}

fn events(names: &[&str]) -> Vec<Vec<u8>> {
    names.iter().map(|n| n.as_bytes().to_vec()).collect()
}

async fn store() -> SqliteStore {
    SqliteStore::connect("sqlite::memory:").await.unwrap()
}

async fn outbox(store: &SqliteStore) -> Vec<(u64, String, Vec<u8>)> {
    store
        .pending_events(100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.account.as_str().to_owned(), e.bytes))
        .collect()
}

async fn put_raw(store: &SqliteStore, account: &str, version: i64, bytes: &[u8]) {
    sqlx::query(
        "INSERT OR REPLACE INTO totp_enroll_enrollments (account, version, record, updated_at) \
         VALUES (?1, ?2, ?3, 0)",
    )
    .bind(account)
    .bind(version)
    .bind(bytes)
    .execute(store.pool())
    .await
    .unwrap();
}

/// A pool on a private in-memory database with the schema up to `version`, as an
/// older build left it.
async fn store_at_version(version: i64) -> SqliteStore {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    for migration in MIGRATIONS.iter().filter(|m| m.version() <= version) {
        sqlx::raw_sql(migration.sql()).execute(&pool).await.unwrap();
    }
    let store = SqliteStore { pool };
    assert_eq!(store.schema_version().await.unwrap(), version);
    store
}

#[tokio::test]
async fn version_1_database_migrates_to_3() {
    let store = store_at_version(1).await;
    let a = account("alice");
    let record = Enrollment::not_registered();
    assert_eq!(store.replace_if(&a, None, &record, &[]).await.unwrap(), 1);
    store.migrate().await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 3);
    assert_eq!(store.load(&a).await.unwrap().unwrap().version, 1);
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
}

/// A version-2 database (transactional writes) keeps its rows and undelivered events,
/// and its outbox ids go on growing past the deleted newest ones.
#[tokio::test]
async fn version_2_database_migrates_to_3() {
    let store = store_at_version(2).await;
    let a = account("alice");
    let record = Enrollment::not_registered();
    // Written as version 2 did: the row, then the events (no `events` column yet).
    put_raw(&store, "alice", 1, &record.encode()).await;
    for event in ["1", "2", "3"] {
        sqlx::query(INSERT_EVENT)
            .bind("alice")
            .bind(event.as_bytes())
            .execute(store.pool())
            .await
            .unwrap();
    }
    store.acknowledge(&[3]).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 3);
    assert_eq!(store.load(&a).await.unwrap().unwrap().version, 1);
    assert_eq!(
        store
            .replace_if(&a, Some(1), &record, &events(&["4", "5"]))
            .await
            .unwrap(),
        2
    );
    let all = outbox(&store).await;
    let ids: Vec<u64> = all.iter().map(|e| e.0).collect();
    assert_eq!(ids, [1, 2, 4, 5]);
    let names: Vec<&[u8]> = all.iter().map(|e| e.2.as_slice()).collect();
    assert_eq!(names, [b"1", b"2", b"4", b"5"]);
}

/// The batch column: every byte value and an empty event come back unchanged, in
/// order, and the column is empty again after each write.
#[tokio::test]
async fn event_batches_round_trip_and_are_cleared() {
    let store = store().await;
    let a = account("alice");
    let record = Enrollment::not_registered();
    let every_byte: Vec<u8> = (0..=255).collect();
    let batch = vec![every_byte.clone(), Vec::new(), vec![0xff, 0x00]];
    assert_eq!(events_json(&batch[1..]), r#"["","ff00"]"#);
    assert_eq!(
        store.replace_if(&a, None, &record, &batch).await.unwrap(),
        1
    );
    assert_eq!(
        store
            .replace_if(&a, Some(1), &record, &batch)
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.forget(&a, 2, &batch).await.unwrap(), 3);
    store.append_events(&a, &batch).await.unwrap();
    let all = outbox(&store).await;
    let got: Vec<Vec<u8>> = all.into_iter().map(|e| e.2).collect();
    let expected: Vec<Vec<u8>> = (0..4).flat_map(|_| batch.clone()).collect();
    assert_eq!(got, expected);
    let pending: Vec<Option<String>> =
        sqlx::query_scalar("SELECT events FROM totp_enroll_enrollments")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(pending, vec![None]);
}

/// A batch the triggers cannot decode aborts the whole statement: neither the record
/// nor any event of the batch is written.
#[tokio::test]
async fn a_bad_batch_writes_nothing() {
    let store = store().await;
    let a = account("alice");
    let record = Enrollment::not_registered();
    assert_eq!(store.replace_if(&a, None, &record, &[]).await.unwrap(), 1);
    for batch in [r#"["00","zz"]"#, r#"["00","0"]"#, "[1]", "not json"] {
        let result = sqlx::query(UPDATE_WITH_EVENTS)
            .bind("alice")
            .bind(1_i64)
            .bind(record.encode())
            .bind(batch)
            .execute(store.pool())
            .await;
        assert!(result.is_err(), "{batch}");
        assert_eq!(store.version(&a).await.unwrap(), Some(1), "{batch}");
        assert!(outbox(&store).await.is_empty(), "{batch}");
        // The first write's `ON CONFLICT DO NOTHING` concerns its own row only: the
        // trigger's failed insert still aborts the statement.
        let result = sqlx::query(INSERT_WITH_EVENTS)
            .bind("bob")
            .bind(record.encode())
            .bind(batch)
            .execute(store.pool())
            .await;
        assert!(result.is_err(), "{batch}");
        assert_eq!(
            store.version(&account("bob")).await.unwrap(),
            None,
            "{batch}"
        );
        assert!(outbox(&store).await.is_empty(), "{batch}");
    }
}

#[tokio::test]
async fn writes_events_tombstones_and_conflicts() {
    let store = store().await;
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
    // A conflict writes no event.
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
    assert_eq!(store.forget(&a, 2, &events(&["3"])).await.unwrap(), 3);
    assert_eq!(store.load(&a).await.unwrap(), None);
    assert_eq!(store.version(&a).await.unwrap(), Some(3));
    assert!(store.list(None, 10).await.unwrap().is_empty());
    // A first write over a tombstone needs its version.
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
    store.append_events(&a, &events(&["7"])).await.unwrap();
    store.append_events(&a, &events(&["8", "9"])).await.unwrap();
    store.append_events(&a, &[]).await.unwrap();
    let all = outbox(&store).await;
    let names: Vec<&[u8]> = all.iter().map(|e| e.2.as_slice()).collect();
    assert_eq!(
        names,
        [b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9"]
    );
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
    let first = store.pending_events(2).await.unwrap();
    assert_eq!(first.len(), 2);
    store
        .acknowledge(&[first[0].id, first[1].id, 999, u64::MAX])
        .await
        .unwrap();
    store.acknowledge(&[first[0].id]).await.unwrap();
    store.acknowledge(&[]).await.unwrap();
    assert_eq!(outbox(&store).await.len(), 7);
    // Ids are never reused after the newest are acknowledged.
    let ids: Vec<u64> = outbox(&store).await.iter().map(|e| e.0).collect();
    store.acknowledge(&ids).await.unwrap();
    store.append_events(&a, &events(&["10"])).await.unwrap();
    assert_eq!(outbox(&store).await[0].0, 10);
}

#[tokio::test]
async fn a_failed_event_insert_writes_no_record() {
    let store = store().await;
    let a = account("alice");
    let record = Enrollment::not_registered();
    // Every outbox insert fails (as a full disk would), after the record's change.
    sqlx::query(
        "CREATE TRIGGER fail_outbox BEFORE INSERT ON totp_enroll_outbox \
         BEGIN SELECT RAISE(ABORT, 'injected outbox failure'); END",
    )
    .execute(store.pool())
    .await
    .unwrap();
    assert!(matches!(
        store.replace_if(&a, None, &record, &events(&["1"])).await,
        Err(StoreError::Backend(_))
    ));
    assert_eq!(store.version(&a).await.unwrap(), None);
    assert_eq!(store.replace_if(&a, None, &record, &[]).await.unwrap(), 1);
    assert!(store.forget(&a, 1, &events(&["1"])).await.is_err());
    assert!(
        store
            .replace_if(&a, Some(1), &record, &events(&["1", "2"]))
            .await
            .is_err()
    );
    assert!(store.append_events(&a, &events(&["1", "2"])).await.is_err());
    assert_eq!(store.version(&a).await.unwrap(), Some(1));
    assert!(store.load(&a).await.unwrap().is_some());
    // Without the outbox table no write with events can even be prepared.
    sqlx::query("DROP TABLE totp_enroll_outbox")
        .execute(store.pool())
        .await
        .unwrap();
    assert!(matches!(
        store
            .replace_if(&a, Some(1), &record, &events(&["1"]))
            .await,
        Err(StoreError::Backend(_))
    ));
    assert_eq!(store.version(&a).await.unwrap(), Some(1));
}

#[tokio::test]
async fn version_limits_and_reinstate() {
    let store = store().await;
    let a = account("alice");
    let record = Enrollment::not_registered();
    put_raw(&store, "alice", i64::MAX, b"garbage").await;
    assert_eq!(store.version(&a).await.unwrap(), Some(i64::MAX as u64));
    assert!(matches!(store.load(&a).await, Err(StoreError::Corrupt(_))));
    assert!(matches!(
        store
            .replace_if(&a, Some(i64::MAX as u64), &record, &[])
            .await,
        Err(StoreError::VersionExhausted)
    ));
    assert!(matches!(
        store.forget(&a, i64::MAX as u64, &[]).await,
        Err(StoreError::VersionExhausted)
    ));
    assert!(matches!(
        store.replace_if(&a, Some(u64::MAX), &record, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        store.reinstate(&a, 7, &record, &events(&["x"])).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        store.reinstate(&a, u64::MAX, &record, &[]).await,
        Err(StoreError::Conflict)
    ));
    store
        .reinstate(&a, i64::MAX as u64, &record, &events(&["r"]))
        .await
        .unwrap();
    assert_eq!(store.load(&a).await.unwrap().unwrap().version, 1);
    assert_eq!(outbox(&store).await.len(), 1);
    // Not at the largest version: no reinstatement.
    assert!(matches!(
        store
            .reinstate(&a, i64::MAX as u64, &record, &events(&["y"]))
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(outbox(&store).await.len(), 1);
}

#[tokio::test]
async fn list_pages_in_byte_order() {
    let store = store().await;
    let record = Enrollment::not_registered();
    // Byte order: "B" < "a" < "b" < "é" (0xC3 0xA9).
    for id in ["é", "b", "a", "B", "gone"] {
        store
            .replace_if(&account(id), None, &record, &[])
            .await
            .unwrap();
    }
    store.forget(&account("gone"), 1, &[]).await.unwrap();
    put_raw(&store, "bad", 4, b"garbage").await;
    let page = store.list(None, 2).await.unwrap();
    let ids: Vec<&str> = page.iter().map(|l| l.account.as_str()).collect();
    assert_eq!(ids, ["B", "a"]);
    let page = store.list(Some(&account("a")), 10).await.unwrap();
    let ids: Vec<&str> = page.iter().map(|l| l.account.as_str()).collect();
    assert_eq!(ids, ["b", "bad", "é"]);
    assert_eq!(page[1].version, 4);
    assert!(page[1].record.is_err());
    assert_eq!(page[0].record, Ok(record.clone()));
    assert!(store.list(None, 0).await.unwrap().is_empty());
    assert_eq!(store.list(None, usize::MAX).await.unwrap().len(), 5);
    put_raw(&store, "bad\nid", 1, &record.encode()).await;
    assert!(matches!(
        store.list(None, 10).await,
        Err(StoreError::Corrupt(RecordError::InvalidField("account")))
    ));
}
