//! Runs the `totp_cli` example as a process, for the CLI suites (tests/cli.rs,
//! tests/cli_keygen.rs).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The example binary, built once per test run.
///
/// It is always (re)built with `cargo build --example totp_cli` and this test's features:
/// a binary merely found in `target/…/examples` may be stale or built without `png`. When
/// it is up to date, the build is a no-op.
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        // target/<profile>/deps/<test>-<hash>
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "-p", "totp-enroll", "--example", "totp_cli"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if cfg!(feature = "png") {
            build.args(["--features", "png"]);
        }
        if profile_dir
            .file_name()
            .is_some_and(|name| name == "release")
        {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "cargo build --example totp_cli failed");
        let path = profile_dir
            .join("examples")
            .join(format!("totp_cli{}", std::env::consts::EXE_SUFFIX));
        assert!(path.is_file(), "no example binary at {}", path.display());
        path
    })
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
    std::env::temp_dir().join(format!("totp_cli-{}-{nanos}-{name}", std::process::id()))
}

/// The CLI's rule for a refused command line: exit status 2, nothing on stdout, one line on
/// stderr starting `totp_cli: error: `.
pub fn assert_refused_with_one_error_line(args: &[&str]) {
    let output = cli(args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(stdout(&output), "", "{args:?}");
    assert_eq!(err.matches('\n').count(), 1, "{args:?}: one line: {err:?}");
    assert!(err.starts_with("totp_cli: error: "), "{args:?}: {err:?}");
}
