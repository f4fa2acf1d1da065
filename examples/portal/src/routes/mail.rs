//! `/mail`: the developer's view of the mail outbox (what would have been e-mailed).
//! A demo page: a real portal sends the outbox by SMTP and has no such page.

use axum::extract::State;
use axum::http::StatusCode;

use super::Page;
use crate::app::SharedState;
use crate::views::{self, Chrome, MailPage, MailView};

/// GET /mail: the newest 100 mails (after delivering the pending audit events, so the
/// mail of what was just done is there).
pub async fn show(State(app): State<SharedState>) -> Page {
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
            chrome: Chrome::default(),
            mails,
        },
    ))
}
