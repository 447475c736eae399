//! Rack inlet temperature: a lumped RC model of a cooling zone, solved exactly between events.
//!
//! `C · dT/dt = Q − G · (T − T_s)` (models.md §3 "Thermal RC"), where `T` is the zone's inlet (cold-aisle)
//! temperature, K or °C; `C` the heat capacity of everything that exchanges heat with the zone's air (server
//! and rack metal, the air itself), J/K; `Q` the heat the IT puts into the air, W; `T_s` the cooling units'
//! supply-air temperature, °C; `G` the cooling conductance, W/K. With `Q` and `G` constant between events
//! the solution is exact:
//!
//! - `G > 0`: `T(t) = T∞ + (T₀ − T∞) · exp(−(t − t₀)/τ)`, `T∞ = T_s + Q/G`, `τ = C/G`;
//! - `G = 0`: `T(t) = T₀ + Q · (t − t₀)/C` (the limit of the above).
//!
//! No time step: [`ThermalZone::inlet_c`] evaluates the closed form, [`ThermalZone::time_until`] inverts it
//! (the exact crossing time of a limit, for the run loop to schedule), and [`ThermalZone::advance`] keeps
//! exact integrals (time above the inlet limit; the maximum, which lies at an interval end since the solution
//! is monotone between events).
//!
//! Normal operation: `G = G_d = Q_air,d / rise_d` — the cooling holds the inlet `design_rise_k` above the
//! supply air at the design air heat. A cooling failure ([`CoolingFailure`]) lowers `G` to
//! `G_d · max(a, residual)`: `a` is the share of the air heat still removed (chillers tripped: the water-side
//! economizer's free share, or 1 while the air-side economizer carries the air; air handlers tripped: 0) and
//! `residual_fraction` the heat still leaving through the walls and the chilled-water loop's thermal storage.
//! Parameters, defaults and sources: docs/models.md §Rack inlet temperature.

use serde::{Deserialize, Serialize};

use super::cooling::{CoolingMode, CoolingPower};
use crate::check::{FieldError, finite, fraction, non_negative, positive};

/// Which cooling units a failure takes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailedUnit {
    /// The chillers trip: mechanical cooling stops (chiller power 0); free cooling through the water-side
    /// economizer and the air-side economizer continue.
    Chillers,
    /// The air handlers (CRAH fans) stop: no air-side cooling at all.
    Crahs,
}

/// A cooling failure from `at_s` until `restore_s` (none: for the rest of the run).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoolingFailure {
    pub unit: FailedUnit,
    /// Simulated time of the trip, s.
    pub at_s: f64,
    /// Simulated time cooling is restored, s; default none.
    #[serde(default)]
    pub restore_s: Option<f64>,
}

