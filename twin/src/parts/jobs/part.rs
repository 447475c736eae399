//! The cluster part's life: jobs arrive, start, finish, are preempted or interrupted; what it reacts to.

use bevy_ecs::world::World;
use models::placement::SiteCapacity;
use models::workload::JobSource;
use models::workload::source::SyntheticSource;
use scenario::{LoadedScenario, QueuePolicy, Workload};
use sim::{RngStreams, SimDuration, SimTime};

use super::backlog::{JobQueue, Order};
use super::index::SiteIndex;
use super::job::{Counters, Job, JobTime, Queued, Slab};
use super::rules::{Checkpoints, DurationScale, Dvfs};
use super::schedule::{Event, reference_mode};
use super::state::{Holdings, Jobs, Sched, Source, TrainingMeta};
use crate::error::{RunError, gpu_index};
use crate::kernel::{Code, Ctx, EventCode, FactorId, Interests, Part, Signal};
use crate::site::{GpuLimits, Site};
use crate::work::{WorkKind, Works};
use output::{Sample, Summary};

/// The jobs of `loaded`'s workload: a synthetic stream on the scenario's random streams, or the loaded trace.
fn job_source(loaded: &LoadedScenario) -> Option<JobSource> {
    let sc = &loaded.scenario;
    match (&sc.workload, &loaded.trace_jobs) {
        (Workload::Inference(_), _) => None,
        (Workload::Synthetic(cfg), _) => Some(JobSource::Synthetic(Box::new(
            SyntheticSource::new(cfg, loaded.synthetic_mask, &RngStreams::new(sc.seed)),
        ))),
        (_, Some(jobs)) => Some(JobSource::Trace {
            jobs: jobs.clone(),
            masks: loaded.trace_masks.clone(),
            activity_milli: loaded
                .training
                .iter()
                .flatten()
                .map(|t| t.activity_milli)
                .collect(),
            next: 0,
        }),
        // A trace workload whose trace the loader did not read: nothing arrives.
        (_, None) => Some(JobSource::Trace {
            jobs: Vec::new(),
            masks: Vec::new(),
            activity_milli: Vec::new(),
            next: 0,
        }),
    }
}

/// Trace durations rescaled by GPU speed (`rescale` of a trace workload).
fn duration_scale(loaded: &LoadedScenario) -> Result<Option<DurationScale>, RunError> {
    let cat = &loaded.catalog;
    let t = match &loaded.scenario.workload {
        Workload::NativeTrace(t)
        | Workload::AlibabaPods(t)
        | Workload::PhillyLog(t)
        | Workload::HeliosLog(t) => t,
        _ => return Ok(None),
    };
    let Some(r) = &t.rescale else {
        return Ok(None);
    };
    let rec = &cat.gpus[gpu_index(cat, "workload.rescale.recorded_on", &r.recorded_on)?];
    Ok(Some(DurationScale(
        cat.gpus.iter().map(|g| r.factor(rec, g)).collect(),
    )))
}

/// The GPUs of a shared fleet's replicas (`serving`).
fn holdings(loaded: &LoadedScenario) -> Result<Option<Holdings>, RunError> {
    let Some(sv) = &loaded.scenario.serving else {
        return Ok(None);
    };
    let d = &sv.inference.deployment;
    let model = gpu_index(
        &loaded.catalog,
        "serving.inference.deployment.gpu_model",
        &d.gpu_model,
    )?;
    Ok(Some(Holdings::new(
        d.tp,
        model,
        sv.inference.replica_slots(),
        sv.make_room,
    )))
}

/// What the training summary needs of each model-driven training job.
fn training_meta(loaded: &LoadedScenario) -> Result<Option<Vec<TrainingMeta>>, RunError> {
    let Some(info) = &loaded.training else {
        return Ok(None);
    };
    let cat = &loaded.catalog;
    info.iter()
        .zip(loaded.trace_jobs.iter().flatten())
        .enumerate()
        .map(|(i, (t, spec))| {
            let field = format!("workload.Training.jobs[{i}].gpu_model");
            let gpu = &cat.gpus[gpu_index(cat, &field, &t.gpu_model)?];
            Ok(TrainingMeta {
                info: t.clone(),
                idle_w: gpu.idle_power_w,
                board_w: gpu.board_power_w,
                submit_s: spec.submit.as_secs_f64(),
            })
        })
        .collect::<Result<Vec<_>, RunError>>()
        .map(Some)
}

