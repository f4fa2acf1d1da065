//! Unit tests of the audit event codec: one named test per refusal of the decoder.

use super::*;

fn account() -> AccountId {
    AccountId::new("0123-456789").unwrap_or_else(|_| unreachable!())
}

fn operator() -> Operator {
    Operator::new("desk-01 山田").unwrap_or_else(|_| unreachable!())
}

fn every_kind() -> Vec<AuditKind> {
    let mut kinds = vec![
        AuditKind::EnrollmentStarted {
            expires_at: u64::MAX,
            replaced_pending: true,
        },
        AuditKind::StepUpRefused,
        AuditKind::EnrollmentConfirmed { step: 58_800_001 },
        AuditKind::EnrollmentExpired,
        AuditKind::LoginAccepted {
            step: 1,
            drift: -1,
            authenticator: 3,
        },
        AuditKind::AuthenticatorAdded {
            id: 2,
            name: "iPad ミニ".to_owned(),
        },
        AuditKind::AuthenticatorConfirmed { id: 2 },
        AuditKind::AuthenticatorRemoved {
            id: 1,
            operator: None,
        },
        AuditKind::AuthenticatorRemoved {
            id: 255,
            operator: Some(operator()),
        },
        AuditKind::Locked { failures: 10 },
        AuditKind::Redisplayed,
        AuditKind::EnrollmentShownAgain {
            expires_at: 1_764_000_600,
        },
        AuditKind::RedisplayDisabled,
        AuditKind::Stopped,
        AuditKind::RecoveryCodesIssued {
            count: 10,
            discarded: 7,
        },
        AuditKind::RecoveryCodeUsed {
            remaining: 0,
            operation: Operation::RecoveryLogin,
        },
        AuditKind::RecoveryCodeUsed {
            remaining: 7,
            operation: Operation::Stop,
        },
        AuditKind::RecoveryCodesLow { remaining: 3 },
        AuditKind::Resynced {
            drift: -2880,
            operator: None,
        },
        AuditKind::Resynced {
            drift: 7,
            operator: Some(operator()),
        },
        AuditKind::Diagnosed {
            operator: operator(),
            offset: Some(-120),
            failures: 4,
        },
        AuditKind::Diagnosed {
            operator: operator(),
            offset: None,
            failures: 1,
        },
        AuditKind::Unlocked {
            operator: operator(),
            reason: "本人確認済み".to_owned(),
        },
        AuditKind::AdministrativelyReset {
            operator: operator(),
            reason: "紛失のため（本人確認済み）".to_owned(),
        },
        AuditKind::Forgotten {
            operator: operator(),
            reason: "個人情報削除依頼".to_owned(),
        },
    ];
    let refusals = [
        Refusal::Malformed(CodeError::Empty),
        Refusal::Malformed(CodeError::InputTooLong),
        Refusal::Malformed(CodeError::InvalidCharacter { position: 3 }),
        Refusal::Malformed(CodeError::MisplacedSeparator { position: 7 }),
        Refusal::Malformed(CodeError::WrongLength {
            expected: 6,
            found: 5,
        }),
        Refusal::WrongCode,
        Refusal::Replayed,
        Refusal::Throttled {
            until: 1_764_000_060,
        },
        Refusal::Locked,
        Refusal::WrongCodeThrottled {
            until: 1_764_000_090,
        },
        Refusal::WrongCodeLocked,
        Refusal::MalformedRecoveryCode(RecoveryCodeError::Empty),
        Refusal::MalformedRecoveryCode(RecoveryCodeError::InputTooLong),
        Refusal::MalformedRecoveryCode(RecoveryCodeError::InvalidCharacter { position: 9 }),
        Refusal::MalformedRecoveryCode(RecoveryCodeError::MisplacedSeparator { position: 5 }),
        Refusal::MalformedRecoveryCode(RecoveryCodeError::WrongLength {
            expected: 16,
            found: 15,
        }),
    ];
    let operations = [
        Operation::Begin,
        Operation::Confirm,
        Operation::Login,
        Operation::Redisplay,
        Operation::Stop,
        Operation::RecoveryLogin,
        Operation::IssueRecoveryCodes,
        Operation::Resync,
        Operation::Diagnose,
        Operation::AddAuthenticator,
        Operation::ConfirmAuthenticator,
        Operation::RemoveAuthenticator,
    ];
    for operation in operations {
        for refusal in refusals {
            kinds.push(AuditKind::Refused {
                operation,
                refusal,
                failures: 3,
            });
        }
    }
    kinds
}

