//! The failures part: hardware units fail and are repaired (`failures` in a scenario; docs/models.md §Failures
//! and repairs). It owns the failure processes, the repair queue and crews, and the hot spares; it changes
//! shared state only through [`crate::site::take_down`] / [`crate::site::bring_up`] under its own down cause,
//! and touches no other part: jobs on a failed server are interrupted and restarted by the cluster part,
//! inference requests move in the serving part, all through [`crate::kernel::Signal::ServerDown`] and
//! [`crate::kernel::Signal::ServerUp`].
//!
//! - **Processes.** A class with exponential lifetimes is one Poisson process of rate `up · λ` over its units
//!   in service (`up`), redrawn whenever `up` changes (memoryless, so exact); the unit that fails is drawn
//!   uniformly among those in service. A Weibull class keeps one failure event per unit in service, drawn when
//!   the unit enters service (new, or repaired: as good as new). A failed unit does not fail again until it is
//!   back. A failure trace replaces the processes.
//! - **Domains.** A failure holds down every server of its domain ([`Domains`]); a server is back when no
//!   failure holds it. A spine switch takes no server: [`Signal::SpineDown`] / [`Signal::SpineUp`] tell the
//!   fabric part, which routes around it.
//! - **Repairs.** A failed unit waits for a crew (first come, first served; unlimited crews by default), then
//!   takes a repair time drawn from its class.
//! - **Spares.** A GPU, HBM, link or host failure takes a hot spare when one is on hand: the server is back
//!   after the swap time with new hardware, and the failed unit, once repaired, becomes a spare. Spares on
//!   hand draw their idle power (IT power outside the servers).

use std::collections::VecDeque;

use bevy_ecs::world::World;
use models::placement::ServerLoad;
use models::power::ServerPowerModel;
use models::reliability::{
    ClassConfig, Component, Domains, FailureConfig, FailureRecord, Lifetime, RepairTime, Scope,
};
use output::{
    FailureClassSummary, FailureDomainSummary, FailureSample, FailuresSummary, RepairSummary,
    Sample, SparesSummary, Summary,
};
use rand::RngExt;
use scenario::LoadedScenario;
use sim::{RngStreams, SimDuration, SimRng, SimTime};

use crate::error::{RunError, duration};
use crate::kernel::{Code, Ctx, EventCode, Interests, Part, Signal};
use crate::ledger::Ledger;
use crate::site::{DownCause, Site, bring_up, take_down};
use crate::work::Works;

/// The part's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// The next failure of memoryless class `class`, drawn when its units in service numbered as at `generation`.
    ClassFails { class: u32, generation: u32 },
    /// Unit `unit` of Weibull class `class` fails.
    UnitFails { class: u32, unit: u32 },
    /// Failure `index` of the trace.
    Replay { index: u32 },
    /// The repair of `unit` ends: back in service where it failed.
    Repaired { class: u32, unit: u32 },
    /// The repair of `unit` ends: it joins the spares (a spare took its place).
    SpareRepaired { class: u32, unit: u32 },
    /// A spare has replaced the server of failed `unit`.
    Swapped { class: u32, unit: u32 },
}

impl EventCode for Event {
    fn encode(self) -> Code {
        let (tag, a, b) = match self {
            Event::ClassFails { class, generation } => (0, class, generation),
            Event::UnitFails { class, unit } => (1, class, unit),
            Event::Replay { index } => (2, index, 0),
            Event::Repaired { class, unit } => (3, class, unit),
            Event::SpareRepaired { class, unit } => (4, class, unit),
            Event::Swapped { class, unit } => (5, class, unit),
        };
        Code { tag, a, b }
    }
    fn decode(c: Code) -> Self {
        let (class, unit) = (c.a, c.b);
        match c.tag {
            0 => Event::ClassFails {
                class,
                generation: c.b,
            },
            1 => Event::UnitFails { class, unit },
            2 => Event::Replay { index: c.a },
            3 => Event::Repaired { class, unit },
            4 => Event::SpareRepaired { class, unit },
            _ => Event::Swapped { class, unit },
        }
    }
}

