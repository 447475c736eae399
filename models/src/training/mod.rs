//! Model-driven training step time: how long one optimizer step of a dense transformer takes on a
//! given GPU type and 3-D parallel layout, how much of it is compute, pipeline bubble and exposed
//! communication, and what that means for time to finish, achieved MFU and GPU power.
//!
//! Plain functions over scenario-facing config structs. Formulas, units, parameters and sources are
//! in `docs/models.md` §Training (draft: `docs/models-training.md`). In short, per optimizer step:
//! - compute `t_c = k·P·T_step / (N · peak · mfu)`, `k` = 6, or 8 with full recomputation
//!   \[src: Kaplan et al. 2020; Korthikanti et al. 2022];
//! - tensor-parallel all-reduces `t_tp = m · L/pp · n_ar · T_AR(b·s·h·β, tp group)`, `n_ar` = 4
//!   (2 forward + 2 backward), 6 with full recomputation \[src: Shoeybi et al. 2019; Korthikanti 2022];
//! - pipeline sends `t_pp = 2·m · T_p2p(b·s·h·β / tp)` when `pp > 1` \[src: Narayanan et al. 2021];
//! - 1F1B bubble `t_b = (pp − 1)/m · (t_c + t_tp + t_pp)` \[src: Narayanan et al. 2021];
//! - data-parallel gradient all-reduce `T_AR(P/(tp·pp)·β, dp group)`, exposed `(1 − overlap)·T_AR`;
//! - step `= t_c + t_tp + t_pp + t_b + exposed DP`.
//!
//! Communication goes through the [`CommCost`] seam ([`comm`]).

pub mod comm;
pub mod cost;
pub mod plan;

pub use comm::{
    AlphaBeta, AlphaBetaCost, CollectiveAlgorithm, CommModel, FabricCost, estimate, step_time,
};
pub use cost::{
    Collective, CommCost, CommGroup, Layout, Link, alg_bandwidth, bus_bandwidth,
    hierarchical_all_reduce_s, hierarchical_gather_scatter_s, nvls_all_reduce_s,
    nvls_tree_all_reduce_s, pipelined_s, ring_all_reduce_layout_s, ring_all_reduce_s,
    ring_gather_scatter_layout_s, ring_gather_scatter_s, tree_all_reduce_s, tree_net_factor,
};
pub use plan::{
    Budget, Checkpoint, CheckpointInterval, CheckpointMode, Groups, Parallelism, Recompute,
    Sharding, StepTime, TrainingEstimate, TrainingPlan, TransformerModel, energy_per_token_j,
    estimate_with, step_time_with,
};

#[cfg(test)]
mod tests;
