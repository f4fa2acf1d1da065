//! The support desk (`/desk`, お客さまサポート窓口): operators log in with their own session,
//! look a customer up by login ID (the engine's overview: status, the apps with their
//! names, ids and clock offsets, unused recovery codes, failures and lock; recent audit
//! events: never a secret or a code), and
//!
//! * check a code the customer reads out over the phone (コード確認: `Engine::desk_diagnose`,
//!   which never accepts or consumes it and counts each check as a failed attempt);
//!
//! and, each with a mandatory reason that is audited with the operator:
//!
//! * unlock after the customer's identity was re-proofed (ロック解除:
//!   `Engine::desk_unlock`, keeping the registration and the recovery codes);
//! * correct the app's clock offset from two consecutive codes the customer reads out
//!   (時刻ずれの補正: `Engine::desk_resync`);
//! * remove one app of several (このアプリを削除, a lost tablet:
//!   `Engine::desk_remove_authenticator`; never the only one);
//! * reset the service (リセット, the manual's lost-phone path: `Engine::desk_reset`);
//! * erase the registration on the customer's data-protection request (個人情報削除:
//!   `Engine::desk_forget`, which leaves only a tombstone of the row; the audit trail stays).
//!
//! No code typed here is logged, echoed into the page or put in a URL: the result of a
//! check or a resync goes to the next page through the operator's session.
//!
//! Operators log in with their password AND a one-time password of the desk's own engine
//! ([`crate::app::AppState::desk_engine`]); without one yet, they enroll right after the
//! password and reach nothing else of the desk before confirming it. Five consecutive
//! failures of either factor lock the operator until another one unlocks it.
//!
//! The module's files: this one looks a customer up and acts on the account; [`login`]
//! is the operators' password and one-time password steps, [`enroll`] their enrollment,
//! [`lock`] the count of their failures and the lock; [`operators`] another operator's
//! unlock and reset of the one-time password; [`guard`] the check that an operator is
//! logged in; [`wording`] the desk's texts and the pure helpers that word what the engine
//! found.

pub mod enroll;
pub mod guard;
pub mod lock;
pub mod login;
pub mod operators;
pub mod wording;

use axum::Form;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use totp_enroll::{AccountId, Operator, Status, error::EngineError, messages::Lang};

use super::{Page, Reject, account_id, devices, refused_page};
use crate::app::SharedState;
use crate::session::{DeskResult, Session};
use crate::views::{self, Chrome, DeskAuthenticator, DeskCustomer, DeskPage};
use guard::login_page;
use wording::{
    DIAGNOSED, DeskAction, Found, NOT_FOUND, REMOVED, RESYNCED, desk_refusal, diagnosis_lines,
    drift_cell, drift_sentence, lock_state, reason_line, which_app,
};

/// How many audit events the desk shows.
const RECENT_EVENTS: i64 = 20;

/// `?login_id=…&done=reset` (or `desk_forget`, `unlock`, `desk_diagnose`, `resync`).
#[derive(Debug, Deserialize)]
pub struct Lookup {
    /// The login ID to look up.
    pub login_id: Option<String>,
    /// The action just done.
    pub done: Option<String>,
}

/// The unlock, reset and erasure forms.
#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    /// The customer.
    pub login_id: String,
    /// 理由.
    pub reason: String,
}

/// The コード確認 form (no `Debug`: it holds the code the customer read out).
#[derive(Deserialize)]
pub struct DiagnoseForm {
    /// The customer.
    pub login_id: String,
    /// The code the customer read out.
    pub code: String,
}

/// The このアプリを削除 form.
#[derive(Debug, Deserialize)]
pub struct RemoveAuthenticatorForm {
    /// The customer.
    pub login_id: String,
    /// The app's id.
    #[serde(default)]
    pub authenticator: String,
    /// 理由.
    pub reason: String,
}

/// The 時刻ずれの補正 form (no `Debug`: it holds two codes).
#[derive(Deserialize)]
pub struct ResyncForm {
    /// The customer.
    pub login_id: String,
    /// The code the app showed first.
    pub first: String,
    /// The code it showed next.
    pub second: String,
    /// 理由.
    pub reason: String,
}

