//! How much work a scenario implies, before running it: the cost guard's estimate (docs/scenarios.md, "Limits
//! every scenario keeps").
//!
//! Each figure is an expectation from the scenario's own parameters (mean interarrival times, request rates and
//! their hourly profile, token counts, intervals), not a bound; the run itself also stops at the limit.
//! - jobs: synthetic `horizon / mean interarrival`; a trace, its jobs within the horizon. About three events each
//!   (arrival, finish, a re-timing).
//! - requests: a trace's, or `rate · mean(hourly profile) · horizon`; two events each (arrival, finish).
//! - iterations: inference replicas iterate while they have requests, at most one iteration per shortest
//!   iteration (a one-token decode) per replica slot, and at most `mean output tokens + 1` per request.
//! - periodic events: samples, capping decisions, autoscaling decisions, facility wake-ups (weather steps).

use std::fmt;

use models::inference::config::{ArrivalProcess, InferenceWorkload, RequestSource, TokenDist};
use models::inference::perf::{BatchShape, ReplicaPerf};
use scenario::{LoadedScenario, Workload};

/// Expected events of a run, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Estimate {
    pub jobs: f64,
    pub requests: f64,
    pub iterations: f64,
    pub samples: f64,
    pub periodic: f64,
    /// Hardware failures (drawn: units × horizon ÷ MTBF per class; or the trace's rows).
    pub failures: f64,
    /// Training checkpoints (each a stop, a write and a resume).
    pub checkpoints: f64,
}

impl Estimate {
    /// Events in all.
    pub fn total(&self) -> f64 {
        // A failure: itself, its repair, a spare's swap and return, and the restart of what it stopped.
        3.0 * self.jobs
            + 2.0 * self.requests
            + self.iterations
            + self.samples
            + self.periodic
            + 6.0 * self.failures
            + 3.0 * self.checkpoints
    }

    /// Whether the run would exceed `max_events`: the total above it, or not a number (an estimate that cannot
    /// be told is refused like one too large; the run's own limit would stop it anyway).
    pub fn exceeds(&self, max_events: u64) -> bool {
        matches!(
            self.total().partial_cmp(&(max_events as f64)),
            Some(std::cmp::Ordering::Greater) | None
        )
    }
}

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (name, v) in [
            ("jobs", self.jobs),
            ("requests", self.requests),
            ("iterations", self.iterations),
            ("samples", self.samples),
            ("periodic events", self.periodic),
            ("failures", self.failures),
            ("checkpoints", self.checkpoints),
        ] {
            if v > 0.0 {
                parts.push(format!("{name} {v:.3e}"));
            }
        }
        f.write_str(&parts.join(", "))
    }
}

/// The estimate for `loaded`.
pub fn estimate(loaded: &LoadedScenario) -> Estimate {
    let sc = &loaded.scenario;
    let h = sc.horizon_s;
    let mut e = Estimate {
        samples: h / sc.reporting.interval_s + 1.0,
        ..Estimate::default()
    };
    match (&sc.workload, &loaded.trace_jobs) {
        (Workload::Synthetic(cfg), _) => e.jobs = h / cfg.interarrival_s.mean_s(),
        (Workload::Inference(_), _) => {}
        (_, Some(jobs)) => e.jobs = jobs.len() as f64,
        _ => {}
    }
    let serving = match (&sc.workload, &sc.serving) {
        (Workload::Inference(w), _) => Some(w.as_ref()),
        (_, Some(sv)) => Some(&sv.inference),
        _ => None,
    };
    if let Some(w) = serving {
        let (requests, tokens) = requests(loaded, w);
        e.requests = requests;
        let slots = w.replica_slots() as f64;
        e.iterations = (requests * (tokens + 1.0)).min(slots * h / shortest_iteration_s(loaded, w));
        if let (Some(lh), RequestSource::Synthetic(s)) = (&w.long_horizon, &w.requests) {
            // The windows: each its share of the fleet for warm-up + window + drain at its rate; then one
            // event per hour of the horizon.
            let (mults, _) = models::inference::horizon::rate_windows(
                s,
                models::inference::horizon::hours_of(h).min(168),
            );
            let sampled = lh.sampled(w.deployment.replicas) as f64;
            let share = sampled / w.deployment.replicas as f64;
            let run_s = lh.warmup_s + lh.window_s + lh.drain_s;
            let rate: f64 = mults.iter().sum::<f64>() * s.base_rate_per_s() * share;
            e.requests = rate * run_s;
            e.iterations = (e.requests * (tokens + 1.0))
                .min(mults.len() as f64 * sampled * run_s / shortest_iteration_s(loaded, w));
            e.periodic += h / 3600.0;
        }
        if let Some(a) = &w.autoscaling {
            e.periodic += h / a.interval_s;
        }
    }
    if let Some(f) = &loaded.facility {
        if let Some(c) = &f.config.capping {
            e.periodic += h / c.interval_s;
        }
        // A wake-up at most at every weather step (hourly or finer series) and two per cooling failure.
        e.periodic += 2.0 * h / 3600.0 + 2.0 * f.config.thermal.failures.len() as f64;
    }
    e.periodic += 2.0 * sc.maintenance.len() as f64;
    e.checkpoints = loaded
        .training
        .iter()
        .flatten()
        .map(|t| t.estimate.checkpoints as f64)
        .sum();
    if let Some(f) = &loaded.failures {
        e.failures = match &f.trace {
            Some(t) => t.len() as f64,
            None => f
                .config
                .classes
                .iter()
                .map(|c| {
                    let units = f.domains.units(c.component.scope()) as f64;
                    // Weibull classes also schedule one event per unit at the start.
                    let first = if c.lifetime.is_memoryless() {
                        0.0
                    } else {
                        units
                    };
                    first + units * h * f.config.rate_scale / (c.lifetime.mtbf_h() * 3600.0)
                })
                .sum(),
        };
    }
    e
}

