//! The training step model against published measurements (docs/models.md §Training calibration).
//!
//! `cargo test -p models --test training_calibration -- --nocapture` prints the table: figure, source,
//! measured, dctwin, error. The shipped catalog's kernel efficiencies (`scenarios/catalog/gpus.ron`) are the
//! only fitted figures — three per GPU type, fitted to the A100 rows (`fit_kernels`, ignored by default: it
//! prints the grid's best); the H100 rows check that the model carries to another GPU and other models.

use models::catalog::{Catalog, GpuModel};
use models::training::{
    AlphaBeta, Attention, Budget, CommModel, Parallelism, Recompute, Sharding, TrainingPlan,
    TransformerModel, estimate,
};

fn catalog() -> Catalog {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/catalog/gpus.ron");
    ron::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
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
    let host = models::site::HostPower {
        idle_w: 1200.0,
        max_w: 3400.0,
        psu_efficiency: 0.95,
    };
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
