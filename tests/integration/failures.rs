//! Hardware failures against closed forms: failure counts are rate × exposure within Poisson bounds; one
//! training job's mean completion time under exponential failures matches Daly's expected-completion formula
//! within the 95% interval over seeds, and the best checkpoint interval of a sweep is Daly's within one step;
//! GPU time and jobs are conserved across failures, restarts and repairs; failure domains follow the site.
use std::path::{Path, PathBuf};

use crate::common::{catalog, temp_dir, write};

/// A training scenario: `servers` 8-GPU H100 servers in racks of `per_rack`, one job on `job_servers` of them
/// with `steps` steps of a small model, the given checkpoint and failures sections.
fn scenario(
    dir: &Path,
    name: &str,
    (servers, per_rack, job_servers): (u32, u32, u32),
    steps: u64,
    checkpoint: &str,
    failures: &str,
    horizon_s: f64,
) -> PathBuf {
    assert_eq!(servers % per_rack, 0);
    let text = format!(
        r#"Scenario(
    name: "{name}",
    seed: 1,
    horizon_s: {horizon_s:.1},
    catalog: "{cat}",
    site: Layout(
        server_templates: {{
            "hgx": ServerTemplate(gpu_model: "H100", gpus: 8,
                host: HostPower(idle_w: 1000.0, max_w: 3000.0, psu_efficiency: 0.95)),
        }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [
            RackGroup(count: {racks}, servers: [ServerGroup(template: "hgx", count: {per_rack})]),
        ])])],
    ),
    workload: Training(jobs: [
        TrainingJob(
            name: "job",
            submit_s: 0.0,
            gpu_model: "H100",
            plan: TrainingPlan(
                model: TransformerModel(params: 1.0e9, layers: 16, hidden: 2048, seq_len: 2048),
                parallelism: Parallelism(tp: 8, pp: 1, dp: {job_servers}, micro_batches: 1),
                global_batch_tokens: {batch},
                budget: Steps({steps}),
                {checkpoint}
            ),
        ),
    ]),
    reporting: (interval_s: 3600.0),
    failures: {failures},
)
"#,
        cat = catalog(),
        racks = servers / per_rack,
        batch = 2048 * job_servers as u64 * 64,
    );
    write(dir, &format!("{name}.ron"), &text)
}

fn load(path: &Path, seed: u64, overrides: &[(&str, String)]) -> scenario::LoadedScenario {
    let ov: Vec<scenario::Override> = overrides
        .iter()
        .map(|(p, v)| scenario::Override {
            path: p.to_string(),
            value: v.clone(),
        })
        .collect();
    scenario::load_scenario(path, &ov, Some(seed)).unwrap_or_else(|e| panic!("{e}"))
}

fn run(loaded: &scenario::LoadedScenario) -> output::RunOutput {
    twin::run(loaded, &mut |_| {}).expect("run")
}

#[test]
fn failure_counts_are_rate_times_exposure() {
    let dir = temp_dir("failures-poisson");
    // 32 servers in 4 racks; GPUs, hosts and PDUs fail; a crew limit makes repairs queue.
    let path = scenario(
        &dir,
        "poisson",
        (32, 8, 4),
        1_000_000,
        "",
        "(classes: [
            (component: Gpu, lifetime: Exponential(mtbf_h: 400.0), repair: LogNormal(median_h: 12.0, sigma: 1.0)),
            (component: Host, lifetime: Exponential(mtbf_h: 150.0), repair: Exponential(mean_h: 6.0)),
            (component: Pdu, lifetime: Afr(afr: 0.999), repair: Fixed(hours: 4.0)),
        ], repair_crews: Some(3))",
        30.0 * 86_400.0,
    );
    let (mut total, mut expected) = (0.0, 0.0);
    for seed in 1..=12 {
        let out = run(&load(&path, seed, &[]));
        let f = out.summary.failures.as_ref().expect("failures section");
        assert_eq!(f.classes.len(), 3);
        let mut sum = 0;
        for c in &f.classes {
            let mean = c.exposure_unit_h / c.mtbf_h;
            let n = c.failures as f64;
            let bound = 5.0 * mean.sqrt() + 3.0;
            assert!(
                (n - mean).abs() <= bound,
                "seed {seed} {}: {n} failures, rate × exposure {mean:.1}",
                c.component
            );
            total += n;
            expected += mean;
            sum += c.failures;
            // Exposure never exceeds units × horizon.
            assert!(c.exposure_unit_h <= c.units as f64 * 720.0 + 1e-6);
        }
        assert_eq!(sum, f.failures);
        assert_eq!(
            f.repairs.completed + f.repairs.open_at_end,
            f.failures,
            "every failure is repaired or still open"
        );
        assert!(f.repairs.queue_max >= 1);
        // Down servers are not busy: busy + down GPU-hours fit in the site's.
        let gh = &out.summary.gpu_hours;
        assert!(
            gh.busy + f.gpu_down_h <= gh.available + 1e-6,
            "{gh:?} {f:?}"
        );
    }
    // All classes over all seeds: within 3σ of a Poisson count.
    assert!(
        (total - expected).abs() <= 3.0 * expected.sqrt(),
        "{total} failures, {expected:.1} expected"
    );
}

