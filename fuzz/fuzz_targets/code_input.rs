//! `Code::parse` on arbitrary text, for 6, 7 and 8 digits.
//!
//! Asserts: never panics; at most one digit count accepts a given input; an accepted input
//! has exactly `digits` characters that are ASCII or full-width digits, and those digits
//! (as ASCII) are the code's `to_string()`; `to_string()` and `to_grouped()` parse back to an
//! equal code; acceptance agrees with an independent model of the documented grammar.
#![no_main]

use libfuzzer_sys::fuzz_target;
use totp_enroll::{otp::Code, otp::Digits};

/// The ASCII digit of an ASCII or full-width digit.
fn ascii_digit(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        '０'..='９' => char::from_u32(u32::from(c) - 0xFF10 + u32::from(b'0')),
        _ => None,
    }
}

/// The documented grammar, written independently of the parser: optional surrounding
/// whitespace (ASCII or U+3000), then digits with at most one separator (space, U+3000 or
/// `-`) between two digits. Returns the digits as ASCII.
fn model(input: &str) -> Option<String> {
    if input.len() > Code::MAX_INPUT_BYTES {
        return None;
    }
    let body = input.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\u{3000}');
    let mut digits = String::new();
    let mut previous_was_digit = false;
    for c in body.chars() {
        if let Some(d) = ascii_digit(c) {
            digits.push(d);
            previous_was_digit = true;
        } else if matches!(c, ' ' | '\u{3000}' | '-') && previous_was_digit {
            previous_was_digit = false;
        } else {
            return None;
        }
    }
    previous_was_digit.then_some(digits)
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let expected = model(&input);
    let mut accepted = 0;
    for n in 6..=8u32 {
        let digits = Digits::new(n).expect("6..=8 are valid digit counts");
        let code = match Code::parse(&input, digits) {
            Ok(code) => code,
            Err(e) => {
                let _ = e.to_string();
                if let Some(model_digits) = &expected {
                    assert_ne!(
                        model_digits.len(),
                        usize::from(digits.get()),
                        "the grammar accepts this input but Code::parse refused it: {e:?}"
                    );
                }
                continue;
            }
        };
        accepted += 1;
        assert_eq!(code.digits(), digits);
        let in_input = input.chars().filter(|c| ascii_digit(*c).is_some()).count();
        assert_eq!(
            in_input,
            usize::from(digits.get()),
            "wrong number of digits in input"
        );

        let text = code.to_string();
        assert_eq!(
            Some(&text),
            expected.as_ref(),
            "value differs from the digits typed"
        );
        assert_eq!(text.len(), usize::from(digits.get()));
        assert!(text.bytes().all(|b| b.is_ascii_digit()));

        let again = Code::parse(&text, digits).expect("to_string() does not parse");
        assert!(again == code, "to_string() does not round-trip");
        let grouped = Code::parse(&code.to_grouped(), digits).expect("to_grouped() does not parse");
        assert!(grouped == code, "to_grouped() does not round-trip");
        assert_eq!(
            format!("{code:?}"),
            format!("Code([{} digits])", digits.get())
        );
    }
    assert!(accepted <= 1, "several digit counts accepted one input");
    if let Some(model_digits) = &expected
        && (6..=8).contains(&model_digits.len())
    {
        assert_eq!(
            accepted, 1,
            "the grammar accepts this input but Code::parse refused it"
        );
    }
});
