//! 登録情報照会 (口座情報 › 登録情報照会): the row ワンタイムパスワードサービス.

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use totp_enroll::{Access, Lang, Status};

use super::{Page, logged_in};
use crate::app::SharedState;
use crate::refusal::SUPPORT_HINT;
use crate::session::{Session, Shown};
use crate::views::{self, AccountPage};

/// GET /account.
pub async fn show(State(app): State<SharedState>, Extension(session): Extension<Session>) -> Page {
    let me = logged_in(&app, &session).await?;
    // Leaving the re-display screen ends it: the key is not shown again without a code.
    session.update(|d| {
        if matches!(d.provisioning, Some((Shown::Redisplay, _))) {
            d.provisioning = None;
        }
    });
    let status = app.engine.status(&me.account).await?;
    let (pending_until, access) = match status {
        Status::Pending { expires_at, access } => {
            (Some(crate::LOCALE.time(expires_at)), Some(access))
        }
        Status::Active { access, .. } => (None, Some(access)),
        _ => (None, None),
    };
    let access_note = match access {
        Some(Access::Locked) => Some(format!(
            "ワンタイムパスワードの認証に規定回数以上失敗したため、ご利用を停止しています。{SUPPORT_HINT}"
        )),
        Some(Access::Throttled { until }) => Some(format!(
            "ワンタイムパスワードの認証に続けて失敗したため、{}まで認証できません。",
            crate::LOCALE.time(until)
        )),
        _ => None,
    };
    Ok(views::page(
        StatusCode::OK,
        &AccountPage {
            chrome: me.chrome,
            status_label: status.label(Lang::Ja),
            active: matches!(status, Status::Active { .. }),
            pending_until,
            access_note,
        },
    ))
}
