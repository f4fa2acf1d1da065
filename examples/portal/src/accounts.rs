//! The engine's account ids: a customer's is the login ID; a support-desk operator's (on
//! the desk's own engine, in the same store) is `desk:` and the operator ID — a namespace
//! no customer login ID can take (`Db::customer` finds none there, `Db::insert_customer`
//! refuses one, and [`customer_account`] refuses to name one), so no customer can ever
//! act on an operator's second factor, nor an operator's on a customer's.

use totp_enroll::{AccountId, AccountLabel};

use crate::error::AppError;

/// The prefix of the operators' account ids.
pub const OPERATOR_PREFIX: &str = "desk:";

/// Whether `id` lies in the operators' namespace (`desk:`, in any case).
pub fn is_operator_namespace(id: &str) -> bool {
    id.trim_start()
        .get(..OPERATOR_PREFIX.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(OPERATOR_PREFIX))
}

/// The engine's account of a customer's login ID (never one in the operators' namespace).
pub fn customer_account(login_id: &str) -> Result<AccountId, AppError> {
    if is_operator_namespace(login_id) {
        return Err(AppError::internal(
            "a customer login ID in the operators' namespace",
        ));
    }
    AccountId::new(login_id).map_err(|e| AppError::internal(format!("account id: {e}")))
}

/// The account name an authenticator app shows under the issuer: the login ID (customers)
/// or the operator ID (the desk), validated as the engine's `begin` takes it.
pub fn app_label(name: &str) -> Result<AccountLabel, AppError> {
    AccountLabel::new(name).map_err(|e| AppError::internal(format!("account label: {e}")))
}

/// The desk engine's account of an operator.
pub fn operator_account(operator: &str) -> Result<AccountId, AppError> {
    AccountId::new(format!("{OPERATOR_PREFIX}{operator}"))
        .map_err(|e| AppError::internal(format!("operator account id: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_operators_namespace_is_no_customers() {
        for id in ["desk:desk-01", "DESK:desk-01", "Desk:x", " desk:x"] {
            assert!(is_operator_namespace(id), "{id}");
            assert!(customer_account(id).is_err(), "{id}");
        }
        for id in ["0123-456789", "desk-01", "desk", "de:sk"] {
            assert!(!is_operator_namespace(id), "{id}");
        }
        assert_eq!(
            operator_account("desk-01").unwrap().as_str(),
            "desk:desk-01"
        );
    }
}
