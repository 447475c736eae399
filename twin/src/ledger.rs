//! The one energy meter of a run: IT and GPU power, the facility around them, and busy GPUs, integrated
//! exactly (power is piecewise constant between events; the facility meter also steps through weather,
//! carbon and tariff changes between events).
//!
//! Every part books its power changes here ([`Ledger::add`]); the facility meter follows the IT power at each
//! change. Nothing else meters energy. The servers' changes are also booked per rack ([`RackMeter`]): the site
//! functions that change a server's draw note its rack's change ([`crate::site::refresh_power`] at once,
//! [`crate::site::ServerAccess`] through `book_racks`), and the next [`Ledger::add`] (the same action's) books it
//! at that time.

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
    racks: RackMeter,
}

/// IT power of each rack's servers, integrated exactly and lazily: a rack's integral advances only when its power
/// changes (and at the end), so a change costs the same whatever the size of the site; nothing scans the racks
/// per event.
#[derive(Debug, Clone, Default)]
pub struct RackMeter {
    power_w: Vec<f64>,
    peak_w: Vec<f64>,
    energy_j: Vec<f64>,
    since: Vec<SimTime>,
    /// Changes noted since the last booking: (rack, ΔIT W).
    pending: Vec<(u32, f64)>,
}

impl RackMeter {
    /// Racks drawing `power_w[r]` at time zero.
    pub fn new(power_w: Vec<f64>) -> Self {
        let n = power_w.len();
        RackMeter {
            peak_w: power_w.clone(),
            power_w,
            energy_j: vec![0.0; n],
            since: vec![SimTime::ZERO; n],
            pending: Vec::new(),
        }
    }

    fn advance_rack(&mut self, r: usize, now: SimTime) {
        let dt = (now - self.since[r]).as_secs_f64();
        self.energy_j[r] += self.power_w[r] * dt;
        self.since[r] = now;
    }

    /// Books the noted changes at `now`; the peaks see each rack's power after all of them (one step).
    fn book(&mut self, now: SimTime) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        for &(r, d) in &pending {
            self.advance_rack(r as usize, now);
            self.power_w[r as usize] += d;
        }
        for &(r, _) in &pending {
            let r = r as usize;
            self.peak_w[r] = self.peak_w[r].max(self.power_w[r]);
        }
        self.pending = pending;
        self.pending.clear();
    }

    /// Per rack: (peak W, ∫ power dt from 0 to `end` J).
    pub fn figures(&mut self, end: SimTime) -> Vec<(f64, f64)> {
        (0..self.power_w.len())
            .map(|r| {
                self.advance_rack(r, end);
                (self.peak_w[r], self.energy_j[r])
            })
            .collect()
    }
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
            racks: RackMeter::default(),
        }
    }

    /// Meters the racks' IT power from time zero (`racks` holds their power then).
    pub fn with_racks(mut self, racks: RackMeter) -> Self {
        self.racks = racks;
        self
    }

    /// A server of rack `rack` changed its draw by `d_it_w` now; booked with the action's [`Ledger::add`].
    pub fn note_rack(&mut self, rack: u32, d_it_w: f64) {
        if !self.racks.power_w.is_empty() {
            self.racks.pending.push((rack, d_it_w));
        }
    }

    /// The rack meter.
    pub fn racks_mut(&mut self) -> &mut RackMeter {
        &mut self.racks
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
            self.racks.pending.clear();
            return;
        }
        self.racks.book(now);
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
        self.racks.pending.clear();
        for r in 0..self.racks.power_w.len() {
            self.racks.advance_rack(r, now);
            self.racks.power_w[r] = 0.0;
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
