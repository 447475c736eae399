//! What one run produces: the summary (serialised as `summary.json`) and the sampled time series.
//! Field names carry their units. The schema is documented in `docs/outputs.md`.

use serde::Serialize;

/// Mean and percentiles of a sample (nearest-rank percentiles; all zero for an empty sample).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Stats {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
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
        // Unstable: values equal under `total_cmp` have the same bits, so the order is the stable sort's,
        // without its buffer and faster on 10 M values (issue #15).
        values.sort_unstable_by(f64::total_cmp);
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
            p90: rank(0.90),
            p95: rank(0.95),
            p99: rank(0.99),
            max: values[n - 1],
        }
    }

    /// The statistics of a weighted sample `(value, weight > 0)` (sorted in place): the weighted mean, and as
    /// percentile p the smallest value whose cumulative weight reaches p·W (equal weights give
    /// [`Self::from_values`]' nearest rank); `count` is the total weight, rounded.
    pub fn from_weighted(values: &mut [(f64, f64)]) -> Stats {
        if values.is_empty() {
            return Stats::default();
        }
        values.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total: f64 = values.iter().map(|v| v.1).sum();
        let at = |p: f64| -> f64 {
            // Relative slack: sums of equal weights must reach p·W exactly where the ranks do.
            let target = p * total * (1.0 - 1e-12);
            let mut cum = 0.0;
            for &(v, w) in values.iter() {
                cum += w;
                if cum >= target {
                    return v;
                }
            }
            values[values.len() - 1].0
        };
        let mean = values.iter().map(|v| v.0 * v.1).sum::<f64>() / total;
        Stats {
            count: total.round() as u64,
            mean,
            p50: at(0.5),
            p90: at(0.9),
            p95: at(0.95),
            p99: at(0.99),
            max: values[values.len() - 1].0,
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
    /// Utility-feed energy: IT + power-chain losses + cooling + misc (scenarios with a `facility`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facility_j: Option<f64>,
    /// Cooling energy by component.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooling_j: Option<CoolingEnergy>,
    /// Power-chain losses by level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power_chain_loss_j: Option<ChainLoss>,
    /// Lighting, offices and other facility loads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub misc_j: Option<f64>,
}

/// Cooling energy by component, J.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct CoolingEnergy {
    pub chiller: f64,
    pub tower_fans: f64,
    pub pumps: f64,
    pub crah_fans: f64,
    pub dry_coolers: f64,
    pub total: f64,
}

/// Power-chain losses by level, J.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct ChainLoss {
    pub pdu: f64,
    pub ups: f64,
    pub transformer: f64,
    pub total: f64,
}

/// Facility figures of a run (scenarios with a `facility` section).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct FacilitySummary {
    /// Whole-run power usage effectiveness: `energy.facility_j / energy.it_j`.
    pub pue: f64,
    /// Water usage effectiveness: site water L per IT kWh.
    pub wue_l_per_kwh: f64,
    /// Carbon usage effectiveness: operational kgCO2 per IT kWh (0 without a carbon series).
    pub cue_kg_per_kwh: f64,
    pub facility_peak_w: f64,
    pub carbon: CarbonSummary,
    pub water: WaterSummary,
    pub cost: CostSummary,
    pub cooling: CoolingSummary,
    pub weather: WeatherSummary,
    /// Rack inlet temperature of the cooling zone.
    pub thermal: ThermalSummary,
    /// Power budgets and breakers at the feed (scenarios with `capping` or a feed rating).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capping: Option<CappingSummary>,
    /// Breaker trips acted on by a cluster run (scenarios with breaker ratings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakers: Option<BreakerSummary>,
}

/// Rack inlet temperature of the site's cooling zone (RC model, exact between events).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct ThermalSummary {
    /// Highest inlet temperature, °C.
    pub max_inlet_c: f64,
    /// GPU-seconds throttled: in cluster runs ∫ GPUs up dt while the throttle is on (from the limit down to
    /// the release temperature); in inference runs (no feedback) every GPU of the zone × time above the limit.
    pub throttled_gpu_s: f64,
    /// Time above the limit, s, and above the recommended maximum, s.
    pub above_limit_s: f64,
    pub above_recommended_s: f64,
    /// The limit, °C.
    pub limit_c: f64,
    /// `C / G_d` (normal operation), s; `C`, J/K.
    pub time_constant_s: f64,
    pub heat_capacity_j_per_k: f64,
    /// Cooling failures that started within the run.
    pub cooling_failures: u64,
    /// Times the GPUs were throttled (cluster runs: the inlet reached the limit; the throttle slows jobs).
    pub throttle_episodes: u64,
}

