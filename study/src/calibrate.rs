//! `dctwin calibrate`: fits named numeric fields of a scenario to measured telemetry (step times or
//! collective bandwidths, [`scenario::readers::telemetry`]) by bounded least squares on the relative errors
//! `(model − measured) / measured` ([`crate::lsq`]), and writes the fitted values as an overlay file
//! (`--set-file`). Model values come from loading the scenario with each point's configuration and the
//! trial parameters — the same estimates a run uses — so any numeric field can be fitted. Nothing is
//! simulated. Rules and formats: `docs/calibrate.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use models::training::{CommGroup, bus_bandwidth};
use scenario::readers::telemetry::{
    CollectiveMeasure, PointKind, PowerMeasure, TelemetryPoint, measured_label, read_telemetry,
};
use scenario::{InputError, LoadedScenario, Override, Workload, field_value, load_scenario};
use serde::Serialize;

use crate::error::Error;
use crate::lsq::{LsqOptions, solve};

/// One `--fit PATH=LO..HI`: a numeric scenario field and its bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct FitParam {
    pub path: String,
    pub lo: f64,
    pub hi: f64,
}

impl FitParam {
    /// Parses `dotted.path=LO..HI` (finite, LO < HI).
    pub fn parse(s: &str) -> Result<FitParam, String> {
        let bad = |why: &str| format!("`--fit {s}`: {why}; expected `dotted.path=LO..HI`");
        let (path, range) = s.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let path = path.trim();
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(bad(&format!("`{path}` is not a dotted field path")));
        }
        let (lo, hi) = range
            .split_once("..")
            .ok_or_else(|| bad("no `..` between the bounds"))?;
        let num = |t: &str, which: &str| match t.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(bad(&format!(
                "the {which} bound `{}` is not a finite number",
                t.trim()
            ))),
        };
        let (lo, hi) = (num(lo, "lower")?, num(hi, "upper")?);
        if lo >= hi {
            return Err(bad(&format!(
                "the lower bound {lo} must be below the upper bound {hi}"
            )));
        }
        // The fit works on the interval's width: one too wide for a double made every trial value NaN.
        if !(hi - lo).is_finite() {
            return Err(bad(&format!(
                "the bounds {lo} and {hi} are too far apart (their difference is not a finite number)"
            )));
        }
        Ok(FitParam {
            path: path.to_string(),
            lo,
            hi,
        })
    }
}

/// What to calibrate.
#[derive(Debug, Clone)]
pub struct CalibrateSpec {
    pub scenario: PathBuf,
    /// Overrides applied to the scenario before anything else (`--set-file`, `--set`).
    pub base: Vec<Override>,
    pub seed: Option<u64>,
    pub telemetry: PathBuf,
    pub fit: Vec<FitParam>,
}

/// A fitted parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FittedParam {
    pub path: String,
    pub lo: f64,
    pub hi: f64,
    /// The scenario's value clamped into the bounds, or their midpoint when the field is unset.
    pub start: f64,
    pub fitted: f64,
    /// False when the model does not depend on it at the start: it keeps its start value.
    pub identifiable: bool,
    /// The fit ended on a bound (the data may want a value outside).
    pub at_bound: bool,
}

/// One telemetry point after the fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointFit {
    /// Line in the telemetry file.
    pub line: usize,
    /// What was measured (`job 2 step_s`, `all_reduce 16 ranks (8/server) 1073741824 B busbw_gbs`).
    pub what: String,
    /// The point's configuration (its `set` cell).
    pub set: String,
    pub measured: f64,
    pub model: f64,
    /// `100 · (model − measured) / measured`.
    pub error_pct: f64,
}

/// The result of a calibration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    pub scenario: String,
    pub telemetry: String,
    /// `step_time` or `collective`.
    pub kind: &'static str,
    pub parameters: Vec<FittedParam>,
    pub points: Vec<PointFit>,
    /// Root mean square of the points' relative errors, %.
    pub rms_error_pct: f64,
    /// Median absolute relative error, %.
    pub median_abs_error_pct: f64,
    pub max_abs_error_pct: f64,
    pub iterations: usize,
    pub evaluations: usize,
    pub converged: bool,
    /// Why the solver stopped.
    pub stop: &'static str,
}

