//! Jobs and the queue: what the cluster part knows about each submitted job.

use models::placement::{Grant, JobReq};
use sim::{SimDuration, SimTime};

use crate::kernel::FactorId;
use crate::work::WorkId;

/// A submitted job that has not finished.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// Stable id: submission order (0-based).
    pub(crate) id: u64,
    pub(crate) submit: SimTime,
    /// Run time left at full speed when it (re)started (a preempted job keeps the work up to its last checkpoint).
    pub(crate) duration: SimDuration,
    pub(crate) req: JobReq,
    /// Start of the current run (None while queued).
    pub(crate) start: Option<SimTime>,
    /// The GPU shares the job holds while running.
    pub(crate) grants: Vec<Grant>,
    /// Its entry in the work registry while running.
    pub(crate) work: Option<WorkId>,
    /// First start (kept across preemptions).
    pub(crate) first_start: Option<SimTime>,
    /// Times preempted, and the work lost (run time since the last checkpoint), summed.
    pub(crate) preemptions: u32,
    pub(crate) lost: SimDuration,
    /// Training steps done since the last checkpoint and lost at preemptions, summed.
    pub(crate) lost_steps: u64,
    /// The restart the current run began with (zero for a first run): its first `restart` of wall time at
    /// full speed is no work.
    pub(crate) restart: SimDuration,
    /// Scheduling priority (`Priority` queue; higher first).
    pub(crate) priority: u8,
    /// Progress of the current run: work left (ns at full speed), the wall time per unit of work now (the
    /// product of `factors`), and since when it holds.
    pub(crate) work_left_ns: f64,
    pub(crate) rate: f64,
    pub(crate) rate_since: SimTime,
    /// Wall-time-per-work factors, by [`FactorId`] (1: no effect): the network fabric's contention, the
    /// slowdown under GPU power limits, ….
    pub(crate) factors: [f64; FactorId::MAX],
    /// Training jobs with checkpoints: the training work left when the current run began (kept across runs),
    /// ns at full speed, and where the run is in its checkpoint cycle.
    pub(crate) train_left_ns: f64,
    pub(crate) cycle: Option<Cycle>,
    /// Its dataset stream through the storage system is open (while it trains).
    pub(crate) streaming: bool,
}

/// Where a training job's run is in its checkpoint cycle (docs/models.md §Checkpoint interval).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Restarting after an interruption (no training).
    Restart,
    /// Loading its checkpoint from the storage system (no training).
    Load,
    /// Training.
    Compute,
    /// Writing a checkpoint (synchronous; no training).
    Write,
    /// Copying the state for an asynchronous checkpoint (no training).
    Snapshot,
    /// Waiting for the previous asynchronous write before the next snapshot or the end (no training).
    Drain,
}

/// An asynchronous checkpoint being written: the work it saves, when training resumed after its snapshot, and
/// its sequence number (unique in the run of the simulation).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    pub(crate) done_ns: f64,
    pub(crate) at: SimTime,
    pub(crate) seq: u32,
}

/// The state of a run's checkpoint cycle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cycle {
    pub(crate) phase: Phase,
    pub(crate) phase_since: SimTime,
    /// Work done in this run at its last completed checkpoint, ns, and when that checkpoint completed (or
    /// when training began in this run).
    pub(crate) kept_ns: f64,
    pub(crate) kept_at: SimTime,
    /// Work done in this run at which the next checkpoint is due, ns.
    pub(crate) next_ns: f64,
    /// Checkpoint stalls already booked that fall after `kept_at` (an interruption loses the time since
    /// `kept_at` less these), and those booked since the last snapshot ended, ns.
    pub(crate) stall_after_kept_ns: u64,
    pub(crate) stall_since_snapshot_ns: u64,
    /// The asynchronous write in flight.
    pub(crate) pending: Option<Pending>,
}

impl Job {
    /// Work left in the current run at `now`, booked at the current rate, ns at full speed (no progress while
    /// a checkpoint cycle is not training).
    pub(crate) fn left_at(&self, now: SimTime) -> f64 {
        if self.cycle.is_some_and(|c| c.phase != Phase::Compute) {
            return self.work_left_ns;
        }
        self.work_left_ns - (now - self.rate_since).as_nanos() as f64 / self.rate
    }
}

