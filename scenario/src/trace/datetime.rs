//! Calendar date-times as the Azure, Philly and Helios traces write them (`2023-11-16 18:17:03.9799600`),
//! parsed into exact integer nanoseconds: no floating point, no time zones. The shape is checked here (byte
//! by byte, for messages that say what is wrong); the fields and the calendar go through
//! [`civil_instant_ns`] (the `jiff` crate), as the facility readers' dates do.
//!
//! The accepted text is `YYYY-MM-DD HH:MM:SS`, optionally followed by `.` and 1 to 9 digits of a
//! fraction of a second. Dates are in the proleptic Gregorian calendar (years 0000–9999); the time has no
//! zone (traces record local or UTC wall-clock time, and only differences are used) and no leap second
//! (`:60` is refused). Instants are nanoseconds since 1970-01-01 00:00:00 as an `i128`, so any two of them
//! subtract exactly.

use models::facility::calendar::{CivilError, civil_instant_ns};

use super::table::found;

/// What a date-time cell must look like, for messages.
pub(crate) const EXPECTED: &str = "a date and time `YYYY-MM-DD HH:MM:SS`, optionally with 1 to 9 \
                                   fractional digits of a second (`2023-11-16 18:17:03.9799600`)";

const MONTHS: [&str; 12] = [
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

/// The value of the ASCII digits `s` (all of them must be digits; at most 9 so it fits).
fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |v, &b| v * 10 + u32::from(b - b'0')))
}

/// Parses a trimmed cell into nanoseconds since 1970-01-01 00:00:00. The error is a whole message:
/// "expected a date and time …, found `…`", with the reason when the shape is right but a field is out
/// of range ("month 13 does not exist").
pub(crate) fn parse(raw: &[u8]) -> Result<i128, String> {
    let shape = || format!("expected {EXPECTED}, found {}", found(raw));
    let range = |why: String| format!("expected {EXPECTED}, found {}: {why}", found(raw));
    if raw.len() < 19 {
        return Err(shape());
    }
    let (main, frac) = raw.split_at(19);
    if main[4] != b'-'
        || main[7] != b'-'
        || main[10] != b' '
        || main[13] != b':'
        || main[16] != b':'
    {
        return Err(shape());
    }
    let field = |a: usize, b: usize| digits(&main[a..b]);
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        field(0, 4),
        field(5, 7),
        field(8, 10),
        field(11, 13),
        field(14, 16),
        field(17, 19),
    ) else {
        return Err(shape());
    };
    let nanos = match frac {
        [] => 0,
        [b'.', rest @ ..] if rest.len() > 9 && rest.iter().all(u8::is_ascii_digit) => {
            return Err(range(format!(
                "{} fractional digits, but at most 9 (nanoseconds) are exact",
                rest.len()
            )));
        }
        [b'.', rest @ ..] => match digits(rest) {
            Some(v) => v * 10u32.pow(9 - rest.len() as u32),
            None => return Err(shape()),
        },
        _ => return Err(shape()),
    };
    civil_instant_ns(year, month, day, (hour, minute, second), nanos).map_err(|e| {
        range(match e {
            CivilError::Month(m) => format!("month {m:02} does not exist"),
            CivilError::Day { day, last } => format!(
                "{} {year:04} has days 01 to {last}, not {day:02}",
                MONTHS[month as usize - 1]
            ),
            CivilError::Hour(h) => format!("hour {h:02} is past 23"),
            CivilError::Minute(m) => format!("minute {m:02} is past 59"),
            CivilError::Second(s) => {
                format!("second {s:02} is past 59 (leap seconds are not supported)")
            }
        })
    })
}

