//! Failure modes shared by the SQL stores' tests: an engine over a store, enrolled.

use std::sync::Arc;

use totp_enroll::testing::conformance::{self, START};
use totp_enroll::{AccountId, Engine, ManualClock, Store, lifecycle::ThrottlePolicy, otp::Totp};

pub(crate) struct Rig<S: Store> {
    pub(crate) engine: Engine<S>,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) key: [u8; 32],
}

impl<S: Store> Rig<S> {
    pub(crate) fn new(store: S) -> Self {
        let clock = Arc::new(ManualClock::new(START as i64));
        let key = conformance::random_key().unwrap();
        let engine =
            conformance::engine(store, key, Arc::clone(&clock), ThrottlePolicy::default()).unwrap();
        Self { engine, clock, key }
    }

    /// Another engine with the same key and clock over `store`.
    pub(crate) fn sibling<T: Store>(&self, store: T) -> Engine<T> {
        conformance::engine(
            store,
            self.key,
            Arc::clone(&self.clock),
            ThrottlePolicy::default(),
        )
        .unwrap()
    }

    pub(crate) async fn enroll(&self, tag: &str) -> (AccountId, Totp) {
        let account = conformance::fresh_account(tag).unwrap();
        self.clock.set(START as i64);
        let totp = conformance::enroll(&self.engine, &account, START)
            .await
            .unwrap();
        (account, totp)
    }

    /// Moves the clock one period on and returns the new time.
    pub(crate) fn next_period(&self) -> u64 {
        use totp_enroll::Clock as _;
        self.clock.advance(30);
        self.clock.now().unwrap()
    }
}

/// The stored last used step of `account`.
pub(crate) async fn last_used_step<S: Store>(store: &S, account: &AccountId) -> Option<u64> {
    store
        .load(account)
        .await
        .unwrap()
        .and_then(|v| v.record.last_used_step())
}

/// The full text of an error and its sources.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(" <- ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