impl Jobs {
    /// The cluster part of `loaded` (scenarios with a job workload), on the site's server entities.
    /// `log`: keep a record of every job ([`crate::run_with_log`]). `limits_factor`: the factor this part keeps
    /// for the slowdown under GPU power limits.
    pub fn new(
        loaded: &LoadedScenario,
        world: &mut World,
        horizon: SimTime,
        log: bool,
        limits_factor: FactorId,
    ) -> Result<Option<Self>, RunError> {
        let Some(jobs) = job_source(loaded) else {
            return Ok(None);
        };
        let sc = &loaded.scenario;
        let access = crate::site::ServerAccess::new(world);
        let site = world.resource::<Site>();
        let servers = site.entities().to_vec();
        let loads = servers.iter().map(|&e| {
            world
                .get::<models::placement::ServerLoad>(e)
                .expect("server entity")
                .clone()
        });
        let order = match sc.scheduler.queue {
            QueuePolicy::Fifo | QueuePolicy::EasyBackfill => Order::Submission,
            QueuePolicy::ShortestJobFirst => Order::Shortest,
            QueuePolicy::Priority => Order::Priority,
        };
        let easy = sc.scheduler.queue == QueuePolicy::EasyBackfill;
        let index = SiteIndex::new(
            &loaded.site,
            access,
            servers.clone(),
            loads,
            sc.scheduler.placement,
            easy,
        );
        let counters = Counters {
            log: log.then(Vec::new),
            times: loaded
                .training
                .as_ref()
                .map(|t| vec![JobTime::default(); t.len()]),
            ..Counters::default()
        };
        Ok(Some(Jobs {
            training: training_meta(loaded)?,
            on_server: vec![Vec::new(); servers.len()],
            index,
            source: Source {
                jobs,
                capacity: SiteCapacity::new(&loaded.site),
                next_id: 0,
            },
            // SJF and EASY look past the head for jobs to start: they find them through a backlog.
            queue: JobQueue::new(
                order,
                matches!(
                    sc.scheduler.queue,
                    QueuePolicy::ShortestJobFirst | QueuePolicy::EasyBackfill
                ),
            ),
            jobs: Slab::default(),
            running: Vec::new(),
            running_pos: Vec::new(),
            sched: Sched::new(sc.scheduler),
            counters,
            scale: duration_scale(loaded)?,
            checkpoints: Checkpoints::new(loaded),
            dvfs: Dvfs::new(loaded),
            limits_factor,
            speed_dirty: Vec::new(),
            speed_mark: Vec::new(),
            holdings: holdings(loaded)?,
            downs: Vec::new(),
            claims_freed: false,
            limited: loaded.facility.is_some(),
            horizon,
            frag: (0.0, 0.0, 0),
            async_writes: 0,
        }))
    }

    /// The next job of the source is submitted.
    fn arrival(&mut self, ctx: &mut Ctx<'_, '_>) {
        let now = ctx.now();
        let src = &mut self.source;
        let Some((spec, mask, activity_milli)) = src.jobs.next_job() else {
            return;
        };
        let mut req = src.capacity.request(&spec, mask);
        req.activity_milli = activity_milli;
        let id = src.next_id;
        src.next_id += 1;
        if let Some(t) = src.jobs.peek_submit() {
            ctx.at(t.max(now), Event::Arrival);
        }
        let slot = self.jobs.insert(Job {
            id,
            submit: spec.submit,
            duration: spec.duration,
            req,
            start: None,
            grants: Vec::with_capacity(req.gpus.max(1) as usize),
            work: None,
            first_start: None,
            preemptions: 0,
            lost: SimDuration::ZERO,
            lost_steps: 0,
            restart: SimDuration::ZERO,
            train_left_ns: self
                .checkpoints
                .cycle(id)
                .map_or(0.0, |c| spec.duration.as_nanos() as f64 / c.plan_ratio),
            cycle: None,
            streaming: false,
            priority: spec.priority,
            work_left_ns: 0.0,
            rate: 1.0,
            rate_since: SimTime::ZERO,
            factors: [1.0; FactorId::MAX],
        });
        let c = &mut self.counters;
        c.submitted += 1;
        if let Some(log) = c.log.as_mut() {
            log.push(super::job::JobRecord {
                id,
                submit: spec.submit,
                start: None,
                finish: None,
                servers: Vec::new(),
                gpu_milli: req.gpus as u64 * req.gpu_milli as u64,
                preemptions: 0,
                interruptions: 0,
                running: false,
            });
        }
        // Rescaled durations: the queue sees the slowest eligible model's (a safe estimate for EASY).
        let duration = match &self.scale {
            Some(ds) => ds.scale(spec.duration, req.model_mask & self.index.models),
            None => spec.duration,
        };
        let q = Queued {
            slot,
            id,
            duration,
            req,
            priority: spec.priority,
        };
        let clean = self.sched.clean;
        let key = self.queue.insert(q);
        if clean && !reference_mode() {
            self.schedule_arrival(ctx, key);
        } else {
            self.schedule_pass(ctx);
        }
    }

