//! Scheduling cost at scale (issue #15), ratios printed in one run.
//!
//! 1. Placement cost per job from 10,000 to 1,000,000 GPUs: the site of `site_week` (HGX H100 servers, 8 GPUs;
//!    5 rows × 10 racks × 5 servers per hall) with 5, 50 and 500 halls, the same synthetic jobs at 80% offered
//!    load with durations a quarter of `site_week`'s (mean 49 min), for `HOURS` and `2·HOURS` hours (jobs in
//!    proportion to the site). The difference of the two wall times over the difference of the jobs is the
//!    cost per job in steady state (site set-up and warm-up cancel out).
//! 2. EASY backfilling against FIFO at 1.5× offered load on a 100,000-GPU site for `MONTH_DAYS` days.
//!
//! Env: `SCHED_HOURS` (default 12), `SCHED_SIZES` (halls, comma-separated; default `5,50,500`),
//! `SCHED_PLACEMENT` (default `FirstFit`), `SCHED_MONTH_DAYS` (default 30; 0 skips part 2),
//! `SCHED_SKIP_PLACEMENT` (set: skip part 1).
//!
//!     cargo bench --bench sched_scale

use std::time::Instant;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Mean job size × mean duration of the synthetic mix (7.36 GPUs × 11,870 s).
const GPU_S_PER_JOB: f64 = 87_400.0;

struct Run {
    jobs: u64,
    wall_s: f64,
    backfilled: u64,
    queued_at_end: u64,
    utilization: f64,
}

/// Runs the site of `halls` halls at offered `load` for `horizon_s`, job durations scaled by `time_scale`.
fn run(
    halls: u64,
    load: f64,
    horizon_s: f64,
    time_scale: f64,
    queue: &str,
    placement: &str,
) -> Run {
    let gpus = halls * 5 * 10 * 5 * 8;
    let interarrival = GPU_S_PER_JOB * time_scale / (load * gpus as f64);
    // LogNormal(mu, 1): mean exp(mu + 1/2); mu = 8.8818 gives 11,870 s.
    let mu = 8.8818 + time_scale.ln();
    let interval = (horizon_s / 200.0).max(1.0);
    let root = env!("CARGO_MANIFEST_DIR");
    let scenario = format!(
        r#"Scenario(
    name: "sched-scale",
    seed: 1,
    horizon_s: {horizon_s:?},
    catalog: "{root}/scenarios/catalog/gpus.ron",
    site: Layout(
        server_templates: {{
            "hgx-h100": ServerTemplate(gpu_model: "H100", gpus: 8, host: HostPower(idle_w: 1200.0, max_w: 3400.0)),
        }},
        halls: [HallGroup(count: {halls}, rows: [RowGroup(count: 5, racks: [RackGroup(count: 10, servers: [ServerGroup(template: "hgx-h100", count: 5)])])])],
    ),
    workload: Synthetic(
        interarrival_s: Exponential(mean_s: {interarrival:?}),
        duration_s: LogNormal(mu: {mu:?}, sigma: 1.0),
        gpus: Choice(options: [(value: 1, weight: 0.30), (value: 2, weight: 0.15), (value: 4, weight: 0.15),
            (value: 8, weight: 0.25), (value: 16, weight: 0.08), (value: 32, weight: 0.05), (value: 64, weight: 0.02)]),
    ),
    scheduler: (queue: {queue}, placement: {placement}),
    reporting: (interval_s: {interval:?}),
)
"#
    );
    let dir = std::env::temp_dir().join(format!("dctwin-sched-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("sched-scale.ron");
    std::fs::write(&path, scenario).expect("write scenario");
    let loaded = scenario::load_scenario(&path, &[], None).expect("valid scenario");
    let t = Instant::now();
    let out = twin::run(&loaded, &mut |_| {}).expect("run");
    let wall_s = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    let s = &out.summary;
    Run {
        jobs: s.jobs.submitted,
        wall_s,
        backfilled: s.jobs.backfilled,
        queued_at_end: s.jobs.queued_at_end,
        utilization: s.gpus.utilization_mean,
    }
}

fn main() {
    let hours = env_u64("SCHED_HOURS", 12);
    let placement = std::env::var("SCHED_PLACEMENT").unwrap_or_else(|_| "FirstFit".into());
    let sizes: Vec<u64> = std::env::var("SCHED_SIZES")
        .unwrap_or_else(|_| "5,50,500".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if std::env::var_os("SCHED_SKIP_PLACEMENT").is_none() {
        let mut base: Option<f64> = None;
        for &halls in &sizes {
            let gpus = halls * 10_000 / 5;
            let horizon = (hours * 3600) as f64;
            let short = run(halls, 0.8, horizon, 0.25, "Fifo", &placement);
            let long = run(halls, 0.8, 2.0 * horizon, 0.25, "Fifo", &placement);
            let per_job_us = (long.wall_s - short.wall_s) / (long.jobs - short.jobs) as f64 * 1e6;
            let ratio = per_job_us / *base.get_or_insert(per_job_us);
            println!(
                "sched_scale placement={placement} gpus={gpus} jobs={}/{} wall_s={:.3}/{:.3} utilization={:.3} per_job_us={per_job_us:.2} ratio_vs_smallest={ratio:.2}",
                short.jobs, long.jobs, short.wall_s, long.wall_s, long.utilization
            );
        }
    }
    let days = env_u64("SCHED_MONTH_DAYS", 30);
    if days > 0 {
        let horizon = (days * 86_400) as f64;
        let fifo = run(50, 1.5, horizon, 1.0, "Fifo", "FirstFit");
        let easy = run(50, 1.5, horizon, 1.0, "EasyBackfill", "FirstFit");
        for (name, r) in [("Fifo", &fifo), ("EasyBackfill", &easy)] {
            println!(
                "sched_scale overload gpus=100000 load=1.5 days={days} queue={name} jobs={} wall_s={:.3} backfilled={} queued_at_end={} utilization={:.3}",
                r.jobs, r.wall_s, r.backfilled, r.queued_at_end, r.utilization
            );
        }
        println!(
            "sched_scale overload easy_over_fifo={:.2}",
            easy.wall_s / fifo.wall_s
        );
    }
}
