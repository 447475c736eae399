//! Preemption: stopping running jobs to make room (for inference replicas in a shared fleet, or for a
//! higher-priority job under the `Priority` queue), or because their server went down
//! (docs/models.md §Shared fleet, §Scheduling policies).
//!
//! A preempted job releases its GPUs and goes back to the queue, in queue order, with the work it kept:
//! everything up to its last checkpoint (period `P`, run time `e` since it (re)started: kept `⌊e/P⌋·P`).

use models::placement::{Grant, JobReq, MAX_GPUS_PER_SERVER, ServerLoad, WHOLE_GPU_MILLI};
use sim::{SimDuration, SimTime};

use super::job::Queued;
use super::schedule::try_plan;
use super::state::Jobs;
use crate::kernel::{Ctx, Signal};
use crate::work::Works;

impl Jobs {
    /// Running jobs that may be preempted now: priority below `below` and not finishing at this instant; with
    /// their priority and the work preempting them would lose (thousandths of a GPU × ns). In the order of
    /// the running list.
    fn candidates(&self, now: SimTime, below: u16, out: &mut Vec<(u32, u8, u128)>) {
        out.clear();
        for &slot in &self.running {
            let job = self.jobs.get(slot);
            let start = job.start.expect("running job");
            if job.left_at(now) <= 0.0 || job.priority as u16 >= below {
                continue;
            }
            let lost = if job.cycle.is_some() {
                self.cycle_loss(slot, now).1
            } else {
                let trained = SimDuration::from_nanos(
                    (now - start)
                        .as_nanos()
                        .saturating_sub(job.restart.as_nanos()),
                );
                self.checkpoints.split(job.id, trained).1
            };
            let milli: u64 = job.grants.iter().map(|g| g.milli as u64).sum();
            out.push((slot, job.priority, lost.as_nanos() as u128 * milli as u128));
        }
    }