/// Breaker trips and what they took down (cluster runs with rack, row or feed ratings).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct BreakerSummary {
    /// Every trip, in time order.
    pub trips: Vec<TripRecord>,
    /// Servers and GPUs down at the end (down for the rest of the run after their breaker tripped).
    pub servers_down: u64,
    pub gpus_down: u64,
    /// Running jobs interrupted by trips (back to the queue with their work up to the last checkpoint;
    /// counted among `jobs.preemptions` too).
    pub jobs_interrupted: u64,
}

/// One breaker trip.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TripRecord {
    pub time_s: f64,
    pub level: TripLevel,
}

/// The level of the power hierarchy whose breaker tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum TripLevel {
    Rack(u32),
    Row(u32),
    Feed,
}

/// Feed power budget and breaker, as seen in the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct CappingSummary {
    /// The feed's IT budget, W (absent: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed_budget_w: Option<f64>,
    /// Time the site's IT power was above the feed budget, s.
    pub time_over_budget_s: f64,
    /// Feed breaker trips (utility input above `power_chain.ratings.feed_w`): 0 or 1, and when.
    pub trips: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_trip_s: Option<f64>,
    /// The capping controller acting on the jobs (cluster runs with `capping.controller`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<CappingControllerSummary>,
}

/// What the capping controller did over a run (exact integrals between its decisions).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct CappingControllerSummary {
    /// Decisions taken (demand had changed), and time any budget was exceeded, s.
    pub decisions: u64,
    pub over_budget_s: f64,
    /// ∫ (demand − capped) IT power dt at the wall, J.
    pub energy_capped_j: f64,
    /// ∫ Σ (1 − clock ratio) dt over capped GPUs, GPU·s, and ∫ capped GPUs dt, GPU·s.
    pub throughput_lost_gpu_s: f64,
    pub capped_gpu_s: f64,
}

/// Carbon, kgCO2e.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct CarbonSummary {
    /// ∫ facility power × grid intensity (absent intensity: 0).
    pub operational_kg: f64,
    /// Embodied carbon of servers, GPUs, racks and building amortised over the horizon.
    pub embodied_kg: f64,
    /// Time-averaged grid intensity, gCO2/kWh (0 without a series).
    pub intensity_mean_g_per_kwh: f64,
}

/// Site water, L.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct WaterSummary {
    pub site_l: f64,
    pub evaporation_l: f64,
    pub blowdown_l: f64,
}

/// Electricity cost in the tariff's currency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct CostSummary {
    pub energy: f64,
    pub demand: f64,
    pub total: f64,
}

/// Cooling plant operation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct CoolingSummary {
    pub hours_by_mode: ModeHours,
}

/// Hours in each cooling mode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct ModeHours {
    pub mechanical: f64,
    pub partial: f64,
    pub free: f64,
    pub air_side: f64,
}

/// Outdoor conditions seen.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct WeatherSummary {
    pub station: String,
    pub wet_bulb_max_c: f64,
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
    /// GPUs free but unusable for the queue head, averaged over the samples: at each sample, the unallocated
    /// capacity (GPUs; shares count) of the models the head may use when the head does not fit; 0 when the
    /// queue is empty or the head is CPU-only.
    pub fragmented_gpus_mean: f64,
    /// The largest of those per-sample values, GPUs.
    pub fragmented_gpus_max: f64,
    /// EASY backfilling: jobs started ahead of the blocked queue head (0 for other queues).
    pub backfilled: u64,
    /// EASY backfilling: queue heads that started later than the reservation first made for them (a check;
    /// expected 0, see docs/models.md §Scheduling policies).
    pub backfill_late_heads: u64,
    /// Preemptions of running jobs (shared fleet: to make room for inference replicas); a job preempted twice
    /// counts twice.
    pub preemptions: u64,
    /// Work those preemptions lost: GPU-hours run since each job's last checkpoint.
    pub lost_gpu_h: f64,
    /// Jobs stopped because a server they ran on went down (a breaker trip, the feed, maintenance, a
    /// hardware failure); each also counts as a preemption.
    pub interrupted: u64,
    /// GPU-hours spent restarting after interruptions (`checkpoint.restart_s`, `scheduler.job_restart_s`),
    /// including restarts cut short by another interruption.
    pub restart_gpu_h: f64,
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
    /// Model-driven training results (training workloads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingSummary>,
    /// LLM inference serving results (inference workloads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference: Option<InferenceSummary>,
    /// Facility figures (scenarios with a `facility` section).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facility: Option<FacilitySummary>,
    /// Inference and jobs sharing the cluster (scenarios with `serving`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_fleet: Option<SharedFleetSummary>,
    /// The network fabric in the run (training workloads with `comm: Fabric(...)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkSummary>,
    /// Hardware failures and repairs (scenarios with a `failures` section).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<FailuresSummary>,
    /// The storage system (scenarios with a `storage` section).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSummary>,
    pub not_modelled: Vec<String>,
}

