//! TOTP (RFC 6238) on top of HOTP: [`Totp`], and the arithmetic of time steps.

use core::fmt;

use crate::otp::code::Code;
use crate::otp::hmac::PreparedKey;
use crate::otp::policy::{Digits, OtpPolicy, Window};
use crate::otp::secret::Secret;

/// TOTP (RFC 6238) for one secret under one policy: a prepared key plus the policy's
/// digits, period and window. Build it once per secret and reuse it.
///
/// Time is always passed in as seconds since the Unix epoch (`T0 = 0`): this type never
/// reads a clock. Every step computation is checked; times beyond 2^32 (RFC 6238 §4.2) and up
/// to `u64::MAX` work.
///
/// ```
/// use totp_enroll::{OtpPolicy, otp::Secret, otp::Totp};
/// // RFC 6238 Appendix B, SHA-1, T = 59 s, truncated to 6 digits.
/// let secret = Secret::from_bytes(b"12345678901234567890")?;
/// let totp = Totp::new(&secret, &OtpPolicy::new("Example")?);
/// assert_eq!(totp.code_at(59).to_string(), "287082");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Totp {
    pub(crate) key: PreparedKey,
    pub(crate) digits: Digits,
    pub(crate) period: u32,
    pub(crate) window: Window,
}

impl Totp {
    /// Prepares `secret` under `policy`.
    pub fn new(secret: &Secret, policy: &OtpPolicy) -> Self {
        Self {
            key: PreparedKey::new(secret, policy.algorithm()),
            digits: policy.digits(),
            period: policy.period(),
            window: policy.window(),
        }
    }

    /// The time step containing `unix_seconds`: `floor(t / period)`. Never overflows.
    pub fn step_at(&self, unix_seconds: u64) -> u64 {
        step_at(unix_seconds, self.period)
    }

    /// The first second of `step`, or `None` if it lies beyond `u64::MAX` seconds.
    pub fn step_start(&self, step: u64) -> Option<u64> {
        step.checked_mul(u64::from(self.period))
    }

    /// The code for the step containing `unix_seconds`.
    pub fn code_at(&self, unix_seconds: u64) -> Code {
        self.code_at_step(self.step_at(unix_seconds))
    }

    /// The code for time step `step` (the HOTP value with counter `step`).
    pub fn code_at_step(&self, step: u64) -> Code {
        self.key.hotp(step, self.digits)
    }

    /// Digits per code under this policy.
    pub fn digits(&self) -> Digits {
        self.digits
    }

    /// Period in seconds.
    pub fn period(&self) -> u32 {
        self.period
    }

    /// The verification window.
    pub fn window(&self) -> Window {
        self.window
    }

    /// The prepared HMAC key.
    pub fn prepared_key(&self) -> &PreparedKey {
        &self.key
    }
}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Totp")
            .field("key", &self.key)
            .field("digits", &self.digits.get())
            .field("period", &self.period)
            .field("window", &self.window)
            .finish()
    }
}

/// `floor(t / period)`; a zero period (impossible through [`OtpPolicy`]) maps to step 0.
///
/// The default 30-second period divides by a constant (a multiplication, not a 64-bit
/// division instruction): this is on the verification hot path.
pub(crate) fn step_at(unix_seconds: u64, period: u32) -> u64 {
    if period == OtpPolicy::DEFAULT_PERIOD {
        unix_seconds / 30
    } else {
        unix_seconds.checked_div(u64::from(period)).unwrap_or(0)
    }
}

/// Whole steps of `period` in `seconds` (0 for a zero period).
pub(crate) fn steps_in(seconds: u64, period: u32) -> u64 {
    seconds.checked_div(u64::from(period)).unwrap_or(0)
}

/// `step - from` in whole steps, exact for any two steps.
pub(crate) fn step_offset(step: u64, from: u64) -> i128 {
    i128::from(step).saturating_sub(i128::from(from))
}
