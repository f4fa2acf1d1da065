//! The screens' template structs (askama, HTML auto-escaped) and the render helper.
//!
//! Field names of the key material and of recovery codes say what they are; every struct
//! holding one is built just before rendering and dropped right after.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use totp_enroll::{Provisioning, RecoveryCodes, messages::Lang};
use zeroize::Zeroizing;

/// What every page's frame shows: the CSRF token for its forms, and who is logged in.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The session's CSRF token (hidden field of every form).
    pub csrf: String,
    /// The logged-in customer's name (header and ログアウト button).
    pub customer_name: Option<String>,
    /// The logged-in support-desk operator.
    pub operator: Option<String>,
    /// Whether the operator's header links the demo mailbox (`/desk/mail`, when enabled).
    pub desk_mailbox: bool,
}

/// What the manual's registration and re-display screens show for one key.
pub struct KeyView {
    /// The QR code as an inline `<svg>` element. **Contains the secret.**
    pub qr_svg: Zeroizing<String>,
    /// The setup key in groups of four. **The secret.**
    pub setup_key: Zeroizing<String>,
    /// The setup key unspaced, for the copy button. **The secret.**
    pub copy_key: Zeroizing<String>,
    /// アカウント名 (the issuer).
    pub account_name: String,
    /// キーの種類.
    pub key_type: &'static str,
}

/// The accessible name of the QR code.
pub const QR_LABEL: &str = "登録用二次元バーコード（ワンタイムパスワード登録用のQRコード）";

impl KeyView {
    /// The view of `screen` (its QR code rendered now).
    pub fn new(screen: &Provisioning) -> Result<Self, totp_enroll::error::EngineError> {
        Ok(Self {
            qr_svg: screen.qr()?.to_svg_inline(QR_LABEL),
            setup_key: screen.reveal_setup_key(),
            copy_key: screen.reveal_setup_key_for_copy(),
            account_name: screen.issuer().to_owned(),
            key_type: screen.key_type().label_in(Lang::Ja),
        })
    }
}

/// Freshly issued recovery codes for their one showing, each grouped (`7K3M-9QXR-2HV8-T4NP`).
/// **The codes.** `Debug` shows only the count.
pub struct RecoveryCodesView {
    /// The codes, in the order issued. **Secrets.**
    pub codes: Vec<Zeroizing<String>>,
}

impl RecoveryCodesView {
    /// The view of `codes`.
    pub fn new(codes: &RecoveryCodes) -> Self {
        Self {
            codes: codes.iter().map(|code| code.grouped()).collect(),
        }
    }
}

impl core::fmt::Debug for RecoveryCodesView {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RecoveryCodesView")
            .field("count", &self.codes.len())
            .finish_non_exhaustive()
    }
}

/// The notice on 登録情報照会 after a login with a recovery code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryLoginNotice {
    /// Few (or no) codes are left: shown as an alert.
    pub urgent: bool,
    /// What the customer is asked to do.
    pub message: String,
}

/// How an app without a name (the one enrolled first) is called.
pub const FIRST_APP: &str = "最初に登録したアプリ";

/// The name of an app as the screens show it: the customer's name for it, or
/// [`FIRST_APP`].
pub fn app_name(name: &str) -> String {
    if name.is_empty() {
        FIRST_APP.to_owned()
    } else {
        name.to_owned()
    }
}

/// One app on 登録情報照会 (`own` mode; `Engine::overview`, never a secret).
#[derive(Debug, Clone)]
pub struct AccountApp {
    /// Its id within the account.
    pub id: u8,
    /// Its name ([`app_name`]).
    pub name: String,
    /// 登録日時 (JST; for one awaiting its first code, when it was added).
    pub created_at: String,
    /// 最終利用日時 (JST), or a dash.
    pub last_used_at: String,
    /// Whether it awaits its first code (確認待ち: it cannot log in yet).
    pub pending: bool,
    /// Whether it may be removed (another confirmed app exists, or it is pending).
    pub removable: bool,
}

/// Renders `template` with `status`.
pub fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "システムエラー").into_response()
        }
    }
}

/// A page with `status` and a `Retry-After` header when `retry_after` is set.
pub fn page_retry(
    status: StatusCode,
    retry_after: Option<u64>,
    template: &impl Template,
) -> Response {
    let mut response = page(status, template);
    if let Some(seconds) = retry_after
        && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A page with only a title and a message (errors, CSRF refusal, not found).
pub fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    page(
        status,
        &MessagePage {
            chrome: Chrome::default(),
            title: title.to_owned(),
            message: message.to_owned(),
        },
    )
}

