//! Every pair of parts composes: cluster jobs, inference replicas, a shared fleet, the network fabric, the
//! capping controller, thermal throttling, breakers and a cooling failure, two at a time in one scenario, run,
//! conserve jobs, requests and energy, and couple: a chiller trip slows replicas, a feed trip stops them and
//! accounts their requests, the controller's caps slow them, and after a trip busy GPUs drop to what is still
//! powered.
use output::RunOutput;

use crate::common::{catalog, temp_dir, write};

/// What a composed scenario holds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Mix {
    jobs: bool,
    inference: bool,
    fabric: bool,
    capping: bool,
    throttling: bool,
    breakers: bool,
    cooling_failure: bool,
}

const FEATURES: [&str; 8] = [
    "cluster jobs",
    "inference replicas",
    "shared fleet",
    "fabric",
    "capping controller",
    "thermal throttling",
    "breakers",
    "cooling failure",
];

impl Mix {
    fn with(mut self, feature: &str) -> Self {
        match feature {
            "cluster jobs" => self.jobs = true,
            "inference replicas" => self.inference = true,
            "shared fleet" => {
                self.jobs = true;
                self.inference = true;
            }
            "fabric" => {
                self.jobs = true;
                self.fabric = true;
            }
            "capping controller" => self.capping = true,
            "thermal throttling" => self.throttling = true,
            "breakers" => self.breakers = true,
            "cooling failure" => self.cooling_failure = true,
            other => panic!("unknown feature {other}"),
        }
        self
    }

    fn facility(&self) -> bool {
        self.capping || self.throttling || self.breakers || self.cooling_failure
    }
}

const HORIZON_S: f64 = 7200.0;
/// 1 hall, 1 row, 4 racks of 2 HGX H100 servers: 64 GPUs.
const GPUS: u64 = 64;

fn inference_block(rate_per_s: f64) -> String {
    format!(
        r#"requests: Synthetic(
            arrivals: Poisson(rate_per_s: {rate_per_s:?}),
            prompt_tokens: LogNormal(mu: 6.9, sigma: 0.9, max: 8000),
            output_tokens: LogNormal(mu: 5.0, sigma: 0.8, max: 1000),
        ),
        deployment: Deployment(
            model: LlmModel(name: "llama-2-70b", params: 70.0e9, layers: 80, hidden: 8192, kv_heads: 8, head_dim: 128),
            gpu_model: "H100",
            tp: 8,
            replicas: 2,
        ),
        router: LeastOutstanding,
        slo: Slo(ttft_s: 2.0, tpot_s: 0.1)"#
    )
}

