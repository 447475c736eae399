//! Power capping: per-GPU caps, power budgets per rack, row and feed, a controller acting at a fixed
//! interval, the DVFS throughput model, and breaker trips.
//!
//! **DVFS** (models.md §1 "Power capping / DVFS"): dynamic power ∝ f^γ and compute-bound throughput ∝ f, so a
//! GPU demanding `P_d` at full clock under a cap `P_c` runs at the clock ratio
//! `r = min(1, ((P_c − P_s)/(P_d − P_s))^(1/γ))` (`P_s` static power; 0 if `P_c ≤ P_s`). A phase that is
//! compute-bound for a share `β` of its time takes `β/r + (1 − β)` times as long (memory-bound time does not
//! scale with the core clock), so its throughput ratio is `1 / (β/r + 1 − β)` \[eng: Amdahl blend of the
//! roofline's two regimes\]; `β = 1` gives `r`, `β = 0` (memory-bound decode) gives 1. H100, 500 W cap,
//! `P_s` 100 W, γ 3, `P_d` 700 W → 0.874 (models.md's example).
//!
//! **Controller** ([`CappingController`]): every `interval_s` the run loop calls
//! [`CappingController::decide`] with each GPU's demand at full clock and each rack's other IT power. Caps
//! start at the static per-GPU cap (or board power); then, level by level — racks, rows, the feed — a group
//! over its budget gets one uniform per-GPU cap `c` (the largest with `P_group(c) ≤ budget`, solved exactly on
//! the sorted demands; never below `min_cap_fraction` × board power). Caps hold until the next decision, so a
//! budget is exceeded only between a demand rise and the next decision: at most one interval. Budgets are on
//! IT power at the servers' inlets below the level (rack: its servers; row: its racks; feed: the whole site).
//!
//! **Breakers**: a rack, row or feed whose (capped) IT power exceeds its rating trips at once
//! (instantaneous trip, no inverse-time curve \[eng\]); everything under it goes down and stays down
//! ([`CappingController::tripped`]; the run loop takes those servers' jobs down).
//!
//! The controller keeps exact integrals between calls (inputs are piecewise constant): time over budget,
//! energy capped (demand − capped power, at the wall), compute-bound throughput lost in GPU-seconds.

use serde::{Deserialize, Serialize};

use crate::check::{FieldError, fraction, positive};

/// Relative tolerance of budget checks (rounding of the solved cap).
pub const BUDGET_TOLERANCE: f64 = 1e-9;

/// DVFS parameters (models.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DvfsConfig {
    /// Exponent γ of dynamic power in clock frequency. Default 3 \[eng, models.md §1: 2.5–3\].
    #[serde(default = "d_gamma")]
    pub gamma: f64,
    /// Static (clock-independent) power as a fraction of board power. Default 1/7 (100 W of the H100's
    /// 700 W) \[eng, models.md §1 example\].
    #[serde(default = "d_static")]
    pub static_fraction: f64,
    /// Compute-bound share β of jobs that carry no roofline (trace and synthetic jobs; training jobs use
    /// their plan's compute share of the step). Default 1: fully compute-bound, the largest slowdown \[eng\].
    #[serde(default = "d_job_beta")]
    pub job_compute_fraction: f64,
}

fn d_gamma() -> f64 {
    3.0
}
fn d_static() -> f64 {
    1.0 / 7.0
}
fn d_job_beta() -> f64 {
    1.0
}

impl Default for DvfsConfig {
    fn default() -> Self {
        DvfsConfig {
            gamma: d_gamma(),
            static_fraction: d_static(),
            job_compute_fraction: d_job_beta(),
        }
    }
}

/// Capping and budgets (`facility: (capping: Some((…)))`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CappingConfig {
    /// Control interval, s. Default 5 \[eng; fleet capping systems act in seconds (Dynamo, ISCA 2016: 3 s
    /// power readings)\].
    #[serde(default = "d_interval")]
    pub interval_s: f64,
    /// A static per-GPU cap, W (DC); default none (board power).
    #[serde(default)]
    pub gpu_cap_w: Option<f64>,
    /// IT power budgets per rack, per row and for the whole feed, W; default none.
    #[serde(default)]
    pub rack_budget_w: Option<f64>,
    #[serde(default)]
    pub row_budget_w: Option<f64>,
    #[serde(default)]
    pub feed_budget_w: Option<f64>,
    /// The lowest cap the controller sets, as a fraction of board power. Default 0.3 \[eng; the H100 SXM's
    /// minimum power limit is 200 W of 700 W\].
    #[serde(default = "d_min_cap")]
    pub min_cap_fraction: f64,
    /// Whether a controller acts (false: budgets are only watched, and ratings trip). Default true.
    #[serde(default = "d_true")]
    pub controller: bool,
    #[serde(default)]
    pub dvfs: DvfsConfig,
}

