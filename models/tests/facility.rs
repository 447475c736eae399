//! Facility physics: weather and carbon readers on the real files in `../shared/` (`../../shared/` from the
//! crate directory) and on fixtures in `tests/fixtures/facility/`, error positions, closed-form cooling,
//! power-chain and water cases, a PUE hand case, exact carbon and cost integrals, and properties
//! (energy conservation through the power chain, readers never panic).

use std::path::{Path, PathBuf};

use models::error::FieldErrorExt;
use models::facility::carbon::{
    CarbonConfig, CarbonSeries, EmbodiedConfig, SiteInventory, TariffConfig, TariffMeter,
    embodied_kg, operational_co2_g,
};
use models::facility::cooling::{
    CoolingConfig, CoolingMode, CrahConfig, LiquidConfig, affinity_power_w, chiller_cop,
    plant_power,
};
use models::facility::power_chain::{LossCoeffs, PowerChainConfig, Redundancy};
use models::facility::psychro::wet_bulb_stull_c;
use models::facility::water::{WaterConfig, water_rates, wue_l_per_kwh};
use models::facility::weather::{STANDARD_PRESSURE_PA, WeatherConfig, WeatherPoint};
use models::facility::{FacilityConfig, pue};
use models::readers::{
    load_carbon, load_weather, parse_carbon_csv, parse_epw, parse_nyc_weather, parse_tmy3,
    parse_weather_csv, read_carbon_csv, read_epw, read_nyc_weather, read_tmy3, read_weather_csv,
};
use models::{InputError, Location};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new("tests/fixtures/facility").join(name)
}

fn shared(rel: &str) -> PathBuf {
    let p = Path::new("../../shared").join(rel);
    assert!(
        p.exists(),
        "{} is missing: ../shared must sit beside the checkout (see ../shared/README.md)",
        p.display()
    );
    p
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-300)
}

/// Asserts an error at `line` and column `field` whose message contains `needle`.
fn at_cell(e: &InputError, line: usize, field: &str, needle: &str) {
    assert_eq!(
        e.location,
        Location::LineField {
            line,
            field: field.to_string()
        },
        "{e}"
    );
    assert!(e.message.contains(needle), "{e}");
}

// ---------------------------------------------------------------- weather

#[test]
fn tmy3_greensboro_and_sand_point() {
    let g = read_tmy3(&shared("weather/tmy3-723170-greensboro-nc.csv")).unwrap();
    assert_eq!(g.points().len(), 8760);
    assert_eq!(g.step_s(), 3600.0);
    assert_eq!(g.period_s(), 8760.0 * 3600.0);
    assert_eq!(g.info().utc_offset_h, -5.0);
    assert_eq!(g.info().station, "GREENSBORO PIEDMONT TRIAD INT");
    // First row: 01/01 01:00, 10.0 °C, RH 77 %, 993 mbar.
    let p0 = g.at(0.0);
    assert_eq!(
        (p0.dry_bulb_c, p0.rh_pct, p0.pressure_pa),
        (10.0, 77.0, 99_300.0)
    );
    assert_eq!(p0.wet_bulb_c, wet_bulb_stull_c(10.0, 77.0));
    // Last row (12/31 24:00): 2.2 °C, RH 89 %, 980 mbar; and the loop back to the first.
    let last = g.at(8759.5 * 3600.0);
    assert_eq!((last.dry_bulb_c, last.rh_pct), (2.2, 89.0));
    assert_eq!(g.at(8760.0 * 3600.0), p0);
    let s = read_tmy3(&shared("weather/tmy3-703165-sand-point-ak.csv")).unwrap();
    assert_eq!(s.points().len(), 8760);
    let mean = |v: &[WeatherPoint], f: fn(&WeatherPoint) -> f64| {
        v.iter().map(f).sum::<f64>() / v.len() as f64
    };
    let (gm, sm) = (
        mean(g.points(), |p| p.dry_bulb_c),
        mean(s.points(), |p| p.dry_bulb_c),
    );
    let (gw, sw) = (
        mean(g.points(), |p| p.wet_bulb_c),
        mean(s.points(), |p| p.wet_bulb_c),
    );
    let gmax = g
        .points()
        .iter()
        .map(|p| p.wet_bulb_c)
        .fold(f64::MIN, f64::max);
    println!(
        "Greensboro: mean dry bulb {gm:.2} °C, mean wet bulb {gw:.2} °C, max wet bulb {gmax:.2} °C, \
         outside Stull range {}; Sand Point: mean dry bulb {sm:.2} °C, mean wet bulb {sw:.2} °C, \
         outside Stull range {}",
        g.info().outside_stull_range,
        s.info().outside_stull_range
    );
    assert!((12.0..17.0).contains(&gm), "{gm}"); // warm-humid site
    assert!((2.0..7.0).contains(&sm), "{sm}"); // cold site
    assert!(sw < gw);
    for p in g.points().iter().chain(s.points()) {
        assert!(p.wet_bulb_c <= p.dry_bulb_c);
        assert!((0.0..=100.0).contains(&p.rh_pct));
    }
}

#[test]
fn tmy3_errors_name_line_and_column() {
    let path = shared("weather/tmy3-723170-greensboro-nc.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let rebuild = |i: usize, new: &str| {
        let mut v = lines.clone();
        v[i] = new;
        v.join("\n")
    };
    // Line 1000 (0-based 999): a bad dry bulb (field 32, index 31).
    let mut cells: Vec<&str> = lines[999].split(',').collect();
    cells[31] = "warm";
    let bad = cells.join(",");
    let e = parse_tmy3(&rebuild(999, &bad), &path).unwrap_err();
    at_cell(&e, 1000, "Dry-bulb (C)", "found `warm`");
    // A skipped hour: line 10 carries line 11's date and time.
    let mut cells: Vec<&str> = lines[9].split(',').collect();
    cells[1] = "10:00";
    let bad = cells.join(",");
    let e = parse_tmy3(&rebuild(9, &bad), &path).unwrap_err();
    at_cell(&e, 10, "Time (HH:MM)", "expected hour 8 of the year");
    // RH above 100.
    let mut cells: Vec<&str> = lines[4].split(',').collect();
    cells[37] = "101";
    let bad = cells.join(",");
    let e = parse_tmy3(&rebuild(4, &bad), &path).unwrap_err();
    at_cell(&e, 5, "RHum (%)", "from 0 to 100");
    // Truncated file.
    let short = lines[..100].join("\n");
    let e = parse_tmy3(&short, &path).unwrap_err();
    assert_eq!(e.location, Location::File);
    assert!(e.message.contains("found 98"), "{e}");
    // Missing column.
    let e = parse_tmy3(&rebuild(1, "Date (MM/DD/YYYY),Time (HH:MM)"), &path).unwrap_err();
    assert_eq!(e.location, Location::Line(2), "{e}");
    assert!(e.message.contains("`Dry-bulb (C)`"), "{e}");
    let e = read_tmy3(Path::new("no/such/tmy3.csv")).unwrap_err();
    assert_eq!(e.location, Location::File);
}

