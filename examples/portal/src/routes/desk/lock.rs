//! The operators' lock: every failed login of an operator (a wrong password, a refused
//! one-time password or enrollment code) counts in the portal's own table, atomically
//! (`Db::record_operator_failure`); the [`LOCK_AFTER`]th consecutive one locks the
//! operator (audited, in the trail and the log) until another operator unlocks it
//! (`operators.rs`); a complete login clears the count. The desk engine's own throttle
//! (a backoff from the 3rd wrong code) applies to the codes as well.

use axum::http::StatusCode;

use super::super::{Page, Reject};
use super::guard::login_page;
use super::wording::{OPERATOR_LOCKED, operator_locked_detail};
use crate::accounts::operator_account;
use crate::app::AppState;
pub use crate::db::operators::LOCK_AFTER;
use crate::notify::AUDIT_LOG;
use crate::session::Session;

/// Counts a failed login of `operator`; whether the operator is locked now. The failure
/// that locks is audited.
pub async fn failed(app: &AppState, operator: &str) -> Result<bool, Reject> {
    let now = app.now()?;
    let Some(count) = app.db.record_operator_failure(operator, now).await? else {
        return Ok(false);
    };
    if count.failures == LOCK_AFTER {
        let account = operator_account(operator)?;
        let detail = operator_locked_detail(count.failures);
        app.db
            .insert_portal_audit(account.as_str(), now, "operator_locked", &detail)
            .await?;
        tracing::warn!(target: AUDIT_LOG, account = %account, kind = "operator_locked", "audit event");
    }
    Ok(count.locked)
}

/// A complete login of `operator` (both factors): its failures are cleared, unless it
/// was locked meanwhile. Whether the login may complete.
pub async fn completed(app: &AppState, operator: &str) -> Result<bool, Reject> {
    Ok(app.db.clear_operator_failures(operator).await?)
}

/// The answer to a locked operator (403, the lock's text); any half-way session ends.
pub fn locked_page(session: &Session) -> Page {
    session.end();
    login_page(
        session,
        StatusCode::FORBIDDEN,
        Some(OPERATOR_LOCKED.to_owned()),
    )
}
