//! Per-job rules the cluster applies: how much work a preempted job keeps (checkpoints), how trace durations
//! scale with GPU speed, and how fast a job runs under GPU power limits (DVFS).

use models::facility::capping::{DvfsConfig, throughput_ratio};
use models::placement::ServerLoad;
use models::power::ServerPowerModel;
use scenario::LoadedScenario;
use sim::SimDuration;

/// How much of its work a preempted job keeps.
pub(crate) struct Checkpoints {
    /// Checkpoint period of each training job by id (`every_s + write_s`; None: no checkpoints).
    period_by_id: Vec<Option<SimDuration>>,
    /// Trace and synthetic jobs: `scheduler.job_checkpoint_s`.
    default_period: Option<SimDuration>,
    /// Training jobs by id: (training time between checkpoints, step time), for lost steps.
    steps_by_id: Vec<Option<(SimDuration, SimDuration)>>,
    /// Restart time after an interruption: training jobs by id (`checkpoint.restart_s`); other jobs
    /// `scheduler.job_restart_s`.
    restart_by_id: Vec<SimDuration>,
    default_restart: SimDuration,
    /// Training jobs with checkpoints, by id: their explicit checkpoint cycle.
    cycles: Vec<Option<CycleSpec>>,
    /// Training jobs by id, with a storage system: the rate at which they read their dataset while training,
    /// B/s (tokens/s × `storage.dataset_bytes_per_token`).
    streams: Vec<Option<f64>>,
}

/// The checkpoint cycle of a training job (docs/models.md §Checkpoint interval): compute `every_ns` of work,
/// write a checkpoint (a fixed stall, or `bytes` through the storage system), repeat; after an interruption,
/// restart (`restart`, then the checkpoint load through the storage system when it has one).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CycleSpec {
    /// Training work between checkpoints, ns at full speed.
    pub(crate) every_ns: f64,
    /// The write stall without a storage system.
    pub(crate) write: SimDuration,
    /// The checkpoint's size when writes and loads go through the storage system.
    pub(crate) bytes: Option<f64>,
    /// The restart before the load.
    pub(crate) restart: SimDuration,
    /// Asynchronous checkpoints: the snapshot stall (the write then overlaps training).
    pub(crate) snapshot: Option<SimDuration>,
    /// Planned run time ÷ training time (`time_to_finish_s / train_s`): the queue's estimate of a remaining run.
    pub(crate) plan_ratio: f64,
    /// One training step, ns (for lost steps).
    pub(crate) step_ns: f64,
}

impl Checkpoints {
    pub(crate) fn new(loaded: &LoadedScenario) -> Self {
        let secs = |s: f64| SimDuration::from_secs_f64(s).filter(|d| !d.is_zero());
        let training = loaded.training.as_deref().unwrap_or(&[]);
        Checkpoints {
            period_by_id: training
                .iter()
                .map(|t| {
                    t.checkpoint
                        .as_ref()
                        .and_then(|c| secs(c.every_s + c.write_s()))
                })
                .collect(),
            default_period: loaded.scenario.scheduler.job_checkpoint_s.and_then(secs),
            steps_by_id: training
                .iter()
                .map(|t| {
                    let every = t.checkpoint.as_ref().and_then(|c| secs(c.every_s));
                    Some((
                        every.unwrap_or(SimDuration::MAX),
                        secs(t.estimate.step.total_s)?,
                    ))
                })
                .collect(),
            restart_by_id: training
                .iter()
                .map(|t| {
                    t.checkpoint
                        .as_ref()
                        .and_then(|c| SimDuration::from_secs_f64(c.restart_s))
                        .unwrap_or(SimDuration::ZERO)
                })
                .collect(),
            default_restart: loaded
                .scenario
                .scheduler
                .job_restart_s
                .and_then(SimDuration::from_secs_f64)
                .unwrap_or(SimDuration::ZERO),
            streams: training
                .iter()
                .map(|t| {
                    let st = loaded.scenario.storage.as_ref()?;
                    let bps = t.estimate.tokens_per_s * st.dataset_bytes_per_token;
                    (bps > 0.0).then_some(bps)
                })
                .collect(),
            cycles: training
                .iter()
                .map(|t| {
                    let c = t.checkpoint.as_ref()?;
                    let e = &t.estimate;
                    Some(CycleSpec {
                        every_ns: c.every_s * 1e9,
                        write: SimDuration::from_secs_f64(c.write_s())?,
                        bytes: t.storage_bytes,
                        restart: SimDuration::from_secs_f64(c.restart_s)?,
                        snapshot: match c.mode {
                            models::training::CheckpointMode::Sync => None,
                            models::training::CheckpointMode::Async { snapshot_s } => {
                                Some(SimDuration::from_secs_f64(snapshot_s)?)
                            }
                        },
                        plan_ratio: if e.train_s > 0.0 {
                            e.time_to_finish_s / e.train_s
                        } else {
                            1.0
                        },
                        step_ns: e.step.total_s * 1e9,
                    })
                })
                .collect(),
        }
    }

