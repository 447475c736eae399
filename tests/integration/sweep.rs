//! Sweeps: serial = parallel bytes, shards + merge = unsharded bytes, resume after a kill, bad
//! input, and the coverage of the Student-t confidence interval.
use std::path::{Path, PathBuf};

use crate::common::{dctwin, root, temp_dir, write};

/// Files every complete sweep writes, all compared byte for byte.
const OUTPUTS: &[&str] = &[
    "sweep.json",
    "runs.jsonl",
    "results.csv",
    "points.csv",
    "sweep_figure.svg",
    "sweep_tradeoff.svg",
    "report.html",
];

/// A one-day quickstart sweep: 2 arrival rates × 3 replicates = 6 runs.
fn sweep_file(dir: &Path) -> PathBuf {
    let scenario = root().join("scenarios/quickstart.ron");
    write(
        dir,
        "day.ron",
        &format!(
            r#"Sweep(
    scenario: "{}",
    set: ["horizon_s=86400"],
    axes: [(path: "workload.Synthetic.interarrival_s.Exponential.mean_s", values: [100, 140])],
    replicates: 3,
    seed: 7,
)
"#,
            scenario.display()
        ),
    )
}

fn ok(args: &[&str]) -> String {
    let o = dctwin(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "dctwin {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn sweep(file: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "sweep",
        file.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&args);
}

