//! Job placement: which GPUs of which servers a job gets.
//!
//! A server's allocation state is a [`ServerLoad`] (a bevy_ecs component on the server entity). Placement is
//! plain functions over loads in site order, so it is testable without a World.
//!
//! Rules (first-fit, docs/models.md §Placement):
//! - A job whose GPU count fits in one eligible server (and every shared-GPU or CPU-only job) must run on a
//!   single server: it needs `cpu_milli` and `memory_mib` free there and `gpus` GPUs each with at least
//!   `gpu_milli` thousandths free. Servers are scanned in site order; within a server, GPU slots in order.
//! - A larger job takes free *whole* GPUs from eligible servers in site order until it has `gpus` of them; it
//!   may not ask for host CPU or memory (traces of multi-server jobs do not split them).
//! - Eligible servers carry one of the job's allowed GPU models (`model_mask`, a bit per catalog index).
//!
//! [`plan`] chooses among three policies (docs/models.md §Scheduling policies): first fit (above), best fit
//! and topology-aware packing. All three obey the same rule for which jobs span servers: only jobs larger than
//! the largest eligible server (the scale-up domain) do.

use std::collections::BTreeSet;

use bevy_ecs::component::Component;
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::site::{ServerSpec, SiteModel};
use crate::workload::JobSpec;

/// Most GPUs one server may hold (covers 8-GPU HGX and 16-GPU nodes).
pub const MAX_GPUS_PER_SERVER: u32 = 16;
/// Most GPU models a catalog may hold (one bit each in a model mask).
pub const MAX_GPU_MODELS: usize = 64;
/// Model mask accepting every model.
pub const ANY_MODEL: u64 = u64::MAX;
/// A whole GPU, in thousandths.
pub const WHOLE_GPU_MILLI: u16 = 1000;

/// Placement policy (docs/models.md §Scheduling policies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PlacementPolicy {
    /// Scan servers in site order (hall, row, rack, server) and take the first that fit.
    #[default]
    FirstFit,
    /// The server (or GPU share) that leaves the least free capacity; multi-server jobs fill the fullest
    /// servers first.
    BestFit,
    /// Multi-server jobs packed into one rack, else one row, else one hall, over the fewest servers;
    /// single-server jobs as `BestFit`.
    TopologyAware,
}

/// Allocation state of one server.
#[derive(Component, Debug, Clone, PartialEq)]
pub struct ServerLoad {
    /// Catalog index of the server's GPU model.
    pub model: u8,
    /// GPUs installed.
    pub gpus: u8,
    pub free_cpu_milli: u64,
    pub free_memory_mib: u64,
    /// Thousandths allocated on each GPU slot (slots ≥ `gpus` stay 0).
    pub used_milli: [u16; MAX_GPUS_PER_SERVER as usize],
    /// Σ over the jobs on each slot of (thousandths allocated × activity factor in thousandths): the GPU's
    /// activity-weighted load, exact in integers (1.0 = 1,000,000).
    pub active_micro: [u32; MAX_GPUS_PER_SERVER as usize],
    /// Activity factor of each GPU slot held by an inference replica: its current iteration's (0 between
    /// iterations and on slots without a replica). Added to the jobs' activity of the slot.
    pub replica_activity: [f64; MAX_GPUS_PER_SERVER as usize],
    /// Activity factor (thousandths) of jobs that do not state their own: the catalog's `compute` factor.
    pub default_activity_milli: u16,
}

impl ServerLoad {
    pub fn new(spec: &ServerSpec) -> Self {
        assert!(spec.gpus <= MAX_GPUS_PER_SERVER, "validated at load");
        ServerLoad {
            model: spec.gpu_model as u8,
            gpus: spec.gpus as u8,
            free_cpu_milli: spec.cpu_milli,
            free_memory_mib: spec.memory_mib,
            used_milli: [0; MAX_GPUS_PER_SERVER as usize],
            active_micro: [0; MAX_GPUS_PER_SERVER as usize],
            replica_activity: [0.0; MAX_GPUS_PER_SERVER as usize],
            default_activity_milli: 850,
        }
    }

    /// The activity factor of GPU slot `slot`: Σ share·a of its jobs plus its replica's (1.0 = fully busy).
    pub fn activity(&self, slot: usize) -> f64 {
        self.active_micro[slot] as f64 / 1e6 + self.replica_activity[slot]
    }

    fn slots(&self) -> &[u16] {
        &self.used_milli[..self.gpus as usize]
    }

    /// GPUs with nothing allocated.
    pub fn free_whole_gpus(&self) -> u32 {
        self.slots().iter().filter(|&&u| u == 0).count() as u32
    }

    /// Thousandths allocated over all GPUs.
    pub fn allocated_milli(&self) -> u32 {
        self.slots().iter().map(|&u| u as u32).sum()
    }

    /// The largest share (thousandths) still free on one GPU.
    pub fn max_free_milli(&self) -> u16 {
        self.slots()
            .iter()
            .map(|&u| WHOLE_GPU_MILLI - u)
            .max()
            .unwrap_or(0)
    }

    fn eligible(&self, mask: u64) -> bool {
        self.gpus > 0 && (mask >> self.model) & 1 == 1
    }
}

/// One GPU slot given to a job: `milli` thousandths of GPU `slot` of server `server` (site index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub server: u32,
    pub slot: u8,
    pub milli: u16,
}

/// What a job asks of placement (derived once from a [`JobSpec`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobReq {
    pub gpus: u32,
    pub gpu_milli: u16,
    pub cpu_milli: u64,
    pub memory_mib: u64,
    pub model_mask: u64,
    /// Spans servers (see the module rules).
    pub multi_server: bool,
    /// The job's GPU activity factor in thousandths; 0 = the server's default (catalog `compute`).
    pub activity_milli: u16,
}

/// Bit mask of the catalog models in `names` (empty = any model).
pub fn model_mask(names: &[String], catalog: &Catalog) -> Result<u64, String> {
    if names.is_empty() {
        return Ok(ANY_MODEL);
    }
    let mut mask = 0u64;
    for n in names {
        let i = catalog.index_of(n).ok_or_else(|| {
            format!(
                "GPU model `{n}` is not in the catalog (known: {})",
                catalog.names().join(", ")
            )
        })?;
        mask |= 1 << i;
    }
    Ok(mask)
}

/// Static capacity of a site, for deciding whether a job can ever run and whether it spans servers.
#[derive(Debug, Clone)]
pub struct SiteCapacity {
    /// Per catalog model: (largest GPU count in one server, total GPUs).
    per_model: Vec<(u32, u64)>,
    /// (gpus, cpu_milli, memory_mib, model) of every distinct server shape.
    shapes: Vec<(u32, u64, u64, usize)>,
}

impl SiteCapacity {
    pub fn new(site: &SiteModel) -> Self {
        let mut per_model = vec![(0u32, 0u64); MAX_GPU_MODELS];
        let mut shapes = Vec::new();
        for s in &site.servers {
            if s.gpus > 0 {
                let e = &mut per_model[s.gpu_model];
                e.0 = e.0.max(s.gpus);
                e.1 += s.gpus as u64;
            }
            let shape = (s.gpus, s.cpu_milli, s.memory_mib, s.gpu_model);
            if !shapes.contains(&shape) {
                shapes.push(shape);
            }
        }
        SiteCapacity { per_model, shapes }
    }

    fn max_per_server(&self, mask: u64) -> u32 {
        (0..MAX_GPU_MODELS)
            .filter(|i| (mask >> i) & 1 == 1)
            .map(|i| self.per_model[i].0)
            .max()
            .unwrap_or(0)
    }

    fn total(&self, mask: u64) -> u64 {
        (0..MAX_GPU_MODELS)
            .filter(|i| (mask >> i) & 1 == 1)
            .map(|i| self.per_model[i].1)
            .sum()
    }

    /// The placement request of `job`.
    pub fn request(&self, job: &JobSpec, mask: u64) -> JobReq {
        let multi = job.gpus > self.max_per_server(mask) && job.gpu_milli == WHOLE_GPU_MILLI as u32;
        JobReq {
            gpus: job.gpus,
            gpu_milli: job.gpu_milli as u16,
            cpu_milli: job.cpu_milli,
            memory_mib: job.memory_mib,
            model_mask: mask,
            multi_server: multi,
            activity_milli: 0,
        }
    }

    /// Whether `job` could run on the empty site; the error says why not.
    pub fn check_fits(&self, job: &JobSpec, mask: u64) -> Result<(), String> {
        if job.gpu_milli > WHOLE_GPU_MILLI as u32 {
            return Err(format!(
                "gpu_milli {} is more than a whole GPU (1000)",
                job.gpu_milli
            ));
        }
        if job.gpus > 0 && job.gpu_milli == 0 {
            return Err("asks for GPUs with a zero share".into());
        }
        if job.gpus > 1 && job.gpu_milli != WHOLE_GPU_MILLI as u32 {
            return Err("a job with several GPUs must take whole GPUs (gpu_milli 1000)".into());
        }
        let total = self.total(mask);
        if job.gpus as u64 > total {
            return Err(format!(
                "needs {} GPUs; the site has {total} of the allowed model(s)",
                job.gpus
            ));
        }
        let req = self.request(job, mask);
        if req.multi_server {
            if job.cpu_milli > 0 || job.memory_mib > 0 {
                return Err(format!(
                    "needs {} GPUs, more than one server holds, and also host CPU/memory, which multi-server jobs cannot ask for",
                    job.gpus
                ));
            }
            return Ok(());
        }
        let fits = self.shapes.iter().any(|&(g, cpu, mem, model)| {
            let model_ok = job.gpus == 0 || (g > 0 && (mask >> model) & 1 == 1);
            model_ok && g >= job.gpus && cpu >= job.cpu_milli && mem >= job.memory_mib
        });
        if fits {
            Ok(())
        } else {
            Err(format!(
                "no server offers {} GPU(s), {} CPU milli and {} MiB at once",
                job.gpus, job.cpu_milli, job.memory_mib
            ))
        }
    }
}

