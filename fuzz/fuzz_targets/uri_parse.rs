//! `KeyUri::parse` on arbitrary text.
//!
//! Asserts: parsing never panics; a URI that parses re-serialises (`to_uri`) to a URI that
//! parses to an equal `KeyUri` whose own serialisation is identical (canonical form is a
//! fixed point); the policy carries the default window and the issuer is the policy's.
#![no_main]

use libfuzzer_sys::fuzz_target;
use totp_enroll::{provision::KeyUri, otp::Window};

fuzz_target!(|data: &[u8]| {
    // Lossy, so that the fuzzer's byte mutations are never wasted on a skipped input.
    let text = String::from_utf8_lossy(data);
    let first = match KeyUri::parse(&text) {
        Ok(uri) => uri,
        Err(e) => {
            // Error messages must format without panicking.
            let _ = e.to_string();
            return;
        }
    };
    assert_eq!(first.issuer(), first.policy().issuer());
    assert_eq!(first.policy().window(), Window::default());
    assert!(
        first.secret().len() >= 16,
        "strict parse admitted a short key"
    );

    let built = first.to_uri();
    let second = match KeyUri::parse(&built) {
        Ok(uri) => uri,
        Err(e) => panic!("to_uri() of an accepted URI does not parse: {e:?}"),
    };
    assert!(
        second == first,
        "parse(to_uri(parse(u))) != parse(u): account {:?} vs {:?}, issuer {:?} vs {:?}",
        first.account(),
        second.account(),
        first.issuer(),
        second.issuer(),
    );
    assert_eq!(
        second.to_uri().as_str(),
        built.as_str(),
        "to_uri is not a fixed point"
    );
});
