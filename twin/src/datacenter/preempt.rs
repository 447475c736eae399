//! Preemption: stopping running jobs to make room (for inference replicas in a shared fleet, or for a
//! higher-priority job under the `Priority` queue). docs/models.md §Shared fleet, §Scheduling policies.
//!
//! A preempted job releases its GPUs and goes back to the queue, in queue order, with the work it kept:
//! everything up to its last checkpoint (period `P`, run time `e` since it (re)started: kept `⌊e/P⌋·P`).

use bevy_ecs::prelude::*;
use sim::{SimDuration, SimTime};

use super::{Counters, Job, JobQueue, JobTimes, Queued, Sched, SiteIndex, apply_job};
use models::placement::{Grant, JobReq, ServerLoad, WHOLE_GPU_MILLI};
use scenario::{LoadedScenario, QueuePolicy};

/// How much of its work a preempted job keeps.
#[derive(Resource)]
pub(super) struct Checkpoints {
    /// Checkpoint period of each training job by id (`every_s + write_s`; None: no checkpoints).
    period_by_id: Vec<Option<SimDuration>>,
    /// Trace and synthetic jobs: `scheduler.job_checkpoint_s`.
    default_period: Option<SimDuration>,
    /// Training jobs by id: (training time between checkpoints, step time), for lost steps.
    steps_by_id: Vec<Option<(SimDuration, SimDuration)>>,
}

impl Checkpoints {
    pub(super) fn new(loaded: &LoadedScenario) -> Self {
        let secs = |s: f64| SimDuration::from_secs_f64(s).filter(|d| !d.is_zero());
        let training = loaded.training.as_deref().unwrap_or(&[]);
        Checkpoints {
            period_by_id: training
                .iter()
                .map(|t| {
                    t.checkpoint
                        .as_ref()
                        .and_then(|c| secs(c.every_s + c.write_s))
                })
                .collect(),
            default_period: loaded.scenario.scheduler.job_checkpoint_s.and_then(secs),
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
        }
    }

