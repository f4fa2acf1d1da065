//! The rules of [`KeyUri`]: the exact `otpauth://totp/` form it builds, UTF-8 labels, every
//! refusal of the strict parser with its exact error, the lenient forms it accepts, and the
//! identities `parse(build(k)) == k` and `parse(build(parse(u))) == parse(u)`.
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
use totp_enroll::{
    OtpPolicy, error::PolicyError, error::SecretError, error::UriError, otp::Algorithm,
    otp::Secret, otp::Window, provision::KeyUri,
};

const KEY_B32: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const ISSUER_JA: &str = "北洋証券オンラインサービス";
const ISSUER_JA_ENCODED: &str = "%E5%8C%97%E6%B4%8B%E8%A8%BC%E5%88%B8%E3%82%AA%E3%83%B3%E3%83%A9%E3%82%A4%E3%83%B3%E3%82%B5%E3%83%BC%E3%83%93%E3%82%B9";

fn secret() -> Secret {
    Secret::from_base32(KEY_B32).unwrap()
}

fn parse(uri: &str) -> Result<KeyUri, UriError> {
    KeyUri::parse(uri)
}

/// A valid URI with `query` after the secret.
fn with_query(label: &str, query: &str) -> String {
    format!("otpauth://totp/{label}?secret={KEY_B32}{query}")
}

// ---------------------------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------------------------

#[test]
fn built_uri_has_exactly_the_google_key_uri_form() {
    let uri = KeyUri::new(
        secret(),
        "alice@example.com",
        &OtpPolicy::new("Example Bank").unwrap(),
    )
    .unwrap();
    assert_eq!(
        uri.to_uri().as_str(),
        "otpauth://totp/Example%20Bank:alice%40example.com\
         ?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example%20Bank\
         &algorithm=SHA1&digits=6&period=30"
    );
}

#[test]
fn built_uri_carries_a_non_default_policy() {
    let policy = OtpPolicy::builder("Bank")
        .algorithm(Algorithm::Sha512)
        .digits(8)
        .period(60)
        .build()
        .unwrap();
    let uri = KeyUri::new(secret(), "alice", &policy).unwrap();
    assert_eq!(
        uri.to_uri().as_str(),
        format!(
            "otpauth://totp/Bank:alice?secret={KEY_B32}&issuer=Bank&algorithm=SHA512&digits=8&period=60"
        )
    );
}

#[test]
fn spaces_are_encoded_as_percent_20_never_plus() {
    let uri = KeyUri::new(
        secret(),
        "taro yamada",
        &OtpPolicy::new("My Bank Online").unwrap(),
    )
    .unwrap();
    let text = uri.to_uri();
    assert!(!text.contains('+'), "{}", text.as_str());
    assert!(!text.contains(' '));
    assert!(text.contains("My%20Bank%20Online:taro%20yamada?"));
    assert!(text.contains("&issuer=My%20Bank%20Online&"));
}

#[test]
fn a_literal_plus_in_a_name_is_encoded_and_stays_a_plus() {
    let uri = KeyUri::new(secret(), "alice+otp", &OtpPolicy::new("A+B").unwrap()).unwrap();
    let text = uri.to_uri();
    assert!(text.contains("A%2BB:alice%2Botp?"), "{}", text.as_str());
    let back = parse(&text).unwrap();
    assert_eq!((back.issuer(), back.account()), ("A+B", "alice+otp"));
    // In a parsed URI, `+` is a plus, not a space.
    let parsed = parse(&with_query("Bank:alice+otp", "")).unwrap();
    assert_eq!(parsed.account(), "alice+otp");
}

#[test]
fn built_uri_is_ascii_and_encodes_reserved_characters() {
    let uri = KeyUri::new(secret(), "a/b?c&d=e#f%g", &OtpPolicy::new("x?y&z").unwrap()).unwrap();
    let text = uri.to_uri();
    assert!(text.is_ascii());
    assert!(
        text.contains("x%3Fy%26z:a%2Fb%3Fc%26d%3De%23f%25g?"),
        "{}",
        text.as_str()
    );
    assert_eq!(parse(&text).unwrap(), uri);
}

#[test]
fn japanese_issuer_round_trips_as_utf8() {
    let policy = OtpPolicy::new(ISSUER_JA).unwrap();
    let uri = KeyUri::new(secret(), "山田太郎", &policy).unwrap();
    let text = uri.to_uri();
    assert!(text.is_ascii());
    assert!(text.starts_with(&format!("otpauth://totp/{ISSUER_JA_ENCODED}:")));
    assert!(text.contains(&format!("&issuer={ISSUER_JA_ENCODED}&")));
    let back = parse(&text).unwrap();
    assert_eq!(back, uri);
    assert_eq!(back.issuer(), ISSUER_JA);
    assert_eq!(back.account(), "山田太郎");
    assert_eq!(back.policy().issuer(), ISSUER_JA);
}

