//! Widths, units and labels of the tables.

use std::fs;

/// Pads `text` to `width` characters (not bytes: the labels contain `÷`, `≤`, `µ`).
pub(crate) fn pad(text: &str, width: usize) -> String {
    let mut out = text.to_owned();
    out.push_str(&" ".repeat(width.saturating_sub(text.chars().count())));
    out
}

pub(crate) fn left_pad(text: &str, width: usize) -> String {
    let mut out = " ".repeat(width.saturating_sub(text.chars().count()));
    out.push_str(text);
    out
}

/// Nanoseconds as a short human figure.
pub(crate) fn human_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

pub(crate) fn cell(value: Option<f64>, format: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "-".to_owned(), format)
}

/// A population's label as the report writes it.
pub(crate) fn spaced(label: &str) -> String {
    match label.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => format!(
            "{} {}",
            label.get(..at).unwrap_or(label),
            label.get(at..).unwrap_or("")
        ),
        None => label.to_owned(),
    }
}

pub(crate) fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| {
            let fields: Vec<&str> = l.split_whitespace().take(3).collect();
            (fields.len() == 3).then(|| fields.join(" "))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}
