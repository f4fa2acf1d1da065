//! `KeyRing::from_text` on arbitrary text (the sealing keys' configuration form).
//!
//! Asserts:
//! * it never panics, and every refusal formats (`Display`, `Debug`) without panicking;
//! * a refusal never repeats key material: no 12-character run of base64 text (with upper
//!   case, lower case and a digit) from any `ID=VALUE` entry's value appears in its
//!   `Display` or `Debug` text;
//! * an accepted ring is a fixed point of the canonical form: `export_text()` loads back to a
//!   ring whose export is byte-identical and whose key ids are the same;
//! * an accepted ring seals with its current key and opens what it sealed (and the reloaded
//!   ring opens it too).
#![no_main]

use libfuzzer_sys::fuzz_target;
use totp_enroll::{AccountId, KeyRing, otp::Secret};

/// The values of the `ID=VALUE` entries of `text` (the key material a refusal must not echo).
fn entry_values(text: &str) -> impl Iterator<Item = &str> {
    text.split(['\n', ';'])
        .filter_map(|entry| entry.split_once('='))
        .map(|(_, value)| value.split('#').next().unwrap_or("").trim())
}

/// A run of base64 characters with an upper-case letter, a lower-case letter and a digit:
/// key material, never a word or number of a message (which are spaced, snake_case or
/// CamelCase words and decimal numbers).
fn looks_like_key_material(fragment: &[char]) -> bool {
    fragment.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/'))
        && fragment.iter().any(char::is_ascii_uppercase)
        && fragment.iter().any(char::is_ascii_lowercase)
        && fragment.iter().any(char::is_ascii_digit)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match KeyRing::from_text(&text) {
        Err(refused) => {
            let shown = format!("{refused} {refused:?} {refused:#?}");
            for value in entry_values(&text) {
                let chars: Vec<char> = value.chars().collect();
                for fragment in chars.windows(12).filter(|w| looks_like_key_material(w)) {
                    let fragment: String = fragment.iter().collect();
                    assert!(
                        !shown.contains(&fragment),
                        "a refusal repeats input text {fragment:?}: {shown}"
                    );
                }
            }
        }
        Ok(ring) => {
            let exported = ring.export_text();
            let reloaded = KeyRing::from_text(&exported).expect("an exported ring loads");
            assert_eq!(reloaded.export_text().as_str(), exported.as_str());
            assert_eq!(reloaded.key_ids(), ring.key_ids());
            let account = AccountId::new("fuzz-account").expect("a valid account id");
            let secret = Secret::from_bytes(&[0x5a; 20]).expect("a 160-bit secret");
            let sealed = ring.seal(&secret, &account).expect("the current key seals");
            let opened = reloaded.open(&sealed, &account).expect("the reloaded ring opens");
            assert_eq!(opened.expose_secret_bytes(), secret.expose_secret_bytes());
        }
    }
});
