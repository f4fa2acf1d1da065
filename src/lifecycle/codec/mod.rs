//! The stored byte form of an [`Enrollment`] and the MAC over it: versioned, explicit and
//! self-checking.
//!
//! The encoding is explicit and self-checking, so a store only moves opaque bytes and a
//! corrupted row decodes to a typed [`RecordError`], never to a wrong enrollment.
//!
//! # Format 4 (written by this version)
//!
//! ```text
//! "TOTPENR" 0x04                      header and format version
//! status u8                           0 not registered, 1 pending, 2 active
//! recovery count u8                   unused recovery codes, 0..=16 (0 unless active)
//!   count > 0: key_id u32, issued_at u64, count × hash [32]
//! pending: secret, started_at u64, expires_at u64
//! active:  since u64, count u8 (1..=5), count × authenticator:
//!   id u8, name len u16, name UTF-8, created_at u64, last_used_at u64 (0: never),
//!   drift i32, pending u8 (0 or 1; 1: until u64), secret, last_used_step u64
//! failures u32, locked u8, backoff_until u64
//! integrity u8                        0 none, 1 HMAC-SHA-256
//!   1: mac_key_id u32, tag [32]
//!
//! secret = algorithm u8, digits u8, period u32,
//!          key_id u32, nonce [24], ciphertext len u16, ciphertext ‖ tag [32]
//!          label len u16, label UTF-8
//! ```
//! A secret is sealed, never plaintext: XChaCha20 with an HMAC-SHA-256 tag (see
//! [`KeyRing`] for the construction).
//! All integers are big-endian; trailing bytes are an error. Authenticators are stored in
//! increasing id order, at least one of them confirmed and at most one pending. A recovery
//! code is stored only as its keyed hash under ring key `key_id` (see [`KeyRing`]), never
//! in plain text.
//!
//! # Format 3 (read, re-written as format 4)
//!
//! Format 3 is format 4 with the header byte `0x03` and its secrets sealed with
//! XChaCha20-Poly1305 (`ciphertext ‖ tag [16]`, see [`KeyRing`]). A format-3 row keeps
//! working unchanged (its MAC is checked over its own bytes); the engine's next write of it
//! re-seals every secret and writes format 4.
//!
//! # Format 2 (read, re-written as format 4)
//!
//! Format 2 holds one authenticator and no recovery codes: after the status byte, a
//! pending record is as in format 3, an active one is `secret, since u64, last_used_step
//! u64` (its authenticator reads as id 1, unnamed, created at `since`, never used, no
//! drift); its secrets are sealed as in format 3. A format-2 row keeps working unchanged:
//! its MAC is checked over its own format-2 bytes, and the engine's next write of it is
//! format 4.
//!
//! The tag is HMAC-SHA-256 under the record MAC key derived from ring key `mac_key_id`
//! (see [`KeyRing`]) of
//! `"totp-enroll/record-mac/v2" ‖ mac_key_id u32 ‖ len(account) u64 ‖ account ‖ version u64
//! ‖ every byte of the record before the tag`, where `version` is the store version the
//! row is written as ([`Store::replace_if`](crate::Store::replace_if) with `expected`
//! writes version `expected.map_or(1, |v| v + 1)`). The engine writes every record with a
//! tag and checks it on every load before deciding anything (in constant time); a record
//! without a tag (integrity 0: built by hand, e.g. by a store's own tests) or with a wrong
//! one fails closed with [`SealError::IntegrityMismatch`](crate::SealError::IntegrityMismatch).
//! So a database writer cannot roll back the last used step, reset the failure counter,
//! clear a lock or a backoff, change the status, write an older row's bytes back under a
//! later version, or copy a row onto another account.
//!
//! What the row alone cannot show: restoring a *whole* earlier row together with its
//! version column (for example from a backup, or a row from before a support-desk reset),
//! or deleting the row (an account without a row is not registered). Both need state
//! outside the row, such as the portal's own record of which accounts use the service.
//!
//! # Format 1 (legacy, read only)
//!
//! Format 1 is format 2 with the header byte `0x01` and without the integrity fields. It
//! is decoded as legacy: accepted by default and re-written as format 2 (re-sealed, with a
//! tag) on the engine's next write of the record, or refused with
//! [`EnginePolicy::with_legacy_records`](crate::EnginePolicy::with_legacy_records)`(false)`
//! once every row was re-written. Secrets in format-2 records are sealed with a different
//! associated-data context than in format-1 records, so a format-2 sealed secret copied
//! into a forged format-1 record never opens: the tag cannot be removed by downgrading.
//! While legacy rows are accepted, a database writer can still write a whole legacy row
//! (for example a not-registered one) that no tag protects.

