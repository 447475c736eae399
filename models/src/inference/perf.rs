//! Iteration cost of one replica: a roofline over compute and HBM traffic, plus tensor-parallel all-reduces.
//!
//! For an iteration whose batch holds `n_p` prefill tokens and `n_d` decode tokens (docs/models.md §Inference):
//!
//! - FLOPs `F = 2·P·(n_p + n_d) + 4·L·h·A`, where `A = Σ` over query tokens of the context each attends to
//!   (QKᵀ and AV, 2 FLOPs per multiply-add) [src: Kaplan et al. 2020; models.md §6].
//! - HBM bytes `M = P·b + K·R`: all weights once, plus the KV cache read, `R` tokens of context in the batch,
//!   `K = 2·L·kv_heads·head_dim·b` bytes per token [src: models.md §6].
//! - `t_compute = F / (tp · peak · η_c)`, `t_memory = M / (tp · BW · η_m)` (η_m ≈ 0.8 [src: inference-sim #415]).
//! - Tensor parallel: two all-reduces per layer of the batch's activations (`S = (n_p+n_d)·h·b` bytes), ring over
//!   the scale-up link: `t_tp = 2L · (2(tp−1)·α + 2(tp−1)/tp · S/B_link)` [src: Megatron-LM; models.md §5].
//! - `t_iter = max(t_compute, t_memory) + t_tp + t_overhead`.
//! - GPU activity: `a = a_decode + (a_prefill − a_decode) · t_compute / t_iter` [eng]: a compute-saturated
//!   iteration draws prefill power, a memory-bound one decode power.

use super::config::{Batching, Efficiency, LlmModel};
use crate::catalog::GpuModel;

/// What one iteration processes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BatchShape {
    /// Prompt tokens prefilled in this iteration.
    pub prefill_tokens: u64,
    /// Requests decoding one token each.
    pub decode_tokens: u64,
    /// Σ over the iteration's query tokens of their attention context length (tokens).
    pub attention_pairs: f64,
    /// KV-cache tokens read (context of every request in the batch).
    pub kv_read_tokens: u64,
}

impl BatchShape {
    /// Adds a prefill chunk of `c` tokens starting after `start` tokens already in context.
    pub fn add_prefill(&mut self, start: u64, c: u64) {
        self.prefill_tokens += c;
        self.attention_pairs += (c * start) as f64 + (c * (c + 1)) as f64 / 2.0;
        self.kv_read_tokens += start + c;
    }

    /// Adds one decode token of a request with `ctx` tokens of context.
    pub fn add_decode(&mut self, ctx: u64) {
        self.decode_tokens += 1;
        self.attention_pairs += (ctx + 1) as f64;
        self.kv_read_tokens += ctx + 1;
    }

    /// Whether the iteration does nothing.
    pub fn is_empty(&self) -> bool {
        self.prefill_tokens == 0 && self.decode_tokens == 0
    }
}

/// The cost of one iteration.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct IterationCost {
    pub compute_s: f64,
    pub memory_s: f64,
    pub tp_comm_s: f64,
    /// Fixed per-iteration overhead (scheduling, kernel launches), s.
    pub overhead_s: f64,
    pub total_s: f64,
    /// GPU activity factor during the iteration.
    pub activity: f64,
    /// Share of the iteration attributed to prefill (the rest to decode), by their stand-alone roofline times.
    pub prefill_share: f64,
}

/// Performance model of one replica (a model on `tp` GPUs of one type).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaPerf {
    params: f64,
    layers: f64,
    hidden: f64,
    bytes: f64,
    tp: f64,
    flops_per_s: f64,
    bytes_per_s: f64,
    link_bytes_per_s: f64,
    tp_alpha_s: f64,
    overhead_s: f64,
    a_prefill: f64,
    a_decode: f64,
    /// KV-cache bytes per token of context.
    pub kv_bytes_per_token: f64,
    /// KV-cache capacity of the replica, tokens.
    pub kv_capacity_tokens: u64,
}

