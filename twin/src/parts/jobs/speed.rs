//! How fast running jobs progress: the product of their rate factors (the network fabric's contention,
//! published by the fabric part; the slowdown under GPU power limits, kept by this part from the limits of the
//! job's GPUs). A change books the work done so far and moves the job's `Finish` (docs/models.md §Power capping,
//! §Network fabric, "In the run").

use models::placement::ServerLoad;
use models::power::ServerPowerModel;

use super::schedule::Event;
use super::state::Jobs;
use crate::kernel::{Ctx, FactorId};
use crate::site::GpuLimits;

impl Jobs {
    /// Sets factor `factor` of running job `slot` to `value` (wall time per unit of work) and re-times it when
    /// its rate changes: the work done at the old rate is booked and its `Finish` is rescheduled (the old one
    /// goes stale).
    pub(crate) fn set_factor(
        &mut self,
        ctx: &mut Ctx<'_, '_>,
        slot: u32,
        factor: FactorId,
        value: f64,
    ) {
        let now = ctx.now();
        let job = self.jobs.get_mut(slot);
        if job.start.is_none() {
            return;
        }
        job.factors[factor.index()] = value;
        let rate = job.factors.iter().product::<f64>();
        if job.rate == rate {
            return;
        }
        let training = job.cycle.map(|c| c.phase == super::job::Phase::Compute);
        if training == Some(false) {
            // A checkpoint cycle outside training: no progress to book; the rate holds once it trains again.
            job.rate = rate;
            return;
        }
        job.work_left_ns = job.left_at(now).max(0.0);
        job.rate = rate;
        job.rate_since = now;
        if training == Some(true) {
            self.schedule_compute(ctx, slot);
            return;
        }
        let left = sim::SimDuration::from_nanos((job.work_left_ns * rate).ceil() as u64);
        let run = self.jobs.bump(slot);
        ctx.at(now.saturating_add(left), Event::Finish { slot, run });
    }

    /// The throughput ratio of running job `slot` under its GPUs' power limits: the slowest of its GPUs.
    fn speed_under_limits(&self, world: &bevy_ecs::world::World, slot: u32) -> f64 {
        let job = self.jobs.get(slot);
        let mut speed = 1.0f64;
        for g in job.grants.iter().filter(|g| g.milli > 0) {
            let e = self.index.servers[g.server as usize];
            let cap = world
                .get::<GpuLimits>(e)
                .expect("server entity")
                .effective()[g.slot as usize];
            if cap.is_infinite() {
                continue;
            }
            let model = world.get::<ServerPowerModel>(e).expect("server entity");
            let load = world.get::<ServerLoad>(e).expect("server entity");
            speed = speed.min(
                self.dvfs
                    .gpu_speed(job.id, model, load, g.slot as usize, cap),
            );
        }
        speed
    }

    /// Re-times running job `slot` for its GPUs' current limits. `starting`: the job just started (it keeps its
    /// full-speed `Finish` when nothing limits it).
    pub(crate) fn retime_under_limits(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32, starting: bool) {
        if !self.limited {
            return;
        }
        // Nothing limits any GPU now: a job starting runs at full speed; one running may have run limited.
        if starting && !ctx.world.resource::<crate::site::Site>().any_limits() {
            return;
        }
        let s = self.speed_under_limits(ctx.world, slot);
        if starting && s >= 1.0 {
            return;
        }
        self.set_factor(ctx, slot, self.limits_factor, 1.0 / s);
    }

    /// Whether slot `slot` holds a running job.
    pub(crate) fn is_running(&self, slot: u32) -> bool {
        self.running_pos
            .get(slot as usize)
            .is_some_and(|&p| p != u32::MAX)
    }

    /// Servers whose limits changed: their running jobs are re-timed when the part settles (once per job).
    pub(crate) fn limits_changed(&mut self, server: u32) {
        for &slot in &self.on_server[server as usize] {
            if self.speed_mark.len() <= slot as usize {
                self.speed_mark.resize(slot as usize + 1, false);
            }
            if !self.speed_mark[slot as usize] {
                self.speed_mark[slot as usize] = true;
                self.speed_dirty.push(slot);
            }
        }
    }

    /// Re-times every job marked by [`Jobs::limits_changed`], in job-id order.
    pub(crate) fn retime_marked(&mut self, ctx: &mut Ctx<'_, '_>) {
        if self.speed_dirty.is_empty() {
            return;
        }
        let mut dirty = std::mem::take(&mut self.speed_dirty);
        for &slot in &dirty {
            self.speed_mark[slot as usize] = false;
        }
        // A job may have stopped (and its slot been reused by a queued job) since it was marked.
        dirty.retain(|&s| self.is_running(s));
        dirty.sort_unstable_by_key(|&s| self.jobs.get(s).id);
        for &slot in &dirty {
            self.retime_under_limits(ctx, slot, false);
        }
        dirty.clear();
        self.speed_dirty = dirty;
    }
}
