//! The outputs of a size study, reduced from its evaluations: `size.json` (the answer, its interval,
//! the confidence statement, the monotonicity check and every evaluated value), `size.csv` (every
//! evaluation), `size.svg` (each constraint figure against the field) and `report.html`. A function of
//! the evaluations of the values the search visited, so threads, shards and resuming never change a
//! byte.

use std::path::{Path, PathBuf};

use reports::html::{Table, page};
use reports::size_chart::{Panel, size_svg};
use serde::Serialize;

use super::evaluation::{Cache, Evaluation, passes};
use super::search::{Done, Goal, Kind, Outcome, Violation, clopper_pearson, violations};
use super::{Constraint, SizeSpec};
use crate::error::Error;

pub const SIZE_JSON: &str = "size.json";
pub const SIZE_CSV: &str = "size.csv";
pub const SIZE_SVG: &str = "size.svg";

/// Every file a complete size study writes (its evaluations file is carried over, not replaced).
pub const SIZE_FILES: &[&str] = &[SIZE_JSON, SIZE_CSV, SIZE_SVG, reports::html::REPORT_HTML];

/// A figure over the seeds of one value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FigureStats {
    pub figure: String,
    /// Mean over the seeds with a number (`None`: no seed had one).
    pub mean: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// One evaluated value of the field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointResult {
    pub value: f64,
    /// The round that evaluated it (0: the ends).
    pub round: usize,
    /// Every constraint held on every seed.
    pub pass: bool,
    pub seeds_passing: u64,
    pub figures: Vec<FigureStats>,
}

/// Whether a figure's mean moves one way only along the evaluated values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FigureTrend {
    pub figure: String,
    pub mean_monotone: bool,
}

/// The result of a size study: `size.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizeResult {
    pub name: String,
    pub size_hash: String,
    pub dctwin_version: String,
    pub field: String,
    pub tie: Vec<String>,
    pub kind: Kind,
    pub goal: Goal,
    pub range: (f64, f64),
    pub tolerance: Option<f64>,
    pub constraints: Vec<String>,
    pub seeds: u64,
    pub confidence: f64,
    pub outcome: Outcome,
    /// The answer, when there is one.
    pub answer: Option<f64>,
    /// Between the last failing value and the answer (ordered low, high): the boundary lies in it.
    pub interval: Option<(f64, f64)>,
    /// The answer in words.
    pub statement: String,
    /// What the seeds say about the pass probability at the answer and beside it.
    pub confidence_note: String,
    /// The evaluated values are consistent with a single threshold.
    pub monotone: bool,
    pub violations: Vec<Violation>,
    pub figure_trends: Vec<FigureTrend>,
    pub rounds: usize,
    pub evaluations: usize,
    /// Every evaluated value, in increasing order.
    pub points: Vec<PointResult>,
    /// Every evaluation of those values, by value then seed (`size.csv`).
    #[serde(skip)]
    pub runs: Vec<Evaluation>,
}

