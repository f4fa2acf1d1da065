//! 別の端末を追加 (own mode): add, confirm, remove; the step-up setting.

use super::*;

#[tokio::test]
async fn in_own_mode_an_added_app_logs_in_only_once_confirmed_with_its_own_code() {
    let (portal, clock) = portal_with(own_devices(false)).await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let register = b.apply(TARO).await;
    let first_key = register.copy_key();
    let phone = App::scan(&register);
    b.get("/apply/confirm").await;
    let confirmed = b
        .post("/apply/confirm", &[("code", &phone.code(&clock))])
        .await;
    assert_eq!(confirmed.location(), "/apply/done");

    // 登録情報照会: the apps, 別の端末を追加 instead of コード再表示, no 削除 for the only app.
    let account = b.get("/account").await;
    assert_eq!(account.text_of("otp-status").as_deref(), Some("利用中"));
    assert!(account.text_of("redisplay-button").is_none());
    assert_eq!(
        account.text_of("add-device-button").as_deref(),
        Some("別の端末を追加")
    );
    assert!(account.body.contains("id=\"apps\""));
    assert_eq!(
        account.text_of("app-1-name").as_deref(),
        Some("最初に登録したアプリ")
    );
    assert!(account.body.contains("2025年11月25日 01:00:00（日本時間）"));
    assert!(account.text_of("remove-app-1").is_none(), "the only app");
    // コード再表示 is not offered, and the engine refuses it.
    assert_eq!(b.get("/redisplay").await.location(), "/account");
    clock.advance(30);
    let refused = b.post("/redisplay", &[("code", &phone.code(&clock))]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(
        refused.error(),
        Some(engine_text(&EngineError::RedisplayDisabled))
    );
    assert!(!refused.body.contains("id=\"setup-key\""));

    // 別の端末を追加: name and a current code of the phone.
    let form = b.get("/devices/add").await;
    assert!(form.body.contains("<h1>別の端末を追加</h1>"));
    assert!(
        form.body
            .contains("<label for=\"device-name\">追加する端末の名前</label>")
    );
    assert!(
        form.body
            .contains("<label for=\"otp\">ワンタイムパスワード</label>")
    );
    assert!(
        !form.body.contains("id=\"trade-password\""),
        "not configured"
    );
    let no_name = b
        .post(
            "/devices/add",
            &[("name", " "), ("code", &phone.code(&clock))],
        )
        .await;
    assert_eq!(no_name.status, StatusCode::BAD_REQUEST);
    assert!(no_name.error().unwrap().contains("名前を入力してください"));
    let wrong_code = b
        .post(
            "/devices/add",
            &[("name", "iPad"), ("code", &wrong(&phone.code(&clock)))],
        )
        .await;
    assert_eq!(wrong_code.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong_code.error(),
        Some(engine_text(&EngineError::Refused(Refusal::WrongCode)))
    );
    assert_eq!(
        wrong_code.attr_of("device-name", "value").as_deref(),
        Some("iPad")
    );
    assert!(!wrong_code.body.contains("id=\"setup-key\""));
    assert_eq!(b.get("/devices/register").await.location(), "/account");

    clock.advance(30);
    let register = b.add_device("iPad", &phone.code(&clock), None).await;
    assert!(register.body.contains("<h1>別の端末を追加 -登録-</h1>"));
    assert_eq!(
        register.text_of("device-name-shown").as_deref(),
        Some("iPad")
    );
    assert!(
        register
            .body
            .contains("role=\"img\" aria-label=\"登録用二次元バーコード")
    );
    assert!(register.body.contains("<code id=\"setup-key\" hidden>"));
    assert!(register.body.contains("<td class=\"account-name\">"));
    assert!(
        register
            .body
            .contains("<td class=\"key-type\">時間ベース</td>")
    );
    assert_ne!(register.copy_key(), first_key, "its own secret");
    let tablet = App::scan(&register);
    assert_eq!(
        register.attr_of("next-button", "href").as_deref(),
        Some("/devices/confirm")
    );

    // Pending: listed as such, removable, and no login with its code yet.
    let account = b.get("/account").await;
    assert_eq!(account.text_of("app-2-name").as_deref(), Some("iPad"));
    assert_eq!(
        account.text_of("app-2-pending").as_deref(),
        Some("確認待ち")
    );
    assert!(account.text_of("remove-app-2").is_some());
    assert!(
        account.text_of("remove-app-1").is_none(),
        "still the only confirmed one"
    );
    assert_eq!(
        b.get("/devices/register").await.copy_key(),
        register.copy_key(),
        "the key stays until its confirmation (or the session's end)"
    );
    let out = b.post("/logout", &[]).await;
    assert_eq!(out.location(), "/login", "{}", out.body);
    clock.advance(30);
    let early = b.otp_login(TARO, &tablet.code(&clock)).await;
    assert_eq!(
        early.status,
        StatusCode::UNAUTHORIZED,
        "not before its confirmation"
    );
    let login = b.post("/login/otp", &[("code", &phone.code(&clock))]).await;
    assert_eq!(login.location(), "/account", "the phone keeps working");

    // 確認: another app's code is not the new app's first code.
    let confirm = b.get("/devices/confirm").await;
    assert!(confirm.body.contains("<h1>別の端末を追加 -確認-</h1>"));
    assert_eq!(
        confirm.text_of("device-name-shown").as_deref(),
        Some("iPad")
    );
    assert_eq!(confirm.attr_of("device-id", "value").as_deref(), Some("2"));
    clock.advance(30);
    let with_phone = b
        .post(
            "/devices/confirm",
            &[("id", "2"), ("code", &phone.code(&clock))],
        )
        .await;
    assert_eq!(with_phone.status, StatusCode::UNAUTHORIZED);
    let ok = b
        .post(
            "/devices/confirm",
            &[("id", "2"), ("code", &tablet.code(&clock))],
        )
        .await;
    assert_eq!(ok.location(), "/account", "{}", ok.body);
    let account = b.get("/account").await;
    assert!(
        account
            .text_of("notice")
            .unwrap()
            .contains("「iPad」を追加しました")
    );
    assert!(account.text_of("app-2-pending").is_none());
    assert!(account.text_of("remove-app-1").is_some() && account.text_of("remove-app-2").is_some());
    assert!(
        b.get("/account").await.text_of("notice").is_none(),
        "shown once"
    );
    assert_eq!(
        b.get("/devices/confirm").await.location(),
        "/account",
        "none pending"
    );

    // Both log in.
    b.post("/logout", &[]).await;
    clock.advance(30);
    assert_eq!(
        b.otp_login(TARO, &tablet.code(&clock)).await.location(),
        "/account"
    );
    b.post("/logout", &[]).await;
    assert_eq!(
        b.otp_login(TARO, &phone.code(&clock)).await.location(),
        "/account"
    );

    let subjects = mail_subjects(&portal).await;
    for subject in [
        "【北洋証券】認証アプリ追加のお知らせ",
        "【北洋証券】認証アプリ追加完了のお知らせ",
    ] {
        assert_eq!(
            subjects.iter().filter(|s| *s == subject).count(),
            1,
            "{subjects:?}"
        );
    }
    let rows = portal.state.db.recent_audit(TARO.0, 100).await.unwrap();
    for kind in ["authenticator_added", "authenticator_confirmed"] {
        assert!(rows.iter().any(|r| r.kind == kind), "{kind}");
    }
}

#[tokio::test]
async fn removing_an_app_needs_another_apps_code_and_the_last_cannot_be_removed() {
    let (portal, clock) = portal_with(own_devices(false)).await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let phone = b.enroll(TARO, &clock).await;
    clock.advance(30);
    let tablet = b.add_and_confirm_device("iPad", &phone, &clock, None).await;
    clock.advance(30);

    let account = b.get("/account").await;
    assert_eq!(
        account.attr_of("remove-app-2", "href").as_deref(),
        Some("/devices/remove?id=2")
    );
    let form = b.get("/devices/remove?id=2").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<h1>アプリの削除</h1>"));
    assert_eq!(form.text_of("device-name-shown").as_deref(), Some("iPad"));
    assert!(
        form.body
            .contains("<label for=\"otp\">ワンタイムパスワード</label>")
    );
    assert_eq!(
        form.text_of("remove-submit-button").as_deref(),
        Some("削除")
    );
    // Its own code does not remove it.
    let own_code = b
        .post(
            "/devices/remove",
            &[("id", "2"), ("code", &tablet.code(&clock))],
        )
        .await;
    assert_eq!(own_code.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        own_code.error(),
        Some(engine_text(&EngineError::Refused(Refusal::WrongCode)))
    );
    let unknown = b
        .post(
            "/devices/remove",
            &[("id", "9"), ("code", &phone.code(&clock))],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown.error(),
        Some(engine_text(&EngineError::UnknownAuthenticator(9)))
    );
    let removed = b
        .post(
            "/devices/remove",
            &[("id", "2"), ("code", &phone.code(&clock))],
        )
        .await;
    assert_eq!(removed.location(), "/account", "{}", removed.body);
    let account = b.get("/account").await;
    assert!(
        account
            .text_of("notice")
            .unwrap()
            .contains("「iPad」を削除しました")
    );
    assert!(account.text_of("app-2-name").is_none());
    assert!(
        account.text_of("remove-app-1").is_none(),
        "the last app has no 削除"
    );

    // The last app: no form, and the engine refuses it.
    assert_eq!(b.get("/devices/remove?id=1").await.location(), "/account");
    clock.advance(30);
    let last = b
        .post(
            "/devices/remove",
            &[("id", "1"), ("code", &phone.code(&clock))],
        )
        .await;
    assert_eq!(last.status, StatusCode::CONFLICT);
    assert_eq!(
        last.error(),
        Some(engine_text(&EngineError::LastAuthenticator))
    );
    assert_eq!(
        last.text_of("device-name-shown").as_deref(),
        Some("最初に登録したアプリ")
    );

    // The removed app no longer logs in; the phone does.
    b.post("/logout", &[]).await;
    let gone = b.otp_login(TARO, &tablet.code(&clock)).await;
    assert_eq!(gone.status, StatusCode::UNAUTHORIZED);
    let login = b.post("/login/otp", &[("code", &phone.code(&clock))]).await;
    assert_eq!(login.location(), "/account");
    let subjects = mail_subjects(&portal).await;
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.as_str() == "【北洋証券】認証アプリ削除のお知らせ")
            .count(),
        1,
        "{subjects:?}"
    );
}

