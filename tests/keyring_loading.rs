//! Loading a key ring from an environment variable or a key file, as rules: the ring
//! loaded is the ring written; a key file its group or others may access is refused unread,
//! with its mode; a symbolic link is judged by the file it leads to; sizes are bounded;
//! every refusal is typed and names the variable or the file, never a key.
//!
//! The environment is never changed in this process (`std::env::set_var` races with other
//! threads): a test that needs a variable set runs `KeyRing::from_env` in a child process,
//! this test binary re-executed (`current_exe() child_process --exact`) with the variable
//! in the child's environment and `KEYRING_LOADING_CALL` saying what to call; the child
//! prints one `KEYRING_LOADING_RESULT …` line, which the parent reads.
//!
//! Unix only: modes, symbolic links and FIFOs are what it is about.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use totp_enroll::{
    KeyRing,
    error::{KeyRingLoadError, KeyRingTextError},
};

/// Bytes 0..32 and 32..64, in standard padded base64.
const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const K2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// The ring of K1 (retired) and K2 (current), one line.
fn one_line() -> String {
    format!("totp-enroll-keys/v1; current=2; 1={K1}; 2={K2}")
}

/// The same ring as a file: one entry per line, comments.
fn file_form() -> String {
    format!(
        "# sealing keys (mode 0600)\ntotp-enroll-keys/v1\ncurrent = 2\n1={K1}   # retired\n2={K2}\n"
    )
}

/// No six characters of either key appear in `text` (a Display or a Debug).
fn assert_no_key(text: &str) {
    for key in [K1, K2] {
        for fragment in key.as_bytes().windows(6) {
            let fragment = std::str::from_utf8(fragment).unwrap();
            assert!(!text.contains(fragment), "{text:?} holds {fragment:?}");
        }
    }
}

/// The error's Display and Debug, both checked to hold no key.
fn shown(error: &KeyRingLoadError) -> String {
    let display = error.to_string();
    assert_no_key(&display);
    assert_no_key(&format!("{error:?}"));
    display
}

// ---------------------------------------------------------------------------------------
// Files.

/// A directory of its own for one test, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("keyring-loading-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    /// Writes `contents` to the file `name` and gives it `mode`.
    fn file(&self, name: &str, contents: impl AsRef<[u8]>, mode: u32) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        set_mode(&path, mode);
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn refused_file(path: &Path) -> KeyRingLoadError {
    match KeyRing::from_file(path) {
        Ok(keys) => panic!("{} was loaded: {keys:?}", path.display()),
        Err(error) => error,
    }
}

#[test]
fn a_file_of_mode_0600_or_0400_loads_the_ring_written() {
    let dir = Dir::new("modes");
    let expected = KeyRing::from_text(&one_line()).unwrap().export_text();
    for (name, contents, mode) in [
        ("one-line", one_line(), 0o600),
        ("file-form", file_form(), 0o600),
        ("read-only", file_form(), 0o400),
    ] {
        let path = dir.file(name, contents, mode);
        let keys = KeyRing::from_file(&path).unwrap();
        assert_eq!(*keys.export_text(), *expected, "{name}");
        assert_eq!(keys.current_key_id(), 2);
        assert_eq!(keys.key_ids(), [1, 2]);
    }
}

#[test]
fn a_file_its_group_or_others_may_access_is_refused_unread_with_its_mode() {
    let dir = Dir::new("permissions");
    // Not a key ring: a file that was read would be refused as malformed text instead.
    for mode in [
        0o640,
        0o604,
        0o666,
        0o620,
        0o602,
        0o610,
        0o601,
        0o644,
        0o700 | 0o070,
    ] {
        let path = dir.file(&format!("keys-{mode:o}"), "not a key ring", mode);
        let error = refused_file(&path);
        assert!(
            matches!(&error, KeyRingLoadError::Permissions { path: p, mode: m }
                if p == &path && *m == mode),
            "{mode:o}: {error:?}"
        );
        let message = shown(&error);
        for expected in [format!("{mode:04o}"), "chmod 600".to_owned()] {
            assert!(message.contains(&expected), "{message} lacks {expected}");
        }
        assert!(message.contains(path.to_str().unwrap()), "{message}");
    }
    // The same file, made the owner's: now it is read (and refused as text).
    let path = dir.file("keys-now-private", "not a key ring", 0o600);
    assert!(matches!(refused_file(&path), KeyRingLoadError::Text { .. }));
}

