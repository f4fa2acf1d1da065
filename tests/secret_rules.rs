//! The rules of [`Secret`]: generation, the base32 setup-key grammar (lenient in form, strict in
//! content), the length bounds, redaction, and the text forms shown to a customer.
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

use proptest::prelude::*;
use totp_enroll::{error::SecretError, otp::Secret};

/// 20 bytes: `"Hello!\xDE\xAD\xBE\xEF"` twice.
const KEY_B32: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const KEY_BYTES: &[u8] = b"Hello!\xde\xad\xbe\xefHello!\xde\xad\xbe\xef";

/// 16 bytes `"0123456789abcdef"`: 26 base32 characters, so the last one has 2 unused bits.
const KEY16_B32: &str = "GAYTEMZUGU3DOOBZMFRGGZDFMY";
const KEY16_BYTES: &[u8] = b"0123456789abcdef";

/// The sample setup key printed in the seed manual.
const MANUAL_SAMPLE_KEY: &str = "ILEHO2TX7RXH3TQUXSJ58GCJCDOXO";

fn parse(text: &str) -> Result<Vec<u8>, SecretError> {
    Secret::from_base32(text).map(|s| s.expose_secret_bytes().to_vec())
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

#[test]
fn generated_secret_has_20_bytes_by_default() {
    let secret = Secret::generate().unwrap();
    assert_eq!(secret.len(), 20);
    assert_eq!(Secret::DEFAULT_BYTES, 20);
    assert!(!secret.is_empty());
    assert_eq!(secret.to_base32().len(), 32);
}

#[test]
fn generate_with_len_refuses_15_bytes_as_under_128_bits() {
    assert_eq!(
        Secret::generate_with_len(15).unwrap_err(),
        SecretError::TooShort {
            bits: 120,
            min_bits: 128
        }
    );
    assert!(Secret::generate_with_len(0).is_err());
}

#[test]
fn generate_with_len_accepts_16_bytes() {
    assert_eq!(Secret::generate_with_len(16).unwrap().len(), 16);
}

#[test]
fn generate_with_len_refuses_more_than_128_bytes() {
    assert_eq!(Secret::generate_with_len(128).unwrap().len(), 128);
    assert_eq!(
        Secret::generate_with_len(129).unwrap_err(),
        SecretError::TooLong {
            bits: 1032,
            max_bits: 1024
        }
    );
}

#[test]
fn two_generated_secrets_differ() {
    let a = Secret::generate().unwrap();
    let b = Secret::generate().unwrap();
    assert_ne!(a, b);
    assert_ne!(a.expose_secret_bytes(), b.expose_secret_bytes());
}

#[test]
fn generated_secret_is_not_all_zero_bytes() {
    let secret = Secret::generate().unwrap();
    assert!(secret.expose_secret_bytes().iter().any(|&b| b != 0));
}

// ---------------------------------------------------------------------------------------------
// base32: lenient in form
// ---------------------------------------------------------------------------------------------

#[test]
fn uppercase_unspaced_key_is_accepted() {
    assert_eq!(parse(KEY_B32).unwrap(), KEY_BYTES);
}

#[test]
fn lowercase_key_is_accepted() {
    assert_eq!(parse(&KEY_B32.to_lowercase()).unwrap(), KEY_BYTES);
    assert_eq!(
        parse("JbSwY3dPeHpK3pXpJbSwY3dPeHpK3pXp").unwrap(),
        KEY_BYTES
    );
}

#[test]
fn key_in_space_separated_groups_is_accepted() {
    assert_eq!(
        parse("JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP").unwrap(),
        KEY_BYTES
    );
    assert_eq!(
        parse("  JBSWY3DP   EHPK3PXPJBSWY3DPEHPK3PXP  ").unwrap(),
        KEY_BYTES
    );
}

#[test]
fn key_in_hyphen_separated_groups_is_accepted() {
    assert_eq!(
        parse("JBSW-Y3DP-EHPK-3PXP-JBSW-Y3DP-EHPK-3PXP").unwrap(),
        KEY_BYTES
    );
}

#[test]
fn key_with_tabs_and_line_breaks_is_accepted() {
    assert_eq!(
        parse("JBSW\tY3DP\tEHPK\t3PXP\r\nJBSW Y3DP\nEHPK 3PXP\n").unwrap(),
        KEY_BYTES
    );
}

#[test]
fn key_with_ideographic_spaces_is_accepted() {
    assert_eq!(
        parse("JBSW\u{3000}Y3DP\u{3000}EHPK\u{3000}3PXP\u{3000}JBSWY3DPEHPK3PXP").unwrap(),
        KEY_BYTES
    );
}

#[test]
fn key_with_trailing_padding_is_accepted() {
    assert_eq!(parse(&format!("{KEY16_B32}======")).unwrap(), KEY16_BYTES);
    assert_eq!(parse(&format!("{KEY16_B32}=")).unwrap(), KEY16_BYTES);
    assert_eq!(parse(&format!("{KEY16_B32}== ==\n")).unwrap(), KEY16_BYTES);
    assert_eq!(parse(&format!("{KEY_B32}========")).unwrap(), KEY_BYTES);
}

#[test]
fn setup_key_form_is_accepted_back() {
    let secret = Secret::from_bytes(KEY16_BYTES).unwrap();
    assert_eq!(parse(&secret.to_setup_key()).unwrap(), KEY16_BYTES);
    assert_eq!(
        parse(&secret.to_setup_key().to_lowercase()).unwrap(),
        KEY16_BYTES
    );
}

// ---------------------------------------------------------------------------------------------
// base32: strict in content
// ---------------------------------------------------------------------------------------------

#[test]
fn sample_key_from_the_seed_manual_is_rejected_for_its_invalid_character() {
    assert_eq!(
        Secret::from_base32(MANUAL_SAMPLE_KEY).unwrap_err(),
        SecretError::InvalidCharacter { position: 21 }
    );
    assert_eq!(MANUAL_SAMPLE_KEY.chars().nth(20), Some('8'));
    // The legacy constructor applies the same alphabet.
    assert_eq!(
        Secret::from_base32_legacy(MANUAL_SAMPLE_KEY).unwrap_err(),
        SecretError::InvalidCharacter { position: 21 }
    );
}

#[test]
fn sample_key_error_message_names_the_alphabet_and_never_quotes_the_key() {
    let err = Secret::from_base32(MANUAL_SAMPLE_KEY).unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(MANUAL_SAMPLE_KEY), "{text}");
        let chars: Vec<char> = MANUAL_SAMPLE_KEY.chars().collect();
        for window in chars.windows(4) {
            let piece: String = window.iter().collect();
            assert!(!text.contains(&piece), "{text:?} quotes {piece:?}");
            assert!(
                !text.to_uppercase().contains(&piece),
                "{text:?} quotes {piece:?}"
            );
        }
    }
    let display = err.to_string();
    assert!(
        display.contains("character outside the base32 alphabet"),
        "{display}"
    );
    assert!(display.contains("21"), "{display}");
}

