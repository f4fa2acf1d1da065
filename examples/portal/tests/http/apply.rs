//! 申込: the transaction password, the registration and confirmation screens.

use super::*;

#[tokio::test]
async fn the_transaction_password_page_has_the_manuals_fields() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let page = b.get("/apply").await;
    assert!(page.body.contains("<h1>取引パスワード認証</h1>"));
    assert!(
        page.body
            .contains("<label for=\"trade-password\">取引パスワード</label>")
    );
    assert!(
        page.body
            .contains("<label for=\"show-password\">パスワードを表示する</label>")
    );
    assert_eq!(page.text_of("back-button").as_deref(), Some("戻る"));
    assert_eq!(page.text_of("auth-button").as_deref(), Some("認証"));
}

#[tokio::test]
async fn a_wrong_transaction_password_issues_nothing() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    b.get("/apply").await;
    let page = b.post("/apply", &[("trade_password", TARO.1)]).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(
        page.error()
            .unwrap()
            .contains("取引パスワードが正しくありません")
    );
    assert!(!page.body.contains("id=\"setup-key\""));
    assert_eq!(b.get("/apply/register").await.location(), "/account");
    let account = totp_enroll::AccountId::new(TARO.0).unwrap();
    let status = portal.state.engine.status(&account).await.unwrap();
    assert_eq!(
        status,
        totp_enroll::Status::NotRegistered,
        "no pending secret"
    );
}

#[tokio::test]
async fn the_registration_page_shows_the_qr_code_and_hides_the_key() {
    let (portal, _) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let page = b.apply(TARO).await;
    let body = &page.body;
    assert!(body.contains("<h1>サービス申込 -登録-</h1>"));
    assert!(body.contains("aria-current=\"step\""));
    assert!(body.contains("https://www.apple.com/jp/app-store/"));
    assert!(body.contains("https://play.google.com/store/apps/"));
    assert!(body.contains("iOSの場合") && body.contains("Androidの場合"));
    assert!(body.contains("<h2>登録用二次元バーコード</h2>"));
    // The QR code: an inline SVG element with an accessible name.
    let qr = &body[body.find("id=\"qr\"").unwrap()..];
    assert!(qr.contains("role=\"img\" aria-label=\"登録用二次元バーコード"));
    assert!(!body.contains("<?xml"));
    // The manual-entry table.
    assert!(body.contains("<th scope=\"row\">アカウント名</th><td class=\"account-name\">北洋証券オンラインサービス</td>"));
    assert!(
        body.contains("<th scope=\"row\">キーの種類</th><td class=\"key-type\">時間ベース</td>")
    );
    assert!(body.contains("※セキュリティ上の理由により、初期状態を非表示にしています。"));
    // The key: hidden by default, grouped; the copy button holds it unspaced.
    assert!(body.contains("<code id=\"setup-key\" hidden>"));
    assert_eq!(page.text_of("reveal-key").as_deref(), Some("コードを表示"));
    assert_eq!(
        page.text_of("copy-key").as_deref(),
        Some("コードをコピーする")
    );
    let grouped = page.text_of("setup-key").unwrap();
    assert_eq!(grouped.replace(' ', ""), page.copy_key());
    assert_eq!(page.copy_key().len(), 32, "160-bit key");
    assert_eq!(page.text_of("next-button").as_deref(), Some("次へ"));
}

