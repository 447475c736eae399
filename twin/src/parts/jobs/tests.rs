//! The scheduler's shortcuts are exact, and jobs are conserved, on the quickstart site and on mixed sites.

use models::placement::{self, SiteCapacity};
use output::RunOutput;
use scenario::{
    LoadedScenario, Override, PlacementPolicy, QueuePolicy, SchedulerConfig, load_scenario,
};
use sim::{SimDuration, SimTime};

use super::schedule::REFERENCE_MODE;
use crate::{run, run_with_log};

fn run_quickstart(queue: &str, placement: &str, mean_s: &str, reference: bool) -> RunOutput {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/quickstart.ron");
    let ov = |s: &str| Override::parse(s).unwrap();
    let loaded = load_scenario(
        &file,
        &[
            ov(&format!("scheduler.queue={queue}")),
            ov(&format!("scheduler.placement={placement}")),
            ov(&format!(
                "workload.Synthetic.interarrival_s.Exponential.mean_s={mean_s}"
            )),
            ov("horizon_s=129600"),
        ],
        None,
    )
    .unwrap();
    REFERENCE_MODE.with(|c| c.set(reference));
    let mut out = run(&loaded, &mut |_| {}).expect("run");
    REFERENCE_MODE.with(|c| c.set(false));
    out.summary.wall_time_s = 0.0;
    out
}

/// The clean-state arrival shortcut and the site-counter rejection are exact: every queue × placement
/// gives the same run with and without them, at a load that keeps a long queue (mean interarrival 60 s,
/// offered load ≈ 2).
#[test]
fn shortcuts_change_nothing() {
    for queue in ["Fifo", "ShortestJobFirst", "EasyBackfill"] {
        for placement in ["FirstFit", "BestFit", "TopologyAware"] {
            for mean_s in ["60", "110"] {
                let fast = run_quickstart(queue, placement, mean_s, false);
                let reference = run_quickstart(queue, placement, mean_s, true);
                assert!(fast.summary.jobs.queued_at_end > 0 || mean_s == "110");
                assert_eq!(fast, reference, "{queue} {placement} {mean_s}");
                assert_eq!(
                    fast.summary.jobs.backfill_late_heads, 0,
                    "{queue} {placement}"
                );
            }
        }
    }
    let _ = PlacementPolicy::default();
}

