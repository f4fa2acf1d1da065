//! Configuration from the environment, and the sealing key ring.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PORT` | `8080` | port on 127.0.0.1 |
//! | `TOTP_PORTAL_DATA` | `./portal-data` | data directory (SQLite file, key ring file) |
//! | `TOTP_PORTAL_DATABASE_URL` | SQLite file in the data directory | `postgres://…` for PostgreSQL |
//! | `TOTP_PORTAL_KEYS` | key file in the data directory | the key ring as text (see [`load_key_ring`]) |
//! | `TOTP_PORTAL_SECURE_COOKIES` | off | `1`/`true`: cookies get `Secure` (behind TLS) |
//! | `TOTP_PORTAL_SECOND_DEVICE` | `same` | `same`: コード再表示 (the manual); `own`: each device its own app, added and removed on its own |
//! | `TOTP_PORTAL_SECOND_DEVICE_STEP_UP` | off | `1`/`true`: the transaction password too for コード再表示 / 別の端末を追加 |
//! | `TOTP_PORTAL_DEMO_MAILBOX` | off | `1`/`true`: the demo mailbox (every mail the portal would send) at `/desk/mail`, for logged-in operators only |
//! | `TOTP_PORTAL_SESSION_IDLE_SECONDS` | `900` (15 min) | a session ends after this long without a request (60 up to the absolute lifetime) |
//! | `TOTP_PORTAL_SESSION_MAX_SECONDS` | `28800` (8 h) | a session ends this long after its login, however active (at most 7 days) |

use std::fs;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use totp_enroll::error::{KeyRingLoadError, KeyRingTextError};
use totp_enroll::{EnginePolicy, KeyRing, SecondDevice};

use crate::session::SessionLifetimes;
use zeroize::Zeroizing;

/// The file in the data directory that holds the generated key ring.
pub const KEY_FILE: &str = "sealing-keys.txt";
/// The environment variable that holds the key ring as text (instead of the key file).
pub const KEYS_VAR: &str = "TOTP_PORTAL_KEYS";
/// The SQLite file in the data directory.
pub const SQLITE_FILE: &str = "portal.db";

/// Why the portal cannot start with this configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An environment variable has an unusable value.
    #[error("{0} is invalid: {1}")]
    Invalid(&'static str, String),
    /// The data directory or key file could not be read or written.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The key ring could not be loaded from `TOTP_PORTAL_KEYS` or the key file: missing
    /// (on a reload), unreadable, readable by others, too large or malformed (the library's
    /// `KeyRing::from_env` and `KeyRing::from_file`; the message names the variable or
    /// the file, never key material).
    #[error("the sealing key ring: {0}")]
    KeyRing(#[from] KeyRingLoadError),
    /// A key ring text is malformed (the message never contains key material).
    #[error("the sealing key ring is malformed: {0}")]
    KeyRingText(#[from] KeyRingTextError),
    /// No key ring could be generated (the OS random generator failed).
    #[error("generating a sealing key ring: {0}")]
    Generate(#[from] totp_enroll::error::SealError),
}

/// Which database the portal runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file (path or `sqlite:` URL).
    Sqlite(String),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl Database {
    /// Reads `url`: `postgres://` or `postgresql://` is PostgreSQL; `sqlite:` or a path is
    /// SQLite.
    pub fn from_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres(url.to_owned())
        } else {
            Self::Sqlite(url.to_owned())
        }
    }

    /// What to print at start (a PostgreSQL URL without its password).
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("SQLite {path}"),
            Self::Postgres(url) => {
                let without_credentials =
                    url.split_once('@').map_or(url.as_str(), |(_, host)| host);
                format!("PostgreSQL {without_credentials}")
            }
        }
    }
}

/// How a customer's second device gets its codes (`TOTP_PORTAL_SECOND_DEVICE`,
/// `TOTP_PORTAL_SECOND_DEVICE_STEP_UP`): the engine's [`SecondDevice`] and whether the
/// transaction password is asked for too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecondDeviceConfig {
    /// `same` (the default, the manual's コード再表示) or `own` (別の端末を追加).
    pub mode: SecondDevice,
    /// Whether コード再表示, 別の端末を追加 and アプリの削除 also need the transaction
    /// password (unset: the engine's default for the mode, `SecondDevice::step_up_by_default`:
    /// off for `same`, on for `own`).
    pub step_up: bool,
}

