//! Replays both Azure LLM inference traces (code + conversation, 28,185 requests) at iteration granularity on
//! `scenarios/inference-azure.ron` and prints simulated requests per wall-second. Target: both in under 1 s.
//!
//!     cargo bench --bench inference_azure

use std::time::Instant;

fn main() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let scen = root.join("scenarios/inference-azure.ron");
    let traces = root.join("../shared/traces/azure-llm-2023");
    let mut total_req = 0u64;
    let mut total_events = 0u64;
    let mut total_s = 0.0;
    for file in [
        "AzureLLMInferenceTrace_code.csv",
        "AzureLLMInferenceTrace_conv.csv",
    ] {
        let set = format!(
            "workload.Inference.requests.AzureTrace.path={}",
            traces.join(file).display()
        );
        let o = scenario::Override::parse(&set).expect("override");
        let t0 = Instant::now();
        let loaded = scenario::load_scenario(&scen, &[o], None).unwrap_or_else(|e| panic!("{e}"));
        let out = twin::run(&loaded, &mut |_| {}).expect("run");
        let wall = t0.elapsed().as_secs_f64();
        let i = out.summary.inference.as_ref().expect("inference run");
        println!(
            "inference_azure trace={file} requests={} iterations={} events={} wall_s={wall:.3} requests_per_s={:.0}",
            i.requests.completed,
            i.replicas.iterations,
            out.summary.events_processed,
            i.requests.completed as f64 / wall
        );
        total_req += i.requests.completed;
        total_events += out.summary.events_processed;
        total_s += wall;
    }
    println!(
        "inference_azure total requests={total_req} events={total_events} wall_s={total_s:.3} requests_per_s={:.0}",
        total_req as f64 / total_s
    );
}