/// `M·e^(R/M)·(e^(x/M) − 1)`: the expected time to run a segment of `x` s to its end when failures come at
/// rate 1/M and each costs a restart `R` (Daly 2006).
fn segment_s(x: f64, r: f64, m: f64) -> f64 {
    m * (r / m).exp() * ((x / m).exp() - 1.0)
}

/// Mean and 95% half-width of `xs`.
fn mean_ci(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, 1.96 * (var / n).sqrt())
}

/// One job on 4 servers whose hosts fail with MTBF 4 h (the job's M = 1 h); a spare replaces a failed server
/// at once, so the job always restarts at once on 4 servers.
fn daly_scenario(dir: &Path) -> PathBuf {
    scenario(
        dir,
        "daly",
        (4, 4, 4),
        40_000,
        "checkpoint: Checkpoint(every_s: 1200.0, write_s: 60.0, restart_s: 300.0),",
        "(classes: [(component: Host, lifetime: Exponential(mtbf_h: 4.0), repair: Fixed(hours: 2.0))],
          spares: (servers: 100000, swap_s: 0.0))",
        100.0 * 86_400.0,
    )
}

/// Completion times of the job over `seeds`, and its expected completion time by Daly's formula.
fn completions(path: &Path, every_s: f64, seeds: std::ops::Range<u64>) -> (Vec<f64>, f64) {
    let ov = [(
        "workload.Training.jobs.0.plan.checkpoint.every_s",
        format!("{every_s}"),
    )];
    let loaded = load(path, 1, &ov);
    let est = loaded.training.as_ref().unwrap()[0].estimate;
    let c = loaded.training.as_ref().unwrap()[0]
        .checkpoint
        .clone()
        .unwrap();
    let m = 3600.0;
    let period = c.every_s + c.write_s();
    let n = est.checkpoints as f64;
    let tail = est.time_to_finish_s - n * period;
    let expected = n * segment_s(period, c.restart_s, m) + segment_s(tail, c.restart_s, m);
    let times = seeds
        .map(|seed| {
            let out = run(&load(path, seed, &ov));
            let j = &out.summary.training.as_ref().unwrap().jobs[0];
            j.finish_s.expect("finished") - j.start_s.unwrap()
        })
        .collect();
    (times, expected)
}

