//! Long-horizon serving (docs/models.md §Long-horizon serving): which windows stand for which hours.
//!
//! A synthetic request stream's rate in hour k of a run is `rate × hourly[k mod 24] × daily[⌊k/24⌋ mod 7]`.
//! Hours with the same rate have the same stationary behaviour, so one iteration-level window per distinct
//! rate stands for all of them (the transitions between hours are not simulated).

use super::config::SyntheticRequests;

/// The windows of `hours` hours of `s`: the distinct rate multipliers, ascending, and for each hour the index
/// of its multiplier.
pub fn rate_windows(s: &SyntheticRequests, hours: u64) -> (Vec<f64>, Vec<u32>) {
    // The profile repeats weekly: at most 168 distinct hours.
    let period = hours.min(168);
    let mut mults: Vec<f64> = (0..period).map(|k| s.multiplier(k)).collect();
    mults.sort_by(f64::total_cmp);
    mults.dedup_by(|a, b| a.to_bits() == b.to_bits());
    let hour_window = (0..hours)
        .map(|k| {
            let m = s.multiplier(k);
            mults
                .binary_search_by(|x| x.total_cmp(&m))
                .expect("every hour's multiplier is listed") as u32
        })
        .collect();
    (mults, hour_window)
}

/// Hours of a horizon of `horizon_s` seconds: whole hours plus a last partial one, at least one.
pub fn hours_of(horizon_s: f64) -> u64 {
    ((horizon_s / 3600.0).ceil() as u64).max(1)
}

/// The share of hour `k` inside a horizon of `horizon_s` seconds (1 but for a last partial hour).
pub fn hour_share(k: u64, horizon_s: f64) -> f64 {
    ((horizon_s - k as f64 * 3600.0) / 3600.0).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::config::{ArrivalProcess, TokenDist};

    fn stream(hourly: Vec<f64>, daily: Vec<f64>) -> SyntheticRequests {
        SyntheticRequests {
            arrivals: ArrivalProcess::Poisson { rate_per_s: 2.0 },
            hourly_profile: hourly,
            daily_profile: daily,
            prompt_tokens: TokenDist::Constant { value: 10 },
            output_tokens: TokenDist::Constant { value: 10 },
        }
    }

    #[test]
    fn one_window_per_distinct_rate() {
        // Constant rate: one window for a year.
        let (m, h) = rate_windows(&stream(vec![], vec![]), 8760);
        assert_eq!(m, vec![1.0]);
        assert_eq!(h.len(), 8760);
        assert!(h.iter().all(|&i| i == 0));
        // Two-level hourly profile and a weekend factor: 2 × 2 rates (0.5·0.5 ≠ 1·0.5 … all distinct here).
        let mut hourly = vec![1.0; 24];
        hourly[3] = 0.5;
        let daily = vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.6, 0.6];
        let (m, h) = rate_windows(&stream(hourly, daily), 24 * 14);
        assert_eq!(m, vec![0.3, 0.5, 0.6, 1.0]);
        assert_eq!(m[h[3] as usize], 0.5);
        assert_eq!(m[h[5 * 24 + 3] as usize], 0.3);
        assert_eq!(m[h[6 * 24 + 4] as usize], 0.6);
        assert_eq!(m[h[7 * 24 + 4] as usize], 1.0);
    }

    #[test]
    fn partial_last_hour() {
        assert_eq!(hours_of(5400.0), 2);
        assert_eq!(hours_of(3600.0), 1);
        assert_eq!(hours_of(1.0), 1);
        assert_eq!(hour_share(0, 5400.0), 1.0);
        assert_eq!(hour_share(1, 5400.0), 0.5);
    }
}
