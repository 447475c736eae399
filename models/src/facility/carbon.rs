//! Carbon and cost: grid carbon-intensity series with exact integrals, operational and embodied carbon,
//! and electricity tariffs (flat or time-of-use energy price plus a demand charge).
//!
//! Units: intensity gCO2/kWh, power W, time s; `∫ P·CI dt` in W·s·g/kWh is divided by 3.6·10⁶ J/kWh to
//! give grams. Everything is piecewise constant (power between events, intensity between samples), so
//! the integrals are exact sums.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::calendar::{DATETIME, parse_datetime};
use crate::check::{FieldError, in_range, non_negative, positive};

/// Joules per kWh.
pub const J_PER_KWH: f64 = 3.6e6;
/// A Julian year, s (365.25 days): the unit of lifetimes.
pub const YEAR_S: f64 = 365.25 * 86_400.0;

/// Grid carbon intensity as a step series: sample `i` holds from its time to the next sample's. Before
/// the first sample the first value holds, after the last the last value holds (no looping: the real
/// series are not a whole year).
#[derive(Debug, Clone, PartialEq)]
pub struct CarbonSeries {
    /// Sample times, s from the first sample (strictly increasing, `times_s[0] = 0`).
    times_s: Vec<f64>,
    /// Intensity, gCO2/kWh.
    g_per_kwh: Vec<f64>,
    /// `cum[i] = ∫ CI dt` from the first sample to sample `i`, g·s/kWh.
    cum: Vec<f64>,
    /// The first sample's instant, s since 1970-01-01 on the file's clock (`None`: constant).
    start_unix_s: Option<i64>,
    /// Run time 0 is this many seconds after the first sample.
    origin_s: f64,
}

impl CarbonSeries {
    /// A constant intensity.
    pub fn constant(g_per_kwh: f64) -> Self {
        CarbonSeries {
            times_s: vec![0.0],
            g_per_kwh: vec![g_per_kwh],
            cum: vec![0.0],
            start_unix_s: None,
            origin_s: 0.0,
        }
    }

    /// A series from `(time s, gCO2/kWh)` samples with strictly increasing times (at least one).
    pub fn from_samples(samples: &[(f64, f64)]) -> Result<Self, String> {
        let Some(&(t0, _)) = samples.first() else {
            return Err("a carbon-intensity series needs at least one sample".into());
        };
        let mut s = CarbonSeries {
            times_s: Vec::with_capacity(samples.len()),
            g_per_kwh: Vec::with_capacity(samples.len()),
            cum: Vec::with_capacity(samples.len()),
            start_unix_s: None,
            origin_s: 0.0,
        };
        for &(t, v) in samples {
            if !t.is_finite() || !v.is_finite() || v < 0.0 {
                return Err(format!("bad sample ({t} s, {v} g/kWh)"));
            }
            if let Some(&prev) = s.times_s.last()
                && t - t0 <= prev
            {
                return Err(format!("sample times must increase: {t} s"));
            }
            s.push(t - t0, v);
        }
        Ok(s)
    }

    /// An empty series, for a reader to [`push`](Self::push) samples into.
    pub fn empty() -> Self {
        CarbonSeries {
            times_s: Vec::new(),
            g_per_kwh: Vec::new(),
            cum: Vec::new(),
            start_unix_s: None,
            origin_s: 0.0,
        }
    }

    /// The same series with its first sample at `start_unix_s` (s since 1970-01-01 on the file's clock).
    pub fn with_start_unix_s(mut self, start_unix_s: Option<i64>) -> Self {
        self.start_unix_s = start_unix_s;
        self
    }

    /// Appends a sample at `t` s from the first sample (`t` above the last sample's time; unchecked).
    pub fn push(&mut self, t: f64, v: f64) {
        let c = match (self.times_s.last(), self.g_per_kwh.last(), self.cum.last()) {
            (Some(&pt), Some(&pv), Some(&pc)) => pc + (t - pt) * pv,
            _ => 0.0,
        };
        self.times_s.push(t);
        self.g_per_kwh.push(v);
        self.cum.push(c);
    }

