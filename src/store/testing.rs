//! Helpers for testing stores and the engine's failure behaviour (feature `testing`).

use std::sync::Mutex;

use crate::account::AccountId;
use crate::error::StoreError;
use crate::record::EnrollmentRecord;
use crate::store::{Store, Versioned};

/// Which operations a [`FaultyStore`] fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Fault {
    /// No fault: every call reaches the inner store.
    #[default]
    None,
    /// Every load fails.
    Load,
    /// Every write fails (nothing is written).
    Write,
    /// Writes that record an accepted code (a new last-used step or a change of state
    /// with the failure counter cleared) fail; nothing is written.
    WriteAcceptance,
    /// Writes that raise the failure counter fail; nothing is written.
    WriteFailureCount,
    /// Writes reach the inner store and succeed there, but the caller is told they failed
    /// (a lost acknowledgement).
    LostAcknowledgement,
}

/// A store wrapper that injects [`Fault`]s, to check that the engine fails closed.
#[derive(Debug)]
pub struct FaultyStore<S> {
    inner: S,
    fault: Mutex<Fault>,
}

/// The error an injected fault returns.
#[derive(Debug, thiserror::Error)]
#[error("injected storage fault")]
pub struct InjectedFault;

impl<S: Store> FaultyStore<S> {
    /// Wraps `inner` with no fault active.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            fault: Mutex::new(Fault::None),
        }
    }

    /// Activates `fault` for the following calls.
    pub fn set_fault(&self, fault: Fault) {
        if let Ok(mut current) = self.fault.lock() {
            *current = fault;
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn fault(&self) -> Fault {
        self.fault.lock().map(|f| *f).unwrap_or(Fault::Write)
    }
}

impl<S: Store> Store for FaultyStore<S> {
    async fn load(&self, account: &AccountId) -> Result<Option<Versioned>, StoreError> {
        if self.fault() == Fault::Load {
            return Err(StoreError::backend(InjectedFault));
        }
        self.inner.load(account).await
    }

    async fn replace_if(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        record: &EnrollmentRecord,
    ) -> Result<u64, StoreError> {
        let fail = match self.fault() {
            Fault::None | Fault::Load => false,
            Fault::Write => true,
            Fault::LostAcknowledgement => {
                self.inner.replace_if(account, expected, record).await?;
                true
            }
            Fault::WriteAcceptance | Fault::WriteFailureCount => {
                let before = self.inner.load(account).await?.map(|v| v.record);
                let before_failures = before.as_ref().map_or(0, |r| r.throttle().failures());
                let after_failures = record.throttle().failures();
                let counts_failure = after_failures > before_failures;
                let records_acceptance = after_failures == 0
                    && before.as_ref().is_some_and(|b| {
                        b.last_used_step() != record.last_used_step()
                            || core::mem::discriminant(b.status())
                                != core::mem::discriminant(record.status())
                    });
                match self.fault() {
                    Fault::WriteFailureCount => counts_failure,
                    _ => records_acceptance,
                }
            }
        };
        if fail {
            return Err(StoreError::backend(InjectedFault));
        }
        self.inner.replace_if(account, expected, record).await
    }
}
