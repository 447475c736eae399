//! Inference replicas under a static per-GPU power cap (`facility.capping.gpu_cap_w`): compute-bound prefill
//! slows by the DVFS clock ratio, memory-bound decode does not; GPUs never draw more than the cap; energy
//! integrates exactly (docs/models.md §Power capping, "Inference replicas").
use models::inference::config::{Batching, Efficiency, LlmModel};
use models::inference::perf::{BatchShape, ReplicaPerf};
use models::inference::power_cap::{GpuPowerCap, capped_iteration};
use output::{InferenceSummary, RunOutput};
use scenario::load_scenario;
use sim::SimDuration;

use crate::common::{catalog, root, temp_dir, write};

const LLAMA8B: &str = r#"LlmModel(name: "llama-3-8b", params: 8.0e9, layers: 32, hidden: 4096, kv_heads: 8, head_dim: 128, ffn_hidden: 14336, vocab: 128256)"#;
const CAP_W: f64 = 350.0;
const PROMPT: u64 = 4096;
const OUTPUT: u64 = 64;

fn llama8b() -> LlmModel {
    LlmModel {
        name: "llama-3-8b".into(),
        params: 8.0e9,
        layers: 32,
        hidden: 4096,
        kv_heads: 8,
        head_dim: 128,
        bytes_per_param: 2.0,
        heads: None,
        ffn_hidden: Some(14336),
        gated_mlp: true,
        vocab: Some(128_256),
    }
}

fn h100() -> models::catalog::GpuModel {
    let path = root().join("scenarios/catalog/gpus.ron");
    let cat: scenario::catalog::CatalogFile =
        scenario::parse_ron(&path, &std::fs::read_to_string(&path).unwrap()).unwrap();
    cat.gpus.into_iter().find(|g| g.name == "H100").unwrap()
}

/// One HGX H100 server, eight Llama-3-8B replicas on one GPU each, 4,096-token prompts and `output` tokens out
/// at 2 requests/s (about one replica busy in eight: almost every request runs alone on its replica).
/// `facility` is the body of `facility: (…)`, or empty for none.
fn scenario(seed: u64, output: u64, batching: &str, facility: &str) -> String {
    let facility = if facility.is_empty() {
        String::new()
    } else {
        format!("facility: ({facility}),")
    };
    format!(
        r#"Scenario(
    name: "inference-capping",
    seed: {seed},
    horizon_s: 1800.0,
    catalog: "{cat}",
    site: Layout(
        server_templates: {{
            "hgx": ServerTemplate(gpu_model: "H100", gpus: 8, host: HostPower(idle_w: 1200.0, max_w: 3400.0)),
        }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [RackGroup(count: 1, servers: [ServerGroup(template: "hgx", count: 1)])])])],
    ),
    workload: Inference(
        requests: Synthetic(arrivals: Poisson(rate_per_s: 2.0), prompt_tokens: Constant(value: {PROMPT}),
            output_tokens: Constant(value: {output})),
        deployment: Deployment(model: {LLAMA8B}, gpu_model: "H100", tp: 1, replicas: 8),
        {batching}
    ),
    {facility}
    reporting: (interval_s: 60.0),
)
"#,
        cat = catalog()
    )
}

fn capped() -> String {
    format!("capping: (gpu_cap_w: {CAP_W:?})")
}

fn run(tag: &str, text: &str) -> RunOutput {
    let dir = temp_dir(&format!("infcap-{tag}"));
    let path = write(&dir, "s.ron", text);
    let loaded = load_scenario(&path, &[], None).unwrap_or_else(|e| panic!("{e}"));
    twin::run(&loaded, &mut |_| {}).expect("run")
}

fn inf(out: &RunOutput) -> &InferenceSummary {
    out.summary.inference.as_ref().expect("inference section")
}

fn perf() -> ReplicaPerf {
    ReplicaPerf::new(
        &llama8b(),
        &h100(),
        1,
        &Efficiency::default(),
        &Batching::default(),
    )
    .unwrap()
}

fn cap() -> GpuPowerCap {
    let cfg = models::facility::capping::CappingConfig {
        gpu_cap_w: Some(CAP_W),
        ..Default::default()
    };
    GpuPowerCap::new(&cfg, &h100()).unwrap().unwrap()
}

/// An iteration time as the engine schedules it (whole ns).
fn ns(s: f64) -> f64 {
    SimDuration::from_secs_f64(s)
        .unwrap()
        .max(SimDuration::from_nanos(1))
        .as_secs_f64()
}

