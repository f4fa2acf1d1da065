//! Secrets at rest are sealed and bound to their account; no output ever shows a key.
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

use common::{App, Harness};
use proptest::prelude::*;
use totp_enroll::{
    AccountId, KeyRing, Login, Store, error::EngineError, error::RecordError, error::SealError,
    lifecycle::Enrollment, provision::KeyUri,
};

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_stored_record_never_contains_the_secret_in_any_form() {
    let h = Harness::new();
    let screen = h.begin().await;
    let uri = KeyUri::parse(&screen.uri()).unwrap();
    let secret = uri.secret().expose_secret_bytes().to_vec();
    let base32 = uri.secret().to_base32();
    let raw = h.store.inner().raw_record(&h.account).unwrap();
    assert!(
        !contains(&raw, &secret),
        "plaintext key bytes in the stored record"
    );
    assert!(
        !contains(&raw, base32.as_bytes()),
        "base32 key in the stored record"
    );
    assert!(
        !contains(&raw, &secret[..8]),
        "a key fragment in the stored record"
    );
}

#[tokio::test]
async fn a_record_copied_onto_another_account_does_not_open() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let victim = h.store.inner().load(&h.account).await.unwrap().unwrap();
    let attacker = AccountId::new("attacker").unwrap();
    h.store
        .inner()
        .replace_if(&attacker, None, &victim.record, &[])
        .await
        .unwrap();
    let err = h
        .engine
        .verify_login(&attacker, &app.code_at(h.now()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Seal(SealError::Authentication)),
        "{err:?}"
    );
}

#[tokio::test]
async fn after_key_rotation_old_records_open_and_are_resealed_on_the_next_write() {
    let old_key = [7u8; 32];
    let keys = KeyRing::new(1, old_key);
    let h = Harness::with_keys(common::policy(), keys);
    let app = h.enrolled().await;
    assert_eq!(key_id_of(&h).await, 1);

    // Restart with key 2 current and key 1 retired.
    let rotated = KeyRing::new(2, [9u8; 32]).with_retired(1, old_key);
    let engine = totp_enroll::Engine::new(h.store.clone(), rotated, common::policy())
        .unwrap()
        .with_clock(h.clock.clone());
    let login = engine
        .verify_login(&h.account, &app.code_at(h.now()))
        .await
        .unwrap();
    assert!(matches!(login, Login::Verified(_)));
    assert_eq!(key_id_of(&h).await, 2, "re-sealed under the current key");

    // Without key 2 the record no longer opens, with a clear error.
    h.next_step();
    let only_old =
        totp_enroll::Engine::new(h.store.clone(), KeyRing::new(1, old_key), common::policy())
            .unwrap()
            .with_clock(h.clock.clone());
    let err = only_old
        .verify_login(&h.account, &app.code_at(h.now()))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Seal(SealError::UnknownKeyId(2))));
    assert!(err.to_string().contains("key id 2"));
}

async fn key_id_of(h: &Harness) -> u32 {
    match h.record().await.status() {
        totp_enroll::lifecycle::RecordStatus::Active { authenticators, .. } => {
            authenticators[0].sealed_secret().key_id()
        }
        other => panic!("not active: {other:?}"),
    }
}

#[tokio::test]
async fn debug_errors_and_audit_events_never_show_the_key() {
    let h = Harness::new();
    let screen = h.begin().await;
    let uri = KeyUri::parse(&screen.uri()).unwrap();
    let base32 = uri.secret().to_base32().to_string();
    let grouped = uri.secret().to_setup_key().to_string();
    let app = App::scan(&screen);
    let code = app.code_at(h.now());
    h.engine.confirm(&h.account, &code).await.unwrap();
    let replay = h.engine.verify_login(&h.account, &code).await.unwrap_err();

    let outputs = [
        format!("{screen:?}"),
        format!("{uri:?}"),
        format!("{:?}", h.engine),
        format!("{:?}", h.record().await),
        format!("{:?}", h.audit.events()),
        format!("{replay:?} {replay}"),
    ];
    for output in &outputs {
        assert!(!output.contains(&base32), "key in {output}");
        assert!(!output.contains(&base32[..8]), "key fragment in {output}");
        assert!(
            !output.contains(grouped.split(' ').next().unwrap()),
            "key group in {output}"
        );
        assert!(!output.contains(&code), "typed code in {output}");
    }
}

