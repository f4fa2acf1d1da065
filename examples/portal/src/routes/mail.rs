//! `/desk/mail`: the demo's view of the mail outbox (what would have been e-mailed:
//! every customer's name, address and security events). Routed only when the demo
//! mailbox is enabled (`TOTP_PORTAL_DEMO_MAILBOX=1`, off by default: otherwise a 404), and
//! then only for a logged-in support-desk operator. A real portal sends the outbox by SMTP
//! and has no such page.

use axum::extract::{Extension, State};
use axum::http::StatusCode;

use super::Page;
use super::desk::guard;
use crate::app::SharedState;
use crate::session::Session;
use crate::views::{self, MailPage, MailView};

/// GET /desk/mail: the newest 100 mails (after delivering the pending audit events, so the
/// mail of what was just done is there).
pub async fn show(State(app): State<SharedState>, Extension(session): Extension<Session>) -> Page {
    let me = guard::operator(&app, &session)?;
    app.audit.catch_up().await;
    let mails = app
        .db
        .mails(100)
        .await?
        .into_iter()
        .map(|m| MailView {
            at: crate::LOCALE.time(u64::try_from(m.at).unwrap_or(0)),
            to: m.to_address,
            subject: m.subject,
            body: m.body,
        })
        .collect();
    Ok(views::page(
        StatusCode::OK,
        &MailPage {
            chrome: me.chrome,
            mails,
        },
    ))
}
