//! リカバリーコード.

use super::*;

#[tokio::test]
async fn the_confirmation_shows_ten_recovery_codes_once() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let app = App::scan(&b.apply(TARO).await);
    b.get("/apply/confirm").await;
    let confirmed = b
        .post("/apply/confirm", &[("code", &app.code(&clock))])
        .await;
    assert_eq!(confirmed.location(), "/apply/done", "no code in the URL");

    let done = b.get("/apply/done").await;
    assert_eq!(done.status, StatusCode::OK);
    assert_eq!(done.headers["cache-control"], "no-store");
    assert!(done.body.contains("<h1>サービス申込 -受付-</h1>"));
    let codes = done.recovery_codes();
    assert_eq!(codes.len(), 10);
    assert!(
        codes.iter().all(|c| is_grouped_recovery_code(c)),
        "{codes:?}"
    );
    assert_eq!(codes.iter().collect::<BTreeSet<_>>().len(), 10, "distinct");
    let section = &done.body[done.body.find("id=\"recovery-codes-caution\"").unwrap()..];
    assert!(section.contains("この画面で一度だけ表示します"));
    assert!(section.contains("印刷する、紙に書き写すなど"));
    assert!(section.contains("各コードは1回だけ使用できます"));
    assert!(done.text_of("recovery-codes-gone").is_none());

    // A reload (or a prefetch) shows them again, until 「登録情報照会へ」; after it, the
    // page is without them, and so is a later visit.
    assert_eq!(b.get("/apply/done").await.recovery_codes(), codes);
    let left = b.post("/apply/done", &[]).await;
    assert_eq!(left.location(), "/account");
    let reload = b.get("/apply/done").await;
    assert_eq!(reload.status, StatusCode::OK);
    assert!(reload.recovery_codes().is_empty());
    assert!(
        reload
            .text_of("recovery-codes-gone")
            .unwrap()
            .contains("再度表示することはできません")
    );
    b.get("/account").await;
    let later = b.get("/apply/done").await;
    for page in [&reload, &later] {
        for code in &codes {
            assert!(!page.body.contains(code.as_str()), "shown once only");
        }
    }
    // Nor anywhere else: the account page, the mails, the desk.
    let account = b.get("/account").await;
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let mails = desk.get("/desk/mail").await;
    let looked_up = desk.get(&format!("/desk?login_id={}", TARO.0)).await;
    assert!(
        looked_up.body.contains("リカバリーコード発行（10 個）"),
        "the desk sees that codes were issued, not the codes"
    );
    for page in [&account, &mails, &looked_up] {
        for code in &codes {
            assert!(!page.body.contains(code.as_str()));
            assert!(!page.body.contains(&code.replace('-', "")));
        }
    }
}

