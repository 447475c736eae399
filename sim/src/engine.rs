//! The event loop: a [`World`] holding the model's state, an [`EventQueue`] outside it, and a handler function
//! that receives each event with `&mut World` and a [`Scheduler`] for follow-up events.

use bevy_ecs::world::World;

use crate::queue::EventQueue;
use crate::time::{SimDuration, SimTime};

/// Schedules follow-up events from inside a handler.
pub struct Scheduler<'a, E> {
    now: SimTime,
    queue: &'a mut EventQueue<E>,
    stop: &'a mut bool,
}

impl<E: Copy> Scheduler<'_, E> {
    /// The time of the event being handled.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `time`.
    ///
    /// # Panics
    /// If `time` is before [`Scheduler::now`]: time never runs backwards (a model bug, not an input error).
    pub fn at(&mut self, time: SimTime, event: E) {
        assert!(
            time >= self.now,
            "event scheduled in the past: at {time}, now {}",
            self.now
        );
        self.queue.push(time, event);
    }

    /// Schedules `event` after `delay`, saturating at [`SimTime::MAX`].
    pub fn after(&mut self, delay: SimDuration, event: E) {
        self.queue.push(self.now.saturating_add(delay), event);
    }

    /// Stops the run after this event: the `run_until*` call returns at once (the clock stays at this event)
    /// and every later call returns without handling anything ([`Engine::stopped`]).
    pub fn stop(&mut self) {
        *self.stop = true;
    }
}

/// A periodic sampling clock: the next sample is at `next`, then every `every`.
///
/// A sample at time `t` is taken after every event at times `≤ t` has been handled, so it sees the state at the
/// end of instant `t`. The clock persists across [`Engine::run_until_sampled`] calls, so a run may be cut into
/// slices (for progress reporting) without changing the samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sampling {
    next: Option<SimTime>,
    every: SimDuration,
}

impl Sampling {
    /// The first sample at `first`, then every `every`.
    ///
    /// # Panics
    /// If `every` is zero.
    pub fn new(first: SimTime, every: SimDuration) -> Self {
        assert!(!every.is_zero(), "sampling interval must be positive");
        Sampling {
            next: Some(first),
            every,
        }
    }

    /// The time of the next sample (`None` once past `SimTime::MAX`).
    pub fn next(&self) -> Option<SimTime> {
        self.next
    }

    fn advance(&mut self) {
        self.next = self.next.and_then(|t| t.checked_add(self.every));
    }
}

/// A discrete-event engine over a [`World`].
pub struct Engine<E> {
    /// The model's state. Handlers receive it mutably; it is public for setup and for reading results.
    pub world: World,
    queue: EventQueue<E>,
    now: SimTime,
    processed: u64,
    stopped: bool,
}

impl<E: Copy> Engine<E> {
    /// An engine at time zero with no pending events.
    pub fn new(world: World) -> Self {
        Engine {
            world,
            queue: EventQueue::with_capacity(1024),
            now: SimTime::ZERO,
            processed: 0,
            stopped: false,
        }
    }

    /// The current simulated time: the last event handled, or the end of the last `run_until`.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Number of events handled so far.
    pub fn events_processed(&self) -> u64 {
        self.processed
    }

    /// Whether a handler stopped the run ([`Scheduler::stop`]).
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Number of pending events.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// The time of the earliest pending event.
    pub fn next_event_time(&self) -> Option<SimTime> {
        self.queue.peek_time()
    }

    /// Schedules `event` at `time` from outside a handler (setup).
    ///
    /// # Panics
    /// If `time` is before [`Engine::now`].
    pub fn schedule(&mut self, time: SimTime, event: E) {
        assert!(
            time >= self.now,
            "event scheduled in the past: at {time}, now {}",
            self.now
        );
        self.queue.push(time, event);
    }

