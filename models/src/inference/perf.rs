//! Iteration cost of one replica, priced operation by operation with the training model's kernels and link
//! (docs/models.md §LLM inference serving): one model of GEMMs, attention, memory-bound work and
//! tensor-parallel all-reduces for training and serving.
//!
//! For an iteration whose batch holds `n_p` prefill and `n_d` decode tokens (`M = n_p + n_d`), per layer on one
//! of the `t` tensor-parallel GPUs:
//! - GEMMs QKV `M × (h + 2·n_kv·d)/t × h`, attention output `M × h × h/t`, MLP up `M × g·f/t × h`, MLP down
//!   `M × h × f/t` (`g` = 2 gated), each `max(compute, memory) + t₀` ([`crate::training::kernels::gemm_s`]:
//!   the shape-efficiency roofline fitted to measured H100 GEMMs, weights read once per iteration);
//! - attention `max(4·(h/t)·A / (peak · e_attn), K_l·R / (BW · e_mem)) + t₀`, `A` = Σ over query tokens of
//!   their context, `R` the KV tokens read, `K_l = 2·⌈n_kv/t⌉·d·β` bytes per token per layer;
//! - memory-bound work `M·β·(10h + (g+1)·f/t)` bytes, and [`SMALL_KERNELS_PER_LAYER`] kernels of `t₀`;
//! - two all-reduces of `M·h·β` bytes over the scale-up link, priced by the training model's alpha-beta
//!   collectives (per-direction bandwidth, NVLS where the GPU has it).
//!
//! Once per iteration: the output layer `(n_d + chunks) × V/t × h` and `efficiency.iteration_overhead_s`.
//!
//! The kernels' compute demands `C` and memory demands `M_b` are kept apart so a power cap can stretch the
//! compute (`power_cap`): `t_iter = max(C, M_b) + excess + t_tp + fixed`, `excess = Σ max(c_k, m_k) −
//! max(C, M_b) ≥ 0`. GPU activity: `a = a_decode + (a_prefill − a_decode) · C_bound / t_iter` with `C_bound`
//! the time of the compute-bound kernels \[eng]: a compute-saturated iteration draws prefill power, a
//! memory-bound one decode power.

use super::config::{Batching, Efficiency, LlmModel};
use crate::catalog::GpuModel;
use crate::training::comm::AlphaBetaCost;
use crate::training::cost::{CommCost, CommGroup};
use crate::training::kernels::{gemm_bounds_s, memory_bw_bytes_per_s};

/// Small memory-bound kernels per layer besides the GEMMs and attention (two norms, the activation, the
/// rotary embedding), each costing at least `t₀` \[eng: Vidur's H100 profiles show ~6 µs per norm at small
/// batches].
pub const SMALL_KERNELS_PER_LAYER: f64 = 4.0;

/// What one iteration processes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BatchShape {
    /// Prompt tokens prefilled in this iteration.
    pub prefill_tokens: u64,
    /// Prefill chunks (each ends in a token whose logits are computed).
    pub prefill_chunks: u64,
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
        self.prefill_chunks += 1;
        self.attention_pairs += (c * start) as f64 + (c * (c + 1)) as f64 / 2.0;
        self.kv_read_tokens += start + c;
    }

    /// Adds one decode token of a request with `ctx` tokens of context.
    pub fn add_decode(&mut self, ctx: u64) {
        self.decode_tokens += 1;
        self.attention_pairs += (ctx + 1) as f64;
        self.kv_read_tokens += ctx + 1;
    }

    /// Adds `n` decode tokens of requests with Σ `ctx_sum` tokens of context: the same as `n` calls of
    /// [`Self::add_decode`] (the sums are of integers, exact in any order below 2⁵³).
    pub fn add_decodes(&mut self, n: u64, ctx_sum: u64) {
        self.decode_tokens += n;
        self.attention_pairs += (ctx_sum + n) as f64;
        self.kv_read_tokens += ctx_sum + n;
    }

    /// Whether the iteration does nothing.
    pub fn is_empty(&self) -> bool {
        self.prefill_tokens == 0 && self.decode_tokens == 0
    }
}

