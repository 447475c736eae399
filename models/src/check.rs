//! Checking model configs: a bad value is a [`FieldError`], the dotted path of the field (relative to the
//! config checked) and what is wrong. It carries no file position: the scenario loader places it in the
//! scenario file.

use std::fmt;

/// A bad config value: the dotted path of the field (relative to the config checked) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// An error about the config checked as a whole (an empty path); the message names the bad field.
    pub fn whole(message: impl Into<String>) -> Self {
        FieldError::new("", message)
    }

    /// The same error below `prefix` (`"ups"` + `"c0"` → `"ups.c0"`).
    pub fn within(self, prefix: &str) -> Self {
        let path = if self.path.is_empty() {
            prefix.to_string()
        } else {
            format!("{prefix}.{}", self.path)
        };
        FieldError { path, ..self }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field `{}`: {}", self.path, self.message)
    }
}

impl std::error::Error for FieldError {}

/// `v` must be finite.
pub(crate) fn finite(path: &str, v: f64) -> Result<(), FieldError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(FieldError::new(
            path,
            format!("must be a finite number, found {v}"),
        ))
    }
}

/// `v` must be finite and > 0.
pub(crate) fn positive(path: &str, v: f64) -> Result<(), FieldError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(FieldError::new(
            path,
            format!("must be a finite number > 0, found {v}"),
        ))
    }
}

/// `v` must lie in `[lo, hi]` (a physical range; `why` says where it comes from).
pub(crate) fn in_range(path: &str, v: f64, lo: f64, hi: f64, why: &str) -> Result<(), FieldError> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(FieldError::new(
            path,
            format!("must lie in [{lo}, {hi}] ({why}), found {v}"),
        ))
    }
}

/// `v` must be finite and ≥ 0.
pub(crate) fn non_negative(path: &str, v: f64) -> Result<(), FieldError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(FieldError::new(
            path,
            format!("must be a finite number ≥ 0, found {v}"),
        ))
    }
}

/// `v` must be in `[0, 1]`.
pub(crate) fn fraction(path: &str, v: f64) -> Result<(), FieldError> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(FieldError::new(
            path,
            format!("must be a fraction from 0 to 1, found {v}"),
        ))
    }
}