impl SizeResult {
    /// Reduces a finished search and its evaluations.
    pub fn of(spec: &SizeSpec, done: &Done, cache: &Cache) -> SizeResult {
        let mut values: Vec<(f64, usize)> = Vec::new();
        for (r, round) in done.rounds.iter().enumerate() {
            for &v in round {
                if !values.iter().any(|(x, _)| *x == v) {
                    values.push((v, r));
                }
            }
        }
        values.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut runs = Vec::new();
        let mut points = Vec::new();
        for &(value, round) in &values {
            let text = spec.value_text(value);
            let evals: Vec<&Evaluation> = (0..spec.seeds)
                .map(|i| {
                    cache
                        .get(&(text.clone(), i))
                        .expect("a finished search has every seed")
                })
                .collect();
            let seeds_passing = evals.iter().filter(|e| passes(spec, e)).count() as u64;
            let figures = spec
                .figures
                .iter()
                .map(|f| {
                    let xs: Vec<f64> = evals
                        .iter()
                        .filter_map(|e| e.figures.get(f).copied().flatten())
                        .collect();
                    FigureStats {
                        figure: f.clone(),
                        mean: (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64),
                        min: xs.iter().copied().reduce(f64::min),
                        max: xs.iter().copied().reduce(f64::max),
                    }
                })
                .collect();
            points.push(PointResult {
                value,
                round,
                pass: seeds_passing == spec.seeds,
                seeds_passing,
                figures,
            });
            runs.extend(evals.into_iter().cloned());
        }
        let pts: Vec<(f64, bool)> = points.iter().map(|p| (p.value, p.pass)).collect();
        let violations = violations(spec.plan.goal, &pts);
        let figure_trends = spec
            .figures
            .iter()
            .enumerate()
            .map(|(j, f)| {
                let means: Vec<f64> = points.iter().filter_map(|p| p.figures[j].mean).collect();
                let up = means.windows(2).all(|w| w[1] >= w[0]);
                let down = means.windows(2).all(|w| w[1] <= w[0]);
                FigureTrend {
                    figure: f.clone(),
                    mean_monotone: up || down,
                }
            })
            .collect();
        let (answer, interval) = match done.outcome {
            Outcome::Found { answer, failing } => (
                Some(answer),
                Some((answer.min(failing), answer.max(failing))),
            ),
            Outcome::WholeRange { answer } => (Some(answer), None),
            Outcome::NotFeasible => (None, None),
        };
        let v = |x: f64| spec.value_text(x);
        let which = match spec.plan.goal {
            Goal::Smallest => "smallest",
            Goal::Largest => "largest",
        };
        let all = spec
            .constraints
            .iter()
            .map(Constraint::text)
            .collect::<Vec<_>>()
            .join(" and ");
        let statement = match done.outcome {
            Outcome::Found { answer, failing } => format!(
                "The {which} {} for which {all} on all {} seed(s) is {} ({} fails); the boundary lies in [{}, {}].",
                spec.field,
                spec.seeds,
                v(answer),
                v(failing),
                v(answer.min(failing)),
                v(answer.max(failing))
            ),
            Outcome::WholeRange { answer } => format!(
                "Every value of {} in the range passes ({all} on all {} seed(s)) down to the range end {}: \
                 the {which} value may lie outside the range.",
                spec.field,
                spec.seeds,
                v(answer)
            ),
            Outcome::NotFeasible => format!(
                "Not feasible within range: even {}={} fails ({all} on all {} seed(s)).",
                spec.field,
                v(match spec.plan.goal {
                    Goal::Smallest => spec.plan.hi,
                    Goal::Largest => spec.plan.lo,
                }),
                spec.seeds
            ),
        };
        let point = |x: f64| points.iter().find(|p| p.value == x).expect("evaluated");
        let n = spec.seeds;
        let pct = |p: f64| format!("{:.1}%", 100.0 * p);
        let conf = pct(spec.confidence);
        let mut notes = Vec::new();
        if let Some(a) = answer {
            let (lo, _) = clopper_pearson(point(a).seeds_passing, n, spec.confidence);
            notes.push(format!(
                "At {} all {n} seed(s) passed: with {conf} confidence a run with a fresh seed passes with probability at least {} (one-sided Clopper–Pearson).",
                v(a),
                pct(lo)
            ));
        }
        if let Outcome::Found { failing, .. } = done.outcome {
            let k = point(failing).seeds_passing;
            let (_, hi) = clopper_pearson(k, n, spec.confidence);
            notes.push(format!(
                "At {} {k} of {n} seed(s) passed: with {conf} confidence a fresh seed passes with probability at most {}.",
                v(failing),
                pct(hi)
            ));
        }
        if n == 1 {
            notes.push("One seed per value: the bounds are wide; give `seeds` for more.".into());
        }
        SizeResult {
            name: spec.name.clone(),
            size_hash: spec.size_hash.clone(),
            dctwin_version: env!("CARGO_PKG_VERSION").to_string(),
            field: spec.field.clone(),
            tie: spec.tie.clone(),
            kind: spec.plan.kind,
            goal: spec.plan.goal,
            range: (spec.plan.lo, spec.plan.hi),
            tolerance: (spec.plan.kind == Kind::Real).then_some(spec.plan.tolerance),
            constraints: spec.constraints.iter().map(Constraint::text).collect(),
            seeds: n,
            confidence: spec.confidence,
            outcome: done.outcome.clone(),
            answer,
            interval,
            statement,
            confidence_note: notes.join(" "),
            monotone: violations.is_empty(),
            violations,
            figure_trends,
            rounds: done.rounds.len(),
            evaluations: runs.len(),
            points,
            runs,
        }
    }

    /// The monotonicity check in words.
    pub fn monotone_note(&self, spec: &SizeSpec) -> String {
        if self.monotone {
            return format!(
                "Monotone on the {} evaluated value(s): they are consistent with a single threshold.",
                self.points.len()
            );
        }
        let pairs: Vec<String> = self
            .violations
            .iter()
            .map(|w| {
                format!(
                    "{} passes but {} fails",
                    spec.value_text(w.pass),
                    spec.value_text(w.fail)
                )
            })
            .collect();
        format!(
            "NOT MONOTONE on the evaluated values ({}): the pass set is not one side of a threshold, so \
             bisection may have missed a boundary; the answer is the boundary the search bracketed.",
            pairs.join("; ")
        )
    }
}

