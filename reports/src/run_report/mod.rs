//! The `report.html` of a run, for a reader who did not run it: the headline figures in human units, the
//! site, the timeline on a calendar axis with its events (breaker trips, inlet over its limit, failures),
//! serving latency, the facility, a monthly table for long runs, then the details by importance (sections
//! that do not apply are left out) and every figure by its machine name in a collapsed appendix.
//!
//! What the summary and time series do not carry — the tariff's currency, the calendar date of run time 0,
//! the racks of the site, the energy price — comes in a [`RunContext`] built from the scenario
//! (`study::report_context`); [`RunContext::default`] gives a page without them (no dates, no site diagram,
//! the default currency).

mod context;
mod details;
mod over_time;

pub use context::{DEFAULT_CURRENCY, RackValue, RunContext};

use context::{has_carbon, has_jobs, period};
use details::{detail_sections, monthly_table};
use over_time::{facility_figures, serving_figures, timeline};

use std::io;

use output::{RunOutput, Sample, Summary};
use serde_json::Value;

use crate::calendar::time_axis;
use crate::figures::{is_integer, key_figures, lookup, number, show};
use crate::human::{
    co2_kg, count, duration_s, energy_j, fixed, money, percent, power_w, sig, water_l,
};
use crate::svg::{RackCell, plural, site_diagram};
use crate::template::{Appendix, Card, FigureData, PageData, SectionData, TableData, render};

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
