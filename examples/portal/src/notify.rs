//! The portal's durable audit trail, fed by the library's outbox.
//!
//! The engine writes every call's [`AuditEvent`]s into the store's outbox in the same
//! atomic step as the record. [`AuditTrail`] hands them to [`PortalDelivery`] (through
//! [`Outbox::deliver_pending`]), which turns each event into
//!
//! * one row in `portal_audit` (shown at the desk) with the request id, client address and
//!   user agent of the request that caused it, and one `INFO` line in the log (target
//!   [`AUDIT_LOG`]: event id, account, kind, request id, client; never a secret or a code,
//!   events hold none);
//! * for a factor change ([`Locale::notification`](totp_enroll::Locale::notification):
//!   confirmed, re-displayed, stopped, reset, erased, locked, unlocked by the desk, clock
//!   offset corrected; recovery codes issued, one used at login, few left; an app added,
//!   confirmed or removed) a Japanese e-mail to the customer in `portal_mail` (shown at
//!   `/desk/mail` when the demo mailbox is on). An operator's own events (its account
//!   `desk:<operator>`, the desk's engine) are in the trail and mail nobody. The desk's
//!   コード確認 (`AuditKind::Diagnosed`) sends none: it changes nothing but the failure
//!   count (a lock it causes is mailed as a lock).
//!
//! The lost-phone 利用停止 (`Engine::stop_with_recovery_code`) writes a
//! `RecoveryCodeUsed { operation: Stop, .. }` and a `Stopped` event in one write; the
//! first is described as the stop's ([`STOPPED_WITH_RECOVERY_CODE`]) and mailed only as
//! the stop.
//!
//! Delivery is at least once: a batch that failed, or whose acknowledgement was lost,
//! comes again with the same event ids. Both tables have a UNIQUE `event_id` and are
//! written with `ON CONFLICT (event_id) DO NOTHING`, so a redelivery adds no second row,
//! mail or log line. The background task (`background.rs`) runs the library's delivery
//! loop ([`Outbox::run`]); pages that show the trail (the desk, `/desk/mail`) deliver
//! first, so they show what just happened.

use tokio::sync::{Mutex, Notify};
use totp_enroll::{
    AuditDelivery, AuditEvent, AuditKind, Outbox, RequestContext, engine::DeliveredEvent,
    error::OutboxError,
};

use crate::db::{Db, NewAudit, NewMail};
use crate::refusal::SUPPORT_HINT;
use crate::store::PortalStore;

/// The `tracing` target of the audit log lines.
pub const AUDIT_LOG: &str = "totp_enroll_portal::audit";

/// The desk's line of the recovery code used by the lost-phone 利用停止.
pub const STOPPED_WITH_RECOVERY_CODE: &str =
    "リカバリーコードを使用（スマートフォン紛失による利用停止）";

/// Why a batch was not delivered (it stays in the outbox and comes again).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Writing the portal's tables failed.
    #[error("writing the audit trail: {0}")]
    Db(#[from] sqlx::Error),
    /// An outbox id beyond the portal's BIGINT column (cannot happen with the library's
    /// SQL stores, whose ids are BIGINTs themselves).
    #[error("outbox event id {0} does not fit the audit table")]
    EventId(u64),
}

/// Writes delivered events to the portal's tables: the [`AuditDelivery`] of the portal.
#[derive(Debug, Clone)]
pub struct PortalDelivery {
    db: Db,
}

