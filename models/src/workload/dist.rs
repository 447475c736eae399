//! Random variables of synthetic workloads, as serde enums (`Exponential(mean_s: 600.0)`).
//! Sampling uses `rand_distr` with its `std_math` feature pinned, so every build draws the same numbers.

use rand::Rng;
use rand_distr::{Distribution, Exp, Gamma, LogNormal, Uniform, Weibull, weighted::WeightedIndex};
use serde::{Deserialize, Serialize};

use crate::check::FieldError;

/// A distribution of durations in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum DurationDist {
    /// Always `value_s`.
    Constant { value_s: f64 },
    /// Exponential with mean `mean_s` (rate 1/mean).
    Exponential { mean_s: f64 },
    /// exp(N(mu, sigma²)) seconds: `mu`, `sigma` are of ln(seconds). Median e^mu s.
    LogNormal { mu: f64, sigma: f64 },
    /// Uniform on [min_s, max_s).
    Uniform { min_s: f64, max_s: f64 },
    /// Gamma with shape k and scale θ (mean k·θ).
    Gamma { shape: f64, scale_s: f64 },
    /// Weibull with shape k and scale λ.
    Weibull { shape: f64, scale_s: f64 },
}

fn finite_pos(v: f64, name: &str) -> Result<(), FieldError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(FieldError::whole(format!(
            "`{name}` must be a finite number > 0, found {v}"
        )))
    }
}

impl DurationDist {
    /// Checks the parameters; the message names the bad one.
    pub fn check(&self) -> Result<(), FieldError> {
        match *self {
            DurationDist::Constant { value_s } => {
                if value_s.is_finite() && value_s >= 0.0 {
                    Ok(())
                } else {
                    Err(FieldError::whole(format!(
                        "`value_s` must be a finite number ≥ 0, found {value_s}"
                    )))
                }
            }
            DurationDist::Exponential { mean_s } => finite_pos(mean_s, "mean_s"),
            DurationDist::LogNormal { mu, sigma } => {
                if !mu.is_finite() || mu > 40.0 {
                    return Err(FieldError::whole(format!(
                        "`mu` must be a finite number ≤ 40, found {mu}"
                    )));
                }
                if !(sigma.is_finite() && (0.0..=10.0).contains(&sigma)) {
                    return Err(FieldError::whole(format!(
                        "`sigma` must be between 0 and 10, found {sigma}"
                    )));
                }
                Ok(())
            }
            DurationDist::Uniform { min_s, max_s } => {
                if !(min_s.is_finite() && min_s >= 0.0) {
                    return Err(FieldError::whole(format!(
                        "`min_s` must be a finite number ≥ 0, found {min_s}"
                    )));
                }
                if !(max_s.is_finite() && max_s > min_s) {
                    return Err(FieldError::whole(format!(
                        "`max_s` must be finite and > min_s ({min_s}), found {max_s}"
                    )));
                }
                Ok(())
            }
            DurationDist::Gamma { shape, scale_s } | DurationDist::Weibull { shape, scale_s } => {
                finite_pos(shape, "shape")?;
                finite_pos(scale_s, "scale_s")
            }
        }
    }

    /// Mean in seconds (closed form).
    pub fn mean_s(&self) -> f64 {
        match *self {
            DurationDist::Constant { value_s } => value_s,
            DurationDist::Exponential { mean_s } => mean_s,
            DurationDist::LogNormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            DurationDist::Uniform { min_s, max_s } => (min_s + max_s) / 2.0,
            DurationDist::Gamma { shape, scale_s } => shape * scale_s,
            DurationDist::Weibull { shape, scale_s } => scale_s * gamma_fn(1.0 + 1.0 / shape),
        }
    }

    /// Builds a sampler. Call [`check`](Self::check) first: invalid parameters are a bug here.
    pub fn sampler(&self) -> DurationSampler {
        match *self {
            DurationDist::Constant { value_s } => DurationSampler::Constant(value_s),
            DurationDist::Exponential { mean_s } => {
                DurationSampler::Exp(Exp::new(1.0 / mean_s).expect("checked"))
            }
            DurationDist::LogNormal { mu, sigma } => {
                DurationSampler::LogNormal(LogNormal::new(mu, sigma).expect("checked"))
            }
            DurationDist::Uniform { min_s, max_s } => {
                DurationSampler::Uniform(Uniform::new(min_s, max_s).expect("checked"))
            }
            DurationDist::Gamma { shape, scale_s } => {
                DurationSampler::Gamma(Gamma::new(shape, scale_s).expect("checked"))
            }
            DurationDist::Weibull { shape, scale_s } => {
                DurationSampler::Weibull(Weibull::new(scale_s, shape).expect("checked"))
            }
        }
    }
}

/// A ready-to-sample [`DurationDist`].
#[derive(Debug, Clone)]
pub enum DurationSampler {
    Constant(f64),
    Exp(Exp<f64>),
    LogNormal(LogNormal<f64>),
    Uniform(Uniform<f64>),
    Gamma(Gamma<f64>),
    Weibull(Weibull<f64>),
}

impl DurationSampler {
    /// One draw, seconds (≥ 0, finite).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let v = match self {
            DurationSampler::Constant(v) => *v,
            DurationSampler::Exp(d) => d.sample(rng),
            DurationSampler::LogNormal(d) => d.sample(rng),
            DurationSampler::Uniform(d) => d.sample(rng),
            DurationSampler::Gamma(d) => d.sample(rng),
            DurationSampler::Weibull(d) => d.sample(rng),
        };
        if v.is_finite() { v.max(0.0) } else { f64::MAX }
    }
}

