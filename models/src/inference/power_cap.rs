//! A replica iteration under a static per-GPU power cap (`facility.capping.gpu_cap_w`): the DVFS model applied
//! to the roofline of [`super::perf`] (docs/models.md §Power capping, "Inference replicas").
//!
//! - Full-clock demand of each GPU: `P_d = P_idle + a·(P_board − P_idle)`, W, with the iteration's activity `a`
//!   as [`super::perf::ReplicaPerf::iteration`] computes it (at full clock).
//! - Under a cap `P_c < P_d` the GPU runs at the clock ratio `r = ((P_c − P_s)/(P_d − P_s))^(1/γ)`
//!   ([`crate::facility::capping::clock_ratio`]; `P_s = dvfs.static_fraction · P_board`, static power) \[form:
//!   models.md §1 DVFS: dynamic power ∝ f^γ, compute throughput ∝ f\].
//! - Only the compute roofline term scales with the core clock; HBM time and the tensor-parallel all-reduce
//!   (memory and link clocks) do not \[eng: roofline\]:
//!   `t_iter' = max(t_compute / r, t_memory) + t_excess + t_tp + t_overhead` (`t_excess`: what the
//!   kernels' mix of bounds adds at full clock, kept as it is).
//! - The GPU draws `min(P_d, P_c)` for the whole (stretched) iteration.
//!
//! So a compute-bound prefill iteration takes `1/r` times as long, and a memory-bound decode iteration is
//! unchanged unless `t_compute / r` overtakes `t_memory` (its demand is usually below the cap anyway).

use super::perf::IterationCost;
use crate::catalog::GpuModel;
use crate::facility::capping::{CappingConfig, DvfsConfig, clock_ratio};

/// A static per-GPU power cap on one GPU model, with the DVFS parameters. Built by [`GpuPowerCap::new`], which
/// guarantees `P_c > P_s` and `P_c ≥ P_idle` (so the clock ratio is positive and idle GPUs are not capped).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpuPowerCap {
    cap_w: f64,
    idle_w: f64,
    board_w: f64,
    static_w: f64,
    gamma: f64,
}

impl GpuPowerCap {
    /// The cap of `cfg.gpu_cap_w` on `gpu` (`None` without a static cap); an error (a message for the field
    /// `gpu_cap_w`) when the cap is at or below the GPU's static power or below its idle power.
    pub fn new(cfg: &CappingConfig, gpu: &GpuModel) -> Result<Option<Self>, String> {
        let Some(cap_w) = cfg.gpu_cap_w else {
            return Ok(None);
        };
        let static_w = cfg.dvfs.static_fraction * gpu.board_power_w;
        if !(cap_w > static_w && cap_w >= gpu.idle_power_w) {
            return Err(format!(
                "{cap_w} W per GPU is too low for the {}: a cap must exceed its static power \
                 ({static_w:.1} W = dvfs.static_fraction × {} W board power) and be at least its idle power ({} W)",
                gpu.name, gpu.board_power_w, gpu.idle_power_w
            ));
        }
        Ok(Some(GpuPowerCap {
            cap_w,
            idle_w: gpu.idle_power_w,
            board_w: gpu.board_power_w,
            static_w,
            gamma: cfg.dvfs.gamma,
        }))
    }

    /// A limit of `cap_w` per GPU on `gpu` under `dvfs` as it arises during a run (a capping decision,
    /// thermal throttling): not checked against static or idle power. A cap at or below static power stops
    /// compute (clock ratio 0); the loader keeps configured limits above it.
    pub fn at(cap_w: f64, gpu: &GpuModel, dvfs: &DvfsConfig) -> Self {
        GpuPowerCap {
            cap_w,
            idle_w: gpu.idle_power_w,
            board_w: gpu.board_power_w,
            static_w: dvfs.static_fraction * gpu.board_power_w,
            gamma: dvfs.gamma,
        }
    }

    /// The cap, W per GPU (DC).
    pub fn cap_w(&self) -> f64 {
        self.cap_w
    }
}