/// A compact per-server summary kept beside the loads so that placement can skip servers that cannot host a
/// request without reading their [`ServerLoad`]. [`FreeSummary::may_fit`] is a necessary condition only;
/// [`plan_first_fit`] still checks model, CPU and memory on the load itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FreeSummary {
    /// GPUs with nothing allocated.
    pub free_whole: u8,
    /// Largest share (thousandths) free on one GPU.
    pub max_free_milli: u16,
    /// The server is down: it offers nothing, whatever its load says.
    pub down: bool,
}

impl FreeSummary {
    /// The summary of a server that is down.
    pub const DOWN: FreeSummary = FreeSummary {
        free_whole: 0,
        max_free_milli: 0,
        down: true,
    };

    /// The summary of `load`.
    pub fn of(load: &ServerLoad) -> Self {
        FreeSummary {
            free_whole: load.free_whole_gpus() as u8,
            max_free_milli: load.max_free_milli(),
            down: false,
        }
    }

    /// Whether a server with this summary could host (its part of) `req`.
    pub fn may_fit(self, req: &JobReq) -> bool {
        if self.down {
            false
        } else if req.gpus == 0 {
            true
        } else if req.multi_server {
            self.free_whole > 0
        } else if req.gpu_milli as u32 >= WHOLE_GPU_MILLI as u32 {
            self.free_whole as u32 >= req.gpus
        } else {
            self.max_free_milli >= req.gpu_milli
        }
    }
}

/// First-fit plan: fills `out` with the grants and returns true, or returns false (and leaves `out` empty)
/// when the job does not fit now. `loads` yields server loads in site order.
pub fn plan_first_fit<'a>(
    req: &JobReq,
    loads: impl Iterator<Item = (u32, &'a ServerLoad)>,
    out: &mut Vec<Grant>,
) -> bool {
    out.clear();
    if req.multi_server {
        let mut need = req.gpus;
        for (si, load) in loads {
            if !load.eligible(req.model_mask) {
                continue;
            }
            for (slot, &used) in load.slots().iter().enumerate() {
                if used == 0 {
                    out.push(Grant {
                        server: si,
                        slot: slot as u8,
                        milli: WHOLE_GPU_MILLI,
                    });
                    need -= 1;
                    if need == 0 {
                        return true;
                    }
                }
            }
        }
        out.clear();
        return false;
    }
    for (si, load) in loads {
        if load.free_cpu_milli < req.cpu_milli || load.free_memory_mib < req.memory_mib {
            continue;
        }
        if req.gpus == 0 {
            // CPU-only job: any server with the host resources; recorded as a zero-GPU grant.
            out.push(Grant {
                server: si,
                slot: 0,
                milli: 0,
            });
            return true;
        }
        if !load.eligible(req.model_mask) || (load.gpus as u32) < req.gpus {
            continue;
        }
        let fitting = load
            .slots()
            .iter()
            .filter(|&&u| WHOLE_GPU_MILLI - u >= req.gpu_milli)
            .count() as u32;
        if fitting < req.gpus {
            continue;
        }
        let mut need = req.gpus;
        for (slot, &used) in load.slots().iter().enumerate() {
            if WHOLE_GPU_MILLI - used >= req.gpu_milli {
                out.push(Grant {
                    server: si,
                    slot: slot as u8,
                    milli: req.gpu_milli,
                });
                need -= 1;
                if need == 0 {
                    break;
                }
            }
        }
        return true;
    }
    false
}

/// Static per-server facts that placement reads without touching loads: GPU model and count, host capacity,
/// and where each rack, row and hall ends in site order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Topology {
    /// Catalog index of each server's GPU model.
    pub model: Vec<u8>,
    /// GPUs installed in each server.
    pub gpus: Vec<u8>,
    /// Schedulable host CPU (thousandths of a core) of each server.
    pub cpu_milli: Vec<u64>,
    /// Schedulable host memory (MiB) of each server.
    pub memory_mib: Vec<u64>,
    /// Bit `L` set: the server is the last of its group at level `L` (0 rack, 1 row, 2 hall) in site order.
    /// Groups are runs of consecutive servers; site order keeps every rack, row and hall contiguous.
    group_end: Vec<u8>,
}

/// Levels of [`Topology`] groups, smallest first; level 3 is the whole site.
const LEVELS: usize = 4;

impl Topology {
    pub fn new(site: &SiteModel) -> Self {
        let n = site.servers.len();
        let mut t = Topology {
            model: Vec::with_capacity(n),
            gpus: Vec::with_capacity(n),
            cpu_milli: Vec::with_capacity(n),
            memory_mib: Vec::with_capacity(n),
            group_end: Vec::with_capacity(n),
        };
        for (i, s) in site.servers.iter().enumerate() {
            t.model.push(s.gpu_model as u8);
            t.gpus.push(s.gpus as u8);
            t.cpu_milli.push(s.cpu_milli);
            t.memory_mib.push(s.memory_mib);
            let mut ends = 0u8;
            match site.servers.get(i + 1) {
                None => ends = 0b111,
                Some(next) => {
                    if next.hall != s.hall {
                        ends |= 0b100;
                    }
                    if next.hall != s.hall || next.row != s.row {
                        ends |= 0b010;
                    }
                    if next.hall != s.hall || next.row != s.row || next.rack != s.rack {
                        ends |= 0b001;
                    }
                }
            }
            t.group_end.push(ends);
        }
        t
    }

    fn eligible(&self, server: usize, mask: u64) -> bool {
        self.gpus[server] > 0 && (mask >> self.model[server]) & 1 == 1
    }
}

/// A set of server indices answering "the first member at or after `i`" in O(log₆₄ n): a bit per server and,
/// above, a bit per non-empty word, up to a single word.
#[derive(Debug, Clone, Default)]
pub struct FirstSet {
    levels: Vec<Vec<u64>>,
    len: u32,
}

impl FirstSet {
    /// An empty set over `0..n`.
    pub fn new(n: usize) -> Self {
        let mut levels = Vec::new();
        let mut words = n.div_ceil(64).max(1);
        loop {
            levels.push(vec![0u64; words]);
            if words == 1 {
                break;
            }
            words = words.div_ceil(64);
        }
        FirstSet { levels, len: 0 }
    }

    /// Members.
    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn insert(&mut self, i: u32) {
        let mut pos = i as usize;
        for (l, words) in self.levels.iter_mut().enumerate() {
            let w = &mut words[pos / 64];
            let was = *w;
            *w |= 1 << (pos % 64);
            if l == 0 && was != *w {
                self.len += 1;
            }
            if was != 0 {
                break;
            }
            pos /= 64;
        }
    }

    pub fn remove(&mut self, i: u32) {
        let mut pos = i as usize;
        for (l, words) in self.levels.iter_mut().enumerate() {
            let w = &mut words[pos / 64];
            let was = *w;
            *w &= !(1 << (pos % 64));
            if l == 0 && was != *w {
                self.len -= 1;
            }
            if *w != 0 {
                break;
            }
            pos /= 64;
        }
    }

    /// The first member ≥ `i`.
    pub fn next(&self, i: u32) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let mut pos = i as usize;
        let mut l = 0;
        loop {
            let words = self.levels.get(l)?;
            let w = pos / 64;
            let bits = *words.get(w)? & (u64::MAX << (pos % 64));
            if bits != 0 {
                pos = w * 64 + bits.trailing_zeros() as usize;
                break;
            }
            pos = w + 1;
            l += 1;
        }
        while l > 0 {
            l -= 1;
            pos = pos * 64 + self.levels[l][pos].trailing_zeros() as usize;
        }
        Some(pos as u32)
    }
}

/// A max-tree over one value per position (a `u16` per server, a `u32` per topology group), answering "the
/// first position at or after `i` whose value is ≥ `v`".
#[derive(Debug, Clone, Default)]
struct MaxTree<T> {
    /// Leaves at `size..2·size`.
    tree: Vec<T>,
    size: usize,
}

impl<T: Copy + Ord + Default> MaxTree<T> {
    fn new(n: usize) -> Self {
        let size = n.next_power_of_two().max(1);
        MaxTree {
            tree: vec![T::default(); 2 * size],
            size,
        }
    }

    fn set(&mut self, i: u32, v: T) {
        let mut k = i as usize + self.size;
        if self.tree[k] == v {
            return;
        }
        self.tree[k] = v;
        while k > 1 {
            k >>= 1;
            let m = self.tree[2 * k].max(self.tree[2 * k + 1]);
            if self.tree[k] == m {
                break;
            }
            self.tree[k] = m;
        }
    }

    fn first_at_least(&self, i: u32, v: T) -> Option<u32> {
        let t = &self.tree;
        if (i as usize) >= self.size || t[1] < v {
            return None;
        }
        let mut k = i as usize + self.size;
        loop {
            if t[k] >= v {
                while k < self.size {
                    k *= 2;
                    if t[k] < v {
                        k += 1;
                    }
                }
                return Some((k - self.size) as u32);
            }
            while k & 1 == 1 {
                k >>= 1;
            }
            if k == 0 {
                return None;
            }
            k += 1;
        }
    }
}

