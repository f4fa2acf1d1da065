//! オペレーター管理: the operators with their one-time password (registered or not),
//! consecutive failures and lock; another operator (never the operator itself) unlocks
//! a locked one or resets the one-time password of one who lost the phone, each with a
//! reason, audited in the trail (the lock and unlock as the portal's own rows, the reset
//! as the desk engine's event). A reset ends that operator's sessions; the operator
//! enrolls again at the next login.

use axum::Form;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use totp_enroll::{Operator, Status, error::EngineError};

use super::super::{Page, Reject};
use super::guard::{self, DeskOperator};
use super::wording::{
    DeskAction, NO_SUCH_OPERATOR, NOT_YOURSELF, operator_unlocked_detail, reason_line,
};
use crate::accounts::operator_account;
use crate::app::SharedState;
use crate::db::OperatorRow;
use crate::error::AppError;
use crate::notify::AUDIT_LOG;
use crate::session::Session;
use crate::views::{self, DeskOperatorsPage, OperatorView, SelectedOperator};

/// How many audit events of a selected operator the page shows.
const RECENT_EVENTS: i64 = 20;

/// `?operator_id=…&done=operator-unlock` (or `operator-reset`).
#[derive(Debug, Deserialize)]
pub struct OperatorLookup {
    /// The operator selected.
    pub operator_id: Option<String>,
    /// The action just done.
    pub done: Option<String>,
}

/// The unlock and reset forms.
#[derive(Debug, Deserialize)]
pub struct OperatorReasonForm {
    /// The operator acted on.
    pub operator_id: String,
    /// 理由.
    pub reason: String,
}

