//! SVG line charts of the time series, rendered with plotters' SVG backend into a `String`.
//!
//! Text (captions, tick labels, axis names) is emitted as SVG `<text>` elements for the viewer to
//! lay out, so no font files are needed at build or run time; plotters only estimates text sizes.
//! The output depends only on the samples: no timestamps, no randomness, so it is byte-for-byte
//! reproducible.

use std::io;
use std::ops::Range;

use output::{FailureSample, FailuresSummary, Sample};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Canvas size in pixels (width, height).
const SIZE: (u32, u32) = (960, 540);
/// Above this many points a series is thinned (see [`decimate`]); an SVG polyline with hundreds of
/// thousands of vertices is slow to open and no more informative than ~2 points per pixel column.
const MAX_POINTS: usize = 4000;
/// Number of buckets a thinned series keeps (up to 4 points each).
const BUCKETS: usize = 1000;

const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(230, 115, 0);
const GREY: RGBColor = RGBColor(110, 110, 110);
const RED: RGBColor = RGBColor(214, 39, 40);

const SECONDS_PER_HOUR: f64 = 3600.0;

use crate::calendar::{Calendar, TimeAxis, time_axis};

/// A linear coordinate in run seconds whose key points (ticks and grid lines) are the [`TimeAxis`]'s. Written
/// here rather than plotters' `WithKeyPoints`, which leaves a float axis without the default label formatting
/// that `configure_mesh` asks for (the labels come from [`TimeX::label`] anyway).
pub(crate) struct TimeCoord {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ranged for TimeCoord {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }
}

/// The time axis of a chart: run seconds across, with the ticks and title of [`time_axis`] — clock hours,
/// dates or months when the run has a calendar (its weather's), hours or days since the start without one —
/// as `report.html` draws them.
pub(crate) struct TimeX {
    /// From the first to the last finite sample time, s (an hour from the first when they coincide).
    pub(crate) range: Range<f64>,
    axis: TimeAxis,
}

impl TimeX {
    /// The axis of `samples` under `cal`.
    pub(crate) fn of(samples: &[Sample], cal: Option<&Calendar>) -> Self {
        let (lo, hi) = bounds(samples.iter().map(|s| s.time_s).filter(|t| t.is_finite()))
            .unwrap_or((0.0, SECONDS_PER_HOUR));
        let mut axis = time_axis(cal, lo, hi);
        let range = axis.t0..axis.t1;
        axis.ticks
            .retain(|(t, _)| *t >= range.start && *t <= range.end);
        TimeX { range, axis }
    }

    /// The coordinate for plotters: the range with the axis's ticks as key points.
    pub(crate) fn coord(&self) -> TimeCoord {
        TimeCoord {
            inner: self.range.clone().into(),
            ticks: self.axis.ticks.iter().map(|(t, _)| *t).collect(),
        }
    }

    /// The label of the tick at `t` (plotters asks for the key points only).
    pub(crate) fn label(&self, t: &f64) -> String {
        let eps = (self.range.end - self.range.start) * 1e-9;
        self.axis
            .ticks
            .iter()
            .find(|(at, _)| (at - t).abs() <= eps)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    }

    /// The axis title ("date", "time of day (from 1 Jan)", "days since the start", …).
    pub(crate) fn title(&self) -> &str {
        &self.axis.title
    }
}

/// One line on a panel.
struct Series {
    label: &'static str,
    color: RGBColor,
    /// Dashed reference line rather than data.
    dashed: bool,
    points: Vec<(f64, f64)>,
}

/// Renders `it_power.svg`: IT power in kW (`it_power_w / 1000`) against time ([`TimeX`]: calendar axes under
/// `cal`).
///
/// Empty, single-sample and constant series render (as an empty or flat chart) without error;
/// samples with non-finite values are skipped. Long series are thinned to at most ~4000 points per
/// line, keeping every bucket's first, last, minimum and maximum, so peaks stay visible.
pub fn it_power_svg(samples: &[Sample], cal: Option<&Calendar>) -> io::Result<String> {
    let power = Series {
        label: "IT power",
        color: BLUE,
        dashed: false,
        points: points(samples, |s| s.it_power_w / 1000.0),
    };
    let x = TimeX::of(samples, cal);
    render(|root| {
        let root = root.titled("IT power", ("sans-serif", 24))?;
        panel(&root, &x, "IT power (kW)", &[power])?;
        Ok(())
    })
}

