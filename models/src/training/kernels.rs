//! Kernel costs on one GPU: dense GEMMs with a shape-dependent efficiency under a roofline, fused (flash)
//! attention, and memory-bound element-wise work. The training step model ([`super::ops`]) prices every
//! operation of a transformer layer with these; docs/models.md §Training step (per operation).
//!
//! - GEMM `C[M×N] = A[M×K]·B[K×N]`: `t = max(2MNK / (peak · e(M,N,K)), β(MK + KN + MN) / (BW · e_mem)) + t₀`
//!   with `e(M,N,K) = e_gemm / (1 + d½·(1/M + 1/N + 1/K))` — a saturating shape efficiency: a large
//!   square GEMM reaches `e_gemm` of peak, a thin one (any dimension near `d½`) much less, from tile
//!   quantization and the fixed cost per tile; `t₀` a fixed time per kernel (launch, scheduling, tail).
//!   \[src: roofline, Williams et al. CACM 2009; the shape and latency terms are dctwin's, fitted to measured
//!   GEMMs and step times in docs/models.md §Training calibration]
//! - fused attention forward `t = 4·b·n_h·s²·d_h · c / (peak · e_attn)` with `c = ½` for causal masks (the
//!   kernel skips masked tiles), backward 2.5× forward (five matrix products instead of two) \[src: Dao,
//!   "FlashAttention-2", 2023, §3];
//! - memory-bound work `t = bytes / (BW · e_mem)`.

pub use super::efficiency::{KernelEfficiency, KernelOverrides};
use crate::catalog::GpuModel;

/// Shape efficiency of a GEMM: `e_gemm / (1 + d½·(1/M + 1/N + 1/K))`.
pub fn gemm_efficiency(m: f64, n: f64, k: f64, eff: &KernelEfficiency) -> f64 {
    let d = eff.gemm_half_dim;
    eff.gemm / (1.0 + d * (1.0 / m.max(1.0) + 1.0 / n.max(1.0) + 1.0 / k.max(1.0)))
}

/// Time of one GEMM `[M×K]·[K×N]` on `gpu` with `bytes_per_el`-byte operands, s: the slower of the
/// compute time at the shape efficiency and the memory time of reading both operands and writing the
/// result, plus the kernel's fixed time. Zero when any dimension is ≤ 0.
pub fn gemm_s(m: f64, n: f64, k: f64, bytes_per_el: f64, gpu: &GpuModel) -> f64 {
    if m <= 0.0 || n <= 0.0 || k <= 0.0 {
        return 0.0;
    }
    let (compute, memory) = gemm_bounds_s(m, n, k, bytes_per_el, gpu);
    compute.max(memory) + gpu.kernels.gemm_latency_s
}

/// The two bounds of a GEMM's roofline, s: (compute time at the shape efficiency, memory time); see [`gemm_s`].
pub fn gemm_bounds_s(m: f64, n: f64, k: f64, bytes_per_el: f64, gpu: &GpuModel) -> (f64, f64) {
    let compute =
        2.0 * m * n * k / (gpu.peak_tflops * 1e12 * gemm_efficiency(m, n, k, &gpu.kernels));
    let memory = bytes_per_el * (m * k + k * n + m * n) / memory_bw_bytes_per_s(gpu);
    (compute, memory)
}

/// Achieved memory bandwidth for memory-bound kernels, bytes/s: `BW · e_mem`.
pub fn memory_bw_bytes_per_s(gpu: &GpuModel) -> f64 {
    gpu.memory_bandwidth_tbs * 1e12 * gpu.kernels.memory
}

/// Time to stream `bytes` through memory-bound kernels, s.
pub fn memory_s(bytes: f64, gpu: &GpuModel) -> f64 {
    bytes / memory_bw_bytes_per_s(gpu)
}

/// Forward time of fused causal attention for `b` sequences of `s` tokens, `heads` heads of `head_dim`, s:
/// `4·b·heads·s²·head_dim · ½ / (peak · e_attn)`. The backward pass is [`FLASH_BACKWARD_RATIO`] times this.
pub fn flash_attention_fwd_s(b: f64, heads: f64, s: f64, head_dim: f64, gpu: &GpuModel) -> f64 {
    4.0 * b * heads * s * s * head_dim * 0.5 / (gpu.peak_tflops * 1e12 * gpu.kernels.attention)
}

/// Backward ÷ forward time of fused attention (FlashAttention-2: five matrix products against two).
pub const FLASH_BACKWARD_RATIO: f64 = 2.5;
