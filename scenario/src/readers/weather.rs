//! Weather file readers: NREL TMY3, EnergyPlus EPW, a simple CSV and the NYC 2013 hourly file, all into a
//! [`WeatherSeries`] of equally spaced [`WeatherPoint`]s (replay and time origin: `models::facility::weather`).
//!
//! Errors never panic: each is an [`InputError`] naming the file, the 1-based line and the column.

use std::path::Path;

use models::facility::calendar::{DATETIME, days_in_month, parse_datetime};
use models::facility::psychro::{f_to_c, rh_from_dew_point_pct};
use models::facility::weather::{
    STANDARD_PRESSURE_PA, WeatherConfig, WeatherInfo, WeatherPoint, WeatherSeries,
};

use super::text::{Lines, columns, found, number, read_text, split_into, width_error};
use crate::error::{InputError, Location};

/// Reads the series `cfg` names; relative paths are taken from `base` (the scenario's directory).
pub fn load_weather(cfg: &WeatherConfig, base: &Path) -> Result<WeatherSeries, InputError> {
    let full = |p: &Path| base.join(p);
    match cfg {
        WeatherConfig::Constant {
            dry_bulb_c,
            rh_pct,
            pressure_pa,
        } => Ok(
            WeatherSeries::constant(WeatherPoint::new(*dry_bulb_c, *rh_pct, *pressure_pa)).finish(),
        ),
        WeatherConfig::Tmy3 { path, start_hour } => {
            start_at(read_tmy3(&full(path))?, &full(path), *start_hour)
        }
        WeatherConfig::Epw { path, start_hour } => {
            start_at(read_epw(&full(path))?, &full(path), *start_hour)
        }
        WeatherConfig::Csv { path } => read_weather_csv(&full(path)),
        WeatherConfig::Nyc2013 { path, origin } => read_nyc_weather(&full(path), origin),
    }
}

/// `series` replayed from hour `start_hour` of the file (its points are hourly).
fn start_at(
    series: WeatherSeries,
    path: &Path,
    start_hour: u32,
) -> Result<WeatherSeries, InputError> {
    if start_hour == 0 {
        return Ok(series);
    }
    let k = (start_hour as f64 * 3600.0 / series.step_s()).round() as usize;
    series
        .starting_at(k)
        .map_err(|m| InputError::file(path, format!("`start_hour` {start_hour}: {m}")))
}

/// Day of year (0-based) of `month`/`day` in a non-leap year, or `None`.
fn day_of_year(month: u32, day: u32) -> Option<u32> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(2001, month) {
        return None;
    }
    Some((1..month).map(|m| days_in_month(2001, m)).sum::<u32>() + day - 1)
}

fn cell_err(path: &Path, line: usize, col: &str, msg: String) -> InputError {
    InputError::line_field(path, line, col, msg)
}

/// A value that must lie in `[lo, hi]`.
fn ranged(
    path: &Path,
    line: usize,
    col: &str,
    cell: &str,
    lo: f64,
    hi: f64,
) -> Result<f64, InputError> {
    let v = number(path, line, col, cell)?;
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(cell_err(
            path,
            line,
            col,
            format!("expected a value from {lo} to {hi}, found {}", found(cell)),
        ))
    }
}

/// Plausible ranges: dry bulb and dew point −90…70 °C, RH 0…100 %, pressure 30…110 kPa.
const T_RANGE: (f64, f64) = (-90.0, 70.0);
const P_RANGE_PA: (f64, f64) = (30_000.0, 110_000.0);

/// Reads an NREL TMY3 CSV (8,760 hourly rows).
///
/// Line 1: station metadata `USAF,name,state,UTC offset (h),latitude,longitude,elevation`; line 2: column
/// names; then one row per hour `MM/DD/YYYY,HH:MM,…` from `01/01 01:00` to `12/31 24:00` local standard
/// time (the year varies by month in a typical year and is ignored). Used columns: `Dry-bulb (C)`,
/// `RHum (%)`, `Pressure (mbar)` (×100 → Pa); `Dew-point (C)` is range-checked. Rows must be the 8,760
/// consecutive hours in order.
pub fn read_tmy3(path: &Path) -> Result<WeatherSeries, InputError> {
    parse_tmy3(&read_text(path, "TMY3 weather file")?, path)
}

