//! Queue and placement policies (docs/models.md §Scheduling policies): hand-worked cases with exact start
//! times and servers, the fragmentation report, conservation for every policy pair, and validation.
use output::RunOutput;
use scenario::{Override, load_scenario};
use twin::{JobRecord, run_with_log};

use crate::common::{catalog, root, temp_dir, write};

/// A site of `halls` × `rows` × `racks` × `servers` H100 servers of `gpus` GPUs (plus, if `a100_servers` > 0,
/// a last rack of that many 4-GPU A100 servers), a native trace, and a scheduler.
struct Case<'a> {
    tag: &'a str,
    rows: u32,
    racks: u32,
    servers: u32,
    a100_servers: u32,
    queue: &'a str,
    placement: &'a str,
    trace: &'a str,
    horizon_s: f64,
}

impl Case<'_> {
    fn new<'a>(tag: &'a str, trace: &'a str) -> Case<'a> {
        Case {
            tag,
            rows: 1,
            racks: 1,
            servers: 1,
            a100_servers: 0,
            queue: "Fifo",
            placement: "FirstFit",
            trace,
            horizon_s: 5000.0,
        }
    }

    fn run(&self) -> (RunOutput, Vec<JobRecord>) {
        let dir = temp_dir(&format!(
            "sched-{}-{}-{}",
            self.tag, self.queue, self.placement
        ));
        let trace = write(&dir, "jobs.csv", self.trace);
        let a100 = if self.a100_servers > 0 {
            format!(
                ", RackGroup(count: 1, servers: [ServerGroup(template: \"a\", count: {})])",
                self.a100_servers
            )
        } else {
            String::new()
        };
        let scenario = format!(
            r#"Scenario(
    name: "sched",
    seed: 1,
    horizon_s: {horizon:?},
    catalog: "{cat}",
    site: Layout(
        server_templates: {{
            "h": ServerTemplate(gpu_model: "H100", gpus: 8, host: HostPower(idle_w: 0.0, max_w: 0.0)),
            "a": ServerTemplate(gpu_model: "A100", gpus: 4, host: HostPower(idle_w: 0.0, max_w: 0.0)),
        }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: {rows}, racks: [RackGroup(count: {racks}, servers: [ServerGroup(template: "h", count: {servers})]){a100}])])],
    ),
    workload: NativeTrace(path: "{trace}"),
    scheduler: (queue: {queue}, placement: {placement}),
    reporting: (interval_s: 60.0),
)
"#,
            horizon = self.horizon_s,
            cat = catalog(),
            rows = self.rows,
            racks = self.racks,
            servers = self.servers,
            trace = trace.display(),
            queue = self.queue,
            placement = self.placement,
        );
        let s = write(&dir, "s.ron", &scenario);
        let loaded = load_scenario(&s, &[], None).unwrap();
        run_with_log(&loaded, &mut |_| {}).expect("run")
    }
}

fn starts(log: &[JobRecord]) -> Vec<f64> {
    log.iter()
        .map(|r| r.start.expect("every job starts").as_secs_f64())
        .collect()
}

/// One 8-GPU server. J0 holds it until 100 s; J1 (4 GPUs, 1000 s), J2 (8 GPUs, 10 s), J3 (2 GPUs, 10 s) and
/// J4 (4 GPUs, 50 s) wait for it.
const THREE_WAYS: &str = "submit_s,gpus,duration_s\n0,8,100\n1,4,1000\n2,8,10\n3,2,10\n4,4,50\n";

