//! The rules of [`OtpPolicy`]: the seed portal's default, every bound with its exact error,
//! the compatibility warnings, and the algorithm names.
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

use core::str::FromStr;

use totp_enroll::{
    OtpPolicy, error::PolicyError, otp::Algorithm, otp::CompatibilityWarning, otp::Digits,
    otp::Window,
};

const ISSUER: &str = "北洋証券オンラインサービス";

fn with_issuer(issuer: &str) -> Result<OtpPolicy, PolicyError> {
    OtpPolicy::new(issuer)
}

// ---------------------------------------------------------------------------------------------
// The default
// ---------------------------------------------------------------------------------------------

#[test]
fn default_policy_is_sha1_six_digits_thirty_seconds_window_one_each_way() {
    let policy = OtpPolicy::new(ISSUER).unwrap();
    assert_eq!(policy.algorithm(), Algorithm::Sha1);
    assert_eq!(policy.digits(), Digits::SIX);
    assert_eq!(policy.digits().get(), 6);
    assert_eq!(policy.period(), 30);
    assert_eq!(policy.window(), Window::ONE);
    assert_eq!((policy.window().behind(), policy.window().ahead()), (1, 1));
    assert_eq!(policy.window().candidates(), 3);
    assert_eq!(policy.issuer(), ISSUER);
}

#[test]
fn default_policy_has_no_compatibility_warnings() {
    assert!(
        OtpPolicy::new(ISSUER)
            .unwrap()
            .compatibility_warnings()
            .is_empty()
    );
}

#[test]
fn default_types_agree_with_the_default_policy() {
    assert_eq!(Algorithm::default(), Algorithm::Sha1);
    assert_eq!(Digits::default(), Digits::SIX);
    assert_eq!(Window::default(), Window::ONE);
    assert_eq!(OtpPolicy::DEFAULT_PERIOD, 30);
}

#[test]
fn builder_without_changes_builds_the_default_policy() {
    assert_eq!(
        OtpPolicy::builder(ISSUER).build().unwrap(),
        OtpPolicy::new(ISSUER).unwrap()
    );
}

#[test]
fn to_builder_rebuilds_the_same_policy() {
    let policy = OtpPolicy::builder("Bank")
        .algorithm(Algorithm::Sha512)
        .digits(8)
        .period(60)
        .window(2, 0)
        .build()
        .unwrap();
    assert_eq!(policy.to_builder().build().unwrap(), policy);
    let renamed = policy.to_builder().issuer("Other").build().unwrap();
    assert_eq!(renamed.issuer(), "Other");
    assert_eq!(renamed.period(), 60);
}

// ---------------------------------------------------------------------------------------------
// Period
// ---------------------------------------------------------------------------------------------

#[test]
fn period_zero_is_refused() {
    assert_eq!(
        OtpPolicy::builder("Bank").period(0).build(),
        Err(PolicyError::Period {
            period: 0,
            min: 5,
            max: 600
        })
    );
}

#[test]
fn period_below_five_seconds_is_refused_and_five_is_accepted() {
    assert_eq!(
        OtpPolicy::builder("Bank").period(4).build(),
        Err(PolicyError::Period {
            period: 4,
            min: 5,
            max: 600
        })
    );
    assert_eq!(
        OtpPolicy::builder("Bank")
            .period(5)
            .build()
            .unwrap()
            .period(),
        5
    );
}

#[test]
fn period_above_ten_minutes_is_refused_and_ten_minutes_is_accepted() {
    assert_eq!(
        OtpPolicy::builder("Bank").period(601).build(),
        Err(PolicyError::Period {
            period: 601,
            min: 5,
            max: 600
        })
    );
    assert_eq!(
        OtpPolicy::builder("Bank")
            .period(600)
            .build()
            .unwrap()
            .period(),
        600
    );
}

#[test]
fn period_beyond_u32_is_refused_with_its_value_intact() {
    let period = u64::from(u32::MAX) + 30;
    assert_eq!(
        OtpPolicy::builder("Bank").period(period).build(),
        Err(PolicyError::Period {
            period,
            min: 5,
            max: 600
        })
    );
    assert!(OtpPolicy::builder("Bank").period(u64::MAX).build().is_err());
}

// ---------------------------------------------------------------------------------------------
// Digits
// ---------------------------------------------------------------------------------------------

#[test]
fn five_digits_are_refused() {
    assert_eq!(
        OtpPolicy::builder("Bank").digits(5).build(),
        Err(PolicyError::Digits(5))
    );
}

#[test]
fn nine_digits_are_refused() {
    assert_eq!(
        OtpPolicy::builder("Bank").digits(9).build(),
        Err(PolicyError::Digits(9))
    );
}