/// One iteration under a cap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CappedIteration {
    /// Full-clock power demand, W per GPU.
    pub demand_w: f64,
    /// Power drawn, `min(demand_w, cap)`, W per GPU.
    pub gpu_w: f64,
    /// Clock ratio `r` (1: the demand is within the cap).
    pub clock_ratio: f64,
    /// Compute time at the capped clock, `t_compute / r`, s.
    pub compute_s: f64,
    /// Iteration time under the cap, s.
    pub total_s: f64,
}

/// The iteration `cost` (at full clock) under `cap`: see the module documentation. With the demand within the
/// cap the result is `cost`'s own time and power (`clock_ratio` 1, bit for bit).
pub fn capped_iteration(cost: &IterationCost, cap: &GpuPowerCap) -> CappedIteration {
    let demand_w = cap.idle_w + cost.activity * (cap.board_w - cap.idle_w);
    let r = clock_ratio(cap.cap_w, demand_w, cap.static_w, cap.gamma);
    if r >= 1.0 {
        return CappedIteration {
            demand_w,
            gpu_w: demand_w,
            clock_ratio: 1.0,
            compute_s: cost.compute_s,
            total_s: cost.total_s,
        };
    }
    // r > 0: the cap exceeds static power (GpuPowerCap::new).
    let compute_s = cost.compute_s / r;
    CappedIteration {
        demand_w,
        gpu_w: demand_w.min(cap.cap_w),
        clock_ratio: r,
        compute_s,
        total_s: compute_s.max(cost.memory_s) + cost.excess_s + cost.tp_comm_s + cost.overhead_s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{PhaseActivity, Precision};
    use crate::facility::capping::DvfsConfig;
    use crate::inference::config::{Batching, Efficiency, LlmModel};
    use crate::inference::perf::{BatchShape, ReplicaPerf};

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

    fn llama8b() -> LlmModel {
        LlmModel {
            name: "llama-3-8b".into(),
            params: 8.0e9,
            layers: 32,
            hidden: 4096,
            kv_heads: 8,
            head_dim: 128,
            bytes_per_param: 2.0,
            heads: None,
            ffn_hidden: Some(14336),
            gated_mlp: true,
            vocab: Some(128_256),
        }
    }

    fn cap(w: f64) -> GpuPowerCap {
        let cfg = CappingConfig {
            gpu_cap_w: Some(w),
            ..CappingConfig::default()
        };
        GpuPowerCap::new(&cfg, &h100()).unwrap().unwrap()
    }

    /// `r` in closed form for the H100 defaults: `P_s` = 100 W, γ = 3.
    fn r_closed(cap_w: f64, demand_w: f64) -> f64 {
        ((cap_w - 100.0) / (demand_w - 100.0)).powf(1.0 / 3.0)
    }

    /// A cost whose activity follows perf's rule (`a = 0.35 + 0.55 · t_c / t_iter`).
    fn cost(compute_s: f64, memory_s: f64, tp_comm_s: f64, overhead_s: f64) -> IterationCost {
        let total_s = compute_s.max(memory_s) + tp_comm_s + overhead_s;
        IterationCost {
            compute_s,
            memory_s,
            excess_s: 0.0,
            tp_comm_s,
            overhead_s,
            total_s,
            activity: 0.35 + 0.55 * compute_s / total_s,
            prefill_share: 0.0,
        }
    }

    #[test]
    fn compute_bound_prefill_stretches_by_one_over_r() {
        // Llama-3-8B on one H100, no overhead: a 4,096-token prefill is compute-bound; its compute stretches
        // by 1/r, its memory-bound element-wise work and fixed kernel times do not.
        let p = ReplicaPerf::new(
            &llama8b(),
            &h100(),
            1,
            &Efficiency::default(),
            &Batching::default(),
        )
        .unwrap();
        let mut b = BatchShape::default();
        b.add_prefill(0, 4096);
        let c = p.iteration(&b);
        assert!(c.compute_s > c.memory_s && c.tp_comm_s == 0.0, "{c:?}");
        assert!(c.activity > 0.8, "{c:?}");
        let k = capped_iteration(&c, &cap(400.0));
        let demand = 70.0 + c.activity * 630.0;
        assert!((k.demand_w - demand).abs() < 1e-9, "{k:?}");
        let r = r_closed(400.0, demand);
        assert!((k.clock_ratio - r).abs() < 1e-12, "{k:?}");
        let want = c.compute_s / r + c.excess_s + c.overhead_s;
        assert!((k.total_s - want).abs() < 1e-15, "{k:?}");
        assert!(k.total_s < c.total_s / r);
        assert_eq!(k.gpu_w, 400.0);
        // With overheads only the compute term stretches.
        let c = cost(0.050, 0.010, 0.002, 0.002);
        let k = capped_iteration(&c, &cap(400.0));
        let r = r_closed(400.0, 70.0 + c.activity * 630.0);
        assert!((k.total_s - (0.050 / r + 0.004)).abs() < 1e-15, "{k:?}");
    }

    #[test]
    fn decode_below_the_cap_is_unchanged() {
        let p = ReplicaPerf::new(
            &llama8b(),
            &h100(),
            1,
            &Efficiency::default(),
            &Batching::default(),
        )
        .unwrap();
        let mut b = BatchShape::default();
        for _ in 0..32 {
            b.add_decode(1000);
        }
        let c = p.iteration(&b);
        assert!(c.memory_s > c.compute_s, "{c:?}");
        let k = capped_iteration(&c, &cap(400.0));
        assert!(k.demand_w < 400.0, "{k:?}");
        assert_eq!(
            (k.clock_ratio, k.total_s, k.compute_s),
            (1.0, c.total_s, c.compute_s)
        );
        assert_eq!(k.gpu_w, k.demand_w);
    }

    #[test]
    fn memory_bound_above_the_cap_stretches_only_past_the_memory_time() {
        // t_c = 10 ms < t_m = 20 ms: a = 0.35 + 0.55·10/23 → P_d = 441.3 W > 400 W, r = 0.958;
        // t_c/r = 10.4 ms < 20 ms: same time, power at the cap.
        let c = cost(0.010, 0.020, 0.001, 0.002);
        let k = capped_iteration(&c, &cap(400.0));
        assert!(k.demand_w > 400.0 && k.clock_ratio < 1.0, "{k:?}");
        assert!((k.clock_ratio - r_closed(400.0, k.demand_w)).abs() < 1e-12);
        assert!(k.compute_s < c.memory_s);
        assert_eq!(k.total_s, c.total_s);
        assert_eq!(k.gpu_w, 400.0);
        // t_c = 19.5 ms: P_d = 584.3 W, r = 0.8525, t_c/r = 22.87 ms > 20 ms: the iteration stretches to it.
        let c = cost(0.0195, 0.020, 0.001, 0.002);
        let k = capped_iteration(&c, &cap(400.0));
        let r = r_closed(400.0, 70.0 + c.activity * 630.0);
        assert!((k.clock_ratio - r).abs() < 1e-12);
        assert!((r - 0.8525).abs() < 1e-4, "{r}");
        assert!((k.total_s - (0.0195 / r + 0.003)).abs() < 1e-15, "{k:?}");
        assert!(k.total_s > c.total_s && k.total_s < c.total_s / r);
    }

    #[test]
    fn a_cap_at_board_power_changes_nothing_and_bad_caps_are_rejected() {
        let c = cost(0.050, 0.010, 0.0, 0.0);
        let k = capped_iteration(&c, &cap(700.0));
        assert_eq!((k.clock_ratio, k.total_s), (1.0, c.total_s));
        let none = CappingConfig::default();
        assert_eq!(GpuPowerCap::new(&none, &h100()), Ok(None));
        for w in [100.0, 60.0] {
            let cfg = CappingConfig {
                gpu_cap_w: Some(w),
                ..CappingConfig::default()
            };
            let e = GpuPowerCap::new(&cfg, &h100()).unwrap_err();
            assert!(e.contains("static power (100.0 W"), "{e}");
        }
        // Idle power above static power: a cap between them is rejected too.
        let cfg = CappingConfig {
            gpu_cap_w: Some(60.0),
            dvfs: DvfsConfig {
                static_fraction: 0.05,
                ..DvfsConfig::default()
            },
            ..CappingConfig::default()
        };
        let e = GpuPowerCap::new(&cfg, &h100()).unwrap_err();
        assert!(e.contains("idle power (70 W)"), "{e}");
    }
}
