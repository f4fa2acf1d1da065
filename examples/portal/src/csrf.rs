//! CSRF protection: every POST must carry its session's token in the form field `csrf`,
//! compared in constant time. Checked once, in a middleware in front of every route, so a
//! new form handler cannot forget it. (`SameSite=Strict` cookies are a second layer.)
//!
//! Before a session exists (the login forms: an anonymous visitor has no server-side
//! state) the token is a double-submit one: a random 256-bit token in its own `HttpOnly;
//! SameSite=Strict` cookie (`__Host-` prefixed behind TLS) and the same token in the form
//! ([`Session::csrf`], [`Session::expected_csrf`]).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq as _;

use crate::session::Session;
use crate::views;

/// The form field that carries the token.
pub const FIELD: &str = "csrf";
/// Largest request body accepted (forms here are a few hundred bytes).
pub const BODY_LIMIT: usize = 16 * 1024;

/// Whether the urlencoded `form` carries exactly `expected` as its `csrf` field.
pub fn form_has_token(form: &[u8], expected: &str) -> bool {
    if expected.is_empty() {
        return false;
    }
    let mut found = form_urlencoded::parse(form).filter(|(name, _)| name == FIELD);
    match (found.next(), found.next()) {
        (Some((_, value)), None) => bool::from(value.as_bytes().ct_eq(expected.as_bytes())),
        _ => false,
    }
}

/// Middleware: refuses a POST whose body lacks the session's token (403) or is too large
/// (413), then hands the buffered body on to the handler.
pub async fn verify(request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(session) = request.extensions().get::<Session>().cloned() else {
        return refused();
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return too_large();
    };
    let expected = session.expected_csrf().unwrap_or_default();
    if !form_has_token(&bytes, &expected) {
        return refused();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The page of a request body over [`BODY_LIMIT`] (413).
pub fn too_large() -> Response {
    views::message_page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "エラー",
        "送信された内容が大きすぎます。",
    )
}

fn refused() -> Response {
    views::message_page(
        StatusCode::FORBIDDEN,
        "画面の有効期限切れ",
        "画面の有効期限が切れたか、不正な操作が行われました。お手数ですが、もう一度最初から操作してください。",
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_token_must_match_exactly_once() {
        assert!(form_has_token(b"a=1&csrf=tok&b=2", "tok"));
        assert!(!form_has_token(b"a=1&csrf=tok2", "tok"));
        assert!(!form_has_token(b"a=1", "tok"));
        assert!(!form_has_token(b"csrf=tok&csrf=tok", "tok"));
        assert!(!form_has_token(b"csrf=", ""));
    }
}
