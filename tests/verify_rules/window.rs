//! The window.

use super::*;

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
