//! Training plans (model, layout, batch, budget, efficiency), their checks, and the step time and run
//! estimate of a plan priced through any [`CommCost`] (formulas: [`super`]'s docs, docs/models.md §Training).

use serde::{Deserialize, Serialize};

use super::cost::{CommCost, CommGroup};
use crate::catalog::GpuModel;
use crate::check::FieldError;
use crate::power::gpu_power_w;

/// A dense decoder-only transformer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformerModel {
    /// Parameter count (e.g. `70e9`).
    pub params: f64,
    /// Transformer layers.
    pub layers: u32,
    /// Hidden size `h`.
    pub hidden: u32,
    /// Sequence length `s`, tokens.
    pub seq_len: u32,
    /// Bytes per gradient element and per activation element on the wire. Default 2 (BF16).
    #[serde(default = "default_bytes_per_param")]
    pub bytes_per_param: f64,
}

fn default_bytes_per_param() -> f64 {
    2.0
}

/// 3-D parallel layout: GPUs = `tp · pp · dp`. Ranks are ordered tensor-parallel fastest, then data,
/// then pipeline (Megatron-LM's default), so a tensor-parallel group is consecutive GPUs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parallelism {
    /// Tensor-parallel degree.
    pub tp: u32,
    /// Pipeline-parallel degree (stages).
    pub pp: u32,
    /// Data-parallel degree (model replicas).
    pub dp: u32,
    /// Micro-batches per pipeline per optimizer step (`m`, gradient-accumulation steps).
    pub micro_batches: u32,
    /// Model chunks per pipeline stage (`v`): interleaved 1F1B (Narayanan et al., SC 2021, §2.2.2) cuts the
    /// bubble to `(pp − 1)/(v·m)` at `v` times the pipeline sends. Default 1 (plain 1F1B). With `v > 1`:
    /// `pp > 1`, `m` a multiple of `pp` and `layers` a multiple of `pp · v` (Megatron-LM's rules).
    #[serde(default = "one_u32")]
    pub virtual_stages: u32,
}

fn one_u32() -> u32 {
    1
}

impl Parallelism {
    /// GPUs used: `tp · pp · dp`.
    pub fn gpus(&self) -> u64 {
        self.tp as u64 * self.pp as u64 * self.dp as u64
    }
}

/// How much training to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Budget {
    /// Train on at least this many tokens (whole steps: rounded up to a multiple of the batch).
    Tokens(u64),
    /// Train for this many optimizer steps.
    Steps(u64),
}

/// Activation recomputation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Recompute {
    /// Keep all activations: `6·P·T` FLOPs per step.
    #[default]
    None,
    /// Full recomputation: the forward pass runs twice, `8·P·T` FLOPs per step
    /// (Korthikanti et al. 2022), and each layer's 2 forward tensor-parallel all-reduces run again.
    Full,
    /// Selective recomputation (Korthikanti et al. 2022, §5): only the attention core (`QKᵀ`, softmax, the
    /// product with `V`) runs again in the backward pass: `4·s·h` FLOPs per token per layer on top of `6·P`,
    /// no extra tensor-parallel all-reduce.
    Selective,
}

/// Periodic checkpointing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Training time between checkpoints, s (> 0 under a `Fixed` interval). Writes do not count towards it.
    /// Under `Young` or `Daly` the loader replaces it with the interval the policy computes.
    #[serde(default)]
    pub every_s: f64,
    /// Time one checkpoint write stalls training, s (≥ 0). Absent: the checkpoint's size over the scenario's
    /// storage bandwidth (`storage` section; the loader fills it in).
    #[serde(default)]
    pub write_s: Option<f64>,
    /// Checkpoint size per model parameter, bytes. Default 14 (bf16 weights, fp32 master weights and two Adam
    /// moments).
    #[serde(default = "default_checkpoint_bytes_per_param")]
    pub bytes_per_param: f64,
    /// Time a restart takes after an interruption, before training resumes (process start, NCCL set-up,
    /// loading the last checkpoint), s (≥ 0). Failures can strike during it. Default 0.
    #[serde(default)]
    pub restart_s: f64,
    /// How the interval is chosen. Default `Fixed` (`every_s` as written).
    #[serde(default)]
    pub interval: CheckpointInterval,
    /// How a checkpoint is written. Default `Sync`.
    #[serde(default)]
    pub mode: CheckpointMode,
}

/// Synchronous or asynchronous checkpoints (docs/models.md §Checkpoint interval).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub enum CheckpointMode {
    /// Training stalls until the write completes.
    #[default]
    Sync,
    /// Training stalls `snapshot_s` while the state is copied to host memory; the write then overlaps
    /// training, and the checkpoint counts once the write completes. A checkpoint due while the previous write
    /// is in flight waits for it.
    Async { snapshot_s: f64 },
}

