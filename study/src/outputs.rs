//! The outputs of a complete sweep, reduced from its records in `k` order: `runs.jsonl`,
//! `results.csv`, `points.csv`, the two charts and `report.html`. An unsharded sweep and a merge of
//! shard files call the same reduction.

use std::fs;
use std::path::{Path, PathBuf};

use reports::pages::{SweepHeader, sweep_page};
use reports::sweep::{FIGURE_SVG, PlotSpec, SweepRun, TRADEOFF_SVG};

use crate::error::{Error, internal_write};
use crate::record::{MANIFEST_JSON, Manifest, RUNS_JSONL, parse_record};

/// Every file a complete sweep (or a merge) writes: the set that replaces the output directory as a
/// whole. Shard files and anything else in the directory are carried over.
pub(crate) const SWEEP_FILES: &[&str] = &[
    MANIFEST_JSON,
    RUNS_JSONL,
    reports::sweep::RESULTS_CSV,
    reports::sweep::POINTS_CSV,
    FIGURE_SVG,
    TRADEOFF_SVG,
    reports::html::REPORT_HTML,
];

/// Checks the output directory of a complete sweep or a merge before the work and stages its
/// replacement; an unusable location is bad input.
pub(crate) fn prepare_out(out: &Path) -> Result<reports::OutputDir, Error> {
    reports::OutputDir::prepare(out, SWEEP_FILES).map_err(|e| Error::Input(e.to_string()))
}

/// Writes the manifest text and the outputs into the staging directory and swaps it in; returns the
/// outputs' final paths (as for [`write_outputs`]).
pub(crate) fn write_sweep_set(
    staged: reports::OutputDir,
    manifest_json: &str,
    m: &Manifest,
    lines: &[String],
) -> Result<Vec<PathBuf>, Error> {
    reports::write_atomic(&staged.path().join(MANIFEST_JSON), manifest_json.as_bytes())
        .map_err(internal_write)?;
    let written = write_outputs(staged.path(), m, lines)?;
    let written = written.iter().map(|p| staged.final_path(p)).collect();
    staged.commit().map_err(internal_write)?;
    Ok(written)
}

/// Reduces the records (in `k` order) to the sweep's outputs: `runs.jsonl`, `results.csv`,
/// `points.csv` and the charts. Parses each line back, so an unsharded sweep and a merge of shard
/// files see exactly the same values.
fn write_outputs(out: &Path, m: &Manifest, lines: &[String]) -> Result<Vec<PathBuf>, Error> {
    let mut runs = Vec::with_capacity(lines.len());
    for (k, line) in lines.iter().enumerate() {
        let rec = parse_record(line)
            .map_err(|e| Error::Internal(format!("record k={k} does not parse back: {e}")))?;
        runs.push(rec.into_run(&m.axes));
    }
    let mut jsonl = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        jsonl.push_str(l);
        jsonl.push('\n');
    }
    let runs_path = out.join(RUNS_JSONL);
    reports::write_atomic(&runs_path, jsonl.as_bytes()).map_err(internal_write)?;
    let plot = plot_spec(m, &runs);
    let mut written = vec![runs_path];
    written
        .extend(reports::sweep::write_sweep(out, &m.axes, &runs, &plot).map_err(internal_write)?);
    written.push(write_sweep_html(out, m, &runs, &plot)?);
    Ok(written)
}

/// The figures the charts show: the manifest's `plot` choice, else `energy.it_j` against the first
/// axis, and `energy.it_j` against `inference.ttft_s.p99` (when the first run has it) or
/// `jobs.wait_s.p99` in the trade-off.
fn plot_spec(m: &Manifest, runs: &[SweepRun]) -> PlotSpec {
    let present = |f: &str| {
        runs.first()
            .is_some_and(|r| reports::figures::lookup(&r.summary, f).is_some())
    };
    let figure = m
        .plot
        .figure
        .clone()
        .unwrap_or_else(|| "energy.it_j".into());
    let tradeoff = m.plot.tradeoff.clone().unwrap_or_else(|| {
        let y = if present("inference.ttft_s.p99") {
            "inference.ttft_s.p99"
        } else {
            "jobs.wait_s.p99"
        };
        ("energy.it_j".into(), y.into())
    });
    PlotSpec { figure, tradeoff }
}

/// `report.html` of a sweep, with the two charts just written read back from `out`.
fn write_sweep_html(
    out: &Path,
    m: &Manifest,
    runs: &[SweepRun],
    plot: &PlotSpec,
) -> Result<PathBuf, Error> {
    let read = |name: &str| {
        fs::read_to_string(out.join(name))
            .map_err(|e| Error::Internal(format!("reading {name}: {e}")))
    };
    let (figure_svg, tradeoff_svg) = (read(FIGURE_SVG)?, read(TRADEOFF_SVG)?);
    let header = SweepHeader {
        name: &m.name,
        runs: m.runs,
        points: m.points,
        replicates: m.replicates,
        sweep_hash: &m.sweep_hash,
        dctwin_version: &m.dctwin_version,
    };
    let html = sweep_page(&header, &m.axes, runs, plot, figure_svg, tradeoff_svg);
    let path = out.join(reports::html::REPORT_HTML);
    reports::write_atomic(&path, html.as_bytes()).map_err(internal_write)?;
    Ok(path)
}

/// Writes a run's output set (`reports::RUN_FILES`: summary, time series, per-entity tables, charts and
/// `report.html` with the page context of `loaded`) into the staging directory and swaps it in; returns
/// the outputs' final paths. `dctwin run` and the Python API both end a run here.
pub fn write_run_set(
    staged: reports::OutputDir,
    loaded: &scenario::LoadedScenario,
    output: &output::RunOutput,
) -> Result<Vec<PathBuf>, Error> {
    let internal = |e: &dyn std::fmt::Display| Error::Internal(format!("writing the report: {e}"));
    let ctx = crate::report_context(loaded);
    let mut written = reports::write_run_with(staged.path(), output, ctx.calendar.as_ref())
        .map_err(|e| internal(&e))?;
    let html = reports::pages::run_page_with(output, &ctx)
        .map_err(|e| Error::Internal(format!("rendering report.html: {e}")))?;
    let html_path = staged.path().join(reports::html::REPORT_HTML);
    reports::write_atomic(&html_path, html.as_bytes()).map_err(|e| internal(&e))?;
    written.push(html_path);
    let written: Vec<PathBuf> = written.iter().map(|p| staged.final_path(p)).collect();
    staged.commit().map_err(|e| internal(&e))?;
    Ok(written)
}
