//! Server power: GPUs by workload phase, host overhead, power-supply loss, and exact energy integration.
//!
//! Formulas (docs/models.md §Power):
//! - GPU: `P_gpu = P_idle + (P_board − P_idle) · (Σ_j a_j · s_j + a_r)` over the jobs `j` on the GPU, `a_j` the
//!   job's activity factor (the catalog's `compute` factor unless the job states its own, e.g. a training job's
//!   phase-weighted factor), `s_j ∈ [0, 1]` its allocated share (1 for a whole GPU), kept in integers
//!   (thousandths × thousandths) so allocation and release cancel exactly; `a_r` the activity of the inference
//!   iteration a replica runs on it (0 otherwise). Under a power limit `P_c` the GPU draws `min(P_gpu, P_c)`.
//!   [form: models.md §1; a: eng]
//! - Host: `P_host = P_host_idle + (P_host_max − P_host_idle) · u`, `u` the server's allocation fraction
//!   (the larger of its GPU and CPU allocation fractions) [eng; calibrated to the DGX H100's 10.2 kW]; or by
//!   component with fans following the heat ([`crate::host`]).
//! - Server input: `P_in = (ΣP_gpu + P_host) / η_psu`, η constant or the supplies' curve at their load
//!   ([`crate::host::PsuCurve`]). [eng; 80 PLUS]
//! - Energy: power is piecewise constant between events, so `E = Σ P_k · (t_{k+1} − t_k)` is exact.

use bevy_ecs::component::Component;
use sim::SimTime;

use crate::catalog::GpuModel;
use crate::placement::{ServerLoad, WHOLE_GPU_MILLI};
pub use crate::site::HostPower;

/// GPU power, W, at allocated share `share` (0..=1) with activity factor `activity`.
pub fn gpu_power_w(idle_w: f64, board_w: f64, activity: f64, share: f64) -> f64 {
    idle_w + activity * (board_w - idle_w) * share
}

/// Host (non-GPU) power, W (DC), at allocation fraction `u` (0..=1) with the GPUs drawing `gpu_w`, the fans
/// reaching full speed at `design_heat_w` ([`HostPower::dc_w`]).
pub fn host_power_w(host: &HostPower, u: f64, gpu_w: f64, design_heat_w: f64) -> f64 {
    host.dc_w(u, gpu_w, design_heat_w)
}

/// Power parameters of one server, copied from its spec and GPU model so the hot path reads one component.
///
/// `repr(C)` with what a draw needs first: on a large site each server's model is a cache miss, and the
/// fields a linear host reads fit in its first 64 bytes (the rest of [`HostPower`] is not read then).
#[derive(Component, Debug, Clone, PartialEq)]
#[repr(C)]
pub struct ServerPowerModel {
    pub gpu_idle_w: f64,
    pub gpu_board_w: f64,
    pub cpu_milli_total: u64,
    /// The fans' design heat (host components), W; 0 for the linear host model.
    pub design_heat_w: f64,
    /// `host` when it is the linear model with a constant efficiency (no components, no supply curve).
    linear: Option<LinearHost>,
    pub host: HostPower,
}

/// A linear host with a constant power-supply efficiency ([`HostPower::dc_w`], [`HostPower::input_w`]).
#[derive(Debug, Clone, Copy, PartialEq)]
struct LinearHost {
    idle_w: f64,
    max_w: f64,
    psu_efficiency: f64,
}

impl LinearHost {
    fn of(host: &HostPower) -> Option<Self> {
        if host.components.is_some() || host.psu_curve.is_some() {
            return None;
        }
        let idle_w = host.idle_w.unwrap_or(0.0);
        Some(LinearHost {
            idle_w,
            max_w: host.max_w.unwrap_or(idle_w),
            psu_efficiency: host.psu_efficiency,
        })
    }
}

impl ServerPowerModel {
    /// The model of a server with `gpus` GPUs of type `gpu`.
    pub fn new(gpu: &GpuModel, gpus: u32, host: &HostPower, cpu_milli_total: u64) -> Self {
        ServerPowerModel {
            gpu_idle_w: gpu.idle_power_w,
            gpu_board_w: gpu.board_power_w,
            design_heat_w: host.design_heat_w(gpus, gpu.board_power_w),
            linear: LinearHost::of(host),
            host: host.clone(),
            cpu_milli_total,
        }
    }

    /// Server input power, W, at the load's allocation with its GPUs drawing `gpu_w` (the same operations as
    /// [`Self::host_w`] then [`HostPower::input_w`], without reading `host` for a linear one).
    fn input_w(&self, load: &ServerLoad, gpu_w: f64) -> f64 {
        match &self.linear {
            Some(l) => {
                let u = self.allocation(load);
                (gpu_w + (l.idle_w + (l.max_w - l.idle_w) * u)) / l.psu_efficiency
            }
            None => self.host.input_w(gpu_w + self.host_w(load, gpu_w)),
        }
    }

    /// [`Self::power_w`] with each GPU's power limited to `caps_w[slot]` (power capping; DC W).
    pub fn power_capped_w(&self, load: &ServerLoad, caps_w: &[f64]) -> ServerPower {
        let n = load.gpus as usize;
        let mut gpu_w = 0.0;
        for (k, &cap) in caps_w[..n].iter().enumerate() {
            gpu_w += gpu_power_w(self.gpu_idle_w, self.gpu_board_w, load.activity(k), 1.0).min(cap);
        }
        ServerPower {
            input_w: self.input_w(load, gpu_w),
            gpu_w,
        }
    }

    /// Full-clock power of each GPU of the server, W (DC).
    pub fn gpu_demand_w(&self, load: &ServerLoad, out: &mut Vec<f64>) {
        for k in 0..load.gpus as usize {
            out.push(gpu_power_w(
                self.gpu_idle_w,
                self.gpu_board_w,
                load.activity(k),
                1.0,
            ));
        }
    }

