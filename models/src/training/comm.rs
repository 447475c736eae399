//! Collective-communication cost: the seam between the training model and the network fabric.
//!
//! [`CommCost`] answers "how long does this collective take on this group of GPUs"; the training
//! model ([`super::step_time_with`]) only ever asks through it. Two implementations: the alpha-beta
//! formulas ([`AlphaBeta`], quick studies) and the network fabric ([`FabricCost`]: collectives as
//! flows on a generated topology, `crate::network`); scenarios choose with [`CommModel`].
//!
//! Formulas (docs/models.md §Training collectives, `../shared/reference/models.md` §5) — `p` ranks, `S`
//! bytes, `α` per-step latency (s), `B` effective per-direction bandwidth (bytes/s: line rate × efficiency),
//! `n` servers with `g` group members each; closed forms in [`super::cost`]:
//! - ring all-reduce `T = 2(p−1)·α + 2(p−1)/p · S/B` inside one server or one member per server; across
//!   servers NCCL's ring with `g` rails (`2(p−n)·α_i + 2(n−1)·α_e + 2(p−1)/p · S · max((g−1)/g / B_i,
//!   1/(g·B_e))`);
//! - ring reduce-scatter and all-gather (S = the whole array, nccl-tests convention) half the steps;
//! - tree (NCCL double binary tree between servers, chain inside): `2((g−1)α_i + ⌈log₂n⌉α_e)` + pipelined
//!   stages `2S/B_i`, `f(n)·S/(g·B_e)`;
//! - NVLS (in-switch reduction, one server): `α_nvls + (g+1)/g · S/B_nvls`; NVLS-tree across servers;
//! - hierarchical (RS → AR → AG) with its stages pipelined (forced only);
//! - point-to-point `T = α + S/B`.
//!
//! [`CollectiveAlgorithm::Auto`] takes the fastest of the algorithms NCCL has for the group, like NCCL's tuner.

use std::cell::RefCell;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::cost::{
    CommCost, CommGroup, Layout, Link, hierarchical_all_reduce_s, hierarchical_gather_scatter_s,
    nvls_tree_all_reduce_s, p2p_s, ring_all_reduce_layout_s, ring_gather_scatter_layout_s,
    tree_all_reduce_s,
};
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

/// All-reduce algorithm of the alpha-beta model (externally tagged: `algorithm: Auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CollectiveAlgorithm {
    /// The fastest of Ring, Tree and (on parts with `scaleup_reduction`) NVLS / NVLS-tree for each
    /// call, like NCCL's tuner picks per size. \[src: NCCL `src/graph/tuning.cc`]
    #[default]
    Auto,
    /// NCCL's ring (across servers: one ring per rank of a server, each leaving through its NIC).
    Ring,
    /// NCCL's tree: chain inside each server, double binary tree between servers.
    Tree,
    /// NVLink SHARP: in-switch reduction inside one server, NVLS-tree across servers. Prices as Ring
    /// on a part without `scaleup_reduction` (NCCL does not offer NVLS there).
    Nvls,
    /// Intra-server reduce-scatter, inter-server all-reduce, intra-server all-gather, pipelined.
    /// Not an NCCL algorithm: never chosen by `Auto`; also used for reduce-scatter/all-gather.
    Hierarchical,
}

