//! Replay protection and throttling, including under concurrency.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation
)]

mod common;

use std::sync::Arc;

use common::{Harness, wrong_codes};
use totp_enroll::{
    Access, AuditKind, Login, Operator, Status, audit::Operation, error::EngineError,
    error::Refusal, lifecycle::ThrottlePolicy,
};

fn outcome_counts(results: &[Result<Login, EngineError>]) -> (usize, usize, usize, usize) {
    let accepted = results
        .iter()
        .filter(|r| matches!(r, Ok(Login::Verified(_))))
        .count();
    let replayed = results
        .iter()
        .filter(|r| matches!(r, Err(EngineError::Refused(Refusal::Replayed))))
        .count();
    let wrong = results
        .iter()
        .filter(|r| matches!(r, Err(EngineError::Refused(refusal)) if refusal.is_wrong_code()))
        .count();
    let throttled_or_locked = results
        .iter()
        .filter(|r| {
            matches!(
                r,
                Err(EngineError::Refused(
                    Refusal::Throttled { .. } | Refusal::Locked
                ))
            )
        })
        .count();
    (accepted, replayed, wrong, throttled_or_locked)
}

async fn parallel_logins(h: &Harness, codes: Vec<String>) -> Vec<Result<Login, EngineError>> {
    let tasks: Vec<_> = codes
        .into_iter()
        .map(|code| {
            let engine = Arc::clone(&h.engine);
            let account = h.account.clone();
            tokio::spawn(async move { engine.verify_login(&account, &code).await })
        })
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

#[tokio::test]
async fn the_same_code_twice_is_refused_the_second_time_and_audited() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let code = app.code_at(h.now());
    assert!(matches!(
        h.engine.verify_login(&h.account, &code).await.unwrap(),
        Login::Verified(_)
    ));
    let err = h.engine.verify_login(&h.account, &code).await.unwrap_err();
    assert!(matches!(err, EngineError::Refused(Refusal::Replayed)));
    assert!(h.audit_kinds().contains(&AuditKind::Refused {
        operation: Operation::Login,
        refusal: Refusal::Replayed,
        failures: 0
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_parallel_verifications_of_one_code_accept_exactly_one_per_round() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let mut accepted_total = 0;
    for round in 0..100 {
        let code = app.code_at(h.now());
        let results = parallel_logins(&h, vec![code; 64]).await;
        let (accepted, replayed, wrong, other) = outcome_counts(&results);
        assert_eq!(
            (accepted, replayed, wrong, other),
            (1, 63, 0, 0),
            "round {round}: exactly one acceptance, the rest refused as replays"
        );
        accepted_total += accepted;
        h.next_step();
    }
    assert_eq!(accepted_total, 100);
    // Replays are not failures: the enrollment is neither throttled nor locked.
    assert_eq!(h.record().await.throttle().failures(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn codes_of_steps_s_and_s_plus_1_at_once_leave_s_plus_1_stored_and_s_never_after_it() {
    let h = Harness::new();
    let app = h.enrolled().await;
    for round in 0..50 {
        h.delivered().await;
        let s = (h.now() as u64) / 30;
        // Both codes are inside the ±1 window at `now` (S is current, S+1 is ahead).
        let results = parallel_logins(&h, vec![app.code_at_step(s), app.code_at_step(s + 1)]).await;
        assert_eq!(
            h.record().await.last_used_step(),
            Some(s + 1),
            "round {round}"
        );
        // The durable trail's order is the order of the writes; the in-process sink is
        // called after each write returns, so two racing calls may reach it in either order.
        let accepted_steps: Vec<u64> = h
            .delivered()
            .await
            .into_iter()
            .filter_map(|e| match e.kind {
                AuditKind::LoginAccepted { step, .. } => Some(step),
                _ => None,
            })
            .collect();
        assert!(
            accepted_steps == vec![s, s + 1] || accepted_steps == vec![s + 1],
            "round {round}: S may only be accepted before S+1, got {accepted_steps:?}"
        );
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Ok(Login::Verified(v)) if v.step() == s + 1))
        );
        h.clock.advance(60);
    }
}

#[tokio::test]
async fn after_the_clock_goes_back_two_steps_old_codes_stay_refused_and_later_ones_work() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let s = (h.now() as u64) / 30;
    let first = h
        .engine
        .verify_login(&h.account, &app.code_at_step(s))
        .await
        .unwrap();
    assert!(matches!(first, Login::Verified(v) if v.step() == s));
    h.clock.advance(-60);
    // S-1 is inside the window but at or below the floor: a replay. S is now outside the
    // window: simply wrong. Neither is ever accepted.
    for (step, expected) in [(s - 1, Refusal::Replayed), (s, Refusal::WrongCode)] {
        let err = h
            .engine
            .verify_login(&h.account, &app.code_at_step(step))
            .await
            .unwrap_err();
        assert!(
            matches!(err, EngineError::Refused(r) if r == expected),
            "step {step} must not be accepted again: {err:?}"
        );
    }
    assert_eq!(h.record().await.last_used_step(), Some(s));
    h.clock.advance(60);
    let login = h
        .engine
        .verify_login(&h.account, &app.code_at_step(s + 1))
        .await
        .unwrap();
    assert!(matches!(login, Login::Verified(v) if v.step() == s + 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn n_parallel_wrong_codes_add_exactly_n_failures() {
    let h = Harness::with_policy(common::policy().with_throttle(common::lenient_throttle()));
    let app = h.enrolled().await;
    let results = parallel_logins(&h, wrong_codes(&app, h.now(), 50)).await;
    let (accepted, _, wrong, _) = outcome_counts(&results);
    assert_eq!((accepted, wrong), (0, 50));
    assert_eq!(h.record().await.throttle().failures(), 50);
    let counted: Vec<u32> = h
        .audit
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            AuditKind::Refused { failures, .. } => Some(failures),
            _ => None,
        })
        .collect();
    let mut sorted = counted.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (1..=50).collect::<Vec<u32>>(),
        "each failure counted exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_a_lock_threshold_of_5_fifty_parallel_guesses_get_at_most_5_wrong_code_verdicts() {
    let throttle = ThrottlePolicy::new(5, 30, 900, 5).unwrap();
    let h = Harness::with_policy(common::policy().with_throttle(throttle));
    let app = h.enrolled().await;
    let results = parallel_logins(&h, wrong_codes(&app, h.now(), 50)).await;
    let (accepted, _, wrong, refused_unchecked) = outcome_counts(&results);
    assert_eq!(accepted, 0);
    assert!(wrong <= 5, "{wrong} guesses were checked");
    assert_eq!(wrong + refused_unchecked, 50);
    let record = h.record().await;
    assert!(record.throttle().is_locked());
    assert_eq!(record.throttle().failures(), 5);
    assert!(h.audit_kinds().contains(&AuditKind::Locked { failures: 5 }));
}

#[tokio::test]
async fn a_correct_code_during_backoff_is_refused_without_being_checked() {
    let throttle = ThrottlePolicy::new(2, 60, 900, 10).unwrap();
    let h = Harness::with_policy(common::policy().with_throttle(throttle));
    let app = h.enrolled().await;
    for wrong in wrong_codes(&app, h.now(), 2) {
        let _ = h.engine.verify_login(&h.account, &wrong).await.unwrap_err();
    }
    let until = h.now() as u64 + 60;
    assert!(matches!(
        h.engine.status(&h.account).await.unwrap(),
        Status::Active { access: Access::Throttled { until: u }, .. } if u == until
    ));
    let err = h
        .engine
        .verify_login(&h.account, &app.code_at(h.now()))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Refused(Refusal::Throttled { until: u }) if u == until));
    // Not consumed and not counted: after the backoff the same step's code works.
    assert_eq!(h.record().await.throttle().failures(), 2);
    h.clock.advance(60);
    let login = h
        .engine
        .verify_login(&h.account, &app.code_at(h.now()))
        .await
        .unwrap();
    assert!(matches!(login, Login::Verified(_)));
}

/// The documented defaults, pinned: two failures are free, the third imposes 30 s, each
/// further one doubles it (60 s, 120 s, …) up to 15 minutes, and the tenth locks.
#[tokio::test]
async fn by_default_the_third_consecutive_failure_imposes_the_first_30_second_backoff() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let wrong = wrong_codes(&app, h.now(), 10);
    for code in &wrong[..2] {
        let _ = h.engine.verify_login(&h.account, code).await.unwrap_err();
    }
    assert!(matches!(
        h.engine.status(&h.account).await.unwrap(),
        Status::Active {
            access: Access::Open,
            ..
        }
    ));
    let mut expected_backoffs = Vec::new();
    let mut seen_backoffs = Vec::new();
    for (n, code) in wrong.iter().enumerate().skip(2) {
        let now = h.now() as u64;
        let _ = h.engine.verify_login(&h.account, code).await.unwrap_err();
        let failures = n as u32 + 1;
        if failures == ThrottlePolicy::DEFAULT_LOCK_AFTER {
            assert!(h.record().await.throttle().is_locked());
            break;
        }
        expected_backoffs.push((30u64 << (n - 2)).min(15 * 60));
        let until = h.record().await.throttle().backoff_until();
        seen_backoffs.push(until - now);
        h.clock.advance((until - now) as i64);
    }
    assert_eq!(seen_backoffs, expected_backoffs);
    assert_eq!(seen_backoffs[..4], [30, 60, 120, 240]);
    assert_eq!(ThrottlePolicy::DEFAULT_BACKOFF_AFTER, 3);
}

