//! Names the portal gives the engine, as rules: account ids, account labels, issuers,
//! operators and reset reasons are refused where they are built, with the reason, when they
//! could break a log line (control characters) or spoof a screen or log (invisible and
//! bidirectional-control characters).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation
)]

mod common;

use common::Harness;
use totp_enroll::{
    AccountId, error::EngineError, error::IdentifierError, error::PolicyError, messages::Lang,
};

#[test]
fn an_account_id_is_refused_where_it_is_built_with_the_reason() {
    let field = "account id";
    assert_eq!(AccountId::new(""), Err(IdentifierError::Empty { field }));
    assert_eq!(AccountId::new("   "), Err(IdentifierError::Empty { field }));
    assert_eq!(
        AccountId::new("x".repeat(AccountId::MAX_BYTES + 1)),
        Err(IdentifierError::TooLong {
            field,
            max: AccountId::MAX_BYTES
        })
    );
    assert!(AccountId::new("x".repeat(AccountId::MAX_BYTES)).is_ok());
    assert_eq!(
        AccountId::new("victim\nLoginAccepted"),
        Err(IdentifierError::ControlCharacter { field, position: 7 })
    );
    for spoof in [
        '\u{202E}', '\u{2066}', '\u{200B}', '\u{200D}', '\u{FEFF}', '\u{2028}', '\u{2029}',
    ] {
        assert_eq!(
            AccountId::new(format!("ab{spoof}c")),
            Err(IdentifierError::InvisibleCharacter { field, position: 3 }),
            "U+{:04X}",
            u32::from(spoof)
        );
    }
    assert!(AccountId::new("0123-456789").is_ok());
}

#[test]
fn an_account_label_follows_the_key_uri_rules_where_it_is_built() {
    use totp_enroll::AccountLabel;
    let field = "account label";
    assert_eq!(
        AccountLabel::new("bank:taro"),
        Err(IdentifierError::Colon { field, position: 5 })
    );
    assert_eq!(
        AccountLabel::new(" taro"),
        Err(IdentifierError::LeadingSpace { field })
    );
    assert_eq!(
        AccountLabel::new("taro\u{202E}"),
        Err(IdentifierError::InvisibleCharacter { field, position: 5 })
    );
    // Whatever AccountLabel accepts, a key URI accepts too, and vice versa for refusals.
    let policy = totp_enroll::OtpPolicy::new("北洋証券オンラインサービス").unwrap();
    let secret = totp_enroll::otp::Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap();
    for label in [
        "taro@example.jp",
        "北洋 太郎",
        "a:b",
        " a",
        "a\u{200B}",
        "a\tb",
        "",
    ] {
        let as_label = AccountLabel::new(label).is_ok();
        let as_uri = totp_enroll::provision::KeyUri::new(secret.clone(), label, &policy).is_ok();
        assert_eq!(as_label, as_uri, "{label:?}");
    }
}

#[test]
fn an_issuer_with_bidirectional_or_invisible_characters_is_refused() {
    for issuer in ["北洋\u{202E}証券", "Bank\u{200B}", "Bank\u{2029}"] {
        assert_eq!(
            totp_enroll::OtpPolicy::new(issuer).unwrap_err(),
            PolicyError::IssuerContainsInvisible,
            "{issuer:?}"
        );
    }
}

#[test]
fn an_operator_name_cannot_forge_an_audit_line() {
    use totp_enroll::Operator;
    let field = "operator";
    assert_eq!(
        Operator::new("op\n2025-01-01 LoginAccepted account=victim"),
        Err(IdentifierError::ControlCharacter { field, position: 3 })
    );
    assert_eq!(
        Operator::new("desk\u{202E}10-ksed"),
        Err(IdentifierError::InvisibleCharacter { field, position: 5 })
    );
    assert_eq!(
        Operator::new("d".repeat(Operator::MAX_BYTES + 1)),
        Err(IdentifierError::TooLong {
            field,
            max: Operator::MAX_BYTES
        })
    );
    assert_eq!(Operator::new(" "), Err(IdentifierError::Empty { field }));
    assert_eq!(Operator::new("desk-01").unwrap().as_str(), "desk-01");
}

#[tokio::test]
async fn a_reset_reason_is_bounded_and_single_line_and_a_refused_one_changes_nothing() {
    let h = Harness::new();
    let _app = h.enrolled().await;
    let operator = totp_enroll::Operator::new("desk-01").unwrap();
    let before = h.audit.events().len();
    for (reason, expected) in [
        (
            "x".repeat(1024 * 1024),
            IdentifierError::TooLong {
                field: "reset reason",
                max: 1024,
            },
        ),
        (
            "lost phone\nLoginAccepted".to_owned(),
            IdentifierError::ControlCharacter {
                field: "reset reason",
                position: 11,
            },
        ),
        (
            "  ".to_owned(),
            IdentifierError::Empty {
                field: "reset reason",
            },
        ),
    ] {
        let err = h
            .engine
            .desk_reset(&h.account, &operator, &reason)
            .await
            .unwrap_err();
        assert!(
            matches!(err, EngineError::InvalidIdentifier(e) if e == expected),
            "{reason:.20?}"
        );
    }
    assert_eq!(
        h.audit.events().len(),
        before,
        "a refused reset is not an audited reset"
    );
    assert_eq!(
        h.engine.status(&h.account).await.unwrap().label(Lang::Ja),
        "利用中"
    );
    h.engine
        .desk_reset(&h.account, &operator, &"紛失".repeat(170))
        .await
        .unwrap();
    assert_eq!(
        h.engine.status(&h.account).await.unwrap().label(Lang::Ja),
        "未登録"
    );
}
