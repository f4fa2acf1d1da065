//! `enrollment/*` and `qr/*`: the cost of enrolling an account, and of rendering its QR code.
//!
//! Enrollment, through the [`Engine`] over `MemoryStore`, with the outbox on (the default:
//! each call also writes its audit event in the same atomic step) and off:
//!
//! * `enrollment/begin/outbox_{on,off}`: `Engine::begin` of a fresh account (step-up
//!   checked, secret generated and sealed, record MAC, write); no QR code is rendered.
//! * `enrollment/confirm/outbox_{on,off}`: `Engine::confirm` with the app's first code, of an
//!   account begun (and its code computed) before the timer started.
//! * `enrollment/begin_confirm/outbox_{on,off}`: `begin` then `confirm` of a fresh account,
//!   the two calls' times summed; the app's reading of the URI and computing its code in
//!   between are not timed.
//!
//! Each sample starts from a new, empty store and engine (so the store holds at most one
//! sample's accounts; `engine/login_*` in `benches/engine.rs` measures large populations).
//! `MemoryStore`'s futures are always ready, so they are polled once with a no-op waker.
//!
//! QR rendering of a provisioning screen (`Provisioning::qr()` renders afresh each call),
//! for an ASCII issuer (`Example Securities`) and the seed's Japanese issuer
//! `北洋証券オンラインサービス` (a longer, percent-encoded UTF-8 URI):
//!
//! * `qr/encode/{ascii,ja}`: `Provisioning::qr()` alone (the URI and its QR encoding);
//! * `qr/svg/{ascii,ja}`: `Provisioning::qr()` + `QrCode::to_svg()`;
//! * `qr/png/{ascii,ja}`: `Provisioning::qr()` + `QrCode::to_png(4)` (feature `png`; without
//!   it the case is skipped with a note).
//!
//! `TOTP_ENROLL_BENCH_QUICK=1`: shorter measurements.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation
)]

#[path = "support/mod.rs"]
mod support;
use support::{load, quick_mode};

use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group};
use totp_enroll::{
    AccountId, Engine, EnginePolicy, KeyRing, ManualClock, MemoryStore, OtpPolicy, Provisioning,
    StepUp, otp::Totp, provision::KeyUri,
};

const START: u64 = 1_700_000_000;
const ASCII_ISSUER: &str = "Example Securities";
const JAPANESE_ISSUER: &str = "北洋証券オンラインサービス";
/// Pixels per module of the PNG (the ASCII issuer's code, 49 or 53 modules wide as the
/// secret's base32 segments fall, with its quiet zone: about 230 px square).
#[cfg(feature = "png")]
const PNG_SCALE: u32 = 4;

/// Polls a future that is ready at once (the engine over `MemoryStore`).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("MemoryStore never waits"),
    }
}

fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    if quick_mode() {
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_millis(1500));
        group.sample_size(40);
    } else {
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(3));
    }
    group.throughput(Throughput::Elements(1));
}

/// A new engine over a new, empty store; the clock stays at `START`.
fn engine(issuer: &str, outbox: bool) -> Engine<MemoryStore> {
    let policy = EnginePolicy::new(OtpPolicy::new(issuer).unwrap()).with_outbox(outbox);
    Engine::new(MemoryStore::new(), KeyRing::generate(1).unwrap(), policy)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(START as i64)))
}

/// `n` account ids no other iteration of this process used, with their step-up proofs.
fn fresh_accounts(next: &mut u64, n: u64) -> Vec<(AccountId, StepUp)> {
    (0..n)
        .map(|_| {
            *next += 1;
            let account = AccountId::new(format!("customer-{:09}", *next)).unwrap();
            let step_up = StepUp::transaction_password_verified(&account, START);
            (account, step_up)
        })
        .collect()
}

/// The customer's app: reads the secret from the provisioning URI, computes the code.
fn app_code(screen: &Provisioning) -> String {
    let key = KeyUri::parse(&screen.uri()).unwrap();
    Totp::new(key.secret(), key.policy())
        .code_at(START)
        .to_string()
}

