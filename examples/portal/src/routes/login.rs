//! ログイン: login ID and password, then — when the service is 利用中 — the one-time
//! password on a second page bound to the session that passed the password step, or
//! instead of it (phone lost or not at hand) one of the customer's recovery codes, on a
//! page bound to the same pending login.

use axum::Form;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use totp_enroll::Login;

use super::{
    CodeForm, Page, Reject, account_id, anonymous_chrome, recovery_refused_page, refused_page,
};
use crate::app::SharedState;
use crate::error::AppError;
use crate::session::{PendingLogin, Session};
use crate::views::{self, LoginOtpPage, LoginPage, LoginRecoveryPage};

/// How long the one-time password page waits after the password step.
pub const PENDING_LOGIN_TTL: u64 = 5 * 60;

/// The login form.
#[derive(Deserialize)]
pub struct LoginForm {
    /// ログインID.
    pub login_id: String,
    /// ログインパスワード.
    pub password: String,
}

const WRONG_LOGIN: &str = "ログインIDまたはログインパスワードが正しくありません。";

/// GET /login.
pub async fn form(Extension(session): Extension<Session>) -> Page {
    if session.data().customer.is_some() {
        return Err(Reject::Redirect("/account"));
    }
    Ok(views::page(
        StatusCode::OK,
        &LoginPage {
            chrome: anonymous_chrome(&session),
            error: None,
            login_id: String::new(),
        },
    ))
}

/// POST /login: checks the password (argon2id; a dummy hash for unknown IDs, the same
/// message for both), then either logs in or asks for the one-time password.
pub async fn submit(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<LoginForm>,
) -> Page {
    let login_id = form.login_id.trim();
    let customer = app.db.customer(login_id).await?;
    let matched = app
        .passwords
        .verify(
            &form.password,
            customer.as_ref().map(|c| c.login_password_hash.as_str()),
        )
        .await?;
    let Some(customer) = customer.filter(|_| matched) else {
        tracing::info!("login refused");
        return Ok(views::page(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                chrome: anonymous_chrome(&session),
                error: Some(WRONG_LOGIN.into()),
                login_id: login_id.to_owned(),
            },
        ));
    };
    let account = account_id(&customer.login_id)?;
    let status = app.engine.status(&account).await?;
    let now = app.now()?;
    let login_id = customer.login_id;
    let needs_code = status.login_needs_code();
    // From an EMPTY session: nothing of whoever used this browser before survives.
    session
        .start(&login_id, |d| {
            if needs_code {
                d.pending_login = Some(PendingLogin {
                    login_id: login_id.clone(),
                    at: now,
                });
            } else {
                d.customer = Some(login_id.clone());
            }
        })
        .map_err(AppError::from)?;
    let next = if needs_code { "/login/otp" } else { "/account" };
    Ok(Redirect::to(next).into_response())
}

/// The pending login of `session`, if it is still fresh.
fn pending(app: &SharedState, session: &Session) -> Result<Option<PendingLogin>, Reject> {
    let now = app.now()?;
    Ok(session
        .data()
        .pending_login
        .filter(|p| now.saturating_sub(p.at) <= PENDING_LOGIN_TTL))
}

/// GET /login/otp: only for the session that passed the password step.
pub async fn otp_form(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
) -> Page {
    if pending(&app, &session)?.is_none() {
        return Err(Reject::Redirect("/login"));
    }
    Ok(views::page(
        StatusCode::OK,
        &LoginOtpPage {
            chrome: anonymous_chrome(&session),
            error: None,
        },
    ))
}

/// POST /login/otp: the one-time password; logged in (with a new session id) only on
/// acceptance.
pub async fn otp_submit(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<CodeForm>,
) -> Page {
    let Some(pending) = pending(&app, &session)? else {
        return Err(Reject::Redirect("/login"));
    };
    let account = account_id(&pending.login_id)?;
    let verdict = app.engine.verify_login(&account, &form.code).await;
    match verdict {
        Ok(Login::Verified(_) | Login::NotRequired) => {
            session.rotate();
            session.update(|d| {
                d.pending_login = None;
                d.recovered = false;
                d.customer = Some(pending.login_id.clone());
            });
            Ok(Redirect::to("/account").into_response())
        }
        Ok(_) => Err(Reject::Error(AppError::internal("unknown login verdict"))),
        Err(error) => refused_page(&app, error, |message| LoginOtpPage {
            chrome: anonymous_chrome(&session),
            error: Some(message),
        }),
    }
}

/// The recovery code form.
#[derive(Deserialize)]
pub struct RecoveryCodeForm {
    /// What the customer typed (16 letters and digits, groups of four may be separated).
    pub recovery_code: String,
}

/// GET /login/recovery: リカバリーコードでログイン, only for the session that passed the
/// password step (the same pending login as the one-time password page).
pub async fn recovery_form(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
) -> Page {
    if pending(&app, &session)?.is_none() {
        return Err(Reject::Redirect("/login"));
    }
    Ok(views::page(
        StatusCode::OK,
        &LoginRecoveryPage {
            chrome: anonymous_chrome(&session),
            error: None,
        },
    ))
}

/// POST /login/recovery: a recovery code instead of the app's code; logged in (with a new
/// session id) only on acceptance, the code then used up. 登録情報照会 shows once how many
/// remain and what to do.
pub async fn recovery_submit(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<RecoveryCodeForm>,
) -> Page {
    let Some(pending) = pending(&app, &session)? else {
        return Err(Reject::Redirect("/login"));
    };
    let account = account_id(&pending.login_id)?;
    let verdict = app
        .engine
        .verify_recovery_code(&account, &form.recovery_code)
        .await;
    let remaining = match verdict {
        Ok(Login::RecoveryCode { remaining }) => Some(remaining),
        // The service was stopped or reset since the password step: no code is needed.
        Ok(Login::NotRequired) => None,
        Ok(_) => return Err(Reject::Error(AppError::internal("unknown login verdict"))),
        Err(error) => {
            return recovery_refused_page(&app, error, |message| LoginRecoveryPage {
                chrome: anonymous_chrome(&session),
                error: Some(message),
            });
        }
    };
    session.rotate();
    session.update(|d| {
        d.pending_login = None;
        d.customer = Some(pending.login_id.clone());
        d.recovery_login = remaining;
        d.recovered = remaining.is_some();
    });
    Ok(Redirect::to("/account").into_response())
}

/// POST /logout: ends the session.
pub async fn logout(Extension(session): Extension<Session>) -> Redirect {
    session.end();
    Redirect::to("/login")
}
