//! Scenario-facing fabric configuration: a few RON lines describe the whole network.
//!
//! ```ron
//! Fabric(topology: TwoTierClos(oversubscription: 3.0), nic_gbs: 50.0)
//! ```
//!
//! Every field has a documented default; [`FabricConfig::check`] names the first bad field.
//! Bandwidths are GB/s (10^9 bytes/s) per direction, latencies seconds, powers watts. Sources:
//! `../shared/reference/models.md` §5 \[src\]; engineering assumptions are marked \[eng\].

use serde::{Deserialize, Serialize};

use crate::check::FieldError;

/// The network fabric of a site: scale-up domains, the scale-out topology, link speeds and
/// latencies, switch power and the all-reduce algorithm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FabricConfig {
    /// Scale-out topology. Default `TwoTierClos()` (leaf per rack, 1:1).
    #[serde(default)]
    pub topology: TopologyConfig,
    /// Scale-up domains (NVLink/NVSwitch). Default: one domain per server at 450 GB/s per GPU.
    #[serde(default)]
    pub scale_up: ScaleUpConfig,
    /// NIC bandwidth per GPU per direction, GB/s. Default 50 = one 400 Gb/s InfiniBand NDR port
    /// per GPU (DGX H100: 8 × ConnectX-7) \[src: models.md §5\].
    #[serde(default = "default_nic_gbs")]
    pub nic_gbs: f64,
    /// Switch port speed per direction, GB/s: sets how many ports (and optics) a switch-to-switch
    /// bundle has. Default 50 (400 Gb/s NDR; a 64-port switch = 51.2 Tb/s) \[src: models.md §5\].
    #[serde(default = "default_nic_gbs")]
    pub port_gbs: f64,
    /// One-way latency per link, by tier. Defaults sum to NCCL's per-step latencies.
    #[serde(default)]
    pub latency: LatencyConfig,
    /// Switch and optics power.
    #[serde(default)]
    pub switch_power: SwitchPowerConfig,
    /// Algorithm for all-reduce collectives. Default `Ring`.
    #[serde(default)]
    pub all_reduce: AllReduceAlgo,
    /// Fraction of each link's line rate that collective payload gets (NCCL's protocol overhead): the same
    /// measured figures as the alpha-beta model's, so that on an idle non-blocking fabric both price a
    /// collective alike.
    #[serde(default)]
    pub efficiency: EfficiencyConfig,
}

/// Goodput fractions of the fabric's links by tier (0 < e ≤ 1). Flows are shared max-min over these
/// effective capacities; link utilisation and switch ports stay at line rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EfficiencyConfig {
    /// Scale-up (NVLink) links. Default 0.822 = 370/450: "NCCL can get an effective NVLink bandwidth of 370
    /// GB/s" on H100 with a ring (S. Jeaugey, NVIDIA/nccl-tests#212) — the alpha-beta model's
    /// `intra_efficiency`. \[src, calibrated]
    #[serde(default = "default_scale_up_efficiency")]
    pub scale_up: f64,
    /// NIC and switch links. Default 0.94 = 47/50: "for NDR @ 400 Gbps you should see 46–48 GB/s per NIC"
    /// (NVIDIA, NVIDIA/nccl-tests#290) — the alpha-beta model's `inter_efficiency`. \[src, calibrated]
    #[serde(default = "default_network_efficiency")]
    pub network: f64,
}

fn default_scale_up_efficiency() -> f64 {
    0.822
}
fn default_network_efficiency() -> f64 {
    0.94
}

impl Default for EfficiencyConfig {
    fn default() -> Self {
        EfficiencyConfig {
            scale_up: default_scale_up_efficiency(),
            network: default_network_efficiency(),
        }
    }
}

fn default_nic_gbs() -> f64 {
    50.0
}

impl Default for FabricConfig {
    fn default() -> Self {
        FabricConfig {
            topology: TopologyConfig::default(),
            scale_up: ScaleUpConfig::default(),
            nic_gbs: default_nic_gbs(),
            port_gbs: default_nic_gbs(),
            latency: LatencyConfig::default(),
            switch_power: SwitchPowerConfig::default(),
            all_reduce: AllReduceAlgo::default(),
            efficiency: EfficiencyConfig::default(),
        }
    }
}

