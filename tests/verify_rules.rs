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

// ---------------------------------------------------------------------------------------------
// Helpers and the independent oracle
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// The window
// ---------------------------------------------------------------------------------------------

#[test]
fn code_generated_at_t_verifies_at_t_with_drift_zero() {
    let totp = rfc_totp();
    for t in [
        59,
        1_111_111_109,
        1_700_000_000,
        1_700_000_009,
        1_700_000_010,
    ] {
        let verified = totp.verify(&totp.code_at(t), t, None).unwrap();
        assert_eq!(verified.step(), t / 30, "t = {t}");
        assert_eq!(verified.drift(), 0);
    }
}

#[test]
fn code_of_the_previous_step_verifies_with_drift_minus_one() {
    let totp = rfc_totp();
    let t = 1_700_000_000;
    let now = totp.step_at(t);
    let verified = totp.verify(&totp.code_at_step(now - 1), t, None).unwrap();
    assert_eq!((verified.step(), verified.drift()), (now - 1, -1));
    // A code typed in the last second of its step and checked in the first of the next.
    let typed_at = totp.step_start(now).unwrap() - 1;
    let verified = totp
        .verify(&totp.code_at(typed_at), typed_at + 1, None)
        .unwrap();
    assert_eq!(verified.drift(), -1);
}

#[test]
fn code_of_the_next_step_verifies_with_drift_plus_one() {
    let totp = rfc_totp();
    let t = 1_700_000_000;
    let now = totp.step_at(t);
    let verified = totp.verify(&totp.code_at_step(now + 1), t, None).unwrap();
    assert_eq!((verified.step(), verified.drift()), (now + 1, 1));
}

#[test]
fn codes_two_steps_away_are_wrong_with_the_default_window() {
    let totp = rfc_totp();
    let t = 1_700_000_000;
    let now = totp.step_at(t);
    for step in [now - 3, now - 2, now + 2, now + 3] {
        assert_eq!(
            totp.verify(&totp.code_at_step(step), t, None),
            Err(Rejection::WrongCode),
            "step {step}"
        );
    }
}

#[test]
fn exactly_the_steps_inside_the_window_are_accepted_with_their_drift() {
    let t = 1_700_000_000;
    for (behind, ahead) in [(0, 0), (1, 1), (0, 2), (3, 0), (2, 5), (10, 10)] {
        let totp = rfc_totp_with(8, 30, behind, ahead);
        let now = totp.step_at(t);
        for offset in -12i64..=12 {
            let step = now.checked_add_signed(offset).unwrap();
            let result = outcome(totp.verify(&totp.code_at_step(step), t, None));
            if (-i64::from(behind)..=i64::from(ahead)).contains(&offset) {
                assert_eq!(
                    result,
                    Ok((step, offset as i8)),
                    "window ({behind}, {ahead})"
                );
            } else {
                assert_eq!(result, Err(Rejection::WrongCode), "offset {offset}");
            }
        }
    }
}

#[test]
fn every_second_around_a_code_verifies_it_exactly_while_its_step_is_in_the_window() {
    let totp = rfc_totp_with(8, 30, 1, 1);
    let t = 1_700_000_007;
    let code = totp.code_at(t);
    let code_step = totp.step_at(t);
    for now in (t - 120)..=(t + 120) {
        let now_step = totp.step_at(now);
        let result = outcome(totp.verify(&code, now, None));
        let drift = code_step as i64 - now_step as i64;
        if (-1..=1).contains(&drift) {
            assert_eq!(result, Ok((code_step, drift as i8)), "now = {now}");
        } else {
            assert_eq!(result, Err(Rejection::WrongCode), "now = {now}");
        }
    }
}

#[test]
fn every_second_of_a_step_belongs_to_that_step() {
    let totp = rfc_totp();
    let start = totp.step_start(56_666_667).unwrap();
    assert_eq!(start, 1_700_000_010);
    for t in start..start + 30 {
        assert_eq!(totp.step_at(t), 56_666_667);
        assert_eq!(totp.code_at(t), totp.code_at_step(56_666_667));
    }
    assert_eq!(totp.step_at(start - 1), 56_666_666);
    assert_eq!(totp.step_at(start + 30), 56_666_668);
}

