//! The sweep manifest (`sweep.json`) and the record of one run (one JSON line of a shard file or of
//! `runs.jsonl`): how they are written, read back and checked against each other.

use reports::sweep::SweepRun;
use scenario::sweep::{Plot, Sweep};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// File name of the sweep manifest (written by every sweep and shard, read by `merge`).
pub const MANIFEST_JSON: &str = "sweep.json";
/// File name of all records in `k` order.
pub const RUNS_JSONL: &str = "runs.jsonl";

/// What a sweep is, independent of how it is executed; written as `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub sweep_hash: String,
    pub dctwin_version: String,
    pub runs: u64,
    pub points: u64,
    pub replicates: u64,
    pub axes: Vec<String>,
    pub plot: Plot,
}

impl Manifest {
    /// The manifest of `sweep`, run by this version of dctwin.
    pub fn of(sweep: &Sweep) -> Manifest {
        Manifest {
            name: sweep.name().to_string(),
            sweep_hash: sweep.sweep_hash().to_string(),
            dctwin_version: env!("CARGO_PKG_VERSION").to_string(),
            runs: sweep.runs(),
            points: sweep.points(),
            replicates: sweep.replicates(),
            axes: sweep.axes().to_vec(),
            plot: sweep.plot().clone(),
        }
    }

    /// `sweep.json`: pretty-printed, ending with a newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest") + "\n"
    }
}

/// The record of run `k` (one JSON line, without the newline): its index, point, replicate, seed and
/// axis values, the sweep's hash and dctwin version, and its summary (`summary.json` minus
/// `wall_time_s` and `dctwin_version`). Keys are sorted (serde_json's map order).
pub(crate) fn record_line(
    sweep: &Sweep,
    manifest: &Manifest,
    k: u64,
    mut summary: Value,
) -> String {
    if let Value::Object(m) = &mut summary {
        m.remove("wall_time_s");
        m.remove("dctwin_version");
    }
    let point = sweep.point_of(k);
    let params: serde_json::Map<String, Value> = sweep
        .axes()
        .iter()
        .zip(sweep.params(point))
        .map(|(a, v)| (a.clone(), Value::String(v.clone())))
        .collect();
    let record = serde_json::json!({
        "k": k,
        "point": point as u64,
        "replicate": sweep.replicate_of(k),
        "seed": sweep.seed_of(k),
        "params": params,
        "sweep_hash": manifest.sweep_hash,
        "dctwin_version": manifest.dctwin_version,
        "summary": summary,
    });
    record.to_string()
}

/// The parts of a record that the merge checks.
pub(crate) struct Record {
    pub(crate) k: u64,
    sweep_hash: String,
    dctwin_version: String,
    point: u64,
    replicate: u64,
    seed: u64,
    params: serde_json::Map<String, Value>,
    summary: Value,
}

impl Record {
    /// The run, with its parameters in the order of `axes`.
    pub(crate) fn into_run(self, axes: &[String]) -> SweepRun {
        let params = axes
            .iter()
            .map(|a| {
                self.params
                    .get(a)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        SweepRun {
            k: self.k,
            point: self.point,
            replicate: self.replicate,
            seed: self.seed,
            params,
            summary: self.summary,
        }
    }
}

pub(crate) fn parse_record(line: &str) -> Result<Record, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let u = |name: &str| {
        v.get(name)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("no whole number `{name}`"))
    };
    let s = |name: &str| {
        v.get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("no string `{name}`"))
    };
    let (k, point, replicate, seed) = (u("k")?, u("point")?, u("replicate")?, u("seed")?);
    let params = v
        .get("params")
        .and_then(Value::as_object)
        .ok_or("no object `params`")?
        .clone();
    let summary = v.get("summary").ok_or("no `summary`")?.clone();
    Ok(Record {
        k,
        sweep_hash: s("sweep_hash")?,
        dctwin_version: s("dctwin_version")?,
        point,
        replicate,
        seed,
        params,
        summary,
    })
}

pub(crate) fn check_record(rec: &Record, m: &Manifest) -> Result<(), String> {
    if rec.sweep_hash != m.sweep_hash {
        return Err(format!(
            "written by a different sweep (hash {}, this sweep is {}): use another output directory",
            rec.sweep_hash, m.sweep_hash
        ));
    }
    if rec.dctwin_version != m.dctwin_version {
        return Err(format!(
            "written by dctwin {}, this is dctwin {}",
            rec.dctwin_version, m.dctwin_version
        ));
    }
    if rec.k >= m.runs {
        return Err(format!(
            "run k={} is beyond the sweep's {} runs",
            rec.k, m.runs
        ));
    }
    Ok(())
}
