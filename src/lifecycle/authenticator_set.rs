//! The authenticators of an active enrollment as a set: finding one, adding a pending one,
//! removing one (never the only confirmed one), and the ids they get.

use crate::error::EngineError;
use crate::lifecycle::authenticator::Authenticator;
use crate::lifecycle::enrollment::{Enrollment, RecordStatus};

impl Enrollment {
    /// The authenticator `id` of an active enrollment, to change it.
    pub(crate) fn authenticator_mut(&mut self, id: u8) -> Option<&mut Authenticator> {
        match &mut self.status {
            RecordStatus::Active { authenticators, .. } => {
                authenticators.iter_mut().find(|a| a.id == id)
            }
            _ => None,
        }
    }

    /// The id a new authenticator gets: one more than the largest, or the smallest free
    /// one after id 255 was used.
    pub(crate) fn next_authenticator_id(&self) -> Option<u8> {
        let list = self.authenticators();
        let confirmed = list.iter().filter(|a| !a.is_pending());
        let largest = confirmed.map(|a| a.id).max().unwrap_or(0);
        largest
            .checked_add(1)
            .or_else(|| (1..=u8::MAX).find(|id| list.iter().all(|a| a.id != *id)))
    }

    /// Adds `pending` (its id assigned here) in place of any pending authenticator.
    pub(crate) fn add_pending(&mut self, mut pending: Authenticator) -> Result<(), EngineError> {
        let id = self
            .next_authenticator_id()
            .ok_or(EngineError::TooManyAuthenticators)?;
        let RecordStatus::Active { authenticators, .. } = &mut self.status else {
            return Err(EngineError::NotActive);
        };
        authenticators.retain(|a| !a.is_pending());
        if authenticators.len() >= Authenticator::MAX_PER_ACCOUNT {
            return Err(EngineError::TooManyAuthenticators);
        }
        pending.id = id;
        authenticators.push(pending);
        authenticators.sort_by_key(|a| a.id);
        Ok(())
    }

    /// Whether authenticator `id` may be removed: it exists and is not the only
    /// confirmed one.
    pub(crate) fn check_removable(&self, id: u8) -> Result<(), EngineError> {
        let list = self.authenticators();
        let target = list
            .iter()
            .find(|a| a.id == id)
            .ok_or(EngineError::UnknownAuthenticator(id))?;
        let confirmed = list.iter().filter(|a| !a.is_pending()).count();
        if !target.is_pending() && confirmed <= 1 {
            return Err(EngineError::LastAuthenticator);
        }
        Ok(())
    }

    pub(crate) fn remove_authenticator(&mut self, id: u8) -> Result<(), EngineError> {
        self.check_removable(id)?;
        if let RecordStatus::Active { authenticators, .. } = &mut self.status {
            authenticators.retain(|a| a.id != id);
        }
        Ok(())
    }
}
