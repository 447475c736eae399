//! `dctwin check` (the regression gate) and `dctwin compare`.
use std::path::Path;

use crate::common::{dctwin, root, temp_dir};

fn run_day(out: &Path, seed: &str) {
    let scenario = root().join("scenarios/quickstart.ron");
    let o = dctwin(&[
        "run",
        scenario.to_str().unwrap(),
        "--quiet",
        "--set",
        "horizon_s=86400",
        "--seed",
        seed,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn check(run: &Path, baseline: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec![
        "check",
        run.to_str().unwrap(),
        "--baseline",
        baseline.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = dctwin(&args);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

#[test]
fn check_fails_on_a_one_percent_drift_of_a_count_and_passes_within_tolerance() {
    let d = temp_dir("gate-check");
    let (a, b) = (d.join("a"), d.join("b"));
    run_day(&a, "42");
    run_day(&b, "42");
    // `dctwin run` also writes a self-contained report.html with its figures inlined (site, power, GPUs, jobs).
    let html = std::fs::read_to_string(a.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.matches("<svg").count() >= 3);
    assert!(html.contains("energy.it_j") && !html.contains("<script") && !html.contains("src="));
    let baseline = d.join("baseline.json");
    let o = dctwin(&[
        "check",
        a.to_str().unwrap(),
        "--baseline",
        baseline.to_str().unwrap(),
        "--update",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let base_text = std::fs::read_to_string(&baseline).unwrap();
    assert!(!base_text.contains("wall_time_s") && !base_text.contains("dctwin_version"));

    // The same scenario and seed again: identical figures (wall time ignored).
    let (code, out) = check(&b, &baseline, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("OK: "), "{out}");

    // Drift jobs.completed by 1% in the baseline.
    let mut v: serde_json::Value = serde_json::from_str(&base_text).unwrap();
    let completed = v["jobs"]["completed"].as_u64().unwrap();
    let drifted = completed + completed.div_ceil(100);
    v["jobs"]["completed"] = drifted.into();
    std::fs::write(&baseline, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let (code, out) = check(&b, &baseline, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL: 1 figure(s)"), "{out}");
    assert!(
        out.contains(&format!("jobs.completed: {drifted} → {completed}")),
        "{out}"
    );
    assert!(out.contains("count: exact"), "{out}");
    // Within a 2% tolerance it passes; a family rule covers the field too.
    assert_eq!(
        check(&b, &baseline, &["--tolerance", "jobs.completed=0.02"]).0,
        Some(0)
    );
    assert_eq!(
        check(&b, &baseline, &["--tolerance", "jobs=0.02"]).0,
        Some(0)
    );
    assert_eq!(
        check(&b, &baseline, &["--tolerance", "jobs.completed=0.001"]).0,
        Some(1)
    );

    // A 1% energy drift fails at the default 1e-9 and passes at 2%.
    let mut v: serde_json::Value = serde_json::from_str(&base_text).unwrap();
    let e = v["energy"]["it_j"].as_f64().unwrap();
    v["energy"]["it_j"] = (e * 1.01).into();
    std::fs::write(&baseline, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let (code, out) = check(&b, &baseline, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("energy.it_j:") && out.contains("-0.990099%"),
        "{out}"
    );
    assert_eq!(
        check(&b, &baseline, &["--tolerance", "energy.it_j=0.02"]).0,
        Some(0)
    );

    // Bad input exits 2.
    assert_eq!(check(&b, &d.join("missing.json"), &[]).0, Some(2));
    assert_eq!(check(&b, &baseline, &["--tolerance", "x"]).0, Some(2));
}

#[test]
fn compare_lines_up_runs_with_differences_and_ratios() {
    let d = temp_dir("gate-compare");
    let (a, b) = (d.join("a"), d.join("b"));
    run_day(&a, "1");
    run_day(&b, "2");
    let out = d.join("cmp");
    let o = dctwin(&[
        "compare",
        a.to_str().unwrap(),
        b.join("summary.json").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains(&md));
    assert!(
        md.lines().nth(2).unwrap().starts_with("| energy.it_j |"),
        "{md}"
    );
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert_eq!(header.split(',').count(), 5, "{header}");
    let row = csv
        .lines()
        .find(|l| l.starts_with("jobs.submitted,"))
        .unwrap();
    let f: Vec<f64> = row.split(',').skip(1).map(|x| x.parse().unwrap()).collect();
    assert_eq!(f[2], f[1] - f[0]);
    assert_eq!(f[3], f[1] / f[0]);
    // One run is not a comparison.
    assert_eq!(
        dctwin(&["compare", a.to_str().unwrap()]).status.code(),
        Some(2)
    );
}

/// Field names and values `check` echoes come from the files compared: they are bounded like every
/// other echo of input (a 4 MiB name is cut to 80 characters with its length, a newline in a name is
/// escaped, a long text value is cut), so stdout stays short; the verdict is unchanged (exit 1).
#[test]
fn check_bounds_the_field_names_it_echoes() {
    let dir = temp_dir("check-bounded");
    let huge = "n".repeat(4 << 20);
    let value = "v".repeat(1 << 20);
    let base =
        serde_json::json!({ "jobs": { "completed": 1 }, huge.clone(): 2, "a\nb": 3, "t": "x" });
    let run = serde_json::json!({ "jobs": { "completed": 1 }, format!("new{huge}"): 4, "a\nb": value, "t": value });
    let (b, r) = (dir.join("base.json"), dir.join("run.json"));
    std::fs::write(&b, base.to_string()).unwrap();
    std::fs::write(&r, run.to_string()).unwrap();
    let o = dctwin(&[
        "check",
        r.to_str().unwrap(),
        "--baseline",
        b.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.len() < 4096, "{} bytes on stdout", out.len());
    assert!(out.contains("FAIL: 2 figure(s)"), "{out}");
    // The missing baseline field, the new run field, and the name with a newline, each on its line.
    let cut = format!(
        "{}… ({} chars): in the baseline, missing from the run",
        "n".repeat(80),
        4 << 20
    );
    assert!(out.contains(&cut), "{out}");
    assert!(
        out.contains(&format!("({} chars): new in the run", (4 << 20) + 3)),
        "{out}"
    );
    assert!(out.contains("`a\\nb`: 3 → "), "{out}");
    assert!(out.lines().all(|l| l.chars().count() < 400), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
