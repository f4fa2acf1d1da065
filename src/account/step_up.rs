//! [`StepUp`]: proof that the portal re-verified the customer's password just now.

use crate::account::AccountId;
use crate::error::StepUpError;

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