#[test]
fn fifo_sjf_and_easy_start_jobs_at_different_exact_times() {
    let mut case = Case::new("three", THREE_WAYS);
    // FIFO: J1 at 100; J2 (8 GPUs) blocks everyone until J1 ends at 1100; J3 and J4 start when J2 ends.
    let (out, log) = case.run();
    assert_eq!(starts(&log), [0.0, 100.0, 1100.0, 1110.0, 1110.0]);
    assert_eq!(out.summary.jobs.backfilled, 0);
    // SJF (shortest recorded duration that fits, ties by submission): at 100 J2 (10 s) takes the server;
    // at 110 J3 (10 s) and J4 (50 s); at 120, when J3 ends, J1 (1000 s) finally fits.
    case.queue = "ShortestJobFirst";
    let (_, log) = case.run();
    assert_eq!(starts(&log), [0.0, 120.0, 100.0, 110.0, 110.0]);
    // EASY: J1 (head) starts at 100; J2 becomes the head and is reserved the server at 1100 (when J1 ends);
    // J3 (done by 110) and J4 (done by 160) finish before the reservation and are backfilled.
    case.queue = "EasyBackfill";
    let (out, log) = case.run();
    assert_eq!(starts(&log), [0.0, 100.0, 1100.0, 100.0, 110.0]);
    assert_eq!(out.summary.jobs.backfilled, 2);
    assert_eq!(out.summary.jobs.backfill_late_heads, 0);
    for r in &log {
        assert!(r.finish.is_some());
    }
}

#[test]
fn easy_backfills_into_extra_gpus_but_not_beyond() {
    // Three 8-GPU servers. J0 (12 GPUs) runs until 100 s on servers 0 and 1. J1 (20 GPUs) is the head: it
    // gets its GPUs at 100 s, when 24 are free — 4 more than it needs. J2 (4 GPUs, 1000 s) runs past 100 s
    // but fits in those 4 extra GPUs; J3 (2 GPUs, 1000 s) would take GPUs the head needs; J4 (2 GPUs, 50 s)
    // is done before 100 s.
    let trace = "submit_s,gpus,duration_s\n0,12,100\n1,20,50\n2,4,1000\n3,2,1000\n4,2,50\n";
    let mut case = Case::new("extra", trace);
    case.servers = 3;
    case.queue = "EasyBackfill";
    let (out, log) = case.run();
    assert_eq!(starts(&log), [0.0, 100.0, 2.0, 150.0, 4.0]);
    assert_eq!(log[2].servers, [1]); // the free half of server 1
    assert_eq!(out.summary.jobs.backfilled, 2);
    assert_eq!(out.summary.jobs.backfill_late_heads, 0);
    case.queue = "Fifo";
    let (_, log) = case.run();
    assert_eq!(starts(&log), [0.0, 100.0, 100.0, 150.0, 150.0]);
}

#[test]
fn best_fit_and_first_fit_choose_different_servers() {
    // Two 8-GPU servers. A (2 GPUs) → server 0 under both; B (7) → server 1 (server 0 has 6 free).
    // C (1 GPU): first fit takes server 0 (the first with room); best fit takes server 1, leaving 0 free GPUs
    // there. D (6 GPUs) then fits on server 0 under best fit at once, but under first fit waits for A.
    let trace = "submit_s,gpus,duration_s\n0,2,1000\n0,7,1000\n1,1,1000\n2,6,100\n";
    let mut case = Case::new("bestfit", trace);
    case.servers = 2;
    let (_, ff) = case.run();
    case.placement = "BestFit";
    let (_, bf) = case.run();
    let servers = |log: &[JobRecord]| log.iter().map(|r| r.servers.clone()).collect::<Vec<_>>();
    assert_eq!(servers(&ff), [vec![0], vec![1], vec![0], vec![0]]);
    assert_eq!(servers(&bf), [vec![0], vec![1], vec![1], vec![0]]);
    assert_eq!(starts(&ff), [0.0, 0.0, 1.0, 1000.0]);
    assert_eq!(starts(&bf), [0.0, 0.0, 1.0, 2.0]);
}

#[test]
fn multi_server_jobs_take_servers_by_policy() {
    // One rack of four 8-GPU servers. X (8 GPUs, 1 s) passes through server 0; Y (6) and Z (3) land on servers
    // 1 and 2 under every policy, leaving 8, 2, 5 and 8 GPUs free when the 9-GPU job J arrives at 2 s.
    let trace = "submit_s,gpus,duration_s\n0,8,1\n0,6,1000\n0,3,1000\n2,9,100\n";
    let mut case = Case::new("multi", trace);
    case.servers = 4;
    let expect = [
        // First fit: site order — all of server 0, one GPU of server 1.
        ("FirstFit", vec![0, 1]),
        // Best fit: fullest first — server 1 (2 free), server 2 (5), then 2 GPUs of server 0.
        ("BestFit", vec![0, 1, 2]),
        // Topology-aware: fewest servers — the emptiest first: server 0 (8), then server 3.
        ("TopologyAware", vec![0, 3]),
    ];
    for (placement, servers) in expect {
        case.placement = placement;
        let (_, log) = case.run();
        assert_eq!(log[1].servers, [1], "{placement}");
        assert_eq!(log[2].servers, [2], "{placement}");
        assert_eq!(log[3].servers, servers, "{placement}");
        assert_eq!(log[3].start.unwrap().as_secs_f64(), 2.0, "{placement}");
    }
}

