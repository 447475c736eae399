//! A server's host (non-GPU) power by component and its power supplies' efficiency curve (docs/models.md
//! §Server power): the optional detail of `HostPower` (`components`, `psu_curve`).
//!
//! - Host, DC side: `P_host = P_cpu,idle + (P_cpu,max − P_cpu,idle)·u + P_mem + P_nic + P_other + P_fan`, `u` the
//!   server's allocation fraction. Fans by the affinity laws: airflow follows the heat they carry at a fixed air
//!   temperature rise, so their speed is `x = clamp(Q / Q_d, x_min, 1)` and their power `P_fan,max · x³`, `Q` the
//!   heat of everything else in the server (GPUs and the host without fans), `Q_d` the design heat at which the
//!   fans run at full speed \[src: affinity laws, ASHRAE Handbook — HVAC Systems and Equipment ch. 21; the fan
//!   share of a server's power: eng].
//! - Power supplies: the efficiency `η(L)` at load fraction `L = P_dc / P_rated` is interpolated linearly between
//!   curve points (flat beyond the first and last); input `P_in = P_dc / η(L)`. Default points: 80 PLUS Titanium,
//!   230 V internal — 90% at 10% load, 94% at 20%, 96% at 50%, 91% at 100% \[src: CLEAResult 80 PLUS program
//!   requirements].

use serde::{Deserialize, Serialize};

use crate::check::FieldError;

/// Host power by component, W (DC side).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostComponents {
    /// CPUs with nothing allocated, W.
    pub cpu_idle_w: f64,
    /// CPUs with the whole server allocated, W.
    pub cpu_max_w: f64,
    /// Memory (DIMMs), W.
    #[serde(default)]
    pub memory_w: f64,
    /// NICs and DPUs, W.
    #[serde(default)]
    pub nic_w: f64,
    /// Everything else that does not follow the load: scale-up switches, drives, the BMC, W.
    #[serde(default)]
    pub other_w: f64,
    /// Fans at full speed, W.
    #[serde(default)]
    pub fan_max_w: f64,
    /// The lowest fan speed, a fraction of full speed, [0, 1]. Default 0.3 \[eng].
    #[serde(default = "default_fan_min_speed")]
    pub fan_min_speed: f64,
    /// Heat at which the fans reach full speed, W. Default: the GPUs at board power and the host (without fans) at
    /// full allocation.
    #[serde(default)]
    pub design_heat_w: Option<f64>,
}

fn default_fan_min_speed() -> f64 {
    0.3
}

impl HostComponents {
    /// Host power without the fans at allocation `u`, W.
    pub fn base_w(&self, u: f64) -> f64 {
        self.cpu_idle_w
            + (self.cpu_max_w - self.cpu_idle_w) * u.clamp(0.0, 1.0)
            + self.memory_w
            + self.nic_w
            + self.other_w
    }

    /// Host power at allocation `u` with the GPUs drawing `gpu_w`, for a design heat `design_heat_w`, W.
    pub fn power_w(&self, u: f64, gpu_w: f64, design_heat_w: f64) -> f64 {
        let base = self.base_w(u);
        base + self.fan_max_w * fan_cube(gpu_w + base, design_heat_w, self.fan_min_speed)
    }

    /// The design heat for a server of `gpus` GPUs of `board_w` each, W.
    pub fn design_heat_for(&self, gpus: u32, board_w: f64) -> f64 {
        self.design_heat_w
            .unwrap_or(gpus as f64 * board_w + self.base_w(1.0))
    }