    /// Samples in the series.
    pub fn len(&self) -> usize {
        self.times_s.len()
    }
    /// Never true for a built series.
    pub fn is_empty(&self) -> bool {
        self.times_s.is_empty()
    }
    /// Sample values, gCO2/kWh.
    pub fn values(&self) -> &[f64] {
        &self.g_per_kwh
    }
    /// Sample times, s from the first sample.
    pub fn times_s(&self) -> &[f64] {
        &self.times_s
    }
    /// The first sample's instant (s since 1970-01-01, file clock), for a file series.
    pub fn start_unix_s(&self) -> Option<i64> {
        self.start_unix_s
    }
    /// Where run time 0 sits, s after the first sample.
    pub fn origin_s(&self) -> f64 {
        self.origin_s
    }
    /// The same series with run time 0 at `origin_s` seconds after its first sample.
    pub fn with_origin(mut self, origin_s: f64) -> Self {
        self.origin_s = origin_s;
        self
    }

    /// Index of the sample in force at series time `tau` (clamped to the first).
    fn index(&self, tau: f64) -> usize {
        self.times_s
            .partition_point(|&x| x <= tau)
            .saturating_sub(1)
    }

    /// Intensity at run time `t_s`, gCO2/kWh (step-hold). O(log n), no allocation.
    pub fn at(&self, t_s: f64) -> f64 {
        self.g_per_kwh[self.index(self.origin_s + t_s)]
    }

    /// The next run time after `t_s` at which the intensity may change (`+∞` after the last sample).
    pub fn next_change_s(&self, t_s: f64) -> f64 {
        let tau = self.origin_s + t_s;
        let i = self.times_s.partition_point(|&x| x <= tau);
        self.times_s
            .get(i)
            .map_or(f64::INFINITY, |&x| x - self.origin_s)
    }

    /// `F(τ) = ∫ CI dt` from the first sample to series time `tau` (negative before it).
    fn cumulative(&self, tau: f64) -> f64 {
        let i = self.index(tau);
        self.cum[i] + (tau - self.times_s[i]) * self.g_per_kwh[i]
    }

    /// `∫ CI dt` over run times `[t0_s, t1_s]`, g·s/kWh: exact for the step series. O(log n).
    pub fn integral(&self, t0_s: f64, t1_s: f64) -> f64 {
        self.cumulative(self.origin_s + t1_s) - self.cumulative(self.origin_s + t0_s)
    }

    /// CO2 of a constant `power_w` over `[t0_s, t1_s]`, g: `P · ∫ CI dt / 3.6·10⁶`. Call at every power
    /// change with the power that held since the previous one.
    pub fn co2_g(&self, power_w: f64, t0_s: f64, t1_s: f64) -> f64 {
        power_w * self.integral(t0_s, t1_s) / J_PER_KWH
    }

    /// [`Self::co2_g`] for a caller whose intervals move forward: `cursor` (start at 0, keep between calls)
    /// remembers the sample last found, so an interval within one or two samples of the previous one costs no
    /// binary search (a meter calls this at every event of a long run). The same value as `co2_g`.
    pub fn co2_g_from(&self, cursor: &mut usize, power_w: f64, t0_s: f64, t1_s: f64) -> f64 {
        let c0 = self.cumulative_from(cursor, self.origin_s + t0_s);
        let c1 = self.cumulative_from(cursor, self.origin_s + t1_s);
        power_w * (c1 - c0) / J_PER_KWH
    }

    /// [`Self::cumulative`] through [`Self::index_from`].
    fn cumulative_from(&self, cursor: &mut usize, tau: f64) -> f64 {
        let i = self.index_from(cursor, tau);
        self.cum[i] + (tau - self.times_s[i]) * self.g_per_kwh[i]
    }

