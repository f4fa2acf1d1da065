//! `totp_cli`: an oathtool-like command line over `totp_enroll`, for integrators checking
//! their implementation and for support staff.
//!
//! ```text
//! totp_cli new       --issuer NAME --account NAME [POLICY]
//! totp_cli code      --secret BASE32 [--time UNIX] [POLICY]
//! totp_cli verify    --secret BASE32 --code CODE [--time UNIX] [--window N] [POLICY]
//! totp_cli uri       --secret BASE32 --issuer NAME --account NAME [POLICY]
//! totp_cli parse-uri URI [--reveal]
//! totp_cli qr        --uri URI (--png FILE | --svg FILE)
//! totp_cli keygen    [--key-id N] [--out FILE]
//! totp_cli keygen    --add N --from-file FILE [--out FILE]
//!
//! POLICY: [--algorithm sha1|sha256|sha512] [--digits 6|7|8] [--period SECONDS]
//! ```
//!
//! Run it with `cargo run --example totp_cli -- code --secret … --time 59 --digits 8`
//! (add `--features png` for PNG output).
//!
//! * `code` and `verify` parse the secret with [`Secret::from_base32_legacy`], which also
//!   admits 80-to-127-bit keys (RFC 4226/6238 test seeds, keys issued by older systems), so
//!   integrators can check existing keys. `uri` and `new` only accept or create keys of at
//!   least 128 bits, as enrollments must.
//! * `--secret -` reads the key from the first line of standard input, which keeps it out of
//!   the process list and the shell history; a key given as an argument is visible in both.
//! * `verify` checks the code against every step of the window (`--window N`: N steps
//!   behind and N ahead, default 1) with no replay floor, since it keeps no state.
//! * `qr` refuses to overwrite an existing file and, on Unix, creates it readable by its
//!   owner only: the image contains the secret.
//! * `parse-uri` prints `secret=[REDACTED]` unless `--reveal` is given.
//! * `keygen` prints a fresh sealing key ring for the engine (one random 256-bit key under
//!   id `--key-id`, default 1) in the text form [`KeyRing::from_text`] reads, e.g.
//!   `totp-enroll-keys/v1; current=1; 1=<base64 of 32 bytes>`: one line, for an
//!   environment variable or a secret file. It is every key in clear: standard error says
//!   so. `--out FILE` writes it to a new file instead (never overwriting; owner-only on
//!   Unix), which is safer than redirecting standard output (the shell's umask decides that
//!   file's mode).
//! * `keygen --add N --from-file FILE` rotates: it reads the key ring in FILE (`-`: standard
//!   input), adds a fresh key N (an id not in the ring) as the current key, keeps the
//!   others as retired keys that still open old records, and prints the new ring. The
//!   refusal of a faulty ring names the entry and line, never a key.
//!
//! Exit status: 0 on success, 1 when `verify` rejects the code (the reason is printed on
//! standard output), 2 for any error (unknown subcommand or flag, missing or invalid value,
//! invalid secret or URI, I/O), reported as one line on standard error.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, BufRead as _, Write as _};
use std::process::ExitCode;

use rand::TryRngCore as _;
use rand::rngs::OsRng;
use totp_enroll::{
    Clock as _, KeyRing, OtpPolicy, Provisioning, SystemClock, otp::Algorithm,
    otp::OtpPolicyBuilder, otp::Secret, otp::Totp, provision::KeyUri, provision::QrCode,
};
use zeroize::Zeroizing;

const USAGE: &str = "\
usage:
  totp_cli new       --issuer NAME --account NAME [POLICY]
  totp_cli code      --secret BASE32 [--time UNIX] [POLICY]
  totp_cli verify    --secret BASE32 --code CODE [--time UNIX] [--window N] [POLICY]
  totp_cli uri       --secret BASE32 --issuer NAME --account NAME [POLICY]
  totp_cli parse-uri URI [--reveal]
  totp_cli qr        --uri URI (--png FILE | --svg FILE)
  totp_cli keygen    [--key-id N] [--out FILE]
  totp_cli keygen    --add N --from-file FILE [--out FILE]

