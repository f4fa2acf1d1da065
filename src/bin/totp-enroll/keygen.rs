//! `keygen`: a fresh sealing key ring, or a ring rotated to a fresh key; printed, or
//! written to a new key file of mode 0600 (what `KeyRing::from_file` reads).

use std::io::{self, Read as _};

use rand::TryRngCore as _;
use rand::rngs::OsRng;
use totp_enroll::KeyRing;
use zeroize::Zeroizing;

use crate::args::Spec;
use crate::{CliError, Outcome, write_private_file};

/// `keygen`: a fresh key ring, or (`--add N --from-file FILE`) a ring rotated to a fresh
/// key N; printed, or written to `--out FILE`.
pub(crate) fn cmd_keygen(args: &[String]) -> Result<Outcome, CliError> {
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
    let (mut outcome, ring, keep) = match parsed.optional("--out") {
        None => (
            Outcome::secret(text),
            "the key ring above".to_owned(),
            "keep it in a secret manager or a file only its owner can read (chmod 600; \
             --out FILE makes one), never in a log or a repository",
        ),
        Some(path) => {
            write_private_file(path, text.as_bytes())?;
            (
                Outcome::success(format!("wrote {path}\n")),
                path.to_owned(),
                "keep it readable by its owner only (chmod 600, as written: \
                 KeyRing::from_file refuses a key file its group or others may access), \
                 never in a log or a repository",
            )
        }
    };
    outcome.notice = Some(format!(
        "{rotation}{ring} is secret, every sealing key in clear: {keep}"
    ));
    Ok(outcome)
}

/// The key ring in `path` (`-`: standard input) with a fresh random key `key_id` as current.
fn rotated_ring(key_id: u32, path: &str) -> Result<Zeroizing<String>, CliError> {
    let mut keys = if path == "-" {
        let bytes = read_stdin()?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| CliError::new("standard input: the key ring is not UTF-8 text"))?;
        KeyRing::from_text(text).map_err(|e| CliError::new(format!("standard input: {e}")))?
    } else {
        // The library's checks: a regular file only its owner may access, bounded, read
        // into zeroizing memory.
        KeyRing::from_file(path).map_err(|e| CliError::new(e.to_string()))?
    };
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

/// Reads a key ring text of at most `KeyRing::MAX_TEXT_BYTES` from standard input into one
/// zeroizing buffer, allocated before reading so that it never reallocates (no copy of a key
/// is left behind).
fn read_stdin() -> Result<Zeroizing<Vec<u8>>, CliError> {
    let limit = KeyRing::MAX_TEXT_BYTES.saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(limit));
    io::stdin()
        .lock()
        .take(u64::try_from(limit).unwrap_or(u64::MAX))
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::new(format!("cannot read standard input: {e}")))?;
    if bytes.len() > KeyRing::MAX_TEXT_BYTES {
        return Err(CliError::new(format!(
            "standard input: the key ring is longer than {} bytes",
            KeyRing::MAX_TEXT_BYTES
        )));
    }
    Ok(bytes)
}