#[tokio::test]
async fn enrollment_from_confirm_to_accepted() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let register = b.apply(TARO).await;
    let app = App::scan(&register);

    let confirm = b.get("/apply/confirm").await;
    assert!(confirm.body.contains("<h1>サービス申込 -確認-</h1>"));
    assert!(confirm.body.contains("<h2>ご注意事項</h2>"));
    assert!(
        confirm
            .body
            .contains("お客さまサポート窓口までお問い合わせください。")
    );
    assert!(
        confirm
            .body
            .contains("<label for=\"otp\">ワンタイムパスワード</label>")
    );
    assert_eq!(confirm.text_of("confirm-button").as_deref(), Some("認証"));

    let refused = b
        .post("/apply/confirm", &[("code", &wrong(&app.code(&clock)))])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.body.contains("<h1>サービス申込 -確認-</h1>"),
        "stays on the page"
    );
    assert!(refused.error().unwrap().contains("正しくありません"));

    let malformed = b.post("/apply/confirm", &[("code", "12a456")]).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(
        malformed
            .error()
            .unwrap()
            .contains("数字で入力してください")
    );
    let short = b.post("/apply/confirm", &[("code", "12345")]).await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(short.error().unwrap().contains("6桁の数字"));

    // Full-width digits, as a Japanese keyboard types them.
    let fullwidth: String = app
        .code(&clock)
        .chars()
        .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap())
        .collect();
    let done = b.post("/apply/confirm", &[("code", &fullwidth)]).await;
    assert_eq!(done.location(), "/apply/done");
    let page = b.get("/apply/done").await;
    assert!(page.body.contains("<h1>サービス申込 -受付-</h1>"));
    assert!(page.body.contains(
        "ワンタイムパスワードサービス申込を受け付けました。必ず登録情報照会で確認してください。"
    ));
    assert_eq!(
        page.text_of("to-account-button").as_deref(),
        Some("登録情報照会へ")
    );

    let account = b.get("/account").await;
    assert_eq!(account.text_of("otp-status").as_deref(), Some("利用中"));
    assert_eq!(
        account.text_of("redisplay-button").as_deref(),
        Some("コード再表示")
    );
    assert_eq!(account.text_of("stop-button").as_deref(), Some("利用停止"));
    assert!(account.text_of("apply-button").is_none());
    // The key is no longer shown.
    assert_eq!(b.get("/apply/register").await.location(), "/account");
    // Applying again while in use goes back to the registration info.
    assert_eq!(b.get("/apply").await.location(), "/account");
}

#[tokio::test]
async fn a_code_typed_as_the_app_shows_it_is_accepted() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let app = App::scan(&b.apply(TARO).await);
    let grouped = app.grouped(&clock);
    assert_eq!(grouped.len(), 7, "123 456");
    let done = b.post("/apply/confirm", &[("code", &grouped)]).await;
    assert_eq!(done.location(), "/apply/done");
}

#[tokio::test]
async fn an_expired_application_is_refused_with_409() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let app = App::scan(&b.apply(TARO).await);
    clock.advance(10 * 60);
    b.get("/account").await; // keeps the session alive
    let late = b
        .post("/apply/confirm", &[("code", &app.code(&clock))])
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.error().unwrap().contains("有効期限が切れ"));
    assert_eq!(
        b.get("/account").await.text_of("otp-status").as_deref(),
        Some("未登録")
    );
}

#[tokio::test]
async fn repeated_wrong_codes_are_throttled_then_locked_with_the_support_desk_hint() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(HANAKO).await;
    let app = b.enroll(HANAKO, &clock).await;
    clock.advance(30);
    b.get("/redisplay").await;
    let bad = wrong(&app.code(&clock));
    for _ in 0..2 {
        let page = b.post("/redisplay", &[("code", &bad)]).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    // The 3rd failure imposes 30 s of backoff and says so on its own page (429, the time to
    // come back); during it even the right code is refused.
    let third = b.post("/redisplay", &[("code", &bad)]).await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(third.headers["retry-after"], "30");
    assert!(
        third
            .error()
            .unwrap()
            .starts_with("ワンタイムパスワードが正しくありません。誤入力が続いたため、2025年11月25日 01:01:00（日本時間）以降"),
        "{:?}",
        third.error()
    );
    let throttled = b.post("/redisplay", &[("code", &app.code(&clock))]).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers["retry-after"], "30");
    // T0 + 30 s + 30 s backoff = 01:01:00 JST
    assert!(
        throttled
            .error()
            .unwrap()
            .contains("2025年11月25日 01:01:00（日本時間）以降"),
        "{:?}",
        throttled.error()
    );
    // Fail until locked (the 10th consecutive failure).
    let mut last = throttled;
    for _ in 0..30 {
        clock.advance(14 * 60); // within the session's idle timeout
        b.get("/account").await;
        last = b
            .post("/redisplay", &[("code", &wrong(&app.code(&clock)))])
            .await;
        assert_ne!(last.status, StatusCode::OK);
        if last.status == StatusCode::FORBIDDEN {
            break;
        }
    }
    assert_eq!(last.status, StatusCode::FORBIDDEN);
    assert!(
        last.error()
            .unwrap()
            .contains("お客さまサポート窓口までお問い合わせください")
    );
    let account = b.get("/account").await;
    assert!(
        account
            .text_of("access-note")
            .unwrap()
            .contains("お客さまサポート窓口")
    );
    let mails = mailbox(&portal, &clock).await;
    assert!(
        mails
            .body
            .contains("ワンタイムパスワード認証ロックのお知らせ")
    );

    // Locked: the login's code page refuses even the right code, with the desk's hint …
    b.post("/logout", &[]).await;
    clock.advance(30);
    assert_eq!(b.password_step(HANAKO).await.location(), "/login/otp");
    b.get("/login/otp").await;
    let locked = b.post("/login/otp", &[("code", &app.code(&clock))]).await;
    assert_eq!(locked.status, StatusCode::FORBIDDEN);
    assert!(locked.error().unwrap().contains("お客さまサポート窓口"));
    assert_eq!(b.get("/account").await.location(), "/login");

    // … until the support desk resets it: then ID and password log in again.
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    desk.get(&format!("/desk?login_id={}", HANAKO.0)).await;
    let reset = desk
        .post(
            "/desk/reset",
            &[("login_id", HANAKO.0), ("reason", "端末紛失")],
        )
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    b.login(HANAKO).await;
    assert_eq!(
        b.get("/account").await.text_of("otp-status").as_deref(),
        Some("未登録")
    );
}

