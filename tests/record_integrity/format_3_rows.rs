//! Format-3 rows, whose secrets were sealed with XChaCha20-Poly1305, keep working after
//! format 4 (XChaCha20 and HMAC-SHA-256): every secret in them opens, and the engine's next
//! write re-seals all of them. tests/fixtures/v3_*.bin were written by the format-3 engine
//! (commit 7c69981) with key ring {1: [0x6e; 32]} at T0 = 1_700_000_010, issuer "Format
//! Three Bank", own-secret second devices; see tests/fixtures/README.md.

use super::*;
use totp_enroll::SecondDevice;

const V3_KEY: [u8; 32] = [0x6e; 32];
const PHONE: &str = "XKPZCWDBNOAZ3X4VMJKRWHOD34YREBWG";
const TABLET: &str = "EWTSQ4RTQL63NRI66KBEC3RYS5P52HGG";
const PENDING: &str = "G2OEVDWOVPUZMVZL4DG5GZKEGIFAROHB";
/// One of the ten recovery codes issued with the confirmation.
const RECOVERY_CODE: &str = "S6VD-FRBF-ZFJ1-9887";

fn v3_policy() -> EnginePolicy {
    EnginePolicy::new(totp_enroll::OtpPolicy::new("Format Three Bank").unwrap())
        .with_second_device(SecondDevice::OwnSecret)
}

fn v3_bank() -> Bank {
    let bank = Bank::with(v3_policy(), KeyRing::new(1, V3_KEY));
    for (account, version, file) in [
        ("v3-active", 4, "tests/fixtures/v3_active.bin"),
        ("v3-pending", 1, "tests/fixtures/v3_pending.bin"),
    ] {
        let account = AccountId::new(account).unwrap();
        bank.table
            .set_row(&account, version, std::fs::read(file).unwrap());
    }
    bank
}

fn app(secret: &str) -> App {
    App::type_in(
        secret,
        &totp_enroll::OtpPolicy::new("Format Three Bank").unwrap(),
    )
}

/// The sealed secrets' ciphertext lengths of a row (20-byte secrets): 36 for
/// XChaCha20-Poly1305, 52 for XChaCha20 and HMAC-SHA-256.
fn ciphertext_lengths(record: &Enrollment) -> Vec<usize> {
    let bytes = record.encode();
    // Each sealed secret is `key_id u32 ‖ nonce [24] ‖ len u16 ‖ ciphertext`, and in these
    // rows key id 1 is followed by a nonce whose length prefix says 36 or 52.
    (0..bytes.len().saturating_sub(30))
        .filter(|&i| bytes[i..i + 4] == [0, 0, 0, 1])
        .filter_map(|i| {
            let len = usize::from(u16::from_be_bytes([bytes[i + 28], bytes[i + 29]]));
            [36, 52].contains(&len).then_some(len)
        })
        .collect()
}

#[tokio::test]
async fn format_3_rows_decode_as_format_3_with_their_mac() {
    for file in [
        "tests/fixtures/v3_active.bin",
        "tests/fixtures/v3_pending.bin",
    ] {
        let bytes = std::fs::read(file).unwrap();
        let record = Enrollment::decode(&bytes).unwrap();
        assert_eq!(record.format_version(), 3, "{file}");
        assert_eq!(record.mac_key_id(), Some(1), "{file}");
        assert_eq!(record.encode(), bytes, "{file}: one encoding per record");
    }
    let active =
        Enrollment::decode(&std::fs::read("tests/fixtures/v3_active.bin").unwrap()).unwrap();
    assert_eq!(active.authenticators().len(), 2);
    assert_eq!(active.recovery_codes_remaining(), 10);
    assert_eq!(
        ciphertext_lengths(&active),
        [36, 36],
        "Poly1305's 16-byte tags"
    );
}

