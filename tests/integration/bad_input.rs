//! Bad input never panics: each case exits with code 2 and names the file and the position.
use std::path::PathBuf;

use crate::common::{catalog, dctwin, root, shared, temp_dir, write};

/// A valid small scenario; cases break one thing in it.
fn base() -> String {
    format!(
        r#"Scenario(
    name: "bad",
    seed: 1,
    horizon_s: 3600.0,
    catalog: "{cat}",
    site: Layout(
        server_templates: {{
            "s": ServerTemplate(gpu_model: "H100", gpus: 8, host: HostPower(idle_w: 100.0, max_w: 200.0)),
        }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [RackGroup(count: 2, servers: [ServerGroup(template: "s", count: 2)])])])],
    ),
    workload: Synthetic(
        interarrival_s: Exponential(mean_s: 60.0),
        duration_s: Constant(value_s: 600.0),
        gpus: Constant(value: 4),
    ),
)
"#,
        cat = catalog()
    )
}

/// Runs `dctwin validate` on `scenario` (with extra args) and returns stderr after asserting exit code 2.
fn expect_bad(tag: &str, scenario: &str, extra: &[&str]) -> (String, PathBuf) {
    let dir = temp_dir(&format!("bad-{tag}"));
    let path = write(&dir, "scenario.ron", scenario);
    let p = path.display().to_string();
    let mut args = vec!["validate", p.as_str()];
    args.extend_from_slice(extra);
    let out = dctwin(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{tag}: expected exit 2, stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{tag}: {stderr}");
    // The same through `run`.
    let out_dir = dir.join("out").display().to_string();
    let mut args = vec!["run", p.as_str(), "--quiet", "--out", out_dir.as_str()];
    args.extend_from_slice(extra);
    assert_eq!(dctwin(&args).status.code(), Some(2), "{tag}: run");
    assert!(
        !dir.join("out").exists(),
        "{tag}: bad input must write no output"
    );
    (stderr, path)
}

fn line_col_of(text: &str, needle: &str) -> (usize, usize) {
    let off = text.find(needle).unwrap();
    let line = text[..off].matches('\n').count() + 1;
    let col = off - text[..off].rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, col)
}

