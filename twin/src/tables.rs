//! The per-entity tables of a run ([`output::Tables`]: `jobs.csv`, `requests.csv`, `racks.csv`), assembled at the
//! horizon from what the parts kept: the jobs part's per-job records, the serving part's sampled requests and the
//! ledger's rack meter.

use bevy_ecs::world::World;
use scenario::LoadedScenario;
use sim::SimTime;

use crate::ledger::Ledger;
use crate::parts::jobs::{JobLog, JobRecord};
use crate::parts::serving::{RequestRecord, RequestSample};
use crate::trips::Trips;
use output::{
    JobRow, JobState, RackRow, RequestRow, RequestTable, Summary, Tables, TrainingSummary,
    TripLevel,
};

/// The tables of a run whose summary is `summary` (the ledger advanced to `horizon`).
pub(crate) fn tables(
    loaded: &LoadedScenario,
    world: &mut World,
    horizon: SimTime,
    summary: &Summary,
) -> Tables {
    Tables {
        jobs: world
            .get_resource::<JobLog>()
            .map(|l| job_rows(&l.0, summary.training.as_ref())),
        requests: world
            .remove_resource::<RequestSample>()
            .filter(|s| s.filled)
            .map(|s| RequestTable {
                total: s.total,
                max: s.max,
                rows: s
                    .rows
                    .iter()
                    .map(|(id, r)| request_row(*id, None, r))
                    .collect(),
            }),
        racks: rack_rows(loaded, world, horizon, summary),
    }
}

/// One row per job record; names and GPU energy from the `training` section (indexed by job id) when present.
pub(crate) fn job_rows(log: &[JobRecord], training: Option<&TrainingSummary>) -> Vec<JobRow> {
    log.iter()
        .map(|r| {
            let t = training.and_then(|t| t.jobs.get(r.id as usize));
            JobRow {
                id: r.id,
                name: t.map(|t| t.name.clone()).unwrap_or_default(),
                submit_s: r.submit.as_secs_f64(),
                start_s: r.start.map(SimTime::as_secs_f64),
                finish_s: r.finish.map(SimTime::as_secs_f64),
                wait_s: r.start.map(|s| (s - r.submit).as_secs_f64()),
                gpus: r.gpu_milli as f64 / 1000.0,
                servers: r.servers.len() as u64,
                gpu_energy_j: t.map(|t| t.gpu_energy_j),
                preemptions: r.preemptions as u64,
                interruptions: r.interruptions as u64,
                state: Some(if r.finish.is_some() {
                    JobState::Completed
                } else if r.running {
                    JobState::Running
                } else {
                    JobState::Queued
                }),
            }
        })
        .collect()
}

/// The row of request `id` (of window `window` in a long-horizon run).
pub(crate) fn request_row(id: u64, window: Option<u32>, r: &RequestRecord) -> RequestRow {
    RequestRow {
        id,
        window,
        arrival_s: r.arrival_s,
        ttft_s: r.done.map(|d| d.ttft_s),
        tpot_s: r.done.map(|d| d.tpot_s),
        e2e_s: r.done.map(|d| d.e2e_s),
        queue_wait_s: r.done.map(|d| d.queue_wait_s),
        prompt_tokens: r.prompt_tokens,
        output_tokens: r.output_tokens,
        replica: r.replica,
        outcome: r.outcome,
    }
}

/// One row per rack holding servers, in site order (the numbering of [`crate::site::Site::rack_of`] and of the
/// rack breakers' trips).
fn rack_rows(
    loaded: &LoadedScenario,
    world: &mut World,
    horizon: SimTime,
    summary: &Summary,
) -> Vec<RackRow> {
    let figures = world.resource_mut::<Ledger>().racks_mut().figures(horizon);
    let mut trips = vec![0u64; figures.len()];
    for t in world.resource::<Trips>().records() {
        if let TripLevel::Rack(r) = t.level
            && let Some(n) = trips.get_mut(r as usize)
        {
            *n += 1;
        }
    }
    let inlet = summary.facility.as_ref().map(|f| f.thermal.max_inlet_c);
    let horizon_s = horizon.as_secs_f64();
    let mut rows: Vec<RackRow> = Vec::with_capacity(figures.len());
    let mut last = None;
    for s in &loaded.site.servers {
        if last != Some(s.rack) {
            let k = rows.len();
            let (peak, energy) = figures[k];
            rows.push(RackRow {
                hall: s.hall,
                row: s.row,
                rack: s.rack,
                it_peak_w: peak,
                it_mean_w: if horizon_s > 0.0 {
                    energy / horizon_s
                } else {
                    0.0
                },
                it_energy_j: energy,
                inlet_peak_c: inlet,
                breaker_trips: trips[k],
                ..RackRow::default()
            });
            last = Some(s.rack);
        }
        let r = rows.last_mut().expect("pushed");
        r.servers += 1;
        r.gpus += s.gpus as u64;
    }
    rows
}
