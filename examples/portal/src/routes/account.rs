//! 登録情報照会 (口座情報 › 登録情報照会): the row ワンタイムパスワードサービス, with
//! リカバリーコードの再発行 while 利用中, and once after a login with a recovery code a
//! notice of how many remain.

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use totp_enroll::{Access, EnginePolicy, Lang, Status};

use super::{Page, logged_in};
use crate::app::SharedState;
use crate::refusal::SUPPORT_HINT;
use crate::session::{Session, Shown};
use crate::views::{self, AccountPage, RecoveryLoginNotice};

/// At most this many unused recovery codes left is "few" (the engine's default mark, which
/// the portal's policy keeps: the customer also gets the engine's "few left" mail).
pub const FEW_RECOVERY_CODES: u8 = EnginePolicy::DEFAULT_RECOVERY_LOW_MARK;

/// What a customer without the app can do: the support desk resets the service.
const WITHOUT_THE_DEVICE: &str = "アプリを登録した端末がお手元にない場合は、お客さまサポート窓口でワンタイムパスワードサービスのリセットをご依頼のうえ、改めてお申込みください。";

/// The notice after a login with a recovery code that left `remaining` unused ones.
pub fn recovery_login_notice(remaining: u8) -> RecoveryLoginNotice {
    let message = if remaining == 0 {
        format!(
            "リカバリーコードでログインしました。未使用のリカバリーコードはもうありません。次回からは、アプリのワンタイムパスワードがないとログインできません。至急、アプリを登録し直し、「リカバリーコードの再発行」で新しいリカバリーコードを発行してください。{WITHOUT_THE_DEVICE}"
        )
    } else if remaining <= FEW_RECOVERY_CODES {
        format!(
            "リカバリーコードでログインしました。未使用のリカバリーコードは残り{remaining}個しかありません。使い切ると、アプリのワンタイムパスワードがないとログインできなくなります。至急、アプリを登録し直し、「リカバリーコードの再発行」で新しいリカバリーコードを発行してください。{WITHOUT_THE_DEVICE}"
        )
    } else {
        format!(
            "リカバリーコードでログインしました。未使用のリカバリーコードは残り{remaining}個です。アプリのワンタイムパスワードを表示できない場合は、お早めにアプリを登録し直し、「リカバリーコードの再発行」で新しいリカバリーコードを発行することをおすすめします。{WITHOUT_THE_DEVICE}"
        )
    };
    RecoveryLoginNotice {
        urgent: remaining <= FEW_RECOVERY_CODES,
        message,
    }
}

/// GET /account.
pub async fn show(State(app): State<SharedState>, Extension(session): Extension<Session>) -> Page {
    let me = logged_in(&app, &session).await?;
    // Leaving the re-display screen ends it: the key is not shown again without a code.
    // Recovery codes not yet shown are dropped too (they are shown on their screen or not
    // at all), and the notice after a recovery-code login is shown this once.
    let recovery_login = session
        .update(|d| {
            if matches!(d.provisioning, Some((Shown::Redisplay, _))) {
                d.provisioning = None;
            }
            d.recovery_codes = None;
            d.recovery_login.take()
        })
        .flatten();
    let status = app.engine.status(&me.account).await?;
    let recovery_codes_left = match status {
        Status::Active { .. } => Some(
            app.engine
                .overview(&me.account)
                .await?
                .recovery_codes_remaining,
        ),
        _ => None,
    };
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
            recovery_notice: recovery_login.map(recovery_login_notice),
            recovery_codes_left,
        },
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_is_urgent_from_three_left() {
        let calm = recovery_login_notice(9);
        assert!(!calm.urgent);
        assert!(calm.message.contains("残り9個です"), "{}", calm.message);
        let few = recovery_login_notice(3);
        assert!(few.urgent);
        assert!(
            few.message.contains("残り3個しかありません"),
            "{}",
            few.message
        );
        assert!(few.message.contains("至急"));
        let none = recovery_login_notice(0);
        assert!(none.urgent);
        assert!(none.message.contains("もうありません"), "{}", none.message);
        for notice in [calm, few, none] {
            assert!(notice.message.contains("リカバリーコードの再発行"));
            assert!(notice.message.contains("お客さまサポート窓口"));
        }
    }
}
