//! Shared fleet: LLM inference replicas and jobs on one cluster, inference first (docs/models.md §Shared fleet).
//!
//! One engine runs both models: [`SharedEvent`] wraps the cluster's and the serving model's events, and each
//! model's handler runs unchanged. The serving model reports replica slots switched on or off
//! ([`Fleet::claims`]); after every serving event the cluster grants or takes back their GPUs:
//! - a slot switched on gets `tp` whole GPUs of the deployment's model inside one server, from free capacity
//!   (the scenario's placement policy) or, under [`MakeRoom::Preempt`], by preempting the running jobs of the
//!   server where that loses least work (GPU·s since each job's last checkpoint); under [`MakeRoom::Wait`] it
//!   waits, and no job starts until every waiting slot has its GPUs;
//! - a warming slot's model load (`warmup_s`) starts when its GPUs are granted;
//! - a slot switched off gives its GPUs back, and the queue is scheduled again.
//!
//! Preempted jobs go back to the queue (in its order) with the work they kept: everything up to their last
//! checkpoint. Lost work and lost training steps are counted per job.
//!
//! Power: held replica GPUs are allocated in the cluster at idle activity ([`HELD_IDLE`]), so host power sees
//! them; the serving model meters their power above idle. The whole IT power (cluster + serving excess) drives
//! one facility meter, kept exact at every event of either model.

use std::collections::VecDeque;

use bevy_ecs::prelude::*;
use sim::{Scheduler, SimDuration, SimTime};

use super::{
    Counters, Event, Job, JobQueue, Meters, Queued, Sched, SiteIndex, apply_job, schedule_pass,
    try_plan,
};
use crate::inference::serve::{self, Fleet};
use crate::placement::{Grant, HELD_IDLE, JobReq, ServerLoad, WHOLE_GPU_MILLI};
use crate::scenario::{LoadedScenario, MakeRoom, QueuePolicy};

/// Events of a shared fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedEvent {
    /// Grants the initial replicas their GPUs (first event at time zero).
    Start,
    Cluster(Event),
    Serve(serve::Event),
}

impl From<Event> for SharedEvent {
    fn from(e: Event) -> Self {
        SharedEvent::Cluster(e)
    }
}

impl From<serve::Event> for SharedEvent {
    fn from(e: serve::Event) -> Self {
        SharedEvent::Serve(e)
    }
}

/// Which GPUs each replica slot holds, the slots waiting for GPUs, and how jobs lose work when preempted.
#[derive(Resource)]
pub(super) struct Holdings {
    /// `tp` whole GPUs of the deployment's model inside one server, held at idle activity.
    req: JobReq,
    /// Per slot: its GPUs (empty: none).
    grants: Vec<Vec<Grant>>,
    pending: VecDeque<u32>,
    make_room: MakeRoom,
    warmup: SimDuration,
    /// Checkpoint period of each job by id (training jobs: `every_s + write_s`), else `default_period`.
    period_by_id: Vec<Option<SimDuration>>,
    default_period: Option<SimDuration>,
    /// Training jobs by id: (training time between checkpoints, step time), for lost steps.
    steps_by_id: Vec<Option<(SimDuration, SimDuration)>>,
    /// Replica GPUs held now, and ∫ held dt (GPU·ns), for the idle energy charged to serving.
    held_gpus: u64,
    held_gpu_ns: u128,
    last: SimTime,
    /// Jobs preempted to make room for replicas; replica grants that waited.
    pub preemptions: u64,
    pub waited: u64,
}

impl Holdings {
    pub(super) fn new(loaded: &LoadedScenario) -> Self {
        let sv = loaded.scenario.serving.as_ref().expect("shared fleet");
        let d = &sv.inference.deployment;
        let model = loaded.catalog.index_of(&d.gpu_model).expect("validated");
        let secs = |s: f64| SimDuration::from_secs_f64(s).filter(|d| !d.is_zero());
        let training = loaded.training.as_deref().unwrap_or(&[]);
        Holdings {
            req: JobReq {
                gpus: d.tp,
                gpu_milli: WHOLE_GPU_MILLI,
                cpu_milli: 0,
                memory_mib: 0,
                model_mask: 1 << model,
                multi_server: false,
                activity_milli: HELD_IDLE,
            },
            grants: vec![Vec::new(); sv.inference.replica_slots() as usize],
            pending: VecDeque::new(),
            make_room: sv.make_room,
            warmup: sv
                .inference
                .autoscaling
                .map(|a| SimDuration::from_secs_f64(a.warmup_s).expect("validated"))
                .unwrap_or(SimDuration::ZERO),
            period_by_id: training
                .iter()
                .map(|t| {
                    t.checkpoint
                        .as_ref()
                        .and_then(|c| secs(c.every_s + c.write_s))
                })
                .collect(),
            default_period: sv.job_checkpoint_s.and_then(secs),
            steps_by_id: training
                .iter()
                .map(|t| {
                    let every = t.checkpoint.as_ref().and_then(|c| secs(c.every_s));
                    Some((
                        every.unwrap_or(SimDuration::MAX),
                        secs(t.estimate.step.total_s)?,
                    ))
                })
                .collect(),
            held_gpus: 0,
            held_gpu_ns: 0,
            last: SimTime::ZERO,
            preemptions: 0,
            waited: 0,
        }
    }