/// The shared storage system.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct StorageSummary {
    /// Aggregate write and read bandwidth and each server's link, GB/s.
    pub write_gbs: f64,
    pub read_gbs: f64,
    pub server_link_gbs: f64,
    /// Its power (in IT power) and energy over the run.
    pub power_w: f64,
    pub energy_j: f64,
    /// Bytes moved, and transfers completed (checkpoint writes; checkpoint loads at restarts).
    pub bytes_written: f64,
    pub bytes_read: f64,
    pub writes: u64,
    pub reads: u64,
    /// Mean duration of a completed write and read, s.
    pub write_mean_s: f64,
    pub read_mean_s: f64,
    /// Bytes moved ÷ (bandwidth × horizon).
    pub write_utilization: f64,
    pub read_utilization: f64,
    /// Time with at least one transfer in flight, s.
    pub write_busy_s: f64,
    pub read_busy_s: f64,
    /// Largest aggregate rate, GB/s.
    pub write_peak_gbs: f64,
    pub read_peak_gbs: f64,
    /// Most transfers (checkpoint writes and loads, model loads; not dataset streams) in flight at once.
    pub most_concurrent: u64,
    /// Training data read by jobs' dataset streams (included in `bytes_read`), and the stream-seconds a
    /// stream got less than it needed (its job slowed).
    pub dataset_bytes_read: f64,
    pub dataset_starved_s: f64,
}

/// Hardware failures, repairs and spares over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct FailuresSummary {
    /// `drawn` (per-class lifetimes) or `trace` (replayed from a file).
    pub source: String,
    /// Failures in the run, all classes.
    pub failures: u64,
    /// Failures that stopped running work (a job or an inference replica on a server they took down).
    pub interrupting_failures: u64,
    /// Work items (jobs, replicas) stopped by failures; one failure can stop several.
    pub work_interrupted: u64,
    /// Per class, in the order of [`FailureClassSummary::component`] names.
    pub classes: Vec<FailureClassSummary>,
    /// Per failure domain (`server`, `leaf`, `rack`): failures and the work they stopped.
    pub domains: Vec<FailureDomainSummary>,
    /// Server-hours and GPU-hours down because of failures (waiting for repair or a spare swap).
    pub server_down_h: f64,
    pub gpu_down_h: f64,
    /// Most servers down for failures at once.
    pub servers_down_max: u64,
    pub repairs: RepairSummary,
    pub spares: SparesSummary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct FailureClassSummary {
    /// `gpu`, `gpu_memory`, `link`, `host`, `leaf_switch`, `pdu`, `power_shelf`.
    pub component: String,
    /// What one failure takes down: `server`, `leaf` or `rack`.
    pub domain: String,
    /// Units of the class in the site.
    pub units: u64,
    pub failures: u64,
    /// Unit-hours in service (not failed) over the run.
    pub exposure_unit_h: f64,
    /// The configured mean time between failures of one unit, h (with `rate_scale`).
    pub mtbf_h: f64,
    /// `exposure_unit_h / failures` (absent without failures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_mtbf_h: Option<f64>,
    /// Failures that stopped running work, and the work items they stopped.
    pub interrupting: u64,
    pub work_interrupted: u64,
    /// Servers each failure took down, summed.
    pub servers_taken_down: u64,
    /// Repairs of this class completed, and their mean duration, h.
    pub repairs_completed: u64,
    pub repair_mean_h: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct FailureDomainSummary {
    pub domain: String,
    pub failures: u64,
    pub work_interrupted: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct RepairSummary {
    /// Repairs in progress at once at most (absent: unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crews: Option<u64>,
    pub completed: u64,
    /// Failed units still waiting or in repair at the horizon.
    pub open_at_end: u64,
    /// Time failed units waited for a crew: mean and maximum, h; the longest queue.
    pub wait_mean_h: f64,
    pub wait_max_h: f64,
    pub queue_max: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SparesSummary {
    /// Spare servers at the start, swaps done, failures that found no spare (their server waited for the
    /// repair), and the fewest spares on hand.
    pub initial: u64,
    pub swaps: u64,
    pub stockouts: u64,
    pub min_available: u64,
}

/// One row of `timeseries.csv`: the state at `time_s` (after every event at or before that time).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Sample {
    pub time_s: f64,
    pub it_power_w: f64,
    pub busy_gpus: f64,
    pub running_jobs: u64,
    pub queued_jobs: u64,
    /// Servers down for hardware failures, and failures so far (scenarios with `failures`; `None` otherwise).
    pub failures: Option<FailureSample>,
    /// Facility state at `time_s` (scenarios with a `facility`; `None` otherwise).
    pub facility: Option<FacilitySample>,
    /// Latency percentiles of the hour holding `time_s`, measured in its window (long-horizon serving;
    /// `None` otherwise).
    pub serving: Option<ServingSample>,
}

/// The serving columns of a [`Sample`] in long-horizon mode: the TTFT and TPOT percentiles the window of the
/// hour's arrival rate measured (nearest rank), s.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct ServingSample {
    pub ttft_p50_s: f64,
    pub ttft_p99_s: f64,
    pub tpot_p50_s: f64,
    pub tpot_p99_s: f64,
}

/// The failure columns of a [`Sample`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct FailureSample {
    /// Servers down for failures at `time_s` (waiting for repair or a spare).
    pub servers_failed: u64,
    /// Failures from 0 to `time_s`.
    pub failures_total: u64,
}