/// TTFT and TPOT of a request alone on its replica: one prefill iteration, then `OUTPUT − 1` decode iterations;
/// uncapped and capped.
fn alone() -> ((f64, f64), (f64, f64)) {
    let (p, c) = (perf(), cap());
    let mut b = BatchShape::default();
    b.add_prefill(0, PROMPT);
    let pre = p.iteration(&b);
    let ttft = (ns(pre.total_s), ns(capped_iteration(&pre, &c).total_s));
    let (mut d0, mut d1) = (0.0, 0.0);
    for g in 1..OUTPUT {
        let mut b = BatchShape::default();
        b.add_decode(PROMPT + g);
        let it = p.iteration(&b);
        let k = capped_iteration(&it, &c);
        assert_eq!(
            k.clock_ratio, 1.0,
            "a lone decode stays within the cap: {k:?}"
        );
        d0 += ns(it.total_s);
        d1 += ns(k.total_s);
    }
    let n = (OUTPUT - 1) as f64;
    (ttft, (d0 / n, d1 / n))
}

/// Same load with and without a 350 W cap: TTFT (one compute-bound prefill) rises by exactly `1/r` of its
/// compute time; TPOT (memory-bound decode, below the cap) does not move.
#[test]
fn prefill_slows_by_the_clock_ratio_and_decode_does_not() {
    let free = run("free", &scenario(3, OUTPUT, "", ""));
    let capd = run("capped", &scenario(3, OUTPUT, "", &capped()));
    let (f, c) = (inf(&free), inf(&capd));
    let ((ttft0, ttft1), (tpot0, tpot1)) = alone();
    // Closed form of the prefill: demand and clock ratio (P_s = 100 W, γ = 3).
    let mut b = BatchShape::default();
    b.add_prefill(0, PROMPT);
    let pre = perf().iteration(&b);
    let demand = 70.0 + pre.activity * 630.0;
    let r = ((CAP_W - 100.0) / (demand - 100.0)).powf(1.0 / 3.0);
    println!(
        "prefill of {PROMPT} tokens: t_compute {:.4} s, demand {demand:.1} W, r = {r:.4}; expected TTFT {ttft0:.4} → \
         {ttft1:.4} s (×{:.3}), TPOT {tpot0:.5} → {tpot1:.5} s",
        pre.compute_s,
        ttft1 / ttft0
    );
    println!(
        "uncapped: TTFT p50/p99 {:.4}/{:.4} s, TPOT p50/p99 {:.5}/{:.5} s; capped at {CAP_W} W: TTFT p50/p99 \
         {:.4}/{:.4} s, TPOT p50/p99 {:.5}/{:.5} s; {:?}",
        f.ttft_s.p50,
        f.ttft_s.p99,
        f.tpot_s.p50,
        f.tpot_s.p99,
        c.ttft_s.p50,
        c.ttft_s.p99,
        c.tpot_s.p50,
        c.tpot_s.p99,
        c.capping
    );
    // The compute stretches by 1/r; the memory-bound element-wise work and the kernels' fixed times do not.
    assert!((ttft1 - (pre.compute_s / r + pre.excess_s + pre.overhead_s)).abs() < 2e-9);
    assert!(ttft1 / ttft0 > 1.2, "a marked rise: {ttft0} → {ttft1}");
    assert_eq!(tpot0, tpot1);
    // The median request ran alone on its replica: the closed forms, to the nanosecond rounding.
    for (got, want) in [
        (f.ttft_s.p50, ttft0),
        (c.ttft_s.p50, ttft1),
        (f.tpot_s.p50, tpot0),
        (c.tpot_s.p50, tpot1),
    ] {
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }
    // Over all requests (a few shared a replica): TTFT up by the clock ratio, TPOT within 1 %.
    let ttft_mean = c.ttft_s.mean / f.ttft_s.mean;
    assert!(
        (ttft_mean - ttft1 / ttft0).abs() < 0.02,
        "mean TTFT ratio {ttft_mean}"
    );
    let tpot_mean = c.tpot_s.mean / f.tpot_s.mean;
    assert!(
        (tpot_mean - 1.0).abs() < 0.01,
        "mean TPOT ratio {tpot_mean}"
    );
    assert_eq!(f.requests.arrived, c.requests.arrived);
    assert!(f.capping.is_none());
    // Power: never above the cap; capped iterations draw it exactly; they are the prefills.
    let k = c.capping.expect("capping section");
    assert_eq!(k.gpu_cap_w, Some(CAP_W));
    assert_eq!(k.peak_gpu_w, CAP_W);
    assert!(k.capped_iterations >= c.requests.completed);
    assert!(k.capped_iterations <= c.requests.arrived + 5, "{k:?}");
    assert!((k.clock_ratio_mean - r).abs() < 0.01, "{k:?}");
    // Time added: (1/r − 1) · t_compute per prefill.
    let per = ttft1 - ttft0;
    assert!(
        (k.added_iteration_s / k.capped_iterations as f64 - per).abs() < 0.05 * per,
        "{k:?}"
    );
    // Site IT power never above the uncapped peak.
    assert!(capd.summary.power.it_peak_w <= free.summary.power.it_peak_w);
}

