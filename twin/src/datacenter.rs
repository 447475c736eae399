//! The datacenter simulation: a site's servers and GPUs as bevy_ecs entities, jobs arriving from a trace or
//! generator, a queue (FIFO, shortest-job-first or EASY backfilling) with a placement policy (first fit,
//! best fit, topology-aware), and exact IT-energy accounting.
//!
//! Events: `Arrival` (the next job of the source is submitted) and `Finish(job)`. After each event the
//! scheduler starts the jobs its policy allows (docs/models.md §Scheduling policies). Power changes only at
//! events, so energy is integrated exactly (see [`models::power`]). Periodic samples run a bevy `Schedule` that
//! aggregates server power and GPU allocation with a `Query` — an independent check of the incrementally kept
//! totals.
//!
//! Scheduling cost: resources only shrink between two finishes, so after a full pass over the queue no queued
//! job can start until a job finishes ("clean" state). An arrival in the clean state considers only the new
//! job: under FIFO it starts only if it is the head, under SJF if it fits, under EASY if it is the head or
//! may be backfilled against the current reservation. This is exact, not a heuristic. Site-wide counters
//! (free whole GPUs per model, servers per model by free GPUs) reject jobs that cannot fit without a scan.

use std::collections::VecDeque;
use std::time::Instant;

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::Schedule;
use sim::{Engine, RngStreams, Sampling, Scheduler, SimDuration, SimTime};

use crate::inference::serve;
use models::placement::{
    self, FreeSummary, Grant, JobReq, LoadView, MAX_GPU_MODELS, MAX_GPUS_PER_SERVER, ServerLoad,
    SiteCapacity, Topology, WHOLE_GPU_MILLI,
};
use models::power::{EnergyMeter, ServerPower, ServerPowerModel};
use models::workload::JobSource;
use models::workload::source::SyntheticSource;
use output::{
    EnergySummary, GpuHoursSummary, GpuSummary, JobsSummary, PowerSummary, RunOutput, Sample,
    SharedFleetSummary, SiteSummary, Stats, Summary, TrainingJobSummary, TrainingSummary,
};
use scenario::{LoadedScenario, PlacementPolicy, QueuePolicy, SchedulerConfig, Workload};

mod capping_run;
mod facility_run;
mod network;
mod preempt;
mod sharing;
pub use sharing::SharedEvent;

/// Events of the datacenter model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The job at the head of the job source is submitted.
    Arrival,
    /// A running job finishes, if it is still in run `.1` (a preempted job's old `Finish` is stale).
    Finish(Entity, u32),
    /// A decision of the power-capping controller (scenarios with `facility.capping`).
    Capping,
    /// The facility may change state (inlet crossing a throttle threshold, weather step, cooling failure),
    /// if it is still wake-up `.0` (a later wake-up replaces it).
    Facility(u32),
}

/// A server taken down by a breaker trip (for the rest of the run): it draws nothing and holds all its
/// capacity so that nothing is placed on it.
#[derive(Component, Debug, Clone, Copy)]
pub(crate) struct Down;

/// A hall (stable id = index in site order).
#[derive(Component, Debug, Clone, Copy)]
pub struct Hall {
    pub id: u32,
}

/// A row of racks.
#[derive(Component, Debug, Clone, Copy)]
pub struct Row {
    pub id: u32,
    pub hall: u32,
}

/// A rack.
#[derive(Component, Debug, Clone, Copy)]
pub struct Rack {
    pub id: u32,
    pub row: u32,
    pub hall: u32,
}

/// A server (stable id = index in site order). Its allocation is a [`ServerLoad`], its draw a [`ServerPower`].
#[derive(Component, Debug, Clone, Copy)]
pub struct Server {
    pub id: u32,
    pub rack: u32,
}

/// One GPU of a server.
#[derive(Component, Debug, Clone, Copy)]
pub struct Gpu {
    pub id: u32,
    pub server: u32,
    pub slot: u8,
    pub model: u8,
}

/// A submitted job.
#[derive(Component, Debug, Clone)]
pub struct Job {
    /// Stable id: submission order (0-based).
    pub id: u64,
    pub submit: SimTime,
    pub duration: SimDuration,
    pub req: JobReq,
    /// Start of the current run (None while queued).
    pub start: Option<SimTime>,
    /// The GPU shares the job holds while running.
    pub grants: Vec<Grant>,
    /// Run counter: +1 at each preemption (stale `Finish` events carry an older value).
    pub run: u32,
    /// First start (kept across preemptions).
    pub first_start: Option<SimTime>,
    /// Times preempted, and the work lost (run time since the last checkpoint), summed.
    pub preemptions: u32,
    pub lost: SimDuration,
    /// Training steps done since the last checkpoint and lost at preemptions, summed.
    pub lost_steps: u64,
    /// Scheduling priority (`Priority` queue; higher first).
    pub priority: u8,
    /// Progress of the current run: work left (ns of run time at rate 1, i.e. at the job's `duration`
    /// pace), the wall-time-per-work multiplier now (network fabric: contended ÷ predicted step time), and
    /// since when it holds.
    pub work_left_ns: f64,
    pub rate: f64,
    pub rate_since: SimTime,
    /// The factors of `rate`: network contention and power capping (`rate = fabric_rate · cap_rate`).
    pub fabric_rate: f64,
    pub cap_rate: f64,
}

const SLOTS: usize = MAX_GPUS_PER_SERVER as usize;

/// Site entities in site order (server id → entity) and the placement state kept beside the loads.
#[derive(Resource)]
struct SiteIndex {
    servers: Vec<Entity>,
    /// Per-server free-capacity summaries (server id order), kept in step with each [`ServerLoad`].
    free: Vec<FreeSummary>,
    topo: Topology,
    /// The scenario's placement policy.
    placement: PlacementPolicy,
    /// Catalog models present in the site (bit per index).
    models: u64,
    /// Per GPU model: servers by their free whole GPUs (index 0..=16).
    by_free: Vec<[u32; SLOTS + 1]>,
    /// Per GPU model: free whole GPUs.
    free_whole: Vec<u64>,
    /// Per GPU model: unallocated thousandths of GPUs (shares count).
    free_milli: Vec<u64>,
    /// EASY only: per server and GPU slot, the latest finish time of the jobs holding the slot (≤ now when the
    /// slot is free; when it is busy, the time it becomes wholly free, because jobs end at start + duration).
    slot_free_at: Vec<[SimTime; SLOTS]>,
    /// EASY only: per server, the latest finish time of the jobs holding host CPU or memory there.
    host_free_at: Vec<SimTime>,
}