    /// The dataset stream of job `id`, B/s, if it is a training job reading through a storage system.
    pub(crate) fn stream(&self, id: u64) -> Option<f64> {
        self.streams.get(id as usize).copied().flatten()
    }

    /// The checkpoint cycle of job `id`, if it is a training job with checkpoints.
    pub(crate) fn cycle(&self, id: u64) -> Option<&CycleSpec> {
        self.cycles.get(id as usize).and_then(Option::as_ref)
    }

    /// The restart a job pays before its work resumes after an interruption.
    pub(crate) fn restart(&self, id: u64) -> SimDuration {
        self.restart_by_id
            .get(id as usize)
            .copied()
            .unwrap_or(self.default_restart)
    }

    /// (work kept, work lost) of job `id` that has run `elapsed` since it (re)started: kept `⌊e/P⌋·P`.
    pub(crate) fn split(&self, id: u64, elapsed: SimDuration) -> (SimDuration, SimDuration) {
        let period = match self.period_by_id.get(id as usize) {
            Some(p) => *p,
            None => self.default_period,
        };
        let kept = match period {
            Some(p) => SimDuration::from_nanos(elapsed.as_nanos() / p.as_nanos() * p.as_nanos()),
            None => SimDuration::ZERO,
        };
        (
            kept,
            SimDuration::from_nanos(elapsed.as_nanos() - kept.as_nanos()),
        )
    }

    /// Whole training steps done since the last checkpoint and lost with `lost` (0 for other jobs).
    pub(crate) fn lost_steps(&self, id: u64, lost: SimDuration) -> u64 {
        match self.steps_by_id.get(id as usize) {
            Some(Some((every, step))) => lost.min(*every).as_nanos() / step.as_nanos(),
            _ => 0,
        }
    }
}

/// Trace durations rescaled by GPU speed: `T'/T` per catalog model (docs/models.md §Traces).
pub(crate) struct DurationScale(pub(crate) Vec<f64>);

impl DurationScale {
    /// `d` scaled by the largest factor among the models in `mask`.
    pub(crate) fn scale(&self, d: SimDuration, mask: u64) -> SimDuration {
        let f = (0..self.0.len())
            .filter(|&m| (mask >> m) & 1 == 1)
            .map(|m| self.0[m])
            .fold(0.0f64, f64::max);
        SimDuration::from_nanos(((d.as_nanos() as f64 * f).round() as u64).max(1))
    }
}

/// How fast a job runs on GPUs under power limits: the DVFS model and each job's compute-bound share β.
pub(crate) struct Dvfs {
    dvfs: DvfsConfig,
    /// β of jobs without a training plan.
    default_beta: f64,
    /// β of each training job, by job id (its compute share of the step).
    training_beta: Vec<f64>,
}

impl Dvfs {
    pub(crate) fn new(loaded: &LoadedScenario) -> Self {
        let dvfs = loaded
            .facility
            .as_ref()
            .and_then(|f| f.config.capping.as_ref())
            .map(|c| c.dvfs)
            .unwrap_or_default();
        Dvfs {
            dvfs,
            default_beta: dvfs.job_compute_fraction,
            training_beta: loaded
                .training
                .iter()
                .flatten()
                .map(|t| {
                    let s = &t.estimate.step;
                    if s.total_s > 0.0 {
                        s.compute_s / s.total_s
                    } else {
                        1.0
                    }
                })
                .collect(),
        }
    }

    fn beta(&self, job_id: u64) -> f64 {
        self.training_beta
            .get(job_id as usize)
            .copied()
            .unwrap_or(self.default_beta)
    }

    /// Throughput ratio of job `job_id` on GPU `slot` of a server (`model`, `load`) limited to `cap_w`:
    /// `1 / (β/r + 1 − β)` with `r` the clock ratio (1 when the GPU's demand is within the limit).
    pub(crate) fn gpu_speed(
        &self,
        job_id: u64,
        model: &ServerPowerModel,
        load: &ServerLoad,
        slot: usize,
        cap_w: f64,
    ) -> f64 {
        let demand = model.gpu_idle_w
            + load.active_micro[slot] as f64 / 1e6 * (model.gpu_board_w - model.gpu_idle_w);
        if demand > cap_w {
            let s = self.dvfs.static_fraction * model.gpu_board_w;
            throughput_ratio(cap_w, demand, s, self.dvfs.gamma, self.beta(job_id))
        } else {
            1.0
        }
    }
}
