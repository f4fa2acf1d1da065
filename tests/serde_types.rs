//! The `serde` feature: the non-secret public types round-trip, their JSON shapes are
//! stable (a renamed field is a visible change here), deserializing goes through the same
//! validation as the constructors, and nothing secret can be serialized at all.
#![cfg(feature = "serde")]
#![allow(clippy::expect_used, clippy::panic, clippy::arithmetic_side_effects)]

use core::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use static_assertions::{assert_impl_all, assert_not_impl_any};
use totp_enroll::{
    Access, AccountId, AuditEvent, AuditKind, ErrorClass, Operator, OtpPolicy, RequestContext,
    Status, Verified, audit::Operation, error::CodeError, error::RecoveryCodeError, error::Refusal,
    lifecycle::ThrottlePolicy, messages::Lang, otp::Algorithm, otp::Digits, otp::Secret, otp::Totp,
    otp::Window,
};

/// Serializes `value`, checks that it deserializes back to an equal value, and returns the
/// JSON for shape assertions.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) -> Value {
    let json = serde_json::to_value(value).expect("serializes");
    let back: T = serde_json::from_value(json.clone()).expect("deserializes");
    assert_eq!(&back, value, "round trip through {json}");
    // And through text, as a log line or a config file would carry it.
    let text = serde_json::to_string(value).expect("serializes to text");
    let back: T = serde_json::from_str(&text).expect("deserializes from text");
    assert_eq!(&back, value, "round trip through {text}");
    json
}

/// The error text of deserializing `json` as `T`.
fn refused<T: DeserializeOwned + Debug>(json: Value) -> String {
    match serde_json::from_value::<T>(json.clone()) {
        Ok(value) => panic!("{json} was accepted as {value:?}"),
        Err(error) => error.to_string(),
    }
}

fn account() -> AccountId {
    AccountId::new("0123-456789").expect("valid account id")
}

fn event(at: u64, kind: AuditKind) -> AuditEvent {
    AuditEvent::new(account(), at, kind)
}

// ---- the JSON shape of audit events, pinned -------------------------------------------

#[test]
fn an_audit_event_is_one_flat_object_with_stable_field_names() {
    let refused = event(
        1_764_000_030,
        AuditKind::Refused {
            operation: Operation::Login,
            refusal: Refusal::WrongCode,
            failures: 1,
        },
    );
    assert_eq!(
        serde_json::to_string(&refused).expect("serializes"),
        r#"{"account":"0123-456789","at":1764000030,"kind":"refused","operation":"login","refusal":"wrong_code","failures":1}"#
    );
    round_trip(&refused);
}

