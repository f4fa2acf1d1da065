//! コード再表示: ワンタイムパスワード認証 (and the transaction password with
//! `TOTP_PORTAL_SECOND_DEVICE_STEP_UP`), then 登録コード再表示 (the same QR code and
//! key). Not offered in `own` mode, where the engine refuses it (`RedisplayDisabled`).

use axum::Form;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::{
    Page, Reject, WRONG_TRADE_PASSWORD, logged_in, refused_page, require_active,
    trade_password_step_up,
};
use crate::app::SharedState;
use crate::session::{Session, Shown};
use crate::views::{self, KeyView, RedisplayAuthPage, RedisplayShowPage};

/// The コード再表示 form (no `Debug`: it holds a code and a password).
#[derive(Deserialize)]
pub struct RedisplayForm {
    /// A current code.
    pub code: String,
    /// 取引パスワード (asked for with `TOTP_PORTAL_SECOND_DEVICE_STEP_UP`).
    #[serde(default)]
    pub trade_password: String,
}

/// GET /redisplay (only while 利用中, and not in `own` mode).
pub async fn form(State(app): State<SharedState>, Extension(session): Extension<Session>) -> Page {
    let me = logged_in(&app, &session).await?;
    require_active(&app, &me).await?;
    if app.second_device.own_secret() {
        return Err(Reject::Redirect("/account"));
    }
    Ok(views::page(
        StatusCode::OK,
        &RedisplayAuthPage {
            chrome: me.chrome,
            error: None,
            step_up: app.second_device.step_up,
        },
    ))
}

/// POST /redisplay: a current code (consumed; after the transaction password when
/// configured) unlocks the key for another device.
pub async fn submit(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<RedisplayForm>,
) -> Page {
    let me = logged_in(&app, &session).await?;
    let step_up = app.second_device.step_up;
    let shown = if step_up {
        let Some(proof) = trade_password_step_up(&app, &me, &form.trade_password).await? else {
            let page = RedisplayAuthPage {
                chrome: me.chrome,
                error: Some(WRONG_TRADE_PASSWORD.to_owned()),
                step_up,
            };
            return Ok(views::page(StatusCode::UNAUTHORIZED, &page));
        };
        app.engine
            .redisplay_after_step_up(&me.account, &form.code, &proof)
            .await
    } else {
        app.engine.redisplay(&me.account, &form.code).await
    };
    match shown {
        Ok(screen) => {
            session.update(|d| d.provisioning = Some((Shown::Redisplay, screen)));
            Ok(Redirect::to("/redisplay/show").into_response())
        }
        Err(error) => refused_page(&app, error, |message| RedisplayAuthPage {
            chrome: me.chrome,
            error: Some(message),
            step_up,
        }),
    }
}

/// GET /redisplay/show: 登録コード再表示, until 「登録情報照会へ」 (`POST /redisplay/show`)
/// takes the key out of the session.
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

/// POST /redisplay/show (「登録情報照会へ」): the other device is registered; the key
/// leaves the session (another コード再表示 needs another code).
pub async fn show_submit(Extension(session): Extension<Session>) -> Redirect {
    session.update(|d| {
        d.provisioning
            .take_if(|(shown, _)| *shown == Shown::Redisplay)
    });
    Redirect::to("/account")
}
