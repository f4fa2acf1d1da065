//! 利用停止: サービス利用停止 -確認- (a current code), then -受付-; the row is 未登録 again.

use axum::Form;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use totp_enroll::Status;

use super::{CodeForm, Page, Reject, logged_in, refused_page, require_active};
use crate::app::SharedState;
use crate::session::Session;
use crate::views::{self, StopConfirmPage, StopDonePage};

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
            session.update(|d| d.provisioning = None);
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