/// Requests and mean output tokens per request.
fn requests(loaded: &LoadedScenario, w: &InferenceWorkload) -> (f64, f64) {
    let h = loaded.scenario.horizon_s;
    match (&loaded.inference_requests, &w.requests) {
        (Some(reqs), _) => {
            let n = reqs.len() as f64;
            let tokens: f64 = reqs.iter().map(|r| r.output_tokens as f64).sum();
            (n, if n > 0.0 { tokens / n } else { 0.0 })
        }
        (None, RequestSource::Synthetic(s)) => {
            let rate = match s.arrivals {
                ArrivalProcess::Poisson { rate_per_s } => rate_per_s,
                ArrivalProcess::Gamma { rate_per_s, .. } => rate_per_s,
            };
            let mean = |p: &[f64]| {
                if p.is_empty() {
                    1.0
                } else {
                    p.iter().sum::<f64>() / p.len() as f64
                }
            };
            let profile = mean(&s.hourly_profile) * mean(&s.daily_profile);
            (rate * profile * h, mean_tokens(&s.output_tokens))
        }
        (None, RequestSource::AzureTrace { .. }) => (0.0, 0.0),
    }
}

fn mean_tokens(d: &TokenDist) -> f64 {
    match *d {
        TokenDist::Constant { value } => value as f64,
        TokenDist::Uniform { min, max } => (min as f64 + max as f64) / 2.0,
        TokenDist::LogNormal { mu, sigma, max } => {
            (mu + sigma * sigma / 2.0).exp().clamp(1.0, max as f64)
        }
    }
}

/// The time of a one-token decode iteration of the deployment, s (the shortest iteration).
fn shortest_iteration_s(loaded: &LoadedScenario, w: &InferenceWorkload) -> f64 {
    let Some(gi) = loaded.catalog.index_of(&w.deployment.gpu_model) else {
        return 1e-3;
    };
    let Ok(perf) = ReplicaPerf::new(
        &w.deployment.model,
        &loaded.catalog.gpus[gi],
        w.deployment.tp,
        &w.efficiency,
        &w.batching,
    ) else {
        return 1e-3;
    };
    let mut shape = BatchShape::default();
    shape.add_decode(1);
    perf.iteration(&shape).total_s.max(1e-9)
}

#[cfg(test)]
mod tests {
    use super::Estimate;

    #[test]
    fn an_estimate_that_is_not_a_number_exceeds_every_budget() {
        let small = Estimate {
            jobs: 10.0,
            ..Estimate::default()
        };
        assert!(!small.exceeds(30) && small.exceeds(29));
        let nan = Estimate {
            requests: f64::NAN,
            ..Estimate::default()
        };
        assert!(nan.exceeds(u64::MAX));
    }
}
