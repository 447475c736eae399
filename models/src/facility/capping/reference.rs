//! The controller as it was before it became change-driven (every call reads the whole site), kept verbatim as
//! the reference the incremental [`super::CappingController`] is tested against (`capping::tests`).
#![allow(dead_code)]

use super::{BUDGET_TOLERANCE, CappingConfig, CappingTotals, Demand, Level, RackInfo, clock_ratio};

/// The controller's state: caps per GPU, the last demand, trips and exact integrals.
#[derive(Debug, Clone)]
pub struct CappingController {
    cfg: CappingConfig,
    racks: Vec<RackInfo>,
    /// First GPU index of each rack, and one past the last (len = racks + 1).
    rack_start: Vec<usize>,
    rows: u32,
    ratings: super::super::power_chain::Ratings,
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
        ratings: super::super::power_chain::Ratings,
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
