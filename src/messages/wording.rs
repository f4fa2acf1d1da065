//! The customer-facing texts, in the Japanese portal manual's register (丁寧語).
//!
//! A text never shows internals (which store, which key, what failed inside) and never
//! echoes what was typed; a throttle's end is shown in the locale's time zone.

use crate::error::{CodeError, EngineError, Refusal, StoreError};
use crate::messages::Lang;
use crate::messages::locale::Locale;

/// The support desk, as the manual names it.
const DESK_JA: &str = "お客さまサポート窓口";

impl Locale {
    /// What to tell the customer about a refused code.
    pub fn refusal(&self, refusal: &Refusal) -> String {
        match (self.lang, refusal) {
            (Lang::Ja, Refusal::Malformed(error)) => malformed_ja(error),
            (Lang::En, Refusal::Malformed(error)) => malformed_en(error),
            (Lang::Ja, Refusal::MalformedRecoveryCode(_)) => {
                "リカバリーコードは、英数字16文字（4文字ずつ区切り可）で入力してください。"
                    .to_owned()
            }
            (Lang::En, Refusal::MalformedRecoveryCode(_)) => {
                "Please enter the recovery code as its 16 letters and digits \
                 (groups of 4 may be separated)."
                    .to_owned()
            }
            (Lang::Ja, Refusal::WrongCode) => "ワンタイムパスワードが正しくありません。\
                 アプリに表示されているワンタイムパスワードを入力してください。"
                .to_owned(),
            (Lang::En, Refusal::WrongCode) => "The one-time password is incorrect. \
                 Please enter the one-time password your app shows now."
                .to_owned(),
            (Lang::Ja, Refusal::Replayed) => "このワンタイムパスワードは既に使用されています。\
                 アプリに新しいワンタイムパスワードが表示されてから入力してください。"
                .to_owned(),
            (Lang::En, Refusal::Replayed) => "This one-time password has already been used. \
                 Please wait until your app shows a new one and enter that."
                .to_owned(),
            (Lang::Ja, Refusal::Throttled { until }) => format!(
                "ワンタイムパスワードの誤入力が続いたため、現在ご利用いただけません。\
                 {}以降に、もう一度お試しください。",
                self.time(*until)
            ),
            (Lang::En, Refusal::Throttled { until }) => format!(
                "Too many incorrect one-time passwords were entered. \
                 Please try again after {}.",
                self.time(*until)
            ),
            (Lang::Ja, Refusal::WrongCodeThrottled { until }) => format!(
                "ワンタイムパスワードが正しくありません。誤入力が続いたため、\
                 {}以降に、もう一度お試しください。",
                self.time(*until)
            ),
            (Lang::En, Refusal::WrongCodeThrottled { until }) => format!(
                "The one-time password is incorrect. Because of repeated incorrect entries, \
                 please try again after {}.",
                self.time(*until)
            ),
            (Lang::Ja, Refusal::WrongCodeLocked) => format!(
                "ワンタイムパスワードが正しくありません。誤入力が規定の回数を超えたため、\
                 ご利用を停止しました。お手数ですが、{DESK_JA}までお問い合わせください。"
            ),
            (Lang::En, Refusal::WrongCodeLocked) => {
                "The one-time password is incorrect. Too many incorrect one-time passwords \
                 were entered, so the service is now locked. Please contact the customer \
                 support desk."
                    .to_owned()
            }
            (Lang::Ja, Refusal::Locked) => format!(
                "ワンタイムパスワードの誤入力が規定の回数を超えたため、ご利用を停止しています。\
                 お手数ですが、{DESK_JA}までお問い合わせください。"
            ),
            (Lang::En, Refusal::Locked) => {
                "Too many incorrect one-time passwords were entered, so the service is locked. \
                 Please contact the customer support desk."
                    .to_owned()
            }
        }
    }

    /// What to tell the customer about a refused recovery code
    /// ([`Engine::verify_recovery_code`](crate::Engine::verify_recovery_code)): as
    /// [`Locale::refusal`], but a wrong code is named as a recovery code.
    pub fn recovery_code_refusal(&self, refusal: &Refusal) -> String {
        match (self.lang, refusal) {
            (Lang::Ja, Refusal::WrongCode | Refusal::Replayed) => {
                "リカバリーコードが正しくないか、既に使用されています。\
                 お手元のリカバリーコードの一覧をご確認ください。"
                    .to_owned()
            }
            (Lang::En, Refusal::WrongCode | Refusal::Replayed) => {
                "The recovery code is incorrect or was already used. \
                 Please check your list of recovery codes."
                    .to_owned()
            }
            (Lang::Ja, Refusal::WrongCodeThrottled { until }) => format!(
                "リカバリーコードが正しくないか、既に使用されています。誤入力が続いたため、\
                 {}以降に、もう一度お試しください。",
                self.time(*until)
            ),
            (Lang::En, Refusal::WrongCodeThrottled { until }) => format!(
                "The recovery code is incorrect or was already used. Because of repeated \
                 incorrect entries, please try again after {}.",
                self.time(*until)
            ),
            (Lang::Ja, Refusal::WrongCodeLocked) => format!(
                "リカバリーコードが正しくないか、既に使用されています。誤入力が規定の回数を\
                 超えたため、ご利用を停止しました。お手数ですが、{DESK_JA}までお問い合わせください。"
            ),
            (Lang::En, Refusal::WrongCodeLocked) => {
                "The recovery code is incorrect or was already used. Too many incorrect codes \
                 were entered, so the service is now locked. Please contact the customer \
                 support desk."
                    .to_owned()
            }
            _ => self.refusal(refusal),
        }
    }

