//! The application: state, construction over a database, router and middleware
//! (request context, request log, body limit, security headers, sessions, CSRF).

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use totp_enroll::store::{PostgresStore, SqliteStore};
use totp_enroll::{Clock, Engine, EnginePolicy, KeyRing, OtpPolicy, SystemClock};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::config::{Database, SecondDeviceConfig};
use crate::csrf;
use crate::db::Db;
use crate::error::AppError;
use crate::notify::AuditTrail;
use crate::password::Passwords;
use crate::request_context::{self, RequestId};
use crate::routes;
use crate::session::{self, SessionConfig, SessionSettings, SessionStore};
use crate::store::PortalStore;
use crate::views;

/// The engine type of the portal.
pub type PortalEngine = Engine<PortalStore>;

/// Everything a handler needs, shared by all requests.
pub struct AppState {
    /// The enrollment engine (the customers').
    pub engine: Arc<PortalEngine>,
    /// The support desk's own engine: its accounts are the operators (`desk:<operator>`,
    /// [`crate::accounts`]), on the same store and key ring, issuer [`crate::DESK_ISSUER`].
    /// Its one-time password is the operators' second factor.
    pub desk_engine: Arc<PortalEngine>,
    /// The portal's tables.
    pub db: Db,
    /// The engine's audit outbox, delivered into the portal's tables (`notify.rs`).
    pub audit: Arc<AuditTrail>,
    /// Password hashing.
    pub passwords: Passwords,
    /// The clock (the engine's and the sessions').
    pub clock: Arc<dyn Clock>,
    /// Customers' sessions.
    pub sessions: Arc<SessionStore>,
    /// Support-desk operators' sessions.
    pub desk_sessions: Arc<SessionStore>,
    /// How a second device gets its codes (the engine's policy has the same).
    pub second_device: SecondDeviceConfig,
    /// Whether the demo mailbox is served (`/desk/mail`, to logged-in operators).
    pub demo_mailbox: bool,
}

impl core::fmt::Debug for AppState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AppState")
            .field("engine", &self.engine)
            .field("db", &self.db)
            .field("second_device", &self.second_device)
            .finish_non_exhaustive()
    }
}

/// The shared state as handlers receive it.
pub type SharedState = Arc<AppState>;

impl AppState {
    /// The current time (Unix seconds).
    pub fn now(&self) -> Result<u64, AppError> {
        self.clock
            .now()
            .map_err(|e| AppError::internal(format!("clock: {e}")))
    }
}

/// Construction settings that are not configuration from the environment: the hooks for
/// tests.
pub struct PortalOptions {
    /// The clock of the engine and the sessions (tests: a `ManualClock`).
    pub clock: Arc<dyn Clock>,
    /// argon2id parameters for new hashes (tests: the cheapest).
    pub password_params: argon2::Params,
    /// Whether cookies are `Secure` (and `__Host-` prefixed).
    pub secure_cookies: bool,
    /// Session lifetimes (`TOTP_PORTAL_SESSION_IDLE_SECONDS`, `…_MAX_SECONDS`) and bounds.
    pub sessions: SessionSettings,
    /// Whether to create the demo customers and operator if missing.
    pub seed_demo_data: bool,
    /// The engine's policy (its second-device settings are replaced by `second_device`).
    pub engine_policy: EnginePolicy,
    /// How a second device gets its codes (`TOTP_PORTAL_SECOND_DEVICE`, `…_STEP_UP`).
    pub second_device: SecondDeviceConfig,
    /// Whether to serve the demo mailbox at `/desk/mail`, to logged-in operators only
    /// (`TOTP_PORTAL_DEMO_MAILBOX`; off: no such route, a 404).
    pub demo_mailbox: bool,
}

impl core::fmt::Debug for PortalOptions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PortalOptions")
            .field("secure_cookies", &self.secure_cookies)
            .field("sessions", &self.sessions)
            .field("seed_demo_data", &self.seed_demo_data)
            .field("second_device", &self.second_device)
            .field("demo_mailbox", &self.demo_mailbox)
            .finish_non_exhaustive()
    }
}

impl PortalOptions {
    /// The system clock, recommended argon2id parameters, demo data, the seed portal's
    /// engine policy.
    pub fn production(secure_cookies: bool) -> Result<Self, AppError> {
        Ok(Self {
            clock: Arc::new(SystemClock),
            password_params: Passwords::recommended_params(),
            secure_cookies,
            sessions: SessionSettings::default(),
            seed_demo_data: true,
            engine_policy: default_policy()?,
            second_device: SecondDeviceConfig::default(),
            demo_mailbox: false,
        })
    }

    /// For tests: `clock`, the cheapest argon2id parameters, demo data.
    pub fn for_tests(clock: Arc<dyn Clock>) -> Result<Self, AppError> {
        Ok(Self {
            clock,
            password_params: Passwords::test_params()?,
            secure_cookies: false,
            sessions: SessionSettings::default(),
            seed_demo_data: true,
            engine_policy: default_policy()?,
            second_device: SecondDeviceConfig::default(),
            demo_mailbox: false,
        })
    }
}

