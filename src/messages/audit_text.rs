//! Audit events in words: one line per event for the support desk, and the notification a
//! customer receives when an authentication factor changed.
//!
//! Neither text contains a secret or a code (events carry none); the desk line names the
//! operator and reason of a reset (both validated where they were built), the customer's
//! notification does not.

use crate::audit::{AuditKind, Operation};
use crate::error::Refusal;
use crate::messages::Lang;
use crate::messages::locale::Locale;

/// The message a customer is sent when an authentication factor changed
/// ([`AuditKind::is_factor_change`]), e.g. by e-mail (OWASP ASVS 2.5.5).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Notification {
    /// The subject line.
    pub subject: &'static str,
    /// What happened, one or two sentences; the portal adds greeting, time and signature.
    pub body: &'static str,
}

impl Operation {
    /// The screen the operation belongs to: `申込`, `申込確認`, `ログイン`, `コード再表示`,
    /// `利用停止`, `リカバリーコードでログイン`, `リカバリーコード発行`, `時刻ずれの補正`,
    /// `サポート窓口でのコード確認` / `Application`, `Confirmation`, `Login`, `Re-display`,
    /// `Stop`, `Login with a recovery code`, `Recovery codes`, `Clock resync`,
    /// `Code diagnosis by the desk`.
    pub const fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::Begin, Lang::Ja) => "申込",
            (Self::Begin, Lang::En) => "Application",
            (Self::Confirm, Lang::Ja) => "申込確認",
            (Self::Confirm, Lang::En) => "Confirmation",
            (Self::Login, Lang::Ja) => "ログイン",
            (Self::Login, Lang::En) => "Login",
            (Self::Redisplay, Lang::Ja) => "コード再表示",
            (Self::Redisplay, Lang::En) => "Re-display",
            (Self::Stop, Lang::Ja) => "利用停止",
            (Self::Stop, Lang::En) => "Stop",
            (Self::RecoveryLogin, Lang::Ja) => "リカバリーコードでログイン",
            (Self::RecoveryLogin, Lang::En) => "Login with a recovery code",
            (Self::IssueRecoveryCodes, Lang::Ja) => "リカバリーコード発行",
            (Self::IssueRecoveryCodes, Lang::En) => "Recovery codes",
            (Self::Resync, Lang::Ja) => "時刻ずれの補正",
            (Self::Resync, Lang::En) => "Clock resync",
            (Self::Diagnose, Lang::Ja) => "サポート窓口でのコード確認",
            (Self::Diagnose, Lang::En) => "Code diagnosis by the desk",
            (Self::AddAuthenticator, Lang::Ja) => "認証アプリの追加",
            (Self::AddAuthenticator, Lang::En) => "Adding an authenticator",
            (Self::ConfirmAuthenticator, Lang::Ja) => "追加した認証アプリの確認",
            (Self::ConfirmAuthenticator, Lang::En) => "Confirming an added authenticator",
            (Self::RemoveAuthenticator, Lang::Ja) => "認証アプリの削除",
            (Self::RemoveAuthenticator, Lang::En) => "Removing an authenticator",
        }
    }
}

impl Refusal {
    /// A short label for logs and the desk: `ワンタイムパスワード不一致`, `Wrong code`, ….
    pub const fn label(&self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::Malformed(_), Lang::Ja) => "入力形式誤り",
            (Self::Malformed(_), Lang::En) => "Malformed code",
            (Self::WrongCode, Lang::Ja) => "ワンタイムパスワード不一致",
            (Self::WrongCode, Lang::En) => "Wrong code",
            (Self::WrongCodeThrottled { .. }, Lang::Ja) => {
                "ワンタイムパスワード不一致（一時停止開始）"
            }
            (Self::WrongCodeThrottled { .. }, Lang::En) => "Wrong code (backoff started)",
            (Self::WrongCodeLocked, Lang::Ja) => "ワンタイムパスワード不一致（ロック）",
            (Self::WrongCodeLocked, Lang::En) => "Wrong code (locked)",
            (Self::Replayed, Lang::Ja) => "使用済みのワンタイムパスワード",
            (Self::Replayed, Lang::En) => "Code already used",
            (Self::Throttled { .. }, Lang::Ja) => "一時停止中",
            (Self::Throttled { .. }, Lang::En) => "Throttled",
            (Self::Locked, Lang::Ja) => "ロック中",
            (Self::Locked, Lang::En) => "Locked",
            (Self::MalformedRecoveryCode(_), Lang::Ja) => "リカバリーコード入力形式誤り",
            (Self::MalformedRecoveryCode(_), Lang::En) => "Malformed recovery code",
        }
    }
}