/// `size.json`.
pub fn size_json(r: &SizeResult) -> String {
    serde_json::to_string_pretty(r).expect("size result") + "\n"
}

/// `size.csv`: one row per evaluation: the value, seed index and seed, each constraint figure, whether
/// the run passed every constraint, and whether the value passed (on every seed).
pub fn size_csv(spec: &SizeSpec, r: &SizeResult) -> String {
    let mut csv = reports::CsvText::new();
    let mut header = vec![spec.field.as_str(), "seed_index", "seed"];
    header.extend(spec.figures.iter().map(String::as_str));
    header.extend(["run_pass", "value_pass"]);
    csv.record(&header);
    for e in &r.runs {
        let value_pass = r
            .points
            .iter()
            .find(|p| spec.value_text(p.value) == e.value)
            .is_some_and(|p| p.pass);
        csv.num(&e.value);
        csv.num(e.seed_index);
        csv.num(e.seed);
        for f in &spec.figures {
            csv.opt(e.figures.get(f).copied().flatten());
        }
        csv.num(passes(spec, e));
        csv.num(value_pass);
        csv.end();
    }
    csv.finish()
}

/// The chart: one panel per constraint.
fn chart(spec: &SizeSpec, r: &SizeResult) -> std::io::Result<String> {
    let panels: Vec<Panel> = spec
        .constraints
        .iter()
        .map(|c| {
            let j = spec
                .figures
                .iter()
                .position(|f| *f == c.figure)
                .expect("figure");
            let runs = r
                .runs
                .iter()
                .filter_map(|e| {
                    let x: f64 = e.value.parse().ok()?;
                    Some((x, e.figures.get(&c.figure).copied().flatten()?))
                })
                .collect();
            let means = r
                .points
                .iter()
                .filter_map(|p| Some((p.value, p.figures[j].mean?, p.pass)))
                .collect();
            Panel {
                title: c.text(),
                figure: c.figure.clone(),
                threshold: c.threshold,
                runs,
                means,
            }
        })
        .collect();
    size_svg(&spec.field, &panels, r.answer)
}

/// Writes `size.json`, `size.csv`, `size.svg` and `report.html` into `out`; returns their paths.
pub fn write_outputs(out: &Path, spec: &SizeSpec, r: &SizeResult) -> Result<Vec<PathBuf>, Error> {
    let w = |name: &str, bytes: &[u8]| -> Result<PathBuf, Error> {
        let p = out.join(name);
        reports::write_atomic(&p, bytes)
            .map_err(|e| Error::Internal(format!("writing the size outputs: {e}")))?;
        Ok(p)
    };
    let svg = chart(spec, r).map_err(|e| Error::Internal(format!("drawing {SIZE_SVG}: {e}")))?;
    let written = vec![
        w(SIZE_JSON, size_json(r).as_bytes())?,
        w(SIZE_CSV, size_csv(spec, r).as_bytes())?,
        w(SIZE_SVG, svg.as_bytes())?,
        w(reports::html::REPORT_HTML, html(spec, r, svg).as_bytes())?,
    ];
    Ok(written)
}

/// `report.html`: the answer, the confidence and monotonicity notes, the table of evaluated values and
/// the chart.
fn html(spec: &SizeSpec, r: &SizeResult, svg: String) -> String {
    let intro = vec![
        r.statement.clone(),
        r.confidence_note.clone(),
        r.monotone_note(spec),
        format!(
            "{} rounds, {} evaluations ({} seed(s) a value, common to every value); size hash {}; dctwin {}. \
             Every run: size.csv; everything: size.json.",
            r.rounds, r.evaluations, r.seeds, r.size_hash, r.dctwin_version
        ),
    ];
    let mut header = vec!["value".to_string(), "round".into(), "seeds passing".into()];
    header.extend(
        spec.figures
            .iter()
            .map(|f| format!("{f} (mean [min, max])")),
    );
    header.push("verdict".into());
    let rows = r
        .points
        .iter()
        .map(|p| {
            let mut row = vec![
                spec.value_text(p.value),
                p.round.to_string(),
                format!("{}/{}", p.seeds_passing, r.seeds),
            ];
            row.extend(p.figures.iter().map(|f| {
                let s = |x: Option<f64>| reports::figures::show(x, false);
                format!("{} [{}, {}]", s(f.mean), s(f.min), s(f.max))
            }));
            row.push(if p.pass { "pass" } else { "fail" }.into());
            row
        })
        .collect();
    let table: Table = (format!("Evaluated values of {}", spec.field), header, rows);
    page(
        &format!("dctwin size: {}", r.name),
        &intro,
        &[table],
        &[(format!("Constraint figures against {}", spec.field), svg)],
    )
}