#[test]
fn one_job_matches_dalys_expected_completion_time() {
    let dir = temp_dir("failures-daly");
    let path = daly_scenario(&dir);
    let (times, expected) = completions(&path, 1200.0, 1..201);
    let (mean, half) = mean_ci(&times);
    eprintln!(
        "daly: simulated mean {mean:.0} s ± {half:.0} s over 200 seeds; Daly {expected:.0} s"
    );
    assert!(
        (mean - expected).abs() <= half,
        "simulated mean {mean:.0} s ± {half:.0} s (95%), Daly {expected:.0} s"
    );
    // Failures did strike: the job took far longer than its failure-free time.
    let loaded = load(&path, 1, &[]);
    let free = loaded.training.as_ref().unwrap()[0]
        .estimate
        .time_to_finish_s;
    assert!(mean > 1.2 * free, "{mean} vs {free}");
    // And the summary accounts for them.
    let out = run(&loaded);
    let j = &out.summary.training.as_ref().unwrap().jobs[0];
    assert!(
        j.preemptions > 0 && j.restart_s > 0.0 && j.lost_s > 0.0,
        "{j:?}"
    );
    let ettr = j.ettr.unwrap();
    let train = loaded.training.as_ref().unwrap()[0].estimate.train_s;
    let wall = j.finish_s.unwrap() - j.start_s.unwrap();
    assert!(
        (ettr - train / wall).abs() < 1e-6,
        "ETTR {ettr} vs {}",
        train / wall
    );
    assert_eq!(out.summary.jobs.interrupted as u32, j.preemptions);
    let restart_h = j.restart_s * 32.0 / 3600.0;
    assert!((out.summary.jobs.restart_gpu_h - restart_h).abs() < 1e-6);
}

#[test]
fn the_best_interval_of_a_sweep_is_dalys() {
    let dir = temp_dir("failures-young-daly");
    let path = daly_scenario(&dir);
    // C = 60 s, M = 3600 s: Daly's optimum is 617 s (Young's √(2CM) = 657 s).
    let daly = models::reliability::daly_interval_s(60.0, 3600.0);
    assert!((daly - 617.0).abs() < 1.0, "{daly}");
    let step = 200.0;
    let grid: Vec<f64> = (1..=8).map(|k| k as f64 * step).collect();
    let means: Vec<f64> = grid
        .iter()
        .map(|&tau| {
            let (t, _) = completions(&path, tau, 1..121);
            t.iter().sum::<f64>() / t.len() as f64
        })
        .collect();
    eprintln!("daly sweep: tau {grid:?} -> mean completion {means:.0?}; Daly {daly:.0} s");
    let best = grid[means
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0];
    assert!(
        (best - daly).abs() <= step,
        "sweep minimum at {best} s (means {means:?}), Daly {daly:.0} s"
    );
}

#[test]
fn a_rack_failure_takes_its_rack_and_spares_replace_servers() {
    let dir = temp_dir("failures-domains");
    // A trace: a PDU of rack 1 at 1 h, a GPU of server 0 at 2 h, a host of server 3 at 3 h.
    write(
        &dir,
        "trace.csv",
        "time_s,component,unit\n3600,pdu,1\n7200,gpu,3\n10800,host,3\n",
    );
    let path = scenario(
        &dir,
        "domains",
        (8, 4, 8),
        1_000_000,
        "checkpoint: Checkpoint(every_s: 600.0, write_s: 10.0, restart_s: 120.0),",
        &format!(
            "(classes: [
                (component: Gpu, lifetime: Exponential(mtbf_h: 1e6), repair: Fixed(hours: 10.0)),
                (component: Host, lifetime: Exponential(mtbf_h: 1e6), repair: Fixed(hours: 10.0)),
                (component: Pdu, lifetime: Exponential(mtbf_h: 1e6), repair: Fixed(hours: 0.5)),
            ], spares: (servers: 1, swap_s: 900.0), trace: Some(\"{}\"))",
            dir.join("trace.csv").display()
        ),
        5.0 * 3600.0,
    );
    let out = run(&load(&path, 1, &[]));
    let f = out.summary.failures.as_ref().unwrap();
    assert_eq!(f.source, "trace");
    assert_eq!(f.failures, 3);
    let class = |n: &str| f.classes.iter().find(|c| c.component == n).unwrap();
    // The PDU took its 4 servers for its 0.5 h repair; the GPU's server waited 900 s for the one spare; the host
    // failure found no spare and waits for its 10 h repair (beyond the horizon).
    assert_eq!(class("pdu").servers_taken_down, 4);
    assert_eq!(class("gpu").servers_taken_down, 1);
    assert_eq!(f.spares.swaps, 1);
    assert_eq!(f.spares.stockouts, 1);
    assert_eq!(f.spares.min_available, 0);
    let expected_h = 4.0 * 0.5 + 900.0 / 3600.0 + 2.0;
    assert!(
        (f.server_down_h - expected_h).abs() < 1e-9,
        "{}",
        f.server_down_h
    );
    assert_eq!(f.servers_down_max, 4);
    // Every failure stopped the one job, which spans all 8 servers.
    assert_eq!(f.interrupting_failures, 3);
    assert_eq!(f.work_interrupted, 3);
    assert_eq!(out.summary.jobs.interrupted, 3);
    // The timeseries shows a server down at the end.
    let last = out.timeseries.last().unwrap().failures.unwrap();
    assert_eq!((last.servers_failed, last.failures_total), (1, 3));
    // No job lost or counted twice.
    let j = &out.summary.jobs;
    assert_eq!(
        j.submitted,
        j.completed + j.running_at_end + j.queued_at_end
    );
}

