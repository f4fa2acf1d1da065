#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]
//! Key rotation while serving: an `Arc<Engine>` takes a new ring without `&mut`, its
//! prepared-key cache follows the ring, a bulk re-seal moves every record to the current
//! key (safe while logins happen) and reports counts per key id, and a key is retired only
//! once nothing needs it. A key dropped too early is a typed error naming it.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{App, Harness, T0, policy};
use totp_enroll::{
    AccountId, Engine, KeyRing, Login, ManualClock, MemoryStore, StepUp, Store, error::EngineError,
    error::SealError,
};

const OLD: [u8; 32] = [0x11; 32];
const NEW: [u8; 32] = [0x22; 32];

/// An engine over a plain MemoryStore with `accounts` customers enrolled under key 1.
async fn population(
    accounts: usize,
) -> (
    Arc<Engine<Arc<MemoryStore>>>,
    Arc<MemoryStore>,
    Vec<(AccountId, App)>,
    Arc<ManualClock>,
) {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(T0));
    let engine = Arc::new(
        Engine::new(
            store.clone(),
            KeyRing::new(1, OLD),
            policy().with_outbox(false),
        )
        .unwrap()
        .with_clock(clock.clone()),
    );
    let mut customers = Vec::new();
    for n in 0..accounts {
        let account = AccountId::new(format!("customer-{n:04}")).unwrap();
        let now = u64::try_from(T0).unwrap();
        let step_up = StepUp::transaction_password_verified(&account, now);
        let app = App::scan(
            &engine
                .begin(
                    &account,
                    &totp_enroll::AccountLabel::new("taro").unwrap(),
                    &step_up,
                )
                .await
                .unwrap(),
        );
        engine.confirm(&account, &app.code_at(T0)).await.unwrap();
        customers.push((account, app));
    }
    clock.advance(30);
    (engine, store, customers, clock)
}

fn now(clock: &ManualClock) -> i64 {
    i64::try_from(totp_enroll::Clock::now(clock).unwrap()).unwrap()
}

/// The customer's current code is accepted.
async fn assert_logs_in(
    engine: &Engine<Arc<MemoryStore>>,
    account: &AccountId,
    app: &App,
    clock: &ManualClock,
) {
    let login = engine.verify_login(account, &app.code_at(now(clock))).await;
    assert!(
        matches!(login, Ok(Login::Verified(_))),
        "{account:?}: {login:?}"
    );
}

async fn sealed_key_of(store: &MemoryStore, account: &AccountId) -> u32 {
    let record = store.load(account).await.unwrap().unwrap().record;
    record.mac_key_id().unwrap()
}

#[tokio::test]
async fn a_shared_engine_takes_a_new_ring_while_serving_and_moves_records_on_their_next_write() {
    let (engine, store, customers, clock) = population(2).await;
    let served = engine.clone(); // as the portal's handlers hold it
    served.set_keys(KeyRing::new(2, NEW).with_retired(1, OLD));
    assert_eq!(engine.keys().current_key_id(), 2);
    assert_eq!(engine.keys().key_ids(), [1, 2]);

    let (account, app) = &customers[0];
    assert!(matches!(
        engine
            .verify_login(account, &app.code_at(now(&clock)))
            .await
            .unwrap(),
        Login::Verified(_)
    ));
    assert_eq!(
        sealed_key_of(&store, account).await,
        2,
        "re-written under the new key"
    );
    assert_eq!(
        sealed_key_of(&store, &customers[1].0).await,
        1,
        "untouched until its write"
    );
}

/// A cached account must not keep logging in with a key that left the ring while an
/// uncached one fails: both fail alike, with the key named (the record's MAC names the
/// key before the cache is consulted, and the cache is emptied on every new ring).
#[tokio::test]
async fn after_a_rotation_cached_and_uncached_accounts_behave_alike() {
    let (engine, _store, customers, clock) = population(2).await;
    let (cached, cached_app) = &customers[0];
    let first = engine
        .verify_login(cached, &cached_app.code_at(now(&clock)))
        .await
        .unwrap(); // its prepared key is now cached
    assert!(matches!(first, Login::Verified(_)));
    clock.advance(30);

    engine.set_keys(KeyRing::new(2, NEW)); // key 1 dropped too early
    for (account, app) in &customers {
        let login = engine
            .verify_login(account, &app.code_at(now(&clock)))
            .await
            .unwrap_err();
        assert!(
            matches!(login, EngineError::Seal(SealError::UnknownKeyId(1))),
            "{account:?}: {login:?}"
        );
        let status = engine.status(account).await.unwrap_err();
        assert!(
            matches!(status, EngineError::Seal(SealError::UnknownKeyId(1))),
            "status must not read 利用中: {status:?}"
        );
    }

    // Putting the key back restores both.
    engine.set_keys(KeyRing::new(2, NEW).with_retired(1, OLD));
    for (account, app) in &customers {
        assert_logs_in(&engine, account, app, &clock).await;
    }
}

