//! Scenario-facing configuration of an LLM inference workload (RON: `workload: Inference(...)`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::check::FieldError;

/// The burstiest Gamma arrivals a scenario may name (coefficient of variation of the gaps). Measured LLM
/// request streams have cv ≈ 1–4; past 100 nearly every gap is zero and requests pile up at one instant.
pub const MAX_ARRIVAL_CV: f64 = 100.0;

/// An inference workload: where requests come from, how the model is deployed, how replicas batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferenceWorkload {
    /// The request stream.
    pub requests: RequestSource,
    /// The served model and its replicas.
    pub deployment: Deployment,
    /// Iteration-level batching policy of every replica.
    #[serde(default)]
    pub batching: Batching,
    /// Roofline efficiency factors.
    #[serde(default)]
    pub efficiency: Efficiency,
    /// How arriving requests pick a replica.
    #[serde(default)]
    pub router: Router,
    /// Service-level objectives used for the attainment figure.
    #[serde(default)]
    pub slo: Slo,
    /// Replica autoscaling (none: `deployment.replicas` serve throughout).
    #[serde(default)]
    pub autoscaling: Option<Autoscaling>,
    /// Long-horizon mode (docs/models.md §Long-horizon serving): iteration-level simulation over sampled windows
    /// and replicas, combined over the horizon. None: every iteration of every replica is simulated.
    #[serde(default)]
    pub long_horizon: Option<LongHorizon>,
}

/// Long-horizon mode: one iteration-level window per distinct hourly arrival rate, each on `replicas` of the
/// fleet's replicas (their share of the requests), measured for `window_s` after `warmup_s`; the year (or any
/// horizon) then runs hour by hour on the measured power, with the facility, weather and carbon as usual.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongHorizon {
    /// Replicas simulated in each window (at most `deployment.replicas`; default 32).
    #[serde(default = "default_lh_replicas")]
    pub replicas: u32,
    /// Measured length of each window, s (default 1,800).
    #[serde(default = "default_lh_window")]
    pub window_s: f64,
    /// Simulated before measuring, from an empty fleet, s (default 600).
    #[serde(default = "default_lh_warmup")]
    pub warmup_s: f64,
    /// Simulated after the window so that requests arriving in it finish, s (default 300).
    #[serde(default = "default_lh_drain")]
    pub drain_s: f64,
}

fn default_lh_replicas() -> u32 {
    32
}
fn default_lh_window() -> f64 {
    1800.0
}
fn default_lh_warmup() -> f64 {
    600.0
}
fn default_lh_drain() -> f64 {
    300.0
}

impl Default for LongHorizon {
    fn default() -> Self {
        LongHorizon {
            replicas: default_lh_replicas(),
            window_s: default_lh_window(),
            warmup_s: default_lh_warmup(),
            drain_s: default_lh_drain(),
        }
    }
}

impl LongHorizon {
    /// Window lengths in whole seconds (≥ 60 s measured, warm-up and drain ≥ 0) and the sampled replicas.
    fn check(&self, w: &InferenceWorkload) -> Result<(), FieldError> {
        let whole = |x: f64| x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x <= 86_400.0;
        if !(whole(self.window_s) && self.window_s >= 60.0) {
            return err(
                "long_horizon.window_s",
                format!(
                    "must be whole seconds in [60, 86400], found {}",
                    self.window_s
                ),
            );
        }
        for (name, v) in [("warmup_s", self.warmup_s), ("drain_s", self.drain_s)] {
            if !whole(v) {
                return err(
                    &format!("long_horizon.{name}"),
                    format!("must be whole seconds in [0, 86400], found {v}"),
                );
            }
        }
        if self.replicas == 0 {
            return err("long_horizon.replicas", "must be ≥ 1".into());
        }
        let why = if !matches!(w.requests, RequestSource::Synthetic(_)) {
            Some(
                "needs `requests: Synthetic(...)` (a rate the windows can sample; a trace has no rate)",
            )
        } else if w.autoscaling.is_some() {
            Some("does not model autoscaling (the replica count must be fixed)")
        } else {
            None
        };
        if let Some(why) = why {
            return err("long_horizon", format!("long-horizon mode {why}"));
        }
        Ok(())
    }

    /// Replicas each window simulates: `replicas`, at most the fleet.
    pub fn sampled(&self, fleet: u32) -> u32 {
        self.replicas.min(fleet)
    }
}