impl PortalDelivery {
    /// A delivery into `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// One event: its audit row and log line, and its mail for a factor change; each
    /// written only once per event id. `stopping`: the recovery code of a lost-phone
    /// 利用停止 (no login: described as the stop's, and not mailed).
    async fn write(&self, delivered: &DeliveredEvent, stopping: bool) -> Result<(), DeliveryError> {
        let event_id =
            i64::try_from(delivered.id).map_err(|_| DeliveryError::EventId(delivered.id))?;
        let event = &delivered.event;
        let at = i64::try_from(event.at).unwrap_or(i64::MAX);
        let (kind, mut detail) = describe(&event.kind);
        if stopping {
            detail = STOPPED_WITH_RECOVERY_CODE.to_owned();
        }
        let context = event.context.as_ref();
        let request_id = context.and_then(RequestContext::request_id);
        let client = context.and_then(RequestContext::client);
        let new = self
            .db
            .insert_audit(&NewAudit {
                event_id,
                account: event.account.as_str(),
                at,
                kind,
                detail: &detail,
                request_id,
                client,
                user_agent: context.and_then(RequestContext::user_agent),
            })
            .await?;
        if new {
            tracing::info!(
                target: AUDIT_LOG,
                event = event_id,
                account = %event.account,
                kind,
                request_id = request_id.unwrap_or("-"),
                client = client.unwrap_or("-"),
                "audit event"
            );
        }
        if stopping {
            return Ok(());
        }
        self.queue_mail(event_id, event).await
    }

    /// The customer's e-mail for a factor change (nothing for other events, or for an
    /// account that is not a portal customer).
    async fn queue_mail(&self, event_id: i64, event: &AuditEvent) -> Result<(), DeliveryError> {
        // An operator's own second factor (the desk's engine): in the trail, never mailed.
        if crate::accounts::is_operator_namespace(event.account.as_str()) {
            return Ok(());
        }
        let Some(notice) = crate::LOCALE.notification(&event.kind) else {
            return Ok(());
        };
        let Some(customer) = self.db.customer(event.account.as_str()).await? else {
            return Ok(());
        };
        // A notice that already tells the customer what to do if it was not them (a login
        // with a recovery code) gets no second such sentence.
        let closing = if notice.body.contains("お心当たり") {
            String::new()
        } else {
            format!("\n\nお心当たりのない場合は、{SUPPORT_HINT}")
        };
        let body = format!(
            "{} 様\n\n{}、{}{closing}\n\n北洋証券オンラインサービス\n（このメールは送信専用です）",
            customer.name,
            crate::LOCALE.time(event.at),
            notice.body,
        );
        self.db
            .insert_mail(&NewMail {
                event_id,
                account: &customer.login_id,
                to_address: &customer.email,
                at: i64::try_from(event.at).unwrap_or(i64::MAX),
                subject: &format!("【北洋証券】{}", notice.subject),
                body: &body,
            })
            .await?;
        Ok(())
    }
}

impl AuditDelivery for PortalDelivery {
    type Error = DeliveryError;

    /// Writes the batch in order; on an error the whole batch comes again, and the events
    /// already written are skipped by their ids.
    async fn deliver(&self, events: &[DeliveredEvent]) -> Result<(), DeliveryError> {
        for delivered in events {
            self.write(delivered, stops_with_recovery_code(delivered))
                .await?;
        }
        Ok(())
    }
}

/// The store's outbox and the portal's delivery: the background loop
/// ([`Outbox::run`], `background.rs`) and the passes of pages that show the trail.
#[derive(Debug)]
pub struct AuditTrail {
    outbox: Outbox<PortalStore>,
    delivery: PortalDelivery,
    /// Pages' passes one at a time. A page's pass may overlap the background loop's: both
    /// may hand the same events to the delivery, whose writes are idempotent by event id
    /// (nothing is written, mailed or logged twice).
    pass: Mutex<()>,
    /// Wakes the background task early (after each request).
    wake: Notify,
}

impl AuditTrail {
    /// The trail of `store`'s outbox (the engine's store), written into `db`.
    pub fn new(store: PortalStore, db: Db) -> Self {
        Self {
            outbox: Outbox::new(store),
            delivery: PortalDelivery::new(db),
            pass: Mutex::new(()),
            wake: Notify::new(),
        }
    }

    /// Delivers every pending event now; returns how many. On an error the undelivered
    /// events stay in the outbox.
    pub async fn deliver_pending(&self) -> Result<usize, OutboxError> {
        let _one_pass = self.pass.lock().await;
        self.outbox.deliver_pending(&self.delivery).await
    }

    /// [`Self::deliver_pending`] before a page reads the trail; a failure is logged and the
    /// page shows what was delivered so far.
    pub async fn catch_up(&self) {
        if let Err(error) = self.deliver_pending().await {
            tracing::warn!(%error, "audit delivery failed; the events stay in the outbox");
        }
    }

