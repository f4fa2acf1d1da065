//! Who an enrollment belongs to, who acts on it, and the step-up proof that starts one;
//! the rules every name the crate shows or logs follows.
//!
//! * [`AccountId`] (`id.rs`): the customer's account, the store's key.
//! * [`AccountLabel`] (`label.rs`): the account name an authenticator app shows.
//! * [`Operator`] (`operator.rs`): a support-desk operator, and the reasons they give.
//! * [`StepUp`] (`step_up.rs`): proof that the portal re-verified a password just now.
//! * `names.rs`: the characters and lengths every name is checked against.

mod id;
mod label;
pub(crate) mod names;
mod operator;
mod step_up;

pub use id::AccountId;
pub use label::AccountLabel;
pub(crate) use names::check_authenticator_name;
pub use operator::Operator;
pub(crate) use operator::check_reason;
pub use step_up::{StepUp, StepUpFactor};

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
            Self(operator.as_str().to_owned())
        }
    }

    impl TryFrom<Text> for Operator {
        type Error = IdentifierError;
        fn try_from(text: Text) -> Result<Self, IdentifierError> {
            Operator::new(text.0)
        }
    }
}