fn d_interval() -> f64 {
    5.0
}
fn d_min_cap() -> f64 {
    0.3
}
fn d_true() -> bool {
    true
}

impl Default for CappingConfig {
    fn default() -> Self {
        CappingConfig {
            interval_s: d_interval(),
            gpu_cap_w: None,
            rack_budget_w: None,
            row_budget_w: None,
            feed_budget_w: None,
            min_cap_fraction: d_min_cap(),
            controller: true,
            dvfs: DvfsConfig::default(),
        }
    }
}

impl CappingConfig {
    /// Checks the values; paths like `dvfs.gamma`.
    pub fn check(&self) -> Result<(), FieldError> {
        positive("interval_s", self.interval_s)?;
        for (p, v) in [
            ("gpu_cap_w", self.gpu_cap_w),
            ("rack_budget_w", self.rack_budget_w),
            ("row_budget_w", self.row_budget_w),
            ("feed_budget_w", self.feed_budget_w),
        ] {
            if let Some(v) = v {
                positive(p, v)?;
            }
        }
        fraction("min_cap_fraction", self.min_cap_fraction)?;
        positive("dvfs.gamma", self.dvfs.gamma)?;
        fraction("dvfs.job_compute_fraction", self.dvfs.job_compute_fraction)?;
        let s = self.dvfs.static_fraction;
        if !(0.0..1.0).contains(&s) {
            return Err(FieldError::new(
                "dvfs.static_fraction",
                format!("must be in [0, 1), found {s}"),
            ));
        }
        Ok(())
    }
}

/// Clock ratio of a GPU demanding `demand_w` at full clock under `cap_w`:
/// `min(1, ((P_c − P_s)/(P_d − P_s))^(1/γ))`, 0 when the cap is at or below static power.
pub fn clock_ratio(cap_w: f64, demand_w: f64, static_w: f64, gamma: f64) -> f64 {
    if demand_w <= cap_w {
        1.0
    } else if cap_w <= static_w {
        0.0
    } else {
        ((cap_w - static_w) / (demand_w - static_w))
            .powf(1.0 / gamma)
            .min(1.0)
    }
}

/// Throughput ratio of a phase compute-bound for a share `compute_fraction` (β) of its time:
/// `1 / (β/r + 1 − β)` with `r` = [`clock_ratio`]. β = 1: `r`; β = 0: 1.
pub fn throughput_ratio(
    cap_w: f64,
    demand_w: f64,
    static_w: f64,
    gamma: f64,
    compute_fraction: f64,
) -> f64 {
    let r = clock_ratio(cap_w, demand_w, static_w, gamma);
    if r >= 1.0 {
        1.0
    } else if r <= 0.0 {
        if compute_fraction > 0.0 { 0.0 } else { 1.0 }
    } else {
        1.0 / (compute_fraction / r + 1.0 - compute_fraction)
    }
}

/// One rack as the controller sees it: its row (0-based, site order), GPUs, GPU board power and PSU
/// efficiency (GPU DC power `p` draws `p/η` at the wall).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RackInfo {
    pub row: u32,
    pub gpus: u32,
    pub gpu_board_w: f64,
    pub psu_efficiency: f64,
}

/// The demand the run loop reports: every GPU's power at full clock (DC, W; GPUs in rack order, rack by
/// rack as given to [`CappingController::new`]) and each rack's other IT power at the wall (hosts, PSU
/// loss of the host power), W.
#[derive(Debug, Clone, Copy)]
pub struct Demand<'a> {
    pub gpu_w: &'a [f64],
    pub rack_other_w: &'a [f64],
}

/// A level of the power hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Level {
    Rack(u32),
    Row(u32),
    Feed,
}

