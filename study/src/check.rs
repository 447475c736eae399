//! `dctwin check`: the regression gate — a run's summary against a baseline, with per-figure
//! tolerances. Rules: `docs/sweeps.md` § The CI gate.

use std::path::Path;

use reports::figures::{flatten, is_integer, lookup, number_text};
use scenario::echo::{bound_message, excerpt, quoted_escaped};
use serde_json::Value;

use crate::error::Error;
use crate::summary::read_summary;

/// Fields `check` never compares: they differ between identical runs or builds.
pub const IGNORED: &[&str] = &["wall_time_s", "dctwin_version"];
/// Default relative tolerance of floating-point figures (a deterministic run reproduces them).
pub const FLOAT_REL_TOL: f64 = 1e-9;

/// A `--tolerance FIELD=REL` rule: applies to FIELD and everything under it (`energy` covers
/// `energy.it_j`); `*` covers every field. The longest matching rule wins.
#[derive(Debug, Clone, PartialEq)]
pub struct Tolerance {
    pub field: String,
    pub rel: f64,
}

impl Tolerance {
    pub fn parse(s: &str) -> Result<Tolerance, String> {
        let (f, r) = s.split_once('=').ok_or_else(|| {
            format!("`--tolerance {s}`: expected FIELD=REL, e.g. `energy.it_j=0.01`")
        })?;
        let rel: f64 = r.trim().parse().map_err(|_| {
            format!("`--tolerance {s}`: `{r}` is not a number (a relative tolerance, 0.01 = 1%)")
        })?;
        if !(rel.is_finite() && rel >= 0.0) {
            return Err(format!("`--tolerance {s}`: must be a finite number ≥ 0"));
        }
        if f.trim().is_empty() {
            return Err(format!(
                "`--tolerance {s}`: no FIELD before `=`; expected FIELD=REL, e.g. `energy.it_j=0.01` (`*` for every field)"
            ));
        }
        Ok(Tolerance {
            field: f.trim().to_string(),
            rel,
        })
    }

    fn matches(&self, name: &str) -> Option<usize> {
        if self.field == "*" {
            return Some(0);
        }
        (name == self.field
            || name
                .strip_prefix(self.field.as_str())
                .is_some_and(|r| r.starts_with('.')))
        .then_some(self.field.len())
    }
}

/// The tolerance of a figure: the longest matching rule, else 0 (exact) for integers in the
/// baseline and [`FLOAT_REL_TOL`] for other numbers.
fn tolerance_of(name: &str, baseline: &Value, rules: &[Tolerance]) -> (f64, &'static str) {
    let best = rules
        .iter()
        .filter_map(|t| t.matches(name).map(|len| (len, t.rel)))
        .max_by_key(|&(len, _)| len);
    match best {
        Some((_, rel)) => (rel, "--tolerance"),
        None if is_integer(Some(baseline)) => (0.0, "count: exact"),
        None => (FLOAT_REL_TOL, "default"),
    }
}

/// What `check` found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Figures that moved past their tolerance, one line each.
    pub moved: Vec<String>,
    /// Changes that do not fail the gate (text fields, new fields).
    pub notes: Vec<String>,
    /// Numbers compared.
    pub compared: usize,
}

/// A field name of a summary as a report line shows it: at most [`scenario::echo::ECHO_CHARS`]
/// characters (then `…` and its length), control characters escaped in backticks. The names come from
/// the files compared, so they are input.
fn field_name(name: &str) -> String {
    if name.chars().any(char::is_control) {
        quoted_escaped(name)
    } else {
        excerpt(name).into_owned()
    }
}

/// A JSON value as a report line shows it: at most 60 characters, then `…`.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// A report line, bounded as every echo of input is ([`bound_message`]: long numbers in scientific
/// notation, long words cut, at most a couple of thousand characters).
fn bounded(line: String) -> String {
    match bound_message(&line) {
        std::borrow::Cow::Borrowed(_) => line,
        std::borrow::Cow::Owned(b) => b,
    }
}

/// Compares every leaf of `baseline` with `run` (ignoring [`IGNORED`]). A number fails when
/// `|run − base| > rel · |base|` (with `base = 0`: when `|run| > rel`); a missing field or a number
/// turned non-number fails; text differences and fields new in the run are notes. Field names and
/// values are echoed bounded ([`field_name`], [`short`], [`bounded`]).
pub fn check_values(run: &Value, baseline: &Value, rules: &[Tolerance]) -> CheckReport {
    let mut r = check_unbounded(run, baseline, rules);
    for line in r.moved.iter_mut().chain(r.notes.iter_mut()) {
        *line = bounded(std::mem::take(line));
    }
    r
}

