//! The monthly table of a long run: per calendar month (30-day period without a calendar), IT and facility
//! energy, PUE, peak facility power, operational carbon and the tariff's energy charge, from the samples of
//! `timeseries.csv`.
//!
//! Energy comes from the samples' exact cumulative energies (`it_energy_j`, `facility_energy_j`): a
//! month's energy is the difference of the cumulative values at its ends, interpolated linearly inside the
//! sample interval that straddles a month boundary (exact when a boundary falls on a sample, as it does for
//! whole-hour sample intervals). Carbon and cost weight each interval's facility energy by the carbon
//! intensity sampled at the interval's start and the energy price at its start; they agree with the run's
//! exact totals to the extent that intensity and price hold over a sample interval. Runs without a facility
//! integrate `it_power_w` (held from each sample to the next). Water is not in `timeseries.csv`, so it is not
//! broken down by month.

use output::Sample;

use crate::calendar::{Calendar, periods};

/// One month of the table (SI units; the page formats them).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // the fields are described in the type's documentation
pub struct Month {
    /// "Jan", "Jan 2013" or "days 1–30".
    pub label: String,
    pub start_s: f64,
    pub end_s: f64,
    pub it_j: f64,
    /// Facility energy (runs with a facility).
    pub facility_j: Option<f64>,
    /// Peak sampled facility power (IT power without a facility), W.
    pub peak_w: f64,
    /// Operational carbon, kg (runs with a carbon series).
    pub co2_kg: Option<f64>,
    /// Energy charge in the tariff's currency (when a price is given).
    pub energy_cost: Option<f64>,
    /// Mean outdoor dry bulb over the month's samples, °C.
    pub dry_bulb_mean_c: Option<f64>,
}

impl Month {
    /// Facility energy ÷ IT energy over the month.
    pub fn pue(&self) -> Option<f64> {
        self.facility_j
            .filter(|_| self.it_j > 0.0)
            .map(|f| f / self.it_j)
    }
}

/// Runs at least this long get a monthly table.
pub const MONTHLY_FROM_S: f64 = 60.0 * 86_400.0;

/// The months of a run sampled by `samples` (none for fewer than two samples). `price` is the energy price
/// per kWh at a run second.
pub fn monthly(
    samples: &[Sample],
    cal: Option<&Calendar>,
    price: Option<&dyn Fn(f64) -> f64>,
) -> Vec<Month> {
    let s: Vec<&Sample> = samples.iter().filter(|s| s.time_s.is_finite()).collect();
    if s.len() < 2 {
        return Vec::new();
    }
    let (t0, t1) = (s[0].time_s, s[s.len() - 1].time_s);
    let facility = s.iter().all(|x| x.facility.is_some());
    let mut months: Vec<Month> = periods(cal, t0, t1)
        .into_iter()
        .map(|(label, a, b)| Month {
            label,
            start_s: a,
            end_s: b,
            it_j: 0.0,
            facility_j: facility.then_some(0.0),
            peak_w: 0.0,
            co2_kg: None,
            energy_cost: None,
            dry_bulb_mean_c: None,
        })
        .collect();
    let mut dry = vec![(0.0, 0usize); months.len()];
    let mut m = 0;
    for w in s.windows(2) {
        let (a, b) = (w[0], w[1]);
        let dt = b.time_s - a.time_s;
        if dt <= 0.0 {
            continue;
        }
        let (d_it, d_fac, intensity) = match (&a.facility, &b.facility) {
            (Some(fa), Some(fb)) if facility => (
                fb.it_energy_j - fa.it_energy_j,
                Some(fb.facility_energy_j - fa.facility_energy_j),
                fa.carbon_intensity_g_per_kwh,
            ),
            _ => (a.it_power_w * dt, None, None),
        };
        // Split the interval over the months it overlaps, in proportion to time.
        let mut lo = a.time_s;
        while lo < b.time_s && m < months.len() {
            let hi = b.time_s.min(months[m].end_s);
            let share = (hi - lo) / dt;
            let month = &mut months[m];
            month.it_j += d_it * share;
            if let (Some(acc), Some(d)) = (month.facility_j.as_mut(), d_fac) {
                *acc += d * share;
            }
            let kwh = d_fac.unwrap_or(d_it) * share / 3.6e6;
            if let Some(g) = intensity {
                *month.co2_kg.get_or_insert(0.0) += kwh * g / 1000.0;
            }
            if let Some(p) = price {
                *month.energy_cost.get_or_insert(0.0) += kwh * p(lo);
            }
            if hi >= months[m].end_s && m + 1 < months.len() {
                m += 1;
            }
            if hi <= lo {
                break;
            }
            lo = hi;
        }
    }
    // Peaks and mean dry bulb from the samples inside each month.
    let mut k = 0;
    for x in &s {
        while k + 1 < months.len() && x.time_s >= months[k].end_s {
            k += 1;
        }
        let p = x
            .facility
            .as_ref()
            .map_or(x.it_power_w, |f| f.facility_power_w);
        if p.is_finite() {
            months[k].peak_w = months[k].peak_w.max(p);
        }
        if let Some(f) = &x.facility
            && f.outdoor_dry_bulb_c.is_finite()
        {
            dry[k].0 += f.outdoor_dry_bulb_c;
            dry[k].1 += 1;
        }
    }
    for (month, (sum, n)) in months.iter_mut().zip(dry) {
        if n > 0 {
            month.dry_bulb_mean_c = Some(sum / n as f64);
        }
    }
    months
}

