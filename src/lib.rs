#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod clock;
mod code;
mod error;
mod otp;
mod policy;
mod provisioning;
mod qr;
mod secret;
mod uri;
mod verify;

pub use clock::{Clock, ManualClock, SystemClock};
pub use code::Code;
pub use error::{ClockError, CodeError, PolicyError, QrError, SecretError, UriError};
pub use otp::{PreparedKey, Totp};
pub use policy::{Algorithm, CompatibilityWarning, Digits, OtpPolicy, OtpPolicyBuilder, Window};
pub use secret::Secret;
pub use uri::KeyUri;
pub use verify::{Rejection, Verified};