/// Two identical jobs that checkpoint at the same instants share the storage system's write bandwidth: each
/// write takes twice as long as alone, and the storage report counts and times them.
#[test]
fn concurrent_checkpoints_share_storage_bandwidth() {
    let dir = temp_dir("failures-storage");
    let job_mode = |name: &str, mode: &str| {
        format!(
            r#"TrainingJob(name: "{name}", submit_s: 0.0, gpu_model: "H100", plan: TrainingPlan(
                model: TransformerModel(params: 1.0e9, layers: 16, hidden: 2048, seq_len: 2048),
                parallelism: Parallelism(tp: 8, pp: 1, dp: 2, micro_batches: 1),
                global_batch_tokens: 262144, budget: Steps(20000),
                checkpoint: Checkpoint(every_s: 600.0, restart_s: 0.0, mode: {mode})))"#
        )
    };
    let job = |name: &str| job_mode(name, "Sync");
    // Line-rate ring collectives (the pre-#14 model) pin the step time, so that the asynchronous case below
    // keeps a tail after the last checkpoint shorter than one write.
    let text = |jobs: &str| {
        format!(
            r#"Scenario(
    name: "storage", seed: 1, horizon_s: 864000.0, catalog: "{cat}",
    site: Layout(
        server_templates: {{ "hgx": ServerTemplate(gpu_model: "H100", gpus: 8,
            host: HostPower(idle_w: 1000.0, max_w: 3000.0)) }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [
            RackGroup(count: 1, servers: [ServerGroup(template: "hgx", count: 4)])])])],
    ),
    workload: Training(jobs: [{jobs}],
        comm: AlphaBeta(algorithm: Ring, intra_efficiency: 1.0, inter_efficiency: 1.0)),
    reporting: (interval_s: 3600.0),
    storage: (write_gbs: 1.0, read_gbs: 1.0, server_link_gbs: 50.0),
)
"#,
            cat = catalog()
        )
    };
    let alone = write(&dir, "alone.ron", &text(&job("a")));
    let pair = write(
        &dir,
        "pair.ron",
        &text(&format!("{}, {}", job("a"), job("b"))),
    );
    let loaded = load(&alone, 1, &[]);
    let info = &loaded.training.as_ref().unwrap()[0];
    // 1e9 parameters × 14 B = 14 GB at 1 GB/s (the 100 GB/s of two servers' links do not bind): 14 s.
    assert_eq!(info.storage_bytes, Some(14e9));
    let c = info.checkpoint.as_ref().unwrap().write_s();
    assert!((c - 14.0).abs() < 1e-9, "{c}");
    let e = info.estimate;
    let n = e.checkpoints as f64;
    let out = run(&loaded);
    let j = &out.summary.training.as_ref().unwrap().jobs[0];
    let st = out.summary.storage.as_ref().unwrap();
    assert!(
        (j.finish_s.unwrap() - (e.train_s + n * c)).abs() < 1e-3,
        "{j:?}"
    );
    assert_eq!((st.writes, st.most_concurrent), (e.checkpoints, 1));
    assert!((st.write_mean_s - 14.0).abs() < 1e-6, "{st:?}");
    let out = run(&load(&pair, 1, &[]));
    let st = out.summary.storage.as_ref().unwrap();
    for j in &out.summary.training.as_ref().unwrap().jobs {
        // Both write at once: 0.5 GB/s each, 28 s a checkpoint.
        assert!(
            (j.finish_s.unwrap() - (e.train_s + n * 2.0 * c)).abs() < 1e-3,
            "{} finished at {:?}, expected {}",
            j.name,
            j.finish_s,
            e.train_s + n * 2.0 * c
        );
        assert_eq!(j.checkpoints_written, e.checkpoints);
    }
    assert_eq!((st.writes, st.most_concurrent), (2 * e.checkpoints, 2));
    assert!((st.write_mean_s - 28.0).abs() < 1e-6, "{st:?}");
    assert!((st.write_peak_gbs - 1.0).abs() < 1e-9);
    assert!((st.bytes_written - 2.0 * n * 14e9).abs() < 1e3 * n);
    // Asynchronous: training stalls 1 s per snapshot; the 28 s writes overlap the next 600 s of training.
    let asy = |name: &str| job_mode(name, "Async(snapshot_s: 1.0)");
    let pair = write(
        &dir,
        "async.ron",
        &text(&format!("{}, {}", asy("a"), asy("b"))),
    );
    let loaded = load(&pair, 1, &[]);
    let e = loaded.training.as_ref().unwrap()[0].estimate;
    assert_eq!(e.checkpoint_s, n, "the estimate's stalls are the snapshots");
    let out = run(&loaded);
    let st = out.summary.storage.as_ref().unwrap();
    // The job ends once its last write is written: the tail after the last checkpoint (3.8 s of training)
    // is shorter than that write (28 s).
    let last_write_ends = n * 600.0 + n * 1.0 + 28.0;
    let expected = (e.train_s + n * 1.0).max(last_write_ends);
    assert!(
        last_write_ends > e.train_s + n,
        "the test means a final wait"
    );
    for j in &out.summary.training.as_ref().unwrap().jobs {
        assert!(
            (j.finish_s.unwrap() - expected).abs() < 1e-3,
            "{} finished at {:?}, expected {expected}",
            j.name,
            j.finish_s
        );
        assert_eq!(j.checkpoints_written, e.checkpoints);
        let ettr = j.ettr.unwrap();
        assert!(
            (ettr - e.train_s / expected).abs() < 1e-9,
            "{ettr} {}",
            e.train_s / expected
        );
    }
    assert_eq!(st.writes, 2 * e.checkpoints);
    assert!((st.write_mean_s - 28.0).abs() < 1e-6, "{st:?}");
}

