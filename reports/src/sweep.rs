//! What a sweep writes: `results.csv` (one row per run), `points.csv` (per point: mean, standard
//! deviation and 95% confidence interval of every key figure over the replicates), the chart of a
//! figure against the first axis with confidence bands (`sweep_figure.svg`) and the trade-off
//! scatter of two figures with the Pareto front marked (`sweep_tradeoff.svg`).
//!
//! Everything is a function of the runs in `k` order, so the same runs give the same bytes however
//! they were computed (threads, shards). Formats: `docs/sweeps.md`.

use std::fmt::Write as _;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::Value;

use crate::csvtext::CsvText;
use crate::figures::{key_figures, lookup, number, number_text};
use crate::stats::Estimate;
use crate::{ReportError, write_atomic};

/// File name of the per-run table.
pub const RESULTS_CSV: &str = "results.csv";
/// File name of the per-point table.
pub const POINTS_CSV: &str = "points.csv";
/// File name of the figure-against-first-axis chart.
pub const FIGURE_SVG: &str = "sweep_figure.svg";
/// File name of the trade-off scatter.
pub const TRADEOFF_SVG: &str = "sweep_tradeoff.svg";

/// One finished run of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRun {
    /// Run index: `point × replicates + replicate`.
    pub k: u64,
    /// Point index (a combination of axis values).
    pub point: u64,
    /// Replicate index within the point.
    pub replicate: u64,
    /// The scenario seed of the run.
    pub seed: u64,
    /// The value of each axis at this point (the `--set` text), in axis order.
    pub params: Vec<String>,
    /// The JSON image of the run's `summary.json`.
    pub summary: Value,
}

/// Which figures the charts show.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotSpec {
    /// Figure drawn against the first axis (`sweep_figure.svg`).
    pub figure: String,
    /// Figures on the x and y axes of the trade-off scatter; both are minimised for the Pareto front.
    pub tradeoff: (String, String),
}

