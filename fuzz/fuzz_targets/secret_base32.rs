//! `Secret::from_base32` and `Secret::from_base32_legacy` on arbitrary text.
//!
//! Asserts, for each constructor that accepts the input:
//! * the canonical text (`to_base32`) is exactly the input with separators and `=` padding
//!   removed, uppercased (only canonical encodings are accepted);
//! * `to_base32()` and `to_setup_key()` parse back (with the same constructor) to the same
//!   bytes, and the setup key is that text in space-separated groups of four;
//! * the key length is within the constructor's bounds;
//! * the two constructors agree: strict acceptance implies legacy acceptance of the same
//!   bytes, and a legacy key of at least 128 bits is accepted strictly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use totp_enroll::{otp::Secret, error::SecretError};

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '-' | '\u{3000}')
}

fn check(
    text: &str,
    parsed: &Result<Secret, SecretError>,
    parse: fn(&str) -> Result<Secret, SecretError>,
    min_bytes: usize,
) {
    let secret = match parsed {
        Ok(s) => s,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let bytes = secret.expose_secret_bytes();
    assert_eq!(bytes.len(), secret.len());
    assert!((min_bytes..=Secret::MAX_BYTES).contains(&bytes.len()));
    assert!(!secret.is_empty());

    let canonical = secret.to_base32();
    let expected: String = text
        .chars()
        .filter(|c| !is_separator(*c) && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    assert_eq!(
        canonical.as_str(),
        expected,
        "accepted a non-canonical encoding"
    );
    assert!(
        canonical
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    );

    let again = parse(&canonical).expect("to_base32() of an accepted key does not parse");
    assert_eq!(again.expose_secret_bytes(), bytes);
    assert!(again == *secret);

    let setup = secret.to_setup_key();
    let groups: Vec<&str> = setup.split(' ').collect();
    assert_eq!(groups.concat(), canonical.as_str());
    if let Some((last, full)) = groups.split_last() {
        assert!(full.iter().all(|g| g.len() == 4));
        assert!((1..=4).contains(&last.len()));
    }
    let from_setup = parse(&setup).expect("to_setup_key() of an accepted key does not parse");
    assert_eq!(from_setup.expose_secret_bytes(), bytes);

    let _ = format!("{secret:?}");
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let strict = Secret::from_base32(&text);
    let legacy = Secret::from_base32_legacy(&text);
    check(&text, &strict, Secret::from_base32, Secret::MIN_BYTES);
    check(
        &text,
        &legacy,
        Secret::from_base32_legacy,
        Secret::LEGACY_MIN_BYTES,
    );

    match (&strict, &legacy) {
        (Ok(s), Ok(l)) => assert_eq!(s.expose_secret_bytes(), l.expose_secret_bytes()),
        (Ok(_), Err(e)) => panic!("strict accepted, legacy refused: {e:?}"),
        (Err(e), Ok(l)) => assert!(
            l.len() < Secret::MIN_BYTES,
            "legacy accepted a {}-byte key that strict refused: {e:?}",
            l.len()
        ),
        (Err(s), Err(l)) => {
            // Both refuse: for the same reason unless strict's is only the higher minimum.
            if !matches!(s, SecretError::TooShort { .. }) {
                assert_eq!(s, l);
            }
        }
    }
});
