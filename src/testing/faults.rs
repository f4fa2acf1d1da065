//! Helpers for testing stores and the engine's failure behaviour (feature `testing`).

use std::sync::Mutex;

use crate::account::AccountId;
use crate::error::StoreError;
use crate::lifecycle::enrollment::Enrollment;
use crate::store::{Listed, OutboxEntry, Store, Versioned};

/// Which operations a [`FaultyStore`] fails.
///
/// The *reads* are [`Store::load`], [`Store::version`], [`Store::list`] and
/// [`Store::pending_events`]; the *writes* are [`Store::replace_if`],
/// [`Store::append_events`], [`Store::forget`], [`Store::reinstate`] and
/// [`Store::acknowledge`]. A failed call returns [`StoreError::Backend`] with
/// [`InjectedFault`] and never reaches the inner store (except under
/// [`Fault::LostAcknowledgement`]), so it writes neither a record nor an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Fault {
    /// No fault: every call reaches the inner store.
    #[default]
    None,
    /// Every read fails: load, version, list and the outbox's pending events.
    Load,
    /// Every write fails (nothing is written): replace_if, append_events, forget,
    /// reinstate and acknowledge.
    Write,
    /// Writes that record an accepted code (a new last-used step or a change of state
    /// with the failure counter cleared) fail; nothing is written. An erasure
    /// ([`Store::forget`]) and a repair ([`Store::reinstate`]) are changes of state and fail
    /// too; appending events and acknowledging them do not.
    WriteAcceptance,
    /// Writes that raise the failure counter fail; nothing is written. Erasures, repairs,
    /// appended events and acknowledgements pass.
    WriteFailureCount,
    /// Writes reach the inner store and succeed there, but the caller is told they failed
    /// (a lost acknowledgement). For [`Store::acknowledge`]: the events are removed, but the
    /// caller is told they were not (so a delivery delivers them again).
    LostAcknowledgement,
    /// Every write that carries audit events fails and writes nothing: replace_if, forget
    /// and reinstate with a non-empty `events`, and append_events with a non-empty
    /// `events` (an outbox table that cannot be written, so the record's transaction rolls
    /// back). The same writes with no events, and acknowledgements, pass.
    Outbox,
    /// Every [`Store::acknowledge`] fails and removes nothing: delivered events stay
    /// pending and are delivered again.
    Acknowledge,
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

/// What a write is, for deciding whether the active fault fails it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteKind {
    /// `replace_if`, `forget`, `reinstate`: a record changes (`carries_events`: with events).
    Record { carries_events: bool },
    /// `append_events` (`carries_events`: not empty).
    Append { carries_events: bool },
    /// `acknowledge`.
    Acknowledge,
}

impl WriteKind {
    fn carries_events(self) -> bool {
        match self {
            Self::Record { carries_events } | Self::Append { carries_events } => carries_events,
            Self::Acknowledge => false,
        }
    }
}

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

    /// Fails a read under [`Fault::Load`].
    fn read(&self) -> Result<(), StoreError> {
        if self.fault() == Fault::Load {
            return Err(StoreError::backend(InjectedFault));
        }
        Ok(())
    }

    /// Whether the active fault fails a write of `kind` before it reaches the inner store
    /// ([`Fault::LostAcknowledgement`] is handled by the callers, after the write; the
    /// record-dependent faults of `replace_if` too).
    fn fails_before(&self, kind: WriteKind) -> bool {
        match self.fault() {
            Fault::None | Fault::Load | Fault::LostAcknowledgement | Fault::WriteFailureCount => {
                false
            }
            Fault::Write => true,
            Fault::WriteAcceptance => matches!(kind, WriteKind::Record { .. }),
            Fault::Outbox => kind.carries_events(),
            Fault::Acknowledge => kind == WriteKind::Acknowledge,
        }
    }

    /// Whether `record` over the current row is a write [`Fault::WriteAcceptance`] or
    /// [`Fault::WriteFailureCount`] (whichever is `fault`) fails.
    async fn classifies(
        &self,
        fault: Fault,
        account: &AccountId,
        record: &Enrollment,
    ) -> Result<bool, StoreError> {
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
        Ok(match fault {
            Fault::WriteFailureCount => counts_failure,
            _ => records_acceptance,
        })
    }

    /// Runs `write` against the inner store unless the active fault fails it; under
    /// [`Fault::LostAcknowledgement`] runs it and reports an error.
    async fn guarded<T, F: Future<Output = Result<T, StoreError>>>(
        &self,
        kind: WriteKind,
        write: impl FnOnce() -> F,
    ) -> Result<T, StoreError> {
        if self.fails_before(kind) {
            return Err(StoreError::backend(InjectedFault));
        }
        let lost = self.fault() == Fault::LostAcknowledgement;
        let result = write().await?;
        if lost {
            return Err(StoreError::backend(InjectedFault));
        }
        Ok(result)
    }
}

impl<S: Store> Store for FaultyStore<S> {
    async fn load(&self, account: &AccountId) -> Result<Option<Versioned>, StoreError> {
        self.read()?;
        self.inner.load(account).await
    }

    async fn version(&self, account: &AccountId) -> Result<Option<u64>, StoreError> {
        self.read()?;
        self.inner.version(account).await
    }

    async fn replace_if(
        &self,
        account: &AccountId,
        expected: Option<u64>,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        let fault = self.fault();
        let fail = match fault {
            Fault::WriteAcceptance | Fault::WriteFailureCount => {
                self.classifies(fault, account, record).await?
            }
            _ => false,
        };
        if fail {
            return Err(StoreError::backend(InjectedFault));
        }
        let kind = WriteKind::Record {
            carries_events: !events.is_empty(),
        };
        // `WriteAcceptance` is decided above from the record, not by the kind of write.
        if fault != Fault::WriteAcceptance && self.fails_before(kind) {
            return Err(StoreError::backend(InjectedFault));
        }
        let version = self
            .inner
            .replace_if(account, expected, record, events)
            .await?;
        if fault == Fault::LostAcknowledgement {
            return Err(StoreError::backend(InjectedFault));
        }
        Ok(version)
    }

    async fn append_events(
        &self,
        account: &AccountId,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        let kind = WriteKind::Append {
            carries_events: !events.is_empty(),
        };
        self.guarded(kind, || self.inner.append_events(account, events))
            .await
    }

    async fn forget(
        &self,
        account: &AccountId,
        expected: u64,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        let kind = WriteKind::Record {
            carries_events: !events.is_empty(),
        };
        self.guarded(kind, || self.inner.forget(account, expected, events))
            .await
    }

    async fn reinstate(
        &self,
        account: &AccountId,
        expected: u64,
        record: &Enrollment,
        events: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        let kind = WriteKind::Record {
            carries_events: !events.is_empty(),
        };
        self.guarded(kind, || {
            self.inner.reinstate(account, expected, record, events)
        })
        .await
    }

    async fn list(
        &self,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError> {
        self.read()?;
        self.inner.list(after, limit).await
    }

    async fn pending_events(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.read()?;
        self.inner.pending_events(limit).await
    }

    async fn acknowledge(&self, ids: &[u64]) -> Result<(), StoreError> {
        self.guarded(WriteKind::Acknowledge, || self.inner.acknowledge(ids))
            .await
    }
}
