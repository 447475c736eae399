//! Overrides (`--set dotted.path=value`, applied by [`crate::load`]) and overlay files: overrides kept in a
//! file (`--set-file`), one `dotted.path=value` a line, as `dctwin calibrate` writes them. A line whose
//! first non-blank character is `#` is a comment; blank lines are skipped. The CLI applies an overlay's
//! overrides in file order, before any `--set` on the command line.

use std::path::Path;

use crate::error::{InputError, Location};

/// A `--set dotted.path=value` override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub path: String,
    pub value: String,
}

impl Override {
    /// Parses `dotted.path=value`.
    pub fn parse(s: &str) -> Result<Override, String> {
        let (path, value) = s
            .split_once('=')
            .ok_or_else(|| format!("`--set {s}`: expected `dotted.path=value`"))?;
        let path = path.trim();
        if path.is_empty() || path.split('.').any(|seg| seg.is_empty()) {
            return Err(format!("`--set {s}`: `{path}` is not a dotted field path"));
        }
        Ok(Override {
            path: path.to_string(),
            value: value.to_string(),
        })
    }
}

/// Reads an overlay file (see the module docs).
pub fn read_overlay(path: &Path) -> Result<Vec<Override>, InputError> {
    let bytes = std::fs::read(path)
        .map_err(|e| InputError::file(path, format!("cannot read the overlay file: {e}")))?;
    parse_overlay(&crate::utf8::into_text(path, "overlay file", bytes)?, path)
}

/// [`read_overlay`] of text in memory; `path` names it in errors.
pub fn parse_overlay(text: &str, path: &Path) -> Result<Vec<Override>, InputError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let ov = Override::parse(t).map_err(|m| {
            InputError::new(
                path,
                Location::Line(i + 1),
                format!("{m} (an overlay line is `dotted.path=value`; `#` starts a comment line)"),
            )
        })?;
        out.push(ov);
    }
    Ok(out)
}

/// An overlay file's text: `comments` as `# ` lines, then one `path=value` line per override.
pub fn overlay_text(comments: &[String], overrides: &[Override]) -> String {
    let mut s = String::new();
    for c in comments {
        for l in c.lines() {
            s.push_str("# ");
            s.push_str(l);
            s.push('\n');
        }
    }
    for o in overrides {
        s.push_str(&o.path);
        s.push('=');
        s.push_str(&o.value);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_round_trips_and_skips_comments() {
        let ovs = vec![
            Override::parse("workload.Training.comm.AlphaBeta.inter_node_bw_gbs=37.5").unwrap(),
            Override::parse("horizon_s=3600").unwrap(),
        ];
        let text = overlay_text(&["fitted by test".to_string()], &ovs);
        assert!(text.starts_with("# fitted by test\n"));
        let back =
            parse_overlay(&format!("{text}\n  # indented comment\n"), Path::new("o")).unwrap();
        assert_eq!(back, ovs);
    }

    #[test]
    fn overlay_error_names_the_line() {
        let e =
            parse_overlay("# c\nhorizon_s=1\nnot an override\n", Path::new("o.set")).unwrap_err();
        assert_eq!(e.location, Location::Line(3));
        assert!(e.to_string().starts_with("o.set:3: "), "{e}");
    }
}
