//! Authenticators as a set: a second device with its own secret (`SecondDevice::OwnSecret`),
//! pending until its own first code; login over every authenticator with replay per
//! authenticator; removing one with a code of another; the manual's re-display stays the
//! default.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::sync::Arc;

use common::{App, Harness, lenient_throttle, policy, wrong_codes};
use totp_enroll::testing::conformance::{self, Outcome};
use totp_enroll::{
    AuditKind, Login, Operator, SecondDevice, StepUp, error::EngineError, error::Refusal,
    error::StepUpError, lifecycle::Authenticator,
};

/// Each device its own secret, without the step-up that mode asks for by default (the
/// tests of the step-up rules below set it back on), lenient throttling.
fn own_secret() -> totp_enroll::EnginePolicy {
    policy()
        .with_second_device(SecondDevice::OwnSecret)
        .with_second_device_step_up(false)
        .with_throttle(lenient_throttle())
}

async fn login(h: &Harness, code: &str) -> Result<Login, EngineError> {
    h.engine.verify_login(&h.account, code).await
}

fn by(result: &Result<Login, EngineError>) -> Option<u8> {
    match result {
        Ok(Login::Verified(v)) => Some(v.authenticator()),
        _ => None,
    }
}

/// Enrolls the phone, adds and confirms a tablet (id 2); the clock then sits one step later.
async fn phone_and_tablet(h: &Harness) -> (App, App) {
    let phone = h.enrolled().await;
    let added = h
        .engine
        .add_authenticator(&h.account, "iPad", &phone.code_at(h.now()), None)
        .await
        .unwrap();
    assert_eq!(added.id, 2);
    let tablet = App::scan(&added.provisioning);
    h.engine
        .confirm_authenticator(&h.account, 2, &tablet.code_at(h.now()))
        .await
        .unwrap();
    h.next_step();
    (phone, tablet)
}

#[tokio::test]
async fn by_default_a_second_device_gets_the_same_secret_and_no_own_one() {
    let h = Harness::new();
    let phone = h.enrolled().await;
    assert!(matches!(
        h.engine
            .add_authenticator(&h.account, "iPad", &phone.code_at(h.now()), None)
            .await,
        Err(EngineError::OwnSecretDisabled)
    ));
    let again = h
        .engine
        .redisplay(&h.account, &phone.code_at(h.now()))
        .await
        .unwrap();
    let tablet = App::scan(&again);
    h.next_step();
    assert_eq!(tablet.code_at(h.now()), phone.code_at(h.now()));
    assert_eq!(h.record().await.authenticators().len(), 1);
}

#[tokio::test]
async fn an_own_secret_device_cannot_log_in_before_its_confirmation() {
    let h = Harness::with_policy(own_secret());
    let phone = h.enrolled().await;
    let added = h
        .engine
        .add_authenticator(&h.account, "iPad", &phone.code_at(h.now()), None)
        .await
        .unwrap();
    let tablet = App::scan(&added.provisioning);
    assert_ne!(
        tablet.code_at(h.now()),
        phone.code_at(h.now()),
        "its own secret"
    );
    let pending = h.record().await;
    assert!(pending.authenticator(2).unwrap().is_pending());
    assert!(h.audit_kinds().contains(&AuditKind::AuthenticatorAdded {
        id: 2,
        name: "iPad".to_owned()
    }));
    h.next_step();
    assert!(matches!(
        login(&h, &tablet.code_at(h.now())).await,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));
    // The phone keeps working meanwhile.
    assert_eq!(by(&login(&h, &phone.code_at(h.now())).await), Some(1));
}

#[tokio::test]
async fn an_added_device_is_confirmed_only_by_its_own_code() {
    let h = Harness::with_policy(own_secret());
    let phone = h.enrolled().await;
    let added = h
        .engine
        .add_authenticator(&h.account, "iPad", &phone.code_at(h.now()), None)
        .await
        .unwrap();
    let tablet = App::scan(&added.provisioning);
    h.next_step();
    assert!(matches!(
        h.engine
            .confirm_authenticator(&h.account, 2, &phone.code_at(h.now()))
            .await,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));
    h.engine
        .confirm_authenticator(&h.account, 2, &tablet.code_at(h.now()))
        .await
        .unwrap();
    assert!(
        h.audit_kinds()
            .contains(&AuditKind::AuthenticatorConfirmed { id: 2 })
    );
    // Its confirmation code is consumed.
    assert!(matches!(
        login(&h, &tablet.code_at(h.now())).await,
        Err(EngineError::Refused(Refusal::Replayed))
    ));
    h.next_step();
    assert_eq!(by(&login(&h, &tablet.code_at(h.now())).await), Some(2));
}

