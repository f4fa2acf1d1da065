//! The rules of the verifier ([`Totp::verify`]), the security core:
//!
//! * a code is accepted exactly when it is the code of an existing step inside the window
//!   `[now_step - behind, now_step + ahead]` that is strictly after the last used step;
//! * the reported step is the largest such step, and the drift is `step - now_step`;
//! * a code that matches only steps at or before the last used step is `Replayed`;
//! * steps before 0, and steps whose first second lies beyond `u64::MAX`, do not exist;
//! * nothing panics, for any secret, policy, time, floor or code.
//!
//! The property tests compare the verifier with a naive reference model built on an
//! independent HMAC (the `hmac` crate), which is itself checked against [`PreparedKey`].
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

#[path = "../oracle/mod.rs"]
mod oracle;

use oracle::oracle_truncated;
use proptest::prelude::*;
use totp_enroll::{
    Clock, ManualClock, OtpPolicy, SystemClock, error::ClockError, error::CodeError,
    otp::Algorithm, otp::Code, otp::Digits, otp::PreparedKey, otp::Rejection, otp::Secret,
    otp::Totp,
};

/// RFC 4226 / RFC 6238 SHA-1 seed.
const RFC_SEED: &[u8] = b"12345678901234567890";

/// Two adjacent steps with the same 6-digit code under [`RFC_SEED`], HMAC-SHA-1:
/// steps 57_766_335 and 57_766_336 (Unix time 1_732_990_050, late 2024) both give `251166`.
///
/// Found once, offline, by computing HOTP(RFC_SEED, s) with an independent HMAC-SHA-1 for
/// s = 56_666_666, 56_666_667, … (≈ Unix time 1.7e9 onwards) and stopping at the first s with
/// HOTP(s) == HOTP(s + 1); about 1.1 million steps were searched, as expected for 10^6 codes.
/// [`the_collision_constant_is_a_real_collision`] re-checks it with both HMACs before any test
/// relies on it.
const COLLISION_STEP: u64 = 57_766_335;
const COLLISION_CODE: &str = "251166";

fn policy(algorithm: Algorithm, digits: u32, period: u64, behind: u32, ahead: u32) -> OtpPolicy {
    OtpPolicy::builder("Bank")
        .algorithm(algorithm)
        .digits(digits)
        .period(period)
        .window(behind, ahead)
        .build()
        .unwrap()
}

fn rfc_totp() -> Totp {
    Totp::new(
        &Secret::from_bytes(RFC_SEED).unwrap(),
        &OtpPolicy::new("Bank").unwrap(),
    )
}

fn rfc_totp_with(digits: u32, period: u64, behind: u32, ahead: u32) -> Totp {
    Totp::new(
        &Secret::from_bytes(RFC_SEED).unwrap(),
        &policy(Algorithm::Sha1, digits, period, behind, ahead),
    )
}

fn code(value: u32, digits: Digits) -> Code {
    let width = usize::from(digits.get());
    Code::parse(&format!("{value:0width$}"), digits).unwrap()
}

fn oracle_code(algorithm: Algorithm, key: &[u8], counter: u64, digits: Digits) -> Code {
    code(
        oracle_truncated(algorithm, key, counter) % digits.modulus(),
        digits,
    )
}

/// The steps that exist in time: `step * period` is a representable Unix second.
fn step_exists(step: i128, period: u32) -> bool {
    step >= 0 && step * i128::from(period) <= i128::from(u64::MAX)
}

/// The verifier's contract, computed naively with the independent HMAC.
fn reference_verify(
    algorithm: Algorithm,
    key: &[u8],
    policy: &OtpPolicy,
    submitted: &Code,
    unix_seconds: u64,
    last_used: Option<u64>,
) -> Result<(u64, i8), Rejection> {
    let period = policy.period();
    let now = i128::from(unix_seconds / u64::from(period));
    let behind = i128::from(policy.window().behind());
    let ahead = i128::from(policy.window().ahead());
    let mut best: Option<(u64, i8)> = None;
    let mut replayed = false;
    for step in (now - behind)..=(now + ahead) {
        if !step_exists(step, period) {
            continue;
        }
        let step = u64::try_from(step).unwrap();
        if oracle_code(algorithm, key, step, policy.digits()) != *submitted {
            continue;
        }
        if last_used.is_none_or(|last| step > last) {
            let drift = i8::try_from(i128::from(step) - now).unwrap();
            best = Some((step, drift));
        } else {
            replayed = true;
        }
    }
    match best {
        Some(found) => Ok(found),
        None if replayed => Err(Rejection::Replayed),
        None => Err(Rejection::WrongCode),
    }
}

fn outcome(result: Result<totp_enroll::Verified, Rejection>) -> Result<(u64, i8), Rejection> {
    result.map(|v| (v.step(), v.drift()))
}

mod ambiguous_codes;
mod clocks;
mod malformed_input;
mod prepared_key_vs_oracle;
mod properties;
mod replay_floor;
mod time_edges;
mod window;
