//! LLM inference serving: queueing closed forms, Little's law, conservation, real Azure traces.
use models::inference::config::{Batching, Efficiency, LlmModel};
use models::inference::perf::{BatchShape, ReplicaPerf};
use output::{InferenceSummary, RunOutput};
use scenario::load_scenario;

use crate::common::{catalog, root, shared, temp_dir, write};

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

const LLAMA8B: &str = r#"LlmModel(name: "llama-3-8b", params: 8.0e9, layers: 32, hidden: 4096, kv_heads: 8, head_dim: 128, ffn_hidden: 14336, vocab: 128256)"#;

/// One HGX H100 server; `workload` is the body of `Inference(...)`.
fn scenario(name: &str, horizon_s: f64, workload: &str) -> String {
    format!(
        r#"Scenario(
    name: "{name}",
    seed: 11,
    horizon_s: {horizon_s:?},
    catalog: "{cat}",
    site: Layout(
        server_templates: {{
            "hgx": ServerTemplate(gpu_model: "H100", gpus: 8, host: HostPower(idle_w: 1200.0, max_w: 3400.0)),
        }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [RackGroup(count: 1, servers: [ServerGroup(template: "hgx", count: 1)])])])],
    ),
    workload: Inference({workload}),
    reporting: (interval_s: 3600.0),
)
"#,
        cat = catalog()
    )
}

fn run(tag: &str, text: &str, sets: &[&str]) -> RunOutput {
    let dir = temp_dir(&format!("inference-{tag}"));
    let path = write(&dir, "s.ron", text);
    let overrides: Vec<_> = sets
        .iter()
        .map(|s| scenario::Override::parse(s).unwrap())
        .collect();
    let loaded = load_scenario(&path, &overrides, None).unwrap_or_else(|e| panic!("{e}"));
    twin::run(&loaded, &mut |_| {}).expect("run")
}

fn inf(out: &RunOutput) -> &InferenceSummary {
    out.summary.inference.as_ref().expect("inference section")
}

fn assert_conserved(i: &InferenceSummary) {
    let r = &i.requests;
    assert_eq!(
        r.arrived,
        r.completed + r.in_service_at_end + r.queued_at_end,
        "{r:?}"
    );
    assert!(
        i.little_law.relative_error < 0.01,
        "Little's law off: {:?}",
        i.little_law
    );
}