    /// (work kept, work lost) of job `id` that has run `elapsed` since it (re)started.
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

/// Where `q` goes in the queue: its policy's order (FIFO/EASY: submission; SJF: remaining run time;
/// Priority: priority, then submission).
pub(super) fn queue_position(world: &World, q: &Queued) -> usize {
    let queue = &world.resource::<JobQueue>().0;
    match world.resource::<Sched>().cfg.queue {
        QueuePolicy::ShortestJobFirst => {
            queue.partition_point(|x| (x.duration, x.id) <= (q.duration, q.id))
        }
        QueuePolicy::Priority => {
            queue.partition_point(|x| (u8::MAX - x.priority, x.id) <= (u8::MAX - q.priority, q.id))
        }
        _ => queue.partition_point(|x| x.id <= q.id),
    }
}

/// Running jobs that may be preempted now: priority below `below` and not finishing at this instant; with
/// their priority and the work preempting them would lose (thousandths of a GPU × ns).
fn candidates(world: &mut World, now: SimTime, below: u16) -> Vec<(Entity, u8, u128)> {
    let mut q = world.query::<(Entity, &Job)>();
    let h = world.resource::<Checkpoints>();
    q.iter(world)
        .filter_map(|(e, job)| {
            let start = job.start?;
            let left_ns = job.work_left_ns - (now - job.rate_since).as_nanos() as f64 / job.rate;
            if left_ns <= 0.0 || job.priority as u16 >= below {
                return None;
            }
            let (_, lost) = h.split(job.id, now - start);
            let milli: u64 = job.grants.iter().map(|g| g.milli as u64).sum();
            Some((e, job.priority, lost.as_nanos() as u128 * milli as u128))
        })
        .collect()
}

/// The running jobs to preempt so that `req` fits on one server, choosing the server where they lose the least
/// work (GPU·ns since their last checkpoint; ties: the lowest server id). None when no server can be freed
/// (jobs finishing at this instant are not preempted). Only jobs of priority below `below` are candidates
/// (inference replicas pass 256: every job).
pub(super) fn cheapest_victims(
    world: &mut World,
    req: &JobReq,
    now: SimTime,
    below: u16,
) -> Option<Vec<Entity>> {
    let n_servers = world.resource::<SiteIndex>().servers.len();
    // (job, cost) per server; a job spanning servers is listed on each.
    let mut on_server: Vec<Vec<(Entity, u128)>> = vec![Vec::new(); n_servers];
    for (e, _, cost) in candidates(world, now, below) {
        let job = world.get::<Job>(e).expect("job");
        let mut last = u32::MAX;
        for g in &job.grants {
            if g.server != last {
                on_server[g.server as usize].push((e, cost));
                last = g.server;
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
        let (mut cpu, mut mem) = (load.free_cpu_milli, load.free_memory_mib);
        let slots = load.gpus as usize;
        let fits = |used: &[u16], cpu: u64, mem: u64| {
            used[..slots].iter().filter(|&&u| u == 0).count() as u32 >= req.gpus
                && cpu >= req.cpu_milli
                && mem >= req.memory_mib
        };
        if fits(&used, cpu, mem) {
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
            // A single-server job's host resources are on its server.
            if !job.req.multi_server {
                cpu += job.req.cpu_milli;
                mem += job.req.memory_mib;
            }
            total += cost;
            victims.push(e);
            if fits(&used, cpu, mem) {
                break;
            }
        }
        if fits(&used, cpu, mem) && best.as_ref().is_none_or(|b| total < b.0) {
            best = Some((total, s, victims));
        }
    }
    best.map(|(_, _, v)| v)
}

/// Preempts running job `e` at `now`: its GPUs are released, the work since its last checkpoint is lost, and
/// it goes back to the queue (in queue order) with the rest of its work.
pub(super) fn preempt(world: &mut World, e: Entity, now: SimTime) {
    let mut job = world.get_mut::<Job>(e).expect("running job");
    let start = job.start.take().expect("running job");
    let id = job.id;
    let elapsed = now - start;
    let (kept, lost, steps) = {
        let h = world.resource::<Checkpoints>();
        let (kept, lost) = h.split(id, elapsed);
        (kept, lost, h.lost_steps(id, lost))
    };
    let mut job = world.get_mut::<Job>(e).expect("running job");
    // Work kept: the wall time kept at rate 1; otherwise the same share of the work done (rates change only
    // with a network fabric).
    let kept_work = if job.rate == 1.0 && job.rate_since == start {
        kept.as_nanos()
    } else {
        let done_now = (now - job.rate_since).as_nanos() as f64 / job.rate;
        let done = job.duration.as_nanos() as f64 - (job.work_left_ns - done_now).max(0.0);
        let e_ns = elapsed.as_nanos().max(1) as f64;
        ((done * kept.as_nanos() as f64 / e_ns).floor() as u64).min(job.duration.as_nanos())
    };
    job.duration = SimDuration::from_nanos(job.duration.as_nanos() - kept_work);
    job.rate = 1.0;
    job.fabric_rate = 1.0;
    job.cap_rate = 1.0;
    job.run += 1;
    job.preemptions += 1;
    job.lost = job.lost.saturating_add(lost);
    job.lost_steps += steps;
    let grants = std::mem::take(&mut job.grants);
    let (req, duration, priority) = (job.req, job.duration, job.priority);
    apply_job(world, &grants, &req, false, now);
    reset_free_at(world, &grants, now);
    if let Some(mut f) = world.get_resource_mut::<super::network::FabricRun>() {
        f.dirty = true;
    }
    let milli: u64 = grants.iter().map(|g| g.milli as u64).sum();
    let mut job = world.get_mut::<Job>(e).expect("job");
    job.grants = grants;
    job.grants.clear();
    if let Some(mut times) = world.get_resource_mut::<JobTimes>() {
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
        priority,
    };
    let pos = queue_position(world, &q);
    let mut queue = world.resource_mut::<JobQueue>();
    queue.0.insert(pos, q);
    let mut st = world.resource_mut::<Sched>();
    st.clean = false;
    st.reservation = None;
}

/// Whole GPUs released before the finish time recorded for them (EASY reservations) are free from `now`.
pub(super) fn reset_free_at(world: &mut World, grants: &[Grant], now: SimTime) {
    let mut index = world.resource_mut::<SiteIndex>();
    if index.slot_free_at.is_empty() {
        return;
    }
    for g in grants.iter().filter(|g| g.milli == WHOLE_GPU_MILLI) {
        index.slot_free_at[g.server as usize][g.slot as usize] = now;
    }
}

/// `Priority` queue: makes room for the blocked `head` by preempting running jobs of lower priority, if that can
/// make it fit; then plans it into `grants`. A single-server head takes the one server where the preempted jobs
/// lose least work; a multi-server head preempts jobs of the lowest priority first (then least lost work) until
/// it fits. Shared-GPU heads never preempt. False (and nothing preempted) when no such room exists.
pub(super) fn make_room_for(
    world: &mut World,
    head: &Queued,
    now: SimTime,
    grants: &mut Vec<Grant>,
) -> bool {
    let req = head.req;
    if req.gpus == 0 || req.gpu_milli != WHOLE_GPU_MILLI {
        return false;
    }
    let below = head.priority as u16;
    if !req.multi_server {
        let Some(victims) = cheapest_victims(world, &req, now, below) else {
            return false;
        };
        for v in victims {
            preempt(world, v, now);
        }
        return super::try_plan(world, &req, None, grants);
    }
    // Multi-server: whole GPUs of eligible servers that are free, or held only by lower-priority jobs.
    let mut candidates_sorted: Vec<(u8, u128, Entity)> = Vec::new();
    let n_servers = world.resource::<SiteIndex>().servers.len();
    let mut freed_milli: Vec<[u16; models::placement::MAX_GPUS_PER_SERVER as usize]> =
        vec![[0; models::placement::MAX_GPUS_PER_SERVER as usize]; n_servers];
    for (e, priority, cost) in candidates(world, now, below) {
        candidates_sorted.push((priority, cost, e));
        for g in &world.get::<Job>(e).expect("job").grants {
            freed_milli[g.server as usize][g.slot as usize] += g.milli;
        }
    }
    let index = world.resource::<SiteIndex>();
    let mut whole = 0u64;
    for (s, freed) in freed_milli.iter().enumerate() {
        let topo = &index.topo;
        if (req.model_mask >> topo.model[s]) & 1 == 0 {
            continue;
        }
        let load = world
            .get::<ServerLoad>(index.servers[s])
            .expect("server entity");
        whole += (0..load.gpus as usize)
            .filter(|&k| load.used_milli[k] == freed[k])
            .count() as u64;
    }
    if whole < req.gpus as u64 {
        return false;
    }
    candidates_sorted.sort_by_key(|&(p, cost, e)| (p, cost, e.index()));
    for (_, _, e) in candidates_sorted {
        preempt(world, e, now);
        if super::try_plan(world, &req, None, grants) {
            return true;
        }
    }
    false
}
