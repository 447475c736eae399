//! Training plans (model, layout, batch, budget, kernels, checkpoints), their checks, and the communication
//! groups of a layout. The step time of a plan is [`super::step`]'s.

use serde::{Deserialize, Serialize};

use super::cost::CommGroup;
use crate::check::FieldError;

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
    /// Attention heads `n_h` (a divisor of `hidden`). Default: `hidden / 128` (128-wide heads).
    #[serde(default)]
    pub heads: Option<u32>,
    /// Key/value heads (grouped-query attention; divides `heads`). Default: `heads` (multi-head attention).
    #[serde(default)]
    pub kv_heads: Option<u32>,
    /// Feed-forward width `f`. Default: `4 · hidden`.
    #[serde(default)]
    pub ffn_hidden: Option<u32>,
    /// Gated MLP (SwiGLU: two up-projections of width `f`). Default false (GeLU MLP).
    #[serde(default)]
    pub gated_mlp: bool,
    /// Vocabulary size `V` (the output layer's width). Default: what `params` leaves after the layers,
    /// `(params − layers · P_layer) / hidden`, clamped to [0, 1,048,576].
    #[serde(default)]
    pub vocab: Option<u32>,
}

impl TransformerModel {
    /// Attention heads (see the field).
    pub fn heads(&self) -> u32 {
        self.heads.unwrap_or((self.hidden / 128).max(1))
    }

    /// Key/value heads (see the field).
    pub fn kv_heads(&self) -> u32 {
        self.kv_heads.unwrap_or_else(|| self.heads())
    }

    /// Feed-forward width (see the field).
    pub fn ffn(&self) -> u32 {
        self.ffn_hidden.unwrap_or(self.hidden.saturating_mul(4))
    }

    /// Weights of one layer: `h·(h + 2·n_kv·d_h) + h² + (g + 1)·h·f` (QKV, attention output, MLP).
    pub fn layer_params(&self) -> f64 {
        let h = self.hidden as f64;
        let head_dim = h / self.heads().max(1) as f64;
        let g = if self.gated_mlp { 2.0 } else { 1.0 };
        h * (h + 2.0 * self.kv_heads() as f64 * head_dim)
            + h * h
            + (g + 1.0) * h * self.ffn() as f64
    }

    /// Vocabulary size (see the field).
    pub fn vocab(&self) -> u32 {
        self.vocab.unwrap_or_else(|| {
            let rest = (self.params - self.layers as f64 * self.layer_params())
                / self.hidden.max(1) as f64;
            rest.clamp(0.0, 1_048_576.0) as u32
        })
    }
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
    /// Sequence parallelism (Korthikanti et al. 2022 §4.2.2): the layer norms, dropouts and residual adds
    /// run on `1/tp` of the sequence on each tensor-parallel rank, and each all-reduce becomes a
    /// reduce-scatter plus an all-gather (the same volume). Default false.
    #[serde(default)]
    pub sequence_parallel: bool,
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

/// The attention kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Attention {
    /// A fused kernel (FlashAttention): causal tiles skipped, no score tensor in memory.
    #[default]
    Flash,
    /// Batched GEMMs and a separate softmax and dropout over the `s × s` scores (Megatron-LM before
    /// FlashAttention).
    Unfused,
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

