//! THE one place that turns an engine error into what the customer sees: a Japanese
//! message on the same page and the HTTP status (400/401/403/409/429, 503 when the same
//! request may succeed shortly, 500 only for a fault of the server).
//!
//! Stopgap until the library's `totp_enroll::messages` lands; then this module becomes a
//! thin call of `EngineError::class` and `Locale::JA_JST.engine_error`.

use axum::http::StatusCode;
use totp_enroll::{EngineError, Refusal};

use crate::jst;

/// What the page shows for a refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The HTTP status.
    pub status: StatusCode,
    /// The Japanese message.
    pub message: String,
    /// Seconds for `Retry-After` (throttled).
    pub retry_after: Option<u64>,
}

impl Refused {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Whether the server is at fault (log it as an error).
    pub fn is_server_fault(&self) -> bool {
        self.status.is_server_error()
    }
}

/// The support-desk hint of the manual.
pub const SUPPORT_HINT: &str = "お客さまサポート窓口までお問い合わせください。";

/// The message and status for `error` at `now` (Unix seconds).
pub fn engine_error(error: &EngineError, now: u64) -> Refused {
    match error {
        EngineError::Refused(refusal) => refusal_message(refusal, now),
        EngineError::StepUp(_) => Refused::new(
            StatusCode::UNAUTHORIZED,
            "取引パスワード認証の有効期限が切れました。お手数ですが、もう一度取引パスワードを入力してください。",
        ),
        EngineError::AlreadyActive => Refused::new(
            StatusCode::CONFLICT,
            "ワンタイムパスワードサービスは既にご利用中です。",
        ),
        EngineError::NoPendingEnrollment => Refused::new(
            StatusCode::CONFLICT,
            "お申込みの有効期限が切れたか、お申込みが見つかりません。お手数ですが、登録情報照会の「申込」からやり直してください。",
        ),
        EngineError::NotActive => Refused::new(
            StatusCode::CONFLICT,
            "ワンタイムパスワードサービスはご利用されていません（未登録）。",
        ),
        EngineError::RedisplayDisabled => {
            Refused::new(StatusCode::CONFLICT, "コード再表示はご利用いただけません。")
        }
        EngineError::Contention => Refused::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ただいま混み合っております。しばらくしてから再度お試しください。",
        ),
        _ => Refused::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ただいまシステムエラーが発生しています。しばらくしてから再度お試しください。",
        ),
    }
}

/// The message and status for a refused one-time password.
pub fn refusal_message(refusal: &Refusal, now: u64) -> Refused {
    match refusal {
        Refusal::Malformed(_) => Refused::new(
            StatusCode::BAD_REQUEST,
            "ワンタイムパスワードは6桁の数字で入力してください。",
        ),
        Refusal::WrongCode => Refused::new(
            StatusCode::UNAUTHORIZED,
            "ワンタイムパスワードが正しくありません。アプリに表示されている6桁の数字を入力してください。",
        ),
        Refusal::Replayed => Refused::new(
            StatusCode::UNAUTHORIZED,
            "このワンタイムパスワードは既に使用されています。アプリに次のワンタイムパスワードが表示されてから入力してください。",
        ),
        Refusal::Throttled { until } => Refused {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: format!(
                "ワンタイムパスワードの認証に続けて失敗したため、一時的にご利用いただけません。{}以降に再度お試しください。",
                jst::seconds(*until)
            ),
            retry_after: Some(until.saturating_sub(now).max(1)),
        },
        Refusal::Locked => Refused::new(
            StatusCode::FORBIDDEN,
            format!(
                "ワンタイムパスワードの認証に規定回数以上失敗したため、ご利用を停止しています。{SUPPORT_HINT}"
            ),
        ),
        _ => Refused::new(
            StatusCode::UNAUTHORIZED,
            "ワンタイムパスワードが正しくありません。",
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use totp_enroll::{CodeError, StepUpError};

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
        ];
        for (error, status) in cases {
            let refused = engine_error(&error, now);
            assert_eq!(refused.status.as_u16(), status, "{error}");
            assert!(!refused.message.is_ascii(), "Japanese: {}", refused.message);
        }
    }

    #[test]
    fn throttling_names_the_time_in_jst_and_sets_retry_after() {
        let refused = refusal_message(
            &Refusal::Throttled {
                until: 1_764_000_030,
            },
            1_764_000_000,
        );
        assert!(
            refused
                .message
                .contains("2025年11月25日 01:00:30（日本時間）")
        );
        assert_eq!(refused.retry_after, Some(30));
    }

    #[test]
    fn a_lock_points_to_the_support_desk() {
        assert!(
            refusal_message(&Refusal::Locked, 0)
                .message
                .contains("お客さまサポート窓口")
        );
    }
}
