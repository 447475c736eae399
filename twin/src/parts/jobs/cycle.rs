//! Checkpoint cycles of training jobs (docs/models.md §Checkpoint interval). A run restarts (after an
//! interruption), loads its checkpoint (through the storage system, when the scenario has one), then trains
//! `every` of work and checkpoints, trains again, …, and finishes after its last piece of work (and a final
//! checkpoint when the work ends on one).
//!
//! - **Synchronous**: training stalls while the checkpoint is written (a fixed stall, or a transfer through the
//!   storage system that shares its bandwidth with the other jobs' transfers); it counts once written.
//! - **Asynchronous**: training stalls for the snapshot only; the write then overlaps training and the
//!   checkpoint counts once it is written. A checkpoint (or the end) due while the previous write is in flight
//!   waits for it.
//!
//! Training progresses only in the `Compute` phase, at the job's rate (its factors); an interruption keeps the
//! work up to the last checkpoint written.

use sim::{SimDuration, SimTime};

use super::job::{Cycle, Pending, Phase};
use super::schedule::Event;
use super::state::Jobs;
use crate::kernel::{Ctx, IoId, Signal};

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
            next_ns: spec.every_ns,
            pending: None,
            stall_after_kept_ns: 0,
            stall_since_snapshot_ns: 0,
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

    /// Books what the phase that ends cost: a restart (or load) as restart time, a stall for a checkpoint
    /// (a synchronous write, a snapshot, a wait for a write) as write time.
    fn book_phase(&mut self, slot: u32, now: SimTime) {
        let job = self.jobs.get(slot);
        let c = job.cycle.expect("a cycle job");
        let spent = (now - c.phase_since).as_nanos();
        let id = job.id as usize;
        match c.phase {
            Phase::Restart | Phase::Load => {
                let milli: u64 = job.grants.iter().map(|g| g.milli as u64).sum();
                self.counters.restart_milli_ns += spent as u128 * milli as u128;
                if let Some(t) = self.counters.times.as_mut() {
                    t[id].restart_ns += spent;
                }
            }
            Phase::Write | Phase::Snapshot | Phase::Drain => {
                if let Some(t) = self.counters.times.as_mut() {
                    t[id].write_ns += spent;
                }
                let job = self.jobs.get_mut(slot);
                let c = job.cycle.as_mut().expect("a cycle job");
                let from = c.phase_since.max(c.kept_at);
                if now > from {
                    c.stall_after_kept_ns += (now - from).as_nanos();
                }
                if c.phase != Phase::Snapshot {
                    c.stall_since_snapshot_ns += spent;
                }
            }
            Phase::Compute => {}
        }
    }

    /// Cycle job `slot` enters `phase` now (from the phase it is in, booked).
    fn enter(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32, phase: Phase) {
        let now = ctx.now();
        self.book_phase(slot, now);
        let job = self.jobs.get_mut(slot);
        let spec = *self.checkpoints.cycle(job.id).expect("a cycle job");
        let work = job.work;
        let c = job.cycle.as_mut().expect("a cycle job");
        let from = c.phase;
        c.phase = phase;
        c.phase_since = now;
        let run = self.jobs.bump(slot);
        // The dataset is read only while training.
        if from == Phase::Compute && phase != Phase::Compute {
            self.stop_stream(ctx, slot);
        }
        match phase {
            Phase::Restart => unreachable!("a run restarts only when it begins"),
            Phase::Load => match (spec.bytes, work) {
                (Some(bytes), Some(_)) => self.start_io(ctx, slot, bytes, false),
                // Without a storage system the restart includes the load.
                _ => self.enter(ctx, slot, Phase::Compute),
            },
            Phase::Compute => {
                let job = self.jobs.get_mut(slot);
                job.rate_since = now;
                let c = job.cycle.as_mut().expect("a cycle job");
                if matches!(from, Phase::Restart | Phase::Load) {
                    c.kept_at = now;
                    c.stall_after_kept_ns = 0;
                }
                self.schedule_compute(ctx, slot);
                self.start_stream(ctx, slot);
            }
            Phase::Write => match (spec.bytes, work) {
                (Some(bytes), Some(_)) => self.start_io(ctx, slot, bytes, true),
                _ => ctx.at(now.saturating_add(spec.write), Event::Resume { slot, run }),
            },
            Phase::Snapshot => {
                let snapshot = spec.snapshot.unwrap_or(SimDuration::ZERO);
                ctx.at(now.saturating_add(snapshot), Event::Resume { slot, run });
            }
            Phase::Drain => {}
        }
    }

    /// Schedules the next stop of training cycle job `slot`: its next checkpoint or its end, whichever comes
    /// first in its work (a checkpoint when both coincide).
    pub(crate) fn schedule_compute(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32) {
        let now = ctx.now();
        let job = self.jobs.get(slot);
        let c = job.cycle.expect("a cycle job");
        let done = job.train_left_ns - job.work_left_ns;
        let work = (c.next_ns - done).min(job.work_left_ns).max(0.0);
        let wall = SimDuration::from_nanos((work * job.rate).ceil() as u64);
        let run = self.jobs.bump(slot);
        ctx.at(now.saturating_add(wall), Event::Finish { slot, run });
    }

    /// A `Finish` of cycle job `slot` in its current run: a checkpoint is due, or its work is done.
    pub(crate) fn cycle_stop(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32, run: u32) {
        let now = ctx.now();
        let job = self.jobs.get_mut(slot);
        job.work_left_ns = job.left_at(now).max(0.0);
        job.rate_since = now;
        let c = job.cycle.expect("a cycle job");
        let done = job.train_left_ns - job.work_left_ns;
        if done >= c.next_ns - TOL_NS {
            self.checkpoint_due(ctx, slot);
        } else if job.work_left_ns <= TOL_NS {
            self.at_end(ctx, slot, run);
        } else {
            self.schedule_compute(ctx, slot);
        }
    }

    /// A checkpoint of cycle job `slot` is due now.
    fn checkpoint_due(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32) {
        let job = self.jobs.get(slot);
        let asynchronous = self
            .checkpoints
            .cycle(job.id)
            .expect("a cycle job")
            .snapshot
            .is_some();
        let pending = job.cycle.expect("a cycle job").pending.is_some();
        let phase = match (asynchronous, pending) {
            (false, _) => Phase::Write,
            (true, false) => Phase::Snapshot,
            (true, true) => Phase::Drain,
        };
        self.enter(ctx, slot, phase);
    }

    /// Cycle job `slot`'s work is done: it finishes, once an asynchronous write in flight has ended.
    fn at_end(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32, run: u32) {
        if self
            .jobs
            .get(slot)
            .cycle
            .is_some_and(|c| c.pending.is_some())
        {
            self.enter(ctx, slot, Phase::Drain);
        } else {
            self.book_phase(slot, ctx.now());
            self.finish(ctx, slot, run);
        }
    }

    /// Trains again after a checkpoint stall, or ends.
    fn after_checkpoint(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32) {
        let job = self.jobs.get_mut(slot);
        let every = self
            .checkpoints
            .cycle(job.id)
            .expect("a cycle job")
            .every_ns;
        let done = job.train_left_ns - job.work_left_ns;
        let c = job.cycle.as_mut().expect("a cycle job");
        if done >= c.next_ns - TOL_NS {
            c.next_ns = done + every;
        }
        if job.work_left_ns <= TOL_NS {
            let run = self.jobs.run(slot);
            self.at_end(ctx, slot, run);
        } else {
            self.enter(ctx, slot, Phase::Compute);
        }
    }

    /// A fixed-length phase of cycle job `slot` ended (a restart, a synchronous write without a storage
    /// system, a snapshot), or its transfer through the storage system did (a load, a write).
    pub(crate) fn cycle_resume(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32) {
        let now = ctx.now();
        let job = self.jobs.get_mut(slot);
        let done = job.train_left_ns - job.work_left_ns;
        let c = job.cycle.as_mut().expect("a cycle job");
        match c.phase {
            Phase::Restart => self.enter(ctx, slot, Phase::Load),
            Phase::Load => self.enter(ctx, slot, Phase::Compute),
            Phase::Write => {
                // The checkpoint is written: the work so far is kept.
                c.kept_ns = done;
                c.kept_at = now;
                c.stall_after_kept_ns = 0;
                self.count_checkpoint(slot);
                self.after_checkpoint(ctx, slot);
            }
            Phase::Snapshot => {
                // The state is copied: the write overlaps training from now on.
                let spec = *self
                    .checkpoints
                    .cycle(self.jobs.get(slot).id)
                    .expect("a cycle job");
                self.async_writes = self.async_writes.wrapping_add(1);
                let seq = self.async_writes;
                let job = self.jobs.get_mut(slot);
                let work = job.work;
                let c = job.cycle.as_mut().expect("a cycle job");
                c.pending = Some(Pending {
                    done_ns: done,
                    at: now,
                    seq,
                });
                c.stall_since_snapshot_ns = 0;
                match (spec.bytes, work) {
                    (Some(bytes), Some(_)) => self.start_io(ctx, slot, bytes, true),
                    _ => ctx.at(now.saturating_add(spec.write), Event::Written { slot, seq }),
                }
                self.after_checkpoint(ctx, slot);
            }
            // An asynchronous write ended while training or waiting for it.
            Phase::Compute | Phase::Drain => {
                if let Some(seq) = c.pending.map(|p| p.seq) {
                    self.async_written(ctx, slot, seq);
                }
            }
        }
    }

    /// Asynchronous write `seq` of the job in slot `slot` ended (stale if that job no longer waits for it).
    pub(crate) fn async_written(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32, seq: u32) {
        if !self.is_running(slot) {
            return;
        }
        let job = self.jobs.get_mut(slot);
        let Some(c) = job.cycle.as_mut() else { return };
        let Some(p) = c.pending.filter(|p| p.seq == seq) else {
            return;
        };
        c.pending = None;
        c.kept_ns = p.done_ns;
        c.kept_at = p.at;
        // The stalls booked since that snapshot ended fall after it.
        c.stall_after_kept_ns = c.stall_since_snapshot_ns;
        let draining = c.phase == Phase::Drain;
        self.count_checkpoint(slot);
        if draining {
            let job = self.jobs.get(slot);
            let c = job.cycle.expect("a cycle job");
            let done = job.train_left_ns - job.work_left_ns;
            if done >= c.next_ns - TOL_NS {
                self.checkpoint_due(ctx, slot);
            } else {
                let run = self.jobs.run(slot);
                self.at_end(ctx, slot, run);
            }
        }
    }

    /// The storage transfer of running job `slot` (its work item is the key: one transfer at a time).
    fn io_of(&self, ctx: &Ctx<'_, '_>, slot: u32) -> Option<IoId> {
        self.jobs.get(slot).work.map(|w| IoId {
            part: ctx.part(),
            key: w.to_bits(),
        })
    }

    /// Starts the storage transfer of running job `slot` through its servers' links.
    fn start_io(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32, bytes: f64, write: bool) {
        let Some(io) = self.io_of(ctx, slot) else {
            return;
        };
        let servers = crate::work::servers_of(&self.jobs.get(slot).grants);
        ctx.emit(Signal::IoStart {
            io,
            bytes,
            write,
            servers,
        });
    }

    /// Cancels the storage transfer running job `slot` has in flight, if any (it is being stopped).
    pub(crate) fn cancel_io(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32) {
        let job = self.jobs.get(slot);
        let Some(c) = job.cycle else { return };
        let through_storage = self
            .checkpoints
            .cycle(job.id)
            .is_some_and(|s| s.bytes.is_some());
        let in_flight = matches!(c.phase, Phase::Load | Phase::Write) || c.pending.is_some();
        if through_storage
            && in_flight
            && let Some(io) = self.io_of(ctx, slot)
        {
            ctx.emit(Signal::IoCancel { io });
        }
    }

    fn count_checkpoint(&mut self, slot: u32) {
        let id = self.jobs.get(slot).id as usize;
        if let Some(t) = self.counters.times.as_mut() {
            t[id].checkpoints += 1;
        }
    }

    /// What stopping cycle job `slot` at `now` costs: (work kept in this run, ns; wall time lost since its
    /// last checkpoint written; time restarting in the current phase).
    pub(crate) fn cycle_loss(&self, slot: u32, now: SimTime) -> (f64, SimDuration, SimDuration) {
        let job = self.jobs.get(slot);
        let c = job.cycle.expect("a cycle job");
        match c.phase {
            Phase::Restart | Phase::Load => (0.0, SimDuration::ZERO, now - c.phase_since),
            _ => {
                // Stalls already booked are not lost a second time.
                let since = (now - c.kept_at).as_nanos();
                let lost = since.saturating_sub(c.stall_after_kept_ns);
                (c.kept_ns, SimDuration::from_nanos(lost), SimDuration::ZERO)
            }
        }
    }
}
