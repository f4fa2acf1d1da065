//! [`AccountId`]: the portal's identifier of a customer account.

use core::fmt;
use std::sync::Arc;

use crate::account::names::check_name;
use crate::error::IdentifierError;

/// The portal's identifier of a customer account (e.g. its internal customer number).
///
/// 1 to [`AccountId::MAX_BYTES`] bytes; no control characters and no invisible or
/// bidirectional-control characters (it appears in audit logs and on the support desk's
/// screen). It keys the store and is bound to every sealed secret as associated data, so a
/// record copied to another account does not open. Cloning it is cheap (a shared string).
///
/// ```
/// use totp_enroll::{AccountId, error::IdentifierError};
/// assert!(AccountId::new("0123-456789").is_ok());
/// assert_eq!(
///     AccountId::new("victim\u{202E}gnp.exe"),
///     Err(IdentifierError::InvisibleCharacter { field: "account id", position: 7 })
/// );
/// ```
///
/// With the `serde` feature: a plain string; deserializing validates it like
/// [`AccountId::new`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(into = "super::serde_text::Text"))]
#[cfg_attr(feature = "serde", serde(try_from = "super::serde_text::Text"))]
pub struct AccountId(Arc<str>);

impl AccountId {
    /// Longest id in UTF-8 bytes.
    pub const MAX_BYTES: usize = 128;

    /// Validates an account id.
    pub fn new(id: impl Into<String>) -> Result<Self, IdentifierError> {
        let id = id.into();
        check_name("account id", &id, Self::MAX_BYTES)?;
        Ok(Self(id.into()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
