//! Shared fleet: inference replicas and training jobs on one cluster, inference first.
use output::{RunOutput, TrainingJobSummary};
use scenario::load_scenario;

use crate::common::{catalog, temp_dir, write};

const LLAMA8B: &str = r#"LlmModel(name: "llama-3-8b", params: 8.0e9, layers: 32, hidden: 4096, kv_heads: 8, head_dim: 128, ffn_hidden: 14336, vocab: 128256)"#;

/// Serving body: a quiet day with one busy hour (hour 1) that needs a second 8-GPU replica.
fn serving() -> String {
    let mut profile = vec!["0.02"; 24];
    profile[1] = "1.0";
    format!(
        "requests: Synthetic(arrivals: Poisson(rate_per_s: 30.0), hourly_profile: [{}], \
         prompt_tokens: Uniform(min: 200, max: 800), output_tokens: Uniform(min: 50, max: 150)), \
         deployment: Deployment(model: {LLAMA8B}, gpu_model: \"H100\", tp: 8, replicas: 1), \
         autoscaling: Autoscaling(policy: QueueLength(per_replica: 4.0), min_replicas: 1, max_replicas: 2, \
         interval_s: 60.0, warmup_s: 120.0)",
        profile.join(", ")
    )
}

/// One 16-GPU training job (about 2.5 h alone, checkpoints every 600 s + 10 s writes).
const TRAINING: &str = r#"Training(jobs: [TrainingJob(name: "ft", submit_s: 100.0, gpu_model: "H100", plan: TrainingPlan(
    model: TransformerModel(params: 8.0e9, layers: 32, hidden: 4096, seq_len: 8192),
    parallelism: Parallelism(tp: 8, pp: 1, dp: 2, micro_batches: 4),
    global_batch_tokens: 2097152, budget: Tokens(1300000000),
    checkpoint: Checkpoint(every_s: 600.0, write_s: 10.0)))])"#;

/// Three HGX H100 servers; `rest` follows `workload`.
fn scenario(name: &str, workload: &str, rest: &str) -> String {
    format!(
        r#"Scenario(
    name: "{name}",
    seed: 5,
    horizon_s: 28800.0,
    catalog: "{cat}",
    site: Layout(
        server_templates: {{
            "hgx": ServerTemplate(gpu_model: "H100", gpus: 8, host: HostPower(idle_w: 1200.0, max_w: 3400.0)),
        }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [RackGroup(count: 1, servers: [ServerGroup(template: "hgx", count: 3)])])])],
    ),
    workload: {workload},
    {rest}
    reporting: (interval_s: 300.0),
)
"#,
        cat = catalog()
    )
}

fn shared(name: &str, make_room: &str) -> String {
    scenario(
        name,
        TRAINING,
        &format!(
            "serving: (inference: ({}), make_room: {make_room}),",
            serving()
        ),
    )
}

fn run(tag: &str, text: &str) -> RunOutput {
    let dir = temp_dir(&format!("shared-{tag}"));
    let path = write(&dir, "s.ron", text);
    let loaded = load_scenario(&path, &[], None).unwrap_or_else(|e| panic!("{e}"));
    twin::run(&loaded, &mut |_| {}).expect("run")
}

fn training_job(out: &RunOutput) -> &TrainingJobSummary {
    &out.summary
        .training
        .as_ref()
        .expect("training section")
        .jobs[0]
}

fn assert_conserved(out: &RunOutput) {
    let j = &out.summary.jobs;
    assert_eq!(
        j.submitted,
        j.completed + j.running_at_end + j.queued_at_end,
        "{j:?}"
    );
    let r = &out.summary.inference.as_ref().expect("inference").requests;
    assert_eq!(
        r.arrived,
        r.completed + r.in_service_at_end + r.queued_at_end,
        "{r:?}"
    );
}

