//! Each device its own app (`TOTP_PORTAL_SECOND_DEVICE=own`, the engine's
//! `SecondDevice::OwnSecret`), instead of the manual's コード再表示:
//!
//! * 別の端末を追加: the new app's name and a current code of an existing app (consumed;
//!   and the transaction password when `TOTP_PORTAL_SECOND_DEVICE_STEP_UP` asks for it)
//!   → its own registration screen (QR code, account name, key type, the setup key behind
//!   a reveal) → its first code confirms it (`Engine::confirm_authenticator`); until then
//!   it cannot log in, and the other apps keep working.
//! * 削除: a current code of ANOTHER app removes one (`Engine::remove_authenticator`); the
//!   only app has no 削除 (利用停止 instead).
//!
//! Under `same` every screen here sends the customer back to 登録情報照会 (the engine
//! refuses the calls as well).

use axum::Form;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use totp_enroll::{engine::AuthenticatorOverview, error::EngineError};

use super::{
    LoggedIn, Page, Reject, WRONG_TRADE_PASSWORD, logged_in, refused_page, require_active,
    trade_password_step_up,
};
use crate::app::{AppState, SharedState};
use crate::session::{Session, Shown};
use crate::views::{
    self, DeviceAddPage, DeviceConfirmPage, DeviceRegisterPage, DeviceRemovePage, KeyView,
};

/// Whether an app of an active account may be removed: it awaits its first code
/// (`pending`), or another confirmed app remains (`confirmed`: how many are).
pub fn removable(pending: bool, confirmed: usize) -> bool {
    pending || confirmed > 1
}

/// How many of `all` are confirmed (can log in).
pub fn confirmed(all: &[AuthenticatorOverview]) -> usize {
    all.iter().filter(|a| !a.pending).count()
}

/// The 別の端末を追加 form (no `Debug`: it holds a code and a password).
#[derive(Deserialize)]
pub struct AddForm {
    /// The new app's name (e.g. `iPad`).
    #[serde(default)]
    pub name: String,
    /// A current code of an existing app.
    pub code: String,
    /// 取引パスワード (asked for with `TOTP_PORTAL_SECOND_DEVICE_STEP_UP`).
    #[serde(default)]
    pub trade_password: String,
}

/// The confirmation and removal forms: which app, and a code.
#[derive(Deserialize)]
pub struct AppCodeForm {
    /// The app's id.
    #[serde(default)]
    pub id: String,
    /// The new app's first code (confirmation) or another app's code (removal).
    pub code: String,
    /// 取引パスワード (removal, when the step-up setting is on).
    #[serde(default)]
    pub trade_password: String,
}

/// `?id=…` of the removal form.
#[derive(Debug, Deserialize)]
pub struct WhichApp {
    /// The app's id.
    pub id: Option<String>,
}

const NO_NAME: &str = "追加する端末（アプリ）の名前を入力してください。";

/// The logged-in customer of `session` while 利用中 in `own` mode; otherwise back to
/// 登録情報照会.
async fn own_mode(app: &AppState, session: &Session) -> Result<LoggedIn, Reject> {
    let me = logged_in(app, session).await?;
    if !app.second_device.own_secret() {
        return Err(Reject::Redirect("/account"));
    }
    require_active(app, &me).await?;
    Ok(me)
}

/// The app `id` of the account, if registered.
async fn find_app(
    app: &AppState,
    me: &LoggedIn,
    id: Option<u8>,
) -> Result<Option<AuthenticatorOverview>, Reject> {
    let Some(id) = id else {
        return Ok(None);
    };
    let overview = app.engine.overview(&me.account).await?;
    Ok(overview.authenticators.into_iter().find(|a| a.id == id))
}

fn parse_id(id: &str) -> Option<u8> {
    id.trim().parse().ok()
}

fn add_page(app: &AppState, me: LoggedIn, error: Option<String>, name: String) -> DeviceAddPage {
    DeviceAddPage {
        chrome: me.chrome,
        error,
        step_up: app.second_device.step_up,
        name,
    }
}

/// GET /devices/add: 別の端末を追加.
pub async fn add_form(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
) -> Page {
    let me = own_mode(&app, &session).await?;
    Ok(views::page(
        StatusCode::OK,
        &add_page(&app, me, None, String::new()),
    ))
}

/// POST /devices/add: the transaction password when configured (a wrong one issues
/// nothing and consumes no code), then `Engine::add_authenticator` with the name and the
/// code; the new app's provisioning is kept in the session for its registration screen.
pub async fn add_submit(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<AddForm>,
) -> Page {
    let me = own_mode(&app, &session).await?;
    let name = form.name.trim().to_owned();
    if name.is_empty() {
        return Ok(views::page(
            StatusCode::BAD_REQUEST,
            &add_page(&app, me, Some(NO_NAME.to_owned()), name),
        ));
    }
    let step_up = if app.second_device.step_up {
        match trade_password_step_up(&app, &me, &form.trade_password).await? {
            Some(step_up) => Some(step_up),
            None => {
                let page = add_page(&app, me, Some(WRONG_TRADE_PASSWORD.to_owned()), name);
                return Ok(views::page(StatusCode::UNAUTHORIZED, &page));
            }
        }
    } else {
        None
    };
    let added = app
        .engine
        .add_authenticator(&me.account, &name, &form.code, step_up.as_ref())
        .await;
    match added {
        Ok(new) => {
            session.update(|d| d.provisioning = Some((Shown::Device(new.id), new.provisioning)));
            Ok(Redirect::to("/devices/register").into_response())
        }
        Err(error) => refused_page(&app, error, |message| {
            add_page(&app, me, Some(message), name)
        }),
    }
}