/// [`read_tmy3`] of text in memory; `path` names it in errors.
pub fn parse_tmy3(text: &str, path: &Path) -> Result<WeatherSeries, InputError> {
    const WHAT: &str = "TMY3 weather file";
    let mut lines = Lines::new(text);
    let mut f = Vec::new();
    let Some((l1, meta)) = lines.next_nonblank() else {
        return Err(InputError::file(
            path,
            "the TMY3 weather file is empty: expected station metadata on line 1",
        ));
    };
    split_into(meta, &mut f);
    if f.len() < 4 {
        return Err(InputError::new(
            path,
            Location::Line(l1),
            format!(
                "expected station metadata `USAF,name,state,UTC offset,latitude,longitude,elevation`, found {} fields",
                f.len()
            ),
        ));
    }
    let station = f[1].to_string();
    let utc_offset_h = ranged(path, l1, "UTC offset", f[3], -14.0, 14.0)?;
    let Some((l2, head)) = lines.next_nonblank() else {
        return Err(InputError::file(
            path,
            "the TMY3 weather file has no column-name line after the station metadata",
        ));
    };
    let mut header = Vec::new();
    split_into(head, &mut header);
    let names = [
        "Date (MM/DD/YYYY)",
        "Time (HH:MM)",
        "Dry-bulb (C)",
        "Dew-point (C)",
        "RHum (%)",
        "Pressure (mbar)",
    ];
    let [c_date, c_time, c_db, c_dp, c_rh, c_p] = columns(path, l2, &header, names, WHAT)?;
    let width = header.len();
    let mut points = Vec::with_capacity(8760);
    for (ln, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        split_into(line, &mut f);
        if f.len() != width {
            return Err(width_error(path, ln, width, f.len()));
        }
        let i = points.len();
        if i == 8760 {
            return Err(InputError::new(
                path,
                Location::Line(ln),
                "a TMY3 file has 8,760 hourly rows; this is row 8,761",
            ));
        }
        // Date and hour must be the i-th hour of a non-leap year.
        let date = f[c_date];
        let b = date.as_bytes();
        let md = (b.len() == 10 && b[2] == b'/' && b[5] == b'/')
            .then(|| Some((date[0..2].parse().ok()?, date[3..5].parse().ok()?)))
            .flatten()
            .and_then(|(m, d): (u32, u32)| day_of_year(m, d));
        let Some(doy) = md else {
            return Err(cell_err(
                path,
                ln,
                names[0],
                format!("expected a date `MM/DD/YYYY`, found {}", found(date)),
            ));
        };
        let time = f[c_time];
        let hour = time
            .strip_suffix(":00")
            .and_then(|h| h.parse::<u32>().ok())
            .filter(|h| (1..=24).contains(h) && time.len() == 5);
        let Some(hour) = hour else {
            return Err(cell_err(
                path,
                ln,
                names[1],
                format!(
                    "expected an hour `HH:00` from 01:00 to 24:00, found {}",
                    found(time)
                ),
            ));
        };
        let got = doy as usize * 24 + hour as usize - 1;
        if got != i {
            let (col, cell) = if doy as usize == i / 24 {
                (names[1], time)
            } else {
                (names[0], date)
            };
            return Err(cell_err(
                path,
                ln,
                col,
                format!(
                    "expected hour {} of the year ({} hours in order from 01/01 01:00), found {} {}",
                    i + 1,
                    8760,
                    found(date),
                    found(cell)
                ),
            ));
        }
        let db = ranged(path, ln, names[2], f[c_db], T_RANGE.0, T_RANGE.1)?;
        ranged(path, ln, names[3], f[c_dp], T_RANGE.0, T_RANGE.1)?;
        let rh = ranged(path, ln, names[4], f[c_rh], 0.0, 100.0)?;
        let p = ranged(
            path,
            ln,
            names[5],
            f[c_p],
            P_RANGE_PA.0 / 100.0,
            P_RANGE_PA.1 / 100.0,
        )? * 100.0;
        points.push(WeatherPoint::new(db, rh, p));
    }
    if points.len() != 8760 {
        return Err(InputError::file(
            path,
            format!("a TMY3 file has 8,760 hourly rows, found {}", points.len()),
        ));
    }
    let info = WeatherInfo {
        station,
        utc_offset_h,
        rows: points.len(),
        ..WeatherInfo::default()
    };
    Ok(WeatherSeries::from_parts(3600.0, points, info).finish())
}

