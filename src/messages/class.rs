//! [`ErrorClass`]: what a web handler does with an error, without a catch-all arm.

use crate::engine::base::Engine;
use crate::error::{EngineError, Refusal, StoreError};
use crate::store::contract::Store;

/// What kind of failure an error is, for the handler that answers the request.
///
/// This enum is deliberately **not** `#[non_exhaustive]`: a handler matches it completely
/// (or calls [`ErrorClass::http_status`]), so a class added in a later major version is a
/// compile error in the handler, never a silent 500. Every [`EngineError`] and
/// [`Refusal`] variant has exactly one class; the crate's own exhaustive match assigns it.
///
/// ```
/// use totp_enroll::{error::EngineError, ErrorClass, error::Refusal};
/// fn status(error: &EngineError, now: u64) -> (u16, Option<u64>) {
///     match error.class(now) {
///         ErrorClass::InvalidInput => (400, None),
///         ErrorClass::WrongCredential => (401, None),
///         ErrorClass::Locked => (403, None),
///         ErrorClass::Conflict => (409, None),
///         ErrorClass::Throttled { retry_after } => (429, Some(retry_after)),
///         ErrorClass::ServerFault => (500, None),
///         ErrorClass::RetryLater => (503, Some(1)),
///     }
/// }
/// assert_eq!(status(&EngineError::Refused(Refusal::WrongCode), 0), (401, None));
/// assert_eq!(status(&EngineError::AlreadyActive, 0), (409, None));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ErrorClass {
    /// The customer typed something that is not acceptable input (a code with letters,
    /// too few digits) or the portal passed an invalid name. Nothing was counted. HTTP 400.
    InvalidInput,
    /// A credential was wrong: a wrong or already used code, or a transaction-password
    /// check that is too old or for someone else. HTTP 401.
    WrongCredential,
    /// Too many recent failures: no code is checked for `retry_after` more seconds.
    /// HTTP 429 with `Retry-After`.
    Throttled {
        /// Seconds until codes are checked again (at least 1).
        retry_after: u64,
    },
    /// Locked after too many failures; only the support desk can unlock. HTTP 403.
    Locked,
    /// The account's state does not allow the operation (already in use, not in use, no
    /// pending application, re-display disabled). HTTP 409.
    Conflict,
    /// A transient condition (storage unreachable, heavy contention); nothing was
    /// decided, and the same request may succeed shortly. HTTP 503.
    RetryLater,
    /// A fault of the server or its configuration (corrupt record, key missing from the
    /// key ring, clock before 1970, …): log it and alert; the customer can do nothing.
    /// HTTP 500.
    ServerFault,
}

impl ErrorClass {
    /// The class's stable name, for a JSON API or a metric label: `invalid_input`,
    /// `wrong_credential`, `throttled`, `locked`, `conflict`, `retry_later`,
    /// `server_fault` (the same names as with the `serde` feature; part of the stable
    /// interface).
    ///
    /// ```
    /// use totp_enroll::ErrorClass;
    /// assert_eq!(ErrorClass::Throttled { retry_after: 30 }.as_str(), "throttled");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::WrongCredential => "wrong_credential",
            Self::Throttled { .. } => "throttled",
            Self::Locked => "locked",
            Self::Conflict => "conflict",
            Self::RetryLater => "retry_later",
            Self::ServerFault => "server_fault",
        }
    }

    /// The HTTP status code for this class: 400, 401, 429, 403, 409, 503 or 500.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::InvalidInput => 400,
            Self::WrongCredential => 401,
            Self::Throttled { .. } => 429,
            Self::Locked => 403,
            Self::Conflict => 409,
            Self::RetryLater => 503,
            Self::ServerFault => 500,
        }
    }

    /// The `Retry-After` seconds of a throttled request.
    pub const fn retry_after(self) -> Option<u64> {
        match self {
            Self::Throttled { retry_after } => Some(retry_after),
            _ => None,
        }
    }

    /// Whether the customer caused it (and a log at error level would be noise): every
    /// class but [`ErrorClass::RetryLater`] and [`ErrorClass::ServerFault`].
    pub const fn is_customer_side(self) -> bool {
        !matches!(self, Self::RetryLater | Self::ServerFault)
    }
}

impl core::fmt::Display for ErrorClass {
    /// [`ErrorClass::as_str`].
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<S: Store> Engine<S> {
    /// The class of `error` at the engine's time ([`Engine::now`]), so a handler needs no
    /// clock of its own; a throttle's `retry_after` counts from the engine's clock. (If the
    /// clock itself fails, a throttle reads as 1 second away.)
    pub fn class_of(&self, error: &EngineError) -> ErrorClass {
        error.class(self.now().unwrap_or(u64::MAX))
    }
}

impl Refusal {
    /// The class of this refusal at `now` (Unix seconds), which gives a throttle's
    /// remaining seconds.
    pub fn class(&self, now: u64) -> ErrorClass {
        match self {
            Self::Malformed(_) | Self::MalformedRecoveryCode(_) => ErrorClass::InvalidInput,
            Self::WrongCode | Self::Replayed => ErrorClass::WrongCredential,
            Self::Throttled { until } | Self::WrongCodeThrottled { until } => {
                ErrorClass::Throttled {
                    retry_after: until.saturating_sub(now).max(1),
                }
            }
            Self::Locked | Self::WrongCodeLocked => ErrorClass::Locked,
        }
    }
}

impl EngineError {
    /// The class of this error at `now` (Unix seconds).
    pub fn class(&self, now: u64) -> ErrorClass {
        match self {
            Self::Refused(refusal) => refusal.class(now),
            Self::StepUp(_) => ErrorClass::WrongCredential,
            Self::AlreadyActive
            | Self::NoPendingEnrollment
            | Self::NotActive
            | Self::RedisplayDisabled
            | Self::OwnSecretDisabled
            | Self::TooManyAuthenticators
            | Self::LastAuthenticator => ErrorClass::Conflict,
            Self::UnknownAuthenticator(_) => ErrorClass::InvalidInput,
            Self::InvalidIdentifier(_) => ErrorClass::InvalidInput,
            Self::Contention | Self::KeyRingChanged { .. } => ErrorClass::RetryLater,
            Self::KeyStillNeeded { .. } => ErrorClass::ServerFault,
            Self::Store(StoreError::Conflict | StoreError::Backend(_)) => ErrorClass::RetryLater,
            Self::Store(
                StoreError::Corrupt(_) | StoreError::VersionExhausted | StoreError::Schema { .. },
            )
            | Self::Seal(_)
            | Self::Clock(_)
            | Self::Secret(_)
            | Self::Uri(_)
            | Self::Qr(_)
            | Self::Policy(_) => ErrorClass::ServerFault,
        }
    }
}