/// GET /devices/register: the new app's registration screen (its own QR code and key),
/// only right after 別の端末を追加.
pub async fn register(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
) -> Page {
    let me = logged_in(&app, &session).await?;
    let Some((Shown::Device(id), screen)) = session.data().provisioning else {
        return Err(Reject::Redirect("/account"));
    };
    // Only while that app awaits its first code (a GET changes nothing: the key leaves
    // the session with the confirmation, logout or the session's end).
    let Some(added) = find_app(&app, &me, Some(id)).await?.filter(|a| a.pending) else {
        return Err(Reject::Redirect("/account"));
    };
    Ok(views::page(
        StatusCode::OK,
        &DeviceRegisterPage {
            chrome: me.chrome,
            key: KeyView::new(&screen)?,
            name: added.name,
        },
    ))
}

/// GET /devices/confirm: the app that awaits its first code (from the registration
/// screen, or 確認 on 登録情報照会).
pub async fn confirm_form(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
) -> Page {
    let me = own_mode(&app, &session).await?;
    let overview = app.engine.overview(&me.account).await?;
    let Some(pending) = overview.authenticators.into_iter().find(|a| a.pending) else {
        return Err(Reject::Redirect("/account"));
    };
    Ok(views::page(
        StatusCode::OK,
        &DeviceConfirmPage {
            chrome: me.chrome,
            error: None,
            id: pending.id,
            name: views::app_name(&pending.name),
        },
    ))
}

/// POST /devices/confirm: the new app's first code (`Engine::confirm_authenticator`).
pub async fn confirm_submit(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<AppCodeForm>,
) -> Page {
    let me = own_mode(&app, &session).await?;
    let id = parse_id(&form.id);
    let name = find_app(&app, &me, id)
        .await?
        .map(|a| views::app_name(&a.name))
        .unwrap_or_default();
    let confirmed = match id {
        Some(id) => {
            app.engine
                .confirm_authenticator(&me.account, id, &form.code)
                .await
        }
        None => Err(EngineError::UnknownAuthenticator(0)),
    };
    match confirmed {
        Ok(()) => {
            session.update(|d| {
                d.provisioning = None;
                d.account_notice = Some(format!(
                    "「{name}」を追加しました。次回のログインから、このアプリのワンタイムパスワードもご利用いただけます。"
                ));
            });
            Ok(Redirect::to("/account").into_response())
        }
        Err(error) => refused_page(&app, error, |message| DeviceConfirmPage {
            chrome: me.chrome,
            error: Some(message),
            id: id.unwrap_or(0),
            name,
        }),
    }
}

/// GET /devices/remove?id=…: アプリの削除 (only for an app that may be removed).
pub async fn remove_form(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Query(which): Query<WhichApp>,
) -> Page {
    let me = own_mode(&app, &session).await?;
    let id = which.id.as_deref().and_then(parse_id);
    let overview = app.engine.overview(&me.account).await?;
    let all = &overview.authenticators;
    let Some(target) = all
        .iter()
        .find(|a| Some(a.id) == id)
        .filter(|a| removable(a.pending, confirmed(all)))
    else {
        return Err(Reject::Redirect("/account"));
    };
    Ok(views::page(
        StatusCode::OK,
        &DeviceRemovePage {
            chrome: me.chrome,
            error: None,
            id: target.id,
            name: views::app_name(&target.name),
            step_up: app.second_device.step_up,
        },
    ))
}

/// POST /devices/remove: a current code of another app removes this one
/// (`Engine::remove_authenticator`: the only app is refused, and so is its own code).
pub async fn remove_submit(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<AppCodeForm>,
) -> Page {
    let me = own_mode(&app, &session).await?;
    let id = parse_id(&form.id);
    let name = find_app(&app, &me, id)
        .await?
        .map(|a| views::app_name(&a.name))
        .unwrap_or_default();
    let step_up = app.second_device.step_up;
    let proof = if step_up {
        let Some(proof) = trade_password_step_up(&app, &me, &form.trade_password).await? else {
            let page = DeviceRemovePage {
                chrome: me.chrome,
                error: Some(WRONG_TRADE_PASSWORD.to_owned()),
                id: id.unwrap_or(0),
                name,
                step_up,
            };
            return Ok(views::page(StatusCode::UNAUTHORIZED, &page));
        };
        Some(proof)
    } else {
        None
    };
    let removed = match id {
        Some(id) => {
            app.engine
                .remove_authenticator(&me.account, id, &form.code, proof.as_ref())
                .await
        }
        None => Err(EngineError::UnknownAuthenticator(0)),
    };
    match removed {
        Ok(()) => {
            // A factor removed: the customer's other sessions end; this one continues.
            session.end_other_sessions();
            session.update(|d| {
                d.account_notice = Some(format!(
                    "「{name}」を削除しました。このアプリのワンタイムパスワードはご利用いただけません。"
                ));
            });
            Ok(Redirect::to("/account").into_response())
        }
        Err(error) => refused_page(&app, error, |message| DeviceRemovePage {
            chrome: me.chrome,
            error: Some(message),
            id: id.unwrap_or(0),
            name,
            step_up,
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_only_confirmed_app_is_not_removable() {
        assert!(!removable(false, 1), "the only one");
        assert!(removable(true, 1), "one awaiting its first code");
        assert!(removable(false, 2));
        assert_eq!(parse_id(" 2 "), Some(2));
        assert_eq!(parse_id("x"), None);
        assert_eq!(parse_id("256"), None);
    }
}
