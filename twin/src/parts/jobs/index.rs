//! The allocator's view of the site: free capacity per server and site-wide counters kept beside the server
//! loads, so that placement skips servers (and whole requests) that cannot fit without reading loads.
//!
//! A server that is down offers nothing: its summary says so and the counters leave it out; its load keeps
//! what was allocated on it until that work is stopped.

use bevy_ecs::prelude::*;
use models::placement::{
    self, FreeIndex, FreeSummary, Grant, JobReq, LoadView, MAX_GPU_MODELS, MAX_GPUS_PER_SERVER,
    ServerLoad, Topology, WHOLE_GPU_MILLI,
};
use models::site::SiteModel;
use scenario::PlacementPolicy;
use sim::SimTime;

use crate::site::ServerAccess;

pub(crate) const SLOTS: usize = MAX_GPUS_PER_SERVER as usize;

/// Free capacity per server and per GPU model, kept in step with every [`ServerLoad`].
pub(crate) struct SiteIndex {
    /// Server entities by id, and fast access to their load and draw.
    pub(crate) servers: Vec<Entity>,
    pub(crate) access: ServerAccess,
    /// Per-server free-capacity summaries (a down server's offers nothing).
    pub(crate) free: Vec<FreeSummary>,
    /// The same summaries indexed by free capacity per GPU model (placement finds servers without a scan).
    pub(crate) fidx: FreeIndex,
    pub(crate) topo: Topology,
    pub(crate) placement: PlacementPolicy,
    /// Catalog models present in the site (bit per index).
    pub(crate) models: u64,
    /// Per GPU model: servers up by their free whole GPUs (index 0..=16).
    pub(crate) by_free: Vec<[u32; SLOTS + 1]>,
    /// Per GPU model: free whole GPUs on servers up.
    pub(crate) free_whole: Vec<u64>,
    /// Per GPU model: unallocated thousandths of GPUs on servers up (shares count).
    pub(crate) free_milli: Vec<u64>,
    /// Which servers are down.
    pub(crate) down: Vec<bool>,
    /// EASY only: per server and GPU slot, the latest finish time of the jobs holding the slot (≤ now when the
    /// slot is free; when it is busy, the time it becomes wholly free, because jobs end at start + duration).
    pub(crate) slot_free_at: Vec<[SimTime; SLOTS]>,
    /// EASY only: per server, the latest finish time of the jobs holding host CPU or memory there.
    pub(crate) host_free_at: Vec<SimTime>,
    /// EASY only: per GPU model and GPU count `g` (built when a head first asks), a min-tree over servers of
    /// the `g`-th earliest `slot_free_at` of each server up of that model with ≥ `g` GPUs (others: never).
    pub(crate) free_at_trees: Vec<[Option<MinTree>; SLOTS]>,
    /// EASY only: every server's host capacity and `host_free_at` (never while down), for the reservations of
    /// CPU-only heads.
    pub(crate) host_free: Option<HostFreeTree>,
}

/// Every server's schedulable host CPU and memory (fixed) and the time its host resources are all free (ns:
/// its `host_free_at`; [`NEVER`] while it is down), as a tree: per node `[largest CPU, largest memory,
/// smallest CPU, smallest memory, earliest time]` over its servers. Invariant: an inner node holds the
/// maxima, minima and earliest time of its two children (padding leaves: no CPU, no memory, never). Answers
/// the earliest time among servers with at least some CPU and memory, and the first such server free by a
/// time, without a scan when the servers that have the capacity form few runs (one shape: O(log n)).
pub(crate) struct HostFreeTree {
    /// Leaves at `size..2·size`.
    tree: Vec<[u64; 5]>,
    size: usize,
}

impl HostFreeTree {
    /// The tree of `topo`'s servers, all up with their host resources free since time 0.
    fn new(topo: &Topology) -> Self {
        let n = topo.cpu_milli.len();
        let size = n.next_power_of_two().max(1);
        let mut tree = vec![[0, 0, 0, 0, NEVER]; 2 * size];
        for (s, (&cpu, &mem)) in topo.cpu_milli.iter().zip(&topo.memory_mib).enumerate() {
            tree[size + s] = [cpu, mem, cpu, mem, 0];
        }
        for k in (1..size).rev() {
            tree[k] = Self::join(&tree[2 * k], &tree[2 * k + 1]);
        }
        HostFreeTree { tree, size }
    }

