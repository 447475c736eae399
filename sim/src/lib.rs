//! # sim — dctwin's discrete-event engine
//!
//! The engine knows nothing about datacenters. It provides:
//!
//! - **Integer time.** [`SimTime`] (an instant) and [`SimDuration`] (a span) are nanoseconds in a `u64`. Floating
//!   point seconds appear only at the edges.
//! - **An event queue** ([`EventQueue`]) ordered by `(time, insertion sequence)`, events stored inline in one heap
//!   (no allocation per event once warmed up), and [`Generation`] counters for O(1) cancellation.
//! - **An event loop** ([`Engine`]) over a `bevy_ecs` [`World`](bevy_ecs::world::World): the model's state lives
//!   in the World; the queue lives outside it; a handler `fn(&mut World, &mut Scheduler<E>, E)` handles each
//!   event and schedules follow-ups. Bulk work (telemetry aggregation) runs as bevy Schedules at sampling times
//!   ([`Sampling`]).
//! - **Random streams** ([`RngStreams`]): one seed, named per-purpose ChaCha8 streams.
//!
//! ## Event-ordering contract
//!
//! 1. Events are handled in non-decreasing time order. The clock never runs backwards: scheduling an event
//!    before `now` panics (a model bug).
//! 2. Events with equal times are handled in the order they were scheduled (FIFO), including events scheduled
//!    by a handler at the current instant: they run after every event already queued for that instant.
//! 3. A sample at time `t` ([`Engine::run_until_sampled`]) is taken after every event at times `≤ t` and before
//!    any event at a later time. Samples at times `≤ until` are taken within the call for `until`; cutting a run
//!    into slices does not change events or samples.
//! 4. `run_until(until)` handles events at times `≤ until`, including ones scheduled during the call, then sets
//!    the clock to `until`.
//! 5. Cancellation is by generation: the owner bumps its [`Generation`]; stale events still pop and the handler
//!    ignores them. The queue is never scanned.
//! 6. A handler may stop the run ([`Scheduler::stop`]): no event after that one is handled, by this call or any
//!    later one (a model's budget of events or work is exhausted).
//!
//! These rules, the seed and the scenario determine every event: the same inputs give the same outputs, byte
//! for byte.
//!
//! ## Example
//!
//! ```
//! use sim::{Engine, Scheduler, SimDuration, SimTime};
//! use sim::bevy_ecs::prelude::*;
//!
//! #[derive(Resource, Default)]
//! struct Ticks(u32);
//!
//! let mut world = World::new();
//! world.init_resource::<Ticks>();
//! let mut engine = Engine::new(world);
//! engine.schedule(SimTime::ZERO, ());
//! // A clock that ticks every second.
//! engine.run_until(SimTime::from_secs(9), |w: &mut World, s: &mut Scheduler<()>, _| {
//!     w.resource_mut::<Ticks>().0 += 1;
//!     s.after(SimDuration::from_secs(1), ());
//! });
//! assert_eq!(engine.world.resource::<Ticks>().0, 10); // t = 0..=9
//! ```

mod engine;
mod queue;
mod rng;
mod time;

pub use engine::{Engine, Sampling, Scheduler};
pub use queue::{EventQueue, Generation};
pub use rng::{RngStreams, SimRng, fnv1a64};
pub use time::{NANOS_PER_SEC, SimDuration, SimTime};

pub use bevy_ecs;
pub use rand;
pub use rand_distr;
