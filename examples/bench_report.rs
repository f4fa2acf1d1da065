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
//! * the goals table.
//!
//! The criterion directory is, as criterion itself chooses it: `$CRITERION_HOME`, else
//! `$CARGO_TARGET_DIR/criterion`, else `./target/criterion`, else this crate's `target/criterion`.
//!
//! A missed target still exits 0 (this is a report); no results at all exits 1.
//!
//! ```text
//! cargo bench -p totp-enroll --features png --bench verify --bench engine --bench enrollment
//! cargo bench -p totp-enroll --bench authenticators            # TOTP_ENROLL_BENCH_QUICK=1: ~30 s
//! cargo bench -p totp-enroll --all-features --bench stores      # TOTP_ENROLL_PG_URL=...
//! cargo run -p totp-enroll --release --example bench_report
//! ```

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Every benchmark id the report knows, in display order.
const BENCHES: &[&str] = &[
    "floor/sha1_compress_x6",
    "floor/sha1_compress_x2",
    "floor/sha1_compress_x2_serial",
    "generate",
    "verify/accept",
    "verify/reject",
    "verify/cold",
    "peer/totp_rs_check",
    "peer/totp_rs_check_accept",
    "peer/totp_lite",
    "peer/naive_rekey_hmac",
    "peer/hmac_prekeyed_clone",
    "verify_sha256/reject",
    "verify_sha512/reject",
    "engine/verify",
];

/// A ratio target: the value must be at most, or at least, the bound, or within the
/// bounds (inclusive).
#[derive(Clone, Copy)]
enum Target {
    AtMost(f64),
    AtLeast(f64),
    Between(f64, f64),
    Info,
}

/// One line of the ratio table: `numerator ÷ denominator`, or the relative gap
/// `|numerator − denominator| / denominator` when `gap` is set.
struct Ratio {
    label: &'static str,
    numerator: &'static str,
    denominator: &'static str,
    gap: bool,
    target: Target,
}

const RATIOS: &[Ratio] = &[
    Ratio {
        label: "verify/reject ÷ floor x6",
        numerator: "verify/reject",
        denominator: "floor/sha1_compress_x6",
        gap: false,
        target: Target::AtMost(1.15),
    },
    Ratio {
        label: "generate ÷ floor x2",
        numerator: "generate",
        denominator: "floor/sha1_compress_x2",
        gap: false,
        target: Target::AtMost(1.2),
    },
    Ratio {
        label: "generate ÷ floor x2 serial",
        numerator: "generate",
        denominator: "floor/sha1_compress_x2_serial",
        gap: false,
        target: Target::Info,
    },
    Ratio {
        label: "|accept − reject| / reject",
        numerator: "verify/accept",
        denominator: "verify/reject",
        gap: true,
        target: Target::AtMost(0.05),
    },
    Ratio {
        label: "totp-rs check ÷ verify/reject",
        numerator: "peer/totp_rs_check",
        denominator: "verify/reject",
        gap: false,
        target: Target::AtLeast(2.0),
    },
    Ratio {
        label: "totp-rs check (accept) ÷ verify/accept",
        numerator: "peer/totp_rs_check_accept",
        denominator: "verify/accept",
        gap: false,
        target: Target::Info,
    },
    Ratio {
        label: "totp-lite ÷ verify/reject",
        numerator: "peer/totp_lite",
        denominator: "verify/reject",
        gap: false,
        target: Target::Info,
    },
    Ratio {
        label: "naive re-key HMAC ÷ verify/reject",
        numerator: "peer/naive_rekey_hmac",
        denominator: "verify/reject",
        gap: false,
        target: Target::Info,
    },
    Ratio {
        label: "pre-keyed HMAC clone ÷ verify/reject",
        numerator: "peer/hmac_prekeyed_clone",
        denominator: "verify/reject",
        gap: false,
        target: Target::Info,
    },
    Ratio {
        label: "cold ÷ verify/reject",
        numerator: "verify/cold",
        denominator: "verify/reject",
        gap: false,
        target: Target::Info,
    },
    Ratio {
        label: "engine/verify ÷ verify/reject",
        numerator: "engine/verify",
        denominator: "verify/reject",
        gap: false,
        target: Target::AtMost(3.0),
    },
];

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

/// Skips ASCII whitespace from `at`.
fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at = at.saturating_add(1);
    }
    at
}

/// The end (exclusive) of the JSON string starting with the quote at `at`.
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at.checked_add(1)?;
    loop {
        match bytes.get(i)? {
            b'\\' => i = i.checked_add(2)?,
            b'"' => return i.checked_add(1),
            _ => i = i.checked_add(1)?,
        }
    }
}

/// Where the value of the key `key` starts, searching only the object that opens at `open`
/// (the index of its `{`) and only among that object's own keys, not those of nested objects.
fn member(bytes: &[u8], open: usize, key: &str) -> Option<usize> {
    let quoted = format!("\"{key}\"");
    let mut depth = 0usize;
    let mut i = open;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'{' | b'[' => depth = depth.saturating_add(1),
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return None;
                }
            }
            b'"' => {
                let end = string_end(bytes, i)?;
                let colon = skip_ws(bytes, end);
                if depth == 1
                    && bytes.get(colon) == Some(&b':')
                    && bytes.get(i..end) == Some(quoted.as_bytes())
                {
                    return Some(skip_ws(bytes, colon.saturating_add(1)));
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i = i.saturating_add(1);
    }
    None
}

