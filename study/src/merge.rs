//! `dctwin merge`: the shard files of a sharded sweep, checked and reduced to the outputs an
//! unsharded sweep writes, byte for byte.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::outputs::{prepare_out, write_sweep_set};
use crate::record::{MANIFEST_JSON, Manifest, check_record, parse_record};

/// What a merge did.
#[derive(Debug)]
pub struct Merged {
    /// Runs merged (the sweep's runs).
    pub runs: u64,
    /// Shard files read.
    pub shard_files: usize,
    /// Outputs written, in order: `runs.jsonl`, the tables, the charts, `report.html`.
    pub written: Vec<PathBuf>,
}

/// `dctwin merge DIR`: checks the shard files in `dir` hold every run exactly once, all from the
/// sweep described by `dir/sweep.json`, and writes the outputs an unsharded sweep writes, as one set
/// that replaces `out` (default `dir`; its shard files and other entries are carried over).
pub fn merge(dir: &Path, out: Option<&Path>) -> Result<Merged, Error> {
    let manifest_path = dir.join(MANIFEST_JSON);
    let text = fs::read_to_string(&manifest_path).map_err(|e| {
        Error::Input(format!(
            "{}: cannot read the sweep manifest ({e}); run the shards with --out {}",
            manifest_path.display(),
            dir.display()
        ))
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        Error::Input(format!(
            "{}:{}:{}: {e}",
            manifest_path.display(),
            e.line(),
            e.column()
        ))
    })?;
    // Checked before the shard files are read; the outputs replace `out` as one set.
    let staged = prepare_out(out.unwrap_or(dir))?;
    let mut shard_files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| Error::Input(format!("{}: cannot list: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("shard-") && n.ends_with(".jsonl"))
        })
        .collect();
    shard_files.sort();
    if shard_files.is_empty() {
        return Err(Error::Input(format!(
            "{}: no shard-I-of-N.jsonl files",
            dir.display()
        )));
    }
    let mut slots: Vec<Option<(String, String)>> = vec![None; manifest.runs as usize];
    for path in &shard_files {
        let text = fs::read_to_string(path)
            .map_err(|e| Error::Input(format!("{}: cannot read: {e}", path.display())))?;
        if !text.is_empty() && !text.ends_with('\n') {
            return Err(Error::Input(format!(
                "{}: the last line is partial (the shard was interrupted): run the shard again to finish it",
                path.display()
            )));
        }
        for (i, line) in text.lines().enumerate() {
            let at = format!("{}:{}", path.display(), i + 1);
            let rec = parse_record(line)
                .map_err(|m| Error::Input(format!("{at}: not a sweep record ({m})")))?;
            check_record(&rec, &manifest).map_err(|m| Error::Input(format!("{at}: {m}")))?;
            let slot = &mut slots[rec.k as usize];
            if let Some((_, first)) = slot {
                return Err(Error::Input(format!(
                    "{at}: run k={} is also at {first}: each run must appear exactly once",
                    rec.k
                )));
            }
            *slot = Some((line.to_string(), at));
        }
    }
    let missing: Vec<u64> = (0..manifest.runs)
        .filter(|&k| slots[k as usize].is_none())
        .collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(20).map(u64::to_string).collect();
        return Err(Error::Input(format!(
            "{}: {} of {} runs are missing (k = {}{}): run the shards that hold them",
            dir.display(),
            missing.len(),
            manifest.runs,
            shown.join(", "),
            if missing.len() > 20 { ", …" } else { "" }
        )));
    }
    let lines: Vec<String> = slots.into_iter().map(|s| s.expect("checked").0).collect();
    // sweep.json goes into the new set too (the same bytes when `out` is `dir`); the shard files in
    // `out` are carried over.
    let written = write_sweep_set(staged, &text, &manifest, &lines)?;
    Ok(Merged {
        runs: manifest.runs,
        shard_files: shard_files.len(),
        written,
    })
}
