//! Model-driven training step time: how long one optimizer step of a dense transformer takes on a
//! given GPU type and 3-D parallel layout, how much of it is compute, pipeline bubble and exposed
//! communication, and what that means for time to finish, achieved MFU and GPU power.
//!
//! Plain functions over scenario-facing config structs; formulas, units, parameters and sources in
//! `docs/models.md` §Training. Per optimizer step:
//! - compute: every operation of a layer priced on one tensor-parallel rank ([`ops`]) with the GPU's kernel
//!   costs ([`kernels`]: GEMM roofline with a shape-dependent efficiency, fused attention, memory-bound
//!   work), `m · (⌈L/pp⌉ · layer + output layer)` on the slowest stage;
//! - tensor-parallel all-reduces `m · ⌈L/pp⌉ · n_ar · T_AR(b·s·h·β)`, `n_ar` = 4, 6 with full recomputation
//!   (reduce-scatter + all-gather pairs under sequence parallelism) \[src: Shoeybi et al. 2019; Korthikanti 2022];
//! - pipeline sends `2·v·m · T_p2p(b·s·h·β / tp)` when `pp > 1` \[src: Narayanan et al. 2021];
//! - 1F1B bubble `(pp − 1)/(v·m) · (t_c + t_tp + t_pp)` \[src: Narayanan et al. 2021];
//! - data-parallel gradient reduction, exposed past the last micro-batch's backward pass (or a given fraction);
//! - the optimizer update (memory-bound).
//!
//! MFU is an output ([`TrainingEstimate::achieved_mfu`]). Communication goes through the [`CommCost`] seam
//! ([`comm`]). The step model is checked against published measurements in
//! `models/tests/training_calibration.rs`.

pub mod comm;
pub mod cost;
pub mod efficiency;
pub mod kernels;
pub mod ops;
pub mod plan;
pub mod step;

pub use comm::{
    AlphaBeta, AlphaBetaCost, CollectiveAlgorithm, CommModel, FabricCost, estimate, step_time,
};
pub use cost::{
    Collective, CommCost, CommGroup, Layout, Link, alg_bandwidth, bus_bandwidth,
    hierarchical_all_reduce_s, hierarchical_gather_scatter_s, nvls_all_reduce_s,
    nvls_tree_all_reduce_s, pipelined_s, ring_all_reduce_layout_s, ring_all_reduce_s,
    ring_gather_scatter_layout_s, ring_gather_scatter_s, tree_all_reduce_s, tree_net_factor,
};
pub use efficiency::{KernelEfficiency, KernelOverrides};
pub use plan::{
    Attention, Budget, Checkpoint, CheckpointInterval, CheckpointMode, Groups, Parallelism,
    Recompute, Sharding, TrainingPlan, TransformerModel,
};
pub use step::{
    NodePower, StepTime, TrainingEstimate, energy_per_token_j, estimate_with, node_power,
    step_time_with,
};

#[cfg(test)]
mod tests;