    fn join(a: &[u64; 5], b: &[u64; 5]) -> [u64; 5] {
        [
            a[0].max(b[0]),
            a[1].max(b[1]),
            a[2].min(b[2]),
            a[3].min(b[3]),
            a[4].min(b[4]),
        ]
    }

    /// Server `i`'s host resources are all free from `t` (ns; [`NEVER`]: it is down).
    fn set_time(&mut self, i: usize, t: u64) {
        let mut k = i + self.size;
        if self.tree[k][4] == t {
            return;
        }
        self.tree[k][4] = t;
        while k > 1 {
            k >>= 1;
            let m = Self::join(&self.tree[2 * k], &self.tree[2 * k + 1]);
            if self.tree[k] == m {
                break;
            }
            self.tree[k] = m;
        }
    }

    /// The first server with `cpu_milli` CPU and `memory_mib` memory whose time is ≤ `t`: the subtrees that
    /// may hold one, left to right, descending into each (left child first).
    pub(crate) fn first_at_most(&self, cpu_milli: u64, memory_mib: u64, t: u64) -> Option<usize> {
        placement::first_leaf(self.size, 0, |k| {
            let n = &self.tree[k];
            n[0] >= cpu_milli && n[1] >= memory_mib && n[4] <= t
        })
    }

    /// The earliest time of the servers with `cpu_milli` CPU and `memory_mib` memory ([`NEVER`]: none up):
    /// subtrees whose servers all have them give their earliest time; those where none has them, or none is
    /// earlier than the best so far, are skipped.
    pub(crate) fn earliest(&self, cpu_milli: u64, memory_mib: u64) -> u64 {
        let mut best = NEVER;
        self.earliest_in(1, cpu_milli, memory_mib, &mut best);
        best
    }

    fn earliest_in(&self, k: usize, cpu_milli: u64, memory_mib: u64, best: &mut u64) {
        let n = &self.tree[k];
        if n[0] < cpu_milli || n[1] < memory_mib || n[4] >= *best {
            return;
        }
        if n[2] >= cpu_milli && n[3] >= memory_mib {
            *best = n[4];
            return;
        }
        // Not a leaf: a leaf's largest and smallest are the same.
        self.earliest_in(2 * k, cpu_milli, memory_mib, best);
        self.earliest_in(2 * k + 1, cpu_milli, memory_mib, best);
    }
}

/// A min-tree over one time (ns) per server: the smallest, and the first server at most a bound.
pub(crate) struct MinTree {
    tree: Vec<u64>,
    size: usize,
}

/// A [`MinTree`] leaf for "never".
pub(crate) const NEVER: u64 = u64::MAX;

impl MinTree {
    fn new(n: usize) -> Self {
        let size = n.next_power_of_two().max(1);
        MinTree {
            tree: vec![NEVER; 2 * size],
            size,
        }
    }

    pub(crate) fn set(&mut self, i: usize, v: u64) {
        let mut k = i + self.size;
        if self.tree[k] == v {
            return;
        }
        self.tree[k] = v;
        while k > 1 {
            k >>= 1;
            let m = self.tree[2 * k].min(self.tree[2 * k + 1]);
            if self.tree[k] == m {
                break;
            }
            self.tree[k] = m;
        }
    }

    pub(crate) fn min(&self) -> u64 {
        self.tree[1]
    }

    /// The first server whose time is ≤ `v`.
    pub(crate) fn first_at_most(&self, v: u64) -> Option<usize> {
        if self.tree[1] > v {
            return None;
        }
        let mut k = 1;
        while k < self.size {
            k *= 2;
            if self.tree[k] > v {
                k += 1;
            }
        }
        Some(k - self.size)
    }
}

