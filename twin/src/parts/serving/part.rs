//! The serving part: LLM inference replicas on the site's GPUs (docs/models.md §Inference, §Shared fleet).
//!
//! Alone on a site (an `Inference` workload) the replicas are placed once, first fit, and hold their GPUs for
//! the whole run. Beside a job workload (`serving`) the replicas claim GPUs from the cluster part when the
//! autoscaler switches them on and give them back when it switches them off ([`Signal::ClaimGpus`],
//! [`Signal::ReleaseGpus`], [`Signal::GpusGranted`]).
//!
//! Coupling: each replica GPU's activity (the iteration's, idle between iterations) is its server's load, so
//! the site draws its power, power limits cap it and the capping controller sees it as demand; a replica's
//! iterations run at the clock its GPUs' limits allow ([`Signal::LimitsChanged`]); a replica whose server goes
//! down stops at once and its requests move to the other serving replicas, or are dropped when none serves.

use bevy_ecs::world::World;
use models::catalog::GpuModel;
use models::facility::capping::DvfsConfig;
use models::inference::config::{InferenceWorkload, RequestSource};
use models::inference::perf::ReplicaPerf;
use models::inference::power_cap::GpuPowerCap;
use models::inference::source::RequestStream;
use models::placement::{Grant, HELD_IDLE, JobReq, ServerLoad, WHOLE_GPU_MILLI, apply_grant};
use models::power::{EnergyMeter, ServerPowerModel};
use scenario::{LoadedScenario, Workload};
use sim::{RngStreams, SimDuration, SimTime};

use super::fleet::{Event, Fleet, Mode};
use crate::error::{RunError, duration, gpu_index};
use crate::kernel::{Code, Ctx, EventCode, Interests, Part, Signal};
use crate::ledger::Ledger;
use crate::site::{GpuLimits, Site, refresh_power};
use crate::work::Works;
use output::{Sample, Summary};

/// Where a replica's GPUs are: a server and `tp` GPU slots of it.
#[derive(Debug, Clone)]
struct Place {
    server: u32,
    entity: bevy_ecs::entity::Entity,
    slots: Vec<u8>,
    /// 1/η of the server's power supply.
    psu_inv: f64,
}

/// The serving part.
pub struct Serving {
    fleet: Fleet,
    workload: InferenceWorkload,
    /// Beside a job workload (GPUs claimed from the cluster part) rather than alone on the site.
    shared: bool,
    place: Vec<Option<Place>>,
    /// Per server: the replica slots placed on it (kept with `place`).
    by_server: Vec<Vec<usize>>,
    kv_capacity: u64,
    gpu: GpuModel,
    dvfs: DvfsConfig,
    warmup: SimDuration,
    /// Whether GPU limits can act on the replicas (a capping section or a facility), and the static cap.
    limited: bool,
    static_cap_w: Option<f64>,
    /// Shared fleet: the replicas' GPU power at the wall while they hold GPUs (the IT energy charged to
    /// serving), and each replica's share of it now, W.
    attributed: EnergyMeter,
    attributed_w: Vec<f64>,
    /// Fast access to the servers' load and draw.
    access: crate::site::ServerAccess,
    /// Replicas whose server went down, stopped when the part settles.
    downs: Vec<usize>,
}

/// The deployment's GPU model (catalog index and entry) and replica performance model; `at`: the workload's
/// field path.
fn replica_perf(
    loaded: &LoadedScenario,
    w: &InferenceWorkload,
    at: &str,
) -> Result<(usize, GpuModel, ReplicaPerf), RunError> {
    let gi = gpu_index(
        &loaded.catalog,
        &format!("{at}.deployment.gpu_model"),
        &w.deployment.gpu_model,
    )?;
    let gpu = loaded.catalog.gpus[gi].clone();
    let perf = ReplicaPerf::new(
        &w.deployment.model,
        &gpu,
        w.deployment.tp,
        &w.efficiency,
        &w.batching,
    )
    .map_err(|message| RunError::Input {
        field: format!("{at}.deployment"),
        message,
    })?;
    Ok((gi, gpu, perf))
}

/// The requests of `w`: the loaded trace, or its generator on the scenario's streams.
fn request_stream(loaded: &LoadedScenario, w: &InferenceWorkload) -> RequestStream {
    match &loaded.inference_requests {
        Some(reqs) => RequestStream::Trace {
            reqs: reqs.clone(),
            next: 0,
        },
        None => match &w.requests {
            RequestSource::Synthetic(s) => {
                RequestStream::synthetic(s, &RngStreams::new(loaded.scenario.seed))
            }
            RequestSource::AzureTrace { .. } => unreachable!("load_scenario reads traces"),
        },
    }
}