/// One entry of a weighted choice.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weighted {
    pub value: u32,
    pub weight: f64,
}

/// A distribution of counts (GPUs per job).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum CountDist {
    Constant {
        value: u32,
    },
    /// `value` with probability weight / Σ weights.
    Choice {
        options: Vec<Weighted>,
    },
}

impl CountDist {
    pub fn check(&self) -> Result<(), FieldError> {
        match self {
            CountDist::Constant { .. } => Ok(()),
            CountDist::Choice { options } => {
                if options.is_empty() {
                    return Err(FieldError::whole("`options` must not be empty"));
                }
                for (i, o) in options.iter().enumerate() {
                    if !(o.weight.is_finite() && o.weight >= 0.0) {
                        return Err(FieldError::whole(format!(
                            "`options[{i}].weight` must be a finite number ≥ 0, found {}",
                            o.weight
                        )));
                    }
                }
                if options.iter().all(|o| o.weight == 0.0) {
                    return Err(FieldError::whole(
                        "at least one weight in `options` must be > 0",
                    ));
                }
                Ok(())
            }
        }
    }

    /// Largest value that can be drawn.
    pub fn max_value(&self) -> u32 {
        match self {
            CountDist::Constant { value } => *value,
            CountDist::Choice { options } => options
                .iter()
                .filter(|o| o.weight > 0.0)
                .map(|o| o.value)
                .max()
                .unwrap_or(0),
        }
    }

    pub fn sampler(&self) -> CountSampler {
        match self {
            CountDist::Constant { value } => CountSampler::Constant(*value),
            CountDist::Choice { options } => CountSampler::Choice {
                values: options.iter().map(|o| o.value).collect(),
                index: WeightedIndex::new(options.iter().map(|o| o.weight)).expect("checked"),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub enum CountSampler {
    Constant(u32),
    Choice {
        values: Vec<u32>,
        index: WeightedIndex<f64>,
    },
}

impl CountSampler {
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        match self {
            CountSampler::Constant(v) => *v,
            CountSampler::Choice { values, index } => values[index.sample(rng)],
        }
    }
}

/// Γ(x) for x > 0 by the Lanczos approximation (g = 7, n = 9; ~1e-15 relative).
pub fn gamma_fn(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma_fn(1.0 - x))
    } else {
        let x = x - 1.0;
        let mut a = C[0];
        let t = x + G + 0.5;
        for (i, c) in C.iter().enumerate().skip(1) {
            a += c / (x + i as f64);
        }
        (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn gamma_function_known_values() {
        assert!((gamma_fn(5.0) - 24.0).abs() < 1e-10);
        assert!((gamma_fn(0.5) - std::f64::consts::PI.sqrt()).abs() < 1e-12);
        assert!((gamma_fn(1.5) - 0.886_226_925_452_758).abs() < 1e-12);
    }

    #[test]
    fn sample_means_match_closed_forms() {
        let dists = [
            DurationDist::Exponential { mean_s: 600.0 },
            DurationDist::LogNormal {
                mu: 5.0,
                sigma: 0.5,
            },
            DurationDist::Uniform {
                min_s: 10.0,
                max_s: 30.0,
            },
            DurationDist::Gamma {
                shape: 2.0,
                scale_s: 50.0,
            },
            DurationDist::Weibull {
                shape: 1.5,
                scale_s: 100.0,
            },
        ];
        for d in dists {
            d.check().unwrap();
            let s = d.sampler();
            let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(7);
            let n = 200_000;
            let mean = (0..n).map(|_| s.sample(&mut rng)).sum::<f64>() / n as f64;
            let rel = (mean - d.mean_s()).abs() / d.mean_s();
            assert!(rel < 0.01, "{d:?}: sample mean {mean} vs {}", d.mean_s());
        }
    }

    #[test]
    fn bad_parameters_are_named() {
        assert!(
            DurationDist::Exponential { mean_s: 0.0 }
                .check()
                .unwrap_err()
                .message
                .contains("mean_s")
        );
        assert!(
            DurationDist::Exponential { mean_s: f64::NAN }
                .check()
                .is_err()
        );
        assert!(
            DurationDist::Uniform {
                min_s: 5.0,
                max_s: 1.0
            }
            .check()
            .unwrap_err()
            .message
            .contains("max_s")
        );
        assert!(CountDist::Choice { options: vec![] }.check().is_err());
        let zero = CountDist::Choice {
            options: vec![Weighted {
                value: 1,
                weight: 0.0,
            }],
        };
        assert!(zero.check().is_err());
    }

    #[test]
    fn choice_frequencies() {
        let d = CountDist::Choice {
            options: vec![
                Weighted {
                    value: 1,
                    weight: 3.0,
                },
                Weighted {
                    value: 8,
                    weight: 1.0,
                },
            ],
        };
        let s = d.sampler();
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(1);
        let n = 100_000;
        let ones = (0..n).filter(|_| s.sample(&mut rng) == 1).count();
        assert!((ones as f64 / n as f64 - 0.75).abs() < 0.01);
        assert_eq!(d.max_value(), 8);
    }
}