#[test]
fn corrupted_record_bytes_give_a_typed_error() {
    let mut valid = Enrollment::not_registered().encode();
    assert_eq!(Enrollment::decode(&valid), Ok(Enrollment::not_registered()));
    assert_eq!(Enrollment::decode(&[]), Err(RecordError::Truncated));
    assert_eq!(
        Enrollment::decode(b"NOTATOTPRECORD"),
        Err(RecordError::BadHeader)
    );
    let mut future = valid.clone();
    future[7] = 5;
    assert_eq!(
        Enrollment::decode(&future),
        Err(RecordError::UnsupportedVersion(5))
    );
    valid.push(0);
    assert_eq!(Enrollment::decode(&valid), Err(RecordError::TrailingBytes));
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Enrollment::decode(&bytes);
    }
}

/// Header 8, status 1, recovery codes 1 (none), since 8, authenticators 1, then the first
/// authenticator: id 1, name length 2 (empty), created 8, last used 8, drift 4, pending 1,
/// algorithm 1, digits 1, period 4: its sealed secret starts here.
const SEALED_START: usize = 49;
/// key id 4, nonce 24, ciphertext length 2, ciphertext 20 + tag 16.
const SEALED_END: usize = SEALED_START + 4 + 24 + 2 + 36;

#[tokio::test]
async fn flipping_any_bit_of_a_sealed_secret_makes_login_fail_never_accept() {
    let h = Harness::new();
    let app = h.enrolled().await;
    let original = h.store.inner().raw_record(&h.account).unwrap();
    let code = app.code_at(h.now());
    let mut decoded = 0;
    for index in SEALED_START..SEALED_END {
        for bit in 0..8 {
            let mut flipped = original.clone();
            flipped[index] ^= 1 << bit;
            let Ok(record) = Enrollment::decode(&flipped) else {
                continue; // a typed decode error is a refusal too
            };
            decoded += 1;
            let version = h
                .store
                .inner()
                .load(&h.account)
                .await
                .unwrap()
                .unwrap()
                .version;
            h.store
                .inner()
                .replace_if(&h.account, Some(version), &record, &[])
                .await
                .unwrap();
            let result = h.engine.verify_login(&h.account, &code).await;
            assert!(
                matches!(result, Err(EngineError::Seal(_))),
                "byte {index} bit {bit}: {result:?}"
            );
        }
    }
    assert!(
        decoded >= 8 * 60,
        "most flips decode and must be caught by the AEAD: {decoded}"
    );
}

#[tokio::test]
async fn with_the_key_cache_disabled_every_verification_unseals_and_still_works() {
    let h = Harness::with_policy(common::policy().with_key_cache(0));
    let app = h.enrolled().await;
    for _ in 0..3 {
        let login = h
            .engine
            .verify_login(&h.account, &app.code_at(h.now()))
            .await
            .unwrap();
        assert!(matches!(login, Login::Verified(_)));
        h.next_step();
    }
}

#[tokio::test]
async fn a_cached_key_never_outlives_its_sealed_secret() {
    // Enroll, stop, enroll again: the second secret must be the one checked, even though
    // the first one's prepared key was cached.
    let h = Harness::new();
    let first = h.enrolled().await;
    h.engine
        .stop(&h.account, &first.code_at(h.now()))
        .await
        .unwrap();
    h.next_step();
    let second = h.enrolled().await;
    let old = h
        .engine
        .verify_login(&h.account, &first.code_at(h.now()))
        .await;
    assert!(
        matches!(old, Err(EngineError::Refused(_)))
            || first.code_at(h.now()) == second.code_at(h.now()),
        "{old:?}"
    );
    let new = h
        .engine
        .verify_login(&h.account, &second.code_at(h.now()))
        .await
        .unwrap();
    assert!(matches!(new, Login::Verified(_)));
}
