//! Error types, one enum per concern.
//!
//! No error in this module ever carries secret material or the text a user
//! typed: positions and counts only, so an error can be logged as it is.

use thiserror::Error;

/// A base32 setup key or a secret's bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The key contained nothing but separators.
    #[error("the setup key is empty")]
    Empty,
    /// The input is longer than any key this crate accepts; it was not examined.
    #[error("the setup key is too long (more than {max} characters)")]
    InputTooLong {
        /// The largest accepted input, in bytes.
        max: usize,
    },
    /// A character outside the RFC 4648 base32 alphabet (`A-Z`, `2-7`, case-insensitive).
    #[error(
        "the setup key has a character outside the base32 alphabet (A-Z, 2-7) at character {position}; \
         the digits 0, 1, 8 and 9 never occur in a base32 key"
    )]
    InvalidCharacter {
        /// 1-based position of the character in the input.
        position: usize,
    },
    /// `=` padding followed by more key characters.
    #[error("the setup key has `=` padding before its end (character {position})")]
    MisplacedPadding {
        /// 1-based position of the first character after the padding.
        position: usize,
    },
    /// A number of base32 characters no byte string encodes to (1, 3 or 6 modulo 8).
    #[error("the setup key has {length} base32 characters, a length no key encodes to")]
    InvalidLength {
        /// Number of base32 characters (separators and padding excluded).
        length: usize,
    },
    /// The unused low bits of the last character are not zero: the text is not
    /// the canonical encoding of any key (often a truncated or mistyped key).
    #[error(
        "the setup key's last character has non-zero unused bits; the key is truncated or mistyped"
    )]
    NonZeroTrailingBits,
    /// The key is shorter than the minimum for this constructor.
    #[error("the key has {bits} bits; at least {min_bits} are required")]
    TooShort {
        /// The key's length in bits.
        bits: usize,
        /// The minimum accepted by the constructor that refused it.
        min_bits: usize,
    },
    /// The key is longer than this crate accepts.
    #[error("the key has {bits} bits; at most {max_bits} are accepted")]
    TooLong {
        /// The key's length in bits.
        bits: usize,
        /// The maximum accepted length in bits.
        max_bits: usize,
    },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator is unavailable")]
    RandomUnavailable,
}

/// An [`OtpPolicy`](crate::OtpPolicy) could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Digits outside `6..=8`.
    #[error("codes must have 6, 7 or 8 digits, not {0}")]
    Digits(u32),
    /// Period outside the accepted range.
    #[error("the period must be between {min} and {max} seconds, not {period}")]
    Period {
        /// The requested period in seconds.
        period: u64,
        /// Smallest accepted period.
        min: u32,
        /// Largest accepted period.
        max: u32,
    },
    /// A window wider than [`Window::MAX_STEPS`](crate::otp::Window::MAX_STEPS) in one direction.
    #[error("the verification window may reach at most {max} steps each way, not {steps}")]
    Window {
        /// The requested number of steps.
        steps: u32,
        /// The largest accepted number of steps.
        max: u8,
    },
    /// The issuer is empty or only whitespace.
    #[error("the issuer must not be empty")]
    EmptyIssuer,
    /// The issuer contains `:`, which separates issuer and account in the key URI label.
    #[error("the issuer must not contain ':'")]
    IssuerContainsColon,
    /// The issuer contains a control character.
    #[error("the issuer must not contain control characters")]
    IssuerContainsControl,
    /// The issuer contains an invisible, bidirectional-control or line/paragraph-separator
    /// character (display spoofing).
    #[error("the issuer must not contain invisible or bidirectional-control characters")]
    IssuerContainsInvisible,
    /// The issuer is longer than [`OtpPolicy::MAX_ISSUER_BYTES`](crate::OtpPolicy::MAX_ISSUER_BYTES).
    #[error("the issuer is longer than {max} bytes")]
    IssuerTooLong {
        /// The limit in UTF-8 bytes.
        max: usize,
    },
    /// The algorithm name is not SHA1, SHA256 or SHA512.
    #[error("unknown algorithm; expected SHA1, SHA256 or SHA512")]
    UnknownAlgorithm,
    /// A throttling bound is out of range.
    #[error("invalid throttle policy: {0}")]
    Throttle(&'static str),
    /// A lifecycle bound (pending lifetime, step-up age) is out of range.
    #[error("invalid lifecycle policy: {0}")]
    Lifecycle(&'static str),
}

/// What a customer typed is not a one-time code.
///
/// With the `serde` feature: externally tagged, snake_case (`"empty"`,
/// `{"wrong_length": {"expected": 6, "found": 5}}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum CodeError {
    /// Nothing but whitespace was entered.
    #[error("no code was entered")]
    Empty,
    /// The input exceeds [`Code::MAX_INPUT_BYTES`](crate::otp::Code::MAX_INPUT_BYTES); it was not examined.
    #[error("the input is too long to be a code")]
    InputTooLong,
    /// A character that is neither a digit (ASCII or full-width) nor a separator.
    #[error("character {position} is not a digit (0-9) or a separator (space, '-')")]
    InvalidCharacter {
        /// 1-based position in the input (after surrounding whitespace).
        position: usize,
    },
    /// A separator at the start or end, or two separators in a row.
    #[error("character {position} is a separator that is not between two digits")]
    MisplacedSeparator {
        /// 1-based position in the input (after surrounding whitespace).
        position: usize,
    },
    /// The wrong number of digits.
    #[error("the code must have {expected} digits, {found} were entered")]
    WrongLength {
        /// The policy's number of digits.
        expected: u8,
        /// The number of digits in the input.
        found: usize,
    },
}