/// Title and message.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    /// Frame.
    pub chrome: Chrome,
    /// Title.
    pub title: String,
    /// Message.
    pub message: String,
}

/// ログイン.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// Frame.
    pub chrome: Chrome,
    /// Refusal message.
    pub error: Option<String>,
    /// The login ID typed (kept after a refusal).
    pub login_id: String,
}

/// The login's one-time password step.
#[derive(Template)]
#[template(path = "login_otp.html")]
pub struct LoginOtpPage {
    /// Frame.
    pub chrome: Chrome,
    /// Refusal message.
    pub error: Option<String>,
}

/// The login's second step with a recovery code instead of the app's code.
#[derive(Template)]
#[template(path = "login_recovery.html")]
pub struct LoginRecoveryPage {
    /// Frame.
    pub chrome: Chrome,
    /// Refusal message.
    pub error: Option<String>,
}

/// 登録情報照会.
#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    /// Frame.
    pub chrome: Chrome,
    /// 未登録 or 利用中.
    pub status_label: &'static str,
    /// Whether the service is in use (buttons コード再表示 and 利用停止).
    pub active: bool,
    /// A pending application's expiry (JST).
    pub pending_until: Option<String>,
    /// Throttled or locked.
    pub access_note: Option<String>,
    /// Right after a login with a recovery code (shown once).
    pub recovery_notice: Option<RecoveryLoginNotice>,
    /// Unused recovery codes, while the service is in use.
    pub recovery_codes_left: Option<usize>,
    /// `own` mode: each device its own app (the list, 別の端末を追加, 削除; no コード再表示).
    pub own_devices: bool,
    /// The apps (`own` mode, while 利用中).
    pub apps: Vec<AccountApp>,
    /// A notice after an app was added or removed (shown once).
    pub notice: Option<String>,
    /// Whether the lost-phone 利用停止 is offered (after a login with a recovery code,
    /// while unused ones remain).
    pub lost_phone: bool,
    /// A screen whose key or recovery codes are still to be completed.
    pub unfinished: Option<Unfinished>,
}

/// A screen whose one-time material (a key, recovery codes) is still in the session: the
/// note on 登録情報照会 that leads back to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unfinished {
    /// What is unfinished.
    pub message: &'static str,
    /// The screen.
    pub href: &'static str,
}

/// 取引パスワード認証.
#[derive(Template)]
#[template(path = "apply_auth.html")]
pub struct ApplyAuthPage {
    /// Frame.
    pub chrome: Chrome,
    /// Refusal message.
    pub error: Option<String>,
    /// 未登録.
    pub status_label: &'static str,
}

/// サービス申込 -登録-.
#[derive(Template)]
#[template(path = "apply_register.html")]
pub struct RegisterPage {
    /// Frame.
    pub chrome: Chrome,
    /// QR code and key.
    pub key: KeyView,
    /// The application's expiry (JST).
    pub expires: Option<String>,
}

/// サービス申込 -確認-.
#[derive(Template)]
#[template(path = "apply_confirm.html")]
pub struct ConfirmPage {
    /// Frame.
    pub chrome: Chrome,
    /// Refusal message.
    pub error: Option<String>,
    /// `own` mode: the caution names 別の端末を追加 instead of コード再表示.
    pub own_devices: bool,
}

/// サービス申込 -受付-.
#[derive(Template)]
#[template(path = "apply_done.html")]
pub struct ApplyDonePage {
    /// Frame.
    pub chrome: Chrome,
    /// The recovery codes issued with the confirmation: on the first showing only.
    pub recovery: Option<RecoveryCodesView>,
}

/// リカバリーコードの再発行: ワンタイムパスワード認証.
#[derive(Template)]
#[template(path = "recovery_auth.html")]
pub struct RecoveryAuthPage {
    /// Frame.
    pub chrome: Chrome,
    /// Refusal message.
    pub error: Option<String>,
}

/// リカバリーコードの再発行: the new set, shown once.
#[derive(Template)]
#[template(path = "recovery_show.html")]
pub struct RecoveryShowPage {
    /// Frame.
    pub chrome: Chrome,
    /// The new codes.
    pub recovery: RecoveryCodesView,
}

