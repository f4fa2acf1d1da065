//! The support desk's tools: overview, code check, unlock, resync.

use super::*;

#[tokio::test]
async fn the_desk_overview_shows_the_counts_the_lock_state_and_the_drift() {
    let (portal, clock) = portal().await;
    let mut customer = Browser::new(&portal);
    customer.login(HANAKO).await;
    let (app, codes) = customer.enroll_with_codes(HANAKO, &clock).await;
    customer.post("/logout", &[]).await;
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;

    let page = desk_page(&mut desk, HANAKO.0).await;
    assert_eq!(page.text_of("otp-status").as_deref(), Some("利用中"));
    assert_eq!(
        page.text_of("desk-recovery-codes").as_deref(),
        Some("10 個")
    );
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("0 回"));
    assert_eq!(page.text_of("desk-lock").as_deref(), Some("なし"));
    let table = page.body.split("id=\"authenticators\"").nth(1).unwrap();
    let table = &table[..table.find("</table>").unwrap()];
    for heading in ["アカウント名", "登録日時", "最終利用日時", "時刻のずれ"] {
        assert!(table.contains(heading), "{heading}");
    }
    // Confirmed at T0 (01:00:00 JST), with the code of that step.
    assert_eq!(
        table.matches("2025年11月25日 01:00:00（日本時間）").count(),
        2
    );
    assert!(table.contains("0秒（ずれなし）"), "{table}");

    // A login with a recovery code, then one with an app 30 s fast.
    clock.advance(30);
    let recovered = customer.recovery_login(HANAKO, &codes[0]).await;
    assert_eq!(recovered.location(), "/account");
    customer.get("/account").await;
    customer.post("/logout", &[]).await;
    clock.advance(30);
    customer.password_step(HANAKO).await;
    customer.get("/login/otp").await;
    let fast = app.code_off_by(&clock, 30);
    let login = customer.post("/login/otp", &[("code", &fast)]).await;
    assert_eq!(login.location(), "/account");
    customer.get("/account").await;
    customer.post("/logout", &[]).await;
    // Then one wrong code.
    customer.password_step(HANAKO).await;
    customer.get("/login/otp").await;
    let refused = customer
        .post("/login/otp", &[("code", &wrong(&app.code(&clock)))])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    let page = desk_page(&mut desk, HANAKO.0).await;
    assert_eq!(page.text_of("desk-recovery-codes").as_deref(), Some("9 個"));
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("1 回"));
    assert_eq!(page.text_of("desk-lock").as_deref(), Some("なし"));
    let table = page.body.split("id=\"authenticators\"").nth(1).unwrap();
    let table = &table[..table.find("</table>").unwrap()];
    assert!(
        table.contains("+30秒（1ステップ進み）"),
        "the fast app's offset: {table}"
    );
    // Last used: the fast login (the engine's time of it, at T0 + 60 s or its code's step
    // at T0 + 90 s), in JST.
    let account = AccountId::new(HANAKO.0).unwrap();
    let overview = portal.state.engine.overview(&account).await.unwrap();
    let last_used = overview.authenticators[0].last_used_at.unwrap();
    assert!(
        (T0 as u64 + 60..=T0 as u64 + 90).contains(&last_used),
        "{last_used}"
    );
    let shown = totp_enroll_portal::LOCALE.time(last_used);
    assert!(table.contains(&shown), "last used {shown}: {table}");
    assert!(!page.body.contains(&fast), "no code on the desk");
    assert!(
        !page.body.contains(&codes[0]),
        "no recovery code on the desk"
    );

    // Two more wrong codes: the third failure imposes 30 s of backoff.
    for _ in 0..2 {
        customer
            .post("/login/otp", &[("code", &wrong(&app.code(&clock)))])
            .await;
    }
    let page = desk_page(&mut desk, HANAKO.0).await;
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("3 回"));
    assert_eq!(
        page.text_of("desk-lock").as_deref(),
        Some("一時停止中（2025年11月25日 01:01:30（日本時間）まで）")
    );
}

