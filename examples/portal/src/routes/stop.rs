//! 利用停止: サービス利用停止 -確認- (a current code), then -受付-; the row is 未登録 again.
//!
//! Without the phone (lost), after a login with a recovery code: スマートフォンを紛失した
//! 場合の利用停止 with ANOTHER recovery code and the transaction password
//! (`Engine::stop_with_recovery_code`), then the same -受付-; the customer applies again
//! with the new phone.

use axum::Form;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use totp_enroll::Status;

use super::{
    CodeForm, Page, Reject, WRONG_TRADE_PASSWORD, devices, logged_in, recovery_refused_page,
    refused_page, require_active, trade_password_step_up,
};
use crate::app::{AppState, SharedState};
use crate::session::Session;
use crate::views::{self, StopConfirmPage, StopDonePage, StopLostPage};

/// The lost-phone 利用停止 form (no `Debug`: it holds a recovery code and a password).
#[derive(Deserialize)]
pub struct LostForm {
    /// Another unused recovery code.
    pub recovery_code: String,
    /// 取引パスワード.
    #[serde(default)]
    pub trade_password: String,
}

/// GET /stop (only while 利用中).
pub async fn form(State(app): State<SharedState>, Extension(session): Extension<Session>) -> Page {
    let me = logged_in(&app, &session).await?;
    require_active(&app, &me).await?;
    Ok(views::page(
        StatusCode::OK,
        &StopConfirmPage {
            chrome: me.chrome,
            error: None,
        },
    ))
}

/// POST /stop.
pub async fn submit(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<CodeForm>,
) -> Page {
    let me = logged_in(&app, &session).await?;
    let stopped = app.engine.stop(&me.account, &form.code).await;
    match stopped {
        Ok(()) => {
            // A factor removed: the customer's other sessions end; this one continues.
            session.end_other_sessions();
            session.update(|d| {
                d.provisioning = None;
                d.applied_at = None;
            });
            Ok(Redirect::to("/stop/done").into_response())
        }
        Err(error) => refused_page(&app, error, |message| StopConfirmPage {
            chrome: me.chrome,
            error: Some(message),
        }),
    }
}

/// GET /stop/done: サービス利用停止 -受付- (once the service is 未登録).
pub async fn done(State(app): State<SharedState>, Extension(session): Extension<Session>) -> Page {
    let me = logged_in(&app, &session).await?;
    if matches!(app.engine.status(&me.account).await?, Status::Active { .. }) {
        return Err(Reject::Redirect("/account"));
    }
    Ok(views::page(
        StatusCode::OK,
        &StopDonePage { chrome: me.chrome },
    ))
}

/// Whether another app than the lost phone's could still log in (`own` mode with two or
/// more confirmed apps): the page then advises removing only the lost one.
async fn other_apps(app: &AppState, me: &super::LoggedIn) -> Result<bool, Reject> {
    if !app.second_device.own_secret() {
        return Ok(false);
    }
    let overview = app.engine.overview(&me.account).await?;
    Ok(devices::confirmed(&overview.authenticators) > 1)
}

/// GET /stop/lost: スマートフォンを紛失した場合の利用停止 (only while 利用中; offered on
/// 登録情報照会 after a login with a recovery code).
pub async fn lost_form(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
) -> Page {
    let me = logged_in(&app, &session).await?;
    require_active(&app, &me).await?;
    let other_apps = other_apps(&app, &me).await?;
    Ok(views::page(
        StatusCode::OK,
        &StopLostPage {
            chrome: me.chrome,
            error: None,
            other_apps,
        },
    ))
}

/// POST /stop/lost: the transaction password (a wrong one uses up nothing), then another
/// recovery code stops the service (every app and the recovery codes are erased).
pub async fn lost_submit(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<LostForm>,
) -> Page {
    let me = logged_in(&app, &session).await?;
    let Some(step_up) = trade_password_step_up(&app, &me, &form.trade_password).await? else {
        let other_apps = other_apps(&app, &me).await?;
        let page = StopLostPage {
            chrome: me.chrome,
            error: Some(WRONG_TRADE_PASSWORD.to_owned()),
            other_apps,
        };
        return Ok(views::page(StatusCode::UNAUTHORIZED, &page));
    };
    let stopped = app
        .engine
        .stop_with_recovery_code(&me.account, &form.recovery_code, &step_up)
        .await;
    match stopped {
        Ok(()) => {
            // A factor removed: the customer's other sessions end; this one continues.
            session.end_other_sessions();
            session.update(|d| {
                d.provisioning = None;
                d.applied_at = None;
                d.recovered = false;
            });
            Ok(Redirect::to("/stop/done").into_response())
        }
        Err(error) => {
            let other_apps = other_apps(&app, &me).await?;
            recovery_refused_page(&app, error, |message| StopLostPage {
                chrome: me.chrome,
                error: Some(message),
                other_apps,
            })
        }
    }
}