/// EPW data-row field names (0-based index → name), for messages.
const EPW_FIELDS: [&str; 10] = [
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "data source",
    "dry bulb temperature (C)",
    "dew point temperature (C)",
    "relative humidity (%)",
    "atmospheric station pressure (Pa)",
];

/// Reads an EnergyPlus EPW weather file.
///
/// Eight header lines (`LOCATION,city,state,country,source,WMO,latitude,longitude,time zone,elevation`
/// first; `DATA PERIODS,n,records per hour,…` eighth), then one row per record:
/// `year,month,day,hour,minute,data source,dry bulb (°C),dew point (°C),relative humidity (%),
/// station pressure (Pa),…` (at least these 10 fields; real files have 35). Records must be consecutive
/// (`hour` 1–24, `records per hour` rows per hour, 29 February allowed); the year is ignored.
///
/// EPW missing-value markers: dry bulb `99.9` is an error; relative humidity `999` is computed from the
/// dew point (Magnus) when that is present, else an error; pressure `999999` is filled with the previous
/// pressure (standard pressure at the start) and counted in [`WeatherInfo::filled_pressure`].
pub fn read_epw(path: &Path) -> Result<WeatherSeries, InputError> {
    parse_epw(&read_text(path, "EPW weather file")?, path)
}

/// [`read_epw`] of text in memory; `path` names it in errors.
pub fn parse_epw(text: &str, path: &Path) -> Result<WeatherSeries, InputError> {
    let mut lines = Lines::new(text);
    let mut f = Vec::new();
    let header = epw_header(&mut lines, &mut f, path)?;
    let per_hour = header.per_hour;
    let mut points = Vec::with_capacity(8760 * per_hour as usize);
    let mut prev: Option<EpwRecord> = None;
    let mut pressure = EpwPressure {
        last_pa: STANDARD_PRESSURE_PA,
        filled: 0,
    };
    for (ln, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        split_into(line, &mut f);
        if f.len() < 10 {
            return Err(InputError::new(
                path,
                Location::Line(ln),
                format!(
                    "expected at least 10 comma-separated fields (year,month,day,hour,minute,data source,dry bulb,dew point,relative humidity,pressure,…), found {}",
                    f.len()
                ),
            ));
        }
        prev = Some(epw_record(path, ln, &f, prev, per_hour)?);
        points.push(epw_weather(path, ln, &f, &mut pressure)?);
    }
    if points.is_empty() {
        return Err(InputError::file(
            path,
            "the EPW file has its 8 header lines but no data rows",
        ));
    }
    let info = WeatherInfo {
        station: header.station,
        utc_offset_h: header.utc_offset_h,
        rows: points.len(),
        filled_pressure: pressure.filled,
        ..WeatherInfo::default()
    };
    Ok(WeatherSeries::from_parts(3600.0 / f64::from(per_hour), points, info).finish())
}

/// What the EPW header lines give: the station (city), its UTC offset and the records per hour.
struct EpwHeader {
    station: String,
    utc_offset_h: f64,
    per_hour: u32,
}

/// Reads the eight EPW header lines: `LOCATION,…` first, `DATA PERIODS,…` eighth, the others skipped.
fn epw_header<'a>(
    lines: &mut Lines<'a>,
    f: &mut Vec<&'a str>,
    path: &Path,
) -> Result<EpwHeader, InputError> {
    let mut header = EpwHeader {
        station: String::new(),
        utc_offset_h: 0.0,
        per_hour: 1,
    };
    for k in 1..=8 {
        let Some((ln, line)) = lines.next() else {
            return Err(InputError::file(
                path,
                format!("an EPW file has 8 header lines, found {}", k - 1),
            ));
        };
        split_into(line, f);
        if k == 1 {
            if f[0] != "LOCATION" || f.len() < 9 {
                return Err(InputError::new(
                    path,
                    Location::Line(ln),
                    format!(
                        "expected the EPW header `LOCATION,city,state,country,source,WMO,latitude,longitude,time zone,elevation`, found {}",
                        found(line)
                    ),
                ));
            }
            header.station = f[1].to_string();
            header.utc_offset_h = ranged(path, ln, "time zone", f[8], -14.0, 14.0)?;
        }
        if k == 8 {
            header.per_hour = epw_records_per_hour(path, ln, line, f)?;
        }
    }
    Ok(header)
}

