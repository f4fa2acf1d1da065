//! [`Outbox`]: delivers the audit events a store's outbox holds to an async
//! [`AuditDelivery`], at least once, in order, removing them only once delivered.
//!
//! The engine writes each call's events into the outbox in the same atomic step as the
//! record, so an event exists exactly when its state change does. They stay there until
//! delivered: the application runs one delivery loop per store, [`Outbox::run`] (several
//! loops would deliver some events twice and out of order; each event's id makes
//! duplicates harmless for a sink that de-duplicates). The library brings no async
//! runtime: the loop sleeps with the function it is given.
//!
//! ```no_run
//! # async fn portal(store: std::sync::Arc<totp_enroll::MemoryStore>, sink: totp_enroll::audit::MemoryAudit) {
//! use totp_enroll::Outbox;
//!
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let delivery = tokio::spawn(async move {
//!     Outbox::new(store) // the engine's store, shared
//!         .run(
//!             &sink,
//!             |pause| tokio::time::sleep(pause.duration()), // the runtime's timer
//!             async { let _ = stopped.await; },                // the shutdown signal
//!             |error| eprintln!("audit delivery failed, retrying: {error}"), // events stay
//!         )
//!         .await
//! });
//! // … serve requests; at shutdown, after the last request:
//! let _ = stop.send(());
//! let _summary = delivery.await; // the last delivery pass ran
//! # }
//! ```

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;

use crate::error::OutboxError;

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

/// How long [`Outbox::run`] waits before its next pass, and why: what its sleep function
/// is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryPause {
    /// The last pass delivered everything pending: wait the interval
    /// ([`Outbox::with_interval`]). A sleep function may end this wait early, e.g. when a
    /// request just wrote events.
    Idle(Duration),
    /// The last `failures` passes in a row failed (the events stayed in the outbox): wait
    /// the back-off, doubled after each failure from the first retry up to the longest
    /// ([`Outbox::with_backoff`]), before trying again.
    Backoff {
        /// How long.
        wait: Duration,
        /// Consecutive failed passes (1 after the first).
        failures: u32,
    },
}

impl DeliveryPause {
    /// How long to wait.
    pub fn duration(&self) -> Duration {
        match self {
            Self::Idle(wait) | Self::Backoff { wait, .. } => *wait,
        }
    }

    /// Whether this is a back-off after failed passes (a sleep function should not end
    /// it early: retries would hurry a failing sink).
    pub fn is_backoff(&self) -> bool {
        matches!(self, Self::Backoff { .. })
    }
}

/// What [`Outbox::run`] did, when it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DeliverySummary {
    /// Events delivered and removed from the outbox.
    pub delivered: usize,
    /// Delivery passes, the last one after the shutdown signal included.
    pub passes: usize,
    /// Passes that failed (each reported to the error hook).
    pub failed_passes: usize,
    /// Whether the last pass, after the shutdown signal, failed: then events may be left in
    /// the outbox for the next start.
    pub last_pass_failed: bool,
}

/// Delivers a store's outbox: one pass with [`Outbox::deliver_pending`], or the loop
/// [`Outbox::run`].
#[derive(Debug, Clone)]
pub struct Outbox<S> {
    store: S,
    batch: usize,
    interval: Duration,
    first_retry: Duration,
    longest_retry: Duration,
}

impl<S: Store> Outbox<S> {
    /// Events read and delivered per batch by default.
    pub const DEFAULT_BATCH: usize = 256;
    /// [`Outbox::run`]'s pause after a pass that delivered everything, by default.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(500);
    /// [`Outbox::run`]'s pause after a first failed pass, by default (doubled after each
    /// further one).
    pub const DEFAULT_FIRST_RETRY: Duration = Duration::from_secs(1);
    /// [`Outbox::run`]'s longest pause between failed passes, by default.
    pub const DEFAULT_LONGEST_RETRY: Duration = Duration::from_secs(30);

    /// A delivery over `store`'s outbox (share the engine's store, e.g. by `Arc`).
    pub fn new(store: S) -> Self {
        Self {
            store,
            batch: Self::DEFAULT_BATCH,
            interval: Self::DEFAULT_INTERVAL,
            first_retry: Self::DEFAULT_FIRST_RETRY,
            longest_retry: Self::DEFAULT_LONGEST_RETRY,
        }
    }

    /// Sets the batch size (at least 1).
    #[must_use]
    pub fn with_batch(mut self, events: usize) -> Self {
        self.batch = events.max(1);
        self
    }

