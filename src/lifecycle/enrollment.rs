//! [`Enrollment`]: what a store keeps per account, a pure value: its lifecycle state
//! ([`RecordStatus`], with the authenticators of an active one), its recovery codes'
//! hashes and its failure counter. The transitions are in `transitions.rs`, the stored
//! byte form and its MAC in `codec.rs`.

use crate::keys::{RECORD_TAG_BYTES, SealedSecret};
use crate::lifecycle::authenticator::Authenticator;
use crate::lifecycle::throttle::ThrottleState;
use crate::otp::policy::OtpParams;

/// The enrollment's lifecycle state: 未登録 → pending → 利用中 → 未登録.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordStatus {
    /// 未登録: no secret is held.
    NotRegistered,
    /// Started, waiting for the first code from the app; expires at `expires_at`.
    Pending {
        /// The sealed new secret.
        secret: SealedSecret,
        /// Its code parameters.
        params: OtpParams,
        /// The account label shown in the app.
        label: String,
        /// When enrollment began.
        started_at: u64,
        /// When the pending enrollment lapses.
        expires_at: u64,
    },
    /// 利用中: confirmed; codes are required at login.
    Active {
        /// When the enrollment was confirmed.
        since: u64,
        /// Its authenticators, in increasing id order: at least one confirmed, at most
        /// one pending, at most [`Authenticator::MAX_PER_ACCOUNT`].
        authenticators: Vec<Authenticator>,
    },
}

/// How a record is authenticated (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Integrity {
    /// Format 4 without a tag: built in memory and not (yet) written by an engine. An
    /// engine never accepts it from a store.
    Unsigned,
    /// Decoded from a format-2 row without a tag (written by hand): kept as format 2, so
    /// that it encodes to the same bytes; an engine never accepts it either.
    UnsignedV2,
    /// Decoded from a format-3 row without a tag (written by hand): kept as format 3, as
    /// format 2 is.
    UnsignedV3,
    /// Decoded from a format-1 row, which has no tag.
    Legacy,
    /// Format 2, 3 or 4 (`format`) with its HMAC-SHA-256 tag under ring key `key_id`.
    Mac {
        key_id: u32,
        tag: [u8; RECORD_TAG_BYTES],
        format: u8,
    },
}

/// Length of a recovery code's keyed hash (HMAC-SHA-256).
pub(crate) const RECOVERY_HASH_BYTES: usize = 32;

/// The keyed hashes of an active enrollment's unused recovery codes (see
/// [`RecoveryCodes`](crate::RecoveryCodes)), under ring key `key_id`.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct RecoveryHashes {
    pub(crate) key_id: u32,
    pub(crate) issued_at: u64,
    pub(crate) hashes: Vec<[u8; RECOVERY_HASH_BYTES]>,
}

impl core::fmt::Debug for RecoveryHashes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RecoveryHashes")
            .field("key_id", &self.key_id)
            .field("issued_at", &self.issued_at)
            .field("remaining", &self.hashes.len())
            .finish()
    }
}

/// One account's enrollment, a pure value: its lifecycle state (with the authenticators of
/// an active one), its recovery codes' hashes and its failure counter. Its transitions
/// (`src/enrollment.rs`) take plain data and the time and do no I/O; the engine stores it
/// in its byte form ([`Enrollment::encode`], see the module documentation), with a MAC
/// over all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    pub(crate) status: RecordStatus,
    pub(crate) throttle: ThrottleState,
    /// The unused recovery codes of an active enrollment; empty otherwise.
    pub(crate) recovery: RecoveryHashes,
    pub(crate) integrity: Integrity,
}

impl Enrollment {
    /// The record of an account that never enrolled, or stopped, or was reset.
    pub fn not_registered() -> Self {
        Self {
            status: RecordStatus::NotRegistered,
            throttle: ThrottleState::default(),
            recovery: RecoveryHashes::default(),
            integrity: Integrity::Unsigned,
        }
    }

    /// How many unused recovery codes the enrollment holds.
    pub fn recovery_codes_remaining(&self) -> usize {
        self.recovery.hashes.len()
    }

    /// The authenticators of an active enrollment (empty otherwise).
    pub fn authenticators(&self) -> &[Authenticator] {
        match &self.status {
            RecordStatus::Active { authenticators, .. } => authenticators,
            _ => &[],
        }
    }

    /// The authenticator `id` of an active enrollment.
    pub fn authenticator(&self, id: u8) -> Option<&Authenticator> {
        self.authenticators().iter().find(|a| a.id == id)
    }

    /// Every sealed secret the record holds: the pending enrollment's, or each
    /// authenticator's.
    pub(crate) fn secrets(&self) -> impl Iterator<Item = &SealedSecret> {
        let pending = match &self.status {
            RecordStatus::Pending { secret, .. } => Some(secret),
            _ => None,
        };
        pending
            .into_iter()
            .chain(self.authenticators().iter().map(|a| &a.secret))
    }

    /// [`Enrollment::secrets`], to re-seal them.
    pub(crate) fn secrets_mut(&mut self) -> impl Iterator<Item = &mut SealedSecret> {
        let (pending, list): (Option<&mut SealedSecret>, &mut [Authenticator]) = match &mut self
            .status
        {
            RecordStatus::Pending { secret, .. } => (Some(secret), &mut []),
            RecordStatus::Active { authenticators, .. } => (None, authenticators.as_mut_slice()),
            RecordStatus::NotRegistered => (None, &mut []),
        };
        pending
            .into_iter()
            .chain(list.iter_mut().map(|a| &mut a.secret))
    }

    /// The id of the ring key whose MAC key authenticated this record, if it has a MAC.
    pub fn mac_key_id(&self) -> Option<u32> {
        match self.integrity {
            Integrity::Mac { key_id, .. } => Some(key_id),
            Integrity::Unsigned
            | Integrity::UnsignedV2
            | Integrity::UnsignedV3
            | Integrity::Legacy => None,
        }
    }

    /// The lifecycle state.
    pub fn status(&self) -> &RecordStatus {
        &self.status
    }

    /// The failure counter.
    pub fn throttle(&self) -> &ThrottleState {
        &self.throttle
    }

    /// The last accepted step of an active enrollment's first confirmed authenticator.
    pub fn last_used_step(&self) -> Option<u64> {
        self.authenticators()
            .iter()
            .find_map(Authenticator::last_used_step)
    }

    /// The sealed secret, parameters and label of a pending enrollment.
    pub(crate) fn pending_material(&self) -> Option<(&SealedSecret, &OtpParams, &str)> {
        match &self.status {
            RecordStatus::Pending {
                secret,
                params,
                label,
                ..
            } => Some((secret, params, label)),
            _ => None,
        }
    }
}