    #[inline]
    fn step<H>(&mut self, handler: &mut H)
    where
        H: FnMut(&mut World, &mut Scheduler<'_, E>, E),
    {
        let (t, event) = self
            .queue
            .take_first()
            .expect("step called with an event pending");
        debug_assert!(t >= self.now, "time ran backwards");
        self.now = t;
        self.processed += 1;
        let mut sched = Scheduler {
            now: t,
            queue: &mut self.queue,
            stop: &mut self.stopped,
        };
        handler(&mut self.world, &mut sched, event);
        self.queue.settle();
    }

    /// Handles every event with time `≤ until` in `(time, insertion)` order, then sets the clock to `until`
    /// (if it is later than the last event). Events scheduled by handlers at times `≤ until` are handled too.
    pub fn run_until<H>(&mut self, until: SimTime, mut handler: H)
    where
        H: FnMut(&mut World, &mut Scheduler<'_, E>, E),
    {
        while !self.stopped && self.queue.peek_time().is_some_and(|t| t <= until) {
            self.step(&mut handler);
        }
        if !self.stopped {
            self.now = self.now.max(until);
        }
    }

    /// Like [`Engine::run_until`], and calls `on_sample(world, t)` at every sampling time `t ≤ until`, after all
    /// events at times `≤ t`.
    pub fn run_until_sampled<H, S>(
        &mut self,
        until: SimTime,
        sampling: &mut Sampling,
        mut handler: H,
        mut on_sample: S,
    ) where
        H: FnMut(&mut World, &mut Scheduler<'_, E>, E),
        S: FnMut(&mut World, SimTime),
    {
        loop {
            if self.stopped {
                return;
            }
            let next_event = self.queue.peek_time().filter(|&t| t <= until);
            let next_sample = sampling.next.filter(|&t| t <= until);
            match (next_event, next_sample) {
                (Some(te), Some(ts)) if te <= ts => self.step(&mut handler),
                (Some(_), None) => self.step(&mut handler),
                (_, Some(ts)) => {
                    // A sample time earlier than the clock (first sample before a resumed run) is taken now.
                    self.now = self.now.max(ts);
                    on_sample(&mut self.world, ts);
                    sampling.advance();
                }
                (None, None) => break,
            }
        }
        self.now = self.now.max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy_ecs::prelude::Resource;

    #[derive(Resource, Default)]
    struct Log(Vec<(u64, u32)>);

    #[test]
    fn handlers_schedule_follow_ups_and_fifo_ties_hold() {
        let mut world = World::new();
        world.insert_resource(Log::default());
        let mut engine = Engine::new(world);
        engine.schedule(SimTime::from_secs(1), 1u32);
        engine.schedule(SimTime::from_secs(1), 2);
        engine.run_until(
            SimTime::from_secs(10),
            |w: &mut World, s: &mut Scheduler<u32>, e: u32| {
                w.resource_mut::<Log>()
                    .0
                    .push((s.now().as_nanos() / 1_000_000_000, e));
                if e < 5 {
                    s.after(SimDuration::from_secs(1), e + 10);
                    s.at(s.now(), e + 100); // same time: after everything already queued at this time
                }
            },
        );
        let log = &engine.world.resource::<Log>().0;
        assert_eq!(
            log,
            &vec![(1, 1), (1, 2), (1, 101), (1, 102), (2, 11), (2, 12)]
        );
        assert_eq!(engine.events_processed(), 6);
        assert_eq!(engine.now(), SimTime::from_secs(10));
        assert_eq!(engine.pending(), 0);
    }

    #[test]
    fn samples_see_events_at_their_instant_and_survive_slicing() {
        let run = |slices: u64| {
            let mut engine = Engine::new(World::new());
            for t in [0u64, 5, 10, 10, 17, 30] {
                engine.schedule(SimTime::from_secs(t), t);
            }
            let mut seen = 0u64;
            let mut samples = Vec::new();
            let mut sampling = Sampling::new(SimTime::ZERO, SimDuration::from_secs(10));
            for k in 1..=slices {
                let until = SimTime::from_secs(30 * k / slices);
                engine.run_until_sampled(
                    until,
                    &mut sampling,
                    |_: &mut World, _: &mut Scheduler<u64>, _e: u64| seen += 1,
                    |_: &mut World, t: SimTime| samples.push((t.as_nanos() / 1_000_000_000, 0)),
                );
                // Record how many events preceded each sample.
                for s in samples.iter_mut().filter(|s| s.1 == 0) {
                    s.1 = u64::MAX;
                }
            }
            (seen, samples.len(), engine.now())
        };
        assert_eq!(run(1), (6, 4, SimTime::from_secs(30)));
        assert_eq!(run(7), run(1));
    }

    #[test]
    fn sample_at_t_follows_events_at_t() {
        let mut world = World::new();
        world.insert_resource(Log::default());
        let mut engine = Engine::new(world);
        engine.schedule(SimTime::from_secs(10), 7u32);
        let mut sampling = Sampling::new(SimTime::ZERO, SimDuration::from_secs(10));
        let mut at_sample = Vec::new();
        engine.run_until_sampled(
            SimTime::from_secs(20),
            &mut sampling,
            |w: &mut World, s: &mut Scheduler<u32>, e: u32| {
                w.resource_mut::<Log>().0.push((s.now().as_nanos(), e))
            },
            |w: &mut World, t: SimTime| at_sample.push((t, w.resource::<Log>().0.len())),
        );
        assert_eq!(
            at_sample,
            vec![
                (SimTime::ZERO, 0),
                (SimTime::from_secs(10), 1),
                (SimTime::from_secs(20), 1)
            ]
        );
    }

    #[test]
    fn a_stopped_run_handles_nothing_more() {
        let mut engine = Engine::new(World::new());
        for t in 1..=5u64 {
            engine.schedule(SimTime::from_secs(t), t);
        }
        let mut seen = Vec::new();
        let mut handler = |_: &mut World, s: &mut Scheduler<u64>, e: u64| {
            seen.push(e);
            if e == 2 {
                s.stop();
            }
        };
        engine.run_until(SimTime::from_secs(10), &mut handler);
        engine.run_until(SimTime::from_secs(20), &mut handler);
        assert!(engine.stopped());
        assert_eq!(seen, vec![1, 2]);
        assert_eq!(engine.now(), SimTime::from_secs(2));
    }

    #[test]
    #[should_panic(expected = "past")]
    fn scheduling_in_the_past_panics() {
        let mut engine = Engine::new(World::new());
        engine.run_until(
            SimTime::from_secs(5),
            |_: &mut World, _: &mut Scheduler<()>, _: ()| {},
        );
        engine.schedule(SimTime::from_secs(1), ());
    }
}
