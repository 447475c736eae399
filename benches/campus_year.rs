//! Issue #15's target: one simulated year of a 1,000,000-GPU campus with the facility, weather, carbon and
//! about 10 M jobs in under 2 minutes and 2 GB of peak resident memory.
//!
//! The site is `site_week`'s hall (5 rows × 10 racks × 5 HGX H100 servers × 8 GPUs = 2,000 GPUs) repeated
//! `CAMPUS_HALLS` times (default 500 → 125,000 servers, 1,000,000 GPUs), with the facility of
//! `scenarios/green-site.ron` (power chain, chilled-water plant with a warm-water economizer, the Greensboro NC
//! typical year from `../shared/weather`, the 2020 French grid's carbon intensity from `../shared/carbon`).
//! Jobs are a training mix of 8 to 256 GPUs (mean 47.2) with log-normal durations (mean ≈ 14 h) at offered load
//! `CAMPUS_LOAD` (default 0.75): 1,000,000 GPUs for a year get ≈ 10 M jobs; jobs scale with the site and the
//! days. FIFO with first fit. The run is timed, then its outputs (summary.json, timeseries.csv, charts) are
//! written to a temporary directory and timed apart.
//!
//! Env: `CAMPUS_HALLS` (500), `CAMPUS_DAYS` (365), `CAMPUS_LOAD` (0.75), `CAMPUS_QUEUE` (`Fifo`),
//! `CAMPUS_INTERVAL_S` (reporting interval, 3600), `CAMPUS_WRITE` (0: skip writing the outputs).
//!
//!     CAMPUS_HALLS=5 CAMPUS_DAYS=30 cargo bench --bench campus_year     # 10,000 GPUs, a month: seconds
//!     cargo bench --bench campus_year                                   # the target

mod common;
use common::{cpu_s, env_u64, peak_rss_mib};

use std::time::Instant;

/// Mean GPUs × mean duration of the job mix: 47.2 GPUs × 50,200 s (LogNormal(mu 10.3239, sigma 1)).
const GPU_S_PER_JOB: f64 = 47.2 * 50_200.0;

/// The scenario text for `halls` halls over `days` days at offered `load`.
fn scenario_text(halls: u64, days: u64, load: f64, queue: &str, interval_s: u64) -> String {
    let gpus = halls * 5 * 10 * 5 * 8;
    let interarrival = GPU_S_PER_JOB / (load * gpus as f64);
    let root = env!("CARGO_MANIFEST_DIR");
    let shared = format!("{root}/../shared");
    format!(
        r#"Scenario(
    name: "campus-year",
    seed: 1,
    horizon_s: {horizon:?},
    catalog: "{root}/scenarios/catalog/gpus.ron",
    site: Layout(
        server_templates: {{
            "hgx-h100": ServerTemplate(gpu_model: "H100", gpus: 8, cpu_milli: 112000, memory_mib: 2097152,
                host: HostPower(idle_w: 1200.0, max_w: 3400.0, psu_efficiency: 0.95)),
        }},
        halls: [HallGroup(count: {halls}, rows: [RowGroup(count: 5, racks: [RackGroup(count: 10, servers: [ServerGroup(template: "hgx-h100", count: 5)])])])],
    ),
    workload: Synthetic(
        interarrival_s: Exponential(mean_s: {interarrival:?}),
        duration_s: LogNormal(mu: 10.3239, sigma: 1.0),
        gpus: Choice(options: [(value: 8, weight: 0.30), (value: 16, weight: 0.20), (value: 32, weight: 0.20),
            (value: 64, weight: 0.15), (value: 128, weight: 0.10), (value: 256, weight: 0.05)]),
    ),
    scheduler: (queue: {queue}, placement: FirstFit),
    reporting: (interval_s: {interval_s:?}),
    facility: (
        weather: Tmy3(path: "{shared}/weather/tmy3-723170-greensboro-nc.csv"),
        power_chain: (),
        cooling: (chws_c: 18.0),
        carbon: Csv(path: "{shared}/carbon/entsoe-2020-fr-carbon-intensity.csv", start: "2020-01-01 00:00:00"),
    ),
)
"#,
        horizon = (days * 86_400) as f64,
        interval_s = interval_s as f64,
    )
}

fn main() {
    let halls = env_u64("CAMPUS_HALLS", 500);
    let days = env_u64("CAMPUS_DAYS", 365);
    let interval_s = env_u64("CAMPUS_INTERVAL_S", 3600);
    let write = env_u64("CAMPUS_WRITE", 1) != 0;
    let queue = std::env::var("CAMPUS_QUEUE").unwrap_or_else(|_| "Fifo".into());
    let load: f64 = std::env::var("CAMPUS_LOAD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.75);
    let gpus = halls * 5 * 10 * 5 * 8;
    let dir = std::env::temp_dir().join(format!("dctwin-campus-year-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("campus-year.ron");
    std::fs::write(&path, scenario_text(halls, days, load, &queue, interval_s))
        .expect("write scenario");

    let (t0, c0) = (Instant::now(), cpu_s());
    let loaded = scenario::load_scenario(&path, &[], None).expect("valid scenario");
    let (load_s, load_cpu_s) = (t0.elapsed().as_secs_f64(), cpu_s() - c0);
    let (t1, c1) = (Instant::now(), cpu_s());
    let out = twin::run(&loaded, &mut |_| {}).expect("run");
    let (run_s, run_cpu_s) = (t1.elapsed().as_secs_f64(), cpu_s() - c1);
    let run_rss = peak_rss_mib().unwrap_or(f64::NAN);
    let (t2, c2) = (Instant::now(), cpu_s());
    if write {
        reports::write_run(&dir.join("out"), &out).expect("write outputs");
    }
    let (write_s, write_cpu_s) = (t2.elapsed().as_secs_f64(), cpu_s() - c2);
    let _ = std::fs::remove_dir_all(&dir);
    let s = &out.summary;
    let total_s = load_s + run_s + write_s;
    let total_cpu_s = load_cpu_s + run_cpu_s + write_cpu_s;
    let (pue, carbon_t) = s.facility.as_ref().map_or((f64::NAN, f64::NAN), |f| {
        (f.pue, f.carbon.operational_kg / 1000.0)
    });
    println!(
        "campus_year gpus={gpus} servers={} days={days} load={load} queue={queue} jobs={} completed={} events={} \
         load_s={load_s:.2} run_wall_s={run_s:.2} run_cpu_s={run_cpu_s:.2} write_s={write_s:.2} \
         total_wall_s={total_s:.2} total_cpu_s={total_cpu_s:.2} events_per_s={:.0} peak_rss_mib_run={run_rss:.1} \
         peak_rss_mib={:.1} utilization={:.3} wait_mean_s={:.0} queued_at_end={} pue={pue:.3} carbon_t={carbon_t:.0}",
        gpus / 8,
        s.jobs.submitted,
        s.jobs.completed,
        s.events_processed,
        s.events_processed as f64 / run_s,
        peak_rss_mib().unwrap_or(f64::NAN),
        s.gpus.utilization_mean,
        s.jobs.wait_s.mean,
        s.jobs.queued_at_end,
    );
}
