//! Replicate statistics for sweeps: mean, sample standard deviation and the 95% confidence
//! interval of the mean with Student's t distribution (n − 1 degrees of freedom).
//!
//! Every function sums in the order it is given the values, so the same values in the same order
//! always give the same bits.

/// Two-sided 95% critical values of Student's t, `t(0.975, df)` for df = 1…30 (standard tables,
/// e.g. NIST/SEMATECH e-Handbook Table 1.3.6.7.2, rounded to 6 decimals).
const T975: [f64; 30] = [
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157,
    2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
    2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831,
    2.048407, 2.045230, 2.042272,
];

/// `z(0.975)`, the standard normal quantile the t quantile tends to as df → ∞.
const Z975: f64 = 1.959_963_984_540_054;

/// The 0.975 quantile of Student's t with `df` degrees of freedom (the multiplier of a two-sided
/// 95% confidence interval). Exact table values for df ≤ 30; above that the Cornish–Fisher
/// expansion in 1/df to the fourth order (error < 1e-6 for df > 30). `df = 0` gives +∞.
pub fn t_975(df: u64) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T975[(df - 1) as usize],
        _ => {
            let z = Z975;
            let n = df as f64;
            let (z2, z3) = (z * z, z * z * z);
            let z5 = z3 * z2;
            let z7 = z5 * z2;
            let z9 = z7 * z2;
            z + (z3 + z) / (4.0 * n)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * n * n)
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * n * n * n)
                + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z)
                    / (92160.0 * n * n * n * n)
        }
    }
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
        assert_eq!(t_975(1), 12.706205);
        assert_eq!(t_975(29), 2.045230);
        // Beyond the table: reference values from R's qt(0.975, df).
        for (df, want) in [
            (31, 2.039513),
            (40, 2.021075),
            (60, 2.000298),
            (120, 1.979930),
            (1000, 1.962339),
        ] {
            assert!((t_975(df) - want).abs() < 2e-6, "df {df}: {}", t_975(df));
        }
        assert!((t_975(u64::MAX) - Z975).abs() < 1e-12);
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
        assert!((e.ci95.unwrap() - 2.364624 * sd / 8f64.sqrt()).abs() < 1e-12);
        assert!(e.covers(5.0) && !e.covers(100.0));
        let one = Estimate::of(&[3.5]);
        assert_eq!((one.n, one.mean, one.sd, one.ci95), (1, 3.5, None, None));
        assert!(Estimate::of(&[]).mean.is_nan());
        let flat = Estimate::of(&[1.0, 1.0, 1.0]);
        assert_eq!((flat.sd, flat.ci95), (Some(0.0), Some(0.0)));
    }
}