    /// Running job `slot` finishes (if `run` is still its current run).
    pub(crate) fn finish(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32, run: u32) {
        if !self.jobs.is_current(slot, run) {
            return; // re-timed, preempted or finished since: stale
        }
        self.stop_stream(ctx, slot);
        let now = ctx.now();
        let job = self.jobs.remove(slot);
        self.track_running(slot, &job.grants, false);
        self.apply(ctx, &job.grants, &job.req, false, now);
        if let Some(w) = job.work {
            ctx.world.resource_mut::<Works>().close(w);
            ctx.emit(Signal::WorkStopped { work: w });
        }
        let c = &mut self.counters;
        let milli: u64 = job.grants.iter().map(|g| g.milli as u64).sum();
        c.restart_milli_ns += job.restart.as_nanos() as u128 * milli as u128;
        if let Some(times) = c.times.as_mut() {
            let t = &mut times[job.id as usize];
            t.finish = Some(now);
            t.ran_ns += (now - job.start.expect("running")).as_nanos();
            t.restart_ns += job.restart.as_nanos();
        }
        self.sched.clean = false;
        if let Some(log) = c.log.as_mut() {
            let r = &mut log[job.id as usize];
            r.finish = Some(now);
            r.running = false;
        }
        c.running -= 1;
        c.completed += 1;
        c.turnarounds_s.push((now - job.submit).as_secs_f64());
        self.schedule_pass(ctx);
        if self
            .holdings
            .as_ref()
            .is_some_and(|h| !h.pending.is_empty())
        {
            self.grant_pending(ctx);
        }
    }

    /// The slot of the running job whose current run is work item `work`, if any.
    fn running_slot(&self, world: &World, work: crate::work::WorkId) -> Option<u32> {
        let (kind, slot) = world
            .resource::<Works>()
            .get(work)
            .map(|e| (e.kind, e.handle))?;
        (kind == WorkKind::Job && self.is_running(slot) && self.jobs.get(slot).work == Some(work))
            .then_some(slot)
    }

    /// Stops the work on servers that went down: running jobs there are interrupted (back to the queue with
    /// the work up to their last checkpoint); a replica's GPUs there are the serving part's to give back.
    fn stop_work_on_downed(&mut self, ctx: &mut Ctx<'_, '_>) {
        if self.downs.is_empty() {
            return;
        }
        let downs = std::mem::take(&mut self.downs);
        let mut victims: Vec<(u64, u32)> = Vec::new();
        for &s in &downs {
            victims.extend(
                self.on_server[s as usize]
                    .iter()
                    .map(|&slot| (self.jobs.get(slot).id, slot)),
            );
        }
        victims.sort_unstable();
        victims.dedup();
        for (_, slot) in victims {
            if self.is_running(slot) {
                let id = self.jobs.get(slot).id;
                self.preempt(ctx, slot);
                self.counters.interrupted += 1;
                if let Some(log) = self.counters.log.as_mut() {
                    log[id as usize].interruptions += 1;
                }
            }
        }
        self.sched.reservation = None;
        self.schedule_pass(ctx);
    }
}