#[test]
fn topology_aware_keeps_a_16_gpu_job_inside_one_rack() {
    // Two racks of two 8-GPU servers. J0 (4 GPUs) sits on server 0. J1 (16 GPUs): first fit takes the
    // 4 free GPUs of server 0, server 1 and half of server 2 — two racks; topology-aware finds rack 1 whole.
    let trace = "submit_s,gpus,duration_s\n0,4,1000\n1,16,100\n";
    let mut case = Case::new("topo-rack", trace);
    case.racks = 2;
    case.servers = 2;
    let (_, ff) = case.run();
    assert_eq!(ff[1].servers, [0, 1, 2]);
    case.placement = "TopologyAware";
    let (_, topo) = case.run();
    assert_eq!(topo[0].servers, [0]);
    assert_eq!(topo[1].servers, [2, 3]);
    assert_eq!(starts(&topo), [0.0, 1.0]);
}

#[test]
fn topology_aware_falls_back_to_one_row() {
    // Two rows of two racks of two 8-GPU servers (servers 0–3 in row 0, 4–7 in row 1). J0 (16 GPUs) fills
    // rack 0. J1 (24 GPUs) fits in no rack (16 GPUs each): row 0 has 16 free, row 1 has 32 → servers 4, 5, 6.
    // First fit takes servers 2, 3 and 4, spanning both rows.
    let trace = "submit_s,gpus,duration_s\n0,16,1000\n1,24,100\n";
    let mut case = Case::new("topo-row", trace);
    case.rows = 2;
    case.racks = 2;
    case.servers = 2;
    let (_, ff) = case.run();
    assert_eq!(ff[0].servers, [0, 1]);
    assert_eq!(ff[1].servers, [2, 3, 4]);
    case.placement = "TopologyAware";
    let (_, topo) = case.run();
    assert_eq!(topo[0].servers, [0, 1]);
    assert_eq!(topo[1].servers, [4, 5, 6]);
}

#[test]
fn single_server_jobs_never_span_servers_under_any_policy() {
    // Two 8-GPU servers. J0 (3 GPUs) goes to server 0 and J1 (6) to server 1 under every placement, leaving
    // 5 + 2 free. A 6-GPU job fits in one server, so it may not take those 7: it waits for server 0 (1000 s).
    let trace = "submit_s,gpus,duration_s\n0,3,1000\n0,6,2000\n1,6,100\n";
    for placement in ["FirstFit", "BestFit", "TopologyAware"] {
        let mut case = Case::new("scaleup", trace);
        case.servers = 2;
        case.placement = placement;
        let (out, log) = case.run();
        assert_eq!(log[1].servers, [1], "{placement}");
        assert_eq!(log[2].start.unwrap().as_secs_f64(), 1000.0, "{placement}");
        assert_eq!(log[2].servers, [0], "{placement}");
        assert_eq!(out.summary.jobs.completed, 3);
    }
}

