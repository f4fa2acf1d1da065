//! [`SealedSecret`]: a secret as a record stores it (key id, nonce, ciphertext), never
//! plaintext; the [`KeyRing`](crate::KeyRing) seals and opens it.

use core::fmt;

/// Which record format a secret was sealed for, and so with which construction (see
/// [`KeyRing`](crate::KeyRing)); not part of its bytes: the record's format byte says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SealFormat {
    /// XChaCha20-Poly1305 inside a format-1 record, which has no MAC: only ever decoded,
    /// never sealed.
    V1,
    /// XChaCha20-Poly1305 inside a format-2 or -3 record: only ever decoded, never sealed.
    V2,
    /// XChaCha20 and HMAC-SHA-256 inside a format-4 record: what the ring seals.
    V3,
}

/// A secret as stored: key id, nonce and ciphertext with its tag. Holds no plaintext.
///
/// Two sealed secrets are equal only if they were also sealed for the same record format.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub(crate) key_id: u32,
    pub(crate) nonce: [u8; 24],
    pub(crate) ciphertext: Vec<u8>,
    pub(crate) format: SealFormat,
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