/// One class of failing units: its configuration, which units are in service, and its counters.
struct Class {
    component: Component,
    scope: Scope,
    lifetime: Lifetime,
    repair: RepairTime,
    memoryless: bool,
    /// Units in service, in no particular order, and each unit's position there (`u32::MAX`: failed).
    in_service: Vec<u32>,
    position: Vec<u32>,
    /// Generation of the class's pending `ClassFails` event (memoryless classes).
    generation: u32,
    rng: SimRng,
    // Counters.
    failures: u64,
    exposure_unit_ns: u128,
    last: SimTime,
    interrupting: u64,
    work_interrupted: u64,
    servers_taken_down: u64,
    repairs_completed: u64,
    repair_s: f64,
}

impl Class {
    fn new(cfg: &ClassConfig, units: u32, streams: &RngStreams) -> Self {
        Class {
            component: cfg.component,
            scope: cfg.component.scope(),
            lifetime: cfg.lifetime,
            repair: cfg.repair,
            memoryless: cfg.lifetime.is_memoryless(),
            in_service: (0..units).collect(),
            position: (0..units).collect(),
            generation: 0,
            rng: streams.substream("failures", cfg.component as u64),
            failures: 0,
            exposure_unit_ns: 0,
            last: SimTime::ZERO,
            interrupting: 0,
            work_interrupted: 0,
            servers_taken_down: 0,
            repairs_completed: 0,
            repair_s: 0.0,
        }
    }

    fn advance(&mut self, now: SimTime) {
        self.exposure_unit_ns +=
            self.in_service.len() as u128 * (now - self.last).as_nanos() as u128;
        self.last = now;
    }

    fn is_in_service(&self, unit: u32) -> bool {
        self.position[unit as usize] != u32::MAX
    }

    fn remove(&mut self, now: SimTime, unit: u32) {
        self.advance(now);
        let p = self.position[unit as usize] as usize;
        let last = *self.in_service.last().expect("a unit in service");
        self.in_service.swap_remove(p);
        if last != unit {
            self.position[last as usize] = p as u32;
        }
        self.position[unit as usize] = u32::MAX;
    }

    fn restore(&mut self, now: SimTime, unit: u32) {
        self.advance(now);
        self.position[unit as usize] = self.in_service.len() as u32;
        self.in_service.push(unit);
    }
}

/// A failed unit waiting for a crew.
#[derive(Clone, Copy)]
struct Waiting {
    class: u32,
    unit: u32,
    spare: bool,
    since: SimTime,
}

/// Hardware failures, repairs and spares.
pub struct Failures {
    classes: Vec<Class>,
    domains: Domains,
    rate_scale: f64,
    horizon: SimTime,
    cause: DownCause,
    trace: Option<Vec<(SimTime, u32, u32)>>,
    repair_rng: SimRng,
    /// Per server: failures holding it down.
    held: Vec<u16>,
    gpus_of: Vec<u8>,
    servers_failed: u64,
    gpus_failed: u64,
    server_down_ns: u128,
    gpu_down_ns: u128,
    servers_down_max: u64,
    last: SimTime,
    // Repairs.
    crews: Option<u32>,
    repairing: u32,
    queue: VecDeque<Waiting>,
    queue_max: u64,
    waits: u64,
    wait_s: f64,
    wait_max_s: f64,
    // Spares.
    spares: u32,
    spares_initial: u32,
    spares_min: u32,
    swap: SimDuration,
    swaps: u64,
    stockouts: u64,
    spare_idle_w: f64,
    // Totals.
    failures: u64,
    interrupting: u64,
    work_interrupted: u64,
}

