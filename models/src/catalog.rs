//! The hardware catalog: GPU models with their power and performance figures.
//!
//! The shipped catalog is `scenarios/catalog/gpus.ron` (figures from vendor datasheets, see
//! `docs/models.md`); a scenario names a catalog file and may add or replace entries with `extra_gpus`.

use serde::{Deserialize, Serialize};

use crate::check::FieldError;
pub use crate::training::efficiency::KernelEfficiency;

/// Numeric precision the `peak_tflops` figure is quoted at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Precision {
    Bf16,
    /// For parts without BF16 tensor support (Pascal, Volta, Turing).
    Fp16,
}

/// Fraction `a` of the dynamic power range a GPU draws in each workload phase:
/// `P = P_idle + a · (P_board − P_idle)` (see [`crate::power::gpu_power_w`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseActivity {
    /// Dense training compute (also used for generic trace jobs). Default 0.85.
    #[serde(default = "default_compute")]
    pub compute: f64,
    /// Collective communication and checkpointing. Default 0.30.
    #[serde(default = "default_communication")]
    pub communication: f64,
    /// LLM prefill (compute-bound). Default 0.90.
    #[serde(default = "default_prefill")]
    pub prefill: f64,
    /// LLM decode (memory-bound). Default 0.35.
    #[serde(default = "default_decode")]
    pub decode: f64,
}

fn default_compute() -> f64 {
    0.85
}
fn default_communication() -> f64 {
    0.30
}
fn default_prefill() -> f64 {
    0.90
}
fn default_decode() -> f64 {
    0.35
}

impl Default for PhaseActivity {
    fn default() -> Self {
        PhaseActivity {
            compute: default_compute(),
            communication: default_communication(),
            prefill: default_prefill(),
            decode: default_decode(),
        }
    }
}

/// One GPU model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuModel {
    /// Name used by server templates, traces and reports (e.g. "H100").
    pub name: String,
    /// Board power limit (TDP), W.
    pub board_power_w: f64,
    /// Idle draw, W.
    pub idle_power_w: f64,
    /// Peak dense tensor throughput at `precision`, TFLOP/s.
    pub peak_tflops: f64,
    pub precision: Precision,
    /// HBM (or GDDR) capacity, GB (10^9 bytes).
    pub memory_gb: f64,
    /// Memory bandwidth, TB/s (10^12 bytes/s).
    pub memory_bandwidth_tbs: f64,
    /// Scale-up link bandwidth per GPU (NVLink, bidirectional), GB/s; 0 when the part has none.
    #[serde(default)]
    pub scaleup_link_gbs: f64,
    /// In-switch reduction on the scale-up fabric (NVLink SHARP, "NVLS": NVSwitch 3 and later —
    /// H100, H200, B200), which lets NCCL's all-reduce reduce inside the switch instead of
    /// passing partial sums GPU to GPU. Default false (A100, V100 and parts without NVSwitch).
    /// Used by the alpha-beta collectives (docs/models.md §Training collectives). \[src: NCCL
    /// 2.17+ NVLS algorithm; NVIDIA/nccl-tests#212]
    #[serde(default)]
    pub scaleup_reduction: bool,
    /// Power activity factors by phase (defaults from `docs/models.md`).
    #[serde(default)]
    pub activity: PhaseActivity,
    /// How close kernels come to the peak figures (training step model; defaults in
    /// [`KernelEfficiency`], calibrated values in the shipped catalog, docs/models.md §Training step).
    #[serde(default)]
    pub kernels: KernelEfficiency,
    /// Where the figures come from.
    #[serde(default)]
    pub source: String,
}

/// A GPU catalog file: `Catalog(gpus: [GpuModel(...), ...])`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub gpus: Vec<GpuModel>,
}

impl Catalog {
    /// Index of the model called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.gpus.iter().position(|g| g.name == name)
    }

    /// Adds `model`, replacing an entry of the same name (scenario entries override the shipped catalog).
    pub fn upsert(&mut self, model: GpuModel) {
        match self.index_of(&model.name) {
            Some(i) => self.gpus[i] = model,
            None => self.gpus.push(model),
        }
    }

    /// Names in catalog order, for error messages.
    pub fn names(&self) -> Vec<&str> {
        self.gpus.iter().map(|g| g.name.as_str()).collect()
    }
}

/// Checks one model's figures; the error's message names the first bad field.
pub fn check_model(m: &GpuModel) -> Result<(), FieldError> {
    let pos = |v: f64, f: &str| -> Result<(), FieldError> {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(FieldError::whole(format!(
                "`{f}` must be a finite number > 0, found {v}"
            )))
        }
    };
    if m.name.trim().is_empty() {
        return Err(FieldError::whole("`name` must not be empty"));
    }
    pos(m.board_power_w, "board_power_w")?;
    pos(m.peak_tflops, "peak_tflops")?;
    pos(m.memory_gb, "memory_gb")?;
    pos(m.memory_bandwidth_tbs, "memory_bandwidth_tbs")?;
    if !(m.idle_power_w.is_finite() && m.idle_power_w >= 0.0 && m.idle_power_w <= m.board_power_w) {
        return Err(FieldError::whole(format!(
            "`idle_power_w` must be between 0 and board_power_w ({}), found {}",
            m.board_power_w, m.idle_power_w
        )));
    }
    if !(m.scaleup_link_gbs.is_finite() && m.scaleup_link_gbs >= 0.0) {
        return Err(FieldError::whole(format!(
            "`scaleup_link_gbs` must be ≥ 0, found {}",
            m.scaleup_link_gbs
        )));
    }
    m.kernels.check()?;
    let a = &m.activity;
    for (v, f) in [
        (a.compute, "activity.compute"),
        (a.communication, "activity.communication"),
        (a.prefill, "activity.prefill"),
        (a.decode, "activity.decode"),
    ] {
        if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
            return Err(FieldError::whole(format!(
                "`{f}` must be between 0 and 1, found {v}"
            )));
        }
    }
    Ok(())
}
