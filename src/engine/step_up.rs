//! The step-up proofs the engine asks for: a fresh re-verification of the customer's
//! password before enrollment, a resync, a lost-phone stop, issuing recovery codes, and
//! (when the policy asks) before a second device is shown a secret or one is removed.

use crate::account::{AccountId, StepUp};
use crate::audit::AuditKind;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::store::Store;

impl<S: Store> Engine<S> {
    /// The step-up check for showing a secret to a second device, when the policy asks for
    /// one ([`StepUpError::Required`](crate::StepUpError::Required) without it); audited
    /// when refused.
    pub(super) async fn second_device_step_up(
        &self,
        account: &AccountId,
        step_up: Option<&StepUp>,
        now: u64,
    ) -> Result<(), EngineError> {
        if !self.policy.second_device_step_up() {
            return Ok(());
        }
        self.check_step_up(account, step_up, now).await
    }

    /// Checks a step-up proof (`None`: [`StepUpError::Required`](crate::StepUpError::Required))
    /// against the policy's age and skew; a refusal is audited as
    /// [`AuditKind::StepUpRefused`].
    pub(super) async fn check_step_up(
        &self,
        account: &AccountId,
        step_up: Option<&StepUp>,
        now: u64,
    ) -> Result<(), EngineError> {
        let checked = match step_up {
            None => Err(crate::error::StepUpError::Required),
            Some(step_up) => step_up.check(
                account,
                now,
                self.policy.step_up_max_age,
                self.policy.step_up_max_skew,
            ),
        };
        if let Err(refused) = checked {
            self.append(account, now, [AuditKind::StepUpRefused])
                .await?;
            return Err(refused.into());
        }
        Ok(())
    }
}
