//! The physical site expanded from a scenario: a flat list of servers in site order
//! (hall, row, rack, server). Stable domain ids are indices into this list. The scenario crate builds it
//! from a template layout or a node list.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
pub use crate::host::{HostComponents, PsuCurve};

/// Host (non-GPU) power of a server and its power supply (docs/models.md §Server power).
///
/// Either the linear model — `P_host = idle_w + (max_w − idle_w) · u`, `u` the fraction of the server
/// allocated — or, with `components`, the host by component with fans following the heat ([`HostComponents`]).
/// Server input `P_in = (P_gpus + P_host) / η`, `η` = `psu_efficiency`, or the supplies' efficiency curve at
/// their load with `psu_curve` ([`PsuCurve`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostPower {
    /// CPUs, memory, NICs, fans, storage with no GPU allocated, W (DC side). Required without `components`.
    #[serde(default)]
    pub idle_w: Option<f64>,
    /// The same with every GPU allocated, W. Required without `components`.
    #[serde(default)]
    pub max_w: Option<f64>,
    /// Power-supply efficiency (AC in → DC out), 0 < η ≤ 1. Default 0.95. With `psu_curve`, the nominal figure
    /// the capping controller budgets with.
    #[serde(default = "default_psu_efficiency")]
    pub psu_efficiency: f64,
    /// The host by component instead of `idle_w`/`max_w`. Default: none.
    #[serde(default)]
    pub components: Option<HostComponents>,
    /// The power supplies' efficiency by load instead of one `psu_efficiency`. Default: none.
    #[serde(default)]
    pub psu_curve: Option<PsuCurve>,
}

impl HostPower {
    /// The linear model (no components, constant efficiency).
    pub fn linear(idle_w: f64, max_w: f64, psu_efficiency: f64) -> Self {
        HostPower {
            idle_w: Some(idle_w),
            max_w: Some(max_w),
            psu_efficiency,
            components: None,
            psu_curve: None,
        }
    }

    /// Host power (DC) at allocation `u` with the GPUs drawing `gpu_w`, for a server whose fans reach full speed at
    /// `design_heat_w` (see [`Self::design_heat_w`]), W.
    pub fn dc_w(&self, u: f64, gpu_w: f64, design_heat_w: f64) -> f64 {
        match &self.components {
            Some(c) => c.power_w(u, gpu_w, design_heat_w),
            None => {
                let idle = self.idle_w.unwrap_or(0.0);
                idle + (self.max_w.unwrap_or(idle) - idle) * u
            }
        }
    }

    /// The fans' design heat of a server of `gpus` GPUs of `board_w` each, W (0 without components).
    pub fn design_heat_w(&self, gpus: u32, board_w: f64) -> f64 {
        self.components
            .as_ref()
            .map_or(0.0, |c| c.design_heat_for(gpus, board_w))
    }

    /// Supply efficiency at DC output `dc_w`.
    pub fn efficiency_at(&self, dc_w: f64) -> f64 {
        match &self.psu_curve {
            Some(c) => c.efficiency_at(dc_w),
            None => self.psu_efficiency,
        }
    }

    /// Input power of a server drawing `dc_w` (GPUs and host), W.
    pub fn input_w(&self, dc_w: f64) -> f64 {
        dc_w / self.efficiency_at(dc_w)
    }

    /// Nameplate input: every GPU at `board_w`, the whole server allocated, W.
    pub fn nameplate_input_w(&self, gpus: u32, board_w: f64) -> f64 {
        let gpu_w = gpus as f64 * board_w;
        self.input_w(gpu_w + self.dc_w(1.0, gpu_w, self.design_heat_w(gpus, board_w)))
    }
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