    /// Sets [`Outbox::run`]'s pause after a pass that delivered everything
    /// ([`DEFAULT_INTERVAL`](Self::DEFAULT_INTERVAL)).
    #[must_use]
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets [`Outbox::run`]'s back-off after failed passes: `first` after one, doubled
    /// after each further one, never more than `longest` (defaults
    /// [`DEFAULT_FIRST_RETRY`](Self::DEFAULT_FIRST_RETRY),
    /// [`DEFAULT_LONGEST_RETRY`](Self::DEFAULT_LONGEST_RETRY)).
    #[must_use]
    pub fn with_backoff(mut self, first: Duration, longest: Duration) -> Self {
        self.first_retry = first;
        self.longest_retry = longest;
        self
    }

    /// The pause after `failures` consecutive failed passes (none: the interval).
    fn pause(&self, failures: u32) -> DeliveryPause {
        if failures == 0 {
            return DeliveryPause::Idle(self.interval);
        }
        let doublings = 2_u32.saturating_pow(failures.saturating_sub(1));
        DeliveryPause::Backoff {
            wait: self
                .first_retry
                .saturating_mul(doublings)
                .min(self.longest_retry),
            failures,
        }
    }

    /// The delivery loop, until `shutdown` resolves: a pass of
    /// [`deliver_pending`](Self::deliver_pending) (every pending event, batch by batch),
    /// then `sleep(pause)`: the interval when everything was delivered, or after a failed
    /// pass a back-off that doubles with each further failure up to a bound, until a pass
    /// succeeds again. Each failed pass's error goes to `on_error` (the library logs
    /// nothing); a batch the sink refused stays in the outbox and comes again, never
    /// removed. When `shutdown` resolves (it is watched during the pauses; a pass under way
    /// is completed), one last pass delivers what the application wrote until then, and
    /// the loop returns what it did.
    ///
    /// The library has no async runtime of its own: `sleep` is the runtime's timer, e.g.
    /// `|pause| tokio::time::sleep(pause.duration())`. It may end an
    /// [`Idle`](DeliveryPause::Idle) pause early (a wake-up after a request); it should
    /// not end a [`Backoff`](DeliveryPause::Backoff). Run one loop per store (see the
    /// module docs).
    pub async fn run<D, Sleep, Slept, Shutdown, OnError>(
        &self,
        delivery: &D,
        mut sleep: Sleep,
        shutdown: Shutdown,
        mut on_error: OnError,
    ) -> DeliverySummary
    where
        D: AuditDelivery,
        Sleep: FnMut(DeliveryPause) -> Slept,
        Slept: Future<Output = ()>,
        Shutdown: Future<Output = ()>,
        OnError: FnMut(&OutboxError),
    {
        let mut shutdown = pin!(shutdown);
        let mut summary = DeliverySummary::default();
        let mut failures = 0_u32;
        loop {
            let failed = self.pass(delivery, &mut summary, &mut on_error).await;
            failures = if failed {
                failures.saturating_add(1)
            } else {
                0
            };
            let mut slept = pin!(sleep(self.pause(failures)));
            let stopping = poll_fn(|cx| {
                // The signal first: once it came, no further pause is waited out.
                if shutdown.as_mut().poll(cx).is_ready() {
                    Poll::Ready(true)
                } else if slept.as_mut().poll(cx).is_ready() {
                    Poll::Ready(false)
                } else {
                    Poll::Pending
                }
            })
            .await;
            if stopping {
                break;
            }
        }
        summary.last_pass_failed = self.pass(delivery, &mut summary, &mut on_error).await;
        summary
    }

    /// One pass of [`run`](Self::run), counted in `summary`; whether it failed.
    async fn pass<D: AuditDelivery>(
        &self,
        delivery: &D,
        summary: &mut DeliverySummary,
        on_error: &mut impl FnMut(&OutboxError),
    ) -> bool {
        summary.passes = summary.passes.saturating_add(1);
        let result = self.deliver_counted(delivery, &mut summary.delivered).await;
        match result {
            Ok(()) => false,
            Err(error) => {
                summary.failed_passes = summary.failed_passes.saturating_add(1);
                on_error(&error);
                true
            }
        }
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
        self.deliver_counted(delivery, &mut delivered).await?;
        Ok(delivered)
    }

