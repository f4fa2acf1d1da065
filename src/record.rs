//! [`EnrollmentRecord`]: what a store keeps per account, and its versioned byte encoding.
//!
//! The encoding is explicit and self-checking, so a store only moves opaque bytes and a
//! corrupted row decodes to a typed [`RecordError`], never to a wrong enrollment:
//!
//! ```text
//! "TOTPENR" 0x01                      header and format version
//! status u8                           0 not registered, 1 pending, 2 active
//! pending/active:
//!   algorithm u8, digits u8, period u32
//!   key_id u32, nonce [24], ciphertext len u16, ciphertext   (sealed secret, never plaintext)
//!   label len u16, label UTF-8
//!   pending: started_at u64, expires_at u64
//!   active:  since u64, last_used_step u64
//! failures u32, locked u8, backoff_until u64
//! ```
//! All integers are big-endian; trailing bytes are an error.

use crate::error::RecordError;
use crate::policy::{Algorithm, Digits, OtpPolicy};
use crate::seal::SealedSecret;
use crate::secret::Secret;
use crate::throttle::ThrottleState;
use crate::uri::KeyUri;

const MAGIC: &[u8; 7] = b"TOTPENR";
const FORMAT_VERSION: u8 = 1;
/// XChaCha20-Poly1305 tag length.
const TAG_BYTES: usize = 16;

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

/// The enrollment's lifecycle state: 未登録 → pending → 利用中 → 未登録.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordStatus {
    /// 未登録: no secret is held.
    NotRegistered,
    /// Started, waiting for the first code from the app; expires at `expires_at`.
    Pending {
        /// The sealed new secret.
        secret: SealedSecret,
        /// Its code parameters.
        params: OtpParams,
        /// The account label shown in the app.
        label: String,
        /// When enrollment began.
        started_at: u64,
        /// When the pending enrollment lapses.
        expires_at: u64,
    },
    /// 利用中: confirmed; codes are required at login.
    Active {
        /// The sealed secret.
        secret: SealedSecret,
        /// Its code parameters.
        params: OtpParams,
        /// The account label shown in the app.
        label: String,
        /// When it was confirmed.
        since: u64,
        /// The last accepted time step: only later steps can be accepted.
        last_used_step: u64,
    },
}

/// One account's enrollment as stored: lifecycle state plus failure counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentRecord {
    pub(crate) status: RecordStatus,
    pub(crate) throttle: ThrottleState,
}

impl EnrollmentRecord {
    /// The record of an account that never enrolled, or stopped, or was reset.
    pub fn not_registered() -> Self {
        Self {
            status: RecordStatus::NotRegistered,
            throttle: ThrottleState::default(),
        }
    }

    /// The lifecycle state.
    pub fn status(&self) -> &RecordStatus {
        &self.status
    }

    /// The failure counter.
    pub fn throttle(&self) -> &ThrottleState {
        &self.throttle
    }

    /// The last accepted step of an active enrollment.
    pub fn last_used_step(&self) -> Option<u64> {
        match &self.status {
            RecordStatus::Active { last_used_step, .. } => Some(*last_used_step),
            _ => None,
        }
    }

