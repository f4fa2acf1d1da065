//! What the registration-info screen shows of an enrollment at a given time: [`Status`]
//! and [`Access`].

use crate::error::Refusal;
use crate::lifecycle::enrollment::{Enrollment, RecordStatus};

/// What the registration-info screen shows.
///
/// With the `serde` feature: externally tagged, snake_case (`"not_registered"`,
/// `{"active": {"since": 1764000000, "access": "open"}}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Status {
    /// 未登録: never enrolled, stopped, reset, or a pending enrollment that expired.
    NotRegistered,
    /// Enrollment started; the first code from the app is awaited until `expires_at`.
    Pending {
        /// When the pending enrollment lapses (Unix seconds).
        expires_at: u64,
        /// Whether confirmation attempts are currently allowed.
        access: Access,
    },
    /// 利用中: codes are required at login.
    Active {
        /// When enrollment was confirmed (Unix seconds).
        since: u64,
        /// Whether verification is currently allowed.
        access: Access,
    },
}

/// Whether codes are currently checked.
///
/// With the `serde` feature: `"open"`, `{"throttled": {"until": 1764000090}}`, `"locked"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Access {
    /// Codes are checked.
    Open,
    /// No code is checked before `until` (Unix seconds) after repeated failures.
    Throttled {
        /// When attempts are allowed again.
        until: u64,
    },
    /// Locked after too many failures; only an administrative reset unlocks.
    Locked,
}

impl Enrollment {
    /// The record as seen at `now`: a lapsed pending enrollment reads as not registered.
    pub fn status_at(&self, now: u64) -> Status {
        let access = match self.throttle.gate(now) {
            Ok(()) => Access::Open,
            Err(Refusal::Throttled { until }) => Access::Throttled { until },
            Err(_) => Access::Locked,
        };
        match &self.status {
            RecordStatus::NotRegistered => Status::NotRegistered,
            RecordStatus::Pending { expires_at, .. } if now >= *expires_at => Status::NotRegistered,
            RecordStatus::Pending { expires_at, .. } => Status::Pending {
                expires_at: *expires_at,
                access,
            },
            RecordStatus::Active { since, .. } => Status::Active {
                since: *since,
                access,
            },
        }
    }

    /// Whether the record holds a pending enrollment that lapsed at or before `now`.
    pub fn is_expired_pending(&self, now: u64) -> bool {
        matches!(&self.status, RecordStatus::Pending { expires_at, .. } if now >= *expires_at)
    }

    /// When a pending enrollment lapses.
    pub(crate) fn pending_expiry(&self) -> Option<u64> {
        match &self.status {
            RecordStatus::Pending { expires_at, .. } => Some(*expires_at),
            _ => None,
        }
    }
}