#[test]
fn a_symbolic_link_is_judged_by_the_file_it_leads_to() {
    use std::os::unix::fs::symlink;
    let dir = Dir::new("symlinks");
    // Kubernetes mounts a secret as a link into a directory of its own.
    let private = dir.file("private", file_form(), 0o600);
    let readable = dir.file("readable", file_form(), 0o644);
    let to_private = dir.0.join("to-private");
    let to_readable = dir.0.join("to-readable");
    let dangling = dir.0.join("dangling");
    symlink(&private, &to_private).unwrap();
    symlink(&readable, &to_readable).unwrap();
    symlink(dir.0.join("nowhere"), &dangling).unwrap();

    // The link's own mode (0777) does not matter, its target's does.
    assert_eq!(KeyRing::from_file(&to_private).unwrap().current_key_id(), 2);
    let error = refused_file(&to_readable);
    assert!(
        matches!(&error, KeyRingLoadError::Permissions { path, mode: 0o644 } if path == &to_readable),
        "{error:?}"
    );
    assert!(shown(&error).contains("0644"));
    let error = refused_file(&dangling);
    assert!(
        matches!(&error, KeyRingLoadError::NotFound { path } if path == &dangling),
        "{error:?}"
    );
}

#[test]
fn a_missing_file_is_not_found_naming_the_path() {
    let dir = Dir::new("missing");
    let path = dir.0.join("sealing-keys.txt");
    let error = refused_file(&path);
    assert!(
        matches!(&error, KeyRingLoadError::NotFound { path: p } if p == &path),
        "{error:?}"
    );
    assert!(shown(&error).contains(path.to_str().unwrap()));
}

#[test]
fn a_file_longer_than_the_longest_text_is_refused_unread() {
    let dir = Dir::new("size");
    let max = KeyRing::MAX_TEXT_BYTES;
    // Exactly the limit: a ring and a comment that fills it.
    let mut at_limit = file_form();
    at_limit.push('#');
    at_limit.push_str(&"x".repeat(max - at_limit.len()));
    assert_eq!(at_limit.len(), max);
    let path = dir.file("at-limit", &at_limit, 0o600);
    assert_eq!(KeyRing::from_file(&path).unwrap().current_key_id(), 2);

    // One byte more; and a large file of which no more than the limit could be read.
    for (name, len) in [("one-more", max + 1), ("large", 1024 * 1024)] {
        let mut text = at_limit.clone().into_bytes();
        text.resize(len, b'x');
        let path = dir.file(name, &text, 0o600);
        let error = refused_file(&path);
        assert!(
            matches!(&error, KeyRingLoadError::TooLarge { max: m, .. } if *m == max),
            "{name}: {error:?}"
        );
        assert!(shown(&error).contains(&max.to_string()));
    }
}

#[test]
fn only_a_regular_file_is_a_key_file() {
    let dir = Dir::new("types");
    let directory = dir.0.join("a-directory");
    std::fs::create_dir(&directory).unwrap();
    set_mode(&directory, 0o700);
    let fifo = dir.0.join("a-fifo");
    let made = Command::new("mkfifo")
        .args(["-m", "600"])
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo");
    // A FIFO without a writer would block an open: it is refused before.
    for path in [&directory, &fifo, &PathBuf::from("/dev/null")] {
        let error = refused_file(path);
        assert!(
            matches!(&error, KeyRingLoadError::NotAFile { path: p } if p == path),
            "{}: {error:?}",
            path.display()
        );
        assert!(shown(&error).contains("not a regular file"));
    }
}

