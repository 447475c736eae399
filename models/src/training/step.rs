//! The step time of a training plan — per-operation compute ([`super::ops`]), tensor- and pipeline-parallel
//! communication, the pipeline bubble, the data-parallel reduction and the optimizer — and the run estimate
//! built on it (docs/models.md §Training step (per operation)).

use serde::Serialize;

use super::cost::CommCost;
use super::ops::{LayerTimes, OpTimes, layer_times, optimizer_s, output_layer_times};
use super::plan::{Groups, Recompute, TrainingPlan};
use crate::catalog::GpuModel;
use crate::power::{HostPower, gpu_power_w, host_power_w};

/// Breakdown of one optimizer step, s. `total_s = compute_s + tp_comm_s + pp_comm_s + bubble_s +
/// dp_exposed_s + optimizer_s`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StepTime {
    /// Kernels of all micro-batches on the slowest pipeline stage (the last: `⌈L/pp⌉` layers and the output
    /// layer): `m · (⌈L/pp⌉ · layer + output)`, = `gemm_s + attention_s + elementwise_s`.
    pub compute_s: f64,
    /// Of which dense GEMMs.
    pub gemm_s: f64,
    /// Of which the attention core.
    pub attention_s: f64,
    /// Of which memory-bound element-wise work.
    pub elementwise_s: f64,
    /// Tensor-parallel activation all-reduces (or reduce-scatter + all-gather pairs under sequence
    /// parallelism), blocking, on the critical path.
    pub tp_comm_s: f64,
    /// Pipeline activation/gradient sends on the critical path (0 when pp = 1).
    pub pp_comm_s: f64,
    /// 1F1B pipeline bubble: `(pp − 1)/(v·m) · (compute_s + tp_comm_s + pp_comm_s)` (`v` virtual stages).
    pub bubble_s: f64,
    /// Full data-parallel gradient reduction time (exposed or not).
    pub dp_comm_s: f64,
    /// The part of it not hidden behind backward compute.
    pub dp_exposed_s: f64,
    /// The optimizer update (memory-bound).
    pub optimizer_s: f64,
    /// All exposed communication: `tp_comm_s + pp_comm_s + dp_exposed_s`.
    pub comm_exposed_s: f64,
    /// Step time.
    pub total_s: f64,
}

