//! dctwin's studies over many runs: parameter sweeps (run in parallel on a local pool, or sharded
//! over a Slurm job array or a Kubernetes Indexed Job, resumed after a kill, and merged), side-by-side
//! comparisons of runs, the regression gate, and calibration of scenario parameters to measured
//! telemetry ([`calibrate()`], by bounded least squares in [`lsq`]), and sizing: the smallest (or largest) value
//! of one field for which constraints on summary figures hold ([`size()`], `docs/sizing.md`).
//!
//! A sweep file is read and expanded into runs by [`scenario::sweep`]; here the runs execute
//! ([`sweep()`]), shard files are merged ([`merge()`]), and the records reduce to the outputs
//! (`runs.jsonl`, `results.csv`, `points.csv`, charts and `report.html`, written by [`reports`]).
//! Everything written is a function of the records in `k` order, so threads and shards never change a
//! byte. Nothing here prints: the CLI reports what was done. Formats and rules: `docs/sweeps.md`.
//! Only the CLI depends on this crate.

pub mod calibrate;
pub mod check;
pub mod compare;
mod error;
pub mod lsq;
pub mod merge;
mod outputs;
pub mod record;
mod report_context;
pub mod run;
pub mod shard;
pub mod size;
pub mod summary;

pub use calibrate::{CalibrateSpec, Calibration, FitParam, calibrate};
pub use check::{CheckOutcome, CheckReport, Tolerance, check};
pub use compare::{Comparison, compare, write_comparison};
pub use error::Error;
pub use merge::{Merged, merge};
pub use outputs::write_run_set;
pub use record::{MANIFEST_JSON, Manifest, RUNS_JSONL};
pub use report_context::report_context;
pub use run::{NoProgress, Progress, SweepOptions, SweepOutcome, sweep};
pub use shard::Shard;
pub use size::run::{SizeOptions, SizeOutcome, size};
pub use summary::read_summary;