/// The number starting at `at`, or `None` (criterion writes `null` for absent estimates).
fn number(bytes: &[u8], at: usize) -> Option<f64> {
    let len = bytes
        .get(at..)?
        .iter()
        .take_while(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        .count();
    let text = std::str::from_utf8(bytes.get(at..at.checked_add(len)?)?).ok()?;
    text.parse().ok()
}

/// `estimate.point_estimate` of a criterion `estimates.json`: `{"mean":{"confidence_interval":
/// {…},"point_estimate":N,"standard_error":N},"median":{…},…}`.
fn point_estimate(json: &str, estimate: &str) -> Option<f64> {
    let bytes = json.as_bytes();
    let open = skip_ws(bytes, 0);
    if bytes.get(open) != Some(&b'{') {
        return None;
    }
    let inner = member(bytes, open, estimate)?;
    if bytes.get(inner) != Some(&b'{') {
        return None;
    }
    number(bytes, member(bytes, inner, "point_estimate")?)
}

/// A benchmark's estimates in nanoseconds.
#[derive(Clone, Copy)]
struct Estimate {
    median: f64,
    mean: Option<f64>,
}

/// `<criterion dir>/<id>/new/estimates.json`.
fn estimate_path(dir: &Path, id: &str) -> PathBuf {
    let mut path = dir.to_path_buf();
    // Criterion makes each segment of an id filename-safe; ours are already plain.
    path.extend(id.split('/'));
    path.extend(["new", "estimates.json"]);
    path
}

/// When the estimates of `id` were written (Unix seconds).
fn estimate_written_at(dir: &Path, id: &str) -> Option<f64> {
    let modified = fs::metadata(estimate_path(dir, id)).ok()?.modified().ok()?;
    modified
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs_f64())
}

