//! The per-entity tables of `dctwin run` (docs/outputs.md): `jobs.csv`, `requests.csv`, `racks.csv` against the
//! summary of the same run — no job or request lost or counted twice, the racks' energy adding up to the IT
//! energy — and the files the CLI writes.
use std::path::Path;

use output::{JobState, RequestOutcome, RunOutput};
use scenario::{Override, load_scenario};

use crate::common::{dctwin, root, temp_dir, write};

/// Runs `path` with `sets`, asking for the tables.
fn run(path: &Path, sets: &[&str]) -> RunOutput {
    let ov: Vec<Override> = sets.iter().map(|s| Override::parse(s).unwrap()).collect();
    let loaded = load_scenario(path, &ov, None).unwrap_or_else(|e| panic!("{e}"));
    let options = twin::RunOptions {
        tables: true,
        ..twin::RunOptions::default()
    };
    twin::run_with(&loaded, &options, &mut |_| {}).expect("run")
}

fn shipped(name: &str) -> std::path::PathBuf {
    root().join("scenarios").join(format!("{name}.ron"))
}

/// The racks' rows: one per rack of the site, every server counted once, and ∑ mean power × horizon (their
/// energy) equal to the IT energy when every watt is a server's (no switches, spares or storage).
fn check_racks(out: &RunOutput) {
    let s = &out.summary;
    let racks = &out.tables.racks;
    assert_eq!(racks.len() as u64, s.site.racks);
    assert_eq!(racks.iter().map(|r| r.servers).sum::<u64>(), s.site.servers);
    assert_eq!(racks.iter().map(|r| r.gpus).sum::<u64>(), s.gpus.total);
    let energy: f64 = racks.iter().map(|r| r.it_mean_w * s.horizon_s).sum();
    let rel = (energy - s.energy.it_j).abs() / s.energy.it_j;
    assert!(
        rel < 1e-9,
        "racks {energy} J against IT {} J",
        s.energy.it_j
    );
    for r in racks {
        assert!(
            r.it_mean_w <= r.it_peak_w * (1.0 + 1e-12),
            "{r:?}: mean above peak"
        );
        assert!((r.it_energy_j - r.it_mean_w * s.horizon_s).abs() <= 1e-6 * r.it_energy_j);
    }
    // At the site's peak every rack is at most at its own peak.
    let peaks: f64 = racks.iter().map(|r| r.it_peak_w).sum();
    assert!(
        peaks >= s.power.it_peak_w * (1.0 - 1e-9),
        "{peaks} < {}",
        s.power.it_peak_w
    );
}

/// One row per submitted job, in order, and the states, waits and preemptions add up to the summary's.
fn check_jobs(out: &RunOutput) {
    let s = &out.summary.jobs;
    let jobs = out.tables.jobs.as_ref().expect("jobs table");
    assert_eq!(jobs.len() as u64, s.submitted);
    assert!(jobs.iter().enumerate().all(|(i, j)| j.id == i as u64));
    let count = |st: JobState| jobs.iter().filter(|j| j.state == Some(st)).count() as u64;
    assert_eq!(count(JobState::Completed), s.completed);
    assert_eq!(count(JobState::Running), s.running_at_end);
    assert_eq!(count(JobState::Queued), s.queued_at_end);
    assert_eq!(
        jobs.iter().filter(|j| j.finish_s.is_some()).count() as u64,
        s.completed
    );
    let mut waits: Vec<f64> = jobs.iter().filter_map(|j| j.wait_s).collect();
    assert_eq!(output::Stats::from_values(&mut waits), s.wait_s);
    assert_eq!(
        jobs.iter().map(|j| j.preemptions).sum::<u64>(),
        s.preemptions
    );
    assert_eq!(
        jobs.iter().map(|j| j.interruptions).sum::<u64>(),
        s.interrupted
    );
    for j in jobs {
        assert_eq!(j.start_s.is_some(), j.servers > 0, "{j:?}");
        assert!(j.finish_s.is_none() || j.finish_s >= j.start_s, "{j:?}");
    }
}

