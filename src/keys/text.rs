//! Key rings as text, for an environment variable or a secret file.
//!
//! A portal that restarts needs its sealing keys back. This module reads a [`KeyRing`]
//! from a small, versioned text form ([`KeyRing::from_text`]), writes one
//! ([`KeyRing::export_text`]) and creates a fresh one ([`KeyRing::generate_text`],
//! `totp-enroll keygen`, the crate's command line). [`KeyRing::from_env`] and
//! [`KeyRing::from_file`] read it from where a service keeps it.
//!
//! # The text form (version 1)
//!
//! ```text
//! totp-enroll-keys/v1; current=2; 1=<base64 of 32 bytes>; 2=<base64 of 32 bytes>
//! ```
//!
//! * The text is a list of *entries*, separated by `;` or by line breaks (`\n` or `\r\n`),
//!   so the whole ring fits on one line (one environment variable) or one entry per line
//!   (a file). Both separators may be mixed.
//! * ASCII whitespace around entries and around `=` is ignored; empty entries (blank lines,
//!   `;;`, a trailing `;`) are skipped.
//! * `#` starts a comment that runs to the end of its line (including any `;` entries after
//!   it on that line). No valid entry contains `#`.
//! * The first entry is the version header, exactly `totp-enroll-keys/v1`.
//! * `current=ID` names the key that seals, exactly once. The others only open records
//!   sealed before a rotation (they are *retired*).
//! * `ID=KEY` is one key: `ID` a key id, a decimal `u32` (`0` to `4294967295`, no sign, no
//!   leading zero), `KEY` 32 bytes (256 bits) in standard base64 (RFC 4648 §4, `+` and `/`,
//!   with `=` padding: 44 characters), canonical (no non-zero unused bits). A key id
//!   appears at most once. Entries may come in any order.
//! * At most [`KeyRing::MAX_TEXT_BYTES`] bytes.
//!
//! The same ring as a file:
//!
//! ```text
//! # /run/secrets/totp-enroll-keys (mode 0600)
//! totp-enroll-keys/v1
//! current=2
//! 1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=   # retired 2026-11-01
//! 2=ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=
//! ```
//!
//! (These keys are examples; never use a key that has been written down anywhere but in
//! your secret store.)
//!
//! # Errors and secrecy
//!
//! A refusal is a [`KeyRingTextError`] naming the faulty entry by its 1-based position
//! among the entries (the header is entry 1; comments and empty entries are not counted)
//! and its 1-based line, and the problem. It never contains any of the text it was given:
//! no key, no key id text, no fragment of an entry.
//!
//! Keys are decoded with `base64ct` (constant-time in the key bytes) into buffers that are
//! zeroized on drop and sized before decoding, so they never reallocate.

use crate::error::KeyRingTextError;
use core::fmt::Write as _;

use base64ct::{Base64, Encoding as _};
use zeroize::Zeroizing;

use crate::error::SealError;
use crate::keys::KeyRing;

/// The version header: the first entry of every key ring text.
const HEADER: &str = "totp-enroll-keys/v1";
/// The header without its version number, to tell another version from no header.
const HEADER_PREFIX: &str = "totp-enroll-keys/v";
/// The name of the entry that names the current key.
const CURRENT: &str = "current";
/// Bytes of one key.
const KEY_BYTES: usize = 32;
/// Base64 characters of one key (with padding).
const KEY_BASE64_CHARS: usize = 44;
/// The longest entry [`KeyRing::export_text`] writes: `; ` + 10 digits + `=` + the key.
const MAX_EXPORTED_ENTRY: usize = 2 + 10 + 1 + KEY_BASE64_CHARS;