/// The page: every operator, the selected one with its forms and recent events.
async fn page(
    app: &SharedState,
    me: DeskOperator,
    selected: Option<&str>,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Page {
    app.audit.catch_up().await;
    let rows = app.db.operators().await?;
    let mut operators = Vec::with_capacity(rows.len());
    for row in &rows {
        operators.push(operator_view(app, row).await?);
    }
    let selected = match selected.and_then(|id| rows.iter().find(|r| r.operator_id == id)) {
        Some(row) => {
            let account = operator_account(&row.operator_id)?;
            let events = app
                .db
                .recent_audit(account.as_str(), RECENT_EVENTS)
                .await?
                .into_iter()
                .map(|row| {
                    (
                        crate::LOCALE.time(u64::try_from(row.at).unwrap_or(0)),
                        row.detail,
                    )
                })
                .collect();
            Some(SelectedOperator {
                id: row.operator_id.clone(),
                is_self: row.operator_id == me.id,
                events,
            })
        }
        None => None,
    };
    Ok(views::page(
        status,
        &DeskOperatorsPage {
            chrome: me.chrome,
            operators,
            selected,
            notice,
            error,
        },
    ))
}

async fn operator_view(app: &SharedState, row: &OperatorRow) -> Result<OperatorView, Reject> {
    let account = operator_account(&row.operator_id)?;
    let otp_status = match app.desk_engine.status(&account).await? {
        Status::Active { .. } => "登録済み",
        Status::Pending { .. } => "登録手続き中",
        _ => "未登録",
    };
    Ok(OperatorView {
        id: row.operator_id.clone(),
        otp_status,
        failures: row.failures,
        lock: match row.locked_at {
            Some(at) => format!(
                "ロック中（{}から）",
                crate::LOCALE.time(u64::try_from(at).unwrap_or(0))
            ),
            None => "なし".to_owned(),
        },
        locked: row.locked(),
    })
}

/// GET /desk/operators: オペレーター管理.
pub async fn show(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Query(lookup): Query<OperatorLookup>,
) -> Page {
    let me = guard::operator(&app, &session)?;
    let done = lookup.done.as_deref();
    let notice = [DeskAction::OperatorUnlock, DeskAction::OperatorReset]
        .into_iter()
        .find(|action| done == Some(action.name()))
        .map(|action| action.done().to_owned());
    page(
        &app,
        me,
        lookup.operator_id.as_deref().map(str::trim),
        StatusCode::OK,
        notice,
        None,
    )
    .await
}

/// An action of the logged-in operator on another: the operator (known, not itself) and
/// the reason (given, one line), or the page with the refusal.
async fn target(
    app: &SharedState,
    session: &Session,
    form: &OperatorReasonForm,
    action: DeskAction,
) -> Result<(DeskOperator, String, String), Reject> {
    let me = guard::operator(app, session)?;
    let id = form.operator_id.trim().to_owned();
    let refusal = match app.db.operator(&id).await? {
        None => Some((StatusCode::NOT_FOUND, NO_SUCH_OPERATOR)),
        Some(_) if id == me.id => Some((StatusCode::BAD_REQUEST, NOT_YOURSELF)),
        Some(_) => None,
    };
    let reason = reason_line(&form.reason, action);
    let (status, error) = match (refusal, &reason) {
        (Some(refusal), _) => refusal,
        (None, Err(error)) => (StatusCode::BAD_REQUEST, *error),
        (None, Ok(reason)) => return Ok((me, id, reason.clone())),
    };
    let page = page(app, me, Some(&id), status, None, Some(error.to_owned())).await?;
    Err(Reject::Page(Box::new(page)))
}

fn done(id: &str, action: DeskAction) -> Redirect {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("operator_id", id)
        .append_pair("done", action.name())
        .finish();
    Redirect::to(&format!("/desk/operators?{query}"))
}

/// POST /desk/operators/unlock: another operator's failures and lock are cleared (and the
/// desk engine's throttle of its codes); audited with the operator and the reason.
pub async fn unlock(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<OperatorReasonForm>,
) -> Page {
    let action = DeskAction::OperatorUnlock;
    let (me, id, reason) = target(&app, &session, &form, action).await?;
    let account = operator_account(&id)?;
    let by =
        Operator::new(me.id.clone()).map_err(|e| AppError::internal(format!("operator: {e}")))?;
    // The engine checks the reason's characters first: nothing changes on a refusal.
    match app.desk_engine.desk_unlock(&account, &by, &reason).await {
        // No one-time password (never enrolled, or reset): only the portal's lock.
        Ok(()) | Err(EngineError::NotActive) => {}
        Err(error) => return refused(&app, me, &id, error).await,
    }
    app.db.unlock_operator(&id).await?;
    let detail = operator_unlocked_detail(&me.id, &reason);
    app.db
        .insert_portal_audit(account.as_str(), app.now()?, "operator_unlocked", &detail)
        .await?;
    tracing::info!(target: AUDIT_LOG, account = %account, kind = "operator_unlocked", "audit event");
    Ok(done(&id, action).into_response())
}

/// The operators page with the refusal of `error` (e.g. a reason the engine refused);
/// a fault of the server is the generic error page.
async fn refused(app: &SharedState, me: DeskOperator, id: &str, error: EngineError) -> Page {
    let refused = crate::refusal::engine_error(&error, app.now()?);
    if refused.server_fault {
        return Err(error.into());
    }
    page(
        app,
        me,
        Some(id),
        refused.status,
        None,
        Some(refused.message),
    )
    .await
}

/// POST /desk/operators/reset: another operator's one-time password is erased
/// (`Engine::desk_reset` of the desk's engine, audited with the operator and the reason)
/// and its sessions end; it enrolls again at the next login.
pub async fn reset(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<OperatorReasonForm>,
) -> Page {
    let action = DeskAction::OperatorReset;
    let (me, id, reason) = target(&app, &session, &form, action).await?;
    let account = operator_account(&id)?;
    let by =
        Operator::new(me.id.clone()).map_err(|e| AppError::internal(format!("operator: {e}")))?;
    if let Err(error) = app.desk_engine.desk_reset(&account, &by, &reason).await {
        return refused(&app, me, &id, error).await;
    }
    app.desk_sessions.end_sessions_of(&id, None);
    Ok(done(&id, action).into_response())
}