/// The zone's thermal parameters (`facility: (thermal: (…))`); every field defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThermalConfig {
    /// Supply-air temperature of the cooling units, °C. Default 22 \[eng; inside ASHRAE's recommended
    /// 18–27 °C\].
    #[serde(default = "d_supply")]
    pub supply_c: f64,
    /// Inlet temperature above the supply air at the design air heat in normal operation (bypass and
    /// recirculation), K. Default 3 \[eng\].
    #[serde(default = "d_rise")]
    pub design_rise_k: f64,
    /// Mass of one server, kg. Default 130.45 (DGX H100, 287.6 lb) \[src: NVIDIA DGX H100 user guide\].
    #[serde(default = "d_server_mass")]
    pub server_mass_kg: f64,
    /// Mass of an empty rack with its PDUs and cabling, kg. Default 150 \[eng\].
    #[serde(default = "d_rack_mass")]
    pub rack_mass_kg: f64,
    /// Specific heat of the server and rack mass, J/(kg·K). Default 600 \[models.md §3: C ≈ mass × 0.6
    /// kJ/(kg·K)\].
    #[serde(default = "d_cp")]
    pub specific_heat_j_kg_k: f64,
    /// Room air per rack that mixes with the inlet air, m³. Default 20 \[eng\] (ρ 1.2 kg/m³, c_p 1005 J/(kg·K)).
    #[serde(default = "d_air")]
    pub air_m3_per_rack: f64,
    /// Share of the design conductance left during a failure, 0–1. Default 0.1 \[eng\].
    #[serde(default = "d_residual")]
    pub residual_fraction: f64,
    /// Inlet limit above which GPUs throttle, °C. Default 32 (ASHRAE class A1 allowable maximum)
    /// \[src: ASHRAE TC 9.9 Thermal Guidelines, 2011/2015\].
    #[serde(default = "d_limit")]
    pub limit_c: f64,
    /// Recommended inlet maximum, °C (time above it is reported). Default 27 \[src: ASHRAE TC 9.9\].
    #[serde(default = "d_recommended")]
    pub recommended_c: f64,
    /// A throttled GPU's power as a fraction of its board power (the DVFS speed follows from it,
    /// [`super::capping::throughput_ratio`]). Default 0.6 \[eng\].
    #[serde(default = "d_throttle")]
    pub throttle_power_fraction: f64,
    /// In cluster runs GPUs throttle when the inlet reaches `limit_c` and recover when it has fallen this
    /// far below it, K. Default 1 \[eng; hysteresis keeps the throttle from chattering\].
    #[serde(default = "d_hysteresis")]
    pub throttle_hysteresis_k: f64,
    /// Cooling failures, in time order; default none.
    #[serde(default)]
    pub failures: Vec<CoolingFailure>,
}

fn d_supply() -> f64 {
    22.0
}
fn d_rise() -> f64 {
    3.0
}
fn d_server_mass() -> f64 {
    130.45
}
fn d_rack_mass() -> f64 {
    150.0
}
fn d_cp() -> f64 {
    600.0
}
fn d_air() -> f64 {
    20.0
}
fn d_residual() -> f64 {
    0.1
}
fn d_limit() -> f64 {
    32.0
}
fn d_recommended() -> f64 {
    27.0
}
fn d_throttle() -> f64 {
    0.6
}
fn d_hysteresis() -> f64 {
    1.0
}

impl Default for ThermalConfig {
    fn default() -> Self {
        ThermalConfig {
            supply_c: d_supply(),
            design_rise_k: d_rise(),
            server_mass_kg: d_server_mass(),
            rack_mass_kg: d_rack_mass(),
            specific_heat_j_kg_k: d_cp(),
            air_m3_per_rack: d_air(),
            residual_fraction: d_residual(),
            limit_c: d_limit(),
            recommended_c: d_recommended(),
            throttle_power_fraction: d_throttle(),
            throttle_hysteresis_k: d_hysteresis(),
            failures: Vec::new(),
        }
    }
}

/// Air density and specific heat used for the room air's heat capacity \[physics; as `cooling.crah`\].
const AIR_RHO_CP_J_M3_K: f64 = 1.2 * 1005.0;