#[test]
fn japanese_issuer_written_unencoded_is_read_as_utf8() {
    let text = format!("otpauth://totp/{ISSUER_JA}:taro?secret={KEY_B32}&issuer={ISSUER_JA}");
    assert_eq!(parse(&text).unwrap().issuer(), ISSUER_JA);
}

#[test]
fn the_secret_in_a_built_uri_is_uppercase_unpadded_base32() {
    let key = Secret::from_bytes(b"0123456789abcdef").unwrap();
    let uri = KeyUri::new(key, "alice", &OtpPolicy::new("Bank").unwrap()).unwrap();
    assert!(
        uri.to_uri()
            .contains("?secret=GAYTEMZUGU3DOOBZMFRGGZDFMY&issuer=")
    );
}

#[test]
fn the_window_is_not_part_of_a_key_uri() {
    let wide = OtpPolicy::builder("Bank").window(3, 2).build().unwrap();
    let uri = KeyUri::new(secret(), "alice", &wide).unwrap();
    assert_eq!(uri.policy().window(), Window::ONE);
    let default = KeyUri::new(secret(), "alice", &OtpPolicy::new("Bank").unwrap()).unwrap();
    assert_eq!(uri, default);
    assert_eq!(parse(&uri.to_uri()).unwrap(), uri);
}

#[test]
fn debug_of_a_key_uri_does_not_contain_the_secret() {
    let uri = KeyUri::new(secret(), "alice", &OtpPolicy::new("Bank").unwrap()).unwrap();
    let shown = format!("{uri:?} {uri:#?}");
    assert!(!shown.contains(KEY_B32), "{shown}");
    assert!(!shown.contains(&KEY_B32[..8]));
    assert!(!shown.to_lowercase().contains("48656c6c6f")); // hex of "Hello"
    assert!(!shown.contains("Hello"));
    assert!(shown.contains("REDACTED"));
    assert!(shown.contains("alice"));
}

// ---------------------------------------------------------------------------------------------
// Building: refused account names
// ---------------------------------------------------------------------------------------------

#[test]
fn empty_or_blank_account_name_is_refused() {
    let policy = OtpPolicy::new("Bank").unwrap();
    for account in ["", " ", "\u{3000}"] {
        assert_eq!(
            KeyUri::new(secret(), account, &policy).unwrap_err(),
            UriError::Label("empty account name"),
            "{account:?}"
        );
    }
}

#[test]
fn account_name_with_a_colon_is_refused() {
    let policy = OtpPolicy::new("Bank").unwrap();
    assert_eq!(
        KeyUri::new(secret(), "a:b", &policy).unwrap_err(),
        UriError::ColonInField("account name")
    );
}

#[test]
fn account_name_with_a_control_character_is_refused() {
    let policy = OtpPolicy::new("Bank").unwrap();
    for account in ["alice\n", "al\u{7}ice", "alice\0"] {
        assert_eq!(
            KeyUri::new(secret(), account, &policy).unwrap_err(),
            UriError::Label("control character in account name")
        );
    }
}

#[test]
fn account_name_over_256_bytes_is_refused_when_building() {
    let policy = OtpPolicy::new("Bank").unwrap();
    assert!(KeyUri::new(secret(), "a".repeat(256), &policy).is_ok());
    assert_eq!(
        KeyUri::new(secret(), "a".repeat(257), &policy).unwrap_err(),
        UriError::FieldTooLong {
            field: "account name",
            max: 256
        }
    );
}

#[test]
fn account_name_starting_with_a_space_is_refused_because_the_label_drops_it() {
    // Google's label format allows optional spaces before the account name, so a parser
    // drops them: such a name could never come back from its own URI.
    let policy = OtpPolicy::new("Bank").unwrap();
    assert_eq!(
        KeyUri::new(secret(), " alice", &policy).unwrap_err(),
        UriError::Label("account name starts with a space")
    );
    // Trailing and inner spaces survive the round trip and are fine.
    let uri = KeyUri::new(secret(), "alice  smith ", &policy).unwrap();
    assert_eq!(parse(&uri.to_uri()).unwrap().account(), "alice  smith ");
}

