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
//! `store/verify`: accepted logins per second through the [`Engine`] over the SQL stores,
//! i.e. what one portal instance sustains. Every iteration verifies a NEW valid code (each
//! task's clock moves one period per iteration), so every iteration costs a load and a
//! conditional write, as a real login does.
//!
//! * `sqlite-file-wal`: `SqliteStore` on a file in a temp dir (WAL, `synchronous = FULL`).
//! * `postgres`: `PostgresStore` at `TOTP_ENROLL_PG_URL` (skipped with a note if unset).
//!
//! Each store is measured with 1 task (one login at a time: latency bound) and with 8
//! concurrent tasks (8 customers logging in at once, each on their own account; the
//! store's default pool).
//!
//! Run: `TOTP_ENROLL_PG_URL=... cargo bench --all-features --bench stores`
//! (`TOTP_ENROLL_BENCH_SECS` sets the seconds per measurement, default 3). Without
//! `--bench` (e.g. `cargo test --benches`) it runs a 0.2 s smoke pass.

use std::sync::Arc;
use std::time::{Duration, Instant};

use totp_enroll::store::conformance::{self, START};
use totp_enroll::store::{PostgresStore, SqliteStore};
use totp_enroll::{Clock as _, Engine, Login, ManualClock, Store, ThrottlePolicy};

/// Concurrent tasks in the concurrent measurement.
const CONCURRENT: usize = 8;

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let seconds: f64 = if bench {
        std::env::var("TOTP_ENROLL_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3.0)
    } else {
        0.2
    };
    let duration = Duration::from_secs_f64(seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let dir = std::env::temp_dir().join(format!("totp-enroll-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("bench.db").display());
        let sqlite = Arc::new(SqliteStore::connect(&url).await.unwrap());
        for tasks in [1, CONCURRENT] {
            measure("sqlite-file-wal", &sqlite, tasks, duration).await;
        }
        sqlite.close().await;
        let _ = std::fs::remove_dir_all(&dir);

        match std::env::var("TOTP_ENROLL_PG_URL") {
            Ok(url) if !url.trim().is_empty() => {
                let postgres = Arc::new(PostgresStore::connect(&url).await.unwrap());
                for tasks in [1, CONCURRENT] {
                    measure("postgres", &postgres, tasks, duration).await;
                }
            }
            _ => println!(
                "store/verify/postgres: SKIPPED, TOTP_ENROLL_PG_URL is not set \
                 (TOTP_ENROLL_PG_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --all-features --bench stores)"
            ),
        }
    });
}

/// One task's engine, account and app, on its own clock.
async fn enrolled<S: Store>(
    store: S,
) -> (
    Engine<S>,
    Arc<ManualClock>,
    totp_enroll::AccountId,
    totp_enroll::Totp,
) {
    let clock = Arc::new(ManualClock::new(START as i64));
    let key = conformance::random_key().unwrap();
    let engine =
        conformance::engine(store, key, Arc::clone(&clock), ThrottlePolicy::default()).unwrap();
    let account = conformance::fresh_account("bench").unwrap();
    let totp = conformance::enroll(&engine, &account, START).await.unwrap();
    (engine, clock, account, totp)
}

/// Verifies new valid codes in `tasks` concurrent tasks for `duration`; prints the rate.
async fn measure<S: Store + 'static>(name: &str, store: &Arc<S>, tasks: usize, duration: Duration) {
    let mut handles = Vec::new();
    let barrier = Arc::new(tokio::sync::Barrier::new(tasks));
    for _ in 0..tasks {
        let store = Arc::clone(store);
        let barrier = Arc::clone(&barrier);
        handles.push(tokio::spawn(async move {
            let (engine, clock, account, totp) = enrolled(store).await;
            let verify_next = || async {
                clock.advance(30);
                let now = clock.now().unwrap();
                let login = engine
                    .verify_login(&account, &totp.code_at(now).to_string())
                    .await
                    .unwrap();
                assert!(
                    matches!(login, Login::Verified(_)),
                    "every new code is accepted"
                );
            };
            for _ in 0..20 {
                verify_next().await; // warm-up: connections, statement caches
            }
            barrier.wait().await;
            let started = Instant::now();
            let mut count = 0u64;
            while started.elapsed() < duration {
                verify_next().await;
                count += 1;
            }
            (count, started.elapsed())
        }));
    }
    let mut total = 0u64;
    let mut longest = Duration::ZERO;
    for handle in handles {
        let (count, elapsed) = handle.await.unwrap();
        total += count;
        longest = longest.max(elapsed);
    }
    let rate = total as f64 / longest.as_secs_f64();
    let latency_ms = longest.as_secs_f64() * 1000.0 * tasks as f64 / total.max(1) as f64;
    println!(
        "store/verify/{name}/{tasks}-task{}: {total} verifies in {:.2} s = {rate:.0} verifies/s \
         (mean {latency_ms:.2} ms per verify per task)",
        if tasks == 1 { "" } else { "s" },
        longest.as_secs_f64()
    );
}