#[test]
fn fragmentation_counts_free_gpus_the_head_cannot_use() {
    // Two 8-GPU servers; two 5-GPU jobs leave 3 + 3 GPUs free until 1000 s. A 4-GPU job (submitted at 1 s)
    // cannot use them: samples every 60 s from 60 to 960 s (16 of the 21 samples in [0, 1200]) see 6 GPUs
    // free but unusable for the head; at 0 s the queue is empty and from 1000 s the head has run.
    let trace = "submit_s,gpus,duration_s\n0,5,1000\n0,5,1000\n1,4,100\n";
    let mut case = Case::new("frag", trace);
    case.servers = 2;
    case.horizon_s = 1200.0;
    let (out, log) = case.run();
    assert_eq!(log[2].start.unwrap().as_secs_f64(), 1000.0);
    assert_eq!(out.timeseries.len(), 21);
    assert_eq!(out.summary.jobs.fragmented_gpus_max, 6.0);
    assert_eq!(out.summary.jobs.fragmented_gpus_mean, 16.0 * 6.0 / 21.0);
    // The same free GPUs with a head that fits (a 3-GPU job) count nothing: it starts at once.
    let trace = "submit_s,gpus,duration_s\n0,5,1000\n0,5,1000\n1,3,100\n";
    let mut case = Case::new("frag-fits", trace);
    case.servers = 2;
    case.horizon_s = 1200.0;
    let (out, log) = case.run();
    assert_eq!(log[2].start.unwrap().as_secs_f64(), 1.0);
    assert_eq!(out.summary.jobs.fragmented_gpus_max, 0.0);
    assert_eq!(out.summary.jobs.fragmented_gpus_mean, 0.0);
}

#[test]
fn fragmentation_counts_only_the_models_the_head_may_use() {
    // One 8-GPU H100 server and two 4-GPU A100 servers. A 6-GPU H100 job runs until 1000 s; an 8-GPU
    // H100-only job waits. The 8 idle A100 GPUs are not its to use: 2 fragmented (H100) GPUs per sample.
    let trace = "submit_s,gpus,duration_s,gpu_model\n0,6,1000,H100\n1,8,100,H100\n";
    let mut case = Case::new("frag-model", trace);
    case.a100_servers = 2;
    case.horizon_s = 1200.0;
    let (out, _) = case.run();
    assert_eq!(out.summary.jobs.fragmented_gpus_max, 2.0);
    assert_eq!(out.summary.jobs.fragmented_gpus_mean, 16.0 * 2.0 / 21.0);
}

fn quickstart(overrides: &[String]) -> RunOutput {
    let ov: Vec<Override> = overrides
        .iter()
        .map(|s| Override::parse(s).unwrap())
        .collect();
    let loaded = load_scenario(&root().join("scenarios/quickstart.ron"), &ov, None).unwrap();
    twin::run(&loaded, &mut |_| {}).expect("run")
}

#[test]
fn every_queue_and_placement_conserves_jobs_on_the_quickstart() {
    for queue in ["Fifo", "ShortestJobFirst", "EasyBackfill"] {
        for placement in ["FirstFit", "BestFit", "TopologyAware"] {
            // The shipped load, and an overload (mean interarrival 60 s, ~2× capacity) that ends with a queue.
            for mean_s in ["120", "60"] {
                let out = quickstart(&[
                    format!("scheduler.queue={queue}"),
                    format!("scheduler.placement={placement}"),
                    format!("workload.Synthetic.interarrival_s.Exponential.mean_s={mean_s}"),
                ]);
                let j = &out.summary.jobs;
                let what = format!("{queue} {placement} {mean_s}");
                assert!(j.submitted > 4000, "{what}");
                assert_eq!(
                    j.completed + j.running_at_end + j.queued_at_end,
                    j.submitted,
                    "{what}"
                );
                assert_eq!(j.wait_s.count, j.completed + j.running_at_end, "{what}");
                assert_eq!(j.backfill_late_heads, 0, "{what}");
                if mean_s == "60" {
                    assert!(j.queued_at_end > 0, "{what}");
                    assert!(j.fragmented_gpus_mean > 0.0, "{what}");
                }
                if queue != "EasyBackfill" {
                    assert_eq!(j.backfilled, 0, "{what}");
                }
                let last = out.timeseries.last().unwrap();
                assert_eq!(last.queued_jobs, j.queued_at_end, "{what}");
                assert_eq!(last.running_jobs, j.running_at_end, "{what}");
            }
        }
    }
}

