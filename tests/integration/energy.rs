//! Energy = ∫P dt on cases with exact answers.
use scenario::load_scenario;

use crate::common::{one_server_scenario, temp_dir, write};

fn run(scenario: &str, trace: &str, tag: &str) -> output::RunOutput {
    let dir = temp_dir(tag);
    let t = write(&dir, "jobs.csv", trace);
    let s = write(
        &dir,
        "s.ron",
        &scenario.replace("TRACE", &t.display().to_string()),
    );
    let loaded = load_scenario(&s, &[], None).unwrap();
    twin::run(&loaded, &mut |_| {}).expect("run")
}

#[test]
fn one_gpu_busy_for_one_hour_gives_exact_joules() {
    let dir = temp_dir("energy-1h");
    let trace = write(&dir, "jobs.csv", "submit_s,gpus,duration_s\n0,1,3600\n");
    let s = write(
        &dir,
        "s.ron",
        &one_server_scenario(1, 0.0, 0.0, 1.0, &trace, 3600.0),
    );
    let out = twin::run(&load_scenario(&s, &[], None).unwrap(), &mut |_| {}).expect("run");
    // H100 busy: P = 70 + 0.85·(700 − 70) = 605.5 W, for exactly 3600 s.
    assert_eq!(out.summary.energy.gpu_j, 605.5 * 3600.0);
    assert_eq!(out.summary.energy.it_j, 605.5 * 3600.0);
    assert_eq!(out.summary.gpu_hours.busy, 1.0);
    assert_eq!(out.summary.gpus.utilization_mean, 1.0);
    assert_eq!(out.summary.jobs.completed, 1);
    assert_eq!(out.summary.power.it_peak_w, 605.5);
}

#[test]
fn idle_tail_host_overhead_and_psu_loss_add_up_exactly() {
    // Busy 1 h then idle 1 h; host 100 W idle / 300 W max; PSU 0.8.
    let scenario = one_server_scenario(1, 100.0, 300.0, 0.8, std::path::Path::new("TRACE"), 7200.0);
    let out = run(
        &scenario,
        "submit_s,gpus,duration_s\n0,1,3600\n",
        "energy-2h",
    );
    let gpu = 605.5 * 3600.0 + 70.0 * 3600.0;
    let host = 300.0 * 3600.0 + 100.0 * 3600.0;
    assert_eq!(out.summary.energy.gpu_j, gpu);
    let it = (605.5 + 300.0) / 0.8 * 3600.0 + (70.0 + 100.0) / 0.8 * 3600.0;
    assert!(
        (out.summary.energy.it_j - it).abs() <= 1e-9 * it,
        "{} vs {it}",
        out.summary.energy.it_j
    );
    assert!((out.summary.energy.server_overhead_j - (it - gpu)).abs() <= 1e-9 * it);
    assert!(host > 0.0);
    assert_eq!(out.summary.power.it_peak_w, (605.5 + 300.0) / 0.8);
    assert_eq!(out.summary.power.it_min_w, (70.0 + 100.0) / 0.8);
    assert!((out.summary.power.it_mean_w - it / 7200.0).abs() < 1e-9);
    assert_eq!(out.summary.gpu_hours.busy, 1.0);
}

#[test]
fn shared_gpus_and_fifo_queueing_are_accounted() {
    // 2 GPUs. Job A takes both for 1000 s; job B (1 GPU) arrives at 10 s and waits 990 s;
    // job C (1 GPU) arrives at 20 s and waits behind B (strict FIFO); both start at 1000 s.
    let scenario = one_server_scenario(2, 0.0, 0.0, 1.0, std::path::Path::new("TRACE"), 5000.0);
    let out = run(
        &scenario,
        "submit_s,gpus,duration_s\n0,2,1000\n10,1,500\n20,1,100\n",
        "energy-fifo",
    );
    let j = &out.summary.jobs;
    assert_eq!(
        (j.submitted, j.completed, j.running_at_end, j.queued_at_end),
        (3, 3, 0, 0)
    );
    // B and C start at 1000 s: waits 0, 990, 980.
    assert_eq!(j.wait_s.max, 990.0);
    assert!((j.wait_s.mean - (0.0 + 990.0 + 980.0) / 3.0).abs() < 1e-9);
    // GPU-hours: 2·1000 + 500 + 100 GPU-seconds.
    assert!((out.summary.gpu_hours.busy - 2600.0 / 3600.0).abs() < 1e-12);
}

#[test]
fn timeseries_power_matches_incremental_meter() {
    let dir = temp_dir("energy-ts");
    let trace = write(
        &dir,
        "jobs.csv",
        "submit_s,gpus,duration_s\n0,1,90\n30,1,60\n",
    );
    let s = write(
        &dir,
        "s.ron",
        &one_server_scenario(2, 0.0, 0.0, 1.0, &trace, 300.0),
    );
    let out = twin::run(&load_scenario(&s, &[], None).unwrap(), &mut |_| {}).expect("run");
    let p: Vec<(f64, f64, f64)> = out
        .timeseries
        .iter()
        .map(|s| (s.time_s, s.it_power_w, s.busy_gpus))
        .collect();
    // Samples every 60 s observe the state after events at that time.
    assert_eq!(p[0], (0.0, 605.5 + 70.0, 1.0));
    assert_eq!(p[1], (60.0, 605.5 * 2.0, 2.0));
    assert_eq!(p[2], (120.0, 70.0 * 2.0, 0.0)); // both finished at 90 s
    assert_eq!(p.len(), 6);
}
