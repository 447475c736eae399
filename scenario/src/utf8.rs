//! Every text input — scenarios, the GPU catalog, sweep files, job and request traces, node lists, weather
//! and carbon files — must be UTF-8, and is checked here: the first invalid byte is an
//! [`InputError`] at its line and column ([`Location::LineCol`]). Lines are counted from 1 at each `\n`;
//! the column is 1 plus the number of characters before the byte on its line, as RON positions count
//! them. Whole files are checked with [`into_text`] / [`as_text`]; the CSV and JSON trace readers stream
//! theirs through a [`CheckedReader`], which hands out the valid bytes before the first bad one and then
//! fails, so problems earlier in the file are still reported first.

use std::fmt;
use std::io::{self, Read};
use std::path::Path;

use crate::error::{InputError, Location};

/// Where and what the first invalid byte of a text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utf8Problem {
    pub line: usize,
    pub col: usize,
    /// The invalid byte; `None` when the text ends inside a multi-byte character.
    pub byte: Option<u8>,
}

impl fmt::Display for Utf8Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.byte {
            Some(b) => write!(f, "invalid byte 0x{b:02X}"),
            None => f.write_str("the text ends inside a multi-byte character"),
        }
    }
}

impl std::error::Error for Utf8Problem {}

impl Utf8Problem {
    /// The problem as an error of `path`, the `what` ("scenario", "native job trace").
    pub fn into_input_error(self, path: &Path, what: &str) -> InputError {
        InputError::new(
            path,
            Location::LineCol {
                line: self.line,
                col: self.col,
            },
            format!("the {what} is not valid UTF-8 text: {self}"),
        )
    }

    /// The problem carried by an I/O error a [`CheckedReader`] returned, if it is one.
    pub fn of_io(e: &io::Error) -> Option<Utf8Problem> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<Utf8Problem>())
            .copied()
    }
}

/// A line and column counter over valid UTF-8 bytes.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    line: usize,
    col: usize,
}

impl Cursor {
    const START: Cursor = Cursor { line: 1, col: 1 };

    /// Advances over `bytes` (valid UTF-8, possibly cut inside a character: continuation bytes do not
    /// start a character, so a split character is counted once).
    fn advance(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                self.line += 1;
                self.col = 1;
            } else if b & 0xC0 != 0x80 {
                self.col += 1;
            }
        }
    }
}

/// The first invalid byte of `bytes`, if any.
fn check(bytes: &[u8]) -> Result<(), Utf8Problem> {
    match std::str::from_utf8(bytes) {
        Ok(_) => Ok(()),
        Err(e) => {
            let valid = e.valid_up_to();
            let mut at = Cursor::START;
            at.advance(&bytes[..valid]);
            Err(Utf8Problem {
                line: at.line,
                col: at.col,
                byte: e.error_len().map(|_| bytes[valid]),
            })
        }
    }
}

/// The UTF-8 byte-order mark some editors write first; whole texts are read without it (it is not
/// content, and editors do not show it, so columns on line 1 count from the character after it).
const BOM: &str = "\u{feff}";

/// The bytes of a whole text file as a `String` (without a leading byte-order mark), or an error at its
/// first invalid byte.
pub fn into_text(path: &Path, what: &str, bytes: Vec<u8>) -> Result<String, InputError> {
    check(&bytes).map_err(|p| p.into_input_error(path, what))?;
    let mut text = String::from_utf8(bytes).expect("checked");
    if text.starts_with(BOM) {
        text.drain(..BOM.len());
    }
    Ok(text)
}

/// [`into_text`] for bytes held elsewhere.
pub fn as_text<'a>(path: &Path, what: &str, bytes: &'a [u8]) -> Result<&'a str, InputError> {
    check(bytes).map_err(|p| p.into_input_error(path, what))?;
    let text = std::str::from_utf8(bytes).expect("checked");
    Ok(text.strip_prefix(BOM).unwrap_or(text))
}

/// A reader that passes on only valid UTF-8: the bytes before the first invalid one, then an
/// [`io::ErrorKind::InvalidData`] error carrying its [`Utf8Problem`] (see [`Utf8Problem::of_io`]).
pub struct CheckedReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// `buf[start..ready]` is checked and not yet handed out; `buf[ready..end]` is an incomplete
    /// character waiting for more bytes.
    start: usize,
    ready: usize,
    end: usize,
    /// Position after the bytes handed out.
    at: Cursor,
    /// The first invalid byte, found: fail once the bytes before it are handed out.
    bad: Option<Option<u8>>,
}

