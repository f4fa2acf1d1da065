//! Stored enrollment records and their sealed secrets under arbitrary (corrupted) bytes.
//!
//! Asserts: `Enrollment::decode` never panics; a record that decodes re-encodes to
//! exactly the same bytes (one encoding per record, nothing silently dropped), in the
//! format its header names (4, 3 or 2, or 1 for legacy rows, which carry no MAC); and a decoded
//! record placed in a store behind an engine whose key ring did not seal it never yields an
//! acceptance from any code-checked call (login, confirm, re-display, stop) — only typed
//! errors, refusals or "OTP not required". The seeds in `seeds/record_decode/` are real
//! records sealed (and, from `v2_*` on, authenticated) under other keys, so mutations reach the
//! record MAC, both seal constructions (`v4_*`: XChaCha20 + HMAC-SHA-256; the others:
//! XChaCha20-Poly1305) and the engine.
#![no_main]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::fuzz_target;
use totp_enroll::{
    AccountId, Engine, EnginePolicy, lifecycle::Enrollment, KeyRing, Login, ManualClock, MemoryStore,
    OtpPolicy, Store,
};

/// Polls a future that `MemoryStore` makes ready at once.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("MemoryStore never waits"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(record) = Enrollment::decode(data) else {
        return;
    };
    assert_eq!(record.encode(), data, "decode/encode is not a bijection");
    assert_eq!(data.get(7), Some(&record.format_version()), "format version");
    assert!(record.format_version() >= 2 || record.mac_key_id().is_none());

    let account = AccountId::new("fuzz-account").expect("valid id");
    let store = MemoryStore::new();
    ready(store.replace_if(&account, None, &record, &[])).expect("a fresh store accepts the record");
    let policy = EnginePolicy::new(OtpPolicy::new("Fuzz").expect("valid policy"));
    let engine = Engine::new(store, KeyRing::new(1, [0x42; 32]), policy)
        .expect("valid engine")
        .with_clock(Arc::new(ManualClock::new(1_700_000_000)));

    let _ = ready(engine.status(&account));
    for code in ["123456", "000000", "12345678"] {
        match ready(engine.verify_login(&account, code)) {
            Ok(Login::Verified(v)) => panic!("a foreign record verified a login: {v:?}"),
            Ok(_) | Err(_) => {}
        }
        assert!(ready(engine.confirm(&account, code)).is_err(), "confirmed");
        assert!(ready(engine.redisplay(&account, code)).is_err(), "re-displayed");
        assert!(ready(engine.stop(&account, code)).is_err(), "stopped");
    }
});
