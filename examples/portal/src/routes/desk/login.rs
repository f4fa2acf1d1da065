//! The operators' login (`POST /desk/login`) and logout.

use axum::Form;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::super::Page;
use super::guard::login_page;
use crate::app::SharedState;
use crate::session::Session;

/// The operator login form.
#[derive(Deserialize)]
pub struct DeskLoginForm {
    /// オペレーターID.
    pub operator: String,
    /// パスワード.
    pub password: String,
}

/// POST /desk/login.
pub async fn login(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<DeskLoginForm>,
) -> Page {
    let operator = form.operator.trim();
    let hash = app.db.operator_hash(operator).await?;
    let matched = app
        .passwords
        .verify(&form.password, hash.as_deref())
        .await?;
    if !matched || hash.is_none() {
        tracing::info!("desk login refused");
        return login_page(
            &session,
            StatusCode::UNAUTHORIZED,
            Some("オペレーターIDまたはパスワードが正しくありません。".into()),
        );
    }
    // From an EMPTY session, as the customers' login.
    session
        .start(operator, |d| d.operator = Some(operator.to_owned()))
        .map_err(crate::error::AppError::from)?;
    Ok(Redirect::to("/desk").into_response())
}

/// POST /desk/logout.
pub async fn logout(Extension(session): Extension<Session>) -> Redirect {
    session.end();
    Redirect::to("/desk")
}