impl Failures {
    /// The failures part of `loaded`, if it has a `failures` section; `cause`: its own reason for servers down.
    pub fn new(
        loaded: &LoadedScenario,
        horizon: SimTime,
        cause: DownCause,
    ) -> Result<Option<Self>, RunError> {
        let Some(lf) = &loaded.failures else {
            return Ok(None);
        };
        let cfg: &FailureConfig = &lf.config;
        let streams = RngStreams::new(loaded.scenario.seed);
        let classes: Vec<Class> = cfg
            .classes
            .iter()
            .map(|c| Class::new(c, lf.domains.units(c.component.scope()), &streams))
            .collect();
        let trace = match &lf.trace {
            Some(t) => Some(
                t.iter()
                    .enumerate()
                    .map(|(i, r): (usize, &FailureRecord)| {
                        let at = duration(&format!("failures.trace[{i}].time_s"), r.time_s)?;
                        let class = cfg
                            .classes
                            .iter()
                            .position(|c| c.component == r.component)
                            .ok_or_else(|| RunError::Input {
                                field: "failures.trace".into(),
                                message: format!("`{}` has no class", r.component.name()),
                            })?;
                        Ok((SimTime::ZERO.saturating_add(at), class as u32, r.unit))
                    })
                    .collect::<Result<Vec<_>, RunError>>()?,
            ),
            None => None,
        };
        let swap = duration("failures.spares.swap_s", cfg.spares.swap_s)?;
        // A spare draws the idle power of the site's average GPU server.
        let gpu_servers: Vec<_> = loaded.site.servers.iter().filter(|s| s.gpus > 0).collect();
        let spare_idle_w = if gpu_servers.is_empty() {
            0.0
        } else {
            gpu_servers
                .iter()
                .map(|s| {
                    let m = ServerPowerModel::new(
                        &loaded.catalog.gpus[s.gpu_model],
                        s.gpus,
                        &s.host,
                        s.cpu_milli,
                    );
                    m.power_w(&ServerLoad::new(s)).input_w
                })
                .sum::<f64>()
                / gpu_servers.len() as f64
        };
        Ok(Some(Failures {
            classes,
            domains: lf.domains.clone(),
            rate_scale: cfg.rate_scale,
            horizon,
            cause,
            trace,
            repair_rng: streams.stream("repairs"),
            held: vec![0; loaded.site.servers.len()],
            gpus_of: loaded.site.servers.iter().map(|s| s.gpus as u8).collect(),
            servers_failed: 0,
            gpus_failed: 0,
            server_down_ns: 0,
            gpu_down_ns: 0,
            servers_down_max: 0,
            last: SimTime::ZERO,
            crews: cfg.repair_crews,
            repairing: 0,
            queue: VecDeque::new(),
            queue_max: 0,
            waits: 0,
            wait_s: 0.0,
            wait_max_s: 0.0,
            spares: cfg.spares.servers,
            spares_initial: cfg.spares.servers,
            spares_min: cfg.spares.servers,
            swap,
            swaps: 0,
            stockouts: 0,
            spare_idle_w,
            failures: 0,
            interrupting: 0,
            work_interrupted: 0,
        }))
    }

    /// `now + secs`, or None beyond the horizon (the event would never be handled).
    fn within(&self, now: SimTime, secs: f64) -> Option<SimTime> {
        let t = now.saturating_add(SimDuration::from_secs_f64(secs)?);
        (t <= self.horizon).then_some(t)
    }

    /// Draws the next failure of memoryless class `c` (after its units in service changed).
    fn redraw(&mut self, ctx: &mut Ctx<'_, '_>, c: usize) {
        if self.trace.is_some() || self.rate_scale == 0.0 {
            return;
        }
        let now = ctx.now();
        let class = &mut self.classes[c];
        class.generation = class.generation.wrapping_add(1);
        let up = class.in_service.len();
        if up == 0 {
            return;
        }
        let secs = class
            .lifetime
            .sample_s(&mut class.rng, self.rate_scale * up as f64);
        let generation = class.generation;
        if let Some(t) = self.within(now, secs) {
            ctx.at(
                t,
                Event::ClassFails {
                    class: c as u32,
                    generation,
                },
            );
        }
    }

