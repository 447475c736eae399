//! Flow-level bandwidth sharing: max-min fairness by progressive filling, recomputed incrementally,
//! and an event loop that advances flows to their completions.
//!
//! **Model** (Bertsekas & Gallager, *Data Networks*, §6.5.2; SimGrid's flow model, Velho et al.,
//! TOMACS 2013): every active flow `f` crosses a set of directed links; its rate `r_f` (bytes/s) is
//! the max-min fair allocation — the unique feasible allocation (`Σ_{f∋l} r_f ≤ c_l` on every link)
//! in which no flow can increase its rate without decreasing the rate of a flow whose rate is
//! smaller or equal. **Progressive filling** computes it: raise every unfrozen flow's rate
//! together; when a link saturates (its fair level `(c_l − Σ frozen r)/n_unfrozen` is the smallest),
//! freeze the flows crossing it at that level; repeat. Levels only rise, so a lazy min-heap of link
//! levels gives `O((F·h + L) log L)` per recomputation (`h` = hops per path).
//!
//! **Incremental**: adding or removing a flow marks its links dirty; [`FlowNet::recompute`] only
//! re-solves the connected components (flows linked through shared links) that contain a dirty
//! link — other flows keep their rates, which is exact because max-min allocations of disjoint
//! components are independent.
//!
//! **Time** ([`FlowSim`]): each flow remembers its remaining bytes at the time of its last rate
//! change; completions sit in a heap keyed by predicted finish time with version stamps, so a rate
//! change costs one push and nothing is scanned per event. Flows finishing at the same instant
//! (within 1e-12 relative) complete as one batch followed by one recomputation.
//!
//! Hot path: flow slots, their path vectors, per-link adjacency and the scratch arrays are reused —
//! once warm, starting/finishing flows does not allocate. Determinism: ties in the heaps break by
//! link / flow index.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Index of a flow slot in a [`FlowNet`].
pub type FlowId = u32;

/// Flows on links with max-min fair rates.
#[derive(Debug, Clone)]
pub struct FlowNet {
    cap: Vec<f64>,
    link_flows: Vec<Vec<u32>>,
    paths: Vec<Vec<u32>>,
    rate: Vec<f64>,
    active: Vec<bool>,
    free: Vec<u32>,
    n_active: usize,
    dirty: Vec<u32>,
    // Scratch (sized to links / flows, reused).
    link_mark: Vec<u32>,
    flow_mark: Vec<u32>,
    epoch: u32,
    rem: Vec<f64>,
    unfrozen: Vec<u32>,
    version: Vec<u32>,
    heap: BinaryHeap<Reverse<(u64, u32, u32)>>,
    comp_links: Vec<u32>,
    comp_flows: Vec<u32>,
    stack: Vec<u32>,
    /// Flows whose rate was (re)set by the last [`FlowNet::recompute`].
    changed: Vec<u32>,
}

impl FlowNet {
    /// A network of links with capacities `cap_bytes_per_s` (each > 0).
    pub fn new(cap_bytes_per_s: Vec<f64>) -> Self {
        let n = cap_bytes_per_s.len();
        FlowNet {
            cap: cap_bytes_per_s,
            link_flows: vec![Vec::new(); n],
            paths: Vec::new(),
            rate: Vec::new(),
            active: Vec::new(),
            free: Vec::new(),
            n_active: 0,
            dirty: Vec::new(),
            link_mark: vec![0; n],
            flow_mark: Vec::new(),
            epoch: 0,
            rem: vec![0.0; n],
            unfrozen: vec![0; n],
            version: vec![0; n],
            heap: BinaryHeap::new(),
            comp_links: Vec::new(),
            comp_flows: Vec::new(),
            stack: Vec::new(),
            changed: Vec::new(),
        }
    }

    /// Capacity of link `l`, bytes/s.
    pub fn capacity(&self, l: u32) -> f64 {
        self.cap[l as usize]
    }

    /// Links.
    pub fn links(&self) -> usize {
        self.cap.len()
    }

