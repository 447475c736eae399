//! The `report.html` of a run, for a reader who did not run it: the headline figures in human units, the
//! site, the timeline on a calendar axis with its events (breaker trips, inlet over its limit, failures),
//! serving latency, the facility, a monthly table for long runs, then the details by importance (sections
//! that do not apply are left out) and every figure by its machine name in a collapsed appendix.
//!
//! What the summary and time series do not carry — the tariff's currency, the calendar date of run time 0,
//! the racks of the site, the energy price — comes in a [`RunContext`] built from the scenario
//! (`study::report_context`); [`RunContext::default`] gives a page without them (no dates, no site diagram,
//! the default currency).

use std::io;

use output::{FacilitySample, RunOutput, Sample, Summary, TripLevel};
use serde_json::Value;

use crate::calendar::{Calendar, TimeAxis, time_axis};
use crate::facility_chart::hourly_pue_points;
use crate::figures::{is_integer, key_figures, lookup, number, show};
use crate::html::section_data;
use crate::human::{
    celsius, co2_kg, count, duration_s, energy_j, fixed, money, percent, power_w, sig, water_l,
};
use crate::monthly::{MONTHLY_FROM_S, monthly};
use crate::svg::{
    Chart, Key, Line, Marker, PALETTE, RackCell, Span, Style, bucket_name, log_seconds_chart,
    plural, resample, site_diagram, time_chart, xy_chart,
};
use crate::template::{Appendix, Card, FigureData, PageData, SectionData, TableData, render};

/// The currency shown when the scenario names none (the tariff defaults are US figures).
pub const DEFAULT_CURRENCY: &str = "USD";

/// At most this many points per line before a chart shows bucket means with a min–max envelope.
const MAX_LINE_POINTS: usize = 1500;

/// A per-rack figure for the site diagram: its name ("peak power") and how its SI value reads.
pub type RackValue = (&'static str, fn(f64) -> String);

/// One layer of the stacked facility power: its name and its power in a sample, W.
type Layer = (&'static str, fn(&FacilitySample) -> f64);

/// What a run's page needs beyond its outputs.
pub struct RunContext<'a> {
    /// The tariff's currency (`facility.tariff.currency`).
    pub currency: String,
    /// The calendar instant of run time 0 (from the weather), if any.
    pub calendar: Option<Calendar>,
    /// The racks of the site (empty: no site diagram). Their `value` is a per-rack figure to shade by.
    pub racks: Vec<RackCell>,
    /// What the racks' values are ("peak power"), formatted from SI by `rack_value_format`. The outputs
    /// carry no per-rack figure yet (the hook for `racks.csv`): `None` shades the racks by GPUs installed.
    pub rack_value: Option<RackValue>,
    /// The energy price per kWh at a run second (the tariff), for the monthly table's energy charge.
    pub energy_price: Option<Box<dyn Fn(f64) -> f64 + 'a>>,
}

impl Default for RunContext<'_> {
    fn default() -> Self {
        RunContext {
            currency: DEFAULT_CURRENCY.to_string(),
            calendar: None,
            racks: Vec::new(),
            rack_value: None,
            energy_price: None,
        }
    }
}

/// Unit for a power axis whose largest value is `peak_w`: (divisor, name).
fn power_unit(peak_w: f64) -> (f64, &'static str) {
    if peak_w >= 2e6 {
        (1e6, "MW")
    } else if peak_w >= 2e3 {
        (1e3, "kW")
    } else {
        (1.0, "W")
    }
}

/// The simulated period: `"1 Jan – 31 Dec · 365 days"` with a calendar, the length alone without.
fn period(cal: Option<&Calendar>, horizon_s: f64) -> String {
    let length = if horizon_s >= 2.0 * 86_400.0 {
        format!("{} days", sig(horizon_s / 86_400.0, 3))
    } else {
        format!("{} hours", sig(horizon_s / 3600.0, 3))
    };
    match cal {
        Some(c) if horizon_s >= 86_400.0 => format!(
            "{} – {} · {length}",
            c.date_label(0.0),
            c.date_label((horizon_s - 1.0).max(0.0))
        ),
        Some(c) => format!("{} · {length}", c.date_label(0.0)),
        None => length,
    }
}

