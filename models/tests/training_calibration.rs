//! The training step model against published measurements (docs/models.md §Training calibration).
//!
//! `cargo test -p models --test training_calibration -- --nocapture` prints the table: figure, source,
//! measured, dctwin, error. The shipped catalog's kernel efficiencies (`scenarios/catalog/gpus.ron`) are the
//! only fitted figures: the A100's to the A100 step times (`fit_kernels`), the H100's to measured H100 GEMMs
//! (`fit_h100_kernels`; both ignored by default, they print the grid's best). The H100 step-time rows and the
//! node power rows are not fitted: they check that the model carries to another GPU and other models.

use models::catalog::{Catalog, GpuModel};
use models::training::kernels::gemm_s;
use models::training::{
    AlphaBeta, Attention, Budget, CommModel, Parallelism, Recompute, Sharding, TrainingPlan,
    TransformerModel, estimate,
};

fn catalog() -> Catalog {
    // The file's server templates (read by the scenario crate) are skipped here.
    #[derive(serde::Deserialize)]
    #[serde(rename = "Catalog")]
    struct File {
        gpus: Vec<GpuModel>,
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/catalog/gpus.ron");
    let f: File = ron::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    Catalog { gpus: f.gpus }
}

fn gpu(name: &str) -> GpuModel {
    let c = catalog();
    c.gpus[c.index_of(name).unwrap()].clone()
}

/// What a row measures.
#[derive(Clone, Copy)]
enum Figure {
    /// Seconds per optimizer step.
    StepS(f64),
    /// Achieved TFLOP/s per GPU with Megatron-LM's hardware-FLOPs count
    /// `96·B·s·L·h²·(1 + s/6h + V/16Lh)` (full recomputation; Narayanan et al. SC 2021, eq. 3).
    MegatronTflops(f64),
    /// TFLOP/s per GPU counting `6·P + 6·L·h·s` FLOPs per token (dense weights and causal attention).
    Tflops6P(f64),
}

struct Row {
    name: &'static str,
    source: &'static str,
    gpu: &'static str,
    plan: TrainingPlan,
    /// Network bandwidth per GPU, GB/s per direction.
    net_gbs: f64,
    figure: Figure,
}

#[allow(clippy::too_many_arguments)]
fn gpt(
    params: f64,
    heads: u32,
    hidden: u32,
    layers: u32,
    seq: u32,
    vocab: u32,
    (tp, pp, dp, v): (u32, u32, u32, u32),
    batch_seqs: u64,
    micro_seqs: u64,
) -> TrainingPlan {
    let m = batch_seqs / (dp as u64 * micro_seqs);
    TrainingPlan {
        model: TransformerModel {
            params,
            layers,
            hidden,
            seq_len: seq,
            bytes_per_param: 2.0,
            heads: Some(heads),
            kv_heads: None,
            ffn_hidden: None,
            gated_mlp: false,
            vocab: Some(vocab),
        },
        parallelism: Parallelism {
            tp,
            pp,
            dp,
            micro_batches: m as u32,
            virtual_stages: v,
            sequence_parallel: false,
        },
        global_batch_tokens: batch_seqs * seq as u64,
        budget: Budget::Steps(1),
        recompute: Recompute::Full,
        attention: Attention::Unfused,
        overlap: Some(0.0),
        sharding: Sharding::None,
        checkpoint: None,
    }
}

fn rows() -> Vec<Row> {
    const NARAYANAN: &str =
        "Narayanan et al., SC 2021, Table 1 (Selene, A100 80GB, 8×HDR per node)";
    const KORTHIKANTI: &str = "Korthikanti et al., MLSys 2023, Tables 3 and 5 (A100 80GB)";
    const LLAMA3: &str = "Llama 3 herd, Meta 2024, Table 4 (H100, 8×400G RoCE per node)";
    let mut rows = Vec::new();
    // Weak scaling, full recomputation, micro-batch 1 (assumed; the paper does not list it), 1F1B.
    for (params, heads, hidden, layers, tp, pp, gpus, batch, tflops) in [
        (1.7e9, 24, 2304, 24, 1, 1, 32, 512, 137.0),
        (3.6e9, 32, 3072, 30, 2, 1, 64, 512, 138.0),
        (7.5e9, 32, 4096, 36, 4, 1, 128, 512, 142.0),
        (18.4e9, 48, 6144, 40, 8, 1, 256, 1024, 135.0),
        (39.1e9, 64, 8192, 48, 8, 2, 512, 1536, 138.0),
        (76.1e9, 80, 10240, 60, 8, 4, 1024, 1792, 140.0),
        (145.6e9, 96, 12288, 80, 8, 8, 1536, 2304, 148.0),
        (310.1e9, 128, 16384, 96, 8, 16, 1920, 2160, 155.0),
        (529.6e9, 128, 20480, 105, 8, 35, 2520, 2520, 163.0),
        (1008.0e9, 160, 25600, 128, 8, 64, 3072, 3072, 163.0),
    ] {
        let dp = gpus / (tp * pp);
        rows.push(Row {
            name: Box::leak(
                format!("GPT {}B, {gpus} GPUs (t{tp} p{pp} d{dp})", params / 1e9).into_boxed_str(),
            ),
            source: NARAYANAN,
            gpu: "A100",
            plan: gpt(
                params,
                heads,
                hidden,
                layers,
                2048,
                51200,
                (tp, pp, dp, 1),
                batch,
                1,
            ),
            net_gbs: 25.0,
            figure: Figure::MegatronTflops(tflops),
        });
    }
    // Data parallel size 1; full recomputation (baseline) and sequence parallelism + selective recomputation.
    for (name, params, heads, hidden, layers, pp, v, batch, micro, full_s, sel_s) in [
        ("22B", 22e9, 64, 6144, 48, 1, 1, 4, 4, 1.42, 1.10),
        ("175B", 175e9, 96, 12288, 96, 8, 3, 64, 1, 18.13, 13.75),
        ("530B", 530e9, 128, 20480, 105, 35, 3, 280, 1, 49.05, 37.83),
        ("1T", 1000e9, 160, 25600, 128, 64, 1, 512, 1, 94.42, 71.49),
    ] {
        let gpus = 8 * pp;
        let base = gpt(
            params,
            heads,
            hidden,
            layers,
            2048,
            51200,
            (8, pp, 1, v),
            batch,
            micro,
        );
        rows.push(Row {
            name: Box::leak(format!("GPT {name}, {gpus} GPUs, full recompute").into_boxed_str()),
            source: KORTHIKANTI,
            gpu: "A100",
            plan: base.clone(),
            net_gbs: 25.0,
            figure: Figure::StepS(full_s),
        });
        let mut sel = base;
        sel.recompute = Recompute::Selective;
        sel.parallelism.sequence_parallel = true;
        rows.push(Row {
            name: Box::leak(format!("GPT {name}, {gpus} GPUs, SP + selective").into_boxed_str()),
            source: KORTHIKANTI,
            gpu: "A100",
            plan: sel,
            net_gbs: 25.0,
            figure: Figure::StepS(sel_s),
        });
    }
    // Llama 3 405B: 126 layers laid out as 128 pipeline slots (one layer fewer on the first and last stage,
    // paper §3.3.2), interleaved, one layer per virtual stage; GQA 8, SwiGLU 53,248, vocab 128,256,
    // sequence 8,192, 16 Mi-token batch, FlashAttention, no recomputation, gradient reduction overlapped.
    for (gpus, dp, tflops) in [(8192u32, 64u32, 430.0), (16384, 128, 400.0)] {
        let mut plan = gpt(
            405e9,
            128,
            16384,
            128,
            8192,
            128_256,
            (8, 16, dp, 8),
            2048,
            1,
        );
        plan.model.kv_heads = Some(8);
        plan.model.ffn_hidden = Some(53248);
        plan.model.gated_mlp = true;
        plan.recompute = Recompute::None;
        plan.attention = Attention::Flash;
        plan.parallelism.sequence_parallel = true;
        plan.overlap = None;
        plan.sharding = Sharding::Optimizer;
        rows.push(Row {
            name: Box::leak(format!("Llama 3 405B, {gpus} GPUs (t8 p16 d{dp})").into_boxed_str()),
            source: LLAMA3,
            gpu: "H100",
            plan,
            net_gbs: 50.0,
            figure: Figure::Tflops6P(tflops),
        });
    }
    rows
}

/// (measured, dctwin) step time of a row, s.
fn evaluate(row: &Row, gpu: &GpuModel) -> (f64, f64) {
    let plan = &row.plan;
    plan.check()
        .unwrap_or_else(|e| panic!("{}: {}", row.name, e.message));
    let comm = CommModel::AlphaBeta(AlphaBeta {
        inter_node_bw_gbs: row.net_gbs,
        ..AlphaBeta::default()
    });
    let est = estimate(plan, gpu, 8, &comm);
    let n = plan.parallelism.gpus() as f64;
    let m = &plan.model;
    let (b, s, l, h, v) = (
        (plan.global_batch_tokens / m.seq_len as u64) as f64,
        m.seq_len as f64,
        m.layers as f64,
        m.hidden as f64,
        m.vocab() as f64,
    );
    let measured = match row.figure {
        Figure::StepS(t) => t,
        Figure::MegatronTflops(x) => {
            96.0 * b * s * l * h * h * (1.0 + s / (6.0 * h) + v / (16.0 * l * h)) / (n * x * 1e12)
        }
        Figure::Tflops6P(x) => {
            plan.global_batch_tokens as f64 * (6.0 * m.params + 6.0 * 126.0 * h * s)
                / (n * x * 1e12)
        }
    };
    (measured, est.step.total_s)
}

fn errors(gpus: &dyn Fn(&str) -> GpuModel, print: bool) -> Vec<f64> {
    let mut errs = Vec::new();
    if print {
        println!(
            "{:<44} {:>5} {:>11} {:>11} {:>8}",
            "figure (step time, s)", "gpu", "measured", "dctwin", "error"
        );
    }
    for row in rows() {
        let (measured, model) = evaluate(&row, &gpus(row.gpu));
        let err = (model - measured) / measured;
        if print {
            println!(
                "{:<44} {:>5} {:>11.3} {:>11.3} {:>+7.1}%   {}",
                row.name,
                row.gpu,
                measured,
                model,
                100.0 * err,
                row.source
            );
        }
        errs.push(err);
    }
    errs
}

fn median_abs(errs: &[f64]) -> f64 {
    let mut a: Vec<f64> = errs.iter().map(|e| e.abs()).collect();
    a.sort_by(f64::total_cmp);
    let n = a.len();
    if n % 2 == 1 {
        a[n / 2]
    } else {
        0.5 * (a[n / 2 - 1] + a[n / 2])
    }
}

#[test]
fn training_step_matches_published_measurements() {
    let errs = errors(&gpu, true);
    let med = median_abs(&errs);
    let worst = errs.iter().map(|e| e.abs()).fold(0.0, f64::max);
    println!(
        "{} rows: median |error| {:.1}%, worst {:.1}%",
        errs.len(),
        100.0 * med,
        100.0 * worst
    );
    assert!(med <= 0.10, "median absolute error {med}");
    assert!(worst <= 0.20, "worst absolute error {worst}");
}

/// Grid search of the A100's three kernel efficiencies against the A100 rows (least median, then least
/// worst error). Prints the best point; the catalog carries it.
#[test]
#[ignore]
fn fit_kernels() {
    let base = gpu("A100");
    let mut best: Option<(f64, f64, f64, f64, f64)> = None;
    for gemm in (60..=95).map(|i| i as f64 / 100.0) {
        for half in [0.0, 16.0, 32.0, 48.0, 64.0, 96.0, 128.0, 192.0, 256.0] {
            for mem in [0.5, 0.6, 0.7, 0.8, 0.9] {
                let mut g = base.clone();
                g.kernels.gemm = gemm;
                g.kernels.gemm_half_dim = half;
                g.kernels.memory = mem;
                let errs: Vec<f64> = rows()
                    .iter()
                    .filter(|r| r.gpu == "A100")
                    .map(|r| {
                        let (m, d) = evaluate(r, &g);
                        (d - m) / m
                    })
                    .collect();
                let worst = errs.iter().map(|e| e.abs()).fold(0.0, f64::max);
                let score = median_abs(&errs) + worst;
                if best.is_none_or(|b| score < b.0) {
                    best = Some((score, gemm, half, mem, worst));
                }
            }
        }
    }
    println!("best (median + worst, gemm, gemm_half_dim, memory, worst): {best:?}");
}

/// Node input power of an 8×H100 HGX server training a Llama-2-13B-like model on its own (ZeRO-3 over the 8
/// GPUs, four micro-batches of one 4k sequence each — assumed: the papers give the model, not the layout), with
/// the shipped scenarios' HGX H100 host (idle 1.2 kW, 3.4 kW with every GPU allocated, PSU 0.95).
/// Measured: peak ≈ 8.4 kW (Latif et al., IEEE Access 2025, "Single-node power demand during AI training",
/// 18% below the 10.2 kW rating); computationally intensive training averages 76% of the 10.2 kW rating,
/// 7.75 kW (Newkirk et al. 2025, arXiv:2506.14551).
#[test]
fn node_power_matches_published_measurements() {
    let gpu = gpu("H100");
    let mut plan = gpt(13e9, 40, 5120, 40, 4096, 32000, (1, 1, 8, 1), 32, 1);
    plan.model.ffn_hidden = Some(13824);
    plan.model.gated_mlp = true;
    plan.recompute = Recompute::None;
    plan.attention = Attention::Flash;
    plan.sharding = Sharding::Full;
    plan.overlap = None;
    plan.check().unwrap();
    let est = estimate(&plan, &gpu, 8, &CommModel::default());
    let host = models::site::HostPower::linear(1200.0, 3400.0, 0.95);
    let p = models::training::node_power(&est, &gpu, &host, 8, 8);
    println!(
        "node power (8×H100, Llama-2-13B, ZeRO-3): peak {:.0} W (measured 8,400), mean {:.0} W (measured 7,752), \
         trough {:.0} W; step {:.3} s, MFU {:.3}",
        p.peak_w, p.mean_w, p.trough_w, est.step.total_s, est.achieved_mfu
    );
    // Not fitted: the host figures are the shipped templates', the GPU factors the catalog defaults.
    for (model, measured) in [(p.peak_w, 8400.0), (p.mean_w, 0.76 * 10200.0)] {
        let err = (model - measured) / measured;
        println!("  {model:.0} W vs {measured:.0} W: {:+.1}%", 100.0 * err);
        assert!(err.abs() <= 0.20, "{model} vs {measured}: {err}");
    }
    assert!(p.trough_w < p.mean_w && p.mean_w < p.peak_w);
}

/// Measured H100 GEMM times of Llama-2-70B's four projections (median of Vidur's profiling runs, ms):
/// `(tp, tokens, [QKV, attention output, MLP up (gated, 2f wide), MLP down])`. Source: microsoft/vidur,
/// `data/profiling/compute/h100/meta-llama/Llama-2-70b-hf/mlp.csv` (MIT licence; Agrawal et al., "Vidur",
/// MLSys 2024), first row of each (tp, tokens).
const VIDUR_H100_LLAMA2_70B_MS: [(u32, u32, [f64; 4]); 24] = [
    (1, 1, [0.0630, 0.0480, 0.3110, 0.1710]),
    (1, 16, [0.0630, 0.0490, 0.3060, 0.1630]),
    (1, 128, [0.0660, 0.0520, 0.3270, 0.1660]),
    (1, 512, [0.1560, 0.0940, 0.6500, 0.2690]),
    (1, 2048, [0.4955, 0.3950, 2.7320, 1.2805]),
    (1, 4096, [0.9825, 0.7885, 5.6685, 2.6470]),
    (2, 1, [0.0320, 0.0250, 0.1560, 0.0810]),
    (2, 16, [0.0330, 0.0260, 0.1570, 0.0820]),
    (2, 128, [0.0390, 0.0290, 0.1720, 0.0860]),
    (2, 512, [0.0740, 0.0490, 0.3860, 0.1400]),
    (2, 2048, [0.2830, 0.2255, 1.3090, 0.7390]),
    (2, 4096, [0.4930, 0.4045, 2.7560, 1.3040]),
    (4, 1, [0.0190, 0.0160, 0.0810, 0.0430]),
    (4, 16, [0.0200, 0.0145, 0.0810, 0.0450]),
    (4, 128, [0.0250, 0.0180, 0.0870, 0.0470]),
    (4, 512, [0.0460, 0.0290, 0.1810, 0.0740]),
    (4, 2048, [0.1340, 0.1100, 0.6770, 0.2940]),
    (4, 4096, [0.2465, 0.1990, 1.3610, 0.5635]),
    (8, 1, [0.0130, 0.0090, 0.0435, 0.0220]),
    (8, 16, [0.0130, 0.0090, 0.0440, 0.0225]),
    (8, 128, [0.0150, 0.0110, 0.0520, 0.0270]),
    (8, 512, [0.0290, 0.0180, 0.0910, 0.0450]),
    (8, 2048, [0.0830, 0.0500, 0.3340, 0.1520]),
    (8, 4096, [0.1505, 0.0940, 0.6430, 0.2960]),
];

/// dctwin's time for each measured GEMM, ms: (measured, model) pairs.
fn vidur_gemms(gpu: &GpuModel) -> Vec<(f64, f64)> {
    let (h, f, qkv) = (8192.0, 28672.0, (64.0 + 2.0 * 8.0) * 128.0);
    let mut out = Vec::new();
    for (tp, n, ms) in VIDUR_H100_LLAMA2_70B_MS {
        let (t, m) = (tp as f64, n as f64);
        let shapes = [
            (m, qkv / t, h),
            (m, h, h / t),
            (m, 2.0 * f / t, h),
            (m, h, f / t),
        ];
        for ((mm, nn, kk), measured) in shapes.into_iter().zip(ms) {
            out.push((measured, 1e3 * gemm_s(mm, nn, kk, 2.0, gpu)));
        }
    }
    out
}

/// The GEMM roofline with its shape efficiency against 96 measured H100 GEMMs (Llama-2-70B's projections at
/// 1 to 4,096 tokens, tensor parallelism 1 to 8): the H100's `gemm`, `gemm_half_dim` and `memory` in the catalog
/// are fitted to these (`fit_h100_kernels`).
#[test]
fn gemm_kernels_match_vidur_h100_profiles() {
    let pairs = vidur_gemms(&gpu("H100"));
    let errs: Vec<f64> = pairs.iter().map(|(m, d)| (d - m) / m).collect();
    let med = median_abs(&errs);
    let worst = errs.iter().map(|e| e.abs()).fold(0.0, f64::max);
    for ((tp, n, _), chunk) in VIDUR_H100_LLAMA2_70B_MS.iter().zip(pairs.chunks(4)) {
        let cells: Vec<String> = chunk
            .iter()
            .map(|(m, d)| format!("{m:.4}/{d:.4} ({:+.0}%)", 100.0 * (d - m) / m))
            .collect();
        println!("tp {tp} tokens {n:>4}: {}", cells.join("  "));
    }
    println!(
        "{} GEMMs: median |error| {:.1}%, worst {:.1}%",
        errs.len(),
        100.0 * med,
        100.0 * worst
    );
    assert!(med <= 0.10, "median {med}");
    assert!(worst <= 0.35, "worst {worst}");
}

/// Grid search of the H100's kernel figures against the Vidur GEMMs (least median + worst / 4).
#[test]
#[ignore]
fn fit_h100_kernels() {
    let base = gpu("H100");
    let mut best: Option<(f64, f64, f64, f64, f64)> = None;
    for gemm in (60..=90).map(|i| i as f64 / 100.0) {
        for half in [0.0, 16.0, 32.0, 48.0, 64.0, 96.0, 128.0, 192.0, 256.0] {
            for mem in [0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9] {
                for lat_us in [0.0, 2.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
                    let mut g = base.clone();
                    g.kernels.gemm = gemm;
                    g.kernels.gemm_half_dim = half;
                    g.kernels.memory = mem;
                    g.kernels.gemm_latency_s = lat_us * 1e-6;
                    let errs: Vec<f64> = vidur_gemms(&g).iter().map(|(m, d)| (d - m) / m).collect();
                    let worst = errs.iter().map(|e| e.abs()).fold(0.0, f64::max);
                    let score = median_abs(&errs) + worst / 4.0;
                    if best.is_none_or(|b| score < b.0) {
                        best = Some((score, gemm, half, mem, lat_us));
                    }
                }
            }
        }
    }
    println!("best (score, gemm, gemm_half_dim, memory, gemm_latency_us): {best:?}");
}
