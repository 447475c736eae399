//! The cost of the power-capping controller: one simulated day of a 100,000-GPU H100 site (5 halls × 25 rows ×
//! 25 racks × 4 HGX H100 servers × 8 GPUs = 12,500 servers, 3,125 racks) under synthetic training jobs (8–256
//! GPUs, median 2 h) offered at 110 % of the site so it is mostly busy, run (a) with a facility but no `capping`
//! section and (b) with a controller deciding every 5 s whose rack, row and feed budgets lie above nameplate (they
//! never bind). Prints one line per run and the wall-time ratio b/a.
//! Env: `CAPPING_HALLS` (default 5 → 100,000 GPUs), `CAPPING_DAYS` (1), `CAPPING_LOAD` (offered load, 1.1).
//!
//!     cargo bench --bench capping_day

mod common;
use common::env_u64;

use std::time::Instant;

const ROWS: u64 = 25;
const RACKS: u64 = 25;
const SERVERS: u64 = 4;
/// HGX H100 at full load: 8 × 700 W GPUs + 3,400 W host (DC), through a 0.95 supply.
const SERVER_MAX_W: f64 = (8.0 * 700.0 + 3400.0) / 0.95;

fn scenario(halls: u64, days: u64, load: f64, capping: bool) -> String {
    let gpus = halls * ROWS * RACKS * SERVERS * 8;
    // Mean job: 37.44 GPUs × e^(8.8818 + 0.5) s ≈ 11,870 s.
    let mean_gpu_s = 37.44 * (8.8818f64 + 0.5).exp();
    let interarrival = mean_gpu_s / (load * gpus as f64);
    let rack_w = SERVERS as f64 * SERVER_MAX_W;
    let capping = if capping {
        format!(
            "capping: (interval_s: 5.0, rack_budget_w: {:?}, row_budget_w: {:?}, feed_budget_w: {:?}),",
            1.05 * rack_w,
            1.05 * RACKS as f64 * rack_w,
            1.05 * (halls * ROWS * RACKS) as f64 * rack_w,
        )
    } else {
        String::new()
    };
    let root = env!("CARGO_MANIFEST_DIR");
    format!(
        r#"Scenario(
    name: "capping-day",
    seed: 7,
    horizon_s: {horizon:?},
    catalog: "{root}/scenarios/catalog/gpus.ron",
    site: Layout(
        server_templates: {{
            "hgx-h100": ServerTemplate(gpu_model: "H100", gpus: 8, cpu_milli: 112000, memory_mib: 2097152,
                host: HostPower(idle_w: 1200.0, max_w: 3400.0, psu_efficiency: 0.95)),
        }},
        halls: [HallGroup(count: {halls}, rows: [RowGroup(count: {ROWS}, racks: [RackGroup(count: {RACKS}, servers: [ServerGroup(template: "hgx-h100", count: {SERVERS})])])])],
    ),
    workload: Synthetic(
        interarrival_s: Exponential(mean_s: {interarrival:?}),
        duration_s: LogNormal(mu: 8.8818, sigma: 1.0),
        gpus: Choice(options: [(value: 8, weight: 0.40), (value: 16, weight: 0.20), (value: 32, weight: 0.15),
            (value: 64, weight: 0.15), (value: 128, weight: 0.07), (value: 256, weight: 0.03)]),
    ),
    scheduler: (queue: Fifo, placement: FirstFit),
    reporting: (interval_s: 300.0),
    facility: (
        {capping}
    ),
)
"#,
        horizon = (days * 86_400) as f64,
    )
}

fn run(variant: &str, text: String, gpus: u64) -> f64 {
    let dir = std::env::temp_dir().join(format!("dctwin-capping-day-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("capping-day-{variant}.ron"));
    std::fs::write(&path, text).expect("write scenario");
    let loaded = scenario::load_scenario(&path, &[], None).expect("valid scenario");
    let _ = std::fs::remove_dir_all(&dir);
    let t = Instant::now();
    let out = twin::run(&loaded, &mut |_| {}).expect("run");
    let wall_s = t.elapsed().as_secs_f64();
    let s = &out.summary;
    let decisions = s
        .facility
        .as_ref()
        .and_then(|f| f.capping.as_ref())
        .and_then(|c| c.controller.as_ref())
        .map_or(0, |c| c.decisions);
    println!(
        "capping_day variant={variant} gpus={gpus} jobs={} events={} decisions={decisions} wall_s={wall_s:.3} utilization={:.3} it_energy_j={:.6e}",
        s.jobs.submitted, s.events_processed, s.gpus.utilization_mean, s.energy.it_j,
    );
    wall_s
}

fn main() {
    let halls = env_u64("CAPPING_HALLS", 5);
    let days = env_u64("CAPPING_DAYS", 1);
    let load: f64 = std::env::var("CAPPING_LOAD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.1);
    let gpus = halls * ROWS * RACKS * SERVERS * 8;
    let a = run("uncapped", scenario(halls, days, load, false), gpus);
    let b = run("controller", scenario(halls, days, load, true), gpus);
    println!("capping_day gpus={gpus} ratio_b_over_a={:.2}", b / a);
}
