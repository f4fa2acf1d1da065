//! The rules of every name the crate shows or logs (account ids, account labels, issuers,
//! operator names, authenticator names, reasons): not blank, bounded, and none of the
//! characters refused here.
//!
//! Besides control characters (which break log lines), these are the characters that make
//! text look different from what it is (display and log spoofing, CVE-2021-42574 "Trojan
//! Source"): bidirectional embeddings, overrides, isolates and marks, zero-width characters
//! and the byte order mark, and the Unicode line and paragraph separators.

use crate::error::IdentifierError;

/// Why a character of a name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forbidden {
    /// A C0/C1 control character (including newline and tab).
    Control,
    /// An invisible, bidirectional-control or line/paragraph-separator character.
    Invisible,
}

/// Whether `c` is invisible or reorders text: U+061C, U+200B–U+200F, U+2028–U+202E,
/// U+2060–U+2064, U+2066–U+2069, U+FEFF.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// The first refused character of `text`, with its 1-based position in characters.
pub(crate) fn first_forbidden(text: &str) -> Option<(usize, Forbidden)> {
    text.chars().zip(1..).find_map(|(c, position)| {
        if c.is_control() {
            Some((position, Forbidden::Control))
        } else if is_invisible(c) {
            Some((position, Forbidden::Invisible))
        } else {
            None
        }
    })
}

/// `text` cut to at most `max_bytes` UTF-8 bytes, at a character boundary.
pub(crate) fn truncate_at_char_boundary(mut text: String, max_bytes: usize) -> String {
    if text.len() > max_bytes {
        let end = (0..=max_bytes)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text.truncate(end);
    }
    text
}

/// Longest authenticator name in UTF-8 bytes
/// ([`Authenticator::MAX_NAME_BYTES`](crate::Authenticator::MAX_NAME_BYTES)).
pub(crate) const MAX_AUTHENTICATOR_NAME_BYTES: usize = 64;

/// An authenticator's name ([`Authenticator::name`](crate::Authenticator::name)): 1 to
/// 64 bytes, no control or invisible characters.
pub(crate) fn check_authenticator_name(name: &str) -> Result<(), IdentifierError> {
    check_name("authenticator name", name, MAX_AUTHENTICATOR_NAME_BYTES)
}

/// The rules every name follows: not blank, bounded, no control or invisible characters.
pub(crate) fn check_name(
    field: &'static str,
    text: &str,
    max: usize,
) -> Result<(), IdentifierError> {
    if text.trim().is_empty() {
        return Err(IdentifierError::Empty { field });
    }
    if text.len() > max {
        return Err(IdentifierError::TooLong { field, max });
    }
    match first_forbidden(text) {
        None => Ok(()),
        Some((position, Forbidden::Control)) => {
            Err(IdentifierError::ControlCharacter { field, position })
        }
        Some((position, Forbidden::Invisible)) => {
            Err(IdentifierError::InvisibleCharacter { field, position })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_japanese_and_ascii_names_pass() {
        assert_eq!(first_forbidden("北洋証券オンラインサービス"), None);
        assert_eq!(first_forbidden("desk-01 山田"), None);
    }

    #[test]
    fn each_spoofing_class_is_found_at_its_position() {
        assert_eq!(first_forbidden("ab\ncd"), Some((3, Forbidden::Control)));
        assert_eq!(
            first_forbidden("a\u{202E}b"),
            Some((2, Forbidden::Invisible))
        );
        assert_eq!(first_forbidden("\u{200B}"), Some((1, Forbidden::Invisible)));
        assert_eq!(
            first_forbidden("x\u{2029}"),
            Some((2, Forbidden::Invisible))
        );
        assert_eq!(
            first_forbidden("x\u{2066}y"),
            Some((2, Forbidden::Invisible))
        );
        assert_eq!(
            first_forbidden("\u{FEFF}x"),
            Some((1, Forbidden::Invisible))
        );
    }
}