/// コード再表示: ワンタイムパスワード認証.
#[derive(Template)]
#[template(path = "redisplay_auth.html")]
pub struct RedisplayAuthPage {
    /// Frame.
    pub chrome: Chrome,
    /// Refusal message.
    pub error: Option<String>,
    /// Whether the transaction password is asked for too.
    pub step_up: bool,
}

/// 登録コード再表示.
#[derive(Template)]
#[template(path = "redisplay_show.html")]
pub struct RedisplayShowPage {
    /// Frame.
    pub chrome: Chrome,
    /// QR code and key.
    pub key: KeyView,
}

/// 別の端末を追加: the new app's name, a current code of an existing app (and the
/// transaction password when configured).
#[derive(Template)]
#[template(path = "device_add.html")]
pub struct DeviceAddPage {
    /// Frame.
    pub chrome: Chrome,
    /// Refusal message.
    pub error: Option<String>,
    /// Whether the transaction password is asked for too.
    pub step_up: bool,
    /// The name typed (kept after a refusal; never a code).
    pub name: String,
}

/// 別の端末を追加 -登録-: the new app's own QR code and key.
#[derive(Template)]
#[template(path = "device_register.html")]
pub struct DeviceRegisterPage {
    /// Frame.
    pub chrome: Chrome,
    /// QR code and key.
    pub key: KeyView,
    /// The new app's name.
    pub name: String,
}

/// 別の端末を追加 -確認-: the new app's first code.
#[derive(Template)]
#[template(path = "device_confirm.html")]
pub struct DeviceConfirmPage {
    /// Frame.
    pub chrome: Chrome,
    /// Refusal message.
    pub error: Option<String>,
    /// The pending app's id.
    pub id: u8,
    /// Its name.
    pub name: String,
}

/// アプリの削除: a current code of another app.
#[derive(Template)]
#[template(path = "device_remove.html")]
pub struct DeviceRemovePage {
    /// Frame.
    pub chrome: Chrome,
    /// Refusal message.
    pub error: Option<String>,
    /// The app to remove.
    pub id: u8,
    /// Its name (empty when it is not registered).
    pub name: String,
    /// Whether the transaction password is asked for too.
    pub step_up: bool,
}

/// スマートフォンを紛失した場合の利用停止: another recovery code and the transaction
/// password.
#[derive(Template)]
#[template(path = "stop_lost.html")]
pub struct StopLostPage {
    /// Frame.
    pub chrome: Chrome,
    /// Refusal message.
    pub error: Option<String>,
    /// `own` mode with another confirmed app: the advice to remove only the lost one.
    pub other_apps: bool,
}

/// サービス利用停止 -確認-.
#[derive(Template)]
#[template(path = "stop_confirm.html")]
pub struct StopConfirmPage {
    /// Frame.
    pub chrome: Chrome,
    /// Refusal message.
    pub error: Option<String>,
}

/// サービス利用停止 -受付-.
#[derive(Template)]
#[template(path = "stop_done.html")]
pub struct StopDonePage {
    /// Frame.
    pub chrome: Chrome,
}

/// Support desk login.
#[derive(Template)]
#[template(path = "desk_login.html")]
pub struct DeskLoginPage {
    /// Frame.
    pub chrome: Chrome,
    /// Refusal message.
    pub error: Option<String>,
}

/// The operator's one-time password (the desk's engine), after the password.
#[derive(Template)]
#[template(path = "desk_otp.html")]
pub struct DeskOtpPage {
    /// Frame.
    pub chrome: Chrome,
    /// Refusal message.
    pub error: Option<String>,
}

/// The operator's enrollment of the desk's one-time password (first login, or after a
/// reset), right after the password.
#[derive(Template)]
#[template(path = "desk_enroll.html")]
pub struct DeskEnrollPage {
    /// Frame.
    pub chrome: Chrome,
    /// The operator ID.
    pub operator: String,
    /// QR code and key.
    pub key: KeyView,
    /// Refusal message.
    pub error: Option<String>,
}

/// One operator as オペレーター管理 lists it.
#[derive(Debug, Clone)]
pub struct OperatorView {
    /// オペレーターID.
    pub id: String,
    /// ワンタイムパスワード: 登録済み / 登録手続き中 / 未登録.
    pub otp_status: &'static str,
    /// 連続失敗回数.
    pub failures: i64,
    /// ロック: `ロック中（…から）` or `なし`.
    pub lock: String,
    /// Whether locked (highlighted).
    pub locked: bool,
}

