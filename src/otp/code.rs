//! [`Code`]: a one-time code of fixed width, and the grammar of what a customer may type.

use core::fmt;

use subtle::ConstantTimeEq;

use crate::error::CodeError;
use crate::otp::policy::Digits;

/// A one-time code: a number with a fixed count of digits (leading zeros are significant).
///
/// Parsed from customer input by [`Code::parse`], produced by [`Totp`](crate::otp::Totp).
/// `Debug` does not show the digits (a code in a request struct must not reach a log);
/// `Display` shows them zero-padded, for the code an authenticator would display.
/// Equality is constant time.
///
/// The input grammar, exactly:
/// * optional surrounding whitespace;
/// * the policy's number of digits, each ASCII `0-9` or full-width `０-９` (IME input);
/// * at most one separator between two digits: a space, an ideographic space (U+3000)
///   or `-` (apps display `123 456`).
///
/// Anything else is a typed [`CodeError`]; input longer than [`Code::MAX_INPUT_BYTES`] is
/// refused before it is examined.
///
/// ```
/// use totp_enroll::{otp::Code, error::CodeError, otp::Digits};
/// assert_eq!(Code::parse(" 028 708 ", Digits::SIX)?.to_string(), "028708");
/// assert_eq!(Code::parse("０２８７０８", Digits::SIX)?.to_string(), "028708");
/// assert!(matches!(Code::parse("+81804", Digits::SIX), Err(CodeError::InvalidCharacter { position: 1 })));
/// # Ok::<(), CodeError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Code {
    value: u32,
    digits: Digits,
}

/// The value of an ASCII or full-width decimal digit.
fn digit_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        '\u{FF10}'..='\u{FF19}' => u32::from(c).checked_sub(0xFF10),
        _ => None,
    }
}

fn is_code_separator(c: char) -> bool {
    matches!(c, ' ' | '\u{3000}' | '-')
}

fn is_surrounding_space(c: char) -> bool {
    c.is_ascii_whitespace() || c == '\u{3000}'
}

impl Code {
    /// Longest input examined, in bytes. Anything longer is refused unread.
    pub const MAX_INPUT_BYTES: usize = 64;

    /// Parses what a customer typed, for a policy with `digits` digits.
    pub fn parse(input: &str, digits: Digits) -> Result<Self, CodeError> {
        if input.len() > Self::MAX_INPUT_BYTES {
            return Err(CodeError::InputTooLong);
        }
        let body = input.trim_matches(is_surrounding_space);
        if body.is_empty() {
            return Err(CodeError::Empty);
        }
        let mut value: u32 = 0;
        let mut found: usize = 0;
        let mut after_digit = false;
        let mut position: usize = 0;
        for c in body.chars() {
            position = position.saturating_add(1);
            if let Some(d) = digit_value(c) {
                found = found.saturating_add(1);
                // Only the first 9 digits are accumulated; more is a length error below.
                if found <= 9 {
                    value = value.saturating_mul(10).saturating_add(d);
                }
                after_digit = true;
            } else if is_code_separator(c) {
                if !after_digit {
                    return Err(CodeError::MisplacedSeparator { position });
                }
                after_digit = false;
            } else {
                return Err(CodeError::InvalidCharacter { position });
            }
        }
        if !after_digit {
            return Err(CodeError::MisplacedSeparator { position });
        }
        if found != usize::from(digits.get()) {
            return Err(CodeError::WrongLength {
                expected: digits.get(),
                found,
            });
        }
        Ok(Self { value, digits })
    }

    /// A code from its numeric value; `value` must be below `10^digits`.
    pub(crate) fn from_value(value: u32, digits: Digits) -> Self {
        Self { value, digits }
    }

    /// The code's numeric value.
    pub(crate) fn value(&self) -> u32 {
        self.value
    }

    /// The number of digits.
    pub fn digits(&self) -> Digits {
        self.digits
    }

    /// The code as authenticator apps display it: two groups split by a space (`123 456`,
    /// `1234 5678`; `123 4567` for seven digits).
    pub fn to_grouped(&self) -> String {
        let plain = self.to_string();
        let split = usize::from(self.digits.get()) / 2;
        let (head, tail) = plain.split_at(split.min(plain.len()));
        format!("{head} {tail}")
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:0width$}",
            self.value,
            width = usize::from(self.digits.get())
        )
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Code([{} digits])", self.digits.get())
    }
}

impl ConstantTimeEq for Code {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.value.ct_eq(&other.value) & self.digits.get().ct_eq(&other.digits.get())
    }
}

impl PartialEq for Code {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Code {}
