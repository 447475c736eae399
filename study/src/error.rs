//! What can go wrong in a study, split the way the CLI reports it.

use std::fmt;

use scenario::InputError;

/// A failed study: bad input (the CLI exits 2) or an internal error (exit 1). The text is the whole
/// message (with the file, line and column or field where there is one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Bad input: a shard or manifest file, a summary, an option.
    Input(String),
    /// Bad input at a known file and position: a sweep file, or a point of it the scenario rejects.
    At(InputError),
    /// Anything else: writing outputs, starting threads, a bug.
    Internal(String),
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::At(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(m) | Error::Internal(m) => f.write_str(m),
            Error::At(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

/// An internal error writing a sweep's outputs.
pub(crate) fn internal_write(e: reports::ReportError) -> Error {
    Error::Internal(format!("writing the sweep outputs: {e}"))
}
