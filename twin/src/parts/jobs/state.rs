//! The cluster part's state.

use std::collections::VecDeque;

use models::placement::{Grant, HELD_IDLE, JobReq, SiteCapacity, WHOLE_GPU_MILLI};
use models::workload::JobSource;
use scenario::{MakeRoom, SchedulerConfig};
use sim::SimTime;

use super::backlog::JobQueue;
use super::index::SiteIndex;
use super::job::{Counters, Slab};
use super::rules::{Checkpoints, DurationScale, Dvfs};
use crate::kernel::FactorId;
use crate::work::WorkId;

/// The EASY reservation of the blocked queue head.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reservation {
    pub(crate) head: u32,
    /// Shadow time: when the head is guaranteed its resources.
    pub(crate) shadow: SimTime,
    /// The shadow time first computed for this head (a head starting later counts as late).
    pub(crate) first_shadow: SimTime,
    pub(crate) kind: Reserved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reserved {
    /// A multi-server head: at the shadow time `extra` whole GPUs of its models are free beyond its need.
    Site { mask: u64, extra: u32 },
    /// A single-server head: `server`'s slots in `slots` (bit mask) and `cpu_milli`/`memory_mib` of its host
    /// are kept for it; jobs running past the shadow time must leave them alone.
    Server {
        server: u32,
        slots: u16,
        cpu_milli: u64,
        memory_mib: u64,
    },
}

/// Scheduler state and scratch space (reused: no allocation per event).
pub(crate) struct Sched {
    pub(crate) cfg: SchedulerConfig,
    pub(crate) grants: Vec<Grant>,
    /// No queued job can start until resources are freed (see the module docs).
    pub(crate) clean: bool,
    pub(crate) reservation: Option<Reservation>,
    /// Scratch for the multi-server shadow time.
    pub(crate) times: Vec<SimTime>,
    pub(crate) heap: std::collections::BinaryHeap<std::cmp::Reverse<u64>>,
    pub(crate) taken: Vec<(usize, usize, u64)>,
    pub(crate) backfilled: u64,
    pub(crate) late_heads: u64,
    /// Shared fleet under `MakeRoom::Wait`: an inference replica waits for GPUs, so no job may start.
    pub(crate) hold: bool,
}

impl Sched {
    pub(crate) fn new(cfg: SchedulerConfig) -> Self {
        Sched {
            cfg,
            grants: Vec::new(),
            clean: true,
            reservation: None,
            times: Vec::new(),
            heap: Default::default(),
            taken: Vec::new(),
            backfilled: 0,
            late_heads: 0,
            hold: false,
        }
    }
}

/// Shared fleet: the GPUs each inference replica slot holds, the slots waiting for GPUs, and what making room
/// cost (docs/models.md §Shared fleet).
pub(crate) struct Holdings {
    /// `tp` whole GPUs of the deployment's model inside one server, held at idle activity.
    pub(crate) req: JobReq,
    /// Per slot: its GPUs (empty: none) and its work item.
    pub(crate) grants: Vec<Vec<Grant>>,
    pub(crate) works: Vec<Option<WorkId>>,
    pub(crate) pending: VecDeque<u32>,
    pub(crate) make_room: MakeRoom,
    /// Replica GPUs held now, and ∫ held dt (GPU·ns).
    pub(crate) held_gpus: u64,
    pub(crate) held_gpu_ns: u128,
    pub(crate) last: SimTime,
    /// Jobs preempted to make room for replicas; replica grants that waited.
    pub(crate) preemptions: u64,
    pub(crate) waited: u64,
}

impl Holdings {
    pub(crate) fn new(tp: u32, model: usize, slots: u32, make_room: MakeRoom) -> Self {
        Holdings {
            req: JobReq {
                gpus: tp,
                gpu_milli: WHOLE_GPU_MILLI,
                cpu_milli: 0,
                memory_mib: 0,
                model_mask: 1 << model,
                multi_server: false,
                activity_milli: HELD_IDLE,
            },
            grants: vec![Vec::new(); slots as usize],
            works: vec![None; slots as usize],
            pending: VecDeque::new(),
            make_room,
            held_gpus: 0,
            held_gpu_ns: 0,
            last: SimTime::ZERO,
            preemptions: 0,
            waited: 0,
        }
    }

    pub(crate) fn advance(&mut self, now: SimTime) {
        self.held_gpu_ns += self.held_gpus as u128 * (now - self.last).as_nanos() as u128;
        self.last = now;
    }
}

/// What the training summary needs of one model-driven training job.
pub(crate) struct TrainingMeta {
    pub(crate) info: scenario::TrainingJobInfo,
    pub(crate) idle_w: f64,
    pub(crate) board_w: f64,
    pub(crate) submit_s: f64,
}

/// Where jobs come from.
pub(crate) struct Source {
    pub(crate) jobs: JobSource,
    pub(crate) capacity: SiteCapacity,
    pub(crate) next_id: u64,
}

/// The cluster part: jobs arriving from a trace or a generator, a queue with a placement policy, preemption,
/// and (in a shared fleet) the GPUs of inference replicas.
pub struct Jobs {
    pub(crate) index: SiteIndex,
    pub(crate) source: Source,
    pub(crate) queue: JobQueue,
    pub(crate) jobs: Slab,
    /// Slots of running jobs, and each one's position in that list (for O(1) removal).
    pub(crate) running: Vec<u32>,
    pub(crate) running_pos: Vec<u32>,
    /// Per server: slots of the running jobs holding GPUs or host resources there.
    pub(crate) on_server: Vec<Vec<u32>>,
    pub(crate) sched: Sched,
    pub(crate) counters: Counters,
    pub(crate) scale: Option<DurationScale>,
    pub(crate) checkpoints: Checkpoints,
    pub(crate) dvfs: Dvfs,
    /// The factor this part keeps for the slowdown under GPU power limits, and whether any limit can arise
    /// (a facility: the capping controller, a static cap, thermal throttling).
    pub(crate) limits_factor: FactorId,
    pub(crate) limited: bool,
    /// Jobs whose speed under limits must be recomputed (servers' limits changed), deduplicated by a mark.
    pub(crate) speed_dirty: Vec<u32>,
    pub(crate) speed_mark: Vec<bool>,
    pub(crate) holdings: Option<Holdings>,
    /// Servers that went down since the last settling, whose work is to be stopped.
    pub(crate) downs: Vec<u32>,
    /// Replica GPUs were given back during this event (the queue is scheduled when the part settles).
    pub(crate) claims_freed: bool,
    pub(crate) horizon: SimTime,
    /// Training workloads: per job, what the summary reports.
    pub(crate) training: Option<Vec<TrainingMeta>>,
    /// Σ fragmented GPUs over samples, the largest, and the number of samples.
    pub(crate) frag: (f64, f64, u64),
    /// Asynchronous checkpoint writes started (their sequence numbers).
    pub(crate) async_writes: u32,
}
