//! Real-browser end-to-end tests: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) driven over chromedriver with fantoccini.
//!
//! * A QR code rendered by the library and shown by Chromium decodes back, from the
//!   screenshot's pixels, to the exact URI.
//! * The seed manual's walk through the portal, screen by screen, as a customer with a
//!   phone would do it (see `the_manuals_walk_through_the_portal`).
//! * In `own` mode, a second app added with its own QR code, read from the screen
//!   (`in_own_mode_a_tablet_is_added_with_its_own_qr_code`).
//!
//! Without Chromium the tests print that they were SKIPPED and pass, except under `CI=true`.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

#[path = "browser/harness.rs"]
mod harness;
#[path = "browser/portal.rs"]
mod portal;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Instant;

use harness::Browser;
use portal::{Phone, Portal};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use totp_enroll::{
    Locale, OtpPolicy, error::Refusal, lifecycle::ThrottlePolicy, otp::Algorithm, otp::Secret,
    otp::Totp, provision::KeyUri, provision::QrCode,
};

/// Serves `pages` (`path`, optional Content-Security-Policy, HTML) on a fresh 127.0.0.1
/// port until the runtime ends; any other path is a 404.
async fn serve_pages(pages: Vec<(&'static str, Option<&'static str>, String)>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind a page server");
    let addr = listener.local_addr().expect("page server address");
    let pages = std::sync::Arc::new(pages);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let pages = pages.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let page = pages
                    .iter()
                    .find(|(path, _, _)| request.starts_with(format!("GET {path} ").as_bytes()));
                let (status, csp, body) = match page {
                    Some((_, csp, html)) => ("200 OK", *csp, html.as_str()),
                    None => ("404 Not Found", None, ""),
                };
                let csp = csp
                    .map(|policy| format!("Content-Security-Policy: {policy}\r\n"))
                    .unwrap_or_default();
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n{csp}\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

/// A QR code of a key URI (Japanese issuer, generated secret), rendered by the library as
/// SVG, inline and as an `<img>` data URL, shown by Chromium at its intrinsic size and
/// enlarged by CSS: each screenshot decodes back to the exact URI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_qr_shown_by_chromium_decodes_to_the_exact_uri() {
    let Some(browser) = harness::Browser::start("library QR in Chromium").await else {
        return;
    };
    let policy = OtpPolicy::new("北洋証券オンラインサービス").expect("policy");
    let key_uri = KeyUri::new(
        Secret::generate().expect("secret"),
        "0123-456789 山田 太郎",
        &policy,
    )
    .expect("key URI");
    let uri = key_uri.to_uri().to_string();
    let qr = QrCode::new(&uri).expect("QR code");
    let svg = qr.to_svg();
    let inline_svg = svg
        .split_once("?>")
        .map_or(svg.as_str(), |(_, rest)| rest.trim_start());
    let html = format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>QR</title>\
         <style>body{{margin:24px;background:#f4f1ea}} .big img{{width:400px;height:400px}}</style>\
         </head><body>\
         <div id=\"inline\" style=\"display:inline-block\">{inline_svg}</div>\
         <div id=\"img\" style=\"display:inline-block\"><img alt=\"QR\" src=\"{}\"></div>\
         <div id=\"big\" class=\"big\" style=\"display:inline-block\"><img alt=\"QR\" src=\"{}\"></div>\
         </body></html>",
        qr.to_data_url().as_str(),
        qr.to_data_url().as_str(),
    );
    let addr = serve_pages(vec![("/", None, html)]).await;
    browser
        .client
        .goto(&format!("http://{addr}/"))
        .await
        .expect("open the page");
    for css in ["#inline svg", "#img img", "#big img"] {
        let decoded = browser.read_qr(css).await;
        assert!(
            decoded == uri,
            "the QR in `{css}` decoded to a different text than the URI it encodes"
        );
        let parsed = KeyUri::parse(&decoded).expect("the decoded URI parses");
        assert!(parsed.secret() == key_uri.secret(), "same secret");
        assert_eq!(parsed.issuer(), "北洋証券オンラインサービス");
    }
    browser.save_screenshot("library-qr").await;
    browser.assert_no_console_errors("the library's QR page");
    browser.close().await;
}

/// The console check the walk relies on sees what it must: an uncaught script error, an
/// inline script refused by a Content-Security-Policy, a missing script file; and nothing on
/// a clean page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_check_sees_script_errors_and_csp_refusals() {
    let Some(browser) = Browser::start("console check").await else {
        return;
    };
    let page = |body: &str| {
        format!(
            "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>t</title>\
             </head><body><p id=\"p\">ok</p>{body}</body></html>"
        )
    };
    let addr = serve_pages(vec![
        ("/clean", Some("default-src 'none'"), page("")),
        (
            "/throws",
            None,
            page("<script>throw new Error('deliberate');</script>"),
        ),
        (
            "/csp",
            Some("default-src 'none'; script-src 'self'"),
            page("<script>document.title = 'ran';</script>"),
        ),
        (
            "/missing",
            None,
            page("<script src=\"/nowhere.js\"></script>"),
        ),
    ])
    .await;
    for (path, expect_error) in [
        ("/clean", false),
        ("/throws", true),
        ("/csp", true),
        ("/missing", true),
        ("/clean", false),
    ] {
        browser.open(&format!("http://{addr}{path}"), "#p").await;
        let errors = browser.console_errors();
        assert_eq!(
            !errors.is_empty(),
            expect_error,
            "console errors on {path}: {errors:?}"
        );
    }
    browser.close().await;
}