/// Spine switches that fail take no server down: ECMP routes around them, so the fabric's jobs slow down and
/// none is interrupted.
#[test]
fn failed_spines_slow_fabric_jobs_without_interrupting_them() {
    let dir = temp_dir("failures-spines");
    let text =
        std::fs::read_to_string(crate::common::root().join("scenarios/llm-training-fabric.ron"))
            .unwrap()
            .replace(
                "catalog: \"catalog/gpus.ron\"",
                &format!("catalog: \"{}\"", catalog()),
            );
    let base = write(&dir, "fabric.ron", &text);
    // 12 of the 16 spines fail at time zero and stay down (a 1,000-day repair).
    let trace: String = std::iter::once("time_s,component,unit\n".to_string())
        .chain((0..12).map(|s| format!("0,spine_switch,{s}\n")))
        .collect();
    write(&dir, "spines.csv", &trace);
    let end = text.rfind(')').unwrap();
    let failing = format!(
        "{}    failures: (classes: [(component: SpineSwitch, lifetime: Exponential(mtbf_h: 1e6), \
         repair: Fixed(hours: 24000.0))], trace: Some(\"spines.csv\")),\n)\n",
        &text[..end]
    );
    let failing = write(&dir, "failing.ron", &failing);
    let a = run(&load(&base, 1, &[]));
    let b = run(&load(&failing, 1, &[]));
    let f = b.summary.failures.as_ref().unwrap();
    assert_eq!(f.failures, 12);
    let spine = &f.classes[0];
    assert_eq!((spine.units, spine.domain.as_str()), (16, "fabric"));
    assert_eq!(
        (f.interrupting_failures, b.summary.jobs.interrupted),
        (0, 0)
    );
    assert_eq!(f.server_down_h, 0.0);
    let job = |o: &output::RunOutput| {
        o.summary
            .training
            .as_ref()
            .unwrap()
            .jobs
            .iter()
            .find(|j| j.name == "pretrain-70b")
            .unwrap()
            .clone()
    };
    let (ja, jb) = (job(&a), job(&b));
    eprintln!(
        "pretrain-70b step as run: {:.3} s with 16 spines, {:.3} s with 4; finish {:?} → {:?}",
        ja.run_step_s.unwrap(),
        jb.run_step_s.unwrap(),
        ja.finish_s,
        jb.finish_s
    );
    assert!(jb.run_step_s.unwrap() > ja.run_step_s.unwrap() * 1.01);
    assert!(jb.finish_s.unwrap_or(f64::INFINITY) > ja.finish_s.unwrap());
}

