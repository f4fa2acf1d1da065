//! An engine error as the customer sees it, from the library's `totp_enroll::messages`:
//! the error's [`ErrorClass`] gives the HTTP status (400/401/403/409/429, 503 when the same
//! request may succeed shortly, 500 only for a fault of the server) and `Retry-After`;
//! [`LOCALE`] gives the Japanese text shown on the same page.

use axum::http::StatusCode;
use totp_enroll::{ErrorClass, error::EngineError};

use crate::LOCALE;

/// What the page shows for a refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The HTTP status.
    pub status: StatusCode,
    /// The Japanese message.
    pub message: String,
    /// Seconds for `Retry-After` (throttled).
    pub retry_after: Option<u64>,
    /// Whether the server is at fault (answered with the generic error page and logged).
    pub server_fault: bool,
}

/// The support-desk hint of the manual.
pub const SUPPORT_HINT: &str = "お客さまサポート窓口までお問い合わせください。";

/// The message and status for `error` at `now` (Unix seconds).
pub fn engine_error(error: &EngineError, now: u64) -> Refused {
    let class = error.class(now);
    Refused {
        status: StatusCode::from_u16(class.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        message: LOCALE.engine_error(error),
        retry_after: class.retry_after(),
        server_fault: matches!(class, ErrorClass::ServerFault),
    }
}

/// As [`engine_error`], for a refused recovery code at login: a wrong (or used) code is
/// named as a recovery code ([`Locale::recovery_code_refusal`](totp_enroll::Locale::recovery_code_refusal)).
pub fn recovery_code_error(error: &EngineError, now: u64) -> Refused {
    let mut refused = engine_error(error, now);
    if let EngineError::Refused(refusal) = error {
        refused.message = LOCALE.recovery_code_refusal(refusal);
    }
    refused
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use totp_enroll::{error::CodeError, error::Refusal, error::StepUpError};

    #[test]
    fn customer_mistakes_are_never_500() {
        let now = 1_764_000_000;
        let cases = [
            (EngineError::Refused(Refusal::WrongCode), 401),
            (EngineError::Refused(Refusal::Replayed), 401),
            (
                EngineError::Refused(Refusal::Malformed(CodeError::Empty)),
                400,
            ),
            (
                EngineError::Refused(Refusal::Throttled { until: now + 30 }),
                429,
            ),
            (EngineError::Refused(Refusal::Locked), 403),
            (EngineError::NoPendingEnrollment, 409),
            (EngineError::AlreadyActive, 409),
            (EngineError::NotActive, 409),
            (EngineError::StepUp(StepUpError::FromTheFuture), 401),
            (EngineError::Contention, 503),
        ];
        for (error, status) in cases {
            let refused = engine_error(&error, now);
            assert_eq!(refused.status.as_u16(), status, "{error}");
            assert!(!refused.server_fault, "{error}");
            assert!(!refused.message.is_ascii(), "Japanese: {}", refused.message);
        }
    }

    #[test]
    fn throttling_names_the_time_in_jst_and_sets_retry_after() {
        let refused = engine_error(
            &EngineError::Refused(Refusal::Throttled {
                until: 1_764_000_030,
            }),
            1_764_000_000,
        );
        assert!(
            refused
                .message
                .contains("2025年11月25日 01:00:30（日本時間）"),
            "{}",
            refused.message
        );
        assert_eq!(refused.retry_after, Some(30));
    }

    #[test]
    fn a_wrong_recovery_code_is_named_as_one() {
        let wrong = recovery_code_error(&EngineError::Refused(Refusal::WrongCode), 0);
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(
            wrong.message.contains("リカバリーコードが正しくない"),
            "{}",
            wrong.message
        );
        let malformed = recovery_code_error(
            &EngineError::Refused(Refusal::MalformedRecoveryCode(
                totp_enroll::error::RecoveryCodeError::Empty,
            )),
            0,
        );
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
        assert!(
            malformed.message.contains("英数字16文字"),
            "{}",
            malformed.message
        );
        let locked = recovery_code_error(&EngineError::Refused(Refusal::Locked), 0);
        assert_eq!(locked.status, StatusCode::FORBIDDEN);
        assert!(locked.message.contains("お客さまサポート窓口"));
    }

    #[test]
    fn a_lock_points_to_the_support_desk() {
        let refused = engine_error(&EngineError::Refused(Refusal::Locked), 0);
        assert!(refused.message.contains("お客さまサポート窓口"));
    }
}