/// Inference has strict priority under `Preempt`: its results are those of the same deployment alone on the
/// site, to the bit; the training job is preempted, keeps its checkpointed work and still finishes, having run
/// exactly its own duration plus the work it lost.
#[test]
fn preemption_gives_inference_strict_priority_and_loses_only_uncheckpointed_work() {
    let out = run("preempt", &shared("shared-preempt", "Preempt"));
    let alone = run(
        "alone",
        &scenario("alone", &format!("Inference({})", serving()), ""),
    );
    assert_conserved(&out);
    let mut a = serde_json::to_value(out.summary.inference.as_ref().unwrap()).unwrap();
    let mut b = serde_json::to_value(alone.summary.inference.as_ref().unwrap()).unwrap();
    // IT energy per token differs by attribution (host power is the cluster's in a shared fleet).
    a["energy"]["it_per_generated_token_j"] = 0.into();
    b["energy"]["it_per_generated_token_j"] = 0.into();
    assert_eq!(
        a, b,
        "inference in the shared fleet differs from inference alone"
    );
    let inf = out.summary.inference.as_ref().unwrap();
    assert!(
        inf.replicas.scale_ups >= 1,
        "the busy hour must scale up: {:?}",
        inf.replicas
    );

    let f = out.summary.shared_fleet.as_ref().expect("shared_fleet");
    let t = training_job(&out);
    assert!(f.jobs_preempted >= 1, "{f:?}");
    assert_eq!(out.summary.jobs.preemptions, f.jobs_preempted);
    assert_eq!(t.preemptions as u64, f.jobs_preempted);
    assert_eq!(f.replica_waits, 0);
    let finish = t
        .finish_s
        .expect("the training job finishes within the horizon");
    // Lost work: at most one checkpoint period per preemption (started at 100 s, it is preempted between two
    // checkpoints); steps lost are whole steps of that work.
    assert!(t.lost_s > 0.0 && t.lost_steps >= 1, "{t:?}");
    assert!(t.lost_s <= t.preemptions as f64 * 610.0 + 1e-9, "{t:?}");
    assert!(t.lost_steps as f64 <= t.lost_s / t.step_s + 1e-9, "{t:?}");
    assert!(
        (t.ran_s - (t.time_to_finish_s + t.lost_s)).abs() < 1e-6,
        "ran {} s ≠ duration {} s + lost {} s",
        t.ran_s,
        t.time_to_finish_s,
        t.lost_s
    );
    assert!(
        finish - t.start_s.unwrap() > t.ran_s,
        "it waited while preempted"
    );
    let lost_gpu_h = t.lost_s * t.gpus as f64 / 3600.0;
    assert!((out.summary.jobs.lost_gpu_h - lost_gpu_h).abs() < 1e-9);
    println!(
        "shared fleet (Preempt): {} preemption(s), {:.0} s and {} steps lost (step {:.2} s), training finished at \
         {:.2} h (alone {:.2} h), replicas held {:.1} % of GPU-h",
        t.preemptions,
        t.lost_s,
        t.lost_steps,
        t.step_s,
        finish / 3600.0,
        t.time_to_finish_s / 3600.0,
        f.replica_gpu_share * 100.0
    );
}

/// Under `Wait` no job is preempted: the second replica waits for the training job's GPUs, which delays it
/// against `Preempt`; the training job loses nothing.
#[test]
fn wait_policy_never_preempts() {
    let out = run("wait", &shared("shared-wait", "Wait"));
    let pre = run("wait-vs-preempt", &shared("shared-preempt", "Preempt"));
    assert_conserved(&out);
    let f = out.summary.shared_fleet.as_ref().unwrap();
    let t = training_job(&out);
    assert_eq!(f.jobs_preempted, 0);
    assert_eq!(out.summary.jobs.preemptions, 0);
    assert!(f.replica_waits >= 1, "{f:?}");
    assert_eq!((t.preemptions, t.lost_s, t.lost_steps), (0, 0.0, 0));
    assert!((t.ran_s - t.time_to_finish_s).abs() < 1e-6);
    let (wi, pi) = (
        out.summary.inference.as_ref().unwrap(),
        pre.summary.inference.as_ref().unwrap(),
    );
    assert!(
        wi.replicas.serving_mean < pi.replicas.serving_mean,
        "waiting for GPUs serves less: {} vs {}",
        wi.replicas.serving_mean,
        pi.replicas.serving_mean
    );
    assert!(wi.ttft_s.p99 >= pi.ttft_s.p99);
}

/// Same seed, same bytes; IT energy in the shared fleet is cluster energy plus serving's excess, exactly the
/// integral of the sampled power when the sampling interval divides every event time (checked loosely here:
/// the mean of the samples is within 2% of the exact mean).
#[test]
fn shared_runs_are_deterministic_and_energy_is_consistent() {
    let go = || {
        let mut out = run("det", &shared("shared-det", "Preempt"));
        out.summary.wall_time_s = 0.0;
        out
    };
    let (a, b) = (go(), go());
    assert_eq!(
        serde_json::to_string(&a.summary).unwrap(),
        serde_json::to_string(&b.summary).unwrap()
    );
    assert_eq!(format!("{:?}", a.timeseries), format!("{:?}", b.timeseries));
    let e = &a.summary.energy;
    assert!((e.gpu_j + e.server_overhead_j - e.it_j).abs() < 1e-6 * e.it_j);
    let mean_sampled =
        a.timeseries.iter().map(|s| s.it_power_w).sum::<f64>() / a.timeseries.len() as f64;
    let mean = a.summary.power.it_mean_w;
    assert!(
        (mean_sampled - mean).abs() < 0.02 * mean,
        "sampled {mean_sampled} W vs exact {mean} W"
    );
    assert!(a.summary.power.it_peak_w >= mean && a.summary.power.it_min_w <= mean);
}