#[test]
fn default_scheduler_is_fifo_first_fit_and_unchanged() {
    let explicit = quickstart(&[
        "scheduler.queue=Fifo".into(),
        "scheduler.placement=FirstFit".into(),
    ]);
    let mut default = quickstart(&[]);
    default.summary.wall_time_s = explicit.summary.wall_time_s;
    assert_eq!(default, explicit);
    // The quickstart's job figures before SJF/EASY/best-fit/topology-aware existed (commit a3d2b04).
    let j = &default.summary.jobs;
    assert_eq!(
        (j.submitted, j.completed, j.running_at_end, j.queued_at_end),
        (5031, 4946, 85, 0)
    );
    assert_eq!(j.wait_s.mean, 77.52994541954101);
    assert_eq!(j.wait_s.p99, 2365.24251403);
    assert_eq!(j.wait_s.max, 3975.349165869);
    assert_eq!(default.summary.events_processed, 9977);
}

#[test]
fn scheduler_config_is_validated() {
    let dir = temp_dir("sched-bad");
    let base = std::fs::read_to_string(root().join("scenarios/quickstart.ron"))
        .unwrap()
        .replace("\"catalog/gpus.ron\"", &format!("{:?}", catalog()));
    let bad = |tag: &str, text: String| {
        let p = write(&dir, &format!("{tag}.ron"), &text);
        load_scenario(&p, &[], None).unwrap_err().to_string()
    };
    let e = bad(
        "variant",
        base.replace("queue: Fifo", "queue: LongestJobFirst"),
    );
    assert!(e.contains("LongestJobFirst") && e.contains(":"), "{e}");
    let e = bad(
        "field",
        base.replace(
            "placement: FirstFit)",
            "placement: FirstFit, preempt: true)",
        ),
    );
    assert!(e.contains("preempt"), "{e}");
    // Fields may be left out: each takes its default.
    let p = write(
        &dir,
        "partial.ron",
        &base.replace(
            "scheduler: (queue: Fifo, placement: FirstFit)",
            "scheduler: (queue: EasyBackfill)",
        ),
    );
    let loaded = load_scenario(&p, &[], None).unwrap();
    assert_eq!(
        loaded.scenario.scheduler.placement,
        scenario::PlacementPolicy::FirstFit
    );
    // Inference workloads are not placed by the job scheduler: a non-default choice is an error.
    let inference = root().join("scenarios/inference-day.ron");
    let e = load_scenario(
        &inference,
        &[Override::parse("scheduler.queue=ShortestJobFirst").unwrap()],
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("scheduler") && e.contains("Inference"), "{e}");
}

/// Trace durations recorded on one GPU model are rescaled to the model a job runs on:
/// `T' = T · (f · F_rec/F_run + (1 − f) · B_rec/B_run)` (docs/models.md §Traces).
#[test]
fn trace_durations_rescale_by_gpu_speed() {
    use crate::common::{one_server_scenario, temp_dir, write};
    let dir = temp_dir("rescale");
    let trace = write(&dir, "t.csv", "submit_s,gpus,duration_s\n0,8,1000\n");
    let base = one_server_scenario(8, 1200.0, 3400.0, 0.95, &trace, 7200.0);
    let run = |tag: &str, rescale: &str| {
        let text = base.replace(
            &format!("NativeTrace(path: \"{}\")", trace.display()),
            &format!("NativeTrace(path: \"{}\"{rescale})", trace.display()),
        );
        assert!(
            rescale.is_empty() || text != base,
            "{tag}: the workload line was not found"
        );
        let path = write(&dir, &format!("{tag}.ron"), &text);
        let loaded = scenario::load_scenario(&path, &[], None).unwrap();
        let (_, log) = twin::run_with_log(&loaded, &mut |_| {}).expect("run");
        let j = &log[0];
        (j.finish.unwrap() - j.start.unwrap()).as_secs_f64()
    };
    // A100 → H100: peak 312 → 989 TFLOP/s, memory 2.0 → 3.35 TB/s (shipped catalog).
    let compute = run("compute", ", rescale: (recorded_on: \"A100\")");
    assert!((compute - 1000.0 * 312.0 / 989.0).abs() < 1e-6, "{compute}");
    let mixed = run(
        "mixed",
        ", rescale: (recorded_on: \"A100\", compute_fraction: 0.5)",
    );
    let expected = 1000.0 * (0.5 * 312.0 / 989.0 + 0.5 * 2.0 / 3.35);
    assert!((mixed - expected).abs() < 1e-6, "{mixed} vs {expected}");
    let same = run("same", ", rescale: (recorded_on: \"H100\")");
    assert_eq!(same, 1000.0);
    let none = run("none", "");
    assert_eq!(none, 1000.0);
}

