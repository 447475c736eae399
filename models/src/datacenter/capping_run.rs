//! The capping controller in a cluster run (docs/models.md §Power capping, "In the run").
//!
//! Every `capping.interval_s` a `Capping` event hands the controller ([`CappingController::decide`]) each GPU's
//! full-clock demand and each rack's other IT power, when they changed since the last decision. The caps it
//! returns hold until the next decision: a GPU draws `min(demand, cap)` (also for jobs starting in between), and
//! a job runs at the clock ratio of its slowest GPU (`capping::clock_ratio`, compute-bound: `β = 1`), so its
//! progress rate is `1 / r` ([`super::set_job_rates`]). Breaker trips are watched by the facility meter; they do
//! not take servers down here.

use bevy_ecs::prelude::*;
use sim::{Scheduler, SimDuration, SimTime};

use super::{Event, Job, Meters, SiteIndex, set_job_rates};
use crate::facility::capping::{CappingConfig, CappingController, Demand, RackInfo, clock_ratio};
use crate::placement::{Grant, MAX_GPUS_PER_SERVER, ServerLoad};
use crate::power::{ServerPower, ServerPowerModel};
use crate::scenario::LoadedScenario;

/// Per-GPU caps of a server, W (DC); absent: uncapped.
#[derive(Component, Debug, Clone, Copy)]
pub(super) struct GpuCaps(pub [f64; MAX_GPUS_PER_SERVER as usize]);

/// The controller and the site's layout in its terms.
#[derive(Resource)]
pub(super) struct CappingRun {
    pub(super) ctl: CappingController,
    cfg: CappingConfig,
    /// Per server: controller rack index and first GPU index.
    rack_of: Vec<usize>,
    first_gpu: Vec<usize>,
    every: SimDuration,
    horizon: SimTime,
    /// Demand changed since the last decision, and since the controller last saw it.
    pub(super) dirty: bool,
    pub(super) stale: bool,
    demand: Vec<f64>,
    other: Vec<f64>,
}

impl CappingRun {
    /// A controller for the site, when the facility has a capping section with the controller on.
    pub(super) fn new(loaded: &LoadedScenario, horizon: SimTime) -> Option<Self> {
        let lf = loaded.facility.as_ref()?;
        let cfg = lf.config.capping.clone().filter(|c| c.controller)?;
        let site = &loaded.site;
        let mut racks: Vec<RackInfo> = Vec::new();
        let mut rack_of = Vec::with_capacity(site.servers.len());
        let mut first_gpu = Vec::with_capacity(site.servers.len());
        let mut last_rack = u32::MAX;
        let mut n = 0usize;
        let first_row = site.servers.first().map_or(0, |s| s.row);
        for s in &site.servers {
            if s.rack != last_rack {
                racks.push(RackInfo {
                    row: s.row - first_row,
                    gpus: 0,
                    gpu_board_w: loaded.catalog.gpus[s.gpu_model].board_power_w,
                    psu_efficiency: s.host.psu_efficiency,
                });
                last_rack = s.rack;
            }
            let r = racks.len() - 1;
            racks[r].gpus += s.gpus;
            rack_of.push(r);
            first_gpu.push(n);
            n += s.gpus as usize;
        }
        let other = vec![0.0; racks.len()];
        Some(CappingRun {
            ctl: CappingController::new(&cfg, racks, lf.facility.chain.ratings),
            every: SimDuration::from_secs_f64(cfg.interval_s).expect("validated interval"),
            cfg,
            rack_of,
            first_gpu,
            horizon,
            dirty: true,
            stale: true,
            demand: Vec::with_capacity(n),
            other,
        })
    }

    /// Demand now: each GPU at full clock; each rack's other IT power (hosts through their supplies).
    fn read_demand(&mut self, world: &World, servers: &[Entity]) {
        self.demand.clear();
        self.other.iter_mut().for_each(|x| *x = 0.0);
        for (i, &e) in servers.iter().enumerate() {
            let model = world.get::<ServerPowerModel>(e).expect("server entity");
            let load = world.get::<ServerLoad>(e).expect("server entity");
            model.gpu_demand_w(load, &mut self.demand);
            self.other[self.rack_of[i]] += model.host_w(load) / model.host.psu_efficiency;
        }
    }