use crate::account::AccountId;
use crate::error::{RecordError, SealError};
use crate::keys::{
    AEAD_TAG_BYTES, KeyRing, RECORD_TAG_BYTES, SEAL_TAG_BYTES, SealFormat, SealedSecret,
};
use crate::lifecycle::authenticator::Authenticator;
use crate::lifecycle::enrollment::{Enrollment, Integrity, RecordStatus, RecoveryHashes};
use crate::lifecycle::recovery_code::RecoveryCodes;
use crate::lifecycle::throttle::ThrottleState;
use crate::otp::policy::{Algorithm, Digits, OtpParams, OtpPolicy};
use crate::otp::secret::Secret;
use crate::provision::uri::KeyUri;

const MAGIC: &[u8; 7] = b"TOTPENR";
/// The legacy format without a MAC.
const FORMAT_V1: u8 = 1;
/// One authenticator, authenticated as a whole.
const FORMAT_V2: u8 = 2;
/// Authenticators as a set, recovery codes; secrets sealed with XChaCha20-Poly1305.
const FORMAT_V3: u8 = 3;
/// The current format: format 3 with secrets sealed with XChaCha20 and HMAC-SHA-256.
const FORMAT_V4: u8 = 4;
/// Integrity byte of a format-2 record: no tag.
const INTEGRITY_NONE: u8 = 0;
/// Integrity byte of a format-2 record: HMAC-SHA-256 tag.
const INTEGRITY_HMAC_SHA256: u8 = 1;

impl Enrollment {
    /// The encoding's format version: 4; or the version of a row the engine has not
    /// re-written yet: 3, 2, or 1 for a legacy row (no MAC).
    pub fn format_version(&self) -> u8 {
        match self.integrity {
            Integrity::Legacy => FORMAT_V1,
            Integrity::UnsignedV2 => FORMAT_V2,
            Integrity::UnsignedV3 => FORMAT_V3,
            Integrity::Unsigned => FORMAT_V4,
            Integrity::Mac { format, .. } => format,
        }
    }

    /// The record with a MAC under the ring's current key, for `account`, to be written
    /// as store version `version`.
    pub(crate) fn signed(
        mut self,
        keys: &KeyRing,
        account: &AccountId,
        version: u64,
    ) -> Result<Self, SealError> {
        // A secret of an earlier construction would never open inside a format-4 record:
        // re-seal it first.
        if self.secrets().any(|sealed| sealed.format != SealFormat::V3) {
            return Err(SealError::Seal);
        }
        let key_id = keys.current_key_id();
        self.integrity = Integrity::Mac {
            key_id,
            tag: [0; RECORD_TAG_BYTES],
            format: FORMAT_V4,
        };
        let tag = keys.record_tag(key_id, account, version, &self.encode_body())?;
        self.integrity = Integrity::Mac {
            key_id,
            tag,
            format: FORMAT_V4,
        };
        Ok(self)
    }

    /// Checks the record's MAC for `account` at store version `version`. A record without
    /// one (format 2 without a tag, or legacy) is [`SealError::IntegrityMismatch`] here:
    /// the caller decides about legacy records first.
    pub(crate) fn verify_integrity(
        &self,
        keys: &KeyRing,
        account: &AccountId,
        version: u64,
    ) -> Result<(), SealError> {
        match &self.integrity {
            Integrity::Mac { key_id, tag, .. } => {
                keys.verify_record_tag(*key_id, account, version, &self.encode_body(), tag)
            }
            Integrity::Unsigned
            | Integrity::UnsignedV2
            | Integrity::UnsignedV3
            | Integrity::Legacy => Err(SealError::IntegrityMismatch),
        }
    }

