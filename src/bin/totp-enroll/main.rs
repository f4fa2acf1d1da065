//! `totp-enroll`: an oathtool-like command line over the `totp_enroll` library, for
//! integrators checking their implementation, for support staff, and to make and rotate
//! the sealing key ring.
//!
//! ```text
//! cargo install totp-enroll --features cli
//!
//! totp-enroll new       --issuer NAME --account NAME [POLICY]
//! totp-enroll code      --secret BASE32 [--time UNIX] [POLICY]
//! totp-enroll verify    --secret BASE32 --code CODE [--time UNIX] [--window N] [POLICY]
//! totp-enroll uri       --secret BASE32 --issuer NAME --account NAME [POLICY]
//! totp-enroll parse-uri URI [--reveal]
//! totp-enroll qr        --uri URI (--png FILE | --svg FILE)
//! totp-enroll keygen    [--key-id N] [--out FILE]
//! totp-enroll keygen    --add N --from-file FILE [--out FILE]
//!
//! POLICY: [--algorithm sha1|sha256|sha512] [--digits 6|7|8] [--period SECONDS]
//! ```
//!
//! In this repository: `cargo run -p totp-enroll --features cli -- code --secret … --time 59`.
//!
//! * `code` and `verify` parse the secret with `Secret::from_base32_legacy`, which also
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
//! * `keygen` makes a fresh sealing key ring for the engine (one random 256-bit key under
//!   id `--key-id`, default 1) in the text form `KeyRing::from_text` reads, e.g.
//!   `totp-enroll-keys/v1; current=1; 1=<base64 of 32 bytes>`. `--out FILE` writes it to a
//!   new file (never overwriting one) of mode 0600 on Unix, the file `KeyRing::from_file`
//!   reads (it refuses a key file its group or others may access): the way to make a key
//!   file. Without `--out` it prints the ring, one line for an environment variable
//!   (`KeyRing::from_env`); redirecting that to a file leaves its mode to the shell's
//!   umask. Either way it is every key in clear: standard error says so.
//! * `keygen --add N --from-file FILE` rotates: it reads the key ring in FILE (with
//!   `KeyRing::from_file`'s checks; `-`: standard input), adds a fresh key N (an id not in
//!   the ring) as the current key, keeps the others as retired keys that still open old
//!   records, and prints (or writes with `--out`) the new ring. The refusal of a faulty
//!   ring names the entry and line, never a key.
//!
//! Exit status: 0 on success, 1 when `verify` rejects the code (the reason is printed on
//! standard output), 2 for any error (unknown subcommand or flag, missing or invalid value,
//! invalid secret or URI, I/O), reported as one line on standard error.
//!
//! The binary uses the library only through its public API, as any dependent would.

mod args;
mod keygen;
mod otp;

use std::ffi::OsString;
use std::io::{self, Write as _};
use std::process::ExitCode;

use zeroize::Zeroizing;

/// The program's name, at the start of every line on standard error.
const NAME: &str = "totp-enroll";

const USAGE: &str = "\
usage:
  totp-enroll new       --issuer NAME --account NAME [POLICY]
  totp-enroll code      --secret BASE32 [--time UNIX] [POLICY]
  totp-enroll verify    --secret BASE32 --code CODE [--time UNIX] [--window N] [POLICY]
  totp-enroll uri       --secret BASE32 --issuer NAME --account NAME [POLICY]
  totp-enroll parse-uri URI [--reveal]
  totp-enroll qr        --uri URI (--png FILE | --svg FILE)
  totp-enroll keygen    [--key-id N] [--out FILE]
  totp-enroll keygen    --add N --from-file FILE [--out FILE]

POLICY: [--algorithm sha1|sha256|sha512] [--digits 6|7|8] [--period SECONDS]
--secret - reads the key from standard input (keeps it out of ps and shell history).
code and verify accept legacy keys of 80 bits or more; uri needs at least 128 bits.
keygen makes a new sealing key ring (secret!): --out FILE writes a key file of mode 0600
for KeyRing::from_file; without it, one line for KeyRing::from_env. --add N --from-file
FILE (- for stdin) adds key N as current, keeping the others as retired.
exit status: 0 ok, 1 code rejected (verify), 2 error";

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
                let _ = writeln!(io::stderr(), "{NAME}: {notice}");
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
    let _ = writeln!(io::stderr(), "{NAME}: error: {}", error.0);
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
        "new" => otp::cmd_new(rest),
        "code" => otp::cmd_code(rest),
        "verify" => otp::cmd_verify(rest),
        "uri" => otp::cmd_uri(rest),
        "parse-uri" => otp::cmd_parse_uri(rest),
        "qr" => otp::cmd_qr(rest),
        "keygen" => keygen::cmd_keygen(rest),
        "-h" | "--help" => Ok(Outcome::success(format!("{USAGE}\n"))),
        // Not quoted back: a mistyped command line may start with a key.
        _ => Err(CliError::new(
            "unknown subcommand (expected new, code, verify, uri, parse-uri, qr or keygen)",
        )),
    }
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