fn assert_same_outputs(a: &Path, b: &Path) {
    for f in OUTPUTS {
        let (x, y) = (std::fs::read(a.join(f)), std::fs::read(b.join(f)));
        let (x, y) = (
            x.unwrap_or_else(|e| panic!("{}: {e}", a.join(f).display())),
            y.unwrap_or_else(|e| panic!("{}: {e}", b.join(f).display())),
        );
        assert!(
            x == y,
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn serial_parallel_and_sharded_sweeps_write_the_same_bytes() {
    let d = temp_dir("sweep-bytes");
    let file = sweep_file(&d);
    let (serial, parallel, sharded) = (d.join("serial"), d.join("parallel"), d.join("sharded"));
    sweep(&file, &serial, &["--threads", "1"]);
    sweep(&file, &parallel, &["--threads", "2"]);
    assert_same_outputs(&serial, &parallel);

    for i in 0..3 {
        sweep(
            &file,
            &sharded,
            &["--shard", &format!("{i}/3"), "--threads", "2"],
        );
    }
    for i in 0..3 {
        assert_eq!(
            lines(&sharded.join(format!("shard-{i}-of-3.jsonl"))).len(),
            2
        );
    }
    ok(&["merge", sharded.to_str().unwrap(), "--quiet"]);
    assert_same_outputs(&serial, &sharded);

    // The table: one row per run, k in order, seeds distinct, axis values as given.
    let results = lines(&serial.join("results.csv"));
    assert_eq!(results.len(), 7);
    assert!(results[0].starts_with(
        "k,point,replicate,seed,workload.Synthetic.interarrival_s.Exponential.mean_s,energy.it_j,"
    ));
    let rows: Vec<Vec<&str>> = results[1..]
        .iter()
        .map(|l| l.split(',').collect())
        .collect();
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(r[0], k.to_string());
        assert_eq!(r[1], (k / 3).to_string());
        assert_eq!(r[4], if k < 3 { "100" } else { "140" });
    }
    let mut seeds: Vec<&str> = rows.iter().map(|r| r[3]).collect();
    seeds.sort();
    seeds.dedup();
    assert_eq!(seeds.len(), 6);
    let points = lines(&serial.join("points.csv"));
    assert_eq!(points.len(), 3);
    assert!(points[0].contains("energy.it_j.mean,energy.it_j.sd,energy.it_j.ci95"));
}

#[test]
fn a_killed_shard_resumes_without_losing_or_duplicating_runs() {
    let d = temp_dir("sweep-resume");
    let file = sweep_file(&d);
    let (whole, sharded) = (d.join("whole"), d.join("sharded"));
    sweep(&file, &whole, &[]);
    sweep(&file, &sharded, &["--shard", "0/2"]);
    sweep(&file, &sharded, &["--shard", "1/2"]);
    let shard0 = sharded.join("shard-0-of-2.jsonl");
    let full = lines(&shard0);
    assert_eq!(full.len(), 3);

    // Killed mid-write: one complete record and half of the next.
    let half = &full[1][..full[1].len() / 2];
    std::fs::write(&shard0, format!("{}\n{half}", full[0])).unwrap();
    // merge refuses the incomplete shard.
    let o = dctwin(&["merge", sharded.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("partial"));

    let out = ok(&[
        "sweep",
        file.to_str().unwrap(),
        "--out",
        sharded.to_str().unwrap(),
        "--shard",
        "0/2",
    ]);
    assert!(out.contains("ran 2 run(s), 1 already done"), "{out}");
    let resumed = lines(&shard0);
    assert_eq!(resumed.len(), 3, "no run lost, none duplicated");
    let mut ks: Vec<u64> = resumed
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["k"]
                .as_u64()
                .unwrap()
        })
        .collect();
    ks.sort();
    assert_eq!(ks, [0, 2, 4]);

    // Running a finished shard again changes nothing.
    sweep(&file, &sharded, &["--shard", "0/2"]);
    assert_eq!(lines(&shard0).len(), 3);
    ok(&["merge", sharded.to_str().unwrap(), "--quiet"]);
    assert_same_outputs(&whole, &sharded);

    // A missing shard or a duplicated record is refused.
    std::fs::remove_file(sharded.join("shard-1-of-2.jsonl")).unwrap();
    let o = dctwin(&["merge", sharded.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("3 of 6 runs are missing (k = 1, 3, 5)"));
    std::fs::write(
        sharded.join("shard-1-of-2.jsonl"),
        format!("{}\n", resumed[0]),
    )
    .unwrap();
    let o = dctwin(&["merge", sharded.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("exactly once"));
}

#[test]
fn shards_from_the_environment() {
    let d = temp_dir("sweep-env");
    let file = sweep_file(&d);
    let out = d.join("o");
    let run = |vars: &[(&str, &str)], extra: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_dctwin"));
        c.args(["sweep", file.to_str().unwrap(), "--quiet", "--out"])
            .arg(&out)
            .arg("--shard-from-env")
            .args(extra)
            .env("CI", "1")
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX");
        for (k, v) in vars {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let o = run(
        &[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_MIN", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ],
        &[],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(lines(&out.join("shard-1-of-3.jsonl")).len(), 2);
    let o = run(&[("JOB_COMPLETION_INDEX", "2")], &["--shards", "3"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(lines(&out.join("shard-2-of-3.jsonl")).len(), 2);
    // Kubernetes does not export the count.
    let o = run(&[("JOB_COMPLETION_INDEX", "2")], &[]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[], &[]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn bad_sweep_files_exit_2_with_positions() {
    let d = temp_dir("sweep-bad");
    let scenario = root().join("scenarios/quickstart.ron");
    let cases = [
        (
            "unknown.ron",
            format!(
                "Sweep(\n  scenario: \"{}\",\n  seed: 1,\n  colour: 3,\n)\n",
                scenario.display()
            ),
            "unknown.ron:4:3",
        ),
        (
            "two.ron",
            format!(
                "Sweep(scenario: \"{}\", seed: 1, axes: [(path: \"horizon_s\", values: [1], words: [\"x\"])])",
                scenario.display()
            ),
            "field `axes[0]`",
        ),
        (
            "zip.ron",
            format!(
                "Sweep(scenario: \"{}\", seed: 1, mode: Zip, axes: [(path: \"horizon_s\", values: [1, 2]), (path: \"seed\", values: [1])])",
                scenario.display()
            ),
            "zipped axes must be the same length",
        ),
        (
            "badpath.ron",
            format!(
                "Sweep(scenario: \"{}\", seed: 1, axes: [(path: \"workload.nope\", values: [1])])",
                scenario.display()
            ),
            "point 0 (workload.nope=1)",
        ),
        (
            "noscenario.ron",
            "Sweep(scenario: \"missing.ron\", seed: 1)".to_string(),
            "field `scenario`",
        ),
    ];
    for (name, text, want) in cases {
        let f = write(&d, name, &text);
        let o = dctwin(&[
            "sweep",
            f.to_str().unwrap(),
            "--out",
            d.join("o").to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
    }
    let f = sweep_file(&d);
    for bad in ["3/3", "x"] {
        let o = dctwin(&["sweep", f.to_str().unwrap(), "--shard", bad]);
        assert_eq!(o.status.code(), Some(2));
    }
    let o = dctwin(&["sweep", f.to_str().unwrap(), "--threads", "0"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The 95% Student-t interval over 30 replicates of an exponential figure covers the true mean in
/// at least 90 of 100 seeded trials (nominally 95; the skew of the exponential costs a little).
#[test]
fn student_t_interval_covers_the_mean_of_an_exponential() {
    use rand_distr::Distribution;
    let true_mean = 3.0;
    let exp = rand_distr::Exp::new(1.0 / true_mean).unwrap();
    let streams = sim::RngStreams::new(20240601);
    let covered = (0..100)
        .filter(|&trial| {
            let mut rng = streams.substream("ci-coverage", trial);
            let xs: Vec<f64> = (0..30).map(|_| exp.sample(&mut rng)).collect();
            reports::stats::Estimate::of(&xs).covers(true_mean)
        })
        .count();
    assert!(covered >= 90, "covered {covered} of 100");
    assert!(
        covered < 100,
        "an interval that always covers is too wide: {covered}"
    );
}

/// The cost guard of a sweep is checked for every point before the first run: a point over
/// `--max-events` refuses the sweep (exit 2, naming the sweep file, the point and the flag) and no
/// earlier point has run — a shard has appended no record, a complete sweep wrote no outputs. `size`
/// refuses an end of its range the same way.
#[test]
fn the_cost_guard_refuses_a_sweep_before_its_first_run() {
    let dir = temp_dir("sweep-budget");
    let file = root().join("tests/corpus/sweep/budget.ron");
    for extra in [&[][..], &["--shard", "0/1"][..]] {
        let out = dir.join(if extra.is_empty() { "all" } else { "shard" });
        let mut args = vec![
            "sweep",
            file.to_str().unwrap(),
            "--quiet",
            "--max-events",
            "1000",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = dctwin(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {err}");
        assert!(
            err.contains("budget.ron: point 1 (") && err.contains("--max-events"),
            "{extra:?}: {err}"
        );
        assert!(
            !out.join("shard-0-of-1.jsonl").exists(),
            "{extra:?}: a run ran"
        );
        assert!(
            !out.join("runs.jsonl").exists(),
            "{extra:?}: outputs written"
        );
    }
    // The default budget (ten billion events) takes both points; a budget above point 1's estimate too.
    let out = dir.join("ok");
    sweep(&file, &out, &["--max-events", "100000"]);
    assert_eq!(lines(&out.join("runs.jsonl")).len(), 2);

    let size = root().join("tests/corpus/size/budget.ron");
    let out = dir.join("size");
    let o = dctwin(&[
        "size",
        size.to_str().unwrap(),
        "--quiet",
        "--max-events",
        "1000",
        "--out",
        out.to_str().unwrap(),
        "--message-format",
        "json",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let v: serde_json::Value = serde_json::from_str(err.trim()).expect("one JSON line");
    assert!(
        v["file"].as_str().unwrap().ends_with("size/budget.ron"),
        "{v}"
    );
    assert_eq!(v["field"], "range.0", "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("--max-events"),
        "{v}"
    );
    assert!(!out.join("evaluations.jsonl").exists(), "a run ran");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A bad line in a file the output directory holds — a shard's records, a size study's evaluations —
/// is reported at that file and line, in the JSON form too (`file`, `line`), not as a bare message.
#[test]
fn bad_lines_in_resumed_files_name_their_file_and_line() {
    let dir = temp_dir("resume-json");
    let cases = [
        (
            "sweep",
            "tests/corpus/sweep/ok.ron",
            "shard-0-of-1.jsonl",
            &["--shard", "0/1"][..],
        ),
        (
            "size",
            "tests/corpus/size/ok.ron",
            "evaluations.jsonl",
            &[][..],
        ),
    ];
    for (command, file, name, extra) in cases {
        let out = dir.join(command);
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(name), "not a record\n{}\n").unwrap();
        let file = root().join(file);
        let mut args = vec![
            command,
            file.to_str().unwrap(),
            "--quiet",
            "--out",
            out.to_str().unwrap(),
            "--message-format",
            "json",
        ];
        args.extend_from_slice(extra);
        let o = dctwin(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{command}: {err}");
        let v: serde_json::Value = serde_json::from_str(err.trim()).expect("one JSON line");
        assert!(
            v["file"].as_str().unwrap().ends_with(name),
            "{command}: {v}"
        );
        assert_eq!(v["line"], 1, "{command}: {v}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
