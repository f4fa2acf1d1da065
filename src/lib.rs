#![doc = include_str!("../README.md")]
#![cfg_attr(feature = "document-features", doc = "## Feature flags")]
#![cfg_attr(feature = "document-features", doc = document_features::document_features!())]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod account;
mod audit;
mod clock;
mod code;
mod engine;
mod engine_trace;
mod enrollment;
mod error;
mod key_cache;
mod keyring_text;
pub mod messages;
mod otp;
mod policy;
mod provisioning;
mod qr;
mod record;
mod seal;
mod secret;
pub mod store;
mod text_rules;
mod throttle;
mod uri;
mod verify;

pub use account::{AccountId, AccountLabel, Operator, StepUp};
pub use audit::{AuditEvent, AuditKind, AuditSink, MemoryAudit, NoAudit, Operation};
pub use clock::{Clock, ManualClock, SystemClock};
pub use code::Code;
pub use engine::{Engine, EnginePolicy, Login};
pub use enrollment::{Access, Status};
pub use error::{
    ClockError, CodeError, EngineError, IdentifierError, PolicyError, QrError, RecordError,
    Refusal, SealError, SecretError, StepUpError, StoreError, UriError,
};
pub use keyring_text::KeyRingTextError;
pub use messages::{ErrorClass, Lang, Locale, Notification, UtcOffset};
pub use otp::{PreparedKey, Totp};
pub use policy::{Algorithm, CompatibilityWarning, Digits, OtpPolicy, OtpPolicyBuilder, Window};
pub use provisioning::{KeyType, Provisioning};
pub use qr::QrCode;
pub use record::{EnrollmentRecord, OtpParams, RecordStatus};
pub use seal::{KeyRing, SealedSecret};
pub use secret::Secret;
pub use store::{MemoryStore, Store, Versioned};
pub use throttle::{ThrottlePolicy, ThrottleState};
pub use uri::KeyUri;
pub use verify::{Rejection, Verified};
/// The wrapper every secret-bearing rendering is returned in (key URI, setup key, QR code
/// renderings): it wipes its contents when dropped. Re-exported so callers name it without
/// a dependency of their own.
pub use zeroize::Zeroizing;
