//! 申込: 取引パスワード認証 → サービス申込 -登録- (QR code and key) → -確認- → -受付-
//! (with the first recovery codes, shown once).
//!
//! The session never holds the pending secret: it keeps the time the transaction password
//! was re-verified, and the 登録 page asks the engine for the pending screen with it
//! (`Engine::pending_provisioning`), so a reload, the back button or another instance of
//! the portal renders the same QR code until the confirmation or the application's lapse.
//! The recovery codes are consumed only by 「登録情報照会へ」 (`POST /apply/done`), never
//! by a GET (nor HEAD, nor a browser's prefetch); logout and the session's end drop them.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use totp_enroll::error::EngineError;
use totp_enroll::{Status, StepUp, messages::Lang};

use super::{
    CodeForm, Page, Reject, WRONG_TRADE_PASSWORD, logged_in, refused_page, require_active,
    trade_password_step_up,
};
use crate::accounts::app_label;
use crate::app::SharedState;
use crate::session::{Issued, Session};
use crate::views::{
    self, ApplyAuthPage, ApplyDonePage, ConfirmPage, KeyView, RecoveryCodesView, RegisterPage,
};

/// The transaction password form.
#[derive(Deserialize)]
pub struct TradePasswordForm {
    /// 取引パスワード.
    pub trade_password: String,
}

/// GET /apply: 取引パスワード認証 (only while 未登録).
pub async fn form(State(app): State<SharedState>, Extension(session): Extension<Session>) -> Page {
    let me = logged_in(&app, &session).await?;
    let status = app.engine.status(&me.account).await?;
    if matches!(status, Status::Active { .. }) {
        return Err(Reject::Redirect("/account"));
    }
    Ok(views::page(
        StatusCode::OK,
        &ApplyAuthPage {
            chrome: me.chrome,
            error: None,
            status_label: status.label(Lang::Ja),
        },
    ))
}

/// POST /apply: checks the transaction password, then begins enrollment with the step-up
/// proof and keeps the step-up's time (not the secret) in the session for the 登録 page.
/// While an application is pending, its secret is kept: the customer may have scanned it
/// already, and re-entering the transaction password (a 登録 page left open past the
/// step-up's age) shows the same QR code again.
pub async fn submit(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<TradePasswordForm>,
) -> Page {
    let me = logged_in(&app, &session).await?;
    let step_up = trade_password_step_up(&app, &me, &form.trade_password).await?;
    let status = app.engine.status(&me.account).await?;
    let Some(step_up) = step_up else {
        return Ok(views::page(
            StatusCode::UNAUTHORIZED,
            &ApplyAuthPage {
                chrome: me.chrome,
                error: Some(WRONG_TRADE_PASSWORD.into()),
                status_label: status.label(Lang::Ja),
            },
        ));
    };
    let begun = if matches!(status, Status::Pending { .. }) {
        app.engine.pending_provisioning(&me.account, &step_up).await
    } else {
        let label = app_label(&me.customer.login_id)?;
        app.engine.begin(&me.account, &label, &step_up).await
    };
    match begun {
        Ok(_screen) => {
            // The screen is rendered from the store by the 登録 page.
            session.update(|d| d.applied_at = Some(step_up.verified_at()));
            Ok(Redirect::to("/apply/register").into_response())
        }
        Err(error) => refused_page(&app, error, |message| ApplyAuthPage {
            chrome: me.chrome,
            error: Some(message),
            status_label: status.label(Lang::Ja),
        }),
    }
}

/// GET /apply/register: サービス申込 -登録- with the QR code and the hidden key, from the
/// pending application in the store (audited at each showing).
pub async fn register(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
) -> Page {
    let me = logged_in(&app, &session).await?;
    let Some(applied_at) = session.data().applied_at else {
        return Err(Reject::Redirect("/account"));
    };
    // Only while the application is pending (confirmed, lapsed or locked: back to
    // 登録情報照会).
    let Status::Pending { expires_at, .. } = app.engine.status(&me.account).await? else {
        return Err(Reject::Redirect("/account"));
    };
    let step_up = StepUp::transaction_password_verified(&me.account, applied_at);
    let screen = match app.engine.pending_provisioning(&me.account, &step_up).await {
        Ok(screen) => screen,
        // The step-up is too old to show the secret again: the transaction password once
        // more, and the same QR code.
        Err(EngineError::StepUp(_)) => return Err(Reject::Redirect("/apply")),
        Err(EngineError::NoPendingEnrollment | EngineError::Refused(_)) => {
            return Err(Reject::Redirect("/account"));
        }
        Err(error) => return Err(error.into()),
    };
    let expires = Some(crate::LOCALE.time(expires_at));
    Ok(views::page(
        StatusCode::OK,
        &RegisterPage {
            chrome: me.chrome,
            key: KeyView::new(&screen)?,
            expires,
        },
    ))
}

/// GET /apply/confirm: サービス申込 -確認-.
pub async fn confirm_form(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
) -> Page {
    let me = logged_in(&app, &session).await?;
    Ok(views::page(
        StatusCode::OK,
        &ConfirmPage {
            chrome: me.chrome,
            error: None,
            own_devices: app.second_device.own_secret(),
        },
    ))
}

/// POST /apply/confirm: the first code from the app completes enrollment and issues the
/// first recovery codes (one write), kept in the session only until -受付- shows them.
pub async fn confirm_submit(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<CodeForm>,
) -> Page {
    let me = logged_in(&app, &session).await?;
    let confirmed = app
        .engine
        .confirm_with_recovery_codes(&me.account, &form.code)
        .await;
    match confirmed {
        Ok(codes) => {
            session.update(|d| {
                d.applied_at = None;
                d.recovery_codes = Some((Issued::Enrollment, Arc::new(codes)));
            });
            Ok(Redirect::to("/apply/done").into_response())
        }
        Err(error) => refused_page(&app, error, |message| ConfirmPage {
            chrome: me.chrome,
            error: Some(message),
            own_devices: app.second_device.own_secret(),
        }),
    }
}

/// GET /apply/done: サービス申込 -受付- (once the service is 利用中), with the recovery codes
/// issued by the confirmation until 「登録情報照会へ」 (`POST /apply/done`) takes them out
/// of the session: a reload, a prefetch or a HEAD shows (or skips) them without losing
/// them.
pub async fn done(State(app): State<SharedState>, Extension(session): Extension<Session>) -> Page {
    let me = logged_in(&app, &session).await?;
    require_active(&app, &me).await?;
    let codes = session
        .data()
        .recovery_codes
        .filter(|(issued, _)| *issued == Issued::Enrollment);
    Ok(views::page(
        StatusCode::OK,
        &ApplyDonePage {
            chrome: me.chrome,
            recovery: codes.map(|(_, codes)| RecoveryCodesView::new(&codes)),
        },
    ))
}

/// POST /apply/done (「登録情報照会へ」): the customer has the recovery codes; they leave
/// the session, and -受付- shows them no more.
pub async fn done_submit(Extension(session): Extension<Session>) -> Redirect {
    session.update(|d| {
        d.recovery_codes
            .take_if(|(issued, _)| *issued == Issued::Enrollment)
    });
    Redirect::to("/account")
}
