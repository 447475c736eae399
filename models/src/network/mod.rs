//! The network fabric: topologies, flow-level bandwidth sharing and collectives that shape
//! training time (docs/models.md §Network fabric).
//!
//! Modules: [`config`] (scenario structs), [`topology`] (link table), [`routing`] (ECMP),
//! [`flows`] (max-min fair sharing, incremental), [`collective`] (collectives → phases of flows),
//! [`fabric`] (the generated fabric), [`contention`] (concurrent jobs), [`switch_power`].
//!
//! # Run-loop integration
//! Build the [`Fabric`] once per run, then price the concurrently running training jobs whenever the
//! set changes (a job starts or finishes):
//!
//! ```
//! use models::network::{Fabric, FabricConfig, FabricServer, GpuRef, JobTraffic};
//! use models::training::*;
//! # let gpu = models::catalog::GpuModel {
//! #     name: "H100".into(), board_power_w: 700.0, idle_power_w: 70.0, peak_tflops: 989.0,
//! #     precision: models::catalog::Precision::Bf16, memory_gb: 80.0, memory_bandwidth_tbs: 3.35,
//! #     scaleup_link_gbs: 900.0, scaleup_reduction: true, activity: Default::default(),
//! #     kernels: Default::default(),
//! #     source: String::new(),
//! # };
//! // 8 racks × 4 servers × 8 GPUs behind a 3:1 oversubscribed 2-tier Clos.
//! let servers: Vec<FabricServer> = (0..32).map(|i| FabricServer { rack: i / 4, gpus: 8 }).collect();
//! let mut cfg = FabricConfig::default();
//! cfg.topology = models::network::TopologyConfig::TwoTierClos(models::network::TwoTierClos {
//!     oversubscription: 3.0,
//!     ..Default::default()
//! });
//! let fabric = Fabric::new(&cfg, &servers).unwrap();
//! let plan: TrainingPlan = ron::from_str(
//!     "(model: (params: 8e9, layers: 32, hidden: 4096, seq_len: 8192),
//!       parallelism: (tp: 8, pp: 1, dp: 16, micro_batches: 4),
//!       global_batch_tokens: 524288, budget: Steps(1000), overlap: Some(0.0))",
//! ).unwrap();
//! // Placement in rank order: (server index in site order, GPU slot) — e.g. from placement grants.
//! let gpus: Vec<GpuRef> = (0..128).map(|r| GpuRef { server: r / 8, slot: r % 8 }).collect();
//! let job = JobTraffic::training(&plan, &gpu, 8, gpus, cfg.all_reduce, 1).unwrap();
//! let res = fabric.contended_step_comm(&[job]).unwrap();
//! let step = res.jobs[0].step.unwrap();            // StepTime under contention
//! assert!(step.total_s > step.compute_s);
//! let _ = (res.tiers.len(), res.switch_power_w);  // per-tier utilisation, switch power (W)
//! ```
//!
//! Contention model: while a job runs a collective, every other job is assumed to be running its
//! heaviest inter-domain phase at the same time (worst-case overlap, steady state); rates are the
//! max-min fair shares of all those flows. See [`contention`].

pub mod collective;
pub mod config;
pub mod contention;
pub mod fabric;
pub mod flows;
pub mod routing;
pub mod switch_power;
pub mod topology;

pub use collective::{CollectiveKind, Phase, PhaseFlow, Timing};
pub use config::{
    AllReduceAlgo, FabricConfig, FatTree, LatencyConfig, RailOptimized, ScaleUpConfig,
    SwitchPowerConfig, ThreeTierClos, TopologyConfig, TwoTierClos,
};
pub use contention::{CommOp, ContentionResult, JobComm, JobTraffic, OpTime, TierUse};
pub use fabric::{CollectiveTime, Fabric, GpuRef};
pub use flows::{FlowNet, FlowSim};
pub use switch_power::switch_power_w;
pub use topology::{FabricServer, Tier, Topology};
