//! Audit events: every transition and verdict, without secrets or typed codes.
//!
//! * [`AuditEvent`] and [`AuditKind`]: what happened, to which account, when, and in which
//!   request ([`RequestContext`]).
//! * The durable trail: the engine writes each transition's events into the store's outbox
//!   in the same atomic step as the record; [`Outbox`](crate::Outbox) delivers them to an async
//!   [`AuditDelivery`](crate::AuditDelivery) at least once, in order per account, with stable ids.
//! * [`AuditSink`]: an in-process observer called right after each durable step (metrics,
//!   tests); not a durable trail.

pub(crate) mod codec;
pub(crate) mod context;
pub(crate) mod event;
pub(crate) mod sink;

pub use event::Operation;
pub use sink::{MemoryAudit, NoAudit};

pub(crate) use context::RequestContext;
pub(crate) use event::{AuditEvent, AuditKind};
pub(crate) use sink::AuditSink;
