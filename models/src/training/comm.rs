//! Collective-communication cost: the seam between the training model and the network fabric.
//!
//! [`CommCost`] answers "how long does this collective take on this group of GPUs"; the training
//! model ([`super::step_time_with`]) only ever asks through it. Two implementations: the alpha-beta
//! formulas ([`AlphaBeta`], quick studies) and the network fabric ([`FabricCost`]: collectives as
//! flows on a generated topology, `crate::network`); scenarios choose with [`CommModel`].
//!
//! Formulas (docs/models.md §Training, `../shared/reference/models.md` §5) — `p` ranks, `S` bytes,
//! `α` per-step latency (s), `B` per-direction bandwidth (bytes/s):
//! - ring all-reduce `T = 2(p−1)·α + 2(p−1)/p · S/B`;
//! - ring reduce-scatter and all-gather (S = the whole array, nccl-tests convention)
//!   `T = (p−1)·α + (p−1)/p · S/B`;
//! - point-to-point `T = α + S/B`;
//! - hierarchical all-reduce over `n` servers with `g` group members each (`p = n·g`):
//!   intra-server reduce-scatter of `S` over `g` + inter-server all-reduce of `S/g` over `n`
//!   + intra-server all-gather of `S` over `g`.

use std::cell::RefCell;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::cost::{CommCost, CommGroup, Link, p2p_s, ring_all_reduce_s, ring_gather_scatter_s};
use super::plan::TrainingPlan;
use super::step::{StepTime, TrainingEstimate, estimate_with, step_time_with};
use crate::catalog::GpuModel;
use crate::check::FieldError;
use crate::network::{
    AllReduceAlgo, CollectiveKind, Fabric, FabricConfig, FabricServer, GpuRef, Timing,
    TopologyConfig,
};

/// Step time with the scenario's communication model (see [`step_time_with`]).
pub fn step_time(
    plan: &TrainingPlan,
    gpu: &GpuModel,
    gpus_per_server: u32,
    comm: &CommModel,
) -> StepTime {
    step_time_with(
        plan,
        gpu,
        gpus_per_server,
        comm.cost_for(gpu, gpus_per_server).as_ref(),
    )
}

/// Estimate for `plan` (see [`step_time`]). Assumes `plan.check()` passed.
pub fn estimate(
    plan: &TrainingPlan,
    gpu: &GpuModel,
    gpus_per_server: u32,
    comm: &CommModel,
) -> TrainingEstimate {
    estimate_with(
        plan,
        gpu,
        gpus_per_server,
        comm.cost_for(gpu, gpus_per_server).as_ref(),
    )
}

/// Scenario-facing choice of communication model (externally tagged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum CommModel {
    /// Alpha-beta (latency-bandwidth) model with ring and hierarchical collectives.
    AlphaBeta(AlphaBeta),
    /// Collectives priced as flows on a network fabric (docs/models.md §Network fabric), e.g.
    /// `Fabric(topology: TwoTierClos(oversubscription: 3.0))`.
    Fabric(FabricConfig),
}

impl Default for CommModel {
    fn default() -> Self {
        CommModel::AlphaBeta(AlphaBeta::default())
    }
}

impl CommModel {
    /// The cost model for GPUs of type `gpu` on 8-GPU servers (see [`CommModel::cost_for`]).
    pub fn cost(&self, gpu: &GpuModel) -> Box<dyn CommCost> {
        self.cost_for(gpu, 8)
    }

    /// The cost model for GPUs of type `gpu` on servers of `gpus_per_server` GPUs (the alpha-beta
    /// intra-server link comes from the catalog). The fabric variant prices each collective on a
    /// fabric generated for just enough servers, the job packed from the first one
    /// ([`FabricCost::synthetic`]); with a site at hand use [`FabricCost::packed`].
    pub fn cost_for(&self, gpu: &GpuModel, gpus_per_server: u32) -> Box<dyn CommCost> {
        match self {
            CommModel::AlphaBeta(ab) => Box::new(ab.links(gpu)),
            CommModel::Fabric(cfg) => Box::new(FabricCost::synthetic(cfg.clone(), gpus_per_server)),
        }
    }

