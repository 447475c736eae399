//! The generated fabric of a site: its topology and configuration, the GPUs on it, and the time of one
//! collective on an otherwise idle fabric.

use super::collective::{self, CollectiveKind, Timing};
use super::config::FabricConfig;
use super::switch_power::switch_power_w;
use super::topology::{FabricServer, Topology};
use crate::site::SiteModel;
use crate::training::cost::bus_bandwidth;

/// One GPU of a placement: server index in site order and GPU slot in the server (a placement
/// `Grant`'s `server` and `slot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GpuRef {
    pub server: u32,
    pub slot: u32,
}

impl From<&crate::placement::Grant> for GpuRef {
    fn from(g: &crate::placement::Grant) -> Self {
        GpuRef {
            server: g.server,
            slot: g.slot as u32,
        }
    }
}

/// A generated fabric: the topology plus its configuration.
#[derive(Debug, Clone)]
pub struct Fabric {
    topo: Topology,
    cfg: FabricConfig,
}

/// Time of one collective on the fabric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollectiveTime {
    /// Wall time of the collective, s.
    pub time_s: f64,
    /// nccl-tests algorithm bandwidth `S / t`, bytes/s.
    pub alg_bw_bytes_per_s: f64,
    /// nccl-tests bus bandwidth `algbw · factor(p)`, bytes/s.
    pub bus_bw_bytes_per_s: f64,
    /// Completion batches simulated.
    pub events: u64,
}

impl Fabric {
    /// Builds the fabric for `servers` (site order). Errors name the offending config field.
    pub fn new(cfg: &FabricConfig, servers: &[FabricServer]) -> Result<Fabric, String> {
        Ok(Fabric {
            topo: Topology::build(cfg, servers)?,
            cfg: cfg.clone(),
        })
    }

    /// Builds the fabric for an expanded site (servers with their rack ids and GPU counts).
    pub fn from_site(cfg: &FabricConfig, site: &SiteModel) -> Result<Fabric, String> {
        let servers: Vec<FabricServer> = site
            .servers
            .iter()
            .map(|s| FabricServer {
                rack: s.rack,
                gpus: s.gpus,
            })
            .collect();
        Fabric::new(cfg, &servers)
    }

    /// The topology (links, attachments).
    pub fn topology(&self) -> &Topology {
        &self.topo
    }

    /// A failure takes spine `spine` (`pod · S + s`) down, or a repair brings it back (`up`).
    pub fn set_spine(&mut self, spine: u32, up: bool) {
        self.topo.set_spine(spine, up);
    }

    /// The configuration.
    pub fn config(&self) -> &FabricConfig {
        &self.cfg
    }

    /// Global GPU index of `g`, or an error naming it.
    pub fn gpu(&self, g: GpuRef) -> Result<u32, String> {
        self.topo.gpu(g.server, g.slot).ok_or_else(|| {
            format!(
                "GPU (server {}, slot {}) is not in the fabric",
                g.server, g.slot
            )
        })
    }

    /// Switches (leaf + spine + core).
    pub fn switches(&self) -> u64 {
        let (l, s, c) = self.topo.switches;
        l as u64 + s as u64 + c as u64
    }

    /// Switch power with no traffic, W.
    pub fn idle_power_w(&self) -> f64 {
        switch_power_w(self.switches(), 0, &self.cfg.switch_power)
    }

    /// Time of one collective of `bytes` (nccl-tests sizes) over `groups` (each in rank order) running
    /// concurrently on an otherwise idle fabric. `salt` feeds ECMP.
    pub fn collective(
        &self,
        kind: CollectiveKind,
        bytes: f64,
        groups: &[Vec<GpuRef>],
        salt: u64,
        timing: Timing,
    ) -> Result<CollectiveTime, String> {
        let ids = groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|&r| self.gpu(r))
                    .collect::<Result<Vec<u32>, String>>()
            })
            .collect::<Result<Vec<_>, String>>()?;
        let phases = collective::lower(&self.topo, kind, bytes, &ids);
        let (time_s, events) = collective::time_collective(&self.topo, &phases, salt, timing);
        let p = groups.iter().map(|g| g.len()).max().unwrap_or(1) as u32;
        let alg = if time_s > 0.0 {
            bytes / time_s
        } else {
            f64::INFINITY
        };
        Ok(CollectiveTime {
            time_s,
            alg_bw_bytes_per_s: alg,
            bus_bw_bytes_per_s: bus_bandwidth(kind.nccl(), alg, p),
            events,
        })
    }
}

#[cfg(test)]
mod spine_tests {
    use super::*;
    use crate::network::config::{TopologyConfig, TwoTierClos};
    use crate::network::topology::FabricServer;

    #[test]
    fn ecmp_routes_around_a_spine_that_is_down() {
        let cfg = FabricConfig {
            topology: TopologyConfig::TwoTierClos(TwoTierClos {
                servers_per_leaf: None,
                spines: 4,
                oversubscription: 1.0,
            }),
            ..FabricConfig::default()
        };
        // Two racks of two 8-GPU servers: two leaves, four spines.
        let servers: Vec<FabricServer> = (0..4)
            .map(|i| FabricServer {
                rack: i / 2,
                gpus: 8,
            })
            .collect();
        let mut f = Fabric::new(&cfg, &servers).unwrap();
        assert_eq!(f.topology().spines(), 4);
        let used = |f: &Fabric| {
            let t = f.topology();
            let mut seen = [0u32; 4];
            let mut path = Vec::new();
            for a in 0..16u32 {
                for b in 16..32u32 {
                    path.clear();
                    t.route(a, b, 7, &mut path);
                    for s in 0..4u32 {
                        if path.contains(&t.leaf_up(t.leaf[a as usize], s)) {
                            seen[s as usize] += 1;
                        }
                    }
                }
            }
            seen
        };
        let before = used(&f);
        assert!(before.iter().all(|&n| n > 0), "{before:?}");
        f.set_spine(1, false);
        f.set_spine(1, false); // a second failure of the same spine (held twice)
        let after = used(&f);
        assert_eq!(after[1], 0, "{after:?}");
        assert_eq!(after.iter().sum::<u32>(), 256);
        assert_eq!(f.topology().spines_down(), 1);
        f.set_spine(1, true);
        assert_eq!(used(&f)[1], 0, "still held by the other failure");
        f.set_spine(1, true);
        assert_eq!(used(&f), before, "routes come back exactly");
        assert_eq!(f.topology().spines_down(), 0);
    }
}
