//! Site water: cooling-tower evaporation and blowdown, and WUE. Dry coolers and air-side economizers use
//! no water; only heat rejected by towers ([`super::cooling::CoolingPower::tower_heat_w`]) evaporates any.
//! Water is counted as 1 kg = 1 L.

use serde::{Deserialize, Serialize};

use crate::check::{FieldError, positive};

/// Joules per kWh.
pub const J_PER_KWH: f64 = 3.6e6;

/// The tower water model's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaterConfig {
    /// Latent heat of vaporisation, J/kg. Default 2.43 MJ/kg (water at ≈ 30 °C) → 1.48 L per kWh
    /// rejected [models.md §3; steam tables: 2.43 MJ/kg at 30 °C, 2.45 at 20 °C].
    #[serde(default = "d_hfg")]
    pub latent_heat_j_per_kg: f64,
    /// Cycles of concentration (make-up / blowdown dissolved-solids ratio). Default 5 [models.md §3].
    #[serde(default = "d_coc")]
    pub cycles_of_concentration: f64,
}

fn d_hfg() -> f64 {
    2.43e6
}
fn d_coc() -> f64 {
    5.0
}

impl Default for WaterConfig {
    fn default() -> Self {
        WaterConfig {
            latent_heat_j_per_kg: d_hfg(),
            cycles_of_concentration: d_coc(),
        }
    }
}

impl WaterConfig {
    /// Checks the values: `latent_heat_j_per_kg` > 0, `cycles_of_concentration` > 1.
    pub fn check(&self) -> Result<(), FieldError> {
        positive("latent_heat_j_per_kg", self.latent_heat_j_per_kg)?;
        let c = self.cycles_of_concentration;
        if !(c.is_finite() && c > 1.0) {
            return Err(FieldError::new(
                "cycles_of_concentration",
                format!("must be a finite number > 1, found {c}"),
            ));
        }
        Ok(())
    }
}

/// Evaporation, kg/s (= L/s), rejecting `heat_w` by evaporation alone: `ṁ_evap = Q / h_fg`.
/// This is an upper bound: towers also reject some heat sensibly.
pub fn evaporation_kg_s(heat_w: f64, latent_heat_j_per_kg: f64) -> f64 {
    heat_w.max(0.0) / latent_heat_j_per_kg
}

/// Rule-of-thumb evaporation, kg/s: `E = 0.00085 · flow · ΔT(°F)`, i.e. 0.00085 of the circulating
/// water flow per °F of cooling range (≈ 0.00153 per K). Source: the cooling-tower rule of thumb in
/// US DOE FEMP "Cooling Towers: Understanding Key Components of Cooling Towers and How to Improve Water
/// Efficiency" (2011) and the Cooling Technology Institute. It gives about 89 % of [`evaporation_kg_s`],
/// the rest of the heat leaving sensibly.
pub fn evaporation_rule_kg_s(circulating_kg_s: f64, range_k: f64) -> f64 {
    0.00085 * circulating_kg_s * range_k * 1.8
}

/// Blowdown, kg/s, keeping dissolved solids at `coc` cycles: `B = E / (CoC − 1)` (drift neglected).
pub fn blowdown_kg_s(evaporation_kg_s: f64, coc: f64) -> f64 {
    evaporation_kg_s / (coc - 1.0)
}

/// Water flows at one instant, L/s.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WaterRates {
    pub evaporation_l_s: f64,
    pub blowdown_l_s: f64,
    /// Make-up = evaporation + blowdown: the site's water draw.
    pub makeup_l_s: f64,
}

/// Tower water for `tower_heat_w` rejected. O(1), no allocation; multiply by the interval length for
/// litres (exact for piecewise-constant heat).
pub fn water_rates(tower_heat_w: f64, cfg: &WaterConfig) -> WaterRates {
    let e = evaporation_kg_s(tower_heat_w, cfg.latent_heat_j_per_kg);
    let b = blowdown_kg_s(e, cfg.cycles_of_concentration);
    WaterRates {
        evaporation_l_s: e,
        blowdown_l_s: b,
        makeup_l_s: e + b,
    }
}

/// Water Usage Effectiveness, L/kWh: site water (L) / IT energy (kWh) [The Green Grid WUE; ISO/IEC
/// 30134-9]. `NaN` when there is no IT energy.
pub fn wue_l_per_kwh(site_water_l: f64, it_energy_j: f64) -> f64 {
    if it_energy_j > 0.0 {
        site_water_l / (it_energy_j / J_PER_KWH)
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_kwh_rejected() {
        // 1 kW for an hour = 3.6 MJ → 3.6 / 2.43 = 1.4815 L.
        let l = evaporation_kg_s(1000.0, 2.43e6) * 3600.0;
        assert!((l - 1.4815).abs() < 1e-4, "{l}");
        // CoC 5: blowdown = E/4; make-up = 1.25·E.
        let r = water_rates(1000.0, &WaterConfig::default());
        assert!((r.blowdown_l_s / r.evaporation_l_s - 0.25).abs() < 1e-12);
        assert!((r.makeup_l_s / r.evaporation_l_s - 1.25).abs() < 1e-12);
        assert_eq!(water_rates(0.0, &WaterConfig::default()).makeup_l_s, 0.0);
    }

    #[test]
    fn rule_of_thumb_against_latent_heat() {
        // 100 kg/s through a 5 K range carries 100·4186·5 = 2.093 MW.
        let latent = evaporation_kg_s(100.0 * 4186.0 * 5.0, 2.43e6);
        let rule = evaporation_rule_kg_s(100.0, 5.0);
        assert!((rule - 0.765).abs() < 1e-12);
        let share = rule / latent;
        assert!((0.85..0.92).contains(&share), "{share}");
    }

    #[test]
    fn wue() {
        assert_eq!(wue_l_per_kwh(1800.0, 1000.0 * J_PER_KWH), 1.8);
        assert!(wue_l_per_kwh(1.0, 0.0).is_nan());
        assert!(
            WaterConfig {
                cycles_of_concentration: 1.0,
                ..WaterConfig::default()
            }
            .check()
            .is_err()
        );
    }
}