fn read_estimate(dir: &Path, id: &str) -> Option<Estimate> {
    let json = fs::read_to_string(estimate_path(dir, id)).ok()?;
    let mean = point_estimate(&json, "mean");
    let median = point_estimate(&json, "median").or(mean)?;
    Some(Estimate { median, mean })
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| {
            let fields: Vec<&str> = l.split_whitespace().take(3).collect();
            (fields.len() == 3).then(|| fields.join(" "))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn render(dir: &Path, found: &[(&str, Option<Estimate>)]) -> String {
    let get = |id: &str| {
        found
            .iter()
            .find(|(name, _)| *name == id)
            .and_then(|(_, e)| *e)
            .map(|e| e.median)
    };
    let mut out = String::new();
    let _ = writeln!(out, "criterion results: {}", dir.display());
    let _ = writeln!(
        out,
        "load average now (1/5/15 min): {}  (the benches print theirs before and after)",
        load_average()
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<31} {:>12} {:>12}",
        "benchmark", "median ns", "mean ns"
    );
    let _ = writeln!(out, "{:-<31} {:->12} {:->12}", "", "", "");
    for (id, estimate) in found {
        match estimate {
            Some(e) => {
                let mean = e.mean.map_or_else(|| "-".to_owned(), |m| format!("{m:.1}"));
                let _ = writeln!(out, "{id:<31} {:>12.1} {mean:>12}", e.median);
            }
            None => {
                let _ = writeln!(out, "{id:<31} {:>12} {:>12}", "not measured", "");
            }
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<40} {:>9}  {:<9} verdict",
        "ratio (medians)", "value", "target"
    );
    let _ = writeln!(out, "{:-<40} {:->9}  {:-<9} {:-<7}", "", "", "", "");
    let (mut passed, mut missed) = (0u32, 0u32);
    for ratio in RATIOS {
        let value = match (get(ratio.numerator), get(ratio.denominator)) {
            (Some(n), Some(d)) if d > 0.0 => {
                Some(if ratio.gap { (n - d).abs() / d } else { n / d })
            }
            _ => None,
        };
        let shown = match value {
            Some(v) if ratio.gap => format!("{:.1}%", v * 100.0),
            Some(v) => format!("{v:.2}"),
            None => "-".to_owned(),
        };
        let (target, verdict) = match ratio.target {
            Target::Info => (String::new(), value.map_or("not measured", |_| "info")),
            Target::Between(low, high) => {
                let verdict = match value {
                    None => "not measured",
                    Some(v) if (low..=high).contains(&v) => {
                        passed = passed.saturating_add(1);
                        "PASS"
                    }
                    Some(_) => {
                        missed = missed.saturating_add(1);
                        "MISS"
                    }
                };
                (format!("{low}–{high}"), verdict)
            }
            Target::AtMost(bound) | Target::AtLeast(bound) => {
                let target = match (ratio.target, ratio.gap) {
                    (Target::AtMost(_), true) => format!("≤ {:.0}%", bound * 100.0),
                    (Target::AtMost(_), false) => format!("≤ {bound}"),
                    _ => format!("≥ {bound}"),
                };
                let verdict = match value {
                    None => "not measured",
                    Some(v) => {
                        let pass = match ratio.target {
                            Target::AtLeast(_) => v >= bound,
                            _ => v <= bound,
                        };
                        if pass {
                            passed = passed.saturating_add(1);
                            "PASS"
                        } else {
                            missed = missed.saturating_add(1);
                            "MISS"
                        }
                    }
                };
                (target, verdict)
            }
        };
        // Pad by characters, not bytes: the labels contain `÷`, `−` and `≤`.
        let label_pad = 40usize.saturating_sub(ratio.label.chars().count());
        let target_pad = 9usize.saturating_sub(target.chars().count());
        let _ = writeln!(
            out,
            "{}{} {shown:>9}  {target}{} {verdict}",
            ratio.label,
            " ".repeat(label_pad),
            " ".repeat(target_pad),
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "targets: {passed} PASS, {missed} MISS");
    out
}

// ---------------------------------------------------------------------------------------
// The summaries of the `engine` and `stores` benches, and the goals.
// ---------------------------------------------------------------------------------------

/// The populations of `engine/login_*`, as the bench labels them.
const POPULATIONS: &[(&str, f64)] = &[("1k", 1e3), ("100k", 1e5), ("1M", 1e6)];

/// A population's label as the report writes it.
fn spaced(label: &str) -> String {
    match label.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => format!(
            "{} {}",
            label.get(..at).unwrap_or(label),
            label.get(at..).unwrap_or("")
        ),
        None => label.to_owned(),
    }
}
/// The key cache configurations of `engine/login_*`.
const CACHES: &[&str] = &["warm", "warm_held", "default", "cold"];
/// The stores and task counts of the `stores` bench.
const STORES: &[(&str, &str)] = &[("sqlite-file-wal", "SQLite"), ("postgres", "PostgreSQL")];
const TASKS: &[&str] = &["1", "8"];

/// A flat JSON object of numbers, as the benches write their summaries:
/// `{"key": number, …}`. `None` if it is not one.
fn flat_numbers(json: &str) -> Option<Vec<(String, f64)>> {
    let bytes = json.as_bytes();
    let mut at = skip_ws(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    let mut fields = Vec::new();
    at = skip_ws(bytes, at.saturating_add(1));
    if bytes.get(at) == Some(&b'}') {
        return Some(fields);
    }
    loop {
        if bytes.get(at) != Some(&b'"') {
            return None;
        }
        let end = string_end(bytes, at)?;
        let key = std::str::from_utf8(bytes.get(at.saturating_add(1)..end.saturating_sub(1))?)
            .ok()?
            .to_owned();
        at = skip_ws(bytes, end);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at = skip_ws(bytes, at.saturating_add(1));
        let len = bytes
            .get(at..)?
            .iter()
            .take_while(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
            .count();
        fields.push((key, number(bytes, at)?));
        at = skip_ws(bytes, at.saturating_add(len));
        match bytes.get(at) {
            Some(b',') => at = skip_ws(bytes, at.saturating_add(1)),
            Some(b'}') => return Some(fields),
            _ => return None,
        }
    }
}

/// A bench's summary file, `<criterion dir>/summary/<name>`.
struct Summary {
    fields: Vec<(String, f64)>,
}

impl Summary {
    fn read(dir: &Path, name: &str) -> Option<Self> {
        let json = fs::read_to_string(dir.join("summary").join(name)).ok()?;
        flat_numbers(&json).map(|fields| Self { fields })
    }

    fn get(&self, key: &str) -> Option<f64> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
            .filter(|v| v.is_finite() && *v >= 0.0)
    }

    /// "written N min ago", from the `written_at_unix` field.
    fn age(&self) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        match self.get("written_at_unix") {
            Some(at) if now >= at => {
                let minutes = (now - at) / 60.0;
                if minutes < 90.0 {
                    format!("written {minutes:.0} min ago")
                } else {
                    format!("written {:.1} h ago", minutes / 60.0)
                }
            }
            _ => "age unknown".to_owned(),
        }
    }
}

/// A goal's verdict.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Met,
    Missed,
    Info,
    NotMeasured,
}

impl Verdict {
    fn of(value: Option<f64>, target: Target) -> Self {
        match (value, target) {
            (None, _) => Self::NotMeasured,
            (Some(_), Target::Info) => Self::Info,
            (Some(v), Target::AtMost(bound)) => {
                if v <= bound {
                    Self::Met
                } else {
                    Self::Missed
                }
            }
            (Some(v), Target::AtLeast(bound)) => {
                if v >= bound {
                    Self::Met
                } else {
                    Self::Missed
                }
            }
            (Some(v), Target::Between(low, high)) => {
                if (low..=high).contains(&v) {
                    Self::Met
                } else {
                    Self::Missed
                }
            }
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Met => "MET",
            Self::Missed => "MISSED",
            Self::Info => "info",
            Self::NotMeasured => "not measured",
        }
    }
}

