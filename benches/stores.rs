#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
)]
//! `store/*`: accepted logins per second through the [`Engine`] over the SQL stores, i.e.
//! what one portal instance sustains, against the floor of one durable conditional write.
//!
//! * `sqlite-file-wal`: `SqliteStore` on a file in a temp dir (WAL, `synchronous = FULL`).
//! * `postgres`: `PostgresStore` at `TOTP_ENROLL_PG_URL` (skipped with a note if unset;
//!   start the server with `fsync = on` for figures a production server would see — the
//!   bench prints and records the server's setting).
//!
//! For each store, with 1 task (one login at a time: latency bound) and with 8 concurrent
//! tasks (8 customers logging in at once, each on their own account), three kinds of
//! operation are measured in the same run, through the same pool (`SqliteStore::pool()`,
//! `PostgresStore::pool()`: the engines run over the same store):
//!
//! * `raw`: the database's own single-statement conditional write,
//!   `UPDATE totp_enroll_enrollments SET record = $3, version = version + 1 WHERE account = $1
//!   AND version = $2`, each task on its own row with a record-sized blob (the bytes of a
//!   real enrolled record) and its version tracked by the task — the floor of one durable
//!   conditional write;
//! * `engine_outbox_off`: accepted logins through the `Engine` with
//!   `EnginePolicy::with_outbox(false)` (load, checks, one conditional write);
//! * `engine_outbox_on`: accepted logins with the outbox on (the default: each login also
//!   inserts one audit event in the same atomic write);
//! * `engine_held`: the seed portal's policy, outbox on and `with_held_records(true)`: each
//!   task's previous login, through the same engine, was one period earlier, so the engine
//!   decides from the record it last wrote and sends its conditional write without loading
//!   the row (one round trip) — the best case, a customer logging in again within 5 minutes.
//!
//! One engine per kind serves all tasks, as one portal process does; each task has its own
//! account in it, and its own time (the engines' clock reads a task-local time), which
//! moves one period per login: every engine iteration verifies a NEW valid code, an
//! acceptance that writes, as a real login does.
//!
//! Drift (the SQLite fsync rate swings by up to 1.5× within a run on a shared machine) is
//! fought by alternating short slices: each round runs one slice of every kind, in the
//! order raw, off, on, held and then held, on, off, raw in the next round (so a linear
//! drift favours no kind), after an unrecorded warm-up round. The ratios are the medians of the per-round
//! ratios (each from slices seconds apart); the rates are the medians of the slices.
//!
//! The results go to `<criterion dir>/summary/stores.json` for `tools/src/bin/bench_report`.
//! The rows and outbox events the bench created in PostgreSQL are deleted at the end (the
//! SQLite file is deleted with its directory).
//!
//! Run: `TOTP_ENROLL_PG_URL=... cargo bench -p totp-enroll --all-features --bench stores`.
//! `TOTP_ENROLL_BENCH_SECS` sets the measured seconds per kind (default 4, 1.5 with
//! `TOTP_ENROLL_BENCH_QUICK=1`), `TOTP_ENROLL_BENCH_ROUNDS` the number of rounds they are
//! split into (default 8, 3 quick). Without `--bench` (e.g. `cargo test --benches`) it runs
//! a short smoke pass and writes no summary.

#[path = "support/mod.rs"]
mod support;
use support::{Summary, load};

use std::sync::Arc;
use std::time::{Duration, Instant};

use totp_enroll::store::{PostgresStore, SqliteStore};
use totp_enroll::testing::conformance::{self, START};
use totp_enroll::{
    AccountId, Clock, Engine, EnginePolicy, KeyRing, Login, OtpPolicy, Store, error::ClockError,
    otp::Totp,
};

/// Concurrent tasks in the concurrent measurement.
const CONCURRENT: usize = 8;
/// Account ids of this run start with `{PREFIX}-{pid}-` (see `conformance::fresh_account`).
const PREFIX: &str = "storesbench";

const SQLITE_UPDATE: &str = "UPDATE totp_enroll_enrollments SET record = ?3, version = version + 1 \
     WHERE account = ?1 AND version = ?2";
const SQLITE_INSERT: &str = "INSERT INTO totp_enroll_enrollments (account, version, record, updated_at) \
     VALUES (?1, 1, ?2, 0)";
const PG_UPDATE: &str = "UPDATE totp_enroll_enrollments SET record = $3, version = version + 1 \
     WHERE account = $1 AND version = $2";
const PG_INSERT: &str =
    "INSERT INTO totp_enroll_enrollments (account, version, record) VALUES ($1, 1, $2)";

/// The kinds of operation, in the order of even rounds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Raw,
    EngineOutboxOff,
    EngineOutboxOn,
    EngineHeld,
}

