//! No secret material is left behind in freed heap memory.
//!
//! A scanning global allocator looks, in every block freed (and in the old block of every
//! reallocation) on the test thread while a section is armed, for marker byte patterns
//! planted from a known secret: its raw bytes, its base32 text, its grouped setup-key text,
//! the URI's `secret=` parameter, the HMAC chaining states prepared from it (which are
//! key-equivalent), and the sealing keys of a key ring. A hit means a copy of the secret
//! was handed back to the allocator without being wiped, typically by a growing `String`
//! or `Vec`, or by a `HashMap` resize moving its entries. Stack copies are out of scope.
//!
//! `realloc` is implemented as allocate–copy–free, so every growth moves and is scanned,
//! whatever the system allocator would have done in place: the result does not depend on
//! the allocator's luck.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]
// A global allocator is an `unsafe impl GlobalAlloc`. This test crate alone allows unsafe
// code: Cargo.toml's workspace lint is `deny` (not `forbid`) only so that this file can
// override it; the library keeps `#![forbid(unsafe_code)]` in src/lib.rs.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use totp_enroll::{
    AccountId, Engine, EnginePolicy, KeyRing, ManualClock, MemoryStore, OtpPolicy, Provisioning,
    StepUp, otp::Secret, otp::Totp, provision::KeyUri,
};

/// Bytes of each marker (a 128-bit pattern: no accidental match).
const MARKER_LEN: usize = 16;
const MAX_MARKERS: usize = 8;

static MARKERS: [[AtomicU8; MARKER_LEN]; MAX_MARKERS] =
    [const { [const { AtomicU8::new(0) }; MARKER_LEN] }; MAX_MARKERS];
static MARKER_COUNT: AtomicUsize = AtomicUsize::new(0);
static HITS: [AtomicUsize; MAX_MARKERS] = [const { AtomicUsize::new(0) }; MAX_MARKERS];
static FIRST_HIT_SIZE: [AtomicUsize; MAX_MARKERS] = [const { AtomicUsize::new(0) }; MAX_MARKERS];
/// 1: found in a block passed to `dealloc`; 2: in the old block of a `realloc`.
static FIRST_HIT_VIA: [AtomicU8; MAX_MARKERS] = [const { AtomicU8::new(0) }; MAX_MARKERS];