#[tokio::test]
async fn the_desks_code_check_tells_the_drift_counts_a_failure_and_consumes_nothing() {
    let (portal, clock) = portal().await;
    let mut customer = Browser::new(&portal);
    customer.login(HANAKO).await;
    let app = customer.enroll(HANAKO, &clock).await;
    let confirmation = app.code(&clock);
    customer.post("/logout", &[]).await;
    clock.advance(30);
    deliver(&portal).await;
    let mails_before = portal.state.db.mails(100).await.unwrap().len();

    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let page = desk_page(&mut desk, HANAKO.0).await;
    assert!(page.body.contains("action=\"/desk/diagnose\""));
    assert!(
        page.body
            .contains("<label for=\"diagnose-code\">読み上げられたコード</label>")
    );
    assert!(
        page.body
            .contains("1回の確認ごとに認証の失敗1回として数えられ")
    );
    assert!(diagnosis(&page).is_none());

    // The operator's token is needed: a forged check counts nothing.
    let fast = app.code_off_by(&clock, 240);
    let forged = desk
        .post_raw("/desk/diagnose", &[("login_id", HANAKO.0), ("code", &fast)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        desk_page(&mut desk, HANAKO.0)
            .await
            .text_of("desk-failures")
            .as_deref(),
        Some("0 回")
    );

    // A code 8 steps ahead: the phone is about 4 minutes fast.
    let checked = desk
        .post("/desk/diagnose", &[("login_id", HANAKO.0), ("code", &fast)])
        .await;
    assert_eq!(checked.status, StatusCode::SEE_OTHER);
    assert_eq!(
        checked.location(),
        format!("/desk?login_id={}&done=diagnose", HANAKO.0)
    );
    assert!(!checked.location().contains(&fast), "no code in the URL");
    let page = desk.get(checked.location()).await;
    let result = diagnosis(&page).unwrap();
    assert!(
        result.contains("お客さまのスマートフォンの時刻が約4分進んでいます（8ステップ）。"),
        "{result}"
    );
    assert!(
        result.contains("このずれではログインできません"),
        "{result}"
    );
    assert!(
        page.text_of("diagnosis-note")
            .unwrap()
            .contains("1回ごとにワンタイムパスワードの認証失敗1回として数えられます（現在の連続失敗回数：1 回）"),
        "{:?}",
        page.text_of("diagnosis-note")
    );
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("1 回"));
    assert!(!page.body.contains(&fast), "the code is not echoed");
    assert!(
        page.body
            .contains("コード確認（8 ステップのずれ・担当 desk-01・連続失敗 1 回）"),
        "audited with the operator"
    );
    // Shown once: a reload shows the page without it.
    assert!(diagnosis(&desk.get(checked.location()).await).is_none());
    // Nobody was logged in, in the desk's browser or elsewhere.
    assert_eq!(desk.get("/account").await.location(), "/login");
    assert_eq!(customer.get("/account").await.location(), "/login");
    let newest = &portal.state.db.recent_audit(HANAKO.0, 1).await.unwrap()[0];
    assert_eq!(newest.kind, "diagnosed");

    // Nothing was consumed: when the phone's code is the current one, it logs in.
    clock.advance(240);
    customer.password_step(HANAKO).await;
    customer.get("/login/otp").await;
    let login = customer.post("/login/otp", &[("code", &fast)]).await;
    assert_eq!(login.location(), "/account", "{:?}", login.error());
    customer.get("/account").await;
    customer.post("/logout", &[]).await;
    let page = desk_page(&mut desk, HANAKO.0).await;
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("0 回"));

    // The code just used, and the confirmation's: already used.
    for used in [&fast, &confirmation] {
        let checked = desk
            .post("/desk/diagnose", &[("login_id", HANAKO.0), ("code", used)])
            .await;
        let result = diagnosis(&desk.get(checked.location()).await).unwrap();
        assert!(result.contains("既に使用済みのコードです。"), "{result}");
    }
    // A slow phone's code (later than the login's: older ones count as used).
    clock.advance(300);
    let slow = app.code_off_by(&clock, -60);
    let checked = desk
        .post("/desk/diagnose", &[("login_id", HANAKO.0), ("code", &slow)])
        .await;
    let result = diagnosis(&desk.get(checked.location()).await).unwrap();
    assert!(
        result.contains("お客さまのスマートフォンの時刻が約1分遅れています（2ステップ）。"),
        "{result}"
    );
    // A code of no step within a day (another account's, or a clock far off).
    let none = matching_no_step(&app, &clock);
    let checked = desk
        .post("/desk/diagnose", &[("login_id", HANAKO.0), ("code", &none)])
        .await;
    let page = desk.get(checked.location()).await;
    let result = diagnosis(&page).unwrap();
    assert!(
        result.contains("一致するコードがありません（前後1日）。"),
        "{result}"
    );
    assert!(result.contains("北洋証券オンラインサービス"), "{result}");
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("4 回"));
    // The 3rd failure imposed a backoff; the desk's check does not wait for it.
    assert!(page.text_of("desk-lock").unwrap().starts_with("一時停止中"));

    // Malformed input is refused on the same page and not counted.
    let malformed = desk
        .post(
            "/desk/diagnose",
            &[("login_id", HANAKO.0), ("code", "12ab")],
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(
        malformed
            .error()
            .unwrap()
            .contains("数字で入力してください")
    );
    assert_eq!(malformed.text_of("desk-failures").as_deref(), Some("4 回"));
    assert!(!malformed.body.contains("12ab"), "the input is not echoed");

    // No customer mail for a check.
    deliver(&portal).await;
    assert_eq!(
        portal.state.db.mails(100).await.unwrap().len(),
        mails_before
    );
}

