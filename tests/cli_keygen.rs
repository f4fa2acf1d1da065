//! `totp-enroll keygen` (feature `cli`), run as a process: a key ring that
//! `KeyRing::from_text` loads, a key file (`--out`) that `KeyRing::from_file` loads, the
//! secrecy notice, rotation with `--add N --from-file FILE`, refusals that never echo a key.
//! Unix only: key files are judged by their mode.

#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]

mod cli_support;

use cli_support::{
    assert_refused_with_one_error_line, cli, cli_with_stdin, stderr, stdout, temp_path,
};

use totp_enroll::{AccountId, KeyRing, otp::Secret};

/// Bytes 0..32 in standard padded base64.
const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Exit 0 and the secrecy notice as the one line on stderr (which holds no key); returns
/// stdout and stderr.
fn keygen(args: &[&str], stdin: Option<&str>) -> (String, String) {
    let output = match stdin {
        Some(input) => cli_with_stdin(args, input),
        None => cli(args),
    };
    let (out, err) = (stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(0), "{args:?}: {err}");
    assert_eq!(err.matches('\n').count(), 1, "{args:?}: one line: {err:?}");
    assert!(err.starts_with("totp-enroll: "), "{err:?}");
    for hint in ["secret", "chmod 600", "never in a log"] {
        assert!(err.contains(hint), "{args:?}: {err:?} lacks {hint:?}");
    }
    (out, err)
}

/// The base64 keys of a one-line key ring text.
fn keys_of(text: &str) -> Vec<String> {
    text.trim_end()
        .split("; ")
        .skip(2)
        .map(|entry| entry.split_once('=').unwrap().1.to_owned())
        .collect()
}

fn account() -> AccountId {
    AccountId::new("taro").unwrap()
}

#[test]
fn keygen_prints_one_line_that_from_text_loads_and_says_on_stderr_that_it_is_secret() {
    let (out, err) = keygen(&["keygen"], None);
    assert!(
        out.starts_with("totp-enroll-keys/v1; current=1; 1="),
        "{out:?}"
    );
    assert!(
        out.ends_with('\n') && out.matches('\n').count() == 1,
        "{out:?}"
    );
    let keys = KeyRing::from_text(&out).unwrap();
    assert_eq!(keys.current_key_id(), 1);
    assert_eq!(keys.key_ids(), [1]);
    let key = &keys_of(&out)[0];
    assert_eq!(key.len(), 44);
    assert!(!err.contains(&key[..8]), "{err}");

    // Each run is a new key.
    let (again, _) = keygen(&["keygen"], None);
    assert_ne!(again, out);
    let secret = Secret::generate().unwrap();
    let sealed = keys.seal(&secret, &account()).unwrap();
    assert!(
        KeyRing::from_text(&again)
            .unwrap()
            .open(&sealed, &account())
            .is_err()
    );
}

#[test]
fn keygen_key_id_names_the_key() {
    for (arg, id) in [("0", 0), ("7", 7), ("4294967295", u32::MAX)] {
        let (out, _) = keygen(&["keygen", "--key-id", arg], None);
        let keys = KeyRing::from_text(&out).unwrap();
        assert_eq!(keys.current_key_id(), id);
        assert_eq!(keys.key_ids(), [id]);
    }
}

