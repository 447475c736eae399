//! Topology generation: turns a [`FabricConfig`] and the site's servers into a table of directed
//! links (capacity, latency, tier) and the attachment of every GPU to its scale-up domain and leaf.
//!
//! Every topology is expressed as one generic up-to-3-tier Clos:
//! - **scale-up**: each GPU has an up and a down link to its domain's NVSwitch (capacity
//!   `scale_up.bw_gbs`); GPUs of one domain talk only over these;
//! - **NIC**: each GPU has an up and a down link to its leaf (capacity `nic_gbs`);
//! - **leaf–spine**: each leaf has one bundle to each of the `S` spines of its pod, capacity
//!   `N_leaf · nic / (oversubscription · S)` where `N_leaf` is the NIC count of the fullest leaf;
//! - **spine–core** (3-tier only): spine `s` of every pod has one bundle to each of the `C` cores of
//!   plane `s`, capacity `L_pod · leaf_bundle / (pod_oversubscription · C)`.
//!
//! Mappings: `TwoTierClos` = one pod of all leaves (leaf per rack by default); `RailOptimized` =
//! one pod, leaf `unit · rails + slot` (every GPU slot is a rail, units of `servers_per_unit`
//! servers); `FatTree{k}` = `k` pods of `k/2` edges with `k/2` NICs each, `k/2` aggregation switches
//! per pod, `k/2` cores per plane, all links at NIC speed (non-blocking).
//!
//! Link ids are arithmetic (no maps): scale-up `2g, 2g+1`; NIC `2G + 2g (+1)`; leaf–spine
//! `B_ls + 2(leaf·S + s) (+1)`; spine–core `B_sc + 2((pod·S + s)·C + c) (+1)`. Even ids go up.

use super::config::{FabricConfig, TopologyConfig};

/// Link tier, for utilisation reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Tier {
    /// GPU ↔ NVSwitch (inside a scale-up domain).
    ScaleUp = 0,
    /// GPU NIC ↔ leaf switch.
    Nic = 1,
    /// Leaf ↔ spine.
    LeafSpine = 2,
    /// Spine ↔ core.
    SpineCore = 3,
}

impl Tier {
    /// All tiers, in order.
    pub const ALL: [Tier; 4] = [Tier::ScaleUp, Tier::Nic, Tier::LeafSpine, Tier::SpineCore];

    /// Lower-case name (report key).
    pub fn name(self) -> &'static str {
        match self {
            Tier::ScaleUp => "scale_up",
            Tier::Nic => "nic",
            Tier::LeafSpine => "leaf_spine",
            Tier::SpineCore => "spine_core",
        }
    }
}

/// One server as the fabric sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FabricServer {
    /// Rack id (site order); servers of one rack share a top-of-rack leaf by default.
    pub rack: u32,
    /// GPUs (= NICs) in the server; 0 for servers outside the GPU fabric.
    pub gpus: u32,
}

/// The generated topology: link table and GPU attachments.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Capacity of each directed link, bytes/s (line rate: utilisation and switch ports).
    pub cap_bytes_per_s: Vec<f64>,
    /// What collective payload gets of each link, bytes/s: line rate × the tier's efficiency
    /// (`FabricConfig::efficiency`). Flows are shared over these.
    pub goodput_bytes_per_s: Vec<f64>,
    /// One-way latency of each link, s.
    pub latency_s: Vec<f64>,
    /// Tier of each link.
    pub tier: Vec<Tier>,
    /// Switch ports behind each link pair (counted on the even, upward id; 0 on odd ids).
    pub ports: Vec<u32>,
    /// First global GPU index of each server.
    pub gpu_first: Vec<u32>,
    /// GPUs per server.
    pub gpus_of: Vec<u32>,
    /// Scale-up domain of each GPU.
    pub domain: Vec<u32>,
    /// Leaf of each GPU.
    pub leaf: Vec<u32>,
    /// Leaves per pod (all leaves for 2-tier topologies).
    pub leaves_per_pod: u32,
    /// Spines per pod `S`.
    pub spines_per_pod: u32,
    /// Cores per spine plane `C` (0 for 2-tier topologies).
    pub cores_per_plane: u32,
    /// Leaf switches, spine switches (all pods), core switches.
    pub switches: (u32, u32, u32),
    pub(crate) base_nic: u32,
    pub(crate) base_leaf_spine: u32,
    pub(crate) base_spine_core: u32,
    /// Per spine (`pod · S + s`): failures holding it down (ECMP routes around it); and how many are down.
    pub(crate) spine_down: Vec<u8>,
    pub(crate) spines_down: u32,
}

/// Upper bound on links (a typo should give an error, not an out-of-memory).
const MAX_LINKS: u64 = 200_000_000;

