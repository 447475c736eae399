//! Signals: the only way parts affect each other.
//!
//! A part emits a signal when something others may care about changed; the kernel delivers every signal to
//! every part, in emission order, each signal to the parts in composition order (docs/architecture.md,
//! "Ordering contract"). Signals carry ids, not data: the state they refer to is shared state in the World
//! (the site's servers, the work registry), read by whoever reacts.

use crate::kernel::event::PartId;
use crate::work::WorkId;

/// Index of a rate factor in a work item's list of factors (see [`Signal::RateFactor`]). Factors are
/// registered when the twin is composed ([`crate::kernel::Composer::factor`]); a work item's speed is the product
/// of its factors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FactorId(pub(crate) u8);

impl FactorId {
    /// Most factors a composition may register.
    pub const MAX: usize = 4;

    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A transfer through the storage system: the part that asked for it and that part's own key for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IoId {
    pub part: PartId,
    pub key: u64,
}

/// The kinds of signal a part wants to receive (a bit per [`Signal`] variant). The kernel delivers a signal only
/// to the parts that want its kind, and drops a signal no part wants when it is emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Interests(u16);

impl Interests {
    pub const NONE: Interests = Interests(0);
    pub const ALL: Interests = Interests(u16::MAX);
    pub const LOAD_CHANGED: Interests = Interests(1 << 0);
    pub const LIMITS_CHANGED: Interests = Interests(1 << 1);
    pub const SERVER_DOWN: Interests = Interests(1 << 2);
    pub const SERVER_UP: Interests = Interests(1 << 3);
    pub const WORK_STARTED: Interests = Interests(1 << 4);
    pub const WORK_STOPPED: Interests = Interests(1 << 5);
    pub const RATE_FACTOR: Interests = Interests(1 << 6);
    pub const CLAIM_GPUS: Interests = Interests(1 << 7);
    pub const RELEASE_GPUS: Interests = Interests(1 << 8);
    pub const GPUS_GRANTED: Interests = Interests(1 << 9);
    pub const IO_START: Interests = Interests(1 << 10);
    pub const IO_DONE: Interests = Interests(1 << 11);
    pub const SPINE_DOWN: Interests = Interests(1 << 12);
    pub const SPINE_UP: Interests = Interests(1 << 13);
    pub const IO_CANCEL: Interests = Interests(1 << 14);
    pub const STREAM_START: Interests = Interests(1 << 15);

    /// Both sets.
    pub const fn with(self, other: Interests) -> Interests {
        Interests(self.0 | other.0)
    }

    /// Whether the set holds `signal`'s kind.
    pub fn wants(self, signal: &Signal) -> bool {
        self.0 & signal.kind().0 != 0
    }
}

impl Signal {
    /// The signal's kind, as an [`Interests`] bit.
    pub fn kind(&self) -> Interests {
        match self {
            Signal::LoadChanged { .. } => Interests::LOAD_CHANGED,
            Signal::LimitsChanged { .. } => Interests::LIMITS_CHANGED,
            Signal::ServerDown { .. } => Interests::SERVER_DOWN,
            Signal::ServerUp { .. } => Interests::SERVER_UP,
            Signal::WorkStarted { .. } => Interests::WORK_STARTED,
            Signal::WorkStopped { .. } => Interests::WORK_STOPPED,
            Signal::RateFactor { .. } => Interests::RATE_FACTOR,
            Signal::ClaimGpus { .. } => Interests::CLAIM_GPUS,
            Signal::ReleaseGpus { .. } => Interests::RELEASE_GPUS,
            Signal::GpusGranted { .. } => Interests::GPUS_GRANTED,
            Signal::IoStart { .. } => Interests::IO_START,
            Signal::IoDone { .. } => Interests::IO_DONE,
            Signal::IoCancel { .. } => Interests::IO_CANCEL,
            Signal::StreamStart { .. } => Interests::STREAM_START,
            Signal::SpineDown { .. } => Interests::SPINE_DOWN,
            Signal::SpineUp { .. } => Interests::SPINE_UP,
        }
    }
}

/// What changed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Signal {
    /// What runs on server `server` changed: its GPUs' demand or its host allocation (work started, stopped or
    /// changed phase). Emitted by workload parts; read by parts that watch demand (the capping controller).
    LoadChanged { server: u32 },
    /// The effective power limits of server `server`'s GPUs changed (a capping decision, thermal throttling, a
    /// static cap). Emitted by [`crate::site::set_limits`]; workload parts re-time the work there.
    LimitsChanged { server: u32 },
    /// Server `server` went down (a breaker trip, the feed, a failure, maintenance): it draws nothing and runs
    /// nothing. Emitted by [`crate::site::take_down`] before any work there is stopped; workload parts stop
    /// their work on it and the allocator stops placing there.
    ServerDown { server: u32 },
    /// Server `server` is back up (idle). Emitted by [`crate::site::bring_up`].
    ServerUp { server: u32 },
    /// Work item `work` started running on the GPUs the work registry lists for it.
    WorkStarted { work: WorkId },
    /// Work item `work` stopped (finished, preempted, interrupted); its registry entry is still readable while
    /// this signal is delivered.
    WorkStopped { work: WorkId },
    /// Factor `factor` of work item `work`'s speed is now `value` (1 = no effect; the item's speed is the product
    /// of its factors). Emitted by parts that slow work (the network fabric); the work's owner re-times it.
    RateFactor {
        work: WorkId,
        factor: FactorId,
        value: f64,
    },
    /// Shared fleet: inference replica slot `slot` wants GPUs (the allocator grants them, makes room, or makes it
    /// wait).
    ClaimGpus { slot: u32 },
    /// Shared fleet: replica slot `slot` gives its GPUs back (or stops waiting for them).
    ReleaseGpus { slot: u32 },
    /// Shared fleet: replica slot `slot` got its GPUs (listed in the work registry under its work item).
    GpusGranted { slot: u32, work: WorkId },
    /// Transfer `io` starts moving `bytes` to (`write`) or from the shared storage system through the links of
    /// `servers` servers (a checkpoint write, a checkpoint load at a restart, a replica's model load). The
    /// storage part answers with [`Signal::IoDone`].
    IoStart {
        io: IoId,
        bytes: f64,
        write: bool,
        servers: u32,
    },
    /// Transfer `io` finished.
    IoDone { io: IoId },
    /// Transfer `io` is no longer wanted (its job was interrupted, its replica stopped), or stream `io` stops.
    IoCancel { io: IoId },
    /// Work item `work` starts reading a stream `io` from the storage system at `bytes_per_s` through the links
    /// of `servers` servers (a training job's dataset), until [`Signal::IoCancel`]. When the storage system
    /// gives it less, it answers with a [`Signal::RateFactor`] for `work` (demand ÷ rate).
    StreamStart {
        io: IoId,
        work: WorkId,
        bytes_per_s: f64,
        servers: u32,
    },
    /// A failure took spine switch `spine` (`pod · S + s` of the fabric) down; the fabric routes around it.
    SpineDown { spine: u32 },
    /// A repair brought spine switch `spine` back.
    SpineUp { spine: u32 },
}