impl ReplicaPerf {
    /// Builds the model; an error if the weights and reserve leave no room for the KV cache.
    pub fn new(
        model: &LlmModel,
        gpu: &GpuModel,
        tp: u32,
        eff: &Efficiency,
        batching: &Batching,
    ) -> Result<Self, String> {
        let b = model.bytes_per_param;
        let kv_bytes_per_token =
            2.0 * model.layers as f64 * model.kv_heads as f64 * model.head_dim as f64 * b;
        let hbm = tp as f64 * gpu.memory_gb * 1e9;
        let weights = model.params * b;
        let reserve = tp as f64 * batching.activation_reserve_gb * 1e9;
        let free = hbm - weights - reserve;
        if free < kv_bytes_per_token {
            return Err(format!(
                "model `{}` does not fit: {:.1} GB of weights + {:.1} GB reserve on {} × {} ({:.0} GB HBM) leave no \
                 room for a KV cache; raise tp or use a GPU with more memory",
                model.name,
                weights / 1e9,
                reserve / 1e9,
                tp,
                gpu.name,
                hbm / 1e9
            ));
        }
        Ok(ReplicaPerf {
            params: model.params,
            layers: model.layers as f64,
            hidden: model.hidden as f64,
            bytes: b,
            tp: tp as f64,
            flops_per_s: gpu.peak_tflops * 1e12 * eff.compute,
            bytes_per_s: gpu.memory_bandwidth_tbs * 1e12 * eff.memory_bandwidth,
            link_bytes_per_s: gpu.scaleup_link_gbs * 1e9,
            tp_alpha_s: eff.tp_alpha_s,
            overhead_s: eff.iteration_overhead_s,
            a_prefill: gpu.activity.prefill,
            a_decode: gpu.activity.decode,
            kv_bytes_per_token,
            kv_capacity_tokens: (free / kv_bytes_per_token).floor() as u64,
        })
    }

    fn roofline(&self, tokens: f64, attention_pairs: f64, kv_read_tokens: f64) -> (f64, f64) {
        let flops = 2.0 * self.params * tokens + 4.0 * self.layers * self.hidden * attention_pairs;
        let bytes = self.params * self.bytes + kv_read_tokens * self.kv_bytes_per_token;
        (
            flops / (self.tp * self.flops_per_s),
            bytes / (self.tp * self.bytes_per_s),
        )
    }

    /// Time of the tensor-parallel all-reduces for `tokens` tokens, s.
    pub fn tp_comm_s(&self, tokens: f64) -> f64 {
        if self.tp <= 1.0 {
            return 0.0;
        }
        let s = tokens * self.hidden * self.bytes;
        let p = self.tp;
        2.0 * self.layers
            * (2.0 * (p - 1.0) * self.tp_alpha_s + 2.0 * (p - 1.0) / p * s / self.link_bytes_per_s)
    }

