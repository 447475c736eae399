//! Scheduling cost at scale (issue #15), ratios printed in one run.
//!
//! 1. Placement cost per job from 10,000 to 1,000,000 GPUs: the site of `site_week` (HGX H100 servers, 8 GPUs;
//!    5 rows × 10 racks × 5 servers per hall) with 5, 50 and 500 halls, the same synthetic jobs at 80% offered
//!    load with durations a quarter of `site_week`'s (mean 49 min), for `HOURS` and `2·HOURS` hours (jobs in
//!    proportion to the site). The difference of the two wall times over the difference of the jobs is the
//!    cost per job in steady state (site set-up and warm-up cancel out).
//! 0. Placement alone (`models::placement::plan`, first fit, best fit and topology-aware) at 10,000, 100,000 and
//!    1,000,000 GPUs: the loads held at ~80% by releasing a random running job and placing one from the same
//!    mix (16- and 32-GPU jobs span servers; racks hold 40 GPUs), timed per placement, through the
//!    free-capacity index and through the scan it replaces (same choices), one run. With `SCHED_PLACE_MIX=cpu`
//!    (or `both`), also CPU-only jobs (1 to 16 cores, 4 GiB per core, on 64-core 1 TiB servers; every policy
//!    places them first fit, so first fit only): the servers' CPU held at ~80% the same way.
//! 2. EASY backfilling and shortest-job-first against FIFO at 1.5× offered load on a 100,000-GPU site for
//!    `MONTH_DAYS` days.
//!
//! Env: `SCHED_HOURS` (default 12), `SCHED_SIZES` (halls, comma-separated; default `5,50,500`),
//! `SCHED_PLACEMENT` (default `FirstFit`), `SCHED_MONTH_DAYS` (default 30; 0 skips part 2),
//! `SCHED_SKIP_PLACEMENT` (set: skip part 1), `SCHED_PLACE_STEPS` (placements timed in part 0, default 20,000;
//! 0 skips part 0), `SCHED_PLACE_MIX` (`gpu`, the default; `cpu`; `both`).
//!
//!     cargo bench --bench sched_scale

mod common;
use common::{cpu_s, env_u64};

use std::time::Instant;

/// Mean job size × mean duration of the synthetic mix (7.36 GPUs × 11,870 s).
const GPU_S_PER_JOB: f64 = 87_400.0;

struct Run {
    jobs: u64,
    cpu_s: f64,
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
    let c = cpu_s();
    let out = twin::run(&loaded, &mut |_| {}).expect("run");
    let cpu_s = cpu_s() - c;
    let wall_s = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    let s = &out.summary;
    Run {
        jobs: s.jobs.submitted,
        cpu_s,
        wall_s,
        backfilled: s.jobs.backfilled,
        queued_at_end: s.jobs.queued_at_end,
        utilization: s.gpus.utilization_mean,
    }
}

/// A load view for the placement micro-benchmark: loads with their summaries, and the index when kept.
struct Loads {
    loads: Vec<models::placement::ServerLoad>,
    free: Vec<models::placement::FreeSummary>,
    ix: Option<models::placement::FreeIndex>,
}

impl models::placement::LoadView for Loads {
    fn servers(&self) -> usize {
        self.loads.len()
    }
    fn summary(&self, s: u32) -> models::placement::FreeSummary {
        self.free[s as usize]
    }
    fn load(&self, s: u32) -> &models::placement::ServerLoad {
        &self.loads[s as usize]
    }
    fn summaries(&self) -> Option<&[models::placement::FreeSummary]> {
        Some(&self.free)
    }
    fn index(&self) -> Option<&models::placement::FreeIndex> {
        self.ix.as_ref()
    }
}

