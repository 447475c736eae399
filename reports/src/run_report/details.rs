//! The page's tables: the month-by-month table of long runs and the detail sections by importance.

use output::{Sample, Summary};

use crate::html::section_data;
use crate::human::{
    celsius, co2_kg, count, duration_s, energy_j, fixed, money, percent, power_w, sig, water_l,
};
use crate::monthly::{MONTHLY_FROM_S, monthly};
use crate::template::{SectionData, TableData};

use super::context::{RunContext, has_jobs};

/// The monthly table (runs of at least [`MONTHLY_FROM_S`]).
pub(super) fn monthly_table(
    s: &Summary,
    samples: &[Sample],
    ctx: &RunContext<'_>,
) -> Option<TableData> {
    if s.horizon_s < MONTHLY_FROM_S {
        return None;
    }
    let price = ctx.energy_price.as_deref();
    let months = monthly(
        samples,
        ctx.calendar.as_ref(),
        price.filter(|_| s.facility.is_some()),
    );
    if months.is_empty() {
        return None;
    }
    let facility = months.iter().all(|m| m.facility_j.is_some());
    let carbon = months.iter().any(|m| m.co2_kg.is_some());
    let cost = months.iter().any(|m| m.energy_cost.is_some());
    let mut header = vec!["month".to_string()];
    if facility {
        header.push("facility energy".into());
    }
    header.push("IT energy".into());
    if facility {
        header.push("PUE".into());
    }
    header.push(
        if facility {
            "peak facility power"
        } else {
            "peak IT power"
        }
        .into(),
    );
    if carbon {
        header.push("carbon".into());
    }
    if cost {
        header.push(format!("energy charge ({})", ctx.currency));
    }
    if facility {
        header.push("mean outdoor".into());
    }
    let row = |label: String,
               fac: Option<f64>,
               it: f64,
               peak: f64,
               co2: Option<f64>,
               c: Option<f64>,
               dry: Option<f64>| {
        let mut r = vec![label];
        if facility {
            r.push(fac.map_or("–".into(), energy_j));
        }
        r.push(energy_j(it));
        if facility {
            r.push(
                fac.filter(|_| it > 0.0)
                    .map_or("–".into(), |f| fixed(f / it, 3)),
            );
        }
        r.push(power_w(peak));
        if carbon {
            r.push(co2.map_or("–".into(), co2_kg));
        }
        if cost {
            r.push(c.map_or("–".into(), |x| money(x, &ctx.currency)));
        }
        if facility {
            r.push(dry.map_or("–".into(), celsius));
        }
        r
    };
    let rows = months
        .iter()
        .map(|m| {
            row(
                m.label.clone(),
                m.facility_j,
                m.it_j,
                m.peak_w,
                m.co2_kg,
                m.energy_cost,
                m.dry_bulb_mean_c,
            )
        })
        .collect();
    let sum = |f: fn(&crate::monthly::Month) -> Option<f64>| -> Option<f64> {
        months.iter().map(f).sum::<Option<f64>>()
    };
    let footer = row(
        "whole run".into(),
        sum(|m| m.facility_j),
        months.iter().map(|m| m.it_j).sum(),
        months.iter().map(|m| m.peak_w).fold(0.0, f64::max),
        sum(|m| m.co2_kg),
        sum(|m| m.energy_cost),
        None,
    );
    let mut note = String::from(
        "Energy from the exact cumulative energies of the samples; carbon and energy charge weight each sample \
         interval's facility energy by the grid intensity and the price at its start.",
    );
    if let Some(f) = &s.facility {
        note.push_str(&format!(
            " Demand charges ({}) are billed per billing period and not split by month; water ({} for the \
             run) is not in timeseries.csv, so it is not split by month.",
            money(f.cost.demand, &ctx.currency),
            water_l(f.water.site_l)
        ));
    }
    if ctx.calendar.is_none() {
        note.push_str(" The run has no weather calendar: periods are 30 days from the start.");
    }
    Some(TableData {
        caption: "Month by month".into(),
        note: Some(note),
        header,
        rows,
        footer: Some(footer),
        class: None,
    })
}

/// A two-column table of figures.
pub(super) fn figures_table(caption: &str, rows: Vec<(&str, String)>) -> TableData {
    TableData {
        caption: caption.into(),
        header: vec!["figure".into(), "value".into()],
        rows: rows
            .into_iter()
            .map(|(k, v)| {
                // Sub-items are written with two leading spaces; HTML would collapse them.
                let label = match k.strip_prefix("  ") {
                    Some(rest) => format!("\u{2003}{rest}"),
                    None => k.to_string(),
                };
                vec![label, v]
            })
            .collect(),
        class: Some("figures"),
        ..TableData::default()
    }
}