/// Step time of `plan` on `gpu` (its catalog kernel efficiencies) with servers of `gpus_per_server` GPUs,
/// asking `cost` for every collective. Assumes `plan.check()` passed (`gpus_per_server` 0 is read as 1).
pub fn step_time_with<C: CommCost + ?Sized>(
    plan: &TrainingPlan,
    gpu: &GpuModel,
    gpus_per_server: u32,
    cost: &C,
) -> StepTime {
    let m = &plan.model;
    let p = &plan.parallelism;
    let groups = Groups::new(p, gpus_per_server);
    let micro = p.micro_batches as f64;
    let pp = p.pp as f64;
    let stage_layers = m.layers.div_ceil(p.pp.max(1)) as f64;

    let layer: LayerTimes = layer_times(plan, gpu);
    let mut per_micro = OpTimes::default();
    let all = layer.all();
    let out = output_layer_times(plan, gpu);
    per_micro.gemm_s = stage_layers * all.gemm_s + out.gemm_s;
    per_micro.attention_s = stage_layers * all.attention_s + out.attention_s;
    per_micro.elementwise_s = stage_layers * all.elementwise_s + out.elementwise_s;
    let compute_s = micro * per_micro.total_s();

    // One micro-batch's activations at a layer boundary: b·s·h elements.
    let act_bytes = plan.micro_batch_sequences() as f64
        * m.seq_len as f64
        * m.hidden as f64
        * m.bytes_per_param;

    let ar_per_layer = match plan.recompute {
        Recompute::None | Recompute::Selective => 4.0,
        Recompute::Full => 6.0,
    };
    let v = p.virtual_stages.max(1) as f64;
    let tp_comm_s = if p.tp > 1 {
        let one = if p.sequence_parallel {
            cost.reduce_scatter_s(act_bytes, &groups.tp) + cost.all_gather_s(act_bytes, &groups.tp)
        } else {
            cost.all_reduce_s(act_bytes, &groups.tp)
        };
        micro * stage_layers * ar_per_layer * one
    } else {
        0.0
    };

    // Scatter/gather optimisation: each tensor-parallel rank sends its 1/tp share; interleaving sends `v` times
    // as often (every chunk boundary is a stage boundary).
    let pp_comm_s = if p.pp > 1 {
        2.0 * v * micro * cost.p2p_s(act_bytes / p.tp as f64, &groups.pp_pair)
    } else {
        0.0
    };

    let bubble_s = (pp - 1.0) / (v * micro) * (compute_s + tp_comm_s + pp_comm_s);

    let grad_bytes = m.params / (p.tp as f64 * pp) * m.bytes_per_param;
    let dp_comm_s = if p.dp > 1 {
        plan.sharding.dp_volume_factor() * cost.all_reduce_s(grad_bytes, &groups.dp)
    } else {
        0.0
    };
    let dp_exposed_s = match plan.overlap {
        Some(o) => (1.0 - o) * dp_comm_s,
        None => {
            // The backward pass (with its recomputation and tensor-parallel traffic) of the last micro-batch
            // on one stage hides the bucketed reduction.
            let backward = stage_layers * (layer.backward.total_s() + layer.recompute.total_s())
                + tp_comm_s / micro / 2.0;
            (dp_comm_s - backward).max(0.0)
        }
    };
    let optimizer_s = optimizer_s(plan, gpu);

    let comm_exposed_s = tp_comm_s + pp_comm_s + dp_exposed_s;
    StepTime {
        compute_s,
        gemm_s: micro * per_micro.gemm_s,
        attention_s: micro * per_micro.attention_s,
        elementwise_s: micro * per_micro.elementwise_s,
        tp_comm_s,
        pp_comm_s,
        bubble_s,
        dp_comm_s,
        dp_exposed_s,
        optimizer_s,
        comm_exposed_s,
        total_s: compute_s + bubble_s + comm_exposed_s + optimizer_s,
    }
}

/// What a training plan costs in time and how busy its GPUs are.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrainingEstimate {
    pub step: StepTime,
    /// Optimizer steps.
    pub steps: u64,
    /// Tokens trained: `steps · global_batch_tokens`.
    pub tokens: u64,
    /// Steady-state throughput `global_batch_tokens / step.total_s`, tokens/s.
    pub tokens_per_s: f64,
    /// `steps · step.total_s`, s.
    pub train_s: f64,
    /// Checkpoints written: `⌊train_s / every_s⌋` (0 without checkpointing).
    pub checkpoints: u64,
    /// `checkpoints · write_s`, s.
    pub checkpoint_s: f64,
    /// `train_s + checkpoint_s`, s.
    pub time_to_finish_s: f64,
    /// Model-FLOPs utilisation over a step: `6·P·T_step / (N · peak · step.total_s)` (always the
    /// 6PT model FLOPs, whatever the recomputation).
    pub achieved_mfu: f64,
    /// Time-weighted GPU activity factor over one step: `(compute_s·a_compute + (total_s −
    /// compute_s)·a_communication) / total_s` — bubble and exposed communication draw the
    /// communication factor.
    pub gpu_activity: f64,
    /// The same over the whole run, checkpoint writes at the communication factor.
    pub run_gpu_activity: f64,
}