fn enrollment(c: &mut Criterion) {
    let mut group = c.benchmark_group("enrollment");
    configure(&mut group);
    let mut next = 0u64;
    for outbox in [true, false] {
        let param = if outbox { "outbox_on" } else { "outbox_off" };

        group.bench_function(BenchmarkId::new("begin", param), |b| {
            b.iter_custom(|iters| {
                let engine = engine(ASCII_ISSUER, outbox);
                let accounts = fresh_accounts(&mut next, iters);
                let mut screens = Vec::with_capacity(accounts.len());
                let start = Instant::now();
                for (account, step_up) in &accounts {
                    screens.push(
                        ready(engine.begin(
                            account,
                            &totp_enroll::AccountLabel::new(account.as_str()).unwrap(),
                            step_up,
                        ))
                        .unwrap(),
                    );
                }
                let elapsed = start.elapsed();
                black_box(screens);
                elapsed
            });
        });

        group.bench_function(BenchmarkId::new("confirm", param), |b| {
            b.iter_custom(|iters| {
                let engine = engine(ASCII_ISSUER, outbox);
                let begun: Vec<(AccountId, String)> = fresh_accounts(&mut next, iters)
                    .into_iter()
                    .map(|(account, step_up)| {
                        let screen = ready(engine.begin(
                            &account,
                            &totp_enroll::AccountLabel::new(account.as_str()).unwrap(),
                            &step_up,
                        ))
                        .unwrap();
                        (account, app_code(&screen))
                    })
                    .collect();
                let start = Instant::now();
                for (account, code) in &begun {
                    ready(engine.confirm(account, code)).unwrap();
                }
                start.elapsed()
            });
        });

        group.bench_function(BenchmarkId::new("begin_confirm", param), |b| {
            b.iter_custom(|iters| {
                let engine = engine(ASCII_ISSUER, outbox);
                let accounts = fresh_accounts(&mut next, iters);
                let mut timed = Duration::ZERO;
                for (account, step_up) in &accounts {
                    let t0 = Instant::now();
                    let screen = ready(engine.begin(
                        account,
                        &totp_enroll::AccountLabel::new(account.as_str()).unwrap(),
                        step_up,
                    ))
                    .unwrap();
                    timed += t0.elapsed();
                    let code = app_code(&screen);
                    let t1 = Instant::now();
                    ready(engine.confirm(account, &code)).unwrap();
                    timed += t1.elapsed();
                }
                timed
            });
        });
    }
    group.finish();
}

fn qr(c: &mut Criterion) {
    let mut group = c.benchmark_group("qr");
    configure(&mut group);
    for (name, issuer) in [("ascii", ASCII_ISSUER), ("ja", JAPANESE_ISSUER)] {
        let engine = engine(issuer, false);
        let account = AccountId::new("customer-0000042").unwrap();
        let step_up = StepUp::transaction_password_verified(&account, START);
        let screen = ready(engine.begin(
            &account,
            &totp_enroll::AccountLabel::new(account.as_str()).unwrap(),
            &step_up,
        ))
        .unwrap();
        println!(
            "qr/{name}: issuer {issuer:?}, key URI of {} bytes, QR code {} modules wide",
            screen.uri().len(),
            screen.qr().unwrap().width()
        );
        group.bench_function(BenchmarkId::new("encode", name), |b| {
            b.iter(|| black_box(&screen).qr().unwrap());
        });
        group.bench_function(BenchmarkId::new("svg", name), |b| {
            b.iter(|| black_box(&screen).qr().unwrap().to_svg());
        });
        #[cfg(feature = "png")]
        group.bench_function(BenchmarkId::new("png", name), |b| {
            b.iter(|| black_box(&screen).qr().unwrap().to_png(PNG_SCALE).unwrap());
        });
    }
    #[cfg(not(feature = "png"))]
    println!(
        "qr/png: SKIPPED, the `png` feature is off (cargo bench --features png --bench enrollment)"
    );
    group.finish();
}

criterion_group!(benches, enrollment, qr);

fn main() {
    eprintln!("load before: {}", load());
    benches();
    Criterion::default().configure_from_args().final_summary();
    eprintln!("load after: {}", load());
}
