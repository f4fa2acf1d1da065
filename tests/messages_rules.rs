//! Words for customers and classes for handlers, as rules.
//!
//! Every engine error and refusal has a class a handler maps to an HTTP status without a
//! catch-all, and a message in Japanese and English that shows no internals and echoes
//! nothing typed; a throttle's end is shown in the portal's time zone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::{App, Harness, wrong_codes};
use totp_enroll::{
    ErrorClass, Locale, Status, error::ClockError, error::CodeError, error::EngineError,
    error::IdentifierError, error::PolicyError, error::QrError, error::RecordError, error::Refusal,
    error::SealError, error::SecretError, error::StepUpError, error::StoreError, error::UriError,
    messages::Lang, messages::UtcOffset, otp::Code, provision::KeyType,
};

/// 2025-12-01 16:30:00 JST.
const NOW: u64 = 1_764_574_200;

/// One value of every `EngineError` variant (and of every `Refusal` and `StoreError` one),
/// with the class each must have. The crate's own `match` has no catch-all, so a new
/// variant is a compile error there; this list makes its wording a test failure here.
fn every_error() -> Vec<(EngineError, ErrorClass)> {
    use ErrorClass::*;
    let malformed = Code::parse("12a456", six()).unwrap_err();
    vec![
        (
            EngineError::Refused(Refusal::Malformed(malformed)),
            InvalidInput,
        ),
        (
            EngineError::Refused(Refusal::Malformed(CodeError::Empty)),
            InvalidInput,
        ),
        (EngineError::Refused(Refusal::WrongCode), WrongCredential),
        (EngineError::Refused(Refusal::Replayed), WrongCredential),
        (
            EngineError::Refused(Refusal::Throttled { until: NOW + 90 }),
            Throttled { retry_after: 90 },
        ),
        (EngineError::Refused(Refusal::Locked), Locked),
        (
            EngineError::StepUp(StepUpError::WrongAccount),
            WrongCredential,
        ),
        (
            EngineError::StepUp(StepUpError::Expired {
                age: 301,
                max_age: 300,
            }),
            WrongCredential,
        ),
        (
            EngineError::StepUp(StepUpError::FromTheFuture),
            WrongCredential,
        ),
        (EngineError::AlreadyActive, Conflict),
        (EngineError::NoPendingEnrollment, Conflict),
        (EngineError::NotActive, Conflict),
        (EngineError::RedisplayDisabled, Conflict),
        (
            EngineError::InvalidIdentifier(IdentifierError::Empty {
                field: "account id",
            }),
            InvalidInput,
        ),
        (EngineError::Contention, RetryLater),
        (EngineError::Store(StoreError::Conflict), RetryLater),
        (
            EngineError::Store(StoreError::backend(std::io::Error::other(
                "sqlx: pool timed out",
            ))),
            RetryLater,
        ),
        (
            EngineError::Store(StoreError::Corrupt(RecordError::Truncated)),
            ServerFault,
        ),
        (
            EngineError::Store(StoreError::VersionExhausted),
            ServerFault,
        ),
        (
            EngineError::Store(StoreError::Schema {
                found: 0,
                expected: 3,
            }),
            ServerFault,
        ),
        (
            EngineError::KeyStillNeeded {
                key_id: 1,
                records: 3,
            },
            ServerFault,
        ),
        (EngineError::Seal(SealError::UnknownKeyId(7)), ServerFault),
        (EngineError::Seal(SealError::Authentication), ServerFault),
        (EngineError::Clock(ClockError::BeforeUnixEpoch), ServerFault),
        (
            EngineError::Secret(SecretError::RandomUnavailable),
            ServerFault,
        ),
        (EngineError::Uri(UriError::MissingSecret), ServerFault),
        (EngineError::Qr(QrError::DataTooLong), ServerFault),
        (EngineError::Policy(PolicyError::EmptyIssuer), ServerFault),
    ]
}

/// Words that would tell a customer (or an attacker) how the server works inside.
const INTERNALS: &[&str] = &[
    "sqlx", "pool", "store", "Store", "seal", "key id", "record", "Backend", "backend", "panic",
    "error:", "Error", "{", "}", "0x", "7",
];

#[test]
fn every_error_has_its_class_and_status() {
    for (error, class) in every_error() {
        assert_eq!(error.class(NOW), class, "{error:?}");
        let status = class.http_status();
        assert!([400, 401, 403, 409, 429, 500, 503].contains(&status));
        assert_eq!(
            class.is_customer_side(),
            status < 500,
            "{error:?}: 4xx is the customer's side, 5xx the server's"
        );
    }
}