/// The clock could not give a usable time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ClockError {
    /// The system clock reads a time before 1970-01-01T00:00:00Z.
    #[error("the system clock is set before 1970")]
    BeforeUnixEpoch,
}

/// An `otpauth://` URI was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UriError {
    /// The URI is longer than [`KeyUri::MAX_URI_BYTES`](crate::provision::KeyUri::MAX_URI_BYTES); it was not examined.
    #[error("the URI is longer than {max} bytes")]
    TooLong {
        /// The limit in bytes.
        max: usize,
    },
    /// The URI does not start with `otpauth://`.
    #[error("not an otpauth:// URI")]
    NotOtpauth,
    /// An `otpauth://hotp/` URI: counter-based keys are not supported.
    #[error("HOTP (counter-based) keys are not supported; only time-based (totp) keys are")]
    HotpNotSupported,
    /// A type other than `totp` or `hotp`.
    #[error("unknown key type; expected totp")]
    UnknownType,
    /// The label (`ISSUER:ACCOUNT`) is missing or malformed.
    #[error("the label is missing or malformed: {0}")]
    Label(&'static str),
    /// A `%` escape is malformed or the decoded text is not UTF-8.
    #[error("invalid percent-encoding in the {0}")]
    Encoding(&'static str),
    /// The account name or issuer contains `:`.
    #[error("the {0} must not contain ':'")]
    ColonInField(&'static str),
    /// A field exceeds its length limit.
    #[error("the {field} is longer than {max} bytes")]
    FieldTooLong {
        /// Which field.
        field: &'static str,
        /// The limit in bytes.
        max: usize,
    },
    /// The issuer prefix of the label and the `issuer` parameter disagree.
    #[error("the label's issuer prefix and the issuer parameter disagree")]
    IssuerMismatch,
    /// Neither a label prefix nor an `issuer` parameter names the issuer.
    #[error("the URI names no issuer")]
    MissingIssuer,
    /// No `secret` parameter.
    #[error("the URI has no secret parameter")]
    MissingSecret,
    /// A parameter appears more than once.
    #[error("the parameter {0} appears more than once")]
    DuplicateParameter(&'static str),
    /// A parameter's value is not a valid number.
    #[error("the {0} parameter is not a number")]
    InvalidNumber(&'static str),
    /// The query is malformed (a parameter without `=`).
    #[error("malformed query string")]
    MalformedQuery,
    /// The secret is not an acceptable key.
    #[error("invalid secret: {0}")]
    Secret(#[from] SecretError),
    /// Algorithm, digits, period or issuer outside the policy's bounds.
    #[error("unsupported parameters: {0}")]
    Policy(#[from] PolicyError),
}

/// A QR code could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum QrError {
    /// The data does not fit in the largest QR code.
    #[error("the URI is too long for a QR code")]
    DataTooLong,
    /// The PNG encoder failed.
    #[error("PNG encoding failed")]
    Png,
    /// The QR encoder refused the data for a reason other than its length.
    #[error("the QR encoder refused the data")]
    Encoder,
    /// A PNG scale (pixels per module) outside the accepted range.
    #[error("the PNG scale must be between {min} and {max} pixels per module, not {scale}")]
    Scale {
        /// The requested scale.
        scale: u32,
        /// Smallest accepted scale.
        min: u32,
        /// Largest accepted scale.
        max: u32,
    },
}

/// A secret could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SealError {
    /// The record was sealed under a key id the key ring does not hold.
    #[error("the secret was sealed under key id {0}, which the key ring does not hold")]
    UnknownKeyId(u32),
    /// Authentication failed: wrong key, a record copied from another account, or tampering.
    #[error(
        "the sealed secret does not open under this key and account (wrong key, copied record or tampering)"
    )]
    Authentication,
    /// The key ring has no key with the id it names as current.
    #[error("the key ring's current key id {0} has no key")]
    MissingCurrentKey(u32),
    /// Sealing failed (random nonce unavailable or a malformed secret).
    #[error("sealing failed")]
    Seal,
    /// The stored record's MAC does not verify for this account and store version: a
    /// field was edited, an older row's bytes were written back, the row was copied from
    /// another account, or it was not written by an engine holding this key ring.
    #[error(
        "the stored record fails its integrity check (edited, restored from an older version, copied from another account, or written without this key ring)"
    )]
    IntegrityMismatch,
    /// A legacy (format 1, unauthenticated) record, and the engine's policy refuses them
    /// ([`EnginePolicy::with_legacy_records`](crate::EnginePolicy::with_legacy_records)).
    #[error("the stored record has the legacy format 1, which this engine's policy refuses")]
    LegacyRecordRefused,
}