/// Alpha-beta parameters. Intra-server collectives use the GPU's scale-up link (NVLink),
/// inter-server ones the per-GPU network bandwidth (one NIC per GPU, rail-optimised fabric).
/// Effective bandwidths are line rate × efficiency (NCCL's protocol overhead).
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
    /// Network bandwidth per GPU per direction, GB/s (10^9 B/s), line rate. Default 50 = one
    /// 400 Gb/s InfiniBand NDR port per GPU (DGX H100: 8 × ConnectX-7). \[src: models.md §5]
    #[serde(default = "default_inter_node_bw_gbs")]
    pub inter_node_bw_gbs: f64,
    /// Scale-up bandwidth per GPU per direction, GB/s, line rate. Default: none given → half the
    /// catalog's bidirectional `scaleup_link_gbs` (H100 900 → 450); a part without a scale-up link
    /// (`scaleup_link_gbs` 0) then uses the network link inside the server too. \[eng\]
    #[serde(default)]
    pub intra_bw_gbs: Option<f64>,
    /// All-reduce algorithm: `Auto` (default) or a forced one. Reduce-scatter and all-gather use the
    /// ring, or the pipelined hierarchy when `Hierarchical` is forced.
    #[serde(default)]
    pub algorithm: CollectiveAlgorithm,
    /// Fraction of the scale-up line rate a ring or tree reaches (NCCL protocol overhead), 0 < e ≤ 1.
    /// Default 0.822 = 370/450: "NCCL can get an effective NVLink bandwidth of 370 GB/s" on H100
    /// with `NCCL_ALGO=RING` (S. Jeaugey, NVIDIA/nccl-tests#212). \[src, calibrated]
    #[serde(default = "default_intra_efficiency")]
    pub intra_efficiency: f64,
    /// Fraction of the network line rate a collective reaches, 0 < e ≤ 1. Default 0.94 = 47/50:
    /// "for NDR @ 400 Gbps you should see 46–48 GB/s per NIC" (NVIDIA, NVIDIA/nccl-tests#290).
    /// \[src, calibrated]
    #[serde(default = "default_inter_efficiency")]
    pub inter_efficiency: f64,
    /// Fraction of the scale-up line rate NVLS reaches on the bytes each rank really moves
    /// (`S·(g+1)/g`), 0 < e ≤ 1. Default 0.686 = 480/700: 8 × H100 NVLS all-reduce peaks at
    /// busbw ≈ 480 GB/s (S. Jeaugey, NVIDIA/nccl-tests#212) = `2·7/8 · 8/9 · 450 · e`.
    /// \[src, calibrated]
    #[serde(default = "default_nvls_efficiency")]
    pub nvls_efficiency: f64,
    /// Latency of one NVLS all-reduce, s. Default 25 µs — NCCL tuning model, NVLink / NVLS / Simple
    /// (`hwLat`). \[src\]
    #[serde(default = "default_nvls_alpha_s")]
    pub nvls_alpha_s: f64,
    /// Chunk a pipelined collective (tree, NVLS-tree, hierarchical) streams through its stages,
    /// bytes; the fill term is one chunk per stage. Default 4 MiB = NCCL's default `NCCL_BUFFSIZE`
    /// (NCCL environment-variable docs). \[src\]
    #[serde(default = "default_pipeline_chunk_bytes")]
    pub pipeline_chunk_bytes: f64,
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
fn default_intra_efficiency() -> f64 {
    0.822
}
fn default_inter_efficiency() -> f64 {
    0.94
}
fn default_nvls_efficiency() -> f64 {
    0.686
}
fn default_nvls_alpha_s() -> f64 {
    25e-6
}
fn default_pipeline_chunk_bytes() -> f64 {
    4.0 * 1024.0 * 1024.0
}

impl Default for AlphaBeta {
    fn default() -> Self {
        AlphaBeta {
            intra_alpha_s: default_intra_alpha_s(),
            inter_alpha_s: default_inter_alpha_s(),
            inter_node_bw_gbs: default_inter_node_bw_gbs(),
            intra_bw_gbs: None,
            algorithm: CollectiveAlgorithm::Auto,
            intra_efficiency: default_intra_efficiency(),
            inter_efficiency: default_inter_efficiency(),
            nvls_efficiency: default_nvls_efficiency(),
            nvls_alpha_s: default_nvls_alpha_s(),
            pipeline_chunk_bytes: default_pipeline_chunk_bytes(),
        }
    }
}

impl AlphaBeta {
    /// Resolves the link classes for `gpu` (effective bandwidths: line rate × efficiency).
    pub fn links(&self, gpu: &GpuModel) -> AlphaBetaCost {
        let inter = Link {
            alpha_s: self.inter_alpha_s,
            bw_bytes_per_s: self.inter_node_bw_gbs * 1e9 * self.inter_efficiency,
        };
        let intra_gbs = self.intra_bw_gbs.unwrap_or(gpu.scaleup_link_gbs / 2.0);
        let (intra, nvls) = if intra_gbs > 0.0 {
            let intra = Link {
                alpha_s: self.intra_alpha_s,
                bw_bytes_per_s: intra_gbs * 1e9 * self.intra_efficiency,
            };
            let nvls = gpu.scaleup_reduction.then_some(Link {
                alpha_s: self.nvls_alpha_s,
                bw_bytes_per_s: intra_gbs * 1e9 * self.nvls_efficiency,
            });
            (intra, nvls)
        } else {
            (inter, None)
        };
        AlphaBetaCost {
            intra,
            inter,
            nvls,
            algorithm: self.algorithm,
            chunk_bytes: self.pipeline_chunk_bytes,
        }
    }

