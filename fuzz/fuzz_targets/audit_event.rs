//! `AuditEvent::decode` on arbitrary bytes (the rows of a store's audit outbox).
//!
//! Asserts:
//! * it never panics, and every refusal formats (`Display`, `Debug`) without panicking;
//! * decoding is strict: an accepted input is exactly the encoding of what it decoded to
//!   (`encode(decode(x)) == x`), so two different rows never read as the same event;
//! * every text of an accepted event is clean: no control or invisible character in the
//!   account, the operator, the reason or the request context (no forged audit lines).
#![no_main]

use libfuzzer_sys::fuzz_target;
use totp_enroll::{AuditEvent, AuditKind};

fn clean(text: &str) {
    assert!(
        !text.chars().any(|c| c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')),
        "unclean text accepted: {text:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    match AuditEvent::decode(data) {
        Err(error) => {
            let _ = format!("{error} {error:?}");
        }
        Ok(event) => {
            assert_eq!(event.encode(), data, "decode/encode is not a bijection");
            clean(event.account.as_str());
            if let AuditKind::AdministrativelyReset { operator, reason }
            | AuditKind::Forgotten { operator, reason } = &event.kind
            {
                clean(operator.as_str());
                clean(reason);
            }
            if let Some(context) = &event.context {
                for text in [context.request_id(), context.client(), context.user_agent()]
                    .into_iter()
                    .flatten()
                {
                    clean(text);
                }
            }
            let _ = format!("{event:?}");
        }
    }
});
