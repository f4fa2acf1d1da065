//! [`Clock`]: where the current time comes from. The only place that reads the system clock.

use core::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::ClockError;

/// A source of the current time in whole seconds since the Unix epoch.
///
/// The pure core ([`Totp`](crate::otp::Totp), the verifier, enrollment transitions) takes the time
/// as an argument; only the engine asks a `Clock`, so tests can inject one.
pub trait Clock: Send + Sync {
    /// Seconds since 1970-01-01T00:00:00Z, or an error if the clock reads before it.
    fn now(&self) -> Result<u64, ClockError>;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Result<u64, ClockError> {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .map_err(|_| ClockError::BeforeUnixEpoch)
    }
}

/// A clock that reads what it was set to, for tests and simulations. It may be set before
/// 1970 (a negative value) to exercise [`ClockError::BeforeUnixEpoch`].
#[derive(Debug, Default)]
pub struct ManualClock {
    seconds: AtomicI64,
}

impl ManualClock {
    /// A clock reading `unix_seconds`.
    pub fn new(unix_seconds: i64) -> Self {
        Self {
            seconds: AtomicI64::new(unix_seconds),
        }
    }

    /// Sets the time.
    pub fn set(&self, unix_seconds: i64) {
        self.seconds.store(unix_seconds, Ordering::SeqCst);
    }

    /// Moves the time by `seconds` (negative goes back), saturating at the `i64` range.
    pub fn advance(&self, seconds: i64) {
        let mut current = self.seconds.load(Ordering::SeqCst);
        loop {
            let next = current.saturating_add(seconds);
            match self
                .seconds
                .compare_exchange(current, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return,
                Err(seen) => current = seen,
            }
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Result<u64, ClockError> {
        u64::try_from(self.seconds.load(Ordering::SeqCst)).map_err(|_| ClockError::BeforeUnixEpoch)
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> Result<u64, ClockError> {
        (**self).now()
    }
}