/// Exact integrals of a [`CappingController`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CappingTotals {
    /// Time some budget (any level) was exceeded, s.
    pub over_budget_s: f64,
    /// Time the feed budget was exceeded, s.
    pub feed_over_budget_s: f64,
    /// ∫ (demand − capped) IT power dt at the wall, J.
    pub energy_capped_j: f64,
    /// ∫ Σ_gpus (1 − r) dt over GPUs slowed by a cap (compute-bound work), GPU-s.
    pub throughput_lost_gpu_s: f64,
    /// ∫ Σ_gpus dt over GPUs whose demand exceeds their cap, GPU-s.
    pub capped_gpu_s: f64,
    /// Decisions taken.
    pub decisions: u64,
}

/// The controller's state: caps per GPU, the last demand, trips and exact integrals.
#[derive(Debug, Clone)]
pub struct CappingController {
    cfg: CappingConfig,
    racks: Vec<RackInfo>,
    /// First GPU index of each rack, and one past the last (len = racks + 1).
    rack_start: Vec<usize>,
    rows: u32,
    ratings: super::power_chain::Ratings,
    caps_w: Vec<f64>,
    demand_w: Vec<f64>,
    other_w: Vec<f64>,
    /// Tripped racks (a tripped row or feed trips its racks).
    down: Vec<bool>,
    trips: Vec<(f64, Level)>,
    last_s: f64,
    totals: CappingTotals,
    /// Scratch: (effective demand, wall weight) pairs.
    scratch: Vec<(f64, f64)>,
    over_now: bool,
    feed_over_now: bool,
}

impl CappingController {
    /// A controller for `racks` (in site order) under `ratings` (breakers; `rack_w`, `row_w` compare with
    /// IT power, `feed_w` with the site's IT power here), at time 0 with no demand.
    pub fn new(
        cfg: &CappingConfig,
        racks: Vec<RackInfo>,
        ratings: super::power_chain::Ratings,
    ) -> Self {
        let mut rack_start = Vec::with_capacity(racks.len() + 1);
        let mut n = 0usize;
        for r in &racks {
            rack_start.push(n);
            n += r.gpus as usize;
        }
        rack_start.push(n);
        let rows = racks.iter().map(|r| r.row + 1).max().unwrap_or(0);
        let mut caps_w = Vec::with_capacity(n);
        for r in &racks {
            let c = cfg
                .gpu_cap_w
                .map_or(r.gpu_board_w, |c| c.min(r.gpu_board_w));
            caps_w.extend(std::iter::repeat_n(c, r.gpus as usize));
        }
        CappingController {
            cfg: cfg.clone(),
            rack_start,
            rows,
            ratings,
            caps_w,
            demand_w: vec![0.0; n],
            other_w: vec![0.0; racks.len()],
            down: vec![false; racks.len()],
            racks,
            trips: Vec::new(),
            last_s: 0.0,
            totals: CappingTotals::default(),
            scratch: Vec::new(),
            over_now: false,
            feed_over_now: false,
        }
    }

    fn static_w(&self, rack: usize) -> f64 {
        self.cfg.dvfs.static_fraction * self.racks[rack].gpu_board_w
    }

    /// Capped IT power of rack `r` at the wall, W (0 when tripped).
    pub fn rack_power_w(&self, r: usize) -> f64 {
        if self.down[r] {
            return 0.0;
        }
        let inv = 1.0 / self.racks[r].psu_efficiency;
        let (a, b) = (self.rack_start[r], self.rack_start[r + 1]);
        self.other_w[r]
            + (a..b)
                .map(|g| self.demand_w[g].min(self.caps_w[g]) * inv)
                .sum::<f64>()
    }

    /// Demand (uncapped) IT power of rack `r` at the wall, W (0 when tripped).
    pub fn rack_demand_w(&self, r: usize) -> f64 {
        if self.down[r] {
            return 0.0;
        }
        let inv = 1.0 / self.racks[r].psu_efficiency;
        let (a, b) = (self.rack_start[r], self.rack_start[r + 1]);
        self.other_w[r] + self.demand_w[a..b].iter().sum::<f64>() * inv
    }