#[test]
fn the_longest_valid_key_uri_fits_within_max_uri_bytes() {
    let issuer = "証".repeat(42); // 126 bytes, 378 when encoded
    let policy = OtpPolicy::builder(issuer)
        .algorithm(Algorithm::Sha256)
        .digits(8)
        .period(600)
        .build()
        .unwrap();
    let account = "%".repeat(256); // 768 bytes when encoded
    let key = Secret::from_bytes(&[0xA5; 128]).unwrap();
    let uri = KeyUri::new(key, account, &policy).unwrap();
    let text = uri.to_uri();
    assert!(text.len() <= KeyUri::MAX_URI_BYTES, "{}", text.len());
    assert_eq!(parse(&text).unwrap(), uri);
}

// ---------------------------------------------------------------------------------------------
// Parsing: refusals, one per rule
// ---------------------------------------------------------------------------------------------

#[test]
fn a_uri_that_is_not_otpauth_is_refused() {
    for uri in [
        format!("https://totp/Bank:alice?secret={KEY_B32}"),
        format!("otpauth:/totp/Bank:alice?secret={KEY_B32}"),
        format!(" otpauth://totp/Bank:alice?secret={KEY_B32}"),
        "otpauth:".to_owned(),
        String::new(),
        "北洋証券".to_owned(),
    ] {
        assert_eq!(parse(&uri).unwrap_err(), UriError::NotOtpauth, "{uri}");
    }
}

#[test]
fn an_hotp_uri_is_refused_as_not_supported() {
    assert_eq!(
        parse(&format!(
            "otpauth://hotp/Bank:alice?secret={KEY_B32}&counter=0"
        ))
        .unwrap_err(),
        UriError::HotpNotSupported
    );
    assert_eq!(
        parse(&format!("otpauth://HOTP/Bank:alice?secret={KEY_B32}")).unwrap_err(),
        UriError::HotpNotSupported
    );
}

#[test]
fn an_unknown_key_type_is_refused() {
    for kind in ["motp", "totpx", "", "t0tp", "steam"] {
        assert_eq!(
            parse(&format!("otpauth://{kind}/Bank:alice?secret={KEY_B32}")).unwrap_err(),
            UriError::UnknownType,
            "{kind:?}"
        );
    }
}

#[test]
fn a_uri_without_a_label_is_refused() {
    assert_eq!(
        parse("otpauth://totp").unwrap_err(),
        UriError::Label("missing")
    );
    assert_eq!(
        parse(&format!("otpauth://totp/?secret={KEY_B32}&issuer=Bank")).unwrap_err(),
        UriError::Label("empty")
    );
}

#[test]
fn a_label_with_an_empty_issuer_prefix_or_account_is_refused() {
    assert_eq!(
        parse(&with_query(":alice", "&issuer=Bank")).unwrap_err(),
        UriError::Label("empty issuer prefix")
    );
    assert_eq!(
        parse(&with_query("Bank:", "")).unwrap_err(),
        UriError::Label("empty account name")
    );
    assert_eq!(
        parse(&with_query("Bank:%20%20", "")).unwrap_err(),
        UriError::Label("empty account name")
    );
}

#[test]
fn a_label_issuer_that_differs_from_the_issuer_parameter_is_refused() {
    assert_eq!(
        parse(&with_query("Bank:alice", "&issuer=Other")).unwrap_err(),
        UriError::IssuerMismatch
    );
    // Exact comparison: case matters.
    assert_eq!(
        parse(&with_query("Bank:alice", "&issuer=bank")).unwrap_err(),
        UriError::IssuerMismatch
    );
}

#[test]
fn a_colon_in_the_account_name_is_refused() {
    assert_eq!(
        parse(&with_query("a:b:c", "")).unwrap_err(),
        UriError::ColonInField("label")
    );
    assert_eq!(
        parse(&with_query("Bank:a%3Ab", "&issuer=Bank")).unwrap_err(),
        UriError::ColonInField("label")
    );
}

#[test]
fn a_colon_in_the_issuer_parameter_is_refused() {
    assert_eq!(
        parse(&with_query("alice", "&issuer=Ba%3Ank")).unwrap_err(),
        UriError::ColonInField("issuer")
    );
}

#[test]
fn a_control_character_in_the_account_name_is_refused() {
    assert_eq!(
        parse(&with_query("Bank:al%07ice", "")).unwrap_err(),
        UriError::Label("control character in account name")
    );
    assert_eq!(
        parse(&with_query("Bank:alice%0A", "")).unwrap_err(),
        UriError::Label("control character in account name")
    );
}

#[test]
fn a_control_character_in_the_issuer_is_refused() {
    assert_eq!(
        parse(&with_query("Ba%00nk:alice", "")).unwrap_err(),
        UriError::Policy(PolicyError::IssuerContainsControl)
    );
}

