//! `Totp::verify` under arbitrary secrets, policies, times, replay floors and codes.
//!
//! Asserts: never panics; never accepts a step at or below `last_used`; an accepted step lies
//! in `[now_step - behind, now_step + ahead]` (checked arithmetic) with `drift` its offset,
//! starts at a representable Unix time (`step_start` is `Some`), and its code is the
//! submitted one; and the whole verdict (step, drift, `Replayed` or
//! `WrongCode`) equals a straightforward model that scans the window in the clear. Half of
//! the runs submit a real code of a step near now (`aim`), so acceptance and replay paths are
//! reached, not only `WrongCode`.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use totp_enroll::{otp::Algorithm, otp::Code, error::CodeError, otp::Digits, OtpPolicy, otp::Rejection, otp::Secret, otp::Totp};

#[derive(Debug, Arbitrary)]
enum LastUsed {
    /// A raw step number.
    Absolute(u64),
    /// `now_step + offset`, so the floor lands inside the window.
    Relative(i8),
}

#[derive(Debug, Arbitrary)]
struct Input {
    secret: Vec<u8>,
    algorithm: u8,
    digits: u8,
    period: u16,
    behind: u8,
    ahead: u8,
    time: u64,
    last_used: Option<LastUsed>,
    code_value: u32,
    /// `Some(offset)`: submit the true code of step `now_step + offset` instead of `code_value`.
    aim: Option<i8>,
}

fn padded(value: u32, digits: Digits) -> String {
    format!(
        "{:0width$}",
        value % digits.modulus(),
        width = usize::from(digits.get())
    )
}

fuzz_target!(|input: Input| {
    let mut key = input.secret;
    key.truncate(Secret::MAX_BYTES);
    let Ok(secret) = Secret::from_bytes(&key) else {
        return;
    };
    let algorithm = match input.algorithm % 3 {
        0 => Algorithm::Sha1,
        1 => Algorithm::Sha256,
        _ => Algorithm::Sha512,
    };
    let digits_n = 6 + u32::from(input.digits % 3);
    let behind = u32::from(input.behind % 11);
    let ahead = u32::from(input.ahead % 11);
    let Ok(policy) = OtpPolicy::builder("Fuzz")
        .algorithm(algorithm)
        .digits(digits_n)
        .period(u64::from(input.period))
        .window(behind, ahead)
        .build()
    else {
        return;
    };
    let totp = Totp::new(&secret, &policy);
    let digits = totp.digits();
    let period = u64::from(totp.period());
    let time = input.time;

    let now_step = totp.step_at(time);
    assert_eq!(now_step, time / period);
    let start = totp
        .step_start(now_step)
        .expect("the current step starts at or before now");
    assert!(start <= time && time - start < period);
    assert!(totp.code_at(time) == totp.code_at_step(now_step));

    let last_used = match input.last_used {
        None => None,
        Some(LastUsed::Absolute(step)) => Some(step),
        Some(LastUsed::Relative(offset)) => now_step.checked_add_signed(i64::from(offset)),
    };
    let text = match input.aim {
        Some(offset) => match now_step.checked_add_signed(i64::from(offset)) {
            Some(step) => totp.code_at_step(step).to_string(),
            None => padded(input.code_value, digits),
        },
        None => padded(input.code_value, digits),
    };
    let code = Code::parse(&text, digits).expect("a zero-padded code of the policy's width parses");

    let result = totp.verify(&code, time, last_used);

    // The rules, stated directly.
    if let Ok(verified) = result {
        let step = verified.step();
        if let Some(last) = last_used {
            assert!(
                step > last,
                "accepted step {step} at or below last used {last}"
            );
        }
        let low = now_step.saturating_sub(u64::from(behind));
        let high = now_step
            .checked_add(u64::from(ahead))
            .expect("no overflow: period >= 5");
        assert!(
            (low..=high).contains(&step),
            "accepted step {step} outside [{low}, {high}]"
        );
        assert_eq!(
            now_step.checked_add_signed(i64::from(verified.drift())),
            Some(step)
        );
        assert!(
            totp.step_start(step).is_some(),
            "accepted step {step} starts after u64::MAX s"
        );
        assert!(
            totp.code_at_step(step) == code,
            "accepted a step whose code differs"
        );
    }

    // The whole verdict, against a model that scans the window in the clear.
    let mut best: Option<(u64, i8)> = None;
    let mut replayed = false;
    for drift in -(behind as i8)..=(ahead as i8) {
        // A step exists when its first second is a representable Unix time.
        let Some(step) = now_step
            .checked_add_signed(i64::from(drift))
            .filter(|step| totp.step_start(*step).is_some())
        else {
            continue;
        };
        if totp.code_at_step(step) != code {
            continue;
        }
        if last_used.is_none_or(|last| step > last) {
            best = Some((step, drift));
        } else {
            replayed = true;
        }
    }
    match (best, result) {
        (Some((step, drift)), Ok(v)) => {
            assert_eq!(
                (v.step(), v.drift()),
                (step, drift),
                "not the largest matching step"
            );
        }
        (None, Err(Rejection::Replayed)) => assert!(replayed, "Replayed without a replayed match"),
        (None, Err(Rejection::WrongCode)) => assert!(!replayed, "WrongCode for a replayed code"),
        (expected, got) => panic!("model {expected:?} (replayed {replayed}) vs verify {got:?}"),
    }

    // The same verdict through the text entry points.
    assert_eq!(totp.verify_input(&text, time, last_used), result);
    assert_eq!(
        totp.verify_input(&code.to_grouped(), time, last_used),
        result
    );

    // A code of another width is malformed, never compared.
    let other = Digits::new(if digits_n == 8 { 6 } else { digits_n + 1 }).expect("6..=8");
    let wrong_width = Code::parse(&padded(input.code_value, other), other).expect("parses");
    assert_eq!(
        totp.verify(&wrong_width, time, last_used),
        Err(Rejection::Malformed(CodeError::WrongLength {
            expected: digits.get(),
            found: usize::from(other.get()),
        }))
    );
});
