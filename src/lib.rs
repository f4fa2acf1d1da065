#![doc = include_str!("../README.md")]
//!
//! ## Where to start
//!
//! * [`Engine`]: one async method per screen ([`Engine::begin`], [`Engine::confirm`],
//!   [`Engine::verify_login`], [`Engine::redisplay`], [`Engine::stop`],
//!   [`Engine::admin_reset`], [`Engine::forget`], [`Engine::status`]), configured by
//!   [`EnginePolicy`] and [`OtpPolicy`], sealing secrets with a [`KeyRing`] that
//!   [`Engine::set_keys`] replaces while serving ([`Engine::reseal_all`] and
//!   [`Engine::retire_key`] retire old keys).
//! * Authenticators as a set ([`Authenticator`], [`SecondDevice`]): a second device with
//!   its own secret ([`Engine::add_authenticator`], [`Engine::confirm_authenticator`]),
//!   removing one ([`Engine::remove_authenticator`]); clock drift and
//!   [`Engine::resync`]; the support desk's [`Engine::overview`], [`Engine::diagnose`],
//!   [`Engine::admin_unlock`] and [`Engine::desk_remove_authenticator`].
//! * Recovery codes for a customer without the phone: [`Engine::confirm_with_recovery_codes`],
//!   [`Engine::issue_recovery_codes`], [`Engine::verify_recovery_code`] ([`RecoveryCodes`],
//!   stored only as keyed hashes).
//! * The audit trail: each call's [`AuditEvent`]s are written into the store's outbox in
//!   the same atomic step as its record, with the [`RequestContext`] the portal set around
//!   the request; an [`Outbox`] delivers them to your async [`AuditDelivery`] at least once,
//!   in order. An [`AuditSink`] observes them in process.
//! * Stores: [`MemoryStore`] (embedded), `store::SqliteStore` (feature `sqlite`),
//!   `store::PostgresStore` (feature `postgres`), or your own [`Store`], checked with
//!   `testing::conformance` (feature `testing`).
//! * Texts for customers and HTTP classes for handlers: [`messages`].
//! * Examples: `examples/quickstart.rs` (the whole lifecycle in one process) and
//!   `examples/portal` (the web portal).
//!
//! ## Serialization (feature `serde`)
//!
//! The non-secret public types implement `Serialize` and `Deserialize`: [`Status`],
//! [`Access`], [`AuditEvent`], [`AuditKind`], [`RequestContext`], [`Operation`],
//! [`Refusal`], [`CodeError`], [`RecoveryCodeError`], [`Verified`], [`OtpPolicy`],
//! [`Algorithm`], [`Digits`], [`Window`], [`ThrottlePolicy`], [`AccountId`], [`Operator`],
//! [`Lang`] and [`ErrorClass`]. Field and variant names are
//! snake_case (an [`Algorithm`] is its key URI name, `"SHA1"`) and part of the stable
//! interface: `tests/serde_types.rs` pins them. Enums are externally tagged (`"wrong_code"`,
//! `{"throttled": {"until": 1764000090}}`), except [`AuditKind`], which is tagged by `kind`
//! and flattened into its [`AuditEvent`], so an event is one flat object for a structured log:
//!
//! ```json
//! {"account":"0123-456789","at":1764000030,"kind":"refused","operation":"login","refusal":"wrong_code","failures":1}
//! ```
//!
//! Deserializing validates: a policy goes through [`OtpPolicyBuilder::build`] (unknown or
//! missing fields are errors), an account id through [`AccountId::new`], an operator through
//! [`Operator::new`], a throttle policy through [`ThrottlePolicy::new`]. [`Secret`],
//! [`KeyRing`], [`PreparedKey`], [`SealedSecret`], [`KeyUri`], [`Provisioning`], [`QrCode`],
//! [`Code`] and [`Enrollment`] implement neither trait, whatever the features.
//!
//! ## Tracing (feature `tracing`)
//!
//! Each [`Engine`] call runs in one `tracing` span, `totp_enroll.engine` (target
//! `totp_enroll::engine`, level `INFO`), with the fields `operation` (the method's name)
//! and `account` (as given, or as `Engine::with_account_pseudonym` makes it). When the
//! call completes, one event in the span carries `outcome` (`verified`, `not_required`,
//! `confirmed`, `started`, `redisplayed`, `stopped`, `reset`, `forgotten`, a status such as `active`;
//! `refused.wrong_code`, `refused.replayed`, `refused.malformed`, `refused.step_up`,
//! `refused.not_active`, …, `throttled`, `locked`; `error.store`, `error.seal`, …) and
//! `duration_us`, at `INFO`, `WARN` for `throttled` and `locked`, `ERROR` for `error.*`.
//! No field ever holds a typed code, a secret, a setup key or key-ring bytes.
#![cfg_attr(feature = "document-features", doc = "## Feature flags")]
#![cfg_attr(feature = "document-features", doc = document_features::document_features!())]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod account;
mod audit;
mod clock;
mod engine;
mod error;
mod keys;
mod lifecycle;
pub mod messages;
mod otp;
mod provision;
pub mod store;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use account::{AccountId, AccountLabel, Operator, StepUp};
pub use audit::{
    AuditDecodeError, AuditEvent, AuditKind, AuditSink, MemoryAudit, NoAudit, Operation,
    RequestContext,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use engine::{
    AccountOverview, AuditDelivery, AuthenticatorOverview, DeliveredEvent, Diagnosis, Engine,
    EnginePolicy, KeyUsage, Login, NewAuthenticator, Outbox, OutboxError, ResealReport, Resynced,
    SecondDevice, SweepReport,
};
pub use error::{
    ClockError, CodeError, EngineError, IdentifierError, PolicyError, QrError, RecordError,
    RecoveryCodeError, Refusal, SealError, SecretError, StepUpError, StoreError, UriError,
};
pub use keys::{KeyRing, KeyRingTextError, SealedSecret};
pub use lifecycle::{
    Access, Authenticator, Enrollment, RecordStatus, RecoveryCode, RecoveryCodes, Status,
    ThrottlePolicy, ThrottleState,
};
pub use messages::{ErrorClass, Lang, Locale, Notification, UtcOffset};
pub use otp::{
    Algorithm, Code, CompatibilityWarning, Digits, OtpParams, OtpPolicy, OtpPolicyBuilder,
    PreparedKey, Rejection, Secret, Totp, Verified, Window,
};
pub use provision::{KeyType, KeyUri, Provisioning, QrCode};
pub use store::{Listed, MemoryStore, OutboxEntry, Store, Versioned};
/// The wrapper every secret-bearing rendering is returned in (key URI, setup key, QR code
/// renderings): it wipes its contents when dropped. Re-exported so callers name it without
/// a dependency of their own.
pub use zeroize::Zeroizing;
