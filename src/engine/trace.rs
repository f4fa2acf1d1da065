//! One `tracing` span per [`Engine`](crate::Engine) call (feature `tracing`).
//!
//! Each public engine method runs inside a span named `totp_enroll.engine`, at `INFO`
//! level, with target `totp_enroll::engine` and two fields set when the call starts:
//!
//! * `operation`: `status`, `begin`, `confirm`, `confirm_with_recovery_codes`,
//!   `verify_login`, `verify_recovery_code`, `issue_recovery_codes`, `redisplay`, `stop`,
//!   `resync`, `desk_resync`, `overview`, `desk_diagnose`, `desk_unlock`, `add_authenticator`,
//!   `confirm_authenticator`, `remove_authenticator`, `desk_remove_authenticator`,
//!   `desk_reset` or `desk_forget`;
//! * `account`: the [`AccountId`] as given, or what the portal's pseudonym function
//!   ([`Engine::with_account_pseudonym`](crate::Engine::with_account_pseudonym)) makes of it.
//!
//! When the call completes, one event inside that span carries
//!
//! * `outcome`: a stable, dotted label of the result (`verified`, `not_required`,
//!   `confirmed`, `refused.wrong_code`, `refused.replayed`, `throttled`, `locked`,
//!   `error.store`, `error.store_schema`, …; see [`Outcome`]), and
//! * `duration_us`: the call's wall-clock duration in microseconds,
//!
//! at `INFO` for successes and refusals of what the customer typed, `WARN` for throttled and
//! locked enrollments, `ERROR` for failures of the store, the key ring or the clock.
//!
//! No field ever holds a typed code, a secret, a setup key, a key URI or key-ring bytes:
//! the engine's arguments are never captured, only the operation's name and the account.
//! Without the feature, `traced` returns the future it is given, unchanged.

#[cfg(feature = "tracing")]
use core::future::Future;

use crate::account::AccountId;
#[cfg(feature = "tracing")]
use crate::error::EngineError;

/// The portal's pseudonymisation of account ids in traces.
#[cfg(feature = "tracing")]
pub(crate) type Pseudonym = std::sync::Arc<dyn Fn(&AccountId) -> String + Send + Sync>;

/// The tracing configuration of an engine: empty without the `tracing` feature.
#[derive(Clone, Default)]
pub(crate) struct Trace {
    #[cfg(feature = "tracing")]
    pseudonym: Option<Pseudonym>,
}

impl Trace {
    /// Shows accounts in traces as `pseudonym` makes them.
    #[cfg(feature = "tracing")]
    pub(crate) fn with_pseudonym(pseudonym: Pseudonym) -> Self {
        Self {
            pseudonym: Some(pseudonym),
        }
    }

    /// The account as traces show it.
    #[cfg(feature = "tracing")]
    fn shown(&self, account: &AccountId) -> String {
        match &self.pseudonym {
            Some(pseudonym) => pseudonym(account),
            None => account.as_str().to_owned(),
        }
    }
}

/// Runs `call` (the body of the engine method `operation`) without tracing.
#[cfg(not(feature = "tracing"))]
#[inline(always)]
pub(crate) fn traced<F>(
    _trace: &Trace,
    _operation: &'static str,
    _account: &AccountId,
    call: F,
) -> F {
    call
}

/// Runs `call` (the body of the engine method `operation`) inside its span and emits the
/// completion event with its outcome and duration.
#[cfg(feature = "tracing")]
pub(crate) fn traced<T: Outcome, F: Future<Output = Result<T, EngineError>>>(
    trace: &Trace,
    operation: &'static str,
    account: &AccountId,
    call: F,
) -> impl Future<Output = Result<T, EngineError>> {
    use tracing::Instrument as _;

    // Field values are evaluated only when the span is enabled: the pseudonym function is
    // not called for nothing.
    let span = tracing::info_span!(
        target: "totp_enroll::engine",
        "totp_enroll.engine",
        operation,
        account = %trace.shown(account),
    );
    // Read the clock only when someone listens: with no subscriber (or one that wants
    // neither the span nor warnings), a call costs what it costs without the feature.
    let timed = !span.is_disabled()
        || tracing::enabled!(target: "totp_enroll::engine", tracing::Level::WARN);
    async move {
        let started = timed.then(std::time::Instant::now);
        let result = call.await;
        let duration_us = started.map_or(0, |started| {
            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
        });
        let (outcome, level) = match &result {
            Ok(value) => (value.outcome(operation), Level::Info),
            Err(error) => error_outcome(error),
        };
        match level {
            Level::Info => tracing::info!(
                target: "totp_enroll::engine",
                outcome,
                duration_us,
                "engine call completed"
            ),
            Level::Warn => tracing::warn!(
                target: "totp_enroll::engine",
                outcome,
                duration_us,
                "engine call completed"
            ),
            Level::Error => tracing::error!(
                target: "totp_enroll::engine",
                outcome,
                duration_us,
                "engine call completed"
            ),
        }
        result
    }
    .instrument(span)
}

