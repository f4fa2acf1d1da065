//! Prints the benchmark report: the criterion results of `cargo bench --bench verify`
//! (`--bench engine`, `--bench enrollment`) and the summaries the `engine` and `stores`
//! benches write, then the performance goals, each MET or MISSED.
//!
//! Reads `<criterion dir>/<group>/<id>/new/estimates.json` for every benchmark of
//! `benches/verify.rs`, `benches/engine.rs` and `benches/enrollment.rs` that was measured,
//! prints each median in nanoseconds, then the ratios that matter, each marked PASS or MISS
//! against its target (as before). Then:
//!
//! * `engine/login_{1k,100k,1M}/{warm,default,cold}` with `<criterion dir>/summary/engine.json`
//!   (which populations the latest `engine` run measured — older results of a population
//!   that run skipped, e.g. 1 M in quick mode, are not used —, the time to enroll each
//!   population, the memory per account);
//! * `enrollment/*` and `qr/*`;
//! * `<criterion dir>/summary/stores.json` (the `stores` bench: raw conditional UPDATE versus
//!   engine logins with the outbox off and on, SQLite and PostgreSQL, 1 and 8 tasks);
//! * `authenticators/*` and `recovery/*` (the `authenticators` bench: logins of accounts
//!   with 1, 2 and 5 authenticators, rejects, recovery codes, and the floors measured in the
//!   same run) with `<criterion dir>/summary/authenticators.json`: only results that run
//!   wrote are used (an estimate older than the run's start is shown as stale);
//! * `seal/*` (the `seal` bench: opening and sealing a secret against the construction's
//!   floor measured in the same run, and opening a format-3 row's secret);
//! * the goals table.
//!
//! The criterion directory is, as criterion itself chooses it: `$CRITERION_HOME`, else
//! `$CARGO_TARGET_DIR/criterion`, else `./target/criterion`, else this crate's `target/criterion`.
//!
//! A missed target still exits 0 (this is a report); no results at all exits 1.
//!
//! ```text
//! cargo bench -p totp-enroll --features png --bench verify --bench engine --bench enrollment
//! cargo bench -p totp-enroll --bench seal                      # ~20 s
//! cargo bench -p totp-enroll --bench authenticators            # TOTP_ENROLL_BENCH_QUICK=1: ~30 s
//! cargo bench -p totp-enroll --all-features --bench stores      # TOTP_ENROLL_PG_URL=...
//! cargo run -p totp-enroll-tools --release --bin bench_report
//! ```

use std::env;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod authenticators;
mod estimates;
mod format;
mod goals;
mod json;
mod verify_report;

use estimates::*;
use goals::*;
use verify_report::*;

/// Criterion's output directory, chosen the way criterion chooses it.
fn criterion_dir() -> PathBuf {
    if let Some(home) = env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    let local = PathBuf::from("target").join("criterion");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("criterion")
}

fn main() -> ExitCode {
    let dir = criterion_dir();
    let found: Vec<(&str, Option<Estimate>)> = BENCHES
        .iter()
        .map(|id| (*id, read_estimate(&dir, id)))
        .collect();
    let summaries = ["engine.json", "stores.json", "authenticators.json"]
        .iter()
        .any(|name| dir.join("summary").join(name).is_file());
    if found.iter().all(|(_, e)| e.is_none()) && !summaries {
        let _ = writeln!(
            io::stderr(),
            "bench_report: no criterion results under {} \
             (run `cargo bench --bench verify` first, or set CRITERION_HOME / CARGO_TARGET_DIR)",
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    let median = |id: &str| {
        found
            .iter()
            .find(|(name, _)| *name == id)
            .and_then(|(_, e)| *e)
            .map(|e| e.median)
    };
    let verify_reject_ratio = median("verify/reject")
        .zip(median("floor/sha1_compress_x6"))
        .filter(|(_, floor)| *floor > 0.0)
        .map(|(reject, floor)| reject / floor);
    let mut report = render(&dir, &found);
    report.push_str(&render_goals(&dir, verify_reject_ratio));
    let mut stdout = io::stdout().lock();
    if stdout.write_all(report.as_bytes()).is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use crate::format::spaced;
    use crate::goals::Verdict;
    use crate::json::{flat_numbers, point_estimate};
    use crate::verify_report::Target;

    /// A real `estimates.json` written by criterion 0.8 (`verify/reject`).
    const REAL: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":349.4795203264142,"upper_bound":365.27322534246656},"point_estimate":356.5995427449793,"standard_error":4.0574177615924665},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":340.69076882580435,"upper_bound":344.36509585540705},"point_estimate":341.98671755725195,"standard_error":0.8799210103074444},"median_abs_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":4.474831562594899,"upper_bound":10.041232865009189},"point_estimate":6.618785100086194,"standard_error":1.3667237933740948},"slope":null,"std_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":22.644725168757713,"upper_bound":57.96286780237184},"point_estimate":40.72991703485552,"standard_error":9.41943494037696}}"#;

    #[test]
    fn reads_median_and_mean_not_median_abs_dev() {
        assert_eq!(point_estimate(REAL, "median"), Some(341.986_717_557_251_95));
        assert_eq!(point_estimate(REAL, "mean"), Some(356.599_542_744_979_3));
        assert_eq!(point_estimate(REAL, "slope"), None);
    }

    #[test]
    fn tolerates_whitespace_key_order_and_exponents() {
        let json = "{ \"median_abs_dev\": {\"point_estimate\": 1.0},\n  \"median\" : {\n \
                    \"point_estimate\" : 1.5e2, \"confidence_interval\": {\"point_estimate\": 9} } }";
        assert_eq!(point_estimate(json, "median"), Some(150.0));
        assert_eq!(point_estimate("", "median"), None);
        assert_eq!(point_estimate("{\"median\":{}}", "median"), None);
        assert_eq!(
            point_estimate("{\"median\":{\"point_estimate\":", "median"),
            None
        );
    }

    #[test]
    fn reads_the_benches_summaries() {
        let json = "{\n  \"written_at_unix\": 1796160113.669286,\n  \"sqlite-file-wal.1.raw\": 3137.5,\n  \"postgres.measured\": 0\n}\n";
        let fields = flat_numbers(json).unwrap();
        assert_eq!(
            fields,
            vec![
                ("written_at_unix".to_owned(), 1_796_160_113.669_286),
                ("sqlite-file-wal.1.raw".to_owned(), 3137.5),
                ("postgres.measured".to_owned(), 0.0),
            ]
        );
        assert_eq!(flat_numbers("{}"), Some(vec![]));
        assert_eq!(flat_numbers("{\"a\": }"), None);
        assert_eq!(flat_numbers("{\"a\": 1"), None);
        assert_eq!(flat_numbers("[1]"), None);
    }

    #[test]
    fn a_range_target_includes_its_bounds() {
        let range = Target::Between(0.9, 1.5);
        assert!(Verdict::of(Some(0.9), range) == Verdict::Met);
        assert!(Verdict::of(Some(1.5), range) == Verdict::Met);
        assert!(Verdict::of(Some(0.89), range) == Verdict::Missed);
        assert!(Verdict::of(Some(5.8), range) == Verdict::Missed);
        assert!(Verdict::of(None, range) == Verdict::NotMeasured);
    }

    #[test]
    fn spaces_population_labels() {
        assert_eq!(spaced("1M"), "1 M");
        assert_eq!(spaced("100k"), "100 k");
        assert_eq!(spaced("7"), "7");
    }
}
