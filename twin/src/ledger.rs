//! The one energy meter of a run: IT and GPU power, the facility around them, and busy GPUs, integrated
//! exactly (power is piecewise constant between events; the facility meter also steps through weather,
//! carbon and tariff changes between events).
//!
//! Every part books its power changes here ([`Ledger::add`]); the facility meter follows the IT power at each
//! change. Nothing else meters energy.

use bevy_ecs::prelude::Resource;
use models::power::EnergyMeter;
use sim::SimTime;

use crate::facility::FacilityMeter;

/// Exact integrals of IT power, GPU power, facility power and busy GPUs.
#[derive(Resource, Debug, Clone)]
pub struct Ledger {
    it: EnergyMeter,
    gpu: EnergyMeter,
    facility: Option<FacilityMeter>,
    /// IT power that no server draws (network switches), W.
    other_it_w: f64,
    /// Thousandths of GPUs doing work now, and ∫ of it dt (milli·ns, exact).
    busy_milli: u64,
    busy_milli_ns: u128,
    last: SimTime,
    /// The feed tripped: nothing draws power any more.
    dark: bool,
}

impl Ledger {
    /// A ledger at time zero with IT power `it_w`, of which `gpu_w` GPUs and `other_w` drawn by no server.
    pub fn new(it_w: f64, gpu_w: f64, other_w: f64, facility: Option<FacilityMeter>) -> Self {
        Ledger {
            it: EnergyMeter::new(SimTime::ZERO, it_w),
            gpu: EnergyMeter::new(SimTime::ZERO, gpu_w),
            facility,
            other_it_w: other_w,
            busy_milli: 0,
            busy_milli_ns: 0,
            last: SimTime::ZERO,
            dark: false,
        }
    }

    /// Integrates everything up to `now`.
    pub fn advance(&mut self, now: SimTime) {
        if now == self.last {
            return;
        }
        self.it.advance(now);
        self.gpu.advance(now);
        if let Some(f) = &mut self.facility {
            f.advance(now);
        }
        self.busy_milli_ns += self.busy_milli as u128 * (now - self.last).as_nanos() as u128;
        self.last = now;
    }

    /// IT power changes by `d_it_w` (of which `d_gpu_w` GPUs) at `now`; the facility follows.
    pub fn add(&mut self, now: SimTime, d_it_w: f64, d_gpu_w: f64) {
        self.advance(now);
        if self.dark {
            return;
        }
        self.it.add(d_it_w);
        self.gpu.add(d_gpu_w);
        let it = self.it.power_w();
        if let Some(f) = &mut self.facility {
            f.set_it_power(now, it);
        }
    }

    /// IT power that no server draws (switches) changes by `d_w` at `now`.
    pub fn add_other(&mut self, now: SimTime, d_w: f64) {
        if self.dark {
            return;
        }
        self.other_it_w += d_w;
        self.add(now, d_w, 0.0);
    }

    /// The feed tripped at `now`: from now on the site draws nothing (IT, power chain, cooling, misc), and
    /// power changes booked later are ignored. Weather, carbon intensity and prices keep advancing.
    pub fn go_dark(&mut self, now: SimTime) {
        self.advance(now);
        let (it, gpu) = (self.it.power_w(), self.gpu.power_w());
        self.it.add(-it);
        self.gpu.add(-gpu);
        self.other_it_w = 0.0;
        if let Some(f) = &mut self.facility {
            f.shut_down(now);
        }
        self.dark = true;
    }

    /// GPUs doing work change by `d_milli` thousandths at `now`.
    pub fn add_busy(&mut self, now: SimTime, d_milli: i64) {
        self.advance(now);
        self.busy_milli = self
            .busy_milli
            .checked_add_signed(d_milli)
            .expect("busy GPUs never go negative");
    }

    pub fn it(&self) -> &EnergyMeter {
        &self.it
    }

    pub fn gpu(&self) -> &EnergyMeter {
        &self.gpu
    }

    /// IT power no server draws, W.
    pub fn other_it_w(&self) -> f64 {
        self.other_it_w
    }

    /// GPUs doing work now.
    pub fn busy_gpus(&self) -> f64 {
        self.busy_milli as f64 / 1000.0
    }

    /// ∫ busy GPUs dt, GPU-hours.
    pub fn busy_gpu_h(&self) -> f64 {
        self.busy_milli_ns as f64 / 1000.0 / 1e9 / 3600.0
    }

    pub fn facility(&self) -> Option<&FacilityMeter> {
        self.facility.as_ref()
    }

    pub fn facility_mut(&mut self) -> Option<&mut FacilityMeter> {
        self.facility.as_mut()
    }
}