/// An inference replica whose server fails stops; its requests move to the others; when a spare is swapped
/// in, it loads its model through the storage system before it serves again.
#[test]
fn a_failed_replica_reloads_its_model_from_storage() {
    let dir = temp_dir("failures-replica");
    let text = std::fs::read_to_string(crate::common::root().join("scenarios/inference-azure.ron"))
        .unwrap()
        .replace(
            "catalog: \"catalog/gpus.ron\"",
            &format!("catalog: \"{}\"", catalog()),
        )
        .replace(
            "../../shared/",
            &format!("{}/", crate::common::shared().display()),
        );
    // The host of server 1 fails at 10 minutes; a spare is in after 5 minutes.
    write(&dir, "host.csv", "time_s,component,unit\n600,host,1\n");
    let end = text.rfind(')').unwrap();
    let failing = format!(
        "{}    failures: (classes: [(component: Host, lifetime: Exponential(mtbf_h: 1e6), \
         repair: Fixed(hours: 24.0))], spares: (servers: 1, swap_s: 300.0), trace: Some(\"host.csv\")),\n    \
         storage: (write_gbs: 100.0, read_gbs: 1.0),\n)\n",
        &text[..end]
    );
    let path = write(&dir, "replica.ron", &failing);
    let out = run(&load(&path, 1, &[]));
    let f = out.summary.failures.as_ref().unwrap();
    assert_eq!((f.failures, f.interrupting_failures), (1, 1));
    assert_eq!(f.work_interrupted, 1, "the replica on server 1");
    assert_eq!(f.spares.swaps, 1);
    // 70e9 parameters × 2 B = 140 GB at 1 GB/s: the replica serves again 140 s after its server is back.
    let st = out.summary.storage.as_ref().unwrap();
    assert_eq!(st.reads, 1);
    assert!((st.read_mean_s - 140.0).abs() < 1e-6, "{st:?}");
    assert!((st.bytes_read - 140e9).abs() < 1.0);
    let inf = out.summary.inference.as_ref().unwrap();
    let r = &inf.requests;
    assert_eq!(r.dropped, 0, "three replicas kept serving");
    assert_eq!(
        r.arrived,
        r.completed + r.in_service_at_end + r.queued_at_end + r.dropped
    );
}