#[tokio::test]
async fn a_recovery_code_logs_in_once_and_a_second_use_is_refused() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let (_app, codes) = b.enroll_with_codes(TARO, &clock).await;
    b.post("/logout", &[]).await;

    // Only after the password step: not from another browser, not before.
    let mut other = Browser::new(&portal);
    assert_eq!(other.get("/login/recovery").await.location(), "/login");
    other.get("/login").await;
    let skipped = other
        .post("/login/recovery", &[("recovery_code", &codes[0])])
        .await;
    assert_eq!(skipped.location(), "/login");

    let page = b.password_step(TARO).await;
    assert_eq!(page.location(), "/login/otp");
    let otp = b.get("/login/otp").await;
    assert_eq!(
        otp.text_of("recovery-link").as_deref(),
        Some("リカバリーコードでログイン")
    );
    assert_eq!(
        otp.attr_of("recovery-link", "href").as_deref(),
        Some("/login/recovery")
    );
    let form = b.get("/login/recovery").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<h1>リカバリーコードでログイン</h1>"));
    assert!(
        form.body
            .contains("<label for=\"recovery-code\">リカバリーコード</label>")
    );
    assert_eq!(
        form.text_of("recovery-login-button").as_deref(),
        Some("ログイン")
    );
    // Still not logged in.
    assert_eq!(b.get("/account").await.location(), "/login");

    let after_password = b.cookie("portal_session").cloned().unwrap();
    // As a customer may type it: lower case, spaces for the hyphens.
    let typed = codes[0].to_lowercase().replace('-', " ");
    let ok = b
        .post("/login/recovery", &[("recovery_code", &typed)])
        .await;
    assert_eq!(ok.location(), "/account", "{}", ok.body);
    assert_ne!(
        b.cookie("portal_session").unwrap(),
        &after_password,
        "rotated after the recovery code"
    );
    let account = b.get("/account").await;
    assert_eq!(account.text_of("otp-status").as_deref(), Some("利用中"));
    let notice = account.text_of("recovery-login-notice").unwrap();
    assert!(notice.contains("残り9個です"), "{notice}");
    assert_eq!(
        account.text_of("recovery-codes-left").as_deref(),
        Some("9 個")
    );
    assert!(notice.contains("アプリを登録し直し"), "{notice}");
    assert!(notice.contains("リカバリーコードの再発行"), "{notice}");
    assert!(
        account
            .body
            .contains("class=\"notice\" id=\"recovery-login-notice\"")
    );
    assert!(
        b.get("/account")
            .await
            .text_of("recovery-login-notice")
            .is_none(),
        "the notice is shown once"
    );
    b.post("/logout", &[]).await;

    // The same code again: refused, in the recovery code's wording.
    let again = b.recovery_login(TARO, &codes[0]).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(again.body.contains("<h1>リカバリーコードでログイン</h1>"));
    assert_eq!(
        again.error().as_deref(),
        Some(
            totp_enroll::Locale::JA_JST
                .recovery_code_refusal(&totp_enroll::error::Refusal::WrongCode)
                .as_str()
        )
    );
    assert_eq!(b.get("/account").await.location(), "/login");
    // Malformed input: 400 with the input rules.
    b.password_step(TARO).await;
    b.get("/login/recovery").await;
    let malformed = b
        .post("/login/recovery", &[("recovery_code", "7K3M-9QXR-2HV8")])
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(malformed.error().unwrap().contains("英数字16文字"));
    // Another code of the set still works.
    let second = b
        .post("/login/recovery", &[("recovery_code", &codes[1])])
        .await;
    assert_eq!(second.location(), "/account");
    assert!(
        b.get("/account")
            .await
            .text_of("recovery-login-notice")
            .unwrap()
            .contains("残り8個です")
    );

    // Each use is mailed to the customer and audited.
    deliver(&portal).await;
    let mails = portal.state.db.mails(100).await.unwrap();
    let used: Vec<_> = mails
        .iter()
        .filter(|m| {
            m.subject
                .contains("リカバリーコードによるログインのお知らせ")
        })
        .collect();
    assert_eq!(used.len(), 2);
    assert_eq!(used[0].to_address, "taro@example.jp");
    assert_eq!(
        used[0].body.matches("お心当たり").count(),
        1,
        "one 'if this was not you': {}",
        used[0].body
    );
    let rows = portal.state.db.recent_audit(TARO.0, 100).await.unwrap();
    assert_eq!(
        rows.iter()
            .filter(|r| r.kind == "recovery_code_used")
            .count(),
        2
    );
    for row in &rows {
        for code in &codes {
            assert!(!row.detail.contains(code.as_str()));
        }
    }
}

#[tokio::test]
async fn few_remaining_recovery_codes_get_an_urgent_notice_and_a_mail() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    let (_app, codes) = b.enroll_with_codes(TARO, &clock).await;
    b.post("/logout", &[]).await;
    for (used, code) in codes.iter().enumerate() {
        let ok = b.recovery_login(TARO, code).await;
        assert_eq!(ok.location(), "/account");
        let account = b.get("/account").await;
        let remaining = 9 - used;
        let notice = account.text_of("recovery-login-notice").unwrap();
        if remaining > 3 {
            assert!(
                notice.contains(&format!("残り{remaining}個です")),
                "{notice}"
            );
            assert!(
                account
                    .body
                    .contains("class=\"notice\" id=\"recovery-login-notice\"")
            );
        } else {
            assert!(
                account
                    .body
                    .contains("class=\"error\" id=\"recovery-login-notice\" role=\"alert\""),
                "{remaining} left: an alert"
            );
            assert!(notice.contains("至急"), "{notice}");
            if remaining > 0 {
                assert!(notice.contains(&format!("残り{remaining}個しかありません")));
            } else {
                assert!(notice.contains("もうありません"), "{notice}");
            }
        }
        b.post("/logout", &[]).await;
    }
    // All used: none is accepted any more.
    let refused = b.recovery_login(TARO, &codes[9]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    deliver(&portal).await;
    let mails = portal.state.db.mails(100).await.unwrap();
    let low = mails
        .iter()
        .filter(|m| m.subject.contains("リカバリーコード残りわずかのお知らせ"))
        .count();
    assert_eq!(low, 4, "3, 2, 1 and 0 left");
}

