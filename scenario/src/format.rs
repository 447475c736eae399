//! The scenario file format (RON). Every struct denies unknown fields; enums are externally tagged.
//! Documented field by field in `docs/scenarios.md`. Loading, `--set` overrides, path resolution and
//! semantic validation are in [`load`](crate::load).

use std::collections::BTreeMap;
use std::path::PathBuf;

use models::catalog::GpuModel;
pub use models::placement::PlacementPolicy;
pub use models::site::HostPower;
pub use models::workload::SyntheticJobs;
use serde::{Deserialize, Serialize};

/// The prefix of the error a map with a key defined twice gives (`parse_ron` adds both positions).
pub const DUPLICATE_KEY: &str = "duplicate key `";

/// A map whose keys must be distinct: a key defined twice is an error, not "the last one wins".
pub(crate) fn unique_keys<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Unique<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Unique<V> {
        type Value = BTreeMap<String, V>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map with distinct keys")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(k) = map.next_key::<String>()? {
                if out.contains_key(&k) {
                    return Err(serde::de::Error::custom(format!(
                        "{DUPLICATE_KEY}{k}`: each name may be defined once"
                    )));
                }
                let v = map.next_value()?;
                out.insert(k, v);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Unique(std::marker::PhantomData))
}

/// A whole scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name; the default output directory is `out/<name>/`.
    pub name: String,
    /// Master seed: every random stream derives from it.
    pub seed: u64,
    /// Simulated time span, s (> 0).
    pub horizon_s: f64,
    /// GPU catalog file, relative to the scenario file. Left out (or `"builtin"`): the catalog built into
    /// dctwin (`scenarios/catalog/gpus.ron`, see [`crate::catalog`]).
    #[serde(default)]
    pub catalog: PathBuf,
    /// GPU models added to (or replacing entries of) the catalog.
    #[serde(default)]
    pub extra_gpus: Vec<GpuModel>,
    /// The physical site.
    pub site: Site,
    /// What runs on it.
    pub workload: Workload,
    /// How jobs are queued and placed.
    #[serde(default)]
    pub scheduler: SchedulerConfig,
    /// Output sampling.
    #[serde(default)]
    pub reporting: Reporting,
    /// Everything around the IT load: power chain, cooling, weather, water, carbon, cost. Absent: the run
    /// reports IT energy only (no PUE is assumed).
    #[serde(default)]
    pub facility: Option<models::facility::FacilityConfig>,
    /// LLM inference served on the same cluster as `workload`'s jobs, with priority over them (docs/models.md
    /// §Shared fleet). Absent: the cluster runs `workload` alone.
    #[serde(default)]
    pub serving: Option<Box<SharedServing>>,
    /// Scheduled maintenance windows (docs/models.md §Maintenance windows). Default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintenance: Vec<MaintenanceWindow>,
    /// Hardware failures, repairs and spares (docs/models.md §Failures and repairs). Absent: nothing fails.
    /// (Serialised even when absent, so that `--set failures={}` can add it.)
    #[serde(default)]
    pub failures: Option<models::reliability::FailureConfig>,
    /// The shared storage system checkpoints are written to and restarts read from (docs/models.md §Storage
    /// and checkpoint size). Absent: checkpoint writes take their plan's `write_s`.
    #[serde(default)]
    pub storage: Option<models::storage::StorageConfig>,
}

/// A maintenance window: the racks listed (site rack indices, in layout order from 0) are down from `start_s`
/// for `duration_s`. Work on them is interrupted (jobs go back to the queue with the work up to their last
/// checkpoint; inference requests move to other replicas); they come back idle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindow {
    pub racks: Vec<u32>,
    /// Start, s after time zero (≥ 0).
    pub start_s: f64,
    /// Length, s (> 0).
    pub duration_s: f64,
}

/// Inference replicas sharing the cluster with jobs: a replica switched on takes GPUs first, from free
/// capacity or, under [`MakeRoom::Preempt`], from running jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedServing {
    /// The served model, its deployment, batching, router, SLO and autoscaling (as an `Inference` workload).
    pub inference: models::inference::InferenceWorkload,
    /// What a replica does when no free GPUs fit it. Default `Preempt`.
    #[serde(default)]
    pub make_room: MakeRoom,
}