thread_local! {
    /// Set only on the test thread during an exercised section (no destructor, so
    /// reading it never allocates).
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

struct ScanningAllocator;

/// Records a hit for every marker found in `block`.
fn scan(block: &[u8], via: u8) {
    let count = MARKER_COUNT.load(Ordering::Relaxed).min(MAX_MARKERS);
    for m in 0..count {
        let mut marker = [0u8; MARKER_LEN];
        for (b, a) in marker.iter_mut().zip(&MARKERS[m]) {
            *b = a.load(Ordering::Relaxed);
        }
        if block.windows(MARKER_LEN).any(|w| w == marker)
            && HITS[m].fetch_add(1, Ordering::Relaxed) == 0
        {
            FIRST_HIT_SIZE[m].store(block.len(), Ordering::Relaxed);
            FIRST_HIT_VIA[m].store(via, Ordering::Relaxed);
        }
    }
}

fn armed() -> bool {
    ARMED.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: every method forwards to `System` with the caller's pointer and layout, which
// the caller guarantees valid; `scan` reads a block only while it is still allocated.
unsafe impl GlobalAlloc for ScanningAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if armed() {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes until the call below.
            scan(unsafe { std::slice::from_raw_parts(ptr, layout.size()) }, 1);
        }
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !armed() {
            // SAFETY: forwarded contract.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // Always move, so the old block is really freed and can be scanned.
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        // SAFETY: `new_size` is non-zero (the `realloc` contract).
        let new = unsafe { System.alloc(new_layout) };
        if new.is_null() {
            return new;
        }
        // SAFETY: both blocks are live, distinct and at least `min` bytes long.
        unsafe {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            scan(std::slice::from_raw_parts(ptr, layout.size()), 2);
            System.dealloc(ptr, layout);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: ScanningAllocator = ScanningAllocator;

/// A named marker: the first [`MARKER_LEN`] bytes of some secret-derived pattern.
struct Marker {
    name: String,
    bytes: [u8; MARKER_LEN],
}

fn marker(name: impl Into<String>, pattern: &[u8]) -> Marker {
    let mut bytes = [0u8; MARKER_LEN];
    bytes.copy_from_slice(&pattern[..MARKER_LEN]);
    Marker {
        name: name.into(),
        bytes,
    }
}

/// Runs `section` with the scanner armed for `markers` on this thread; returns one line
/// per marker found in freed memory.
fn scanned(scenario: &str, markers: &[Marker], section: impl FnOnce()) -> Vec<String> {
    assert!(markers.len() <= MAX_MARKERS);
    for (slot, m) in MARKERS.iter().zip(markers) {
        for (a, b) in slot.iter().zip(m.bytes) {
            a.store(b, Ordering::Relaxed);
        }
    }
    for i in 0..MAX_MARKERS {
        HITS[i].store(0, Ordering::Relaxed);
        FIRST_HIT_SIZE[i].store(0, Ordering::Relaxed);
        FIRST_HIT_VIA[i].store(0, Ordering::Relaxed);
    }
    MARKER_COUNT.store(markers.len(), Ordering::Relaxed);
    ARMED.with(|a| a.set(true));
    section();
    ARMED.with(|a| a.set(false));
    MARKER_COUNT.store(0, Ordering::Relaxed);
    markers
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let hits = HITS[i].load(Ordering::Relaxed);
            (hits > 0).then(|| {
                let via = match FIRST_HIT_VIA[i].load(Ordering::Relaxed) {
                    2 => "realloc",
                    _ => "dealloc",
                };
                format!(
                    "{scenario}: {} in {hits} freed block(s) (first: {} bytes, via {via})",
                    m.name,
                    FIRST_HIT_SIZE[i].load(Ordering::Relaxed)
                )
            })
        })
        .collect()
}

/// A distinctive 20-byte key.
const KEY: [u8; 20] = [
    0xA5, 0x5A, 0xC3, 0x3C, 0x96, 0x69, 0x0F, 0xF0, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF1,
    0x13, 0x57, 0x9B, 0xDF,
];

/// RFC 4648 base32 of 20 bytes (32 characters), computed here without the crate.
fn base32_of(key: &[u8; 20]) -> [u8; 32] {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = [0u8; 32];
    for (chunk, out) in key.chunks(5).zip(out.chunks_mut(8)) {
        let v = chunk.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
        for (i, c) in out.iter_mut().enumerate() {
            *c = ALPHABET[((v >> (35 - 5 * i)) & 31) as usize];
        }
    }
    out
}

/// The SHA-1 HMAC chaining states (inner, outer) of a key of at most 64 bytes, as the
/// native-endian bytes of their words: how a prepared key lies in memory.
fn hmac_sha1_states(key: &[u8]) -> ([u8; 20], [u8; 20]) {
    let state = |pad: u8| {
        let mut block = [pad; 64];
        for (b, k) in block.iter_mut().zip(key) {
            *b ^= k;
        }
        let mut h: [u32; 5] = [
            0x6745_2301,
            0xEFCD_AB89,
            0x98BA_DCFE,
            0x1032_5476,
            0xC3D2_E1F0,
        ];
        sha1::block_api::compress(&mut h, &[block]);
        let mut bytes = [0u8; 20];
        for (out, word) in bytes.chunks_mut(4).zip(h) {
            out.copy_from_slice(&word.to_ne_bytes());
        }
        bytes
    };
    (state(0x36), state(0x5c))
}

fn key_markers(key: &[u8; 20]) -> Vec<Marker> {
    let b32 = base32_of(key);
    let mut grouped = Vec::new();
    for (i, c) in b32.iter().enumerate() {
        if i != 0 && i % 4 == 0 {
            grouped.push(b' ');
        }
        grouped.push(*c);
    }
    let mut parameter = b"secret=".to_vec();
    parameter.extend_from_slice(&b32);
    vec![
        marker("the key bytes", key),
        marker("the base32 key", &b32),
        marker("the grouped setup key", &grouped),
        marker("the URI's secret parameter", &parameter),
    ]
}

fn policy() -> OtpPolicy {
    OtpPolicy::new("北洋証券オンラインサービス").unwrap()
}

/// A distinctive 256-bit sealing key per id.
fn ring_key(id: u32) -> [u8; 32] {
    let mut key = [0u8; 32];
    for (j, b) in key.iter_mut().enumerate() {
        *b = (id as u8).wrapping_mul(37) ^ (j as u8).wrapping_mul(11) ^ 0x5A;
    }
    key
}

const T: u64 = 1_700_000_010;
const T_SIGNED: i64 = 1_700_000_010;

#[test]
fn no_secret_material_is_left_in_freed_heap_memory() {
    let mut found = Vec::new();

    // The scanner itself: a plain vector holding the key is found when freed, a
    // zeroizing one is not. Without this the test could pass by never looking.
    let self_check = scanned("self-check", &key_markers(&KEY), || {
        drop(std::hint::black_box(KEY.to_vec()));
    });
    assert_eq!(self_check.len(), 1, "{self_check:?}");
    assert!(
        scanned("self-check", &key_markers(&KEY), || {
            drop(std::hint::black_box(zeroize::Zeroizing::new(KEY.to_vec())));
        })
        .is_empty(),
        "a zeroizing vector must scan clean"
    );

    let secret = Secret::from_bytes(&KEY).unwrap();
    let markers = key_markers(&KEY);

    found.extend(scanned("Secret::to_base32", &markers, || {
        drop(std::hint::black_box(secret.to_base32()));
    }));
    found.extend(scanned("Secret::to_setup_key", &markers, || {
        drop(std::hint::black_box(secret.to_setup_key()));
    }));
    found.extend(scanned("Secret clone and drop", &markers, || {
        drop(std::hint::black_box(secret.clone()));
    }));

    let uri = KeyUri::new(secret.clone(), "taro yamada", &policy()).unwrap();
    found.extend(scanned("KeyUri::to_uri", &markers, || {
        drop(std::hint::black_box(uri.to_uri()));
    }));
    let text = uri.to_uri();
    found.extend(scanned("KeyUri::parse", &markers, || {
        drop(std::hint::black_box(KeyUri::parse(&text).unwrap()));
    }));
    // A secret parameter whose last escape is malformed: decoded up to the whole key first.
    let b32 = base32_of(&KEY);
    let b32 = std::str::from_utf8(&b32).unwrap();
    let bad_escape = text.replace(b32, &format!("{b32}%G0"));
    found.extend(scanned("KeyUri::parse, malformed escape", &markers, || {
        assert!(std::hint::black_box(KeyUri::parse(&bad_escape)).is_err());
    }));
    // A secret parameter with a character outside base32 after the key.
    let bad_char = text.replace(b32, &format!("{b32}%201"));
    found.extend(scanned("KeyUri::parse, refused secret", &markers, || {
        assert!(std::hint::black_box(KeyUri::parse(&bad_char)).is_err());
    }));

    found.extend(scanned("Provisioning", &markers, || {
        let screen = Provisioning::new(uri.clone());
        drop(std::hint::black_box(screen.uri()));
        drop(std::hint::black_box(screen.reveal_setup_key()));
        drop(std::hint::black_box(screen.reveal_setup_key_for_copy()));
        drop(std::hint::black_box(screen.qr().unwrap().to_svg()));
        drop(std::hint::black_box(screen.qr().unwrap().to_data_url()));
        drop(std::hint::black_box(format!("{screen:?}")));
        drop(screen);
    }));

    found.extend(engine_key_cache_growth());
    found.extend(key_ring_growth());

    assert!(
        found.is_empty(),
        "secret material in freed heap memory:\n  {}",
        found.join("\n  ")
    );
}

/// The engine's prepared-key cache growing from empty to hundreds of accounts (every
/// `HashMap` resize moves the entries), logins on cached keys, and the engine's drop.
fn engine_key_cache_growth() -> Vec<String> {
    const ACCOUNTS: usize = 200;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let clock = Arc::new(ManualClock::new(T_SIGNED));
    let engine = Engine::new(
        MemoryStore::new(),
        KeyRing::new(1, ring_key(1)),
        EnginePolicy::new(policy()),
    )
    .unwrap()
    .with_clock(clock.clone());
    let accounts: Vec<AccountId> = (0..ACCOUNTS)
        .map(|i| AccountId::new(format!("customer-{i:04}")).unwrap())
        .collect();
    let mut apps = Vec::with_capacity(ACCOUNTS);
    let mut planted = None;
    for account in &accounts {
        let step_up = StepUp::transaction_password_verified(account, T);
        let screen = runtime
            .block_on(engine.begin(
                account,
                &totp_enroll::AccountLabel::new(account.as_str()).unwrap(),
                &step_up,
            ))
            .unwrap();
        let key_uri = KeyUri::parse(&screen.uri()).unwrap();
        if planted.is_none() {
            let mut key = [0u8; 20];
            key.copy_from_slice(key_uri.secret().expose_secret_bytes());
            planted = Some(key);
        }
        apps.push(Totp::new(key_uri.secret(), engine.policy().otp()));
    }
    let planted = planted.unwrap();
    let confirm_codes: Vec<String> = apps.iter().map(|a| a.code_at(T).to_string()).collect();
    let login_codes: Vec<String> = apps.iter().map(|a| a.code_at(T + 30).to_string()).collect();

    let (inner, outer) = hmac_sha1_states(&planted);
    let mut markers = key_markers(&planted);
    markers.truncate(2);
    markers.push(marker("a prepared key's inner HMAC state", &inner));
    markers.push(marker("a prepared key's outer HMAC state", &outer));
    markers.push(marker("the ring's sealing key", &ring_key(1)));
    scanned("Engine key cache growth", &markers, || {
        // The planted account's key is cached first, then moved by every resize.
        for (account, code) in accounts.iter().zip(&confirm_codes) {
            runtime.block_on(engine.confirm(account, code)).unwrap();
        }
        clock.advance(30);
        for (account, code) in accounts.iter().zip(&login_codes) {
            let login = runtime
                .block_on(engine.verify_login(account, code))
                .unwrap();
            assert!(matches!(login, totp_enroll::Login::Verified(_)));
        }
        drop(engine);
    })
}

/// A key ring built up with retired keys and rotations (its key vector grows).
fn key_ring_growth() -> Vec<String> {
    let markers: Vec<Marker> = (1..=6)
        .map(|id| marker(format!("ring key {id}"), &ring_key(id)))
        .collect();
    scanned("KeyRing growth", &markers, || {
        let mut ring = KeyRing::new(1, ring_key(1))
            .with_retired(2, ring_key(2))
            .with_retired(3, ring_key(3));
        ring.rotate(4, ring_key(4));
        ring.rotate(5, ring_key(5));
        ring.rotate(6, ring_key(6));
        ring.rotate(2, ring_key(2));
        let copy = ring.clone();
        drop(std::hint::black_box(format!("{ring:?} {copy:?}")));
        drop(ring);
        drop(copy);
    })
}
