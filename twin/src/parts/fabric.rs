//! The network fabric part: running training jobs priced together on the fabric as placed
//! (docs/models.md §Network fabric, "In the run").
//!
//! Whenever the set of running jobs changes ([`Signal::WorkStarted`], [`Signal::WorkStopped`]) the part re-prices
//! them when it settles ([`models::network::Fabric::contended_step_comm`]) and publishes each job's rate factor
//! `step_contended / step_predicted` ([`Signal::RateFactor`], in job-id order). Per-tier link utilisation and
//! switch power are integrated exactly between re-pricings; switch power is IT power (booked on the ledger).
//! Inference replicas run inside one server (NVLink) and send nothing over the fabric.

use bevy_ecs::world::World;
use models::catalog::GpuModel;
use models::network::{AllReduceAlgo, Fabric, FabricConfig, GpuRef, JobTraffic, Tier};
use models::training::TrainingPlan;
use scenario::LoadedScenario;
use sim::SimTime;

use crate::error::{RunError, gpu_index};
use crate::kernel::{Ctx, FactorId, Interests, Part, Signal};
use crate::ledger::Ledger;
use crate::work::{WorkId, WorkKind, Works};
use output::{NetworkSummary, Summary, TierSummary};

/// Per tier: links, current mean and max utilisation, ∫ mean dt (s), max seen.
type TierState = (Tier, u64, f64, f64, f64, f64);

/// The fabric of a run and what it has measured.
pub struct FabricPart {
    fabric: Fabric,
    all_reduce: AllReduceAlgo,
    factor: FactorId,
    /// By training job id: its plan, the GPUs per server of its model, its GPU model and its predicted
    /// (packed, alone) step time.
    plans: Vec<(TrainingPlan, u32)>,
    gpus: Vec<GpuModel>,
    predicted_step_s: Vec<f64>,
    /// Running training jobs: (job id, work item), by id.
    running: Vec<(u64, WorkId)>,
    /// The running set changed since the last pricing.
    dirty: bool,
    last: SimTime,
    tiers: Vec<TierState>,
    switch_w: f64,
    switch_j: f64,
    /// Per job: current contended step and communication time, ∫ step dt and ∫ comm dt while running (s²),
    /// time running.
    now_step: Vec<Option<(f64, f64)>>,
    step_int: Vec<f64>,
    comm_int: Vec<f64>,
    run_s: Vec<f64>,
    pricings: u64,
}

impl FabricPart {
    /// The fabric part of `loaded` (training workloads with `comm: Fabric(...)`); `factor`: the rate factor it
    /// publishes.
    pub fn new(loaded: &LoadedScenario, factor: FactorId) -> Result<Option<Self>, RunError> {
        let scenario::Workload::Training(t) = &loaded.scenario.workload else {
            return Ok(None);
        };
        let models::training::CommModel::Fabric(cfg) = &t.comm else {
            return Ok(None);
        };
        Self::build(loaded, cfg, factor).map(Some)
    }

