//! Model-driven training jobs in the cluster simulation: step-time arithmetic, energy, queueing.
use scenario::load_scenario;

use crate::common::{catalog, root, temp_dir, write};

/// The shipped 1,024-GPU job: the run reports the model's step breakdown, and the parts add up.
#[test]
fn shipped_training_scenario_matches_hand_arithmetic() {
    let loaded = load_scenario(&root().join("scenarios/llm-training.ron"), &[], None).unwrap();
    let out = twin::run(&loaded, &mut |_| {}).expect("run");
    let jobs = &out
        .summary
        .training
        .as_ref()
        .expect("training section")
        .jobs;
    let big = jobs.iter().find(|j| j.name == "pretrain-70b").unwrap();
    assert_eq!(big.gpus, 1024);
    let est = &loaded
        .training
        .iter()
        .flatten()
        .find(|t| t.name == "pretrain-70b")
        .unwrap()
        .estimate;
    assert_eq!(big.compute_s, est.step.compute_s);
    assert_eq!(big.step_s, est.step.total_s);
    let parts = big.gemm_s + big.attention_s + big.elementwise_s;
    assert!((big.compute_s - parts).abs() <= 1e-12 * parts);
    let sum = big.compute_s + big.bubble_s + big.comm_exposed_s + big.optimizer_s;
    assert!((big.step_s - sum).abs() <= 1e-12 * sum);
    // MFU is an output: 6·P·T / (N · peak · step), below the H100's GEMM efficiency.
    let mfu = 6.0 * 70e9 * 4_194_304.0 / (1024.0 * 989e12 * big.step_s);
    assert!((big.achieved_mfu - mfu).abs() < 1e-12, "{big:?}");
    assert!(big.achieved_mfu < 0.70 && big.achieved_mfu > 0.2, "{big:?}");
    assert_eq!(big.tokens_per_s, 4_194_304.0 / big.step_s);
    println!(
        "pretrain-70b on 1,024 H100: step {:.4} s (compute {:.4}, bubble {:.4}, exposed comm {:.4}), MFU {:.3}, \
         {:.0} tokens/s, {:.2} days for {} tokens, {:.3} J/token (GPU)",
        big.step_s,
        big.compute_s,
        big.bubble_s,
        big.comm_exposed_s,
        big.achieved_mfu,
        big.tokens_per_s,
        big.time_to_finish_s / 86400.0,
        big.tokens,
        big.gpu_energy_per_token_j.unwrap()
    );
    // FIFO: the 1,024-GPU job waits for both fine-tunes to release their GPUs.
    let a = jobs.iter().find(|j| j.name == "finetune-8b-a").unwrap();
    assert_eq!(big.start_s, a.finish_s);
    assert_eq!(out.summary.jobs.completed, 3);
}

/// One 8-GPU job on one server: GPU energy = 8 · P(a) · T_run + 8 · P_idle · (horizon − T_run).
#[test]
fn training_job_energy_is_exact() {
    let dir = temp_dir("training-energy");
    let s = format!(
        r#"Scenario(
    name: "one-job",
    seed: 1,
    horizon_s: 200000.0,
    catalog: "{cat}",
    site: Layout(
        server_templates: {{ "hgx": ServerTemplate(gpu_model: "H100", gpus: 8, host: HostPower(idle_w: 1000.0, max_w: 3000.0)) }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [RackGroup(count: 1, servers: [ServerGroup(template: "hgx", count: 1)])])])],
    ),
    workload: Training(jobs: [TrainingJob(
        name: "small",
        gpu_model: "H100",
        plan: TrainingPlan(
            model: TransformerModel(params: 1.0e9, layers: 16, hidden: 2048, seq_len: 2048),
            parallelism: Parallelism(tp: 1, pp: 1, dp: 8, micro_batches: 1),
            global_batch_tokens: 1048576,
            budget: Steps(10000),
        ),
    )]),
    reporting: (interval_s: 3600.0),
)"#,
        cat = catalog()
    );
    let path = write(&dir, "s.ron", &s);
    let out = twin::run(&load_scenario(&path, &[], None).unwrap(), &mut |_| {}).expect("run");
    let j = &out.summary.training.as_ref().unwrap().jobs[0];
    let run_s = j.finish_s.unwrap() - j.start_s.unwrap();
    assert!((run_s - j.time_to_finish_s).abs() < 1e-6);
    let p_busy = 70.0 + j.gpu_activity * 630.0;
    let expect = 8.0 * p_busy * run_s + 8.0 * 70.0 * (200_000.0 - run_s);
    let got = out.summary.energy.gpu_j;
    assert!((got - expect).abs() / expect < 1e-9, "{got} vs {expect}");
    assert!((j.gpu_energy_j - 8.0 * p_busy * run_s).abs() < 1e-3);
    // Communication makes the job's GPUs draw less than the generic compute factor (0.85).
    assert!(
        j.gpu_activity < 0.85 && j.gpu_activity > 0.30,
        "{}",
        j.gpu_activity
    );
}

/// A server whose host is modelled by component (fans by the affinity law) behind an 80 PLUS supply curve: the
/// run's IT power while the one job runs is the job's reported mean node power, and the scenario's own
/// nameplate input bounds both.
#[test]
fn component_host_power_in_a_run_matches_the_job_node_power() {
    let dir = temp_dir("training-host-components");
    let s = format!(
        r#"Scenario(
    name: "one-job-components",
    seed: 1,
    horizon_s: 20000.0,
    catalog: "{cat}",
    site: Layout(
        server_templates: {{ "hgx": ServerTemplate(gpu_model: "H100", gpus: 8,
            host: HostPower(components: (cpu_idle_w: 200.0, cpu_max_w: 700.0, memory_w: 320.0, nic_w: 350.0,
                other_w: 500.0, fan_max_w: 1000.0), psu_curve: (rated_w: 19800.0))) }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [RackGroup(count: 1, servers: [ServerGroup(template: "hgx", count: 1)])])])],
    ),
    workload: Training(jobs: [TrainingJob(
        name: "small",
        gpu_model: "H100",
        plan: TrainingPlan(
            model: TransformerModel(params: 1.0e9, layers: 16, hidden: 2048, seq_len: 2048),
            parallelism: Parallelism(tp: 1, pp: 1, dp: 8, micro_batches: 1),
            global_batch_tokens: 1048576,
            budget: Steps(2000),
        ),
    )]),
    reporting: (interval_s: 600.0),
)"#,
        cat = catalog()
    );
    let path = write(&dir, "s.ron", &s);
    let loaded = load_scenario(&path, &[], None).unwrap();
    let out = twin::run(&loaded, &mut |_| {}).expect("run");
    let j = &out.summary.training.as_ref().unwrap().jobs[0];
    assert!(j.finish_s.is_some(), "{j:?}");
    // The run holds the server at the job's mean activity (rounded to thousandths for the power model).
    let peak = out.summary.power.it_peak_w;
    assert!(
        (peak - j.node_power_mean_w).abs() / peak < 2e-3,
        "{peak} vs {}",
        j.node_power_mean_w
    );
    assert!(
        j.node_power_trough_w < j.node_power_mean_w && j.node_power_mean_w < j.node_power_peak_w
    );
    let host = &loaded.site.servers[0].host;
    assert!(j.node_power_peak_w < host.nameplate_input_w(8, 700.0));
}