/// Stored enrollment bytes could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The bytes do not start with this crate's record header.
    #[error("not an enrollment record (bad header)")]
    BadHeader,
    /// A format version this build does not know.
    #[error("unsupported record format version {0}")]
    UnsupportedVersion(u8),
    /// The bytes end before the record does.
    #[error("the record is truncated")]
    Truncated,
    /// Bytes follow the end of the record.
    #[error("the record has trailing bytes")]
    TrailingBytes,
    /// A field holds a value outside its domain.
    #[error("the record's {0} field is invalid")]
    InvalidField(&'static str),
}

/// A store operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record changed since it was loaded (optimistic concurrency): reload and decide again.
    #[error("the record was changed concurrently")]
    Conflict,
    /// The stored bytes are not a valid record.
    #[error("stored record is corrupt: {0}")]
    Corrupt(#[from] RecordError),
    /// The row is at the largest version the store can hold, so no write can advance it
    /// (only a corrupted or tampered row gets there): the support desk's
    /// [`Engine::desk_reset`](crate::Engine::desk_reset) repairs it.
    #[error("the record is at the store's largest version and cannot be written")]
    VersionExhausted,
    /// The backend failed (connection lost, disk full, database locked, …).
    #[error("storage backend failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database's schema is not the one this build of the crate works with: older
    /// (`found < expected`: apply the store's migrations first; 0 is a database without
    /// any) or newer (`found > expected`: written by a later build; upgrade the crate).
    /// A SQL store opened on an existing pool checks it and runs no DDL; nothing was
    /// created or changed.
    #[error(
        "the database has totp-enroll schema version {found}, this build needs {expected}: {}",
        if .found < .expected {
            "apply the store's migrations first"
        } else {
            "it was written by a newer build of totp-enroll"
        }
    )]
    Schema {
        /// The version recorded in the database (`totp_enroll_schema_version`; 0 if there
        /// is none).
        found: i64,
        /// The version this build's migrations lead to.
        expected: i64,
    },
}