/// Whether the run had a grid carbon series (operational carbon is then a figure).
fn has_carbon(samples: &[Sample]) -> bool {
    samples.iter().any(|s| {
        s.facility
            .as_ref()
            .is_some_and(|f| f.carbon_intensity_g_per_kwh.is_some())
    })
}

/// Whether the run ran batch jobs (a pure inference run has none).
fn has_jobs(s: &Summary) -> bool {
    s.jobs.submitted > 0 || s.inference.is_none()
}

/// The headline cards, most important first.
fn headline(s: &Summary, samples: &[Sample], currency: &str) -> Vec<Card> {
    let mut cards = Vec::new();
    match (&s.facility, s.energy.facility_j) {
        (Some(f), Some(fac_j)) => {
            cards.push(Card::new(
                "Facility energy",
                energy_j(fac_j),
                Some(format!("IT {}", energy_j(s.energy.it_j))),
            ));
            cards.push(Card::new(
                "Peak facility power",
                power_w(f.facility_peak_w),
                Some(format!("IT peak {}", power_w(s.power.it_peak_w))),
            ));
            cards.push(Card {
                tone: Some("good"),
                ..Card::new(
                    "PUE",
                    fixed(f.pue, 3),
                    Some(format!("WUE {} L/kWh", fixed(f.wue_l_per_kwh, 2))),
                )
            });
            cards.push(Card::new(
                "Water",
                water_l(f.water.site_l),
                Some(format!("evaporation {}", water_l(f.water.evaporation_l))),
            ));
            if has_carbon(samples) {
                cards.push(Card::new(
                    "Carbon (operational)",
                    co2_kg(f.carbon.operational_kg),
                    Some(format!(
                        "grid mean {} g/kWh; embodied {}",
                        sig(f.carbon.intensity_mean_g_per_kwh, 3),
                        co2_kg(f.carbon.embodied_kg)
                    )),
                ));
            } else {
                cards.push(Card::new(
                    "Carbon (embodied share)",
                    co2_kg(f.carbon.embodied_kg),
                    Some("no grid carbon series: operational not computed".into()),
                ));
            }
            cards.push(Card::new(
                "Electricity cost",
                money(f.cost.total, currency),
                Some(format!(
                    "energy {} + demand {}",
                    money(f.cost.energy, currency),
                    money(f.cost.demand, currency)
                )),
            ));
        }
        _ => {
            cards.push(Card::new(
                "IT energy",
                energy_j(s.energy.it_j),
                Some("facility overhead not modelled".into()),
            ));
            cards.push(Card::new(
                "Peak IT power",
                power_w(s.power.it_peak_w),
                Some(format!("mean {}", power_w(s.power.it_mean_w))),
            ));
        }
    }
    cards.push(Card::new(
        "GPU utilisation",
        percent(s.gpus.utilization_mean),
        Some(format!("mean over {} GPUs", count(s.gpus.total))),
    ));
    if has_jobs(s) {
        cards.push(Card::new(
            "Jobs completed",
            count(s.jobs.completed),
            Some(format!(
                "of {} submitted; wait p99 {}",
                count(s.jobs.submitted),
                duration_s(s.jobs.wait_s.p99)
            )),
        ));
    }
    if let Some(t) = &s.training
        && let Some(e) = t.ettr
    {
        cards.push(Card::new(
            "Effective training time",
            percent(e),
            Some(format!("{} jobs", t.jobs.len())),
        ));
    }
    if let Some(i) = &s.inference {
        cards.push(Card::new(
            "Requests served",
            count(i.requests.completed),
            Some(format!(
                "of {} arrived; {} tokens/s",
                count(i.requests.arrived),
                sig(i.tokens.generated_per_s, 3)
            )),
        ));
        cards.push(Card::new(
            "TTFT p99",
            duration_s(i.ttft_s.p99),
            Some(format!(
                "p50 {}; target {}",
                duration_s(i.ttft_s.p50),
                duration_s(i.slo.ttft_target_s)
            )),
        ));
        cards.push(Card::new(
            "TPOT p99",
            duration_s(i.tpot_s.p99),
            Some(format!(
                "p50 {}; target {}",
                duration_s(i.tpot_s.p50),
                duration_s(i.slo.tpot_target_s)
            )),
        ));
        cards.push(Card {
            tone: Some(if i.slo.attainment >= 0.99 {
                "good"
            } else {
                "warn"
            }),
            ..Card::new(
                "SLO attainment",
                percent(i.slo.attainment),
                Some("requests within both targets".into()),
            )
        });
    }
    if let Some(b) = s.facility.as_ref().and_then(|f| f.breakers.as_ref())
        && !b.trips.is_empty()
    {
        cards.push(Card {
            tone: Some("warn"),
            ..Card::new(
                "Breaker trips",
                count(b.trips.len() as u64),
                Some(format!("{} servers down at the end", count(b.servers_down))),
            )
        });
    }
    if let Some(f) = &s.failures {
        cards.push(Card::new(
            "Hardware failures",
            count(f.failures),
            Some(format!(
                "{} interrupted running work",
                count(f.interrupting_failures)
            )),
        ));
    }
    cards
}

