//! The facility as a whole: every facility model's parameters ([`FacilityConfig`]), the models resolved for
//! one site ([`Facility`]) and the power they draw at one instant ([`FacilityPower`]).

use serde::{Deserialize, Serialize};

use super::{capping, carbon, cooling, power_chain, thermal, water, weather};
use crate::check::{FieldError, fraction};

/// Power Usage Effectiveness, `PUE = (P_IT + P_cooling + P_elec_loss + P_misc) / P_IT` (dimensionless;
/// The Green Grid, ISO/IEC 30134-2). Computed from the parts, never assumed. `NaN` when `it_w` is 0.
pub fn pue(it_w: f64, cooling_w: f64, elec_loss_w: f64, misc_w: f64) -> f64 {
    if it_w > 0.0 {
        (it_w + cooling_w + elec_loss_w + misc_w) / it_w
    } else {
        f64::NAN
    }
}

/// Every facility model's parameters, as a scenario gives them (`facility: (…)`); each part defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FacilityConfig {
    /// Outdoor weather; default none: a constant 20 °C, 50 % RH, 101,325 Pa climate is used
    /// ([`weather::WeatherPoint::STANDARD`]).
    #[serde(default)]
    pub weather: Option<weather::WeatherConfig>,
    #[serde(default)]
    pub power_chain: power_chain::PowerChainConfig,
    #[serde(default)]
    pub cooling: cooling::CoolingConfig,
    #[serde(default)]
    pub water: water::WaterConfig,
    /// Grid carbon intensity; default none (no operational carbon figure).
    #[serde(default)]
    pub carbon: Option<carbon::CarbonConfig>,
    #[serde(default)]
    pub embodied: carbon::EmbodiedConfig,
    #[serde(default)]
    pub tariff: carbon::TariffConfig,
    /// Other facility loads (lighting, offices, security), as a fraction of IT power. Default 0.01 \[eng\].
    #[serde(default = "default_misc_fraction")]
    pub misc_fraction: f64,
    /// Rack inlet temperature model and cooling failures; defaults apply when absent.
    #[serde(default)]
    pub thermal: thermal::ThermalConfig,
    /// Power caps, budgets and the capping controller; default none.
    #[serde(default)]
    pub capping: Option<capping::CappingConfig>,
}

fn default_misc_fraction() -> f64 {
    0.01
}

impl FacilityConfig {
    /// Checks every part; the error's path starts at this struct (`cooling.carnot_eta`).
    pub fn check(&self) -> Result<(), FieldError> {
        if let Some(w) = &self.weather {
            w.check().map_err(|e| e.within("weather"))?;
        }
        self.power_chain
            .check()
            .map_err(|e| e.within("power_chain"))?;
        self.cooling.check().map_err(|e| e.within("cooling"))?;
        self.water.check().map_err(|e| e.within("water"))?;
        if let Some(c) = &self.carbon {
            c.check().map_err(|e| e.within("carbon"))?;
        }
        self.embodied.check().map_err(|e| e.within("embodied"))?;
        self.tariff.check().map_err(|e| e.within("tariff"))?;
        self.thermal.check().map_err(|e| e.within("thermal"))?;
        if let Some(c) = &self.capping {
            c.check().map_err(|e| e.within("capping"))?;
        }
        // A GPU limited to its static power or below stops computing (DVFS clock ratio 0).
        let static_fraction = self
            .capping
            .as_ref()
            .map_or(super::capping::DvfsConfig::default().static_fraction, |c| {
                c.dvfs.static_fraction
            });
        let t = self.thermal.throttle_power_fraction;
        if t <= static_fraction {
            return Err(FieldError::new(
                "thermal.throttle_power_fraction",
                format!(
                    "a throttled GPU at {t} of board power would stop computing: it must exceed the GPU's static \
                     power, capping.dvfs.static_fraction = {static_fraction}"
                ),
            ));
        }
        fraction("misc_fraction", self.misc_fraction)
    }

    /// The models sized for a site whose design (nameplate) IT power is `design_it_w`.
    pub fn resolve(&self, design_it_w: f64) -> Facility {
        let chain = self.power_chain.resolve(design_it_w);
        // The plant is sized for the heat of the design IT load plus the chain losses inside the building.
        let design_heat_w = chain.flow(design_it_w).heat_indoors_w();
        Facility {
            chain,
            cooling: self.cooling.resolve(design_heat_w),
            water: self.water.clone(),
            misc_fraction: self.misc_fraction,
        }
    }
}

/// The facility models resolved for one site.
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    pub chain: power_chain::PowerChain,
    pub cooling: cooling::CoolingPlant,
    pub water: water::WaterConfig,
    pub misc_fraction: f64,
}

/// Facility power at one instant, W.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FacilityPower {
    pub it_w: f64,
    /// Power through the UPS path and its losses.
    pub chain: power_chain::ChainFlow,
    pub cooling: cooling::CoolingPower,
    pub misc_w: f64,
    /// Utility input: `chain.input_w() + cooling.total_w() + misc_w`.
    pub total_w: f64,
    /// Site water use (tower make-up), L/s.
    pub water: water::WaterRates,
}

impl FacilityPower {
    /// `total_w / it_w`, equal to [`pue`] of the parts.
    pub fn pue(&self) -> f64 {
        pue(
            self.it_w,
            self.cooling.total_w(),
            self.chain.loss_w(),
            self.misc_w,
        )
    }
}

impl Facility {
    /// The whole facility at IT power `it_w` in weather `w`: IT → PDU → UPS → transformer; the heat of the
    /// IT load and of the PDU and UPS losses (indoors) goes to the cooling plant; cooling and misc loads
    /// are fed at the utility side, not through the UPS \[eng\]. Allocation-free.
    pub fn power(&self, it_w: f64, w: &weather::WeatherPoint) -> FacilityPower {
        let chain = self.chain.flow(it_w);
        let cooling = cooling::plant_power(chain.heat_indoors_w(), w, &self.cooling);
        let misc_w = self.misc_fraction * it_w;
        let total_w = chain.input_w() + cooling.total_w() + misc_w;
        FacilityPower {
            it_w,
            chain,
            cooling,
            misc_w,
            total_w,
            water: water::water_rates(cooling.tower_heat_w, &self.water),
        }
    }
}