impl SiteIndex {
    /// The index of an idle site whose server entities are `servers` (site order).
    pub(crate) fn new(
        site: &SiteModel,
        access: ServerAccess,
        servers: Vec<Entity>,
        loads: impl Iterator<Item = ServerLoad>,
        placement: PlacementPolicy,
        easy: bool,
    ) -> Self {
        let loads: Vec<ServerLoad> = loads.collect();
        let free: Vec<FreeSummary> = loads.iter().map(FreeSummary::of).collect();
        let mut by_free = vec![[0u32; SLOTS + 1]; MAX_GPU_MODELS];
        let mut free_whole = vec![0u64; MAX_GPU_MODELS];
        let mut free_milli = vec![0u64; MAX_GPU_MODELS];
        let mut models = 0u64;
        for (s, f) in site.servers.iter().zip(&free) {
            if s.gpus > 0 {
                models |= 1 << s.gpu_model;
                by_free[s.gpu_model][f.free_whole as usize] += 1;
                free_whole[s.gpu_model] += f.free_whole as u64;
                free_milli[s.gpu_model] += s.gpus as u64 * WHOLE_GPU_MILLI as u64;
            }
        }
        let n = site.servers.len();
        let n_free_at = if easy { n } else { 0 };
        let topo = Topology::new(site);
        SiteIndex {
            servers,
            access,
            fidx: FreeIndex::new(&topo, loads.iter().map(Some), placement),
            free,
            placement,
            models,
            by_free,
            free_whole,
            free_milli,
            down: vec![false; n],
            slot_free_at: vec![[SimTime::ZERO; SLOTS]; n_free_at],
            host_free_at: vec![SimTime::ZERO; n_free_at],
            free_at_trees: (0..if easy { MAX_GPU_MODELS } else { 0 })
                .map(|_| [const { None }; SLOTS])
                .collect(),
            host_free: easy.then(|| HostFreeTree::new(&topo)),
            topo,
        }
    }

    /// The leaf of server `s` in the free-time tree of its model for `g` GPUs.
    fn free_at_leaf(&self, s: usize, g: usize) -> u64 {
        let n = self.topo.gpus[s] as usize;
        if self.down[s] || n < g {
            return NEVER;
        }
        let mut t = self.slot_free_at[s];
        t[..n].sort_unstable();
        t[g - 1].as_nanos()
    }

    /// Builds the free-time tree of model `m` for `g` GPUs if it is not there yet (EASY).
    pub(crate) fn ensure_free_at_tree(&mut self, m: usize, g: usize) {
        if self.free_at_trees[m][g - 1].is_some() {
            return;
        }
        let n = self.servers.len();
        let mut tree = MinTree::new(n);
        for s in 0..n {
            if self.topo.gpus[s] > 0 && self.topo.model[s] as usize == m {
                tree.set(s, self.free_at_leaf(s, g));
            }
        }
        self.free_at_trees[m][g - 1] = Some(tree);
    }

    /// Server `s`'s free times or state changed: its leaves follow (EASY).
    fn refresh_free_at(&mut self, s: usize) {
        if let Some(tree) = self.host_free.as_mut() {
            let t = if self.down[s] {
                NEVER
            } else {
                self.host_free_at[s].as_nanos()
            };
            tree.set_time(s, t);
        }
        if self.free_at_trees.is_empty() || self.topo.gpus[s] == 0 {
            return;
        }
        let m = self.topo.model[s] as usize;
        for g in 1..=SLOTS {
            if self.free_at_trees[m][g - 1].is_some() {
                let v = self.free_at_leaf(s, g);
                self.free_at_trees[m][g - 1]
                    .as_mut()
                    .expect("checked")
                    .set(s, v);
            }
        }
    }

    /// A necessary condition for `req` to fit now, from the site-wide counters (no scan).
    pub(crate) fn may_fit(&self, req: &JobReq) -> bool {
        if req.gpus == 0 {
            return true;
        }
        let mut bits = req.model_mask & self.models;
        if req.multi_server {
            let mut free = 0u64;
            while bits != 0 {
                free += self.free_whole[bits.trailing_zeros() as usize];
                bits &= bits - 1;
            }
            free >= req.gpus as u64
        } else if req.gpu_milli >= WHOLE_GPU_MILLI {
            while bits != 0 {
                let h = &self.by_free[bits.trailing_zeros() as usize];
                if h[req.gpus as usize..].iter().any(|&c| c > 0) {
                    return true;
                }
                bits &= bits - 1;
            }
            false
        } else {
            let mut free = 0u64;
            while bits != 0 {
                free += self.free_milli[bits.trailing_zeros() as usize];
                bits &= bits - 1;
            }
            free >= req.gpu_milli as u64
        }
    }