impl ThermalConfig {
    /// Checks the values; paths like `failures[0].restore_s`.
    pub fn check(&self) -> Result<(), FieldError> {
        finite("supply_c", self.supply_c)?;
        positive("design_rise_k", self.design_rise_k)?;
        non_negative("server_mass_kg", self.server_mass_kg)?;
        non_negative("rack_mass_kg", self.rack_mass_kg)?;
        positive("specific_heat_j_kg_k", self.specific_heat_j_kg_k)?;
        non_negative("air_m3_per_rack", self.air_m3_per_rack)?;
        fraction("residual_fraction", self.residual_fraction)?;
        finite("limit_c", self.limit_c)?;
        finite("recommended_c", self.recommended_c)?;
        if self.limit_c <= self.supply_c {
            return Err(FieldError::new(
                "limit_c",
                format!(
                    "must be above supply_c ({} °C), found {}",
                    self.supply_c, self.limit_c
                ),
            ));
        }
        let t = self.throttle_power_fraction;
        if !(t > 0.0 && t <= 1.0) {
            return Err(FieldError::new(
                "throttle_power_fraction",
                format!("must be in (0, 1], found {t}"),
            ));
        }
        positive("throttle_hysteresis_k", self.throttle_hysteresis_k)?;
        let mut prev_end = 0.0f64;
        for (i, f) in self.failures.iter().enumerate() {
            let p = format!("failures[{i}]");
            non_negative("at_s", f.at_s).map_err(|e| e.within(&p))?;
            if f.at_s < prev_end {
                return Err(FieldError::new(
                    format!("{p}.at_s"),
                    format!(
                        "failures must be in time order and not overlap: {} is before the previous failure's end {prev_end}",
                        f.at_s
                    ),
                ));
            }
            match f.restore_s {
                Some(r) => {
                    if !(r.is_finite() && r > f.at_s) {
                        return Err(FieldError::new(
                            format!("{p}.restore_s"),
                            format!("must be a finite time after at_s ({}), found {r}", f.at_s),
                        ));
                    }
                    prev_end = r;
                }
                None => prev_end = f64::INFINITY,
            }
        }
        Ok(())
    }

    /// The zone's heat capacity, J/K, for `racks` racks holding `servers` servers:
    /// `C = (servers · m_server + racks · m_rack) · c + racks · V_air · ρ · c_p`.
    pub fn heat_capacity_j_k(&self, servers: u64, racks: u64) -> f64 {
        (servers as f64 * self.server_mass_kg + racks as f64 * self.rack_mass_kg)
            * self.specific_heat_j_kg_k
            + racks as f64 * self.air_m3_per_rack * AIR_RHO_CP_J_M3_K
    }

    /// The failure in force at `t_s`, if any.
    pub fn failure_at(&self, t_s: f64) -> Option<&CoolingFailure> {
        self.failures
            .iter()
            .find(|f| f.at_s <= t_s && f.restore_s.is_none_or(|r| t_s < r))
    }

    /// The first failure start or restore time strictly after `t_s` (∞ if none).
    pub fn next_change_s(&self, t_s: f64) -> f64 {
        let mut next = f64::INFINITY;
        for f in &self.failures {
            for t in [Some(f.at_s), f.restore_s].into_iter().flatten() {
                if t > t_s && t < next {
                    next = t;
                }
            }
        }
        next
    }
}

/// The share `a` of the zone's air heat the plant still removes under `failure` (1 without one); see the
/// module docs. `cooling` is the plant's operating point at that instant.
pub fn available_fraction(failure: Option<&CoolingFailure>, cooling: &CoolingPower) -> f64 {
    match failure.map(|f| f.unit) {
        None => 1.0,
        Some(FailedUnit::Chillers) if cooling.mode == CoolingMode::AirSide => 1.0,
        Some(FailedUnit::Chillers) => cooling.free_fraction,
        Some(FailedUnit::Crahs) => 0.0,
    }
}

/// The plant's power with the failed units switched off: tripped chillers draw nothing and their heat
/// (the mechanical share and the compressor work) no longer reaches the towers; stopped air handlers draw
/// nothing. Pumps and tower fans keep their operating point \[eng\].
pub fn apply_failure(failure: Option<&CoolingFailure>, cooling: &mut CoolingPower) {
    match failure.map(|f| f.unit) {
        None => {}
        Some(FailedUnit::Chillers) => {
            // Towers rejected Q_free + Q_mech + P_chiller with Q_mech = COP · P_chiller.
            let mech_and_work = cooling.chiller_w * (cooling.cop + 1.0);
            cooling.tower_heat_w = (cooling.tower_heat_w - mech_and_work).max(0.0);
            cooling.chiller_w = 0.0;
        }
        Some(FailedUnit::Crahs) => cooling.crah_fan_w = 0.0,
    }
}