/// The detail sections, most important first; those that do not apply are left out.
pub(super) fn detail_sections(s: &Summary, ctx: &RunContext<'_>) -> Vec<SectionData> {
    let cur = ctx.currency.as_str();
    let mut out = Vec::new();
    // Energy and power.
    let e = &s.energy;
    let mut rows = Vec::new();
    if let Some(f) = e.facility_j {
        rows.push(("facility energy (utility input)", energy_j(f)));
    }
    rows.push(("IT energy", energy_j(e.it_j)));
    rows.push(("  of which GPUs", energy_j(e.gpu_j)));
    rows.push((
        "  of which server overhead (hosts, fans, PSU losses)",
        energy_j(e.server_overhead_j),
    ));
    if let Some(c) = &e.cooling_j {
        rows.push(("cooling energy", energy_j(c.total)));
        for (k, v) in [
            ("  chillers", c.chiller),
            ("  cooling-tower fans", c.tower_fans),
            ("  pumps", c.pumps),
            ("  air-handler fans", c.crah_fans),
            ("  dry coolers", c.dry_coolers),
        ] {
            if v > 0.0 {
                rows.push((k, energy_j(v)));
            }
        }
    }
    if let Some(l) = &e.power_chain_loss_j {
        rows.push((
            "power-chain losses (UPS, PDU, transformer)",
            energy_j(l.total),
        ));
    }
    if let Some(m) = e.misc_j {
        rows.push(("other facility loads", energy_j(m)));
    }
    if let Some(f) = &s.facility {
        rows.push(("peak facility power", power_w(f.facility_peak_w)));
    }
    rows.push(("peak IT power", power_w(s.power.it_peak_w)));
    rows.push(("mean IT power", power_w(s.power.it_mean_w)));
    rows.push(("lowest IT power", power_w(s.power.it_min_w)));
    out.push(SectionData {
        heading: "Energy and power".into(),
        tables: vec![figures_table("Energy by consumer", rows)],
        ..SectionData::default()
    });
    // Facility.
    if let Some(f) = &s.facility {
        let mut rows = vec![
            ("PUE (facility ÷ IT energy)", fixed(f.pue, 3)),
            (
                "WUE (site water ÷ IT energy)",
                format!("{} L/kWh", fixed(f.wue_l_per_kwh, 3)),
            ),
            (
                "CUE (operational carbon ÷ IT energy)",
                format!("{} kg CO2e/kWh", fixed(f.cue_kg_per_kwh, 3)),
            ),
            ("site water", water_l(f.water.site_l)),
            ("  evaporation", water_l(f.water.evaporation_l)),
            ("  blowdown", water_l(f.water.blowdown_l)),
            ("operational carbon", co2_kg(f.carbon.operational_kg)),
            (
                "embodied carbon (share of the run)",
                co2_kg(f.carbon.embodied_kg),
            ),
            (
                "grid carbon intensity, mean",
                format!("{} g CO2e/kWh", sig(f.carbon.intensity_mean_g_per_kwh, 3)),
            ),
            ("electricity cost", money(f.cost.total, cur)),
            ("  energy charge", money(f.cost.energy, cur)),
            ("  demand charge", money(f.cost.demand, cur)),
        ];
        let h = &f.cooling.hours_by_mode;
        for (k, v) in [
            ("hours on mechanical cooling", h.mechanical),
            ("hours on partial economizer", h.partial),
            ("hours on free cooling", h.free),
            ("hours on air-side economizer", h.air_side),
        ] {
            if v > 0.0 {
                rows.push((k, format!("{} h", sig(v, 4))));
            }
        }
        rows.push(("weather station", f.weather.station.clone()));
        rows.push((
            "highest outdoor wet bulb",
            celsius(f.weather.wet_bulb_max_c),
        ));
        let t = &f.thermal;
        let mut thermal = vec![
            ("highest rack inlet", celsius(t.max_inlet_c)),
            ("inlet limit (GPUs throttle above)", celsius(t.limit_c)),
            ("time above the limit", duration_s(t.above_limit_s)),
            (
                "time above the recommended range",
                duration_s(t.above_recommended_s),
            ),
            (
                "throttled GPU time",
                format!("{} GPU-h", sig(t.throttled_gpu_s / 3600.0, 3)),
            ),
            ("throttle episodes", count(t.throttle_episodes)),
            ("cooling failures", count(t.cooling_failures)),
        ];
        if let Some(c) = &f.capping {
            if let Some(b) = c.feed_budget_w {
                thermal.push(("feed power budget", power_w(b)));
            }
            thermal.push((
                "time over the feed budget",
                duration_s(c.time_over_budget_s),
            ));
            thermal.push(("feed breaker trips", count(c.trips)));
            if let Some(k) = &c.controller {
                thermal.push(("capping decisions", count(k.decisions)));
                thermal.push(("energy capped", energy_j(k.energy_capped_j)));
                thermal.push((
                    "throughput lost to caps",
                    format!("{} GPU-h", sig(k.throughput_lost_gpu_s / 3600.0, 3)),
                ));
            }
        }
        if let Some(b) = &f.breakers {
            thermal.push(("breaker trips", count(b.trips.len() as u64)));
            thermal.push(("servers down after trips", count(b.servers_down)));
            thermal.push(("jobs interrupted by trips", count(b.jobs_interrupted)));
        }
        out.push(SectionData {
            heading: "Facility".into(),
            tables: vec![
                figures_table("Efficiency, water, carbon and cost", rows),
                figures_table("Temperature, power limits and breakers", thermal),
            ],
            ..SectionData::default()
        });
    }
    // Serving.
    if let Some(i) = &s.inference {
        let r = &i.requests;
        let mut rows = vec![
            ("model", i.model.clone()),
            (
                "replicas",
                format!(
                    "{} × {} GPUs",
                    count(i.replicas.count),
                    i.replicas.gpus_per_replica
                ),
            ),
            ("requests arrived", count(r.arrived)),
            ("requests served", count(r.completed)),
            (
                "in service / queued at the end",
                format!(
                    "{} / {}",
                    count(r.in_service_at_end),
                    count(r.queued_at_end)
                ),
            ),
            ("tokens generated", count(i.tokens.generated)),
            (
                "generation rate",
                format!("{} tokens/s", sig(i.tokens.generated_per_s, 3)),
            ),
            (
                "SLO targets (TTFT, TPOT)",
                format!(
                    "{}, {}",
                    duration_s(i.slo.ttft_target_s),
                    duration_s(i.slo.tpot_target_s)
                ),
            ),
            ("SLO attainment", percent(i.slo.attainment)),
            (
                "IT energy per generated token",
                format!("{} J", sig(i.energy.it_per_generated_token_j, 3)),
            ),
            ("replica utilisation", percent(i.replicas.utilization_mean)),
            (
                "KV-cache occupancy, mean / max",
                format!(
                    "{} / {}",
                    percent(i.replicas.headroom.kv_occupancy_mean),
                    percent(i.replicas.headroom.kv_occupancy_max)
                ),
            ),
        ];
        if r.preemptions > 0 {
            rows.push(("preemptions (KV cache full)", count(r.preemptions)));
        }
        if r.rerouted > 0 || r.dropped > 0 {
            rows.push((
                "rerouted / dropped (failures)",
                format!("{} / {}", count(r.rerouted), count(r.dropped)),
            ));
        }
        let lat = |name: &str, st: &output::Stats| {
            vec![
                name.to_string(),
                duration_s(st.p50),
                duration_s(st.p90),
                duration_s(st.p99),
                duration_s(st.max),
                duration_s(st.mean),
            ]
        };
        let latency = TableData {
            caption: "Latency".into(),
            header: ["", "p50", "p90", "p99", "max", "mean"]
                .map(String::from)
                .to_vec(),
            rows: vec![
                lat("time to first token", &i.ttft_s),
                lat("time per output token", &i.tpot_s),
                lat("end to end", &i.e2e_s),
                lat("queue wait", &i.queue_wait_s),
            ],
            ..TableData::default()
        };
        let mut paragraphs = Vec::new();
        if let Some(lh) = &i.long_horizon {
            paragraphs.push(format!(
                "Long-horizon mode: {} replica(s) simulated request by request in {}-minute windows; {} requests \
                 simulated, the rest of the run extrapolated from the windows.",
                count(lh.replicas_sampled),
                sig(lh.window_s / 60.0, 3),
                count(lh.simulated_requests)
            ));
        }
        out.push(SectionData {
            heading: "Serving".into(),
            paragraphs,
            tables: vec![figures_table("Requests and tokens", rows), latency],
            ..SectionData::default()
        });
    }
    // Jobs (not on a pure inference run).
    if has_jobs(s) {
        let j = &s.jobs;
        let mut rows = vec![
            ("jobs submitted", count(j.submitted)),
            ("jobs completed", count(j.completed)),
            (
                "running / queued at the end",
                format!("{} / {}", count(j.running_at_end), count(j.queued_at_end)),
            ),
            ("wait in queue, mean", duration_s(j.wait_s.mean)),
            (
                "wait in queue, p50 / p99",
                format!(
                    "{} / {}",
                    duration_s(j.wait_s.p50),
                    duration_s(j.wait_s.p99)
                ),
            ),
            ("turnaround, mean", duration_s(j.turnaround_s.mean)),
            ("turnaround, p99", duration_s(j.turnaround_s.p99)),
        ];
        if j.backfilled > 0 {
            rows.push(("jobs backfilled", count(j.backfilled)));
        }
        if j.preemptions > 0 {
            rows.push(("preemptions", count(j.preemptions)));
            rows.push((
                "GPU time lost to preemptions",
                format!("{} GPU-h", sig(j.lost_gpu_h, 3)),
            ));
        }
        rows.push(("GPU utilisation, mean", percent(s.gpus.utilization_mean)));
        rows.push((
            "busy GPU time",
            format!(
                "{} of {} GPU-h",
                sig(s.gpu_hours.busy, 4),
                sig(s.gpu_hours.available, 4)
            ),
        ));
        out.push(SectionData {
            heading: "Jobs".into(),
            tables: vec![figures_table("Throughput and waiting", rows)],
            ..SectionData::default()
        });
    }
    // Training.
    if let Some(t) = &s.training {
        let rows = t
            .jobs
            .iter()
            .map(|j| {
                vec![
                    j.name.clone(),
                    format!("{} × {}", j.gpus, j.gpu_model),
                    percent(j.achieved_mfu),
                    sig(j.tokens_per_s, 3),
                    duration_s(j.step_s),
                    j.finish_s.map_or("not finished".into(), duration_s),
                    energy_j(j.gpu_energy_j),
                    j.ettr.map_or("–".into(), percent),
                ]
            })
            .collect();
        out.push(SectionData {
            heading: "Training".into(),
            tables: vec![TableData {
                caption: "Training jobs".into(),
                header: [
                    "job",
                    "GPUs",
                    "MFU",
                    "tokens/s",
                    "step",
                    "finished at",
                    "GPU energy",
                    "ETTR",
                ]
                .map(String::from)
                .to_vec(),
                rows,
                ..TableData::default()
            }],
            ..SectionData::default()
        });
    }
    // Failures and storage (their own sections, as before).
    if let Some(f) = &s.failures {
        out.push(section_data(&crate::sections::failures_section(s, f)));
    }
    if let Some(st) = &s.storage {
        out.push(section_data(&crate::sections::storage_section(s, st)));
    }
    if let Some(n) = &s.network {
        let tiers = n
            .tiers
            .iter()
            .map(|t| {
                vec![
                    t.tier.clone(),
                    count(t.links),
                    percent(t.mean_utilization),
                    percent(t.max_utilization),
                ]
            })
            .collect();
        out.push(SectionData {
            heading: "Network".into(),
            paragraphs: vec![format!(
                "{} switches drawing {} on average ({} over the run); {} flow pricings.",
                count(n.switches),
                power_w(n.switch_power_mean_w),
                energy_j(n.switch_energy_j),
                count(n.pricings)
            )],
            tables: vec![TableData {
                caption: "Link utilisation by tier".into(),
                header: ["tier", "links", "mean", "max"].map(String::from).to_vec(),
                rows: tiers,
                ..TableData::default()
            }],
            ..SectionData::default()
        });
    }
    if let Some(sf) = &s.shared_fleet {
        out.push(SectionData {
            heading: "Shared fleet".into(),
            tables: vec![figures_table(
                "Serving and batch on one fleet",
                vec![
                    ("making room by", sf.make_room.clone()),
                    (
                        "replica GPU time",
                        format!("{} GPU-h", sig(sf.replica_gpu_h, 4)),
                    ),
                    ("replicas' share of GPU time", percent(sf.replica_gpu_share)),
                    ("jobs preempted for replicas", count(sf.jobs_preempted)),
                    ("replica waits", count(sf.replica_waits)),
                ],
            )],
            ..SectionData::default()
        });
    }
    out
}
