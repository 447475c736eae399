//! The run summary as a short aligned table for the terminal.

use std::fmt::Write as _;

use output::{
    FacilitySummary, FailuresSummary, InferenceSummary, Summary, TrainingJobSummary, TripLevel,
};

/// Lines are wrapped to this many columns (labels included) where the text allows.
const LINE_WIDTH: usize = 100;
const J_PER_MWH: f64 = 3.6e9;

/// The run summary as an aligned two-column table, one `label  value` line per item, ending with a
/// newline; costs carry no currency (see [`stdout_table_priced`]).
pub fn stdout_table(s: &Summary) -> String {
    table(s, None)
}

/// [`stdout_table`] with electricity costs labelled in the tariff's `currency` (e.g. "USD").
///
/// Shows: scenario, seed, site description, horizon (h), events processed, wall time (s), IT and
/// GPU energy (MWh), IT power peak / mean (kW); runs with a `facility` then PUE, facility energy by part,
/// facility power peak, cooling modes, water, carbon, electricity cost, power capping and breaker trips,
/// inlet temperature and throttling (human units: kWh/MWh/GWh, kW/MW, L/m³, kg/t CO2e). Job workloads add jobs
/// submitted / completed / running at end / queued at end / not arrived and job wait p50 / p99 (s); inference
/// runs requests, replicas, TTFT/TPOT, SLO attainment (and no job rows, unless jobs share the fleet). Then mean
/// GPU utilization (%) and what the run does not model. Runs with `failures` add the failures (total,
/// interrupting, by class), repairs and spares, time down and the work interruptions cost; training runs with
/// `failures` or `storage` one ETTR line per job; runs with `storage` its bandwidths, power and energy (all
/// before the GPU utilization row). Long values (the site description, not-modelled items) wrap under the
/// value column.
///
/// Hand-written rather than a table crate: a borderless two-column layout with a hanging indent is one loop,
/// and the text stays byte-for-byte what it was for the rows that did not change.
pub fn stdout_table_priced(s: &Summary, currency: &str) -> String {
    table(s, Some(currency))
}