    /// [`Self::index`], trying the sample at `cursor` and the next one first (then updating `cursor`): the
    /// sample `i` with `times[i] ≤ tau < times[i + 1]` is the one the binary search finds.
    fn index_from(&self, cursor: &mut usize, tau: f64) -> usize {
        let t = &self.times_s;
        let holds =
            |i: usize| t.get(i).is_some_and(|&x| x <= tau) && t.get(i + 1).is_none_or(|&x| x > tau);
        let i = match *cursor {
            c if holds(c) => c,
            c if holds(c + 1) => c + 1,
            _ => self.index(tau),
        };
        *cursor = i;
        i
    }
}

/// Operational CO2, g, of piecewise-constant power: `steps` are `(t_s, power_w)` in non-decreasing time,
/// each power holding until the next step's time, the last until `end_s`:
/// `Σ_k P_k · ∫_{t_k}^{t_{k+1}} CI dt / 3.6·10⁶` — exact.
pub fn operational_co2_g(steps: &[(f64, f64)], end_s: f64, ci: &CarbonSeries) -> f64 {
    let mut g = 0.0;
    for (k, &(t, p)) in steps.iter().enumerate() {
        let next = steps.get(k + 1).map_or(end_s, |s| s.0);
        if next > t {
            g += ci.co2_g(p, t, next);
        }
    }
    g
}

/// The grid carbon signal a scenario uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum CarbonConfig {
    /// A constant intensity, gCO2/kWh (annual averages, Ember 2022/23: France 56, Great Britain 238,
    /// Germany 381, USA 386, world 486 [models.md §4]).
    Constant { g_per_kwh: f64 },
    /// A `Time,Carbon Intensity` CSV (`scenario::readers::read_carbon_csv`); run time 0 at `start`
    /// (`YYYY-MM-DD HH:MM:SS` on the file's clock), default the first row.
    Csv {
        path: PathBuf,
        #[serde(default)]
        start: Option<String>,
    },
}

impl CarbonConfig {
    /// Checks the values; paths `Constant.g_per_kwh`, `Csv.start`.
    pub fn check(&self) -> Result<(), FieldError> {
        match self {
            CarbonConfig::Constant { g_per_kwh } => non_negative("Constant.g_per_kwh", *g_per_kwh),
            CarbonConfig::Csv { start: Some(s), .. } if parse_datetime(s).is_none() => Err(
                FieldError::new("Csv.start", format!("expected {DATETIME}, found `{s}`")),
            ),
            CarbonConfig::Csv { .. } => Ok(()),
        }
    }
}

/// Embodied-carbon parameters. Defaults from the GreenSKU data
/// (`../shared/reference/greensku-carbon/`, Azure Public Dataset, CC-BY 4.0; "Designing Cloud Servers for
/// Lower Carbon", ISCA 2024) and models.md §4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbodiedConfig {
    /// Per server excluding GPUs, kgCO2e. Default 350 (`server.yaml`, Server-1U lump; 2U: 375).
    #[serde(default = "d_server_kg")]
    pub server_kg: f64,
    /// Server (and GPU) lifetime, years. Default 6 (`params.yaml`: 72 months).
    #[serde(default = "d_server_life")]
    pub server_lifetime_years: f64,
    /// Per GPU, kgCO2e. Default 318 (A100; Chien et al., HotCarbon 2023, via models.md §4).
    #[serde(default = "d_gpu_kg")]
    pub gpu_kg: f64,
    /// Per rack, kgCO2e. Default 500 (`rack.yaml`).
    #[serde(default = "d_rack_kg")]
    pub rack_kg: f64,
    /// Rack lifetime, years. Default 15 (`rack.yaml`: 180 months).
    #[serde(default = "d_rack_life")]
    pub rack_lifetime_years: f64,
    /// Building, kgCO2e per W of design power. Default 0.18 (`data_center.yaml`: 9,000 t for a 50 MW
    /// building).
    #[serde(default = "d_building")]
    pub building_kg_per_w: f64,
    /// Building lifetime, years. Default 20 (`data_center.yaml`: 240 months).
    #[serde(default = "d_building_life")]
    pub building_lifetime_years: f64,
}

