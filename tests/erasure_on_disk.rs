//! Erasure that erases: after `Engine::desk_forget` on a SQLite store, no file of the database
//! (`*.db`, `*-wal`, `*-shm`) holds the erased record's sealed secret, record MAC,
//! recovery-code hashes or label, in any of the versions the record had (every login
//! rewrote its page, and the write-ahead log kept each image).
//!
//! The files are scanned for the label and for every 16-byte run of the record's encodings
//! that looks random (at least 12 distinct byte values: nonce, ciphertext, tag, MAC,
//! hashes) and that no other account's record contains. The same scan finds them before the
//! erasure, so it is a scan that can fail.
#![cfg(feature = "sqlite")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use totp_enroll::store::SqliteStore;
use totp_enroll::{
    AccountId, Engine, EnginePolicy, KeyRing, ManualClock, Operator, OtpPolicy, StepUp, Store,
    otp::Totp, provision::KeyUri,
};

const T0: u64 = 1_764_000_000;
const LABEL: &str = "erase-me.hanako@example.jp";

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "totp-enroll-erasure-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The bytes of every file in `dir`, concatenated per file.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect()
}

/// The files (by name) where `needles` or the label occur.
fn found_in(dir: &Path, needles: &HashSet<[u8; 16]>) -> Vec<String> {
    let mut found = Vec::new();
    for (name, bytes) in files(dir) {
        let runs = bytes
            .windows(16)
            .any(|w| needles.contains(<&[u8; 16]>::try_from(w).unwrap()));
        let label = bytes.windows(LABEL.len()).any(|w| w == LABEL.as_bytes());
        if runs {
            found.push(format!("{name}: a run of the record"));
        }
        if label {
            found.push(format!("{name}: the label"));
        }
    }
    found
}

fn random_looking(window: &[u8]) -> bool {
    window.iter().collect::<HashSet<_>>().len() >= 12
}

#[tokio::test(flavor = "multi_thread")]
async fn forget_leaves_no_secret_hash_or_label_in_any_file_of_the_database() {
    let dir = TempDir::new();
    let url = format!("sqlite://{}", dir.0.join("totp.db").display());
    let store = Arc::new(SqliteStore::connect(&url).await.unwrap());
    let clock = Arc::new(ManualClock::new(i64::try_from(T0).unwrap()));
    let policy = EnginePolicy::new(OtpPolicy::new("Example Securities").unwrap());
    let engine = Engine::new(store.clone(), KeyRing::new(1, [0x5a; 32]), policy)
        .unwrap()
        .with_clock(clock.clone());

    // Neighbours, whose rows stay.
    let mut others = Vec::new();
    for n in 0..20 {
        let account = AccountId::new(format!("0123-{n:06}")).unwrap();
        let step_up = StepUp::transaction_password_verified(&account, T0);
        let screen = engine
            .begin(
                &account,
                &totp_enroll::AccountLabel::new("taro@example.jp").unwrap(),
                &step_up,
            )
            .await
            .unwrap();
        let app = Totp::new(
            KeyUri::parse(&screen.uri()).unwrap().secret(),
            engine.policy().otp(),
        );
        engine
            .confirm(&account, &app.code_at(T0).to_string())
            .await
            .unwrap();
        others.push(account);
    }

    // The customer who asks for erasure: enrolled with recovery codes, then logs in a few
    // times (each a new version of the row, and a new image of its page in the log).
    let account = AccountId::new("0123-999999").unwrap();
    let step_up = StepUp::transaction_password_verified(&account, T0);
    let screen = engine
        .begin(
            &account,
            &totp_enroll::AccountLabel::new(LABEL).unwrap(),
            &step_up,
        )
        .await
        .unwrap();
    let app = Totp::new(
        KeyUri::parse(&screen.uri()).unwrap().secret(),
        engine.policy().otp(),
    );
    let mut versions = vec![store.load(&account).await.unwrap().unwrap().record.encode()];
    engine
        .confirm_with_recovery_codes(&account, &app.code_at(T0).to_string())
        .await
        .unwrap();
    versions.push(store.load(&account).await.unwrap().unwrap().record.encode());
    for n in 1..=5 {
        clock.advance(30);
        let login = engine
            .verify_login(&account, &app.code_at(T0 + 30 * n).to_string())
            .await
            .unwrap();
        assert!(matches!(login, totp_enroll::Login::Verified(_)));
        versions.push(store.load(&account).await.unwrap().unwrap().record.encode());
    }

    let mut theirs = HashSet::new();
    for other in &others {
        let bytes = store.load(other).await.unwrap().unwrap().record.encode();
        theirs.extend(bytes.windows(16).map(|w| <[u8; 16]>::try_from(w).unwrap()));
    }
    let needles: HashSet<[u8; 16]> = versions
        .iter()
        .flat_map(|bytes| bytes.windows(16))
        .filter(|w| random_looking(w))
        .map(|w| <[u8; 16]>::try_from(w).unwrap())
        .filter(|w| !theirs.contains(w))
        .collect();
    assert!(needles.len() > 100, "{} runs", needles.len());
    let before = found_in(&dir.0, &needles);
    assert!(
        before.iter().any(|f| f.contains("a run of the record"))
            && before.iter().any(|f| f.contains("the label")),
        "the scan finds the record before the erasure: {before:?}"
    );

    let desk = Operator::new("desk-01").unwrap();
    engine
        .desk_forget(&account, &desk, "APPI deletion request #81")
        .await
        .unwrap();
    let after = found_in(&dir.0, &needles);
    assert!(after.is_empty(), "left after the erasure: {after:?}");

    // The neighbours are intact.
    for other in &others {
        assert_eq!(engine.status(other).await.unwrap().portal_label(), "利用中");
    }
    store.close().await;
    let closed = found_in(&dir.0, &needles);
    assert!(closed.is_empty(), "left after closing: {closed:?}");
}
