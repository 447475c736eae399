//! Where requests come from during a run: a trace in arrival order, or a synthetic generator drawing the next
//! request when the previous one arrives (constant memory however long the horizon).

use rand::RngExt;
use rand_distr::{Distribution, Exp1, Gamma, LogNormal};
use sim::{RngStreams, SimRng, SimTime};

use super::config::{ArrivalProcess, SyntheticRequests, TokenDist};
use super::request::LlmRequest;

/// Random stream names (docs/models.md §Randomness).
pub const STREAM_ARRIVALS: &str = "requests.arrivals";
pub const STREAM_PROMPT: &str = "requests.prompt";
pub const STREAM_OUTPUT: &str = "requests.output";

/// Draws token counts.
#[derive(Debug, Clone, Copy)]
enum TokenSampler {
    Constant(u32),
    Uniform(u32, u32),
    LogNormal(LogNormal<f64>, u32),
}

impl TokenSampler {
    fn new(d: &TokenDist) -> Self {
        match *d {
            TokenDist::Constant { value } => TokenSampler::Constant(value),
            TokenDist::Uniform { min, max } => TokenSampler::Uniform(min, max),
            TokenDist::LogNormal { mu, sigma, max } => {
                TokenSampler::LogNormal(LogNormal::new(mu, sigma).expect("checked"), max)
            }
        }
    }

    fn sample(&self, rng: &mut SimRng) -> u32 {
        match *self {
            TokenSampler::Constant(v) => v,
            TokenSampler::Uniform(a, b) => rng.random_range(a..=b),
            TokenSampler::LogNormal(d, max) => {
                (d.sample(rng).round().clamp(1.0, max as f64)) as u32
            }
        }
    }
}

/// Unit-mean gaps in operational time.
#[derive(Debug, Clone, Copy)]
enum GapSampler {
    Exp,
    Gamma(Gamma<f64>),
}

/// Maps operational time (unit-rate) to simulated seconds through the base rate and the hourly profile.
#[derive(Debug, Clone)]
struct TimeMap {
    rate_per_s: f64,
    /// Hourly multipliers (empty = constant rate).
    profile: Vec<f64>,
    /// Multipliers per day of the week (empty = every day alike).
    daily: Vec<f64>,
    /// Cursor: the hour index and the operational time at its start.
    hour: u64,
    tau_at_hour: f64,
}

impl TimeMap {
    /// Simulated seconds at operational time `tau` (non-decreasing across calls).
    fn secs_at(&mut self, tau: f64) -> f64 {
        if self.profile.is_empty() && self.daily.is_empty() {
            return tau / self.rate_per_s;
        }
        loop {
            let h = if self.profile.is_empty() {
                1.0
            } else {
                self.profile[(self.hour % 24) as usize]
            };
            let m = if self.daily.is_empty() {
                h
            } else {
                h * self.daily[((self.hour / 24) % 7) as usize]
            };
            let per_hour = self.rate_per_s * m * 3600.0;
            if per_hour > 0.0 && tau < self.tau_at_hour + per_hour {
                return self.hour as f64 * 3600.0
                    + (tau - self.tau_at_hour) / (self.rate_per_s * m);
            }
            self.tau_at_hour += per_hour;
            self.hour += 1;
        }
    }
}

/// A synthetic request stream.
#[derive(Debug)]
pub struct SyntheticRequestSource {
    gaps: GapSampler,
    map: TimeMap,
    prompt: TokenSampler,
    output: TokenSampler,
    tau: f64,
    arrivals: SimRng,
    prompts: SimRng,
    outputs: SimRng,
}

impl SyntheticRequestSource {
    /// Parameters must have been checked.
    pub fn new(cfg: &SyntheticRequests, streams: &RngStreams) -> Self {
        let (rate_per_s, gaps) = match cfg.arrivals {
            ArrivalProcess::Poisson { rate_per_s } => (rate_per_s, GapSampler::Exp),
            ArrivalProcess::Gamma { rate_per_s, cv } => {
                let shape = 1.0 / (cv * cv);
                (
                    rate_per_s,
                    GapSampler::Gamma(Gamma::new(shape, 1.0 / shape).expect("checked")),
                )
            }
        };
        SyntheticRequestSource {
            gaps,
            map: TimeMap {
                rate_per_s,
                profile: cfg.hourly_profile.clone(),
                daily: cfg.daily_profile.clone(),
                hour: 0,
                tau_at_hour: 0.0,
            },
            prompt: TokenSampler::new(&cfg.prompt_tokens),
            output: TokenSampler::new(&cfg.output_tokens),
            tau: 0.0,
            arrivals: streams.stream(STREAM_ARRIVALS),
            prompts: streams.stream(STREAM_PROMPT),
            outputs: streams.stream(STREAM_OUTPUT),
        }
    }

