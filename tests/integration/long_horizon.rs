//! Long-horizon serving (docs/models.md §Long-horizon serving): against full iteration-level simulation of the
//! same hours, deterministic whatever the thread count, and refusing what it does not model.
use output::RunOutput;
use scenario::load_scenario;

use crate::common::{catalog, shared, temp_dir, write};

/// Four HGX H100 servers, four Llama-2-70B replicas (tp 8) under 8 requests/s at the profile's 1.0 with hour 1
/// at half the rate, for three hours, with a facility on real weather; `extra` goes inside `Inference(...)`,
/// `facility` is the facility section's body.
pub(crate) fn scenario(extra: &str, facility: &str) -> String {
    let mut hourly = vec!["1.0"; 24];
    hourly[1] = "0.5";
    format!(
        r#"Scenario(
    name: "long-horizon-test",
    seed: 5,
    horizon_s: 10800.0,
    catalog: "{cat}",
    site: Layout(
        server_templates: {{
            "hgx": ServerTemplate(gpu_model: "H100", gpus: 8, host: HostPower(idle_w: 1200.0, max_w: 3400.0)),
        }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [RackGroup(count: 1, servers: [ServerGroup(template: "hgx", count: 4)])])])],
    ),
    workload: Inference(
        requests: Synthetic(
            arrivals: Gamma(rate_per_s: 8.0, cv: 1.5),
            hourly_profile: [{hourly}],
            prompt_tokens: LogNormal(mu: 6.9, sigma: 0.9, max: 8000),
            output_tokens: LogNormal(mu: 5.0, sigma: 0.8, max: 1000),
        ),
        deployment: Deployment(
            model: LlmModel(name: "llama-2-70b", params: 70.0e9, layers: 80, hidden: 8192, kv_heads: 8, head_dim: 128, ffn_hidden: 28672, vocab: 32000),
            gpu_model: "H100",
            tp: 8,
            replicas: 4,
        ),
        {extra}
    ),
    facility: ({facility}),
    reporting: (interval_s: 900.0),
)
"#,
        cat = catalog(),
        hourly = hourly.join(", "),
    )
}

pub(crate) fn weather() -> String {
    format!(
        r#"weather: Tmy3(path: "{}", start_hour: 4560)"#,
        shared()
            .join("weather/tmy3-723170-greensboro-nc.csv")
            .display()
    )
}

pub(crate) const LONG: &str =
    "long_horizon: LongHorizon(replicas: 4, window_s: 1800.0, warmup_s: 600.0, drain_s: 300.0),";

fn run(tag: &str, text: &str) -> Result<RunOutput, twin::RunError> {
    let dir = temp_dir(&format!("long-horizon-{tag}"));
    let path = write(&dir, "s.ron", text);
    let loaded = load_scenario(&path, &[], None).unwrap_or_else(|e| panic!("{e}"));
    twin::run(&loaded, &mut |_| {})
}

/// Within 1% on energy and 5% on the latency percentiles of a full run of the same three hours (two windows:
/// the rates 0.5 and 1.0), with the hourly percentiles in the time series.
#[test]
fn long_horizon_matches_the_full_run() {
    let full = run("full", &scenario("", &weather())).expect("full run");
    let long = run("long", &scenario(LONG, &weather())).expect("long-horizon run");
    let (f, l) = (&full.summary, &long.summary);
    let rel = |a: f64, b: f64| ((b - a) / a).abs();
    assert!(
        rel(f.energy.it_j, l.energy.it_j) < 0.01,
        "{} {}",
        f.energy.it_j,
        l.energy.it_j
    );
    let (ff, lf) = (f.energy.facility_j.unwrap(), l.energy.facility_j.unwrap());
    assert!(rel(ff, lf) < 0.01, "{ff} {lf}");
    let (fi, li) = (f.inference.as_ref().unwrap(), l.inference.as_ref().unwrap());
    for (a, b, what) in [
        (fi.ttft_s.p50, li.ttft_s.p50, "ttft p50"),
        (fi.ttft_s.p99, li.ttft_s.p99, "ttft p99"),
        (fi.tpot_s.p50, li.tpot_s.p50, "tpot p50"),
        (fi.tpot_s.p99, li.tpot_s.p99, "tpot p99"),
    ] {
        assert!(rel(a, b) < 0.05, "{what}: full {a}, long-horizon {b}");
    }
    assert!(rel(fi.requests.arrived as f64, li.requests.arrived as f64) < 0.03);
    assert!(rel(fi.tokens.generated as f64, li.tokens.generated as f64) < 0.03);
    let lh = li.long_horizon.as_ref().unwrap();
    assert_eq!(lh.windows.len(), 2);
    assert_eq!((lh.windows[0].hours, lh.windows[1].hours), (1.0, 2.0));
    assert!(lh.windows[0].arrival_rate_per_s == 4.0 && lh.windows[1].arrival_rate_per_s == 8.0);
    assert!(lh.windows[0].gpu_activity_mean < lh.windows[1].gpu_activity_mean);
    assert!(fi.long_horizon.is_none());
    // The half-rate hour's percentiles in the time series, the others' elsewhere.
    let at = |t: f64| {
        long.timeseries
            .iter()
            .find(|r| r.time_s == t)
            .and_then(|r| r.serving)
            .unwrap()
    };
    assert_eq!(at(4500.0).ttft_p99_s, lh.windows[0].ttft_p99_s);
    assert_eq!(at(900.0).ttft_p99_s, lh.windows[1].ttft_p99_s);
    assert!(full.timeseries.iter().all(|r| r.serving.is_none()));
    // The horizon run handles a few events per hour; the iterations are the windows'.
    assert!(lh.window_events > 100_000);
    let horizon_events = l.events_processed - lh.window_events;
    assert!(horizon_events < 1000, "{horizon_events}");
}

/// The windows run in parallel; their results and the run's bytes do not depend on the thread count.
#[test]
fn long_horizon_is_deterministic_whatever_the_threads() {
    let text = scenario(LONG, &weather());
    let bytes = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut out = pool.install(|| run(&format!("t{threads}"), &text)).unwrap();
        out.summary.wall_time_s = 0.0;
        (
            reports::summary_json(&out.summary),
            reports::timeseries_csv(&out.timeseries),
        )
    };
    assert_eq!(bytes(1), bytes(2));
}

/// What the mode does not model is refused when the scenario loads (so `dctwin validate` says it), with the
/// field to remove.
#[test]
fn long_horizon_refuses_what_it_does_not_model() {
    let capped = format!("{}, capping: (gpu_cap_w: 500.0)", weather());
    let fed = format!("{}, power_chain: (ratings: (feed_w: 1e6))", weather());
    for (tag, facility, field) in [
        ("capped", capped, "facility.capping"),
        ("fed", fed, "facility.power_chain.ratings"),
    ] {
        let dir = temp_dir(&format!("long-horizon-{tag}"));
        let path = write(&dir, "s.ron", &scenario(LONG, &facility));
        let e = load_scenario(&path, &[], None).unwrap_err().to_string();
        assert!(e.contains(field) && e.contains("long-horizon"), "{e}");
        // Without long-horizon mode the same scenario is valid.
        let path = write(&dir, "full.ron", &scenario("", &facility));
        load_scenario(&path, &[], None).unwrap_or_else(|e| panic!("{e}"));
    }
}