#[test]
fn epw_fixture() {
    let s = read_epw(&fixture("tiny.epw")).unwrap();
    assert_eq!(s.points().len(), 48);
    assert_eq!(s.step_s(), 3600.0);
    assert_eq!(s.info().station, "Testville");
    assert_eq!(s.info().utc_offset_h, -5.0);
    // Row k: dry bulb (k+1)/2 °C, 50 %, 100 kPa.
    let p = s.at(2.5 * 3600.0);
    assert_eq!(
        (p.dry_bulb_c, p.rh_pct, p.pressure_pa),
        (1.5, 50.0, 100_000.0)
    );
    // Row 5 (index 4) had RH 999: from its dew point (2.5 − 10 = −7.5 °C) by Magnus.
    let p4 = s.points()[4];
    let rh = models::facility::psychro::rh_from_dew_point_pct(2.5, -7.5);
    assert_eq!(p4.rh_pct, rh);
    assert!((45.0..50.0).contains(&rh), "{rh}");
    // Row 7 had pressure 999999: the previous row's pressure holds.
    assert_eq!(s.points()[6].pressure_pa, 100_000.0);
    assert_eq!(s.info().filled_pressure, 1);
    // Loops after 48 h.
    assert_eq!(s.at(48.0 * 3600.0), s.points()[0]);
}

#[test]
fn epw_errors() {
    let e = read_epw(&fixture("bad_hour.epw")).unwrap_err();
    at_cell(&e, 20, "hour", "expected month 1, day 1, hour 12");
    let text = std::fs::read_to_string(fixture("tiny.epw")).unwrap();
    let bad = text.replacen(",3.0,-7.0,50,", ",hot,-7.0,50,", 1);
    let e = parse_epw(&bad, Path::new("x.epw")).unwrap_err();
    at_cell(&e, 14, "dry bulb temperature (C)", "found `hot`");
    let e = parse_epw("LOCATION,a\n", Path::new("x.epw")).unwrap_err();
    assert_eq!(e.location, Location::Line(1), "{e}");
    let e = parse_epw("LOCATION,a,b,c,d,e,f,g,-5,1\n", Path::new("x.epw")).unwrap_err();
    assert_eq!(e.location, Location::File, "{e}");
}

#[test]
fn simple_csv() {
    let s = read_weather_csv(&fixture("weather_rh.csv")).unwrap();
    assert_eq!(s.step_s(), 1800.0);
    assert_eq!(s.points().len(), 3);
    assert_eq!(s.at(1800.0).dry_bulb_c, 25.0);
    assert_eq!(s.at(1800.0).pressure_pa, 100_000.0);
    assert_eq!(s.at(5399.0).dry_bulb_c, 30.0);
    assert_eq!(s.at(5400.0).dry_bulb_c, 20.0); // period 5400 s
    let d = read_weather_csv(&fixture("weather_dew.csv")).unwrap();
    assert_eq!(d.step_s(), 3600.0);
    let p = d.at(0.0);
    assert!((p.rh_pct - 52.54).abs() < 0.01, "{}", p.rh_pct);
    assert_eq!(p.pressure_pa, STANDARD_PRESSURE_PA);
    let e = read_weather_csv(&fixture("weather_bad_step.csv")).unwrap_err();
    at_cell(&e, 4, "time_s", "expected 7200");
    let e = read_weather_csv(&fixture("weather_bad_rh.csv")).unwrap_err();
    at_cell(&e, 3, "rh_pct", "found `150`");
    let e = parse_weather_csv("time_s,dry_bulb_c,rh\n", Path::new("w.csv")).unwrap_err();
    at_cell(&e, 1, "rh", "unknown column");
    let e = parse_weather_csv("time_s,dry_bulb_c\n0,1\n", Path::new("w.csv")).unwrap_err();
    assert_eq!(e.location, Location::Line(1));
    // One row: a constant climate.
    let c = parse_weather_csv("time_s,dry_bulb_c,rh_pct\n0,5,80\n", Path::new("w.csv")).unwrap();
    assert_eq!(c.at(1e7).dry_bulb_c, 5.0);
}