#[test]
fn six_seven_and_eight_digits_are_accepted_with_their_modulus() {
    for (d, modulus) in [(6, 1_000_000), (7, 10_000_000), (8, 100_000_000)] {
        let policy = OtpPolicy::builder("Bank").digits(d).build().unwrap();
        assert_eq!(u32::from(policy.digits().get()), d);
        assert_eq!(policy.digits().modulus(), modulus);
    }
    assert_eq!(Digits::new(0), Err(PolicyError::Digits(0)));
    assert_eq!(Digits::new(u32::MAX), Err(PolicyError::Digits(u32::MAX)));
    assert_eq!(Digits::EIGHT.get(), 8);
}

// ---------------------------------------------------------------------------------------------
// Window
// ---------------------------------------------------------------------------------------------

#[test]
fn window_of_eleven_steps_behind_is_refused() {
    assert_eq!(
        OtpPolicy::builder("Bank").window(11, 1).build(),
        Err(PolicyError::Window { steps: 11, max: 10 })
    );
}

#[test]
fn window_of_eleven_steps_ahead_is_refused() {
    assert_eq!(
        OtpPolicy::builder("Bank").window(1, 11).build(),
        Err(PolicyError::Window { steps: 11, max: 10 })
    );
}

#[test]
fn window_beyond_u8_is_refused_with_its_value_intact() {
    assert_eq!(
        Window::new(256, 0),
        Err(PolicyError::Window {
            steps: 256,
            max: 10
        })
    );
    assert_eq!(
        Window::new(0, u32::MAX),
        Err(PolicyError::Window {
            steps: u32::MAX,
            max: 10
        })
    );
}

#[test]
fn window_of_ten_each_way_and_of_zero_are_accepted() {
    let wide = Window::new(10, 10).unwrap();
    assert_eq!(
        (wide.behind(), wide.ahead(), wide.candidates()),
        (10, 10, 21)
    );
    assert_eq!(Window::new(0, 0).unwrap(), Window::EXACT);
    assert_eq!(Window::EXACT.candidates(), 1);
    assert_eq!(Window::MAX_STEPS, 10);
}

// ---------------------------------------------------------------------------------------------
// Issuer
// ---------------------------------------------------------------------------------------------

#[test]
fn empty_issuer_is_refused() {
    assert_eq!(with_issuer(""), Err(PolicyError::EmptyIssuer));
}

#[test]
fn whitespace_only_issuer_is_refused_as_empty() {
    for issuer in [" ", "   ", "\u{3000}", " \u{3000} "] {
        assert_eq!(
            with_issuer(issuer),
            Err(PolicyError::EmptyIssuer),
            "{issuer:?}"
        );
    }
}

#[test]
fn issuer_with_a_colon_is_refused() {
    assert_eq!(
        with_issuer("Bank:Tokyo"),
        Err(PolicyError::IssuerContainsColon)
    );
    assert_eq!(with_issuer(":"), Err(PolicyError::IssuerContainsColon));
}

#[test]
fn issuer_with_a_control_character_is_refused() {
    for issuer in [
        "Bank\u{7}",
        "Ba\0nk",
        "Bank\nTokyo",
        "\tBank",
        "Bank\u{7f}",
        "Bank\u{85}",
    ] {
        assert_eq!(
            with_issuer(issuer),
            Err(PolicyError::IssuerContainsControl),
            "{issuer:?}"
        );
    }
}

#[test]
fn issuer_over_128_bytes_is_refused() {
    assert_eq!(OtpPolicy::MAX_ISSUER_BYTES, 128);
    assert_eq!(
        with_issuer(&"a".repeat(129)),
        Err(PolicyError::IssuerTooLong { max: 128 })
    );
    // The limit is in UTF-8 bytes: 43 three-byte characters are 129 bytes.
    assert_eq!(
        with_issuer(&"証".repeat(43)),
        Err(PolicyError::IssuerTooLong { max: 128 })
    );
}

#[test]
fn issuer_of_exactly_128_bytes_is_accepted() {
    assert!(with_issuer(&"a".repeat(128)).is_ok());
    assert!(with_issuer(&format!("{}ab", "証".repeat(42))).is_ok());
}

#[test]
fn japanese_issuer_is_accepted_as_is() {
    assert_eq!(with_issuer(ISSUER).unwrap().issuer(), ISSUER);
}

#[test]
fn issuer_is_validated_when_set_through_the_builder() {
    assert_eq!(
        OtpPolicy::builder("Bank").issuer("a:b").build(),
        Err(PolicyError::IssuerContainsColon)
    );
}

// ---------------------------------------------------------------------------------------------
// Compatibility warnings
// ---------------------------------------------------------------------------------------------

fn warnings(builder: totp_enroll::otp::OtpPolicyBuilder) -> Vec<CompatibilityWarning> {
    builder.build().unwrap().compatibility_warnings()
}

