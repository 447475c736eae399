//! What one run produces: the summary (serialised as `summary.json`) and the sampled time series.
//! Field names carry their units. The schema is documented in `docs/outputs.md`.

use serde::Serialize;

/// Mean and percentiles of a sample (nearest-rank percentiles; all zero for an empty sample).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Stats {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Stats {
    /// Computes the statistics of `values` (sorted in place). Nearest-rank percentile: the
    /// value at 1-based rank ⌈p·n⌉.
    pub fn from_values(values: &mut [f64]) -> Stats {
        if values.is_empty() {
            return Stats::default();
        }
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let rank = |p: f64| -> f64 {
            let r = ((p * n as f64).ceil() as usize).clamp(1, n);
            values[r - 1]
        };
        // Kahan-free plain sum is fine at these sizes; order is the sorted order, so deterministic.
        let mean = values.iter().sum::<f64>() / n as f64;
        Stats {
            count: n as u64,
            mean,
            p50: rank(0.50),
            p95: rank(0.95),
            p99: rank(0.99),
            max: values[n - 1],
        }
    }
}

/// Site description.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SiteSummary {
    pub halls: u64,
    pub rows: u64,
    pub racks: u64,
    pub servers: u64,
    /// GPU count per catalog model, in model-name order.
    pub gpus_by_model: std::collections::BTreeMap<String, u64>,
    /// One-paragraph description (also printed by `dctwin validate`).
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct EnergySummary {
    /// IT energy: everything the servers draw at their power inlets (GPUs + host overhead + PSU loss).
    pub it_j: f64,
    /// Energy drawn by the GPUs alone.
    pub gpu_j: f64,
    /// Host overhead: CPUs, memory, NICs, fans, and PSU conversion loss.
    pub server_overhead_j: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct PowerSummary {
    pub it_peak_w: f64,
    pub it_mean_w: f64,
    pub it_min_w: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct JobsSummary {
    pub submitted: u64,
    pub completed: u64,
    pub running_at_end: u64,
    pub queued_at_end: u64,
    /// Submitted after the horizon (never entered the simulation); not in `submitted`.
    pub not_arrived: u64,
    /// Waiting time (start − submit) of every job that started, in seconds.
    pub wait_s: Stats,
    /// Completion time (finish − submit) of completed jobs, in seconds.
    pub turnaround_s: Stats,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct GpuSummary {
    pub total: u64,
    /// Time-averaged fraction of GPU capacity allocated to jobs (shared GPUs count their share).
    pub utilization_mean: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct GpuHoursSummary {
    /// GPU-hours allocated to jobs (a 0.5-GPU share for one hour counts 0.5).
    pub busy: f64,
    /// GPU-hours available: GPUs × horizon.
    pub available: f64,
}

/// The run's summary, written as `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Summary {
    pub dctwin_version: String,
    pub scenario: String,
    pub seed: u64,
    pub horizon_s: f64,
    pub events_processed: u64,
    pub wall_time_s: f64,
    pub site: SiteSummary,
    pub energy: EnergySummary,
    pub power: PowerSummary,
    pub jobs: JobsSummary,
    pub gpus: GpuSummary,
    pub gpu_hours: GpuHoursSummary,
    /// What the run does not model (e.g. facility overhead); reports repeat these.
    pub not_modelled: Vec<String>,
}

/// One row of `timeseries.csv`: the state at `time_s` (after every event at or before that time).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Sample {
    pub time_s: f64,
    pub it_power_w: f64,
    pub busy_gpus: f64,
    pub running_jobs: u64,
    pub queued_jobs: u64,
}

/// Everything a run hands to the reports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunOutput {
    pub summary: Summary,
    pub timeseries: Vec<Sample>,
}