/// Free host resources of every server (GPU or not) in site order, as a max-tree over pairs: a leaf holds
/// (free CPU milli + 1, free memory MiB + 1) of a server up and (0, 0) of a server down, every inner node the
/// maximum of each component over its leaves. Invariant: each node's pair is the componentwise maximum of its
/// children's. Answers "the first server at or after `i` with `c` CPU milli and `m` MiB free" by a pruned
/// descent: subtrees whose maxima fall short are skipped, and a node whose maxima suffice but no leaf does
/// costs a detour (none when the two resources are held in proportion, as CPU-only jobs mostly ask).
#[derive(Debug, Clone, Default)]
struct HostTree {
    /// `[cpu, memory]` per node; leaves at `size..2·size` (padding leaves stay (0, 0)).
    tree: Vec<[u64; 2]>,
    size: usize,
}

impl HostTree {
    /// A tree over `n` servers, every one down.
    fn new(n: usize) -> Self {
        let size = n.next_power_of_two().max(1);
        HostTree {
            tree: vec![[0; 2]; 2 * size],
            size,
        }
    }

    /// Server `i` now offers `load`'s host resources (None: down, nothing).
    fn set(&mut self, i: u32, load: Option<&ServerLoad>) {
        let v = load.map_or([0; 2], |l| {
            [
                l.free_cpu_milli.saturating_add(1),
                l.free_memory_mib.saturating_add(1),
            ]
        });
        let mut k = i as usize + self.size;
        if self.tree[k] == v {
            return;
        }
        self.tree[k] = v;
        while k > 1 {
            k >>= 1;
            let (a, b) = (self.tree[2 * k], self.tree[2 * k + 1]);
            let m = [a[0].max(b[0]), a[1].max(b[1])];
            if self.tree[k] == m {
                break;
            }
            self.tree[k] = m;
        }
    }

    /// The first server ≥ `i` that is up with `cpu_milli` and `memory_mib` free.
    fn first_fit(&self, i: u32, cpu_milli: u64, memory_mib: u64) -> Option<u32> {
        let need = [cpu_milli.saturating_add(1), memory_mib.saturating_add(1)];
        first_leaf(self.size, i as usize, |k| {
            self.tree[k][0] >= need[0] && self.tree[k][1] >= need[1]
        })
        .map(|s| s as u32)
    }
}

/// The first leaf at or after `from` of an implicit binary tree (root 1, leaves at `size..2·size`) for which `ok`
/// holds, by a pruned walk: the subtrees covering `from..` are visited left to right, descending (left child
/// first) into one where `ok` holds and stepping right past one where it does not. `ok` must hold at a node
/// whenever it holds at one of its leaves (a max-tree's "the maxima suffice"); a node where it holds but at no
/// leaf costs a detour. Shared by the host trees of placement and of EASY's reservations.
pub fn first_leaf(size: usize, from: usize, ok: impl Fn(usize) -> bool) -> Option<usize> {
    if from >= size || !ok(1) {
        return None;
    }
    let mut k = from + size;
    loop {
        if ok(k) {
            if k >= size {
                return Some(k - size);
            }
            k *= 2;
            continue;
        }
        while k & 1 == 1 {
            k >>= 1;
        }
        if k == 0 {
            return None;
        }
        k += 1;
    }
}

/// Most servers in a group for which a [`GroupLevel`] keeps its fit sets (levels with larger groups enumerate
/// the groups with enough free GPUs instead).
const FIT_MAX_SERVERS: usize = 16;
/// Words of a bit set over the free GPUs of up to [`FIT_MAX_SERVERS`] servers (0..=16·16).
const FIT_WORDS: usize = MAX_GPUS_PER_SERVER as usize * FIT_MAX_SERVERS / 64 + 1;
/// Servers by free whole GPUs (index 1..=16; 0 unused), the shape [`servers_needed`] reads.
type FreeHist = [u32; MAX_GPUS_PER_SERVER as usize + 1];

/// One level of topology groups (racks, rows, halls or the site) with, per group, its servers up by free whole
/// GPUs: what topology-aware placement of a multi-server job reads instead of a scan over servers (kept
/// under `TopologyAware` only; every GPU model counted, so it answers jobs that accept every model present).
#[derive(Debug, Clone, Default)]
struct GroupLevel {
    /// Group of each server.
    group_of: Vec<u32>,
    /// First server of each group, then the number of servers.
    start: Vec<u32>,
    /// Per group: its servers up by free whole GPUs.
    hist: Vec<FreeHist>,
    /// Per group: free whole GPUs on its servers up.
    total_gpus: Vec<u32>,
    /// Servers in the largest group when at most [`FIT_MAX_SERVERS`] (the level keeps fit sets), else 0 (the
    /// level keeps `totals`).
    fit_servers: usize,
    /// `fit[s - 1][v]`: (free GPUs, group) of the groups whose `s` servers with the most free GPUs hold `v` of
    /// them, for `s` up to the group's servers with free GPUs (a group with fewer spans fewer). Ordered sets
    /// because the choice is "least `s` with some `v ≥ need`, then least (free GPUs, group)": per placement one
    /// look per non-empty `v ≥ need` for each `s` up to the answer, O(s·log groups) per update of a group.
    fit: Vec<Vec<BTreeSet<(u32, u32)>>>,
    /// The least member of each fit set ([`NO_GROUP`] when empty): placement reads these from one array per `s`
    /// instead of walking to each set's first node.
    fit_min: Vec<Vec<(u32, u32)>>,
    /// `fit_any[s - 1]`: bit `v` set when `fit[s - 1][v]` is not empty (skips empty sets without a look).
    fit_any: Vec<[u64; FIT_WORDS]>,
    /// Levels without fit sets: a max-tree over the groups' free GPUs (visits only groups with enough).
    totals: MaxTree<u32>,
}

/// [`GroupLevel::fit_min`] of an empty set.
const NO_GROUP: (u32, u32) = (u32::MAX, u32::MAX);

/// Free GPUs on the `s` servers of `hist` with the most, for `s` = 1..=`out.len()` while the `s`-th server has
/// some: returns how many were written (fewer when fewer servers have free GPUs).
fn top_sums(hist: &FreeHist, out: &mut [u32]) -> usize {
    let mut sum = 0;
    let mut s = 0;
    for k in (1..=MAX_GPUS_PER_SERVER as usize).rev() {
        for _ in 0..hist[k] {
            if s == out.len() {
                return s;
            }
            sum += k as u32;
            out[s] = sum;
            s += 1;
        }
    }
    s
}

impl GroupLevel {
    /// Level `level` (0 rack, 1 row, 2 hall, 3 site) of `topo`, every server counted as down.
    fn new(topo: &Topology, level: usize) -> Self {
        let n = topo.gpus.len();
        let mut group_of = Vec::with_capacity(n);
        let mut start = vec![0u32];
        for i in 0..n {
            group_of.push(start.len() as u32 - 1);
            let ends = i + 1 == n || (level < 3 && (topo.group_end[i] >> level) & 1 == 1);
            if ends {
                start.push(i as u32 + 1);
            }
        }
        let groups = start.len() - 1;
        let largest = start.windows(2).map(|w| (w[1] - w[0]) as usize).max();
        let fit_servers = largest.filter(|&m| m <= FIT_MAX_SERVERS).unwrap_or(0);
        GroupLevel {
            group_of,
            start,
            hist: vec![[0; MAX_GPUS_PER_SERVER as usize + 1]; groups],
            total_gpus: vec![0; groups],
            fit_servers,
            fit: (1..=fit_servers)
                .map(|s| vec![BTreeSet::new(); s * MAX_GPUS_PER_SERVER as usize + 1])
                .collect(),
            fit_min: (1..=fit_servers)
                .map(|s| vec![NO_GROUP; s * MAX_GPUS_PER_SERVER as usize + 1])
                .collect(),
            fit_any: vec![[0; FIT_WORDS]; fit_servers],
            totals: MaxTree::new(if fit_servers > 0 { 0 } else { groups }),
        }
    }

    /// Servers in group `g` that its fit sets cover.
    fn fit_len(&self, g: usize) -> usize {
        ((self.start[g + 1] - self.start[g]) as usize).min(self.fit_servers)
    }

    /// Server `server` now has `now` free whole GPUs instead of `was` (0 when down).
    fn update(&mut self, server: u32, was: u8, now: u8) {
        let g = self.group_of[server as usize] as usize;
        let (old_hist, old_total) = (self.hist[g], self.total_gpus[g]);
        if was > 0 {
            self.hist[g][was as usize] -= 1;
        }
        if now > 0 {
            self.hist[g][now as usize] += 1;
        }
        self.total_gpus[g] = old_total + now as u32 - was as u32;
        if self.fit_servers == 0 {
            self.totals.set(g as u32, self.total_gpus[g]);
        } else {
            self.refile(g, Some((&old_hist, old_total)));
        }
    }

    /// Files group `g` in the fit sets under its histogram, first taking it out of those of `old` (histogram,
    /// free GPUs) when it was filed.
    fn refile(&mut self, g: usize, old: Option<(&FreeHist, u32)>) {
        let len = self.fit_len(g);
        let mut was = [0u32; FIT_MAX_SERVERS];
        let mut now = [0u32; FIT_MAX_SERVERS];
        let now_len = top_sums(&self.hist[g], &mut now[..len]);
        let total = self.total_gpus[g];
        let (was_len, old_total) = match old {
            Some((h, t)) => (top_sums(h, &mut was[..len]), t),
            None => (0, 0),
        };
        for s in 0..was_len.max(now_len) {
            if (was[s], old_total) == (now[s], total) {
                continue;
            }
            if was[s] > 0 {
                let v = was[s] as usize;
                let set = &mut self.fit[s][v];
                let key = (old_total, g as u32);
                set.remove(&key);
                if set.is_empty() {
                    self.fit_any[s][v / 64] &= !(1 << (v % 64));
                    self.fit_min[s][v] = NO_GROUP;
                } else if self.fit_min[s][v] == key {
                    self.fit_min[s][v] = *set.first().expect("not empty");
                }
            }
            if now[s] > 0 {
                let v = now[s] as usize;
                let key = (total, g as u32);
                self.fit[s][v].insert(key);
                self.fit_any[s][v / 64] |= 1 << (v % 64);
                self.fit_min[s][v] = self.fit_min[s][v].min(key);
            }
        }
    }

