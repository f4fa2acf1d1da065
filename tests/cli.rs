//! The `totp-enroll` command line (feature `cli`), run as a process: RFC 6238 vectors,
//! exit statuses, error lines, redaction.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::panic
)]

mod cli_support;

use cli_support::{
    assert_refused_with_one_error_line, cli, cli_with_stdin, stderr, stdout, temp_path,
};

use totp_enroll::{OtpPolicy, otp::Secret, provision::KeyUri};

/// RFC 6238 Appendix B seeds, in base32.
const SHA1_SEED: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const SHA256_SEED: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA";
const SHA512_SEED: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
                           GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA";
const KEY: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const JAPANESE_ISSUER: &str = "北洋証券オンラインサービス";

/// Exit 0, nothing on stderr; returns stdout.
fn success(args: &[&str]) -> String {
    let output = cli(args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{args:?}: {}",
        stderr(&output)
    );
    assert_eq!(stderr(&output), "", "{args:?}");
    stdout(&output)
}

fn sample_uri() -> String {
    let secret = Secret::from_base32(KEY).unwrap();
    let policy = OtpPolicy::new(JAPANESE_ISSUER).unwrap();
    KeyUri::new(secret, "taro yamada", &policy)
        .unwrap()
        .to_uri()
        .to_string()
}

#[test]
fn code_matches_rfc_6238_appendix_b_for_sha1_sha256_and_sha512() {
    // (time, SHA-1, SHA-256, SHA-512), 8 digits.
    let table = [
        ("59", "94287082", "46119246", "90693936"),
        ("1111111109", "07081804", "68084774", "25091201"),
        ("1111111111", "14050471", "67062674", "99943326"),
        ("1234567890", "89005924", "91819424", "93441116"),
        ("2000000000", "69279037", "90698825", "38618901"),
        ("20000000000", "65353130", "77737706", "47863826"),
    ];
    for (time, sha1, sha256, sha512) in table {
        for (algorithm, seed, expected) in [
            ("sha1", SHA1_SEED, sha1),
            ("sha256", SHA256_SEED, sha256),
            ("sha512", SHA512_SEED, sha512),
        ] {
            let args = [
                "code",
                "--secret",
                seed,
                "--time",
                time,
                "--digits",
                "8",
                "--algorithm",
                algorithm,
            ];
            assert_eq!(success(&args), format!("{expected}\n"), "{args:?}");
        }
    }
}

#[test]
fn code_prints_only_the_code_with_sha1_and_six_digits_by_default() {
    let out = success(&["code", "--secret", SHA1_SEED, "--time", "59"]);
    assert_eq!(out, "287082\n");
    let now = success(&["code", "--secret", SHA1_SEED]);
    assert_eq!(now.len(), 7);
    assert!(now.trim_end().bytes().all(|b| b.is_ascii_digit()));
}

#[test]
fn code_accepts_the_flag_equals_value_form() {
    let out = success(&[
        "code",
        "--secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "--time=59",
    ]);
    assert_eq!(out, "287082\n");
}

#[test]
fn code_reads_the_secret_from_stdin_when_given_a_dash() {
    let output = cli_with_stdin(
        &["code", "--secret", "-", "--time", "59", "--digits", "8"],
        &format!("{SHA1_SEED}\n"),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "94287082\n");
}

#[test]
fn verify_prints_ok_and_the_step_and_exits_0_for_the_right_code() {
    let base = ["verify", "--secret", SHA1_SEED, "--time", "59"];
    let out = success(&[&base[..], &["--code", "94287082", "--digits", "8"]].concat());
    assert_eq!(out, "ok 1\n");
    // The app's grouped display is accepted as typed.
    assert_eq!(
        success(&[&base[..], &["--code", "287 082"]].concat()),
        "ok 1\n"
    );
}

#[test]
fn verify_prints_the_rejection_and_exits_1_for_a_wrong_code() {
    let output = cli(&[
        "verify", "--secret", SHA1_SEED, "--code", "287083", "--time", "59",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "rejected: wrong code\n");
    assert_eq!(stderr(&output), "");

    let malformed = cli(&[
        "verify", "--secret", SHA1_SEED, "--code", "28708", "--time", "59",
    ]);
    assert_eq!(malformed.status.code(), Some(1));
    assert!(stdout(&malformed).starts_with("rejected: malformed code"));
}

#[test]
fn verify_window_sets_the_steps_accepted_each_way() {
    // The code of step 1 (t = 59), checked during step 2 (t = 60).
    let args = |window: &'static str| {
        [
            "verify", "--secret", SHA1_SEED, "--code", "287082", "--time", "60", "--window", window,
        ]
    };
    assert_eq!(cli(&args("0")).status.code(), Some(1));
    assert_eq!(success(&args("1")), "ok 1\n");
    assert_eq!(
        success(&[
            "verify", "--secret", SHA1_SEED, "--code", "287082", "--time", "60"
        ]),
        "ok 1\n"
    );
}

