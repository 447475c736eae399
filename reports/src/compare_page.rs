//! `compare.html`: runs side by side with the same page template as `report.html` — the headline figures in
//! human units with the change against the first run, a chart of those changes, and every key figure by its
//! machine name. Built from the runs' `summary.json` alone (the JSON image of [`output::Summary`]).

use serde_json::Value;

use crate::figures::{is_integer, key_figures, lookup, number, show};
use crate::human::{co2_kg, count, duration_s, energy_j, fixed, group, percent, power_w, water_l};
use crate::svg::{PALETTE, change_bars};
use crate::template::{Appendix, Card, FigureData, PageData, SectionData, TableData, render};

/// File name of the comparison page.
pub const COMPARE_HTML: &str = "compare.html";

/// A headline figure of the comparison: label, dotted name in the summary, formatter, whether lower is
/// better (for the wording of the change).
struct Figure {
    label: &'static str,
    path: &'static str,
    format: fn(f64) -> String,
}

fn money_plain(x: f64) -> String {
    if x.abs() >= 1000.0 {
        group(&format!("{x:.0}"))
    } else {
        format!("{x:.2}")
    }
}

const FIGURES: &[Figure] = &[
    Figure {
        label: "facility energy",
        path: "energy.facility_j",
        format: energy_j,
    },
    Figure {
        label: "IT energy",
        path: "energy.it_j",
        format: energy_j,
    },
    Figure {
        label: "peak facility power",
        path: "facility.facility_peak_w",
        format: power_w,
    },
    Figure {
        label: "peak IT power",
        path: "power.it_peak_w",
        format: power_w,
    },
    Figure {
        label: "PUE",
        path: "facility.pue",
        format: |x| fixed(x, 3),
    },
    Figure {
        label: "water",
        path: "facility.water.site_l",
        format: water_l,
    },
    Figure {
        label: "operational carbon",
        path: "facility.carbon.operational_kg",
        format: co2_kg,
    },
    Figure {
        label: "electricity cost (tariff currency)",
        path: "facility.cost.total",
        format: money_plain,
    },
    Figure {
        label: "GPU utilisation",
        path: "gpus.utilization_mean",
        format: percent,
    },
    Figure {
        label: "jobs completed",
        path: "jobs.completed",
        format: |x| count(x as u64),
    },
    Figure {
        label: "job wait p99",
        path: "jobs.wait_s.p99",
        format: duration_s,
    },
    Figure {
        label: "requests served",
        path: "inference.requests.completed",
        format: |x| count(x as u64),
    },
    Figure {
        label: "TTFT p99",
        path: "inference.ttft_s.p99",
        format: duration_s,
    },
    Figure {
        label: "TPOT p99",
        path: "inference.tpot_s.p99",
        format: duration_s,
    },
    Figure {
        label: "SLO attainment",
        path: "inference.slo.attainment",
        format: percent,
    },
];

/// Whether a figure says something for this run (jobs on an inference run do not).
fn applies(summary: &Value, f: &Figure) -> bool {
    if f.path.starts_with("jobs.") {
        let submitted = number(lookup(summary, "jobs.submitted")).unwrap_or(0.0);
        return submitted > 0.0 || lookup(summary, "inference").is_none();
    }
    number(lookup(summary, f.path)).is_some()
}

/// The change of `x` against `base` in percent (`+12.3 %`), `–` without a base.
fn change(x: Option<f64>, base: Option<f64>) -> (String, Option<f64>) {
    match (x, base) {
        (Some(x), Some(b)) if b != 0.0 && x.is_finite() && b.is_finite() => {
            let pct = (x - b) / b.abs() * 100.0;
            let text = if pct.abs() < 0.05 {
                "±0 %".to_string()
            } else {
                format!("{}{:.1} %", if pct > 0.0 { "+" } else { "−" }, pct.abs())
            };
            (text, Some(pct))
        }
        (Some(x), Some(b)) if x == b => ("±0 %".into(), Some(0.0)),
        _ => ("–".into(), None),
    }
}