fn scenario_text(m: &Mix, facility_extra: &str) -> String {
    let workload = if m.fabric {
        r#"Training(
        jobs: [
            TrainingJob(name: "a", submit_s: 0.0, gpu_model: "H100", plan: TrainingPlan(
                model: TransformerModel(params: 8.0e9, layers: 32, hidden: 4096, seq_len: 8192),
                parallelism: Parallelism(tp: 8, pp: 1, dp: 2, micro_batches: 4),
                global_batch_tokens: 1048576, budget: Tokens(2000000000),
                checkpoint: Checkpoint(every_s: 600.0, write_s: 10.0))),
            TrainingJob(name: "b", submit_s: 600.0, gpu_model: "H100", plan: TrainingPlan(
                model: TransformerModel(params: 8.0e9, layers: 32, hidden: 4096, seq_len: 8192),
                parallelism: Parallelism(tp: 8, pp: 1, dp: 2, micro_batches: 4),
                global_batch_tokens: 1048576, budget: Tokens(2000000000))),
        ],
        comm: Fabric(topology: TwoTierClos(spines: 2, oversubscription: 2.0), nic_gbs: 50.0,
                     scale_up: (bw_gbs: 450.0), all_reduce: Ring),
    )"#
        .to_string()
    } else if m.jobs {
        r#"Synthetic(
        interarrival_s: Exponential(mean_s: 240.0),
        duration_s: LogNormal(mu: 7.5, sigma: 0.5),
        gpus: Choice(options: [(value: 8, weight: 0.6), (value: 16, weight: 0.4)]),
    )"#
        .to_string()
    } else {
        format!("Inference(\n        {},\n    )", inference_block(2.0))
    };
    let serving = if m.jobs && m.inference {
        format!(
            "serving: (inference: (\n        {},\n    ), make_room: Preempt),",
            inference_block(2.0)
        )
    } else {
        String::new()
    };
    let facility = if m.facility() || !facility_extra.is_empty() {
        let limit = if m.throttling { 30.0 } else { 60.0 };
        let failures = if m.cooling_failure {
            "(unit: Crahs, at_s: 1800.0, restore_s: 3600.0)"
        } else {
            ""
        };
        let ratings = if m.breakers {
            "power_chain: (ratings: (rack_w: 15000.0)),"
        } else {
            ""
        };
        let capping = if m.capping {
            "capping: (rack_budget_w: 11000.0, interval_s: 5.0),"
        } else {
            ""
        };
        format!(
            "facility: (weather: Constant(dry_bulb_c: 33.0, rh_pct: 55.0), cooling: (chws_c: 15.0), \
             thermal: (limit_c: {limit:?}, failures: [{failures}]), {ratings} {capping} {facility_extra}),"
        )
    } else {
        String::new()
    };
    let scheduler = if m.jobs {
        "scheduler: (queue: Fifo, placement: FirstFit, job_checkpoint_s: 300.0),"
    } else {
        ""
    };
    format!(
        r#"Scenario(
    name: "mix",
    seed: 3,
    horizon_s: {HORIZON_S:?},
    catalog: "{cat}",
    site: Layout(
        server_templates: {{
            "hgx": ServerTemplate(gpu_model: "H100", gpus: 8, cpu_milli: 112000, memory_mib: 2097152,
                                  host: HostPower(idle_w: 1200.0, max_w: 3400.0, psu_efficiency: 0.95)),
        }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [
            RackGroup(count: 4, servers: [ServerGroup(template: "hgx", count: 2)]),
        ])])],
    ),
    workload: {workload},
    {scheduler}
    reporting: (interval_s: 120.0),
    {serving}
    {facility}
)
"#,
        cat = catalog()
    )
}

fn run_mix(tag: &str, m: &Mix, facility_extra: &str) -> RunOutput {
    let dir = temp_dir(tag);
    let path = write(&dir, "s.ron", &scenario_text(m, facility_extra));
    let loaded = scenario::load_scenario(&path, &[], None).unwrap_or_else(|e| panic!("{tag}: {e}"));
    twin::run(&loaded, &mut |_| {}).expect("run")
}

