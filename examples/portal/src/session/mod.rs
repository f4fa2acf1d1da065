//! A small server-side session store: the cookie carries only a 256-bit random id; the
//! state (who is logged in, how far, the CSRF token, a provisioning screen or freshly
//! issued recovery codes to show) stays in this process's memory.
//!
//! A session exists only from a passed password step: an anonymous request creates
//! nothing on the server (the login forms' CSRF token is a double-submit cookie, see
//! [`Session::csrf`]). A login starts from an EMPTY session ([`Session::start`]: a new id,
//! a new CSRF token, nothing of the state before); the id is replaced again after the
//! one-time password ([`Session::rotate`]); logout ends it ([`Session::end`]). Sessions
//! expire after an idle time and an absolute lifetime (configurable, [`SessionLifetimes`]),
//! read from the portal's clock (so tests can move time), and are bounded per login ID and
//! in all ([`SessionSettings`], `store.rs`). Customers and support-desk operators have
//! separate stores and cookies; the desk's serves `/desk` and `/desk/…` only.
//!
//! The files: `config.rs` (cookies, lifetimes, bounds, reading a cookie), `store.rs` (the
//! bounded store), this one (the state, the request's handle and the middleware).

mod config;
mod store;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore as _;
use rand::rngs::OsRng;
use totp_enroll::{Provisioning, RecoveryCodes};

use crate::app::SharedState;
pub use config::{
    CookieValue, LifetimeError, SessionConfig, SessionLifetimes, SessionSettings, cookie, is_token,
};
pub use store::{SessionStore, SessionsFull};

/// A fresh 256-bit random token, base64url without padding (43 characters); empty when
/// the OS generator fails (no cookie or form can match an empty token).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    if OsRng.try_fill_bytes(&mut bytes).is_err() {
        return String::new();
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `path` is the support desk's (`/desk` or below it; `/desktop` is not).
pub fn is_desk_path(path: &str) -> bool {
    path == "/desk" || path.starts_with("/desk/")
}

/// Which screen a stored provisioning belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// 登録コード再表示.
    Redisplay,
    /// 別の端末を追加: the registration screen of the new (pending) authenticator `id`.
    Device(u8),
    /// A support-desk operator's enrollment of the desk's one-time password.
    Operator,
}

/// Which screen freshly issued recovery codes belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issued {
    /// サービス申込 -受付- (issued with the confirmation).
    Enrollment,
    /// リカバリーコードの再発行.
    Reissue,
}

/// A customer who passed the password step and owes the one-time password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    /// The login ID.
    pub login_id: String,
    /// When the password was accepted.
    pub at: u64,
}

/// A support-desk operator who passed the password step and owes the second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOperator {
    /// The operator ID.
    pub operator: String,
    /// When the password was accepted.
    pub at: u64,
    /// What the second step is.
    pub step: OperatorStep,
}

/// The second step of an operator's login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorStep {
    /// The one-time password of the desk's engine (`/desk/otp`).
    Code,
    /// No one-time password yet: its enrollment, confirmed by its first code
    /// (`/desk/enroll`).
    Enrollment,
}

/// The state of one session.
#[derive(Debug, Clone, Default)]
pub struct SessionData {
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// The logged-in customer's login ID (both steps passed).
    pub customer: Option<String>,
    /// Password step passed, one-time password awaited.
    pub pending_login: Option<PendingLogin>,
    /// After 申込: when the transaction password was re-verified (the step-up's time,
    /// never the pending secret), for the 登録 page to ask the engine for the pending
    /// screen; until the confirmation.
    pub applied_at: Option<u64>,
    /// The QR code and key to show (after コード再表示, 別の端末を追加, or an operator's
    /// enrollment), with its screen, until the POST that completes it.
    pub provisioning: Option<(Shown, Provisioning)>,
    /// Recovery codes just issued, with their screen, until the POST that completes that
    /// screen (「登録情報照会へ」) takes them out: a GET only shows them (the engine keeps
    /// only their hashes).
    /// Shared, not copied: the codes are zeroized when the last holder drops them, and
    /// their `Debug` shows only the count.
    pub recovery_codes: Option<(Issued, Arc<RecoveryCodes>)>,
    /// After a login with a recovery code: how many unused ones remain, for the one notice
    /// on 登録情報照会.
    pub recovery_login: Option<u8>,
    /// Whether this session logged in with a recovery code (登録情報照会 then offers the
    /// lost-phone 利用停止).
    pub recovered: bool,
    /// A notice for 登録情報照会 after an action that leads back to it (an app added or
    /// removed), shown once.
    pub account_notice: Option<String>,
    /// The logged-in support-desk operator (password AND one-time password passed).
    pub operator: Option<String>,
    /// Password step passed at the desk, one-time password (or its enrollment) awaited.
    pub pending_operator: Option<PendingOperator>,
    /// The result of the operator's last コード確認 or 時刻ずれの補正, for the one page
    /// after its redirect (it holds no code: only what the engine found).
    pub desk_result: Option<DeskResult>,
}