    /// Draws the failure of unit `unit` of Weibull class `c`, just put in service.
    fn draw_unit(&mut self, ctx: &mut Ctx<'_, '_>, c: usize, unit: u32) {
        if self.trace.is_some() || self.rate_scale == 0.0 {
            return;
        }
        let now = ctx.now();
        let class = &mut self.classes[c];
        let secs = class.lifetime.sample_s(&mut class.rng, self.rate_scale);
        if let Some(t) = self.within(now, secs) {
            ctx.at(
                t,
                Event::UnitFails {
                    class: c as u32,
                    unit,
                },
            );
        }
    }

    /// A unit was put back in service: its class's failure process goes on.
    fn in_service_again(&mut self, ctx: &mut Ctx<'_, '_>, c: usize, unit: u32) {
        self.classes[c].restore(ctx.now(), unit);
        if self.classes[c].memoryless {
            self.redraw(ctx, c);
        } else {
            self.draw_unit(ctx, c, unit);
        }
    }

    fn advance(&mut self, now: SimTime) {
        let dt = (now - self.last).as_nanos() as u128;
        self.server_down_ns += self.servers_failed as u128 * dt;
        self.gpu_down_ns += self.gpus_failed as u128 * dt;
        self.last = now;
    }

    /// Unit `unit` of class `c` fails now.
    fn fail(&mut self, ctx: &mut Ctx<'_, '_>, c: usize, unit: u32) {
        let now = ctx.now();
        if !self.classes[c].is_in_service(unit) {
            return; // a replayed failure of a unit already out
        }
        self.classes[c].remove(now, unit);
        self.classes[c].failures += 1;
        self.failures += 1;
        if self.classes[c].memoryless {
            self.redraw(ctx, c);
        }
        let scope = self.classes[c].scope;
        self.advance(now);
        // What runs on the servers it takes down (before the parts that run it react).
        let (busy, stopped) = self.work_on(ctx.world, scope, unit);
        if busy {
            self.classes[c].interrupting += 1;
            self.interrupting += 1;
        }
        self.classes[c].work_interrupted += stopped;
        self.work_interrupted += stopped;
        if scope == Scope::Spine {
            ctx.emit(Signal::SpineDown { spine: unit });
        }
        let (world, mut signals) = ctx.split();
        let (mut d_it, mut d_gpu) = (0.0, 0.0);
        let mut taken = 0u64;
        for &s in self.domains.servers(scope, unit) {
            let h = &mut self.held[s as usize];
            *h += 1;
            if *h == 1 {
                let (a, b) = take_down(world, &mut signals, s, self.cause);
                d_it += a;
                d_gpu += b;
                taken += 1;
                self.servers_failed += 1;
                self.gpus_failed += self.gpus_of[s as usize] as u64;
            }
        }
        self.servers_down_max = self.servers_down_max.max(self.servers_failed);
        self.classes[c].servers_taken_down += taken;
        world.resource_mut::<Ledger>().add(now, d_it, d_gpu);
        // A spare replaces a failed server; rack and leaf failures are repaired in place.
        let server_level = matches!(scope, Scope::Gpu | Scope::Server);
        let spare = server_level && self.spares > 0;
        if spare {
            self.spares -= 1;
            self.spares_min = self.spares_min.min(self.spares);
            self.swaps += 1;
            world
                .resource_mut::<Ledger>()
                .add_other(now, -self.spare_idle_w);
            let t = now.saturating_add(self.swap);
            ctx.at(
                t,
                Event::Swapped {
                    class: c as u32,
                    unit,
                },
            );
        } else if server_level && self.spares_initial > 0 {
            self.stockouts += 1;
        }
        self.queue.push_back(Waiting {
            class: c as u32,
            unit,
            spare,
            since: now,
        });
        self.queue_max = self.queue_max.max(self.queue.len() as u64);
        self.start_repairs(ctx);
    }

    /// Whether the servers of `unit` run anything (GPUs allocated), and how many registered work items (jobs,
    /// shared-fleet replicas) run there.
    fn work_on(&self, world: &World, scope: Scope, unit: u32) -> (bool, u64) {
        let servers = self.domains.servers(scope, unit);
        let site = world.resource::<Site>();
        let busy = servers.iter().any(|&s| {
            site.is_up(s)
                && world
                    .get::<ServerLoad>(site.entity(s))
                    .is_some_and(|l| l.used_milli.iter().any(|&m| m > 0))
        });
        if !busy {
            return (false, 0);
        }
        let stopped = world.resource::<Works>().count_on(servers);
        (true, stopped as u64)
    }