impl<R: Read> CheckedReader<R> {
    pub fn new(inner: R) -> Self {
        CheckedReader {
            inner,
            buf: vec![0; 1 << 16],
            start: 0,
            ready: 0,
            end: 0,
            at: Cursor::START,
            bad: None,
        }
    }

    /// Reads more bytes and checks them; `Ok(false)` at the end of the input.
    fn refill(&mut self) -> io::Result<bool> {
        // Keep the incomplete tail (at most 3 bytes) at the front.
        self.buf.copy_within(self.ready..self.end, 0);
        self.end -= self.ready;
        self.start = 0;
        self.ready = 0;
        let n = loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        let eof = n == 0;
        self.end += n;
        match std::str::from_utf8(&self.buf[..self.end]) {
            Ok(_) => self.ready = self.end,
            Err(e) => {
                self.ready = e.valid_up_to();
                match e.error_len() {
                    Some(_) => self.bad = Some(Some(self.buf[self.ready])),
                    None if eof => self.bad = Some(None),
                    None => {}
                }
            }
        }
        Ok(!eof || self.ready > 0 || self.bad.is_some())
    }

    fn problem(&self) -> io::Error {
        let p = Utf8Problem {
            line: self.at.line,
            col: self.at.col,
            byte: self.bad.flatten(),
        };
        io::Error::new(io::ErrorKind::InvalidData, p)
    }
}

impl<R: Read> Read for CheckedReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.start == self.ready {
            if self.bad.is_some() {
                return Err(self.problem());
            }
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.ready - self.start);
        let chunk = &self.buf[self.start..self.start + n];
        out[..n].copy_from_slice(chunk);
        self.at.advance(chunk);
        self.start += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(bytes: &[u8], chunk: usize) -> (Vec<u8>, Option<Utf8Problem>) {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(out.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut r = CheckedReader::new(Trickle(bytes, chunk));
        let mut got = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return (got, None),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => return (got, Utf8Problem::of_io(&e)),
            }
        }
    }

    #[test]
    fn whole_texts_name_the_first_bad_byte() {
        let p = Path::new("x.ron");
        assert_eq!(as_text(p, "scenario", "é\nok".as_bytes()).unwrap(), "é\nok");
        assert_eq!(as_text(p, "scenario", "\u{feff}a".as_bytes()).unwrap(), "a");
        assert_eq!(into_text(p, "scenario", "\u{feff}a".into()).unwrap(), "a");
        let e = as_text(p, "scenario", b"ab\n\xc3\xa9\xc3\xa9x\xffy").unwrap_err();
        assert_eq!(e.location, Location::LineCol { line: 2, col: 4 });
        assert_eq!(
            e.to_string(),
            "x.ron:2:4: the scenario is not valid UTF-8 text: invalid byte 0xFF"
        );
        let e = into_text(p, "scenario", b"a\xe2\x82".to_vec()).unwrap_err();
        assert_eq!(e.location, Location::LineCol { line: 1, col: 2 });
        assert!(
            e.message.ends_with("ends inside a multi-byte character"),
            "{e}"
        );
    }

    #[test]
    fn streams_hand_out_the_valid_prefix_then_fail() {
        let text = "héllo\n€ wörld\n".repeat(50);
        for chunk in [1, 2, 3, 5, 1000] {
            let (got, p) = stream(text.as_bytes(), chunk);
            assert_eq!(
                (got.as_slice(), p),
                (text.as_bytes(), None),
                "chunk {chunk}"
            );
            let mut bad = text.clone().into_bytes();
            bad.extend_from_slice(b"ab\xe2\x82x");
            let (got, p) = stream(&bad, chunk);
            assert_eq!(got.len(), text.len() + 2, "chunk {chunk}");
            assert_eq!(
                p,
                Some(Utf8Problem {
                    line: 101,
                    col: 3,
                    byte: Some(0xE2)
                })
            );
            bad.truncate(bad.len() - 1);
            let (_, p) = stream(&bad, chunk);
            assert_eq!(p.map(|p| (p.line, p.col, p.byte)), Some((101, 3, None)));
        }
    }
}