    /// Active flows.
    pub fn active(&self) -> usize {
        self.n_active
    }

    /// Adds a flow over `path` (link ids, non-empty, no repeats). Its rate is 0 until the next
    /// [`FlowNet::recompute`].
    pub fn add(&mut self, path: &[u32]) -> FlowId {
        debug_assert!(!path.is_empty());
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.paths.push(Vec::new());
                self.rate.push(0.0);
                self.active.push(false);
                self.flow_mark.push(0);
                (self.paths.len() - 1) as u32
            }
        };
        let i = id as usize;
        self.paths[i].clear();
        self.paths[i].extend_from_slice(path);
        self.rate[i] = 0.0;
        self.active[i] = true;
        self.n_active += 1;
        for &l in path {
            self.link_flows[l as usize].push(id);
            self.dirty.push(l);
        }
        id
    }

    /// Removes flow `id`; its links become dirty.
    pub fn remove(&mut self, id: FlowId) {
        let i = id as usize;
        if !self.active[i] {
            return;
        }
        self.active[i] = false;
        self.n_active -= 1;
        self.rate[i] = 0.0;
        for k in 0..self.paths[i].len() {
            let l = self.paths[i][k];
            let lf = &mut self.link_flows[l as usize];
            if let Some(pos) = lf.iter().position(|&f| f == id) {
                lf.swap_remove(pos);
            }
            self.dirty.push(l);
        }
        self.free.push(id);
    }

    /// Current rate of flow `id`, bytes/s.
    pub fn rate(&self, id: FlowId) -> f64 {
        self.rate[id as usize]
    }

    /// Path of flow `id`.
    pub fn path(&self, id: FlowId) -> &[u32] {
        &self.paths[id as usize]
    }

    /// Flows crossing link `l`.
    pub fn flows_on(&self, l: u32) -> &[u32] {
        &self.link_flows[l as usize]
    }

    /// Whether flow `id` is active.
    pub fn is_active(&self, id: FlowId) -> bool {
        self.active.get(id as usize).copied().unwrap_or(false)
    }

    /// Flows whose rate the last [`FlowNet::recompute`] set.
    pub fn changed(&self) -> &[u32] {
        &self.changed
    }

    fn next_epoch(&mut self) -> u32 {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.link_mark.fill(0);
            self.flow_mark.fill(0);
            self.epoch = 1;
        }
        self.epoch
    }

    /// Re-solves max-min rates in every component that contains a dirty link.
    pub fn recompute(&mut self) {
        self.changed.clear();
        if self.dirty.is_empty() {
            return;
        }
        let e = self.next_epoch();
        // Collect the affected components by search over link → flows → links.
        self.comp_links.clear();
        self.comp_flows.clear();
        self.stack.clear();
        for k in 0..self.dirty.len() {
            let l = self.dirty[k];
            if self.link_mark[l as usize] != e {
                self.link_mark[l as usize] = e;
                self.stack.push(l);
            }
        }
        self.dirty.clear();
        while let Some(l) = self.stack.pop() {
            self.comp_links.push(l);
            for k in 0..self.link_flows[l as usize].len() {
                let f = self.link_flows[l as usize][k];
                if self.flow_mark[f as usize] == e {
                    continue;
                }
                self.flow_mark[f as usize] = e;
                self.comp_flows.push(f);
                for &l2 in &self.paths[f as usize] {
                    if self.link_mark[l2 as usize] != e {
                        self.link_mark[l2 as usize] = e;
                        self.stack.push(l2);
                    }
                }
            }
        }
        self.progressive_filling(e);
    }

    /// Progressive filling over `comp_links` / `comp_flows` (all marked with epoch `e`); a frozen
    /// flow is marked `!e` until the end.
    fn progressive_filling(&mut self, e: u32) {
        let frozen = !e;
        self.heap.clear();
        for &l in &self.comp_links {
            let li = l as usize;
            self.rem[li] = self.cap[li];
            self.unfrozen[li] = self.link_flows[li].len() as u32;
            self.version[li] = self.version[li].wrapping_add(1);
            if self.unfrozen[li] > 0 {
                let level = self.rem[li] / self.unfrozen[li] as f64;
                self.heap
                    .push(Reverse((level.to_bits(), l, self.version[li])));
            }
        }
        let mut floor = 0.0f64;
        while let Some(Reverse((bits, l, ver))) = self.heap.pop() {
            let li = l as usize;
            if ver != self.version[li] || self.unfrozen[li] == 0 {
                continue;
            }
            let level = f64::from_bits(bits).max(floor);
            floor = level;
            for k in 0..self.link_flows[li].len() {
                let f = self.link_flows[li][k] as usize;
                if self.flow_mark[f] == frozen {
                    continue;
                }
                self.flow_mark[f] = frozen;
                self.rate[f] = level;
                self.changed.push(f as u32);
                for &l2 in &self.paths[f] {
                    let l2i = l2 as usize;
                    self.rem[l2i] = (self.rem[l2i] - level).max(0.0);
                    self.unfrozen[l2i] -= 1;
                    self.version[l2i] = self.version[l2i].wrapping_add(1);
                    if self.unfrozen[l2i] > 0 && l2 != l {
                        let lv = self.rem[l2i] / self.unfrozen[l2i] as f64;
                        self.heap
                            .push(Reverse((lv.to_bits(), l2, self.version[l2i])));
                    }
                }
            }
        }
        // Restore the component's flow marks to a value that is neither the next epoch nor frozen.
        for &f in &self.comp_flows {
            self.flow_mark[f as usize] = e;
        }
    }
}