#[test]
fn a_file_that_is_not_utf8_or_not_a_key_ring_is_refused_naming_the_file_and_the_entry() {
    let dir = Dir::new("text");
    let mut latin1 = file_form().into_bytes();
    latin1.extend_from_slice(b"# r\xe9serv\xe9\n");
    let path = dir.file("latin1", &latin1, 0o600);
    let error = refused_file(&path);
    assert!(
        matches!(&error, KeyRingLoadError::NotUtf8 { path: p } if p == &path),
        "{error:?}"
    );
    shown(&error);

    let truncated = format!("totp-enroll-keys/v1\ncurrent=1\n1={K1}\n2={}\n", &K2[..40]);
    let path = dir.file("truncated", &truncated, 0o600);
    let error = refused_file(&path);
    assert!(
        matches!(
            &error,
            KeyRingLoadError::Text {
                error: KeyRingTextError::KeyLength {
                    entry: 4,
                    line: 4,
                    ..
                },
                ..
            }
        ),
        "{error:?}"
    );
    let message = shown(&error);
    assert!(message.contains(path.to_str().unwrap()), "{message}");
    assert!(message.contains("entry 4 (line 4)"), "{message}");
    assert!(
        std::error::Error::source(&error).is_some(),
        "the text error"
    );

    let path = dir.file("empty", "", 0o600);
    assert!(matches!(
        refused_file(&path),
        KeyRingLoadError::Text {
            error: KeyRingTextError::Empty,
            ..
        }
    ));
}

// ---------------------------------------------------------------------------------------
// Environment variables, read in a child process.

/// The child's instruction: `from_env VAR` or `from_env_or_file VAR FILE_VAR`.
const CALL: &str = "KEYRING_LOADING_CALL";
/// The child's answer: `ok <export_text>` or `err <Debug>\t<Display>`.
const RESULT: &str = "KEYRING_LOADING_RESULT";

/// What a child's call returned.
#[derive(Debug)]
enum Answer {
    /// The ring's `export_text`.
    Loaded(String),
    /// The error's Debug and Display.
    Refused { debug: String, display: String },
}

impl Answer {
    fn loaded(self) -> String {
        match self {
            Self::Loaded(text) => text,
            Self::Refused { display, .. } => panic!("refused: {display}"),
        }
    }

    /// The Debug and the Display of the error, checked to hold no key.
    fn refused(self) -> (String, String) {
        match self {
            Self::Loaded(text) => panic!("loaded: {text}"),
            Self::Refused { debug, display } => {
                assert_no_key(&debug);
                assert_no_key(&display);
                (debug, display)
            }
        }
    }
}

