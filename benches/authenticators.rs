//! `authenticators/*` and `recovery/*`: logins of accounts with several authenticators, and
//! logins with recovery codes, through the whole engine over `MemoryStore`, with the floors
//! they are compared with measured in the same run.
//!
//! | id                                | what is timed                                                   |
//! |-----------------------------------|-----------------------------------------------------------------|
//! | `authenticators/floor_sha1_x6`    | six chained raw SHA-1 compressions (as `floor/sha1_compress_x6` in `benches/verify.rs`): the least one more authenticator's ±1 window costs |
//! | `authenticators/login_{1,2,5}`    | an accepted `verify_login` of an account with 1, 2 or 5 confirmed authenticators, the code from the FIRST (id 1) |
//! | `authenticators/login_5_last`     | the same with 5, the code from the LAST (id 5)                  |
//! | `authenticators/reject_{1,5}`     | a wrong code (no step of any authenticator's window), 1 or 5 authenticators, the account's previous attempt also wrong (no held record: decided from the loaded row) |
//! | `authenticators/reject_5_held`    | a wrong code right after an accepted login (5 authenticators): the held record is tried first, then the row is loaded and the code decided again |
//! | `recovery/floor_hmac_sha256`      | one HMAC-SHA-256 of 16 bytes (a code's canonical symbols) under a 32-byte key prepared once, as the engine keeps it per ring key |
//! | `recovery/login`                  | an accepted `verify_recovery_code` (a code typed grouped, `XXXX-XXXX-XXXX-XXXX`) |
//! | `recovery/reject`                 | `verify_recovery_code` with a well-formed code that is not the account's (counted as a failure) |
//!
//! Every engine bench runs over its own population of [`ACCOUNTS`] accounts in one
//! `MemoryStore`, with one engine whose policy is the seed portal's plus a second device
//! with its own secret: `SecondDevice::OwnSecret`, held records on, a warm key cache (the
//! default capacity, far above the population; filled by a login of every account before
//! measuring), the audit outbox on, and the lenient throttle `ThrottlePolicy::new(100, 1,
//! 1, 100)`. Authenticators 2..=N were added with `Engine::add_authenticator` (a code of the
//! first) and confirmed with `Engine::confirm_authenticator` (their own first code).
//!
//! Timing: the accounts are taken round-robin; a round gives each account one call. Before
//! a round starts (untimed), the engine's `ManualClock` moves one period on, so every login
//! is a NEW valid code whose account's previous login (held) was one period earlier, as in
//! `engine/login_*/warm_held`. Each chunk of calls (at most one round) has its inputs
//! prepared before its timer starts; the outbox events it wrote are delivered (acknowledged)
//! after it stops. `MemoryStore`'s futures are always ready, so they are polled once with a
//! no-op waker (see `benches/engine.rs`). A login may rarely be refused as
//! `Refusal::Replayed` (this step's code equalled the next one's: see `benches/engine.rs`).
//!
//! * Rejects: the wrong code of each account is one that matches no step of any of its
//!   authenticators' ±1 windows at the round's time. Each counts a failure; every
//!   [`REJECTS_PER_RESET`] rounds (untimed) an accepted login of every account clears the
//!   counters (the lock comes at 100), followed, for `reject_{1,5}`, by one wrong code each,
//!   which drops the held record, so every timed reject is decided from the loaded row.
//!   For `reject_5_held` every round starts with an accepted login of every account.
//! * `login_5` against `login_5_last` is also measured interleaved, after the criterion
//!   benches: rounds of the first's code and of the last's alternate (A B B A …), each round
//!   timed, so both share the machine's load; the two median per-login times go to the
//!   summary (`interleaved_login_5_{first,last}_ns`).
//! * Recovery login: every account holds the default set of
//!   [`EnginePolicy::DEFAULT_RECOVERY_CODES`] codes, one used per round; when a set is used
//!   up, every account is issued a new one (`Engine::issue_recovery_codes`, untimed), so the
//!   stored hashes before a timed use run evenly from 10 down to 1 (the last 4 uses, which
//!   leave 3 or fewer, also write the `RecoveryCodesLow` event).
//! * Recovery reject: account `i` holds `i % 10 + 1` unused codes (the same spread as the
//!   logins see); the failures are cleared every [`REJECTS_PER_RESET`] rounds by an accepted
//!   one-time-code login (untimed).
//!
//! Not measured: the verification alone without the store (`authenticators/verify_only_N`).
//! The engine's multi-authenticator verifier is crate-private, and `Totp::verify` called N
//! times is not its code path (it parses the code once per authenticator and folds the
//! verdicts in constant time), so the public API cannot time it on its own.
//!
//! `TOTP_ENROLL_BENCH_QUICK=1`: shorter measurements (the whole bench in about 30 s on 2
//! cores; a minute without). The run's facts go to `<criterion dir>/summary/authenticators.json` (not
//! without `--bench`, e.g. under `cargo test --benches`); `tools/src/bin/bench_report` prints
//! the medians, the ratios and the goals, using only results this run wrote.
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

