//! The registration screen of a pending enrollment is shown again from the store, on any
//! instance, under `begin`'s rules: `Engine::pending_provisioning`.
//!
//! A GET page (a reload, the back button, another instance behind a load balancer) renders
//! the same QR code and setup key that `begin` returned, without the portal keeping the
//! secret anywhere: it keeps only the time of the step-up.
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

use common::{App, Harness, T0};
use totp_enroll::{
    AccountId, AccountLabel, AuditKind, Engine, KeyRing, Login, ManualClock, MemoryStore,
    OtpPolicy, Status, StepUp, Store,
    audit::{MemoryAudit, Operation},
    error::{EngineError, Refusal, StepUpError},
    lifecycle::{RecordStatus, ThrottlePolicy},
    otp::Algorithm,
};

fn label() -> AccountLabel {
    AccountLabel::new("taro@example.jp").unwrap()
}

/// Two instances of one service: each its own engine (own key cache, own clock handle),
/// one store and one key ring.
struct TwoInstances<S: Store> {
    a: Engine<S>,
    b: Engine<S>,
    clock: Arc<ManualClock>,
    audit: Arc<MemoryAudit>,
    account: AccountId,
}

impl<S: Store + Clone> TwoInstances<S> {
    fn new(store: S, b_policy: totp_enroll::EnginePolicy) -> Self {
        let keys = KeyRing::generate(1).unwrap();
        let clock = Arc::new(ManualClock::new(T0));
        let audit = Arc::new(MemoryAudit::new());
        let a = Engine::new(store.clone(), keys.clone(), common::policy())
            .unwrap()
            .with_clock(clock.clone())
            .with_audit(audit.clone());
        let b = Engine::new(store, keys, b_policy)
            .unwrap()
            .with_clock(clock.clone())
            .with_audit(audit.clone());
        Self {
            a,
            b,
            clock,
            audit,
            account: AccountId::new("customer-0001").unwrap(),
        }
    }

    fn step_up(&self) -> StepUp {
        let now = totp_enroll::Clock::now(self.clock.as_ref()).unwrap();
        StepUp::transaction_password_verified(&self.account, now)
    }

    /// Begin on A, show again on B, confirm on A with the code of the app that scanned B's
    /// screen.
    async fn begin_on_a_render_on_b_confirm_on_a(&self) {
        let begun = self
            .a
            .begin(&self.account, &label(), &self.step_up())
            .await
            .unwrap();
        let shown = self
            .b
            .pending_provisioning(&self.account, &self.step_up())
            .await
            .unwrap();
        assert_eq!(*shown.uri(), *begun.uri(), "the same key URI on both");
        assert_eq!(*shown.reveal_setup_key(), *begun.reveal_setup_key());
        let app = App::scan(&shown);
        let now = totp_enroll::Clock::now(self.clock.as_ref()).unwrap() as i64;
        self.a
            .confirm(&self.account, &app.code_at(now))
            .await
            .unwrap();
        assert!(matches!(
            self.b.status(&self.account).await.unwrap(),
            Status::Active { .. }
        ));
        let kinds: Vec<AuditKind> = self.audit.events().into_iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                AuditKind::EnrollmentStarted {
                    expires_at: T0 as u64 + 600,
                    replaced_pending: false
                },
                AuditKind::EnrollmentShownAgain {
                    expires_at: T0 as u64 + 600
                },
                AuditKind::EnrollmentConfirmed {
                    step: T0 as u64 / 30
                },
            ]
        );
    }
}

#[tokio::test]
async fn a_qr_begun_on_one_instance_is_shown_on_another_and_confirmed_on_the_first() {
    let two = TwoInstances::new(Arc::new(MemoryStore::new()), common::policy());
    two.begin_on_a_render_on_b_confirm_on_a().await;
}

