//! Key rings from an environment variable or a key file: the loading every service needs
//! at start, done once here rather than in each service's own glue.
//!
//! * [`KeyRing::from_env`]: the text form ([`KeyRing::from_text`]) in an environment
//!   variable.
//! * [`KeyRing::from_file`]: the text form in a file only its owner may access.
//! * [`KeyRing::from_env_or_file`]: one variable holding the ring, or another naming a file
//!   that holds it (`TOTP_ENROLL_KEYS` / `TOTP_ENROLL_KEYS_FILE`, the convention of Docker
//!   and Kubernetes secrets mounted as files).
//!
//! # What is checked on a key file
//!
//! * It is opened once, and everything is judged on the file opened (its `fstat`, through
//!   [`File::metadata`]), so a file swapped in after a check is never the one read. A
//!   symbolic link is followed (a Kubernetes secret volume is made of them) and judged by
//!   its target.
//! * It is a regular file (checked before opening too, so that a FIFO never blocks the
//!   open): never a directory, a device, a FIFO or a socket.
//! * On Unix, its group and others have no access at all (`mode & 0o077 == 0`: `0600` or
//!   `0400`), or it is refused unread, with its mode and `chmod 600` in the error. The
//!   owner is not compared with the process's user: std has no way to ask for the
//!   process's user id without `libc` (and `unsafe`).
//! * It is at most [`KeyRing::MAX_TEXT_BYTES`] long, the longest text
//!   [`KeyRing::from_text`] reads: a larger file is refused before it is read, and the
//!   read stops after that many bytes, should the file grow meanwhile.
//! * It is read into one buffer allocated before reading (it never reallocates, so no copy
//!   of a key is left behind) and zeroized when dropped; the same for a variable's value.
//!
//! No error holds any of the text: a [`KeyRingLoadError`] names the variable or the file,
//! and a malformed text's entry by position ([`KeyRingTextError`]).
//!
//! [`KeyRingTextError`]: crate::error::KeyRingTextError

use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io::{ErrorKind, Read as _};
use std::path::{Path, PathBuf};

use zeroize::{Zeroize as _, Zeroizing};

use crate::error::KeyRingLoadError;
use crate::keys::KeyRing;

impl KeyRing {
    /// Loads a key ring from the environment variable `var`, which holds its text form
    /// ([`KeyRing::from_text`], e.g. what `totp-enroll keygen` prints).
    ///
    /// The value is read into memory that is zeroized when this returns. The process's
    /// environment itself keeps it, and child processes inherit it: a key file
    /// ([`KeyRing::from_file`]) keeps the keys out of both.
    ///
    /// ```
    /// use totp_enroll::{KeyRing, error::KeyRingLoadError};
    ///
    /// match KeyRing::from_env("TOTP_ENROLL_KEYS") {
    ///     Ok(keys) => println!("sealing under key {}", keys.current_key_id()),
    ///     // The error names the variable, never its value.
    ///     Err(KeyRingLoadError::NotSet { var }) => assert_eq!(var, "TOTP_ENROLL_KEYS"),
    ///     Err(error) => return Err(error.into()),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`KeyRingLoadError::NotSet`] and [`KeyRingLoadError::NotUnicode`] naming the
    /// variable; [`KeyRingLoadError::Text`] naming it and the faulty entry (never a key)
    /// when the value is not a key ring text (an empty value is
    /// [`KeyRingTextError::Empty`](crate::error::KeyRingTextError::Empty)).
    pub fn from_env(var: &str) -> Result<Self, KeyRingLoadError> {
        let value = std::env::var_os(var).ok_or_else(|| KeyRingLoadError::NotSet {
            var: var.to_owned(),
        })?;
        Self::from_env_value(var, value)
    }

