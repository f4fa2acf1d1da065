//! The operators' login: operator ID and password (`POST /desk/login`), then the one-time
//! password of the desk's engine (`/desk/otp`, `Engine::verify_login`) — or, for an
//! operator without one yet, its enrollment (`enroll.rs`). Logout.
//!
//! An unknown operator ID and a wrong password get the same answer (a dummy argon2id hash
//! is verified for an unknown ID, as at the customers' login); a locked operator is told
//! so, whatever the password. The password step starts an EMPTY desk session (nothing of
//! a previous operator's survives); the one-time password rotates its id.

use axum::Form;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use totp_enroll::{Login, Status, StepUp, error::EngineError, error::Refusal};

use super::super::{CodeForm, Page, Reject, refused_page};
use super::guard::{anonymous_chrome, login_page};
use super::lock;
use super::wording::{OPERATOR_ENROLLMENT_LOCKED, WRONG_OPERATOR_LOGIN};
use crate::accounts::{app_label, operator_account};
use crate::app::{AppState, SharedState};
use crate::error::AppError;
use crate::session::{OperatorStep, PendingOperator, Session, Shown};
use crate::views::{DeskLoginPage, DeskOtpPage};

/// How long the one-time password page waits after the password step.
pub const PENDING_OPERATOR_TTL: u64 = 5 * 60;

/// The operator login form (no `Debug`: it holds the password).
#[derive(Deserialize)]
pub struct DeskLoginForm {
    /// オペレーターID.
    pub operator: String,
    /// パスワード.
    pub password: String,
}

/// POST /desk/login: the password (argon2id; a dummy hash for an unknown operator, the
/// same answer as a wrong password, which counts toward the lock), then the one-time
/// password step, or its enrollment with the password just verified as the step-up.
pub async fn login(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<DeskLoginForm>,
) -> Page {
    let row = app.db.operator(form.operator.trim()).await?;
    let matched = app
        .passwords
        .verify(
            &form.password,
            row.as_ref().map(|r| r.password_hash.as_str()),
        )
        .await?;
    let wrong = || {
        login_page(
            &session,
            StatusCode::UNAUTHORIZED,
            Some(WRONG_OPERATOR_LOGIN.to_owned()),
        )
    };
    let Some(row) = row else {
        tracing::info!("desk login refused");
        return wrong();
    };
    if row.locked() {
        tracing::info!("desk login refused: the operator is locked");
        return lock::locked_page(&session);
    }
    if !matched {
        tracing::info!("desk login refused");
        if lock::failed(&app, &row.operator_id).await? {
            return lock::locked_page(&session);
        }
        return wrong();
    }
    let operator = row.operator_id;
    let account = operator_account(&operator)?;
    let now = app.now()?;
    let pending = |step| PendingOperator {
        operator: operator.clone(),
        at: now,
        step,
    };
    if matches!(
        app.desk_engine.status(&account).await?,
        Status::Active { .. }
    ) {
        session
            .start(&operator, |d| {
                d.pending_operator = Some(pending(OperatorStep::Code));
            })
            .map_err(AppError::from)?;
        return Ok(Redirect::to("/desk/otp").into_response());
    }
    // No one-time password yet (the first login, or reset by another operator): its
    // enrollment now, the password just verified being the step-up.
    let step_up = StepUp::password_verified(&account, now);
    match app
        .desk_engine
        .begin(&account, &app_label(&operator)?, &step_up)
        .await
    {
        Ok(screen) => {
            session
                .start(&operator, |d| {
                    d.pending_operator = Some(pending(OperatorStep::Enrollment));
                    d.provisioning = Some((Shown::Operator, screen));
                })
                .map_err(AppError::from)?;
            Ok(Redirect::to("/desk/enroll").into_response())
        }
        Err(EngineError::Refused(Refusal::Locked)) => login_page(
            &session,
            StatusCode::FORBIDDEN,
            Some(OPERATOR_ENROLLMENT_LOCKED.to_owned()),
        ),
        Err(error) => refused_page(&app, error, |message| DeskLoginPage {
            chrome: anonymous_chrome(&session),
            error: Some(message),
        }),
    }
}

/// The half-way operator of `session` owing `step` (the code step within
/// [`PENDING_OPERATOR_TTL`] of the password: a lapsed one ends the session, so that the
/// desk shows its login again).
pub fn pending(
    app: &AppState,
    session: &Session,
    step: OperatorStep,
) -> Result<Option<PendingOperator>, Reject> {
    let now = app.now()?;
    let Some(pending) = session.data().pending_operator else {
        return Ok(None);
    };
    if pending.step == OperatorStep::Code && now.saturating_sub(pending.at) > PENDING_OPERATOR_TTL {
        session.end();
        return Ok(None);
    }
    Ok(Some(pending).filter(|p| p.step == step))
}

/// GET /desk/otp: only for the session that passed the password step.
pub async fn otp_form(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
) -> Page {
    if pending(&app, &session, OperatorStep::Code)?.is_none() {
        return Err(Reject::Redirect("/desk"));
    }
    Ok(crate::views::page(
        StatusCode::OK,
        &DeskOtpPage {
            chrome: anonymous_chrome(&session),
            error: None,
        },
    ))
}

/// POST /desk/otp: the desk engine's one-time password; logged in (a new session id, the
/// failures cleared) only on acceptance; a refusal counts toward the lock.
pub async fn otp_submit(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<CodeForm>,
) -> Page {
    let Some(pending) = pending(&app, &session, OperatorStep::Code)? else {
        return Err(Reject::Redirect("/desk"));
    };
    let account = operator_account(&pending.operator)?;
    match app.desk_engine.verify_login(&account, &form.code).await {
        Ok(Login::Verified(_)) => complete(&app, &session, pending.operator).await,
        // Its one-time password was reset meanwhile: log in again (and enroll).
        Ok(Login::NotRequired) => {
            session.end();
            Err(Reject::Redirect("/desk"))
        }
        Ok(_) => Err(Reject::Error(AppError::internal("unknown login verdict"))),
        Err(error) => {
            if matches!(error, EngineError::Refused(_))
                && lock::failed(&app, &pending.operator).await?
            {
                return lock::locked_page(&session);
            }
            refused_page(&app, error, |message| DeskOtpPage {
                chrome: anonymous_chrome(&session),
                error: Some(message),
            })
        }
    }
}

/// Both factors passed: the failures cleared (unless the operator was locked meanwhile),
/// a new session id, the operator logged in.
pub async fn complete(app: &AppState, session: &Session, operator: String) -> Page {
    if !lock::completed(app, &operator).await? {
        return lock::locked_page(session);
    }
    session.rotate();
    session.update(|d| {
        d.pending_operator = None;
        d.provisioning = None;
        d.operator = Some(operator);
    });
    Ok(Redirect::to("/desk").into_response())
}

/// POST /desk/logout (also 中止 on the one-time password and enrollment pages).
pub async fn logout(Extension(session): Extension<Session>) -> Redirect {
    session.end();
    Redirect::to("/desk")
}