/// `t − origin` in nanoseconds when it is a valid simulated time (0 to `u64::MAX`, about 584 years).
pub(crate) fn since(t: i128, origin: i128) -> Option<u64> {
    u64::try_from(t - origin).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::facility::calendar::days_from_civil;

    fn p(s: &str) -> Result<i128, String> {
        parse(s.as_bytes())
    }

    const DAY_NS: i128 = 86_400 * 1_000_000_000;

    #[test]
    fn parse_exact_nanoseconds() {
        assert_eq!(p("1970-01-01 00:00:00"), Ok(0));
        assert_eq!(p("1970-01-01 00:00:01.5"), Ok(1_500_000_000));
        assert_eq!(p("1970-01-01 00:00:00.000000001"), Ok(1));
        assert_eq!(p("1969-12-31 23:59:59.9"), Ok(-100_000_000));
        assert_eq!(
            p("2023-11-16 18:17:03.9799600"),
            Ok(19_677 * DAY_NS + ((18 * 3600 + 17 * 60 + 3) * 1_000_000_000 + 979_960_000))
        );
        assert_eq!(
            p("2000-02-29 12:00:00"),
            Ok(i128::from(days_from_civil(2000, 2, 29)) * DAY_NS + 12 * 3600 * 1_000_000_000)
        );
        assert_eq!(
            p("2023-12-31 23:59:59.999999999").unwrap() + 1,
            p("2024-01-01 00:00:00").unwrap()
        );
        assert_eq!(
            since(
                p("2017-10-03 07:03:52").unwrap(),
                p("2017-10-03 07:03:51").unwrap()
            ),
            Some(1_000_000_000)
        );
        assert_eq!(since(0, 1), None);
        assert_eq!(since(i128::from(u64::MAX) + 1, 0), None);
    }

    #[test]
    fn parse_rejects_bad_shapes() {
        for bad in [
            "",
            "2023-11-16",
            "2023-11-16T18:17:03",
            "2023/11/16 18:17:03",
            "2023-11-16 18:17:3",
            "23-11-16 18:17:03.0",
            "2023-11-16 18:17:03.",
            "2023-11-16 18:17:03,5",
            "2023-11-16 18:17:03.5x",
            "2023-11-16 18:17:03 ",
            "2023-1a-16 18:17:03",
            "+023-11-16 18:17:03",
            "2023-11-16 18:17:-3",
            "None",
            "2023-11-16 18:17:03.+5",
        ] {
            let err = p(bad).unwrap_err();
            assert!(
                err.starts_with("expected a date and time `YYYY-MM-DD HH:MM:SS`"),
                "{bad}: {err}"
            );
            assert!(err.contains(&found(bad.as_bytes())), "{bad}: {err}");
        }
    }

    #[test]
    fn parse_rejects_impossible_dates_and_times() {
        let cases = [
            ("2023-13-01 00:00:00", "month 13 does not exist"),
            ("2023-00-01 00:00:00", "month 00 does not exist"),
            (
                "2023-02-29 00:00:00",
                "February 2023 has days 01 to 28, not 29",
            ),
            (
                "2024-02-30 00:00:00",
                "February 2024 has days 01 to 29, not 30",
            ),
            (
                "1900-02-29 00:00:00",
                "February 1900 has days 01 to 28, not 29",
            ),
            (
                "2023-04-31 00:00:00",
                "April 2023 has days 01 to 30, not 31",
            ),
            (
                "2023-01-00 00:00:00",
                "January 2023 has days 01 to 31, not 00",
            ),
            ("2023-11-16 24:00:00", "hour 24 is past 23"),
            ("2023-11-16 23:60:00", "minute 60 is past 59"),
            (
                "2016-12-31 23:59:60",
                "second 60 is past 59 (leap seconds are not supported)",
            ),
            (
                "2023-11-16 18:17:03.1234567891",
                "10 fractional digits, but at most 9",
            ),
        ];
        for (bad, why) in cases {
            let err = p(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
            assert!(err.contains(&format!("`{bad}`")), "{bad}: {err}");
        }
        // Leap days that exist.
        assert!(p("2024-02-29 00:00:00").is_ok());
        assert!(p("2000-02-29 00:00:00").is_ok());
    }
}
