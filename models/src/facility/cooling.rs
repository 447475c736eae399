//! The cooling plant: chilled water from electric chillers (a Carnot fraction of the ideal COP) with
//! cooling towers, a water-side economizer (free/partial/mechanical by outdoor wet bulb), an optional
//! air-side economizer, CRAH fans, pumps and, optionally, direct-to-chip liquid cooling to dry coolers.
//! Defaults: `../shared/reference/models.md` §3.
//!
//! Sizing: each fan and pump has a design power at the plant's design heat `Q_d` (the site's design IT
//! power plus indoor power-chain losses). Its flow is taken proportional to the heat it moves at a fixed
//! temperature difference, so by the affinity laws its power is `P_design · (Q/Q_d)³`; the ratio may
//! exceed 1 (towers reject the chiller's own power too). There is no minimum speed.

use serde::{Deserialize, Serialize};

use super::psychro::dew_point_c;
use super::weather::WeatherPoint;
use crate::check::{FieldError, fraction, non_negative, positive};

/// 0 °C in kelvin.
pub const ZERO_C_K: f64 = 273.15;

/// Chiller COP as a fraction of the Carnot COP: `COP = η · T_evap / (T_cond − T_evap)`, temperatures in
/// kelvin (inputs in °C). Capped at `cop_max`; a lift ≤ 0 gives `cop_max`.
/// η = 0.6, 6.7 °C / 34.6 °C (AHRI 550/590) → COP ≈ 6.0 [models.md §3].
pub fn chiller_cop(eta: f64, t_evap_c: f64, t_cond_c: f64, cop_max: f64) -> f64 {
    let lift = t_cond_c - t_evap_c;
    if lift <= 0.0 {
        return cop_max;
    }
    (eta * (t_evap_c + ZERO_C_K) / lift).min(cop_max)
}

/// Affinity laws: power scales with the cube of the flow (speed) ratio, `P = P_design · r³` (80 % speed →
/// 51.2 % power). A negative ratio counts as 0.
pub fn affinity_power_w(design_w: f64, flow_ratio: f64) -> f64 {
    let r = flow_ratio.max(0.0);
    design_w * r * r * r
}

/// Volumetric airflow, m³/s, that carries `heat_w` at a temperature rise `delta_t_k`:
/// `V = Q / (ρ · c_p · ΔT)`. 1 kW at 12 K with ρ = 1.2 kg/m³, c_p = 1005 J/(kg·K) → 0.0691 m³/s.
pub fn airflow_m3_s(heat_w: f64, density_kg_m3: f64, cp_j_kg_k: f64, delta_t_k: f64) -> f64 {
    heat_w / (density_kg_m3 * cp_j_kg_k * delta_t_k)
}

/// Fan shaft-to-wire power, W, moving `flow_m3_s` against `pressure_pa` at total efficiency `eta`:
/// `P = V · Δp / η`.
pub fn fan_power_w(flow_m3_s: f64, pressure_pa: f64, eta: f64) -> f64 {
    flow_m3_s * pressure_pa / eta
}

/// Condenser water temperature, °C: `T_cond = T_wb + approach + range` [models.md §3].
pub fn condenser_c(wet_bulb_c: f64, approach_k: f64, range_k: f64) -> f64 {
    wet_bulb_c + approach_k + range_k
}

/// The share of the chilled-water load the water-side economizer carries, 0–1: with
/// `x = T_wb + tower approach + HX approach − T_chws`, 1 when `x ≤ 0`, `1 − x/band` when
/// `0 < x < band`, 0 above [models.md §3: full free cooling at `T_wb + 4 + 1.5 ≤ T_chws`, partial within
/// 5 K; linear share: eng].
pub fn free_fraction(wet_bulb_c: f64, chws_c: f64, approach_k: f64, hx_k: f64, band_k: f64) -> f64 {
    let x = wet_bulb_c + approach_k + hx_k - chws_c;
    if x <= 0.0 {
        1.0
    } else if band_k > 0.0 && x < band_k {
        1.0 - x / band_k
    } else {
        0.0
    }
}

