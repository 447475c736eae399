//! `dctwin compare`: the key figures of several runs side by side, with differences and ratios to
//! the first. Rules: `docs/sweeps.md` § Compare.

use std::path::{Path, PathBuf};

use reports::figures::{is_integer, key_figures, lookup, number, number_text, show};
use serde_json::Value;

use crate::error::Error;
use crate::summary::read_summary;

/// The compare table: header and rows (display text), the same as a Markdown table, the CSV
/// (full precision), and the side-by-side page (`compare.html`: headline figures in human units).
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub markdown: String,
    pub csv: String,
    pub html: String,
}

/// Lines up the key figures of `runs` (label, summary); differences and ratios are to the first.
pub fn compare_table(runs: &[(String, Value)]) -> Comparison {
    let mut figures: Vec<String> = Vec::new();
    for (_, s) in runs {
        for f in key_figures(s) {
            if !figures.contains(&f) {
                figures.push(f);
            }
        }
    }
    let mut header = vec!["figure".to_string(), runs[0].0.clone()];
    let mut csv_header = vec!["figure".to_string(), runs[0].0.clone()];
    for (label, _) in &runs[1..] {
        header.push(label.clone());
        header.push(format!("Δ vs {}", runs[0].0));
        header.push("ratio".into());
        csv_header.push(label.clone());
        csv_header.push(format!("{label} - {}", runs[0].0));
        csv_header.push(format!("{label} / {}", runs[0].0));
    }
    let mut rows = Vec::new();
    let mut csv = reports::CsvText::new();
    csv.record(&csv_header);
    for f in &figures {
        let base_v = lookup(&runs[0].1, f);
        let base = number(base_v);
        let integer = runs.iter().all(|(_, s)| {
            let v = lookup(s, f);
            v.is_none() || is_integer(v)
        });
        let mut row = vec![f.clone(), show(base, integer)];
        let mut crow = vec![f.clone(), number_text(base_v)];
        for (_, s) in &runs[1..] {
            let v = lookup(s, f);
            let x = number(v);
            let diff = x.zip(base).map(|(x, b)| x - b);
            let ratio = x.zip(base).filter(|&(_, b)| b != 0.0).map(|(x, b)| x / b);
            row.push(show(x, integer));
            row.push(match diff {
                Some(d) if d > 0.0 => format!("+{}", show(Some(d), integer)),
                d => show(d, integer),
            });
            row.push(ratio.map_or("–".into(), |r| format!("{r:.4}")));
            crow.push(number_text(v));
            crow.push(diff.map(|d| d.to_string()).unwrap_or_default());
            crow.push(ratio.map(|r| r.to_string()).unwrap_or_default());
        }
        rows.push(row);
        csv.record(&crow);
    }
    let csv = csv.finish();
    let markdown = reports::sweep::markdown_table(&header, &rows);
    let html = reports::compare_page::compare_page(runs);
    Comparison {
        header,
        rows,
        markdown,
        csv,
        html,
    }
}

/// The key figures of the runs at `paths` (directories or `summary.json` files, at least two): the
/// table, its Markdown text and its CSV.
pub fn compare(paths: &[PathBuf]) -> Result<Comparison, Error> {
    if paths.len() < 2 {
        return Err(Error::Input(
            "compare needs at least two runs (directories or summary.json files)".into(),
        ));
    }
    let runs = paths
        .iter()
        .map(|p| Ok((p.display().to_string(), read_summary(p)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(compare_table(&runs))
}

/// File names `dctwin compare --out` writes.
pub const COMPARE_FILES: &[&str] = &[
    "compare.md",
    "compare.csv",
    reports::compare_page::COMPARE_HTML,
];

/// Writes `compare.md`, `compare.csv` and `compare.html` into `out` as one set that replaces the directory (its other
/// entries carried over; created if missing), then calls `wrote` with each path. An unusable `out` is
/// bad input, reported before anything is written.
pub fn write_comparison(
    out: &Path,
    c: &Comparison,
    wrote: &mut dyn FnMut(&Path),
) -> Result<(), Error> {
    let staged =
        reports::OutputDir::prepare(out, COMPARE_FILES).map_err(|e| Error::Input(e.to_string()))?;
    let write = |e: reports::ReportError| Error::Internal(e.to_string());
    for (name, text) in COMPARE_FILES.iter().zip([&c.markdown, &c.csv, &c.html]) {
        reports::write_atomic(&staged.path().join(name), text.as_bytes()).map_err(write)?;
    }
    staged.commit().map_err(write)?;
    for name in COMPARE_FILES {
        wrote(&out.join(name));
    }
    Ok(())
}