#[path = "support/mod.rs"]
mod support;
use support::{Summary, load, quick_mode};

use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, measurement::WallTime};
use hmac::{Hmac, KeyInit, Mac};
use totp_enroll::{
    AccountId, Engine, EnginePolicy, KeyRing, Login, ManualClock, MemoryStore, OtpPolicy,
    Provisioning, SecondDevice, StepUp, Store as _, error::EngineError, error::Refusal,
    lifecycle::RecoveryCode, lifecycle::ThrottlePolicy, otp::Totp, provision::KeyUri,
};

const START: u64 = 1_700_000_000;
const PERIOD: u64 = 30;
/// Accounts per population (a multiple of 10, for the recovery rejects' spread).
const ACCOUNTS: usize = 60;
/// Rounds of wrong codes between two clearings of the failure counters (below the lock
/// at 100).
const REJECTS_PER_RESET: u32 = 64;
/// Recovery codes per set: the engine's default.
const RECOVERY_CODES: usize = EnginePolicy::DEFAULT_RECOVERY_CODES;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Whether criterion measures (`cargo bench`) rather than smoke-tests (`cargo test --benches`).
fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The 1-minute load average as a number (-1 when unknown).
fn load_1min() -> f64 {
    load()
        .split_whitespace()
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or(-1.0)
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

/// A fresh code is accepted, except in the one-in-a-million case where the previous
/// step's code equalled this one (see `benches/engine.rs`).
fn accepted_or_collision(login: &Result<Login, EngineError>) -> bool {
    matches!(
        login,
        Ok(Login::Verified(_)) | Err(EngineError::Refused(Refusal::Replayed))
    )
}

fn wrong(result: &Result<Login, EngineError>) -> bool {
    matches!(result, Err(EngineError::Refused(Refusal::WrongCode)))
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

/// The customer's app: reads the key from the provisioning URI.
fn app(screen: &Provisioning) -> Totp {
    let key = KeyUri::parse(&screen.uri()).unwrap();
    Totp::new(key.secret(), key.policy())
}

/// A 6-digit code that matches no step of any of `apps`' ±1 windows at `at`.
fn wrong_code(apps: &[Totp], at: u64) -> String {
    let window: Vec<String> = apps
        .iter()
        .flat_map(|app| [at - PERIOD, at, at + PERIOD].map(|t| app.code_at(t).to_string()))
        .collect();
    (0u32..)
        .map(|v| format!("{:06}", (v * 7919 + 123_456) % 1_000_000))
        .find(|c| !window.contains(c))
        .unwrap()
}

fn policy() -> EnginePolicy {
    EnginePolicy::new(OtpPolicy::new("Bench").unwrap())
        .with_second_device(SecondDevice::OwnSecret)
        .with_held_records(true)
        .with_throttle(ThrottlePolicy::new(100, 1, 1, 100).unwrap())
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    if quick_mode() {
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_millis(1500));
        group.sample_size(40);
    } else {
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(3));
        group.sample_size(100);
    }
}

// ---------------------------------------------------------------------------------------
// A population of accounts with N authenticators each
// ---------------------------------------------------------------------------------------

type BenchEngine = Engine<Arc<MemoryStore>>;

