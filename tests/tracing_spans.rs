//! The `tracing` feature: one span per engine call with its operation, account (or the
//! portal's pseudonym of it), outcome and duration, and never a code, a secret or a key.
//!
//! Each test runs a whole lifecycle (begin, a wrong confirmation, confirm, login, a replayed
//! login, re-display, stop, a login after stopping, support-desk reset) through a
//! `MemoryStore` engine on a `ManualClock`, captures everything a `fmt` subscriber writes
//! at `TRACE` level (events, and span creation and close), and reads it back.
#![cfg(feature = "tracing")]
#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use std::io;
use std::sync::{Arc, Mutex};

use totp_enroll::testing::{Fault, FaultyStore};
use totp_enroll::{
    AccountId, Engine, EnginePolicy, KeyRing, Login, ManualClock, MemoryStore, Operator, OtpPolicy,
    StepUp, error::EngineError, error::Refusal, lifecycle::ThrottlePolicy, otp::Totp,
    provision::KeyUri,
};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

const START: i64 = 1_764_000_000;
const ACCOUNT: &str = "customer-4711";
const SEALING_KEY: [u8; 32] = [
    0x3a, 0x91, 0x5c, 0x07, 0xe2, 0x4f, 0xb8, 0x16, 0xd3, 0x6e, 0x29, 0xa4, 0x71, 0x0b, 0xc8, 0x5f,
    0x92, 0x3d, 0xe6, 0x48, 0x1a, 0xb7, 0x64, 0xf0, 0x2c, 0x85, 0xdb, 0x13, 0x7e, 0xa9, 0x56, 0xcf,
];

/// The tests of this file run one at a time: each installs its own thread-local subscriber,
/// and `tracing` caches whether a callsite is enabled when it is first hit; a callsite first
/// hit on one thread while another thread installs its subscriber could be cached as
/// disabled for the latter.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Everything the fmt subscriber wrote.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8(bytes).expect("fmt output is UTF-8")
    }
}

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// What the customer typed and what was provisioned during the lifecycle: none of it may
/// appear in the trace.
#[derive(Default)]
struct Typed {
    codes: Vec<String>,
    secrets: Vec<String>,
}

/// Runs the whole lifecycle, asserting each verdict, and returns what must stay secret.
async fn lifecycle(engine: &Engine<MemoryStore>, clock: &ManualClock) -> Typed {
    let account = AccountId::new(ACCOUNT).expect("valid account id");
    let mut typed = Typed::default();
    let now = || totp_enroll::Clock::now(clock).expect("clock");

    assert_eq!(
        engine
            .status(&account)
            .await
            .expect("status")
            .portal_label(),
        "未登録"
    );
    let step_up = StepUp::transaction_password_verified(&account, now());
    let screen = engine
        .begin(
            &account,
            &totp_enroll::AccountLabel::new(ACCOUNT).expect("valid label"),
            &step_up,
        )
        .await
        .expect("begin");
    let key = KeyUri::parse(&screen.uri()).expect("the screen's key URI parses");
    let app = Totp::new(key.secret(), key.policy());
    typed.secrets.push(key.secret().to_base32().to_string());
    typed.secrets.push(screen.reveal_setup_key().to_string());
    typed
        .secrets
        .push(screen.reveal_setup_key_for_copy().to_string());
    typed.secrets.push(hex(key.secret().expose_secret_bytes()));
    typed.secrets.push(screen.uri().to_string());

    let wrong = wrong_code(&app, now());
    typed.codes.push(wrong.clone());
    assert!(matches!(
        engine.confirm(&account, &wrong).await,
        Err(EngineError::Refused(Refusal::WrongCode))
    ));

    let first = app.code_at(now()).to_grouped();
    typed.codes.push(first.clone());
    engine.confirm(&account, &first).await.expect("confirm");
    assert_eq!(
        engine
            .status(&account)
            .await
            .expect("status")
            .portal_label(),
        "利用中"
    );

    clock.advance(30);
    let login = app.code_at(now()).to_string();
    typed.codes.push(login.clone());
    assert!(matches!(
        engine.verify_login(&account, &login).await,
        Ok(Login::Verified(_))
    ));
    assert!(matches!(
        engine.verify_login(&account, &login).await,
        Err(EngineError::Refused(Refusal::Replayed))
    ));

    clock.advance(30);
    let again = app.code_at(now()).to_grouped();
    typed.codes.push(again.clone());
    engine.redisplay(&account, &again).await.expect("redisplay");

    clock.advance(30);
    let stop = app.code_at(now()).to_string();
    typed.codes.push(stop.clone());
    engine.stop(&account, &stop).await.expect("stop");
    assert_eq!(
        engine
            .verify_login(&account, "")
            .await
            .expect("login after stop"),
        Login::NotRequired
    );

    let operator = Operator::new("support-desk-07").expect("valid operator");
    engine
        .desk_reset(&account, &operator, "lost phone, identity checked")
        .await
        .expect("admin reset");

    // Every code also in its grouped and plain forms.
    typed.codes = typed
        .codes
        .iter()
        .flat_map(|c| {
            let plain: String = c.chars().filter(char::is_ascii_digit).collect();
            let grouped = format!("{} {}", &plain[..3], &plain[3..]);
            [plain, grouped]
        })
        .collect();
    typed
}