    /// Encodes the record (see the module documentation for the layout).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(MAGIC);
        out.push(FORMAT_VERSION);
        match &self.status {
            RecordStatus::NotRegistered => out.push(0),
            RecordStatus::Pending {
                secret,
                params,
                label,
                started_at,
                expires_at,
            } => {
                out.push(1);
                encode_common(&mut out, secret, params, label);
                out.extend_from_slice(&started_at.to_be_bytes());
                out.extend_from_slice(&expires_at.to_be_bytes());
            }
            RecordStatus::Active {
                secret,
                params,
                label,
                since,
                last_used_step,
            } => {
                out.push(2);
                encode_common(&mut out, secret, params, label);
                out.extend_from_slice(&since.to_be_bytes());
                out.extend_from_slice(&last_used_step.to_be_bytes());
            }
        }
        out.extend_from_slice(&self.throttle.failures.to_be_bytes());
        out.push(u8::from(self.throttle.locked));
        out.extend_from_slice(&self.throttle.backoff_until.to_be_bytes());
        out
    }

    /// Decodes and validates a record. Never panics; any defect is a [`RecordError`].
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let mut r = Reader(bytes);
        if r.take(MAGIC.len())? != MAGIC {
            return Err(RecordError::BadHeader);
        }
        let version = r.u8()?;
        if version != FORMAT_VERSION {
            return Err(RecordError::UnsupportedVersion(version));
        }
        let status = match r.u8()? {
            0 => RecordStatus::NotRegistered,
            1 => {
                let (secret, params, label) = decode_common(&mut r)?;
                let started_at = r.u64()?;
                let expires_at = r.u64()?;
                if expires_at < started_at {
                    return Err(RecordError::InvalidField("expires_at"));
                }
                RecordStatus::Pending {
                    secret,
                    params,
                    label,
                    started_at,
                    expires_at,
                }
            }
            2 => {
                let (secret, params, label) = decode_common(&mut r)?;
                RecordStatus::Active {
                    secret,
                    params,
                    label,
                    since: r.u64()?,
                    last_used_step: r.u64()?,
                }
            }
            _ => return Err(RecordError::InvalidField("status")),
        };
        let failures = r.u32()?;
        let locked = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(RecordError::InvalidField("locked")),
        };
        let backoff_until = r.u64()?;
        if !r.0.is_empty() {
            return Err(RecordError::TrailingBytes);
        }
        Ok(Self {
            status,
            throttle: ThrottleState {
                failures,
                locked,
                backoff_until,
            },
        })
    }
}

fn encode_common(out: &mut Vec<u8>, secret: &SealedSecret, params: &OtpParams, label: &str) {
    out.push(match params.algorithm {
        Algorithm::Sha1 => 0,
        Algorithm::Sha256 => 1,
        Algorithm::Sha512 => 2,
    });
    out.push(params.digits.get());
    out.extend_from_slice(&params.period.to_be_bytes());
    out.extend_from_slice(&secret.key_id.to_be_bytes());
    out.extend_from_slice(&secret.nonce);
    push_len_prefixed(out, &secret.ciphertext);
    push_len_prefixed(out, label.as_bytes());
}

/// Lengths are bounded far below `u16::MAX` by construction (ciphertext ≤ 144, label ≤ 256).
fn push_len_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes.get(..usize::from(len)).unwrap_or(bytes));
}

fn decode_common(r: &mut Reader<'_>) -> Result<(SealedSecret, OtpParams, String), RecordError> {
    let algorithm = match r.u8()? {
        0 => Algorithm::Sha1,
        1 => Algorithm::Sha256,
        2 => Algorithm::Sha512,
        _ => return Err(RecordError::InvalidField("algorithm")),
    };
    let digits =
        Digits::new(u32::from(r.u8()?)).map_err(|_| RecordError::InvalidField("digits"))?;
    let period = r.u32()?;
    if !(OtpPolicy::MIN_PERIOD..=OtpPolicy::MAX_PERIOD).contains(&period) {
        return Err(RecordError::InvalidField("period"));
    }
    let key_id = r.u32()?;
    let nonce = r.array::<24>()?;
    let ciphertext = r.len_prefixed()?.to_vec();
    let min = Secret::LEGACY_MIN_BYTES.saturating_add(TAG_BYTES);
    let max = Secret::MAX_BYTES.saturating_add(TAG_BYTES);
    if !(min..=max).contains(&ciphertext.len()) {
        return Err(RecordError::InvalidField("ciphertext"));
    }
    let label = r.len_prefixed()?;
    if label.len() > KeyUri::MAX_ACCOUNT_BYTES {
        return Err(RecordError::InvalidField("label"));
    }
    let label =
        String::from_utf8(label.to_vec()).map_err(|_| RecordError::InvalidField("label"))?;
    Ok((
        SealedSecret {
            key_id,
            nonce,
            ciphertext,
        },
        OtpParams {
            algorithm,
            digits,
            period,
        },
        label,
    ))
}

/// A cursor over the encoded bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        if self.0.len() < n {
            return Err(RecordError::Truncated);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, RecordError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, RecordError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, RecordError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn len_prefixed(&mut self) -> Result<&'a [u8], RecordError> {
        let len = u16::from_be_bytes(self.array()?);
        self.take(usize::from(len))
    }
}