/// The operator selected on オペレーター管理.
#[derive(Debug, Clone)]
pub struct SelectedOperator {
    /// オペレーターID.
    pub id: String,
    /// Whether it is the logged-in operator (no action on oneself).
    pub is_self: bool,
    /// Recent audit events: (time JST, description).
    pub events: Vec<(String, String)>,
}

/// オペレーター管理: the operators, unlock and reset of another's one-time password.
#[derive(Template)]
#[template(path = "desk_operators.html")]
pub struct DeskOperatorsPage {
    /// Frame.
    pub chrome: Chrome,
    /// Every operator.
    pub operators: Vec<OperatorView>,
    /// The one selected.
    pub selected: Option<SelectedOperator>,
    /// Success notice.
    pub notice: Option<String>,
    /// Refusal message.
    pub error: Option<String>,
}

/// An authenticator as the support desk sees it (`Engine::overview`: never a secret).
#[derive(Debug, Clone)]
pub struct DeskAuthenticator {
    /// Its id within the account.
    pub id: u8,
    /// Its name ([`app_name`]).
    pub name: String,
    /// The account name the app shows (the key URI's label).
    pub label: String,
    /// 登録日時 (JST; for an application in progress, when it began).
    pub created_at: String,
    /// 最終利用日時 (JST), or a dash while the application is in progress.
    pub last_used_at: String,
    /// 時刻のずれ, in seconds with its steps (`+240秒（8ステップ進み）`).
    pub drift: String,
    /// Whether it still awaits its first code (申込手続き中 / 確認待ち).
    pub pending: bool,
    /// Its recorded clock offset in steps (for コード確認's advice).
    pub drift_steps: i32,
    /// Whether このアプリを削除 is offered (another confirmed app exists, or it is an
    /// added one still awaiting its first code).
    pub removable: bool,
}

/// A customer as the support desk sees it.
#[derive(Debug, Clone)]
pub struct DeskCustomer {
    /// ログインID.
    pub login_id: String,
    /// 氏名.
    pub name: String,
    /// 未登録 / 利用中.
    pub status_label: &'static str,
    /// Since when in use, or the pending application's expiry.
    pub notes: Vec<String>,
    /// Whether the service is in use (コード確認 and 時刻ずれの補正 are offered).
    pub active: bool,
    /// Whether there is a registration at all (ロック解除 is offered).
    pub registered: bool,
    /// The registered authenticators.
    pub authenticators: Vec<DeskAuthenticator>,
    /// 未使用のリカバリーコード.
    pub recovery_codes_remaining: usize,
    /// 連続失敗回数.
    pub failures: u32,
    /// ロック／一時停止: `ロック中…`, `一時停止中（…まで）` or `なし`.
    pub lock_state: String,
    /// Whether attempts are refused now (locked or in a backoff): the state is highlighted.
    pub restricted: bool,
    /// Recent audit events: (time JST, description).
    pub events: Vec<(String, String)>,
}

impl DeskCustomer {
    /// Whether このアプリを削除 is offered for any app.
    pub fn any_removable(&self) -> bool {
        self.authenticators.iter().any(|a| a.removable)
    }
}

/// Support desk: look up, the overview, コード確認, ロック解除, 時刻ずれの補正, removing
/// one app, reset and erasure.
#[derive(Template)]
#[template(path = "desk.html")]
pub struct DeskPage {
    /// Frame.
    pub chrome: Chrome,
    /// The login ID looked up.
    pub login_id: String,
    /// Success notice.
    pub notice: Option<String>,
    /// Refusal message.
    pub error: Option<String>,
    /// The customer found.
    pub found: Option<DeskCustomer>,
    /// The result of コード確認, on the page right after it (never the code itself).
    pub diagnosis: Option<Vec<String>>,
}

/// One mail as `/desk/mail` shows it.
#[derive(Debug, Clone)]
pub struct MailView {
    /// When (JST).
    pub at: String,
    /// To.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
}

/// The developer's mail outbox.
#[derive(Template)]
#[template(path = "mail.html")]
pub struct MailPage {
    /// Frame.
    pub chrome: Chrome,
    /// Newest first.
    pub mails: Vec<MailView>,
}