/// The facility columns of a [`Sample`], read from the facility meter at the sample time: powers are the
/// state at `time_s` (piecewise constant, after every event at or before it), energies are exact integrals
/// from 0 to `time_s`, `pue_interval` is the exact PUE over the interval since the previous sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct FacilitySample {
    /// Utility-feed power: IT + power-chain losses + cooling + misc, W.
    pub facility_power_w: f64,
    /// IT power the facility meter sees, W (equals the sample's `it_power_w`).
    pub it_power_w: f64,
    /// PDU + UPS + transformer losses, W.
    pub power_chain_loss_w: f64,
    /// Cooling plant total, W, and its components.
    pub cooling_power_w: f64,
    pub chiller_w: f64,
    pub tower_fans_w: f64,
    pub pumps_w: f64,
    pub crah_fans_w: f64,
    pub dry_coolers_w: f64,
    /// Lighting, offices and other facility loads, W.
    pub misc_w: f64,
    /// `Δ facility energy / Δ IT energy` since the previous sample (the instantaneous PUE at the first
    /// sample).
    pub pue_interval: f64,
    /// Outdoor weather in force at `time_s`, °C.
    pub outdoor_dry_bulb_c: f64,
    pub outdoor_wet_bulb_c: f64,
    /// Rack inlet (cold-aisle) temperature of the cooling zone, °C.
    pub inlet_c: f64,
    /// Grid carbon intensity in force at `time_s`, gCO2/kWh (`None` without a carbon series).
    pub carbon_intensity_g_per_kwh: Option<f64>,
    /// IT and utility-feed energy from 0 to `time_s`, J (exact integrals).
    pub it_energy_j: f64,
    pub facility_energy_j: f64,
}

/// Everything a run hands to the reports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunOutput {
    pub summary: Summary,
    pub timeseries: Vec<Sample>,
    /// Per-entity tables (`jobs.csv`, `requests.csv`, `racks.csv`); empty unless the run was asked for them.
    pub tables: Tables,
}

/// Per-entity tables of a run (docs/outputs.md): one row per job, per (sampled) request, per rack.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tables {
    /// One row per submitted job, in submission order (runs with jobs; `None` otherwise).
    pub jobs: Option<Vec<JobRow>>,
    /// The requests of a serving run (`None` otherwise), sampled above a maximum.
    pub requests: Option<RequestTable>,
    /// One row per rack, in site order (empty when not asked for).
    pub racks: Vec<RackRow>,
}

