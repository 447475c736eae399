//! Composition: which parts a scenario needs, in which order, on one site and one ledger; the run; the summary.
//!
//! Composition order (also the order of signal delivery, settling, sampling and summaries):
//! 1. `serving` — inference replicas (an `Inference` workload, or `serving` beside jobs; in a long-horizon run the
//!    surface part that replays the windows' measured activity hour by hour);
//! 2. `capping` — the capping controller and rack/row breakers (a `capping` section or rack/row ratings);
//! 3. `jobs` — the cluster: queue, placement, preemption (a job workload);
//! 4. `fabric` — the network fabric (training with `comm: Fabric(...)`);
//! 5. `facility` — thermal throttling and the feed breaker (a `facility` section);
//! 6. `maintenance` — scheduled windows that take racks down (a `maintenance` list);
//! 7. `failures` — hardware failures, repairs and spares (a `failures` section);
//! 8. `storage` — the shared storage system's power and report (a `storage` section).
//!
//! Limit sources: `capping` then `facility` (thermal). Rate factors: `fabric`, `jobs`' power-limit factor, then
//! `storage` (a dataset stream short of bandwidth).

use std::time::Instant;

use bevy_ecs::schedule::Schedule;
use bevy_ecs::world::World;
use models::power::ServerPower;
use scenario::LoadedScenario;
use sim::SimTime;

use crate::error::{RunError, duration};
use crate::kernel::{Drive, FactorId, Kernel, Part, run as run_kernel};
use crate::ledger::{Ledger, RackMeter};
use crate::parts::capping::CappingPart;
use crate::parts::fabric::FabricPart;
use crate::parts::facility::FacilityPart;
use crate::parts::failures::Failures;
use crate::parts::jobs::{JobLog, JobRecord, Jobs};
use crate::parts::maintenance::Maintenance;
use crate::parts::serving::{
    RequestLog, RequestRecord, RequestSample, Serving, Surface, SurfaceTable,
};
use crate::parts::storage::Storage;
use crate::site::{Site, Telemetry, telemetry_system};
use crate::trips::Trips;
use crate::work::Works;
use output::{
    EnergySummary, GpuHoursSummary, GpuSummary, PowerSummary, RunOutput, Sample, SiteSummary,
    Summary, Tables,
};

/// How a run is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Events the run may handle: a scenario whose estimate ([`crate::estimate::estimate`]) exceeds it is refused
    /// before it starts, and a run that reaches it stops there with [`RunError::Budget`].
    pub max_events: u64,
    /// Fill [`RunOutput::tables`] (`jobs.csv`, `requests.csv`, `racks.csv`): keeps a record per job and the
    /// sampled requests (`reporting.requests_csv_max`). Off by default (studies run many scenarios and need
    /// none of it).
    pub tables: bool,
}

/// The default budget of events: ten billion (hours of work on one core).
pub const DEFAULT_MAX_EVENTS: u64 = 10_000_000_000;

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            max_events: DEFAULT_MAX_EVENTS,
            tables: false,
        }
    }
}

/// Which per-entity logs a run keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Logs {
    pub jobs: bool,
    pub requests: bool,
    /// The per-entity tables ([`RunOutput::tables`]).
    pub tables: bool,
}

impl Logs {
    pub const NONE: Logs = Logs {
        jobs: false,
        requests: false,
        tables: false,
    };
    pub const JOBS: Logs = Logs {
        jobs: true,
        requests: false,
        tables: false,
    };
    pub const REQUESTS: Logs = Logs {
        jobs: false,
        requests: true,
        tables: false,
    };

    /// These logs, and the tables if `on`.
    pub fn with_tables(self, on: bool) -> Logs {
        Logs { tables: on, ..self }
    }
}

/// What [`run_parts`] returns: the outputs and the logs asked for.
pub(crate) struct Ran {
    pub output: RunOutput,
    pub jobs: Vec<JobRecord>,
    pub requests: Vec<RequestRecord>,
}