    /// Gives waiting units to free crews.
    fn start_repairs(&mut self, ctx: &mut Ctx<'_, '_>) {
        let now = ctx.now();
        while self.crews.is_none_or(|k| self.repairing < k) {
            let Some(w) = self.queue.pop_front() else {
                break;
            };
            self.repairing += 1;
            let waited = (now - w.since).as_secs_f64();
            self.waits += 1;
            self.wait_s += waited;
            self.wait_max_s = self.wait_max_s.max(waited);
            let class = &mut self.classes[w.class as usize];
            let secs = class.repair.sample_s(&mut self.repair_rng);
            class.repair_s += secs;
            let ev = if w.spare {
                Event::SpareRepaired {
                    class: w.class,
                    unit: w.unit,
                }
            } else {
                Event::Repaired {
                    class: w.class,
                    unit: w.unit,
                }
            };
            if let Some(t) = self.within(now, secs) {
                ctx.at(t, ev);
            }
        }
    }

    /// Failure of `unit` of class `c` no longer holds its servers down.
    fn release(&mut self, ctx: &mut Ctx<'_, '_>, c: usize, unit: u32) {
        let now = ctx.now();
        self.advance(now);
        let scope = self.classes[c].scope;
        if scope == Scope::Spine {
            ctx.emit(Signal::SpineUp { spine: unit });
        }
        let (world, mut signals) = ctx.split();
        let (mut d_it, mut d_gpu) = (0.0, 0.0);
        for &s in self.domains.servers(scope, unit) {
            let h = &mut self.held[s as usize];
            *h -= 1;
            if *h == 0 {
                let (a, b) = bring_up(world, &mut signals, s, self.cause);
                d_it += a;
                d_gpu += b;
                self.servers_failed -= 1;
                self.gpus_failed -= self.gpus_of[s as usize] as u64;
            }
        }
        world.resource_mut::<Ledger>().add(now, d_it, d_gpu);
    }

    fn repair_done(&mut self, ctx: &mut Ctx<'_, '_>, c: usize) {
        self.repairing -= 1;
        self.classes[c].repairs_completed += 1;
        self.start_repairs(ctx);
    }

    fn replay(&mut self, ctx: &mut Ctx<'_, '_>, index: u32) {
        let Some(trace) = &self.trace else { return };
        let (_, c, unit) = trace[index as usize];
        let next = trace
            .get(index as usize + 1)
            .map(|&(t, _, _)| t)
            .filter(|&t| t <= self.horizon);
        if let Some(t) = next {
            ctx.at(t, Event::Replay { index: index + 1 });
        }
        self.fail(ctx, c as usize, unit);
    }