    fn advance(&mut self, now: SimTime) {
        self.held_gpu_ns += self.held_gpus as u128 * (now - self.last).as_nanos() as u128;
        self.last = now;
    }

    /// ∫ held replica GPUs dt up to `now`, GPU·s.
    pub(super) fn held_gpu_s(&mut self, now: SimTime) -> f64 {
        self.advance(now);
        self.held_gpu_ns as f64 * 1e-9
    }

    /// (work kept, work lost) of a job of id `id` that has run `elapsed` since it (re)started.
    fn split(&self, id: u64, elapsed: SimDuration) -> (SimDuration, SimDuration) {
        let period = match self.period_by_id.get(id as usize) {
            Some(p) => *p,
            None => self.default_period,
        };
        let kept = match period {
            Some(p) => SimDuration::from_nanos(elapsed.as_nanos() / p.as_nanos() * p.as_nanos()),
            None => SimDuration::ZERO,
        };
        (
            kept,
            SimDuration::from_nanos(elapsed.as_nanos() - kept.as_nanos()),
        )
    }

    /// Whole training steps done since the last checkpoint and lost with `lost` (0 for other jobs).
    fn lost_steps(&self, id: u64, lost: SimDuration) -> u64 {
        match self.steps_by_id.get(id as usize) {
            Some(Some((every, step))) => lost.min(*every).as_nanos() / step.as_nanos(),
            _ => 0,
        }
    }
}

/// The shared fleet's event handler.
pub(super) fn handle(world: &mut World, sched: &mut Scheduler<SharedEvent>, ev: SharedEvent) {
    let now = sched.now();
    match ev {
        SharedEvent::Start => {
            world.resource_mut::<Meters>().advance(now);
            apply_claims(world, sched);
        }
        SharedEvent::Cluster(e) => {
            let finish = matches!(e, Event::Finish(..));
            super::handle(world, sched, e);
            if finish && !world.resource::<Holdings>().pending.is_empty() {
                grant_pending(world, sched);
            }
        }
        SharedEvent::Serve(e) => {
            serve::handle(world, sched, e);
            apply_claims(world, sched);
        }
    }
    sync_power(world, now);
}

/// Brings the whole-IT meter and the facility meter to the serving model's current power.
fn sync_power(world: &mut World, now: SimTime) {
    let extra = world.resource::<Fleet>().it.power_w();
    let mut m = world.resource_mut::<Meters>();
    if extra == m.extra_it_w {
        return;
    }
    m.advance(now);
    let d = extra - m.extra_it_w;
    m.extra_it_w = extra;
    if let Some(c) = &mut m.combined {
        c.add(d);
    }
    let total = m.it.power_w() + extra;
    if let Some(f) = &mut m.facility {
        f.set_it_power(now, total);
    }
}

/// Grants or takes back the GPUs of the slots the serving model switched on or off.
fn apply_claims(world: &mut World, sched: &mut Scheduler<SharedEvent>) {
    let mut claims = match world.resource_mut::<Fleet>().claims.as_mut() {
        Some(c) if !c.is_empty() => std::mem::take(c),
        _ => return,
    };
    world.resource_mut::<Meters>().advance(sched.now());
    let mut freed = false;
    for &(slot, on) in &claims {
        if on {
            claim(world, sched, slot);
        } else {
            freed |= release(world, slot, sched.now());
        }
    }
    claims.clear();
    if let Some(c) = world.resource_mut::<Fleet>().claims.as_mut() {
        *c = claims;
    }
    if freed {
        world.resource_mut::<Sched>().clean = false;
        if !world.resource::<Holdings>().pending.is_empty() {
            grant_pending(world, sched);
        } else {
            schedule_pass(world, sched);
        }
    }
}