#[test]
fn statuses_are_the_usual_http_ones() {
    assert_eq!(ErrorClass::InvalidInput.http_status(), 400);
    assert_eq!(ErrorClass::WrongCredential.http_status(), 401);
    assert_eq!(ErrorClass::Locked.http_status(), 403);
    assert_eq!(ErrorClass::Conflict.http_status(), 409);
    assert_eq!(ErrorClass::Throttled { retry_after: 5 }.http_status(), 429);
    assert_eq!(
        ErrorClass::Throttled { retry_after: 5 }.retry_after(),
        Some(5)
    );
    assert_eq!(ErrorClass::RetryLater.http_status(), 503);
    assert_eq!(ErrorClass::ServerFault.http_status(), 500);
    assert_eq!(ErrorClass::Locked.retry_after(), None);
}

#[test]
fn a_throttle_ending_now_still_asks_to_wait_at_least_a_second() {
    let refusal = Refusal::Throttled { until: NOW };
    assert_eq!(refusal.class(NOW), ErrorClass::Throttled { retry_after: 1 });
    assert_eq!(
        refusal.class(NOW + 100),
        ErrorClass::Throttled { retry_after: 1 }
    );
}

#[test]
fn every_error_has_a_polite_japanese_and_an_english_message_without_internals() {
    for (error, _) in every_error() {
        let ja = Locale::JA_JST.engine_error(&error);
        let en = Locale::EN_JST.engine_error(&error);
        assert!(ja.ends_with('。'), "{error:?}: {ja}");
        assert!(
            ja.contains("ください") || ja.contains("ません") || ja.contains("です"),
            "{error:?}: 丁寧語 expected: {ja}"
        );
        assert!(
            ja.chars().any(|c| ('\u{3040}'..='\u{30FF}').contains(&c)),
            "{ja}"
        );
        assert!(en.ends_with('.'), "{error:?}: {en}");
        assert!(en.is_ascii(), "{error:?}: {en}");
        for text in [&ja, &en] {
            for word in INTERNALS {
                // A throttle message shows a time, which may contain any digit but 7 here.
                assert!(!text.contains(word), "{error:?} shows {word:?}: {text}");
            }
        }
    }
}

#[test]
fn a_malformed_code_message_never_echoes_what_was_typed() {
    for typed in ["12a456", "１２３-４５６-", "<script>", "99999999999"] {
        let error = Code::parse(typed, six()).unwrap_err();
        for locale in [Locale::JA_JST, Locale::EN_JST] {
            let text = locale.refusal(&Refusal::Malformed(error));
            assert!(!text.contains(typed), "{text}");
            assert!(!text.contains("script") && !text.contains("999"), "{text}");
        }
    }
    let short = Refusal::Malformed(Code::parse("12345", six()).unwrap_err());
    assert_eq!(
        Locale::JA_JST.refusal(&short),
        "ワンタイムパスワードは6桁の数字で入力してください。"
    );
    assert_eq!(
        Locale::EN_JST.refusal(&short),
        "Please enter the one-time password as 6 digits."
    );
}

#[test]
fn a_throttle_shows_when_to_try_again_in_the_portals_time_zone() {
    let refusal = Refusal::Throttled { until: NOW + 30 };
    let ja = Locale::JA_JST.refusal(&refusal);
    assert!(
        ja.contains("2025年12月1日 16:30:30（日本時間）以降に"),
        "{ja}"
    );
    let en = Locale::EN_JST.refusal(&refusal);
    assert!(en.contains("after 1 December 2025, 16:30:30 JST."), "{en}");
    let utc = Locale::new(Lang::En, UtcOffset::UTC).refusal(&refusal);
    assert!(
        utc.contains("after 1 December 2025, 07:30:30 UTC+00:00."),
        "{utc}"
    );
    // No raw Unix time, as the developer-facing Display shows.
    assert!(!ja.contains(&(NOW + 30).to_string()) && !en.contains(&(NOW + 30).to_string()));
}

#[test]
fn a_lock_sends_the_customer_to_the_support_desk() {
    let ja = Locale::JA_JST.refusal(&Refusal::Locked);
    assert!(
        ja.contains("お客さまサポート窓口までお問い合わせください"),
        "{ja}"
    );
    let en = Locale::EN_JST.refusal(&Refusal::Locked);
    assert!(en.contains("contact the customer support desk"), "{en}");
}

#[test]
fn each_refusal_reads_as_the_manual_would_say_it() {
    let cases = [
        (
            EngineError::Refused(Refusal::WrongCode),
            "ワンタイムパスワードが正しくありません。",
        ),
        (
            EngineError::Refused(Refusal::Replayed),
            "既に使用されています",
        ),
        (
            EngineError::NoPendingEnrollment,
            "お申込みの有効期限が切れました",
        ),
        (
            EngineError::StepUp(StepUpError::Expired {
                age: 400,
                max_age: 300,
            }),
            "もう一度取引パスワードを入力してください",
        ),
        (EngineError::NotActive, "ご利用になっていません"),
        (EngineError::AlreadyActive, "既にご利用中です"),
    ];
    for (error, expected) in cases {
        let text = Locale::JA_JST.engine_error(&error);
        assert!(text.contains(expected), "{error:?}: {text}");
    }
}

