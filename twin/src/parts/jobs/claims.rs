//! Shared fleet: inference replica slots claim GPUs from the cluster, inference first (docs/models.md §Shared
//! fleet).
//!
//! The serving part asks ([`Signal::ClaimGpus`]) and gives back ([`Signal::ReleaseGpus`]); this part answers:
//! - a claimed slot gets `tp` whole GPUs of the deployment's model inside one server that is up, from free
//!   capacity (the scenario's placement policy) or, under `MakeRoom::Preempt`, by preempting the running jobs
//!   of the server where that loses least work; under `MakeRoom::Wait` it waits, and no job starts until every
//!   waiting slot has its GPUs. A grant is a work item of the serving part in the registry, announced by
//!   [`Signal::GpusGranted`];
//! - a released slot's GPUs go back to the cluster, and the queue is scheduled again.
//!
//! Held replica GPUs are allocated at idle activity (the serving part sets their activity per iteration).

use models::placement::Grant;
use scenario::MakeRoom;
use sim::SimTime;

use super::schedule::try_plan;
use super::state::Jobs;
use crate::kernel::{Ctx, Signal};
use crate::work::{WorkKind, Works};

impl Jobs {
    /// Replica slot `slot` wants GPUs: give them now, or make it wait.
    pub(crate) fn claim(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32) {
        let now = ctx.now();
        let h = self.holdings.as_ref().expect("shared fleet");
        let req = h.req;
        let mut grants = Vec::with_capacity(req.gpus as usize);
        if !h.pending.is_empty()
            || !(try_plan(ctx.world, &self.index, &req, None, &mut grants)
                || self.make_room(ctx, now, &mut grants))
        {
            let h = self.holdings.as_mut().expect("shared fleet");
            h.pending.push_back(slot);
            h.waited += 1;
            self.sched.hold = true;
            return;
        }
        self.grant(ctx, slot, grants);
    }

    /// Under `Preempt`: preempts the cheapest set of jobs on one server that frees a replica's GPUs, then
    /// plans them.
    fn make_room(&mut self, ctx: &mut Ctx<'_, '_>, now: SimTime, grants: &mut Vec<Grant>) -> bool {
        let h = self.holdings.as_ref().expect("shared fleet");
        if h.make_room != MakeRoom::Preempt {
            return false;
        }
        let req = h.req;
        let Some(victims) = self.cheapest_victims(ctx.world, &req, now, 256) else {
            return false;
        };
        for v in victims {
            self.preempt(ctx, v);
            self.holdings.as_mut().expect("shared fleet").preemptions += 1;
        }
        try_plan(ctx.world, &self.index, &req, None, grants)
    }

    /// Gives slot `slot` its GPUs.
    fn grant(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32, grants: Vec<Grant>) {
        let now = ctx.now();
        let owner = ctx.part();
        let req = self.holdings.as_ref().expect("shared fleet").req;
        self.apply(ctx, &grants, &req, true, SimTime::MAX);
        let work = ctx.world.resource_mut::<Works>().open(
            owner,
            WorkKind::Replica,
            slot as u64,
            slot,
            &grants,
        );
        let h = self.holdings.as_mut().expect("shared fleet");
        h.advance(now);
        h.held_gpus += grants.len() as u64;
        h.grants[slot as usize] = grants;
        h.works[slot as usize] = Some(work);
        ctx.emit(Signal::GpusGranted { slot, work });
    }

    /// Slot `slot` gives its GPUs back (or stops waiting). True if GPUs were freed.
    pub(crate) fn release(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32) -> bool {
        let now = ctx.now();
        let h = self.holdings.as_mut().expect("shared fleet");
        if let Some(i) = h.pending.iter().position(|&s| s == slot) {
            h.pending.remove(i);
            if h.pending.is_empty() {
                self.sched.hold = false;
                self.sched.clean = false;
            }
            return false;
        }
        let grants = std::mem::take(&mut h.grants[slot as usize]);
        let work = h.works[slot as usize].take();
        if grants.is_empty() {
            return false;
        }
        h.advance(now);
        h.held_gpus -= grants.len() as u64;
        let req = h.req;
        self.apply(ctx, &grants, &req, false, now);
        self.index.reset_free_at(&grants, now);
        if let Some(w) = work {
            ctx.world.resource_mut::<Works>().close(w);
        }
        true
    }

    /// Grants waiting slots in order while they fit; when none waits any more, jobs may start again.
    pub(crate) fn grant_pending(&mut self, ctx: &mut Ctx<'_, '_>) {
        let now = ctx.now();
        let req = self.holdings.as_ref().expect("shared fleet").req;
        let mut grants = Vec::with_capacity(req.gpus as usize);
        while let Some(&slot) = self
            .holdings
            .as_ref()
            .expect("shared fleet")
            .pending
            .front()
        {
            if !(try_plan(ctx.world, &self.index, &req, None, &mut grants)
                || self.make_room(ctx, now, &mut grants))
            {
                return;
            }
            self.holdings
                .as_mut()
                .expect("shared fleet")
                .pending
                .pop_front();
            self.grant(ctx, slot, std::mem::take(&mut grants));
        }
        self.sched.hold = false;
        self.sched.clean = false;
        self.schedule_pass(ctx);
    }
}