/// `Priority` queue: a higher-priority job preempts a lower one, which keeps its checkpointed work and resumes;
/// equal priorities never preempt; a multi-server head preempts the lowest priority first.
#[test]
fn priority_queue_preempts_lower_priority_jobs() {
    use crate::common::{one_server_scenario, temp_dir, write};
    let dir = temp_dir("priority");
    let run = |tag: &str, csv: &str, servers: u32| {
        let trace = write(&dir, &format!("{tag}.csv"), csv);
        let text = one_server_scenario(8, 1200.0, 3400.0, 0.95, &trace, 7200.0)
            .replace(
                "reporting:",
                "scheduler: (queue: Priority, job_checkpoint_s: 60.0),\n    reporting:",
            )
            .replace("count: 1)])", &format!("count: {servers})])"));
        let path = write(&dir, &format!("{tag}.ron"), &text);
        let loaded = scenario::load_scenario(&path, &[], None).unwrap();
        let (out, log) = twin::run_with_log(&loaded, &mut |_| {}).expect("run");
        let times: Vec<(f64, f64)> = log
            .iter()
            .map(|j| {
                (
                    j.start.unwrap().as_secs_f64(),
                    j.finish.unwrap().as_secs_f64(),
                )
            })
            .collect();
        (out.summary.jobs, times)
    };
    // A (priority 0) runs 1000 s from 0; B (priority 5) arrives at 100 and takes the server: A keeps
    // ⌊100/60⌋·60 = 60 s of work, loses 40 s, and resumes at 300 with 940 s to go.
    let (jobs, t) = run(
        "preempt",
        "submit_s,gpus,duration_s,priority\n0,8,1000,0\n100,8,200,5\n",
        1,
    );
    assert_eq!(t, vec![(0.0, 1240.0), (100.0, 300.0)]);
    assert_eq!((jobs.preemptions, jobs.completed), (1, 2));
    assert!((jobs.lost_gpu_h - 40.0 * 8.0 / 3600.0).abs() < 1e-12);
    // Equal priority: B waits.
    let (jobs, t) = run(
        "equal",
        "submit_s,gpus,duration_s,priority\n0,8,1000,3\n100,8,200,3\n",
        1,
    );
    assert_eq!(t, vec![(0.0, 1000.0), (1000.0, 1200.0)]);
    assert_eq!(jobs.preemptions, 0);
    // Two servers: C (priority 2) and D (priority 1) hold one each; F (priority 9, 16 GPUs) arrives at 130.
    let (jobs, t) = run(
        "multi",
        "submit_s,gpus,duration_s,priority\n0,8,3000,2\n0,8,3000,1\n130,16,100,9\n",
        2,
    );
    // F needs both servers: D (priority 1) then C (priority 2) are preempted at 130; each kept 120 s.
    assert_eq!(jobs.preemptions, 2);
    assert_eq!(t[2], (130.0, 230.0));
    assert_eq!(t[0], (0.0, 230.0 + 2880.0));
    assert_eq!(t[1], (0.0, 230.0 + 2880.0));
}

