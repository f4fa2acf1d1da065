//! One-time passwords, the pure part: secrets, the code policy, the customer's input
//! grammar, HOTP/TOTP at the SHA floor, the constant-time window verifier, and the wide
//! search a resync and the desk use.
//!
//! * `secret.rs`: [`Secret`], generated or parsed from base32, zeroized, redacted.
//! * `policy.rs`: [`OtpPolicy`](crate::OtpPolicy) and the parameters an enrollment keeps ([`OtpParams`]).
//! * `code.rs`: [`Code`], what a customer types.
//! * `hmac.rs`: [`PreparedKey`], HOTP (RFC 4226) from precomputed HMAC states.
//! * `totp.rs`: [`Totp`] (RFC 6238) and time-step arithmetic.
//! * `verify.rs`: the window verifier with replay floor, over one or several authenticators.
//! * `wide_search.rs`: codes far outside the login window (resync, diagnosis).

pub(crate) mod code;
pub(crate) mod hmac;
pub(crate) mod policy;
pub(crate) mod secret;
pub(crate) mod totp;
pub(crate) mod verify;
pub(crate) mod wide_search;

pub use code::Code;
pub use hmac::PreparedKey;
pub use policy::{Algorithm, CompatibilityWarning, Digits, OtpParams, OtpPolicyBuilder, Window};
pub use secret::Secret;
pub use totp::Totp;
pub(crate) use totp::{step_at, step_offset, steps_in};
pub use verify::Rejection;