impl core::fmt::Debug for Trace {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut s = f.debug_struct("Trace");
        #[cfg(feature = "tracing")]
        s.field("pseudonymised", &self.pseudonym.is_some());
        s.finish()
    }
}

/// The level of a completion event (a `tracing` event's level must be a constant).
#[cfg(feature = "tracing")]
#[derive(Debug, Clone, Copy)]
enum Level {
    Info,
    Warn,
    Error,
}

/// The `outcome` label of a successful engine call.
#[cfg(feature = "tracing")]
pub(crate) trait Outcome {
    /// The label for the result of `operation`.
    fn outcome(&self, operation: &'static str) -> &'static str;
}

/// The `outcome` label and level of a failed engine call. Exhaustive on purpose: a new
/// error gets its own label.
#[cfg(feature = "tracing")]
fn error_outcome(error: &EngineError) -> (&'static str, Level) {
    use crate::error::{Refusal, StoreError};
    match error {
        EngineError::Refused(Refusal::WrongCode) => ("refused.wrong_code", Level::Info),
        EngineError::Refused(Refusal::WrongCodeThrottled { .. }) => {
            ("refused.wrong_code.throttled", Level::Warn)
        }
        EngineError::Refused(Refusal::WrongCodeLocked) => {
            ("refused.wrong_code.locked", Level::Warn)
        }
        EngineError::Refused(Refusal::Malformed(_) | Refusal::MalformedRecoveryCode(_)) => {
            ("refused.malformed", Level::Info)
        }
        EngineError::Refused(Refusal::Replayed) => ("refused.replayed", Level::Info),
        EngineError::Refused(Refusal::Throttled { .. }) => ("throttled", Level::Warn),
        EngineError::Refused(Refusal::Locked) => ("locked", Level::Warn),
        EngineError::StepUp(_) => ("refused.step_up", Level::Info),
        EngineError::AlreadyActive => ("refused.already_active", Level::Info),
        EngineError::NoPendingEnrollment => ("refused.no_pending_enrollment", Level::Info),
        EngineError::NotActive => ("refused.not_active", Level::Info),
        EngineError::RedisplayDisabled => ("refused.redisplay_disabled", Level::Info),
        EngineError::OwnSecretDisabled => ("refused.own_secret_disabled", Level::Info),
        EngineError::TooManyAuthenticators => ("refused.too_many_authenticators", Level::Info),
        EngineError::UnknownAuthenticator(_) => ("refused.unknown_authenticator", Level::Info),
        EngineError::LastAuthenticator => ("refused.last_authenticator", Level::Info),
        EngineError::Uri(_) => ("refused.invalid_label", Level::Info),
        EngineError::Contention => ("error.contention", Level::Error),
        EngineError::KeyStillNeeded { .. } => ("refused.key_still_needed", Level::Warn),
        EngineError::KeyRingChanged { .. } => ("refused.key_ring_changed", Level::Warn),
        EngineError::Store(
            StoreError::Conflict
            | StoreError::Corrupt(_)
            | StoreError::VersionExhausted
            | StoreError::Backend(_),
        ) => ("error.store", Level::Error),
        EngineError::Store(StoreError::Schema { .. }) => ("error.store_schema", Level::Error),
        EngineError::Seal(_) => ("error.seal", Level::Error),
        EngineError::Clock(_) => ("error.clock", Level::Error),
        EngineError::Secret(_) => ("error.secret", Level::Error),
        EngineError::Qr(_) => ("error.qr", Level::Error),
        EngineError::Policy(_) => ("error.policy", Level::Error),
        EngineError::InvalidIdentifier(_) => ("refused.invalid_identifier", Level::Info),
    }
}

#[cfg(all(test, feature = "tracing"))]
mod tests {
    use super::*;
    use crate::error::StoreError;

    /// A database whose schema the store refuses is told apart from a failing one in the
    /// `outcome` label (a deployment that forgot its migrations, not an outage).
    #[test]
    fn a_refused_schema_has_its_own_outcome_label() {
        let schema = EngineError::Store(StoreError::Schema {
            found: 1,
            expected: 3,
        });
        assert_eq!(error_outcome(&schema).0, "error.store_schema");
        let backend = EngineError::Store(StoreError::backend(std::io::Error::other("down")));
        assert_eq!(error_outcome(&backend).0, "error.store");
    }
}