impl Locale {
    /// One line describing `kind` for the support desk or an operator's log view, with times
    /// in the locale's zone, e.g. `ログイン：ワンタイムパスワード不一致（連続失敗 3 回）`.
    pub fn audit_event(&self, kind: &AuditKind) -> String {
        let ja = self.lang == Lang::Ja;
        match kind {
            AuditKind::EnrollmentStarted {
                expires_at,
                replaced_pending,
            } => {
                let until = self.time(*expires_at);
                match (ja, replaced_pending) {
                    (true, false) => format!("申込開始（有効期限 {until}）"),
                    (true, true) => format!("申込開始（有効期限 {until}）・前回の申込を置換"),
                    (false, false) => format!("Application started (valid until {until})"),
                    (false, true) => {
                        format!(
                            "Application started (valid until {until}), replacing the previous one"
                        )
                    }
                }
            }
            AuditKind::StepUpRefused if ja => "取引パスワード認証が無効のため申込を拒否".to_owned(),
            AuditKind::StepUpRefused => {
                "Application refused: transaction password check missing or too old".to_owned()
            }
            AuditKind::EnrollmentConfirmed { .. } if ja => "申込完了（利用中）".to_owned(),
            AuditKind::EnrollmentConfirmed { .. } => "Application confirmed (in use)".to_owned(),
            AuditKind::EnrollmentExpired if ja => "申込の有効期限切れ".to_owned(),
            AuditKind::EnrollmentExpired => "Application expired".to_owned(),
            AuditKind::LoginAccepted { drift, .. } if ja => {
                format!("ログイン認証成功（時刻ずれ {drift} ステップ）")
            }
            AuditKind::LoginAccepted { drift, .. } => {
                format!("Login code accepted (clock offset {drift} steps)")
            }
            AuditKind::Refused {
                operation,
                refusal,
                failures,
            } => {
                let (op, why) = (operation.label(self.lang), refusal.label(self.lang));
                if ja {
                    format!("{op}：{why}（連続失敗 {failures} 回）")
                } else {
                    format!("{op}: {why} ({failures} consecutive failures)")
                }
            }
            AuditKind::Locked { failures } if ja => format!("ロック（連続失敗 {failures} 回）"),
            AuditKind::Locked { failures } => {
                format!("Locked ({failures} consecutive failures)")
            }
            AuditKind::EnrollmentShownAgain { expires_at } if ja => format!(
                "申込中の登録コードを再表示（有効期限 {}）",
                self.time(*expires_at)
            ),
            AuditKind::EnrollmentShownAgain { expires_at } => format!(
                "Pending registration shown again (valid until {})",
                self.time(*expires_at)
            ),
            AuditKind::Redisplayed if ja => "登録コード再表示".to_owned(),
            AuditKind::Redisplayed => "Registration code shown again".to_owned(),
            AuditKind::RedisplayDisabled if ja => "コード再表示（無効のため拒否）".to_owned(),
            AuditKind::RedisplayDisabled => "Re-display refused (disabled)".to_owned(),
            AuditKind::Stopped if ja => "利用停止".to_owned(),
            AuditKind::Stopped => "Service stopped".to_owned(),
            AuditKind::RecoveryCodesIssued { count, discarded } => match (ja, discarded) {
                (true, 0) => format!("リカバリーコード発行（{count} 個）"),
                (true, _) => {
                    format!("リカバリーコード再発行（{count} 個・未使用 {discarded} 個を無効化）")
                }
                (false, 0) => format!("Recovery codes issued ({count})"),
                (false, _) => format!(
                    "Recovery codes issued again ({count}; {discarded} unused ones invalidated)"
                ),
            },
            AuditKind::RecoveryCodeUsed {
                remaining,
                operation: Operation::Stop,
            } if ja => format!(
                "リカバリーコードで利用停止（スマートフォン紛失・残り {remaining} 個は無効）"
            ),
            AuditKind::RecoveryCodeUsed {
                remaining,
                operation: Operation::Stop,
            } => format!(
                "Service stopped with a recovery code (lost phone; the {remaining} left no longer work)"
            ),
            AuditKind::RecoveryCodeUsed { remaining, .. } if ja => {
                format!("リカバリーコードでログイン（残り {remaining} 個）")
            }
            AuditKind::RecoveryCodeUsed { remaining, .. } => {
                format!("Logged in with a recovery code ({remaining} left)")
            }
            AuditKind::RecoveryCodesLow { remaining } if ja => {
                format!("リカバリーコード残りわずか（残り {remaining} 個）")
            }
            AuditKind::RecoveryCodesLow { remaining } => {
                format!("Few recovery codes left ({remaining})")
            }
            AuditKind::AuthenticatorAdded { id, name } if ja => {
                format!("認証アプリを追加（{id} 番「{name}」・確認待ち）")
            }
            AuditKind::AuthenticatorAdded { id, name } => {
                format!("Authenticator {id} \"{name}\" added (awaiting its first code)")
            }
            AuditKind::AuthenticatorConfirmed { id } if ja => format!("認証アプリ {id} 番を確認"),
            AuditKind::AuthenticatorConfirmed { id } => format!("Authenticator {id} confirmed"),
            AuditKind::AuthenticatorRemoved { id, operator } => {
                match (ja, operator.as_ref().map(|o| o.as_str())) {
                    (true, None) => format!("認証アプリ {id} 番を削除"),
                    (true, Some(by)) => format!("認証アプリ {id} 番を削除（担当 {by}）"),
                    (false, None) => format!("Authenticator {id} removed"),
                    (false, Some(by)) => format!("Authenticator {id} removed by {by}"),
                }
            }
            AuditKind::Resynced { drift, operator } => {
                let by = operator.as_ref().map(|o| o.as_str());
                match (ja, by) {
                    (true, None) => format!("時刻ずれを補正（{drift} ステップ）"),
                    (true, Some(by)) => format!("時刻ずれを補正（{drift} ステップ・担当 {by}）"),
                    (false, None) => format!("Clock offset set to {drift} steps"),
                    (false, Some(by)) => format!("Clock offset set to {drift} steps by {by}"),
                }
            }
            AuditKind::Diagnosed {
                operator,
                offset,
                failures,
            } => {
                let by = operator.as_str();
                match (ja, offset) {
                    (true, Some(offset)) => format!(
                        "コード確認（{offset} ステップのずれ・担当 {by}・連続失敗 {failures} 回）"
                    ),
                    (true, None) => {
                        format!("コード確認（一致なし・担当 {by}・連続失敗 {failures} 回）")
                    }
                    (false, Some(offset)) => format!(
                        "Code diagnosed ({offset} steps off; by {by}; {failures} consecutive failures)"
                    ),
                    (false, None) => format!(
                        "Code diagnosed (no match; by {by}; {failures} consecutive failures)"
                    ),
                }
            }
            AuditKind::Unlocked { operator, reason } if ja => format!(
                "サポート窓口でロック解除（担当 {}：{reason}）",
                operator.as_str()
            ),
            AuditKind::Unlocked { operator, reason } => format!(
                "Unlocked by the support desk ({}: {reason})",
                operator.as_str()
            ),
            AuditKind::AdministrativelyReset { operator, reason } if ja => format!(
                "サポート窓口リセット（担当 {}：{reason}）",
                operator.as_str()
            ),
            AuditKind::AdministrativelyReset { operator, reason } => format!(
                "Reset by the support desk ({}: {reason})",
                operator.as_str()
            ),
            AuditKind::Forgotten { operator, reason } if ja => format!(
                "個人情報削除の依頼により登録情報を消去（担当 {}：{reason}）",
                operator.as_str()
            ),
            AuditKind::Forgotten { operator, reason } => format!(
                "Registration erased on a data-protection request ({}: {reason})",
                operator.as_str()
            ),
        }
    }