/// The registration page is rendered from the application in the store, not from the
/// session: a second tab that applies again shows the same QR code (the secret the first
/// tab may already have given the app), and a code of that app confirms from either tab.
#[tokio::test]
async fn two_tabs_that_apply_show_the_same_qr_code_and_either_confirms() {
    let (portal, clock) = portal().await;
    let mut first = Browser::new(&portal);
    first.login(TARO).await;
    let mut second = Browser::new(&portal);
    second.login(TARO).await;
    let scanned = first.apply(TARO).await;
    let key = scanned.copy_key();
    clock.advance(20);
    let again = second.apply(TARO).await;
    assert_eq!(
        again.copy_key(),
        key,
        "applying while pending keeps the secret"
    );
    assert_eq!(first.get("/apply/register").await.copy_key(), key);
    let app = App::scan(&scanned);
    second.get("/apply/confirm").await;
    let done = second
        .post("/apply/confirm", &[("code", &app.code(&clock))])
        .await;
    assert_eq!(done.location(), "/apply/done", "{}", done.body);
    // Confirmed: the first tab's registration page has nothing left to show.
    assert_eq!(first.get("/apply/register").await.location(), "/account");
}

/// The page shows the secret again only under a fresh transaction password, like 申込:
/// left open past the step-up's age (5 minutes), a reload asks for the transaction password
/// once more and then shows the same QR code, which still confirms.
#[tokio::test]
async fn a_registration_page_reloaded_after_the_step_up_aged_asks_the_transaction_password_again() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let page = b.apply(TARO).await;
    let key = page.copy_key();
    clock.advance(4 * 60);
    assert_eq!(
        b.get("/apply/register").await.copy_key(),
        key,
        "4 minutes on"
    );
    clock.advance(61);
    assert_eq!(b.get("/apply/register").await.location(), "/apply");
    let again = b.apply(TARO).await;
    assert_eq!(again.copy_key(), key, "the same secret, not a new one");
    let app = App::scan(&page);
    b.get("/apply/confirm").await;
    let done = b
        .post("/apply/confirm", &[("code", &app.code(&clock))])
        .await;
    assert_eq!(done.location(), "/apply/done", "{}", done.body);
    let account = AccountId::new(TARO.0).unwrap();
    let shown: Vec<AuditKind> = portal
        .state
        .engine
        .store()
        .pending_events(1000)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| AuditEvent::decode(&entry.bytes).unwrap())
        .filter(|event| event.account == account)
        .map(|event| event.kind)
        .collect();
    assert_eq!(
        shown
            .iter()
            .filter(|k| matches!(k, AuditKind::EnrollmentShownAgain { .. }))
            .count(),
        4,
        "each showing of the secret is audited (the refused one as a step-up refusal)"
    );
    assert!(shown.contains(&AuditKind::StepUpRefused));
}
