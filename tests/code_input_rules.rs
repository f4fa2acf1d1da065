//! The grammar of what a customer may type as a one-time code ([`Code::parse`]), exactly:
//! optional surrounding whitespace; the policy's number of digits, each ASCII `0-9` or
//! full-width `０-９`; at most one separator (space, U+3000 or `-`) between two digits.
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
use totp_enroll::{error::CodeError, otp::Code, otp::Digits};

fn six(input: &str) -> Result<String, CodeError> {
    Code::parse(input, Digits::SIX).map(|c| c.to_string())
}

fn is_digit_char(c: char) -> bool {
    c.is_ascii_digit() || ('\u{FF10}'..='\u{FF19}').contains(&c)
}

fn ascii_digit(c: char) -> char {
    if c.is_ascii_digit() {
        c
    } else {
        char::from_u32(u32::from(c) - 0xFF10 + u32::from(b'0')).unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// Accepted
// ---------------------------------------------------------------------------------------------

#[test]
fn six_plain_digits_are_a_code() {
    assert_eq!(six("123456"), Ok("123456".to_owned()));
}

#[test]
fn surrounding_whitespace_is_ignored() {
    assert_eq!(six(" 123456\n"), Ok("123456".to_owned()));
    assert_eq!(six("\t\r\n123456 \r\n"), Ok("123456".to_owned()));
    assert_eq!(six("\u{3000}123456\u{3000}"), Ok("123456".to_owned()));
}

#[test]
fn one_space_between_groups_as_apps_display_it_is_accepted() {
    assert_eq!(six("123 456"), Ok("123456".to_owned()));
}

#[test]
fn one_hyphen_between_groups_is_accepted() {
    assert_eq!(six("123-456"), Ok("123456".to_owned()));
}

#[test]
fn one_ideographic_space_between_groups_is_accepted() {
    assert_eq!(six("123\u{3000}456"), Ok("123456".to_owned()));
}

#[test]
fn single_separators_between_several_digit_pairs_are_accepted() {
    assert_eq!(six("12 34 56"), Ok("123456".to_owned()));
    assert_eq!(six("1-2-3-4-5-6"), Ok("123456".to_owned()));
}

#[test]
fn full_width_digits_from_an_ime_are_accepted() {
    assert_eq!(six("１２３４５６"), Ok("123456".to_owned()));
    assert_eq!(six("１２３\u{3000}４５６"), Ok("123456".to_owned()));
    assert_eq!(six("０９８７６５"), Ok("098765".to_owned()));
}

#[test]
fn mixed_ascii_and_full_width_digits_are_accepted() {
    assert_eq!(six("１2３ 4５6"), Ok("123456".to_owned()));
}

#[test]
fn leading_zeros_are_kept() {
    let code = Code::parse("000123", Digits::SIX).unwrap();
    assert_eq!(code.to_string(), "000123");
    assert_eq!(code.to_grouped(), "000 123");
    assert_eq!(
        Code::parse("000000", Digits::SIX).unwrap().to_string(),
        "000000"
    );
    assert_ne!(code, Code::parse("123000", Digits::SIX).unwrap());
}

#[test]
fn eight_digit_policy_accepts_two_groups_of_four() {
    let code = Code::parse("1234 5678", Digits::EIGHT).unwrap();
    assert_eq!(code.to_string(), "12345678");
    assert_eq!(code.digits(), Digits::EIGHT);
    assert_eq!(code.to_grouped(), "1234 5678");
}

#[test]
fn seven_digit_policy_groups_three_and_four() {
    let seven = Digits::new(7).unwrap();
    let code = Code::parse("0123456", seven).unwrap();
    assert_eq!(code.to_string(), "0123456");
    assert_eq!(code.to_grouped(), "012 3456");
}

#[test]
fn input_of_exactly_max_input_bytes_is_examined() {
    assert_eq!(Code::MAX_INPUT_BYTES, 64);
    let input = format!("123456{}", " ".repeat(58));
    assert_eq!(input.len(), 64);
    assert_eq!(six(&input), Ok("123456".to_owned()));
}

#[test]
fn codes_with_the_same_digits_are_equal() {
    assert_eq!(
        Code::parse("123 456", Digits::SIX).unwrap(),
        Code::parse("１２３４５６", Digits::SIX).unwrap()
    );
    assert_ne!(
        Code::parse("123456", Digits::SIX).unwrap(),
        Code::parse("123457", Digits::SIX).unwrap()
    );
    // Same value, different width: different codes.
    assert_ne!(
        Code::parse("00123456", Digits::EIGHT).unwrap(),
        Code::parse("123456", Digits::SIX).unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// Refused, each with its exact error
// ---------------------------------------------------------------------------------------------

#[test]
fn leading_plus_sign_is_an_invalid_character() {
    assert_eq!(
        six("+81804"),
        Err(CodeError::InvalidCharacter { position: 1 })
    );
    assert_eq!(
        six("+818040"),
        Err(CodeError::InvalidCharacter { position: 1 })
    );
    assert_eq!(
        six("  +818040"),
        Err(CodeError::InvalidCharacter { position: 1 })
    );
}

#[test]
fn underscore_separator_is_an_invalid_character() {
    assert_eq!(
        six("123_456"),
        Err(CodeError::InvalidCharacter { position: 4 })
    );
}

#[test]
fn arabic_indic_digits_are_invalid_characters() {
    assert_eq!(
        six("٢٨٧٠٨٢"),
        Err(CodeError::InvalidCharacter { position: 1 })
    );
    assert_eq!(
        six("12٣456"),
        Err(CodeError::InvalidCharacter { position: 3 })
    );
}

#[test]
fn other_unicode_digits_are_invalid_characters() {
    // Devanagari, superscript, circled: numeric to Unicode, not to this grammar.
    assert_eq!(
        six("१२३४५६"),
        Err(CodeError::InvalidCharacter { position: 1 })
    );
    assert_eq!(
        six("12345²"),
        Err(CodeError::InvalidCharacter { position: 6 })
    );
    assert_eq!(
        six("①23456"),
        Err(CodeError::InvalidCharacter { position: 1 })
    );
}

#[test]
fn letters_are_invalid_characters() {
    assert_eq!(
        six("abcdef"),
        Err(CodeError::InvalidCharacter { position: 1 })
    );
    assert_eq!(
        six("12a456"),
        Err(CodeError::InvalidCharacter { position: 3 })
    );
    // Look-alikes of digits are letters.
    assert_eq!(
        six("O12345"),
        Err(CodeError::InvalidCharacter { position: 1 })
    );
    assert_eq!(
        six("l23456"),
        Err(CodeError::InvalidCharacter { position: 1 })
    );
}

#[test]
fn nul_inside_a_code_is_an_invalid_character() {
    assert_eq!(
        six("123\u{0}456"),
        Err(CodeError::InvalidCharacter { position: 4 })
    );
}

#[test]
fn tab_between_groups_is_an_invalid_character() {
    assert_eq!(
        six("123\t456"),
        Err(CodeError::InvalidCharacter { position: 4 })
    );
}

#[test]
fn line_break_between_groups_is_an_invalid_character() {
    assert_eq!(
        six("123\n456"),
        Err(CodeError::InvalidCharacter { position: 4 })
    );
}

#[test]
fn five_digits_are_the_wrong_length() {
    assert_eq!(
        six("12345"),
        Err(CodeError::WrongLength {
            expected: 6,
            found: 5
        })
    );
}

#[test]
fn seven_digits_are_the_wrong_length() {
    assert_eq!(
        six("1234567"),
        Err(CodeError::WrongLength {
            expected: 6,
            found: 7
        })
    );
}

#[test]
fn far_too_many_digits_are_the_wrong_length_and_counted() {
    assert_eq!(
        six("12345678901234567890"),
        Err(CodeError::WrongLength {
            expected: 6,
            found: 20
        })
    );
}

#[test]
fn six_digits_are_the_wrong_length_for_an_eight_digit_policy() {
    assert_eq!(
        Code::parse("123 456", Digits::EIGHT).map(|c| c.to_string()),
        Err(CodeError::WrongLength {
            expected: 8,
            found: 6
        })
    );
}

#[test]
fn two_separators_in_a_row_are_misplaced() {
    assert_eq!(
        six("123  456"),
        Err(CodeError::MisplacedSeparator { position: 5 })
    );
    assert_eq!(
        six("123 -456"),
        Err(CodeError::MisplacedSeparator { position: 5 })
    );
    assert_eq!(
        six("123\u{3000} 456"),
        Err(CodeError::MisplacedSeparator { position: 5 })
    );
}

#[test]
fn leading_hyphen_is_a_misplaced_separator() {
    assert_eq!(
        six("-123456"),
        Err(CodeError::MisplacedSeparator { position: 1 })
    );
}

#[test]
fn trailing_hyphen_is_a_misplaced_separator() {
    assert_eq!(
        six("123456-"),
        Err(CodeError::MisplacedSeparator { position: 7 })
    );
}

#[test]
fn input_longer_than_max_input_bytes_is_too_long() {
    let input = format!("123456{}", " ".repeat(59));
    assert_eq!(input.len(), 65);
    assert_eq!(six(&input), Err(CodeError::InputTooLong));
    assert_eq!(six(&"1".repeat(1000)), Err(CodeError::InputTooLong));
}

#[test]
fn long_input_of_only_spaces_is_too_long_not_empty() {
    assert_eq!(six(&" ".repeat(65)), Err(CodeError::InputTooLong));
    // 22 ideographic spaces are 66 bytes.
    assert_eq!(six(&"\u{3000}".repeat(22)), Err(CodeError::InputTooLong));
}

#[test]
fn empty_input_is_empty() {
    assert_eq!(six(""), Err(CodeError::Empty));
}

#[test]
fn whitespace_only_input_is_empty() {
    for input in [" ", "   ", "\n", "\t\r\n", "\u{3000}", " \u{3000} "] {
        assert_eq!(six(input), Err(CodeError::Empty), "{input:?}");
    }
}

#[test]
fn lone_hyphen_is_a_misplaced_separator_not_empty() {
    assert_eq!(six("-"), Err(CodeError::MisplacedSeparator { position: 1 }));
}

#[test]
fn debug_of_a_code_does_not_show_its_digits() {
    let code = Code::parse("987123", Digits::SIX).unwrap();
    let debug = format!("{code:?} {code:#?}");
    let digits_shown: String = debug.chars().filter(char::is_ascii_digit).collect();
    assert!(
        digits_shown.chars().all(|c| c == '6'),
        "{debug} shows code digits"
    );
    assert!(!debug.contains("987") && !debug.contains("123"));
    let code = Code::parse("55555555", Digits::EIGHT).unwrap();
    assert!(!format!("{code:?}").contains('5'));
}

#[test]
fn errors_never_quote_the_input() {
    for input in [
        "+818040",
        "123_456",
        "abcdef",
        "123  456",
        "12345",
        "٢٨٧٠٨٢",
    ] {
        let err = six(input).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(input), "{shown}");
    }
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

fn digits_strategy() -> impl Strategy<Value = Digits> {
    (6u32..=8).prop_map(|d| Digits::new(d).unwrap())
}

proptest! {
    #[test]
    fn parse_never_panics_on_any_string(input in any::<String>(), digits in digits_strategy()) {
        let _ = Code::parse(&input, digits);
    }

    #[test]
    fn parse_never_panics_on_near_miss_input(
        input in "[0-9０-９٠-٩ \u{3000}\t\n+_.-]{0,24}",
        digits in digits_strategy(),
    ) {
        let _ = Code::parse(&input, digits);
    }

    #[test]
    fn an_accepted_input_contains_exactly_the_policy_digit_count(
        input in "[ \t]{0,2}[0-9０-９]{1,3}([ \u{3000}-]?[0-9０-９]{1,3}){0,4}[ \n]{0,2}|\\PC{0,12}",
        digits in digits_strategy(),
    ) {
        if let Ok(code) = Code::parse(&input, digits) {
            let found: String = input.chars().filter(|&c| is_digit_char(c)).map(ascii_digit).collect();
            prop_assert_eq!(found.len(), usize::from(digits.get()));
            prop_assert_eq!(code.to_string(), found);
            prop_assert_eq!(code.digits(), digits);
        }
    }

    #[test]
    fn every_well_formed_input_is_accepted(
        value in 0u32..100_000_000,
        digits in digits_strategy(),
        separators in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("-"), Just("\u{3000}")], 8),
        full_width in proptest::collection::vec(any::<bool>(), 8),
        lead in "[ \t\n\u{3000}]{0,3}",
        trail in "[ \t\r\n\u{3000}]{0,3}",
    ) {
        let width = usize::from(digits.get());
        let plain = format!("{:0width$}", value % digits.modulus());
        let mut input = lead.clone();
        for (i, c) in plain.chars().enumerate() {
            if i > 0 {
                input.push_str(separators[i]);
            }
            if full_width[i] {
                input.push(char::from_u32(u32::from(c) - u32::from(b'0') + 0xFF10).unwrap());
            } else {
                input.push(c);
            }
        }
        input.push_str(&trail);
        prop_assume!(input.len() <= Code::MAX_INPUT_BYTES);
        let code = Code::parse(&input, digits).unwrap();
        prop_assert_eq!(code.to_string(), plain);
    }
}
