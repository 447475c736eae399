//! The physical site expanded from a scenario: a flat list of servers in site order
//! (hall, row, rack, server). Stable domain ids are indices into this list.

use std::collections::BTreeMap;

use crate::catalog::Catalog;
use serde::{Deserialize, Serialize};

use crate::scenario::{Layout, NodeListSite};
use crate::workload::NodeSpec;

/// Upper bound on servers in one site, to turn a typo (`count: 1000000000`) into an error, not an OOM.
pub const MAX_SERVERS: u64 = 2_000_000;

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

/// Expands a template layout. `model_of` maps a template name to its catalog index (already validated).
pub fn expand_layout(layout: &Layout, catalog: &Catalog) -> Result<SiteModel, String> {
    // Count first so a huge site fails fast without allocating.
    let mut total: u64 = 0;
    for hg in &layout.halls {
        for rg in &hg.rows {
            for kg in &rg.racks {
                let per_rack: u64 = kg.servers.iter().map(|s| s.count as u64).sum();
                total = total.saturating_add(
                    (hg.count as u64)
                        .saturating_mul(rg.count as u64)
                        .saturating_mul(kg.count as u64)
                        .saturating_mul(per_rack),
                );
            }
        }
    }
    if total > MAX_SERVERS {
        return Err(format!(
            "the layout expands to {total} servers; at most {MAX_SERVERS} are supported"
        ));
    }
    let mut site = SiteModel {
        servers: Vec::with_capacity(total as usize),
        ..Default::default()
    };
    for hg in &layout.halls {
        for _ in 0..hg.count {
            let hall = site.halls;
            site.halls += 1;
            for rg in &hg.rows {
                for _ in 0..rg.count {
                    let row = site.rows;
                    site.rows += 1;
                    for kg in &rg.racks {
                        for _ in 0..kg.count {
                            let rack = site.racks;
                            site.racks += 1;
                            let mut slot = 0u32;
                            for sg in &kg.servers {
                                let t = &layout.server_templates[&sg.template];
                                let gpu_model = if t.gpus == 0 {
                                    0
                                } else {
                                    catalog.index_of(&t.gpu_model).ok_or_else(|| {
                                        format!("unknown GPU model `{}`", t.gpu_model)
                                    })?
                                };
                                for _ in 0..sg.count {
                                    site.servers.push(ServerSpec {
                                        name: format!("h{hall}-r{row}-k{rack}-s{slot}"),
                                        hall,
                                        row,
                                        rack,
                                        gpu_model,
                                        gpus: t.gpus,
                                        cpu_milli: t.cpu_milli,
                                        memory_mib: t.memory_mib,
                                        host: t.host.clone(),
                                    });
                                    slot += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(site)
}

/// Packs node-list servers into racks, rows and halls in file order.
/// Returns `(node index, message)` for a node whose GPU model is not in the catalog.
pub fn from_node_list(
    nodes: &[NodeSpec],
    cfg: &NodeListSite,
    catalog: &Catalog,
) -> Result<SiteModel, (usize, String)> {
    let mut site = SiteModel::default();
    let per_row = cfg.servers_per_rack as usize * cfg.racks_per_row as usize;
    let per_hall = per_row * cfg.rows_per_hall as usize;
    for (i, n) in nodes.iter().enumerate() {
        let gpu_model = if n.gpus == 0 {
            0
        } else {
            catalog.index_of(&n.model).ok_or_else(|| {
                (
                    i,
                    format!(
                        "node `{}` has GPU model `{}`, which is not in the catalog (known: {}); add it with `extra_gpus`",
                        n.name,
                        n.model,
                        catalog.names().join(", ")
                    ),
                )
            })?
        };
        let rack = (i / cfg.servers_per_rack as usize) as u32;
        let row = (i / per_row) as u32;
        let hall = (i / per_hall) as u32;
        site.servers.push(ServerSpec {
            name: n.name.clone(),
            hall,
            row,
            rack,
            gpu_model,
            gpus: n.gpus,
            cpu_milli: n.cpu_milli,
            memory_mib: n.memory_mib,
            host: cfg.host.clone(),
        });
    }
    if let Some(last) = site.servers.last() {
        site.racks = last.rack + 1;
        site.rows = last.row + 1;
        site.halls = last.hall + 1;
    }
    Ok(site)
}
