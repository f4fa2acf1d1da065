//! [`Secret`]: the shared key, its generation, base32 forms and the setup-key display.

use core::fmt;

use rand::TryRngCore;
use rand::rngs::OsRng;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::error::SecretError;

/// A TOTP shared secret.
///
/// * Generated from the operating system's CSPRNG ([`Secret::generate`]), 160 bits by default.
/// * Parsed strictly from base32 ([`Secret::from_base32`]); keys under 128 bits need the
///   explicitly named [`Secret::from_base32_legacy`].
/// * Zeroized on drop; `Debug` is redacted; there is no `Display`. The bytes are reachable
///   only through [`Secret::expose_secret_bytes`], and the text forms only through
///   [`Secret::to_base32`] and [`Secret::to_setup_key`].
/// * Equality is constant time.
///
/// ```
/// use totp_enroll::otp::Secret;
/// let secret = Secret::generate()?;
/// assert_eq!(secret.len(), 20);
/// assert_eq!(format!("{secret:?}"), "Secret([REDACTED 160 bits])");
/// # Ok::<(), totp_enroll::error::SecretError>(())
/// ```
#[derive(Clone)]
pub struct Secret {
    bytes: Zeroizing<Vec<u8>>,
}

/// Characters that may separate groups of a typed or pasted key.
fn is_key_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '-' | '\u{3000}')
}

/// The RFC 4648 base32 value of an ASCII letter or digit, case-insensitively.
fn base32_value(c: char) -> Option<u8> {
    let b = u8::try_from(c).ok()?;
    match b {
        b'A'..=b'Z' => b.checked_sub(b'A'),
        b'a'..=b'z' => b.checked_sub(b'a'),
        b'2'..=b'7' => b.checked_sub(b'2' - 26),
        _ => None,
    }
}

impl Secret {
    /// Length of a generated secret: 20 bytes (160 bits), as RFC 4226 §4 recommends.
    pub const DEFAULT_BYTES: usize = 20;
    /// Fewest bytes accepted for a new or strictly parsed secret (128 bits, RFC 4226 §4).
    pub const MIN_BYTES: usize = 16;
    /// Fewest bytes accepted by [`Secret::from_base32_legacy`] (80 bits).
    pub const LEGACY_MIN_BYTES: usize = 10;
    /// Most bytes accepted (1024 bits: a full SHA-512 block, twice its key size).
    pub const MAX_BYTES: usize = 128;
    /// Longest base32 text examined, separators included, in bytes.
    pub const MAX_INPUT_BYTES: usize = 512;