    /// The group of this level where a job of `need` whole GPUs (≥ 1) goes, as [`plan_topology_multi`] chooses
    /// among a level's groups: fewest servers spanned, then fewest free GPUs, then lowest id; None when no
    /// group has `need` free.
    fn choose(&self, need: u32) -> Option<usize> {
        if self.fit_servers == 0 {
            let mut best: Option<(u32, u32, u32)> = None;
            let mut from = 0;
            while let Some(g) = self.totals.first_at_least(from, need) {
                from = g + 1;
                let c = (
                    servers_needed(&self.hist[g as usize], need),
                    self.total_gpus[g as usize],
                    g,
                );
                if best.is_none_or(|b| c < b) {
                    best = Some(c);
                }
            }
            return best.map(|b| b.2 as usize);
        }
        let need = need as usize;
        for s in 1..=self.fit_servers {
            let top = s * MAX_GPUS_PER_SERVER as usize;
            if need > top {
                continue;
            }
            let words = &self.fit_any[s - 1];
            let mut best: Option<(u32, u32)> = None;
            let mut w = need / 64;
            let mut bits = words[w] & (u64::MAX << (need % 64));
            loop {
                while bits != 0 {
                    let v = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    let c = self.fit_min[s - 1][v];
                    debug_assert_eq!(Some(&c), self.fit[s - 1][v].first());
                    if best.is_none_or(|b| c < b) {
                        best = Some(c);
                    }
                }
                w += 1;
                if w * 64 > top {
                    break;
                }
                bits = words[w];
            }
            if let Some(b) = best {
                return Some(b.1 as usize);
            }
        }
        None
    }
}

/// Servers by free capacity, per GPU model, kept in step with their loads: for each model, the servers up
/// with exactly `k` free whole GPUs (`k` = 1..=16, a [`FirstSet`] each), a max-tree of the largest free share
/// on one GPU, and the ordered set of (free share of a GPU, server) over the GPUs with something free; and over
/// every server (with GPUs or not) its free host CPU and memory ([`HostTree`]). Placement asks it for the first
/// server in site order with `k` or more free GPUs (or a share of `m` thousandths) of a model in a mask:
/// O(models · 16 · log₆₄ n) for whole GPUs, O(models · log n) for shares, instead of a scan over the servers;
/// for the first server up with a CPU-only job's CPU and memory free, O(log n) when free CPU and memory go
/// together; and best fit of a share for the GPUs with the least share that fits, in that order. Under topology-aware placement it also keeps, per rack, row, hall and the site, the group's
/// servers by free whole GPUs ([`GroupLevel`]), from which a multi-server job's group is chosen without a scan
/// (docs/models.md §Placement and queue).
#[derive(Debug, Clone, Default)]
pub struct FreeIndex {
    /// `[model][k - 1]`; empty for models the site does not hold.
    by_whole: Vec<Vec<FirstSet>>,
    milli: Vec<MaxTree<u16>>,
    /// `[model]`: (free thousandths, server) for each distinct free share (> 0) of a GPU on a server up; kept
    /// only for best fit (`track_shares`), the one policy that asks.
    shares: Vec<BTreeSet<(u16, u32)>>,
    track_shares: bool,
    /// The distinct free shares each server is filed under in `shares`, ascending.
    filed_shares: Vec<Vec<u16>>,
    /// Rack, row, hall and site groups by free whole GPUs; empty unless the policy is `TopologyAware`.
    levels: Vec<GroupLevel>,
    /// Free host CPU and memory of every server up, for CPU-only jobs.
    host: HostTree,
    /// The summary each server is filed under, its model, and whether it has GPUs.
    filed: Vec<FreeSummary>,
    model: Vec<u8>,
    has_gpus: Vec<bool>,
    /// Catalog models present (bit per index).
    models: u64,
}

impl FreeIndex {
    /// The index of servers with loads `loads` (site order; None: down) for placement under `policy`: best
    /// fit and topology-aware also index the GPUs by free share (for shared-GPU jobs), topology-aware also the
    /// topology groups by free whole GPUs (costs on every update that other policies do not need).
    pub fn new<'a>(
        topo: &Topology,
        loads: impl IntoIterator<Item = Option<&'a ServerLoad>>,
        policy: PlacementPolicy,
    ) -> Self {
        let shares = policy != PlacementPolicy::FirstFit;
        let n = topo.gpus.len();
        let mut models = 0u64;
        for (&m, &g) in topo.model.iter().zip(&topo.gpus) {
            if g > 0 {
                models |= 1 << m;
            }
        }
        let mut by_whole = vec![Vec::new(); MAX_GPU_MODELS];
        let mut milli = vec![MaxTree::default(); MAX_GPU_MODELS];
        for m in 0..MAX_GPU_MODELS {
            if (models >> m) & 1 == 1 {
                by_whole[m] = vec![FirstSet::new(n); MAX_GPUS_PER_SERVER as usize];
                milli[m] = MaxTree::new(n);
            }
        }
        let mut ix = FreeIndex {
            by_whole,
            milli,
            shares: vec![BTreeSet::new(); MAX_GPU_MODELS],
            track_shares: shares,
            filed_shares: vec![Vec::new(); n],
            levels: Vec::new(),
            host: HostTree::new(n),
            filed: vec![FreeSummary::DOWN; n],
            model: topo.model.clone(),
            has_gpus: topo.gpus.iter().map(|&g| g > 0).collect(),
            models,
        };
        for (s, load) in loads.into_iter().enumerate() {
            ix.update(s as u32, load);
        }
        if policy == PlacementPolicy::TopologyAware {
            // Built from the filed summaries in one pass (each group filed once, not once per server).
            for level in 0..LEVELS {
                let mut lv = GroupLevel::new(topo, level);
                for (s, f) in ix.filed.iter().enumerate() {
                    if f.free_whole > 0 {
                        let g = lv.group_of[s] as usize;
                        lv.hist[g][f.free_whole as usize] += 1;
                        lv.total_gpus[g] += f.free_whole as u32;
                    }
                }
                for g in 0..lv.total_gpus.len() {
                    if lv.fit_servers == 0 {
                        lv.totals.set(g as u32, lv.total_gpus[g]);
                    } else {
                        lv.refile(g, None);
                    }
                }
                ix.levels.push(lv);
            }
        }
        ix
    }

    /// Whether the topology groups answer for a multi-server job with model mask `mask`: they are kept and
    /// count every model present, so the job must accept all of them.
    fn groups_cover(&self, mask: u64) -> bool {
        !self.levels.is_empty() && mask & self.models == self.models
    }

    /// Server `s` now has load `load` (None: it is down and offers nothing).
    pub fn update(&mut self, s: u32, load: Option<&ServerLoad>) {
        let i = s as usize;
        self.host.set(s, load);
        if !self.has_gpus[i] {
            return;
        }
        if self.track_shares {
            self.update_shares(s, load);
        }
        let f = load.map_or(FreeSummary::DOWN, FreeSummary::of);
        let old = self.filed[i];
        if old == f {
            return;
        }
        let m = self.model[i] as usize;
        if old.free_whole != f.free_whole {
            for lv in &mut self.levels {
                lv.update(s, old.free_whole, f.free_whole);
            }
            if old.free_whole > 0 {
                self.by_whole[m][old.free_whole as usize - 1].remove(s);
            }
            if f.free_whole > 0 {
                self.by_whole[m][f.free_whole as usize - 1].insert(s);
            }
        }
        self.milli[m].set(s, f.max_free_milli);
        self.filed[i] = f;
    }

    /// Files server `s` in `shares` under the distinct free shares of its GPUs (none when down).
    fn update_shares(&mut self, s: u32, load: Option<&ServerLoad>) {
        let mut now = [0u16; MAX_GPUS_PER_SERVER as usize];
        let mut len = 0;
        if let Some(l) = load {
            for &used in l.slots() {
                let free = WHOLE_GPU_MILLI - used;
                if free > 0 && !now[..len].contains(&free) {
                    now[len] = free;
                    len += 1;
                }
            }
        }
        let now = &mut now[..len];
        now.sort_unstable();
        let i = s as usize;
        if self.filed_shares[i] == now {
            return;
        }
        let set = &mut self.shares[self.model[i] as usize];
        for &v in &self.filed_shares[i] {
            set.remove(&(v, s));
        }
        for &v in now.iter() {
            set.insert((v, s));
        }
        self.filed_shares[i].clear();
        self.filed_shares[i].extend_from_slice(now);
    }

    /// The first (free share, server) ≥ `from` over the models in `mask`: the GPU share that fits `from.0`
    /// with least left, ties lowest server.
    fn next_share(&self, mask: u64, from: (u16, u32)) -> Option<(u16, u32)> {
        self.masked(mask)
            .filter_map(|m| self.shares[m].range(from..).next().copied())
            .min()
    }

    /// The summary `s` is filed under.
    pub fn filed(&self, s: u32) -> FreeSummary {
        self.filed[s as usize]
    }

    fn masked(&self, mask: u64) -> impl Iterator<Item = usize> {
        let mut bits = mask & self.models;
        std::iter::from_fn(move || {
            (bits != 0).then(|| {
                let m = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                m
            })
        })
    }

    /// Servers of the models in `mask` with exactly `k` free whole GPUs (`k` ≥ 1).
    pub fn count_exact(&self, mask: u64, k: u32) -> u32 {
        self.masked(mask)
            .map(|m| self.by_whole[m][k as usize - 1].len())
            .sum()
    }

    /// The first server ≥ `from` of a model in `mask` whose free whole GPUs are in `lo..=hi` (1 ≤ lo).
    pub fn first_whole(&self, mask: u64, lo: u32, hi: u32, from: u32) -> Option<u32> {
        let mut best: Option<u32> = None;
        for m in self.masked(mask) {
            for set in &self.by_whole[m][lo as usize - 1..hi as usize] {
                if let Some(s) = set.next(from)
                    && best.is_none_or(|b| s < b)
                {
                    best = Some(s);
                }
            }
        }
        best
    }

    /// The first server ≥ `from` (with GPUs or not) that is up with `cpu_milli` host CPU and `memory_mib`
    /// host memory free.
    pub fn first_host(&self, cpu_milli: u64, memory_mib: u64, from: u32) -> Option<u32> {
        self.host.first_fit(from, cpu_milli, memory_mib)
    }

    /// The first server ≥ `from` of a model in `mask` with a GPU that has `milli` thousandths free.
    pub fn first_share(&self, mask: u64, milli: u16, from: u32) -> Option<u32> {
        let mut best: Option<u32> = None;
        for m in self.masked(mask) {
            if let Some(s) = self.milli[m].first_at_least(from, milli)
                && best.is_none_or(|b| s < b)
            {
                best = Some(s);
            }
        }
        best
    }

    /// The first server ≥ `from` that could host (its part of) request `req`: by its summary for a GPU job, by
    /// its free host resources for a CPU-only job, by both for a single-server GPU job with host resources (a
    /// superset, in site order, of the servers [`plan_first_fit`] accepts).
    fn first_for(&self, req: &JobReq, from: u32) -> Option<u32> {
        if req.gpus == 0 {
            return self.first_host(req.cpu_milli, req.memory_mib, from);
        }
        if req.multi_server || (req.cpu_milli == 0 && req.memory_mib == 0) {
            return self.first_gpus(req, from);
        }
        // Both GPUs and host resources: leapfrog the two until they agree on a server.
        let mut from = from;
        loop {
            let gpu = self.first_gpus(req, from)?;
            let host = self.first_host(req.cpu_milli, req.memory_mib, gpu)?;
            if host == gpu {
                return Some(gpu);
            }
            from = host;
        }
    }

    /// The first server ≥ `from` whose summary could host the GPUs of GPU request `req`.
    fn first_gpus(&self, req: &JobReq, from: u32) -> Option<u32> {
        if req.multi_server {
            self.first_whole(req.model_mask, 1, MAX_GPUS_PER_SERVER, from)
        } else if req.gpu_milli >= WHOLE_GPU_MILLI {
            if req.gpus > MAX_GPUS_PER_SERVER {
                return None;
            }
            self.first_whole(req.model_mask, req.gpus, MAX_GPUS_PER_SERVER, from)
        } else {
            self.first_share(req.model_mask, req.gpu_milli, from)
        }
    }
}

