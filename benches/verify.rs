//! Verification cost against the hardware floor and against peer crates, on identical inputs.
//!
//! Every benchmark uses the RFC 6238 Appendix B SHA-1 seed (`"12345678901234567890"`), the
//! fixed time `T = 1_111_111_109` (step 37 037 036, 8-digit code `07081804`), a ±1 window and
//! 6 digits, so the numbers can be set side by side:
//!
//! | id                              | what is timed                                                  |
//! |---------------------------------|----------------------------------------------------------------|
//! | `floor/sha1_compress_x6`        | six chained raw SHA-1 compressions: the minimum of a ±1 verify |
//! | `floor/sha1_compress_x2`        | two: the minimum of one HMAC-SHA-1 code with a prepared key    |
//! | `floor/sha1_compress_x2_serial` | the same, each iteration chained to the last: latency          |
//! | `generate`                      | `Totp::code_at` on a prepared `Totp`                           |
//! | `verify/accept`                 | `Totp::verify`, correct code, no last-used step                |
//! | `verify/reject`                 | `Totp::verify`, wrong code                                     |
//! | `verify/cold`                   | `Secret::from_base32` + `Totp::new` + `Totp::verify`           |
//! | `peer/totp_rs_check`            | totp-rs 6 `Totp::check` (skew 1), wrong code: whole window     |
//! | `peer/totp_rs_check_accept`     | the same with the correct code (it stops at the match)         |
//! | `peer/totp_lite`                | totp-lite `totp_custom::<Sha1>` for the 3 steps, wrong code    |
//! | `peer/naive_rekey_hmac`         | `Hmac::<Sha1>::new_from_slice` per candidate, wrong code       |
//! | `peer/hmac_prekeyed_clone`      | one keyed `Hmac<Sha1>` cloned per candidate, wrong code        |
//! | `verify_sha256/reject`          | `Totp::verify`, HMAC-SHA-256, 32-byte RFC seed, wrong code     |
//! | `verify_sha512/reject`          | `Totp::verify`, HMAC-SHA-512, 64-byte RFC seed, wrong code     |
//!
//! Throughput is reported in *compression-equivalents*: the number of compression-function calls
//! the task needs at minimum (6 for a ±1 verify, 2 for one code), whatever the implementation
//! actually spends, so `elem/s` is directly comparable with the floor's.
//!
//! Every peer is checked at setup (outside the timed loops) to compute the same codes as ours:
//! it must accept the correct code and reject the wrong one.
//!
//! `tools/src/bin/bench_report` reads the results back and prints the ratios.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use hmac::{Hmac, KeyInit, Mac};
use totp_enroll::{OtpPolicy, otp::Algorithm, otp::Code, otp::Digits, otp::Secret, otp::Totp};

/// RFC 6238 Appendix B seeds.
const SEED_SHA1: &[u8] = b"12345678901234567890";
const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";
/// `SEED_SHA1` in base32, as a caller without a cached key holds it.
const SEED_SHA1_BASE32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
/// RFC 6238 Appendix B time; its SHA-1 8-digit code is `07081804`.
const T: u64 = 1_111_111_109;
const PERIOD: u64 = 30;
/// The correct 6-digit code at `T` (`07081804 mod 10^6`).
const VALID: &str = "081804";

const SHA1_IV: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];

fn policy(algorithm: Algorithm) -> OtpPolicy {
    OtpPolicy::builder("Example")
        .algorithm(algorithm)
        .build()
        .expect("default policy")
}

fn prepared(seed: &[u8], algorithm: Algorithm) -> Totp {
    Totp::new(&Secret::from_bytes(seed).expect("seed"), &policy(algorithm))
}

/// A 6-digit code that matches none of the window's three steps for `totp` at `T`.
fn wrong_code(totp: &Totp) -> Code {
    let window: Vec<String> = (-1i64..=1)
        .map(|d| {
            totp.code_at(T.checked_add_signed(d * 30).unwrap())
                .to_string()
        })
        .collect();
    let text = (0u32..)
        .map(|v| format!("{:06}", (v * 7919 + 123_456) % 1_000_000))
        .find(|c| !window.contains(c))
        .unwrap();
    Code::parse(&text, Digits::SIX).unwrap()
}

/// Per-benchmark timing: modest, so that the whole file runs in well under three minutes on a
/// shared two-core machine.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(100)
}

/// Six distinct blocks, 64-byte aligned so that no 16-byte load of a block ever splits a cache
/// line (unaligned, the floor varies by ~10% from one process to the next with the stack
/// address).
#[repr(align(64))]
struct Blocks([[u8; 64]; 6]);