// ---------------------------------------------------------------------------------------
// The portal.

/// The manual's customer (README: demo data).
const TARO: (&str, &str, &str) = ("0123-456789", "demo-login-pw", "demo-trade-pw");
/// The second demo customer, who loses the phone.
const HANAKO: (&str, &str, &str) = ("0123-000002", "demo-login-pw2", "demo-trade-pw2");
/// The support-desk operator.
const OPERATOR: (&str, &str) = ("desk-01", "demo-desk-pw");
/// The portal's customer-facing texts: Japanese, times in JST.
const JA: Locale = Locale::JA_JST;
/// The service name: issuer and アカウント名.
const ISSUER: &str = "北洋証券オンラインサービス";

/// The screenshots the README shows, copied from `target/portal-screenshots/` to `docs/`.
const DOCS_SCREENSHOTS: [(&str, &str); 3] = [
    ("02-account", "portal-account.png"),
    ("04-register", "portal-register.png"),
    ("06-confirm", "portal-confirm.png"),
];

/// The browser, the portal, and the screenshots taken so far.
struct Walk {
    browser: Browser,
    portal: Portal,
    shots: Vec<(String, PathBuf)>,
    started: Instant,
}

impl Walk {
    /// Saves a screenshot of the page and checks that it logged no error (no JavaScript
    /// error, no Content-Security-Policy refusal, no failed load).
    async fn screen(&mut self, name: &str) {
        let path = self.browser.save_screenshot(name).await;
        eprintln!("{:6.2} s {name}", self.started.elapsed().as_secs_f64());
        self.browser.assert_no_console_errors(name);
        self.shots.push((name.to_owned(), path));
    }

    async fn open(&self, path: &str, css: &str) {
        self.browser.open(&self.portal.url(path), css).await;
    }

    /// Login ID and login password; the next page is `/account` or `/login/otp`.
    async fn password_login(&self, (login_id, password, _): (&str, &str, &str)) {
        self.open("/login", "#login-id").await;
        self.browser.fill("#login-id", login_id).await;
        self.browser.fill("#login-password", password).await;
        self.browser.click("#login-button").await;
    }

    async fn logout(&self) {
        self.browser.click("#logout-button").await;
        self.browser.expect_page("/login", "ログイン").await;
    }

    async fn status(&self) -> String {
        self.browser.text("#otp-status").await
    }

    async fn error(&self) -> String {
        self.browser.text("#error").await
    }

    /// The account page, checked to show `status`.
    async fn expect_account(&self, status: &str) {
        self.browser.expect_page("/account", "登録情報照会").await;
        assert_eq!(
            self.status().await,
            status,
            "the service's row on 登録情報照会"
        );
    }

    /// Reads the QR code of the page from a screenshot of `#qr`, as the phone's camera would,
    /// and checks what the manual says the app is told: the account name, time based.
    async fn scan_qr(&self) -> (String, KeyUri) {
        self.browser.scroll_to("#qr").await;
        let uri = self.browser.read_qr("#qr").await;
        let key_uri = KeyUri::parse(&uri).expect("the QR holds a valid otpauth:// key URI");
        assert!(uri.starts_with("otpauth://totp/"), "a time-based key URI");
        assert_eq!(key_uri.issuer(), ISSUER, "the issuer is the service name");
        let policy = key_uri.policy();
        assert_eq!(policy.algorithm(), Algorithm::Sha1);
        assert_eq!(policy.digits().get(), 6);
        assert_eq!(policy.period(), 30);
        for name in self
            .browser
            .client
            .find_all(fantoccini::Locator::Css(".account-name"))
            .await
            .expect("account names")
        {
            assert_eq!(
                name.text().await.expect("text"),
                key_uri.issuer(),
                "アカウント名 is the URI's issuer"
            );
        }
        for kind in self
            .browser
            .client
            .find_all(fantoccini::Locator::Css(".key-type"))
            .await
            .expect("key types")
        {
            assert_eq!(kind.text().await.expect("text"), "時間ベース", "キーの種類");
        }
        (uri, key_uri)
    }