fn table(s: &Summary, currency: Option<&str>) -> String {
    let mut rows: Vec<(&str, Vec<String>)> = vec![
        ("scenario", vec![s.scenario.clone()]),
        ("seed", vec![s.seed.to_string()]),
        ("site", vec![or_dash(&s.site.description)]),
        ("horizon", vec![format!("{:.2} h", s.horizon_s / 3600.0)]),
        ("events processed", vec![s.events_processed.to_string()]),
        ("wall time", vec![format!("{:.2} s", s.wall_time_s)]),
        (
            "IT energy",
            vec![format!("{:.3} MWh", s.energy.it_j / J_PER_MWH)],
        ),
        (
            "GPU energy",
            vec![format!("{:.3} MWh", s.energy.gpu_j / J_PER_MWH)],
        ),
        (
            "IT power peak / mean",
            vec![format!(
                "{:.1} / {:.1} kW",
                s.power.it_peak_w / 1000.0,
                s.power.it_mean_w / 1000.0
            )],
        ),
        (
            "GPU utilization",
            vec![format!(
                "{:.1} % of {} GPUs",
                s.gpus.utilization_mean * 100.0,
                s.gpus.total
            )],
        ),
        (
            "not modelled",
            if s.not_modelled.is_empty() {
                vec!["-".to_string()]
            } else {
                s.not_modelled.clone()
            },
        ),
    ];
    // Job rows for job workloads, request rows for inference runs (the GPU utilization and not-modelled rows
    // stay last).
    let tail = rows.split_off(rows.len() - 2);
    if let Some(f) = &s.facility {
        rows.extend(facility_rows(s, f, currency));
    }
    if let Some(i) = &s.inference {
        rows.extend(inference_rows(i));
    }
    if s.inference.is_none() || s.shared_fleet.is_some() {
        rows.extend(job_rows(s));
    }
    if let Some(n) = &s.network {
        let tiers: Vec<String> = n
            .tiers
            .iter()
            .map(|t| {
                format!(
                    "{} {:.1} % mean / {:.1} % max",
                    t.tier,
                    t.mean_utilization * 100.0,
                    t.max_utilization * 100.0
                )
            })
            .collect();
        rows.push((
            "network fabric",
            vec![
                format!(
                    "{} switches, {:.1} kW mean, {:.2} MWh; priced {} time(s)",
                    n.switches,
                    n.switch_power_mean_w / 1e3,
                    n.switch_energy_j / 3.6e9,
                    n.pricings
                ),
                format!("link utilisation: {}", tiers.join("; ")),
            ],
        ));
    }
    if let Some(f) = &s.shared_fleet {
        rows.push((
            "shared fleet",
            vec![format!(
                "replicas held {:.1} % of GPU-hours; {} job preemption(s) ({}), {:.1} GPU-h of work lost; {} replica \
                 wait(s)",
                f.replica_gpu_share * 100.0,
                f.jobs_preempted,
                f.make_room,
                s.jobs.lost_gpu_h,
                f.replica_waits
            )],
        ));
    }
    if let Some(t) = &s.training {
        rows.push((
            "training jobs",
            t.jobs
                .iter()
                .map(|j| {
                    format!(
                        "{}: {} GPUs, step {:.2} s ({}{:.0} % exposed comm){}, MFU {:.3}, {:.0} tokens/s, node \
                         {:.1}/{:.1} kW peak/mean, {}",
                        j.name,
                        j.gpus,
                        j.step_s,
                        // The pipeline bubble is what a plain 1F1B layout costs (docs/models.md): shown when there is one.
                        if j.bubble_s > 0.0 {
                            format!("{:.0} % bubble, ", j.bubble_s / j.step_s * 100.0)
                        } else {
                            String::new()
                        },
                        j.comm_share * 100.0,
                        match (j.run_step_s, j.run_comm_exposed_s) {
                            (Some(s), Some(c)) => format!("; as run {s:.2} s ({:.0} % comm)", c / s * 100.0),
                            _ => String::new(),
                        },
                        j.achieved_mfu,
                        j.tokens_per_s,
                        j.node_power_peak_w / 1e3,
                        j.node_power_mean_w / 1e3,
                        match (j.start_s, j.finish_s) {
                            (Some(a), Some(b)) => format!("ran {:.1} h to {:.1} h", a / 3600.0, b / 3600.0),
                            (Some(a), None) => format!("running since {:.1} h", a / 3600.0),
                            _ => "not started".to_string(),
                        }
                    )
                })
                .collect(),
        ));
    }
    if let Some(f) = &s.failures {
        rows.extend(failure_rows(s, f));
    }
    rows.extend(resilience_rows(s));
    rows.extend(tail);

    let label_width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let indent = 2 + label_width + 2;
    let value_width = LINE_WIDTH.saturating_sub(indent).max(20);

    let mut out = String::new();
    if s.dctwin_version.is_empty() {
        out.push_str("Run summary\n");
    } else {
        let _ = writeln!(out, "Run summary (dctwin {})", s.dctwin_version);
    }
    for (label, values) in &rows {
        let mut first = true;
        for value in values {
            for line in wrap(value, value_width) {
                if first {
                    let _ = writeln!(out, "  {label:<label_width$}  {line}");
                    first = false;
                } else {
                    let _ = writeln!(out, "{:indent$}{line}", "");
                }
            }
        }
    }
    out
}

fn job_rows(s: &Summary) -> Vec<(&'static str, Vec<String>)> {
    vec![
        ("jobs submitted", vec![s.jobs.submitted.to_string()]),
        ("jobs completed", vec![s.jobs.completed.to_string()]),
        (
            "jobs running at end",
            vec![s.jobs.running_at_end.to_string()],
        ),
        ("jobs queued at end", vec![s.jobs.queued_at_end.to_string()]),
        ("jobs not arrived", vec![s.jobs.not_arrived.to_string()]),
        (
            "job wait p50 / p99",
            vec![format!(
                "{:.1} / {:.1} s",
                s.jobs.wait_s.p50, s.jobs.wait_s.p99
            )],
        ),
    ]
}

