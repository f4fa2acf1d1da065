//! Who asked: a middleware in front of every route gives each request a fresh id (128
//! random bits in hex) and runs it inside a [`RequestContext`] scope, so that the audit
//! events of every engine call the request makes carry its id, the client's address and
//! its user agent. The id is also on the request's log span and in the `X-Request-Id`
//! response header, so a customer or a support ticket can quote it.
//!
//! The client is the TCP peer ([`ConnectInfo`], which `main.rs` serves with). The portal
//! has no proxy setting, so `X-Forwarded-For` is never read: anyone can send one. Behind
//! a reverse proxy, read it only when the peer is that proxy, as configured. An incoming
//! `X-Request-Id` is ignored too: the ids in the audit trail are the portal's own.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use rand::TryRngCore as _;
use rand::rngs::OsRng;
use totp_enroll::RequestContext;

use crate::app::SharedState;

/// The response header that carries the request id.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, in the request's extensions for the log span.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Middleware: runs the request in its context, wakes the audit delivery afterwards (the
/// request's events are in the outbox by then) and returns the id as `X-Request-Id`.
pub async fn attach(State(app): State<SharedState>, mut request: Request, next: Next) -> Response {
    let id = new_request_id();
    let mut context = RequestContext::new().with_request_id(&id);
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        context = context.with_client(peer.ip().to_string());
    }
    if let Some(agent) = request.headers().get(header::USER_AGENT) {
        // The library replaces control and invisible characters and bounds the length.
        context = context.with_user_agent(String::from_utf8_lossy(agent.as_bytes()));
    }
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = context.scope(next.run(request)).await;
    app.audit.wake();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

/// 128 random bits as 32 lowercase hex digits. Not a secret, only unique: should the OS
/// generator fail, the request is served with an all-zero id rather than refused.
fn new_request_id() -> String {
    let mut bytes = [0u8; 16];
    if OsRng.try_fill_bytes(&mut bytes).is_err() {
        bytes = [0; 16];
    }
    format!("{:032x}", u128::from_be_bytes(bytes))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_32_hex_digits_and_differ() {
        let (a, b) = (new_request_id(), new_request_id());
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
    }
}
