//! [`AuditSink`]: an in-process observer of durable events ([`NoAudit`], [`MemoryAudit`]).

use std::sync::Mutex;

use crate::audit::event::AuditEvent;

/// An in-process observer of audit events, called right after the state change (with its
/// events) is durable; must not block for long. It is not the durable trail: an event is
/// lost here if the process stops between the write and the call. The durable trail is
/// the store's outbox, delivered by [`Outbox`](crate::Outbox).
pub trait AuditSink: Send + Sync {
    /// Records one event.
    fn record(&self, event: AuditEvent);
}

/// Discards events.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAudit;

impl AuditSink for NoAudit {
    fn record(&self, _event: AuditEvent) {}
}

/// Keeps events in memory, for tests and demos.
#[derive(Debug, Default)]
pub struct MemoryAudit {
    events: Mutex<Vec<AuditEvent>>,
}

impl MemoryAudit {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the events so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events
            .lock()
            .map(|events| events.clone())
            .unwrap_or_default()
    }

    /// Removes and returns the events so far.
    pub fn take(&self) -> Vec<AuditEvent> {
        self.events
            .lock()
            .map(|mut events| core::mem::take(&mut *events))
            .unwrap_or_default()
    }
}

impl AuditSink for MemoryAudit {
    fn record(&self, event: AuditEvent) {
        if let Ok(mut events) = self.events.lock() {
            events.push(event);
        }
    }
}

impl<A: AuditSink + ?Sized> AuditSink for std::sync::Arc<A> {
    fn record(&self, event: AuditEvent) {
        (**self).record(event);
    }
}
