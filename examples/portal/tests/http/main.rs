//! The portal's screens over HTTP, one file per screen group, in-process (`tower::ServiceExt::oneshot`): every route,
//! both outcomes, every refusal, CSRF, sessions and the security headers. A manual clock
//! lets the tests compute the authenticator app's codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use support::{
    App, Browser, DESK_01, DESK_02, HANAKO, T0, TARO, deliver, mailbox, own_devices, portal,
    portal_with, wrong,
};
use totp_enroll::{
    AccountId, AuditDelivery as _, AuditEvent, AuditKind, Clock as _, KeyRing, Store as _,
    engine::DeliveredEvent, error::EngineError, error::Refusal,
};
use totp_enroll_portal::background::{Background, ReloadError, ReloadedRing, reload_keys};
use totp_enroll_portal::config::SecondDeviceConfig;

mod headers_and_csrf;
mod login;

/// Writes `text` to `path` with `mode`.
fn write_key_file(path: &std::path::Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The desk's page of `login_id`.
async fn desk_page(desk: &mut Browser, login_id: &str) -> support::Page {
    let page = desk.get(&format!("/desk?login_id={login_id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page
}

/// Six digits that no step of `app` within a day of now shows (what the desk's ±1 day
/// search cannot match).
fn matching_no_step(app: &App, clock: &totp_enroll::ManualClock) -> String {
    let day = 24 * 60 * 60 / 30;
    let shown: BTreeSet<String> = (-day..=day)
        .map(|k| app.code_off_by(clock, k * 30))
        .collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !shown.contains(c))
        .unwrap()
}

/// The text of the desk's コード確認 result (its lines), if the page shows one.
fn diagnosis(page: &support::Page) -> Option<String> {
    let start = page.body.find("id=\"diagnosis\"")?;
    let end = page.body[start..].find("</section>")? + start;
    Some(page.body[start..end].to_owned())
}

/// The engine's customer text of `error`.
fn engine_text(error: &EngineError) -> String {
    totp_enroll_portal::LOCALE.engine_error(error)
}

/// The subjects of the mails queued so far.
async fn mail_subjects(portal: &totp_enroll_portal::app::Portal) -> Vec<String> {
    deliver(portal).await;
    let mails = portal.state.db.mails(100).await.unwrap();
    mails.into_iter().map(|m| m.subject).collect()
}

/// Every visible `<input>` and `<textarea>` of `page` has a `<label for=…>`.
fn assert_every_field_labelled(page: &support::Page) {
    for element in ["<input", "<textarea"] {
        for chunk in page.body.split(element).skip(1) {
            let tag = &chunk[..chunk.find('>').unwrap()];
            if tag.contains("type=\"hidden\"") {
                continue;
            }
            let id = tag
                .split("id=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            assert!(
                page.body.contains(&format!("<label for=\"{id}\">")),
                "label for {id}"
            );
        }
    }
}

/// Whether `code` has the grouped form `XXXX-XXXX-XXXX-XXXX` of Crockford base32.
fn is_grouped_recovery_code(code: &str) -> bool {
    code.len() == 19
        && code.split('-').count() == 4
        && code.split('-').all(|group| {
            group.len() == 4
                && group
                    .bytes()
                    .all(|c| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&c))
        })
}

mod account;
mod apply;
mod background;
mod desk_reset;
mod desk_tools;
mod devices;
mod devices_desk_and_lost_phone;
mod mail_and_audit;
mod recovery_codes;
mod redisplay;
mod stop;