/// One cooling zone's inlet temperature: `C · dT/dt = Q − G · (T − T_s)`, exact between changes of `Q`
/// and `G`. Times are simulated seconds; a zone never goes back in time (earlier times count as its last
/// update).
#[derive(Debug, Clone, PartialEq)]
pub struct ThermalZone {
    c_j_k: f64,
    supply_c: f64,
    limit_c: f64,
    recommended_c: f64,
    heat_w: f64,
    g_w_k: f64,
    /// Time and temperature of the last update.
    t_s: f64,
    temp_c: f64,
    /// Exact integrals up to `t_s`.
    above_limit_s: f64,
    above_recommended_s: f64,
    max_c: f64,
}

impl ThermalZone {
    /// A zone at time `t_s` with heat capacity `c_j_k` (> 0), conductance `g_w_k` (≥ 0) and heat `heat_w`,
    /// starting at its steady state (or at the supply temperature if `g_w_k` is 0).
    pub fn new(
        c_j_k: f64,
        supply_c: f64,
        limit_c: f64,
        recommended_c: f64,
        g_w_k: f64,
        heat_w: f64,
        t_s: f64,
    ) -> Self {
        let temp_c = if g_w_k > 0.0 {
            supply_c + heat_w / g_w_k
        } else {
            supply_c
        };
        ThermalZone {
            c_j_k,
            supply_c,
            limit_c,
            recommended_c,
            heat_w,
            g_w_k,
            t_s,
            temp_c,
            above_limit_s: 0.0,
            above_recommended_s: 0.0,
            max_c: temp_c,
        }
    }

    /// Steady-state temperature under the current inputs, °C (∞ with no cooling and some heat).
    pub fn steady_c(&self) -> f64 {
        if self.g_w_k > 0.0 {
            self.supply_c + self.heat_w / self.g_w_k
        } else if self.heat_w > 0.0 {
            f64::INFINITY
        } else {
            self.temp_c
        }
    }

    /// Time constant `τ = C/G`, s (`None` with no cooling conductance).
    pub fn time_constant_s(&self) -> Option<f64> {
        (self.g_w_k > 0.0).then(|| self.c_j_k / self.g_w_k)
    }

    /// Inlet temperature at `t_s` (≥ the last update) under the current inputs, °C.
    pub fn inlet_c(&self, t_s: f64) -> f64 {
        let dt = (t_s - self.t_s).max(0.0);
        if self.g_w_k > 0.0 {
            let inf = self.supply_c + self.heat_w / self.g_w_k;
            inf + (self.temp_c - inf) * (-dt * self.g_w_k / self.c_j_k).exp()
        } else {
            self.temp_c + self.heat_w * dt / self.c_j_k
        }
    }

    /// Seconds after `t_s` until the inlet reaches `limit_c` under the current inputs: 0 if it is there
    /// now, `None` if it never does (it moves away from it or settles short of it).
    pub fn time_until(&self, t_s: f64, limit_c: f64) -> Option<f64> {
        let t0 = self.inlet_c(t_s);
        if t0 == limit_c {
            return Some(0.0);
        }
        if self.g_w_k > 0.0 {
            let inf = self.supply_c + self.heat_w / self.g_w_k;
            let (a, b) = (t0 - inf, limit_c - inf);
            // Reached iff the limit lies strictly between T(t) and T∞.
            if a * b > 0.0 && b.abs() < a.abs() {
                Some(self.c_j_k / self.g_w_k * (a / b).ln())
            } else {
                None
            }
        } else if self.heat_w > 0.0 && limit_c > t0 {
            Some((limit_c - t0) * self.c_j_k / self.heat_w)
        } else {
            None
        }
    }

