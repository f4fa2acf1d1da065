//! What an authenticator app is given: the Google Authenticator key URI, its QR code, and
//! the registration screen that shows both (with the setup key behind a reveal).
//!
//! * `uri.rs`: [`KeyUri`], the Key Uri Format, built and parsed strictly.
//! * `qr.rs`: [`QrCode`], rendered as SVG, PNG or text, zeroized.
//! * `provisioning.rs`: [`Provisioning`](crate::Provisioning) and [`KeyType`], the registration screen.

pub(crate) mod provisioning;
pub(crate) mod qr;
pub(crate) mod uri;

pub use provisioning::KeyType;
pub use qr::QrCode;
pub use uri::KeyUri;