#[test]
fn nyc_2013() {
    let path = shared("weather/nyc-2013-hourly-weather.csv");
    let jfk = read_nyc_weather(&path, "JFK").unwrap();
    let i = jfk.info();
    println!(
        "NYC JFK: rows {}, skipped {}, filled hours {}, filled pressure {}, points {}",
        i.rows,
        i.skipped_rows,
        i.filled_steps,
        i.filled_pressure,
        jfk.points().len()
    );
    assert_eq!(
        (i.rows, i.skipped_rows, i.filled_steps, i.filled_pressure),
        (8706, 0, 24, 831)
    );
    assert_eq!(jfk.points().len(), 8730);
    assert_eq!(i.start_unix_s, Some(1_357_020_000)); // 2013-01-01T06:00:00Z
    let ewr = read_nyc_weather(&path, "EWR").unwrap();
    assert_eq!(
        (ewr.info().rows, ewr.info().skipped_rows),
        (8702, 1) // one all-NA row, 2013-08-22T13:00:00Z
    );
    // First EWR row: 39.02 °F = 3.9 °C, 59.37 %, 1012 hPa.
    let p = ewr.at(0.0);
    assert!((p.dry_bulb_c - 3.9).abs() < 1e-9);
    assert_eq!((p.rh_pct, p.pressure_pa), (59.37, 101_200.0));
    let mean = jfk.points().iter().map(|p| p.dry_bulb_c).sum::<f64>() / 8730.0;
    assert!((10.0..16.0).contains(&mean), "{mean}");
    let e = read_nyc_weather(&path, "SFO").unwrap_err();
    assert_eq!(e.location, Location::File);
    assert!(e.message.contains("EWR, JFK, LGA"), "{e}");
    let head = "origin,year,month,day,hour,temp,dewp,humid,wind_dir,wind_speed,wind_gust,precip,pressure,visib,time_hour\n";
    let bad = format!(
        "{head}JFK,2013,1,1,1,39,26,59,270,10,NA,0,1012,10,2013-01-01T06:00:00Z\nJFK,2013,1,1,0,39,26,59,270,10,NA,0,1012,10,2013-01-01T05:00:00Z\n"
    );
    let e = parse_nyc_weather(&bad, Path::new("n.csv"), "JFK").unwrap_err();
    at_cell(&e, 3, "time_hour", "increasing time");
    let bad = format!(
        "{head}JFK,2013,1,1,1,39,26,59,270,10,NA,0,1012,10,2013-01-01T06:00:00Z\nJFK,2013,2,1,0,39,26,59,270,10,NA,0,NA,10,2013-02-01T06:00:00Z\n"
    );
    let e = parse_nyc_weather(&bad, Path::new("n.csv"), "JFK").unwrap_err();
    at_cell(&e, 3, "time_hour", "743 hours without a usable row");
    let bad = format!("{head}JFK,2013,1,1,1,warm,26,59,270,10,NA,0,1012,10,2013-01-01T06:00:00Z\n");
    let e = parse_nyc_weather(&bad, Path::new("n.csv"), "JFK").unwrap_err();
    at_cell(&e, 2, "temp", "found `warm`");
}

#[test]
fn weather_config_serde_and_check() {
    let c: WeatherConfig = ron::from_str("Nyc2013(path: \"x.csv\")").unwrap();
    assert_eq!(
        c,
        WeatherConfig::Nyc2013 {
            path: "x.csv".into(),
            origin: "JFK".into()
        }
    );
    assert!(ron::from_str::<WeatherConfig>("Tmy3(path: \"x\", typo: 1)").is_err());
    let c: WeatherConfig = ron::from_str("Constant(dry_bulb_c: 20, rh_pct: 150)").unwrap();
    assert_eq!(c.check().unwrap_err().path, "Constant.rh_pct");
    let c = WeatherConfig::Tmy3 {
        path: "weather/tmy3-703165-sand-point-ak.csv".into(),
    };
    assert_eq!(
        load_weather(&c, Path::new("../../shared"))
            .unwrap()
            .points()
            .len(),
        8760
    );
}

// ---------------------------------------------------------------- power chain

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Each level's input is exactly its output plus its loss, levels chain exactly, and the utility
    /// input equals IT + Σ losses to rounding.
    #[test]
    fn chain_conserves_power(
        it in 0.0f64..5e7,
        design in 1e3f64..5e7,
        c in proptest::array::uniform9(0.0f64..0.05),
        module in 1e4f64..2e6,
        red in 0usize..3,
        transformer in any::<bool>(),
    ) {
        let mut cfg = PowerChainConfig::default();
        cfg.pdu.loss = LossCoeffs { c0: c[0], c1: c[1], c2: c[2] };
        cfg.ups.loss = LossCoeffs { c0: c[3], c1: c[4], c2: c[5] };
        cfg.ups.module_rating_w = module;
        cfg.ups.redundancy = [Redundancy::N, Redundancy::NPlus1, Redundancy::TwoN][red];
        if transformer {
            cfg.transformer = Some(models::facility::power_chain::StageConfig {
                rating_w: None,
                loss: LossCoeffs { c0: c[6], c1: c[7], c2: c[8] },
            });
        }
        prop_assert!(cfg.check().is_ok());
        let chain = cfg.resolve(design);
        let f = chain.flow(it);
        for l in [f.pdu, f.ups, f.transformer] {
            prop_assert_eq!(l.input_w, l.output_w + l.loss_w);
            prop_assert!(l.loss_w >= 0.0 && l.input_w >= l.output_w);
        }
        prop_assert_eq!(f.pdu.output_w, it);
        prop_assert_eq!(f.ups.output_w, f.pdu.input_w);
        if transformer {
            prop_assert_eq!(f.transformer.output_w, f.ups.input_w);
            prop_assert_eq!(f.input_w(), f.transformer.input_w);
        } else {
            prop_assert_eq!(f.input_w(), f.ups.input_w);
        }
        let sum = it + f.loss_w();
        prop_assert!((f.input_w() - sum).abs() <= 1e-12 * f.input_w().max(1.0));
    }
}

#[test]
fn chain_config_errors_and_defaults() {
    let c: PowerChainConfig = ron::from_str("(ups: (redundancy: TwoN))").unwrap();
    assert_eq!(c.ups.loss, LossCoeffs::UPS_MODERN);
    assert_eq!(c.pdu.loss, LossCoeffs::TRANSFORMER_PDU);
    assert_eq!(c.resolve(1.2e6).ups_modules, 6); // ⌈1.2 MW / 500 kW⌉ = 3, 2N
    let mut bad = c.clone();
    bad.ups.loss.c2 = -1.0;
    assert_eq!(bad.check().unwrap_err().path, "ups.loss.c2");
    let mut bad = c;
    bad.ratings.rack_w = Some(0.0);
    assert_eq!(bad.check().unwrap_err().path, "ratings.rack_w");
    assert!(ron::from_str::<PowerChainConfig>("(pdu: (rateing_w: 1))").is_err());
}

// ---------------------------------------------------------------- cooling, water, PUE