fn d_server_kg() -> f64 {
    350.0
}
fn d_server_life() -> f64 {
    6.0
}
fn d_gpu_kg() -> f64 {
    318.0
}
fn d_rack_kg() -> f64 {
    500.0
}
fn d_rack_life() -> f64 {
    15.0
}
fn d_building() -> f64 {
    9.0e6 / 50.0e6
}
fn d_building_life() -> f64 {
    20.0
}

impl Default for EmbodiedConfig {
    fn default() -> Self {
        EmbodiedConfig {
            server_kg: d_server_kg(),
            server_lifetime_years: d_server_life(),
            gpu_kg: d_gpu_kg(),
            rack_kg: d_rack_kg(),
            rack_lifetime_years: d_rack_life(),
            building_kg_per_w: d_building(),
            building_lifetime_years: d_building_life(),
        }
    }
}

impl EmbodiedConfig {
    /// Checks the values: masses ≥ 0, lifetimes > 0.
    pub fn check(&self) -> Result<(), FieldError> {
        non_negative("server_kg", self.server_kg)?;
        positive("server_lifetime_years", self.server_lifetime_years)?;
        non_negative("gpu_kg", self.gpu_kg)?;
        non_negative("rack_kg", self.rack_kg)?;
        positive("rack_lifetime_years", self.rack_lifetime_years)?;
        non_negative("building_kg_per_w", self.building_kg_per_w)?;
        positive("building_lifetime_years", self.building_lifetime_years)
    }
}

/// What a site is made of, for embodied carbon.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SiteInventory {
    pub servers: u64,
    pub gpus: u64,
    pub racks: u64,
    /// Design (nameplate) facility power, W — the building's share of the reference 50 MW building.
    pub design_power_w: f64,
}

/// Embodied carbon charged to a run, kgCO2e.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EmbodiedCarbon {
    pub servers_kg: f64,
    pub gpus_kg: f64,
    pub racks_kg: f64,
    pub building_kg: f64,
}

impl EmbodiedCarbon {
    pub fn total_kg(&self) -> f64 {
        self.servers_kg + self.gpus_kg + self.racks_kg + self.building_kg
    }
}

/// Embodied carbon amortised over a run of `duration_s`: `Σ count · kgCO2e · (T / lifetime)`
/// [ACT, Gupta et al. ISCA 2022: `CF = operational + (T/lifetime)·embodied`]. Linear, so it may be called
/// once at the end.
pub fn embodied_kg(site: &SiteInventory, duration_s: f64, cfg: &EmbodiedConfig) -> EmbodiedCarbon {
    let share = |life_years: f64| duration_s.max(0.0) / (life_years * YEAR_S);
    EmbodiedCarbon {
        servers_kg: site.servers as f64 * cfg.server_kg * share(cfg.server_lifetime_years),
        gpus_kg: site.gpus as f64 * cfg.gpu_kg * share(cfg.server_lifetime_years),
        racks_kg: site.racks as f64 * cfg.rack_kg * share(cfg.rack_lifetime_years),
        building_kg: site.design_power_w
            * cfg.building_kg_per_w
            * share(cfg.building_lifetime_years),
    }
}

/// A time-of-use window: `[start_hour, end_hour)` of the local day at `per_kwh`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TouWindow {
    pub start_hour: f64,
    pub end_hour: f64,
    pub per_kwh: f64,
}

/// The energy price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum EnergyPrice {
    /// One price per kWh.
    Flat { per_kwh: f64 },
    /// `windows` (non-overlapping, within 0–24 h) at their prices, `default_per_kwh` outside them.
    TimeOfUse {
        default_per_kwh: f64,
        windows: Vec<TouWindow>,
    },
}