    /// The customer's notification for a factor change; `None` for other events.
    pub fn notification(&self, kind: &AuditKind) -> Option<Notification> {
        let ja = self.lang == Lang::Ja;
        let (subject, body) = match kind {
            AuditKind::EnrollmentConfirmed { .. } if ja => (
                "ワンタイムパスワードサービスお申込み完了のお知らせ",
                "ワンタイムパスワードサービスのお申込みを受け付けました。次回のログインからワンタイムパスワードが必要になります。",
            ),
            AuditKind::EnrollmentConfirmed { .. } => (
                "Your one-time password service is active",
                "Your application for the one-time password service was accepted. From your next login on, a one-time password is required.",
            ),
            AuditKind::Redisplayed if ja => (
                "ワンタイムパスワード登録コード再表示のお知らせ",
                "ワンタイムパスワードの登録コードが再表示されました。別の端末に同じワンタイムパスワードを登録できる状態です。",
            ),
            AuditKind::Redisplayed => (
                "Your registration code was shown again",
                "The registration code of your one-time password was shown again, so that another device can be registered with it.",
            ),
            AuditKind::Stopped if ja => (
                "ワンタイムパスワードサービス利用停止のお知らせ",
                "ワンタイムパスワードサービスの利用を停止しました（未登録）。",
            ),
            AuditKind::Stopped => (
                "Your one-time password service was stopped",
                "The one-time password service was stopped for your account (not registered).",
            ),
            AuditKind::AdministrativelyReset { .. } if ja => (
                "ワンタイムパスワードサービス登録解除のお知らせ",
                "お客さまサポート窓口にて、ワンタイムパスワードサービスの登録を解除しました（未登録）。",
            ),
            AuditKind::AdministrativelyReset { .. } => (
                "Your one-time password registration was removed",
                "The customer support desk removed your one-time password registration (not registered).",
            ),
            AuditKind::Forgotten { .. } if ja => (
                "ワンタイムパスワード登録情報消去のお知らせ",
                "ご依頼により、ワンタイムパスワードサービスの登録情報を消去しました（未登録）。",
            ),
            AuditKind::Forgotten { .. } => (
                "Your one-time password registration was erased",
                "As you requested, the registration data of your one-time password service was erased (not registered).",
            ),
            AuditKind::RecoveryCodesIssued { .. } if ja => (
                "リカバリーコード発行のお知らせ",
                "ワンタイムパスワードのリカバリーコードを発行しました。以前のリカバリーコードは使用できません。",
            ),
            AuditKind::RecoveryCodesIssued { .. } => (
                "New recovery codes were issued",
                "New recovery codes were issued for your one-time password. Earlier recovery codes no longer work.",
            ),
            // The stop's own event notifies.
            AuditKind::RecoveryCodeUsed {
                operation: Operation::Stop,
                ..
            } => return None,
            AuditKind::RecoveryCodeUsed { .. } if ja => (
                "リカバリーコードによるログインのお知らせ",
                "リカバリーコードでログインしました。お心当たりがない場合は、お客さまサポート窓口までご連絡ください。",
            ),
            AuditKind::RecoveryCodeUsed { .. } => (
                "You logged in with a recovery code",
                "Someone logged in to your account with a recovery code. If this was not you, please contact the customer support desk.",
            ),
            AuditKind::RecoveryCodesLow { .. } if ja => (
                "リカバリーコード残りわずかのお知らせ",
                "未使用のリカバリーコードが残りわずかです。ログイン後、新しいリカバリーコードを発行してください。",
            ),
            AuditKind::RecoveryCodesLow { .. } => (
                "Few recovery codes are left",
                "Only a few unused recovery codes are left. Please issue new ones after you log in.",
            ),
            AuditKind::AuthenticatorAdded { .. } if ja => (
                "認証アプリ追加のお知らせ",
                "ワンタイムパスワードの認証アプリの追加を受け付けました。追加したアプリのワンタイムパスワードで確認すると利用できるようになります。",
            ),
            AuditKind::AuthenticatorAdded { .. } => (
                "An authenticator is being added",
                "An authenticator app is being added to your one-time password; it works once confirmed with its first code.",
            ),
            AuditKind::AuthenticatorConfirmed { .. } if ja => (
                "認証アプリ追加完了のお知らせ",
                "追加した認証アプリでワンタイムパスワードをご利用いただけるようになりました。",
            ),
            AuditKind::AuthenticatorConfirmed { .. } => (
                "An authenticator was added",
                "The added authenticator app can now be used for your one-time password.",
            ),
            AuditKind::AuthenticatorRemoved { .. } if ja => (
                "認証アプリ削除のお知らせ",
                "ワンタイムパスワードの認証アプリを1つ削除しました。削除したアプリのワンタイムパスワードは使用できません。",
            ),
            AuditKind::AuthenticatorRemoved { .. } => (
                "An authenticator was removed",
                "One authenticator app was removed from your one-time password; its codes no longer work.",
            ),
            AuditKind::Resynced { .. } if ja => (
                "ワンタイムパスワードの時刻ずれ補正のお知らせ",
                "ワンタイムパスワードアプリの時刻のずれを補正しました。",
            ),
            AuditKind::Resynced { .. } => (
                "Your one-time password clock was resynchronised",
                "The clock offset of your one-time password app was corrected.",
            ),
            AuditKind::Unlocked { .. } if ja => (
                "ワンタイムパスワード認証ロック解除のお知らせ",
                "お客さまサポート窓口にて、ワンタイムパスワード認証のロックを解除しました。",
            ),
            AuditKind::Unlocked { .. } => (
                "Your one-time password was unlocked",
                "The customer support desk unlocked your one-time password.",
            ),
            AuditKind::Locked { .. } if ja => (
                "ワンタイムパスワード認証ロックのお知らせ",
                "ワンタイムパスワードの認証に規定回数以上失敗したため、ワンタイムパスワード認証をロックしました。",
            ),
            AuditKind::Locked { .. } => (
                "Your one-time password was locked",
                "The one-time password was entered incorrectly too many times, so it has been locked.",
            ),
            AuditKind::EnrollmentStarted { .. }
            | AuditKind::EnrollmentShownAgain { .. }
            | AuditKind::StepUpRefused
            | AuditKind::EnrollmentExpired
            | AuditKind::LoginAccepted { .. }
            | AuditKind::Refused { .. }
            | AuditKind::Diagnosed { .. }
            | AuditKind::RedisplayDisabled => return None,
        };
        Some(Notification { subject, body })
    }
}