    /// A new secret of [`Secret::DEFAULT_BYTES`] from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, SecretError> {
        Self::generate_with_len(Self::DEFAULT_BYTES)
    }

    /// A new secret of `len` bytes (between [`Secret::MIN_BYTES`] and [`Secret::MAX_BYTES`]).
    pub fn generate_with_len(len: usize) -> Result<Self, SecretError> {
        check_len(len, Self::MIN_BYTES)?;
        let mut bytes = Zeroizing::new(vec![0u8; len]);
        OsRng
            .try_fill_bytes(bytes.as_mut_slice())
            .map_err(|_| SecretError::RandomUnavailable)?;
        Ok(Self { bytes })
    }

    /// A secret from raw bytes (at least [`Secret::MIN_BYTES`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecretError> {
        check_len(bytes.len(), Self::MIN_BYTES)?;
        Ok(Self {
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// A secret from raw bytes of at least [`Secret::LEGACY_MIN_BYTES`]: only for keys that
    /// already exist elsewhere (RFC test vectors, migrations), never for new ones.
    pub fn from_bytes_legacy(bytes: &[u8]) -> Result<Self, SecretError> {
        check_len(bytes.len(), Self::LEGACY_MIN_BYTES)?;
        Ok(Self {
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// Parses a base32 key as a customer or a file supplies it.
    ///
    /// Lenient in form: lowercase, spaces, tabs, ideographic spaces, hyphens and trailing `=`
    /// padding are accepted. Strict in content: any other character, an impossible length,
    /// non-zero unused trailing bits, or fewer than 128 bits are errors, which never quote
    /// the input.
    ///
    /// ```
    /// use totp_enroll::{otp::Secret, error::SecretError};
    /// let key = Secret::from_base32("jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp")?;
    /// assert_eq!(key.to_base32().as_str(), "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
    /// // The sample key printed in the Japanese portal's manual contains an `8`:
    /// assert_eq!(
    ///     Secret::from_base32("ILEHO2TX7RXH3TQUXSJ58GCJCDOXO").unwrap_err(),
    ///     SecretError::InvalidCharacter { position: 21 },
    /// );
    /// # Ok::<(), SecretError>(())
    /// ```
    pub fn from_base32(text: &str) -> Result<Self, SecretError> {
        Self::parse_base32(text, Self::MIN_BYTES)
    }

    /// Like [`Secret::from_base32`] but admits keys of 80 to 127 bits, for importing keys that
    /// another system already issued. Never use it for new enrollments.
    pub fn from_base32_legacy(text: &str) -> Result<Self, SecretError> {
        Self::parse_base32(text, Self::LEGACY_MIN_BYTES)
    }

    fn parse_base32(text: &str, min_bytes: usize) -> Result<Self, SecretError> {
        if text.len() > Self::MAX_INPUT_BYTES {
            return Err(SecretError::InputTooLong {
                max: Self::MAX_INPUT_BYTES,
            });
        }
        // 5-bit values of the key characters, zeroized like the key itself.
        let mut values: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(text.len()));
        let mut padding_from: Option<usize> = None;
        for (position, c) in (1usize..).zip(text.chars()) {
            if is_key_separator(c) {
                continue;
            }
            if c == '=' {
                padding_from.get_or_insert(position);
                continue;
            }
            let value = base32_value(c).ok_or(SecretError::InvalidCharacter { position })?;
            if padding_from.is_some() {
                return Err(SecretError::MisplacedPadding { position });
            }
            values.push(value);
        }
        if values.is_empty() {
            return Err(SecretError::Empty);
        }
        // Mask of the unused low bits of the last character, by length modulo 8.
        let unused_mask: u8 = match values.len() % 8 {
            0 => 0,
            2 => 0b11,
            4 => 0b1111,
            5 => 0b1,
            7 => 0b111,
            _ => {
                return Err(SecretError::InvalidLength {
                    length: values.len(),
                });
            }
        };
        let last = values.last().copied().unwrap_or(0);
        if last & unused_mask != 0 {
            return Err(SecretError::NonZeroTrailingBits);
        }
        // values.len() <= MAX_INPUT_BYTES, so the bit count cannot overflow.
        let byte_len = values.len().saturating_mul(5) / 8;
        check_len(byte_len, min_bytes)?;
        let mut bytes = Zeroizing::new(Vec::with_capacity(byte_len));
        let mut buffer: u16 = 0;
        let mut bits: u32 = 0;
        for &value in values.iter() {
            buffer = (buffer << 5) | u16::from(value);
            bits = bits.saturating_add(5);
            if bits >= 8 {
                bits = bits.saturating_sub(8);
                bytes.push(((buffer >> bits) & 0xff) as u8);
            }
        }
        buffer.zeroize();
        Ok(Self { bytes })
    }

    /// Uppercase, unpadded RFC 4648 base32, as an `otpauth://` URI and a clipboard copy carry it.
    ///
    /// Written into a string of exactly its final length, which never grows (a grown
    /// string would leave a copy of the key in the freed buffer).
    pub fn to_base32(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::with_capacity(self.base32_len()));
        self.push_base32(&mut text, false);
        text
    }

    /// The setup key as the portal's "show code" box displays it: uppercase base32 in groups
    /// of four separated by spaces (`ABCD EFGH …`), for reading and typing. Written into a
    /// string of exactly its final length, like [`Secret::to_base32`].
    pub fn to_setup_key(&self) -> Zeroizing<String> {
        let chars = self.base32_len();
        let spaces = chars.saturating_sub(1) / 4;
        let mut grouped = Zeroizing::new(String::with_capacity(chars.saturating_add(spaces)));
        self.push_base32(&mut grouped, true);
        grouped
    }

    /// Characters of the unpadded base32 text: ⌈8·len / 5⌉.
    pub(crate) fn base32_len(&self) -> usize {
        self.bytes.len().saturating_mul(8).div_ceil(5)
    }

    /// Writes the unpadded uppercase base32 text to `out` (which must be sized for it if it
    /// is a string: nothing here reserves).
    pub(crate) fn write_base32(&self, out: &mut impl fmt::Write) -> fmt::Result {
        self.encode_base32(out, false)
    }

    /// Appends the base32 text to `out`, grouped by four if `grouped`.
    fn push_base32(&self, out: &mut String, grouped: bool) {
        // Writing to a `String` cannot fail.
        let _ = self.encode_base32(out, grouped);
    }

    /// The base32 encoder behind every text form of the key, with a space between groups
    /// of four characters if `grouped`.
    fn encode_base32(&self, out: &mut impl fmt::Write, grouped: bool) -> fmt::Result {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut written: usize = 0;
        let mut emit = |out: &mut _, value: u16| -> fmt::Result {
            if grouped && written != 0 && written.is_multiple_of(4) {
                fmt::Write::write_char(out, ' ')?;
            }
            let c = ALPHABET
                .get(usize::from(value & 0x1f))
                .copied()
                .unwrap_or(b'A');
            written = written.saturating_add(1);
            fmt::Write::write_char(out, char::from(c))
        };
        // At most 4 unused bits are carried between bytes, so 12 bits fit the buffer.
        let mut buffer: u16 = 0;
        let mut bits: u32 = 0;
        for &byte in self.bytes.iter() {
            buffer = (buffer << 8) | u16::from(byte);
            bits = bits.saturating_add(8);
            while bits >= 5 {
                bits = bits.saturating_sub(5);
                if let Err(error) = emit(out, buffer >> bits) {
                    buffer.zeroize();
                    return Err(error);
                }
            }
        }
        let last = if bits > 0 {
            emit(out, buffer << 5u32.saturating_sub(bits))
        } else {
            Ok(())
        };
        buffer.zeroize();
        last
    }

    /// The raw key bytes. Named so that every use is visible in review.
    pub fn expose_secret_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Length of the key in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always `false`: a secret has at least [`Secret::LEGACY_MIN_BYTES`].
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

fn check_len(len: usize, min_bytes: usize) -> Result<(), SecretError> {
    let bits = len.saturating_mul(8);
    if len < min_bytes {
        return Err(SecretError::TooShort {
            bits,
            min_bits: min_bytes.saturating_mul(8),
        });
    }
    if len > Secret::MAX_BYTES {
        return Err(SecretError::TooLong {
            bits,
            max_bits: Secret::MAX_BYTES.saturating_mul(8),
        });
    }
    Ok(())
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Secret([REDACTED {} bits])",
            self.bytes.len().saturating_mul(8)
        )
    }
}

impl ConstantTimeEq for Secret {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.bytes.as_slice().ct_eq(other.bytes.as_slice())
    }
}

impl PartialEq for Secret {
    /// Constant time in the contents (the lengths are not secret).
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Secret {}
