//! Line-based reading of the small comma-separated files the facility models take (weather, carbon
//! intensity). Every record of these formats is one line, so the line an error names is simply the
//! 1-based line of the file as an editor shows it (`\n` or `\r\n` line ends). Cells are trimmed; a cell in
//! double quotes (TMY3 and EPW station names) may contain commas, and its quotes are removed. A quoted
//! cell spanning lines is not supported (none of these formats has one).

use std::path::Path;

use crate::error::{InputError, Location};

/// Reads `path` as UTF-8 text. A missing file is a file error; invalid UTF-8 an error at its line.
pub(crate) fn read_text(path: &Path, what: &str) -> Result<String, InputError> {
    let bytes = std::fs::read(path)
        .map_err(|e| InputError::file(path, format!("cannot open the {what}: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let upto = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..upto].iter().filter(|&&b| b == b'\n').count();
        InputError::new(
            path,
            Location::Line(line),
            format!("the {what} is not valid UTF-8 text"),
        )
    })
}

/// The lines of a text with their 1-based numbers; line ends (`\n`, `\r\n`) removed.
pub(crate) struct Lines<'a> {
    rest: &'a str,
    line: usize,
    done: bool,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Lines {
            rest: text,
            line: 0,
            done: false,
        }
    }

    /// The next line that is not blank (only spaces or tabs), with its number.
    pub(crate) fn next_nonblank(&mut self) -> Option<(usize, &'a str)> {
        self.by_ref().find(|(_, l)| !l.trim().is_empty())
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a str);
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.line += 1;
        let (line, rest) = match self.rest.find('\n') {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => {
                self.done = true;
                if self.rest.is_empty() {
                    return None;
                }
                (self.rest, "")
            }
        };
        self.rest = rest;
        Some((self.line, line.strip_suffix('\r').unwrap_or(line)))
    }
}

/// Splits `line` at commas into `out` (cleared first), trimming cells and removing the double quotes
/// around a quoted cell. Allocation-free once `out` has grown to the row width.
pub(crate) fn split_into<'a>(line: &'a str, out: &mut Vec<&'a str>) {
    out.clear();
    let bytes = line.as_bytes();
    let mut start = 0;
    let mut in_quotes = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b',' if !in_quotes => {
                out.push(cell(&line[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(cell(&line[start..]));
}

fn cell(raw: &str) -> &str {
    let t = raw.trim();
    t.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .map(str::trim)
        .unwrap_or(t)
}

/// How a cell is quoted in messages: "`abc`", or "an empty cell".
pub(crate) fn found(cell: &str) -> String {
    if cell.is_empty() {
        return "an empty cell".to_string();
    }
    let mut chars = cell.chars();
    let excerpt: String = chars.by_ref().take(40).collect();
    let more = if chars.next().is_some() { "…" } else { "" };
    format!("`{}{more}`", excerpt.escape_debug())
}

/// A finite decimal number, or an error at (`line`, `column`).
pub(crate) fn number(
    path: &Path,
    line: usize,
    column: &str,
    cell: &str,
) -> Result<f64, InputError> {
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(InputError::line_field(
            path,
            line,
            column,
            format!("expected a finite number, found {}", found(cell)),
        )),
    }
}

/// The indices of `names` in a header row; a missing name is an error at the header line listing them.
pub(crate) fn columns<const N: usize>(
    path: &Path,
    line: usize,
    header: &[&str],
    names: [&str; N],
    what: &str,
) -> Result<[usize; N], InputError> {
    let mut idx = [0; N];
    let mut missing = Vec::new();
    for (k, name) in names.iter().enumerate() {
        match header.iter().position(|h| h == name) {
            Some(i) => idx[k] = i,
            None => missing.push(format!("`{name}`")),
        }
    }
    if missing.is_empty() {
        Ok(idx)
    } else {
        Err(InputError::new(
            path,
            Location::Line(line),
            format!(
                "the header of the {what} lacks column{} {}",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            ),
        ))
    }
}

/// A row whose field count differs from the header's.
pub(crate) fn width_error(path: &Path, line: usize, expected: usize, got: usize) -> InputError {
    InputError::new(
        path,
        Location::Line(line),
        format!("expected {expected} comma-separated fields, found {got}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_number_and_strip_line_ends() {
        let v: Vec<_> = Lines::new("a\r\nb\n\nc").collect();
        assert_eq!(v, vec![(1, "a"), (2, "b"), (3, ""), (4, "c")]);
        let v: Vec<_> = Lines::new("a\n").collect();
        assert_eq!(v, vec![(1, "a")]);
        assert_eq!(Lines::new("").count(), 0);
    }

    #[test]
    fn split_handles_quotes_and_spaces() {
        let mut out = Vec::new();
        split_into(r#"723170,"GREENSBORO, NC" , -5.0,"#, &mut out);
        assert_eq!(out, vec!["723170", "GREENSBORO, NC", "-5.0", ""]);
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub(crate) const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = (if y >= 0 { y } else { y - 399 }) / 400;
    let yoe = y - era * 400;
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days in `month` (1–12); February has 29 in a leap `year`.
pub(crate) const fn days_in_month(year: i64, month: u32) -> u32 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// What [`parse_datetime`] accepts, for messages.
pub(crate) const DATETIME: &str =
    "a date and time `YYYY-MM-DD HH:MM:SS` (or ISO 8601 `YYYY-MM-DDTHH:MM:SSZ`)";

/// Seconds since 1970-01-01 00:00:00 of `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS[Z]` (no other
/// zone; the wall-clock time is taken as written). `None` when the shape or a field is wrong.
pub(crate) fn parse_datetime(s: &str) -> Option<i64> {
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
