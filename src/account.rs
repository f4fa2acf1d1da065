//! Who an enrollment belongs to, who acts on it, and the step-up proof that starts one.

use core::fmt;
use std::sync::Arc;

use crate::error::{EngineError, StepUpError};

/// The portal's identifier of a customer account (e.g. its internal customer number).
///
/// 1 to [`AccountId::MAX_BYTES`] bytes, no control characters. It keys the store and is bound
/// to every sealed secret as associated data, so a record copied to another account does
/// not open. Cloning it is cheap (a shared string).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(Arc<str>);

impl AccountId {
    /// Longest id in UTF-8 bytes.
    pub const MAX_BYTES: usize = 128;

    /// Validates an account id.
    pub fn new(id: impl Into<String>) -> Result<Self, EngineError> {
        let id = id.into();
        if id.is_empty() || id.len() > Self::MAX_BYTES || id.chars().any(char::is_control) {
            return Err(EngineError::InvalidAccount);
        }
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Operator(String);

impl Operator {
    /// An operator identity; must be non-empty.
    pub fn new(id: impl Into<String>) -> Result<Self, EngineError> {
        let id = id.into();
        if id.trim().is_empty() || id.len() > AccountId::MAX_BYTES {
            return Err(EngineError::InvalidReset);
        }
        Ok(Self(id))
    }

    /// The operator's identity.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