/// Prefill-only requests one per iteration: GPU energy is exactly 8 idle GPUs over the horizon plus each
/// iteration's (P − P_idle) × its duration, with P the cap and the stretched duration.
#[test]
fn capped_energy_integrates_exactly() {
    let batching = "batching: Batching(max_batch_requests: 1),";
    let (p, c) = (perf(), cap());
    let mut b = BatchShape::default();
    b.add_prefill(0, PROMPT);
    let pre = p.iteration(&b);
    let k = capped_iteration(&pre, &c);
    for (tag, facility, gpu_w, d) in [
        (
            "e-free",
            String::new(),
            70.0 + pre.activity * 630.0,
            ns(pre.total_s),
        ),
        ("e-capped", capped(), CAP_W, ns(k.total_s)),
    ] {
        let out = run(tag, &scenario(5, 1, batching, &facility));
        let i = inf(&out);
        assert_eq!(
            (i.requests.in_service_at_end, i.requests.queued_at_end),
            (0, 0)
        );
        let n = i.replicas.iterations as f64;
        assert_eq!(i.replicas.iterations, i.requests.completed);
        let want = 8.0 * 70.0 * 1800.0 + n * (gpu_w - 70.0) * d;
        let got = out.summary.energy.gpu_j;
        println!(
            "{tag}: {n} iterations of {d:.6} s at {gpu_w:.1} W: GPU energy {got:.3} J, closed form {want:.3} J"
        );
        assert!((got - want).abs() < 1e-9 * want, "{got} vs {want}");
        let pre_j = i.energy.prefill_gpu_j;
        assert!((pre_j - n * gpu_w * d).abs() < 1e-9 * pre_j, "{pre_j}");
    }
}

/// Same seed → same bytes (summary and time series); another seed → other figures.
#[test]
fn capped_runs_are_deterministic() {
    let go = |seed: u64| {
        let mut out = run(
            &format!("det-{seed}"),
            &scenario(seed, OUTPUT, "", &capped()),
        );
        out.summary.wall_time_s = 0.0;
        (
            serde_json::to_string(&out.summary).unwrap(),
            format!("{:?}", out.timeseries),
        )
    };
    let a = go(7);
    assert!(a.0.contains("\"capping\":{\"gpu_cap_w\":350.0,\"capped_iterations\":"));
    assert_eq!(a, go(7));
    assert_ne!(a.0, go(8).0);
}

/// A cap at or below the GPU's static power (100 W of the H100's 700 W) leaves no clock: rejected at load
/// with the field named.
#[test]
fn a_cap_that_leaves_no_clock_is_rejected() {
    let dir = temp_dir("infcap-bad");
    let path = write(
        &dir,
        "s.ron",
        &scenario(1, OUTPUT, "", "capping: (gpu_cap_w: 90.0)"),
    );
    let e = load_scenario(&path, &[], None).unwrap_err().to_string();
    assert!(
        e.contains("facility.capping.gpu_cap_w") && e.contains("static power"),
        "{e}"
    );
}

/// Shared fleet: the serving side is capped too (replicas beside jobs on two HGX servers).
#[test]
fn shared_fleet_replicas_are_capped() {
    let text = |facility: &str| {
        format!(
            r#"Scenario(
    name: "shared-capped",
    seed: 2,
    horizon_s: 1800.0,
    catalog: "{cat}",
    site: Layout(
        server_templates: {{
            "hgx": ServerTemplate(gpu_model: "H100", gpus: 8, host: HostPower(idle_w: 1200.0, max_w: 3400.0)),
        }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [RackGroup(count: 1, servers: [ServerGroup(template: "hgx", count: 2)])])])],
    ),
    workload: Synthetic(interarrival_s: Exponential(mean_s: 300.0), duration_s: Constant(value_s: 600.0), gpus: Constant(value: 4)),
    serving: (inference: (
        requests: Synthetic(arrivals: Poisson(rate_per_s: 1.0), prompt_tokens: Constant(value: {PROMPT}),
            output_tokens: Constant(value: {OUTPUT})),
        deployment: Deployment(model: {LLAMA8B}, gpu_model: "H100", tp: 1, replicas: 4),
    )),
    {facility}
    reporting: (interval_s: 60.0),
)
"#,
            cat = catalog()
        )
    };
    let free = run("shared-free", &text(""));
    let capd = run(
        "shared-capped",
        &text(&format!("facility: ({}),", capped())),
    );
    let (f, c) = (inf(&free), inf(&capd));
    let ((ttft0, ttft1), (tpot0, _)) = alone();
    println!(
        "shared fleet: TTFT p50 {:.4} → {:.4} s, TPOT p50 {:.5} → {:.5} s; {:?}",
        f.ttft_s.p50, c.ttft_s.p50, f.tpot_s.p50, c.tpot_s.p50, c.capping
    );
    assert!((f.ttft_s.p50 - ttft0).abs() < 1e-9 && (c.ttft_s.p50 - ttft1).abs() < 1e-9);
    assert!((f.tpot_s.p50 - tpot0).abs() < 1e-9 && (c.tpot_s.p50 - tpot0).abs() < 1e-9);
    let k = c.capping.expect("capping section");
    assert_eq!(k.peak_gpu_w, CAP_W);
    assert!(k.capped_iterations > 0);
    assert!(capd.summary.shared_fleet.is_some());
}
