//! The one rule for the PostgreSQL test suites: the server comes from `TOTP_ENROLL_PG_URL`;
//! without it a suite says plainly (once) that it was skipped and passes, except under
//! `CI=true`, where a missing server is a failure.
#![allow(dead_code, unreachable_pub)]

use std::io::Write as _;
use std::sync::Once;

/// Writes straight to the process's stderr, past libtest's output capture, so a skip
/// notice is seen in a plain `cargo test`.
pub fn note(message: &str) {
    let _ = writeln!(std::io::stderr(), "\n{message}\n");
}

/// The PostgreSQL URL for `suite` (e.g. "store tests"), or `None` after printing once that
/// the suite is skipped. Panics under CI when it is missing.
pub fn pg_url(suite: &str) -> Option<String> {
    static NOTICE: Once = Once::new();
    match std::env::var("TOTP_ENROLL_PG_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => panic!(
            "CI is set but TOTP_ENROLL_PG_URL is not: the PostgreSQL {suite} must run in CI. \
             Start a throwaway server first: `source .ci/postgres.sh && pg_start`"
        ),
        _ => {
            NOTICE.call_once(|| {
                note(&format!(
                    "NOTE: PostgreSQL {suite} SKIPPED (they pass without checking anything): \
                     TOTP_ENROLL_PG_URL is not set.\n      Run them with: \
                     TOTP_ENROLL_PG_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test --all-features\n      \
                     (a throwaway server: `source .ci/postgres.sh && pg_start`, then `pg_stop`)"
                ));
            });
            None
        }
    }
}
