//! Calendar arithmetic in the proleptic Gregorian calendar: days from the civil date, leap years and month
//! lengths (for the date-times of facility inputs, `YYYY-MM-DD HH:MM:SS`, and of job and request traces),
//! and the parser a carbon series' start is checked with.

/// Days from 1970-01-01 to `year-month-day` in the proleptic Gregorian calendar (negative before 1970).
/// `month` is 1–12 and `day` 1–31; the date must exist (callers check with [`days_in_month`]).
///
/// Howard Hinnant's `days_from_civil`: years start on March 1 so that the leap day is the last day of the
/// shifted year; a 400-year era has 146,097 days.
pub const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = (if y >= 0 { y } else { y - 399 }) / 400;
    let yoe = y - era * 400; // [0, 399]
    let mp = (month as i64 + 9) % 12; // March = 0 … February = 11
    let doy = (153 * mp + 2) / 5 + day as i64 - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// Whether `year` is a Gregorian leap year.
pub const fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` (1–12); February has 29 in a leap `year`.
pub const fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// What [`parse_datetime`] accepts, for messages.
pub const DATETIME: &str =
    "a date and time `YYYY-MM-DD HH:MM:SS` (or ISO 8601 `YYYY-MM-DDTHH:MM:SSZ`)";

/// Seconds since 1970-01-01 00:00:00 of `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS[Z]` (no other
/// zone; the wall-clock time is taken as written). `None` when the shape or a field is wrong.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let b = b.strip_suffix(b"Z").unwrap_or(b);
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b' ' || b[10] == b'T')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = &b[r];
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| d.iter().fold(0, |v, &c| v * 10 + u32::from(c - b'0')))
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(i64::from(y), mo)
        || h > 23
        || mi > 59
        || sec > 59
    {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    Some(days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(sec))
}

#[cfg(test)]
mod datetime_tests {
    use super::*;

    #[test]
    fn datetimes() {
        assert_eq!(parse_datetime("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_datetime("2013-01-01T06:00:00Z"), Some(1_357_020_000));
        assert_eq!(parse_datetime("2020-02-29 23:30:00"), Some(1_583_019_000));
        assert_eq!(parse_datetime("2019-02-29 00:00:00"), None);
        assert_eq!(parse_datetime("2020-01-01 24:00:00"), None);
        assert_eq!(parse_datetime("2020-01-01"), None);
    }

    #[test]
    fn days_from_civil_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1970, 1, 2), 1);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        // 30 years of 365 days + 7 leap days (72, 76, 80, 84, 88, 92, 96) + Jan (31) + Feb 2000 (29).
        assert_eq!(days_from_civil(2000, 3, 1), 30 * 365 + 7 + 31 + 29);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            days_from_civil(2000, 2, 29) + 1,
            days_from_civil(2000, 3, 1)
        );
        // 1900 is not a leap year, 2000 is.
        assert_eq!(
            days_from_civil(1900, 3, 1) - days_from_civil(1900, 2, 28),
            1
        );
        assert_eq!(
            days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28),
            2
        );
        assert_eq!(
            days_from_civil(2024, 3, 1) - days_from_civil(2024, 2, 28),
            2
        );
        assert_eq!(
            days_from_civil(2023, 3, 1) - days_from_civil(2023, 2, 28),
            1
        );
        // 2023-11-16: 53 years × 365 + 13 leap days (1972 … 2020) + 319 days into 2023.
        assert_eq!(days_from_civil(2023, 11, 16), 53 * 365 + 13 + 319);
        assert_eq!(days_from_civil(2023, 11, 16), 19_677);
        assert_eq!(days_from_civil(2017, 10, 3), 17_442);
        assert_eq!(days_from_civil(0, 3, 1), -719_468);
        assert_eq!(days_from_civil(9999, 12, 31), 2_932_896);
        // Consecutive days across every month boundary of a leap and a common year.
        for year in [2023, 2024, 1900, 2000] {
            let mut expected = days_from_civil(year, 1, 1);
            for month in 1..=12 {
                for day in 1..=days_in_month(year, month) {
                    assert_eq!(days_from_civil(year, month, day), expected);
                    expected += 1;
                }
            }
            let len = if is_leap(year) { 366 } else { 365 };
            assert_eq!(
                days_from_civil(year + 1, 1, 1) - days_from_civil(year, 1, 1),
                len
            );
        }
    }
}