#[test]
fn digit_zero_is_an_invalid_character() {
    assert_eq!(
        parse("JBSWY3DPEHPK3PXPJBSWY0DPEHPK3PXP"),
        Err(SecretError::InvalidCharacter { position: 22 })
    );
}

#[test]
fn digit_one_is_an_invalid_character() {
    assert_eq!(
        parse("1BSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
        Err(SecretError::InvalidCharacter { position: 1 })
    );
}

#[test]
fn digit_eight_is_an_invalid_character() {
    assert_eq!(
        parse("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PX8"),
        Err(SecretError::InvalidCharacter { position: 32 })
    );
}

#[test]
fn digit_nine_is_an_invalid_character() {
    assert_eq!(
        parse("JBSW Y3DP 9HPK 3PXP JBSW Y3DP EHPK 3PXP"),
        Err(SecretError::InvalidCharacter { position: 11 })
    );
}

#[test]
fn punctuation_is_an_invalid_character() {
    for p in [
        '.', ',', '_', '+', '/', '!', '?', ':', ';', '"', '\'', '*', '#', '(', '@',
    ] {
        let text = format!("JBSWY3DP{p}EHPK3PXPJBSWY3DPEHPK3PXP");
        assert_eq!(
            parse(&text),
            Err(SecretError::InvalidCharacter { position: 9 }),
            "{p:?}"
        );
    }
}

#[test]
fn full_width_letter_is_an_invalid_character() {
    // 'Ａ' (U+FF21) is what an IME in full-width mode types for 'A'.
    assert_eq!(
        parse("JBＡWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
        Err(SecretError::InvalidCharacter { position: 3 })
    );
}

#[test]
fn accented_letter_is_an_invalid_character_counted_in_characters_not_bytes() {
    assert_eq!(
        parse("é JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
        Err(SecretError::InvalidCharacter { position: 1 })
    );
    assert_eq!(
        parse("\u{3000}\u{3000}JBSé"),
        Err(SecretError::InvalidCharacter { position: 6 })
    );
}

#[test]
fn control_characters_other_than_tab_and_line_breaks_are_invalid() {
    assert_eq!(
        parse("JBSWY3DP\0EHPK3PXPJBSWY3DPEHPK3PXP"),
        Err(SecretError::InvalidCharacter { position: 9 })
    );
    assert_eq!(
        parse("JBSWY3DP\u{b}EHPK3PXPJBSWY3DPEHPK3PXP"),
        Err(SecretError::InvalidCharacter { position: 9 })
    );
}

#[test]
fn padding_followed_by_key_characters_is_misplaced() {
    assert_eq!(
        parse("JBSW=Y3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
        Err(SecretError::MisplacedPadding { position: 6 })
    );
    assert_eq!(
        parse(&format!("{KEY16_B32}==A")),
        Err(SecretError::MisplacedPadding { position: 29 })
    );
    assert_eq!(
        parse(&format!("={KEY_B32}")),
        Err(SecretError::MisplacedPadding { position: 2 })
    );
}

#[test]
fn length_of_1_3_or_6_modulo_8_is_impossible() {
    for (text, length) in [
        ("A".to_owned(), 1),
        ("AAA".to_owned(), 3),
        ("AAAAAA".to_owned(), 6),
        (format!("{KEY_B32}A"), 33),
        (format!("{KEY_B32}AAA"), 35),
        (format!("{KEY_B32} AAAA-AA"), 38),
    ] {
        assert_eq!(
            parse(&text),
            Err(SecretError::InvalidLength { length }),
            "{text}"
        );
    }
}

#[test]
fn non_zero_unused_trailing_bits_are_refused() {
    // 26 characters carry 130 bits: the last character's two low bits must be zero.
    let mistyped = format!("{}Z", &KEY16_B32[..25]);
    assert_eq!(parse(&mistyped), Err(SecretError::NonZeroTrailingBits));
    // Each possible position of unused bits: 2, 4, 5 and 7 characters modulo 8.
    for text in [
        format!("{KEY_B32}AB"),
        format!("{KEY_B32}AAAB"),
        format!("{KEY_B32}AAAAB"),
        format!("{KEY_B32}AAAAAAB"),
    ] {
        assert_eq!(
            parse(&text),
            Err(SecretError::NonZeroTrailingBits),
            "{text}"
        );
    }
    // The same lengths with zero trailing bits are fine.
    for text in [
        format!("{KEY_B32}AE"),
        format!("{KEY_B32}AAAQ"),
        format!("{KEY_B32}AAAAC"),
        format!("{KEY_B32}AAAAAAI"),
    ] {
        assert!(parse(&text).is_ok(), "{text}");
    }
}

#[test]
fn key_under_128_bits_is_refused_by_from_base32() {
    // 15 bytes (120 bits).
    assert_eq!(
        parse("AAAQEAYEAUDAOCAJBIFQYDIO"),
        Err(SecretError::TooShort {
            bits: 120,
            min_bits: 128
        })
    );
    // 10 bytes (80 bits).
    assert_eq!(
        parse("JBSWY3DPEHPK3PXP"),
        Err(SecretError::TooShort {
            bits: 80,
            min_bits: 128
        })
    );
}

#[test]
fn key_of_exactly_128_bits_is_accepted_by_from_base32() {
    assert_eq!(parse(KEY16_B32).unwrap().len(), 16);
}

#[test]
fn legacy_parse_accepts_an_80_bit_key() {
    let secret = Secret::from_base32_legacy("JBSWY3DPEHPK3PXP").unwrap();
    assert_eq!(secret.expose_secret_bytes(), b"Hello!\xde\xad\xbe\xef");
    assert_eq!(secret.len(), 10);
}

#[test]
fn legacy_parse_refuses_a_key_under_80_bits() {
    // 9 bytes (72 bits), with its canonical padding.
    assert_eq!(
        Secret::from_base32_legacy("AAAQEAYEAUDAOCA=").unwrap_err(),
        SecretError::TooShort {
            bits: 72,
            min_bits: 80
        }
    );
}

#[test]
fn legacy_parse_applies_every_other_rule() {
    assert_eq!(
        Secret::from_base32_legacy("").unwrap_err(),
        SecretError::Empty
    );
    assert_eq!(
        Secret::from_base32_legacy("JBSWY3DPEHPK3P").unwrap_err(),
        SecretError::InvalidLength { length: 14 }
    );
    assert_eq!(
        Secret::from_base32_legacy(&"A".repeat(207)).unwrap_err(),
        SecretError::TooLong {
            bits: 1032,
            max_bits: 1024
        }
    );
}

#[test]
fn key_over_1024_bits_is_refused() {
    // 207 characters: 129 bytes.
    assert_eq!(
        parse(&"A".repeat(207)),
        Err(SecretError::TooLong {
            bits: 1032,
            max_bits: 1024
        })
    );
    // 205 characters: 128 bytes, the largest accepted.
    assert_eq!(parse(&"A".repeat(205)).unwrap(), vec![0u8; 128]);
}

#[test]
fn input_over_512_bytes_is_refused_unread() {
    assert_eq!(Secret::MAX_INPUT_BYTES, 512);
    let padded = format!("{KEY_B32}{}", " ".repeat(512 - KEY_B32.len()));
    assert_eq!(parse(&padded).unwrap(), KEY_BYTES);
    let over = format!("{padded} ");
    assert_eq!(parse(&over), Err(SecretError::InputTooLong { max: 512 }));
    // Refused before examination: an invalid character in it is not reported.
    assert_eq!(
        parse(&format!("8{}", "A".repeat(600))),
        Err(SecretError::InputTooLong { max: 512 })
    );
}

#[test]
fn long_input_of_only_separators_is_too_long_not_empty() {
    assert_eq!(
        parse(&" ".repeat(513)),
        Err(SecretError::InputTooLong { max: 512 })
    );
    // Multi-byte separators count in bytes: 171 ideographic spaces are 513 bytes.
    assert_eq!(
        parse(&"\u{3000}".repeat(171)),
        Err(SecretError::InputTooLong { max: 512 })
    );
}

#[test]
fn empty_key_is_refused_as_empty() {
    assert_eq!(parse(""), Err(SecretError::Empty));
}

#[test]
fn key_of_only_separators_or_padding_is_refused_as_empty() {
    for text in [" ", "  \t\r\n ", "----", "\u{3000}", "========", " = - = "] {
        assert_eq!(parse(text), Err(SecretError::Empty), "{text:?}");
    }
}

#[test]
fn no_error_display_or_debug_contains_the_input_text() {
    let cases: Vec<String> = vec![
        MANUAL_SAMPLE_KEY.to_owned(),
        "JBSWY3DPEHPK3PXPJBSWY0DPEHPK3PXP".to_owned(),
        "mfrggzdfmztwq2lknnwg23tpobyxe8".to_owned(),
        "JBSW=Y3DPEHPK3PXPJBSWY3DPEHPK3PXP".to_owned(),
        format!("{KEY_B32}AAA"),
        format!("{}Z", &KEY16_B32[..25]),
        "AAAQEAYEAUDAOCAJBIFQYDIO".to_owned(),
        "JBSWY3DPEHPK3PXP".to_owned(),
        "QRSTUVWXYZ234567".repeat(13),
        format!("QRSTUVWXYZ{}", "234567".repeat(100)),
        "ＡＢＣＤＥＦＧＨ".to_owned(),
        " ---- ".to_owned(),
        "A".repeat(207),
    ];
    for input in &cases {
        let err = Secret::from_base32(input).unwrap_err();
        let pieces: Vec<char> = input.chars().filter(|c| !c.is_whitespace()).collect();
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains(input.as_str()), "{text:?}");
            let upper = text.to_uppercase();
            for window in pieces.windows(4) {
                let piece: String = window.iter().collect::<String>().to_uppercase();
                assert!(
                    !upper.contains(&piece),
                    "{text:?} quotes {piece:?} of {input:?}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Raw bytes
// ---------------------------------------------------------------------------------------------

#[test]
fn from_bytes_refuses_under_16_bytes_and_over_128() {
    assert_eq!(
        Secret::from_bytes(&[7u8; 15]).unwrap_err(),
        SecretError::TooShort {
            bits: 120,
            min_bits: 128
        }
    );
    assert_eq!(Secret::from_bytes(&[7u8; 16]).unwrap().len(), 16);
    assert_eq!(Secret::from_bytes(&[7u8; 128]).unwrap().len(), 128);
    assert_eq!(
        Secret::from_bytes(&[7u8; 129]).unwrap_err(),
        SecretError::TooLong {
            bits: 1032,
            max_bits: 1024
        }
    );
}

#[test]
fn from_bytes_legacy_accepts_10_bytes_and_refuses_9() {
    assert_eq!(Secret::from_bytes_legacy(&[7u8; 10]).unwrap().len(), 10);
    assert_eq!(
        Secret::from_bytes_legacy(&[7u8; 9]).unwrap_err(),
        SecretError::TooShort {
            bits: 72,
            min_bits: 80
        }
    );
    assert!(Secret::from_bytes_legacy(&[]).is_err());
}

// ---------------------------------------------------------------------------------------------
// Redaction and text forms
// ---------------------------------------------------------------------------------------------

#[test]
fn debug_of_a_secret_is_redacted_and_shows_neither_base32_nor_hex() {
    let secret = Secret::from_bytes(KEY_BYTES).unwrap();
    let debug = format!("{secret:?}");
    assert_eq!(debug, "Secret([REDACTED 160 bits])");
    let alternate = format!("{secret:#?}");
    let b32 = secret.to_base32();
    let hex = to_hex(KEY_BYTES);
    for text in [&debug, &alternate] {
        assert!(!text.contains(b32.as_str()));
        assert!(!text.to_uppercase().contains(&b32[..8]));
        assert!(!text.contains(&hex));
        assert!(!text.contains(&hex[..8]));
        assert!(!text.to_lowercase().contains(&hex[..8]));
        assert!(!text.contains("Hello"));
    }
    let generated = Secret::generate().unwrap();
    let debug = format!("{generated:?}");
    assert!(!debug.contains(&generated.to_base32()[..8]));
    assert!(!debug.contains(&to_hex(generated.expose_secret_bytes())[..8]));
}

#[test]
fn to_base32_is_uppercase_and_unpadded() {
    let secret = Secret::from_bytes(KEY16_BYTES).unwrap();
    assert_eq!(secret.to_base32().as_str(), KEY16_B32);
    let generated = Secret::generate_with_len(17).unwrap();
    let text = generated.to_base32();
    assert!(!text.contains('='));
    assert!(
        text.chars()
            .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
    );
    assert_eq!(text.len(), (17 * 8usize).div_ceil(5));
}

#[test]
fn setup_key_is_groups_of_four_separated_by_single_spaces() {
    let secret = Secret::from_bytes(KEY16_BYTES).unwrap();
    assert_eq!(
        secret.to_setup_key().as_str(),
        "GAYT EMZU GU3D OOBZ MFRG GZDF MY"
    );
    let secret = Secret::from_bytes(KEY_BYTES).unwrap();
    assert_eq!(
        secret.to_setup_key().as_str(),
        "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP"
    );
    for len in 16..=40 {
        let secret = Secret::generate_with_len(len).unwrap();
        let setup = secret.to_setup_key();
        assert!(!setup.starts_with(' ') && !setup.ends_with(' '));
        assert!(!setup.contains("  "));
        let groups: Vec<&str> = setup.split(' ').collect();
        let (last, full) = groups.split_last().unwrap();
        assert!(full.iter().all(|g| g.len() == 4), "{}", setup.as_str());
        assert!((1..=4).contains(&last.len()));
    }
}

#[test]
fn setup_key_without_spaces_equals_to_base32() {
    for len in [16, 20, 21, 32, 64, 128] {
        let secret = Secret::generate_with_len(len).unwrap();
        assert_eq!(
            secret.to_setup_key().replace(' ', ""),
            secret.to_base32().as_str()
        );
    }
}

#[test]
fn secrets_with_the_same_bytes_are_equal_and_others_are_not() {
    let a = Secret::from_bytes(KEY_BYTES).unwrap();
    let b = Secret::from_base32(KEY_B32).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.clone(), a);
    let mut other = KEY_BYTES.to_vec();
    other[19] ^= 1;
    assert_ne!(a, Secret::from_bytes(&other).unwrap());
    // A key that is a prefix of another is a different key.
    assert_ne!(a, Secret::from_bytes(&KEY_BYTES[..16]).unwrap());
    let mut longer = KEY_BYTES.to_vec();
    longer.push(0);
    assert_ne!(a, Secret::from_bytes(&longer).unwrap());
}

proptest! {
    #[test]
    fn base32_round_trips_any_key_of_16_to_64_bytes(bytes in proptest::collection::vec(any::<u8>(), 16..=64)) {
        let secret = Secret::from_bytes(&bytes).unwrap();
        let text = secret.to_base32();
        let back = Secret::from_base32(&text).unwrap();
        prop_assert_eq!(back.expose_secret_bytes(), bytes.as_slice());
        prop_assert_eq!(&back, &secret);
    }

    #[test]
    fn base32_round_trips_through_the_lowercase_setup_key_form(bytes in proptest::collection::vec(any::<u8>(), 16..=64)) {
        let secret = Secret::from_bytes(&bytes).unwrap();
        let typed = secret.to_setup_key().to_lowercase();
        let back = Secret::from_base32(&typed).unwrap();
        prop_assert_eq!(back.expose_secret_bytes(), bytes.as_slice());
    }

    #[test]
    fn parsing_never_panics_and_never_quotes_its_input(text in "\\PC{0,80}") {
        if let Err(err) = Secret::from_base32(&text) {
            let shown = format!("{err} {err:?}");
            let pieces: Vec<char> = text.chars().filter(|c| c.is_alphanumeric()).collect();
            for window in pieces.windows(6) {
                let piece: String = window.iter().collect();
                prop_assert!(!shown.contains(&piece), "{} quotes {}", shown, piece);
            }
        }
    }
}