/// Slot `slot` is switched on: give it GPUs now, or make it wait.
fn claim(world: &mut World, sched: &mut Scheduler<SharedEvent>, slot: u32) {
    let now = sched.now();
    let req = world.resource::<Holdings>().req;
    let mut grants = Vec::with_capacity(req.gpus as usize);
    if !world.resource::<Holdings>().pending.is_empty()
        || !(try_plan(world, &req, None, &mut grants) || make_room(world, &req, now, &mut grants))
    {
        let mut h = world.resource_mut::<Holdings>();
        h.pending.push_back(slot);
        h.waited += 1;
        world.resource_mut::<Sched>().hold = true;
        return;
    }
    grant(world, sched, slot, grants);
}

/// Under `Preempt`: preempts the cheapest set of jobs on one server that frees `req`, then plans it.
fn make_room(world: &mut World, req: &JobReq, now: SimTime, grants: &mut Vec<Grant>) -> bool {
    if world.resource::<Holdings>().make_room != MakeRoom::Preempt {
        return false;
    }
    let Some(victims) = cheapest_victims(world, req, now) else {
        return false;
    };
    for v in victims {
        preempt(world, v, now);
        world.resource_mut::<Holdings>().preemptions += 1;
    }
    try_plan(world, req, None, grants)
}

/// Gives slot `slot` its GPUs; a warming slot starts loading its model.
fn grant(world: &mut World, sched: &mut Scheduler<SharedEvent>, slot: u32, grants: Vec<Grant>) {
    let now = sched.now();
    let req = world.resource::<Holdings>().req;
    apply_job(world, &grants, &req, true, SimTime::MAX);
    let server = grants[0].server as usize;
    let psu = {
        let e = world.resource::<SiteIndex>().servers[server];
        world
            .get::<crate::power::ServerPowerModel>(e)
            .expect("server entity")
            .host
            .psu_efficiency
    };
    let mut h = world.resource_mut::<Holdings>();
    h.advance(now);
    h.held_gpus += grants.len() as u64;
    let warmup = h.warmup;
    h.grants[slot as usize] = grants;
    let ready = world
        .resource_mut::<Fleet>()
        .granted(slot as usize, now, warmup, psu);
    if let Some(at) = ready {
        sched.at(at, serve::Event::Ready(slot).into());
    }
}

/// Slot `slot` is switched off: its GPUs go back to the cluster (or its wait ends). True if GPUs were freed.
fn release(world: &mut World, slot: u32, now: SimTime) -> bool {
    let mut h = world.resource_mut::<Holdings>();
    if let Some(i) = h.pending.iter().position(|&s| s == slot) {
        h.pending.remove(i);
        if h.pending.is_empty() {
            world.resource_mut::<Sched>().hold = false;
            world.resource_mut::<Sched>().clean = false;
        }
        return false;
    }
    let grants = std::mem::take(&mut h.grants[slot as usize]);
    if grants.is_empty() {
        return false;
    }
    h.advance(now);
    h.held_gpus -= grants.len() as u64;
    let req = h.req;
    apply_job(world, &grants, &req, false, now);
    reset_free_at(world, &grants, now);
    true
}

/// Whole GPUs released before the finish time recorded for them (EASY reservations) are free from `now`.
fn reset_free_at(world: &mut World, grants: &[Grant], now: SimTime) {
    let mut index = world.resource_mut::<SiteIndex>();
    if index.slot_free_at.is_empty() {
        return;
    }
    for g in grants.iter().filter(|g| g.milli == WHOLE_GPU_MILLI) {
        index.slot_free_at[g.server as usize][g.slot as usize] = now;
    }
}

/// Grants waiting slots in order while they fit; when none waits any more, jobs may start again.
fn grant_pending(world: &mut World, sched: &mut Scheduler<SharedEvent>) {
    let now = sched.now();
    world.resource_mut::<Meters>().advance(now);
    let req = world.resource::<Holdings>().req;
    let mut grants = Vec::with_capacity(req.gpus as usize);
    while let Some(&slot) = world.resource::<Holdings>().pending.front() {
        if !(try_plan(world, &req, None, &mut grants) || make_room(world, &req, now, &mut grants)) {
            return;
        }
        world.resource_mut::<Holdings>().pending.pop_front();
        grant(world, sched, slot, std::mem::take(&mut grants));
    }
    let mut st = world.resource_mut::<Sched>();
    st.hold = false;
    st.clean = false;
    schedule_pass(world, sched);
}