/// The switch tiers above the NICs: leaves and how they group into pods, spines, cores, and the
/// capacity of a leaf–spine and a spine–core bundle (bytes/s).
struct Tiers {
    n_leaves: u32,
    leaves_per_pod: u32,
    spines: u32,
    cores: u32,
    leaf_bundle: f64,
    core_bundle: f64,
}

impl Topology {
    /// Builds the topology; a message naming the offending field when the config does not fit the
    /// servers.
    pub fn build(cfg: &FabricConfig, servers: &[FabricServer]) -> Result<Topology, String> {
        cfg.check().map_err(|e| e.message)?;
        let (gpu_first, g_total) = number_gpus(servers)?;
        let nic = cfg.nic_gbs * 1e9;
        let domain = scale_up_domains(cfg, servers, g_total)?;
        let mut leaf = vec![0u32; g_total as usize];
        let tiers = leaves_and_tiers(cfg, servers, &gpu_first, nic, &mut leaf)?;
        let Tiers {
            n_leaves,
            leaves_per_pod,
            spines,
            cores,
            ..
        } = tiers;
        let pods = n_leaves.div_ceil(leaves_per_pod);

        let n_su = 2 * g_total as u64;
        let n_ls = 2 * n_leaves as u64 * spines as u64;
        let n_sc = 2 * pods as u64 * spines as u64 * cores as u64;
        let n_links = 2 * n_su + n_ls + n_sc;
        if n_links > MAX_LINKS {
            return Err(format!(
                "the topology has {n_links} links; at most {MAX_LINKS} are supported (reduce `spines`/`cores_per_plane`)"
            ));
        }
        let n = n_links as usize;
        let mut t = Topology {
            cap_bytes_per_s: Vec::with_capacity(n),
            goodput_bytes_per_s: Vec::new(),
            latency_s: Vec::with_capacity(n),
            tier: Vec::with_capacity(n),
            ports: Vec::with_capacity(n),
            gpu_first,
            gpus_of: servers.iter().map(|s| s.gpus).collect(),
            domain,
            leaf,
            leaves_per_pod,
            spines_per_pod: spines,
            cores_per_plane: cores,
            switches: (n_leaves, pods * spines, spines * cores),
            base_nic: 2 * g_total,
            base_leaf_spine: 4 * g_total,
            base_spine_core: 4 * g_total + n_ls as u32,
            spine_down: vec![0; (pods * spines) as usize],
            spines_down: 0,
        };
        t.push_links(cfg, g_total, nic, &tiers, pods);
        debug_assert_eq!(t.cap_bytes_per_s.len(), n);
        let e = &cfg.efficiency;
        t.goodput_bytes_per_s = t
            .cap_bytes_per_s
            .iter()
            .zip(&t.tier)
            .map(|(c, tier)| match tier {
                Tier::ScaleUp => c * e.scale_up,
                _ => c * e.network,
            })
            .collect();
        Ok(t)
    }

    /// Spine switches (all pods): `pod · S + s`.
    pub fn spines(&self) -> u32 {
        self.spine_down.len() as u32
    }

    /// A failure takes spine `spine` down (`up`: one is repaired). ECMP then spreads the flows of its pod over
    /// the spines still up; with every spine of a plane pair down the flows keep their hashed spine.
    pub fn set_spine(&mut self, spine: u32, up: bool) {
        let d = &mut self.spine_down[spine as usize];
        if up {
            *d -= 1;
            if *d == 0 {
                self.spines_down -= 1;
            }
        } else {
            *d += 1;
            if *d == 1 {
                self.spines_down += 1;
            }
        }
    }

    /// Spines down now.
    pub fn spines_down(&self) -> u32 {
        self.spines_down
    }

    /// The spine plane of a flow with ECMP hash `h` between pods `pa` and `pb`: `h mod S` over the planes
    /// whose spines are up in both pods.
    pub(crate) fn pick_spine(&self, h: u64, pa: u32, pb: u32) -> u32 {
        let s_count = self.spines_per_pod;
        if self.spines_down == 0 {
            return (h % s_count as u64) as u32;
        }
        let up = |s: u32| {
            self.spine_down[(pa * s_count + s) as usize] == 0
                && self.spine_down[(pb * s_count + s) as usize] == 0
        };
        let alive = (0..s_count).filter(|&s| up(s)).count() as u64;
        if alive == 0 {
            return (h % s_count as u64) as u32;
        }
        let k = h % alive;
        (0..s_count)
            .filter(|&s| up(s))
            .nth(k as usize)
            .expect("k < alive")
    }