/// All-reduce algorithm used for every all-reduce a training job issues on the fabric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum AllReduceAlgo {
    /// Flat ring over the group in rank order: `2(p−1)` steps of `S/p` bytes.
    #[default]
    Ring,
    /// NCCL double binary tree: reduce then broadcast, `S/2` bytes per tree edge.
    Tree,
    /// Intra-domain reduce-scatter, inter-domain ring all-reduce of `S/g`, intra-domain all-gather.
    Hierarchical,
}

/// Scale-up (NVLink) domains: GPUs in one domain talk over the scale-up links, not the NICs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleUpConfig {
    /// GPUs per domain, consecutive in site order (e.g. 72 for GB200 NVL72 racks). Default none =
    /// one domain per server (8-GPU HGX/NVSwitch). Must be a multiple of the servers' GPU count.
    #[serde(default)]
    pub gpus_per_domain: Option<u32>,
    /// Scale-up bandwidth per GPU per direction, GB/s. Default 450 = NVLink4 900 GB/s
    /// bidirectional (H100); NVL72 (NVLink5) is 900 \[src: models.md §5\].
    #[serde(default = "default_scale_up_gbs")]
    pub bw_gbs: f64,
}

fn default_scale_up_gbs() -> f64 {
    450.0
}

impl Default for ScaleUpConfig {
    fn default() -> Self {
        ScaleUpConfig {
            gpus_per_domain: None,
            bw_gbs: default_scale_up_gbs(),
        }
    }
}

/// One-way latency of one link of each tier, s. A path's latency is the sum over its links; a
/// collective step pays its slowest path's latency once (the `α` of the alpha-beta model).
/// Defaults \[eng\] are chosen so the path sums reproduce NCCL's tuning-model per-step latencies
/// (`hwLat`, Simple protocol): 3.4 µs over NVLink (2 × 1.7), 12–14 µs over the network
/// (2 × 6 NIC + 2 × 0.5 per switch tier crossed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyConfig {
    /// GPU ↔ NVSwitch link. Default 1.7 µs.
    #[serde(default = "default_scale_up_latency_s")]
    pub scale_up_s: f64,
    /// GPU NIC ↔ leaf link (includes NIC and host software overhead). Default 6 µs.
    #[serde(default = "default_nic_latency_s")]
    pub nic_s: f64,
    /// Leaf ↔ spine link. Default 0.5 µs.
    #[serde(default = "default_switch_latency_s")]
    pub leaf_spine_s: f64,
    /// Spine ↔ core link (3-tier topologies). Default 0.5 µs.
    #[serde(default = "default_switch_latency_s")]
    pub spine_core_s: f64,
}

fn default_scale_up_latency_s() -> f64 {
    1.7e-6
}
fn default_nic_latency_s() -> f64 {
    6.0e-6
}
fn default_switch_latency_s() -> f64 {
    0.5e-6
}

impl Default for LatencyConfig {
    fn default() -> Self {
        LatencyConfig {
            scale_up_s: default_scale_up_latency_s(),
            nic_s: default_nic_latency_s(),
            leaf_spine_s: default_switch_latency_s(),
            spine_core_s: default_switch_latency_s(),
        }
    }
}

/// Power of the scale-out switches: `P = switches · idle_w + active_ports · per_active_port_w`
/// (see [`super::switch_power::switch_power_w`]). Scale-up switches (NVSwitch) sit in the servers
/// and are part of host power.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchPowerConfig {
    /// Power of one switch with no traffic (fans, ASIC, management), W. Default 600 \[eng: order of
    /// a 64-port 400G switch without optics\].
    #[serde(default = "default_switch_idle_w")]
    pub idle_w: f64,
    /// Extra power of one port carrying traffic (transceiver + SerDes), W. Default 16 = one
    /// 400/800G optical module \[src: models.md §5, 15–17 W\].
    #[serde(default = "default_port_w")]
    pub per_active_port_w: f64,
}

fn default_switch_idle_w() -> f64 {
    600.0
}
fn default_port_w() -> f64 {
    16.0
}

impl Default for SwitchPowerConfig {
    fn default() -> Self {
        SwitchPowerConfig {
            idle_w: default_switch_idle_w(),
            per_active_port_w: default_port_w(),
        }
    }
}

