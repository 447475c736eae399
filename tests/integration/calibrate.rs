//! `dctwin calibrate`: recovers known parameters from synthetic telemetry that dctwin itself computed (step
//! times from the training model's estimates, collective bandwidths from the comm model) within 1%, is
//! deterministic, and writes an overlay that `--set-file` reproduces the fit with. Bad input exits 2 naming
//! the file and the line. No simulation runs: only loading and estimates.
use std::path::{Path, PathBuf};

use models::training::{CommGroup, bus_bandwidth};
use scenario::{Override, load_scenario};

use crate::common::{dctwin, root, temp_dir, write};

const INTER_BW: &str = "workload.Training.comm.AlphaBeta.inter_node_bw_gbs";
const INTRA_BW: &str = "workload.Training.comm.AlphaBeta.intra_bw_gbs";
const INTER_ALPHA: &str = "workload.Training.comm.AlphaBeta.inter_alpha_s";

/// True values the telemetry is made with (the scenario's own: 50 GB/s, and half of H100's 900 GB/s).
const TRUTH: [(&str, f64); 2] = [(INTER_BW, 37.5), (INTRA_BW, 300.0)];

/// Configurations measured on (the `set` cell) and the job measured: the 70B pretraining job (index 2) at
/// several layouts and batch sizes, and the 8B fine-tuning job (index 0).
const CONFIGS: [(&str, usize); 7] = [
    ("", 2),
    ("workload.Training.jobs.2.plan.parallelism.dp=16", 2),
    (
        "workload.Training.jobs.2.plan.parallelism.dp=8;workload.Training.jobs.2.plan.parallelism.pp=8",
        2,
    ),
    (
        "workload.Training.jobs.2.plan.parallelism.micro_batches=32",
        2,
    ),
    (
        "workload.Training.jobs.2.plan.global_batch_tokens=8388608",
        2,
    ),
    ("", 0),
    (
        "workload.Training.jobs.0.plan.parallelism.tp=4;workload.Training.jobs.0.plan.parallelism.dp=16",
        0,
    ),
];

fn llm_training() -> PathBuf {
    root().join("scenarios/llm-training.ron")
}

fn overrides(set: &str, values: &[(&str, f64)]) -> Vec<Override> {
    let mut o: Vec<Override> = set
        .split(';')
        .filter(|s| !s.is_empty())
        .map(|s| Override::parse(s).unwrap())
        .collect();
    o.extend(values.iter().map(|(p, v)| Override {
        path: p.to_string(),
        value: v.to_string(),
    }));
    o
}

/// The model's step time of `job` under `set` and `values`.
fn step_time(set: &str, job: usize, extra: &[Override]) -> f64 {
    let mut o = overrides(set, &[]);
    o.extend_from_slice(extra);
    let l = load_scenario(&llm_training(), &o, None).unwrap();
    l.training
        .unwrap()
        .iter()
        .find(|j| j.index == job)
        .unwrap()
        .estimate
        .step
        .total_s
}

/// A step-time telemetry CSV made by dctwin's model with `truth`.
fn step_telemetry(truth: &[(&str, f64)]) -> String {
    let mut csv = "set,job,step_s\n".to_string();
    for (set, job) in CONFIGS {
        let t = step_time(set, job, &overrides("", truth));
        csv += &format!("{set},{job},{t}\n");
    }
    csv
}

