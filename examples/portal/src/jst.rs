//! Times as the customer reads them: Japan Standard Time (UTC+9, no daylight saving).

/// Seconds east of UTC.
const JST_OFFSET: i64 = 9 * 60 * 60;

/// `2025年11月25日 01:00（日本時間）`.
pub fn minutes(unix: u64) -> String {
    let (y, mo, d, h, mi, _) = civil(unix);
    format!("{y}年{mo}月{d}日 {h:02}:{mi:02}（日本時間）")
}

/// `2025年11月25日 01:00:30（日本時間）`, for throttling ("try again after").
pub fn seconds(unix: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix);
    format!("{y}年{mo}月{d}日 {h:02}:{mi:02}:{s:02}（日本時間）")
}

/// Year, month, day, hour, minute, second in JST (days-from-civil inverse, H. Hinnant).
fn civil(unix: u64) -> (i64, i64, i64, i64, i64, i64) {
    let t = i64::try_from(unix).unwrap_or(i64::MAX - JST_OFFSET) + JST_OFFSET;
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, secs / 3_600, secs % 3_600 / 60, secs % 60)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_is_nine_in_the_morning_in_tokyo() {
        assert_eq!(minutes(0), "1970年1月1日 09:00（日本時間）");
    }

    #[test]
    fn utc_afternoon_is_the_next_day_in_tokyo() {
        // 2025-11-24T16:00:30Z
        assert_eq!(
            seconds(1_764_000_030),
            "2025年11月25日 01:00:30（日本時間）"
        );
    }

    #[test]
    fn leap_day() {
        // 2024-02-29T00:00:00Z
        assert_eq!(minutes(1_709_164_800), "2024年2月29日 09:00（日本時間）");
    }
}