    /// The delivery itself (the background loop; tests hand it batches directly).
    pub fn delivery(&self) -> &PortalDelivery {
        &self.delivery
    }

    /// The engine store's outbox (the background loop runs it).
    pub fn outbox(&self) -> &Outbox<PortalStore> {
        &self.outbox
    }

    /// Asks the background task for a pass now (a wake while it is busy is kept).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits for [`Self::wake`].
    pub async fn woken(&self) {
        self.wake.notified().await;
    }
}

/// Whether `event` is the recovery code of a lost-phone 利用停止.
pub fn stops_with_recovery_code(event: &DeliveredEvent) -> bool {
    matches!(
        event.event.kind,
        AuditKind::RecoveryCodeUsed {
            operation: totp_enroll::audit::Operation::Stop,
            ..
        }
    )
}

/// The event's name for its row (for filtering: [`AuditKind::name`]) and its line for the
/// desk, in the library's wording (no secret, no code: events carry none).
pub fn describe(kind: &AuditKind) -> (&'static str, String) {
    (kind.name(), crate::LOCALE.audit_event(kind))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use totp_enroll::{
        AccountId, AuditEvent, AuditKind, Operator, audit::Operation, engine::DeliveredEvent,
    };

    use super::{describe, stops_with_recovery_code};

    #[test]
    fn the_apps_events_have_their_codes_and_mails() {
        let cases = [
            (
                AuditKind::AuthenticatorAdded {
                    id: 2,
                    name: "iPad".into(),
                },
                "authenticator_added",
                "iPad",
            ),
            (
                AuditKind::AuthenticatorConfirmed { id: 2 },
                "authenticator_confirmed",
                "2",
            ),
            (
                AuditKind::AuthenticatorRemoved {
                    id: 2,
                    operator: None,
                },
                "authenticator_removed",
                "2",
            ),
        ];
        for (kind, code, detail_has) in cases {
            let (described, detail) = describe(&kind);
            assert_eq!(described, code);
            assert!(detail.contains(detail_has), "{detail}");
            let mail = crate::LOCALE.notification(&kind).unwrap();
            assert!(mail.subject.contains("認証アプリ"), "{}", mail.subject);
        }
    }

    fn delivered(id: u64, at: u64, kind: AuditKind) -> DeliveredEvent {
        DeliveredEvent::new(
            id,
            AuditEvent::new(AccountId::new("0123-456789").unwrap(), at, kind),
        )
    }

    #[test]
    fn a_recovery_code_used_for_the_stop_is_the_stops() {
        let used = |operation| {
            delivered(
                1,
                100,
                AuditKind::RecoveryCodeUsed {
                    remaining: 8,
                    operation,
                },
            )
        };
        assert!(stops_with_recovery_code(&used(Operation::Stop)));
        assert!(
            !stops_with_recovery_code(&used(Operation::RecoveryLogin)),
            "a login's"
        );
        assert!(!stops_with_recovery_code(&delivered(
            2,
            100,
            AuditKind::Stopped
        )));
    }

    #[test]
    fn the_desks_events_have_their_codes_and_mails() {
        let operator = Operator::new("desk-01").unwrap();
        let cases = [
            (
                AuditKind::Diagnosed {
                    operator: operator.clone(),
                    offset: Some(8),
                    failures: 1,
                },
                "diagnosed",
                false,
            ),
            (
                AuditKind::Unlocked {
                    operator: operator.clone(),
                    reason: "本人確認済み".into(),
                },
                "unlocked",
                true,
            ),
            (
                AuditKind::Resynced {
                    drift: 8,
                    operator: Some(operator.clone()),
                },
                "resynced",
                true,
            ),
            (
                AuditKind::AuthenticatorRemoved {
                    id: 2,
                    operator: Some(operator),
                },
                "authenticator_removed",
                true,
            ),
        ];
        for (kind, code, mailed) in cases {
            let (described, detail) = describe(&kind);
            assert_eq!(described, code);
            assert!(detail.contains("desk-01"), "{detail}");
            assert_eq!(
                crate::LOCALE.notification(&kind).is_some(),
                mailed,
                "{code}"
            );
        }
    }
}