/// Flows with sizes advancing in time: completions in order, rates re-solved at every start and
/// finish.
#[derive(Debug, Clone)]
pub struct FlowSim {
    net: FlowNet,
    now_s: f64,
    remaining: Vec<f64>,
    since_s: Vec<f64>,
    stamp: Vec<u32>,
    tag: Vec<u64>,
    heap: BinaryHeap<Reverse<(u64, u32, u32)>>,
    /// Batches of completions processed (each one a recomputation).
    pub events: u64,
}

impl FlowSim {
    pub fn new(cap_bytes_per_s: Vec<f64>) -> Self {
        FlowSim {
            net: FlowNet::new(cap_bytes_per_s),
            now_s: 0.0,
            remaining: Vec::new(),
            since_s: Vec::new(),
            stamp: Vec::new(),
            tag: Vec::new(),
            heap: BinaryHeap::new(),
            events: 0,
        }
    }

    /// Current time, s.
    pub fn now_s(&self) -> f64 {
        self.now_s
    }

    /// The flow network (rates, paths).
    pub fn net(&self) -> &FlowNet {
        &self.net
    }

    /// Moves the clock forward to `t_s` (no flow may finish before it: call between
    /// completions only).
    pub fn set_time(&mut self, t_s: f64) {
        if t_s > self.now_s {
            self.now_s = t_s;
        }
    }

    /// Starts a flow of `bytes` (`f64::INFINITY` = never finishes) over `path` now, labelled `tag`.
    /// Rates are re-solved by the next [`FlowSim::update`] (also called by [`FlowSim::next_batch`]).
    pub fn start(&mut self, path: &[u32], bytes: f64, tag: u64) -> FlowId {
        let id = self.net.add(path);
        let i = id as usize;
        if i >= self.remaining.len() {
            self.remaining.resize(i + 1, 0.0);
            self.since_s.resize(i + 1, 0.0);
            self.stamp.resize(i + 1, 0);
            self.tag.resize(i + 1, 0);
        }
        self.remaining[i] = bytes;
        self.since_s[i] = self.now_s;
        self.stamp[i] = self.stamp[i].wrapping_add(1);
        self.tag[i] = tag;
        id
    }

    /// Tag of flow `id`.
    pub fn tag(&self, id: FlowId) -> u64 {
        self.tag[id as usize]
    }

