//! Signals: the only way parts affect each other.
//!
//! A part emits a signal when something others may care about changed; the kernel delivers every signal to
//! every part, in emission order, each signal to the parts in composition order (docs/architecture.md,
//! "Ordering contract"). Signals carry ids, not data: the state they refer to is shared state in the World
//! (the site's servers, the work registry), read by whoever reacts.

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
}