/// A training job interrupted by hardware failures: its interruptions are the summary's.
#[test]
fn interrupted_jobs_are_counted_once() {
    let out = run(&shipped("llm-pretraining-failures"), &[]);
    check_jobs(&out);
    let jobs = out.tables.jobs.as_ref().unwrap();
    assert!(
        jobs.iter().any(|j| j.interruptions > 0),
        "the test needs interruptions"
    );
    let t = out.summary.training.as_ref().expect("training");
    for (j, tj) in jobs.iter().zip(&t.jobs) {
        assert_eq!((&j.name, j.gpu_energy_j), (&tj.name, Some(tj.gpu_energy_j)));
    }
}

#[test]
fn quickstart_tables_match_the_summary() {
    let out = run(&shipped("quickstart"), &["horizon_s=43200"]);
    check_jobs(&out);
    check_racks(&out);
    assert!(out.tables.requests.is_none(), "no serving, no requests.csv");
    // An overload ends with a queue and running jobs: every state is there.
    let out = run(
        &shipped("quickstart"),
        &[
            "horizon_s=21600",
            "workload.Synthetic.interarrival_s.Exponential.mean_s=30",
        ],
    );
    check_jobs(&out);
    assert!(out.summary.jobs.queued_at_end > 0 && out.summary.jobs.running_at_end > 0);
}

/// Jobs preempted for replicas, and every request: the outcomes are the summary's counts.
#[test]
fn shared_fleet_tables_match_the_summary() {
    let out = run(
        &shipped("shared-fleet"),
        &["reporting.requests_csv_max=200000"],
    );
    check_jobs(&out);
    assert!(
        out.summary.jobs.preemptions > 0,
        "the test needs preemptions"
    );
    let inf = out.summary.inference.as_ref().expect("inference");
    let t = out.tables.requests.as_ref().expect("requests table");
    let r = &inf.requests;
    assert_eq!(t.total, r.arrived);
    assert!(t.total <= t.max, "all requests written");
    assert_eq!(t.rows.len() as u64, r.arrived);
    let count = |o: RequestOutcome| t.rows.iter().filter(|q| q.outcome == o).count() as u64;
    assert_eq!(count(RequestOutcome::Completed), r.completed);
    assert_eq!(count(RequestOutcome::Dropped), r.dropped);
    assert_eq!(count(RequestOutcome::InService), r.in_service_at_end);
    assert_eq!(count(RequestOutcome::Queued), r.queued_at_end);
    let mut ttft: Vec<f64> = t.rows.iter().filter_map(|q| q.ttft_s).collect();
    assert_eq!(output::Stats::from_values(&mut ttft), inf.ttft_s);
    assert!(t.rows.iter().enumerate().all(|(i, q)| q.id == i as u64));
    assert!(
        t.rows
            .iter()
            .all(|q| q.replica.is_some() || q.outcome != RequestOutcome::Completed)
    );
}

/// Above `reporting.requests_csv_max` the table holds exactly that many rows, evenly spread by arrival order.
#[test]
fn requests_are_sampled_above_the_maximum() {
    let full = run(&shipped("inference-day"), &["horizon_s=3600"]);
    let all = full.tables.requests.as_ref().expect("requests").clone();
    assert_eq!(all.rows.len() as u64, all.total);
    assert!(
        all.total > 1000,
        "the test needs more requests than the maximum"
    );
    let out = run(
        &shipped("inference-day"),
        &["horizon_s=3600", "reporting.requests_csv_max=1000"],
    );
    assert_eq!(out.summary, {
        let mut s = full.summary.clone();
        s.wall_time_s = out.summary.wall_time_s;
        s
    });
    let t = out.tables.requests.as_ref().expect("requests");
    assert_eq!((t.total, t.max, t.rows.len()), (all.total, 1000, 1000));
    let want: Vec<u64> = output::sample_indices(all.total, 1000).collect();
    assert_eq!(t.rows.iter().map(|q| q.id).collect::<Vec<_>>(), want);
    assert!(t.rows.iter().all(|q| *q == all.rows[q.id as usize]));
}

