//! The operations of one transformer layer and of the output layer, priced per micro-batch on one
//! tensor-parallel rank with [`super::kernels`] (docs/models.md §Training step (per operation)).
//!
//! Per layer, `M = b·s` tokens of the micro-batch, `t` tensor-parallel ranks, `h` hidden, `f` feed-forward
//! width, `n_h` heads of `d_h = h/n_h`, `n_kv` key/value heads, `β` bytes per element:
//! - GEMMs (forward): QKV `M × (h + 2·n_kv·d_h)/t × h`; attention output `M × h × h/t`; MLP up
//!   `M × g·f/t × h` (`g` = 2 for a gated MLP, SwiGLU); MLP down `M × h × f/t`. Backward: each GEMM twice
//!   (input and weight gradients, same FLOPs) \[src: Narayanan et al. SC 2021, App.; Korthikanti et al. 2022, App. A];
//! - attention core: fused (FlashAttention) — see [`super::kernels::flash_attention_fwd_s`]; unfused — two batched
//!   GEMMs per head (`s × s × d_h` and `s × d_h × s`, masked half computed too) plus the score tensor's
//!   softmax and dropout, `(4β + 1)` bytes per score element forward (read + write each, a one-byte mask);
//! - memory-bound work: layer norms, residual adds and dropouts `10·h` elements per token (read + write),
//!   divided by `t` under sequence parallelism (Korthikanti et al. 2022 §4.2.2); the MLP activation `2f/t`
//!   (GeLU) or `3f/t` (SwiGLU) elements per token. Backward moves twice the forward bytes;
//! - recomputation: full — the whole layer forward again in the backward pass; selective — the unfused
//!   attention core forward again (nothing with fused attention, whose backward already recomputes it);
//! - output layer (last pipeline stage): logits GEMM `M × V/t × h` forward, twice backward, and the
//!   cross-entropy's `3·M·V/t` elements.

use super::kernels::{FLASH_BACKWARD_RATIO, flash_attention_fwd_s, gemm_s, memory_s};
use super::plan::{Attention, Recompute, TrainingPlan};
use crate::catalog::GpuModel;

/// Times of one micro-batch through one layer (or the output layer) on one tensor-parallel rank, s.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OpTimes {
    /// Dense GEMMs (forward, backward and recomputation).
    pub gemm_s: f64,
    /// The attention core (fused kernel, or the unfused batched GEMMs, softmax and dropout).
    pub attention_s: f64,
    /// Memory-bound element-wise work (norms, residuals, dropouts, activations, cross-entropy).
    pub elementwise_s: f64,
}

impl OpTimes {
    pub fn total_s(&self) -> f64 {
        self.gemm_s + self.attention_s + self.elementwise_s
    }

    fn add(&mut self, o: OpTimes, times: f64) {
        self.gemm_s += times * o.gemm_s;
        self.attention_s += times * o.attention_s;
        self.elementwise_s += times * o.elementwise_s;
    }
}

/// One layer's forward, backward and recomputation, one micro-batch, one tensor-parallel rank.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LayerTimes {
    pub forward: OpTimes,
    pub backward: OpTimes,
    pub recompute: OpTimes,
}

impl LayerTimes {
    /// Forward + backward + recomputation.
    pub fn all(&self) -> OpTimes {
        let mut t = self.forward;
        t.add(self.backward, 1.0);
        t.add(self.recompute, 1.0);
        t
    }
}

