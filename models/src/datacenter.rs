//! The datacenter simulation: a site's servers and GPUs as bevy_ecs entities, jobs arriving from a trace or
//! generator, a FIFO queue with first-fit placement, and exact IT-energy accounting.
//!
//! Events: `Arrival` (the next job of the source is submitted) and `Finish(job)`. After each event the
//! scheduler starts jobs from the head of the queue while they fit. Power changes only at events, so energy is
//! integrated exactly (see [`crate::power`]). Periodic samples run a bevy `Schedule` that aggregates server
//! power and GPU allocation with a `Query` — an independent check of the incrementally kept totals.

use std::collections::VecDeque;
use std::time::Instant;

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::Schedule;
use sim::{Engine, RngStreams, Sampling, Scheduler, SimDuration, SimTime};

use crate::output::{
    EnergySummary, GpuHoursSummary, GpuSummary, JobsSummary, PowerSummary, RunOutput, Sample,
    SiteSummary, Stats, Summary, TrainingJobSummary, TrainingSummary,
};
use crate::placement::{
    self, FreeSummary, Grant, JobReq, ServerLoad, SiteCapacity, WHOLE_GPU_MILLI,
};
use crate::power::{EnergyMeter, ServerPower, ServerPowerModel};
use crate::scenario::{LoadedScenario, Workload};
use crate::workload::JobSource;
use crate::workload::source::SyntheticSource;

/// Events of the datacenter model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The job at the head of the job source is submitted.
    Arrival,
    /// A running job finishes.
    Finish(Entity),
}

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
    /// Set when the job starts.
    pub start: Option<SimTime>,
    /// The GPU shares the job holds while running.
    pub grants: Vec<Grant>,
}

/// Site entities in site order (server id → entity).
#[derive(Resource)]
struct SiteIndex {
    servers: Vec<Entity>,
    /// Per-server free-capacity summaries (server id order), kept in step with each [`ServerLoad`].
    free: Vec<FreeSummary>,
}

#[derive(Resource)]
struct Source {
    jobs: JobSource,
    capacity: SiteCapacity,
    next_id: u64,
}

#[derive(Resource, Default)]
struct JobQueue(VecDeque<Entity>);

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
}

impl Meters {
    fn advance(&mut self, now: SimTime) {
        self.it.advance(now);
        self.gpu.advance(now);
        self.alloc_milli_ns += self.alloc_milli as u128 * (now - self.last).as_nanos() as u128;
        self.last = now;
    }
}

#[derive(Resource, Default)]
struct Counters {
    submitted: u64,
    completed: u64,
    running: u64,
    waits_s: Vec<f64>,
    turnarounds_s: Vec<f64>,
}

/// Start and finish of each job by id (training workloads only).
#[derive(Resource, Default)]
struct JobTimes(Vec<(Option<SimTime>, Option<SimTime>)>);

#[derive(Resource, Default)]
struct Scratch {
    grants: Vec<Grant>,
    /// The head of the queue did not fit and nothing has been released since: under strict FIFO no job can
    /// start until a job finishes, so arrivals skip the placement scan (exact, not a heuristic).
    head_blocked: bool,
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
    world.insert_resource(SiteIndex { servers, free });
    world.insert_resource(Meters {
        it: EnergyMeter::new(SimTime::ZERO, it_w),
        gpu: EnergyMeter::new(SimTime::ZERO, gpu_w),
        alloc_milli: 0,
        alloc_milli_ns: 0,
        last: SimTime::ZERO,
    });
    world.insert_resource(JobQueue::default());
    world.insert_resource(Counters::default());
    world.insert_resource(Scratch::default());
    world.insert_resource(Telemetry::default());
    world
}