/// The seed portal's policy: issuer 北洋証券オンラインサービス, SHA-1, 6 digits, 30 s;
/// logins decide from the engine's own last write and write directly (one database round
/// trip; another instance's write in between is caught by the conditional write).
pub fn default_policy() -> Result<EnginePolicy, AppError> {
    let otp =
        OtpPolicy::new(crate::ISSUER).map_err(|e| AppError::internal(format!("policy: {e}")))?;
    Ok(EnginePolicy::new(otp).with_held_records(true))
}

/// The desk engine's policy: issuer [`crate::DESK_ISSUER`], otherwise the customers'
/// (SHA-1, 6 digits, 30 s, the engine's throttle: a backoff from the 3rd consecutive wrong
/// code, locked at the 10th; the portal locks the operator at its 5th failure of either
/// factor before that).
pub fn desk_policy() -> Result<EnginePolicy, AppError> {
    let otp = OtpPolicy::new(crate::DESK_ISSUER)
        .map_err(|e| AppError::internal(format!("desk policy: {e}")))?;
    Ok(EnginePolicy::new(otp).with_held_records(true))
}

/// Why the portal could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The enrollment store could not be opened.
    #[error("opening the enrollment store: {0}")]
    Store(#[from] totp_enroll::error::StoreError),
    /// The portal's migrations failed.
    #[error("migrating the portal tables: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Anything else.
    #[error("{0}")]
    App(#[from] AppError),
}

/// A built portal: the router to serve and its state.
#[derive(Debug, Clone)]
pub struct Portal {
    /// The application.
    pub router: Router,
    /// Its state (tests read the session stores and the engine).
    pub state: SharedState,
    /// Whether demo data was created at this start.
    pub seeded: bool,
}

/// Opens `database` (creating tables, and demo data when asked), builds the engine with
/// `keys`, and the router.
pub async fn build(
    database: &Database,
    keys: KeyRing,
    options: PortalOptions,
) -> Result<Portal, StartError> {
    let (store, db) = match database {
        Database::Sqlite(url) => {
            let store = SqliteStore::connect(url).await?;
            let db = Db::Sqlite(store.pool().clone());
            (PortalStore::Sqlite(store), db)
        }
        Database::Postgres(url) => {
            let store = PostgresStore::connect(url).await?;
            let db = Db::Postgres(store.pool().clone());
            (PortalStore::Postgres(store), db)
        }
    };
    db.migrate().await?;
    let passwords = Passwords::new(options.password_params)?;
    let seeded = if options.seed_demo_data {
        db.seed_demo(&passwords).await?
    } else {
        false
    };
    // The durable trail: the engine writes its events into the store's outbox, the trail
    // delivers them (no in-process `AuditSink`: nothing here needs one).
    let audit = Arc::new(AuditTrail::new(store.clone(), db.clone()));
    let policy = options.second_device.apply(options.engine_policy);
    let desk_engine = Engine::new(store.clone(), keys.clone(), desk_policy()?)
        .map_err(AppError::from)?
        .with_clock(options.clock.clone());
    let engine = Engine::new(store, keys, policy)
        .map_err(AppError::from)?
        .with_clock(options.clock.clone());
    let state = Arc::new(AppState {
        engine: Arc::new(engine),
        desk_engine: Arc::new(desk_engine),
        db,
        audit,
        passwords,
        clock: options.clock.clone(),
        sessions: Arc::new(SessionStore::new(
            SessionConfig::customer(options.secure_cookies, options.sessions),
            options.clock.clone(),
        )),
        desk_sessions: Arc::new(SessionStore::new(
            SessionConfig::desk(options.secure_cookies, options.sessions),
            options.clock,
        )),
        second_device: options.second_device,
        demo_mailbox: options.demo_mailbox,
    });
    Ok(Portal {
        router: router(state.clone()),
        state,
        seeded,
    })
}

/// The Content-Security-Policy of every response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The router over `state`.
pub fn router(state: SharedState) -> Router {
    let pages = Router::new()
        .route("/", get(root))
        .route(
            "/login",
            get(routes::login::form).post(routes::login::submit),
        )
        .route(
            "/login/otp",
            get(routes::login::otp_form).post(routes::login::otp_submit),
        )
        .route(
            "/login/recovery",
            get(routes::login::recovery_form).post(routes::login::recovery_submit),
        )
        .route("/logout", post(routes::login::logout))
        .route("/account", get(routes::account::show))
        .route(
            "/apply",
            get(routes::apply::form).post(routes::apply::submit),
        )
        .route("/apply/register", get(routes::apply::register))
        .route(
            "/apply/confirm",
            get(routes::apply::confirm_form).post(routes::apply::confirm_submit),
        )
        .route(
            "/apply/done",
            get(routes::apply::done).post(routes::apply::done_submit),
        )
        .route(
            "/redisplay",
            get(routes::redisplay::form).post(routes::redisplay::submit),
        )
        .route(
            "/redisplay/show",
            get(routes::redisplay::show).post(routes::redisplay::show_submit),
        )
        .route(
            "/devices/add",
            get(routes::devices::add_form).post(routes::devices::add_submit),
        )
        .route("/devices/register", get(routes::devices::register))
        .route(
            "/devices/confirm",
            get(routes::devices::confirm_form).post(routes::devices::confirm_submit),
        )
        .route(
            "/devices/remove",
            get(routes::devices::remove_form).post(routes::devices::remove_submit),
        )
        .route(
            "/recovery-codes",
            get(routes::recovery::form).post(routes::recovery::submit),
        )
        .route(
            "/recovery-codes/show",
            get(routes::recovery::show).post(routes::recovery::show_submit),
        )
        .route("/stop", get(routes::stop::form).post(routes::stop::submit))
        .route("/stop/done", get(routes::stop::done))
        .route(
            "/stop/lost",
            get(routes::stop::lost_form).post(routes::stop::lost_submit),
        )
        .route("/desk", get(routes::desk::show))
        .route("/desk/login", post(routes::desk::login::login))
        .route(
            "/desk/otp",
            get(routes::desk::login::otp_form).post(routes::desk::login::otp_submit),
        )
        .route(
            "/desk/enroll",
            get(routes::desk::enroll::form).post(routes::desk::enroll::submit),
        )
        .route("/desk/logout", post(routes::desk::login::logout))
        .route("/desk/operators", get(routes::desk::operators::show))
        .route(
            "/desk/operators/unlock",
            post(routes::desk::operators::unlock),
        )
        .route(
            "/desk/operators/reset",
            post(routes::desk::operators::reset),
        )
        .route("/desk/diagnose", post(routes::desk::diagnose))
        .route("/desk/unlock", post(routes::desk::unlock))
        .route("/desk/resync", post(routes::desk::resync))
        .route("/desk/reset", post(routes::desk::reset))
        .route("/desk/forget", post(routes::desk::forget))
        .route(
            "/desk/remove-authenticator",
            post(routes::desk::remove_authenticator),
        )
        .fallback(not_found);
    // The demo mailbox holds every customer's name, address and security events: only
    // when enabled, and then behind the desk's login (`routes::mail`).
    let pages = if state.demo_mailbox {
        pages.route("/desk/mail", get(routes::mail::show))
    } else {
        pages
    };
    let pages = pages
        // Inner first: CSRF needs the session that `attach` puts in the request.
        .layer(middleware::from_fn(csrf::verify))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::attach,
        ));
    Router::new()
        .route("/static/app.js", get(app_js))
        .route("/static/app.css", get(app_css))
        .merge(pages)
        .layer(DefaultBodyLimit::max(csrf::BODY_LIMIT))
        .layer(RequestBodyLimitLayer::new(csrf::BODY_LIMIT))
        // The body limit's bare 413 becomes the Japanese page.
        .layer(middleware::map_response(too_large_page))
        .layer(CatchPanicLayer::custom(panicked))
        // Outside every layer that may answer by itself (body limit, CSRF, sessions, a
        // panic, the fallback, 405): every response carries the headers.
        .layer(middleware::from_fn(security_headers))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    // Method, path and request id only: no query, no headers (cookies), no
                    // body.
                    let id = request.extensions().get::<RequestId>();
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = id.map_or("-", |id| id.0.as_str()),
                    )
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        // Outermost: the context (and its id) covers the log span and every layer inside.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_context::attach,
        ))
        .with_state(state)
}

async fn root(
    axum::extract::Extension(session): axum::extract::Extension<session::Session>,
) -> Redirect {
    if session.data().customer.is_some() {
        Redirect::to("/account")
    } else {
        Redirect::to("/login")
    }
}

async fn not_found() -> Response {
    views::message_page(
        StatusCode::NOT_FOUND,
        "ページが見つかりません",
        "お探しのページは見つかりませんでした。",
    )
}

/// The page of a request body over [`csrf::BODY_LIMIT`] (the body limit layer answers
/// with a bare 413 before any handler).
async fn too_large_page(response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        csrf::too_large()
    } else {
        response
    }
}

/// A panic (none is expected: the lints forbid `unwrap`, `expect` and `panic!`) is the
/// generic server-fault page, with the security headers like every response.
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    AppError::internal("panic").into_response()
}

/// Headers on every response: strict CSP, no caching (pages show QR codes, keys and
/// recovery codes), no sniffing, no referrer, no framing.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn app_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../static/app.js"),
    )
        .into_response()
}

async fn app_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../static/app.css"),
    )
        .into_response()
}