#[tokio::test]
async fn in_same_mode_the_manuals_screens_are_unchanged() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let phone = b.enroll(TARO, &clock).await;
    let account = b.get("/account").await;
    assert_eq!(
        account.text_of("redisplay-button").as_deref(),
        Some("コード再表示")
    );
    assert!(account.text_of("add-device-button").is_none());
    assert!(!account.body.contains("id=\"apps\""));
    assert!(
        account.text_of("lost-phone-button").is_none(),
        "not after an app's code"
    );
    for path in ["/devices/add", "/devices/confirm", "/devices/remove?id=1"] {
        assert_eq!(b.get(path).await.location(), "/account", "{path}");
    }
    clock.advance(30);
    let add = b
        .post(
            "/devices/add",
            &[("name", "iPad"), ("code", &phone.code(&clock))],
        )
        .await;
    assert_eq!(
        add.location(),
        "/account",
        "nothing added, no code consumed"
    );
    let auth = b.get("/redisplay").await;
    assert!(!auth.body.contains("id=\"trade-password\""));
    let ok = b.post("/redisplay", &[("code", &phone.code(&clock))]).await;
    assert_eq!(ok.location(), "/redisplay/show");
    let overview = portal
        .state
        .engine
        .overview(&AccountId::new(TARO.0).unwrap())
        .await
        .unwrap();
    assert_eq!(overview.authenticators.len(), 1);
}