impl Serving {
    /// The serving part of `loaded`, if it serves inference. Alone on the site, its replicas take their GPUs
    /// now (first fit; idle until they iterate).
    pub fn new(
        loaded: &LoadedScenario,
        world: &mut World,
        horizon: SimTime,
    ) -> Result<Option<Self>, RunError> {
        let (w, shared, at) = match (&loaded.scenario.workload, &loaded.scenario.serving) {
            (Workload::Inference(w), _) => (w.as_ref().clone(), false, "workload.Inference"),
            (_, Some(sv)) => (sv.inference.clone(), true, "serving.inference"),
            _ => return Ok(None),
        };
        let (gi, gpu, perf) = replica_perf(loaded, &w, at)?;
        let kv_capacity = perf.kv_capacity_tokens;
        let tp = w.deployment.tp;
        let mut fleet = Fleet::new(
            &w,
            perf,
            request_stream(loaded, &w),
            horizon,
            tp as f64 * gpu.idle_power_w,
            tp as f64 * gpu.board_power_w,
        );
        if let Some(a) = &w.autoscaling {
            fleet.scale_every = duration(&format!("{at}.autoscaling.interval_s"), a.interval_s)?;
            fleet.warmup = duration(&format!("{at}.autoscaling.warmup_s"), a.warmup_s)?;
        }
        if loaded.scenario.storage.is_some() {
            let m = &w.deployment.model;
            fleet.model_load = Some(m.params * m.bytes_per_param);
        }
        let warmup = fleet.warmup;
        let n = w.replica_slots() as usize;
        let mut place = vec![None; n];
        let mut by_server = vec![Vec::new(); loaded.site.servers.len()];
        if shared {
            fleet.claims = Some((0..w.deployment.replicas).map(|i| (i, true)).collect());
        } else {
            let servers =
                models::inference::placement::place_replicas(&loaded.site, gi, tp, n as u32)
                    .map_err(|message| RunError::Input {
                        field: format!("{at}.deployment"),
                        message,
                    })?;
            let mut used = vec![0u32; loaded.site.servers.len()];
            for (r, &s) in servers.iter().enumerate() {
                let first = used[s];
                used[s] += tp;
                let slots: Vec<u8> = (first..first + tp).map(|k| k as u8).collect();
                hold(world, s as u32, &slots, tp, gi);
                by_server[s].push(r);
                place[r] = Some(Place {
                    server: s as u32,
                    entity: world.resource::<Site>().entity(s as u32),
                    slots,
                    psu_inv: 1.0 / loaded.site.servers[s].host.psu_efficiency,
                });
            }
        }
        let capping = loaded
            .facility
            .as_ref()
            .and_then(|f| f.config.capping.as_ref());
        Ok(Some(Serving {
            fleet,
            shared,
            place,
            by_server,
            kv_capacity,
            dvfs: capping.map(|c| c.dvfs).unwrap_or_default(),
            warmup,
            limited: loaded.facility.is_some(),
            static_cap_w: capping.and_then(|c| c.gpu_cap_w),
            attributed: EnergyMeter::new(SimTime::ZERO, 0.0),
            attributed_w: vec![0.0; n],
            access: crate::site::ServerAccess::new(world),
            downs: Vec::new(),
            gpu,
            workload: w,
        }))
    }

    /// Books what the fleet changed on the site: replica GPU activity (server draws, the ledger, the
    /// controller's demand), busy replicas, and (shared fleet) GPU claims.
    fn flush(&mut self, ctx: &mut Ctx<'_, '_>) {
        let now = ctx.now();
        if !self.fleet.power_dirty.is_empty() {
            let dirty = std::mem::take(&mut self.fleet.power_dirty);
            let (world, mut signals) = ctx.split();
            let (mut d_it, mut d_gpu) = (0.0, 0.0);
            if self.shared {
                self.attributed.advance(now);
            }
            for &r in &dirty {
                let Some(p) = &self.place[r as usize] else {
                    continue;
                };
                let rep = &self.fleet.replicas[r as usize];
                let ((), (a, b)) = self.access.update(world, p.entity, |load| {
                    for &k in &p.slots {
                        load.replica_activity[k as usize] = rep.activity;
                    }
                });
                d_it += a;
                d_gpu += b;
                signals.emit(Signal::LoadChanged { server: p.server });
                if self.shared {
                    let w = rep.gpu_w() * p.psu_inv;
                    self.attributed.add(w - self.attributed_w[r as usize]);
                    self.attributed_w[r as usize] = w;
                }
            }
            let mut ledger = world.resource_mut::<Ledger>();
            self.access.book_racks(&mut ledger);
            ledger.add(now, d_it, d_gpu);
            let mut dirty = dirty;
            dirty.clear();
            self.fleet.power_dirty = dirty;
        }
        let busy = std::mem::take(&mut self.fleet.busy_delta);
        if busy != 0 && !self.shared {
            let milli = busy * self.workload.deployment.tp as i64 * WHOLE_GPU_MILLI as i64;
            ctx.world.resource_mut::<Ledger>().add_busy(now, milli);
        }
        if let Some(claims) = self.fleet.claims.as_mut().filter(|c| !c.is_empty()) {
            let claims = std::mem::take(claims);
            for &(slot, on) in &claims {
                if on {
                    ctx.emit(Signal::ClaimGpus { slot });
                } else {
                    self.give_back(slot, now);
                    ctx.emit(Signal::ReleaseGpus { slot });
                }
            }
            let mut claims = claims;
            claims.clear();
            self.fleet.claims = Some(claims);
        }
    }

