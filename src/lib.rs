#![doc = include_str!("../README.md")]
//!
//! ## Where to start
//!
//! The crate root holds what a portal needs; everything else is reached through the module
//! it belongs to, and every public item has exactly one path (`api/totp-enroll.txt` in the
//! repository lists the whole public API; CI checks it).
//!
//! * [`Engine`]: one async method per screen, configured by [`EnginePolicy`] (with
//!   [`SecondDevice`]) and [`OtpPolicy`], sealing secrets with a [`KeyRing`]. Customer calls
//!   are plain verbs: [`Engine::status`], [`Engine::begin`], [`Engine::confirm`],
//!   [`Engine::verify_login`] ([`Login`], [`Verified`]), [`Engine::redisplay`],
//!   [`Engine::stop`], [`Engine::resync`], second devices ([`Engine::add_authenticator`],
//!   [`Engine::confirm_authenticator`], [`Engine::remove_authenticator`]) and recovery codes
//!   ([`Engine::confirm_with_recovery_codes`], [`Engine::issue_recovery_codes`],
//!   [`Engine::verify_recovery_code`], [`RecoveryCodes`]). The support desk's calls start
//!   with `desk_`: [`Engine::desk_diagnose`], [`Engine::desk_unlock`],
//!   [`Engine::desk_resync`], [`Engine::desk_remove_authenticator`], [`Engine::desk_reset`],
//!   [`Engine::desk_forget`] (and the read-only [`Engine::overview`]); maintenance:
//!   [`Engine::set_keys`], [`Engine::reseal_all`], [`Engine::retire_key`],
//!   [`Engine::sweep_expired`].
//! * Who: [`AccountId`], [`AccountLabel`], [`Operator`], and the [`StepUp`] proof; what the
//!   screen shows: [`Status`], [`Access`], [`Provisioning`].
//! * The audit trail: each call's [`AuditEvent`]s ([`AuditKind`]) are written into the
//!   store's outbox in the same atomic step as its record, with the [`RequestContext`] the
//!   portal set around the request, and stay there until an [`Outbox`] delivers them to
//!   your async [`AuditDelivery`], at least once, in order: run [`Outbox::run`] beside the
//!   engine (or turn the outbox off, [`EnginePolicy::with_outbox`]). An [`AuditSink`]
//!   observes them in process.
//! * Stores: [`MemoryStore`] (embedded), [`store::SqliteStore`] (feature `sqlite`),
//!   [`store::PostgresStore`] (feature `postgres`), or your own [`Store`], checked with
//!   `testing::conformance` (feature `testing`). Time: [`Clock`], [`SystemClock`],
//!   [`ManualClock`].
//! * Texts for customers and HTTP classes for handlers: [`Locale`], [`ErrorClass`] and
//!   [`messages`]; errors, one enum per concern: [`error`] ([`error::EngineError`] is what
//!   engine calls return).
//! * The modules: [`otp`] (secrets, code policy, input grammar, HOTP/TOTP, the verifier),
//!   [`provision`] (key URI, QR code), [`keys`] (sealed secrets), [`lifecycle`] (the pure
//!   enrollment record and its rules), [`audit`], [`engine`] (the answers of the desk's and
//!   maintenance calls), [`store`], [`error`], [`messages`].
//! * Keys: [`KeyRing::from_env`], [`KeyRing::from_file`] (mode checked) or
//!   [`KeyRing::from_env_or_file`] load the sealing key ring that `totp-enroll keygen`
//!   makes, the crate's command line (feature `cli`: `cargo install totp-enroll --features
//!   cli`).
//! * Examples: `examples/quickstart.rs` (the whole lifecycle in one process) and
//!   `examples/portal` (the web portal).
//!
//! ## Serialization (feature `serde`)
//!
//! The non-secret public types implement `Serialize` and `Deserialize`: [`Status`],
//! [`Access`], [`AuditEvent`], [`AuditKind`], [`RequestContext`], [`Operation`](crate::audit::Operation),
//! [`Refusal`](crate::error::Refusal), [`CodeError`](crate::error::CodeError), [`RecoveryCodeError`](crate::error::RecoveryCodeError), [`Verified`], [`OtpPolicy`],
//! [`Algorithm`](crate::otp::Algorithm), [`Digits`](crate::otp::Digits), [`Window`](crate::otp::Window), [`ThrottlePolicy`](crate::lifecycle::ThrottlePolicy), [`AccountId`], [`Operator`],
//! [`Lang`](crate::messages::Lang) and [`ErrorClass`]. Field and variant names are
//! snake_case (an [`Algorithm`](crate::otp::Algorithm) is its key URI name, `"SHA1"`) and part of the stable
//! interface: `tests/serde_types.rs` pins them. Enums are externally tagged (`"wrong_code"`,
//! `{"throttled": {"until": 1764000090}}`), except [`AuditKind`], which is tagged by `kind`
//! and flattened into its [`AuditEvent`], so an event is one flat object for a structured log:
//!
//! ```json
//! {"account":"0123-456789","at":1764000030,"kind":"refused","operation":"login","refusal":"wrong_code","failures":1}
//! ```
//!
//! Deserializing validates: a policy goes through [`OtpPolicyBuilder::build`](crate::otp::OtpPolicyBuilder::build) (unknown or
//! missing fields are errors), an account id through [`AccountId::new`], an operator through
//! [`Operator::new`], a throttle policy through [`ThrottlePolicy::new`](crate::lifecycle::ThrottlePolicy::new). [`Secret`](crate::otp::Secret),
//! [`KeyRing`], [`PreparedKey`](crate::otp::PreparedKey), [`SealedSecret`](crate::keys::SealedSecret), [`KeyUri`](crate::provision::KeyUri), [`Provisioning`], [`QrCode`](crate::provision::QrCode),
//! [`Code`](crate::otp::Code) and [`Enrollment`](crate::lifecycle::Enrollment) implement neither trait, whatever the features.
//!
//! ## Tracing (feature `tracing`)
//!
//! Each [`Engine`] call runs in one `tracing` span, `totp_enroll.engine` (target
//! `totp_enroll::engine`, level `INFO`), with the fields `operation` (the method's name)
//! and `account` (as given, or as `Engine::with_account_pseudonym` makes it). When the
//! call completes, one event in the span carries `outcome` (`verified`, `not_required`,
//! `confirmed`, `started`, `shown_again`, `redisplayed`, `stopped`, `reset`, `forgotten`, a status such as `active`;
//! `refused.wrong_code`, `refused.replayed`, `refused.malformed`, `refused.step_up`,
//! `refused.not_active`, …, `throttled`, `locked`, `refused.wrong_code.throttled` and
//! `refused.wrong_code.locked` (the wrong code that started a backoff or the lock);
//! `error.store`, `error.store_schema`, `error.seal`, …) and
//! `duration_us`, at `INFO`, `WARN` for `throttled` and `locked`, `ERROR` for `error.*`.
//! No field ever holds a typed code, a secret, a setup key or key-ring bytes.
#![cfg_attr(feature = "document-features", doc = "## Feature flags")]
#![cfg_attr(feature = "document-features", doc = document_features::document_features!())]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod account;
pub mod audit;
mod clock;
pub mod engine;
pub mod error;
pub mod keys;
pub mod lifecycle;
pub mod messages;
pub mod otp;
pub mod provision;
pub mod store;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

// The crate root: what a portal needs. Everything else is reached through its module, and
// every public item has exactly one path (`api/totp-enroll.txt` lists them all).
pub use account::{AccountId, AccountLabel, Operator, StepUp, StepUpFactor};
pub use audit::context::RequestContext;
pub use audit::event::{AuditEvent, AuditKind};
pub use audit::sink::AuditSink;
pub use clock::{Clock, ManualClock, SystemClock};
pub use engine::base::Engine;
pub use engine::outbox::{AuditDelivery, Outbox};
pub use engine::policy::{EnginePolicy, SecondDevice};
pub use engine::screens::Login;
pub use keys::ring::KeyRing;
pub use lifecycle::recovery_code::RecoveryCodes;
pub use lifecycle::status::{Access, Status};
pub use messages::class::ErrorClass;
pub use messages::locale::Locale;
pub use otp::policy::OtpPolicy;
pub use otp::verify::Verified;
pub use provision::provisioning::Provisioning;
pub use store::contract::Store;
pub use store::memory::MemoryStore;
/// The wrapper every secret-bearing rendering is returned in (key URI, setup key, QR code
/// renderings): it wipes its contents when dropped. Re-exported so callers name it without
/// a dependency of their own.
pub use zeroize::Zeroizing;