/// The `training ETTR`, `checkpoints` and `storage` rows (runs with failures or a storage system).
fn resilience_rows(s: &Summary) -> Vec<(&'static str, Vec<String>)> {
    let mut rows: Vec<(&'static str, Vec<String>)> = Vec::new();
    if let Some(t) = &s.training
        && (s.failures.is_some() || s.storage.is_some())
    {
        let mut lines: Vec<String> = t.jobs.iter().map(resilience).collect();
        if let Some(e) = t.ettr
            && t.jobs.len() > 1
        {
            lines.push(format!(
                "all jobs: ETTR {e:.3}; GPU-h kept {:.1}, lost {:.1}, restarting {:.1}, checkpoint stalls {:.1}",
                t.useful_gpu_h, t.lost_gpu_h, t.restart_gpu_h, t.checkpoint_stall_gpu_h
            ));
        }
        rows.push(("training ETTR", lines));
        let checkpoints: Vec<String> = t.jobs.iter().filter_map(checkpoints).collect();
        if !checkpoints.is_empty() {
            rows.push(("checkpoints", checkpoints));
        }
    }
    if let Some(st) = &s.storage {
        rows.push((
            "storage",
            vec![
                format!(
                    "write {} / read {} GB/s, server links {} GB/s; {:.1} kW, {:.2} MWh",
                    trim(st.write_gbs),
                    trim(st.read_gbs),
                    trim(st.server_link_gbs),
                    st.power_w / 1e3,
                    st.energy_j / J_PER_MWH
                ),
                format!(
                    "{} write(s) of {:.1} s mean, {} read(s) of {:.1} s; peak {} / {} GB/s; {} at once at most",
                    st.writes,
                    st.write_mean_s,
                    st.reads,
                    st.read_mean_s,
                    trim(st.write_peak_gbs),
                    trim(st.read_peak_gbs),
                    st.most_concurrent
                ),
            ],
        ));
    }
    rows
}

/// Rows of a run with a `failures` section: the failures by class, repairs and spares, time down, and the
/// work the interruptions cost.
fn failure_rows(s: &Summary, f: &FailuresSummary) -> Vec<(&'static str, Vec<String>)> {
    let classes: Vec<String> = f
        .classes
        .iter()
        .filter(|c| c.failures > 0)
        .map(|c| format!("{} {}", c.component, c.failures))
        .collect();
    let source = if f.source == "trace" {
        " (replayed trace)"
    } else {
        ""
    };
    let r = &f.repairs;
    // Without a crew limit nothing waits for a crew.
    let crews = match r.crews {
        Some(k) => format!(
            "{k} crew(s), wait mean {:.1} h, max {:.1} h",
            r.wait_mean_h, r.wait_max_h
        ),
        None => "unlimited crews".to_string(),
    };
    let sp = &f.spares;
    let mut failures = vec![format!(
        "{}{source}, {} interrupting ({} work item(s) stopped)",
        f.failures, f.interrupting_failures, f.work_interrupted
    )];
    if !classes.is_empty() {
        failures.push(format!("by class: {}", classes.join(", ")));
    }
    // What the interruptions cost: jobs (job workloads and shared fleets), requests (inference).
    let mut interrupted = Vec::new();
    if s.inference.is_none() || s.shared_fleet.is_some() {
        interrupted.push(format!(
            "{} job interruption(s); GPU-h lost {:.1}, restarting {:.1}",
            s.jobs.interrupted, s.jobs.lost_gpu_h, s.jobs.restart_gpu_h
        ));
    }
    if let Some(i) = &s.inference {
        interrupted.push(format!(
            "{} request(s) rerouted, {} dropped",
            i.requests.rerouted, i.requests.dropped
        ));
    }
    vec![
        ("failures", failures),
        (
            "repairs / spares",
            vec![
                format!(
                    "{} repaired, {} open at end; {crews}",
                    r.completed, r.open_at_end
                ),
                format!(
                    "spares: {} at start, {} swaps, {} stockouts, fewest on hand {}",
                    sp.initial, sp.swaps, sp.stockouts, sp.min_available
                ),
            ],
        ),
        (
            "down for failures",
            vec![format!(
                "{:.1} GPU-h ({:.1} server-h); at most {} server(s) at once",
                f.gpu_down_h, f.server_down_h, f.servers_down_max
            )],
        ),
        ("work interrupted", interrupted),
    ]
}

/// One training job's effective training time ratio, interruptions, and lost and restart time.
fn resilience(j: &TrainingJobSummary) -> String {
    let ettr = match j.ettr {
        Some(e) => format!("ETTR {e:.3}"),
        None => "ETTR - (not started)".to_string(),
    };
    format!(
        "{}: {ettr}, {} interruptions, {:.1} h lost, {:.1} h restarting",
        j.name,
        j.preemptions,
        j.lost_s / 3600.0,
        j.restart_s / 3600.0
    )
}

/// One training job's checkpoints (none without a checkpoint interval).
fn checkpoints(j: &TrainingJobSummary) -> Option<String> {
    let every = j.checkpoint_every_s?;
    let size = j
        .checkpoint_bytes
        .map(|b| format!("{:.2} TB ", b / 1e12))
        .unwrap_or_default();
    let write = j
        .checkpoint_write_s
        .map(|w| format!(", {} s write", trim(w)))
        .unwrap_or_default();
    Some(format!("{}: {size}every {every:.0} s{write}", j.name))
}

/// A number with at most 3 decimals, trailing zeros dropped (`2000`, `0.5`).
fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if s == "-0" { "0".into() } else { s.to_string() }
}