/// The parts of `loaded` in composition order, on a new World holding the site, the work registry, the trip
/// log and the ledger.
/// With `surface`, the serving part is the long-horizon one ([`Surface`]) rather than iteration-level serving.
fn compose(
    loaded: &LoadedScenario,
    horizon: SimTime,
    logs: Logs,
    surface: Option<SurfaceTable>,
) -> Result<(World, Vec<Box<dyn Part>>), RunError> {
    let log = logs.jobs || logs.tables;
    let mut world = World::new();
    let mut site = Site::spawn(&mut world, &loaded.site, &loaded.catalog);
    let capping_source = site.limit_source();
    let thermal_source = site.limit_source();
    let breaker_cause = site.down_cause();
    let feed_cause = site.down_cause();
    let maintenance_cause = site.down_cause();
    let failure_cause = site.down_cause();
    world.insert_resource(site);
    // Only the failures part asks how many work items run on a set of servers.
    world.insert_resource(if loaded.failures.is_some() {
        Works::counting_servers()
    } else {
        Works::default()
    });
    world.insert_resource(Trips::default());
    world.insert_resource(Telemetry::default());
    if logs.requests {
        world.insert_resource(RequestLog::default());
    }
    if logs.tables {
        world.insert_resource(RequestSample {
            max: loaded.scenario.reporting.requests_csv_max,
            ..RequestSample::default()
        });
    }
    let fabric_factor = FactorId(0);
    let limits_factor = FactorId(1);
    let storage_factor = FactorId(2);
    let serving: Option<Box<dyn Part>> = match surface {
        Some(table) => Some(Box::new(Surface::new(loaded, &mut world, horizon, table)?)),
        None => Serving::new(loaded, &mut world, horizon)?.map(|p| Box::new(p) as Box<dyn Part>),
    };
    let capping = CappingPart::new(loaded, horizon, capping_source, breaker_cause)?;
    let jobs = Jobs::new(loaded, &mut world, horizon, log, limits_factor)?;
    let fabric = FabricPart::new(loaded, fabric_factor)?;
    let facility = FacilityPart::new(loaded, horizon, thermal_source, feed_cause);
    let maintenance = Maintenance::new(loaded, maintenance_cause)?;
    let failures = Failures::new(loaded, horizon, failure_cause)?;
    let storage = Storage::new(loaded, storage_factor);
    // Power at time zero: every server as set up (inference replicas hold their GPUs idle), and idle switches.
    let (mut it_w, mut gpu_w) = (0.0, 0.0);
    let site = world.resource::<Site>();
    let mut rack_w = vec![0.0; site.racks()];
    for (id, &e) in site.entities().iter().enumerate() {
        let p = world.get::<ServerPower>(e).expect("server entity");
        it_w += p.input_w;
        gpu_w += p.gpu_w;
        rack_w[site.rack_of(id as u32) as usize] += p.input_w;
    }
    let switch_w = fabric.as_ref().map_or(0.0, |f| f.switch_power_w());
    let it0 = it_w + switch_w;
    let meter = loaded
        .facility
        .as_ref()
        .map(|f| crate::facility::meter_for(f, it0));
    world.insert_resource(
        Ledger::new(it0, gpu_w, switch_w, meter).with_racks(RackMeter::new(rack_w)),
    );
    let mut parts: Vec<Box<dyn Part>> = Vec::new();
    if let Some(p) = serving {
        parts.push(p);
    }
    if let Some(p) = capping {
        parts.push(Box::new(p));
    }
    if let Some(p) = jobs {
        parts.push(Box::new(p));
    }
    if let Some(p) = fabric {
        parts.push(Box::new(p));
    }
    if let Some(p) = facility {
        parts.push(Box::new(p));
    }
    if let Some(p) = maintenance {
        parts.push(Box::new(p));
    }
    if let Some(p) = failures {
        parts.push(Box::new(p));
    }
    if let Some(p) = storage {
        parts.push(Box::new(p));
    }
    Ok((world, parts))
}

