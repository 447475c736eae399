//! The part interface: one model's state, its own events and its reactions.

use bevy_ecs::world::World;
use output::{Sample, Summary};
use sim::SimTime;

use super::ctx::Ctx;
use super::event::Code;
use super::signal::{Interests, Signal};

/// One model of the twin (cluster scheduling, inference serving, the network fabric, power capping, the
/// facility, …). A part owns its state; it changes shared state (the site, the work registry, the ledger) only
/// through the functions that announce the change as a [`Signal`], and never calls another part.
///
/// Every method but [`Part::name`] has a default that does nothing, so a part implements what it uses.
pub trait Part {
    /// A short name (diagnostics, documentation).
    fn name(&self) -> &'static str;

    /// At time zero, before the first event: schedule first events, set up shared state. Parts start in
    /// composition order; signals emitted here are delivered, and every part settles, before the first event.
    fn start(&mut self, _ctx: &mut Ctx<'_, '_>) {}

    /// One of this part's own events (scheduled with [`Ctx::at`]).
    fn handle(&mut self, _ctx: &mut Ctx<'_, '_>, _code: Code) {}

    /// The kinds of signal this part reacts to (all by default); others are not delivered to it.
    fn interests(&self) -> Interests {
        Interests::ALL
    }

    /// A signal from any part (this one included), of a kind in [`Part::interests`].
    fn react(&mut self, _ctx: &mut Ctx<'_, '_>, _signal: &Signal) {}

    /// After every event, once every signal it caused is delivered: act on what accumulated (re-price the
    /// fabric, tell the controller about new demand, check breakers, schedule the next wake-up). Must do
    /// nothing when nothing changed: the kernel settles again after any round that emitted signals.
    fn settle(&mut self, _ctx: &mut Ctx<'_, '_>) {}

    /// At each sampling time (after every event at that time): add this part's figures to the row.
    fn sample(&mut self, _world: &mut World, _t: SimTime, _row: &mut Sample) {}

    /// At the horizon: close integrals and write this part's sections of the summary.
    fn summarize(&mut self, _world: &mut World, _horizon: SimTime, _out: &mut Summary) {}
}
