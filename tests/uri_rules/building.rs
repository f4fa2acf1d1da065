//! Building.

use super::*;

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