#[test]
fn every_audit_kind_has_a_pinned_shape() {
    let operator = Operator::new("support-desk-07").expect("valid operator");
    let cases = [
        (
            AuditKind::EnrollmentStarted {
                expires_at: 1_764_000_600,
                replaced_pending: false,
            },
            json!({"kind": "enrollment_started", "expires_at": 1_764_000_600u64, "replaced_pending": false}),
        ),
        (AuditKind::StepUpRefused, json!({"kind": "step_up_refused"})),
        (
            AuditKind::EnrollmentConfirmed { step: 58_800_000 },
            json!({"kind": "enrollment_confirmed", "step": 58_800_000}),
        ),
        (
            AuditKind::EnrollmentExpired,
            json!({"kind": "enrollment_expired"}),
        ),
        (
            AuditKind::LoginAccepted {
                step: 58_800_001,
                drift: -1,
                authenticator: 2,
            },
            json!({"kind": "login_accepted", "step": 58_800_001, "drift": -1, "authenticator": 2}),
        ),
        (
            AuditKind::Refused {
                operation: Operation::Confirm,
                refusal: Refusal::Throttled {
                    until: 1_764_000_090,
                },
                failures: 4,
            },
            json!({"kind": "refused", "operation": "confirm", "refusal": {"throttled": {"until": 1_764_000_090u64}}, "failures": 4}),
        ),
        (
            AuditKind::Refused {
                operation: Operation::Stop,
                refusal: Refusal::Malformed(CodeError::WrongLength {
                    expected: 6,
                    found: 5,
                }),
                failures: 0,
            },
            json!({"kind": "refused", "operation": "stop", "refusal": {"malformed": {"wrong_length": {"expected": 6, "found": 5}}}, "failures": 0}),
        ),
        (
            AuditKind::Refused {
                operation: Operation::RecoveryLogin,
                refusal: Refusal::MalformedRecoveryCode(RecoveryCodeError::WrongLength {
                    expected: 16,
                    found: 15,
                }),
                failures: 2,
            },
            json!({"kind": "refused", "operation": "recovery_login", "refusal": {"malformed_recovery_code": {"wrong_length": {"expected": 16, "found": 15}}}, "failures": 2}),
        ),
        (
            AuditKind::RecoveryCodesIssued {
                count: 10,
                discarded: 4,
            },
            json!({"kind": "recovery_codes_issued", "count": 10, "discarded": 4}),
        ),
        (
            AuditKind::RecoveryCodeUsed {
                remaining: 3,
                operation: Operation::RecoveryLogin,
            },
            json!({"kind": "recovery_code_used", "remaining": 3, "operation": "recovery_login"}),
        ),
        (
            AuditKind::RecoveryCodesLow { remaining: 3 },
            json!({"kind": "recovery_codes_low", "remaining": 3}),
        ),
        (
            AuditKind::Resynced {
                drift: -3,
                operator: None,
            },
            json!({"kind": "resynced", "drift": -3, "operator": null}),
        ),
        (
            AuditKind::Diagnosed {
                operator: operator.clone(),
                offset: Some(12),
                failures: 1,
            },
            json!({"kind": "diagnosed", "operator": "support-desk-07", "offset": 12, "failures": 1}),
        ),
        (
            AuditKind::Unlocked {
                operator: operator.clone(),
                reason: "本人確認済み".to_owned(),
            },
            json!({"kind": "unlocked", "operator": "support-desk-07", "reason": "本人確認済み"}),
        ),
        (
            AuditKind::Locked { failures: 10 },
            json!({"kind": "locked", "failures": 10}),
        ),
        (
            AuditKind::EnrollmentShownAgain {
                expires_at: 1_764_000_600,
            },
            json!({"kind": "enrollment_shown_again", "expires_at": 1_764_000_600u64}),
        ),
        (AuditKind::Redisplayed, json!({"kind": "redisplayed"})),
        (
            AuditKind::RedisplayDisabled,
            json!({"kind": "redisplay_disabled"}),
        ),
        (AuditKind::Stopped, json!({"kind": "stopped"})),
        (
            AuditKind::AdministrativelyReset {
                operator: operator.clone(),
                reason: "lost phone".into(),
            },
            json!({"kind": "administratively_reset", "operator": "support-desk-07", "reason": "lost phone"}),
        ),
        (
            AuditKind::Forgotten {
                operator,
                reason: "APPI request".into(),
            },
            json!({"kind": "forgotten", "operator": "support-desk-07", "reason": "APPI request"}),
        ),
    ];
    for (kind, expected) in cases {
        assert_eq!(round_trip(&kind), expected, "{kind:?}");
        assert_eq!(
            Some(&json!(kind.name())),
            expected.get("kind"),
            "AuditKind::name is the serde kind"
        );
        // In an event, the same fields sit beside `account` and `at`.
        let mut flat = expected.clone();
        let map = flat.as_object_mut().expect("an object");
        map.insert("account".into(), json!("0123-456789"));
        map.insert("at".into(), json!(1_764_000_000u64));
        assert_eq!(round_trip(&event(1_764_000_000, kind)), flat);
    }
}

#[test]
fn the_request_context_is_a_nested_object_with_only_the_fields_it_has() {
    let mut with_context = event(1_764_000_000, AuditKind::Stopped);
    with_context.context = Some(
        RequestContext::new()
            .with_request_id("req-9")
            .with_client("203.0.113.7"),
    );
    assert_eq!(
        round_trip(&with_context),
        json!({"account": "0123-456789", "at": 1_764_000_000u64, "kind": "stopped",
               "context": {"request_id": "req-9", "client": "203.0.113.7"}})
    );
    // Values from the wire are cleaned as the constructor cleans them.
    let parsed: AuditEvent = serde_json::from_value(json!({
        "account": "0123-456789", "at": 1, "kind": "stopped",
        "context": {"user_agent": "UA\n2025-01-01 LoginAccepted"},
    }))
    .expect("deserializes");
    assert_eq!(
        parsed
            .context
            .and_then(|c| c.user_agent().map(str::to_owned))
            .as_deref(),
        Some("UA\u{FFFD}2025-01-01 LoginAccepted")
    );
}

