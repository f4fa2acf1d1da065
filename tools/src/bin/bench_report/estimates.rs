//! The estimates criterion wrote for each benchmark, and the benches' summaries.

use std::fs;
use std::path::{Path, PathBuf};

use crate::json::*;

/// A benchmark's estimates in nanoseconds.
#[derive(Clone, Copy)]
pub(crate) struct Estimate {
    pub(crate) median: f64,
    pub(crate) mean: Option<f64>,
}

/// `<criterion dir>/<id>/new/estimates.json`.
pub(crate) fn estimate_path(dir: &Path, id: &str) -> PathBuf {
    let mut path = dir.to_path_buf();
    // Criterion makes each segment of an id filename-safe; ours are already plain.
    path.extend(id.split('/'));
    path.extend(["new", "estimates.json"]);
    path
}

/// When the estimates of `id` were written (Unix seconds).
pub(crate) fn estimate_written_at(dir: &Path, id: &str) -> Option<f64> {
    let modified = fs::metadata(estimate_path(dir, id)).ok()?.modified().ok()?;
    modified
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs_f64())
}

pub(crate) fn read_estimate(dir: &Path, id: &str) -> Option<Estimate> {
    let json = fs::read_to_string(estimate_path(dir, id)).ok()?;
    let mean = point_estimate(&json, "mean");
    let median = point_estimate(&json, "median").or(mean)?;
    Some(Estimate { median, mean })
}

/// A bench's summary file, `<criterion dir>/summary/<name>`.
pub(crate) struct Summary {
    pub(crate) fields: Vec<(String, f64)>,
}

impl Summary {
    pub(crate) fn read(dir: &Path, name: &str) -> Option<Self> {
        let json = fs::read_to_string(dir.join("summary").join(name)).ok()?;
        flat_numbers(&json).map(|fields| Self { fields })
    }

    pub(crate) fn get(&self, key: &str) -> Option<f64> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
            .filter(|v| v.is_finite() && *v >= 0.0)
    }

    /// "written N min ago", from the `written_at_unix` field.
    pub(crate) fn age(&self) -> String {
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
