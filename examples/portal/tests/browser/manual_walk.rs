//! The seed manual's walk through the portal, screen by screen.

use super::*;

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

    // ...loses the phone, and locks the service with wrong codes. The third failure starts a
    // backoff and its page says until when (JST); an attempt during the backoff is refused
    // unchecked with the same time; the portal's clock is then moved past the longest
    // backoff (15 minutes) after each failure, and the pending login (5 minutes) expires
    // with it, so the password step is repeated. The tenth failure locks and says so.
    let mut failures = 0u32;
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
        w.browser.assert_no_console_errors("a refused login code");
        failures += 1;
        if failures < ThrottlePolicy::DEFAULT_BACKOFF_AFTER {
            assert_eq!(
                error,
                JA.refusal(&Refusal::WrongCode),
                "a wrong code is refused"
            );
            continue;
        }
        if failures == ThrottlePolicy::DEFAULT_LOCK_AFTER {
            assert_eq!(
                error,
                JA.refusal(&Refusal::WrongCodeLocked),
                "the tenth wrong code locks, and its page says so"
            );
            break;
        }
        let backoff = (ThrottlePolicy::DEFAULT_BASE_BACKOFF
            << (failures - ThrottlePolicy::DEFAULT_BACKOFF_AFTER))
            .min(ThrottlePolicy::DEFAULT_MAX_BACKOFF);
        let until = now + backoff;
        assert_eq!(
            error,
            JA.refusal(&Refusal::WrongCodeThrottled { until }),
            "from the third failure, the wrong code's page says until when (JST)"
        );
        if failures == ThrottlePolicy::DEFAULT_BACKOFF_AFTER {
            // During the backoff no code is checked: the same time again.
            w.password_login(HANAKO).await;
            let wrong = hanako_phone.wrong_code(&w.portal);
            w.submit_code(&wrong, "#otp-button").await;
            assert_eq!(w.error().await, JA.refusal(&Refusal::Throttled { until }));
            throttle_seen = true;
            w.screen("18-login-throttled").await;
        }
        w.portal.advance(ThrottlePolicy::DEFAULT_MAX_BACKOFF + 1);
    }
    assert!(throttle_seen, "the third failure imposed a backoff");
    assert_eq!(
        failures,
        ThrottlePolicy::DEFAULT_LOCK_AFTER,
        "ten consecutive wrong codes lock"
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