/// A mixed site (8-GPU H100 and 4-GPU A100 servers with host CPU/memory, racks of different shapes) and
/// a random mix of whole-GPU, multi-server, shared-GPU, CPU-only and model-restricted jobs.
fn mixed_scenario(seed: u64) -> LoadedScenario {
    // One directory per call: tests build the same seeds at once.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-tmp")
        .join(format!("dc-mixed-{}-{seed}-{call}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("jobs.csv"), "submit_s,gpus,duration_s\n0,1,1\n").unwrap();
    let ron = format!(
        r#"Scenario(
    name: "mixed", seed: 1, horizon_s: 50000.0,
    catalog: "{root}/../scenarios/catalog/gpus.ron",
    site: Layout(
        server_templates: {{
            "h": ServerTemplate(gpu_model: "H100", gpus: 8, cpu_milli: 64000, memory_mib: 512000, host: HostPower(idle_w: 100.0, max_w: 300.0)),
            "a": ServerTemplate(gpu_model: "A100", gpus: 4, cpu_milli: 32000, memory_mib: 256000, host: HostPower(idle_w: 100.0, max_w: 300.0)),
        }},
        halls: [HallGroup(count: 2, rows: [
            RowGroup(count: 1, racks: [RackGroup(count: 2, servers: [ServerGroup(template: "h", count: 2), ServerGroup(template: "a", count: 1)])]),
            RowGroup(count: 1, racks: [RackGroup(count: 1, servers: [ServerGroup(template: "a", count: 3)])]),
        ])],
    ),
    workload: NativeTrace(path: "jobs.csv"),
    reporting: (interval_s: 100.0),
)"#,
        root = env!("CARGO_MANIFEST_DIR")
    );
    std::fs::write(dir.join("s.ron"), ron).unwrap();
    let mut loaded = load_scenario(&dir.join("s.ron"), &[], None).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let h100 = 1u64 << loaded.catalog.index_of("H100").unwrap();
    let a100 = 1u64 << loaded.catalog.index_of("A100").unwrap();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut jobs = Vec::new();
    let mut masks = Vec::new();
    let mut t = 0u64;
    for _ in 0..600 {
        t += rnd(if seed.is_multiple_of(2) { 40 } else { 200 });
        let submit = SimTime::from_secs(t);
        let duration = SimDuration::from_secs(10 + rnd(3000));
        let mut j = JobSpecLite::default();
        let mut mask = match rnd(4) {
            0 => h100,
            1 => a100,
            _ => placement::ANY_MODEL,
        };
        match rnd(10) {
            0..=3 => j.gpus = 1 + rnd(if mask == a100 { 4 } else { 8 }) as u32,
            4 | 5 => {
                mask = if rnd(2) == 0 {
                    h100
                } else {
                    placement::ANY_MODEL
                };
                j.gpus = 9 + rnd(20) as u32;
            }
            6 | 7 => {
                j.gpus = 1;
                j.milli = 100 + 100 * rnd(9) as u32;
                j.cpu = 1000 * rnd(20);
                j.mem = 1000 * rnd(100);
            }
            8 => {
                j.gpus = 1 + rnd(4) as u32;
                j.cpu = 4000 * rnd(8);
                mask = a100;
            }
            _ => {
                j.gpus = 0;
                j.cpu = 1000 + 1000 * rnd(30);
                j.mem = 1000 * rnd(100);
            }
        }
        let spec = models::workload::JobSpec {
            name: None,
            submit,
            duration,
            gpus: j.gpus,
            gpu_milli: if j.gpus == 0 { 0 } else { j.milli },
            cpu_milli: j.cpu,
            memory_mib: j.mem,
            gpu_models: Vec::new(),
            priority: 0,
        };
        SiteCapacity::new(&loaded.site)
            .check_fits(&spec, mask)
            .unwrap();
        jobs.push(spec);
        masks.push(mask);
    }
    loaded.trace_jobs = Some(jobs);
    loaded.trace_masks = masks;
    loaded
}

struct JobSpecLite {
    gpus: u32,
    milli: u32,
    cpu: u64,
    mem: u64,
}

impl Default for JobSpecLite {
    fn default() -> Self {
        JobSpecLite {
            gpus: 0,
            milli: 1000,
            cpu: 0,
            mem: 0,
        }
    }
}

/// On mixed sites and jobs, every queue × placement: the shortcuts change nothing, jobs are conserved,
/// FIFO starts jobs in submission order, and EASY never starts a head after its reservation.
#[test]
fn mixed_sites_and_jobs() {
    for seed in 1..=4 {
        for queue in [
            QueuePolicy::Fifo,
            QueuePolicy::ShortestJobFirst,
            QueuePolicy::EasyBackfill,
            QueuePolicy::Priority,
        ] {
            for placement in [
                PlacementPolicy::FirstFit,
                PlacementPolicy::BestFit,
                PlacementPolicy::TopologyAware,
            ] {
                let mut loaded = mixed_scenario(seed);
                loaded.scenario.scheduler = SchedulerConfig {
                    queue,
                    placement,
                    job_checkpoint_s: None,
                    job_restart_s: None,
                };
                let (mut fast, log) = run_with_log(&loaded, &mut |_| {}).expect("run");
                REFERENCE_MODE.with(|c| c.set(true));
                let (mut reference, ref_log) = run_with_log(&loaded, &mut |_| {}).expect("run");
                REFERENCE_MODE.with(|c| c.set(false));
                fast.summary.wall_time_s = 0.0;
                reference.summary.wall_time_s = 0.0;
                let what = format!("seed {seed} {queue:?} {placement:?}");
                assert_eq!(fast, reference, "{what}");
                assert_eq!(log, ref_log, "{what}");
                let j = &fast.summary.jobs;
                assert_eq!(j.submitted + j.not_arrived, 600, "{what}");
                assert_eq!(
                    j.completed + j.running_at_end + j.queued_at_end,
                    j.submitted,
                    "{what}"
                );
                assert!(j.wait_s.max > 0.0, "{what}: the mix should queue");
                assert_eq!(j.backfill_late_heads, 0, "{what}");
                if queue == QueuePolicy::Fifo {
                    let starts: Vec<SimTime> = log.iter().filter_map(|r| r.start).collect();
                    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{what}");
                    assert_eq!(j.backfilled, 0);
                }
                for r in &log {
                    let spec = &loaded.trace_jobs.as_ref().unwrap()[r.id as usize];
                    if let (Some(s), Some(f)) = (r.start, r.finish) {
                        assert_eq!(f, s + spec.duration);
                    }
                    if r.start.is_some() && !(spec.gpus > 8 && spec.gpu_milli == 1000) {
                        assert_eq!(r.servers.len(), 1, "{what}: single-server job {}", r.id);
                    }
                }
            }
        }
    }
}

/// The mixed site of [`mixed_scenario`] under EASY with every other job replaced: by a CPU-only job of 16 to
/// 64 cores (the servers hold 32 or 64) and up to 256 GB, or (`bare_shares`) by a job asking 300 to 900
/// thousandths of one GPU and no host resources; such heads wait and get reservations. Returns the run with
/// the shortcuts and the reference run (outputs and job logs).
type Logged = (RunOutput, Vec<super::JobRecord>);
fn cpu_heavy_runs(seed: u64, placement: PlacementPolicy, bare_shares: bool) -> (Logged, Logged) {
    let mut loaded = mixed_scenario(seed);
    for (i, j) in loaded.trace_jobs.as_mut().unwrap().iter_mut().enumerate() {
        if i % 2 == 0 && bare_shares {
            j.gpus = 1;
            j.gpu_milli = 300 + 100 * (i as u32 / 2 % 7);
            j.cpu_milli = 0;
            j.memory_mib = 0;
        } else if i % 2 == 0 {
            j.gpus = 0;
            j.gpu_milli = 0;
            j.cpu_milli = 16000 * (1 + i as u64 / 2 % 4);
            j.memory_mib = 64000 * (i as u64 / 2 % 5);
        }
    }
    loaded.scenario.scheduler = SchedulerConfig {
        queue: QueuePolicy::EasyBackfill,
        placement,
        job_checkpoint_s: None,
        job_restart_s: None,
    };
    let run = |reference: bool| {
        REFERENCE_MODE.with(|c| c.set(reference));
        let (mut out, log) = run_with_log(&loaded, &mut |_| {}).expect("run");
        REFERENCE_MODE.with(|c| c.set(false));
        out.summary.wall_time_s = 0.0;
        (out, log)
    };
    (run(false), run(true))
}

/// EASY with CPU-only heads, and shared-GPU heads without host resources, that block (their reservations
/// from the host trees or the free-capacity index and the one-GPU free-time trees, or from the scan in the
/// reference run; test builds also check every such reservation against the scan's): the same run either way,
/// for every placement.
#[test]
fn easy_cpu_only_and_share_heads() {
    for bare_shares in [false, true] {
        for seed in 1..=4 {
            for placement in [
                PlacementPolicy::FirstFit,
                PlacementPolicy::BestFit,
                PlacementPolicy::TopologyAware,
            ] {
                let ((fast, log), (reference, ref_log)) =
                    cpu_heavy_runs(seed, placement, bare_shares);
                let what = format!("seed {seed} {placement:?} bare shares {bare_shares}");
                assert_eq!(fast, reference, "{what}");
                assert_eq!(log, ref_log, "{what}");
                assert!(
                    fast.summary.jobs.backfilled > 0,
                    "{what}: the mix should backfill"
                );
                assert_eq!(fast.summary.jobs.backfill_late_heads, 0, "{what}");
            }
        }
    }
}

/// The two runs that showed the clean-state arrival shortcut deciding otherwise than a full pass (found by
/// [`easy_cpu_only_and_share_heads`]): a pass refused a job (best fit put it on GPUs the head's site
/// reservation counts on), then backfilled a later one; the next full pass placed the refused job elsewhere and
/// started it, where the shortcut, trusting the refusal, did not. A pass or a shortcut that backfills now leaves
/// the state unclean, so the next arrival takes a full pass.
#[test]
fn easy_arrival_after_a_backfill_takes_a_full_pass() {
    for (seed, placement, bare_shares) in [
        (2, PlacementPolicy::BestFit, false),
        (4, PlacementPolicy::FirstFit, true),
    ] {
        let ((fast, log), (reference, ref_log)) = cpu_heavy_runs(seed, placement, bare_shares);
        let what = format!("seed {seed} {placement:?} bare shares {bare_shares}");
        assert_eq!(fast, reference, "{what}");
        assert_eq!(log, ref_log, "{what}");
    }
}