    /// Checks the parameters; the error's message names the first bad field.
    pub fn check(&self) -> Result<(), FieldError> {
        match self {
            CommModel::AlphaBeta(ab) => ab.check(),
            CommModel::Fabric(cfg) => cfg.check(),
        }
    }
}

/// Alpha-beta parameters. Intra-server collectives use the GPU's scale-up link (NVLink),
/// inter-server ones the per-GPU network bandwidth (one NIC per GPU, rail-optimised fabric).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlphaBeta {
    /// Latency per ring step inside a server, s. Default 3.4 µs — NCCL's own tuning model,
    /// NVLink ring / Simple protocol (`src/graph/tuning.cc`, `hwLat`). \[src\]
    #[serde(default = "default_intra_alpha_s")]
    pub intra_alpha_s: f64,
    /// Latency per ring step between servers, s. Default 14 µs — NCCL tuning model, network
    /// ring / Simple protocol (`hwLat`). \[src\]
    #[serde(default = "default_inter_alpha_s")]
    pub inter_alpha_s: f64,
    /// Network bandwidth per GPU per direction, GB/s (10^9 B/s). Default 50 = one 400 Gb/s
    /// InfiniBand NDR port per GPU (DGX H100: 8 × ConnectX-7). \[src: models.md §5]
    #[serde(default = "default_inter_node_bw_gbs")]
    pub inter_node_bw_gbs: f64,
    /// Scale-up bandwidth per GPU per direction, GB/s. Default: none given → half the catalog's
    /// bidirectional `scaleup_link_gbs` (H100 900 → 450); a part without a scale-up link
    /// (`scaleup_link_gbs` 0) then uses the network link inside the server too. \[eng\]
    #[serde(default)]
    pub intra_bw_gbs: Option<f64>,
}

fn default_intra_alpha_s() -> f64 {
    3.4e-6
}
fn default_inter_alpha_s() -> f64 {
    14e-6
}
fn default_inter_node_bw_gbs() -> f64 {
    50.0
}

impl Default for AlphaBeta {
    fn default() -> Self {
        AlphaBeta {
            intra_alpha_s: default_intra_alpha_s(),
            inter_alpha_s: default_inter_alpha_s(),
            inter_node_bw_gbs: default_inter_node_bw_gbs(),
            intra_bw_gbs: None,
        }
    }
}

impl AlphaBeta {
    /// Resolves the two link classes for `gpu`.
    pub fn links(&self, gpu: &GpuModel) -> AlphaBetaCost {
        let inter = Link {
            alpha_s: self.inter_alpha_s,
            bw_bytes_per_s: self.inter_node_bw_gbs * 1e9,
        };
        let intra_gbs = self.intra_bw_gbs.unwrap_or(gpu.scaleup_link_gbs / 2.0);
        let intra = if intra_gbs > 0.0 {
            Link {
                alpha_s: self.intra_alpha_s,
                bw_bytes_per_s: intra_gbs * 1e9,
            }
        } else {
            inter
        };
        AlphaBetaCost { intra, inter }
    }

    /// Checks the parameters; the error's message names the first bad field.
    pub fn check(&self) -> Result<(), FieldError> {
        for (v, f) in [
            (self.intra_alpha_s, "intra_alpha_s"),
            (self.inter_alpha_s, "inter_alpha_s"),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(FieldError::whole(format!(
                    "`{f}` must be a finite number ≥ 0, found {v}"
                )));
            }
        }
        let bw = self.inter_node_bw_gbs;
        if !(bw.is_finite() && bw > 0.0) {
            return Err(FieldError::whole(format!(
                "`inter_node_bw_gbs` must be a finite number > 0, found {bw}"
            )));
        }
        if let Some(bw) = self.intra_bw_gbs
            && !(bw.is_finite() && bw > 0.0)
        {
            return Err(FieldError::whole(format!(
                "`intra_bw_gbs` must be a finite number > 0, found {bw}"
            )));
        }
        Ok(())
    }
}