#[test]
fn an_audit_event_with_an_invalid_account_or_operator_is_refused() {
    let control =
        refused::<AuditEvent>(json!({"account": "0123\n456789", "at": 1, "kind": "stopped"}));
    assert!(control.contains("control character"), "{control}");
    let empty = refused::<AuditEvent>(json!({"account": "", "at": 1, "kind": "stopped"}));
    assert!(empty.contains("empty"), "{empty}");
    let operator = refused::<AuditEvent>(json!({
        "account": "0123-456789", "at": 1, "kind": "administratively_reset",
        "operator": "desk\u{202e}07", "reason": "lost phone",
    }));
    assert!(operator.contains("invisible"), "{operator}");
    let unknown =
        refused::<AuditEvent>(json!({"account": "0123-456789", "at": 1, "kind": "hacked"}));
    assert!(unknown.contains("hacked"), "{unknown}");
}

// ---- status, refusals, verified steps ---------------------------------------------------

#[test]
fn status_and_access_round_trip_externally_tagged() {
    let cases = [
        (Status::NotRegistered, json!("not_registered")),
        (
            Status::Pending {
                expires_at: 1_764_000_600,
                access: Access::Open,
            },
            json!({"pending": {"expires_at": 1_764_000_600u64, "access": "open"}}),
        ),
        (
            Status::Active {
                since: 1_764_000_000,
                access: Access::Throttled {
                    until: 1_764_000_090,
                },
            },
            json!({"active": {"since": 1_764_000_000u64, "access": {"throttled": {"until": 1_764_000_090u64}}}}),
        ),
        (
            Status::Active {
                since: 1_764_000_000,
                access: Access::Locked,
            },
            json!({"active": {"since": 1_764_000_000u64, "access": "locked"}}),
        ),
    ];
    for (status, expected) in cases {
        assert_eq!(round_trip(&status), expected);
    }
}

#[test]
fn refusals_and_code_errors_round_trip() {
    let cases = [
        (Refusal::WrongCode, json!("wrong_code")),
        (Refusal::Replayed, json!("replayed")),
        (Refusal::Locked, json!("locked")),
        (
            Refusal::Throttled { until: 7 },
            json!({"throttled": {"until": 7}}),
        ),
        (
            Refusal::Malformed(CodeError::Empty),
            json!({"malformed": "empty"}),
        ),
        (
            Refusal::Malformed(CodeError::InputTooLong),
            json!({"malformed": "input_too_long"}),
        ),
        (
            Refusal::Malformed(CodeError::InvalidCharacter { position: 3 }),
            json!({"malformed": {"invalid_character": {"position": 3}}}),
        ),
        (
            Refusal::Malformed(CodeError::MisplacedSeparator { position: 1 }),
            json!({"malformed": {"misplaced_separator": {"position": 1}}}),
        ),
        (
            Refusal::MalformedRecoveryCode(RecoveryCodeError::InvalidCharacter { position: 4 }),
            json!({"malformed_recovery_code": {"invalid_character": {"position": 4}}}),
        ),
    ];
    for (refusal, expected) in cases {
        assert_eq!(round_trip(&refusal), expected);
    }
    for operation in [
        Operation::Begin,
        Operation::Confirm,
        Operation::Login,
        Operation::Redisplay,
        Operation::Stop,
    ] {
        let json = round_trip(&operation);
        assert!(json.is_string(), "{json}");
    }
    assert_eq!(
        round_trip(&Operation::IssueRecoveryCodes),
        json!("issue_recovery_codes")
    );
}

#[test]
fn a_verified_step_round_trips() {
    let secret = Secret::generate().expect("secret");
    let totp = Totp::new(&secret, &OtpPolicy::new("Example").expect("policy"));
    let now = 1_764_000_000;
    let verified: Verified = totp
        .verify(&totp.code_at(now - 30), now, None)
        .expect("the previous step's code is accepted");
    let json = round_trip(&verified);
    assert_eq!(
        json,
        json!({"step": now / 30 - 1, "drift": -1, "authenticator": 0})
    );
}

// ---- policies: round trips and validation ----------------------------------------------

