//! [`SealedSecret`]: a secret as a record stores it (key id, nonce, ciphertext), never
//! plaintext; the [`KeyRing`](crate::KeyRing) seals and opens it.

use core::fmt;

/// Which record format a secret was sealed for; part of its associated data, not of its
/// bytes (the record's format byte says it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SealFormat {
    /// Inside a format-1 record, which has no MAC: only ever decoded, never sealed.
    V1,
    /// Inside a format-2 record.
    V2,
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
