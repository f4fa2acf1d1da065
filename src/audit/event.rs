//! [`AuditEvent`]: what happened ([`AuditKind`]), to which account, when, in which request;
//! and [`Operation`], the screen an event belongs to.

use crate::account::{AccountId, Operator};
use crate::audit::context::RequestContext;
use crate::error::Refusal;

/// Which engine call a verdict belongs to.
///
/// With the `serde` feature: `"begin"`, `"confirm"`, `"login"`, `"redisplay"`, `"stop"`,
/// `"recovery_login"`, `"issue_recovery_codes"`, `"resync"`, `"diagnose"`,
/// `"add_authenticator"`, `"confirm_authenticator"` or `"remove_authenticator"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Operation {
    /// 申込: beginning an enrollment (refused only while locked).
    Begin,
    /// 確認: confirming a new enrollment with the app's first code.
    Confirm,
    /// Login with ID, password and code.
    Login,
    /// コード再表示: re-displaying the setup key for another device.
    Redisplay,
    /// 利用停止: stopping the service.
    Stop,
    /// Login with ID, password and a recovery code instead of the app's code.
    RecoveryLogin,
    /// Issuing (or regenerating) the recovery codes.
    IssueRecoveryCodes,
    /// Re-synchronising an authenticator's clock from two consecutive codes.
    Resync,
    /// The support desk's diagnosis of a code read out over the phone.
    Diagnose,
    /// Adding an authenticator with its own secret (after a code of an existing one).
    AddAuthenticator,
    /// Confirming an added authenticator with its own first code.
    ConfirmAuthenticator,
    /// Removing one authenticator (after a code of another one).
    RemoveAuthenticator,
}

/// What happened.
///
/// With the `serde` feature: internally tagged by `kind`, snake_case, e.g.
/// `{"kind": "login_accepted", "step": 58800001, "drift": 0}`; in an [`AuditEvent`] these
/// fields sit beside `account` and `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
#[non_exhaustive]
pub enum AuditKind {
    /// Enrollment began (申込) after a step-up; pending until `expires_at`.
    EnrollmentStarted {
        /// When the pending enrollment lapses.
        expires_at: u64,
        /// Whether an earlier pending enrollment was replaced.
        replaced_pending: bool,
    },
    /// A begin was refused because the step-up proof was missing, stale or for another account.
    StepUpRefused,
    /// The registration screen of a pending enrollment was shown again (a reload, another
    /// instance of the portal: [`Engine::pending_provisioning`](crate::Engine::pending_provisioning)).
    EnrollmentShownAgain {
        /// When the pending enrollment lapses.
        expires_at: u64,
    },
    /// Enrollment confirmed (受付); the service is in use.
    EnrollmentConfirmed {
        /// The consumed step of the confirmation code.
        step: u64,
    },
    /// A pending enrollment lapsed and its secret was erased.
    EnrollmentExpired,
    /// A login code was accepted.
    LoginAccepted {
        /// The consumed step.
        step: u64,
        /// Its distance in steps from the centre of the window (the current step, shifted
        /// by the authenticator's recorded drift).
        drift: i8,
        /// The authenticator whose code it was.
        authenticator: u8,
    },
    /// A code was refused (wrong, malformed, replayed, throttled or locked).
    Refused {
        /// The call it was submitted to.
        operation: Operation,
        /// Why.
        refusal: Refusal,
        /// Consecutive failures after this attempt.
        failures: u32,
    },
    /// This failure locked the enrollment.
    Locked {
        /// Consecutive failures that caused the lock.
        failures: u32,
    },
    /// The setup key was shown again for another device.
    Redisplayed,
    /// A re-display was asked for while the policy forbids it; nothing was shown and no
    /// code was checked.
    RedisplayDisabled,
    /// The service was stopped (利用停止); the secret was erased.
    Stopped,
    /// A new set of recovery codes was issued (shown once); any earlier unused codes no
    /// longer work.
    RecoveryCodesIssued {
        /// How many codes the new set has.
        count: u8,
        /// How many unused codes of the earlier set were discarded.
        discarded: u8,
    },
    /// A recovery code was accepted and can never be used again: at login
    /// ([`Operation::RecoveryLogin`]) or to stop the service of a lost phone
    /// ([`Operation::Stop`], followed by [`AuditKind::Stopped`]).
    RecoveryCodeUsed {
        /// Unused codes left.
        remaining: u8,
        /// What it was used for.
        operation: Operation,
    },
    /// Few recovery codes are left (at most
    /// [`EnginePolicy::with_recovery_low_mark`](crate::EnginePolicy::with_recovery_low_mark)):
    /// the customer should issue a new set.
    RecoveryCodesLow {
        /// Unused codes left.
        remaining: u8,
    },
    /// An authenticator with its own secret was added, pending until confirmed with its
    /// own first code (an earlier pending one was replaced).
    AuthenticatorAdded {
        /// Its id.
        id: u8,
        /// The name the customer gave it.
        name: String,
    },
    /// An added authenticator was confirmed with its first code: it can log in.
    AuthenticatorConfirmed {
        /// Its id.
        id: u8,
    },
    /// One authenticator was removed; the others keep working.
    AuthenticatorRemoved {
        /// Its id.
        id: u8,
        /// The support-desk operator who removed it; `None` when the customer did (with a
        /// code of another authenticator).
        operator: Option<Operator>,
    },
    /// The authenticator's clock offset was set from two consecutive codes.
    Resynced {
        /// The recorded offset, in whole steps (positive: the authenticator is ahead).
        drift: i32,
        /// The support-desk operator who did it; `None` when the customer did (after a
        /// step-up).
        operator: Option<Operator>,
    },
    /// A support-desk operator diagnosed a code the customer read out: nothing was
    /// accepted or consumed, and the attempt counted as a failure.
    Diagnosed {
        /// Who diagnosed it.
        operator: Operator,
        /// The code's step relative to now, in whole steps; `None` when it matched no step
        /// of the searched window.
        offset: Option<i64>,
        /// Consecutive failures after this attempt.
        failures: u32,
    },
    /// A support-desk operator cleared the failure counter, lock and backoff after
    /// re-proofing the customer's identity; the secret and recovery codes were kept.
    Unlocked {
        /// Who unlocked it.
        operator: Operator,
        /// Why, as the operator recorded it.
        reason: String,
    },
    /// A support-desk operator reset the enrollment; the secret and counters were erased.
    AdministrativelyReset {
        /// Who reset it.
        operator: Operator,
        /// Why, as the operator recorded it.
        reason: String,
    },
    /// The account's row was erased for a data-protection request; a tombstone keeps only
    /// the account id and version.
    Forgotten {
        /// Who erased it.
        operator: Operator,
        /// Why, as the operator recorded it.
        reason: String,
    },
}

