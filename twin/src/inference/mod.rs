//! LLM inference serving: replicas of a model on tensor-parallel GPU groups, iteration-level continuous
//! batching with chunked prefill, a KV-cache limit with preemption, request routers, and latency/energy
//! metrics. Formulas in `models::inference::perf`; the event model in [`serve`]; docs/models.md §Inference.

pub mod serve;

use std::time::Instant;

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::Schedule;
use sim::{Engine, RngStreams, Sampling, SimDuration, SimTime};

use models::inference::InferenceWorkload;
use models::inference::config;
use models::inference::perf::ReplicaPerf;
use models::inference::place_replicas;
use models::inference::power_cap::GpuPowerCap;
use models::inference::source::RequestStream;
use serve::{Event, Fleet, Replica};

use crate::datacenter::site_summary;
use models::power::{gpu_power_w, host_power_w};
use output::{
    EnergySummary, GpuHoursSummary, GpuSummary, InferenceCapping, InferenceEnergy,
    InferenceSummary, JobsSummary, LittleLaw, PowerSummary, ReplicaSummary, RequestCounts,
    RunOutput, Sample, SloSummary, Stats, Summary, TokenCounts,
};
use scenario::{LoadedScenario, Workload};

/// Schedule label-free telemetry: what the sample hook reads.
#[derive(Resource, Default, Clone, Copy)]
struct FleetTelemetry {
    busy_gpus: f64,
}

fn telemetry_system(replicas: Query<&Replica>, fleet: Res<Fleet>, mut t: ResMut<FleetTelemetry>) {
    let mut busy = 0.0;
    for r in &replicas {
        if fleet.is_busy(r.id as usize) {
            busy += r.gpus as f64;
        }
    }
    t.busy_gpus = busy;
}

/// Runs a loaded inference scenario. `progress` gets the simulated fraction done (0..=1) a hundred times.
pub fn run(loaded: &LoadedScenario, progress: &mut dyn FnMut(f64)) -> RunOutput {
    let wall = Instant::now();
    let sc = &loaded.scenario;
    let Workload::Inference(w) = &sc.workload else {
        unreachable!("run_inference on a non-inference workload")
    };
    let horizon = SimTime::from_secs_f64(sc.horizon_s).expect("validated horizon");
    let every = SimDuration::from_secs_f64(sc.reporting.interval_s).expect("validated interval");
    let (gi, gpu, perf) = replica_perf(loaded, w);
    let kv_capacity = perf.kv_capacity_tokens;
    let placement =
        place_replicas(&loaded.site, gi, w.deployment.tp, w.replica_slots()).expect("validated");

    // Static power: hosts (allocation fraction = share of GPUs given to replicas) and GPUs outside replicas.
    let mut used = vec![0u32; loaded.site.servers.len()];
    for &s in &placement {
        used[s] += w.deployment.tp;
    }
    let mut static_it_w = 0.0;
    let mut other_gpu_w = 0.0;
    for (i, s) in loaded.site.servers.iter().enumerate() {
        let u = if s.gpus == 0 {
            0.0
        } else {
            used[i] as f64 / s.gpus as f64
        };
        let g = &loaded.catalog.gpus[s.gpu_model];
        let free_gpu_w =
            (s.gpus - used[i]) as f64 * gpu_power_w(g.idle_power_w, g.board_power_w, 0.0, 0.0);
        other_gpu_w += free_gpu_w;
        static_it_w += (host_power_w(&s.host, u) + free_gpu_w) / s.host.psu_efficiency;
    }
    let psu: Vec<f64> = placement
        .iter()
        .map(|&s| loaded.site.servers[s].host.psu_efficiency)
        .collect();
    let tp = w.deployment.tp as f64;

    let source = request_stream(loaded, w);
    let first = source.peek_arrival();
    let fleet = Fleet::new(
        w,
        perf,
        source,
        horizon,
        tp * gpu.idle_power_w,
        tp * gpu.board_power_w,
        psu,
        static_it_w,
        other_gpu_w,
    );
    let mut fleet = fleet;
    fleet.cap = gpu_cap(loaded, gpu);
    fleet.facility = loaded
        .facility
        .as_ref()
        .map(|f| crate::facility::meter_for(f, fleet.it.power_w()));
    let mut world = World::new();
    for (i, &s) in placement.iter().enumerate() {
        world.spawn(Replica {
            id: i as u32,
            server: s as u32,
            gpus: w.deployment.tp,
        });
    }
    world.insert_resource(fleet);
    world.insert_resource(FleetTelemetry::default());
    let mut engine = Engine::new(world);
    if let Some(t) = first.filter(|&t| t <= horizon) {
        engine.schedule(t, Event::Arrival);
    }
    if let Some(a) = &w.autoscaling {
        engine.schedule(
            SimTime::from_secs_f64(a.interval_s)
                .expect("validated")
                .min(horizon),
            Event::Scale,
        );
    }
    let mut telemetry = Schedule::default();
    telemetry.add_systems(telemetry_system);
    let mut samples = Vec::new();
    let mut sampling = Sampling::new(SimTime::ZERO, every);
    let slices = 100u64;
    for k in 1..=slices {
        let until =
            SimTime::from_nanos((horizon.as_nanos() as u128 * k as u128 / slices as u128) as u64);
        engine.run_until_sampled(
            until,
            &mut sampling,
            serve::handle,
            |world: &mut World, t: SimTime| {
                world.resource_mut::<Fleet>().advance(t);
                // facility hook (facility columns of timeseries.csv)
                let facility = world
                    .resource_mut::<Fleet>()
                    .facility
                    .as_mut()
                    .map(|f| f.sample(t));
                telemetry.run(world);
                let busy = world.resource::<FleetTelemetry>().busy_gpus;
                let f = world.resource::<Fleet>();
                let c = f.counts();
                samples.push(Sample {
                    time_s: t.as_secs_f64(),
                    it_power_w: f.it.power_w(),
                    busy_gpus: busy,
                    running_jobs: c.in_service,
                    queued_jobs: c.queued,
                    facility,
                });
            },
        );
        progress(k as f64 / slices as f64);
    }
    let events_processed = engine.events_processed();
    let mut fleet = engine.world.remove_resource::<Fleet>().expect("fleet");
    fleet.close(horizon);
    let horizon_s = horizon.as_secs_f64();
    let it_j = fleet.it.energy_j();
    let gpu_j = fleet.gpu.energy_j();
    let inference = summarize(&mut fleet, w, kv_capacity, horizon, it_j);
    let busy_replica_s = fleet.busy_replica_s();
    let replica_gpu_busy_h = busy_replica_s * tp / 3600.0;
    let gpus_total = loaded.site.gpus_total();
    let available_gpu_h = gpus_total as f64 * horizon_s / 3600.0;
    let mut energy = EnergySummary {
        it_j,
        gpu_j,
        server_overhead_j: it_j - gpu_j,
        ..EnergySummary::default()
    };
    let facility = fleet
        .facility
        .as_ref()
        .map(|m| crate::facility::report::summarize(m, loaded, horizon_s, &mut energy));
    let mut not_modelled = crate::facility::report::not_modelled(loaded);
    not_modelled.extend([
        "inference tensor parallelism across servers; prefix caching; speculative decoding"
            .to_string(),
        "network fabric (requests arrive at replicas without network delay)".to_string(),
        "failures".to_string(),
    ]);
    let summary = Summary {
        dctwin_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: sc.name.clone(),
        seed: sc.seed,
        horizon_s,
        events_processed,
        wall_time_s: wall.elapsed().as_secs_f64(),
        site: site_summary(loaded),
        energy,
        power: PowerSummary {
            it_peak_w: fleet.it.peak_w(),
            it_mean_w: it_j / horizon_s,
            it_min_w: fleet.it.min_w(),
        },
        jobs: JobsSummary::default(),
        gpus: GpuSummary {
            total: gpus_total,
            utilization_mean: if available_gpu_h > 0.0 {
                replica_gpu_busy_h / available_gpu_h
            } else {
                0.0
            },
        },
        gpu_hours: GpuHoursSummary {
            busy: replica_gpu_busy_h,
            available: available_gpu_h,
        },
        training: None,
        inference: Some(inference),
        facility,
        shared_fleet: None,
        network: None,
        not_modelled,
    };
    RunOutput {
        summary,
        timeseries: samples,
    }
}

