//! The collective-cost seam between the training model and the network fabric: [`CommCost`] answers "how
//! long does this collective take on this group of GPUs"; ring and point-to-point formulas of the alpha-beta
//! model; nccl-tests bus bandwidth. Formulas in [`super::comm`]'s docs (docs/models.md §Training).

/// A group of ranks taking part in one collective, and how they sit on servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommGroup {
    /// Ranks (GPUs) in the group, ≥ 1.
    pub ranks: u32,
    /// Group members that share one server (1 ≤ per_server ≤ ranks). `per_server == ranks` means
    /// the whole group is inside one server and only the scale-up link is used.
    pub per_server: u32,
}

impl CommGroup {
    pub fn new(ranks: u32, per_server: u32) -> Self {
        let ranks = ranks.max(1);
        CommGroup {
            ranks,
            per_server: per_server.clamp(1, ranks),
        }
    }

    /// True when every member is in the same server.
    pub fn in_one_server(&self) -> bool {
        self.per_server >= self.ranks
    }
}

/// Collective cost model. Times in seconds; `bytes` as nccl-tests defines the size of each
/// operation (all-reduce: the per-rank buffer; reduce-scatter/all-gather: the whole array).
pub trait CommCost {
    /// All-reduce of a `bytes` buffer over `group`.
    fn all_reduce_s(&self, bytes: f64, group: &CommGroup) -> f64;
    /// Reduce-scatter of a `bytes` array (each rank ends with `bytes / ranks`).
    fn reduce_scatter_s(&self, bytes: f64, group: &CommGroup) -> f64;
    /// All-gather into a `bytes` array (each rank contributes `bytes / ranks`).
    fn all_gather_s(&self, bytes: f64, group: &CommGroup) -> f64;
    /// One point-to-point send of `bytes` between two ranks; `group` is the two-rank pair
    /// (`per_server == 2`: same server, `1`: different servers).
    fn p2p_s(&self, bytes: f64, group: &CommGroup) -> f64;
}

/// One link class in the alpha-beta model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// Latency per algorithm step, s.
    pub alpha_s: f64,
    /// Bandwidth per GPU per direction, bytes/s.
    pub bw_bytes_per_s: f64,
}

/// Ring all-reduce: `T = 2(p−1)·α + 2(p−1)/p · S/B`. Zero for `p ≤ 1`.
pub fn ring_all_reduce_s(p: u32, bytes: f64, link: Link) -> f64 {
    if p <= 1 {
        return 0.0;
    }
    let p = p as f64;
    2.0 * (p - 1.0) * link.alpha_s + 2.0 * (p - 1.0) / p * bytes / link.bw_bytes_per_s
}

/// Ring reduce-scatter or all-gather of a `bytes` array: `T = (p−1)·α + (p−1)/p · S/B`.
/// Zero for `p ≤ 1`.
pub fn ring_gather_scatter_s(p: u32, bytes: f64, link: Link) -> f64 {
    if p <= 1 {
        return 0.0;
    }
    let p = p as f64;
    (p - 1.0) * link.alpha_s + (p - 1.0) / p * bytes / link.bw_bytes_per_s
}

/// Point-to-point send: `T = α + S/B`.
pub fn p2p_s(bytes: f64, link: Link) -> f64 {
    link.alpha_s + bytes / link.bw_bytes_per_s
}

/// Algorithm bandwidth `S / t`, bytes/s (nccl-tests).
pub fn alg_bandwidth(bytes: f64, time_s: f64) -> f64 {
    bytes / time_s
}

/// Collective kinds for [`bus_bandwidth`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collective {
    AllReduce,
    ReduceScatter,
    AllGather,
    AllToAll,
    Broadcast,
    Reduce,
    SendRecv,
}

impl Collective {
    /// nccl-tests bus-bandwidth correction factor for `n` ranks: all-reduce `2(n−1)/n`;
    /// reduce-scatter, all-gather, all-to-all `(n−1)/n`; broadcast, reduce, send/recv 1.
    pub fn bus_factor(self, n: u32) -> f64 {
        let n = n.max(1) as f64;
        match self {
            Collective::AllReduce => 2.0 * (n - 1.0) / n,
            Collective::ReduceScatter | Collective::AllGather | Collective::AllToAll => {
                (n - 1.0) / n
            }
            Collective::Broadcast | Collective::Reduce | Collective::SendRecv => 1.0,
        }
    }
}

/// nccl-tests bus bandwidth: `busbw = algbw · factor(n)` (see [`Collective::bus_factor`];
/// source: nccl-tests `doc/PERFORMANCE.md`). Same unit as `algbw`.
pub fn bus_bandwidth(kind: Collective, algbw: f64, n: u32) -> f64 {
    algbw * kind.bus_factor(n)
}