#[tokio::test]
async fn wrong_recovery_codes_count_with_wrong_codes_and_lock_the_service() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(HANAKO).await;
    let (app, codes) = b.enroll_with_codes(HANAKO, &clock).await;
    b.post("/logout", &[]).await;
    clock.advance(30);
    let account = AccountId::new(HANAKO.0).unwrap();
    let not_issued = "0000-0000-0000-0000";

    // Malformed input is not counted.
    b.password_step(HANAKO).await;
    b.get("/login/recovery").await;
    for _ in 0..5 {
        let page = b.post("/login/recovery", &[("recovery_code", "abc")]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
    }
    // A wrong one-time code and two wrong recovery codes: three failures in one counter.
    b.get("/login/otp").await;
    let first = b
        .post("/login/otp", &[("code", &wrong(&app.code(&clock)))])
        .await;
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    b.get("/login/recovery").await;
    let second = b
        .post("/login/recovery", &[("recovery_code", not_issued)])
        .await;
    assert_eq!(second.status, StatusCode::UNAUTHORIZED);
    // The third starts the backoff and says so on its own page.
    let third = b
        .post("/login/recovery", &[("recovery_code", not_issued)])
        .await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        third.error().unwrap().starts_with(
            "リカバリーコードが正しくないか、既に使用されています。誤入力が続いたため、"
        ),
        "{:?}",
        third.error()
    );
    // The 3rd failure imposed 30 s of backoff: even a right recovery code is refused.
    let throttled = b
        .post("/login/recovery", &[("recovery_code", &codes[0])])
        .await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers["retry-after"], "30");
    assert!(
        throttled
            .error()
            .unwrap()
            .contains("2025年11月25日 01:01:00（日本時間）以降"),
        "{:?}",
        throttled.error()
    );
    let status = portal.state.engine.status(&account).await.unwrap();
    assert!(
        matches!(
            status,
            totp_enroll::Status::Active {
                access: totp_enroll::Access::Throttled { .. },
                ..
            }
        ),
        "{status:?}"
    );

    // Fail until locked (the 10th consecutive failure).
    let mut last = throttled;
    for _ in 0..30 {
        clock.advance(15 * 60 + 1); // past the longest backoff; the password step again
        b.password_step(HANAKO).await;
        b.get("/login/recovery").await;
        last = b
            .post("/login/recovery", &[("recovery_code", not_issued)])
            .await;
        assert_ne!(last.status, StatusCode::SEE_OTHER);
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
    // Locked: neither an unused recovery code nor the right one-time code logs in.
    let locked = b
        .post("/login/recovery", &[("recovery_code", &codes[1])])
        .await;
    assert_eq!(locked.status, StatusCode::FORBIDDEN);
    b.get("/login/otp").await;
    let locked = b.post("/login/otp", &[("code", &app.code(&clock))]).await;
    assert_eq!(locked.status, StatusCode::FORBIDDEN);
    assert!(matches!(
        portal.state.engine.status(&account).await.unwrap(),
        totp_enroll::Status::Active {
            access: totp_enroll::Access::Locked,
            ..
        }
    ));
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let page = desk.get(&format!("/desk?login_id={}", HANAKO.0)).await;
    assert!(page.body.contains("ロック中"), "the desk sees the lock");
    let mails = desk.get("/desk/mail").await;
    assert!(
        mails
            .body
            .contains("ワンタイムパスワード認証ロックのお知らせ")
    );
}

