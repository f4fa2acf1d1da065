//! [`OtpPolicy`]: algorithm, digits, period, verification window and issuer, validated once.

use core::fmt;
use core::str::FromStr;

use crate::error::PolicyError;

/// The HMAC hash function (RFC 6238 §1.2).
///
/// With the `serde` feature: its key URI name, `"SHA1"`, `"SHA256"` or `"SHA512"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "UPPERCASE"))]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA-1: the RFC 4226 default and the only one every authenticator app computes.
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in `otpauth://` URIs: `SHA1`, `SHA256` or `SHA512`.
    pub const fn uri_name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }
}

impl FromStr for Algorithm {
    type Err = PolicyError;
    /// Accepts `SHA1`, `SHA256`, `SHA512`, case-insensitively, with or without a hyphen.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "SHA1" | "SHA-1" => Ok(Self::Sha1),
            "SHA256" | "SHA-256" => Ok(Self::Sha256),
            "SHA512" | "SHA-512" => Ok(Self::Sha512),
            _ => Err(PolicyError::UnknownAlgorithm),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.uri_name())
    }
}

/// Number of digits in a code: 6, 7 or 8 (RFC 4226 §5.3 requires at least 6).
///
/// With the `serde` feature: the number; deserializing validates it like [`Digits::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "serde_fields::DigitsValue"))]
pub struct Digits(u8);

impl Digits {
    /// Six digits: the Japanese portal's and Google Authenticator's.
    pub const SIX: Self = Self(6);
    /// Eight digits.
    pub const EIGHT: Self = Self(8);

    /// Validates a digit count.
    pub const fn new(digits: u32) -> Result<Self, PolicyError> {
        match digits {
            6 => Ok(Self(6)),
            7 => Ok(Self(7)),
            8 => Ok(Self(8)),
            _ => Err(PolicyError::Digits(digits)),
        }
    }

    /// The count as a number.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// `10^digits`, the modulus of RFC 4226 §5.3.
    pub const fn modulus(self) -> u32 {
        match self.0 {
            6 => 1_000_000,
            7 => 10_000_000,
            _ => 100_000_000,
        }
    }

    /// Reduces a dynamically truncated HMAC value to a code value: `value mod 10^digits`.
    /// Each arm divides by a constant, which compiles to a multiplication instead of a
    /// division instruction (this is on the verification hot path).
    pub(crate) const fn reduce(self, truncated: u32) -> u32 {
        match self.0 {
            6 => truncated % 1_000_000,
            7 => truncated % 10_000_000,
            _ => truncated % 100_000_000,
        }
    }
}

impl Default for Digits {
    fn default() -> Self {
        Self::SIX
    }
}

/// How many time steps before and after the current one a code may come from.
///
/// RFC 6238 §5.2 recommends at most one step of network delay; the default is ±1.
///
/// With the `serde` feature: `{"behind": 1, "ahead": 1}`; deserializing validates it like
/// [`Window::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "serde_fields::WindowFields"))]
pub struct Window {
    behind: u8,
    ahead: u8,
}

impl Window {
    /// Largest accepted reach in either direction.
    pub const MAX_STEPS: u8 = 10;
    /// Only the current step.
    pub const EXACT: Self = Self {
        behind: 0,
        ahead: 0,
    };
    /// One step behind and one ahead: the default.
    pub const ONE: Self = Self {
        behind: 1,
        ahead: 1,
    };

    /// A window reaching `behind` steps into the past and `ahead` into the future.
    pub fn new(behind: u32, ahead: u32) -> Result<Self, PolicyError> {
        let reach = |steps: u32| {
            u8::try_from(steps)
                .ok()
                .filter(|s| *s <= Self::MAX_STEPS)
                .ok_or(PolicyError::Window {
                    steps,
                    max: Self::MAX_STEPS,
                })
        };
        Ok(Self {
            behind: reach(behind)?,
            ahead: reach(ahead)?,
        })
    }

    /// Steps accepted before the current one.
    pub const fn behind(self) -> u8 {
        self.behind
    }

    /// Steps accepted after the current one.
    pub const fn ahead(self) -> u8 {
        self.ahead
    }

    /// Number of candidate steps a verification computes: `behind + 1 + ahead`.
    pub const fn candidates(self) -> usize {
        (self.behind as usize)
            .saturating_add(1)
            .saturating_add(self.ahead as usize)
    }
}

impl Default for Window {
    fn default() -> Self {
        Self::ONE
    }
}

/// Something a policy does that some authenticator apps would get wrong, or that weakens
/// verification. A portal may refuse a policy with any of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CompatibilityWarning {
    /// Google Authenticator on some platforms ignores `algorithm` and computes SHA-1 codes,
    /// which then never verify.
    AlgorithmIgnoredByGoogleAuthenticator,
    /// Google Authenticator on some platforms ignores `period` and uses 30 seconds.
    PeriodIgnoredByGoogleAuthenticator,
    /// Several authenticator apps show only 6 digits whatever `digits` says.
    DigitsNotUniversallySupported,
    /// A window of more than one step behind or ahead accepts codes for longer than RFC 6238
    /// §5.2 recommends, widening the guessing and shoulder-surfing window.
    WindowWiderThanRecommended,
}

