//! `engine/verify`: a login verification through the whole engine over `MemoryStore` —
//! load, decode, unseal, prepare the key, verify the window, encode, conditional write,
//! audit — single-threaded, and the aggregate throughput with one engine per core.
//!
//! Every iteration verifies a NEW valid code (one step later than the previous), so each
//! one is an acceptance that writes, which is what a real login costs.
//!
//! `MemoryStore`'s futures are always ready, so they are polled once with a no-op waker
//! instead of through a runtime's `block_on`: inside a portal's request handler the
//! engine's future is polled by the task already running, and `block_on`'s own setup
//! (~200 ns per call, a third of the engine's cost) is not the engine's.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation
)]

use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use totp_enroll::{
    AccountId, Engine, EngineError, EnginePolicy, KeyRing, KeyUri, Login, ManualClock, MemoryStore,
    OtpPolicy, Refusal, StepUp, Totp,
};

const START: u64 = 1_111_111_109;

struct Enrolled {
    engine: Engine<Arc<MemoryStore>>,
    clock: Arc<ManualClock>,
    account: AccountId,
    app: Totp,
}

fn enroll(runtime: &tokio::runtime::Runtime, store: Arc<MemoryStore>, name: &str) -> Enrolled {
    let clock = Arc::new(ManualClock::new(START as i64));
    let policy = EnginePolicy::new(OtpPolicy::new("Bench").unwrap());
    let engine = Engine::new(store, KeyRing::generate(1).unwrap(), policy)
        .unwrap()
        .with_clock(clock.clone());
    let account = AccountId::new(name).unwrap();
    let app = runtime.block_on(async {
        let step_up = StepUp::transaction_password_verified(&account, START);
        let screen = engine.begin(&account, name, &step_up).await.unwrap();
        let key = KeyUri::parse(&screen.uri()).unwrap();
        let app = Totp::new(key.secret(), key.policy());
        engine
            .confirm(&account, &app.code_at(START).to_string())
            .await
            .unwrap();
        app
    });
    Enrolled {
        engine,
        clock,
        account,
        app,
    }
}

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

/// Each code is fresh, so it is accepted — except after the one-in-a-million case where
/// the previous step's code equalled this one: the verifier then reported the larger
/// step (by design), and this code is rightly refused as a replay. A million iterations
/// per run make that case expected about once.
fn accepted_or_collision(login: &Result<Login, EngineError>) -> bool {
    matches!(
        login,
        Ok(Login::Verified(_)) | Err(EngineError::Refused(Refusal::Replayed))
    )
}

fn engine_verify(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("engine");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));

    let e = enroll(&runtime, Arc::new(MemoryStore::new()), "single");
    let mut t = START;
    group.bench_function("verify", |b| {
        b.iter_batched(
            || {
                t += 30;
                (t, e.app.code_at(t).to_string())
            },
            |(at, code)| {
                e.clock.set(at as i64);
                let login = ready(e.engine.verify_login(&e.account, &code));
                assert!(accepted_or_collision(&login), "{login:?} at {at}");
                black_box(login)
            },
            BatchSize::SmallInput,
        );
    });

    // Aggregate throughput: one engine and account per core over one shared store.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let store = Arc::new(MemoryStore::new());
    let workers: Vec<Enrolled> = (0..cores)
        .map(|i| enroll(&runtime, store.clone(), &format!("core-{i}")))
        .collect();
    let workers = Arc::new(workers);
    let mut next = vec![START; cores];
    group.bench_function(format!("verify_parallel_{cores}_cores"), |b| {
        b.iter_custom(|iters| {
            let per_worker = iters.div_ceil(cores as u64);
            let jobs: Vec<(usize, Vec<(u64, String)>)> = (0..cores)
                .map(|i| {
                    let codes = (0..per_worker)
                        .map(|_| {
                            next[i] += 30;
                            (next[i], workers[i].app.code_at(next[i]).to_string())
                        })
                        .collect();
                    (i, codes)
                })
                .collect();
            let start = Instant::now();
            std::thread::scope(|scope| {
                for (i, codes) in jobs {
                    let workers = Arc::clone(&workers);
                    scope.spawn(move || {
                        let w = &workers[i];
                        for (at, code) in codes {
                            w.clock.set(at as i64);
                            let login = ready(w.engine.verify_login(&w.account, &code));
                            assert!(accepted_or_collision(&login), "{login:?} at {at}");
                        }
                    });
                }
            });
            // `iters` verifications ran in this wall time, spread over all cores: criterion's
            // time per iteration is the aggregate cost, its inverse the throughput.
            start.elapsed()
        });
    });
    group.finish();
}

criterion_group!(benches, engine_verify);
criterion_main!(benches);
