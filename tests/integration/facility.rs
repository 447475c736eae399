//! Facility physics in the run: conservation of energy through the chain, climate and grid comparisons.
use models::output::RunOutput;
use models::scenario::{Override, load_scenario};

use crate::common::{root, shared, temp_dir, write};

/// The quickstart cluster with a facility section; `facility` is the body of `facility: (...)`.
fn run(tag: &str, horizon_s: f64, facility: &str) -> RunOutput {
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
            "    reporting: (interval_s: 600.0),",
            &format!("    reporting: (interval_s: 3600.0),\n    facility: ({facility}),"),
        );
    let path = write(&dir, "s.ron", &text);
    let o = Override::parse(&format!("horizon_s={horizon_s}")).unwrap();
    let loaded = load_scenario(&path, &[o], None).unwrap_or_else(|e| panic!("{e}"));
    models::datacenter::run(&loaded, &mut |_| {})
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
