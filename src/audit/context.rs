//! [`RequestContext`]: the request an engine call serves, attached to its audit events.
//!
//! The portal sets it once per request, around the handler (e.g. in a middleware), with
//! [`RequestContext::scope`]; every engine call made while the handler's future runs puts
//! it on each of its events. Nothing is wrapped by hand per call.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::cell::RefCell;
use std::sync::Arc;

use crate::account::names::{is_invisible, truncate_at_char_boundary};

/// Who asked, as far as the portal knows: a request id, the client's address and its user
/// agent, each optional.
///
/// The values come from the network, so they are cleaned rather than refused: each
/// control, invisible or bidirectional character becomes U+FFFD and each value is cut to
/// [`RequestContext::MAX_BYTES`] at a character boundary. An audit line can therefore never
/// be forged through a user agent, and a strange header never fails a login.
///
/// ```
/// use totp_enroll::RequestContext;
///
/// let context = RequestContext::new()
///     .with_request_id("req-7f3a")
///     .with_client("203.0.113.7")
///     .with_user_agent("Mozilla/5.0\n2025-01-01 LoginAccepted");
/// assert_eq!(context.user_agent(), Some("Mozilla/5.0\u{FFFD}2025-01-01 LoginAccepted"));
/// ```
///
/// With the `serde` feature: `{"request_id": …, "client": …, "user_agent": …}`, absent
/// fields omitted; deserializing cleans the values the same way.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(from = "serde_context::Raw"))]
pub struct RequestContext {
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    request_id: Option<String>,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    client: Option<String>,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    user_agent: Option<String>,
}

thread_local! {
    /// The context of the request whose future is being polled on this thread.
    static CURRENT: RefCell<Option<Arc<RequestContext>>> = const { RefCell::new(None) };
}

impl RequestContext {
    /// The longest value kept, in UTF-8 bytes.
    pub const MAX_BYTES: usize = 256;

    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the request id (cleaned).
    #[must_use]
    pub fn with_request_id(mut self, id: impl AsRef<str>) -> Self {
        self.request_id = Some(clean(id.as_ref()));
        self
    }

    /// Sets the client's address (cleaned), e.g. from the connection or a trusted proxy's
    /// header.
    #[must_use]
    pub fn with_client(mut self, client: impl AsRef<str>) -> Self {
        self.client = Some(clean(client.as_ref()));
        self
    }

    /// Sets the user agent (cleaned).
    #[must_use]
    pub fn with_user_agent(mut self, user_agent: impl AsRef<str>) -> Self {
        self.user_agent = Some(clean(user_agent.as_ref()));
        self
    }

    /// The request id.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The client's address.
    pub fn client(&self) -> Option<&str> {
        self.client.as_deref()
    }

    /// The user agent.
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    /// Runs `future` with this context attached to the audit events of every engine call
    /// it makes (while it is polled; tasks it spawns do not inherit it).
    ///
    /// ```
    /// # tokio_test_block_on(async {
    /// use totp_enroll::RequestContext;
    ///
    /// let seen = RequestContext::new()
    ///     .with_request_id("req-1")
    ///     .scope(async { RequestContext::current() })
    ///     .await;
    /// assert_eq!(seen.and_then(|c| c.request_id().map(str::to_owned)).as_deref(), Some("req-1"));
    /// assert_eq!(RequestContext::current(), None);
    /// # });
    /// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    /// # }
    /// ```
    pub fn scope<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        Scoped {
            context: Arc::new(self),
            inner: Box::pin(future),
        }
    }

    /// The context of the innermost [`RequestContext::scope`] being polled, if any.
    pub fn current() -> Option<Self> {
        CURRENT.with(|current| current.borrow().as_deref().cloned())
    }
}

/// `value` with forbidden characters replaced by U+FFFD, cut to `MAX_BYTES`.
fn clean(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .map(|c| {
            if c.is_control() || is_invisible(c) {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect();
    truncate_at_char_boundary(cleaned, RequestContext::MAX_BYTES)
}

/// A future polled with a context set as [`CURRENT`] (restored afterwards, also when
/// polling panics).
struct Scoped<F: Future> {
    context: Arc<RequestContext>,
    inner: Pin<Box<F>>,
}

/// Restores the previous context when dropped.
struct Restore(Option<Arc<RequestContext>>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|current| *current.borrow_mut() = previous);
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let context = Arc::clone(&self.context);
        let _restore = Restore(CURRENT.with(|current| current.replace(Some(context))));
        self.inner.as_mut().poll(cx)
    }
}

#[cfg(feature = "serde")]
mod serde_context {
    /// The wire form, cleaned on the way in.
    #[derive(serde::Deserialize)]
    pub(super) struct Raw {
        request_id: Option<String>,
        client: Option<String>,
        user_agent: Option<String>,
    }

    impl From<Raw> for super::RequestContext {
        fn from(raw: Raw) -> Self {
            Self {
                request_id: raw.request_id.as_deref().map(super::clean),
                client: raw.client.as_deref().map(super::clean),
                user_agent: raw.user_agent.as_deref().map(super::clean),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_at_a_character_boundary() {
        let long = "日".repeat(200); // 600 bytes
        let context = RequestContext::new().with_user_agent(&long);
        let kept = context.user_agent().unwrap_or_default();
        assert!(kept.len() <= RequestContext::MAX_BYTES);
        assert_eq!(kept.len(), 255, "85 whole characters of 3 bytes");
        assert!(long.starts_with(kept));
    }

    #[test]
    fn bidi_and_zero_width_characters_are_replaced() {
        let context = RequestContext::new().with_client("a\u{202E}b\u{200B}c\td");
        assert_eq!(context.client(), Some("a\u{FFFD}b\u{FFFD}c\u{FFFD}d"));
    }

    #[test]
    fn nested_scopes_restore_the_outer_context() {
        let outer = RequestContext::new().with_request_id("outer");
        let inner = RequestContext::new().with_request_id("inner");
        let seen = futures_lite_block_on(outer.scope(async {
            let inner_seen = inner.scope(async { RequestContext::current() }).await;
            (inner_seen, RequestContext::current())
        }));
        assert_eq!(
            seen.0.and_then(|c| c.request_id.clone()).as_deref(),
            Some("inner")
        );
        assert_eq!(
            seen.1.and_then(|c| c.request_id.clone()).as_deref(),
            Some("outer")
        );
        assert_eq!(RequestContext::current(), None);
    }

    /// Polls a future that never waits to completion.
    fn futures_lite_block_on<F: Future>(future: F) -> F::Output {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut future = Box::pin(future);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        }
    }
}
