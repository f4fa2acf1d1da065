//! `RecoveryCode::parse` on arbitrary text.
//!
//! Asserts: never panics; the verdict (the canonical symbols, or the exact error with its
//! position or count) equals an independent model of the documented grammar; every error is
//! one of the documented parse errors and formats; an accepted code's `grouped()` is 19 bytes,
//! four groups of four Crockford symbols joined by `-`, is the model's canonical symbols, and
//! parses back to an equal code (as does its ungrouped and lowercase form); `Debug` is redacted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use totp_enroll::{lifecycle::RecoveryCode, error::RecoveryCodeError};

const ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The canonical symbol of a typed character: ASCII or full-width, any case, aliases
/// `O` → `0`, `I`/`L` → `1`.
fn model_symbol(c: char) -> Option<char> {
    let ascii = match c {
        '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => char::from_u32(u32::from(c) - 0xFEE0)?,
        _ => c,
    };
    let upper = ascii.to_ascii_uppercase();
    match upper {
        'O' => Some('0'),
        'I' | 'L' => Some('1'),
        _ if upper.is_ascii() && ALPHABET.contains(upper) => Some(upper),
        _ => None,
    }
}

fn model_separator(c: char) -> bool {
    "- \u{3000}\u{FF0D}\u{30FC}\u{2010}\u{2011}\u{2012}\u{2013}\u{2212}".contains(c)
}

/// The documented grammar, written independently of the parser; `Ok` holds the canonical
/// symbols.
fn model(input: &str) -> Result<String, RecoveryCodeError> {
    if input.len() > RecoveryCode::MAX_INPUT_BYTES {
        return Err(RecoveryCodeError::InputTooLong);
    }
    let body = input.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\u{3000}');
    let chars: Vec<char> = body.chars().collect();
    if chars.is_empty() {
        return Err(RecoveryCodeError::Empty);
    }
    let mut symbols = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let position = i + 1;
        if let Some(s) = model_symbol(c) {
            symbols.push(s);
        } else if model_separator(c) {
            let previous_is_symbol = i > 0 && model_symbol(chars[i - 1]).is_some();
            if !previous_is_symbol || position == chars.len() {
                return Err(RecoveryCodeError::MisplacedSeparator { position });
            }
        } else {
            return Err(RecoveryCodeError::InvalidCharacter { position });
        }
    }
    if symbols.chars().count() != RecoveryCode::SYMBOLS {
        return Err(RecoveryCodeError::WrongLength {
            expected: RecoveryCode::SYMBOLS,
            found: symbols.chars().count(),
        });
    }
    Ok(symbols)
}

fuzz_target!(|input: &str| {
    let expected = model(input);
    let code = match RecoveryCode::parse(input) {
        Ok(code) => code,
        Err(e) => {
            let _ = e.to_string();
            assert!(
                matches!(
                    e,
                    RecoveryCodeError::Empty
                        | RecoveryCodeError::InputTooLong
                        | RecoveryCodeError::InvalidCharacter { .. }
                        | RecoveryCodeError::MisplacedSeparator { .. }
                        | RecoveryCodeError::WrongLength { expected: 16, .. }
                ),
                "undocumented parse error {e:?}"
            );
            if let RecoveryCodeError::InvalidCharacter { position }
            | RecoveryCodeError::MisplacedSeparator { position } = e
            {
                assert!(position >= 1 && position <= input.chars().count());
            }
            assert_eq!(Err(e), expected, "the parser and the grammar disagree");
            return;
        }
    };
    let grouped = code.grouped();
    assert_eq!(grouped.len(), 19, "grouped form {:?}", grouped.as_str());
    assert!(grouped.is_ascii());
    for (i, c) in grouped.chars().enumerate() {
        if i % 5 == 4 {
            assert_eq!(c, '-', "grouped form {:?}", grouped.as_str());
        } else {
            assert!(ALPHABET.contains(c), "grouped form {:?}", grouped.as_str());
        }
    }
    let canonical = grouped.replace('-', "");
    assert_eq!(
        Ok(canonical.clone()),
        expected,
        "the parser and the grammar disagree"
    );

    let again = RecoveryCode::parse(&grouped).expect("grouped() does not parse");
    assert!(again == code, "grouped() does not round-trip");
    let plain = RecoveryCode::parse(&canonical).expect("the canonical form does not parse");
    assert!(plain == code, "the canonical form does not round-trip");
    let lower = RecoveryCode::parse(&grouped.to_lowercase()).expect("lowercase does not parse");
    assert!(lower == code, "lowercase does not round-trip");
    assert_eq!(format!("{code:?}"), "RecoveryCode(<redacted>)");
});