    /// Checks the figures; the error's message names the first bad field.
    pub fn check(&self) -> Result<(), FieldError> {
        for (v, f) in [
            (self.cpu_idle_w, "cpu_idle_w"),
            (self.memory_w, "memory_w"),
            (self.nic_w, "nic_w"),
            (self.other_w, "other_w"),
            (self.fan_max_w, "fan_max_w"),
        ] {
            if !(v.is_finite() && (0.0..=1e6).contains(&v)) {
                return Err(FieldError::whole(format!(
                    "`components.{f}` must lie in [0, 1e6] W, found {v}"
                )));
            }
        }
        if !(self.cpu_max_w.is_finite()
            && self.cpu_max_w >= self.cpu_idle_w
            && self.cpu_max_w <= 1e6)
        {
            return Err(FieldError::whole(format!(
                "`components.cpu_max_w` must lie in [cpu_idle_w ({}), 1e6] W, found {}",
                self.cpu_idle_w, self.cpu_max_w
            )));
        }
        if !(self.fan_min_speed.is_finite() && (0.0..=1.0).contains(&self.fan_min_speed)) {
            return Err(FieldError::whole(format!(
                "`components.fan_min_speed` must lie in [0, 1], found {}",
                self.fan_min_speed
            )));
        }
        if let Some(q) = self.design_heat_w
            && !(q.is_finite() && q > 0.0)
        {
            return Err(FieldError::whole(format!(
                "`components.design_heat_w` must be a finite number > 0, found {q}"
            )));
        }
        Ok(())
    }
}

/// `x³` with the fan speed `x = clamp(heat / design, min_speed, 1)`.
pub fn fan_cube(heat_w: f64, design_heat_w: f64, min_speed: f64) -> f64 {
    let x = if design_heat_w > 0.0 {
        (heat_w / design_heat_w).clamp(min_speed, 1.0)
    } else {
        1.0
    };
    x * x * x
}

/// Power-supply efficiency by load fraction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PsuCurve {
    /// DC output the server's supplies share at full load (all the supplies that carry load), W.
    pub rated_w: f64,
    /// `(load fraction, efficiency)` points in increasing load. Default: 80 PLUS Titanium (230 V internal).
    #[serde(default = "titanium")]
    pub points: Vec<(f64, f64)>,
}

fn titanium() -> Vec<(f64, f64)> {
    vec![(0.10, 0.90), (0.20, 0.94), (0.50, 0.96), (1.00, 0.91)]
}

impl PsuCurve {
    /// Efficiency at DC output `dc_w`: linear between points, flat beyond the ends.
    pub fn efficiency_at(&self, dc_w: f64) -> f64 {
        let l = dc_w / self.rated_w;
        let p = &self.points;
        if l <= p[0].0 {
            return p[0].1;
        }
        for w in p.windows(2) {
            let ((l0, e0), (l1, e1)) = (w[0], w[1]);
            if l <= l1 {
                return e0 + (e1 - e0) * (l - l0) / (l1 - l0);
            }
        }
        p[p.len() - 1].1
    }