/// What a support-desk action found, shown once on the customer's desk page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskResult {
    /// The customer it is about.
    pub login_id: String,
    /// Which action (`diagnose` or `resync`, as in the redirect's `done`).
    pub action: &'static str,
    /// The sentences to show.
    pub lines: Vec<String>,
}

impl SessionData {
    /// An empty state with a new CSRF token.
    pub(crate) fn fresh() -> Self {
        Self {
            csrf: random_token(),
            ..Self::default()
        }
    }
}

/// What the response does with a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CookieChange {
    Keep,
    Set,
    Clear,
}

/// The request's side of the session: its id (none for an anonymous visitor) and the
/// login form's double-submit token.
#[derive(Debug)]
struct Handle {
    id: Option<String>,
    session_cookie: CookieChange,
    form_token: Option<String>,
    form_cookie: CookieChange,
}

/// The request's session, as handlers see it (an extension set by [`attach`]).
#[derive(Clone, Debug)]
pub struct Session {
    store: Arc<SessionStore>,
    handle: Arc<Mutex<Handle>>,
}

impl Session {
    fn handle(&self) -> MutexGuard<'_, Handle> {
        self.handle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn id(&self) -> Option<String> {
        self.handle().id.clone()
    }

    /// Whether a session exists (a password step was passed in this browser).
    pub fn exists(&self) -> bool {
        self.handle().id.is_some()
    }

    /// A copy of the session's state (empty for an anonymous visitor).
    pub fn data(&self) -> SessionData {
        self.id().map(|id| self.store.data(&id)).unwrap_or_default()
    }

    /// The token the page's forms carry: the session's, or for an anonymous visitor (the
    /// login forms) the double-submit token of the form cookie, made now (and set with
    /// the response) when the browser has none.
    pub fn csrf(&self) -> String {
        let mut handle = self.handle();
        if let Some(id) = &handle.id {
            return self.store.data(id).csrf;
        }
        if let Some(token) = &handle.form_token {
            return token.clone();
        }
        let token = random_token();
        handle.form_token = Some(token.clone());
        handle.form_cookie = CookieChange::Set;
        token
    }

    /// The token a POST must carry: the session's, or without a session the form
    /// cookie's (never one made for this request). `None`: nothing can match.
    pub fn expected_csrf(&self) -> Option<String> {
        let handle = self.handle();
        match &handle.id {
            Some(id) => Some(self.store.data(id).csrf).filter(|t| !t.is_empty()),
            None if handle.form_cookie == CookieChange::Keep => handle.form_token.clone(),
            None => None,
        }
    }

    /// Changes the session's state (nothing for an anonymous visitor).
    pub fn update<R>(&self, f: impl FnOnce(&mut SessionData) -> R) -> Option<R> {
        self.id().and_then(|id| self.store.update(&id, f))
    }

