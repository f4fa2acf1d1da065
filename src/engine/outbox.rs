//! [`Outbox`]: delivers the audit events a store's outbox holds to an async
//! [`AuditDelivery`], at least once, in order, removing them only once delivered.
//!
//! The engine writes each call's events into the outbox in the same atomic step as the
//! record, so an event exists exactly when its state change does. The portal runs one
//! delivery loop per store (several loops would deliver some events twice and out of
//! order; each event's id makes duplicates harmless for a sink that de-duplicates):
//!
//! ```no_run
//! # async fn portal(store: totp_enroll::MemoryStore, sink: totp_enroll::audit::MemoryAudit) {
//! use std::time::Duration;
//! use totp_enroll::Outbox;
//!
//! let outbox = Outbox::new(store);
//! loop {
//!     if let Err(error) = outbox.deliver_pending(&sink).await {
//!         eprintln!("audit delivery failed, retrying: {error}"); // the events stay
//!     }
//!     tokio::time::sleep(Duration::from_millis(500)).await;
//! }
//! # }
//! ```

use crate::error::OutboxError;
use core::future::Future;

use crate::audit::{AuditEvent, MemoryAudit};
use crate::store::Store;

/// An event handed to an [`AuditDelivery`], with the id the store gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveredEvent {
    /// Stable across redeliveries: the same event always comes with the same id, so a sink
    /// can drop a duplicate (at-least-once delivery).
    pub id: u64,
    /// The event.
    pub event: AuditEvent,
}

impl DeliveredEvent {
    /// `event` with the store's `id` for it (for a sink's own tests).
    pub fn new(id: u64, event: AuditEvent) -> Self {
        Self { id, event }
    }
}

/// Where the durable audit trail goes: a log service, a SIEM, an e-mail queue.
///
/// `deliver` gets a batch in id order (so in write order per account). Returning `Ok`
/// means every event of the batch is handled durably: they are then removed from the
/// outbox. On `Err` none is removed and the whole batch comes again later, so a sink may
/// see an event more than once and should de-duplicate by [`DeliveredEvent::id`].
pub trait AuditDelivery: Send + Sync {
    /// Why a delivery failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Hands over one batch.
    fn deliver(
        &self,
        events: &[DeliveredEvent],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Collects delivered events in memory (tests and demos).
impl AuditDelivery for MemoryAudit {
    type Error = core::convert::Infallible;

    async fn deliver(&self, events: &[DeliveredEvent]) -> Result<(), Self::Error> {
        for delivered in events {
            crate::audit::AuditSink::record(self, delivered.event.clone());
        }
        Ok(())
    }
}

impl<D: AuditDelivery + ?Sized> AuditDelivery for std::sync::Arc<D> {
    type Error = D::Error;

    fn deliver(
        &self,
        events: &[DeliveredEvent],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        (**self).deliver(events)
    }
}

/// Delivers a store's outbox.
#[derive(Debug, Clone)]
pub struct Outbox<S> {
    store: S,
    batch: usize,
}

impl<S: Store> Outbox<S> {
    /// Events read and delivered per batch by default.
    pub const DEFAULT_BATCH: usize = 256;

    /// A delivery over `store`'s outbox (share the engine's store, e.g. by `Arc`).
    pub fn new(store: S) -> Self {
        Self {
            store,
            batch: Self::DEFAULT_BATCH,
        }
    }

    /// Sets the batch size (at least 1).
    #[must_use]
    pub fn with_batch(mut self, events: usize) -> Self {
        self.batch = events.max(1);
        self
    }

    /// Delivers every pending event, oldest first, batch by batch: each batch is
    /// acknowledged (removed) only after `delivery` returned `Ok` for it. Returns how many
    /// events were delivered; on an error, the batches before it stay delivered and the
    /// failed one stays in the outbox.
    pub async fn deliver_pending<D: AuditDelivery>(
        &self,
        delivery: &D,
    ) -> Result<usize, OutboxError> {
        let mut delivered = 0_usize;
        loop {
            let entries = self.store.pending_events(self.batch).await?;
            if entries.is_empty() {
                return Ok(delivered);
            }
            let mut batch = Vec::with_capacity(entries.len());
            let mut undecodable = None;
            for entry in &entries {
                match AuditEvent::decode(&entry.bytes) {
                    Ok(event) => batch.push(DeliveredEvent {
                        id: entry.id,
                        event,
                    }),
                    Err(error) => {
                        // Deliver what precedes it, then stop: no gap, no reordering.
                        undecodable = Some(OutboxError::Undecodable {
                            id: entry.id,
                            error,
                        });
                        break;
                    }
                }
            }
            if !batch.is_empty() {
                delivery
                    .deliver(&batch)
                    .await
                    .map_err(|error| OutboxError::Delivery(Box::new(error)))?;
                let ids: Vec<u64> = batch.iter().map(|delivered| delivered.id).collect();
                self.store.acknowledge(&ids).await?;
                delivered = delivered.saturating_add(ids.len());
            }
            if let Some(error) = undecodable {
                return Err(error);
            }
            if entries.len() < self.batch {
                return Ok(delivered);
            }
        }
    }
}