    /// Fills the link table in id order: scale-up and NIC pairs per GPU, then leaf–spine and
    /// spine–core bundles.
    fn push_links(&mut self, cfg: &FabricConfig, g_total: u32, nic: f64, tiers: &Tiers, pods: u32) {
        let su_bw = cfg.scale_up.bw_gbs * 1e9;
        let lat = &cfg.latency;
        let port = cfg.port_gbs * 1e9;
        let bundle_ports = |cap: f64| ((cap / port) * (1.0 - 1e-12)).ceil().max(1.0) as u32;
        let mut push_pair = |cap: f64, latency: f64, tier: Tier, ports: u32| {
            self.cap_bytes_per_s.extend([cap, cap]);
            self.latency_s.extend([latency, latency]);
            self.tier.extend([tier, tier]);
            self.ports.extend([ports, 0]);
        };
        for _ in 0..g_total {
            push_pair(su_bw, lat.scale_up_s, Tier::ScaleUp, 0);
        }
        for _ in 0..g_total {
            push_pair(nic, lat.nic_s, Tier::Nic, 1);
        }
        for _ in 0..tiers.n_leaves as u64 * tiers.spines as u64 {
            push_pair(
                tiers.leaf_bundle,
                lat.leaf_spine_s,
                Tier::LeafSpine,
                2 * bundle_ports(tiers.leaf_bundle),
            );
        }
        for _ in 0..pods as u64 * tiers.spines as u64 * tiers.cores as u64 {
            push_pair(
                tiers.core_bundle,
                lat.spine_core_s,
                Tier::SpineCore,
                2 * bundle_ports(tiers.core_bundle),
            );
        }
    }

    /// GPUs in the fabric.
    pub fn gpus(&self) -> u32 {
        self.domain.len() as u32
    }

    /// Directed links.
    pub fn links(&self) -> usize {
        self.cap_bytes_per_s.len()
    }

    /// Global GPU index of slot `slot` of server `server`; `None` if there is no such GPU.
    pub fn gpu(&self, server: u32, slot: u32) -> Option<u32> {
        let s = server as usize;
        if s < self.gpus_of.len() && slot < self.gpus_of[s] {
            Some(self.gpu_first[s] + slot)
        } else {
            None
        }
    }

    pub(crate) fn su_up(&self, g: u32) -> u32 {
        2 * g
    }
    pub(crate) fn su_down(&self, g: u32) -> u32 {
        2 * g + 1
    }
    pub(crate) fn nic_up(&self, g: u32) -> u32 {
        self.base_nic + 2 * g
    }
    pub(crate) fn nic_down(&self, g: u32) -> u32 {
        self.base_nic + 2 * g + 1
    }
    pub(crate) fn leaf_up(&self, leaf: u32, s: u32) -> u32 {
        self.base_leaf_spine + 2 * (leaf * self.spines_per_pod + s)
    }
    pub(crate) fn leaf_down(&self, leaf: u32, s: u32) -> u32 {
        self.leaf_up(leaf, s) + 1
    }
    pub(crate) fn spine_up(&self, pod: u32, s: u32, c: u32) -> u32 {
        self.base_spine_core + 2 * ((pod * self.spines_per_pod + s) * self.cores_per_plane + c)
    }
    pub(crate) fn spine_down(&self, pod: u32, s: u32, c: u32) -> u32 {
        self.spine_up(pod, s, c) + 1
    }
}

/// The first global GPU index of each server (servers in order, their GPUs consecutive) and the GPU
/// count; an error when there are none or too many.
fn number_gpus(servers: &[FabricServer]) -> Result<(Vec<u32>, u32), String> {
    let mut gpu_first = Vec::with_capacity(servers.len());
    let mut total: u64 = 0;
    for s in servers {
        gpu_first.push(total as u32);
        total += s.gpus as u64;
    }
    if total == 0 {
        return Err("the fabric has no GPUs: no server of the site has a GPU".into());
    }
    if total > u32::MAX as u64 / 8 {
        return Err(format!(
            "the fabric has {total} GPUs; at most 536,870,911 are supported"
        ));
    }
    Ok((gpu_first, total as u32))
}

/// The scale-up domain of each GPU: its server, or blocks of `scale_up.gpus_per_domain` GPUs (a
/// multiple of every server's GPU count).
fn scale_up_domains(
    cfg: &FabricConfig,
    servers: &[FabricServer],
    g_total: u32,
) -> Result<Vec<u32>, String> {
    let mut domain = Vec::with_capacity(g_total as usize);
    match cfg.scale_up.gpus_per_domain {
        None => {
            for (i, s) in servers.iter().enumerate() {
                domain.extend(std::iter::repeat_n(i as u32, s.gpus as usize));
            }
        }
        Some(d) => {
            if let Some(s) = servers
                .iter()
                .find(|s| s.gpus > 0 && !d.is_multiple_of(s.gpus))
            {
                return Err(format!(
                    "`scale_up.gpus_per_domain` ({d}) must be a multiple of every server's GPU count (found a server with {})",
                    s.gpus
                ));
            }
            domain.extend((0..g_total).map(|g| g / d));
        }
    }
    Ok(domain)
}

