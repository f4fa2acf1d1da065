//! A small server-side session store: the cookie carries only a 256-bit random id; the
//! state (who is logged in, how far, the CSRF token, a provisioning screen or freshly
//! issued recovery codes to show) stays in this process's memory.
//!
//! Sessions expire after an idle time and an absolute lifetime, both read from the
//! portal's clock (so tests can move time). The id is replaced (rotated) when the privilege
//! changes: after the password step, after the one-time password step, at logout.
//! Customers and support-desk operators have separate stores and cookies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore as _;
use rand::rngs::OsRng;
use totp_enroll::{Clock, Provisioning, RecoveryCodes};

use crate::app::SharedState;

/// How many sessions a store holds before it purges expired ones on insertion.
const PURGE_ABOVE: usize = 10_000;
/// The most sessions a store holds by default: beyond it, starting a session evicts the
/// least recently used one (a flood of cookie-less requests cannot exhaust memory).
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;

/// A fresh 256-bit random token, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    if OsRng.try_fill_bytes(&mut bytes).is_err() {
        // Without randomness no safe id exists: make a token no cookie can match.
        return String::new();
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Cookie and lifetime settings of one session store.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The cookie's name.
    pub cookie_name: &'static str,
    /// The cookie's `Path`.
    pub path: &'static str,
    /// Seconds of inactivity after which a session ends.
    pub idle_timeout: u64,
    /// Seconds after creation after which a session ends regardless.
    pub absolute_timeout: u64,
    /// Whether the cookie is `Secure` (the portal is behind TLS).
    pub secure: bool,
    /// The most sessions held at once (the least recently used is evicted beyond it).
    pub max_sessions: usize,
}

impl SessionConfig {
    /// Customers: cookie `portal_session` on `/`, 15 minutes idle, 8 hours at most.
    pub fn customer(secure: bool) -> Self {
        Self {
            cookie_name: "portal_session",
            path: "/",
            idle_timeout: 15 * 60,
            absolute_timeout: 8 * 60 * 60,
            secure,
            max_sessions: DEFAULT_MAX_SESSIONS,
        }
    }

    /// Support desk: cookie `desk_session` on `/desk`, 15 minutes idle, 8 hours at most.
    pub fn desk(secure: bool) -> Self {
        Self {
            cookie_name: "desk_session",
            path: "/desk",
            ..Self::customer(secure)
        }
    }

    /// The `Set-Cookie` value for `id`.
    fn cookie(&self, id: &str) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}={id}; Path={}; HttpOnly; SameSite=Strict{secure}",
            self.cookie_name, self.path
        )
    }
}

/// Which screen a stored provisioning belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// サービス申込 -登録-.
    Enrollment,
    /// 登録コード再表示.
    Redisplay,
    /// 別の端末を追加: the registration screen of the new (pending) authenticator `id`.
    Device(u8),
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

/// The state of one session.
#[derive(Debug, Clone, Default)]
pub struct SessionData {
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// The logged-in customer's login ID (both steps passed).
    pub customer: Option<String>,
    /// Password step passed, one-time password awaited.
    pub pending_login: Option<PendingLogin>,
    /// The QR code and key to show (after 申込 or コード再表示), with its screen.
    pub provisioning: Option<(Shown, Provisioning)>,
    /// Recovery codes just issued, with their screen, until that screen shows them: the
    /// screen takes them out (they are shown once; the engine keeps only their hashes).
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
    /// The logged-in support-desk operator.
    pub operator: Option<String>,
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
    fn fresh() -> Self {
        Self {
            csrf: random_token(),
            ..Self::default()
        }
    }
}

#[derive(Debug)]
struct Entry {
    data: SessionData,
    created: u64,
    last_seen: u64,
}

/// The sessions of one kind (customers or operators).
pub struct SessionStore {
    config: SessionConfig,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<String, Entry>>,
}

impl core::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SessionStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SessionStore {
    /// An empty store.
    pub fn new(config: SessionConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            config,
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The store's settings.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// How many sessions are held (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn now(&self) -> u64 {
        self.clock.now().unwrap_or(0)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves plain data; keep serving.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn expired(&self, entry: &Entry, now: u64) -> bool {
        now.saturating_sub(entry.last_seen) >= self.config.idle_timeout
            || now.saturating_sub(entry.created) >= self.config.absolute_timeout
    }

    /// Marks `id` as seen now and returns whether it is a live session; an expired one is
    /// removed.
    fn touch(&self, id: &str) -> bool {
        let now = self.now();
        let mut entries = self.lock();
        match entries.get_mut(id) {
            Some(entry) if !self.expired(entry, now) => {
                entry.last_seen = now;
                true
            }
            Some(_) => {
                entries.remove(id);
                false
            }
            None => false,
        }
    }

    fn insert(&self, data: SessionData) -> String {
        let now = self.now();
        let id = random_token();
        let mut entries = self.lock();
        if entries.len() >= PURGE_ABOVE.min(self.config.max_sessions) {
            entries.retain(|_, e| !self.expired(e, now));
        }
        while entries.len() >= self.config.max_sessions.max(1) {
            let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.last_seen)
                .map(|(id, _)| id.clone())
            else {
                break;
            };
            entries.remove(&oldest);
        }
        entries.insert(
            id.clone(),
            Entry {
                data,
                created: now,
                last_seen: now,
            },
        );
        id
    }

