//! What a part sees while it acts: the World (shared state), the clock, its own event scheduling, and the
//! signal bus.

use std::collections::VecDeque;

use bevy_ecs::world::World;
use sim::{Scheduler, SimTime};

use super::event::{Ev, EventCode, PartId};
use super::signal::{Interests, Signal};

/// Signals emitted and not yet delivered, in emission order.
#[derive(Default)]
pub(crate) struct Bus {
    pub(crate) queue: VecDeque<Signal>,
    /// Signals emitted so far (a settling round that emits none ends the event).
    pub(crate) emitted: u64,
    /// The kinds some part wants (others are dropped when emitted).
    pub(crate) wanted: Interests,
}

impl Bus {
    pub(crate) fn push(&mut self, signal: Signal) {
        if self.wanted.wants(&signal) {
            self.queue.push_back(signal);
            self.emitted += 1;
        }
    }
}

/// Where scheduled events go: the engine during the run, a list at start-up (scheduled before the first event).
pub(crate) enum Sink<'a, 'q> {
    Engine(&'a mut Scheduler<'q, Ev>),
    Setup(&'a mut Vec<(SimTime, Ev)>),
}

impl<'q> Sink<'_, 'q> {
    pub(crate) fn reborrow(&mut self) -> Sink<'_, 'q> {
        match self {
            Sink::Engine(s) => Sink::Engine(s),
            Sink::Setup(v) => Sink::Setup(v),
        }
    }
}

/// A part's handle on the simulation while it handles an event, reacts to a signal or settles.
pub struct Ctx<'a, 'q> {
    /// Shared state: the site's servers (components), the work registry, the ledger.
    pub world: &'a mut World,
    pub(crate) sink: Sink<'a, 'q>,
    pub(crate) bus: &'a mut Bus,
    pub(crate) part: PartId,
    pub(crate) now: SimTime,
}

impl Ctx<'_, '_> {
    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The part acting.
    pub fn part(&self) -> PartId {
        self.part
    }

    /// Schedules this part's event `ev` at `time` (≥ now; at equal times events run in the order scheduled).
    ///
    /// # Panics
    /// If `time` is before now (a model bug).
    pub fn at<C: EventCode>(&mut self, time: SimTime, ev: C) {
        let e = Ev {
            part: self.part,
            code: ev.encode(),
        };
        match &mut self.sink {
            Sink::Engine(s) => s.at(time, e),
            Sink::Setup(v) => {
                assert!(time >= self.now, "event scheduled in the past");
                v.push((time, e));
            }
        }
    }

    /// Emits a signal: it is delivered to every part that wants its kind (this one included), after the signals
    /// emitted before it.
    pub fn emit(&mut self, signal: Signal) {
        self.bus.push(signal);
    }

    /// The World and a way to emit signals, as two borrows (for helpers that change shared state and announce
    /// it).
    pub fn split(&mut self) -> (&mut World, Emitter<'_>) {
        (
            &mut *self.world,
            Emitter {
                bus: &mut *self.bus,
            },
        )
    }
}

/// Emits signals on behalf of a [`Ctx`] while its World is borrowed elsewhere.
pub struct Emitter<'a> {
    bus: &'a mut Bus,
}

impl Emitter<'_> {
    pub fn emit(&mut self, signal: Signal) {
        self.bus.push(signal);
    }
}
