//! Iteration-level serving at fleet scale: one simulated hour of 150 replicas of a Llama-2-70B-class model (8
//! H100s each, one HGX server per replica) under 400 synthetic requests/s (the shapes of `inference-day`), every
//! iteration of every replica an event. Prints events, iterations, events per wall-second and wall time per
//! simulated hour.
//! Env: `SERVING_REPLICAS` (150), `SERVING_RATE` (requests/s, 400), `SERVING_HOURS` (1), `SERVING_RUNS` (1).
//! With `SERVING_BASELINE=path/to/dctwin` (another build's binary) it also runs that binary on the same scenario,
//! alternating with this build (A/B pairs), and prints the ratio of their best wall times (the baseline's
//! includes its process start and output writing, a few tens of ms).
//!
//!     cargo bench --bench serving_fleet

mod common;
use common::env_u64;

use std::time::Instant;

fn scenario(replicas: u64, rate: f64, hours: u64) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    format!(
        r#"Scenario(
    name: "serving-fleet",
    seed: 7,
    horizon_s: {horizon:?},
    catalog: "{root}/scenarios/catalog/gpus.ron",
    site: Layout(
        server_templates: {{
            "hgx-h100": ServerTemplate(gpu_model: "H100", gpus: 8, cpu_milli: 112000, memory_mib: 2097152,
                host: HostPower(idle_w: 1200.0, max_w: 3400.0, psu_efficiency: 0.95)),
        }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [
            RackGroup(count: 1, servers: [ServerGroup(template: "hgx-h100", count: {replicas})]),
        ])])],
    ),
    workload: Inference(
        requests: Synthetic(
            arrivals: Gamma(rate_per_s: {rate:?}, cv: 1.5),
            prompt_tokens: LogNormal(mu: 6.9, sigma: 0.9, max: 8000),
            output_tokens: LogNormal(mu: 5.0, sigma: 0.8, max: 1000),
        ),
        deployment: Deployment(
            model: LlmModel(name: "llama-2-70b", params: 70.0e9, layers: 80, hidden: 8192, kv_heads: 8, head_dim: 128, ffn_hidden: 28672, vocab: 32000),
            gpu_model: "H100",
            tp: 8,
            replicas: {replicas},
        ),
        router: LeastOutstanding,
        slo: Slo(ttft_s: 2.0, tpot_s: 0.1),
    ),
    reporting: (interval_s: 300.0),
)
"#,
        horizon = (hours * 3600) as f64,
    )
}

fn main() {
    let replicas = env_u64("SERVING_REPLICAS", 150);
    let rate = env_u64("SERVING_RATE", 400) as f64;
    let hours = env_u64("SERVING_HOURS", 1);
    let runs = env_u64("SERVING_RUNS", 1).max(1);
    let baseline = std::env::var("SERVING_BASELINE").ok();
    let dir = std::env::temp_dir().join(format!("dctwin-serving-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("serving-fleet.ron");
    std::fs::write(&path, scenario(replicas, rate, hours)).expect("write scenario");
    let loaded = scenario::load_scenario(&path, &[], None).expect("valid scenario");
    let (mut best, mut best_base) = (f64::INFINITY, f64::INFINITY);
    for k in 0..runs {
        if let Some(bin) = &baseline {
            let t = Instant::now();
            let status = std::process::Command::new(bin)
                .arg("run")
                .arg(&path)
                .arg("--quiet")
                .arg("--out")
                .arg(dir.join("baseline"))
                .status()
                .expect("baseline binary runs");
            assert!(status.success(), "baseline run failed");
            let wall_s = t.elapsed().as_secs_f64();
            best_base = best_base.min(wall_s);
            println!(
                "serving_fleet run={k} build=baseline wall_s={wall_s:.3} wall_per_sim_hour_s={:.3}",
                wall_s / hours as f64
            );
        }
        let t = Instant::now();
        let out = twin::run(&loaded, &mut |_| {}).expect("run");
        let wall_s = t.elapsed().as_secs_f64();
        best = best.min(wall_s);
        let s = &out.summary;
        let i = s.inference.as_ref().expect("inference run");
        println!(
            "serving_fleet run={k} build=this replicas={replicas} rate_per_s={rate} sim_hours={hours} events={} iterations={} completed={} wall_s={wall_s:.3} events_per_s={:.0} ns_per_event={:.0} wall_per_sim_hour_s={:.3}",
            s.events_processed,
            i.replicas.iterations,
            i.requests.completed,
            s.events_processed as f64 / wall_s,
            wall_s * 1e9 / s.events_processed as f64,
            wall_s / hours as f64,
        );
    }
    if baseline.is_some() {
        println!(
            "serving_fleet best_wall_s this={best:.3} baseline={best_base:.3} speedup={:.2}",
            best_base / best
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
