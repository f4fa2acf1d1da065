//! The `outcome` label each successful engine call's span gets, by the type of its answer
//! (see `trace.rs`).
#![cfg(feature = "tracing")]

use crate::engine::trace::Outcome;

impl Outcome for () {
    fn outcome(&self, operation: &'static str) -> &'static str {
        match operation {
            "confirm" => "confirmed",
            "stop" => "stopped",
            "desk_reset" => "reset",
            "desk_forget" => "forgotten",
            "desk_unlock" => "unlocked",
            "confirm_authenticator" => "authenticator_confirmed",
            "remove_authenticator" | "desk_remove_authenticator" => "authenticator_removed",
            _ => "ok",
        }
    }
}

impl Outcome for crate::provision::provisioning::Provisioning {
    fn outcome(&self, operation: &'static str) -> &'static str {
        match operation {
            "begin" => "started",
            "redisplay" => "redisplayed",
            "pending_provisioning" => "shown_again",
            _ => "ok",
        }
    }
}

impl Outcome for crate::engine::NewAuthenticator {
    fn outcome(&self, _operation: &'static str) -> &'static str {
        "authenticator_added"
    }
}

impl Outcome for crate::engine::AccountOverview {
    fn outcome(&self, _operation: &'static str) -> &'static str {
        "overview"
    }
}

impl Outcome for crate::engine::Diagnosis {
    fn outcome(&self, _operation: &'static str) -> &'static str {
        match self {
            Self::Matches { .. } => "diagnosed.matches",
            Self::NoMatch { .. } => "diagnosed.no_match",
        }
    }
}

impl Outcome for crate::engine::Resynced {
    fn outcome(&self, _operation: &'static str) -> &'static str {
        "resynced"
    }
}

impl Outcome for crate::lifecycle::recovery_code::RecoveryCodes {
    fn outcome(&self, _operation: &'static str) -> &'static str {
        "recovery_codes_issued"
    }
}

impl Outcome for crate::engine::Login {
    fn outcome(&self, _operation: &'static str) -> &'static str {
        match self {
            Self::Verified(_) => "verified",
            Self::NotRequired => "not_required",
            Self::RecoveryCode { .. } => "recovered",
        }
    }
}

impl Outcome for crate::lifecycle::status::Status {
    fn outcome(&self, _operation: &'static str) -> &'static str {
        use crate::lifecycle::status::{Access, Status};
        match self {
            Status::NotRegistered => "not_registered",
            Status::Pending {
                access: Access::Open,
                ..
            } => "pending",
            Status::Pending {
                access: Access::Throttled { .. },
                ..
            } => "pending.throttled",
            Status::Pending {
                access: Access::Locked,
                ..
            } => "pending.locked",
            Status::Active {
                access: Access::Open,
                ..
            } => "active",
            Status::Active {
                access: Access::Throttled { .. },
                ..
            } => "active.throttled",
            Status::Active {
                access: Access::Locked,
                ..
            } => "active.locked",
        }
    }
}
