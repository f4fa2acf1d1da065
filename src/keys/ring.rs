//! [`KeyRing`]: sealing secrets at rest under a key ring, bound to the account; the MAC over
//! each whole stored record (see [`Enrollment`](crate::lifecycle::Enrollment)); the keyed
//! hashes of recovery codes.
//!
//! A record never holds a plaintext secret. Each sealed secret carries the id of the key
//! that sealed it and a random 192-bit nonce; its authenticated data binds it to the
//! account id, so ciphertext copied onto another account does not open. After a rotation
//! ([`KeyRing::rotate`]) old secrets still open under their retired key and are re-sealed
//! under the current key on the engine's next write of that record.
//!
//! # Constructions
//!
//! Secrets in format-4 records (written by this version) are sealed with XChaCha20 and
//! HMAC-SHA-256, encrypt-then-MAC, under two keys derived from the ring key `K`:
//!
//! ```text
//! enc = HMAC-SHA-256(K, "totp-enroll/seal-enc-key/v3")
//! mac = HMAC-SHA-256(K, "totp-enroll/seal-mac-key/v3")
//! ciphertext = XChaCha20(enc, nonce) ⊕ secret
//! tag = HMAC-SHA-256(mac, "totp-enroll/sealed-secret/v3" ‖ key_id u32 ‖ len(account) u64
//!                         ‖ account ‖ nonce [24] ‖ ciphertext)             (32 bytes)
//! stored: nonce, ciphertext ‖ tag
//! ```
//!
//! The tag is checked in constant time before anything is decrypted. Both derived keys and
//! the HMAC key schedule are computed once per ring key, so a seal or an open costs one
//! XChaCha20 block and three SHA-256 compressions, with no per-message setup: about 0.4 µs
//! in a default build, where XChaCha20-Poly1305's AVX2 Poly1305 setup cost 1.9 µs.
//!
//! Secrets in format-1, -2 and -3 records (written by earlier versions) are
//! XChaCha20-Poly1305 under `K` itself, with the associated data
//! `context ‖ key_id u32 ‖ len(account) u64 ‖ account`, the context naming the record format
//! (`"totp-enroll/sealed-secret/v1"` in format-1 records, `…/v2` in formats 2 and 3). They
//! keep opening, and the engine's next write of such a record re-seals every secret in it
//! with the current construction (format 4). A secret never opens in a record of another
//! format family than the one it was sealed for, so a MAC-protected record's secret copied
//! into a forged legacy row does not open.
//!
//! Each ring key also yields a record MAC key,
//! `HMAC-SHA-256(K, "totp-enroll/record-mac-key/v2")`, so the ring holds one secret per
//! key id for every purpose and a rotation rotates them all.

use core::fmt;

use chacha20::XChaCha20;
use chacha20::cipher::{KeyIvInit as _, StreamCipher as _};
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
/// Domain separation for the associated data of secrets in format-2 and -3 records.
const AAD_CONTEXT_V2: &[u8] = b"totp-enroll/sealed-secret/v2";
/// Domain separation of the tag of secrets in format-4 records.
const SEAL_CONTEXT_V3: &[u8] = b"totp-enroll/sealed-secret/v3";
/// Derivation label of a ring key's XChaCha20 key (format-4 secrets).
const SEAL_ENC_LABEL: &[u8] = b"totp-enroll/seal-enc-key/v3";
/// Derivation label of a ring key's seal tag key (format-4 secrets).
const SEAL_MAC_LABEL: &[u8] = b"totp-enroll/seal-mac-key/v3";
/// Length of a format-4 secret's tag (HMAC-SHA-256).
pub(crate) const SEAL_TAG_BYTES: usize = 32;
/// Length of a legacy secret's tag (Poly1305).
pub(crate) const AEAD_TAG_BYTES: usize = 16;
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

