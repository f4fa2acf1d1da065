//! An in-process browser for the portal's tests: a cookie jar, the CSRF token of the last
//! page, and helpers to read pages and compute the authenticator app's codes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use totp_enroll::{Clock, ManualClock, OtpPolicy, otp::Secret, otp::Totp};
use totp_enroll_portal::app::{self, AppState, Portal, PortalOptions};
use totp_enroll_portal::config::{
    Database, SecondDeviceConfig, generate_key_ring_text, key_ring_from_text,
};
use tower::ServiceExt as _;

/// The demo customer of the manual and the one the browser test uses.
pub const TARO: (&str, &str, &str) = ("0123-456789", "demo-login-pw", "demo-trade-pw");
pub const HANAKO: (&str, &str, &str) = ("0123-000002", "demo-login-pw2", "demo-trade-pw2");

/// The demo support-desk operators (README: demo data).
pub const DESK_01: (&str, &str) = ("desk-01", "demo-desk-pw");
pub const DESK_02: (&str, &str) = ("desk-02", "demo-desk-pw2");

/// The desk's authenticator apps enrolled so far: per portal (held weakly, so that a
/// dropped portal's entry is never taken for another's) and operator, the setup key.
static DESK_APPS: Mutex<Vec<(Weak<AppState>, String, String)>> = Mutex::new(Vec::new());

/// Start of the tests' time: 2025-11-24T16:00:00Z, at the start of a 30 s step.
pub const T0: i64 = 1_764_000_000;

/// A portal on a private in-memory SQLite database, with a manual clock.
pub async fn portal() -> (Portal, Arc<ManualClock>) {
    portal_with(SecondDeviceConfig::default()).await
}

/// [`portal`] with the second-device settings (`TOTP_PORTAL_SECOND_DEVICE`, `…_STEP_UP`).
pub async fn portal_with(second_device: SecondDeviceConfig) -> (Portal, Arc<ManualClock>) {
    portal_configured(|options| options.second_device = second_device).await
}

/// [`portal`] with its options changed by `configure` (cookies, sessions, …).
pub async fn portal_configured(
    configure: impl FnOnce(&mut PortalOptions),
) -> (Portal, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let keys = key_ring_from_text(&generate_key_ring_text().unwrap()).unwrap();
    let mut options = PortalOptions::for_tests(clock.clone()).unwrap();
    // The tests read the demo mailbox (at the desk).
    options.demo_mailbox = true;
    configure(&mut options);
    let portal = app::build(&Database::Sqlite("sqlite::memory:".into()), keys, options)
        .await
        .unwrap();
    (portal, clock)
}

/// `own` mode (each device its own app), with or without the transaction password.
pub fn own_devices(step_up: bool) -> SecondDeviceConfig {
    SecondDeviceConfig {
        mode: totp_enroll::SecondDevice::OwnSecret,
        step_up,
    }
}

/// The demo mailbox (`/desk/mail`) as operator desk-02 reads it, logged in for it in a
/// browser of its own (at desk-02's first login: its enrollment).
pub async fn mailbox(portal: &Portal, clock: &ManualClock) -> Page {
    let mut desk = Browser::new(portal);
    desk.desk_login(DESK_02, clock).await;
    let page = desk.get("/desk/mail").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page
}

/// Delivers the audit outbox now (what the background task does every 500 ms): the audit
/// rows and mails of everything done so far. Returns how many events were delivered.
pub async fn deliver(portal: &Portal) -> usize {
    portal.state.audit.deliver_pending().await.unwrap()
}

