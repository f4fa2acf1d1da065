//! The portal under test, in-process: built by `app::build` over a fresh SQLite data
//! directory, served by axum on a random 127.0.0.1 port, with a manual clock the test moves
//! (so a fresh 30 s step never costs real waiting) and everything it logs captured.

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use totp_enroll::{Clock as _, ManualClock, otp::Totp, provision::KeyUri};
use totp_enroll_portal::app::{self, PortalOptions};
use totp_enroll_portal::config::{self, Database};

use super::harness;

/// Everything the portal's tracing subscriber wrote during the test binary's life.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// The captured text so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut sink) = self.0.lock() {
            sink.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once per test binary) a global tracing subscriber that records every event of
/// the portal and the library at TRACE and of everything else on the server's side (axum,
/// tower-http, sqlx) at DEBUG: stricter than any production filter, so a secret logged at
/// any of those levels is caught.
pub fn capture_logs() -> Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let sink = logs.0.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                // The test's own WebDriver client (fantoccini over hyper-util) is not the
                // portal: its connection-pool chatter stays out.
                "debug,hyper_util=info,hyper=info,fantoccini=info,\
                 totp_enroll=trace,totp_enroll_portal=trace",
            ))
            .with_ansi(false)
            // No timestamps: their digits could look like a six-digit code.
            .without_time()
            .with_writer(move || LogWriter(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global tracing subscriber in this test binary");
        logs
    })
    .clone()
}

/// A running portal.
pub struct Portal {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The clock of the engine and the sessions.
    pub clock: Arc<ManualClock>,
    data: PathBuf,
    server: tokio::task::JoinHandle<()>,
}

impl Portal {
    /// Builds the portal over a fresh data directory (demo customers seeded) and serves it.
    /// The clock starts at the real current time.
    pub async fn start() -> Self {
        Self::start_with(config::SecondDeviceConfig::default()).await
    }

    /// [`Self::start`] with the second-device settings (`TOTP_PORTAL_SECOND_DEVICE`, …).
    pub async fn start_with(second_device: config::SecondDeviceConfig) -> Self {
        let data = harness::fresh_dir("portal-data");
        let database = Database::Sqlite(
            data.join(config::SQLITE_FILE)
                .to_str()
                .expect("a UTF-8 temporary path")
                .to_owned(),
        );
        let (keys, _origin) =
            config::load_key_ring(None, &data).expect("a generated sealing key ring");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let clock = Arc::new(ManualClock::new(
            i64::try_from(now).expect("a current Unix time"),
        ));
        let mut options = PortalOptions::for_tests(clock.clone()).expect("test options");
        options.second_device = second_device;
        let portal = app::build(&database, keys, options)
            .await
            .expect("build the portal");
        assert!(
            portal.seeded,
            "a fresh data directory gets the demo customers"
        );
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind the portal's port");
        let addr = listener.local_addr().expect("the portal's address");
        // As `main.rs` serves it: with the peer address for the request context.
        let app = portal
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                let _ = writeln!(std::io::stderr(), "the portal's server stopped: {e}");
            }
        });
        Self {
            base: format!("http://{addr}"),
            clock,
            data,
            server,
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The portal's current time.
    pub fn now(&self) -> u64 {
        self.clock.now().expect("the manual clock reads after 1970")
    }

    /// Moves the portal's time forward.
    pub fn advance(&self, seconds: u64) {
        self.clock
            .advance(i64::try_from(seconds).expect("a short advance"));
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// The authenticator app of a phone that scanned a QR code: codes from the decoded URI only,
/// at the portal's time, never two from the same 30 s step (the portal refuses a step it has
/// accepted once, RFC 6238 §5.2).
pub struct Phone {
    totp: Totp,
    period: u64,
    last_step: Option<u64>,
    /// Every code this phone produced, for the log check.
    pub typed: Vec<String>,
}

impl Phone {
    /// The app after scanning `uri`.
    pub fn scan(uri: &KeyUri) -> Self {
        let totp = Totp::new(uri.secret(), uri.policy());
        let period = u64::from(totp.period());
        Self {
            totp,
            period,
            last_step: None,
            typed: Vec::new(),
        }
    }

    /// The app set up by typing the unspaced setup key `key` (the desk's enrollment: the
    /// key of `#copy-key`), under the portal's OTP settings.
    pub fn from_setup_key(key: &str) -> Self {
        let secret = totp_enroll::otp::Secret::from_base32(key).expect("a base32 setup key");
        let policy =
            totp_enroll::OtpPolicy::new(totp_enroll_portal::DESK_ISSUER).expect("a policy");
        let totp = Totp::new(&secret, &policy);
        let period = u64::from(totp.period());
        Self {
            totp,
            period,
            last_step: None,
            typed: Vec::new(),
        }
    }

    /// The code the app shows now, as it shows it (`123 456`), after moving the portal's
    /// clock to the next step if this step's code was already used or fewer than 3 s of the
    /// step remain (no race with a step boundary).
    pub fn fresh_code(&mut self, portal: &Portal) -> String {
        let mut now = portal.now();
        let step = self.totp.step_at(now);
        let remaining = self.period - now % self.period;
        if self.last_step.is_some_and(|last| step <= last) || remaining < 3 {
            let next = self.last_step.map_or(step, |last| last.max(step)) + 1;
            let start = self.totp.step_start(next).expect("a representable step");
            portal.advance(start + 1 - now);
            now = portal.now();
        }
        let step = self.totp.step_at(now);
        self.last_step = Some(step);
        let code = self.totp.code_at(now).to_grouped();
        self.typed.push(code.replace(' ', ""));
        code
    }

    /// The code of the step used last (a replay attempt).
    pub fn last_code(&self) -> String {
        let step = self.last_step.expect("a code was used");
        self.totp.code_at_step(step).to_string()
    }

    /// Six digits that are none of the codes the window around now accepts.
    pub fn wrong_code(&mut self, portal: &Portal) -> String {
        let step = self.totp.step_at(portal.now());
        let valid: Vec<String> = (step.saturating_sub(1)..=step + 1)
            .map(|s| self.totp.code_at_step(s).to_string())
            .collect();
        let mut candidate = self.totp.code_at_step(step).to_string();
        while valid.contains(&candidate) {
            let n: u32 = candidate.parse().expect("digits");
            candidate = format!("{:06}", (n + 1) % 1_000_000);
        }
        self.typed.push(candidate.clone());
        candidate
    }
}
