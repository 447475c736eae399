//! The scenario-facing failure config: which component classes fail, how often, how long repairs take, how
//! many crews repair at once, and the hot spares (docs/models.md §Failures and repairs).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::check::{FieldError, in_range};

use super::lifetime::{Lifetime, RepairTime};

/// Most hot spare servers.
pub const MAX_SPARES: u32 = 1_000_000;

/// A class of components that fail alike. Each class has one unit per GPU, server, leaf switch or rack
/// ([`Scope`]); a failed unit takes down the servers that depend on it (its failure domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Component {
    /// A GPU: die, on-chip SRAM, GPU system processor, thermal interface, silent data corruption. One per
    /// GPU; takes its server down.
    Gpu,
    /// A GPU's HBM stacks. One per GPU; takes its server down.
    GpuMemory,
    /// A GPU's scale-out link: NIC, optic, cable. One per GPU; its server leaves the job's fabric (down).
    Link,
    /// The host: CPU, memory, SSD, power supply, board, chassis, OS, driver and software faults. One per
    /// server; takes it down.
    Host,
    /// A leaf (top-of-rack) switch. One per leaf (per rack without a fabric section); every server with a GPU
    /// attached to it goes down.
    LeafSwitch,
    /// A spine switch of the fabric (training workloads with `comm: Fabric(...)`; none otherwise). One per
    /// spine; takes no server down: ECMP spreads its pod's flows over the spines still up, so jobs slow down.
    SpineSwitch,
    /// A rack power distribution unit. One per rack; every server of the rack goes down.
    Pdu,
    /// A rack power shelf (rectifiers feeding the rack's bus bar). One per rack; every server of the rack
    /// goes down.
    PowerShelf,
}

/// What one unit of a class is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Gpu,
    Server,
    Leaf,
    Rack,
    Spine,
}

impl Component {
    pub const ALL: [Component; 8] = [
        Component::Gpu,
        Component::GpuMemory,
        Component::Link,
        Component::Host,
        Component::LeafSwitch,
        Component::SpineSwitch,
        Component::Pdu,
        Component::PowerShelf,
    ];

    /// The name in reports and failure traces.
    pub fn name(self) -> &'static str {
        match self {
            Component::Gpu => "gpu",
            Component::GpuMemory => "gpu_memory",
            Component::Link => "link",
            Component::Host => "host",
            Component::LeafSwitch => "leaf_switch",
            Component::SpineSwitch => "spine_switch",
            Component::Pdu => "pdu",
            Component::PowerShelf => "power_shelf",
        }
    }

    pub fn from_name(s: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.name() == s)
    }

    pub fn scope(self) -> Scope {
        match self {
            Component::Gpu | Component::GpuMemory | Component::Link => Scope::Gpu,
            Component::Host => Scope::Server,
            Component::LeafSwitch => Scope::Leaf,
            Component::SpineSwitch => Scope::Spine,
            Component::Pdu | Component::PowerShelf => Scope::Rack,
        }
    }

    /// The failure domain's name in reports: what one failure takes down.
    pub fn domain(self) -> &'static str {
        match self.scope() {
            Scope::Gpu | Scope::Server => "server",
            Scope::Leaf => "leaf",
            Scope::Rack => "rack",
            Scope::Spine => "fabric",
        }
    }
}

/// One failing component class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassConfig {
    pub component: Component,
    /// Time to failure of one unit.
    pub lifetime: Lifetime,
    /// Time to repair one failed unit once a crew takes it.
    pub repair: RepairTime,
}

/// Hot spare servers: a failed server (its GPU, HBM, link or host) is replaced by a spare after `swap_s`; the
/// failed one is repaired and becomes a spare. Rack- and leaf-level failures are repaired in place.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spares {
    /// Spare servers at the start (powered, idle). Default 0.
    #[serde(default)]
    pub servers: u32,
    /// Time to swap a spare in, s. Default 1800 (30 min) [eng].
    #[serde(default = "default_swap_s")]
    pub swap_s: f64,
}

fn default_swap_s() -> f64 {
    1800.0
}

impl Default for Spares {
    fn default() -> Self {
        Spares {
            servers: 0,
            swap_s: default_swap_s(),
        }
    }
}

/// Hardware failures of a scenario (`failures` in a scenario file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureConfig {
    /// The classes that fail; each component at most once. Default [`default_classes`] (field data from the
    /// Llama 3 pretraining run, with engineering values for switches and rack power).
    #[serde(default = "default_classes")]
    pub classes: Vec<ClassConfig>,
    /// Every failure rate multiplied by this (≥ 0; 0: nothing fails). Default 1. For sensitivity studies.
    #[serde(default = "one")]
    pub rate_scale: f64,
    /// Repairs in progress at once (a crew limit); failed units beyond wait in arrival order. Default none
    /// (every failed unit is repaired at once).
    #[serde(default)]
    pub repair_crews: Option<u32>,
    /// Hot spare servers. Default none.
    #[serde(default)]
    pub spares: Spares,
    /// Replay failures from this CSV file (`time_s,component,unit`) instead of drawing them; repair times
    /// are still drawn from the classes. Relative to the scenario file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<PathBuf>,
}

fn one() -> f64 {
    1.0
}

