//! The `authenticators` bench: several authenticators per account, recovery codes.

use std::fmt::Write as _;
use std::path::Path;

use crate::{estimates::*, format::*, goals::*, verify_report::*};

/// The benchmarks of `benches/authenticators.rs`, in display order, with what each times.
pub(crate) const AUTHENTICATOR_BENCHES: &[(&str, &str)] = &[
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
pub(crate) fn render_authenticators(dir: &Path, out: &mut String) -> Vec<Goal> {
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