#[test]
fn a_missing_secret_is_refused() {
    assert_eq!(
        parse("otpauth://totp/Bank:alice?issuer=Bank").unwrap_err(),
        UriError::MissingSecret
    );
    assert_eq!(
        parse("otpauth://totp/Bank:alice").unwrap_err(),
        UriError::MissingSecret
    );
    // Parameter names are case-sensitive: `Secret` is an unknown parameter.
    assert_eq!(
        parse(&format!("otpauth://totp/Bank:alice?Secret={KEY_B32}")).unwrap_err(),
        UriError::MissingSecret
    );
}

#[test]
fn a_secret_with_a_digit_8_is_refused_with_its_position() {
    assert_eq!(
        parse("otpauth://totp/Bank:alice?secret=ILEHO2TX7RXH3TQUXSJ58GCJCDOXO").unwrap_err(),
        UriError::Secret(SecretError::InvalidCharacter { position: 21 })
    );
}

#[test]
fn a_secret_under_128_bits_is_refused() {
    assert_eq!(
        parse("otpauth://totp/Bank:alice?secret=JBSWY3DPEHPK3PXP").unwrap_err(),
        UriError::Secret(SecretError::TooShort {
            bits: 80,
            min_bits: 128
        })
    );
}

#[test]
fn an_empty_secret_is_refused() {
    assert_eq!(
        parse("otpauth://totp/Bank:alice?secret=").unwrap_err(),
        UriError::Secret(SecretError::Empty)
    );
}

#[test]
fn digits_5_are_refused() {
    assert_eq!(
        parse(&with_query("Bank:alice", "&digits=5")).unwrap_err(),
        UriError::Policy(PolicyError::Digits(5))
    );
}

#[test]
fn digits_9_are_refused() {
    assert_eq!(
        parse(&with_query("Bank:alice", "&digits=9")).unwrap_err(),
        UriError::Policy(PolicyError::Digits(9))
    );
}

#[test]
fn digits_that_are_not_a_plain_number_are_refused() {
    for digits in ["6a", "+6", "-6", " 6", "6 ", "", "006", "６", "0x6"] {
        assert_eq!(
            parse(&with_query("Bank:alice", &format!("&digits={digits}"))).unwrap_err(),
            UriError::InvalidNumber("digits"),
            "{digits:?}"
        );
    }
}

#[test]
fn period_0_is_refused() {
    assert_eq!(
        parse(&with_query("Bank:alice", "&period=0")).unwrap_err(),
        UriError::Policy(PolicyError::Period {
            period: 0,
            min: 5,
            max: 600
        })
    );
}

#[test]
fn period_that_is_not_a_plain_number_is_refused() {
    for period in ["-30", "+30", "30s", "3e1", "", "12345678901"] {
        assert_eq!(
            parse(&with_query("Bank:alice", &format!("&period={period}"))).unwrap_err(),
            UriError::InvalidNumber("period"),
            "{period:?}"
        );
    }
}

#[test]
fn period_over_ten_minutes_is_refused() {
    assert_eq!(
        parse(&with_query("Bank:alice", "&period=9999999999")).unwrap_err(),
        UriError::Policy(PolicyError::Period {
            period: 9_999_999_999,
            min: 5,
            max: 600
        })
    );
}

#[test]
fn algorithm_md5_is_refused() {
    assert_eq!(
        parse(&with_query("Bank:alice", "&algorithm=MD5")).unwrap_err(),
        UriError::Policy(PolicyError::UnknownAlgorithm)
    );
}

#[test]
fn a_duplicate_parameter_is_refused() {
    assert_eq!(
        parse(&with_query("Bank:alice", &format!("&secret={KEY_B32}"))).unwrap_err(),
        UriError::DuplicateParameter("secret")
    );
    for (name, value) in [
        ("issuer", "Bank"),
        ("algorithm", "SHA1"),
        ("digits", "6"),
        ("period", "30"),
    ] {
        let query = format!("&{name}={value}&{name}={value}");
        assert_eq!(
            parse(&with_query("Bank:alice", &query)).unwrap_err(),
            UriError::DuplicateParameter(name)
        );
    }
}

#[test]
fn a_parameter_without_a_value_is_a_malformed_query() {
    assert_eq!(
        parse(&with_query("Bank:alice", "&issuer")).unwrap_err(),
        UriError::MalformedQuery
    );
    assert_eq!(
        parse(&with_query("Bank:alice", "&")).unwrap_err(),
        UriError::MalformedQuery
    );
}