impl AuditKind {
    /// The event's stable name, snake_case: the `kind` of its serde form, for a log field,
    /// a database column or a filter (`"enrollment_started"`, `"login_accepted"`,
    /// `"refused"`, …). A name never changes once released; new kinds get new names.
    ///
    /// ```
    /// use totp_enroll::AuditKind;
    /// assert_eq!(AuditKind::Stopped.name(), "stopped");
    /// assert_eq!(AuditKind::Locked { failures: 10 }.name(), "locked");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Self::EnrollmentStarted { .. } => "enrollment_started",
            Self::StepUpRefused => "step_up_refused",
            Self::EnrollmentShownAgain { .. } => "enrollment_shown_again",
            Self::EnrollmentConfirmed { .. } => "enrollment_confirmed",
            Self::EnrollmentExpired => "enrollment_expired",
            Self::LoginAccepted { .. } => "login_accepted",
            Self::Refused { .. } => "refused",
            Self::Locked { .. } => "locked",
            Self::Redisplayed => "redisplayed",
            Self::RedisplayDisabled => "redisplay_disabled",
            Self::Stopped => "stopped",
            Self::RecoveryCodesIssued { .. } => "recovery_codes_issued",
            Self::RecoveryCodeUsed { .. } => "recovery_code_used",
            Self::RecoveryCodesLow { .. } => "recovery_codes_low",
            Self::AuthenticatorAdded { .. } => "authenticator_added",
            Self::AuthenticatorConfirmed { .. } => "authenticator_confirmed",
            Self::AuthenticatorRemoved { .. } => "authenticator_removed",
            Self::Resynced { .. } => "resynced",
            Self::Diagnosed { .. } => "diagnosed",
            Self::Unlocked { .. } => "unlocked",
            Self::AdministrativelyReset { .. } => "administratively_reset",
            Self::Forgotten { .. } => "forgotten",
        }
    }

    /// Whether the customer should be notified (e.g. by e-mail) that an authentication
    /// factor changed or was used in its place (OWASP ASVS 2.5.5): confirmed,
    /// re-displayed, stopped, reset, locked or unlocked; an authenticator added, confirmed
    /// or removed; resynchronised; recovery codes issued, used or running low.
    pub fn is_factor_change(&self) -> bool {
        matches!(
            self,
            Self::EnrollmentConfirmed { .. }
                | Self::AuthenticatorAdded { .. }
                | Self::AuthenticatorConfirmed { .. }
                | Self::AuthenticatorRemoved { .. }
                | Self::RecoveryCodesIssued { .. }
                | Self::RecoveryCodeUsed { .. }
                | Self::RecoveryCodesLow { .. }
                | Self::Resynced { .. }
                | Self::Unlocked { .. }
                | Self::Redisplayed
                | Self::Stopped
                | Self::AdministrativelyReset { .. }
                | Self::Forgotten { .. }
                | Self::Locked { .. }
        )
    }
}

/// One audit event. Carries no secret and no typed code.
///
/// With the `serde` feature an event is one flat object, ready for a structured log line:
/// `{"account": "0123-456789", "at": 1764000030, "kind": "refused", "operation": "login",
/// "refusal": "wrong_code", "failures": 1}` (the [`AuditKind`]'s `kind` and fields beside
/// `account` and `at`). These names are part of the crate's stable interface.
///
/// The engine builds events; [`AuditEvent::new`] builds one elsewhere (a sink's test). New
/// fields may be added: it is `#[non_exhaustive]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct AuditEvent {
    /// The account.
    pub account: AccountId,
    /// When (Unix seconds).
    pub at: u64,
    /// What happened.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub kind: AuditKind,
    /// The request the engine call served, if the portal attached one
    /// ([`RequestContext::scope`]); absent from the JSON when `None`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub context: Option<RequestContext>,
}

impl AuditEvent {
    /// The event `kind` of `account` at `at` (Unix seconds), without a request context.
    pub fn new(account: AccountId, at: u64, kind: AuditKind) -> Self {
        Self {
            account,
            at,
            kind,
            context: None,
        }
    }

    /// The same event with the request context it happened in.
    #[must_use]
    pub fn with_context(mut self, context: RequestContext) -> Self {
        self.context = Some(context);
        self
    }
}