#[tokio::test]
async fn each_authenticator_logs_in_and_is_reported_and_audited_by_id() {
    let h = Harness::with_policy(own_secret());
    let (phone, tablet) = phone_and_tablet(&h).await;
    assert_eq!(by(&login(&h, &tablet.code_at(h.now())).await), Some(2));
    // Replay is per authenticator: the phone's code of the same step still logs in once.
    assert_eq!(by(&login(&h, &phone.code_at(h.now())).await), Some(1));
    assert!(matches!(
        login(&h, &phone.code_at(h.now())).await,
        Err(EngineError::Refused(Refusal::Replayed))
    ));
    assert!(matches!(
        login(&h, &tablet.code_at(h.now())).await,
        Err(EngineError::Refused(Refusal::Replayed))
    ));
    let accepted: Vec<u8> = h
        .audit_kinds()
        .into_iter()
        .filter_map(|k| match k {
            AuditKind::LoginAccepted { authenticator, .. } => Some(authenticator),
            _ => None,
        })
        .collect();
    assert_eq!(accepted, vec![2, 1]);
}

#[tokio::test]
async fn drift_is_tracked_per_authenticator() {
    let h = Harness::with_policy(own_secret());
    let (phone, tablet) = phone_and_tablet(&h).await;
    assert_eq!(by(&login(&h, &tablet.code_at(h.now() + 30)).await), Some(2));
    h.next_step();
    assert_eq!(by(&login(&h, &phone.code_at(h.now() - 30)).await), Some(1));
    let record = h.record().await;
    assert_eq!(record.authenticator(1).unwrap().drift(), -1);
    assert_eq!(record.authenticator(2).unwrap().drift(), 1);
}

#[tokio::test]
async fn re_display_is_refused_when_each_device_has_its_own_secret() {
    let h = Harness::with_policy(own_secret());
    let phone = h.enrolled().await;
    assert!(matches!(
        h.engine
            .redisplay(&h.account, &phone.code_at(h.now()))
            .await,
        Err(EngineError::RedisplayDisabled)
    ));
}