/// The events of the run on its timeline: breaker trips and the feed's first trip (labelled lines), spans
/// with the rack inlet above its limit, and failures (ticks on the time axis) — with their legend keys.
fn events(s: &Summary, samples: &[Sample]) -> (Vec<Marker>, Vec<Span>, Vec<Key>) {
    let (mut markers, mut spans, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    let red = "#c0392b";
    if let Some(f) = &s.facility {
        let mut trips = 0;
        if let Some(b) = &f.breakers {
            for t in &b.trips {
                let what = match t.level {
                    TripLevel::Rack(k) => format!("rack {k} trip"),
                    TripLevel::Row(k) => format!("row {k} trip"),
                    TripLevel::Feed => "feed trip".into(),
                };
                markers.push(Marker {
                    t: t.time_s,
                    color: red,
                    label: Some(what),
                });
                trips += 1;
            }
        }
        if trips == 0
            && let Some(t) = f.capping.as_ref().and_then(|c| c.first_trip_s)
        {
            markers.push(Marker {
                t,
                color: red,
                label: Some("feed trip".into()),
            });
            trips += 1;
        }
        if trips > 0 {
            keys.push(Key {
                label: "breaker trip".into(),
                color: red,
                shaded: false,
            });
        }
        let limit = f.thermal.limit_c;
        if limit.is_finite() {
            let mut open: Option<f64> = None;
            for w in samples.windows(2) {
                let hot = w[0].facility.as_ref().is_some_and(|x| x.inlet_c > limit);
                match (hot, open) {
                    (true, None) => open = Some(w[0].time_s),
                    (false, Some(t0)) => {
                        spans.push(Span {
                            t0,
                            t1: w[0].time_s,
                            color: "#e67e22",
                        });
                        open = None;
                    }
                    _ => {}
                }
            }
            if let (Some(t0), Some(last)) = (open, samples.last()) {
                spans.push(Span {
                    t0,
                    t1: last.time_s,
                    color: "#e67e22",
                });
            }
            if !spans.is_empty() {
                keys.push(Key {
                    label: format!("inlet above {} (throttling)", celsius(limit)),
                    color: "#e67e22",
                    shaded: true,
                });
            }
        }
    }
    let mut failures = Vec::new();
    for w in samples.windows(2) {
        if let (Some(a), Some(b)) = (&w[0].failures, &w[1].failures)
            && b.failures_total > a.failures_total
        {
            failures.push(w[1].time_s);
        }
    }
    if !failures.is_empty() && failures.len() <= 2000 {
        for t in failures {
            markers.push(Marker {
                t,
                color: "#7a4fa3",
                label: None,
            });
        }
        keys.push(Key {
            label: "hardware failure".into(),
            color: "#7a4fa3",
            shaded: false,
        });
    }
    (markers, spans, keys)
}

/// `(t, value)` of the samples with a value.
fn series(samples: &[Sample], f: impl Fn(&Sample) -> Option<f64>) -> Vec<(f64, f64)> {
    samples
        .iter()
        .filter_map(|s| f(s).map(|v| (s.time_s, v)))
        .filter(|(t, v)| t.is_finite() && v.is_finite())
        .collect()
}

/// A line resampled for drawing (bucket means and an envelope for long series); the bucket width.
fn line(label: &str, color: &'static str, points: &[(f64, f64)]) -> (Line, f64) {
    let (pts, band, bucket) = resample(points, MAX_LINE_POINTS);
    (
        Line {
            band,
            ..Line::new(label, color, pts)
        },
        bucket,
    )
}

/// "Daily means, shaded: daily range." for bucketed charts.
fn bucket_note(bucket: f64) -> String {
    if bucket > 0.0 {
        let b = bucket_name(bucket);
        format!(" Lines are {b} means; the shaded band is the {b} minimum to maximum.")
    } else {
        String::new()
    }
}

/// The timeline figures: power with the events, GPUs busy (and queued jobs for job runs).
fn timeline(s: &Summary, samples: &[Sample], axis: &TimeAxis) -> Vec<FigureData> {
    let mut figs = Vec::new();
    let facility = samples.iter().any(|x| x.facility.is_some());
    let peak = s.facility.as_ref().map_or(s.power.it_peak_w, |f| {
        f.facility_peak_w.max(s.power.it_peak_w)
    });
    let (div, unit) = power_unit(peak);
    let (it, bucket) = line(
        "IT power",
        PALETTE[0],
        &series(samples, |x| Some(x.it_power_w / div)),
    );
    let mut lines = vec![it];
    if facility {
        let (fac, _) = line(
            "facility power",
            PALETTE[1],
            &series(samples, |x| {
                x.facility.as_ref().map(|f| f.facility_power_w / div)
            }),
        );
        lines.insert(0, fac);
    }
    let (markers, spans, keys) = events(s, samples);
    let n_events = markers.len() + spans.len();
    let chart = Chart {
        y_title: format!("power ({unit})"),
        lines,
        markers,
        spans,
        keys,
        height: 260.0,
        y_from_zero: true,
        ..Chart::default()
    };
    let events_note = if n_events > 0 {
        " Events are marked on the timeline."
    } else {
        " No breaker trips, inlet excursions or failures in this run."
    };
    figs.push(FigureData {
        title: Some("Power".into()),
        svg: time_chart(&chart, axis, "power over time"),
        caption: format!(
            "{} drawn over the run.{}{}",
            if facility {
                "Facility (utility input) and IT power"
            } else {
                "IT power (at the server inlets)"
            },
            bucket_note(bucket),
            events_note
        ),
    });
    let (busy, bucket) = line(
        "busy GPUs",
        PALETTE[0],
        &series(samples, |x| Some(x.busy_gpus)),
    );
    let mut lines = vec![busy];
    if s.gpus.total > 0 {
        let (t0, t1) = (axis.t0, axis.t1);
        lines.push(
            Line::new(
                "GPUs installed",
                PALETTE[7],
                vec![(t0, s.gpus.total as f64), (t1, s.gpus.total as f64)],
            )
            .styled(Style::Dashed),
        );
    }
    figs.push(FigureData {
        title: Some("GPU utilisation".into()),
        svg: time_chart(
            &Chart {
                y_title: "GPUs busy".into(),
                lines,
                height: 200.0,
                y_from_zero: true,
                y_max: Some(s.gpus.total as f64),
                ..Chart::default()
            },
            axis,
            "busy GPUs over time",
        ),
        caption: format!(
            "GPUs running work, against the {} installed.{}",
            count(s.gpus.total),
            bucket_note(bucket)
        ),
    });
    if has_jobs(s) {
        let (queued, bucket) = line(
            "queued jobs",
            PALETTE[1],
            &series(samples, |x| Some(x.queued_jobs as f64)),
        );
        let (running, _) = line(
            "running jobs",
            PALETTE[2],
            &series(samples, |x| Some(x.running_jobs as f64)),
        );
        figs.push(FigureData {
            title: Some("Jobs".into()),
            svg: time_chart(
                &Chart {
                    y_title: "jobs".into(),
                    lines: vec![running, queued],
                    height: 180.0,
                    y_from_zero: true,
                    ..Chart::default()
                },
                axis,
                "running and queued jobs over time",
            ),
            caption: format!(
                "Jobs running and waiting in the queue.{}",
                bucket_note(bucket)
            ),
        });
    }
    figs
}

/// The serving figures: latency over time (long-horizon runs' hourly windows), latency percentiles.
fn serving_figures(s: &Summary, samples: &[Sample], axis: &TimeAxis) -> Vec<FigureData> {
    let Some(inf) = &s.inference else {
        return Vec::new();
    };
    let mut figs = Vec::new();
    if samples.iter().any(|x| x.serving.is_some()) {
        let get = |f: fn(&output::ServingSample) -> f64| {
            series(samples, move |x| x.serving.as_ref().map(f))
        };
        let (p50, bucket) = line("TTFT p50", PALETTE[0], &get(|v| v.ttft_p50_s));
        let (p99, _) = line("TTFT p99", PALETTE[3], &get(|v| v.ttft_p99_s));
        let target = |v: f64| {
            Line::new("target", PALETTE[7], vec![(axis.t0, v), (axis.t1, v)]).styled(Style::Dashed)
        };
        figs.push(FigureData {
            title: Some("Time to first token".into()),
            svg: time_chart(
                &Chart {
                    y_title: "TTFT (s)".into(),
                    lines: vec![p50, p99, target(inf.slo.ttft_target_s)],
                    height: 200.0,
                    y_from_zero: true,
                    ..Chart::default()
                },
                axis,
                "time to first token over time",
            ),
            caption: format!(
                "TTFT percentiles measured in each sampled window, against the SLO target.{}",
                bucket_note(bucket)
            ),
        });
        let ms = |f: fn(&output::ServingSample) -> f64| {
            series(samples, move |x| x.serving.as_ref().map(|v| f(v) * 1e3))
        };
        let (p50, bucket) = line("TPOT p50", PALETTE[0], &ms(|v| v.tpot_p50_s));
        let (p99, _) = line("TPOT p99", PALETTE[3], &ms(|v| v.tpot_p99_s));
        figs.push(FigureData {
            title: Some("Time per output token".into()),
            svg: time_chart(
                &Chart {
                    y_title: "TPOT (ms)".into(),
                    lines: vec![p50, p99, target(inf.slo.tpot_target_s * 1e3)],
                    height: 200.0,
                    y_from_zero: true,
                    ..Chart::default()
                },
                axis,
                "time per output token over time",
            ),
            caption: format!(
                "TPOT percentiles measured in each sampled window, against the SLO target.{}",
                bucket_note(bucket)
            ),
        });
    }
    // The latency distribution from the summary's percentiles (p50, p90, p95, p99, max).
    let cdf = |st: &output::Stats| -> Vec<(f64, f64)> {
        [
            (st.p50, 50.0),
            (st.p90, 90.0),
            (st.p95, 95.0),
            (st.p99, 99.0),
            (st.max, 100.0),
        ]
        .into_iter()
        .filter(|p| p.0.is_finite())
        .collect()
    };
    if inf.ttft_s.count > 0 {
        let lines = vec![
            Line::new("time to first token", PALETTE[0], cdf(&inf.ttft_s)),
            Line::new("time per output token", PALETTE[2], cdf(&inf.tpot_s)),
            Line::new("end to end", PALETTE[1], cdf(&inf.e2e_s)),
            Line::new("queue wait", PALETTE[7], cdf(&inf.queue_wait_s)),
        ];
        figs.push(FigureData {
            title: Some("Request latency distribution".into()),
            svg: log_seconds_chart(
                &Chart {
                    y_title: "share of requests (%)".into(),
                    lines,
                    markers: vec![
                        Marker {
                            t: inf.slo.ttft_target_s,
                            color: "#c0392b",
                            label: Some("TTFT target".into()),
                        },
                        Marker {
                            t: inf.slo.tpot_target_s,
                            color: "#c0392b",
                            label: Some("TPOT target".into()),
                        },
                    ],
                    height: 240.0,
                    y_from_zero: true,
                    y_max: Some(100.0),
                    ..Chart::default()
                },
                "latency (logarithmic scale)",
                "latency distribution",
            ),
            caption: "Share of requests served within a latency, through the run's p50, p90, p95, p99 and \
                      maximum (the points the summary keeps), with the SLO targets."
                .into(),
        });
    }
    figs
}

/// The facility figures: power by component (stacked), PUE over time, PUE against the wet bulb.
fn facility_figures(samples: &[Sample], axis: &TimeAxis) -> Vec<FigureData> {
    let f: Vec<(f64, &FacilitySample)> = samples
        .iter()
        .filter_map(|s| s.facility.as_ref().map(|f| (s.time_s, f)))
        .collect();
    if f.is_empty() {
        return Vec::new();
    }
    let peak = f
        .iter()
        .map(|(_, x)| x.facility_power_w)
        .fold(0.0, f64::max);
    let (div, unit) = power_unit(peak);
    // Cumulative layers, bottom first: IT, + power chain, + cooling, + misc.
    let layers: [Layer; 4] = [
        ("IT", |x| x.it_power_w),
        ("power-chain losses", |x| x.power_chain_loss_w),
        ("cooling", |x| x.cooling_power_w),
        ("other loads", |x| x.misc_w),
    ];
    let colors = [PALETTE[0], PALETTE[5], PALETTE[6], PALETTE[7]];
    let mut lines = Vec::new();
    let mut bucket = 0.0;
    for k in (0..layers.len()).rev() {
        let pts: Vec<(f64, f64)> = f
            .iter()
            .map(|(t, x)| (*t, layers[..=k].iter().map(|l| (l.1)(x)).sum::<f64>() / div))
            .collect();
        let (p, _, b) = resample(&pts, MAX_LINE_POINTS);
        bucket = b;
        lines.push(Line::new(layers[k].0, colors[k], p).styled(Style::Area));
    }
    let mut figs = vec![FigureData {
        title: Some("Where the power goes".into()),
        svg: time_chart(
            &Chart {
                y_title: format!("power ({unit})"),
                lines,
                height: 240.0,
                y_from_zero: true,
                ..Chart::default()
            },
            axis,
            "facility power by component",
        ),
        caption: format!(
            "Facility power stacked by component: IT, power-chain losses (UPS, PDU, transformer), cooling \
             (chillers, towers, pumps, air handlers, dry coolers) and other loads.{}",
            if bucket > 0.0 {
                format!(" {} means.", capitalise(bucket_name(bucket)))
            } else {
                String::new()
            }
        ),
    }];
    // PUE per bucket from the exact cumulative energies (energy-weighted, not a mean of ratios).
    let span = axis.t1 - axis.t0;
    let bucket = if span > 14.0 * 86_400.0 {
        86_400.0
    } else {
        3600.0
    };
    let mut pue = Vec::new();
    let mut i = 0;
    while i + 1 < f.len() {
        let k = (f[i].0 / bucket).floor();
        let start = i;
        while i + 1 < f.len() && (f[i + 1].0 / bucket).floor() <= k {
            i += 1;
        }
        let end = (i + 1).min(f.len() - 1);
        let d_it = f[end].1.it_energy_j - f[start].1.it_energy_j;
        let d_fac = f[end].1.facility_energy_j - f[start].1.facility_energy_j;
        if d_it > 0.0 {
            pue.push(((k + 0.5) * bucket, d_fac / d_it));
        }
        i = end.max(i + 1);
    }
    let dry: Vec<(f64, f64)> = f.iter().map(|(t, x)| (*t, x.outdoor_dry_bulb_c)).collect();
    let (dry_line, _, _) = resample(&dry, MAX_LINE_POINTS);
    figs.push(FigureData {
        title: Some("PUE over time".into()),
        svg: time_chart(
            &Chart {
                y_title: "PUE".into(),
                lines: vec![Line::new(
                    format!("{} PUE", bucket_name(bucket)),
                    PALETTE[2],
                    pue,
                )],
                height: 200.0,
                y_from_zero: false,
                ..Chart::default()
            },
            axis,
            "PUE over time",
        ),
        caption: format!(
            "{} PUE: facility energy over IT energy in each {}, from the exact cumulative energies.",
            capitalise(bucket_name(bucket)),
            if bucket >= 86_400.0 { "day" } else { "hour" }
        ),
    });
    figs.push(FigureData {
        title: Some("Outdoor temperature".into()),
        svg: time_chart(
            &Chart {
                y_title: "dry bulb (°C)".into(),
                lines: vec![Line::new("outdoor dry bulb", PALETTE[3], dry_line)],
                height: 160.0,
                y_from_zero: false,
                ..Chart::default()
            },
            axis,
            "outdoor temperature over time",
        ),
        caption: "The weather the plant worked against (outdoor dry bulb).".into(),
    });
    let pts = hourly_pue_points(samples);
    figs.push(FigureData {
        title: Some("PUE against the weather".into()),
        svg: xy_chart(
            &Chart {
                y_title: "PUE (hour)".into(),
                lines: vec![Line::new("", PALETTE[0], pts).styled(Style::Dots)],
                height: 220.0,
                y_from_zero: false,
                ..Chart::default()
            },
            "outdoor wet bulb (°C)",
            false,
            "PUE against wet bulb",
        ),
        caption: "Each point is one clock hour: its PUE (exact energy ratio) against the outdoor wet bulb at \
                  the start of the hour. Cooler, drier hours let the economizer carry more of the load."
            .into(),
    });
    figs
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// The monthly table (runs of at least [`MONTHLY_FROM_S`]).
fn monthly_table(s: &Summary, samples: &[Sample], ctx: &RunContext<'_>) -> Option<TableData> {
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
fn figures_table(caption: &str, rows: Vec<(&str, String)>) -> TableData {
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
fn detail_sections(s: &Summary, ctx: &RunContext<'_>) -> Vec<SectionData> {
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

/// The `report.html` of a run without context (no calendar, no site diagram, the default currency).
pub fn run_page(output: &RunOutput) -> io::Result<String> {
    run_page_with(output, &RunContext::default())
}

/// The `report.html` of a run.
pub fn run_page_with(output: &RunOutput, ctx: &RunContext<'_>) -> io::Result<String> {
    let s = &output.summary;
    let samples = &output.timeseries;
    let cal = ctx.calendar.as_ref();
    let (t0, t1) = samples
        .iter()
        .map(|x| x.time_s)
        .filter(|t| t.is_finite())
        .fold(None, |acc: Option<(f64, f64)>, t| match acc {
            None => Some((t, t)),
            Some((a, b)) => Some((a.min(t), b.max(t))),
        })
        .unwrap_or((0.0, s.horizon_s.max(1.0)));
    let axis = time_axis(cal, t0, t1);
    let gpus: Vec<String> = s
        .site
        .gpus_by_model
        .iter()
        .map(|(m, n)| format!("{} {m}", count(*n)))
        .collect();
    let site_line = format!(
        "{} · {} · {} · {} · {} GPUs",
        plural(s.site.halls as usize, "hall"),
        plural(s.site.rows as usize, "row"),
        plural(s.site.racks as usize, "rack"),
        plural(s.site.servers as usize, "server"),
        if gpus.is_empty() {
            "no".into()
        } else {
            gpus.join(" + ")
        }
    );
    let mut meta = vec![
        ("Scenario".to_string(), s.scenario.clone()),
        ("Simulated".to_string(), period(cal, s.horizon_s)),
        ("Seed".to_string(), s.seed.to_string()),
    ];
    if let Some(f) = &s.facility {
        meta.push(("Weather".into(), f.weather.station.clone()));
        meta.push(("Currency".into(), ctx.currency.clone()));
    }
    meta.push(("dctwin".into(), s.dctwin_version.clone()));

    let mut sections = Vec::new();
    // Long runs: the month-by-month table right under the headline figures.
    if let Some(mut m) = monthly_table(s, samples, ctx) {
        m.caption = String::new();
        sections.push(SectionData {
            heading: "Month by month".into(),
            tables: vec![m],
            ..SectionData::default()
        });
    }
    // The site.
    let mut site = SectionData {
        heading: "The site".into(),
        paragraphs: vec![s.site.description.clone()],
        ..SectionData::default()
    };
    // Racks shaded by their peak IT power when the run measured it (`racks.csv`), unless the context says
    // otherwise.
    let measured: Vec<RackCell>;
    let (racks, rack_value) = if ctx.rack_value.is_none() && !output.tables.racks.is_empty() {
        let peak: std::collections::BTreeMap<(u32, u32, u32), f64> = output
            .tables
            .racks
            .iter()
            .map(|r| ((r.hall, r.row, r.rack), r.it_peak_w))
            .collect();
        measured = ctx
            .racks
            .iter()
            .map(|c| RackCell {
                value: peak.get(&(c.hall, c.row, c.rack)).copied(),
                ..c.clone()
            })
            .collect();
        let v: RackValue = ("peak IT power", power_w);
        (&measured, Some(v))
    } else {
        (&ctx.racks, ctx.rack_value)
    };
    if !racks.is_empty() {
        let (name, format) = rack_value.unwrap_or(("peak power", power_w));
        let (svg, caption) = site_diagram(racks, name, format);
        let why = if rack_value.is_none() {
            " Per-rack peak power and inlet temperature are not in this run's outputs, so racks are shaded by \
             the GPUs they hold; hover a rack for its servers and GPUs."
        } else {
            " Hover a rack for its figures."
        };
        site.figures.push(FigureData {
            title: None,
            svg,
            caption: format!("Halls, rows and racks as laid out in the scenario; {caption}.{why}"),
        });
    }
    sections.push(site);
    sections.push(SectionData {
        heading: "Timeline".into(),
        figures: timeline(s, samples, &axis),
        ..SectionData::default()
    });
    let serving = serving_figures(s, samples, &axis);
    if !serving.is_empty() {
        sections.push(SectionData {
            heading: "Serving latency".into(),
            figures: serving,
            ..SectionData::default()
        });
    }
    let facility = facility_figures(samples, &axis);
    if !facility.is_empty() {
        sections.push(SectionData {
            heading: "Facility over time".into(),
            figures: facility,
            ..SectionData::default()
        });
    }
    if output.timeseries.iter().any(|x| x.failures.is_some()) {
        let failures = crate::chart::failures_svg(samples, s.failures.as_ref(), cal)?;
        sections.push(SectionData {
            heading: "Failures over time".into(),
            figures: vec![FigureData {
                title: None,
                svg: failures,
                caption: "Servers down for failures and failures so far".into(),
            }],
            ..SectionData::default()
        });
    }
    let mut details = detail_sections(s, ctx);
    if s.facility.is_none()
        && let Some(k) = details.iter().position(|d| d.heading == "Serving")
    {
        // Without a facility, a serving run's first question is its latency, not its IT energy.
        let serving = details.remove(k);
        details.insert(0, serving);
    }
    sections.extend(details);
    sections.push(SectionData {
        heading: "What this run does not model".into(),
        list: s.not_modelled.clone(),
        ..SectionData::default()
    });

    let json = serde_json::to_value(s).expect("a Summary always serialises to JSON");
    let appendix = Appendix {
        summary: "Every figure by its machine name (as in summary.json, SI units)".into(),
        table: TableData {
            caption: String::new(),
            header: vec!["figure".into(), "value".into()],
            rows: key_figures(&json)
                .into_iter()
                .map(|f| {
                    let v: Option<&Value> = lookup(&json, &f);
                    vec![f.clone(), show(number(v), is_integer(v))]
                })
                .collect(),
            class: Some("figures"),
            ..TableData::default()
        },
    };
    Ok(render(&PageData {
        title: format!("dctwin report: {}", s.scenario),
        subtitle: Some(site_line),
        meta,
        headline: headline(s, samples, &ctx.currency),
        sections,
        appendix: Some(appendix),
        footer: Some(format!(
            "Generated by dctwin {} from summary.json and timeseries.csv of this run (same directory). \
             Simulated, not measured: see “What this run does not model”.",
            s.dctwin_version
        )),
        ..PageData::default()
    }))
}