#[tokio::test]
async fn every_secret_of_a_format_3_row_opens_and_the_next_write_reseals_them_all() {
    let bank = v3_bank();
    let active = AccountId::new("v3-active").unwrap();
    // The status reads the row unchanged (its MAC checks over its format-3 bytes).
    assert_eq!(
        bank.engine.status(&active).await.unwrap().portal_label(),
        "利用中"
    );
    // The last step each authenticator used stays consumed.
    let login = bank
        .engine
        .verify_login(&active, &app(TABLET).code_at(T0 + 30))
        .await;
    assert!(
        matches!(login, Err(EngineError::Refused(Refusal::Replayed))),
        "{login:?}"
    );

    bank.clock.advance(60);
    let login = bank
        .engine
        .verify_login(&active, &app(PHONE).code_at(bank.now()))
        .await
        .unwrap();
    assert!(matches!(login, Login::Verified(v) if v.authenticator() == 1));
    let (version, row) = bank.table.row(&active);
    assert_eq!(version, 5);
    let record = Enrollment::decode(&row).unwrap();
    assert_eq!(record.format_version(), 4);
    assert_eq!(
        ciphertext_lengths(&record),
        [52, 52],
        "both secrets re-sealed, the tablet's too, though its code was not used"
    );

    // Both still produce the codes they did: the tablet's secret survived its re-seal.
    bank.clock.advance(30);
    let login = bank
        .engine
        .verify_login(&active, &app(TABLET).code_at(bank.now()))
        .await
        .unwrap();
    assert!(matches!(login, Login::Verified(v) if v.authenticator() == 2));
    // The recovery codes' hashes do not depend on the seal: they still match.
    let login = bank
        .engine
        .verify_recovery_code(&active, RECOVERY_CODE)
        .await
        .unwrap();
    assert!(matches!(login, Login::RecoveryCode { remaining: 9 }));
}

#[tokio::test]
async fn a_format_3_pending_application_confirms_into_format_4() {
    let bank = v3_bank();
    let pending = AccountId::new("v3-pending").unwrap();
    bank.clock.advance(60);
    bank.engine
        .confirm(&pending, &app(PENDING).code_at(bank.now()))
        .await
        .unwrap();
    let record = Enrollment::decode(&bank.table.row(&pending).1).unwrap();
    assert_eq!(record.format_version(), 4);
    assert_eq!(ciphertext_lengths(&record), [52]);
}

#[tokio::test]
async fn an_edited_format_3_row_is_caught_like_any_other() {
    let bank = v3_bank();
    let active = AccountId::new("v3-active").unwrap();
    bank.table.edit(&active, |bytes| {
        let len = bytes.len();
        put_u64(bytes, layout::backoff_until(len), 0);
        bytes[layout::failures(len)][3] ^= 1;
    });
    bank.clock.advance(60);
    let result = bank
        .engine
        .verify_login(&active, &app(PHONE).code_at(bank.now()))
        .await;
    assert!(integrity_error(&result), "{result:?}");
}

/// A format-4 row whose header is set back to 3 (so that its secrets would be opened as
/// XChaCha20-Poly1305) fails on its MAC; its secrets do not open under the other
/// construction either, which is the error the engine names.
#[tokio::test]
async fn a_format_4_row_relabelled_as_format_3_is_refused() {
    let bank = Bank::new();
    let app = bank.enrolled().await;
    assert_eq!(bank.record().format_version(), 4);
    bank.table
        .edit(&bank.account, |bytes| bytes[layout::FORMAT] = 3);
    let result = bank.login(&app.code_at(bank.now())).await;
    assert!(
        matches!(result, Err(EngineError::Seal(SealError::Authentication))),
        "{result:?}"
    );
}

/// An operator need not wait for each customer's next login: `reseal_all` re-writes every
/// format-3 row (under the same key) as format 4 and reports them under that key.
#[tokio::test]
async fn reseal_all_migrates_every_format_3_row_to_format_4() {
    let bank = v3_bank();
    let report = bank.engine.reseal_all().await.unwrap();
    assert_eq!(report.resealed.get(&1), Some(&2), "{report:?}");
    assert!(report.failed.is_empty(), "{report:?}");
    for account in ["v3-active", "v3-pending"] {
        let (_, row) = bank.table.row(&AccountId::new(account).unwrap());
        let record = Enrollment::decode(&row).unwrap();
        assert_eq!(record.format_version(), 4, "{account}");
        assert!(ciphertext_lengths(&record).iter().all(|&len| len == 52));
    }
    let again = bank.engine.reseal_all().await.unwrap();
    assert!(again.resealed.is_empty(), "nothing left: {again:?}");
    assert_eq!(again.current, 2);
    // The secrets survived: both authenticators log in.
    let active = AccountId::new("v3-active").unwrap();
    bank.clock.advance(60);
    for secret in [PHONE, TABLET] {
        let login = bank
            .engine
            .verify_login(&active, &app(secret).code_at(bank.now()))
            .await
            .unwrap();
        assert!(matches!(login, Login::Verified(_)));
        bank.clock.advance(30);
    }
}
