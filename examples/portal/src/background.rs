//! The portal's work beside the requests, started by `main.rs` with [`Background::spawn`]
//! and stopped after the server's graceful shutdown with [`Background::stop`]:
//!
//! * the audit delivery: the library's loop, [`Outbox::run`](totp_enroll::Outbox::run),
//!   every 500 ms and right after each request (the middleware wakes it); after a failure
//!   it retries with a doubling pause (1 s up to 30 s), the events staying in the outbox,
//!   and a request does not hurry it. Its last pass runs at stop.
//! * the sweep of lapsed applications ([`Engine::sweep_expired`](totp_enroll::Engine)),
//!   at start and then hourly.
//! * the key ring reload on SIGHUP ([`reload_keys`]), when the ring comes from the key
//!   file.
//!
//! Tests call the steps directly instead of waiting for the loops.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use totp_enroll::engine::DeliveryPause;

use crate::app::{PortalEngine, SharedState};
use crate::config::{self, ConfigError};
use crate::notify::AuditTrail;

/// The delivery's pause between passes when nothing wakes it.
pub const DELIVERY_INTERVAL: Duration = Duration::from_millis(500);
/// The pause after a first failed delivery (doubled after each further one).
pub const FIRST_RETRY_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause between retries after failed deliveries.
pub const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);
/// How often lapsed applications are swept.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// The running background tasks.
#[derive(Debug)]
pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    /// Starts the delivery, the sweep and the SIGHUP reload of `key_file` (`None`: the ring
    /// came from the environment, which a running process cannot read again). Call it
    /// inside the runtime; the SIGHUP handler is in place when it returns.
    pub fn spawn(state: &SharedState, key_file: Option<PathBuf>) -> Self {
        let (stop, stopping) = watch::channel(false);
        let mut tasks = vec![
            tokio::spawn(deliver_loop(state.audit.clone(), stopping.clone())),
            tokio::spawn(sweep_loop(state.clone(), stopping.clone())),
        ];
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(hangup) => tasks.push(tokio::spawn(reload_on_hangup(
                state.clone(),
                key_file,
                hangup,
                stopping,
            ))),
            Err(error) => {
                tracing::warn!(%error, "no SIGHUP handler: the key ring is read only at start");
            }
        }
        Self { stop, tasks }
    }

    /// Stops the tasks, after one last delivery pass, and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "a background task failed");
            }
        }
    }
}

/// Resolves once [`Background::stop`] was called (or the handle dropped).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

async fn deliver_loop(audit: Arc<AuditTrail>, mut stopping: watch::Receiver<bool>) {
    let outbox = audit
        .outbox()
        .clone()
        .with_interval(DELIVERY_INTERVAL)
        .with_backoff(FIRST_RETRY_PAUSE, MAX_RETRY_PAUSE);
    let summary = outbox
        .run(
            audit.delivery(),
            |pause| pause_or_wake(&audit, pause),
            stopped(&mut stopping),
            |error| {
                tracing::error!(%error, "audit delivery failed; the events stay and are retried")
            },
        )
        .await;
    if summary.last_pass_failed {
        tracing::warn!("audit events left in the outbox at stop: delivered after the next start");
    }
}

/// The delivery's pause: an idle one ends early when a request wakes it; after a failure
/// only the pause ends the wait (requests do not hurry retries).
async fn pause_or_wake(audit: &AuditTrail, pause: DeliveryPause) {
    if pause.is_backoff() {
        tokio::time::sleep(pause.duration()).await;
        return;
    }
    tokio::select! {
        () = audit.woken() => {}
        () = tokio::time::sleep(pause.duration()) => {}
    }
}

async fn sweep_loop(state: SharedState, mut stopping: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(SWEEP_INTERVAL);
    every.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = stopped(&mut stopping) => return,
        }
        // Cancelled by a stop mid-way: each row is its own conditional write.
        let swept = tokio::select! {
            swept = state.engine.sweep_expired() => swept,
            () = stopped(&mut stopping) => return,
        };
        match swept {
            Ok(report) if report.erased > 0 => {
                let (erased, rows) = (report.erased, report.rows);
                tracing::info!(erased, rows, "lapsed applications erased");
            }
            Ok(report) => tracing::debug!(rows = report.rows, "no lapsed application"),
            Err(error) => tracing::error!(%error, "sweep failed; the next one in an hour"),
        }
        state.audit.wake();
    }
}

async fn reload_on_hangup(
    state: SharedState,
    key_file: Option<PathBuf>,
    mut hangup: tokio::signal::unix::Signal,
    mut stopping: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            received = hangup.recv() => if received.is_none() { return },
            () = stopped(&mut stopping) => return,
        }
        let Some(path) = &key_file else {
            tracing::warn!(
                "SIGHUP: keys from TOTP_PORTAL_KEYS are read only at start; restart to change them"
            );
            continue;
        };
        match reload_keys(&state.engine, path).await {
            Ok(ring) => {
                // The desk's engine seals under the same ring.
                state
                    .desk_engine
                    .set_keys(state.engine.keys().as_ref().clone());
                tracing::info!(
                current = ring.current,
                key_ids = ?ring.key_ids,
                "sealing key ring reloaded"
                )
            }
            Err(error) => {
                tracing::error!(%error, "sealing key ring NOT reloaded; the old one stays")
            }
        }
    }
}

/// Why a reload left the engine's key ring as it was.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The key file is missing, unreadable, readable by others or malformed (the message
    /// holds no key material).
    #[error(transparent)]
    Read(#[from] ConfigError),
    /// Which keys the stored records need could not be read.
    #[error("checking which keys the records need: {0}")]
    Usage(#[from] totp_enroll::error::EngineError),
    /// The new ring lacks keys in use: records sealed or signed under them, or the
    /// current key, under which requests may be sealing right now.
    #[error("the new key ring lacks key ids {missing:?}, still in use (keep them as retired keys)")]
    MissingKeys {
        /// The ids in use that the new ring lacks.
        missing: Vec<u32>,
    },
}

/// The ids of a ring put in use (never the keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadedRing {
    /// The id new seals use.
    pub current: u32,
    /// Every key id of the ring, ascending.
    pub key_ids: Vec<u32>,
}

/// Reads the key file at `path` again and puts its ring in use with
/// [`Engine::set_keys`](totp_enroll::Engine::set_keys), unless it lacks a key still in use
/// ([`ReloadError::MissingKeys`]): one a stored record is sealed or signed under
/// ([`Engine::key_usage`](totp_enroll::Engine::key_usage)), or the engine's current key
/// (a request may be sealing under it while this runs). On any error the engine keeps
/// its ring.
pub async fn reload_keys(engine: &PortalEngine, path: &Path) -> Result<ReloadedRing, ReloadError> {
    let ring = config::read_key_file(path)?;
    let held = ring.key_ids();
    let usage = engine.key_usage().await?;
    let in_use: BTreeSet<u32> = usage
        .sealed_under
        .keys()
        .chain(usage.signed_under.keys())
        .copied()
        .chain([engine.keys().current_key_id()])
        .collect();
    let missing: Vec<u32> = in_use.into_iter().filter(|id| !held.contains(id)).collect();
    if !missing.is_empty() {
        return Err(ReloadError::MissingKeys { missing });
    }
    let reloaded = ReloadedRing {
        current: ring.current_key_id(),
        key_ids: held,
    };
    engine.set_keys(ring);
    Ok(reloaded)
}