/// GET /desk: the login form, or the lookup page.
pub async fn show(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Query(lookup): Query<Lookup>,
) -> Page {
    let chrome = match guard::operator(&app, &session) {
        Ok(me) => me.chrome,
        // Nobody logged in: the login form (an operator half-way is sent on to the step).
        Err(Reject::Page(_)) => return login_page(&session, StatusCode::OK, None),
        Err(other) => return Err(other),
    };
    let login_id = lookup.login_id.unwrap_or_default().trim().to_owned();
    let done = lookup.done.as_deref();
    let mut notice = DeskAction::NOTICED
        .into_iter()
        .find(|action| done == Some(action.name()))
        .map(|action| action.done().to_owned());
    // A check's or a resync's result is shown once, on the page its redirect asks for (and
    // dropped by any other page).
    let result = session
        .update(|d| d.desk_result.take())
        .flatten()
        .filter(|r| done == Some(r.action) && r.login_id == login_id);
    let diagnosis = match result {
        Some(result) if result.action == DIAGNOSED => Some(result.lines),
        Some(result) => {
            notice = Some(result.lines.join(""));
            None
        }
        None => None,
    };
    if login_id.is_empty() {
        return Ok(views::page(
            StatusCode::OK,
            &DeskPage {
                chrome,
                login_id,
                notice,
                error: None,
                found: None,
                diagnosis: None,
            },
        ));
    }
    let found = desk_customer(&app, &login_id).await?;
    let status = if found.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let error = found.is_none().then(|| NOT_FOUND.to_owned());
    Ok(views::page(
        status,
        &DeskPage {
            chrome,
            login_id,
            notice,
            error,
            found,
            diagnosis,
        },
    ))
}