#[tokio::test]
async fn a_second_device_may_require_a_fresh_step_up_besides_the_code() {
    let h = Harness::with_policy(own_secret().with_second_device_step_up(true));
    let phone = h.enrolled().await;
    let code = phone.code_at(h.now());
    assert!(matches!(
        h.engine
            .add_authenticator(&h.account, "iPad", &code, None)
            .await,
        Err(EngineError::StepUp(StepUpError::Required))
    ));
    let stale =
        StepUp::transaction_password_verified(&h.account, u64::try_from(h.now() - 3600).unwrap());
    assert!(matches!(
        h.engine
            .add_authenticator(&h.account, "iPad", &code, Some(&stale))
            .await,
        Err(EngineError::StepUp(StepUpError::Expired { .. }))
    ));
    // Nothing was consumed by the refusals.
    let added = h
        .engine
        .add_authenticator(&h.account, "iPad", &code, Some(&h.step_up()))
        .await
        .unwrap();
    assert_eq!(added.id, 2);

    // The same for the manual's re-display, when it is the policy.
    let h = Harness::with_policy(policy().with_second_device_step_up(true));
    let phone = h.enrolled().await;
    let code = phone.code_at(h.now());
    assert!(matches!(
        h.engine.redisplay(&h.account, &code).await,
        Err(EngineError::StepUp(StepUpError::Required))
    ));
    assert!(
        h.engine
            .redisplay_after_step_up(&h.account, &code, &h.step_up())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn own_secret_devices_ask_for_a_fresh_step_up_by_default() {
    let default = policy().with_second_device(SecondDevice::OwnSecret);
    assert!(default.second_device_step_up());
    assert!(
        !policy().second_device_step_up(),
        "the manual's re-display asks for a code only"
    );
    let h = Harness::with_policy(default);
    let phone = h.enrolled().await;
    let code = phone.code_at(h.now());
    assert!(matches!(
        h.engine
            .add_authenticator(&h.account, "iPad", &code, None)
            .await,
        Err(EngineError::StepUp(StepUpError::Required))
    ));
    assert!(h.audit_kinds().contains(&AuditKind::StepUpRefused));
    let added = h
        .engine
        .add_authenticator(&h.account, "iPad", &code, Some(&h.step_up()))
        .await
        .unwrap();
    assert_eq!(added.id, 2);
}

#[tokio::test]
async fn a_device_added_with_one_phished_code_cannot_remove_the_phone_without_a_step_up() {
    // The attacker phished one code and the transaction password once, added a tablet and
    // confirmed it; later, with the tablet's own code alone, they try to remove the phone.
    let h = Harness::with_policy(
        policy()
            .with_second_device(SecondDevice::OwnSecret)
            .with_throttle(lenient_throttle()),
    );
    let phone = h.enrolled().await;
    let added = h
        .engine
        .add_authenticator(
            &h.account,
            "attacker",
            &phone.code_at(h.now()),
            Some(&h.step_up()),
        )
        .await
        .unwrap();
    let tablet = App::scan(&added.provisioning);
    h.engine
        .confirm_authenticator(&h.account, added.id, &tablet.code_at(h.now()))
        .await
        .unwrap();
    h.next_step();
    let code = tablet.code_at(h.now());
    assert!(matches!(
        h.engine
            .remove_authenticator(&h.account, 1, &code, None)
            .await,
        Err(EngineError::StepUp(StepUpError::Required))
    ));
    let stale =
        StepUp::transaction_password_verified(&h.account, u64::try_from(h.now() - 3600).unwrap());
    assert!(matches!(
        h.engine
            .remove_authenticator(&h.account, 1, &code, Some(&stale))
            .await,
        Err(EngineError::StepUp(StepUpError::Expired { .. }))
    ));
    // The phone is still there and still logs in; the refused code was not consumed.
    assert!(h.record().await.authenticator(1).is_some());
    assert_eq!(by(&login(&h, &phone.code_at(h.now())).await), Some(1));
    // The customer, with the step-up, removes the attacker's device with the phone.
    h.next_step();
    h.engine
        .remove_authenticator(&h.account, 2, &phone.code_at(h.now()), Some(&h.step_up()))
        .await
        .unwrap();
    assert!(h.record().await.authenticator(2).is_none());
}

#[tokio::test]
async fn a_pending_device_lapses_and_a_new_add_replaces_it() {
    let h = Harness::with_policy(own_secret());
    let phone = h.enrolled().await;
    let first = h
        .engine
        .add_authenticator(&h.account, "iPad", &phone.code_at(h.now()), None)
        .await
        .unwrap();
    let lapsed = App::scan(&first.provisioning);
    h.clock.advance(601);
    assert!(matches!(
        h.engine
            .confirm_authenticator(&h.account, 2, &lapsed.code_at(h.now()))
            .await,
        Err(EngineError::UnknownAuthenticator(2))
    ));
    let second = h
        .engine
        .add_authenticator(&h.account, "iPad mini", &phone.code_at(h.now()), None)
        .await
        .unwrap();
    assert_eq!(second.id, 2);
    let record = h.record().await;
    assert_eq!(record.authenticators().len(), 2);
    assert_eq!(record.authenticator(2).unwrap().name(), "iPad mini");
}

#[tokio::test]
async fn an_account_holds_at_most_five_authenticators() {
    let h = Harness::with_policy(own_secret());
    let phone = h.enrolled().await;
    for id in 2..=5u8 {
        let added = h
            .engine
            .add_authenticator(
                &h.account,
                &format!("device {id}"),
                &phone.code_at(h.now()),
                None,
            )
            .await
            .unwrap();
        assert_eq!(added.id, id);
        let app = App::scan(&added.provisioning);
        h.engine
            .confirm_authenticator(&h.account, id, &app.code_at(h.now()))
            .await
            .unwrap();
        h.next_step();
    }
    assert_eq!(
        h.record().await.authenticators().len(),
        Authenticator::MAX_PER_ACCOUNT
    );
    assert!(matches!(
        h.engine
            .add_authenticator(&h.account, "one too many", &phone.code_at(h.now()), None)
            .await,
        Err(EngineError::TooManyAuthenticators)
    ));
}

#[tokio::test]
async fn a_device_name_follows_the_name_rules() {
    let h = Harness::with_policy(own_secret());
    let phone = h.enrolled().await;
    for bad in ["", "tab\nlet", &"x".repeat(65)] {
        assert!(
            matches!(
                h.engine
                    .add_authenticator(&h.account, bad, &phone.code_at(h.now()), None)
                    .await,
                Err(EngineError::InvalidIdentifier(_))
            ),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn removing_a_device_needs_a_code_of_another_one() {
    let h = Harness::with_policy(own_secret());
    let (phone, tablet) = phone_and_tablet(&h).await;
    // Its own code cannot remove it.
    assert!(matches!(
        h.engine
            .remove_authenticator(&h.account, 2, &tablet.code_at(h.now()), None)
            .await,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));
    h.engine
        .remove_authenticator(&h.account, 2, &phone.code_at(h.now()), None)
        .await
        .unwrap();
    assert!(h.audit_kinds().contains(&AuditKind::AuthenticatorRemoved {
        id: 2,
        operator: None
    }));
    h.next_step();
    assert!(matches!(
        login(&h, &tablet.code_at(h.now())).await,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));
    assert_eq!(by(&login(&h, &phone.code_at(h.now())).await), Some(1));
    // The only one left cannot be removed: stop the service instead.
    assert!(matches!(
        h.engine
            .remove_authenticator(&h.account, 1, &phone.code_at(h.now()), None)
            .await,
        Err(EngineError::LastAuthenticator)
    ));
    assert!(matches!(
        h.engine
            .remove_authenticator(&h.account, 9, &phone.code_at(h.now()), None)
            .await,
        Err(EngineError::UnknownAuthenticator(9))
    ));
}

#[tokio::test]
async fn the_first_device_can_be_removed_with_the_second_ones_code() {
    let h = Harness::with_policy(own_secret());
    let (phone, tablet) = phone_and_tablet(&h).await;
    h.engine
        .remove_authenticator(&h.account, 1, &tablet.code_at(h.now()), None)
        .await
        .unwrap();
    h.next_step();
    assert!(login(&h, &phone.code_at(h.now())).await.is_err());
    assert_eq!(by(&login(&h, &tablet.code_at(h.now())).await), Some(2));
    // A new device then gets the next id, never a removed one's.
    let added = h
        .engine
        .add_authenticator(&h.account, "Android", &tablet.code_at(h.now() + 30), None)
        .await
        .unwrap();
    assert_eq!(added.id, 3);
}

#[tokio::test]
async fn the_support_desk_removes_one_lost_device_and_the_others_keep_working() {
    let h = Harness::with_policy(own_secret());
    let (phone, tablet) = phone_and_tablet(&h).await;
    let desk = Operator::new("desk-02").unwrap();
    h.engine
        .desk_remove_authenticator(&h.account, 1, &desk, "iPhone lost, identity checked")
        .await
        .unwrap();
    assert!(h.audit_kinds().contains(&AuditKind::AuthenticatorRemoved {
        id: 1,
        operator: Some(desk.clone())
    }));
    assert!(login(&h, &phone.code_at(h.now())).await.is_err());
    assert_eq!(by(&login(&h, &tablet.code_at(h.now())).await), Some(2));
    let overview = h.engine.overview(&h.account).await.unwrap();
    assert_eq!(overview.authenticators.len(), 1);
    assert_eq!(overview.authenticators[0].name, "iPad");
    assert!(matches!(
        h.engine
            .desk_remove_authenticator(&h.account, 2, &desk, "last one")
            .await,
        Err(EngineError::LastAuthenticator)
    ));
}

#[tokio::test]
async fn stopping_the_service_removes_every_authenticator() {
    let h = Harness::with_policy(own_secret());
    let (phone, tablet) = phone_and_tablet(&h).await;
    h.engine
        .stop(&h.account, &tablet.code_at(h.now()))
        .await
        .unwrap();
    assert!(h.record().await.authenticators().is_empty());
    h.next_step();
    assert_eq!(
        login(&h, &phone.code_at(h.now())).await.unwrap(),
        Login::NotRequired
    );
}

#[tokio::test]
async fn a_wrong_code_counts_once_whatever_the_number_of_authenticators() {
    let h = Harness::with_policy(own_secret());
    let (phone, _) = phone_and_tablet(&h).await;
    for code in wrong_codes(&phone, h.now(), 2) {
        let _ = login(&h, &code).await;
    }
    assert_eq!(h.record().await.throttle().failures(), 2);
}

#[tokio::test]
async fn the_overview_lists_every_authenticator_with_its_name() {
    let h = Harness::with_policy(own_secret());
    let _ = phone_and_tablet(&h).await;
    let overview = h.engine.overview(&h.account).await.unwrap();
    let names: Vec<(u8, &str, bool)> = overview
        .authenticators
        .iter()
        .map(|a| (a.id, a.name.as_str(), a.pending))
        .collect();
    assert_eq!(names, vec![(1, "", false), (2, "iPad", false)]);
}

/// 64 parallel submissions of the second device's code over 4 engines: exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_submissions_of_one_devices_code_are_accepted_exactly_once() {
    let store = Arc::new(totp_enroll::MemoryStore::new());
    let key = conformance::random_key().unwrap();
    let start = conformance::START;
    let clock = Arc::new(totp_enroll::ManualClock::new(i64::try_from(start).unwrap()));
    let engine = |store: &Arc<totp_enroll::MemoryStore>| {
        let policy = conformance::engine(store.clone(), key, clock.clone(), lenient_throttle())
            .unwrap()
            .policy()
            .clone()
            .with_second_device(SecondDevice::OwnSecret);
        Arc::new(
            totp_enroll::Engine::new(store.clone(), totp_enroll::KeyRing::new(1, key), policy)
                .unwrap()
                .with_clock(clock.clone()),
        )
    };
    let engines: Vec<_> = (0..4).map(|_| engine(&store)).collect();
    let account = conformance::fresh_account("devices-race").unwrap();
    let phone = conformance::enroll(&engines[0], &account, start)
        .await
        .unwrap();
    clock.advance(30);
    let step_up = StepUp::transaction_password_verified(&account, start + 30);
    let added = engines[1]
        .add_authenticator(
            &account,
            "iPad",
            &phone.code_at(start + 30).to_string(),
            Some(&step_up),
        )
        .await
        .unwrap();
    let uri = totp_enroll::provision::KeyUri::parse(&added.provisioning.uri()).unwrap();
    let tablet = totp_enroll::otp::Totp::new(uri.secret(), uri.policy());
    engines[2]
        .confirm_authenticator(&account, 2, &tablet.code_at(start + 30).to_string())
        .await
        .unwrap();
    clock.advance(30);
    let code = tablet.code_at(start + 60).to_string();
    let outcomes = conformance::race(64, |i| {
        let engine = Arc::clone(&engines[i % 4]);
        let (account, code) = (account.clone(), code.clone());
        async move { Outcome::from(engine.verify_login(&account, &code).await) }
    })
    .await
    .unwrap();
    let accepted = outcomes.iter().filter(|o| **o == Outcome::Verified).count();
    let replayed = outcomes
        .iter()
        .filter(|o| **o == Outcome::Refused(Refusal::Replayed))
        .count();
    assert_eq!((accepted, replayed), (1, 63), "{outcomes:?}");
}

#[tokio::test]
async fn a_key_rotation_reseals_every_authenticator() {
    let h = Harness::with_keys(own_secret(), totp_enroll::KeyRing::new(1, [0x31; 32]));
    let (phone, tablet) = phone_and_tablet(&h).await;
    let mut ring = (*h.engine.keys()).clone();
    ring.rotate(2, [0x32; 32]);
    h.engine.set_keys(ring);
    let report = h.engine.reseal_all().await.unwrap();
    assert_eq!(report.resealed.get(&1), Some(&1));
    let record = h.record().await;
    assert!(
        record
            .authenticators()
            .iter()
            .all(|a| a.sealed_secret().key_id() == 2)
    );
    h.engine.retire_key(1).await.unwrap();
    assert_eq!(by(&login(&h, &phone.code_at(h.now())).await), Some(1));
    assert_eq!(by(&login(&h, &tablet.code_at(h.now())).await), Some(2));
}

#[tokio::test]
async fn the_desk_diagnosis_and_a_resync_name_the_authenticator_whose_code_it_is() {
    let h = Harness::with_policy(own_secret());
    let (_, tablet) = phone_and_tablet(&h).await;
    let desk = Operator::new("desk-02").unwrap();
    let diagnosis = h
        .engine
        .desk_diagnose(&h.account, &tablet.code_at(h.now() + 300), &desk)
        .await
        .unwrap();
    assert!(matches!(
        diagnosis,
        totp_enroll::engine::Diagnosis::Matches {
            authenticator: 2,
            offset: 10,
            ..
        }
    ));
    let resynced = h
        .engine
        .desk_resync(
            &h.account,
            &tablet.code_at(h.now() + 270),
            &tablet.code_at(h.now() + 300),
            &desk,
            "iPad clock 5 minutes fast",
        )
        .await
        .unwrap();
    assert_eq!((resynced.authenticator, resynced.drift), (2, 10));
    let record = h.record().await;
    assert_eq!(record.authenticator(1).unwrap().drift(), 0);
    assert_eq!(record.authenticator(2).unwrap().drift(), 10);
}
