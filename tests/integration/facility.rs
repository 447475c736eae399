//! Facility physics in the run: conservation of energy through the chain, climate and grid comparisons.
use output::RunOutput;
use scenario::{Override, load_scenario};

use crate::common::{root, shared, temp_dir, write};

/// The quickstart cluster with a facility section; `facility` is the body of `facility: (...)`.
fn run(tag: &str, horizon_s: f64, facility: &str) -> RunOutput {
    run_with_load(tag, horizon_s, 120.0, facility)
}

fn shared_path(rel: &str) -> String {
    shared().join(rel).display().to_string()
}

/// Feed energy = IT + every chain loss + cooling + misc, to 1e-9, with changing load and hourly weather.
#[test]
fn facility_energy_is_conserved_with_real_weather() {
    let f = format!(
        "weather: Tmy3(path: \"{}\"), cooling: (chws_c: 18.0)",
        shared_path("weather/tmy3-723170-greensboro-nc.csv")
    );
    let out = run("conserve", 14.0 * 86_400.0, &f);
    let e = &out.summary.energy;
    let facility = e.facility_j.unwrap();
    let parts = e.it_j
        + e.power_chain_loss_j.unwrap().total
        + e.cooling_j.unwrap().total
        + e.misc_j.unwrap();
    assert!(
        (facility - parts).abs() / facility < 1e-9,
        "{facility} vs {parts}"
    );
    let fs = out.summary.facility.as_ref().unwrap();
    assert!((fs.pue - facility / e.it_j).abs() < 1e-12);
    assert!(fs.pue > 1.05 && fs.pue < 2.0, "PUE {}", fs.pue);
    let hours: f64 = [
        fs.cooling.hours_by_mode.mechanical,
        fs.cooling.hours_by_mode.partial,
        fs.cooling.hours_by_mode.free,
        fs.cooling.hours_by_mode.air_side,
    ]
    .iter()
    .sum();
    assert!((hours - 14.0 * 24.0).abs() < 1e-6, "{hours}");
    assert!(fs.water.site_l > 0.0 && fs.wue_l_per_kwh > 0.0);
}

/// The same site for a year: the cold site (Sand Point, AK) has a lower PUE and more free-cooling hours than
/// the warm-humid one (Greensboro, NC).
#[test]
fn cold_climate_beats_warm_climate() {
    let year = 365.0 * 86_400.0;
    let go = |tag: &str, file: &str| {
        let f = format!(
            "weather: Tmy3(path: \"{}\"), cooling: (chws_c: 18.0)",
            shared_path(file)
        );
        run(tag, year, &f).summary.facility.unwrap()
    };
    let cold = go("cold", "weather/tmy3-703165-sand-point-ak.csv");
    let warm = go("warm", "weather/tmy3-723170-greensboro-nc.csv");
    println!(
        "annual PUE: Sand Point {:.4} ({:.0} free-cooling h), Greensboro {:.4} ({:.0} free-cooling h); WUE {:.3} vs {:.3} L/kWh",
        cold.pue,
        cold.cooling.hours_by_mode.free,
        warm.pue,
        warm.cooling.hours_by_mode.free,
        cold.wue_l_per_kwh,
        warm.wue_l_per_kwh
    );
    assert!(cold.pue < warm.pue);
    assert!(cold.cooling.hours_by_mode.free > warm.cooling.hours_by_mode.free);
}

/// The same load on the French grid emits less than on the German grid.
#[test]
fn french_grid_emits_less_than_german() {
    let go = |tag: &str, file: &str| {
        let f = format!("carbon: Csv(path: \"{}\")", shared_path(file));
        run(tag, 30.0 * 86_400.0, &f).summary.facility.unwrap()
    };
    let fr = go("fr", "carbon/entsoe-2020-fr-carbon-intensity.csv");
    let de = go("de", "carbon/entsoe-2020-ger-carbon-intensity.csv");
    println!(
        "30 days: France {:.0} kgCO2 ({:.1} g/kWh), Germany {:.0} kgCO2 ({:.1} g/kWh), ratio {:.2}",
        fr.carbon.operational_kg,
        fr.carbon.intensity_mean_g_per_kwh,
        de.carbon.operational_kg,
        de.carbon.intensity_mean_g_per_kwh,
        de.carbon.operational_kg / fr.carbon.operational_kg
    );
    assert!(fr.carbon.operational_kg > 0.0 && fr.carbon.operational_kg < de.carbon.operational_kg);
    assert!(fr.cue_kg_per_kwh < de.cue_kg_per_kwh);
    assert!(
        fr.carbon.embodied_kg > 0.0 && (fr.carbon.embodied_kg - de.carbon.embodied_kg).abs() < 1e-9
    );
}

/// The quickstart cluster with a facility section and its `interarrival_s` mean replaced (load level).
fn run_with_load(tag: &str, horizon_s: f64, mean_interarrival_s: f64, facility: &str) -> RunOutput {
    let dir = temp_dir(&format!("facility-{tag}"));
    let base = std::fs::read_to_string(root().join("scenarios/quickstart.ron")).unwrap();
    let text = base
        .replace(
            "catalog: \"catalog/gpus.ron\"",
            &format!(
                "catalog: \"{}\"",
                root().join("scenarios/catalog/gpus.ron").display()
            ),
        )
        .replace(
            "Exponential(mean_s: 120.0)",
            &format!("Exponential(mean_s: {mean_interarrival_s:?})"),
        )
        .replace(
            "    reporting: (interval_s: 600.0),",
            &format!("    reporting: (interval_s: 3600.0),\n    facility: ({facility}),"),
        );
    let path = write(&dir, "s.ron", &text);
    let o = Override::parse(&format!("horizon_s={horizon_s}")).unwrap();
    let loaded = load_scenario(&path, &[o], None).unwrap_or_else(|e| panic!("{e}"));
    twin::run(&loaded, &mut |_| {}).expect("run")
}