    /// Integrates the current state up to `now_s`.
    fn integrate(&mut self, now_s: f64) {
        let dt = now_s - self.last_s;
        if dt <= 0.0 {
            return;
        }
        let gamma = self.cfg.dvfs.gamma;
        let mut capped_j = 0.0;
        let mut lost = 0.0;
        let mut capped_gpus = 0.0;
        for r in 0..self.racks.len() {
            if self.down[r] {
                continue;
            }
            let inv = 1.0 / self.racks[r].psu_efficiency;
            let s = self.static_w(r);
            for g in self.rack_start[r]..self.rack_start[r + 1] {
                let (d, c) = (self.demand_w[g], self.caps_w[g]);
                if d > c {
                    capped_j += (d - c) * inv;
                    lost += 1.0 - clock_ratio(c, d, s, gamma);
                    capped_gpus += 1.0;
                }
            }
        }
        let t = &mut self.totals;
        t.energy_capped_j += capped_j * dt;
        t.throughput_lost_gpu_s += lost * dt;
        t.capped_gpu_s += capped_gpus * dt;
        if self.over_now {
            t.over_budget_s += dt;
        }
        if self.feed_over_now {
            t.feed_over_budget_s += dt;
        }
        self.last_s = now_s;
    }

    /// Capped IT power per row and for the feed, W.
    fn level_powers(&self) -> (Vec<f64>, f64) {
        let mut rows = vec![0.0; self.rows as usize];
        let mut feed = 0.0;
        for r in 0..self.racks.len() {
            let p = self.rack_power_w(r);
            rows[self.racks[r].row as usize] += p;
            feed += p;
        }
        (rows, feed)
    }

    /// Re-evaluates budgets and breakers for the current caps and demand.
    fn check(&mut self, now_s: f64) {
        let (rows, feed) = self.level_powers();
        let b = &self.cfg;
        // A cap solved to meet a budget exactly may sum a few ulps above it: not an excursion.
        let above = |p: f64, x: f64| p > x * (1.0 + BUDGET_TOLERANCE);
        let mut over = b.feed_budget_w.is_some_and(|x| above(feed, x));
        self.feed_over_now = over;
        over |= b
            .row_budget_w
            .is_some_and(|x| rows.iter().any(|&p| above(p, x)));
        if let Some(x) = b.rack_budget_w {
            over |= (0..self.racks.len()).any(|r| above(self.rack_power_w(r), x));
        }
        self.over_now = over;
        // Breakers: racks, then rows, then the feed.
        if let Some(x) = self.ratings.rack_w {
            for r in 0..self.racks.len() {
                if !self.down[r] && self.rack_power_w(r) > x {
                    self.down[r] = true;
                    self.trips.push((now_s, Level::Rack(r as u32)));
                }
            }
        }
        if let Some(x) = self.ratings.row_w {
            let (rows, _) = self.level_powers();
            for (row, &p) in rows.iter().enumerate() {
                if p > x {
                    for r in 0..self.racks.len() {
                        if self.racks[r].row as usize == row {
                            self.down[r] = true;
                        }
                    }
                    self.trips.push((now_s, Level::Row(row as u32)));
                }
            }
        }
        if let Some(x) = self.ratings.feed_w {
            let (_, feed) = self.level_powers();
            if feed > x {
                self.down.iter_mut().for_each(|d| *d = true);
                self.trips.push((now_s, Level::Feed));
            }
        }
    }

    fn set_demand(&mut self, d: &Demand<'_>) {
        assert_eq!(d.gpu_w.len(), self.demand_w.len(), "one demand per GPU");
        assert_eq!(d.rack_other_w.len(), self.racks.len(), "one value per rack");
        self.demand_w.copy_from_slice(d.gpu_w);
        self.other_w.copy_from_slice(d.rack_other_w);
    }

    /// Demand changed at `now_s` (caps hold until the next decision). Returns the trips this caused.
    pub fn observe(&mut self, now_s: f64, demand: &Demand<'_>) -> &[(f64, Level)] {
        self.integrate(now_s);
        self.set_demand(demand);
        let before = self.trips.len();
        self.check(now_s);
        &self.trips[before..]
    }

