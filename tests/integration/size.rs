//! `dctwin size`: the boundary of a figure known in closed form, a non-monotone field reported, determinism
//! over threads, resuming, shards + merge against one unsharded run, bad size files, the shipped examples.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{catalog, dctwin, root, temp_dir, write};

/// A site of `servers` one-H100 servers (host power zero, PSU 1) running `trace`; the server count and the
/// horizon are fields to size.
fn idle_site(dir: &Path, trace: &str, horizon_s: f64) -> PathBuf {
    let trace = write(dir, "jobs.csv", trace);
    write(
        dir,
        "s.ron",
        &format!(
            r#"Scenario(
    name: "size-test",
    seed: 1,
    horizon_s: {horizon_s:?},
    catalog: "{cat}",
    site: Layout(
        server_templates: {{
            "s": ServerTemplate(gpu_model: "H100", gpus: 1, host: HostPower(idle_w: 0.0, max_w: 0.0, psu_efficiency: 1.0)),
        }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [RackGroup(count: 1, servers: [ServerGroup(template: "s", count: 1)])])])],
    ),
    workload: NativeTrace(path: "{trace}"),
    reporting: (interval_s: 10.0),
)
"#,
            cat = catalog(),
            trace = trace.display()
        ),
    )
}

const SERVERS: &str = "site.Layout.halls.0.rows.0.racks.0.servers.0.count";

