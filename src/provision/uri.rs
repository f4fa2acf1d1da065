//! [`KeyUri`]: build and parse `otpauth://totp/…` URIs (Google Authenticator Key Uri Format).
//!
//! Built URIs always have the form
//! `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=…&digits=…&period=…`, with the
//! label and parameters percent-encoded as UTF-8 (`%20` for a space, never `+`) and the
//! secret as uppercase unpadded base32. Parsing is strict: every refusal is a typed
//! [`UriError`], and `parse(build(parse(u))) == parse(u)`.

use core::fmt;
use core::str::FromStr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use zeroize::Zeroizing;

use crate::error::{PolicyError, UriError};
use crate::otp::policy::{Algorithm, OtpPolicy};
use crate::otp::secret::Secret;

/// Everything except RFC 3986 unreserved characters is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The content of an `otpauth://totp/` key URI: the secret, the account name and the policy
/// the authenticator app must compute codes with.
///
/// `Debug` shows the secret redacted. [`KeyUri::to_uri`] contains the secret and is returned
/// in a zeroizing string.
///
/// ```
/// use totp_enroll::{provision::KeyUri, OtpPolicy, otp::Secret};
/// let secret = Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")?;
/// let policy = OtpPolicy::new("北洋証券オンラインサービス")?;
/// let uri = KeyUri::new(secret, "taro yamada", &policy)?;
/// let text = uri.to_uri();
/// assert!(text.starts_with("otpauth://totp/%E5%8C%97%E6%B4%8B"));
/// assert!(text.contains(":taro%20yamada?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer="));
/// assert_eq!(KeyUri::parse(&text)?, uri);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUri {
    secret: Secret,
    account: String,
    policy: OtpPolicy,
}

impl KeyUri {
    /// Longest URI examined, in bytes.
    pub const MAX_URI_BYTES: usize = 2048;
    /// Longest account name, in UTF-8 bytes.
    pub const MAX_ACCOUNT_BYTES: usize = crate::account::AccountLabel::MAX_BYTES;

    /// A key URI for `account` under `policy` (whose issuer becomes the label prefix and the
    /// `issuer` parameter). The account name must be non-empty, must not start with a space
    /// (the label format drops spaces before the account name), must be without `:` or control
    /// characters, and at most [`KeyUri::MAX_ACCOUNT_BYTES`]. The policy's window, which a URI
    /// does not carry, is not kept: [`KeyUri::policy`] has the default window.
    pub fn new(
        secret: Secret,
        account: impl Into<String>,
        policy: &OtpPolicy,
    ) -> Result<Self, UriError> {
        let account = account.into();
        validate_account(&account)?;
        Ok(Self {
            secret,
            account,
            policy: policy.with_default_window(),
        })
    }

    /// The shared secret.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The account name (the label part after `ISSUER:`).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        self.policy.issuer()
    }

    /// Algorithm, digits, period and issuer as carried by the URI (the window, which a URI
    /// does not carry, is the default).
    pub fn policy(&self) -> &OtpPolicy {
        &self.policy
    }

    /// The URI text. It contains the secret, hence the zeroizing string, which is
    /// allocated at its exact final length and never grows (a grown string would leave a
    /// copy of the secret in the freed buffer).
    pub fn to_uri(&self) -> Zeroizing<String> {
        let mut length = Length(0);
        let _ = self.write_uri(&mut length, None);
        let mut uri = Zeroizing::new(String::with_capacity(length.0));
        let _ = self.write_uri(&mut *uri, Some(&self.secret));
        uri
    }

    /// Writes the URI to `out`; the secret's base32 text goes straight from the key into
    /// `out` (with `None`, only its length is accounted for, by as many placeholders).
    fn write_uri(&self, out: &mut impl fmt::Write, secret: Option<&Secret>) -> fmt::Result {
        let issuer = utf8_percent_encode(self.policy.issuer(), COMPONENT);
        let account = utf8_percent_encode(&self.account, COMPONENT);
        write!(out, "otpauth://totp/{issuer}:{account}?secret=")?;
        match secret {
            Some(secret) => secret.write_base32(out)?,
            None => {
                for _ in 0..self.secret.base32_len() {
                    out.write_char('A')?;
                }
            }
        }
        write!(
            out,
            "&issuer={issuer}&algorithm={}&digits={}&period={}",
            self.policy.algorithm().uri_name(),
            self.policy.digits().get(),
            self.policy.period(),
        )
    }

    /// Parses a key URI strictly. See the module documentation for the rules.
    pub fn parse(uri: &str) -> Result<Self, UriError> {
        if uri.len() > Self::MAX_URI_BYTES {
            return Err(UriError::TooLong {
                max: Self::MAX_URI_BYTES,
            });
        }
        let rest = strip_prefix_ignore_case(uri, "otpauth://").ok_or(UriError::NotOtpauth)?;
        if rest.contains('#') {
            return Err(UriError::MalformedQuery);
        }
        let (kind, rest) = rest.split_once('/').ok_or(UriError::Label("missing"))?;
        if kind.eq_ignore_ascii_case("hotp") {
            return Err(UriError::HotpNotSupported);
        }
        if !kind.eq_ignore_ascii_case("totp") {
            return Err(UriError::UnknownType);
        }
        let (raw_label, query) = rest.split_once('?').unwrap_or((rest, ""));
        let label =
            Zeroizing::new(percent_decode_strict(raw_label).ok_or(UriError::Encoding("label"))?);
        let (label_issuer, account) = split_label(&label)?;
        validate_account(account)?;

        let params = Params::parse(query)?;
        let issuer = match (label_issuer, params.issuer.as_deref()) {
            (Some(a), Some(b)) if a != b => return Err(UriError::IssuerMismatch),
            (Some(a), _) => a.to_owned(),
            (None, Some(b)) => b.to_owned(),
            (None, None) => return Err(UriError::MissingIssuer),
        };
        if issuer.contains(':') {
            return Err(UriError::ColonInField("issuer"));
        }
        let secret_text = params.secret.as_ref().ok_or(UriError::MissingSecret)?;
        let secret = Secret::from_base32(secret_text)?;

        let mut builder = OtpPolicy::builder(issuer);
        if let Some(algorithm) = params.algorithm.as_deref() {
            builder = builder.algorithm(Algorithm::from_str(algorithm)?);
        }
        if let Some(digits) = params.digits.as_deref() {
            builder = builder.digits(parse_number(digits, 2, "digits")?);
        }
        if let Some(period) = params.period.as_deref() {
            builder = builder.period(parse_number(period, 10, "period")?);
        }
        let policy = builder.build().map_err(|e| match e {
            PolicyError::IssuerTooLong { max } => UriError::FieldTooLong {
                field: "issuer",
                max,
            },
            other => UriError::Policy(other),
        })?;
        Ok(Self {
            secret,
            account: account.to_owned(),
            policy,
        })
    }
}