POLICY: [--algorithm sha1|sha256|sha512] [--digits 6|7|8] [--period SECONDS]
--secret - reads the key from standard input (keeps it out of ps and shell history).
code and verify accept legacy keys of 80 bits or more; uri needs at least 128 bits.
keygen prints a new sealing key ring (secret!) for KeyRing::from_text; --add N
--from-file FILE (- for stdin) adds key N as current, keeping the others as retired.
exit status: 0 ok, 1 code rejected (verify), 2 error";

/// Flags that set the OTP policy, accepted by every subcommand that computes or builds keys.
const POLICY_FLAGS: [&str; 3] = ["--algorithm", "--digits", "--period"];

/// Pixels per module of a PNG written by `qr`.
#[cfg(feature = "png")]
const PNG_SCALE: u32 = 8;

/// A failure reported as one line on standard error with exit status 2.
#[derive(Debug)]
struct CliError(String);

impl CliError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// What a successful run prints and its exit status.
struct Outcome {
    /// Standard output; zeroizing because it may hold the secret (`new`, `--reveal`,
    /// `keygen`).
    stdout: Zeroizing<String>,
    /// A line for standard error after the output (`keygen`: the output is secret).
    notice: Option<String>,
    status: ExitCode,
}

impl Outcome {
    fn success(stdout: impl Into<String>) -> Self {
        Self::secret(Zeroizing::new(stdout.into()))
    }

    /// Exit status 0, with output that may hold a secret.
    fn secret(stdout: Zeroizing<String>) -> Self {
        Self {
            stdout,
            notice: None,
            status: ExitCode::SUCCESS,
        }
    }
}

fn main() -> ExitCode {
    let result = collect_args().and_then(|args| run(&args));
    match result {
        Ok(outcome) => {
            let mut stdout = io::stdout().lock();
            if stdout
                .write_all(outcome.stdout.as_bytes())
                .and_then(|()| stdout.flush())
                .is_err()
            {
                report(&CliError::new("cannot write to standard output"));
                return ExitCode::from(2);
            }
            if let Some(notice) = &outcome.notice {
                let _ = writeln!(io::stderr(), "totp_cli: {notice}");
            }
            outcome.status
        }
        Err(error) => {
            report(&error);
            ExitCode::from(2)
        }
    }
}

/// Writes one error line to standard error (ignoring a closed stderr: there is nowhere else).
fn report(error: &CliError) {
    let _ = writeln!(io::stderr(), "totp_cli: error: {}", error.0);
}

/// The arguments after the program name, refusing any that is not UTF-8.
fn collect_args() -> Result<Vec<String>, CliError> {
    std::env::args_os()
        .skip(1)
        .enumerate()
        .map(|(i, arg): (usize, OsString)| {
            arg.into_string().map_err(|_| {
                CliError::new(format!(
                    "argument {} is not valid UTF-8",
                    i.saturating_add(1)
                ))
            })
        })
        .collect()
}

fn run(args: &[String]) -> Result<Outcome, CliError> {
    let Some((command, rest)) = args.split_first() else {
        return Err(CliError::new(
            "missing subcommand (run with --help for usage)",
        ));
    };
    match command.as_str() {
        "new" => cmd_new(rest),
        "code" => cmd_code(rest),
        "verify" => cmd_verify(rest),
        "uri" => cmd_uri(rest),
        "parse-uri" => cmd_parse_uri(rest),
        "qr" => cmd_qr(rest),
        "keygen" => cmd_keygen(rest),
        "-h" | "--help" => Ok(Outcome::success(format!("{USAGE}\n"))),
        // Not quoted back: a mistyped command line may start with a key.
        _ => Err(CliError::new(
            "unknown subcommand (expected new, code, verify, uri, parse-uri, qr or keygen)",
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Argument parsing.

/// The flags and positional arguments of one subcommand.
struct Parsed {
    values: BTreeMap<&'static str, String>,
    switches: Vec<&'static str>,
    positional: Vec<String>,
}

/// What a subcommand accepts.
struct Spec<'a> {
    /// Flags that take a value (`--flag VALUE` or `--flag=VALUE`).
    values: &'a [&'static str],
    /// Flags without a value.
    switches: &'a [&'static str],
    /// Names of the positional arguments, all required.
    positional: &'a [&'static str],
}

