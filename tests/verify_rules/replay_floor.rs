//! The replay floor.

use super::*;

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