/// The parameters this crate reads; unknown ones (`image`, `color`, …) are ignored.
#[derive(Default)]
struct Params {
    secret: Option<Zeroizing<String>>,
    issuer: Option<String>,
    algorithm: Option<String>,
    digits: Option<String>,
    period: Option<String>,
}

impl Params {
    fn parse(query: &str) -> Result<Self, UriError> {
        let mut params = Self::default();
        if query.is_empty() {
            return Ok(params);
        }
        for pair in query.split('&') {
            let (key, raw) = pair.split_once('=').ok_or(UriError::MalformedQuery)?;
            let (slot, name): (&mut Option<String>, &'static str) = match key {
                "secret" => {
                    if params.secret.is_some() {
                        return Err(UriError::DuplicateParameter("secret"));
                    }
                    let value = percent_decode_strict(raw).ok_or(UriError::Encoding("secret"))?;
                    params.secret = Some(Zeroizing::new(value));
                    continue;
                }
                "issuer" => (&mut params.issuer, "issuer"),
                "algorithm" => (&mut params.algorithm, "algorithm"),
                "digits" => (&mut params.digits, "digits"),
                "period" => (&mut params.period, "period"),
                _ => continue,
            };
            if slot.is_some() {
                return Err(UriError::DuplicateParameter(name));
            }
            *slot = Some(percent_decode_strict(raw).ok_or(UriError::Encoding(name))?);
        }
        Ok(params)
    }
}

/// Splits a decoded label into an optional issuer prefix and the account name. Google's
/// format allows spaces before the account name; they are dropped, with or without a prefix.
fn split_label(label: &str) -> Result<(Option<&str>, &str), UriError> {
    if label.is_empty() {
        return Err(UriError::Label("empty"));
    }
    let mut parts = label.split(':');
    let first = parts.next().unwrap_or("");
    match (parts.next(), parts.next()) {
        (None, _) => Ok((None, first.trim_start_matches(' '))),
        (Some(account), None) => {
            if first.is_empty() {
                return Err(UriError::Label("empty issuer prefix"));
            }
            Ok((Some(first), account.trim_start_matches(' ')))
        }
        (Some(_), Some(_)) => Err(UriError::ColonInField("label")),
    }
}

fn validate_account(account: &str) -> Result<(), UriError> {
    if account.trim().is_empty() {
        return Err(UriError::Label("empty account name"));
    }
    if account.starts_with(' ') {
        return Err(UriError::Label("account name starts with a space"));
    }
    if account.len() > KeyUri::MAX_ACCOUNT_BYTES {
        return Err(UriError::FieldTooLong {
            field: "account name",
            max: KeyUri::MAX_ACCOUNT_BYTES,
        });
    }
    if account.contains(':') {
        return Err(UriError::ColonInField("account name"));
    }
    if account.chars().any(char::is_control) {
        return Err(UriError::Label("control character in account name"));
    }
    if account.chars().any(crate::account::names::is_invisible) {
        return Err(UriError::Label(
            "invisible or bidirectional-control character in account name",
        ));
    }
    Ok(())
}

/// A decimal number of at most `max_len` ASCII digits: no sign, no spaces.
fn parse_number<T: FromStr>(text: &str, max_len: usize, name: &'static str) -> Result<T, UriError> {
    if text.is_empty() || text.len() > max_len || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UriError::InvalidNumber(name));
    }
    text.parse().map_err(|_| UriError::InvalidNumber(name))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        text.get(prefix.len()..)
    } else {
        None
    }
}

/// The length of what is written to it, for sizing a buffer before writing for real.
struct Length(usize);

impl fmt::Write for Length {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 = self.0.saturating_add(s.len());
        Ok(())
    }
}

/// RFC 3986 percent-decoding that refuses malformed escapes and non-UTF-8 results.
/// `+` is a literal plus (URIs are not form bodies). The buffer never grows (decoding only
/// shortens) and is wiped when refused, as it may hold part of a secret.
fn percent_decode_strict(text: &str) -> Option<String> {
    let mut out = Zeroizing::new(Vec::with_capacity(text.len()));
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = hex_value(bytes.next()?)?;
            let lo = hex_value(bytes.next()?)?;
            out.push((hi << 4) | lo);
        } else {
            out.push(b);
        }
    }
    match String::from_utf8(core::mem::take(&mut *out)) {
        Ok(decoded) => Some(decoded),
        Err(refused) => {
            drop(Zeroizing::new(refused.into_bytes()));
            None
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|v| u8::try_from(v).ok())
}