async fn desk_customer(app: &SharedState, login_id: &str) -> Result<Option<DeskCustomer>, Reject> {
    let Some(customer) = app.db.customer(login_id).await? else {
        return Ok(None);
    };
    let account = account_id(&customer.login_id)?;
    let overview = app.engine.overview(&account).await?;
    let mut notes = Vec::new();
    match overview.status {
        Status::Pending { expires_at, .. } => notes.push(format!(
            "申込手続き中（確認未完了、有効期限 {}）",
            crate::LOCALE.time(expires_at)
        )),
        Status::Active { since, .. } => {
            notes.push(format!("利用開始 {}", crate::LOCALE.time(since)));
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
    let active = matches!(overview.status, Status::Active { .. });
    let confirmed = devices::confirmed(&overview.authenticators);
    Ok(Some(DeskCustomer {
        login_id: customer.login_id,
        name: customer.name,
        status_label: overview.status.label(Lang::Ja),
        notes,
        active,
        registered: !overview.authenticators.is_empty(),
        authenticators: overview
            .authenticators
            .iter()
            .map(|a| DeskAuthenticator {
                id: a.id,
                name: views::app_name(&a.name),
                label: a.label.clone(),
                created_at: crate::LOCALE.time(a.created_at),
                last_used_at: a
                    .last_used_at
                    .map_or_else(|| "—".to_owned(), |at| crate::LOCALE.time(at)),
                drift: if a.pending {
                    "—".to_owned()
                } else {
                    drift_cell(a.drift_steps, a.drift_seconds)
                },
                pending: a.pending,
                drift_steps: a.drift_steps,
                removable: active && devices::removable(a.pending, confirmed),
            })
            .collect(),
        recovery_codes_remaining: overview.recovery_codes_remaining,
        failures: overview.failures,
        lock_state: lock_state(&overview),
        restricted: overview.locked || overview.backoff_until.is_some(),
        events,
    }))
}

/// POST /desk/diagnose (コード確認): by how many steps the code the customer read out is
/// off; never a login, never a consumed code, and counted as one failed attempt.
pub async fn diagnose(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<DiagnoseForm>,
) -> Page {
    let target = checked(&app, &session, &form.login_id, None).await?;
    let result = app
        .engine
        .desk_diagnose(&target.account, &form.code, &target.operator)
        .await;
    match result {
        Ok(diagnosis) => {
            let otp = app.engine.policy().otp();
            let apps = &target.found.authenticators;
            let found = Found::from(diagnosis);
            let lines = diagnosis_lines(found, otp.period(), apps, otp.window());
            Ok(done(&session, target.login_id, DIAGNOSED, Some(lines)))
        }
        Err(error) => {
            let addition = desk_refusal(&error, None);
            refused(&app, target, error, addition).await
        }
    }
}

/// POST /desk/unlock (ロック解除): clears failures, lock and backoff; the reason is
/// mandatory and audited.
pub async fn unlock(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<ReasonForm>,
) -> Page {
    let action = DeskAction::Unlock;
    let target = checked(&app, &session, &form.login_id, Some((&form.reason, action))).await?;
    let result = (app.engine)
        .desk_unlock(&target.account, &target.operator, &target.reason)
        .await;
    finish(&app, &session, target, action, result).await
}

/// POST /desk/resync (時刻ずれの補正): two consecutive codes the customer read out set the
/// app's clock offset; the reason is mandatory and audited.
pub async fn resync(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<ResyncForm>,
) -> Page {
    let action = DeskAction::Resync;
    let target = checked(&app, &session, &form.login_id, Some((&form.reason, action))).await?;
    let result = app
        .engine
        .desk_resync(
            &target.account,
            &form.first,
            &form.second,
            &target.operator,
            &target.reason,
        )
        .await;
    match result {
        Ok(resynced) => {
            let period = i64::from(app.engine.policy().otp().period());
            let drift = i64::from(resynced.drift);
            let mut lines = vec![
                action.done().to_owned(),
                drift_sentence(drift, drift.saturating_mul(period)),
                "次回のログインから、このずれに合わせてワンタイムパスワードを確認します。"
                    .to_owned(),
            ];
            let apps = &target.found.authenticators;
            lines.extend(which_app(apps, resynced.authenticator, "補正したアプリ："));
            Ok(done(&session, target.login_id, RESYNCED, Some(lines)))
        }
        Err(error) => {
            let addition = desk_refusal(&error, Some(action));
            refused(&app, target, error, addition).await
        }
    }
}

/// POST /desk/reset: clears the customer's enrollment (lost phone); the reason is
/// mandatory and audited.
pub async fn reset(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<ReasonForm>,
) -> Page {
    let action = DeskAction::Reset;
    let target = checked(&app, &session, &form.login_id, Some((&form.reason, action))).await?;
    let result = (app.engine)
        .desk_reset(&target.account, &target.operator, &target.reason)
        .await;
    finish(&app, &session, target, action, result).await
}

/// POST /desk/forget: erases the customer's enrollment on a data-protection request; the
/// reason is mandatory and audited.
pub async fn forget(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<ReasonForm>,
) -> Page {
    let action = DeskAction::Forget;
    let target = checked(&app, &session, &form.login_id, Some((&form.reason, action))).await?;
    let result = (app.engine)
        .desk_forget(&target.account, &target.operator, &target.reason)
        .await;
    finish(&app, &session, target, action, result).await
}

/// POST /desk/remove-authenticator (このアプリを削除): one app of several (a lost
/// tablet); the others keep working. The reason is mandatory and audited; the only app is
/// refused (リセット instead).
pub async fn remove_authenticator(
    State(app): State<SharedState>,
    Extension(session): Extension<Session>,
    Form(form): Form<RemoveAuthenticatorForm>,
) -> Page {
    let action = DeskAction::RemoveAuthenticator;
    let target = checked(&app, &session, &form.login_id, Some((&form.reason, action))).await?;
    let id = form.authenticator.trim().parse::<u8>().ok();
    let name = target
        .found
        .authenticators
        .iter()
        .find(|a| Some(a.id) == id)
        .map(|a| format!("「{}」（ID {}）", a.name, a.id));
    let result = match id {
        Some(id) => {
            (app.engine)
                .desk_remove_authenticator(&target.account, id, &target.operator, &target.reason)
                .await
        }
        None => Err(EngineError::UnknownAuthenticator(0)),
    };
    match result {
        Ok(()) => {
            end_customer_sessions(&app, &target.login_id);
            let line = match name {
                Some(name) => format!(
                    "アプリ{name}を削除しました。ほかのアプリはそのままお使いいただけます。"
                ),
                None => action.done().to_owned(),
            };
            Ok(done(&session, target.login_id, REMOVED, Some(vec![line])))
        }
        Err(error) => {
            let addition = desk_refusal(&error, Some(action));
            refused(&app, target, error, addition).await
        }
    }
}

/// After an action with a reason that tells nothing more than its notice: back to the
/// lookup, or the refusal.
async fn finish(
    app: &SharedState,
    session: &Session,
    target: Target,
    action: DeskAction,
    result: Result<(), EngineError>,
) -> Page {
    match result {
        Ok(()) => {
            if matches!(action, DeskAction::Reset | DeskAction::Forget) {
                end_customer_sessions(app, &target.login_id);
            }
            Ok(done(session, target.login_id, action.name(), None))
        }
        Err(error) => {
            let addition = desk_refusal(&error, Some(action));
            refused(app, target, error, addition).await
        }
    }
}

/// A factor of the customer was removed at the desk (reset, erasure, one app): every
/// session of the customer ends (whoever holds one logs in again, with what remains).
fn end_customer_sessions(app: &SharedState, login_id: &str) {
    let ended = app.sessions.end_sessions_of(login_id, None);
    tracing::info!(
        ended,
        "the customer's sessions ended after a factor was removed"
    );
}

/// The customer an action is for, the operator, and the reason (one line).
struct Target {
    chrome: Chrome,
    login_id: String,
    account: AccountId,
    operator: Operator,
    reason: String,
    found: DeskCustomer,
}

/// Whether an action for `login_id` may go ahead: an operator is logged in, the customer
/// exists, and (for `reason` with its action) the reason is given and not too long. The
/// engine checks the reason's characters.
async fn checked(
    app: &SharedState,
    session: &Session,
    login_id: &str,
    reason: Option<(&str, DeskAction)>,
) -> Result<Target, Reject> {
    let me = guard::operator(app, session)?;
    let chrome = me.chrome;
    let operator = me.id;
    // One line of text (the reason goes to the audit log).
    let (text, error) = match reason.map(|(reason, action)| reason_line(reason, action)) {
        Some(Ok(line)) => (line, None),
        Some(Err(error)) => (String::new(), Some(error)),
        None => (String::new(), None),
    };
    let login_id = login_id.trim().to_owned();
    let found = desk_customer(app, &login_id).await?;
    let found = match (found, error) {
        (Some(found), None) => found,
        (found, error) => {
            let status = if found.is_none() {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::BAD_REQUEST
            };
            let error = error.unwrap_or(NOT_FOUND).to_owned();
            let page = DeskPage {
                chrome,
                login_id,
                notice: None,
                error: Some(error),
                found,
                diagnosis: None,
            };
            return Err(Reject::Page(Box::new(views::page(status, &page))));
        }
    };
    let operator = Operator::new(operator)
        .map_err(|e| crate::error::AppError::internal(format!("operator: {e}")))?;
    Ok(Target {
        chrome,
        account: account_id(&login_id)?,
        login_id,
        operator,
        reason: text,
        found,
    })
}

/// After an action: its result (if any) for the next page, and the redirect to the lookup.
fn done(
    session: &Session,
    login_id: String,
    action: &'static str,
    lines: Option<Vec<String>>,
) -> Response {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("login_id", &login_id)
        .append_pair("done", action)
        .finish();
    if let Some(lines) = lines {
        session.update(|d| {
            d.desk_result = Some(DeskResult {
                login_id,
                action,
                lines,
            });
        });
    }
    Redirect::to(&format!("/desk?{query}")).into_response()
}

/// The page of a refused action: the customer's page again (re-read: a counted failure
/// changed it) with the library's text of the refusal, then the desk's `addition`.
async fn refused(
    app: &SharedState,
    target: Target,
    error: EngineError,
    addition: Option<&'static str>,
) -> Page {
    let Target {
        chrome, login_id, ..
    } = target;
    let found = desk_customer(app, &login_id).await?;
    refused_page(app, error, |message| DeskPage {
        chrome,
        login_id,
        notice: None,
        error: Some(match addition {
            Some(addition) => format!("{message}{addition}"),
            None => message,
        }),
        found,
        diagnosis: None,
    })
}