#[cfg(test)]
mod tests {
    use super::*;
    use output::FacilitySample;

    fn sample(t: f64, it_w: f64, pue: f64) -> Sample {
        Sample {
            time_s: t,
            it_power_w: it_w,
            busy_gpus: 0.0,
            running_jobs: 0,
            queued_jobs: 0,
            failures: None,
            facility: Some(FacilitySample {
                facility_power_w: it_w * pue,
                it_power_w: it_w,
                power_chain_loss_w: 0.0,
                cooling_power_w: 0.0,
                chiller_w: 0.0,
                tower_fans_w: 0.0,
                pumps_w: 0.0,
                crah_fans_w: 0.0,
                dry_coolers_w: 0.0,
                misc_w: 0.0,
                pue_interval: pue,
                outdoor_dry_bulb_c: 10.0,
                outdoor_wet_bulb_c: 8.0,
                inlet_c: 25.0,
                carbon_intensity_g_per_kwh: Some(100.0),
                it_energy_j: it_w * t,
                facility_energy_j: it_w * pue * t,
            }),
            serving: None,
        }
    }

    #[test]
    fn months_split_the_cumulative_energy_exactly() {
        // 1 MW IT at PUE 1.25 for 90 days, hourly samples, from 1 January.
        let samples: Vec<Sample> = (0..=90 * 24)
            .map(|h| sample(h as f64 * 3600.0, 1e6, 1.25))
            .collect();
        let cal = Calendar::typical_year(0.0);
        let price = |_t: f64| 0.1;
        let months = monthly(&samples, Some(&cal), Some(&price));
        let labels: Vec<&str> = months.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["Jan", "Feb", "Mar"]);
        let jan = &months[0];
        assert!((jan.it_j - 1e6 * 31.0 * 86_400.0).abs() < 1.0);
        assert!((jan.pue().unwrap() - 1.25).abs() < 1e-12);
        // 31 days × 24 h × 1.25 MW = 930 MWh at 100 g/kWh = 93 t, at 0.1/kWh = 93,000.
        assert!((jan.co2_kg.unwrap() - 93_000.0).abs() < 1e-3);
        assert!((jan.energy_cost.unwrap() - 93_000.0).abs() < 1e-3);
        assert_eq!(jan.peak_w, 1.25e6);
        assert_eq!(months[1].end_s - months[1].start_s, 28.0 * 86_400.0);
        let total: f64 = months.iter().map(|m| m.it_j).sum();
        assert!((total - 1e6 * 90.0 * 86_400.0).abs() < 1.0);
        // A boundary inside a sample interval: split in proportion to time.
        let coarse: Vec<Sample> = (0..=10)
            .map(|d| sample(d as f64 * 7.0 * 86_400.0, 1e6, 1.0))
            .collect();
        let m = monthly(&coarse, Some(&cal), None);
        assert!((m[0].it_j - 1e6 * 31.0 * 86_400.0).abs() < 1.0);
        assert!(m[0].energy_cost.is_none());
    }
}