#[tokio::test]
async fn issuing_new_recovery_codes_invalidates_the_old_set() {
    let (portal, clock) = portal().await;
    let mut b = Browser::new(&portal);
    b.login(TARO).await;
    // Not while 未登録.
    assert_eq!(b.get("/recovery-codes").await.location(), "/account");
    let (app, old) = b.enroll_with_codes(TARO, &clock).await;
    let account = b.get("/account").await;
    assert_eq!(
        account.text_of("recovery-codes-button").as_deref(),
        Some("リカバリーコードの再発行")
    );
    assert_eq!(
        account.attr_of("recovery-codes-button", "href").as_deref(),
        Some("/recovery-codes")
    );
    // Nothing to show before a new set is issued.
    assert_eq!(b.get("/recovery-codes/show").await.location(), "/account");

    let form = b.get("/recovery-codes").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<h1>リカバリーコードの再発行</h1>"));
    assert!(
        form.body
            .contains("<label for=\"otp\">ワンタイムパスワード</label>")
    );
    assert_eq!(
        form.text_of("recovery-issue-button").as_deref(),
        Some("発行")
    );
    assert!(
        form.body
            .contains("<label for=\"trade-password\">取引パスワード</label>")
    );
    clock.advance(30);
    let refused = b
        .post(
            "/recovery-codes",
            &[
                ("code", &wrong(&app.code(&clock))),
                ("trade_password", TARO.2),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.body.contains("<h1>リカバリーコードの再発行</h1>"));
    assert!(refused.recovery_codes().is_empty());
    // One phished code is not enough: without the transaction password nothing is issued,
    // and the code is not consumed.
    let no_step_up = b
        .post(
            "/recovery-codes",
            &[
                ("code", &app.code(&clock)),
                ("trade_password", "wrong-trade-pw"),
            ],
        )
        .await;
    assert_eq!(no_step_up.status, StatusCode::UNAUTHORIZED);
    assert!(
        no_step_up
            .error()
            .unwrap()
            .contains("取引パスワードが正しくありません")
    );
    assert!(no_step_up.recovery_codes().is_empty());

    let issued = b
        .post(
            "/recovery-codes",
            &[("code", &app.code(&clock)), ("trade_password", TARO.2)],
        )
        .await;
    assert_eq!(
        issued.location(),
        "/recovery-codes/show",
        "no code in the URL"
    );
    // The one-time code was consumed.
    b.get("/recovery-codes").await;
    let replay = b
        .post(
            "/recovery-codes",
            &[("code", &app.code(&clock)), ("trade_password", TARO.2)],
        )
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert!(replay.error().unwrap().contains("既に使用されています"));

    let show = b.get("/recovery-codes/show").await;
    assert_eq!(show.status, StatusCode::OK);
    assert_eq!(show.headers["cache-control"], "no-store");
    let new = show.recovery_codes();
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| is_grouped_recovery_code(c)));
    assert!(new.iter().all(|c| !old.contains(c)), "a fresh set");
    assert!(show.body.contains("この画面で一度だけ表示します"));
    // Shown until 「登録情報照会へ」, then never again.
    assert_eq!(b.get("/recovery-codes/show").await.recovery_codes(), new);
    let left = b.post("/recovery-codes/show", &[]).await;
    assert_eq!(left.location(), "/account");
    let reload = b.get("/recovery-codes/show").await;
    assert_eq!(reload.location(), "/account");
    b.post("/logout", &[]).await;

    // The old set no longer works; the new one does.
    let stale = b.recovery_login(TARO, &old[5]).await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED);
    assert!(stale.error().unwrap().contains("リカバリーコード"));
    b.get("/login/recovery").await;
    let ok = b
        .post("/login/recovery", &[("recovery_code", &new[0])])
        .await;
    assert_eq!(ok.location(), "/account");
    assert!(
        b.get("/account")
            .await
            .text_of("recovery-login-notice")
            .unwrap()
            .contains("残り9個です")
    );

    deliver(&portal).await;
    let mails = portal.state.db.mails(100).await.unwrap();
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.subject.contains("リカバリーコード発行のお知らせ"))
            .count(),
        2,
        "with the confirmation and again"
    );
    let rows = portal.state.db.recent_audit(TARO.0, 100).await.unwrap();
    let issued_rows: Vec<_> = rows
        .iter()
        .filter(|r| r.kind == "recovery_codes_issued")
        .collect();
    assert_eq!(issued_rows.len(), 2);
    for page in [mailbox(&portal, &clock).await] {
        for code in old.iter().chain(&new) {
            assert!(!page.body.contains(code.as_str()));
        }
    }
}