/// Prices one transformer layer of `plan` on `gpu` (see the module docs).
pub fn layer_times(plan: &TrainingPlan, gpu: &GpuModel) -> LayerTimes {
    let m = &plan.model;
    let p = &plan.parallelism;
    let beta = m.bytes_per_param;
    let t = p.tp.max(1) as f64;
    let h = m.hidden as f64;
    let s = m.seq_len as f64;
    let b = plan.micro_batch_sequences().max(1) as f64;
    let tokens = b * s;
    let heads = m.heads() as f64;
    let head_dim = h / heads;
    let kv = m.kv_heads() as f64;
    let f = m.ffn() as f64;
    let g = if m.gated_mlp { 2.0 } else { 1.0 };

    let gemm_fwd = gemm_s(tokens, (h + 2.0 * kv * head_dim) / t, h, beta, gpu)
        + gemm_s(tokens, h, h / t, beta, gpu)
        + gemm_s(tokens, g * f / t, h, beta, gpu)
        + gemm_s(tokens, h, f / t, beta, gpu);

    let heads_rank = heads / t;
    let (attn_fwd, attn_bwd, attn_selective) = match plan.attention {
        Attention::Flash => {
            let fwd = flash_attention_fwd_s(b, heads_rank, s, head_dim, gpu);
            (fwd, FLASH_BACKWARD_RATIO * fwd, 0.0)
        }
        Attention::Unfused => {
            let batch = b * heads_rank;
            let gemms =
                batch * (gemm_s(s, s, head_dim, beta, gpu) + gemm_s(s, head_dim, s, beta, gpu));
            let scores = memory_s(batch * s * s * (4.0 * beta + 1.0), gpu);
            let fwd = gemms + scores;
            (fwd, 2.0 * fwd, fwd)
        }
    };

    let norm_elems = if p.sequence_parallel {
        10.0 * h / t
    } else {
        10.0 * h
    };
    let act_elems = (g + 1.0) * f / t;
    let elem_fwd = memory_s(tokens * beta * (norm_elems + act_elems), gpu);

    let forward = OpTimes {
        gemm_s: gemm_fwd,
        attention_s: attn_fwd,
        elementwise_s: elem_fwd,
    };
    let backward = OpTimes {
        gemm_s: 2.0 * gemm_fwd,
        attention_s: attn_bwd,
        elementwise_s: 2.0 * elem_fwd,
    };
    let recompute = match plan.recompute {
        Recompute::None => OpTimes::default(),
        Recompute::Full => forward,
        Recompute::Selective => OpTimes {
            attention_s: attn_selective,
            ..OpTimes::default()
        },
    };
    LayerTimes {
        forward,
        backward,
        recompute,
    }
}

/// The output layer (logits and cross-entropy), forward and backward, one micro-batch, one rank.
pub fn output_layer_times(plan: &TrainingPlan, gpu: &GpuModel) -> OpTimes {
    let m = &plan.model;
    let beta = m.bytes_per_param;
    let t = plan.parallelism.tp.max(1) as f64;
    let tokens = plan.micro_batch_sequences().max(1) as f64 * m.seq_len as f64;
    let v = m.vocab() as f64 / t;
    if v <= 0.0 {
        return OpTimes::default();
    }
    OpTimes {
        gemm_s: 3.0 * gemm_s(tokens, v, m.hidden as f64, beta, gpu),
        attention_s: 0.0,
        elementwise_s: memory_s(3.0 * tokens * v * beta, gpu),
    }
}

/// Memory traffic of one mixed-precision Adam update per parameter, bytes: read fp32 gradient, master weight
/// and both moments (16), write master weight and moments (12) and the bf16 weight (2). \[eng: from the
/// optimizer's state layout, Rajbhandari et al. SC 2020 §3.1]
pub const ADAM_BYTES_PER_PARAM: f64 = 30.0;

/// The optimizer step on one GPU, s: `P_gpu · 30 B / (BW · e_mem)` with `P_gpu = P/(tp·pp)`, divided by `dp`
/// when the optimizer state is sharded (ZeRO-1 and up).
pub fn optimizer_s(plan: &TrainingPlan, gpu: &GpuModel) -> f64 {
    let p = &plan.parallelism;
    let mut params = plan.model.params / (p.tp.max(1) as f64 * p.pp.max(1) as f64);
    if plan.sharding != super::plan::Sharding::None {
        params /= p.dp.max(1) as f64;
    }
    memory_s(params * ADAM_BYTES_PER_PARAM, gpu)
}