/// The running jobs to preempt so that `req` fits on one server, choosing the server where they lose the least
/// work (GPU·ns since their last checkpoint; ties: the lowest server id). None when no server can be freed
/// (jobs finishing at this instant are not preempted).
fn cheapest_victims(world: &mut World, req: &JobReq, now: SimTime) -> Option<Vec<Entity>> {
    let n_servers = world.resource::<SiteIndex>().servers.len();
    // (job, cost) per server; a job spanning servers is listed on each.
    let mut on_server: Vec<Vec<(Entity, u128)>> = vec![Vec::new(); n_servers];
    let mut q = world.query::<(Entity, &Job)>();
    {
        let h = world.resource::<Holdings>();
        for (e, job) in q.iter(world) {
            let Some(start) = job.start else { continue };
            if start.saturating_add(job.duration) <= now {
                continue;
            }
            let (_, lost) = h.split(job.id, now - start);
            let milli: u64 = job.grants.iter().map(|g| g.milli as u64).sum();
            let cost = lost.as_nanos() as u128 * milli as u128;
            let mut last = u32::MAX;
            for g in &job.grants {
                if g.server != last {
                    on_server[g.server as usize].push((e, cost));
                    last = g.server;
                }
            }
        }
    }
    let index = world.resource::<SiteIndex>();
    let mut best: Option<(u128, usize, Vec<Entity>)> = None;
    for (s, jobs) in on_server.iter_mut().enumerate() {
        let topo = &index.topo;
        if (topo.gpus[s] as u32) < req.gpus || (req.model_mask >> topo.model[s]) & 1 == 0 {
            continue;
        }
        let load = world
            .get::<ServerLoad>(index.servers[s])
            .expect("server entity");
        let mut used = load.used_milli;
        let slots = load.gpus as usize;
        let free = |used: &[u16]| used[..slots].iter().filter(|&&u| u == 0).count() as u32;
        if free(&used) >= req.gpus {
            continue; // it fits already (placement policy said otherwise only for other reasons)
        }
        jobs.sort_by_key(|&(e, cost)| (cost, e.index()));
        let mut total = 0u128;
        let mut victims = Vec::new();
        for &(e, cost) in jobs.iter() {
            let job = world.get::<Job>(e).expect("job");
            for g in job.grants.iter().filter(|g| g.server as usize == s) {
                used[g.slot as usize] -= g.milli;
            }
            total += cost;
            victims.push(e);
            if free(&used) >= req.gpus {
                break;
            }
        }
        if free(&used) >= req.gpus && best.as_ref().is_none_or(|b| total < b.0) {
            best = Some((total, s, victims));
        }
    }
    best.map(|(_, _, v)| v)
}

/// Preempts running job `e` at `now`: its GPUs are released, the work since its last checkpoint is lost, and
/// it goes back to the queue (in queue order) with the rest of its work.
fn preempt(world: &mut World, e: Entity, now: SimTime) {
    let mut job = world.get_mut::<Job>(e).expect("running job");
    let start = job.start.take().expect("running job");
    let id = job.id;
    let elapsed = now - start;
    let (kept, lost, steps) = {
        let h = world.resource::<Holdings>();
        let (kept, lost) = h.split(id, elapsed);
        (kept, lost, h.lost_steps(id, lost))
    };
    let mut job = world.get_mut::<Job>(e).expect("running job");
    job.duration = SimDuration::from_nanos(job.duration.as_nanos() - kept.as_nanos());
    job.run += 1;
    job.preemptions += 1;
    job.lost = job.lost.saturating_add(lost);
    job.lost_steps += steps;
    let grants = std::mem::take(&mut job.grants);
    let (req, duration) = (job.req, job.duration);
    apply_job(world, &grants, &req, false, now);
    reset_free_at(world, &grants, now);
    let milli: u64 = grants.iter().map(|g| g.milli as u64).sum();
    let mut job = world.get_mut::<Job>(e).expect("job");
    job.grants = grants;
    job.grants.clear();
    if let Some(mut times) = world.get_resource_mut::<super::JobTimes>() {
        let t = &mut times.0[id as usize];
        t.ran_ns += elapsed.as_nanos();
        t.preemptions += 1;
        t.lost_ns += lost.as_nanos();
        t.lost_steps += steps;
    }
    let mut c = world.resource_mut::<Counters>();
    c.running -= 1;
    c.preemptions += 1;
    c.lost_milli_ns += lost.as_nanos() as u128 * milli as u128;
    let q = Queued {
        job: e,
        id,
        duration,
        req,
    };
    let sjf = world.resource::<Sched>().cfg.queue == QueuePolicy::ShortestJobFirst;
    let mut queue = world.resource_mut::<JobQueue>();
    let pos = if sjf {
        queue
            .0
            .partition_point(|x| (x.duration, x.id) <= (q.duration, q.id))
    } else {
        queue.0.partition_point(|x| x.id < q.id)
    };
    queue.0.insert(pos, q);
    let mut st = world.resource_mut::<Sched>();
    st.clean = false;
    st.reservation = None;
}
