//! Long-horizon serving (issue #15): validation against full iteration-level simulation, and a fleet-year.
//!
//! 1. **Validation.** The same scenario — `LH_REPLICAS` replicas of a Llama-2-70B-class model (8 H100s each) under
//!    a diurnal load with a weekend dip (Azure-like hourly profile; 2 requests/s per replica at the profile's
//!    1.0), with the facility on Greensboro's TMY3 weather — run for `LH_DAYS` days twice: every iteration
//!    of every replica, and in long-horizon mode with `LH_SAMPLED` replicas per window. Prints the IT and
//!    facility energy of both and their relative error, and for each hour of the horizon the relative error of
//!    the long-horizon TTFT and TPOT p50 and p99 against the full run's (requests binned by arrival hour):
//!    median, 90th percentile and worst over the hours, and the share of hours within 5%.
//! 2. **A fleet-year.** `LH_YEAR_REPLICAS` replicas for 365 days in long-horizon mode (same load per replica):
//!    wall time, windows, events and peak RSS.
//!
//! Env: `LH_REPLICAS` (16), `LH_SAMPLED` (8), `LH_DAYS` (7), `LH_YEAR_REPLICAS` (1000), `LH_WINDOW_S` (1800),
//! `LH_RATE` (requests/s per replica at the profile's 1.0; 2),
//! `LH_SKIP_VALIDATION`, `LH_SKIP_YEAR`.
//!
//!     cargo bench --bench long_horizon

mod common;
use common::{env_u64, peak_rss_mib};

use std::time::Instant;

const HOURLY: &str = "[0.35, 0.3, 0.3, 0.3, 0.35, 0.45, 0.6, 0.8, 1.0, 1.15, 1.25, 1.3, \
                      1.3, 1.35, 1.4, 1.4, 1.35, 1.25, 1.1, 1.0, 0.9, 0.75, 0.6, 0.45]";
const DAILY: &str = "[1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 0.6]";

/// The scenario text: `replicas` replicas for `days` days; `long` = `(sampled, window_s)` for long-horizon mode.
fn scenario(replicas: u64, days: u64, long: Option<(u64, u64)>) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let per_replica = std::env::var("LH_RATE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(2.0);
    let rate = per_replica * replicas as f64;
    let long = match long {
        Some((m, w)) => format!("long_horizon: LongHorizon(replicas: {m}, window_s: {w}.0),"),
        None => String::new(),
    };
    format!(
        r#"Scenario(
    name: "long-horizon-bench",
    seed: 7,
    horizon_s: {horizon:?},
    catalog: "{root}/scenarios/catalog/gpus.ron",
    site: Layout(
        server_templates: {{
            "hgx-h100": ServerTemplate(gpu_model: "H100", gpus: 8, cpu_milli: 112000, memory_mib: 2097152,
                host: HostPower(idle_w: 1200.0, max_w: 3400.0, psu_efficiency: 0.95)),
        }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [
            RackGroup(count: 1, servers: [ServerGroup(template: "hgx-h100", count: {replicas})]),
        ])])],
    ),
    workload: Inference(
        requests: Synthetic(
            arrivals: Gamma(rate_per_s: {rate:?}, cv: 1.5),
            hourly_profile: {HOURLY},
            daily_profile: {DAILY},
            prompt_tokens: LogNormal(mu: 6.9, sigma: 0.9, max: 8000),
            output_tokens: LogNormal(mu: 5.0, sigma: 0.8, max: 1000),
        ),
        deployment: Deployment(
            model: LlmModel(name: "llama-2-70b", params: 70.0e9, layers: 80, hidden: 8192, kv_heads: 8, head_dim: 128, ffn_hidden: 28672, vocab: 32000),
            gpu_model: "H100",
            tp: 8,
            replicas: {replicas},
        ),
        router: LeastOutstanding,
        slo: Slo(ttft_s: 2.0, tpot_s: 0.1),
        {long}
    ),
    facility: (
        weather: Tmy3(path: "{root}/../shared/weather/tmy3-723170-greensboro-nc.csv", start_hour: 0),
    ),
    reporting: (interval_s: 300.0),
)
"#,
        horizon = (days * 86_400) as f64,
    )
}

fn load(dir: &std::path::Path, name: &str, text: &str) -> scenario::LoadedScenario {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write scenario");
    scenario::load_scenario(&path, &[], None).unwrap_or_else(|e| panic!("{e}"))
}

