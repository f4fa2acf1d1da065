//! Sealing secrets at rest: XChaCha20-Poly1305 under a key ring, bound to the account.
//!
//! A record never holds a plaintext secret. Each sealed secret carries the id of the key
//! that sealed it and a random 192-bit nonce; the associated data binds it to the account
//! id, so ciphertext copied onto another account does not open. After a rotation
//! ([`KeyRing::rotate`]) old secrets still open under their retired key and are re-sealed
//! under the current key on the engine's next write of that record.

use core::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::TryRngCore;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

use crate::account::AccountId;
use crate::error::SealError;
use crate::secret::Secret;

/// Domain separation for the associated data.
const AAD_CONTEXT: &[u8] = b"totp-enroll/sealed-secret/v1";

/// A secret as stored: key id, nonce and ciphertext with its tag. Holds no plaintext.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub(crate) key_id: u32,
    pub(crate) nonce: [u8; 24],
    pub(crate) ciphertext: Vec<u8>,
}

impl SealedSecret {
    /// The id of the key that sealed it.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SealedSecret(key_id={}, {} bytes)",
            self.key_id,
            self.ciphertext.len()
        )
    }
}

/// Sealing keys by id: one current key that seals, and retired keys that still open.
pub struct KeyRing {
    current: u32,
    keys: Vec<(u32, Zeroizing<[u8; 32]>)>,
}

impl KeyRing {
    /// A ring with one 256-bit key, which is current.
    pub fn new(key_id: u32, key: [u8; 32]) -> Self {
        Self {
            current: key_id,
            keys: vec![(key_id, Zeroizing::new(key))],
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
        self.keys.push((key_id, Zeroizing::new(key)));
        self.current = key_id;
    }

    /// Adds a retired key that only opens.
    #[must_use]
    pub fn with_retired(mut self, key_id: u32, key: [u8; 32]) -> Self {
        if key_id != self.current {
            self.keys.retain(|(id, _)| *id != key_id);
            self.keys.push((key_id, Zeroizing::new(key)));
        }
        self
    }

    /// The id of the key new seals use.
    pub fn current_key_id(&self) -> u32 {
        self.current
    }

    fn cipher(&self, key_id: u32) -> Option<XChaCha20Poly1305> {
        self.keys
            .iter()
            .find(|(id, _)| *id == key_id)
            .map(|(_, key)| XChaCha20Poly1305::new(Key::from_slice(key.as_slice())))
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
        let aad = associated_data(self.current, account);
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
        })
    }

    /// Opens a sealed secret of `account`.
    pub fn open(&self, sealed: &SealedSecret, account: &AccountId) -> Result<Secret, SealError> {
        let cipher = self
            .cipher(sealed.key_id)
            .ok_or(SealError::UnknownKeyId(sealed.key_id))?;
        let aad = associated_data(sealed.key_id, account);
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

    /// Whether `sealed` should be re-sealed under the current key.
    pub fn needs_reseal(&self, sealed: &SealedSecret) -> bool {
        sealed.key_id != self.current
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

/// `context ‖ key id ‖ len(account) ‖ account`.
fn associated_data(key_id: u32, account: &AccountId) -> Vec<u8> {
    let id = account.as_str().as_bytes();
    let mut aad = Vec::with_capacity(
        AAD_CONTEXT
            .len()
            .saturating_add(12)
            .saturating_add(id.len()),
    );
    aad.extend_from_slice(AAD_CONTEXT);
    aad.extend_from_slice(&key_id.to_be_bytes());
    aad.extend_from_slice(&u64::try_from(id.len()).unwrap_or(u64::MAX).to_be_bytes());
    aad.extend_from_slice(id);
    aad
}
