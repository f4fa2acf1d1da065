//! [`AppError`]: a fault of the server (never a customer's mistake), answered with a
//! generic Japanese page and HTTP 500; the cause goes to the log, which carries no secret
//! (engine and database errors hold none, and no request body is ever logged).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::views;

/// What went wrong on the server side.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The portal's own tables.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The engine failed for a reason that is not the customer's (store, sealing, clock).
    #[error("engine: {0}")]
    Engine(#[from] totp_enroll::error::EngineError),
    /// A template could not be rendered.
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    /// The session store holds its maximum: a new login is refused (503), no one else's
    /// session is evicted for it.
    #[error("the session store is full")]
    SessionsFull(#[from] crate::session::SessionsFull),
    /// Anything else (a blocking task died, a stored name is invalid, …).
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    /// An internal error with a description (no secret in it).
    pub fn internal(what: impl Into<String>) -> Self {
        Self::Internal(what.into())
    }
}

impl AppError {
    /// Whether the same request may succeed shortly (storage unreachable, pool exhausted,
    /// contention): answered with 503, not 500.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Engine(error) => error.class(0) == totp_enroll::ErrorClass::RetryLater,
            Self::SessionsFull(_) => true,
            Self::Db(error) => matches!(
                error,
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
            ),
            _ => false,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if self.is_transient() {
            // Storage unreachable or heavy contention: nothing was decided; try again.
            tracing::warn!(error = %self, "storage unavailable");
            return views::message_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "ただいま混み合っております",
                &crate::LOCALE.engine_error(&totp_enroll::error::EngineError::Contention),
            );
        }
        tracing::error!(error = %self, "request failed");
        views::message_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "システムエラー",
            "ただいまシステムエラーが発生しています。しばらくしてから再度お試しください。",
        )
    }
}
