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
            plan_best_fit_single(req, view, topo, out)
        }
        PlacementPolicy::BestFit => plan_multi_ranked(req, view, topo, 0, n, true, out),
        PlacementPolicy::TopologyAware => plan_topology_multi(req, view, topo, out),
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