/// A code that is wrong at `now`: the right one plus one, unless that is a code of the
/// window.
fn wrong_code(app: &Totp, now: u64) -> String {
    let window: Vec<u32> = [now - 30, now, now + 30]
        .iter()
        .map(|t| app.code_at(*t).to_string().parse().expect("digits"))
        .collect();
    (1..)
        .map(|d| (window[1] + d) % 1_000_000)
        .find(|c| !window.contains(c))
        .map(|c| format!("{c:06}"))
        .expect("a code outside the window")
}

/// The (operation, outcome) of each call, in the order the lifecycle makes them.
const EXPECTED: &[(&str, &str)] = &[
    ("status", "not_registered"),
    ("begin", "started"),
    ("confirm", "refused.wrong_code"),
    ("confirm", "confirmed"),
    ("status", "active"),
    ("verify_login", "verified"),
    ("verify_login", "refused.replayed"),
    ("redisplay", "redisplayed"),
    ("stop", "stopped"),
    ("verify_login", "not_required"),
    ("desk_reset", "reset"),
];

/// The value of `name=` in a fmt line: a quoted string or a bare token.
fn field<'l>(line: &'l str, name: &str) -> Option<&'l str> {
    let pattern = format!("{name}=");
    let at = line
        .match_indices(&pattern)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || !line[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))?;
    let rest = &line[at + pattern.len()..];
    if let Some(quoted) = rest.strip_prefix('"') {
        quoted.split('"').next()
    } else {
        rest.split([' ', '}', ':']).next()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// The portal's pseudonym of an account: FNV-1a of the id here; a portal would use a keyed
/// hash.
fn pseudonym_of(account: &AccountId) -> String {
    let hash = account
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    format!("acct-{hash:016x}")
}

fn engine(clock: &Arc<ManualClock>) -> Engine<MemoryStore> {
    let policy = EnginePolicy::new(OtpPolicy::new("Example Securities").expect("policy"));
    Engine::new(MemoryStore::new(), KeyRing::new(7, SEALING_KEY), policy)
        .expect("engine")
        .with_clock(clock.clone())
}

/// Captures everything the current thread traces until the guard is dropped.
fn capture() -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let guard = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        // Plain text: colour codes (on when a workspace build enables `ansi`) would split it.
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
        .without_time()
        .finish()
        .set_default();
    (capture, guard)
}

/// Runs the lifecycle under a capturing subscriber.
async fn traced_lifecycle(engine: &Engine<MemoryStore>, clock: &ManualClock) -> (String, Typed) {
    let (capture, _default) = capture();
    let typed = lifecycle(engine, clock).await;
    (capture.text(), typed)
}

