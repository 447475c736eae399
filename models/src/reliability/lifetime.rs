//! Lifetime and repair-time distributions of a component class, in hours at the edge and seconds inside.

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Weibull};
use serde::{Deserialize, Serialize};

use crate::check::{FieldError, in_range};

/// Hours in a (Julian) year, for annualized failure rates.
pub const HOURS_PER_YEAR: f64 = 8766.0;
/// Shortest and longest mean time between failures of one unit, h.
pub const MIN_MTBF_H: f64 = 1e-3;
pub const MAX_MTBF_H: f64 = 1e9;
/// Longest repair, h.
pub const MAX_REPAIR_H: f64 = 1e6;

/// Longest duration a draw is allowed to return, s (draws beyond are clamped: it never comes within a run).
const MAX_DRAW_S: f64 = 1e15;

/// Time to failure of one unit, from new (or from its last repair: a repaired unit is as good as new).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Lifetime {
    /// Exponential lifetimes (constant hazard) with mean `mtbf_h` hours.
    Exponential { mtbf_h: f64 },
    /// Exponential lifetimes given as an annualized failure rate: the fraction of units that fail within a
    /// year, `AFR = 1 − e^(−λ·8766 h)`, so `λ = −ln(1 − AFR) / 8766 h`.
    Afr { afr: f64 },
    /// Weibull lifetimes with shape `k` and mean `mtbf_h` hours (scale `η = mtbf / Γ(1 + 1/k)`); `k < 1`:
    /// infant mortality, `k > 1`: wear-out, `k = 1`: exponential.
    Weibull { shape: f64, mtbf_h: f64 },
}

impl Lifetime {
    /// Mean time between failures of one unit, h.
    pub fn mtbf_h(&self) -> f64 {
        match *self {
            Lifetime::Exponential { mtbf_h } | Lifetime::Weibull { mtbf_h, .. } => mtbf_h,
            Lifetime::Afr { afr } => HOURS_PER_YEAR / -(1.0 - afr).ln(),
        }
    }

    /// Whether the hazard is constant (the failures of many units then superpose into one Poisson process).
    pub fn is_memoryless(&self) -> bool {
        match *self {
            Lifetime::Exponential { .. } | Lifetime::Afr { .. } => true,
            Lifetime::Weibull { shape, .. } => shape == 1.0,
        }
    }

    /// One lifetime, s (`scale` multiplies the failure rate: lifetimes are divided by it; `scale > 0`).
    pub fn sample_s<R: Rng + ?Sized>(&self, rng: &mut R, scale: f64) -> f64 {
        let mtbf_s = self.mtbf_h() * 3600.0 / scale;
        let x = match *self {
            Lifetime::Weibull { shape, .. } if shape != 1.0 => {
                let eta = mtbf_s / libm::tgamma(1.0 + 1.0 / shape);
                Weibull::new(eta, shape).expect("checked shape").sample(rng)
            }
            _ => Exp::new(1.0 / mtbf_s).expect("checked mtbf").sample(rng),
        };
        x.min(MAX_DRAW_S)
    }

    pub fn check(&self) -> Result<(), FieldError> {
        let why = "a unit's mean time between failures, 3.6 s to 1e9 h";
        match *self {
            Lifetime::Exponential { mtbf_h } => {
                in_range("mtbf_h", mtbf_h, MIN_MTBF_H, MAX_MTBF_H, why)
            }
            Lifetime::Afr { afr } => {
                in_range(
                    "afr",
                    afr,
                    1e-9,
                    0.999,
                    "a fraction of units failing per year",
                )?;
                in_range("afr", self.mtbf_h(), MIN_MTBF_H, MAX_MTBF_H, why)
            }
            Lifetime::Weibull { shape, mtbf_h } => {
                in_range("shape", shape, 0.1, 10.0, "field data show 0.3–5")?;
                in_range("mtbf_h", mtbf_h, MIN_MTBF_H, MAX_MTBF_H, why)
            }
        }
    }
}

/// Time to repair a failed unit once a crew works on it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum RepairTime {
    /// Always `hours`.
    Fixed { hours: f64 },
    /// Exponential with mean `mean_h`.
    Exponential { mean_h: f64 },
    /// Log-normal with median `median_h` and log standard deviation `sigma` (mean `median · e^(σ²/2)`).
    LogNormal { median_h: f64, sigma: f64 },
}

impl RepairTime {
    /// Mean repair time, h.
    pub fn mean_h(&self) -> f64 {
        match *self {
            RepairTime::Fixed { hours } => hours,
            RepairTime::Exponential { mean_h } => mean_h,
            RepairTime::LogNormal { median_h, sigma } => median_h * (sigma * sigma / 2.0).exp(),
        }
    }

    /// One repair time, s.
    pub fn sample_s<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let h = match *self {
            RepairTime::Fixed { hours } => hours,
            RepairTime::Exponential { mean_h } => {
                Exp::new(1.0 / mean_h).expect("checked mean").sample(rng)
            }
            RepairTime::LogNormal { median_h, sigma } => LogNormal::new(median_h.ln(), sigma)
                .expect("checked median")
                .sample(rng),
        };
        (h * 3600.0).min(MAX_DRAW_S)
    }

    pub fn check(&self) -> Result<(), FieldError> {
        let why = "a repair of up to 1e6 h";
        match *self {
            RepairTime::Fixed { hours } => in_range("hours", hours, 0.0, MAX_REPAIR_H, why),
            RepairTime::Exponential { mean_h } => {
                in_range("mean_h", mean_h, 1e-6, MAX_REPAIR_H, why)
            }
            RepairTime::LogNormal { median_h, sigma } => {
                in_range("median_h", median_h, 1e-6, MAX_REPAIR_H, why)?;
                in_range("sigma", sigma, 0.0, 3.0, "field repair times show 0.5–2")
            }
        }
    }
}
