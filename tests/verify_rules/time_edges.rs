//! Time edges.

use super::*;

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