/// How the plant cools at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CoolingMode {
    /// Chillers carry the whole chilled-water load.
    Mechanical,
    /// The water-side economizer pre-cools; chillers trim.
    Partial,
    /// Towers through the economizer heat exchanger carry the whole load; chillers off.
    Free,
    /// Outside air cools the air-side heat; no chilled water for it.
    AirSide,
}

/// CRAH/air-handler fans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrahConfig {
    /// Air temperature rise across the IT, K. Default 12 [models.md §3].
    #[serde(default = "d_delta_t")]
    pub delta_t_k: f64,
    /// Air density, kg/m³. Default 1.2 [physics, ~20 °C sea level].
    #[serde(default = "d_rho")]
    pub air_density_kg_m3: f64,
    /// Air specific heat, J/(kg·K). Default 1005 \[physics\].
    #[serde(default = "d_cp")]
    pub air_cp_j_kg_k: f64,
    /// Fan total pressure at design flow, Pa. Default 300 \[eng\].
    #[serde(default = "d_pressure")]
    pub fan_pressure_pa: f64,
    /// Fan + motor + drive efficiency. Default 0.6 \[eng\].
    #[serde(default = "d_fan_eta")]
    pub fan_efficiency: f64,
}

fn d_delta_t() -> f64 {
    12.0
}
fn d_rho() -> f64 {
    1.2
}
fn d_cp() -> f64 {
    1005.0
}
fn d_pressure() -> f64 {
    300.0
}
fn d_fan_eta() -> f64 {
    0.6
}

impl Default for CrahConfig {
    fn default() -> Self {
        CrahConfig {
            delta_t_k: d_delta_t(),
            air_density_kg_m3: d_rho(),
            air_cp_j_kg_k: d_cp(),
            fan_pressure_pa: d_pressure(),
            fan_efficiency: d_fan_eta(),
        }
    }
}

/// Air-side economizer window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AirEconomizerConfig {
    /// Supply-air setpoint, °C. Default 24 [eng, inside ASHRAE's recommended 18–27 °C inlet range].
    #[serde(default = "d_supply")]
    pub supply_c: f64,
    /// Outdoor dry bulb must be at least this much below the setpoint, K. Default 1.5 [models.md §3].
    #[serde(default = "d_hx")]
    pub approach_k: f64,
    /// Lowest outdoor dew point, °C. Default −9 [ASHRAE TC 9.9 (2015) recommended envelope].
    #[serde(default = "d_dew_min")]
    pub dew_point_min_c: f64,
    /// Highest outdoor dew point, °C. Default 15 [ASHRAE TC 9.9 (2015)].
    #[serde(default = "d_dew_max")]
    pub dew_point_max_c: f64,
    /// Highest outdoor relative humidity, %. Default 60 [ASHRAE TC 9.9 (2015)].
    #[serde(default = "d_rh_max")]
    pub rh_max_pct: f64,
}

fn d_supply() -> f64 {
    24.0
}
fn d_hx() -> f64 {
    1.5
}
fn d_dew_min() -> f64 {
    -9.0
}
fn d_dew_max() -> f64 {
    15.0
}
fn d_rh_max() -> f64 {
    60.0
}

impl Default for AirEconomizerConfig {
    fn default() -> Self {
        AirEconomizerConfig {
            supply_c: d_supply(),
            approach_k: d_hx(),
            dew_point_min_c: d_dew_min(),
            dew_point_max_c: d_dew_max(),
            rh_max_pct: d_rh_max(),
        }
    }
}

impl AirEconomizerConfig {
    /// Whether outside air can cool: `T_db + approach ≤ supply` and the dew point and RH inside the
    /// envelope.
    pub fn in_window(&self, w: &WeatherPoint) -> bool {
        let dp = dew_point_c(w.dry_bulb_c, w.rh_pct);
        w.dry_bulb_c + self.approach_k <= self.supply_c
            && (self.dew_point_min_c..=self.dew_point_max_c).contains(&dp)
            && w.rh_pct <= self.rh_max_pct
    }
}