/// Fits `spec.fit` to the telemetry. Bad input (telemetry, a `--fit` path, a point the scenario rejects)
/// is [`Error::At`] with the file and position.
pub fn calibrate(spec: &CalibrateSpec) -> Result<Calibration, Error> {
    let points = read_telemetry(&spec.telemetry)?;
    if spec.fit.is_empty() {
        return Err(Error::Input(
            "nothing to fit: give at least one `--fit dotted.path=LO..HI`".into(),
        ));
    }
    for (i, f) in spec.fit.iter().enumerate() {
        if spec.fit[..i].iter().any(|g| g.path == f.path) {
            return Err(Error::Input(format!("`--fit {}` is given twice", f.path)));
        }
    }
    if points.len() < spec.fit.len() {
        return Err(InputError::file(
            &spec.telemetry,
            format!(
                "{} point(s) cannot determine {} parameters; measure at least as many points as \
                 parameters",
                points.len(),
                spec.fit.len()
            ),
        )
        .into());
    }
    for p in &points {
        if let Some(o) = p
            .set
            .iter()
            .find(|o| spec.fit.iter().any(|f| f.path == o.path))
        {
            return Err(InputError::line_field(
                &spec.telemetry,
                p.line,
                "set",
                format!(
                    "sets `{}`, which is being fitted (`--fit`); a point's configuration may not \
                     fix a fitted parameter",
                    o.path
                ),
            )
            .into());
        }
    }
    let base = load_scenario(&spec.scenario, &spec.base, spec.seed)?;
    let start: Vec<f64> = spec
        .fit
        .iter()
        .map(|f| start_value(&spec.scenario, &base, f))
        .collect::<Result<_, _>>()?;
    let lo: Vec<f64> = spec.fit.iter().map(|f| f.lo).collect();
    let hi: Vec<f64> = spec.fit.iter().map(|f| f.hi).collect();

    let model = Model { spec, points };
    let mut residuals = |x: &[f64]| -> Result<Vec<f64>, InputError> {
        let values = model.values(x)?;
        Ok(values
            .iter()
            .zip(&model.points)
            .map(|(v, p)| (v - p.measured) / p.measured)
            .collect())
    };
    let fit = solve(&mut residuals, &start, &lo, &hi, &LsqOptions::default())?;
    let values = model.values(&fit.x)?;

    let parameters = spec
        .fit
        .iter()
        .enumerate()
        .map(|(j, f)| FittedParam {
            path: f.path.clone(),
            lo: f.lo,
            hi: f.hi,
            start: start[j],
            fitted: fit.x[j],
            identifiable: fit.identifiable[j],
            at_bound: fit.identifiable[j] && (fit.x[j] <= f.lo || fit.x[j] >= f.hi),
        })
        .collect();
    let points: Vec<PointFit> = model
        .points
        .iter()
        .zip(&values)
        .map(|(p, &v)| PointFit {
            line: p.line,
            what: describe_point(&p.kind),
            set: p.set_text.clone(),
            measured: p.measured,
            model: v,
            error_pct: 100.0 * (v - p.measured) / p.measured,
        })
        .collect();
    let errs: Vec<f64> = points.iter().map(|p| p.error_pct).collect();
    let kind = match model.points[0].kind {
        PointKind::StepTime { .. } => "step_time",
        PointKind::Collective { .. } => "collective",
        PointKind::NodePower { .. } => "node_power",
    };
    Ok(Calibration {
        scenario: spec.scenario.display().to_string(),
        telemetry: spec.telemetry.display().to_string(),
        kind,
        parameters,
        rms_error_pct: (errs.iter().map(|e| e * e).sum::<f64>() / errs.len() as f64).sqrt(),
        median_abs_error_pct: median_abs(&errs),
        max_abs_error_pct: errs.iter().fold(0.0, |m, e| m.max(e.abs())),
        points,
        iterations: fit.iterations,
        evaluations: fit.evaluations,
        converged: fit.stop.converged(),
        stop: fit.stop.describe(),
    })
}