#[test]
fn bad_arguments_exit_2_with_one_line_on_stderr_and_nothing_on_stdout() {
    let uri = sample_uri();
    let cases: Vec<Vec<&str>> = vec![
        vec![],
        vec!["frob"],
        vec!["code"],
        vec!["code", "--secret"],
        vec!["code", "--secret", "--time", "59"],
        vec!["code", "--secret", "ILEHO2TX7RXH3TQUXSJ58GCJCDOXO"],
        vec!["code", "--secret", "GEZDGNBV"],
        vec!["code", "--secret", SHA1_SEED, "--bogus", "1"],
        vec!["code", "--secret", SHA1_SEED, "--time", "-1"],
        vec!["code", "--secret", SHA1_SEED, "--time", "59s"],
        vec!["code", "--secret", SHA1_SEED, "--time", "1", "--time", "2"],
        vec!["code", "--secret", SHA1_SEED, "--digits", "9"],
        vec!["code", "--secret", SHA1_SEED, "--algorithm", "md5"],
        vec!["code", "--secret", SHA1_SEED, "--period", "0"],
        vec!["code", "--secret", SHA1_SEED, "extra"],
        vec!["verify", "--secret", SHA1_SEED],
        vec![
            "verify", "--secret", SHA1_SEED, "--code", "1", "--window", "11",
        ],
        vec!["uri", "--secret", KEY, "--issuer", "Example"],
        vec![
            "uri",
            "--secret",
            &SHA1_SEED[..16],
            "--issuer",
            "E",
            "--account",
            "a",
        ],
        vec!["uri", "--secret", KEY, "--issuer", "a:b", "--account", "a"],
        vec!["parse-uri"],
        vec!["parse-uri", "https://example.com/"],
        vec!["parse-uri", &uri, "--reveal=yes"],
        vec!["parse-uri", &uri, &uri],
        vec!["new", "--issuer", "Example"],
        vec!["qr", "--uri", &uri],
        vec![
            "qr",
            "--uri",
            "otpauth://hotp/x:y?secret=JBSWY3DP",
            "--svg",
            "x.svg",
        ],
    ];
    for args in cases {
        assert_refused_with_one_error_line(&args);
    }
}

#[test]
fn errors_never_echo_the_secret() {
    let secret = "ILEHO2TX7RXH3TQUXSJ58GCJCDOXO";
    let output = cli(&["code", "--secret", secret]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("base32"), "{err}");
    assert!(!err.contains(secret) && !err.contains("ILEHO"), "{err}");

    // A key given without its flag is not quoted back either.
    let output = cli(&["code", "--time", "59", SHA1_SEED]);
    assert_eq!(output.status.code(), Some(2));
    assert!(!stderr(&output).contains("GEZDGNBV"), "{}", stderr(&output));

    let output = cli(&["parse-uri", "otpauth://totp/E:a?secret=JBSWY3DP&issuer=F"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(!stderr(&output).contains("JBSWY3DP"));
}

#[test]
fn parse_uri_redacts_the_secret_unless_reveal_is_given() {
    let uri = sample_uri();
    let fields = |secret: &str| {
        format!(
            "issuer={JAPANESE_ISSUER}\naccount=taro yamada\nalgorithm=SHA1\ndigits=6\nperiod=30\nsecret={secret}\n"
        )
    };
    let redacted = success(&["parse-uri", &uri]);
    assert_eq!(redacted, fields("[REDACTED]"));
    assert!(!redacted.contains(KEY));
    assert_eq!(success(&["parse-uri", &uri, "--reveal"]), fields(KEY));
    assert_eq!(success(&["parse-uri", "--reveal", &uri]), fields(KEY));
}

#[test]
fn uri_prints_the_same_uri_as_the_library() {
    let out = success(&[
        "uri",
        "--secret",
        KEY,
        "--issuer",
        JAPANESE_ISSUER,
        "--account",
        "taro yamada",
    ]);
    assert_eq!(out, format!("{}\n", sample_uri()));
}

#[test]
fn new_prints_a_grouped_setup_key_a_parseable_uri_and_a_terminal_qr() {
    let out = success(&[
        "new",
        "--issuer",
        JAPANESE_ISSUER,
        "--account",
        "taro yamada",
    ]);
    let mut lines = out.lines();
    let setup_key = lines
        .next()
        .unwrap()
        .strip_prefix("setup key: ")
        .expect("first line: the setup key");
    let uri = lines
        .next()
        .unwrap()
        .strip_prefix("uri: ")
        .expect("second line: the URI");
    let parsed = KeyUri::parse(uri).expect("a parseable otpauth URI");
    assert_eq!(parsed.issuer(), JAPANESE_ISSUER);
    assert_eq!(parsed.account(), "taro yamada");
    assert_eq!(parsed.secret().to_setup_key().as_str(), setup_key);
    assert!(setup_key.split(' ').all(|group| group.len() == 4));

    let qr: Vec<&str> = lines.collect();
    assert!(qr.len() > 10);
    assert!(
        qr.iter()
            .all(|line| line.chars().all(|c| matches!(c, '█' | '▀' | '▄' | ' ')))
    );

    // Each run generates a new key.
    let again = success(&["new", "--issuer", "Example", "--account", "a"]);
    assert_ne!(again.lines().next(), out.lines().next());
}

#[test]
fn qr_writes_an_svg_and_never_overwrites_a_file() {
    let uri = sample_uri();
    let path = temp_path("qr.svg");
    let path_text = path.to_str().unwrap();
    let out = success(&["qr", "--uri", &uri, "--svg", path_text]);
    assert_eq!(out, format!("wrote {path_text}\n"));
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the image holds the secret: owner-only");
    }
    let again = cli(&["qr", "--uri", &uri, "--svg", path_text]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already exists"));
    std::fs::remove_file(&path).unwrap();
}

/// `cli` enables `png`: an installed command always writes PNGs.
#[test]
fn qr_writes_a_png() {
    let path = temp_path("qr.png");
    let path_text = path.to_str().unwrap();
    success(&["qr", "--uri", &sample_uri(), "--png", path_text]);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
}

#[test]
fn help_prints_usage_and_exits_0() {
    let out = success(&["--help"]);
    assert!(out.starts_with("usage:"));
    for command in ["new", "code", "verify", "uri", "parse-uri", "qr"] {
        assert!(out.contains(&format!("totp-enroll {command}")), "{command}");
    }
}