/// The records per hour of the `DATA PERIODS,periods,records per hour,…` header line (split into `f`):
/// a divisor of 60.
fn epw_records_per_hour(path: &Path, ln: usize, line: &str, f: &[&str]) -> Result<u32, InputError> {
    if f[0] != "DATA PERIODS" || f.len() < 3 {
        return Err(InputError::new(
            path,
            Location::Line(ln),
            format!(
                "expected the EPW header `DATA PERIODS,periods,records per hour,…`, found {}",
                found(line)
            ),
        ));
    }
    match f[2].parse::<u32>() {
        Ok(n) if (1..=60).contains(&n) && 60 % n == 0 => Ok(n),
        _ => Err(cell_err(
            path,
            ln,
            "records per hour",
            format!(
                "expected a divisor of 60 (1, 2, 4, 6, 12, …), found {}",
                found(f[2])
            ),
        )),
    }
}

/// Where an EPW data row is in the year: month, day, hour (1–24) and record within the hour.
type EpwRecord = (u32, u32, u32, u32);

/// Field `i` of an EPW data row as an integer in `lo..=hi`.
fn epw_int(
    path: &Path,
    ln: usize,
    f: &[&str],
    i: usize,
    lo: u32,
    hi: u32,
) -> Result<u32, InputError> {
    match f[i].parse::<u32>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(cell_err(
            path,
            ln,
            EPW_FIELDS[i],
            format!(
                "expected an integer from {lo} to {hi}, found {}",
                found(f[i])
            ),
        )),
    }
}

/// The record of an EPW data row: its month, day and hour must exist and follow `prev` (the first row
/// may start anywhere; 28 February may be followed by 29 February or 1 March).
fn epw_record(
    path: &Path,
    ln: usize,
    f: &[&str],
    prev: Option<EpwRecord>,
    per_hour: u32,
) -> Result<EpwRecord, InputError> {
    let (month, day, hour) = (
        epw_int(path, ln, f, 1, 1, 12)?,
        epw_int(path, ln, f, 2, 1, 31)?,
        epw_int(path, ln, f, 3, 1, 24)?,
    );
    if day > days_in_month(2000, month) {
        return Err(cell_err(
            path,
            ln,
            EPW_FIELDS[2],
            format!("month {month} has no day {day}"),
        ));
    }
    let this = match prev {
        None => (month, day, hour, 0),
        Some((m, d, h, r)) if r + 1 < per_hour => (m, d, h, r + 1),
        Some((m, d, h, _)) if h < 24 => (m, d, h + 1, 0),
        Some((m, d, _, _)) => {
            let (nm, nd) = if d < days_in_month(2000, m) {
                (m, d + 1)
            } else {
                (m % 12 + 1, 1)
            };
            // 28 February may be followed by 29 February or 1 March.
            if (m, d, month, day) == (2, 28, 3, 1) {
                (3, 1, 1, 0)
            } else {
                (nm, nd, 1, 0)
            }
        }
    };
    if (month, day, hour) != (this.0, this.1, this.2) {
        let col = if month != this.0 {
            1
        } else if day != this.1 {
            2
        } else {
            3
        };
        return Err(cell_err(
            path,
            ln,
            EPW_FIELDS[col],
            format!(
                "records must be consecutive ({per_hour} per hour): expected month {}, day {}, hour {}, found {month}, {day}, {hour}",
                this.0, this.1, this.2
            ),
        ));
    }
    Ok(this)
}

/// The station pressure carried from row to row: the last one given (standard pressure before the
/// first), and how many rows lacked theirs.
struct EpwPressure {
    last_pa: f64,
    filled: usize,
}