/// One response, read whole.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Page {
    /// The `Location` of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The text of the element with `id` (the first `>` after it up to the next `<`).
    pub fn text_of(&self, id: &str) -> Option<String> {
        let at = self.body.find(&format!("id=\"{id}\""))?;
        let rest = &self.body[at..];
        let start = rest.find('>')? + 1;
        let end = rest[start..].find('<')? + start;
        Some(rest[start..end].trim().to_owned())
    }

    /// The value of attribute `attr` on the element with `id`.
    pub fn attr_of(&self, id: &str, attr: &str) -> Option<String> {
        let at = self.body.find(&format!("id=\"{id}\""))?;
        let tag_start = self.body[..at].rfind('<')?;
        let tag_end = self.body[at..].find('>')? + at;
        let tag = &self.body[tag_start..tag_end];
        let key = format!("{attr}=\"");
        let v = tag.find(&key)? + key.len();
        let end = tag[v..].find('"')? + v;
        Some(tag[v..end].to_owned())
    }

    /// The response's `X-Request-Id`.
    pub fn request_id(&self) -> String {
        self.headers["x-request-id"].to_str().unwrap().to_owned()
    }

    /// The refusal message shown on the page.
    pub fn error(&self) -> Option<String> {
        self.text_of("error")
    }

    /// The unspaced setup key of a registration / re-display page.
    pub fn copy_key(&self) -> String {
        self.attr_of("copy-key", "data-key")
            .expect("a setup key on the page")
    }

    /// The recovery codes shown on the page (grouped, in order); empty when none are.
    pub fn recovery_codes(&self) -> Vec<String> {
        let key = "<code class=\"recovery-code\">";
        self.body
            .split(key)
            .skip(1)
            .map(|rest| rest[..rest.find('<').unwrap()].trim().to_owned())
            .collect()
    }

    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> Option<String> {
        let key = "name=\"csrf\" value=\"";
        let at = self.body.find(key)? + key.len();
        let end = self.body[at..].find('"')? + at;
        Some(self.body[at..end].to_owned())
    }
}

/// A browser: cookies and the last CSRF token; optionally a peer address (as
/// `axum::serve` with `ConnectInfo` reports it) and headers sent with every request.
#[derive(Clone)]
pub struct Browser {
    router: Router,
    /// Name → (value, `Path`).
    cookies: BTreeMap<String, (String, String)>,
    pub csrf: Option<String>,
    pub peer: Option<SocketAddr>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The portal (for the desk apps its operators enrolled).
    state: Option<Weak<AppState>>,
}

impl Browser {
    pub fn new(portal: &Portal) -> Self {
        Self {
            state: Some(Arc::downgrade(&portal.state)),
            ..Self::on(portal.router.clone())
        }
    }

    pub fn on(router: Router) -> Self {
        Self {
            router,
            cookies: BTreeMap::new(),
            csrf: None,
            peer: None,
            headers: Vec::new(),
            state: None,
        }
    }

    /// Replaces the customer session cookie (to replay an old id).
    pub fn set_session(&mut self, id: &str) {
        self.set_cookie("portal_session", id, "/");
    }

    /// Sets cookie `name` for `path` (as a `Set-Cookie` would).
    pub fn set_cookie(&mut self, name: &str, value: &str, path: &str) {
        self.cookies
            .insert(name.into(), (value.into(), path.into()));
    }

    /// The value of cookie `name`, if set.
    pub fn cookie(&self, name: &str) -> Option<&String> {
        self.cookies.get(name).map(|(value, _)| value)
    }

    /// Sends `request` as it is (with the peer and extra headers; no cookies added).
    pub async fn send(&mut self, mut request: Request<Body>) -> Page {
        if let Some(peer) = self.peer {
            request.extensions_mut().insert(ConnectInfo(peer));
        }
        for (name, value) in &self.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for set in headers.get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let mut parts = set.split(';').map(str::trim);
            let (name, value) = parts.next().unwrap().split_once('=').unwrap();
            let attributes: Vec<&str> = parts.collect();
            let path = attributes
                .iter()
                .find_map(|a| a.strip_prefix("Path="))
                .unwrap_or("/");
            if attributes.contains(&"Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.set_cookie(name, value, path);
            }
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let page = Page {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        };
        if let Some(token) = page.csrf() {
            self.csrf = Some(token);
        }
        page
    }

