//! `FaultyStore` delegates every method (it passes the whole suite with no fault) and each
//! write-failing fault writes neither a record nor an event.

use std::sync::Arc;

use totp_enroll::testing::conformance::{Check, Config, fresh_account};
use totp_enroll::testing::{Fault, FaultyStore};
use totp_enroll::{MemoryStore, Store, error::StoreError, lifecycle::Enrollment};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn passes_every_check_without_a_fault() {
    let store = Arc::new(FaultyStore::new(MemoryStore::new()));
    for check in Check::ALL {
        check
            .run(Arc::clone(&store), &Config::default().with_rounds(5))
            .await
            .unwrap();
    }
}

fn injected<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Backend(ref e)) if e.to_string() == "injected storage fault")
}

/// Every write (and, under `Outbox`, every write with events) fails and leaves the
/// store as it was; the others pass.
#[tokio::test]
async fn write_faults_write_nothing() {
    let record = Enrollment::not_registered();
    let events = vec![b"event".to_vec()];
    for fault in [Fault::Write, Fault::Outbox] {
        let store = FaultyStore::new(MemoryStore::new());
        let account = fresh_account("faulty").unwrap();
        store
            .replace_if(&account, None, &record, &[])
            .await
            .unwrap();
        store.append_events(&account, &events).await.unwrap();
        let pending = store.pending_events(10).await.unwrap();
        store.set_fault(fault);
        assert!(injected(
            store.replace_if(&account, Some(1), &record, &events).await
        ));
        assert!(injected(store.append_events(&account, &events).await));
        assert!(injected(store.forget(&account, 1, &events).await));
        assert!(injected(
            store.reinstate(&account, 1, &record, &events).await
        ));
        let ids: Vec<u64> = pending.iter().map(|e| e.id).collect();
        match fault {
            Fault::Write => {
                assert!(injected(
                    store.replace_if(&account, Some(1), &record, &[]).await
                ));
                assert!(injected(store.append_events(&account, &[]).await));
                assert!(injected(store.forget(&account, 1, &[]).await));
                assert!(injected(store.acknowledge(&ids).await));
            }
            _ => {
                // Without events the writes reach the store (and the reads work).
                assert_eq!(store.version(&account).await.unwrap(), Some(1));
                store.append_events(&account, &[]).await.unwrap();
                assert!(matches!(
                    store.reinstate(&account, 1, &record, &[]).await,
                    Err(StoreError::Conflict)
                ));
            }
        }
        store.set_fault(Fault::None);
        assert_eq!(store.version(&account).await.unwrap(), Some(1), "{fault:?}");
        assert_eq!(
            store.pending_events(10).await.unwrap(),
            pending,
            "{fault:?}"
        );
    }
}

/// `Acknowledge` keeps the events; `LostAcknowledgement` removes them but reports an
/// error; `Load` fails every read.
#[tokio::test]
async fn acknowledgement_and_read_faults() {
    let store = FaultyStore::new(MemoryStore::new());
    let account = fresh_account("faulty").unwrap();
    store
        .append_events(&account, &[b"a".to_vec(), b"b".to_vec()])
        .await
        .unwrap();
    let ids: Vec<u64> = store
        .pending_events(10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    store.set_fault(Fault::Acknowledge);
    assert!(injected(store.acknowledge(&ids).await));
    store.set_fault(Fault::Load);
    assert!(injected(store.load(&account).await));
    assert!(injected(store.version(&account).await));
    assert!(injected(store.list(None, 10).await));
    assert!(injected(store.pending_events(10).await));
    store.set_fault(Fault::LostAcknowledgement);
    assert_eq!(store.pending_events(10).await.unwrap().len(), 2);
    assert!(injected(store.acknowledge(&ids).await));
    store.set_fault(Fault::None);
    assert!(store.pending_events(10).await.unwrap().is_empty());
}