/// `dctwin calibrate --predict`: the model's value at every point of the telemetry file, with the scenario as
/// `spec` loads it (its `fit` is ignored), as a telemetry CSV of the same kind in canonical column order —
/// synthetic telemetry made by dctwin itself.
pub fn predict(spec: &CalibrateSpec) -> Result<String, Error> {
    let spec = CalibrateSpec {
        fit: Vec::new(),
        ..spec.clone()
    };
    let model = Model {
        spec: &spec,
        points: read_telemetry(&spec.telemetry)?,
    };
    let values = model.values(&[])?;
    let mut csv = reports::CsvText::new();
    match &model.points[0].kind {
        PointKind::StepTime { .. } => csv.record(["set", "job", "step_s"]),
        PointKind::NodePower { measure, .. } => csv.record(["set", "job", measure.column()]),
        PointKind::Collective { measure, .. } => csv.record([
            "set",
            "collective",
            "ranks",
            "gpus_per_server",
            "bytes",
            measure.column(),
            "gpu",
        ]),
    }
    for (p, v) in model.points.iter().zip(values) {
        csv.field(&p.set_text);
        match &p.kind {
            PointKind::StepTime { job } | PointKind::NodePower { job, .. } => {
                csv.num(job);
                csv.num(v);
            }
            PointKind::Collective {
                op,
                ranks,
                gpus_per_server,
                bytes,
                gpu,
                ..
            } => {
                csv.field(collective_name(*op));
                csv.num(ranks);
                csv.num(gpus_per_server);
                csv.num(bytes);
                csv.num(v);
                csv.field(gpu.as_deref().unwrap_or(""));
            }
        }
        csv.end();
    }
    Ok(csv.finish())
}

/// The start of `f`: the scenario's value clamped into the bounds, or the midpoint for an unset field.
fn start_value(file: &Path, base: &LoadedScenario, f: &FitParam) -> Result<f64, InputError> {
    let at = |m: String| {
        InputError::field(
            file,
            &f.path,
            format!("in `--fit {}={}..{}`: {m}", f.path, f.lo, f.hi),
        )
    };
    let v = field_value(&base.scenario, &f.path).map_err(at)?;
    match v {
        serde_json::Value::Null => Ok(0.5 * (f.lo + f.hi)),
        serde_json::Value::Number(n) if n.is_f64() => {
            Ok(n.as_f64().expect("f64").clamp(f.lo, f.hi))
        }
        serde_json::Value::Number(n) => Err(at(format!(
            "is the whole number {n}; calibrate fits real-valued fields (`_s`, `_gbs`, …)"
        ))),
        other => Err(at(format!(
            "is not a number (found {}); calibrate fits numeric fields",
            scenario::echo::bound_message(&other.to_string())
        ))),
    }
}

/// The model side of the fit: the telemetry and how to evaluate it at a parameter vector.
struct Model<'a> {
    spec: &'a CalibrateSpec,
    points: Vec<TelemetryPoint>,
}