/// Direct-to-chip liquid cooling with a warm-water loop to dry coolers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiquidConfig {
    /// Share of IT heat to the liquid loop. Default 0.85 (70–95 %) [models.md §3].
    #[serde(default = "d_liquid_fraction")]
    pub fraction: f64,
    /// Liquid supply temperature, °C. Default 35 (warm water 30–45 °C) [models.md §3].
    #[serde(default = "d_liquid_supply")]
    pub supply_c: f64,
    /// Dry-cooler approach to outdoor dry bulb, K. Default 8 \[eng\].
    #[serde(default = "d_dry_approach")]
    pub dry_cooler_approach_k: f64,
    /// Dry-cooler fan power at design liquid heat, W per W. Default 0.015 \[eng\].
    #[serde(default = "d_dry_fan")]
    pub dry_cooler_fan_w_per_w: f64,
    /// Liquid-loop (CDU) pump power at design liquid heat, W per W. Default 0.005 \[eng\].
    #[serde(default = "d_cdu_pump")]
    pub pump_w_per_w: f64,
}

fn d_liquid_fraction() -> f64 {
    0.85
}
fn d_liquid_supply() -> f64 {
    35.0
}
fn d_dry_approach() -> f64 {
    8.0
}
fn d_dry_fan() -> f64 {
    0.015
}
fn d_cdu_pump() -> f64 {
    0.005
}

impl Default for LiquidConfig {
    fn default() -> Self {
        LiquidConfig {
            fraction: d_liquid_fraction(),
            supply_c: d_liquid_supply(),
            dry_cooler_approach_k: d_dry_approach(),
            dry_cooler_fan_w_per_w: d_dry_fan(),
            pump_w_per_w: d_cdu_pump(),
        }
    }
}

/// The cooling plant's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoolingConfig {
    /// Chilled-water supply (= evaporator) temperature, °C. Default 6.7 [AHRI 550/590, models.md §3].
    #[serde(default = "d_chws")]
    pub chws_c: f64,
    /// Fraction of the Carnot COP a chiller reaches. Default 0.6 [models.md §3].
    #[serde(default = "d_eta")]
    pub carnot_eta: f64,
    /// COP ceiling (small lifts). Default 12 [eng: best centrifugal chillers at low lift].
    #[serde(default = "d_cop_max")]
    pub cop_max: f64,
    /// Cooling-tower approach to wet bulb, K. Default 4 [models.md §3].
    #[serde(default = "d_tower_approach")]
    pub tower_approach_k: f64,
    /// Condenser water range, K. Default 5 [models.md §3].
    #[serde(default = "d_range")]
    pub condenser_range_k: f64,
    /// Economizer heat-exchanger approach, K. Default 1.5 [models.md §3].
    #[serde(default = "d_hx")]
    pub economizer_hx_approach_k: f64,
    /// Partial-economizer band above full free cooling, K. Default 5 [models.md §3].
    #[serde(default = "d_band")]
    pub partial_band_k: f64,
    /// Chilled-water pumps at design heat, W per W. Default 0.015 \[eng\].
    #[serde(default = "d_chw_pump")]
    pub chw_pump_w_per_w: f64,
    /// Condenser-water pumps at design heat, W per W. Default 0.01 \[eng\].
    #[serde(default = "d_cw_pump")]
    pub cw_pump_w_per_w: f64,
    /// Cooling-tower fans at design heat, W per W. Default 0.008 \[eng\].
    #[serde(default = "d_tower_fan")]
    pub tower_fan_w_per_w: f64,
    #[serde(default)]
    pub crah: CrahConfig,
    /// Air-side economizer; default none.
    #[serde(default)]
    pub air_economizer: Option<AirEconomizerConfig>,
    /// Direct-to-chip liquid cooling; default none (all heat to air).
    #[serde(default)]
    pub liquid: Option<LiquidConfig>,
}

fn d_chws() -> f64 {
    6.7
}
fn d_eta() -> f64 {
    0.6
}
fn d_cop_max() -> f64 {
    12.0
}
fn d_tower_approach() -> f64 {
    4.0
}
fn d_range() -> f64 {
    5.0
}
fn d_band() -> f64 {
    5.0
}
fn d_chw_pump() -> f64 {
    0.015
}
fn d_cw_pump() -> f64 {
    0.01
}
fn d_tower_fan() -> f64 {
    0.008
}

