//! Reading a run's summary (a run directory or a `summary.json`) for `compare` and `check`.

use std::path::{Path, PathBuf};

use scenario::{InputError, Location};
use serde_json::Value;

use crate::error::Error;

/// Reads a summary: `path` is a run directory (its `summary.json`) or a JSON file. Errors name the file
/// (and the line and column of a JSON syntax error).
pub fn read_summary(path: &Path) -> Result<Value, Error> {
    let file: PathBuf = if path.is_dir() {
        path.join(reports::SUMMARY_JSON)
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| InputError::file(&file, format!("cannot read: {e}")))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| json_error(&file, &e))?;
    if !v.is_object() {
        return Err(Error::At(InputError::file(
            &file,
            "not a run summary (expected a JSON object)",
        )));
    }
    Ok(v)
}

/// A JSON syntax error in `file`, at its line and column (serde_json's; `0` when it has none, e.g. at
/// the end of the input, is left out).
pub(crate) fn json_error(file: &Path, e: &serde_json::Error) -> Error {
    let location = match (e.line(), e.column()) {
        (0, _) => Location::File,
        (line, 0) => Location::Line(line),
        (line, col) => Location::LineCol { line, col },
    };
    Error::At(InputError::new(file, location, e.to_string()))
}