/// Replica autoscaling: every `interval_s` the policy computes a desired replica count in
/// `[min_replicas, max_replicas]`; new replicas serve after `warmup_s` (weights loading); removed replicas stop
/// taking requests and switch off once they have drained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autoscaling {
    pub policy: ScalingPolicy,
    pub min_replicas: u32,
    /// Replica slots reserved on the site (each `tp` GPUs).
    pub max_replicas: u32,
    /// Decision interval, s.
    #[serde(default = "default_scale_interval")]
    pub interval_s: f64,
    /// Time from the decision to a new replica serving, s.
    #[serde(default = "default_warmup")]
    pub warmup_s: f64,
}

fn default_scale_interval() -> f64 {
    60.0
}
fn default_warmup() -> f64 {
    120.0
}

/// How the desired replica count is computed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum ScalingPolicy {
    /// `⌈serving · utilisation / target⌉`, utilisation = busy fraction of serving replicas over the last interval.
    TargetUtilization { target: f64 },
    /// `⌈outstanding requests / per_replica⌉` (waiting + in service, at the decision).
    QueueLength { per_replica: f64 },
}

/// Where requests come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum RequestSource {
    /// Azure LLM inference trace CSV (`TIMESTAMP,ContextTokens,GeneratedTokens`), relative to the scenario file.
    AzureTrace { path: PathBuf },
    /// A synthetic stream.
    Synthetic(SyntheticRequests),
}

/// A synthetic request stream. Arrivals follow a renewal process in *operational time* mapped onto wall time by
/// the hourly rate profile (time-rescaling), so a Poisson stream with a profile is a non-homogeneous Poisson
/// process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticRequests {
    /// Inter-arrival law (random stream `requests.arrivals`).
    pub arrivals: ArrivalProcess,
    /// Multipliers of the base rate for each hour of the day (24 values, mean need not be 1); empty = constant.
    #[serde(default)]
    pub hourly_profile: Vec<f64>,
    /// Multipliers for each day of the week, the run starting on day 0 (7 values; multiply the hourly ones);
    /// empty = every day alike.
    #[serde(default)]
    pub daily_profile: Vec<f64>,
    /// Prompt (context) tokens per request (stream `requests.prompt`).
    pub prompt_tokens: TokenDist,
    /// Generated tokens per request (stream `requests.output`).
    pub output_tokens: TokenDist,
}

/// A renewal arrival process with base rate `rate_per_s`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum ArrivalProcess {
    /// Exponential gaps (coefficient of variation 1).
    Poisson { rate_per_s: f64 },
    /// Gamma gaps with coefficient of variation `cv` (shape = 1/cv²): cv > 1 is burstier than Poisson.
    Gamma { rate_per_s: f64, cv: f64 },
}

/// A distribution of token counts (integers ≥ 1 after rounding and clamping to `[min, max]` where given).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum TokenDist {
    Constant {
        value: u32,
    },
    /// Uniform integers in `[min, max]`.
    Uniform {
        min: u32,
        max: u32,
    },
    /// `round(exp(N(mu, sigma)))` clamped to `[1, max]`.
    LogNormal {
        mu: f64,
        sigma: f64,
        max: u32,
    },
}

/// The served model and its replicas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    pub model: LlmModel,
    /// Catalog GPU model every replica runs on.
    pub gpu_model: String,
    /// Tensor-parallel degree: GPUs per replica, all in one server (the scale-up domain).
    pub tp: u32,
    /// Number of replicas.
    pub replicas: u32,
}

/// A dense decoder-only transformer, as far as serving cost goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmModel {
    pub name: String,
    /// Parameter count.
    pub params: f64,
    pub layers: u32,
    /// Model (hidden) dimension.
    pub hidden: u32,
    /// Key/value heads (grouped-query attention: fewer than query heads).
    pub kv_heads: u32,
    pub head_dim: u32,
    /// Bytes per weight and per KV-cache element (2 for BF16/FP16).
    #[serde(default = "two")]
    pub bytes_per_param: f64,
    /// Query heads. Default: `hidden / head_dim`.
    #[serde(default)]
    pub heads: Option<u32>,
    /// Feed-forward width `f`. Default: what `params` leaves after attention and the embeddings,
    /// `((params − 2·vocab·hidden)/layers − P_attn) / ((g + 1)·hidden)`, `P_attn = h·(q + 2·kv) + q·h`.
    #[serde(default)]
    pub ffn_hidden: Option<u32>,
    /// Gated MLP (SwiGLU, Llama): two up-projections of width `f`. Default true.
    #[serde(default = "yes")]
    pub gated_mlp: bool,
    /// Vocabulary size (the output layer's width). Default: none — the output layer is not priced.
    #[serde(default)]
    pub vocab: Option<u32>,
}

fn two() -> f64 {
    2.0
}

