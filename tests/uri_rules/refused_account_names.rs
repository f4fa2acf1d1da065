//! Building: refused account names.

use super::*;

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
