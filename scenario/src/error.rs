//! Input errors: every malformed scenario or trace is reported with its file, its position and what was
//! expected. Callers map [`InputError`] to exit code 2. Messages echo at most a bounded excerpt of the
//! input ([`echo`](crate::echo)); [`InputError::to_json`] gives the machine-readable form
//! (`--message-format json`).

use std::fmt;
use std::path::{Path, PathBuf};

use models::check::FieldError;

use crate::echo::{bound_message, bound_path};

/// Where in an input file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The whole file (e.g. it is missing or empty).
    File,
    /// A 1-based line.
    Line(usize),
    /// A 1-based line and 1-based column (RON scenarios).
    LineCol { line: usize, col: usize },
    /// A 1-based line and a CSV column name (traces).
    LineField { line: usize, field: String },
    /// A dotted field path inside a scenario (semantic validation, `--set` overrides).
    Field(String),
    /// A point of a sweep (its index and axis values, `a=1, b=2`): the base scenario rejected it.
    Point { index: usize, values: String },
}

/// A problem with user input: a scenario, a catalog, a trace or a command-line override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: PathBuf,
    pub location: Location,
    pub message: String,
}

impl InputError {
    /// An error at `location` of `file`. Long echoes of the input in `message` and in the location (a
    /// field path from `--set`, a sweep point's values) are cut ([`bound_message`]).
    pub fn new(file: impl AsRef<Path>, location: Location, message: impl Into<String>) -> Self {
        let bound = |s: String| match bound_message(&s) {
            std::borrow::Cow::Borrowed(_) => s,
            std::borrow::Cow::Owned(b) => b,
        };
        let location = match location {
            Location::Field(p) => Location::Field(bound(p)),
            Location::LineField { line, field } => Location::LineField {
                line,
                field: bound(field),
            },
            Location::Point { index, values } => Location::Point {
                index,
                values: bound(values),
            },
            other => other,
        };
        InputError {
            file: file.as_ref().to_path_buf(),
            location,
            message: bound(message.into()),
        }
    }
    pub fn file(file: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Self::new(file, Location::File, message)
    }
    pub fn line_field(
        file: impl AsRef<Path>,
        line: usize,
        field: &str,
        message: impl Into<String>,
    ) -> Self {
        Self::new(
            file,
            Location::LineField {
                line,
                field: field.to_string(),
            },
            message,
        )
    }
    pub fn field(file: impl AsRef<Path>, path: &str, message: impl Into<String>) -> Self {
        Self::new(file, Location::Field(path.to_string()), message)
    }
}

impl InputError {
    /// The error as one line of JSON, `{"file":…,"line":…,"column":…,"field":…,"message":…}` (`null` where
    /// unknown): `field` is the dotted field path of a semantic error or the CSV column of a bad cell; a
    /// sweep point's index and values lead the message. Echoes are bounded as in the human form.
    pub fn to_json(&self) -> String {
        let file = self.file.to_string_lossy();
        let file = (!file.is_empty()).then(|| bound_path(&file).into_owned());
        let message = bound_message(&self.message);
        let (line, column, field, message) = match &self.location {
            Location::File => (None, None, None, message.into_owned()),
            Location::Line(l) => (Some(*l), None, None, message.into_owned()),
            Location::LineCol { line, col } => {
                (Some(*line), Some(*col), None, message.into_owned())
            }
            Location::LineField { line, field } => (
                Some(*line),
                None,
                Some(bound_message(field).into_owned()),
                message.into_owned(),
            ),
            Location::Field(p) => (
                None,
                None,
                Some(bound_message(p).into_owned()),
                message.into_owned(),
            ),
            Location::Point { index, values } => (
                None,
                None,
                None,
                format!("point {index} ({}): {message}", bound_message(values)),
            ),
        };
        json_line(file.as_deref(), line, column, field.as_deref(), &message)
    }
}

/// One error as a line of JSON with the keys of [`InputError::to_json`] (`null` for `None`); `message`
/// is bounded ([`bound_message`]).
pub fn json_line(
    file: Option<&str>,
    line: Option<usize>,
    column: Option<usize>,
    field: Option<&str>,
    message: &str,
) -> String {
    let text = |v: Option<&str>| serde_json::Value::from(v).to_string();
    let num = |v: Option<usize>| serde_json::Value::from(v).to_string();
    format!(
        "{{\"file\":{},\"line\":{},\"column\":{},\"field\":{},\"message\":{}}}",
        text(file),
        num(line),
        num(column),
        text(field),
        text(Some(&bound_message(message)))
    )
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.to_string_lossy();
        let file = bound_path(&file);
        let message = bound_message(&self.message);
        match &self.location {
            Location::File => write!(f, "{file}: {message}"),
            Location::Line(line) => write!(f, "{file}:{line}: {message}"),
            Location::LineCol { line, col } => write!(f, "{file}:{line}:{col}: {message}"),
            Location::LineField { line, field } => {
                write!(
                    f,
                    "{file}:{line}: column `{}`: {message}",
                    bound_message(field)
                )
            }
            Location::Field(path) => {
                write!(f, "{file}: field `{}`: {message}", bound_message(path))
            }
            Location::Point { index, values } => {
                write!(
                    f,
                    "{file}: point {index} ({}): {message}",
                    bound_message(values)
                )
            }
        }
    }
}

impl std::error::Error for InputError {}

/// A model's [`FieldError`] placed in an input file.
pub trait FieldErrorExt {
    /// An [`InputError`] at this field of `file` (the scenario).
    fn into_input_error(self, file: impl AsRef<Path>) -> InputError;
}

impl FieldErrorExt for FieldError {
    fn into_input_error(self, file: impl AsRef<Path>) -> InputError {
        InputError::field(file, &self.path, self.message)
    }
}
