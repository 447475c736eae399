//! Facility data files: weather and carbon readers on the real files in `../shared/` (`../../shared/` from
//! the crate directory) and on fixtures in `tests/fixtures/facility/`, error positions, exact carbon
//! integrals over a read series, weather and facility configs placed in the scenario, and readers never
//! panic.

use std::path::{Path, PathBuf};

use models::facility::FacilityConfig;
use models::facility::carbon::{CarbonConfig, CarbonSeries, operational_co2_g};
use models::facility::psychro::wet_bulb_stull_c;
use models::facility::weather::{STANDARD_PRESSURE_PA, WeatherConfig, WeatherPoint};
use proptest::prelude::*;
use scenario::FieldErrorExt;
use scenario::readers::{
    load_carbon, load_weather, parse_carbon_csv, parse_epw, parse_nyc_weather, parse_tmy3,
    parse_weather_csv, read_carbon_csv, read_epw, read_nyc_weather, read_tmy3, read_weather_csv,
};
use scenario::{InputError, Location};

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
    // A step shorter than a minute would loop the series billions of times over a horizon.
    let e = parse_weather_csv(
        "time_s,dry_bulb_c,rh_pct\n0,5,80\n1e-9,5,80\n",
        Path::new("w.csv"),
    )
    .unwrap_err();
    at_cell(&e, 3, "time_s", "at least 60 s");
    assert!(
        parse_weather_csv(
            "time_s,dry_bulb_c,rh_pct\n0,5,80\n60,5,80\n",
            Path::new("w.csv")
        )
        .is_ok()
    );
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
        start_hour: 0,
    };
    let year = load_weather(&c, Path::new("../../shared")).unwrap();
    assert_eq!(year.points().len(), 8760);
    // From 10 July 00:00 (hour 4,560): the same points, rotated; past the end is bad input.
    let c = WeatherConfig::Tmy3 {
        path: "weather/tmy3-703165-sand-point-ak.csv".into(),
        start_hour: 4560,
    };
    let july = load_weather(&c, Path::new("../../shared")).unwrap();
    assert_eq!(july.points()[0], year.points()[4560]);
    assert_eq!(july.points()[8760 - 4560], year.points()[0]);
    let c = WeatherConfig::Tmy3 {
        path: "weather/tmy3-703165-sand-point-ak.csv".into(),
        start_hour: 8760,
    };
    let e = load_weather(&c, Path::new("../../shared")).unwrap_err();
    assert!(e.to_string().contains("past its end"), "{e}");
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

// ---------------------------------------------------------------- carbon

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
