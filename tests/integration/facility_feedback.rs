//! The facility acting on a cluster run: GPU thermal throttling slows jobs, breaker trips take servers and jobs
//! down.
use crate::common::{one_server_scenario, shared, temp_dir, write};

/// Racks of one 8-GPU H100 server each running the trace `csv`, in Greensboro weather, with `facility` (fields
/// after `weather`) spliced in after `reporting`.
pub(crate) fn with_facility(
    tag: &str,
    csv: &str,
    racks: u32,
    horizon_s: f64,
    facility: &str,
) -> scenario::LoadedScenario {
    let dir = temp_dir(tag);
    let trace = write(&dir, "t.csv", csv);
    let weather = shared().join("weather/tmy3-723170-greensboro-nc.csv");
    let text = one_server_scenario(8, 1200.0, 3400.0, 0.95, &trace, horizon_s)
        .replace("RackGroup(count: 1", &format!("RackGroup(count: {racks}"))
        .replace(
            "reporting: (interval_s: 60.0),",
            &format!(
                "reporting: (interval_s: 60.0),\n    facility: (weather: Tmy3(path: \"{}\"), {facility}),",
                weather.display()
            ),
        );
    let path = write(&dir, "s.ron", &text);
    scenario::load_scenario(&path, &[], None).unwrap_or_else(|e| panic!("{e}"))
}

/// One server, one 3,000 s job, air handlers failing at 600 s: the inlet climbs towards a steady state far
/// above the 32 °C limit.
fn throttle_scenario(tag: &str, horizon_s: f64, thermal: &str) -> scenario::LoadedScenario {
    with_facility(
        tag,
        "submit_s,gpus,duration_s\n0,8,3000\n",
        1,
        horizon_s,
        &format!("thermal: (failures: [(unit: Crahs, at_s: 600.0)]{thermal})"),
    )
}

/// Throttling starts exactly when the inlet reaches the limit (the same instant as in a run whose throttle
/// draws full power, i.e. has no effect), and from then on the job runs at the DVFS throughput ratio of a GPU
/// limited to 60 % of its board power: it finishes at `t_c + (3000 − t_c)/r`.
#[test]
fn thermal_throttling_starts_at_the_crossing_and_slows_jobs_by_dvfs() {
    // Reference: a throttle at 100 % board power changes nothing; the job ends at 3,000 s, after the horizon,
    // so the inlet only climbs and the time above the limit is `horizon − t_c`.
    let reference = throttle_scenario("throttle-ref", 2000.0, ", throttle_power_fraction: 1.0");
    let (out, log) = twin::run_with_log(&reference, &mut |_| {}).expect("run");
    assert!(log[0].finish.is_none(), "the job runs past the horizon");
    let th = out.summary.facility.as_ref().unwrap().thermal;
    let t_c = 2000.0 - th.above_limit_s;
    assert!(t_c > 600.0 && t_c < 2000.0, "crossing at {t_c} s");
    assert_eq!(th.throttle_episodes, 1);

    // Throttled to 420 W (demand 605.5 W): release at 32 − 20 = 12 °C, below the supply air, so never.
    let loaded = throttle_scenario(
        "throttle",
        20_000.0,
        ", throttle_power_fraction: 0.6, throttle_hysteresis_k: 20.0",
    );
    let (out, log) = twin::run_with_log(&loaded, &mut |_| {}).expect("run");
    let th = out.summary.facility.as_ref().unwrap().thermal;
    assert_eq!(th.throttle_episodes, 1);
    let start = 20_000.0 - th.throttled_gpu_s / 8.0;
    assert!(
        (start - t_c).abs() < 1e-6,
        "throttled from {start} s, inlet crossed the limit at {t_c} s"
    );
    let r = (320.0f64 / 505.5).powf(1.0 / 3.0);
    let finish = log[0].finish.expect("finished").as_secs_f64();
    let expect = t_c + (3000.0 - t_c) / r;
    assert!(
        (finish - expect).abs() < 1e-5,
        "finish {finish} s, DVFS model {expect} s"
    );
    // GPU power held at the throttle limit while the job ran throttled.
    for s in out
        .timeseries
        .iter()
        .filter(|s| s.time_s > t_c + 1.0 && s.time_s < finish - 1.0)
    {
        assert!(
            (s.it_power_w - (3400.0 + 8.0 * 420.0) / 0.95).abs() < 1e-6,
            "t = {} s: {} W",
            s.time_s,
            s.it_power_w
        );
    }
    println!(
        "thermal throttling: air handlers fail at 600 s, the inlet reaches 32 °C at {t_c:.1} s; GPUs throttle to \
         420 W (clock ratio {r:.4}); the 3,000 s job ends at {finish:.1} s instead of 3,000 s; max inlet \
         {:.1} °C",
        th.max_inlet_c
    );
}

