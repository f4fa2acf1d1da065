//! [`StepUp`]: proof that the portal re-verified the customer just now, and what it
//! re-verified ([`StepUpFactor`]).

use crate::account::AccountId;
use crate::error::StepUpError;

/// What the portal re-verified for a [`StepUp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StepUpFactor {
    /// The account's login password, asked for again.
    Password,
    /// A second password kept for sensitive operations, such as a securities portal's
    /// transaction password (取引パスワード), which the Japanese securities portal (examples/portal) asks for.
    TransactionPassword,
    /// Another factor the portal checked itself (a passkey assertion, a code sent to a
    /// registered address): it is the portal's word what it was.
    OtherFactor,
}

/// Proof that the portal re-verified the customer just now, and with what. Enrollment
/// cannot begin without one, and the engine refuses one older than its policy's
/// `step_up_max_age` or made for another account.
///
/// Each constructor names what the portal asserts by calling it: call it only right after
/// that check succeeded.
///
/// ```
/// use totp_enroll::{AccountId, StepUp, StepUpFactor};
/// let account = AccountId::new("customer-42")?;
/// let proof = StepUp::password_verified(&account, 1_764_000_000);
/// assert_eq!(proof.factor(), StepUpFactor::Password);
/// # Ok::<(), totp_enroll::error::IdentifierError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUp {
    account: AccountId,
    verified_at: u64,
    factor: StepUpFactor,
}

impl StepUp {
    /// States that the portal verified `account`'s login password again at
    /// `verified_at_unix` (seconds since the Unix epoch).
    pub fn password_verified(account: &AccountId, verified_at_unix: u64) -> Self {
        Self::new(account, verified_at_unix, StepUpFactor::Password)
    }

    /// States that the portal verified `account`'s transaction password (a second password
    /// for sensitive operations, 取引パスワード) at `verified_at_unix`.
    pub fn transaction_password_verified(account: &AccountId, verified_at_unix: u64) -> Self {
        Self::new(account, verified_at_unix, StepUpFactor::TransactionPassword)
    }

    /// States that the portal verified another factor of `account` (which one is the
    /// portal's business, e.g. a passkey) at `verified_at_unix`.
    pub fn other_factor_verified(account: &AccountId, verified_at_unix: u64) -> Self {
        Self::new(account, verified_at_unix, StepUpFactor::OtherFactor)
    }

    fn new(account: &AccountId, verified_at: u64, factor: StepUpFactor) -> Self {
        Self {
            account: account.clone(),
            verified_at,
            factor,
        }
    }

    /// What was re-verified.
    pub fn factor(&self) -> StepUpFactor {
        self.factor
    }

    /// The account the proof is for.
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// When it was verified (Unix seconds).
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
