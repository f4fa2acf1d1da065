//! The rules of [`RecoveryCode`] and [`RecoveryCodes`]: the grammar of what a customer may
//! type ([`RecoveryCode::parse`]), exactly: at most 128 bytes; surrounding ASCII whitespace and
//! U+3000 trimmed; 16 Crockford base32 symbols (case-insensitive, aliases `O` → `0` and
//! `I`/`L` → `1`, full-width forms as their ASCII forms); at most one separator (`-`, space,
//! U+3000, U+FF0D, U+30FC, U+2010–U+2013, U+2212) between two symbols. Then the displayed
//! form, generation, and redaction.
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

use std::collections::HashSet;

use proptest::prelude::*;
use totp_enroll::{RecoveryCodes, error::RecoveryCodeError, lifecycle::RecoveryCode};

const ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const SAMPLE: &str = "7K3M-9QXR-2HV8-T4NP";

/// The grouped (displayed) form of what `input` parses to.
fn parsed(input: &str) -> Result<String, RecoveryCodeError> {
    RecoveryCode::parse(input).map(|c| c.grouped().as_str().to_owned())
}

fn accepts_as_sample(input: &str) {
    assert_eq!(parsed(input), Ok(SAMPLE.to_owned()), "input {input:?}");
}

/// The full-width form of an ASCII letter or digit.
fn full_width(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                char::from_u32(u32::from(c) + 0xFEE0).unwrap()
            } else {
                c
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Refused
// ---------------------------------------------------------------------------------------------

#[test]
fn an_empty_input_is_refused() {
    assert_eq!(parsed(""), Err(RecoveryCodeError::Empty));
}

#[test]
fn only_whitespace_is_empty() {
    assert_eq!(parsed("   "), Err(RecoveryCodeError::Empty));
    assert_eq!(parsed("\t\r\n"), Err(RecoveryCodeError::Empty));
    assert_eq!(parsed("\u{3000}\u{3000}"), Err(RecoveryCodeError::Empty));
}

#[test]
fn input_over_128_bytes_is_refused_unread() {
    // 129 bytes whose first character alone would be an InvalidCharacter.
    let long = format!("!{}", "0".repeat(128));
    assert_eq!(long.len(), 129);
    assert_eq!(parsed(&long), Err(RecoveryCodeError::InputTooLong));
    // Even if it is a valid code in plenty of whitespace.
    let padded = format!("{SAMPLE}{}", " ".repeat(128 - SAMPLE.len() + 1));
    assert_eq!(parsed(&padded), Err(RecoveryCodeError::InputTooLong));
}

#[test]
fn input_of_exactly_128_bytes_is_examined() {
    let padded = format!("{SAMPLE}{}", " ".repeat(128 - SAMPLE.len()));
    assert_eq!(padded.len(), RecoveryCode::MAX_INPUT_BYTES);
    accepts_as_sample(&padded);
}

#[test]
fn the_letter_u_is_refused_at_its_position() {
    assert_eq!(
        parsed("7K3M-9QXR-2HV8-T4NU"),
        Err(RecoveryCodeError::InvalidCharacter { position: 19 })
    );
    assert_eq!(
        parsed("u000000000000000"),
        Err(RecoveryCodeError::InvalidCharacter { position: 1 })
    );
    assert_eq!(
        parsed("0000\u{FF35}00000000000"),
        Err(RecoveryCodeError::InvalidCharacter { position: 5 }),
        "full-width U"
    );
}

#[test]
fn positions_count_characters_after_trimming() {
    assert_eq!(
        parsed("  \u{3000}７Ｋ３Ｍ*"),
        Err(RecoveryCodeError::InvalidCharacter { position: 5 })
    );
}

#[test]
fn punctuation_is_refused_at_its_position() {
    for (input, position) in [
        ("7K3M_9QXR2HV8T4NP", 5),
        ("7K3M.9QXR2HV8T4NP", 5),
        ("7K3M/9QXR2HV8T4NP", 5),
        ("+7K3M9QXR2HV8T4NP", 1),
        ("7K3M9QXR2HV8T4NP=", 17),
    ] {
        assert_eq!(
            parsed(input),
            Err(RecoveryCodeError::InvalidCharacter { position }),
            "input {input:?}"
        );
    }
}

#[test]
fn whitespace_other_than_a_space_inside_is_refused() {
    for (input, position) in [
        ("7K3M\t9QXR2HV8T4NP", 5),
        ("7K3M\n9QXR2HV8T4NP", 5),
        ("7K3M\u{A0}9QXR2HV8T4NP", 5),
    ] {
        assert_eq!(
            parsed(input),
            Err(RecoveryCodeError::InvalidCharacter { position }),
            "input {input:?}"
        );
    }
}

#[test]
fn letters_and_digits_of_other_scripts_are_refused() {
    assert_eq!(
        parsed("٧K3M9QXR2HV8T4NP"),
        Err(RecoveryCodeError::InvalidCharacter { position: 1 }),
        "Arabic-Indic seven"
    );
    assert_eq!(
        parsed("7K3M9QXR2HV8T4NР"),
        Err(RecoveryCodeError::InvalidCharacter { position: 16 }),
        "Cyrillic Er"
    );
    assert_eq!(
        parsed("7K3M9QXR2HV8T4Nｐ"),
        Ok("7K3M-9QXR-2HV8-T4NP".to_owned()),
        "a full-width Latin p is a p"
    );
}

#[test]
fn a_doubled_separator_is_refused() {
    assert_eq!(
        parsed("7K3M--9QXR-2HV8-T4NP"),
        Err(RecoveryCodeError::MisplacedSeparator { position: 6 })
    );
    assert_eq!(
        parsed("7K3M -9QXR-2HV8-T4NP"),
        Err(RecoveryCodeError::MisplacedSeparator { position: 6 })
    );
    assert_eq!(
        parsed("7K3M\u{3000}\u{3000}9QXR-2HV8-T4NP"),
        Err(RecoveryCodeError::MisplacedSeparator { position: 6 })
    );
}

#[test]
fn a_leading_separator_is_refused() {
    assert_eq!(
        parsed("-7K3M-9QXR-2HV8-T4NP"),
        Err(RecoveryCodeError::MisplacedSeparator { position: 1 })
    );
    assert_eq!(
        parsed(" ー7K3M-9QXR-2HV8-T4NP"),
        Err(RecoveryCodeError::MisplacedSeparator { position: 1 })
    );
}

#[test]
fn a_trailing_separator_is_refused() {
    assert_eq!(
        parsed("7K3M-9QXR-2HV8-T4NP-"),
        Err(RecoveryCodeError::MisplacedSeparator { position: 20 })
    );
    assert_eq!(
        parsed("7K3M-9QXR-2HV8-T4NP\u{2212}\n"),
        Err(RecoveryCodeError::MisplacedSeparator { position: 20 })
    );
}

#[test]
fn only_a_separator_is_misplaced() {
    assert_eq!(
        parsed("-"),
        Err(RecoveryCodeError::MisplacedSeparator { position: 1 })
    );
}

#[test]
fn fifteen_symbols_are_too_few() {
    assert_eq!(
        parsed("7K3M-9QXR-2HV8-T4N"),
        Err(RecoveryCodeError::WrongLength {
            expected: 16,
            found: 15
        })
    );
}

#[test]
fn seventeen_symbols_are_too_many() {
    assert_eq!(
        parsed("7K3M-9QXR-2HV8-T4NP0"),
        Err(RecoveryCodeError::WrongLength {
            expected: 16,
            found: 17
        })
    );
}

#[test]
fn a_six_digit_one_time_code_is_the_wrong_length() {
    assert_eq!(
        parsed("287 082"),
        Err(RecoveryCodeError::WrongLength {
            expected: 16,
            found: 6
        })
    );
}

#[test]
fn a_bad_character_is_reported_before_the_length() {
    assert_eq!(
        parsed("7K3M!"),
        Err(RecoveryCodeError::InvalidCharacter { position: 5 })
    );
    assert_eq!(
        parsed("7K3M9QXR2HV8T4NP00000U"),
        Err(RecoveryCodeError::InvalidCharacter { position: 22 })
    );
}

#[test]
fn errors_never_quote_the_input() {
    for input in ["7K3M-9QXR-2HV8-T4NU", "7K3M--9QXR", "7K3M9QXR2HV8T4N"] {
        let error = RecoveryCode::parse(input).unwrap_err();
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(!text.contains("7K3M"), "{text:?} quotes {input:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Accepted
// ---------------------------------------------------------------------------------------------

#[test]
fn the_displayed_form_is_accepted() {
    accepts_as_sample(SAMPLE);
}

#[test]
fn no_separators_are_needed() {
    accepts_as_sample("7K3M9QXR2HV8T4NP");
}

#[test]
fn groups_need_not_be_where_the_display_puts_them() {
    accepts_as_sample("7K3M 9QXR-2HV8 T4NP");
    accepts_as_sample("7-K-3-M-9-Q-X-R-2-H-V-8-T-4-N-P");
    accepts_as_sample("7K3M9QXR 2HV8T4NP");
    accepts_as_sample("7K 3M9 QXR2H V8T4NP");
}

#[test]
fn lowercase_is_accepted() {
    accepts_as_sample("7k3m-9qxr-2hv8-t4np");
    accepts_as_sample("7k3M-9QxR-2hV8-t4nP");
}

#[test]
fn surrounding_whitespace_is_trimmed() {
    accepts_as_sample(" 7K3M-9QXR-2HV8-T4NP ");
    accepts_as_sample("\t\r\n7K3M-9QXR-2HV8-T4NP\r\n");
    accepts_as_sample("\u{3000}7K3M-9QXR-2HV8-T4NP\u{3000}");
}

#[test]
fn the_letter_o_is_read_as_zero() {
    let zeros = parsed("0000-0000-0000-0000").unwrap();
    assert_eq!(parsed("OOOO-oooo-0000-0000").unwrap(), zeros);
}

#[test]
fn the_letters_i_and_l_are_read_as_one() {
    let ones = parsed("1111-1111-1111-1111").unwrap();
    assert_eq!(parsed("IiLl-iIlL-1111-1111").unwrap(), ones);
}

#[test]
fn each_separator_is_accepted() {
    for separator in [
        '-', ' ', '\u{3000}', '\u{FF0D}', '\u{30FC}', '\u{2010}', '\u{2011}', '\u{2012}',
        '\u{2013}', '\u{2212}',
    ] {
        let input = SAMPLE.replace('-', &separator.to_string());
        accepts_as_sample(&input);
    }
}

#[test]
fn different_separators_may_be_mixed() {
    accepts_as_sample("7K3M\u{30FC}9QXR\u{2013}2HV8\u{3000}T4NP");
}

#[test]
fn full_width_digits_are_accepted() {
    assert_eq!(
        parsed("０１２３-４５６７-８９００-００００"),
        Ok("0123-4567-8900-0000".to_owned())
    );
}

#[test]
fn full_width_letters_are_accepted() {
    assert_eq!(
        parsed("ＡＢＣＤ-ＥＦＧＨ-ｊｋｍｎ-ｐｑｒｓ"),
        Ok("ABCD-EFGH-JKMN-PQRS".to_owned())
    );
    assert_eq!(
        parsed("ＯＩＬｏ-ｉｌ００-００００-００００"),
        Ok("0110-1100-0000-0000".to_owned()),
        "full-width aliases"
    );
}

#[test]
fn full_width_hyphen_is_accepted() {
    accepts_as_sample(&full_width(SAMPLE).replace('-', "\u{FF0D}"));
}

#[test]
fn ideographic_space_is_accepted_as_separator() {
    accepts_as_sample(&full_width(SAMPLE).replace('-', "\u{3000}"));
}

#[test]
fn what_a_japanese_ime_types_is_accepted() {
    accepts_as_sample("７Ｋ３Ｍー９ＱＸＲー２ＨＶ８ーＴ４ＮＰ");
    accepts_as_sample("　７ｋ３ｍ　９ｑｘｒ　２ｈｖ８　ｔ４ｎｐ　");
}

#[test]
fn the_longest_sensible_input_fits_the_limit() {
    // Full-width symbols, U+3000 separators between all of them, one space either side.
    let input = format!(
        " {} ",
        full_width("7K3M9QXR2HV8T4NP")
            .chars()
            .map(String::from)
            .collect::<Vec<_>>()
            .join("\u{3000}")
    );
    assert!(input.len() <= RecoveryCode::MAX_INPUT_BYTES);
    accepts_as_sample(&input);
}

// ---------------------------------------------------------------------------------------------
// The displayed form and the constants
// ---------------------------------------------------------------------------------------------

#[test]
fn the_constants_are_16_symbols_of_80_bits() {
    assert_eq!(RecoveryCode::SYMBOLS, 16);
    assert_eq!(RecoveryCode::BITS, 80);
    assert_eq!(RecoveryCode::BITS as usize, RecoveryCode::SYMBOLS * 5);
    assert_eq!(RecoveryCode::MAX_INPUT_BYTES, 128);
    assert_eq!(RecoveryCodes::DEFAULT_COUNT, 10);
    assert_eq!(RecoveryCodes::MAX_COUNT, 16);
}

fn assert_displayed_form(grouped: &str) {
    assert_eq!(grouped.len(), 19, "{grouped:?}");
    assert!(grouped.is_ascii());
    let groups: Vec<&str> = grouped.split('-').collect();
    assert_eq!(groups.len(), 4, "{grouped:?}");
    for group in groups {
        assert_eq!(group.len(), 4, "{grouped:?}");
        assert!(group.chars().all(|c| ALPHABET.contains(c)), "{grouped:?}");
        assert!(!group.contains(['I', 'L', 'O', 'U']), "{grouped:?}");
    }
}

#[test]
fn the_displayed_form_is_four_groups_of_four_alphabet_symbols() {
    for _ in 0..100 {
        assert_displayed_form(&RecoveryCode::generate().unwrap().grouped());
    }
    assert_displayed_form(
        &RecoveryCode::parse("oooo iiii llll 0000")
            .unwrap()
            .grouped(),
    );
}

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

#[test]
fn a_thousand_generated_codes_are_distinct_and_use_every_symbol() {
    let mut seen = HashSet::new();
    let mut symbols = HashSet::new();
    for _ in 0..1_000 {
        let grouped = RecoveryCode::generate().unwrap().grouped();
        symbols.extend(grouped.chars().filter(|&c| c != '-'));
        assert!(seen.insert(grouped.as_str().to_owned()), "repeated code");
    }
    assert_eq!(seen.len(), 1_000);
    let all: HashSet<char> = ALPHABET.chars().collect();
    assert_eq!(symbols, all, "every symbol value appears");
}

#[test]
fn a_set_has_the_requested_number_of_distinct_codes() {
    for count in [1, RecoveryCodes::DEFAULT_COUNT, RecoveryCodes::MAX_COUNT] {
        let codes = RecoveryCodes::generate(count).unwrap();
        assert_eq!(codes.len(), count);
        assert!(!codes.is_empty());
        assert_eq!(codes.iter().count(), count);
        let distinct: HashSet<String> = codes
            .iter()
            .map(|c| c.grouped().as_str().to_owned())
            .collect();
        assert_eq!(distinct.len(), count);
        for code in codes.iter() {
            assert_displayed_form(&code.grouped());
        }
    }
}

#[test]
fn an_empty_set_is_refused() {
    assert_eq!(
        RecoveryCodes::generate(0).map(|c| c.len()),
        Err(RecoveryCodeError::InvalidCount { count: 0 })
    );
}

#[test]
fn a_set_over_sixteen_codes_is_refused() {
    assert_eq!(
        RecoveryCodes::generate(17).map(|c| c.len()),
        Err(RecoveryCodeError::InvalidCount { count: 17 })
    );
    assert_eq!(
        RecoveryCodes::generate(usize::MAX).map(|c| c.len()),
        Err(RecoveryCodeError::InvalidCount { count: usize::MAX })
    );
}

// ---------------------------------------------------------------------------------------------
// Equality, cloning and redaction
// ---------------------------------------------------------------------------------------------

#[test]
fn equality_is_by_canonical_form() {
    let a = RecoveryCode::parse(SAMPLE).unwrap();
    let b = RecoveryCode::parse("７ｋ３ｍ ９ｑｘｒ ２ｈｖ８ ｔ４ｎｐ").unwrap();
    let c = RecoveryCode::parse("7K3M-9QXR-2HV8-T4NQ").unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.clone(), a);
}

/// No 4-symbol group of `code` (nor its canonical or grouped form) appears in `text`.
fn assert_redacted(text: &str, code: &RecoveryCode) {
    let grouped = code.grouped();
    assert!(!text.contains(grouped.as_str()), "{text:?}");
    assert!(!text.contains(&grouped.replace('-', "")), "{text:?}");
    for group in grouped.split('-') {
        assert!(!text.contains(group), "{text:?} shows {group}");
    }
}

#[test]
fn debug_of_a_code_is_redacted() {
    let code = RecoveryCode::parse(SAMPLE).unwrap();
    let text = format!("{code:?}");
    assert_eq!(text, "RecoveryCode(<redacted>)");
    assert_redacted(&text, &code);
    assert_redacted(&format!("{code:#?}"), &code);
}

#[test]
fn debug_of_a_set_shows_only_the_count() {
    let codes = RecoveryCodes::generate(RecoveryCodes::DEFAULT_COUNT).unwrap();
    let text = format!("{codes:?}");
    assert_eq!(text, "RecoveryCodes { count: 10, .. }");
    for code in codes.iter() {
        assert_redacted(&text, code);
        assert_redacted(&format!("{codes:#?}"), code);
    }
}

#[test]
fn debug_of_a_wrapped_code_is_redacted() {
    let code = RecoveryCode::parse(SAMPLE).unwrap();
    let text = format!("{:?}", Some(vec![code.clone()]));
    assert_eq!(text, "Some([RecoveryCode(<redacted>)])");
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// A character the grammar accepts as a symbol, with its canonical symbol.
fn symbol_input() -> impl Strategy<Value = (char, char)> {
    let canonical = proptest::sample::select(ALPHABET.chars().collect::<Vec<_>>());
    (canonical, 0..4u8).prop_map(|(c, form)| {
        let typed = match form {
            0 => c,
            1 => c.to_ascii_lowercase(),
            2 => char::from_u32(u32::from(c) + 0xFEE0).unwrap(),
            _ => char::from_u32(u32::from(c.to_ascii_lowercase()) + 0xFEE0).unwrap(),
        };
        (typed, c)
    })
}

fn separator() -> impl Strategy<Value = Option<char>> {
    proptest::option::of(proptest::sample::select(vec![
        '-', ' ', '\u{3000}', '\u{FF0D}', '\u{30FC}', '\u{2010}', '\u{2011}', '\u{2012}',
        '\u{2013}', '\u{2212}',
    ]))
}

proptest! {
    #[test]
    fn a_generated_codes_grouped_form_parses_back_to_it(_ in 0..64u8) {
        let code = RecoveryCode::generate().unwrap();
        let grouped = code.grouped();
        let again = RecoveryCode::parse(&grouped).unwrap();
        prop_assert!(again == code);
        let plain = RecoveryCode::parse(&grouped.replace('-', "")).unwrap();
        prop_assert!(plain == code);
        let lower = RecoveryCode::parse(&grouped.to_lowercase()).unwrap();
        prop_assert!(lower == code);
    }

    #[test]
    fn parse_never_panics(input in any::<String>()) {
        let _ = RecoveryCode::parse(&input);
    }

    #[test]
    fn parse_never_panics_on_text_near_the_grammar(
        input in "[ \\-0-9A-Za-z\u{3000}\u{30FC}\u{FF10}-\u{FF5A}\u{2010}-\u{2013}\t!]{0,40}"
    ) {
        match RecoveryCode::parse(&input) {
            Ok(code) => prop_assert_eq!(code.grouped().len(), 19),
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }

    #[test]
    fn a_parsed_codes_grouped_form_reparses_to_itself(
        typed in proptest::collection::vec((symbol_input(), separator()), 16),
        lead in "[ \t\u{3000}]{0,2}",
        trail in "[ \r\n\u{3000}]{0,2}",
    ) {
        let mut input = lead;
        let mut canonical = String::new();
        for (i, ((c, s), sep)) in typed.iter().enumerate() {
            input.push(*c);
            canonical.push(*s);
            if let (Some(sep), true) = (sep, i + 1 < typed.len()) {
                input.push(*sep);
            }
        }
        input.push_str(&trail);
        let code = RecoveryCode::parse(&input).unwrap();
        let grouped = code.grouped();
        prop_assert_eq!(grouped.replace('-', ""), canonical);
        let again = RecoveryCode::parse(&grouped).unwrap();
        prop_assert!(again == code);
        let regrouped = again.grouped();
        prop_assert_eq!(regrouped.as_str(), grouped.as_str());
    }

    #[test]
    fn a_missing_or_extra_symbol_is_the_wrong_length(found in 1..40usize) {
        prop_assume!(found != 16);
        let input = "7".repeat(found);
        prop_assert_eq!(
            parsed(&input),
            Err(RecoveryCodeError::WrongLength { expected: 16, found })
        );
    }
}
