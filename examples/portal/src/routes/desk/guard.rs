//! Who is at the desk: the operator of the desk session (both login steps passed), the
//! page frame with the session's CSRF token, and the login page for a visitor who is not
//! one. An operator half-way (password passed, one-time password or its enrollment
//! awaited) reaches nothing but that step.

use axum::http::StatusCode;

use super::super::{Page, Reject};
use crate::app::AppState;
use crate::session::{OperatorStep, Session};
use crate::views::{self, Chrome, DeskLoginPage};

/// A logged-in operator.
#[derive(Debug, Clone)]
pub struct DeskOperator {
    /// The operator ID.
    pub id: String,
    /// The page frame.
    pub chrome: Chrome,
}

/// The logged-in operator of `session`; otherwise the step it owes (a redirect to
/// `/desk/otp` or `/desk/enroll`) or, for a visitor, the login page (401).
pub fn operator(app: &AppState, session: &Session) -> Result<DeskOperator, Reject> {
    let data = session.data();
    if let Some(id) = data.operator {
        return Ok(DeskOperator {
            chrome: Chrome {
                csrf: data.csrf,
                customer_name: None,
                operator: Some(id.clone()),
                desk_mailbox: app.demo_mailbox,
            },
            id,
        });
    }
    match data.pending_operator.map(|p| p.step) {
        Some(OperatorStep::Code) => Err(Reject::Redirect("/desk/otp")),
        Some(OperatorStep::Enrollment) => Err(Reject::Redirect("/desk/enroll")),
        None => {
            let page = login_page(session, StatusCode::UNAUTHORIZED, None)?;
            Err(Reject::Page(Box::new(page)))
        }
    }
}

/// The frame of a page for an operator who is not logged in (yet).
pub fn anonymous_chrome(session: &Session) -> Chrome {
    Chrome {
        csrf: session.csrf(),
        ..Chrome::default()
    }
}

/// The operators' login page with `status` and a refusal.
pub fn login_page(session: &Session, status: StatusCode, error: Option<String>) -> Page {
    Ok(views::page(
        status,
        &DeskLoginPage {
            chrome: anonymous_chrome(session),
            error,
        },
    ))
}
