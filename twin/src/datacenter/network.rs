//! Training jobs on the network fabric during a run (docs/models.md §Network fabric, "In the run").
//!
//! With `workload: Training(comm: Fabric(...))`, whenever the set of running training jobs changes (a start, a
//! finish, a preemption) the running jobs are priced together on the fabric as placed
//! ([`models::network::Fabric::contended_step_comm`]); each job then progresses at `step_contended / step_predicted`
//! wall seconds per predicted second ([`super::set_job_rates`]), its `Finish` moving accordingly. Per-tier link
//! utilisation and switch power are integrated exactly between re-pricings; switch power is IT power (it reaches
//! the facility meter).

use bevy_ecs::prelude::*;
use sim::{Scheduler, SimTime};

use super::{Event, Job, set_job_rates};
use models::catalog::GpuModel;
use models::network::{AllReduceAlgo, Fabric, FabricConfig, GpuRef, JobTraffic, Tier};
use output::{NetworkSummary, TierSummary};
use scenario::LoadedScenario;

/// The fabric of a run and what it has measured.
#[derive(Resource)]
pub(super) struct FabricRun {
    fabric: Fabric,
    all_reduce: AllReduceAlgo,
    /// By training job id: GPU model and predicted (packed, alone) step time.
    gpus: Vec<GpuModel>,
    predicted_step_s: Vec<f64>,
    /// The running set changed since the last pricing.
    pub(super) dirty: bool,
    last: SimTime,
    /// Per tier: links, current mean and max utilisation, ∫ mean dt (s), max seen.
    tiers: Vec<(Tier, u64, f64, f64, f64, f64)>,
    switch_w: f64,
    switch_j: f64,
    /// Per job: current contended step and communication time, ∫ step dt and ∫ comm dt while running (s²).
    now_step: Vec<Option<(f64, f64)>>,
    step_int: Vec<f64>,
    comm_int: Vec<f64>,
    run_s: Vec<f64>,
    pub(super) pricings: u64,
}

impl FabricRun {
    pub(super) fn new(loaded: &LoadedScenario, cfg: &FabricConfig) -> Self {
        let fabric = Fabric::from_site(cfg, &loaded.site).expect("validated fabric");
        let info = loaded.training.as_deref().expect("training workload");
        let n = info.len();
        let switch_w = fabric.idle_power_w();
        FabricRun {
            all_reduce: cfg.all_reduce,
            gpus: info
                .iter()
                .map(|t| {
                    loaded.catalog.gpus[loaded.catalog.index_of(&t.gpu_model).expect("validated")]
                        .clone()
                })
                .collect(),
            predicted_step_s: info.iter().map(|t| t.estimate.step.total_s).collect(),
            fabric,
            dirty: false,
            last: SimTime::ZERO,
            tiers: Vec::new(),
            switch_w,
            switch_j: 0.0,
            now_step: vec![None; n],
            step_int: vec![0.0; n],
            comm_int: vec![0.0; n],
            run_s: vec![0.0; n],
            pricings: 0,
        }
    }

    /// Switch power at time zero (idle switches), W.
    pub(super) fn switch_power_w(&self) -> f64 {
        self.switch_w
    }

    fn advance(&mut self, now: SimTime) {
        let dt = (now - self.last).as_secs_f64();
        for t in &mut self.tiers {
            t.4 += t.2 * dt;
        }
        self.switch_j += self.switch_w * dt;
        for (i, s) in self.now_step.iter().enumerate() {
            if let Some((step, comm)) = s {
                self.step_int[i] += step * dt;
                self.comm_int[i] += comm * dt;
                self.run_s[i] += dt;
            }
        }
        self.last = now;
    }
}

/// Re-prices the running training jobs if the running set changed.
pub(super) fn reprice_if_dirty<E: From<Event>>(world: &mut World, sched: &mut Scheduler<E>) {
    if !world.get_resource::<FabricRun>().is_some_and(|f| f.dirty) {
        return;
    }
    let now = sched.now();
    let info = {
        let mut q = world.query::<(Entity, &Job)>();
        let mut v: Vec<(u64, Entity, Vec<GpuRef>)> = q
            .iter(world)
            .filter(|(_, j)| j.start.is_some())
            .map(|(e, j)| (j.id, e, j.grants.iter().map(GpuRef::from).collect()))
            .collect();
        v.sort_by_key(|x| x.0);
        v
    };
    let loaded_plans: Vec<_> = {
        let f = world.resource::<FabricRun>();
        let plans = world.resource::<Plans>();
        info.iter()
            .map(|(id, _, gpus)| {
                let (plan, per_server) = &plans.0[*id as usize];
                JobTraffic::training(
                    plan,
                    &f.gpus[*id as usize],
                    *per_server,
                    gpus.clone(),
                    f.all_reduce,
                    *id,
                )
                .expect("validated training job on the fabric")
            })
            .collect()
    };
    let res = world
        .resource::<FabricRun>()
        .fabric
        .contended_step_comm(&loaded_plans)
        .expect("placed training jobs fit the fabric");
    let mut rates = Vec::with_capacity(info.len());
    let d_w = {
        let mut f = world.resource_mut::<FabricRun>();
        f.advance(now);
        f.dirty = false;
        f.pricings += 1;
        for s in &mut f.now_step {
            *s = None;
        }
        for ((id, e, _), jc) in info.iter().zip(&res.jobs) {
            let step = jc.step.expect("training traffic has a step time");
            f.now_step[*id as usize] = Some((step.total_s, step.comm_exposed_s));
            rates.push((*e, step.total_s / f.predicted_step_s[*id as usize]));
        }
        if f.tiers.is_empty() {
            f.tiers = res
                .tiers
                .iter()
                .map(|t| (t.tier, t.links, 0.0, 0.0, 0.0, 0.0))
                .collect();
        }
        for (t, u) in f.tiers.iter_mut().zip(&res.tiers) {
            t.2 = u.mean_utilization;
            t.3 = u.max_utilization;
            t.5 = t.5.max(u.max_utilization);
        }
        let d = res.switch_power_w - f.switch_w;
        f.switch_w = res.switch_power_w;
        d
    };
    for (e, r) in rates {
        set_job_rates(world, sched, e, Some(r), None);
    }
    if d_w != 0.0 {
        super::add_it_power(world, now, d_w, 0.0);
    }
}

/// Training plans by job id, with the GPUs per server of their model.
#[derive(Resource)]
pub(super) struct Plans(pub Vec<(models::training::TrainingPlan, u32)>);

/// The `network` summary section, and per job (mean contended step, mean exposed communication) while running.
pub(super) fn summarize(
    f: &mut FabricRun,
    horizon: SimTime,
) -> (NetworkSummary, Vec<Option<(f64, f64)>>) {
    f.advance(horizon);
    let h = horizon.as_secs_f64();
    let tiers = f
        .tiers
        .iter()
        .map(|t| TierSummary {
            tier: format!("{:?}", t.0),
            links: t.1,
            mean_utilization: if h > 0.0 { t.4 / h } else { 0.0 },
            max_utilization: t.5,
        })
        .collect();
    let per_job = (0..f.run_s.len())
        .map(|i| {
            (f.run_s[i] > 0.0).then(|| (f.step_int[i] / f.run_s[i], f.comm_int[i] / f.run_s[i]))
        })
        .collect();
    (
        NetworkSummary {
            switches: f.fabric.switches(),
            switch_energy_j: f.switch_j,
            switch_power_mean_w: if h > 0.0 { f.switch_j / h } else { 0.0 },
            pricings: f.pricings,
            tiers,
        },
        per_job,
    )
}
