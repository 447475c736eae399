//! Replicate statistics for sweeps: mean, sample standard deviation and the 95% confidence
//! interval of the mean with Student's t distribution (n − 1 degrees of freedom).
//!
//! Every function sums in the order it is given the values, so the same values in the same order
//! always give the same bits.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Above this many degrees of freedom t(0.975) is taken as the normal quantile: off by (z³ + z)/(4·df) <
/// 2.4e-4 (0.012%), where statrs' inverse incomplete beta loses accuracy (7e-6 at 10⁵) and, for huge df,
/// iterates for minutes.
const NORMAL_ABOVE_DF: u64 = 10_000;

/// The 0.975 quantile of Student's t with `df` degrees of freedom (the multiplier of a two-sided
/// 95% confidence interval), from `statrs`. `df = 0` gives +∞.
pub fn t_975(df: u64) -> f64 {
    if df == 0 {
        return f64::INFINITY;
    }
    if df > NORMAL_ABOVE_DF {
        return Normal::standard().inverse_cdf(0.975);
    }
    StudentsT::new(0.0, 1.0, df as f64)
        .expect("df ≥ 1 is a valid t distribution")
        .inverse_cdf(0.975)
}

/// Summary of a sample of replicates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Number of values.
    pub n: u64,
    /// Arithmetic mean (NaN when `n = 0`).
    pub mean: f64,
    /// Sample standard deviation with the n − 1 divisor (`None` when `n < 2`).
    pub sd: Option<f64>,
    /// Half-width of the two-sided 95% confidence interval of the mean,
    /// `t(0.975, n − 1) · sd / √n` (`None` when `n < 2`).
    pub ci95: Option<f64>,
}

impl Estimate {
    /// Mean, standard deviation and 95% CI half-width of `values`, in the given order.
    pub fn of(values: &[f64]) -> Estimate {
        let n = values.len();
        if n == 0 {
            return Estimate {
                n: 0,
                mean: f64::NAN,
                sd: None,
                ci95: None,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Estimate {
                n: 1,
                mean,
                sd: None,
                ci95: None,
            };
        }
        // Two-pass variance: numerically sound and deterministic.
        let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
        let sd = (ss / (n - 1) as f64).sqrt();
        let ci95 = t_975(n as u64 - 1) * sd / (n as f64).sqrt();
        Estimate {
            n: n as u64,
            mean,
            sd: Some(sd),
            ci95: Some(ci95),
        }
    }

    /// Whether `x` lies in `[mean − ci95, mean + ci95]` (false without an interval).
    pub fn covers(&self, x: f64) -> bool {
        self.ci95.is_some_and(|h| (x - self.mean).abs() <= h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // Reference values: NIST/SEMATECH e-Handbook Table 1.3.6.7.2 (df ≤ 30) and R's qt(0.975, df).
        for (df, want) in [
            (1, 12.706205),
            (7, 2.364624),
            (29, 2.045230),
            (31, 2.039513),
            (40, 2.021075),
            (60, 2.000298),
            (120, 1.979930),
            (1000, 1.962339),
            (10_000, 1.960201),
        ] {
            assert!((t_975(df) - want).abs() < 2e-6, "df {df}: {}", t_975(df));
        }
        assert!((t_975(20_000) - 1.960082).abs() < 2.4e-4);
        assert!((t_975(1 << 40) - 1.959_963_984_540_054).abs() < 1e-6);
        assert!(t_975(0).is_infinite());
        // Decreasing in df.
        for df in 1..200 {
            assert!(t_975(df) > t_975(df + 1), "df {df}");
        }
    }

    #[test]
    fn estimate_of_small_samples() {
        let e = Estimate::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(e.n, 8);
        assert_eq!(e.mean, 5.0);
        let sd = (32.0f64 / 7.0).sqrt();
        assert!((e.sd.unwrap() - sd).abs() < 1e-12);
        assert!((e.ci95.unwrap() - 2.364624 * sd / 8f64.sqrt()).abs() < 1e-6);
        assert!(e.covers(5.0) && !e.covers(100.0));
        let one = Estimate::of(&[3.5]);
        assert_eq!((one.n, one.mean, one.sd, one.ci95), (1, 3.5, None, None));
        assert!(Estimate::of(&[]).mean.is_nan());
        let flat = Estimate::of(&[1.0, 1.0, 1.0]);
        assert_eq!((flat.sd, flat.ci95), (Some(0.0), Some(0.0)));
    }
}