impl Default for CoolingConfig {
    fn default() -> Self {
        CoolingConfig {
            chws_c: d_chws(),
            carnot_eta: d_eta(),
            cop_max: d_cop_max(),
            tower_approach_k: d_tower_approach(),
            condenser_range_k: d_range(),
            economizer_hx_approach_k: d_hx(),
            partial_band_k: d_band(),
            chw_pump_w_per_w: d_chw_pump(),
            cw_pump_w_per_w: d_cw_pump(),
            tower_fan_w_per_w: d_tower_fan(),
            crah: CrahConfig::default(),
            air_economizer: None,
            liquid: None,
        }
    }
}

impl CoolingConfig {
    /// Checks the values; paths like `crah.fan_efficiency`, `liquid.fraction`.
    pub fn check(&self) -> Result<(), FieldError> {
        crate::check::finite("chws_c", self.chws_c)?;
        if self.carnot_eta <= 0.0 || self.carnot_eta > 1.0 {
            return Err(FieldError::new(
                "carnot_eta",
                format!("must be a fraction > 0 and ≤ 1, found {}", self.carnot_eta),
            ));
        }
        positive("cop_max", self.cop_max)?;
        non_negative("tower_approach_k", self.tower_approach_k)?;
        non_negative("condenser_range_k", self.condenser_range_k)?;
        non_negative("economizer_hx_approach_k", self.economizer_hx_approach_k)?;
        non_negative("partial_band_k", self.partial_band_k)?;
        non_negative("chw_pump_w_per_w", self.chw_pump_w_per_w)?;
        non_negative("cw_pump_w_per_w", self.cw_pump_w_per_w)?;
        non_negative("tower_fan_w_per_w", self.tower_fan_w_per_w)?;
        let c = &self.crah;
        positive("crah.delta_t_k", c.delta_t_k)?;
        positive("crah.air_density_kg_m3", c.air_density_kg_m3)?;
        positive("crah.air_cp_j_kg_k", c.air_cp_j_kg_k)?;
        non_negative("crah.fan_pressure_pa", c.fan_pressure_pa)?;
        if c.fan_efficiency <= 0.0 || c.fan_efficiency > 1.0 {
            return Err(FieldError::new(
                "crah.fan_efficiency",
                format!("must be a fraction > 0 and ≤ 1, found {}", c.fan_efficiency),
            ));
        }
        if let Some(a) = &self.air_economizer {
            crate::check::finite("air_economizer.supply_c", a.supply_c)?;
            non_negative("air_economizer.approach_k", a.approach_k)?;
            crate::check::finite("air_economizer.dew_point_min_c", a.dew_point_min_c)?;
            crate::check::finite("air_economizer.dew_point_max_c", a.dew_point_max_c)?;
            if a.dew_point_min_c > a.dew_point_max_c {
                return Err(FieldError::new(
                    "air_economizer.dew_point_min_c",
                    "must not exceed dew_point_max_c",
                ));
            }
            if !(0.0..=100.0).contains(&a.rh_max_pct) {
                return Err(FieldError::new(
                    "air_economizer.rh_max_pct",
                    format!("must be from 0 to 100, found {}", a.rh_max_pct),
                ));
            }
        }
        if let Some(l) = &self.liquid {
            fraction("liquid.fraction", l.fraction)?;
            crate::check::finite("liquid.supply_c", l.supply_c)?;
            non_negative("liquid.dry_cooler_approach_k", l.dry_cooler_approach_k)?;
            non_negative("liquid.dry_cooler_fan_w_per_w", l.dry_cooler_fan_w_per_w)?;
            non_negative("liquid.pump_w_per_w", l.pump_w_per_w)?;
        }
        Ok(())
    }