/// Renders `utilization_queue.svg`: two stacked panels against time ([`TimeX`]) — busy GPUs (top;
/// with a dashed line at `gpus_total`, the installed GPU count, when given) and queued jobs
/// (bottom).
///
/// Handles empty, constant and non-finite data like [`it_power_svg`].
pub fn utilization_queue_svg(
    samples: &[Sample],
    gpus_total: Option<u64>,
    cal: Option<&Calendar>,
) -> io::Result<String> {
    let x = TimeX::of(samples, cal);
    let mut top = vec![Series {
        label: "busy GPUs",
        color: BLUE,
        dashed: false,
        points: points(samples, |s| s.busy_gpus),
    }];
    if let Some(total) = gpus_total {
        top.push(Series {
            label: "GPUs installed",
            color: GREY,
            dashed: true,
            points: vec![(x.range.start, total as f64), (x.range.end, total as f64)],
        });
    }
    let bottom = [Series {
        label: "queued jobs",
        color: ORANGE,
        dashed: false,
        points: points(samples, |s| s.queued_jobs as f64),
    }];
    render(|root| {
        let root = root.titled("GPU utilization and job queue", ("sans-serif", 24))?;
        let halves = root.split_evenly((2, 1));
        panel(&halves[0], &x, "busy GPUs", &top)?;
        panel(&halves[1], &x, "queued jobs", &bottom)?;
        Ok(())
    })
}

/// Renders `failures.svg`: two stacked panels against time ([`TimeX`]) — servers down for failures (top) and
/// failures so far (bottom), both as steps (each sample's value held until the next). With the run's
/// `failures` summary and failures drawn from the classes' lifetimes (not replayed from a trace), the bottom
/// panel also has a dashed line of the failures expected at the configured MTBFs (Σ units ÷ MTBF per hour
/// from time 0; a long-run mean for Weibull classes).
///
/// Samples without failure columns are skipped; with none at all the panels say "no samples". Handles empty,
/// constant and non-finite data like [`it_power_svg`].
pub fn failures_svg(
    samples: &[Sample],
    summary: Option<&FailuresSummary>,
    cal: Option<&Calendar>,
) -> io::Result<String> {
    let x = TimeX::of(samples, cal);
    let with = |value: fn(&FailureSample) -> u64| {
        steps(points_of(samples, |s| {
            s.failures.as_ref().map(|f| value(f) as f64)
        }))
    };
    let top = [Series {
        label: "servers down for failures",
        color: RED,
        dashed: false,
        points: with(|f| f.servers_failed),
    }];
    let mut bottom = vec![Series {
        label: "failures so far",
        color: ORANGE,
        dashed: false,
        points: with(|f| f.failures_total),
    }];
    let rate_per_h: f64 = summary
        .filter(|f| f.source != "trace")
        .map(|f| {
            f.classes
                .iter()
                .filter(|c| c.mtbf_h.is_finite() && c.mtbf_h > 0.0)
                .map(|c| c.units as f64 / c.mtbf_h)
                .sum()
        })
        .unwrap_or(0.0);
    if rate_per_h > 0.0 && rate_per_h.is_finite() && !bottom[0].points.is_empty() {
        bottom.push(Series {
            label: "expected at the configured MTBFs",
            color: GREY,
            dashed: true,
            points: [x.range.start, x.range.end]
                .map(|t| (t, rate_per_h * t / SECONDS_PER_HOUR))
                .to_vec(),
        });
    }
    render(|root| {
        let root = root.titled("Hardware failures", ("sans-serif", 24))?;
        let halves = root.split_evenly((2, 1));
        panel(&halves[0], &x, "servers down (failures)", &top)?;
        panel(&halves[1], &x, "failures so far", &bottom)?;
        Ok(())
    })
}