fn calibrate(args: &[&str]) -> (i32, String, String) {
    let mut a = vec!["calibrate"];
    a.extend_from_slice(args);
    let o = dctwin(&a);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn fitted(report: &serde_json::Value, path: &str) -> serde_json::Value {
    report["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == path)
        .unwrap_or_else(|| panic!("{path} in {report}"))
        .clone()
}

#[test]
fn step_times_recover_the_comm_parameters_within_one_percent_deterministically() {
    let d = temp_dir("calibrate-steps");
    let scenario = s(&llm_training());
    // `--predict` writes the model's step times at the configurations of a telemetry file (placeholders in
    // `step_s`): the same figures the training model gives through the library.
    let mut configs = "set,job,step_s\n".to_string();
    for (set, job) in CONFIGS {
        configs += &format!("{set},{job},1\n");
    }
    let configs = write(&d, "configs.csv", &configs);
    let telemetry = d.join("steps.csv");
    let mut args = vec![
        "calibrate".to_string(),
        scenario.clone(),
        "--telemetry".into(),
        s(&configs),
        "--predict".into(),
        s(&telemetry),
    ];
    for (p, v) in TRUTH {
        args.push("--set".into());
        args.push(format!("{p}={v}"));
    }
    let o = dctwin(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&telemetry).unwrap(),
        step_telemetry(&TRUTH)
    );

    let (t, o1, o2) = (s(&telemetry), s(&d.join("a.set")), s(&d.join("b.set")));
    let fit_inter = format!("{INTER_BW}=10..100");
    let fit_intra = format!("{INTRA_BW}=50..800");
    let run = |out: &str| {
        let (code, stdout, stderr) = calibrate(&[
            &scenario,
            "--telemetry",
            &t,
            "--fit",
            &fit_inter,
            "--fit",
            &fit_intra,
            "--json",
            "--out",
            out,
        ]);
        assert_eq!(code, 0, "{stderr}");
        stdout
    };
    let first = run(&o1);
    let second = run(&o2);
    assert_eq!(first, second, "calibrate is deterministic");
    assert_eq!(std::fs::read(&o1).unwrap(), std::fs::read(&o2).unwrap());

    let report: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(report["converged"], true, "{report}");
    assert_eq!(report["points"].as_array().unwrap().len(), CONFIGS.len());
    for (path, truth) in TRUTH {
        let p = fitted(&report, path);
        let start = p["start"].as_f64().unwrap();
        let got = p["fitted"].as_f64().unwrap();
        // Started away from the truth (the scenario's 50 GB/s; the bounds' midpoint 425 for the unset one).
        assert!((start - truth).abs() / truth > 0.1, "{path}: start {start}");
        assert!(
            (got - truth).abs() / truth < 0.01,
            "{path}: {got} vs {truth}"
        );
        assert_eq!(p["identifiable"], true);
        eprintln!(
            "{path}: start {start}, fitted {got}, true {truth}, iterations {}",
            report["iterations"]
        );
    }
    assert!(
        report["max_abs_error_pct"].as_f64().unwrap() < 0.01,
        "{report}"
    );

    // The overlay reproduces the measured step times through --set-file.
    let overlay = scenario::overlay::read_overlay(Path::new(&o1)).unwrap();
    assert_eq!(
        overlay.iter().map(|o| o.path.as_str()).collect::<Vec<_>>(),
        vec![INTER_BW, INTRA_BW]
    );
    for (set, job) in CONFIGS {
        let measured = step_time(set, job, &overrides("", &TRUTH));
        let model = step_time(set, job, &overlay);
        assert!(
            (model - measured).abs() / measured < 1e-4,
            "{set}: {model} vs {measured}"
        );
    }
    let v = dctwin(&["validate", &scenario, "--set-file", &o1]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stderr)
    );

    // The human table names every parameter and point line.
    let (code, table, stderr) = calibrate(&[
        &scenario,
        "--telemetry",
        &t,
        "--fit",
        &fit_inter,
        "--fit",
        &fit_intra,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        table.contains(INTER_BW) && table.contains("RMS error"),
        "{table}"
    );
}

/// The step model's kernel figures (`workload.Training.compute`: the GEMM efficiency and the achieved memory
/// bandwidth) come back from step times the model made with known values — what a user does with measured
/// step times of their own cluster.
#[test]
fn step_times_recover_the_kernel_efficiencies_within_one_percent() {
    let d = temp_dir("calibrate-kernels");
    let truth = [
        ("workload.Training.compute.gemm", 0.62),
        ("workload.Training.compute.memory", 0.7),
    ];
    let telemetry = write(&d, "steps.csv", &step_telemetry(&truth));
    let (code, stdout, stderr) = calibrate(&[
        &s(&llm_training()),
        "--telemetry",
        &s(&telemetry),
        "--fit",
        "workload.Training.compute.gemm=0.3..0.95",
        "--fit",
        "workload.Training.compute.memory=0.3..1.0",
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for (path, want) in truth {
        let got = fitted(&report, path)["fitted"].as_f64().unwrap();
        assert!((got - want).abs() / want < 0.01, "{path}: {got} vs {want}");
    }
}

/// Node-power readings of training jobs (a server's input power in the compute phases) give back the host's
/// power with every GPU allocated; its idle power, which a fully allocated server never shows, is reported not
/// identifiable.
#[test]
fn node_power_readings_recover_the_host_power() {
    let d = temp_dir("calibrate-power");
    let max_w = "site.Layout.server_templates.hgx-h100.host.max_w";
    let idle_w = "site.Layout.server_templates.hgx-h100.host.idle_w";
    let configs = write(
        &d,
        "configs.csv",
        "set,job,node_peak_w\n,0,1\n,2,1\nworkload.Training.jobs.0.plan.parallelism.tp=4;\
         workload.Training.jobs.0.plan.parallelism.dp=16,0,1\n",
    );
    let telemetry = d.join("power.csv");
    let (code, _, stderr) = calibrate(&[
        &s(&llm_training()),
        "--telemetry",
        &s(&configs),
        "--set",
        &format!("{max_w}=3000"),
        "--predict",
        &s(&telemetry),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&telemetry).unwrap();
    assert!(text.starts_with("set,job,node_peak_w\n"), "{text}");
    let (code, stdout, stderr) = calibrate(&[
        &s(&llm_training()),
        "--telemetry",
        &s(&telemetry),
        "--fit",
        &format!("{max_w}=1500..6000"),
        "--fit",
        &format!("{idle_w}=500..1400"),
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["kind"], "node_power", "{report}");
    let got = fitted(&report, max_w)["fitted"].as_f64().unwrap();
    assert!((got - 3000.0).abs() / 3000.0 < 0.01, "{got}");
    assert_eq!(fitted(&report, idle_w)["identifiable"], false, "{report}");
}

#[test]
fn a_parameter_the_telemetry_does_not_depend_on_is_reported_not_identifiable() {
    let d = temp_dir("calibrate-unidentifiable");
    let telemetry = write(&d, "steps.csv", &step_telemetry(&TRUTH[..1]));
    let overlay = d.join("o.set");
    let (code, stdout, stderr) = calibrate(&[
        "--out",
        &s(&overlay),
        &s(&llm_training()),
        "--telemetry",
        &s(&telemetry),
        "--fit",
        &format!("{INTER_BW}=10..100"),
        // When a job is submitted does not change its step time.
        "--fit",
        "workload.Training.jobs.1.submit_s=100..10000",
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let submit = fitted(&report, "workload.Training.jobs.1.submit_s");
    assert_eq!(submit["identifiable"], false, "{report}");
    // Kept at its start: the scenario's 3600 s.
    assert_eq!(submit["fitted"], 3600.0);
    let bw = fitted(&report, INTER_BW)["fitted"].as_f64().unwrap();
    assert!((bw - 37.5).abs() / 37.5 < 0.01, "{bw}");
    // The overlay sets only what the telemetry determines.
    let set = scenario::overlay::read_overlay(&overlay).unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(set[0].path, INTER_BW);
    let text = std::fs::read_to_string(&overlay).unwrap();
    assert!(text.contains("submit_s is not identifiable"), "{text}");
}

#[test]
fn nccl_tests_bandwidths_recover_latency_and_bandwidths_within_one_percent() {
    // The comm model with known values prices the collectives nccl-tests would run.
    let truth = [(INTER_BW, 42.0), (INTRA_BW, 350.0), (INTER_ALPHA, 2.0e-5)];
    let l = load_scenario(&llm_training(), &overrides("", &truth), None).unwrap();
    let scenario::Workload::Training(t) = &l.scenario.workload else {
        panic!("training workload")
    };
    let h100 = &l.catalog.gpus[l.catalog.index_of("H100").unwrap()];
    let cost = t.comm.cost_for(h100, 8);
    let mut csv = "collective,ranks,gpus_per_server,bytes,busbw_gbs\n".to_string();
    use models::training::Collective as C;
    for (name, op) in [("all_reduce", C::AllReduce), ("all_gather", C::AllGather)] {
        for ranks in [8u32, 16, 64] {
            for bytes in [1.0e4, 1.0e6, 1.0e9] {
                let g = CommGroup::new(ranks, 8);
                let time_s = match op {
                    C::AllReduce => cost.all_reduce_s(bytes, &g),
                    _ => cost.all_gather_s(bytes, &g),
                };
                let busbw = bus_bandwidth(op, bytes / time_s, ranks) / 1e9;
                csv += &format!("{name},{ranks},8,{bytes},{busbw}\n");
            }
        }
    }
    let d = temp_dir("calibrate-nccl");
    let telemetry = write(&d, "nccl.csv", &csv);
    let (code, stdout, stderr) = calibrate(&[
        &s(&llm_training()),
        "--telemetry",
        &s(&telemetry),
        "--fit",
        &format!("{INTER_BW}=5..200"),
        "--fit",
        &format!("{INTRA_BW}=50..900"),
        "--fit",
        &format!("{INTER_ALPHA}=1e-6..1e-4"),
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["kind"], "collective");
    for (path, want) in truth {
        let got = fitted(&report, path)["fitted"].as_f64().unwrap();
        assert!((got - want).abs() / want < 0.01, "{path}: {got} vs {want}");
        eprintln!(
            "{path}: fitted {got}, true {want}, iterations {}",
            report["iterations"]
        );
    }
}

#[test]
fn collective_times_predicted_by_dctwin_recover_the_parameters() {
    // Reduce-scatter and send/recv times (µs) at the configurations of a file, predicted with known values.
    let truth = [(INTER_BW, 25.0), (INTER_ALPHA, 8.0e-6)];
    let d = temp_dir("calibrate-times");
    let mut configs = "collective,ranks,gpus_per_server,bytes,time_us,gpu\n".to_string();
    for op in ["reduce_scatter", "sendrecv"] {
        for (ranks, bytes) in [(16, 4096), (16, 1 << 30), (32, 65536), (64, 1 << 24)] {
            configs += &format!("{op},{ranks},8,{bytes},1,H100\n");
        }
    }
    let configs = write(&d, "configs.csv", &configs);
    let telemetry = d.join("times.csv");
    let mut args = vec![
        "calibrate".to_string(),
        s(&llm_training()),
        "--telemetry".into(),
        s(&configs),
        "--predict".into(),
        s(&telemetry),
    ];
    for (p, v) in truth {
        args.push("--set".into());
        args.push(format!("{p}={v}"));
    }
    let o = dctwin(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&telemetry).unwrap();
    assert!(
        text.starts_with("set,collective,ranks,gpus_per_server,bytes,time_us,gpu\n"),
        "{text}"
    );
    let (code, stdout, stderr) = calibrate(&[
        &s(&llm_training()),
        "--telemetry",
        &s(&telemetry),
        "--fit",
        &format!("{INTER_BW}=5..200"),
        "--fit",
        &format!("{INTER_ALPHA}=1e-6..1e-4"),
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for (path, want) in truth {
        let got = fitted(&report, path)["fitted"].as_f64().unwrap();
        assert!((got - want).abs() / want < 0.01, "{path}: {got} vs {want}");
    }
}

/// Runs calibrate on the shipped scenario and expects exit 2 with every `needles` in stderr.
fn expect_bad(telemetry: &Path, fit: &[&str], needles: &[&str]) {
    let scenario = s(&llm_training());
    let t = s(telemetry);
    let mut args = vec![scenario.as_str(), "--telemetry", t.as_str()];
    for f in fit {
        args.push("--fit");
        args.push(f);
    }
    let (code, _, stderr) = calibrate(&args);
    assert_eq!(code, 2, "{args:?}: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{args:?}: expected `{n}` in: {stderr}");
    }
}

#[test]
fn bad_input_exits_2_with_file_and_line() {
    let d = temp_dir("calibrate-bad");
    let good = write(&d, "good.csv", "set,job,step_s\n,2,10\n,0,1\n");
    let fit = format!("{INTER_BW}=10..100");
    // --fit: an unknown field, reversed bounds, a whole-number field.
    expect_bad(
        &good,
        &["workload.Training.comm.AlphaBeta.inter_bw=1..2"],
        &["llm-training.ron", "no field `inter_bw`"],
    );
    expect_bad(&good, &[&format!("{INTER_BW}=100..10")], &["must be below"]);
    expect_bad(
        &good,
        &["workload.Training.jobs.2.plan.parallelism.dp=1..64"],
        &["whole number"],
    );
    // Telemetry: empty, missing a column, a bad number, a job that does not exist, a bad `set`.
    let cases: [(&str, &str, &[&str]); 6] = [
        ("empty.csv", "", &["empty.csv: the telemetry CSV is empty"]),
        (
            "cols.csv",
            "collective,ranks,gpus_per_server,busbw_gbs\nall_reduce,8,8,10\n",
            &["cols.csv:1: ", "lacks column `bytes`"],
        ),
        (
            "num.csv",
            "set,job,step_s\n,2,10\n,0,fast\n",
            &["num.csv:3: column `step_s`", "expected a finite number"],
        ),
        (
            "job.csv",
            "set,job,step_s\n,2,10\n,7,1\n",
            &["job.csv:3: column `job`", "no training job 7"],
        ),
        (
            "set.csv",
            "set,job,step_s\n,2,10\nworkload.Training.nope=1,0,1\n",
            &["set.csv:3: column `set`", "no field `nope`"],
        ),
        ("rows.csv", "set,job,step_s\n", &["rows.csv: ", "no rows"]),
    ];
    for (name, text, needles) in cases {
        let f = write(&d, name, text);
        expect_bad(&f, &[&fit], needles);
    }
    // A point may not fix a fitted parameter.
    let clash = write(
        &d,
        "clash.csv",
        &format!("set,job,step_s\n{INTER_BW}=20,2,10\n"),
    );
    expect_bad(
        &clash,
        &[&fit],
        &["clash.csv:2: column `set`", "being fitted"],
    );
    // A missing telemetry file.
    expect_bad(&d.join("missing.csv"), &[&fit], &["missing.csv"]);
    // A bad overlay line for --set-file names its line.
    let overlay = write(&d, "bad.set", "# fitted\nhorizon_s=3600\nnot an override\n");
    let v = dctwin(&["validate", &s(&llm_training()), "--set-file", &s(&overlay)]);
    assert_eq!(v.status.code(), Some(2));
    let e = String::from_utf8_lossy(&v.stderr);
    assert!(e.contains("bad.set:3: "), "{e}");
}
