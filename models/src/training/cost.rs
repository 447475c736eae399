//! The collective-cost seam between the training model and the network fabric: [`CommCost`] answers "how
//! long does this collective take on this group of GPUs"; the closed forms of the alpha-beta model (ring,
//! tree, NVLS, NVLS-tree, pipelined hierarchical, point-to-point); nccl-tests bus bandwidth. Formulas in
//! [`super::comm`]'s docs (docs/models.md §Training collectives).

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

/// Where the ranks of a collective sit: `servers` servers with `per_server` ranks each
/// (`ranks = servers · per_server`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Servers `n ≥ 1`.
    pub servers: u32,
    /// Ranks per server `g ≥ 1`.
    pub per_server: u32,
}

impl Layout {
    /// Ranks `p = n·g`.
    pub fn ranks(&self) -> u32 {
        self.servers * self.per_server
    }
}

/// Time of a pipelined collective whose stages stream chunks of `chunk_bytes` through each other:
/// `T = min(Σ Tᵢ, max Tᵢ + Σ Tᵢ · min(1, c/S))` — the slowest stage sets the pace and every
/// stage adds the time of one chunk (pipeline fill and drain); never slower than running the
/// stages one after another. `stage_s` are the stages' bandwidth times for the whole `bytes`
/// (stages sharing a link are summed by the caller). \[src: NCCL pipelines each collective in
/// chunks of `NCCL_BUFFSIZE`/`NCCL_STEPS` per channel; docs/models.md §Training collectives]
pub fn pipelined_s(stage_s: &[f64], bytes: f64, chunk_bytes: f64) -> f64 {
    let sum: f64 = stage_s.iter().sum();
    if bytes <= 0.0 {
        return 0.0;
    }
    let max = stage_s.iter().copied().fold(0.0, f64::max);
    let fill = (chunk_bytes / bytes).min(1.0);
    sum.min(max + sum * fill)
}

/// NCCL's ring across servers (`n ≥ 2` servers, `g` ranks each; `g` rings, each leaving every server
/// through a different rank's NIC): latency `2(p−n)·α_i + 2(n−1)·α_e` (NCCL `tuning.cc`:
/// `nInterSteps = 2(nNodes−1)`), bandwidth `2(p−1)/p · S · max((g−1)/g / B_i, 1/(g·B_e))` — each
/// rank forwards `(g−1)/g` of the data over the scale-up link and `1/g` over its NIC. With
/// `n = 1` the plain ring over `intra`; with `g = 1` the plain ring over `inter`.
pub fn ring_all_reduce_layout_s(layout: Layout, bytes: f64, intra: Link, inter: Link) -> f64 {
    let (n, g, p) = (layout.servers, layout.per_server, layout.ranks());
    if n <= 1 {
        return ring_all_reduce_s(g, bytes, intra);
    }
    if g <= 1 {
        return ring_all_reduce_s(n, bytes, inter);
    }
    let (nf, gf, pf) = (n as f64, g as f64, p as f64);
    2.0 * (pf - nf) * intra.alpha_s
        + 2.0 * (nf - 1.0) * inter.alpha_s
        + 2.0 * (pf - 1.0) / pf
            * bytes
            * ((gf - 1.0) / gf / intra.bw_bytes_per_s).max(1.0 / (gf * inter.bw_bytes_per_s))
}

/// The ring of [`ring_all_reduce_layout_s`] for reduce-scatter or all-gather (half the steps):
/// `(p−n)·α_i + (n−1)·α_e + (p−1)/p · S · max((g−1)/g / B_i, 1/(g·B_e))`.
pub fn ring_gather_scatter_layout_s(layout: Layout, bytes: f64, intra: Link, inter: Link) -> f64 {
    let (n, g, p) = (layout.servers, layout.per_server, layout.ranks());
    if n <= 1 {
        return ring_gather_scatter_s(g, bytes, intra);
    }
    if g <= 1 {
        return ring_gather_scatter_s(n, bytes, inter);
    }
    let (nf, gf, pf) = (n as f64, g as f64, p as f64);
    (pf - nf) * intra.alpha_s
        + (nf - 1.0) * inter.alpha_s
        + (pf - 1.0) / pf
            * bytes
            * ((gf - 1.0) / gf / intra.bw_bytes_per_s).max(1.0 / (gf * inter.bw_bytes_per_s))
}

/// Network bytes per rank of a double binary tree all-reduce over `n` servers, as a multiple of
/// the data each tree carries: 1 for two servers (each server is the root of one tree and the
/// leaf of the other), 2 from three on (an inner node receives `S/2` from each of two children
/// and forwards `S/2` in one tree, sends `S/2` as a leaf of the other, and the broadcast mirrors
/// it). \[src: Sanders, Speck & Träff, "Two-tree algorithms for full bandwidth broadcast,
/// reduction and scan", Parallel Computing 2009; NCCL 2.4 double binary trees]
pub fn tree_net_factor(servers: u32) -> f64 {
    match servers {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => 2.0,
    }
}

fn log2_ceil(n: u32) -> f64 {
    if n <= 1 {
        0.0
    } else {
        (32 - (n - 1).leading_zeros()) as f64
    }
}