/// The key figures present in any of `runs`, in first-seen order.
pub fn sweep_figures(runs: &[SweepRun]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in runs {
        for n in key_figures(&r.summary) {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    names
}

/// `results.csv`: `k,point,replicate,seed`, one column per axis (its dotted path), then one per
/// figure; one row per run in the order given (callers pass `k` order).
pub fn results_csv(axes: &[String], runs: &[SweepRun], figures: &[String]) -> String {
    let mut csv = CsvText::new();
    let header = ["k", "point", "replicate", "seed"];
    csv.record(
        header
            .iter()
            .copied()
            .chain(axes.iter().chain(figures).map(String::as_str)),
    );
    for r in runs {
        csv.num(r.k);
        csv.num(r.point);
        csv.num(r.replicate);
        csv.num(r.seed);
        r.params.iter().for_each(|p| csv.field(p));
        figures
            .iter()
            .for_each(|f| csv.field(number_text(lookup(&r.summary, f))));
        csv.end();
    }
    csv.finish()
}

/// One point of the sweep: its axis values and the estimate of every figure over its replicates.
#[derive(Debug, Clone, PartialEq)]
pub struct PointStats {
    /// Point index.
    pub point: u64,
    /// Axis values.
    pub params: Vec<String>,
    /// Replicates at the point.
    pub n: u64,
    /// One estimate per figure (parallel to the figure list); runs lacking the figure are left out.
    pub estimates: Vec<Estimate>,
}

/// Groups `runs` (in `k` order) by point and estimates every figure.
pub fn point_stats(runs: &[SweepRun], figures: &[String]) -> Vec<PointStats> {
    let mut points: Vec<PointStats> = Vec::new();
    let mut start = 0;
    while start < runs.len() {
        let p = runs[start].point;
        let end = start + runs[start..].iter().take_while(|r| r.point == p).count();
        let group = &runs[start..end];
        let estimates = figures
            .iter()
            .map(|f| {
                let values: Vec<f64> = group
                    .iter()
                    .filter_map(|r| number(lookup(&r.summary, f)))
                    .collect();
                Estimate::of(&values)
            })
            .collect();
        points.push(PointStats {
            point: p,
            params: group[0].params.clone(),
            n: group.len() as u64,
            estimates,
        });
        start = end;
    }
    points
}

fn opt_text(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map(|x| x.to_string())
        .unwrap_or_default()
}

/// `points.csv`: `point`, one column per axis, `n`, then for each figure `<figure>.mean`,
/// `<figure>.sd` and `<figure>.ci95` (half-width of the 95% interval of the mean); sd and ci95 are
/// empty with fewer than two replicates.
pub fn points_csv(axes: &[String], points: &[PointStats], figures: &[String]) -> String {
    let mut csv = CsvText::new();
    let mut header = vec!["point".to_string()];
    header.extend(axes.iter().cloned());
    header.push("n".into());
    for f in figures {
        for s in ["mean", "sd", "ci95"] {
            header.push(format!("{f}.{s}"));
        }
    }
    csv.record(&header);
    for p in points {
        csv.num(p.point);
        p.params.iter().for_each(|v| csv.field(v));
        csv.num(p.n);
        for e in &p.estimates {
            csv.field(opt_text(Some(e.mean)));
            csv.field(opt_text(e.sd));
            csv.field(opt_text(e.ci95));
        }
        csv.end();
    }
    csv.finish()
}

/// Writes `results.csv`, `points.csv`, `sweep_figure.svg` and `sweep_tradeoff.svg` into `out_dir`
/// (created if missing), each atomically; returns the paths in that order.
pub fn write_sweep(
    out_dir: &Path,
    axes: &[String],
    runs: &[SweepRun],
    plot: &PlotSpec,
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(out_dir)
        .map_err(|e| ReportError::new("creating directory", out_dir, e))?;
    let figures = sweep_figures(runs);
    let points = point_stats(runs, &figures);
    let mut written = Vec::new();
    let mut write = |name: &str, text: io::Result<String>| -> Result<(), ReportError> {
        let path = out_dir.join(name);
        let text = text.map_err(|e| ReportError::new("rendering", &path, e))?;
        write_atomic(&path, text.as_bytes())?;
        written.push(path);
        Ok(())
    };
    write(RESULTS_CSV, Ok(results_csv(axes, runs, &figures)))?;
    write(POINTS_CSV, Ok(points_csv(axes, &points, &figures)))?;
    write(
        FIGURE_SVG,
        figure_svg(axes, &points, &figures, &plot.figure),
    )?;
    write(
        TRADEOFF_SVG,
        tradeoff_svg(runs, &points, &figures, &plot.tradeoff),
    )?;
    Ok(written)
}

/// Indices of the Pareto-optimal entries of `xy` when both coordinates are minimised, in
/// increasing x: an entry is on the front when no other is at least as good in both and better in
/// one. Ties (identical pairs) keep the first. Non-finite pairs are ignored.
pub fn pareto_front(xy: &[(f64, f64)]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..xy.len())
        .filter(|&i| xy[i].0.is_finite() && xy[i].1.is_finite())
        .collect();
    idx.sort_by(|&a, &b| {
        xy[a]
            .0
            .total_cmp(&xy[b].0)
            .then(xy[a].1.total_cmp(&xy[b].1))
            .then(a.cmp(&b))
    });
    let mut front = Vec::new();
    let mut best_y = f64::INFINITY;
    for i in idx {
        if xy[i].1 < best_y {
            front.push(i);
            best_y = xy[i].1;
        }
    }
    front
}

const SIZE: (u32, u32) = (960, 600);
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(230, 115, 0),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
    RGBColor(188, 189, 34),
];
const GREY: RGBColor = RGBColor(150, 150, 150);
const RED: RGBColor = RGBColor(214, 39, 40);

/// A labelled line of (x, mean, CI half-width) points.
type MeanSeries = (String, Vec<(f64, f64, f64)>);

type DrawResult<T> = Result<T, DrawingAreaErrorKind<io::Error>>;

fn render(
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult<()>,
) -> io::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<io::Error>| {
            io::Error::other(format!("drawing the chart: {e}"))
        };
        root.fill(&WHITE).map_err(err)?;
        draw(&root).map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Tick label: plain decimals (≤ 6 places, trailing zeros dropped) for moderate magnitudes,