#[tokio::test]
async fn a_success_before_the_lock_resets_the_failure_counter() {
    let h = Harness::new();
    let app = h.enrolled().await;
    for wrong in wrong_codes(&app, h.now(), 2) {
        let _ = h.engine.verify_login(&h.account, &wrong).await.unwrap_err();
    }
    assert_eq!(h.record().await.throttle().failures(), 2);
    let _ = h
        .engine
        .verify_login(&h.account, &app.code_at(h.now()))
        .await
        .unwrap();
    assert_eq!(h.record().await.throttle().failures(), 0);
}

#[tokio::test]
async fn a_lock_is_cleared_only_by_an_administrative_reset() {
    let throttle = ThrottlePolicy::new(3, 1, 1, 3).unwrap();
    let h = Harness::with_policy(common::policy().with_throttle(throttle));
    let app = h.enrolled().await;
    for wrong in wrong_codes(&app, h.now(), 3) {
        let _ = h.engine.verify_login(&h.account, &wrong).await.unwrap_err();
        h.clock.advance(1);
    }
    assert!(matches!(
        h.engine.status(&h.account).await.unwrap(),
        Status::Active {
            access: Access::Locked,
            ..
        }
    ));
    // The audit trail reads in order: the third refusal, then the lock it caused.
    let kinds = h.audit_kinds();
    let tail: Vec<_> = kinds[kinds.len() - 2..].to_vec();
    assert!(
        matches!(
            tail.as_slice(),
            [
                AuditKind::Refused {
                    refusal: Refusal::WrongCodeLocked,
                    failures: 3,
                    ..
                },
                AuditKind::Locked { failures: 3 }
            ]
        ),
        "{tail:?}"
    );
    // Time does not unlock, a correct code does not unlock, restarting does not unlock.
    h.clock.advance(24 * 3600);
    let err = h
        .engine
        .verify_login(&h.account, &app.code_at(h.now()))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Refused(Refusal::Locked)));
    let err = h
        .engine
        .stop(&h.account, &app.code_at(h.now()))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Refused(Refusal::Locked)));
    // The support desk does.
    h.engine
        .desk_reset(&h.account, &Operator::new("desk").unwrap(), "locked out")
        .await
        .unwrap();
    assert_eq!(h.record().await.throttle().failures(), 0);
    assert!(!h.record().await.throttle().is_locked());
}

