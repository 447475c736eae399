//! Figures of a run summary by dotted name (`energy.it_j`, `jobs.wait_s.p99`, …), read from the
//! JSON image of `summary.json`: what sweeps tabulate, `dctwin compare` lines up and `dctwin check`
//! gates on.

use serde_json::Value;

/// The key figures a sweep and `dctwin compare` report, in column order, when the summary has
/// them. Training jobs add `training.jobs.<i>.{achieved_mfu,tokens_per_s,finish_s,gpu_energy_j}`
/// per job, and every number under a `facility` or `carbon` object is added by its dotted name
/// (see [`key_figures`]).
pub const KEY_FIGURES: &[&str] = &[
    "energy.it_j",
    "energy.gpu_j",
    "power.it_peak_w",
    "power.it_mean_w",
    "jobs.submitted",
    "jobs.completed",
    "jobs.wait_s.mean",
    "jobs.wait_s.p99",
    "jobs.turnaround_s.mean",
    "jobs.preemptions",
    "jobs.lost_gpu_h",
    "gpus.utilization_mean",
    "gpu_hours.busy",
    "inference.requests.completed",
    "inference.ttft_s.p50",
    "inference.ttft_s.p99",
    "inference.tpot_s.p50",
    "inference.tpot_s.p99",
    "inference.e2e_s.p99",
    "inference.slo.attainment",
    "inference.tokens.generated_per_s",
    "inference.energy.it_per_generated_token_j",
];

/// Per-job training figures (for each index `i` of `training.jobs`).
const TRAINING_JOB_FIGURES: &[&str] = &[
    "achieved_mfu",
    "tokens_per_s",
    "finish_s",
    "gpu_energy_j",
    "run_step_s",
    "lost_steps",
    "restart_s",
    "ettr",
    "checkpoint_every_s",
];

/// Top-level objects whose every number is a key figure (added by the facility and carbon models, the
/// network fabric, the shared fleet, failures and storage).
const OPEN_FAMILIES: &[&str] = &[
    "facility",
    "carbon",
    "network",
    "shared_fleet",
    "failures",
    "storage",
];

/// The value at a dotted path (`jobs.wait_s.p99`; list entries by index, `training.jobs.0.steps`).
pub fn lookup<'a>(summary: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(summary, |node, seg| match node {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// The key figures present in `summary`, in order: [`KEY_FIGURES`] first, then training per-job
/// figures, then the numbers of the open families (`facility.*`, `carbon.*`) in the summary's order.
pub fn key_figures(summary: &Value) -> Vec<String> {
    let mut names: Vec<String> = KEY_FIGURES
        .iter()
        .filter(|n| lookup(summary, n).is_some_and(Value::is_number))
        .map(|n| n.to_string())
        .collect();
    if let Some(Value::Array(jobs)) = lookup(summary, "training.jobs") {
        for (i, job) in jobs.iter().enumerate() {
            for f in TRAINING_JOB_FIGURES {
                if job.get(f).is_some() {
                    names.push(format!("training.jobs.{i}.{f}"));
                }
            }
        }
    }
    for fam in OPEN_FAMILIES {
        if let Some(v) = summary.get(fam) {
            for (name, value) in flatten(v, fam) {
                if value.is_number() {
                    names.push(name);
                }
            }
        }
    }
    names
}

/// Whether `name` can be a key figure of some run ([`key_figures`]): one of [`KEY_FIGURES`],
/// `training.jobs.<i>.<figure>` with a per-job figure, or a dotted name under an open family
/// (`facility.pue`). What a sweep's `plot` section names is checked with this before any run.
pub fn is_key_figure_name(name: &str) -> bool {
    if KEY_FIGURES.contains(&name) {
        return true;
    }
    let segs: Vec<&str> = name.split('.').collect();
    if let ["training", "jobs", i, f] = segs.as_slice() {
        return i.parse::<usize>().is_ok() && TRAINING_JOB_FIGURES.contains(f);
    }
    segs.len() >= 2 && OPEN_FAMILIES.contains(&segs[0]) && segs.iter().all(|s| !s.is_empty())
}