    fn build(
        loaded: &LoadedScenario,
        cfg: &FabricConfig,
        factor: FactorId,
    ) -> Result<Self, RunError> {
        let field = "workload.Training.comm.Fabric";
        let fabric = Fabric::from_site(cfg, &loaded.site).map_err(|message| RunError::Input {
            field: field.to_string(),
            message,
        })?;
        let info = loaded.training.as_deref().unwrap_or(&[]);
        let gpus = info
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let at = format!("workload.Training.jobs[{i}].gpu_model");
                Ok(loaded.catalog.gpus[gpu_index(&loaded.catalog, &at, &t.gpu_model)?].clone())
            })
            .collect::<Result<Vec<GpuModel>, RunError>>()?;
        let n = info.len();
        let switch_w = fabric.idle_power_w();
        Ok(FabricPart {
            all_reduce: cfg.all_reduce,
            factor,
            plans: info
                .iter()
                .map(|t| (t.plan.clone(), t.gpus_per_server))
                .collect(),
            gpus,
            predicted_step_s: info.iter().map(|t| t.estimate.step.total_s).collect(),
            fabric,
            running: Vec::new(),
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
        })
    }

    /// Switch power now (idle switches at time zero), W.
    pub fn switch_power_w(&self) -> f64 {
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

    /// Prices the running jobs together and publishes their rate factors.
    fn reprice(&mut self, ctx: &mut Ctx<'_, '_>) {
        let now = ctx.now();
        let traffic: Vec<JobTraffic> = {
            let works = ctx.world.resource::<Works>();
            self.running
                .iter()
                .map(|&(id, w)| {
                    let gpus: Vec<GpuRef> = works
                        .get(w)
                        .expect("running job")
                        .grants
                        .iter()
                        .map(GpuRef::from)
                        .collect();
                    let (plan, per_server) = &self.plans[id as usize];
                    JobTraffic::training(
                        plan,
                        &self.gpus[id as usize],
                        *per_server,
                        gpus,
                        self.all_reduce,
                        id,
                    )
                    .expect("a training job priced at load prices as placed")
                })
                .collect()
        };
        let res = self
            .fabric
            .contended_step_comm(&traffic)
            .expect("placed training jobs fit the fabric");
        self.advance(now);
        self.dirty = false;
        self.pricings += 1;
        for s in &mut self.now_step {
            *s = None;
        }
        let mut rates = Vec::with_capacity(self.running.len());
        for (&(id, w), jc) in self.running.iter().zip(&res.jobs) {
            let step = jc.step.expect("training traffic has a step time");
            self.now_step[id as usize] = Some((step.total_s, step.comm_exposed_s));
            rates.push((w, step.total_s / self.predicted_step_s[id as usize]));
        }
        if self.tiers.is_empty() {
            self.tiers = res
                .tiers
                .iter()
                .map(|t| (t.tier, t.links, 0.0, 0.0, 0.0, 0.0))
                .collect();
        }
        for (t, u) in self.tiers.iter_mut().zip(&res.tiers) {
            t.2 = u.mean_utilization;
            t.3 = u.max_utilization;
            t.5 = t.5.max(u.max_utilization);
        }
        let d_w = res.switch_power_w - self.switch_w;
        self.switch_w = res.switch_power_w;
        for (work, value) in rates {
            ctx.emit(Signal::RateFactor {
                work,
                factor: self.factor,
                value,
            });
        }
        if d_w != 0.0 {
            ctx.world.resource_mut::<Ledger>().add_other(now, d_w);
        }
    }
}

impl Part for FabricPart {
    fn name(&self) -> &'static str {
        "fabric"
    }

    fn interests(&self) -> Interests {
        Interests::WORK_STARTED
            .with(Interests::WORK_STOPPED)
            .with(Interests::SPINE_DOWN)
            .with(Interests::SPINE_UP)
    }

    fn react(&mut self, ctx: &mut Ctx<'_, '_>, signal: &Signal) {
        match *signal {
            Signal::WorkStarted { work } => {
                let works = ctx.world.resource::<Works>();
                if let Some(e) = works.get(work).filter(|e| e.kind == WorkKind::Job) {
                    let key = (e.key, work);
                    let i = self.running.partition_point(|x| x.0 < e.key);
                    self.running.insert(i, key);
                    self.dirty = true;
                }
            }
            Signal::WorkStopped { work } => {
                if let Some(i) = self.running.iter().position(|x| x.1 == work) {
                    self.running.remove(i);
                    self.dirty = true;
                }
            }
            // A failed spine: ECMP routes its pod's flows over the others; the running jobs are priced again.
            Signal::SpineDown { spine } | Signal::SpineUp { spine } => {
                let up = matches!(signal, Signal::SpineUp { .. });
                self.fabric.set_spine(spine, up);
                self.dirty = true;
            }
            _ => {}
        }
    }

    fn settle(&mut self, ctx: &mut Ctx<'_, '_>) {
        if self.dirty {
            self.reprice(ctx);
        }
    }

    fn summarize(&mut self, _world: &mut World, horizon: SimTime, out: &mut Summary) {
        self.advance(horizon);
        let h = horizon.as_secs_f64();
        let tiers = self
            .tiers
            .iter()
            .map(|t| TierSummary {
                tier: format!("{:?}", t.0),
                links: t.1,
                mean_utilization: if h > 0.0 { t.4 / h } else { 0.0 },
                max_utilization: t.5,
            })
            .collect();
        if let Some(training) = out.training.as_mut() {
            for (i, job) in training.jobs.iter_mut().enumerate() {
                if self.run_s[i] > 0.0 {
                    job.run_step_s = Some(self.step_int[i] / self.run_s[i]);
                    job.run_comm_exposed_s = Some(self.comm_int[i] / self.run_s[i]);
                }
            }
        }
        out.network = Some(NetworkSummary {
            switches: self.fabric.switches(),
            switch_energy_j: self.switch_j,
            switch_power_mean_w: if h > 0.0 { self.switch_j / h } else { 0.0 },
            pricings: self.pricings,
            tiers,
        });
    }
}
