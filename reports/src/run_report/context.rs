//! What every part of a run's page shares: the [`RunContext`] built from the scenario, and small helpers
//! (units, which sections apply).

use output::{FacilitySample, Sample, Summary};

use crate::calendar::Calendar;
use crate::human::sig;
use crate::svg::RackCell;

/// The currency shown when the scenario names none (the tariff defaults are US figures).
pub const DEFAULT_CURRENCY: &str = "USD";

/// At most this many points per line before a chart shows bucket means with a min–max envelope.
pub(super) const MAX_LINE_POINTS: usize = 1500;

/// A per-rack figure for the site diagram: its name ("peak power") and how its SI value reads.
pub type RackValue = (&'static str, fn(f64) -> String);

/// One layer of the stacked facility power: its name and its power in a sample, W.
pub(super) type Layer = (&'static str, fn(&FacilitySample) -> f64);

/// What a run's page needs beyond its outputs.
pub struct RunContext<'a> {
    /// The tariff's currency (`facility.tariff.currency`).
    pub currency: String,
    /// The calendar instant of run time 0 (from the weather), if any.
    pub calendar: Option<Calendar>,
    /// The racks of the site (empty: no site diagram). Their `value` is a per-rack figure to shade by.
    pub racks: Vec<RackCell>,
    /// What the racks' values are ("peak power"), formatted from SI by `rack_value_format`. The outputs
    /// carry no per-rack figure yet (the hook for `racks.csv`): `None` shades the racks by GPUs installed.
    pub rack_value: Option<RackValue>,
    /// The energy price per kWh at a run second (the tariff), for the monthly table's energy charge.
    pub energy_price: Option<Box<dyn Fn(f64) -> f64 + 'a>>,
}

impl Default for RunContext<'_> {
    fn default() -> Self {
        RunContext {
            currency: DEFAULT_CURRENCY.to_string(),
            calendar: None,
            racks: Vec::new(),
            rack_value: None,
            energy_price: None,
        }
    }
}

/// Unit for a power axis whose largest value is `peak_w`: (divisor, name).
pub(super) fn power_unit(peak_w: f64) -> (f64, &'static str) {
    if peak_w >= 2e6 {
        (1e6, "MW")
    } else if peak_w >= 2e3 {
        (1e3, "kW")
    } else {
        (1.0, "W")
    }
}

/// The simulated period: `"1 Jan – 31 Dec · 365 days"` with a calendar, the length alone without.
pub(super) fn period(cal: Option<&Calendar>, horizon_s: f64) -> String {
    let length = if horizon_s >= 2.0 * 86_400.0 {
        format!("{} days", sig(horizon_s / 86_400.0, 3))
    } else {
        format!("{} hours", sig(horizon_s / 3600.0, 3))
    };
    match cal {
        Some(c) if horizon_s >= 86_400.0 => format!(
            "{} – {} · {length}",
            c.date_label(0.0),
            c.date_label((horizon_s - 1.0).max(0.0))
        ),
        Some(c) => format!("{} · {length}", c.date_label(0.0)),
        None => length,
    }
}

/// Whether the run had a grid carbon series (operational carbon is then a figure).
pub(super) fn has_carbon(samples: &[Sample]) -> bool {
    samples.iter().any(|s| {
        s.facility
            .as_ref()
            .is_some_and(|f| f.carbon_intensity_g_per_kwh.is_some())
    })
}

/// Whether the run ran batch jobs (a pure inference run has none).
pub(super) fn has_jobs(s: &Summary) -> bool {
    s.jobs.submitted > 0 || s.inference.is_none()
}

/// `s` with its first letter upper-case.
pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