/// Applies or releases a job's grants, updating server loads, server power and the meters.
fn apply_job(world: &mut World, grants: &[Grant], req: &JobReq, allocate: bool) {
    let mut host_pending = !req.multi_server;
    let mut d_it = 0.0;
    let mut d_gpu = 0.0;
    let mut d_milli: i64 = 0;
    let mut i = 0;
    while i < grants.len() {
        let server = grants[i].server;
        let e = world.resource::<SiteIndex>().servers[server as usize];
        let mut em = world.entity_mut(e);
        let mut load = em.get_mut::<ServerLoad>().expect("server entity");
        while i < grants.len() && grants[i].server == server {
            placement::apply_grant(&mut load, &grants[i], req, allocate, host_pending);
            host_pending = false;
            d_milli += grants[i].milli as i64;
            i += 1;
        }
        let load = load.clone();
        let summary = FreeSummary::of(&load);
        let new = em
            .get::<ServerPowerModel>()
            .expect("server entity")
            .power_w(&load);
        let mut p = em.get_mut::<ServerPower>().expect("server entity");
        d_it += new.input_w - p.input_w;
        d_gpu += new.gpu_w - p.gpu_w;
        *p = new;
        world.resource_mut::<SiteIndex>().free[server as usize] = summary;
    }
    let mut m = world.resource_mut::<Meters>();
    m.it.add(d_it);
    m.gpu.add(d_gpu);
    if allocate {
        m.alloc_milli += d_milli as u64;
    } else {
        m.alloc_milli -= d_milli as u64;
    }
}

/// Starts jobs from the head of the queue while they fit (strict FIFO, first-fit).
fn schedule_jobs(world: &mut World, sched: &mut Scheduler<Event>) {
    if world.resource::<Scratch>().head_blocked {
        return;
    }
    let now = sched.now();
    let mut grants = std::mem::take(&mut world.resource_mut::<Scratch>().grants);
    while let Some(&head) = world.resource::<JobQueue>().0.front() {
        let req = world.get::<Job>(head).expect("queued job").req;
        let fits = {
            let index = world.resource::<SiteIndex>();
            let loads = index
                .servers
                .iter()
                .zip(&index.free)
                .enumerate()
                .filter(|(_, (_, f))| f.may_fit(&req))
                .map(|(i, (&e, _))| (i as u32, world.get::<ServerLoad>(e).expect("server entity")));
            placement::plan_first_fit(&req, loads, &mut grants)
        };
        if !fits {
            world.resource_mut::<Scratch>().head_blocked = true;
            break;
        }
        world.resource_mut::<JobQueue>().0.pop_front();
        apply_job(world, &grants, &req, true);
        let mut job = world.get_mut::<Job>(head).expect("queued job");
        job.start = Some(now);
        job.grants.clear();
        job.grants.extend_from_slice(&grants);
        let (submit, duration, id) = (job.submit, job.duration, job.id);
        if let Some(mut times) = world.get_resource_mut::<JobTimes>() {
            times.0[id as usize].0 = Some(now);
        }
        let mut c = world.resource_mut::<Counters>();
        c.running += 1;
        c.waits_s.push((now - submit).as_secs_f64());
        sched.at(now.saturating_add(duration), Event::Finish(head));
    }
    world.resource_mut::<Scratch>().grants = grants;
}

fn handle(world: &mut World, sched: &mut Scheduler<Event>, ev: Event) {
    let now = sched.now();
    world.resource_mut::<Meters>().advance(now);
    match ev {
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
                sched.at(t.max(now), Event::Arrival);
            }
            let e = world
                .spawn(Job {
                    id,
                    submit: spec.submit,
                    duration: spec.duration,
                    req,
                    start: None,
                    grants: Vec::with_capacity(req.gpus.max(1) as usize),
                })
                .id();
            world.resource_mut::<JobQueue>().0.push_back(e);
            world.resource_mut::<Counters>().submitted += 1;
        }
        Event::Finish(e) => {
            let job = world.entity_mut(e).take::<Job>().expect("running job");
            apply_job(world, &job.grants, &job.req, false);
            world.despawn(e);
            if let Some(mut times) = world.get_resource_mut::<JobTimes>() {
                times.0[job.id as usize].1 = Some(now);
            }
            world.resource_mut::<Scratch>().head_blocked = false;
            let mut c = world.resource_mut::<Counters>();
            c.running -= 1;
            c.completed += 1;
            c.turnarounds_s.push((now - job.submit).as_secs_f64());
        }
    }
    schedule_jobs(world, sched);
}