/// An electricity tariff (currency units as given; defaults in US dollars).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TariffConfig {
    /// Default flat 0.08 per kWh [eng: ≈ US industrial average 2023, EIA Electric Power Monthly].
    #[serde(default = "d_energy")]
    pub energy: EnergyPrice,
    /// Demand charge per kW of the billing period's peak. Default 10 [eng: US demand charges span
    /// roughly 5–25 $/kW-month].
    #[serde(default = "d_demand")]
    pub demand_per_kw: f64,
    /// Billing period, days. Default 30 \[eng\].
    #[serde(default = "d_period")]
    pub billing_period_days: f64,
    /// Local clock time at run time 0, hours after midnight (for time-of-use windows). Default 0.
    #[serde(default)]
    pub start_hour: f64,
    /// The currency the prices are in, as `report.html` shows it (an ISO 4217 code such as `USD`, `EUR`,
    /// or any short label). Default `USD`, the currency of the defaults above. Display only: no conversion.
    #[serde(default = "d_currency")]
    pub currency: String,
}

fn d_currency() -> String {
    "USD".to_string()
}

fn d_energy() -> EnergyPrice {
    EnergyPrice::Flat { per_kwh: 0.08 }
}
fn d_demand() -> f64 {
    10.0
}
fn d_period() -> f64 {
    30.0
}

impl Default for TariffConfig {
    fn default() -> Self {
        TariffConfig {
            energy: d_energy(),
            demand_per_kw: d_demand(),
            billing_period_days: d_period(),
            start_hour: 0.0,
            currency: d_currency(),
        }
    }
}

const DAY_S: f64 = 86_400.0;

impl TariffConfig {
    /// Checks the values; paths like `energy.TimeOfUse.windows[1].end_hour`.
    pub fn check(&self) -> Result<(), FieldError> {
        match &self.energy {
            EnergyPrice::Flat { per_kwh } => non_negative("energy.Flat.per_kwh", *per_kwh)?,
            EnergyPrice::TimeOfUse {
                default_per_kwh,
                windows,
            } => {
                non_negative("energy.TimeOfUse.default_per_kwh", *default_per_kwh)?;
                for (i, w) in windows.iter().enumerate() {
                    let p = format!("energy.TimeOfUse.windows[{i}]");
                    non_negative(&format!("{p}.per_kwh"), w.per_kwh)?;
                    if !(0.0..24.0).contains(&w.start_hour) {
                        return Err(FieldError::new(
                            format!("{p}.start_hour"),
                            format!("must be from 0 to 24 (exclusive), found {}", w.start_hour),
                        ));
                    }
                    if !(w.end_hour > w.start_hour && w.end_hour <= 24.0) {
                        return Err(FieldError::new(
                            format!("{p}.end_hour"),
                            format!(
                                "must be after start_hour and at most 24, found {}",
                                w.end_hour
                            ),
                        ));
                    }
                    if let Some(j) = windows[..i]
                        .iter()
                        .position(|o| w.start_hour < o.end_hour && o.start_hour < w.end_hour)
                    {
                        return Err(FieldError::new(p, format!("overlaps window {j}")));
                    }
                }
            }
        }
        non_negative("demand_per_kw", self.demand_per_kw)?;
        in_range(
            "billing_period_days",
            self.billing_period_days,
            1.0,
            366.0,
            "a billing period of a day to a year",
        )?;
        if !(0.0..24.0).contains(&self.start_hour) {
            return Err(FieldError::new(
                "start_hour",
                format!(
                    "must be from 0 to 24 (exclusive), found {}",
                    self.start_hour
                ),
            ));
        }
        let c = self.currency.trim();
        if c.is_empty() || c.chars().count() > 8 || c.chars().any(char::is_control) {
            return Err(FieldError::new(
                "currency",
                format!(
                    "expected a short currency code such as `USD` or `EUR` (1 to 8 characters), found `{}`",
                    self.currency
                ),
            ));
        }
        Ok(())
    }

