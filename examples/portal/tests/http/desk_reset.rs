//! The support desk: its login, the reset and the erasure.

use super::*;

#[tokio::test]
async fn the_desk_needs_its_own_login() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    // A customer's session is not an operator's.
    let page = b.get(&format!("/desk?login_id={}", TARO.0)).await;
    assert!(page.body.contains("desk-login-button"));
    assert!(!page.body.contains("reset-button"));
    let wrong_pw = b
        .post("/desk/login", &[("operator", "desk-01"), ("password", "x")])
        .await;
    assert_eq!(wrong_pw.status, StatusCode::UNAUTHORIZED);
    let unknown = b
        .post("/desk/login", &[("operator", "desk-99"), ("password", "x")])
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_pw.error(), unknown.error());
    let reset = b
        .post(
            "/desk/reset",
            &[("login_id", TARO.0), ("reason", "lost phone")],
        )
        .await;
    assert_eq!(reset.status, StatusCode::UNAUTHORIZED);
    let forget = b
        .post(
            "/desk/forget",
            &[("login_id", TARO.0), ("reason", "削除依頼")],
        )
        .await;
    assert_eq!(forget.status, StatusCode::UNAUTHORIZED);
    assert!(!forget.body.contains("forget-button"));
    for (path, fields) in [
        (
            "/desk/diagnose",
            &[("login_id", TARO.0), ("code", "123456")][..],
        ),
        (
            "/desk/unlock",
            &[("login_id", TARO.0), ("reason", "本人確認済み")][..],
        ),
        (
            "/desk/resync",
            &[
                ("login_id", TARO.0),
                ("first", "123456"),
                ("second", "234567"),
                ("reason", "時刻ずれ"),
            ][..],
        ),
    ] {
        let page = b.post(path, fields).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(page.body.contains("desk-login-button"), "{path}");
    }
    b.desk_login(DESK_01, &clock).await;
    assert!(b.cookie("desk_session").is_some());
}

#[tokio::test]
async fn the_desk_resets_a_lost_phone_with_a_mandatory_reason() {
    let (portal, clock) = portal().await;
    let mut customer = Browser::new(&portal);
    customer.login(HANAKO).await;
    let register = customer.apply(HANAKO).await;
    let key = register.copy_key();
    let app = App::scan(&register);
    customer
        .post("/apply/confirm", &[("code", &app.code(&clock))])
        .await;

    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let unknown = desk.get("/desk?login_id=9999-999999").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let page = desk.get(&format!("/desk?login_id={}", HANAKO.0)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text_of("otp-status").as_deref(), Some("利用中"));
    assert!(page.body.contains("申込完了（利用中）"), "recent events");
    assert!(!page.body.contains(&key), "no secret on the desk");
    assert!(
        !page.body.contains(&app.code(&clock)),
        "no code on the desk"
    );

    let no_reason = desk
        .post("/desk/reset", &[("login_id", HANAKO.0), ("reason", "  ")])
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    assert!(
        no_reason
            .error()
            .unwrap()
            .contains("理由を入力してください")
    );
    assert_eq!(
        desk.get(&format!("/desk?login_id={}", HANAKO.0))
            .await
            .text_of("otp-status")
            .as_deref(),
        Some("利用中")
    );

    let spoofed = desk
        .post(
            "/desk/reset",
            &[("login_id", HANAKO.0), ("reason", "lost \u{202E}enohp")],
        )
        .await;
    assert_eq!(
        spoofed.status,
        StatusCode::BAD_REQUEST,
        "a bidi control is refused"
    );
    assert!(!spoofed.error().unwrap().is_ascii());

    let done = desk
        .post(
            "/desk/reset",
            &[("login_id", HANAKO.0), ("reason", "端末紛失\n本人確認済み")],
        )
        .await;
    assert_eq!(
        done.location(),
        format!("/desk?login_id={}&done=reset", HANAKO.0)
    );
    let page = desk.get(done.location()).await;
    assert_eq!(
        page.text_of("notice").as_deref(),
        Some("ワンタイムパスワードサービスをリセットしました（未登録）。")
    );
    assert_eq!(page.text_of("otp-status").as_deref(), Some("未登録"));
    assert!(
        page.body
            .contains("サポート窓口リセット（担当 desk-01：端末紛失 本人確認済み）")
    );

    // The customer's session ended with the reset; logged in again: 未登録.
    assert_eq!(customer.get("/account").await.location(), "/login");
    customer.login(HANAKO).await;
    assert_eq!(
        customer
            .get("/account")
            .await
            .text_of("otp-status")
            .as_deref(),
        Some("未登録")
    );
    let mails = desk.get("/desk/mail").await;
    assert!(mails.body.contains("hanako@example.jp"));
    assert!(mails.body.contains("登録解除のお知らせ"));
}

