//! The power-capping part: the capping controller and the rack and row breakers (docs/models.md §Power capping,
//! "In the run").
//!
//! The controller sees demand as it changes: every server whose load changed ([`Signal::LoadChanged`]) or that
//! went down or up reports its GPUs' full-clock demand and its host power when the part settles, and the
//! controller's integrals and breaker checks stay exact. Every `capping.interval_s` a decision recomputes the
//! caps of the racks whose demand changed (and of their rows and the feed when a budget binds); the servers of
//! racks whose caps changed get them as a GPU limit source, so whatever runs there slows by its own DVFS model.
//! A static `gpu_cap_w` applies from time zero. A rack or row whose capped IT power exceeds its rating trips:
//! its servers go down for the rest of the run.

use bevy_ecs::world::World;
use models::facility::capping::{CappingConfig, CappingController, RackInfo};
use models::placement::{MAX_GPUS_PER_SERVER, ServerLoad};
use models::power::ServerPowerModel;
use scenario::LoadedScenario;
use sim::{SimDuration, SimTime};

use crate::error::{RunError, duration};
use crate::kernel::{Code, Ctx, EventCode, Interests, Part, Signal};
use crate::ledger::Ledger;
use crate::site::{DownCause, LimitSource, Site, set_limits, take_down};
use crate::trips::Trips;
use output::{CappingControllerSummary, Summary};

/// The capping part's one event: a control decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decide;

impl EventCode for Decide {
    fn encode(self) -> Code {
        Code::default()
    }
    fn decode(_: Code) -> Self {
        Decide
    }
}

/// The controller and the site's layout in its terms.
pub struct CappingPart {
    ctl: CappingController,
    source: LimitSource,
    cause: DownCause,
    /// Per server: controller rack index and first GPU index; per rack: its servers (site order).
    rack_of: Vec<usize>,
    first_gpu: Vec<usize>,
    rack_servers: Vec<std::ops::Range<u32>>,
    /// Per server: its host power at the wall now, W (the rack's other IT power is their sum).
    host_w: Vec<f64>,
    /// Per GPU: its board power (a cap at board power limits nothing).
    board_w: Vec<f64>,
    every: SimDuration,
    horizon: SimTime,
    /// Servers whose demand changed since the controller last saw it (and a mark per server).
    dirty: Vec<u32>,
    marked: Vec<bool>,
    /// Demand changed since the last decision.
    undecided: bool,
    /// Controller trips acted on so far.
    seen_trips: usize,
    scratch: Vec<f64>,
    /// Racks whose caps the last decision changed (reused).
    changed: Vec<usize>,
}

impl CappingPart {
    /// The capping part of `loaded` (`source`: its GPU limits; `cause`: its breaker trips): when the facility has a `capping` section, or rack or row breaker ratings
    /// (without a `capping` section: no controller, ratings watched). The feed breaker is the facility part's.
    pub fn new(
        loaded: &LoadedScenario,
        horizon: SimTime,
        source: LimitSource,
        cause: DownCause,
    ) -> Result<Option<Self>, RunError> {
        let Some(lf) = loaded.facility.as_ref() else {
            return Ok(None);
        };
        let ratings = lf.facility.chain.ratings;
        let cfg = match &lf.config.capping {
            Some(c) => c.clone(),
            None if ratings.rack_w.is_some() || ratings.row_w.is_some() => CappingConfig {
                controller: false,
                ..CappingConfig::default()
            },
            None => return Ok(None),
        };
        let site = &loaded.site;
        let mut racks: Vec<RackInfo> = Vec::new();
        let mut rack_of = Vec::with_capacity(site.servers.len());
        let mut first_gpu = Vec::with_capacity(site.servers.len());
        let mut rack_servers: Vec<std::ops::Range<u32>> = Vec::new();
        let mut board_w = Vec::new();
        let mut last_rack = u32::MAX;
        let mut n = 0usize;
        let first_row = site.servers.first().map_or(0, |s| s.row);
        for (i, s) in site.servers.iter().enumerate() {
            let board = loaded.catalog.gpus[s.gpu_model].board_power_w;
            if s.rack != last_rack {
                racks.push(RackInfo {
                    row: s.row - first_row,
                    gpus: 0,
                    gpu_board_w: board,
                    psu_efficiency: s.host.psu_efficiency,
                });
                rack_servers.push(i as u32..i as u32);
                last_rack = s.rack;
            }
            let r = racks.len() - 1;
            racks[r].gpus += s.gpus;
            rack_servers[r].end = i as u32 + 1;
            rack_of.push(r);
            first_gpu.push(n);
            n += s.gpus as usize;
            board_w.extend(std::iter::repeat_n(board, s.gpus as usize));
        }
        let ratings = models::facility::power_chain::Ratings {
            feed_w: None,
            ..ratings
        };
        let servers = site.servers.len();
        Ok(Some(CappingPart {
            ctl: CappingController::new(&cfg, racks, ratings),
            source,
            cause,
            every: duration("facility.capping.interval_s", cfg.interval_s)?,
            rack_of,
            first_gpu,
            rack_servers,
            host_w: vec![0.0; servers],
            board_w,
            horizon,
            dirty: (0..servers as u32).collect(),
            marked: vec![true; servers],
            undecided: true,
            seen_trips: 0,
            scratch: Vec::with_capacity(MAX_GPUS_PER_SERVER as usize),
            changed: Vec::new(),
        }))
    }

