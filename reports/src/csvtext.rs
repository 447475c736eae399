//! CSV text written through [`csv::Writer`]: a field with a comma, a quote or a line break is quoted (quotes
//! doubled), every record ends with `\n`, and every record of a table has the same number of fields (a record
//! of another length is a bug and panics). The numbers are formatted by the callers — Rust's `Display` for
//! floats, the shortest text that parses back to the same `f64` — so the bytes are a function of the values.

use std::fmt::{Display, Write as _};

/// A CSV table being written into memory.
pub struct CsvText {
    w: csv::Writer<Vec<u8>>,
    scratch: String,
}

impl Default for CsvText {
    fn default() -> Self {
        Self::new()
    }
}

impl CsvText {
    /// An empty table.
    pub fn new() -> Self {
        CsvText {
            w: csv::WriterBuilder::new().from_writer(Vec::new()),
            scratch: String::new(),
        }
    }

    /// A whole record.
    pub fn record<I, T>(&mut self, fields: I)
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.w
            .write_record(fields)
            .expect("in memory, every record of the table as long as the first");
    }

    /// The next field of the record being written (quoted if need be).
    pub fn field(&mut self, text: impl AsRef<[u8]>) {
        self.w
            .write_field(text)
            .expect("writing to memory cannot fail");
    }

    /// The next field: `x` through `Display`.
    pub fn num(&mut self, x: impl Display) {
        self.scratch.clear();
        write!(self.scratch, "{x}").expect("writing to a String cannot fail");
        self.w
            .write_field(self.scratch.as_bytes())
            .expect("writing to memory cannot fail");
    }

    /// The next field: `x` through `Display`, or empty for `None`.
    pub fn opt(&mut self, x: Option<impl Display>) {
        match x {
            Some(x) => self.num(x),
            None => self.field(""),
        }
    }

    /// Ends the record being written.
    pub fn end(&mut self) {
        self.w
            .write_record(None::<&[u8]>)
            .expect("in memory, every record of the table as long as the first");
    }

    /// The text.
    pub fn finish(self) -> String {
        let bytes = self.w.into_inner().expect("flushing to memory cannot fail");
        String::from_utf8(bytes).expect("UTF-8 fields make UTF-8 text")
    }
}
