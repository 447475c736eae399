//! The serving part's section of the summary: `inference`.

use models::inference::config::InferenceWorkload;
use sim::SimTime;

use super::fleet::Fleet;
use output::{
    InferenceCapping, InferenceEnergy, InferenceSummary, LittleLaw, ReplicaHeadroom,
    ReplicaSummary, RequestCounts, RequestOutcome, SloSummary, Stats, TokenCounts,
};

/// The `inference` section from a closed fleet. `it_j`: the IT energy charged to serving (for the energy per
/// generated token). `limited`: GPU limits could act on the replicas (with the static per-GPU cap, if any).
pub(crate) fn summarize(
    fleet: &mut Fleet,
    w: &InferenceWorkload,
    kv_capacity: u64,
    horizon: SimTime,
    it_j: f64,
    limited: Option<Option<f64>>,
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
            rerouted: t.rerouted,
            dropped: t.dropped,
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
            headroom: ReplicaHeadroom {
                token_budget_occupancy_mean: ratio(t.budget_ns, t.iter_ns),
                token_budget_occupancy_max: t.budget_max,
                batch_requests_occupancy_mean: ratio(t.requests_ns, t.iter_ns),
                kv_occupancy_mean: ratio(t.kv_ns, t.iter_ns),
                kv_occupancy_max: t.kv_max,
            },
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
        capping: limited.map(|gpu_cap_w| InferenceCapping {
            gpu_cap_w,
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
        long_horizon: None,
    }
}

/// `a / b`, 0 when `b` is 0.
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// One request of a run, for studies that need latencies by arrival time (long-horizon windows, validation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestRecord {
    pub arrival_s: f64,
    /// Latencies of a completed request (`None`: unfinished at the horizon, or dropped), s; TPOT is 0 for a
    /// single output token (as in the SLO check).
    pub done: Option<Latencies>,
    pub prompt_tokens: u32,
    pub output_tokens: u32,
    /// The replica it was last routed to (`None`: never routed).
    pub replica: Option<u32>,
    /// What became of it by the end of the run.
    pub outcome: RequestOutcome,
}

/// A completed request's latencies, s, and whether it met the SLO.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latencies {
    pub ttft_s: f64,
    pub tpot_s: f64,
    pub e2e_s: f64,
    pub queue_wait_s: f64,
    pub slo_met: bool,
}

/// Every request of the run in arrival order, filled by the serving part at the horizon when this resource is
/// in the world (`twin::run_with_requests`).
#[derive(bevy_ecs::prelude::Resource, Debug, Default)]
pub struct RequestLog(pub Vec<RequestRecord>);

/// The requests kept for `requests.csv` ([`output::sample_indices`] of the run's requests, at most `max`), filled by
/// the serving part at the horizon when this resource is in the world (runs asked for tables).
#[derive(bevy_ecs::prelude::Resource, Debug, Default)]
pub struct RequestSample {
    /// Filled by a serving part (runs without one have no `requests.csv`).
    pub filled: bool,
    pub max: u64,
    /// Requests of the run.
    pub total: u64,
    /// (arrival index, record), in arrival order.
    pub rows: Vec<(u64, RequestRecord)>,
}

/// Ids of the requests in a running batch now, sorted.
fn in_service(fleet: &Fleet) -> Vec<u32> {
    let mut ids: Vec<u32> = fleet.in_service_ids().collect();
    ids.sort_unstable();
    ids
}

/// The records of `fleet`'s requests (same definitions as the summary's statistics).
pub(crate) fn records(fleet: &Fleet) -> Vec<RequestRecord> {
    let ins = in_service(fleet);
    (0..fleet.reqs.len())
        .map(|i| record(fleet, i, &ins))
        .collect()
}

/// The records of [`output::sample_indices`] of `fleet`'s requests (at most `max`) with their indices.
pub(crate) fn sampled(fleet: &Fleet, max: u64) -> RequestSample {
    let ins = in_service(fleet);
    let total = fleet.reqs.len() as u64;
    RequestSample {
        filled: true,
        max,
        total,
        rows: output::sample_indices(total, max)
            .map(|i| (i, record(fleet, i as usize, &ins)))
            .collect(),
    }
}

/// The record of request `i` of `fleet` (`in_service`: the ids in a running batch, sorted).
fn record(fleet: &Fleet, i: usize, in_service: &[u32]) -> RequestRecord {
    let slo = &fleet.slo;
    let q = &fleet.reqs[i];
    let done = (q.done && !q.dropped).then(|| {
        let ttft_s = (q.first_token - q.arrival).as_secs_f64();
        let tpot_s = if q.output > 1 {
            (q.finish - q.first_token).as_secs_f64() / (q.output - 1) as f64
        } else {
            0.0
        };
        Latencies {
            ttft_s,
            tpot_s,
            e2e_s: (q.finish - q.arrival).as_secs_f64(),
            queue_wait_s: (q.first_admit - q.arrival).as_secs_f64(),
            slo_met: ttft_s <= slo.ttft_s && tpot_s <= slo.tpot_s,
        }
    });
    let outcome = if q.dropped {
        RequestOutcome::Dropped
    } else if done.is_some() {
        RequestOutcome::Completed
    } else if in_service.binary_search(&(i as u32)).is_ok() {
        RequestOutcome::InService
    } else {
        RequestOutcome::Queued
    };
    RequestRecord {
        arrival_s: q.arrival.as_secs_f64(),
        done,
        prompt_tokens: q.prompt,
        output_tokens: q.output,
        replica: (q.replica != u32::MAX).then_some(q.replica),
        outcome,
    }
}