impl Model<'_> {
    /// The model's value of every point at parameters `x` (in `--fit` order). The scenario is loaded once per
    /// distinct configuration, with the base overrides, the point's `set`, then the parameters.
    fn values(&self, x: &[f64]) -> Result<Vec<f64>, InputError> {
        let params: Vec<Override> = self
            .spec
            .fit
            .iter()
            .zip(x)
            .map(|(f, v)| Override {
                path: f.path.clone(),
                value: value_text(*v),
            })
            .collect();
        let mut loaded: BTreeMap<&str, LoadedScenario> = BTreeMap::new();
        let mut out = Vec::with_capacity(self.points.len());
        for p in &self.points {
            if !loaded.contains_key(p.set_text.as_str()) {
                let mut ovs = self.spec.base.clone();
                ovs.extend(p.set.iter().cloned());
                ovs.extend(params.iter().cloned());
                let l = load_scenario(&self.spec.scenario, &ovs, self.spec.seed).map_err(|e| {
                    let m = if params.is_empty() {
                        format!("the scenario with this point's configuration is rejected: {e}")
                    } else {
                        let with: Vec<String> = params
                            .iter()
                            .map(|o| format!("{}={}", o.path, o.value))
                            .collect();
                        format!(
                            "the scenario with this point's configuration and the trial values {} is \
                             rejected (a bad configuration, or --fit bounds wider than the scenario \
                             accepts): {e}",
                            with.join(", ")
                        )
                    };
                    self.at(p, "set", m)
                })?;
                loaded.insert(p.set_text.as_str(), l);
            }
            out.push(self.value(p, &loaded[p.set_text.as_str()])?);
        }
        Ok(out)
    }

    fn at(&self, p: &TelemetryPoint, column: &str, m: String) -> InputError {
        InputError::line_field(&self.spec.telemetry, p.line, column, m)
    }

    fn value(&self, p: &TelemetryPoint, l: &LoadedScenario) -> Result<f64, InputError> {
        match &p.kind {
            PointKind::StepTime { job } | PointKind::NodePower { job, .. } => {
                let jobs = l.training.as_deref().unwrap_or_default();
                if jobs.is_empty() {
                    return Err(self.at(
                        p,
                        measured_label(&p.kind),
                        "step-time and node-power telemetry need a `Training` workload; this scenario \
                         has none"
                            .into(),
                    ));
                }
                let info = jobs.iter().find(|j| j.index == *job).ok_or_else(|| {
                    self.at(
                        p,
                        "job",
                        format!(
                            "no training job {job}: the scenario has {} (0 to {})",
                            jobs.len(),
                            jobs.len() - 1
                        ),
                    )
                })?;
                Ok(match &p.kind {
                    PointKind::NodePower {
                        measure: PowerMeasure::PeakW,
                        ..
                    } => info.node_power.peak_w,
                    PointKind::NodePower {
                        measure: PowerMeasure::MeanW,
                        ..
                    } => info.node_power.mean_w,
                    _ => info.estimate.step.total_s,
                })
            }
            PointKind::Collective {
                op,
                ranks,
                gpus_per_server,
                bytes,
                gpu,
                measure,
            } => {
                let Workload::Training(t) = &l.scenario.workload else {
                    return Err(self.at(
                        p,
                        "collective",
                        "collectives are priced by the scenario's `workload.Training.comm`; this \
                         scenario's workload is not `Training`"
                            .into(),
                    ));
                };
                let gpu_name = gpu.clone().unwrap_or_else(|| {
                    t.jobs
                        .first()
                        .map(|j| j.gpu_model.clone())
                        .unwrap_or_default()
                });
                let Some(gi) = l.catalog.index_of(&gpu_name) else {
                    return Err(self.at(
                        p,
                        "gpu",
                        format!(
                            "unknown GPU model `{gpu_name}` (catalog has: {})",
                            l.catalog.names().join(", ")
                        ),
                    ));
                };
                let cost = t.comm.cost_for(&l.catalog.gpus[gi], *gpus_per_server);
                let group = CommGroup::new(*ranks, *gpus_per_server);
                use models::training::Collective as C;
                let time_s = match op {
                    C::AllReduce => cost.all_reduce_s(*bytes, &group),
                    C::ReduceScatter => cost.reduce_scatter_s(*bytes, &group),
                    C::AllGather => cost.all_gather_s(*bytes, &group),
                    // Every rank sends to the next: the slowest pair crosses servers unless all fit in one.
                    _ => {
                        let pair_per_server = if group.in_one_server() { 2 } else { 1 };
                        cost.p2p_s(*bytes, &CommGroup::new(2, pair_per_server))
                    }
                };
                if !(time_s.is_finite() && time_s > 0.0) {
                    return Err(self.at(
                        p,
                        measure.column(),
                        format!("the comm model prices this collective at {time_s} s"),
                    ));
                }
                Ok(match measure {
                    CollectiveMeasure::BusBwGbs => {
                        bus_bandwidth(*op, *bytes / time_s, *ranks) / 1e9
                    }
                    CollectiveMeasure::TimeUs => time_s * 1e6,
                })
            }
        }
    }
}

