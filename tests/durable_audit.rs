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
//! The durable audit trail: every engine call's events are written into the store's outbox
//! in the same atomic step as the record (refusals that change no record too), delivered
//! by `Outbox` at least once, in order, with stable ids, and carrying the request context
//! the portal set around the handler. When the events cannot be written, nothing changes.
//!
//! The crash between commit and delivery (a child process killed with SIGKILL) is in
//! tests/outbox_crash.rs; the store-level outbox rules for every store are in the
//! conformance suite.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{Harness, policy, wrong_codes};
use totp_enroll::testing::Fault;
use totp_enroll::{
    AccountId, AuditDelivery, AuditEvent, AuditKind, Login, Outbox, RequestContext, StepUp, Store,
    audit::MemoryAudit, audit::Operation, engine::DeliveredEvent, error::EngineError,
    error::OutboxError, error::Refusal,
};

fn kinds(events: &[AuditEvent]) -> Vec<AuditKind> {
    events.iter().map(|e| e.kind.clone()).collect()
}

#[tokio::test]
async fn every_call_of_the_lifecycle_is_in_the_outbox_in_the_order_it_happened() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let code = app.code_at(h.now());
    assert!(matches!(
        h.engine.verify_login(&h.account, &code).await.unwrap(),
        Login::Verified(_)
    ));
    let replay = h.engine.verify_login(&h.account, &code).await.unwrap_err();
    assert!(matches!(replay, EngineError::Refused(Refusal::Replayed)));
    let wrong = &wrong_codes(&app, h.now(), 1)[0];
    h.engine.verify_login(&h.account, wrong).await.unwrap_err();
    h.engine
        .verify_login(&h.account, "12a456")
        .await
        .unwrap_err();
    h.next_step();
    h.engine
        .redisplay(&h.account, &app.code_at(h.now()))
        .await
        .unwrap();
    h.next_step();
    h.engine
        .stop(&h.account, &app.code_at(h.now()))
        .await
        .unwrap();

    let delivered = h.delivered().await;
    // The durable trail holds exactly what the in-process observer saw, in the same order.
    assert_eq!(delivered, h.audit.events());
    let names: Vec<&str> = delivered
        .iter()
        .map(|e| match &e.kind {
            AuditKind::EnrollmentStarted { .. } => "started",
            AuditKind::EnrollmentConfirmed { .. } => "confirmed",
            AuditKind::LoginAccepted { .. } => "accepted",
            AuditKind::Refused {
                refusal: Refusal::Replayed,
                ..
            } => "replayed",
            AuditKind::Refused {
                refusal: Refusal::WrongCode,
                ..
            } => "wrong",
            AuditKind::Refused {
                refusal: Refusal::Malformed(_),
                ..
            } => "malformed",
            AuditKind::Redisplayed => "redisplayed",
            AuditKind::Stopped => "stopped",
            other => panic!("unexpected event {other:?}"),
        })
        .collect();
    assert_eq!(
        names,
        [
            "started",
            "confirmed",
            "accepted",
            "replayed",
            "wrong",
            "malformed",
            "redisplayed",
            "stopped"
        ]
    );
    assert!(delivered.iter().all(|e| e.account == h.account));
    assert_eq!(h.store.inner().pending_event_count(), 0, "all acknowledged");
}

#[tokio::test]
async fn refusals_that_change_no_record_are_durable_too() {
    let h = Harness::new();
    let app = h.enrolled().await;
    h.delivered().await;
    let before = h.record().await;
    h.engine
        .verify_login(&h.account, "not a code")
        .await
        .unwrap_err();
    h.engine
        .begin(
            &h.account,
            &totp_enroll::AccountLabel::new("taro").unwrap(),
            &StepUp::transaction_password_verified(&h.account, 1),
        )
        .await
        .unwrap_err();
    assert_eq!(h.record().await, before, "no record was written");
    let delivered = kinds(&h.delivered().await);
    assert!(matches!(
        delivered[..],
        [
            AuditKind::Refused {
                operation: Operation::Login,
                refusal: Refusal::Malformed(_),
                failures: 0
            },
            AuditKind::StepUpRefused
        ]
    ));
    drop(app);
}

/// Ids are the store's, stable across redeliveries; a failing sink loses nothing and a
/// second pass after success delivers nothing again.
#[tokio::test]
async fn delivery_is_at_least_once_with_stable_ids_and_removes_only_what_was_acknowledged() {
    struct Flaky {
        fail: AtomicBool,
        seen: std::sync::Mutex<Vec<u64>>,
    }
    impl AuditDelivery for Flaky {
        type Error = std::io::Error;
        async fn deliver(&self, events: &[DeliveredEvent]) -> Result<(), std::io::Error> {
            self.seen
                .lock()
                .unwrap()
                .extend(events.iter().map(|e| e.id));
            if self.fail.load(Ordering::SeqCst) {
                return Err(std::io::Error::other("SIEM unreachable"));
            }
            Ok(())
        }
    }
    let h = Harness::new();
    h.enrolled().await;
    let sink = Flaky {
        fail: AtomicBool::new(true),
        seen: std::sync::Mutex::default(),
    };
    let outbox = Outbox::new(h.store.clone()).with_batch(1);
    let error = outbox.deliver_pending(&sink).await.unwrap_err();
    assert!(matches!(error, OutboxError::Delivery(_)), "{error}");
    assert_eq!(
        h.store.inner().pending_event_count(),
        2,
        "nothing was removed"
    );
    let first_try = sink.seen.lock().unwrap().clone();

    sink.fail.store(false, Ordering::SeqCst);
    assert_eq!(outbox.deliver_pending(&sink).await.unwrap(), 2);
    let seen = sink.seen.lock().unwrap().clone();
    assert_eq!(
        seen[0], first_try[0],
        "the failed event came again with its id"
    );
    assert_eq!(seen.len(), 3, "the failed one twice, then the next");
    assert!(seen[1] < seen[2], "in id order");
    assert_eq!(outbox.deliver_pending(&sink).await.unwrap(), 0);
}