#[tokio::test]
async fn the_step_up_setting_asks_for_the_transaction_password_too() {
    // コード再表示 (same mode).
    let (portal, clock) = portal_with(SecondDeviceConfig {
        step_up: true,
        ..SecondDeviceConfig::default()
    })
    .await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let phone = b.enroll(TARO, &clock).await;
    clock.advance(30);
    let auth = b.get("/redisplay").await;
    assert!(
        auth.body
            .contains("<label for=\"trade-password\">取引パスワード</label>")
    );
    assert!(auth.body.contains("id=\"show-password\""));
    let code = phone.code(&clock);
    for fields in [
        &[("code", code.as_str())][..],
        &[
            ("code", code.as_str()),
            ("trade_password", "wrong-trade-pw"),
        ][..],
    ] {
        let refused = b.post("/redisplay", fields).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(
            refused
                .error()
                .unwrap()
                .contains("取引パスワードが正しくありません")
        );
        assert!(!refused.body.contains("id=\"setup-key\""));
    }
    // The code was not consumed by the refusals.
    let ok = b
        .post("/redisplay", &[("code", &code), ("trade_password", TARO.2)])
        .await;
    assert_eq!(ok.location(), "/redisplay/show", "{}", ok.body);
    // The engine itself requires the step-up.
    clock.advance(30);
    let account = AccountId::new(TARO.0).unwrap();
    let bare = portal
        .state
        .engine
        .redisplay(&account, &phone.code(&clock))
        .await;
    assert!(
        matches!(bare, Err(EngineError::StepUp(_))),
        "{:?}",
        bare.map(|_| ())
    );

    // 別の端末を追加 (own mode).
    let (portal, clock) = portal_with(own_devices(true)).await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let phone = b.enroll(TARO, &clock).await;
    clock.advance(30);
    let form = b.get("/devices/add").await;
    assert!(form.body.contains("id=\"trade-password\""));
    let code = phone.code(&clock);
    let refused = b
        .post(
            "/devices/add",
            &[("name", "iPad"), ("code", &code), ("trade_password", "x")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused
            .error()
            .unwrap()
            .contains("取引パスワードが正しくありません")
    );
    assert!(!refused.body.contains("id=\"setup-key\""));
    let register = b.add_device("iPad", &code, Some(TARO.2)).await;
    assert!(register.body.contains("id=\"setup-key\""));
    clock.advance(30);
    let account = AccountId::new(TARO.0).unwrap();
    let bare = portal
        .state
        .engine
        .add_authenticator(&account, "iPad", &phone.code(&clock), None)
        .await;
    assert!(
        matches!(bare, Err(EngineError::StepUp(_))),
        "{:?}",
        bare.map(|n| n.id)
    );

    // アプリの削除 asks for it as well: a device added with one phished code cannot remove
    // the customer's phone with its own code alone.
    let tablet = App::scan(&register);
    b.get("/devices/confirm").await;
    let confirmed = b
        .post(
            "/devices/confirm",
            &[("id", "2"), ("code", &tablet.code(&clock))],
        )
        .await;
    assert_eq!(confirmed.location(), "/account");
    clock.advance(30);
    let form = b.get("/devices/remove?id=1").await;
    assert!(form.body.contains("id=\"trade-password\""));
    let refused = b
        .post(
            "/devices/remove",
            &[
                ("id", "1"),
                ("code", &tablet.code(&clock)),
                ("trade_password", "x"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused
            .error()
            .unwrap()
            .contains("取引パスワードが正しくありません")
    );
    let record = portal.state.engine.store().load(&account).await.unwrap();
    assert!(
        record.unwrap().record.authenticator(1).is_some(),
        "the phone stays"
    );
    let removed = b
        .post(
            "/devices/remove",
            &[
                ("id", "1"),
                ("code", &tablet.code(&clock)),
                ("trade_password", TARO.2),
            ],
        )
        .await;
    assert_eq!(removed.location(), "/account");
}
