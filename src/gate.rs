//! `dctwin compare` (side-by-side key figures of several runs) and `dctwin check` (the regression
//! gate: a run against a baseline summary, with per-figure tolerances). Rules: `docs/sweeps.md`.

use std::path::{Path, PathBuf};

use reports::figures::{flatten, key_figures, lookup, number, number_text};
use serde_json::Value;

use crate::Failure;

/// Fields `check` never compares: they differ between identical runs or builds.
pub const IGNORED: &[&str] = &["wall_time_s", "dctwin_version"];
/// Default relative tolerance of floating-point figures (a deterministic run reproduces them).
pub const FLOAT_REL_TOL: f64 = 1e-9;

/// Reads a summary: `path` is a run directory (its `summary.json`) or a JSON file.
pub fn read_summary(path: &Path) -> Result<Value, Failure> {
    let file: PathBuf = if path.is_dir() {
        path.join(reports::SUMMARY_JSON)
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| Failure::Input(format!("{}: cannot read: {e}", file.display())))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        Failure::Input(format!(
            "{}:{}:{}: {e}",
            file.display(),
            e.line(),
            e.column()
        ))
    })?;
    if !v.is_object() {
        return Err(Failure::Input(format!(
            "{}: not a run summary (expected a JSON object)",
            file.display()
        )));
    }
    Ok(v)
}

/// A number for a table: integers whole, others with 6 significant digits.
pub(crate) fn show(v: Option<f64>, integer: bool) -> String {
    match v {
        None => "–".into(),
        Some(x) if !x.is_finite() => x.to_string(),
        Some(x) if integer && x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
        Some(x) => {
            let a = x.abs();
            if a != 0.0 && !(1e-3..1e7).contains(&a) {
                format!("{x:.5e}")
            } else {
                let decimals = if a == 0.0 {
                    0
                } else {
                    (5 - a.log10().floor() as i64).max(0) as usize
                };
                let s = format!("{x:.decimals$}");
                let t = if s.contains('.') {
                    s.trim_end_matches('0').trim_end_matches('.')
                } else {
                    &s
                };
                if t == "-0" { "0".into() } else { t.to_string() }
            }
        }
    }
}

pub(crate) fn is_integer(v: Option<&Value>) -> bool {
    v.and_then(Value::as_number)
        .is_some_and(|n| n.is_u64() || n.is_i64())
}

/// The compare table: header and rows (display text) and the CSV (full precision).
pub struct Comparison {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub csv: String,
}

/// Lines up the key figures of `runs` (label, summary); differences and ratios are to the first.
pub fn compare_table(runs: &[(String, Value)]) -> Comparison {
    let mut figures: Vec<String> = Vec::new();
    for (_, s) in runs {
        for f in key_figures(s) {
            if !figures.contains(&f) {
                figures.push(f);
            }
        }
    }
    let mut header = vec!["figure".to_string(), runs[0].0.clone()];
    let mut csv_header = vec!["figure".to_string(), csv_label(&runs[0].0)];
    for (label, _) in &runs[1..] {
        header.push(label.clone());
        header.push(format!("Δ vs {}", runs[0].0));
        header.push("ratio".into());
        csv_header.push(csv_label(label));
        csv_header.push(csv_label(&format!("{label} - {}", runs[0].0)));
        csv_header.push(csv_label(&format!("{label} / {}", runs[0].0)));
    }
    let mut rows = Vec::new();
    let mut csv = csv_header.join(",") + "\n";
    for f in &figures {
        let base_v = lookup(&runs[0].1, f);
        let base = number(base_v);
        let integer = runs.iter().all(|(_, s)| {
            let v = lookup(s, f);
            v.is_none() || is_integer(v)
        });
        let mut row = vec![f.clone(), show(base, integer)];
        let mut crow = vec![reports::figures::csv_field(f), number_text(base_v)];
        for (_, s) in &runs[1..] {
            let v = lookup(s, f);
            let x = number(v);
            let diff = x.zip(base).map(|(x, b)| x - b);
            let ratio = x.zip(base).filter(|&(_, b)| b != 0.0).map(|(x, b)| x / b);
            row.push(show(x, integer));
            row.push(match diff {
                Some(d) if d > 0.0 => format!("+{}", show(Some(d), integer)),
                d => show(d, integer),
            });
            row.push(ratio.map_or("–".into(), |r| format!("{r:.4}")));
            crow.push(number_text(v));
            crow.push(diff.map(|d| d.to_string()).unwrap_or_default());
            crow.push(ratio.map(|r| r.to_string()).unwrap_or_default());
        }
        rows.push(row);
        csv.push_str(&crow.join(","));
        csv.push('\n');
    }
    Comparison { header, rows, csv }
}

fn csv_label(s: &str) -> String {
    reports::figures::csv_field(s)
}