impl LlmModel {
    /// Query heads (see the field).
    pub fn heads(&self) -> u32 {
        self.heads
            .unwrap_or(self.hidden / self.head_dim.max(1))
            .max(1)
    }

    /// Feed-forward width (see the field), at least 1.
    pub fn ffn(&self) -> u32 {
        self.ffn_hidden.unwrap_or_else(|| {
            let h = self.hidden as f64;
            let q = self.heads() as f64 * self.head_dim as f64;
            let kv = self.kv_heads as f64 * self.head_dim as f64;
            let attn = h * (q + 2.0 * kv) + q * h;
            let embed = 2.0 * self.vocab.unwrap_or(0) as f64 * h;
            let per_layer = (self.params - embed) / self.layers.max(1) as f64;
            let g = if self.gated_mlp { 2.0 } else { 1.0 };
            ((per_layer - attn) / ((g + 1.0) * h)).clamp(1.0, 1e7) as u32
        })
    }
}

/// What a replica does when its KV cache cannot hold the next tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum KvPolicy {
    /// Reserve prompt + output tokens at admission: a request waits until its whole KV fits; never preempted.
    ReserveFull,
    /// Reserve as tokens are produced (vLLM): when the cache is full, the most recently admitted request is
    /// preempted, its KV freed, and it is later recomputed (prompt and generated tokens prefilled again).
    #[default]
    PreemptRecompute,
}

/// Continuous (iteration-level) batching.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batching {
    /// Token budget of one iteration (prefill tokens + one per decoding request).
    #[serde(default = "default_max_batch_tokens")]
    pub max_batch_tokens: u32,
    /// Requests in one iteration at most.
    #[serde(default = "default_max_batch_requests")]
    pub max_batch_requests: u32,
    /// Split long prompts into chunks that fill the token budget (Sarathi-Serve); otherwise a prompt is
    /// prefilled whole (alone in its iteration if it exceeds the budget).
    #[serde(default = "yes")]
    pub chunked_prefill: bool,
    #[serde(default)]
    pub kv_policy: KvPolicy,
    /// HBM reserved for activations and runtime per GPU, GB.
    #[serde(default = "default_activation_reserve_gb")]
    pub activation_reserve_gb: f64,
}

fn default_max_batch_tokens() -> u32 {
    8192
}
fn default_max_batch_requests() -> u32 {
    256
}
fn yes() -> bool {
    true
}
fn default_activation_reserve_gb() -> f64 {
    4.0
}

impl Default for Batching {
    fn default() -> Self {
        Batching {
            max_batch_tokens: default_max_batch_tokens(),
            max_batch_requests: default_max_batch_requests(),
            chunked_prefill: true,
            kv_policy: KvPolicy::default(),
            activation_reserve_gb: default_activation_reserve_gb(),
        }
    }
}

/// How iterations are priced beyond the catalog: kernel overrides, the tensor-parallel link, CPU overhead
/// (docs/models.md §LLM inference serving).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Efficiency {
    /// Kernel efficiencies replacing the catalog's (`gemm`, `gemm_half_dim`, `attention`, `memory`,
    /// `gemm_latency_s`; each optional). Default: the catalog's GPU figures.
    #[serde(default)]
    pub kernels: crate::training::KernelOverrides,
    /// The scale-up link of the tensor-parallel all-reduces: the training model's alpha-beta collectives
    /// (`intra_bw_gbs`, `intra_efficiency`, `nvls_*`, `algorithm`, …). Default: its defaults.
    #[serde(default)]
    pub link: crate::training::AlphaBeta,
    /// CPU work per iteration that does not overlap the GPU's (scheduling, sampling, input preparation), s.
    /// Default 0: serving engines overlap it (vLLM ≥ 0.6 multi-step scheduling and asynchronous output
    /// processing) \[src: vLLM blog, 2024-09-05]; the measured per-kernel time `t₀` is in the kernels.
    #[serde(default)]
    pub iteration_overhead_s: f64,
}

/// Request routing across replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Router {
    /// Replicas in turn.
    RoundRobin,
    /// The replica with the fewest outstanding requests (waiting + in service); ties to the lowest index.
    #[default]
    LeastOutstanding,
    /// The replica with the shortest waiting queue (requests not yet admitted); ties to the lowest index.
    JoinShortestQueue,
}

/// Latency targets for SLO attainment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Time to first token target, s.
    #[serde(default = "default_ttft")]
    pub ttft_s: f64,
    /// Time per output token target, s.
    #[serde(default = "default_tpot")]
    pub tpot_s: f64,
}

fn default_ttft() -> f64 {
    2.0
}
fn default_tpot() -> f64 {
    0.1
}

