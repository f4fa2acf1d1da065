//! コード再表示: ワンタイムパスワード認証, then 登録コード再表示 (the same QR code and key).

use axum::Form;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use totp_enroll::Status;

use super::{CodeForm, Page, Reject, logged_in};
use crate::app::SharedState;
use crate::refusal;
use crate::session::{Session, Shown};
use crate::views::{self, KeyView, RedisplayAuthPage, RedisplayShowPage};

/// GET /redisplay (only while 利用中).
pub async fn form(State(app): State<SharedState>, Extension(session): Extension<Session>) -> Page {
    let me = logged_in(&app, &session).await?;
    if !matches!(app.engine.status(&me.account).await?, Status::Active { .. }) {
        return Err(Reject::Redirect("/account"));
    }
    Ok(views::page(
        StatusCode::OK,
        &RedisplayAuthPage {
            chrome: me.chrome,
            error: None,
        },
    ))
}

/// POST /redisplay: a current code (consumed) unlocks the key for another device.
pub async fn submit(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<CodeForm>,
) -> Page {
    let me = logged_in(&app, &session).await?;
    let shown = app.engine.redisplay(&me.account, &form.code).await;
    app.audit.flush(&app.db).await;
    match shown {
        Ok(screen) => {
            session.update(|d| d.provisioning = Some((Shown::Redisplay, screen)));
            Ok(Redirect::to("/redisplay/show").into_response())
        }
        Err(error) => {
            let refused = refusal::engine_error(&error, app.now()?);
            if refused.server_fault {
                return Err(error.into());
            }
            Ok(views::page_retry(
                refused.status,
                refused.retry_after,
                &RedisplayAuthPage {
                    chrome: me.chrome,
                    error: Some(refused.message),
                },
            ))
        }
    }
}

/// GET /redisplay/show: 登録コード再表示.
pub async fn show(State(app): State<SharedState>, Extension(session): Extension<Session>) -> Page {
    let me = logged_in(&app, &session).await?;
    let Some((Shown::Redisplay, screen)) = session.data().provisioning else {
        return Err(Reject::Redirect("/account"));
    };
    Ok(views::page(
        StatusCode::OK,
        &RedisplayShowPage {
            chrome: me.chrome,
            key: KeyView::new(&screen),
        },
    ))
}