struct Population {
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    engine: BenchEngine,
    accounts: Vec<AccountId>,
    /// Each account's apps, in authenticator id order (id 1 first).
    apps: Vec<Vec<Totp>>,
    /// Each account's recovery codes of its current set, as the customer types them.
    recovery: Vec<Vec<String>>,
    /// The engine clock's time.
    now: u64,
    /// The next account of the current round (0: a new round starts).
    cursor: usize,
    /// Rounds of wrong codes since the failure counters were cleared (a bound on any
    /// account's count).
    failures: u32,
    /// Each account's wrong code for the current time.
    wrong: Vec<String>,
    /// The index, in every set, of the recovery code the current round uses.
    recovery_round: usize,
}

impl Population {
    /// `ACCOUNTS` accounts with `authenticators` confirmed authenticators each (and, with
    /// `recovery`, a set of recovery codes from `confirm_with_recovery_codes`).
    fn build(label: &str, authenticators: usize, recovery: bool) -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(START as i64));
        let engine = Engine::new(Arc::clone(&store), KeyRing::generate(1).unwrap(), policy())
            .unwrap()
            .with_clock(clock.clone());
        let mut population = Self {
            store,
            clock,
            engine,
            accounts: Vec::with_capacity(ACCOUNTS),
            apps: Vec::with_capacity(ACCOUNTS),
            recovery: Vec::with_capacity(ACCOUNTS),
            now: START,
            cursor: 0,
            failures: 0,
            wrong: Vec::new(),
            recovery_round: 0,
        };
        for a in 0..ACCOUNTS {
            let account = AccountId::new(format!("{label}-{a:03}")).unwrap();
            population.advance();
            let now = population.now;
            let engine = &population.engine;
            let step_up = StepUp::transaction_password_verified(&account, now);
            let screen = ready(engine.begin(
                &account,
                &totp_enroll::AccountLabel::new(account.as_str()).unwrap(),
                &step_up,
            ))
            .unwrap();
            let first = app(&screen);
            let code = first.code_at(now).to_string();
            let codes = if recovery {
                ready(engine.confirm_with_recovery_codes(&account, &code))
                    .unwrap()
                    .iter()
                    .map(|c| c.grouped().as_str().to_owned())
                    .collect()
            } else {
                ready(engine.confirm(&account, &code)).unwrap();
                Vec::new()
            };
            let mut apps = vec![first];
            for k in 2..=authenticators {
                population.advance();
                let now = population.now;
                let engine = &population.engine;
                let code = apps[0].code_at(now).to_string();
                let step_up = StepUp::transaction_password_verified(&account, now);
                let name = format!("device-{k}");
                let added = ready(engine.add_authenticator(&account, &name, &code, Some(&step_up)))
                    .unwrap();
                assert_eq!(usize::from(added.id), k);
                let device = app(&added.provisioning);
                let code = device.code_at(now).to_string();
                ready(engine.confirm_authenticator(&account, added.id, &code)).unwrap();
                apps.push(device);
            }
            let stored = ready(population.store.load(&account)).unwrap().unwrap();
            let list = stored.record.authenticators();
            assert_eq!(list.len(), authenticators);
            assert!(list.iter().all(|a| !a.is_pending()));
            population.accounts.push(account);
            population.apps.push(apps);
            population.recovery.push(codes);
        }
        // Warm: a login of every account with each authenticator's code, the last with the
        // first's (keys cached, records held); each reports its authenticator (allowing one
        // code collision with another authenticator's window).
        for index in (0..authenticators).rev() {
            let ids = population.login_round(index);
            let expected = u8::try_from(index + 1).unwrap();
            let hits = ids.iter().filter(|id| **id == Some(expected)).count();
            assert!(hits + 1 >= ACCOUNTS, "{hits} of {ACCOUNTS} by {expected}");
        }
        deliver_outbox(&population.store);
        population
    }

    /// The engine clock one period on.
    fn advance(&mut self) {
        self.now += PERIOD;
        self.clock.set(self.now as i64);
    }

    /// One period on, then an accepted login of every account with the code of its
    /// authenticator at `index` (untimed); clears the failure counters. Returns the
    /// authenticator each login reported.
    fn login_round(&mut self, index: usize) -> Vec<Option<u8>> {
        self.advance();
        let ids = (0..ACCOUNTS)
            .map(|i| {
                let code = self.apps[i][index].code_at(self.now).to_string();
                let login = ready(self.engine.verify_login(&self.accounts[i], &code));
                assert!(accepted_or_collision(&login), "{login:?}");
                match login {
                    Ok(Login::Verified(v)) => Some(v.authenticator()),
                    _ => None,
                }
            })
            .collect();
        deliver_outbox(&self.store);
        self.failures = 0;
        ids
    }

    /// Each account's wrong one-time code at the current time.
    fn wrong_codes(&mut self) {
        self.wrong = self
            .apps
            .iter()
            .map(|apps| wrong_code(apps, self.now))
            .collect();
    }

    /// Clears the failure counters (an accepted login each), then one wrong code each
    /// (which drops the held record), all untimed.
    fn reset_rejects(&mut self) {
        self.login_round(0);
        self.wrong_codes();
        for i in 0..ACCOUNTS {
            let refused = ready(self.engine.verify_login(&self.accounts[i], &self.wrong[i]));
            assert!(wrong(&refused), "{refused:?}");
        }
        deliver_outbox(&self.store);
        self.failures = 1;
    }

    /// A new set of recovery codes for every account (one period on, a code of each
    /// account's first authenticator), untimed.
    fn reissue_recovery_codes(&mut self) {
        self.advance();
        for i in 0..ACCOUNTS {
            let code = self.apps[i][0].code_at(self.now).to_string();
            let step_up = StepUp::transaction_password_verified(&self.accounts[i], self.now);
            let codes = ready(
                self.engine
                    .issue_recovery_codes(&self.accounts[i], &code, &step_up),
            )
            .unwrap();
            self.recovery[i] = codes
                .iter()
                .map(|c| c.grouped().as_str().to_owned())
                .collect();
        }
        deliver_outbox(&self.store);
        self.recovery_round = 0;
    }

    /// `iters` calls over the accounts round-robin, in chunks that end at round boundaries.
    /// `new_round` runs (untimed) before each round; `input` makes an account's input for
    /// the current round (untimed); only `call`s are timed.
    fn time_calls(
        &mut self,
        iters: u64,
        jobs: &mut Vec<(AccountId, String)>,
        new_round: impl Fn(&mut Self),
        input: impl Fn(&Self, usize) -> String,
        call: impl Fn(&BenchEngine, &AccountId, &str),
    ) -> Duration {
        let mut timed = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            if self.cursor == 0 {
                new_round(self);
            }
            let n = (ACCOUNTS - self.cursor).min(usize::try_from(left).unwrap_or(usize::MAX));
            jobs.clear();
            for i in self.cursor..self.cursor + n {
                // A copy of the id, as a request handler holds it.
                jobs.push((self.accounts[i].clone(), input(self, i)));
            }
            let start = Instant::now();
            for (account, text) in jobs.iter() {
                call(&self.engine, account, text);
            }
            timed += start.elapsed();
            deliver_outbox(&self.store);
            self.cursor = (self.cursor + n) % ACCOUNTS;
            left -= n as u64;
        }
        timed
    }
}

