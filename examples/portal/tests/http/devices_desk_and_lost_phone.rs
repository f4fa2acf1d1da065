//! Apps at the desk, and the lost phone without the desk.

use super::*;

#[tokio::test]
async fn the_desk_shows_the_apps_by_name_and_removes_one() {
    let (portal, clock) = portal_with(own_devices(false)).await;
    let mut customer = Browser::new(&portal);
    customer.login(TARO).await;
    let phone = customer.enroll(TARO, &clock).await;
    clock.advance(30);
    let tablet = customer
        .add_and_confirm_device("iPad", &phone, &clock, None)
        .await;
    let tablet_key_probe = tablet.code(&clock);
    customer.post("/logout", &[]).await;
    clock.advance(30);

    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let page = desk_page(&mut desk, TARO.0).await;
    let table = page.body.split("id=\"authenticators\"").nth(1).unwrap();
    let table = &table[..table.find("</table>").unwrap()];
    for heading in [
        "ID",
        "名前",
        "アカウント名",
        "登録日時",
        "最終利用日時",
        "時刻のずれ",
    ] {
        assert!(table.contains(&format!(">{heading}</th>")), "{heading}");
    }
    assert!(
        table.contains("<td class=\"app-id\">1</td>")
            && table.contains("<td class=\"app-id\">2</td>")
    );
    assert_eq!(
        page.text_of("desk-app-1-name").as_deref(),
        Some("最初に登録したアプリ")
    );
    assert_eq!(page.text_of("desk-app-2-name").as_deref(), Some("iPad"));
    assert_eq!(
        page.text_of("remove-app-button-2").as_deref(),
        Some("このアプリを削除")
    );
    assert!(
        page.text_of("remove-app-button-1").is_some(),
        "either of two"
    );
    assert!(
        page.body
            .contains("<label for=\"remove-app-reason-2\">理由</label>")
    );
    assert!(!page.body.contains(&tablet_key_probe));

    // コード確認 says which app's code it is.
    let diagnosed = desk
        .post(
            "/desk/diagnose",
            &[("login_id", TARO.0), ("code", &tablet.code(&clock))],
        )
        .await;
    let page = desk.get(diagnosed.location()).await;
    let result = diagnosis(&page).unwrap();
    assert!(
        result.contains("一致したアプリ：「iPad」（ID 2）"),
        "{result}"
    );
    assert!(result.contains("そのままログインできます"), "{result}");

    // このアプリを削除: a reason is required.
    let no_reason = desk
        .post(
            "/desk/remove-authenticator",
            &[
                ("login_id", TARO.0),
                ("authenticator", "2"),
                ("reason", " "),
            ],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    assert!(
        no_reason
            .error()
            .unwrap()
            .contains("アプリの削除の理由を入力してください")
    );
    let done = desk
        .post(
            "/desk/remove-authenticator",
            &[
                ("login_id", TARO.0),
                ("authenticator", "2"),
                ("reason", "タブレット紛失、本人確認済み"),
            ],
        )
        .await;
    assert_eq!(
        done.location(),
        format!("/desk?login_id={}&done=remove-authenticator", TARO.0)
    );
    let page = desk.get(done.location()).await;
    assert!(
        page.text_of("notice")
            .unwrap()
            .contains("アプリ「iPad」（ID 2）を削除しました"),
        "{:?}",
        page.text_of("notice")
    );
    assert!(page.text_of("desk-app-2-name").is_none());
    assert!(
        page.text_of("remove-app-button-1").is_none(),
        "not for the last app"
    );
    assert!(page.body.contains("認証アプリ 2 番を削除（担当 desk-01）"));
    // The last one, posted anyway: the engine refuses it.
    let last = desk
        .post(
            "/desk/remove-authenticator",
            &[
                ("login_id", TARO.0),
                ("authenticator", "1"),
                ("reason", "誤操作"),
            ],
        )
        .await;
    assert_eq!(last.status, StatusCode::CONFLICT);
    let error = last.error().unwrap();
    assert!(
        error.starts_with(&engine_text(&EngineError::LastAuthenticator)),
        "{error}"
    );
    assert!(error.contains("リセット"), "{error}");
    assert_eq!(last.text_of("otp-status").as_deref(), Some("利用中"));

    // The customer: the tablet no longer logs in, and a mail tells of the removal.
    let refused = customer.otp_login(TARO, &tablet.code(&clock)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let subjects = mail_subjects(&portal).await;
    assert!(
        subjects
            .iter()
            .any(|s| s == "【北洋証券】認証アプリ削除のお知らせ"),
        "{subjects:?}"
    );
}

#[tokio::test]
async fn a_lost_phone_is_stopped_with_a_recovery_code_then_applied_for_again() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let (_lost_phone, codes) = b.enroll_with_codes(TARO, &clock).await;
    b.post("/logout", &[]).await;
    clock.advance(30);

    let recovered = b.recovery_login(TARO, &codes[0]).await;
    assert_eq!(recovered.location(), "/account");
    let account = b.get("/account").await;
    assert!(
        account
            .text_of("recovery-login-notice")
            .unwrap()
            .contains("「スマートフォンを紛失した場合：利用停止」")
    );
    assert_eq!(
        account.text_of("lost-phone-button").as_deref(),
        Some("スマートフォンを紛失した場合：利用停止")
    );
    assert_eq!(
        account.attr_of("lost-phone-button", "href").as_deref(),
        Some("/stop/lost")
    );
    let form = b.get("/stop/lost").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body
            .contains("<h1>スマートフォンを紛失した場合の利用停止</h1>")
    );
    assert!(
        form.body
            .contains("<label for=\"recovery-code\">リカバリーコード</label>")
    );
    assert!(
        form.body
            .contains("<label for=\"trade-password\">取引パスワード</label>")
    );
    assert!(
        form.text_of("other-apps-note").is_none(),
        "same mode: one app"
    );

    // A wrong transaction password uses up nothing.
    let wrong_pw = b
        .post(
            "/stop/lost",
            &[
                ("recovery_code", &codes[1]),
                ("trade_password", "wrong-trade-pw"),
            ],
        )
        .await;
    assert_eq!(wrong_pw.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong_pw
            .error()
            .unwrap()
            .contains("取引パスワードが正しくありません")
    );
    // The code used for the login is used up.
    let used = b
        .post(
            "/stop/lost",
            &[("recovery_code", &codes[0]), ("trade_password", TARO.2)],
        )
        .await;
    assert_eq!(used.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        used.error(),
        Some(totp_enroll_portal::LOCALE.recovery_code_refusal(&Refusal::WrongCode))
    );
    assert_eq!(
        b.get("/account").await.text_of("otp-status").as_deref(),
        Some("利用中")
    );

    let stopped = b
        .post(
            "/stop/lost",
            &[("recovery_code", &codes[1]), ("trade_password", TARO.2)],
        )
        .await;
    assert_eq!(stopped.location(), "/stop/done", "{}", stopped.body);
    let done = b.get("/stop/done").await;
    assert!(done.body.contains("<h1>サービス利用停止 -受付-</h1>"));
    let account = b.get("/account").await;
    assert_eq!(account.text_of("otp-status").as_deref(), Some("未登録"));
    assert!(account.text_of("lost-phone-button").is_none());
    assert_eq!(b.get("/stop/lost").await.location(), "/account");

    // The mails: the login's recovery code, then the stop (not a second "login").
    let subjects = mail_subjects(&portal).await;
    let count = |subject: &str| subjects.iter().filter(|s| s.contains(subject)).count();
    assert_eq!(
        count("リカバリーコードによるログインのお知らせ"),
        1,
        "{subjects:?}"
    );
    assert_eq!(count("利用停止のお知らせ"), 1, "{subjects:?}");
    let rows = portal.state.db.recent_audit(TARO.0, 100).await.unwrap();
    assert!(
        rows.iter()
            .any(|r| r.detail == totp_enroll_portal::notify::STOPPED_WITH_RECOVERY_CODE)
    );
    assert!(rows.iter().any(|r| r.kind == "stopped"));

    // 申込 with the new phone, as usual; the old recovery codes are gone.
    let new_phone = b.enroll(TARO, &clock).await;
    b.get("/apply/done").await;
    b.post("/logout", &[]).await;
    clock.advance(30);
    let old = b.recovery_login(TARO, &codes[2]).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let login = b.otp_login(TARO, &new_phone.code(&clock)).await;
    assert_eq!(login.location(), "/account");
}

