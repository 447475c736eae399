//! Calendar arithmetic in the proleptic Gregorian calendar (for the date-times of facility inputs,
//! `YYYY-MM-DD HH:MM:SS`, and of job and request traces): the checks of a civil date-time's fields and its
//! instant, both through the `jiff` crate, and the parser a carbon series' start is checked with. The
//! trace reader (`scenario::trace::datetime`) parses its own shape and shares [`civil_instant_ns`].

use jiff::civil::Date;

/// Days from 1970-01-01 to `year-month-day` in the proleptic Gregorian calendar (negative before 1970).
/// `month` is 1–12, `day` 1–31 and `year` 0–9999; the date must exist (callers check with
/// [`days_in_month`]).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let date =
        Date::new(year as i16, month as i8, day as i8).expect("callers pass an existing date");
    date.duration_since(Date::constant(1970, 1, 1)).as_secs() / 86_400
}

/// Whether `year` (0–9999) is a Gregorian leap year.
pub fn is_leap(year: i64) -> bool {
    Date::constant(year as i16, 1, 1).in_leap_year()
}

/// Days in `month` (1–12) of `year` (0–9999); February has 29 in a leap year.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    Date::new(year as i16, month as i8, 1)
        .expect("callers pass a month 1-12 of a year 0-9999")
        .days_in_month() as u32
}

/// Why the fields of a civil date-time name no instant (for the readers' messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CivilError {
    /// The month is not 1–12.
    Month(u32),
    /// The day is not 1 to `last` of its month.
    Day { day: u32, last: u32 },
    /// The hour is past 23.
    Hour(u32),
    /// The minute is past 59.
    Minute(u32),
    /// The second is past 59 (no leap seconds).
    Second(u32),
}

/// Nanoseconds since 1970-01-01 00:00:00 of the wall-clock date-time with these fields (`year` 0–9999,
/// `nanos` below one second; no time zone), or which field names nothing.
pub fn civil_instant_ns(
    year: u32,
    month: u32,
    day: u32,
    hms: (u32, u32, u32),
    nanos: u32,
) -> Result<i128, CivilError> {
    let (hour, minute, second) = hms;
    let year = i64::from(year);
    if !(1..=12).contains(&month) {
        return Err(CivilError::Month(month));
    }
    let last = days_in_month(year, month);
    if day == 0 || day > last {
        return Err(CivilError::Day { day, last });
    }
    if hour > 23 {
        return Err(CivilError::Hour(hour));
    }
    if minute > 59 {
        return Err(CivilError::Minute(minute));
    }
    if second > 59 {
        return Err(CivilError::Second(second));
    }
    let secs = i128::from(days_from_civil(year, month, day)) * 86_400
        + i128::from(hour) * 3600
        + i128::from(minute) * 60
        + i128::from(second);
    Ok(secs * 1_000_000_000 + i128::from(nanos))
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
    let hms = (num(11..13)?, num(14..16)?, num(17..19)?);
    let ns = civil_instant_ns(y, mo, d, hms, 0).ok()?;
    Some((ns / 1_000_000_000) as i64)
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
