//! [`KeyRing`]: sealing secrets at rest, XChaCha20-Poly1305 under a key ring, bound to the account; and
//! the MAC over each whole stored record (see [`Enrollment`](crate::Enrollment)).
//!
//! A record never holds a plaintext secret. Each sealed secret carries the id of the key
//! that sealed it and a random 192-bit nonce; the associated data binds it to the account
//! id, so ciphertext copied onto another account does not open. After a rotation
//! ([`KeyRing::rotate`]) old secrets still open under their retired key and are re-sealed
//! under the current key on the engine's next write of that record.
//!
//! The associated data also names the record format the secret was sealed for: a secret
//! sealed for a format-2 record (which is authenticated as a whole) never opens inside a
//! forged format-1 record (which is not), so a MAC cannot be stripped by downgrading.
//!
//! Each 256-bit ring key also yields a record MAC key,
//! `HMAC-SHA-256(key, "totp-enroll/record-mac-key/v2")`, so the ring holds one secret per
//! key id for both purposes and a rotation rotates both.

use core::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac as _};
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::account::AccountId;
use crate::error::SealError;
use crate::keys::sealed::{SealFormat, SealedSecret};
use crate::otp::secret::Secret;

/// Domain separation for the associated data of secrets in format-1 records (legacy).
const AAD_CONTEXT_V1: &[u8] = b"totp-enroll/sealed-secret/v1";
/// Domain separation for the associated data of secrets in format-2 records.
const AAD_CONTEXT_V2: &[u8] = b"totp-enroll/sealed-secret/v2";
/// Derivation label of a ring key's record MAC key.
const MAC_KEY_LABEL: &[u8] = b"totp-enroll/record-mac-key/v2";
/// Domain separation of the record MAC's input.
const MAC_CONTEXT: &[u8] = b"totp-enroll/record-mac/v2";

/// Domain separation of a recovery code's keyed hash.
const RECOVERY_CONTEXT: &[u8] = b"totp-enroll/recovery-code/v1";

/// Length of a record MAC (HMAC-SHA-256).
pub(crate) const RECORD_TAG_BYTES: usize = 32;

/// Sealing keys by id: one current key that seals, and retired keys that still open.
///
/// `Clone` copies the keys (each clone zeroizes its own on drop); `Debug` shows only ids.
#[derive(Clone)]
pub struct KeyRing {
    current: u32,
    /// Each key is boxed, so growing the vector moves pointers, never key bytes (a moved
    /// buffer is freed without being wiped).
    keys: Vec<(u32, Box<RingKey>)>,
}

/// One ring key and the record MAC key derived from it; both zeroized on drop.
#[derive(Clone)]
struct RingKey {
    seal: Zeroizing<[u8; 32]>,
    mac: Zeroizing<[u8; 32]>,
}

impl RingKey {
    fn new(key: [u8; 32]) -> Box<Self> {
        let seal = Zeroizing::new(key);
        let mut mac = Zeroizing::new([0u8; 32]);
        // HMAC accepts keys of any length: this cannot fail.
        if let Ok(mut hmac) = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(seal.as_slice()) {
            hmac.update(MAC_KEY_LABEL);
            mac.copy_from_slice(&hmac.finalize().into_bytes());
        }
        Box::new(Self { seal, mac })
    }
}

impl KeyRing {
    /// A ring with one 256-bit key, which is current.
    pub fn new(key_id: u32, key: [u8; 32]) -> Self {
        Self {
            current: key_id,
            keys: vec![(key_id, RingKey::new(key))],
        }
    }

    /// A ring with one fresh random key, for the embedded default and tests. A portal that
    /// restarts needs its keys back: load them from its secret manager with [`KeyRing::new`].
    pub fn generate(key_id: u32) -> Result<Self, SealError> {
        let mut key = Zeroizing::new([0u8; 32]);
        OsRng
            .try_fill_bytes(key.as_mut_slice())
            .map_err(|_| SealError::Seal)?;
        Ok(Self::new(key_id, *key))
    }

    /// Makes `key` (under `key_id`) the current sealing key; the previous keys stay to open
    /// old records. Replaces a key of the same id.
    pub fn rotate(&mut self, key_id: u32, key: [u8; 32]) {
        self.keys.retain(|(id, _)| *id != key_id);
        self.keys.push((key_id, RingKey::new(key)));
        self.current = key_id;
    }

    /// Adds a retired key that only opens.
    #[must_use]
    pub fn with_retired(mut self, key_id: u32, key: [u8; 32]) -> Self {
        if key_id != self.current {
            self.keys.retain(|(id, _)| *id != key_id);
            self.keys.push((key_id, RingKey::new(key)));
        }
        self
    }

    /// Drops the key `key_id` unless it is the current one; returns whether it was held.
    /// Records sealed or signed under it no longer open: check first with
    /// [`Engine::key_usage`](crate::Engine::key_usage), or use
    /// [`Engine::retire_key`](crate::Engine::retire_key), which does.
    pub fn remove(&mut self, key_id: u32) -> bool {
        if key_id == self.current {
            return false;
        }
        let before = self.keys.len();
        self.keys.retain(|(id, _)| *id != key_id);
        self.keys.len() != before
    }

    /// The id of the key new seals use.
    pub fn current_key_id(&self) -> u32 {
        self.current
    }

    fn key(&self, key_id: u32) -> Option<&RingKey> {
        self.keys
            .iter()
            .find(|(id, _)| *id == key_id)
            .map(|(_, key)| &**key)
    }

    fn cipher(&self, key_id: u32) -> Option<XChaCha20Poly1305> {
        self.key(key_id)
            .map(|key| XChaCha20Poly1305::new(Key::from_slice(key.seal.as_slice())))
    }

