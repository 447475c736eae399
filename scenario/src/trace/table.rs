//! Shared CSV plumbing for the trace readers: mapping header names to columns, exact line numbers for errors,
//! typed cells and uniform error messages.
//!
//! Rows are read into one reused [`ByteRecord`]; cells are trimmed and parsed in place, so the only per-row
//! allocations are the strings a [`models::workload::JobSpec`] keeps (names, GPU models).
//!
//! Line numbers: csv's own `Position::line()` is the line *after* the previous record, which is wrong for CRLF
//! files and after blank lines. Errors are rare, so on an error the reader recounts the newlines up to the
//! record's byte offset (rereading the file if needed), skips the blank-line bytes before the record, and adds
//! the newlines inside the quoted fields before the offending cell. The result is the line a person sees in
//! an editor: the header is line 1 of a file without leading blank lines.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::num::IntErrorKind;
use std::path::Path;

use csv::{ByteRecord, Position, Reader, ReaderBuilder};

use crate::error::{InputError, Location};
use crate::utf8::{CheckedReader, Utf8Problem};

/// One column a trace format accepts.
pub(crate) struct Column {
    pub name: &'static str,
    pub required: bool,
}

/// A required column.
pub(crate) const fn req(name: &'static str) -> Column {
    Column {
        name,
        required: true,
    }
}

/// An optional column.
pub(crate) const fn opt(name: &'static str) -> Column {
    Column {
        name,
        required: false,
    }
}

/// A CSV trace format: its accepted columns (any order) and words for messages.
pub(crate) struct Format {
    /// What the file is, for messages ("native job trace").
    pub what: &'static str,
    /// What one row is ("job", "pod", "node").
    pub row: &'static str,
    pub columns: &'static [Column],
    /// Appended to the "missing required columns" message.
    pub missing_note: &'static str,
}

/// A CSV file being read row by row against a [`Format`].
pub(crate) struct Table<'a, R> {
    rdr: Reader<R>,
    path: &'a Path,
    /// The whole input when it is in memory; `None` means reread `path` to count lines.
    bytes: Option<&'a [u8]>,
    format: &'static Format,
    /// For each column of `format.columns`, its index in the records (`None` if the file lacks it).
    index: Vec<Option<usize>>,
    width: usize,
    rec: ByteRecord,
    rows: usize,
}

/// How a cell is quoted in messages: "`abc`", or "an empty cell"; a long cell is cut
/// ([`crate::echo::quoted_escaped`]).
pub(crate) fn found(cell: &[u8]) -> String {
    if cell.is_empty() {
        return "an empty cell".to_string();
    }
    crate::echo::quoted_escaped(&String::from_utf8_lossy(cell))
}

impl<'a> Table<'a, CheckedReader<File>> {
    /// Opens `path` and reads its header. A missing or unreadable file is a `Location::File` error;
    /// invalid UTF-8 an error at the line and column of its first bad byte ([`crate::utf8`]).
    pub(crate) fn open_file(path: &'a Path, format: &'static Format) -> Result<Self, InputError> {
        let file = File::open(path)
            .map_err(|e| InputError::file(path, format!("cannot open the {}: {e}", format.what)))?;
        Table::new(CheckedReader::new(file), path, None, format)
    }
}

impl<'a> Table<'a, CheckedReader<&'a [u8]>> {
    /// Reads a trace held in memory; `path` names it in errors.
    pub(crate) fn open_bytes(
        data: &'a [u8],
        path: &'a Path,
        format: &'static Format,
    ) -> Result<Self, InputError> {
        Table::new(CheckedReader::new(data), path, Some(data), format)
    }
}

impl<'a, R: Read> Table<'a, R> {
    fn new(
        input: R,
        path: &'a Path,
        bytes: Option<&'a [u8]>,
        format: &'static Format,
    ) -> Result<Self, InputError> {
        let rdr = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(input);
        let mut t = Table {
            rdr,
            path,
            bytes,
            format,
            index: vec![None; format.columns.len()],
            width: 0,
            rec: ByteRecord::new(),
            rows: 0,
        };
        if !t.read_record()? {
            return Err(InputError::file(
                path,
                format!(
                    "the file is empty: expected a header line naming the columns ({})",
                    t.accepted()
                ),
            ));
        }
        t.map_header()?;
        Ok(t)
    }

