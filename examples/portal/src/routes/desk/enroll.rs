//! An operator without the desk's one-time password enrolls right after the password
//! step (`POST /desk/login` began it with the password as the step-up): the QR code and
//! the hidden key of the desk's engine (issuer [`crate::DESK_ISSUER`]), and the first code
//! confirms it (`Engine::confirm`) and completes the login. Until then the operator
//! reaches nothing else of the desk; a refused code counts toward the lock.

use axum::Form;
use axum::extract::{Extension, State};
use axum::http::StatusCode;

use super::super::{CodeForm, Page, Reject, refused_page};
use super::guard::anonymous_chrome;
use super::{lock, login};
use crate::accounts::operator_account;
use crate::app::{AppState, SharedState};
use crate::session::{OperatorStep, PendingOperator, Session, Shown};
use crate::views::{self, DeskEnrollPage, KeyView};

/// The pending enrollment of `session` and its screen, if any.
fn enrolling(
    app: &AppState,
    session: &Session,
) -> Result<Option<(PendingOperator, totp_enroll::Provisioning)>, Reject> {
    let Some(pending) = login::pending(app, session, OperatorStep::Enrollment)? else {
        return Ok(None);
    };
    Ok(match session.data().provisioning {
        Some((Shown::Operator, screen)) => Some((pending, screen)),
        _ => None,
    })
}

/// GET /desk/enroll: the desk's QR code and key (shown until the confirmation).
pub async fn form(State(app): State<SharedState>, Extension(session): Extension<Session>) -> Page {
    let Some((pending, screen)) = enrolling(&app, &session)? else {
        return Err(Reject::Redirect("/desk"));
    };
    Ok(views::page(
        StatusCode::OK,
        &DeskEnrollPage {
            chrome: anonymous_chrome(&session),
            operator: pending.operator,
            key: KeyView::new(&screen)?,
            error: None,
        },
    ))
}

/// POST /desk/enroll: the app's first code confirms the enrollment and completes the
/// login; a refusal counts toward the lock.
pub async fn submit(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<CodeForm>,
) -> Page {
    let Some((pending, screen)) = enrolling(&app, &session)? else {
        return Err(Reject::Redirect("/desk"));
    };
    let account = operator_account(&pending.operator)?;
    match app.desk_engine.confirm(&account, &form.code).await {
        Ok(()) => login::complete(&app, &session, pending.operator).await,
        Err(error) => {
            if matches!(error, totp_enroll::error::EngineError::Refused(_))
                && lock::failed(&app, &pending.operator).await?
            {
                return lock::locked_page(&session);
            }
            let key = KeyView::new(&screen)?;
            refused_page(&app, error, |message| DeskEnrollPage {
                chrome: anonymous_chrome(&session),
                operator: pending.operator,
                key,
                error: Some(message),
            })
        }
    }
}