/// The alpha-beta model resolved for one GPU type: an intra-server and an inter-server link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlphaBetaCost {
    pub intra: Link,
    pub inter: Link,
}

impl AlphaBetaCost {
    /// `Some((g, n))` when the group spans `n ≥ 2` servers with `g ≥ 2` members each (the
    /// hierarchical case); `None` when it is inside one server or one member per server. A group
    /// whose size is not a multiple of `per_server` is treated as one member per server (a flat
    /// ring over the network link — conservative).
    fn hierarchy(group: &CommGroup) -> Option<(u32, u32)> {
        let (p, g) = (group.ranks, group.per_server);
        if g >= 2 && g < p && p.is_multiple_of(g) {
            Some((g, p / g))
        } else {
            None
        }
    }

    fn flat_link(&self, group: &CommGroup) -> Link {
        if group.in_one_server() {
            self.intra
        } else {
            self.inter
        }
    }
}

impl CommCost for AlphaBetaCost {
    fn all_reduce_s(&self, bytes: f64, group: &CommGroup) -> f64 {
        match Self::hierarchy(group) {
            Some((g, n)) => {
                ring_gather_scatter_s(g, bytes, self.intra)
                    + ring_all_reduce_s(n, bytes / g as f64, self.inter)
                    + ring_gather_scatter_s(g, bytes, self.intra)
            }
            None => ring_all_reduce_s(group.ranks, bytes, self.flat_link(group)),
        }
    }

    fn reduce_scatter_s(&self, bytes: f64, group: &CommGroup) -> f64 {
        match Self::hierarchy(group) {
            // Intra-server reduce-scatter of S over g, then inter-server reduce-scatter of S/g over n.
            Some((g, n)) => {
                ring_gather_scatter_s(g, bytes, self.intra)
                    + ring_gather_scatter_s(n, bytes / g as f64, self.inter)
            }
            None => ring_gather_scatter_s(group.ranks, bytes, self.flat_link(group)),
        }
    }

    fn all_gather_s(&self, bytes: f64, group: &CommGroup) -> f64 {
        // The mirror image of reduce-scatter: same cost.
        self.reduce_scatter_s(bytes, group)
    }

    fn p2p_s(&self, bytes: f64, group: &CommGroup) -> f64 {
        p2p_s(bytes, self.flat_link(group))
    }
}

/// Collectives priced on a network fabric for one job alone, packed in rank order on a list of
/// servers (Megatron layout): a group of `ranks` with `per_server` members per server occupies
/// `⌈ranks / per_server⌉` consecutive servers, and the `gpus_per_server / per_server` sibling
/// groups of the same collective (e.g. the data-parallel rings of the other tensor-parallel ranks)
/// run concurrently on the other slots — slot `(r mod per_server) · siblings + j` for member `r` of
/// sibling `j`. Timed with the max-min flow model on an otherwise idle fabric
/// ([`crate::network::collective`], aggregated timing). A group needing more servers than given costs
/// `f64::INFINITY`.
#[derive(Debug)]
pub struct FabricCost {
    source: FabricSource,
    gpus_per_server: u32,
    algo: AllReduceAlgo,
}

#[derive(Debug)]
enum FabricSource {
    Site {
        fabric: Arc<Fabric>,
        servers: Vec<u32>,
    },
    /// Built on demand: (servers, fabric) of the largest size asked for so far.
    Synthetic {
        cfg: FabricConfig,
        built: RefCell<Option<(u32, Arc<Fabric>)>>,
    },
}

/// Servers per rack of a synthetic fabric when the topology puts one leaf per rack. \[eng\]
pub const SYNTHETIC_SERVERS_PER_RACK: u32 = 4;

impl FabricCost {
    /// A job packed on `servers` (server indices in site order) of `fabric`.
    pub fn packed(fabric: Arc<Fabric>, servers: Vec<u32>, gpus_per_server: u32) -> Self {
        let algo = fabric.config().all_reduce;
        FabricCost {
            source: FabricSource::Site { fabric, servers },
            gpus_per_server: gpus_per_server.max(1),
            algo,
        }
    }