/// The `inference` section of a summary from a closed fleet. `it_j`: the IT energy charged to serving (for the
/// energy per generated token).
pub(crate) fn summarize(
    fleet: &mut Fleet,
    w: &InferenceWorkload,
    kv_capacity: u64,
    horizon: SimTime,
    it_j: f64,
) -> InferenceSummary {
    let horizon_s = horizon.as_secs_f64();
    let counts = fleet.counts();
    let t = &mut fleet.tally;

    // Little's law: L from the time integral, W from per-request sojourns censored at the horizon.
    let l = t.in_system_ns as f64 * 1e-9 / horizon_s;
    let lambda = t.arrived as f64 / horizon_s;
    let sojourn_ns: u128 = fleet
        .reqs
        .iter()
        .map(|q| (if q.done { q.finish } else { horizon } - q.arrival).as_nanos() as u128)
        .sum();
    let w_mean = if t.arrived == 0 {
        0.0
    } else {
        sojourn_ns as f64 * 1e-9 / t.arrived as f64
    };
    let rel = if l > 0.0 {
        (l - lambda * w_mean).abs() / l
    } else {
        0.0
    };

    let completed = t.completed;
    let serving_replica_s = t.serving_ns as f64 * 1e-9;
    let busy_replica_s = fleet.busy_replica_s();
    let t = &mut fleet.tally;
    InferenceSummary {
        model: w.deployment.model.name.clone(),
        requests: RequestCounts {
            arrived: t.arrived,
            completed,
            in_service_at_end: counts.in_service,
            queued_at_end: counts.queued,
            not_arrived: fleet.source.remaining(),
            preemptions: t.preemptions,
            recomputed_tokens: t.recomputed_tokens,
        },
        ttft_s: Stats::from_values(&mut t.ttft_s),
        tpot_s: Stats::from_values(&mut t.tpot_s),
        e2e_s: Stats::from_values(&mut t.e2e_s),
        queue_wait_s: Stats::from_values(&mut t.queue_wait_s),
        tokens: TokenCounts {
            prefilled: t.prompt_tokens_done,
            generated: t.generated_tokens,
            prefill_per_s: t.prompt_tokens_done as f64 / horizon_s,
            generated_per_s: t.generated_tokens as f64 / horizon_s,
        },
        slo: SloSummary {
            ttft_target_s: w.slo.ttft_s,
            tpot_target_s: w.slo.tpot_s,
            attainment: if completed == 0 {
                0.0
            } else {
                t.slo_met as f64 / completed as f64
            },
        },
        replicas: ReplicaSummary {
            count: w.replica_slots() as u64,
            gpus_per_replica: w.deployment.tp as u64,
            kv_capacity_tokens: kv_capacity,
            serving_mean: serving_replica_s / horizon_s,
            utilization_mean: if serving_replica_s > 0.0 {
                busy_replica_s / serving_replica_s
            } else {
                0.0
            },
            iterations: t.iterations,
            scale_ups: t.scale_ups,
            scale_downs: t.scale_downs,
        },
        energy: InferenceEnergy {
            prefill_gpu_j: t.prefill_j,
            decode_gpu_j: t.decode_j,
            it_per_generated_token_j: if t.generated_tokens == 0 {
                0.0
            } else {
                it_j / t.generated_tokens as f64
            },
        },
        little_law: LittleLaw {
            mean_in_system: l,
            arrival_rate_per_s: lambda,
            mean_time_in_system_s: w_mean,
            relative_error: rel,
        },
        capping: fleet.cap.map(|c| InferenceCapping {
            gpu_cap_w: c.cap_w(),
            capped_iterations: t.capped_iterations,
            added_iteration_s: t.capped_added_s,
            capped_gpu_s: t.capped_gpu_s,
            clock_ratio_mean: if t.capped_gpu_s > 0.0 {
                t.capped_clock_gpu_s / t.capped_gpu_s
            } else {
                1.0
            },
            peak_gpu_w: t.peak_gpu_w,
        }),
    }
}

