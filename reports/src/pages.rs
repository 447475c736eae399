//! What goes on `report.html`: for a run, [`run_page_with`] ([`crate::run_report`]: headline figures, site,
//! timeline, monthly table, details; the Failures and Storage sections in `sections`); for a sweep, the
//! sweep, the plotted figures per point (mean ± 95% CI) and both sweep charts ([`crate::html::page`]).

use crate::figures::show;
use crate::html::{Table, page};
pub use crate::run_report::{DEFAULT_CURRENCY, RackValue, RunContext, run_page, run_page_with};
use crate::sweep::{PlotSpec, SweepRun, point_stats, sweep_figures};

/// What the sweep page says about the sweep (the figures of its manifest).
#[derive(Debug, Clone, Copy)]
pub struct SweepHeader<'a> {
    /// The sweep's name.
    pub name: &'a str,
    /// Runs in all.
    pub runs: u64,
    /// Points (combinations of axis values).
    pub points: u64,
    /// Runs per point.
    pub replicates: u64,
    /// The sweep hash (`fnv1a64:…`).
    pub sweep_hash: &'a str,
    /// The dctwin version that ran it.
    pub dctwin_version: &'a str,
}

/// The `report.html` of a sweep: a per-point table of the plotted figures (mean ± 95% CI) and the
/// two charts, given as SVG text (`sweep_figure.svg`, `sweep_tradeoff.svg`).
pub fn sweep_page(
    header: &SweepHeader<'_>,
    axes: &[String],
    runs: &[SweepRun],
    plot: &PlotSpec,
    figure_svg: String,
    tradeoff_svg: String,
) -> String {
    let charts = [
        (
            format!("{} against the first axis", plot.figure),
            figure_svg,
        ),
        ("Trade-off and Pareto front".to_string(), tradeoff_svg),
    ];
    let m = header;
    let intro = vec![format!(
        "Sweep {}: {} runs = {} point(s) × {} replicate(s); sweep hash {}; dctwin {}. \
         Full tables: results.csv (per run) and points.csv (per point: mean, sd, 95% CI of every key figure).",
        m.name, m.runs, m.points, m.replicates, m.sweep_hash, m.dctwin_version
    )];
    page(
        &format!("dctwin sweep: {}", m.name),
        &intro,
        &[points_table(axes, runs, plot)],
        &charts,
    )
}

/// The `Points` table: point, axis values, replicates, then each plotted figure (once, if any run
/// has it) as `mean ± ci95` (the mean alone with one replicate).
fn points_table(axes: &[String], runs: &[SweepRun], plot: &PlotSpec) -> Table {
    let figures = sweep_figures(runs);
    let shown: Vec<String> = [&plot.figure, &plot.tradeoff.0, &plot.tradeoff.1]
        .into_iter()
        .fold(Vec::new(), |mut acc, f| {
            if figures.contains(f) && !acc.contains(f) {
                acc.push(f.clone());
            }
            acc
        });
    let points = point_stats(runs, &shown);
    let mut header = vec!["point".to_string()];
    header.extend(axes.iter().cloned());
    header.push("n".into());
    header.extend(shown.iter().map(|f| format!("{f} (mean ± 95% CI)")));
    let rows = points
        .iter()
        .map(|p| {
            let mut r = vec![p.point.to_string()];
            r.extend(p.params.iter().cloned());
            r.push(p.n.to_string());
            r.extend(p.estimates.iter().map(|e| match e.ci95 {
                Some(h) => format!("{} ± {}", show(Some(e.mean), false), show(Some(h), false)),
                None => show(Some(e.mean), false),
            }));
            r
        })
        .collect();
    ("Points".to_string(), header, rows)
}