/// What [`is_key_figure_name`] accepts, for messages.
pub fn key_figure_grammar() -> String {
    format!(
        "one of {}; training.jobs.<i>.{{{}}}; or a name under {}",
        KEY_FIGURES.join(", "),
        TRAINING_JOB_FIGURES.join(","),
        OPEN_FAMILIES
            .iter()
            .map(|f| format!("{f}."))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Every leaf of `v` by dotted name (prefixed with `prefix` unless it is empty), depth first in
/// the JSON's own order. Leaves are numbers, strings, booleans and nulls; empty objects and lists
/// yield nothing.
pub fn flatten<'a>(v: &'a Value, prefix: &str) -> Vec<(String, &'a Value)> {
    let mut out = Vec::new();
    walk(v, prefix.to_string(), &mut out);
    out
}

fn walk<'a>(v: &'a Value, name: String, out: &mut Vec<(String, &'a Value)>) {
    let join = |seg: &str| {
        if name.is_empty() {
            seg.to_string()
        } else {
            format!("{name}.{seg}")
        }
    };
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                walk(child, join(k), out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                walk(child, join(&i.to_string()), out);
            }
        }
        _ => out.push((name, v)),
    }
}

/// A JSON number as text: integers as integers, floats in Rust's shortest round-trip form (`1.5`,
/// `3` for 3.0, never an exponent); null and non-numbers as the empty string.
pub fn number_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_u64() {
                i.to_string()
            } else if let Some(i) = n.as_i64() {
                i.to_string()
            } else {
                n.as_f64().map(|f| f.to_string()).unwrap_or_default()
            }
        }
        _ => String::new(),
    }
}

/// A value as `f64` if it is a number.
pub fn number(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

/// A number for a table (`dctwin compare`, report.html): integers whole, others with 6
/// significant digits (scientific notation below 10⁻³ and from 10⁷), `–` for none.
pub fn show(v: Option<f64>, integer: bool) -> String {
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

/// Whether `v` is a JSON integer (a count), not a float.
pub fn is_integer(v: Option<&Value>) -> bool {
    v.and_then(Value::as_number)
        .is_some_and(|n| n.is_u64() || n.is_i64())
}

/// One CSV field: quoted (with `"` doubled) if it contains a comma, a quote or a line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_figure_names() {
        for ok in [
            "energy.it_j",
            "inference.ttft_s.p99",
            "training.jobs.3.achieved_mfu",
            "facility.pue",
            "carbon.total_g",
        ] {
            assert!(is_key_figure_name(ok), "{ok}");
        }
        for bad in [
            "energy.it_jj",
            "",
            "facility",
            "facility.",
            "training.jobs.x.achieved_mfu",
            "training.jobs.0.nope",
            "jobs.wait_s",
        ] {
            assert!(!is_key_figure_name(bad), "{bad}");
        }
        assert!(key_figure_grammar().contains("training.jobs.<i>."));
    }

    #[test]
    fn lookup_flatten_and_key_figures() {
        let s = json!({
            "energy": {"it_j": 1.5, "gpu_j": 1.0},
            "jobs": {"completed": 3, "wait_s": {"p99": 2.0}},
            "training": {"jobs": [{"name": "a", "achieved_mfu": 0.4, "finish_s": null}]},
            "facility": {"pue": 1.2, "name": "x", "cooling": {"chiller_j": 5.0}},
        });
        assert_eq!(lookup(&s, "jobs.wait_s.p99"), Some(&json!(2.0)));
        assert_eq!(lookup(&s, "training.jobs.0.name"), Some(&json!("a")));
        assert_eq!(lookup(&s, "jobs.nope"), None);
        assert_eq!(
            key_figures(&s),
            [
                "energy.it_j",
                "energy.gpu_j",
                "jobs.completed",
                "jobs.wait_s.p99",
                "training.jobs.0.achieved_mfu",
                "training.jobs.0.finish_s",
                "facility.cooling.chiller_j",
                "facility.pue",
            ]
        );
        assert_eq!(number_text(lookup(&s, "jobs.completed")), "3");
        assert_eq!(number_text(lookup(&s, "energy.it_j")), "1.5");
        assert_eq!(number_text(Some(&json!(3.0))), "3");
        assert_eq!(number_text(lookup(&s, "training.jobs.0.finish_s")), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }

    #[test]
    fn table_numbers_read_well() {
        assert_eq!(show(Some(5031.0), true), "5031");
        assert_eq!(show(Some(0.7404123456), false), "0.740412");
        assert_eq!(show(Some(5.343e11), false), "5.34300e11");
        assert_eq!(show(Some(2365.24), false), "2365.24");
        assert_eq!(show(None, false), "–");
        assert!(is_integer(Some(&json!(3))) && !is_integer(Some(&json!(3.0))));
    }
}