/// Writes `text` to a new temporary file of mode `mode`.
fn key_file(name: &str, text: &str, mode: u32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = temp_path(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn keygen_without_out_points_to_out_for_a_key_file() {
    let (_, err) = keygen(&["keygen"], None);
    assert!(err.contains("--out FILE"), "{err}");
}

#[test]
fn keygen_out_writes_a_key_file_of_mode_0600_that_from_file_loads_and_never_overwrites_one() {
    use std::os::unix::fs::PermissionsExt as _;
    let path = temp_path("keys");
    let path_text = path.to_str().unwrap();
    let (out, err) = keygen(&["keygen", "--key-id", "3", "--out", path_text], None);
    assert_eq!(out, format!("wrote {path_text}\n"));
    assert!(err.contains(path_text), "{err}");
    assert!(err.contains("KeyRing::from_file"), "{err}");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the file holds the keys: owner-only");
    let keys = KeyRing::from_file(&path).unwrap();
    assert_eq!(keys.current_key_id(), 3);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(*keys.export_text(), *text.trim_end());
    let again = cli(&["keygen", "--out", path_text]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "unchanged");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn keygen_add_makes_a_fresh_key_current_and_keeps_the_old_ones_retired() {
    let (first, _) = keygen(&["keygen", "--key-id", "1"], None);
    let path = key_file("ring", &first, 0o600);
    let old = KeyRing::from_text(&first).unwrap();
    let secret = Secret::generate().unwrap();
    let old_sealed = old.seal(&secret, &account()).unwrap();

    let (second, err) = keygen(
        &[
            "keygen",
            "--add",
            "2",
            "--from-file",
            path.to_str().unwrap(),
        ],
        None,
    );
    assert!(err.contains("key 2 is now current"), "{err}");
    let rotated = KeyRing::from_text(&second).unwrap();
    assert_eq!(rotated.current_key_id(), 2);
    assert_eq!(rotated.key_ids(), [1, 2]);
    assert_eq!(keys_of(&second)[0], keys_of(&first)[0], "key 1 is kept");
    let opened = rotated.open(&old_sealed, &account()).unwrap();
    assert_eq!(opened.expose_secret_bytes(), secret.expose_secret_bytes());
    let new_sealed = rotated.seal(&secret, &account()).unwrap();
    assert_eq!(new_sealed.key_id(), 2);
    assert!(old.open(&new_sealed, &account()).is_err());
    for key in keys_of(&second) {
        assert!(!err.contains(&key[..8]), "{err}");
    }

    // Again from standard input, in the multi-line form with comments.
    let file_form = format!("# keys\n{}\n", second.trim_end().replace("; ", "\n"));
    let (third, _) = keygen(
        &["keygen", "--add", "10", "--from-file", "-"],
        Some(&file_form),
    );
    let again = KeyRing::from_text(&third).unwrap();
    assert_eq!(again.current_key_id(), 10);
    assert_eq!(again.key_ids(), [1, 2, 10]);
    assert!(again.open(&old_sealed, &account()).is_ok());
    assert!(again.open(&new_sealed, &account()).is_ok());
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn keygen_add_reads_a_key_file_as_from_file_does_refusing_one_others_may_access() {
    let ring = format!("totp-enroll-keys/v1; current=1; 1={K1}\n");
    for mode in [0o644, 0o640, 0o604] {
        let path = key_file("readable", &ring, mode);
        let path_text = path.to_str().unwrap();
        let output = cli(&["keygen", "--add", "2", "--from-file", path_text]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{err}");
        assert_eq!(stdout(&output), "");
        assert!(err.contains(&format!("{mode:04o}")), "{err}");
        assert!(err.contains("chmod 600"), "{err}");
        assert!(!err.contains(&K1[..8]), "{err}");
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn keygen_add_refuses_an_id_already_in_the_ring() {
    let ring = format!("totp-enroll-keys/v1; current=1; 1={K1}");
    let output = cli_with_stdin(&["keygen", "--add", "1", "--from-file", "-"], &ring);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    let err = stderr(&output);
    assert!(err.contains("already has a key 1"), "{err}");
    assert!(!err.contains(&K1[..8]), "{err}");
}

#[test]
fn keygen_add_refuses_a_faulty_ring_naming_the_entry_and_never_the_key() {
    let truncated = &K1[..40];
    for (ring, expected) in [
        (
            format!("totp-enroll-keys/v1\ncurrent=1\n1={truncated}\n"),
            "entry 3 (line 3)",
        ),
        (
            format!("totp-enroll-keys/v1; current=2; 1={K1}"),
            "entry 2 (line 1)",
        ),
        (format!("{K1}\n"), "entry 1 (line 1)"),
    ] {
        let output = cli_with_stdin(&["keygen", "--add", "5", "--from-file", "-"], &ring);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{err}");
        assert_eq!(stdout(&output), "");
        assert_eq!(err.matches('\n').count(), 1, "one line: {err:?}");
        assert!(err.starts_with("totp-enroll: error: "), "{err:?}");
        assert!(err.contains(expected), "{err:?} lacks {expected:?}");
        for fragment in K1.as_bytes().chunks(6) {
            let fragment = std::str::from_utf8(fragment).unwrap();
            assert!(!err.contains(fragment), "{err:?} contains {fragment:?}");
        }
    }
}

#[test]
fn keygen_bad_arguments_exit_2_with_one_line_on_stderr_and_nothing_on_stdout() {
    let missing = temp_path("missing");
    let missing = missing.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["keygen", "--key-id"],
        vec!["keygen", "--key-id", "x"],
        vec!["keygen", "--key-id", "-1"],
        vec!["keygen", "--key-id", "4294967296"],
        vec!["keygen", "--key-id", "1", "--key-id", "2"],
        vec!["keygen", "--add", "2"],
        vec!["keygen", "--from-file", missing],
        vec![
            "keygen",
            "--key-id",
            "1",
            "--add",
            "2",
            "--from-file",
            missing,
        ],
        vec!["keygen", "--add", "2", "--from-file", missing],
        vec!["keygen", "extra"],
        vec!["keygen", "--bogus"],
        vec!["keygen", "--reveal"],
    ];
    for args in cases {
        assert_refused_with_one_error_line(&args);
    }
}

#[test]
fn keygen_add_refuses_input_longer_than_the_limit() {
    let mut ring = format!("totp-enroll-keys/v1; current=1; 1={K1}\n");
    ring.push_str(&"#".repeat(KeyRing::MAX_TEXT_BYTES));
    let output = cli_with_stdin(&["keygen", "--add", "2", "--from-file", "-"], &ring);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("longer than"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn help_lists_keygen() {
    let output = cli(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let out = stdout(&output);
    assert!(out.contains("totp-enroll keygen    [--key-id N]"), "{out}");
    assert!(out.contains("--add N --from-file FILE"), "{out}");
}