#[tokio::test]
async fn the_engines_real_refusals_carry_their_class_and_words() {
    let h = Harness::new();
    let app: App = h.enrolled().await;
    let now = u64::try_from(h.now()).unwrap();
    let code = app.code_at(h.now());
    let _ = h.engine.verify_login(&h.account, &code).await.unwrap();
    let replay = h.engine.verify_login(&h.account, &code).await.unwrap_err();
    assert_eq!(replay.class(now), ErrorClass::WrongCredential);
    assert!(
        Locale::JA_JST
            .engine_error(&replay)
            .contains("既に使用されています")
    );

    let wrong = wrong_codes(&app, h.now(), 3);
    let mut last = None;
    for code in &wrong {
        last = Some(h.engine.verify_login(&h.account, code).await.unwrap_err());
    }
    // The third consecutive failure imposes the first 30 s backoff, and says so itself:
    // the customer reads when to try again on this screen, not at the next try.
    let third = last.unwrap();
    assert_eq!(third.class(now), ErrorClass::Throttled { retry_after: 30 });
    assert!(
        Locale::JA_JST
            .engine_error(&third)
            .starts_with("ワンタイムパスワードが正しくありません。誤入力が続いたため、")
    );
    let throttled = h
        .engine
        .verify_login(&h.account, &wrong[0])
        .await
        .unwrap_err();
    assert_eq!(
        throttled.class(now),
        ErrorClass::Throttled { retry_after: 30 }
    );
}

#[test]
fn status_labels_in_both_languages_and_whether_login_needs_a_code() {
    let not_registered = Status::NotRegistered;
    assert_eq!(not_registered.label(Lang::Ja), "未登録");
    assert_eq!(not_registered.label(Lang::En), "Not registered");
    assert!(!not_registered.login_needs_code());
    assert_eq!(
        not_registered.label(Lang::Ja),
        not_registered.portal_label()
    );
}

#[tokio::test]
async fn a_pending_enrollment_is_not_registered_and_needs_no_code_at_login() {
    let h = Harness::new();
    let _ = h.begin().await;
    let pending = h.engine.status(&h.account).await.unwrap();
    assert!(matches!(pending, Status::Pending { .. }));
    assert_eq!(pending.label(Lang::Ja), "未登録");
    assert!(!pending.login_needs_code());
}

#[tokio::test]
async fn an_active_enrollment_is_in_use_and_needs_a_code_even_when_locked() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let active = h.engine.status(&h.account).await.unwrap();
    assert_eq!(active.label(Lang::Ja), "利用中");
    assert_eq!(active.label(Lang::En), "In use");
    assert!(active.login_needs_code());
    for code in wrong_codes(&app, h.now(), 10) {
        let _ = h.engine.verify_login(&h.account, &code).await;
        h.clock.advance(16 * 60);
    }
    let locked = h.engine.status(&h.account).await.unwrap();
    assert!(
        matches!(
            locked,
            Status::Active {
                access: totp_enroll::Access::Locked,
                ..
            }
        ),
        "{locked:?}"
    );
    assert!(locked.login_needs_code());
}

#[test]
fn the_key_type_is_time_based_in_both_languages() {
    assert_eq!(KeyType::TimeBased.label_in(Lang::Ja), "時間ベース");
    assert_eq!(KeyType::TimeBased.label_in(Lang::En), "Time based");
}

fn six() -> totp_enroll::otp::Digits {
    totp_enroll::otp::Digits::new(6).unwrap()
}

/// One value of every `AuditKind` variant.
fn every_audit_kind() -> Vec<totp_enroll::AuditKind> {
    use totp_enroll::{AuditKind, Operator, audit::Operation};
    vec![
        AuditKind::EnrollmentStarted {
            expires_at: NOW + 600,
            replaced_pending: false,
        },
        AuditKind::EnrollmentStarted {
            expires_at: NOW + 600,
            replaced_pending: true,
        },
        AuditKind::StepUpRefused,
        AuditKind::EnrollmentConfirmed { step: 58_819_140 },
        AuditKind::EnrollmentExpired,
        AuditKind::LoginAccepted {
            step: 58_819_141,
            drift: -1,
            authenticator: 2,
        },
        AuditKind::Refused {
            operation: Operation::Login,
            refusal: Refusal::WrongCode,
            failures: 3,
        },
        AuditKind::Refused {
            operation: Operation::Stop,
            refusal: Refusal::Locked,
            failures: 10,
        },
        AuditKind::Locked { failures: 10 },
        AuditKind::EnrollmentShownAgain {
            expires_at: NOW + 300,
        },
        AuditKind::Redisplayed,
        AuditKind::RedisplayDisabled,
        AuditKind::Stopped,
        AuditKind::AdministrativelyReset {
            operator: Operator::new("desk-01").unwrap(),
            reason: "紛失（本人確認済み）".to_owned(),
        },
    ]
}