#[tokio::test]
async fn malformed_and_replayed_codes_are_refused_without_counting_as_failures() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let code = app.code_at(h.now());
    let _ = h.engine.verify_login(&h.account, &code).await.unwrap();
    for input in ["12345", "abcdef", "+81804", "٢٨٧٠٨٢", &code] {
        let _ = h.engine.verify_login(&h.account, input).await.unwrap_err();
    }
    assert_eq!(h.record().await.throttle().failures(), 0);
}

#[test]
fn throttle_policy_bounds_follow_nist_at_most_100_attempts() {
    assert!(ThrottlePolicy::new(3, 30, 900, 101).is_err());
    assert!(ThrottlePolicy::new(3, 30, 900, 0).is_err());
    assert!(ThrottlePolicy::new(11, 30, 900, 10).is_err());
    assert!(ThrottlePolicy::new(3, 0, 900, 10).is_err());
    assert!(ThrottlePolicy::new(3, 30, 900, 100).is_ok());
    assert!(ThrottlePolicy::default().lock_after() <= ThrottlePolicy::MAX_LOCK_AFTER);
}

/// The wrong code that starts a backoff says when to try again, and the one that locks says
/// so: on its own screen, not at the customer's next try. Every one of them counted once.
#[tokio::test]
async fn the_wrong_code_that_starts_a_backoff_or_the_lock_says_so() {
    let h = Harness::new(); // the defaults: backoff from the 3rd failure, lock at the 10th
    let app = h.enrolled().await;
    let wrong = wrong_codes(&app, h.now(), 1).remove(0);
    let mut answers = Vec::new();
    for _ in 0..10 {
        let now = u64::try_from(h.now()).unwrap();
        let refusal = match h.engine.verify_login(&h.account, &wrong).await {
            Err(EngineError::Refused(refusal)) => refusal,
            other => panic!("{other:?}"),
        };
        if let Refusal::WrongCodeThrottled { until } = refusal {
            answers.push(format!("throttled +{}", until - now));
            h.clock.set(i64::try_from(until).unwrap()); // the customer waits
        } else {
            answers.push(format!("{refusal:?}"));
        }
    }
    assert_eq!(
        answers,
        [
            "WrongCode",
            "WrongCode",
            "throttled +30",
            "throttled +60",
            "throttled +120",
            "throttled +240",
            "throttled +480",
            "throttled +900",
            "throttled +900",
            "WrongCodeLocked",
        ]
    );
    assert_eq!(h.record().await.throttle().failures(), 10);
    assert!(matches!(
        h.engine
            .verify_login(&h.account, &app.code_at(h.now()))
            .await,
        Err(EngineError::Refused(Refusal::Locked))
    ));
    // The audit trail names each refusal as it was answered.
    let refusals: Vec<Refusal> = h
        .audit_kinds()
        .into_iter()
        .filter_map(|kind| match kind {
            AuditKind::Refused { refusal, .. } => Some(refusal),
            _ => None,
        })
        .collect();
    assert!(matches!(refusals[2], Refusal::WrongCodeThrottled { .. }));
    assert_eq!(refusals[9], Refusal::WrongCodeLocked);
}
