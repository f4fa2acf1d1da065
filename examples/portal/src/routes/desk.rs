//! The support desk (`/desk`, お客さまサポート窓口): operators log in with their own session,
//! look a customer up by login ID (the engine's overview: status, the apps with their
//! names, ids and clock offsets, unused recovery codes, failures and lock; recent audit
//! events: never a secret or a code), and
//!
//! * check a code the customer reads out over the phone (コード確認: `Engine::diagnose`,
//!   which never accepts or consumes it and counts each check as a failed attempt);
//!
//! and, each with a mandatory reason that is audited with the operator:
//!
//! * unlock after the customer's identity was re-proofed (ロック解除:
//!   `Engine::admin_unlock`, keeping the registration and the recovery codes);
//! * correct the app's clock offset from two consecutive codes the customer reads out
//!   (時刻ずれの補正: `Engine::desk_resync`);
//! * remove one app of several (このアプリを削除, a lost tablet:
//!   `Engine::desk_remove_authenticator`; never the only one);
//! * reset the service (リセット, the manual's lost-phone path: `Engine::admin_reset`);
//! * erase the registration on the customer's data-protection request (個人情報削除:
//!   `Engine::forget`, which leaves only a tombstone of the row; the audit trail stays).
//!
//! No code typed here is logged, echoed into the page or put in a URL: the result of a
//! check or a resync goes to the next page through the operator's session.

use axum::Form;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use totp_enroll::{
    AccountId, AccountOverview, Diagnosis, EngineError, Lang, Operator, Refusal, Status, Window,
};

use super::{Page, Reject, account_id, devices, refused_page};
use crate::app::SharedState;
use crate::session::{DeskResult, Session};
use crate::views::{self, Chrome, DeskAuthenticator, DeskCustomer, DeskLoginPage, DeskPage};

/// How many audit events the desk shows.
const RECENT_EVENTS: i64 = 20;
/// Longest reason, in characters.
const MAX_REASON_CHARS: usize = 500;
/// `done` after コード確認.
const DIAGNOSED: &str = "diagnose";
/// `done` after 時刻ずれの補正.
const RESYNCED: &str = "resync";
/// `done` after このアプリを削除.
const REMOVED: &str = "remove-authenticator";
/// The page's answer when the login ID is no customer's.
const NOT_FOUND: &str = "該当するお客さまが見つかりません。";

/// `?login_id=…&done=reset` (or `forget`, `unlock`, `diagnose`, `resync`).
#[derive(Debug, Deserialize)]
pub struct Lookup {
    /// The login ID to look up.
    pub login_id: Option<String>,
    /// The action just done.
    pub done: Option<String>,
}

/// What an operator does to a customer's service, with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeskAction {
    /// ロック解除: failures, lock and backoff are cleared; the registration stays.
    Unlock,
    /// 時刻ずれの補正: the app's clock offset is set from two consecutive codes.
    Resync,
    /// リセット: the enrollment is cleared; the customer may apply again.
    Reset,
    /// 個人情報削除: the enrollment row is erased; the customer may apply again.
    Forget,
    /// このアプリを削除: one app of several is removed; the others keep working.
    RemoveAuthenticator,
}

impl DeskAction {
    /// The actions whose notice after the redirect is fixed text.
    const NOTICED: [Self; 3] = [Self::Unlock, Self::Reset, Self::Forget];

