//! Facility charts (runs of scenarios with a `facility` section): facility power stacked by component over
//! time, and hourly PUE against outdoor wet bulb. Same conventions as [`crate::chart`]: plotters' SVG backend
//! into a `String`, text left to the viewer, output depending only on the samples.

use std::collections::BTreeMap;
use std::io;

use output::{FacilitySample, Sample};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::calendar::Calendar;
use crate::chart::{TimeX, render, tick, widen, y_range};

/// Above this many samples the stacked chart averages consecutive samples in [`BUCKETS`] buckets.
const MAX_POINTS: usize = 4000;
const BUCKETS: usize = 1000;
/// Above this many hourly points the scatter keeps every k-th (in time order).
const MAX_SCATTER: usize = 9000;

/// The stacked components, bottom to top: label, colour, value in W.
type Layer = (&'static str, RGBColor, fn(&FacilitySample) -> f64);

const LAYERS: [Layer; 8] = [
    ("IT", RGBColor(31, 119, 180), |f| f.it_power_w),
    ("power-chain losses", RGBColor(214, 39, 40), |f| {
        f.power_chain_loss_w
    }),
    ("chillers", RGBColor(44, 160, 44), |f| f.chiller_w),
    ("tower fans", RGBColor(23, 190, 207), |f| f.tower_fans_w),
    ("pumps", RGBColor(148, 103, 189), |f| f.pumps_w),
    ("CRAH fans", RGBColor(255, 127, 14), |f| f.crah_fans_w),
    ("dry coolers", RGBColor(188, 189, 34), |f| f.dry_coolers_w),
    ("misc", RGBColor(127, 127, 127), |f| f.misc_w),
];

/// File name of the stacked facility-power chart.
pub const FACILITY_POWER_SVG: &str = "facility_power.svg";
/// File name of the PUE / wet-bulb scatter.
pub const PUE_WET_BULB_SVG: &str = "pue_wet_bulb.svg";

/// `(time in hours, facility sample)` of every sample with facility columns and a finite time, averaged
/// in buckets of consecutive samples when long (the average of step-hold samples keeps the stack exact).
fn facility_points(samples: &[Sample]) -> Vec<(f64, [f64; 8])> {
    let all: Vec<(f64, [f64; 8])> = samples
        .iter()
        .filter(|s| s.time_s.is_finite())
        .filter_map(|s| {
            s.facility
                .as_ref()
                .map(|f| (s.time_s, LAYERS.map(|(_, _, v)| v(f).max(0.0))))
        })
        .collect();
    if all.len() <= MAX_POINTS {
        return all;
    }
    let chunk = all.len().div_ceil(BUCKETS);
    all.chunks(chunk)
        .map(|run| {
            let n = run.len() as f64;
            let t = run.iter().map(|p| p.0).sum::<f64>() / n;
            let mut v = [0.0; 8];
            for p in run {
                for (a, b) in v.iter_mut().zip(p.1) {
                    *a += b / n;
                }
            }
            (t, v)
        })
        .collect()
}

/// Renders `facility_power.svg`: utility-feed power in kW stacked by component (IT, power-chain losses,
/// each cooling component, misc) against time ([`TimeX`]: calendar axes under `cal`). Without facility
/// columns: an empty chart.
pub fn facility_power_svg(samples: &[Sample], cal: Option<&Calendar>) -> io::Result<String> {
    let pts = facility_points(samples);
    let x = TimeX::of(samples, cal);
    let tops = pts
        .iter()
        .map(|(_, v)| v.iter().sum::<f64>() / 1000.0)
        .filter(|v| v.is_finite());
    let y = y_range(tops);
    render(|root| {
        let root = root.titled("Facility power by component (stacked)", ("sans-serif", 24))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(52)
            .y_label_area_size(80)
            .build_cartesian_2d(x.coord(), y.clone())?;
        chart
            .configure_mesh()
            .x_desc(x.title())
            .y_desc("power (kW)")
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .y_labels(8)
            .x_label_formatter(&|t| x.label(t))
            .y_label_formatter(&tick)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        // Draw cumulative tops from the highest layer down so each lower layer paints over the ones above.
        for k in (0..LAYERS.len()).rev() {
            let (label, color, _) = LAYERS[k];
            // Layers that are zero throughout (e.g. no dry coolers) are left out of the legend.
            if pts.iter().all(|(_, v)| v[k] == 0.0) {
                continue;
            }
            let line = pts
                .iter()
                .map(|(t, v)| (*t, v[..=k].iter().sum::<f64>() / 1000.0));
            chart
                .draw_series(AreaSeries::new(line, 0.0, color.mix(0.85)))?
                .label(label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 16, y + 5)], color.filled())
                });
        }
        if pts.is_empty() {
            let centre = ((x.range.start + x.range.end) / 2.0, (y.start + y.end) / 2.0);
            let style = TextStyle::from(("sans-serif", 20).into_font())
                .color(&RGBColor(110, 110, 110))
                .pos(Pos::new(HPos::Center, VPos::Center));
            chart
                .plotting_area()
                .draw(&Text::new("no facility samples", centre, style))?;
        } else {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(110, 110, 110))
                .label_font(("sans-serif", 15))
                .draw()?;
        }
        Ok(())
    })
}

