//! Runs the `totp-enroll` binary (feature `cli`) as a process, for the CLI suites
//! (tests/cli.rs, tests/cli_keygen.rs).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary, built by cargo with these tests: the crate's dev-dependency on itself
/// enables `cli`, so plain `cargo test` builds it (with these tests' features).
pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_totp-enroll"))
}

pub fn cli(args: &[&str]) -> Output {
    Command::new(binary()).args(args).output().unwrap()
}

pub fn cli_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// A unique path in the temporary directory; removed by the test that uses it.
pub fn temp_path(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "totp-enroll-cli-{}-{nanos}-{name}",
        std::process::id()
    ))
}

/// The CLI's rule for a refused command line: exit status 2, nothing on stdout, one line on
/// stderr starting `totp-enroll: error: `.
pub fn assert_refused_with_one_error_line(args: &[&str]) {
    let output = cli(args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(stdout(&output), "", "{args:?}");
    assert_eq!(err.matches('\n').count(), 1, "{args:?}: one line: {err:?}");
    assert!(err.starts_with("totp-enroll: error: "), "{args:?}: {err:?}");
}