/// Where a job stands at the horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Finished within the horizon.
    Completed,
    /// Holding its GPUs at the horizon.
    Running,
    /// Waiting in the queue at the horizon (never started, or preempted and not restarted).
    Queued,
}

impl JobState {
    /// The name written to `jobs.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Completed => "completed",
            JobState::Running => "running",
            JobState::Queued => "queued",
        }
    }
}

/// One job of a run (`jobs.csv`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobRow {
    /// Submission order, 0-based.
    pub id: u64,
    /// The job's name (model-driven training jobs; empty otherwise).
    pub name: String,
    pub submit_s: f64,
    /// First start and finish, s (`None`: not within the horizon).
    pub start_s: Option<f64>,
    pub finish_s: Option<f64>,
    /// `start − submit` (first start), s, exact (`None`: did not start).
    pub wait_s: Option<f64>,
    /// GPUs asked for (a shared-GPU job counts its share: 0.5 for half a GPU).
    pub gpus: f64,
    /// Distinct servers the job ran on, over all its runs.
    pub servers: u64,
    /// GPU energy of the job while it ran within the horizon, J (model-driven training jobs; `None` otherwise).
    pub gpu_energy_j: Option<f64>,
    /// Times preempted (interruptions included) and of those, interrupted by a server going down.
    pub preemptions: u64,
    pub interruptions: u64,
    pub state: Option<JobState>,
}

/// The requests written to `requests.csv`: `rows` of the `total` requests, chosen by [`sample_indices`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestTable {
    /// Requests the run simulated (long-horizon: over the windows).
    pub total: u64,
    /// The most rows the table may hold (`reporting.requests_csv_max`).
    pub max: u64,
    pub rows: Vec<RequestRow>,
}

/// What became of a request by the end of its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOutcome {
    /// Its last token was generated.
    Completed,
    /// Dropped: no replica was serving.
    Dropped,
    /// In a running batch at the horizon (long-horizon windows: at the end of the window's drain).
    InService,
    /// Waiting for a replica at the horizon.
    Queued,
}

impl RequestOutcome {
    /// The name written to `requests.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Completed => "completed",
            RequestOutcome::Dropped => "dropped",
            RequestOutcome::InService => "in_service",
            RequestOutcome::Queued => "queued",
        }
    }
}

/// One request (`requests.csv`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestRow {
    /// Arrival order in its run, 0-based (long-horizon: within its window's run).
    pub id: u64,
    /// Long-horizon runs: the window (index into `inference.long_horizon.windows`); `None` otherwise.
    pub window: Option<u32>,
    /// Arrival time in its run, s (long-horizon: in the window's run, warm-up included).
    pub arrival_s: f64,
    /// Completed requests: TTFT, TPOT (0 for one output token), end-to-end latency and queue wait, s.
    pub ttft_s: Option<f64>,
    pub tpot_s: Option<f64>,
    pub e2e_s: Option<f64>,
    pub queue_wait_s: Option<f64>,
    pub prompt_tokens: u32,
    pub output_tokens: u32,
    /// The replica it was last routed to (`None`: never routed, parked or dropped).
    pub replica: Option<u32>,
    pub outcome: RequestOutcome,
}

/// The indices of the rows kept when `total` items are written at most `max` at a time: all of them when
/// `total ≤ max`, else `⌊j · total / max⌋` for `j = 0 … max − 1` — `max` indices, evenly spread, in order, the
/// first one 0. Deterministic (no random stream).
pub fn sample_indices(total: u64, max: u64) -> impl Iterator<Item = u64> {
    let n = total.min(max);
    (0..n).map(move |j| {
        if total <= max {
            j
        } else {
            (j as u128 * total as u128 / max as u128) as u64
        }
    })
}

/// One rack (`racks.csv`): where it is, what it holds, and its IT power over the run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RackRow {
    /// Site indices (as in the site description): hall, row within the site, rack within the site.
    pub hall: u32,
    pub row: u32,
    pub rack: u32,
    pub servers: u64,
    pub gpus: u64,
    /// Highest IT power drawn by the rack's servers (at their inlets), W, and the time-average, W.
    pub it_peak_w: f64,
    pub it_mean_w: f64,
    /// ∫ IT power dt over the horizon, J.
    pub it_energy_j: f64,
    /// Highest inlet temperature of the rack, °C (facility runs: the site's one cooling zone; `None` without).
    pub inlet_peak_c: Option<f64>,
    /// Trips of this rack's own breaker (0 or 1; trips of its row or the feed are not counted here).
    pub breaker_trips: u64,
}

