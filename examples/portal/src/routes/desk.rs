//! The support desk (`/desk`, お客さまサポート窓口): operators log in with their own session,
//! look a customer up by login ID (status and recent audit events: never a secret or a
//! code), and, each with a mandatory reason that is audited with the operator:
//!
//! * reset the service (リセット, the manual's lost-phone path: `Engine::admin_reset`);
//! * erase the registration on the customer's data-protection request (個人情報削除:
//!   `Engine::forget`, which leaves only a tombstone of the row; the audit trail stays).

use axum::Form;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use totp_enroll::{Access, Lang, Operator, Status};

use super::{Page, Reject, account_id, refused_page};
use crate::app::SharedState;
use crate::session::Session;
use crate::views::{self, Chrome, DeskCustomer, DeskLoginPage, DeskPage};

/// How many audit events the desk shows.
const RECENT_EVENTS: i64 = 20;
/// Longest reason, in characters.
const MAX_REASON_CHARS: usize = 500;

/// `?login_id=…&done=reset` (or `done=forget`).
#[derive(Debug, Deserialize)]
pub struct Lookup {
    /// The login ID to look up.
    pub login_id: Option<String>,
    /// The action just done (`reset` or `forget`).
    pub done: Option<String>,
}

/// What an operator does to a customer's service, with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeskAction {
    /// リセット: the enrollment is cleared; the customer may apply again.
    Reset,
    /// 個人情報削除: the enrollment row is erased; the customer may apply again.
    Forget,
}

impl DeskAction {
    const ALL: [Self; 2] = [Self::Reset, Self::Forget];

    /// In the `done` query after the action.
    fn name(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::Forget => "forget",
        }
    }

    fn no_reason(self) -> &'static str {
        match self {
            Self::Reset => "リセットの理由を入力してください。",
            Self::Forget => "個人情報削除の理由（ご依頼の内容）を入力してください。",
        }
    }

    fn reason_too_long(self) -> &'static str {
        match self {
            Self::Reset => "リセットの理由は500文字以内で入力してください。",
            Self::Forget => "個人情報削除の理由は500文字以内で入力してください。",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Self::Reset => "ワンタイムパスワードサービスをリセットしました（未登録）。",
            Self::Forget => {
                "ご依頼によりワンタイムパスワードサービスの登録情報を削除しました（未登録）。"
            }
        }
    }
}

/// The operator login form.
#[derive(Deserialize)]
pub struct DeskLoginForm {
    /// オペレーターID.
    pub operator: String,
    /// パスワード.
    pub password: String,
}

/// The reset and erasure forms.
#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    /// The customer.
    pub login_id: String,
    /// 理由.
    pub reason: String,
}

fn chrome(session: &Session) -> (Chrome, Option<String>) {
    let data = session.data();
    (
        Chrome {
            csrf: data.csrf,
            customer_name: None,
            operator: data.operator.clone(),
        },
        data.operator,
    )
}

fn login_page(session: &Session, status: StatusCode, error: Option<String>) -> Page {
    Ok(views::page(
        status,
        &DeskLoginPage {
            chrome: chrome(session).0,
            error,
        },
    ))
}

/// GET /desk: the login form, or the lookup page.
pub async fn show(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Query(lookup): Query<Lookup>,
) -> Page {
    let (chrome, operator) = chrome(&session);
    if operator.is_none() {
        return login_page(&session, StatusCode::OK, None);
    }
    let login_id = lookup.login_id.unwrap_or_default().trim().to_owned();
    let notice = DeskAction::ALL
        .into_iter()
        .find(|action| lookup.done.as_deref() == Some(action.name()))
        .map(|action| action.done().to_owned());
    if login_id.is_empty() {
        return Ok(views::page(
            StatusCode::OK,
            &DeskPage {
                chrome,
                login_id,
                notice,
                error: None,
                found: None,
            },
        ));
    }
    let found = desk_customer(&app, &login_id).await?;
    let status = if found.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let error = found
        .is_none()
        .then(|| "該当するお客さまが見つかりません。".to_owned());
    Ok(views::page(
        status,
        &DeskPage {
            chrome,
            login_id,
            notice,
            error,
            found,
        },
    ))
}