/// Jobs by slot; a finished job's slot is reused. `Finish` events carry the slot and the run counter, which
/// never repeats for a slot (so an event of an earlier run or an earlier job is recognised as stale).
#[derive(Default)]
pub(crate) struct Slab {
    jobs: Vec<Option<Job>>,
    /// Per slot: the run counter (bumped at every start, rate change, preemption and finish).
    runs: Vec<u32>,
    free: Vec<u32>,
}

impl Slab {
    pub(crate) fn insert(&mut self, job: Job) -> u32 {
        match self.free.pop() {
            Some(s) => {
                self.jobs[s as usize] = Some(job);
                s
            }
            None => {
                self.jobs.push(Some(job));
                self.runs.push(0);
                (self.jobs.len() - 1) as u32
            }
        }
    }

    pub(crate) fn remove(&mut self, slot: u32) -> Job {
        let j = self.jobs[slot as usize].take().expect("live job");
        self.runs[slot as usize] = self.runs[slot as usize].wrapping_add(1);
        self.free.push(slot);
        j
    }

    pub(crate) fn get(&self, slot: u32) -> &Job {
        self.jobs[slot as usize].as_ref().expect("live job")
    }

    pub(crate) fn get_mut(&mut self, slot: u32) -> &mut Job {
        self.jobs[slot as usize].as_mut().expect("live job")
    }

    /// The current run counter of `slot`.
    pub(crate) fn run(&self, slot: u32) -> u32 {
        self.runs[slot as usize]
    }

    /// Starts a new run of `slot` (its earlier `Finish` events go stale); returns its counter.
    pub(crate) fn bump(&mut self, slot: u32) -> u32 {
        let r = &mut self.runs[slot as usize];
        *r = r.wrapping_add(1);
        *r
    }

    /// Whether `slot` holds a running job in run `run`.
    pub(crate) fn is_current(&self, slot: u32, run: u32) -> bool {
        self.runs.get(slot as usize) == Some(&run)
            && self.jobs[slot as usize]
                .as_ref()
                .is_some_and(|j| j.start.is_some())
    }
}

/// A waiting job, with what the queue needs to order and place it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Queued {
    pub(crate) slot: u32,
    pub(crate) id: u64,
    pub(crate) duration: SimDuration,
    pub(crate) req: JobReq,
    pub(crate) priority: u8,
}

/// What happened to one job, from [`crate::run_with_log`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// Submission order (0-based).
    pub id: u64,
    pub submit: SimTime,
    pub start: Option<SimTime>,
    pub finish: Option<SimTime>,
    /// Site indices of the servers it ran on, ascending.
    pub servers: Vec<u32>,
    /// Thousandths of a GPU asked for (GPUs × share).
    pub gpu_milli: u64,
    /// Times preempted (interruptions included), and of those, interrupted by a server going down.
    pub preemptions: u32,
    pub interruptions: u32,
    /// Holding its GPUs now (at the end: running at the horizon).
    pub running: bool,
}

/// The per-job records of a run, left in the World at the end when asked for ([`crate::run_with_log`]).
#[derive(bevy_ecs::prelude::Resource, Debug, Default)]
pub struct JobLog(pub Vec<JobRecord>);

/// Start and finish of one training job, and what preemptions cost it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct JobTime {
    pub(crate) start: Option<SimTime>,
    pub(crate) finish: Option<SimTime>,
    /// Completed runs (ended by a finish or a preemption), summed, ns.
    pub(crate) ran_ns: u64,
    pub(crate) preemptions: u32,
    pub(crate) lost_ns: u64,
    pub(crate) lost_steps: u64,
    /// Time spent restarting, ns.
    pub(crate) restart_ns: u64,
    /// Checkpoints completed, and the time their writes took, ns.
    pub(crate) checkpoints: u64,
    pub(crate) write_ns: u64,
}

/// Counters and per-job records of the run.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) submitted: u64,
    pub(crate) completed: u64,
    pub(crate) running: u64,
    /// Preemptions (a job preempted twice counts twice) and the work they lost, thousandths of a GPU × ns.
    pub(crate) preemptions: u64,
    pub(crate) lost_milli_ns: u128,
    /// Jobs interrupted because their server went down (counted in `preemptions` too).
    pub(crate) interrupted: u64,
    /// Restarting, thousandths of a GPU × ns.
    pub(crate) restart_milli_ns: u128,
    pub(crate) waits_s: Vec<f64>,
    pub(crate) turnarounds_s: Vec<f64>,
    /// Per-job records by id (only when asked for).
    pub(crate) log: Option<Vec<JobRecord>>,
    /// Training jobs by id.
    pub(crate) times: Option<Vec<JobTime>>,
}
