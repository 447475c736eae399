//! Exact facility-energy integration during a run.
//!
//! IT power is piecewise constant between simulation events; weather and grid carbon intensity are step
//! series. Facility power `F(P_it, weather)` is therefore piecewise constant on the union of those
//! breakpoints. [`FacilityMeter::advance`] walks every weather and carbon breakpoint between the last update
//! and `now` (no events are needed for them), so every integral — facility energy by component, water,
//! operational CO2, energy cost — is exact for the model, whatever the event density.

use sim::SimTime;

use super::carbon::{CarbonSeries, TariffConfig, TariffMeter};
use super::cooling::CoolingMode;
use super::weather::WeatherSeries;
use super::{Facility, FacilityPower};

/// Integrals kept by a [`FacilityMeter`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FacilityTotals {
    pub it_j: f64,
    pub facility_j: f64,
    pub power_chain_loss_j: f64,
    pub ups_loss_j: f64,
    pub pdu_loss_j: f64,
    pub transformer_loss_j: f64,
    pub chiller_j: f64,
    pub tower_fan_j: f64,
    pub pumps_j: f64,
    pub crah_fan_j: f64,
    pub dry_cooler_j: f64,
    pub misc_j: f64,
    pub water_evaporation_l: f64,
    pub water_blowdown_l: f64,
    pub co2_g: f64,
    /// Seconds spent in each cooling mode: mechanical, partial, free, air-side.
    pub mode_s: [f64; 4],
    pub facility_peak_w: f64,
    /// Wet-bulb temperature extremes seen, °C.
    pub wet_bulb_max_c: f64,
}

/// Integrates facility power, water, carbon and cost as IT power changes.
#[derive(Debug, Clone)]
pub struct FacilityMeter {
    facility: Facility,
    weather: WeatherSeries,
    carbon: Option<CarbonSeries>,
    tariff: TariffConfig,
    tariff_meter: TariffMeter,
    it_w: f64,
    /// Last update, s.
    last_s: f64,
    current: FacilityPower,
    totals: FacilityTotals,
}

fn mode_index(m: CoolingMode) -> usize {
    match m {
        CoolingMode::Mechanical => 0,
        CoolingMode::Partial => 1,
        CoolingMode::Free => 2,
        CoolingMode::AirSide => 3,
    }
}

impl FacilityMeter {
    /// A meter at time 0 with IT power `it_w`.
    pub fn new(
        facility: Facility,
        weather: WeatherSeries,
        carbon: Option<CarbonSeries>,
        tariff: TariffConfig,
        it_w: f64,
    ) -> Self {
        let w = weather.at(0.0);
        let current = facility.power(it_w, &w);
        let totals = FacilityTotals {
            facility_peak_w: current.total_w,
            wet_bulb_max_c: w.wet_bulb_c,
            ..FacilityTotals::default()
        };
        FacilityMeter {
            facility,
            weather,
            carbon,
            tariff,
            tariff_meter: TariffMeter::default(),
            it_w,
            last_s: 0.0,
            current,
            totals,
        }
    }

    /// Integrates the constant state `current` over `[t0, t1]`.
    fn integrate(&mut self, t0: f64, t1: f64) {
        let dt = t1 - t0;
        if dt <= 0.0 {
            return;
        }
        let p = &self.current;
        let t = &mut self.totals;
        t.it_j += p.it_w * dt;
        t.facility_j += p.total_w * dt;
        t.power_chain_loss_j += p.chain.loss_w() * dt;
        t.ups_loss_j += p.chain.ups.loss_w * dt;
        t.pdu_loss_j += p.chain.pdu.loss_w * dt;
        t.transformer_loss_j += p.chain.transformer.loss_w * dt;
        t.chiller_j += p.cooling.chiller_w * dt;
        t.tower_fan_j += p.cooling.tower_fan_w * dt;
        t.pumps_j += p.cooling.pumps_w * dt;
        t.crah_fan_j += p.cooling.crah_fan_w * dt;
        t.dry_cooler_j += p.cooling.dry_cooler_w * dt;
        t.misc_j += p.misc_w * dt;
        t.water_evaporation_l += p.water.evaporation_l_s * dt;
        t.water_blowdown_l += p.water.blowdown_l_s * dt;
        t.mode_s[mode_index(p.cooling.mode)] += dt;
        if let Some(c) = &self.carbon {
            t.co2_g += c.co2_g(p.total_w, t0, t1);
        }
        self.tariff_meter.add(&self.tariff, p.total_w, t0, t1);
    }

    fn refresh(&mut self, t_s: f64) {
        let w = self.weather.at(t_s);
        self.current = self.facility.power(self.it_w, &w);
        let t = &mut self.totals;
        t.facility_peak_w = t.facility_peak_w.max(self.current.total_w);
        t.wet_bulb_max_c = t.wet_bulb_max_c.max(w.wet_bulb_c);
    }

    /// Integrates up to `now`, stepping across every weather change on the way (carbon and tariff steps
    /// are integrated exactly inside the intervals by their own series).
    pub fn advance(&mut self, now: SimTime) {
        let now_s = now.as_secs_f64();
        while self.last_s < now_s {
            let change = self.weather.next_change_s(self.last_s);
            let end = change.min(now_s);
            self.integrate(self.last_s, end);
            self.last_s = end;
            if end == change {
                self.refresh(end);
            }
        }
    }

    /// IT power changes to `it_w` at `now`.
    pub fn set_it_power(&mut self, now: SimTime, it_w: f64) {
        self.advance(now);
        self.it_w = it_w;
        self.refresh(self.last_s);
    }

    /// Facility power now.
    pub fn power(&self) -> &FacilityPower {
        &self.current
    }

    /// The integrals so far.
    pub fn totals(&self) -> &FacilityTotals {
        &self.totals
    }

    /// Energy cost so far (energy and demand charges).
    pub fn cost(&self) -> super::carbon::TariffCost {
        self.tariff_meter.cost(&self.tariff)
    }

    /// The facility models.
    pub fn facility(&self) -> &Facility {
        &self.facility
    }
}
