//! The rules of [`KeyUri`]: the exact `otpauth://totp/` form it builds, UTF-8 labels, every
//! refusal of the strict parser with its exact error, the lenient forms it accepts, and the
//! identities `parse(build(k)) == k` and `parse(build(parse(u))) == parse(u)`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use proptest::prelude::*;
use totp_enroll::{
    OtpPolicy, error::PolicyError, error::SecretError, error::UriError, otp::Algorithm,
    otp::Secret, otp::Window, provision::KeyUri,
};

const KEY_B32: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const ISSUER_JA: &str = "北洋証券オンラインサービス";
const ISSUER_JA_ENCODED: &str = "%E5%8C%97%E6%B4%8B%E8%A8%BC%E5%88%B8%E3%82%AA%E3%83%B3%E3%83%A9%E3%82%A4%E3%83%B3%E3%82%B5%E3%83%BC%E3%83%93%E3%82%B9";

fn secret() -> Secret {
    Secret::from_base32(KEY_B32).unwrap()
}

fn parse(uri: &str) -> Result<KeyUri, UriError> {
    KeyUri::parse(uri)
}

/// A valid URI with `query` after the secret.
fn with_query(label: &str, query: &str) -> String {
    format!("otpauth://totp/{label}?secret={KEY_B32}{query}")
}

mod building;
mod parse_accepted_forms;
mod parse_refusals;
mod properties;
mod refused_account_names;