    fn mark(&mut self, server: u32) {
        if !self.marked[server as usize] {
            self.marked[server as usize] = true;
            self.dirty.push(server);
        }
        self.undecided = true;
    }

    /// Reports the demand of every server marked since the last call: each GPU at full clock, each rack's
    /// other IT power (hosts through their supplies). Servers that are down demand nothing.
    fn report_demand(&mut self, world: &World) {
        if self.dirty.is_empty() {
            return;
        }
        let site = world.resource::<Site>();
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        for &s in &dirty {
            self.marked[s as usize] = false;
            let e = site.entity(s);
            let model = world.get::<ServerPowerModel>(e).expect("server entity");
            let load = world.get::<ServerLoad>(e).expect("server entity");
            self.scratch.clear();
            if site.is_up(s) {
                model.gpu_demand_w(load, &mut self.scratch);
                // The host through its supplies at the nominal efficiency (the controller's rack sums are linear
                // in the GPUs' draw); its fans at the full-clock GPU demand.
                let demand: f64 = self.scratch.iter().sum();
                self.host_w[s as usize] = model.host_w(load, demand) / model.host.psu_efficiency;
            } else {
                self.scratch.resize(load.gpus as usize, 0.0);
                self.host_w[s as usize] = 0.0;
            }
            let first = self.first_gpu[s as usize];
            for (k, &w) in self.scratch.iter().enumerate() {
                self.ctl.set_gpu_demand(first + k, w);
            }
        }
        // Rack sums in server order (the same additions a from-scratch read makes).
        // (Dirty servers are sorted, so each rack's servers are consecutive.)
        let mut last = usize::MAX;
        for &s in &dirty {
            let r = self.rack_of[s as usize];
            if r == last {
                continue;
            }
            last = r;
            let range = self.rack_servers[r].clone();
            let other: f64 = range.map(|s| self.host_w[s as usize]).sum();
            self.ctl.set_rack_other(r, other);
        }
        dirty.clear();
        self.dirty = dirty;
    }

    /// Applies the controller's caps to the servers of `racks` (a cap at board power limits nothing).
    fn apply_caps(&mut self, ctx: &mut Ctx<'_, '_>, racks: &[usize]) {
        let now = ctx.now();
        let (world, mut signals) = ctx.split();
        let (mut d_it, mut d_gpu) = (0.0, 0.0);
        let mut caps = [f64::INFINITY; MAX_GPUS_PER_SERVER as usize];
        for &r in racks {
            for s in self.rack_servers[r].clone() {
                if !world.resource::<Site>().is_up(s) {
                    continue;
                }
                let first = self.first_gpu[s as usize];
                let k = world.resource::<Site>().gpus(s) as usize;
                for (g, c) in caps[..k].iter_mut().enumerate() {
                    let cap = self.ctl.caps_w()[first + g];
                    *c = if cap < self.board_w[first + g] {
                        cap
                    } else {
                        f64::INFINITY
                    };
                }
                let (a, b) = set_limits(world, &mut signals, s, self.source, &caps[..k]);
                d_it += a;
                d_gpu += b;
            }
        }
        world.resource_mut::<Ledger>().add(now, d_it, d_gpu);
    }