/// Scale-out topology.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TopologyConfig {
    /// Leaf/spine: every leaf connects to every spine.
    TwoTierClos(TwoTierClos),
    /// Leaf/spine/core: leaves and spines form pods; every spine connects to its core plane.
    ThreeTierClos(ThreeTierClos),
    /// DGX SuperPOD-style: scalable units of servers, one leaf per rail (GPU slot) per unit,
    /// leaves joined by spines.
    RailOptimized(RailOptimized),
    /// k-ary fat-tree (Al-Fares et al., SIGCOMM 2008): k pods of k/2 edge and k/2 aggregation
    /// switches, (k/2)² cores, all links at NIC speed; at most k³/4 NICs.
    FatTree(FatTree),
}

impl Default for TopologyConfig {
    fn default() -> Self {
        TopologyConfig::TwoTierClos(TwoTierClos::default())
    }
}

/// 2-tier Clos parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwoTierClos {
    /// Servers under one leaf, in site order. Default none = one leaf per rack (top of rack).
    #[serde(default)]
    pub servers_per_leaf: Option<u32>,
    /// Spine switches (ECMP paths between two leaves). Default 16.
    #[serde(default = "default_spines")]
    pub spines: u32,
    /// Leaf downlink ÷ uplink bandwidth, ≥ 1. Default 1 (non-blocking).
    #[serde(default = "one")]
    pub oversubscription: f64,
}

fn default_spines() -> u32 {
    16
}
fn one() -> f64 {
    1.0
}

impl Default for TwoTierClos {
    fn default() -> Self {
        TwoTierClos {
            servers_per_leaf: None,
            spines: default_spines(),
            oversubscription: 1.0,
        }
    }
}

/// 3-tier Clos parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreeTierClos {
    /// Servers under one leaf. Default none = one leaf per rack.
    #[serde(default)]
    pub servers_per_leaf: Option<u32>,
    /// Leaves per pod. Default 16.
    #[serde(default = "default_spines")]
    pub leaves_per_pod: u32,
    /// Spines per pod (each leaf connects to all of them). Default 16.
    #[serde(default = "default_spines")]
    pub spines_per_pod: u32,
    /// Core switches per spine plane (spine `j` of every pod connects to the `j`-th plane).
    /// Default 16.
    #[serde(default = "default_spines")]
    pub cores_per_plane: u32,
    /// Leaf downlink ÷ uplink bandwidth, ≥ 1. Default 1.
    #[serde(default = "one")]
    pub oversubscription: f64,
    /// Pod (spine) downlink ÷ uplink bandwidth, ≥ 1. Default 1.
    #[serde(default = "one")]
    pub pod_oversubscription: f64,
}

impl Default for ThreeTierClos {
    fn default() -> Self {
        ThreeTierClos {
            servers_per_leaf: None,
            leaves_per_pod: 16,
            spines_per_pod: 16,
            cores_per_plane: 16,
            oversubscription: 1.0,
            pod_oversubscription: 1.0,
        }
    }
}

/// Rail-optimised leaf/spine parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RailOptimized {
    /// Servers per scalable unit. Default 32 (DGX SuperPOD SU) \[src: models.md §5\].
    #[serde(default = "default_su")]
    pub servers_per_unit: u32,
    /// Spine switches. Default 16.
    #[serde(default = "default_spines")]
    pub spines: u32,
    /// Leaf downlink ÷ uplink bandwidth, ≥ 1. Default 1.
    #[serde(default = "one")]
    pub oversubscription: f64,
}

fn default_su() -> u32 {
    32
}

impl Default for RailOptimized {
    fn default() -> Self {
        RailOptimized {
            servers_per_unit: default_su(),
            spines: default_spines(),
            oversubscription: 1.0,
        }
    }
}

/// k-ary fat-tree parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FatTree {
    /// Switch radix, even, ≥ 2. Default 32 (8,192 NICs).
    #[serde(default = "default_k")]
    pub k: u32,
}

fn default_k() -> u32 {
    32
}

impl Default for FatTree {
    fn default() -> Self {
        FatTree { k: default_k() }
    }
}

fn positive(v: f64, field: &str) -> Result<(), FieldError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(FieldError::whole(format!(
            "`{field}` must be a finite number > 0, found {v}"
        )))
    }
}

fn non_negative(v: f64, field: &str) -> Result<(), FieldError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(FieldError::whole(format!(
            "`{field}` must be a finite number ≥ 0, found {v}"
        )))
    }
}

