//! What the custom-summary benches (`engine`, `enrollment`, `stores`) share: the quick mode,
//! the load average for the log, and the flat JSON summaries `bench_report` reads from
//! criterion's directory. Included by each with `#[path = "support/mod.rs"] mod support;`.
#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;
use std::path::PathBuf;

/// `TOTP_ENROLL_BENCH_QUICK=1`: smaller populations and shorter measurements.
pub fn quick_mode() -> bool {
    std::env::var("TOTP_ENROLL_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The 1-minute load average, so a noisy run can be recognised in the log.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map_or_else(|_| "unknown".to_owned(), |l| l.trim().to_owned())
}

/// Criterion's output directory, chosen as criterion chooses it (this package is the
/// workspace root, so its target dir is the workspace's).
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("criterion")
}

/// A flat JSON object of numbers, written by hand (no serde in the benches).
#[derive(Default)]
pub struct Summary {
    fields: Vec<(String, f64)>,
}

impl Summary {
    /// Sets `key` (replacing an earlier value).
    pub fn set(&mut self, key: impl Into<String>, value: f64) {
        let key = key.into();
        self.fields.retain(|(k, _)| *k != key);
        self.fields.push((key, value));
    }

    /// Writes `<criterion dir>/summary/<name>`; `bench` names the writer in its messages.
    pub fn write(&self, bench: &str, name: &str) {
        let dir = criterion_dir().join("summary");
        let mut json = String::from("{\n");
        for (i, (key, value)) in self.fields.iter().enumerate() {
            let comma = if i + 1 == self.fields.len() { "" } else { "," };
            let value = if value.is_finite() { *value } else { -1.0 };
            let _ = writeln!(json, "  \"{key}\": {value}{comma}");
        }
        json.push_str("}\n");
        let path = dir.join(name);
        match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, json)) {
            Ok(()) => println!("{bench}: summary written to {}", path.display()),
            Err(e) => eprintln!("{bench}: could not write {}: {e}", path.display()),
        }
    }
}