/// Runs a loaded scenario. `progress` is called with the simulated fraction done (0..=1) a hundred times.
pub fn run(loaded: &LoadedScenario, progress: &mut dyn FnMut(f64)) -> RunOutput {
    if matches!(loaded.scenario.workload, Workload::Inference(_)) {
        return crate::inference::run(loaded, progress);
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
        world.insert_resource(JobTimes(vec![(None, None); t.len()]));
    }
    let mut engine = Engine::new(world);
    if let Some(t) = first.filter(|&t| t <= horizon) {
        engine.schedule(t, Event::Arrival);
    }

    let mut telemetry = Schedule::default();
    telemetry.add_systems(telemetry_system);
    let mut samples = Vec::with_capacity((sc.horizon_s / sc.reporting.interval_s) as usize + 2);
    let mut sampling = Sampling::new(SimTime::ZERO, every);
    let slices = 100u64;
    for k in 1..=slices {
        let until =
            SimTime::from_nanos((horizon.as_nanos() as u128 * k as u128 / slices as u128) as u64);
        engine.run_until_sampled(
            until,
            &mut sampling,
            handle,
            |world: &mut World, t: SimTime| {
                world.resource_mut::<Meters>().advance(t);
                telemetry.run(world);
                let tel = *world.resource::<Telemetry>();
                let c = world.resource::<Counters>();
                samples.push(Sample {
                    time_s: t.as_secs_f64(),
                    it_power_w: tel.it_power_w,
                    busy_gpus: tel.busy_gpus,
                    running_jobs: c.running,
                    queued_jobs: world.resource::<JobQueue>().0.len() as u64,
                });
            },
        );
        progress(k as f64 / slices as f64);
    }
    let events_processed = engine.events_processed();
    let world = &mut engine.world;
    world.resource_mut::<Meters>().advance(horizon);

    let horizon_s = horizon.as_secs_f64();
    let meters = world.resource::<Meters>();
    let gpus_total = loaded.site.gpus_total();
    let busy_gpu_h = meters.alloc_milli_ns as f64 / 1000.0 / 1e9 / 3600.0;
    let available_gpu_h = gpus_total as f64 * horizon_s / 3600.0;
    let energy = EnergySummary {
        it_j: meters.it.energy_j(),
        gpu_j: meters.gpu.energy_j(),
        server_overhead_j: meters.it.energy_j() - meters.gpu.energy_j(),
    };
    let power = PowerSummary {
        it_peak_w: meters.it.peak_w(),
        it_mean_w: meters.it.energy_j() / horizon_s,
        it_min_w: meters.it.min_w(),
    };
    let queued = world.resource::<JobQueue>().0.len() as u64;
    let not_arrived = world.resource::<Source>().jobs.remaining();
    let mut c = std::mem::take(&mut *world.resource_mut::<Counters>());
    let jobs = JobsSummary {
        submitted: c.submitted,
        completed: c.completed,
        running_at_end: c.running,
        queued_at_end: queued,
        not_arrived,
        wait_s: Stats::from_values(&mut c.waits_s),
        turnaround_s: Stats::from_values(&mut c.turnarounds_s),
    };
    let training = loaded.training.as_ref().map(|info| {
        let times = &world.resource::<JobTimes>().0;
        let jobs = info
            .iter()
            .zip(times)
            .zip(loaded.trace_jobs.iter().flatten())
            .map(|((t, &(start, finish)), spec)| {
                let gpu =
                    &loaded.catalog.gpus[loaded.catalog.index_of(&t.gpu_model).expect("validated")];
                let a = t.activity_milli as f64 / 1000.0;
                let p_w = t.gpus as f64
                    * crate::power::gpu_power_w(gpu.idle_power_w, gpu.board_power_w, a, 1.0);
                let ran_s = match start {
                    Some(s) => (finish.unwrap_or(horizon) - s).as_secs_f64(),
                    None => 0.0,
                };
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
            utilization_mean: if available_gpu_h > 0.0 { busy_gpu_h / available_gpu_h } else { 0.0 },
        },
        gpu_hours: GpuHoursSummary { busy: busy_gpu_h, available: available_gpu_h },
        training,
        inference: None,
        not_modelled: vec![
            "facility overhead (cooling, power-chain losses): energy is IT energy at the server inlets; no PUE".into(),
            "network fabric: no link contention (training communication is priced by alpha-beta formulas)".into(),
            "failures".into(),
        ],
    };
    RunOutput {
        summary,
        timeseries: samples,
    }
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