impl Part for Jobs {
    fn name(&self) -> &'static str {
        "jobs"
    }

    fn start(&mut self, ctx: &mut Ctx<'_, '_>) {
        if let Some(t) = self
            .source
            .jobs
            .peek_submit()
            .filter(|&t| t <= self.horizon)
        {
            ctx.at(t, Event::Arrival);
        }
    }

    fn handle(&mut self, ctx: &mut Ctx<'_, '_>, code: Code) {
        match Event::decode(code) {
            Event::Arrival => self.arrival(ctx),
            Event::Finish { slot, run } => {
                if self.jobs.is_current(slot, run) && self.jobs.get(slot).cycle.is_some() {
                    self.cycle_stop(ctx, slot, run);
                } else {
                    self.finish(ctx, slot, run);
                }
            }
            Event::Resume { slot, run } => {
                if self.jobs.is_current(slot, run) {
                    self.cycle_resume(ctx, slot);
                }
            }
            Event::Written { slot, seq } => self.async_written(ctx, slot, seq),
        }
    }

    fn interests(&self) -> Interests {
        let mut i = Interests::RATE_FACTOR
            .with(Interests::SERVER_DOWN)
            .with(Interests::SERVER_UP)
            .with(Interests::IO_DONE);
        if self.limited {
            i = i
                .with(Interests::LIMITS_CHANGED)
                .with(Interests::LOAD_CHANGED);
        }
        if self.holdings.is_some() {
            i = i.with(Interests::CLAIM_GPUS).with(Interests::RELEASE_GPUS);
        }
        i
    }

    fn react(&mut self, ctx: &mut Ctx<'_, '_>, signal: &Signal) {
        match *signal {
            Signal::LimitsChanged { server } => self.limits_changed(server),
            Signal::LoadChanged { server } => {
                // A GPU's demand under a finite limit sets the job's speed there.
                if !ctx.world.resource::<crate::site::Site>().any_limits() {
                    return;
                }
                let e = self.index.servers[server as usize];
                let limited = ctx
                    .world
                    .get::<GpuLimits>(e)
                    .is_some_and(|l| l.effective().iter().any(|c| c.is_finite()));
                if limited {
                    self.limits_changed(server);
                }
            }
            Signal::RateFactor {
                work,
                factor,
                value,
            } => {
                if let Some(slot) = self.running_slot(ctx.world, work) {
                    self.set_factor(ctx, slot, factor, value);
                }
            }
            Signal::ServerDown { server } => {
                let load = ctx
                    .world
                    .get::<models::placement::ServerLoad>(self.index.servers[server as usize])
                    .expect("server entity")
                    .clone();
                self.index.take_down(server as usize, &load);
                self.downs.push(server);
            }
            Signal::ServerUp { server } => {
                let load = ctx
                    .world
                    .get::<models::placement::ServerLoad>(self.index.servers[server as usize])
                    .expect("server entity")
                    .clone();
                self.index.bring_up(server as usize, &load);
                self.sched.clean = false;
                self.schedule_pass(ctx);
            }
            Signal::IoDone { io } if io.part == ctx.part() => {
                let work = crate::work::WorkId::from_bits(io.key);
                if let Some(slot) = self.running_slot(ctx.world, work) {
                    self.cycle_resume(ctx, slot);
                }
            }
            Signal::ClaimGpus { slot } if self.holdings.is_some() => self.claim(ctx, slot),
            Signal::ReleaseGpus { slot } if self.holdings.is_some() => {
                self.claims_freed |= self.release(ctx, slot);
            }
            _ => {}
        }
    }

    fn settle(&mut self, ctx: &mut Ctx<'_, '_>) {
        if std::mem::take(&mut self.claims_freed) {
            // Replica GPUs came back: waiting replicas first, then the queue.
            self.sched.clean = false;
            if self
                .holdings
                .as_ref()
                .is_some_and(|h| !h.pending.is_empty())
            {
                self.grant_pending(ctx);
            } else {
                self.schedule_pass(ctx);
            }
        }
        self.stop_work_on_downed(ctx);
        self.retime_marked(ctx);
    }

    fn sample(&mut self, world: &mut World, _t: SimTime, row: &mut Sample) {
        let frag = self.fragmented_gpus(world);
        self.frag.0 += frag;
        self.frag.1 = self.frag.1.max(frag);
        self.frag.2 += 1;
        row.running_jobs = self.counters.running;
        row.queued_jobs = self.queue.len() as u64;
    }

    fn summarize(&mut self, world: &mut World, horizon: SimTime, out: &mut Summary) {
        self.write_summary(world, horizon, out);
    }
}