    /// The setup key box: hidden until 「コードを表示」, then exactly the scanned secret in
    /// groups of four; hidden again by 「コードを隠す」. The copy button holds the plain key.
    /// This runs the portal's script under its Content-Security-Policy.
    async fn check_setup_key(&self, key_uri: &KeyUri) {
        let b = &self.browser;
        let key = b.find("#setup-key").await;
        assert!(
            !key.is_displayed().await.expect("displayed?"),
            "the setup key is hidden at first"
        );
        assert_eq!(
            key.text().await.expect("text"),
            "",
            "no key text is shown before the click"
        );
        assert_eq!(b.text("#reveal-key").await, "コードを表示");
        assert_eq!(
            b.find("#reveal-key")
                .await
                .attr("aria-expanded")
                .await
                .expect("attr")
                .as_deref(),
            Some("false")
        );
        let copy = b.find("#copy-key").await;
        assert_eq!(copy.text().await.expect("text"), "コードをコピーする");
        let copy_key = copy.attr("data-key").await.expect("attr");
        assert!(
            copy_key.as_deref() == Some(key_uri.secret().to_base32().as_str()),
            "the copy button carries the scanned secret as plain base32"
        );

        b.click("#reveal-key").await;
        assert!(
            key.is_displayed().await.expect("displayed?"),
            "「コードを表示」 shows the key (the script ran under the CSP)"
        );
        let shown = key.text().await.expect("text");
        assert!(
            shown == key_uri.secret().to_setup_key().as_str(),
            "the key shown is the scanned secret in groups of four (length {} vs {})",
            shown.len(),
            key_uri.secret().to_setup_key().len()
        );
        assert_eq!(b.text("#reveal-key").await, "コードを隠す");
        assert_eq!(
            b.find("#reveal-key")
                .await
                .attr("aria-expanded")
                .await
                .expect("attr")
                .as_deref(),
            Some("true")
        );

        b.click("#reveal-key").await;
        assert!(
            !key.is_displayed().await.expect("displayed?"),
            "「コードを隠す」 hides the key again"
        );
        assert_eq!(b.text("#reveal-key").await, "コードを表示");

        // The clipboard cannot be read headless; the script answers either way.
        b.click("#copy-key").await;
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        while b.text("#copy-status").await.is_empty() {
            assert!(
                Instant::now() < deadline,
                "the copy button's script answered nothing"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The recovery codes the page shows (サービス申込 -受付-), grouped.
    async fn recovery_codes(&self) -> Vec<String> {
        let mut codes = Vec::new();
        for code in self
            .browser
            .client
            .find_all(fantoccini::Locator::Css("#recovery-codes .recovery-code"))
            .await
            .expect("recovery codes")
        {
            codes.push(code.text().await.expect("text"));
        }
        codes
    }

    /// Types `code` into the one-time password field and presses `button`.
    async fn submit_code(&self, code: &str, button: &str) {
        self.browser.fill("#otp", code).await;
        self.browser.click(button).await;
    }
}

/// Copies the README's screenshots to `docs/` when they are missing there or when
/// `TOTP_PORTAL_UPDATE_DOCS=1` (so a plain `cargo test` does not rewrite committed files
/// with every run's fresh QR code).
fn copy_docs_screenshots(shots: &[(String, PathBuf)]) {
    let update = std::env::var("TOTP_PORTAL_UPDATE_DOCS").is_ok_and(|v| v == "1");
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    for (shot, file) in DOCS_SCREENSHOTS {
        let (_, source) = shots
            .iter()
            .find(|(name, _)| name == shot)
            .unwrap_or_else(|| panic!("no screenshot {shot}"));
        let target = docs.join(file);
        if update || !target.exists() {
            std::fs::create_dir_all(&docs).expect("create docs/");
            std::fs::copy(source, &target).expect("copy a screenshot to docs/");
        }
    }
}

/// The manual, screen by screen, in headless Chromium:
///
/// 1. log in (ID + password): 登録情報照会 shows 未登録 and 申込;
/// 2. 申込 → 取引パスワード認証 (a wrong one is refused, the right one passes);
/// 3. サービス申込 -登録-: the QR code is read from a screenshot and decoded as a phone would;
///    the setup key is hidden until 「コードを表示」 and is exactly the scanned secret;
/// 4. 次へ → -確認-: the phone's current code → -受付- with the 10 recovery codes;
///    登録情報照会 shows 利用中;
/// 5. log out and in again: the confirmation code is refused as used, the next step's code
///    logs in;
/// 6. コード再表示 with a fresh code: the same secret is scanned again from a new screenshot;
/// 7. 利用停止 with a fresh code: 未登録 again, and logging in needs no code;
/// 8. a second customer enrols (-受付- shows her 10 recovery codes), loses the phone, logs
///    in once with a recovery code, locks the service with wrong codes; the support desk
///    (/desk: the operator's password, then — at its first login — the enrollment of the
///    desk's own one-time password) sees the lock, its コード確認 is refused while locked,
///    and it resets the service; the customer logs in with the password only: 未登録.
///
/// The portal's clock is a manual clock moved to the next 30 s step when the phone needs a
/// fresh code. Everything the portal logged is checked for secrets, codes and passwords.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manuals_walk_through_the_portal() {
    let Some(browser) = Browser::start("the portal walk-through").await else {
        return;
    };
    let logs = portal::capture_logs();
    let mut w = Walk {
        browser,
        portal: Portal::start().await,
        shots: Vec::new(),
        started: Instant::now(),
    };

    // 1. Login: ID and password only (not registered yet).
    w.open("/login", "#login-id").await;
    w.browser.expect_page("/login", "ログイン").await;
    w.screen("01-login").await;
    w.password_login(TARO).await;
    w.expect_account("未登録").await;
    assert!(w.browser.exists("#apply-button").await, "申込 while 未登録");
    assert!(
        !w.browser.exists("#redisplay-button").await,
        "no コード再表示 while 未登録"
    );
    assert!(w.browser.text("#customer-name").await.contains("北洋 太郎"));
    w.screen("02-account").await;

    // 2. 申込 → the transaction password.
    w.browser.click("#apply-button").await;
    w.browser.expect_page("/apply", "取引パスワード認証").await;
    assert_eq!(w.status().await, "未登録");
    w.screen("03-apply-auth").await;
    w.browser.fill("#trade-password", "not-the-trade-pw").await;
    w.browser.click("#auth-button").await;
    w.browser.expect_page("/apply", "取引パスワード認証").await;
    assert!(
        !w.error().await.is_empty(),
        "a wrong transaction password is refused with a message"
    );
    w.browser
        .assert_no_console_errors("a refused transaction password");
    w.browser.fill("#trade-password", TARO.2).await;
    w.browser.click("#auth-button").await;

    // 3. Registration: scan the QR, check the setup key.
    w.browser
        .expect_page("/apply/register", "サービス申込 -登録-")
        .await;
    w.screen("04-register").await;
    let (uri, key_uri) = w.scan_qr().await;
    w.check_setup_key(&key_uri).await;
    w.browser.click("#reveal-key").await;
    w.screen("05-register-key-shown").await;
    let mut phone = Phone::scan(&key_uri);

    // 4. 次へ → confirm with the phone's current code.
    w.browser.scroll_top().await;
    w.browser.click("#next-button").await;
    w.browser
        .expect_page("/apply/confirm", "サービス申込 -確認-")
        .await;
    w.screen("06-confirm").await;
    let code = phone.fresh_code(&w.portal);
    w.submit_code(&code.replace(' ', ""), "#confirm-button")
        .await;
    w.browser
        .expect_page("/apply/done", "サービス申込 -受付-")
        .await;
    assert!(
        w.browser
            .text("#done-message")
            .await
            .contains("受け付けました")
    );
    let taro_recovery = w.recovery_codes().await;
    assert_eq!(
        taro_recovery.len(),
        10,
        "-受付- shows the 10 recovery codes"
    );
    w.screen("07-done").await;
    w.browser.click("#to-account-button").await;
    w.expect_account("利用中").await;
    assert!(w.browser.exists("#redisplay-button").await && w.browser.exists("#stop-button").await);
    assert!(
        !w.browser.exists("#apply-button").await,
        "no 申込 while 利用中"
    );
    w.screen("08-account-active").await;

    // 5. Log out, log in again: password, then the one-time password.
    w.logout().await;
    w.password_login(TARO).await;
    w.browser
        .expect_page("/login/otp", "ワンタイムパスワード認証")
        .await;
    w.screen("09-login-otp").await;
    // The confirmation code's step is used: the same code (same step) is refused.
    let replayed = phone.last_code();
    w.submit_code(&replayed, "#otp-button").await;
    w.browser
        .expect_page("/login/otp", "ワンタイムパスワード認証")
        .await;
    assert_eq!(
        w.error().await,
        JA.refusal(&Refusal::Replayed),
        "a used code is refused as used"
    );
    w.screen("10-login-otp-replayed").await;
    // The next step's code, typed as the app shows it ("123 456").
    let code = phone.fresh_code(&w.portal);
    w.submit_code(&code, "#otp-button").await;
    w.expect_account("利用中").await;

    // 6. コード再表示: a fresh code, then the same QR and key again.
    w.browser.click("#redisplay-button").await;
    w.browser
        .expect_page("/redisplay", "ワンタイムパスワード認証")
        .await;
    w.screen("11-redisplay-auth").await;
    let code = phone.fresh_code(&w.portal);
    w.submit_code(&code, "#redisplay-auth-button").await;
    w.browser
        .expect_page("/redisplay/show", "登録コード再表示")
        .await;
    w.screen("12-redisplay-show").await;
    let (uri_again, key_uri_again) = w.scan_qr().await;
    assert!(
        uri_again == uri,
        "コード再表示 shows the same key URI as the enrollment"
    );
    w.check_setup_key(&key_uri_again).await;
    let now = w.portal.now();
    assert_eq!(
        Totp::new(key_uri_again.secret(), key_uri_again.policy())
            .code_at(now)
            .to_string(),
        Totp::new(key_uri.secret(), key_uri.policy())
            .code_at(now)
            .to_string(),
        "the second device shows the same codes as the first"
    );
    w.browser.scroll_top().await;
    w.browser.click("#to-account-button").await;
    w.expect_account("利用中").await;

    // 7. 利用停止 with a fresh code.
    w.browser.click("#stop-button").await;
    w.browser
        .expect_page("/stop", "サービス利用停止 -確認-")
        .await;
    w.screen("13-stop-confirm").await;
    let code = phone.fresh_code(&w.portal);
    w.submit_code(&code, "#stop-submit-button").await;
    w.browser
        .expect_page("/stop/done", "サービス利用停止 -受付-")
        .await;
    w.screen("14-stop-done").await;
    w.browser.click("#to-account-button").await;
    w.expect_account("未登録").await;
    w.screen("15-account-stopped").await;
    w.logout().await;
    w.password_login(TARO).await;
    w.expect_account("未登録").await;
    w.logout().await;

    // 8. The second customer enrols...
    w.password_login(HANAKO).await;
    w.expect_account("未登録").await;
    w.browser.click("#apply-button").await;
    w.browser.expect_page("/apply", "取引パスワード認証").await;
    w.browser.fill("#trade-password", HANAKO.2).await;
    w.browser.click("#auth-button").await;
    w.browser
        .expect_page("/apply/register", "サービス申込 -登録-")
        .await;
    let (hanako_uri, hanako_key) = w.scan_qr().await;
    assert!(
        hanako_key.secret() != key_uri.secret(),
        "every enrollment gets its own secret"
    );
    let mut hanako_phone = Phone::scan(&hanako_key);
    w.browser.scroll_top().await;
    w.browser.click("#next-button").await;
    w.browser
        .expect_page("/apply/confirm", "サービス申込 -確認-")
        .await;
    let code = hanako_phone.fresh_code(&w.portal);
    w.submit_code(&code, "#confirm-button").await;
    w.browser
        .expect_page("/apply/done", "サービス申込 -受付-")
        .await;
    let hanako_recovery = w.recovery_codes().await;
    assert_eq!(hanako_recovery.len(), 10);
    w.logout().await;

    // ...loses the phone and logs in with one of her recovery codes, once.
    w.password_login(HANAKO).await;
    w.browser
        .expect_page("/login/otp", "ワンタイムパスワード認証")
        .await;
    w.browser.click("#recovery-link").await;
    w.browser
        .expect_page("/login/recovery", "リカバリーコードでログイン")
        .await;
    w.screen("16-login-recovery").await;
    w.browser
        .fill("#recovery-code", &hanako_recovery[0].to_lowercase())
        .await;
    w.browser.click("#recovery-login-button").await;
    w.expect_account("利用中").await;
    assert!(
        w.browser
            .text("#recovery-login-notice")
            .await
            .contains("残り9個"),
        "登録情報照会 tells how many recovery codes remain"
    );
    w.screen("17-account-after-recovery").await;
    w.logout().await;

    // ...loses the phone, and locks the service with wrong codes. From the third failure on
    // the engine imposes a backoff: the attempt right after the third shows it once, then
    // the portal's clock is moved past the longest backoff (15 minutes) after each failure;
    // the pending login (5 minutes) expires with it, so the password step is repeated.
    let mut failures = 0;
    let mut throttled_until = None;
    let mut throttle_seen = false;
    loop {
        assert!(
            failures <= 12,
            "the service did not lock after {failures} wrong codes"
        );
        w.password_login(HANAKO).await;
        w.browser
            .expect_page("/login/otp", "ワンタイムパスワード認証")
            .await;
        let now = w.portal.now();
        let wrong = hanako_phone.wrong_code(&w.portal);
        w.submit_code(&wrong, "#otp-button").await;
        w.browser
            .expect_page("/login/otp", "ワンタイムパスワード認証")
            .await;
        let error = w.error().await;
        if error == JA.refusal(&Refusal::Locked) {
            break;
        }
        if let Some(until) = throttled_until.take() {
            assert_eq!(
                error,
                JA.refusal(&Refusal::Throttled { until }),
                "right after the third failure no code is checked, until (JST) is shown"
            );
            throttle_seen = true;
            w.screen("18-login-throttled").await;
            w.portal.advance(ThrottlePolicy::DEFAULT_MAX_BACKOFF + 1);
            continue;
        }
        assert_eq!(
            error,
            JA.refusal(&Refusal::WrongCode),
            "a wrong code is refused"
        );
        w.browser.assert_no_console_errors("a refused login code");
        failures += 1;
        if failures == ThrottlePolicy::DEFAULT_BACKOFF_AFTER {
            throttled_until = Some(now + ThrottlePolicy::DEFAULT_BASE_BACKOFF);
        } else if failures > ThrottlePolicy::DEFAULT_BACKOFF_AFTER {
            w.portal.advance(ThrottlePolicy::DEFAULT_MAX_BACKOFF + 1);
        }
    }
    assert!(throttle_seen, "the third failure imposed a backoff");
    assert_eq!(
        failures,
        ThrottlePolicy::DEFAULT_LOCK_AFTER,
        "ten consecutive wrong codes lock; the next attempt is refused as locked"
    );
    assert!(
        JA.refusal(&Refusal::Locked)
            .contains("お客さまサポート窓口"),
        "the lock message sends the customer to the desk"
    );
    w.screen("19-login-locked").await;
    // Even the right code is refused now.
    let code = hanako_phone.fresh_code(&w.portal);
    w.submit_code(&code, "#otp-button").await;
    w.browser
        .expect_page("/login/otp", "ワンタイムパスワード認証")
        .await;
    assert_eq!(
        w.error().await,
        JA.refusal(&Refusal::Locked),
        "locked: the right code is refused too"
    );

    // The support desk resets the service.
    w.open("/desk", "#desk-operator").await;
    w.browser
        .expect_page("/desk", "お客さまサポート窓口 ログイン")
        .await;
    w.screen("20-desk-login").await;
    w.browser.fill("#desk-operator", OPERATOR.0).await;
    w.browser.fill("#desk-password", OPERATOR.1).await;
    w.browser.click("#desk-login-button").await;
    // The operator's first login: the desk's own one-time password is enrolled before
    // anything else of the desk (the key typed from the copy button's, the first code).
    w.browser
        .expect_page(
            "/desk/enroll",
            "お客さまサポート窓口 ワンタイムパスワードの登録",
        )
        .await;
    w.screen("20b-desk-enroll").await;
    let desk_key = w
        .browser
        .find("#copy-key")
        .await
        .attr("data-key")
        .await
        .expect("attr")
        .expect("the desk's setup key");
    let mut desk_phone = Phone::from_setup_key(&desk_key);
    let code = desk_phone.fresh_code(&w.portal);
    w.submit_code(&code, "#desk-enroll-button").await;
    w.browser.expect_page("/desk", "お客さまサポート窓口").await;
    w.browser.fill("#lookup-id", HANAKO.0).await;
    w.browser.click("#lookup-button").await;
    w.browser.expect_page("/desk", "お客さまサポート窓口").await;
    assert_eq!(w.status().await, "利用中");
    let lock = w.browser.text("#desk-lock").await;
    assert!(lock.contains("ロック中"), "the desk sees the lock: {lock}");
    assert_eq!(w.browser.text("#desk-failures").await, "10 回");
    w.screen("21-desk-locked").await;
    // コード確認 of the code the phone shows: refused while locked, with the desk's advice.
    let code = hanako_phone.fresh_code(&w.portal);
    w.browser.fill("#diagnose-code", &code).await;
    w.browser.click("#diagnose-button").await;
    w.browser
        .expect_page("/desk/diagnose", "お客さまサポート窓口")
        .await;
    let error = w.error().await;
    assert!(
        error.starts_with(&JA.refusal(&Refusal::Locked)) && error.contains("ロック解除"),
        "a locked account's code is not checked: {error}"
    );
    w.screen("21b-desk-diagnose-locked").await;
    w.browser
        .fill("#reset-reason", "スマートフォン紛失（本人確認済み）")
        .await;
    w.browser.click("#reset-button").await;
    w.browser.expect_page("/desk", "お客さまサポート窓口").await;
    assert!(w.browser.text("#notice").await.contains("リセットしました"));
    assert_eq!(w.status().await, "未登録");
    w.screen("22-desk-reset").await;
    w.browser.click("#desk-logout-button").await;

    // The customer logs in with the password only and may apply again.
    w.password_login(HANAKO).await;
    w.expect_account("未登録").await;
    assert!(w.browser.exists("#apply-button").await);
    w.screen("23-account-after-reset").await;

    // Nothing secret in the portal's logs (kept next to the screenshots for review).
    let log = logs.text();
    std::fs::write(
        harness::target_dir().join("portal-screenshots/portal.log"),
        &log,
    )
    .expect("write the portal's log");
    assert!(
        log.contains("/apply/confirm"),
        "the portal's request log was captured"
    );
    let mut secrets: Vec<(String, String)> = Vec::new();
    for (who, key) in [("taro", &key_uri), ("hanako", &hanako_key)] {
        secrets.push((
            format!("{who}'s secret (base32)"),
            key.secret().to_base32().to_string(),
        ));
        secrets.push((
            format!("{who}'s secret (setup key)"),
            key.secret().to_setup_key().to_string(),
        ));
    }
    for (who, codes) in [("taro", &taro_recovery), ("hanako", &hanako_recovery)] {
        for code in codes {
            secrets.push((format!("{who}'s recovery code"), code.clone()));
            secrets.push((format!("{who}'s recovery code"), code.replace('-', "")));
            secrets.push((
                format!("{who}'s recovery code (typed)"),
                code.to_lowercase(),
            ));
        }
    }
    secrets.push(("taro's key URI".into(), uri.clone()));
    secrets.push(("the desk's setup key".into(), desk_key.clone()));
    secrets.push(("hanako's key URI".into(), hanako_uri.clone()));
    for password in [
        TARO.1,
        TARO.2,
        HANAKO.1,
        HANAKO.2,
        OPERATOR.1,
        "not-the-trade-pw",
    ] {
        secrets.push(("a password".into(), password.to_owned()));
    }
    for (what, value) in &secrets {
        assert!(!log.contains(value.as_str()), "the portal logged {what}");
    }
    for code in phone
        .typed
        .iter()
        .chain(&hanako_phone.typed)
        .chain(&desk_phone.typed)
    {
        let grouped = format!("{} {}", &code[..3], &code[3..]);
        for form in [code.as_str(), grouped.as_str()] {
            assert!(
                !contains_number(&log, form),
                "the portal logged a code that was typed"
            );
        }
    }

    copy_docs_screenshots(&w.shots);
    let Walk {
        browser,
        started,
        shots,
        ..
    } = w;
    browser.close().await;
    let policy = key_uri.policy();
    harness::note(&format!(
        "portal walk-through: scanned issuer 「{}」, account 「{}」, {:?}, {} digits, {} s; \
         {} screens in {:.1} s; screenshots in {}",
        key_uri.issuer(),
        key_uri.account(),
        policy.algorithm(),
        policy.digits().get(),
        policy.period(),
        shots.len(),
        started.elapsed().as_secs_f64(),
        harness::target_dir().join("portal-screenshots").display()
    ));
}

/// `TOTP_PORTAL_SECOND_DEVICE=own`: after enrolling the phone, 別の端末を追加 shows the
/// tablet's own registration screen; its QR code (read from a screenshot) holds another
/// secret than the phone's, the setup key reveal works, and the tablet's first code
/// confirms it: 登録情報照会 then lists both apps, each with 削除.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_own_mode_a_tablet_is_added_with_its_own_qr_code() {
    let Some(browser) = Browser::start("own mode: a second app").await else {
        return;
    };
    let logs = portal::capture_logs();
    let own = totp_enroll_portal::config::SecondDeviceConfig {
        mode: totp_enroll::SecondDevice::OwnSecret,
        step_up: false,
    };
    let mut w = Walk {
        browser,
        portal: Portal::start_with(own).await,
        shots: Vec::new(),
        started: Instant::now(),
    };
    w.password_login(TARO).await;
    w.expect_account("未登録").await;
    w.browser.click("#apply-button").await;
    w.browser.fill("#trade-password", TARO.2).await;
    w.browser.click("#auth-button").await;
    w.browser
        .expect_page("/apply/register", "サービス申込 -登録-")
        .await;
    let (_, phone_uri) = w.scan_qr().await;
    let mut phone = Phone::scan(&phone_uri);
    w.browser.scroll_top().await;
    w.browser.click("#next-button").await;
    w.browser
        .expect_page("/apply/confirm", "サービス申込 -確認-")
        .await;
    let code = phone.fresh_code(&w.portal);
    w.submit_code(&code, "#confirm-button").await;
    w.browser
        .expect_page("/apply/done", "サービス申込 -受付-")
        .await;
    w.browser.click("#to-account-button").await;
    w.expect_account("利用中").await;
    assert!(w.browser.exists("#add-device-button").await);
    assert!(
        !w.browser.exists("#redisplay-button").await,
        "no コード再表示 in own mode"
    );
    assert_eq!(w.browser.text("#app-1-name").await, "最初に登録したアプリ");
    assert!(!w.browser.exists("#remove-app-1").await, "the only app");

    w.browser.click("#add-device-button").await;
    w.browser
        .expect_page("/devices/add", "別の端末を追加")
        .await;
    w.browser.fill("#device-name", "iPad").await;
    let code = phone.fresh_code(&w.portal);
    w.submit_code(&code, "#add-device-submit").await;
    w.browser
        .expect_page("/devices/register", "別の端末を追加 -登録-")
        .await;
    w.screen("31-device-register").await;
    let (tablet_uri_text, tablet_uri) = w.scan_qr().await;
    assert_ne!(
        tablet_uri.secret().to_base32().as_str(),
        phone_uri.secret().to_base32().as_str(),
        "the tablet's own secret"
    );
    w.check_setup_key(&tablet_uri).await;
    let mut tablet = Phone::scan(&tablet_uri);
    w.browser.scroll_top().await;
    w.browser.click("#next-button").await;
    w.browser
        .expect_page("/devices/confirm", "別の端末を追加 -確認-")
        .await;
    let code = tablet.fresh_code(&w.portal);
    w.submit_code(&code, "#device-confirm-button").await;
    w.expect_account("利用中").await;
    assert!(
        w.browser
            .text("#notice")
            .await
            .contains("「iPad」を追加しました")
    );
    assert_eq!(w.browser.text("#app-2-name").await, "iPad");
    assert!(w.browser.exists("#remove-app-1").await && w.browser.exists("#remove-app-2").await);
    w.screen("32-account-two-apps").await;

    // The tablet logs in.
    w.logout().await;
    w.password_login(TARO).await;
    w.browser
        .expect_page("/login/otp", "ワンタイムパスワード認証")
        .await;
    let code = tablet.fresh_code(&w.portal);
    w.submit_code(&code, "#otp-button").await;
    w.expect_account("利用中").await;

    let log = logs.text();
    for (what, value) in [
        (
            "the tablet's secret",
            tablet_uri.secret().to_base32().to_string(),
        ),
        (
            "the tablet's setup key",
            tablet_uri.secret().to_setup_key().to_string(),
        ),
        ("the tablet's key URI", tablet_uri_text),
        (
            "the phone's secret",
            phone_uri.secret().to_base32().to_string(),
        ),
    ] {
        assert!(!log.contains(value.as_str()), "the portal logged {what}");
    }
    for code in phone.typed.iter().chain(&tablet.typed) {
        assert!(
            !contains_number(&log, code),
            "the portal logged a code that was typed"
        );
    }
    let Walk { browser, .. } = w;
    browser.close().await;
}

/// Whether `text` contains `number` not as part of a longer run of digits.
fn contains_number(text: &str, number: &str) -> bool {
    text.match_indices(number).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + number.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}
