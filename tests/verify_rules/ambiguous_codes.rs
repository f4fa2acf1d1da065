//! The same digits in two eligible steps: the largest is reported.

use super::*;

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
