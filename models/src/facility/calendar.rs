//! Calendar arithmetic for the date-times facility inputs carry (`YYYY-MM-DD HH:MM:SS`): days from the
//! civil date, month lengths and the parser a carbon series' start is checked with.

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = (if y >= 0 { y } else { y - 399 }) / 400;
    let yoe = y - era * 400;
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days in `month` (1–12); February has 29 in a leap `year`.
pub const fn days_in_month(year: i64, month: u32) -> u32 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
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
}