/// Conservation across failures, restarts, checkpoints and storage, over random configurations: no job lost or
/// counted twice; every finished job trained exactly its training time (kept work adds up); its run time splits
/// into training kept, work lost, restarts and checkpoint stalls; busy GPU-hours are the jobs' run time; busy and
/// failed GPU-hours fit in the site's; every failure is repaired or still open.
#[test]
fn conservation_across_failures_restarts_and_checkpoints() {
    use rand::{RngExt, SeedableRng};
    let dir = temp_dir("failures-conservation");
    for case in 0..16u64 {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(case);
        let host_mtbf_h = rng.random_range(2.0..30.0);
        let spares = rng.random_range(0..3u32);
        let swap_s = rng.random_range(0.0..900.0);
        let crews = if rng.random_bool(0.5) {
            "None".to_string()
        } else {
            format!("Some({})", rng.random_range(1..3u32))
        };
        let mode = if rng.random_bool(0.5) {
            "Sync".to_string()
        } else {
            format!("Async(snapshot_s: {:.1})", rng.random_range(0.5..20.0))
        };
        let storage = rng.random_bool(0.5);
        let write_s = if storage {
            String::new()
        } else {
            format!("write_s: {:.1}, ", rng.random_range(1.0..120.0))
        };
        let every = rng.random_range(300.0..1500.0);
        let restart = rng.random_range(0.0..300.0);
        let jobs: Vec<String> = (0..3)
            .map(|i| {
                let dp = rng.random_range(1..3u32);
                format!(
                    r#"TrainingJob(name: "j{i}", submit_s: {submit:.1}, gpu_model: "H100", plan: TrainingPlan(
                    model: TransformerModel(params: 1.0e9, layers: 16, hidden: 2048, seq_len: 2048),
                    parallelism: Parallelism(tp: 8, pp: 1, dp: {dp}, micro_batches: 1),
                    global_batch_tokens: {batch}, budget: Steps({steps}),
                    checkpoint: Checkpoint(every_s: {every:.1}, {write_s}restart_s: {restart:.1}, mode: {mode})))"#,
                    submit = i as f64 * 1800.0,
                    batch = 2048 * 64 * dp as u64,
                    steps = rng.random_range(50_000..300_000u32),
                )
            })
            .collect();
        let text = format!(
            r#"Scenario(
    name: "conservation", seed: {case}, horizon_s: 1728000.0, catalog: "{cat}",
    site: Layout(
        server_templates: {{ "hgx": ServerTemplate(gpu_model: "H100", gpus: 8,
            host: HostPower(idle_w: 1000.0, max_w: 3000.0)) }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [
            RackGroup(count: 2, servers: [ServerGroup(template: "hgx", count: 3)])])])],
    ),
    workload: Training(jobs: [{jobs}]),
    reporting: (interval_s: 3600.0),
    failures: (classes: [
        (component: Host, lifetime: Exponential(mtbf_h: {host_mtbf_h:.3}), repair: Exponential(mean_h: 3.0)),
        (component: Gpu, lifetime: Weibull(shape: 0.8, mtbf_h: 400.0), repair: Fixed(hours: 5.0)),
        (component: Pdu, lifetime: Exponential(mtbf_h: 300.0), repair: Fixed(hours: 1.0)),
    ], repair_crews: {crews}, spares: (servers: {spares}, swap_s: {swap_s:.1})),
    {storage_section}
)
"#,
            cat = catalog(),
            jobs = jobs.join(", "),
            storage_section = if storage {
                "storage: (write_gbs: 2.0, read_gbs: 5.0),"
            } else {
                ""
            },
        );
        let path = write(&dir, &format!("case{case}.ron"), &text);
        let loaded = load(&path, case, &[]);
        let out = run(&loaded);
        let s = &out.summary;
        let what =
            format!("case {case} ({mode}, storage {storage}, spares {spares}, crews {crews})");
        let j = &s.jobs;
        assert_eq!(
            j.submitted,
            j.completed + j.running_at_end + j.queued_at_end,
            "{what}"
        );
        let f = s.failures.as_ref().unwrap();
        assert!(f.failures > 0, "{what}: the case should see failures");
        assert_eq!(
            f.repairs.completed + f.repairs.open_at_end,
            f.failures,
            "{what}"
        );
        let t = s.training.as_ref().unwrap();
        let mut ran_gpu_h = 0.0;
        for (job, info) in t.jobs.iter().zip(loaded.training.as_ref().unwrap()) {
            ran_gpu_h += job.gpus as f64 * job.ran_s / 3600.0;
            let parts = job.useful_s + job.lost_s + job.restart_s + job.checkpoint_stall_s;
            assert!(
                (parts - job.ran_s).abs() <= 1e-6 * job.ran_s.max(1.0),
                "{what} {}: ran {} s = kept {} + lost {} + restart {} + stalls {}",
                job.name,
                job.ran_s,
                job.useful_s,
                job.lost_s,
                job.restart_s,
                job.checkpoint_stall_s
            );
            if job.finish_s.is_some() {
                let train = info.estimate.train_s;
                assert!(
                    (job.useful_s - train).abs() <= 1e-6 * train + 1e-6,
                    "{what} {}: trained {} s kept, its training is {train} s",
                    job.name,
                    job.useful_s
                );
            }
        }
        let gh = &s.gpu_hours;
        assert!(
            (gh.busy - ran_gpu_h).abs() <= 1e-6 * gh.busy.max(1.0),
            "{what}: busy {} GPU-h, jobs ran {ran_gpu_h}",
            gh.busy
        );
        assert!(
            gh.busy + f.gpu_down_h <= gh.available * (1.0 + 1e-9),
            "{what}"
        );
        assert!(t.ettr.is_some_and(|e| e > 0.0 && e <= 1.0 + 1e-9), "{what}");
        eprintln!(
            "{what}: {} failures, {} interruptions, {} of {} jobs done, ETTR {:.3}",
            f.failures,
            j.interrupted,
            j.completed,
            j.submitted,
            t.ettr.unwrap()
        );
    }
}