    /// What to tell the customer about an engine error.
    pub fn engine_error(&self, error: &EngineError) -> String {
        let ja = self.lang == Lang::Ja;
        let text = match error {
            EngineError::Refused(refusal) => return self.refusal(refusal),
            EngineError::StepUp(_) if ja => {
                "取引パスワードの確認から時間が経過しました。\
                 お手数ですが、もう一度取引パスワードを入力してください。"
            }
            EngineError::StepUp(_) => {
                "Your transaction password check is no longer valid. \
                 Please enter your transaction password again."
            }
            EngineError::AlreadyActive if ja => "ワンタイムパスワードサービスは既にご利用中です。",
            EngineError::AlreadyActive => "You are already using the one-time password service.",
            EngineError::NoPendingEnrollment if ja => {
                "お申込みの有効期限が切れました。お手数ですが、もう一度お申込みください。"
            }
            EngineError::NoPendingEnrollment => "Your application has expired. Please apply again.",
            EngineError::NotActive if ja => {
                "ワンタイムパスワードサービスはご利用になっていません。"
            }
            EngineError::NotActive => "You are not using the one-time password service.",
            EngineError::RedisplayDisabled if ja => "登録コードの再表示はご利用いただけません。",
            EngineError::RedisplayDisabled => "The registration code cannot be shown again.",
            EngineError::OwnSecretDisabled if ja => {
                "別の端末は「コード再表示」で同じ登録コードを登録してください。"
            }
            EngineError::OwnSecretDisabled => {
                "Please register another device with the same code (show the code again)."
            }
            EngineError::TooManyAuthenticators if ja => {
                "登録できる認証アプリの数の上限に達しています。不要なアプリを削除してから追加してください。"
            }
            EngineError::TooManyAuthenticators => {
                "You have registered the most authenticator apps allowed. Please remove one you no longer use first."
            }
            EngineError::UnknownAuthenticator(_) if ja => {
                "指定の認証アプリは登録されていないか、確認の有効期限が切れています。"
            }
            EngineError::UnknownAuthenticator(_) => {
                "That authenticator app is not registered, or its confirmation has expired."
            }
            EngineError::LastAuthenticator if ja => {
                "最後の認証アプリは削除できません。ご利用をやめる場合は「利用停止」をご利用ください。"
            }
            EngineError::LastAuthenticator => {
                "The last authenticator app cannot be removed. To stop using the service, please stop it instead."
            }
            EngineError::InvalidIdentifier(_) if ja => {
                "入力内容に使用できない文字が含まれているか、長すぎます。ご確認ください。"
            }
            EngineError::InvalidIdentifier(_) => {
                "The input contains characters that cannot be used, or is too long."
            }
            EngineError::Contention | EngineError::Store(StoreError::Conflict) if ja => BUSY_JA,
            EngineError::Contention | EngineError::Store(StoreError::Conflict) => BUSY_EN,
            EngineError::Store(StoreError::Backend(_)) if ja => BUSY_JA,
            EngineError::Store(StoreError::Backend(_)) => BUSY_EN,
            EngineError::Store(
                StoreError::Corrupt(_) | StoreError::VersionExhausted | StoreError::Schema { .. },
            )
            | EngineError::KeyStillNeeded { .. }
            | EngineError::KeyRingChanged { .. }
            | EngineError::Seal(_)
            | EngineError::Clock(_)
            | EngineError::Secret(_)
            | EngineError::Uri(_)
            | EngineError::Qr(_)
            | EngineError::Policy(_) => {
                if ja {
                    FAULT_JA
                } else {
                    FAULT_EN
                }
            }
        };
        text.to_owned()
    }
}

const BUSY_JA: &str = "ただいま大変混み合っております。しばらくしてから、もう一度お試しください。";
const BUSY_EN: &str = "The service is busy. Please try again in a moment.";
const FAULT_JA: &str = "システムエラーが発生しました。お手数ですが、しばらくしてからもう一度お試しいただくか、\
     お客さまサポート窓口までお問い合わせください。";
const FAULT_EN: &str = "A system error occurred. Please try again later, \
     or contact the customer support desk.";

fn malformed_ja(error: &CodeError) -> String {
    match error {
        CodeError::Empty => "ワンタイムパスワードを入力してください。".to_owned(),
        CodeError::WrongLength { expected, .. } => {
            format!("ワンタイムパスワードは{expected}桁の数字で入力してください。")
        }
        CodeError::InputTooLong
        | CodeError::InvalidCharacter { .. }
        | CodeError::MisplacedSeparator { .. } => {
            "ワンタイムパスワードは数字で入力してください。".to_owned()
        }
    }
}

fn malformed_en(error: &CodeError) -> String {
    match error {
        CodeError::Empty => "Please enter the one-time password.".to_owned(),
        CodeError::WrongLength { expected, .. } => {
            format!("Please enter the one-time password as {expected} digits.")
        }
        CodeError::InputTooLong
        | CodeError::InvalidCharacter { .. }
        | CodeError::MisplacedSeparator { .. } => {
            "Please enter the one-time password in digits.".to_owned()
        }
    }
}
