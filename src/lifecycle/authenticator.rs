//! [`Authenticator`]: one app (on one device) of an active enrollment, with its own sealed
//! secret, code parameters, replay floor and clock drift.
//!
//! An active enrollment holds 1 to [`Authenticator::MAX_PER_ACCOUNT`] of them. The first is
//! the app the customer enrolled; later ones are added with their own secret
//! ([`Engine::add_authenticator`](crate::Engine::add_authenticator)) and stay pending,
//! unable to log in, until confirmed with their own first code.

use crate::keys::SealedSecret;
use crate::otp::policy::OtpParams;
use crate::otp::{step_at, step_offset, steps_in};

/// One authenticator of an active enrollment. Holds no plaintext secret; `Debug` shows
/// only the sealed secret's key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticator {
    pub(crate) id: u8,
    pub(crate) name: String,
    pub(crate) secret: SealedSecret,
    pub(crate) params: OtpParams,
    pub(crate) label: String,
    pub(crate) created_at: u64,
    pub(crate) last_used_at: Option<u64>,
    pub(crate) last_used_step: u64,
    pub(crate) drift: i32,
    pub(crate) pending_until: Option<u64>,
}

impl Authenticator {
    /// The most authenticators an account may have.
    pub const MAX_PER_ACCOUNT: usize = 5;
    /// Longest name, in UTF-8 bytes.
    pub const MAX_NAME_BYTES: usize = crate::account::names::MAX_AUTHENTICATOR_NAME_BYTES;

    /// Its id, unique within the account (1 for the app enrolled first).
    pub fn id(&self) -> u8 {
        self.id
    }

    /// The name the customer gave it (e.g. `iPad`); empty for the app enrolled first
    /// unless renamed.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The account name its app shows (the key URI's label).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Its sealed secret (key id, nonce, ciphertext; never plaintext).
    pub fn sealed_secret(&self) -> &SealedSecret {
        &self.secret
    }

    /// Its code parameters.
    pub fn params(&self) -> &OtpParams {
        &self.params
    }

    /// When it was added (Unix seconds; for the first, when the enrollment was confirmed).
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// When a code of it was last accepted (Unix seconds); `None` while pending, or for a
    /// row written before record format 3.
    pub fn last_used_at(&self) -> Option<u64> {
        self.last_used_at
    }

    /// Its replay floor: the last accepted step (`None` while pending). Only later steps
    /// of this authenticator can be accepted.
    pub fn last_used_step(&self) -> Option<u64> {
        self.pending_until.is_none().then_some(self.last_used_step)
    }

    /// Whole steps its clock was found off (positive: ahead).
    pub fn drift(&self) -> i32 {
        self.drift
    }

    /// Until when it may be confirmed, while it awaits its first code.
    pub fn pending_until(&self) -> Option<u64> {
        self.pending_until
    }

    /// Whether it awaits its first code (and cannot log in).
    pub fn is_pending(&self) -> bool {
        self.pending_until.is_some()
    }

    /// The drift an accepted code of `step` shows at `now` (RFC 6238 §6): its offset in
    /// whole steps from the current step, bounded by `drift_limit` seconds, or by the
    /// current drift's size when a resync set it further (a login never moves the window
    /// further out than it is).
    pub(crate) fn drift_after(&self, step: u64, now: u64, drift_limit: u64) -> i32 {
        let period = self.params.period();
        let offset = step_offset(step, step_at(now, period));
        let limit =
            i128::from(steps_in(drift_limit, period)).max(i128::from(self.drift.unsigned_abs()));
        i32::try_from(offset.clamp(limit.saturating_neg(), limit)).unwrap_or(0)
    }

    /// The time its verification window is centred on at `now`: `now` shifted by its
    /// drift (saturating at the ends of time). Which steps are eligible is still decided by
    /// the absolute replay floor: a shift never re-admits a used code.
    pub(crate) fn window_centre(&self, now: u64) -> u64 {
        let shift = i128::from(self.drift).saturating_mul(i128::from(self.params.period()));
        let centre = i128::from(now).saturating_add(shift).max(0);
        u64::try_from(centre).unwrap_or(u64::MAX)
    }

    /// Records an accepted code of `step` at `now`: the new replay floor, the time, the
    /// tracked drift; a pending authenticator becomes active.
    pub(crate) fn use_step(&mut self, step: u64, now: u64, drift_limit: u64) {
        self.drift = self.drift_after(step, now, drift_limit);
        self.last_used_step = step;
        self.last_used_at = Some(now);
        self.pending_until = None;
    }
}