/// How an inference replica gets GPUs that jobs hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MakeRoom {
    /// Preempt the running jobs whose loss (GPU·s since their last checkpoint) is smallest; they go back to
    /// the queue with the work they kept.
    #[default]
    Preempt,
    /// Wait for jobs to finish; no job starts while a replica waits.
    Wait,
}

/// A server model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTemplate {
    /// GPU model name from the catalog.
    pub gpu_model: String,
    /// GPUs per server (0 for CPU-only servers).
    pub gpus: u32,
    /// Schedulable CPU, in thousandths of a core. Default 0 (not tracked).
    #[serde(default)]
    pub cpu_milli: u64,
    /// Schedulable memory, MiB. Default 0 (not tracked).
    #[serde(default)]
    pub memory_mib: u64,
    pub host: HostPower,
    /// Where the figures come from (catalog templates cite theirs). Default empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}

/// `count` servers of one template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerGroup {
    /// Name of an entry of `Layout.server_templates`.
    pub template: String,
    pub count: u32,
}

/// `count` identical racks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RackGroup {
    pub count: u32,
    pub servers: Vec<ServerGroup>,
}

/// `count` identical rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowGroup {
    pub count: u32,
    pub racks: Vec<RackGroup>,
}

/// `count` identical halls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HallGroup {
    pub count: u32,
    pub rows: Vec<RowGroup>,
}

/// A site described by templates and counts: halls → rows → racks → servers → GPUs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    #[serde(deserialize_with = "unique_keys")]
    pub server_templates: BTreeMap<String, ServerTemplate>,
    pub halls: Vec<HallGroup>,
}

/// A site whose servers come from a node-list trace (Alibaba `openb_node_list_gpu_node.csv`).
/// Node lists carry no physical layout: servers are packed into racks, racks into rows, rows into halls
/// in file order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeListSite {
    /// Node-list CSV, relative to the scenario file.
    pub path: PathBuf,
    pub servers_per_rack: u32,
    pub racks_per_row: u32,
    pub rows_per_hall: u32,
    /// Host power of every node (the trace has none).
    pub host: HostPower,
}

/// The physical site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Site {
    Layout(Layout),
    AlibabaNodes(NodeListSite),
}

/// A job trace file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceFile {
    /// Relative to the scenario file.
    pub path: PathBuf,
    /// Rescale recorded durations to the GPU model a job runs on. Default none: jobs keep their recorded
    /// durations.
    #[serde(default)]
    pub rescale: Option<Rescale>,
}

/// Recorded run times scaled by GPU speed (docs/models.md §Traces, duration rescaling):
/// `T' = T · (f · F_rec / F_run + (1 − f) · B_rec / B_run)`, `F` the catalog's `peak_tflops`, `B` its
/// `memory_bandwidth_tbs`, `f` the compute-bound fraction of the run time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rescale {
    /// The GPU model the trace was recorded on (a catalog name).
    pub recorded_on: String,
    /// Compute-bound fraction `f` of a job's run time, 0..=1. Default 1.0 (run time scales with peak FLOP/s).
    #[serde(default = "default_compute_fraction")]
    pub compute_fraction: f64,
}

fn default_compute_fraction() -> f64 {
    1.0
}

impl Rescale {
    /// The factor `T'/T` for a job run on `run` when the trace was recorded on `rec`.
    pub fn factor(&self, rec: &GpuModel, run: &GpuModel) -> f64 {
        let f = self.compute_fraction;
        f * rec.peak_tflops / run.peak_tflops
            + (1.0 - f) * rec.memory_bandwidth_tbs / run.memory_bandwidth_tbs
    }
}