fn hand_case_config() -> FacilityConfig {
    let mut f = FacilityConfig::default();
    // PDU: 2 % of load; UPS: 5 % of load (no fixed or square terms), 1 module, N.
    f.power_chain.pdu.loss = LossCoeffs {
        c0: 0.0,
        c1: 0.02,
        c2: 0.0,
    };
    f.power_chain.ups.loss = LossCoeffs {
        c0: 0.0,
        c1: 0.05,
        c2: 0.0,
    };
    f.power_chain.ups.modules = Some(1);
    f.power_chain.ups.redundancy = Redundancy::N;
    f.cooling = CoolingConfig {
        cop_max: 5.0,
        chw_pump_w_per_w: 0.01,
        cw_pump_w_per_w: 0.0,
        tower_fan_w_per_w: 0.01,
        // V = Q / (1·1000·10) m³/s; P = V · 600 / 0.6 = Q / 10.
        crah: CrahConfig {
            delta_t_k: 10.0,
            air_density_kg_m3: 1.0,
            air_cp_j_kg_k: 1000.0,
            fan_pressure_pa: 600.0,
            fan_efficiency: 0.6,
        },
        ..CoolingConfig::default()
    };
    f.misc_fraction = 0.01;
    f
}

#[test]
fn pue_hand_case() {
    let fac = hand_case_config().resolve(1e6);
    // Hot: 30 °C, 50 % → T_wb ≈ 22.4 °C, mechanical; Carnot COP 0.6·279.85/(T_wb + 2.3) ≈ 6.8 → capped at 5.
    let hot = WeatherPoint::new(30.0, 50.0, STANDARD_PRESSURE_PA);
    let p = fac.power(1e6, &hot);
    // Chain: PDU loss 20 kW, UPS loss 0.05 · 1.02 MW = 51 kW; indoor heat Q = 1.071 MW = the design heat.
    assert!(close(p.chain.loss_w(), 71_000.0, 1e-12));
    assert!(close(fac.cooling.design_heat_w, 1.071e6, 1e-12));
    let c = p.cooling;
    assert_eq!(c.mode, CoolingMode::Mechanical);
    assert_eq!(c.cop, 5.0);
    assert!(close(c.chiller_w, 214_200.0, 1e-12)); // 1.071 MW / 5
    assert!(close(c.tower_heat_w, 1.2852e6, 1e-12)); // Q·(1 + 1/5)
    assert!(close(c.tower_fan_w, 10_710.0 * 1.728, 1e-12)); // 0.01·Q_d·1.2³
    assert!(close(c.pumps_w, 10_710.0, 1e-12)); // CHW pumps 0.01·Q_d at ratio 1
    assert!(close(c.crah_fan_w, 107_100.0, 1e-12)); // Q/10
    assert_eq!(c.dry_cooler_w, 0.0);
    assert!(close(p.misc_w, 10_000.0, 1e-12));
    // Total = 1e6 + 71e3 + 214.2e3 + 18,506.88 + 10,710 + 107,100 + 10,000 = 1,431,516.88 W.
    assert!(close(p.total_w, 1_431_516.88, 1e-12), "{}", p.total_w);
    assert!(close(p.pue(), 1.43151688, 1e-12));
    assert!(close(
        pue(1e6, c.total_w(), 71_000.0, 10_000.0),
        p.total_w / 1e6,
        1e-12
    ));
    // Water: 1.2852 MW / 2.43 MJ/kg = 0.5289 L/s evaporated, ×1.25 make-up at CoC 5.
    assert!(close(p.water.evaporation_l_s, 1.2852e6 / 2.43e6, 1e-12));
    assert!(close(p.water.makeup_l_s, 1.25 * 1.2852e6 / 2.43e6, 1e-12));

    // Cold: −5 °C, 50 % → wet bulb below 1.2 °C: full free cooling, chillers off.
    let cold = WeatherPoint::new(-5.0, 50.0, STANDARD_PRESSURE_PA);
    let p = fac.power(1e6, &cold);
    assert_eq!(p.cooling.mode, CoolingMode::Free);
    assert_eq!(p.cooling.chiller_w, 0.0);
    assert!(close(p.cooling.tower_heat_w, 1.071e6, 1e-12));
    assert!(close(p.cooling.tower_fan_w, 10_710.0, 1e-12));
    // 1e6 + 71e3 + 10,710 (tower) + 10,710 (pumps) + 107,100 (CRAH) + 10,000 (misc).
    assert!(close(p.pue(), 1.20952, 1e-12), "{}", p.pue());
    println!(
        "PUE hand case: hot {:.6}, cold {:.6}",
        fac.power(1e6, &hot).pue(),
        p.pue()
    );
}

#[test]
fn affinity_half_flow_eighth_power() {
    assert_eq!(affinity_power_w(1000.0, 0.5), 125.0);
    // Through the plant: half the heat → half the airflow → 1/8 CRAH fan power.
    let plant = CoolingConfig::default().resolve(1e6);
    let w = WeatherPoint::STANDARD;
    let full = plant_power(1e6, &w, &plant);
    let half = plant_power(5e5, &w, &plant);
    assert!(close(half.crah_fan_w, full.crah_fan_w / 8.0, 1e-12));
    // Default CRAH: 1 MW at 12 K → 69.1 m³/s × 300 Pa / 0.6 = 34.55 kW.
    assert!(close(
        full.crah_fan_w,
        1e6 / (1.2 * 1005.0 * 12.0) * 500.0,
        1e-12
    ));
}

#[test]
fn cop_and_partial_mode() {
    let cop = chiller_cop(0.6, 6.7, 34.6, 12.0);
    assert!((cop - 6.018).abs() < 1e-3, "{cop}");
    let plant = CoolingConfig::default().resolve(1e6);
    // Wet bulb 3.7 °C: halfway through the 5 K band → half free.
    let mut w = WeatherPoint::STANDARD;
    w.wet_bulb_c = 3.7;
    let p = plant_power(1e6, &w, &plant);
    assert_eq!(p.mode, CoolingMode::Partial);
    assert!((p.free_fraction - 0.5).abs() < 1e-12);
    assert!(close(p.chiller_w, 5e5 / p.cop, 1e-12));
    // Default COP at 20 °C/50 %: T_cond = 13.70 + 9 = 22.70 °C, lift 16.0 K → 0.6·279.85/16.0 = 10.49.
    let p = plant_power(1e6, &WeatherPoint::STANDARD, &plant);
    assert_eq!(p.mode, CoolingMode::Mechanical);
    assert!((p.cop - 0.6 * 279.85 / (WeatherPoint::STANDARD.wet_bulb_c + 9.0 - 6.7)).abs() < 1e-12);
}