impl KeyRingTextError {
    /// The 1-based position of the faulty entry, when one entry is at fault.
    pub fn entry(&self) -> Option<usize> {
        match *self {
            Self::MissingVersion { entry, .. }
            | Self::UnsupportedVersion { entry, .. }
            | Self::MalformedEntry { entry, .. }
            | Self::InvalidKeyId { entry, .. }
            | Self::DuplicateCurrent { entry, .. }
            | Self::UnknownCurrent { entry, .. }
            | Self::DuplicateKeyId { entry, .. }
            | Self::InvalidBase64 { entry, .. }
            | Self::KeyLength { entry, .. } => Some(entry),
            Self::Empty | Self::TooLong { .. } | Self::MissingCurrent => None,
        }
    }

    /// The 1-based line of the faulty entry, when one entry is at fault.
    pub fn line(&self) -> Option<usize> {
        match *self {
            Self::MissingVersion { line, .. }
            | Self::UnsupportedVersion { line, .. }
            | Self::MalformedEntry { line, .. }
            | Self::InvalidKeyId { line, .. }
            | Self::DuplicateCurrent { line, .. }
            | Self::UnknownCurrent { line, .. }
            | Self::DuplicateKeyId { line, .. }
            | Self::InvalidBase64 { line, .. }
            | Self::KeyLength { line, .. } => Some(line),
            Self::Empty | Self::TooLong { .. } | Self::MissingCurrent => None,
        }
    }
}

impl KeyRing {
    /// The longest key ring text [`KeyRing::from_text`] examines, in bytes (16 KiB: a few
    /// hundred keys with comments).
    pub const MAX_TEXT_BYTES: usize = 16 * 1024;