#[test]
fn a_code_of_another_secret_is_wrong() {
    let ours = rfc_totp_with(8, 30, 1, 1);
    let theirs = Totp::new(
        &Secret::from_bytes(b"12345678901234567891").unwrap(),
        &policy(Algorithm::Sha1, 8, 30, 1, 1),
    );
    let t = 1_700_000_000;
    assert_eq!(
        ours.verify(&theirs.code_at(t), t, None),
        Err(Rejection::WrongCode)
    );
}

#[test]
fn a_code_of_another_algorithm_is_wrong() {
    let secret = Secret::from_bytes(RFC_SEED).unwrap();
    let sha1 = Totp::new(&secret, &policy(Algorithm::Sha1, 8, 30, 1, 1));
    let sha256 = Totp::new(&secret, &policy(Algorithm::Sha256, 8, 30, 1, 1));
    let t = 1_700_000_000;
    assert_eq!(
        sha256.verify(&sha1.code_at(t), t, None),
        Err(Rejection::WrongCode)
    );
    assert_eq!(
        sha1.verify(&sha256.code_at(t), t, None),
        Err(Rejection::WrongCode)
    );
}

#[test]
fn verify_input_accepts_the_code_as_a_customer_types_it() {
    let totp = rfc_totp();
    let t = 1_700_000_000;
    let shown = totp.code_at(t);
    let expected = totp.verify(&shown, t, None).unwrap();
    let plain = shown.to_string();
    let full_width: String = plain
        .chars()
        .map(|c| char::from_u32(u32::from(c) - u32::from(b'0') + 0xFF10).unwrap())
        .collect();
    for typed in [
        plain.clone(),
        shown.to_grouped(),
        format!(" {}\n", shown.to_grouped()),
        format!("{}-{}", &plain[..3], &plain[3..]),
        full_width,
    ] {
        assert_eq!(
            totp.verify_input(&typed, t, None),
            Ok(expected),
            "{typed:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The replay floor
// ---------------------------------------------------------------------------------------------

#[test]
fn code_is_replayed_when_its_step_is_the_last_used_step() {
    let totp = rfc_totp();
    let t = 1_700_000_000;
    let code = totp.code_at(t);
    let first = totp.verify(&code, t, None).unwrap();
    assert_eq!(
        totp.verify(&code, t, Some(first.step())),
        Err(Rejection::Replayed)
    );
    // Still replayed a step later, while it is inside the window.
    assert_eq!(
        totp.verify(&code, t + 30, Some(first.step())),
        Err(Rejection::Replayed)
    );
}

#[test]
fn code_is_replayed_when_the_last_used_step_is_after_its_step() {
    let totp = rfc_totp();
    let t = 1_700_000_000;
    let now = totp.step_at(t);
    for last in [now + 1, now + 2, now + 1_000, u64::MAX] {
        assert_eq!(
            totp.verify(&totp.code_at(t), t, Some(last)),
            Err(Rejection::Replayed),
            "last used {last}"
        );
    }
}

#[test]
fn code_is_accepted_when_the_last_used_step_is_the_step_before() {
    let totp = rfc_totp();
    let t = 1_700_000_000;
    let now = totp.step_at(t);
    assert_eq!(
        outcome(totp.verify(&totp.code_at(t), t, Some(now - 1))),
        Ok((now, 0))
    );
    assert_eq!(
        outcome(totp.verify(&totp.code_at(t), t, Some(0))),
        Ok((now, 0))
    );
}

#[test]
fn after_a_next_step_code_is_used_the_current_step_code_is_replayed() {
    let totp = rfc_totp();
    let t = 1_700_000_000;
    let now = totp.step_at(t);
    let used = totp.verify(&totp.code_at_step(now + 1), t, None).unwrap();
    assert_eq!(used.step(), now + 1);
    assert_eq!(
        totp.verify(&totp.code_at_step(now), t, Some(used.step())),
        Err(Rejection::Replayed)
    );
    assert_eq!(
        totp.verify(&totp.code_at_step(now - 1), t, Some(used.step())),
        Err(Rejection::Replayed)
    );
}

#[test]
fn a_wrong_code_under_a_replay_floor_is_wrong_not_replayed() {
    let totp = rfc_totp_with(8, 30, 1, 1);
    let t = 1_700_000_000;
    let now = totp.step_at(t);
    let wrong = code(12_345_678, Digits::EIGHT);
    assert_ne!(totp.code_at_step(now - 1), wrong);
    assert_ne!(totp.code_at_step(now), wrong);
    assert_ne!(totp.code_at_step(now + 1), wrong);
    assert_eq!(
        totp.verify(&wrong, t, Some(now + 5)),
        Err(Rejection::WrongCode)
    );
}

// ---------------------------------------------------------------------------------------------
// The same digits in two eligible steps: the largest is reported
// ---------------------------------------------------------------------------------------------

#[test]
fn the_collision_constant_is_a_real_collision() {
    let totp = rfc_totp();
    let s = COLLISION_STEP;
    assert_eq!(totp.code_at_step(s).to_string(), COLLISION_CODE);
    assert_eq!(totp.code_at_step(s + 1).to_string(), COLLISION_CODE);
    assert_ne!(totp.code_at_step(s - 1).to_string(), COLLISION_CODE);
    assert_ne!(totp.code_at_step(s + 2).to_string(), COLLISION_CODE);
    for step in [s, s + 1] {
        assert_eq!(
            oracle_code(Algorithm::Sha1, RFC_SEED, step, Digits::SIX).to_string(),
            COLLISION_CODE
        );
    }
}

#[test]
fn when_the_code_matches_two_eligible_steps_the_larger_is_reported() {
    let totp = rfc_totp();
    let s = COLLISION_STEP;
    let digits = Code::parse(COLLISION_CODE, Digits::SIX).unwrap();
    // Now = s: candidates s-1, s, s+1; both s and s+1 match.
    assert_eq!(outcome(totp.verify(&digits, s * 30, None)), Ok((s + 1, 1)));
    // Now = s+1: candidates s, s+1, s+2; both s and s+1 match.
    assert_eq!(
        outcome(totp.verify(&digits, (s + 1) * 30 + 29, None)),
        Ok((s + 1, 0))
    );
    // Now = s+2: only s+1 is in the window.
    assert_eq!(
        outcome(totp.verify(&digits, (s + 2) * 30, None)),
        Ok((s + 1, -1))
    );
}

#[test]
fn when_the_larger_matching_step_is_outside_the_window_the_smaller_is_reported() {
    let totp = rfc_totp_with(6, 30, 1, 0);
    let s = COLLISION_STEP;
    let digits = Code::parse(COLLISION_CODE, Digits::SIX).unwrap();
    assert_eq!(outcome(totp.verify(&digits, s * 30, None)), Ok((s, 0)));
}

#[test]
fn a_used_smaller_matching_step_does_not_block_the_larger_one() {
    let totp = rfc_totp();
    let s = COLLISION_STEP;
    let digits = Code::parse(COLLISION_CODE, Digits::SIX).unwrap();
    assert_eq!(
        outcome(totp.verify(&digits, s * 30, Some(s))),
        Ok((s + 1, 1))
    );
    assert_eq!(
        outcome(totp.verify(&digits, s * 30, Some(s - 1))),
        Ok((s + 1, 1))
    );
}

#[test]
fn once_the_larger_matching_step_is_used_the_digits_are_replayed() {
    let totp = rfc_totp();
    let s = COLLISION_STEP;
    let digits = Code::parse(COLLISION_CODE, Digits::SIX).unwrap();
    let used = totp.verify(&digits, s * 30, None).unwrap();
    assert_eq!(
        totp.verify(&digits, s * 30, Some(used.step())),
        Err(Rejection::Replayed)
    );
    assert_eq!(
        totp.verify(&digits, (s + 1) * 30, Some(used.step())),
        Err(Rejection::Replayed)
    );
}

// ---------------------------------------------------------------------------------------------
// Time edges
// ---------------------------------------------------------------------------------------------

#[test]
fn at_time_zero_a_look_behind_window_never_reports_a_negative_step() {
    let totp = rfc_totp();
    assert_eq!(outcome(totp.verify(&totp.code_at(0), 0, None)), Ok((0, 0)));
    assert_eq!(
        outcome(totp.verify(&totp.code_at_step(1), 0, None)),
        Ok((1, 1))
    );
    let wide = rfc_totp_with(6, 30, 10, 10);
    for step in 0..=10u64 {
        assert_eq!(
            outcome(wide.verify(&wide.code_at_step(step), 0, None)),
            Ok((step, step as i8)),
            "step {step}"
        );
    }
    assert_eq!(
        wide.verify(&wide.code_at_step(11), 0, None),
        Err(Rejection::WrongCode)
    );
}

#[test]
fn at_time_zero_the_first_step_code_is_replayed_once_used() {
    let wide = rfc_totp_with(6, 30, 10, 10);
    assert_eq!(
        wide.verify(&wide.code_at(0), 0, Some(0)),
        Err(Rejection::Replayed)
    );
    assert_eq!(
        wide.verify(&wide.code_at(0), 29, Some(0)),
        Err(Rejection::Replayed)
    );
}

#[test]
fn every_time_in_the_first_step_is_step_zero() {
    let totp = rfc_totp();
    for t in 0..30 {
        assert_eq!(totp.step_at(t), 0);
        assert_eq!(outcome(totp.verify(&totp.code_at(0), t, None)), Ok((0, 0)));
    }
    assert_eq!(totp.step_at(30), 1);
    assert_eq!(
        outcome(totp.verify(&totp.code_at(0), 30, None)),
        Ok((0, -1))
    );
}

#[test]
fn times_beyond_2_pow_32_use_the_full_64_bit_step() {
    let totp = rfc_totp();
    for t in [
        (1u64 << 32) + 7,
        20_000_000_000,
        (1u64 << 32) * 30,
        (1u64 << 32) * 30 + 29,
        (1u64 << 40) + 123,
    ] {
        let step = t / 30;
        assert_eq!(totp.step_at(t), step);
        assert_eq!(
            totp.code_at(t),
            oracle_code(Algorithm::Sha1, RFC_SEED, step, Digits::SIX),
            "t = {t}"
        );
        assert_eq!(
            outcome(totp.verify(&totp.code_at(t), t, None)),
            Ok((step, 0))
        );
    }
    // Step 2^32 is not step 0 in disguise.
    assert_ne!(totp.code_at_step(1 << 32), totp.code_at_step(0));
}

#[test]
fn near_u64_max_with_period_30_verification_works_without_wrapping() {
    let totp = rfc_totp();
    let t = u64::MAX;
    let now = u64::MAX / 30;
    assert_eq!(totp.step_at(t), now);
    assert_eq!(totp.step_start(now), Some(now * 30));
    assert_eq!(totp.step_start(now + 1), None);
    assert_eq!(
        outcome(totp.verify(&totp.code_at(t), t, None)),
        Ok((now, 0))
    );
    assert_eq!(
        outcome(totp.verify(&totp.code_at_step(now - 1), t, None)),
        Ok((now - 1, -1))
    );
    assert_eq!(
        outcome(totp.verify(&totp.code_at(t), t, Some(now - 1))),
        Ok((now, 0))
    );
    assert_eq!(
        totp.verify(&totp.code_at(t), t, Some(now)),
        Err(Rejection::Replayed)
    );
}

#[test]
fn near_u64_max_with_period_5_verification_works_without_wrapping() {
    let totp = rfc_totp_with(6, 5, 1, 1);
    let t = u64::MAX;
    let now = u64::MAX / 5;
    assert_eq!(totp.step_at(t), now);
    // u64::MAX is a multiple of 5: it is the first second of the last step.
    assert_eq!(totp.step_start(now), Some(u64::MAX));
    assert_eq!(
        outcome(totp.verify(&totp.code_at(t), t, None)),
        Ok((now, 0))
    );
    assert_eq!(
        outcome(totp.verify(&totp.code_at(t - 1), t, None)),
        Ok((now - 1, -1))
    );
    assert_eq!(
        outcome(totp.verify(&totp.code_at(t), t - 1, None)),
        Ok((now, 1))
    );
}

#[test]
fn a_step_that_would_start_after_u64_max_seconds_is_never_accepted() {
    for period in [5u64, 30, 7, 600] {
        let totp = rfc_totp_with(8, period, 10, 10);
        let t = u64::MAX;
        let now = totp.step_at(t);
        for beyond in 1..=10u64 {
            let step = now + beyond;
            assert_eq!(totp.step_start(step), None);
            let result = totp.verify(&totp.code_at_step(step), t, None);
            assert!(
                result.is_err(),
                "period {period}: step {step} starts after u64::MAX seconds but was accepted: {result:?}"
            );
        }
    }
}

#[test]
fn every_accepted_step_has_a_representable_first_second() {
    for period in [5u64, 30, 600] {
        let totp = rfc_totp_with(8, period, 10, 10);
        for t in [u64::MAX, u64::MAX - 1, u64::MAX - period * 3] {
            let now = totp.step_at(t);
            for offset in -10i64..=10 {
                let Some(step) = now.checked_add_signed(offset) else {
                    continue;
                };
                if let Ok(v) = totp.verify(&totp.code_at_step(step), t, None) {
                    assert!(totp.step_start(v.step()).is_some(), "step {}", v.step());
                }
            }
        }
    }
}

#[test]
fn the_widest_window_at_the_ends_of_time_does_not_panic() {
    for period in [5u64, 30, 600] {
        let totp = Totp::new(
            &Secret::from_bytes(RFC_SEED).unwrap(),
            &policy(Algorithm::Sha512, 8, period, 10, 10),
        );
        for t in [
            0,
            1,
            period - 1,
            period,
            u64::MAX - period,
            u64::MAX - 1,
            u64::MAX,
        ] {
            for last in [None, Some(0), Some(u64::MAX), Some(totp.step_at(t))] {
                let _ = totp.verify(&totp.code_at(t), t, last);
                let _ = totp.verify(&code(0, Digits::EIGHT), t, last);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Clocks
// ---------------------------------------------------------------------------------------------

#[test]
fn manual_clock_set_before_1970_reports_before_unix_epoch() {
    assert_eq!(ManualClock::new(-1).now(), Err(ClockError::BeforeUnixEpoch));
    assert_eq!(
        ManualClock::new(i64::MIN).now(),
        Err(ClockError::BeforeUnixEpoch)
    );
    let clock = ManualClock::new(1_700_000_000);
    clock.set(-86_400);
    assert_eq!(clock.now(), Err(ClockError::BeforeUnixEpoch));
}

#[test]
fn manual_clock_reads_what_it_was_set_to_from_the_epoch_on() {
    assert_eq!(ManualClock::new(0).now(), Ok(0));
    assert_eq!(ManualClock::default().now(), Ok(0));
    assert_eq!(ManualClock::new(i64::MAX).now(), Ok(i64::MAX as u64));
    let clock = ManualClock::new(1_700_000_000);
    clock.advance(30);
    assert_eq!(clock.now(), Ok(1_700_000_030));
    clock.advance(-1_700_000_031);
    assert_eq!(clock.now(), Err(ClockError::BeforeUnixEpoch));
    clock.set(i64::MAX);
    clock.advance(1);
    assert_eq!(clock.now(), Ok(i64::MAX as u64));
}

#[test]
fn manual_clock_works_through_an_arc() {
    let clock = std::sync::Arc::new(ManualClock::new(59));
    assert_eq!(clock.now(), Ok(59));
    let shared: std::sync::Arc<dyn Clock> = clock.clone();
    clock.set(-5);
    assert_eq!(shared.now(), Err(ClockError::BeforeUnixEpoch));
}

#[test]
fn system_clock_reads_a_time_after_2020() {
    assert!(SystemClock.now().unwrap() > 1_577_836_800);
}

// ---------------------------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------------------------

#[test]
fn a_code_of_the_wrong_digit_count_is_malformed() {
    let six = rfc_totp();
    let eight = rfc_totp_with(8, 30, 1, 1);
    let t = 1_700_000_000;
    assert_eq!(
        six.verify(&eight.code_at(t), t, None),
        Err(Rejection::Malformed(CodeError::WrongLength {
            expected: 6,
            found: 8
        }))
    );
    assert_eq!(
        eight.verify(&six.code_at(t), t, None),
        Err(Rejection::Malformed(CodeError::WrongLength {
            expected: 8,
            found: 6
        }))
    );
    // The refused 6-digit code is the last six digits of the right 8-digit code: a shorter
    // code is refused as malformed, never checked as a prefix or suffix.
    assert_eq!(
        eight.code_at(t).to_string()[2..],
        six.code_at(t).to_string()
    );
}

#[test]
fn malformed_input_is_reported_with_the_code_error() {
    let totp = rfc_totp();
    let t = 1_700_000_000;
    assert_eq!(
        totp.verify_input("12345", t, None),
        Err(Rejection::Malformed(CodeError::WrongLength {
            expected: 6,
            found: 5
        }))
    );
    assert_eq!(
        totp.verify_input("+81804", t, None),
        Err(Rejection::Malformed(CodeError::InvalidCharacter {
            position: 1
        }))
    );
    assert_eq!(
        totp.verify_input("  ", t, None),
        Err(Rejection::Malformed(CodeError::Empty))
    );
}

// ---------------------------------------------------------------------------------------------
// PreparedKey against the independent HMAC
// ---------------------------------------------------------------------------------------------

fn algorithms() -> [Algorithm; 3] {
    [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512]
}

#[test]
fn prepared_key_agrees_with_the_hmac_oracle_at_every_key_length_edge() {
    // 64 is the SHA-1/SHA-256 block: longer keys are hashed first. 128 is the SHA-512 block
    // and also Secret::MAX_BYTES, so a SHA-512 key is never hashed.
    for len in [10usize, 16, 20, 32, 63, 64, 65, 100, 127, 128] {
        let key: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        let secret = Secret::from_bytes_legacy(&key).unwrap();
        for algorithm in algorithms() {
            let prepared = PreparedKey::new(&secret, algorithm);
            assert_eq!(prepared.algorithm(), algorithm);
            for counter in [0, 1, 255, 256, u64::from(u32::MAX), 1 << 32, u64::MAX] {
                assert_eq!(
                    prepared.truncated(counter),
                    oracle_truncated(algorithm, &key, counter),
                    "{algorithm:?}, key of {len} bytes, counter {counter}"
                );
            }
        }
    }
}

#[test]
fn keys_longer_than_secret_max_bytes_cannot_be_prepared() {
    assert_eq!(Secret::MAX_BYTES, 128);
    assert!(Secret::from_bytes_legacy(&[1u8; 129]).is_err());
    assert!(Secret::from_bytes(&[1u8; 200]).is_err());
}

#[test]
fn prepared_key_debug_is_redacted() {
    let secret = Secret::from_bytes(RFC_SEED).unwrap();
    let prepared = PreparedKey::new(&secret, Algorithm::Sha1);
    let shown = format!("{prepared:?}");
    assert_eq!(shown, "PreparedKey(SHA1, [REDACTED])");
    let totp = rfc_totp();
    let shown = format!("{totp:?}");
    assert!(shown.contains("REDACTED"));
    assert!(!shown.contains("12345678901234567890"));
    assert!(!shown.contains("3132333435"));
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

fn algorithm_strategy() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

/// Times from everywhere, with the edges (the epoch, 2^32, `u64::MAX`) well represented.
fn time_strategy() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        0u64..2_000,
        1_600_000_000u64..2_000_000_000,
        (1u64 << 32) - 1_000..(1u64 << 32) + 1_000,
        u64::MAX - 10_000..=u64::MAX,
        u64::MAX - 1_200..=u64::MAX,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn prepared_key_agrees_with_the_hmac_oracle_for_random_keys_and_counters(
        key in proptest::collection::vec(any::<u8>(), 10..=128),
        algorithm in algorithm_strategy(),
        counter in any::<u64>(),
        digits in 6u32..=8,
    ) {
        let secret = Secret::from_bytes_legacy(&key).unwrap();
        let prepared = PreparedKey::new(&secret, algorithm);
        let expected = oracle_truncated(algorithm, &key, counter);
        prop_assert_eq!(prepared.truncated(counter), expected);
        let digits = Digits::new(digits).unwrap();
        prop_assert_eq!(
            prepared.hotp(counter, digits),
            code(expected % digits.modulus(), digits)
        );
    }

    #[test]
    fn a_code_verifies_exactly_when_its_step_is_inside_the_window(
        code_time in time_strategy(),
        delta_steps in -6i64..=6,
        delta_seconds in 0u64..600,
        period in 5u64..=600,
        behind in 0u32..=3,
        ahead in 0u32..=3,
        algorithm in algorithm_strategy(),
    ) {
        let totp = Totp::new(
            &Secret::from_bytes(RFC_SEED).unwrap(),
            &policy(algorithm, 8, period, behind, ahead),
        );
        let code_step = totp.step_at(code_time);
        // A verification time some whole steps away, anywhere inside its own step.
        let Some(now_step) = code_step.checked_add_signed(delta_steps) else { return Ok(()) };
        let Some(now) = totp.step_start(now_step).and_then(|s| s.checked_add(delta_seconds % period)) else {
            return Ok(());
        };
        prop_assert_eq!(totp.step_at(now), now_step);
        let submitted = totp.code_at(code_time);
        let result = totp.verify(&submitted, now, None);
        let offset = -delta_steps;
        if (-i64::from(behind)..=i64::from(ahead)).contains(&offset) {
            let v = result.unwrap();
            // Its own step, or a larger one with the same digits.
            prop_assert!(v.step() >= code_step);
            prop_assert_eq!(totp.code_at_step(v.step()), submitted);
            prop_assert_eq!(i128::from(v.step()) - i128::from(now_step), i128::from(v.drift()));
        } else {
            match result {
                Err(e) => prop_assert_eq!(e, Rejection::WrongCode),
                // Only another step of the window with the same digits may accept it.
                Ok(v) => {
                    prop_assert_ne!(v.step(), code_step);
                    prop_assert_eq!(totp.code_at_step(v.step()), submitted);
                }
            }
        }
    }

    #[test]
    fn verify_never_panics_and_matches_the_reference_model(
        key in proptest::collection::vec(any::<u8>(), 16..64),
        algorithm in algorithm_strategy(),
        digits in 6u32..=8,
        period in 5u64..=600,
        behind in 0u32..=10,
        ahead in 0u32..=10,
        time in time_strategy(),
        last_kind in 0u8..4,
        last_raw in any::<u64>(),
        last_offset in -12i64..=12,
        code_kind in 0u8..3,
        code_raw in any::<u32>(),
        code_offset in -12i64..=12,
    ) {
        let policy = policy(algorithm, digits, period, behind, ahead);
        let totp = Totp::new(&Secret::from_bytes(&key).unwrap(), &policy);
        let digits = policy.digits();
        let now_step = totp.step_at(time);
        let last_used = match last_kind {
            0 => None,
            1 => Some(last_raw),
            _ => Some(now_step.saturating_add_signed(last_offset)),
        };
        // Mostly the code of a step near now, so that acceptance and replay are exercised.
        let submitted = match code_kind {
            0 => code(code_raw % digits.modulus(), digits),
            _ => totp.code_at_step(now_step.saturating_add_signed(code_offset)),
        };

        let result = totp.verify(&submitted, time, last_used);
        let expected = reference_verify(algorithm, &key, &policy, &submitted, time, last_used);
        prop_assert_eq!(outcome(result), expected);

        if let Ok(v) = result {
            // Never a step at or before the last used one.
            prop_assert!(last_used.is_none_or(|last| v.step() > last));
            // Always inside [now_step - behind, now_step + ahead].
            let lowest = i128::from(now_step) - i128::from(policy.window().behind());
            let highest = i128::from(now_step) + i128::from(policy.window().ahead());
            prop_assert!((lowest..=highest).contains(&i128::from(v.step())));
            prop_assert_eq!(i128::from(v.step()) - i128::from(now_step), i128::from(v.drift()));
            // A step that exists in time, whose code is the submitted one.
            prop_assert!(totp.step_start(v.step()).is_some());
            prop_assert_eq!(totp.code_at_step(v.step()), submitted);
        }
    }
}