    /// The running jobs to preempt so that `req` fits on one server that is up, choosing the server where they
    /// lose the least work (GPU·ns since their last checkpoint; ties: the lowest server id; within a server,
    /// the cheapest jobs first, ties by job id). None when no server can be freed (jobs finishing at this
    /// instant are not preempted). Only jobs of priority below `below` are candidates (inference replicas pass
    /// 256: every job).
    pub(crate) fn cheapest_victims(
        &self,
        world: &bevy_ecs::world::World,
        req: &JobReq,
        now: SimTime,
        below: u16,
    ) -> Option<Vec<u32>> {
        let mut cands = Vec::new();
        self.candidates(now, below, &mut cands);
        let cost_of = |slot: u32| cands.iter().find(|c| c.0 == slot).map(|c| c.2);
        let index = &self.index;
        let topo = &index.topo;
        let mut best: Option<(u128, usize, Vec<u32>)> = None;
        let mut jobs: Vec<(u32, u128)> = Vec::new();
        for s in 0..index.servers.len() {
            if index.down[s]
                || (topo.gpus[s] as u32) < req.gpus
                || (req.model_mask >> topo.model[s]) & 1 == 0
            {
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
            jobs.clear();
            jobs.extend(
                self.on_server[s]
                    .iter()
                    .filter_map(|&slot| cost_of(slot).map(|c| (slot, c))),
            );
            jobs.sort_by_key(|&(slot, cost)| (cost, self.jobs.get(slot).id));
            let mut total = 0u128;
            let mut victims = Vec::new();
            for &(slot, cost) in &jobs {
                let job = self.jobs.get(slot);
                for g in job.grants.iter().filter(|g| g.server as usize == s) {
                    used[g.slot as usize] -= g.milli;
                }
                // A single-server job's host resources are on its server.
                if !job.req.multi_server {
                    cpu += job.req.cpu_milli;
                    mem += job.req.memory_mib;
                }
                total += cost;
                victims.push(slot);
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

    /// Preempts running job `slot` at `now`: its GPUs are released, the work since its last checkpoint is
    /// lost, and it goes back to the queue (in queue order) with the rest of its work.
    pub(crate) fn preempt(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32) {
        let now = ctx.now();
        self.stop_stream(ctx, slot);
        if self.jobs.get(slot).cycle.is_some() {
            self.cancel_io(ctx, slot);
        }
        let job = self.jobs.get_mut(slot);
        let start = job.start.take().expect("running job");
        let id = job.id;
        let elapsed = now - start;
        let (lost, restarting, steps) = if let Some(spec) = self.checkpoints.cycle(id).copied() {
            // A checkpoint cycle: the work up to the last completed checkpoint is kept.
            let (kept_ns, lost, restarting) = self.cycle_loss(slot, now);
            let job = self.jobs.get_mut(slot);
            let done = job.train_left_ns - job.left_at(now).max(0.0);
            let steps = ((done - kept_ns).max(0.0) / spec.step_ns.max(1.0)) as u64;
            job.train_left_ns = (job.train_left_ns - kept_ns).max(0.0);
            job.duration = SimDuration::from_nanos((job.train_left_ns * spec.plan_ratio) as u64);
            job.cycle = None;
            (lost, restarting, steps)
        } else {
            // The run began with its restart: work (and checkpoints) count from its end.
            let job = self.jobs.get_mut(slot);
            let restart = job.restart;
            let restarting = SimDuration::from_nanos(elapsed.as_nanos().min(restart.as_nanos()));
            let trained = SimDuration::from_nanos(elapsed.as_nanos() - restarting.as_nanos());
            let (kept, lost) = self.checkpoints.split(id, trained);
            let steps = self.checkpoints.lost_steps(id, lost);
            let job = self.jobs.get_mut(slot);
            // Work kept: the wall time kept at rate 1; otherwise the same share of the work done.
            let kept_work = if job.rate == 1.0 && job.rate_since == start {
                kept.as_nanos()
            } else {
                let done_now = (now - job.rate_since).as_nanos() as f64 / job.rate;
                let run_ns = job.duration.as_nanos() as f64 + restart.as_nanos() as f64;
                let done =
                    run_ns - (job.work_left_ns - done_now).max(0.0) - restart.as_nanos() as f64;
                let e_ns = trained.as_nanos().max(1) as f64;
                ((done.max(0.0) * kept.as_nanos() as f64 / e_ns).floor() as u64)
                    .min(job.duration.as_nanos())
            };
            job.duration = SimDuration::from_nanos(job.duration.as_nanos() - kept_work);
            (lost, restarting, steps)
        };
        let job = self.jobs.get_mut(slot);
        job.rate = 1.0;
        job.factors = [1.0; crate::kernel::FactorId::MAX];
        job.preemptions += 1;
        job.lost = job.lost.saturating_add(lost);
        job.lost_steps += steps;
        let grants = std::mem::take(&mut job.grants);
        let work = job.work.take();
        let (req, duration, priority) = (job.req, job.duration, job.priority);
        self.jobs.bump(slot);
        self.track_running(slot, &grants, false);
        self.apply(ctx, &grants, &req, false, now);
        self.index.reset_free_at(&grants, now);
        if let Some(w) = work {
            ctx.world.resource_mut::<Works>().close(w);
            ctx.emit(Signal::WorkStopped { work: w });
        }
        let milli: u64 = grants.iter().map(|g| g.milli as u64).sum();
        let job = self.jobs.get_mut(slot);
        job.grants = grants;
        job.grants.clear();
        let c = &mut self.counters;
        if let Some(times) = c.times.as_mut() {
            let t = &mut times[id as usize];
            t.ran_ns += elapsed.as_nanos();
            t.preemptions += 1;
            t.lost_ns += lost.as_nanos();
            t.lost_steps += steps;
            t.restart_ns += restarting.as_nanos();
        }
        c.restart_milli_ns += restarting.as_nanos() as u128 * milli as u128;
        if let Some(log) = c.log.as_mut() {
            let r = &mut log[id as usize];
            r.preemptions += 1;
            r.running = false;
        }
        c.running -= 1;
        c.preemptions += 1;
        c.lost_milli_ns += lost.as_nanos() as u128 * milli as u128;
        let q = Queued {
            slot,
            id,
            duration,
            req,
            priority,
        };
        self.queue.insert(q);
        self.sched.clean = false;
        self.sched.reservation = None;
    }

    /// `Priority` queue: makes room for the blocked `head` by preempting running jobs of lower priority, if
    /// that can make it fit; then plans it into `grants`. A single-server head takes the one server where the
    /// preempted jobs lose least work; a multi-server head preempts jobs of the lowest priority first (then
    /// least lost work, then job id) until it fits. Shared-GPU heads never preempt. False (and nothing
    /// preempted) when no such room exists.
    pub(crate) fn make_room_for(
        &mut self,
        ctx: &mut Ctx<'_, '_>,
        head: &Queued,
        grants: &mut Vec<Grant>,
    ) -> bool {
        let req = head.req;
        let now = ctx.now();
        if req.gpus == 0 || req.gpu_milli != WHOLE_GPU_MILLI {
            return false;
        }
        let below = head.priority as u16;
        if !req.multi_server {
            let Some(victims) = self.cheapest_victims(ctx.world, &req, now, below) else {
                return false;
            };
            for v in victims {
                self.preempt(ctx, v);
            }
            return try_plan(ctx.world, &self.index, &req, None, grants);
        }
        // Multi-server: whole GPUs of eligible servers up that are free, or held only by lower-priority jobs.
        let mut cands = Vec::new();
        self.candidates(now, below, &mut cands);
        let n_servers = self.index.servers.len();
        let mut freed_milli = vec![[0u16; MAX_GPUS_PER_SERVER as usize]; n_servers];
        for &(slot, _, _) in &cands {
            for g in &self.jobs.get(slot).grants {
                freed_milli[g.server as usize][g.slot as usize] += g.milli;
            }
        }
        let index = &self.index;
        let mut whole = 0u64;
        for (s, freed) in freed_milli.iter().enumerate() {
            if index.down[s] || (req.model_mask >> index.topo.model[s]) & 1 == 0 {
                continue;
            }
            let load = ctx
                .world
                .get::<ServerLoad>(index.servers[s])
                .expect("server entity");
            whole += (0..load.gpus as usize)
                .filter(|&k| load.used_milli[k] == freed[k])
                .count() as u64;
        }
        if whole < req.gpus as u64 {
            return false;
        }
        let mut sorted: Vec<(u8, u128, u64, u32)> = cands
            .iter()
            .map(|&(slot, p, cost)| (p, cost, self.jobs.get(slot).id, slot))
            .collect();
        sorted.sort_unstable();
        for (_, _, _, slot) in sorted {
            self.preempt(ctx, slot);
            if try_plan(ctx.world, &self.index, &req, None, grants) {
                return true;
            }
        }
        false
    }
}