    fn data(&self, id: &str) -> SessionData {
        self.lock()
            .get(id)
            .map(|e| e.data.clone())
            .unwrap_or_default()
    }

    fn update<R>(&self, id: &str, f: impl FnOnce(&mut SessionData) -> R) -> Option<R> {
        self.lock().get_mut(id).map(|e| f(&mut e.data))
    }

    /// Moves the session to a new id with a new CSRF token (and `reset`: empty state).
    fn rotate(&self, id: &str, reset: bool) -> String {
        let old = self.lock().remove(id).map(|e| e.data).unwrap_or_default();
        let mut data = if reset { SessionData::default() } else { old };
        data.csrf = random_token();
        self.insert(data)
    }

    fn cookie_id(&self, request: &Request) -> Option<String> {
        let prefix = format!("{}=", self.config.cookie_name);
        request
            .headers()
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .map(str::trim)
            .find_map(|c| c.strip_prefix(prefix.as_str()))
            .map(str::to_owned)
    }
}

/// The request's session, as handlers see it (an extension set by [`attach`]).
#[derive(Clone, Debug)]
pub struct Session {
    store: Arc<SessionStore>,
    id: Arc<Mutex<String>>,
    set_cookie: Arc<Mutex<bool>>,
}

impl Session {
    fn id(&self) -> String {
        self.id.lock().map(|id| id.clone()).unwrap_or_default()
    }

    /// A copy of the session's state.
    pub fn data(&self) -> SessionData {
        self.store.data(&self.id())
    }

    /// The session's CSRF token.
    pub fn csrf(&self) -> String {
        self.data().csrf
    }

    /// Changes the session's state.
    pub fn update<R>(&self, f: impl FnOnce(&mut SessionData) -> R) -> Option<R> {
        self.store.update(&self.id(), f)
    }

    /// Gives the session a new id and CSRF token, keeping its state (at a privilege change).
    pub fn rotate(&self) {
        self.replace_id(false);
    }

    /// Ends the session: a new id with empty state (logout).
    pub fn reset(&self) {
        self.replace_id(true);
    }

    fn replace_id(&self, reset: bool) {
        if let Ok(mut id) = self.id.lock() {
            *id = self.store.rotate(&id, reset);
        }
        if let Ok(mut set) = self.set_cookie.lock() {
            *set = true;
        }
    }
}

/// Middleware: finds (or starts) the request's session in the customers' or, under
/// `/desk`, the operators' store, hands it to the handler, and sets the cookie when the
/// session is new or its id changed.
pub async fn attach(State(app): State<SharedState>, mut request: Request, next: Next) -> Response {
    let store = if request.uri().path().starts_with("/desk") {
        app.desk_sessions.clone()
    } else {
        app.sessions.clone()
    };
    let (id, fresh) = match store.cookie_id(&request) {
        Some(id) if store.touch(&id) => (id, false),
        _ => (store.insert(SessionData::fresh()), true),
    };
    let session = Session {
        store: store.clone(),
        id: Arc::new(Mutex::new(id)),
        set_cookie: Arc::new(Mutex::new(fresh)),
    };
    request.extensions_mut().insert(session.clone());
    let mut response = next.run(request).await;
    if session.set_cookie.lock().is_ok_and(|set| *set)
        && let Ok(value) = HeaderValue::from_str(&store.config.cookie(&session.id()))
    {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use totp_enroll::ManualClock;

    fn store(max_sessions: usize) -> (SessionStore, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(1_000));
        let config = SessionConfig {
            max_sessions,
            ..SessionConfig::customer(false)
        };
        (SessionStore::new(config, clock.clone()), clock)
    }

    #[test]
    fn ids_are_256_bit_random_tokens() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
    }

    #[test]
    fn a_full_store_evicts_the_least_recently_used_session() {
        let (store, clock) = store(3);
        let first = store.insert(SessionData::fresh());
        clock.advance(1);
        let second = store.insert(SessionData::fresh());
        clock.advance(1);
        let third = store.insert(SessionData::fresh());
        clock.advance(1);
        assert!(store.touch(&first), "first is now the most recent");
        let fourth = store.insert(SessionData::fresh());
        assert_eq!(store.len(), 3);
        assert!(!store.touch(&second), "the least recently used went");
        assert!(store.touch(&first) && store.touch(&third) && store.touch(&fourth));
    }

    #[test]
    fn rotation_keeps_the_state_under_a_new_id_and_token() {
        let (store, _) = store(10);
        let id = store.insert(SessionData::fresh());
        store.update(&id, |d| d.customer = Some("0123-456789".into()));
        let before = store.data(&id).csrf;
        let new = store.rotate(&id, false);
        assert_ne!(new, id);
        assert!(!store.touch(&id), "the old id is dead");
        let data = store.data(&new);
        assert_eq!(data.customer.as_deref(), Some("0123-456789"));
        assert_ne!(data.csrf, before);
        let reset = store.rotate(&new, true);
        assert!(store.data(&reset).customer.is_none());
    }
}