/// NCCL's tree all-reduce: a chain through the `g` ranks of each server and a double binary tree
/// between the `n` servers, pipelined in chunks. Latency `2·((g−1)·α_i + ⌈log₂ n⌉·α_e)` (NCCL
/// `tuning.cc`); stages: scale-up `2S/B_i` when `g ≥ 2` (each rank in the chain sends `S` up in
/// the reduce and `S` down in the broadcast), network `f(n)·S/(g·B_e)` ([`tree_net_factor`]; the
/// channels spread the trees over the `g` NICs); combined with [`pipelined_s`].
pub fn tree_all_reduce_s(
    layout: Layout,
    bytes: f64,
    intra: Link,
    inter: Link,
    chunk_bytes: f64,
) -> f64 {
    let (n, g) = (layout.servers, layout.per_server);
    if layout.ranks() <= 1 {
        return 0.0;
    }
    let latency = 2.0 * ((g as f64 - 1.0) * intra.alpha_s + log2_ceil(n) * inter.alpha_s);
    let scale_up = if g >= 2 {
        2.0 * bytes / intra.bw_bytes_per_s
    } else {
        0.0
    };
    let network = tree_net_factor(n) * bytes / (g as f64 * inter.bw_bytes_per_s);
    latency + pipelined_s(&[scale_up, network], bytes, chunk_bytes)
}

/// NVLink SHARP (NVLS) all-reduce inside one server of `g ≥ 2` ranks: each rank's share `S/g`
/// is reduced in the switch (`multimem.ld_reduce`: every rank sends each share once) and
/// multicast back, so each rank sends and receives `S·(g+1)/g` over its link:
/// `T = α_nvls + (g+1)/g · S/B_nvls`. nccl-tests then reports `busbw = algbw · 2(g−1)/g`, which
/// exceeds the link rate. \[src: NVIDIA/nccl-tests#212 and PR #239 (S. Jeaugey: for NVLS
/// `algbw = busbw_link · n/(n+1)`)]
pub fn nvls_all_reduce_s(g: u32, bytes: f64, nvls: Link) -> f64 {
    if g <= 1 {
        return 0.0;
    }
    let gf = g as f64;
    nvls.alpha_s + (gf + 1.0) / gf * bytes / nvls.bw_bytes_per_s
}

/// NCCL's NVLS-Tree all-reduce over `n ≥ 2` servers of `g` ranks: NVLS reduces inside each server
/// onto `g` heads (one share `S/g` each), the heads run a double binary tree between servers on
/// their own NICs, NVLS multicasts the result. Latency `α_nvls + 2⌈log₂ n⌉·α_e`; stages:
/// scale-up `(g+1)/g · S/B_nvls`, network `f(n)·S/(g·B_e)`; combined with [`pipelined_s`].
pub fn nvls_tree_all_reduce_s(
    layout: Layout,
    bytes: f64,
    nvls: Link,
    inter: Link,
    chunk_bytes: f64,
) -> f64 {
    let (n, g) = (layout.servers, layout.per_server);
    if n <= 1 {
        return nvls_all_reduce_s(g, bytes, nvls);
    }
    let gf = g as f64;
    let latency = nvls.alpha_s + 2.0 * log2_ceil(n) * inter.alpha_s;
    let scale_up = (gf + 1.0) / gf * bytes / nvls.bw_bytes_per_s;
    let network = tree_net_factor(n) * bytes / (gf * inter.bw_bytes_per_s);
    latency + pipelined_s(&[scale_up, network], bytes, chunk_bytes)
}

/// Hierarchical all-reduce, pipelined: intra-server ring reduce-scatter of `S` over `g`, `g`
/// inter-server ring all-reduces of `S/g` over `n` (one per NIC), intra-server ring all-gather.
/// Latency `2(g−1)·α_i + 2(n−1)·α_e`; stages: scale-up `2(g−1)/g · S/B_i` (the reduce-scatter
/// and all-gather share each rank's link, so their times add), network `2(n−1)/n · S/(g·B_e)`;
/// combined with [`pipelined_s`] instead of run one after another.
pub fn hierarchical_all_reduce_s(
    layout: Layout,
    bytes: f64,
    intra: Link,
    inter: Link,
    chunk_bytes: f64,
) -> f64 {
    let (n, g) = (layout.servers, layout.per_server);
    if n <= 1 || g <= 1 {
        return ring_all_reduce_layout_s(layout, bytes, intra, inter);
    }
    let (nf, gf) = (n as f64, g as f64);
    let latency = 2.0 * (gf - 1.0) * intra.alpha_s + 2.0 * (nf - 1.0) * inter.alpha_s;
    let scale_up = 2.0 * (gf - 1.0) / gf * bytes / intra.bw_bytes_per_s;
    let network = 2.0 * (nf - 1.0) / nf * bytes / (gf * inter.bw_bytes_per_s);
    latency + pipelined_s(&[scale_up, network], bytes, chunk_bytes)
}

/// Hierarchical reduce-scatter (or all-gather), pipelined: intra-server ring reduce-scatter of
/// `S` over `g`, then inter-server ring reduce-scatter of `S/g` over `n`. Latency
/// `(g−1)·α_i + (n−1)·α_e`; stages `(g−1)/g · S/B_i` and `(n−1)/n · S/(g·B_e)`.
pub fn hierarchical_gather_scatter_s(
    layout: Layout,
    bytes: f64,
    intra: Link,
    inter: Link,
    chunk_bytes: f64,
) -> f64 {
    let (n, g) = (layout.servers, layout.per_server);
    if n <= 1 || g <= 1 {
        return ring_gather_scatter_layout_s(layout, bytes, intra, inter);
    }
    let (nf, gf) = (n as f64, g as f64);
    let latency = (gf - 1.0) * intra.alpha_s + (nf - 1.0) * inter.alpha_s;
    let scale_up = (gf - 1.0) / gf * bytes / intra.bw_bytes_per_s;
    let network = (nf - 1.0) / nf * bytes / (gf * inter.bw_bytes_per_s);
    latency + pipelined_s(&[scale_up, network], bytes, chunk_bytes)
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