/// [`estimate`](super::estimate) with any [`CommCost`].
pub fn estimate_with<C: CommCost + ?Sized>(
    plan: &TrainingPlan,
    gpu: &GpuModel,
    gpus_per_server: u32,
    cost: &C,
) -> TrainingEstimate {
    let step = step_time_with(plan, gpu, gpus_per_server, cost);
    let steps = plan.steps();
    let batch = plan.global_batch_tokens as f64;
    let n_gpu = plan.parallelism.gpus() as f64;
    let train_s = steps as f64 * step.total_s;
    let (checkpoints, checkpoint_s) = match &plan.checkpoint {
        Some(c) => {
            let n = (train_s / c.every_s).floor() as u64;
            (n, n as f64 * c.stall_s())
        }
        None => (0, 0.0),
    };
    let a = &gpu.activity;
    let gpu_activity = (step.compute_s * a.compute
        + (step.total_s - step.compute_s) * a.communication)
        / step.total_s;
    let time_to_finish_s = train_s + checkpoint_s;
    let run_gpu_activity =
        (gpu_activity * train_s + a.communication * checkpoint_s) / time_to_finish_s;
    TrainingEstimate {
        step,
        steps,
        tokens: steps.saturating_mul(plan.global_batch_tokens),
        tokens_per_s: batch / step.total_s,
        train_s,
        checkpoints,
        checkpoint_s,
        time_to_finish_s,
        achieved_mfu: 6.0 * plan.model.params * batch
            / (n_gpu * gpu.peak_tflops * 1e12 * step.total_s),
        gpu_activity,
        run_gpu_activity,
    }
}

/// GPU energy per trained token, J: `n_gpus · P_gpu(run_gpu_activity) · time_to_finish_s / tokens`
/// with `P_gpu(a) = P_idle + a·(P_board − P_idle)` ([`gpu_power_w`]). GPU power only — no host,
/// network, power-supply or facility overhead. `n_gpus` should be `plan.parallelism.gpus()`.
pub fn energy_per_token_j(est: &TrainingEstimate, gpu: &GpuModel, n_gpus: u64) -> f64 {
    let p = gpu_power_w(
        gpu.idle_power_w,
        gpu.board_power_w,
        est.run_gpu_activity,
        1.0,
    );
    n_gpus as f64 * p * est.time_to_finish_s / est.tokens as f64
}

/// Input power of one server of a training job through the phases of its step, W (AC, at the server inlet).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NodePower {
    /// During the compute phases: GPUs at the catalog's compute factor.
    pub peak_w: f64,
    /// Averaged over the run (the step's phase mix and checkpoint stalls): GPUs at `run_gpu_activity`.
    pub mean_w: f64,
    /// During exposed communication, the pipeline bubble and checkpoint stalls: GPUs at the communication factor.
    pub trough_w: f64,
}

/// [`NodePower`] of a server holding `gpus` of the job's GPUs out of its `per_server`:
/// `P = (gpus · P_gpu(a) + P_host(gpus/per_server, fans at that heat)) / η_psu(load)` with `a` = compute factor
/// (peak), run activity (mean) or communication factor (trough). With the linear host and a constant supply
/// efficiency the mean is exact for the periodic step (power linear in `a`); with fans or a supply curve it is the
/// power at the mean activity (docs/models.md §Server power).
pub fn node_power(
    est: &TrainingEstimate,
    gpu: &GpuModel,
    host: &HostPower,
    gpus: u32,
    per_server: u32,
) -> NodePower {
    let u = if per_server == 0 {
        0.0
    } else {
        (gpus as f64 / per_server as f64).min(1.0)
    };
    let design = host.design_heat_w(per_server, gpu.board_power_w);
    let at = |a: f64| {
        let gpu_w = gpus as f64 * gpu_power_w(gpu.idle_power_w, gpu.board_power_w, a, 1.0);
        host.input_w(gpu_w + host_power_w(host, u, gpu_w, design))
    };
    NodePower {
        peak_w: at(gpu.activity.compute),
        mean_w: at(est.run_gpu_activity),
        trough_w: at(gpu.activity.communication),
    }
}