    /// The accepted columns, for messages: "`a`, `b` (required); `c` (optional)".
    fn accepted(&self) -> String {
        let list = |required: bool| {
            self.format
                .columns
                .iter()
                .filter(|c| c.required == required)
                .map(|c| format!("`{}`", c.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (r, o) = (list(true), list(false));
        if o.is_empty() {
            format!("{r} (all required)")
        } else {
            format!("{r} (required); {o} (optional)")
        }
    }

    /// Maps the header in `self.rec` to the format's columns.
    fn map_header(&mut self) -> Result<(), InputError> {
        self.width = self.rec.len();
        for i in 0..self.width {
            let raw = self.rec.get(i).unwrap_or_default().trim_ascii();
            let Ok(name) = std::str::from_utf8(raw) else {
                return Err(self.line_error(
                    self.record_line(),
                    format!("header column {} is not valid UTF-8", i + 1),
                ));
            };
            if name.is_empty() {
                return Err(self.line_error(
                    self.field_line(i),
                    format!(
                        "header column {} has no name; accepted columns: {}",
                        i + 1,
                        self.accepted()
                    ),
                ));
            }
            let Some(col) = self.format.columns.iter().position(|c| c.name == name) else {
                let hint = self
                    .format
                    .columns
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(name))
                    .map(|c| format!(" (did you mean `{}`?)", c.name))
                    .unwrap_or_default();
                return Err(InputError::line_field(
                    self.path,
                    self.field_line(i),
                    name,
                    format!(
                        "unknown column `{name}`{hint} in the header of a {}; accepted columns: {}",
                        self.format.what,
                        self.accepted()
                    ),
                ));
            };
            if let Some(first) = self.index[col] {
                return Err(InputError::line_field(
                    self.path,
                    self.field_line(i),
                    name,
                    format!(
                        "column `{name}` appears twice in the header (columns {} and {})",
                        first + 1,
                        i + 1
                    ),
                ));
            }
            self.index[col] = Some(i);
        }
        let missing: Vec<String> = self
            .format
            .columns
            .iter()
            .zip(&self.index)
            .filter(|(c, i)| c.required && i.is_none())
            .map(|(c, _)| format!("`{}`", c.name))
            .collect();
        if !missing.is_empty() {
            return Err(self.line_error(
                self.record_line(),
                format!(
                    "the header lacks required column{} {} of a {}; accepted columns: {}{}",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", "),
                    self.format.what,
                    self.accepted(),
                    self.format.missing_note
                ),
            ));
        }
        Ok(())
    }

    /// Reads the next record into `self.rec`; `Ok(false)` at the end of the input.
    fn read_record(&mut self) -> Result<bool, InputError> {
        self.rdr.read_byte_record(&mut self.rec).map_err(|e| {
            if let csv::ErrorKind::Io(io) = e.kind()
                && let Some(p) = Utf8Problem::of_io(io)
            {
                return p.into_input_error(self.path, self.format.what);
            }
            let msg = match e.kind() {
                csv::ErrorKind::Io(io) => format!("cannot read the {}: {io}", self.format.what),
                _ => format!("cannot read the {}: {e}", self.format.what),
            };
            InputError::file(self.path, msg)
        })
    }

    /// Advances to the next data row; `Ok(false)` after the last one. A header with no rows, or a row whose
    /// field count differs from the header's, is an error. Lines of only spaces or tabs are skipped like
    /// empty lines.
    pub(crate) fn next_row(&mut self) -> Result<bool, InputError> {
        loop {
            if !self.read_record()? {
                if self.rows == 0 {
                    return Err(InputError::file(
                        self.path,
                        format!(
                            "the {} has a header but no {}s: expected at least one row after the header",
                            self.format.what, self.format.row
                        ),
                    ));
                }
                return Ok(false);
            }
            if self.rec.len() == 1
                && self.width > 1
                && self.rec.get(0).unwrap_or_default().trim_ascii().is_empty()
            {
                continue;
            }
            self.rows += 1;
            if self.rec.len() != self.width {
                return Err(self.line_error(
                    self.record_line(),
                    format!(
                        "expected {} fields as in the header, found {}",
                        self.width,
                        self.rec.len()
                    ),
                ));
            }
            return Ok(true);
        }
    }

    /// The position of the current row (to name a previous row's line in a later error).
    pub(crate) fn position(&self) -> Option<Position> {
        self.rec.position().cloned()
    }

    /// The line a row at `pos` starts on.
    pub(crate) fn line_of(&self, pos: Option<&Position>) -> usize {
        let Some(pos) = pos else { return 0 };
        let counted = match self.bytes {
            Some(b) => count_line(b, pos.byte()),
            None => File::open(self.path).and_then(|f| count_line(BufReader::new(f), pos.byte())),
        };
        // The file vanished between reading and reporting: fall back to csv's approximate line.
        counted.unwrap_or(pos.line() as usize)
    }

    /// The line the current record starts on.
    fn record_line(&self) -> usize {
        self.line_of(self.rec.position())
    }

    /// The line field `i` of the current record starts on (fields before it may span lines when quoted).
    fn field_line(&self, i: usize) -> usize {
        let inner: usize = self.rec.iter().take(i).map(breaks_in).sum();
        self.record_line() + inner
    }

    fn line_error(&self, line: usize, msg: String) -> InputError {
        InputError::new(self.path, Location::Line(line), msg)
    }

    /// An error at the current row's cell of column `col`.
    pub(crate) fn err(&self, col: usize, msg: impl Into<String>) -> InputError {
        let line = match self.index[col] {
            Some(i) => self.field_line(i),
            None => self.record_line(),
        };
        InputError::line_field(self.path, line, self.format.columns[col].name, msg)
    }

    /// The trimmed cell of column `col` in the current row; empty when the file lacks the column.
    pub(crate) fn raw(&self, col: usize) -> &[u8] {
        match self.index[col] {
            Some(i) => self.rec.get(i).unwrap_or_default().trim_ascii(),
            None => b"",
        }
    }

    /// The cell as text; `None` when empty or absent.
    pub(crate) fn text(&self, col: usize) -> Result<Option<&str>, InputError> {
        let raw = self.raw(col);
        if raw.is_empty() {
            return Ok(None);
        }
        std::str::from_utf8(raw)
            .map(Some)
            .map_err(|_| self.err(col, format!("expected UTF-8 text, found {}", found(raw))))
    }

    /// The cell as a non-negative integer no larger than `max`; `None` when empty or absent.
    pub(crate) fn uint(&self, col: usize, max: u64) -> Result<Option<u64>, InputError> {
        self.uint_of(col, max, "a non-negative integer")
    }

    /// [`Table::uint`] naming what the integer is in errors (`what`: "a non-negative integer").
    pub(crate) fn uint_of(
        &self,
        col: usize,
        max: u64,
        what: &str,
    ) -> Result<Option<u64>, InputError> {
        let raw = self.raw(col);
        if raw.is_empty() {
            return Ok(None);
        }
        let too_large = || {
            self.err(
                col,
                format!("expected {what} of at most {max}, found {}", found(raw)),
            )
        };
        match std::str::from_utf8(raw).map(str::parse::<u64>) {
            Ok(Ok(v)) if v <= max => Ok(Some(v)),
            Ok(Ok(_)) => Err(too_large()),
            Ok(Err(e)) if *e.kind() == IntErrorKind::PosOverflow => Err(too_large()),
            _ => Err(self.err(col, format!("expected {what}, found {}", found(raw)))),
        }
    }

    /// [`Table::uint`] for a cell that must not be empty.
    pub(crate) fn req_uint(&self, col: usize, max: u64) -> Result<u64, InputError> {
        self.uint(col, max)?
            .ok_or_else(|| self.err(col, "expected a non-negative integer, found an empty cell"))
    }

    /// A required cell of seconds as a finite, non-negative `f64`.
    pub(crate) fn req_secs_f64(&self, col: usize) -> Result<f64, InputError> {
        let raw = self.raw(col);
        let expected = "expected a non-negative number of seconds";
        let v = std::str::from_utf8(raw)
            .ok()
            .filter(|s| !s.is_empty())
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or_else(|| self.err(col, format!("{expected}, found {}", found(raw))))?;
        if !v.is_finite() {
            return Err(self.err(col, format!("{expected} (finite), found {}", found(raw))));
        }
        if v < 0.0 {
            return Err(self.err(col, format!("{expected}, found {}", found(raw))));
        }
        Ok(v)
    }

    /// A `|`-separated list of GPU model names (`V100M16|V100M32`); empty cell or absent column: no list.
    pub(crate) fn model_list(&self, col: usize) -> Result<Vec<String>, InputError> {
        let Some(text) = self.text(col)? else {
            return Ok(Vec::new());
        };
        let mut models = Vec::new();
        for m in text.split('|') {
            let m = m.trim();
            if m.is_empty() {
                return Err(self.err(
                    col,
                    format!(
                        "expected GPU model names separated by `|`, found an empty name in {}",
                        found(text.as_bytes())
                    ),
                ));
            }
            models.push(m.to_string());
        }
        Ok(models)
    }
}

/// Counts line breaks as an editor does: `\n`, `\r\n` and a lone `\r` each end one line.
#[derive(Default)]
struct LineBreaks {
    count: usize,
    after_cr: bool,
}

impl LineBreaks {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            // A `\n` ends a line (with or without a `\r` before it); a `\r` followed by anything else
            // ended one by itself.
            if b == b'\n' || self.after_cr {
                self.count += 1;
            }
            self.after_cr = b == b'\r';
        }
    }

    /// The breaks fed so far, counting a final `\r`.
    fn total(&self) -> usize {
        self.count + self.after_cr as usize
    }
}