/// One run of `loaded`'s parts (the serving part replaced by the long-horizon one with `surface`); `probe`
/// sees the world at every sampling time, after the ledger has advanced to it.
pub(crate) fn run_parts(
    loaded: &LoadedScenario,
    options: &RunOptions,
    progress: &mut dyn FnMut(f64),
    logs: Logs,
    surface: Option<SurfaceTable>,
    probe: &mut dyn FnMut(&World, SimTime),
) -> Result<Ran, RunError> {
    let wall = Instant::now();
    let sc = &loaded.scenario;
    let estimate = crate::estimate::estimate(loaded);
    if estimate.exceeds(options.max_events) {
        return Err(RunError::Budget {
            limit: options.max_events,
            estimate: Some(estimate),
            reached_s: None,
        });
    }
    let horizon = SimTime::ZERO.saturating_add(duration("horizon_s", sc.horizon_s)?);
    let every = duration("reporting.interval_s", sc.reporting.interval_s)?;
    if every.is_zero() {
        return Err(RunError::Input {
            field: "reporting.interval_s".into(),
            message: "must be longer than a nanosecond".into(),
        });
    }
    let (world, parts) = compose(loaded, horizon, logs, surface)?;
    let mut telemetry = Schedule::default();
    telemetry.add_systems(telemetry_system);
    let mut samples = Vec::with_capacity((sc.horizon_s / sc.reporting.interval_s) as usize + 2);
    let on_sample = |world: &mut World, parts: &mut [Box<dyn Part>], t: SimTime| {
        let facility = {
            let mut ledger = world.resource_mut::<Ledger>();
            ledger.advance(t);
            ledger.facility_mut().map(|f| f.sample(t))
        };
        probe(world, t);
        telemetry.run(world);
        let tel = *world.resource::<Telemetry>();
        let ledger = world.resource::<Ledger>();
        let mut row = Sample {
            time_s: t.as_secs_f64(),
            it_power_w: tel.server_it_w + ledger.other_it_w(),
            busy_gpus: ledger.busy_gpus(),
            running_jobs: 0,
            queued_jobs: 0,
            failures: None,
            facility,
            serving: None,
        };
        for p in parts.iter_mut() {
            p.sample(world, t, &mut row);
        }
        samples.push(row);
    };
    let drive = Drive {
        horizon,
        every,
        progress,
        slices: 100,
    };
    let kernel = Kernel::new(parts).with_budget(options.max_events);
    let (mut world, kernel, events) = run_kernel(world, kernel, drive, on_sample);
    if let Some(at) = kernel.exhausted() {
        return Err(RunError::Budget {
            limit: options.max_events,
            estimate: None,
            reached_s: Some(at.as_secs_f64()),
        });
    }
    let mut parts = kernel.into_parts();
    let mut summary = summarize(loaded, &mut world, &mut parts, horizon, events);
    summary.wall_time_s = wall.elapsed().as_secs_f64();
    let tables = if logs.tables {
        crate::tables::tables(loaded, &mut world, horizon, &summary)
    } else {
        Tables::default()
    };
    let jobs = world
        .remove_resource::<JobLog>()
        .map(|l| l.0)
        .unwrap_or_default();
    let requests = world
        .remove_resource::<RequestLog>()
        .map(|l| l.0)
        .unwrap_or_default();
    Ok(Ran {
        output: RunOutput {
            summary,
            timeseries: samples,
            tables,
        },
        jobs,
        requests,
    })
}