    /// The cost of an iteration of shape `b`.
    pub fn iteration(&self, b: &BatchShape) -> IterationCost {
        let tokens = (b.prefill_tokens + b.decode_tokens) as f64;
        let (compute_s, memory_s) =
            self.roofline(tokens, b.attention_pairs, b.kv_read_tokens as f64);
        let tp_comm_s = self.tp_comm_s(tokens);
        let total_s = compute_s.max(memory_s) + tp_comm_s + self.overhead_s;
        let activity =
            self.a_decode + (self.a_prefill - self.a_decode) * (compute_s / total_s).min(1.0);
        let prefill_share = if b.decode_tokens == 0 {
            1.0
        } else if b.prefill_tokens == 0 {
            0.0
        } else {
            // Stand-alone rooflines of each part (weights counted in both: they are read either way).
            let p = b.prefill_tokens as f64;
            let (cp, mp) = self.roofline(p, p * p / 2.0, p);
            let d = b.decode_tokens as f64;
            let (cd, md) = self.roofline(d, 0.0, b.kv_read_tokens as f64);
            let (tp, td) = (cp.max(mp), cd.max(md));
            tp / (tp + td)
        };
        IterationCost {
            compute_s,
            memory_s,
            tp_comm_s,
            overhead_s: self.overhead_s,
            total_s,
            activity,
            prefill_share,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{GpuModel, PhaseActivity, Precision};

    fn h100() -> GpuModel {
        GpuModel {
            name: "H100".into(),
            board_power_w: 700.0,
            idle_power_w: 70.0,
            peak_tflops: 989.0,
            precision: Precision::Bf16,
            memory_gb: 80.0,
            memory_bandwidth_tbs: 3.35,
            scaleup_link_gbs: 900.0,
            scaleup_reduction: true,
            activity: PhaseActivity::default(),
            kernels: Default::default(),
            source: String::new(),
        }
    }

    fn llama70b() -> LlmModel {
        LlmModel {
            name: "llama-2-70b".into(),
            params: 70e9,
            layers: 80,
            hidden: 8192,
            kv_heads: 8,
            head_dim: 128,
            bytes_per_param: 2.0,
        }
    }

    #[test]
    fn kv_capacity_and_bytes_per_token() {
        let p = ReplicaPerf::new(
            &llama70b(),
            &h100(),
            4,
            &Efficiency::default(),
            &Batching::default(),
        )
        .unwrap();
        // 2 · 80 layers · 8 heads · 128 · 2 B = 327,680 B per token.
        assert_eq!(p.kv_bytes_per_token, 327_680.0);
        // (4·80 GB − 140 GB − 4·4 GB) / 327,680 B.
        assert_eq!(
            p.kv_capacity_tokens,
            ((320e9 - 140e9 - 16e9) / 327_680.0f64).floor() as u64
        );
        assert!(
            ReplicaPerf::new(
                &llama70b(),
                &h100(),
                1,
                &Efficiency::default(),
                &Batching::default()
            )
            .is_err()
        );
    }

    #[test]
    fn decode_is_memory_bound_and_prefill_compute_bound() {
        let eff = Efficiency {
            tp_alpha_s: 0.0,
            iteration_overhead_s: 0.0,
            ..Efficiency::default()
        };
        let p = ReplicaPerf::new(&llama70b(), &h100(), 4, &eff, &Batching::default()).unwrap();
        let mut d = BatchShape::default();
        d.add_decode(1000);
        let c = p.iteration(&d);
        // One decode token: weights 140 GB + 1001 KV tokens over 4 × 3.35 TB/s × 0.8.
        let expect = (140e9 + 1001.0 * 327_680.0) / (4.0 * 3.35e12 * 0.8);
        assert!(c.memory_s > c.compute_s);
        assert!((c.total_s - expect - c.tp_comm_s).abs() < 1e-15, "{c:?}");
        let mut pf = BatchShape::default();
        pf.add_prefill(0, 4096);
        let c = p.iteration(&pf);
        let flops = 2.0 * 70e9 * 4096.0 + 4.0 * 80.0 * 8192.0 * (4096.0 * 4097.0 / 2.0);
        assert_eq!(c.compute_s, flops / (4.0 * 989e12 * 0.6));
        assert!(c.compute_s > c.memory_s);
        assert!(c.activity > 0.85 && c.activity <= 0.90, "{c:?}");
        assert_eq!(c.prefill_share, 1.0);
    }

    #[test]
    fn tp_all_reduce_is_the_ring_formula() {
        let eff = Efficiency {
            tp_alpha_s: 5e-6,
            ..Efficiency::default()
        };
        let p = ReplicaPerf::new(&llama70b(), &h100(), 8, &eff, &Batching::default()).unwrap();
        let s = 100.0 * 8192.0 * 2.0;
        let one = 2.0 * 7.0 * 5e-6 + 2.0 * 7.0 / 8.0 * s / 900e9;
        assert!((p.tp_comm_s(100.0) - 160.0 * one).abs() < 1e-15);
    }
}