impl StoreError {
    /// Wraps a backend error.
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(error))
    }
}

/// The step-up proof (transaction password re-verification) does not allow enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StepUpError {
    /// The proof was issued for another account.
    #[error("the step-up proof is for another account")]
    WrongAccount,
    /// The transaction password was verified too long ago.
    #[error("the transaction password was verified {age} s ago; at most {max_age} s is accepted")]
    Expired {
        /// Seconds since the re-verification.
        age: u64,
        /// The policy's limit.
        max_age: u64,
    },
    /// The proof claims a re-verification in the future.
    #[error("the step-up proof is dated in the future")]
    FromTheFuture,
    /// The policy asks for a fresh step-up here and none was given
    /// ([`EnginePolicy::with_second_device_step_up`](crate::EnginePolicy::with_second_device_step_up)).
    #[error("a fresh transaction-password step-up is required")]
    Required,
}

/// A name the portal gave the engine (account id, account label, operator, reset reason)
/// was refused where it was built. Names are shown on screens and written to audit logs,
/// so control characters (log injection) and invisible or bidirectional-control characters
/// (display spoofing) are refused everywhere, with the position of the first one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IdentifierError {
    /// Empty, or only whitespace.
    #[error("the {field} is empty")]
    Empty {
        /// Which name.
        field: &'static str,
    },
    /// Longer than the field allows.
    #[error("the {field} is longer than {max} bytes")]
    TooLong {
        /// Which name.
        field: &'static str,
        /// The limit in UTF-8 bytes.
        max: usize,
    },
    /// A control character (newline, tab, …).
    #[error("the {field} has a control character at character {position}")]
    ControlCharacter {
        /// Which name.
        field: &'static str,
        /// 1-based position in characters.
        position: usize,
    },
    /// An invisible, bidirectional-control or line/paragraph-separator character.
    #[error(
        "the {field} has an invisible or bidirectional-control character at character {position}"
    )]
    InvisibleCharacter {
        /// Which name.
        field: &'static str,
        /// 1-based position in characters.
        position: usize,
    },
    /// Starts with a space (a key URI's account name would not survive a round trip).
    #[error("the {field} must not start with a space")]
    LeadingSpace {
        /// Which name.
        field: &'static str,
    },
    /// A `:`, which separates issuer and account name in a key URI label.
    #[error("the {field} must not contain ':' (character {position})")]
    Colon {
        /// Which name.
        field: &'static str,
        /// 1-based position in characters.
        position: usize,
    },
}

/// A recovery code could not be parsed, or a set could not be generated.
///
/// [`RecoveryCode::parse`](crate::lifecycle::RecoveryCode::parse) returns only [`Empty`](Self::Empty),
/// [`InputTooLong`](Self::InputTooLong), [`InvalidCharacter`](Self::InvalidCharacter),
/// [`MisplacedSeparator`](Self::MisplacedSeparator) and [`WrongLength`](Self::WrongLength);
/// [`RecoveryCodes::generate`](crate::RecoveryCodes::generate) only [`InvalidCount`](Self::InvalidCount) and
/// [`RandomUnavailable`](Self::RandomUnavailable). No error quotes the input.
///
/// With the `serde` feature: externally tagged, snake_case (`"empty"`,
/// `{"wrong_length": {"expected": 16, "found": 15}}`, `{"invalid_count": {"count": 0}}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum RecoveryCodeError {
    /// Nothing but whitespace was entered.
    #[error("no recovery code was entered")]
    Empty,
    /// The input exceeds [`RecoveryCode::MAX_INPUT_BYTES`](crate::lifecycle::RecoveryCode::MAX_INPUT_BYTES); it was not examined.
    #[error("the input is too long to be a recovery code")]
    InputTooLong,
    /// A character that is neither a symbol of the code's alphabet nor a separator.
    #[error(
        "character {position} is not a recovery code symbol (0-9, A-Z without U) or a separator ('-', space)"
    )]
    InvalidCharacter {
        /// 1-based position in characters (after surrounding whitespace).
        position: usize,
    },
    /// A separator at the start or end, or two separators in a row.
    #[error("character {position} is a separator that is not between two symbols")]
    MisplacedSeparator {
        /// 1-based position in characters (after surrounding whitespace).
        position: usize,
    },
    /// The wrong number of symbols.
    #[error("a recovery code has {expected} symbols, {found} were entered")]
    WrongLength {
        /// [`RecoveryCode::SYMBOLS`](crate::lifecycle::RecoveryCode::SYMBOLS).
        expected: usize,
        /// The number of symbols in the input.
        found: usize,
    },
    /// [`RecoveryCodes::generate`](crate::RecoveryCodes::generate) was asked for 0 or more than [`RecoveryCodes::MAX_COUNT`](crate::RecoveryCodes::MAX_COUNT)
    /// codes.
    #[error("a set of recovery codes cannot have {count} codes")]
    InvalidCount {
        /// The requested count.
        count: usize,
    },
    /// The operating system's random number generator failed (or repeated itself).
    #[error("the operating system's random number generator is unavailable")]
    RandomUnavailable,
}