#[test]
fn sha256_warns_that_google_authenticator_may_compute_sha1() {
    assert_eq!(
        warnings(OtpPolicy::builder("Bank").algorithm(Algorithm::Sha256)),
        vec![CompatibilityWarning::AlgorithmIgnoredByGoogleAuthenticator]
    );
}

#[test]
fn sha512_warns_that_google_authenticator_may_compute_sha1() {
    assert_eq!(
        warnings(OtpPolicy::builder("Bank").algorithm(Algorithm::Sha512)),
        vec![CompatibilityWarning::AlgorithmIgnoredByGoogleAuthenticator]
    );
}

#[test]
fn period_60_warns_that_google_authenticator_may_use_30() {
    assert_eq!(
        warnings(OtpPolicy::builder("Bank").period(60)),
        vec![CompatibilityWarning::PeriodIgnoredByGoogleAuthenticator]
    );
}

#[test]
fn eight_digits_warn_that_some_apps_show_six() {
    assert_eq!(
        warnings(OtpPolicy::builder("Bank").digits(8)),
        vec![CompatibilityWarning::DigitsNotUniversallySupported]
    );
    assert_eq!(
        warnings(OtpPolicy::builder("Bank").digits(7)),
        vec![CompatibilityWarning::DigitsNotUniversallySupported]
    );
}

#[test]
fn window_of_two_steps_warns_that_it_exceeds_the_rfc_recommendation() {
    for (behind, ahead) in [(2, 2), (2, 0), (0, 2), (10, 1)] {
        assert_eq!(
            warnings(OtpPolicy::builder("Bank").window(behind, ahead)),
            vec![CompatibilityWarning::WindowWiderThanRecommended],
            "window ({behind}, {ahead})"
        );
    }
}

#[test]
fn narrower_windows_than_the_default_do_not_warn() {
    for (behind, ahead) in [(0, 0), (1, 0), (0, 1)] {
        assert!(warnings(OtpPolicy::builder("Bank").window(behind, ahead)).is_empty());
    }
}

#[test]
fn every_departure_from_the_default_is_warned_about_at_once() {
    let all = warnings(
        OtpPolicy::builder("Bank")
            .algorithm(Algorithm::Sha256)
            .period(60)
            .digits(8)
            .window(3, 3),
    );
    assert_eq!(
        all,
        vec![
            CompatibilityWarning::AlgorithmIgnoredByGoogleAuthenticator,
            CompatibilityWarning::PeriodIgnoredByGoogleAuthenticator,
            CompatibilityWarning::DigitsNotUniversallySupported,
            CompatibilityWarning::WindowWiderThanRecommended,
        ]
    );
    for warning in all {
        assert!(!warning.to_string().is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Algorithm names
// ---------------------------------------------------------------------------------------------

#[test]
fn algorithm_names_parse_case_insensitively_with_or_without_a_hyphen() {
    for (name, algorithm) in [
        ("SHA1", Algorithm::Sha1),
        ("sha1", Algorithm::Sha1),
        ("Sha1", Algorithm::Sha1),
        ("SHA-1", Algorithm::Sha1),
        ("sha-1", Algorithm::Sha1),
        ("SHA256", Algorithm::Sha256),
        ("sha256", Algorithm::Sha256),
        ("SHA-256", Algorithm::Sha256),
        ("SHA512", Algorithm::Sha512),
        ("sha512", Algorithm::Sha512),
        ("Sha-512", Algorithm::Sha512),
    ] {
        assert_eq!(Algorithm::from_str(name), Ok(algorithm), "{name}");
    }
}

#[test]
fn unknown_algorithm_names_are_refused() {
    for name in [
        "",
        "MD5",
        "SHA",
        "SHA-384",
        "SHA384",
        "SHA3-256",
        "SHA_1",
        " SHA1",
        "SHA1 ",
        "SHA 1",
        "SHA--1",
        "HMAC-SHA1",
        "ＳＨＡ１",
        "SHA1\0",
    ] {
        assert_eq!(
            Algorithm::from_str(name),
            Err(PolicyError::UnknownAlgorithm),
            "{name:?}"
        );
    }
}

#[test]
fn algorithm_uri_names_are_the_uppercase_unhyphenated_forms() {
    for (algorithm, name) in [
        (Algorithm::Sha1, "SHA1"),
        (Algorithm::Sha256, "SHA256"),
        (Algorithm::Sha512, "SHA512"),
    ] {
        assert_eq!(algorithm.uri_name(), name);
        assert_eq!(algorithm.to_string(), name);
        assert_eq!(Algorithm::from_str(name), Ok(algorithm));
    }
}

#[test]
fn policy_errors_have_readable_messages() {
    assert_eq!(
        PolicyError::Digits(5).to_string(),
        "codes must have 6, 7 or 8 digits, not 5"
    );
    assert_eq!(
        PolicyError::Period {
            period: 0,
            min: 5,
            max: 600
        }
        .to_string(),
        "the period must be between 5 and 600 seconds, not 0"
    );
}
