//! [`PortalAudit`]: the engine's audit sink. Every event goes to the portal's audit table
//! (shown to the support desk); every authentication-factor change
//! ([`AuditKind::is_factor_change`]: confirmed, re-displayed, stopped, reset, locked) also
//! puts an e-mail to the customer in the outbox table (shown at `/mail` in the demo).
//!
//! The engine calls [`AuditSink::record`] synchronously after the state change is durable;
//! the sink only queues the event, and the handler that made the engine call awaits
//! [`PortalAudit::flush`] before it answers, so the rows are written before the customer
//! sees the result. (A crash between the engine's write and the flush loses the mail: a
//! durable outbox in the library's transaction is future work.)

use std::sync::Mutex;

use totp_enroll::{AuditEvent, AuditKind, AuditSink, Operation, Refusal};

use crate::db::Db;
use crate::refusal::SUPPORT_HINT;

/// Queues engine events until the handler flushes them to the database.
#[derive(Debug, Default)]
pub struct PortalAudit {
    queue: Mutex<Vec<AuditEvent>>,
}

impl AuditSink for PortalAudit {
    fn record(&self, event: AuditEvent) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.push(event);
        }
    }
}

impl PortalAudit {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes the queued events (audit rows, and mails for factor changes). Failures are
    /// logged (without secrets: events hold none) and the events are dropped.
    pub async fn flush(&self, db: &Db) {
        let events = self
            .queue
            .lock()
            .map(|mut q| core::mem::take(&mut *q))
            .unwrap_or_default();
        for event in events {
            if let Err(error) = write(db, &event).await {
                tracing::error!(%error, account = %event.account, "audit event not written");
            }
        }
    }
}

async fn write(db: &Db, event: &AuditEvent) -> Result<(), sqlx::Error> {
    let at = i64::try_from(event.at).unwrap_or(i64::MAX);
    let (kind, detail) = describe(&event.kind);
    db.insert_audit(event.account.as_str(), at, kind, &detail)
        .await?;
    if event.kind.is_factor_change()
        && let Some(customer) = db.customer(event.account.as_str()).await?
    {
        {
            let (subject, what) = mail_text(&event.kind);
            let body = format!(
                "{} 様\n\n{}、{}\n\nお心当たりのない場合は、{}\n\n北洋証券オンラインサービス\n（このメールは送信専用です）",
                customer.name,
                crate::LOCALE.time(event.at),
                what,
                SUPPORT_HINT
            );
            db.insert_mail(
                &customer.login_id,
                &customer.email,
                at,
                &format!("【北洋証券】{subject}"),
                &body,
            )
            .await?;
        }
    }
    Ok(())
}

fn operation(op: Operation) -> &'static str {
    match op {
        Operation::Confirm => "申込確認",
        Operation::Login => "ログイン",
        Operation::Redisplay => "コード再表示",
        Operation::Stop => "利用停止",
        _ => "その他",
    }
}

fn refusal(r: &Refusal) -> &'static str {
    match r {
        Refusal::Malformed(_) => "入力形式誤り",
        Refusal::WrongCode => "ワンタイムパスワード不一致",
        Refusal::Replayed => "使用済みのワンタイムパスワード",
        Refusal::Throttled { .. } => "一時停止中",
        Refusal::Locked => "ロック中",
        _ => "拒否",
    }
}

/// A short code and a Japanese description of an event (no secret, no code).
pub fn describe(kind: &AuditKind) -> (&'static str, String) {
    match kind {
        AuditKind::EnrollmentStarted {
            expires_at,
            replaced_pending,
        } => (
            "started",
            format!(
                "申込開始（有効期限 {}）{}",
                crate::LOCALE.time(*expires_at),
                if *replaced_pending {
                    "・前回の申込を置換"
                } else {
                    ""
                }
            ),
        ),
        AuditKind::StepUpRefused => (
            "step_up_refused",
            "取引パスワード認証が無効のため申込を拒否".into(),
        ),
        AuditKind::EnrollmentConfirmed { .. } => ("confirmed", "申込完了（利用中）".into()),
        AuditKind::EnrollmentExpired => ("expired", "申込の有効期限切れ".into()),
        AuditKind::LoginAccepted { drift, .. } => (
            "login",
            format!("ログイン認証成功（時刻ずれ {drift} ステップ）"),
        ),
        AuditKind::Refused {
            operation: op,
            refusal: r,
            failures,
        } => (
            "refused",
            format!(
                "{}：{}（連続失敗 {failures} 回）",
                operation(*op),
                refusal(r)
            ),
        ),
        AuditKind::Locked { failures } => ("locked", format!("ロック（連続失敗 {failures} 回）")),
        AuditKind::Redisplayed => ("redisplayed", "登録コード再表示".into()),
        AuditKind::RedisplayDisabled => (
            "redisplay_disabled",
            "コード再表示（無効のため拒否）".into(),
        ),
        AuditKind::Stopped => ("stopped", "利用停止".into()),
        AuditKind::AdministrativelyReset { operator, reason } => (
            "reset",
            format!(
                "サポート窓口リセット（担当 {}：{}）",
                operator.as_str(),
                reason
            ),
        ),
        _ => ("other", "その他のイベント".into()),
    }
}

fn mail_text(kind: &AuditKind) -> (&'static str, &'static str) {
    match kind {
        AuditKind::EnrollmentConfirmed { .. } => (
            "ワンタイムパスワードサービスお申込み完了のお知らせ",
            "ワンタイムパスワードサービスのお申込みを受け付けました。次回のログインからワンタイムパスワードが必要になります。",
        ),
        AuditKind::Redisplayed => (
            "ワンタイムパスワード登録コード再表示のお知らせ",
            "ワンタイムパスワードの登録コードが再表示されました。別の端末に同じワンタイムパスワードを登録できる状態です。",
        ),
        AuditKind::Stopped => (
            "ワンタイムパスワードサービス利用停止のお知らせ",
            "ワンタイムパスワードサービスの利用を停止しました（未登録）。",
        ),
        AuditKind::AdministrativelyReset { .. } => (
            "ワンタイムパスワードサービス登録解除のお知らせ",
            "お客さまサポート窓口にて、ワンタイムパスワードサービスの登録を解除しました（未登録）。",
        ),
        AuditKind::Locked { .. } => (
            "ワンタイムパスワード認証ロックのお知らせ",
            "ワンタイムパスワードの認証に規定回数以上失敗したため、ワンタイムパスワード認証をロックしました。",
        ),
        _ => (
            "ワンタイムパスワードサービスのお知らせ",
            "ワンタイムパスワードサービスの設定が変更されました。",
        ),
    }
}