#[test]
fn air_economizer_window() {
    let cfg = CoolingConfig {
        air_economizer: Some(Default::default()),
        ..CoolingConfig::default()
    };
    let plant = cfg.resolve(1e6);
    // 15 °C, 50 % RH: dew point ≈ 4.6 °C — inside the window.
    let p = plant_power(
        1e6,
        &WeatherPoint::new(15.0, 50.0, STANDARD_PRESSURE_PA),
        &plant,
    );
    assert_eq!(p.mode, CoolingMode::AirSide);
    assert_eq!((p.chiller_w, p.tower_heat_w), (0.0, 0.0));
    assert_eq!(p.outside_air_heat_w, 1e6);
    assert!(p.crah_fan_w > 0.0);
    // Too humid (RH 80 %) or too warm (23 °C) → not.
    let humid = plant_power(
        1e6,
        &WeatherPoint::new(15.0, 80.0, STANDARD_PRESSURE_PA),
        &plant,
    );
    assert_ne!(humid.mode, CoolingMode::AirSide);
    let warm = plant_power(
        1e6,
        &WeatherPoint::new(23.0, 40.0, STANDARD_PRESSURE_PA),
        &plant,
    );
    assert_ne!(warm.mode, CoolingMode::AirSide);
}

#[test]
fn liquid_to_dry_coolers_uses_no_water() {
    let cfg = CoolingConfig {
        liquid: Some(LiquidConfig {
            fraction: 1.0,
            ..LiquidConfig::default()
        }),
        ..CoolingConfig::default()
    };
    let plant = cfg.resolve(1e6);
    // 20 °C + 8 K approach ≤ 35 °C supply: all heat to dry coolers.
    let p = plant_power(1e6, &WeatherPoint::STANDARD, &plant);
    assert_eq!(p.dry_cooler_heat_w, 1e6);
    assert_eq!((p.chiller_w, p.tower_heat_w, p.crah_fan_w), (0.0, 0.0, 0.0));
    assert!(close(p.dry_cooler_w, 15_000.0, 1e-12));
    assert_eq!(
        water_rates(p.tower_heat_w, &WaterConfig::default()).makeup_l_s,
        0.0
    );
    // 30 °C: 38 > 35 → the liquid heat falls back to the chilled-water plant.
    let hot = plant_power(
        1e6,
        &WeatherPoint::new(30.0, 30.0, STANDARD_PRESSURE_PA),
        &plant,
    );
    assert_eq!(hot.dry_cooler_heat_w, 0.0);
    assert!(hot.chiller_w > 0.0 && hot.tower_heat_w > 1e6);
    // 85 % default split: 15 % to air.
    let cfg = CoolingConfig {
        liquid: Some(LiquidConfig::default()),
        ..CoolingConfig::default()
    };
    let plant = cfg.resolve(1e6);
    let p = plant_power(1e6, &WeatherPoint::STANDARD, &plant);
    assert!(close(p.dry_cooler_heat_w, 850_000.0, 1e-12));
    assert!(close(
        p.tower_heat_w,
        150_000.0 * (1.0 + 1.0 / p.cop),
        1e-12
    ));
}

#[test]
fn wue_over_a_day() {
    // 1 MW IT for 24 h and 1.2 MW rejected by towers: 1.2e6·86400/2.43e6 L evaporated, ×1.25.
    let r = water_rates(1.2e6, &WaterConfig::default());
    let litres = r.makeup_l_s * 86_400.0;
    assert!(close(litres, 1.25 * 1.2e6 * 86_400.0 / 2.43e6, 1e-12));
    let wue = wue_l_per_kwh(litres, 1e6 * 86_400.0);
    assert!(close(wue, 1.25 * 1.2 * 3.6 / 2.43, 1e-12), "{wue}"); // 2.222 L/kWh
}

#[test]
fn facility_config_ron() {
    let c: FacilityConfig = ron::from_str(
        "(cooling: (chws_c: 18, liquid: Some(())), carbon: Some(Constant(g_per_kwh: 238)))",
    )
    .unwrap();
    assert_eq!(c.cooling.chws_c, 18.0);
    assert_eq!(c.cooling.liquid.as_ref().unwrap().fraction, 0.85);
    assert_eq!(c.cooling.carnot_eta, 0.6);
    assert_eq!(c.water.cycles_of_concentration, 5.0);
    c.check().unwrap();
    let bad: FacilityConfig = ron::from_str("(cooling: (crah: (fan_efficiency: 1.5)))").unwrap();
    let e = bad.check().unwrap_err();
    assert_eq!(e.path, "cooling.crah.fan_efficiency");
    assert!(
        e.clone()
            .into_input_error("s.ron")
            .to_string()
            .starts_with("s.ron: field `cooling.crah.fan_efficiency`")
    );
    let e = ron::from_str::<FacilityConfig>("(cooling: (chws: 18))").unwrap_err();
    assert!(e.to_string().contains("chws"), "{e}");
    let round = ron::to_string(&FacilityConfig::default()).unwrap();
    assert_eq!(
        ron::from_str::<FacilityConfig>(&round).unwrap(),
        FacilityConfig::default()
    );
}

// ---------------------------------------------------------------- carbon and cost

#[test]
fn entsoe_real_files() {
    for (name, rows, lo, hi, mean_lo, mean_hi) in [
        ("fr", 18_574, 19.0, 117.0, 50.0, 65.0),
        ("gb", 21_980, 63.0, 395.0, 200.0, 240.0),
        ("ger", 37_147, 100.0, 594.0, 290.0, 340.0),
    ] {
        let s = read_carbon_csv(&shared(&format!(
            "carbon/entsoe-2020-{name}-carbon-intensity.csv"
        )))
        .unwrap();
        assert_eq!(s.len(), rows, "{name}");
        let v = s.values();
        let (min, max) = v
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        assert!(min >= lo && max <= hi, "{name}: {min}..{max}");
        // Time-weighted mean over the whole span = ∫CI dt / span.
        let span = *s.times_s().last().unwrap();
        let mean = s.integral(0.0, span) / span;
        println!("{name}: {rows} rows, {min:.1}..{max:.1} gCO2/kWh, time-weighted mean {mean:.1}");
        assert!((mean_lo..mean_hi).contains(&mean), "{name}: {mean}");
        // 2019-12-20 00:00:00
        assert_eq!(s.start_unix_s(), Some(1_576_800_000));
    }
    // GB mixes 30- and 15-minute steps: step-hold uses each row until the next.
    let gb = read_carbon_csv(&shared("carbon/entsoe-2020-gb-carbon-intensity.csv")).unwrap();
    let c = CarbonConfig::Csv {
        path: "carbon/entsoe-2020-gb-carbon-intensity.csv".into(),
        start: Some("2020-10-31 00:00:00".into()),
    };
    let from_oct = load_carbon(&c, Path::new("../../shared")).unwrap();
    assert_eq!(from_oct.next_change_s(0.0), 900.0);
    assert_eq!(from_oct.at(0.0), gb.at(from_oct.origin_s()));
}