/// `dctwin compare A B [C…] [--out DIR]`.
pub fn compare(paths: &[PathBuf], out: Option<&Path>, quiet: bool) -> Result<(), Failure> {
    if paths.len() < 2 {
        return Err(Failure::Input(
            "compare needs at least two runs (directories or summary.json files)".into(),
        ));
    }
    let runs = paths
        .iter()
        .map(|p| Ok((p.display().to_string(), read_summary(p)?)))
        .collect::<Result<Vec<_>, Failure>>()?;
    let t = compare_table(&runs);
    let md = reports::sweep::markdown_table(&t.header, &t.rows);
    if !quiet {
        print!("{md}");
    }
    if let Some(out) = out {
        std::fs::create_dir_all(out)
            .map_err(|e| Failure::Internal(format!("creating directory {}: {e}", out.display())))?;
        for (name, text) in [("compare.md", &md), ("compare.csv", &t.csv)] {
            let p = out.join(name);
            reports::write_atomic(&p, text.as_bytes())
                .map_err(|e| Failure::Internal(e.to_string()))?;
            if !quiet {
                println!("Wrote {}", p.display());
            }
        }
    }
    Ok(())
}

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

/// Compares every leaf of `baseline` with `run` (ignoring [`IGNORED`]). A number fails when
/// `|run − base| > rel · |base|` (with `base = 0`: when `|run| > rel`); a missing field or a number
/// turned non-number fails; text differences and fields new in the run are notes.
pub fn check_values(run: &Value, baseline: &Value, rules: &[Tolerance]) -> CheckReport {
    let mut r = CheckReport::default();
    let base_leaves = flatten(baseline, "");
    for (name, b) in &base_leaves {
        if IGNORED.contains(&name.as_str()) {
            continue;
        }
        let got = lookup(run, name);
        match (b, got) {
            (_, None) => r
                .moved
                .push(format!("{name}: in the baseline, missing from the run")),
            (Value::Number(_), Some(g)) => {
                r.compared += 1;
                let bv = b.as_f64().unwrap_or(f64::NAN);
                let (rel, why) = tolerance_of(name, b, rules);
                let Some(gv) = g.as_f64() else {
                    r.moved.push(format!(
                        "{name}: {} → {g} (not a number)",
                        number_text(Some(b))
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
                r.moved.push(format!("{name}: null → {g}"));
            }
            (_, Some(g)) if g != *b => {
                let short = |v: &Value| {
                    let s = v.to_string();
                    if s.chars().count() > 60 {
                        format!("{}…", s.chars().take(60).collect::<String>())
                    } else {
                        s
                    }
                };
                r.notes
                    .push(format!("{name}: text changed: {} → {}", short(b), short(g)));
            }
            _ => {}
        }
    }
    for (name, _) in flatten(run, "") {
        if !IGNORED.contains(&name.as_str()) && lookup(baseline, &name).is_none() {
            r.notes
                .push(format!("{name}: new in the run (not in the baseline)"));
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

/// `dctwin check RUN --baseline B [--tolerance F=REL]... [--update]`. Returns whether the gate
/// passed (the caller exits 1 when it did not).
pub fn check(
    run_path: &Path,
    baseline: &Path,
    tolerances: &[String],
    update: bool,
) -> Result<bool, Failure> {
    let rules = tolerances
        .iter()
        .map(|t| Tolerance::parse(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::Input)?;
    let run = read_summary(run_path)?;
    if update {
        reports::write_atomic(baseline, baseline_text(&run).as_bytes())
            .map_err(|e| Failure::Internal(e.to_string()))?;
        println!("Updated {} from {}", baseline.display(), run_path.display());
        return Ok(true);
    }
    let base = read_summary(baseline)?;
    let r = check_values(&run, &base, &rules);
    for n in &r.notes {
        println!("note: {n}");
    }
    if r.moved.is_empty() {
        println!(
            "OK: {} figures of {} within tolerance of {}",
            r.compared,
            run_path.display(),
            baseline.display()
        );
        Ok(true)
    } else {
        println!(
            "FAIL: {} figure(s) of {} moved past tolerance against {}:",
            r.moved.len(),
            run_path.display(),
            baseline.display()
        );
        for m in &r.moved {
            println!("  {m}");
        }
        println!("(a deliberate change: update the baseline, see docs/sweeps.md § The CI gate)");
        Ok(false)
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
        assert_eq!(
            Tolerance::parse("energy=0.1").unwrap().matches("energy_x"),
            None
        );
    }

    #[test]
    fn table_numbers_read_well() {
        assert_eq!(show(Some(5031.0), true), "5031");
        assert_eq!(show(Some(0.7404123456), false), "0.740412");
        assert_eq!(show(Some(5.343e11), false), "5.34300e11");
        assert_eq!(show(Some(2365.24), false), "2365.24");
        assert_eq!(show(None, false), "–");
    }
}
