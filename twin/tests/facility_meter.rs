//! The facility meter: rack inlet temperature (RC model) through cooling failures and restores, integrated
//! exactly during a run.

use models::facility::FacilityConfig;
use models::facility::carbon::TariffConfig;
use models::facility::thermal::{CoolingFailure, FailedUnit, ThermalConfig, ThermalSpec};
use models::facility::weather::{STANDARD_PRESSURE_PA, WeatherPoint, WeatherSeries};
use sim::SimTime;
use twin::facility::FacilityMeter;

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
