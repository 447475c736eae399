//! PHOLD, the standard discrete-event engine benchmark (Fujimoto 1990): `lps` logical processes exchange
//! `jobs` circulating events (by default one per LP, all at t = 0); handling an event schedules one new event at
//! a uniformly random LP after an Exponential(mean 1 s) delay. Measures raw engine throughput: queue + World access +
//! one random draw per event. Prints one line of figures.
//!
//!     cargo bench --bench phold
//!     PHOLD_LPS=4096 PHOLD_JOBS=16384 PHOLD_EVENTS=10000000 cargo bench --bench phold

mod common;
use common::env_u64;

use std::time::Instant;

use sim::bevy_ecs::prelude::*;
use sim::rand::RngExt;
use sim::rand_distr::{Distribution, Exp};
use sim::{Engine, RngStreams, Scheduler, SimDuration, SimRng, SimTime};

#[derive(Resource)]
struct Lps {
    handled: Vec<u64>,
    rng: SimRng,
    delay: Exp<f64>,
}

#[derive(Clone, Copy)]
struct Msg {
    lp: u32,
}

fn main() {
    let lps = env_u64("PHOLD_LPS", 1024) as u32;
    let jobs = env_u64("PHOLD_JOBS", lps as u64);
    let events = env_u64("PHOLD_EVENTS", 5_000_000);
    let streams = RngStreams::new(1);
    let mut world = World::new();
    world.insert_resource(Lps {
        handled: vec![0; lps as usize],
        rng: streams.stream("phold"),
        delay: Exp::new(1.0).expect("rate > 0"),
    });
    let mut engine = Engine::new(world);
    for j in 0..jobs {
        engine.schedule(
            SimTime::ZERO,
            Msg {
                lp: (j % lps as u64) as u32,
            },
        );
    }
    let wall = Instant::now();
    // Run in one-simulated-second slices until the event budget is spent.
    let mut until = SimTime::ZERO;
    while engine.events_processed() < events {
        until += SimDuration::from_secs(1);
        engine.run_until(until, |w: &mut World, s: &mut Scheduler<Msg>, m: Msg| {
            let mut st = w.resource_mut::<Lps>();
            let st = &mut *st;
            st.handled[m.lp as usize] += 1;
            let d = st.delay.sample(&mut st.rng);
            let to = st.rng.random_range(0..lps);
            let delay = SimDuration::from_nanos((d * 1e9) as u64);
            s.after(delay, Msg { lp: to });
        });
    }
    let secs = wall.elapsed().as_secs_f64();
    let n = engine.events_processed();
    let handled: u64 = engine.world.resource::<Lps>().handled.iter().sum();
    assert_eq!(handled, n, "every event handled exactly once");
    assert_eq!(
        engine.pending() as u64,
        jobs,
        "PHOLD conserves the event population"
    );
    println!(
        "phold engine=dctwin lps={lps} jobs={jobs} events={n} wall_s={secs:.3} events_per_s={:.0} sim_s={:.0}",
        n as f64 / secs,
        until.as_secs_f64()
    );
}