    /// Seconds in `[t0, t1]` (inputs constant, `T(t0)` = `from`) with the inlet above `level`.
    fn time_above(&self, t0: f64, t1: f64, level: f64) -> f64 {
        let dt = t1 - t0;
        let start = self.inlet_c(t0);
        let end = self.inlet_c(t1);
        match (start > level, end > level) {
            (true, true) => dt,
            (false, false) => 0.0,
            // Monotone: exactly one crossing inside.
            (false, true) => {
                let s = self.time_until(t0, level).unwrap_or(0.0).min(dt);
                dt - s
            }
            (true, false) => self.time_until(t0, level).unwrap_or(dt).min(dt),
        }
    }

    /// Integrates up to `t_s` under the current inputs (time above the limit and the recommended maximum,
    /// the maximum temperature) and moves the zone's state there.
    pub fn advance(&mut self, t_s: f64) {
        if t_s <= self.t_s {
            return;
        }
        self.above_limit_s += self.time_above(self.t_s, t_s, self.limit_c);
        self.above_recommended_s += self.time_above(self.t_s, t_s, self.recommended_c);
        let end = self.inlet_c(t_s);
        self.max_c = self.max_c.max(end);
        self.temp_c = end;
        self.t_s = t_s;
    }

    /// The heat into the zone becomes `heat_w` at `t_s`.
    pub fn set_heat(&mut self, t_s: f64, heat_w: f64) {
        self.advance(t_s);
        self.heat_w = heat_w;
    }

    /// The cooling conductance becomes `g_w_k` at `t_s`.
    pub fn set_conductance(&mut self, t_s: f64, g_w_k: f64) {
        self.advance(t_s);
        self.g_w_k = g_w_k;
    }

    /// Inlet above the throttling limit at `t_s`.
    pub fn throttled(&self, t_s: f64) -> bool {
        self.inlet_c(t_s) > self.limit_c
    }

    pub fn limit_c(&self) -> f64 {
        self.limit_c
    }
    pub fn heat_w(&self) -> f64 {
        self.heat_w
    }
    pub fn conductance_w_k(&self) -> f64 {
        self.g_w_k
    }
    pub fn heat_capacity_j_k(&self) -> f64 {
        self.c_j_k
    }
    /// Seconds above the limit up to the last update.
    pub fn above_limit_s(&self) -> f64 {
        self.above_limit_s
    }
    /// Seconds above the recommended maximum up to the last update.
    pub fn above_recommended_s(&self) -> f64 {
        self.above_recommended_s
    }
    /// Highest inlet temperature up to the last update, °C.
    pub fn max_c(&self) -> f64 {
        self.max_c
    }
}

/// A site's zone as the facility meter runs it: the config, the zone's size and its GPUs.
#[derive(Debug, Clone, PartialEq)]
pub struct ThermalSpec {
    pub config: ThermalConfig,
    /// `C`, J/K.
    pub heat_capacity_j_k: f64,
    /// Design conductance `G_d = Q_air,d / design_rise_k`, W/K.
    pub design_conductance_w_k: f64,
    /// Share of IT heat going to air (1 − liquid fraction).
    pub air_fraction: f64,
    /// GPUs in the zone (all throttle together).
    pub gpus: u64,
}

impl ThermalSpec {
    /// The spec for a site of `servers` servers in `racks` racks with `gpus` GPUs whose design IT power is
    /// `design_it_w` and whose liquid loop takes `liquid_fraction` of the heat.
    pub fn new(
        config: &ThermalConfig,
        servers: u64,
        racks: u64,
        gpus: u64,
        design_it_w: f64,
        liquid_fraction: f64,
    ) -> Self {
        let air_fraction = 1.0 - liquid_fraction;
        ThermalSpec {
            config: config.clone(),
            heat_capacity_j_k: config.heat_capacity_j_k(servers, racks),
            design_conductance_w_k: design_it_w * air_fraction / config.design_rise_k,
            air_fraction,
            gpus,
        }
    }