impl fmt::Display for CompatibilityWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AlgorithmIgnoredByGoogleAuthenticator => {
                "Google Authenticator may ignore the algorithm and compute SHA-1 codes"
            }
            Self::PeriodIgnoredByGoogleAuthenticator => {
                "Google Authenticator may ignore the period and use 30 seconds"
            }
            Self::DigitsNotUniversallySupported => {
                "some authenticator apps only show 6-digit codes"
            }
            Self::WindowWiderThanRecommended => {
                "a window beyond one step each way exceeds RFC 6238's recommendation"
            }
        })
    }
}

/// Everything that determines which codes are valid for a secret, validated once.
///
/// The default built by [`OtpPolicy::new`] is the Japanese portal's and Google Authenticator's:
/// SHA-1, 6 digits, 30-second period, window ±1 step.
///
/// ```
/// use totp_enroll::{otp::Algorithm, OtpPolicy, error::PolicyError};
/// let policy = OtpPolicy::new("北洋証券オンラインサービス")?;
/// assert_eq!((policy.algorithm(), policy.digits().get(), policy.period()), (Algorithm::Sha1, 6, 30));
/// assert!(policy.compatibility_warnings().is_empty());
///
/// assert_eq!(OtpPolicy::builder("Bank").period(0).build(), Err(PolicyError::Period { period: 0, min: 5, max: 600 }));
/// # Ok::<(), PolicyError>(())
/// ```
///
/// With the `serde` feature: `{"algorithm": "SHA1", "digits": 6, "period": 30, "window":
/// {"behind": 1, "ahead": 1}, "issuer": "…"}`, every field required and no other accepted.
/// Deserializing goes through [`OtpPolicyBuilder::build`], so a deserialized policy is
/// always one the builder would have built; anything else is a deserialization error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "serde_fields::OtpPolicyFields"))]
pub struct OtpPolicy {
    algorithm: Algorithm,
    digits: Digits,
    period: u32,
    window: Window,
    issuer: String,
}

impl OtpPolicy {
    /// Shortest accepted period in seconds.
    pub const MIN_PERIOD: u32 = 5;
    /// Longest accepted period in seconds.
    pub const MAX_PERIOD: u32 = 600;
    /// Default period (RFC 6238 §5.2).
    pub const DEFAULT_PERIOD: u32 = 30;
    /// Longest issuer, in UTF-8 bytes.
    pub const MAX_ISSUER_BYTES: usize = 128;

    /// The default policy for `issuer`.
    pub fn new(issuer: impl Into<String>) -> Result<Self, PolicyError> {
        Self::builder(issuer).build()
    }

    /// A builder starting from the defaults.
    pub fn builder(issuer: impl Into<String>) -> OtpPolicyBuilder {
        OtpPolicyBuilder {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: u64::from(Self::DEFAULT_PERIOD),
            window: (1, 1),
            issuer: issuer.into(),
        }
    }

    /// A builder starting from this policy.
    pub fn to_builder(&self) -> OtpPolicyBuilder {
        OtpPolicyBuilder {
            algorithm: self.algorithm,
            digits: u32::from(self.digits.get()),
            period: u64::from(self.period),
            window: (
                u32::from(self.window.behind()),
                u32::from(self.window.ahead()),
            ),
            issuer: self.issuer.clone(),
        }
    }

    /// The HMAC hash function.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Digits per code.
    pub fn digits(&self) -> Digits {
        self.digits
    }

    /// Time step in seconds (never 0).
    pub fn period(&self) -> u32 {
        self.period
    }

    /// The verification window.
    pub fn window(&self) -> Window {
        self.window
    }

    /// The issuer (service name) shown in the authenticator app.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// This policy with the default window: all a key URI carries.
    pub(crate) fn with_default_window(&self) -> Self {
        Self {
            window: Window::ONE,
            ..self.clone()
        }
    }

    /// What some authenticator apps would compute differently under this policy, or where it
    /// is weaker than recommended. Empty for the default policy.
    pub fn compatibility_warnings(&self) -> Vec<CompatibilityWarning> {
        let mut warnings = Vec::new();
        if self.algorithm != Algorithm::Sha1 {
            warnings.push(CompatibilityWarning::AlgorithmIgnoredByGoogleAuthenticator);
        }
        if self.period != Self::DEFAULT_PERIOD {
            warnings.push(CompatibilityWarning::PeriodIgnoredByGoogleAuthenticator);
        }
        if self.digits != Digits::SIX {
            warnings.push(CompatibilityWarning::DigitsNotUniversallySupported);
        }
        if self.window.behind() > 1 || self.window.ahead() > 1 {
            warnings.push(CompatibilityWarning::WindowWiderThanRecommended);
        }
        warnings
    }
}

