//! The serving iteration model against Vidur's H100 measurements of Llama-2-70B (docs/models.md §LLM inference
//! serving, calibration). `cargo test -p models --test serving_calibration -- --nocapture` prints the table.

// Measured figures, not constants: 0.318 ms is an all-reduce time, not 1/π.
#![allow(clippy::approx_constant)]

use models::catalog::{Catalog, GpuModel};
use models::inference::config::{Batching, Efficiency, LlmModel};
use models::inference::perf::{BatchShape, ReplicaPerf};

fn h100() -> GpuModel {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/catalog/gpus.ron");
    // The file's server templates (read by the scenario crate) are skipped here.
    #[derive(serde::Deserialize)]
    #[serde(rename = "Catalog")]
    struct File {
        gpus: Vec<GpuModel>,
    }
    let f: File = ron::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let c = Catalog { gpus: f.gpus };
    c.gpus[c.index_of("H100").unwrap()].clone()
}

fn llama2_70b() -> LlmModel {
    ron::from_str(
        r#"(name: "llama-2-70b", params: 70e9, layers: 80, hidden: 8192, kv_heads: 8, head_dim: 128,
            ffn_hidden: Some(28672), vocab: Some(32000))"#,
    )
    .unwrap()
}

/// One transformer layer of Llama-2-70B on H100s, measured by Vidur's profiler (median runs, ms):
/// `(tp, tokens, layer without the attention core, one all-reduce of tokens · 8192 · 2 B)`. The layer is the
/// sum of its measured operations — QKV, attention output, MLP up and down, two RMS norms, the activation,
/// two residual adds, the rotary embedding (microsoft/vidur, `data/profiling/compute/h100/meta-llama/
/// Llama-2-70b-hf/mlp.csv`); the all-reduce is `data/profiling/network/h100_dgx/all_reduce.csv` at the
/// nearest size. MIT licence; Agrawal et al., "Vidur", MLSys 2024.
const VIDUR_LAYER_MS: [(u32, u64, f64, f64); 18] = [
    (2, 1, 0.3210, 0.011),
    (2, 16, 0.3250, 0.041),
    (2, 128, 0.3540, 0.039),
    (2, 512, 0.7160, 0.046),
    (2, 2048, 2.8485, 0.136),
    (2, 4096, 5.5575, 0.245),
    (4, 1, 0.1810, 0.038),
    (4, 16, 0.1835, 0.042),
    (4, 128, 0.2020, 0.034),
    (4, 512, 0.3820, 0.062),
    (4, 2048, 1.4505, 0.167),
    (4, 4096, 2.8350, 0.318),
    (8, 1, 0.1055, 0.029),
    (8, 16, 0.1085, 0.039),
    (8, 128, 0.1280, 0.039),
    (8, 512, 0.2280, 0.074),
    (8, 2048, 0.8250, 0.196),
    (8, 4096, 1.6010, 0.322),
];

/// A replica's iteration without its attention core and output layer (what the rows measure): the layer's
/// GEMMs and element-wise work, and its two all-reduces, over 80 layers, against the same from Vidur's
/// measurements.
#[test]
fn serving_iteration_matches_vidur_h100_profiles() {
    let gpu = h100();
    let mut errs = Vec::new();
    println!(
        "{:>3} {:>6} {:>10} {:>10} {:>8}",
        "tp", "tokens", "Vidur ms", "dctwin ms", "error"
    );
    for (tp, n, layer_ms, ar_ms) in VIDUR_LAYER_MS {
        let p = ReplicaPerf::new(
            &llama2_70b(),
            &gpu,
            tp,
            &Efficiency::default(),
            &Batching::default(),
        )
        .unwrap();
        let b = BatchShape {
            prefill_tokens: n,
            ..BatchShape::default()
        };
        let parts = p.parts(&b);
        let model_ms = 1e3 * (parts.gemm_s + parts.elementwise_s + parts.tp_comm_s);
        let measured_ms = 80.0 * (layer_ms + 2.0 * ar_ms);
        let err = (model_ms - measured_ms) / measured_ms;
        println!(
            "{tp:>3} {n:>6} {measured_ms:>10.3} {model_ms:>10.3} {:>+7.1}%",
            100.0 * err
        );
        errs.push(err);
    }
    let mut a: Vec<f64> = errs.iter().map(|e| e.abs()).collect();
    a.sort_by(f64::total_cmp);
    let median = 0.5 * (a[a.len() / 2 - 1] + a[a.len() / 2]);
    let worst = a[a.len() - 1];
    println!(
        "{} iterations: median |error| {:.1}%, worst {:.1}%",
        a.len(),
        100.0 * median,
        100.0 * worst
    );
    assert!(median <= 0.10, "median {median}");
    assert!(worst <= 0.25, "worst {worst}");
}