    /// The `Cookie` header a browser sends to `path` (RFC 6265 path match: `/desk`
    /// matches `/desk` and `/desk/…`, not `/desktop`).
    pub fn cookie_header(&self, path: &str) -> String {
        let path = path.split('?').next().unwrap_or(path);
        self.cookies
            .iter()
            .filter(|(_, (_, cookie_path))| {
                path == cookie_path
                    || cookie_path.ends_with('/') && path.starts_with(cookie_path.as_str())
                    || path.starts_with(&format!("{cookie_path}/"))
            })
            .map(|(n, (v, _))| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = Request::get(path)
            .header(header::COOKIE, self.cookie_header(path))
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    /// A HEAD request (what a link checker or some prefetchers send).
    pub async fn head(&mut self, path: &str) -> Page {
        let request = Request::head(path)
            .header(header::COOKIE, self.cookie_header(path))
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    /// POSTs `fields` with the last page's CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf.clone().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// POSTs exactly `fields` (no token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = Request::post(path)
            .header(header::COOKIE, self.cookie_header(path))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// Logs in with ID and password (first step only), from the login page.
    pub async fn password_step(&mut self, (id, pw, _): (&str, &str, &str)) -> Page {
        self.get("/login").await;
        self.post("/login", &[("login_id", id), ("password", pw)])
            .await
    }

    /// The desk's password step from its login page: the answer (303 to `/desk/otp` or
    /// `/desk/enroll`, or a refusal).
    pub async fn desk_password(&mut self, (operator, password): (&str, &str)) -> Page {
        let page = self.get("/desk").await;
        assert!(
            page.body
                .contains("<label for=\"desk-operator\">オペレーターID</label>"),
            "the desk's login page: {}",
            page.body
        );
        self.post(
            "/desk/login",
            &[("operator", operator), ("password", password)],
        )
        .await
    }

    /// Logs `operator` in at the desk: the password, then the desk's one-time password.
    /// At the operator's first login in this portal it enrolls (the setup key read from
    /// `#copy-key`, the first code confirms) and remembers the app for later logins.
    /// Returns the operator's app. A second login of the operator within one 30 s step
    /// is refused as a replay: advance the clock between.
    pub async fn desk_login(&mut self, operator: (&str, &str), clock: &ManualClock) -> App {
        let step = self.desk_password(operator).await;
        let app = match step.location() {
            "/desk/enroll" => {
                let page = self.get("/desk/enroll").await;
                assert_eq!(page.status, StatusCode::OK, "{}", page.body);
                let key = page.copy_key();
                let app = App::from_key(&key);
                let confirmed = self
                    .post("/desk/enroll", &[("code", &app.code(clock))])
                    .await;
                assert_eq!(confirmed.location(), "/desk", "{}", confirmed.body);
                if let Some(state) = &self.state {
                    DESK_APPS
                        .lock()
                        .unwrap()
                        .push((state.clone(), operator.0.to_owned(), key));
                }
                app
            }
            "/desk/otp" => {
                let key = self
                    .state
                    .as_ref()
                    .and_then(|state| {
                        DESK_APPS
                            .lock()
                            .unwrap()
                            .iter()
                            .rev()
                            .find(|(s, op, _)| s.ptr_eq(state) && op == operator.0)
                            .map(|(_, _, key)| key.clone())
                    })
                    .unwrap_or_else(|| {
                        panic!(
                            "{} enrolled outside desk_login: use desk_login_with",
                            operator.0
                        )
                    });
                let app = App::from_key(&key);
                self.desk_code(&app, clock).await;
                app
            }
            other => panic!("desk password step: {} {other}: {}", step.status, step.body),
        };
        self.get("/desk").await;
        app
    }

    /// Logs `operator` in at the desk with its `app` (already enrolled).
    pub async fn desk_login_with(
        &mut self,
        operator: (&str, &str),
        app: &App,
        clock: &ManualClock,
    ) {
        let step = self.desk_password(operator).await;
        assert_eq!(step.location(), "/desk/otp", "{}", step.body);
        self.desk_code(app, clock).await;
        self.get("/desk").await;
    }

    async fn desk_code(&mut self, app: &App, clock: &ManualClock) {
        let form = self.get("/desk/otp").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let done = self.post("/desk/otp", &[("code", &app.code(clock))]).await;
        assert_eq!(done.location(), "/desk", "{} {}", done.status, done.body);
    }

    /// Logs in a customer who does not use the service.
    pub async fn login(&mut self, who: (&str, &str, &str)) {
        let page = self.password_step(who).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location(), "/account");
    }

    /// Applies and returns the registration page (QR code and key).
    pub async fn apply(&mut self, (_, _, trade): (&str, &str, &str)) -> Page {
        self.get("/apply").await;
        let page = self.post("/apply", &[("trade_password", trade)]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), "/apply/register");
        let page = self.get("/apply/register").await;
        assert_eq!(page.status, StatusCode::OK);
        page
    }

    /// Applies and confirms; returns the authenticator app.
    pub async fn enroll(&mut self, who: (&str, &str, &str), clock: &ManualClock) -> App {
        let page = self.apply(who).await;
        let app = App::scan(&page);
        self.get("/apply/confirm").await;
        let done = self
            .post("/apply/confirm", &[("code", &app.code(clock))])
            .await;
        assert_eq!(done.location(), "/apply/done", "{}", done.body);
        app
    }

    /// Applies, confirms and reads the recovery codes from サービス申込 -受付-; returns the
    /// authenticator app and the codes.
    pub async fn enroll_with_codes(
        &mut self,
        who: (&str, &str, &str),
        clock: &ManualClock,
    ) -> (App, Vec<String>) {
        let app = self.enroll(who, clock).await;
        let done = self.get("/apply/done").await;
        assert_eq!(done.status, StatusCode::OK);
        let codes = done.recovery_codes();
        assert_eq!(codes.len(), 10, "{}", done.body);
        (app, codes)
    }

    /// Password step, then `code` on the one-time password page; returns the answer (and
    /// on acceptance opens 登録情報照会, for the new session's token).
    pub async fn otp_login(&mut self, who: (&str, &str, &str), code: &str) -> Page {
        let page = self.password_step(who).await;
        assert_eq!(page.location(), "/login/otp", "{}", page.status);
        self.get("/login/otp").await;
        let answer = self.post("/login/otp", &[("code", code)]).await;
        if answer.location() == "/account" {
            self.get("/account").await;
        }
        answer
    }

    /// `own` mode: 別の端末を追加 named `name` with a current code of `existing` (and
    /// `trade`, the transaction password, when the portal asks for it); returns the new
    /// app's registration page.
    pub async fn add_device(&mut self, name: &str, code: &str, trade: Option<&str>) -> Page {
        let form = self.get("/devices/add").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let mut fields = vec![("name", name), ("code", code)];
        if let Some(trade) = trade {
            fields.push(("trade_password", trade));
        }
        let added = self.post("/devices/add", &fields).await;
        assert_eq!(added.location(), "/devices/register", "{}", added.body);
        let page = self.get("/devices/register").await;
        assert_eq!(page.status, StatusCode::OK);
        page
    }

    /// [`Self::add_device`], then its confirmation with the new app's first code; returns
    /// the new app.
    pub async fn add_and_confirm_device(
        &mut self,
        name: &str,
        existing: &App,
        clock: &ManualClock,
        trade: Option<&str>,
    ) -> App {
        let register = self.add_device(name, &existing.code(clock), trade).await;
        let added = App::scan(&register);
        let form = self.get("/devices/confirm").await;
        assert_eq!(form.status, StatusCode::OK);
        let id = form.attr_of("device-id", "value").unwrap();
        let confirmed = self
            .post(
                "/devices/confirm",
                &[("id", &id), ("code", &added.code(clock))],
            )
            .await;
        assert_eq!(confirmed.location(), "/account", "{}", confirmed.body);
        added
    }

    /// Password step, then a recovery code instead of the app's code; returns the answer to
    /// the recovery code.
    pub async fn recovery_login(&mut self, who: (&str, &str, &str), code: &str) -> Page {
        let page = self.password_step(who).await;
        assert_eq!(page.location(), "/login/otp");
        let form = self.get("/login/recovery").await;
        assert_eq!(form.status, StatusCode::OK);
        self.post("/login/recovery", &[("recovery_code", code)])
            .await
    }
}

/// The customer's authenticator app, set up from the key on the page.
pub struct App {
    totp: Totp,
}

impl App {
    pub fn scan(page: &Page) -> Self {
        Self::from_key(&page.copy_key())
    }