/// Two processes' pools on one SQLite file: nothing but the database is shared.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_one_sqlite_file_show_the_same_pending_qr() {
    use totp_enroll::store::SqliteStore;
    let dir = std::env::temp_dir().join(format!(
        "totp-enroll-pending-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("totp.db").display());
    let first = Arc::new(SqliteStore::connect(&url).await.unwrap());
    let second = Arc::new(SqliteStore::connect(&url).await.unwrap());
    let keys = KeyRing::generate(1).unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let a = Engine::new(first, keys.clone(), common::policy())
        .unwrap()
        .with_clock(clock.clone());
    let b = Engine::new(second, keys, common::policy())
        .unwrap()
        .with_clock(clock.clone());
    let account = AccountId::new("customer-0001").unwrap();
    let step_up = StepUp::transaction_password_verified(&account, T0 as u64);

    let begun = a.begin(&account, &label(), &step_up).await.unwrap();
    let shown = b.pending_provisioning(&account, &step_up).await.unwrap();
    assert_eq!(*shown.uri(), *begun.uri());
    a.confirm(&account, &App::scan(&shown).code_at(T0))
        .await
        .unwrap();
    // Confirmed, nothing is pending any more: there is nothing to show.
    let err = b
        .pending_provisioning(&account, &step_up)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NoPendingEnrollment), "{err:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The secret keeps the code parameters it was issued with: an instance whose policy says
/// 8 digits and SHA-256 (a rolling deploy) shows the 6-digit SHA-1 URI that was begun.
#[tokio::test]
async fn the_screen_shown_again_keeps_the_parameters_the_secret_was_issued_with() {
    let other = totp_enroll::EnginePolicy::new(
        OtpPolicy::builder(common::ISSUER)
            .digits(8)
            .algorithm(Algorithm::Sha256)
            .build()
            .unwrap(),
    );
    let two = TwoInstances::new(Arc::new(MemoryStore::new()), other);
    two.begin_on_a_render_on_b_confirm_on_a().await;
}

#[tokio::test]
async fn showing_it_again_needs_a_fresh_step_up_of_the_same_account_and_is_audited_when_refused() {
    let h = Harness::new();
    h.begin().await;
    let now = h.now() as u64;
    let cases = [
        (
            StepUp::transaction_password_verified(&h.account, now - 301),
            "stale",
        ),
        (
            StepUp::transaction_password_verified(&AccountId::new("someone-else").unwrap(), now),
            "foreign",
        ),
        (
            StepUp::transaction_password_verified(&h.account, now + 3600),
            "from the future",
        ),
    ];
    for (step_up, what) in cases {
        let before = h.audit_kinds().len();
        let err = h
            .engine
            .pending_provisioning(&h.account, &step_up)
            .await
            .unwrap_err();
        assert!(matches!(err, EngineError::StepUp(_)), "{what}: {err:?}");
        assert_eq!(
            h.audit_kinds()[before..],
            [AuditKind::StepUpRefused],
            "{what}"
        );
    }
    let err = h
        .engine
        .pending_provisioning(
            &h.account,
            &StepUp::transaction_password_verified(&h.account, now - 301),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        EngineError::StepUp(StepUpError::Expired { age: 301, .. })
    ));
    // A fresh one shows it; any re-verified factor will do, as for `begin`.
    h.engine
        .pending_provisioning(&h.account, &StepUp::password_verified(&h.account, now))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_screen_shown_again_is_the_latest_application_after_a_restart() {
    let h = Harness::new();
    let first = h.begin().await;
    h.clock.advance(5);
    let second = h.begin().await;
    assert_ne!(*first.uri(), *second.uri());
    let shown = h
        .engine
        .pending_provisioning(&h.account, &h.step_up())
        .await
        .unwrap();
    assert_eq!(*shown.uri(), *second.uri());
}

#[tokio::test]
async fn a_lapsed_application_has_nothing_to_show_and_its_secret_is_erased_on_the_way() {
    let h = Harness::new();
    h.begin().await;
    h.clock.advance(599);
    h.engine
        .pending_provisioning(&h.account, &h.step_up())
        .await
        .unwrap();
    h.clock.advance(1);
    let err = h
        .engine
        .pending_provisioning(&h.account, &h.step_up())
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NoPendingEnrollment), "{err:?}");
    assert_eq!(h.record().await.status(), &RecordStatus::NotRegistered);
    assert_eq!(
        h.audit_kinds().last(),
        Some(&AuditKind::EnrollmentExpired),
        "the erasure is audited"
    );
}

#[tokio::test]
async fn without_a_pending_application_there_is_nothing_to_show() {
    let h = Harness::new();
    let err = h
        .engine
        .pending_provisioning(&h.account, &h.step_up())
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::NoPendingEnrollment),
        "never applied"
    );
    let app = h.enrolled().await;
    let err = h
        .engine
        .pending_provisioning(&h.account, &h.step_up())
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::NoPendingEnrollment),
        "in use: the secret is shown again only by redisplay, after a code"
    );
    // The refusal showed nothing and changed nothing: the service works as before.
    let login = h
        .engine
        .verify_login(&h.account, &app.code_at(h.now()))
        .await
        .unwrap();
    assert!(matches!(login, Login::Verified(_)));
}

#[tokio::test]
async fn a_locked_application_shows_no_qr_and_the_refusal_is_audited() {
    let h = Harness::with_policy(
        common::policy().with_throttle(ThrottlePolicy::new(3, 1, 1, 3).unwrap()),
    );
    let app = App::scan(&h.begin().await);
    for wrong in common::wrong_codes(&app, h.now(), 3) {
        let _ = h.engine.confirm(&h.account, &wrong).await.unwrap_err();
        h.clock.advance(1);
    }
    let before = h.audit_kinds().len();
    let err = h
        .engine
        .pending_provisioning(&h.account, &h.step_up())
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Refused(Refusal::Locked)),
        "{err:?}"
    );
    assert_eq!(
        h.audit_kinds()[before..],
        [AuditKind::Refused {
            operation: Operation::Begin,
            refusal: Refusal::Locked,
            failures: 3
        }]
    );
}

#[tokio::test]
async fn showing_it_again_changes_nothing_in_the_record() {
    let h = Harness::new();
    h.begin().await;
    let before = h.record().await;
    for _ in 0..3 {
        h.engine
            .pending_provisioning(&h.account, &h.step_up())
            .await
            .unwrap();
    }
    assert_eq!(
        h.record().await,
        before,
        "no expiry extended, no counter moved"
    );
    assert_eq!(
        h.audit_kinds()
            .iter()
            .filter(|k| matches!(k, AuditKind::EnrollmentShownAgain { .. }))
            .count(),
        3,
        "each showing is audited"
    );
}