#[test]
fn carbon_fixture_exact_integral() {
    // 100 g/kWh for 30 min, 200 for 15, 50 for 15, then 80.
    let s = read_carbon_csv(&fixture("carbon_small.csv")).unwrap();
    assert_eq!(s.times_s(), &[0.0, 1800.0, 2700.0, 3600.0]);
    // 2 MW from 0 to 40 min, 1 MW from 40 min to 2 h:
    // 2 MW: 0.5 h·100 + (10/60) h·200 = 50 + 33.333 g per kW → ×2000 kW
    // 1 MW: (5/60) h·200 + 0.25 h·50 + 1 h·80 → ×1000 kW
    let steps = [(0.0, 2e6), (2400.0, 1e6)];
    let g = operational_co2_g(&steps, 7200.0, &s);
    let expected = 2000.0 * (0.5 * 100.0 + 600.0 / 3600.0 * 200.0)
        + 1000.0 * (300.0 / 3600.0 * 200.0 + 0.25 * 50.0 + 80.0);
    assert!(close(g, expected, 1e-12), "{g} vs {expected}");
    // Piece by piece, as the simulation would at each power change, gives the same sum.
    let pieces = s.co2_g(2e6, 0.0, 2400.0) + s.co2_g(1e6, 2400.0, 7200.0);
    assert!(close(pieces, g, 1e-12));
    // Constant intensity: P · T · CI.
    let c = CarbonSeries::constant(238.0);
    assert!(close(
        operational_co2_g(&[(0.0, 1e6)], 3600.0, &c),
        238_000.0,
        1e-12
    ));
    let e = read_carbon_csv(&fixture("carbon_bad_order.csv")).unwrap_err();
    at_cell(&e, 4, "Time", "not after line 3");
    let e = read_carbon_csv(&fixture("carbon_bad_value.csv")).unwrap_err();
    at_cell(&e, 3, "Carbon Intensity", "found `-3`");
    let e = parse_carbon_csv(
        "Time,Carbon Intensity\n2020-13-01 00:00:00,1\n",
        Path::new("c.csv"),
    )
    .unwrap_err();
    at_cell(&e, 2, "Time", "YYYY-MM-DD");
}

#[test]
fn embodied_hand_case() {
    let site = SiteInventory {
        servers: 100,
        gpus: 800,
        racks: 10,
        design_power_w: 1e6,
    };
    let year = 365.25 * 86_400.0;
    let e = embodied_kg(&site, year, &EmbodiedConfig::default());
    assert!(close(e.servers_kg, 100.0 * 350.0 / 6.0, 1e-12));
    assert!(close(e.gpus_kg, 800.0 * 318.0 / 6.0, 1e-12));
    assert!(close(e.racks_kg, 10.0 * 500.0 / 15.0, 1e-12));
    assert!(close(e.building_kg, 1e6 * 0.18 / 20.0, 1e-12)); // 9,000 t / 50 MW / 20 years
    assert!(close(e.total_kg(), 57_566.666_666_666_67, 1e-12));
}

#[test]
fn tariff_meter_hand_case() {
    let cfg = TariffConfig::default(); // 0.08 /kWh, 10 /kW per 30-day period
    let day = 86_400.0;
    let mut m = TariffMeter::default();
    m.add(&cfg, 1e6, 0.0, 10.0 * day);
    m.add(&cfg, 2e6, 10.0 * day, 35.0 * day);
    let c = m.cost(&cfg);
    // Energy: (1000 kW · 240 h + 2000 kW · 600 h) · 0.08 = 115,200.
    assert!(close(c.energy, 115_200.0, 1e-12), "{}", c.energy);
    // Demand: periods 0 and 1 both peak at 2,000 kW → 2 · 2000 · 10.
    assert!(close(c.demand, 40_000.0, 1e-12), "{}", c.demand);
    assert!(close(c.total(), 155_200.0, 1e-12));
    // An interval ending exactly on a period boundary does not open the next period.
    let mut m = TariffMeter::default();
    m.add(&cfg, 1e6, 0.0, 30.0 * day);
    assert!(close(m.cost(&cfg).demand, 10_000.0, 1e-12));
    let bad: TariffConfig = ron::from_str(
        "(energy: TimeOfUse(default_per_kwh: 0.1, windows: [(start_hour: 8, end_hour: 12, per_kwh: 0.2), (start_hour: 11, end_hour: 13, per_kwh: 0.3)]))",
    )
    .unwrap();
    assert_eq!(bad.check().unwrap_err().path, "energy.TimeOfUse.windows[1]");
}