/// Read access to the current allocation state, by server site index.
pub trait LoadView {
    /// Number of servers.
    fn servers(&self) -> usize;
    /// The free-capacity summary of `server` (consistent with [`LoadView::load`]).
    fn summary(&self, server: u32) -> FreeSummary;
    fn load(&self, server: u32) -> &ServerLoad;
    /// All summaries in server order, when they can be read as one slice (a fast path for scans).
    fn summaries(&self) -> Option<&[FreeSummary]> {
        None
    }
    /// The free-capacity index over the servers' summaries, when one is kept (None: placement scans).
    fn index(&self) -> Option<&FreeIndex> {
        None
    }
    /// A server whose [`LoadView::summary`] is not the one the index files it under: never more capacity in
    /// any respect (a constrained copy for EASY backfilling).
    fn patched(&self) -> Option<u32> {
        None
    }
}

impl LoadView for [ServerLoad] {
    fn servers(&self) -> usize {
        self.len()
    }
    fn summary(&self, server: u32) -> FreeSummary {
        FreeSummary::of(&self[server as usize])
    }
    fn load(&self, server: u32) -> &ServerLoad {
        &self[server as usize]
    }
}

/// Plans `req` under `policy`: fills `out` with the grants (server-grouped, ascending server id) and returns
/// true, or returns false with `out` empty when the job does not fit now.
///
/// - `FirstFit`: [`plan_first_fit`] over the servers whose [`FreeSummary`] may fit the job.
/// - `BestFit`: a single-server whole-GPU job goes to the eligible server left with the fewest free whole GPUs
///   (ties: lowest id), taking free GPUs in slot order; a shared-GPU job to the GPU whose free share is the
///   smallest that fits (ties: lowest server id, then slot); a multi-server job takes free whole GPUs from the
///   eligible servers with the fewest free whole GPUs first (ties: lowest id), so empty servers stay whole.
/// - `TopologyAware`: single-server jobs as `BestFit`; a multi-server job goes to the smallest group that
///   holds enough eligible free whole GPUs — one rack, else one row, else one hall, else the site — choosing
///   within that level the group where it spans the fewest servers (ties: the group with the fewest free
///   eligible GPUs, then the lowest id), and inside it takes servers with the most free GPUs first (ties:
///   lowest id).
///
/// CPU-only jobs (`gpus == 0`) take the first server with the host resources under every policy.
pub fn plan<V: LoadView + ?Sized>(
    policy: PlacementPolicy,
    req: &JobReq,
    view: &V,
    topo: &Topology,
    out: &mut Vec<Grant>,
) -> bool {
    let n = view.servers() as u32;
    let first_fit = |out: &mut Vec<Grant>| match view.summaries() {
        _ if view.index().is_some() => {
            let ix = view.index().expect("checked");
            // Candidates from the index: every server the scan below would accept, in site order.
            let mut from = 0u32;
            let candidates = std::iter::from_fn(|| {
                let s = ix.first_for(req, from)?;
                from = s + 1;
                Some(s)
            });
            let loads = candidates
                .filter(|&i| view.summary(i).may_fit(req))
                .map(|i| (i, view.load(i)));
            plan_first_fit(req, loads, out)
        }
        Some(summaries) => {
            let loads = summaries
                .iter()
                .enumerate()
                .filter(|(_, f)| f.may_fit(req))
                .map(|(i, _)| (i as u32, view.load(i as u32)));
            plan_first_fit(req, loads, out)
        }
        None => {
            let loads = (0..n)
                .filter(|&i| view.summary(i).may_fit(req))
                .map(|i| (i, view.load(i)));
            plan_first_fit(req, loads, out)
        }
    };
    match policy {
        PlacementPolicy::FirstFit => first_fit(out),
        _ if req.gpus == 0 => first_fit(out),
        PlacementPolicy::BestFit | PlacementPolicy::TopologyAware if !req.multi_server => {
            match view.index() {
                Some(ix) if req.gpu_milli >= WHOLE_GPU_MILLI => {
                    plan_best_fit_whole_indexed(req, view, topo, ix, out)
                }
                Some(ix) if ix.track_shares => {
                    plan_best_fit_share_indexed(req, view, topo, ix, out)
                }
                _ => plan_best_fit_single(req, view, topo, out),
            }
        }
        PlacementPolicy::BestFit => match view.index() {
            Some(ix) => plan_multi_fewest_indexed(req, view, topo, ix, out),
            None => plan_multi_ranked(req, view, topo, 0, n, true, out),
        },
        PlacementPolicy::TopologyAware => match view.index() {
            Some(ix) if view.patched().is_none() && ix.groups_cover(req.model_mask) => {
                plan_topology_multi_indexed(req, view, ix, out)
            }
            _ => plan_topology_multi(req, view, topo, out),
        },
    }
}

fn host_fits(load: &ServerLoad, req: &JobReq) -> bool {
    load.free_cpu_milli >= req.cpu_milli && load.free_memory_mib >= req.memory_mib
}

/// Best fit of a single-server GPU job (see [`plan`]).
fn plan_best_fit_single<V: LoadView + ?Sized>(
    req: &JobReq,
    view: &V,
    topo: &Topology,
    out: &mut Vec<Grant>,
) -> bool {
    out.clear();
    let whole = req.gpu_milli >= WHOLE_GPU_MILLI;
    // (leftover, server, slot): leftover = free whole GPUs left (whole jobs) or free share left on the GPU.
    let mut best: Option<(u32, u32, u8)> = None;
    'servers: for i in 0..view.servers() {
        if !topo.eligible(i, req.model_mask) || (topo.gpus[i] as u32) < req.gpus {
            continue;
        }
        let si = i as u32;
        let summary = view.summary(si);
        if !summary.may_fit(req) {
            continue;
        }
        if whole {
            let left = summary.free_whole as u32 - req.gpus;
            if best.is_some_and(|b| b.0 <= left) {
                continue;
            }
            if !host_fits(view.load(si), req) {
                continue;
            }
            best = Some((left, si, 0));
            if left == 0 {
                break;
            }
        } else {
            let load = view.load(si);
            if !host_fits(load, req) {
                continue;
            }
            for (slot, &used) in load.slots().iter().enumerate() {
                let free = WHOLE_GPU_MILLI - used;
                if free >= req.gpu_milli {
                    let left = (free - req.gpu_milli) as u32;
                    if best.is_none_or(|b| left < b.0) {
                        best = Some((left, si, slot as u8));
                        if left == 0 {
                            break 'servers;
                        }
                    }
                }
            }
        }
    }
    let Some((_, si, slot)) = best else {
        return false;
    };
    if whole {
        let load = view.load(si);
        let mut need = req.gpus;
        for (slot, &used) in load.slots().iter().enumerate() {
            if need == 0 {
                break;
            }
            if used == 0 {
                out.push(Grant {
                    server: si,
                    slot: slot as u8,
                    milli: req.gpu_milli,
                });
                need -= 1;
            }
        }
        debug_assert_eq!(need, 0);
    } else {
        out.push(Grant {
            server: si,
            slot,
            milli: req.gpu_milli,
        });
    }
    true
}