/// The cost of one iteration.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct IterationCost {
    /// Σ of the kernels' compute demands at full clock, s.
    pub compute_s: f64,
    /// Σ of the kernels' memory demands, s.
    pub memory_s: f64,
    /// `Σ max(c_k, m_k) − max(compute_s, memory_s)` ≥ 0: what the kernels' mix of bounds adds, s.
    pub excess_s: f64,
    pub tp_comm_s: f64,
    /// Fixed costs: kernel times `t₀` and the per-iteration overhead, s.
    pub overhead_s: f64,
    /// `max(compute_s, memory_s) + excess_s + tp_comm_s + overhead_s`.
    pub total_s: f64,
    /// GPU activity factor during the iteration.
    pub activity: f64,
    /// Share of the iteration attributed to prefill (the rest to decode), by their stand-alone times.
    pub prefill_share: f64,
}

/// The parts of a decode-only iteration's cost that depend on its token count alone (one decoding request a
/// token), looked up once for the iterations of a steady batch: [`ReplicaPerf::decode_iteration`] adds the
/// attention, which depends on the requests' contexts.
#[derive(Debug, Clone, Copy)]
pub struct DecodeRow {
    tokens: u64,
    gemms: Acc,
    elementwise_mem_s: f64,
    /// The output layer's bounds (None: no vocabulary given).
    logits: Option<(f64, f64)>,
    tp_comm_s: f64,
}

/// Performance model of one replica (a model on `tp` GPUs of one type).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaPerf {
    /// The GPU with the deployment's kernel overrides applied.
    gpu: GpuModel,
    link: AlphaBetaCost,
    layers: f64,
    hidden: f64,
    /// Query width `n_h · d` (= hidden for standard models).
    q_width: f64,
    kv_width: f64,
    head_dim: f64,
    ffn: f64,
    gated: f64,
    vocab: f64,
    bytes: f64,
    tp: u32,
    overhead_s: f64,
    a_prefill: f64,
    a_decode: f64,
    /// Per-iteration constants of [`Self::kernels`], computed once: achieved memory bandwidth (B/s), attention
    /// FLOPs per query-context pair on one rank and the attention rate (FLOP/s), KV bytes read per context token
    /// and layer on one rank, element-wise elements per token and layer.
    bw: f64,
    attn_flops_per_pair: f64,
    attn_rate: f64,
    kv_layer_bytes: f64,
    elems: f64,
    /// KV-cache bytes per token of context (whole replica).
    pub kv_bytes_per_token: f64,
    /// KV-cache capacity of the replica, tokens.
    pub kv_capacity_tokens: u64,
}

/// Where an iteration's time goes, s (kernels at their bound plus their fixed times).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct IterationParts {
    /// The four projections of every layer.
    pub gemm_s: f64,
    /// The attention core of every layer.
    pub attention_s: f64,
    /// Norms, residuals, activation, rotary embedding.
    pub elementwise_s: f64,
    /// The output layer (logits).
    pub output_s: f64,
    /// Tensor-parallel all-reduces.
    pub tp_comm_s: f64,
    /// The per-iteration CPU overhead.
    pub overhead_s: f64,
}

/// Kernel time accumulator: compute and memory demands, and the time of each kernel at its bound.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    compute: f64,
    memory: f64,
    kernels: f64,
    compute_bound: f64,
    fixed: f64,
    /// Time by part: GEMMs, attention, element-wise, output layer.
    parts: [f64; 4],
}

impl Acc {
    #[inline(always)]
    fn kernel(&mut self, part: usize, c: f64, m: f64, times: f64, latency_s: f64) {
        self.compute += times * c;
        self.memory += times * m;
        self.kernels += times * c.max(m);
        if c >= m {
            self.compute_bound += times * c;
        }
        self.fixed += times * latency_s;
        self.parts[part] += times * (c.max(m) + latency_s);
    }
}