    /// In the `done` query after the action.
    fn name(self) -> &'static str {
        match self {
            Self::Unlock => "unlock",
            Self::Resync => RESYNCED,
            Self::Reset => "reset",
            Self::Forget => "forget",
            Self::RemoveAuthenticator => REMOVED,
        }
    }

    fn no_reason(self) -> &'static str {
        match self {
            Self::Unlock => "ロック解除の理由を入力してください。",
            Self::Resync => "時刻ずれの補正の理由を入力してください。",
            Self::Reset => "リセットの理由を入力してください。",
            Self::Forget => "個人情報削除の理由（ご依頼の内容）を入力してください。",
            Self::RemoveAuthenticator => "アプリの削除の理由を入力してください。",
        }
    }

    fn reason_too_long(self) -> &'static str {
        match self {
            Self::Unlock => "ロック解除の理由は500文字以内で入力してください。",
            Self::Resync => "時刻ずれの補正の理由は500文字以内で入力してください。",
            Self::Reset => "リセットの理由は500文字以内で入力してください。",
            Self::Forget => "個人情報削除の理由は500文字以内で入力してください。",
            Self::RemoveAuthenticator => "アプリの削除の理由は500文字以内で入力してください。",
        }
    }

    /// The notice after the action (時刻ずれの補正 tells the new offset, このアプリを削除
    /// names the app).
    fn done(self) -> &'static str {
        match self {
            Self::Unlock => {
                "ワンタイムパスワード認証のロックを解除しました（連続失敗回数 0 回）。登録情報とリカバリーコードはそのままお使いいただけます。"
            }
            Self::Resync => "時刻のずれを補正しました。",
            Self::Reset => "ワンタイムパスワードサービスをリセットしました（未登録）。",
            Self::Forget => {
                "ご依頼によりワンタイムパスワードサービスの登録情報を削除しました（未登録）。"
            }
            Self::RemoveAuthenticator => "アプリを削除しました。",
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

/// The ロック／一時停止 cell.
fn lock_state(overview: &AccountOverview) -> String {
    match (overview.locked, overview.backoff_until) {
        (true, _) => "ロック中（ご本人確認のうえ、ロック解除またはリセットが必要です）".to_owned(),
        (false, Some(until)) => format!("一時停止中（{}まで）", crate::LOCALE.time(until)),
        (false, None) => "なし".to_owned(),
    }
}

/// The 時刻のずれ cell: `+240秒（8ステップ進み）`, `-30秒（1ステップ遅れ）`, `0秒（ずれなし）`.
pub fn drift_cell(steps: i32, seconds: i64) -> String {
    let n = steps.unsigned_abs();
    match steps.signum() {
        1 => format!("+{seconds}秒（{n}ステップ進み）"),
        -1 => format!("{seconds}秒（{n}ステップ遅れ）"),
        _ => "0秒（ずれなし）".to_owned(),
    }
}

/// A length of time in words: `30秒`, `4分`, `1分30秒`, `2時間5分`, `1日`.
pub fn duration(seconds: u64) -> String {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    let (big, small, big_unit, small_unit, small_len) = if seconds < MINUTE {
        return format!("{seconds}秒");
    } else if seconds < HOUR {
        (seconds / MINUTE, seconds % MINUTE, "分", "秒", 1)
    } else if seconds < DAY {
        (seconds / HOUR, seconds % HOUR, "時間", "分", MINUTE)
    } else {
        (seconds / DAY, seconds % DAY, "日", "時間", HOUR)
    };
    match small / small_len {
        0 => format!("{big}{big_unit}"),
        small => format!("{big}{big_unit}{small}{small_unit}"),
    }
}

/// How far the customer's phone's clock is off, as one sentence.
pub fn drift_sentence(steps: i64, seconds: i64) -> String {
    let about = duration(seconds.unsigned_abs());
    let n = steps.unsigned_abs();
    match steps.signum() {
        1 => format!("お客さまのスマートフォンの時刻が約{about}進んでいます（{n}ステップ）。"),
        -1 => format!("お客さまのスマートフォンの時刻が約{about}遅れています（{n}ステップ）。"),
        _ => "お客さまのスマートフォンの時刻は合っています（ずれなし）。".to_owned(),
    }
}

/// What コード確認 found (the engine's [`Diagnosis`], in the fields the desk words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The code is `offset` steps (`seconds`) from now; `already_used`: at or before the
    /// last used step.
    Matches {
        /// The app whose code it is.
        authenticator: u8,
        /// Whole steps from the current step.
        offset: i64,
        /// The same in seconds.
        seconds: i64,
        /// Whether it was used already (or is older than a used one).
        already_used: bool,
    },
    /// No step within `searched` steps each way has this code.
    NoMatch {
        /// Steps searched each way.
        searched: u64,
    },
    /// A result this portal does not know yet.
    Unknown,
}

impl From<Diagnosis> for Found {
    fn from(diagnosis: Diagnosis) -> Self {
        match diagnosis {
            Diagnosis::Matches {
                authenticator,
                offset,
                seconds,
                already_used,
                ..
            } => Self::Matches {
                authenticator,
                offset,
                seconds,
                already_used,
            },
            Diagnosis::NoMatch { searched, .. } => Self::NoMatch { searched },
            _ => Self::Unknown,
        }
    }
}

/// Which app of several the desk's result is about (`「iPad」（ID 2）のコードです。`);
/// nothing when the account has only one.
fn which_app(apps: &[DeskAuthenticator], id: u8, wording: &str) -> Option<String> {
    if apps.len() < 2 {
        return None;
    }
    let name = apps.iter().find(|a| a.id == id).map_or_else(
        || format!("ID {id}"),
        |a| format!("「{}」（ID {id}）", a.name),
    );
    Some(format!("{wording}{name}"))
}