impl Spec<'_> {
    fn parse(&self, args: &[String]) -> Result<Parsed, CliError> {
        let mut parsed = Parsed {
            values: BTreeMap::new(),
            switches: Vec::new(),
            positional: Vec::new(),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if !arg.starts_with("--") {
                parsed.positional.push(arg.clone());
                continue;
            }
            let (name, inline_value) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (arg.as_str(), None),
            };
            if let Some(flag) = self.switches.iter().copied().find(|f| *f == name) {
                if inline_value.is_some() {
                    return Err(CliError::new(format!("{flag} takes no value")));
                }
                if parsed.switches.contains(&flag) {
                    return Err(CliError::new(format!("{flag} is given more than once")));
                }
                parsed.switches.push(flag);
                continue;
            }
            let Some(flag) = self.values.iter().copied().find(|f| *f == name) else {
                return Err(CliError::new(format!(
                    "unknown flag {name:?} for this subcommand"
                )));
            };
            let value = match inline_value {
                Some(value) => value,
                None => args
                    .next()
                    .filter(|v| !v.starts_with("--"))
                    .cloned()
                    .ok_or_else(|| CliError::new(format!("missing value for {flag}")))?,
            };
            if parsed.values.insert(flag, value).is_some() {
                return Err(CliError::new(format!("{flag} is given more than once")));
            }
        }
        if parsed.positional.len() != self.positional.len() {
            return Err(CliError::new(match self.positional {
                // The stray text is not quoted: it may be a key given without `--secret`.
                [] => format!(
                    "unexpected positional argument(s) ({} given, none expected)",
                    parsed.positional.len()
                ),
                names => format!(
                    "expected {} positional argument(s): {}",
                    names.len(),
                    names.join(" ")
                ),
            }));
        }
        Ok(parsed)
    }
}

impl Parsed {
    fn required(&self, flag: &str) -> Result<&str, CliError> {
        self.values
            .get(flag)
            .map(String::as_str)
            .ok_or_else(|| CliError::new(format!("missing required flag {flag}")))
    }

    fn optional(&self, flag: &str) -> Option<&str> {
        self.values.get(flag).map(String::as_str)
    }

    fn switch(&self, flag: &str) -> bool {
        self.switches.contains(&flag)
    }

    /// An optional flag's value as an unsigned decimal number (digits only).
    fn number<T: std::str::FromStr>(&self, flag: &str) -> Result<Option<T>, CliError> {
        self.optional(flag)
            .map(|text| {
                let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
                digits_only
                    .then(|| text.parse().ok())
                    .flatten()
                    .ok_or_else(|| CliError::new(format!("{flag} must be a whole number")))
            })
            .transpose()
    }

    /// The secret of `--secret`, or of the first line of standard input for `--secret -`.
    fn secret_text(&self) -> Result<Zeroizing<String>, CliError> {
        let value = self.required("--secret")?;
        if value != "-" {
            return Ok(Zeroizing::new(value.to_owned()));
        }
        let mut line = Zeroizing::new(String::new());
        io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|_| CliError::new("cannot read the secret from standard input"))?;
        Ok(line)
    }

    /// `--algorithm`, `--digits` and `--period` applied to a builder for `issuer`.
    fn policy_builder(&self, issuer: &str) -> Result<OtpPolicyBuilder, CliError> {
        let mut builder = OtpPolicy::builder(issuer);
        if let Some(name) = self.optional("--algorithm") {
            let algorithm: Algorithm = name
                .parse()
                .map_err(|e| CliError::new(format!("--algorithm: {e}")))?;
            builder = builder.algorithm(algorithm);
        }
        if let Some(digits) = self.number("--digits")? {
            builder = builder.digits(digits);
        }
        if let Some(period) = self.number("--period")? {
            builder = builder.period(period);
        }
        Ok(builder)
    }

    /// `--time`, or now from the system clock.
    fn time(&self) -> Result<u64, CliError> {
        match self.number("--time")? {
            Some(time) => Ok(time),
            None => SystemClock
                .now()
                .map_err(|e| CliError::new(format!("cannot read the clock: {e}"))),
        }
    }
}