/// Jobs, requests and energy add up; after a breaker trip no sample counts more busy GPUs than are powered.
fn check_conservation(what: &str, out: &RunOutput) {
    let s = &out.summary;
    let j = &s.jobs;
    assert_eq!(
        j.completed + j.running_at_end + j.queued_at_end,
        j.submitted,
        "{what}: jobs"
    );
    if let Some(inf) = &s.inference {
        let r = &inf.requests;
        assert_eq!(
            r.completed + r.in_service_at_end + r.queued_at_end + r.dropped,
            r.arrived,
            "{what}: requests"
        );
    }
    let e = &s.energy;
    assert!(
        e.gpu_j >= 0.0 && e.gpu_j <= e.it_j,
        "{what}: GPU energy {} J within IT energy {} J",
        e.gpu_j,
        e.it_j
    );
    let rel = |a: f64, b: f64| (a - b).abs() / a.abs().max(b.abs()).max(1.0);
    assert!(
        rel(s.power.it_mean_w * s.horizon_s, e.it_j) < 1e-12,
        "{what}: mean power × horizon"
    );
    if let (Some(f), Some(cooling), Some(chain), Some(misc)) = (
        e.facility_j,
        e.cooling_j.as_ref(),
        e.power_chain_loss_j.as_ref(),
        e.misc_j,
    ) {
        // The facility meter's IT energy is the ledger's, and the feed is IT + losses + cooling + misc.
        let last = out
            .timeseries
            .last()
            .and_then(|r| r.facility)
            .expect("facility columns");
        assert!(
            rel(last.it_energy_j, e.it_j) < 1e-9
                || out.timeseries.last().unwrap().time_s < s.horizon_s
        );
        assert!(
            rel(f, e.it_j + chain.total + cooling.total + misc) < 1e-9,
            "{what}: facility energy {f} vs its parts"
        );
    }
    if let Some(b) = s.facility.as_ref().and_then(|f| f.breakers.as_ref()) {
        // Breakers do not reset: from each trip on, its GPUs (a rack: 16; the one row or the feed: all) are
        // down, and no sample counts more busy GPUs than are powered.
        for row in &out.timeseries {
            let mut racks_down = std::collections::BTreeSet::new();
            let mut all_down = false;
            for t in b.trips.iter().filter(|t| t.time_s <= row.time_s) {
                match t.level {
                    output::TripLevel::Rack(r) => {
                        racks_down.insert(r);
                    }
                    _ => all_down = true,
                }
            }
            let down = if all_down {
                GPUS
            } else {
                16 * racks_down.len() as u64
            };
            assert!(
                row.busy_gpus <= (GPUS - down) as f64 + 1e-9,
                "{what}: {} busy GPUs at {} s with {} powered",
                row.busy_gpus,
                row.time_s,
                GPUS - down
            );
        }
        if !b.trips.is_empty() {
            assert!(b.servers_down > 0, "{what}: a trip takes servers down");
        }
    }
}

#[test]
fn every_pair_of_parts_runs_and_conserves() {
    let mut runs = 0;
    for (i, a) in FEATURES.iter().enumerate() {
        for b in &FEATURES[i + 1..] {
            let mut m = Mix::default().with(a).with(b);
            if !m.jobs && !m.inference {
                m.jobs = true;
            }
            let what = format!("{a} + {b}");
            let out = run_mix(&format!("mix-{i}-{runs}"), &m, "");
            check_conservation(&what, &out);
            assert!(out.summary.events_processed > 0, "{what}");
            runs += 1;
        }
    }
    assert_eq!(runs, 28);
}

/// The air handlers fail: the inlet climbs past the throttle limit; throttled GPUs run replicas' prefill slower,
/// so time to first token rises.
#[test]
fn a_cooling_failure_raises_replicas_ttft() {
    let base = Mix::default()
        .with("inference replicas")
        .with("thermal throttling");
    let calm = run_mix("chiller-calm", &base, "");
    let hot = run_mix("chiller-hot", &base.with("cooling failure"), "");
    check_conservation("calm", &calm);
    check_conservation("hot", &hot);
    let th = hot.summary.facility.as_ref().unwrap().thermal;
    assert!(
        th.throttle_episodes >= 1 && th.throttled_gpu_s > 0.0,
        "{th:?}"
    );
    let (c, h) = (
        calm.summary.inference.as_ref().unwrap(),
        hot.summary.inference.as_ref().unwrap(),
    );
    assert!(h.capping.as_ref().unwrap().capped_iterations > 0);
    println!(
        "cooling failure: {} throttle episode(s), {:.0} GPU-s throttled; TTFT mean {:.3} s -> {:.3} s, p99 {:.3} s -> {:.3} s",
        th.throttle_episodes,
        th.throttled_gpu_s,
        c.ttft_s.mean,
        h.ttft_s.mean,
        c.ttft_s.p99,
        h.ttft_s.p99
    );
    assert!(
        h.ttft_s.mean > c.ttft_s.mean,
        "TTFT mean {} s with the chiller trip vs {} s without",
        h.ttft_s.mean,
        c.ttft_s.mean
    );
}