    /// The plant sized for design heat `design_heat_w` (W).
    pub fn resolve(&self, design_heat_w: f64) -> CoolingPlant {
        let design = design_heat_w.max(0.0);
        let liquid_fraction = self.liquid.as_ref().map_or(0.0, |l| l.fraction);
        let design_air = design * (1.0 - liquid_fraction);
        let c = &self.crah;
        let v = airflow_m3_s(
            design_air,
            c.air_density_kg_m3,
            c.air_cp_j_kg_k,
            c.delta_t_k,
        );
        CoolingPlant {
            cfg: self.clone(),
            design_heat_w: design,
            design_air_heat_w: design_air,
            design_liquid_heat_w: design * liquid_fraction,
            crah_design_fan_w: fan_power_w(v, c.fan_pressure_pa, c.fan_efficiency),
        }
    }
}

/// A plant sized for one site.
#[derive(Debug, Clone, PartialEq)]
pub struct CoolingPlant {
    pub cfg: CoolingConfig,
    /// Design heat `Q_d`, W.
    pub design_heat_w: f64,
    /// Design heat to air, W: `Q_d · (1 − liquid fraction)`.
    pub design_air_heat_w: f64,
    /// Design heat to liquid, W.
    pub design_liquid_heat_w: f64,
    /// CRAH fan power at design airflow, W: `V_d · Δp / η` with `V_d` = [`airflow_m3_s`] of the design air heat.
    pub crah_design_fan_w: f64,
}

/// Cooling power at one instant, W, and where the heat went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoolingPower {
    pub chiller_w: f64,
    pub tower_fan_w: f64,
    /// Chilled-water, condenser-water and liquid-loop (CDU) pumps.
    pub pumps_w: f64,
    pub crah_fan_w: f64,
    /// Dry-cooler fans.
    pub dry_cooler_w: f64,
    pub mode: CoolingMode,
    /// Chiller COP at this condenser temperature (reported even when chillers are off).
    pub cop: f64,
    /// Share of the chilled-water load carried by the water-side economizer.
    pub free_fraction: f64,
    /// Heat rejected by the cooling towers (evaporates water), W.
    pub tower_heat_w: f64,
    /// Heat rejected by dry coolers (no water), W.
    pub dry_cooler_heat_w: f64,
    /// Heat removed by outside air (air-side economizer), W.
    pub outside_air_heat_w: f64,
}

impl CoolingPower {
    /// All cooling power, W.
    pub fn total_w(&self) -> f64 {
        self.chiller_w + self.tower_fan_w + self.pumps_w + self.crah_fan_w + self.dry_cooler_w
    }
}

fn ratio(q: f64, design: f64) -> f64 {
    if design > 0.0 { q / design } else { 0.0 }
}