    /// A control decision at `now_s` for `demand`: recomputes every cap (lowering them where a budget is
    /// exceeded, raising them back where it no longer is) and returns the per-GPU caps, W (DC).
    pub fn decide(&mut self, now_s: f64, demand: &Demand<'_>) -> &[f64] {
        self.integrate(now_s);
        self.set_demand(demand);
        self.totals.decisions += 1;
        if self.cfg.controller {
            for r in 0..self.racks.len() {
                let c = self.cfg.gpu_cap_w.map_or(self.racks[r].gpu_board_w, |c| {
                    c.min(self.racks[r].gpu_board_w)
                });
                let (a, b) = (self.rack_start[r], self.rack_start[r + 1]);
                self.caps_w[a..b].iter_mut().for_each(|x| *x = c);
            }
            if let Some(budget) = self.cfg.rack_budget_w {
                for r in 0..self.racks.len() {
                    self.cap_group(&[r], budget);
                }
            }
            if let Some(budget) = self.cfg.row_budget_w {
                for row in 0..self.rows {
                    let members: Vec<usize> = (0..self.racks.len())
                        .filter(|&r| self.racks[r].row == row)
                        .collect();
                    self.cap_group(&members, budget);
                }
            }
            if let Some(budget) = self.cfg.feed_budget_w {
                let all: Vec<usize> = (0..self.racks.len()).collect();
                self.cap_group(&all, budget);
            }
        }
        self.check(now_s);
        &self.caps_w
    }

    /// Lowers the caps of `members` (racks) to one uniform per-GPU cap so that their IT power is within
    /// `budget` (or to the minimum cap if even that is not enough).
    fn cap_group(&mut self, members: &[usize], budget: f64) {
        let mut fixed = 0.0;
        let mut min_cap = f64::INFINITY;
        self.scratch.clear();
        for &r in members {
            if self.down[r] {
                continue;
            }
            fixed += self.other_w[r];
            let inv = 1.0 / self.racks[r].psu_efficiency;
            min_cap = min_cap.min(self.cfg.min_cap_fraction * self.racks[r].gpu_board_w);
            for g in self.rack_start[r]..self.rack_start[r + 1] {
                self.scratch
                    .push((self.demand_w[g].min(self.caps_w[g]), inv));
            }
        }
        let total: f64 = fixed + self.scratch.iter().map(|(e, w)| e * w).sum::<f64>();
        if total <= budget || self.scratch.is_empty() {
            return;
        }
        // P(c) = fixed + Σ_{e ≤ c} w·e + c · Σ_{e > c} w: walk the sorted effective demands.
        self.scratch.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut below = fixed; // fixed + Σ w·e over e ≤ current breakpoint
        let mut w_above: f64 = self.scratch.iter().map(|(_, w)| w).sum();
        let mut cap = f64::NAN;
        let mut prev_e = 0.0;
        for &(e, w) in &self.scratch {
            // On (prev_e, e]: P(c) = below + c · w_above.
            if below + e * w_above > budget {
                cap = if w_above > 0.0 {
                    ((budget - below) / w_above).max(prev_e)
                } else {
                    prev_e
                };
                break;
            }
            below += w * e;
            w_above -= w;
            prev_e = e;
        }
        let cap = if cap.is_nan() { prev_e } else { cap }.max(min_cap);
        for &r in members {
            for g in self.rack_start[r]..self.rack_start[r + 1] {
                self.caps_w[g] = self.caps_w[g].min(cap);
            }
        }
    }

    /// Integrates up to `now_s` without changing anything (e.g. at the end of the run).
    pub fn advance(&mut self, now_s: f64) {
        self.integrate(now_s);
    }

    /// Per-GPU caps now, W.
    pub fn caps_w(&self) -> &[f64] {
        &self.caps_w
    }

    /// Clock ratio of GPU `g` now (1 when its demand is within its cap) — the compute-bound speed factor.
    pub fn gpu_speed(&self, g: usize) -> f64 {
        let r = self.rack_of(g);
        clock_ratio(
            self.caps_w[g],
            self.demand_w[g],
            self.static_w(r),
            self.cfg.dvfs.gamma,
        )
    }

    /// The slowest GPU's clock ratio in each rack (a synchronous job runs at its slowest GPU's pace).
    pub fn rack_speeds(&self) -> Vec<f64> {
        (0..self.racks.len())
            .map(|r| {
                (self.rack_start[r]..self.rack_start[r + 1])
                    .map(|g| self.gpu_speed(g))
                    .fold(1.0, f64::min)
            })
            .collect()
    }

