//! Helpers public for store authors' own tests (and this crate's cross-process tests):
//! fresh account ids, keys, engines over a store, enrolment, wrong codes, races.

use core::future::Future;
use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::TryRngCore;
use rand::rngs::OsRng;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::account::{AccountId, StepUp};
use crate::clock::ManualClock;
use crate::engine::policy::EnginePolicy;
use crate::engine::{Engine, Login};
use crate::error::{EngineError, Refusal};
use crate::keys::KeyRing;
use crate::lifecycle::throttle::ThrottlePolicy;
use crate::otp::Totp;
use crate::otp::policy::OtpPolicy;
use crate::provision::uri::KeyUri;
use crate::store::Store;

use super::*;

/// An account id no other check, run or process uses: `prefix`, process id, time and
/// randomness.
pub fn fresh_account(prefix: &str) -> Result<AccountId, String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let random = OsRng
        .try_next_u64()
        .map_err(|e| format!("the OS random number generator failed: {e}"))?;
    AccountId::new(format!(
        "{prefix}-{}-{nanos}-{n}-{random:016x}",
        std::process::id()
    ))
    .map_err(|e| format!("account id: {e}"))
}

/// A random 256-bit sealing key, to build several engines (or processes) that open each
/// other's records with [`KeyRing::new`].
pub fn random_key() -> Result<[u8; 32], String> {
    let mut key = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut key)
        .map_err(|e| format!("the OS random number generator failed: {e}"))?;
    Ok(key)
}

/// An engine over `store` with the suite's code policy ([`ISSUER`], 6 digits, 30 s),
/// `throttle`, the key ring `{1: key}` and `clock`.
pub fn engine<S: Store>(
    store: S,
    key: [u8; 32],
    clock: Arc<ManualClock>,
    throttle: ThrottlePolicy,
) -> Result<Engine<S>, String> {
    let otp = OtpPolicy::new(ISSUER).map_err(|e| format!("policy: {e}"))?;
    // Held records on: the concurrent checks then race engines that decide from their own
    // last write and write directly, the path a portal tuned for one round trip takes.
    let policy = EnginePolicy::new(otp)
        .with_throttle(throttle)
        .with_held_records(true);
    Ok(Engine::new(store, KeyRing::new(1, key), policy)
        .map_err(|e| format!("engine: {e}"))?
        .with_clock(clock))
}

/// Enrolls `account` as a customer would: begin (after a step-up at `now`), read the
/// secret from the provisioning URI as an authenticator app does, confirm with the app's
/// code. The engine's clock must read `now`. Returns the app's code generator.
pub async fn enroll<S: Store>(
    engine: &Engine<S>,
    account: &AccountId,
    now: u64,
) -> Result<Totp, String> {
    let step_up = StepUp::transaction_password_verified(account, now);
    let provisioning = engine
        .begin(
            account,
            &crate::account::AccountLabel::new(account.as_str())
                .map_err(|e| format!("account label: {e}"))?,
            &step_up,
        )
        .await
        .map_err(|e| format!("begin enrollment: {e}"))?;
    let uri = KeyUri::parse(&provisioning.uri()).map_err(|e| format!("provisioning URI: {e}"))?;
    let app = Totp::new(uri.secret(), engine.policy().otp());
    engine
        .confirm(account, &app.code_at(now).to_string())
        .await
        .map_err(|e| format!("confirm enrollment: {e}"))?;
    Ok(app)
}

/// A code of `totp`'s length that no step within [`Window::MAX_STEPS`](crate::otp::Window::MAX_STEPS)
/// of `now` produces: certainly wrong, and never a replay.
pub fn wrong_code(totp: &Totp, now: u64) -> String {
    let width = usize::from(totp.digits().get());
    let step = totp.step_at(now);
    let reach = u64::from(crate::otp::policy::Window::MAX_STEPS);
    let valid: Vec<String> = (step.saturating_sub(reach)..=step.saturating_add(reach))
        .map(|s| totp.code_at_step(s).to_string())
        .collect();
    let modulus = totp.digits().modulus();
    let mut candidate = 0u32;
    loop {
        let text = format!("{candidate:0width$}");
        if !valid.contains(&text) || candidate >= modulus.saturating_sub(1) {
            return text;
        }
        candidate = candidate.saturating_add(1);
    }
}

/// What one engine call answered, for tallies and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `Login::Verified`.
    Verified,
    /// `Login::NotRequired`.
    NotRequired,
    /// `Login::RecoveryCode`: a recovery code was accepted.
    Recovered,
    /// `EngineError::Refused(refusal)`.
    Refused(Refusal),
    /// Any other error, as text.
    Error(String),
}

impl From<Result<Login, EngineError>> for Outcome {
    fn from(result: Result<Login, EngineError>) -> Self {
        match result {
            Ok(Login::Verified(_)) => Self::Verified,
            Ok(Login::RecoveryCode { .. }) => Self::Recovered,
            Ok(_) => Self::NotRequired,
            Err(EngineError::Refused(refusal)) => Self::Refused(refusal),
            Err(error) => Self::Error(error.to_string()),
        }
    }
}

/// Runs `tasks` futures made by `make(i)` as tokio tasks released together by a barrier,
/// and returns their outputs (in completion order).
pub async fn race<T, F, Fut>(tasks: usize, make: F) -> Result<Vec<T>, String>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    tokio::runtime::Handle::try_current().map_err(|_| {
        "the concurrent checks spawn tokio tasks: run them inside a tokio runtime \
         (#[tokio::test(flavor = \"multi_thread\")])"
            .to_owned()
    })?;
    let barrier = Arc::new(Barrier::new(tasks));
    let mut set = JoinSet::new();
    for i in 0..tasks {
        let task = make(i);
        let barrier = Arc::clone(&barrier);
        set.spawn(async move {
            barrier.wait().await;
            task.await
        });
    }
    let mut outputs = Vec::with_capacity(tasks);
    while let Some(joined) = set.join_next().await {
        outputs.push(joined.map_err(|e| format!("a concurrent task failed: {e}"))?);
    }
    Ok(outputs)
}
