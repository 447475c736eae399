//! Training jobs on the network fabric inside a cluster run: step times follow placement and contention.
use output::RunOutput;
use scenario::load_scenario;

use crate::common::{catalog, temp_dir, write};

/// A data-parallel 8B job on `dp` 8-GPU servers (tp 8), submitted at `submit_s`; the gradient reduction is not
/// overlapped (a derived overlap would hide the contention this file is about behind the backward pass).
fn job(name: &str, submit_s: f64, dp: u32) -> String {
    format!(
        r#"TrainingJob(name: "{name}", submit_s: {submit_s:?}, gpu_model: "H100", plan: TrainingPlan(
            model: TransformerModel(params: 8.0e9, layers: 32, hidden: 4096, seq_len: 8192),
            parallelism: Parallelism(tp: 8, pp: 1, dp: {dp}, micro_batches: 4),
            global_batch_tokens: {batch}, budget: Steps(200), overlap: 0.0))"#,
        batch = 8192 * 4 * dp as u64 * 4
    )
}

/// 8 racks × 2 servers × 8 H100s behind a 3:1 oversubscribed 2-tier Clos (one spine: every cross-rack flow
/// shares it).
fn scenario(name: &str, jobs: &[String]) -> String {
    format!(
        r#"Scenario(
    name: "{name}",
    seed: 1,
    horizon_s: 86400.0,
    catalog: "{cat}",
    site: Layout(
        server_templates: {{
            "hgx": ServerTemplate(gpu_model: "H100", gpus: 8, host: HostPower(idle_w: 1200.0, max_w: 3400.0)),
        }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [RackGroup(count: 8, servers: [ServerGroup(template: "hgx", count: 2)])])])],
    ),
    workload: Training(jobs: [{jobs}], comm: Fabric(topology: TwoTierClos(spines: 1, oversubscription: 3.0), nic_gbs: 50.0)),
    reporting: (interval_s: 600.0),
)
"#,
        cat = catalog(),
        jobs = jobs.join(", ")
    )
}

fn run(tag: &str, text: &str) -> RunOutput {
    let dir = temp_dir(&format!("fabric-run-{tag}"));
    let path = write(&dir, "s.ron", text);
    let loaded = load_scenario(&path, &[], None).unwrap_or_else(|e| panic!("{e}"));
    twin::run(&loaded, &mut |_| {}).expect("run")
}

/// A job alone runs at one constant contended step time for its whole run: it holds its GPUs for exactly its
/// predicted run time × (step as run ÷ step predicted). Two jobs whose rings cross the shared spine at the same
/// time slow each other; each is back to its solo step once the other has finished. Switch energy is IT energy.
#[test]
fn contention_on_the_fabric_stretches_concurrent_jobs() {
    let solo = run("solo", &scenario("solo", &[job("a", 0.0, 3)]));
    let a = &solo.summary.training.as_ref().unwrap().jobs[0];
    let r = a.run_step_s.unwrap() / a.step_s;
    assert!(
        (a.ran_s - a.time_to_finish_s * r).abs() < 1e-6 * a.ran_s,
        "ran {} s, predicted {} s × {r}",
        a.ran_s,
        a.time_to_finish_s
    );
    let net = solo.summary.network.as_ref().expect("network section");
    assert!(net.pricings >= 2, "a start and a finish: {net:?}");
    assert!(net.switch_energy_j > 0.0 && net.switch_energy_j < solo.summary.energy.it_j);
    let spine = net
        .tiers
        .iter()
        .find(|t| t.tier == "LeafSpine")
        .expect("leaf-spine tier");
    assert!(
        spine.max_utilization > 0.0 && spine.max_utilization <= 1.0 + 1e-9,
        "{spine:?}"
    );

    // Two 24-GPU jobs at once on 2-server racks, first fit: a on servers 0–2 (racks 0–1), b on servers 3–5
    // (racks 1–2): both rings use rack 1's 3:1 oversubscribed uplinks.
    let both = run(
        "both",
        &scenario("both", &[job("a", 0.0, 3), job("b", 0.0, 3)]),
    );
    let jobs = &both.summary.training.as_ref().unwrap().jobs;
    let (a2, b2) = (&jobs[0], &jobs[1]);
    assert!(
        a2.run_step_s.unwrap() > a.run_step_s.unwrap() * 1.01,
        "contention must slow job a: {} s vs {} s alone",
        a2.run_step_s.unwrap(),
        a.run_step_s.unwrap()
    );
    assert!(b2.run_step_s.unwrap() > b2.step_s);
    assert!(a2.ran_s > a.ran_s);
    let e = &both.summary.energy;
    assert!((e.gpu_j + e.server_overhead_j - e.it_j).abs() < 1e-6 * e.it_j);
    println!(
        "fabric in the run: job a step {:.3} s predicted, {:.3} s alone as placed, {:.3} s beside job b; \
         ran {:.0} s vs {:.0} s; leaf-spine max utilisation {:.2}",
        a.step_s,
        a.run_step_s.unwrap(),
        a2.run_step_s.unwrap(),
        a.ran_s,
        a2.ran_s,
        spine.max_utilization
    );
}