    /// Encodes the record (see the module documentation for the layout): format 4, or the
    /// format (3, 2 or 1) of a record as it was decoded.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.encode_body();
        if let Integrity::Mac { tag, .. } = &self.integrity {
            out.extend_from_slice(tag);
        }
        out
    }

    /// The encoding up to the tag: what the MAC covers.
    fn encode_body(&self) -> Vec<u8> {
        // About 150 bytes per secret, so that the buffer does not grow while it is written.
        let secrets = self.secrets().count().max(1);
        let mut out = Vec::with_capacity(64usize.saturating_add(secrets.saturating_mul(160)));
        out.extend_from_slice(MAGIC);
        let format = self.format_version();
        out.push(format);
        out.push(match &self.status {
            RecordStatus::NotRegistered => 0,
            RecordStatus::Pending { .. } => 1,
            RecordStatus::Active { .. } => 2,
        });
        if format >= FORMAT_V3 {
            let count = u8::try_from(self.recovery.hashes.len()).unwrap_or(u8::MAX);
            out.push(count);
            if count > 0 {
                out.extend_from_slice(&self.recovery.key_id.to_be_bytes());
                out.extend_from_slice(&self.recovery.issued_at.to_be_bytes());
                for hash in self.recovery.hashes.iter().take(usize::from(count)) {
                    out.extend_from_slice(hash);
                }
            }
        }
        match &self.status {
            RecordStatus::NotRegistered => {}
            RecordStatus::Pending {
                secret,
                params,
                label,
                started_at,
                expires_at,
            } => {
                encode_common(&mut out, secret, params, label);
                out.extend_from_slice(&started_at.to_be_bytes());
                out.extend_from_slice(&expires_at.to_be_bytes());
            }
            RecordStatus::Active {
                since,
                authenticators,
            } if format >= FORMAT_V3 => {
                out.extend_from_slice(&since.to_be_bytes());
                let count = u8::try_from(authenticators.len()).unwrap_or(u8::MAX);
                out.push(count);
                for a in authenticators.iter().take(usize::from(count)) {
                    encode_authenticator(&mut out, a);
                }
            }
            RecordStatus::Active {
                since,
                authenticators,
            } => {
                // Formats 1 and 2: the one authenticator they decoded to.
                if let Some(a) = authenticators.first() {
                    encode_common(&mut out, &a.secret, &a.params, &a.label);
                    out.extend_from_slice(&since.to_be_bytes());
                    out.extend_from_slice(&a.last_used_step.to_be_bytes());
                }
            }
        }
        out.extend_from_slice(&self.throttle.failures.to_be_bytes());
        out.push(u8::from(self.throttle.locked));
        out.extend_from_slice(&self.throttle.backoff_until.to_be_bytes());
        match &self.integrity {
            Integrity::Legacy => {}
            Integrity::Unsigned | Integrity::UnsignedV2 | Integrity::UnsignedV3 => {
                out.push(INTEGRITY_NONE);
            }
            Integrity::Mac { key_id, .. } => {
                out.push(INTEGRITY_HMAC_SHA256);
                out.extend_from_slice(&key_id.to_be_bytes());
            }
        }
        out
    }

    /// Decodes and validates a record. Never panics; any defect is a [`RecordError`].
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let mut r = Reader(bytes);
        if r.take(MAGIC.len())? != MAGIC {
            return Err(RecordError::BadHeader);
        }
        let version = r.u8()?;
        let format = match version {
            FORMAT_V1 => SealFormat::V1,
            FORMAT_V2 | FORMAT_V3 => SealFormat::V2,
            FORMAT_V4 => SealFormat::V3,
            _ => return Err(RecordError::UnsupportedVersion(version)),
        };
        let status_byte = r.u8()?;
        let recovery = if version >= FORMAT_V3 {
            decode_recovery(&mut r, status_byte)?
        } else {
            RecoveryHashes::default()
        };
        let status = match status_byte {
            0 => RecordStatus::NotRegistered,
            1 => {
                let (secret, params, label) = decode_common(&mut r, format)?;
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
            2 if version >= FORMAT_V3 => {
                let since = r.u64()?;
                let count = usize::from(r.u8()?);
                if !(1..=Authenticator::MAX_PER_ACCOUNT).contains(&count) {
                    return Err(RecordError::InvalidField("authenticators"));
                }
                let mut authenticators = Vec::with_capacity(count);
                for _ in 0..count {
                    authenticators.push(decode_authenticator(&mut r, format)?);
                }
                check_authenticators(&authenticators)?;
                RecordStatus::Active {
                    since,
                    authenticators,
                }
            }
            2 => {
                let (secret, params, label) = decode_common(&mut r, format)?;
                let since = r.u64()?;
                let last_used_step = r.u64()?;
                RecordStatus::Active {
                    since,
                    authenticators: vec![Authenticator {
                        id: 1,
                        name: String::new(),
                        secret,
                        params,
                        label,
                        created_at: since,
                        last_used_at: None,
                        last_used_step,
                        drift: 0,
                        pending_until: None,
                    }],
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
        let integrity = match format {
            SealFormat::V1 => Integrity::Legacy,
            SealFormat::V2 | SealFormat::V3 => match r.u8()? {
                INTEGRITY_NONE if version == FORMAT_V2 => Integrity::UnsignedV2,
                INTEGRITY_NONE if version == FORMAT_V3 => Integrity::UnsignedV3,
                INTEGRITY_NONE => Integrity::Unsigned,
                INTEGRITY_HMAC_SHA256 => Integrity::Mac {
                    key_id: r.u32()?,
                    tag: r.array()?,
                    format: version,
                },
                _ => return Err(RecordError::InvalidField("integrity")),
            },
        };
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
            recovery,
            integrity,
        })
    }
}

