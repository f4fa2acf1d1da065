//! Words for customers and classes for handlers.
//!
//! The crate's `Display` texts are for developers and logs. What a customer reads is here:
//! every refusal and engine error has a message in Japanese and English, in the register
//! of the Japanese portal's manual (丁寧語), that shows no internals and never echoes what was typed;
//! times are shown in the portal's time zone. Every error also has an [`ErrorClass`](crate::ErrorClass) a web
//! handler maps to an HTTP status with an exhaustive `match` (no catch-all arm, so a class
//! added in a later major version is a compile error, not a silent 500).
//!
//! ```
//! use totp_enroll::{error::EngineError, ErrorClass, Locale, error::Refusal};
//!
//! let now = 1_764_574_200; // 2025-12-01 16:30:00 JST
//! let error = EngineError::Refused(Refusal::Throttled { until: now + 30 });
//! assert_eq!(error.class(now), ErrorClass::Throttled { retry_after: 30 });
//! assert_eq!(error.class(now).http_status(), 429);
//! assert_eq!(
//!     Locale::JA_JST.engine_error(&error),
//!     "ワンタイムパスワードの誤入力が続いたため、現在ご利用いただけません。\
//!      2025年12月1日 16:30:30（日本時間）以降に、もう一度お試しください。"
//! );
//! assert_eq!(
//!     Locale::EN_JST.engine_error(&error),
//!     "Too many incorrect one-time passwords were entered. \
//!      Please try again after 1 December 2025, 16:30:30 JST."
//! );
//! ```

mod audit_text;
pub(crate) mod class;
mod labels;
mod local_time;
pub(crate) mod locale;
mod wording;

pub use audit_text::Notification;
pub use local_time::UtcOffset;

/// The language of customer-facing texts. The portal chooses it per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Lang {
    /// 日本語, the Japanese portal manual's language and wording.
    Ja,
    /// English.
    En,
}
