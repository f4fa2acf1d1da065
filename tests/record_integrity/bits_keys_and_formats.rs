//! Every bit flipped, every key id, and the older formats (legacy format 1, format 2).

use super::*;

#[tokio::test]
async fn no_single_bit_flip_anywhere_in_a_row_is_accepted() {
    let bank = Bank::new();
    let app = bank.enrolled().await;
    let (version, original) = bank.table.row(&bank.account);
    let code = app.code_at(bank.now());
    let mut decoded = 0;
    for index in 0..original.len() {
        for bit in 0..8 {
            let mut flipped = original.clone();
            flipped[index] ^= 1 << bit;
            decoded += usize::from(Enrollment::decode(&flipped).is_ok());
            bank.table.set_row(&bank.account, version, flipped);
            let result = bank.login(&code).await;
            assert!(
                matches!(
                    result,
                    Err(EngineError::Seal(_) | EngineError::Store(StoreError::Corrupt(_)))
                ),
                "byte {index} bit {bit}: {result:?}"
            );
        }
    }
    // Most flips decode to a valid record: the MAC, not the decoder, refuses them.
    assert!(decoded > original.len() * 4, "{decoded}");
}

#[tokio::test]
async fn records_authenticated_under_a_retired_key_verify_and_are_re_authenticated() {
    let bank = Bank::new();
    let app = bank.enrolled().await;
    assert_eq!(bank.record().mac_key_id(), Some(1));

    let rotated = KeyRing::new(2, [0x77; 32]).with_retired(1, KEY);
    let engine = Engine::new(bank.table.clone(), rotated, policy())
        .unwrap()
        .with_clock(bank.clock.clone());
    let login = engine
        .verify_login(&bank.account, &app.code_at(bank.now()))
        .await
        .unwrap();
    assert!(matches!(login, Login::Verified(_)));
    assert_eq!(bank.record().mac_key_id(), Some(2));

    // The old engine has no key 2: a typed error, not an acceptance.
    bank.clock.advance(30);
    let result = bank.login(&app.code_at(bank.now())).await;
    assert!(
        matches!(result, Err(EngineError::Seal(SealError::UnknownKeyId(2)))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_mac_key_id_edited_to_another_ring_key_is_refused() {
    let keys = KeyRing::new(2, [0x77; 32]).with_retired(1, KEY);
    let bank = Bank::with(policy(), keys);
    let app = bank.enrolled().await;
    bank.table.edit(&bank.account, |bytes| {
        let len = bytes.len();
        bytes[layout::mac_key_id(len)].copy_from_slice(&1u32.to_be_bytes());
    });
    assert_eq!(bank.record().mac_key_id(), Some(1));
    let result = bank.login(&app.code_at(bank.now())).await;
    assert!(integrity_error(&result), "{result:?}");
    // And a tag from another row of the same account does not fit this one.
    let bank = Bank::new();
    let app = bank.enrolled().await;
    let (_, before) = bank.table.row(&bank.account);
    assert!(matches!(
        bank.login(&app.code_at(bank.now())).await,
        Ok(Login::Verified(_))
    ));
    bank.table.edit(&bank.account, |bytes| {
        let len = bytes.len();
        bytes[layout::tag(len)].copy_from_slice(&before[layout::tag(before.len())]);
    });
    let result = bank.login(&app.code_at(bank.now() + 30)).await;
    assert!(integrity_error(&result), "{result:?}");
}

// ---------------------------------------------------------------------------------------
// Legacy format-1 rows. tests/fixtures/v1_*.bin were written by the format-1 engine
// (commit 5273fc7) with key ring {1: [0x4c; 32]} at T0 = 1_700_000_010, issuer
// "Legacy Bank"; see tests/fixtures/README.md.
// ---------------------------------------------------------------------------------------

const LEGACY_KEY: [u8; 32] = [0x4c; 32];
const LEGACY_ACTIVE_SECRET: &str = "6XK7WSGQJGWNEYZUN2D47F35AZAXI5HF";
const LEGACY_PENDING_SECRET: &str = "TQTLQWJJPEYEPMVOCLDYNFS4ZBKXETCE";

fn legacy_bank(policy: EnginePolicy) -> Bank {
    let bank = Bank::with(policy, KeyRing::new(1, LEGACY_KEY));
    let active = AccountId::new("legacy-active").unwrap();
    let pending = AccountId::new("legacy-pending").unwrap();
    bank.table.set_row(
        &active,
        2,
        std::fs::read("tests/fixtures/v1_active.bin").unwrap(),
    );
    bank.table.set_row(
        &pending,
        1,
        std::fs::read("tests/fixtures/v1_pending.bin").unwrap(),
    );
    bank
}

fn legacy_app(secret: &str) -> App {
    App::type_in(secret, &totp_enroll::OtpPolicy::new("Legacy Bank").unwrap())
}

#[tokio::test]
async fn legacy_format_1_rows_are_accepted_and_rewritten_as_format_4() {
    let bank = legacy_bank(policy());
    let active = AccountId::new("legacy-active").unwrap();
    let pending = AccountId::new("legacy-pending").unwrap();
    let (_, active_row) = bank.table.row(&active);
    assert_eq!(Enrollment::decode(&active_row).unwrap().format_version(), 1);

    bank.clock.advance(30);
    let active_app = legacy_app(LEGACY_ACTIVE_SECRET);
    let login = bank
        .engine
        .verify_login(&active, &active_app.code_at(bank.now()))
        .await
        .unwrap();
    assert!(matches!(login, Login::Verified(_)));
    let (version, row) = bank.table.row(&active);
    assert_eq!(version, 3);
    let record = Enrollment::decode(&row).unwrap();
    assert_eq!(record.format_version(), 4);
    assert_eq!(record.mac_key_id(), Some(1));

    let pending_app = legacy_app(LEGACY_PENDING_SECRET);
    bank.engine
        .confirm(&pending, &pending_app.code_at(bank.now()))
        .await
        .unwrap();
    let record = Enrollment::decode(&bank.table.row(&pending).1).unwrap();
    assert_eq!(record.format_version(), 4);

    // From now on the rewritten row is protected like any other.
    bank.table.edit(&active, |bytes| {
        let len = bytes.len();
        put_u64(bytes, layout::second_time(len), 0);
    });
    bank.clock.advance(30);
    let result = bank
        .engine
        .verify_login(&active, &active_app.code_at(bank.now()))
        .await;
    assert!(integrity_error(&result), "{result:?}");
}

#[tokio::test]
async fn legacy_rows_are_refused_when_the_policy_refuses_them() {
    assert!(policy().accepts_legacy_records());
    let bank = legacy_bank(policy().with_legacy_records(false));
    let active = AccountId::new("legacy-active").unwrap();
    bank.clock.advance(30);
    let app = legacy_app(LEGACY_ACTIVE_SECRET);
    let result = bank
        .engine
        .verify_login(&active, &app.code_at(bank.now()))
        .await;
    assert!(
        matches!(
            result,
            Err(EngineError::Seal(SealError::LegacyRecordRefused))
        ),
        "{result:?}"
    );
    assert!(matches!(
        bank.engine.status(&active).await,
        Err(EngineError::Seal(SealError::LegacyRecordRefused))
    ));
}

/// Why the option exists: while legacy rows are accepted, a database writer can replace
/// any record with a forged legacy one that no MAC protects (here, "not registered": a
/// login without the code). Refusing legacy rows closes that.
#[tokio::test]
async fn a_forged_legacy_row_is_accepted_only_while_legacy_rows_are() {
    let not_registered_v1: Vec<u8> = {
        let mut bytes = b"TOTPENR\x01\x00".to_vec();
        bytes.extend_from_slice(&[0; 13]);
        bytes
    };
    assert_eq!(
        Enrollment::decode(&not_registered_v1)
            .unwrap()
            .format_version(),
        1
    );
    for accept in [true, false] {
        let bank = Bank::with(policy().with_legacy_records(accept), KeyRing::new(1, KEY));
        let app = bank.enrolled().await;
        let (version, _) = bank.table.row(&bank.account);
        bank.table
            .set_row(&bank.account, version, not_registered_v1.clone());
        let result = bank.login(&app.code_at(bank.now())).await;
        if accept {
            assert!(matches!(result, Ok(Login::NotRequired)), "{result:?}");
        } else {
            assert!(
                matches!(
                    result,
                    Err(EngineError::Seal(SealError::LegacyRecordRefused))
                ),
                "{result:?}"
            );
        }
    }
}

#[test]
fn integrity_errors_name_no_secret_and_are_typed() {
    let message = EngineError::Seal(SealError::IntegrityMismatch).to_string();
    assert!(message.contains("integrity"), "{message}");
    let message = SealError::LegacyRecordRefused.to_string();
    assert!(message.contains("format 1"), "{message}");
}

// ---------------------------------------------------------------------------------------
// Format-2 rows. tests/fixtures/v2_*.bin were written by the format-2 engine (commit
// 29e381c) with key ring {1: [0x5d; 32]} at T0 = 1_700_000_010, issuer "Format Two Bank";
// see tests/fixtures/README.md.
// ---------------------------------------------------------------------------------------

const V2_KEY: [u8; 32] = [0x5d; 32];
const V2_ACTIVE_SECRET: &str = "MJW4I4BCYRWWRBH2UJYSDKJTEYLLV75D";
const V2_PENDING_SECRET: &str = "MHP6FTH3B46WBZWNIBEW5MF3AEYMZVGQ";

fn v2_bank(policy: EnginePolicy) -> Bank {
    let bank = Bank::with(policy, KeyRing::new(1, V2_KEY));
    for (account, version, file) in [
        ("v2-active", 2, "tests/fixtures/v2_active.bin"),
        ("v2-pending", 1, "tests/fixtures/v2_pending.bin"),
    ] {
        let account = AccountId::new(account).unwrap();
        bank.table
            .set_row(&account, version, std::fs::read(file).unwrap());
    }
    bank
}

#[tokio::test]
async fn format_2_rows_decode_as_format_2_with_their_mac() {
    for file in [
        "tests/fixtures/v2_active.bin",
        "tests/fixtures/v2_pending.bin",
    ] {
        let bytes = std::fs::read(file).unwrap();
        let record = Enrollment::decode(&bytes).unwrap();
        assert_eq!(record.format_version(), 2, "{file}");
        assert_eq!(record.mac_key_id(), Some(1), "{file}");
        assert_eq!(record.recovery_codes_remaining(), 0);
        assert!(record.authenticators().iter().all(|a| a.drift() == 0));
        assert_eq!(record.encode(), bytes, "{file}: one encoding per record");
    }
}

#[tokio::test]
async fn format_2_rows_keep_working_and_are_rewritten_as_format_4() {
    let bank = v2_bank(policy());
    let active = AccountId::new("v2-active").unwrap();
    let pending = AccountId::new("v2-pending").unwrap();
    let otp = totp_enroll::OtpPolicy::new("Format Two Bank").unwrap();
    let active_app = App::type_in(V2_ACTIVE_SECRET, &otp);
    let pending_app = App::type_in(V2_PENDING_SECRET, &otp);

    // The status screen reads them unchanged (the MAC checks over the format-2 bytes).
    assert_eq!(
        bank.engine.status(&active).await.unwrap().portal_label(),
        "利用中"
    );
    // The confirmation code's step was consumed in format 2 and stays consumed.
    assert!(matches!(
        bank.engine
            .verify_login(&active, &active_app.code_at(T0))
            .await,
        Err(EngineError::Refused(Refusal::Replayed))
    ));
    bank.clock.advance(30);
    let login = bank
        .engine
        .verify_login(&active, &active_app.code_at(bank.now()))
        .await
        .unwrap();
    assert!(matches!(login, Login::Verified(_)));
    let (version, row) = bank.table.row(&active);
    assert_eq!(version, 3);
    let record = Enrollment::decode(&row).unwrap();
    assert_eq!(record.format_version(), 4);
    assert_eq!(record.mac_key_id(), Some(1));

    // The pending application confirms, with recovery codes, into format 4.
    let codes = bank
        .engine
        .confirm_with_recovery_codes(&pending, &pending_app.code_at(bank.now()))
        .await
        .unwrap();
    let record = Enrollment::decode(&bank.table.row(&pending).1).unwrap();
    assert_eq!(record.format_version(), 4);
    assert_eq!(record.recovery_codes_remaining(), codes.len());

    // An edited format-2 row is caught like any other.
    let bank = v2_bank(policy());
    bank.table.edit(&active, |bytes| {
        let len = bytes.len();
        put_u64(bytes, layout::second_time(len), 0);
    });
    bank.clock.advance(30);
    let result = bank
        .engine
        .verify_login(&active, &active_app.code_at(bank.now()))
        .await;
    assert!(integrity_error(&result), "{result:?}");
}