fn floor(c: &mut Criterion) {
    // The blocks are re-read through `black_box` on every iteration, so no message schedule
    // can be shared or hoisted; the state is chained through every call, so no compression
    // can be dropped.
    let mut blocks = Blocks([[0u8; 64]; 6]);
    for (i, block) in blocks.0.iter_mut().enumerate() {
        for (j, b) in block.iter_mut().enumerate() {
            *b = u8::try_from((i * 64 + j) % 251).unwrap();
        }
    }
    let mut g = c.benchmark_group("floor");
    g.throughput(Throughput::Elements(6));
    g.bench_function("sha1_compress_x6", |b| {
        b.iter(|| {
            let blocks = black_box(&blocks);
            let mut h = black_box(SHA1_IV);
            for block in &blocks.0 {
                sha1::block_api::compress(&mut h, core::slice::from_ref(block));
            }
            h
        });
    });
    g.throughput(Throughput::Elements(2));
    g.bench_function("sha1_compress_x2", |b| {
        b.iter(|| {
            let blocks = black_box(&blocks);
            let mut h = black_box(SHA1_IV);
            for block in &blocks.0[..2] {
                sha1::block_api::compress(&mut h, core::slice::from_ref(block));
            }
            h
        });
    });
    // As `sha1_compress_x2`, but every iteration continues the previous iteration's state, so
    // consecutive iterations cannot overlap in the CPU: the latency of two compressions, which
    // is what one code computed on demand (inner, then outer) pays at the least.
    let mut h = SHA1_IV;
    g.bench_function("sha1_compress_x2_serial", |b| {
        b.iter(|| {
            let blocks = black_box(&blocks);
            for block in &blocks.0[..2] {
                sha1::block_api::compress(&mut h, core::slice::from_ref(block));
            }
            black_box(h[0])
        });
    });
    g.finish();
}

fn generate(c: &mut Criterion) {
    let totp = prepared(SEED_SHA1, Algorithm::Sha1);
    assert_eq!(totp.code_at(T).to_string(), VALID);
    // `Criterion::bench_function` has no throughput; the id must stay exactly `generate`.
    c.bench_function("generate", |b| {
        b.iter(|| black_box(&totp).code_at(black_box(T)));
    });
}

fn verify(c: &mut Criterion) {
    let policy = policy(Algorithm::Sha1);
    let totp = prepared(SEED_SHA1, Algorithm::Sha1);
    let valid = Code::parse(VALID, Digits::SIX).unwrap();
    let wrong = wrong_code(&totp);
    let accepted = totp.verify(&valid, T, None).unwrap();
    assert_eq!((accepted.step(), accepted.drift()), (T / PERIOD, 0));
    assert!(totp.verify(&wrong, T, None).is_err());
    assert_eq!(
        Secret::from_base32(SEED_SHA1_BASE32)
            .unwrap()
            .expose_secret_bytes(),
        SEED_SHA1
    );

    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(6));
    g.bench_function("accept", |b| {
        b.iter(|| black_box(&totp).verify(black_box(&valid), black_box(T), black_box(None)));
    });
    g.bench_function("reject", |b| {
        b.iter(|| black_box(&totp).verify(black_box(&wrong), black_box(T), black_box(None)));
    });
    g.bench_function("cold", |b| {
        b.iter(|| {
            let secret = Secret::from_base32(black_box(SEED_SHA1_BASE32)).unwrap();
            let totp = Totp::new(&secret, black_box(&policy));
            totp.verify(black_box(&valid), black_box(T), black_box(None))
        });
    });
    g.finish();
}

/// RFC 4226 §5.3 dynamic truncation and reduction to 6 digits.
fn truncate6(mac: &[u8]) -> u32 {
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let four = [
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ];
    (u32::from_be_bytes(four) & 0x7fff_ffff) % 1_000_000
}

/// The naive verifier: re-key HMAC for every candidate, compare every candidate (no early exit).
fn naive_rekey_verify(key: &[u8], code: u32, time: u64) -> bool {
    let now = time / PERIOD;
    let mut hit = false;
    for step in now - 1..=now + 1 {
        let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key).unwrap();
        mac.update(&step.to_be_bytes());
        hit |= truncate6(&mac.finalize().into_bytes()) == code;
    }
    hit
}

/// The hmac crate used well: key once, clone the keyed state per candidate.
fn prekeyed_verify(keyed: &Hmac<sha1::Sha1>, code: u32, time: u64) -> bool {
    let now = time / PERIOD;
    let mut hit = false;
    for step in now - 1..=now + 1 {
        let mut mac = keyed.clone();
        mac.update(&step.to_be_bytes());
        hit |= truncate6(&mac.finalize().into_bytes()) == code;
    }
    hit
}