    /// Starts a session of `owner` (the login ID or operator whose password was just
    /// verified) from an EMPTY state — a new id, a new CSRF token, nothing of any session
    /// this browser had (which ends) — and `set` puts in what the login needs. Refused
    /// when the store is full.
    pub fn start(
        &self,
        owner: &str,
        set: impl FnOnce(&mut SessionData),
    ) -> Result<(), SessionsFull> {
        let mut handle = self.handle();
        if let Some(old) = handle.id.take() {
            self.store.remove(&old);
            handle.session_cookie = CookieChange::Clear;
        }
        let mut data = SessionData::fresh();
        set(&mut data);
        let id = self.store.insert(owner, data)?;
        handle.id = Some(id);
        handle.session_cookie = CookieChange::Set;
        if handle.form_token.take().is_some() {
            handle.form_cookie = match handle.form_cookie {
                // Made for this response only: never set.
                CookieChange::Set => CookieChange::Keep,
                _ => CookieChange::Clear,
            };
        }
        Ok(())
    }

    /// Gives the session a new id and CSRF token, keeping its state (at a privilege change
    /// within one login: after the one-time password).
    pub fn rotate(&self) {
        let mut handle = self.handle();
        let Some(old) = handle.id.take() else {
            return;
        };
        handle.id = self.store.rotate(&old);
        handle.session_cookie = if handle.id.is_some() {
            CookieChange::Set
        } else {
            CookieChange::Clear
        };
    }

    /// Ends the session (logout): its state is dropped, the cookie deleted.
    pub fn end(&self) {
        let mut handle = self.handle();
        if let Some(id) = handle.id.take() {
            self.store.remove(&id);
            handle.session_cookie = CookieChange::Clear;
        }
    }

    /// Ends every other session of this session's owner (after a factor was removed: the
    /// other browsers log in again); this one continues. How many ended.
    pub fn end_other_sessions(&self) -> usize {
        let Some(id) = self.id() else {
            return 0;
        };
        match self.store.owner(&id) {
            Some(owner) => self.store.end_sessions_of(&owner, Some(&id)),
            None => 0,
        }
    }
}

/// Middleware: finds the request's session (exactly one cookie of its name, naming a live
/// session) in the customers' or, for `/desk` and `/desk/…`, the operators' store, and
/// the login form's token cookie; hands both to the handler; then sets or deletes the
/// cookies as the handler changed them. Creates no session.
pub async fn attach(State(app): State<SharedState>, mut request: Request, next: Next) -> Response {
    let store = if is_desk_path(request.uri().path()) {
        app.desk_sessions.clone()
    } else {
        app.sessions.clone()
    };
    let config = store.config().clone();
    let (id, session_cookie) = match cookie(&request, config.cookie_name) {
        CookieValue::One(id) if is_token(&id) && store.touch(&id) => (Some(id), CookieChange::Keep),
        // A stale or foreign id: deleted (a second cookie of the name is not ours to touch).
        CookieValue::One(_) => (None, CookieChange::Clear),
        CookieValue::Absent | CookieValue::Several => (None, CookieChange::Keep),
    };
    let form_token = match cookie(&request, config.form_cookie_name) {
        CookieValue::One(token) if is_token(&token) => Some(token),
        _ => None,
    };
    let session = Session {
        store,
        handle: Arc::new(Mutex::new(Handle {
            id,
            session_cookie,
            form_token,
            form_cookie: CookieChange::Keep,
        })),
    };
    request.extensions_mut().insert(session.clone());
    let mut response = next.run(request).await;
    let handle = session.handle();
    let changes = [
        (
            config.cookie_name,
            handle.session_cookie,
            handle.id.as_deref(),
        ),
        (
            config.form_cookie_name,
            handle.form_cookie,
            handle.form_token.as_deref(),
        ),
    ];
    for (name, change, value) in changes {
        let header = match (change, value) {
            (CookieChange::Set, Some(value)) => config.set_cookie(name, value),
            (CookieChange::Clear, _) => config.clear_cookie(name),
            _ => continue,
        };
        if let Ok(value) = HeaderValue::from_str(&header) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_256_bit_random_tokens() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert!(is_token(&a));
        assert_ne!(a, random_token());
    }

    #[test]
    fn the_desk_is_desk_and_below_only() {
        assert!(is_desk_path("/desk") && is_desk_path("/desk/login"));
        assert!(!is_desk_path("/desktop") && !is_desk_path("/") && !is_desk_path("/deskx/"));
    }
}