/// Runs `call` (see [`CALL`]) in a child process whose environment has `vars` (and none
/// of the variables the call names otherwise).
fn in_child(call: &[&str], vars: &[(&str, &OsStr)]) -> Answer {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CALL, call.join(" "));
    for name in &call[1..] {
        command.env_remove(name);
    }
    command.envs(vars.iter().copied());
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix(RESULT))
        .unwrap_or_else(|| {
            panic!(
                "the child answered nothing ({}):\n{stdout}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        });
    assert!(output.status.success());
    match line.trim_start().split_once(' ') {
        Some(("ok", text)) => Answer::Loaded(text.to_owned()),
        Some(("err", rest)) => {
            let (debug, display) = rest.split_once('\t').unwrap();
            Answer::Refused {
                debug: debug.to_owned(),
                display: display.to_owned(),
            }
        }
        _ => panic!("{line}"),
    }
}

/// The child's side: does nothing unless `KEYRING_LOADING_CALL` is set (in a child of
/// [`in_child`]).
#[test]
fn child_process() {
    let Ok(call) = std::env::var(CALL) else {
        return;
    };
    let words: Vec<&str> = call.split(' ').collect();
    let result = match words[..] {
        ["from_env", var] => KeyRing::from_env(var),
        ["from_env_or_file", var, file_var] => KeyRing::from_env_or_file(var, file_var),
        _ => panic!("unknown call {call}"),
    };
    match result {
        Ok(keys) => println!("\n{RESULT} ok {}", keys.export_text().as_str()),
        Err(error) => println!("\n{RESULT} err {error:?}\t{error}"),
    }
}

#[test]
fn from_env_loads_the_ring_the_variable_holds_as_the_file_does() {
    let dir = Dir::new("env-and-file");
    let path = dir.file("keys", file_form(), 0o600);
    let from_file = KeyRing::from_file(&path).unwrap().export_text();
    for text in [one_line(), file_form()] {
        let from_env = in_child(
            &["from_env", "KEYRING_LOADING_RING"],
            &[("KEYRING_LOADING_RING", OsStr::new(&text))],
        )
        .loaded();
        assert_eq!(from_env, *from_file);
    }
}

#[test]
fn from_env_of_an_unset_variable_names_it() {
    // In this process: nothing is set, only read.
    let var = "KEYRING_LOADING_NEVER_SET_8F3A";
    let error = KeyRing::from_env(var).unwrap_err();
    assert!(
        matches!(&error, KeyRingLoadError::NotSet { var: v } if v == var),
        "{error:?}"
    );
    assert!(shown(&error).contains(var));
    // The same in a child, whose environment surely lacks it.
    let (debug, display) = in_child(&["from_env", "KEYRING_LOADING_UNSET"], &[]).refused();
    assert!(debug.starts_with("NotSet"), "{debug}");
    assert!(display.contains("KEYRING_LOADING_UNSET"), "{display}");
}

#[test]
fn from_env_refuses_a_malformed_ring_naming_the_variable_and_the_entry_never_the_key() {
    let var = "KEYRING_LOADING_MALFORMED";
    for (text, entry) in [
        (
            format!("totp-enroll-keys/v1; current=2; 1={K1}; 2={}", &K2[..40]),
            "entry 4 (line 1)",
        ),
        (format!("{K1}; {K2}"), "entry 1 (line 1)"),
        (
            format!("totp-enroll-keys/v1; current=2; 1={K1}; 2={K2}; 1={K2}"),
            "entry 5 (line 1)",
        ),
    ] {
        let (debug, display) = in_child(&["from_env", var], &[(var, OsStr::new(&text))]).refused();
        assert!(debug.starts_with("Text"), "{debug}");
        assert!(display.contains(var), "{display}");
        assert!(display.contains(entry), "{display} lacks {entry}");
    }
    let (debug, _) = in_child(&["from_env", var], &[(var, OsStr::new(""))]).refused();
    assert!(
        debug.contains("Empty"),
        "an empty variable holds no ring: {debug}"
    );
}

#[test]
fn from_env_refuses_a_value_that_is_not_unicode() {
    use std::os::unix::ffi::OsStrExt as _;
    let var = "KEYRING_LOADING_NOT_UNICODE";
    let mut value = one_line().into_bytes();
    value.push(0xff);
    let (debug, display) =
        in_child(&["from_env", var], &[(var, OsStr::from_bytes(&value))]).refused();
    assert!(debug.starts_with("NotUnicode"), "{debug}");
    assert!(display.contains(var), "{display}");
}

#[test]
fn from_env_or_file_takes_the_variable_or_the_file_and_never_guesses_between_both() {
    let (var, file_var) = ("KEYRING_LOADING_KEYS", "KEYRING_LOADING_KEYS_FILE");
    let call = ["from_env_or_file", var, file_var];
    let dir = Dir::new("env-or-file");
    let private = dir.file("keys", file_form(), 0o600);
    let readable = dir.file("readable", file_form(), 0o644);
    let expected = KeyRing::from_file(&private).unwrap().export_text();

    let text = one_line();
    let from_var = in_child(&call, &[(var, OsStr::new(&text))]).loaded();
    assert_eq!(from_var, *expected);
    let from_file = in_child(&call, &[(file_var, private.as_os_str())]).loaded();
    assert_eq!(from_file, *expected);

    // The file named is checked as `from_file` checks it.
    let (debug, display) = in_child(&call, &[(file_var, readable.as_os_str())]).refused();
    assert!(debug.starts_with("Permissions"), "{debug}");
    assert!(display.contains("0644"), "{display}");

    // Both set: refused, whichever would be valid.
    let (debug, display) = in_child(
        &call,
        &[(var, OsStr::new(&text)), (file_var, private.as_os_str())],
    )
    .refused();
    assert!(debug.starts_with("BothSet"), "{debug}");
    assert!(
        display.contains(var) && display.contains(file_var),
        "{display}"
    );
    // An empty variable is set too.
    let (debug, _) = in_child(
        &call,
        &[(var, OsStr::new("")), (file_var, private.as_os_str())],
    )
    .refused();
    assert!(debug.starts_with("BothSet"), "{debug}");

    let (debug, display) = in_child(&call, &[]).refused();
    assert!(debug.starts_with("NeitherSet"), "{debug}");
    assert!(
        display.contains(var) && display.contains(file_var),
        "{display}"
    );
}