async fn desk_customer(app: &SharedState, login_id: &str) -> Result<Option<DeskCustomer>, Reject> {
    let Some(customer) = app.db.customer(login_id).await? else {
        return Ok(None);
    };
    let account = account_id(&customer.login_id)?;
    let status = app.engine.status(&account).await?;
    let mut notes = Vec::new();
    let access = match status {
        Status::Pending { expires_at, access } => {
            notes.push(format!(
                "申込手続き中（確認未完了、有効期限 {}）",
                crate::LOCALE.time(expires_at)
            ));
            Some(access)
        }
        Status::Active { since, access } => {
            notes.push(format!("利用開始 {}", crate::LOCALE.time(since)));
            Some(access)
        }
        _ => None,
    };
    match access {
        Some(Access::Locked) => notes.push("ロック中（リセットが必要です）".into()),
        Some(Access::Throttled { until }) => {
            notes.push(format!("一時停止中（{}まで）", crate::LOCALE.time(until)));
        }
        _ => {}
    }
    // Deliver what is pending first, so the desk shows the event of what was just done.
    app.audit.catch_up().await;
    let events = app
        .db
        .recent_audit(&customer.login_id, RECENT_EVENTS)
        .await?
        .into_iter()
        .map(|row| {
            (
                crate::LOCALE.time(u64::try_from(row.at).unwrap_or(0)),
                row.detail,
            )
        })
        .collect();
    Ok(Some(DeskCustomer {
        login_id: customer.login_id,
        name: customer.name,
        status_label: status.label(Lang::Ja),
        notes,
        events,
    }))
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
    session.rotate();
    session.update(|d| d.operator = Some(operator.to_owned()));
    Ok(Redirect::to("/desk").into_response())
}

/// POST /desk/logout.
pub async fn logout(Extension(session): Extension<Session>) -> Redirect {
    session.reset();
    Redirect::to("/desk")
}

/// POST /desk/reset: clears the customer's enrollment (lost phone); the reason is
/// mandatory and audited.
pub async fn reset(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<ReasonForm>,
) -> Page {
    act(&app, &session, form, DeskAction::Reset).await
}

/// POST /desk/forget: erases the customer's enrollment on a data-protection request; the
/// reason is mandatory and audited.
pub async fn forget(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<ReasonForm>,
) -> Page {
    act(&app, &session, form, DeskAction::Forget).await
}

/// Checks the operator and the reason, then does `action` and goes back to the lookup.
async fn act(app: &SharedState, session: &Session, form: ReasonForm, action: DeskAction) -> Page {
    let (chrome, operator) = chrome(session);
    let Some(operator) = operator else {
        return login_page(session, StatusCode::UNAUTHORIZED, None);
    };
    // One line of text: newlines and other control characters become spaces (the reason
    // goes to the audit log).
    let reason: String = form
        .reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let reason = reason.trim();
    let login_id = form.login_id.trim().to_owned();
    let error = if reason.is_empty() {
        Some(action.no_reason())
    } else if reason.chars().count() > MAX_REASON_CHARS {
        Some(action.reason_too_long())
    } else {
        None
    };
    let found = desk_customer(app, &login_id).await?;
    if found.is_none() || error.is_some() {
        let status = if found.is_none() {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        };
        let error = error.map_or_else(
            || "該当するお客さまが見つかりません。".to_owned(),
            str::to_owned,
        );
        return Ok(views::page(
            status,
            &DeskPage {
                chrome,
                login_id,
                notice: None,
                error: Some(error),
                found,
            },
        ));
    }
    let operator = Operator::new(operator)
        .map_err(|e| crate::error::AppError::internal(format!("operator: {e}")))?;
    let account = account_id(&login_id)?;
    let result = match action {
        DeskAction::Reset => app.engine.admin_reset(&account, &operator, reason).await,
        DeskAction::Forget => app.engine.forget(&account, &operator, reason).await,
    };
    if let Err(error) = result {
        return refused_page(app, error, |message| DeskPage {
            chrome,
            login_id,
            notice: None,
            error: Some(message),
            found,
        });
    }
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("login_id", &login_id)
        .append_pair("done", action.name())
        .finish();
    Ok(Redirect::to(&format!("/desk?{query}")).into_response())
}