#[test]
fn a_bad_percent_escape_is_refused() {
    assert_eq!(
        parse(&with_query("Bank:al%zzice", "")).unwrap_err(),
        UriError::Encoding("label")
    );
    assert_eq!(
        parse(&with_query("Bank:alice%4", "")).unwrap_err(),
        UriError::Encoding("label")
    );
    assert_eq!(
        parse(&with_query("Bank:alice%", "")).unwrap_err(),
        UriError::Encoding("label")
    );
    assert_eq!(
        parse(&with_query("Bank:alice", "&issuer=Ba%zznk")).unwrap_err(),
        UriError::Encoding("issuer")
    );
    assert_eq!(
        parse("otpauth://totp/Bank:alice?secret=JBSW%zz").unwrap_err(),
        UriError::Encoding("secret")
    );
}

#[test]
fn a_percent_escape_that_decodes_to_invalid_utf8_is_refused() {
    // %E5%8C is the first two bytes of 北 (E5 8C 97): truncated UTF-8.
    assert_eq!(
        parse(&with_query("%E5%8C:alice", "")).unwrap_err(),
        UriError::Encoding("label")
    );
    assert_eq!(
        parse(&with_query("alice", "&issuer=%E5%8C")).unwrap_err(),
        UriError::Encoding("issuer")
    );
    assert_eq!(
        parse(&with_query("Bank:%FF", "")).unwrap_err(),
        UriError::Encoding("label")
    );
}

#[test]
fn a_uri_over_max_uri_bytes_is_refused_unread() {
    assert_eq!(KeyUri::MAX_URI_BYTES, 2048);
    let base = with_query("Bank:alice", "&image=");
    let fits = format!("{base}{}", "A".repeat(2048 - base.len()));
    assert_eq!(fits.len(), 2048);
    assert!(parse(&fits).is_ok());
    let over = format!("{fits}A");
    assert_eq!(parse(&over).unwrap_err(), UriError::TooLong { max: 2048 });
    // Refused before examination: it is not even checked for the scheme.
    assert_eq!(
        parse(&"x".repeat(5000)).unwrap_err(),
        UriError::TooLong { max: 2048 }
    );
}

#[test]
fn an_account_name_over_max_account_bytes_is_refused() {
    assert_eq!(KeyUri::MAX_ACCOUNT_BYTES, 256);
    assert!(parse(&with_query(&format!("Bank:{}", "a".repeat(256)), "")).is_ok());
    assert_eq!(
        parse(&with_query(&format!("Bank:{}", "a".repeat(257)), "")).unwrap_err(),
        UriError::FieldTooLong {
            field: "account name",
            max: 256
        }
    );
    // The limit is on decoded UTF-8 bytes: 86 encoded three-byte characters are 258 bytes.
    let long = "%E5%8C%97".repeat(86);
    assert_eq!(
        parse(&with_query(&format!("Bank:{long}"), "")).unwrap_err(),
        UriError::FieldTooLong {
            field: "account name",
            max: 256
        }
    );
}

#[test]
fn an_issuer_over_128_bytes_is_refused() {
    let long = "b".repeat(129);
    assert_eq!(
        parse(&with_query("alice", &format!("&issuer={long}"))).unwrap_err(),
        UriError::FieldTooLong {
            field: "issuer",
            max: 128
        }
    );
}

#[test]
fn a_uri_that_names_no_issuer_is_refused() {
    assert_eq!(
        parse(&with_query("alice", "")).unwrap_err(),
        UriError::MissingIssuer
    );
}

#[test]
fn an_empty_issuer_parameter_is_refused() {
    assert_eq!(
        parse(&with_query("alice", "&issuer=")).unwrap_err(),
        UriError::Policy(PolicyError::EmptyIssuer)
    );
}

#[test]
fn a_fragment_is_refused() {
    assert_eq!(
        parse(&with_query("Bank:alice", "&issuer=Bank#section")).unwrap_err(),
        UriError::MalformedQuery
    );
    assert_eq!(
        parse(&format!("otpauth://totp/Bank:alice#x?secret={KEY_B32}")).unwrap_err(),
        UriError::MalformedQuery
    );
}