fn default_checkpoint_bytes_per_param() -> f64 {
    crate::storage::DEFAULT_BYTES_PER_PARAM
}

impl Checkpoint {
    /// The write time, s (0 until resolved).
    pub fn write_s(&self) -> f64 {
        self.write_s.unwrap_or(0.0)
    }

    /// What one checkpoint stalls training, s: the write (synchronous) or the snapshot (asynchronous).
    pub fn stall_s(&self) -> f64 {
        match self.mode {
            CheckpointMode::Sync => self.write_s(),
            CheckpointMode::Async { snapshot_s } => snapshot_s,
        }
    }
}

/// How a training job's checkpoint interval is chosen (docs/models.md §Checkpoint interval).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckpointInterval {
    /// `every_s` as written.
    #[default]
    Fixed,
    /// Young's `√(2·C·M)`, `C` the write stall, `M` the job's mean time between interrupting failures from the
    /// scenario's `failures` section at the job's size.
    Young,
    /// Daly's higher-order optimum for the same `C` and `M`.
    Daly,
}

/// One training job: model, layout, batch, budget and efficiency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingPlan {
    pub model: TransformerModel,
    pub parallelism: Parallelism,
    /// Tokens per optimizer step (global batch); a whole number of sequences per micro-batch:
    /// divisible by `seq_len · dp · micro_batches`.
    pub global_batch_tokens: u64,
    pub budget: Budget,
    /// Compute-phase efficiency: FLOPs the GPUs execute ÷ (peak · compute time), 0 < mfu ≤ 1.
    /// Without recomputation this is the MFU of the compute phases. Default 0.40 \[src: Llama 3
    /// 405B 38–43% on H100 (Meta 2024); Megatron-Core up to 47%] — those are end-to-end figures, so
    /// using them here (before bubble and communication) is conservative; see docs.
    #[serde(default = "default_mfu")]
    pub mfu: f64,
    /// Default `None`.
    #[serde(default)]
    pub recompute: Recompute,
    /// Fraction of the data-parallel gradient all-reduce hidden behind backward compute, 0..=1.
    /// Default 0 (no overlap) \[eng\].
    #[serde(default)]
    pub overlap: f64,
    /// ZeRO / FSDP sharding of the data-parallel replicas' state. Default `None`.
    #[serde(default)]
    pub sharding: Sharding,
    /// Default none.
    #[serde(default)]
    pub checkpoint: Option<Checkpoint>,
}

/// How the data-parallel replicas share their training state (Rajbhandari et al., SC 2020, "ZeRO"; PyTorch FSDP).
/// Memory is not modelled; the communication is: stages 1 and 2 reduce-scatter the gradients and all-gather the
/// updated parameters — the volume of one all-reduce, so the same time; stage 3 (FSDP full sharding) also
/// all-gathers the parameters in the forward and the backward pass: 1.5× the all-reduce volume (ibid. §7).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sharding {
    /// Every replica keeps everything; gradients are all-reduced.
    #[default]
    None,
    /// ZeRO-1: optimizer state sharded.
    Optimizer,
    /// ZeRO-2: optimizer state and gradients sharded.
    Gradients,
    /// ZeRO-3 / FSDP: parameters too.
    Full,
}

impl Sharding {
    /// Data-parallel communication volume ÷ one gradient all-reduce's.
    pub fn dp_volume_factor(self) -> f64 {
        match self {
            Sharding::Full => 1.5,
            _ => 1.0,
        }
    }
}

fn default_mfu() -> f64 {
    0.40
}

impl TrainingPlan {
    /// FLOPs per token: 6·P; 8·P with full recomputation; 6·P + 4·s·h·L with selective recomputation.
    pub fn flops_per_token(&self) -> f64 {
        let m = &self.model;
        match self.recompute {
            Recompute::None => 6.0 * m.params,
            Recompute::Full => 8.0 * m.params,
            Recompute::Selective => {
                6.0 * m.params + 4.0 * m.seq_len as f64 * m.hidden as f64 * m.layers as f64
            }
        }
    }

    /// Sequences per micro-batch `b = global_batch_tokens / (seq_len · dp · micro_batches)`.
    pub fn micro_batch_sequences(&self) -> u64 {
        let p = &self.parallelism;
        self.global_batch_tokens
            / (self.model.seq_len as u64 * p.dp as u64 * p.micro_batches as u64).max(1)
    }

    /// Optimizer steps the budget needs.
    pub fn steps(&self) -> u64 {
        match self.budget {
            Budget::Steps(n) => n,
            Budget::Tokens(t) => t.div_ceil(self.global_batch_tokens.max(1)),
        }
    }