impl SecondDeviceConfig {
    /// Reads the two variables' values (`None`: unset).
    pub fn parse(mode: Option<&str>, step_up: Option<&str>) -> Result<Self, ConfigError> {
        let mode = match mode.map(str::trim) {
            None | Some("" | "same") => SecondDevice::SameSecret,
            Some("own") => SecondDevice::OwnSecret,
            Some(_) => {
                return Err(ConfigError::Invalid(
                    "TOTP_PORTAL_SECOND_DEVICE",
                    "expected `same` or `own`".into(),
                ));
            }
        };
        Ok(Self {
            mode,
            step_up: step_up.map_or(mode.step_up_by_default(), is_on),
        })
    }

    /// Whether each device is its own app (`own`).
    pub fn own_secret(&self) -> bool {
        self.mode == SecondDevice::OwnSecret
    }

    /// `policy` with these settings.
    pub fn apply(&self, policy: EnginePolicy) -> EnginePolicy {
        policy
            .with_second_device(self.mode)
            .with_second_device_step_up(self.step_up)
    }
}

/// Reads `TOTP_PORTAL_SESSION_IDLE_SECONDS` and `TOTP_PORTAL_SESSION_MAX_SECONDS`
/// (`None`: unset, the default): whole seconds within [`SessionLifetimes::new`]'s bounds.
pub fn parse_session_lifetimes(
    idle: Option<&str>,
    max: Option<&str>,
) -> Result<SessionLifetimes, ConfigError> {
    const IDLE: &str = "TOTP_PORTAL_SESSION_IDLE_SECONDS";
    const MAX: &str = "TOTP_PORTAL_SESSION_MAX_SECONDS";
    let seconds = |name: &'static str, value: Option<&str>, default: u64| match value {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse::<u64>()
            .map_err(|_| ConfigError::Invalid(name, "not a whole number of seconds".into())),
    };
    let idle_seconds = seconds(IDLE, idle, SessionLifetimes::DEFAULT_IDLE)?;
    let max_seconds = seconds(MAX, max, SessionLifetimes::DEFAULT_ABSOLUTE)?;
    SessionLifetimes::new(idle_seconds, max_seconds).map_err(|e| {
        let name = match e {
            crate::session::LifetimeError::AbsoluteTooLong { .. } => MAX,
            _ => IDLE,
        };
        ConfigError::Invalid(name, e.to_string())
    })
}

/// A switch's value: `1`, `true` or `yes`.
fn is_on(value: &str) -> bool {
    matches!(value.trim(), "1" | "true" | "yes")
}

/// The portal's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub addr: SocketAddr,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The database.
    pub database: Database,
    /// Whether cookies are marked `Secure`.
    pub secure_cookies: bool,
    /// How a second device gets its codes.
    pub second_device: SecondDeviceConfig,
    /// Session lifetimes.
    pub session_lifetimes: SessionLifetimes,
    /// Whether the demo mailbox is served (at `/desk/mail`, to operators).
    pub demo_mailbox: bool,
}

impl Config {
    /// Reads the configuration from the environment (see the module docs).
    pub fn from_env() -> Result<Self, ConfigError> {
        let port = match std::env::var("PORT") {
            Ok(port) => port
                .trim()
                .parse::<u16>()
                .map_err(|_| ConfigError::Invalid("PORT", "not a port number".into()))?,
            Err(_) => 8080,
        };
        let data_dir = std::env::var_os("TOTP_PORTAL_DATA")
            .map_or_else(|| PathBuf::from("./portal-data"), PathBuf::from);
        let database = match std::env::var("TOTP_PORTAL_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Database::from_url(url.trim()),
            _ => {
                let file = data_dir.join(SQLITE_FILE);
                let path = file.to_str().ok_or_else(|| {
                    ConfigError::Invalid("TOTP_PORTAL_DATA", "not valid UTF-8".into())
                })?;
                Database::Sqlite(path.to_owned())
            }
        };
        let secure_cookies = std::env::var("TOTP_PORTAL_SECURE_COOKIES").is_ok_and(|v| is_on(&v));
        let demo_mailbox = std::env::var("TOTP_PORTAL_DEMO_MAILBOX").is_ok_and(|v| is_on(&v));
        let second_device = SecondDeviceConfig::parse(
            std::env::var("TOTP_PORTAL_SECOND_DEVICE").ok().as_deref(),
            std::env::var("TOTP_PORTAL_SECOND_DEVICE_STEP_UP")
                .ok()
                .as_deref(),
        )?;
        let session_lifetimes = parse_session_lifetimes(
            std::env::var("TOTP_PORTAL_SESSION_IDLE_SECONDS")
                .ok()
                .as_deref(),
            std::env::var("TOTP_PORTAL_SESSION_MAX_SECONDS")
                .ok()
                .as_deref(),
        )?;
        Ok(Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            data_dir,
            database,
            secure_cookies,
            second_device,
            session_lifetimes,
            demo_mailbox,
        })
    }

    /// Creates the data directory (mode 0700) if it is missing.
    pub fn ensure_data_dir(&self) -> Result<(), ConfigError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.data_dir)
            .map_err(|e| ConfigError::Io(format!("creating {}", self.data_dir.display()), e))
    }
}