#[tokio::test]
async fn the_desk_unlocks_after_a_lock_and_keeps_the_recovery_codes() {
    let (portal, clock) = portal().await;
    let mut customer = Browser::new(&portal);
    customer.login(HANAKO).await;
    let (app, codes) = customer.enroll_with_codes(HANAKO, &clock).await;
    customer.post("/logout", &[]).await;
    clock.advance(30);

    // Every check counts: ten of a code that matches nothing lock the service.
    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let page = desk_page(&mut desk, HANAKO.0).await;
    assert!(page.body.contains("action=\"/desk/unlock\""));
    assert!(
        page.body
            .contains("<label for=\"unlock-reason\">理由</label>")
    );
    let none = matching_no_step(&app, &clock);
    for n in 1..=10 {
        let checked = desk
            .post("/desk/diagnose", &[("login_id", HANAKO.0), ("code", &none)])
            .await;
        assert_eq!(checked.status, StatusCode::SEE_OTHER, "check {n}");
        desk.get(checked.location()).await;
    }
    let page = desk_page(&mut desk, HANAKO.0).await;
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("10 回"));
    assert!(
        page.text_of("desk-lock").unwrap().starts_with("ロック中"),
        "{:?}",
        page.text_of("desk-lock")
    );
    // Locked: the desk's check is refused with the refusal's text.
    let locked = desk
        .post(
            "/desk/diagnose",
            &[("login_id", HANAKO.0), ("code", &app.code(&clock))],
        )
        .await;
    assert_eq!(locked.status, StatusCode::FORBIDDEN);
    let error = locked.error().unwrap();
    assert!(
        error
            .starts_with(&totp_enroll_portal::LOCALE.refusal(&totp_enroll::error::Refusal::Locked)),
        "{error}"
    );
    assert!(error.contains("「ロック解除」を行ってください"), "{error}");
    assert!(!locked.body.contains(&app.code(&clock)));
    // The customer's right code is refused too.
    customer.password_step(HANAKO).await;
    customer.get("/login/otp").await;
    let refused = customer
        .post("/login/otp", &[("code", &app.code(&clock))])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Without a reason nothing is unlocked.
    let no_reason = desk
        .post("/desk/unlock", &[("login_id", HANAKO.0), ("reason", " ")])
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        no_reason.error().as_deref(),
        Some("ロック解除の理由を入力してください。")
    );
    assert!(
        no_reason
            .text_of("desk-lock")
            .unwrap()
            .starts_with("ロック中")
    );
    // A reason the engine refuses (a bidi control) is refused with its text.
    let spoofed = desk
        .post(
            "/desk/unlock",
            &[("login_id", HANAKO.0), ("reason", "ok \u{202E}kcolnu")],
        )
        .await;
    assert_eq!(spoofed.status, StatusCode::BAD_REQUEST);
    assert!(!spoofed.error().unwrap().is_ascii());

    let unlocked = desk
        .post(
            "/desk/unlock",
            &[
                ("login_id", HANAKO.0),
                ("reason", "ご本人確認済み\n（電話）"),
            ],
        )
        .await;
    assert_eq!(
        unlocked.location(),
        format!("/desk?login_id={}&done=unlock", HANAKO.0)
    );
    let page = desk.get(unlocked.location()).await;
    assert!(
        page.text_of("notice")
            .unwrap()
            .contains("ロックを解除しました"),
        "{:?}",
        page.text_of("notice")
    );
    assert_eq!(page.text_of("desk-lock").as_deref(), Some("なし"));
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("0 回"));
    assert_eq!(
        page.text_of("desk-recovery-codes").as_deref(),
        Some("10 個")
    );
    assert_eq!(page.text_of("otp-status").as_deref(), Some("利用中"));
    assert!(
        page.body
            .contains("サポート窓口でロック解除（担当 desk-01：ご本人確認済み （電話））")
    );

    // The customer logs in with the app again, and the recovery codes still work.
    customer.password_step(HANAKO).await;
    customer.get("/login/otp").await;
    clock.advance(30);
    let login = customer
        .post("/login/otp", &[("code", &app.code(&clock))])
        .await;
    assert_eq!(login.location(), "/account", "{:?}", login.error());
    customer.get("/account").await;
    customer.post("/logout", &[]).await;
    let recovered = customer.recovery_login(HANAKO, &codes[0]).await;
    assert_eq!(recovered.location(), "/account");

    deliver(&portal).await;
    let mails = portal.state.db.mails(100).await.unwrap();
    let unlock_mails: Vec<_> = mails
        .iter()
        .filter(|m| m.subject.contains("ロック解除のお知らせ"))
        .collect();
    assert_eq!(unlock_mails.len(), 1);
    assert_eq!(unlock_mails[0].to_address, "hanako@example.jp");
    assert!(
        unlock_mails[0]
            .body
            .contains("お客さまサポート窓口にて、ワンタイムパスワード認証のロックを解除しました。")
    );
}

