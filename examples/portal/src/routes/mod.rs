//! The screens, one module per group of the manual.

pub mod account;
pub mod apply;
pub mod desk;
pub mod devices;
pub mod login;
pub mod mail;
pub mod recovery;
pub mod redisplay;
pub mod stop;

use askama::Template;
use axum::response::{IntoResponse, Redirect, Response};
use totp_enroll::{AccountId, Status, StepUp, error::EngineError};

use crate::app::AppState;
use crate::db::Customer;
use crate::error::AppError;
use crate::refusal;
use crate::session::Session;
use crate::views::{self, Chrome};

/// Why a handler does not render its page: send the browser elsewhere, or a server fault.
#[derive(Debug)]
pub enum Reject {
    /// 303 to this path (not logged in, nothing to show, …).
    Redirect(&'static str),
    /// A fault of the server.
    Error(AppError),
    /// A page already rendered: a refusal before the engine is asked (the desk's missing
    /// reason, an unknown customer).
    Page(Box<Response>),
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        match self {
            Self::Redirect(to) => Redirect::to(to).into_response(),
            Self::Error(error) => error.into_response(),
            Self::Page(page) => *page,
        }
    }
}

impl<E: Into<AppError>> From<E> for Reject {
    fn from(error: E) -> Self {
        Self::Error(error.into())
    }
}

/// What a handler returns.
pub type Page = Result<Response, Reject>;

/// A logged-in customer (both login steps passed).
pub struct LoggedIn {
    /// The customer's row.
    pub customer: Customer,
    /// The engine's account id (the login ID).
    pub account: AccountId,
    /// The page frame.
    pub chrome: Chrome,
}

/// The logged-in customer of `session`, or a redirect to the login page. A session that
/// only passed the password step is NOT logged in.
pub async fn logged_in(app: &AppState, session: &Session) -> Result<LoggedIn, Reject> {
    let data = session.data();
    let Some(login_id) = data.customer else {
        return Err(Reject::Redirect("/login"));
    };
    let Some(customer) = app.db.customer(&login_id).await? else {
        session.end();
        return Err(Reject::Redirect("/login"));
    };
    let account = account_id(&customer.login_id)?;
    Ok(LoggedIn {
        chrome: Chrome {
            csrf: data.csrf,
            customer_name: Some(customer.name.clone()),
            ..Chrome::default()
        },
        customer,
        account,
    })
}

/// The engine's account id of a customer's login ID (never an operator's:
/// [`crate::accounts`]).
pub fn account_id(login_id: &str) -> Result<AccountId, AppError> {
    crate::accounts::customer_account(login_id)
}

/// The frame of a page for a visitor who is not logged in.
pub fn anonymous_chrome(session: &Session) -> Chrome {
    Chrome {
        csrf: session.csrf(),
        ..Chrome::default()
    }
}

/// The form field of every one-time password form.
#[derive(Debug, serde::Deserialize)]
pub struct CodeForm {
    /// What the customer typed (ASCII or full-width digits, one separator allowed).
    pub code: String,
}

/// The refusal of a wrong transaction password (申込, and コード再表示 / 別の端末を追加 /
/// the lost-phone 利用停止 when they ask for it).
pub const WRONG_TRADE_PASSWORD: &str =
    "取引パスワードが正しくありません。入力内容をご確認のうえ、再度入力してください。";

/// Checks `me`'s transaction password (argon2id): the step-up proof for the engine when
/// it matches, `None` (logged, never the password) when it does not.
pub async fn trade_password_step_up(
    app: &AppState,
    me: &LoggedIn,
    trade_password: &str,
) -> Result<Option<StepUp>, Reject> {
    let matched = app
        .passwords
        .verify(trade_password, Some(&me.customer.trade_password_hash))
        .await?;
    if !matched {
        tracing::info!("transaction password refused");
        return Ok(None);
    }
    Ok(Some(StepUp::transaction_password_verified(
        &me.account,
        app.now()?,
    )))
}

/// The page of a refused engine call: the same form again (`form`, given the library's
/// Japanese text) with the error's HTTP status and `Retry-After`; a fault of the server is
/// the generic error page instead (and logged).
pub fn refused_page<T: Template>(
    app: &AppState,
    error: EngineError,
    form: impl FnOnce(String) -> T,
) -> Page {
    refused_with(app, error, refusal::engine_error, form)
}

/// As [`refused_page`], for a refused recovery code (its wording names the recovery code).
pub fn recovery_refused_page<T: Template>(
    app: &AppState,
    error: EngineError,
    form: impl FnOnce(String) -> T,
) -> Page {
    refused_with(app, error, refusal::recovery_code_error, form)
}

fn refused_with<T: Template>(
    app: &AppState,
    error: EngineError,
    describe: fn(&EngineError, u64) -> refusal::Refused,
    form: impl FnOnce(String) -> T,
) -> Page {
    let refused = describe(&error, app.now()?);
    if refused.server_fault {
        return Err(error.into());
    }
    Ok(views::page_retry(
        refused.status,
        refused.retry_after,
        &form(refused.message),
    ))
}

/// Screens that exist only while the service is 利用中 (コード再表示, 利用停止, the
/// application's 受付): otherwise back to 登録情報照会.
pub async fn require_active(app: &AppState, me: &LoggedIn) -> Result<(), Reject> {
    if matches!(app.engine.status(&me.account).await?, Status::Active { .. }) {
        Ok(())
    } else {
        Err(Reject::Redirect("/account"))
    }
}