/// LLM inference serving results.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct InferenceSummary {
    pub model: String,
    pub requests: RequestCounts,
    /// Time to first token, s (completed requests).
    pub ttft_s: Stats,
    /// Time per output token after the first, s (completed requests with ≥ 2 output tokens).
    pub tpot_s: Stats,
    /// Arrival to last token, s.
    pub e2e_s: Stats,
    /// Arrival to first admission into a batch, s.
    pub queue_wait_s: Stats,
    pub tokens: TokenCounts,
    pub slo: SloSummary,
    pub replicas: ReplicaSummary,
    pub energy: InferenceEnergy,
    pub little_law: LittleLaw,
    /// Replicas under a static per-GPU power cap (scenarios with `facility.capping.gpu_cap_w`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capping: Option<InferenceCapping>,
    /// Long-horizon mode: the windows simulated (the figures above are combined from them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_horizon: Option<LongHorizonSummary>,
}

/// How a long-horizon run measured its serving figures (docs/models.md §Long-horizon serving).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct LongHorizonSummary {
    /// Replicas simulated in each window (of `replicas.count`).
    pub replicas_sampled: u64,
    pub warmup_s: f64,
    pub window_s: f64,
    pub drain_s: f64,
    /// Requests the windows simulated (arrived in the measured windows), and of those the ones unfinished when
    /// their window's drain ended (left out of the latency figures).
    pub simulated_requests: u64,
    pub unfinished_requests: u64,
    /// Events the windows handled (of `events_processed`, which adds the horizon run's hourly events).
    pub window_events: u64,
    /// One window per distinct hourly arrival rate, slowest first.
    pub windows: Vec<WindowSummary>,
}

/// One long-horizon window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct WindowSummary {
    /// The fleet's arrival rate in the hours this window stands for, requests/s.
    pub arrival_rate_per_s: f64,
    /// Hours of the horizon at this rate.
    pub hours: f64,
    /// Mean activity of the replicas' GPUs over the measured window (0 idle … 1 board power).
    pub gpu_activity_mean: f64,
    /// Replicas busy (iterating), mean fraction.
    pub busy_fraction: f64,
    pub ttft_p50_s: f64,
    pub ttft_p99_s: f64,
    pub tpot_p50_s: f64,
    pub tpot_p99_s: f64,
    /// Requests that arrived in the measured window.
    pub requests: u64,
}

/// What a static per-GPU power cap did to the replicas (docs/models.md §Power capping, "Inference replicas").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct InferenceCapping {
    /// The static cap (`facility.capping.gpu_cap_w`), W per GPU (DC); absent without one (the capping
    /// controller and thermal throttling may still limit the replicas' GPUs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_cap_w: Option<f64>,
    /// Finished iterations whose full-clock GPU demand exceeded the cap (of `replicas.iterations`).
    pub capped_iterations: u64,
    /// Time the cap added to those iterations (`t_iter' − t_iter`, summed), replica-s.
    pub added_iteration_s: f64,
    /// GPU time spent in capped iterations (to the horizon), GPU-s.
    pub capped_gpu_s: f64,
    /// Mean DVFS clock ratio over `capped_gpu_s` (1 when nothing was capped).
    pub clock_ratio_mean: f64,
    /// Highest power one replica GPU drew while iterating, W (at most `gpu_cap_w`; 0 without iterations).
    pub peak_gpu_w: f64,
}

/// Request conservation: `arrived = completed + in_service_at_end + queued_at_end`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct RequestCounts {
    pub arrived: u64,
    pub completed: u64,
    pub in_service_at_end: u64,
    pub queued_at_end: u64,
    /// Trace requests after the horizon.
    pub not_arrived: u64,
    pub preemptions: u64,
    /// KV-cache tokens discarded by preemption and prefilled again.
    pub recomputed_tokens: u64,
    /// Requests moved to another replica because theirs stopped (its server went down), or held for a replica
    /// warming up to replace it; they prefill again.
    pub rerouted: u64,
    /// Requests dropped because no replica was serving (all of them down).
    /// `arrived = completed + in_service_at_end + queued_at_end + dropped`.
    pub dropped: u64,
}