/// [`plan_best_fit_single`] of a shared-GPU job through the index: the (free share, server) pairs from the
/// job's share upwards, i.e. by share left then server, until one whose server's host resources suffice (the
/// patched server, if any, judged on its own load). Same choice as the scan: least share left, ties lowest
/// server, then lowest slot.
fn plan_best_fit_share_indexed<V: LoadView + ?Sized>(
    req: &JobReq,
    view: &V,
    topo: &Topology,
    ix: &FreeIndex,
    out: &mut Vec<Grant>,
) -> bool {
    out.clear();
    let fits = |s: u32| {
        topo.eligible(s as usize, req.model_mask)
            && topo.gpus[s as usize] as u32 >= req.gpus
            && view.summary(s).may_fit(req)
            && host_fits(view.load(s), req)
    };
    let patched = view.patched();
    // The patched server's best (free share, server), from its own load.
    let p_best = patched.filter(|&p| fits(p)).and_then(|p| {
        let free = view.load(p).slots().iter().map(|&u| WHOLE_GPU_MILLI - u);
        free.filter(|&f| f >= req.gpu_milli).min().map(|f| (f, p))
    });
    let mut from = (req.gpu_milli, 0u32);
    let mut found = None;
    while let Some(c) = ix.next_share(req.model_mask, from) {
        if p_best.is_some_and(|p| p < c) {
            break;
        }
        from = (c.0, c.1 + 1);
        if Some(c.1) != patched && fits(c.1) {
            found = Some(c);
            break;
        }
    }
    let Some((free, si)) = [found, p_best].into_iter().flatten().min() else {
        return false;
    };
    let slot = view
        .load(si)
        .slots()
        .iter()
        .position(|&u| WHOLE_GPU_MILLI - u == free)
        .expect("a GPU with that share free");
    out.push(Grant {
        server: si,
        slot: slot as u8,
        milli: req.gpu_milli,
    });
    true
}

/// Takes the free whole GPUs of server `si` in slot order, `take` of them at most (grants in `out`).
fn take_free<V: LoadView + ?Sized>(
    view: &V,
    si: u32,
    milli: u16,
    mut take: u32,
    out: &mut Vec<Grant>,
) -> u32 {
    let mut took = 0;
    for (slot, &used) in view.load(si).slots().iter().enumerate() {
        if take == 0 {
            break;
        }
        if used == 0 {
            out.push(Grant {
                server: si,
                slot: slot as u8,
                milli,
            });
            take -= 1;
            took += 1;
        }
    }
    took
}

/// [`plan_best_fit_single`] of a whole-GPU job through the index: for `k` = the job's GPUs upwards, the first
/// server with exactly `k` free whole GPUs whose host resources suffice, leapfrogging with the host tree (the
/// patched server, if any, judged on its own summary). Same choice as the scan: fewest free whole GPUs left, ties lowest id.
fn plan_best_fit_whole_indexed<V: LoadView + ?Sized>(
    req: &JobReq,
    view: &V,
    topo: &Topology,
    ix: &FreeIndex,
    out: &mut Vec<Grant>,
) -> bool {
    out.clear();
    if req.gpus > MAX_GPUS_PER_SERVER {
        return false;
    }
    let patched = view.patched();
    // The patched server's free whole GPUs, if it qualifies.
    let p_free = patched.and_then(|p| {
        let summary = view.summary(p);
        (topo.eligible(p as usize, req.model_mask)
            && topo.gpus[p as usize] as u32 >= req.gpus
            && summary.may_fit(req)
            && host_fits(view.load(p), req))
        .then_some(summary.free_whole as u32)
    });
    for k in req.gpus..=MAX_GPUS_PER_SERVER {
        let p_here = patched.filter(|_| p_free == Some(k));
        let mut found = None;
        let mut from = 0;
        while let Some(s) = ix.first_whole(req.model_mask, k, k, from) {
            if p_here.is_some_and(|p| p < s) {
                break;
            }
            from = s + 1;
            if Some(s) == patched {
                continue;
            }
            if host_fits(view.load(s), req) {
                found = Some(s);
                break;
            }
            // Skip to the next server with the host resources free.
            match ix.first_host(req.cpu_milli, req.memory_mib, from) {
                Some(h) => from = h,
                None => break,
            }
        }
        let Some(si) = found.or(p_here) else {
            continue;
        };
        let si = match p_here {
            Some(p) => si.min(p),
            None => si,
        };
        let took = take_free(view, si, req.gpu_milli, req.gpus, out);
        debug_assert_eq!(took, req.gpus);
        return true;
    }
    false
}

/// [`plan_multi_ranked`] over the whole site, fewest free GPUs first, through the index: the histogram from
/// the index's counts, then only the servers that give GPUs, in site order. A patched server counts, and is
/// visited, with its free GPUs in the view instead of those the index files it under.
fn plan_multi_fewest_indexed<V: LoadView + ?Sized>(
    req: &JobReq,
    view: &V,
    topo: &Topology,
    ix: &FreeIndex,
    out: &mut Vec<Grant>,
) -> bool {
    out.clear();
    let mask = req.model_mask;
    // The patched server, with (free GPUs filed, free GPUs in the view) when the job may use its model.
    let patch = view.patched().map(|p| {
        let eligible = topo.eligible(p as usize, mask);
        let filed = if eligible {
            ix.filed(p).free_whole as u32
        } else {
            0
        };
        (p, filed, free_for(view, topo, p, mask))
    });
    let mut need = req.gpus;
    let mut cut = 0u32;
    for k in 1..=MAX_GPUS_PER_SERVER {
        let mut count = ix.count_exact(mask, k);
        if let Some((_, filed, now)) = patch {
            count = count + (now == k) as u32 - (filed == k) as u32;
        }
        let avail = count * k;
        if avail >= need {
            cut = k;
            break;
        }
        need -= avail;
    }
    if cut == 0 {
        return false;
    }
    let mut at_cut = need;
    let mut left = req.gpus;
    let mut from = 0;
    loop {
        // Servers with 1..=hi free GPUs give some.
        let hi = if at_cut > 0 { cut } else { cut - 1 };
        if hi == 0 {
            break;
        }
        let mut s = ix.first_whole(mask, 1, hi, from);
        let mut f = s.map(|s| ix.filed(s).free_whole as u32);
        if let Some((p, _, now)) = patch {
            if s == Some(p) {
                s = ix.first_whole(mask, 1, hi, p + 1);
                f = s.map(|s| ix.filed(s).free_whole as u32);
            }
            if p >= from && (1..=hi).contains(&now) && s.is_none_or(|s| p < s) {
                (s, f) = (Some(p), Some(now));
            }
        }
        let (Some(s), Some(f)) = (s, f) else {
            break;
        };
        from = s + 1;
        let take = if f < cut {
            f
        } else {
            let t = f.min(at_cut);
            at_cut -= t;
            t
        };
        left -= take_free(view, s, WHOLE_GPU_MILLI, take, out);
        if left == 0 {
            return true;
        }
    }
    unreachable!("free-capacity index agrees with the loads");
}

/// Free whole GPUs of `server` that a multi-server job with `mask` may take (0 if ineligible).
fn free_for<V: LoadView + ?Sized>(view: &V, topo: &Topology, server: u32, mask: u64) -> u32 {
    if topo.eligible(server as usize, mask) {
        view.summary(server).free_whole as u32
    } else {
        0
    }
}

/// Takes `req.gpus` free whole GPUs from eligible servers in `lo..hi`, ranking servers by their free whole
/// GPUs — fewest first (`fewest_first`) or most first — ties by lowest id. Grants come out in server order.
fn plan_multi_ranked<V: LoadView + ?Sized>(
    req: &JobReq,
    view: &V,
    topo: &Topology,
    lo: u32,
    hi: u32,
    fewest_first: bool,
    out: &mut Vec<Grant>,
) -> bool {
    out.clear();
    let mut hist = [0u32; MAX_GPUS_PER_SERVER as usize + 1];
    for i in lo..hi {
        hist[free_for(view, topo, i, req.model_mask) as usize] += 1;
    }
    // Walk the ranking by free count to find the count `cut` at which the job is complete: servers ranked
    // before `cut` give all their free GPUs, servers with exactly `cut` give theirs in id order until done.
    let mut need = req.gpus;
    let mut cut = 0u32;
    for step in 1..=MAX_GPUS_PER_SERVER {
        let k = if fewest_first {
            step
        } else {
            MAX_GPUS_PER_SERVER + 1 - step
        };
        let avail = hist[k as usize] * k;
        if avail >= need {
            cut = k;
            break;
        }
        need -= avail;
    }
    if cut == 0 {
        return false;
    }
    let mut at_cut = need;
    let mut left = req.gpus;
    for i in lo..hi {
        let f = free_for(view, topo, i, req.model_mask);
        if f == 0 {
            continue;
        }
        let before = if fewest_first { f < cut } else { f > cut };
        let mut take = if before {
            f
        } else if f == cut && at_cut > 0 {
            let t = f.min(at_cut);
            at_cut -= t;
            t
        } else {
            0
        };
        if take == 0 {
            continue;
        }
        for (slot, &used) in view.load(i).slots().iter().enumerate() {
            if used == 0 {
                out.push(Grant {
                    server: i,
                    slot: slot as u8,
                    milli: WHOLE_GPU_MILLI,
                });
                take -= 1;
                left -= 1;
                if take == 0 {
                    break;
                }
            }
        }
        if left == 0 {
            return true;
        }
    }
    unreachable!("free-capacity summaries agree with the loads");
}

