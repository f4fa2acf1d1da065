//! HOTP (RFC 4226) over a [`PreparedKey`]: the HMAC of a counter at the SHA floor.
//!
//! The HMAC key schedule (`H(K ⊕ ipad)` and `H(K ⊕ opad)`) is computed once per secret and
//! kept as two chaining states, so each code costs exactly two compression-function calls
//! for SHA-1 and SHA-256 (and two for SHA-512 with its 128-byte block): the hardware floor.
//! The compression functions are the RustCrypto `sha1`/`sha2` crates' own; this module only
//! lays out the final padded blocks, which for HOTP's 8-byte message are fixed in shape.

use core::fmt;

use sha1::Digest as _;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::otp::code::Code;
use crate::otp::policy::{Algorithm, Digits};
use crate::otp::secret::Secret;

/// FIPS 180-4 §5.3.1 initial hash value of SHA-1.
const SHA1_IV: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];
/// FIPS 180-4 §5.3.3 initial hash value of SHA-256.
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];
/// FIPS 180-4 §5.3.5 initial hash value of SHA-512.
const SHA512_IV: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

const IPAD: u8 = 0x36;
const OPAD: u8 = 0x5c;

/// HMAC chaining states after the key block, per hash function.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
enum States {
    Sha1 { inner: [u32; 5], outer: [u32; 5] },
    Sha256 { inner: [u32; 8], outer: [u32; 8] },
    Sha512 { inner: [u64; 8], outer: [u64; 8] },
}

/// An HMAC key prepared for HOTP: the inner and outer hash states after absorbing the padded
/// key. Holds key-equivalent material: zeroized on drop, redacted in `Debug`.
#[derive(Clone)]
pub struct PreparedKey {
    states: States,
}

/// Pads `key` (at most one block long) to one block of `N` bytes, XORed with `pad`.
fn key_block<const N: usize>(key: &[u8], pad: u8) -> [u8; N] {
    let mut block = [pad; N];
    for (b, k) in block.iter_mut().zip(key) {
        *b ^= k;
    }
    block
}

impl PreparedKey {
    /// Runs the HMAC key schedule for `secret` under `algorithm`.
    pub fn new(secret: &Secret, algorithm: Algorithm) -> Self {
        let key = secret.expose_secret_bytes();
        let states = match algorithm {
            // RFC 2104 §2: a key longer than the block is replaced by its hash.
            Algorithm::Sha1 if key.len() > 64 => {
                let mut hashed = sha1::Sha1::digest(key);
                let (inner, outer) = sha1_pair(&hashed);
                hashed.as_mut_slice().zeroize();
                States::Sha1 { inner, outer }
            }
            Algorithm::Sha1 => {
                let (inner, outer) = sha1_pair(key);
                States::Sha1 { inner, outer }
            }
            Algorithm::Sha256 if key.len() > 64 => {
                let mut hashed = sha2::Sha256::digest(key);
                let (inner, outer) = sha256_pair(&hashed);
                hashed.as_mut_slice().zeroize();
                States::Sha256 { inner, outer }
            }
            Algorithm::Sha256 => {
                let (inner, outer) = sha256_pair(key);
                States::Sha256 { inner, outer }
            }
            Algorithm::Sha512 if key.len() > 128 => {
                let mut hashed = sha2::Sha512::digest(key);
                let (inner, outer) = sha512_pair(&hashed);
                hashed.as_mut_slice().zeroize();
                States::Sha512 { inner, outer }
            }
            Algorithm::Sha512 => {
                let (inner, outer) = sha512_pair(key);
                States::Sha512 { inner, outer }
            }
        };
        Self { states }
    }

    /// The hash function this key was prepared for.
    pub fn algorithm(&self) -> Algorithm {
        match self.states {
            States::Sha1 { .. } => Algorithm::Sha1,
            States::Sha256 { .. } => Algorithm::Sha256,
            States::Sha512 { .. } => Algorithm::Sha512,
        }
    }

    /// RFC 4226 §5.3 dynamic truncation of `HMAC(K, counter)`: a 31-bit value.
    ///
    /// Costs two compression-function calls. The truncation offset comes from the MAC and
    /// selects state words (or bytes) by index and shift, never by a branch.
    pub fn truncated(&self, counter: u64) -> u32 {
        let mut value = 0;
        self.truncated_lanes::<1>(&[counter], core::slice::from_mut(&mut value));
        value
    }

