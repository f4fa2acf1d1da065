//! コード再表示: ワンタイムパスワード認証, then 登録コード再表示 (the same QR code and key).

use axum::Form;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};

use super::{CodeForm, Page, Reject, logged_in, refused_page, require_active};
use crate::app::SharedState;
use crate::session::{Session, Shown};
use crate::views::{self, KeyView, RedisplayAuthPage, RedisplayShowPage};

/// GET /redisplay (only while 利用中).
pub async fn form(State(app): State<SharedState>, Extension(session): Extension<Session>) -> Page {
    let me = logged_in(&app, &session).await?;
    require_active(&app, &me).await?;
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
    match shown {
        Ok(screen) => {
            session.update(|d| d.provisioning = Some((Shown::Redisplay, screen)));
            Ok(Redirect::to("/redisplay/show").into_response())
        }
        Err(error) => refused_page(&app, error, |message| RedisplayAuthPage {
            chrome: me.chrome,
            error: Some(message),
        }),
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
            key: KeyView::new(&screen)?,
        },
    ))
}