    /// Seals `secret` for `account` under the current key.
    pub fn seal(&self, secret: &Secret, account: &AccountId) -> Result<SealedSecret, SealError> {
        let cipher = self
            .cipher(self.current)
            .ok_or(SealError::MissingCurrentKey(self.current))?;
        let mut nonce = [0u8; 24];
        OsRng
            .try_fill_bytes(&mut nonce)
            .map_err(|_| SealError::Seal)?;
        let aad = associated_data(SealFormat::V2, self.current, account);
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.expose_secret_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::Seal)?;
        Ok(SealedSecret {
            key_id: self.current,
            nonce,
            ciphertext,
            format: SealFormat::V2,
        })
    }

    /// Opens a sealed secret of `account`.
    pub fn open(&self, sealed: &SealedSecret, account: &AccountId) -> Result<Secret, SealError> {
        let cipher = self
            .cipher(sealed.key_id)
            .ok_or(SealError::UnknownKeyId(sealed.key_id))?;
        let aad = associated_data(sealed.format, sealed.key_id, account);
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(&sealed.nonce),
                    Payload {
                        msg: &sealed.ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| SealError::Authentication)?,
        );
        Secret::from_bytes_legacy(&plain).map_err(|_| SealError::Authentication)
    }

    /// Whether `sealed` should be re-sealed: it was sealed under another key than the
    /// current one, or for a legacy (format 1) record.
    pub fn needs_reseal(&self, sealed: &SealedSecret) -> bool {
        sealed.key_id != self.current || sealed.format != SealFormat::V2
    }

    /// The record MAC of `body` (a format-2 record's encoding up to its tag) under key
    /// `key_id`, bound to `account` and to the store `version` the record is written as.
    pub(crate) fn record_tag(
        &self,
        key_id: u32,
        account: &AccountId,
        version: u64,
        body: &[u8],
    ) -> Result<[u8; RECORD_TAG_BYTES], SealError> {
        let key = self.key(key_id).ok_or(SealError::UnknownKeyId(key_id))?;
        let mut hmac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key.mac.as_slice())
            .map_err(|_| SealError::Seal)?;
        let id = account.as_str().as_bytes();
        hmac.update(MAC_CONTEXT);
        hmac.update(&key_id.to_be_bytes());
        hmac.update(&u64::try_from(id.len()).unwrap_or(u64::MAX).to_be_bytes());
        hmac.update(id);
        hmac.update(&version.to_be_bytes());
        hmac.update(body);
        let mut tag = [0u8; RECORD_TAG_BYTES];
        tag.copy_from_slice(&hmac.finalize().into_bytes());
        Ok(tag)
    }

    /// The keyed hash a recovery code is stored as: HMAC-SHA-256 under ring key `key_id`'s
    /// MAC key of `"totp-enroll/recovery-code/v1" ‖ key_id u32 ‖ len(account) u64 ‖ account
    /// ‖ canonical code`, so a stored hash is useless without the ring and on another
    /// account.
    pub(crate) fn recovery_hash(
        &self,
        key_id: u32,
        account: &AccountId,
        canonical: &[u8],
    ) -> Result<[u8; RECORD_TAG_BYTES], SealError> {
        let key = self.key(key_id).ok_or(SealError::UnknownKeyId(key_id))?;
        let mut hmac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key.mac.as_slice())
            .map_err(|_| SealError::Seal)?;
        let id = account.as_str().as_bytes();
        hmac.update(RECOVERY_CONTEXT);
        hmac.update(&key_id.to_be_bytes());
        hmac.update(&u64::try_from(id.len()).unwrap_or(u64::MAX).to_be_bytes());
        hmac.update(id);
        hmac.update(canonical);
        let mut hash = [0u8; RECORD_TAG_BYTES];
        hash.copy_from_slice(&hmac.finalize().into_bytes());
        Ok(hash)
    }

    /// Checks a record MAC in constant time: [`SealError::IntegrityMismatch`] unless `tag`
    /// is [`KeyRing::record_tag`] of the same inputs.
    pub(crate) fn verify_record_tag(
        &self,
        key_id: u32,
        account: &AccountId,
        version: u64,
        body: &[u8],
        tag: &[u8; RECORD_TAG_BYTES],
    ) -> Result<(), SealError> {
        let expected = self.record_tag(key_id, account, version, body)?;
        if bool::from(expected.ct_eq(tag)) {
            Ok(())
        } else {
            Err(SealError::IntegrityMismatch)
        }
    }

    /// Every key id with its key (by reference), for `KeyRing::export_text` and
    /// `KeyRing::key_ids` in `keyring_text`.
    pub(crate) fn expose_keys(&self) -> impl Iterator<Item = (u32, &[u8; 32])> {
        self.keys.iter().map(|(key_id, key)| (*key_id, &*key.seal))
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<u32> = self.keys.iter().map(|(id, _)| *id).collect();
        write!(
            f,
            "KeyRing(current={}, ids={ids:?}, [REDACTED])",
            self.current
        )
    }
}

/// `context ‖ key id ‖ len(account) ‖ account`, the context naming the record format.
fn associated_data(format: SealFormat, key_id: u32, account: &AccountId) -> Vec<u8> {
    let context = match format {
        SealFormat::V1 => AAD_CONTEXT_V1,
        SealFormat::V2 => AAD_CONTEXT_V2,
    };
    let id = account.as_str().as_bytes();
    let mut aad = Vec::with_capacity(context.len().saturating_add(12).saturating_add(id.len()));
    aad.extend_from_slice(context);
    aad.extend_from_slice(&key_id.to_be_bytes());
    aad.extend_from_slice(&u64::try_from(id.len()).unwrap_or(u64::MAX).to_be_bytes());
    aad.extend_from_slice(id);
    aad
}