    /// The next request (arrival times strictly from the generator, never decreasing).
    pub fn next_request(&mut self) -> LlmRequest {
        let g: f64 = match self.gaps {
            GapSampler::Exp => Exp1.sample(&mut self.arrivals),
            GapSampler::Gamma(d) => d.sample(&mut self.arrivals),
        };
        self.tau += g;
        let secs = self.map.secs_at(self.tau);
        LlmRequest {
            arrival: SimTime::from_secs_f64(secs).unwrap_or(SimTime::MAX),
            prompt_tokens: self.prompt.sample(&mut self.prompts),
            output_tokens: self.output.sample(&mut self.outputs),
        }
    }
}

/// The run's request source.
#[derive(Debug)]
pub enum RequestStream {
    Trace {
        reqs: Vec<LlmRequest>,
        next: usize,
    },
    Synthetic {
        generator: Box<SyntheticRequestSource>,
        peeked: LlmRequest,
    },
}

impl RequestStream {
    /// A synthetic stream (draws its first request now).
    pub fn synthetic(cfg: &SyntheticRequests, streams: &RngStreams) -> Self {
        let mut generator = Box::new(SyntheticRequestSource::new(cfg, streams));
        let peeked = generator.next_request();
        RequestStream::Synthetic { generator, peeked }
    }

    /// The arrival time of the next request.
    pub fn peek_arrival(&self) -> Option<SimTime> {
        match self {
            RequestStream::Trace { reqs, next } => reqs.get(*next).map(|r| r.arrival),
            RequestStream::Synthetic { peeked, .. } => Some(peeked.arrival),
        }
    }

    /// Takes the next request.
    pub fn next_request(&mut self) -> Option<LlmRequest> {
        match self {
            RequestStream::Trace { reqs, next } => {
                let r = reqs.get(*next).copied();
                *next += 1;
                r
            }
            RequestStream::Synthetic { generator, peeked } => {
                let r = *peeked;
                *peeked = generator.next_request();
                Some(r)
            }
        }
    }

    /// Trace requests never submitted (0 for a generator).
    pub fn remaining(&self) -> u64 {
        match self {
            RequestStream::Trace { reqs, next } => reqs.len().saturating_sub(*next) as u64,
            RequestStream::Synthetic { .. } => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hourly_profile_maps_operational_time() {
        let mut profile = vec![1.0; 24];
        profile[1] = 0.0; // no arrivals in hour 1
        profile[2] = 2.0;
        let mut m = TimeMap {
            rate_per_s: 1.0,
            profile,
            daily: vec![],
            hour: 0,
            tau_at_hour: 0.0,
        };
        assert_eq!(m.secs_at(1800.0), 1800.0);
        // Hour 0 holds 3600 units; hour 1 none; hour 2 runs at 2/s.
        assert_eq!(m.secs_at(3600.0 + 100.0), 7200.0 + 50.0);
    }

    #[test]
    fn poisson_rate_is_respected() {
        let cfg = SyntheticRequests {
            arrivals: ArrivalProcess::Poisson { rate_per_s: 4.0 },
            hourly_profile: vec![],
            daily_profile: vec![],
            prompt_tokens: TokenDist::Constant { value: 10 },
            output_tokens: TokenDist::Uniform { min: 1, max: 3 },
        };
        let mut s = SyntheticRequestSource::new(&cfg, &RngStreams::new(3));
        let n = 40_000;
        let mut last = SimTime::ZERO;
        for _ in 0..n {
            let r = s.next_request();
            assert!(r.arrival >= last && (1..=3).contains(&r.output_tokens));
            last = r.arrival;
        }
        let rate = n as f64 / last.as_secs_f64();
        assert!((rate - 4.0).abs() < 0.1, "{rate}");
    }
}