    /// Takes down the servers of racks whose breaker (or row breaker) tripped since the last call.
    fn act_on_trips(&mut self, ctx: &mut Ctx<'_, '_>) {
        let trips = self.ctl.trips();
        if trips.len() == self.seen_trips {
            return;
        }
        let now = ctx.now();
        let new: Vec<_> = trips[self.seen_trips..].to_vec();
        self.seen_trips = trips.len();
        let (world, mut signals) = ctx.split();
        let (mut d_it, mut d_gpu) = (0.0, 0.0);
        for (t_s, level) in new {
            let (mut servers, mut gpus) = (0u64, 0u64);
            for r in 0..self.rack_servers.len() {
                if !self.ctl.tripped(r) {
                    continue;
                }
                for s in self.rack_servers[r].clone() {
                    if world.resource::<Site>().is_up(s) {
                        servers += 1;
                        gpus += world.resource::<Site>().gpus(s) as u64;
                        let (a, b) = take_down(world, &mut signals, s, self.cause);
                        d_it += a;
                        d_gpu += b;
                    }
                }
            }
            world
                .resource_mut::<Trips>()
                .record(t_s, level, servers, gpus);
        }
        world.resource_mut::<Ledger>().add(now, d_it, d_gpu);
    }
}

impl Part for CappingPart {
    fn name(&self) -> &'static str {
        "capping"
    }

    fn start(&mut self, ctx: &mut Ctx<'_, '_>) {
        // The static cap holds from time zero; the first decision is at time zero.
        let all: Vec<usize> = (0..self.rack_servers.len()).collect();
        self.apply_caps(ctx, &all);
        ctx.at(SimTime::ZERO, Decide);
    }

    fn handle(&mut self, ctx: &mut Ctx<'_, '_>, _code: Code) {
        let now = ctx.now();
        let next = now.saturating_add(self.every);
        if next <= self.horizon && self.ctl.config().controller {
            ctx.at(next, Decide);
        }
        if !self.undecided {
            self.ctl.advance(now.as_secs_f64());
            return;
        }
        self.undecided = false;
        self.report_demand(ctx.world);
        let mut changed = std::mem::take(&mut self.changed);
        changed.clear();
        changed.extend_from_slice(self.ctl.decide_changes(now.as_secs_f64()));
        self.apply_caps(ctx, &changed);
        self.changed = changed;
        self.act_on_trips(ctx);
    }

    fn interests(&self) -> Interests {
        Interests::LOAD_CHANGED
            .with(Interests::SERVER_DOWN)
            .with(Interests::SERVER_UP)
    }

    fn react(&mut self, _ctx: &mut Ctx<'_, '_>, signal: &Signal) {
        match *signal {
            Signal::LoadChanged { server }
            | Signal::ServerDown { server }
            | Signal::ServerUp { server } => self.mark(server),
            _ => {}
        }
    }

    fn settle(&mut self, ctx: &mut Ctx<'_, '_>) {
        if self.dirty.is_empty() {
            return;
        }
        self.report_demand(ctx.world);
        self.ctl.observe_changes(ctx.now().as_secs_f64());
        self.act_on_trips(ctx);
    }

    fn summarize(&mut self, _world: &mut World, horizon: SimTime, out: &mut Summary) {
        self.ctl.advance(horizon.as_secs_f64());
        if !self.ctl.config().controller {
            return;
        }
        let t = self.ctl.totals();
        if let Some(c) = out.facility.as_mut().and_then(|f| f.capping.as_mut()) {
            c.controller = Some(CappingControllerSummary {
                decisions: t.decisions,
                over_budget_s: t.over_budget_s,
                energy_capped_j: t.energy_capped_j,
                throughput_lost_gpu_s: t.throughput_lost_gpu_s,
                capped_gpu_s: t.capped_gpu_s,
            });
        }
    }
}