    /// Re-solves rates and reschedules the completions of the flows whose rate was set. Their
    /// progress must already be settled at the current time ([`FlowSim::update`] does both).
    fn settle(&mut self) {
        self.net.recompute();
        for k in 0..self.net.changed.len() {
            let f = self.net.changed[k] as usize;
            let r = self.net.rate[f];
            self.stamp[f] = self.stamp[f].wrapping_add(1);
            if self.remaining[f].is_finite() && r > 0.0 {
                let t = self.since_s[f] + self.remaining[f] / r;
                self.heap.push(Reverse((
                    t.max(self.now_s).to_bits(),
                    f as u32,
                    self.stamp[f],
                )));
            }
        }
    }

    /// Settles the progress (remaining bytes at the old rate) of every flow in a component that
    /// the next recomputation will touch, so the new rates apply from now on.
    fn checkpoint_component_flows(&mut self) {
        let e = self.net.next_epoch();
        self.net.stack.clear();
        for k in 0..self.net.dirty.len() {
            let l = self.net.dirty[k];
            if self.net.link_mark[l as usize] != e {
                self.net.link_mark[l as usize] = e;
                self.net.stack.push(l);
            }
        }
        while let Some(l) = self.net.stack.pop() {
            for k in 0..self.net.link_flows[l as usize].len() {
                let f = self.net.link_flows[l as usize][k];
                let fi = f as usize;
                if self.net.flow_mark[fi] == e {
                    continue;
                }
                self.net.flow_mark[fi] = e;
                if self.remaining[fi].is_finite() {
                    let r = self.net.rate[fi];
                    self.remaining[fi] =
                        (self.remaining[fi] - r * (self.now_s - self.since_s[fi])).max(0.0);
                }
                self.since_s[fi] = self.now_s;
                for &l2 in &self.net.paths[fi] {
                    if self.net.link_mark[l2 as usize] != e {
                        self.net.link_mark[l2 as usize] = e;
                        self.net.stack.push(l2);
                    }
                }
            }
        }
    }

    /// Applies pending starts/finishes: settles the affected flows' progress at the old rates,
    /// then re-solves rates.
    pub fn update(&mut self) {
        self.checkpoint_component_flows();
        self.settle();
    }

    /// Advances to the next completion time and finishes every flow due then (within 1e-12
    /// relative), appending their ids to `done`; rates are re-solved once for the batch. Returns
    /// the completion time, or `None` when no finite flow is left.
    pub fn next_batch(&mut self, done: &mut Vec<FlowId>) -> Option<f64> {
        let t = loop {
            let Reverse((bits, f, stamp)) = *self.heap.peek()?;
            if !self.net.active[f as usize] || stamp != self.stamp[f as usize] {
                self.heap.pop();
                continue;
            }
            break f64::from_bits(bits);
        };
        let horizon = t + t.abs() * 1e-12 + 1e-15;
        while let Some(&Reverse((bits, f, stamp))) = self.heap.peek() {
            if f64::from_bits(bits) > horizon {
                break;
            }
            self.heap.pop();
            if self.net.active[f as usize] && stamp == self.stamp[f as usize] {
                done.push(f);
            }
        }
        self.now_s = self.now_s.max(t);
        for &f in done.iter() {
            if self.net.active[f as usize] {
                self.remaining[f as usize] = 0.0;
                self.net.remove(f);
            }
        }
        self.events += 1;
        self.update();
        Some(t)
    }

    /// Moves the time origin back to 0 when no finite flow is active (only never-ending
    /// background flows), so later completion times are computed without the rounding of a large
    /// absolute clock. Costs O(active flows).
    pub fn rebase(&mut self) {
        let busy =
            (0..self.net.active.len()).any(|f| self.net.active[f] && self.remaining[f].is_finite());
        if busy {
            return;
        }
        self.now_s = 0.0;
        for f in 0..self.net.active.len() {
            if self.net.active[f] {
                self.since_s[f] = 0.0;
            }
        }
    }

    /// Removes flow `id` now (e.g. a background flow) without completing it.
    pub fn cancel(&mut self, id: FlowId) {
        self.net.remove(id);
    }
}