fn inference_rows(i: &InferenceSummary) -> Vec<(&'static str, Vec<String>)> {
    let r = &i.requests;
    vec![
        (
            "requests",
            vec![format!(
                "{} arrived: {} done, {} in service, {} queued at end{}",
                r.arrived,
                r.completed,
                r.in_service_at_end,
                r.queued_at_end,
                if r.dropped > 0 {
                    format!(", {} dropped", r.dropped)
                } else {
                    String::new()
                }
            )],
        ),
        (
            "replicas",
            vec![format!(
                "{} × {} GPU(s) for {}, {:.1} serving on average; {} scale-up(s), {} scale-down(s)",
                i.replicas.count,
                i.replicas.gpus_per_replica,
                or_dash(&i.model),
                i.replicas.serving_mean,
                i.replicas.scale_ups,
                i.replicas.scale_downs
            )],
        ),
        (
            "request preemptions",
            vec![format!(
                "{} ({} tokens recomputed)",
                r.preemptions, r.recomputed_tokens
            )],
        ),
        (
            "TTFT p50 / p90 / p99",
            vec![format!(
                "{:.3} / {:.3} / {:.3} s",
                i.ttft_s.p50, i.ttft_s.p90, i.ttft_s.p99
            )],
        ),
        (
            "TPOT p50 / p90 / p99",
            vec![format!(
                "{:.1} / {:.1} / {:.1} ms",
                i.tpot_s.p50 * 1e3,
                i.tpot_s.p90 * 1e3,
                i.tpot_s.p99 * 1e3
            )],
        ),
        (
            "end-to-end p50 / p99",
            vec![format!("{:.2} / {:.2} s", i.e2e_s.p50, i.e2e_s.p99)],
        ),
        (
            "tokens/s prompt / generated",
            vec![format!(
                "{:.0} / {:.0}",
                i.tokens.prefill_per_s, i.tokens.generated_per_s
            )],
        ),
        (
            "SLO attainment",
            vec![format!(
                "{:.1} % (TTFT ≤ {} s, TPOT ≤ {} s)",
                i.slo.attainment * 100.0,
                i.slo.ttft_target_s,
                i.slo.tpot_target_s
            )],
        ),
        (
            "replica utilization",
            vec![format!(
                "{:.1} % of serving time busy",
                i.replicas.utilization_mean * 100.0
            )],
        ),
        (
            "IT energy / token",
            vec![format!(
                "{:.2} J per generated token",
                i.energy.it_per_generated_token_j
            )],
        ),
    ]
}