    /// Checks the parameters; the error's message names the first bad field.
    pub fn check(&self) -> Result<(), FieldError> {
        for (v, f) in [
            (self.intra_alpha_s, "intra_alpha_s"),
            (self.inter_alpha_s, "inter_alpha_s"),
            (self.nvls_alpha_s, "nvls_alpha_s"),
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
        for (v, f) in [
            (self.intra_efficiency, "intra_efficiency"),
            (self.inter_efficiency, "inter_efficiency"),
            (self.nvls_efficiency, "nvls_efficiency"),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= 1.0) {
                return Err(FieldError::whole(format!(
                    "`{f}` must be > 0 and ≤ 1, found {v}"
                )));
            }
        }
        let c = self.pipeline_chunk_bytes;
        if !(c.is_finite() && c > 0.0) {
            return Err(FieldError::whole(format!(
                "`pipeline_chunk_bytes` must be a finite number > 0, found {c}"
            )));
        }
        Ok(())
    }
}

/// The alpha-beta model resolved for one GPU type: effective intra-server and inter-server links,
/// the NVLS link when the part has in-switch reduction, the algorithm choice and the pipeline chunk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlphaBetaCost {
    pub intra: Link,
    pub inter: Link,
    /// NVLS (`α_nvls`, line rate × `nvls_efficiency`); `None` without `scaleup_reduction`.
    pub nvls: Option<Link>,
    pub algorithm: CollectiveAlgorithm,
    /// Pipeline chunk, bytes.
    pub chunk_bytes: f64,
}

impl AlphaBetaCost {
    /// The layout of `group`: inside one server `(1, p)`; `n ≥ 2` servers with `g ≥ 2` members each
    /// `(n, g)`; one member per server `(p, 1)`. A group whose size is not a multiple of
    /// `per_server` is treated as one member per server (a flat ring over the network link —
    /// conservative).
    fn layout(group: &CommGroup) -> Layout {
        let (p, g) = (group.ranks.max(1), group.per_server);
        if group.in_one_server() {
            Layout {
                servers: 1,
                per_server: p,
            }
        } else if g >= 2 && p.is_multiple_of(g) {
            Layout {
                servers: p / g,
                per_server: g,
            }
        } else {
            Layout {
                servers: p,
                per_server: 1,
            }
        }
    }

    fn flat_link(&self, group: &CommGroup) -> Link {
        if group.in_one_server() {
            self.intra
        } else {
            self.inter
        }
    }

    /// All-reduce time of one algorithm on `group`; `None` when the algorithm is not available
    /// (NVLS without in-switch reduction or with fewer than two ranks per server).
    pub fn all_reduce_with_s(
        &self,
        algo: CollectiveAlgorithm,
        bytes: f64,
        group: &CommGroup,
    ) -> Option<f64> {
        let layout = Self::layout(group);
        if layout.ranks() <= 1 {
            return Some(0.0);
        }
        let (intra, inter, c) = (self.intra, self.inter, self.chunk_bytes);
        match algo {
            CollectiveAlgorithm::Auto => [
                CollectiveAlgorithm::Ring,
                CollectiveAlgorithm::Tree,
                CollectiveAlgorithm::Nvls,
            ]
            .into_iter()
            .filter_map(|a| self.all_reduce_with_s(a, bytes, group))
            .reduce(f64::min),
            CollectiveAlgorithm::Ring => {
                Some(ring_all_reduce_layout_s(layout, bytes, intra, inter))
            }
            CollectiveAlgorithm::Tree => Some(tree_all_reduce_s(layout, bytes, intra, inter, c)),
            CollectiveAlgorithm::Nvls => match self.nvls {
                Some(nvls) if layout.per_server >= 2 => {
                    Some(nvls_tree_all_reduce_s(layout, bytes, nvls, inter, c))
                }
                _ => None,
            },
            CollectiveAlgorithm::Hierarchical => {
                Some(hierarchical_all_reduce_s(layout, bytes, intra, inter, c))
            }
        }
    }
}

impl CommCost for AlphaBetaCost {
    fn all_reduce_s(&self, bytes: f64, group: &CommGroup) -> f64 {
        self.all_reduce_with_s(self.algorithm, bytes, group)
            .or_else(|| self.all_reduce_with_s(CollectiveAlgorithm::Ring, bytes, group))
            .unwrap_or(0.0)
    }

    fn reduce_scatter_s(&self, bytes: f64, group: &CommGroup) -> f64 {
        let layout = Self::layout(group);
        if layout.ranks() <= 1 {
            return 0.0;
        }
        match self.algorithm {
            CollectiveAlgorithm::Hierarchical => hierarchical_gather_scatter_s(
                layout,
                bytes,
                self.intra,
                self.inter,
                self.chunk_bytes,
            ),
            _ => ring_gather_scatter_layout_s(layout, bytes, self.intra, self.inter),
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