/// The weather of an EPW data row: dry bulb (marker 99.9 is an error), relative humidity (marker 999:
/// from the dew point) and pressure (marker 999999: the previous one, counted).
fn epw_weather(
    path: &Path,
    ln: usize,
    f: &[&str],
    pressure: &mut EpwPressure,
) -> Result<WeatherPoint, InputError> {
    let db = number(path, ln, EPW_FIELDS[6], f[6])?;
    if db == 99.9 {
        return Err(cell_err(
            path,
            ln,
            EPW_FIELDS[6],
            "the dry bulb is missing (EPW marker 99.9)".into(),
        ));
    }
    let db = ranged(path, ln, EPW_FIELDS[6], f[6], T_RANGE.0, T_RANGE.1)?;
    let dp = number(path, ln, EPW_FIELDS[7], f[7])?;
    let rh = number(path, ln, EPW_FIELDS[8], f[8])?;
    let rh = if rh == 999.0 {
        if dp == 99.9 {
            return Err(cell_err(
                path,
                ln,
                EPW_FIELDS[8],
                "the relative humidity is missing (EPW marker 999) and so is the dew point".into(),
            ));
        }
        rh_from_dew_point_pct(
            db,
            ranged(path, ln, EPW_FIELDS[7], f[7], T_RANGE.0, T_RANGE.1)?,
        )
    } else {
        ranged(path, ln, EPW_FIELDS[8], f[8], 0.0, 100.0)?
    };
    let p = number(path, ln, EPW_FIELDS[9], f[9])?;
    if p == 999_999.0 {
        pressure.filled += 1;
    } else {
        pressure.last_pa = ranged(path, ln, EPW_FIELDS[9], f[9], P_RANGE_PA.0, P_RANGE_PA.1)?;
    }
    Ok(WeatherPoint::new(db, rh, pressure.last_pa))
}

/// Columns of the simple weather CSV.
const CSV_COLUMNS: [&str; 5] = [
    "time_s",
    "dry_bulb_c",
    "rh_pct",
    "dew_point_c",
    "pressure_pa",
];

/// Shortest step of a weather CSV, s: 60 records per hour, the finest EPW allows. The series loops over
/// the horizon and the facility steps through every change, so a step of a nanosecond would never end.
pub const MIN_CSV_STEP_S: f64 = 60.0;

/// Reads a simple weather CSV: header `time_s,dry_bulb_c,rh_pct` (or `dew_point_c` instead of `rh_pct`;
/// optional `pressure_pa`, default standard pressure), columns in any order, one row per step. `time_s`
/// starts at 0 and rises by a constant step of at least [`MIN_CSV_STEP_S`] (the first difference; every
/// later time must be `k·step` within 1 ms). A single row is a constant climate (step 3,600 s). With both `rh_pct` and
/// `dew_point_c`, `rh_pct` is used and the dew point ignored.
pub fn read_weather_csv(path: &Path) -> Result<WeatherSeries, InputError> {
    parse_weather_csv(&read_text(path, "weather CSV")?, path)
}