/// `Spec::values` for a subcommand: its own flags plus the policy flags.
fn with_policy_flags(own: &[&'static str]) -> Vec<&'static str> {
    own.iter().chain(POLICY_FLAGS.iter()).copied().collect()
}

fn build_policy(builder: OtpPolicyBuilder) -> Result<OtpPolicy, CliError> {
    builder
        .build()
        .map_err(|e| CliError::new(format!("invalid policy: {e}")))
}

/// `code`/`verify` key parsing: legacy keys (80 bits and more) are accepted.
fn legacy_secret(parsed: &Parsed) -> Result<Secret, CliError> {
    Secret::from_base32_legacy(&parsed.secret_text()?)
        .map_err(|e| CliError::new(format!("invalid --secret: {e}")))
}

// ---------------------------------------------------------------------------------------
// Subcommands.

/// `new`: a fresh key; prints the grouped setup key, the URI and a terminal QR code.
fn cmd_new(args: &[String]) -> Result<Outcome, CliError> {
    let values = with_policy_flags(&["--issuer", "--account"]);
    let parsed = Spec {
        values: &values,
        switches: &[],
        positional: &[],
    }
    .parse(args)?;
    let policy = build_policy(parsed.policy_builder(parsed.required("--issuer")?)?)?;
    let secret = Secret::generate().map_err(|e| CliError::new(e.to_string()))?;
    let key_uri = KeyUri::new(secret, parsed.required("--account")?, &policy)
        .map_err(|e| CliError::new(format!("invalid --account: {e}")))?;
    let provisioning = Provisioning::new(key_uri);
    let qr = provisioning
        .qr()
        .map_err(|e| CliError::new(format!("QR code: {e}")))?;
    let mut out = Zeroizing::new(String::new());
    out.push_str("setup key: ");
    out.push_str(&provisioning.reveal_setup_key());
    out.push_str("\nuri: ");
    out.push_str(&provisioning.uri());
    out.push('\n');
    out.push_str(&qr.to_terminal());
    Ok(Outcome::secret(out))
}

/// `code`: the code at `--time` (default now), and nothing else.
fn cmd_code(args: &[String]) -> Result<Outcome, CliError> {
    let values = with_policy_flags(&["--secret", "--time"]);
    let parsed = Spec {
        values: &values,
        switches: &[],
        positional: &[],
    }
    .parse(args)?;
    let secret = legacy_secret(&parsed)?;
    let policy = build_policy(parsed.policy_builder("totp_cli")?)?;
    let time = parsed.time()?;
    let code = Totp::new(&secret, &policy).code_at(time);
    Ok(Outcome::success(format!("{code}\n")))
}

/// `verify`: `ok STEP` and status 0, or the rejection and status 1.
fn cmd_verify(args: &[String]) -> Result<Outcome, CliError> {
    let values = with_policy_flags(&["--secret", "--code", "--time", "--window"]);
    let parsed = Spec {
        values: &values,
        switches: &[],
        positional: &[],
    }
    .parse(args)?;
    let secret = legacy_secret(&parsed)?;
    let code = parsed.required("--code")?;
    let mut builder = parsed.policy_builder("totp_cli")?;
    if let Some(window) = parsed.number::<u32>("--window")? {
        builder = builder.window(window, window);
    }
    let policy = build_policy(builder)?;
    let time = parsed.time()?;
    match Totp::new(&secret, &policy).verify_input(code, time, None) {
        Ok(verified) => Ok(Outcome::success(format!("ok {}\n", verified.step()))),
        Err(rejection) => Ok(Outcome {
            stdout: Zeroizing::new(format!("rejected: {rejection}\n")),
            notice: None,
            status: ExitCode::FAILURE,
        }),
    }
}

/// `uri`: the key URI of an existing key (at least 128 bits).
fn cmd_uri(args: &[String]) -> Result<Outcome, CliError> {
    let values = with_policy_flags(&["--secret", "--issuer", "--account"]);
    let parsed = Spec {
        values: &values,
        switches: &[],
        positional: &[],
    }
    .parse(args)?;
    let secret = Secret::from_base32(&parsed.secret_text()?)
        .map_err(|e| CliError::new(format!("invalid --secret: {e}")))?;
    let policy = build_policy(parsed.policy_builder(parsed.required("--issuer")?)?)?;
    let key_uri = KeyUri::new(secret, parsed.required("--account")?, &policy)
        .map_err(|e| CliError::new(format!("invalid --account: {e}")))?;
    let mut out = key_uri.to_uri();
    out.push('\n');
    Ok(Outcome::secret(out))
}

/// `parse-uri`: one `key=value` line per field; the secret only with `--reveal`.
fn cmd_parse_uri(args: &[String]) -> Result<Outcome, CliError> {
    let parsed = Spec {
        values: &[],
        switches: &["--reveal"],
        positional: &["URI"],
    }
    .parse(args)?;
    let text = parsed.positional.first().map_or("", String::as_str);
    let key_uri = KeyUri::parse(text).map_err(|e| CliError::new(format!("invalid URI: {e}")))?;
    let policy = key_uri.policy();
    let secret = if parsed.switch("--reveal") {
        key_uri.secret().to_base32()
    } else {
        Zeroizing::new("[REDACTED]".to_owned())
    };
    Ok(Outcome::secret(Zeroizing::new(format!(
        "issuer={}\naccount={}\nalgorithm={}\ndigits={}\nperiod={}\nsecret={}\n",
        key_uri.issuer(),
        key_uri.account(),
        policy.algorithm(),
        policy.digits().get(),
        policy.period(),
        secret.as_str(),
    ))))
}

/// `qr`: writes the QR code of a valid key URI (the text exactly as given) as PNG and/or SVG.
fn cmd_qr(args: &[String]) -> Result<Outcome, CliError> {
    let parsed = Spec {
        values: &["--uri", "--png", "--svg"],
        switches: &[],
        positional: &[],
    }
    .parse(args)?;
    let uri = parsed.required("--uri")?;
    KeyUri::parse(uri).map_err(|e| CliError::new(format!("invalid --uri: {e}")))?;
    let (png_path, svg_path) = (parsed.optional("--png"), parsed.optional("--svg"));
    if png_path.is_none() && svg_path.is_none() {
        return Err(CliError::new("qr needs --png FILE or --svg FILE"));
    }
    let qr = QrCode::new(uri).map_err(|e| CliError::new(format!("QR code: {e}")))?;
    let mut written = String::new();
    if let Some(path) = png_path {
        write_private_file(path, &png_bytes(&qr)?)?;
        written.push_str(&format!("wrote {path}\n"));
    }
    if let Some(path) = svg_path {
        write_private_file(path, qr.to_svg().as_bytes())?;
        written.push_str(&format!("wrote {path}\n"));
    }
    Ok(Outcome::success(written))
}

/// `keygen`: a fresh key ring, or (`--add N --from-file FILE`) a ring rotated to a fresh
/// key N; printed, or written to `--out FILE`.
fn cmd_keygen(args: &[String]) -> Result<Outcome, CliError> {
    let parsed = Spec {
        values: &["--key-id", "--add", "--from-file", "--out"],
        switches: &[],
        positional: &[],
    }
    .parse(args)?;
    let key_id = parsed.number::<u32>("--key-id")?;
    let add = parsed.number::<u32>("--add")?;
    let (mut text, rotation) = match (key_id, add, parsed.optional("--from-file")) {
        (key_id, None, None) => (
            KeyRing::generate_text(key_id.unwrap_or(1))
                .map_err(|e| CliError::new(format!("cannot generate a key: {e}")))?,
            String::new(),
        ),
        (None, Some(add), Some(path)) => (
            rotated_ring(add, path)?,
            format!(
                "key {add} is now current and the previous keys are retired (old records \
                 still open, and are re-sealed under key {add} as they are written): replace \
                 the stored key ring with this one; "
            ),
        ),
        (Some(_), Some(_), _) => {
            return Err(CliError::new("--key-id and --add exclude each other"));
        }
        (_, Some(_), None) => {
            return Err(CliError::new(
                "--add needs --from-file FILE, the key ring to add the key to",
            ));
        }
        (_, None, Some(_)) => {
            return Err(CliError::new("--from-file needs --add N, the new key's id"));
        }
    };
    // `export_text` leaves room after the text: the newline does not reallocate.
    text.push('\n');
    let (mut outcome, ring) = match parsed.optional("--out") {
        None => (Outcome::secret(text), "the key ring above".to_owned()),
        Some(path) => {
            write_private_file(path, text.as_bytes())?;
            (Outcome::success(format!("wrote {path}\n")), path.to_owned())
        }
    };
    outcome.notice = Some(format!(
        "{rotation}{ring} is secret, every sealing key in clear: keep it in a secret manager \
         or a file only its owner can read (chmod 600), never in a log or a repository"
    ));
    Ok(outcome)
}

/// The key ring in `path` (`-`: standard input) with a fresh random key `key_id` as current.
fn rotated_ring(key_id: u32, path: &str) -> Result<Zeroizing<String>, CliError> {
    let bytes = read_key_ring_file(path)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CliError::new(format!("{path}: the key ring is not UTF-8 text")))?;
    let mut keys = KeyRing::from_text(text).map_err(|e| CliError::new(format!("{path}: {e}")))?;
    let ids = keys.key_ids();
    if ids.contains(&key_id) {
        return Err(CliError::new(format!(
            "--add {key_id}: the key ring already has a key {key_id}; a new key needs a new \
             id (the ring has {ids:?})"
        )));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    OsRng
        .try_fill_bytes(key.as_mut_slice())
        .map_err(|_| CliError::new("the operating system's random number generator failed"))?;
    keys.rotate(key_id, *key);
    Ok(keys.export_text())
}

/// Reads a key ring text of at most `KeyRing::MAX_TEXT_BYTES` into one zeroizing buffer,
/// allocated before reading so that it never reallocates (no copy of a key is left behind).
fn read_key_ring_file(path: &str) -> Result<Zeroizing<Vec<u8>>, CliError> {
    use std::io::Read as _;
    let limit = KeyRing::MAX_TEXT_BYTES.saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(limit));
    let read = if path == "-" {
        io::stdin()
            .lock()
            .take(u64::try_from(limit).unwrap_or(u64::MAX))
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|file| {
            file.take(u64::try_from(limit).unwrap_or(u64::MAX))
                .read_to_end(&mut bytes)
        })
    };
    read.map_err(|e| CliError::new(format!("cannot read {path}: {e}")))?;
    if bytes.len() > KeyRing::MAX_TEXT_BYTES {
        return Err(CliError::new(format!(
            "{path}: the key ring is longer than {} bytes",
            KeyRing::MAX_TEXT_BYTES
        )));
    }
    Ok(bytes)
}

#[cfg(feature = "png")]
fn png_bytes(qr: &QrCode) -> Result<Zeroizing<Vec<u8>>, CliError> {
    qr.to_png(PNG_SCALE)
        .map_err(|e| CliError::new(format!("PNG: {e}")))
}

#[cfg(not(feature = "png"))]
fn png_bytes(_qr: &QrCode) -> Result<Zeroizing<Vec<u8>>, CliError> {
    Err(CliError::new(
        "PNG output needs the `png` feature: cargo run --example totp_cli --features png -- qr ...",
    ))
}

/// Creates `path` (never overwriting an existing file; owner-only on Unix) and writes `bytes`.
fn write_private_file(path: &str, bytes: &[u8]) -> Result<(), CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        CliError::new(match e.kind() {
            io::ErrorKind::AlreadyExists => format!("{path} already exists; not overwriting it"),
            _ => format!("cannot create {path}: {e}"),
        })
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| CliError::new(format!("cannot write {path}: {e}")))
}