    /// [`PreparedKey::truncated`] for each of `counters` into `out` (pairwise; extra entries
    /// of either are ignored). No copy of the key-equivalent inner state outlives its
    /// compression: unused lanes stay zero.
    ///
    /// The candidates are processed [`LANES`] at a time in two passes: every inner
    /// compression of the group, then every outer one. Every block is laid out in full
    /// before the pass that reads it, from a constant template, so a compression never
    /// waits for a store to the block it is about to read (which, with blocks assembled
    /// from stores of mixed widths, cannot be forwarded and serialises the whole
    /// verification behind retirement), and the independent candidates overlap in the CPU.
    pub(crate) fn truncated_many(&self, counters: &[u64], out: &mut [u32]) {
        self.truncated_lanes::<LANES>(counters, out);
    }

    /// [`PreparedKey::truncated_many`], `L` candidates per group.
    fn truncated_lanes<const L: usize>(&self, counters: &[u64], out: &mut [u32]) {
        for (counters, out) in counters.chunks(L).zip(out.chunks_mut(L)) {
            let message = |counter: &u64| counter.to_be_bytes();
            match &self.states {
                States::Sha1 { inner, outer } => {
                    let mut blocks = [SHA1_INNER_TEMPLATE; L];
                    lay_out(&mut blocks, counters.iter().map(message));
                    let mut hs = [[0; 5]; L];
                    for (h, block) in hs.iter_mut().zip(&blocks).take(counters.len()) {
                        *h = *inner;
                        sha1::block_api::compress(h, core::slice::from_ref(block));
                    }
                    let mut blocks = [SHA1_OUTER_TEMPLATE; L];
                    lay_out_words(&mut blocks, &hs);
                    for (o, block) in out.iter_mut().zip(&blocks) {
                        let mut h = *outer;
                        sha1::block_api::compress(&mut h, core::slice::from_ref(block));
                        *o = dynamic_truncation_words(&h);
                    }
                }
                States::Sha256 { inner, outer } => {
                    let mut blocks = [SHA256_INNER_TEMPLATE; L];
                    lay_out(&mut blocks, counters.iter().map(message));
                    let mut hs = [[0; 8]; L];
                    for (h, block) in hs.iter_mut().zip(&blocks).take(counters.len()) {
                        *h = *inner;
                        sha2::block_api::compress256(h, core::slice::from_ref(block));
                    }
                    let mut blocks = [SHA256_OUTER_TEMPLATE; L];
                    lay_out_words(&mut blocks, &hs);
                    for (o, block) in out.iter_mut().zip(&blocks) {
                        let mut h = *outer;
                        sha2::block_api::compress256(&mut h, core::slice::from_ref(block));
                        *o = dynamic_truncation_words(&h);
                    }
                }
                States::Sha512 { inner, outer } => {
                    let mut blocks = [SHA512_INNER_TEMPLATE; L];
                    lay_out(&mut blocks, counters.iter().map(message));
                    let mut hs = [[0; 8]; L];
                    for (h, block) in hs.iter_mut().zip(&blocks).take(counters.len()) {
                        *h = *inner;
                        sha2::block_api::compress512(h, core::slice::from_ref(block));
                    }
                    let mut blocks = [SHA512_OUTER_TEMPLATE; L];
                    for (block, h) in blocks.iter_mut().zip(&hs) {
                        words64_to_bytes(h, block);
                    }
                    for (o, block) in out.iter_mut().zip(&blocks) {
                        let mut h = *outer;
                        sha2::block_api::compress512(&mut h, core::slice::from_ref(block));
                        let mut digest = [0u8; 64];
                        words64_to_bytes(&h, &mut digest);
                        *o = dynamic_truncation(&digest);
                    }
                }
            }
        }
    }

    /// The HOTP value (RFC 4226 §5.3) for `counter` with `digits` digits.
    pub fn hotp(&self, counter: u64, digits: Digits) -> Code {
        Code::from_value(digits.reduce(self.truncated(counter)), digits)
    }
}

impl fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PreparedKey({}, [REDACTED])", self.algorithm())
    }
}

fn sha1_pair(key: &[u8]) -> ([u32; 5], [u32; 5]) {
    let mut pair = (SHA1_IV, SHA1_IV);
    for (state, pad) in [(&mut pair.0, IPAD), (&mut pair.1, OPAD)] {
        let mut block = key_block::<64>(key, pad);
        sha1::block_api::compress(state, core::slice::from_ref(&block));
        block.zeroize();
    }
    pair
}

