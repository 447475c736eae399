//! Line-based reading of the small comma-separated files the facility models take (weather, carbon
//! intensity). Every record of these formats is one line, so the line an error names is simply the
//! 1-based line of the file as an editor shows it (`\n` or `\r\n` line ends). Cells are trimmed; a cell in
//! double quotes (TMY3 and EPW station names) may contain commas, and its quotes are removed. A quoted
//! cell spanning lines is not supported (none of these formats has one).

use std::path::Path;

use crate::error::{InputError, Location};

/// Reads `path` as UTF-8 text. A missing file is a file error; invalid UTF-8 an error at its line and
/// column ([`crate::utf8`]).
pub(crate) fn read_text(path: &Path, what: &str) -> Result<String, InputError> {
    let bytes = std::fs::read(path)
        .map_err(|e| InputError::file(path, format!("cannot open the {what}: {e}")))?;
    crate::utf8::into_text(path, what, bytes)
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

/// How a cell is quoted in messages: "`abc`", or "an empty cell"; a long cell is cut
/// ([`crate::echo::quoted_escaped`]).
pub(crate) fn found(cell: &str) -> String {
    if cell.is_empty() {
        return "an empty cell".to_string();
    }
    crate::echo::quoted_escaped(cell)
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

/// Reads the header line of a CSV (`what`, e.g. "carbon-intensity CSV") that must name `names`: their column
/// indices and the header's width. An empty file is an error naming the header expected.
pub(crate) fn header_columns<const N: usize>(
    path: &Path,
    lines: &mut Lines<'_>,
    names: [&str; N],
    what: &str,
) -> Result<([usize; N], usize), InputError> {
    let Some((lh, head)) = lines.next_nonblank() else {
        return Err(InputError::file(
            path,
            format!(
                "the {what} is empty: expected a header `{}`",
                names.join(",")
            ),
        ));
    };
    let mut header = Vec::new();
    split_into(head, &mut header);
    let idx = columns(path, lh, &header, names, what)?;
    Ok((idx, header.len()))
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