    /// Checks the checkpoint's figures; the error's message names the first bad field.
    pub fn check(&self) -> Result<(), FieldError> {
        if self.interval == CheckpointInterval::Fixed
            && !(self.every_s.is_finite() && self.every_s > 0.0)
        {
            return Err(FieldError::whole(format!(
                "`checkpoint.every_s` must be a finite number > 0, found {}",
                self.every_s
            )));
        }
        if let Some(w) = self.write_s
            && !(w.is_finite() && w >= 0.0)
        {
            return Err(FieldError::whole(format!(
                "`checkpoint.write_s` must be a finite number ≥ 0, found {w}"
            )));
        }
        if let CheckpointMode::Async { snapshot_s } = self.mode
            && !(snapshot_s.is_finite() && (0.0..=1e6).contains(&snapshot_s))
        {
            return Err(FieldError::whole(format!(
                "`checkpoint.mode.Async.snapshot_s` must lie in [0, 1e6] s, found {snapshot_s}"
            )));
        }
        if !(self.bytes_per_param.is_finite() && (0.5..=64.0).contains(&self.bytes_per_param)) {
            return Err(FieldError::whole(format!(
                "`checkpoint.bytes_per_param` must lie in [0.5, 64] (a mixed-precision Adam checkpoint is 14), found {}",
                self.bytes_per_param
            )));
        }
        if !(self.restart_s.is_finite() && self.restart_s >= 0.0) {
            return Err(FieldError::whole(format!(
                "`checkpoint.restart_s` must be a finite number ≥ 0, found {}",
                self.restart_s
            )));
        }
        Ok(())
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
    /// Default `None`.
    #[serde(default)]
    pub recompute: Recompute,
    /// The attention kernel. Default `Flash`.
    #[serde(default)]
    pub attention: Attention,
    /// Fraction of the data-parallel gradient reduction hidden behind backward compute, 0..=1. Default:
    /// derived — the reduction overlaps the backward pass of the last micro-batch on a stage (bucketed
    /// reduction as in PyTorch DDP and Megatron-LM's `overlap_grad_reduce`), so the exposed part is
    /// `max(0, T_dp − T_backward(one micro-batch, one stage))`.
    #[serde(default)]
    pub overlap: Option<f64>,
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
        self.check_sizes()?;
        self.check_shapes()?;
        self.check_batch()?;
        if let Some(o) = self.overlap
            && !(o.is_finite() && (0.0..=1.0).contains(&o))
        {
            return Err(FieldError::whole(format!(
                "`overlap` must be in [0, 1], found {o}"
            )));
        }
        if let Some(c) = &self.checkpoint {
            c.check()?;
        }
        Ok(())
    }

    /// Model sizes and parallel degrees.
    fn check_sizes(&self) -> Result<(), FieldError> {
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
        Ok(())
    }

    /// Heads, key/value heads and widths against tensor parallelism.
    fn check_shapes(&self) -> Result<(), FieldError> {
        let m = &self.model;
        let p = &self.parallelism;
        let heads = m.heads();
        if heads == 0 || !m.hidden.is_multiple_of(heads) {
            return Err(FieldError::whole(format!(
                "`model.heads` ({heads}) must be ≥ 1 and divide `model.hidden` ({})",
                m.hidden
            )));
        }
        let kv = m.kv_heads();
        if kv == 0 || !heads.is_multiple_of(kv) {
            return Err(FieldError::whole(format!(
                "`model.kv_heads` ({kv}) must be ≥ 1 and divide `model.heads` ({heads})"
            )));
        }
        if !heads.is_multiple_of(p.tp) {
            return Err(FieldError::whole(format!(
                "`model.heads` ({heads}) must be divisible by `parallelism.tp` ({}): each rank holds whole heads",
                p.tp
            )));
        }
        if m.ffn() == 0 || !m.ffn().is_multiple_of(p.tp) {
            return Err(FieldError::whole(format!(
                "`model.ffn_hidden` ({}) must be ≥ 1 and divisible by `parallelism.tp` ({})",
                m.ffn(),
                p.tp
            )));
        }
        if !m.hidden.is_multiple_of(p.tp) {
            return Err(FieldError::whole(format!(
                "`model.hidden` ({}) must be divisible by `parallelism.tp` ({})",
                m.hidden, p.tp
            )));
        }
        Ok(())
    }

    /// Batch and budget.
    fn check_batch(&self) -> Result<(), FieldError> {
        let m = &self.model;
        let p = &self.parallelism;
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
