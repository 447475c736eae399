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

use super::preempt::{cheapest_victims, preempt, reset_free_at};
use super::{Event, Meters, Sched, SiteIndex, apply_job, schedule_pass, try_plan};
use crate::inference::serve::{self, Fleet};
use models::placement::{Grant, HELD_IDLE, JobReq, WHOLE_GPU_MILLI};
use scenario::{LoadedScenario, MakeRoom};

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
    super::network::reprice_if_dirty(world, sched);
    super::capping_run::observe_if_stale(world, now);
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
    let Some(victims) = cheapest_victims(world, req, now, 256) else {
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
            .get::<models::power::ServerPowerModel>(e)
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