    /// Compute-bound speed of a job on `grants` now: the clock ratio of its slowest GPU.
    fn job_speed(&self, world: &World, grants: &[Grant]) -> f64 {
        let index = world.resource::<SiteIndex>();
        let mut speed = 1.0f64;
        for g in grants.iter().filter(|g| g.milli > 0) {
            let e = index.servers[g.server as usize];
            let Some(caps) = world.get::<GpuCaps>(e) else {
                continue;
            };
            let model = world.get::<ServerPowerModel>(e).expect("server entity");
            let load = world.get::<ServerLoad>(e).expect("server entity");
            let demand = model.gpu_idle_w
                + load.active_micro[g.slot as usize] as f64 / 1e6
                    * (model.gpu_board_w - model.gpu_idle_w);
            let cap = caps.0[g.slot as usize];
            if demand > cap {
                let s = self.cfg.dvfs.static_fraction * model.gpu_board_w;
                speed = speed.min(clock_ratio(cap, demand, s, self.cfg.dvfs.gamma));
            }
        }
        speed
    }
}

/// A control decision (the `Capping` event), then the next one.
pub(super) fn decide<E: From<Event>>(world: &mut World, sched: &mut Scheduler<E>) {
    let now = sched.now();
    let mut run = world.remove_resource::<CappingRun>().expect("capping run");
    let next = now.saturating_add(run.every);
    if next <= run.horizon {
        sched.at(next, Event::Capping.into());
    }
    if !run.dirty {
        run.ctl.advance(now.as_secs_f64());
        world.insert_resource(run);
        return;
    }
    run.dirty = false;
    run.stale = false;
    let servers = world.resource::<SiteIndex>().servers.clone();
    run.read_demand(world, &servers);
    let caps = run
        .ctl
        .decide(
            now.as_secs_f64(),
            &Demand {
                gpu_w: &run.demand,
                rack_other_w: &run.other,
            },
        )
        .to_vec();
    // Apply the caps to every server's power.
    let (mut d_it, mut d_gpu) = (0.0, 0.0);
    for (i, &e) in servers.iter().enumerate() {
        let mut c = GpuCaps([f64::INFINITY; MAX_GPUS_PER_SERVER as usize]);
        let k = world.get::<ServerLoad>(e).expect("server entity").gpus as usize;
        c.0[..k].copy_from_slice(&caps[run.first_gpu[i]..run.first_gpu[i] + k]);
        let new = {
            let model = world.get::<ServerPowerModel>(e).expect("server entity");
            let load = world.get::<ServerLoad>(e).expect("server entity");
            model.power_capped_w(load, &c.0)
        };
        let mut em = world.entity_mut(e);
        em.insert(c);
        let mut p = em.get_mut::<ServerPower>().expect("server entity");
        d_it += new.input_w - p.input_w;
        d_gpu += new.gpu_w - p.gpu_w;
        *p = new;
    }
    {
        let mut m = world.resource_mut::<Meters>();
        m.advance(now);
        m.it.add(d_it);
        m.gpu.add(d_gpu);
        if let Some(c) = &mut m.combined {
            c.add(d_it);
        }
        let total = m.it.power_w() + m.extra_it_w;
        if let Some(f) = &mut m.facility {
            f.set_it_power(now, total);
        }
    }
    // Job speeds.
    let jobs: Vec<(Entity, Vec<Grant>)> = {
        let mut q = world.query::<(Entity, &Job)>();
        q.iter(world)
            .filter(|(_, j)| j.start.is_some())
            .map(|(e, j)| (e, j.grants.clone()))
            .collect()
    };
    let speeds: Vec<(Entity, f64)> = jobs
        .iter()
        .map(|(e, g)| (*e, run.job_speed(world, g)))
        .collect();
    world.insert_resource(run);
    for (e, s) in speeds {
        set_job_rates(world, sched, e, None, Some(1.0 / s));
    }
}

/// A job that just started on capped GPUs runs at their clock ratio until the next decision.
pub(super) fn on_start<E: From<Event>>(world: &mut World, sched: &mut Scheduler<E>, e: Entity) {
    let Some(run) = world.get_resource::<CappingRun>() else {
        return;
    };
    let grants = world.get::<Job>(e).expect("job").grants.clone();
    let s = run.job_speed(world, &grants);
    if s < 1.0 {
        set_job_rates(world, sched, e, None, Some(1.0 / s));
    }
}

/// After an event that changed the demand: the controller sees it at once (its integrals stay exact; caps hold
/// until its next decision).
pub(super) fn observe_if_stale(world: &mut World, now: SimTime) {
    if !world.get_resource::<CappingRun>().is_some_and(|c| c.stale) {
        return;
    }
    let mut run = world.remove_resource::<CappingRun>().expect("capping run");
    run.stale = false;
    let servers = world.resource::<SiteIndex>().servers.clone();
    run.read_demand(world, &servers);
    run.ctl.observe(
        now.as_secs_f64(),
        &Demand {
            gpu_w: &run.demand,
            rack_other_w: &run.other,
        },
    );
    world.insert_resource(run);
}
