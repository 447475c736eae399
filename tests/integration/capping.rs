//! The power-capping controller in a cluster run: caps hold budgets, and jobs slow by the DVFS model.
use crate::common::{one_server_scenario, shared, temp_dir, write};

/// One 8-GPU H100 server running one 3,600 s job under a feed budget that forces 400 W per GPU: the first
/// decision after the job starts (t = 5 s) caps every GPU at exactly 400 W, IT power sits at the budget, and the
/// job finishes at `5 + 3595 / r` with `r = ((400 − 100)/(605.5 − 100))^(1/3)` (DVFS, γ = 3, static 100 W).
#[test]
fn capping_controller_holds_the_budget_and_slows_jobs_by_dvfs() {
    let dir = temp_dir("capping-run");
    let trace = write(&dir, "t.csv", "submit_s,gpus,duration_s\n0,8,3600\n");
    let budget = (3400.0 + 8.0 * 400.0) / 0.95;
    let weather = shared().join("weather/tmy3-723170-greensboro-nc.csv");
    let text = one_server_scenario(8, 1200.0, 3400.0, 0.95, &trace, 7200.0).replace(
        "reporting: (interval_s: 60.0),",
        &format!(
            "reporting: (interval_s: 60.0),\n    facility: (weather: Tmy3(path: \"{}\"), capping: (feed_budget_w: {budget:?})),",
            weather.display()
        ),
    );
    let path = write(&dir, "s.ron", &text);
    let loaded = scenario::load_scenario(&path, &[], None).unwrap_or_else(|e| panic!("{e}"));
    let (out, log) = twin::run_with_log(&loaded, &mut |_| {}).expect("run");
    let r = (300.0f64 / 505.5).powf(1.0 / 3.0);
    let finish = log[0].finish.unwrap().as_secs_f64();
    let expect = 5.0 + 3595.0 / r;
    assert!(
        (finish - expect).abs() < 1e-6,
        "finish {finish} s, DVFS model {expect} s"
    );
    for s in out
        .timeseries
        .iter()
        .filter(|s| s.time_s >= 5.0 && s.time_s < finish)
    {
        assert!(
            s.it_power_w <= budget * (1.0 + 1e-9),
            "t = {} s: {} W over the {budget} W budget",
            s.time_s,
            s.it_power_w
        );
        assert!(
            s.it_power_w >= budget * (1.0 - 1e-9),
            "the cap is the largest that fits"
        );
    }
    let c = out
        .summary
        .facility
        .as_ref()
        .unwrap()
        .capping
        .as_ref()
        .unwrap();
    let ctl = c.controller.expect("controller section");
    let capped_w = 8.0 * (605.5 - 400.0) / 0.95;
    assert!(
        (ctl.energy_capped_j - capped_w * (finish - 5.0)).abs() < 1e-6 * ctl.energy_capped_j,
        "{ctl:?}"
    );
    assert!(
        (ctl.throughput_lost_gpu_s - 8.0 * (1.0 - r) * (finish - 5.0)).abs()
            < 1e-6 * ctl.throughput_lost_gpu_s
    );
    // Over budget only between the start and the first decision: 5 s.
    assert!((c.time_over_budget_s - 5.0).abs() < 1e-9, "{c:?}");
    println!(
        "capping in the run: 8 GPUs capped 605.5 → 400 W (clock ratio {r:.4}); the 3,600 s job took {:.1} s; \
         {:.2} kWh capped, {:.0} GPU·s of throughput lost, {} decisions",
        finish,
        ctl.energy_capped_j / 3.6e6,
        ctl.throughput_lost_gpu_s,
        ctl.decisions
    );
}