/// Largest token count an [`IterationMemo`] keeps (beyond it, costs are computed each time).
const MEMO_MAX_TOKENS: usize = 1 << 16;

/// A replica's memo of the parts of an iteration's cost that depend on token counts alone: the layers' GEMMs
/// (by tokens in the iteration), the output layer (by tokens yielding logits) and the tensor-parallel
/// all-reduces (by tokens). [`ReplicaPerf::iteration_memo`] with it gives bit for bit what
/// [`ReplicaPerf::iteration`] gives, without pricing the same shapes again at every iteration. Entries are
/// filled on first use (the memo grows to the largest count seen, at most [`MEMO_MAX_TOKENS`]).
#[derive(Debug, Clone, Default)]
pub struct IterationMemo {
    gemms: Vec<Option<Acc>>,
    logits: Vec<Option<(f64, f64)>>,
    comm: Vec<Option<f64>>,
    /// Whether entries are kept (false: every lookup computes, nothing is stored).
    keep: bool,
}

impl IterationMemo {
    /// An empty memo that keeps what it computes.
    pub fn new() -> Self {
        IterationMemo {
            keep: true,
            ..Self::default()
        }
    }

    /// The entry for `n` in `v`, computed by `f` when missing.
    fn get<T: Copy>(keep: bool, v: &mut Vec<Option<T>>, n: u64, f: impl FnOnce() -> T) -> T {
        let i = n as usize;
        if !keep || i >= MEMO_MAX_TOKENS {
            return f();
        }
        if i >= v.len() {
            v.resize(i + 1, None);
        }
        *v[i].get_or_insert_with(f)
    }
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
        let mut g = gpu.clone();
        g.kernels = eff.kernels.apply(g.kernels);
        let t = tp as f64;
        let (h, head_dim) = (model.hidden as f64, model.head_dim as f64);
        let q_width = model.heads() as f64 * head_dim;
        let kv_width = model.kv_heads as f64 * head_dim;
        let (ffn, gated) = (model.ffn() as f64, if model.gated_mlp { 2.0 } else { 1.0 });
        // Heads split across the ranks, replicated when there are fewer KV heads than ranks.
        let kv_heads_rank = (kv_width / head_dim / t).ceil().max(1.0);
        Ok(ReplicaPerf {
            bw: memory_bw_bytes_per_s(&g),
            attn_flops_per_pair: 4.0 * (q_width / t),
            attn_rate: g.peak_tflops * 1e12 * g.kernels.attention,
            kv_layer_bytes: 2.0 * kv_heads_rank * head_dim * b,
            elems: 10.0 * h + (gated + 1.0) * ffn / t,
            link: eff.link.links(&g),
            gpu: g,
            layers: model.layers as f64,
            hidden: model.hidden as f64,
            q_width: model.heads() as f64 * model.head_dim as f64,
            kv_width: model.kv_heads as f64 * model.head_dim as f64,
            head_dim: model.head_dim as f64,
            ffn: model.ffn() as f64,
            gated: if model.gated_mlp { 2.0 } else { 1.0 },
            vocab: model.vocab.unwrap_or(0) as f64,
            bytes: b,
            tp,
            overhead_s: eff.iteration_overhead_s,
            a_prefill: gpu.activity.prefill,
            a_decode: gpu.activity.decode,
            kv_bytes_per_token,
            kv_capacity_tokens: (free / kv_bytes_per_token).floor() as u64,
        })
    }

    /// Time of the tensor-parallel all-reduces for `tokens` tokens, s: two per layer of `tokens · h · β` bytes.
    pub fn tp_comm_s(&self, tokens: f64) -> f64 {
        if self.tp <= 1 || tokens <= 0.0 {
            return 0.0;
        }
        let bytes = tokens * self.hidden * self.bytes;
        2.0 * self.layers
            * self
                .link
                .all_reduce_s(bytes, &CommGroup::new(self.tp, self.tp))
    }

    /// The accumulator after the four GEMMs of every layer for `m` > 0 tokens (the start of [`Self::kernels`]).
    fn gemms(&self, m: f64) -> Acc {
        let g = &self.gpu;
        let t = self.tp as f64;
        let (h, beta, l) = (self.hidden, self.bytes, self.layers);
        let t0 = g.kernels.gemm_latency_s;
        let mut acc = Acc::default();
        for (n, k) in [
            ((self.q_width + 2.0 * self.kv_width) / t, h),
            (h, self.q_width / t),
            (self.gated * self.ffn / t, h),
            (h, self.ffn / t),
        ] {
            let (c, mem) = gemm_bounds_s(m, n, k, beta, g);
            acc.kernel(0, c, mem, l, t0);
        }
        acc
    }

    /// The output layer's bounds for `logits` tokens.
    fn output_bounds(&self, logits: f64) -> (f64, f64) {
        gemm_bounds_s(
            logits,
            self.vocab / self.tp as f64,
            self.hidden,
            self.bytes,
            &self.gpu,
        )
    }

    /// Kernel demands of an iteration of shape `b` (no communication, no overhead). Inlined: once per
    /// iteration, where the callers' unused parts fold away.
    #[inline(always)]
    fn kernels(&self, b: &BatchShape, memo: &mut IterationMemo) -> Acc {
        let tokens = b.prefill_tokens + b.decode_tokens;
        let m = tokens as f64;
        let t0 = self.gpu.kernels.gemm_latency_s;
        if m <= 0.0 {
            return Acc::default();
        }
        let mut acc = IterationMemo::get(memo.keep, &mut memo.gemms, tokens, || self.gemms(m));
        self.attention_kernel(&mut acc, b.attention_pairs, b.kv_read_tokens);
        self.elementwise_kernel(&mut acc, self.elementwise_mem_s(m));
        // The output layer for the tokens that yield logits.
        let n_logits = b.decode_tokens + b.prefill_chunks;
        let logits = n_logits as f64;
        if self.vocab > 0.0 && logits > 0.0 {
            let (c, mem) = IterationMemo::get(memo.keep, &mut memo.logits, n_logits, || {
                self.output_bounds(logits)
            });
            acc.kernel(3, c, mem, 1.0, t0);
        }
        acc
    }

    /// Adds the attention of every layer: FLOPs over `pairs` query-context pairs; `kv_read` KV-cache tokens read.
    #[inline(always)]
    fn attention_kernel(&self, acc: &mut Acc, pairs: f64, kv_read: u64) {
        let c = self.attn_flops_per_pair * pairs / self.attn_rate;
        let mem = self.kv_layer_bytes * kv_read as f64 / self.bw;
        acc.kernel(1, c, mem, self.layers, self.gpu.kernels.gemm_latency_s);
    }

    /// Memory time of the norms, residuals and activation of one layer for `m` tokens, s (memory-bound).
    fn elementwise_mem_s(&self, m: f64) -> f64 {
        m * self.bytes * self.elems / self.bw
    }

    /// Adds the element-wise kernels of every layer (`mem`: [`Self::elementwise_mem_s`]).
    #[inline(always)]
    fn elementwise_kernel(&self, acc: &mut Acc, mem: f64) {
        let t0 = self.gpu.kernels.gemm_latency_s;
        acc.kernel(2, 0.0, mem, self.layers, SMALL_KERNELS_PER_LAYER * t0);
    }

    /// What a decode-only iteration of `n` > 0 requests costs whatever their contexts ([`DecodeRow`]).
    pub fn decode_row(&self, n: u64, memo: &mut IterationMemo) -> DecodeRow {
        let m = n as f64;
        let gemms = IterationMemo::get(memo.keep, &mut memo.gemms, n, || self.gemms(m));
        let logits = (self.vocab > 0.0)
            .then(|| IterationMemo::get(memo.keep, &mut memo.logits, n, || self.output_bounds(m)));
        let tp_comm_s = IterationMemo::get(memo.keep, &mut memo.comm, n, || self.tp_comm_s(m));
        DecodeRow {
            tokens: n,
            gemms,
            elementwise_mem_s: self.elementwise_mem_s(m),
            logits,
            tp_comm_s,
        }
    }

    /// The cost of a decode-only iteration of `row.tokens` requests with Σ `ctx_sum` tokens of context: bit for
    /// bit [`Self::iteration_memo`] of that shape (the same operations in the same order), without its lookups.
    #[inline]
    pub fn decode_iteration(&self, row: &DecodeRow, ctx_sum: u64) -> IterationCost {
        let mut acc = row.gemms;
        let read = ctx_sum + row.tokens;
        self.attention_kernel(&mut acc, read as f64, read);
        self.elementwise_kernel(&mut acc, row.elementwise_mem_s);
        if let Some((c, mem)) = row.logits {
            acc.kernel(3, c, mem, 1.0, self.gpu.kernels.gemm_latency_s);
        }
        self.cost(&acc, row.tp_comm_s, 0.0)
    }

    /// The cost of an iteration from its kernels' demands, its all-reduce time and its prefill share.
    #[inline(always)]
    fn cost(&self, acc: &Acc, tp_comm_s: f64, prefill_share: f64) -> IterationCost {
        let bound = acc.compute.max(acc.memory);
        let excess_s = (acc.kernels - bound).max(0.0);
        let overhead_s = acc.fixed + self.overhead_s;
        let total_s = bound + excess_s + tp_comm_s + overhead_s;
        let activity = if total_s > 0.0 {
            self.a_decode
                + (self.a_prefill - self.a_decode) * (acc.compute_bound / total_s).min(1.0)
        } else {
            self.a_decode
        };
        IterationCost {
            compute_s: acc.compute,
            memory_s: acc.memory,
            excess_s,
            tp_comm_s,
            overhead_s,
            total_s,
            activity,
            prefill_share,
        }
    }

    /// Where the time of an iteration of shape `b` goes; the parts add up to [`Self::iteration`]'s `total_s`.
    pub fn parts(&self, b: &BatchShape) -> IterationParts {
        let acc = self.kernels(b, &mut IterationMemo::default());
        IterationParts {
            gemm_s: acc.parts[0],
            attention_s: acc.parts[1],
            elementwise_s: acc.parts[2],
            output_s: acc.parts[3],
            tp_comm_s: self.tp_comm_s((b.prefill_tokens + b.decode_tokens) as f64),
            overhead_s: self.overhead_s,
        }
    }

    /// The cost of an iteration of shape `b`.
    pub fn iteration(&self, b: &BatchShape) -> IterationCost {
        self.iteration_memo(b, &mut IterationMemo::default())
    }

    /// The cost of an iteration of shape `b`, looking up (and keeping) in `memo` what depends on token
    /// counts alone: the same value as [`Self::iteration`], bit for bit (the same operations in the same order).
    pub fn iteration_memo(&self, b: &BatchShape, memo: &mut IterationMemo) -> IterationCost {
        let n = b.prefill_tokens + b.decode_tokens;
        let tokens = n as f64;
        let acc = self.kernels(b, memo);
        let tp_comm_s = IterationMemo::get(memo.keep, &mut memo.comm, n, || self.tp_comm_s(tokens));
        let prefill_share = if b.decode_tokens == 0 {
            1.0
        } else if b.prefill_tokens == 0 {
            0.0
        } else {
            // Stand-alone kernel times of each part (weights counted in both: they are read either way).
            let p = b.prefill_tokens as f64;
            let pre = BatchShape {
                prefill_tokens: b.prefill_tokens,
                prefill_chunks: b.prefill_chunks,
                decode_tokens: 0,
                attention_pairs: p * p / 2.0,
                kv_read_tokens: b.prefill_tokens,
            };
            let dec = BatchShape {
                prefill_tokens: 0,
                prefill_chunks: 0,
                decode_tokens: b.decode_tokens,
                attention_pairs: b.decode_tokens as f64,
                kv_read_tokens: b.kv_read_tokens,
            };
            let (tp_, td) = (
                self.kernels(&pre, memo).kernels,
                self.kernels(&dec, memo).kernels,
            );
            tp_ / (tp_ + td)
        };
        self.cost(&acc, tp_comm_s, prefill_share)
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
            heads: None,
            ffn_hidden: Some(28672),
            gated_mlp: true,
            vocab: Some(32000),
        }
    }

    /// The H100 with no shape penalty and no kernel time: GEMMs are pure rooflines.
    fn plain_h100() -> GpuModel {
        let mut g = h100();
        g.kernels = crate::training::KernelEfficiency {
            gemm: 0.7,
            gemm_half_dim: 0.0,
            attention: 0.5,
            memory: 0.9,
            gemm_latency_s: 0.0,
        };
        g
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
    fn derived_widths() {
        let mut m = llama70b();
        assert_eq!((m.heads(), m.ffn()), (64, 28672));
        // Without a given width: ((70e9 − 2·32000·8192)/80 − 8192·(8192 + 2048) − 8192²) / (3·8192)
        // = (868,446,400 − 150,994,944) / 24,576 = 29,193.
        m.ffn_hidden = None;
        assert_eq!(m.ffn(), 29_193);
    }

    #[test]
    fn decode_is_memory_bound_and_prefill_compute_bound() {
        let eff = Efficiency::default();
        let gpu = plain_h100();
        let p = ReplicaPerf::new(&llama70b(), &gpu, 4, &eff, &Batching::default()).unwrap();
        let mut d = BatchShape::default();
        d.add_decode(1000);
        let c = p.iteration(&d);
        assert!(c.memory_s > c.compute_s, "{c:?}");
        // One decode token reads every weight once: the layers' GEMMs (80 · (8192·10240 + 8192² + 8192·57344 +
        // 28672·8192) weights / 4 ranks · 2 B) and the output layer (32000·8192 / 4 · 2 B), plus the KV cache
        // (1001 tokens · 2 KV heads · 128 · 2 · 2 B · 80 layers); all over 3.35 TB/s · 0.9.
        let layer_w = 8192.0 * 10240.0 + 8192.0 * 8192.0 + 8192.0 * 57344.0 + 28672.0 * 8192.0;
        let weights = (80.0 * layer_w + 32000.0 * 8192.0) / 4.0 * 2.0;
        let kv = 1001.0 * 2.0 * 2.0 * 128.0 * 2.0 * 80.0;
        let bw = 3.35e12 * 0.9;
        let parts = p.parts(&d);
        let streamed = parts.gemm_s + parts.attention_s + parts.output_s;
        assert!(
            (streamed - (weights + kv) / bw).abs() / streamed < 2e-3,
            "{streamed} vs {}",
            (weights + kv) / bw
        );
        let mut pf = BatchShape::default();
        pf.add_prefill(0, 4096);
        let c = p.iteration(&pf);
        assert!(c.compute_s > c.memory_s);
        // 4,096 tokens through every layer's GEMMs: 2 · 4096 · layer weights / 4 ranks · 80 at 0.7 of peak.
        let gemm = 2.0 * 4096.0 * layer_w / 4.0 * 80.0 / (989e12 * 0.7);
        assert!((p.parts(&pf).gemm_s - gemm).abs() / gemm < 1e-12);
        // Compute-bound GEMMs most of the time, the all-reduces and element-wise work the rest.
        assert!(c.activity > 0.7 && c.activity <= 0.90, "{c:?}");
        assert_eq!(c.prefill_share, 1.0);
        // The parts add up to the iteration.
        let q = p.parts(&pf);
        let sum =
            q.gemm_s + q.attention_s + q.elementwise_s + q.output_s + q.tp_comm_s + q.overhead_s;
        assert!((sum - c.total_s).abs() < 1e-12 * c.total_s, "{sum} {c:?}");
    }

    #[test]
    fn the_memo_gives_the_same_bits() {
        let p = ReplicaPerf::new(
            &llama70b(),
            &h100(),
            8,
            &Efficiency::default(),
            &Batching::default(),
        )
        .unwrap();
        let mut memo = IterationMemo::new();
        // Mixed, decode-only and prefill-only shapes, each twice (the second from the memo).
        for round in 0..2 {
            for k in 0..200u64 {
                let mut b = BatchShape::default();
                for j in 0..k % 17 {
                    b.add_decode(100 + 37 * j + k);
                }
                if k % 3 != 0 {
                    b.add_prefill(k * 11, 1 + (k * 97) % 4000);
                }
                if b.is_empty() {
                    continue;
                }
                let (a, m) = (p.iteration(&b), p.iteration_memo(&b, &mut memo));
                for (x, y) in [
                    (a.total_s, m.total_s),
                    (a.activity, m.activity),
                    (a.prefill_share, m.prefill_share),
                    (a.compute_s, m.compute_s),
                    (a.memory_s, m.memory_s),
                    (a.excess_s, m.excess_s),
                    (a.tp_comm_s, m.tp_comm_s),
                    (a.overhead_s, m.overhead_s),
                ] {
                    assert_eq!(x.to_bits(), y.to_bits(), "round {round} shape {b:?}");
                }
            }
        }
    }

    #[test]
    fn a_decode_row_gives_the_same_bits() {
        let p = ReplicaPerf::new(
            &llama70b(),
            &h100(),
            8,
            &Efficiency::default(),
            &Batching::default(),
        )
        .unwrap();
        let mut memo = IterationMemo::new();
        for n in 1..300u64 {
            let row = p.decode_row(n, &mut memo);
            for ctx_sum in [0, 1, n * 7, n * 1000 + 13, n * 100_000 + 977] {
                let mut b = BatchShape::default();
                b.add_decodes(n, ctx_sum);
                let (a, d) = (p.iteration(&b), p.decode_iteration(&row, ctx_sum));
                assert_eq!(format!("{a:?}"), format!("{d:?}"), "n {n} ctx {ctx_sum}");
                for (x, y) in [(a.total_s, d.total_s), (a.activity, d.activity)] {
                    assert_eq!(x.to_bits(), y.to_bits(), "n {n} ctx {ctx_sum}");
                }
            }
        }
    }

    #[test]
    fn tp_all_reduce_is_the_training_link() {
        // One link model for training and serving: line-rate rings over NVLink at 900/2 = 450 GB/s per
        // direction, α 3.4 µs.
        let eff = Efficiency {
            link: crate::training::AlphaBeta {
                algorithm: crate::training::comm::CollectiveAlgorithm::Ring,
                intra_efficiency: 1.0,
                ..Default::default()
            },
            ..Efficiency::default()
        };
        let p = ReplicaPerf::new(&llama70b(), &h100(), 8, &eff, &Batching::default()).unwrap();
        let s = 100.0 * 8192.0 * 2.0;
        let one = 2.0 * 7.0 * 3.4e-6 + 2.0 * 7.0 / 8.0 * s / 450e9;
        assert!((p.tp_comm_s(100.0) - 160.0 * one).abs() < 1e-15);
        // The default picks NVLS on an H100 when it is faster.
        let d = ReplicaPerf::new(
            &llama70b(),
            &h100(),
            8,
            &Efficiency::default(),
            &Batching::default(),
        )
        .unwrap();
        assert!(d.tp_comm_s(100.0) < p.tp_comm_s(100.0));
    }
}