/// One line of the goals table.
struct Goal {
    label: String,
    shown: String,
    target: String,
    verdict: Verdict,
    note: String,
}

impl Goal {
    /// A ratio goal (`value` shown with two decimals).
    fn ratio(label: impl Into<String>, value: Option<f64>, target: Target) -> Self {
        Self {
            label: label.into(),
            shown: value.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}")),
            target: match target {
                Target::AtMost(b) => format!("≤ {b}"),
                Target::AtLeast(b) => format!("≥ {b}"),
                Target::Between(low, high) => format!("{low}–{high}"),
                Target::Info => String::new(),
            },
            verdict: Verdict::of(value, target),
            note: String::new(),
        }
    }

    fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }
}

/// Pads `text` to `width` characters (not bytes: the labels contain `÷`, `≤`, `µ`).
fn pad(text: &str, width: usize) -> String {
    let mut out = text.to_owned();
    out.push_str(&" ".repeat(width.saturating_sub(text.chars().count())));
    out
}

fn left_pad(text: &str, width: usize) -> String {
    let mut out = " ".repeat(width.saturating_sub(text.chars().count()));
    out.push_str(text);
    out
}

/// Nanoseconds as a short human figure.
fn human_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn cell(value: Option<f64>, format: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "-".to_owned(), format)
}

/// The benchmarks of `benches/authenticators.rs`, in display order, with what each times.
const AUTHENTICATOR_BENCHES: &[(&str, &str)] = &[
    (
        "authenticators/floor_sha1_x6",
        "six SHA-1 compressions: one ±1 window's least",
    ),
    ("authenticators/login_1", "accepted login, 1 authenticator"),
    (
        "authenticators/login_2",
        "accepted login, 2, the first's code",
    ),
    (
        "authenticators/login_5",
        "accepted login, 5, the first's code",
    ),
    (
        "authenticators/login_5_last",
        "accepted login, 5, the last's code",
    ),
    (
        "authenticators/reject_1",
        "wrong code, 1 (decided from the loaded row)",
    ),
    (
        "authenticators/reject_5",
        "wrong code, 5 (decided from the loaded row)",
    ),
    (
        "authenticators/reject_5_held",
        "wrong code just after a login, 5 (held, then row)",
    ),
    (
        "recovery/floor_hmac_sha256",
        "one HMAC-SHA-256 of 16 bytes, keyed per call",
    ),
    ("recovery/login", "accepted recovery code"),
    ("recovery/reject", "well-formed wrong recovery code"),
];