    /// Shared fleet: slot `slot` gives its GPUs back at `now` (they stop counting as serving's).
    fn give_back(&mut self, slot: u32, now: SimTime) {
        if let Some(p) = self.place[slot as usize].take() {
            self.by_server[p.server as usize].retain(|&r| r != slot as usize);
            self.attributed.advance(now);
            let w = std::mem::take(&mut self.attributed_w[slot as usize]);
            self.attributed.add(-w);
        }
    }

    /// The power limit of replica `r`'s GPUs now (the lowest), as a DVFS cap.
    fn cap_of(&self, world: &World, r: usize) -> Option<GpuPowerCap> {
        let p = self.place[r].as_ref()?;
        let e = world.resource::<Site>().entity(p.server);
        let limits = world
            .get::<GpuLimits>(e)
            .expect("server entity")
            .effective();
        let cap = p
            .slots
            .iter()
            .map(|&k| limits[k as usize])
            .fold(f64::INFINITY, f64::min);
        cap.is_finite()
            .then(|| GpuPowerCap::at(cap, &self.gpu, &self.dvfs))
    }
}

/// Allocates `slots` of server `server` to a replica (alone on the site: no allocator), held at idle activity.
pub(super) fn hold(world: &mut World, server: u32, slots: &[u8], tp: u32, model: usize) {
    let e = world.resource::<Site>().entity(server);
    let req = JobReq {
        gpus: tp,
        gpu_milli: WHOLE_GPU_MILLI,
        cpu_milli: 0,
        memory_mib: 0,
        model_mask: 1 << model,
        multi_server: false,
        activity_milli: HELD_IDLE,
    };
    let mut load = world.get_mut::<ServerLoad>(e).expect("server entity");
    for &k in slots {
        let g = Grant {
            server,
            slot: k,
            milli: WHOLE_GPU_MILLI,
        };
        apply_grant(&mut load, &g, &req, true, false);
    }
    refresh_power(world, server);
}

