//! Labels of statuses and key types in both languages.

use super::Lang;
use crate::lifecycle::status::Status;
use crate::provision::KeyType;

impl Status {
    /// The registration-info row's label: `未登録` / `Not registered`, or `利用中` /
    /// `In use`. A pending enrollment is still not registered (the manual has no third
    /// state); [`Status::Pending`] carries its expiry for the screen to show.
    pub fn label(&self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::Active { .. }, Lang::Ja) => "利用中",
            (Self::Active { .. }, Lang::En) => "In use",
            (Self::NotRegistered | Self::Pending { .. }, Lang::Ja) => "未登録",
            (Self::NotRegistered | Self::Pending { .. }, Lang::En) => "Not registered",
        }
    }

    /// Whether a login needs the one-time password screen after ID and password (the
    /// two-screen login): only while the service is in use, also when it is throttled or
    /// locked (the code screen then shows why). A pending enrollment does not.
    pub fn login_needs_code(&self) -> bool {
        matches!(self, Self::Active { .. })
    }
}

impl Status {
    /// The label the Japanese securities portal (examples/portal) shows for this status: `未登録` or `利用中`. A pending
    /// enrollment is still `未登録` (the manual has no third state).
    pub fn portal_label(&self) -> &'static str {
        self.label(Lang::Ja)
    }
}

impl KeyType {
    /// The label authenticator apps show for this kind of key: `"Time based"`.
    pub const fn label(self) -> &'static str {
        self.label_in(Lang::En)
    }

    /// The label for "キーの種類" in `lang`: `時間ベース` / `Time based`.
    pub const fn label_in(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::TimeBased, Lang::Ja) => "時間ベース",
            (Self::TimeBased, Lang::En) => "Time based",
        }
    }
}

impl core::fmt::Display for KeyType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.label())
    }
}
