//! Long-horizon serving runs (docs/models.md §Long-horizon serving).
//!
//! 1. **Windows.** One iteration-level run per distinct hourly arrival rate ([`rate_windows`]): `replicas` of
//!    the fleet's replicas (`long_horizon.replicas`) under their share of that rate, from an empty fleet for
//!    `warmup_s`, measured for `window_s`, then `drain_s` more so that the requests arriving in the window
//!    finish. The windows are independent and run in parallel (rayon); their order, seeds and results do not
//!    depend on the thread count.
//! 2. **The horizon.** The scenario runs over its whole horizon with the serving part replaced by
//!    [`Surface`](crate::parts::serving::Surface): every hour the replicas' GPUs take the mean activity the
//!    hour's window measured, so the site's power, the facility, weather, carbon, water and cost follow as in a
//!    full run.
//! 3. **The `inference` section** combines the windows: each window's requests stand for
//!    `hours × 3600 / window_s × replicas / sampled` requests of the horizon (expected counts), the latency
//!    statistics are the weighted mixture, and the hourly latency percentiles go to `timeseries.csv`.
//!
//! What it needs (checked when the scenario loads): a synthetic request stream, a fixed replica count, replicas
//! the facility does not slow (no capping controller, no static GPU cap, no breaker ratings) and no failures,
//! maintenance or storage.

use bevy_ecs::world::World;
use models::inference::config::{ArrivalProcess, InferenceWorkload, LongHorizon, RequestSource};
use models::inference::horizon::{hour_share, hours_of, rate_windows};
use rayon::prelude::*;
use scenario::{LoadedScenario, Workload};
use sim::{RngStreams, SimTime};

use crate::compose::{Logs, RunOptions, run_parts};
use crate::error::RunError;
use crate::ledger::Ledger;
use crate::parts::serving::{RequestRecord, SurfaceTable};
use output::{
    InferenceSummary, LittleLaw, LongHorizonSummary, RequestCounts, RequestTable, RunOutput,
    SloSummary, Stats, TokenCounts, WindowSummary,
};

/// The random stream the windows' seeds are drawn from.
const STREAM_WINDOWS: &str = "serving.long_horizon.windows";

/// Whether `loaded` serves in long-horizon mode.
pub(crate) fn is_long(loaded: &LoadedScenario) -> bool {
    matches!(&loaded.scenario.workload, Workload::Inference(w) if w.long_horizon.is_some())
}

/// What one window measured.
struct Window {
    summary: WindowSummary,
    /// Requests that arrived in the measured window (completed or not), and their records; the first one's
    /// arrival index in the window's run (they are consecutive).
    records: Vec<RequestRecord>,
    first_id: u64,
    /// The window run's own `inference` section (the whole run: warm-up and drain included) and length, s.
    inference: Option<InferenceSummary>,
    run_s: f64,
    events: u64,
}