/// One GPU busy for the hour (605.5 W) and N − 1 idle ones (70 W each): IT energy ≥ that of 12.5 idle
/// GPUs beside the busy one holds from exactly N = 14.
fn servers_study(dir: &Path, per_round: usize) -> PathBuf {
    idle_site(dir, "submit_s,gpus,duration_s\n0,1,3600\n", 3600.0);
    let threshold = 605.5 * 3600.0 + 12.5 * 70.0 * 3600.0;
    write(
        dir,
        "servers.ron",
        &format!(
            r#"Size(
    scenario: "s.ron",
    field: "{SERVERS}",
    range: (1, 40),
    goal: Smallest,
    constraints: ["energy.it_j >= {threshold}", "jobs.completed >= 1"],
    seeds: 2,
    seed: 5,
    points_per_round: {per_round},
)"#
        ),
    )
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ok(o: &std::process::Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const OUTPUTS: [&str; 4] = ["size.json", "size.csv", "size.svg", "report.html"];

fn same_outputs(a: &Path, b: &Path) {
    for f in OUTPUTS {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn size_finds_the_exact_boundary_of_a_closed_form_figure() {
    let dir = temp_dir("size-exact");
    let file = servers_study(&dir, 1);
    let out = dir.join("out");
    let stdout = ok(&dctwin(&[
        "size",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let r = json(&out.join("size.json"));
    assert_eq!(r["outcome"]["status"], "found", "{r:#}");
    assert_eq!(r["answer"], 14.0);
    assert_eq!(r["interval"], serde_json::json!([13.0, 14.0]));
    assert_eq!(r["monotone"], true);
    assert!(stdout.contains("is 14 (13 fails)"), "{stdout}");
    // Every evaluated value's verdict agrees with the closed form, on both seeds.
    let points = r["points"].as_array().unwrap();
    assert!(
        points.len() >= 5 && points.len() <= 2 + 7,
        "{}",
        points.len()
    );
    for p in points {
        let n = p["value"].as_f64().unwrap();
        assert_eq!(p["pass"], n >= 14.0, "{p}");
        let e = p["figures"][0]["mean"].as_f64().unwrap();
        let want = 605.5 * 3600.0 + (n - 1.0) * 70.0 * 3600.0;
        assert!((e - want).abs() <= 1e-9 * want, "{n}: {e} vs {want}");
    }
    let csv = std::fs::read_to_string(out.join("size.csv")).unwrap();
    assert!(csv.starts_with(&format!(
        "{SERVERS},seed_index,seed,energy.it_j,jobs.completed,run_pass,value_pass\n"
    )));
    assert_eq!(csv.lines().count(), 1 + 2 * points.len());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Evaluated values"));
    // The range's hard end passing, or its easy end failing, is said as such.
    let r2 = dir.join("r2.ron");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&r2, text.replace("range: (1, 40)", "range: (20, 40)")).unwrap();
    ok(&dctwin(&[
        "size",
        r2.to_str().unwrap(),
        "--out",
        dir.join("o2").to_str().unwrap(),
        "-q",
    ]));
    let r = json(&dir.join("o2/size.json"));
    assert_eq!(
        (r["outcome"]["status"].as_str(), r["answer"].as_f64()),
        (Some("whole_range"), Some(20.0))
    );
    std::fs::write(&r2, text.replace("range: (1, 40)", "range: (1, 10)")).unwrap();
    let o = dctwin(&[
        "size",
        r2.to_str().unwrap(),
        "--out",
        dir.join("o3").to_str().unwrap(),
    ]);
    assert!(ok(&o).contains("Not feasible within range"));
    assert_eq!(
        json(&dir.join("o3/size.json"))["answer"],
        serde_json::Value::Null
    );
}

/// Mean IT power over the horizon with one GPU busy on [0, 100) and [200, 300) s falls, rises and falls
/// again with the horizon: the round at 137.5, 225 and 312.5 s sees 225 fail between passing values.
#[test]
fn a_non_monotone_field_is_reported() {
    let dir = temp_dir("size-nonmono");
    idle_site(
        &dir,
        "submit_s,gpus,duration_s\n0,1,100\n200,1,100\n",
        400.0,
    );
    let file = write(
        &dir,
        "h.ron",
        r#"Size(scenario: "s.ron", field: "horizon_s", range: (50, 400), tolerance: 5, goal: Largest,
               constraints: ["power.it_mean_w >= 390"], seed: 1, points_per_round: 3)"#,
    );
    let out = dir.join("out");
    let stdout = ok(&dctwin(&[
        "size",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let r = json(&out.join("size.json"));
    let mean_at = |h: f64| {
        r["points"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["value"] == h)
            .unwrap_or_else(|| panic!("{h} not evaluated: {r:#}"))["figures"][0]["mean"]
            .as_f64()
            .unwrap()
    };
    assert!(mean_at(225.0) < 390.0 && mean_at(312.5) >= 390.0, "{r:#}");
    assert_eq!(r["monotone"], false);
    // 225 fails although a longer horizon (the longest passing one, at least 312.5) passes.
    assert!(
        r["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["fail"] == 225.0 && v["pass"].as_f64().unwrap() >= 312.5),
        "{r:#}"
    );
    assert_eq!(r["figure_trends"][0]["mean_monotone"], false);
    assert!(
        stdout.contains("NOT MONOTONE") && stdout.contains("passes but 225 fails"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("NOT MONOTONE"));
}

#[test]
fn size_is_deterministic_over_threads_and_resumes() {
    let dir = temp_dir("size-det");
    let file = servers_study(&dir, 3);
    let f = file.to_str().unwrap();
    let (a, b) = (dir.join("a"), dir.join("b"));
    ok(&dctwin(&[
        "size",
        f,
        "--out",
        a.to_str().unwrap(),
        "--threads",
        "1",
        "-q",
    ]));
    ok(&dctwin(&[
        "size",
        f,
        "--out",
        b.to_str().unwrap(),
        "--threads",
        "3",
        "-q",
    ]));
    same_outputs(&a, &b);
    // Run again over its own evaluations (one cut mid-line, as by a kill): only that one runs again.
    let evals = a.join("evaluations.jsonl");
    let text = std::fs::read_to_string(&evals).unwrap();
    let n = text.lines().count();
    let last = text.lines().last().unwrap();
    let cut = &text[..text.len() - last.len() / 2 - 1];
    std::fs::write(&evals, cut).unwrap();
    let stdout = ok(&dctwin(&["size", f, "--out", a.to_str().unwrap()]));
    assert!(
        stdout.contains(&format!("{n} evaluation(s): 1 run now, {} found", n - 1)),
        "{stdout}"
    );
    same_outputs(&a, &b);
    assert_eq!(std::fs::read_to_string(&evals).unwrap().lines().count(), n);
    // Evaluations of another study in the directory are refused.
    std::fs::write(
        &file,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("seed: 5", "seed: 6"),
    )
    .unwrap();
    let o = dctwin(&["size", f, "--out", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("another size study"));
}

#[test]
fn shards_and_merge_equal_one_unsharded_run() {
    let dir = temp_dir("size-shards");
    let file = servers_study(&dir, 2);
    let f = file.to_str().unwrap();
    let (whole, sharded) = (dir.join("whole"), dir.join("sharded"));
    ok(&dctwin(&[
        "size",
        f,
        "--out",
        whole.to_str().unwrap(),
        "-q",
    ]));
    // Three shards at once, sharing rounds through the directory (one from the Kubernetes variable).
    let spawn = |args: &[&str], env: Option<(&str, &str)>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dctwin"));
        c.args([
            "size",
            f,
            "--out",
            sharded.to_str().unwrap(),
            "--poll-s",
            "0.05",
            "--threads",
            "1",
        ])
        .args(args)
        .env("CI", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        c.spawn().expect("spawn dctwin")
    };
    std::fs::create_dir_all(&sharded).unwrap();
    let children = [
        spawn(&["--shard", "0/3"], None),
        spawn(&["--shard", "1/3"], None),
        spawn(
            &["--shard-from-env", "--shards", "3"],
            Some(("JOB_COMPLETION_INDEX", "2")),
        ),
    ];
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(ok(&o).contains("Shard finished its share"));
    }
    for i in 0..3 {
        let p = sharded.join(format!("size-shard-{i}-of-3.jsonl"));
        assert!(
            !std::fs::read_to_string(&p).unwrap().is_empty(),
            "{}",
            p.display()
        );
    }
    assert!(
        !sharded.join("size.json").exists(),
        "shards write only their evaluations"
    );
    let stdout = ok(&dctwin(&["size", f, "--out", sharded.to_str().unwrap()]));
    assert!(stdout.contains(": 0 run now"), "{stdout}");
    same_outputs(&whole, &sharded);
}

#[test]
fn bad_size_files_name_the_field() {
    let dir = temp_dir("size-bad");
    servers_study(&dir, 1);
    for (body, field) in [
        (r#"constraints: ["energy.it_j => 1"]"#, "constraints[0]"),
        (r#"constraints: ["no.such.figure >= 1"]"#, "constraints[0]"),
        (
            r#"constraints: ["energy.it_j >= 1"], range: (1.5, 4)"#,
            "range",
        ),
        (
            r#"constraints: ["energy.it_j >= 1"], tolerance: 0.5"#,
            "tolerance",
        ),
        (r#"constraints: ["energy.it_j >= 1"], seeds: 0"#, "seeds"),
        (
            r#"constraints: ["energy.it_j >= 1"], range: (0, 4)"#,
            "range.0",
        ),
    ] {
        let range = if body.contains("range") {
            ""
        } else {
            "range: (1, 4),"
        };
        let file = write(
            &dir,
            "bad.ron",
            &format!(
                r#"Size(scenario: "s.ron", field: "{SERVERS}", {range} goal: Smallest, seed: 1, {body})"#
            ),
        );
        let o = dctwin(&[
            "size",
            file.to_str().unwrap(),
            "--out",
            dir.join("o").to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{body}: {err}");
        assert!(
            err.contains(field) && err.contains("bad.ron"),
            "{body}: {err}"
        );
    }
    let o = dctwin(&[
        "size",
        dir.join("bad.ron").to_str().unwrap(),
        "--shard",
        "3/3",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

/// Every shipped size file loads (and with it the scenario at both ends of its range), and one evaluation
/// of a shortened run at its low end gives every constraint figure.
#[test]
fn every_shipped_size_file_loads_and_runs_briefly() {
    let dir = root().join("examples/sizing");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let mut spec =
            study::size::SizeSpec::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        spec.check_ends(twin::DEFAULT_MAX_EVENTS)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        spec.set.push(scenario::Override {
            path: "horizon_s".into(),
            value: "3600".into(),
        });
        let ev = study::size::run::evaluate(&spec, spec.plan.lo, 0, twin::DEFAULT_MAX_EVENTS)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(ev.figures.len(), spec.figures.len(), "{}", p.display());
        n += 1;
    }
    assert!(n >= 2);
}
