//! `engine/*`: logins through the whole engine over `MemoryStore`.
//!
//! * `engine/verify`: one enrolled account, single-threaded — load, record MAC check,
//!   decode, cached key, verify the window, encode, record MAC, conditional write, audit.
//! * `engine/verify_parallel_N_cores`: the aggregate throughput with one engine per core.
//! * `engine/login_{1k,100k,1M}/{warm,warm_held,default,cold}`: a login of a random account
//!   out of a population of 1 000, 100 000 or 1 000 000 enrolled accounts in one
//!   `MemoryStore`:
//!   - `warm`: the engine's key cache holds the whole population (capacity
//!     `max(N, default)`, filled by one login per account before measuring); held records
//!     off, so every login loads the row and finds its key cached;
//!   - `warm_held`: the same with `with_held_records(true)` (the seed portal's policy): each
//!     account's previous login, through this engine, was one period earlier, so the
//!     engine decides from the record it holds and writes without loading the row;
//!   - `default`: the default policy (key cache capacity
//!     [`EnginePolicy::DEFAULT_KEY_CACHE_CAPACITY`]), what a real portal sees (at 1 M
//!     almost every login misses);
//!   - `cold`: no cache (`with_key_cache(0)`): every login unseals its secret.
//!
//!   A cheap PRNG (splitmix64) picks the account of each iteration. Codes stay fresh per
//!   account: each account keeps its own next time (one period after its last login), the
//!   engine's `ManualClock` is set to that time just before the call, and the code is the
//!   app's code for it — so every iteration is a NEW valid code, an acceptance that writes.
//!   (Accounts' clocks differ; each account's only moves on.)
//!   Timing: iterations run in chunks of 1 024; a chunk's picks, codes (the customer's app
//!   computing its code) and account ids are prepared before its timer starts, and the
//!   outbox events the chunk wrote are delivered (acknowledged, as the portal's outbox
//!   worker does on another task) after it stops. Inside the timed region: `clock.set` (an
//!   atomic store), `Engine::verify_login`, and the check of its answer.
//!
//!   The population is enrolled once per size through `engine.begin` + `engine.confirm`
//!   (the record MAC binds each row to its account, so rows cannot be copied), with the
//!   outbox and the key cache off and no QR rendering; the bench prints how long it took,
//!   the rate, and the memory per enrolled account: live heap bytes (a counting global
//!   allocator, switched on only around the measured setup) in the store, then in a warm
//!   key cache: the bytes requested, and the bytes of glibc `malloc` chunks they occupy
//!   (each block rounded up with its 8-byte header to 16 bytes, at least 32). Those figures
//!   go to `<criterion dir>/summary/engine.json` for `tools/src/bin/bench_report`.
//!
//! `TOTP_ENROLL_BENCH_QUICK=1`: populations 1 k and 100 k only, shorter measurements (the
//! whole bench in a few minutes on 2 cores). Without `--bench` (e.g. `cargo test
//! --benches`) only the 1 k population is built and no summary is written.
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
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]
// The counting global allocator is an `unsafe impl GlobalAlloc`. The workspace lint is
// `deny`, which this bench crate alone overrides; the library keeps
// `#![forbid(unsafe_code)]` in src/lib.rs.
#![allow(unsafe_code)]

#[path = "support/mod.rs"]
mod support;
use support::{Summary, load, quick_mode};

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group};
use totp_enroll::{
    AccountId, Engine, EnginePolicy, KeyRing, Login, ManualClock, MemoryStore, OtpPolicy, StepUp,
    Store as _, error::EngineError, error::Refusal, otp::Totp, provision::KeyUri,
};

const START: u64 = 1_111_111_109;
const PERIOD: u64 = 30;

// ---------------------------------------------------------------------------------------
// Counting allocator: live heap bytes (requested, and as glibc malloc chunks), counted only
// while `COUNTING` is on (a relaxed load otherwise, so the timed benches pay nothing
// measurable).
// ---------------------------------------------------------------------------------------

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicI64 = AtomicI64::new(0);
static LIVE_CHUNKS: AtomicI64 = AtomicI64::new(0);

/// The size of the glibc malloc chunk that holds a block of `size` bytes (64-bit): the
/// block plus an 8-byte header, rounded up to 16, at least 32.
fn chunk(size: usize) -> i64 {
    (((size + 8 + 15) & !15).max(32)) as i64
}