/// The plant's power to remove `heat_w` (W) in weather `w`. O(1), no allocation.
///
/// 1. Liquid share `f·Q` goes to dry coolers when `T_db + dry-cooler approach ≤ liquid supply`, else to
///    the chilled-water plant. The rest, `(1 − f)·Q`, goes to air: CRAH fans
///    `P_crah,d · ((1 − f)Q / Q_air,d)³`.
/// 2. Air heat goes to outside air when the air-side economizer is configured and in its window, else to
///    chilled water.
/// 3. Chilled-water load `Q_chw`: the economizer carries [`free_fraction`]`·Q_chw`, chillers the rest at
///    [`chiller_cop`] with `T_cond =` [`condenser_c`]. Chiller power `Q_mech / COP`.
/// 4. Towers reject `Q_free + Q_mech·(1 + 1/COP)`; tower fans and condenser pumps scale with it, chilled
///    water pumps with `Q_chw`, CDU pumps with the liquid heat, dry-cooler fans with the dry-cooler heat,
///    each by the cube of its ratio to the design heat.
pub fn plant_power(heat_w: f64, w: &WeatherPoint, plant: &CoolingPlant) -> CoolingPower {
    let cfg = &plant.cfg;
    let q = heat_w.max(0.0);
    let (mut q_liquid, mut dry_heat, mut liquid_to_chw, mut dry_w, mut cdu_w) =
        (0.0, 0.0, 0.0, 0.0, 0.0);
    if let Some(l) = &cfg.liquid {
        q_liquid = l.fraction * q;
        if w.dry_bulb_c + l.dry_cooler_approach_k <= l.supply_c {
            dry_heat = q_liquid;
        } else {
            liquid_to_chw = q_liquid;
        }
        let d = plant.design_liquid_heat_w;
        dry_w = affinity_power_w(l.dry_cooler_fan_w_per_w * d, ratio(dry_heat, d));
        cdu_w = affinity_power_w(l.pump_w_per_w * d, ratio(q_liquid, d));
    }
    let q_air = q - q_liquid;
    let crah_fan_w = affinity_power_w(
        plant.crah_design_fan_w,
        ratio(q_air, plant.design_air_heat_w),
    );
    let air_side = cfg.air_economizer.as_ref().is_some_and(|a| a.in_window(w));
    let (outside_air, q_chw) = if air_side {
        (q_air, liquid_to_chw)
    } else {
        (0.0, q_air + liquid_to_chw)
    };
    let free = free_fraction(
        w.wet_bulb_c,
        cfg.chws_c,
        cfg.tower_approach_k,
        cfg.economizer_hx_approach_k,
        cfg.partial_band_k,
    );
    let t_cond = condenser_c(w.wet_bulb_c, cfg.tower_approach_k, cfg.condenser_range_k);
    let cop = chiller_cop(cfg.carnot_eta, cfg.chws_c, t_cond, cfg.cop_max);
    let q_free = free * q_chw;
    let q_mech = q_chw - q_free;
    let chiller_w = q_mech / cop;
    let tower_heat_w = q_free + q_mech + chiller_w;
    let d = plant.design_heat_w;
    let tower_fan_w = affinity_power_w(cfg.tower_fan_w_per_w * d, ratio(tower_heat_w, d));
    let pumps_w = affinity_power_w(cfg.chw_pump_w_per_w * d, ratio(q_chw, d))
        + affinity_power_w(cfg.cw_pump_w_per_w * d, ratio(tower_heat_w, d))
        + cdu_w;
    let mode = if air_side {
        CoolingMode::AirSide
    } else if free >= 1.0 {
        CoolingMode::Free
    } else if free > 0.0 {
        CoolingMode::Partial
    } else {
        CoolingMode::Mechanical
    };
    CoolingPower {
        chiller_w,
        tower_fan_w,
        pumps_w,
        crah_fan_w,
        dry_cooler_w: dry_w,
        mode,
        cop,
        free_fraction: free,
        tower_heat_w,
        dry_cooler_heat_w: dry_heat,
        outside_air_heat_w: outside_air,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-12)
    }

    #[test]
    fn cop_at_ahri_conditions() {
        // 0.6 · 279.85 / (34.6 − 6.7) = 6.018
        let cop = chiller_cop(0.6, 6.7, 34.6, 100.0);
        assert!(close(cop, 0.6 * 279.85 / 27.9, 1e-12), "{cop}");
        assert!((cop - 6.0).abs() < 0.05);
        assert_eq!(chiller_cop(0.6, 6.7, 6.0, 12.0), 12.0);
        assert_eq!(chiller_cop(0.6, 6.7, 8.0, 12.0), 12.0);
    }

    #[test]
    fn affinity_and_airflow() {
        assert_eq!(affinity_power_w(800.0, 0.5), 100.0);
        assert!(close(affinity_power_w(1.0, 0.8), 0.512, 1e-12));
        let v = airflow_m3_s(1000.0, 1.2, 1005.0, 12.0);
        assert!((v - 0.0691).abs() < 5e-5, "{v}");
    }

    #[test]
    fn economizer_thresholds() {
        // chws 6.7: free at T_wb ≤ 1.2, partial up to 6.2, mechanical above.
        assert_eq!(free_fraction(1.2, 6.7, 4.0, 1.5, 5.0), 1.0);
        assert!(close(free_fraction(3.7, 6.7, 4.0, 1.5, 5.0), 0.5, 1e-12));
        assert_eq!(free_fraction(6.3, 6.7, 4.0, 1.5, 5.0), 0.0);
    }
}
