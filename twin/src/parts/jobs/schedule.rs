//! Queue policies and job starts: FIFO, shortest-job-first, priority (with preemption) and EASY backfilling over
//! a placement policy (docs/models.md §Scheduling policies).
//!
//! Scheduling cost: resources only shrink between two releases, so after a full pass over the queue no queued
//! job can start until something is released ("clean" state). An arrival in the clean state considers only the
//! new job: under FIFO it starts only if it is the head, under SJF if it fits, under EASY if it is the head or
//! may be backfilled against the current reservation. This is exact, not a heuristic. Site-wide counters
//! (free whole GPUs per model, servers per model by free GPUs) reject jobs that cannot fit without a scan.

use bevy_ecs::world::World;
use models::placement::{self, FreeSummary, Grant, JobReq, ServerLoad, WHOLE_GPU_MILLI};
use scenario::QueuePolicy;
use sim::{SimDuration, SimTime};

use super::backlog::{ANY, ClassKey};
use super::index::{Bounds, NEVER, SLOTS, SiteIndex, WorldLoads};
use super::job::Queued;
use super::state::{Jobs, Reservation, Reserved};
use crate::kernel::{Ctx, Signal};
use crate::ledger::Ledger;

/// The cluster's own events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// The next job of the source is submitted.
    Arrival,
    /// A running job finishes (or, in a checkpoint cycle, reaches a checkpoint), if it is still in run `run`
    /// of slot `slot`.
    Finish { slot: u32, run: u32 },
    /// A fixed-length phase of a checkpoint cycle (a restart, a write without a storage system) ends.
    Resume { slot: u32, run: u32 },
    /// The asynchronous checkpoint write `seq` of the job in slot `slot` ends (without a storage system).
    Written { slot: u32, seq: u32 },
}

