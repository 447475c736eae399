//! The cost of failures: a 100,000-GPU site (10 halls × 5 rows × 25 racks × 10 HGX H100 servers) fed synthetic
//! jobs (8 to 2,048 GPUs, 120 on average, 17.5 h on average; `FAIL_MIX=large`: 64 to 4,096 GPUs, a day on
//! average) at 80% load for a simulated year, run without failures and with every component class failing at its
//! default rate (GPU, HBM, link, host, leaf switch, PDU, power shelf; 64 hot spares, jobs checkpointing every
//! 30 min and restarting in 5 min). Runs alternate (without, with, without, with) and the figure is the ratio of
//! the summed wall times in this one process (the machine is shared; absolute times are noise). Target: < 2.
//! Also printed: the ratio of events (failures, repairs, spare swaps and the restarts of interrupted jobs are
//! work the model has to do) and of the cost per event (what the failures part adds to each event).
//! Env: `FAIL_HALLS` (default 10 → 100,000 GPUs), `FAIL_DAYS` (365), `FAIL_MIX` (`large`).
//!
//!     cargo bench --bench failures_year

mod common;
use common::env_u64;

use std::time::Instant;

fn main() {
    let halls = env_u64("FAIL_HALLS", 10);
    let days = env_u64("FAIL_DAYS", 365);
    let gpus = halls * 5 * 25 * 10 * 8;
    let large = std::env::var("FAIL_MIX").is_ok_and(|m| m == "large");
    // Mean job: 120 GPUs × 63,000 s (large: 716.8 GPUs × 86,600 s); offered load 80%.
    let (mean_gpus, mean_s, mu, options) = if large {
        (
            716.8,
            86_600.0,
            10.87,
            "(value: 64, weight: 0.4), (value: 256, weight: 0.3), (value: 1024, weight: 0.2), (value: 4096, weight: 0.1)",
        )
    } else {
        (
            120.32,
            63_000.0,
            10.5507,
            "(value: 8, weight: 0.4), (value: 32, weight: 0.3), (value: 128, weight: 0.2), (value: 512, weight: 0.08), (value: 2048, weight: 0.02)",
        )
    };
    let interarrival = mean_gpus * mean_s / (0.8 * gpus as f64);
    let root = env!("CARGO_MANIFEST_DIR");
    let scenario = |failures: &str| {
        format!(
            r#"Scenario(
    name: "failures-year",
    seed: 1,
    horizon_s: {horizon:?},
    catalog: "{root}/scenarios/catalog/gpus.ron",
    site: Layout(
        server_templates: {{
            "hgx-h100": ServerTemplate(gpu_model: "H100", gpus: 8, host: HostPower(idle_w: 1200.0, max_w: 3400.0)),
        }},
        halls: [HallGroup(count: {halls}, rows: [RowGroup(count: 5, racks: [RackGroup(count: 25, servers: [ServerGroup(template: "hgx-h100", count: 10)])])])],
    ),
    workload: Synthetic(
        interarrival_s: Exponential(mean_s: {interarrival:?}),
        duration_s: LogNormal(mu: {mu:?}, sigma: 1.0),
        gpus: Choice(options: [{options}]),
    ),
    scheduler: (job_checkpoint_s: 1800.0, job_restart_s: 300.0),
    reporting: (interval_s: 3600.0),
    {failures}
)
"#,
            horizon = (days * 86_400) as f64,
        )
    };
    let dir = std::env::temp_dir().join(format!("dctwin-failures-year-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let plain = dir.join("plain.ron");
    let failing = dir.join("failing.ron");
    std::fs::write(&plain, scenario("")).expect("write scenario");
    std::fs::write(
        &failing,
        scenario("failures: (spares: (servers: 64, swap_s: 300.0)),"),
    )
    .expect("write scenario");
    let plain = scenario::load_scenario(&plain, &[], None).expect("valid scenario");
    let failing = scenario::load_scenario(&failing, &[], None).expect("valid scenario");
    let _ = std::fs::remove_dir_all(&dir);
    let (mut without_s, mut with_s) = (0.0, 0.0);
    let (mut events_without, mut events_with) = (0u64, 0u64);
    let mut last = None;
    for round in 0..2 {
        let t = Instant::now();
        let a = twin::run(&plain, &mut |_| {}).expect("run");
        let a_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let b = twin::run(&failing, &mut |_| {}).expect("run");
        let b_s = t.elapsed().as_secs_f64();
        println!(
            "failures_year round={round} gpus={gpus} days={days} without_s={a_s:.3} with_s={b_s:.3} events_without={} events_with={}",
            a.summary.events_processed, b.summary.events_processed
        );
        without_s += a_s;
        with_s += b_s;
        events_without += a.summary.events_processed;
        events_with += b.summary.events_processed;
        last = Some(b);
    }
    let b = last.expect("two rounds");
    let f = b.summary.failures.as_ref().expect("failures section");
    println!(
        "failures_year gpus={gpus} days={days} mix={} ratio_with_to_without={:.3} events_ratio={:.3} per_event_ratio={:.3} failures={} interrupting={} jobs_interrupted={} lost_gpu_h={:.0} restart_gpu_h={:.0} gpu_down_h={:.0} spare_stockouts={}",
        if large { "large" } else { "mixed" },
        with_s / without_s,
        events_with as f64 / events_without as f64,
        (with_s / events_with as f64) / (without_s / events_without as f64),
        f.failures,
        f.interrupting_failures,
        b.summary.jobs.interrupted,
        b.summary.jobs.lost_gpu_h,
        b.summary.jobs.restart_gpu_h,
        f.gpu_down_h,
        f.spares.stockouts
    );
}