/// scientific notation (`5.43e11`) for large or tiny ones.
pub(crate) fn tick(v: &f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        return format!("{v:.3e}");
    }
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// An axis range covering `values` with 5% padding (a unit range around a constant).
pub(crate) fn span(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold(None, |acc: Option<(f64, f64)>, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
        .unwrap_or((0.0, 1.0));
    let w = hi - lo;
    if !(w.is_finite() && w > lo.abs().max(hi.abs()) * 1e-12) {
        let pad = (lo.abs() * 0.05).max(0.5);
        return lo - pad..lo + pad;
    }
    lo - 0.05 * w..hi + 0.05 * w
}

/// Renders `sweep_figure.svg`: `figure` (mean over replicates, error bars and a shaded band of the
/// 95% CI) against the first axis; one line per combination of the other axes. A non-numeric first
/// axis is drawn at positions 0, 1, 2… in order of first appearance; a sweep without axes draws
/// its single point at x = 0.
pub fn figure_svg(
    axes: &[String],
    points: &[PointStats],
    figures: &[String],
    figure: &str,
) -> io::Result<String> {
    let fi = figures.iter().position(|f| f == figure);
    let x_name = axes.first().cloned().unwrap_or_else(|| "point".to_string());
    // x position of each point.
    let firsts: Vec<&str> = points
        .iter()
        .map(|p| p.params.first().map(String::as_str).unwrap_or("0"))
        .collect();
    let numeric = firsts
        .iter()
        .all(|s| s.parse::<f64>().is_ok_and(f64::is_finite));
    let mut distinct: Vec<&str> = Vec::new();
    for s in &firsts {
        if !distinct.contains(s) {
            distinct.push(s);
        }
    }
    let xs: Vec<f64> = firsts
        .iter()
        .map(|s| {
            if numeric {
                s.parse().unwrap_or(0.0)
            } else {
                distinct.iter().position(|d| d == s).unwrap_or(0) as f64
            }
        })
        .collect();
    // Series: one per combination of the remaining axes, in first-seen order.
    let mut series: Vec<MeanSeries> = Vec::new();
    if let Some(fi) = fi {
        for (p, &x) in points.iter().zip(&xs) {
            let label = axes
                .iter()
                .zip(&p.params)
                .skip(1)
                .map(|(a, v)| format!("{}={v}", a.rsplit('.').next().unwrap_or(a)))
                .collect::<Vec<_>>()
                .join(", ");
            let e = &p.estimates[fi];
            if !e.mean.is_finite() {
                continue;
            }
            let h = e.ci95.unwrap_or(0.0);
            match series.iter_mut().find(|(l, _)| *l == label) {
                Some((_, v)) => v.push((x, e.mean, h)),
                None => series.push((label, vec![(x, e.mean, h)])),
            }
        }
    }
    for (_, v) in &mut series {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let xr = span(xs.iter().copied());
    let yr = span(
        series
            .iter()
            .flat_map(|(_, v)| v.iter().flat_map(|&(_, m, h)| [m - h, m + h])),
    );
    let title = format!("{figure} against {x_name} (mean, 95% CI)");
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 22))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(96)
            .build_cartesian_2d(xr, yr)?;
        chart
            .configure_mesh()
            .x_desc(x_name.as_str())
            .y_desc(figure)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        for (i, (label, pts)) in series.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            if pts.len() > 1 {
                let mut band: Vec<(f64, f64)> = pts.iter().map(|&(x, m, h)| (x, m + h)).collect();
                band.extend(pts.iter().rev().map(|&(x, m, h)| (x, m - h)));
                chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.18).filled())))?;
            }
            let line = chart.draw_series(LineSeries::new(
                pts.iter().map(|&(x, m, _)| (x, m)),
                c.stroke_width(2),
            ))?;
            if !label.is_empty() {
                let style = c.stroke_width(2);
                line.label(label.as_str())
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
            }
            chart.draw_series(
                pts.iter().filter(|p| p.2 > 0.0).map(|&(x, m, h)| {
                    PathElement::new([(x, m - h), (x, m + h)], c.stroke_width(1))
                }),
            )?;
            chart.draw_series(
                pts.iter()
                    .map(|&(x, m, _)| Circle::new((x, m), 3, c.filled())),
            )?;
        }
        if series.len() > 1 || series.iter().any(|(l, _)| !l.is_empty()) {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(GREY)
                .label_font(("sans-serif", 14))
                .draw()?;
        }
        Ok(())
    })
}