fn at_least_one(v: f64, field: &str) -> Result<(), FieldError> {
    if v.is_finite() && v >= 1.0 {
        Ok(())
    } else {
        Err(FieldError::whole(format!(
            "`{field}` must be a finite number ≥ 1, found {v}"
        )))
    }
}

fn count(v: u32, field: &str) -> Result<(), FieldError> {
    if v >= 1 {
        Ok(())
    } else {
        Err(FieldError::whole(format!("`{field}` must be ≥ 1, found 0")))
    }
}

impl FabricConfig {
    /// Checks the parameters that do not depend on the site; returns a message naming the first
    /// bad field (site-dependent checks are in [`super::Fabric::new`]).
    pub fn check(&self) -> Result<(), FieldError> {
        positive(self.nic_gbs, "nic_gbs")?;
        positive(self.port_gbs, "port_gbs")?;
        if self.port_gbs < 1.0 || self.nic_gbs < 1.0 {
            return Err(FieldError::new(
                if self.port_gbs < 1.0 {
                    "port_gbs"
                } else {
                    "nic_gbs"
                },
                format!(
                    "a link below 1 Gb/s is not a datacenter fabric (ports are 100–800 Gb/s), found {}",
                    self.port_gbs.min(self.nic_gbs)
                ),
            ));
        }
        positive(self.scale_up.bw_gbs, "scale_up.bw_gbs")?;
        for (e, name) in [
            (self.efficiency.scale_up, "efficiency.scale_up"),
            (self.efficiency.network, "efficiency.network"),
        ] {
            if !(e > 0.0 && e <= 1.0) {
                return Err(FieldError::whole(format!(
                    "`{name}` is a fraction of the line rate, 0 < e ≤ 1, found {e}"
                )));
            }
        }
        if let Some(g) = self.scale_up.gpus_per_domain {
            count(g, "scale_up.gpus_per_domain")?;
        }
        let l = &self.latency;
        non_negative(l.scale_up_s, "latency.scale_up_s")?;
        non_negative(l.nic_s, "latency.nic_s")?;
        non_negative(l.leaf_spine_s, "latency.leaf_spine_s")?;
        non_negative(l.spine_core_s, "latency.spine_core_s")?;
        non_negative(self.switch_power.idle_w, "switch_power.idle_w")?;
        non_negative(
            self.switch_power.per_active_port_w,
            "switch_power.per_active_port_w",
        )?;
        match &self.topology {
            TopologyConfig::TwoTierClos(c) => {
                if let Some(s) = c.servers_per_leaf {
                    count(s, "topology.TwoTierClos.servers_per_leaf")?;
                }
                count(c.spines, "topology.TwoTierClos.spines")?;
                at_least_one(c.oversubscription, "topology.TwoTierClos.oversubscription")?;
            }
            TopologyConfig::ThreeTierClos(c) => {
                if let Some(s) = c.servers_per_leaf {
                    count(s, "topology.ThreeTierClos.servers_per_leaf")?;
                }
                count(c.leaves_per_pod, "topology.ThreeTierClos.leaves_per_pod")?;
                count(c.spines_per_pod, "topology.ThreeTierClos.spines_per_pod")?;
                count(c.cores_per_plane, "topology.ThreeTierClos.cores_per_plane")?;
                at_least_one(
                    c.oversubscription,
                    "topology.ThreeTierClos.oversubscription",
                )?;
                at_least_one(
                    c.pod_oversubscription,
                    "topology.ThreeTierClos.pod_oversubscription",
                )?;
            }
            TopologyConfig::RailOptimized(c) => {
                count(
                    c.servers_per_unit,
                    "topology.RailOptimized.servers_per_unit",
                )?;
                count(c.spines, "topology.RailOptimized.spines")?;
                at_least_one(
                    c.oversubscription,
                    "topology.RailOptimized.oversubscription",
                )?;
            }
            TopologyConfig::FatTree(c) => {
                if c.k < 2 || !c.k.is_multiple_of(2) {
                    return Err(FieldError::whole(format!(
                        "`topology.FatTree.k` must be an even number ≥ 2, found {}",
                        c.k
                    )));
                }
                if c.k > 256 {
                    return Err(FieldError::whole(format!(
                        "`topology.FatTree.k` must be ≤ 256, found {}",
                        c.k
                    )));
                }
            }
        }
        Ok(())
    }
}