    /// The app set up with the unspaced setup key `key`.
    pub fn from_key(key: &str) -> Self {
        let secret = Secret::from_base32(key).unwrap();
        let policy = OtpPolicy::new(totp_enroll_portal::ISSUER).unwrap();
        Self {
            totp: Totp::new(&secret, &policy),
        }
    }

    /// The code the app shows now.
    pub fn code(&self, clock: &ManualClock) -> String {
        self.totp.code_at(clock.now().unwrap()).to_string()
    }

    /// The code an app whose clock is `seconds` ahead (negative: behind) shows now.
    pub fn code_off_by(&self, clock: &ManualClock, seconds: i64) -> String {
        let now = clock.now().unwrap().checked_add_signed(seconds).unwrap();
        self.totp.code_at(now).to_string()
    }

    /// The code as the app shows it, "123 456".
    pub fn grouped(&self, clock: &ManualClock) -> String {
        self.totp.code_at(clock.now().unwrap()).to_grouped()
    }
}

/// The Content-Security-Policy of every response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Asserts that `page` carries every security header of the portal (`what` names it in
/// the failure).
pub fn assert_security_headers(page: &Page, what: &str) {
    let h = &page.headers;
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        assert_eq!(
            h.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name} on {what} ({})",
            page.status
        );
    }
}

/// A wrong code: the right one with its first digit changed.
pub fn wrong(code: &str) -> String {
    let first = code.chars().next().unwrap();
    let other = if first == '9' {
        '0'
    } else {
        char::from(first as u8 + 1)
    };
    format!("{other}{}", &code[1..])
}
