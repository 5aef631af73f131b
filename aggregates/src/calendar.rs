//! France's calendar: dates and midnights in Paris time, which invoices, numbering years
//! and closures follow. Paris is UTC+1, UTC+2 from the last Sunday of March to the last
//! Sunday of October (01:00 UTC both), the EU rule since 1996.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};

/// The last `weekday` of `month` in `year`.
fn last_weekday(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .unwrap_or(NaiveDate::MIN);
    let mut day = next.pred_opt().unwrap_or(next);
    while day.weekday() != weekday {
        day = day.pred_opt().unwrap_or(day);
    }
    day
}

/// Paris's offset from UTC at `at`, in hours: 2 from the last Sunday of March to the last
/// Sunday of October (01:00 UTC both), else 1 (the EU rule since 1996).
pub fn paris_offset(at: DateTime<Utc>) -> i64 {
    let year = at.year();
    let at_one =
        |day: NaiveDate| Utc.from_utc_datetime(&day.and_hms_opt(1, 0, 0).unwrap_or_default());
    let summer = at_one(last_weekday(year, 3, Weekday::Sun));
    let winter = at_one(last_weekday(year, 10, Weekday::Sun));
    if at >= summer && at < winter {
        2
    } else {
        1
    }
}

/// The calendar day in Paris at `at`.
pub fn paris_day(at: DateTime<Utc>) -> NaiveDate {
    (at + chrono::Duration::hours(paris_offset(at))).date_naive()
}

/// The instant `day` starts in Paris.
pub fn paris_midnight(day: NaiveDate) -> DateTime<Utc> {
    let naive = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default());
    // The offset in force just before midnight local time is the one of midnight itself:
    // changes happen at 01:00 UTC, never around midnight.
    naive - chrono::Duration::hours(paris_offset(naive - chrono::Duration::hours(2)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn paris_days_follow_summer_time() {
        // 2026: summer time from 29 March to 25 October.
        assert_eq!(paris_offset(utc("2026-03-29T00:59:59Z")), 1);
        assert_eq!(paris_offset(utc("2026-03-29T01:00:00Z")), 2);
        assert_eq!(paris_offset(utc("2026-10-25T00:59:59Z")), 2);
        assert_eq!(paris_offset(utc("2026-10-25T01:00:00Z")), 1);
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            paris_midnight(day("2026-11-23")),
            utc("2026-11-22T23:00:00Z")
        );
        assert_eq!(
            paris_midnight(day("2026-07-14")),
            utc("2026-07-13T22:00:00Z")
        );
        // The day clocks go forward is 23 hours long, the day they go back 25.
        let length = |s: &str| {
            let d = day(s);
            (paris_midnight(d.succ_opt().unwrap()) - paris_midnight(d)).num_hours()
        };
        assert_eq!(length("2026-03-29"), 23);
        assert_eq!(length("2026-10-25"), 25);
        assert_eq!(length("2026-11-23"), 24);
        assert_eq!(paris_day(utc("2026-12-31T23:30:00Z")), day("2027-01-01"));
        assert_eq!(paris_day(utc("2026-07-14T21:59:00Z")), day("2026-07-14"));
    }
}