    /// Checks the plan; the error's message names the first bad field.
    pub fn check(&self) -> Result<(), FieldError> {
        let m = &self.model;
        let p = &self.parallelism;
        if !(m.params.is_finite() && m.params > 0.0) {
            return Err(FieldError::whole(format!(
                "`model.params` must be a finite number > 0, found {}",
                m.params
            )));
        }
        if !(m.bytes_per_param.is_finite() && m.bytes_per_param > 0.0) {
            return Err(FieldError::whole(format!(
                "`model.bytes_per_param` must be a finite number > 0, found {}",
                m.bytes_per_param
            )));
        }
        for (v, f) in [
            (m.layers, "model.layers"),
            (m.hidden, "model.hidden"),
            (m.seq_len, "model.seq_len"),
            (p.tp, "parallelism.tp"),
            (p.pp, "parallelism.pp"),
            (p.dp, "parallelism.dp"),
            (p.micro_batches, "parallelism.micro_batches"),
        ] {
            if v == 0 {
                return Err(FieldError::whole(format!("`{f}` must be ≥ 1, found 0")));
            }
        }
        if p.pp > m.layers {
            return Err(FieldError::whole(format!(
                "`parallelism.pp` ({}) must not exceed `model.layers` ({}): every stage needs a layer",
                p.pp, m.layers
            )));
        }
        if p.virtual_stages == 0 {
            return Err(FieldError::whole(
                "`parallelism.virtual_stages` must be at least 1".to_string(),
            ));
        }
        if p.virtual_stages > 1 {
            let v = p.virtual_stages;
            if p.pp < 2 {
                return Err(FieldError::whole(format!(
                    "`parallelism.virtual_stages` ({v}) needs a pipeline (`pp` > 1)"
                )));
            }
            if !p.micro_batches.is_multiple_of(p.pp) {
                return Err(FieldError::whole(format!(
                    "`parallelism.micro_batches` ({}) must be a multiple of `pp` ({}) with interleaved stages",
                    p.micro_batches, p.pp
                )));
            }
            if !m.layers.is_multiple_of(p.pp * v) {
                return Err(FieldError::whole(format!(
                    "`model.layers` ({}) must be a multiple of `pp · virtual_stages` ({})",
                    m.layers,
                    p.pp * v
                )));
            }
        }
        if !m.hidden.is_multiple_of(p.tp) {
            return Err(FieldError::whole(format!(
                "`model.hidden` ({}) must be divisible by `parallelism.tp` ({})",
                m.hidden, p.tp
            )));
        }
        if self.global_batch_tokens == 0 {
            return Err(FieldError::whole(
                "`global_batch_tokens` must be ≥ 1, found 0",
            ));
        }
        let per_micro = m.seq_len as u64 * p.dp as u64 * p.micro_batches as u64;
        if !self.global_batch_tokens.is_multiple_of(per_micro) {
            return Err(FieldError::whole(format!(
                "`global_batch_tokens` ({}) must be divisible by seq_len · dp · micro_batches \
                 ({} · {} · {} = {per_micro}) so each micro-batch is a whole number of sequences",
                self.global_batch_tokens, m.seq_len, p.dp, p.micro_batches
            )));
        }
        match self.budget {
            Budget::Tokens(0) => {
                return Err(FieldError::whole("`budget`: Tokens must be ≥ 1, found 0"));
            }
            Budget::Steps(0) => {
                return Err(FieldError::whole("`budget`: Steps must be ≥ 1, found 0"));
            }
            _ => {}
        }
        if !(self.mfu.is_finite() && self.mfu > 0.0 && self.mfu <= 1.0) {
            return Err(FieldError::whole(format!(
                "`mfu` must be in (0, 1], found {}",
                self.mfu
            )));
        }
        if !(self.overlap.is_finite() && (0.0..=1.0).contains(&self.overlap)) {
            return Err(FieldError::whole(format!(
                "`overlap` must be in [0, 1], found {}",
                self.overlap
            )));
        }
        if let Some(c) = &self.checkpoint {
            if c.interval == CheckpointInterval::Fixed
                && !(c.every_s.is_finite() && c.every_s > 0.0)
            {
                return Err(FieldError::whole(format!(
                    "`checkpoint.every_s` must be a finite number > 0, found {}",
                    c.every_s
                )));
            }
            if let Some(w) = c.write_s
                && !(w.is_finite() && w >= 0.0)
            {
                return Err(FieldError::whole(format!(
                    "`checkpoint.write_s` must be a finite number ≥ 0, found {w}"
                )));
            }
            if let CheckpointMode::Async { snapshot_s } = c.mode
                && !(snapshot_s.is_finite() && (0.0..=1e6).contains(&snapshot_s))
            {
                return Err(FieldError::whole(format!(
                    "`checkpoint.mode.Async.snapshot_s` must lie in [0, 1e6] s, found {snapshot_s}"
                )));
            }
            if !(c.bytes_per_param.is_finite() && (0.5..=64.0).contains(&c.bytes_per_param)) {
                return Err(FieldError::whole(format!(
                    "`checkpoint.bytes_per_param` must lie in [0.5, 64] (a mixed-precision Adam checkpoint is 14), found {}",
                    c.bytes_per_param
                )));
            }
            if !(c.restart_s.is_finite() && c.restart_s >= 0.0) {
                return Err(FieldError::whole(format!(
                    "`checkpoint.restart_s` must be a finite number ≥ 0, found {}",
                    c.restart_s
                )));
            }
        }
        Ok(())
    }
}