/// The recovery codes of formats 3 and 4 after the status byte (only for an active record).
fn decode_recovery(r: &mut Reader<'_>, status: u8) -> Result<RecoveryHashes, RecordError> {
    let count = usize::from(r.u8()?);
    if count > RecoveryCodes::MAX_COUNT || (count > 0 && status != 2) {
        return Err(RecordError::InvalidField("recovery"));
    }
    let mut recovery = RecoveryHashes::default();
    if count > 0 {
        recovery.key_id = r.u32()?;
        recovery.issued_at = r.u64()?;
        for _ in 0..count {
            recovery.hashes.push(r.array()?);
        }
    }
    Ok(recovery)
}

fn encode_authenticator(out: &mut Vec<u8>, a: &Authenticator) {
    out.push(a.id);
    push_len_prefixed(out, a.name.as_bytes());
    out.extend_from_slice(&a.created_at.to_be_bytes());
    out.extend_from_slice(&a.last_used_at.unwrap_or(0).to_be_bytes());
    out.extend_from_slice(&a.drift.to_be_bytes());
    match a.pending_until {
        None => out.push(0),
        Some(until) => {
            out.push(1);
            out.extend_from_slice(&until.to_be_bytes());
        }
    }
    encode_common(out, &a.secret, &a.params, &a.label);
    out.extend_from_slice(&a.last_used_step.to_be_bytes());
}

fn decode_authenticator(
    r: &mut Reader<'_>,
    format: SealFormat,
) -> Result<Authenticator, RecordError> {
    let id = r.u8()?;
    let name = r.len_prefixed()?;
    if name.len() > Authenticator::MAX_NAME_BYTES {
        return Err(RecordError::InvalidField("authenticator name"));
    }
    let name = String::from_utf8(name.to_vec())
        .ok()
        .filter(|name| crate::account::names::first_forbidden(name).is_none())
        .ok_or(RecordError::InvalidField("authenticator name"))?;
    let created_at = r.u64()?;
    let last_used_at = Some(r.u64()?).filter(|at| *at != 0);
    let drift = i32::from_be_bytes(r.array()?);
    let pending_until = match r.u8()? {
        0 => None,
        1 => Some(r.u64()?),
        _ => return Err(RecordError::InvalidField("authenticator pending")),
    };
    let (secret, params, label) = decode_common(r, format)?;
    let last_used_step = r.u64()?;
    if pending_until.is_some() && (last_used_step != 0 || last_used_at.is_some() || drift != 0) {
        return Err(RecordError::InvalidField("authenticator pending"));
    }
    Ok(Authenticator {
        id,
        name,
        secret,
        params,
        label,
        created_at,
        last_used_at,
        last_used_step,
        drift,
        pending_until,
    })
}

/// Ids non-zero and increasing; at least one confirmed, at most one pending.
fn check_authenticators(list: &[Authenticator]) -> Result<(), RecordError> {
    let increasing = list
        .iter()
        .zip(list.iter().skip(1))
        .all(|(a, b)| a.id < b.id);
    let pending = list.iter().filter(|a| a.is_pending()).count();
    let confirmed = list.len().saturating_sub(pending);
    if list.first().is_some_and(|a| a.id == 0) || !increasing || pending > 1 || confirmed == 0 {
        return Err(RecordError::InvalidField("authenticators"));
    }
    Ok(())
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

/// Lengths are bounded far below `u16::MAX` by construction (ciphertext ≤ 160, label ≤ 256).
fn push_len_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes.get(..usize::from(len)).unwrap_or(bytes));
}

fn decode_common(
    r: &mut Reader<'_>,
    format: SealFormat,
) -> Result<(SealedSecret, OtpParams, String), RecordError> {
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
    let tag = match format {
        SealFormat::V1 | SealFormat::V2 => AEAD_TAG_BYTES,
        SealFormat::V3 => SEAL_TAG_BYTES,
    };
    let min = Secret::LEGACY_MIN_BYTES.saturating_add(tag);
    let max = Secret::MAX_BYTES.saturating_add(tag);
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
            format,
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

/// One named test per refusal of the format-3 fields (authenticators, recovery codes): each
/// builds a record that breaks one rule, encodes it (encoding does not validate) and
/// expects decoding to refuse it.
#[cfg(test)]
mod tests;