/// Why the engine refused a one-time code. Every refusal is audited.
///
/// With the `serde` feature: externally tagged, snake_case (`"wrong_code"`, `"replayed"`,
/// `{"throttled": {"until": 1764000090}}`, `{"malformed": "empty"}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Refusal {
    /// The input is not a code of the policy's shape (not counted as a failed attempt).
    #[error("malformed code: {0}")]
    Malformed(CodeError),
    /// The code is wrong (counted as a failed attempt).
    #[error("wrong code")]
    WrongCode,
    /// The code is wrong, and this failure started a backoff: no code is checked until
    /// `until` (Unix seconds). The customer learns it on this screen, not at the next try.
    #[error("wrong code; too many failed attempts, try again after {until}")]
    WrongCodeThrottled {
        /// When attempts are allowed again, in Unix seconds.
        until: u64,
    },
    /// The code is wrong, and this failure locked the enrollment; only the support desk
    /// unlocks it.
    #[error("wrong code; locked after too many failed attempts, contact support")]
    WrongCodeLocked,
    /// The code was already used, or is older than one already used (RFC 6238 §5.2).
    #[error("code already used")]
    Replayed,
    /// Too many recent failures: no code is checked until `until` (Unix seconds).
    #[error("too many failed attempts; try again after {until}")]
    Throttled {
        /// When attempts are allowed again, in Unix seconds.
        until: u64,
    },
    /// Locked after too many consecutive failures; only an administrative reset unlocks.
    #[error("locked after too many failed attempts; contact support")]
    Locked,
    /// The input is not a recovery code of the grammar of
    /// [`RecoveryCode::parse`](crate::lifecycle::RecoveryCode::parse) (not counted as a failed
    /// attempt: it cannot be a guess).
    #[error("malformed recovery code: {0}")]
    MalformedRecoveryCode(RecoveryCodeError),
}

impl Refusal {
    /// Whether the code was wrong (and counted as a failed attempt): [`Refusal::WrongCode`],
    /// or a wrong code that started a backoff or the lock.
    pub fn is_wrong_code(&self) -> bool {
        matches!(
            self,
            Self::WrongCode | Self::WrongCodeThrottled { .. } | Self::WrongCodeLocked
        )
    }
}