/// A step line through `points`: each value held until the next point's time.
fn steps(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (i, &p) in points.iter().enumerate() {
        if i > 0 {
            out.push((p.0, points[i - 1].1));
        }
        out.push(p);
    }
    out
}

type DrawResult<T> = Result<T, DrawingAreaErrorKind<io::Error>>;

/// Creates the canvas, fills it white, runs `draw`, and returns the finished SVG text.
pub(crate) fn render(
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult<()>,
) -> io::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        draw(&root).map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

fn draw_error(e: DrawingAreaErrorKind<io::Error>) -> io::Error {
    io::Error::other(format!("drawing the chart: {e}"))
}

/// Draws one chart: axes and grid (time across, [`TimeX`]), `series`, and a legend when there is
/// more than one line. With no data points at all, writes "no samples" in the plot area.
fn panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    x: &TimeX,
    y_desc: &str,
    series: &[Series],
) -> DrawResult<()> {
    let y = y_range(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(52)
        .y_label_area_size(80)
        .build_cartesian_2d(x.coord(), y.clone())?;
    chart
        .configure_mesh()
        .x_desc(x.title())
        .y_desc(y_desc)
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .y_labels(8)
        .x_label_formatter(&|t| x.label(t))
        .y_label_formatter(&tick)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;

    for s in series {
        let points = s.points.iter().copied();
        if s.dashed {
            let style = s.color.stroke_width(1);
            chart
                .draw_series(DashedLineSeries::new(points, 6, 4, style))?
                .label(s.label)
                .legend(move |(x, y)| {
                    plotters::element::DashedPathElement::new([(x, y), (x + 20, y)], 6, 4, style)
                });
        } else {
            let style = s.color.stroke_width(2);
            chart
                .draw_series(LineSeries::new(points, style))?
                .label(s.label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
        }
    }
    if series.len() > 1 {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(GREY)
            .label_font(("sans-serif", 15))
            .draw()?;
    }

    if series.iter().all(|s| s.dashed || s.points.is_empty()) {
        let centre = ((x.range.start + x.range.end) / 2.0, (y.start + y.end) / 2.0);
        let style = TextStyle::from(("sans-serif", 20).into_font())
            .color(&GREY)
            .pos(Pos::new(HPos::Center, VPos::Center));
        chart
            .plotting_area()
            .draw(&Text::new("no samples", centre, style))?;
    }
    Ok(())
}

/// A tick label: at most 6 decimals, trailing zeros dropped (`20`, `0.25`, `1.5`).
pub(crate) fn tick(v: &f64) -> String {
    let s = format!("{v:.6}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// `(time in s, value)` for every sample whose time and value are finite, thinned if long.
fn points(samples: &[Sample], value: impl Fn(&Sample) -> f64) -> Vec<(f64, f64)> {
    points_of(samples, |s| Some(value(s)))
}

/// [`points`] of the samples that have a value.
fn points_of(samples: &[Sample], value: impl Fn(&Sample) -> Option<f64>) -> Vec<(f64, f64)> {
    let all: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|s| value(s).map(|v| (s.time_s, v)))
        .filter(|(t, v)| t.is_finite() && v.is_finite())
        .collect();
    decimate(all)
}

/// Thins a long series for drawing: splits it into [`BUCKETS`] consecutive runs and keeps, from
/// each, its first, minimum, maximum and last points in their original order. Series of at most
/// [`MAX_POINTS`] points are returned unchanged.
fn decimate(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if points.len() <= MAX_POINTS {
        return points;
    }
    let chunk = points.len().div_ceil(BUCKETS);
    let mut kept = Vec::with_capacity(4 * BUCKETS);
    for (c, run) in points.chunks(chunk).enumerate() {
        let base = c * chunk;
        let (mut lo, mut hi) = (0, 0);
        for (i, p) in run.iter().enumerate() {
            if p.1 < run[lo].1 {
                lo = i;
            }
            if p.1 > run[hi].1 {
                hi = i;
            }
        }
        let mut idx = [0, lo, hi, run.len() - 1];
        idx.sort_unstable();
        let mut last = None;
        for i in idx {
            if last != Some(i) {
                kept.push(points[base + i]);
                last = Some(i);
            }
        }
    }
    kept
}

/// A value axis: always includes zero, with 5% headroom beyond the data.
pub(crate) fn y_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = bounds(values.filter(|v| v.is_finite())).unwrap_or((0.0, 0.0));
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let span = hi - lo;
    let pad = if span.is_finite() { span * 0.05 } else { 0.0 };
    let lo = if lo < 0.0 { lo - pad } else { lo };
    let hi = if hi > 0.0 { hi + pad } else { hi };
    widen(lo, hi)
}

fn bounds(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Makes `lo..hi` a usable axis range: a zero, too-narrow or infinite span (a constant series, a
/// single sample, absurd values) becomes a range of width max(1, 1% of |lo|) starting at `lo`
/// (ending at `lo` if it would overflow).
pub(crate) fn widen(lo: f64, hi: f64) -> Range<f64> {
    let span = hi - lo;
    if span.is_finite() && span > lo.abs().max(hi.abs()) * 1e-9 {
        return lo..hi;
    }
    let lo = if lo.is_finite() { lo } else { 0.0 };
    let width = (lo.abs() * 0.01).max(1.0);
    let hi = lo + width;
    if hi.is_finite() {
        lo..hi
    } else {
        lo - width..lo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_drop_trailing_zeros() {
        assert_eq!(tick(&20.0), "20");
        assert_eq!(tick(&0.0), "0");
        assert_eq!(tick(&-0.0), "0");
        assert_eq!(tick(&0.25), "0.25");
        assert_eq!(tick(&(0.1 + 0.2)), "0.3");
        assert_eq!(tick(&-1.5), "-1.5");
        assert_eq!(tick(&1200.0), "1200");
    }

    #[test]
    fn widen_handles_degenerate_spans() {
        assert_eq!(widen(0.0, 0.0), 0.0..1.0);
        assert_eq!(widen(5.0, 5.0), 5.0..6.0);
        assert_eq!(widen(1000.0, 1000.0), 1000.0..1010.0);
        assert_eq!(widen(2.0, 3.0), 2.0..3.0);
        let r = widen(f64::MAX, f64::MAX);
        assert!(r.start < r.end && r.end == f64::MAX);
        let r = widen(-f64::MAX, f64::MAX);
        assert!(r.start.is_finite() && r.end.is_finite() && r.end > r.start);
    }

    #[test]
    fn y_range_includes_zero_with_headroom() {
        let r = y_range([10.0, 20.0].into_iter());
        assert_eq!(r.start, 0.0);
        assert!(r.end > 20.0);
        let r = y_range([-4.0, -2.0].into_iter());
        assert!(r.start < -4.0);
        assert_eq!(r.end, 0.0);
        assert_eq!(y_range(std::iter::empty()), 0.0..1.0);
        assert_eq!(y_range([f64::NAN].into_iter()), 0.0..1.0);
    }

    #[test]
    fn decimate_keeps_short_series_and_extremes_of_long_ones() {
        let short: Vec<_> = (0..10).map(|i| (i as f64, i as f64)).collect();
        assert_eq!(decimate(short.clone()), short);

        let mut long: Vec<_> = (0..100_000).map(|i| (i as f64, (i % 7) as f64)).collect();
        long[54_321].1 = 1e6;
        long[77_777].1 = -1e6;
        let kept = decimate(long.clone());
        assert!(kept.len() <= 4 * BUCKETS);
        assert_eq!(kept.first(), long.first());
        assert_eq!(kept.last(), long.last());
        assert!(kept.contains(&long[54_321]));
        assert!(kept.contains(&long[77_777]));
        assert!(kept.windows(2).all(|w| w[0].0 < w[1].0), "time order kept");
    }
}