/// Batch size 1, fixed sizes, Poisson arrivals: M/D/1. Mean wait against Pollaczek–Khinchine.
#[test]
fn single_replica_batch_one_is_md1() {
    let perf = ReplicaPerf::new(
        &llama8b(),
        &catalog_h100(),
        1,
        &Efficiency::default(),
        &Batching::default(),
    )
    .unwrap();
    let mut shape = BatchShape::default();
    shape.add_prefill(0, 512);
    // Service = one prefill iteration that also yields the single output token, rounded to whole ns as the
    // engine does.
    let d = sim::SimDuration::from_secs_f64(perf.iteration(&shape).total_s)
        .unwrap()
        .as_secs_f64();
    for (rho, n) in [(0.5, 200_000.0), (0.8, 400_000.0)] {
        let rate = rho / d;
        let w = format!(
            "requests: Synthetic(arrivals: Poisson(rate_per_s: {rate:?}), prompt_tokens: Constant(value: 512), \
             output_tokens: Constant(value: 1)),
             deployment: Deployment(model: {LLAMA8B}, gpu_model: \"H100\", tp: 1, replicas: 1),
             batching: Batching(max_batch_requests: 1)"
        );
        let out = run(&format!("md1-{rho}"), &scenario("md1", n / rate, &w), &[]);
        let i = inf(&out);
        assert_conserved(i);
        let pk = rho * d / (2.0 * (1.0 - rho));
        let got = i.queue_wait_s.mean;
        let err = (got - pk).abs() / pk;
        println!(
            "M/D/1 rho={rho} D={d:.6}s requests={} Wq={got:.6}s P-K={pk:.6}s error={:.2}%",
            i.requests.completed,
            err * 100.0
        );
        assert!(
            err < 0.03,
            "rho {rho}: Wq {got} vs P-K {pk} ({:.2}%)",
            err * 100.0
        );
        // Utilisation of the single replica is rho.
        assert!(
            (i.replicas.utilization_mean - rho).abs() < 0.01,
            "{:?}",
            i.replicas
        );
        // Headroom: every iteration is one 512-token prefill of one request: 512/8192 of the token budget and
        // the whole request limit, however busy the replica is.
        let h = &i.replicas.headroom;
        assert!(
            (h.token_budget_occupancy_mean - 512.0 / 8192.0).abs() < 1e-12,
            "{h:?}"
        );
        assert_eq!(h.token_budget_occupancy_max, 512.0 / 8192.0);
        assert!(
            (h.batch_requests_occupancy_mean - 1.0).abs() < 1e-12,
            "{h:?}"
        );
        assert!(
            h.kv_occupancy_max > 0.0 && h.kv_occupancy_max < 0.01,
            "{h:?}"
        );
    }
}

fn catalog_h100() -> models::catalog::GpuModel {
    let cat: scenario::catalog::CatalogFile = scenario::parse_ron(
        &root().join("scenarios/catalog/gpus.ron"),
        &std::fs::read_to_string(root().join("scenarios/catalog/gpus.ron")).unwrap(),
    )
    .unwrap();
    cat.gpus.into_iter().find(|g| g.name == "H100").unwrap()
}

/// A small KV cache under heavy load forces preemptions; recomputed tokens are counted and nothing is lost.
#[test]
fn preemption_is_counted_and_conserves_requests() {
    // 70B on 2 H100s: (160 − 140 − 8) GB of KV ≈ 36k tokens; 2,000-token prompts at 2/s on one replica overflow it.
    let w = String::from(
        "requests: Synthetic(arrivals: Poisson(rate_per_s: 2.0), prompt_tokens: Uniform(min: 1000, max: 3000), \
         output_tokens: Uniform(min: 100, max: 400)),
         deployment: Deployment(model: LlmModel(name: \"70b\", params: 70.0e9, layers: 80, hidden: 8192, kv_heads: 8, head_dim: 128), gpu_model: \"H100\", tp: 2, replicas: 1),
         batching: Batching(kv_policy: PreemptRecompute)"
    );
    let out = run("preempt", &scenario("preempt", 1800.0, &w), &[]);
    let i = inf(&out);
    assert_conserved(i);
    assert!(
        i.requests.preemptions > 0 && i.requests.recomputed_tokens > 0,
        "{:?}",
        i.requests
    );
    // The same load reserving whole requests never preempts.
    let out = run(
        "reserve",
        &scenario("reserve", 1800.0, &w),
        &["workload.Inference.batching.kv_policy=ReserveFull"],
    );
    let j = inf(&out);
    assert_conserved(j);
    assert_eq!(
        (j.requests.preemptions, j.requests.recomputed_tokens),
        (0, 0)
    );
}

/// Routers differ but all conserve requests; energy splits into prefill and decode.
#[test]
fn routers_conserve_and_energy_is_split() {
    for router in ["RoundRobin", "LeastOutstanding", "JoinShortestQueue"] {
        let w = format!(
            "requests: Synthetic(arrivals: Gamma(rate_per_s: 20.0, cv: 2.0), prompt_tokens: LogNormal(mu: 6.5, sigma: 1.0, max: 4000), \
             output_tokens: LogNormal(mu: 4.5, sigma: 0.8, max: 800)),
             deployment: Deployment(model: {LLAMA8B}, gpu_model: \"H100\", tp: 1, replicas: 8),
             router: {router}"
        );
        let out = run(
            &format!("router-{router}"),
            &scenario("routers", 900.0, &w),
            &[],
        );
        let i = inf(&out);
        assert_conserved(i);
        assert!(i.energy.prefill_gpu_j > 0.0 && i.energy.decode_gpu_j > 0.0);
        assert!(i.energy.prefill_gpu_j + i.energy.decode_gpu_j < out.summary.energy.gpu_j);
        assert!(i.ttft_s.p50 <= i.ttft_s.p90 && i.ttft_s.p90 <= i.ttft_s.p99);
    }
}

fn azure(name: &str) -> String {
    shared()
        .join("traces/azure-llm-2023")
        .join(name)
        .display()
        .to_string()
}

/// Both Azure traces replay to completion on the shipped deployment.
#[test]
fn azure_traces_replay_completely() {
    let scen = root().join("scenarios/inference-azure.ron");
    for (file, n) in [
        ("AzureLLMInferenceTrace_code.csv", 8_819u64),
        ("AzureLLMInferenceTrace_conv.csv", 19_366),
    ] {
        let set = format!(
            "workload.Inference.requests.AzureTrace.path={}",
            azure(file)
        );
        let loaded =
            load_scenario(&scen, &[scenario::Override::parse(&set).unwrap()], None).unwrap();
        let out = twin::run(&loaded, &mut |_| {}).expect("run");
        let i = inf(&out);
        assert_conserved(i);
        assert_eq!(i.requests.arrived, n, "{file}");
        assert_eq!(
            i.requests.completed, n,
            "{file}: the horizon leaves time to drain"
        );
        println!(
            "{file}: {n} requests, TTFT p50/p90/p99 = {:.3}/{:.3}/{:.3} s, TPOT p50/p90/p99 = {:.4}/{:.4}/{:.4} s, \
             SLO attainment {:.3}, {:.3} J/token",
            i.ttft_s.p50,
            i.ttft_s.p90,
            i.ttft_s.p99,
            i.tpot_s.p50,
            i.tpot_s.p90,
            i.tpot_s.p99,
            i.slo.attainment,
            i.energy.it_per_generated_token_j
        );
    }
}

/// Same seed → same results; another seed → different ones (synthetic day, first two hours).
#[test]
fn inference_runs_are_deterministic() {
    let scen = root().join("scenarios/inference-day.ron");
    let go = |seed: u64| {
        let o = scenario::Override::parse("horizon_s=7200").unwrap();
        let loaded = load_scenario(&scen, &[o], Some(seed)).unwrap();
        let mut out = twin::run(&loaded, &mut |_| {}).expect("run");
        out.summary.wall_time_s = 0.0;
        (
            serde_json::to_string(&out.summary).unwrap(),
            format!("{:?}", out.timeseries),
        )
    };
    let a = go(7);
    assert_eq!(a, go(7));
    assert_ne!(a.0, go(8).0);
}

/// Autoscaling follows a diurnal load: fewer replicas serve at night than at the peak, requests are conserved,
/// and replica-time drops against a fixed fleet.
#[test]
fn autoscaling_tracks_load() {
    let w = |autoscale: &str| {
        format!(
            "requests: Synthetic(arrivals: Poisson(rate_per_s: 6.0), hourly_profile: [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, \
             1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], \
             prompt_tokens: Uniform(min: 200, max: 800), output_tokens: Uniform(min: 50, max: 150)),
             deployment: Deployment(model: {LLAMA8B}, gpu_model: \"H100\", tp: 1, replicas: 8),
             {autoscale}"
        )
    };
    let fixed = run("autoscale-fixed", &scenario("fixed", 86_400.0, &w("")), &[]);
    let scaled = run(
        "autoscale-on",
        &scenario(
            "scaled",
            86_400.0,
            &w(
                "autoscaling: Autoscaling(policy: TargetUtilization(target: 0.6), min_replicas: 1, max_replicas: 8, \
                interval_s: 60.0, warmup_s: 120.0)",
            ),
        ),
        &[],
    );
    let (f, s) = (inf(&fixed), inf(&scaled));
    assert_conserved(f);
    assert_conserved(s);
    assert_eq!(f.replicas.serving_mean, 8.0);
    assert!(
        s.replicas.scale_ups > 0 && s.replicas.scale_downs > 0,
        "{:?}",
        s.replicas
    );
    assert!(
        s.replicas.serving_mean < 6.0 && s.replicas.serving_mean >= 1.0,
        "{:?}",
        s.replicas
    );
    assert!(s.replicas.utilization_mean > f.replicas.utilization_mean);
    println!(
        "autoscaling: serving {:.2} replicas on average (fixed 8), utilisation {:.3} vs {:.3}, TTFT p99 {:.3} s vs {:.3} s, \
         IT energy/token {:.3} J vs {:.3} J",
        s.replicas.serving_mean,
        s.replicas.utilization_mean,
        f.replicas.utilization_mean,
        s.ttft_s.p99,
        f.ttft_s.p99,
        s.energy.it_per_generated_token_j,
        f.energy.it_per_generated_token_j
    );
}
