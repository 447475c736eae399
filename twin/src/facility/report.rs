//! Turns a [`FacilityMeter`]'s integrals into the summary's facility figures.

use super::meter::FacilityMeter;
use models::facility::carbon::{SiteInventory, embodied_kg};
use output::{
    CappingSummary, CarbonSummary, ChainLoss, CoolingEnergy, CoolingSummary, CostSummary,
    EnergySummary, FacilitySummary, ModeHours, ThermalSummary, WaterSummary, WeatherSummary,
};
use scenario::LoadedScenario;

/// Fills the facility fields of `energy` and returns the facility section, for a run of `horizon_s`.
pub fn summarize(
    meter: &FacilityMeter,
    loaded: &LoadedScenario,
    horizon_s: f64,
    energy: &mut EnergySummary,
) -> FacilitySummary {
    let t = meter.totals();
    let lf = loaded
        .facility
        .as_ref()
        .expect("a facility meter implies a facility");
    let cooling = CoolingEnergy {
        chiller: t.chiller_j,
        tower_fans: t.tower_fan_j,
        pumps: t.pumps_j,
        crah_fans: t.crah_fan_j,
        dry_coolers: t.dry_cooler_j,
        total: t.chiller_j + t.tower_fan_j + t.pumps_j + t.crah_fan_j + t.dry_cooler_j,
    };
    energy.facility_j = Some(t.facility_j);
    energy.cooling_j = Some(cooling);
    energy.power_chain_loss_j = Some(ChainLoss {
        pdu: t.pdu_loss_j,
        ups: t.ups_loss_j,
        transformer: t.transformer_loss_j,
        total: t.power_chain_loss_j,
    });
    energy.misc_j = Some(t.misc_j);
    let it_kwh = t.it_j / 3.6e6;
    let site_l = t.water_evaporation_l + t.water_blowdown_l;
    let site = &loaded.site;
    let embodied = embodied_kg(
        &SiteInventory {
            servers: site.servers.len() as u64,
            gpus: site.gpus_total(),
            racks: site.racks as u64,
            design_power_w: lf.design_it_w,
        },
        horizon_s,
        &lf.config.embodied,
    );
    let operational_kg = t.co2_g / 1000.0;
    let facility_kwh = t.facility_j / 3.6e6;
    let cost = meter.cost();
    let h = |s: f64| s / 3600.0;
    FacilitySummary {
        pue: if t.it_j > 0.0 {
            t.facility_j / t.it_j
        } else {
            0.0
        },
        wue_l_per_kwh: if it_kwh > 0.0 { site_l / it_kwh } else { 0.0 },
        cue_kg_per_kwh: if it_kwh > 0.0 {
            operational_kg / it_kwh
        } else {
            0.0
        },
        facility_peak_w: t.facility_peak_w,
        carbon: CarbonSummary {
            operational_kg,
            embodied_kg: embodied.total_kg(),
            intensity_mean_g_per_kwh: if lf.carbon.is_some() && facility_kwh > 0.0 {
                t.co2_g / facility_kwh
            } else {
                0.0
            },
        },
        water: WaterSummary {
            site_l,
            evaporation_l: t.water_evaporation_l,
            blowdown_l: t.water_blowdown_l,
        },
        cost: CostSummary {
            energy: cost.energy,
            demand: cost.demand,
            total: cost.total(),
        },
        cooling: CoolingSummary {
            hours_by_mode: ModeHours {
                mechanical: h(t.mode_s[0]),
                partial: h(t.mode_s[1]),
                free: h(t.mode_s[2]),
                air_side: h(t.mode_s[3]),
            },
        },
        weather: WeatherSummary {
            station: lf.weather.info().station.clone(),
            wet_bulb_max_c: t.wet_bulb_max_c,
        },
        thermal: {
            let z = meter.zone();
            let spec = meter.thermal();
            ThermalSummary {
                max_inlet_c: z.max_c(),
                throttled_gpu_s: spec.gpus as f64 * z.above_limit_s(),
                above_limit_s: z.above_limit_s(),
                above_recommended_s: z.above_recommended_s(),
                limit_c: z.limit_c(),
                time_constant_s: if spec.design_conductance_w_k > 0.0 {
                    spec.heat_capacity_j_k / spec.design_conductance_w_k
                } else {
                    0.0
                },
                heat_capacity_j_per_k: spec.heat_capacity_j_k,
                cooling_failures: spec
                    .config
                    .failures
                    .iter()
                    .filter(|f| f.at_s < horizon_s)
                    .count() as u64,
                throttle_episodes: 0,
            }
        },
        capping: (lf.config.capping.is_some() || lf.facility.chain.ratings.feed_w.is_some()).then(
            || CappingSummary {
                feed_budget_w: lf.config.capping.as_ref().and_then(|c| c.feed_budget_w),
                time_over_budget_s: t.feed_over_budget_s,
                trips: t.feed_trip_s.is_some() as u64,
                first_trip_s: t.feed_trip_s,
                controller: None,
            },
        ),
        breakers: None,
    }
}

/// What the facility side of a run leaves out, for `summary.not_modelled`.
pub fn not_modelled(loaded: &LoadedScenario) -> Vec<String> {
    match loaded.facility {
        None => vec![
            "facility overhead (cooling, power-chain losses): the scenario has no `facility` section, so energy is \
             IT energy at the server inlets; no PUE"
                .into(),
        ],
        Some(_) if matches!(loaded.scenario.workload, scenario::Workload::Inference(_)) => vec![
            "feedback of the facility into inference replicas: the inlet model and the breakers are computed but \
             do not throttle or stop replicas, and the capping controller's budgets do not act on them (only the \
             static gpu_cap_w slows replicas)"
                .into(),
        ],
        Some(_) => {
            let mut v = vec![
                "per-rack inlet temperatures: one cooling zone per site, so throttling acts on every GPU at once; \
                 tripped breakers are not reset"
                    .into(),
            ];
            if loaded.scenario.serving.is_some() {
                v.push(
                    "facility feedback into the shared fleet's replicas: throttling, capping and breaker trips act \
                     on jobs only"
                        .into(),
                );
            }
            v
        }
    }
}
