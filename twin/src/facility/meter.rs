//! Exact facility-energy integration during a run.
//!
//! IT power is piecewise constant between simulation events; weather and grid carbon intensity are step
//! series. Facility power `F(P_it, weather)` is therefore piecewise constant on the union of those
//! breakpoints. [`FacilityMeter::advance`] walks every weather and carbon breakpoint between the last update
//! and `now` (no events are needed for them), so every integral — facility energy by component, water,
//! operational CO2, energy cost — is exact for the model, whatever the event density.

use sim::SimTime;

use models::facility::carbon::{CarbonSeries, TariffConfig, TariffMeter};
use models::facility::cooling::CoolingMode;
use models::facility::thermal::{ThermalSpec, ThermalZone, apply_failure, available_fraction};
use models::facility::weather::{WeatherPoint, WeatherSeries};
use models::facility::{Facility, FacilityPower};
use output::FacilitySample;
use scenario::LoadedFacility;

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
    /// Time the site's IT power was above the capping feed budget, s (scenarios with `capping`).
    pub feed_over_budget_s: f64,
    /// When the utility input first exceeded `power_chain.ratings.feed_w` (the feed breaker's trip), s.
    pub feed_trip_s: Option<f64>,
    /// Time the site was dark after the run loop acted on a feed trip ([`FacilityMeter::shut_down`]), s.
    pub dark_s: f64,
}

/// Integrates facility power, water, carbon and cost as IT power changes.
#[derive(Debug, Clone)]
pub struct FacilityMeter {
    facility: Facility,
    weather: WeatherSeries,
    carbon: Option<CarbonSeries>,
    /// Where the last carbon integral ended in the series ([`CarbonSeries::co2_g_from`]).
    carbon_cursor: usize,
    tariff: TariffConfig,
    tariff_meter: TariffMeter,
    it_w: f64,
    /// Last update, s.
    last_s: f64,
    current: FacilityPower,
    weather_now: WeatherPoint,
    totals: FacilityTotals,
    thermal: ThermalSpec,
    zone: ThermalZone,
    /// IT budget of the feed (capping), W.
    feed_budget_w: Option<f64>,
    /// (IT energy, facility energy) at the previous sample.
    last_sample: Option<(f64, f64)>,
    /// The feed breaker tripped and the run loop took the site down: everything draws nothing.
    dark: bool,
}

fn mode_index(m: CoolingMode) -> usize {
    match m {
        CoolingMode::Mechanical => 0,
        CoolingMode::Partial => 1,
        CoolingMode::Free => 2,
        CoolingMode::AirSide => 3,
    }
}

/// A meter for a scenario's facility, starting at IT power `it_w`.
pub fn meter_for(f: &LoadedFacility, it_w: f64) -> FacilityMeter {
    FacilityMeter::new(
        f.facility.clone(),
        f.weather.clone(),
        f.carbon.clone(),
        f.config.tariff.clone(),
        f.thermal.clone(),
        f.config.capping.as_ref().and_then(|c| c.feed_budget_w),
        it_w,
    )
}

impl FacilityMeter {
    /// A meter at time 0 with IT power `it_w`; the cooling zone `thermal` starts in steady state.
    pub fn new(
        facility: Facility,
        weather: WeatherSeries,
        carbon: Option<CarbonSeries>,
        tariff: TariffConfig,
        thermal: ThermalSpec,
        feed_budget_w: Option<f64>,
        it_w: f64,
    ) -> Self {
        let w = weather.at(0.0);
        let failure = thermal.config.failure_at(0.0).copied();
        let mut current = facility.power(it_w, &w);
        apply_failure(failure.as_ref(), &mut current.cooling);
        Self::rebalance(&facility, &mut current);
        let zone = thermal.zone(it_w, available_fraction(failure.as_ref(), &current.cooling));
        let totals = FacilityTotals {
            facility_peak_w: current.total_w,
            wet_bulb_max_c: w.wet_bulb_c,
            ..FacilityTotals::default()
        };
        let mut m = FacilityMeter {
            facility,
            weather,
            carbon,
            carbon_cursor: 0,
            tariff,
            tariff_meter: TariffMeter::default(),
            it_w,
            last_s: 0.0,
            current,
            weather_now: w,
            totals,
            thermal,
            zone,
            feed_budget_w,
            last_sample: None,
            dark: false,
        };
        m.check_feed(0.0);
        m
    }

    /// Recomputes the total and the water of `p` after [`apply_failure`] changed its cooling.
    fn rebalance(facility: &Facility, p: &mut FacilityPower) {
        p.total_w = p.chain.input_w() + p.cooling.total_w() + p.misc_w;
        p.water = models::facility::water::water_rates(p.cooling.tower_heat_w, &facility.water);
    }

