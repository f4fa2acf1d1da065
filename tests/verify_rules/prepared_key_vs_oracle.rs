//! PreparedKey against the independent HMAC.

use super::*;

fn algorithms() -> [Algorithm; 3] {
    [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512]
}

#[test]
fn prepared_key_agrees_with_the_hmac_oracle_at_every_key_length_edge() {
    // 64 is the SHA-1/SHA-256 block: longer keys are hashed first. 128 is the SHA-512 block
    // and also Secret::MAX_BYTES, so a SHA-512 key is never hashed.
    for len in [10usize, 16, 20, 32, 63, 64, 65, 100, 127, 128] {
        let key: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        let secret = Secret::from_bytes_legacy(&key).unwrap();
        for algorithm in algorithms() {
            let prepared = PreparedKey::new(&secret, algorithm);
            assert_eq!(prepared.algorithm(), algorithm);
            for counter in [0, 1, 255, 256, u64::from(u32::MAX), 1 << 32, u64::MAX] {
                assert_eq!(
                    prepared.truncated(counter),
                    oracle_truncated(algorithm, &key, counter),
                    "{algorithm:?}, key of {len} bytes, counter {counter}"
                );
            }
        }
    }
}

#[test]
fn keys_longer_than_secret_max_bytes_cannot_be_prepared() {
    assert_eq!(Secret::MAX_BYTES, 128);
    assert!(Secret::from_bytes_legacy(&[1u8; 129]).is_err());
    assert!(Secret::from_bytes(&[1u8; 200]).is_err());
}

#[test]
fn prepared_key_debug_is_redacted() {
    let secret = Secret::from_bytes(RFC_SEED).unwrap();
    let prepared = PreparedKey::new(&secret, Algorithm::Sha1);
    let shown = format!("{prepared:?}");
    assert_eq!(shown, "PreparedKey(SHA1, [REDACTED])");
    let totp = rfc_totp();
    let shown = format!("{totp:?}");
    assert!(shown.contains("REDACTED"));
    assert!(!shown.contains("12345678901234567890"));
    assert!(!shown.contains("3132333435"));
}