/// ns per placement (release one random running job, place one new job) at `servers` 8-GPU servers; GPU jobs
/// held at ~80% of the GPUs, or (`cpu_only`) CPU-only jobs held at ~80% of the host CPU.
fn placement_ns(
    servers: usize,
    policy: models::placement::PlacementPolicy,
    indexed: bool,
    steps: usize,
    cpu_only: bool,
) -> f64 {
    use models::placement::{self as pl, FreeSummary, JobReq};
    let spec = models::site::ServerSpec {
        name: String::new(),
        hall: 0,
        row: 0,
        rack: 0,
        gpu_model: 0,
        gpus: 8,
        cpu_milli: 64_000,
        memory_mib: 1 << 20,
        host: models::site::HostPower::linear(1200.0, 3400.0, 1.0),
    };
    let site = models::site::SiteModel {
        servers: (0..servers)
            .map(|i| {
                let mut s = spec.clone();
                s.rack = (i / 5) as u32;
                s.row = (i / 50) as u32;
                s.hall = (i / 250) as u32;
                s
            })
            .collect(),
        halls: servers.div_ceil(250) as u32,
        rows: servers.div_ceil(50) as u32,
        racks: servers.div_ceil(5) as u32,
    };
    let topo = pl::Topology::new(&site);
    let loads: Vec<pl::ServerLoad> = site.servers.iter().map(pl::ServerLoad::new).collect();
    let free: Vec<FreeSummary> = loads.iter().map(FreeSummary::of).collect();
    let ix = indexed.then(|| pl::FreeIndex::new(&topo, loads.iter().map(Some), policy));
    let mut view = Loads { loads, free, ix };
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mix = [
        1u32, 1, 1, 1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8, 8, 8, 16, 16, 32,
    ];
    // CPU-only jobs: cores (×1000 milli, ×4 GiB).
    let cpu_mix = [1u64, 1, 1, 2, 2, 2, 4, 4, 8, 16];
    let mut running: Vec<(JobReq, Vec<pl::Grant>)> = Vec::new();
    // GPUs held, or CPU milli held (`cpu_only`).
    let mut held = 0u64;
    let target = if cpu_only {
        servers as u64 * spec.cpu_milli * 8 / 10
    } else {
        (servers as u64 * 8) * 8 / 10
    };
    let mut grants = Vec::new();
    let apply = |view: &mut Loads, req: &JobReq, grants: &[pl::Grant], on: bool| {
        for (i, g) in grants.iter().enumerate() {
            let s = g.server as usize;
            pl::apply_grant(&mut view.loads[s], g, req, on, i == 0 && !req.multi_server);
            // As the allocator: a server's summary and index entry follow once, after its last grant (grants
            // come grouped by server).
            if grants.get(i + 1).is_none_or(|next| next.server != g.server) {
                view.free[s] = FreeSummary::of(&view.loads[s]);
                if let Some(ix) = view.ix.as_mut() {
                    ix.update(g.server, Some(&view.loads[s]));
                }
            }
        }
    };
    let mut step =
        |view: &mut Loads, running: &mut Vec<(JobReq, Vec<pl::Grant>)>, held: &mut u64| {
            if *held > target && !running.is_empty() {
                let (req, g) = running.swap_remove(next() as usize % running.len());
                apply(view, &req, &g, false);
                *held -= if cpu_only {
                    req.cpu_milli
                } else {
                    req.gpus as u64
                };
            }
            let req = if cpu_only {
                let cores = cpu_mix[next() as usize % cpu_mix.len()];
                JobReq {
                    gpus: 0,
                    gpu_milli: 0,
                    cpu_milli: cores * 1000,
                    memory_mib: cores * 4096,
                    model_mask: pl::ANY_MODEL,
                    multi_server: false,
                    activity_milli: 0,
                }
            } else {
                let gpus = mix[next() as usize % mix.len()];
                JobReq {
                    gpus,
                    gpu_milli: 1000,
                    cpu_milli: 0,
                    memory_mib: 0,
                    model_mask: pl::ANY_MODEL,
                    multi_server: gpus > 8,
                    activity_milli: 0,
                }
            };
            if pl::plan(policy, &req, &*view, &topo, &mut grants) {
                apply(view, &req, &grants, true);
                *held += if cpu_only {
                    req.cpu_milli
                } else {
                    req.gpus as u64
                };
                running.push((req, grants.clone()));
            }
        };
    // Warm up to the target occupancy, then time.
    while held < target {
        step(&mut view, &mut running, &mut held);
    }
    let t = Instant::now();
    for _ in 0..steps {
        step(&mut view, &mut running, &mut held);
    }
    t.elapsed().as_secs_f64() * 1e9 / steps as f64
}