/// A feed rating a little below the site's busiest draw (measured first, without a rating) trips the feed at a
/// burst: the site goes dark, the replicas stop, the requests in them and every later arrival are dropped (no
/// replica serves any more), and every request is accounted for.
#[test]
fn a_feed_trip_stops_replicas_and_accounts_their_requests() {
    let m = Mix::default().with("inference replicas");
    let free = run_mix("mix-feed-free", &m, "power_chain: (),");
    let peak_w = free.summary.facility.as_ref().unwrap().facility_peak_w;
    let out = run_mix(
        "mix-feed-trip",
        &m,
        &format!("power_chain: (ratings: (feed_w: {:.1})),", peak_w - 200.0),
    );
    check_conservation("feed trip", &out);
    let s = &out.summary;
    let b = s.facility.as_ref().unwrap().breakers.as_ref().unwrap();
    assert_eq!(b.trips.len(), 1, "{b:?}");
    assert_eq!(b.gpus_down, GPUS);
    let r = &s.inference.as_ref().unwrap().requests;
    assert!(r.dropped > 0 && r.completed > 0 && r.rerouted == 0, "{r:?}");
    assert_eq!(r.in_service_at_end + r.queued_at_end, 0, "{r:?}");
    let trip = b.trips[0].time_s;
    println!(
        "feed trip at {trip:.1} s: {} requests arrived, {} completed, {} rerouted, {} dropped",
        r.arrived, r.completed, r.rerouted, r.dropped
    );
    for row in out.timeseries.iter().filter(|row| row.time_s > trip) {
        assert_eq!(row.it_power_w, 0.0, "dark at {} s", row.time_s);
        assert_eq!(row.busy_gpus, 0.0);
    }
}

/// Rack budgets the replicas' iterations exceed: the controller caps those racks' GPUs and the replicas'
/// prefill runs at the capped clock.
#[test]
fn the_controllers_caps_slow_replicas() {
    let free = run_mix("caps-free", &Mix::default().with("inference replicas"), "");
    let capped = run_mix(
        "caps-on",
        &Mix::default()
            .with("inference replicas")
            .with("capping controller"),
        "",
    );
    check_conservation("capped", &capped);
    let (f, c) = (
        free.summary.inference.as_ref().unwrap(),
        capped.summary.inference.as_ref().unwrap(),
    );
    let k = c.capping.as_ref().unwrap();
    assert!(k.capped_iterations > 0 && k.clock_ratio_mean < 1.0, "{k:?}");
    let ctl = capped
        .summary
        .facility
        .as_ref()
        .unwrap()
        .capping
        .as_ref()
        .unwrap();
    assert!(ctl.controller.as_ref().unwrap().capped_gpu_s > 0.0);
    println!(
        "rack budgets: {} capped iterations, clock ratio {:.3}; TTFT mean {:.3} s -> {:.3} s",
        k.capped_iterations, k.clock_ratio_mean, f.ttft_s.mean, c.ttft_s.mean
    );
    assert!(
        c.ttft_s.mean > f.ttft_s.mean,
        "TTFT mean {} s capped vs {} s",
        c.ttft_s.mean,
        f.ttft_s.mean
    );
}

/// A rack breaker trips under the cluster's jobs: its servers go down, their jobs are interrupted, and busy
/// GPUs and utilization drop to what is still powered.
#[test]
fn after_a_trip_busy_gpus_drop_to_what_is_powered() {
    let m = Mix::default().with("cluster jobs").with("breakers");
    let out = run_mix("rack-trip", &m, "");
    check_conservation("rack trip", &out);
    let s = &out.summary;
    let b = s.facility.as_ref().unwrap().breakers.as_ref().unwrap();
    assert!(!b.trips.is_empty() && b.gpus_down > 0, "{b:?}");
    assert!(s.jobs.interrupted > 0 && b.jobs_interrupted == s.jobs.interrupted);
    let free = run_mix("rack-free", &Mix::default().with("cluster jobs"), "");
    println!(
        "rack trips: {} trip(s), {} GPUs down, {} jobs interrupted; utilization {:.3} (no ratings: {:.3})",
        b.trips.len(),
        b.gpus_down,
        s.jobs.interrupted,
        s.gpus.utilization_mean,
        free.summary.gpus.utilization_mean
    );
    assert!(s.gpus.utilization_mean < free.summary.gpus.utilization_mean);
}