/// Rows of a run with a `facility` section: PUE, facility energy and peak, cooling, water, carbon, cost, capping
/// and breakers, inlet temperature and throttling.
fn facility_rows(
    s: &Summary,
    f: &FacilitySummary,
    currency: Option<&str>,
) -> Vec<(&'static str, Vec<String>)> {
    let e = &s.energy;
    let mut parts = Vec::new();
    if let Some(c) = &e.cooling_j {
        parts.push(format!("cooling {}", energy(c.total)));
    }
    if let Some(l) = &e.power_chain_loss_j {
        parts.push(format!("power-chain losses {}", energy(l.total)));
    }
    if let Some(m) = e.misc_j {
        parts.push(format!("other {}", energy(m)));
    }
    let facility_energy = match e.facility_j {
        Some(j) if parts.is_empty() => energy(j),
        Some(j) => format!(
            "{} (IT {}, {})",
            energy(j),
            energy(e.it_j),
            parts.join(", ")
        ),
        None => "-".to_string(),
    };
    let h = &f.cooling.hours_by_mode;
    let modes: Vec<String> = [
        ("mechanical", h.mechanical),
        ("partial free", h.partial),
        ("free", h.free),
        ("air-side", h.air_side),
    ]
    .iter()
    .filter(|(_, v)| *v > 0.0)
    .map(|(m, v)| format!("{m} {v:.1} h"))
    .collect();
    let w = &f.water;
    let c = &f.carbon;
    let cost = &f.cost;
    let cur = currency.map(|c| format!(" {c}")).unwrap_or_default();
    let mut rows: Vec<(&'static str, Vec<String>)> = vec![
        ("PUE", vec![format!("{:.3}", f.pue)]),
        ("facility energy", vec![facility_energy]),
        ("facility power peak", vec![power(f.facility_peak_w)]),
        (
            "cooling modes",
            vec![if modes.is_empty() {
                "-".to_string()
            } else {
                modes.join(", ")
            }],
        ),
        (
            "water",
            vec![format!(
                "{} (evaporation {}, blowdown {}); WUE {:.2} L/kWh",
                water(w.site_l),
                water(w.evaporation_l),
                water(w.blowdown_l),
                f.wue_l_per_kwh
            )],
        ),
        (
            "carbon",
            vec![format!(
                "{} operational (grid mean {:.0} g/kWh) + {} embodied",
                carbon(c.operational_kg),
                c.intensity_mean_g_per_kwh,
                carbon(c.embodied_kg)
            )],
        ),
        (
            "electricity cost",
            vec![format!(
                "{}{cur} (energy {} + demand charge {})",
                money(cost.total),
                money(cost.energy),
                money(cost.demand)
            )],
        ),
    ];
    if let Some(cap) = &f.capping {
        let mut v = Vec::new();
        if let Some(b) = cap.feed_budget_w {
            v.push(format!(
                "feed budget {}, over it {:.2} h",
                power(b),
                cap.time_over_budget_s / 3600.0
            ));
        }
        if let Some(ctl) = &cap.controller {
            v.push(format!(
                "controller: {} decision(s), {} capped, {:.1} GPU-h of throughput lost",
                ctl.decisions,
                energy(ctl.energy_capped_j),
                ctl.throughput_lost_gpu_s / 3600.0
            ));
        }
        if !v.is_empty() {
            rows.push(("power capping", v));
        }
    }
    // Breaker trips: rack and row breakers (cluster runs with ratings) and the feed's.
    let feed_trips = f.capping.as_ref().map(|c| c.trips).unwrap_or(0);
    let trips = match &f.breakers {
        Some(b) if !b.trips.is_empty() => {
            let count = |p: fn(&TripLevel) -> bool| b.trips.iter().filter(|t| p(&t.level)).count();
            let racks = count(|l| matches!(l, TripLevel::Rack(_)));
            let rows_ = count(|l| matches!(l, TripLevel::Row(_)));
            let feed = count(|l| matches!(l, TripLevel::Feed));
            let first = b
                .trips
                .first()
                .map(|t| format!(", first at {:.2} h", t.time_s / 3600.0))
                .unwrap_or_default();
            format!(
                "{} (rack {racks}, row {rows_}, feed {feed}){first}; {} server(s) / {} GPU(s) down at end, {} job(s) \
                 interrupted",
                b.trips.len(),
                b.servers_down,
                b.gpus_down,
                b.jobs_interrupted
            )
        }
        _ => match f.capping.as_ref().and_then(|c| c.first_trip_s) {
            Some(t) => format!("{feed_trips} (feed, at {:.2} h)", t / 3600.0),
            None if feed_trips == 0 => "none".to_string(),
            None => feed_trips.to_string(),
        },
    };
    rows.push(("breaker trips", vec![trips]));
    let t = &f.thermal;
    rows.push((
        "inlet temperature",
        vec![format!(
            "max {:.1} °C (limit {:.1} °C): {:.2} h above the limit, {:.2} h above recommended; {} cooling \
             failure(s)",
            t.max_inlet_c,
            t.limit_c,
            t.above_limit_s / 3600.0,
            t.above_recommended_s / 3600.0,
            t.cooling_failures
        )],
    ));
    rows.push((
        "throttling",
        vec![if t.throttled_gpu_s > 0.0 || t.throttle_episodes > 0 {
            format!(
                "{} episode(s), {:.1} GPU-h throttled",
                t.throttle_episodes,
                t.throttled_gpu_s / 3600.0
            )
        } else {
            "none".to_string()
        }],
    ));
    rows
}