    /// Loads a key ring from its text form, e.g. an environment variable or a secret file
    /// (which [`KeyRing::from_env`] and [`KeyRing::from_file`] read, with their checks).
    ///
    /// The form (version 1): entries separated by `;` or line breaks; `#` comments to the
    /// end of the line; ASCII whitespace around entries and `=` ignored. The first entry is
    /// the header `totp-enroll-keys/v1`; `current=ID` names the sealing key, exactly once;
    /// each `ID=KEY` entry is a key id (decimal `u32`, no leading zero, each at most once)
    /// and a 32-byte key in standard padded base64 (44 characters). The keys other than
    /// the current one are retired: they open old records and never seal.
    ///
    /// ```
    /// use totp_enroll::{AccountId, KeyRing, error::KeyRingTextError, otp::Secret};
    ///
    /// // What `totp-enroll keygen` prints, e.g. TOTP_ENROLL_KEYS in the environment.
    /// let text = "totp-enroll-keys/v1; current=2; \
    ///             1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=; \
    ///             2=ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    /// let keys = KeyRing::from_text(text)?;
    /// assert_eq!(keys.current_key_id(), 2);
    /// assert_eq!(keys.key_ids(), [1, 2]);
    ///
    /// let account = AccountId::new("taro")?;
    /// let sealed = keys.seal(&Secret::generate()?, &account)?;
    /// assert_eq!(sealed.key_id(), 2);
    ///
    /// // The same ring, one entry per line, with comments.
    /// let file = "# /run/secrets/totp-enroll-keys\n\
    ///             totp-enroll-keys/v1\n\
    ///             current = 2\n\
    ///             2=ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=  # since 2026-11\n\
    ///             1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
    /// assert!(KeyRing::from_text(file)?.open(&sealed, &account).is_ok());
    ///
    /// // A refusal names the entry, never the key.
    /// let truncated = "totp-enroll-keys/v1; current=1; 1=AAECAwQFBgcICQoLDA0ODxAR";
    /// let error = KeyRing::from_text(truncated).unwrap_err();
    /// assert_eq!(error, KeyRingTextError::KeyLength { entry: 3, line: 1, bytes: 18 });
    /// assert!(!error.to_string().contains("AAECAwQF"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`KeyRingTextError`] naming the first faulty entry (its position and line) and the
    /// problem; it never contains any of `text`.
    pub fn from_text(text: &str) -> Result<Self, KeyRingTextError> {
        if text.len() > Self::MAX_TEXT_BYTES {
            return Err(KeyRingTextError::TooLong {
                max: Self::MAX_TEXT_BYTES,
            });
        }
        let header = entries(text).next().ok_or(KeyRingTextError::Empty)?;
        check_header(header)?;

        // Pass 1: every entry checked in order (keys decoded and dropped), so the error
        // names the first faulty entry.
        let mut current: Option<(u32, Entry<'_>)> = None;
        let mut seen: Vec<(u32, usize)> = Vec::new();
        for at in entries(text).skip(1) {
            match item(at)? {
                Item::Current(key_id) => match current {
                    Some((_, first)) => {
                        return Err(KeyRingTextError::DuplicateCurrent {
                            entry: at.entry,
                            line: at.line,
                            first: first.entry,
                        });
                    }
                    None => current = Some((key_id, at)),
                },
                Item::Key(key_id, value) => {
                    if let Some(&(_, first)) = seen.iter().find(|(id, _)| *id == key_id) {
                        return Err(KeyRingTextError::DuplicateKeyId {
                            entry: at.entry,
                            line: at.line,
                            key_id,
                            first,
                        });
                    }
                    drop(decode_key(value, at)?);
                    seen.push((key_id, at.entry));
                }
            }
        }
        let (current_id, current_at) = current.ok_or(KeyRingTextError::MissingCurrent)?;
        let unknown_current = KeyRingTextError::UnknownCurrent {
            entry: current_at.entry,
            line: current_at.line,
            key_id: current_id,
        };
        if !seen.iter().any(|(id, _)| *id == current_id) {
            return Err(unknown_current);
        }

        // Pass 2: the ring. The first key starts it; the current key, when it comes later,
        // is rotated in (the keys before it stay); every other key is added as retired.
        let mut ring: Option<Self> = None;
        for at in entries(text).skip(1) {
            let Item::Key(key_id, value) = item(at)? else {
                continue;
            };
            let key = decode_key(value, at)?;
            ring = Some(match ring {
                None => Self::new(key_id, *key),
                Some(mut ring) if key_id == current_id => {
                    ring.rotate(key_id, *key);
                    ring
                }
                Some(ring) => ring.with_retired(key_id, *key),
            });
        }
        ring.filter(|ring| ring.current_key_id() == current_id)
            .ok_or(unknown_current)
    }

    /// The key ring in its text form (see [`KeyRing::from_text`]): one line, the header,
    /// `current=ID`, then the keys by ascending id, separated by `; `, no line break.
    ///
    /// **This is every key of the ring in clear**: write it only to a secret manager or a
    /// file readable by its owner only, never to a log. The buffer is zeroized on drop.
    pub fn export_text(&self) -> Zeroizing<String> {
        // References only: no copy of a key outside the ring and the output buffer.
        let mut keys: Vec<(u32, &[u8; KEY_BYTES])> = self.expose_keys().collect();
        keys.sort_unstable_by_key(|(key_id, _)| *key_id);
        let capacity = HEADER
            .len()
            .saturating_add(MAX_EXPORTED_ENTRY.saturating_mul(keys.len().saturating_add(1)));
        let mut out = Zeroizing::new(String::with_capacity(capacity));
        out.push_str(HEADER);
        // Writing to a `String` cannot fail.
        let _ = write!(out, "; {CURRENT}={}", self.current_key_id());
        let mut encoded = Zeroizing::new([0u8; KEY_BASE64_CHARS]);
        for (key_id, key) in keys {
            let _ = write!(out, "; {key_id}=");
            // 44 bytes is exactly the padded base64 length of 32 bytes: encoding cannot fail.
            if let Ok(text) = Base64::encode(key, encoded.as_mut_slice()) {
                out.push_str(text);
            }
        }
        out
    }

    /// A fresh ring of one random 256-bit key (from the OS CSPRNG) under `key_id`, in its
    /// text form, as `totp-enroll keygen` prints it. Secret: see [`KeyRing::export_text`].
    ///
    /// ```
    /// use totp_enroll::KeyRing;
    ///
    /// let text = KeyRing::generate_text(1)?;
    /// assert!(text.starts_with("totp-enroll-keys/v1; current=1; 1="));
    /// assert_eq!(KeyRing::from_text(&text)?.current_key_id(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SealError::Seal`] when the operating system's random number generator fails.
    pub fn generate_text(key_id: u32) -> Result<Zeroizing<String>, SealError> {
        Ok(Self::generate(key_id)?.export_text())
    }

    /// The ids of the ring's keys (the current one and the retired ones), ascending. Not
    /// secret.
    pub fn key_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.expose_keys().map(|(key_id, _)| key_id).collect();
        ids.sort_unstable();
        ids
    }
}