fn main() {
    let steps = env_u64("SCHED_PLACE_STEPS", 20_000) as usize;
    let place_mix = std::env::var("SCHED_PLACE_MIX").unwrap_or_else(|_| "gpu".into());
    if steps > 0 {
        use models::placement::PlacementPolicy;
        let gpu = [
            PlacementPolicy::FirstFit,
            PlacementPolicy::BestFit,
            PlacementPolicy::TopologyAware,
        ]
        .map(|p| (p, false));
        let cases: Vec<(PlacementPolicy, bool)> = match place_mix.as_str() {
            "cpu" => vec![(PlacementPolicy::FirstFit, true)],
            "both" => gpu
                .into_iter()
                .chain([(PlacementPolicy::FirstFit, true)])
                .collect(),
            _ => gpu.to_vec(),
        };
        for (policy, cpu_only) in cases {
            let mut first: Option<f64> = None;
            for servers in [1_250usize, 12_500, 125_000] {
                let fast = placement_ns(servers, policy, true, steps, cpu_only);
                let scan = placement_ns(servers, policy, false, steps, cpu_only);
                let ratio = fast / *first.get_or_insert(fast);
                let jobs = if cpu_only { "cpu" } else { "gpu" };
                println!(
                    "sched_scale placement_only policy={policy:?} jobs={jobs} gpus={} indexed_ns={fast:.0} scan_ns={scan:.0} indexed_ratio_vs_10k={ratio:.2}",
                    servers * 8
                );
            }
        }
    }
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
            let per_job_us = (long.cpu_s - short.cpu_s) / (long.jobs - short.jobs) as f64 * 1e6;
            let ratio = per_job_us / *base.get_or_insert(per_job_us);
            println!(
                "sched_scale placement={placement} gpus={gpus} jobs={}/{} cpu_s={:.2}/{:.2} wall_s={:.2}/{:.2} utilization={:.3} per_job_us={per_job_us:.2} ratio_vs_smallest={ratio:.2}",
                short.jobs,
                long.jobs,
                short.cpu_s,
                long.cpu_s,
                short.wall_s,
                long.wall_s,
                long.utilization
            );
        }
    }
    let days = env_u64("SCHED_MONTH_DAYS", 30);
    if days > 0 {
        let horizon = (days * 86_400) as f64;
        let fifo = run(50, 1.5, horizon, 1.0, "Fifo", "FirstFit");
        let easy = run(50, 1.5, horizon, 1.0, "EasyBackfill", "FirstFit");
        let sjf = run(50, 1.5, horizon, 1.0, "ShortestJobFirst", "FirstFit");
        for (name, r) in [
            ("Fifo", &fifo),
            ("EasyBackfill", &easy),
            ("ShortestJobFirst", &sjf),
        ] {
            println!(
                "sched_scale overload gpus=100000 load=1.5 days={days} queue={name} jobs={} cpu_s={:.2} wall_s={:.2} backfilled={} queued_at_end={} utilization={:.3}",
                r.jobs, r.cpu_s, r.wall_s, r.backfilled, r.queued_at_end, r.utilization
            );
        }
        println!(
            "sched_scale overload easy_over_fifo={:.2} sjf_over_fifo={:.2}",
            easy.cpu_s / fifo.cpu_s,
            sjf.cpu_s / fifo.cpu_s
        );
    }
}
