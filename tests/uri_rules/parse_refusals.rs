//! Parsing: refusals, one per rule.

use super::*;

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
