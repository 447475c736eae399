//! The physical site expanded from a scenario: a flat list of servers in site order
//! (hall, row, rack, server). Stable domain ids are indices into this list. The scenario crate builds it
//! from a template layout or a node list.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;

/// Host (non-GPU) power of a server and its power supply.
///
/// `P_host = idle_w + (max_w − idle_w) · u` where `u` is the fraction of the server's GPU capacity
/// allocated; server input `P_in = (P_gpus + P_host) / psu_efficiency` (docs/models.md §Server power).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostPower {
    /// CPUs, memory, NICs, fans, storage with no GPU allocated, W (DC side).
    pub idle_w: f64,
    /// The same with every GPU allocated, W.
    pub max_w: f64,
    /// Power-supply efficiency (AC in → DC out), 0 < η ≤ 1. Default 0.95.
    #[serde(default = "default_psu_efficiency")]
    pub psu_efficiency: f64,
}

fn default_psu_efficiency() -> f64 {
    0.95
}

/// One server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSpec {
    pub name: String,
    pub hall: u32,
    pub row: u32,
    pub rack: u32,
    /// Index into the catalog (meaningless when `gpus == 0`).
    pub gpu_model: usize,
    pub gpus: u32,
    pub cpu_milli: u64,
    pub memory_mib: u64,
    pub host: HostPower,
}

/// The expanded site.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SiteModel {
    pub servers: Vec<ServerSpec>,
    pub halls: u32,
    pub rows: u32,
    pub racks: u32,
}

impl SiteModel {
    pub fn gpus_total(&self) -> u64 {
        self.servers.iter().map(|s| s.gpus as u64).sum()
    }

    /// GPU count per model name, in name order.
    pub fn gpus_by_model(&self, catalog: &Catalog) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for s in self.servers.iter().filter(|s| s.gpus > 0) {
            *m.entry(catalog.gpus[s.gpu_model].name.clone()).or_insert(0) += s.gpus as u64;
        }
        m
    }

    /// Sum of GPU board power, W.
    pub fn gpu_board_power_w(&self, catalog: &Catalog) -> f64 {
        self.servers
            .iter()
            .map(|s| s.gpus as f64 * catalog.gpus[s.gpu_model].board_power_w)
            .sum()
    }

    /// One-paragraph description of the site.
    pub fn describe(&self, catalog: &Catalog) -> String {
        let by_model: Vec<String> = self
            .gpus_by_model(catalog)
            .iter()
            .map(|(m, n)| format!("{n} × {m}"))
            .collect();
        format!(
            "{} hall(s), {} row(s), {} rack(s), {} server(s), {} GPU(s) ({}); GPU board power {:.1} kW",
            self.halls,
            self.rows,
            self.racks,
            self.servers.len(),
            self.gpus_total(),
            if by_model.is_empty() {
                "none".to_string()
            } else {
                by_model.join(", ")
            },
            self.gpu_board_power_w(catalog) / 1e3
        )
    }
}