// ---------------------------------------------------------------- never panic

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn readers_never_panic(text in "[0-9a-zA-Z,.:/ \\-\"\r\n]{0,400}") {
        let p = Path::new("fuzz.csv");
        let _ = parse_tmy3(&text, p);
        let _ = parse_epw(&text, p);
        let _ = parse_weather_csv(&text, p);
        let _ = parse_nyc_weather(&text, p, "JFK");
        let _ = parse_carbon_csv(&text, p);
    }

    #[test]
    fn weather_csv_rows_never_panic(rows in proptest::collection::vec(("[-0-9.e]{0,8}", "[-0-9.]{0,6}", "[-0-9.]{0,6}"), 0..20)) {
        let mut text = String::from("time_s,dry_bulb_c,rh_pct\n");
        for (a, b, c) in &rows {
            text.push_str(&format!("{a},{b},{c}\n"));
        }
        if let Ok(s) = parse_weather_csv(&text, Path::new("w.csv")) {
            prop_assert!(!s.points().is_empty());
            let _ = s.at(1e12);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Rack inlet temperature (RC model) and cooling failures.

use models::facility::capping::{
    CappingConfig, CappingController, Demand, RackInfo, clock_ratio, throughput_ratio,
};
use models::facility::meter::FacilityMeter;
use models::facility::thermal::{CoolingFailure, FailedUnit, ThermalConfig, ThermalSpec};
use models::facility::weather::WeatherSeries;
use sim::SimTime;

/// A 1 MW (design) site of 32 racks × 4 servers × 8 GPUs at constant IT power `it_w`, hot and humid
/// outside (chillers carry everything), chillers tripping at `fail_s`.
fn failing_meter(it_w: f64, fail_s: f64, restore_s: Option<f64>) -> (FacilityMeter, ThermalSpec) {
    let cfg = FacilityConfig {
        thermal: ThermalConfig {
            failures: vec![CoolingFailure {
                unit: FailedUnit::Chillers,
                at_s: fail_s,
                restore_s,
            }],
            ..ThermalConfig::default()
        },
        ..FacilityConfig::default()
    };
    cfg.check().unwrap();
    let spec = ThermalSpec::new(&cfg.thermal, 128, 32, 1024, 1e6, 0.0);
    let hot = WeatherSeries::constant(WeatherPoint::new(35.0, 60.0, STANDARD_PRESSURE_PA));
    let m = FacilityMeter::new(
        cfg.resolve(1e6),
        hot,
        None,
        TariffConfig::default(),
        spec.clone(),
        None,
        it_w,
    );
    (m, spec)
}

/// After a chiller trip the inlet follows `T∞ + (T₀ − T∞)·exp(−t/τ)` with `τ = C/G` of the failed state
/// (checked at two points), and time above the limit starts exactly at the crossing.
#[test]
fn chiller_failure_inlet_follows_the_rc_exponential() {
    let it_w = 8e5;
    let fail_s = 3600.0;
    let (mut m, spec) = failing_meter(it_w, fail_s, None);
    let c = spec.heat_capacity_j_k;
    let g_d = spec.design_conductance_w_k;
    let cfg = &spec.config;
    // Before: steady state at supply + Q/G_d = 22 + 0.8·3 = 24.4 °C.
    let before = m.sample(SimTime::from_secs(3000));
    let t0 = cfg.supply_c + it_w / g_d;
    assert!((before.inlet_c - t0).abs() < 1e-9, "{}", before.inlet_c);
    assert!((t0 - 24.4).abs() < 1e-9);
    // Failed (mechanical mode, no free cooling): G = residual · G_d.
    let g = cfg.residual_fraction * g_d;
    let tau = c / g;
    let t_inf = cfg.supply_c + it_w / g;
    let expect = |t: f64| t_inf + (t0 - t_inf) * (-(t - fail_s) / tau).exp();
    for frac in [0.5, 2.0] {
        let t = fail_s + frac * tau;
        let s = m.sample(SimTime::from_secs_f64(t).unwrap());
        let t_ns = SimTime::from_secs_f64(t).unwrap().as_secs_f64();
        assert!(
            (s.inlet_c - expect(t_ns)).abs() < 1e-9,
            "at τ·{frac}: {} vs {}",
            s.inlet_c,
            expect(t_ns)
        );
    }
    println!(
        "chiller trip at 80 % load: τ = {tau:.1} s (normal {:.1} s), T∞ = {t_inf:.2} °C",
        c / g_d
    );
    // Minutes, not instantly: the limit is reached after a minute or more.
    let cross = fail_s + tau * ((t0 - t_inf) / (cfg.limit_c - t_inf)).ln();
    assert!(cross - fail_s > 60.0, "{}", cross - fail_s);
    println!(
        "time to the {} °C limit: {:.1} s",
        cfg.limit_c,
        cross - fail_s
    );
    let (mut m, _) = failing_meter(it_w, fail_s, None);
    let just_before = SimTime::from_secs_f64(cross - 0.001).unwrap();
    m.advance(just_before);
    assert_eq!(
        m.zone().above_limit_s(),
        0.0,
        "no throttling before the crossing"
    );
    assert!(!m.zone().throttled(just_before.as_secs_f64()));
    let later = SimTime::from_secs_f64(cross + 100.0).unwrap();
    m.advance(later);
    assert!(m.zone().throttled(later.as_secs_f64()));
    assert!(
        (m.zone().above_limit_s() - (later.as_secs_f64() - cross)).abs() < 1e-6,
        "{}",
        m.zone().above_limit_s()
    );
    // The zone's own crossing time agrees with the closed form.
    let (m2, _) = failing_meter(it_w, fail_s, None);
    let mut z = m2.zone().clone();
    z.set_conductance(fail_s, g);
    assert!((z.time_until(fail_s, cfg.limit_c).unwrap() - (cross - fail_s)).abs() < 1e-9);
}

/// Chillers restored: the inlet falls back towards the normal steady state; the chillers draw nothing while
/// tripped, and energy is still conserved.
#[test]
fn chiller_restore_cools_back_and_conserves_energy() {
    let (mut m, spec) = failing_meter(6e5, 600.0, Some(900.0));
    let during = m.sample(SimTime::from_secs(800));
    assert_eq!(during.chiller_w, 0.0);
    let peak = m.sample(SimTime::from_secs(900)).inlet_c;
    let after = m.sample(SimTime::from_secs(4000));
    assert!(after.chiller_w > 0.0);
    let normal = spec.config.supply_c + 6e5 / spec.design_conductance_w_k;
    assert!(peak > normal + 1.0 && (after.inlet_c - normal).abs() < 1e-3);
    let t = m.totals();
    let parts = t.it_j
        + t.power_chain_loss_j
        + t.chiller_j
        + t.tower_fan_j
        + t.pumps_j
        + t.crah_fan_j
        + t.dry_cooler_j
        + t.misc_j;
    assert!((t.facility_j - parts).abs() / t.facility_j < 1e-12);
    assert!((m.zone().max_c() - peak).abs() < 1e-12);
}

// ---------------------------------------------------------------------------------------------------------
// Power capping.

fn cap_racks(n: u32) -> Vec<RackInfo> {
    (0..n)
        .map(|i| RackInfo {
            row: i / 4,
            gpus: 8,
            gpu_board_w: 700.0,
            psu_efficiency: 0.95,
        })
        .collect()
}

/// Random demand steps under a feed budget below the peak demand: the budget is never exceeded for longer
/// than one control interval (each excursion starts with a demand rise and ends at the next decision), and
/// without a controller the same demand stays over budget much longer.
#[test]
fn feed_budget_is_exceeded_for_at_most_one_interval() {
    use rand::RngExt;
    let racks = cap_racks(8); // 64 GPUs
    let interval = 5.0;
    let budget = 30_000.0; // demand at full load ≈ 64·650/0.95 + 8·1500 = 55.8 kW
    let run = |controller: bool| {
        let cfg = CappingConfig {
            interval_s: interval,
            feed_budget_w: Some(budget),
            controller,
            ..CappingConfig::default()
        };
        let mut c = CappingController::new(&cfg, racks.clone(), Default::default());
        let mut rng = rand_chacha_like(7);
        let mut gpu = vec![70.0; 64];
        let other = vec![1500.0; 8];
        let mut next_decision = 0.0;
        let mut t: f64 = 0.0;
        let mut over_since: Option<f64> = None;
        let mut longest: f64 = 0.0;
        let mut episodes = 0;
        while t < 14_400.0 {
            // Demand changes at random instants (exponential gaps, mean 60 s).
            let gap = -60.0 * (1.0 - rng.random::<f64>()).ln();
            let t_change = t + gap;
            while next_decision <= t_change && next_decision < 14_400.0 {
                c.decide(
                    next_decision,
                    &Demand {
                        gpu_w: &gpu,
                        rack_other_w: &other,
                    },
                );
                track(
                    &c,
                    next_decision,
                    budget,
                    &mut over_since,
                    &mut longest,
                    &mut episodes,
                );
                next_decision += interval;
            }
            t = t_change;
            for g in gpu.iter_mut() {
                if rng.random::<f64>() < 0.2 {
                    *g = if rng.random::<f64>() < 0.7 {
                        650.0
                    } else {
                        70.0
                    };
                }
            }
            c.observe(
                t,
                &Demand {
                    gpu_w: &gpu,
                    rack_other_w: &other,
                },
            );
            track(&c, t, budget, &mut over_since, &mut longest, &mut episodes);
        }
        c.advance(t);
        if let Some(s) = over_since {
            longest = longest.max(t - s);
        }
        (longest, episodes, *c.totals())
    };
    fn track(
        c: &CappingController,
        t: f64,
        budget: f64,
        over_since: &mut Option<f64>,
        longest: &mut f64,
        episodes: &mut u32,
    ) {
        let over = c.feed_power_w() > budget * (1.0 + 1e-9);
        match (over, *over_since) {
            (true, None) => {
                *over_since = Some(t);
                *episodes += 1;
            }
            (false, Some(s)) => {
                *longest = longest.max(t - s);
                *over_since = None;
            }
            _ => {}
        }
    }
    let (longest, episodes, totals) = run(true);
    println!(
        "controlled: {episodes} excursions, longest {longest:.3} s, over budget {:.1} s, energy capped {:.1} kWh, \
         throughput lost {:.1} GPU-s",
        totals.feed_over_budget_s,
        totals.energy_capped_j / 3.6e6,
        totals.throughput_lost_gpu_s
    );
    assert!(
        episodes > 10,
        "the test must provoke excursions: {episodes}"
    );
    assert!(longest <= interval + 1e-9, "{longest}");
    assert!(totals.energy_capped_j > 0.0 && totals.throughput_lost_gpu_s > 0.0);
    let (free_longest, _, free_totals) = run(false);
    println!(
        "uncontrolled: longest excursion {free_longest:.1} s, over budget {:.1} s",
        free_totals.feed_over_budget_s
    );
    assert!(free_totals.feed_over_budget_s > 5.0 * totals.feed_over_budget_s);
    assert_eq!(free_totals.energy_capped_j, 0.0);
}

/// The test's random stream: ChaCha8 (the simulator's generator), fixed seed.
fn rand_chacha_like(seed: u64) -> sim::SimRng {
    sim::RngStreams::new(seed).stream("capping-test")
}

/// Constant compute-bound demand under a feed budget: the controller's throughput loss equals the DVFS model
/// at the cap it chose, and the cap meets the budget.
#[test]
fn capping_throughput_loss_matches_the_dvfs_model() {
    let racks = cap_racks(4); // 32 GPUs
    let cfg = CappingConfig {
        feed_budget_w: Some(20_000.0),
        ..CappingConfig::default()
    };
    let mut c = CappingController::new(&cfg, racks, Default::default());
    let gpu = vec![700.0; 32];
    let other = vec![500.0; 4];
    let d = Demand {
        gpu_w: &gpu,
        rack_other_w: &other,
    };
    let mut t = 0.0;
    while t < 600.0 {
        c.decide(t, &d);
        t += cfg.interval_s;
    }
    c.advance(600.0);
    // 2000 + 32·cap/0.95 = 20000 → cap = 534.375 W.
    let cap = (20_000.0 - 2000.0) * 0.95 / 32.0;
    assert!((c.caps_w()[0] - cap).abs() < 1e-9);
    let r = clock_ratio(cap, 700.0, 100.0, 3.0);
    assert!((r - ((cap - 100.0) / 600.0).cbrt()).abs() < 1e-12);
    let t = c.totals();
    assert!((t.throughput_lost_gpu_s - 32.0 * (1.0 - r) * 600.0).abs() < 1e-6);
    assert!((t.energy_capped_j - 32.0 * (700.0 - cap) / 0.95 * 600.0).abs() < 1e-3);
    assert_eq!(t.over_budget_s, 0.0);
    assert!((c.rack_speeds()[0] - r).abs() < 1e-15);
    // Memory-bound decode barely slows: β = 0.2 compute-bound share.
    let decode = throughput_ratio(cap, 700.0, 100.0, 3.0, 0.2);
    assert!(decode > 0.97 && decode < 1.0, "{decode}");
    println!(
        "cap {cap:.1} W of 700: compute-bound speed {r:.4}, energy capped {:.2} kWh, throughput lost {:.1} %",
        t.energy_capped_j / 3.6e6,
        100.0 * (1.0 - r)
    );
}
