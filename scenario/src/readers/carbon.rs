//! Carbon-intensity file reader (`Time,Carbon Intensity` CSV) and the series a scenario's carbon config
//! names.

use std::path::Path;

use models::facility::calendar::{DATETIME, parse_datetime};
use models::facility::carbon::{CarbonConfig, CarbonSeries};

use super::text::{Lines, found, header_columns, read_text, split_into, width_error};
use crate::error::{InputError, Location};

/// Reads the series `cfg` names; relative paths from `base` (the scenario's directory). A `start` outside
/// the file's span is an error naming the file.
pub fn load_carbon(cfg: &CarbonConfig, base: &Path) -> Result<CarbonSeries, InputError> {
    match cfg {
        CarbonConfig::Constant { g_per_kwh } => Ok(CarbonSeries::constant(*g_per_kwh)),
        CarbonConfig::Csv { path, start } => {
            let full = base.join(path);
            let s = read_carbon_csv(&full)?;
            let Some(start) = start else { return Ok(s) };
            let Some(t) = parse_datetime(start) else {
                return Err(InputError::file(
                    &full,
                    format!("the start `{start}` is not {DATETIME}"),
                ));
            };
            let first = s.start_unix_s().unwrap_or(0);
            let origin = (t - first) as f64;
            let last = s.times_s().last().copied().unwrap_or(0.0);
            if !(0.0..=last).contains(&origin) {
                return Err(InputError::new(
                    &full,
                    Location::File,
                    format!("the start `{start}` is outside the series"),
                ));
            }
            Ok(s.with_origin(origin))
        }
    }
}
/// Reads a carbon-intensity CSV `Time,Carbon Intensity` (`YYYY-MM-DD HH:MM:SS`, gCO2/kWh), as in
/// `../shared/carbon/entsoe-2020-*.csv` ("Let's Wait Awhile", Wiesner et al., Middleware 2021). Steps may
/// vary (the GB and German files mix 15- and 30-minute steps); times must strictly increase and are
/// taken as written, without a zone. Values must be finite and ≥ 0.
pub fn read_carbon_csv(path: &Path) -> Result<CarbonSeries, InputError> {
    parse_carbon_csv(&read_text(path, "carbon-intensity CSV")?, path)
}

/// [`read_carbon_csv`] of text in memory; `path` names it in errors.
pub fn parse_carbon_csv(text: &str, path: &Path) -> Result<CarbonSeries, InputError> {
    const WHAT: &str = "carbon-intensity CSV";
    let mut lines = Lines::new(text);
    let ([c_t, c_v], width) = header_columns(path, &mut lines, ["Time", "Carbon Intensity"], WHAT)?;
    let mut f = Vec::new();
    let mut s = CarbonSeries::empty();
    let mut start_unix_s: Option<i64> = None;
    let mut prev: Option<(i64, usize)> = None;
    for (ln, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        split_into(line, &mut f);
        if f.len() != width {
            return Err(width_error(path, ln, width, f.len()));
        }
        let Some(t) = parse_datetime(f[c_t]) else {
            return Err(InputError::line_field(
                path,
                ln,
                "Time",
                format!("expected {DATETIME}, found {}", found(f[c_t])),
            ));
        };
        if let Some((pt, pl)) = prev
            && t <= pt
        {
            return Err(InputError::line_field(
                path,
                ln,
                "Time",
                format!(
                    "times must increase: {} is not after line {pl}",
                    found(f[c_t])
                ),
            ));
        }
        prev = Some((t, ln));
        let v = match f[c_v].parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => v,
            _ => {
                return Err(InputError::line_field(
                    path,
                    ln,
                    "Carbon Intensity",
                    format!(
                        "expected a finite number of gCO2/kWh ≥ 0, found {}",
                        found(f[c_v])
                    ),
                ));
            }
        };
        let t0 = *start_unix_s.get_or_insert(t);
        s.push((t - t0) as f64, v);
    }
    if s.is_empty() {
        return Err(InputError::file(
            path,
            "the carbon-intensity CSV has a header but no rows",
        ));
    }
    Ok(s.with_start_unix_s(start_unix_s))
}