fn login_call(engine: &BenchEngine, account: &AccountId, code: &str) {
    let login = ready(engine.verify_login(account, code));
    assert!(accepted_or_collision(&login), "{login:?}");
    let _ = black_box(login);
}

fn reject_call(engine: &BenchEngine, account: &AccountId, code: &str) {
    let refused = ready(engine.verify_login(account, code));
    assert!(wrong(&refused), "{refused:?}");
    let _ = black_box(refused);
}

/// Accepted logins with the code of authenticator `index` (0: the first).
fn bench_logins(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    population: &mut Population,
    index: usize,
    jobs: &mut Vec<(AccountId, String)>,
) {
    population.cursor = 0;
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            population.time_calls(
                iters,
                jobs,
                Population::advance,
                |p, i| p.apps[i][index].code_at(p.now).to_string(),
                login_call,
            )
        });
    });
}

/// Wrong codes, each account's previous attempt wrong too (no held record).
fn bench_rejects(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    population: &mut Population,
    jobs: &mut Vec<(AccountId, String)>,
) {
    population.cursor = 0;
    population.reset_rejects();
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            population.time_calls(
                iters,
                jobs,
                |p| {
                    if p.failures >= REJECTS_PER_RESET {
                        p.reset_rejects();
                    }
                    p.failures += 1;
                },
                |p, i| p.wrong[i].clone(),
                reject_call,
            )
        });
    });
}