/// The communication groups of a layout on servers of `gpus_per_server` GPUs, with ranks ordered
/// tp (fastest) → dp → pp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Groups {
    /// A tensor-parallel group: `tp` consecutive ranks.
    pub tp: CommGroup,
    /// A data-parallel group: `dp` ranks at stride `tp`.
    pub dp: CommGroup,
    /// The pair of ranks of one pipeline send (neighbouring stages, stride `tp·dp`): in one server
    /// only when the whole pipeline is, otherwise across servers (the pipeline runs at the pace of
    /// its slowest boundary).
    pub pp_pair: CommGroup,
}

/// Members of a group of `size` ranks at stride `stride` that share a server of `g` GPUs (servers
/// hold consecutive ranks): 1 when `stride ≥ g`, else `min(size, ⌊g/stride⌋)` (exact when the
/// stride divides `g`, rounded down otherwise).
fn per_server(size: u32, stride: u64, g: u32) -> u32 {
    let g = g.max(1) as u64;
    if stride >= g {
        1
    } else {
        (g / stride).min(size as u64) as u32
    }
}

impl Groups {
    pub fn new(p: &Parallelism, gpus_per_server: u32) -> Self {
        let (tp, dp, pp) = (p.tp.max(1), p.dp.max(1), p.pp.max(1));
        let tp_g = CommGroup::new(tp, per_server(tp, 1, gpus_per_server));
        let dp_g = CommGroup::new(dp, per_server(dp, tp as u64, gpus_per_server));
        let pipe_in_server = per_server(pp, tp as u64 * dp as u64, gpus_per_server) >= pp;
        let pp_pair = CommGroup::new(2, if pipe_in_server { 2 } else { 1 });
        Groups {
            tp: tp_g,
            dp: dp_g,
            pp_pair,
        }
    }
}

/// Breakdown of one optimizer step, s. `total_s = compute_s + tp_comm_s + pp_comm_s + bubble_s +
/// dp_exposed_s`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StepTime {
    /// Executing FLOPs: `k·P·T_step / (N · peak · mfu)`.
    pub compute_s: f64,
    /// Tensor-parallel activation all-reduces (blocking, on the critical path).
    pub tp_comm_s: f64,
    /// Pipeline activation/gradient sends on the critical path (0 when pp = 1).
    pub pp_comm_s: f64,
    /// 1F1B pipeline bubble: `(pp − 1)/(v·m) · (compute_s + tp_comm_s + pp_comm_s)` (`v` virtual stages).
    pub bubble_s: f64,
    /// Full data-parallel gradient all-reduce time (exposed or not).
    pub dp_comm_s: f64,
    /// The part of it not hidden behind compute: `(1 − overlap) · dp_comm_s`.
    pub dp_exposed_s: f64,
    /// All exposed communication: `tp_comm_s + pp_comm_s + dp_exposed_s`.
    pub comm_exposed_s: f64,
    /// Step time.
    pub total_s: f64,
}

/// Step time of `plan` on `gpu` with servers of `gpus_per_server` GPUs, asking `cost` for every
/// collective. Assumes `plan.check()` passed (`gpus_per_server` 0 is read as 1).
pub fn step_time_with<C: CommCost + ?Sized>(
    plan: &TrainingPlan,
    gpu: &GpuModel,
    gpus_per_server: u32,
    cost: &C,
) -> StepTime {
    let m = &plan.model;
    let p = &plan.parallelism;
    let n_gpu = p.gpus() as f64;
    let groups = Groups::new(p, gpus_per_server);
    let micro = p.micro_batches as f64;
    let pp = p.pp as f64;

    let compute_s = plan.flops_per_token() * plan.global_batch_tokens as f64
        / (n_gpu * gpu.peak_tflops * 1e12 * plan.mfu);

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
        micro * (m.layers as f64 / pp) * ar_per_layer * cost.all_reduce_s(act_bytes, &groups.tp)
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
    let dp_exposed_s = (1.0 - plan.overlap) * dp_comm_s;

    let comm_exposed_s = tp_comm_s + pp_comm_s + dp_exposed_s;
    StepTime {
        compute_s,
        tp_comm_s,
        pp_comm_s,
        bubble_s,
        dp_comm_s,
        dp_exposed_s,
        comm_exposed_s,
        total_s: compute_s + bubble_s + comm_exposed_s,
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