/// Builds an [`OtpPolicy`]; every bound is checked in [`OtpPolicyBuilder::build`].
#[derive(Debug, Clone)]
#[must_use]
pub struct OtpPolicyBuilder {
    algorithm: Algorithm,
    digits: u32,
    period: u64,
    window: (u32, u32),
    issuer: String,
}

impl OtpPolicyBuilder {
    /// Sets the hash function.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Sets the number of digits (6..=8).
    pub fn digits(mut self, digits: u32) -> Self {
        self.digits = digits;
        self
    }

    /// Sets the period in seconds.
    pub fn period(mut self, seconds: u64) -> Self {
        self.period = seconds;
        self
    }

    /// Sets how many steps behind and ahead of now a code is accepted from.
    pub fn window(mut self, behind: u32, ahead: u32) -> Self {
        self.window = (behind, ahead);
        self
    }

    /// Sets the issuer.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// Validates every field.
    pub fn build(self) -> Result<OtpPolicy, PolicyError> {
        let digits = Digits::new(self.digits)?;
        let period = u32::try_from(self.period)
            .ok()
            .filter(|p| (OtpPolicy::MIN_PERIOD..=OtpPolicy::MAX_PERIOD).contains(p))
            .ok_or(PolicyError::Period {
                period: self.period,
                min: OtpPolicy::MIN_PERIOD,
                max: OtpPolicy::MAX_PERIOD,
            })?;
        let window = Window::new(self.window.0, self.window.1)?;
        validate_issuer(&self.issuer)?;
        Ok(OtpPolicy {
            algorithm: self.algorithm,
            digits,
            period,
            window,
            issuer: self.issuer,
        })
    }
}

/// The rules an issuer must follow to be carried in a key URI label.
pub(crate) fn validate_issuer(issuer: &str) -> Result<(), PolicyError> {
    if issuer.trim().is_empty() {
        return Err(PolicyError::EmptyIssuer);
    }
    if issuer.len() > OtpPolicy::MAX_ISSUER_BYTES {
        return Err(PolicyError::IssuerTooLong {
            max: OtpPolicy::MAX_ISSUER_BYTES,
        });
    }
    if issuer.contains(':') {
        return Err(PolicyError::IssuerContainsColon);
    }
    if issuer.chars().any(char::is_control) {
        return Err(PolicyError::IssuerContainsControl);
    }
    if issuer.chars().any(crate::account::names::is_invisible) {
        return Err(PolicyError::IssuerContainsInvisible);
    }
    Ok(())
}

/// The unvalidated shapes policies are deserialized from; each goes through the validating
/// constructor.
#[cfg(feature = "serde")]
mod serde_fields {
    use super::{Algorithm, Digits, OtpPolicy, Window};
    use crate::error::PolicyError;

    #[derive(serde::Deserialize)]
    #[serde(transparent)]
    pub(super) struct DigitsValue(u32);

    impl TryFrom<DigitsValue> for Digits {
        type Error = PolicyError;
        fn try_from(value: DigitsValue) -> Result<Self, PolicyError> {
            Digits::new(value.0)
        }
    }

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct WindowFields {
        behind: u32,
        ahead: u32,
    }

    impl TryFrom<WindowFields> for Window {
        type Error = PolicyError;
        fn try_from(fields: WindowFields) -> Result<Self, PolicyError> {
            Window::new(fields.behind, fields.ahead)
        }
    }

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct OtpPolicyFields {
        algorithm: Algorithm,
        digits: u32,
        period: u64,
        window: WindowFields,
        issuer: String,
    }

    impl TryFrom<OtpPolicyFields> for OtpPolicy {
        type Error = PolicyError;
        fn try_from(fields: OtpPolicyFields) -> Result<Self, PolicyError> {
            OtpPolicy::builder(fields.issuer)
                .algorithm(fields.algorithm)
                .digits(fields.digits)
                .period(fields.period)
                .window(fields.window.behind, fields.window.ahead)
                .build()
        }
    }
}

/// The code parameters fixed at enrollment: a later policy change never alters which
/// codes an existing enrollment accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpParams {
    pub(crate) algorithm: Algorithm,
    pub(crate) digits: Digits,
    pub(crate) period: u32,
}

impl OtpParams {
    /// The parameters of `policy`.
    pub fn from_policy(policy: &OtpPolicy) -> Self {
        Self {
            algorithm: policy.algorithm(),
            digits: policy.digits(),
            period: policy.period(),
        }
    }

    /// The hash function.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Digits per code.
    pub fn digits(&self) -> Digits {
        self.digits
    }

    /// Period in seconds.
    pub fn period(&self) -> u32 {
        self.period
    }
}