/// Property: over random scenarios — load level, weather file, UPS redundancy, cooling options (chilled-water
/// temperature, air-side economizer, direct liquid cooling), cooling failures, horizons — feed energy equals
/// IT plus every power-chain loss, every cooling component and misc to 1e-9, and the sampled cumulative
/// energies end at the summary's. Seeded: the same cases every run.
#[test]
fn energy_is_conserved_over_random_scenarios() {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(0x4fac);
    let weathers = [
        format!(
            "Tmy3(path: \"{}\")",
            shared_path("weather/tmy3-723170-greensboro-nc.csv")
        ),
        format!(
            "Tmy3(path: \"{}\")",
            shared_path("weather/tmy3-703165-sand-point-ak.csv")
        ),
        format!(
            "Nyc2013(path: \"{}\")",
            shared_path("weather/nyc-2013-hourly-weather.csv")
        ),
        "Constant(dry_bulb_c: 30.0, rh_pct: 60.0)".to_string(),
    ];
    let cases = 40;
    for case in 0..cases {
        let weather = &weathers[rng.random_range(0..weathers.len())];
        let redundancy = ["N", "NPlus1", "TwoN"][rng.random_range(0..3usize)];
        let chws = [6.7, 12.0, 18.0][rng.random_range(0..3usize)];
        let air = if rng.random::<f64>() < 0.4 {
            ", air_economizer: (supply_c: 24.0)"
        } else {
            ""
        };
        let liquid = if rng.random::<f64>() < 0.4 {
            ", liquid: (fraction: 0.85)"
        } else {
            ""
        };
        // Whole hours, so the last sample (hourly) falls on the horizon.
        let horizon_s = rng.random_range(24..96u32) as f64 * 3600.0;
        let failure = if rng.random::<f64>() < 0.5 {
            let at = rng.random_range(0.0..horizon_s);
            let unit = if rng.random::<bool>() {
                "Chillers"
            } else {
                "Crahs"
            };
            format!(
                ", thermal: (failures: [(unit: {unit}, at_s: {at:?}, restore_s: {:?})])",
                at + 1800.0
            )
        } else {
            String::new()
        };
        let load = rng.random_range(60.0..600.0f64);
        let f = format!(
            "weather: {weather}, power_chain: (ups: (redundancy: {redundancy})), \
             cooling: (chws_c: {chws:?}{air}{liquid}){failure}"
        );
        let out = run_with_load(&format!("prop-{case}"), horizon_s, load, &f);
        let e = &out.summary.energy;
        let c = e.cooling_j.unwrap();
        let l = e.power_chain_loss_j.unwrap();
        let facility = e.facility_j.unwrap();
        let parts = e.it_j
            + l.pdu
            + l.ups
            + l.transformer
            + c.chiller
            + c.tower_fans
            + c.pumps
            + c.crah_fans
            + c.dry_coolers
            + e.misc_j.unwrap();
        assert!(
            (facility - parts).abs() / facility < 1e-9,
            "case {case} ({f}): {facility} vs {parts}"
        );
        assert!((l.total - (l.pdu + l.ups + l.transformer)).abs() / l.total < 1e-12);
        let last = out.timeseries.last().unwrap().facility.unwrap();
        assert!(
            (last.facility_energy_j - facility).abs() / facility < 1e-9,
            "case {case}"
        );
        assert!(
            (last.it_energy_j - e.it_j).abs() / e.it_j < 1e-9,
            "case {case}"
        );
        let fs = out.summary.facility.unwrap();
        assert!(fs.pue > 1.0 && fs.pue < 2.5, "case {case}: PUE {}", fs.pue);
    }
}

/// A chiller trip in a run: the inlet column rises over minutes after the trip (not at once), the summary
/// records the time above the limit and the GPU-seconds throttled (from the crossing until the inlet is 1 K
/// below the limit again).
#[test]
fn chiller_trip_in_a_run_heats_the_inlet_over_minutes() {
    let f = "weather: Constant(dry_bulb_c: 32.0, rh_pct: 60.0), \
             thermal: (failures: [(unit: Chillers, at_s: 36000.0, restore_s: 39600.0)])";
    let out = run_with_load("trip", 86_400.0, 120.0, f);
    let th = out.summary.facility.as_ref().unwrap().thermal;
    let inlet = |t: f64| {
        out.timeseries
            .iter()
            .find(|s| s.time_s == t)
            .unwrap()
            .facility
            .unwrap()
            .inlet_c
    };
    let before = inlet(36000.0);
    let after_hour = inlet(39600.0);
    println!(
        "inlet {before:.2} °C at the trip, {after_hour:.2} °C an hour later; max {:.2} °C; above {} °C for {:.0} s \
         ({:.0} GPU-s), τ normal {:.1} s",
        th.max_inlet_c, th.limit_c, th.above_limit_s, th.throttled_gpu_s, th.time_constant_s
    );
    assert!(before < 27.0 && after_hour > th.limit_c);
    assert!(th.above_limit_s > 0.0 && th.above_limit_s < 3600.0);
    assert!(th.throttle_episodes >= 1);
    assert!(
        th.throttled_gpu_s >= 1024.0 * th.above_limit_s
            && th.throttled_gpu_s < 1024.0 * (th.above_limit_s + 600.0),
        "{th:?}"
    );
    assert_eq!(th.cooling_failures, 1);
    assert!(inlet(86_400.0) < 27.0, "cooled back after the restore");
}
