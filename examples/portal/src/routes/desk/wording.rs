//! The desk's Japanese texts and the pure helpers that word what the engine found: the
//! actions' notices and refusals (on customers and on operators), the operators' login
//! texts, a reason as one line, the 時刻のずれ cell, durations as an operator says them,
//! and what コード確認 tells the operator. No I/O here: each is unit-tested below.

use totp_enroll::{
    engine::AccountOverview, engine::Diagnosis, error::EngineError, error::Refusal, otp::Window,
};

use crate::views::DeskAuthenticator;

/// `done` after コード確認.
pub const DIAGNOSED: &str = "diagnose";
/// `done` after 時刻ずれの補正.
pub const RESYNCED: &str = "resync";
/// `done` after このアプリを削除.
pub const REMOVED: &str = "remove-authenticator";
/// The page's answer when the login ID is no customer's.
pub const NOT_FOUND: &str = "該当するお客さまが見つかりません。";
/// Longest reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// The refusal of an unknown operator ID and of a wrong password alike.
pub const WRONG_OPERATOR_LOGIN: &str = "オペレーターIDまたはパスワードが正しくありません。";
/// The refusal of a locked operator (whatever the password).
pub const OPERATOR_LOCKED: &str = "このオペレーターIDは、ログインに続けて失敗したためロックされています。ほかのオペレーターにロック解除を依頼してください。";
/// The refusal of an operator whose enrollment of the one-time password is locked.
pub const OPERATOR_ENROLLMENT_LOCKED: &str = "ワンタイムパスワードの登録がロックされています。ほかのオペレーターにワンタイムパスワードのリセットを依頼してください。";
/// The refusal of an action of an operator on themselves.
pub const NOT_YOURSELF: &str = "ご自身のロック解除やワンタイムパスワードのリセットはできません。ほかのオペレーターに依頼してください。";
/// The page's answer when the operator ID is no operator's.
pub const NO_SUCH_OPERATOR: &str = "該当するオペレーターが見つかりません。";

/// The audit line of an operator locked by its `failures`th consecutive failure.
pub fn operator_locked_detail(failures: i64) -> String {
    format!("オペレーターをロック（ログインの連続失敗 {failures} 回）")
}

/// The audit line of an operator unlocked by `by` for `reason`.
pub fn operator_unlocked_detail(by: &str, reason: &str) -> String {
    format!("オペレーターのロック解除（担当 {by}：{reason}）")
}

/// `reason` as one line (newlines and other control characters become spaces, trimmed),
/// or `action`'s refusal when it is empty or longer than [`MAX_REASON_CHARS`]. The engine
/// checks its characters.
pub fn reason_line(reason: &str, action: DeskAction) -> Result<String, &'static str> {
    let line: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let line = line.trim().to_owned();
    if line.is_empty() {
        Err(action.no_reason())
    } else if line.chars().count() > MAX_REASON_CHARS {
        Err(action.reason_too_long())
    } else {
        Ok(line)
    }
}

/// What an operator does to a customer's service, with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskAction {
    /// ロック解除: failures, lock and backoff are cleared; the registration stays.
    Unlock,
    /// 時刻ずれの補正: the app's clock offset is set from two consecutive codes.
    Resync,
    /// リセット: the enrollment is cleared; the customer may apply again.
    Reset,
    /// 個人情報削除: the enrollment row is erased; the customer may apply again.
    Forget,
    /// このアプリを削除: one app of several is removed; the others keep working.
    RemoveAuthenticator,
    /// オペレーターのロック解除 (another operator): its failures and lock are cleared.
    OperatorUnlock,
    /// オペレーターのワンタイムパスワードのリセット (another operator, a lost phone): the
    /// operator enrolls again at the next login.
    OperatorReset,
}

impl DeskAction {
    /// The actions whose notice after the redirect is fixed text.
    pub const NOTICED: [Self; 3] = [Self::Unlock, Self::Reset, Self::Forget];

