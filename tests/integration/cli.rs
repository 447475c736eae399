//! End-to-end runs through the CLI: outputs, determinism, overrides.
use std::path::Path;

use crate::common::{dctwin, root, temp_dir};

fn run_quickstart(out: &Path, extra: &[&str]) {
    let scenario = root().join("scenarios/quickstart.ron");
    let out_s = out.display().to_string();
    let mut args = vec![
        "run",
        scenario.to_str().unwrap(),
        "--quiet",
        "--out",
        out_s.as_str(),
    ];
    args.extend_from_slice(extra);
    let o = dctwin(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// summary.json without its one non-deterministic field.
fn summary_minus_wall_time(dir: &Path) -> String {
    let mut v = summary(dir);
    v.as_object_mut()
        .unwrap()
        .remove("wall_time_s")
        .expect("wall_time_s present");
    serde_json::to_string(&v).unwrap()
}

#[test]
fn quickstart_writes_every_output_and_is_deterministic() {
    let d = temp_dir("cli-quickstart");
    let (a, b, c) = (d.join("a"), d.join("b"), d.join("c"));
    run_quickstart(&a, &[]);
    run_quickstart(&b, &[]);
    run_quickstart(&c, &["--seed", "43"]);
    for f in [
        "summary.json",
        "timeseries.csv",
        "it_power.svg",
        "utilization_queue.svg",
    ] {
        assert!(a.join(f).metadata().unwrap().len() > 0, "{f}");
    }
    // Same seed → same bytes (but wall time); different seed → a different run.
    assert_eq!(summary_minus_wall_time(&a), summary_minus_wall_time(&b));
    assert_eq!(
        std::fs::read(a.join("timeseries.csv")).unwrap(),
        std::fs::read(b.join("timeseries.csv")).unwrap()
    );
    assert_ne!(summary_minus_wall_time(&a), summary_minus_wall_time(&c));

    let s = summary(&a);
    assert_eq!(s["scenario"], "quickstart");
    assert_eq!(s["seed"], 42);
    assert_eq!(s["gpus"]["total"], 1024);
    let j = &s["jobs"];
    let submitted = j["submitted"].as_u64().unwrap();
    // Conservation: every submitted job is completed, running or queued.
    assert_eq!(
        submitted,
        j["completed"].as_u64().unwrap()
            + j["running_at_end"].as_u64().unwrap()
            + j["queued_at_end"].as_u64().unwrap()
    );
    // About one job per 120 s over a week.
    assert!((4500..5600).contains(&submitted), "{submitted}");
    let util = s["gpus"]["utilization_mean"].as_f64().unwrap();
    assert!(util > 0.3 && util <= 1.0, "{util}");
    // IT energy lies between all-idle and all-busy bounds of the site.
    let e = s["energy"]["it_j"].as_f64().unwrap();
    let week = 604_800.0;
    let idle_w = 128.0 * (8.0 * 70.0 + 1200.0) / 0.95;
    let busy_w = 128.0 * (8.0 * 605.5 + 3400.0) / 0.95;
    assert!(e > idle_w * week && e < busy_w * week, "{e}");
    assert_eq!(
        s["energy"]["it_j"].as_f64().unwrap() / week,
        s["power"]["it_mean_w"].as_f64().unwrap()
    );
    // The time series has one row per 600 s, plus t = 0.
    let ts = std::fs::read_to_string(a.join("timeseries.csv")).unwrap();
    assert_eq!(ts.lines().count(), 1 + 1 + 604_800 / 600);
}

#[test]
fn trace_replay_through_set_override() {
    let d = temp_dir("cli-trace");
    let trace = d.join("jobs.csv");
    std::fs::write(&trace, "submit_s,gpus,duration_s\n0,8,100\n10,8,100\n").unwrap();
    let scenario = root().join("scenarios/trace-replay.ron");
    let out = d.join("out");
    let o = dctwin(&[
        "run",
        scenario.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--set",
        &format!("workload.NativeTrace.path={}", trace.display()),
        "--set",
        "horizon_s=3600",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let s = summary(&out);
    assert_eq!(s["jobs"]["submitted"], 2);
    assert_eq!(s["jobs"]["completed"], 2);
    assert_eq!(s["horizon_s"], 3600.0);
    assert!((s["gpu_hours"]["busy"].as_f64().unwrap() - 1600.0 / 3600.0).abs() < 1e-12);
}

#[test]
fn shipped_scenarios_validate() {
    for name in ["quickstart.ron", "trace-replay.ron", "alibaba-gpu-2023.ron"] {
        let p = root().join("scenarios").join(name);
        let o = dctwin(&["validate", p.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(String::from_utf8_lossy(&o.stdout).contains("OK"));
    }
}

#[test]
fn help_on_every_subcommand() {
    for args in [
        vec!["--help"],
        vec!["run", "--help"],
        vec!["validate", "--help"],
        vec!["init", "--help"],
        vec!["catalog", "--help"],
        vec!["completions", "--help"],
        vec!["man", "--help"],
    ] {
        let o = dctwin(&args);
        assert_eq!(o.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&o.stdout).contains("Usage"));
    }
}

/// Every shipped scenario loads and runs (its first simulated hour), and every example sweep file expands.
#[test]
fn every_shipped_scenario_runs_briefly() {
    let dir = root().join("scenarios");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    names.sort();
    assert!(names.len() >= 19, "{names:?}");
    for p in &names {
        let ov = [scenario::Override {
            path: "horizon_s".into(),
            value: "3600".into(),
        }];
        let loaded = scenario::load_scenario(p, &ov, None)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let out =
            twin::run(&loaded, &mut |_| {}).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(out.summary.energy.it_j > 0.0, "{}", p.display());
    }
    let sweeps = root().join("examples/sweeps");
    for e in std::fs::read_dir(&sweeps).unwrap() {
        let p = e.unwrap().path();
        let sw =
            scenario::sweep::Sweep::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(sw.runs() > 0, "{}", p.display());
    }
}

/// Away from a terminal (a log, CI, a batch job) a run prints progress lines with an ETA on stderr, at the
/// interval `DCTWIN_PROGRESS_S` sets; `--quiet` silences them.
#[test]
fn progress_lines_away_from_a_terminal() {
    let out = temp_dir("progress-lines");
    let run = |quiet: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_dctwin"));
        c.args(["run", "scenarios/inference-day.ron", "--out"])
            .arg(out.join("r"))
            .args(["--set", "horizon_s=14400"])
            .current_dir(root())
            .env("CI", "1")
            .env("DCTWIN_PROGRESS_S", "0.001");
        if quiet {
            c.arg("--quiet");
        }
        c.output().expect("run dctwin")
    };
    let o = run(false);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("dctwin: simulating scenarios/inference-day.ron: "))
        .unwrap_or_else(|| panic!("no progress line in {err:?}"));
    assert!(
        line.contains("of 4.0 h), elapsed ") && line.contains(", eta "),
        "{line}"
    );
    let q = run(true);
    assert!(q.status.success());
    assert!(!String::from_utf8_lossy(&q.stderr).contains("dctwin: simulating"));
}

/// A reader that goes away (`dctwin man | head -1`) ends the process by SIGPIPE, as other tools do; no panic.
#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dctwin"))
        .arg("man")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("dctwin starts");
    drop(child.stdout.take()); // the reader is gone before dctwin writes
    let out = child.wait_with_output().expect("dctwin ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}", out.status);
}