/// Why an engine call did not succeed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A one-time code was refused.
    #[error("one-time code refused: {0}")]
    Refused(#[from] Refusal),
    /// The step-up proof was refused.
    #[error("step-up refused: {0}")]
    StepUp(#[from] StepUpError),
    /// Enrollment cannot start: the one-time password service is already in use.
    #[error("the one-time password service is already in use for this account")]
    AlreadyActive,
    /// There is no pending enrollment to confirm (never started, expired or already confirmed).
    #[error("there is no pending enrollment to confirm")]
    NoPendingEnrollment,
    /// The operation needs an active enrollment.
    #[error("the one-time password service is not in use for this account")]
    NotActive,
    /// Re-displaying the secret for another device is disabled by policy.
    #[error("re-displaying the setup key is disabled by policy")]
    RedisplayDisabled,
    /// Adding an authenticator with its own secret is disabled: the policy gives a second
    /// device the same secret ([`SecondDevice::SameSecret`](crate::SecondDevice)).
    #[error("adding an authenticator with its own secret is disabled by policy")]
    OwnSecretDisabled,
    /// The account already has the most authenticators
    /// ([`Authenticator::MAX_PER_ACCOUNT`](crate::lifecycle::Authenticator::MAX_PER_ACCOUNT)).
    #[error("the account already has the most authenticators allowed")]
    TooManyAuthenticators,
    /// The account has no authenticator with this id (or no pending one to confirm).
    #[error("the account has no authenticator {0}")]
    UnknownAuthenticator(u8),
    /// The authenticator is the account's only confirmed one: stop the service (利用停止)
    /// or reset it at the support desk instead.
    #[error("the only confirmed authenticator cannot be removed; stop the service instead")]
    LastAuthenticator,
    /// An account id, account label, operator or reset reason was refused.
    #[error("invalid name: {0}")]
    InvalidIdentifier(#[from] IdentifierError),
    /// Too many concurrent writers; nothing was decided.
    #[error("too much concurrent contention on this enrollment; nothing was changed")]
    Contention,
    /// [`Engine::retire_key`](crate::Engine::retire_key) refused: records still need the
    /// key (or it is the current one, `records` then `u64::MAX`); nothing was changed.
    #[error("key id {key_id} is still needed by {records} records; re-seal them first")]
    KeyStillNeeded {
        /// The key id.
        key_id: u32,
        /// How many records need it.
        records: u64,
    },
    /// [`Engine::retire_key`](crate::Engine::retire_key) refused: the engine's key ring was
    /// replaced ([`Engine::set_keys`](crate::Engine::set_keys)) while it counted which
    /// records need the key; nothing was changed (the newer ring stays). Run it again.
    #[error("the key ring changed while key id {key_id} was being retired; nothing was changed")]
    KeyRingChanged {
        /// The key id that was to be retired.
        key_id: u32,
    },
    /// The store failed; nothing was accepted.
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    /// A sealed secret could not be opened or sealed.
    #[error("secret sealing failed: {0}")]
    Seal(#[from] SealError),
    /// The clock failed.
    #[error("clock failed: {0}")]
    Clock(#[from] ClockError),
    /// A new secret could not be generated.
    #[error("secret generation failed: {0}")]
    Secret(#[from] SecretError),
    /// The account label cannot be put in a key URI.
    #[error("invalid account label: {0}")]
    Uri(#[from] UriError),
    /// The QR code could not be rendered.
    #[error("QR rendering failed: {0}")]
    Qr(#[from] QrError),
    /// The engine's policy is inconsistent.
    #[error("invalid policy: {0}")]
    Policy(#[from] PolicyError),
}

/// A key ring text was refused. Names the faulty entry, never its content.
///
/// `entry` is the 1-based position of the entry among the entries of the text (the version
/// header is entry 1; comments and empty entries are not counted), `line` the 1-based line
/// it is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyRingTextError {
    /// The text holds no entry (only whitespace, separators or comments).
    #[error("the key ring text is empty")]
    Empty,
    /// The text is longer than [`KeyRing::MAX_TEXT_BYTES`](crate::KeyRing::MAX_TEXT_BYTES); it was not examined.
    #[error("the key ring text is longer than {max} bytes; it was not examined")]
    TooLong {
        /// The limit in bytes.
        max: usize,
    },
    /// The first entry is not a version header.
    #[error(
        "entry {entry} (line {line}) of the key ring text is not the version header \
         `totp-enroll-keys/v1` (entries are separated by `;` or line breaks)"
    )]
    MissingVersion {
        /// 1-based entry position (always 1).
        entry: usize,
        /// 1-based line.
        line: usize,
    },
    /// The header names a version this build does not read.
    #[error(
        "entry {entry} (line {line}) of the key ring text is version {version}; \
         this build reads version 1"
    )]
    UnsupportedVersion {
        /// 1-based entry position (always 1).
        entry: usize,
        /// 1-based line.
        line: usize,
        /// The version the header names.
        version: u32,
    },
    /// An entry without `=`: neither `current=ID` nor `ID=KEY`.
    #[error(
        "entry {entry} (line {line}) of the key ring text is neither `current=ID` nor `ID=KEY`"
    )]
    MalformedEntry {
        /// 1-based entry position.
        entry: usize,
        /// 1-based line.
        line: usize,
    },
    /// A key id (before `=`, or after `current=`) that is not a decimal `u32` without sign or
    /// leading zero; also any entry name other than `current` or a key id.
    #[error(
        "entry {entry} (line {line}) of the key ring text: the key id is not a decimal number \
         from 0 to 4294967295 (or the entry name is not `current`)"
    )]
    InvalidKeyId {
        /// 1-based entry position.
        entry: usize,
        /// 1-based line.
        line: usize,
    },
    /// A second `current=` entry.
    #[error(
        "entry {entry} (line {line}) of the key ring text repeats `current` \
         (first given in entry {first})"
    )]
    DuplicateCurrent {
        /// 1-based entry position of the repetition.
        entry: usize,
        /// 1-based line of the repetition.
        line: usize,
        /// 1-based entry position of the first `current=`.
        first: usize,
    },
    /// No `current=ID` entry.
    #[error("the key ring text has no `current=ID` entry naming the key that seals")]
    MissingCurrent,
    /// `current=ID` names a key id with no `ID=KEY` entry.
    #[error(
        "entry {entry} (line {line}) of the key ring text names key id {key_id} as current, \
         but the text holds no key with that id"
    )]
    UnknownCurrent {
        /// 1-based entry position of the `current=` entry.
        entry: usize,
        /// 1-based line of the `current=` entry.
        line: usize,
        /// The key id it names.
        key_id: u32,
    },
    /// A key id given twice.
    #[error(
        "entry {entry} (line {line}) of the key ring text repeats key id {key_id} \
         (first given in entry {first})"
    )]
    DuplicateKeyId {
        /// 1-based entry position of the repetition.
        entry: usize,
        /// 1-based line of the repetition.
        line: usize,
        /// The repeated key id.
        key_id: u32,
        /// 1-based entry position of the first key with this id.
        first: usize,
    },
    /// The key is not canonical standard base64 with padding.
    #[error(
        "entry {entry} (line {line}) of the key ring text: the key is not standard base64 \
         with `=` padding (alphabet A-Z a-z 0-9 + /)"
    )]
    InvalidBase64 {
        /// 1-based entry position.
        entry: usize,
        /// 1-based line.
        line: usize,
    },
    /// The key decodes to a length other than 32 bytes.
    #[error(
        "entry {entry} (line {line}) of the key ring text: the key has {bytes} bytes; \
         keys have 32 bytes (44 base64 characters)"
    )]
    KeyLength {
        /// 1-based entry position.
        entry: usize,
        /// 1-based line.
        line: usize,
        /// The decoded length in bytes.
        bytes: usize,
    },
}