#[tokio::test]
async fn the_desk_erases_a_registration_on_a_data_protection_request() {
    let (portal, clock) = portal().await;
    let mut customer = Browser::new(&portal);
    customer.login(HANAKO).await;
    customer.enroll(HANAKO, &clock).await;
    let account = AccountId::new(HANAKO.0).unwrap();
    let store = portal.state.engine.store();

    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let page = desk.get(&format!("/desk?login_id={}", HANAKO.0)).await;
    assert!(
        page.body
            .contains("個人情報削除（ご本人からの削除のご依頼）")
    );
    assert!(page.body.contains("action=\"/desk/forget\""));
    assert!(page.body.contains("<label for=\"forget-reason\">"));
    assert!(page.body.contains("id=\"forget-button\""));

    // Without the session's token nothing is erased.
    let fields = [("login_id", HANAKO.0), ("reason", "ご本人より削除依頼")];
    let forged = desk.post_raw("/desk/forget", &fields).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let wrong_token = [
        ("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        fields[0],
        fields[1],
    ];
    let forged = desk.post_raw("/desk/forget", &wrong_token).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Nor without a reason.
    desk.get(&format!("/desk?login_id={}", HANAKO.0)).await;
    let no_reason = desk
        .post(
            "/desk/forget",
            &[("login_id", HANAKO.0), ("reason", " \n ")],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    assert!(no_reason.error().unwrap().contains("個人情報削除の理由"));
    assert!(store.load(&account).await.unwrap().is_some(), "still there");
    assert_eq!(no_reason.text_of("otp-status").as_deref(), Some("利用中"));

    let done = desk
        .post(
            "/desk/forget",
            &[
                ("login_id", HANAKO.0),
                ("reason", "ご本人より削除依頼\n受付番号 A-17"),
            ],
        )
        .await;
    assert_eq!(
        done.location(),
        format!("/desk?login_id={}&done=forget", HANAKO.0)
    );
    let page = desk.get(done.location()).await;
    assert_eq!(
        page.text_of("notice").as_deref(),
        Some("ご依頼によりワンタイムパスワードサービスの登録情報を削除しました（未登録）。")
    );
    assert_eq!(page.text_of("otp-status").as_deref(), Some("未登録"));
    assert!(page.body.contains(
        "個人情報削除の依頼により登録情報を消去（担当 desk-01：ご本人より削除依頼 受付番号 A-17）"
    ));

    // The library keeps a tombstone: no record, but the row's version.
    assert!(store.load(&account).await.unwrap().is_none());
    assert!(store.version(&account).await.unwrap().is_some());
    // Audited with the operator, in the desk's request.
    let newest = &portal.state.db.recent_audit(HANAKO.0, 1).await.unwrap()[0];
    assert_eq!(newest.kind, "forgotten");
    assert!(newest.detail.contains("担当 desk-01"));
    assert_eq!(
        newest.request_id.as_deref(),
        Some(done.request_id().as_str())
    );
    // The customer is told, once.
    let mails = portal.state.db.mails(100).await.unwrap();
    let notices: Vec<_> = mails
        .iter()
        .filter(|m| m.subject.contains("登録情報消去のお知らせ"))
        .collect();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].to_address, "hanako@example.jp");

    // The customer's session ended with the erasure; logged in again: 未登録, and may
    // apply again over the tombstone.
    assert_eq!(customer.get("/account").await.location(), "/login");
    customer.login(HANAKO).await;
    assert_eq!(
        customer
            .get("/account")
            .await
            .text_of("otp-status")
            .as_deref(),
        Some("未登録")
    );
    clock.advance(30);
    customer.enroll(HANAKO, &clock).await;
    assert_eq!(
        customer
            .get("/account")
            .await
            .text_of("otp-status")
            .as_deref(),
        Some("利用中")
    );
}