/// A parameter value as `--set` text: Rust's shortest round-trip form, so an overlay reproduces the fit
/// exactly.
fn value_text(v: f64) -> String {
    v.to_string()
}

fn describe_point(kind: &PointKind) -> String {
    match kind {
        PointKind::StepTime { job } | PointKind::NodePower { job, .. } => {
            format!("job {job} {}", measured_label(kind))
        }
        PointKind::Collective {
            op,
            ranks,
            gpus_per_server,
            bytes,
            ..
        } => format!(
            "{} {ranks} ranks ({gpus_per_server}/server) {bytes} B {}",
            collective_name(*op),
            measured_label(kind)
        ),
    }
}

fn collective_name(op: models::training::Collective) -> &'static str {
    use models::training::Collective as C;
    match op {
        C::AllReduce => "all_reduce",
        C::ReduceScatter => "reduce_scatter",
        C::AllGather => "all_gather",
        _ => "sendrecv",
    }
}

fn median_abs(v: &[f64]) -> f64 {
    let mut a: Vec<f64> = v.iter().map(|x| x.abs()).collect();
    a.sort_by(f64::total_cmp);
    let n = a.len();
    if n % 2 == 1 {
        a[n / 2]
    } else {
        0.5 * (a[n / 2 - 1] + a[n / 2])
    }
}

/// The overlay file of a calibration: a comment saying what was fitted to what, then one
/// `path=value` line per fitted parameter (`--set-file`). A parameter that is not identifiable is left
/// out (a comment names it): the telemetry says nothing about it.
pub fn overlay(c: &Calibration, base: &[Override]) -> String {
    let mut comments = vec![format!(
        "dctwin calibrate: {} fitted to {} ({} {} points; RMS error {:.4} %, max {:.4} %)",
        c.scenario,
        c.telemetry,
        c.points.len(),
        c.kind.replace('_', "-"),
        c.rms_error_pct,
        c.max_abs_error_pct
    )];
    if !base.is_empty() {
        let b: Vec<String> = base
            .iter()
            .map(|o| format!("{}={}", o.path, o.value))
            .collect();
        comments.push(format!("fitted on top of: {}", b.join(" ")));
    }
    for p in c.parameters.iter().filter(|p| !p.identifiable) {
        comments.push(format!(
            "{} is not identifiable from this telemetry: not set here",
            p.path
        ));
    }
    let ovs: Vec<Override> = c
        .parameters
        .iter()
        .filter(|p| p.identifiable)
        .map(|p| Override {
            path: p.path.clone(),
            value: value_text(p.fitted),
        })
        .collect();
    scenario::overlay::overlay_text(&comments, &ovs)
}

/// Writes [`overlay`] to `path` atomically.
pub fn write_overlay(path: &Path, c: &Calibration, base: &[Override]) -> Result<(), Error> {
    reports::write_atomic(path, overlay(c, base).as_bytes())
        .map_err(|e| Error::Internal(format!("writing the overlay: {e}")))
}

/// `v` with `digits` significant digits, trailing zeros dropped; scientific notation outside
/// 10^-4 … 10^15.
fn sig(v: f64, digits: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let trim = |t: String| {
        if t.contains('.') {
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            t
        }
    };
    let mag = v.abs().log10().floor() as i32;
    if (-4..15).contains(&mag) {
        let decimals = (digits as i32 - 1 - mag).max(0) as usize;
        trim(format!("{v:.decimals$}"))
    } else {
        let t = format!("{v:.prec$e}", prec = digits - 1);
        let (m, e) = t.split_once('e').expect("scientific");
        format!("{}e{e}", trim(m.to_string()))
    }
}

/// A signed error in percent, three decimals (a zero shows unsigned).
fn percent(v: f64) -> String {
    let t = format!("{v:+.3}");
    if t == "+0.000" || t == "-0.000" {
        "0.000".to_string()
    } else {
        t
    }
}

