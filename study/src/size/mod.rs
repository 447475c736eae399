//! `dctwin size`: the smallest (or largest) value of one integer or real scenario field for which
//! constraints on summary figures hold (`inference.slo.attainment >= 0.99`), by bracketing and
//! k-section ([`search`]), each value run over several seeds ([`run`]), the outputs written by
//! [`report`]. Size files are RON; format and rules: `docs/sizing.md`.

pub mod evaluation;
pub mod report;
pub mod run;
pub mod search;

use std::fs;
use std::path::{Path, PathBuf};

use scenario::{InputError, Override, field_value, load_scenario, parse_ron};
use serde::{Deserialize, Serialize};
use sim::rand::Rng as _;

use search::{Goal, Kind, Plan};

/// Most seeds a value may be run with.
pub const MAX_SEEDS: u64 = 1000;
/// Most interior points a round may have.
pub const MAX_PER_ROUND: usize = 64;
/// The finest `tolerance` of a Real field, relative to the larger end of its range: doubles resolve about
/// 1e-16 of a value, and the search takes at most some forty rounds from the whole range down to it.
pub const MIN_RELATIVE_TOLERANCE: f64 = 1e-12;

/// A size file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename = "Size")]
struct SizeFile {
    /// Base scenario, relative to the size file.
    scenario: PathBuf,
    #[serde(default)]
    name: Option<String>,
    /// `--set` overrides applied before the field.
    #[serde(default)]
    set: Vec<String>,
    /// Dotted path of the field sized.
    field: String,
    /// Fields set to the same value as `field` (e.g. the server count that holds the replicas).
    #[serde(default)]
    tie: Vec<String>,
    #[serde(default)]
    kind: Option<Kind>,
    /// The range searched, both ends included: `(lo, hi)`.
    range: (f64, f64),
    goal: Goal,
    /// Real fields: the width of the final interval.
    #[serde(default)]
    tolerance: Option<f64>,
    /// `"figure >= number"` (or `<=`, `>`, `<`).
    constraints: Vec<String>,
    #[serde(default = "one")]
    seeds: u64,
    /// Master seed of the seeds.
    seed: u64,
    /// Confidence of the bounds stated on the pass probability.
    #[serde(default = "default_confidence")]
    confidence: f64,
    /// Interior points a round (evaluated in parallel with every seed).
    #[serde(default = "one_usize")]
    points_per_round: usize,
}

fn one() -> u64 {
    1
}
fn one_usize() -> usize {
    1
}
fn default_confidence() -> f64 {
    0.95
}

/// A comparison of a constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<")]
    Lt,
}

impl Op {
    pub fn text(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Lt => "<",
        }
    }
}

/// `figure op threshold`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Constraint {
    pub figure: String,
    pub op: Op,
    pub threshold: f64,
}

impl Constraint {
    /// Parses `inference.ttft_s.p99 <= 0.5`.
    pub fn parse(s: &str) -> Result<Constraint, String> {
        let bad = |why: &str| {
            format!(
                "`{}`: {why}; expected `figure OP number` with OP one of >=, <=, >, < \
                 (e.g. `inference.slo.attainment >= 0.99`)",
                scenario::echo::excerpt(s)
            )
        };
        let (at, op) = [(">=", Op::Ge), ("<=", Op::Le), (">", Op::Gt), ("<", Op::Lt)]
            .into_iter()
            .find_map(|(t, op)| s.find(t).map(|i| ((i, t.len()), op)))
            .ok_or_else(|| bad("no comparison"))?;
        let figure = s[..at.0].trim();
        let number = s[at.0 + at.1..].trim();
        if figure.is_empty() || figure.split('.').any(|p| p.is_empty() || p.contains(' ')) {
            return Err(bad(&format!("`{figure}` is not a dotted figure name")));
        }
        let threshold = match number.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => return Err(bad(&format!("`{number}` is not a finite number"))),
        };
        Ok(Constraint {
            figure: figure.to_string(),
            op,
            threshold,
        })
    }

    /// Whether `value` satisfies the constraint (a missing value does not).
    pub fn holds(&self, value: Option<f64>) -> bool {
        let Some(v) = value.filter(|v| v.is_finite()) else {
            return false;
        };
        match self.op {
            Op::Ge => v >= self.threshold,
            Op::Le => v <= self.threshold,
            Op::Gt => v > self.threshold,
            Op::Lt => v < self.threshold,
        }
    }

    pub fn text(&self) -> String {
        format!("{} {} {}", self.figure, self.op.text(), self.threshold)
    }
}

