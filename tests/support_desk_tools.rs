//! The support desk's tools (お客さまサポート窓口): the account overview, the diagnosis of
//! a code read out over the phone (never an acceptance, always counted), and the unlock
//! that keeps the authenticator and the recovery codes.
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

mod common;

use std::collections::HashSet;

use common::{App, Harness, T0, lenient_throttle, policy, wrong_codes};
use totp_enroll::{
    Access, AuditKind, Login, Operator, Status, engine::Diagnosis, error::EngineError,
    error::IdentifierError, error::Refusal,
};

fn desk() -> Operator {
    Operator::new("desk-03 佐藤").unwrap()
}

/// A six-digit code that belongs to no step within a day of now (searched by hand).
fn code_of_no_step(h: &Harness, app: &App) -> String {
    let now_step = u64::try_from(h.now()).unwrap() / 30;
    let all: HashSet<String> = (now_step - 2880..=now_step + 2881)
        .map(|step| app.code_at_step(step))
        .collect();
    (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|code| !all.contains(code))
        .unwrap()
}

#[tokio::test]
async fn the_overview_shows_the_authenticator_codes_left_and_lock_state_but_no_secret() {
    let h = Harness::new();
    let provisioning = h.begin().await;
    let app = App::scan(&provisioning);
    let setup_key = provisioning.reveal_setup_key().replace(' ', "");
    let pending = h.engine.overview(&h.account).await.unwrap();
    assert!(pending.authenticators[0].pending);
    h.engine
        .confirm_with_recovery_codes(&h.account, &app.code_at(h.now()))
        .await
        .unwrap();
    h.clock.advance(30);
    let _ = h
        .engine
        .verify_login(&h.account, &wrong_codes(&app, h.now(), 1)[0])
        .await;
    let overview = h.engine.overview(&h.account).await.unwrap();
    assert!(matches!(overview.status, Status::Active { since, .. } if since == T0 as u64));
    assert_eq!(overview.authenticators.len(), 1);
    let authenticator = &overview.authenticators[0];
    assert_eq!(authenticator.label, "taro@example.jp");
    assert_eq!(authenticator.created_at, T0 as u64);
    assert_eq!(authenticator.last_used_at, Some(T0 as u64 / 30 * 30));
    assert!(!authenticator.pending);
    assert_eq!(
        (authenticator.drift_steps, authenticator.drift_seconds),
        (0, 0)
    );
    assert_eq!(overview.recovery_codes_remaining, 10);
    assert_eq!(overview.failures, 1);
    assert!(!overview.locked);
    assert_eq!(overview.backoff_until, None);
    let shown = format!("{overview:?}");
    assert!(!shown.contains(&setup_key[..8]), "{shown}");
}

#[tokio::test]
async fn an_account_without_the_service_has_an_empty_overview() {
    let h = Harness::new();
    let overview = h.engine.overview(&h.account).await.unwrap();
    assert_eq!(overview.status, Status::NotRegistered);
    assert!(overview.authenticators.is_empty());
    assert_eq!(overview.recovery_codes_remaining, 0);
}

#[tokio::test]
async fn a_diagnosis_tells_how_far_off_the_phone_is_without_accepting_or_consuming() {
    let h = Harness::with_policy(policy().with_throttle(lenient_throttle()));
    let app = h.enrolled().await;
    let used = h.record().await.last_used_step();
    let ahead = app.code_at(h.now() + 10 * 30);
    assert_eq!(
        h.engine
            .desk_diagnose(&h.account, &ahead, &desk())
            .await
            .unwrap(),
        Diagnosis::Matches {
            authenticator: 1,
            offset: 10,
            seconds: 300,
            already_used: false
        }
    );
    // The current code: diagnosed, not consumed (it still logs in afterwards).
    let current = app.code_at(h.now());
    assert_eq!(
        h.engine
            .desk_diagnose(&h.account, &current, &desk())
            .await
            .unwrap(),
        Diagnosis::Matches {
            authenticator: 1,
            offset: 0,
            seconds: 0,
            already_used: false
        }
    );
    assert_eq!(h.record().await.last_used_step(), used);
    assert!(matches!(
        h.engine.verify_login(&h.account, &current).await,
        Ok(Login::Verified(_))
    ));
}

#[tokio::test]
async fn every_diagnosis_counts_as_a_failure_so_the_desk_is_no_oracle() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let current = app.code_at(h.now());
    for expected in 1..=3 {
        h.engine
            .desk_diagnose(&h.account, &current, &desk())
            .await
            .unwrap();
        assert_eq!(h.record().await.throttle().failures(), expected);
    }
    assert!(h.audit_kinds().contains(&AuditKind::Diagnosed {
        operator: desk(),
        offset: Some(0),
        failures: 3
    }));
    // A backoff does not stop the desk; the lock does.
    for _ in 3..10 {
        h.engine
            .desk_diagnose(&h.account, &current, &desk())
            .await
            .unwrap();
    }
    assert!(h.record().await.throttle().is_locked());
    assert!(
        h.audit_kinds()
            .contains(&AuditKind::Locked { failures: 10 })
    );
    assert!(matches!(
        h.engine.desk_diagnose(&h.account, &current, &desk()).await,
        Err(EngineError::Refused(Refusal::Locked))
    ));
}

