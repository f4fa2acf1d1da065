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

use totp_enroll::{AuditEvent, AuditKind, AuditSink};

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
    if let Some(notice) = crate::LOCALE.notification(&event.kind)
        && let Some(customer) = db.customer(event.account.as_str()).await?
    {
        {
            let (subject, what) = (notice.subject, notice.body);
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

/// A short code for the event's row (for filtering) and its line for the desk, in the
/// library's wording (no secret, no code: events carry none).
pub fn describe(kind: &AuditKind) -> (&'static str, String) {
    let code = match kind {
        AuditKind::EnrollmentStarted { .. } => "started",
        AuditKind::StepUpRefused => "step_up_refused",
        AuditKind::EnrollmentConfirmed { .. } => "confirmed",
        AuditKind::EnrollmentExpired => "expired",
        AuditKind::LoginAccepted { .. } => "login",
        AuditKind::Refused { .. } => "refused",
        AuditKind::Locked { .. } => "locked",
        AuditKind::Redisplayed => "redisplayed",
        AuditKind::RedisplayDisabled => "redisplay_disabled",
        AuditKind::Stopped => "stopped",
        AuditKind::AdministrativelyReset { .. } => "reset",
        _ => "other",
    };
    (code, crate::LOCALE.audit_event(kind))
}
