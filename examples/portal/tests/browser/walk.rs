//! The portal walk's parts: the demo people, the browser with the portal and its
//! screenshots ([`Walk`]), and the screenshots copied to `docs/`.

use super::*;

/// The manual's customer (README: demo data).
pub(crate) const TARO: (&str, &str, &str) = ("0123-456789", "demo-login-pw", "demo-trade-pw");
/// The second demo customer, who loses the phone.
pub(crate) const HANAKO: (&str, &str, &str) = ("0123-000002", "demo-login-pw2", "demo-trade-pw2");
/// The support-desk operator.
pub(crate) const OPERATOR: (&str, &str) = ("desk-01", "demo-desk-pw");
/// The portal's customer-facing texts: Japanese, times in JST.
pub(crate) const JA: Locale = Locale::JA_JST;
/// The service name: issuer and アカウント名.
pub(crate) const ISSUER: &str = "北洋証券オンラインサービス";

/// The screenshots the README shows, copied from `target/portal-screenshots/` to `docs/`.
pub(crate) const DOCS_SCREENSHOTS: [(&str, &str); 3] = [
    ("02-account", "portal-account.png"),
    ("04-register", "portal-register.png"),
    ("06-confirm", "portal-confirm.png"),
];

/// The browser, the portal, and the screenshots taken so far.
pub(crate) struct Walk {
    pub(crate) browser: Browser,
    pub(crate) portal: Portal,
    pub(crate) shots: Vec<(String, PathBuf)>,
    pub(crate) started: Instant,
}

impl Walk {
    /// Saves a screenshot of the page and checks that it logged no error (no JavaScript
    /// error, no Content-Security-Policy refusal, no failed load).
    pub(crate) async fn screen(&mut self, name: &str) {
        let path = self.browser.save_screenshot(name).await;
        eprintln!("{:6.2} s {name}", self.started.elapsed().as_secs_f64());
        self.browser.assert_no_console_errors(name);
        self.shots.push((name.to_owned(), path));
    }

    pub(crate) async fn open(&self, path: &str, css: &str) {
        self.browser.open(&self.portal.url(path), css).await;
    }

    /// Login ID and login password; the next page is `/account` or `/login/otp`.
    pub(crate) async fn password_login(&self, (login_id, password, _): (&str, &str, &str)) {
        self.open("/login", "#login-id").await;
        self.browser.fill("#login-id", login_id).await;
        self.browser.fill("#login-password", password).await;
        self.browser.click("#login-button").await;
    }

    pub(crate) async fn logout(&self) {
        self.browser.click("#logout-button").await;
        self.browser.expect_page("/login", "ログイン").await;
    }

    pub(crate) async fn status(&self) -> String {
        self.browser.text("#otp-status").await
    }

    pub(crate) async fn error(&self) -> String {
        self.browser.text("#error").await
    }

    /// The account page, checked to show `status`.
    pub(crate) async fn expect_account(&self, status: &str) {
        self.browser.expect_page("/account", "登録情報照会").await;
        assert_eq!(
            self.status().await,
            status,
            "the service's row on 登録情報照会"
        );
    }

    /// Reads the QR code of the page from a screenshot of `#qr`, as the phone's camera would,
    /// and checks what the manual says the app is told: the account name, time based.
    pub(crate) async fn scan_qr(&self) -> (String, KeyUri) {
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
    pub(crate) async fn check_setup_key(&self, key_uri: &KeyUri) {
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
    pub(crate) async fn recovery_codes(&self) -> Vec<String> {
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
    pub(crate) async fn submit_code(&self, code: &str, button: &str) {
        self.browser.fill("#otp", code).await;
        self.browser.click(button).await;
    }
}

/// Copies the README's screenshots to `docs/` when they are missing there or when
/// `TOTP_PORTAL_UPDATE_DOCS=1` (so a plain `cargo test` does not rewrite committed files
/// with every run's fresh QR code).
pub(crate) fn copy_docs_screenshots(shots: &[(String, PathBuf)]) {
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

/// Whether `text` contains `number` not as part of a longer run of digits.
pub(crate) fn contains_number(text: &str, number: &str) -> bool {
    text.match_indices(number).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + number.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}
