//! Input errors: every malformed scenario or trace is reported with its file, its position and what was
//! expected. Callers map [`InputError`] to exit code 2.

use std::fmt;
use std::path::{Path, PathBuf};

use models::check::FieldError;

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
    pub fn new(file: impl AsRef<Path>, location: Location, message: impl Into<String>) -> Self {
        InputError {
            file: file.as_ref().to_path_buf(),
            location,
            message: message.into(),
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

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match &self.location {
            Location::File => write!(f, "{file}: {}", self.message),
            Location::Line(line) => write!(f, "{file}:{line}: {}", self.message),
            Location::LineCol { line, col } => write!(f, "{file}:{line}:{col}: {}", self.message),
            Location::LineField { line, field } => {
                write!(f, "{file}:{line}: column `{field}`: {}", self.message)
            }
            Location::Field(path) => write!(f, "{file}: field `{path}`: {}", self.message),
            Location::Point { index, values } => {
                write!(f, "{file}: point {index} ({values}): {}", self.message)
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
