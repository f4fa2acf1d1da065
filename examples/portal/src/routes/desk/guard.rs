//! Who is at the desk: the operator of the desk session, the page frame with the
//! session's CSRF token, and the login page for a visitor who is not one.

use axum::http::StatusCode;

use super::super::Page;
use crate::session::Session;
use crate::views::{self, Chrome, DeskLoginPage};

/// The page frame of the desk session and its operator (`None`: nobody logged in).
pub fn chrome(session: &Session) -> (Chrome, Option<String>) {
    let data = session.data();
    (
        Chrome {
            csrf: session.csrf(),
            customer_name: None,
            operator: data.operator.clone(),
        },
        data.operator,
    )
}

/// The operators' login page with `status` and a refusal.
pub fn login_page(session: &Session, status: StatusCode, error: Option<String>) -> Page {
    Ok(views::page(
        status,
        &DeskLoginPage {
            chrome: chrome(session).0,
            error,
        },
    ))
}