#[tokio::test]
async fn a_key_is_retired_only_after_the_bulk_reseal_moved_every_record_off_it() {
    let (engine, store, customers, clock) = population(7).await;
    engine.set_keys(KeyRing::new(2, NEW).with_retired(1, OLD));

    let usage = engine.key_usage().await.unwrap();
    assert_eq!(usage.rows, 7);
    assert_eq!(usage.sealed_under, BTreeMap::from([(1, 7)]));
    assert!(usage.is_needed(1));
    let refused = engine.retire_key(1).await.unwrap_err();
    assert!(
        matches!(
            refused,
            EngineError::KeyStillNeeded {
                key_id: 1,
                records: 7
            }
        ),
        "{refused:?}"
    );
    assert!(
        matches!(
            engine.retire_key(2).await.unwrap_err(),
            EngineError::KeyStillNeeded { key_id: 2, .. }
        ),
        "the current key cannot be retired"
    );

    let report = engine.reseal_all().await.unwrap();
    assert_eq!(report.resealed, BTreeMap::from([(1, 7)]));
    assert_eq!(report.current, 0);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let again = engine.reseal_all().await.unwrap();
    assert_eq!((again.resealed.len(), again.current), (0, 7), "idempotent");

    let usage = engine.key_usage().await.unwrap();
    assert_eq!(usage.sealed_under, BTreeMap::from([(2, 7)]));
    assert_eq!(usage.signed_under, BTreeMap::from([(2, 7)]));
    assert!(!usage.is_needed(1));
    engine.retire_key(1).await.unwrap();
    assert_eq!(engine.keys().key_ids(), [2]);

    for (account, app) in &customers {
        assert_logs_in(&engine, account, app, &clock).await;
        assert_eq!(sealed_key_of(&store, account).await, 2);
    }
}

/// The re-seal writes with the same conditional write as a login: logins racing with it
/// neither fail nor accept twice, and every record ends under the new key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bulk_reseal_is_safe_while_logins_happen() {
    let (engine, store, customers, clock) = population(40).await;
    engine.set_keys(KeyRing::new(2, NEW).with_retired(1, OLD));
    let customers = Arc::new(customers);
    let code_time = now(&clock);

    let logins = {
        let (engine, customers) = (engine.clone(), customers.clone());
        tokio::spawn(async move {
            let mut accepted = 0;
            for (account, app) in customers.iter() {
                let code = app.code_at(code_time);
                for _ in 0..2 {
                    // The second submission of each code is a replay, whatever the re-seal does.
                    if let Ok(Login::Verified(_)) = engine.verify_login(account, &code).await {
                        accepted += 1;
                    }
                }
            }
            accepted
        })
    };
    let report = engine.reseal_all().await.unwrap();
    let accepted = logins.await.unwrap();
    assert_eq!(accepted, 40, "each code accepted exactly once");
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let moved: u64 = report.resealed.values().sum();
    assert_eq!(
        moved + report.current,
        40,
        "every row visited once: {report:?}"
    );
    for (account, _) in customers.iter() {
        assert_eq!(sealed_key_of(&store, account).await, 2);
    }
    engine.retire_key(1).await.unwrap();
}

#[tokio::test]
async fn rows_the_reseal_cannot_move_are_reported_and_left_alone() {
    let h = Harness::with_keys(policy(), KeyRing::new(1, OLD));
    h.enrolled().await;
    let broken = AccountId::new("customer-broken").unwrap();
    h.store.inner().put_raw(&broken, 3, b"not a record");
    h.engine.set_keys(KeyRing::new(2, NEW).with_retired(1, OLD));

    let report = h.engine.reseal_all().await.unwrap();
    assert_eq!(report.resealed, BTreeMap::from([(1, 1)]));
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, broken);
    assert_eq!(
        h.store.inner().raw_record(&broken).unwrap(),
        b"not a record",
        "untouched"
    );
    assert_eq!(h.engine.key_usage().await.unwrap().undecodable, [broken]);
}

const NEWER: [u8; 32] = [0x33; 32];

