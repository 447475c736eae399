//! The kernel's ordering contract, on toy parts that log what they see.

use bevy_ecs::prelude::*;
use sim::{SimDuration, SimTime};

use super::{Code, Ctx, Drive, EventCode, Kernel, Part, Signal, run};

#[derive(Resource, Default)]
struct Log(Vec<String>);

fn log(ctx: &mut Ctx<'_, '_>, line: String) {
    ctx.world.resource_mut::<Log>().0.push(line);
}

#[derive(Clone, Copy)]
struct Tick(u32);

impl EventCode for Tick {
    fn encode(self) -> Code {
        Code {
            tag: 0,
            a: self.0,
            b: 0,
        }
    }
    fn decode(c: Code) -> Self {
        Tick(c.a)
    }
}

/// Emits `LoadChanged { server: n }` for n in its list at each of its events; reacts to `LoadChanged { 1 }` by
/// emitting `LoadChanged { 9 }`; after seeing a `LoadChanged`, settles once by emitting `ServerUp { 0 }`.
struct Talker {
    name: &'static str,
    emits: Vec<u32>,
    echo: bool,
    settle_once: bool,
    settled: bool,
    start_at: Vec<u64>,
}

impl Part for Talker {
    fn name(&self) -> &'static str {
        self.name
    }
    fn start(&mut self, ctx: &mut Ctx<'_, '_>) {
        for &t in &self.start_at {
            ctx.at(SimTime::from_secs(t), Tick(t as u32));
        }
        log(ctx, format!("{} start", self.name));
    }
    fn handle(&mut self, ctx: &mut Ctx<'_, '_>, code: Code) {
        log(
            ctx,
            format!(
                "{} event {} at {}",
                self.name,
                Tick::decode(code).0,
                ctx.now()
            ),
        );
        for &n in &self.emits {
            ctx.emit(Signal::LoadChanged { server: n });
        }
    }
    fn react(&mut self, ctx: &mut Ctx<'_, '_>, signal: &Signal) {
        log(ctx, format!("{} sees {signal:?}", self.name));
        if matches!(signal, Signal::LoadChanged { .. }) {
            self.settled = false;
        }
        if self.echo && *signal == (Signal::LoadChanged { server: 1 }) {
            ctx.emit(Signal::LoadChanged { server: 9 });
        }
    }
    fn settle(&mut self, ctx: &mut Ctx<'_, '_>) {
        log(ctx, format!("{} settles", self.name));
        if self.settle_once && !self.settled {
            self.settled = true;
            ctx.emit(Signal::ServerUp { server: 0 });
        }
    }
}

fn talker(
    name: &'static str,
    emits: &[u32],
    echo: bool,
    settle_once: bool,
    start_at: &[u64],
) -> Box<dyn Part> {
    Box::new(Talker {
        name,
        emits: emits.to_vec(),
        echo,
        settle_once,
        settled: true,
        start_at: start_at.to_vec(),
    })
}

fn run_parts(parts: Vec<Box<dyn Part>>, horizon_s: u64) -> Vec<String> {
    let mut world = World::new();
    world.init_resource::<Log>();
    let drive = Drive {
        horizon: SimTime::from_secs(horizon_s),
        every: SimDuration::from_secs(1000),
        progress: &mut |_| {},
        slices: 3,
    };
    let (mut world, _, _) = run(world, Kernel::new(parts), drive, |_, _, _| {});
    std::mem::take(&mut world.resource_mut::<Log>().0)
}

/// Signals go out first emitted first, each to every part in composition order; a signal emitted while
/// reacting joins the end of the queue. Then every part settles in order; a round that emitted a signal is
/// followed by another round.
#[test]
fn signals_are_delivered_in_emission_then_part_order_and_parts_settle_after() {
    let log = run_parts(
        vec![
            talker("a", &[1, 2], false, false, &[5]),
            talker("b", &[], true, true, &[]),
        ],
        10,
    );
    let after_event: Vec<&str> = log
        .iter()
        .map(String::as_str)
        .skip_while(|l| !l.starts_with("a event"))
        .collect();
    assert_eq!(
        after_event,
        vec![
            "a event 5 at 5.000000000s",
            "a sees LoadChanged { server: 1 }",
            "b sees LoadChanged { server: 1 }",
            "a sees LoadChanged { server: 2 }",
            "b sees LoadChanged { server: 2 }",
            "a sees LoadChanged { server: 9 }",
            "b sees LoadChanged { server: 9 }",
            "a settles",
            "b settles",
            "a sees ServerUp { server: 0 }",
            "b sees ServerUp { server: 0 }",
            "a settles",
            "b settles",
        ],
        "{log:#?}"
    );
}

/// Parts start in composition order before the first event and settle once then; events at equal times run
/// in the order they were scheduled, whichever part scheduled them.
#[test]
fn start_precedes_events_and_equal_times_keep_scheduling_order() {
    let log = run_parts(
        vec![
            talker("a", &[], false, false, &[3, 1]),
            talker("b", &[], false, false, &[1]),
        ],
        10,
    );
    assert_eq!(
        log,
        vec![
            "a start",
            "b start",
            "a settles",
            "b settles",
            "a event 1 at 1.000000000s",
            "a settles",
            "b settles",
            "b event 1 at 1.000000000s",
            "a settles",
            "b settles",
            "a event 3 at 3.000000000s",
            "a settles",
            "b settles",
        ]
    );
}

/// A part whose settling never stops emitting is a model bug, reported as such rather than looping forever.
#[test]
#[should_panic(expected = "settling rounds")]
fn endless_settling_is_a_model_bug() {
    struct Chatty;
    impl Part for Chatty {
        fn name(&self) -> &'static str {
            "chatty"
        }
        fn settle(&mut self, ctx: &mut Ctx<'_, '_>) {
            ctx.emit(Signal::ServerUp { server: 0 });
        }
    }
    run_parts(vec![Box::new(Chatty)], 1);
}

/// A run stops cleanly at its budget of events: the event after the last allowed one is not handled, and the
/// kernel says when it stopped.
#[test]
fn a_run_stops_at_its_budget_of_events() {
    let mut world = World::new();
    world.init_resource::<Log>();
    let drive = Drive {
        horizon: SimTime::from_secs(10),
        every: SimDuration::from_secs(1000),
        progress: &mut |_| {},
        slices: 3,
    };
    let kernel = Kernel::new(vec![talker("a", &[], false, false, &[1, 2, 3, 4])]).with_budget(2);
    let (mut world, kernel, _) = run(world, kernel, drive, |_, _, _| {});
    let log = std::mem::take(&mut world.resource_mut::<Log>().0);
    let events: Vec<&String> = log.iter().filter(|l| l.contains("event")).collect();
    assert_eq!(events.len(), 2, "{log:?}");
    assert_eq!(kernel.exhausted(), Some(SimTime::from_secs(3)));
}
