//! The first table: every known benchmark's median, then the ratios against their targets.

use std::fmt::Write as _;
use std::path::Path;

use crate::{estimates::*, format::*};

/// Every benchmark id the report knows, in display order.
pub(crate) const BENCHES: &[&str] = &[
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
    "seal/floor",
    "seal/open",
    "seal/seal",
    "seal/open_format_3",
];

/// A ratio target: the value must be at most, or at least, the bound, or within the
/// bounds (inclusive).
#[derive(Clone, Copy)]
pub(crate) enum Target {
    AtMost(f64),
    AtLeast(f64),
    Between(f64, f64),
    Info,
}

/// One line of the ratio table: `numerator ÷ denominator`, or the relative gap
/// `|numerator − denominator| / denominator` when `gap` is set.
pub(crate) struct Ratio {
    pub(crate) label: &'static str,
    pub(crate) numerator: &'static str,
    pub(crate) denominator: &'static str,
    pub(crate) gap: bool,
    pub(crate) target: Target,
}

pub(crate) const RATIOS: &[Ratio] = &[
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
    Ratio {
        label: "seal/open ÷ seal floor",
        numerator: "seal/open",
        denominator: "seal/floor",
        gap: false,
        target: Target::AtMost(1.6),
    },
    Ratio {
        label: "format-3 open (this build) ÷ seal/open",
        numerator: "seal/open_format_3",
        denominator: "seal/open",
        gap: false,
        target: Target::Info,
    },
];

pub(crate) fn render(dir: &Path, found: &[(&str, Option<Estimate>)]) -> String {
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
