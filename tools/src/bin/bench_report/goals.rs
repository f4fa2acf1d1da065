//! The performance goals, each MET or MISSED against its floor or baseline of the same run.

use std::fmt::Write as _;
use std::path::Path;

use crate::{authenticators::*, estimates::*, format::*, verify_report::*};

/// The populations of `engine/login_*`, as the bench labels them.
pub(crate) const POPULATIONS: &[(&str, f64)] = &[("1k", 1e3), ("100k", 1e5), ("1M", 1e6)];

/// The key cache configurations of `engine/login_*`.
pub(crate) const CACHES: &[&str] = &["warm", "warm_held", "default", "cold"];

/// The stores and task counts of the `stores` bench.
pub(crate) const STORES: &[(&str, &str)] =
    &[("sqlite-file-wal", "SQLite"), ("postgres", "PostgreSQL")];

pub(crate) const TASKS: &[&str] = &["1", "8"];

/// A goal's verdict.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Met,
    Missed,
    Info,
    NotMeasured,
}

impl Verdict {
    pub(crate) fn of(value: Option<f64>, target: Target) -> Self {
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

    pub(crate) fn word(self) -> &'static str {
        match self {
            Self::Met => "MET",
            Self::Missed => "MISSED",
            Self::Info => "info",
            Self::NotMeasured => "not measured",
        }
    }
}

/// One line of the goals table.
pub(crate) struct Goal {
    pub(crate) label: String,
    pub(crate) shown: String,
    pub(crate) target: String,
    pub(crate) verdict: Verdict,
    pub(crate) note: String,
}

impl Goal {
    /// A ratio goal (`value` shown with two decimals).
    pub(crate) fn ratio(label: impl Into<String>, value: Option<f64>, target: Target) -> Self {
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

    pub(crate) fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }
}

pub(crate) fn render_goals(dir: &Path, verify_reject_ratio: Option<f64>) -> String {
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