    /// In the `done` query after the action.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unlock => "unlock",
            Self::Resync => RESYNCED,
            Self::Reset => "reset",
            Self::Forget => "forget",
            Self::RemoveAuthenticator => REMOVED,
            Self::OperatorUnlock => "operator-unlock",
            Self::OperatorReset => "operator-reset",
        }
    }

    /// The refusal when the reason is missing.
    pub fn no_reason(self) -> &'static str {
        match self {
            Self::Unlock => "ロック解除の理由を入力してください。",
            Self::Resync => "時刻ずれの補正の理由を入力してください。",
            Self::Reset => "リセットの理由を入力してください。",
            Self::Forget => "個人情報削除の理由（ご依頼の内容）を入力してください。",
            Self::RemoveAuthenticator => "アプリの削除の理由を入力してください。",
            Self::OperatorUnlock => "オペレーターのロック解除の理由を入力してください。",
            Self::OperatorReset => "ワンタイムパスワードのリセットの理由を入力してください。",
        }
    }

    /// The refusal when the reason is too long.
    pub fn reason_too_long(self) -> &'static str {
        match self {
            Self::Unlock => "ロック解除の理由は500文字以内で入力してください。",
            Self::Resync => "時刻ずれの補正の理由は500文字以内で入力してください。",
            Self::Reset => "リセットの理由は500文字以内で入力してください。",
            Self::Forget => "個人情報削除の理由は500文字以内で入力してください。",
            Self::RemoveAuthenticator => "アプリの削除の理由は500文字以内で入力してください。",
            Self::OperatorUnlock => {
                "オペレーターのロック解除の理由は500文字以内で入力してください。"
            }
            Self::OperatorReset => {
                "ワンタイムパスワードのリセットの理由は500文字以内で入力してください。"
            }
        }
    }

    /// The notice after the action (時刻ずれの補正 tells the new offset, このアプリを削除
    /// names the app).
    pub fn done(self) -> &'static str {
        match self {
            Self::Unlock => {
                "ワンタイムパスワード認証のロックを解除しました（連続失敗回数 0 回）。登録情報とリカバリーコードはそのままお使いいただけます。"
            }
            Self::Resync => "時刻のずれを補正しました。",
            Self::Reset => "ワンタイムパスワードサービスをリセットしました（未登録）。",
            Self::Forget => {
                "ご依頼によりワンタイムパスワードサービスの登録情報を削除しました（未登録）。"
            }
            Self::RemoveAuthenticator => "アプリを削除しました。",
            Self::OperatorUnlock => "オペレーターのロックを解除しました（連続失敗回数 0 回）。",
            Self::OperatorReset => {
                "オペレーターのワンタイムパスワードをリセットしました。次回のログインで登録し直していただきます（ログイン中の画面は終了しました）。"
            }
        }
    }
}

/// The ロック／一時停止 cell.
pub fn lock_state(overview: &AccountOverview) -> String {
    match (overview.locked, overview.backoff_until) {
        (true, _) => "ロック中（ご本人確認のうえ、ロック解除またはリセットが必要です）".to_owned(),
        (false, Some(until)) => format!("一時停止中（{}まで）", crate::LOCALE.time(until)),
        (false, None) => "なし".to_owned(),
    }
}

/// The 時刻のずれ cell: `+240秒（8ステップ進み）`, `-30秒（1ステップ遅れ）`, `0秒（ずれなし）`.
pub fn drift_cell(steps: i32, seconds: i64) -> String {
    let n = steps.unsigned_abs();
    match steps.signum() {
        1 => format!("+{seconds}秒（{n}ステップ進み）"),
        -1 => format!("{seconds}秒（{n}ステップ遅れ）"),
        _ => "0秒（ずれなし）".to_owned(),
    }
}

/// A length of time in words: `30秒`, `4分`, `1分30秒`, `2時間5分`, `1日`.
pub fn duration(seconds: u64) -> String {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    let (big, small, big_unit, small_unit, small_len) = if seconds < MINUTE {
        return format!("{seconds}秒");
    } else if seconds < HOUR {
        (seconds / MINUTE, seconds % MINUTE, "分", "秒", 1)
    } else if seconds < DAY {
        (seconds / HOUR, seconds % HOUR, "時間", "分", MINUTE)
    } else {
        (seconds / DAY, seconds % DAY, "日", "時間", HOUR)
    };
    match small / small_len {
        0 => format!("{big}{big_unit}"),
        small => format!("{big}{big_unit}{small}{small_unit}"),
    }
}

/// How far the customer's phone's clock is off, as one sentence.
pub fn drift_sentence(steps: i64, seconds: i64) -> String {
    let about = duration(seconds.unsigned_abs());
    let n = steps.unsigned_abs();
    match steps.signum() {
        1 => format!("お客さまのスマートフォンの時刻が約{about}進んでいます（{n}ステップ）。"),
        -1 => format!("お客さまのスマートフォンの時刻が約{about}遅れています（{n}ステップ）。"),
        _ => "お客さまのスマートフォンの時刻は合っています（ずれなし）。".to_owned(),
    }
}

/// What コード確認 found (the engine's [`Diagnosis`], in the fields the desk words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The code is `offset` steps (`seconds`) from now; `already_used`: at or before the
    /// last used step.
    Matches {
        /// The app whose code it is.
        authenticator: u8,
        /// Whole steps from the current step.
        offset: i64,
        /// The same in seconds.
        seconds: i64,
        /// Whether it was used already (or is older than a used one).
        already_used: bool,
    },
    /// No step within `searched` steps each way has this code.
    NoMatch {
        /// Steps searched each way.
        searched: u64,
    },
    /// A result this portal does not know yet.
    Unknown,
}