/// Energy in J as kWh, MWh or GWh.
fn energy(j: f64) -> String {
    let kwh = j / 3.6e6;
    if kwh.abs() < 1e3 {
        format!("{kwh:.1} kWh")
    } else if kwh.abs() < 1e6 {
        format!("{:.3} MWh", kwh / 1e3)
    } else {
        format!("{:.3} GWh", kwh / 1e6)
    }
}

/// Power in W as kW or MW.
fn power(w: f64) -> String {
    if w.abs() < 1e6 {
        format!("{:.1} kW", w / 1e3)
    } else {
        format!("{:.2} MW", w / 1e6)
    }
}

/// Water in L as L or m³.
fn water(l: f64) -> String {
    if l.abs() < 1e3 {
        format!("{l:.0} L")
    } else {
        format!("{:.1} m³", l / 1e3)
    }
}

/// Carbon in kg as kg or t CO2e.
fn carbon(kg: f64) -> String {
    if kg.abs() < 1e3 {
        format!("{kg:.1} kg CO2e")
    } else {
        format!("{:.2} t CO2e", kg / 1e3)
    }
}

/// An amount of money rounded to whole units with thousands separators (`28,752`); below 100, two decimals.
fn money(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v.abs() < 100.0 {
        return format!("{v:.2}");
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0.0 { format!("-{out}") } else { out }
}

fn or_dash(s: &str) -> String {
    if s.trim().is_empty() {
        "-".to_string()
    } else {
        s.to_string()
    }
}

/// Greedy word wrap at `width` characters; a word longer than `width` gets a line of its own.
/// Always returns at least one line.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in text.split_whitespace() {
        let wlen = word.chars().count();
        if len > 0 && len + 1 + wlen > width {
            lines.push(std::mem::take(&mut line));
            len = 0;
        }
        if len > 0 {
            line.push(' ');
            len += 1;
        }
        line.push_str(word);
        len += wlen;
    }
    if len > 0 || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_human() {
        assert_eq!(energy(3.6e9), "1.000 MWh");
        assert_eq!(energy(3.6e6 * 12.5), "12.5 kWh");
        assert_eq!(energy(3.6e12 * 2.0), "2.000 GWh");
        assert_eq!(power(2_234_969.0), "2.23 MW");
        assert_eq!(power(31_400.0), "31.4 kW");
        assert_eq!(water(139_423.4), "139.4 m³");
        assert_eq!(water(12.0), "12 L");
        assert_eq!(carbon(30_891.3), "30.89 t CO2e");
        assert_eq!(carbon(655.5), "655.5 kg CO2e");
        assert_eq!(money(28_752.03), "28,752");
        assert_eq!(money(1_234_567.0), "1,234,567");
        assert_eq!(money(999.6), "1,000");
        assert_eq!(money(12.345), "12.35");
        assert_eq!(money(-2500.0), "-2,500");
    }

    #[test]
    fn wrap_breaks_at_words() {
        assert_eq!(wrap("", 10), vec![""]);
        assert_eq!(wrap("a b c", 10), vec!["a b c"]);
        assert_eq!(wrap("aaaa bbbb cccc", 9), vec!["aaaa bbbb", "cccc"]);
        assert_eq!(
            wrap("x averyveryverylongword y", 5),
            vec!["x", "averyveryverylongword", "y"]
        );
    }
}