    fn rack_of(&self, g: usize) -> usize {
        self.rack_start.partition_point(|&s| s <= g) - 1
    }

    /// Whether rack `r` is down (its breaker, its row's or the feed's tripped).
    pub fn tripped(&self, r: usize) -> bool {
        self.down[r]
    }

    /// Every trip so far: (time, level).
    pub fn trips(&self) -> &[(f64, Level)] {
        &self.trips
    }

    pub fn totals(&self) -> &CappingTotals {
        &self.totals
    }

    /// Capped IT power of the whole feed now, W.
    pub fn feed_power_w(&self) -> f64 {
        (0..self.racks.len()).map(|r| self.rack_power_w(r)).sum()
    }

    pub fn config(&self) -> &CappingConfig {
        &self.cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dvfs_example_from_models_md() {
        let r = clock_ratio(500.0, 700.0, 100.0, 3.0);
        assert!((r - (400.0f64 / 600.0).cbrt()).abs() < 1e-15);
        assert!((r - 0.874).abs() < 5e-4, "{r}");
        assert_eq!(throughput_ratio(500.0, 700.0, 100.0, 3.0, 0.0), 1.0);
        assert!((throughput_ratio(500.0, 700.0, 100.0, 3.0, 1.0) - r).abs() < 1e-15);
        let half = throughput_ratio(500.0, 700.0, 100.0, 3.0, 0.5);
        assert!((half - 1.0 / (0.5 / r + 0.5)).abs() < 1e-15 && half > r && half < 1.0);
        assert_eq!(clock_ratio(300.0, 250.0, 100.0, 3.0), 1.0);
        assert_eq!(clock_ratio(80.0, 700.0, 100.0, 3.0), 0.0);
    }

    fn racks(n: u32, gpus: u32) -> Vec<RackInfo> {
        (0..n)
            .map(|i| RackInfo {
                row: i / 2,
                gpus,
                gpu_board_w: 700.0,
                psu_efficiency: 0.95,
            })
            .collect()
    }

    #[test]
    fn feed_cap_meets_the_budget_exactly() {
        let cfg = CappingConfig {
            feed_budget_w: Some(20_000.0),
            ..CappingConfig::default()
        };
        let mut c = CappingController::new(&cfg, racks(4, 8), Default::default());
        let gpu = vec![600.0; 32];
        let other = vec![1000.0; 4];
        let d = Demand {
            gpu_w: &gpu,
            rack_other_w: &other,
        };
        c.decide(0.0, &d);
        // 4000 + 32·cap/0.95 = 20000 → cap = 475 W.
        assert!((c.caps_w()[0] - 475.0).abs() < 1e-9, "{}", c.caps_w()[0]);
        assert!((c.feed_power_w() - 20_000.0).abs() < 1e-6);
        c.advance(10.0);
        let r = clock_ratio(475.0, 600.0, 100.0, 3.0);
        assert!((c.totals().throughput_lost_gpu_s - 32.0 * (1.0 - r) * 10.0).abs() < 1e-9);
        assert!((c.totals().energy_capped_j - 32.0 * 125.0 / 0.95 * 10.0).abs() < 1e-6);
        assert_eq!(c.totals().over_budget_s, 0.0);
    }

    #[test]
    fn uncontrolled_over_rating_trips() {
        let cfg = CappingConfig {
            controller: false,
            ..CappingConfig::default()
        };
        let ratings = super::super::power_chain::Ratings {
            rack_w: Some(5000.0),
            ..Default::default()
        };
        let mut c = CappingController::new(&cfg, racks(2, 8), ratings);
        let mut gpu = vec![100.0; 16];
        let other = vec![500.0; 2];
        assert!(
            c.observe(
                0.0,
                &Demand {
                    gpu_w: &gpu,
                    rack_other_w: &other
                }
            )
            .is_empty()
        );
        gpu[..8].iter_mut().for_each(|x| *x = 600.0); // rack 0: 500 + 4800/0.95 > 5000
        let trips = c
            .observe(
                3.0,
                &Demand {
                    gpu_w: &gpu,
                    rack_other_w: &other,
                },
            )
            .to_vec();
        assert_eq!(trips, vec![(3.0, Level::Rack(0))]);
        assert!(c.tripped(0) && !c.tripped(1));
        assert_eq!(c.rack_power_w(0), 0.0);
    }
}
