//! The key ring and what is made under its keys: sealed secrets (XChaCha20 with an
//! HMAC-SHA-256 tag, bound to the account), the MAC over every stored record, the keyed hashes of recovery
//! codes, and the ring's text form for an environment variable or a secret file.
//!
//! * `ring.rs`: [`KeyRing`], its keys by id and every operation under them.
//! * `sealed.rs`: [`SealedSecret`], a secret as a record stores it.
//! * `text.rs`: the text form ([`KeyRing::from_text`](crate::KeyRing::from_text), [`KeyRingTextError`](crate::error::KeyRingTextError)).
//! * `load.rs`: the ring from an environment variable or a key file
//!   ([`KeyRing::from_env`](crate::KeyRing::from_env), [`KeyRing::from_file`](crate::KeyRing::from_file),
//!   [`KeyRing::from_env_or_file`](crate::KeyRing::from_env_or_file), [`KeyRingLoadError`](crate::error::KeyRingLoadError)).

pub(crate) mod load;
pub(crate) mod ring;
pub(crate) mod sealed;
pub(crate) mod text;

pub(crate) use ring::KeyRing;
pub(crate) use ring::{AEAD_TAG_BYTES, RECORD_TAG_BYTES, SEAL_TAG_BYTES};
pub(crate) use sealed::SealFormat;
pub use sealed::SealedSecret;