/// The static per-GPU power cap of the scenario's facility on the replicas' GPU model (validated at load).
fn gpu_cap(loaded: &LoadedScenario, gpu: &models::catalog::GpuModel) -> Option<GpuPowerCap> {
    let cfg = loaded.facility.as_ref()?.config.capping.as_ref()?;
    GpuPowerCap::new(cfg, gpu).expect("cap validated at load")
}

/// The requests of `w`: the loaded trace, or its generator on the scenario's streams.
fn request_stream(loaded: &LoadedScenario, w: &InferenceWorkload) -> RequestStream {
    match &loaded.inference_requests {
        Some(reqs) => RequestStream::Trace {
            reqs: reqs.clone(),
            next: 0,
        },
        None => match &w.requests {
            config::RequestSource::Synthetic(s) => {
                RequestStream::synthetic(s, &RngStreams::new(loaded.scenario.seed))
            }
            config::RequestSource::AzureTrace { .. } => unreachable!("load_scenario reads traces"),
        },
    }
}

/// A serving fleet for a cluster shared with jobs (docs/models.md §Shared fleet), and its KV capacity per
/// replica. Slots start without GPUs: the initial replicas are in `claims`, for the cluster to grant at time
/// zero. Replica GPU power is metered above idle (`it`, `gpu`); the cluster meters held GPUs at idle power.
pub(crate) fn shared_fleet(
    loaded: &LoadedScenario,
    w: &InferenceWorkload,
    horizon: SimTime,
) -> (Fleet, u64) {
    let (_, gpu, perf) = replica_perf(loaded, w);
    let kv = perf.kv_capacity_tokens;
    let tp = w.deployment.tp as f64;
    let n = w.replica_slots() as usize;
    let mut fleet = Fleet::new(
        w,
        perf,
        request_stream(loaded, w),
        horizon,
        0.0,
        tp * (gpu.board_power_w - gpu.idle_power_w),
        vec![1.0; n],
        0.0,
        0.0,
    );
    fleet.gpu_base_w = tp * gpu.idle_power_w;
    fleet.cap = gpu_cap(loaded, gpu);
    fleet.claims = Some((0..w.deployment.replicas).map(|i| (i, true)).collect());
    (fleet, kv)
}

/// The deployment's GPU model (catalog index and entry) and replica performance model (validated at load).
fn replica_perf<'a>(
    loaded: &'a LoadedScenario,
    w: &InferenceWorkload,
) -> (usize, &'a models::catalog::GpuModel, ReplicaPerf) {
    let gi = loaded
        .catalog
        .index_of(&w.deployment.gpu_model)
        .expect("validated GPU model");
    let gpu = &loaded.catalog.gpus[gi];
    let perf = ReplicaPerf::new(
        &w.deployment.model,
        gpu,
        w.deployment.tp,
        &w.efficiency,
        &w.batching,
    )
    .expect("validated fit");
    (gi, gpu, perf)
}