#[test]
fn every_kind_with_and_without_context_decodes_to_itself() {
    let contexts = [
        None,
        Some(RequestContext::new()),
        Some(RequestContext::new().with_user_agent("Mozilla/5.0 (iPhone)")),
        Some(
            RequestContext::new()
                .with_request_id("req-1")
                .with_client("2001:db8::1")
                .with_user_agent("日本語UA"),
        ),
    ];
    for kind in every_kind() {
        for context in &contexts {
            let event = AuditEvent {
                account: account(),
                at: 1_764_000_030,
                kind: kind.clone(),
                context: context.clone(),
            };
            assert_eq!(AuditEvent::decode(&event.encode()), Ok(event));
        }
    }
}

#[test]
fn every_truncation_and_any_trailing_byte_is_a_typed_error() {
    for kind in every_kind() {
        let event = AuditEvent {
            account: account(),
            at: 7,
            kind,
            context: Some(RequestContext::new().with_client("203.0.113.7")),
        };
        let bytes = event.encode();
        for end in 0..bytes.len() {
            let prefix = bytes.get(..end).unwrap_or_default();
            assert!(
                AuditEvent::decode(prefix).is_err(),
                "a {end}-byte prefix decoded"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            AuditEvent::decode(&longer),
            Err(AuditDecodeError::TrailingBytes)
        );
    }
}

#[test]
fn an_edited_operator_cannot_forge_an_audit_line() {
    let event = AuditEvent {
        account: account(),
        at: 7,
        kind: AuditKind::AdministrativelyReset {
            operator: operator(),
            reason: "lost".to_owned(),
        },
        context: None,
    };
    let mut bytes = event.encode();
    // The operator's first byte ('d') becomes a newline.
    let at = bytes
        .iter()
        .position(|&b| b == b'd')
        .unwrap_or_else(|| unreachable!());
    if let Some(byte) = bytes.get_mut(at) {
        *byte = b'\n';
    }
    assert_eq!(
        AuditEvent::decode(&bytes),
        Err(AuditDecodeError::InvalidField("operator"))
    );
}

#[test]
fn another_header_or_format_version_is_refused() {
    let mut bytes = AuditEvent {
        account: account(),
        at: 7,
        kind: AuditKind::Stopped,
        context: None,
    }
    .encode();
    if let Some(version) = bytes.get_mut(3) {
        *version = 2;
    }
    assert_eq!(AuditEvent::decode(&bytes), Err(AuditDecodeError::BadHeader));
    assert_eq!(AuditEvent::decode(b""), Err(AuditDecodeError::Truncated));
}

/// The bytes of an event with `kind`, the account `0123-456789` and no context.
fn bytes_of(kind: AuditKind) -> Vec<u8> {
    AuditEvent {
        account: account(),
        at: 7,
        kind,
        context: None,
    }
    .encode()
}

/// Offset of the kind tag: magic, account text (2 + 11 bytes), `at`.
const KIND: usize = 4 + 2 + 11 + 8;

fn with_byte(mut bytes: Vec<u8>, at: usize, value: u8) -> Vec<u8> {
    if let Some(byte) = bytes.get_mut(at) {
        *byte = value;
    }
    bytes
}

#[test]
fn an_unknown_kind_tag_is_refused() {
    let bytes = with_byte(bytes_of(AuditKind::Stopped), KIND, 0xEE);
    assert_eq!(
        AuditEvent::decode(&bytes),
        Err(AuditDecodeError::InvalidField("kind"))
    );
}

#[test]
fn an_account_that_is_not_a_valid_id_is_refused() {
    // The account's first byte ('0') becomes a newline.
    let bytes = with_byte(bytes_of(AuditKind::Stopped), 6, b'\n');
    assert_eq!(
        AuditEvent::decode(&bytes),
        Err(AuditDecodeError::InvalidField("account"))
    );
}

#[test]
fn an_unknown_operation_or_refusal_tag_is_refused() {
    let refused = bytes_of(AuditKind::Refused {
        operation: Operation::Login,
        refusal: Refusal::WrongCode,
        failures: 1,
    });
    assert_eq!(
        AuditEvent::decode(&with_byte(refused.clone(), KIND + 1, 13)),
        Err(AuditDecodeError::InvalidField("operation"))
    );
    assert_eq!(
        AuditEvent::decode(&with_byte(refused, KIND + 2, 9)),
        Err(AuditDecodeError::InvalidField("refusal"))
    );
}

#[test]
fn a_malformed_code_reason_with_a_stray_field_is_refused() {
    // `Empty` has no position: a non-zero one would be a second byte form of it.
    let empty = bytes_of(AuditKind::Refused {
        operation: Operation::Login,
        refusal: Refusal::Malformed(CodeError::Empty),
        failures: 0,
    });
    let last_position_byte = KIND + 1 + 1 + 1 + 8 - 1;
    assert_eq!(
        AuditEvent::decode(&with_byte(empty, last_position_byte, 1)),
        Err(AuditDecodeError::InvalidField("refusal"))
    );
}

#[test]
fn a_flag_byte_that_is_neither_zero_nor_one_is_refused() {
    let started = bytes_of(AuditKind::EnrollmentStarted {
        expires_at: 1,
        replaced_pending: false,
    });
    assert_eq!(
        AuditEvent::decode(&with_byte(started, KIND + 1 + 8, 2)),
        Err(AuditDecodeError::InvalidField("replaced_pending"))
    );
}

#[test]
fn unknown_context_flags_or_an_unclean_context_value_are_refused() {
    let bytes = bytes_of(AuditKind::Stopped);
    let flags = bytes.len() - 1;
    assert_eq!(
        AuditEvent::decode(&with_byte(bytes.clone(), flags, 0x08)),
        Err(AuditDecodeError::InvalidField("context"))
    );
    let with_agent = AuditEvent {
        account: account(),
        at: 7,
        kind: AuditKind::Stopped,
        context: Some(RequestContext::new().with_user_agent("UA")),
    }
    .encode();
    let last = with_agent.len() - 1;
    assert_eq!(
        AuditEvent::decode(&with_byte(with_agent, last, b'\t')),
        Err(AuditDecodeError::InvalidField("context"))
    );
}

#[test]
fn a_reset_reason_with_a_control_character_or_invalid_utf8_is_refused() {
    let reset = bytes_of(AuditKind::AdministrativelyReset {
        operator: operator(),
        reason: "lost".to_owned(),
    });
    let last = reset.len() - 2; // the reason's last byte, before the context flags
    assert_eq!(
        AuditEvent::decode(&with_byte(reset.clone(), last, b'\n')),
        Err(AuditDecodeError::InvalidField("reason"))
    );
    assert_eq!(
        AuditEvent::decode(&with_byte(reset, last, 0xFF)),
        Err(AuditDecodeError::InvalidField("text"))
    );
}

#[test]
fn every_kind_has_its_own_snake_case_name() {
    let kinds = every_kind();
    let variants: std::collections::HashSet<_> =
        kinds.iter().map(core::mem::discriminant).collect();
    let names: std::collections::HashSet<&str> = kinds.iter().map(AuditKind::name).collect();
    assert_eq!(names.len(), variants.len(), "one name per kind: {names:?}");
    assert!(
        names
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')),
        "{names:?}"
    );
}