/// One entry of a key ring text: its content (trimmed) and where it is.
#[derive(Clone, Copy)]
struct Entry<'a> {
    /// 1-based position among the entries.
    entry: usize,
    /// 1-based line.
    line: usize,
    /// The entry without surrounding whitespace; never empty.
    text: &'a str,
}

/// What an entry after the header says.
enum Item<'a> {
    /// `current=ID`.
    Current(u32),
    /// `ID=KEY`, the key still in base64.
    Key(u32, &'a str),
}

fn trim(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_ascii_whitespace())
}

/// The non-empty entries of `text`, comments removed, numbered from 1.
fn entries(text: &str) -> impl Iterator<Item = Entry<'_>> {
    text.split('\n')
        .zip(1usize..)
        .flat_map(|(line_text, line)| {
            let content = line_text.split('#').next().unwrap_or_default();
            content.split(';').map(move |piece| (line, trim(piece)))
        })
        .filter(|(_, text)| !text.is_empty())
        .zip(1usize..)
        .map(|((line, text), entry)| Entry { entry, line, text })
}

fn check_header(at: Entry<'_>) -> Result<(), KeyRingTextError> {
    if at.text == HEADER {
        return Ok(());
    }
    match at.text.strip_prefix(HEADER_PREFIX).and_then(parse_decimal) {
        Some(version) => Err(KeyRingTextError::UnsupportedVersion {
            entry: at.entry,
            line: at.line,
            version,
        }),
        None => Err(KeyRingTextError::MissingVersion {
            entry: at.entry,
            line: at.line,
        }),
    }
}

fn item(at: Entry<'_>) -> Result<Item<'_>, KeyRingTextError> {
    let (name, value) = at
        .text
        .split_once('=')
        .ok_or(KeyRingTextError::MalformedEntry {
            entry: at.entry,
            line: at.line,
        })?;
    let (name, value) = (trim(name), trim(value));
    let invalid_id = KeyRingTextError::InvalidKeyId {
        entry: at.entry,
        line: at.line,
    };
    if name == CURRENT {
        parse_decimal(value).map(Item::Current).ok_or(invalid_id)
    } else {
        parse_decimal(name)
            .map(|key_id| Item::Key(key_id, value))
            .ok_or(invalid_id)
    }
}

/// A decimal `u32`: ASCII digits only, no sign, no leading zero (but `0` itself).
fn parse_decimal(text: &str) -> Option<u32> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// Decodes one key (constant-time base64) into zeroizing buffers sized before decoding.
fn decode_key(value: &str, at: Entry<'_>) -> Result<Zeroizing<[u8; KEY_BYTES]>, KeyRingTextError> {
    // Base64 never decodes to more bytes than it has characters.
    let mut buffer = Zeroizing::new(vec![0u8; value.len()]);
    let decoded = Base64::decode(value, buffer.as_mut_slice()).map_err(|_| {
        KeyRingTextError::InvalidBase64 {
            entry: at.entry,
            line: at.line,
        }
    })?;
    if decoded.len() != KEY_BYTES {
        return Err(KeyRingTextError::KeyLength {
            entry: at.entry,
            line: at.line,
            bytes: decoded.len(),
        });
    }
    let mut key = Zeroizing::new([0u8; KEY_BYTES]);
    for (out, byte) in key.iter_mut().zip(decoded) {
        *out = *byte;
    }
    Ok(key)
}
