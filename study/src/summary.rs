//! Reading a run's summary (a run directory or a `summary.json`) for `compare` and `check`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::Error;

/// Reads a summary: `path` is a run directory (its `summary.json`) or a JSON file.
pub fn read_summary(path: &Path) -> Result<Value, Error> {
    let file: PathBuf = if path.is_dir() {
        path.join(reports::SUMMARY_JSON)
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| Error::Input(format!("{}: cannot read: {e}", file.display())))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        Error::Input(format!(
            "{}:{}:{}: {e}",
            file.display(),
            e.line(),
            e.column()
        ))
    })?;
    if !v.is_object() {
        return Err(Error::Input(format!(
            "{}: not a run summary (expected a JSON object)",
            file.display()
        )));
    }
    Ok(v)
}