#[test]
fn policies_round_trip_with_named_fields() {
    let default = OtpPolicy::new("北洋証券オンラインサービス").expect("policy");
    assert_eq!(
        round_trip(&default),
        json!({
            "algorithm": "SHA1", "digits": 6, "period": 30,
            "window": {"behind": 1, "ahead": 1}, "issuer": "北洋証券オンラインサービス",
        })
    );
    let custom = OtpPolicy::builder("Bank")
        .algorithm(Algorithm::Sha512)
        .digits(8)
        .period(60)
        .window(2, 0)
        .build()
        .expect("policy");
    assert_eq!(
        round_trip(&custom),
        json!({
            "algorithm": "SHA512", "digits": 8, "period": 60,
            "window": {"behind": 2, "ahead": 0}, "issuer": "Bank",
        })
    );
    for (algorithm, name) in [
        (Algorithm::Sha1, "SHA1"),
        (Algorithm::Sha256, "SHA256"),
        (Algorithm::Sha512, "SHA512"),
    ] {
        assert_eq!(round_trip(&algorithm), json!(name));
        assert_eq!(algorithm.uri_name(), name);
    }
    for n in 6..=8 {
        let digits = Digits::new(n).expect("digits");
        assert_eq!(round_trip(&digits), json!(n));
    }
    let window = Window::new(3, 1).expect("window");
    assert_eq!(round_trip(&window), json!({"behind": 3, "ahead": 1}));

    let throttle = ThrottlePolicy::new(5, 10, 600, 20).expect("throttle policy");
    assert_eq!(
        round_trip(&throttle),
        json!({"backoff_after": 5, "base_backoff": 10, "max_backoff": 600, "lock_after": 20})
    );
    round_trip(&ThrottlePolicy::default());
}

/// A valid policy's JSON with `field` replaced by `value`.
fn policy_with(field: &str, value: Value) -> Value {
    let mut json = serde_json::to_value(OtpPolicy::new("Bank").expect("policy")).expect("json");
    json.as_object_mut()
        .expect("an object")
        .insert(field.into(), value);
    json
}

#[test]
fn a_deserialized_policy_is_validated_like_the_builder() {
    // Each invalid field is refused with the builder's own error text.
    let cases = [
        (
            "digits",
            json!(9),
            "codes must have 6, 7 or 8 digits, not 9",
        ),
        ("digits", json!(5), "not 5"),
        (
            "period",
            json!(0),
            "the period must be between 5 and 600 seconds, not 0",
        ),
        ("period", json!(86_400), "not 86400"),
        (
            "window",
            json!({"behind": 11, "ahead": 1}),
            "at most 10 steps each way, not 11",
        ),
        ("issuer", json!(""), "the issuer must not be empty"),
        ("issuer", json!("Bank:Evil"), "must not contain ':'"),
        ("issuer", json!("Bank\u{7}"), "control characters"),
        ("algorithm", json!("MD5"), "unknown variant"),
    ];
    for (field, value, message) in cases {
        let json = policy_with(field, value);
        let error = refused::<OtpPolicy>(json.clone());
        assert!(error.contains(message), "{json}: {error}");
    }
    // Nothing missing, nothing extra (a misspelt field is not silently a default).
    let mut missing = policy_with("digits", json!(6));
    missing.as_object_mut().expect("object").remove("window");
    assert!(refused::<OtpPolicy>(missing).contains("missing field `window`"));
    let extra = policy_with("perod", json!(60));
    assert!(refused::<OtpPolicy>(extra).contains("unknown field `perod`"));
    // The parts on their own, too.
    assert!(refused::<Digits>(json!(10)).contains("not 10"));
    assert!(refused::<Window>(json!({"behind": 0, "ahead": 300})).contains("not 300"));
    assert!(refused::<Algorithm>(json!("sha1")).contains("unknown variant"));
}

#[test]
fn a_deserialized_throttle_policy_is_validated_like_new() {
    let valid =
        json!({"backoff_after": 3, "base_backoff": 30, "max_backoff": 900, "lock_after": 10});
    let parsed: ThrottlePolicy = serde_json::from_value(valid).expect("the defaults");
    assert_eq!(parsed, ThrottlePolicy::default());
    for (json, message) in [
        (
            json!({"backoff_after": 3, "base_backoff": 30, "max_backoff": 900, "lock_after": 0}),
            "lock_after must be between 1 and 100",
        ),
        (
            json!({"backoff_after": 3, "base_backoff": 30, "max_backoff": 900, "lock_after": 101}),
            "lock_after must be between 1 and 100",
        ),
        (
            json!({"backoff_after": 11, "base_backoff": 30, "max_backoff": 900, "lock_after": 10}),
            "backoff_after must be between 1 and lock_after",
        ),
        (
            json!({"backoff_after": 3, "base_backoff": 0, "max_backoff": 900, "lock_after": 10}),
            "base_backoff must be positive",
        ),
        (
            json!({"backoff_after": 3, "base_backoff": 30, "lock_after": 10}),
            "missing field `max_backoff`",
        ),
    ] {
        let error = refused::<ThrottlePolicy>(json.clone());
        assert!(error.contains(message), "{json}: {error}");
    }
}