/// The `authenticators` bench's table (into `out`) and its goals. With its summary, only
/// the estimates its run wrote are used: one older than the run's start (a benchmark that
/// run skipped, e.g. filtered out) is shown as stale and left out of the goals.
fn render_authenticators(dir: &Path, out: &mut String) -> Vec<Goal> {
    let summary = Summary::read(dir, "authenticators.json");
    let since = summary.as_ref().and_then(|s| s.get("started_at_unix"));
    // One second of slack for file times rounded down.
    let stale = |id: &str| match (since, estimate_written_at(dir, id)) {
        (Some(since), Some(at)) => at + 1.0 < since,
        _ => false,
    };
    let median = |id: &str| {
        read_estimate(dir, id)
            .map(|e| e.median)
            .filter(|_| !stale(id))
    };
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "authenticators per account and recovery codes over MemoryStore, held records, warm key \
         cache (criterion medians; {})",
        match &summary {
            Some(s) => format!(
                "summary: {} run, {}, {} accounts per case, load {} → {}",
                if s.get("quick") == Some(1.0) {
                    "quick"
                } else {
                    "full"
                },
                s.age(),
                s.get("accounts_per_population")
                    .map_or_else(|| "?".to_owned(), |v| format!("{v:.0}")),
                s.get("load_before_1min")
                    .map_or_else(|| "?".to_owned(), |v| format!("{v:.2}")),
                s.get("load_after_1min")
                    .map_or_else(|| "?".to_owned(), |v| format!("{v:.2}")),
            ),
            None => "no summary/authenticators.json: results of any run".to_owned(),
        }
    );
    let _ = writeln!(out, "{:<30} {:>10}  what", "benchmark", "median");
    for &(id, what) in AUTHENTICATOR_BENCHES {
        let shown = match read_estimate(dir, id) {
            None => "-".to_owned(),
            Some(_) if stale(id) => "stale".to_owned(),
            Some(e) => human_ns(e.median),
        };
        let _ = writeln!(out, "{id:<30} {shown:>10}  {what}");
    }
    let floor = median("authenticators/floor_sha1_x6").filter(|f| *f > 0.0);
    let login = |n: &str| median(&format!("authenticators/login_{n}"));
    let (login_1, login_2, login_5) = (login("1"), login("2"), login("5"));
    let login_5_last = login("5_last");
    let per_1_5 = login_5.zip(login_1).map(|(five, one)| (five - one) / 4.0);
    let per_1_2 = login_2.zip(login_1).map(|(two, one)| two - one);
    let _ = writeln!(
        out,
        "(each more authenticator: {} from 1 to 5 ((login_5 − login_1) ÷ 4), {} from 1 to 2; \
         its ±1 window alone is {})",
        cell(per_1_5, human_ns),
        cell(per_1_2, human_ns),
        cell(floor, human_ns),
    );
    let per_floor =
        |per: Option<f64>, what: &str| (per.zip(floor).map(|(p, f)| p / f), what.to_owned());
    let ratio = |n: Option<f64>, d: Option<f64>| n.zip(d.filter(|d| *d > 0.0)).map(|(n, d)| n / d);
    let mut goals = Vec::new();
    let (per_5_floor, formula) = per_floor(per_1_5, "(login_5 − login_1) ÷ (4 × floor_sha1_x6)");
    goals.push(
        Goal::ratio(
            "authenticators 1 → 5: each more ÷ floor",
            per_5_floor,
            Target::AtMost(4.0),
        )
        .note(format!(
            "{formula}: its ±1 window (the floor) plus its share of the record it is stored in \
             (sealed secret and label copied, encoded and under the record MAC)"
        )),
    );
    goals.push(
        Goal::ratio(
            "authenticators: step 1 → 2 ÷ average step 1 → 5",
            ratio(per_1_2, per_1_5),
            Target::Between(0.5, 2.0),
        )
        .note("linear: (login_2 − login_1) ÷ ((login_5 − login_1) ÷ 4)".to_owned()),
    );
    let position = login_5_last
        .zip(login_5)
        .filter(|(_, first)| *first > 0.0)
        .map(|(last, first)| (last - first).abs() / first);
    goals.push(Goal {
        label: "login_5: |last − first| ÷ first".to_owned(),
        shown: cell(position, |v| format!("{:.1}%", v * 100.0)),
        target: "≤ 5%".to_owned(),
        verdict: Verdict::of(position, Target::AtMost(0.05)),
        note: "position independence: the last authenticator's code costs what the first's does"
            .to_owned(),
    });
    let field = |key: &str| summary.as_ref()?.get(key);
    let (first, last) = (
        field("interleaved_login_5_first_ns"),
        field("interleaved_login_5_last_ns"),
    );
    let interleaved = last
        .zip(first)
        .filter(|(_, first)| *first > 0.0)
        .map(|(last, first)| (last - first).abs() / first);
    goals.push(Goal {
        label: "login_5: |last − first|, interleaved A/B".to_owned(),
        shown: cell(interleaved, |v| format!("{:.1}%", v * 100.0)),
        target: "≤ 5%".to_owned(),
        verdict: Verdict::of(interleaved, Target::AtMost(0.05)),
        note: match (first, last) {
            (Some(first), Some(last)) => format!(
                "the same, rounds alternating in one stretch ({} rounds): first {}, last {}",
                field("interleaved_rounds").map_or_else(|| "?".to_owned(), |v| format!("{v:.0}")),
                human_ns(first),
                human_ns(last)
            ),
            _ => String::new(),
        },
    });
    let reject_5 = median("authenticators/reject_5");
    goals.push(
        Goal::ratio(
            "reject_5 ÷ login_5",
            ratio(reject_5, login_5),
            Target::Between(0.8, 1.2),
        )
        .note("a wrong code vs an accepted one, 5 authenticators"),
    );
    goals.push(
        Goal::ratio(
            "reject_5_held ÷ login_5",
            ratio(median("authenticators/reject_5_held"), login_5),
            Target::Info,
        )
        .note("the first wrong code after a login: the held record, then the row"),
    );
    goals.push(Goal::ratio(
        "reject_1 ÷ login_1",
        ratio(median("authenticators/reject_1"), login_1),
        Target::Info,
    ));
    let recovery_login = median("recovery/login");
    goals.push(
        Goal::ratio(
            "recovery/login ÷ login_1",
            ratio(recovery_login, login_1),
            Target::Info,
        )
        .note("a recovery code (loads the row) vs a one-time code (held record)"),
    );
    goals.push(Goal::ratio(
        "recovery/reject ÷ recovery/login",
        ratio(median("recovery/reject"), recovery_login),
        Target::Info,
    ));
    goals.push(Goal::ratio(
        "recovery/login ÷ HMAC-SHA-256 floor",
        ratio(recovery_login, median("recovery/floor_hmac_sha256")),
        Target::Info,
    ));
    goals
}