/// What runs on the site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Workload {
    Synthetic(SyntheticJobs),
    /// dctwin's native job CSV (`submit_s,gpus,duration_s[,name,gpu_model,cpu_milli,memory_mib]`).
    NativeTrace(TraceFile),
    /// Alibaba GPU 2023 pod list (`openb_pod_list_*.csv`).
    AlibabaPods(TraceFile),
    /// Microsoft Philly `cluster_job_log` (JSON; Jeon et al., USENIX ATC 2019).
    PhillyLog(TraceFile),
    /// SenseTime Helios `cluster_log.csv` (Hu et al., SC 2021).
    HeliosLog(TraceFile),
    /// LLM inference serving (requests to replicas of a model).
    Inference(Box<models::inference::InferenceWorkload>),
    /// Model-driven training jobs: run time and GPU power follow from the model, the plan and the hardware.
    Training(TrainingJobs),
}

/// A list of model-driven training jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingJobs {
    /// Jobs, in any order (they are submitted by `submit_s`; equal times keep list order).
    pub jobs: Vec<TrainingJob>,
    /// How communication is priced (default: alpha-beta over NVLink and the per-GPU network).
    #[serde(default)]
    pub comm: models::training::comm::CommModel,
    /// Kernel efficiencies replacing the catalog's for every GPU type (`gemm`, `gemm_half_dim`, `attention`,
    /// `memory`; each optional), e.g. from `dctwin calibrate`. Default: none — the catalog's figures.
    #[serde(default)]
    pub compute: models::training::KernelOverrides,
}

/// One training job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingJob {
    pub name: String,
    /// Submission time, s from the start of the run.
    #[serde(default)]
    pub submit_s: f64,
    /// Catalog GPU model the job runs on.
    pub gpu_model: String,
    pub plan: models::training::TrainingPlan,
}

/// Queue discipline (docs/models.md §Scheduling policies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum QueuePolicy {
    /// Strict first-in first-out: the head of the queue blocks those behind it.
    #[default]
    Fifo,
    /// Start the shortest queued job that fits now; repeat. "Shortest" is the job's recorded duration (an
    /// oracle: the simulator knows true run times); ties go to the earlier submission. Non-preemptive.
    ShortestJobFirst,
    /// FIFO with EASY backfilling (Lifka 1995; Mu'alem & Feitelson 2001): the blocked head gets a reservation
    /// at the earliest time the running jobs' finishes free enough resources for it; later jobs start now if
    /// they fit and either finish by then or leave the head's reserved resources alone.
    EasyBackfill,
    /// Highest `priority` first (ties: submission order), strictly: a blocked head holds back the jobs behind
    /// it. A head that does not fit preempts running jobs of lower priority when that makes room (cheapest lost
    /// work first); preempted jobs go back to the queue with the work up to their last checkpoint.
    Priority,
}

/// How jobs are queued and placed: `scheduler: (queue: Fifo, placement: FirstFit)` (the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SchedulerConfig {
    #[serde(default)]
    pub queue: QueuePolicy,
    #[serde(default)]
    pub placement: PlacementPolicy,
    /// Checkpoint interval of preempted trace or synthetic jobs, s: a preempted job keeps its work up to its
    /// last multiple of this interval since it (re)started. Default none (they restart from scratch).
    /// Model-driven training jobs use their plan's `checkpoint`.
    #[serde(default)]
    pub job_checkpoint_s: Option<f64>,
    /// Time an interrupted trace or synthetic job takes to restart before its work resumes, s (≥ 0).
    /// Default none (0). Model-driven training jobs use their plan's `checkpoint.restart_s`.
    #[serde(default)]
    pub job_restart_s: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reporting {
    /// Time-series sampling interval, s (> 0). Default 300.
    #[serde(default = "default_interval")]
    pub interval_s: f64,
    /// The most rows `requests.csv` holds (serving runs); above it the requests are sampled evenly by arrival
    /// order (docs/outputs.md). Default 100,000; 0 writes the header only.
    #[serde(default = "default_requests_csv_max")]
    pub requests_csv_max: u64,
}

fn default_interval() -> f64 {
    300.0
}

/// The default of [`Reporting::requests_csv_max`].
pub const DEFAULT_REQUESTS_CSV_MAX: u64 = 100_000;

fn default_requests_csv_max() -> u64 {
    DEFAULT_REQUESTS_CSV_MAX
}

impl Default for Reporting {
    fn default() -> Self {
        Reporting {
            interval_s: default_interval(),
            requests_csv_max: default_requests_csv_max(),
        }
    }
}