impl Kind {
    const ALL: [Self; 4] = [
        Self::Raw,
        Self::EngineOutboxOff,
        Self::EngineOutboxOn,
        Self::EngineHeld,
    ];

    fn key(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::EngineOutboxOff => "engine_outbox_off",
            Self::EngineOutboxOn => "engine_outbox_on",
            Self::EngineHeld => "engine_held",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|&k| k == self).unwrap()
    }
}

/// The store's pool, for the raw statement.
#[derive(Clone)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Pool {
    async fn insert(&self, account: &str, record: &[u8]) {
        match self {
            Self::Sqlite(pool) => sqlx::query(SQLITE_INSERT)
                .bind(account)
                .bind(record)
                .execute(pool)
                .await
                .map(|_| ()),
            Self::Postgres(pool) => sqlx::query(PG_INSERT)
                .bind(account)
                .bind(record)
                .execute(pool)
                .await
                .map(|_| ()),
        }
        .unwrap();
    }

    /// The raw conditional update; the number of rows it changed.
    async fn update(&self, account: &str, version: i64, record: &[u8]) -> u64 {
        match self {
            Self::Sqlite(pool) => sqlx::query(SQLITE_UPDATE)
                .bind(account)
                .bind(version)
                .bind(record)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()),
            Self::Postgres(pool) => sqlx::query(PG_UPDATE)
                .bind(account)
                .bind(version)
                .bind(record)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()),
        }
        .unwrap()
    }
}

tokio::task_local! {
    /// The time the engine reads in the current task (`TaskClock`).
    static NOW: u64;
}

/// The engines' clock: each task's own time, so one engine serves every task (as one
/// portal process does) while each customer's time moves one period per login.
struct TaskClock;

impl Clock for TaskClock {
    fn now(&self) -> Result<u64, ClockError> {
        Ok(NOW
            .try_with(|now| *now)
            .expect("engine called inside a task's time scope"))
    }
}

/// The engines all tasks share, over the same store: the default policy with the outbox
/// off and on, and the seed portal's (outbox on, held records).
struct Engines<S> {
    off: Engine<Arc<S>>,
    on: Engine<Arc<S>>,
    held: Engine<Arc<S>>,
}

impl<S: Store> Engines<S> {
    fn new(store: &Arc<S>) -> Self {
        let key = conformance::random_key().unwrap();
        let engine = |outbox: bool, held: bool| {
            let otp = OtpPolicy::new(conformance::ISSUER).unwrap();
            let policy = EnginePolicy::new(otp)
                .with_outbox(outbox)
                .with_held_records(held);
            Engine::new(Arc::clone(store), KeyRing::new(1, key), policy)
                .unwrap()
                .with_clock(Arc::new(TaskClock))
        };
        Self {
            off: engine(false, false),
            on: engine(true, false),
            held: engine(true, true),
        }
    }
}

/// One customer: an enrolled account, their app, and their time.
struct Customer {
    account: AccountId,
    app: Totp,
    now: u64,
}

impl Customer {
    async fn enroll<S: Store>(engine: &Engine<S>) -> Self {
        let account = conformance::fresh_account(PREFIX).unwrap();
        let app = NOW
            .scope(START, conformance::enroll(engine, &account, START))
            .await
            .unwrap();
        Self {
            account,
            app,
            now: START,
        }
    }

    /// One accepted login with the next period's code.
    async fn login<S: Store>(&mut self, engine: &Engine<S>) {
        self.now += 30;
        let code = self.app.code_at(self.now).to_string();
        let login = NOW
            .scope(self.now, engine.verify_login(&self.account, &code))
            .await
            .unwrap();
        assert!(
            matches!(login, Login::Verified(_)),
            "every new code is accepted"
        );
    }
}

/// What one task works on: its own raw row, and its own account in each engine.
struct TaskState<S> {
    engines: Arc<Engines<S>>,
    pool: Pool,
    raw_account: String,
    raw_version: i64,
    record: Vec<u8>,
    off: Customer,
    on: Customer,
    held: Customer,
}

impl<S: Store> TaskState<S> {
    async fn new(engines: &Arc<Engines<S>>, pool: Pool) -> Self {
        let off = Customer::enroll(&engines.off).await;
        let on = Customer::enroll(&engines.on).await;
        let held = Customer::enroll(&engines.held).await;
        // A record-sized blob: the bytes of a real enrolled record.
        let record = engines
            .off
            .store()
            .load(&off.account)
            .await
            .unwrap()
            .unwrap()
            .record
            .encode();
        let raw_account = format!("{}-raw", conformance::fresh_account(PREFIX).unwrap());
        pool.insert(&raw_account, &record).await;
        Self {
            engines: Arc::clone(engines),
            pool,
            raw_account,
            raw_version: 1,
            record,
            off,
            on,
            held,
        }
    }