    /// Site-wide bounds over every model (for scanning a long queue cheaply). `patch`: one server of model
    /// `m` counted with summary `new` instead of `old`, and `milli` fewer free thousandths.
    pub(crate) fn bounds(&self, patch: Option<(usize, FreeSummary, FreeSummary, u64)>) -> Bounds {
        let mut b = Bounds::default();
        let mut bits = self.models;
        while bits != 0 {
            let m = bits.trailing_zeros() as usize;
            b.total_whole += self.free_whole[m];
            b.total_milli += self.free_milli[m];
            let mut hist = self.by_free[m];
            if let Some((_, old, new, milli)) = patch.filter(|p| p.0 == m) {
                hist[old.free_whole as usize] -= 1;
                hist[new.free_whole as usize] += 1;
                b.total_whole -= (old.free_whole - new.free_whole) as u64;
                b.total_milli -= milli;
            }
            if let Some(k) = hist.iter().rposition(|&c| c > 0) {
                b.max_single = b.max_single.max(k as u32);
            }
            bits &= bits - 1;
        }
        b
    }

    /// Unallocated GPU capacity (in GPUs; shares count) of the models in `mask`, on servers up.
    pub(crate) fn free_gpus(&self, mask: u64) -> f64 {
        let mut bits = mask & self.models;
        let mut milli = 0u64;
        while bits != 0 {
            milli += self.free_milli[bits.trailing_zeros() as usize];
            bits &= bits - 1;
        }
        milli as f64 / WHOLE_GPU_MILLI as f64
    }

    /// Server `s`'s summary changed from `old` to `new` (by `d_milli` allocated thousandths).
    fn count(&mut self, s: usize, old: FreeSummary, new: FreeSummary, d_milli: i64) {
        if self.topo.gpus[s] == 0 {
            return;
        }
        let m = self.topo.model[s] as usize;
        self.by_free[m][old.free_whole as usize] -= 1;
        self.by_free[m][new.free_whole as usize] += 1;
        self.free_whole[m] = self.free_whole[m] + new.free_whole as u64 - old.free_whole as u64;
        self.free_milli[m] = self.free_milli[m]
            .checked_add_signed(-d_milli)
            .expect("free capacity never goes negative");
    }

    /// Server `s` goes down: it offers nothing from now on.
    pub(crate) fn take_down(&mut self, s: usize, load: &ServerLoad) {
        if self.down[s] {
            return;
        }
        let old = self.free[s];
        let free_milli: i64 = load.used_milli[..load.gpus as usize]
            .iter()
            .map(|&u| (WHOLE_GPU_MILLI - u) as i64)
            .sum();
        self.count(s, old, FreeSummary::DOWN, free_milli);
        self.free[s] = FreeSummary::DOWN;
        self.fidx.update(s as u32, None);
        self.down[s] = true;
        self.refresh_free_at(s);
    }

    /// Server `s` is back up with `load`.
    pub(crate) fn bring_up(&mut self, s: usize, load: &ServerLoad) {
        if !self.down[s] {
            return;
        }
        self.down[s] = false;
        let new = FreeSummary::of(load);
        let free_milli: i64 = load.used_milli[..load.gpus as usize]
            .iter()
            .map(|&u| (WHOLE_GPU_MILLI - u) as i64)
            .sum();
        self.count(s, FreeSummary::DOWN, new, -free_milli);
        self.free[s] = new;
        self.fidx.update(s as u32, Some(load));
        self.refresh_free_at(s);
    }

