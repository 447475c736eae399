//! GPU power limits in a cluster run: the capping controller and thermal throttling (docs/models.md §Power
//! capping and §Rack inlet temperature, "In the run").
//!
//! A GPU's limit is the lower of the controller's cap and, while the zone is throttled, the throttle power
//! ([`PowerLimits`]). Limits hold until they change: a GPU draws `min(demand, limit)` (also for jobs starting
//! in between), and a job runs at the throughput ratio of its slowest GPU,
//! `1 / (β/r + 1 − β)` with `r` the DVFS clock ratio ([`throughput_ratio`]) and `β` the job's compute-bound
//! share: a training job's compute share of its step (exposed communication does not scale with the core
//! clock), `capping.dvfs.job_compute_fraction` for other jobs. Its progress rate is the inverse
//! ([`super::set_job_rates`]).
//!
//! The controller: every `capping.interval_s` a `Capping` event hands it ([`CappingController::decide`]) each
//! GPU's full-clock demand and each rack's other IT power, when they changed since the last decision. With
//! `controller: false` it only applies the static `gpu_cap_w` at time 0 and watches the rack and row breakers
//! (their trips are acted on by [`super::facility_run`]).

use bevy_ecs::prelude::*;
use sim::{Scheduler, SimDuration, SimTime};

use super::{Down, Event, Job, SiteIndex, add_it_power, set_job_rates};
use models::facility::capping::{
    CappingConfig, CappingController, Demand, DvfsConfig, RackInfo, throughput_ratio,
};
use models::placement::{Grant, MAX_GPUS_PER_SERVER, ServerLoad};
use models::power::{ServerPower, ServerPowerModel};
use scenario::LoadedScenario;

/// Per-GPU power limits of a server, W (DC); absent: unlimited.
#[derive(Component, Debug, Clone, Copy)]
pub(super) struct GpuCaps(pub [f64; MAX_GPUS_PER_SERVER as usize]);

/// The DVFS model of the run, the jobs' compute-bound shares and the thermal throttle now.
#[derive(Resource)]
pub(super) struct PowerLimits {
    dvfs: DvfsConfig,
    /// β of jobs without a training plan.
    default_beta: f64,
    /// β of each training job, by job id.
    training_beta: Vec<f64>,
    /// While throttled: the throttle power as a fraction of board power.
    pub(super) throttle_fraction: Option<f64>,
}

impl PowerLimits {
    pub(super) fn new(loaded: &LoadedScenario) -> Self {
        let capping = loaded
            .facility
            .as_ref()
            .and_then(|f| f.config.capping.as_ref());
        let dvfs = capping.map(|c| c.dvfs).unwrap_or_default();
        PowerLimits {
            dvfs,
            default_beta: dvfs.job_compute_fraction,
            training_beta: loaded
                .training
                .iter()
                .flatten()
                .map(|t| {
                    let s = &t.estimate.step;
                    if s.total_s > 0.0 {
                        s.compute_s / s.total_s
                    } else {
                        1.0
                    }
                })
                .collect(),
            throttle_fraction: None,
        }
    }

    fn beta(&self, job_id: u64) -> f64 {
        self.training_beta
            .get(job_id as usize)
            .copied()
            .unwrap_or(self.default_beta)
    }

    /// Throughput ratio of job `job_id` on `grants` now: the slowest of its GPUs under their limits.
    fn job_speed(&self, world: &World, job_id: u64, grants: &[Grant]) -> f64 {
        let index = world.resource::<SiteIndex>();
        let beta = self.beta(job_id);
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
                let s = self.dvfs.static_fraction * model.gpu_board_w;
                speed = speed.min(throughput_ratio(cap, demand, s, self.dvfs.gamma, beta));
            }
        }
        speed
    }
}

/// The controller and the site's layout in its terms.
#[derive(Resource)]
pub(super) struct CappingRun {
    pub(super) ctl: CappingController,
    /// Per server: controller rack index and first GPU index.
    pub(super) rack_of: Vec<usize>,
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
    /// A controller for the site, when the facility has a `capping` section or rack or row breaker ratings
    /// (without a `capping` section: no controller, ratings watched). The feed breaker is watched by the
    /// facility meter on the utility input, not here.
    pub(super) fn new(loaded: &LoadedScenario, horizon: SimTime) -> Option<Self> {
        let lf = loaded.facility.as_ref()?;
        let ratings = lf.facility.chain.ratings;
        let cfg = match &lf.config.capping {
            Some(c) => c.clone(),
            None if ratings.rack_w.is_some() || ratings.row_w.is_some() => CappingConfig {
                controller: false,
                ..CappingConfig::default()
            },
            None => return None,
        };
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
        let ratings = models::facility::power_chain::Ratings {
            feed_w: None,
            ..ratings
        };
        Some(CappingRun {
            ctl: CappingController::new(&cfg, racks, ratings),
            every: SimDuration::from_secs_f64(cfg.interval_s).expect("validated interval"),
            rack_of,
            first_gpu,
            horizon,
            dirty: true,
            stale: true,
            demand: Vec::with_capacity(n),
            other,
        })
    }

