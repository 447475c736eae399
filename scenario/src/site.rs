//! Building the site a scenario describes: a template layout expanded, or a node list packed into racks, rows
//! and halls, into a [`SiteModel`] (servers in site order).

use models::catalog::Catalog;
use models::site::{ServerSpec, SiteModel};
use models::workload::NodeSpec;

use crate::format::{Layout, NodeListSite};

/// Upper bound on servers in one site, to turn a typo (`count: 1000000000`) into an error, not an OOM.
pub const MAX_SERVERS: u64 = 2_000_000;

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
