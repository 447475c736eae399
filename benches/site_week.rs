//! A 10,000-GPU site (5 halls × 5 rows × 10 racks × 5 HGX H100 servers × 8 GPUs) fed synthetic training jobs for one simulated week.
//! Prints events/s and peak resident memory. Env: `SITE_HALLS` (default 5 → 10,000 GPUs), `SITE_DAYS` (7),
//! `SITE_QUEUE` (`Fifo`, `ShortestJobFirst` or `EasyBackfill`; default `Fifo`), `SITE_PLACEMENT` (`FirstFit`,
//! `BestFit` or `TopologyAware`; default `FirstFit`), `SITE_LOAD` (offered load, default 0.8).
//!
//!     cargo bench --bench site_week

mod common;
use common::{env_u64, peak_rss_mib};

use std::time::Instant;

fn main() {
    let halls = env_u64("SITE_HALLS", 5);
    let days = env_u64("SITE_DAYS", 7);
    let queue = std::env::var("SITE_QUEUE").unwrap_or_else(|_| "Fifo".into());
    let placement = std::env::var("SITE_PLACEMENT").unwrap_or_else(|_| "FirstFit".into());
    let load: f64 = std::env::var("SITE_LOAD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.8);
    let gpus = halls * 5 * 10 * 5 * 8;
    // Offered load ≈ 80%: mean job = 7.36 GPUs × 11,870 s ≈ 87,400 GPU·s.
    let interarrival = 87_400.0 / (load * gpus as f64);
    let root = env!("CARGO_MANIFEST_DIR");
    let scenario = format!(
        r#"Scenario(
    name: "site-week",
    seed: 1,
    horizon_s: {horizon:?},
    catalog: "{root}/scenarios/catalog/gpus.ron",
    site: Layout(
        server_templates: {{
            "hgx-h100": ServerTemplate(gpu_model: "H100", gpus: 8, host: HostPower(idle_w: 1200.0, max_w: 3400.0)),
        }},
        halls: [HallGroup(count: {halls}, rows: [RowGroup(count: 5, racks: [RackGroup(count: 10, servers: [ServerGroup(template: "hgx-h100", count: 5)])])])],
    ),
    workload: Synthetic(
        interarrival_s: Exponential(mean_s: {interarrival:?}),
        duration_s: LogNormal(mu: 8.8818, sigma: 1.0),
        gpus: Choice(options: [(value: 1, weight: 0.30), (value: 2, weight: 0.15), (value: 4, weight: 0.15),
            (value: 8, weight: 0.25), (value: 16, weight: 0.08), (value: 32, weight: 0.05), (value: 64, weight: 0.02)]),
    ),
    scheduler: (queue: {queue}, placement: {placement}),
    reporting: (interval_s: 300.0),
)
"#,
        horizon = (days * 86_400) as f64,
    );
    let dir = std::env::temp_dir().join(format!("dctwin-site-week-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("site-week.ron");
    std::fs::write(&path, scenario).expect("write scenario");

    let t0 = Instant::now();
    let loaded = scenario::load_scenario(&path, &[], None).expect("valid scenario");
    let load_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let out = twin::run(&loaded, &mut |_| {}).expect("run");
    let run_s = t1.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    let s = &out.summary;
    println!(
        "site_week gpus={gpus} days={days} queue={queue} placement={placement} jobs={} events={} load_s={load_s:.3} wall_s={run_s:.3} events_per_s={:.0} sim_days_per_wall_s={:.1} utilization={:.3} wait_mean_s={:.1} queued_at_end={} backfilled={} late_heads={} fragmented_gpus_mean={:.1} peak_rss_mib={:.1}",
        s.jobs.submitted,
        s.events_processed,
        s.events_processed as f64 / run_s,
        days as f64 / run_s,
        s.gpus.utilization_mean,
        s.jobs.wait_s.mean,
        s.jobs.queued_at_end,
        s.jobs.backfilled,
        s.jobs.backfill_late_heads,
        s.jobs.fragmented_gpus_mean,
        peak_rss_mib().unwrap_or(f64::NAN)
    );
}