    /// Demand now: each GPU at full clock; each rack's other IT power (hosts through their supplies). Servers
    /// that are down demand nothing.
    fn read_demand(&mut self, world: &World, servers: &[Entity]) {
        self.demand.clear();
        self.other.iter_mut().for_each(|x| *x = 0.0);
        for (i, &e) in servers.iter().enumerate() {
            let model = world.get::<ServerPowerModel>(e).expect("server entity");
            let load = world.get::<ServerLoad>(e).expect("server entity");
            if world.get::<Down>(e).is_some() {
                self.demand
                    .extend(std::iter::repeat_n(0.0, load.gpus as usize));
                continue;
            }
            model.gpu_demand_w(load, &mut self.demand);
            self.other[self.rack_of[i]] += model.host_w(load) / model.host.psu_efficiency;
        }
    }
}

/// A control decision (the `Capping` event), then the next one (with the controller on).
pub(super) fn decide<E: From<Event>>(world: &mut World, sched: &mut Scheduler<E>) {
    let now = sched.now();
    let mut run = world.remove_resource::<CappingRun>().expect("capping run");
    let next = now.saturating_add(run.every);
    if next <= run.horizon && run.ctl.config().controller {
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
    run.ctl.decide(
        now.as_secs_f64(),
        &Demand {
            gpu_w: &run.demand,
            rack_other_w: &run.other,
        },
    );
    world.insert_resource(run);
    apply_limits(world, sched);
}

/// Sets every running server's GPU limits to the controller's caps and the thermal throttle (whichever is
/// lower), updates server and facility power, and each running job's speed.
pub(super) fn apply_limits<E: From<Event>>(world: &mut World, sched: &mut Scheduler<E>) {
    let now = sched.now();
    let servers = world.resource::<SiteIndex>().servers.clone();
    let throttle = world.resource::<PowerLimits>().throttle_fraction;
    let (mut d_it, mut d_gpu) = (0.0, 0.0);
    for (i, &e) in servers.iter().enumerate() {
        if world.get::<Down>(e).is_some() {
            continue;
        }
        let mut c = GpuCaps([f64::INFINITY; MAX_GPUS_PER_SERVER as usize]);
        let k = world.get::<ServerLoad>(e).expect("server entity").gpus as usize;
        if let Some(run) = world.get_resource::<CappingRun>() {
            let first = run.first_gpu[i];
            c.0[..k].copy_from_slice(&run.ctl.caps_w()[first..first + k]);
        }
        let new = {
            let model = world.get::<ServerPowerModel>(e).expect("server entity");
            if let Some(f) = throttle {
                let t = f * model.gpu_board_w;
                c.0[..k].iter_mut().for_each(|x| *x = x.min(t));
            }
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
    add_it_power(world, now, d_it, d_gpu);
    // Job speeds.
    let jobs: Vec<(Entity, u64, Vec<Grant>)> = {
        let mut q = world.query::<(Entity, &Job)>();
        q.iter(world)
            .filter(|(_, j)| j.start.is_some())
            .map(|(e, j)| (e, j.id, j.grants.clone()))
            .collect()
    };
    let limits = world.resource::<PowerLimits>();
    let speeds: Vec<(Entity, f64)> = jobs
        .iter()
        .map(|(e, id, g)| (*e, limits.job_speed(world, *id, g)))
        .collect();
    for (e, s) in speeds {
        set_job_rates(world, sched, e, None, Some(1.0 / s));
    }
}

/// A job that just started on limited GPUs runs at their throughput ratio until the limits change.
pub(super) fn on_start<E: From<Event>>(world: &mut World, sched: &mut Scheduler<E>, e: Entity) {
    let Some(limits) = world.get_resource::<PowerLimits>() else {
        return;
    };
    let job = world.get::<Job>(e).expect("job");
    let s = limits.job_speed(world, job.id, &job.grants);
    if s < 1.0 {
        set_job_rates(world, sched, e, None, Some(1.0 / s));
    }
}

/// After an event that changed the demand: the controller sees it at once (its integrals stay exact; caps hold
/// until its next decision; rack and row breakers trip here).
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