impl From<Diagnosis> for Found {
    fn from(diagnosis: Diagnosis) -> Self {
        match diagnosis {
            Diagnosis::Matches {
                authenticator,
                offset,
                seconds,
                already_used,
                ..
            } => Self::Matches {
                authenticator,
                offset,
                seconds,
                already_used,
            },
            Diagnosis::NoMatch { searched, .. } => Self::NoMatch { searched },
            _ => Self::Unknown,
        }
    }
}

/// Which app of several the desk's result is about (`「iPad」（ID 2）のコードです。`);
/// nothing when the account has only one.
pub fn which_app(apps: &[DeskAuthenticator], id: u8, wording: &str) -> Option<String> {
    if apps.len() < 2 {
        return None;
    }
    let name = apps.iter().find(|a| a.id == id).map_or_else(
        || format!("ID {id}"),
        |a| format!("「{}」（ID {id}）", a.name),
    );
    Some(format!("{wording}{name}"))
}

/// What コード確認 tells the operator: the offset found (or that the code was used or
/// matched nothing), which app's code it is when there are several, and whether a login
/// would accept such a code now (`apps`: the account's apps, whose recorded offsets the
/// login windows are centred on; `window`: their reach; `period`: the step in seconds).
pub fn diagnosis_lines(
    found: Found,
    period: u32,
    apps: &[DeskAuthenticator],
    window: Window,
) -> Vec<String> {
    let mut lines = match found {
        Found::Matches {
            already_used: true, ..
        } => vec![
            "既に使用済みのコードです。".to_owned(),
            "アプリに次のコードが表示されてから、そのコードを読み上げていただいてください。"
                .to_owned(),
        ],
        Found::Matches {
            authenticator,
            offset,
            seconds,
            ..
        } => {
            let reach = -i64::from(window.behind())..=i64::from(window.ahead());
            // Centred on the drift of the app whose code it is.
            let accepted = apps
                .iter()
                .filter(|a| !a.pending && a.id == authenticator)
                .any(|a| reach.contains(&offset.saturating_sub(i64::from(a.drift_steps))));
            let login = if accepted {
                "このずれであれば、そのままログインできます。"
            } else {
                "このずれではログインできません。お客さまにスマートフォンの日付と時刻の設定（自動設定）をご確認いただくか、「時刻ずれの補正」を行ってください。"
            };
            vec![drift_sentence(offset, seconds), login.to_owned()]
        }
        Found::NoMatch { searched } => vec![
            format!(
                "一致するコードがありません（前後{}）。",
                duration(searched.saturating_mul(u64::from(period)))
            ),
            format!(
                "お客さまのアプリで「{}」のコードを読み上げていただいているか、スマートフォンの日付が正しいかをご確認ください。",
                crate::ISSUER
            ),
        ],
        Found::Unknown => vec!["確認結果を表示できません。".to_owned()],
    };
    if let Found::Matches { authenticator, .. } = found
        && let Some(line) = which_app(apps, authenticator, "一致したアプリ：")
    {
        lines.push(line);
    }
    lines
}