/// [`read_weather_csv`] of text in memory; `path` names it in errors.
pub fn parse_weather_csv(text: &str, path: &Path) -> Result<WeatherSeries, InputError> {
    let mut lines = Lines::new(text);
    let Some((lh, head)) = lines.next_nonblank() else {
        return Err(InputError::file(
            path,
            "the weather CSV is empty: expected a header `time_s,dry_bulb_c,rh_pct` (or `dew_point_c`)",
        ));
    };
    let mut header = Vec::new();
    split_into(head, &mut header);
    let mut idx = [None; 5];
    for (i, h) in header.iter().enumerate() {
        match CSV_COLUMNS.iter().position(|c| c == h) {
            Some(k) if idx[k].is_none() => idx[k] = Some(i),
            Some(_) => {
                return Err(cell_err(
                    path,
                    lh,
                    h,
                    format!("column `{h}` appears twice in the header"),
                ));
            }
            None => {
                return Err(cell_err(
                    path,
                    lh,
                    h,
                    format!(
                        "unknown column `{h}`; accepted: `time_s`, `dry_bulb_c`, `rh_pct` or `dew_point_c` (required), `pressure_pa` (optional)"
                    ),
                ));
            }
        }
    }
    let (Some(c_t), Some(c_db)) = (idx[0], idx[1]) else {
        return Err(InputError::new(
            path,
            Location::Line(lh),
            "the header of the weather CSV needs `time_s` and `dry_bulb_c`",
        ));
    };
    if idx[2].is_none() && idx[3].is_none() {
        return Err(InputError::new(
            path,
            Location::Line(lh),
            "the header of the weather CSV needs `rh_pct` or `dew_point_c`",
        ));
    }
    let width = header.len();
    let mut f = Vec::new();
    let mut points = Vec::new();
    let mut step = None;
    for (ln, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        split_into(line, &mut f);
        if f.len() != width {
            return Err(width_error(path, ln, width, f.len()));
        }
        let t = number(path, ln, "time_s", f[c_t])?;
        let k = points.len() as f64;
        let expected = match step {
            None if points.is_empty() => 0.0,
            None => {
                if t <= 0.0 {
                    return Err(cell_err(
                        path,
                        ln,
                        "time_s",
                        format!(
                            "times must rise by a constant step > 0, found {}",
                            found(f[c_t])
                        ),
                    ));
                }
                if t < MIN_CSV_STEP_S {
                    return Err(cell_err(
                        path,
                        ln,
                        "time_s",
                        format!(
                            "the step must be at least {MIN_CSV_STEP_S} s (the finest EPW resolution: the \
                             facility steps through every weather change, looping the series over the \
                             horizon), found {}",
                            found(f[c_t])
                        ),
                    ));
                }
                step = Some(t);
                t
            }
            Some(s) => k * s,
        };
        if (t - expected).abs() > 1e-3 {
            return Err(cell_err(
                path,
                ln,
                "time_s",
                format!(
                    "expected {expected} (times start at 0 and rise by a constant step), found {}",
                    found(f[c_t])
                ),
            ));
        }
        let db = ranged(path, ln, "dry_bulb_c", f[c_db], T_RANGE.0, T_RANGE.1)?;
        let rh = match (idx[2], idx[3]) {
            (Some(c), _) => ranged(path, ln, "rh_pct", f[c], 0.0, 100.0)?,
            (None, Some(c)) => rh_from_dew_point_pct(
                db,
                ranged(path, ln, "dew_point_c", f[c], T_RANGE.0, T_RANGE.1)?,
            ),
            (None, None) => unreachable!("checked at the header"),
        };
        let p = match idx[4] {
            Some(c) => ranged(path, ln, "pressure_pa", f[c], P_RANGE_PA.0, P_RANGE_PA.1)?,
            None => STANDARD_PRESSURE_PA,
        };
        points.push(WeatherPoint::new(db, rh, p));
    }
    if points.is_empty() {
        return Err(InputError::file(
            path,
            "the weather CSV has a header but no rows",
        ));
    }
    let info = WeatherInfo {
        station: path.display().to_string(),
        rows: points.len(),
        ..WeatherInfo::default()
    };
    Ok(WeatherSeries::from_parts(step.unwrap_or(3600.0), points, info).finish())
}

/// The longest run of missing hours the NYC reader fills (one week).
const MAX_GAP_H: usize = 168;

/// Reads the nycflights13 hourly weather (`../shared/weather/nyc-2013-hourly-weather.csv`) for one
/// airport `origin` (`EWR`, `JFK` or `LGA`).
///
/// Columns by name (others ignored): `origin`, `temp` and `dewp` (°F → °C), `humid` (%), `pressure`
/// (hPa → Pa), `time_hour` (UTC, `YYYY-MM-DDTHH:MM:SSZ`). The series starts at the first kept
/// `time_hour` with a 1-hour step. Rows of one origin must be in increasing time on whole hours.
///
/// Missing values (`NA`), decided so that a real year replays without invented weather:
/// - a row with `temp`, `dewp` or `humid` `NA` is skipped and counted ([`WeatherInfo::skipped_rows`]);
/// - hours with no row (gaps in the file, skipped rows) hold the previous hour's point, counted in
///   [`WeatherInfo::filled_steps`] (JFK 2013: 14 gaps, 24 hours filled, 8,706 rows → 8,730 hours);
/// - `pressure` `NA` (about 10 % of rows) takes the previous known pressure, or standard pressure
///   before the first, counted in [`WeatherInfo::filled_pressure`];
/// - a gap longer than a week (168 hours) is an error rather than a week of invented weather;
/// - any other unreadable cell is an error.
pub fn read_nyc_weather(path: &Path, origin: &str) -> Result<WeatherSeries, InputError> {
    parse_nyc_weather(&read_text(path, "NYC weather CSV")?, path, origin)
}