/// The comparison page of `runs` (label, summary JSON); changes are against the first.
pub fn compare_page(runs: &[(String, Value)]) -> String {
    let Some((base_label, base)) = runs.first() else {
        return render(&PageData {
            title: "dctwin compare".into(),
            ..PageData::default()
        });
    };
    let shown: Vec<&Figure> = FIGURES
        .iter()
        .filter(|f| runs.iter().any(|(_, s)| applies(s, f)))
        .collect();
    let mut header = vec!["figure".to_string()];
    for (i, (label, _)) in runs.iter().enumerate() {
        header.push(short(label));
        if i > 0 {
            header.push(format!("change vs {}", short(base_label)));
        }
    }
    let mut rows = Vec::new();
    // The changes for the bar chart: one row per figure, one value per later run.
    let mut bars: Vec<(String, Vec<Option<f64>>)> = Vec::new();
    for f in &shown {
        let b = number(lookup(base, f.path)).filter(|_| applies(base, f));
        let mut row = vec![f.label.to_string(), b.map_or("–".into(), f.format)];
        let mut changes = Vec::new();
        for (_, s) in runs.iter().skip(1) {
            let x = number(lookup(s, f.path)).filter(|_| applies(s, f));
            row.push(x.map_or("–".into(), f.format));
            let (text, pct) = change(x, b);
            row.push(text);
            changes.push(pct);
        }
        bars.push((f.label.to_string(), changes));
        rows.push(row);
    }
    let scenario = |s: &Value| {
        lookup(s, "scenario")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let run_rows: Vec<Vec<String>> = runs
        .iter()
        .map(|(label, s)| {
            vec![
                short(label),
                scenario(s),
                lookup(s, "seed").map_or("–".into(), |v| v.to_string()),
                number(lookup(s, "horizon_s")).map_or("–".into(), duration_s),
                lookup(s, "site.gpus_by_model")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{} {k}", v.as_u64().map_or("?".into(), count)))
                            .collect::<Vec<_>>()
                            .join(" + ")
                    })
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let mut figures = Vec::new();
    if runs.len() > 1 && bars.iter().any(|b| b.1.iter().any(Option::is_some)) {
        let series: Vec<(String, &'static str)> = runs
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, (l, _))| (short(l), PALETTE[(i - 1) % PALETTE.len()]))
            .collect();
        figures.push(FigureData {
            title: Some(format!("Change against {}", short(base_label))),
            svg: change_bars(&bars, &series),
            caption: "Each bar is the change of a headline figure against the first run, in percent of the \
                      first run's value."
                .into(),
        });
    }
    // Cards: the figures a reader asks about first, as the change of the second run against the first.
    let preferred = [
        "facility energy",
        "PUE",
        "electricity cost (tariff currency)",
        "operational carbon",
        "TTFT p99",
        "SLO attainment",
        "jobs completed",
        "IT energy",
    ];
    let mut cards = Vec::new();
    if let Some((_, second)) = runs.get(1) {
        for label in preferred {
            let Some(f) = shown.iter().find(|f| f.label == label) else {
                continue;
            };
            let (Some(b), true) = (number(lookup(base, f.path)), applies(base, f)) else {
                continue;
            };
            let x = number(lookup(second, f.path));
            let (text, _) = change(x, Some(b));
            cards.push(Card::new(
                f.label,
                text,
                Some(format!(
                    "{} → {}",
                    (f.format)(b),
                    x.map_or("–".into(), f.format)
                )),
            ));
            if cards.len() == 5 {
                break;
            }
        }
    }
    // Every key figure by its machine name.
    let mut names: Vec<String> = Vec::new();
    for (_, s) in runs {
        for f in key_figures(s) {
            if !names.contains(&f) {
                names.push(f);
            }
        }
    }
    let mut all_header = vec!["figure".to_string()];
    all_header.extend(runs.iter().map(|(l, _)| short(l)));
    let all_rows = names
        .iter()
        .map(|f| {
            let mut r = vec![f.clone()];
            for (_, s) in runs {
                let v = lookup(s, f);
                r.push(show(number(v), is_integer(v)));
            }
            r
        })
        .collect();
    render(&PageData {
        title: format!(
            "dctwin compare: {}",
            runs.iter().map(|(l, _)| short(l)).collect::<Vec<_>>().join(" vs ")
        ),
        subtitle: Some(format!(
            "{} runs side by side; changes are against the first, {}.",
            runs.len(),
            short(base_label)
        )),
        headline: cards,
        sections: vec![
            SectionData {
                heading: "Side by side".into(),
                tables: vec![TableData {
                    caption: String::new(),
                    header,
                    rows,
                    ..TableData::default()
                }],
                figures,
                ..SectionData::default()
            },
            SectionData {
                heading: "The runs".into(),
                tables: vec![TableData {
                    caption: String::new(),
                    header: ["run", "scenario", "seed", "simulated", "GPUs"]
                        .map(String::from)
                        .to_vec(),
                    rows: run_rows,
                    ..TableData::default()
                }],
                ..SectionData::default()
            },
        ],
        appendix: Some(Appendix {
            summary: "Every key figure by its machine name (summary.json, SI units; compare.csv has full precision)"
                .into(),
            table: TableData {
                header: all_header,
                rows: all_rows,
                ..TableData::default()
            },
        }),
        footer: Some("Generated by dctwin compare from the runs' summary.json files.".into()),
        ..PageData::default()
    })
}

/// A run's label for headers: the last two path components of a directory or summary.json path.
fn short(label: &str) -> String {
    let trimmed = label
        .trim_end_matches('/')
        .trim_end_matches("summary.json")
        .trim_end_matches('/');
    let parts: Vec<&str> = trimmed.rsplit('/').take(2).collect();
    if parts.is_empty() || parts[0].is_empty() {
        label.to_string()
    } else {
        parts.into_iter().rev().collect::<Vec<_>>().join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compare_page_shows_headline_figures_and_changes() {
        let a = json!({"scenario": "a", "seed": 1, "horizon_s": 86400.0,
            "energy": {"it_j": 3.6e12, "facility_j": 4.32e12},
            "power": {"it_peak_w": 2.0e6},
            "facility": {"pue": 1.2, "water": {"site_l": 5.0e6}, "cost": {"total": 1.0e5}},
            "jobs": {"submitted": 0, "completed": 0, "wait_s": {"p99": 0.0}},
            "inference": {"requests": {"completed": 1000}, "ttft_s": {"p99": 0.5}, "slo": {"attainment": 0.99}},
            "gpus": {"utilization_mean": 0.5}});
        let mut b = a.clone();
        b["facility"]["pue"] = json!(1.1);
        b["energy"]["facility_j"] = json!(3.96e12);
        let page = compare_page(&[("out/a".into(), a), ("out/b".into(), b)]);
        for needle in [
            "<title>dctwin compare: out/a vs out/b</title>",
            "<td>facility energy</td><td>1.20 GWh</td><td>1.10 GWh</td><td>−8.3 %</td>",
            "<td>PUE</td><td>1.200</td><td>1.100</td><td>−8.3 %</td>",
            "<td>water</td><td>5,000 m³</td><td>5,000 m³</td><td>±0 %</td>",
            "<td>TTFT p99</td><td>500 ms</td>",
        ] {
            assert!(page.contains(needle), "{needle} missing");
        }
        assert!(
            !page.contains("<td>jobs completed</td>"),
            "no jobs rows on inference runs"
        );
        assert!(page.contains("<svg"));
        assert_eq!(short("/tmp/x/runs/a/summary.json"), "runs/a");
    }
}
