//! Unit tests of the record codec: one named test per refusal of the decoder.

use super::*;
use crate::lifecycle::enrollment::RECOVERY_HASH_BYTES;

fn sealed() -> SealedSecret {
    SealedSecret {
        key_id: 1,
        nonce: [7; 24],
        ciphertext: vec![9; 20 + SEAL_TAG_BYTES],
        format: SealFormat::V3,
    }
}

fn authenticator(id: u8) -> Authenticator {
    Authenticator {
        id,
        name: String::new(),
        secret: sealed(),
        params: OtpParams {
            algorithm: Algorithm::Sha1,
            digits: Digits::SIX,
            period: 30,
        },
        label: "customer-42".to_owned(),
        created_at: 1,
        last_used_at: Some(2),
        last_used_step: 3,
        drift: 0,
        pending_until: None,
    }
}

fn pending(id: u8) -> Authenticator {
    Authenticator {
        last_used_at: None,
        last_used_step: 0,
        pending_until: Some(100),
        ..authenticator(id)
    }
}

fn active(authenticators: Vec<Authenticator>) -> Enrollment {
    Enrollment {
        status: RecordStatus::Active {
            since: 1,
            authenticators,
        },
        ..Enrollment::not_registered()
    }
}

fn refused(record: &Enrollment) -> Result<Enrollment, RecordError> {
    Enrollment::decode(&record.encode())
}

#[test]
fn a_valid_set_of_authenticators_decodes_to_itself() {
    let record = active(vec![authenticator(1), authenticator(4), pending(9)]);
    assert_eq!(refused(&record), Ok(record));
}

#[test]
fn an_active_record_without_authenticators_is_refused() {
    assert_eq!(
        refused(&active(Vec::new())),
        Err(RecordError::InvalidField("authenticators"))
    );
}

#[test]
fn more_than_five_authenticators_are_refused() {
    let six = (1..=6).map(authenticator).collect();
    assert_eq!(
        refused(&active(six)),
        Err(RecordError::InvalidField("authenticators"))
    );
}

#[test]
fn authenticator_id_zero_is_refused() {
    assert_eq!(
        refused(&active(vec![authenticator(0)])),
        Err(RecordError::InvalidField("authenticators"))
    );
}

#[test]
fn repeated_or_decreasing_ids_are_refused() {
    for ids in [[2, 2], [3, 2]] {
        let list = ids.into_iter().map(authenticator).collect();
        assert_eq!(
            refused(&active(list)),
            Err(RecordError::InvalidField("authenticators")),
            "{ids:?}"
        );
    }
}

#[test]
fn only_pending_authenticators_are_refused() {
    assert_eq!(
        refused(&active(vec![pending(1)])),
        Err(RecordError::InvalidField("authenticators"))
    );
}

#[test]
fn two_pending_authenticators_are_refused() {
    let list = vec![authenticator(1), pending(2), pending(3)];
    assert_eq!(
        refused(&active(list)),
        Err(RecordError::InvalidField("authenticators"))
    );
}

#[test]
fn a_pending_authenticator_with_a_used_step_or_a_drift_is_refused() {
    for bad in [
        Authenticator {
            last_used_step: 5,
            ..pending(2)
        },
        Authenticator {
            last_used_at: Some(5),
            ..pending(2)
        },
        Authenticator {
            drift: 1,
            ..pending(2)
        },
    ] {
        assert_eq!(
            refused(&active(vec![authenticator(1), bad])),
            Err(RecordError::InvalidField("authenticator pending"))
        );
    }
}

#[test]
fn an_authenticator_name_with_a_control_character_or_over_64_bytes_is_refused() {
    for name in ["tab\nlet".to_owned(), "x".repeat(65)] {
        let named = Authenticator {
            name,
            ..authenticator(1)
        };
        assert_eq!(
            refused(&active(vec![named])),
            Err(RecordError::InvalidField("authenticator name"))
        );
    }
}

#[test]
fn recovery_codes_outside_an_active_record_are_refused() {
    let record = Enrollment {
        recovery: RecoveryHashes {
            key_id: 1,
            issued_at: 1,
            hashes: vec![[0; RECOVERY_HASH_BYTES]],
        },
        ..Enrollment::not_registered()
    };
    assert_eq!(refused(&record), Err(RecordError::InvalidField("recovery")));
}

#[test]
fn more_than_sixteen_recovery_codes_are_refused() {
    let record = Enrollment {
        recovery: RecoveryHashes {
            key_id: 1,
            issued_at: 1,
            hashes: vec![[0; RECOVERY_HASH_BYTES]; RecoveryCodes::MAX_COUNT + 1],
        },
        ..active(vec![authenticator(1)])
    };
    assert_eq!(refused(&record), Err(RecordError::InvalidField("recovery")));
}