/// The desk's wording of a refusal, where it differs from the customer's
/// (`Locale::engine_error`): `None` keeps the library's text.
pub fn desk_refusal(error: &EngineError, action: Option<DeskAction>) -> Option<&'static str> {
    match (error, action) {
        (EngineError::Refused(Refusal::Locked), None) => Some(
            "ロック中はコード確認ができません。ご本人確認のうえ、「ロック解除」を行ってください。",
        ),
        (EngineError::Refused(Refusal::Locked), Some(DeskAction::Resync)) => Some(
            "ロック中は時刻ずれの補正ができません。ご本人確認のうえ、先に「ロック解除」を行ってください。",
        ),
        (EngineError::Refused(Refusal::WrongCode), Some(DeskAction::Resync)) => Some(
            "読み上げていただいた2つのコードを、続けて表示されたコードとして確認できませんでした。アプリに表示されているコードと、その次に表示されるコードを続けて読み上げていただき、もう一度入力してください（失敗は認証の失敗1回として数えられます）。",
        ),
        (EngineError::LastAuthenticator, _) => Some(
            "（窓口で端末紛失によりすべてのアプリを使えなくする場合は「リセット」を行ってください。）",
        ),
        (EngineError::NotActive, _) => {
            Some("ワンタイムパスワードサービスをご利用になっていないため、この操作はできません。")
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::views;

    #[test]
    fn a_reason_is_one_line_given_and_bounded() {
        assert_eq!(
            reason_line(" 端末紛失\n本人確認済み ", DeskAction::Reset).as_deref(),
            Ok("端末紛失 本人確認済み")
        );
        assert_eq!(
            reason_line(" \n ", DeskAction::OperatorReset),
            Err(DeskAction::OperatorReset.no_reason())
        );
        assert_eq!(
            reason_line(&"あ".repeat(501), DeskAction::OperatorUnlock),
            Err(DeskAction::OperatorUnlock.reason_too_long())
        );
        assert!(reason_line(&"あ".repeat(500), DeskAction::Unlock).is_ok());
    }

    #[test]
    fn durations_read_as_an_operator_says_them() {
        assert_eq!(duration(30), "30秒");
        assert_eq!(duration(240), "4分");
        assert_eq!(duration(90), "1分30秒");
        assert_eq!(duration(2 * 3600 + 5 * 60), "2時間5分");
        assert_eq!(duration(3600), "1時間");
        assert_eq!(duration(86_400), "1日");
        assert_eq!(duration(86_400 + 3 * 3600), "1日3時間");
    }

    #[test]
    fn the_drift_cell_shows_seconds_and_steps() {
        assert_eq!(drift_cell(8, 240), "+240秒（8ステップ進み）");
        assert_eq!(drift_cell(-1, -30), "-30秒（1ステップ遅れ）");
        assert_eq!(drift_cell(0, 0), "0秒（ずれなし）");
    }

    fn apps(drifts: &[i32]) -> Vec<DeskAuthenticator> {
        (1u8..)
            .zip(drifts)
            .map(|(id, &drift_steps)| DeskAuthenticator {
                id,
                name: if id == 1 {
                    views::FIRST_APP.to_owned()
                } else {
                    format!("端末{id}")
                },
                label: crate::ISSUER.to_owned(),
                created_at: String::new(),
                last_used_at: String::new(),
                drift: String::new(),
                pending: false,
                drift_steps,
                removable: drifts.len() > 1,
            })
            .collect()
    }

    #[test]
    fn a_diagnosis_names_the_app_of_several_and_uses_its_drift() {
        let window = Window::ONE;
        let found = Found::Matches {
            authenticator: 2,
            offset: 8,
            seconds: 240,
            already_used: false,
        };
        let lines = diagnosis_lines(found, 30, &apps(&[8, 0]), window);
        assert!(
            lines[1].contains("ログインできません"),
            "app 2 has no drift"
        );
        assert_eq!(lines[2], "一致したアプリ：「端末2」（ID 2）");
        let lines = diagnosis_lines(found, 30, &apps(&[0, 8]), window);
        assert!(lines[1].contains("そのままログインできます"));
        let one = diagnosis_lines(
            Found::Matches {
                authenticator: 1,
                offset: 8,
                seconds: 240,
                already_used: false,
            },
            30,
            &apps(&[8]),
            window,
        );
        assert_eq!(one.len(), 2, "one app: not named");
    }

    #[test]
    fn a_diagnosis_says_ahead_behind_used_or_no_match() {
        let window = Window::ONE;
        let ahead = diagnosis_lines(
            Found::Matches {
                authenticator: 1,
                offset: 8,
                seconds: 240,
                already_used: false,
            },
            30,
            &apps(&[0]),
            window,
        );
        assert_eq!(
            ahead[0],
            "お客さまのスマートフォンの時刻が約4分進んでいます（8ステップ）。"
        );
        assert!(ahead[1].contains("ログインできません"));
        let behind = diagnosis_lines(
            Found::Matches {
                authenticator: 1,
                offset: -1,
                seconds: -30,
                already_used: false,
            },
            30,
            &apps(&[0]),
            window,
        );
        assert_eq!(
            behind[0],
            "お客さまのスマートフォンの時刻が約30秒遅れています（1ステップ）。"
        );
        assert!(behind[1].contains("そのままログインできます"));
        // Centred on the recorded drift: 8 steps ahead logs in once the drift is 8.
        let tracked = diagnosis_lines(
            Found::Matches {
                authenticator: 1,
                offset: 8,
                seconds: 240,
                already_used: false,
            },
            30,
            &apps(&[8]),
            window,
        );
        assert!(tracked[1].contains("そのままログインできます"));
        let used = diagnosis_lines(
            Found::Matches {
                authenticator: 1,
                offset: 0,
                seconds: 0,
                already_used: true,
            },
            30,
            &apps(&[0]),
            window,
        );
        assert_eq!(used[0], "既に使用済みのコードです。");
        let none = diagnosis_lines(Found::NoMatch { searched: 2880 }, 30, &apps(&[0]), window);
        assert_eq!(none[0], "一致するコードがありません（前後1日）。");
    }
}