/// [`read_nyc_weather`] of text in memory; `path` names it in errors.
pub fn parse_nyc_weather(
    text: &str,
    path: &Path,
    origin: &str,
) -> Result<WeatherSeries, InputError> {
    const WHAT: &str = "NYC weather CSV";
    let mut lines = Lines::new(text);
    let Some((lh, head)) = lines.next_nonblank() else {
        return Err(InputError::file(
            path,
            "the NYC weather CSV is empty: expected a header naming `origin,temp,dewp,humid,pressure,time_hour`",
        ));
    };
    let mut header = Vec::new();
    split_into(head, &mut header);
    let names = ["origin", "temp", "dewp", "humid", "pressure", "time_hour"];
    let [c_o, c_t, c_d, c_h, c_p, c_time] = columns(path, lh, &header, names, WHAT)?;
    let width = header.len();
    let mut f = Vec::new();
    let mut points: Vec<WeatherPoint> = Vec::with_capacity(8784);
    let mut origins: Vec<String> = Vec::new();
    let mut start: Option<i64> = None;
    let mut last_t: Option<(i64, usize)> = None; // time, line
    let mut pressure = STANDARD_PRESSURE_PA;
    let (mut rows, mut skipped, mut filled, mut filled_p) = (0, 0, 0, 0);
    for (ln, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        split_into(line, &mut f);
        if f.len() != width {
            return Err(width_error(path, ln, width, f.len()));
        }
        if f[c_o] != origin {
            if origins.len() < 16 && !origins.iter().any(|o| o == f[c_o]) {
                origins.push(f[c_o].to_string());
            }
            continue;
        }
        let Some(t) = parse_datetime(f[c_time]) else {
            return Err(cell_err(
                path,
                ln,
                "time_hour",
                format!("expected {DATETIME}, found {}", found(f[c_time])),
            ));
        };
        if t % 3600 != 0 {
            return Err(cell_err(
                path,
                ln,
                "time_hour",
                format!("expected a whole hour, found {}", found(f[c_time])),
            ));
        }
        if let Some((prev, pl)) = last_t
            && t <= prev
        {
            return Err(cell_err(
                path,
                ln,
                "time_hour",
                format!(
                    "rows of origin {origin} must be in increasing time: {} is not after line {pl}",
                    found(f[c_time])
                ),
            ));
        }
        last_t = Some((t, ln));
        if [c_t, c_d, c_h].iter().any(|&c| f[c] == "NA") {
            skipped += 1;
            continue;
        }
        let temp = f_to_c(ranged(path, ln, "temp", f[c_t], -130.0, 160.0)?);
        ranged(path, ln, "dewp", f[c_d], -130.0, 160.0)?;
        let rh = ranged(path, ln, "humid", f[c_h], 0.0, 100.0)?;
        if f[c_p] == "NA" {
            filled_p += 1;
        } else {
            pressure = ranged(
                path,
                ln,
                "pressure",
                f[c_p],
                P_RANGE_PA.0 / 100.0,
                P_RANGE_PA.1 / 100.0,
            )? * 100.0;
        }
        let p = WeatherPoint::new(temp, rh, pressure);
        let t0 = *start.get_or_insert(t);
        let k = ((t - t0) / 3600) as usize;
        if k > points.len() + MAX_GAP_H {
            return Err(cell_err(
                path,
                ln,
                "time_hour",
                format!(
                    "{} hours without a usable row before {}: more than {MAX_GAP_H} would be invented by holding the previous hour",
                    k - points.len(),
                    found(f[c_time])
                ),
            ));
        }
        if k > points.len() {
            let hold = *points.last().expect("the first kept row starts the series");
            filled += k - points.len();
            points.resize(k, hold);
        }
        points.push(p);
        rows += 1;
    }
    if points.is_empty() {
        return Err(InputError::file(
            path,
            format!(
                "the NYC weather CSV has no usable rows for origin `{origin}`; origins found: {}",
                if origins.is_empty() {
                    "none".to_string()
                } else {
                    origins.join(", ")
                }
            ),
        ));
    }
    let info = WeatherInfo {
        station: origin.to_string(),
        utc_offset_h: 0.0,
        start_unix_s: start,
        rows,
        skipped_rows: skipped,
        filled_steps: filled,
        filled_pressure: filled_p,
        outside_stull_range: 0,
    };
    Ok(WeatherSeries::from_parts(3600.0, points, info).finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_of_year_non_leap() {
        assert_eq!(day_of_year(1, 1), Some(0));
        assert_eq!(day_of_year(12, 31), Some(364));
        assert_eq!(day_of_year(2, 29), None);
    }
}