impl Default for FailureConfig {
    fn default() -> Self {
        FailureConfig {
            classes: default_classes(),
            rate_scale: 1.0,
            repair_crews: None,
            spares: Spares::default(),
            trace: None,
        }
    }
}

/// Default classes. Rates of GPU, HBM, link and host failures are the unexpected interruptions of Llama 3
/// 405B pretraining on 16,384 H100 GPUs (2,048 servers) over 54 days (Meta, "The Llama 3 Herd of Models",
/// 2024, Table 5): per GPU, GPU = faulty GPU 148 + SRAM 19 + GPU system processor 17 + thermal interface 6 +
/// silent data corruption 6 = 196 over 21.23 M GPU·h → MTBF 108,335 h; HBM3 72 → 294,912 h; link = NIC 7 +
/// network switch/cable 35 = 42 → 505,563 h; per server, host = software 54 + unplanned host maintenance 32 +
/// NCCL watchdog 7 + SSD 3 + PSU 3 + chassis 2 + IO expansion board 2 + dependency 2 + CPU 2 + system
/// memory 2 = 109 over 2.65 M server·h → 24,351 h. Together 419 interruptions in 54 days, one every 3.1 h.
/// Leaf switches: 0.051% of ToR switches crash per month (Alibaba HPN, SIGCOMM 2024) → MTBF 1.43 M h; spine
/// switches are taken to fail alike [eng].
/// PDUs, power shelves and every repair time are engineering values ([eng] in docs/models.md).
pub fn default_classes() -> Vec<ClassConfig> {
    let exp = |mtbf_h: f64| Lifetime::Exponential { mtbf_h };
    let logn = |median_h: f64| RepairTime::LogNormal {
        median_h,
        sigma: 1.0,
    };
    vec![
        ClassConfig {
            component: Component::Gpu,
            lifetime: exp(108_335.0),
            repair: logn(48.0),
        },
        ClassConfig {
            component: Component::GpuMemory,
            lifetime: exp(294_912.0),
            repair: logn(48.0),
        },
        ClassConfig {
            component: Component::Link,
            lifetime: exp(505_563.0),
            repair: logn(4.0),
        },
        ClassConfig {
            component: Component::Host,
            lifetime: exp(24_351.0),
            repair: logn(8.0),
        },
        ClassConfig {
            component: Component::LeafSwitch,
            lifetime: exp(1_430_000.0),
            repair: logn(6.0),
        },
        ClassConfig {
            component: Component::SpineSwitch,
            lifetime: exp(1_430_000.0),
            repair: logn(6.0),
        },
        ClassConfig {
            component: Component::Pdu,
            lifetime: exp(1_000_000.0),
            repair: logn(8.0),
        },
        ClassConfig {
            component: Component::PowerShelf,
            lifetime: exp(500_000.0),
            repair: logn(4.0),
        },
    ]
}

impl FailureConfig {
    pub fn check(&self) -> Result<(), FieldError> {
        for (i, c) in self.classes.iter().enumerate() {
            let at = format!("classes[{i}]");
            c.lifetime
                .check()
                .map_err(|e| e.within("lifetime").within(&at))?;
            c.repair
                .check()
                .map_err(|e| e.within("repair").within(&at))?;
            if let Some(j) = self.classes[..i]
                .iter()
                .position(|d| d.component == c.component)
            {
                return Err(FieldError::new(
                    format!("{at}.component"),
                    format!(
                        "`{:?}` is already classes[{j}]: each component class may be given once",
                        c.component
                    ),
                ));
            }
        }
        in_range(
            "rate_scale",
            self.rate_scale,
            0.0,
            1e6,
            "a multiplier of failure rates",
        )?;
        if self.repair_crews == Some(0) {
            return Err(FieldError::new(
                "repair_crews",
                "must be at least 1 (or absent: no crew limit)",
            ));
        }
        if self.spares.servers > MAX_SPARES {
            return Err(FieldError::new(
                "spares.servers",
                format!(
                    "must be at most {MAX_SPARES}, found {}",
                    self.spares.servers
                ),
            ));
        }
        in_range(
            "spares.swap_s",
            self.spares.swap_s,
            0.0,
            1e9,
            "a swap of up to ~30 years",
        )
    }

    /// The class of `component`, if it fails.
    pub fn class(&self, component: Component) -> Option<&ClassConfig> {
        self.classes.iter().find(|c| c.component == component)
    }

    /// Rate of failures that interrupt a job spread over `gpus` GPUs on `servers` servers, `leaves` leaf
    /// switches and `racks` racks, 1/s: the sum of its units' rates (`rate_scale` included).
    pub fn job_rate_per_s(&self, gpus: u64, servers: u64, leaves: u64, racks: u64) -> f64 {
        self.classes
            .iter()
            .map(|c| {
                let n = match c.component.scope() {
                    Scope::Gpu => gpus,
                    Scope::Server => servers,
                    Scope::Leaf => leaves,
                    Scope::Rack => racks,
                    // A spine failure slows jobs; it does not interrupt them.
                    Scope::Spine => 0,
                };
                n as f64 / (c.lifetime.mtbf_h() * 3600.0)
            })
            .sum::<f64>()
            * self.rate_scale
    }
}

/// One failure of a failure trace: at `time_s`, unit `unit` of class `component` fails.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailureRecord {
    pub time_s: f64,
    pub component: Component,
    pub unit: u32,
}