#[test]
fn no_uri_error_quotes_the_secret() {
    for uri in [
        "otpauth://totp/Bank:alice?secret=ILEHO2TX7RXH3TQUXSJ58GCJCDOXO",
        "otpauth://totp/Bank:alice?secret=JBSWY3DPEHPK3PXP",
        "otpauth://totp/Bank:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&digits=9",
    ] {
        let err = parse(uri).unwrap_err();
        let shown = format!("{err} {err:?}");
        for secret in ["ILEHO2TX", "JBSWY3DP"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing: accepted forms
// ---------------------------------------------------------------------------------------------

#[test]
fn issuer_only_in_the_parameter_is_accepted() {
    let uri = parse(&with_query("alice", "&issuer=Bank")).unwrap();
    assert_eq!((uri.issuer(), uri.account()), ("Bank", "alice"));
}

#[test]
fn issuer_only_in_the_label_is_accepted() {
    let uri = parse(&with_query("Bank:alice", "")).unwrap();
    assert_eq!((uri.issuer(), uri.account()), ("Bank", "alice"));
}

#[test]
fn percent_3a_is_accepted_as_the_label_colon() {
    for label in ["Bank%3Aalice", "Bank%3aalice"] {
        let uri = parse(&with_query(label, "&issuer=Bank")).unwrap();
        assert_eq!((uri.issuer(), uri.account()), ("Bank", "alice"));
    }
}

#[test]
fn spaces_before_the_account_name_after_the_colon_are_dropped() {
    for label in [
        "Bank:%20alice",
        "Bank:%20%20%20alice",
        "Bank%3A%20alice",
        "Bank: alice",
    ] {
        let uri = parse(&with_query(label, "&issuer=Bank")).unwrap();
        assert_eq!(uri.account(), "alice", "{label}");
    }
}

#[test]
fn spaces_before_an_account_name_without_issuer_prefix_are_dropped_too() {
    let uri = parse(&with_query("%20alice", "&issuer=Bank")).unwrap();
    assert_eq!(uri.account(), "alice");
    assert_eq!(parse(&uri.to_uri()).unwrap(), uri);
}

#[test]
fn unknown_parameters_are_ignored() {
    let uri = parse(&with_query(
        "Bank:alice",
        "&issuer=Bank&image=https%3A%2F%2Fexample.com%2Flogo.png&color=ff0000&lock=true",
    ))
    .unwrap();
    assert_eq!(
        uri.to_uri().as_str(),
        format!(
            "otpauth://totp/Bank:alice?secret={KEY_B32}&issuer=Bank&algorithm=SHA1&digits=6&period=30"
        )
    );
}

#[test]
fn a_lowercase_secret_is_accepted() {
    let uri = parse(&format!(
        "otpauth://totp/Bank:alice?secret={}",
        KEY_B32.to_lowercase()
    ))
    .unwrap();
    assert_eq!(uri.secret(), &secret());
    assert!(uri.to_uri().contains(KEY_B32));
}

#[test]
fn a_padded_or_spaced_secret_is_accepted() {
    let padded =
        parse("otpauth://totp/Bank:alice?secret=GAYTEMZUGU3DOOBZMFRGGZDFMY======").unwrap();
    assert_eq!(padded.secret().expose_secret_bytes(), b"0123456789abcdef");
    let spaced = parse(
        "otpauth://totp/Bank:alice?secret=JBSW%20Y3DP%20EHPK%203PXP%20JBSW%20Y3DP%20EHPK%203PXP",
    )
    .unwrap();
    assert_eq!(spaced.secret(), &secret());
}

#[test]
fn missing_algorithm_digits_and_period_mean_the_defaults() {
    let uri = parse(&with_query("Bank:alice", "")).unwrap();
    assert_eq!(uri.policy(), &OtpPolicy::new("Bank").unwrap());
}

#[test]
fn algorithm_digits_and_period_are_read_in_any_order_and_case() {
    let uri = parse(&format!(
        "OTPAUTH://TOTP/Bank:alice?period=60&digits=8&algorithm=sha-256&secret={KEY_B32}&issuer=Bank"
    ))
    .unwrap();
    let policy = uri.policy();
    assert_eq!(policy.algorithm(), Algorithm::Sha256);
    assert_eq!(policy.digits().get(), 8);
    assert_eq!(policy.period(), 60);
    assert_eq!(policy.window(), Window::ONE);
    let leading_zero = parse(&with_query("Bank:alice", "&digits=07&period=030")).unwrap();
    assert_eq!(leading_zero.policy().digits().get(), 7);
    assert_eq!(leading_zero.policy().period(), 30);
}

#[test]
fn tricky_accepted_uris_survive_parse_build_parse() {
    for uri in [
        with_query("Bank:alice", ""),
        with_query("alice", "&issuer=Bank"),
        with_query("%20Bank%20:%20alice%20", "&issuer=%20Bank%20"),
        with_query("Bank%3A%20%20alice", "&image=x&issuer=Bank"),
        with_query(ISSUER_JA_ENCODED, &format!("&issuer={ISSUER_JA_ENCODED}")),
        with_query("a%2Fb:c%3Fd", "&digits=08&period=005&algorithm=sha512"),
        with_query("Bank:alice+bob", ""),
    ] {
        let first = parse(&uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        let built = first.to_uri();
        let second = parse(&built).unwrap();
        assert_eq!(second, first, "{uri}");
        assert_eq!(second.to_uri(), built);
    }
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// A name the key URI rules accept: no `:`, no control or format characters (which include
/// the bidirectional controls and zero-width characters) and no line or paragraph separator.
fn name(max_bytes: usize, max_chars: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[^:\\p{{C}}\\p{{Zl}}\\p{{Zp}}]{{1,{max_chars}}}"))
        .unwrap()
        .prop_filter("non-blank, within the byte limit", move |s| {
            !s.trim().is_empty() && s.len() <= max_bytes
        })
}

fn policy_strategy() -> impl Strategy<Value = (Algorithm, u32, u64, u32, u32)> {
    (
        prop_oneof![
            Just(Algorithm::Sha1),
            Just(Algorithm::Sha256),
            Just(Algorithm::Sha512)
        ],
        6u32..=8,
        5u64..=600,
        0u32..=10,
        0u32..=10,
    )
}

/// Strings shaped like key URIs, from pieces that exercise every rule of the parser. More than
/// a tenth of them parse (checked by `the_uri_generator_exercises_both_acceptance_and_refusal`).
fn uri_ish() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![
        12 => Just("otpauth://"),
        2 => Just("OTPAUTH://"),
        1 => Just("otpauth:/"),
        1 => Just("https://"),
    ];
    let kind = prop_oneof![
        12 => Just("totp"),
        2 => Just("TOTP"),
        1 => Just("hotp"),
        1 => Just("motp"),
    ];
    let issuer_part = prop_oneof![
        Just("Bank".to_owned()),
        Just(ISSUER_JA_ENCODED.to_owned()),
        Just("北洋".to_owned()),
        Just("%20Bank".to_owned()),
        Just("Bank%20".to_owned()),
        Just("a%2Fb".to_owned()),
        Just("A%2BB".to_owned()),
        Just("Ba%00nk".to_owned()),
        "[a-zA-Z0-9._~-]{1,8}",
    ];
    let separator = prop_oneof![
        Just(":"),
        Just("%3A"),
        Just("%3a"),
        Just(":%20"),
        Just(": "),
        Just("%3A%20%20"),
        Just("::"),
    ];
    let account_part = prop_oneof![
        Just("alice".to_owned()),
        Just("%20alice".to_owned()),
        Just("%20%20alice".to_owned()),
        Just("alice%20".to_owned()),
        Just("%E3%80%80alice".to_owned()),
        Just("alice+otp".to_owned()),
        Just("%E5%B1%B1%E7%94%B0".to_owned()),
        Just("a%40b.example".to_owned()),
        Just("%20".to_owned()),
        Just("al%07ice".to_owned()),
        "[a-zA-Z0-9._~-]{1,8}",
    ];
    let label_piece = prop_oneof![
        Just("Bank".to_owned()),
        Just("alice".to_owned()),
        Just(":".to_owned()),
        Just("%3A".to_owned()),
        Just("%20".to_owned()),
        Just(" ".to_owned()),
        Just("+".to_owned()),
        Just("%25".to_owned()),
        Just("%zz".to_owned()),
        Just("%E5%8C".to_owned()),
        Just("/".to_owned()),
        Just("#".to_owned()),
        "[a-zA-Z0-9._~-]{1,4}",
    ];
    let label = prop_oneof![
        4 => (issuer_part, separator, account_part.clone())
            .prop_map(|(i, s, a)| format!("{i}{s}{a}")),
        2 => account_part,
        1 => proptest::collection::vec(label_piece, 0..6).prop_map(|p| p.concat()),
    ];
    let secret = prop_oneof![
        8 => Just(format!("secret={KEY_B32}")),
        2 => Just(format!("secret={}", KEY_B32.to_lowercase())),
        1 => Just("secret=GAYTEMZUGU3DOOBZMFRGGZDFMY======".to_owned()),
        1 => Just("secret=JBSW%20Y3DP%20EHPK%203PXP%20JBSW%20Y3DP%20EHPK%203PXP".to_owned()),
        1 => Just("secret=JBSWY3DPEHPK3PXP".to_owned()),
        1 => Just("secret=ILEHO2TX7RXH3TQUXSJ58GCJCDOXO".to_owned()),
        1 => Just(String::new()),
    ];
    let extra = prop_oneof![
        4 => Just("issuer=Bank".to_owned()),
        1 => Just("issuer=alice".to_owned()),
        1 => Just("issuer=%20Bank".to_owned()),
        1 => Just(format!("issuer={ISSUER_JA_ENCODED}")),
        1 => Just("issuer=".to_owned()),
        1 => Just("issuer=a%3Ab".to_owned()),
        2 => Just("algorithm=SHA1".to_owned()),
        2 => Just("algorithm=sha256".to_owned()),
        2 => Just("algorithm=SHA-512".to_owned()),
        1 => Just("algorithm=MD5".to_owned()),
        2 => Just("digits=6".to_owned()),
        2 => Just("digits=08".to_owned()),
        2 => Just("digits=7".to_owned()),
        1 => Just("digits=5".to_owned()),
        2 => Just("period=30".to_owned()),
        2 => Just("period=5".to_owned()),
        2 => Just("period=600".to_owned()),
        1 => Just("period=0".to_owned()),
        2 => Just("period=060".to_owned()),
        2 => Just("image=https%3A%2F%2Fexample.com%2Fa.png".to_owned()),
        1 => Just("foo=%zz".to_owned()),
        1 => Just("flag".to_owned()),
    ];
    (
        scheme,
        kind,
        label,
        secret,
        proptest::collection::vec(extra, 0..4),
    )
        .prop_flat_map(|(scheme, kind, label, secret, extras)| {
            let mut params = extras;
            if !secret.is_empty() {
                params.push(secret);
            }
            (
                Just(format!("{scheme}{kind}/{label}")),
                Just(params).prop_shuffle(),
            )
        })
        .prop_map(|(head, params)| {
            if params.is_empty() {
                head
            } else {
                format!("{head}?{}", params.join("&"))
            }
        })
}

#[test]
fn the_uri_generator_exercises_both_acceptance_and_refusal() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = uri_ish();
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..1000 {
        let uri = strategy.new_tree(&mut runner).unwrap().current();
        if KeyUri::parse(&uri).is_ok() {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    assert!(
        accepted >= 100 && refused >= 100,
        "{accepted} accepted, {refused} refused"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn building_then_parsing_gives_back_the_same_key_uri(
        issuer in name(OtpPolicy::MAX_ISSUER_BYTES, 40),
        account in (prop_oneof![4 => Just(""), 1 => Just(" "), 1 => Just("  ")], name(KeyUri::MAX_ACCOUNT_BYTES - 2, 80))
            .prop_map(|(spaces, name)| format!("{spaces}{name}")),
        (algorithm, digits, period, behind, ahead) in policy_strategy(),
        key in proptest::collection::vec(any::<u8>(), 16..=128),
    ) {
        let policy = OtpPolicy::builder(issuer.clone())
            .algorithm(algorithm)
            .digits(digits)
            .period(period)
            .window(behind, ahead)
            .build()
            .unwrap();
        let built = KeyUri::new(Secret::from_bytes(&key).unwrap(), account.clone(), &policy);
        if account.starts_with(' ') {
            prop_assert_eq!(built.unwrap_err(), UriError::Label("account name starts with a space"));
            return Ok(());
        }
        let uri = built.unwrap();
        let text = uri.to_uri();
        prop_assert!(text.is_ascii());
        prop_assert!(!text.contains('+') && !text.contains(' '));
        prop_assert!(text.len() <= KeyUri::MAX_URI_BYTES);
        let back = KeyUri::parse(&text).unwrap();
        prop_assert_eq!(&back, &uri);
        prop_assert_eq!(back.issuer(), issuer.as_str());
        prop_assert_eq!(back.account(), account.as_str());
        prop_assert_eq!(back.secret().expose_secret_bytes(), key.as_slice());
        prop_assert_eq!(back.policy().algorithm(), algorithm);
        prop_assert_eq!(u32::from(back.policy().digits().get()), digits);
        prop_assert_eq!(u64::from(back.policy().period()), period);
        prop_assert_eq!(back.policy().window(), Window::ONE);
    }

    #[test]
    fn any_uri_that_parses_survives_build_and_parse_again(uri in uri_ish()) {
        if let Ok(first) = KeyUri::parse(&uri) {
            let built = first.to_uri();
            let second = KeyUri::parse(&built);
            prop_assert_eq!(second.as_ref(), Ok(&first), "{} -> {}", uri, built.as_str());
            prop_assert_eq!(second.unwrap().to_uri(), built);
        }
    }

    #[test]
    fn parse_never_panics_on_any_string(uri in any::<String>()) {
        let _ = KeyUri::parse(&uri);
        let _ = KeyUri::parse(&format!("otpauth://totp/{uri}"));
        let _ = KeyUri::parse(&format!("otpauth://totp/Bank:alice?secret={KEY_B32}&{uri}"));
    }
}