/// A parsed, checked size file.
#[derive(Debug, Clone)]
pub struct SizeSpec {
    pub file: PathBuf,
    pub scenario: PathBuf,
    pub name: String,
    /// FNV-1a-64 of the size file, a zero byte and the base scenario (`fnv1a64:…`).
    pub size_hash: String,
    pub set: Vec<Override>,
    pub field: String,
    pub tie: Vec<String>,
    pub plan: Plan,
    pub constraints: Vec<Constraint>,
    /// The figures the constraints name, each once, in order.
    pub figures: Vec<String>,
    pub seeds: u64,
    pub seed: u64,
    pub confidence: f64,
}

impl SizeSpec {
    /// Reads and checks a size file (the base scenario is loaded only when the field's kind must be read
    /// from it; [`check_ends`](Self::check_ends) loads it at both ends of the range).
    pub fn load(file: &Path) -> Result<SizeSpec, InputError> {
        let text =
            fs::read(file).map_err(|e| InputError::file(file, format!("cannot read file: {e}")))?;
        let text_str = scenario::utf8::as_text(file, "size file", &text)?;
        let spec: SizeFile = parse_ron(file, text_str)?;
        let field = |f: &str, m: String| InputError::field(file, f, m);
        let scenario = match file.parent() {
            Some(d) if spec.scenario.is_relative() => d.join(&spec.scenario),
            _ => spec.scenario.clone(),
        };
        let scenario_text = fs::read(&scenario).map_err(|e| {
            field(
                "scenario",
                format!("cannot read {}: {e}", scenario.display()),
            )
        })?;
        let set = spec
            .set
            .iter()
            .enumerate()
            .map(|(i, s)| Override::parse(s).map_err(|m| field(&format!("set[{i}]"), m)))
            .collect::<Result<Vec<_>, _>>()?;
        Override::parse(&format!("{}=0", spec.field)).map_err(|m| field("field", m))?;
        for (i, t) in spec.tie.iter().enumerate() {
            Override::parse(&format!("{t}=0")).map_err(|m| field(&format!("tie[{i}]"), m))?;
            if *t == spec.field || spec.tie[..i].contains(t) {
                return Err(field(&format!("tie[{i}]"), format!("`{t}` is named twice")));
            }
        }
        let (lo, hi) = spec.range;
        if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
            return Err(field(
                "range",
                format!("({lo}, {hi}): expected finite numbers with lo ≤ hi"),
            ));
        }
        if spec.constraints.is_empty() {
            return Err(field(
                "constraints",
                "give at least one, e.g. \"inference.slo.attainment >= 0.99\"".into(),
            ));
        }
        let constraints = spec
            .constraints
            .iter()
            .enumerate()
            .map(|(i, c)| Constraint::parse(c).map_err(|m| field(&format!("constraints[{i}]"), m)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut figures: Vec<String> = Vec::new();
        for c in &constraints {
            if !figures.contains(&c.figure) {
                figures.push(c.figure.clone());
            }
        }
        if spec.seeds == 0 || spec.seeds > MAX_SEEDS {
            return Err(field("seeds", format!("must be 1 to {MAX_SEEDS}")));
        }
        if !(spec.confidence > 0.0 && spec.confidence < 1.0) {
            return Err(field(
                "confidence",
                format!("{}: must lie strictly between 0 and 1", spec.confidence),
            ));
        }
        if spec.points_per_round == 0 || spec.points_per_round > MAX_PER_ROUND {
            return Err(field(
                "points_per_round",
                format!("must be 1 to {MAX_PER_ROUND}"),
            ));
        }
        let name = name_of(&spec.name, file).map_err(|m| field("name", m))?;

        // The base scenario tells the field's kind when not given.
        let kind = match spec.kind {
            Some(k) => k,
            None => {
                let base = load_scenario(&scenario, &set, None)
                    .map_err(|e| field("scenario", e.to_string()))?;
                match field_value(&base.scenario, &spec.field).map_err(|m| field("field", m))? {
                    serde_json::Value::Number(n) if n.is_f64() => Kind::Real,
                    serde_json::Value::Number(_) => Kind::Integer,
                    other => {
                        return Err(field(
                            "field",
                            format!(
                                "`{}` is {} in the scenario: give `kind: Integer` or `kind: Real`",
                                spec.field,
                                scenario::echo::bound_message(&other.to_string())
                            ),
                        ));
                    }
                }
            }
        };
        if kind == Kind::Integer && (lo.fract() != 0.0 || hi.fract() != 0.0 || hi.abs() > 9e15) {
            return Err(field(
                "range",
                format!("({lo}, {hi}): an Integer field needs whole-number ends"),
            ));
        }
        // Below this the bisection would ask for numbers that doubles cannot hold between two neighbours.
        let finest = lo.abs().max(hi.abs()) * MIN_RELATIVE_TOLERANCE;
        let tolerance = match (kind, spec.tolerance) {
            (Kind::Real, Some(t)) if t.is_finite() && t > 0.0 && t < finest => {
                return Err(field(
                    "tolerance",
                    format!(
                        "{t}: finer than the range can be split (at least {finest:e}: \
                         {MIN_RELATIVE_TOLERANCE:e} of its largest end)"
                    ),
                ));
            }
            (Kind::Real, Some(t)) if t > 0.0 && t.is_finite() => t,
            (Kind::Real, Some(t)) => {
                return Err(field(
                    "tolerance",
                    format!("{t}: must be a positive number"),
                ));
            }
            (Kind::Real, None) => {
                return Err(field(
                    "tolerance",
                    "a Real field needs the width of the final interval, e.g. `tolerance: 0.1`"
                        .into(),
                ));
            }
            (Kind::Integer, Some(_)) => {
                return Err(field(
                    "tolerance",
                    "an Integer field ends on adjacent whole numbers: drop `tolerance`".into(),
                ));
            }
            (Kind::Integer, None) => 0.0,
        };
        let s = SizeSpec {
            file: file.to_path_buf(),
            scenario,
            name,
            size_hash: size_hash(&text, &scenario_text),
            set,
            field: spec.field,
            tie: spec.tie,
            plan: Plan {
                kind,
                goal: spec.goal,
                lo,
                hi,
                tolerance,
                per_round: spec.points_per_round,
            },
            constraints,
            figures,
            seeds: spec.seeds,
            seed: spec.seed,
            confidence: spec.confidence,
        };
        Ok(s)
    }

    /// Loads the scenario at both ends of the range (with the first seed), so a bad field path, a value
    /// the scenario rejects or an end whose estimated events exceed `max_events` (the cost guard,
    /// `--max-events`) fails before any run, by `range.0` or `range.1`.
    pub fn check_ends(&self, max_events: u64) -> Result<(), InputError> {
        for (end, v) in [("range.0", self.plan.lo), ("range.1", self.plan.hi)] {
            let at = |e: InputError| {
                InputError::field(&self.file, end, format!("at {}: {e}", self.value_text(v)))
            };
            let loaded = load_scenario(&self.scenario, &self.overrides(v), Some(self.seed_of(0)))
                .map_err(at)?;
            crate::run::within_budget(&loaded, max_events).map_err(at)?;
        }
        Ok(())
    }

    /// The field's value as `--set` text: a whole number for an Integer field, else Rust's shortest
    /// round-trip form.
    pub fn value_text(&self, v: f64) -> String {
        number_text(self.plan.kind, v)
    }

    /// The overrides of value `v`: the file's `set`, then the field and every tied field.
    pub fn overrides(&self, v: f64) -> Vec<Override> {
        let text = self.value_text(v);
        let mut o = self.set.clone();
        for path in std::iter::once(&self.field).chain(&self.tie) {
            o.push(Override {
                path: path.clone(),
                value: text.clone(),
            });
        }
        o
    }

    /// The scenario seed of seed index `i`: the first `u64` of substream `("size", i)` of the master
    /// seed's streams. Every value uses the same seeds (common random numbers), so differences between
    /// values are not noise between seeds.
    pub fn seed_of(&self, i: u64) -> u64 {
        sim::RngStreams::new(self.seed)
            .substream("size", i)
            .next_u64()
    }
}

fn number_text(kind: Kind, v: f64) -> String {
    match kind {
        Kind::Integer => format!("{}", v as i64),
        Kind::Real => v.to_string(),
    }
}

fn size_hash(size_text: &[u8], scenario_text: &[u8]) -> String {
    let mut bytes = size_text.to_vec();
    bytes.push(0);
    bytes.extend_from_slice(scenario_text);
    format!("fnv1a64:{:016x}", sim::fnv1a64(&bytes))
}

/// The study's name: given, or the file stem; usable as a directory name.
fn name_of(given: &Option<String>, file: &Path) -> Result<String, String> {
    let name = match given {
        Some(n) => n.clone(),
        None => file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "size".into()),
    };
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(name)
    } else {
        Err(format!(
            "`{}`: use letters, digits, `-`, `_` and `.` only (it names the output directory)",
            scenario::echo::excerpt(&name)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_parse_and_hold() {
        let c = Constraint::parse("inference.ttft_s.p99 <= 0.5").unwrap();
        assert_eq!(
            (c.figure.as_str(), c.op, c.threshold),
            ("inference.ttft_s.p99", Op::Le, 0.5)
        );
        assert!(c.holds(Some(0.5)) && !c.holds(Some(0.51)) && !c.holds(None));
        let c = Constraint::parse("facility.facility_peak_w<2e7").unwrap();
        assert_eq!((c.op, c.threshold), (Op::Lt, 2e7));
        assert!(!c.holds(Some(2e7)) && !c.holds(Some(f64::NAN)));
        assert_eq!(Constraint::parse("a.b >= 1").unwrap().text(), "a.b >= 1");
        for bad in ["a.b", "a.b >= x", ">= 1", "a..b >= 1", "a.b >= inf"] {
            assert!(Constraint::parse(bad).is_err(), "{bad}");
        }
    }
}
