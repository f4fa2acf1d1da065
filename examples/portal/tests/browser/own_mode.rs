//! `own` mode: a second app added with its own QR code, read from the screen.

use super::*;

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