/// Where the key ring came from (printed at start; the keys never are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `TOTP_PORTAL_KEYS`.
    Environment,
    /// An existing key file.
    File(PathBuf),
    /// A key file generated just now.
    Generated(PathBuf),
}

/// THE one place that reads sealing keys at start (and [`read_key_file`] on a reload):
/// from the environment variable `keys_var` if it is given and set (`TOTP_PORTAL_KEYS`,
/// [`KEYS_VAR`]; `None` in tests: the key file only), else from the key file in
/// `data_dir`, generating it (mode 0600, never overwritten) on first start.
///
/// The reading is the library's: [`KeyRing::from_env`] and [`KeyRing::from_file`] (a key
/// file is refused unless only its owner may access it, and judged on the file opened).
/// Both hold the library's text form ([`KeyRing::from_text`], e.g. from
/// `totp-enroll keygen --out FILE`):
/// `totp-enroll-keys/v1; current=1; 1=<32 bytes in base64>`, one entry per line or `;`
/// separated, retired keys as further `ID=KEY` entries, `#` comments.
pub fn load_key_ring(
    keys_var: Option<&str>,
    data_dir: &Path,
) -> Result<(KeyRing, KeyOrigin), ConfigError> {
    if let Some(var) = keys_var {
        match KeyRing::from_env(var) {
            Ok(ring) => return Ok((ring, KeyOrigin::Environment)),
            Err(KeyRingLoadError::NotSet { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    let path = data_dir.join(KEY_FILE);
    match KeyRing::from_file(&path) {
        Ok(ring) => return Ok((ring, KeyOrigin::File(path))),
        Err(KeyRingLoadError::NotFound { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    let text = generate_key_ring_text()?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| ConfigError::Io(format!("creating {}", path.display()), e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| ConfigError::Io(format!("writing {}", path.display()), e))?;
    Ok((key_ring_from_text(&text)?, KeyOrigin::Generated(path)))
}

/// Reads the existing key file at `path` again (the reload on SIGHUP): as
/// [`load_key_ring`] reads it ([`KeyRing::from_file`]), but a missing file is an error,
/// never a new ring.
pub fn read_key_file(path: &Path) -> Result<KeyRing, ConfigError> {
    Ok(KeyRing::from_file(path)?)
}

/// A new key ring in the text form of [`load_key_ring`] (key id 1, 32 random bytes),
/// with a comment line for the file.
pub fn generate_key_ring_text() -> Result<Zeroizing<String>, ConfigError> {
    let ring = KeyRing::generate_text(1)?;
    let comment =
        "# Sealing keys of the totp-enroll portal. Keep secret; back up with the database.\n";
    let mut text = Zeroizing::new(String::with_capacity(
        comment.len().saturating_add(ring.len()).saturating_add(1),
    ));
    text.push_str(comment);
    text.push_str(&ring);
    text.push('\n');
    Ok(text)
}

/// Parses the text form of [`load_key_ring`] (the library's [`KeyRing::from_text`]).
pub fn key_ring_from_text(text: &str) -> Result<KeyRing, ConfigError> {
    Ok(KeyRing::from_text(text)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn generated_text_parses_and_holds_a_random_key() {
        let a = generate_key_ring_text().unwrap();
        let b = generate_key_ring_text().unwrap();
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(key_ring_from_text(&a).unwrap().current_key_id(), 1);
    }

    #[test]
    fn malformed_text_is_refused_without_echoing_it() {
        for bad in [
            "",
            "1=AAAA",
            "totp-enroll-keys/v1\n",
            "totp-enroll-keys/v1\ncurrent=1\nx=AAAA",
            "totp-enroll-keys/v1\ncurrent=1\n1=AAAA",
            "totp-enroll-keys/v1\ncurrent=1\n1=!!!",
        ] {
            let error = key_ring_from_text(bad).unwrap_err().to_string();
            assert!(!error.contains("AAAA"), "{error}");
        }
    }

    #[test]
    fn the_key_file_is_created_owner_only_and_read_back() {
        let dir = std::env::temp_dir().join(format!("portal-keys-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let (_, origin) = load_key_ring(None, &dir).unwrap();
        let path = dir.join(KEY_FILE);
        assert_eq!(origin, KeyOrigin::Generated(path.clone()));
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let (_, origin) = load_key_ring(None, &dir).unwrap();
        assert_eq!(origin, KeyOrigin::File(path.clone()));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let refused = load_key_ring(None, &dir).unwrap_err();
        assert!(
            matches!(
                refused,
                ConfigError::KeyRing(KeyRingLoadError::Permissions { mode: 0o644, .. })
            ),
            "a world-readable key file is refused, never replaced: {refused}"
        );
        assert!(refused.to_string().contains("chmod 600"), "{refused}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_second_device_setting_is_same_or_own() {
        let default = SecondDeviceConfig::parse(None, None).unwrap();
        assert_eq!(default, SecondDeviceConfig::default());
        assert_eq!(default.mode, SecondDevice::SameSecret);
        assert!(!default.step_up && !default.own_secret());
        let own = SecondDeviceConfig::parse(Some(" own "), Some("1")).unwrap();
        assert!(own.own_secret() && own.step_up);
        let policy = own.apply(crate::app::default_policy().unwrap());
        assert_eq!(policy.second_device(), SecondDevice::OwnSecret);
        assert!(
            !SecondDeviceConfig::parse(Some("same"), Some("0"))
                .unwrap()
                .step_up
        );
        // `own` asks for the transaction password unless told not to (the engine's
        // default for that mode); `same` keeps the manual's screens.
        let own_by_default = SecondDeviceConfig::parse(Some("own"), None).unwrap();
        assert!(own_by_default.step_up);
        assert!(
            own_by_default
                .apply(crate::app::default_policy().unwrap())
                .second_device_step_up()
        );
        assert!(
            !SecondDeviceConfig::parse(Some("own"), Some("0"))
                .unwrap()
                .step_up
        );
        let error = SecondDeviceConfig::parse(Some("both"), None).unwrap_err();
        assert!(
            error.to_string().contains("TOTP_PORTAL_SECOND_DEVICE"),
            "{error}"
        );
    }

    #[test]
    fn session_lifetimes_default_to_15_minutes_and_8_hours_and_are_validated() {
        let default = parse_session_lifetimes(None, None).unwrap();
        assert_eq!((default.idle(), default.absolute()), (900, 28_800));
        let set = parse_session_lifetimes(Some(" 300 "), Some("3600")).unwrap();
        assert_eq!((set.idle(), set.absolute()), (300, 3600));
        for (idle, max, named) in [
            (Some("0"), None, "TOTP_PORTAL_SESSION_IDLE_SECONDS"),
            (Some("15m"), None, "TOTP_PORTAL_SESSION_IDLE_SECONDS"),
            (Some("-1"), None, "TOTP_PORTAL_SESSION_IDLE_SECONDS"),
            (None, Some("600"), "TOTP_PORTAL_SESSION_IDLE_SECONDS"),
            (None, Some("604801"), "TOTP_PORTAL_SESSION_MAX_SECONDS"),
            (None, Some(""), "TOTP_PORTAL_SESSION_MAX_SECONDS"),
        ] {
            let error = parse_session_lifetimes(idle, max).unwrap_err().to_string();
            assert!(error.contains(named), "{idle:?} {max:?}: {error}");
        }
    }

    #[test]
    fn postgres_urls_are_told_apart_and_described_without_password() {
        let db = Database::from_url("postgres://portal:hunter2@db.local:5432/portal");
        assert!(matches!(db, Database::Postgres(_)));
        assert!(!db.describe().contains("hunter2"));
        assert!(matches!(
            Database::from_url("portal-data/portal.db"),
            Database::Sqlite(_)
        ));
    }
}