/// Token throughput.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct TokenCounts {
    /// Prompt tokens prefilled (including recomputation).
    pub prefilled: u64,
    pub generated: u64,
    pub prefill_per_s: f64,
    pub generated_per_s: f64,
}

/// SLO attainment of completed requests.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct SloSummary {
    pub ttft_target_s: f64,
    pub tpot_target_s: f64,
    /// Fraction of completed requests meeting both targets.
    pub attainment: f64,
}

/// Replica fleet.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct ReplicaSummary {
    pub count: u64,
    pub gpus_per_replica: u64,
    /// KV-cache capacity per replica, tokens.
    pub kv_capacity_tokens: u64,
    /// Time-averaged replicas serving (or draining).
    pub serving_mean: f64,
    /// Fraction of serving replica-time spent iterating.
    pub utilization_mean: f64,
    pub iterations: u64,
    /// Autoscaling decisions that added or removed a replica.
    pub scale_ups: u64,
    pub scale_downs: u64,
    /// How full the iterations run (docs/outputs.md, "Headroom").
    pub headroom: ReplicaHeadroom,
}

/// How full the replicas' iterations are, over the iterations started, weighted by their duration: a replica
/// that is always iterating (utilization 1) can still have room in every batch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct ReplicaHeadroom {
    /// Batch tokens ÷ `max_batch_tokens`.
    pub token_budget_occupancy_mean: f64,
    pub token_budget_occupancy_max: f64,
    /// Requests in the batch ÷ `max_batch_requests`.
    pub batch_requests_occupancy_mean: f64,
    /// KV-cache tokens held ÷ the replica's capacity, at each iteration's start.
    pub kv_occupancy_mean: f64,
    pub kv_occupancy_max: f64,
}

/// Energy of the replicas' GPUs by phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct InferenceEnergy {
    /// GPU energy while iterating, attributed to prefill.
    pub prefill_gpu_j: f64,
    /// GPU energy while iterating, attributed to decode.
    pub decode_gpu_j: f64,
    /// IT energy of the whole site per generated token.
    pub it_per_generated_token_j: f64,
}

/// Little's law check: `mean_in_system` (time integral of requests in system ÷ horizon) against
/// `arrival_rate_per_s × mean_time_in_system_s` (per-request sojourns, censored at the horizon).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct LittleLaw {
    pub mean_in_system: f64,
    pub arrival_rate_per_s: f64,
    pub mean_time_in_system_s: f64,
    pub relative_error: f64,
}

/// Model-driven training results, one entry per job in submission order.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct TrainingSummary {
    pub jobs: Vec<TrainingJobSummary>,
    /// Over every training job that started, GPU-weighted: training time kept ÷ time since each job first
    /// started (absent when none started), and the GPU-hours of training kept, lost (since the last checkpoint
    /// at interruptions), restarting and stalled for checkpoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ettr: Option<f64>,
    pub useful_gpu_h: f64,
    pub lost_gpu_h: f64,
    pub restart_gpu_h: f64,
    pub checkpoint_stall_gpu_h: f64,
}