    /// Checks the curve; the error's message names the first bad field.
    pub fn check(&self) -> Result<(), FieldError> {
        if !(self.rated_w.is_finite() && self.rated_w > 0.0) {
            return Err(FieldError::whole(format!(
                "`psu_curve.rated_w` must be a finite number > 0, found {}",
                self.rated_w
            )));
        }
        if self.points.is_empty() || self.points.len() > 32 {
            return Err(FieldError::whole(format!(
                "`psu_curve.points` must hold 1 to 32 (load fraction, efficiency) points, found {}",
                self.points.len()
            )));
        }
        let mut last = 0.0;
        for (i, &(l, e)) in self.points.iter().enumerate() {
            if !(l.is_finite() && l > last && l <= 2.0) {
                return Err(FieldError::whole(format!(
                    "`psu_curve.points[{i}]`: load fractions must increase within (0, 2], found {l}"
                )));
            }
            if !(e.is_finite() && (0.5..=1.0).contains(&e)) {
                return Err(FieldError::whole(format!(
                    "`psu_curve.points[{i}]`: efficiency must lie in [0.5, 1], found {e}"
                )));
            }
            last = l;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::GpuModel;
    use crate::placement::ServerLoad;
    use crate::power::ServerPowerModel;
    use crate::site::{HostPower, ServerSpec};

    fn components() -> HostComponents {
        HostComponents {
            cpu_idle_w: 200.0,
            cpu_max_w: 700.0,
            memory_w: 320.0,
            nic_w: 350.0,
            other_w: 500.0,
            fan_max_w: 1000.0,
            fan_min_speed: 0.3,
            design_heat_w: None,
        }
    }

    #[test]
    fn psu_curve_interpolates_titanium() {
        let c = PsuCurve {
            rated_w: 10_000.0,
            points: titanium(),
        };
        // Flat below 10% and above 100%; linear between: 35% → 0.94 + 0.02 · 0.15/0.30 = 0.95.
        assert_eq!(c.efficiency_at(500.0), 0.90);
        assert_eq!(c.efficiency_at(12_000.0), 0.91);
        assert!((c.efficiency_at(3_500.0) - 0.95).abs() < 1e-15);
        assert!((c.efficiency_at(7_500.0) - (0.96 - 0.05 * 0.5)).abs() < 1e-15);
        assert!(c.check().is_ok());
        let bad = PsuCurve {
            rated_w: 1.0,
            points: vec![(0.5, 0.9), (0.2, 0.95)],
        };
        assert!(bad.check().unwrap_err().message.contains("increase"));
    }

    #[test]
    fn fans_follow_the_heat_by_the_cube() {
        let c = components();
        // Design heat: 8 GPUs at 700 W + the host without fans at full allocation (700 + 320 + 350 + 500).
        let design = c.design_heat_for(8, 700.0);
        assert_eq!(design, 5600.0 + 1870.0);
        // At the design heat the fans run flat out; at half of it, an eighth; below 30%, at the floor (0.3³).
        assert_eq!(c.power_w(1.0, 5600.0, design), 1870.0 + 1000.0);
        let half_gpu = design / 2.0 - 1870.0;
        assert!((c.power_w(1.0, half_gpu, design) - (1870.0 + 125.0)).abs() < 1e-9);
        assert!((c.power_w(0.0, 0.0, design) - (1370.0 + 1000.0 * 0.027)).abs() < 1e-9);
    }

    #[test]
    fn a_component_host_behind_a_psu_curve_in_the_server_model() {
        let gpu = GpuModel {
            name: "H100".into(),
            board_power_w: 700.0,
            idle_power_w: 70.0,
            peak_tflops: 989.0,
            precision: crate::catalog::Precision::Bf16,
            memory_gb: 80.0,
            memory_bandwidth_tbs: 3.35,
            scaleup_link_gbs: 900.0,
            scaleup_reduction: true,
            activity: Default::default(),
            kernels: Default::default(),
            source: String::new(),
        };
        let host = HostPower {
            idle_w: None,
            max_w: None,
            psu_efficiency: 0.95,
            components: Some(components()),
            psu_curve: Some(PsuCurve {
                rated_w: 19_800.0,
                points: titanium(),
            }),
        };
        let spec = ServerSpec {
            name: "s".into(),
            hall: 0,
            row: 0,
            rack: 0,
            gpu_model: 0,
            gpus: 8,
            cpu_milli: 0,
            memory_mib: 0,
            host: host.clone(),
        };
        let model = ServerPowerModel::new(&gpu, 8, &host, 0);
        // Idle: GPUs 8 · 70 W, host 1,370 W + fans at the floor (27 W); DC 1,957 W is 9.9% of the supplies' rating
        // → 90% efficient.
        let idle = model.power_w(&ServerLoad::new(&spec));
        let dc = 560.0 + 1370.0 + 27.0;
        assert!((idle.input_w - dc / 0.90).abs() < 1e-9, "{idle:?}");
        // The nameplate: GPUs at board power, fans flat out: DC 8,470 W at 42.8% of the rating.
        let dc = 5600.0 + 1870.0 + 1000.0;
        let eta = 0.94 + 0.02 * (dc / 19_800.0 - 0.2) / 0.3;
        assert!((host.nameplate_input_w(8, 700.0) - dc / eta).abs() < 1e-9);
    }
}