/// Median, 90th percentile and worst of `errs` (absolute relative errors), and the share within 5%.
fn spread(errs: &mut [f64]) -> (f64, f64, f64, f64) {
    errs.sort_by(f64::total_cmp);
    let n = errs.len();
    let at = |p: f64| errs[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
    let within = errs.iter().filter(|&&e| e <= 0.05).count() as f64 / n as f64;
    (at(0.5), at(0.9), errs[n - 1], within)
}

fn validation(dir: &std::path::Path) {
    let replicas = env_u64("LH_REPLICAS", 16);
    let sampled = env_u64("LH_SAMPLED", 8);
    let days = env_u64("LH_DAYS", 7);
    let window = env_u64("LH_WINDOW_S", 1800);
    let full = load(dir, "full.ron", &scenario(replicas, days, None));
    let long = load(
        dir,
        "long.ron",
        &scenario(replicas, days, Some((sampled, window))),
    );
    let t = Instant::now();
    let (full_out, records) = twin::run_with_requests(&full, &mut |_| {}).expect("full run");
    let full_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let long_out = twin::run(&long, &mut |_| {}).expect("long-horizon run");
    let long_s = t.elapsed().as_secs_f64();
    let (f, l) = (&full_out.summary, &long_out.summary);
    let lh = l.inference.as_ref().unwrap().long_horizon.as_ref().unwrap();
    println!(
        "long_horizon validation replicas={replicas} sampled={sampled} days={days} window_s={window} \
         full_wall_s={full_s:.1} full_events={} long_wall_s={long_s:.2} windows={} window_events={}",
        f.events_processed,
        lh.windows.len(),
        lh.window_events
    );
    let rel = |a: f64, b: f64| (b - a) / a;
    println!(
        "long_horizon energy it_j full={:.6e} long={:.6e} err={:+.4}  facility_j full={:.6e} long={:.6e} err={:+.4}  pue full={:.4} long={:.4}",
        f.energy.it_j,
        l.energy.it_j,
        rel(f.energy.it_j, l.energy.it_j),
        f.energy.facility_j.unwrap_or(0.0),
        l.energy.facility_j.unwrap_or(0.0),
        rel(
            f.energy.facility_j.unwrap_or(0.0),
            l.energy.facility_j.unwrap_or(0.0)
        ),
        f.facility.as_ref().map_or(0.0, |x| x.pue),
        l.facility.as_ref().map_or(0.0, |x| x.pue),
    );
    let (fi, li) = (f.inference.as_ref().unwrap(), l.inference.as_ref().unwrap());
    println!(
        "long_horizon whole-run ttft p50 {:.4}/{:.4} p99 {:.4}/{:.4}  tpot p50 {:.5}/{:.5} p99 {:.5}/{:.5}  slo {:.4}/{:.4}  generated {}/{}  (full/long)",
        fi.ttft_s.p50,
        li.ttft_s.p50,
        fi.ttft_s.p99,
        li.ttft_s.p99,
        fi.tpot_s.p50,
        li.tpot_s.p50,
        fi.tpot_s.p99,
        li.tpot_s.p99,
        fi.slo.attainment,
        li.slo.attainment,
        fi.tokens.generated,
        li.tokens.generated
    );
    // Hourly percentiles: the full run's requests by arrival hour; the long-horizon run's from its windows.
    let hours = (days * 24) as usize;
    let mut ttft = vec![Vec::new(); hours];
    let mut tpot = vec![Vec::new(); hours];
    for r in &records {
        let h = (r.arrival_s / 3600.0) as usize;
        if let (Some(d), true) = (r.done, h < hours) {
            ttft[h].push(d.ttft_s);
            if r.output_tokens > 1 {
                tpot[h].push(d.tpot_s);
            }
        }
    }
    // The long-horizon percentiles of hour h: the timeseries row in the middle of the hour.
    let row = |h: usize| {
        long_out
            .timeseries
            .iter()
            .find(|r| r.time_s == h as f64 * 3600.0 + 1800.0)
            .and_then(|r| r.serving)
            .expect("a serving row in every hour")
    };
    let mut errs: [Vec<f64>; 4] = Default::default();
    for h in 0..hours {
        if ttft[h].len() < 100 {
            continue;
        }
        let (a, b) = (
            output::Stats::from_values(&mut ttft[h]),
            output::Stats::from_values(&mut tpot[h]),
        );
        let r = row(h);
        for (k, (full, long)) in [
            (a.p50, r.ttft_p50_s),
            (a.p99, r.ttft_p99_s),
            (b.p50, r.tpot_p50_s),
            (b.p99, r.tpot_p99_s),
        ]
        .into_iter()
        .enumerate()
        {
            errs[k].push(((long - full) / full).abs());
        }
    }
    for (name, e) in ["ttft_p50", "ttft_p99", "tpot_p50", "tpot_p99"]
        .iter()
        .zip(errs.iter_mut())
    {
        let n = e.len();
        let (med, p90, worst, within) = spread(e);
        println!(
            "long_horizon hourly {name} hours={n} median_err={med:.4} p90_err={p90:.4} worst_err={worst:.4} within_5pct={within:.3}"
        );
    }
}

fn year(dir: &std::path::Path) {
    let replicas = env_u64("LH_YEAR_REPLICAS", 1000);
    let window = env_u64("LH_WINDOW_S", 1800);
    let loaded = load(
        dir,
        "year.ron",
        &scenario(replicas, 365, Some((32, window))),
    );
    let t = Instant::now();
    let out = twin::run(&loaded, &mut |_| {}).expect("year run");
    let wall_s = t.elapsed().as_secs_f64();
    let s = &out.summary;
    let i = s.inference.as_ref().unwrap();
    let lh = i.long_horizon.as_ref().unwrap();
    println!(
        "long_horizon year replicas={replicas} sampled={} windows={} window_events={} horizon_events={} wall_s={wall_s:.2} peak_rss_mib={:.0} it_mwh={:.1} facility_mwh={:.1} pue={:.4} requests={} ttft_p99_s={:.3} tpot_p99_s={:.4}",
        lh.replicas_sampled,
        lh.windows.len(),
        lh.window_events,
        s.events_processed - lh.window_events,
        peak_rss_mib().unwrap_or(0.0),
        s.energy.it_j / 3.6e9,
        s.energy.facility_j.unwrap_or(0.0) / 3.6e9,
        s.facility.as_ref().map_or(0.0, |f| f.pue),
        i.requests.arrived,
        i.ttft_s.p99,
        i.tpot_s.p99,
    );
}

fn main() {
    let dir = std::env::temp_dir().join(format!("dctwin-long-horizon-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    if std::env::var_os("LH_SKIP_VALIDATION").is_none() {
        validation(&dir);
    }
    if std::env::var_os("LH_SKIP_YEAR").is_none() {
        year(&dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
