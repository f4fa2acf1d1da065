//! Properties.

use super::*;

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
