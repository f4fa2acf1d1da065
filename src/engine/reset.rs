//! The support desk's reset (lost phone) and the erasure of an account for a
//! data-protection request: both work on any row, whatever its bytes.

use crate::account::{AccountId, Operator};
use crate::audit::AuditKind;
use crate::engine::Engine;
use crate::engine::check::retry;
use crate::engine::trace::traced;
use crate::error::{EngineError, StoreError};
use crate::lifecycle::enrollment::Enrollment;
use crate::store::Store;

impl<S: Store> Engine<S> {
    /// Support desk (lost phone): erases the enrollment and its counters. Needs the
    /// operator and a reason (1 byte to 1 KiB, no control or invisible characters:
    /// otherwise [`EngineError::InvalidIdentifier`]), which are audited; never returns the
    /// secret.
    ///
    /// It repairs any row: the stored record is not decoded (a corrupt or undecodable row
    /// is reset like any other), and a row at the store's largest version, which no write
    /// can advance, is re-instated at version 1 ([`Store::reinstate`]).
    pub async fn desk_reset(
        &self,
        account: &AccountId,
        operator: &Operator,
        reason: &str,
    ) -> Result<(), EngineError> {
        traced(&self.trace, "desk_reset", account, async {
            crate::account::check_reason(reason)?;
            let now = self.clock.now()?;
            let reset = AuditKind::AdministrativelyReset {
                operator: operator.clone(),
                reason: reason.to_owned(),
            };
            self.overwrite(account, now, reset).await
        })
        .await
    }

    /// Erases the account's row for a data-protection request (APPI, GDPR): its record,
    /// label, counters and timestamps. Needs the operator and a reason as
    /// [`Engine::desk_reset`] does; audited as [`AuditKind::Forgotten`] (the event itself
    /// names the account, as the audit trail must).
    ///
    /// The store keeps a tombstone with the account id and its version and nothing else,
    /// so a writer holding a version from before the erasure can never succeed, also
    /// after the account enrolls again. Works on any row, like `desk_reset`; an account
    /// with no row is audited and left alone.
    pub async fn desk_forget(
        &self,
        account: &AccountId,
        operator: &Operator,
        reason: &str,
    ) -> Result<(), EngineError> {
        traced(&self.trace, "desk_forget", account, async {
            crate::account::check_reason(reason)?;
            let now = self.clock.now()?;
            let forgotten = AuditKind::Forgotten {
                operator: operator.clone(),
                reason: reason.to_owned(),
            };
            retry!({
                let Some(version) = self.store.version(account).await? else {
                    return self
                        .append(account, now, [forgotten.clone()])
                        .await
                        .map(Some);
                };
                let outgoing = self.outgoing(account, now, [forgotten.clone()]);
                let result = match self.store.forget(account, version, &outgoing.encoded).await {
                    Err(StoreError::VersionExhausted) => {
                        // First back to version 1 (nothing audited yet), then erased.
                        let cleared =
                            self.for_write(Enrollment::not_registered(), account, None)?;
                        return match self.store.reinstate(account, version, &cleared, &[]).await {
                            Ok(()) | Err(StoreError::Conflict) => Ok(None),
                            Err(error) => Err(error.into()),
                        };
                    }
                    result => result,
                };
                match result {
                    Ok(_) => {
                        self.key_cache.evict(account);
                        self.observe(outgoing);
                        Ok(Some(()))
                    }
                    Err(StoreError::Conflict) => Ok(None),
                    Err(error) => Err(error.into()),
                }
            })
        })
        .await
    }

    /// Writes a fresh not-registered record over whatever the account's row holds, with
    /// `kind` audited: a conditional write on the row's version (not decoding it), or a
    /// re-instatement at version 1 when the version cannot be advanced.
    async fn overwrite(
        &self,
        account: &AccountId,
        now: u64,
        kind: AuditKind,
    ) -> Result<(), EngineError> {
        let cleared = Enrollment::not_registered();
        retry!({
            let version = self.store.version(account).await?;
            let outgoing = self.outgoing(account, now, [kind.clone()]);
            let written = match self.for_write(cleared.clone(), account, version) {
                Ok(signed) => {
                    self.store
                        .replace_if(account, version, &signed, &outgoing.encoded)
                        .await
                }
                Err(EngineError::Store(StoreError::VersionExhausted)) => {
                    Err(StoreError::VersionExhausted)
                }
                Err(error) => return Err(error),
            };
            let result = match (written, version) {
                (Err(StoreError::VersionExhausted), Some(version)) => {
                    let restarted = self.for_write(cleared.clone(), account, None)?;
                    self.store
                        .reinstate(account, version, &restarted, &outgoing.encoded)
                        .await
                        .map(|()| 1)
                }
                (result, _) => result,
            };
            match result {
                Ok(_) => {
                    self.key_cache.evict(account);
                    self.observe(outgoing);
                    Ok(Some(()))
                }
                Err(StoreError::Conflict) => Ok(None),
                Err(error) => Err(error.into()),
            }
        })
    }
}