/// The air handlers come back at 2,400 s: the inlet falls, and the throttle is lifted once it is 1 K (the
/// default hysteresis) below the limit — about a minute later — for good.
#[test]
fn throttle_releases_below_the_hysteresis_band() {
    let loaded = with_facility(
        "throttle-release",
        "submit_s,gpus,duration_s\n0,8,5000\n",
        1,
        8000.0,
        "thermal: (failures: [(unit: Crahs, at_s: 600.0, restore_s: 2400.0)])",
    );
    let (out, log) = twin::run_with_log(&loaded, &mut |_| {}).expect("run");
    let th = out.summary.facility.as_ref().unwrap().thermal;
    assert_eq!(th.throttle_episodes, 1);
    // Throttled only between the first crossing and shortly after the restore (at most the time it takes to
    // cool by the hysteresis band), never before the failure.
    let throttled_s = th.throttled_gpu_s / 8.0;
    println!(
        "hysteresis: {} episodes, {throttled_s:.1} s throttled, max inlet {:.2} °C",
        th.throttle_episodes, th.max_inlet_c
    );
    // The same job and failure as above: the inlet crosses at 811.4 s; released within 5 min of the restore.
    assert!(
        throttled_s > 2400.0 - 811.5 && throttled_s < 2400.0 - 811.3 + 300.0,
        "{throttled_s}"
    );
    let finish = log[0].finish.expect("finished").as_secs_f64();
    assert!(finish > 5000.0 && finish < 8000.0, "{finish}");
    let last = out.timeseries.last().unwrap();
    assert!(
        last.facility.as_ref().unwrap().inlet_c < 32.0,
        "cooled after the restore"
    );
}

/// Two racks of one 8-GPU server under a rack breaker that holds four busy GPUs but not eight: the second job
/// trips rack 0, both jobs go back to the queue, restart on rack 1 and trip it too. Everything is down from
/// 100 s: no job completes, IT power is zero, and the report lists both trips.
#[test]
fn rack_breaker_trips_take_servers_and_jobs_down() {
    // Idle 1200 + 8·70 = 1760 W DC; 4 busy GPUs (605.5 W) and host at half: ≈ 4.6 kW; 8 busy ≈ 7.5 kW.
    let loaded = with_facility(
        "rack-trip",
        "submit_s,gpus,duration_s\n0,4,1000\n100,4,1000\n",
        2,
        3600.0,
        "power_chain: (ratings: (rack_w: 6000.0))",
    );
    let (out, _) = twin::run_with_log(&loaded, &mut |_| {}).expect("run");
    let b = out
        .summary
        .facility
        .as_ref()
        .unwrap()
        .breakers
        .clone()
        .expect("breakers section");
    let levels: Vec<_> = b.trips.iter().map(|t| (t.time_s, t.level)).collect();
    use output::TripLevel as Level;
    assert_eq!(
        levels,
        vec![(100.0, Level::Rack(0)), (100.0, Level::Rack(1))]
    );
    assert_eq!(
        (b.servers_down, b.gpus_down, b.jobs_interrupted),
        (2, 16, 4)
    );
    let jobs = &out.summary.jobs;
    assert_eq!((jobs.completed, jobs.queued_at_end), (0, 2));
    for s in out.timeseries.iter().filter(|s| s.time_s > 100.0) {
        assert_eq!(s.it_power_w, 0.0, "t = {} s", s.time_s);
    }
    // IT energy: idle site to 0 s … 100 s with job A on rack 0, nothing after.
    let e = &out.summary.energy;
    let it_100 = out
        .timeseries
        .iter()
        .find(|s| s.time_s == 60.0)
        .unwrap()
        .it_power_w;
    assert!(
        e.it_j > 0.0 && e.it_j <= it_100 * 100.0 * (1.0 + 1e-9) + 1.0,
        "{e:?}"
    );
}

/// A feed rating below the utility input at full load: the site goes dark when the job starts (100 s). From
/// then on the facility draws nothing, and the trip is reported where the feed's figures are.
#[test]
fn feed_breaker_trip_takes_the_site_dark() {
    let loaded = with_facility(
        "feed-trip",
        "submit_s,gpus,duration_s\n100,8,1000\n",
        1,
        3600.0,
        "power_chain: (ups: (module_rating_w: 500000.0), ratings: (feed_w: 18000.0))",
    );
    let (out, log) = twin::run_with_log(&loaded, &mut |_| {}).expect("run");
    let f = out.summary.facility.as_ref().unwrap();
    let b = f.breakers.clone().expect("breakers section");
    use output::TripLevel as Level;
    assert_eq!(b.trips.len(), 1);
    assert_eq!((b.trips[0].time_s, b.trips[0].level), (100.0, Level::Feed));
    assert_eq!((b.servers_down, b.jobs_interrupted), (1, 1));
    assert_eq!(f.capping.unwrap().first_trip_s, Some(100.0));
    assert!(log[0].finish.is_none());
    let before = out.timeseries.iter().find(|s| s.time_s == 60.0).unwrap();
    let fp = before.facility.as_ref().unwrap().facility_power_w;
    assert!(fp > 0.0 && fp < 18000.0);
    for s in out.timeseries.iter().filter(|s| s.time_s > 100.0) {
        let fs = s.facility.as_ref().unwrap();
        assert_eq!(
            (s.it_power_w, fs.facility_power_w),
            (0.0, 0.0),
            "t = {}",
            s.time_s
        );
    }
    // Facility energy is the idle site's over [0, 100 s] (constant weather within the hour).
    assert!(
        (out.summary.energy.facility_j.unwrap() - fp * 100.0).abs() < 1e-6 * fp * 100.0,
        "{:?}",
        out.summary.energy
    );
}