/// What コード確認 tells the operator: the offset found (or that the code was used or
/// matched nothing), which app's code it is when there are several, and whether a login
/// would accept such a code now (`apps`: the account's apps, whose recorded offsets the
/// login windows are centred on; `window`: their reach; `period`: the step in seconds).
pub fn diagnosis_lines(
    found: Found,
    period: u32,
    apps: &[DeskAuthenticator],
    window: Window,
) -> Vec<String> {
    let mut lines = match found {
        Found::Matches {
            already_used: true, ..
        } => vec![
            "既に使用済みのコードです。".to_owned(),
            "アプリに次のコードが表示されてから、そのコードを読み上げていただいてください。"
                .to_owned(),
        ],
        Found::Matches {
            authenticator,
            offset,
            seconds,
            ..
        } => {
            let reach = -i64::from(window.behind())..=i64::from(window.ahead());
            // Centred on the drift of the app whose code it is.
            let accepted = apps
                .iter()
                .filter(|a| !a.pending && a.id == authenticator)
                .any(|a| reach.contains(&offset.saturating_sub(i64::from(a.drift_steps))));
            let login = if accepted {
                "このずれであれば、そのままログインできます。"
            } else {
                "このずれではログインできません。お客さまにスマートフォンの日付と時刻の設定（自動設定）をご確認いただくか、「時刻ずれの補正」を行ってください。"
            };
            vec![drift_sentence(offset, seconds), login.to_owned()]
        }
        Found::NoMatch { searched } => vec![
            format!(
                "一致するコードがありません（前後{}）。",
                duration(searched.saturating_mul(u64::from(period)))
            ),
            format!(
                "お客さまのアプリで「{}」のコードを読み上げていただいているか、スマートフォンの日付が正しいかをご確認ください。",
                crate::ISSUER
            ),
        ],
        Found::Unknown => vec!["確認結果を表示できません。".to_owned()],
    };
    if let Found::Matches { authenticator, .. } = found
        && let Some(line) = which_app(apps, authenticator, "一致したアプリ：")
    {
        lines.push(line);
    }
    lines
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
        .diagnose(&target.account, &form.code, &target.operator)
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
        .admin_unlock(&target.account, &target.operator, &target.reason)
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
        .admin_reset(&target.account, &target.operator, &target.reason)
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
        .forget(&target.account, &target.operator, &target.reason)
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
        Ok(()) => Ok(done(session, target.login_id, action.name(), None)),
        Err(error) => {
            let addition = desk_refusal(&error, Some(action));
            refused(app, target, error, addition).await
        }
    }
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
    let (chrome, operator) = chrome(session);
    let Some(operator) = operator else {
        let page = login_page(session, StatusCode::UNAUTHORIZED, None)?;
        return Err(Reject::Page(Box::new(page)));
    };
    // One line of text: newlines and other control characters become spaces (the reason
    // goes to the audit log).
    let (text, error) = match reason {
        Some((reason, action)) => {
            let line: String = reason
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let line = line.trim().to_owned();
            let error = if line.is_empty() {
                Some(action.no_reason())
            } else if line.chars().count() > MAX_REASON_CHARS {
                Some(action.reason_too_long())
            } else {
                None
            };
            (line, error)
        }
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

/// The desk's wording of a refusal, where it differs from the customer's
/// (`Locale::engine_error`): `None` keeps the library's text.
fn desk_refusal(error: &EngineError, action: Option<DeskAction>) -> Option<&'static str> {
    match (error, action) {
        (EngineError::Refused(Refusal::Locked), None) => Some(
            "ロック中はコード確認ができません。ご本人確認のうえ、「ロック解除」を行ってください。",
        ),
        (EngineError::Refused(Refusal::Locked), Some(DeskAction::Resync)) => Some(
            "ロック中は時刻ずれの補正ができません。ご本人確認のうえ、先に「ロック解除」を行ってください。",
        ),
        (EngineError::Refused(Refusal::WrongCode), Some(DeskAction::Resync)) => Some(
            "読み上げていただいた2つのコードを、続けて表示されたコードとして確認できませんでした。アプリに表示されているコードと、その次に表示されるコードを続けて読み上げていただき、もう一度入力してください（失敗は認証の失敗1回として数えられます）。",
        ),
        (EngineError::LastAuthenticator, _) => Some(
            "（窓口で端末紛失によりすべてのアプリを使えなくする場合は「リセット」を行ってください。）",
        ),
        (EngineError::NotActive, _) => {
            Some("ワンタイムパスワードサービスをご利用になっていないため、この操作はできません。")
        }
        _ => None,
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_an_operator_says_them() {
        assert_eq!(duration(30), "30秒");
        assert_eq!(duration(240), "4分");
        assert_eq!(duration(90), "1分30秒");
        assert_eq!(duration(2 * 3600 + 5 * 60), "2時間5分");
        assert_eq!(duration(3600), "1時間");
        assert_eq!(duration(86_400), "1日");
        assert_eq!(duration(86_400 + 3 * 3600), "1日3時間");
    }

    #[test]
    fn the_drift_cell_shows_seconds_and_steps() {
        assert_eq!(drift_cell(8, 240), "+240秒（8ステップ進み）");
        assert_eq!(drift_cell(-1, -30), "-30秒（1ステップ遅れ）");
        assert_eq!(drift_cell(0, 0), "0秒（ずれなし）");
    }

    fn apps(drifts: &[i32]) -> Vec<DeskAuthenticator> {
        (1u8..)
            .zip(drifts)
            .map(|(id, &drift_steps)| DeskAuthenticator {
                id,
                name: if id == 1 {
                    views::FIRST_APP.to_owned()
                } else {
                    format!("端末{id}")
                },
                label: crate::ISSUER.to_owned(),
                created_at: String::new(),
                last_used_at: String::new(),
                drift: String::new(),
                pending: false,
                drift_steps,
                removable: drifts.len() > 1,
            })
            .collect()
    }

    #[test]
    fn a_diagnosis_names_the_app_of_several_and_uses_its_drift() {
        let window = Window::ONE;
        let found = Found::Matches {
            authenticator: 2,
            offset: 8,
            seconds: 240,
            already_used: false,
        };
        let lines = diagnosis_lines(found, 30, &apps(&[8, 0]), window);
        assert!(
            lines[1].contains("ログインできません"),
            "app 2 has no drift"
        );
        assert_eq!(lines[2], "一致したアプリ：「端末2」（ID 2）");
        let lines = diagnosis_lines(found, 30, &apps(&[0, 8]), window);
        assert!(lines[1].contains("そのままログインできます"));
        let one = diagnosis_lines(
            Found::Matches {
                authenticator: 1,
                offset: 8,
                seconds: 240,
                already_used: false,
            },
            30,
            &apps(&[8]),
            window,
        );
        assert_eq!(one.len(), 2, "one app: not named");
    }

    #[test]
    fn a_diagnosis_says_ahead_behind_used_or_no_match() {
        let window = Window::ONE;
        let ahead = diagnosis_lines(
            Found::Matches {
                authenticator: 1,
                offset: 8,
                seconds: 240,
                already_used: false,
            },
            30,
            &apps(&[0]),
            window,
        );
        assert_eq!(
            ahead[0],
            "お客さまのスマートフォンの時刻が約4分進んでいます（8ステップ）。"
        );
        assert!(ahead[1].contains("ログインできません"));
        let behind = diagnosis_lines(
            Found::Matches {
                authenticator: 1,
                offset: -1,
                seconds: -30,
                already_used: false,
            },
            30,
            &apps(&[0]),
            window,
        );
        assert_eq!(
            behind[0],
            "お客さまのスマートフォンの時刻が約30秒遅れています（1ステップ）。"
        );
        assert!(behind[1].contains("そのままログインできます"));
        // Centred on the recorded drift: 8 steps ahead logs in once the drift is 8.
        let tracked = diagnosis_lines(
            Found::Matches {
                authenticator: 1,
                offset: 8,
                seconds: 240,
                already_used: false,
            },
            30,
            &apps(&[8]),
            window,
        );
        assert!(tracked[1].contains("そのままログインできます"));
        let used = diagnosis_lines(
            Found::Matches {
                authenticator: 1,
                offset: 0,
                seconds: 0,
                already_used: true,
            },
            30,
            &apps(&[0]),
            window,
        );
        assert_eq!(used[0], "既に使用済みのコードです。");
        let none = diagnosis_lines(Found::NoMatch { searched: 2880 }, 30, &apps(&[0]), window);
        assert_eq!(none[0], "一致するコードがありません（前後1日）。");
    }
}