    /// A job alone on a fabric generated from `cfg` for as many `gpus_per_server`-GPU servers as
    /// each collective needs, in racks of [`SYNTHETIC_SERVERS_PER_RACK`] servers. A configuration
    /// that does not fit (e.g. a fat-tree too small) prices collectives at `f64::INFINITY`.
    pub fn synthetic(cfg: FabricConfig, gpus_per_server: u32) -> Self {
        let algo = cfg.all_reduce;
        FabricCost {
            source: FabricSource::Synthetic {
                cfg,
                built: RefCell::new(None),
            },
            gpus_per_server: gpus_per_server.max(1),
            algo,
        }
    }

    /// The fabric and servers to place `n` servers' worth of GPUs on.
    fn fabric_for(&self, n: u32) -> Option<(Arc<Fabric>, Vec<u32>)> {
        match &self.source {
            FabricSource::Site { fabric, servers } => (servers.len() >= n as usize)
                .then(|| (fabric.clone(), servers[..n as usize].to_vec())),
            FabricSource::Synthetic { cfg, built } => {
                let mut b = built.borrow_mut();
                if b.as_ref().is_none_or(|(have, _)| *have < n) {
                    let mut cfg = cfg.clone();
                    match &mut cfg.topology {
                        TopologyConfig::TwoTierClos(c) => {
                            c.servers_per_leaf.get_or_insert(SYNTHETIC_SERVERS_PER_RACK);
                        }
                        TopologyConfig::ThreeTierClos(c) => {
                            c.servers_per_leaf.get_or_insert(SYNTHETIC_SERVERS_PER_RACK);
                        }
                        TopologyConfig::RailOptimized(_) | TopologyConfig::FatTree(_) => {}
                    }
                    let servers: Vec<FabricServer> = (0..n)
                        .map(|i| FabricServer {
                            rack: i / SYNTHETIC_SERVERS_PER_RACK,
                            gpus: self.gpus_per_server,
                        })
                        .collect();
                    *b = Some((n, Arc::new(Fabric::new(&cfg, &servers).ok()?)));
                }
                b.as_ref().map(|(_, f)| (f.clone(), (0..n).collect()))
            }
        }
    }

    fn price(&self, kind: CollectiveKind, bytes: f64, group: &CommGroup) -> f64 {
        let ranks = group.ranks.max(1);
        if ranks < 2 || bytes <= 0.0 {
            return 0.0;
        }
        let per = group.per_server.clamp(1, ranks);
        let siblings = if self.gpus_per_server.is_multiple_of(per) {
            self.gpus_per_server / per
        } else {
            1
        };
        let Some((fabric, servers)) = self.fabric_for(ranks.div_ceil(per)) else {
            return f64::INFINITY;
        };
        let groups: Vec<Vec<GpuRef>> = (0..siblings)
            .map(|j| {
                (0..ranks)
                    .map(|r| GpuRef {
                        server: servers[(r / per) as usize],
                        slot: (r % per) * siblings + j,
                    })
                    .collect()
            })
            .collect();
        fabric
            .collective(kind, bytes, &groups, 0, Timing::Aggregated)
            .map_or(f64::INFINITY, |t| t.time_s)
    }
}

impl CommCost for FabricCost {
    fn all_reduce_s(&self, bytes: f64, group: &CommGroup) -> f64 {
        self.price(CollectiveKind::AllReduce(self.algo), bytes, group)
    }
    fn reduce_scatter_s(&self, bytes: f64, group: &CommGroup) -> f64 {
        self.price(CollectiveKind::ReduceScatter, bytes, group)
    }
    fn all_gather_s(&self, bytes: f64, group: &CommGroup) -> f64 {
        self.price(CollectiveKind::AllGather, bytes, group)
    }
    fn p2p_s(&self, bytes: f64, group: &CommGroup) -> f64 {
        self.price(CollectiveKind::P2p, bytes, group)
    }
}