fn render_goals(dir: &Path, verify_reject_ratio: Option<f64>) -> String {
    let median = |id: &str| read_estimate(dir, id).map(|e| e.median);
    let engine = Summary::read(dir, "engine.json");
    let stores = Summary::read(dir, "stores.json");
    let mut out = String::new();
    let mut goals: Vec<Goal> = Vec::new();

    // --- engine logins over populations -------------------------------------------------
    // With a summary, only the populations its run measured (older results of a population
    // that run skipped are not used); without one, whatever criterion holds.
    let measured = |label: &str| {
        engine
            .as_ref()
            .is_none_or(|s| s.get(&format!("population_{label}")).is_some())
    };
    let login = |label: &str, cache: &str| {
        if measured(label) {
            median(&format!("engine/login_{label}/{cache}"))
        } else {
            None
        }
    };
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "engine login over MemoryStore, random account of N enrolled (criterion medians; {})",
        match &engine {
            Some(s) if s.get("quick") == Some(1.0) => format!("summary: quick run, {}", s.age()),
            Some(s) => format!("summary: full run, {}", s.age()),
            None => "no summary/engine.json".to_owned(),
        }
    );
    let ratio = |v: f64| format!("{v:.2}");
    let _ = writeln!(
        out,
        "{:<6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>14}",
        "N", "warm", "warm held", "default", "cold", "cold÷warm", "cold÷warm held"
    );
    for &(label, _) in POPULATIONS {
        let [warm, held, default, cold] =
            [0, 1, 2, 3].map(|i| CACHES.get(i).and_then(|cache| login(label, cache)));
        let _ = writeln!(
            out,
            "{:<6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>14}",
            spaced(label),
            cell(warm, human_ns),
            cell(held, human_ns),
            cell(default, human_ns),
            cell(cold, human_ns),
            cell(cold.zip(warm).map(|(c, w)| c / w), ratio),
            cell(cold.zip(held).map(|(c, w)| c / w), ratio),
        );
    }
    let _ = writeln!(
        out,
        "(warm: the key cache holds all N, each login loads the row; warm held: the same with \
         held records, each account's last login 30 s before, so the engine decides from the \
         record it holds without loading; default: the default policy, capacity {}; cold: no \
         cache)",
        engine
            .as_ref()
            .and_then(|s| s.get("default_key_cache_capacity"))
            .map_or_else(|| "4096".to_owned(), |v| format!("{v:.0}"))
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<6} {:>12} {:>11} {:>16} {:>11} {:>8} {:>11} {:>8} {:>10} {:>8}",
        "N",
        "enroll N (s)",
        "accounts/s",
        "in engine µs/acc",
        "store B/acc",
        "(malloc)",
        "cache B/acc",
        "(malloc)",
        "held B/acc",
        "(malloc)"
    );
    let bytes = |v: f64| format!("{v:.0}");
    for &(label, n) in POPULATIONS {
        let field = |what: &str| engine.as_ref()?.get(&format!("{what}_{label}"));
        let wall = field("enroll_wall_seconds");
        let per_account_us = |v: f64| format!("{:.1}", v * 1e6 / n);
        let _ = writeln!(
            out,
            "{:<6} {:>12} {:>11} {:>16} {:>11} {:>8} {:>11} {:>8} {:>10} {:>8}",
            spaced(label),
            cell(wall, |v| format!("{v:.2}")),
            cell(wall, |v| format!("{:.0}", n / v)),
            cell(field("enroll_engine_seconds"), per_account_us),
            cell(field("store_bytes_per_account"), bytes),
            cell(field("store_malloc_bytes_per_account"), bytes),
            cell(field("key_cache_bytes_per_account"), bytes),
            cell(field("key_cache_malloc_bytes_per_account"), bytes),
            cell(field("key_cache_held_bytes_per_account"), bytes),
            cell(field("key_cache_held_malloc_bytes_per_account"), bytes),
        );
    }
    let _ = writeln!(
        out,
        "(enrollment: begin + confirm per account, outbox and key cache off, wall time with the \
         app's URI parsing; memory: live heap bytes requested, counted by the bench's \
         allocator, and (malloc) the glibc chunks holding them; cache: a warm key cache; held: \
         a warm key cache with held records)"
    );

    // --- enrollment and QR --------------------------------------------------------------
    let _ = writeln!(out);
    let _ = writeln!(out, "enrollment over MemoryStore (criterion medians)");
    let _ = writeln!(out, "{:<28} {:>12} {:>12}", "", "outbox on", "outbox off");
    for (name, id) in [
        ("begin", "begin"),
        ("confirm", "confirm"),
        ("begin + confirm", "begin_confirm"),
    ] {
        let _ = writeln!(
            out,
            "{:<28} {:>12} {:>12}",
            name,
            cell(median(&format!("enrollment/{id}/outbox_on")), human_ns),
            cell(median(&format!("enrollment/{id}/outbox_off")), human_ns),
        );
    }
    let _ = writeln!(out, "{:<28} {:>12} {:>12}", "QR code", "ASCII", "Japanese");
    for (name, id) in [
        ("qr()", "encode"),
        ("qr() + to_svg()", "svg"),
        ("qr() + to_png(4)", "png"),
    ] {
        let _ = writeln!(
            out,
            "{} {:>12} {:>12}",
            pad(name, 28),
            cell(median(&format!("qr/{id}/ascii")), human_ns),
            cell(median(&format!("qr/{id}/ja")), human_ns),
        );
    }

    // --- stores -------------------------------------------------------------------------
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "SQL stores: accepted logins/s versus the raw conditional UPDATE ({})",
        match &stores {
            Some(s) => format!(
                "summary/stores.json, {}; medians of {} rounds, {} s per kind",
                s.age(),
                s.get("rounds")
                    .map_or_else(|| "?".to_owned(), |v| format!("{v:.0}")),
                s.get("seconds_per_kind")
                    .map_or_else(|| "?".to_owned(), |v| format!("{v}"))
            ),
            None => "no summary/stores.json: run the stores bench".to_owned(),
        }
    );
    let _ = writeln!(
        out,
        "{:<22} {:>7} {:>11} {:>10} {:>8} {:>8} {:>7} {:>9} {:>7}",
        "store / tasks",
        "raw/s",
        "outbox off",
        "outbox on",
        "held",
        "off÷raw",
        "on÷raw",
        "held÷raw",
        "on÷off"
    );
    let store_field = |store: &str, tasks: &str, what: &str| {
        stores.as_ref()?.get(&format!("{store}.{tasks}.{what}"))
    };
    for &(store, _) in STORES {
        for &tasks in TASKS {
            let f = |what: &str| store_field(store, tasks, what);
            let rate = |v: f64| format!("{v:.0}");
            let ratio = |v: f64| format!("{v:.2}");
            let _ = writeln!(
                out,
                "{:<22} {:>7} {:>11} {:>10} {:>8} {:>8} {:>7} {:>9} {:>7}",
                format!("{store} / {tasks}"),
                cell(f("raw"), rate),
                cell(f("engine_outbox_off"), rate),
                cell(f("engine_outbox_on"), rate),
                cell(f("engine_held"), rate),
                cell(f("off_vs_raw"), ratio),
                cell(f("on_vs_raw"), ratio),
                cell(f("held_vs_raw"), ratio),
                cell(f("on_vs_off"), ratio),
            );
        }
    }
    let _ = writeln!(
        out,
        "(logins/s, all tasks together; raw: UPDATE … WHERE account = $1 AND version = $2 alone; \
         outbox off/on: default policy, load + conditional write; held: outbox on + held \
         records, the seed portal's policy, each account's last login 30 s before: no load)"
    );
    let pg_note = match stores
        .as_ref()
        .map(|s| (s.get("postgres.measured"), s.get("postgres.fsync_on")))
    {
        Some((Some(m), _)) if m < 0.5 => "PostgreSQL SKIPPED (TOTP_ENROLL_PG_URL was not set)",
        Some((_, Some(f))) if f < 0.5 => {
            "PostgreSQL ran with fsync = off: not durable, not comparable (PG_FSYNC=on)"
        }
        Some((_, Some(_))) => "PostgreSQL with fsync = on",
        _ => "",
    };
    if !pg_note.is_empty() {
        let _ = writeln!(out, "({pg_note})");
    }

    // --- authenticators and recovery codes -----------------------------------------------
    let authenticator_goals = render_authenticators(dir, &mut out);

    // --- goals --------------------------------------------------------------------------
    goals.push(Goal::ratio(
        "verify/reject ÷ six SHA-1 compressions",
        verify_reject_ratio,
        Target::AtMost(1.15),
    ));
    let quick = engine.as_ref().is_some_and(|s| s.get("quick") == Some(1.0));
    let big = login("1M", "default");
    let small = login("1k", "default");
    goals.push(
        Goal::ratio(
            "engine login 1 M ÷ 1 k (default cache)",
            big.zip(small).map(|(b, s)| b / s),
            Target::AtMost(2.0),
        )
        .note(if big.is_none() && quick {
            "quick run: 1 M not built"
        } else {
            ""
        }),
    );
    if big.is_none() {
        goals.push(Goal::ratio(
            "engine login 100 k ÷ 1 k (default cache)",
            login("100k", "default").zip(small).map(|(b, s)| b / s),
            Target::Info,
        ));
    }
    for &(label, _) in POPULATIONS {
        let (warm, cold) = (login(label, "warm"), login(label, "cold"));
        if warm.is_none() && cold.is_none() && label == "1M" && quick {
            goals.push(
                Goal::ratio("engine login cold ÷ warm, 1 M", None, Target::AtMost(2.0))
                    .note("quick run: 1 M not built"),
            );
            continue;
        }
        goals.push(Goal::ratio(
            format!("engine login cold ÷ warm, {}", spaced(label)),
            cold.zip(warm).map(|(c, w)| c / w),
            Target::AtMost(2.0),
        ));
    }
    if let Some(&(label, _)) = POPULATIONS
        .iter()
        .rev()
        .find(|(label, _)| login(label, "warm_held").is_some())
    {
        goals.push(Goal::ratio(
            format!("engine login cold ÷ warm held, {}", spaced(label)),
            login(label, "cold")
                .zip(login(label, "warm_held"))
                .map(|(c, w)| c / w),
            Target::Info,
        ));
    }
    let begin_confirm = median("enrollment/begin_confirm/outbox_on");
    goals.push(Goal {
        label: "begin + confirm (outbox on)".to_owned(),
        shown: cell(begin_confirm, human_ns),
        target: "≤ 100 µs".to_owned(),
        verdict: Verdict::of(begin_confirm, Target::AtMost(100_000.0)),
        note: cell(median("enrollment/begin_confirm/outbox_off"), |v| {
            format!("outbox off {}", human_ns(v))
        }),
    });
    let measured_1m = engine
        .as_ref()
        .and_then(|s| s.get("enroll_wall_seconds_1M"));
    let (enroll_1m, enroll_note) = match measured_1m {
        Some(wall) => (
            Some(wall),
            format!(
                "measured (1 M begin + confirm, outbox off, wall; in the engine's calls {})",
                engine
                    .as_ref()
                    .and_then(|s| s.get("enroll_engine_seconds_1M"))
                    .map_or_else(|| "-".to_owned(), |v| format!("{v:.1} s"))
            ),
        ),
        None => match median("enrollment/begin_confirm/outbox_off") {
            Some(ns) => (
                Some(ns * 1e6 / 1e9),
                "EXTRAPOLATED: 10^6 × enrollment/begin_confirm/outbox_off median (1 M not built)"
                    .to_owned(),
            ),
            None => (None, String::new()),
        },
    };
    goals.push(Goal {
        label: "enrolling 1 M accounts".to_owned(),
        shown: cell(enroll_1m, |v| format!("{v:.1} s")),
        target: "< 60 s".to_owned(),
        verdict: Verdict::of(enroll_1m, Target::AtMost(60.0)),
        note: enroll_note,
    });
    for &(store, name) in STORES {
        for &tasks in TASKS {
            let task_word = if tasks == "1" { "task" } else { "tasks" };
            goals.push(
                Goal::ratio(
                    format!("{name} engine ÷ raw UPDATE, {tasks} {task_word}"),
                    store_field(store, tasks, "on_vs_raw"),
                    Target::AtLeast(0.9),
                )
                .note(cell(store_field(store, tasks, "off_vs_raw"), |v| {
                    format!("default policy, outbox on (outbox off {v:.2})")
                })),
            );
            goals.push(
                Goal::ratio(
                    format!("{name} held engine ÷ raw, {tasks} {task_word}"),
                    store_field(store, tasks, "held_vs_raw"),
                    Target::AtLeast(0.9),
                )
                .note("outbox on + held records (portal policy), best case"),
            );
        }
    }
    for &(store, name) in STORES {
        for &tasks in TASKS {
            let task_word = if tasks == "1" { "task" } else { "tasks" };
            goals.push(Goal::ratio(
                format!("{name} outbox on ÷ off, {tasks} {task_word}"),
                store_field(store, tasks, "on_vs_off"),
                Target::Info,
            ));
        }
    }
    let memory_label = POPULATIONS
        .iter()
        .rev()
        .find(|(label, _)| {
            engine
                .as_ref()
                .and_then(|s| s.get(&format!("store_bytes_per_account_{label}")))
                .is_some()
        })
        .map(|(label, _)| *label);
    let memory = |what: &str| {
        let label = memory_label?;
        engine.as_ref()?.get(&format!("{what}_{label}"))
    };
    goals.push(Goal {
        label: "memory per enrolled account".to_owned(),
        shown: cell(memory("store_bytes_per_account"), |v| format!("{v:.0} B")),
        target: String::new(),
        verdict: if memory("store_bytes_per_account").is_some() {
            Verdict::Info
        } else {
            Verdict::NotMeasured
        },
        note: match memory_label {
            Some(label) => {
                let b = |what: &str| cell(memory(what), |v| format!("{v:.0}"));
                format!(
                    "MemoryStore live heap at {} ({} B as malloc chunks); a warm key cache adds \
                     {} B ({} B), with held records {} B ({} B)",
                    spaced(label),
                    b("store_malloc_bytes_per_account"),
                    b("key_cache_bytes_per_account"),
                    b("key_cache_malloc_bytes_per_account"),
                    b("key_cache_held_bytes_per_account"),
                    b("key_cache_held_malloc_bytes_per_account"),
                )
            }
            None => String::new(),
        },
    });
    goals.extend(authenticator_goals);

    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{} {}  {} {:<12} note",
        pad("goal (issue 9)", 44),
        left_pad("value", 9),
        pad("target", 9),
        "verdict"
    );
    let _ = writeln!(
        out,
        "{:-<44} {:->9}  {:-<9} {:-<12} {:-<4}",
        "", "", "", "", ""
    );
    let (mut met, mut missed, mut unmeasured) = (0u32, 0u32, 0u32);
    for goal in &goals {
        match goal.verdict {
            Verdict::Met => met = met.saturating_add(1),
            Verdict::Missed => missed = missed.saturating_add(1),
            Verdict::NotMeasured if !goal.target.is_empty() => {
                unmeasured = unmeasured.saturating_add(1);
            }
            _ => {}
        }
        let line = format!(
            "{} {}  {} {:<12} {}",
            pad(&goal.label, 44),
            left_pad(&goal.shown, 9),
            pad(&goal.target, 9),
            goal.verdict.word(),
            goal.note
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "goals: {met} MET, {missed} MISSED, {unmeasured} not measured"
    );
    out
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
mod tests {
    use super::{Target, Verdict, flat_numbers, point_estimate, spaced};

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
