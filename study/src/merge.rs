//! `dctwin merge`: the shard files of a sharded sweep, checked and reduced to the outputs an
//! unsharded sweep writes, byte for byte.

use std::fs;
use std::path::{Path, PathBuf};

use scenario::{InputError, Location};

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
        InputError::file(
            &manifest_path,
            format!(
                "cannot read the sweep manifest ({e}); run the shards with --out {}",
                dir.display()
            ),
        )
    })?;
    let manifest: Manifest =
        serde_json::from_str(&text).map_err(|e| crate::summary::json_error(&manifest_path, &e))?;
    check_manifest(&manifest).map_err(|(field, m)| InputError::field(&manifest_path, field, m))?;
    // Checked before the shard files are read; the outputs replace `out` as one set.
    let staged = prepare_out(out.unwrap_or(dir))?;
    let mut shard_files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| InputError::file(dir, format!("cannot list: {e}")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("shard-") && n.ends_with(".jsonl"))
        })
        .collect();
    shard_files.sort();
    if shard_files.is_empty() {
        return Err(Error::At(InputError::file(
            dir,
            "no shard-I-of-N.jsonl files",
        )));
    }
    let mut slots: Vec<Option<(String, String)>> = vec![None; manifest.runs as usize];
    for path in &shard_files {
        let text = fs::read_to_string(path)
            .map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
        if !text.is_empty() && !text.ends_with('\n') {
            return Err(Error::At(InputError::new(
                path,
                Location::Line(text.lines().count()),
                "the last line is partial (the shard was interrupted): run the shard again to finish it",
            )));
        }
        for (i, line) in text.lines().enumerate() {
            let at = format!("{}:{}", path.display(), i + 1);
            let err = |m: String| Error::At(InputError::new(path, Location::Line(i + 1), m));
            let rec = parse_record(line).map_err(|m| err(format!("not a sweep record ({m})")))?;
            check_record(&rec, &manifest).map_err(err)?;
            let slot = &mut slots[rec.k as usize];
            if let Some((_, first)) = slot {
                return Err(err(format!(
                    "run k={} is also at {first}: each run must appear exactly once",
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
        return Err(Error::At(InputError::file(
            dir,
            format!(
                "{} of {} runs are missing (k = {}{}): run the shards that hold them",
                missing.len(),
                manifest.runs,
                shown.join(", "),
                if missing.len() > 20 { ", …" } else { "" }
            ),
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

/// A manifest's counts as a sweep writes them: 1 to [`scenario::sweep::MAX_RUNS`] runs, each point's
/// replicates, so a hand-edited or foreign `sweep.json` is refused (by field) instead of sizing the merge.
fn check_manifest(m: &Manifest) -> Result<(), (&'static str, String)> {
    let max = scenario::sweep::MAX_RUNS;
    if m.runs == 0 || m.runs > max {
        return Err(("runs", format!("{}: expected 1 to {max} runs", m.runs)));
    }
    if m.replicates == 0 {
        return Err(("replicates", "must be at least 1".into()));
    }
    if m.points.checked_mul(m.replicates) != Some(m.runs) {
        return Err((
            "runs",
            format!(
                "{} runs is not {} point(s) × {} replicate(s)",
                m.runs, m.points, m.replicates
            ),
        ));
    }
    Ok(())
}
