//! Where jobs come from during a run: a trace (jobs in submission order) or a synthetic generator
//! that draws the next job when the previous one arrives (constant memory however long the horizon).

use sim::{RngStreams, SimDuration, SimRng, SimTime};

use serde::{Deserialize, Serialize};

use super::dist::{CountDist, CountSampler, DurationDist, DurationSampler};
use super::job::JobSpec;

/// Random stream names used by the synthetic generator (see `docs/models.md` §Randomness).
pub const STREAM_ARRIVALS: &str = "arrivals";
pub const STREAM_DURATIONS: &str = "durations";
pub const STREAM_SIZES: &str = "sizes";

/// A stream of synthetic jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticJobs {
    /// Time between submissions, s (random stream `arrivals`).
    pub interarrival_s: DurationDist,
    /// Job run time, s (random stream `durations`).
    pub duration_s: DurationDist,
    /// GPUs per job (random stream `sizes`).
    pub gpus: CountDist,
    /// Restrict jobs to one GPU model (default: any).
    #[serde(default)]
    pub gpu_model: Option<String>,
}

/// A synthetic job stream.
#[derive(Debug)]
pub struct SyntheticSource {
    interarrival: DurationSampler,
    duration: DurationSampler,
    gpus: CountSampler,
    model_mask: u64,
    arrivals: SimRng,
    durations: SimRng,
    sizes: SimRng,
    next_submit: SimTime,
}

impl SyntheticSource {
    /// Parameters must have been validated (`load_scenario` does).
    pub fn new(cfg: &SyntheticJobs, model_mask: u64, streams: &RngStreams) -> Self {
        let mut s = SyntheticSource {
            interarrival: cfg.interarrival_s.sampler(),
            duration: cfg.duration_s.sampler(),
            gpus: cfg.gpus.sampler(),
            model_mask,
            arrivals: streams.stream(STREAM_ARRIVALS),
            durations: streams.stream(STREAM_DURATIONS),
            sizes: streams.stream(STREAM_SIZES),
            next_submit: SimTime::ZERO,
        };
        // The first job arrives one interarrival time after the start.
        s.next_submit = s.draw_gap(SimTime::ZERO);
        s
    }

    fn draw_gap(&mut self, from: SimTime) -> SimTime {
        let gap = self.interarrival.sample(&mut self.arrivals);
        from.saturating_add(SimDuration::from_secs_f64(gap).unwrap_or(SimDuration::MAX))
    }

    /// The next job and its GPU model mask (non-decreasing submit order; the stream is endless).
    pub fn next_job(&mut self) -> (JobSpec, u64) {
        let submit = self.next_submit;
        let d = self.duration.sample(&mut self.durations);
        let gpus = self.gpus.sample(&mut self.sizes);
        self.next_submit = self.draw_gap(submit);
        let duration = SimDuration::from_secs_f64(d).unwrap_or(SimDuration::MAX);
        (JobSpec::whole_gpus(submit, duration, gpus), self.model_mask)
    }
}

/// The run's job source.
#[derive(Debug)]
pub enum JobSource {
    /// Trace jobs with their GPU model masks (parallel vectors).
    Trace {
        jobs: Vec<JobSpec>,
        masks: Vec<u64>,
        /// GPU activity factor of each job in thousandths (empty: every job uses the catalog default).
        activity_milli: Vec<u16>,
        next: usize,
    },
    Synthetic(Box<SyntheticSource>),
}

impl JobSource {
    /// The next job in submission order, its GPU model mask and its activity factor (thousandths; 0 = the
    /// catalog default), if any. Trace jobs are moved out, not cloned.
    pub fn next_job(&mut self) -> Option<(JobSpec, u64, u16)> {
        match self {
            JobSource::Trace {
                jobs,
                masks,
                activity_milli,
                next,
            } => {
                let i = *next;
                let j = jobs.get_mut(i).map(std::mem::take)?;
                *next += 1;
                Some((j, masks[i], activity_milli.get(i).copied().unwrap_or(0)))
            }
            JobSource::Synthetic(s) => {
                let (j, m) = s.next_job();
                Some((j, m, 0))
            }
        }
    }

    /// Submission time of the job `next_job` would return.
    pub fn peek_submit(&self) -> Option<SimTime> {
        match self {
            JobSource::Trace { jobs, next, .. } => jobs.get(*next).map(|j| j.submit),
            JobSource::Synthetic(s) => Some(s.next_submit),
        }
    }

    /// Trace jobs not yet taken (after the run: jobs submitted after the horizon).
    pub fn remaining(&self) -> u64 {
        match self {
            JobSource::Trace { jobs, next, .. } => jobs.len().saturating_sub(*next) as u64,
            JobSource::Synthetic(_) => 0,
        }
    }
}