/// One ring key and what is derived from it, computed once: the XChaCha20 key and the
/// prepared tag HMAC of format-4 secrets, and the prepared record MAC. All zeroized on
/// drop (`sha2`'s `zeroize` feature wipes the prepared HMAC states).
#[derive(Clone)]
struct RingKey {
    /// The ring key itself: XChaCha20-Poly1305 of format-1..3 secrets, and what
    /// `KeyRing::export_text` writes.
    seal: Zeroizing<[u8; 32]>,
    /// XChaCha20 key of format-4 secrets.
    enc: Zeroizing<[u8; 32]>,
    /// HMAC-SHA-256 under the seal tag key, after its key schedule.
    seal_mac: Hmac<Sha256>,
    /// HMAC-SHA-256 under the record MAC key, after its key schedule.
    record_mac: Hmac<Sha256>,
}

/// `HMAC-SHA-256(key, label)`.
fn derive(key: &[u8; 32], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut hmac = prepared_hmac(key);
    hmac.update(label);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&hmac.finalize().into_bytes());
    out
}

/// HMAC-SHA-256 keyed with `key`, ready for a message.
fn prepared_hmac(key: &[u8; 32]) -> Hmac<Sha256> {
    // HMAC zero-pads a key shorter than the block: the same MAC as `new_from_slice(key)`,
    // without a fallible call.
    let mut block = Zeroizing::new([0u8; 64]);
    for (b, k) in block.iter_mut().zip(key) {
        *b = *k;
    }
    <Hmac<Sha256> as hmac::KeyInit>::new(&(*block).into())
}

impl RingKey {
    fn new(key: [u8; 32]) -> Box<Self> {
        let seal = Zeroizing::new(key);
        let record_mac = prepared_hmac(&derive(&seal, MAC_KEY_LABEL));
        let enc = derive(&seal, SEAL_ENC_LABEL);
        let seal_mac = prepared_hmac(&derive(&seal, SEAL_MAC_LABEL));
        Box::new(Self {
            seal,
            enc,
            seal_mac,
            record_mac,
        })
    }

    /// The tag of a format-4 sealed secret (see the module documentation).
    fn seal_tag(
        &self,
        key_id: u32,
        account: &AccountId,
        nonce: &[u8; 24],
        ciphertext: &[u8],
    ) -> [u8; SEAL_TAG_BYTES] {
        let mut hmac = self.seal_mac.clone();
        let id = account.as_str().as_bytes();
        hmac.update(SEAL_CONTEXT_V3);
        hmac.update(&key_id.to_be_bytes());
        hmac.update(&u64::try_from(id.len()).unwrap_or(u64::MAX).to_be_bytes());
        hmac.update(id);
        hmac.update(nonce);
        hmac.update(ciphertext);
        let mut tag = [0u8; SEAL_TAG_BYTES];
        tag.copy_from_slice(&hmac.finalize().into_bytes());
        tag
    }

