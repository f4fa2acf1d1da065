//! The independent HOTP oracle for the RFC and verifier tests: the `hmac` crate (RustCrypto's
//! generic HMAC, not this crate's prepared states) plus RFC 4226 §5.3 dynamic truncation.
#![allow(dead_code, unreachable_pub)]

use hmac::{Hmac, KeyInit, Mac};
use totp_enroll::otp::Algorithm;

/// `HMAC(key, counter as 8 big-endian bytes)` under `algorithm`.
pub fn oracle_hmac(algorithm: Algorithm, key: &[u8], counter: u64) -> Vec<u8> {
    let message = counter.to_be_bytes();
    match algorithm {
        Algorithm::Sha1 => {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
            mac.update(&message);
            mac.finalize().into_bytes().to_vec()
        }
        Algorithm::Sha256 => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
            mac.update(&message);
            mac.finalize().into_bytes().to_vec()
        }
        Algorithm::Sha512 => {
            let mut mac = Hmac::<sha2::Sha512>::new_from_slice(key).unwrap();
            mac.update(&message);
            mac.finalize().into_bytes().to_vec()
        }
        other => panic!("no oracle for {other:?}"),
    }
}

/// RFC 4226 §5.3 dynamic truncation: 31 bits at the offset named by the last nibble.
pub fn oracle_truncate(mac: &[u8]) -> u32 {
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    u32::from_be_bytes(mac[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff
}

/// The truncated HOTP value for `counter`.
pub fn oracle_truncated(algorithm: Algorithm, key: &[u8], counter: u64) -> u32 {
    oracle_truncate(&oracle_hmac(algorithm, key, counter))
}