/// A long-horizon run of `loaded` (see the module doc).
pub(crate) fn run(
    loaded: &LoadedScenario,
    options: &RunOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<RunOutput, RunError> {
    let Workload::Inference(w) = &loaded.scenario.workload else {
        unreachable!("is_long")
    };
    let lh = w.long_horizon.expect("is_long");
    let wall = std::time::Instant::now();
    let RequestSource::Synthetic(s) = &w.requests else {
        unreachable!("checked: long-horizon mode needs a synthetic stream")
    };
    let horizon_s = loaded.scenario.horizon_s;
    let (mults, hour_window) = rate_windows(s, hours_of(horizon_s));
    let mut seeds = RngStreams::new(loaded.scenario.seed).stream(STREAM_WINDOWS);
    let seeds: Vec<u64> = mults
        .iter()
        .map(|_| rand::RngExt::random(&mut seeds))
        .collect();
    let windows: Vec<Window> = mults
        .par_iter()
        .zip(seeds.par_iter())
        .map(|(&m, &seed)| run_window(loaded, w, &lh, m, seed, options))
        .collect::<Result<_, _>>()?;
    progress(0.5);
    let mut hours = vec![0.0; windows.len()];
    for (k, &i) in hour_window.iter().enumerate() {
        hours[i as usize] += hour_share(k as u64, horizon_s);
    }
    let summary = combine(w, &lh, &windows, &hours, horizon_s);
    let table = SurfaceTable {
        hour_window,
        summary,
    };
    let mut rest = |f: f64| progress(0.5 + 0.5 * f);
    let ran = run_parts(
        loaded,
        options,
        &mut rest,
        Logs::NONE.with_tables(options.tables),
        Some(table),
        &mut |_, _| {},
    )?;
    let mut out = ran.output;
    if options.tables {
        out.tables.requests = Some(window_requests(
            &windows,
            loaded.scenario.reporting.requests_csv_max,
        ));
    }
    // The whole run's work and time: the windows' and the horizon's.
    out.summary.events_processed += windows.iter().map(|w| w.events).sum::<u64>();
    out.summary.wall_time_s = wall.elapsed().as_secs_f64();
    Ok(out)
}

/// `requests.csv` of a long-horizon run: the requests that arrived in the windows' measured spans, window after
/// window (each with its window's index), sampled as in a full run ([`output::sample_indices`]) over them all.
fn window_requests(windows: &[Window], max: u64) -> RequestTable {
    let total: u64 = windows.iter().map(|w| w.records.len() as u64).sum();
    let mut rows = Vec::with_capacity(total.min(max) as usize);
    let (mut k, mut base) = (0usize, 0u64);
    for i in output::sample_indices(total, max) {
        while i - base >= windows[k].records.len() as u64 {
            base += windows[k].records.len() as u64;
            k += 1;
        }
        let j = i - base;
        let w = &windows[k];
        rows.push(crate::tables::request_row(
            w.first_id + j,
            Some(k as u32),
            &w.records[j as usize],
        ));
    }
    RequestTable { total, max, rows }
}

/// The scenario of one window: `sampled` replicas under their share of the rate `mult × rate`, constant, for
/// warm-up + window + drain, IT only (no facility), sampled at the window's start and end.
fn window_scenario(
    loaded: &LoadedScenario,
    w: &InferenceWorkload,
    lh: &LongHorizon,
    mult: f64,
    seed: u64,
) -> LoadedScenario {
    let mut l = loaded.clone();
    let sampled = lh.sampled(w.deployment.replicas);
    let share = sampled as f64 / w.deployment.replicas as f64;
    l.facility = None;
    let sc = &mut l.scenario;
    sc.facility = None;
    sc.seed = seed;
    sc.horizon_s = lh.warmup_s + lh.window_s + lh.drain_s;
    sc.reporting.interval_s = gcd_s(lh.warmup_s, lh.window_s);
    let Workload::Inference(wi) = &mut sc.workload else {
        unreachable!()
    };
    wi.long_horizon = None;
    wi.deployment.replicas = sampled;
    if let RequestSource::Synthetic(s) = &mut wi.requests {
        let rate = s.base_rate_per_s() * mult * share;
        s.hourly_profile.clear();
        s.daily_profile.clear();
        match &mut s.arrivals {
            ArrivalProcess::Poisson { rate_per_s } | ArrivalProcess::Gamma { rate_per_s, .. } => {
                *rate_per_s = rate
            }
        }
    }
    l
}

/// The greatest common divisor of two whole-second lengths (the first may be 0), s.
fn gcd_s(a: f64, b: f64) -> f64 {
    let (mut a, mut b) = (a as u64, b as u64);
    while a != 0 {
        (a, b) = (b % a, a);
    }
    b as f64
}

/// GPU energy, GPU power and busy GPU-hours of the ledger, at one time.
#[derive(Debug, Clone, Copy, Default)]
struct Snap {
    gpu_j: f64,
    gpu_w: f64,
    busy_gpu_h: f64,
}

fn snap(world: &World) -> Snap {
    let l = world.resource::<Ledger>();
    Snap {
        gpu_j: l.gpu().energy_j(),
        gpu_w: l.gpu().power_w(),
        busy_gpu_h: l.busy_gpu_h(),
    }
}

/// Runs the window of rate multiplier `mult` (none at a zero rate: the replicas idle).
fn run_window(
    loaded: &LoadedScenario,
    w: &InferenceWorkload,
    lh: &LongHorizon,
    mult: f64,
    seed: u64,
    options: &RunOptions,
) -> Result<Window, RunError> {
    let fleet_rate = match &w.requests {
        RequestSource::Synthetic(s) => s.base_rate_per_s() * mult,
        RequestSource::AzureTrace { .. } => unreachable!(),
    };
    let idle = Window {
        summary: WindowSummary {
            arrival_rate_per_s: fleet_rate,
            ..WindowSummary::default()
        },
        records: Vec::new(),
        first_id: 0,
        inference: None,
        run_s: 0.0,
        events: 0,
    };
    if mult == 0.0 {
        return Ok(idle);
    }
    let l = window_scenario(loaded, w, lh, mult, seed);
    let (t0, t1) = (
        SimTime::from_secs(lh.warmup_s as u64),
        SimTime::from_secs((lh.warmup_s + lh.window_s) as u64),
    );
    let mut snaps = [Snap::default(); 3];
    let mut probe = |world: &World, t: SimTime| {
        if t == SimTime::ZERO {
            snaps[0] = snap(world);
        }
        if t == t0 {
            snaps[1] = snap(world);
        }
        if t == t1 {
            snaps[2] = snap(world);
        }
    };
    let ran = run_parts(&l, options, &mut |_| {}, Logs::REQUESTS, None, &mut probe)?;
    let sampled = lh.sampled(w.deployment.replicas) as f64;
    let gpu = l
        .catalog
        .gpus
        .iter()
        .find(|g| g.name == w.deployment.gpu_model)
        .expect("the run found it");
    let replica_gpus = sampled * w.deployment.tp as f64;
    // All GPUs idle at time zero; the replicas' GPUs above idle are the rest: P̄ − P_idle = Σ a·(board − idle).
    let above_w = (snaps[2].gpu_j - snaps[1].gpu_j) / lh.window_s - snaps[0].gpu_w;
    let activity = (above_w / (replica_gpus * (gpu.board_power_w - gpu.idle_power_w))).max(0.0);
    let busy_gpu_s = (snaps[2].busy_gpu_h - snaps[1].busy_gpu_h) * 3600.0;
    let (lo, hi) = (lh.warmup_s, lh.warmup_s + lh.window_s);
    let first_id = ran.requests.partition_point(|r| r.arrival_s < lo) as u64;
    let records: Vec<RequestRecord> = ran
        .requests
        .into_iter()
        .filter(|r| r.arrival_s >= lo && r.arrival_s < hi)
        .collect();
    let mut ttft: Vec<f64> = records
        .iter()
        .filter_map(|r| r.done.map(|d| d.ttft_s))
        .collect();
    let mut tpot: Vec<f64> = records
        .iter()
        .filter_map(|r| r.done.filter(|_| r.output_tokens > 1).map(|d| d.tpot_s))
        .collect();
    let (ttft, tpot) = (Stats::from_values(&mut ttft), Stats::from_values(&mut tpot));
    Ok(Window {
        summary: WindowSummary {
            arrival_rate_per_s: fleet_rate,
            hours: 0.0,
            gpu_activity_mean: activity,
            busy_fraction: busy_gpu_s / (replica_gpus * lh.window_s),
            ttft_p50_s: ttft.p50,
            ttft_p99_s: ttft.p99,
            tpot_p50_s: tpot.p50,
            tpot_p99_s: tpot.p99,
            requests: records.len() as u64,
        },
        records,
        first_id,
        inference: ran.output.summary.inference,
        run_s: l.scenario.horizon_s,
        events: ran.output.summary.events_processed,
    })
}

/// The `inference` section of the horizon from its windows; `hours[i]`: hours window `i` stands for.
fn combine(
    w: &InferenceWorkload,
    lh: &LongHorizon,
    windows: &[Window],
    hours: &[f64],
    horizon_s: f64,
) -> InferenceSummary {
    let n = w.deployment.replicas as f64;
    let sampled = lh.sampled(w.deployment.replicas) as f64;
    // Weight of one window request: the horizon requests it stands for.
    let weight = |i: usize| hours[i] * 3600.0 / lh.window_s * n / sampled;
    let mut ttft = Vec::new();
    let mut tpot = Vec::new();
    let mut e2e = Vec::new();
    let mut wait = Vec::new();
    let (mut arrived, mut completed, mut slo_met) = (0.0, 0.0, 0.0);
    let (mut prefilled, mut generated) = (0.0, 0.0);
    let (mut simulated, mut unfinished, mut events) = (0u64, 0u64, 0u64);
    // Whole-run figures of the windows, scaled to the horizon by the run's share of it.
    let (mut iterations, mut preemptions, mut recomputed) = (0.0, 0.0, 0.0);
    let (mut prefill_j, mut decode_j) = (0.0, 0.0);
    let (mut busy, mut in_system) = (0.0, 0.0);
    let mut headroom = output::ReplicaHeadroom::default();
    let mut template = None;
    let mut summaries = Vec::with_capacity(windows.len());
    for (i, win) in windows.iter().enumerate() {
        let wt = weight(i);
        simulated += win.records.len() as u64;
        events += win.events;
        for r in &win.records {
            arrived += wt;
            let Some(d) = r.done else {
                unfinished += 1;
                continue;
            };
            completed += wt;
            prefilled += wt * r.prompt_tokens as f64;
            generated += wt * r.output_tokens as f64;
            slo_met += wt * d.slo_met as u8 as f64;
            ttft.push((d.ttft_s, wt));
            e2e.push((d.e2e_s, wt));
            wait.push((d.queue_wait_s, wt));
            if r.output_tokens > 1 {
                tpot.push((d.tpot_s, wt));
            }
        }
        let share = hours[i] / (horizon_s / 3600.0);
        busy += share * win.summary.busy_fraction;
        if let Some(inf) = &win.inference {
            let scale = hours[i] * 3600.0 / win.run_s * n / sampled;
            iterations += scale * inf.replicas.iterations as f64;
            preemptions += scale * inf.requests.preemptions as f64;
            recomputed += scale * inf.requests.recomputed_tokens as f64;
            prefill_j += scale * inf.energy.prefill_gpu_j;
            decode_j += scale * inf.energy.decode_gpu_j;
            in_system += share * inf.little_law.mean_in_system * n / sampled;
            let h = &inf.replicas.headroom;
            headroom.token_budget_occupancy_mean += share * h.token_budget_occupancy_mean;
            headroom.batch_requests_occupancy_mean += share * h.batch_requests_occupancy_mean;
            headroom.kv_occupancy_mean += share * h.kv_occupancy_mean;
            headroom.token_budget_occupancy_max = headroom
                .token_budget_occupancy_max
                .max(h.token_budget_occupancy_max);
            headroom.kv_occupancy_max = headroom.kv_occupancy_max.max(h.kv_occupancy_max);
            template.get_or_insert(inf.replicas);
        }
        summaries.push(WindowSummary {
            hours: hours[i],
            ..win.summary
        });
    }
    let e2e = Stats::from_weighted(&mut e2e);
    let lambda = arrived / horizon_s;
    let rel = if in_system > 0.0 {
        (in_system - lambda * e2e.mean).abs() / in_system
    } else {
        0.0
    };
    let mut replicas = template.unwrap_or_default();
    replicas.count = w.deployment.replicas as u64;
    replicas.serving_mean = n;
    replicas.utilization_mean = busy;
    replicas.iterations = iterations.round() as u64;
    replicas.headroom = headroom;
    InferenceSummary {
        model: w.deployment.model.name.clone(),
        requests: RequestCounts {
            arrived: arrived.round() as u64,
            completed: completed.round() as u64,
            preemptions: preemptions.round() as u64,
            recomputed_tokens: recomputed.round() as u64,
            ..RequestCounts::default()
        },
        ttft_s: Stats::from_weighted(&mut ttft),
        tpot_s: Stats::from_weighted(&mut tpot),
        e2e_s: e2e,
        queue_wait_s: Stats::from_weighted(&mut wait),
        tokens: TokenCounts {
            prefilled: prefilled.round() as u64,
            generated: generated.round() as u64,
            prefill_per_s: prefilled / horizon_s,
            generated_per_s: generated / horizon_s,
        },
        slo: SloSummary {
            ttft_target_s: w.slo.ttft_s,
            tpot_target_s: w.slo.tpot_s,
            attainment: if completed > 0.0 {
                slo_met / completed
            } else {
                0.0
            },
        },
        replicas,
        energy: output::InferenceEnergy {
            prefill_gpu_j: prefill_j,
            decode_gpu_j: decode_j,
            it_per_generated_token_j: 0.0,
        },
        little_law: LittleLaw {
            mean_in_system: in_system,
            arrival_rate_per_s: lambda,
            mean_time_in_system_s: e2e.mean,
            relative_error: rel,
        },
        capping: None,
        long_horizon: Some(LongHorizonSummary {
            replicas_sampled: sampled as u64,
            warmup_s: lh.warmup_s,
            window_s: lh.window_s,
            drain_s: lh.drain_s,
            simulated_requests: simulated,
            unfinished_requests: unfinished,
            window_events: events,
            windows: summaries,
        }),
    }
}
