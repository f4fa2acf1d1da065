//! リカバリーコードの再発行: ワンタイムパスワード認証 (a current code, consumed) and the
//! transaction password (the engine's step-up: one phished code alone never yields ten
//! permanent login factors), then the new set of recovery codes, shown once; the earlier
//! set stops working in the same write.

use std::sync::Arc;

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
use crate::session::{Issued, Session};
use crate::views::{self, RecoveryAuthPage, RecoveryCodesView, RecoveryShowPage};

/// GET /recovery-codes (only while 利用中).
pub async fn form(State(app): State<SharedState>, Extension(session): Extension<Session>) -> Page {
    let me = logged_in(&app, &session).await?;
    require_active(&app, &me).await?;
    Ok(views::page(
        StatusCode::OK,
        &RecoveryAuthPage {
            chrome: me.chrome,
            error: None,
        },
    ))
}

/// The 再発行 form (no `Debug`: it holds a code and a password).
#[derive(Deserialize)]
pub struct IssueForm {
    /// A current code.
    pub code: String,
    /// 取引パスワード.
    #[serde(default)]
    pub trade_password: String,
}

/// POST /recovery-codes: the transaction password and a current code issue a new set, kept
/// in the session only until the next page shows it. A wrong transaction password is a
/// 401 and consumes nothing.
pub async fn submit(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<IssueForm>,
) -> Page {
    let me = logged_in(&app, &session).await?;
    let Some(proof) = trade_password_step_up(&app, &me, &form.trade_password).await? else {
        let page = RecoveryAuthPage {
            chrome: me.chrome,
            error: Some(WRONG_TRADE_PASSWORD.to_owned()),
        };
        return Ok(views::page(StatusCode::UNAUTHORIZED, &page));
    };
    let issued = app
        .engine
        .issue_recovery_codes(&me.account, &form.code, &proof)
        .await;
    match issued {
        Ok(codes) => {
            // The earlier set is void (a session that logged in with one of its codes may
            // be someone else's): the customer's other sessions end; this one continues.
            session.end_other_sessions();
            session.update(|d| d.recovery_codes = Some((Issued::Reissue, Arc::new(codes))));
            Ok(Redirect::to("/recovery-codes/show").into_response())
        }
        Err(error) => refused_page(&app, error, |message| RecoveryAuthPage {
            chrome: me.chrome,
            error: Some(message),
        }),
    }
}

/// GET /recovery-codes/show: the new codes, until 「登録情報照会へ」
/// (`POST /recovery-codes/show`) takes them out of the session (a reload, a prefetch or a
/// HEAD loses nothing); without them, back to 登録情報照会.
pub async fn show(State(app): State<SharedState>, Extension(session): Extension<Session>) -> Page {
    let me = logged_in(&app, &session).await?;
    let Some((_, codes)) = session
        .data()
        .recovery_codes
        .filter(|(issued, _)| *issued == Issued::Reissue)
    else {
        return Err(Reject::Redirect("/account"));
    };
    Ok(views::page(
        StatusCode::OK,
        &RecoveryShowPage {
            chrome: me.chrome,
            recovery: RecoveryCodesView::new(&codes),
        },
    ))
}

/// POST /recovery-codes/show (「登録情報照会へ」): the customer has the new codes; they
/// leave the session.
pub async fn show_submit(Extension(session): Extension<Session>) -> Redirect {
    session.update(|d| {
        d.recovery_codes
            .take_if(|(issued, _)| *issued == Issued::Reissue)
    });
    Redirect::to("/account")
}