fn sha256_pair(key: &[u8]) -> ([u32; 8], [u32; 8]) {
    let mut pair = (SHA256_IV, SHA256_IV);
    for (state, pad) in [(&mut pair.0, IPAD), (&mut pair.1, OPAD)] {
        let mut block = key_block::<64>(key, pad);
        sha2::block_api::compress256(state, core::slice::from_ref(&block));
        block.zeroize();
    }
    pair
}

fn sha512_pair(key: &[u8]) -> ([u64; 8], [u64; 8]) {
    let mut pair = (SHA512_IV, SHA512_IV);
    for (state, pad) in [(&mut pair.0, IPAD), (&mut pair.1, OPAD)] {
        let mut block = key_block::<128>(key, pad);
        sha2::block_api::compress512(state, core::slice::from_ref(&block));
        block.zeroize();
    }
    pair
}

/// Candidates whose two compressions are computed together (see
/// [`PreparedKey::truncated_many`]): the default ±1 window is exactly one group.
pub(crate) const LANES: usize = 3;

/// The single final block of a hash with `N`-byte blocks whose whole message is one key block
/// followed by `data_len` bytes, with zeros in place of the data: `0… ‖ 0x80 ‖ 0… ‖ bit
/// length` (big-endian, in the last 8 bytes; SHA-512's 128-bit length field has a zero high
/// half here).
const fn final_block_template<const N: usize>(data_len: usize, bit_len: u64) -> [u8; N] {
    let mut block = [0u8; N];
    if let Some((_, [first, ..])) = block.split_at_mut_checked(data_len) {
        *first = 0x80;
    }
    if let Some(length) = block.last_chunk_mut::<8>() {
        *length = bit_len.to_be_bytes();
    }
    block
}

const SHA1_INNER_TEMPLATE: [u8; 64] = final_block_template(8, (64 + 8) * 8);
const SHA1_OUTER_TEMPLATE: [u8; 64] = final_block_template(20, (64 + 20) * 8);
const SHA256_INNER_TEMPLATE: [u8; 64] = final_block_template(8, (64 + 8) * 8);
const SHA256_OUTER_TEMPLATE: [u8; 64] = final_block_template(32, (64 + 32) * 8);
const SHA512_INNER_TEMPLATE: [u8; 128] = final_block_template(8, (128 + 8) * 8);
const SHA512_OUTER_TEMPLATE: [u8; 128] = final_block_template(64, (128 + 64) * 8);

/// Writes each 8-byte message over the start of its template block.
fn lay_out<const N: usize>(blocks: &mut [[u8; N]], messages: impl Iterator<Item = [u8; 8]>) {
    for (block, message) in blocks.iter_mut().zip(messages) {
        if let Some(head) = block.first_chunk_mut::<8>() {
            *head = message;
        }
    }
}

/// Writes each inner digest (big-endian words) over the start of its outer template block.
fn lay_out_words<const W: usize>(blocks: &mut [[u8; 64]], states: &[[u32; W]]) {
    for (block, h) in blocks.iter_mut().zip(states) {
        words_to_bytes(h, block);
    }
}

fn words_to_bytes(words: &[u32], out: &mut [u8]) {
    for (chunk, word) in out.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
}

fn words64_to_bytes(words: &[u64], out: &mut [u8]) {
    for (chunk, word) in out.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
}

/// [`dynamic_truncation`] read straight from the big-endian state words: the four bytes at
/// `offset` are the last `4 - offset % 4` bytes of word `offset / 4` and the first
/// `offset % 4` of the next (`offset / 4 + 1 <= 4`: it always exists for SHA-1 and SHA-256).
fn dynamic_truncation_words(words: &[u32]) -> u32 {
    let offset = words.last().copied().unwrap_or(0) & 0x0f;
    let index = usize::from(u8::try_from(offset / 4).unwrap_or(0));
    let pair = words
        .get(index..)
        .and_then(|w| w.first_chunk::<2>())
        .map_or(0, |&[hi, lo]| (u64::from(hi) << 32) | u64::from(lo));
    let shift = 32u32.saturating_sub((offset % 4).saturating_mul(8));
    u32::try_from((pair >> shift) & 0x7fff_ffff).unwrap_or(0)
}

/// RFC 4226 §5.3: offset = low nibble of the last byte; 31 bits from there.
fn dynamic_truncation(mac: &[u8]) -> u32 {
    let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
    let mut four = [0u8; 4];
    // offset + 4 <= 19 < mac.len() for every hash, so the slice is always full.
    for (b, m) in four.iter_mut().zip(mac.iter().skip(offset)) {
        *b = *m;
    }
    u32::from_be_bytes(four) & 0x7fff_ffff
}
