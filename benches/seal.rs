//! `seal/*`: sealing and opening a 20-byte secret under a prepared [`KeyRing`], against the
//! floor of the construction measured in the same run.
//!
//! | id                  | what is timed                                                        |
//! |---------------------|----------------------------------------------------------------------|
//! | `seal/floor`        | three chained raw SHA-256 compressions and one XChaCha20 keystream of 20 bytes (HChaCha20 + one block): the least an open of the current construction costs |
//! | `seal/open`         | `KeyRing::open` of a secret sealed by this version (format-4 records: XChaCha20, HMAC-SHA-256 tag checked first) |
//! | `seal/seal`         | `KeyRing::seal` (a fresh nonce from the OS, XChaCha20, the tag)      |
//! | `seal/open_format_3`| `KeyRing::open` of a secret of a format-3 row (XChaCha20-Poly1305: `tests/fixtures/v3_active.bin`), with whatever Poly1305 backend this build selected (AVX2 at run time unless `--cfg poly1305_force_soft`) |
//!
//! A login whose key is not cached (`engine/login_*/cold`) opens one secret; this is its
//! share. No build flag is involved for `seal/open`: run it with and without
//! `RUSTFLAGS="--cfg poly1305_force_soft"` to see that only `seal/open_format_3` changes.
//!
//! `tools/src/bin/bench_report` prints the ratios.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::Duration;

use chacha20::XChaCha20;
use chacha20::cipher::{KeyIvInit as _, StreamCipher as _};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use totp_enroll::{AccountId, KeyRing, lifecycle::Enrollment, otp::Secret};

fn seal(c: &mut Criterion) {
    let mut group = c.benchmark_group("seal");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));

    let mut state = [0x6a09_e667u32; 8];
    let blocks = [[0x5au8; 64]; 3];
    let key = [0x42u8; 32];
    let nonce = [0x24u8; 24];
    group.bench_function("floor", |b| {
        b.iter(|| {
            for block in &blocks {
                sha2::block_api::compress256(&mut state, core::slice::from_ref(block));
            }
            let mut bytes = [0x11u8; 20];
            XChaCha20::new((&key).into(), black_box(&nonce).into()).apply_keystream(&mut bytes);
            black_box((&state, bytes));
        });
    });

    let keys = KeyRing::new(1, [0x42; 32]);
    let account = AccountId::new("customer-0001").unwrap();
    let secret = Secret::from_bytes(&[0x11; 20]).unwrap();
    let sealed = keys.seal(&secret, &account).unwrap();
    assert_eq!(
        keys.open(&sealed, &account).unwrap().expose_secret_bytes(),
        secret.expose_secret_bytes()
    );
    group.bench_function("open", |b| {
        b.iter(|| black_box(keys.open(black_box(&sealed), &account).unwrap()));
    });
    group.bench_function("seal", |b| {
        b.iter(|| black_box(keys.seal(black_box(&secret), &account).unwrap()));
    });

    // A secret of a format-3 row, as the engine of the previous version sealed it.
    let row = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/v3_active.bin"
    ))
    .unwrap();
    let record = Enrollment::decode(&row).unwrap();
    assert_eq!(record.format_version(), 3);
    let old = record.authenticators()[0].sealed_secret().clone();
    let old_keys = KeyRing::new(1, [0x6e; 32]);
    let old_account = AccountId::new("v3-active").unwrap();
    assert!(old_keys.open(&old, &old_account).is_ok());
    group.bench_function("open_format_3", |b| {
        b.iter(|| black_box(old_keys.open(black_box(&old), &old_account).unwrap()));
    });
    group.finish();
}

criterion_group!(benches, seal);
criterion_main!(benches);