    /// Host power, W (DC), at the server's allocation fraction (the larger of GPUs and CPUs), its GPUs drawing
    /// `gpu_w` (what the fans of a component host follow).
    pub fn host_w(&self, load: &ServerLoad, gpu_w: f64) -> f64 {
        host_power_w(&self.host, self.allocation(load), gpu_w, self.design_heat_w)
    }

    /// The server's allocation fraction: the larger of its GPU and CPU allocation fractions (0..=1).
    fn allocation(&self, load: &ServerLoad) -> f64 {
        let n = load.gpus as usize;
        let gpu_frac = if n == 0 {
            0.0
        } else {
            load.allocated_milli() as f64 / (n as f64 * WHOLE_GPU_MILLI as f64)
        };
        let cpu_frac = if self.cpu_milli_total == 0 {
            0.0
        } else {
            1.0 - load.free_cpu_milli as f64 / self.cpu_milli_total as f64
        };
        gpu_frac.max(cpu_frac)
    }

    /// (server input power, GPU power), W, for the server's current allocation.
    pub fn power_w(&self, load: &ServerLoad) -> ServerPower {
        let n = load.gpus as usize;
        let mut gpu_w = 0.0;
        for k in 0..n {
            // Σ share·a over the jobs on this GPU (exact integer ÷ 10⁶), plus a replica's iteration.
            gpu_w += gpu_power_w(self.gpu_idle_w, self.gpu_board_w, load.activity(k), 1.0);
        }
        ServerPower {
            input_w: self.input_w(load, gpu_w),
            gpu_w,
        }
    }
}

/// A server's current draw.
#[derive(Component, Debug, Clone, Copy, PartialEq, Default)]
pub struct ServerPower {
    /// At the server's power inlet (IT power), W.
    pub input_w: f64,
    /// GPUs only, W.
    pub gpu_w: f64,
}

/// Integrates a piecewise-constant power exactly: call [`advance`](Self::advance) before every change.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyMeter {
    last: SimTime,
    power_w: f64,
    energy_j: f64,
    peak_w: f64,
    min_w: f64,
}

impl EnergyMeter {
    pub fn new(start: SimTime, power_w: f64) -> Self {
        EnergyMeter {
            last: start,
            power_w,
            energy_j: 0.0,
            peak_w: power_w,
            min_w: power_w,
        }
    }

    /// Accumulates the energy of the current power up to `now`.
    pub fn advance(&mut self, now: SimTime) {
        let dt_s = (now - self.last).as_secs_f64();
        self.energy_j += self.power_w * dt_s;
        self.last = now;
    }

    /// Changes the power by `delta_w` at the meter's current time (advance first). A sum that cancels to
    /// within 1e-9 of the terms (every draw gone: rounding left of `+a + b − a − b`) is exactly zero, so a dark
    /// site integrates no energy, negative or positive.
    pub fn add(&mut self, delta_w: f64) {
        let sum = self.power_w + delta_w;
        self.power_w = if sum.abs() <= 1e-9 * self.power_w.abs().max(delta_w.abs()) {
            0.0
        } else {
            sum
        };
        self.peak_w = self.peak_w.max(self.power_w);
        self.min_w = self.min_w.min(self.power_w);
    }

    pub fn power_w(&self) -> f64 {
        self.power_w
    }
    pub fn energy_j(&self) -> f64 {
        self.energy_j
    }
    pub fn peak_w(&self) -> f64 {
        self.peak_w
    }
    pub fn min_w(&self) -> f64 {
        self.min_w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::SimDuration;

    #[test]
    fn h100_power_by_share() {
        // H100: idle 70 W, board 700 W, a = 0.85 → busy 70 + 0.85·630 = 605.5 W.
        assert_eq!(gpu_power_w(70.0, 700.0, 0.85, 1.0), 605.5);
        assert_eq!(gpu_power_w(70.0, 700.0, 0.85, 0.0), 70.0);
        assert_eq!(
            gpu_power_w(70.0, 700.0, 0.85, 0.5),
            70.0 + 0.85 * 630.0 * 0.5
        );
    }

    #[test]
    fn meter_integrates_piecewise_constant_power_exactly() {
        let mut m = EnergyMeter::new(SimTime::ZERO, 100.0);
        m.advance(SimTime::from_secs(3600));
        m.add(500.0);
        m.advance(SimTime::from_secs(3600) + SimDuration::from_secs(1800));
        assert_eq!(m.energy_j(), 100.0 * 3600.0 + 600.0 * 1800.0);
        assert_eq!(m.peak_w(), 600.0);
        assert_eq!(m.min_w(), 100.0);
    }

    /// Draws that all go away leave exactly zero, not the rounding of their sum (which would integrate a
    /// tiny negative or positive energy on a dark site).
    #[test]
    fn meter_power_that_cancels_is_zero() {
        let mut m = EnergyMeter::new(SimTime::ZERO, 0.0);
        let draws = [5600.3, 0.1, 1234.567, 0.2, 987.654_321];
        for d in draws {
            m.add(d);
        }
        let mut raw = draws.iter().sum::<f64>();
        for d in draws {
            m.add(-d);
            raw -= d;
        }
        assert_ne!(raw, 0.0, "the plain float sum leaves a residue here");
        assert_eq!(m.power_w(), 0.0);
        m.advance(SimTime::from_secs(3600));
        assert_eq!(m.energy_j(), 0.0);
        // A small real draw beside a large one is kept.
        m.add(1e6);
        m.add(0.5);
        m.add(-1e6);
        assert_eq!(m.power_w(), 0.5);
    }
}