impl Part for Serving {
    fn name(&self) -> &'static str {
        "serving"
    }

    fn start(&mut self, ctx: &mut Ctx<'_, '_>) {
        let horizon = self.fleet.horizon;
        if self.shared {
            ctx.at(SimTime::ZERO, Event::Start);
        } else {
            // Replicas alone on the site hold their GPUs for the whole run: the work registry lists them (what
            // runs where), as a shared fleet's replicas are listed while they hold GPUs.
            let part = ctx.part();
            for (r, p) in self.place.iter().enumerate() {
                let Some(p) = p else { continue };
                let grants: Vec<Grant> = p
                    .slots
                    .iter()
                    .map(|&slot| Grant {
                        server: p.server,
                        slot,
                        milli: WHOLE_GPU_MILLI,
                    })
                    .collect();
                ctx.world.resource_mut::<Works>().open(
                    part,
                    crate::work::WorkKind::Replica,
                    r as u64,
                    r as u32,
                    &grants,
                );
            }
        }
        if let Some(t) = self.fleet.source.peek_arrival().filter(|&t| t <= horizon) {
            ctx.at(t, Event::Arrival);
        }
        if self.workload.autoscaling.is_some() {
            let t = SimTime::ZERO.saturating_add(self.fleet.scale_every);
            ctx.at(t.min(horizon), Event::Scale);
        }
    }

    fn interests(&self) -> Interests {
        Interests::GPUS_GRANTED
            .with(Interests::LIMITS_CHANGED)
            .with(Interests::SERVER_DOWN)
            .with(Interests::SERVER_UP)
            .with(Interests::IO_DONE)
    }

    fn handle(&mut self, ctx: &mut Ctx<'_, '_>, code: Code) {
        let ev = Event::decode(code);
        self.fleet.handle(ctx, ev);
        self.flush(ctx);
    }

    fn react(&mut self, ctx: &mut Ctx<'_, '_>, signal: &Signal) {
        match *signal {
            Signal::GpusGranted { slot, work } => {
                let now = ctx.now();
                let grants = &ctx
                    .world
                    .resource::<Works>()
                    .get(work)
                    .expect("granted")
                    .grants;
                let server = grants[0].server;
                let slots: Vec<u8> = grants.iter().map(|g| g.slot).collect();
                let e = ctx.world.resource::<Site>().entity(server);
                let psu = ctx
                    .world
                    .get::<ServerPowerModel>(e)
                    .expect("server entity")
                    .host
                    .psu_efficiency;
                self.by_server[server as usize].push(slot as usize);
                self.place[slot as usize] = Some(Place {
                    server,
                    entity: e,
                    slots,
                    psu_inv: 1.0 / psu,
                });
                self.attributed.advance(now);
                let w = self.fleet.replicas[slot as usize].gpu_w() / psu;
                self.attributed.add(w);
                self.attributed_w[slot as usize] = w;
                self.fleet.caps[slot as usize] = self.cap_of(ctx.world, slot as usize);
                if let Some(at) = self.fleet.granted(slot as usize, now, self.warmup) {
                    ctx.at(at, Event::Ready(slot));
                    self.fleet.start_load(ctx, slot as usize);
                }
            }
            Signal::LimitsChanged { server } => {
                for i in 0..self.by_server[server as usize].len() {
                    let r = self.by_server[server as usize][i];
                    self.fleet.caps[r] = self.cap_of(ctx.world, r);
                }
            }
            Signal::ServerDown { server } => {
                // Stopped when the part settles, once every server that went down with it is known (their
                // requests move only to replicas still up).
                self.downs
                    .extend_from_slice(&self.by_server[server as usize]);
            }
            Signal::IoDone { io } if io.part == ctx.part() => {
                self.fleet.load_done(ctx, io.key);
                self.flush(ctx);
            }
            Signal::ServerUp { server } if !self.shared => {
                for i in 0..self.by_server[server as usize].len() {
                    let r = self.by_server[server as usize][i];
                    self.fleet.restart_replica(ctx, r);
                }
                self.flush(ctx);
            }
            _ => {}
        }
    }

    fn settle(&mut self, ctx: &mut Ctx<'_, '_>) {
        if self.downs.is_empty() {
            return;
        }
        let mut downs = std::mem::take(&mut self.downs);
        downs.sort_unstable();
        downs.dedup();
        // Without an autoscaler a shared fleet starts a replacement elsewhere at once.
        let replace = self.shared && self.workload.autoscaling.is_none();
        let then = match (self.shared, replace) {
            (false, _) => Mode::Down,
            (true, false) => Mode::Off,
            (true, true) => Mode::Warming,
        };
        self.fleet.stop_replicas(ctx, &downs, then);
        if let Some(c) = self.fleet.claims.as_mut() {
            for &r in &downs {
                c.push((r as u32, false));
                if replace {
                    c.push((r as u32, true));
                }
            }
        }
        self.flush(ctx);
    }

    fn sample(&mut self, _world: &mut World, t: SimTime, row: &mut Sample) {
        self.fleet.advance(t);
        if !self.shared {
            let c = self.fleet.counts();
            row.running_jobs = c.in_service;
            row.queued_jobs = c.queued;
        }
    }

    fn summarize(&mut self, world: &mut World, horizon: SimTime, out: &mut Summary) {
        self.fleet.close(horizon);
        if let Some(mut log) = world.get_resource_mut::<super::report::RequestLog>() {
            log.0 = super::report::records(&self.fleet);
        }
        if let Some(mut s) = world.get_resource_mut::<super::report::RequestSample>() {
            *s = super::report::sampled(&self.fleet, s.max);
        }
        self.attributed.advance(horizon);
        let it_j = if self.shared {
            self.attributed.energy_j()
        } else {
            let mut ledger = world.resource_mut::<Ledger>();
            ledger.advance(horizon);
            ledger.it().energy_j()
        };
        let limited = self.limited.then_some(self.static_cap_w);
        out.inference = Some(super::report::summarize(
            &mut self.fleet,
            &self.workload,
            self.kv_capacity,
            horizon,
            it_j,
            limited,
        ));
    }
}