/// A training job reads its dataset through the storage system while it trains: with half the read bandwidth
/// its stream needs, it trains at half speed.
#[test]
fn a_starved_dataset_stream_slows_training() {
    let dir = temp_dir("failures-dataset");
    let text = |read_gbs: f64| {
        format!(
            r#"Scenario(
    name: "dataset", seed: 1, horizon_s: 864000.0, catalog: "{cat}",
    site: Layout(
        server_templates: {{ "hgx": ServerTemplate(gpu_model: "H100", gpus: 8,
            host: HostPower(idle_w: 1000.0, max_w: 3000.0)) }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [
            RackGroup(count: 1, servers: [ServerGroup(template: "hgx", count: 2)])])])],
    ),
    workload: Training(jobs: [TrainingJob(name: "video", submit_s: 0.0, gpu_model: "H100", plan: TrainingPlan(
        model: TransformerModel(params: 1.0e9, layers: 16, hidden: 2048, seq_len: 2048),
        parallelism: Parallelism(tp: 8, pp: 1, dp: 2, micro_batches: 1),
        global_batch_tokens: 262144, budget: Steps(5000)))]),
    reporting: (interval_s: 3600.0),
    storage: (write_gbs: 1.0, read_gbs: {read_gbs}, dataset_bytes_per_token: 1000.0),
)
"#,
            cat = catalog()
        )
    };
    let probe = load(&write(&dir, "probe.ron", &text(1000.0)), 1, &[]);
    let e = probe.training.as_ref().unwrap()[0].estimate;
    let need_gbs = e.tokens_per_s * 1000.0 / 1e9;
    // Plenty of bandwidth: the job trains at its own speed and reads tokens × 1,000 B.
    let out = run(&probe);
    let j = &out.summary.training.as_ref().unwrap().jobs[0];
    assert!((j.finish_s.unwrap() - e.train_s).abs() < 1e-3, "{j:?}");
    let st = out.summary.storage.as_ref().unwrap();
    assert!(
        (st.dataset_bytes_read - e.tokens as f64 * 1000.0).abs() < 1e-6 * st.dataset_bytes_read
    );
    assert_eq!(st.dataset_starved_s, 0.0);
    // Half of what it needs: twice as long.
    let half = load(&write(&dir, "half.ron", &text(need_gbs / 2.0)), 1, &[]);
    let out = run(&half);
    let j = &out.summary.training.as_ref().unwrap().jobs[0];
    assert!(
        (j.finish_s.unwrap() - 2.0 * e.train_s).abs() < 1e-3,
        "finished at {:?}, training {} s",
        j.finish_s,
        e.train_s
    );
    let st = out.summary.storage.as_ref().unwrap();
    assert!(
        (st.dataset_starved_s - 2.0 * e.train_s).abs() < 1e-3,
        "{st:?}"
    );
}
