//! Shared harness for the lifecycle tests: an engine over an in-memory store with a manual
//! clock and a recording audit sink, and a simulated authenticator app.
#![allow(dead_code, unreachable_pub)]

pub mod paused;

use std::sync::Arc;

use totp_enroll::testing::FaultyStore;
use totp_enroll::{
    AccountId, AuditEvent, AuditKind, Engine, EnginePolicy, KeyRing, ManualClock, MemoryStore,
    OtpPolicy, Outbox, Provisioning, StepUp, Store, audit::MemoryAudit, lifecycle::ThrottlePolicy,
    otp::Totp, provision::KeyUri,
};

/// 2023-11-14T22:13:20Z, in the middle of a 30-second step.
pub const T0: i64 = 1_700_000_010;
pub const ISSUER: &str = "北洋証券オンラインサービス";

pub type TestStore = Arc<FaultyStore<MemoryStore>>;

pub struct Harness {
    pub engine: Arc<Engine<TestStore>>,
    pub store: TestStore,
    pub clock: Arc<ManualClock>,
    pub audit: Arc<MemoryAudit>,
    pub account: AccountId,
}

/// The customer's phone: computes codes from the provisioned URI, as Google Authenticator does.
pub struct App {
    totp: Totp,
}

impl App {
    pub fn scan(provisioning: &Provisioning) -> Self {
        let uri = KeyUri::parse(&provisioning.uri()).expect("the provisioned URI parses");
        Self {
            totp: Totp::new(uri.secret(), uri.policy()),
        }
    }

    /// Typed in from the setup key instead of scanning.
    pub fn type_in(setup_key: &str, policy: &OtpPolicy) -> Self {
        let secret =
            totp_enroll::otp::Secret::from_base32(setup_key).expect("the setup key parses");
        Self {
            totp: Totp::new(&secret, policy),
        }
    }

    pub fn code_at(&self, unix: i64) -> String {
        self.totp.code_at(u64::try_from(unix).unwrap()).to_string()
    }

    /// The code as the app displays it: "123 456".
    pub fn shown_at(&self, unix: i64) -> String {
        self.totp.code_at(u64::try_from(unix).unwrap()).to_grouped()
    }

    pub fn code_at_step(&self, step: u64) -> String {
        self.totp.code_at_step(step).to_string()
    }
}

pub fn policy() -> EnginePolicy {
    EnginePolicy::new(OtpPolicy::new(ISSUER).unwrap())
}

/// Throttling that never backs off or locks within a test's attempts.
pub fn lenient_throttle() -> ThrottlePolicy {
    ThrottlePolicy::new(100, 1, 1, 100).unwrap()
}

impl Harness {
    pub fn new() -> Self {
        Self::with_policy(policy())
    }

    pub fn with_policy(policy: EnginePolicy) -> Self {
        Self::with_keys(policy, KeyRing::generate(1).unwrap())
    }

    pub fn with_keys(policy: EnginePolicy, keys: KeyRing) -> Self {
        let store = Arc::new(FaultyStore::new(MemoryStore::new()));
        let clock = Arc::new(ManualClock::new(T0));
        let audit = Arc::new(MemoryAudit::new());
        let engine = Engine::new(store.clone(), keys, policy)
            .unwrap()
            .with_clock(clock.clone())
            .with_audit(audit.clone());
        Self {
            engine: Arc::new(engine),
            store,
            clock,
            audit,
            account: AccountId::new("customer-0001").unwrap(),
        }
    }

    pub fn now(&self) -> i64 {
        i64::try_from(totp_enroll::Clock::now(self.clock.as_ref()).unwrap()).unwrap()
    }

    /// The portal re-verified the transaction password just now.
    pub fn step_up(&self) -> StepUp {
        StepUp::transaction_password_verified(&self.account, u64::try_from(self.now()).unwrap())
    }

    pub async fn begin(&self) -> Provisioning {
        self.engine
            .begin(
                &self.account,
                &totp_enroll::AccountLabel::new("taro@example.jp").unwrap(),
                &self.step_up(),
            )
            .await
            .unwrap()
    }

    /// Begins and confirms; returns the customer's app. The clock then sits one step
    /// later, so the next code differs from the consumed confirmation code.
    pub async fn enrolled(&self) -> App {
        let app = App::scan(&self.begin().await);
        self.engine
            .confirm(&self.account, &app.code_at(self.now()))
            .await
            .unwrap();
        self.next_step();
        app
    }

    pub fn next_step(&self) {
        self.clock.advance(30);
    }

    pub async fn record(&self) -> totp_enroll::lifecycle::Enrollment {
        self.store
            .inner()
            .load(&self.account)
            .await
            .unwrap()
            .expect("a record exists")
            .record
    }

    pub fn audit_kinds(&self) -> Vec<AuditKind> {
        self.audit.events().into_iter().map(|e| e.kind).collect()
    }

    /// Delivers the store's outbox (the durable trail) and returns what it delivered.
    pub async fn delivered(&self) -> Vec<AuditEvent> {
        let sink = MemoryAudit::new();
        Outbox::new(self.store.clone())
            .deliver_pending(&sink)
            .await
            .expect("the outbox delivers");
        sink.take()
    }
}

/// `n` codes that differ from every code of the ±1 window around `now`.
pub fn wrong_codes(app: &App, now: i64, n: usize) -> Vec<String> {
    let valid: Vec<String> = (-1..=1).map(|d| app.code_at(now + d * 30)).collect();
    (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .filter(|c| !valid.contains(c))
        .take(n)
        .collect()
}
