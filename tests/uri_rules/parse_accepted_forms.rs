//! Parsing: accepted forms.

use super::*;

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