/// One training job: the model's prediction and what happened in the run.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct TrainingJobSummary {
    pub name: String,
    pub gpu_model: String,
    pub gpus: u64,
    /// Optimizer steps and tokens of the whole job.
    pub steps: u64,
    pub tokens: u64,
    /// Step time and its parts, s.
    pub step_s: f64,
    /// Kernels on the slowest pipeline stage: `gemm_s + attention_s + elementwise_s`.
    pub compute_s: f64,
    pub gemm_s: f64,
    pub attention_s: f64,
    pub elementwise_s: f64,
    pub bubble_s: f64,
    pub comm_exposed_s: f64,
    /// The optimizer update, s.
    pub optimizer_s: f64,
    /// Input power of one of the job's servers during the compute phases, averaged over the run, and during
    /// exposed communication and the pipeline bubble, W.
    pub node_power_peak_w: f64,
    pub node_power_mean_w: f64,
    pub node_power_trough_w: f64,
    /// Share of the step spent in exposed communication.
    pub comm_share: f64,
    /// Model FLOPs utilisation over a step (6·P·tokens / (N · peak · step)).
    pub achieved_mfu: f64,
    pub tokens_per_s: f64,
    /// Predicted run time including checkpoint writes, s.
    pub time_to_finish_s: f64,
    /// Time-weighted GPU activity factor over the run (drives GPU power).
    pub gpu_activity: f64,
    pub submit_s: f64,
    /// When the job started and finished in the run (absent if it did not within the horizon).
    pub start_s: Option<f64>,
    pub finish_s: Option<f64>,
    /// GPU energy of the job's GPUs while it ran within the horizon, J.
    pub gpu_energy_j: f64,
    /// `gpu_energy_j / tokens` for completed jobs, J/token.
    pub gpu_energy_per_token_j: Option<f64>,
    /// Time the job held its GPUs within the horizon (all runs), s.
    pub ran_s: f64,
    /// Times preempted (shared fleet), run time lost (since the last checkpoint) and whole optimizer steps
    /// lost with it.
    pub preemptions: u32,
    pub lost_s: f64,
    pub lost_steps: u64,
    /// Training time between checkpoints the run used (the plan's, or Young's/Daly's for the job), s; the
    /// checkpoint's size, B, and the stall of one write, s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_every_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_bytes: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_write_s: Option<f64>,
    /// Time spent restarting after interruptions (and loading checkpoints), s.
    pub restart_s: f64,
    /// Checkpoints completed in the run, and the time training stalled for checkpoints (synchronous writes,
    /// snapshots, waits for an asynchronous write), s.
    pub checkpoints_written: u64,
    pub checkpoint_stall_s: f64,
    /// Training time kept, s: `ran_s − lost_s − restart_s − checkpoint_stall_s`; and the time since the job
    /// first started, to its finish or the horizon, s (absent if it never started).
    pub useful_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall_s: Option<f64>,
    /// Effective training time ratio: time spent on training that was kept (not lost, not restarting, not
    /// writing checkpoints) ÷ time since its first start (to its finish or the horizon). Absent if it never
    /// started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ettr: Option<f64>,
    /// With a network fabric: the step time and exposed communication as run (contended, as placed),
    /// time-weighted over the job's running time, s; `step_s` etc. above are the prediction (packed, alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_step_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_comm_exposed_s: Option<f64>,
}

/// How inference replicas and jobs shared the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SharedFleetSummary {
    /// `Preempt` or `Wait`.
    pub make_room: String,
    /// Replica GPU-hours held (serving, warming or draining), and the share of the site's GPU-hours.
    pub replica_gpu_h: f64,
    pub replica_gpu_share: f64,
    /// Jobs preempted to make room for replicas (also in `jobs.preemptions`).
    pub jobs_preempted: u64,
    /// Replica switch-ons that had to wait for GPUs (`Wait`; `Preempt` when no server could be freed at once).
    pub replica_waits: u64,
}

/// The network fabric over a run.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct NetworkSummary {
    pub switches: u64,
    /// Switch and optics energy (part of `energy.it_j`), J, and its mean power, W.
    pub switch_energy_j: f64,
    pub switch_power_mean_w: f64,
    /// Times the running training jobs were priced together (each start, finish or preemption).
    pub pricings: u64,
    pub tiers: Vec<TierSummary>,
}

/// Link use of one fabric tier: links, time-weighted mean utilisation over the horizon (mean over the tier's
/// links), and the highest single-link utilisation seen.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct TierSummary {
    pub tier: String,
    pub links: u64,
    pub mean_utilization: f64,
    pub max_utilization: f64,
}

#[cfg(test)]
mod tests {
    use super::Stats;

    /// Equal weights give the nearest-rank statistics; a weight counts as that many copies.
    #[test]
    fn weighted_stats_agree_with_ranks() {
        let mut v: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1000) as f64 * 0.01)
            .collect();
        let mut w: Vec<(f64, f64)> = v.iter().map(|&x| (x, 2.5)).collect();
        let a = Stats::from_values(&mut v);
        let b = Stats::from_weighted(&mut w);
        assert_eq!(
            (a.p50, a.p90, a.p95, a.p99, a.max),
            (b.p50, b.p90, b.p95, b.p99, b.max)
        );
        assert!((a.mean - b.mean).abs() < 1e-12 && b.count == 2500);
        // {1 ×3, 2 ×1}: the median is 1, the p90 2; the mean 1.25.
        let s = Stats::from_weighted(&mut [(2.0, 1.0), (1.0, 3.0)]);
        assert_eq!((s.p50, s.p90, s.mean, s.count), (1.0, 2.0, 1.25, 4));
        assert_eq!(Stats::from_weighted(&mut []), Stats::default());
    }
}
