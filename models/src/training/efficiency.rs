//! Kernel efficiencies of a GPU type (catalog `GpuModel.kernels`) and a scenario's overrides of them: the
//! configuration [`super::kernels`] prices operations with (docs/models.md §Training step (per operation)).

use serde::{Deserialize, Serialize};

use crate::check::FieldError;

/// How close one GPU type's kernels come to its peak figures (catalog `GpuModel.kernels`; a scenario may
/// override any of them for its training jobs with `workload.Training.compute`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelEfficiency {
    /// Fraction of `peak_tflops` a large dense GEMM reaches, `e_gemm` (0, 1]. Default 0.80.
    #[serde(default = "default_gemm")]
    pub gemm: f64,
    /// Half-saturation GEMM dimension `d½` (elements, ≥ 0): a GEMM with one dimension of `d½` and the
    /// others large runs at half of `e_gemm`. Default 64.
    #[serde(default = "default_gemm_half_dim")]
    pub gemm_half_dim: f64,
    /// Fraction of `peak_tflops` a fused attention kernel reaches in the forward pass, (0, 1]. Default 0.50.
    #[serde(default = "default_attention")]
    pub attention: f64,
    /// Fraction of `memory_bandwidth_tbs` memory-bound kernels reach, (0, 1]. Default 0.80.
    #[serde(default = "default_memory")]
    pub memory: f64,
    /// Fixed time of one GEMM kernel on top of its roofline time (launch, tile scheduling, the tail wave), s
    /// (0..=1e-3). Default 5 µs.
    #[serde(default = "default_gemm_latency_s")]
    pub gemm_latency_s: f64,
}

fn default_gemm() -> f64 {
    0.80
}
fn default_gemm_half_dim() -> f64 {
    64.0
}
fn default_attention() -> f64 {
    0.50
}
fn default_memory() -> f64 {
    0.80
}
fn default_gemm_latency_s() -> f64 {
    5e-6
}

impl Default for KernelEfficiency {
    fn default() -> Self {
        KernelEfficiency {
            gemm: default_gemm(),
            gemm_half_dim: default_gemm_half_dim(),
            attention: default_attention(),
            memory: default_memory(),
            gemm_latency_s: default_gemm_latency_s(),
        }
    }
}

impl KernelEfficiency {
    /// Checks the figures; the error's message names the first bad field.
    pub fn check(&self) -> Result<(), FieldError> {
        for (v, f) in [
            (self.gemm, "kernels.gemm"),
            (self.attention, "kernels.attention"),
            (self.memory, "kernels.memory"),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= 1.0) {
                return Err(FieldError::whole(format!(
                    "`{f}` must be in (0, 1], found {v}"
                )));
            }
        }
        let d = self.gemm_half_dim;
        if !(d.is_finite() && (0.0..=65536.0).contains(&d)) {
            return Err(FieldError::whole(format!(
                "`kernels.gemm_half_dim` must lie in [0, 65536], found {d}"
            )));
        }
        let l = self.gemm_latency_s;
        if !(l.is_finite() && (0.0..=1e-3).contains(&l)) {
            return Err(FieldError::whole(format!(
                "`kernels.gemm_latency_s` must lie in [0, 1e-3] s, found {l}"
            )));
        }
        Ok(())
    }
}

/// Scenario overrides of the catalog's kernel efficiencies (`workload.Training.compute`): each field set
/// replaces the GPU's own figure for every training job; absent fields keep the catalog's.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelOverrides {
    #[serde(default)]
    pub gemm: Option<f64>,
    #[serde(default)]
    pub gemm_half_dim: Option<f64>,
    #[serde(default)]
    pub attention: Option<f64>,
    #[serde(default)]
    pub memory: Option<f64>,
    #[serde(default)]
    pub gemm_latency_s: Option<f64>,
}

impl KernelOverrides {
    /// `base` with the fields set here replaced.
    pub fn apply(&self, base: KernelEfficiency) -> KernelEfficiency {
        KernelEfficiency {
            gemm: self.gemm.unwrap_or(base.gemm),
            gemm_half_dim: self.gemm_half_dim.unwrap_or(base.gemm_half_dim),
            attention: self.attention.unwrap_or(base.attention),
            memory: self.memory.unwrap_or(base.memory),
            gemm_latency_s: self.gemm_latency_s.unwrap_or(base.gemm_latency_s),
        }
    }

    /// Checks the fields set (same ranges as [`KernelEfficiency::check`]).
    pub fn check(&self) -> Result<(), FieldError> {
        self.apply(KernelEfficiency::default()).check()
    }

    /// True when nothing is overridden.
    pub fn is_empty(&self) -> bool {
        *self == KernelOverrides::default()
    }
}