fn count(allocated: Option<usize>, freed: Option<usize>) {
    if COUNTING.load(Ordering::Relaxed) {
        let (a, f) = (allocated.unwrap_or(0), freed.unwrap_or(0));
        LIVE.fetch_add(a as i64 - f as i64, Ordering::Relaxed);
        let chunks = allocated.map_or(0, chunk) - freed.map_or(0, chunk);
        LIVE_CHUNKS.fetch_add(chunks, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's pointer and layout, which
// the caller guarantees valid; the counting touches no memory of the blocks.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(Some(layout.size()), None);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(Some(layout.size()), None);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) };
        count(None, Some(layout.size()));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count(Some(new_size), Some(layout.size()));
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The change of live heap bytes (all threads) while `f` runs.
#[derive(Clone, Copy, Default)]
struct Heap {
    /// Bytes requested.
    requested: i64,
    /// Bytes of the malloc chunks holding them.
    chunks: i64,
}

impl Heap {
    fn per(self, n: usize) -> (f64, f64) {
        (
            self.requested as f64 / n as f64,
            self.chunks as f64 / n as f64,
        )
    }
}

fn live_bytes_during<T>(f: impl FnOnce() -> T) -> (T, Heap) {
    LIVE.store(0, Ordering::SeqCst);
    LIVE_CHUNKS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let out = f();
    COUNTING.store(false, Ordering::SeqCst);
    let heap = Heap {
        requested: LIVE.load(Ordering::SeqCst),
        chunks: LIVE_CHUNKS.load(Ordering::SeqCst),
    };
    (out, heap)
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Whether criterion measures (`cargo bench`) rather than smoke-tests (`cargo test --benches`).
fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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

/// Acknowledges every pending outbox event (the portal's delivery worker).
fn deliver_outbox(store: &MemoryStore) {
    loop {
        let pending = ready(store.pending_events(4096)).unwrap();
        if pending.is_empty() {
            return;
        }
        let ids: Vec<u64> = pending.iter().map(|e| e.id).collect();
        ready(store.acknowledge(&ids)).unwrap();
    }
}

// ---------------------------------------------------------------------------------------
// engine/verify and engine/verify_parallel_N_cores (one account per engine)
// ---------------------------------------------------------------------------------------

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
        let screen = engine
            .begin(
                &account,
                &totp_enroll::AccountLabel::new(name).unwrap(),
                &step_up,
            )
            .await
            .unwrap();
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

// ---------------------------------------------------------------------------------------
// engine/login_{N}/{warm,warm_held,default,cold}: random access over a population
// ---------------------------------------------------------------------------------------

/// Iterations per timed chunk: their picks and codes are prepared before the timer starts.
const CHUNK: u64 = 1024;

/// A population of enrolled accounts in one store, and each customer's app.
struct Population {
    store: Arc<MemoryStore>,
    key: [u8; 32],
    clock: Arc<ManualClock>,
    accounts: Vec<AccountId>,
    apps: Vec<Totp>,
    /// Each account's next login time: one period after its last accepted code.
    next: Vec<u64>,
    rng: u64,
}

/// What the setup of one population measured.
struct SetupFigures {
    accounts: usize,
    wall: Duration,
    engine: Duration,
    store: Heap,
    cache: Option<Heap>,
    cache_held: Option<Heap>,
}

fn otp_policy() -> OtpPolicy {
    OtpPolicy::new("Bench").unwrap()
}

fn population_engine(population: &Population, policy: EnginePolicy) -> Engine<Arc<MemoryStore>> {
    Engine::new(
        Arc::clone(&population.store),
        KeyRing::new(1, population.key),
        policy,
    )
    .unwrap()
    .with_clock(population.clock.clone())
}

/// Enrolls `n` accounts through `begin` + `confirm` (outbox and key cache off; the
/// Provisioning renders no QR code), measuring the time and the live heap growth.
fn build_population(label: &'static str, n: usize) -> (Population, SetupFigures) {
    let mut population = Population {
        store: Arc::new(MemoryStore::new()),
        key: totp_enroll::testing::conformance::random_key().unwrap(),
        clock: Arc::new(ManualClock::new(START as i64)),
        accounts: Vec::with_capacity(n),
        apps: Vec::with_capacity(n),
        next: vec![START + PERIOD; n],
        rng: 0x9E37_79B9_7F4A_7C15,
    };
    let enroller = population_engine(
        &population,
        EnginePolicy::new(otp_policy())
            .with_outbox(false)
            .with_key_cache(0),
    );
    let started = Instant::now();
    let mut in_engine = Duration::ZERO;
    // The ids are made inside the counted window: the store keeps a clone of each (a shared
    // string), so its bytes count once, as the store's — as for ids a portal parses from
    // requests. The bench's own list of them was reserved before.
    let ((), store) = live_bytes_during(|| {
        for i in 0..n {
            let id = AccountId::new(format!("customer-{i:07}")).unwrap();
            let account = &id;
            let step_up = StepUp::transaction_password_verified(account, START);
            let t0 = Instant::now();
            let screen = ready(enroller.begin(
                account,
                &totp_enroll::AccountLabel::new(account.as_str()).unwrap(),
                &step_up,
            ))
            .unwrap();
            in_engine += t0.elapsed();
            // The customer's app reads the key from the URI (not timed as engine work).
            let key = KeyUri::parse(&screen.uri()).unwrap();
            let app = Totp::new(key.secret(), key.policy());
            let code = app.code_at(START).to_string();
            drop((screen, key));
            let t1 = Instant::now();
            ready(enroller.confirm(account, &code)).unwrap();
            in_engine += t1.elapsed();
            population.apps.push(app);
            population.accounts.push(account.clone());
        }
    });
    let wall = started.elapsed();
    let figures = SetupFigures {
        accounts: n,
        wall,
        engine: in_engine,
        store,
        cache: None,
        cache_held: None,
    };
    println!(
        "engine/population {label}: enrolled {n} accounts (begin + confirm, outbox and key cache \
         off) in {:.2} s wall = {:.0} accounts/s; in the engine's calls {:.2} s = {:.1} µs per \
         begin + confirm",
        wall.as_secs_f64(),
        n as f64 / wall.as_secs_f64(),
        in_engine.as_secs_f64(),
        in_engine.as_secs_f64() * 1e6 / n as f64,
    );
    let (requested, chunks) = store.per(n);
    println!(
        "engine/population {label}: MemoryStore holds {requested:.0} live heap bytes per \
         account ({chunks:.0} as malloc chunks)",
    );
    (population, figures)
}

impl Population {
    fn len(&self) -> usize {
        self.accounts.len()
    }

    /// splitmix64, mapped onto `0..len` by multiply-shift.
    fn pick(&mut self) -> usize {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((u128::from(z) * self.len() as u128) >> 64) as usize
    }

    /// The next login of account `i`: its time and the app's code for it.
    fn next_login(&mut self, i: usize) -> (u64, String) {
        let at = self.next[i];
        self.next[i] = at + PERIOD;
        (at, self.apps[i].code_at(at).to_string())
    }

    /// One accepted login for every account, in order (fills a warm key cache).
    fn login_each(&mut self, engine: &Engine<Arc<MemoryStore>>) {
        for i in 0..self.len() {
            let (at, code) = self.next_login(i);
            self.clock.set(at as i64);
            let login = ready(engine.verify_login(&self.accounts[i], &code));
            assert!(accepted_or_collision(&login), "{login:?} at {at}");
            if i % 4096 == 4095 {
                deliver_outbox(&self.store);
            }
        }
        deliver_outbox(&self.store);
    }

    /// `iters` logins of random accounts through `engine`; only the engine's calls are timed.
    fn time_random_logins(
        &mut self,
        engine: &Engine<Arc<MemoryStore>>,
        iters: u64,
        jobs: &mut Vec<(AccountId, u64, String)>,
    ) -> Duration {
        let mut timed = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = left.min(CHUNK);
            jobs.clear();
            for _ in 0..n {
                let i = self.pick();
                let (at, code) = self.next_login(i);
                // A copy of the id, as a request handler holds it (hot in cache), rather than
                // a random read of this bench's own table of ids.
                jobs.push((self.accounts[i].clone(), at, code));
            }
            let start = Instant::now();
            for (account, at, code) in jobs.iter() {
                self.clock.set(*at as i64);
                let login = ready(engine.verify_login(account, code));
                assert!(accepted_or_collision(&login), "{login:?} at {at}");
                let _ = black_box(login);
            }
            timed += start.elapsed();
            deliver_outbox(&self.store);
            left -= n;
        }
        timed
    }
}

fn engine_populations(c: &mut Criterion) {
    let bench = bench_mode();
    let quick = quick_mode();
    let sizes: &[(&'static str, usize)] = if !bench {
        &[("1k", 1_000)]
    } else if quick {
        &[("1k", 1_000), ("100k", 100_000)]
    } else {
        &[("1k", 1_000), ("100k", 100_000), ("1M", 1_000_000)]
    };
    let mut summary = Summary::default();
    summary.set("written_at_unix", unix_now() as f64);
    summary.set("quick", if quick { 1.0 } else { 0.0 });
    summary.set(
        "default_key_cache_capacity",
        EnginePolicy::DEFAULT_KEY_CACHE_CAPACITY as f64,
    );

    for &(label, n) in sizes {
        let (mut population, mut figures) = build_population(label, n);

        let mut group = c.benchmark_group("engine");
        if quick {
            group.warm_up_time(Duration::from_millis(500));
            group.measurement_time(Duration::from_millis(1500));
            group.sample_size(40);
        } else {
            group.warm_up_time(Duration::from_secs(1));
            group.measurement_time(Duration::from_secs(3));
        }
        group.throughput(Throughput::Elements(1));
        let mut jobs = Vec::with_capacity(CHUNK as usize);
        let mut bench_logins =
            |name: &str, engine: &Engine<Arc<MemoryStore>>, population: &mut Population| {
                group.bench_function(BenchmarkId::new(format!("login_{label}"), name), |b| {
                    b.iter_custom(|iters| population.time_random_logins(engine, iters, &mut jobs));
                });
            };

        // A warm engine's cache is filled by one login per account just before its bench
        // (so the rows are the ones it wrote); the live heap growth of that pass is the
        // cache (the rows are replaced by rows of the same size).
        let capacity = n.max(EnginePolicy::DEFAULT_KEY_CACHE_CAPACITY);
        for (name, held) in [("warm", false), ("warm_held", true)] {
            let engine = population_engine(
                &population,
                EnginePolicy::new(otp_policy())
                    .with_key_cache(capacity)
                    .with_held_records(held),
            );
            let ((), cache) = live_bytes_during(|| population.login_each(&engine));
            let (requested, chunks) = cache.per(n);
            println!(
                "engine/population {label}: a warm key cache (capacity {capacity}{}) holds \
                 {requested:.0} live heap bytes per account ({chunks:.0} as malloc chunks)",
                if held { ", held records" } else { "" },
            );
            if held {
                figures.cache_held = Some(cache);
            } else {
                figures.cache = Some(cache);
            }
            bench_logins(name, &engine, &mut population);
        }
        let default = population_engine(&population, EnginePolicy::new(otp_policy()));
        bench_logins("default", &default, &mut population);
        drop(default);
        let cold = population_engine(
            &population,
            EnginePolicy::new(otp_policy()).with_key_cache(0),
        );
        bench_logins("cold", &cold, &mut population);
        drop(cold);
        group.finish();

        let key = |what: &str| format!("{what}_{label}");
        summary.set(key("population"), figures.accounts as f64);
        summary.set(key("enroll_wall_seconds"), figures.wall.as_secs_f64());
        summary.set(key("enroll_engine_seconds"), figures.engine.as_secs_f64());
        let (requested, chunks) = figures.store.per(n);
        summary.set(key("store_bytes_per_account"), requested);
        summary.set(key("store_malloc_bytes_per_account"), chunks);
        if let Some(cache) = figures.cache {
            let (requested, chunks) = cache.per(n);
            summary.set(key("key_cache_bytes_per_account"), requested);
            summary.set(key("key_cache_malloc_bytes_per_account"), chunks);
        }
        if let Some(cache) = figures.cache_held {
            let (requested, chunks) = cache.per(n);
            summary.set(key("key_cache_held_bytes_per_account"), requested);
            summary.set(key("key_cache_held_malloc_bytes_per_account"), chunks);
        }
        if bench {
            summary.write("engine", "engine.json");
        }
        drop(population);
    }
}

criterion_group!(benches, engine_verify, engine_populations);

fn main() {
    eprintln!("load before: {}", load());
    if quick_mode() {
        eprintln!("TOTP_ENROLL_BENCH_QUICK: populations 1 k and 100 k, shorter measurements");
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    eprintln!("load after: {}", load());
}