impl SiteIndex {
    /// A necessary condition for `req` to fit now, from the site-wide counters (no scan).
    fn may_fit(&self, req: &JobReq) -> bool {
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
    fn bounds(&self, patch: Option<(usize, FreeSummary, FreeSummary, u64)>) -> Bounds {
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

    /// Unallocated GPU capacity (in GPUs; shares count) of the models in `mask`.
    fn free_gpus(&self, mask: u64) -> f64 {
        let mut bits = mask & self.models;
        let mut milli = 0u64;
        while bits != 0 {
            milli += self.free_milli[bits.trailing_zeros() as usize];
            bits &= bits - 1;
        }
        milli as f64 / WHOLE_GPU_MILLI as f64
    }
}

/// Free capacity over all models: most free whole GPUs on one server, free whole GPUs, free thousandths.
#[derive(Debug, Clone, Copy, Default)]
struct Bounds {
    max_single: u32,
    total_whole: u64,
    total_milli: u64,
}

impl Bounds {
    /// A necessary condition for `req` to fit (weaker than [`SiteIndex::may_fit`], but two comparisons).
    fn may_fit(&self, req: &JobReq) -> bool {
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

/// EASY: what jobs that would run past `shadow` must also pass.
#[derive(Debug, Clone, Copy)]
struct Late {
    now: SimTime,
    shadow: SimTime,
    /// Single-server head: the site's bounds without the reserved resources.
    bounds: Option<Bounds>,
    /// Multi-server head: (its model mask, extra GPUs, the site's models); a whole-GPU job whose every
    /// eligible GPU is one the head counts on may take at most `extra` GPUs.
    site: Option<(u64, u32, u64)>,
}

impl Late {
    fn allows(&self, q: &Queued) -> bool {
        if self.now.saturating_add(q.duration) <= self.shadow {
            return true;
        }
        let r = &q.req;
        self.bounds.is_none_or(|b| b.may_fit(r))
            && self.site.is_none_or(|(mask, extra, models)| {
                !(r.gpus > 0
                    && r.gpu_milli >= WHOLE_GPU_MILLI
                    && r.model_mask & models & !mask == 0
                    && r.gpus > extra)
            })
    }
}

/// The first queue position at or after `from` whose job passes the site-counter checks (`bounds`: the
/// site's, recomputed after every start).
fn next_candidate(world: &World, from: usize, bounds: Bounds, late: Option<Late>) -> Option<usize> {
    let queue = &world.resource::<JobQueue>().0;
    if reference_mode() {
        return (from < queue.len()).then_some(from);
    }
    let index = world.resource::<SiteIndex>();
    queue
        .range(from..)
        .position(|q| {
            bounds.may_fit(&q.req) && late.is_none_or(|l| l.allows(q)) && index.may_fit(&q.req)
        })
        .map(|p| from + p)
}

/// The loads of the World as a [`LoadView`], optionally with one server replaced by a constrained copy (EASY
/// backfilling around a single-server reservation).
struct WorldLoads<'w> {
    world: &'w World,
    index: &'w SiteIndex,
    patch: Option<(u32, &'w ServerLoad, FreeSummary)>,
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

#[derive(Resource)]
struct Source {
    jobs: JobSource,
    capacity: SiteCapacity,
    next_id: u64,
}

/// A waiting job, with what the queue needs to order and place it.
#[derive(Debug, Clone, Copy)]
struct Queued {
    job: Entity,
    id: u64,
    duration: SimDuration,
    req: JobReq,
    priority: u8,
}

/// Waiting jobs in queue order: submission order (FIFO, EASY) or (duration, submission) order (SJF).
#[derive(Resource, Default)]
struct JobQueue(VecDeque<Queued>);

/// Incrementally kept totals and exact integrals.
#[derive(Resource)]
struct Meters {
    it: EnergyMeter,
    gpu: EnergyMeter,
    /// Σ allocated thousandths of GPUs now.
    alloc_milli: u64,
    /// ∫ alloc_milli dt, in milli·ns (exact integer).
    alloc_milli_ns: u128,
    last: SimTime,
    /// Facility power, water, carbon and cost as IT power changes (scenarios with a `facility`).
    facility: Option<crate::facility::meter::FacilityMeter>,
    /// Shared fleet: IT power of inference replicas above the idle power of their GPUs (metered by the serving
    /// model), W, and the whole IT power (`it` + that) as a meter.
    extra_it_w: f64,
    combined: Option<EnergyMeter>,
}

impl Meters {
    fn advance(&mut self, now: SimTime) {
        self.it.advance(now);
        self.gpu.advance(now);
        if let Some(c) = &mut self.combined {
            c.advance(now);
        }
        if let Some(f) = &mut self.facility {
            f.advance(now);
        }
        self.alloc_milli_ns += self.alloc_milli as u128 * (now - self.last).as_nanos() as u128;
        self.last = now;
    }
}

#[derive(Resource, Default)]
struct Counters {
    submitted: u64,
    completed: u64,
    running: u64,
    /// Preemptions (a job preempted twice counts twice) and the work they lost, GPU·ns (thousandths of a GPU
    /// × ns ÷ 1000).
    preemptions: u64,
    lost_milli_ns: u128,
    waits_s: Vec<f64>,
    turnarounds_s: Vec<f64>,
    /// Per-job records, by id ([`run_with_log`] only).
    log: Option<Vec<JobRecord>>,
}

/// Trace durations rescaled by GPU speed: `T'/T` per catalog model (docs/models.md §Traces).
#[derive(Resource)]
struct DurationScale(Vec<f64>);

impl DurationScale {
    /// `d` scaled by the largest factor among the models in `mask`.
    fn scale(&self, d: SimDuration, mask: u64) -> SimDuration {
        let f = (0..self.0.len())
            .filter(|&m| (mask >> m) & 1 == 1)
            .map(|m| self.0[m])
            .fold(0.0f64, f64::max);
        SimDuration::from_nanos(((d.as_nanos() as f64 * f).round() as u64).max(1))
    }
}

/// Start and finish of each job by id (training workloads only).
#[derive(Resource, Default)]
struct JobTimes(Vec<JobTime>);

/// What happened to one training job.
#[derive(Debug, Clone, Copy, Default)]
struct JobTime {
    start: Option<SimTime>,
    finish: Option<SimTime>,
    /// Completed runs (ended by a finish or a preemption), summed, ns.
    ran_ns: u64,
    preemptions: u32,
    lost_ns: u64,
    lost_steps: u64,
}

/// What happened to one job, from [`run_with_log`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// Submission order (0-based).
    pub id: u64,
    pub submit: SimTime,
    pub start: Option<SimTime>,
    pub finish: Option<SimTime>,
    /// Site indices of the servers it ran on, ascending.
    pub servers: Vec<u32>,
}

/// The EASY reservation of the blocked queue head.
#[derive(Debug, Clone, Copy)]
struct Reservation {
    head: Entity,
    /// Shadow time: when the head is guaranteed its resources.
    shadow: SimTime,
    /// The shadow time first computed for this head (a head starting later counts as late).
    first_shadow: SimTime,
    kind: Reserved,
}

#[derive(Debug, Clone, Copy)]
enum Reserved {
    /// A multi-server head: at the shadow time `extra` whole GPUs of its models are free beyond its need.
    Site { mask: u64, extra: u32 },
    /// A single-server head: `server`'s slots in `slots` (bit mask) and `cpu_milli`/`memory_mib` of its host
    /// are kept for it; jobs running past the shadow time must leave them alone.
    Server {
        server: u32,
        slots: u16,
        cpu_milli: u64,
        memory_mib: u64,
    },
}

/// Scheduler state and scratch space (reused: no allocation per event).
#[derive(Resource)]
struct Sched {
    cfg: SchedulerConfig,
    grants: Vec<Grant>,
    /// No queued job can start until a job finishes (see the module docs).
    clean: bool,
    reservation: Option<Reservation>,
    /// Scratch for the multi-server shadow time.
    times: Vec<SimTime>,
    backfilled: u64,
    late_heads: u64,
    /// Shared fleet under `MakeRoom::Wait`: an inference replica waits for GPUs, so no job may start.
    hold: bool,
}

/// What the telemetry schedule computes from scratch at each sample.
#[derive(Resource, Debug, Default, Clone, Copy, PartialEq)]
pub struct Telemetry {
    pub it_power_w: f64,
    pub gpu_power_w: f64,
    pub busy_gpus: f64,
}

fn telemetry_system(servers: Query<(&ServerPower, &ServerLoad)>, mut t: ResMut<Telemetry>) {
    let mut acc = Telemetry::default();
    for (p, load) in &servers {
        acc.it_power_w += p.input_w;
        acc.gpu_power_w += p.gpu_w;
        acc.busy_gpus += load.allocated_milli() as f64 / WHOLE_GPU_MILLI as f64;
    }
    *t = acc;
}

/// Builds the World for a loaded scenario: entities for halls, rows, racks, servers and GPUs.
fn build_world(loaded: &LoadedScenario) -> World {
    let mut world = World::new();
    let site = &loaded.site;
    for h in 0..site.halls {
        world.spawn(Hall { id: h });
    }
    let mut last_row = u32::MAX;
    let mut last_rack = u32::MAX;
    let mut servers = Vec::with_capacity(site.servers.len());
    let mut free = Vec::with_capacity(site.servers.len());
    let mut gpu_id = 0u32;
    let mut it_w = 0.0;
    let mut gpu_w = 0.0;
    for (i, s) in site.servers.iter().enumerate() {
        if s.row != last_row {
            world.spawn(Row {
                id: s.row,
                hall: s.hall,
            });
            last_row = s.row;
        }
        if s.rack != last_rack {
            world.spawn(Rack {
                id: s.rack,
                row: s.row,
                hall: s.hall,
            });
            last_rack = s.rack;
        }
        let gpu = &loaded.catalog.gpus[s.gpu_model];
        let model = ServerPowerModel::new(gpu, &s.host, s.cpu_milli);
        let mut load = ServerLoad::new(s);
        load.default_activity_milli = (gpu.activity.compute * 1000.0).round() as u16;
        free.push(FreeSummary::of(&load));
        let power = model.power_w(&load);
        it_w += power.input_w;
        gpu_w += power.gpu_w;
        let e = world
            .spawn((
                Server {
                    id: i as u32,
                    rack: s.rack,
                },
                model,
                load,
                power,
            ))
            .id();
        servers.push(e);
        for slot in 0..s.gpus {
            world.spawn(Gpu {
                id: gpu_id,
                server: i as u32,
                slot: slot as u8,
                model: s.gpu_model as u8,
            });
            gpu_id += 1;
        }
    }
    let topo = Topology::new(site);
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
    let easy = loaded.scenario.scheduler.queue == QueuePolicy::EasyBackfill;
    let n_free_at = if easy { site.servers.len() } else { 0 };
    world.insert_resource(SiteIndex {
        servers,
        free,
        topo,
        placement: loaded.scenario.scheduler.placement,
        models,
        by_free,
        free_whole,
        free_milli,
        slot_free_at: vec![[SimTime::ZERO; SLOTS]; n_free_at],
        host_free_at: vec![SimTime::ZERO; n_free_at],
    });
    world.insert_resource(Meters {
        it: EnergyMeter::new(SimTime::ZERO, it_w),
        gpu: EnergyMeter::new(SimTime::ZERO, gpu_w),
        alloc_milli: 0,
        alloc_milli_ns: 0,
        last: SimTime::ZERO,
        facility: loaded
            .facility
            .as_ref()
            .map(|f| crate::facility::meter_for(f, it_w)),
        extra_it_w: 0.0,
        combined: loaded
            .scenario
            .serving
            .is_some()
            .then(|| EnergyMeter::new(SimTime::ZERO, it_w)),
    });
    world.insert_resource(JobQueue::default());
    world.insert_resource(Counters::default());
    world.insert_resource(Sched {
        cfg: loaded.scenario.scheduler,
        grants: Vec::new(),
        clean: true,
        reservation: None,
        times: Vec::new(),
        backfilled: 0,
        late_heads: 0,
        hold: false,
    });
    world.insert_resource(Telemetry::default());
    world
}

#[cfg(test)]
thread_local! {
    /// Unit tests: schedule without the shortcuts (full passes at every arrival, no site-counter rejection)
    /// to check that the shortcuts change nothing.
    static REFERENCE_MODE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
fn reference_mode() -> bool {
    REFERENCE_MODE.with(|c| c.get())
}

#[cfg(not(test))]
#[inline(always)]
fn reference_mode() -> bool {
    false
}

/// Applies or releases a job's grants, updating server loads, server power, the placement counters and the
/// meters. `finish` is the job's finish time (recorded per slot for EASY reservations).
fn apply_job(world: &mut World, grants: &[Grant], req: &JobReq, allocate: bool, finish: SimTime) {
    let mut host_pending = !req.multi_server;
    let mut d_it = 0.0;
    let mut d_gpu = 0.0;
    let mut d_milli: i64 = 0;
    let mut i = 0;
    while i < grants.len() {
        let server = grants[i].server;
        let first = i;
        let host_here = host_pending;
        let e = world.resource::<SiteIndex>().servers[server as usize];
        let mut em = world.entity_mut(e);
        let mut load = em.get_mut::<ServerLoad>().expect("server entity");
        let mut server_milli = 0i64;
        while i < grants.len() && grants[i].server == server {
            placement::apply_grant(&mut load, &grants[i], req, allocate, host_pending);
            host_pending = false;
            server_milli += grants[i].milli as i64;
            i += 1;
        }
        d_milli += server_milli;
        let load = load.clone();
        let summary = FreeSummary::of(&load);
        let model = em.get::<ServerPowerModel>().expect("server entity");
        let new = match em.get::<capping_run::GpuCaps>() {
            Some(c) => model.power_capped_w(&load, &c.0),
            None => model.power_w(&load),
        };
        let mut p = em.get_mut::<ServerPower>().expect("server entity");
        d_it += new.input_w - p.input_w;
        d_gpu += new.gpu_w - p.gpu_w;
        *p = new;
        let mut index = world.resource_mut::<SiteIndex>();
        let old = index.free[server as usize];
        index.free[server as usize] = summary;
        if load.gpus > 0 {
            let m = load.model as usize;
            index.by_free[m][old.free_whole as usize] -= 1;
            index.by_free[m][summary.free_whole as usize] += 1;
            index.free_whole[m] =
                index.free_whole[m] + summary.free_whole as u64 - old.free_whole as u64;
            if allocate {
                index.free_milli[m] -= server_milli as u64;
            } else {
                index.free_milli[m] += server_milli as u64;
            }
        }
        if allocate && !index.slot_free_at.is_empty() {
            for g in &grants[first..i] {
                if g.milli > 0 {
                    let t = &mut index.slot_free_at[server as usize][g.slot as usize];
                    *t = (*t).max(finish);
                }
            }
            if host_here && (req.cpu_milli > 0 || req.memory_mib > 0) {
                let t = &mut index.host_free_at[server as usize];
                *t = (*t).max(finish);
            }
        }
    }
    if let Some(mut c) = world.get_resource_mut::<capping_run::CappingRun>() {
        c.dirty = true;
        c.stale = true;
    }
    let mut m = world.resource_mut::<Meters>();
    m.it.add(d_it);
    m.gpu.add(d_gpu);
    if let Some(c) = &mut m.combined {
        c.add(d_it);
    }
    let (last, it_now) = (m.last, m.it.power_w() + m.extra_it_w);
    if let Some(f) = &mut m.facility {
        f.set_it_power(last, it_now);
    }
    if allocate {
        m.alloc_milli += d_milli as u64;
    } else {
        m.alloc_milli -= d_milli as u64;
    }
}

/// Plans `req` on the current loads (with an optional constrained server); false if it does not fit now.
fn try_plan(
    world: &World,
    req: &JobReq,
    patch: Option<(u32, &ServerLoad, FreeSummary)>,
    grants: &mut Vec<Grant>,
) -> bool {
    let index = world.resource::<SiteIndex>();
    if !reference_mode() && !index.may_fit(req) {
        grants.clear();
        return false;
    }
    let policy = index.placement;
    let view = WorldLoads {
        world,
        index,
        patch,
    };
    placement::plan(policy, req, &view, &index.topo, grants)
}

/// Starts a queued job (already removed from the queue) on `grants`.
fn start_job<E: From<Event>>(
    world: &mut World,
    sched: &mut Scheduler<E>,
    q: Queued,
    grants: &[Grant],
) {
    let now = sched.now();
    let mut q = q;
    if let Some(ds) = world.get_resource::<DurationScale>() {
        let job = world.get::<Job>(q.job).expect("queued job");
        if job.first_start.is_none() {
            // The recorded duration, scaled to the slowest model the job got.
            let topo = &world.resource::<SiteIndex>().topo;
            let mask = grants
                .iter()
                .fold(0u64, |m, g| m | 1 << topo.model[g.server as usize]);
            q.duration = ds.scale(job.duration, mask);
        }
    }
    let finish = now.saturating_add(q.duration);
    apply_job(world, grants, &q.req, true, finish);
    let mut job = world.get_mut::<Job>(q.job).expect("queued job");
    job.duration = q.duration;
    job.work_left_ns = q.duration.as_nanos() as f64;
    job.rate = 1.0;
    job.rate_since = now;
    job.fabric_rate = 1.0;
    job.cap_rate = 1.0;
    if let Some(mut f) = world.get_resource_mut::<network::FabricRun>() {
        f.dirty = true;
    }
    let mut job = world.get_mut::<Job>(q.job).expect("queued job");
    job.start = Some(now);
    let first = job.first_start.is_none();
    if first {
        job.first_start = Some(now);
    }
    let run = job.run;
    job.grants.clear();
    job.grants.extend_from_slice(grants);
    let submit = job.submit;
    if first && let Some(mut times) = world.get_resource_mut::<JobTimes>() {
        times.0[q.id as usize].start = Some(now);
    }
    let mut c = world.resource_mut::<Counters>();
    if let Some(log) = c.log.as_mut() {
        let r = &mut log[q.id as usize];
        r.start = r.start.or(Some(now));
        for g in grants {
            if r.servers.last() != Some(&g.server) {
                r.servers.push(g.server);
            }
        }
        r.servers.sort_unstable();
        r.servers.dedup();
    }
    c.running += 1;
    if first {
        c.waits_s.push((now - submit).as_secs_f64());
    }
    sched.at(finish, Event::Finish(q.job, run).into());
    capping_run::on_start(world, sched, q.job);
}

/// Running job `e` progresses from now on at `rate` wall seconds per second of its predicted run time: the
/// work done so far at the old rate is booked and its `Finish` is rescheduled (the old one goes stale).
///
/// `fabric` and `cap` replace the network and power-capping factors of the rate (None: keep).
pub(crate) fn set_job_rates<E: From<Event>>(
    world: &mut World,
    sched: &mut Scheduler<E>,
    e: Entity,
    fabric: Option<f64>,
    cap: Option<f64>,
) {
    let now = sched.now();
    let mut job = world.get_mut::<Job>(e).expect("running job");
    if job.start.is_none() {
        return;
    }
    if let Some(f) = fabric {
        job.fabric_rate = f;
    }
    if let Some(c) = cap {
        job.cap_rate = c;
    }
    let rate = job.fabric_rate * job.cap_rate;
    if job.rate == rate {
        return;
    }
    let done = (now - job.rate_since).as_nanos() as f64 / job.rate;
    job.work_left_ns = (job.work_left_ns - done).max(0.0);
    job.rate = rate;
    job.rate_since = now;
    job.run += 1;
    let run = job.run;
    let left = SimDuration::from_nanos((job.work_left_ns * rate).ceil() as u64);
    sched.at(now.saturating_add(left), Event::Finish(e, run).into());
}

/// Starts jobs from the head of the queue while they fit.
fn start_heads<E: From<Event>>(
    world: &mut World,
    sched: &mut Scheduler<E>,
    grants: &mut Vec<Grant>,
    easy: bool,
) {
    while let Some(&head) = world.resource::<JobQueue>().0.front() {
        if !try_plan(world, &head.req, None, grants) {
            break;
        }
        world.resource_mut::<JobQueue>().0.pop_front();
        if easy {
            let now = sched.now();
            let mut st = world.resource_mut::<Sched>();
            if let Some(r) = st.reservation.filter(|r| r.head == head.job) {
                if now > r.first_shadow {
                    st.late_heads += 1;
                }
                st.reservation = None;
            }
        }
        start_job(world, sched, head, grants);
    }
}

/// The EASY reservation for `head` (which does not fit now) at time `now`.
fn reserve(world: &mut World, head: &Queued, now: SimTime) -> (SimTime, Reserved) {
    let r = head.req;
    let mut times = std::mem::take(&mut world.resource_mut::<Sched>().times);
    let index = world.resource::<SiteIndex>();
    let topo = &index.topo;
    let out = if r.multi_server {
        // The g-th earliest time at which an eligible GPU is wholly free.
        times.clear();
        for (s, fa) in index.slot_free_at.iter().enumerate() {
            if topo.gpus[s] > 0 && (r.model_mask >> topo.model[s]) & 1 == 1 {
                times.extend(fa[..topo.gpus[s] as usize].iter().map(|&t| t.max(now)));
            }
        }
        let g = r.gpus as usize;
        let shadow = *times.select_nth_unstable(g - 1).1;
        let free_then = times.iter().filter(|&&t| t <= shadow).count();
        (
            shadow,
            Reserved::Site {
                mask: r.model_mask,
                extra: (free_then - g) as u32,
            },
        )
    } else {
        // Per server: when its GPUs (the g-th earliest wholly free slot; a share that fits now; or the
        // earliest wholly free slot for a share) and its host resources suffice. The host bound is
        // conservative: when every job holding host resources there has finished.
        let whole = r.gpu_milli >= WHOLE_GPU_MILLI;
        let mut best: Option<(SimTime, usize)> = None;
        for s in 0..index.servers.len() {
            if r.gpus > 0
                && (!(topo.gpus[s] > 0 && (r.model_mask >> topo.model[s]) & 1 == 1)
                    || (topo.gpus[s] as u32) < r.gpus)
            {
                continue;
            }
            if topo.cpu_milli[s] < r.cpu_milli || topo.memory_mib[s] < r.memory_mib {
                continue;
            }
            let n = topo.gpus[s] as usize;
            let fa = &index.slot_free_at[s];
            let summary = index.free[s];
            let t_gpu = if r.gpus == 0 {
                now
            } else if whole {
                if summary.free_whole as u32 >= r.gpus {
                    now
                } else {
                    // Cheap pruning: fewer than g GPUs free before the best time so far means this server
                    // cannot be earlier (ties keep the lower id).
                    if let Some((b, _)) = best {
                        let early = fa[..n].iter().filter(|&&t| t.max(now) < b).count();
                        if early < r.gpus as usize {
                            continue;
                        }
                    }
                    let mut t = [SimTime::ZERO; SLOTS];
                    for (tk, &f) in t.iter_mut().zip(&fa[..n]) {
                        *tk = f.max(now);
                    }
                    t[..n].sort_unstable();
                    t[r.gpus as usize - 1]
                }
            } else if summary.max_free_milli >= r.gpu_milli {
                now
            } else {
                fa[..n].iter().map(|&t| t.max(now)).min().unwrap_or(now)
            };
            if best.is_some_and(|b| t_gpu >= b.0) {
                continue;
            }
            let t_host = if r.cpu_milli == 0 && r.memory_mib == 0 {
                now
            } else {
                let load = world
                    .get::<ServerLoad>(index.servers[s])
                    .expect("server entity");
                if load.free_cpu_milli >= r.cpu_milli && load.free_memory_mib >= r.memory_mib {
                    now
                } else {
                    index.host_free_at[s].max(now)
                }
            };
            let t = t_gpu.max(t_host);
            if best.is_none_or(|b| t < b.0) {
                best = Some((t, s));
                if t == now {
                    break;
                }
            }
        }
        let (shadow, s) = best.expect("validated: the job fits the empty site");
        let load = world
            .get::<ServerLoad>(index.servers[s])
            .expect("server entity");
        let n = topo.gpus[s] as usize;
        let fa = &index.slot_free_at[s];
        let mut slots = 0u16;
        if r.gpus > 0 && whole {
            // Keep slots that are busy now but free by the shadow time first (no backfill could use them
            // anyway), then as few free slots as needed.
            let mut need = r.gpus;
            for pass in 0..2 {
                let slots_now = load.used_milli[..n].iter().zip(&fa[..n]);
                for (k, (&used, &free_at)) in slots_now.enumerate() {
                    let busy = used > 0;
                    let pick = if pass == 0 {
                        busy && free_at <= shadow
                    } else {
                        !busy
                    };
                    if need > 0 && pick && slots & (1 << k) == 0 {
                        slots |= 1 << k;
                        need -= 1;
                    }
                }
            }
        } else if r.gpus > 0 {
            let k = (0..n)
                .find(|&k| WHOLE_GPU_MILLI - load.used_milli[k] >= r.gpu_milli)
                .or_else(|| (0..n).min_by_key(|&k| (fa[k].max(now), k)))
                .unwrap_or(0);
            slots = 1 << k;
        }
        (
            shadow,
            Reserved::Server {
                server: s as u32,
                slots,
                cpu_milli: r.cpu_milli,
                memory_mib: r.memory_mib,
            },
        )
    };
    world.resource_mut::<Sched>().times = times;
    out
}

/// Makes sure the (blocked) queue head has a current reservation.
fn ensure_reservation(world: &mut World, now: SimTime) {
    let head = *world
        .resource::<JobQueue>()
        .0
        .front()
        .expect("non-empty queue");
    let current = world.resource::<Sched>().reservation;
    if current.is_some_and(|r| r.head == head.job && r.shadow >= now) {
        return;
    }
    let (shadow, kind) = reserve(world, &head, now);
    let first_shadow = match current {
        Some(r) if r.head == head.job => r.first_shadow,
        _ => shadow,
    };
    world.resource_mut::<Sched>().reservation = Some(Reservation {
        head: head.job,
        shadow,
        first_shadow,
        kind,
    });
}

/// The constrained copy of a single-server reservation's server: its reserved GPUs taken, its host
/// resources reduced by the head's.
fn reserved_copy(world: &World, kind: Reserved) -> Option<(u32, ServerLoad)> {
    let Reserved::Server {
        server,
        slots,
        cpu_milli,
        memory_mib,
    } = kind
    else {
        return None;
    };
    let e = world.resource::<SiteIndex>().servers[server as usize];
    let mut copy = world.get::<ServerLoad>(e).expect("server entity").clone();
    for k in 0..SLOTS {
        if slots & (1 << k) != 0 {
            copy.used_milli[k] = WHOLE_GPU_MILLI;
        }
    }
    copy.free_cpu_milli = copy.free_cpu_milli.saturating_sub(cpu_milli);
    copy.free_memory_mib = copy.free_memory_mib.saturating_sub(memory_mib);
    Some((server, copy))
}

/// The [`Late`] filter of the current reservation.
fn late_filter(world: &World, now: SimTime) -> Option<Late> {
    let res = world.resource::<Sched>().reservation?;
    let index = world.resource::<SiteIndex>();
    if let Reserved::Site { mask, extra } = res.kind {
        return Some(Late {
            now,
            shadow: res.shadow,
            bounds: None,
            site: Some((mask, extra, index.models)),
        });
    }
    let (server, copy) = reserved_copy(world, res.kind)?;
    let real = world
        .get::<ServerLoad>(index.servers[server as usize])
        .expect("server entity");
    let free = |l: &ServerLoad| -> u64 {
        l.used_milli[..l.gpus as usize]
            .iter()
            .map(|&u| (WHOLE_GPU_MILLI - u) as u64)
            .sum()
    };
    let patch = (
        copy.model as usize,
        index.free[server as usize],
        FreeSummary::of(&copy),
        free(real) - free(&copy),
    );
    Some(Late {
        now,
        shadow: res.shadow,
        bounds: Some(index.bounds((copy.gpus > 0).then_some(patch))),
        site: None,
    })
}

/// Plans `q` as an EASY backfill candidate against the current reservation; true if it may start now.
fn try_backfill(world: &mut World, q: &Queued, now: SimTime, grants: &mut Vec<Grant>) -> bool {
    let res = world
        .resource::<Sched>()
        .reservation
        .expect("a blocked head has a reservation");
    if now.saturating_add(q.duration) <= res.shadow {
        return try_plan(world, &q.req, None, grants);
    }
    match res.kind {
        Reserved::Site { mask, extra } => {
            let models = world.resource::<SiteIndex>().models;
            let whole = q.req.gpus > 0 && q.req.gpu_milli >= WHOLE_GPU_MILLI;
            if whole && q.req.model_mask & models & !mask == 0 && q.req.gpus > extra {
                // Every GPU it could take is a free GPU the head counts on.
                grants.clear();
                return false;
            }
            if !try_plan(world, &q.req, None, grants) {
                return false;
            }
            let index = world.resource::<SiteIndex>();
            let taken = grants
                .iter()
                .filter(|g| {
                    g.milli > 0
                        && (mask >> index.topo.model[g.server as usize]) & 1 == 1
                        && index.slot_free_at[g.server as usize][g.slot as usize] <= res.shadow
                })
                .count() as u32;
            if taken > extra {
                grants.clear();
                return false;
            }
            if let Some(r) = world.resource_mut::<Sched>().reservation.as_mut() {
                r.kind = Reserved::Site {
                    mask,
                    extra: extra - taken,
                };
            }
            true
        }
        Reserved::Server { .. } => {
            let (server, copy) = reserved_copy(world, res.kind).expect("a server reservation");
            let summary = FreeSummary::of(&copy);
            try_plan(world, &q.req, Some((server, &copy, summary)), grants)
        }
    }
}

/// A full scheduling pass: starts every job the queue policy allows now.
pub(crate) fn schedule_pass<E: From<Event>>(world: &mut World, sched: &mut Scheduler<E>) {
    if world.resource::<Sched>().hold {
        world.resource_mut::<Sched>().clean = false;
        return;
    }
    let now = sched.now();
    let (mut grants, queue) = {
        let mut st = world.resource_mut::<Sched>();
        (std::mem::take(&mut st.grants), st.cfg.queue)
    };
    match queue {
        QueuePolicy::Fifo => start_heads(world, sched, &mut grants, false),
        QueuePolicy::ShortestJobFirst => {
            // In queue order (shortest first), start every job that fits: after a start, the shorter jobs
            // skipped still do not fit, so this is "start the shortest job that fits; repeat".
            let mut from = 0;
            let mut bounds = world.resource::<SiteIndex>().bounds(None);
            while let Some(i) = next_candidate(world, from, bounds, None) {
                let q = world.resource::<JobQueue>().0[i];
                if try_plan(world, &q.req, None, &mut grants) {
                    world.resource_mut::<JobQueue>().0.remove(i);
                    start_job(world, sched, q, &grants);
                    bounds = world.resource::<SiteIndex>().bounds(None);
                    from = i;
                } else {
                    from = i + 1;
                }
            }
        }
        QueuePolicy::Priority => loop {
            start_heads(world, sched, &mut grants, false);
            let Some(&head) = world.resource::<JobQueue>().0.front() else {
                break;
            };
            if !preempt::make_room_for(world, &head, now, &mut grants) {
                break;
            }
            // Preempted jobs have lower priority: they queue behind the head.
            world.resource_mut::<JobQueue>().0.pop_front();
            start_job(world, sched, head, &grants);
        },
        QueuePolicy::EasyBackfill => {
            start_heads(world, sched, &mut grants, true);
            if !world.resource::<JobQueue>().0.is_empty() {
                ensure_reservation(world, now);
                let mut from = 1;
                let mut bounds = world.resource::<SiteIndex>().bounds(None);
                let mut late = late_filter(world, now);
                while let Some(i) = next_candidate(world, from, bounds, late) {
                    let q = world.resource::<JobQueue>().0[i];
                    if try_backfill(world, &q, now, &mut grants) {
                        world.resource_mut::<JobQueue>().0.remove(i);
                        world.resource_mut::<Sched>().backfilled += 1;
                        start_job(world, sched, q, &grants);
                        bounds = world.resource::<SiteIndex>().bounds(None);
                        late = late_filter(world, now);
                        from = i;
                    } else {
                        from = i + 1;
                    }
                }
            }
        }
    }
    let mut st = world.resource_mut::<Sched>();
    st.grants = grants;
    st.clean = true;
}

/// An arrival in the clean state: only the new job (at queue position `pos`) can be affected.
fn schedule_arrival<E: From<Event>>(world: &mut World, sched: &mut Scheduler<E>, pos: usize) {
    if world.resource::<Sched>().hold {
        world.resource_mut::<Sched>().clean = false;
        return;
    }
    let now = sched.now();
    let (queue, reservation) = {
        let st = world.resource::<Sched>();
        (st.cfg.queue, st.reservation)
    };
    let len = world.resource::<JobQueue>().0.len();
    let q = world.resource::<JobQueue>().0[pos];
    match queue {
        // Behind a blocked head nothing starts.
        QueuePolicy::Fifo if len > 1 => {}
        QueuePolicy::EasyBackfill if len > 1 && reservation.is_some_and(|r| r.shadow >= now) => {
            let mut grants = std::mem::take(&mut world.resource_mut::<Sched>().grants);
            if try_backfill(world, &q, now, &mut grants) {
                world.resource_mut::<JobQueue>().0.remove(pos);
                world.resource_mut::<Sched>().backfilled += 1;
                start_job(world, sched, q, &grants);
            }
            world.resource_mut::<Sched>().grants = grants;
        }
        QueuePolicy::ShortestJobFirst => {
            let mut grants = std::mem::take(&mut world.resource_mut::<Sched>().grants);
            if try_plan(world, &q.req, None, &mut grants) {
                world.resource_mut::<JobQueue>().0.remove(pos);
                start_job(world, sched, q, &grants);
            }
            world.resource_mut::<Sched>().grants = grants;
        }
        _ => schedule_pass(world, sched),
    }
}

/// GPUs free but unusable for the queue head: the unallocated capacity of the models the head may use when the
/// head (the next job the queue policy would start) does not fit now; 0 for an empty queue, a head that fits
/// or a CPU-only head.
fn fragmented_gpus(world: &mut World) -> f64 {
    let Some(head) = world.resource::<JobQueue>().0.front().copied() else {
        return 0.0;
    };
    if head.req.gpus == 0 {
        return 0.0;
    }
    let mut grants = std::mem::take(&mut world.resource_mut::<Sched>().grants);
    let fits = try_plan(world, &head.req, None, &mut grants);
    grants.clear();
    world.resource_mut::<Sched>().grants = grants;
    if fits {
        0.0
    } else {
        world.resource::<SiteIndex>().free_gpus(head.req.model_mask)
    }
}

pub(crate) fn handle<E: From<Event>>(world: &mut World, sched: &mut Scheduler<E>, ev: Event) {
    let now = sched.now();
    world.resource_mut::<Meters>().advance(now);
    match ev {
        Event::Capping => capping_run::decide(world, sched),
        Event::Facility(wake) => facility_run::on_wake(world, wake),
        Event::Arrival => {
            let mut src = world.resource_mut::<Source>();
            let Some((spec, mask, activity_milli)) = src.jobs.next_job() else {
                return;
            };
            let mut req = src.capacity.request(&spec, mask);
            req.activity_milli = activity_milli;
            let id = src.next_id;
            src.next_id += 1;
            if let Some(t) = src.jobs.peek_submit() {
                sched.at(t.max(now), Event::Arrival.into());
            }
            let e = world
                .spawn(Job {
                    id,
                    submit: spec.submit,
                    duration: spec.duration,
                    req,
                    start: None,
                    grants: Vec::with_capacity(req.gpus.max(1) as usize),
                    run: 0,
                    first_start: None,
                    preemptions: 0,
                    lost: SimDuration::ZERO,
                    lost_steps: 0,
                    priority: spec.priority,
                    work_left_ns: 0.0,
                    rate: 1.0,
                    rate_since: SimTime::ZERO,
                    fabric_rate: 1.0,
                    cap_rate: 1.0,
                })
                .id();
            let mut c = world.resource_mut::<Counters>();
            c.submitted += 1;
            if let Some(log) = c.log.as_mut() {
                log.push(JobRecord {
                    id,
                    submit: spec.submit,
                    start: None,
                    finish: None,
                    servers: Vec::new(),
                });
            }
            // Rescaled durations: the queue sees the slowest eligible model's (a safe estimate for EASY).
            let duration = match world.get_resource::<DurationScale>() {
                Some(ds) => ds.scale(
                    spec.duration,
                    req.model_mask & world.resource::<SiteIndex>().models,
                ),
                None => spec.duration,
            };
            let q = Queued {
                job: e,
                id,
                duration,
                req,
                priority: spec.priority,
            };
            let clean = world.resource::<Sched>().clean;
            let pos = preempt::queue_position(world, &q);
            let mut queue = world.resource_mut::<JobQueue>();
            queue.0.insert(pos, q);
            if clean && !reference_mode() {
                schedule_arrival(world, sched, pos);
            } else {
                schedule_pass(world, sched);
            }
        }
        Event::Finish(e, run) => {
            match world.get::<Job>(e) {
                Some(j) if j.run == run && j.start.is_some() => {}
                _ => return, // preempted since: stale
            }
            let job = world.entity_mut(e).take::<Job>().expect("running job");
            apply_job(world, &job.grants, &job.req, false, now);
            if let Some(mut f) = world.get_resource_mut::<network::FabricRun>() {
                f.dirty = true;
            }
            world.despawn(e);
            if let Some(mut times) = world.get_resource_mut::<JobTimes>() {
                let t = &mut times.0[job.id as usize];
                t.finish = Some(now);
                t.ran_ns += (now - job.start.expect("running")).as_nanos();
            }
            world.resource_mut::<Sched>().clean = false;
            let mut c = world.resource_mut::<Counters>();
            if let Some(log) = c.log.as_mut() {
                log[job.id as usize].finish = Some(now);
            }
            c.running -= 1;
            c.completed += 1;
            c.turnarounds_s.push((now - job.submit).as_secs_f64());
            schedule_pass(world, sched);
        }
    }
    network::reprice_if_dirty(world, sched);
    capping_run::observe_if_stale(world, now);
    facility_run::after_event(world, sched);
}

/// IT power changes by `d_it_w` (of which `d_gpu_w` GPUs) at `now`: the energy meters and the facility meter
/// follow.
pub(crate) fn add_it_power(world: &mut World, now: SimTime, d_it_w: f64, d_gpu_w: f64) {
    let mut m = world.resource_mut::<Meters>();
    m.advance(now);
    m.it.add(d_it_w);
    m.gpu.add(d_gpu_w);
    if let Some(c) = &mut m.combined {
        c.add(d_it_w);
    }
    let total = m.it.power_w() + m.extra_it_w;
    if let Some(f) = &mut m.facility {
        f.set_it_power(now, total);
    }
}

/// Runs a loaded scenario. `progress` is called with the simulated fraction done (0..=1) a hundred times.
pub fn run(loaded: &LoadedScenario, progress: &mut dyn FnMut(f64)) -> RunOutput {
    run_logged(loaded, progress, false).0
}

/// [`run`], also returning what happened to each submitted job (in submission order; empty for inference
/// workloads).
pub fn run_with_log(
    loaded: &LoadedScenario,
    progress: &mut dyn FnMut(f64),
) -> (RunOutput, Vec<JobRecord>) {
    run_logged(loaded, progress, true)
}

fn run_logged(
    loaded: &LoadedScenario,
    progress: &mut dyn FnMut(f64),
    log: bool,
) -> (RunOutput, Vec<JobRecord>) {
    if matches!(loaded.scenario.workload, Workload::Inference(_)) {
        return (crate::inference::run(loaded, progress), Vec::new());
    }
    let wall = Instant::now();
    let sc = &loaded.scenario;
    let horizon = SimTime::from_secs_f64(sc.horizon_s).expect("validated horizon");
    let every = SimDuration::from_secs_f64(sc.reporting.interval_s)
        .filter(|d| !d.is_zero())
        .expect("validated interval");
    let streams = RngStreams::new(sc.seed);
    let jobs = match (&sc.workload, &loaded.trace_jobs) {
        (Workload::Synthetic(cfg), _) => JobSource::Synthetic(Box::new(SyntheticSource::new(
            cfg,
            loaded.synthetic_mask,
            &streams,
        ))),
        (_, Some(jobs)) => JobSource::Trace {
            jobs: jobs.clone(),
            masks: loaded.trace_masks.clone(),
            activity_milli: loaded
                .training
                .iter()
                .flatten()
                .map(|t| t.activity_milli)
                .collect(),
            next: 0,
        },
        (_, None) => unreachable!("load_scenario reads trace workloads; inference runs elsewhere"),
    };

    let mut world = build_world(loaded);
    let first = jobs.peek_submit();
    world.insert_resource(Source {
        jobs,
        capacity: SiteCapacity::new(&loaded.site),
        next_id: 0,
    });
    if let Some(t) = &loaded.training {
        world.insert_resource(JobTimes(vec![JobTime::default(); t.len()]));
    }
    if let Workload::NativeTrace(t)
    | Workload::AlibabaPods(t)
    | Workload::PhillyLog(t)
    | Workload::HeliosLog(t) = &sc.workload
        && let Some(r) = &t.rescale
    {
        let cat = &loaded.catalog;
        let rec = &cat.gpus[cat.index_of(&r.recorded_on).expect("validated")];
        world.insert_resource(DurationScale(
            cat.gpus.iter().map(|g| r.factor(rec, g)).collect(),
        ));
    }
    if log {
        world.resource_mut::<Counters>().log = Some(Vec::new());
    }
    if let Workload::Training(t) = &sc.workload
        && let models::training::CommModel::Fabric(cfg) = &t.comm
    {
        let fr = network::FabricRun::new(loaded, cfg);
        let p = world.resource::<Meters>().it.power_w() + fr.switch_power_w();
        let mut m = world.resource_mut::<Meters>();
        m.it = EnergyMeter::new(SimTime::ZERO, p);
        if let Some(c) = &mut m.combined {
            *c = EnergyMeter::new(SimTime::ZERO, p);
        }
        if let Some(f) = &mut m.facility {
            f.set_it_power(SimTime::ZERO, p);
        }
        world.insert_resource(fr);
        world.insert_resource(network::Plans(
            loaded
                .training
                .iter()
                .flatten()
                .map(|t| (t.plan.clone(), t.gpus_per_server))
                .collect(),
        ));
    }
    let ratings = loaded.facility.as_ref().map(|f| f.facility.chain.ratings);
    let breakers =
        ratings.is_some_and(|r| r.rack_w.is_some() || r.row_w.is_some() || r.feed_w.is_some());
    if sc.serving.is_some() || sc.scheduler.queue == QueuePolicy::Priority || breakers {
        world.insert_resource(preempt::Checkpoints::new(loaded));
    }
    if let Some(f) = facility_run::FacilityRun::new(loaded, horizon) {
        world.insert_resource(f);
        world.insert_resource(capping_run::PowerLimits::new(loaded));
    }
    let capping = capping_run::CappingRun::new(loaded, horizon);
    let capping_on = capping.is_some();
    if let Some(c) = capping {
        world.insert_resource(c);
    }
    let mut serving_kv = 0;
    if let Some(sv) = &sc.serving {
        let (fleet, kv) = crate::inference::shared_fleet(loaded, &sv.inference, horizon);
        world.insert_resource(fleet);
        world.insert_resource(sharing::Holdings::new(loaded));
        serving_kv = kv;
    }

    let mut telemetry = Schedule::default();
    telemetry.add_systems(telemetry_system);
    let mut samples = Vec::with_capacity((sc.horizon_s / sc.reporting.interval_s) as usize + 2);
    let mut sampling = Sampling::new(SimTime::ZERO, every);
    let (mut frag_sum, mut frag_max) = (0.0f64, 0.0f64);
    let mut on_sample = |world: &mut World, t: SimTime| {
        world.resource_mut::<Meters>().advance(t);
        // facility hook (facility columns of timeseries.csv)
        let facility = world
            .resource_mut::<Meters>()
            .facility
            .as_mut()
            .map(|f| f.sample(t));
        telemetry.run(world);
        let tel = *world.resource::<Telemetry>();
        let frag = fragmented_gpus(world);
        frag_sum += frag;
        frag_max = frag_max.max(frag);
        let serving_w = world
            .get_resource::<serve::Fleet>()
            .map_or(0.0, |f| f.it.power_w());
        let c = world.resource::<Counters>();
        samples.push(Sample {
            time_s: t.as_secs_f64(),
            it_power_w: tel.it_power_w + serving_w,
            busy_gpus: tel.busy_gpus,
            running_jobs: c.running,
            queued_jobs: world.resource::<JobQueue>().0.len() as u64,
            facility,
        });
    };
    let slices = 100u64;
    let until = |k: u64| {
        SimTime::from_nanos((horizon.as_nanos() as u128 * k as u128 / slices as u128) as u64)
    };
    let first = first.filter(|&t| t <= horizon);
    let (events_processed, mut world) = if let Some(sv) = &sc.serving {
        let mut engine = Engine::<SharedEvent>::new(world);
        engine.schedule(SimTime::ZERO, SharedEvent::Start);
        if capping_on {
            engine.schedule(SimTime::ZERO, Event::Capping.into());
        }
        if let Some(t) = first {
            engine.schedule(t, Event::Arrival.into());
        }
        let w = &sv.inference;
        if let Some(t) = engine
            .world
            .resource::<serve::Fleet>()
            .source
            .peek_arrival()
            .filter(|&t| t <= horizon)
        {
            engine.schedule(t, serve::Event::Arrival.into());
        }
        if let Some(a) = &w.autoscaling {
            let t = SimTime::from_secs_f64(a.interval_s).expect("validated");
            engine.schedule(t.min(horizon), serve::Event::Scale.into());
        }
        for k in 1..=slices {
            engine.run_until_sampled(until(k), &mut sampling, sharing::handle, &mut on_sample);
            progress(k as f64 / slices as f64);
        }
        (engine.events_processed(), engine.world)
    } else {
        let mut engine = Engine::<Event>::new(world);
        if capping_on {
            engine.schedule(SimTime::ZERO, Event::Capping);
        }
        if let Some(t) = first {
            engine.schedule(t, Event::Arrival);
        }
        for k in 1..=slices {
            engine.run_until_sampled(until(k), &mut sampling, handle, &mut on_sample);
            progress(k as f64 / slices as f64);
        }
        (engine.events_processed(), engine.world)
    };
    let world = &mut world;
    world.resource_mut::<Meters>().advance(horizon);
    // Shared fleet: the serving model's results, and its IT energy above idle GPUs.
    let mut serving = None;
    if let Some(mut fleet) = world.remove_resource::<serve::Fleet>() {
        fleet.close(horizon);
        let mut h = world
            .remove_resource::<sharing::Holdings>()
            .expect("shared fleet");
        let held_gpu_s = h.held_gpu_s(horizon);
        serving = Some((fleet, held_gpu_s, h.preemptions, h.waited));
    }

    let horizon_s = horizon.as_secs_f64();
    let meters = world.resource::<Meters>();
    let gpus_total = loaded.site.gpus_total();
    let busy_gpu_h = meters.alloc_milli_ns as f64 / 1000.0 / 1e9 / 3600.0;
    let available_gpu_h = gpus_total as f64 * horizon_s / 3600.0;
    let it = meters.combined.as_ref().unwrap_or(&meters.it);
    let serving_gpu_j = serving.as_ref().map_or(0.0, |s| s.0.gpu.energy_j());
    let mut energy = EnergySummary {
        it_j: it.energy_j(),
        gpu_j: meters.gpu.energy_j() + serving_gpu_j,
        server_overhead_j: it.energy_j() - meters.gpu.energy_j() - serving_gpu_j,
        ..EnergySummary::default()
    };
    let mut facility = meters
        .facility
        .as_ref()
        .map(|m| crate::facility::report::summarize(m, loaded, horizon_s, &mut energy));
    if let Some(f) = &mut facility {
        facility_run::summarize(world, horizon, f);
    }
    if let Some(run) = world
        .get_resource::<capping_run::CappingRun>()
        .filter(|r| r.ctl.config().controller)
        && let Some(c) = facility.as_mut().and_then(|f| f.capping.as_mut())
    {
        let mut ctl = run.ctl.clone();
        ctl.advance(horizon_s);
        let t = ctl.totals();
        c.controller = Some(output::CappingControllerSummary {
            decisions: t.decisions,
            over_budget_s: t.over_budget_s,
            energy_capped_j: t.energy_capped_j,
            throughput_lost_gpu_s: t.throughput_lost_gpu_s,
            capped_gpu_s: t.capped_gpu_s,
        });
    }
    let meters = world.resource::<Meters>();
    let it = meters.combined.as_ref().unwrap_or(&meters.it);
    let power = PowerSummary {
        it_peak_w: it.peak_w(),
        it_mean_w: it.energy_j() / horizon_s,
        it_min_w: it.min_w(),
    };
    let (inference, shared_fleet) = match (serving, &sc.serving) {
        (Some((mut fleet, held_gpu_s, preempted, waited)), Some(sv)) => {
            let w = &sv.inference;
            let g = &loaded.catalog.gpus[loaded
                .catalog
                .index_of(&w.deployment.gpu_model)
                .expect("validated")];
            let psu = loaded.site.servers[0].host.psu_efficiency;
            // Serving's IT energy: replica GPUs above idle through their power supplies (metered), plus the
            // held GPUs' idle power through a typical supply (host power is not attributed).
            let it_j = fleet.it.energy_j() + held_gpu_s * g.idle_power_w / psu;
            let inf = crate::inference::summarize(&mut fleet, w, serving_kv, horizon, it_j);
            let replica_gpu_h = held_gpu_s / 3600.0;
            (
                Some(inf),
                Some(SharedFleetSummary {
                    make_room: format!("{:?}", sv.make_room),
                    replica_gpu_h,
                    replica_gpu_share: if available_gpu_h > 0.0 {
                        replica_gpu_h / available_gpu_h
                    } else {
                        0.0
                    },
                    jobs_preempted: preempted,
                    replica_waits: waited,
                }),
            )
        }
        _ => (None, None),
    };
    let (network, run_steps) = match world.get_resource_mut::<network::FabricRun>() {
        Some(mut f) => {
            let (n, per_job) = network::summarize(&mut f, horizon);
            (Some(n), per_job)
        }
        None => (None, Vec::new()),
    };
    // Training jobs running at the horizon: their current run so far.
    let mut running_ns = vec![0u64; loaded.training.as_ref().map_or(0, |t| t.len())];
    if !running_ns.is_empty() {
        let mut q = world.query::<&Job>();
        for j in q.iter(world) {
            if let Some(s) = j.start {
                running_ns[j.id as usize] = (horizon - s).as_nanos();
            }
        }
    }
    let queued = world.resource::<JobQueue>().0.len() as u64;
    let not_arrived = world.resource::<Source>().jobs.remaining();
    let mut c = std::mem::take(&mut *world.resource_mut::<Counters>());
    let st = world.resource::<Sched>();
    let jobs = JobsSummary {
        submitted: c.submitted,
        completed: c.completed,
        running_at_end: c.running,
        queued_at_end: queued,
        not_arrived,
        wait_s: Stats::from_values(&mut c.waits_s),
        turnaround_s: Stats::from_values(&mut c.turnarounds_s),
        fragmented_gpus_mean: if samples.is_empty() {
            0.0
        } else {
            frag_sum / samples.len() as f64
        },
        fragmented_gpus_max: frag_max,
        backfilled: st.backfilled,
        backfill_late_heads: st.late_heads,
        preemptions: c.preemptions,
        lost_gpu_h: c.lost_milli_ns as f64 / 1000.0 / 1e9 / 3600.0,
    };
    let training = loaded.training.as_ref().map(|info| {
        let times = &world.resource::<JobTimes>().0;
        let jobs = info
            .iter()
            .zip(times)
            .zip(loaded.trace_jobs.iter().flatten())
            .zip(&running_ns)
            .enumerate()
            .map(|(i, (((t, jt), spec), &running))| {
                let (start, finish) = (jt.start, jt.finish);
                let gpu =
                    &loaded.catalog.gpus[loaded.catalog.index_of(&t.gpu_model).expect("validated")];
                let a = t.activity_milli as f64 / 1000.0;
                let p_w = t.gpus as f64
                    * models::power::gpu_power_w(gpu.idle_power_w, gpu.board_power_w, a, 1.0);
                let ran_s = (jt.ran_ns + running) as f64 * 1e-9;
                let e = &t.estimate;
                let gpu_energy_j = p_w * ran_s;
                TrainingJobSummary {
                    name: t.name.clone(),
                    gpu_model: t.gpu_model.clone(),
                    gpus: t.gpus,
                    steps: e.steps,
                    tokens: e.tokens,
                    step_s: e.step.total_s,
                    compute_s: e.step.compute_s,
                    bubble_s: e.step.bubble_s,
                    comm_exposed_s: e.step.comm_exposed_s,
                    comm_share: e.step.comm_exposed_s / e.step.total_s,
                    achieved_mfu: e.achieved_mfu,
                    tokens_per_s: e.tokens_per_s,
                    time_to_finish_s: e.time_to_finish_s,
                    gpu_activity: a,
                    submit_s: spec.submit.as_secs_f64(),
                    start_s: start.map(|s| s.as_secs_f64()),
                    finish_s: finish.map(|s| s.as_secs_f64()),
                    gpu_energy_j,
                    gpu_energy_per_token_j: finish.map(|_| gpu_energy_j / e.tokens as f64),
                    ran_s,
                    preemptions: jt.preemptions,
                    lost_s: jt.lost_ns as f64 * 1e-9,
                    lost_steps: jt.lost_steps,
                    run_step_s: run_steps.get(i).copied().flatten().map(|x| x.0),
                    run_comm_exposed_s: run_steps.get(i).copied().flatten().map(|x| x.1),
                }
            })
            .collect();
        TrainingSummary { jobs }
    });
    let summary = Summary {
        dctwin_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: sc.name.clone(),
        seed: sc.seed,
        horizon_s,
        events_processed,
        wall_time_s: wall.elapsed().as_secs_f64(),
        site: site_summary(loaded),
        energy,
        power,
        jobs,
        gpus: GpuSummary {
            total: gpus_total,
            utilization_mean: if available_gpu_h > 0.0 {
                busy_gpu_h / available_gpu_h
            } else {
                0.0
            },
        },
        gpu_hours: GpuHoursSummary {
            busy: busy_gpu_h,
            available: available_gpu_h,
        },
        training,
        inference,
        facility,
        shared_fleet,
        network,
        not_modelled: {
            let mut v = crate::facility::report::not_modelled(loaded);
            v.push(if matches!(&sc.workload, Workload::Training(t) if matches!(t.comm, models::training::CommModel::Fabric(_))) {
                "network fabric: flow level (no packets, congestion control or NCCL channels); job power does not follow contended communication".into()
            } else {
                "network fabric: no link contention (training communication is priced by alpha-beta formulas)".into()
            });
            v.push("failures".into());
            v
        },
    };
    let records = c.log.take().unwrap_or_default();
    (
        RunOutput {
            summary,
            timeseries: samples,
        },
        records,
    )
}

/// The site part of a summary.
pub(crate) fn site_summary(loaded: &LoadedScenario) -> SiteSummary {
    let site = &loaded.site;
    SiteSummary {
        halls: site.halls as u64,
        rows: site.rows as u64,
        racks: site.racks as u64,
        servers: site.servers.len() as u64,
        gpus_by_model: site.gpus_by_model(&loaded.catalog),
        description: loaded.describe(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenario::{Override, PlacementPolicy, load_scenario};

    fn run_quickstart(queue: &str, placement: &str, mean_s: &str, reference: bool) -> RunOutput {
        let file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/quickstart.ron");
        let ov = |s: &str| Override::parse(s).unwrap();
        let loaded = load_scenario(
            &file,
            &[
                ov(&format!("scheduler.queue={queue}")),
                ov(&format!("scheduler.placement={placement}")),
                ov(&format!(
                    "workload.Synthetic.interarrival_s.Exponential.mean_s={mean_s}"
                )),
                ov("horizon_s=129600"),
            ],
            None,
        )
        .unwrap();
        REFERENCE_MODE.with(|c| c.set(reference));
        let mut out = run(&loaded, &mut |_| {});
        REFERENCE_MODE.with(|c| c.set(false));
        out.summary.wall_time_s = 0.0;
        out
    }

    /// The clean-state arrival shortcut and the site-counter rejection are exact: every queue × placement
    /// gives the same run with and without them, at a load that keeps a long queue (mean interarrival 60 s,
    /// offered load ≈ 2).
    #[test]
    fn shortcuts_change_nothing() {
        for queue in ["Fifo", "ShortestJobFirst", "EasyBackfill"] {
            for placement in ["FirstFit", "BestFit", "TopologyAware"] {
                for mean_s in ["60", "110"] {
                    let fast = run_quickstart(queue, placement, mean_s, false);
                    let reference = run_quickstart(queue, placement, mean_s, true);
                    assert!(fast.summary.jobs.queued_at_end > 0 || mean_s == "110");
                    assert_eq!(fast, reference, "{queue} {placement} {mean_s}");
                    assert_eq!(
                        fast.summary.jobs.backfill_late_heads, 0,
                        "{queue} {placement}"
                    );
                }
            }
        }
        let _ = PlacementPolicy::default();
    }

    /// A mixed site (8-GPU H100 and 4-GPU A100 servers with host CPU/memory, racks of different shapes) and
    /// a random mix of whole-GPU, multi-server, shared-GPU, CPU-only and model-restricted jobs.
    fn mixed_scenario(seed: u64) -> LoadedScenario {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/test-tmp")
            .join(format!("dc-mixed-{}-{seed}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("jobs.csv"), "submit_s,gpus,duration_s\n0,1,1\n").unwrap();
        let ron = format!(
            r#"Scenario(
    name: "mixed", seed: 1, horizon_s: 50000.0,
    catalog: "{root}/../scenarios/catalog/gpus.ron",
    site: Layout(
        server_templates: {{
            "h": ServerTemplate(gpu_model: "H100", gpus: 8, cpu_milli: 64000, memory_mib: 512000, host: HostPower(idle_w: 100.0, max_w: 300.0)),
            "a": ServerTemplate(gpu_model: "A100", gpus: 4, cpu_milli: 32000, memory_mib: 256000, host: HostPower(idle_w: 100.0, max_w: 300.0)),
        }},
        halls: [HallGroup(count: 2, rows: [
            RowGroup(count: 1, racks: [RackGroup(count: 2, servers: [ServerGroup(template: "h", count: 2), ServerGroup(template: "a", count: 1)])]),
            RowGroup(count: 1, racks: [RackGroup(count: 1, servers: [ServerGroup(template: "a", count: 3)])]),
        ])],
    ),
    workload: NativeTrace(path: "jobs.csv"),
    reporting: (interval_s: 100.0),
)"#,
            root = env!("CARGO_MANIFEST_DIR")
        );
        std::fs::write(dir.join("s.ron"), ron).unwrap();
        let mut loaded = load_scenario(&dir.join("s.ron"), &[], None).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let h100 = 1u64 << loaded.catalog.index_of("H100").unwrap();
        let a100 = 1u64 << loaded.catalog.index_of("A100").unwrap();
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut jobs = Vec::new();
        let mut masks = Vec::new();
        let mut t = 0u64;
        for _ in 0..600 {
            t += rnd(if seed.is_multiple_of(2) { 40 } else { 200 });
            let submit = SimTime::from_secs(t);
            let duration = SimDuration::from_secs(10 + rnd(3000));
            let mut j = JobSpecLite::default();
            let mut mask = match rnd(4) {
                0 => h100,
                1 => a100,
                _ => placement::ANY_MODEL,
            };
            match rnd(10) {
                0..=3 => j.gpus = 1 + rnd(if mask == a100 { 4 } else { 8 }) as u32,
                4 | 5 => {
                    mask = if rnd(2) == 0 {
                        h100
                    } else {
                        placement::ANY_MODEL
                    };
                    j.gpus = 9 + rnd(20) as u32;
                }
                6 | 7 => {
                    j.gpus = 1;
                    j.milli = 100 + 100 * rnd(9) as u32;
                    j.cpu = 1000 * rnd(20);
                    j.mem = 1000 * rnd(100);
                }
                8 => {
                    j.gpus = 1 + rnd(4) as u32;
                    j.cpu = 4000 * rnd(8);
                    mask = a100;
                }
                _ => {
                    j.gpus = 0;
                    j.cpu = 1000 + 1000 * rnd(30);
                    j.mem = 1000 * rnd(100);
                }
            }
            let spec = models::workload::JobSpec {
                name: None,
                submit,
                duration,
                gpus: j.gpus,
                gpu_milli: if j.gpus == 0 { 0 } else { j.milli },
                cpu_milli: j.cpu,
                memory_mib: j.mem,
                gpu_models: Vec::new(),
                priority: 0,
            };
            SiteCapacity::new(&loaded.site)
                .check_fits(&spec, mask)
                .unwrap();
            jobs.push(spec);
            masks.push(mask);
        }
        loaded.trace_jobs = Some(jobs);
        loaded.trace_masks = masks;
        loaded
    }

    struct JobSpecLite {
        gpus: u32,
        milli: u32,
        cpu: u64,
        mem: u64,
    }

    impl Default for JobSpecLite {
        fn default() -> Self {
            JobSpecLite {
                gpus: 0,
                milli: 1000,
                cpu: 0,
                mem: 0,
            }
        }
    }

    /// On mixed sites and jobs, every queue × placement: the shortcuts change nothing, jobs are conserved,
    /// FIFO starts jobs in submission order, and EASY never starts a head after its reservation.
    #[test]
    fn mixed_sites_and_jobs() {
        for seed in 1..=4 {
            for queue in [
                QueuePolicy::Fifo,
                QueuePolicy::ShortestJobFirst,
                QueuePolicy::EasyBackfill,
                QueuePolicy::Priority,
            ] {
                for placement in [
                    PlacementPolicy::FirstFit,
                    PlacementPolicy::BestFit,
                    PlacementPolicy::TopologyAware,
                ] {
                    let mut loaded = mixed_scenario(seed);
                    loaded.scenario.scheduler = SchedulerConfig {
                        queue,
                        placement,
                        job_checkpoint_s: None,
                    };
                    let (mut fast, log) = run_with_log(&loaded, &mut |_| {});
                    REFERENCE_MODE.with(|c| c.set(true));
                    let (mut reference, ref_log) = run_with_log(&loaded, &mut |_| {});
                    REFERENCE_MODE.with(|c| c.set(false));
                    fast.summary.wall_time_s = 0.0;
                    reference.summary.wall_time_s = 0.0;
                    let what = format!("seed {seed} {queue:?} {placement:?}");
                    assert_eq!(fast, reference, "{what}");
                    assert_eq!(log, ref_log, "{what}");
                    let j = &fast.summary.jobs;
                    assert_eq!(j.submitted + j.not_arrived, 600, "{what}");
                    assert_eq!(
                        j.completed + j.running_at_end + j.queued_at_end,
                        j.submitted,
                        "{what}"
                    );
                    assert!(j.wait_s.max > 0.0, "{what}: the mix should queue");
                    assert_eq!(j.backfill_late_heads, 0, "{what}");
                    if queue == QueuePolicy::Fifo {
                        let starts: Vec<SimTime> = log.iter().filter_map(|r| r.start).collect();
                        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{what}");
                        assert_eq!(j.backfilled, 0);
                    }
                    for r in &log {
                        let spec = &loaded.trace_jobs.as_ref().unwrap()[r.id as usize];
                        if let (Some(s), Some(f)) = (r.start, r.finish) {
                            assert_eq!(f, s + spec.duration);
                        }
                        if r.start.is_some() && !(spec.gpus > 8 && spec.gpu_milli == 1000) {
                            assert_eq!(r.servers.len(), 1, "{what}: single-server job {}", r.id);
                        }
                    }
                }
            }
        }
    }
}