impl Default for Slo {
    fn default() -> Self {
        Slo {
            ttft_s: default_ttft(),
            tpot_s: default_tpot(),
        }
    }
}

fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

/// A [`FieldError`] at `path` (below `workload.Inference`).
fn err(path: &str, message: String) -> Result<(), FieldError> {
    Err(FieldError::new(path, message))
}

impl InferenceWorkload {
    /// Semantic checks; errors name the offending field (dotted path below `workload.Inference`).
    pub fn check(&self) -> Result<(), FieldError> {
        if let RequestSource::Synthetic(s) = &self.requests {
            s.check()?;
        }
        self.deployment.check()?;
        self.batching.check()?;
        self.efficiency.check()?;
        if !positive(self.slo.ttft_s) || !positive(self.slo.tpot_s) {
            return err("slo", "targets must be > 0".into());
        }
        if let Some(a) = &self.autoscaling {
            a.check(self.deployment.replicas)?;
        }
        if let Some(lh) = &self.long_horizon {
            lh.check(self)?;
        }
        Ok(())
    }

    /// Replica slots to place on the site.
    pub fn replica_slots(&self) -> u32 {
        self.autoscaling
            .map_or(self.deployment.replicas, |a| a.max_replicas)
    }
}

/// A rate profile: empty, or `n` multipliers ≥ 0, at least one > 0; errors name `requests.Synthetic.{name}`.
fn check_profile(name: &str, p: &[f64], n: usize) -> Result<(), FieldError> {
    let at = format!("requests.Synthetic.{name}");
    if p.is_empty() {
        return Ok(());
    }
    if p.len() != n {
        return err(&at, format!("expected {n} multipliers, found {}", p.len()));
    }
    if let Some(x) = p.iter().find(|x| !x.is_finite() || **x < 0.0) {
        return err(&at, format!("multipliers must be ≥ 0, found {x}"));
    }
    if p.iter().all(|x| *x == 0.0) {
        return err(&at, "at least one multiplier must be > 0".into());
    }
    Ok(())
}

impl SyntheticRequests {
    /// The rate multiplier of hour `hour` of the run (hourly × daily profile; 1 without them).
    pub fn multiplier(&self, hour: u64) -> f64 {
        let h = if self.hourly_profile.is_empty() {
            1.0
        } else {
            self.hourly_profile[(hour % 24) as usize]
        };
        let d = if self.daily_profile.is_empty() {
            1.0
        } else {
            self.daily_profile[((hour / 24) % 7) as usize]
        };
        h * d
    }

    /// The base arrival rate, requests/s.
    pub fn base_rate_per_s(&self) -> f64 {
        match self.arrivals {
            ArrivalProcess::Poisson { rate_per_s } | ArrivalProcess::Gamma { rate_per_s, .. } => {
                rate_per_s
            }
        }
    }

    /// Arrival rate and burstiness, the rate profiles and the token distributions; errors name the
    /// field below `workload.Inference`.
    fn check(&self) -> Result<(), FieldError> {
        let (rate, cv) = match self.arrivals {
            ArrivalProcess::Poisson { rate_per_s } => (rate_per_s, 1.0),
            ArrivalProcess::Gamma { rate_per_s, cv } => (rate_per_s, cv),
        };
        if !positive(rate) {
            return err(
                "requests.Synthetic.arrivals",
                format!("rate_per_s must be > 0, found {rate}"),
            );
        }
        if !(positive(cv) && cv <= MAX_ARRIVAL_CV) {
            return err(
                "requests.Synthetic.arrivals",
                format!("cv must lie in (0, {MAX_ARRIVAL_CV}], found {cv}"),
            );
        }
        check_profile("hourly_profile", &self.hourly_profile, 24)?;
        check_profile("daily_profile", &self.daily_profile, 7)?;
        self.prompt_tokens
            .check()
            .map_err(|e| e.within("requests.Synthetic.prompt_tokens"))?;
        self.output_tokens
            .check()
            .map_err(|e| e.within("requests.Synthetic.output_tokens"))
    }
}