    fn check_feed(&mut self, t_s: f64) {
        if self.totals.feed_trip_s.is_none()
            && self
                .facility
                .chain
                .ratings
                .feed_w
                .is_some_and(|r| self.current.total_w > r)
        {
            self.totals.feed_trip_s = Some(t_s);
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
        if self.dark {
            t.dark_s += dt;
            self.zone.advance(t1);
            return;
        }
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
        if self
            .feed_budget_w
            .is_some_and(|b| p.it_w > b * (1.0 + models::facility::capping::BUDGET_TOLERANCE))
        {
            t.feed_over_budget_s += dt;
        }
        if let Some(c) = &self.carbon {
            t.co2_g += c.co2_g_from(&mut self.carbon_cursor, p.total_w, t0, t1);
        }
        self.tariff_meter.add(&self.tariff, p.total_w, t0, t1);
        self.zone.advance(t1);
    }

    fn refresh(&mut self, t_s: f64) {
        let w = self.weather.at(t_s);
        if self.dark {
            // Nothing draws power; the weather (and the wet-bulb record) keeps advancing.
            self.weather_now = w;
            self.totals.wet_bulb_max_c = self.totals.wet_bulb_max_c.max(w.wet_bulb_c);
            return;
        }
        let failure = self.thermal.config.failure_at(t_s).copied();
        self.current = self.facility.power(self.it_w, &w);
        apply_failure(failure.as_ref(), &mut self.current.cooling);
        Self::rebalance(&self.facility, &mut self.current);
        self.weather_now = w;
        let g = self
            .thermal
            .conductance_w_k(available_fraction(failure.as_ref(), &self.current.cooling));
        self.zone
            .set_heat(t_s, self.it_w * self.thermal.air_fraction);
        self.zone.set_conductance(t_s, g);
        let t = &mut self.totals;
        t.facility_peak_w = t.facility_peak_w.max(self.current.total_w);
        t.wet_bulb_max_c = t.wet_bulb_max_c.max(w.wet_bulb_c);
        self.check_feed(t_s);
    }

    /// Integrates up to `now`, stepping across every weather change and cooling failure or restore on the
    /// way (carbon and tariff steps are integrated exactly inside the intervals by their own series; the
    /// inlet temperature by its closed form).
    pub fn advance(&mut self, now: SimTime) {
        let now_s = now.as_secs_f64();
        while self.last_s < now_s {
            let change = self
                .weather
                .next_change_s(self.last_s)
                .min(self.thermal.config.next_change_s(self.last_s));
            let end = change.min(now_s);
            self.integrate(self.last_s, end);
            self.last_s = end;
            if end == change {
                self.refresh(end);
            }
        }
    }

    /// Advances to `now` and reads the facility columns of a sample there (see [`FacilitySample`]); the
    /// interval PUE runs from the previous call.
    pub fn sample(&mut self, now: SimTime) -> FacilitySample {
        self.advance(now);
        let t = &self.totals;
        let p = &self.current;
        let pue_interval = match self.last_sample {
            Some((it0, f0)) if t.it_j > it0 => (t.facility_j - f0) / (t.it_j - it0),
            _ => p.pue(),
        };
        self.last_sample = Some((t.it_j, t.facility_j));
        let now_s = self.last_s;
        FacilitySample {
            facility_power_w: p.total_w,
            it_power_w: p.it_w,
            power_chain_loss_w: p.chain.loss_w(),
            cooling_power_w: p.cooling.total_w(),
            chiller_w: p.cooling.chiller_w,
            tower_fans_w: p.cooling.tower_fan_w,
            pumps_w: p.cooling.pumps_w,
            crah_fans_w: p.cooling.crah_fan_w,
            dry_coolers_w: p.cooling.dry_cooler_w,
            misc_w: p.misc_w,
            pue_interval,
            outdoor_dry_bulb_c: self.weather_now.dry_bulb_c,
            outdoor_wet_bulb_c: self.weather_now.wet_bulb_c,
            inlet_c: self.zone.inlet_c(now_s),
            carbon_intensity_g_per_kwh: self.carbon.as_ref().map(|c| c.at(now_s)),
            it_energy_j: t.it_j,
            facility_energy_j: t.facility_j,
        }
    }

    /// The cooling zone's inlet temperature model (state at the last update).
    pub fn zone(&self) -> &ThermalZone {
        &self.zone
    }

    /// The zone's spec.
    pub fn thermal(&self) -> &ThermalSpec {
        &self.thermal
    }

    /// IT power changes to `it_w` at `now`.
    pub fn set_it_power(&mut self, now: SimTime, it_w: f64) {
        self.advance(now);
        self.it_w = it_w;
        self.refresh(self.last_s);
    }

    /// The feed breaker tripped: from `now` the whole site (IT, power chain, cooling, misc) draws nothing
    /// and uses no water; the zone gets no heat and no cooling.
    pub fn shut_down(&mut self, now: SimTime) {
        self.advance(now);
        let t = self.last_s;
        self.it_w = 0.0;
        self.zone.set_heat(t, 0.0);
        self.zone.set_conductance(t, 0.0);
        let p = &mut self.current;
        p.it_w = 0.0;
        p.chain = Default::default();
        let c = &mut p.cooling;
        (
            c.chiller_w,
            c.tower_fan_w,
            c.pumps_w,
            c.crah_fan_w,
            c.dry_cooler_w,
        ) = (0.0, 0.0, 0.0, 0.0, 0.0);
        (c.tower_heat_w, c.dry_cooler_heat_w, c.outside_air_heat_w) = (0.0, 0.0, 0.0);
        p.misc_w = 0.0;
        p.total_w = 0.0;
        p.water = Default::default();
        self.dark = true;
    }

    /// Whether the site is dark after a feed trip.
    pub fn is_dark(&self) -> bool {
        self.dark
    }

    /// The next weather step or cooling failure/restore strictly after `t_s`, s (∞ if none).
    pub fn next_change_s(&self, t_s: f64) -> f64 {
        self.weather
            .next_change_s(t_s)
            .min(self.thermal.config.next_change_s(t_s))
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
    pub fn cost(&self) -> models::facility::carbon::TariffCost {
        self.tariff_meter.cost(&self.tariff)
    }

    /// The facility models.
    pub fn facility(&self) -> &Facility {
        &self.facility
    }
}