/// Logins of `population` (5 authenticators) alternating round by round between the
/// first's code and the last's (A B B A …), each round timed: the median per-login time of
/// each, in ns. Two criterion benches run one after the other meet whatever load the
/// machine has at the time; these rounds share it.
fn interleaved_position(population: &mut Population, rounds: usize) -> (f64, f64) {
    population.cursor = 0;
    population.login_round(0);
    let mut jobs = Vec::with_capacity(ACCOUNTS);
    let mut times = [Vec::with_capacity(rounds), Vec::with_capacity(rounds)];
    for round in 0..rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            let index = if side == 0 { 0 } else { 4 };
            let timed = population.time_calls(
                ACCOUNTS as u64,
                &mut jobs,
                Population::advance,
                |p, i| p.apps[i][index].code_at(p.now).to_string(),
                login_call,
            );
            times[side].push(timed.as_secs_f64() * 1e9 / ACCOUNTS as f64);
        }
    }
    let [mut first, mut last] = times;
    (median(&mut first), median(&mut last))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

// ---------------------------------------------------------------------------------------
// Floors
// ---------------------------------------------------------------------------------------

const SHA1_IV: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];

/// Six distinct blocks, 64-byte aligned (as in `benches/verify.rs`: unaligned, the floor
/// varies by ~10% from one process to the next with the stack address).
#[repr(align(64))]
struct Blocks([[u8; 64]; 6]);

/// `floor/sha1_compress_x6` of `benches/verify.rs`, measured again in this run.
fn bench_sha1_floor(group: &mut BenchmarkGroup<'_, WallTime>) {
    let mut blocks = Blocks([[0u8; 64]; 6]);
    for (i, block) in blocks.0.iter_mut().enumerate() {
        for (j, b) in block.iter_mut().enumerate() {
            *b = u8::try_from((i * 64 + j) % 251).unwrap();
        }
    }
    group.throughput(Throughput::Elements(6));
    group.bench_function("floor_sha1_x6", |b| {
        b.iter(|| {
            let blocks = black_box(&blocks);
            let mut h = black_box(SHA1_IV);
            for block in &blocks.0 {
                sha1::block_api::compress(&mut h, core::slice::from_ref(block));
            }
            h
        });
    });
}

/// One HMAC-SHA-256 of a code's 16 canonical symbols under a 32-byte key whose key
/// schedule is prepared once (as the engine keeps it per ring key).
fn bench_hmac_floor(group: &mut BenchmarkGroup<'_, WallTime>) {
    let key = [0x5au8; 32];
    let code = *b"7K3M9QXR2HV8T4NP";
    let prepared = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    group.throughput(Throughput::Elements(1));
    group.bench_function("floor_hmac_sha256", |b| {
        b.iter(|| {
            let mut mac = black_box(&prepared).clone();
            mac.update(black_box(&code));
            mac.finalize().into_bytes()
        });
    });
}

// ---------------------------------------------------------------------------------------
// The benches
// ---------------------------------------------------------------------------------------