fn completions(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|l| l.contains("engine call completed"))
        .collect()
}

#[tokio::test]
async fn every_engine_call_has_one_span_with_its_operation_outcome_and_duration() {
    let _serial = SERIAL.lock().await;
    let clock = Arc::new(ManualClock::new(START));
    let (output, _) = traced_lifecycle(&engine(&clock), &clock).await;

    let expected = EXPECTED.to_vec();
    let seen: Vec<(&str, &str)> = completions(&output)
        .iter()
        .map(|line| {
            (
                field(line, "operation").unwrap_or("<no operation>"),
                field(line, "outcome").unwrap_or("<no outcome>"),
            )
        })
        .collect();
    assert_eq!(
        seen, expected,
        "completion events of the lifecycle:\n{output}"
    );

    for line in completions(&output) {
        assert!(
            line.contains("totp_enroll.engine{"),
            "not inside the engine span: {line}"
        );
        assert_eq!(field(line, "account"), Some(ACCOUNT), "{line}");
        let duration = field(line, "duration_us").unwrap_or("");
        assert!(
            duration.parse::<u64>().is_ok(),
            "duration_us is not a number: {line}"
        );
    }
    // One span per call: as many spans opened and closed as there were calls.
    let opened = output
        .lines()
        .filter(|l| l.contains("totp_enroll.engine{") && l.ends_with(": new"))
        .count();
    let closed = output
        .lines()
        .filter(|l| l.contains("totp_enroll.engine{") && l.ends_with(": close"))
        .count();
    assert_eq!(
        (opened, closed),
        (expected.len(), expected.len()),
        "{output}"
    );
    // Refusals of what the customer typed are INFO, not errors.
    assert!(
        output
            .lines()
            .filter(|l| l.contains("engine call completed"))
            .all(|l| l.trim_start().starts_with("INFO")),
        "{output}"
    );
}

#[tokio::test]
async fn the_trace_holds_no_code_secret_setup_key_or_sealing_key() {
    let _serial = SERIAL.lock().await;
    let clock = Arc::new(ManualClock::new(START));
    let (output, typed) = traced_lifecycle(&engine(&clock), &clock).await;
    assert_eq!(completions(&output).len(), EXPECTED.len(), "{output}");

    let lower = output.to_lowercase();
    for code in &typed.codes {
        assert!(
            !output.contains(code.as_str()),
            "typed code {code:?} in the trace:\n{output}"
        );
    }
    for secret in &typed.secrets {
        let secret = secret.to_lowercase();
        assert!(
            !lower.contains(&secret),
            "secret material {secret:?} in the trace:\n{output}"
        );
        let unspaced: String = secret
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        assert!(
            !lower.contains(&unspaced),
            "secret material {unspaced:?} in the trace"
        );
    }
    for key in [hex(&SEALING_KEY), base64(&SEALING_KEY)] {
        let key = key.to_lowercase();
        assert!(!lower.contains(&key), "sealing key {key:?} in the trace");
        // Not even its first 8 bytes' worth.
        assert!(
            !lower.contains(&key[..12]),
            "sealing key prefix in the trace"
        );
    }
    for fragment in ["otpauth://", "secret=", "code=", "reason=", "lost phone"] {
        assert!(
            !lower.contains(fragment),
            "{fragment:?} in the trace:\n{output}"
        );
    }
}