/// Servers a job of `need` GPUs spans when it takes the servers with the most free GPUs first.
fn servers_needed(hist: &[u32; MAX_GPUS_PER_SERVER as usize + 1], mut need: u32) -> u32 {
    let mut servers = 0;
    for k in (1..=MAX_GPUS_PER_SERVER).rev() {
        let c = hist[k as usize];
        if c * k >= need {
            return servers + need.div_ceil(k);
        }
        servers += c;
        need -= c * k;
    }
    u32::MAX
}

/// Topology-aware packing of a multi-server job (see [`plan`]).
fn plan_topology_multi<V: LoadView + ?Sized>(
    req: &JobReq,
    view: &V,
    topo: &Topology,
    out: &mut Vec<Grant>,
) -> bool {
    out.clear();
    let n = view.servers() as u32;
    // Per level: (servers spanned, free GPUs in the group, first server, end) of the best group so far.
    let mut best: [Option<(u32, u32, u32, u32)>; LEVELS] = [None; LEVELS];
    let mut hist = [[0u32; MAX_GPUS_PER_SERVER as usize + 1]; LEVELS];
    let mut total = [0u32; LEVELS];
    let mut start = [0u32; LEVELS];
    for i in 0..n {
        let f = free_for(view, topo, i, req.model_mask);
        if f > 0 {
            for l in 0..LEVELS {
                hist[l][f as usize] += 1;
                total[l] += f;
            }
        }
        let ends = topo.group_end[i as usize] | if i + 1 == n { 0b1000 } else { 0 };
        for l in 0..LEVELS {
            if (ends >> l) & 1 == 0 {
                continue;
            }
            if total[l] >= req.gpus {
                let cand = (
                    servers_needed(&hist[l], req.gpus),
                    total[l],
                    start[l],
                    i + 1,
                );
                if best[l].is_none_or(|b| (cand.0, cand.1) < (b.0, b.1)) {
                    best[l] = Some(cand);
                }
            }
            hist[l] = [0; MAX_GPUS_PER_SERVER as usize + 1];
            total[l] = 0;
            start[l] = i + 1;
        }
    }
    match best.iter().flatten().next() {
        Some(&(_, _, lo, hi)) => plan_multi_ranked(req, view, topo, lo, hi, false, out),
        None => false,
    }
}

/// [`plan_topology_multi`] through the index's topology groups (no patched server; the job accepts every
/// model present): the smallest level with a group that has the GPUs, the group [`GroupLevel::choose`] picks
/// there, then the group's servers with the most free GPUs first (ties lowest id), visiting only the servers
/// that give GPUs.
fn plan_topology_multi_indexed<V: LoadView + ?Sized>(
    req: &JobReq,
    view: &V,
    ix: &FreeIndex,
    out: &mut Vec<Grant>,
) -> bool {
    out.clear();
    let Some((lv, g)) = ix
        .levels
        .iter()
        .find_map(|lv| lv.choose(req.gpus).map(|g| (lv, g)))
    else {
        return false;
    };
    let (lo, hi) = (lv.start[g], lv.start[g + 1]);
    // As plan_multi_ranked, most first: servers above `cut` free GPUs give all, servers with exactly `cut`
    // give theirs in id order until the job is complete.
    let hist = &lv.hist[g];
    let mut need = req.gpus;
    let mut cut = 0u32;
    for k in (1..=MAX_GPUS_PER_SERVER).rev() {
        let avail = hist[k as usize] * k;
        if avail >= need {
            cut = k;
            break;
        }
        need -= avail;
    }
    debug_assert!(cut > 0, "the chosen group has the GPUs");
    let mask = req.model_mask;
    let mut at_cut = need;
    let mut left = req.gpus;
    let mut from = lo;
    loop {
        let s = if at_cut > 0 {
            ix.first_whole(mask, cut, MAX_GPUS_PER_SERVER, from)
        } else if cut < MAX_GPUS_PER_SERVER {
            ix.first_whole(mask, cut + 1, MAX_GPUS_PER_SERVER, from)
        } else {
            None
        };
        let Some(s) = s.filter(|&s| s < hi) else {
            break;
        };
        from = s + 1;
        let f = ix.filed(s).free_whole as u32;
        let take = if f > cut {
            f
        } else {
            let t = f.min(at_cut);
            at_cut -= t;
            t
        };
        left -= take_free(view, s, WHOLE_GPU_MILLI, take, out);
        if left == 0 {
            return true;
        }
    }
    unreachable!("topology groups agree with the loads");
}

/// `JobReq::activity_milli` of GPUs held but idle (an inference replica's GPUs in a shared fleet: their
/// power above idle is metered by the serving model).
pub const HELD_IDLE: u16 = u16::MAX;

/// Applies (`sign = +1`) or releases (`-1`) one grant's share on its server, and the job's host resources
/// when `host` is set (single-server jobs: set on the job's first grant only).
pub fn apply_grant(load: &mut ServerLoad, g: &Grant, req: &JobReq, allocate: bool, host: bool) {
    let a = match req.activity_milli {
        0 => load.default_activity_milli,
        HELD_IDLE => 0,
        a => a,
    };
    let w = g.milli as u32 * a as u32;
    if allocate {
        if g.milli > 0 {
            load.active_micro[g.slot as usize] += w;
            load.used_milli[g.slot as usize] += g.milli;
            debug_assert!(load.used_milli[g.slot as usize] <= WHOLE_GPU_MILLI);
        }
        if host {
            load.free_cpu_milli -= req.cpu_milli;
            load.free_memory_mib -= req.memory_mib;
        }
    } else {
        if g.milli > 0 {
            load.active_micro[g.slot as usize] -= w;
            load.used_milli[g.slot as usize] -= g.milli;
        }
        if host {
            load.free_cpu_milli += req.cpu_milli;
            load.free_memory_mib += req.memory_mib;
        }
    }
}

#[cfg(test)]
mod tests {
    fn indexed(loads: &[ServerLoad]) -> impl Iterator<Item = (u32, &ServerLoad)> {
        loads.iter().enumerate().map(|(i, l)| (i as u32, l))
    }
    use super::*;
    use crate::site::HostPower;

    fn server(gpus: u32, cpu: u64, model: usize) -> ServerSpec {
        ServerSpec {
            name: String::new(),
            hall: 0,
            row: 0,
            rack: 0,
            gpu_model: model,
            gpus,
            cpu_milli: cpu,
            memory_mib: 1024,
            host: HostPower::linear(0.0, 0.0, 1.0),
        }
    }

    fn req(gpus: u32, milli: u16, multi: bool) -> JobReq {
        JobReq {
            gpus,
            gpu_milli: milli,
            cpu_milli: 0,
            memory_mib: 0,
            model_mask: ANY_MODEL,
            multi_server: multi,
            activity_milli: 0,
        }
    }

    #[test]
    fn first_fit_takes_first_server_with_room() {
        let mut loads = vec![
            ServerLoad::new(&server(2, 0, 0)),
            ServerLoad::new(&server(8, 0, 0)),
        ];
        let mut out = Vec::new();
        assert!(plan_first_fit(
            &req(4, 1000, false),
            indexed(&loads),
            &mut out
        ));
        assert_eq!(out.len(), 4);
        assert!(out.iter().all(|g| g.server == 1));
        let r = req(4, 1000, false);
        for g in &out {
            apply_grant(&mut loads[1], g, &r, true, false);
        }
        assert_eq!(loads[1].free_whole_gpus(), 4);
        // Shared GPU: a 600-milli job fits on server 0, then a second 600 goes to server 0's second GPU.
        let s = req(1, 600, false);
        assert!(plan_first_fit(&s, indexed(&loads), &mut out));
        assert_eq!(
            out[0],
            Grant {
                server: 0,
                slot: 0,
                milli: 600
            }
        );
        apply_grant(&mut loads[0], &out[0], &s, true, false);
        assert!(plan_first_fit(&s, indexed(&loads), &mut out));
        assert_eq!(
            out[0],
            Grant {
                server: 0,
                slot: 1,
                milli: 600
            }
        );
        // A 400 share packs next to the first 600.
        assert!(plan_first_fit(
            &req(1, 400, false),
            indexed(&loads),
            &mut out
        ));
        assert_eq!(out[0].slot, 0);
    }

    #[test]
    fn multi_server_collects_whole_gpus_and_releases() {
        let mut loads = vec![ServerLoad::new(&server(8, 0, 0)); 3];
        let mut out = Vec::new();
        let r = req(20, 1000, true);
        assert!(plan_first_fit(&r, indexed(&loads), &mut out));
        assert_eq!(out.len(), 20);
        for g in &out {
            apply_grant(&mut loads[g.server as usize], g, &r, true, false);
        }
        assert_eq!(loads.iter().map(|l| l.free_whole_gpus()).sum::<u32>(), 4);
        assert!(!plan_first_fit(
            &req(5, 1000, true),
            indexed(&loads),
            &mut out
        ));
        assert!(out.is_empty());
        for g in out.clone() {
            apply_grant(&mut loads[g.server as usize], &g, &r, false, false);
        }
    }