    async fn run(&mut self, kind: Kind) {
        match kind {
            Kind::Raw => {
                let changed = self
                    .pool
                    .update(&self.raw_account, self.raw_version, &self.record)
                    .await;
                assert_eq!(changed, 1, "the task's own row at its own version");
                self.raw_version += 1;
            }
            Kind::EngineOutboxOff => self.off.login(&self.engines.off).await,
            Kind::EngineOutboxOn => self.on.login(&self.engines.on).await,
            Kind::EngineHeld => self.held.login(&self.engines.held).await,
        }
    }
}

/// Runs `kind` in every task for `duration` (started together); the aggregate rate.
async fn slice<S: Store + 'static>(
    states: Vec<TaskState<S>>,
    kind: Kind,
    duration: Duration,
) -> (Vec<TaskState<S>>, f64) {
    let barrier = Arc::new(tokio::sync::Barrier::new(states.len()));
    let handles: Vec<_> = states
        .into_iter()
        .map(|mut state| {
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                let started = Instant::now();
                let mut count = 0u64;
                while started.elapsed() < duration {
                    state.run(kind).await;
                    count += 1;
                }
                (state, count, started.elapsed())
            })
        })
        .collect();
    let mut states = Vec::with_capacity(handles.len());
    let mut total = 0u64;
    let mut longest = Duration::ZERO;
    for handle in handles {
        let (state, count, elapsed) = handle.await.unwrap();
        states.push(state);
        total += count;
        longest = longest.max(elapsed);
    }
    (states, total as f64 / longest.as_secs_f64())
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    })
}

/// How the measurement is split.
#[derive(Clone, Copy)]
struct Plan {
    rounds: usize,
    slice: Duration,
    warm_up: Duration,
}

/// Each kind's slice rates, and per round each engine kind's rate ÷ raw's and outbox on ÷ off.
struct Measured {
    rates: [Vec<f64>; 4],
    vs_raw: [Vec<f64>; 4],
    on_vs_off: Vec<f64>,
}

async fn measure<S: Store + 'static>(
    name: &str,
    store: &Arc<S>,
    pool: &Pool,
    tasks: usize,
    plan: Plan,
    summary: &mut Summary,
) {
    let engines = Arc::new(Engines::new(store));
    let mut states = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        states.push(TaskState::new(&engines, pool.clone()).await);
    }
    let record_len = states[0].record.len();
    // Warm-up: connections, statement caches, the engines' key caches.
    for kind in Kind::ALL {
        states = slice(states, kind, plan.warm_up).await.0;
    }
    let mut m = Measured {
        rates: Default::default(),
        vs_raw: Default::default(),
        on_vs_off: Vec::new(),
    };
    for round in 0..plan.rounds {
        let mut order = Kind::ALL;
        if round % 2 == 1 {
            order.reverse();
        }
        let mut this = [0.0f64; 4];
        for kind in order {
            let (back, rate) = slice(states, kind, plan.slice).await;
            states = back;
            this[kind.index()] = rate;
            m.rates[kind.index()].push(rate);
        }
        for kind in Kind::ALL {
            m.vs_raw[kind.index()].push(this[kind.index()] / this[0]);
        }
        m.on_vs_off
            .push(this[Kind::EngineOutboxOn.index()] / this[Kind::EngineOutboxOff.index()]);
    }
    let rate = |kind: Kind| median(&m.rates[kind.index()]);
    let vs_raw = |kind: Kind| median(&m.vs_raw[kind.index()]);
    let spread = |kind: Kind| {
        let (lo, hi) = min_max(&m.rates[kind.index()]);
        format!("{lo:.0}–{hi:.0}")
    };
    let on_vs_off = median(&m.on_vs_off);
    let task_word = if tasks == 1 { "task" } else { "tasks" };
    println!(
        "store/{name}/{tasks}-{task_word}: raw conditional UPDATE ({record_len}-byte record) \
         {:.0}/s [{}]; engine logins: outbox off {:.0}/s [{}], outbox on {:.0}/s [{}], outbox \
         on + held records {:.0}/s [{}] (medians of {} rounds of {:.2} s slices; [min–max])",
        rate(Kind::Raw),
        spread(Kind::Raw),
        rate(Kind::EngineOutboxOff),
        spread(Kind::EngineOutboxOff),
        rate(Kind::EngineOutboxOn),
        spread(Kind::EngineOutboxOn),
        rate(Kind::EngineHeld),
        spread(Kind::EngineHeld),
        plan.rounds,
        plan.slice.as_secs_f64(),
    );
    println!(
        "store/{name}/{tasks}-{task_word}: engine ÷ raw: {:.2} with the outbox, {:.2} without, \
         {:.2} with the outbox and held records; the outbox's cost: on ÷ off = {on_vs_off:.2} \
         (medians of per-round ratios)",
        vs_raw(Kind::EngineOutboxOn),
        vs_raw(Kind::EngineOutboxOff),
        vs_raw(Kind::EngineHeld),
    );
    let prefix = format!("{name}.{tasks}");
    for kind in Kind::ALL {
        summary.set(format!("{prefix}.{}", kind.key()), rate(kind));
        let (lo, hi) = min_max(&m.rates[kind.index()]);
        summary.set(format!("{prefix}.{}_min", kind.key()), lo);
        summary.set(format!("{prefix}.{}_max", kind.key()), hi);
    }
    summary.set(
        format!("{prefix}.off_vs_raw"),
        vs_raw(Kind::EngineOutboxOff),
    );
    summary.set(format!("{prefix}.on_vs_raw"), vs_raw(Kind::EngineOutboxOn));
    summary.set(format!("{prefix}.held_vs_raw"), vs_raw(Kind::EngineHeld));
    summary.set(format!("{prefix}.on_vs_off"), on_vs_off);
    summary.set(format!("{prefix}.record_bytes"), record_len as f64);
}

fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|s| s.trim().parse().ok())
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let quick = std::env::var("TOTP_ENROLL_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let (default_seconds, default_rounds) = match (bench, quick) {
        (false, _) => (0.2, 1),
        (true, true) => (1.5, 3),
        (true, false) => (4.0, 8),
    };
    let seconds: f64 = env_number("TOTP_ENROLL_BENCH_SECS").unwrap_or(default_seconds);
    let rounds: usize = env_number::<usize>("TOTP_ENROLL_BENCH_ROUNDS")
        .unwrap_or(default_rounds)
        .max(1);
    let plan = Plan {
        rounds,
        slice: Duration::from_secs_f64(seconds / rounds as f64),
        warm_up: Duration::from_secs_f64((seconds / rounds as f64).min(0.3)),
    };
    eprintln!("load before: {}", load());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut summary = Summary::default();
    summary.set(
        "written_at_unix",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
    );
    summary.set("seconds_per_kind", seconds);
    summary.set("rounds", rounds as f64);
    summary.set("tasks_concurrent", CONCURRENT as f64);
    runtime.block_on(async {
        let dir = std::env::temp_dir().join(format!("totp-enroll-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("bench.db").display());
        let sqlite = Arc::new(SqliteStore::connect(&url).await.unwrap());
        let pool = Pool::Sqlite(sqlite.pool().clone());
        for tasks in [1, CONCURRENT] {
            measure("sqlite-file-wal", &sqlite, &pool, tasks, plan, &mut summary).await;
        }
        sqlite.close().await;
        let _ = std::fs::remove_dir_all(&dir);

        match std::env::var("TOTP_ENROLL_PG_URL") {
            Ok(url) if !url.trim().is_empty() => {
                let postgres = Arc::new(PostgresStore::connect(&url).await.unwrap());
                let fsync: String = sqlx::query_scalar("SHOW fsync")
                    .fetch_one(postgres.pool())
                    .await
                    .unwrap();
                let commit: String = sqlx::query_scalar("SHOW synchronous_commit")
                    .fetch_one(postgres.pool())
                    .await
                    .unwrap();
                println!(
                    "store/postgres: server fsync = {fsync}, synchronous_commit = {commit}{}",
                    if fsync == "on" {
                        ""
                    } else {
                        " (NOT durable: start it with PG_FSYNC=on for production-like figures)"
                    }
                );
                summary.set("postgres.measured", 1.0);
                summary.set("postgres.fsync_on", if fsync == "on" { 1.0 } else { 0.0 });
                let pool = Pool::Postgres(postgres.pool().clone());
                for tasks in [1, CONCURRENT] {
                    measure("postgres", &postgres, &pool, tasks, plan, &mut summary).await;
                }
                // Delete what this run created: its accounts' rows and outbox events.
                let pattern = format!("{PREFIX}-{}-%", std::process::id());
                let events = sqlx::query("DELETE FROM totp_enroll_outbox WHERE account LIKE $1")
                    .bind(&pattern)
                    .execute(postgres.pool())
                    .await
                    .unwrap()
                    .rows_affected();
                let rows =
                    sqlx::query("DELETE FROM totp_enroll_enrollments WHERE account LIKE $1")
                        .bind(&pattern)
                        .execute(postgres.pool())
                        .await
                        .unwrap()
                        .rows_affected();
                println!(
                    "store/postgres: deleted this run's {rows} rows and {events} outbox events"
                );
                postgres.close().await;
            }
            _ => {
                summary.set("postgres.measured", 0.0);
                println!(
                    "store/postgres: SKIPPED, TOTP_ENROLL_PG_URL is not set \
                     (TOTP_ENROLL_PG_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p totp-enroll --all-features --bench stores)"
                );
            }
        }
    });
    if bench {
        summary.write("store", "stores.json");
    }
    eprintln!("load after: {}", load());
}