/// Assigns every GPU its leaf (into `leaf`) by the topology's mapping, and sizes the tiers above:
/// pods, spines, cores and bundle capacities (`nic` in bytes/s).
fn leaves_and_tiers(
    cfg: &FabricConfig,
    servers: &[FabricServer],
    gpu_first: &[u32],
    nic: f64,
    leaf: &mut [u32],
) -> Result<Tiers, String> {
    let gpu_servers: Vec<(usize, &FabricServer)> = servers
        .iter()
        .enumerate()
        .filter(|(_, s)| s.gpus > 0)
        .collect();
    let block_leaves = |leaf: &mut [u32], per_leaf: Option<u32>| -> u32 {
        let mut next = 0u32;
        let mut last_rack = None;
        for (k, (i, s)) in gpu_servers.iter().enumerate() {
            let l = match per_leaf {
                Some(n) => k as u32 / n,
                None => {
                    if last_rack != Some(s.rack) {
                        if last_rack.is_some() {
                            next += 1;
                        }
                        last_rack = Some(s.rack);
                    }
                    next
                }
            };
            let f = gpu_first[*i] as usize;
            leaf[f..f + s.gpus as usize].fill(l);
        }
        leaf.iter().copied().max().unwrap_or(0) + 1
    };
    let tiers = match &cfg.topology {
        TopologyConfig::TwoTierClos(c) => {
            let n_leaves = block_leaves(leaf, c.servers_per_leaf);
            let spines = c.spines;
            let per_leaf = max_nics_per_leaf(leaf, n_leaves);
            Tiers {
                n_leaves,
                leaves_per_pod: n_leaves,
                spines,
                cores: 0,
                leaf_bundle: per_leaf as f64 * nic / (c.oversubscription * spines as f64),
                core_bundle: 0.0,
            }
        }
        TopologyConfig::ThreeTierClos(c) => {
            let n_leaves = block_leaves(leaf, c.servers_per_leaf);
            let leaves_per_pod = c.leaves_per_pod;
            let spines = c.spines_per_pod;
            let cores = c.cores_per_plane;
            let per_leaf = max_nics_per_leaf(leaf, n_leaves);
            let leaf_bundle = per_leaf as f64 * nic / (c.oversubscription * spines as f64);
            Tiers {
                n_leaves,
                leaves_per_pod,
                spines,
                cores,
                leaf_bundle,
                core_bundle: leaves_per_pod as f64 * leaf_bundle
                    / (c.pod_oversubscription * cores as f64),
            }
        }
        TopologyConfig::RailOptimized(c) => {
            let max_gpus = servers.iter().map(|s| s.gpus).max().unwrap_or(0);
            for (k, (i, s)) in gpu_servers.iter().enumerate() {
                let unit = k as u32 / c.servers_per_unit;
                for slot in 0..s.gpus {
                    leaf[(gpu_first[*i] + slot) as usize] = unit * max_gpus + slot;
                }
            }
            let n_leaves = leaf.iter().copied().max().unwrap_or(0) + 1;
            let spines = c.spines;
            let per_leaf = max_nics_per_leaf(leaf, n_leaves);
            Tiers {
                n_leaves,
                leaves_per_pod: n_leaves,
                spines,
                cores: 0,
                leaf_bundle: per_leaf as f64 * nic / (c.oversubscription * spines as f64),
                core_bundle: 0.0,
            }
        }
        TopologyConfig::FatTree(c) => {
            let half = c.k / 2;
            let capacity = c.k as u64 * c.k as u64 * c.k as u64 / 4;
            let total = leaf.len() as u64;
            if total > capacity {
                return Err(format!(
                    "`topology.FatTree.k` = {} connects at most k³/4 = {capacity} NICs; the site has {total} GPUs",
                    c.k
                ));
            }
            for (g, l) in leaf.iter_mut().enumerate() {
                *l = g as u32 / half;
            }
            Tiers {
                n_leaves: c.k * half,
                leaves_per_pod: half,
                spines: half,
                cores: half,
                leaf_bundle: nic,
                core_bundle: nic,
            }
        }
    };
    Ok(tiers)
}

fn max_nics_per_leaf(leaf: &[u32], n_leaves: u32) -> u32 {
    let mut count = vec![0u32; n_leaves as usize];
    for &l in leaf {
        count[l as usize] += 1;
    }
    count.into_iter().max().unwrap_or(1).max(1)
}