#[tokio::test]
async fn a_pseudonym_function_replaces_the_account_everywhere() {
    let _serial = SERIAL.lock().await;
    let clock = Arc::new(ManualClock::new(START));
    let calls = Arc::new(Mutex::new(0usize));
    let counted = calls.clone();
    let engine = engine(&clock).with_account_pseudonym(Arc::new(move |account: &AccountId| {
        if let Ok(mut n) = counted.lock() {
            *n += 1;
        }
        pseudonym_of(account)
    }));
    let (output, _) = traced_lifecycle(&engine, &clock).await;

    let account = AccountId::new(ACCOUNT).expect("valid account id");
    let pseudonym = pseudonym_of(&account);
    assert_ne!(pseudonym, ACCOUNT);
    assert!(
        !output.contains(ACCOUNT),
        "the account id is in the trace:\n{output}"
    );
    assert!(
        !output.contains("4711"),
        "part of the account id is in the trace:\n{output}"
    );
    let lines = completions(&output);
    assert_eq!(lines.len(), EXPECTED.len(), "{output}");
    for line in lines {
        assert_eq!(field(line, "account"), Some(pseudonym.as_str()), "{line}");
    }
    assert_eq!(
        calls.lock().map(|n| *n).unwrap_or(0),
        EXPECTED.len(),
        "called once per span"
    );
}

#[tokio::test]
async fn without_a_subscriber_the_pseudonym_function_is_not_called() {
    let _serial = SERIAL.lock().await;
    let clock = Arc::new(ManualClock::new(START));
    let calls = Arc::new(Mutex::new(0usize));
    let counted = calls.clone();
    let engine = engine(&clock).with_account_pseudonym(Arc::new(move |_: &AccountId| {
        if let Ok(mut n) = counted.lock() {
            *n += 1;
        }
        String::from("pseudonym")
    }));
    let _none = tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());
    let _ = lifecycle(&engine, &clock).await;
    assert_eq!(calls.lock().map(|n| *n).unwrap_or(usize::MAX), 0);
}

#[tokio::test]
async fn throttled_and_locked_calls_are_warnings_and_store_failures_errors() {
    let _serial = SERIAL.lock().await;
    let clock = Arc::new(ManualClock::new(START));
    // A backoff from the 2nd consecutive failure, a lock at the 3rd.
    let throttle = ThrottlePolicy::new(2, 30, 30, 3).expect("throttle policy");
    let policy = EnginePolicy::new(OtpPolicy::new("Example Securities").expect("policy"))
        .with_throttle(throttle);
    let engine = Engine::new(
        FaultyStore::new(MemoryStore::new()),
        KeyRing::new(7, SEALING_KEY),
        policy,
    )
    .expect("engine")
    .with_clock(clock.clone());
    let account = AccountId::new(ACCOUNT).expect("valid account id");
    let now = || totp_enroll::Clock::now(clock.as_ref()).expect("clock");

    let (capture, _default) = capture();
    let step_up = StepUp::transaction_password_verified(&account, now());
    let screen = engine
        .begin(
            &account,
            &totp_enroll::AccountLabel::new(ACCOUNT).expect("valid label"),
            &step_up,
        )
        .await
        .expect("begin");
    let key = KeyUri::parse(&screen.uri()).expect("key URI");
    let app = Totp::new(key.secret(), key.policy());
    for _ in 0..3 {
        let _ = engine.confirm(&account, &wrong_code(&app, now())).await;
    }
    clock.advance(31);
    for _ in 0..2 {
        let _ = engine.confirm(&account, &wrong_code(&app, now())).await;
    }
    engine.store().set_fault(Fault::Load);
    assert!(engine.status(&account).await.is_err());

    let output = capture.text();
    let seen: Vec<(&str, &str, &str)> = completions(&output)
        .iter()
        .map(|line| {
            (
                line.split_whitespace().next().unwrap_or(""),
                field(line, "operation").unwrap_or("<no operation>"),
                field(line, "outcome").unwrap_or("<no outcome>"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("INFO", "begin", "started"),
            ("INFO", "confirm", "refused.wrong_code"),
            ("WARN", "confirm", "refused.wrong_code.throttled"),
            ("WARN", "confirm", "throttled"),
            ("WARN", "confirm", "refused.wrong_code.locked"),
            ("WARN", "confirm", "locked"),
            ("ERROR", "status", "error.store"),
        ],
        "{output}"
    );
}
