//! Prints one table from the criterion results of `cargo bench --bench verify`.
//!
//! Reads `<criterion dir>/<group>/<id>/new/estimates.json` for every benchmark of
//! `benches/verify.rs` (and `engine/verify`, when someone has measured it), prints each median in
//! nanoseconds, then the ratios that matter, each marked PASS or MISS against its target.
//!
//! The criterion directory is, as criterion itself chooses it: `$CRITERION_HOME`, else
//! `$CARGO_TARGET_DIR/criterion`, else `./target/criterion`, else this crate's `target/criterion`.
//!
//! A missed target still exits 0 (this is a report); no results at all exits 1.
//!
//! ```text
//! cargo bench --bench verify && cargo run --release --example bench_report
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

/// A ratio target: the value must be at most, or at least, the bound.
#[derive(Clone, Copy)]
enum Target {
    AtMost(f64),
    AtLeast(f64),
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

fn read_estimate(dir: &Path, id: &str) -> Option<Estimate> {
    let mut path = dir.to_path_buf();
    // Criterion makes each segment of an id filename-safe; ours are already plain.
    path.extend(id.split('/'));
    path.extend(["new", "estimates.json"]);
    let json = fs::read_to_string(&path).ok()?;
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

fn main() -> ExitCode {
    let dir = criterion_dir();
    let found: Vec<(&str, Option<Estimate>)> = BENCHES
        .iter()
        .map(|id| (*id, read_estimate(&dir, id)))
        .collect();
    if found.iter().all(|(_, e)| e.is_none()) {
        let _ = writeln!(
            io::stderr(),
            "bench_report: no criterion results under {} \
             (run `cargo bench --bench verify` first, or set CRITERION_HOME / CARGO_TARGET_DIR)",
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    let report = render(&dir, &found);
    let mut stdout = io::stdout().lock();
    if stdout.write_all(report.as_bytes()).is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::point_estimate;

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
}