/// Property: under the `Priority` queue with random priorities, sizes and checkpoints, no job is lost or counted
/// twice, and every completed job held its GPUs for exactly its duration plus the work it lost.
#[test]
fn priority_preemption_conserves_jobs_and_work() {
    use crate::common::{one_server_scenario, temp_dir, write};
    let dir = temp_dir("priority-prop");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let (mut preempted, mut exact) = (0, 0);
    for case in 0..12 {
        let mut csv = String::from("submit_s,gpus,duration_s,priority\n");
        let mut t = 0;
        for _ in 0..60 {
            t += next(300);
            let gpus = [1, 2, 4, 8, 16][next(5) as usize];
            csv += &format!("{t},{gpus},{},{}\n", 60 + next(3000), next(4));
        }
        let trace = write(&dir, &format!("c{case}.csv"), &csv);
        let text = one_server_scenario(8, 1200.0, 3400.0, 0.95, &trace, 20_000.0)
            .replace(
                "reporting:",
                &format!(
                    "scheduler: (queue: Priority, placement: {}, job_checkpoint_s: {}.0),\n    reporting:",
                    ["FirstFit", "BestFit", "TopologyAware"][case % 3],
                    100 + next(900)
                ),
            )
            .replace("count: 1)])", "count: 4)])");
        let path = write(&dir, &format!("c{case}.ron"), &text);
        let loaded = scenario::load_scenario(&path, &[], None).unwrap();
        let (out, log) = twin::run_with_log(&loaded, &mut |_| {}).expect("run");
        let j = &out.summary.jobs;
        assert_eq!(j.submitted, 60, "case {case}");
        assert_eq!(
            j.submitted,
            j.completed + j.running_at_end + j.queued_at_end,
            "case {case}: {j:?}"
        );
        assert_eq!(
            log.iter().filter(|r| r.finish.is_some()).count() as u64,
            j.completed
        );
        // GPU-time of completed jobs = Σ gpus · duration + lost work of those jobs (all jobs: running ones
        // may still be charged; check the busy integral is at least the completed work).
        let jobs = scenario::trace::read_native(&trace).unwrap();
        let done_gpu_h: f64 = log
            .iter()
            .zip(&jobs)
            .filter(|(r, _)| r.finish.is_some())
            .map(|(_, s)| s.gpus as f64 * s.duration.as_secs_f64() / 3600.0)
            .sum();
        assert!(
            out.summary.gpu_hours.busy + 1e-9 >= done_gpu_h + 0.0,
            "case {case}: busy {} < completed work {done_gpu_h}",
            out.summary.gpu_hours.busy
        );
        preempted += j.preemptions;
        if j.queued_at_end == 0 && j.running_at_end == 0 {
            exact += 1;
            let expect = done_gpu_h + j.lost_gpu_h;
            assert!(
                (out.summary.gpu_hours.busy - expect).abs() < 1e-6 * expect,
                "case {case}: busy {} ≠ work {done_gpu_h} + lost {}",
                out.summary.gpu_hours.busy,
                j.lost_gpu_h
            );
        }
    }
    assert!(
        preempted > 0 && exact > 0,
        "{preempted} preemptions, {exact} fully drained cases"
    );
}

/// Bad preemption, rescaling and priority input gets a clear error naming the field or cell, never a default.
#[test]
fn bad_priority_rescale_and_checkpoint_input_is_rejected() {
    use crate::common::{one_server_scenario, temp_dir, write};
    let dir = temp_dir("bad-priority");
    let trace = write(
        &dir,
        "t.csv",
        "submit_s,gpus,duration_s,priority\n0,8,100,300\n",
    );
    let base = one_server_scenario(8, 1200.0, 3400.0, 0.95, &trace, 3600.0);
    let err = |tag: &str, text: String| {
        let path = write(&dir, &format!("{tag}.ron"), &text);
        scenario::load_scenario(&path, &[], None)
            .expect_err(tag)
            .to_string()
    };
    let e = err("priority", base.clone());
    assert!(e.contains("priority") && e.contains("300"), "{e}");
    let ok_trace = write(&dir, "ok.csv", "submit_s,gpus,duration_s\n0,8,100\n");
    let base = one_server_scenario(8, 1200.0, 3400.0, 0.95, &ok_trace, 3600.0);
    let e = err(
        "rescale",
        base.replace(".csv\")", ".csv\", rescale: (recorded_on: \"Z9000\"))"),
    );
    assert!(
        e.contains("workload.rescale.recorded_on") && e.contains("Z9000"),
        "{e}"
    );
    let e = err(
        "fraction",
        base.replace(
            ".csv\")",
            ".csv\", rescale: (recorded_on: \"A100\", compute_fraction: 1.5))",
        ),
    );
    assert!(e.contains("compute_fraction"), "{e}");
    let e = err(
        "checkpoint",
        base.replace(
            "reporting:",
            "scheduler: (job_checkpoint_s: -5.0),\n    reporting:",
        ),
    );
    assert!(e.contains("scheduler.job_checkpoint_s"), "{e}");
}