#[test]
fn every_audit_event_has_a_desk_line_in_both_languages() {
    for kind in every_audit_kind() {
        let ja = Locale::JA_JST.audit_event(&kind);
        let en = Locale::EN_JST.audit_event(&kind);
        assert!(
            ja.chars().any(|c| ('\u{3040}'..='\u{9FFF}').contains(&c)),
            "{kind:?}: {ja}"
        );
        assert!(
            !en.is_empty()
                && en
                    .chars()
                    .all(|c| c.is_ascii() || "紛失（本人確認済み）".contains(c)),
            "{en}"
        );
        assert!(
            !ja.contains("58819") && !en.contains("58819"),
            "steps are not for the desk"
        );
    }
    let refused = Locale::JA_JST.audit_event(&every_audit_kind()[6]);
    assert_eq!(
        refused,
        "ログイン：ワンタイムパスワード不一致（連続失敗 3 回）"
    );
    let started = Locale::JA_JST.audit_event(&every_audit_kind()[0]);
    assert_eq!(
        started,
        "申込開始（有効期限 2025年12月1日 16:40:00（日本時間））"
    );
    let reset = Locale::JA_JST.audit_event(every_audit_kind().last().unwrap());
    assert!(
        reset.contains("desk-01") && reset.contains("紛失（本人確認済み）"),
        "{reset}"
    );
}

#[test]
fn exactly_the_factor_changes_notify_the_customer_without_naming_the_operator() {
    for kind in every_audit_kind() {
        for locale in [Locale::JA_JST, Locale::EN_JST] {
            let notification = locale.notification(&kind);
            assert_eq!(notification.is_some(), kind.is_factor_change(), "{kind:?}");
            if let Some(n) = notification {
                assert!(!n.subject.is_empty() && !n.body.is_empty());
                assert!(
                    !n.body.contains("desk-01") && !n.body.contains("紛失"),
                    "{kind:?}"
                );
            }
        }
    }
    let locked = Locale::JA_JST.notification(&totp_enroll::AuditKind::Locked { failures: 10 });
    assert_eq!(
        locked.unwrap().subject,
        "ワンタイムパスワード認証ロックのお知らせ"
    );
}

#[test]
fn every_error_class_has_a_stable_snake_case_name() {
    let named = [
        (ErrorClass::InvalidInput, "invalid_input"),
        (ErrorClass::WrongCredential, "wrong_credential"),
        (ErrorClass::Throttled { retry_after: 30 }, "throttled"),
        (ErrorClass::Locked, "locked"),
        (ErrorClass::Conflict, "conflict"),
        (ErrorClass::RetryLater, "retry_later"),
        (ErrorClass::ServerFault, "server_fault"),
    ];
    for (class, name) in named {
        assert_eq!(class.as_str(), name);
        assert_eq!(class.to_string(), name);
    }
    for (error, class) in every_error() {
        assert!(
            named.iter().any(|(c, n)| {
                std::mem::discriminant(c) == std::mem::discriminant(&class)
                    && *n == error.class(NOW).as_str()
            }),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn an_engine_classifies_an_error_at_its_own_time() {
    let h = Harness::new();
    let now = h.engine.now().unwrap();
    let throttled = EngineError::Refused(Refusal::Throttled { until: now + 90 });
    assert_eq!(
        h.engine.class_of(&throttled),
        ErrorClass::Throttled { retry_after: 90 }
    );
    h.clock.advance(60);
    assert_eq!(
        h.engine.class_of(&throttled),
        ErrorClass::Throttled { retry_after: 30 }
    );
}

#[test]
fn times_can_be_shown_in_utc_as_well_as_jst() {
    // 2025-12-01 16:30:00 JST is 07:30:00 UTC.
    assert!(
        Locale::EN_UTC.time(NOW).contains("07:30:00"),
        "{}",
        Locale::EN_UTC.time(NOW)
    );
    assert!(
        Locale::JA_UTC.time(NOW).contains("7:30:00"),
        "{}",
        Locale::JA_UTC.time(NOW)
    );
    assert!(Locale::JA_JST.time(NOW).contains("16:30:00"));
}