/// Long-horizon runs: the windows' requests, each with its window, as many as the windows simulated.
#[test]
fn long_horizon_requests_carry_their_window() {
    use crate::long_horizon::{LONG, scenario, weather};
    let dir = temp_dir("tables-long");
    let path = write(&dir, "s.ron", &scenario(LONG, &weather()));
    let out = run(&path, &[]);
    let lh = out
        .summary
        .inference
        .as_ref()
        .unwrap()
        .long_horizon
        .as_ref()
        .unwrap();
    let t = out.tables.requests.as_ref().expect("requests");
    assert_eq!(t.total, lh.simulated_requests);
    assert_eq!(t.rows.len() as u64, lh.simulated_requests.min(t.max));
    for (k, w) in lh.windows.iter().enumerate() {
        let n = t.rows.iter().filter(|q| q.window == Some(k as u32)).count() as u64;
        assert_eq!(n, w.requests, "window {k}");
    }
    let unfinished = t
        .rows
        .iter()
        .filter(|q| q.outcome != RequestOutcome::Completed)
        .count() as u64;
    assert_eq!(unfinished, lh.unfinished_requests);
    check_racks(&out);
}

/// The CLI writes the tables beside summary.json, with their headers; a run without jobs drops an old jobs.csv.
#[test]
fn dctwin_run_writes_the_tables() {
    let dir = temp_dir("tables-cli");
    let out = dir.join("out");
    let q = shipped("quickstart");
    let o = dctwin(&[
        "run",
        q.to_str().unwrap(),
        "--quiet",
        "--set",
        "horizon_s=7200",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let jobs = std::fs::read_to_string(out.join("jobs.csv")).unwrap();
    assert!(jobs.starts_with("id,name,submit_s,start_s,finish_s,wait_s,gpus,"));
    assert_eq!(
        jobs.lines().count() as u64 - 1,
        summary["jobs"]["submitted"].as_u64().unwrap()
    );
    let racks = std::fs::read_to_string(out.join("racks.csv")).unwrap();
    assert_eq!(
        racks.lines().count() as u64 - 1,
        summary["site"]["racks"].as_u64().unwrap()
    );
    assert!(!out.join("requests.csv").exists());
    let inf = shipped("inference-day");
    let o = dctwin(&[
        "run",
        inf.to_str().unwrap(),
        "--quiet",
        "--set",
        "horizon_s=600",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        !out.join("jobs.csv").exists(),
        "an old jobs.csv does not survive"
    );
    assert!(out.join("requests.csv").exists() && out.join("racks.csv").exists());
}

/// Rack breakers (tests/integration/facility_feedback.rs): each rack row counts its own trip, the jobs their
/// interruptions, and the racks' energy — nothing after the trips — is still the IT energy.
#[test]
fn rack_trips_are_counted_on_their_racks() {
    let loaded = crate::facility_feedback::with_facility(
        "tables-rack-trip",
        "submit_s,gpus,duration_s\n0,4,1000\n100,4,1000\n",
        2,
        3600.0,
        "power_chain: (ratings: (rack_w: 6000.0))",
    );
    let options = twin::RunOptions {
        tables: true,
        ..twin::RunOptions::default()
    };
    let out = twin::run_with(&loaded, &options, &mut |_| {}).expect("run");
    let trips: Vec<u64> = out.tables.racks.iter().map(|r| r.breaker_trips).collect();
    assert_eq!(trips, [1, 1]);
    check_racks(&out);
    check_jobs(&out);
    let jobs = out.tables.jobs.as_ref().unwrap();
    assert_eq!(jobs.iter().map(|j| j.interruptions).sum::<u64>(), 4);
    let inlet = out.summary.facility.as_ref().unwrap().thermal.max_inlet_c;
    assert!(
        out.tables
            .racks
            .iter()
            .all(|r| r.inlet_peak_c == Some(inlet))
    );
}