fn check_unbounded(run: &Value, baseline: &Value, rules: &[Tolerance]) -> CheckReport {
    let mut r = CheckReport::default();
    let base_leaves = flatten(baseline, "");
    for (full_name, b) in &base_leaves {
        if IGNORED.contains(&full_name.as_str()) {
            continue;
        }
        let got = lookup(run, full_name);
        let name = field_name(full_name);
        match (b, got) {
            (_, None) => r
                .moved
                .push(format!("{name}: in the baseline, missing from the run")),
            (Value::Number(_), Some(g)) => {
                r.compared += 1;
                let bv = b.as_f64().unwrap_or(f64::NAN);
                let (rel, why) = tolerance_of(full_name, b, rules);
                let Some(gv) = g.as_f64() else {
                    r.moved.push(format!(
                        "{name}: {} → {} (not a number)",
                        number_text(Some(b)),
                        short(g)
                    ));
                    continue;
                };
                let diff = gv - bv;
                let ok = if bv == 0.0 {
                    diff.abs() <= rel
                } else {
                    diff.abs() <= rel * bv.abs()
                };
                if !ok {
                    let change = if bv != 0.0 {
                        format!("{:+.6}%", 100.0 * diff / bv.abs())
                    } else {
                        "from zero".into()
                    };
                    let delta = if is_integer(Some(b)) && is_integer(Some(g)) {
                        format!("{:+}", gv as i128 - bv as i128)
                    } else {
                        format!("{diff:+e}")
                    };
                    r.moved.push(format!(
                        "{name}: {} → {} (Δ {delta}, {change}; tolerance {rel:e} relative, {why})",
                        number_text(Some(b)),
                        number_text(Some(g)),
                    ));
                }
            }
            (Value::Null, Some(g)) if !g.is_null() => {
                r.moved.push(format!("{name}: null → {}", short(g)));
            }
            (_, Some(g)) if g != *b => {
                r.notes
                    .push(format!("{name}: text changed: {} → {}", short(b), short(g)));
            }
            _ => {}
        }
    }
    for (name, _) in flatten(run, "") {
        if !IGNORED.contains(&name.as_str()) && lookup(baseline, &name).is_none() {
            r.notes.push(format!(
                "{}: new in the run (not in the baseline)",
                field_name(&name)
            ));
        }
    }
    // A rule that covers no figure of the baseline (a typo, or a field this baseline lacks) does nothing:
    // said, so it is not mistaken for one that loosened the gate.
    for t in rules {
        if !base_leaves
            .iter()
            .any(|(name, _)| t.matches(name).is_some())
        {
            r.notes.push(format!(
                "--tolerance {}={}: covers no field of the baseline",
                field_name(&t.field),
                t.rel
            ));
        }
    }
    r
}

/// The run's summary as a baseline: without [`IGNORED`] fields, pretty-printed.
pub fn baseline_text(run: &Value) -> String {
    let mut v = run.clone();
    if let Value::Object(m) = &mut v {
        for f in IGNORED {
            m.remove(*f);
        }
    }
    serde_json::to_string_pretty(&v).expect("JSON") + "\n"
}

/// What `check` did.
#[derive(Debug)]
pub enum CheckOutcome {
    /// `--update`: the run's summary was written as the new baseline.
    Updated,
    /// The run was compared with the baseline; the gate passed when nothing moved.
    Checked(CheckReport),
}

/// `dctwin check RUN --baseline B [--tolerance F=REL]... [--update]`: parses the tolerance rules,
/// reads the run's summary, then either writes it as the baseline (`update`) or compares it with
/// the baseline.
pub fn check(
    run_path: &Path,
    baseline: &Path,
    tolerances: &[String],
    update: bool,
) -> Result<CheckOutcome, Error> {
    let rules = tolerances
        .iter()
        .map(|t| Tolerance::parse(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::Input)?;
    let run = read_summary(run_path)?;
    if update {
        reports::write_atomic(baseline, baseline_text(&run).as_bytes())
            .map_err(|e| Error::Internal(e.to_string()))?;
        return Ok(CheckOutcome::Updated);
    }
    let base = read_summary(baseline)?;
    Ok(CheckOutcome::Checked(check_values(&run, &base, &rules)))
}

impl CheckReport {
    /// Whether the gate passed: no figure moved past its tolerance.
    pub fn passed(&self) -> bool {
        self.moved.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn check_gates_counts_exactly_and_floats_relatively() {
        let base = json!({"wall_time_s": 1.0, "jobs": {"completed": 100}, "energy": {"it_j": 1000.0},
                          "name": "a", "zero": 0.0});
        let same = json!({"wall_time_s": 9.0, "jobs": {"completed": 100}, "energy": {"it_j": 1000.0},
                          "name": "a", "zero": 0.0});
        assert!(check_values(&same, &base, &[]).moved.is_empty());
        let drift = json!({"jobs": {"completed": 101}, "energy": {"it_j": 1000.0000000001},
                           "name": "b", "zero": 0.0, "extra": 1});
        let r = check_values(&drift, &base, &[]);
        assert_eq!(r.moved.len(), 1, "{:?}", r.moved);
        assert!(r.moved[0].starts_with("jobs.completed: 100 → 101"));
        assert_eq!(r.notes.len(), 2, "{:?}", r.notes);
        let loose = [Tolerance::parse("jobs=0.02").unwrap()];
        assert!(check_values(&drift, &base, &loose).moved.is_empty());
        let e = json!({"jobs": {"completed": 100}, "energy": {"it_j": 1010.0}, "name": "a", "zero": 0.0});
        assert_eq!(check_values(&e, &base, &[]).moved.len(), 1);
        let tol = [Tolerance::parse("energy.it_j=0.011").unwrap()];
        assert!(check_values(&e, &base, &tol).moved.is_empty());
        let missing = json!({"energy": {"it_j": 1000.0}, "name": "a", "zero": 0.0});
        assert_eq!(check_values(&missing, &base, &[]).moved.len(), 1);
        assert!(Tolerance::parse("x").is_err() && Tolerance::parse("x=-1").is_err());
        assert!(Tolerance::parse(" =0.1").is_err());
        // A rule that covers nothing is a note, and does not change the verdict.
        let typo = [Tolerance::parse("enrgy=0.5").unwrap()];
        let r = check_values(&e, &base, &typo);
        assert_eq!(r.moved.len(), 1);
        assert!(
            r.notes
                .iter()
                .any(|n| n == "--tolerance enrgy=0.5: covers no field of the baseline"),
            "{:?}",
            r.notes
        );
        assert_eq!(
            Tolerance::parse("energy=0.1").unwrap().matches("energy_x"),
            None
        );
    }
}