#[tokio::test]
async fn an_undecodable_outbox_row_stops_delivery_after_the_events_before_it() {
    let h = Harness::new();
    h.enrolled().await;
    h.store
        .inner()
        .append_events(&h.account, &[b"TAE\x01 edited by hand".to_vec()])
        .await
        .unwrap();
    h.engine.status(&h.account).await.unwrap();
    let sink = MemoryAudit::new();
    let error = Outbox::new(h.store.clone())
        .deliver_pending(&sink)
        .await
        .unwrap_err();
    assert!(matches!(error, OutboxError::Undecodable { .. }), "{error}");
    assert_eq!(
        sink.events().len(),
        2,
        "the two events before it were delivered"
    );
    assert_eq!(
        h.store.inner().pending_event_count(),
        1,
        "the bad row stays for an operator, nothing after it is skipped"
    );
}

#[tokio::test]
async fn with_the_outbox_off_only_the_observer_sees_events() {
    let h = Harness::with_policy(policy().with_outbox(false));
    h.enrolled().await;
    assert_eq!(h.audit.events().len(), 2);
    assert_eq!(h.store.inner().pending_event_count(), 0);
}

// ---- fail closed ------------------------------------------------------------------------

/// With `Fault::Outbox` every write that carries events fails and writes nothing, as a
/// database does when the outbox insert fails inside the record's transaction.
#[tokio::test]
async fn when_the_events_cannot_be_written_the_state_change_does_not_happen() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let before = h.record().await;
    let observed = h.audit.events().len();

    h.store.set_fault(Fault::Outbox);
    let code = app.code_at(h.now());
    for attempt in [code.as_str(), "000000", "nonsense"] {
        let error = h
            .engine
            .verify_login(&h.account, attempt)
            .await
            .unwrap_err();
        assert!(
            matches!(error, EngineError::Store(_)),
            "{attempt}: {error:?}"
        );
    }
    assert_eq!(
        h.record().await,
        before,
        "neither the acceptance nor a failure count was written"
    );
    assert_eq!(h.audit.events().len(), observed, "nothing observed either");

    // Once the outbox works again, the same code is still good: nothing was consumed.
    h.store.set_fault(Fault::None);
    assert!(matches!(
        h.engine.verify_login(&h.account, &code).await.unwrap(),
        Login::Verified(_)
    ));
}

// ---- request context -----------------------------------------------------------------------

#[tokio::test]
async fn the_request_context_set_around_a_handler_is_on_each_event_of_its_calls() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let context = RequestContext::new()
        .with_request_id("req-42")
        .with_client("203.0.113.7")
        .with_user_agent("Mozilla/5.0 (iPhone)");
    let code = app.code_at(h.now());
    // The portal's middleware wraps the whole handler once; the handler calls the engine
    // as usual.
    let handler = async {
        let login = h.engine.verify_login(&h.account, &code).await.unwrap();
        assert!(matches!(login, Login::Verified(_)));
        h.engine.verify_login(&h.account, &code).await.unwrap_err();
    };
    context.clone().scope(handler).await;
    h.engine.status(&h.account).await.unwrap();
    h.engine.verify_login(&h.account, "x").await.unwrap_err();

    let delivered = h.delivered().await;
    let contexts: Vec<Option<&str>> = delivered
        .iter()
        .map(|e| e.context.as_ref().and_then(RequestContext::request_id))
        .collect();
    assert_eq!(
        contexts,
        [None, None, Some("req-42"), Some("req-42"), None],
        "enrollment, then the scoped login and replay, then an unscoped refusal"
    );
    assert_eq!(delivered[2].context.as_ref(), Some(&context));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_each_carry_their_own_context() {
    let h = Arc::new(Harness::new());
    let mut tasks = Vec::new();
    for n in 0..32 {
        let h = h.clone();
        tasks.push(tokio::spawn(
            RequestContext::new()
                .with_request_id(format!("req-{n}"))
                .scope(async move {
                    let account = AccountId::new(format!("customer-{n}")).unwrap();
                    tokio::task::yield_now().await;
                    h.engine.verify_login(&account, "bad").await.ok();
                    let step_up = StepUp::transaction_password_verified(&account, 1);
                    h.engine
                        .begin(
                            &account,
                            &totp_enroll::AccountLabel::new("x").unwrap(),
                            &step_up,
                        )
                        .await
                        .ok();
                }),
        ));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let delivered = h.delivered().await;
    assert_eq!(delivered.len(), 32, "one refused step-up per request");
    for event in delivered {
        let n = event.account.as_str().trim_start_matches("customer-");
        assert_eq!(
            event.context.as_ref().and_then(RequestContext::request_id),
            Some(format!("req-{n}").as_str())
        );
    }
}