/// Same scenario, same bytes, for a mix with every part.
#[test]
fn a_full_mix_is_deterministic() {
    let m = Mix::default()
        .with("shared fleet")
        .with("capping controller")
        .with("thermal throttling")
        .with("breakers")
        .with("cooling failure");
    let mut a = run_mix("full-a", &m, "");
    let mut b = run_mix("full-b", &m, "");
    check_conservation("full mix", &a);
    a.summary.wall_time_s = 0.0;
    b.summary.wall_time_s = 0.0;
    // Debug text, so that NaN (an interval PUE with no IT energy) compares equal to itself.
    assert!(
        format!("{a:?}") == format!("{b:?}"),
        "two runs of the same scenario differ"
    );
}

/// `m` with a maintenance window on rack 0 (servers 0 and 1) from 1,800 s to 3,600 s.
fn run_with_window(tag: &str, m: &Mix) -> (RunOutput, Vec<twin::JobRecord>) {
    let text = scenario_text(m, "");
    let text = format!(
        "{}    maintenance: [(racks: [0], start_s: 1800.0, duration_s: 1800.0)],\n)\n",
        text.trim_end().trim_end_matches(')')
    );
    let dir = temp_dir(tag);
    let path = write(&dir, "s.ron", &text);
    let loaded = scenario::load_scenario(&path, &[], None).unwrap_or_else(|e| panic!("{tag}: {e}"));
    twin::run_with_log(&loaded, &mut |_| {}).expect("run")
}

/// A maintenance window (the worked example of a part, docs/architecture.md) takes rack 0 down and brings it
/// back: jobs there are interrupted and restart, rack 0 runs jobs again after the window, and no sample in the
/// window counts its GPUs busy.
#[test]
fn a_maintenance_window_interrupts_jobs_and_gives_the_rack_back() {
    let (out, log) = run_with_window("maint-jobs", &Mix::default().with("cluster jobs"));
    check_conservation("maintenance", &out);
    let s = &out.summary;
    assert!(s.jobs.interrupted > 0, "{:?}", s.jobs);
    for row in out
        .timeseries
        .iter()
        .filter(|r| r.time_s > 1800.0 && r.time_s < 3600.0)
    {
        assert!(
            row.busy_gpus <= 48.0,
            "{} busy at {} s",
            row.busy_gpus,
            row.time_s
        );
    }
    let on_rack0_after = log.iter().any(|r| {
        r.start.is_some_and(|t| t.as_secs_f64() >= 3600.0) && r.servers.iter().any(|&s| s < 2)
    });
    assert!(on_rack0_after, "rack 0 takes jobs again after the window");
    println!(
        "maintenance: {} jobs interrupted, {} completed of {}",
        s.jobs.interrupted, s.jobs.completed, s.jobs.submitted
    );
}

/// Inference replicas alone on the site sit on rack 0: during the window no replica serves, so arrivals are
/// dropped; afterwards the replicas serve again.
#[test]
fn a_maintenance_window_stops_and_restarts_replicas() {
    let (out, _) = run_with_window("maint-inf", &Mix::default().with("inference replicas"));
    check_conservation("maintenance, inference", &out);
    let r = &out.summary.inference.as_ref().unwrap().requests;
    // About 1,800 s × 2 requests/s arrive in the window.
    assert!(r.dropped > 3000 && r.dropped < 4200, "{r:?}");
    assert!(r.completed > 10_000, "{r:?}");
    println!("maintenance, inference: {r:?}");
}

/// In a shared fleet the replicas on rack 0 are replaced on other servers at once (jobs make room), so requests
/// move instead of being dropped.
#[test]
fn a_maintenance_window_moves_shared_replicas() {
    let (out, _) = run_with_window("maint-shared", &Mix::default().with("shared fleet"));
    check_conservation("maintenance, shared fleet", &out);
    let inf = out.summary.inference.as_ref().unwrap();
    assert_eq!(inf.requests.dropped, 0, "{:?}", inf.requests);
    assert!(inf.requests.rerouted > 0, "{:?}", inf.requests);
    println!("maintenance, shared fleet: {:?}", inf.requests);
}
