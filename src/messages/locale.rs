//! [`Locale`]: the language and time zone a customer reads texts in.

use crate::messages::Lang;
use crate::messages::local_time::{self, UtcOffset};

/// A language and the time zone in which times are shown to the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Locale {
    pub(super) lang: Lang,
    pub(super) offset: UtcOffset,
}

impl Locale {
    /// Japanese, times in Japan Standard Time (the Japanese securities portal (examples/portal)).
    pub const JA_JST: Self = Self::new(Lang::Ja, UtcOffset::JST);
    /// English, times in Japan Standard Time.
    pub const EN_JST: Self = Self::new(Lang::En, UtcOffset::JST);
    /// English, times in UTC.
    pub const EN_UTC: Self = Self::new(Lang::En, UtcOffset::UTC);
    /// Japanese, times in UTC.
    pub const JA_UTC: Self = Self::new(Lang::Ja, UtcOffset::UTC);

    /// A language and a time zone.
    pub const fn new(lang: Lang, offset: UtcOffset) -> Self {
        Self { lang, offset }
    }

    /// The language.
    pub const fn lang(&self) -> Lang {
        self.lang
    }

    /// The time zone of shown times.
    pub const fn offset(&self) -> UtcOffset {
        self.offset
    }

    /// `unix` (seconds) as a local date and time with its zone, e.g.
    /// `2025年12月1日 16:30:30（日本時間）` or `1 December 2025, 16:30:30 JST`.
    pub fn time(&self, unix: u64) -> String {
        local_time::format(unix, self.offset, self.lang)
    }
}