#[test]
fn valid_base_scenario_passes() {
    let dir = temp_dir("bad-base");
    let p = write(&dir, "scenario.ron", &base());
    let out = dctwin(&["validate", p.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("32 GPU(s) (32 × H100)"), "{text}");
}

#[test]
fn ron_syntax_error_names_line_and_column() {
    let s = base().replace("seed: 1,", "seed: 1 horizon_x");
    let (e, p) = expect_bad("syntax", &s, &[]);
    assert!(e.contains(&format!("{}:3:", p.display())), "{e}");
}

#[test]
fn unknown_field_names_line_and_column() {
    let s = base().replace("seed: 1,", "seed: 1,\n    sede: 2,");
    let (e, p) = expect_bad("unknown-field", &s, &[]);
    assert!(
        e.contains(&format!("{}:4:", p.display())) && e.contains("sede"),
        "{e}"
    );
}

#[test]
fn wrong_type_names_line_and_column() {
    let s = base().replace("horizon_s: 3600.0", "horizon_s: \"an hour\"");
    let (line, _) = line_col_of(&s, "horizon_s");
    let (e, p) = expect_bad("wrong-type", &s, &[]);
    assert!(e.contains(&format!("{}:{line}:", p.display())), "{e}");
}

#[test]
fn unknown_distribution_variant() {
    let s = base().replace("Exponential(mean_s: 60.0)", "Exponentail(mean_s: 60.0)");
    let (line, _) = line_col_of(&s, "Exponentail");
    let (e, p) = expect_bad("variant", &s, &[]);
    assert!(
        e.contains(&format!("{}:{line}:", p.display())) && e.contains("Exponentail"),
        "{e}"
    );
}

#[test]
fn zero_horizon_is_rejected_by_field() {
    let (e, _) = expect_bad("horizon", &base().replace("3600.0", "0.0"), &[]);
    assert!(e.contains("field `horizon_s`"), "{e}");
}

#[test]
fn negative_distribution_parameter() {
    let (e, _) = expect_bad(
        "neg-mean",
        &base().replace("mean_s: 60.0", "mean_s: -5.0"),
        &[],
    );
    assert!(
        e.contains("workload.Synthetic.interarrival_s") && e.contains("mean_s"),
        "{e}"
    );
}

#[test]
fn unknown_gpu_model() {
    let (e, _) = expect_bad("gpu-model", &base().replace("\"H100\"", "\"H999\""), &[]);
    assert!(
        e.contains("site.Layout.server_templates.s.gpu_model") && e.contains("H999"),
        "{e}"
    );
}

#[test]
fn zero_count() {
    let (e, _) = expect_bad(
        "zero-count",
        &base().replace("RackGroup(count: 2", "RackGroup(count: 0"),
        &[],
    );
    assert!(
        e.contains("site.Layout.halls.0.rows.0.racks.0.count"),
        "{e}"
    );
}

#[test]
fn unknown_server_template() {
    let (e, _) = expect_bad(
        "template",
        &base().replace("template: \"s\"", "template: \"t\""),
        &[],
    );
    assert!(e.contains("servers.0.template") && e.contains("`t`"), "{e}");
}

#[test]
fn job_larger_than_the_site() {
    let (e, _) = expect_bad(
        "too-big",
        &base().replace("gpus: Constant(value: 4)", "gpus: Constant(value: 64)"),
        &[],
    );
    assert!(
        e.contains("workload.Synthetic.gpus") && e.contains("32"),
        "{e}"
    );
}

#[test]
fn missing_scenario_file() {
    let out = dctwin(&["validate", "/nonexistent/scenario.ron"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("/nonexistent/scenario.ron: cannot read file")
    );
}

#[test]
fn missing_trace_file() {
    let s = base().replace(
        "workload: Synthetic(\n        interarrival_s: Exponential(mean_s: 60.0),\n        duration_s: Constant(value_s: 600.0),\n        gpus: Constant(value: 4),\n    ),",
        "workload: NativeTrace(path: \"no-such-trace.csv\"),",
    );
    let (e, p) = expect_bad("missing-trace", &s, &[]);
    let trace = p.parent().unwrap().join("no-such-trace.csv");
    assert!(
        e.contains(&format!("{}: cannot open", trace.display())),
        "{e}"
    );
}

fn trace_case(tag: &str, csv: &str) -> String {
    let dir = temp_dir(&format!("bad-trace-{tag}"));
    let t = write(&dir, "jobs.csv", csv);
    let s = base().replace(
        "workload: Synthetic(\n        interarrival_s: Exponential(mean_s: 60.0),\n        duration_s: Constant(value_s: 600.0),\n        gpus: Constant(value: 4),\n    ),",
        &format!("workload: NativeTrace(path: \"{}\"),", t.display()),
    );
    let (e, _) = expect_bad(tag, &s, &[]);
    assert!(e.contains(&t.display().to_string()), "{e}");
    e
}

#[test]
fn trace_non_numeric_value_names_line_and_column() {
    let e = trace_case("non-numeric", "submit_s,gpus,duration_s\n0,1,60\n5,1,abc\n");
    assert!(e.contains(":3: column `duration_s`"), "{e}");
}

#[test]
fn trace_non_monotonic_submit_names_line() {
    let e = trace_case("monotonic", "submit_s,gpus,duration_s\n10,1,60\n5,1,60\n");
    assert!(e.contains(":3: column `submit_s`"), "{e}");
}

#[test]
fn trace_nan_value_names_line() {
    let e = trace_case("nan", "submit_s,gpus,duration_s\n0,1,NaN\n");
    assert!(e.contains(":2: column `duration_s`"), "{e}");
}

#[test]
fn trace_job_larger_than_site() {
    let e = trace_case(
        "too-big",
        "submit_s,gpus,duration_s,name\n0,1,60,ok\n1,33,60,huge\n",
    );
    assert!(e.contains("huge") && e.contains("33"), "{e}");
}

#[test]
fn catalog_syntax_error_names_catalog_position() {
    let dir = temp_dir("catalog-file");
    let cat = write(
        &dir,
        "gpus.ron",
        "Catalog(\n    gpus: [\n        GpuModel(name: \"X\", board_power_w: 1.0,, ),\n    ],\n)\n",
    );
    let s = base().replace(&catalog(), &cat.display().to_string());
    let (e, _) = expect_bad("catalog", &s, &[]);
    assert!(e.contains(&format!("{}:3:", cat.display())), "{e}");
}

#[test]
fn set_unknown_path_and_bad_value() {
    let (e, _) = expect_bad(
        "set-path",
        &base(),
        &["--set", "site.Layout.hals.0.count=2"],
    );
    assert!(
        e.contains("--set site.Layout.hals.0.count=2") && e.contains("halls"),
        "{e}"
    );
    let (e, _) = expect_bad("set-value", &base(), &["--set", "horizon_s=soon"]);
    assert!(e.contains("horizon_s"), "{e}");
    let (e, _) = expect_bad("set-syntax", &base(), &["--set", "horizon_s"]);
    assert!(e.contains("dotted.path=value"), "{e}");
}

#[test]
fn alibaba_pod_list_without_time_columns() {
    let pods = shared().join("traces/alibaba-gpu-2023/openb_pod_list_multigpu50.csv");
    let nodes = shared().join("traces/alibaba-gpu-2023/openb_node_list_gpu_node.csv");
    let scenario_path = root().join("scenarios/alibaba-gpu-2023.ron");
    let out = dctwin(&[
        "validate",
        scenario_path.to_str().unwrap(),
        "--set",
        &format!("workload.AlibabaPods.path={}", pods.display()),
        "--set",
        &format!("site.AlibabaNodes.path={}", nodes.display()),
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(
        e.contains("openb_pod_list_multigpu50.csv") && e.contains("creation_time"),
        "{e}"
    );
}

fn with_workload(w: &str) -> String {
    base().replace(
        "workload: Synthetic(\n        interarrival_s: Exponential(mean_s: 60.0),\n        duration_s: Constant(value_s: 600.0),\n        gpus: Constant(value: 4),\n    ),",
        w,
    )
}

const INFER: &str = r#"workload: Inference(
        requests: Synthetic(arrivals: Poisson(rate_per_s: 1.0), prompt_tokens: Constant(value: 100), output_tokens: Constant(value: 10)),
        deployment: Deployment(model: LlmModel(name: "m", params: 8.0e9, layers: 32, hidden: 4096, kv_heads: 8, head_dim: 128), gpu_model: "H100", tp: 1, replicas: 2),
    ),"#;

#[test]
fn inference_unknown_gpu_and_oversized_model() {
    let (e, _) = expect_bad(
        "inf-gpu",
        &with_workload(&INFER.replace("gpu_model: \"H100\"", "gpu_model: \"H900\"")),
        &[],
    );
    assert!(
        e.contains("workload.Inference.deployment.gpu_model") && e.contains("H900"),
        "{e}"
    );
    let big = INFER.replace("params: 8.0e9", "params: 400.0e9");
    let (e, _) = expect_bad("inf-fit", &with_workload(&big), &[]);
    assert!(
        e.contains("workload.Inference.deployment") && e.contains("does not fit"),
        "{e}"
    );
}

#[test]
fn inference_too_many_replicas_and_bad_profile() {
    let (e, _) = expect_bad(
        "inf-replicas",
        &with_workload(&INFER.replace("replicas: 2", "replicas: 33")),
        &[],
    );
    assert!(
        e.contains("workload.Inference.deployment.replicas") && e.contains("32"),
        "{e}"
    );
    let w = INFER.replace(
        "arrivals: Poisson(rate_per_s: 1.0),",
        "arrivals: Poisson(rate_per_s: 1.0), hourly_profile: [1.0, 2.0],",
    );
    let (e, _) = expect_bad("inf-profile", &with_workload(&w), &[]);
    assert!(e.contains("hourly_profile") && e.contains("24"), "{e}");
}

#[test]
fn inference_trace_bad_timestamp_names_line_and_column() {
    let dir = temp_dir("inf-trace-file");
    let t = write(
        &dir,
        "reqs.csv",
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,10,5\n2023-13-16 18:17:04.0,10,5\n",
    );
    let w = INFER.replace(
        "requests: Synthetic(arrivals: Poisson(rate_per_s: 1.0), prompt_tokens: Constant(value: 100), output_tokens: Constant(value: 10)),",
        &format!("requests: AzureTrace(path: \"{}\"),", t.display()),
    );
    let (e, _) = expect_bad("inf-trace", &with_workload(&w), &[]);
    assert!(
        e.contains(&format!("{}:3: column `TIMESTAMP`", t.display())),
        "{e}"
    );
}

#[test]
fn training_tp_beyond_server_and_bad_plan() {
    let job = |par: &str| {
        format!(
            r#"workload: Training(jobs: [TrainingJob(name: "j", gpu_model: "H100", plan: TrainingPlan(
        model: TransformerModel(params: 1.0e9, layers: 16, hidden: 2048, seq_len: 2048),
        parallelism: {par}, global_batch_tokens: 1048576, budget: Steps(10)))]),"#
        )
    };
    let (e, _) = expect_bad(
        "train-tp",
        &with_workload(&job("Parallelism(tp: 16, pp: 1, dp: 1, micro_batches: 1)")),
        &[],
    );
    assert!(
        e.contains("workload.Training.jobs.0.plan.parallelism.tp"),
        "{e}"
    );
    let (e, _) = expect_bad(
        "train-zero",
        &with_workload(&job("Parallelism(tp: 0, pp: 1, dp: 1, micro_batches: 1)")),
        &[],
    );
    assert!(e.contains("workload.Training.jobs.0.plan"), "{e}");
    let (e, _) = expect_bad(
        "train-big",
        &with_workload(&job("Parallelism(tp: 8, pp: 1, dp: 8, micro_batches: 1)")),
        &[],
    );
    assert!(e.contains("can never run"), "{e}");
}