#[tokio::test]
async fn a_code_of_no_step_within_a_day_is_no_match() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let code = code_of_no_step(&h, &app);
    assert_eq!(
        h.engine
            .desk_diagnose(&h.account, &code, &desk())
            .await
            .unwrap(),
        Diagnosis::NoMatch { searched: 2880 }
    );
    assert!(h.audit_kinds().contains(&AuditKind::Diagnosed {
        operator: desk(),
        offset: None,
        failures: 1
    }));
}

/// A device still awaiting its first code has proven nothing: the desk does not vouch for
/// its codes (as the resync does not search it).
#[tokio::test]
async fn a_pending_device_is_not_diagnosed() {
    let h = Harness::with_policy(
        policy()
            .with_second_device(totp_enroll::SecondDevice::OwnSecret)
            .with_throttle(lenient_throttle()),
    );
    let phone = h.enrolled().await;
    let added = h
        .engine
        .add_authenticator(
            &h.account,
            "iPad",
            &phone.code_at(h.now()),
            Some(&h.step_up()),
        )
        .await
        .unwrap();
    let pending = App::scan(&added.provisioning);
    let code = pending.code_at(h.now());
    assert_ne!(code, phone.code_at(h.now()));
    let diagnosis = h
        .engine
        .desk_diagnose(&h.account, &code, &desk())
        .await
        .unwrap();
    assert!(
        matches!(diagnosis, Diagnosis::NoMatch { .. })
            || matches!(
                diagnosis,
                Diagnosis::Matches {
                    authenticator: 1,
                    ..
                }
            ),
        "only the phone is searched: {diagnosis:?}"
    );
    // Once confirmed, it is searched like any other.
    h.engine
        .confirm_authenticator(&h.account, added.id, &code)
        .await
        .unwrap();
    let diagnosis = h
        .engine
        .desk_diagnose(&h.account, &code, &desk())
        .await
        .unwrap();
    assert!(
        matches!(
            diagnosis,
            Diagnosis::Matches {
                authenticator: 2,
                offset: 0,
                already_used: true,
                ..
            }
        ),
        "{diagnosis:?}"
    );
}

#[tokio::test]
async fn the_last_used_code_is_diagnosed_as_already_used() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let used = h.record().await.last_used_step().unwrap();
    let diagnosis = h
        .engine
        .desk_diagnose(&h.account, &app.code_at_step(used), &desk())
        .await
        .unwrap();
    assert_eq!(
        diagnosis,
        Diagnosis::Matches {
            authenticator: 1,
            offset: -1,
            seconds: -30,
            already_used: true
        }
    );
}

#[tokio::test]
async fn a_malformed_code_is_not_diagnosed_nor_counted() {
    let h = Harness::new();
    let _ = h.enrolled().await;
    assert!(matches!(
        h.engine.desk_diagnose(&h.account, "12 34", &desk()).await,
        Err(EngineError::Refused(Refusal::Malformed(_)))
    ));
    assert_eq!(h.record().await.throttle().failures(), 0);
}

#[tokio::test]
async fn an_account_without_the_service_cannot_be_diagnosed() {
    let h = Harness::new();
    assert!(matches!(
        h.engine.desk_diagnose(&h.account, "123456", &desk()).await,
        Err(EngineError::NotActive)
    ));
}

#[tokio::test]
async fn unlocking_keeps_the_authenticator_and_the_recovery_codes() {
    let h = Harness::new();
    let app = App::scan(&h.begin().await);
    h.engine
        .confirm_with_recovery_codes(&h.account, &app.code_at(h.now()))
        .await
        .unwrap();
    h.next_step();
    let mut locked = false;
    for code in wrong_codes(&app, h.now(), 20) {
        match h.engine.verify_login(&h.account, &code).await {
            Err(EngineError::Refused(Refusal::Throttled { until })) => {
                h.clock.set(i64::try_from(until).unwrap());
            }
            Err(EngineError::Refused(Refusal::Locked)) => {
                locked = true;
                break;
            }
            _ => {}
        }
    }
    assert!(locked);
    h.engine
        .desk_unlock(&h.account, &desk(), "本人確認済み（運転免許証）")
        .await
        .unwrap();
    assert!(matches!(
        h.engine.status(&h.account).await.unwrap(),
        Status::Active {
            access: Access::Open,
            ..
        }
    ));
    assert_eq!(h.record().await.recovery_codes_remaining(), 10);
    assert!(matches!(
        h.engine
            .verify_login(&h.account, &app.code_at(h.now()))
            .await,
        Ok(Login::Verified(_))
    ));
    let unlocked = AuditKind::Unlocked {
        operator: desk(),
        reason: "本人確認済み（運転免許証）".to_owned(),
    };
    assert!(unlocked.is_factor_change());
    assert!(h.audit_kinds().contains(&unlocked));
}

#[tokio::test]
async fn an_unlock_needs_a_clean_reason() {
    let h = Harness::new();
    let _ = h.enrolled().await;
    assert!(matches!(
        h.engine
            .desk_unlock(&h.account, &desk(), "ok\nforged line")
            .await,
        Err(EngineError::InvalidIdentifier(
            IdentifierError::ControlCharacter { .. }
        ))
    ));
}