/// The summary: the ledger's figures, the facility's, then each part's sections in composition order.
fn summarize(
    loaded: &LoadedScenario,
    world: &mut World,
    parts: &mut [Box<dyn Part>],
    horizon: SimTime,
    events: u64,
) -> Summary {
    let sc = &loaded.scenario;
    let horizon_s = horizon.as_secs_f64();
    let mut ledger = world.resource_mut::<Ledger>();
    ledger.advance(horizon);
    let ledger = world.resource::<Ledger>();
    let gpus_total = loaded.site.gpus_total();
    let busy = ledger.busy_gpu_h();
    let available = gpus_total as f64 * horizon_s / 3600.0;
    let it = ledger.it();
    let mut out = Summary {
        dctwin_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: sc.name.clone(),
        seed: sc.seed,
        horizon_s,
        events_processed: events,
        wall_time_s: 0.0,
        site: site_summary(loaded),
        energy: EnergySummary {
            it_j: it.energy_j(),
            gpu_j: ledger.gpu().energy_j(),
            server_overhead_j: it.energy_j() - ledger.gpu().energy_j(),
            ..EnergySummary::default()
        },
        power: PowerSummary {
            it_peak_w: it.peak_w(),
            it_mean_w: it.energy_j() / horizon_s,
            it_min_w: it.min_w(),
        },
        gpus: GpuSummary {
            total: gpus_total,
            utilization_mean: if available > 0.0 {
                busy / available
            } else {
                0.0
            },
        },
        gpu_hours: GpuHoursSummary { busy, available },
        not_modelled: not_modelled(loaded),
        ..Summary::default()
    };
    if let Some(m) = ledger.facility() {
        out.facility = Some(crate::facility::report::summarize(
            m,
            loaded,
            horizon_s,
            &mut out.energy,
        ));
    }
    for p in parts.iter_mut() {
        p.summarize(world, horizon, &mut out);
    }
    let ratings = loaded.facility.as_ref().map(|f| f.facility.chain.ratings);
    if ratings.is_some_and(|r| r.rack_w.is_some() || r.row_w.is_some() || r.feed_w.is_some())
        && let Some(f) = out.facility.as_mut()
    {
        f.breakers = Some(world.resource::<Trips>().summary(out.jobs.interrupted));
    }
    out
}

/// The site part of a summary.
pub(crate) fn site_summary(loaded: &LoadedScenario) -> SiteSummary {
    let site = &loaded.site;
    SiteSummary {
        halls: site.halls as u64,
        rows: site.rows as u64,
        racks: site.racks as u64,
        servers: site.servers.len() as u64,
        gpus_by_model: site.gpus_by_model(&loaded.catalog),
        description: loaded.describe(),
    }
}

/// What the run leaves out, for `summary.not_modelled`.
fn not_modelled(loaded: &LoadedScenario) -> Vec<String> {
    let sc = &loaded.scenario;
    let mut v: Vec<String> = vec![match loaded.facility {
        None => "facility overhead (cooling, power-chain losses): the scenario has no `facility` section, so \
                 energy is IT energy at the server inlets; no PUE"
            .into(),
        Some(_) => "per-rack inlet temperatures: one cooling zone per site, so throttling acts on every GPU at \
                    once; tripped breakers are not reset"
            .into(),
    }];
    match &sc.workload {
        scenario::Workload::Inference(w) => {
            v.extend([
                "inference tensor parallelism across servers; prefix caching; speculative decoding".to_string(),
                "network fabric (requests arrive at replicas without network delay)".to_string(),
            ]);
            if w.long_horizon.is_some() {
                v.push(
                    "long-horizon serving: one window per distinct hourly rate on sampled replicas, so no \
                     transitions between hours, no bursts longer than a window, GPU limits do not slow the \
                     windows, and request counts are expectations"
                        .into(),
                );
            }
        }
        scenario::Workload::Training(t) if matches!(t.comm, models::training::CommModel::Fabric(_)) => v.push(
            "network fabric: flow level (no packets, congestion control or NCCL channels); job power does not \
             follow contended communication"
                .into(),
        ),
        _ => v.push(
            "network fabric: no link contention (training communication is priced by alpha-beta formulas)"
                .into(),
        ),
    }
    if matches!(sc.workload, scenario::Workload::Training(_)) {
        v.push(
            "training: GPUs draw the step's mean activity (phase peaks and troughs are reported per job, not \
             simulated); no FP8, MoE or context parallelism"
                .into(),
        );
    }
    match &loaded.failures {
        None => v.push("hardware failures (the scenario has no `failures` section)".into()),
        Some(_) => v.push("failures: core switch failures; storage power varying with load".into()),
    }
    v
}