fn authenticators(c: &mut Criterion) {
    let bench = bench_mode();
    let started = unix_now();
    let load_before = load_1min();
    let setup = Instant::now();
    let mut one = Population::build("one", 1, false);
    let mut two = Population::build("two", 2, false);
    let mut five = Population::build("five", 5, false);
    let mut recovery_login = Population::build("recovery", 1, true);
    let mut recovery_reject = Population::build("recovery-wrong", 1, true);
    // Account i keeps i % 10 + 1 unused codes.
    for i in 0..ACCOUNTS {
        let keep = i % 10 + 1;
        let p = &mut recovery_reject;
        for code in p.recovery[i].drain(..RECOVERY_CODES - keep) {
            let used = ready(p.engine.verify_recovery_code(&p.accounts[i], &code));
            assert!(matches!(used, Ok(Login::RecoveryCode { .. })), "{used:?}");
        }
        let record = ready(p.store.load(&p.accounts[i])).unwrap().unwrap().record;
        assert_eq!(record.recovery_codes_remaining(), keep);
    }
    recovery_reject.wrong = (0..ACCOUNTS)
        .map(|_| {
            RecoveryCode::generate()
                .unwrap()
                .grouped()
                .as_str()
                .to_owned()
        })
        .collect();
    deliver_outbox(&recovery_reject.store);
    let setup = setup.elapsed();
    println!(
        "authenticators: 5 populations of {ACCOUNTS} accounts set up in {:.1} ms",
        setup.as_secs_f64() * 1e3
    );

    let mut jobs = Vec::with_capacity(ACCOUNTS);
    let mut group = c.benchmark_group("authenticators");
    configure(&mut group);
    bench_sha1_floor(&mut group);
    group.throughput(Throughput::Elements(1));
    bench_logins(&mut group, "login_1", &mut one, 0, &mut jobs);
    bench_logins(&mut group, "login_2", &mut two, 0, &mut jobs);
    bench_logins(&mut group, "login_5", &mut five, 0, &mut jobs);
    bench_logins(&mut group, "login_5_last", &mut five, 4, &mut jobs);
    bench_rejects(&mut group, "reject_1", &mut one, &mut jobs);
    bench_rejects(&mut group, "reject_5", &mut five, &mut jobs);
    // The first wrong code after an accepted login: every round starts with a login of
    // every account.
    five.cursor = 0;
    group.bench_function("reject_5_held", |b| {
        b.iter_custom(|iters| {
            five.time_calls(
                iters,
                &mut jobs,
                |p| {
                    p.login_round(0);
                    p.wrong_codes();
                },
                |p, i| p.wrong[i].clone(),
                reject_call,
            )
        });
    });
    group.finish();
    let rounds = match (bench, quick_mode()) {
        (false, _) => 2,
        (true, true) => 500,
        (true, false) => 2000,
    };
    let (first, last) = interleaved_position(&mut five, rounds);
    println!(
        "authenticators: login_5 interleaved A/B over {rounds} rounds of {ACCOUNTS} each: first's \
         code {first:.0} ns, last's {last:.0} ns ({:+.1} %)",
        (last - first) / first * 100.0
    );

    let mut group = c.benchmark_group("recovery");
    configure(&mut group);
    bench_hmac_floor(&mut group);
    recovery_login.cursor = 0;
    group.bench_function("login", |b| {
        b.iter_custom(|iters| {
            recovery_login.time_calls(
                iters,
                &mut jobs,
                |p| {
                    if p.recovery_round == RECOVERY_CODES {
                        p.reissue_recovery_codes();
                    }
                    p.recovery_round += 1;
                },
                |p, i| p.recovery[i][p.recovery_round - 1].clone(),
                |engine, account, code| {
                    let login = ready(engine.verify_recovery_code(account, code));
                    assert!(matches!(login, Ok(Login::RecoveryCode { .. })), "{login:?}");
                    let _ = black_box(login);
                },
            )
        });
    });
    recovery_reject.cursor = 0;
    group.bench_function("reject", |b| {
        b.iter_custom(|iters| {
            recovery_reject.time_calls(
                iters,
                &mut jobs,
                |p| {
                    if p.failures >= REJECTS_PER_RESET {
                        p.login_round(0);
                    }
                    p.failures += 1;
                },
                |p, i| p.wrong[i].clone(),
                |engine, account, code| {
                    let refused = ready(engine.verify_recovery_code(account, code));
                    assert!(wrong(&refused), "{refused:?}");
                    let _ = black_box(refused);
                },
            )
        });
    });
    group.finish();

    if bench {
        let mut summary = Summary::default();
        summary.set("started_at_unix", started);
        summary.set("written_at_unix", unix_now());
        summary.set("quick", if quick_mode() { 1.0 } else { 0.0 });
        summary.set("accounts_per_population", ACCOUNTS as f64);
        summary.set("recovery_codes_per_set", RECOVERY_CODES as f64);
        summary.set("rejects_per_reset", f64::from(REJECTS_PER_RESET));
        summary.set("setup_seconds", setup.as_secs_f64());
        summary.set("interleaved_rounds", rounds as f64);
        summary.set("interleaved_login_5_first_ns", first);
        summary.set("interleaved_login_5_last_ns", last);
        summary.set("load_before_1min", load_before);
        summary.set("load_after_1min", load_1min());
        summary.write("authenticators", "authenticators.json");
    }
}

criterion_group!(benches, authenticators);

fn main() {
    eprintln!("load before: {}", load());
    if quick_mode() {
        eprintln!("TOTP_ENROLL_BENCH_QUICK: shorter measurements");
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    eprintln!("load after: {}", load());
}