    /// Loads a key ring from the file at `path`, which holds its text form
    /// ([`KeyRing::from_text`]; one entry per line, `#` comments, as
    /// `totp-enroll keygen --out FILE` writes it, mode 0600).
    ///
    /// On Unix the file must be its owner's only (`mode & 0o077 == 0`, e.g. `0600` or
    /// `0400`): a file its group or others may access is refused unread. A symbolic link is
    /// followed and judged by the file it leads to; the checks and the read are on the
    /// same open file, so a file swapped in meanwhile is never read. At most
    /// [`KeyRing::MAX_TEXT_BYTES`] bytes, read into memory that is zeroized when this
    /// returns.
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use std::io::Write as _;
    /// use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    /// use totp_enroll::{KeyRing, error::KeyRingLoadError};
    ///
    /// let path = std::env::temp_dir().join(format!("doc-keys-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let mut file = std::fs::OpenOptions::new()
    ///     .write(true)
    ///     .create_new(true)
    ///     .mode(0o600)
    ///     .open(&path)?;
    /// file.write_all(KeyRing::generate_text(1)?.as_bytes())?;
    /// assert_eq!(KeyRing::from_file(&path)?.current_key_id(), 1);
    ///
    /// // Readable by the group: refused, unread.
    /// std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640))?;
    /// let refused = KeyRing::from_file(&path).unwrap_err();
    /// assert!(matches!(refused, KeyRingLoadError::Permissions { mode: 0o640, .. }));
    /// assert!(refused.to_string().contains("chmod 600"));
    /// std::fs::remove_file(&path)?;
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`KeyRingLoadError`] naming the file: [`NotFound`](KeyRingLoadError::NotFound),
    /// [`Io`](KeyRingLoadError::Io), [`NotAFile`](KeyRingLoadError::NotAFile),
    /// [`Permissions`](KeyRingLoadError::Permissions) (with the mode),
    /// [`TooLarge`](KeyRingLoadError::TooLarge), [`NotUtf8`](KeyRingLoadError::NotUtf8),
    /// or [`Text`](KeyRingLoadError::Text) naming the faulty entry, never a key.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, KeyRingLoadError> {
        let path = path.as_ref();
        let bytes = read_key_file(path)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| KeyRingLoadError::NotUtf8 {
            path: path.to_path_buf(),
        })?;
        Self::from_text(text).map_err(|error| KeyRingLoadError::Text {
            origin: format!("the key file {}", path.display()),
            error,
        })
    }

    /// Loads a key ring from the environment variable `var` ([`KeyRing::from_env`]) or
    /// from the file named by the variable `file_var` ([`KeyRing::from_file`], with its
    /// checks): exactly one of the two must be set. This is the convention of secrets
    /// mounted as files (Docker, Kubernetes): `TOTP_ENROLL_KEYS` for the ring itself, or
    /// `TOTP_ENROLL_KEYS_FILE=/run/secrets/totp-enroll-keys`.
    ///
    /// A variable counts as set when it is present, even empty. Both set is refused
    /// rather than one of them silently winning.
    ///
    /// ```no_run
    /// use totp_enroll::KeyRing;
    ///
    /// // docker run -e TOTP_ENROLL_KEYS_FILE=/run/secrets/totp-enroll-keys …
    /// // (a Docker secret or a Kubernetes secret volume: give it mode 0400, e.g.
    /// // `defaultMode: 0400`; the default 0444/0644 is refused)
    /// let keys = KeyRing::from_env_or_file("TOTP_ENROLL_KEYS", "TOTP_ENROLL_KEYS_FILE")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`KeyRingLoadError::BothSet`] or [`KeyRingLoadError::NeitherSet`] naming both
    /// variables; otherwise the errors of [`KeyRing::from_env`] or
    /// [`KeyRing::from_file`].
    pub fn from_env_or_file(var: &str, file_var: &str) -> Result<Self, KeyRingLoadError> {
        match (std::env::var_os(var), std::env::var_os(file_var)) {
            (Some(value), None) => Self::from_env_value(var, value),
            (None, Some(path)) => Self::from_file(PathBuf::from(path)),
            (Some(value), Some(_)) => {
                drop(Zeroizing::new(value.into_encoded_bytes()));
                Err(KeyRingLoadError::BothSet {
                    var: var.to_owned(),
                    file_var: file_var.to_owned(),
                })
            }
            (None, None) => Err(KeyRingLoadError::NeitherSet {
                var: var.to_owned(),
                file_var: file_var.to_owned(),
            }),
        }
    }

    /// The ring in `value`, the value of the environment variable `var`.
    fn from_env_value(var: &str, value: OsString) -> Result<Self, KeyRingLoadError> {
        // `into_string` reuses the buffer: no copy of the text is left behind.
        let text = match value.into_string() {
            Ok(text) => Zeroizing::new(text),
            Err(value) => {
                value.into_encoded_bytes().zeroize();
                return Err(KeyRingLoadError::NotUnicode {
                    var: var.to_owned(),
                });
            }
        };
        Self::from_text(&text).map_err(|error| KeyRingLoadError::Text {
            origin: format!("the environment variable {var}"),
            error,
        })
    }
}

/// The bytes of the key file at `path`, after the checks of the module's documentation.
fn read_key_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyRingLoadError> {
    let io_error = |source: std::io::Error| match source.kind() {
        ErrorKind::NotFound => KeyRingLoadError::NotFound {
            path: path.to_path_buf(),
        },
        _ => KeyRingLoadError::Io {
            path: path.to_path_buf(),
            source,
        },
    };
    // Before opening: opening a FIFO would block until a writer comes.
    check_file_type(path, &std::fs::metadata(path).map_err(io_error)?)?;
    let mut file = File::open(path).map_err(io_error)?;
    // The authority: the file opened, whatever the path names by now.
    let metadata = file.metadata().map_err(io_error)?;
    check_file_type(path, &metadata)?;
    check_permissions(path, &metadata)?;
    let max = KeyRing::MAX_TEXT_BYTES;
    let too_large = || KeyRingLoadError::TooLarge {
        path: path.to_path_buf(),
        max,
    };
    if metadata.len() > u64::try_from(max).unwrap_or(u64::MAX) {
        return Err(too_large());
    }
    // One byte more than the limit, to tell a file that grew past it.
    let mut buffer = Zeroizing::new(vec![0u8; max.saturating_add(1)]);
    let mut filled = 0usize;
    while let Some(rest) = buffer.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match file.read(rest) {
            Ok(0) => break,
            Ok(read) => filled = filled.saturating_add(read),
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(io_error(error)),
        }
    }
    if filled > max {
        return Err(too_large());
    }
    // The bytes after `filled` are zeros; the whole capacity is zeroized on drop.
    buffer.truncate(filled);
    Ok(buffer)
}

fn check_file_type(path: &Path, metadata: &Metadata) -> Result<(), KeyRingLoadError> {
    if metadata.is_file() {
        Ok(())
    } else {
        Err(KeyRingLoadError::NotAFile {
            path: path.to_path_buf(),
        })
    }
}

/// Unix: the file's group and others have no access at all.
#[cfg(unix)]
fn check_permissions(path: &Path, metadata: &Metadata) -> Result<(), KeyRingLoadError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 == 0 {
        Ok(())
    } else {
        Err(KeyRingLoadError::Permissions {
            path: path.to_path_buf(),
            mode,
        })
    }
}

/// Elsewhere there are no Unix modes to check (access is the ACLs' business).
#[cfg(not(unix))]
fn check_permissions(_path: &Path, _metadata: &Metadata) -> Result<(), KeyRingLoadError> {
    Ok(())
}