impl crate::kernel::EventCode for Event {
    fn encode(self) -> crate::kernel::Code {
        match self {
            Event::Arrival => crate::kernel::Code::default(),
            Event::Finish { slot, run } => crate::kernel::Code {
                tag: 1,
                a: slot,
                b: run,
            },
            Event::Resume { slot, run } => crate::kernel::Code {
                tag: 2,
                a: slot,
                b: run,
            },
            Event::Written { slot, seq } => crate::kernel::Code {
                tag: 3,
                a: slot,
                b: seq,
            },
        }
    }
    fn decode(c: crate::kernel::Code) -> Self {
        match c.tag {
            0 => Event::Arrival,
            1 => Event::Finish {
                slot: c.a,
                run: c.b,
            },
            2 => Event::Resume {
                slot: c.a,
                run: c.b,
            },
            _ => Event::Written {
                slot: c.a,
                seq: c.b,
            },
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Unit tests: schedule without the shortcuts (full passes at every arrival, no site-counter rejection)
    /// to check that the shortcuts change nothing.
    pub(crate) static REFERENCE_MODE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
pub(crate) fn reference_mode() -> bool {
    REFERENCE_MODE.with(|c| c.get())
}

#[cfg(not(test))]
#[inline(always)]
pub(crate) fn reference_mode() -> bool {
    false
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
        self.now.saturating_add(q.duration) <= self.shadow || self.leaves_alone(&q.req)
    }

    /// Whether a job asking `r` passes whatever its duration.
    fn leaves_alone(&self, r: &JobReq) -> bool {
        self.bounds.is_none_or(|b| b.may_fit(r))
            && self.site.is_none_or(|(mask, extra, models)| {
                !(r.gpus > 0
                    && r.gpu_milli >= WHOLE_GPU_MILLI
                    && r.model_mask & models & !mask == 0
                    && r.gpus > extra)
            })
    }

    /// The durations (ns, stored clamped below [`ANY`]) of class `r` that pass: every one ([`ANY`]), those
    /// ending by the shadow time, or none. A superset of [`Late::allows`] (equal but for a duration ≥ `ANY`).
    fn bound(&self, r: &JobReq) -> Option<u64> {
        if self.leaves_alone(r) || self.shadow == SimTime::MAX {
            Some(ANY)
        } else if self.shadow < self.now {
            None
        } else {
            Some((self.shadow - self.now).as_nanos())
        }
    }
}

/// Plans `req` on the current loads (with an optional constrained server); false if it does not fit now.
pub(crate) fn try_plan(
    world: &World,
    index: &SiteIndex,
    req: &JobReq,
    patch: Option<(u32, &ServerLoad, FreeSummary)>,
    grants: &mut Vec<Grant>,
) -> bool {
    if !reference_mode() && !index.may_fit(req) {
        grants.clear();
        return false;
    }
    let view = WorldLoads {
        world,
        index,
        patch,
        indexed: !reference_mode(),
    };
    placement::plan(index.placement, req, &view, &index.topo, grants)
}

impl Jobs {
    /// Applies or releases `grants` of a job asking `req` (`finish`: its finish time, for EASY): server loads,
    /// draws and the ledger follow, and each server touched is announced ([`Signal::LoadChanged`]).
    pub(crate) fn apply(
        &mut self,
        ctx: &mut Ctx<'_, '_>,
        grants: &[Grant],
        req: &JobReq,
        allocate: bool,
        finish: SimTime,
    ) {
        let now = ctx.now();
        let (world, mut signals) = ctx.split();
        let (mut d_it, mut d_gpu) = (0.0, 0.0);
        let d_milli = self
            .index
            .apply(world, grants, req, allocate, finish, |server, a, b| {
                d_it += a;
                d_gpu += b;
                signals.emit(Signal::LoadChanged { server });
            });
        let mut ledger = world.resource_mut::<Ledger>();
        ledger.add(now, d_it, d_gpu);
        ledger.add_busy(now, d_milli);
    }

    fn plan(&self, world: &World, req: &JobReq, grants: &mut Vec<Grant>) -> bool {
        try_plan(world, &self.index, req, None, grants)
    }

    /// Starts a queued job (already removed from the queue) on `grants`.
    pub(crate) fn start_job(&mut self, ctx: &mut Ctx<'_, '_>, q: Queued, grants: &[Grant]) {
        let now = ctx.now();
        let mut q = q;
        if let Some(ds) = &self.scale {
            let job = self.jobs.get(q.slot);
            if job.first_start.is_none() {
                // The recorded duration, scaled to the slowest model the job got.
                let topo = &self.index.topo;
                let mask = grants
                    .iter()
                    .fold(0u64, |m, g| m | 1 << topo.model[g.server as usize]);
                q.duration = ds.scale(job.duration, mask);
            }
        }
        // A job that ran before (preempted or interrupted) restarts first (a checkpoint cycle restarts in its
        // own phases).
        let restarting = self.jobs.get(q.slot).first_start.is_some();
        let cycle = self.checkpoints.cycle(q.id).is_some();
        let restart = if restarting && !cycle {
            self.checkpoints.restart(q.id)
        } else {
            SimDuration::ZERO
        };
        let run = q.duration.saturating_add(restart);
        let finish = now.saturating_add(run);
        self.apply(ctx, grants, &q.req, true, finish);
        let key = q.id;
        let part = ctx.part();
        let work = ctx.world.resource_mut::<crate::work::Works>().open(
            part,
            crate::work::WorkKind::Job,
            key,
            q.slot,
            grants,
        );
        let job = self.jobs.get_mut(q.slot);
        job.duration = q.duration;
        job.restart = restart;
        job.work_left_ns = run.as_nanos() as f64;
        job.rate = 1.0;
        job.rate_since = now;
        job.factors = [1.0; crate::kernel::FactorId::MAX];
        job.start = Some(now);
        job.work = Some(work);
        let first = job.first_start.is_none();
        if first {
            job.first_start = Some(now);
        }
        job.grants.clear();
        job.grants.extend_from_slice(grants);
        let submit = job.submit;
        self.track_running(q.slot, grants, true);
        let c = &mut self.counters;
        if first && let Some(times) = c.times.as_mut() {
            times[q.id as usize].start = Some(now);
        }
        if let Some(log) = c.log.as_mut() {
            let r = &mut log[q.id as usize];
            r.start = r.start.or(Some(now));
            r.running = true;
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
        ctx.emit(Signal::WorkStarted { work });
        if cycle {
            self.begin_cycle(ctx, q.slot, restarting);
        } else {
            let run = self.jobs.run(q.slot);
            ctx.at(finish, Event::Finish { slot: q.slot, run });
            self.start_stream(ctx, q.slot);
        }
        // A job starting on limited GPUs runs at their speed until the limits change.
        self.retime_under_limits(ctx, q.slot, true);
    }

    /// Adds (`on`) or removes a running job from the running list and the per-server lists.
    pub(crate) fn track_running(&mut self, slot: u32, grants: &[Grant], on: bool) {
        if on {
            if self.running_pos.len() <= slot as usize {
                self.running_pos.resize(slot as usize + 1, u32::MAX);
            }
            self.running_pos[slot as usize] = self.running.len() as u32;
            self.running.push(slot);
        } else {
            let i = self.running_pos[slot as usize] as usize;
            let last = *self.running.last().expect("running job");
            self.running.swap_remove(i);
            if last != slot {
                self.running_pos[last as usize] = i as u32;
            }
            self.running_pos[slot as usize] = u32::MAX;
        }
        let mut prev = u32::MAX;
        for g in grants {
            if g.server == prev {
                continue;
            }
            prev = g.server;
            let list = &mut self.on_server[g.server as usize];
            if on {
                list.push(slot);
            } else if let Some(i) = list.iter().position(|&s| s == slot) {
                list.swap_remove(i);
            }
        }
    }

    /// Starts jobs from the head of the queue while they fit.
    fn start_heads(&mut self, ctx: &mut Ctx<'_, '_>, grants: &mut Vec<Grant>, easy: bool) {
        while let Some(&head) = self.queue.front() {
            if !self.plan(ctx.world, &head.req, grants) {
                break;
            }
            self.queue.pop_front();
            if easy {
                let now = ctx.now();
                let st = &mut self.sched;
                if let Some(r) = st.reservation.filter(|r| r.head == head.slot) {
                    if now > r.first_shadow {
                        st.late_heads += 1;
                    }
                    st.reservation = None;
                }
            }
            self.start_job(ctx, head, grants);
        }
    }

    /// The key of the first queued job with key ≥ `from` that passes the site-counter checks (`bounds`: the
    /// site's, recomputed after every start) and, under EASY, the reservation's (`late`). SJF and EASY only.
    fn next_candidate(&self, mut from: u128, bounds: Bounds, late: Option<Late>) -> Option<u128> {
        if reference_mode() {
            return self.queue.first_from(from).map(|(k, _)| k);
        }
        let index = &self.index;
        let backlog = self.queue.backlog().expect("SJF and EASY keep a backlog");
        // The backlog yields the first queued job, at or after `from`, whose class passes the counter checks
        // (and, past the shadow time, the reservation's), in O(classes · log queue); checked again on the job
        // itself.
        loop {
            let key = backlog.first(from, |k: &ClassKey| {
                let r = k.req();
                if !(bounds.may_fit(&r) && index.may_fit(&r)) {
                    return None;
                }
                late.map_or(Some(ANY), |l| l.bound(&r))
            })?;
            let q = &self.queue[key];
            if bounds.may_fit(&q.req) && late.is_none_or(|l| l.allows(q)) && index.may_fit(&q.req) {
                return Some(key);
            }
            from = key + 1;
        }
    }

    /// A full scheduling pass: starts every job the queue policy allows now.
    pub(crate) fn schedule_pass(&mut self, ctx: &mut Ctx<'_, '_>) {
        if self.sched.hold {
            self.sched.clean = false;
            return;
        }
        let now = ctx.now();
        let mut grants = std::mem::take(&mut self.sched.grants);
        match self.sched.cfg.queue {
            QueuePolicy::Fifo => self.start_heads(ctx, &mut grants, false),
            QueuePolicy::ShortestJobFirst => {
                // In queue order (shortest first), start every job that fits: after a start, the shorter jobs
                // skipped still do not fit, so this is "start the shortest job that fits; repeat".
                let mut from = 0;
                let mut bounds = self.index.bounds(None);
                while let Some(k) = self.next_candidate(from, bounds, None) {
                    let q = self.queue[k];
                    if self.plan(ctx.world, &q.req, &mut grants) {
                        self.queue.remove(k);
                        self.start_job(ctx, q, &grants);
                        bounds = self.index.bounds(None);
                    }
                    from = k + 1;
                }
            }
            QueuePolicy::Priority => loop {
                self.start_heads(ctx, &mut grants, false);
                let Some(&head) = self.queue.front() else {
                    break;
                };
                if !self.make_room_for(ctx, &head, &mut grants) {
                    break;
                }
                // Preempted jobs have lower priority: they queue behind the head.
                self.queue.pop_front();
                self.start_job(ctx, head, &grants);
            },
            QueuePolicy::EasyBackfill => {
                self.start_heads(ctx, &mut grants, true);
                if let Some((head, _)) = self.queue.first() {
                    let backfilled = self.sched.backfilled;
                    self.ensure_reservation(ctx.world, now);
                    let mut from = head + 1;
                    let mut bounds = self.index.bounds(None);
                    let mut late = self.late_filter(ctx.world, now);
                    while let Some(k) = self.next_candidate(from, bounds, late) {
                        let q = self.queue[k];
                        if self.try_backfill(ctx.world, &q, now, &mut grants) {
                            self.queue.remove(k);
                            self.sched.backfilled += 1;
                            self.start_job(ctx, q, &grants);
                            bounds = self.index.bounds(None);
                            late = self.late_filter(ctx.world, now);
                        }
                        from = k + 1;
                    }
                    // A backfill changes where later placements land, and under a site reservation a job
                    // refused earlier in this pass (its GPUs counted against the head's spare ones) can fit
                    // beside it: the pass's refusals hold for the state they were tried in, not the one it
                    // leaves. The next arrival then takes a full pass, as the reference run does.
                    if self.sched.backfilled != backfilled {
                        self.sched.grants = grants;
                        self.sched.clean = false;
                        return;
                    }
                }
            }
        }
        self.sched.grants = grants;
        self.sched.clean = true;
    }

    /// An arrival in the clean state: only the new job (queue key `key`) can be affected.
    pub(crate) fn schedule_arrival(&mut self, ctx: &mut Ctx<'_, '_>, key: u128) {
        if self.sched.hold {
            self.sched.clean = false;
            return;
        }
        let now = ctx.now();
        let reservation = self.sched.reservation;
        let len = self.queue.len();
        let q = self.queue[key];
        match self.sched.cfg.queue {
            // Behind a blocked head nothing starts.
            QueuePolicy::Fifo if len > 1 => {}
            QueuePolicy::EasyBackfill
                if len > 1 && reservation.is_some_and(|r| r.shadow >= now) =>
            {
                let mut grants = std::mem::take(&mut self.sched.grants);
                if self.try_backfill(ctx.world, &q, now, &mut grants) {
                    self.queue.remove(key);
                    self.sched.backfilled += 1;
                    self.start_job(ctx, q, &grants);
                    // As after a pass that backfills: the queue's earlier refusals no longer hold.
                    self.sched.clean = false;
                }
                self.sched.grants = grants;
            }
            QueuePolicy::ShortestJobFirst => {
                let mut grants = std::mem::take(&mut self.sched.grants);
                if self.plan(ctx.world, &q.req, &mut grants) {
                    self.queue.remove(key);
                    self.start_job(ctx, q, &grants);
                }
                self.sched.grants = grants;
            }
            _ => self.schedule_pass(ctx),
        }
    }

    /// GPUs free but unusable for the queue head: the unallocated capacity of the models the head may use when
    /// the head (the next job the queue policy would start) does not fit now; 0 for an empty queue, a head that
    /// fits or a CPU-only head.
    pub(crate) fn fragmented_gpus(&mut self, world: &World) -> f64 {
        let Some(head) = self.queue.front().copied() else {
            return 0.0;
        };
        if head.req.gpus == 0 {
            return 0.0;
        }
        let mut grants = std::mem::take(&mut self.sched.grants);
        let fits = self.plan(world, &head.req, &mut grants);
        grants.clear();
        self.sched.grants = grants;
        if fits {
            0.0
        } else {
            self.index.free_gpus(head.req.model_mask)
        }
    }

    /// The EASY reservation for `head` (which does not fit now) at time `now`; None when no server that is up
    /// can ever hold it.
    fn reserve(
        &mut self,
        world: &World,
        head: &Queued,
        now: SimTime,
    ) -> Option<(SimTime, Reserved)> {
        let r = head.req;
        // A single-server whole-GPU head without host resources: its shadow time from the free-time trees.
        let by_tree = !reference_mode()
            && !r.multi_server
            && r.gpus > 0
            && r.gpus as usize <= SLOTS
            && r.gpu_milli >= WHOLE_GPU_MILLI
            && r.cpu_milli == 0
            && r.memory_mib == 0;
        // A shared-GPU head without host resources: from the free-capacity index and the one-GPU trees.
        let share_by_tree = !reference_mode()
            && !r.multi_server
            && r.gpus == 1
            && r.gpu_milli < WHOLE_GPU_MILLI
            && r.cpu_milli == 0
            && r.memory_mib == 0;
        if by_tree || share_by_tree || (r.multi_server && !reference_mode()) {
            let g = if r.multi_server { 1 } else { r.gpus as usize };
            let mut bits = r.model_mask & self.index.models;
            while bits != 0 {
                self.index
                    .ensure_free_at_tree(bits.trailing_zeros() as usize, g);
                bits &= bits - 1;
            }
        }
        if r.multi_server
            && !reference_mode()
            && let Some((shadow, extra)) = self.shadow_multi_by_tree(r.model_mask, r.gpus, now)
        {
            return Some((
                shadow,
                Reserved::Site {
                    mask: r.model_mask,
                    extra,
                },
            ));
        }
        let mut times = std::mem::take(&mut self.sched.times);
        let index = &self.index;
        let topo = &index.topo;
        let out = if r.multi_server {
            // The g-th earliest time at which an eligible GPU is wholly free.
            times.clear();
            for (s, fa) in index.slot_free_at.iter().enumerate() {
                if !index.down[s] && topo.gpus[s] > 0 && (r.model_mask >> topo.model[s]) & 1 == 1 {
                    times.extend(fa[..topo.gpus[s] as usize].iter().map(|&t| t.max(now)));
                }
            }
            let g = r.gpus as usize;
            if times.len() < g {
                None
            } else {
                let shadow = *times.select_nth_unstable(g - 1).1;
                let free_then = times.iter().filter(|&&t| t <= shadow).count();
                Some((
                    shadow,
                    Reserved::Site {
                        mask: r.model_mask,
                        extra: (free_then - g) as u32,
                    },
                ))
            }
        } else {
            let fast = if r.gpus == 0 && !reference_mode() {
                earliest_host(index, &r, now)
            } else if share_by_tree {
                earliest_share(index, &r, now)
            } else {
                by_tree.then(|| earliest_by_tree(index, &r, now)).flatten()
            };
            match fast {
                Some((shadow, s)) => {
                    let fast = reserve_on(world, index, &r, now, shadow, s);
                    // Test builds check every reservation from the trees against the scan's.
                    #[cfg(test)]
                    assert_eq!(
                        Some(fast),
                        reserve_single(world, index, &r, now),
                        "reservation of {r:?} at {now:?}"
                    );
                    Some(fast)
                }
                None => reserve_single(world, index, &r, now),
            }
        };
        self.sched.times = times;
        out
    }

    /// The multi-server reservation (shadow time, extra GPUs) of [`Jobs::reserve`] from the free-time trees for
    /// one GPU (per server, its earliest `slot_free_at`): servers are taken from the trees in order of their
    /// earliest slot and their slots merged through a heap, until the `g`-th earliest slot time and every slot
    /// free by it are counted — O((GPUs free by the shadow time + servers holding them) · log n) instead of
    /// O(GPUs). The trees are restored before returning. None: fewer than `g` slots (or a time the trees cannot
    /// tell from "never"); the scan then decides.
    fn shadow_multi_by_tree(&mut self, mask: u64, g: u32, now: SimTime) -> Option<(SimTime, u32)> {
        let index = &mut self.index;
        let heap = &mut self.sched.heap;
        let taken = &mut self.sched.taken;
        heap.clear();
        taken.clear();
        let mut count = 0u32;
        let mut kth: Option<u64> = None;
        let models = mask & index.models;
        loop {
            // The server whose earliest slot is earliest, over the trees of the allowed models.
            let mut next: Option<(usize, u64)> = None;
            let mut bits = models;
            while bits != 0 {
                let m = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let v = index.free_at_trees[m][0].as_ref().expect("built").min();
                if v != NEVER && next.is_none_or(|n| v < n.1) {
                    next = Some((m, v));
                }
            }
            if let Some((m, v)) = next
                && heap.peek().is_none_or(|h| v < h.0)
            {
                let tree = index.free_at_trees[m][0].as_mut().expect("built");
                let s = tree.first_at_most(v).expect("a leaf at the minimum");
                tree.set(s, NEVER);
                taken.push((m, s, v));
                let n = index.topo.gpus[s] as usize;
                heap.extend(
                    index.slot_free_at[s][..n]
                        .iter()
                        .map(|t| std::cmp::Reverse(t.as_nanos())),
                );
                continue;
            }
            let Some(std::cmp::Reverse(v)) = heap.pop() else {
                break;
            };
            match kth {
                None => {
                    count += 1;
                    if count == g {
                        kth = Some(v.max(now.as_nanos()));
                    }
                }
                Some(shadow) if v <= shadow => count += 1,
                Some(_) => break,
            }
        }
        for &(m, s, v) in taken.iter() {
            index.free_at_trees[m][0].as_mut().expect("built").set(s, v);
        }
        let shadow = kth.filter(|&k| k != NEVER)?;
        Some((SimTime::from_nanos(shadow), count - g))
    }

    /// Makes sure the (blocked) queue head has a current reservation.
    fn ensure_reservation(&mut self, world: &World, now: SimTime) {
        let head = *self.queue.front().expect("non-empty queue");
        let current = self.sched.reservation;
        if current.is_some_and(|r| r.head == head.slot && r.shadow >= now) {
            return;
        }
        let Some((shadow, kind)) = self.reserve(world, &head, now) else {
            self.sched.reservation = None;
            return;
        };
        let first_shadow = match current {
            Some(r) if r.head == head.slot => r.first_shadow,
            _ => shadow,
        };
        self.sched.reservation = Some(Reservation {
            head: head.slot,
            shadow,
            first_shadow,
            kind,
        });
    }

    /// The [`Late`] filter of the current reservation.
    fn late_filter(&self, world: &World, now: SimTime) -> Option<Late> {
        let res = self.sched.reservation?;
        let index = &self.index;
        if let Reserved::Site { mask, extra } = res.kind {
            return Some(Late {
                now,
                shadow: res.shadow,
                bounds: None,
                site: Some((mask, extra, index.models)),
            });
        }
        let (server, copy) = reserved_copy(world, index, res.kind)?;
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
    fn try_backfill(
        &mut self,
        world: &World,
        q: &Queued,
        now: SimTime,
        grants: &mut Vec<Grant>,
    ) -> bool {
        let Some(res) = self.sched.reservation else {
            // The head can never start (every server it could use is down): nothing to protect.
            return self.plan(world, &q.req, grants);
        };
        if now.saturating_add(q.duration) <= res.shadow {
            return self.plan(world, &q.req, grants);
        }
        match res.kind {
            Reserved::Site { mask, extra } => {
                let models = self.index.models;
                let whole = q.req.gpus > 0 && q.req.gpu_milli >= WHOLE_GPU_MILLI;
                if whole && q.req.model_mask & models & !mask == 0 && q.req.gpus > extra {
                    // Every GPU it could take is a free GPU the head counts on.
                    grants.clear();
                    return false;
                }
                if !self.plan(world, &q.req, grants) {
                    return false;
                }
                let index = &self.index;
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
                if let Some(r) = self.sched.reservation.as_mut() {
                    r.kind = Reserved::Site {
                        mask,
                        extra: extra - taken,
                    };
                }
                true
            }
            Reserved::Server { .. } => {
                let (server, copy) =
                    reserved_copy(world, &self.index, res.kind).expect("a server reservation");
                let summary = FreeSummary::of(&copy);
                try_plan(
                    world,
                    &self.index,
                    &q.req,
                    Some((server, &copy, summary)),
                    grants,
                )
            }
        }
    }
}

/// The EASY reservation of a single-server head: per server up, when its GPUs (the g-th earliest wholly free
/// slot; a share that fits now; or the earliest wholly free slot for a share) and its host resources suffice.
/// The host bound is conservative: when every job holding host resources there has finished.
fn reserve_single(
    world: &World,
    index: &SiteIndex,
    r: &JobReq,
    now: SimTime,
) -> Option<(SimTime, Reserved)> {
    let topo = &index.topo;
    let whole = r.gpu_milli >= WHOLE_GPU_MILLI;
    let mut best: Option<(SimTime, usize)> = None;
    for s in 0..index.servers.len() {
        if index.down[s] {
            continue;
        }
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
                // Cheap pruning: fewer than g GPUs free before the best time so far means this server cannot
                // be earlier (ties keep the lower id).
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
    let (shadow, s) = best?;
    Some(reserve_on(world, index, r, now, shadow, s))
}

/// [`reserve_single`]'s choice for a whole-GPU head without host resources, from the free-time trees: a
/// server's time is `max(now, its g-th earliest slot_free_at)` (a server with `g` free GPUs has `g` slots
/// free since ≤ now), so the earliest is `max(now, min over the trees)` and the server the first whose leaf is
/// at most that (lowest id, as the scan). None: no server (or a time the trees cannot tell from "never").
fn earliest_by_tree(index: &SiteIndex, r: &JobReq, now: SimTime) -> Option<(SimTime, usize)> {
    let g = r.gpus as usize;
    let trees = || {
        let mut bits = r.model_mask & index.models;
        std::iter::from_fn(move || {
            (bits != 0).then(|| {
                let m = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                index.free_at_trees[m][g - 1].as_ref().expect("built")
            })
        })
    };
    let earliest = trees().map(|t| t.min()).min()?;
    if earliest == NEVER {
        return None;
    }
    let target = earliest.max(now.as_nanos());
    let s = trees().filter_map(|t| t.first_at_most(target)).min()?;
    Some((SimTime::from_nanos(target), s))
}

/// [`reserve_single`]'s choice for a CPU-only head, from the free-capacity index's host tree and the host
/// free-time tree. A server up with the capacity has time `now` when the head's CPU and memory are free on it
/// now or its `host_free_at` is ≤ now, else its `host_free_at`; the scan takes the lowest id at the earliest
/// time. So: the first server that fits now or is free by now (time `now`), else the earliest `host_free_at`
/// over the servers with the capacity and the first server with it. None: no server up has the capacity
/// (the scan then decides).
fn earliest_host(index: &SiteIndex, r: &JobReq, now: SimTime) -> Option<(SimTime, usize)> {
    let tree = index.host_free.as_ref()?;
    let (cpu, mem) = (r.cpu_milli, r.memory_mib);
    let fits_now = index.fidx.first_host(cpu, mem, 0).map(|s| s as usize);
    let free_by_now = tree.first_at_most(cpu, mem, now.as_nanos());
    if let Some(s) = [fits_now, free_by_now].into_iter().flatten().min() {
        return Some((now, s));
    }
    let t = tree.earliest(cpu, mem);
    if t == NEVER {
        return None;
    }
    let s = tree.first_at_most(cpu, mem, t)?;
    Some((SimTime::from_nanos(t), s))
}

/// [`reserve_single`]'s choice for a shared-GPU head without host resources. A server up of an allowed model
/// has time `now` when the share fits on one of its GPUs now or one of its GPUs is wholly free by now (its
/// leaf in the one-GPU free-time tree is ≤ now), else its earliest `slot_free_at`; the scan takes the lowest id
/// at the earliest time. So: the first server where the share fits now (the free-capacity index) or with a
/// leaf ≤ now, else [`earliest_by_tree`] for one GPU.
fn earliest_share(index: &SiteIndex, r: &JobReq, now: SimTime) -> Option<(SimTime, usize)> {
    let fits_now = index.fidx.first_share(r.model_mask, r.gpu_milli, 0);
    let mut bits = r.model_mask & index.models;
    let mut free_by_now: Option<usize> = None;
    while bits != 0 {
        let m = bits.trailing_zeros() as usize;
        bits &= bits - 1;
        let tree = index.free_at_trees[m][0].as_ref().expect("built");
        if let Some(s) = tree.first_at_most(now.as_nanos()) {
            free_by_now = Some(free_by_now.map_or(s, |b| b.min(s)));
        }
    }
    let first = [fits_now.map(|s| s as usize), free_by_now]
        .into_iter()
        .flatten()
        .min();
    match first {
        Some(s) => Some((now, s)),
        None => earliest_by_tree(index, r, now),
    }
}

/// The reservation of a single-server head on server `s` at `shadow`.
fn reserve_on(
    world: &World,
    index: &SiteIndex,
    r: &JobReq,
    now: SimTime,
    shadow: SimTime,
    s: usize,
) -> (SimTime, Reserved) {
    let topo = &index.topo;
    let whole = r.gpu_milli >= WHOLE_GPU_MILLI;
    let load = world
        .get::<ServerLoad>(index.servers[s])
        .expect("server entity");
    let n = topo.gpus[s] as usize;
    let fa = &index.slot_free_at[s];
    let mut slots = 0u16;
    if r.gpus > 0 && whole {
        // Keep slots that are busy now but free by the shadow time first (no backfill could use them anyway),
        // then as few free slots as needed.
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
}

/// The constrained copy of a single-server reservation's server: its reserved GPUs taken, its host resources
/// reduced by the head's.
fn reserved_copy(world: &World, index: &SiteIndex, kind: Reserved) -> Option<(u32, ServerLoad)> {
    let Reserved::Server {
        server,
        slots,
        cpu_milli,
        memory_mib,
    } = kind
    else {
        return None;
    };
    let e = index.servers[server as usize];
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
