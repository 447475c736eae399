//! Checkpoint cycles of training jobs (docs/models.md §Checkpoint interval): a run restarts (after an
//! interruption), loads its checkpoint (through the storage system, when the scenario has one), then trains
//! `every` of work, writes a checkpoint (a fixed stall, or a transfer through the storage system that shares
//! its bandwidth with the other jobs' transfers), trains again, …, and finishes after its last piece of work
//! (and a final checkpoint when the work ends on one). Training progresses only in the `Compute` phase, at the
//! job's rate (its factors); an interruption keeps the work up to the last completed checkpoint.

use sim::{SimDuration, SimTime};

use super::job::{Cycle, Phase};
use super::schedule::Event;
use super::state::Jobs;
use crate::kernel::{Ctx, Signal};

/// Work (ns at full speed) within which a checkpoint or the end counts as reached (times are whole ns).
const TOL_NS: f64 = 0.5;

impl Jobs {
    /// Begins the cycle of cycle job `slot`, just started: a restart first when it ran before.
    pub(crate) fn begin_cycle(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32, restarting: bool) {
        let now = ctx.now();
        let job = self.jobs.get_mut(slot);
        let spec = *self.checkpoints.cycle(job.id).expect("a cycle job");
        job.work_left_ns = job.train_left_ns;
        job.cycle = Some(Cycle {
            phase: Phase::Restart,
            phase_since: now,
            kept_ns: 0.0,
            kept_at: now,
        });
        if !restarting {
            self.enter(ctx, slot, Phase::Compute);
        } else if spec.restart.is_zero() {
            self.enter(ctx, slot, Phase::Load);
        } else {
            let run = self.jobs.bump(slot);
            ctx.at(
                now.saturating_add(spec.restart),
                Event::Resume { slot, run },
            );
        }
    }

    /// Cycle job `slot` enters `phase` now (from the phase it is in).
    fn enter(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32, phase: Phase) {
        let now = ctx.now();
        let job = self.jobs.get_mut(slot);
        let id = job.id;
        let spec = *self.checkpoints.cycle(id).expect("a cycle job");
        let c = job.cycle.as_mut().expect("a cycle job");
        let (from, since) = (c.phase, c.phase_since);
        c.phase = phase;
        c.phase_since = now;
        let spent = (now - since).as_nanos();
        let milli: u64 = job.grants.iter().map(|g| g.milli as u64).sum();
        let work = job.work;
        // A restart that ends is booked (writes are booked when they complete).
        if matches!(from, Phase::Restart | Phase::Load) && phase != from {
            self.counters.restart_milli_ns += spent as u128 * milli as u128;
            if let Some(t) = self.counters.times.as_mut() {
                t[id as usize].restart_ns += spent;
            }
        }
        let run = self.jobs.bump(slot);
        match phase {
            Phase::Restart => unreachable!("a run restarts only when it begins"),
            Phase::Load => match (spec.bytes, work) {
                (Some(bytes), Some(work)) => ctx.emit(Signal::IoStart {
                    work,
                    bytes,
                    write: false,
                }),
                // Without a storage system the restart includes the load.
                _ => self.enter(ctx, slot, Phase::Compute),
            },
            Phase::Compute => {
                let job = self.jobs.get_mut(slot);
                job.rate_since = now;
                let c = job.cycle.as_mut().expect("a cycle job");
                if from == Phase::Restart || from == Phase::Load {
                    c.kept_at = now;
                }
                self.schedule_compute(ctx, slot);
            }
            Phase::Write => match (spec.bytes, work) {
                (Some(bytes), Some(work)) => ctx.emit(Signal::IoStart {
                    work,
                    bytes,
                    write: true,
                }),
                _ => ctx.at(now.saturating_add(spec.write), Event::Resume { slot, run }),
            },
        }
    }

    /// Schedules the next stop of training cycle job `slot`: its next checkpoint or its end, whichever comes
    /// first in its work (a checkpoint when both coincide).
    pub(crate) fn schedule_compute(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32) {
        let now = ctx.now();
        let job = self.jobs.get(slot);
        let every = self
            .checkpoints
            .cycle(job.id)
            .expect("a cycle job")
            .every_ns;
        let c = job.cycle.expect("a cycle job");
        let done = job.train_left_ns - job.work_left_ns;
        let to_checkpoint = c.kept_ns + every - done;
        let work = to_checkpoint.min(job.work_left_ns).max(0.0);
        let wall = SimDuration::from_nanos((work * job.rate).ceil() as u64);
        let run = self.jobs.bump(slot);
        ctx.at(now.saturating_add(wall), Event::Finish { slot, run });
    }

    /// A `Finish` of cycle job `slot` in its current run: a checkpoint is due, or its work is done.
    pub(crate) fn cycle_stop(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32, run: u32) {
        let now = ctx.now();
        let every = {
            let job = self.jobs.get(slot);
            self.checkpoints
                .cycle(job.id)
                .expect("a cycle job")
                .every_ns
        };
        let job = self.jobs.get_mut(slot);
        job.work_left_ns = job.left_at(now).max(0.0);
        job.rate_since = now;
        let c = job.cycle.expect("a cycle job");
        let done = job.train_left_ns - job.work_left_ns;
        if done >= c.kept_ns + every - TOL_NS {
            self.enter(ctx, slot, Phase::Write);
        } else if job.work_left_ns <= TOL_NS {
            self.finish(ctx, slot, run);
        } else {
            self.schedule_compute(ctx, slot);
        }
    }

    /// A fixed-length phase of cycle job `slot` (a restart, a write without a storage system) ended, or its
    /// transfer through the storage system did.
    pub(crate) fn cycle_resume(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32) {
        let now = ctx.now();
        let job = self.jobs.get_mut(slot);
        let id = job.id;
        let c = job.cycle.as_mut().expect("a cycle job");
        match c.phase {
            Phase::Restart => self.enter(ctx, slot, Phase::Load),
            Phase::Load => self.enter(ctx, slot, Phase::Compute),
            Phase::Write => {
                // The checkpoint is complete: the work so far is kept.
                let spent = (now - c.phase_since).as_nanos();
                c.kept_ns = job.train_left_ns - job.work_left_ns;
                c.kept_at = now;
                if let Some(t) = self.counters.times.as_mut() {
                    t[id as usize].checkpoints += 1;
                    t[id as usize].write_ns += spent;
                }
                if self.jobs.get(slot).work_left_ns <= TOL_NS {
                    let run = self.jobs.run(slot);
                    self.finish(ctx, slot, run);
                } else {
                    self.enter(ctx, slot, Phase::Compute);
                }
            }
            Phase::Compute => {}
        }
    }

    /// What stopping cycle job `slot` at `now` costs: (work kept in this run, ns; wall time lost since its
    /// last checkpoint; time restarting in the current phase).
    pub(crate) fn cycle_loss(&self, slot: u32, now: SimTime) -> (f64, SimDuration, SimDuration) {
        let job = self.jobs.get(slot);
        let c = job.cycle.expect("a cycle job");
        match c.phase {
            Phase::Restart | Phase::Load => (0.0, SimDuration::ZERO, now - c.phase_since),
            Phase::Compute | Phase::Write => (c.kept_ns, now - c.kept_at, SimDuration::ZERO),
        }
    }
}