/// totp-lite as a caller would verify with it: one `totp_custom` per window step, string compare.
fn totp_lite_verify(key: &[u8], code: &str, time: u64) -> bool {
    [time - PERIOD, time, time + PERIOD]
        .iter()
        .any(|&t| totp_lite::totp_custom::<totp_lite::Sha1>(PERIOD, 6, key, t) == code)
}

fn peers(c: &mut Criterion) {
    let ours = prepared(SEED_SHA1, Algorithm::Sha1);
    let wrong = wrong_code(&ours).to_string();
    let wrong_value: u32 = wrong.parse().unwrap();
    let valid_value: u32 = VALID.parse().unwrap();

    // totp-rs 6: `Builder` replaces the deprecated `TOTP::new` (still present as an alias in its
    // `migration` module); built once, outside the loop, like a cached key.
    let rs = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(PERIOD)
        .with_secret(SEED_SHA1.to_vec())
        .build()
        .unwrap();
    assert_eq!(rs.generate(T).to_string(), VALID);
    assert_eq!(rs.check(VALID, T), Some(T / PERIOD));
    assert_eq!(rs.check(&wrong, T), None);
    for d in [-1i64, 1] {
        let t = T.checked_add_signed(d * 30).unwrap();
        assert_eq!(rs.generate(t).to_string(), ours.code_at(t).to_string());
    }

    assert!(totp_lite_verify(SEED_SHA1, VALID, T));
    assert!(!totp_lite_verify(SEED_SHA1, &wrong, T));
    assert_eq!(
        totp_lite::totp_custom::<totp_lite::Sha1>(PERIOD, 6, SEED_SHA1, T),
        VALID
    );

    assert!(naive_rekey_verify(SEED_SHA1, valid_value, T));
    assert!(!naive_rekey_verify(SEED_SHA1, wrong_value, T));

    let keyed = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(SEED_SHA1).unwrap();
    assert!(prekeyed_verify(&keyed, valid_value, T));
    assert!(!prekeyed_verify(&keyed, wrong_value, T));

    let mut g = c.benchmark_group("peer");
    g.throughput(Throughput::Elements(6));
    g.bench_function("totp_rs_check", |b| {
        b.iter(|| black_box(&rs).check(black_box(&wrong), black_box(T)));
    });
    g.bench_function("totp_rs_check_accept", |b| {
        b.iter(|| black_box(&rs).check(black_box(VALID), black_box(T)));
    });
    g.bench_function("totp_lite", |b| {
        b.iter(|| totp_lite_verify(black_box(SEED_SHA1), black_box(&wrong), black_box(T)));
    });
    g.bench_function("naive_rekey_hmac", |b| {
        b.iter(|| naive_rekey_verify(black_box(SEED_SHA1), black_box(wrong_value), black_box(T)));
    });
    g.bench_function("hmac_prekeyed_clone", |b| {
        b.iter(|| prekeyed_verify(black_box(&keyed), black_box(wrong_value), black_box(T)));
    });
    g.finish();
}

fn verify_sha2(c: &mut Criterion) {
    // RFC 6238 Appendix B, T = 1111111109: SHA-256 `68084774`, SHA-512 `25091201`.
    for (group, seed, algorithm, expected) in [
        ("verify_sha256", SEED_SHA256, Algorithm::Sha256, "084774"),
        ("verify_sha512", SEED_SHA512, Algorithm::Sha512, "091201"),
    ] {
        let totp = prepared(seed, algorithm);
        assert_eq!(totp.code_at(T).to_string(), expected);
        let wrong = wrong_code(&totp);
        assert!(totp.verify(&wrong, T, None).is_err());
        let mut g = c.benchmark_group(group);
        // Six compressions of the respective hash (128-byte blocks for SHA-512).
        g.throughput(Throughput::Elements(6));
        g.bench_function("reject", |b| {
            b.iter(|| black_box(&totp).verify(black_box(&wrong), black_box(T), black_box(None)));
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = config();
    targets = floor, generate, verify, peers, verify_sha2
}

/// The 1-minute load average, so a noisy run can be recognised in the log.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map_or_else(|_| "unknown".to_owned(), |l| l.trim().to_owned())
}

fn main() {
    eprintln!("load before: {}", load());
    benches();
    Criterion::default().configure_from_args().final_summary();
    eprintln!("load after: {}", load());
}
