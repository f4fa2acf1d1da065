//! Unix seconds as a civil date and time in a fixed UTC offset, for messages.

use super::Lang;

/// A fixed offset from UTC, between −18 and +18 hours, in whole minutes.
///
/// Portals serving one country use a constant such as [`UtcOffset::JST`]. (Zones with
/// daylight saving need the offset valid at the shown time; pass it per request.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UtcOffset {
    minutes: i16,
}

impl UtcOffset {
    /// Coordinated Universal Time.
    pub const UTC: Self = Self { minutes: 0 };
    /// Japan Standard Time, UTC+09:00 (no daylight saving).
    pub const JST: Self = Self { minutes: 9 * 60 };
    const MAX_MINUTES: i16 = 18 * 60;

    /// An offset of `minutes` east of UTC, or `None` beyond ±18 hours.
    pub const fn from_minutes(minutes: i16) -> Option<Self> {
        if minutes > Self::MAX_MINUTES || minutes < -Self::MAX_MINUTES {
            None
        } else {
            Some(Self { minutes })
        }
    }

    /// Minutes east of UTC.
    pub const fn minutes(self) -> i16 {
        self.minutes
    }
}

/// The last second of 9999-12-31 (UTC): later times are shown as that second.
const MAX_SHOWN_UNIX: u64 = 253_402_300_799;

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A civil date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u8,
    day: u8,
    hour: i64,
    minute: i64,
    second: i64,
}

/// `unix` in `offset`, e.g. `2025年12月1日 16:30:30（日本時間）` or
/// `1 December 2025, 16:30:30 JST` (`UTC+05:30` for other offsets).
pub(crate) fn format(unix: u64, offset: UtcOffset, lang: Lang) -> String {
    let c = civil(unix, offset);
    let zone = zone_name(offset, lang);
    match lang {
        Lang::Ja => format!(
            "{}年{}月{}日 {:02}:{:02}:{:02}（{zone}）",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        ),
        Lang::En => {
            let month = MONTHS_EN
                .get(usize::from(c.month.saturating_sub(1)))
                .copied()
                .unwrap_or("?");
            format!(
                "{} {month} {}, {:02}:{:02}:{:02} {zone}",
                c.day, c.year, c.hour, c.minute, c.second
            )
        }
    }
}

fn zone_name(offset: UtcOffset, lang: Lang) -> String {
    match (offset == UtcOffset::JST, lang) {
        (true, Lang::Ja) => "日本時間".to_owned(),
        (true, Lang::En) => "JST".to_owned(),
        (false, _) => {
            let sign = if offset.minutes < 0 { '-' } else { '+' };
            let minutes = offset.minutes.unsigned_abs();
            format!(
                "UTC{sign}{:02}:{:02}",
                minutes.checked_div(60).unwrap_or(0),
                minutes.checked_rem(60).unwrap_or(0)
            )
        }
    }
}

/// The civil date and time of `unix` seconds in `offset` (proleptic Gregorian calendar;
/// H. Hinnant's `civil_from_days`).
// Every quantity is bounded: `local` lies within ±1 day of [0, MAX_SHOWN_UNIX], so no
// operation below can overflow an i64, and every divisor is a non-zero constant.
#[allow(clippy::arithmetic_side_effects)]
fn civil(unix: u64, offset: UtcOffset) -> Civil {
    let unix = i64::try_from(unix.min(MAX_SHOWN_UNIX)).unwrap_or(0);
    let local = unix + i64::from(offset.minutes) * 60;
    let days = local.div_euclid(86_400);
    let seconds_of_day = local.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month: u8::try_from(month).unwrap_or(1),
        day: u8::try_from(day).unwrap_or(1),
        hour: seconds_of_day / 3600,
        minute: seconds_of_day % 3600 / 60,
        second: seconds_of_day % 60,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::arithmetic_side_effects)]
    use super::*;

    #[test]
    fn epoch_and_leap_days_are_civil_dates() {
        let c = civil(0, UtcOffset::UTC);
        assert_eq!((c.year, c.month, c.day, c.hour), (1970, 1, 1, 0));
        // 2024-02-29T23:59:59Z, a leap day.
        let c = civil(1_709_251_199, UtcOffset::UTC);
        assert_eq!((c.year, c.month, c.day), (2024, 2, 29));
        assert_eq!((c.hour, c.minute, c.second), (23, 59, 59));
        // 2000-03-01, after the 400-year leap day.
        let c = civil(951_868_800, UtcOffset::UTC);
        assert_eq!((c.year, c.month, c.day), (2000, 3, 1));
    }

    #[test]
    fn the_offset_moves_the_date() {
        // 2025-12-31T15:00:00Z is midnight on New Year's Day in Japan.
        let c = civil(1_767_193_200, UtcOffset::JST);
        assert_eq!((c.year, c.month, c.day, c.hour), (2026, 1, 1, 0));
        let west = UtcOffset::from_minutes(-5 * 60).map(|o| civil(0, o));
        assert_eq!(
            west.map(|c| (c.year, c.month, c.day, c.hour)),
            Some((1969, 12, 31, 19))
        );
    }

    #[test]
    fn times_beyond_year_9999_are_clamped_not_wrapped() {
        let c = civil(u64::MAX, UtcOffset::JST);
        assert_eq!((c.year, c.month, c.day), (10000, 1, 1));
        assert_eq!(
            format(u64::MAX, UtcOffset::UTC, Lang::Ja),
            "9999年12月31日 23:59:59（UTC+00:00）"
        );
    }

    #[test]
    fn offsets_beyond_18_hours_are_refused() {
        assert!(UtcOffset::from_minutes(18 * 60).is_some());
        assert!(UtcOffset::from_minutes(18 * 60 + 1).is_none());
        assert!(UtcOffset::from_minutes(-18 * 60 - 1).is_none());
        let india = UtcOffset::from_minutes(330).map(|o| format(0, o, Lang::En));
        assert_eq!(india.as_deref(), Some("1 January 1970, 05:30:00 UTC+05:30"));
    }

    #[test]
    fn every_day_of_four_centuries_round_trips_through_a_reference() {
        // Walk 146 097 days (a full Gregorian cycle) and check month/day continuity.
        let (mut year, mut month, mut day) = (1970i64, 1u8, 1u8);
        for n in 0..146_097u64 {
            let c = civil(n * 86_400, UtcOffset::UTC);
            assert_eq!((c.year, c.month, c.day), (year, month, day), "day {n}");
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            let len = match month {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            day += 1;
            if day > len {
                day = 1;
                month += 1;
                if month > 12 {
                    month = 1;
                    year += 1;
                }
            }
        }
    }
}