#[tokio::test]
async fn the_desk_corrects_a_fast_clock_from_two_consecutive_codes() {
    let (portal, clock) = portal().await;
    let mut customer = Browser::new(&portal);
    customer.login(HANAKO).await;
    let app = customer.enroll(HANAKO, &clock).await;
    customer.post("/logout", &[]).await;
    clock.advance(30);
    // The phone's clock is 10 minutes fast: its codes do not log in.
    let ten_minutes = 10 * 60;
    customer.password_step(HANAKO).await;
    customer.get("/login/otp").await;
    let refused = customer
        .post(
            "/login/otp",
            &[("code", &app.code_off_by(&clock, ten_minutes))],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    let mut desk = Browser::new(&portal);
    desk.desk_login(DESK_01, &clock).await;
    let page = desk_page(&mut desk, HANAKO.0).await;
    assert!(page.body.contains("action=\"/desk/resync\""));
    for label in [
        "<label for=\"resync-first\">",
        "<label for=\"resync-second\">",
        "<label for=\"resync-reason\">",
    ] {
        assert!(page.body.contains(label), "{label}");
    }
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("1 回"));

    // The customer reads out the code the app shows, and the next one 30 s later.
    let first = app.code_off_by(&clock, ten_minutes);
    let no_reason = desk
        .post(
            "/desk/resync",
            &[
                ("login_id", HANAKO.0),
                ("first", &first),
                ("second", &first),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        no_reason.error().as_deref(),
        Some("時刻ずれの補正の理由を入力してください。")
    );
    assert_eq!(no_reason.text_of("desk-failures").as_deref(), Some("1 回"));
    let reason = "お客さまより時刻のずれのご相談（本人確認済み）";
    // The same code twice is not two consecutive ones: refused and counted.
    let not_consecutive = desk
        .post(
            "/desk/resync",
            &[
                ("login_id", HANAKO.0),
                ("first", &first),
                ("second", &first),
                ("reason", reason),
            ],
        )
        .await;
    assert_eq!(not_consecutive.status, StatusCode::UNAUTHORIZED);
    assert!(
        not_consecutive
            .error()
            .unwrap()
            .contains("続けて表示されたコードとして確認できませんでした"),
        "{:?}",
        not_consecutive.error()
    );
    assert_eq!(
        not_consecutive.text_of("desk-failures").as_deref(),
        Some("2 回")
    );
    assert!(!not_consecutive.body.contains(&first), "no code echoed");

    clock.advance(30);
    let second = app.code_off_by(&clock, ten_minutes);
    let resynced = desk
        .post(
            "/desk/resync",
            &[
                ("login_id", HANAKO.0),
                ("first", &first),
                ("second", &second),
                ("reason", reason),
            ],
        )
        .await;
    assert_eq!(
        resynced.location(),
        format!("/desk?login_id={}&done=resync", HANAKO.0),
        "{:?}",
        resynced.error()
    );
    let page = desk.get(resynced.location()).await;
    let notice = page.text_of("notice").unwrap();
    assert!(
        notice.contains(
            "時刻のずれを補正しました。お客さまのスマートフォンの時刻が約10分進んでいます（20ステップ）。"
        ),
        "{notice}"
    );
    assert!(
        page.body.contains("+600秒（20ステップ進み）"),
        "the overview's offset"
    );
    assert_eq!(page.text_of("desk-failures").as_deref(), Some("0 回"));
    for code in [&first, &second] {
        assert!(!page.body.contains(code.as_str()), "no code on the page");
    }
    assert!(
        page.body
            .contains("時刻ずれを補正（20 ステップ・担当 desk-01）"),
        "audited with the operator"
    );
    // The notice is shown once.
    assert!(
        desk.get(resynced.location())
            .await
            .text_of("notice")
            .is_none()
    );

    // The fast phone logs in now (both read-out codes were consumed: the next one).
    clock.advance(30);
    customer.password_step(HANAKO).await;
    customer.get("/login/otp").await;
    let login = customer
        .post(
            "/login/otp",
            &[("code", &app.code_off_by(&clock, ten_minutes))],
        )
        .await;
    assert_eq!(login.location(), "/account", "{:?}", login.error());
    customer.get("/account").await;
    customer.post("/logout", &[]).await;
    // The second read-out code is used.
    customer.password_step(HANAKO).await;
    customer.get("/login/otp").await;
    let replayed = customer.post("/login/otp", &[("code", &second)]).await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED);

    deliver(&portal).await;
    let mails = portal.state.db.mails(100).await.unwrap();
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.subject.contains("時刻ずれ補正のお知らせ")
                && m.to_address == "hanako@example.jp")
            .count(),
        1
    );
}