/// Hourly PUE against outdoor wet bulb: for each clock hour `h` of simulated time, `(wet bulb at the first
/// sample of the hour, ΔE_facility / ΔE_IT over the sample intervals starting in that hour)`, from the
/// samples' exact cumulative energies. With samples every hour or a divisor of it and hourly weather (TMY3)
/// this is exactly the hour's PUE against the hour's wet bulb; coarser samples give one point per interval.
pub fn hourly_pue_points(samples: &[Sample]) -> Vec<(f64, f64)> {
    let f: Vec<(f64, &FacilitySample)> = samples
        .iter()
        .filter_map(|s| s.facility.as_ref().map(|f| (s.time_s, f)))
        .collect();
    // hour → (wet bulb at its first interval start, Δ IT J, Δ facility J)
    let mut hours: BTreeMap<i64, (f64, f64, f64)> = BTreeMap::new();
    for w in f.windows(2) {
        let ((t0, a), (_, b)) = (w[0], w[1]);
        if !t0.is_finite() {
            continue;
        }
        let h = (t0 / 3600.0).floor() as i64;
        let e = hours.entry(h).or_insert((a.outdoor_wet_bulb_c, 0.0, 0.0));
        e.1 += b.it_energy_j - a.it_energy_j;
        e.2 += b.facility_energy_j - a.facility_energy_j;
    }
    let mut pts: Vec<(f64, f64)> = hours
        .values()
        .filter(|(_, it, _)| *it > 0.0)
        .map(|&(wb, it, fac)| (wb, fac / it))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if pts.len() > MAX_SCATTER {
        let k = pts.len().div_ceil(MAX_SCATTER);
        pts = pts.into_iter().step_by(k).collect();
    }
    pts
}

/// Renders `pue_wet_bulb.svg`: the [`hourly_pue_points`] as a scatter.
pub fn pue_wet_bulb_svg(samples: &[Sample]) -> io::Result<String> {
    let pts = hourly_pue_points(samples);
    let (x_lo, x_hi) = pts
        .iter()
        .fold(None, |acc: Option<(f64, f64)>, p| match acc {
            None => Some((p.0, p.0)),
            Some((lo, hi)) => Some((lo.min(p.0), hi.max(p.0))),
        })
        .unwrap_or((0.0, 1.0));
    let x = widen(x_lo - 1.0, x_hi + 1.0);
    let (y_lo, y_hi) = pts
        .iter()
        .fold(None, |acc: Option<(f64, f64)>, p| match acc {
            None => Some((p.1, p.1)),
            Some((lo, hi)) => Some((lo.min(p.1), hi.max(p.1))),
        })
        .unwrap_or((1.0, 1.5));
    let pad = ((y_hi - y_lo) * 0.05).max(0.005);
    let y = widen((y_lo - pad).max(1.0).min(y_lo), y_hi + pad);
    render(|root| {
        let root = root.titled("Hourly PUE against outdoor wet bulb", ("sans-serif", 24))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(x.clone(), y.clone())?;
        chart
            .configure_mesh()
            .x_desc("outdoor wet bulb (°C)")
            .y_desc("PUE (hour)")
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .x_labels(12)
            .y_labels(8)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        let blue = RGBColor(31, 119, 180);
        chart.draw_series(
            pts.iter()
                .map(|&p| Circle::new(p, 2, blue.mix(0.5).filled())),
        )?;
        if pts.is_empty() {
            let centre = ((x.start + x.end) / 2.0, (y.start + y.end) / 2.0);
            let style = TextStyle::from(("sans-serif", 20).into_font())
                .color(&RGBColor(110, 110, 110))
                .pos(Pos::new(HPos::Center, VPos::Center));
            chart
                .plotting_area()
                .draw(&Text::new("no hourly facility data", centre, style))?;
        }
        Ok(())
    })
}

/// The facility charts of a run as `(caption, svg)`, for `report.html`; empty without facility columns.
pub fn facility_charts(
    samples: &[Sample],
    cal: Option<&Calendar>,
) -> io::Result<Vec<(String, String)>> {
    if !samples.iter().any(|s| s.facility.is_some()) {
        return Ok(Vec::new());
    }
    Ok(vec![
        (
            "Facility power by component: IT, power-chain losses, cooling (chillers, tower fans, pumps, CRAH \
             fans, dry coolers) and misc, stacked"
                .to_string(),
            facility_power_svg(samples, cal)?,
        ),
        (
            "Hourly PUE (exact energy ratio per clock hour) against the outdoor wet bulb at the start of the hour"
                .to_string(),
            pue_wet_bulb_svg(samples)?,
        ),
    ])
}