// ---- account ids and operators -----------------------------------------------------------

#[test]
fn account_ids_and_operators_are_plain_strings_validated_on_the_way_in() {
    assert_eq!(round_trip(&account()), json!("0123-456789"));
    let operator = Operator::new("support-desk-07").expect("operator");
    assert_eq!(round_trip(&operator), json!("support-desk-07"));

    let too_long = "x".repeat(AccountId::MAX_BYTES + 1);
    for (id, message) in [
        ("", "empty"),
        ("0123\n456789", "control character"),
        ("0123\u{200b}456789", "invisible"),
        (too_long.as_str(), "longer than"),
    ] {
        let error = refused::<AccountId>(json!(id));
        assert!(error.contains(message), "{id:?}: {error}");
        assert!(
            AccountId::new(id).is_err(),
            "the constructor refuses {id:?} too"
        );
    }
    assert!(refused::<Operator>(json!("   ")).contains("empty"));
    assert!(refused::<Operator>(json!("desk\t07")).contains("control character"));
    assert!(refused::<AccountId>(json!(42)).contains("invalid type"));
}

// ---- customer-facing classes ---------------------------------------------------------------

#[test]
fn languages_and_error_classes_round_trip() {
    assert_eq!(round_trip(&Lang::Ja), json!("ja"));
    assert_eq!(round_trip(&Lang::En), json!("en"));
    let cases = [
        (ErrorClass::InvalidInput, json!("invalid_input")),
        (ErrorClass::WrongCredential, json!("wrong_credential")),
        (
            ErrorClass::Throttled { retry_after: 30 },
            json!({"throttled": {"retry_after": 30}}),
        ),
        (ErrorClass::Locked, json!("locked")),
        (ErrorClass::Conflict, json!("conflict")),
        (ErrorClass::RetryLater, json!("retry_later")),
        (ErrorClass::ServerFault, json!("server_fault")),
    ];
    for (class, expected) in cases {
        assert_eq!(round_trip(&class), expected);
    }
}

// ---- nothing secret is serializable ---------------------------------------------------------

#[test]
fn secrets_keys_and_provisioning_screens_implement_neither_serialize_nor_deserialize() {
    // Compile-time: each line fails to compile if the type gains either impl.
    assert_not_impl_any!(totp_enroll::otp::Secret: Serialize, serde::Deserialize<'static>);
    assert_not_impl_any!(totp_enroll::KeyRing: Serialize, serde::Deserialize<'static>);
    assert_not_impl_any!(totp_enroll::otp::PreparedKey: Serialize, serde::Deserialize<'static>);
    assert_not_impl_any!(totp_enroll::Provisioning: Serialize, serde::Deserialize<'static>);
    assert_not_impl_any!(totp_enroll::keys::SealedSecret: Serialize, serde::Deserialize<'static>);
    assert_not_impl_any!(totp_enroll::provision::KeyUri: Serialize, serde::Deserialize<'static>);
    assert_not_impl_any!(totp_enroll::provision::QrCode: Serialize, serde::Deserialize<'static>);
    // Nor what holds or computes them, nor what a customer typed.
    assert_not_impl_any!(totp_enroll::otp::Totp: Serialize, serde::Deserialize<'static>);
    assert_not_impl_any!(totp_enroll::lifecycle::Enrollment: Serialize, serde::Deserialize<'static>);
    assert_not_impl_any!(totp_enroll::otp::Code: Serialize, serde::Deserialize<'static>);
    assert_not_impl_any!(
        totp_enroll::Engine<totp_enroll::MemoryStore>: Serialize,
        serde::Deserialize<'static>
    );

    // The public, non-secret types do implement both.
    assert_impl_all!(AuditEvent: Serialize, DeserializeOwned);
    assert_impl_all!(AuditKind: Serialize, DeserializeOwned);
    assert_impl_all!(Status: Serialize, DeserializeOwned);
    assert_impl_all!(Refusal: Serialize, DeserializeOwned);
    assert_impl_all!(Verified: Serialize, DeserializeOwned);
    assert_impl_all!(OtpPolicy: Serialize, DeserializeOwned);
    assert_impl_all!(ThrottlePolicy: Serialize, DeserializeOwned);
    assert_impl_all!(AccountId: Serialize, DeserializeOwned);
}
