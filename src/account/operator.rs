//! [`Operator`]: a support-desk operator, and the reasons an operator gives.

use crate::account::names::check_name;
use crate::error::IdentifierError;

/// A support-desk operator performing an administrative reset (お客さまサポート窓口).
///
/// 1 to [`Operator::MAX_BYTES`] bytes, not only whitespace, no control, invisible or
/// bidirectional-control characters: the name is written to the audit log, where a newline
/// would forge a log line.
///
/// With the `serde` feature: a plain string; deserializing validates it like
/// [`Operator::new`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(into = "super::serde_text::Text"))]
#[cfg_attr(feature = "serde", serde(try_from = "super::serde_text::Text"))]
pub struct Operator(String);

impl Operator {
    /// Longest operator name in UTF-8 bytes.
    pub const MAX_BYTES: usize = 128;

    /// An operator identity.
    ///
    /// ```
    /// use totp_enroll::{error::IdentifierError, Operator};
    /// assert!(Operator::new("desk-01").is_ok());
    /// assert_eq!(
    ///     Operator::new("op\n2025-01-01 LoginAccepted account=victim"),
    ///     Err(IdentifierError::ControlCharacter { field: "operator", position: 3 })
    /// );
    /// ```
    pub fn new(id: impl Into<String>) -> Result<Self, IdentifierError> {
        let id = id.into();
        check_name("operator", &id, Self::MAX_BYTES)?;
        Ok(Self(id))
    }

    /// The operator's identity.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Longest reset reason in UTF-8 bytes.
pub(crate) const MAX_REASON_BYTES: usize = 1024;

/// The rules of a support-desk reset reason: the same as names, up to 1 KiB.
pub(crate) fn check_reason(reason: &str) -> Result<(), IdentifierError> {
    check_name("reset reason", reason, MAX_REASON_BYTES)
}