    fn summary(&mut self, horizon: SimTime) -> FailuresSummary {
        self.advance(horizon);
        let h = |ns: u128| ns as f64 / 3.6e12;
        let classes: Vec<FailureClassSummary> = self
            .classes
            .iter_mut()
            .map(|c| {
                c.advance(horizon);
                let exposure_unit_h = h(c.exposure_unit_ns);
                FailureClassSummary {
                    component: c.component.name().to_string(),
                    domain: c.component.domain().to_string(),
                    units: c.position.len() as u64,
                    failures: c.failures,
                    exposure_unit_h,
                    mtbf_h: c.lifetime.mtbf_h() / self.rate_scale,
                    observed_mtbf_h: (c.failures > 0).then(|| exposure_unit_h / c.failures as f64),
                    interrupting: c.interrupting,
                    work_interrupted: c.work_interrupted,
                    servers_taken_down: c.servers_taken_down,
                    repairs_completed: c.repairs_completed,
                    repair_mean_h: if c.repairs_completed > 0 {
                        c.repair_s / 3600.0 / c.repairs_completed as f64
                    } else {
                        0.0
                    },
                }
            })
            .collect();
        let mut domains: Vec<FailureDomainSummary> = Vec::new();
        for name in ["server", "leaf", "rack", "fabric"] {
            let of = || classes.iter().filter(|c| c.domain == name);
            if of().next().is_some() {
                domains.push(FailureDomainSummary {
                    domain: name.to_string(),
                    failures: of().map(|c| c.failures).sum(),
                    work_interrupted: of().map(|c| c.work_interrupted).sum(),
                });
            }
        }
        let completed: u64 = classes.iter().map(|c| c.repairs_completed).sum();
        FailuresSummary {
            source: if self.trace.is_some() {
                "trace"
            } else {
                "drawn"
            }
            .to_string(),
            failures: self.failures,
            interrupting_failures: self.interrupting,
            work_interrupted: self.work_interrupted,
            classes,
            domains,
            server_down_h: h(self.server_down_ns),
            gpu_down_h: h(self.gpu_down_ns),
            servers_down_max: self.servers_down_max,
            repairs: RepairSummary {
                crews: self.crews.map(u64::from),
                completed,
                open_at_end: self.failures - completed,
                wait_mean_h: if self.waits > 0 {
                    self.wait_s / 3600.0 / self.waits as f64
                } else {
                    0.0
                },
                wait_max_h: self.wait_max_s / 3600.0,
                queue_max: self.queue_max,
            },
            spares: SparesSummary {
                initial: self.spares_initial as u64,
                swaps: self.swaps,
                stockouts: self.stockouts,
                min_available: self.spares_min as u64,
            },
        }
    }
}

impl Part for Failures {
    fn name(&self) -> &'static str {
        "failures"
    }

    fn start(&mut self, ctx: &mut Ctx<'_, '_>) {
        let now = ctx.now();
        if self.spares > 0 {
            let w = self.spares as f64 * self.spare_idle_w;
            ctx.world.resource_mut::<Ledger>().add_other(now, w);
        }
        if let Some(t) = &self.trace {
            if let Some(&(first, _, _)) = t.first().filter(|r| r.0 <= self.horizon) {
                ctx.at(first, Event::Replay { index: 0 });
            }
            return;
        }
        for c in 0..self.classes.len() {
            if self.classes[c].memoryless {
                self.redraw(ctx, c);
            } else {
                for unit in 0..self.classes[c].position.len() as u32 {
                    self.draw_unit(ctx, c, unit);
                }
            }
        }
    }

    fn interests(&self) -> Interests {
        Interests::NONE
    }

    fn handle(&mut self, ctx: &mut Ctx<'_, '_>, code: Code) {
        match Event::decode(code) {
            Event::ClassFails { class, generation } => {
                let c = class as usize;
                if generation != self.classes[c].generation {
                    return; // redrawn since
                }
                let cl = &mut self.classes[c];
                let k = cl.rng.random_range(0..cl.in_service.len());
                let unit = cl.in_service[k];
                self.fail(ctx, c, unit);
            }
            Event::UnitFails { class, unit } => self.fail(ctx, class as usize, unit),
            Event::Replay { index } => self.replay(ctx, index),
            Event::Repaired { class, unit } => {
                let c = class as usize;
                self.release(ctx, c, unit);
                self.in_service_again(ctx, c, unit);
                self.repair_done(ctx, c);
            }
            Event::SpareRepaired { class, .. } => {
                self.spares += 1;
                let now = ctx.now();
                ctx.world
                    .resource_mut::<Ledger>()
                    .add_other(now, self.spare_idle_w);
                self.repair_done(ctx, class as usize);
            }
            Event::Swapped { class, unit } => {
                let c = class as usize;
                self.release(ctx, c, unit);
                self.in_service_again(ctx, c, unit);
            }
        }
    }

    fn sample(&mut self, _world: &mut World, _t: SimTime, row: &mut Sample) {
        row.failures = Some(FailureSample {
            servers_failed: self.servers_failed,
            failures_total: self.failures,
        });
    }

    fn summarize(&mut self, _world: &mut World, horizon: SimTime, out: &mut Summary) {
        out.failures = Some(self.summary(horizon));
    }
}
