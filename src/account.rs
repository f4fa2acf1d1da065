//! Who an enrollment belongs to, who acts on it, and the step-up proof that starts one.

use core::fmt;
use std::sync::Arc;

use crate::error::{IdentifierError, StepUpError};
use crate::text_rules::{Forbidden, first_forbidden};

/// The portal's identifier of a customer account (e.g. its internal customer number).
///
/// 1 to [`AccountId::MAX_BYTES`] bytes; no control characters and no invisible or
/// bidirectional-control characters (it appears in audit logs and on the support desk's
/// screen). It keys the store and is bound to every sealed secret as associated data, so a
/// record copied to another account does not open. Cloning it is cheap (a shared string).
///
/// ```
/// use totp_enroll::{AccountId, IdentifierError};
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
#[cfg_attr(feature = "serde", serde(into = "serde_text::Text"))]
#[cfg_attr(feature = "serde", serde(try_from = "serde_text::Text"))]
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

/// Proof that the portal re-verified the customer's transaction password (取引パスワード)
/// just now. Enrollment cannot begin without one, and the engine refuses one older than
/// its policy's `step_up_max_age`.
///
/// The only constructor names what the portal asserts by calling it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUp {
    account: AccountId,
    verified_at: u64,
}

impl StepUp {
    /// States that the portal verified `account`'s transaction password at
    /// `verified_at_unix` (seconds since the Unix epoch). Call it only right after that
    /// check succeeded.
    pub fn transaction_password_verified(account: &AccountId, verified_at_unix: u64) -> Self {
        Self {
            account: account.clone(),
            verified_at: verified_at_unix,
        }
    }

    /// The account the proof is for.
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// When the transaction password was verified.
    pub fn verified_at(&self) -> u64 {
        self.verified_at
    }

    /// Checks the proof for `account` at `now` against `max_age` seconds. A proof dated up to
    /// `max_skew` seconds in the future is tolerated (clocks of two servers).
    pub(crate) fn check(
        &self,
        account: &AccountId,
        now: u64,
        max_age: u64,
        max_skew: u64,
    ) -> Result<(), StepUpError> {
        if &self.account != account {
            return Err(StepUpError::WrongAccount);
        }
        if self.verified_at > now.saturating_add(max_skew) {
            return Err(StepUpError::FromTheFuture);
        }
        let age = now.saturating_sub(self.verified_at);
        if age > max_age {
            return Err(StepUpError::Expired { age, max_age });
        }
        Ok(())
    }
}

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
#[cfg_attr(feature = "serde", serde(into = "serde_text::Text"))]
#[cfg_attr(feature = "serde", serde(try_from = "serde_text::Text"))]
pub struct Operator(String);

impl Operator {
    /// Longest operator name in UTF-8 bytes.
    pub const MAX_BYTES: usize = 128;

    /// An operator identity.
    ///
    /// ```
    /// use totp_enroll::{IdentifierError, Operator};
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

/// The account name an authenticator app shows under the issuer (the key URI label's
/// account part), e.g. the customer's login ID or e-mail address.
///
/// Built with the same rules [`Engine::begin`](crate::Engine::begin) and
/// [`KeyUri::new`](crate::KeyUri::new) apply, so a portal can refuse a label where it is
/// entered instead of at enrollment: 1 to [`KeyUri::MAX_ACCOUNT_BYTES`](crate::KeyUri::MAX_ACCOUNT_BYTES)
/// bytes, no `:`, no leading space, no control, invisible or bidirectional-control
/// characters.
///
/// ```
/// use totp_enroll::{AccountLabel, IdentifierError};
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

/// The rules of a key URI's account name, as [`IdentifierError`]s.
pub(crate) fn check_label(label: &str) -> Result<(), IdentifierError> {
    const FIELD: &str = "account label";
    check_name(FIELD, label, crate::uri::KeyUri::MAX_ACCOUNT_BYTES)?;
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

/// Longest reset reason in UTF-8 bytes.
pub(crate) const MAX_REASON_BYTES: usize = 1024;

/// The rules of a support-desk reset reason: the same as names, up to 1 KiB.
/// An authenticator's name ([`Authenticator::name`](crate::Authenticator::name)): 1 to
/// 64 bytes, no control or invisible characters.
pub(crate) fn check_authenticator_name(name: &str) -> Result<(), IdentifierError> {
    check_name(
        "authenticator name",
        name,
        crate::Authenticator::MAX_NAME_BYTES,
    )
}

pub(crate) fn check_reason(reason: &str) -> Result<(), IdentifierError> {
    check_name("reset reason", reason, MAX_REASON_BYTES)
}

/// The rules every name follows: not blank, bounded, no control or invisible characters.
fn check_name(field: &'static str, text: &str, max: usize) -> Result<(), IdentifierError> {
    if text.trim().is_empty() {
        return Err(IdentifierError::Empty { field });
    }
    if text.len() > max {
        return Err(IdentifierError::TooLong { field, max });
    }
    match first_forbidden(text) {
        None => Ok(()),
        Some((position, Forbidden::Control)) => {
            Err(IdentifierError::ControlCharacter { field, position })
        }
        Some((position, Forbidden::Invisible)) => {
            Err(IdentifierError::InvisibleCharacter { field, position })
        }
    }
}

/// The unvalidated text account ids and operators are (de)serialized as; deserializing goes
/// through their constructors.
#[cfg(feature = "serde")]
mod serde_text {
    use super::{AccountId, Operator};
    use crate::error::IdentifierError;

    #[derive(serde::Serialize, serde::Deserialize)]
    #[serde(transparent)]
    pub(super) struct Text(String);

    impl From<AccountId> for Text {
        fn from(id: AccountId) -> Self {
            Self(id.as_str().to_owned())
        }
    }

    impl TryFrom<Text> for AccountId {
        type Error = IdentifierError;
        fn try_from(text: Text) -> Result<Self, IdentifierError> {
            AccountId::new(text.0)
        }
    }

    impl From<Operator> for Text {
        fn from(operator: Operator) -> Self {
            Self(operator.0)
        }
    }

    impl TryFrom<Text> for Operator {
        type Error = IdentifierError;
        fn try_from(text: Text) -> Result<Self, IdentifierError> {
            Operator::new(text.0)
        }
    }
}
