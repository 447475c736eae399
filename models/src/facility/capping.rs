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
//! **Controller** ([`CappingController`]): the run loop reports each GPU's demand at full clock and each rack's
//! other IT power as they change, and every `interval_s` asks for a decision
//! ([`CappingController::decide_changes`]; the work follows what changed, not the site's size). Caps
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

use crate::check::{FieldError, fraction, in_range, positive};

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
        in_range(
            "dvfs.gamma",
            self.dvfs.gamma,
            1.0,
            4.0,
            "dynamic power grows with clock as f^γ, γ ≈ 2.5–3 (models.md §1)",
        )?;
        fraction("dvfs.job_compute_fraction", self.dvfs.job_compute_fraction)?;
        let s = self.dvfs.static_fraction;
        if !(0.0..1.0).contains(&s) {
            return Err(FieldError::new(
                "dvfs.static_fraction",
                format!("must be in [0, 1), found {s}"),
            ));
        }
        if self.min_cap_fraction <= self.dvfs.static_fraction {
            return Err(FieldError::new(
                "min_cap_fraction",
                format!(
                    "the lowest cap, {} of board power, would stop computing: it must exceed the GPU's static \
                     power, dvfs.static_fraction = {}",
                    self.min_cap_fraction, self.dvfs.static_fraction
                ),
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

/// Relative margin within which a sum kept by the controller's trees is too close to a threshold to decide a
/// comparison: the sum is then taken again in the reference's order (site order, one term after the other), so
/// every comparison gives the answer a from-scratch sum would. Both sums add non-negative terms, so they differ
/// by less than `n·2⁻⁵³` of the sum for `n` terms: exact for groups of up to ~900,000 GPUs.
const NEAR: f64 = 1e-10;

/// Leaf components summed over racks, rows and the feed.
const P: usize = 0; // capped IT power at the wall (the breakers', and the budgets' watch), W
const A: usize = 1; // IT power under the rack-level caps (what a row decision sums), W
const B: usize = 2; // IT power under the rack- and row-level caps (what a feed decision sums), W
const E: usize = 3; // Σ (demand − cap)/η over capped GPUs, W
const L: usize = 4; // Σ (1 − clock ratio) over capped GPUs
const N: usize = 5; // capped GPUs
const K: usize = 6;
type Leaf = [f64; K];

/// Sums of leaves in a complete binary tree: a leaf change recomputes the sums on its path to the root, so
/// each sum depends only on the current leaves, never on the history of updates (no drift). O(log n) a change.
#[derive(Debug, Clone)]
struct SumTree {
    size: usize,
    node: Vec<Leaf>,
}

impl SumTree {
    fn new(n: usize) -> Self {
        let size = n.next_power_of_two();
        SumTree {
            size,
            node: vec![[0.0; K]; 2 * size],
        }
    }

    fn set(&mut self, i: usize, v: Leaf) {
        let mut j = self.size + i;
        self.node[j] = v;
        while j > 1 {
            j /= 2;
            let (l, r) = (self.node[2 * j], self.node[2 * j + 1]);
            self.node[j] = std::array::from_fn(|k| l[k] + r[k]);
        }
    }

    fn leaf(&self, i: usize) -> &Leaf {
        &self.node[self.size + i]
    }

    fn root(&self) -> &Leaf {
        &self.node[1]
    }
}

/// A set of indices: a list (in marking order) and a bit per index; clearing costs the list's length.
#[derive(Debug, Clone)]
struct Marks {
    on: Vec<bool>,
    list: Vec<usize>,
}

impl Marks {
    fn new(n: usize) -> Self {
        Marks {
            on: vec![false; n],
            list: Vec::with_capacity(n),
        }
    }

    fn mark(&mut self, i: usize) {
        if !self.on[i] {
            self.on[i] = true;
            self.list.push(i);
        }
    }

    fn clear(&mut self) {
        for &i in &self.list {
            self.on[i] = false;
        }
        self.list.clear();
    }
}

/// The group a cap is solved for, with the caps its GPUs have from the levels below.
#[derive(Debug, Clone, Copy)]
enum Group {
    Rack(usize),
    Row(usize),
    Feed,
}

/// `a > x`, where `a` approximates `exact()` to well within [`NEAR`]: `exact` is evaluated only near `x`.
fn exceeds(a: f64, x: f64, exact: impl FnOnce() -> f64) -> bool {
    if a > x * (1.0 + NEAR) {
        true
    } else if a < x * (1.0 - NEAR) {
        false
    } else {
        exact() > x
    }
}

/// The controller's state: caps per rack (every GPU of a rack has the same cap), the demand, trips and exact
/// integrals, driven by changes.
///
/// The run loop reports demand as it changes ([`set_gpu_demand`](Self::set_gpu_demand),
/// [`set_rack_other`](Self::set_rack_other): they mark the rack), then calls
/// [`observe_changes`](Self::observe_changes) (integrals, budgets and breakers for the marked racks) or, every
/// interval, [`decide_changes`](Self::decide_changes) (a decision over the racks changed since the last one, their
/// rows and the feed; [`changed_racks`](Self::changed_racks) are those whose caps it changed). Per-rack values
/// are recomputed only for marked racks; their sums over rows and the feed are kept in [`SumTree`]s and the
/// budgets' over/under state by counts, so a call costs O(changed GPUs + changed racks · log racks) when no budget
/// binds. A binding group is solved again from its GPUs (O(g log g) for its `g` GPUs: the feed, all of them),
/// exactly as the from-scratch decision (`reference`, tested equal) did.
#[derive(Debug, Clone)]
pub struct CappingController {
    cfg: CappingConfig,
    racks: Vec<RackInfo>,
    /// First GPU index of each rack, and one past the last (len = racks + 1).
    rack_start: Vec<usize>,
    rows: u32,
    ratings: super::power_chain::Ratings,
    /// Per GPU (kept equal to its rack's cap).
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
    /// Racks of each row in site order (`row_racks[row_start[w]..row_start[w + 1]]`), and each rack's place in
    /// its row.
    row_racks: Vec<usize>,
    row_start: Vec<usize>,
    pos_in_row: Vec<usize>,
    /// Caps by level: the static cap of each rack, after the rack level (per rack), the row level's (per row;
    /// ∞ when the row is within its budget), the feed's (∞ likewise), and the result per rack.
    static_cap: Vec<f64>,
    rack_level_cap: Vec<f64>,
    row_cap: Vec<f64>,
    feed_cap: f64,
    rack_cap: Vec<f64>,
    /// Leaves per rack summed per row, and the rows' sums summed for the feed.
    row_sums: Vec<SumTree>,
    feed_sums: SumTree,
    /// Budgets exceeded now (rack and row counts).
    rack_over: Vec<bool>,
    racks_over: usize,
    row_over: Vec<bool>,
    rows_over: usize,
    /// Racks whose demand changed since the controller last looked; since the last decision; racks whose
    /// leaf changed since the last check; racks whose caps a decision recomputes, rows (scratch).
    pending: Marks,
    undecided: Marks,
    unchecked: Marks,
    recap: Marks,
    row_marks: Marks,
    /// Racks whose caps the last decision changed, in site order.
    changed: Vec<usize>,
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
        let static_cap: Vec<f64> = racks
            .iter()
            .map(|r| {
                cfg.gpu_cap_w
                    .map_or(r.gpu_board_w, |c| c.min(r.gpu_board_w))
            })
            .collect();
        let mut caps_w = Vec::with_capacity(n);
        for (r, &c) in racks.iter().zip(&static_cap) {
            caps_w.extend(std::iter::repeat_n(c, r.gpus as usize));
        }
        let mut row_start = vec![0usize; rows as usize + 1];
        for r in &racks {
            row_start[r.row as usize + 1] += 1;
        }
        for w in 0..rows as usize {
            row_start[w + 1] += row_start[w];
        }
        let mut fill = row_start.clone();
        let mut row_racks = vec![0usize; racks.len()];
        let mut pos_in_row = vec![0usize; racks.len()];
        for (i, r) in racks.iter().enumerate() {
            let w = r.row as usize;
            row_racks[fill[w]] = i;
            pos_in_row[i] = fill[w] - row_start[w];
            fill[w] += 1;
        }
        let nr = racks.len();
        CappingController {
            cfg: cfg.clone(),
            rack_start,
            rows,
            ratings,
            caps_w,
            demand_w: vec![0.0; n],
            other_w: vec![0.0; nr],
            down: vec![false; nr],
            racks,
            trips: Vec::new(),
            last_s: 0.0,
            totals: CappingTotals::default(),
            scratch: Vec::new(),
            over_now: false,
            feed_over_now: false,
            row_sums: (0..rows as usize)
                .map(|w| SumTree::new(row_start[w + 1] - row_start[w]))
                .collect(),
            feed_sums: SumTree::new(rows as usize),
            row_racks,
            row_start,
            pos_in_row,
            rack_level_cap: static_cap.clone(),
            rack_cap: static_cap.clone(),
            static_cap,
            row_cap: vec![f64::INFINITY; rows as usize],
            feed_cap: f64::INFINITY,
            rack_over: vec![false; nr],
            racks_over: 0,
            row_over: vec![false; rows as usize],
            rows_over: 0,
            pending: Marks::new(nr),
            undecided: Marks::new(nr),
            unchecked: Marks::new(nr),
            recap: Marks::new(nr),
            row_marks: Marks::new(rows as usize),
            changed: Vec::new(),
        }
    }

    fn static_w(&self, rack: usize) -> f64 {
        self.cfg.dvfs.static_fraction * self.racks[rack].gpu_board_w
    }

    /// GPU `gpu`'s demand at full clock is now `w` (DC, W). Takes effect at the next
    /// [`observe_changes`](Self::observe_changes) or [`decide_changes`](Self::decide_changes). O(1).
    pub fn set_gpu_demand(&mut self, gpu: usize, w: f64) {
        if self.demand_w[gpu] != w {
            self.demand_w[gpu] = w;
            let r = self.rack_of(gpu);
            self.pending.mark(r);
        }
    }

    /// Rack `rack`'s other IT power (hosts, at the wall) is now `w`, W. Like
    /// [`set_gpu_demand`](Self::set_gpu_demand).
    pub fn set_rack_other(&mut self, rack: usize, w: f64) {
        if self.other_w[rack] != w {
            self.other_w[rack] = w;
            self.pending.mark(rack);
        }
    }

    /// GPU `gpu`'s demand at full clock as last reported, W (DC).
    pub fn gpu_demand_w(&self, gpu: usize) -> f64 {
        self.demand_w[gpu]
    }

    /// IT power at the wall of rack `r` with each of its GPUs capped at `cap` (the sum in GPU order), W.
    fn power_at(&self, r: usize, cap: f64) -> f64 {
        let inv = 1.0 / self.racks[r].psu_efficiency;
        let (a, b) = (self.rack_start[r], self.rack_start[r + 1]);
        self.other_w[r] + (a..b).map(|g| self.demand_w[g].min(cap) * inv).sum::<f64>()
    }

    /// Capped IT power of rack `r` at the wall, W (0 when tripped), for the demand as of the last
    /// [`observe_changes`](Self::observe_changes) or [`decide_changes`](Self::decide_changes).
    pub fn rack_power_w(&self, r: usize) -> f64 {
        self.leaf(r)[P]
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

    fn leaf(&self, r: usize) -> &Leaf {
        self.row_sums[self.racks[r].row as usize].leaf(self.pos_in_row[r])
    }

    /// Sets rack `r`'s leaf: the sums on its paths, its budget state; marks it for the next check.
    fn set_leaf(&mut self, r: usize, v: Leaf) {
        let w = self.racks[r].row as usize;
        self.row_sums[w].set(self.pos_in_row[r], v);
        let row = *self.row_sums[w].root();
        self.feed_sums.set(w, row);
        let over = self
            .cfg
            .rack_budget_w
            .is_some_and(|x| v[P] > x * (1.0 + BUDGET_TOLERANCE));
        if over != self.rack_over[r] {
            self.rack_over[r] = over;
            if over {
                self.racks_over += 1;
            } else {
                self.racks_over -= 1;
            }
        }
        self.unchecked.mark(r);
    }

    /// Recomputes rack `r`'s capped power and integrands at its cap now (A and B are kept).
    fn refresh(&mut self, r: usize) {
        let mut v = *self.leaf(r);
        if self.down[r] {
            v = [0.0; K];
        } else {
            let cap = self.rack_cap[r];
            v[P] = self.power_at(r, cap);
            self.capped_terms(r, cap, &mut v);
        }
        self.set_leaf(r, v);
    }

    /// Rack `r`'s integrands at cap `cap`: Σ (d − c)/η, Σ (1 − clock ratio) and the count over its GPUs whose
    /// demand exceeds the cap.
    fn capped_terms(&self, r: usize, cap: f64, v: &mut Leaf) {
        let inv = 1.0 / self.racks[r].psu_efficiency;
        let s = self.static_w(r);
        let gamma = self.cfg.dvfs.gamma;
        let (mut capped_j, mut lost, mut capped) = (0.0, 0.0, 0.0);
        for &d in &self.demand_w[self.rack_start[r]..self.rack_start[r + 1]] {
            if d > cap {
                capped_j += (d - cap) * inv;
                lost += 1.0 - clock_ratio(cap, d, s, gamma);
                capped += 1.0;
            }
        }
        v[E] = capped_j;
        v[L] = lost;
        v[N] = capped;
    }

    /// Integrates the current state up to `now_s`. O(1).
    fn integrate(&mut self, now_s: f64) {
        let dt = now_s - self.last_s;
        if dt <= 0.0 {
            return;
        }
        let &[_, _, _, capped_j, lost, capped_gpus] = self.feed_sums.root();
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

    /// Capped IT power of row `w`, W, as the reference sums it (its racks in site order).
    fn row_power_exact(&self, w: usize) -> f64 {
        let mut p = 0.0;
        for &r in &self.row_racks[self.row_start[w]..self.row_start[w + 1]] {
            p += self.leaf(r)[P];
        }
        p
    }

    /// Capped IT power of the feed, W, as the reference sums it (every rack in site order).
    fn feed_power_exact(&self) -> f64 {
        let mut p = 0.0;
        for r in 0..self.racks.len() {
            p += self.leaf(r)[P];
        }
        p
    }

    fn row_exceeds(&self, w: usize, x: f64) -> bool {
        exceeds(self.row_sums[w].root()[P], x, || self.row_power_exact(w))
    }

    fn feed_exceeds(&self, x: f64) -> bool {
        exceeds(self.feed_sums.root()[P], x, || self.feed_power_exact())
    }

    /// Row `w`'s budget state from its sum now.
    fn update_row_over(&mut self, w: usize) {
        let over = self
            .cfg
            .row_budget_w
            .is_some_and(|x| self.row_exceeds(w, x * (1.0 + BUDGET_TOLERANCE)));
        if over != self.row_over[w] {
            self.row_over[w] = over;
            if over {
                self.rows_over += 1;
            } else {
                self.rows_over -= 1;
            }
        }
    }

    /// Takes rack `r` down (its breaker, its row's or the feed's tripped).
    fn take_down(&mut self, r: usize) {
        if !self.down[r] {
            self.down[r] = true;
            self.set_leaf(r, [0.0; K]);
            self.undecided.mark(r);
        }
    }

    /// Re-evaluates budgets and breakers for the racks whose power changed since the last check (a rack, row
    /// or feed whose power did not change cannot newly exceed anything): O(changed racks · log racks).
    fn check(&mut self, now_s: f64) {
        let mut cands = std::mem::take(&mut self.unchecked.list);
        cands.sort_unstable();
        for &r in &cands {
            self.unchecked.on[r] = false;
        }
        for &r in &cands {
            self.row_marks.mark(self.racks[r].row as usize);
        }
        let mut rows = std::mem::take(&mut self.row_marks.list);
        rows.sort_unstable();
        for &w in &rows {
            self.row_marks.on[w] = false;
        }
        for &w in &rows {
            self.update_row_over(w);
        }
        // A cap solved to meet a budget exactly may sum a few ulps above it: not an excursion.
        self.feed_over_now = self
            .cfg
            .feed_budget_w
            .is_some_and(|x| self.feed_exceeds(x * (1.0 + BUDGET_TOLERANCE)));
        self.over_now = self.feed_over_now || self.rows_over > 0 || self.racks_over > 0;
        // Breakers: racks, then rows, then the feed.
        let before = self.trips.len();
        if let Some(x) = self.ratings.rack_w {
            for &r in &cands {
                if !self.down[r] && self.leaf(r)[P] > x {
                    self.take_down(r);
                    self.trips.push((now_s, Level::Rack(r as u32)));
                }
            }
        }
        if let Some(x) = self.ratings.row_w {
            for &w in &rows {
                if self.row_exceeds(w, x) {
                    for i in self.row_start[w]..self.row_start[w + 1] {
                        self.take_down(self.row_racks[i]);
                    }
                    self.trips.push((now_s, Level::Row(w as u32)));
                }
            }
        }
        let mut all_rows = false;
        if let Some(x) = self.ratings.feed_w
            && self.feed_exceeds(x)
        {
            for r in 0..self.racks.len() {
                self.take_down(r);
            }
            self.trips.push((now_s, Level::Feed));
            all_rows = true;
        }
        if self.trips.len() > before {
            // The budgets' state after the trips (the integrals up to the next call use the state before them,
            // as the reference did).
            if all_rows {
                for w in 0..self.rows as usize {
                    self.update_row_over(w);
                }
            } else {
                for &w in &rows {
                    self.update_row_over(w);
                }
            }
        }
        self.unchecked.clear();
        cands.clear();
        self.unchecked.list = cands;
        rows.clear();
        self.row_marks.list = rows;
    }

    /// Brings the racks whose demand changed up to date at their caps now.
    fn flush_pending(&mut self) {
        let mut list = std::mem::take(&mut self.pending.list);
        for &r in &list {
            self.pending.on[r] = false;
            self.refresh(r);
            self.undecided.mark(r);
        }
        list.clear();
        self.pending.list = list;
    }

    /// The demand reported since the last call takes effect at `now_s` (caps hold until the next decision).
    /// Returns the trips this caused. O(changed GPUs + changed racks · log racks).
    pub fn observe_changes(&mut self, now_s: f64) -> &[(f64, Level)] {
        self.integrate(now_s);
        self.flush_pending();
        let before = self.trips.len();
        self.check(now_s);
        &self.trips[before..]
    }

    /// A control decision at `now_s` on the demand reported so far: the caps a from-scratch decision would set
    /// (lowered where a budget is exceeded, raised back where it no longer is), recomputed only for the racks
    /// changed since the last decision, their rows and the feed. Returns the racks whose caps changed (also
    /// [`changed_racks`](Self::changed_racks)), in site order.
    pub fn decide_changes(&mut self, now_s: f64) -> &[usize] {
        self.integrate(now_s);
        self.totals.decisions += 1;
        self.changed.clear();
        self.flush_pending();
        if self.cfg.controller {
            self.redecide();
        }
        self.undecided.clear();
        self.check(now_s);
        &self.changed
    }

    /// Racks whose caps the last decision changed, in site order.
    pub fn changed_racks(&self) -> &[usize] {
        &self.changed
    }

    fn redecide(&mut self) {
        let dirty = std::mem::take(&mut self.undecided.list);
        if dirty.is_empty() {
            // Nothing changed since the last decision: it stands.
            self.undecided.list = dirty;
            return;
        }
        // Rack level: each changed rack alone.
        for &r in &dirty {
            let s = self.static_cap[r];
            let (cr, a) = if self.down[r] {
                (s, 0.0)
            } else {
                let a = self.power_at(r, s);
                match self.cfg.rack_budget_w {
                    // `a` is the reference's group total, to the bit.
                    Some(b) if a > b => match self.solve(Group::Rack(r), b) {
                        Some(c) if c < s => (c, self.power_at(r, c)),
                        _ => (s, a),
                    },
                    _ => (s, a),
                }
            };
            self.rack_level_cap[r] = cr;
            let mut v = *self.leaf(r);
            v[A] = a;
            self.set_leaf(r, v);
            self.row_marks.mark(self.racks[r].row as usize);
            self.recap.mark(r);
        }
        // Row level: the rows of changed racks; where a row's cap changes, all its racks are affected.
        let mut rows = std::mem::take(&mut self.row_marks.list);
        for &w in &rows {
            self.row_marks.on[w] = false;
            let new = match self.cfg.row_budget_w {
                Some(b) if self.row_sums[w].root()[A] >= b * (1.0 - NEAR) => {
                    self.solve(Group::Row(w), b).unwrap_or(f64::INFINITY)
                }
                _ => f64::INFINITY,
            };
            if new != self.row_cap[w] {
                self.row_cap[w] = new;
                for i in self.row_start[w]..self.row_start[w + 1] {
                    self.recap.mark(self.row_racks[i]);
                }
            }
        }
        rows.clear();
        self.row_marks.list = rows;
        let recap = std::mem::take(&mut self.recap.list);
        for &r in &recap {
            let mut v = *self.leaf(r);
            let c = self.rack_level_cap[r].min(self.row_cap[self.racks[r].row as usize]);
            v[B] = if self.down[r] {
                0.0
            } else if c == self.rack_level_cap[r] {
                v[A]
            } else {
                self.power_at(r, c)
            };
            self.set_leaf(r, v);
        }
        // Feed level.
        let new = match self.cfg.feed_budget_w {
            Some(b) if self.feed_sums.root()[B] >= b * (1.0 - NEAR) => {
                self.solve(Group::Feed, b).unwrap_or(f64::INFINITY)
            }
            _ => f64::INFINITY,
        };
        // The racks' caps.
        if new != self.feed_cap {
            self.feed_cap = new;
            for r in 0..self.racks.len() {
                self.recap(r);
            }
        } else {
            for &r in &recap {
                self.recap(r);
            }
            self.changed.sort_unstable();
        }
        self.recap.list = recap;
        self.recap.clear();
        self.undecided.list = dirty;
    }

    /// Rack `r`'s cap from its levels; if it changed, its GPUs' caps and its leaf follow.
    fn recap(&mut self, r: usize) {
        let c = self.rack_level_cap[r]
            .min(self.row_cap[self.racks[r].row as usize])
            .min(self.feed_cap);
        if c == self.rack_cap[r] {
            return;
        }
        self.rack_cap[r] = c;
        self.caps_w[self.rack_start[r]..self.rack_start[r + 1]].fill(c);
        self.changed.push(r);
        self.refresh(r);
    }

    /// The uniform per-GPU cap that brings `group`'s IT power within `budget` (or the minimum cap if even
    /// that is not enough), under the caps its GPUs have from the levels below; None when the group is within
    /// its budget. The reference's algorithm on the reference's order of GPUs, so its result is the same.
    fn solve(&mut self, group: Group, budget: f64) -> Option<f64> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let mut fixed = 0.0;
        let mut min_cap = f64::INFINITY;
        let mut add = |r: usize, cap: f64| {
            if self.down[r] {
                return;
            }
            fixed += self.other_w[r];
            let inv = 1.0 / self.racks[r].psu_efficiency;
            min_cap = min_cap.min(self.cfg.min_cap_fraction * self.racks[r].gpu_board_w);
            for g in self.rack_start[r]..self.rack_start[r + 1] {
                scratch.push((self.demand_w[g].min(cap), inv));
            }
        };
        match group {
            Group::Rack(r) => add(r, self.static_cap[r]),
            Group::Row(w) => {
                for &r in &self.row_racks[self.row_start[w]..self.row_start[w + 1]] {
                    add(r, self.rack_level_cap[r]);
                }
            }
            Group::Feed => {
                for r in 0..self.racks.len() {
                    add(
                        r,
                        self.rack_level_cap[r].min(self.row_cap[self.racks[r].row as usize]),
                    );
                }
            }
        }
        let cap = solve_cap(&mut scratch, fixed, min_cap, budget);
        self.scratch = scratch;
        cap
    }

    /// A control decision at `now_s` for `demand` (every GPU and rack): reports it and decides
    /// ([`decide_changes`](Self::decide_changes)); returns the per-GPU caps, W (DC). O(GPUs) for the report.
    pub fn decide(&mut self, now_s: f64, demand: &Demand<'_>) -> &[f64] {
        self.set_demand(demand);
        self.decide_changes(now_s);
        &self.caps_w
    }

    /// Demand changed at `now_s` to `demand` (every GPU and rack): reports it and observes
    /// ([`observe_changes`](Self::observe_changes)). Returns the trips this caused.
    pub fn observe(&mut self, now_s: f64, demand: &Demand<'_>) -> &[(f64, Level)] {
        self.set_demand(demand);
        self.observe_changes(now_s)
    }

    fn set_demand(&mut self, d: &Demand<'_>) {
        assert_eq!(d.gpu_w.len(), self.demand_w.len(), "one demand per GPU");
        assert_eq!(d.rack_other_w.len(), self.racks.len(), "one value per rack");
        for (g, &w) in d.gpu_w.iter().enumerate() {
            self.set_gpu_demand(g, w);
        }
        for (r, &w) in d.rack_other_w.iter().enumerate() {
            self.set_rack_other(r, w);
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

    /// The cap of every GPU of rack `r` now, W.
    pub fn rack_cap_w(&self, r: usize) -> f64 {
        self.rack_cap[r]
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

    /// Capped IT power of the whole feed, W, as of the last call like [`rack_power_w`](Self::rack_power_w)
    /// (the controller's sum; O(1)).
    pub fn feed_power_w(&self) -> f64 {
        self.feed_sums.root()[P]
    }

    pub fn config(&self) -> &CappingConfig {
        &self.cfg
    }
}

/// The largest uniform cap `c ≥ min_cap` with `fixed + Σ w·min(e, c) ≤ budget` over `(e, w)` pairs (effective
/// demand, wall weight), solved exactly on the sorted demands; None when the group is within `budget` (or
/// has no GPU) already. Sorts `scratch`.
fn solve_cap(scratch: &mut [(f64, f64)], fixed: f64, min_cap: f64, budget: f64) -> Option<f64> {
    let total: f64 = fixed + scratch.iter().map(|(e, w)| e * w).sum::<f64>();
    if total <= budget || scratch.is_empty() {
        return None;
    }
    // P(c) = fixed + Σ_{e ≤ c} w·e + c · Σ_{e > c} w: walk the sorted effective demands.
    scratch.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut below = fixed; // fixed + Σ w·e over e ≤ current breakpoint
    let mut w_above: f64 = scratch.iter().map(|(_, w)| w).sum();
    let mut cap = f64::NAN;
    let mut prev_e = 0.0;
    for &(e, w) in scratch.iter() {
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
    Some(if cap.is_nan() { prev_e } else { cap }.max(min_cap))
}

#[cfg(test)]
mod reference;

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

/// The change-driven controller against the from-scratch reference (`reference`, the controller before it
/// became change-driven) on random sites, configurations and demand histories.
#[cfg(test)]
mod equivalence {
    use super::*;
    use proptest::prelude::*;

    const BOARDS: [f64; 4] = [300.0, 400.0, 700.0, 1000.0];
    const ETAS: [f64; 4] = [0.9, 0.94, 0.95, 0.97];

    #[derive(Debug, Clone)]
    struct Case {
        racks: Vec<RackInfo>,
        cfg: CappingConfig,
        ratings: super::super::power_chain::Ratings,
        steps: Vec<Step>,
    }

    #[derive(Debug, Clone)]
    struct Step {
        dt: f64,
        /// (GPU pick, kind, fraction): kind 0 → 0 W, 1 → idle (10 % of board), 2 → board, 3 → fraction of
        /// board, 4 → the static cap.
        gpus: Vec<(usize, u8, f64)>,
        others: Vec<(usize, f64)>,
        decide: bool,
    }

    fn case() -> impl Strategy<Value = Case> {
        let racks = prop::collection::vec((0u32..4, 0u32..=16, 0usize..4, 0usize..4), 1..=24);
        let frac = || prop::option::of(0.05f64..1.1);
        let rating = || prop::option::weighted(0.2, 0.4f64..1.5);
        let cfg = (
            prop::option::of(150.0f64..900.0),
            (frac(), frac(), frac()),
            (rating(), rating(), rating()),
            prop::bool::weighted(0.75),
            0.0f64..0.6,
            (2.0f64..3.5, 0.0f64..0.3),
        );
        let step = (
            prop_oneof![Just(0.0), 0.0f64..10.0],
            prop::collection::vec((any::<usize>(), 0u8..5, 0.0f64..1.0), 0..12),
            prop::collection::vec((any::<usize>(), 0.0f64..4000.0), 0..3),
            prop::bool::weighted(0.4),
        )
            .prop_map(|(dt, gpus, others, decide)| Step {
                dt,
                gpus,
                others,
                decide,
            });
        let init = (0u8..5, 0.0f64..1.0, 0.0f64..4000.0);
        (racks, cfg, init, prop::collection::vec(step, 1..60)).prop_map(
            |(
                racks,
                (gpu_cap, budgets, rates, controller, min_cap, (gamma, s)),
                init,
                mut steps,
            )| {
                let rows = racks.iter().map(|r| r.0).max().unwrap_or(0) + 1;
                let racks: Vec<RackInfo> = racks
                    .into_iter()
                    .map(|(row, gpus, b, e)| RackInfo {
                        row,
                        gpus,
                        gpu_board_w: BOARDS[b],
                        psu_efficiency: ETAS[e],
                    })
                    .collect();
                // Nameplate at the wall: hosts up to 4 kW, GPUs at board power.
                let plate: Vec<f64> = racks
                    .iter()
                    .map(|r| 4000.0 + r.gpus as f64 * r.gpu_board_w / r.psu_efficiency)
                    .collect();
                let feed: f64 = plate.iter().sum();
                let rack = feed / racks.len() as f64;
                let row = feed / rows as f64;
                let cfg = CappingConfig {
                    gpu_cap_w: gpu_cap,
                    rack_budget_w: budgets.0.map(|f| f * rack),
                    row_budget_w: budgets.1.map(|f| f * row),
                    feed_budget_w: budgets.2.map(|f| f * feed),
                    min_cap_fraction: min_cap,
                    controller,
                    dvfs: DvfsConfig {
                        gamma,
                        static_fraction: s,
                        ..DvfsConfig::default()
                    },
                    ..CappingConfig::default()
                };
                let ratings = super::super::power_chain::Ratings {
                    rack_w: rates.0.map(|f| f * rack),
                    row_w: rates.1.map(|f| f * row),
                    feed_w: rates.2.map(|f| f * feed),
                };
                // First, every GPU and rack at one level.
                let gpus: usize = racks.iter().map(|r| r.gpus as usize).sum();
                steps.insert(
                    0,
                    Step {
                        dt: 0.0,
                        gpus: (0..gpus).map(|g| (g, init.0, init.1)).collect(),
                        others: (0..racks.len()).map(|r| (r, init.2)).collect(),
                        decide: false,
                    },
                );
                Case {
                    racks,
                    cfg,
                    ratings,
                    steps,
                }
            },
        )
    }

    fn close(a: f64, b: f64) -> bool {
        a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
    }

    fn run(case: &Case) -> Result<(), TestCaseError> {
        let mut new = CappingController::new(&case.cfg, case.racks.clone(), case.ratings);
        let mut old =
            reference::CappingController::new(&case.cfg, case.racks.clone(), case.ratings);
        let mut rack_of = Vec::new();
        for (r, k) in case.racks.iter().enumerate() {
            rack_of.extend(std::iter::repeat_n(r, k.gpus as usize));
        }
        let mut gpu = vec![0.0; rack_of.len()];
        let mut other = vec![0.0; case.racks.len()];
        let mut t = 0.0;
        for step in &case.steps {
            t += step.dt;
            if !gpu.is_empty() {
                for &(pick, kind, f) in &step.gpus {
                    let g = pick % gpu.len();
                    let board = case.racks[rack_of[g]].gpu_board_w;
                    let w = match kind {
                        0 => 0.0,
                        1 => 0.1 * board,
                        2 => board,
                        3 => f * board,
                        _ => case.cfg.gpu_cap_w.unwrap_or(board).min(board),
                    };
                    gpu[g] = w;
                    new.set_gpu_demand(g, w);
                }
            }
            for &(pick, w) in &step.others {
                let r = pick % other.len();
                other[r] = w;
                new.set_rack_other(r, w);
            }
            let d = Demand {
                gpu_w: &gpu,
                rack_other_w: &other,
            };
            if step.decide {
                let changed = new.decide_changes(t).to_vec();
                let before = old.caps_w().to_vec();
                old.decide(t, &d);
                // The racks reported changed are exactly those whose caps changed.
                for (r, rack) in case.racks.iter().enumerate() {
                    let g0: usize = case.racks[..r].iter().map(|x| x.gpus as usize).sum();
                    let moved = (g0..g0 + rack.gpus as usize).any(|g| before[g] != old.caps_w()[g]);
                    if rack.gpus > 0 {
                        prop_assert_eq!(moved, changed.binary_search(&r).is_ok(), "rack {}", r);
                    }
                }
            } else {
                let a = new.observe_changes(t).to_vec();
                let b = old.observe(t, &d).to_vec();
                prop_assert_eq!(a, b);
            }
            for (g, (a, b)) in new.caps_w().iter().zip(old.caps_w()).enumerate() {
                prop_assert!(close(*a, *b), "gpu {g}: cap {a} vs {b} at {t}");
            }
            prop_assert_eq!(new.trips(), old.trips());
            for r in 0..case.racks.len() {
                prop_assert_eq!(new.tripped(r), old.tripped(r));
                prop_assert!(close(new.rack_power_w(r), old.rack_power_w(r)));
                prop_assert!(close(new.rack_demand_w(r), old.rack_demand_w(r)));
            }
            prop_assert!(close(new.feed_power_w(), old.feed_power_w()));
            let (a, b) = (new.totals(), old.totals());
            prop_assert_eq!(a.decisions, b.decisions);
            for (x, y) in [
                (a.over_budget_s, b.over_budget_s),
                (a.feed_over_budget_s, b.feed_over_budget_s),
                (a.energy_capped_j, b.energy_capped_j),
                (a.throughput_lost_gpu_s, b.throughput_lost_gpu_s),
                (a.capped_gpu_s, b.capped_gpu_s),
            ] {
                prop_assert!(close(x, y), "totals {a:?} vs {b:?}");
            }
        }
        new.advance(t + 1.0);
        old.advance(t + 1.0);
        prop_assert!(close(
            new.totals().energy_capped_j,
            old.totals().energy_capped_j
        ));
        Ok(())
    }

    /// Four GPU-less racks in one row whose other power sums to 1000.9999999999999 W one after the other but to
    /// 1001 W in pairs: a rating and budgets at the sequential sum are not exceeded (the reference's answer).
    #[test]
    fn near_ties_compare_as_the_reference_sums() {
        let racks: Vec<RackInfo> = (0..4)
            .map(|_| RackInfo {
                row: 0,
                gpus: 0,
                gpu_board_w: 700.0,
                psu_efficiency: 0.95,
            })
            .collect();
        let other = [100.1, 200.2, 300.3, 400.4];
        let seq = other.iter().fold(0.0, |a, x| a + x);
        assert!((other[0] + other[1]) + (other[2] + other[3]) > seq);
        let x = seq / (1.0 + BUDGET_TOLERANCE);
        let cfg = CappingConfig {
            row_budget_w: Some(x),
            feed_budget_w: Some(x),
            ..CappingConfig::default()
        };
        let ratings = super::super::power_chain::Ratings {
            row_w: Some(seq),
            feed_w: Some(seq),
            ..Default::default()
        };
        let mut new = CappingController::new(&cfg, racks.clone(), ratings);
        let mut old = reference::CappingController::new(&cfg, racks, ratings);
        let d = Demand {
            gpu_w: &[],
            rack_other_w: &other,
        };
        assert!(old.observe(1.0, &d).is_empty());
        assert!(new.observe(1.0, &d).is_empty());
        new.advance(2.0);
        old.advance(2.0);
        assert_eq!(new.totals(), old.totals());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn change_driven_controller_equals_the_reference(case in case()) {
            run(&case)?;
        }
    }
}