/// A key ring could not be loaded from an environment variable or a key file
/// ([`KeyRing::from_env`](crate::KeyRing::from_env),
/// [`KeyRing::from_file`](crate::KeyRing::from_file),
/// [`KeyRing::from_env_or_file`](crate::KeyRing::from_env_or_file)).
///
/// Names the variable or the file, never any of its content: no key, no fragment of an
/// entry (a malformed text is a [`KeyRingTextError`], which names the entry by position).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KeyRingLoadError {
    /// The environment variable is not set.
    #[error("the environment variable {var} is not set (it should hold the sealing key ring)")]
    NotSet {
        /// The variable's name.
        var: String,
    },
    /// The environment variable's value is not valid Unicode.
    #[error("the environment variable {var} is not valid Unicode")]
    NotUnicode {
        /// The variable's name.
        var: String,
    },
    /// Both the variable with the ring and the variable naming a file are set: which one
    /// holds the keys is not guessed.
    #[error(
        "both {var} (the key ring) and {file_var} (the path of a file holding it) are set; \
         set only one"
    )]
    BothSet {
        /// The variable that holds the ring.
        var: String,
        /// The variable that names a file holding the ring.
        file_var: String,
    },
    /// Neither the variable with the ring nor the variable naming a file is set.
    #[error("neither {var} (the key ring) nor {file_var} (the path of a file holding it) is set")]
    NeitherSet {
        /// The variable that holds the ring.
        var: String,
        /// The variable that names a file holding the ring.
        file_var: String,
    },
    /// There is no file at the path (or a symbolic link there leads nowhere).
    #[error("the key file {path} does not exist")]
    NotFound {
        /// The path as given.
        path: std::path::PathBuf,
    },
    /// The file could not be opened, examined or read.
    #[error("cannot read the key file {path}: {source}")]
    Io {
        /// The path as given.
        path: std::path::PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The path (or the target of a symbolic link there) is not a regular file: a
    /// directory, a device, a FIFO, a socket.
    #[error("the key file {path} is not a regular file")]
    NotAFile {
        /// The path as given.
        path: std::path::PathBuf,
    },
    /// The file is larger than the longest key ring text; it was not read.
    #[error(
        "the key file {path} is larger than {max} bytes, the longest key ring text; \
         it was not read"
    )]
    TooLarge {
        /// The path as given.
        path: std::path::PathBuf,
        /// The limit in bytes ([`KeyRing::MAX_TEXT_BYTES`](crate::KeyRing::MAX_TEXT_BYTES)).
        max: usize,
    },
    /// Unix: the file's group or others may read, write or execute it (mode `& 0o077` is
    /// not 0). It was not read. `chmod 600` (or `400`) makes it the owner's only.
    #[error(
        "the key file {path} has mode {mode:04o}: its group or others have access to it; \
         refused (make it the owner's only: chmod 600 {path})"
    )]
    Permissions {
        /// The path as given.
        path: std::path::PathBuf,
        /// The permission bits of the file read (`st_mode & 0o7777`).
        mode: u32,
    },
    /// The file is not UTF-8 text.
    #[error("the key file {path} is not UTF-8 text")]
    NotUtf8 {
        /// The path as given.
        path: std::path::PathBuf,
    },
    /// The text (of the variable or the file) is not a key ring.
    #[error("{origin}: {error}")]
    Text {
        /// Where the text came from: `the environment variable NAME` or `the key file PATH`.
        origin: String,
        /// What is wrong with it, by entry and line.
        #[source]
        error: KeyRingTextError,
    },
}

/// An outbox row's bytes are not an audit event of this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AuditDecodeError {
    /// The bytes do not start with the event header (or have another format version).
    #[error("not an audit event (bad header or unknown format version)")]
    BadHeader,
    /// The bytes end before the event does.
    #[error("the audit event is truncated")]
    Truncated,
    /// Bytes follow the end of the event.
    #[error("the audit event has trailing bytes")]
    TrailingBytes,
    /// A field holds a value outside its domain (an unknown tag, a refused name, …).
    #[error("the audit event's {0} field is invalid")]
    InvalidField(&'static str),
}

/// Why a delivery pass stopped. Nothing undelivered was removed; the next pass resumes at
/// the oldest undelivered event.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// Reading or acknowledging the outbox failed.
    #[error("audit outbox: {0}")]
    Store(#[from] StoreError),
    /// The sink refused a batch.
    #[error("audit delivery failed: {0}")]
    Delivery(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// An outbox row does not decode (edited or from an unknown format). Delivery stops
    /// before it, so the trail is never delivered with a gap; an operator inspects the row.
    #[error("audit outbox event {id} does not decode: {error}")]
    Undecodable {
        /// The row's id.
        id: u64,
        /// Why.
        error: AuditDecodeError,
    },
}