    /// Seconds into the local day at run time `t_s`.
    fn day_s(&self, t_s: f64) -> f64 {
        (t_s + self.start_hour * 3600.0).rem_euclid(DAY_S)
    }

    /// Energy price per kWh at run time `t_s`.
    pub fn price_at(&self, t_s: f64) -> f64 {
        match &self.energy {
            EnergyPrice::Flat { per_kwh } => *per_kwh,
            EnergyPrice::TimeOfUse {
                default_per_kwh,
                windows,
            } => {
                let h = self.day_s(t_s) / 3600.0;
                windows
                    .iter()
                    .find(|w| (w.start_hour..w.end_hour).contains(&h))
                    .map_or(*default_per_kwh, |w| w.per_kwh)
            }
        }
    }

    /// The next run time after `t_s` at which the price may change (`+∞` for a flat price).
    pub fn next_price_change_s(&self, t_s: f64) -> f64 {
        let EnergyPrice::TimeOfUse { windows, .. } = &self.energy else {
            return f64::INFINITY;
        };
        let d = self.day_s(t_s);
        let day_start = t_s - d;
        let mut next = day_start + DAY_S; // midnight
        for w in windows {
            for edge in [w.start_hour * 3600.0, w.end_hour * 3600.0] {
                if edge > d {
                    next = next.min(day_start + edge);
                }
            }
        }
        // `+ DAY_S` and float error can land exactly on t_s: always move forward.
        if next > t_s { next } else { t_s + DAY_S }
    }

    /// Energy cost of constant `power_w` over `[t0_s, t1_s]`: `Σ price · P·Δt / 3.6·10⁶`, split at price
    /// changes (exact). No allocation; O(number of price changes in the interval).
    pub fn energy_cost(&self, power_w: f64, t0_s: f64, t1_s: f64) -> f64 {
        let mut cost = 0.0;
        let mut t = t0_s;
        while t < t1_s {
            let next = self.next_price_change_s(t).min(t1_s);
            cost += self.price_at(t) * power_w * (next - t) / J_PER_KWH;
            t = next;
        }
        cost
    }
}

/// Accumulates a tariff's cost over a run: call [`TariffMeter::add`] at every power change with the power
/// that held since the previous one. The demand charge is `demand_per_kw × peak kW` of each billing
/// period the run touches (a partly covered last period is charged in full, as a bill would be); the peak
/// is of the piecewise-constant power, not of 15-minute averages.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TariffMeter {
    energy: f64,
    closed_demand: f64,
    period: Option<u64>,
    period_peak_w: f64,
}

/// A run's electricity cost.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TariffCost {
    pub energy: f64,
    pub demand: f64,
}

impl TariffCost {
    pub fn total(&self) -> f64 {
        self.energy + self.demand
    }
}

impl TariffMeter {
    /// Adds constant `power_w` over `[t0_s, t1_s]` (run times ≥ 0, in order). No allocation.
    pub fn add(&mut self, cfg: &TariffConfig, power_w: f64, t0_s: f64, t1_s: f64) {
        if t1_s <= t0_s {
            return;
        }
        self.energy += cfg.energy_cost(power_w, t0_s, t1_s);
        let len = cfg.billing_period_days * DAY_S;
        let first = (t0_s.max(0.0) / len) as u64;
        // The last period the interval reaches into (an end exactly on a boundary stays in the earlier).
        let last = ((t1_s / len).ceil() as u64).saturating_sub(1).max(first);
        for p in first..=last {
            self.peak(cfg, p, power_w);
        }
    }

    fn peak(&mut self, cfg: &TariffConfig, period: u64, power_w: f64) {
        match self.period {
            Some(cur) if cur == period => {}
            Some(_) => {
                self.closed_demand += cfg.demand_per_kw * self.period_peak_w / 1000.0;
                self.period_peak_w = 0.0;
            }
            None => {}
        }
        self.period = Some(period);
        self.period_peak_w = self.period_peak_w.max(power_w);
    }