/// The review's attack: `retire_key(1)` counted the records, then installed its copy of the
/// ring minus key 1 after a rotation to key 3 had happened meanwhile, so key 2 silently
/// became the sealing key again and customers enrolled under key 3 failed with
/// `UnknownKeyId(3)`. The ring is replaced by compare-and-swap: the rotation stays.
#[tokio::test]
async fn a_rotation_made_while_a_key_is_being_retired_is_never_undone() {
    let store = Arc::new(common::paused::PausedListing::new(MemoryStore::new()));
    let clock = Arc::new(ManualClock::new(T0));
    let engine = Arc::new(
        Engine::new(
            store.clone(),
            KeyRing::new(2, NEW).with_retired(1, OLD),
            policy().with_outbox(false),
        )
        .unwrap()
        .with_clock(clock.clone()),
    );
    let early = AccountId::new("enrolled-under-2").unwrap();
    let now = u64::try_from(T0).unwrap();
    let step_up = StepUp::transaction_password_verified(&early, now);
    let early_app = App::scan(
        &engine
            .begin(
                &early,
                &totp_enroll::AccountLabel::new("taro").unwrap(),
                &step_up,
            )
            .await
            .unwrap(),
    );
    engine
        .confirm(&early, &early_app.code_at(T0))
        .await
        .unwrap();
    assert!(!engine.key_usage().await.unwrap().is_needed(1));

    // Key 1's retirement reads the store, and is caught before it swaps the ring.
    store.arm();
    let retiring = tokio::spawn({
        let engine = Arc::clone(&engine);
        async move { engine.retire_key(1).await }
    });
    store.paused().await;
    // Meanwhile key 2 is rotated out (it leaked): key 3 seals from now on.
    engine.set_keys(
        KeyRing::new(3, NEWER)
            .with_retired(2, NEW)
            .with_retired(1, OLD),
    );
    store.resume();
    let retired = retiring.await.unwrap();
    assert!(
        matches!(retired, Err(EngineError::KeyRingChanged { key_id: 1 })),
        "{retired:?}"
    );
    assert_eq!(engine.keys().current_key_id(), 3, "the rotation stays");
    assert_eq!(engine.keys().key_ids(), [1, 2, 3], "nothing was removed");

    // A customer enrolled after the rotation is sealed under key 3 and logs in.
    clock.advance(30);
    let late = AccountId::new("enrolled-under-3").unwrap();
    let now = u64::try_from(now_of(&clock)).unwrap();
    let step_up = StepUp::transaction_password_verified(&late, now);
    let late_app = App::scan(
        &engine
            .begin(
                &late,
                &totp_enroll::AccountLabel::new("hanako").unwrap(),
                &step_up,
            )
            .await
            .unwrap(),
    );
    engine
        .confirm(&late, &late_app.code_at(now_of(&clock)))
        .await
        .unwrap();
    assert_eq!(sealed_key_of(&store.inner, &late).await, 3);

    // Retiring again sees the ring as it is now, and keeps key 3 current.
    engine.retire_key(1).await.unwrap();
    assert_eq!(engine.keys().current_key_id(), 3);
    assert_eq!(engine.keys().key_ids(), [2, 3]);
    clock.advance(30);
    assert_logs_in_on(&engine, &late, &late_app, &clock).await;
    assert_logs_in_on(&engine, &early, &early_app, &clock).await;
}

fn now_of(clock: &ManualClock) -> i64 {
    now(clock)
}

async fn assert_logs_in_on<S: Store>(
    engine: &Engine<S>,
    account: &AccountId,
    app: &App,
    clock: &ManualClock,
) {
    let login = engine.verify_login(account, &app.code_at(now(clock))).await;
    assert!(
        matches!(login, Ok(Login::Verified(_))),
        "{account:?}: {login:?}"
    );
}

/// `retire_key` sees this engine's ring only. The documented procedure for several
/// processes on one store: every process gets the ring with the new current key first, then
/// one re-seals, then the old key is retired. A process that skipped the first step keeps
/// sealing under the old key; what it writes fails closed for the others (never accepted)
/// until it has the new ring and re-seals.
#[tokio::test]
async fn a_process_left_on_a_retired_key_fails_closed_until_it_gets_the_ring_and_reseals() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(T0));
    let engine = |ring: KeyRing| {
        Engine::new(store.clone(), ring, policy().with_outbox(false))
            .unwrap()
            .with_clock(clock.clone())
    };
    let rotated = engine(KeyRing::new(1, OLD));
    let left_behind = engine(KeyRing::new(1, OLD));
    rotated.set_keys(KeyRing::new(2, NEW).with_retired(1, OLD));
    rotated.reseal_all().await.unwrap();
    rotated.retire_key(1).await.unwrap();

    // The process that never got key 2 enrolls a customer under key 1.
    let account = AccountId::new("enrolled-by-the-old-process").unwrap();
    let now = u64::try_from(T0).unwrap();
    let step_up = StepUp::transaction_password_verified(&account, now);
    let app = App::scan(
        &left_behind
            .begin(
                &account,
                &totp_enroll::AccountLabel::new("taro").unwrap(),
                &step_up,
            )
            .await
            .unwrap(),
    );
    left_behind
        .confirm(&account, &app.code_at(T0))
        .await
        .unwrap();
    assert_eq!(sealed_key_of(&store, &account).await, 1);

    clock.advance(30);
    let code = app.code_at(now_of(&clock));
    let refused = rotated.verify_login(&account, &code).await;
    assert!(
        matches!(refused, Err(EngineError::Seal(SealError::UnknownKeyId(1)))),
        "fails closed: {refused:?}"
    );
    let usage = left_behind.key_usage().await.unwrap();
    assert!(
        usage.is_needed(1),
        "the store's truth shows the record under key 1"
    );

    // The procedure's first step, late: the process gets the ring and re-seals.
    left_behind.set_keys(KeyRing::new(2, NEW).with_retired(1, OLD));
    let report = left_behind.reseal_all().await.unwrap();
    assert_eq!(report.resealed, BTreeMap::from([(1, 1)]));
    assert!(!rotated.key_usage().await.unwrap().is_needed(1));
    assert_logs_in_on(&rotated, &account, &app, &clock).await;
}