/// Renders `sweep_tradeoff.svg`: every run (grey dots) and every point's mean (blue) in the plane
/// of two figures, with the Pareto front of the point means (both figures minimised) joined in red.
pub fn tradeoff_svg(
    runs: &[SweepRun],
    points: &[PointStats],
    figures: &[String],
    (fx, fy): &(String, String),
) -> io::Result<String> {
    let run_xy: Vec<(f64, f64)> = runs
        .iter()
        .filter_map(|r| {
            Some((
                number(lookup(&r.summary, fx))?,
                number(lookup(&r.summary, fy))?,
            ))
        })
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let (ix, iy) = (
        figures.iter().position(|f| f == fx),
        figures.iter().position(|f| f == fy),
    );
    let means: Vec<(f64, f64)> = match (ix, iy) {
        (Some(ix), Some(iy)) => points
            .iter()
            .map(|p| (p.estimates[ix].mean, p.estimates[iy].mean))
            .collect(),
        _ => Vec::new(),
    };
    let front: Vec<(f64, f64)> = pareto_front(&means).into_iter().map(|i| means[i]).collect();
    let xr = span(run_xy.iter().chain(&means).map(|p| p.0));
    let yr = span(run_xy.iter().chain(&means).map(|p| p.1));
    let title = format!("Trade-off: {fy} against {fx} (Pareto front of point means in red)");
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(96)
            .build_cartesian_2d(xr, yr)?;
        chart
            .configure_mesh()
            .x_desc(fx.as_str())
            .y_desc(fy.as_str())
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        chart
            .draw_series(run_xy.iter().map(|&p| Circle::new(p, 2, GREY.filled())))?
            .label("run")
            .legend(|(x, y)| Circle::new((x + 10, y), 3, GREY.filled()));
        chart
            .draw_series(
                means
                    .iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                    .map(|&p| Circle::new(p, 4, PALETTE[0].filled())),
            )?
            .label("point mean")
            .legend(|(x, y)| Circle::new((x + 10, y), 4, PALETTE[0].filled()));
        chart
            .draw_series(LineSeries::new(front.iter().copied(), RED.stroke_width(2)))?
            .label("Pareto front")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
        chart.draw_series(
            front
                .iter()
                .map(|&p| Circle::new(p, 6, RED.stroke_width(2))),
        )?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(GREY)
            .label_font(("sans-serif", 14))
            .draw()?;
        Ok(())
    })
}

/// Renders a Markdown table (header row, alignment row, rows), cells escaped for `|`.
pub fn markdown_table(header: &[String], rows: &[Vec<String>]) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| {} |",
        header
            .iter()
            .map(|h| esc(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(
        out,
        "|{}|",
        header
            .iter()
            .enumerate()
            .map(|(i, _)| if i == 0 { "---" } else { "---:" })
            .collect::<Vec<_>>()
            .join("|")
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} |",
            r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(k: u64, point: u64, x: &str, it: f64, wait: f64) -> SweepRun {
        SweepRun {
            k,
            point,
            replicate: k % 2,
            seed: 100 + k,
            params: vec![x.to_string()],
            summary: json!({"energy": {"it_j": it}, "jobs": {"completed": 3, "wait_s": {"p99": wait}}}),
        }
    }

    #[test]
    fn tables_and_charts() {
        let runs = vec![
            run(0, 0, "1", 10.0, 5.0),
            run(1, 0, "1", 12.0, 7.0),
            run(2, 1, "2", 20.0, 1.0),
            run(3, 1, "2", 22.0, 2.0),
        ];
        let axes = vec!["a.b".to_string()];
        let figs = sweep_figures(&runs);
        assert_eq!(figs, ["energy.it_j", "jobs.completed", "jobs.wait_s.p99"]);
        let res = results_csv(&axes, &runs, &figs);
        assert_eq!(
            res.lines().next().unwrap(),
            "k,point,replicate,seed,a.b,energy.it_j,jobs.completed,jobs.wait_s.p99"
        );
        assert_eq!(res.lines().nth(2).unwrap(), "1,0,1,101,1,12,3,7");
        let pts = point_stats(&runs, &figs);
        assert_eq!(pts.len(), 2);
        assert_eq!(pts[1].estimates[0].mean, 21.0);
        let csv = points_csv(&axes, &pts, &figs);
        assert!(csv.starts_with("point,a.b,n,energy.it_j.mean,energy.it_j.sd,energy.it_j.ci95,"));
        assert!(csv.lines().nth(1).unwrap().starts_with("0,1,2,11,1.414"));
        let svg = figure_svg(&axes, &pts, &figs, "energy.it_j").unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("polygon"));
        let plot = ("energy.it_j".to_string(), "jobs.wait_s.p99".to_string());
        let svg = tradeoff_svg(&runs, &pts, &figs, &plot).unwrap();
        assert!(svg.contains("Pareto front"));
        // Unknown figures and empty sweeps still render.
        figure_svg(&[], &[], &[], "nope").unwrap();
        tradeoff_svg(&[], &[], &[], &plot).unwrap();
    }

    #[test]
    fn pareto_front_minimises_both() {
        let xy = [
            (1.0, 5.0),
            (2.0, 3.0),
            (3.0, 4.0),
            (4.0, 1.0),
            (1.0, 6.0),
            (2.0, 3.0),
        ];
        assert_eq!(pareto_front(&xy), vec![0, 1, 3]);
        assert_eq!(pareto_front(&[(f64::NAN, 1.0)]), Vec::<usize>::new());
    }

    #[test]
    fn markdown_escapes_pipes() {
        let t = markdown_table(&["a".into(), "b".into()], &[vec!["x|y".into(), "1".into()]]);
        assert_eq!(t, "| a | b |\n|---|---:|\n| x\\|y | 1 |\n");
    }
}
