//! 登録情報照会 (口座情報 › 登録情報照会): the row ワンタイムパスワードサービス, with
//! リカバリーコードの再発行 while 利用中, and once after a login with a recovery code a
//! notice of how many remain (and, while some do, the lost-phone 利用停止). In `own`
//! mode (`TOTP_PORTAL_SECOND_DEVICE=own`) the apps are listed, each with 削除 unless it
//! is the only one, and 別の端末を追加 replaces コード再表示.

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use totp_enroll::{Access, EnginePolicy, Status, engine::AuthenticatorOverview, messages::Lang};

use super::{Page, devices, logged_in};
use crate::app::SharedState;
use crate::refusal::SUPPORT_HINT;
use crate::session::{Issued, Session, SessionData, Shown};
use crate::views::{self, AccountApp, AccountPage, RecoveryLoginNotice, Unfinished};

/// At most this many unused recovery codes left is "few" (the engine's default mark, which
/// the portal's policy keeps: the customer also gets the engine's "few left" mail).
pub const FEW_RECOVERY_CODES: u8 = EnginePolicy::DEFAULT_RECOVERY_LOW_MARK;

/// What a customer without the app and without another recovery code can do: the
/// support desk resets the service.
const WITHOUT_THE_DEVICE: &str = "アプリを登録した端末がお手元にない場合は、お客さまサポート窓口でワンタイムパスワードサービスのリセットをご依頼のうえ、改めてお申込みください。";

/// What a customer without the app but with another recovery code can do: stop the
/// service here (`/stop/lost`), or ask the desk.
const LOST_PHONE: &str = "アプリを登録した端末を紛失した場合は、「スマートフォンを紛失した場合：利用停止」から、別のリカバリーコードと取引パスワードで利用を停止し、新しい端末で改めてお申込みください（お客さまサポート窓口でリセットをご依頼いただくこともできます）。";

/// The notice after a login with a recovery code that left `remaining` unused ones.
pub fn recovery_login_notice(remaining: u8) -> RecoveryLoginNotice {
    let message = if remaining == 0 {
        format!(
            "リカバリーコードでログインしました。未使用のリカバリーコードはもうありません。次回からは、アプリのワンタイムパスワードがないとログインできません。至急、アプリを登録し直し、「リカバリーコードの再発行」で新しいリカバリーコードを発行してください。{WITHOUT_THE_DEVICE}"
        )
    } else if remaining <= FEW_RECOVERY_CODES {
        format!(
            "リカバリーコードでログインしました。未使用のリカバリーコードは残り{remaining}個しかありません。使い切ると、アプリのワンタイムパスワードがないとログインできなくなります。至急、アプリを登録し直し、「リカバリーコードの再発行」で新しいリカバリーコードを発行してください。{LOST_PHONE}"
        )
    } else {
        format!(
            "リカバリーコードでログインしました。未使用のリカバリーコードは残り{remaining}個です。アプリのワンタイムパスワードを表示できない場合は、お早めにアプリを登録し直し、「リカバリーコードの再発行」で新しいリカバリーコードを発行することをおすすめします。{LOST_PHONE}"
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
    // The notices (after a recovery-code login, after an app was added or removed) are
    // shown this once. One-time material (a key, recovery codes) is NOT dropped here: it
    // stays until the POST that completes its screen, and this page links back to it.
    let (recovery_login, notice, recovered, unfinished) = session
        .update(|d| {
            (
                d.recovery_login.take(),
                d.account_notice.take(),
                d.recovered,
                unfinished(d),
            )
        })
        .unwrap_or_default();
    let status = app.engine.status(&me.account).await?;
    // A pending application's key only while it is pending.
    let unfinished = unfinished
        .filter(|u| u.href != "/apply/register" || matches!(status, Status::Pending { .. }));
    let active = matches!(status, Status::Active { .. });
    let overview = if active {
        Some(app.engine.overview(&me.account).await?)
    } else {
        None
    };
    let recovery_codes_left = overview.as_ref().map(|o| o.recovery_codes_remaining);
    let own_devices = app.second_device.own_secret();
    let apps = match &overview {
        Some(overview) if own_devices => account_apps(&overview.authenticators),
        _ => Vec::new(),
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
            active,
            pending_until,
            access_note,
            recovery_notice: recovery_login.map(recovery_login_notice),
            recovery_codes_left,
            own_devices,
            apps,
            notice,
            lost_phone: recovered && recovery_codes_left.is_some_and(|left| left > 0),
            unfinished,
        },
    ))
}

/// A screen whose one-time material is still in the session (shown until the POST that
/// completes it), for the note that leads back to it.
fn unfinished(data: &SessionData) -> Option<Unfinished> {
    let codes = data
        .recovery_codes
        .as_ref()
        .map(|(issued, _)| match issued {
            Issued::Enrollment => Unfinished {
                message: "お申込み完了時のリカバリーコードの表示が完了していません。",
                href: "/apply/done",
            },
            Issued::Reissue => Unfinished {
                message: "再発行したリカバリーコードの表示が完了していません。",
                href: "/recovery-codes/show",
            },
        });
    let application = data.applied_at.map(|_| Unfinished {
        message: "サービス申込の登録用二次元バーコードを表示できます。",
        href: "/apply/register",
    });
    let key = data
        .provisioning
        .as_ref()
        .and_then(|(shown, _)| match shown {
            Shown::Redisplay => Some(Unfinished {
                message: "登録コード再表示が完了していません。",
                href: "/redisplay/show",
            }),
            Shown::Device(_) => Some(Unfinished {
                message: "別の端末を追加の登録が完了していません。",
                href: "/devices/register",
            }),
            // An operator's (never in a customer's session).
            Shown::Operator => None,
        });
    codes.or(key).or(application)
}

/// The apps as 登録情報照会 lists them.
fn account_apps(authenticators: &[AuthenticatorOverview]) -> Vec<AccountApp> {
    let confirmed = devices::confirmed(authenticators);
    authenticators
        .iter()
        .map(|a| AccountApp {
            id: a.id,
            name: views::app_name(&a.name),
            created_at: crate::LOCALE.time(a.created_at),
            last_used_at: a
                .last_used_at
                .map_or_else(|| "—".to_owned(), |at| crate::LOCALE.time(at)),
            pending: a.pending,
            removable: devices::removable(a.pending, confirmed),
        })
        .collect()
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
        assert!(
            !none.message.contains("紛失した場合：利用停止"),
            "no code left for it"
        );
        assert!(calm.message.contains("紛失した場合：利用停止"));
        for notice in [calm, few, none] {
            assert!(notice.message.contains("リカバリーコードの再発行"));
            assert!(notice.message.contains("お客さまサポート窓口"));
        }
    }
}