#[tokio::test]
async fn in_own_mode_the_lost_phone_page_points_to_removing_one_app() {
    let (portal, clock) = portal_with(own_devices(false)).await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let (phone, codes) = b.enroll_with_codes(TARO, &clock).await;
    clock.advance(30);
    b.add_and_confirm_device("iPad", &phone, &clock, None).await;
    b.post("/logout", &[]).await;
    assert_eq!(
        b.recovery_login(TARO, &codes[0]).await.location(),
        "/account"
    );
    let page = b.get("/stop/lost").await;
    assert!(
        page.text_of("other-apps-note")
            .unwrap()
            .contains("「削除」")
    );
    let stopped = b
        .post(
            "/stop/lost",
            &[("recovery_code", &codes[1]), ("trade_password", TARO.2)],
        )
        .await;
    assert_eq!(stopped.location(), "/stop/done");
    let overview = portal
        .state
        .engine
        .overview(&AccountId::new(TARO.0).unwrap())
        .await
        .unwrap();
    assert!(overview.authenticators.is_empty(), "every app erased");
    assert_eq!(overview.recovery_codes_remaining, 0);
}

#[tokio::test]
async fn the_new_screens_label_every_field() {
    let (portal, clock) = portal_with(own_devices(true)).await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let (phone, codes) = b.enroll_with_codes(TARO, &clock).await;
    clock.advance(30);
    let mut pages = vec![b.get("/devices/add").await];
    pages.push(
        b.add_device("iPad", &phone.code(&clock), Some(TARO.2))
            .await,
    );
    pages.push(b.get("/devices/confirm").await);
    pages.push(b.get("/devices/remove?id=2").await);
    pages.push(b.get("/account").await);
    b.post("/logout", &[]).await;
    b.recovery_login(TARO, &codes[0]).await;
    pages.push(b.get("/account").await);
    pages.push(b.get("/stop/lost").await);
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    pages.push(desk_page(&mut desk, TARO.0).await);
    for page in &pages {
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_every_field_labelled(page);
    }
}
