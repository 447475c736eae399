//! The page's charts over time: the timeline with its events (breaker trips, inlet over its limit, failures),
//! serving latency and the facility.

use output::{FacilitySample, Sample, Summary, TripLevel};

use crate::calendar::TimeAxis;
use crate::facility_chart::hourly_pue_points;
use crate::human::{celsius, count};
use crate::svg::{
    Chart, Key, Line, Marker, PALETTE, Span, Style, bucket_name, log_seconds_chart, resample,
    time_chart, xy_chart,
};
use crate::template::FigureData;

use super::context::{Layer, MAX_LINE_POINTS, capitalise, has_jobs, power_unit};

/// The events of the run on its timeline: breaker trips and the feed's first trip (labelled lines), spans
/// with the rack inlet above its limit, and failures (ticks on the time axis) — with their legend keys.
pub(super) fn events(s: &Summary, samples: &[Sample]) -> (Vec<Marker>, Vec<Span>, Vec<Key>) {
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
pub(super) fn timeline(s: &Summary, samples: &[Sample], axis: &TimeAxis) -> Vec<FigureData> {
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
pub(super) fn serving_figures(s: &Summary, samples: &[Sample], axis: &TimeAxis) -> Vec<FigureData> {
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
pub(super) fn facility_figures(samples: &[Sample], axis: &TimeAxis) -> Vec<FigureData> {
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
