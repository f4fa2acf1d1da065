//! [`AccountLabel`]: the account name an authenticator app shows under the issuer.

use crate::account::names::check_name;
use crate::error::IdentifierError;

/// The account name an authenticator app shows under the issuer (the key URI label's
/// account part), e.g. the customer's login ID or e-mail address.
///
/// Built with the same rules [`Engine::begin`](crate::Engine::begin) and
/// [`KeyUri::new`](crate::provision::KeyUri::new) apply, so a portal can refuse a label where it is
/// entered instead of at enrollment: 1 to [`AccountLabel::MAX_BYTES`]
/// bytes, no `:`, no leading space, no control, invisible or bidirectional-control
/// characters.
///
/// ```
/// use totp_enroll::{AccountLabel, error::IdentifierError};
/// assert_eq!(AccountLabel::new("taro@example.jp")?.as_str(), "taro@example.jp");
/// assert_eq!(
///     AccountLabel::new("bank:taro"),
///     Err(IdentifierError::Colon { field: "account label", position: 5 })
/// );
/// # Ok::<(), IdentifierError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountLabel(String);

impl AccountLabel {
    /// Validates an account label.
    pub fn new(label: impl Into<String>) -> Result<Self, IdentifierError> {
        let label = label.into();
        check_label(&label)?;
        Ok(Self(label))
    }

    /// The label as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for AccountLabel {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AccountLabel {
    /// Longest label in UTF-8 bytes (also [`KeyUri::MAX_ACCOUNT_BYTES`](crate::provision::KeyUri::MAX_ACCOUNT_BYTES)).
    pub const MAX_BYTES: usize = 256;
}

/// The rules of a key URI's account name, as [`IdentifierError`]s.
pub(crate) fn check_label(label: &str) -> Result<(), IdentifierError> {
    const FIELD: &str = "account label";
    check_name(FIELD, label, AccountLabel::MAX_BYTES)?;
    if label.starts_with(' ') {
        return Err(IdentifierError::LeadingSpace { field: FIELD });
    }
    if let Some((_, position)) = label.chars().zip(1..).find(|(c, _)| *c == ':') {
        return Err(IdentifierError::Colon {
            field: FIELD,
            position,
        });
    }
    Ok(())
}