/// The report as a text table: parameters, then points, then the error summary.
pub fn table(c: &Calibration) -> String {
    let mut s = format!(
        "Calibrated {} parameter(s) of {} against {} {} point(s) of {}: {} iteration(s), {} model \
         evaluation(s); {}.\n\n",
        c.parameters.len(),
        c.scenario,
        c.points.len(),
        c.kind.replace('_', "-"),
        c.telemetry,
        c.iterations,
        c.evaluations,
        c.stop
    );
    let rows: Vec<[String; 6]> = c
        .parameters
        .iter()
        .map(|p| {
            let note = if !p.identifiable {
                "not identifiable: kept at start"
            } else if p.at_bound {
                "at a bound"
            } else {
                ""
            };
            [
                p.path.clone(),
                sig(p.start, 6),
                sig(p.lo, 6),
                sig(p.hi, 6),
                sig(p.fitted, 6),
                note.to_string(),
            ]
        })
        .collect();
    s += &columns(&["parameter", "start", "low", "high", "fitted", ""], &rows);
    s.push('\n');
    let rows: Vec<[String; 6]> = c
        .points
        .iter()
        .map(|p| {
            [
                p.line.to_string(),
                p.what.clone(),
                if p.set.is_empty() {
                    "-".into()
                } else {
                    p.set.clone()
                },
                sig(p.measured, 6),
                sig(p.model, 6),
                percent(p.error_pct),
            ]
        })
        .collect();
    s += &columns(
        &[
            "line",
            "figure",
            "configuration",
            "measured",
            "model",
            "error %",
        ],
        &rows,
    );
    s += &format!(
        "\nRMS error {:.3} %, median |error| {:.3} %, max |error| {:.3} %\n",
        c.rms_error_pct, c.median_abs_error_pct, c.max_abs_error_pct
    );
    s
}

/// Left-aligned columns separated by two spaces; trailing spaces trimmed.
fn columns<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut w = [0usize; N];
    for (k, h) in header.iter().enumerate() {
        w[k] = h.chars().count();
    }
    for r in rows {
        for k in 0..N {
            w[k] = w[k].max(r[k].chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (k, c) in cells.iter().enumerate() {
            l.push_str(c);
            if k + 1 < N {
                l.push_str(&" ".repeat(w[k] - c.chars().count() + 2));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut s = line(header.to_vec());
    for r in rows {
        s += &line(r.iter().map(String::as_str).collect());
    }
    s
}

/// The report as pretty JSON (field order fixed; full precision).
pub fn to_json(c: &Calibration) -> String {
    serde_json::to_string_pretty(c).expect("serialisable") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_arguments_parse_and_reject_bad_bounds() {
        let f =
            FitParam::parse("workload.Training.comm.AlphaBeta.inter_alpha_s=1e-6..1e-4").unwrap();
        assert_eq!(f.path, "workload.Training.comm.AlphaBeta.inter_alpha_s");
        assert_eq!((f.lo, f.hi), (1e-6, 1e-4));
        assert!(FitParam::parse("a.b=-2..-1").is_ok());
        for bad in [
            "a.b",
            "a.b=1",
            "a.b=2..1",
            "a.b=1..1",
            "a.b=x..2",
            "=1..2",
            "a..b=1..2",
            "a.b=1..inf",
        ] {
            assert!(FitParam::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn significant_digits() {
        assert_eq!(sig(37.5, 6), "37.5");
        assert_eq!(sig(37.499999999999844, 6), "37.5");
        assert_eq!(sig(1.4e-5, 3), "1.4e-5");
        assert_eq!(sig(1.23456e-6, 3), "1.23e-6");
        assert_eq!(sig(300.0, 6), "300");
        assert_eq!(sig(6.670862478302716, 6), "6.67086");
        assert_eq!(percent(-1e-9), "0.000");
        assert_eq!(percent(1.2346), "+1.235");
    }

    #[test]
    fn median_of_absolute_values() {
        assert_eq!(median_abs(&[-3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_abs(&[-3.0, 1.0, 2.0, -4.0]), 2.5);
    }
}
