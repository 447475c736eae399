//! The one run loop: parts in composition order on one engine.
//!
//! After every event (and once at start-up, before the first event) the kernel
//! 1. delivers the signals the event caused, first emitted first, each to every part in composition order
//!    (signals emitted while reacting join the end of the queue);
//! 2. settles: every part in composition order gets [`Part::settle`], and the signals a part emits while
//!    settling are delivered before the next part settles;
//! 3. settles again while the previous round emitted any signal.
//!
//! The same scenario therefore gives the same sequence of reactions, whatever the parts do.

use std::cell::RefCell;

use bevy_ecs::world::World;
use sim::{Engine, Sampling, Scheduler, SimDuration, SimTime};

use super::ctx::{Bus, Ctx, Sink};
use super::event::{Ev, PartId};
use super::part::Part;
use super::signal::Interests;

/// Settling rounds after one event beyond which the parts are taken to be caught in a loop (a model bug).
const MAX_SETTLE_ROUNDS: u32 = 10_000;

/// The parts of a twin and the signal bus between them.
pub struct Kernel {
    parts: Vec<Box<dyn Part>>,
    /// Each part's interests, fixed at composition.
    interests: Vec<Interests>,
    bus: Bus,
    /// Events the run may handle, and handled so far; whether it stopped at the limit, and when.
    max_events: u64,
    handled: u64,
    exhausted: Option<SimTime>,
}

impl Kernel {
    /// Parts in composition order (at most 255).
    pub fn new(parts: Vec<Box<dyn Part>>) -> Self {
        assert!(parts.len() < u8::MAX as usize, "too many parts");
        let interests: Vec<Interests> = parts.iter().map(|p| p.interests()).collect();
        let wanted = interests
            .iter()
            .fold(Interests::NONE, |acc, &i| acc.with(i));
        Kernel {
            parts,
            interests,
            bus: Bus {
                wanted,
                ..Bus::default()
            },
            max_events: u64::MAX,
            handled: 0,
            exhausted: None,
        }
    }

    /// The run stops (cleanly, before handling it) at the event after the first `max_events`.
    pub fn with_budget(mut self, max_events: u64) -> Self {
        self.max_events = max_events;
        self
    }

    /// When the run stopped at its budget of events, if it did.
    pub fn exhausted(&self) -> Option<SimTime> {
        self.exhausted
    }

    /// The parts, in composition order.
    pub fn parts_mut(&mut self) -> &mut [Box<dyn Part>] {
        &mut self.parts
    }

    /// Gives the parts back.
    pub fn into_parts(self) -> Vec<Box<dyn Part>> {
        self.parts
    }

    fn ctx<'a, 'q>(
        world: &'a mut World,
        sink: Sink<'a, 'q>,
        bus: &'a mut Bus,
        part: usize,
        now: SimTime,
    ) -> Ctx<'a, 'q> {
        Ctx {
            world,
            sink,
            bus,
            part: PartId(part as u8),
            now,
        }
    }

    /// Delivers every queued signal (and those emitted meanwhile) to every part.
    fn deliver(&mut self, world: &mut World, sink: &mut Sink<'_, '_>, now: SimTime) {
        while let Some(signal) = self.bus.queue.pop_front() {
            for (i, p) in self.parts.iter_mut().enumerate() {
                if !self.interests[i].wants(&signal) {
                    continue;
                }
                let mut ctx = Self::ctx(world, sink.reborrow(), &mut self.bus, i, now);
                p.react(&mut ctx, &signal);
            }
        }
    }

    /// Delivery and settling after an event (see the module documentation).
    fn after(&mut self, world: &mut World, sink: &mut Sink<'_, '_>, now: SimTime) {
        self.deliver(world, sink, now);
        for _ in 0..MAX_SETTLE_ROUNDS {
            let before = self.bus.emitted;
            for i in 0..self.parts.len() {
                let mut ctx = Self::ctx(world, sink.reborrow(), &mut self.bus, i, now);
                self.parts[i].settle(&mut ctx);
                self.deliver(world, sink, now);
            }
            if self.bus.emitted == before {
                return;
            }
        }
        panic!("parts still emitting signals after {MAX_SETTLE_ROUNDS} settling rounds at {now}");
    }

    /// Starts every part at time zero; returns the events they scheduled, in order.
    pub fn start(&mut self, world: &mut World) -> Vec<(SimTime, Ev)> {
        let mut pending = Vec::new();
        let mut sink = Sink::Setup(&mut pending);
        for i in 0..self.parts.len() {
            let mut ctx = Self::ctx(world, sink.reborrow(), &mut self.bus, i, SimTime::ZERO);
            self.parts[i].start(&mut ctx);
        }
        self.after(world, &mut sink, SimTime::ZERO);
        pending
    }

    /// Handles one event: its part's [`Part::handle`], then delivery and settling.
    pub fn dispatch(&mut self, world: &mut World, sched: &mut Scheduler<'_, Ev>, ev: Ev) {
        let now = sched.now();
        if self.handled >= self.max_events {
            self.exhausted = Some(now);
            sched.stop();
            return;
        }
        self.handled += 1;
        let mut sink = Sink::Engine(sched);
        let i = ev.part.index();
        let mut ctx = Self::ctx(world, sink.reborrow(), &mut self.bus, i, now);
        self.parts[i].handle(&mut ctx, ev.code);
        self.after(world, &mut sink, now);
    }
}

/// How a run is driven: its horizon, the sampling interval, and how often progress is reported.
pub struct Drive<'p> {
    pub horizon: SimTime,
    pub every: SimDuration,
    /// Called with the simulated fraction done, `slices` times.
    pub progress: &'p mut dyn FnMut(f64),
    pub slices: u64,
}

/// Runs `kernel`'s parts on `world` to the horizon, calling `on_sample(world, parts, t)` at every sampling time
/// `t` (after every event at `t`). Returns the world, the kernel and the number of events handled.
pub fn run(
    world: World,
    kernel: Kernel,
    drive: Drive<'_>,
    mut on_sample: impl FnMut(&mut World, &mut [Box<dyn Part>], SimTime),
) -> (World, Kernel, u64) {
    let mut engine = Engine::<Ev>::new(world);
    let kernel = RefCell::new(kernel);
    for (t, ev) in kernel.borrow_mut().start(&mut engine.world) {
        engine.schedule(t, ev);
    }
    let mut sampling = Sampling::new(SimTime::ZERO, drive.every);
    let horizon = drive.horizon;
    for k in 1..=drive.slices {
        let until = SimTime::from_nanos(
            (horizon.as_nanos() as u128 * k as u128 / drive.slices as u128) as u64,
        );
        engine.run_until_sampled(
            until,
            &mut sampling,
            |w: &mut World, s: &mut Scheduler<'_, Ev>, ev: Ev| {
                kernel.borrow_mut().dispatch(w, s, ev)
            },
            |w: &mut World, t: SimTime| on_sample(w, kernel.borrow_mut().parts_mut(), t),
        );
        (drive.progress)(k as f64 / drive.slices as f64);
    }
    let events = engine.events_processed();
    (engine.world, kernel.into_inner(), events)
}