    /// [`deliver_pending`](Self::deliver_pending), adding the events delivered to
    /// `delivered` as it goes (so a failed pass still counts the batches before it).
    async fn deliver_counted<D: AuditDelivery>(
        &self,
        delivery: &D,
        delivered: &mut usize,
    ) -> Result<(), OutboxError> {
        loop {
            let entries = self.store.pending_events(self.batch).await?;
            if entries.is_empty() {
                return Ok(());
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
                let ids: Vec<u64> = batch.iter().map(|event| event.id).collect();
                self.store.acknowledge(&ids).await?;
                *delivered = delivered.saturating_add(ids.len());
            }
            if let Some(error) = undecodable {
                return Err(error);
            }
            if entries.len() < self.batch {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::account::AccountId;
    use crate::audit::AuditKind;
    use crate::store::memory::MemoryStore;

    /// A sink that refuses the batches it is told to (by the number of the delivery call,
    /// from 1) and keeps the ids of the events it took.
    #[derive(Debug, Default)]
    struct Sink {
        calls: AtomicUsize,
        refuse: Vec<usize>,
        taken: Mutex<Vec<u64>>,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("the sink refused the batch")]
    struct Refused;

    impl Sink {
        fn refusing(calls: &[usize]) -> Self {
            Self {
                refuse: calls.to_vec(),
                ..Self::default()
            }
        }

        fn taken(&self) -> Vec<u64> {
            self.taken.lock().unwrap().clone()
        }
    }

    impl AuditDelivery for Sink {
        type Error = Refused;

        async fn deliver(&self, events: &[DeliveredEvent]) -> Result<(), Refused> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if self.refuse.contains(&call) {
                return Err(Refused);
            }
            let mut taken = self.taken.lock().unwrap();
            taken.extend(events.iter().map(|e| e.id));
            Ok(())
        }
    }

    /// A store holding `events` events of one account (ids 1, 2, …).
    async fn store_with(events: usize) -> Arc<MemoryStore> {
        let store = Arc::new(MemoryStore::new());
        append(&store, events).await;
        store
    }

    async fn append(store: &MemoryStore, events: usize) {
        let account = AccountId::new("0123-456789").unwrap();
        let encoded: Vec<Vec<u8>> = (0..events)
            .map(|i| {
                AuditEvent::new(
                    account.clone(),
                    1_764_000_000 + i as u64,
                    AuditKind::Stopped,
                )
                .encode()
            })
            .collect();
        store.append_events(&account, &encoded).await.unwrap();
    }

    async fn pending(store: &MemoryStore) -> Vec<u64> {
        store
            .pending_events(1000)
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect()
    }

    /// A fake timer: every pause is recorded and ends at once; the shutdown signal comes
    /// once `stop_after` pauses were taken (checked before each pause ends, as a signal
    /// during that pause would be).
    #[derive(Clone, Default)]
    struct FakeTimer {
        pauses: Arc<Mutex<Vec<DeliveryPause>>>,
    }

    impl FakeTimer {
        fn sleep(&self) -> impl FnMut(DeliveryPause) -> core::future::Ready<()> + use<> {
            let pauses = Arc::clone(&self.pauses);
            move |pause| {
                pauses.lock().unwrap().push(pause);
                core::future::ready(())
            }
        }

        fn shutdown_after(&self, stop_after: usize) -> impl Future<Output = ()> + use<> {
            let pauses = Arc::clone(&self.pauses);
            poll_fn(move |_| {
                if pauses.lock().unwrap().len() >= stop_after {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
        }

        fn pauses(&self) -> Vec<DeliveryPause> {
            self.pauses.lock().unwrap().clone()
        }
    }

    const IDLE: DeliveryPause = DeliveryPause::Idle(Outbox::<MemoryStore>::DEFAULT_INTERVAL);

    fn backoff(seconds: u64, failures: u32) -> DeliveryPause {
        DeliveryPause::Backoff {
            wait: Duration::from_secs(seconds),
            failures,
        }
    }

    #[tokio::test]
    async fn the_loop_delivers_everything_then_waits_the_interval() {
        let store = store_with(10).await;
        let sink = Sink::default();
        let timer = FakeTimer::default();
        let mut errors = Vec::new();
        let summary = Outbox::new(Arc::clone(&store))
            .with_batch(3)
            .run(
                &sink,
                timer.sleep(),
                timer.shutdown_after(2),
                |e: &OutboxError| errors.push(e.to_string()),
            )
            .await;
        assert_eq!(
            sink.taken(),
            (1..=10).collect::<Vec<u64>>(),
            "all, in order"
        );
        assert!(pending(&store).await.is_empty());
        assert_eq!(timer.pauses(), [IDLE, IDLE], "idle pauses between passes");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(summary.delivered, 10);
        assert_eq!((summary.passes, summary.failed_passes), (3, 0));
        assert!(!summary.last_pass_failed);
    }

    #[tokio::test]
    async fn the_loop_backs_off_exponentially_and_bounded_after_failures_then_recovers() {
        let store = store_with(2).await;
        // Delivery calls 1 to 7 fail: seven failed passes; the 8th delivers.
        let sink = Sink::refusing(&[1, 2, 3, 4, 5, 6, 7]);
        let timer = FakeTimer::default();
        let mut errors = Vec::new();
        let summary = Outbox::new(Arc::clone(&store))
            .with_backoff(Duration::from_secs(1), Duration::from_secs(20))
            .run(
                &sink,
                timer.sleep(),
                timer.shutdown_after(9),
                |e: &OutboxError| errors.push(e.to_string()),
            )
            .await;
        assert_eq!(
            timer.pauses(),
            [
                backoff(1, 1),
                backoff(2, 2),
                backoff(4, 3),
                backoff(8, 4),
                backoff(16, 5),
                backoff(20, 6),
                backoff(20, 7),
                IDLE,
                IDLE,
            ],
            "doubling from the first retry, bounded, and the interval again once delivered"
        );
        assert_eq!(errors.len(), 7, "each failed pass reported: {errors:?}");
        assert!(
            errors
                .iter()
                .all(|e| e.contains("the sink refused the batch"))
        );
        assert_eq!(sink.taken(), [1, 2]);
        assert!(pending(&store).await.is_empty());
        assert_eq!(
            (summary.passes, summary.failed_passes, summary.delivered),
            (10, 7, 2)
        );
    }

    #[tokio::test]
    async fn the_loop_never_removes_an_event_the_sink_refused() {
        let store = store_with(5).await;
        let sink = Sink::refusing(&[2, 3, 4, 5, 6]);
        let timer = FakeTimer::default();
        let summary = Outbox::new(Arc::clone(&store))
            .with_batch(2)
            .run(
                &sink,
                timer.sleep(),
                timer.shutdown_after(4),
                |_: &OutboxError| {},
            )
            .await;
        // The first batch (1, 2) went through; the second was refused on every pass.
        assert_eq!(sink.taken(), [1, 2]);
        assert_eq!(
            pending(&store).await,
            [3, 4, 5],
            "refused events stay, in order"
        );
        assert_eq!(summary.delivered, 2);
        assert!(summary.last_pass_failed, "the last pass failed too");
        assert_eq!(summary.failed_passes, 5);
    }

    #[tokio::test]
    async fn the_loop_stops_on_shutdown_after_one_last_delivery() {
        let store = store_with(1).await;
        let sink = Sink::default();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let outbox = Outbox::new(Arc::clone(&store)).with_interval(Duration::from_secs(3600));
        // A timer that never ends an idle pause by itself: only the signal does.
        let run = outbox.run(
            &sink,
            |_| core::future::pending::<()>(),
            async {
                let _ = stopped.await;
            },
            |_: &OutboxError| {},
        );
        let mut run = pin!(run);
        // The first pass delivers, then the loop waits.
        assert!(futures_poll_once(run.as_mut()).await.is_none());
        assert_eq!(sink.taken(), [1]);
        // Events written while it waits, then the signal: one last pass takes them.
        append(&store, 2).await;
        stop.send(()).unwrap();
        let summary = run.await;
        assert_eq!(sink.taken(), [1, 2, 3]);
        assert!(pending(&store).await.is_empty());
        assert_eq!((summary.passes, summary.delivered), (2, 3));
        assert!(!summary.last_pass_failed);
    }

    /// Polls `future` once: its output if it completed.
    async fn futures_poll_once<F: Future + Unpin>(mut future: F) -> Option<F::Output> {
        poll_fn(|cx| {
            Poll::Ready(match core::pin::Pin::new(&mut future).poll(cx) {
                Poll::Ready(output) => Some(output),
                Poll::Pending => None,
            })
        })
        .await
    }

    #[test]
    fn a_backoff_pause_is_never_longer_than_the_longest_retry() {
        let outbox = Outbox::new(MemoryStore::new())
            .with_backoff(Duration::from_secs(3), Duration::from_secs(30));
        assert_eq!(outbox.pause(0), IDLE);
        assert_eq!(outbox.pause(1).duration(), Duration::from_secs(3));
        assert_eq!(outbox.pause(4).duration(), Duration::from_secs(24));
        for failures in [5, 31, 32, 64, u32::MAX] {
            let pause = outbox.pause(failures);
            assert!(pause.is_backoff());
            assert_eq!(pause.duration(), Duration::from_secs(30), "{failures}");
        }
    }
}