    /// The cost so far, counting the open billing period's peak.
    pub fn cost(&self, cfg: &TariffConfig) -> TariffCost {
        TariffCost {
            energy: self.energy,
            demand: self.closed_demand + cfg.demand_per_kw * self.period_peak_w / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_series_integral() {
        // 100 g/kWh for 1800 s, then 200 g/kWh.
        let s = CarbonSeries::from_samples(&[(1000.0, 100.0), (2800.0, 200.0)]).unwrap();
        assert_eq!(s.at(0.0), 100.0);
        assert_eq!(s.at(1799.0), 100.0);
        assert_eq!(s.at(1800.0), 200.0);
        assert_eq!(s.at(-5.0), 100.0);
        assert_eq!(s.at(1e9), 200.0);
        assert_eq!(s.next_change_s(0.0), 1800.0);
        assert_eq!(s.next_change_s(1800.0), f64::INFINITY);
        assert_eq!(s.integral(0.0, 3600.0), 100.0 * 1800.0 + 200.0 * 1800.0);
        assert_eq!(s.integral(900.0, 2700.0), 100.0 * 900.0 + 200.0 * 900.0);
        // 1 kW for an hour across the step: (0.5 kWh·100 + 0.5 kWh·200) g = 150 g.
        assert_eq!(s.co2_g(1000.0, 0.0, 3600.0), 150.0);
        let shifted = s.clone().with_origin(1800.0);
        assert_eq!(shifted.at(0.0), 200.0);
    }

    #[test]
    fn co2_with_a_cursor_equals_the_binary_search() {
        let samples: Vec<(f64, f64)> = (0..50)
            .map(|k| (k as f64 * 900.0, 50.0 + (k * 37 % 11) as f64 * 13.7))
            .collect();
        let s = CarbonSeries::from_samples(&samples)
            .unwrap()
            .with_origin(450.0);
        let mut cursor = 0;
        // Forward steps within a sample, across several, before the first and past the last; then backwards.
        let times: [f64; 11] = [
            -900.0, -1.0, 0.0, 10.0, 899.5, 900.0, 5000.0, 5001.0, 44_000.0, 1e6, 3.0,
        ];
        for w in times.windows(2) {
            let (t0, t1) = (w[0].min(w[1]), w[0].max(w[1]));
            assert_eq!(
                s.co2_g_from(&mut cursor, 700.0, t0, t1),
                s.co2_g(700.0, t0, t1)
            );
        }
    }

    #[test]
    fn tou_price_and_cost() {
        let cfg = TariffConfig {
            energy: EnergyPrice::TimeOfUse {
                default_per_kwh: 0.10,
                windows: vec![TouWindow {
                    start_hour: 16.0,
                    end_hour: 21.0,
                    per_kwh: 0.30,
                }],
            },
            ..TariffConfig::default()
        };
        cfg.check().unwrap();
        assert_eq!(cfg.price_at(15.9 * 3600.0), 0.10);
        assert_eq!(cfg.price_at(16.0 * 3600.0), 0.30);
        assert_eq!(cfg.price_at(21.0 * 3600.0), 0.10);
        assert_eq!(cfg.next_price_change_s(0.0), 16.0 * 3600.0);
        assert_eq!(cfg.next_price_change_s(16.0 * 3600.0), 21.0 * 3600.0);
        assert_eq!(cfg.next_price_change_s(22.0 * 3600.0), DAY_S);
        // 1 MW for a day: 19 h × 1000 kWh × 0.10 + 5 h × 1000 kWh × 0.30 = 1900 + 1500.
        let c = cfg.energy_cost(1e6, 0.0, DAY_S);
        assert!((c - 3400.0).abs() < 1e-9, "{c}");
    }
}