    /// Applies (`allocate`) or releases `grants` of a job asking `req` on the server loads, keeping the summaries
    /// and counters in step, and each server's draw follows. `finish`: the job's finish time (recorded per slot
    /// for EASY reservations). Calls `touched(server, ΔIT, ΔGPU)` once per server, in grant order. Returns the
    /// change of allocated thousandths.
    pub(crate) fn apply(
        &mut self,
        world: &mut World,
        grants: &[Grant],
        req: &JobReq,
        allocate: bool,
        finish: SimTime,
        mut touched: impl FnMut(u32, f64, f64),
    ) -> i64 {
        let mut host_pending = !req.multi_server;
        let mut d_milli: i64 = 0;
        let mut i = 0;
        while i < grants.len() {
            let server = grants[i].server;
            let first = i;
            let host_here = host_pending;
            let mut server_milli = 0i64;
            let up = !self.down[server as usize];
            let fidx = &mut self.fidx;
            let (summary, (d_it, d_gpu)) =
                self.access
                    .update(world, self.servers[server as usize], |load| {
                        while i < grants.len() && grants[i].server == server {
                            placement::apply_grant(load, &grants[i], req, allocate, host_pending);
                            host_pending = false;
                            server_milli += grants[i].milli as i64;
                            i += 1;
                        }
                        if up {
                            fidx.update(server, Some(load));
                        }
                        FreeSummary::of(load)
                    });
            let signed = if allocate {
                server_milli
            } else {
                -server_milli
            };
            d_milli += signed;
            let s = server as usize;
            if !self.down[s] {
                let old = self.free[s];
                self.free[s] = summary;
                self.count(s, old, summary, signed);
            }
            if allocate && !self.slot_free_at.is_empty() {
                for g in &grants[first..i] {
                    if g.milli > 0 {
                        let t = &mut self.slot_free_at[s][g.slot as usize];
                        *t = (*t).max(finish);
                    }
                }
                if host_here && (req.cpu_milli > 0 || req.memory_mib > 0) {
                    let t = &mut self.host_free_at[s];
                    *t = (*t).max(finish);
                }
                self.refresh_free_at(s);
            }
            touched(server, d_it, d_gpu);
        }
        self.access
            .book_racks(&mut world.resource_mut::<crate::ledger::Ledger>());
        d_milli
    }

    /// Whole GPUs released before the finish time recorded for them (EASY reservations) are free from `now`.
    pub(crate) fn reset_free_at(&mut self, grants: &[Grant], now: SimTime) {
        if self.slot_free_at.is_empty() {
            return;
        }
        for g in grants.iter().filter(|g| g.milli == WHOLE_GPU_MILLI) {
            self.slot_free_at[g.server as usize][g.slot as usize] = now;
        }
        let mut prev = u32::MAX;
        for g in grants.iter().filter(|g| g.milli == WHOLE_GPU_MILLI) {
            if g.server != prev {
                prev = g.server;
                self.refresh_free_at(g.server as usize);
            }
        }
    }
}

/// Free capacity over all models: most free whole GPUs on one server, free whole GPUs, free thousandths.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bounds {
    pub(crate) max_single: u32,
    pub(crate) total_whole: u64,
    pub(crate) total_milli: u64,
}

impl Bounds {
    /// A necessary condition for `req` to fit (weaker than [`SiteIndex::may_fit`], but two comparisons).
    pub(crate) fn may_fit(&self, req: &JobReq) -> bool {
        if req.gpus == 0 {
            true
        } else if req.multi_server {
            self.total_whole >= req.gpus as u64
        } else if req.gpu_milli >= WHOLE_GPU_MILLI {
            self.max_single >= req.gpus
        } else {
            self.total_milli >= req.gpu_milli as u64
        }
    }
}

/// The loads of the World as a [`LoadView`] for placement, optionally with one server replaced by a
/// constrained copy (EASY backfilling around a single-server reservation). A down server's summary offers
/// nothing, so no policy places work there.
pub(crate) struct WorldLoads<'w> {
    pub(crate) world: &'w World,
    pub(crate) index: &'w SiteIndex,
    pub(crate) patch: Option<(u32, &'w ServerLoad, FreeSummary)>,
    /// Placement may use the free-capacity index (off: it scans, as the reference).
    pub(crate) indexed: bool,
}

impl LoadView for WorldLoads<'_> {
    fn servers(&self) -> usize {
        self.index.servers.len()
    }
    fn summary(&self, server: u32) -> FreeSummary {
        match self.patch {
            Some((p, _, s)) if p == server => s,
            _ => self.index.free[server as usize],
        }
    }
    fn summaries(&self) -> Option<&[FreeSummary]> {
        match self.patch {
            Some(_) => None,
            None => Some(&self.index.free),
        }
    }
    fn index(&self) -> Option<&FreeIndex> {
        self.indexed.then_some(&self.index.fidx)
    }
    fn patched(&self) -> Option<u32> {
        self.patch.map(|p| p.0)
    }
    fn load(&self, server: u32) -> &ServerLoad {
        match self.patch {
            Some((p, l, _)) if p == server => l,
            _ => self
                .world
                .get::<ServerLoad>(self.index.servers[server as usize])
                .expect("server entity"),
        }
    }
}
