//! Facility physics: closed-form cooling, power-chain and water cases, a PUE hand case, embodied carbon and
//! tariffs, power capping against the DVFS model, and properties (energy conservation through the power
//! chain). The weather and carbon readers are tested in `scenario/tests/facility_readers.rs`, the facility
//! meter in `twin/tests/facility_meter.rs`.

use models::facility::capping::{
    CappingConfig, CappingController, Demand, RackInfo, clock_ratio, throughput_ratio,
};
use models::facility::carbon::{
    EmbodiedConfig, SiteInventory, TariffConfig, TariffMeter, embodied_kg,
};
use models::facility::cooling::{
    CoolingConfig, CoolingMode, CrahConfig, LiquidConfig, affinity_power_w, chiller_cop,
    plant_power,
};
use models::facility::power_chain::{LossCoeffs, PowerChainConfig, Redundancy};
use models::facility::water::{WaterConfig, water_rates, wue_l_per_kwh};
use models::facility::weather::{STANDARD_PRESSURE_PA, WeatherPoint};
use models::facility::{FacilityConfig, pue};
use proptest::prelude::*;

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-300)
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
        cfg.ups.module_rating_w = Some(module);
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
    assert_eq!(c.resolve(1.2e6).ups_modules, 16); // 1.2 MW on 150 kW modules: 8, 2N
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

// ---------------------------------------------------------------- power capping

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