    /// A zone at time 0 in steady state with IT power `it_w` and `available` share of cooling.
    pub fn zone(&self, it_w: f64, available: f64) -> ThermalZone {
        let c = &self.config;
        ThermalZone::new(
            self.heat_capacity_j_k.max(f64::MIN_POSITIVE),
            c.supply_c,
            c.limit_c,
            c.recommended_c,
            self.conductance_w_k(available),
            it_w * self.air_fraction,
            0.0,
        )
    }

    /// `G = G_d · max(a, residual)`.
    pub fn conductance_w_k(&self, available: f64) -> f64 {
        self.design_conductance_w_k * available.max(self.config.residual_fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(g: f64, heat: f64) -> ThermalZone {
        ThermalZone::new(1e6, 20.0, 32.0, 27.0, g, heat, 0.0)
    }

    #[test]
    fn steady_state_and_exponential() {
        let mut z = zone(1e4, 5e4); // T∞ = 25, τ = 100 s
        assert_eq!(z.inlet_c(0.0), 25.0);
        assert_eq!(z.time_constant_s(), Some(100.0));
        z.set_heat(10.0, 1e5); // T∞ = 30
        let t = z.inlet_c(110.0);
        assert!((t - (30.0 - 5.0 * (-1.0f64).exp())).abs() < 1e-12, "{t}");
        // Splitting an interval changes nothing.
        let mut z2 = z.clone();
        z2.advance(60.0);
        assert!((z2.inlet_c(110.0) - t).abs() < 1e-12);
    }

    #[test]
    fn time_until_inverts_the_closed_form() {
        let z = zone(1e4, 1.5e5); // 20 + 15 = 35 °C steady, starting there
        assert_eq!(z.time_until(0.0, 32.0), None, "falls? no: already above");
        let mut z = zone(1e4, 5e4); // at 25
        z.set_heat(0.0, 1.5e5); // T∞ = 35
        let s = z.time_until(0.0, 32.0).unwrap();
        assert!((z.inlet_c(s) - 32.0).abs() < 1e-9);
        assert_eq!(z.time_until(0.0, 36.0), None);
        // No conductance: linear.
        let mut z = zone(1e4, 5e4);
        z.set_conductance(0.0, 0.0);
        let s = z.time_until(0.0, 32.0).unwrap();
        assert!((s - 7.0 * 1e6 / 5e4).abs() < 1e-9);
        assert_eq!(z.time_until(0.0, 20.0), None);
    }

    #[test]
    fn time_above_limit_is_exact() {
        let mut z = zone(1e4, 5e4); // at 25
        z.set_heat(0.0, 1.5e5); // towards 35
        let cross = z.time_until(0.0, 32.0).unwrap();
        z.advance(1000.0);
        assert!((z.above_limit_s() - (1000.0 - cross)).abs() < 1e-9);
        z.set_heat(1000.0, 0.0); // cools towards 20
        let back = z.time_until(1000.0, 32.0).unwrap();
        z.advance(5000.0);
        assert!((z.above_limit_s() - (1000.0 - cross + back)).abs() < 1e-9);
        assert!(z.max_c() < 35.0 && z.max_c() > 34.0);
    }

    #[test]
    fn config_checks_name_fields() {
        let mut c = ThermalConfig::default();
        assert!(c.check().is_ok());
        c.failures = vec![CoolingFailure {
            unit: FailedUnit::Chillers,
            at_s: 100.0,
            restore_s: Some(50.0),
        }];
        assert_eq!(c.check().unwrap_err().path, "failures[0].restore_s");
        c.failures[0].restore_s = Some(200.0);
        assert!(c.check().is_ok());
        assert!(c.failure_at(150.0).is_some() && c.failure_at(200.0).is_none());
        assert_eq!(c.next_change_s(0.0), 100.0);
        assert_eq!(c.next_change_s(100.0), 200.0);
        c.limit_c = 10.0;
        assert_eq!(c.check().unwrap_err().path, "limit_c");
    }
}