    #[test]
    fn host_resources_and_model_masks() {
        let mut a = server(8, 4000, 0);
        a.memory_mib = 1000;
        let b = server(8, 64000, 1);
        let loads = [ServerLoad::new(&a), ServerLoad::new(&b)];
        let mut out = Vec::new();
        let mut r = req(1, 1000, false);
        r.cpu_milli = 8000;
        assert!(plan_first_fit(&r, indexed(&loads), &mut out));
        assert_eq!(out[0].server, 1);
        let mut m = req(1, 1000, false);
        m.model_mask = 1; // model 0 only
        assert!(plan_first_fit(&m, indexed(&loads), &mut out));
        assert_eq!(out[0].server, 0);
        let mut cpu_only = req(0, 0, false);
        cpu_only.cpu_milli = 5000;
        assert!(plan_first_fit(&cpu_only, indexed(&loads), &mut out));
        assert_eq!(
            out[0],
            Grant {
                server: 1,
                slot: 0,
                milli: 0
            }
        );
    }

    /// A view over loads (some servers down, one optionally replaced by a constrained copy), with or without
    /// the free-capacity index: the scan is the reference the index must match.
    struct TestView<'a> {
        loads: &'a [ServerLoad],
        down: &'a [bool],
        patch: Option<(u32, &'a ServerLoad)>,
        ix: Option<&'a FreeIndex>,
    }

    impl LoadView for TestView<'_> {
        fn servers(&self) -> usize {
            self.loads.len()
        }
        fn summary(&self, s: u32) -> FreeSummary {
            if self.down[s as usize] {
                FreeSummary::DOWN
            } else {
                FreeSummary::of(self.load(s))
            }
        }
        fn load(&self, s: u32) -> &ServerLoad {
            match self.patch {
                Some((p, l)) if p == s => l,
                _ => &self.loads[s as usize],
            }
        }
        fn index(&self) -> Option<&FreeIndex> {
            self.ix
        }
        fn patched(&self) -> Option<u32> {
            self.patch.map(|p| p.0)
        }
    }

    #[test]
    fn first_set_finds_next_member() {
        let mut set = FirstSet::new(300_000);
        for i in [5u32, 64, 4095, 4096, 262_143, 299_999] {
            set.insert(i);
        }
        assert_eq!(set.len(), 6);
        assert_eq!(set.next(0), Some(5));
        assert_eq!(set.next(6), Some(64));
        assert_eq!(set.next(65), Some(4095));
        assert_eq!(set.next(4097), Some(262_143));
        set.remove(262_143);
        assert_eq!(set.next(4097), Some(299_999));
        assert_eq!(set.next(300_000), None);
        set.remove(299_999);
        assert_eq!(set.next(4097), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Random sites and random sequences of allocations, releases and failures: under every policy, with
        /// and without a constrained (patched) server, placement through the index chooses exactly what the
        /// scan chooses. Sites have one to three GPU models and racks, rows and halls of random sizes (some
        /// with more servers than the topology groups' fit sets cover), so topology-aware multi-server jobs go
        /// through both kinds of group level, and through the scan when their mask leaves a model out. Servers
        /// (some without GPUs) hold unrelated amounts of CPU and memory, and CPU-only jobs of either or both
        /// go through the index's host tree.
        #[test]
        fn index_chooses_as_the_scan(
            n_models in 1usize..=3,
            shape in proptest::collection::vec((0u32..=8, 0usize..3, 0u8..12, 2000u64..8000), 1..60),
            ops in proptest::collection::vec((0u8..10, 0u32..1000, 0u32..1000, 0u32..1000), 1..160),
        ) {
            let mut servers = Vec::new();
            let (mut hall, mut row, mut rack) = (0, 0, 0);
            for &(gpus, model, step, cpu) in &shape {
                match step { 1..=3 => rack += 1, 4 | 5 => { row += 1; rack += 1 } 6 => { hall += 1; row += 1; rack += 1 } _ => {} }
                let mut s = server(gpus, cpu, model % n_models);
                s.memory_mib = 256 + cpu * 37 % 1024;
                s.hall = hall;
                s.row = row;
                s.rack = rack;
                servers.push(s);
            }
            let site = SiteModel { servers, halls: hall + 1, rows: row + 1, racks: rack + 1 };
            let topo = Topology::new(&site);
            let cap = SiteCapacity::new(&site);
            let mut loads: Vec<ServerLoad> = site.servers.iter().map(ServerLoad::new).collect();
            let n = loads.len();
            let mut down = vec![false; n];
            let mut ix = FreeIndex::new(&topo, loads.iter().map(Some), PlacementPolicy::TopologyAware);
            let mut running: Vec<(JobReq, Vec<Grant>)> = Vec::new();
            let policies = [PlacementPolicy::FirstFit, PlacementPolicy::BestFit, PlacementPolicy::TopologyAware];
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for (op, x, y, z) in ops {
                match op {
                    0..=5 => {
                        let gpus = [0u32, 0, 0, 1, 1, 2, 3, 4, 8, 5, 12, 16, 24, 40][x as usize % 14];
                        let milli = if gpus == 1 { [1000u16, 250, 500, 700, 1000][y as usize % 5] } else { 1000 };
                        let mask = [ANY_MODEL, 1, 2, 0b101][z as usize % 4];
                        let mut job = JobSpec::whole_gpus(sim::SimTime::ZERO, sim::SimDuration::ZERO, gpus);
                        job.gpu_milli = milli as u32;
                        let mut r = cap.request(&job, mask);
                        if gpus == 0 {
                            r.cpu_milli = [0u64, 0, 500, 1000, 2500, 4000][y as usize % 6];
                            r.memory_mib = [0u64, 0, 100, 256, 500, 900][z as usize % 6];
                        } else if !r.multi_server {
                            r.cpu_milli = [0u64, 0, 1000, 3000][y as usize % 4];
                            r.memory_mib = [0u64, 0, 256, 700][z as usize % 4];
                        }
                        // A constrained copy of one server up (EASY's reservation): some free GPUs and host taken.
                        let p = (y as usize % n) as u32;
                        let mut copy = loads[p as usize].clone();
                        for k in 0..copy.gpus as usize {
                            if (x >> k) & 1 == 1 {
                                copy.used_milli[k] = WHOLE_GPU_MILLI;
                            }
                        }
                        copy.free_cpu_milli = copy.free_cpu_milli.saturating_sub(z as u64 * 4);
                        let patch = (!down[p as usize] && z % 3 == 0).then_some((p, &copy));
                        for policy in policies {
                            for patch in [None, patch] {
                                let scan = TestView { loads: &loads, down: &down, patch, ix: None };
                                let fast = TestView { loads: &loads, down: &down, patch, ix: Some(&ix) };
                                let fa = plan(policy, &r, &scan, &topo, &mut a);
                                let fb = plan(policy, &r, &fast, &topo, &mut b);
                                proptest::prop_assert_eq!(fa, fb, "{:?} {:?} patch {:?}", policy, r, patch.map(|p| p.0));
                                proptest::prop_assert_eq!(&a, &b, "{:?} {:?} patch {:?}", policy, r, patch.map(|p| p.0));
                            }
                        }
                        if r.multi_server && ix.groups_cover(r.model_mask) {
                            // The indexed topology-aware path itself (plan takes it here), against the scan.
                            let scan = TestView { loads: &loads, down: &down, patch: None, ix: None };
                            let fast = TestView { loads: &loads, down: &down, patch: None, ix: Some(&ix) };
                            let fa = plan_topology_multi(&r, &scan, &topo, &mut a);
                            let fb = plan_topology_multi_indexed(&r, &fast, &ix, &mut b);
                            proptest::prop_assert_eq!(fa, fb, "topology {:?}", r);
                            proptest::prop_assert_eq!(&a, &b, "topology {:?}", r);
                        }
                        let policy = policies[x as usize % 3];
                        let scan = TestView { loads: &loads, down: &down, patch: None, ix: None };
                        if plan(policy, &r, &scan, &topo, &mut a) {
                            let mut host = !r.multi_server;
                            for g in &a {
                                apply_grant(&mut loads[g.server as usize], g, &r, true, host);
                                host = false;
                            }
                            for g in &a {
                                ix.update(g.server, (!down[g.server as usize]).then(|| &loads[g.server as usize]));
                            }
                            running.push((r, a.clone()));
                        }
                    }
                    6..=8 => {
                        if !running.is_empty() {
                            let (r, grants) = running.swap_remove(x as usize % running.len());
                            let mut host = !r.multi_server;
                            for g in &grants {
                                apply_grant(&mut loads[g.server as usize], g, &r, false, host);
                                host = false;
                            }
                            for g in &grants {
                                ix.update(g.server, (!down[g.server as usize]).then(|| &loads[g.server as usize]));
                            }
                        }
                    }
                    _ => {
                        let s = x as usize % n;
                        down[s] = !down[s];
                        ix.update(s as u32, (!down[s]).then(|| &loads[s]));
                    }
                }
            }
        }
    }

    #[test]
    fn capacity_checks() {
        let site = SiteModel {
            servers: vec![server(8, 1000, 0); 4],
            halls: 1,
            rows: 1,
            racks: 1,
        };
        let cap = SiteCapacity::new(&site);
        let j = |g: u32| JobSpec::whole_gpus(sim::SimTime::ZERO, sim::SimDuration::ZERO, g);
        assert!(cap.check_fits(&j(32), ANY_MODEL).is_ok());
        assert!(cap.request(&j(32), ANY_MODEL).multi_server);
        assert!(!cap.request(&j(8), ANY_MODEL).multi_server);
        assert!(
            cap.check_fits(&j(33), ANY_MODEL)
                .unwrap_err()
                .contains("32")
        );
        assert!(cap.check_fits(&j(1), 0b10).is_err());
        let mut big_cpu = j(1);
        big_cpu.cpu_milli = 2000;
        assert!(cap.check_fits(&big_cpu, ANY_MODEL).is_err());
    }
}