/// The line breaks inside a cell (a quoted cell may span lines).
fn breaks_in(cell: &[u8]) -> usize {
    let mut b = LineBreaks::default();
    b.feed(cell);
    b.total()
}

/// The 1-based line on which a record starting at byte `offset` begins: one plus the line breaks before
/// `offset`, plus those of the blank lines (and the `\n` of a CRLF) csv skipped before the record.
fn count_line<B: BufRead>(mut r: B, offset: u64) -> io::Result<usize> {
    let mut breaks = LineBreaks::default();
    let mut remaining = offset;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(1 + breaks.total());
        }
        if remaining > 0 {
            let n = (buf.len() as u64).min(remaining) as usize;
            breaks.feed(&buf[..n]);
            remaining -= n as u64;
            r.consume(n);
            continue;
        }
        let n = buf
            .iter()
            .position(|&b| b != b'\n' && b != b'\r')
            .unwrap_or(buf.len());
        breaks.feed(&buf[..n]);
        let done = n < buf.len();
        r.consume(n);
        if done {
            return Ok(1 + breaks.total());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_line_skips_blank_lines_and_crlf() {
        assert_eq!(count_line(&b"h\na\n"[..], 0).unwrap(), 1);
        assert_eq!(count_line(&b"h\na\n"[..], 2).unwrap(), 2);
        // CRLF: csv stops after `\r`, so the record offset points at the `\n`.
        assert_eq!(count_line(&b"h\r\na\r\n"[..], 2).unwrap(), 2);
        assert_eq!(count_line(&b"h\n\n\r\n\na"[..], 2).unwrap(), 5);
        assert_eq!(count_line(&b"h\n"[..], 2).unwrap(), 2);
        // Old Mac line ends: a lone `\r` ends a line too.
        assert_eq!(count_line(&b"h\ra\rb"[..], 4).unwrap(), 3);
        assert_eq!(count_line(&b"h\r\r\rb"[..], 2).unwrap(), 4);
        assert_eq!(breaks_in(b"a\r\nb\nc\rd\r"), 4);
    }

    #[test]
    fn found_quotes_and_truncates() {
        assert_eq!(found(b""), "an empty cell");
        assert_eq!(found(b"abc"), "`abc`");
        assert_eq!(found(&[b'x'; 50]), format!("`{}`", "x".repeat(50)));
        assert_eq!(
            found(&[b'x'; 500]),
            format!("`{}…` (500 chars)", "x".repeat(80))
        );
        assert_eq!(found(b"a\nb"), "`a\\nb`");
    }
}