    /// XChaCha20 of `bytes` in place (encrypts and decrypts).
    fn xchacha20(&self, nonce: &[u8; 24], bytes: &mut [u8]) {
        XChaCha20::new(self.enc.as_ref().into(), nonce.into()).apply_keystream(bytes);
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

    /// The XChaCha20-Poly1305 cipher of format-1..3 secrets under `key_id`.
    fn legacy_cipher(&self, key_id: u32) -> Option<XChaCha20Poly1305> {
        self.key(key_id)
            .map(|key| XChaCha20Poly1305::new(Key::from_slice(key.seal.as_slice())))
    }

    /// Seals `secret` for `account` under the current key, for a format-4 record.
    pub fn seal(&self, secret: &Secret, account: &AccountId) -> Result<SealedSecret, SealError> {
        let key = self
            .key(self.current)
            .ok_or(SealError::MissingCurrentKey(self.current))?;
        let mut nonce = [0u8; 24];
        OsRng
            .try_fill_bytes(&mut nonce)
            .map_err(|_| SealError::Seal)?;
        let plain = secret.expose_secret_bytes();
        // Room for the tag from the start: the buffer never moves, so no copy of the
        // plaintext is left behind in a freed allocation. Encrypted in place.
        let mut ciphertext = Vec::with_capacity(plain.len().saturating_add(SEAL_TAG_BYTES));
        ciphertext.extend_from_slice(plain);
        key.xchacha20(&nonce, &mut ciphertext);
        let tag = key.seal_tag(self.current, account, &nonce, &ciphertext);
        ciphertext.extend_from_slice(&tag);
        Ok(SealedSecret {
            key_id: self.current,
            nonce,
            ciphertext,
            format: SealFormat::V3,
        })
    }

    /// Opens a sealed secret of `account`, whichever construction sealed it.
    pub fn open(&self, sealed: &SealedSecret, account: &AccountId) -> Result<Secret, SealError> {
        let plain = match sealed.format {
            SealFormat::V3 => {
                let key = self
                    .key(sealed.key_id)
                    .ok_or(SealError::UnknownKeyId(sealed.key_id))?;
                let body = sealed
                    .ciphertext
                    .len()
                    .checked_sub(SEAL_TAG_BYTES)
                    .ok_or(SealError::Authentication)?;
                let (ciphertext, tag) = sealed
                    .ciphertext
                    .split_at_checked(body)
                    .ok_or(SealError::Authentication)?;
                let expected = key.seal_tag(sealed.key_id, account, &sealed.nonce, ciphertext);
                if !bool::from(expected.as_slice().ct_eq(tag)) {
                    return Err(SealError::Authentication);
                }
                let mut plain = Zeroizing::new(ciphertext.to_vec());
                key.xchacha20(&sealed.nonce, &mut plain);
                plain
            }
            SealFormat::V1 | SealFormat::V2 => {
                let cipher = self
                    .legacy_cipher(sealed.key_id)
                    .ok_or(SealError::UnknownKeyId(sealed.key_id))?;
                let context = if sealed.format == SealFormat::V1 {
                    AAD_CONTEXT_V1
                } else {
                    AAD_CONTEXT_V2
                };
                let aad = associated_data(context, sealed.key_id, account);
                Zeroizing::new(
                    cipher
                        .decrypt(
                            XNonce::from_slice(&sealed.nonce),
                            Payload {
                                msg: &sealed.ciphertext,
                                aad: &aad,
                            },
                        )
                        .map_err(|_| SealError::Authentication)?,
                )
            }
        };
        Secret::from_bytes_legacy(&plain).map_err(|_| SealError::Authentication)
    }

    /// Whether `sealed` should be re-sealed: it was sealed under another key than the
    /// current one, or with an earlier construction (for a format-1..3 record).
    pub fn needs_reseal(&self, sealed: &SealedSecret) -> bool {
        sealed.key_id != self.current || sealed.format != SealFormat::V3
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
        let mut hmac = key.record_mac.clone();
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
        let mut hmac = key.record_mac.clone();
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

/// The associated data of a format-1..3 secret: `context ‖ key id ‖ len(account) ‖
/// account`, the context naming the record format.
fn associated_data(context: &[u8], key_id: u32, account: &AccountId) -> Vec<u8> {
    let id = account.as_str().as_bytes();
    let mut aad = Vec::with_capacity(context.len().saturating_add(12).saturating_add(id.len()));
    aad.extend_from_slice(context);
    aad.extend_from_slice(&key_id.to_be_bytes());
    aad.extend_from_slice(&u64::try_from(id.len()).unwrap_or(u64::MAX).to_be_bytes());
    aad.extend_from_slice(id);
    aad
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn account(id: &str) -> AccountId {
        AccountId::new(id).unwrap()
    }

    fn ring() -> KeyRing {
        KeyRing::new(7, [0x42; 32])
    }

    fn secret() -> Secret {
        Secret::from_bytes_legacy(&[0x11; 20]).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_to_itself_and_only_for_its_account() {
        let (keys, alice) = (ring(), account("alice"));
        let sealed = keys.seal(&secret(), &alice).unwrap();
        assert_eq!(sealed.format, SealFormat::V3);
        assert_eq!(sealed.ciphertext.len(), 20 + SEAL_TAG_BYTES);
        assert_eq!(
            keys.open(&sealed, &alice).unwrap().expose_secret_bytes(),
            secret().expose_secret_bytes()
        );
        assert_eq!(
            keys.open(&sealed, &account("mallory")).err(),
            Some(SealError::Authentication)
        );
        assert_ne!(
            keys.seal(&secret(), &alice).unwrap().nonce,
            sealed.nonce,
            "a fresh nonce each time"
        );
    }

    /// The documented construction, recomputed with the primitives directly.
    #[test]
    fn the_seal_is_xchacha20_then_hmac_sha256_as_the_module_documents() {
        let (keys, alice) = (ring(), account("alice"));
        let sealed = keys.seal(&secret(), &alice).unwrap();
        let derive = |label: &[u8]| {
            let mut h = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&[0x42; 32]).unwrap();
            h.update(label);
            h.finalize().into_bytes()
        };
        let enc: [u8; 32] = derive(b"totp-enroll/seal-enc-key/v3").into();
        let mac = derive(b"totp-enroll/seal-mac-key/v3");
        let mut expected = [0x11u8; 20].to_vec();
        XChaCha20::new((&enc).into(), (&sealed.nonce).into()).apply_keystream(&mut expected);
        let mut h = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&mac).unwrap();
        h.update(b"totp-enroll/sealed-secret/v3");
        h.update(&7u32.to_be_bytes());
        h.update(&5u64.to_be_bytes());
        h.update(b"alice");
        h.update(&sealed.nonce);
        h.update(&expected);
        expected.extend_from_slice(&h.finalize().into_bytes());
        assert_eq!(sealed.ciphertext, expected);
    }

    #[test]
    fn any_changed_bit_of_the_nonce_ciphertext_or_tag_is_refused() {
        let (keys, alice) = (ring(), account("alice"));
        let sealed = keys.seal(&secret(), &alice).unwrap();
        for byte in 0..sealed.ciphertext.len() {
            for bit in 0..8 {
                let mut edited = sealed.clone();
                edited.ciphertext[byte] ^= 1 << bit;
                assert_eq!(
                    keys.open(&edited, &alice).err(),
                    Some(SealError::Authentication)
                );
            }
        }
        for byte in 0..24 {
            let mut edited = sealed.clone();
            edited.nonce[byte] ^= 1;
            assert_eq!(
                keys.open(&edited, &alice).err(),
                Some(SealError::Authentication)
            );
        }
    }

    #[test]
    fn a_short_or_truncated_sealed_secret_is_refused_without_panicking() {
        let (keys, alice) = (ring(), account("alice"));
        let sealed = keys.seal(&secret(), &alice).unwrap();
        for len in 0..sealed.ciphertext.len() {
            let mut cut = sealed.clone();
            cut.ciphertext.truncate(len);
            assert_eq!(
                keys.open(&cut, &alice).err(),
                Some(SealError::Authentication),
                "{len} bytes"
            );
        }
    }

    /// A secret opens only under the construction of the record format it was sealed for.
    #[test]
    fn a_secret_never_opens_under_the_other_construction() {
        let (keys, alice) = (ring(), account("alice"));
        let new = keys.seal(&secret(), &alice).unwrap();
        let cipher = keys.legacy_cipher(7).unwrap();
        let nonce = [3u8; 24];
        let aad = associated_data(AAD_CONTEXT_V2, 7, &alice);
        let old = SealedSecret {
            key_id: 7,
            nonce,
            ciphertext: cipher
                .encrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &[0x11; 20],
                        aad: &aad,
                    },
                )
                .unwrap(),
            format: SealFormat::V2,
        };
        assert!(
            keys.open(&old, &alice).is_ok(),
            "the earlier construction opens"
        );
        assert!(keys.needs_reseal(&old) && !keys.needs_reseal(&new));
        for format in [SealFormat::V1, SealFormat::V2] {
            let relabelled = SealedSecret {
                format,
                ..new.clone()
            };
            assert_eq!(
                keys.open(&relabelled, &alice).err(),
                Some(SealError::Authentication)
            );
        }
        let relabelled = SealedSecret {
            format: SealFormat::V3,
            ..old
        };
        assert_eq!(
            keys.open(&relabelled, &alice).err(),
            Some(SealError::Authentication)
        );
    }
}