impl Deployment {
    /// The model's sizes, tensor parallelism and replica count; errors name the field below
    /// `workload.Inference`.
    fn check(&self) -> Result<(), FieldError> {
        let m = &self.model;
        if !positive(m.params) {
            return err(
                "deployment.model.params",
                format!("must be > 0, found {}", m.params),
            );
        }
        for (name, v) in [
            ("layers", m.layers),
            ("hidden", m.hidden),
            ("kv_heads", m.kv_heads),
            ("head_dim", m.head_dim),
        ] {
            if v == 0 {
                return err(&format!("deployment.model.{name}"), "must be ≥ 1".into());
            }
        }
        if !positive(m.bytes_per_param) {
            return err(
                "deployment.model.bytes_per_param",
                format!("must be > 0, found {}", m.bytes_per_param),
            );
        }
        if self.tp == 0 {
            return err("deployment.tp", "must be ≥ 1".into());
        }
        if m.heads == Some(0) || m.ffn_hidden == Some(0) {
            let f = if m.heads == Some(0) {
                "heads"
            } else {
                "ffn_hidden"
            };
            return err(&format!("deployment.model.{f}"), "must be ≥ 1".into());
        }
        if !m.heads().is_multiple_of(self.tp) {
            return err(
                "deployment.tp",
                format!(
                    "must divide the model's {} attention heads (each GPU holds whole heads)",
                    m.heads()
                ),
            );
        }
        if self.replicas == 0 {
            return err("deployment.replicas", "must be ≥ 1".into());
        }
        Ok(())
    }
}

impl Batching {
    /// Batch limits and the activation reserve; errors name the field below `workload.Inference`.
    fn check(&self) -> Result<(), FieldError> {
        if self.max_batch_tokens == 0 {
            return err("batching.max_batch_tokens", "must be ≥ 1".into());
        }
        if self.max_batch_requests == 0 {
            return err("batching.max_batch_requests", "must be ≥ 1".into());
        }
        if !self.activation_reserve_gb.is_finite() || self.activation_reserve_gb < 0.0 {
            return err("batching.activation_reserve_gb", "must be ≥ 0".into());
        }
        Ok(())
    }
}

impl Efficiency {
    /// Efficiencies in (0, 1] and overheads ≥ 0; errors name the field below `workload.Inference`.
    fn check(&self) -> Result<(), FieldError> {
        self.kernels.check().map_err(|e| e.within("efficiency"))?;
        self.link.check().map_err(|e| e.within("efficiency.link"))?;
        let v = self.iteration_overhead_s;
        if !v.is_finite() || v < 0.0 {
            return err(
                "efficiency.iteration_overhead_s",
                format!("must be ≥ 0, found {v}"),
            );
        }
        Ok(())
    }
}

impl Autoscaling {
    /// The policy's target, the replica bounds (which must hold the initial `replicas`) and the
    /// timing; errors name the field below `workload.Inference`.
    fn check(&self, replicas: u32) -> Result<(), FieldError> {
        let t = match self.policy {
            ScalingPolicy::TargetUtilization { target } => (target, target <= 1.0),
            ScalingPolicy::QueueLength { per_replica } => (per_replica, true),
        };
        if !positive(t.0) || !t.1 {
            return err(
                "autoscaling.policy",
                format!(
                    "the target must be > 0 (≤ 1 for utilisation), found {}",
                    t.0
                ),
            );
        }
        if self.min_replicas == 0 || self.min_replicas > self.max_replicas {
            return err(
                "autoscaling",
                format!(
                    "need 1 ≤ min_replicas ≤ max_replicas, found {} and {}",
                    self.min_replicas, self.max_replicas
                ),
            );
        }
        let r = replicas;
        if r < self.min_replicas || r > self.max_replicas {
            return err(
                "deployment.replicas",
                format!(
                    "the initial replica count {r} must lie within [{}, {}]",
                    self.min_replicas, self.max_replicas
                ),
            );
        }
        if !positive(self.interval_s) || !self.warmup_s.is_finite() || self.warmup_s < 0.0 {
            return err(
                "autoscaling",
                "interval_s must be > 0 and warmup_s ≥ 0".into(),
            );
        }
        Ok(())
    }
}

impl TokenDist {
    /// Parameter checks.
    pub fn check(&self) -> Result<(), FieldError> {
        match *self {
            TokenDist::Constant { value: 0 } => Err(FieldError::whole("a token count must be ≥ 1")),
            TokenDist::Uniform { min, max } if min == 0 || max < min => Err(FieldError::whole(
                format!("need 1 ≤ min ≤ max, found min {min}, max {max}"),
            )),
            TokenDist::LogNormal { mu, sigma, max }
                if !mu.is_finite() || !sigma.is_finite() || sigma < 0.0 || max == 0 =>
            {
                Err(FieldError::whole(format!(
                    "need finite mu, sigma ≥ 0 and max ≥ 1, found mu {mu}, sigma {sigma}, max {max}"
                )))
            }
            _ => Ok(()),
        }
    }

    /// The largest value the distribution can produce.
    pub fn max_value(&self) -> u32 {
        match *self {
            TokenDist::Constant { value } => value,
            TokenDist::Uniform { max, .. } | TokenDist::LogNormal { max, .. } => max,
        }
    }
}
