//! Tests against hand arithmetic (written out in the comments).

use super::kernels::gemm_s;
use super::*;
use crate::catalog::{GpuModel, KernelEfficiency, PhaseActivity, Precision};

/// H100 SXM as in `scenarios/catalog/gpus.ron`.
fn h100() -> GpuModel {
    GpuModel {
        name: "H100".into(),
        board_power_w: 700.0,
        idle_power_w: 70.0,
        peak_tflops: 989.0,
        precision: Precision::Bf16,
        memory_gb: 80.0,
        memory_bandwidth_tbs: 3.35,
        scaleup_link_gbs: 900.0,
        scaleup_reduction: true,
        activity: PhaseActivity::default(),
        kernels: KernelEfficiency {
            gemm: 0.7,
            gemm_half_dim: 128.0,
            attention: 0.35,
            memory: 0.9,
            gemm_latency_s: 0.0,
        },
        source: String::new(),
    }
}

/// Llama-2-70B-like on 1,024 H100s: tp 8 × pp 4 × dp 32, 4 Mi-token batch, 16 micro-batches.
fn llama70b() -> TrainingPlan {
    TrainingPlan {
        model: TransformerModel {
            params: 70e9,
            layers: 80,
            hidden: 8192,
            seq_len: 4096,
            bytes_per_param: 2.0,
            heads: None,
            kv_heads: None,
            ffn_hidden: None,
            gated_mlp: false,
            vocab: None,
        },
        parallelism: Parallelism {
            tp: 8,
            pp: 4,
            dp: 32,
            micro_batches: 16,
            virtual_stages: 1,
            sequence_parallel: false,
        },
        global_batch_tokens: 4_194_304,
        budget: Budget::Tokens(1_000_000_000_000),
        recompute: Recompute::None,
        attention: Attention::Flash,
        overlap: None,
        sharding: Sharding::None,
        checkpoint: None,
    }
}

/// Collectives as line-rate rings (the model of the docs/models.md worked example: ring everywhere,
/// efficiencies 1). The shipped default (NCCL's algorithms, measured efficiencies) is in
/// `llama70b_default_collectives`.
fn line_rate_ring() -> CommModel {
    CommModel::AlphaBeta(AlphaBeta {
        algorithm: CollectiveAlgorithm::Ring,
        intra_efficiency: 1.0,
        inter_efficiency: 1.0,
        ..AlphaBeta::default()
    })
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(f64::MIN_POSITIVE)
}

#[test]
fn gemm_time_closed_form() {
    let gpu = h100();
    // Large square GEMM: compute-bound at e = 0.7 / (1 + 128 · 3/8192).
    let n = 8192.0;
    let e = 0.7 / (1.0 + 128.0 * 3.0 / n);
    assert!(close(
        gemm_s(n, n, n, 2.0, &gpu),
        2.0 * n * n * n / (989e12 * e),
        1e-15
    ));
    // One row (a decode step's matrix-vector product): memory-bound, 2 bytes · (8192 + 8192² + 8192)
    // over 3.35 TB/s · 0.9.
    let want = 2.0 * (n + n * n + n) / (3.35e12 * 0.9);
    assert!(close(gemm_s(1.0, n, n, 2.0, &gpu), want, 1e-15));
    // Degenerate shapes cost nothing.
    assert_eq!(gemm_s(0.0, n, n, 2.0, &gpu), 0.0);
    // A fixed time per kernel adds to either bound.
    let mut slow = gpu.clone();
    slow.kernels.gemm_latency_s = 5e-6;
    assert!(close(gemm_s(1.0, n, n, 2.0, &slow), want + 5e-6, 1e-15));
}

#[test]
fn llama70b_step_time_by_hand() {
    let plan = llama70b();
    plan.check().unwrap();
    assert_eq!(plan.parallelism.gpus(), 1024);
    // b = 4,194,304 / (4096 · 32 · 16) = 2 sequences per micro-batch.
    assert_eq!(plan.micro_batch_sequences(), 2);
    // Defaults: 64 heads of 128, f = 4h = 32,768, P_layer = 12h² = 805,306,368; the vocabulary takes the
    // rest of 70e9: (70e9 − 80 · 805,306,368)/8192 = 680,601 (rounded down).
    let m = &plan.model;
    assert_eq!((m.heads(), m.kv_heads(), m.ffn()), (64, 64, 32768));
    assert_eq!(m.layer_params(), 12.0 * 8192.0 * 8192.0);
    assert_eq!(m.vocab(), 680_601);
    // With no shape penalty every GEMM is compute-bound at 0.7 of peak, so the GEMM time is the stage's
    // 6·P·T: 6 · (20 layers · 12h² + V·h)/tp · tokens per pipeline (4,194,304/32) / (989e12 · 0.7).
    let mut gpu = h100();
    gpu.kernels.gemm_half_dim = 0.0;
    let st = step_time(&plan, &gpu, 8, &line_rate_ring());
    let stage_params = 20.0 * 12.0 * 8192.0 * 8192.0 + 680_601.0 * 8192.0;
    let want_gemm = 6.0 * stage_params / 8.0 * (4_194_304.0 / 32.0) / (989e12 * 0.7);
    assert!(
        close(st.gemm_s, want_gemm, 1e-12),
        "{} {want_gemm}",
        st.gemm_s
    );

    let gpu = h100();
    let st = step_time(&plan, &gpu, 8, &line_rate_ring());
    // Fused causal attention: forward 4·b·(n_h/t)·s²·d_h/2 = 2·b·s²·h/t FLOPs at 0.35 of peak, backward 2.5×;
    // 16 micro-batches × 20 layers.
    let fwd = 2.0 * 2.0 * 4096.0 * 4096.0 * 8192.0 / 8.0 / (989e12 * 0.35);
    assert!(close(st.attention_s, 16.0 * 20.0 * 3.5 * fwd, 1e-12));
    // Element-wise: (10h + 2f/t) elements per token per layer forward, twice that backward, 2 bytes each,
    // plus the cross-entropy's 3·V/t per token; 8192 tokens per micro-batch; 3.35 TB/s · 0.9.
    let bw = 3.35e12 * 0.9;
    let layer = 3.0 * 8192.0 * 2.0 * (10.0 * 8192.0 + 2.0 * 32768.0 / 8.0) / bw;
    let output = 3.0 * 8192.0 * (680_601.0 / 8.0) * 2.0 / bw;
    assert!(close(
        st.elementwise_s,
        16.0 * (20.0 * layer + output),
        1e-12
    ));
    assert!(close(
        st.compute_s,
        st.gemm_s + st.attention_s + st.elementwise_s,
        1e-12
    ));

    // Tensor parallel: tp = 8 = one server → ring over NVLink at 900/2 = 450 GB/s, α 3.4 µs.
    // Activation b·s·h·2 = 2 · 4096 · 8192 · 2 = 134,217,728 B.
    // One all-reduce: 2·7·3.4e-6 + 2·7/8 · 134,217,728/450e9 = 4.76e-5 + 5.21958e-4 = 5.69558e-4 s.
    // Count: 16 micro-batches · 80/4 layers · 4 = 1,280 → 0.729034 s.
    let ar_tp = 2.0 * 7.0 * 3.4e-6 + 2.0 * 7.0 / 8.0 * 134_217_728.0 / 450e9;
    assert!(close(st.tp_comm_s, 1280.0 * ar_tp, 1e-12));
    assert!((st.tp_comm_s - 0.729034).abs() < 1e-6);

    // Pipeline sends: tp·dp = 256 ≥ 8 → across servers, 50 GB/s, α 14 µs; each TP rank sends
    // 134,217,728/8 = 16,777,216 B: 14e-6 + 16,777,216/50e9 = 3.49544e-4 s; 2·16 = 32 per step
    // → 0.0111854 s.
    let p2p = 14e-6 + 16_777_216.0 / 50e9;
    assert!(close(st.pp_comm_s, 32.0 * p2p, 1e-12));
    assert!((st.pp_comm_s - 0.0111854).abs() < 1e-6);

    // Bubble: (4 − 1)/16 of the stage work.
    let bubble = 3.0 / 16.0 * (st.compute_s + st.tp_comm_s + st.pp_comm_s);
    assert!(close(st.bubble_s, bubble, 1e-15));

    // Data parallel: gradients 70e9/(8·4) · 2 = 4.375e9 B; dp ranks at stride 8 → one per server →
    // flat ring of 32 over the network: 2·31·14e-6 + 2·31/32 · 4.375e9/50e9 = 0.17039925 s. Derived
    // overlap: hidden behind the last micro-batch's backward on a stage (20 layers' backward and half its
    // tensor-parallel traffic, 0.155 s): 0.016 s exposed.
    let ar_dp = 2.0 * 31.0 * 14e-6 + 2.0 * 31.0 / 32.0 * 4.375e9 / 50e9;
    assert!(close(st.dp_comm_s, ar_dp, 1e-12));
    assert!((st.dp_comm_s - 0.17039925).abs() < 1e-9);
    let lt = super::ops::layer_times(&plan, &gpu);
    let backward = 20.0 * (lt.backward.total_s() + lt.recompute.total_s()) + st.tp_comm_s / 32.0;
    assert!((backward - 0.1545).abs() < 1e-3, "{backward}");
    assert!(close(st.dp_exposed_s, ar_dp - backward, 1e-9));

    // Optimizer: 70e9/32 parameters per GPU · 30 B / (3.35e12 · 0.9).
    assert!(close(st.optimizer_s, 70e9 / 32.0 * 30.0 / bw, 1e-12));

    assert!(close(
        st.total_s,
        st.compute_s + st.tp_comm_s + st.pp_comm_s + st.bubble_s + st.dp_exposed_s + st.optimizer_s,
        1e-15
    ));
    assert!(close(
        st.comm_exposed_s,
        st.tp_comm_s + st.pp_comm_s + st.dp_exposed_s,
        1e-15
    ));

    let est = estimate(&plan, &gpu, 8, &line_rate_ring());
    // 1e12 / 4,194,304 = 238,418.58 → 238,419 steps; tokens = 238,419 · 4,194,304.
    assert_eq!(est.steps, 238_419);
    assert_eq!(est.tokens, 238_419 * 4_194_304);
    // Achieved MFU is an output: 6·P·T / (N · peak · step).
    assert!(close(
        est.achieved_mfu,
        6.0 * 70e9 * 4_194_304.0 / (1024.0 * 989e12 * st.total_s),
        1e-12
    ));
    assert!(close(est.tokens_per_s, 4_194_304.0 / st.total_s, 1e-12));
    assert!(close(est.time_to_finish_s, 238_419.0 * st.total_s, 1e-15));
    let act = (st.compute_s * 0.85 + (st.total_s - st.compute_s) * 0.30) / st.total_s;
    assert!(close(est.gpu_activity, act, 1e-12));
    assert_eq!(est.run_gpu_activity, est.gpu_activity);
    // GPU power (70 + a · 630) W · 1024 GPUs / tokens per second.
    let e = energy_per_token_j(&est, &gpu, 1024);
    assert!(
        close(e, (70.0 + act * 630.0) * 1024.0 / est.tokens_per_s, 1e-9),
        "{e}"
    );
}

#[test]
fn ring_all_reduce_exact() {
    // α = 5 µs, B = 50 GB/s, S = 1 GB: T = 2(p−1)·α + 2(p−1)/p · S/B.
    let link = Link {
        alpha_s: 5e-6,
        bw_bytes_per_s: 50e9,
    };
    // p = 8: 14 · 5e-6 + 1.75 · 0.02 = 7e-5 + 0.035 = 0.03507 s.
    let t8 = ring_all_reduce_s(8, 1e9, link);
    assert_eq!(t8, 2.0 * 7.0 * 5e-6 + 2.0 * 7.0 / 8.0 * 1e9 / 50e9);
    assert!((t8 - 0.03507).abs() < 1e-12);
    // p = 64: 126 · 5e-6 + 2·63/64 · 0.02 = 6.3e-4 + 0.039375 = 0.040005 s.
    let t64 = ring_all_reduce_s(64, 1e9, link);
    assert_eq!(t64, 2.0 * 63.0 * 5e-6 + 2.0 * 63.0 / 64.0 * 1e9 / 50e9);
    assert!((t64 - 0.040005).abs() < 1e-12);
    // p = 512: 1022 · 5e-6 + 2·511/512 · 0.02 = 5.11e-3 + 0.039921875 = 0.045031875 s.
    let t512 = ring_all_reduce_s(512, 1e9, link);
    assert_eq!(t512, 2.0 * 511.0 * 5e-6 + 2.0 * 511.0 / 512.0 * 1e9 / 50e9);
    assert!((t512 - 0.045031875).abs() < 1e-12);
    // One rank: nothing to do.
    assert_eq!(ring_all_reduce_s(1, 1e9, link), 0.0);
    // Reduce-scatter / all-gather: half the all-reduce ((p−1)α + (p−1)/p · S/B).
    let rs8 = ring_gather_scatter_s(8, 1e9, link);
    assert_eq!(rs8, 7.0 * 5e-6 + 7.0 / 8.0 * 1e9 / 50e9);
    assert!(close(2.0 * rs8, t8, 1e-15));
}

/// The worked example with the shipped default collectives (Auto, measured efficiencies):
/// docs/models.md §Worked example, "with the default collectives".
#[test]
fn llama70b_default_collectives() {
    let plan = llama70b();
    let st = step_time(&plan, &h100(), 8, &CommModel::default());
    // TP (8 in one server, H100 has NVLS): 25e-6 + 9/8 · 134,217,728/308.7e9 = 5.141317e-4 s
    // (the ring would take 2·7·3.4e-6 + 1.75 · 134,217,728/369.9e9 = 6.825852e-4); × 1,280.
    let ar_tp = 25e-6 + 9.0 / 8.0 * 134_217_728.0 / 308.7e9;
    assert!(close(st.tp_comm_s, 1280.0 * ar_tp, 1e-9));
    assert!((st.tp_comm_s - 0.658089).abs() < 1e-6);
    // Pipeline sends at 47 GB/s: 32 · (14e-6 + 16,777,216/47e9) = 0.0118708 s.
    assert!((st.pp_comm_s - 0.0118708).abs() < 1e-6);
    // DP (32, one per server): ring 2·31·14e-6 + 2·31/32 · 4.375e9/47e9 = 0.1812204 s beats the
    // tree 2·5·14e-6 + 2 · 4.375e9/47e9 = 0.1863102 s.
    assert!((st.dp_comm_s - 0.1812204).abs() < 1e-6);
    // The compute is the collectives' business of no one: the same as with line-rate rings.
    let ring = step_time(&plan, &h100(), 8, &line_rate_ring());
    assert_eq!(st.compute_s, ring.compute_s);
    assert!(close(
        st.bubble_s,
        3.0 / 16.0 * (st.compute_s + st.tp_comm_s + st.pp_comm_s),
        1e-15
    ));
    assert!(st.total_s < ring.total_s);
}

#[test]
fn alpha_beta_groups_and_hierarchy() {
    // Effective links: NVLink 450 · 0.822 = 369.9 GB/s, NIC 50 · 0.94 = 47 GB/s, NVLS 450 · 0.686
    // = 308.7 GB/s at α 25 µs (H100 has in-switch reduction).
    let ab = AlphaBeta::default().links(&h100());
    assert!(close(ab.intra.bw_bytes_per_s, 369.9e9, 1e-12));
    assert!(close(ab.inter.bw_bytes_per_s, 47e9, 1e-12));
    let nvls = ab.nvls.unwrap();
    assert!(close(nvls.bw_bytes_per_s, 308.7e9, 1e-12));
    assert_eq!(nvls.alpha_s, 25e-6);
    let s = 1e9;
    let ring = |g: CommGroup| {
        ab.all_reduce_with_s(CollectiveAlgorithm::Ring, s, &g)
            .unwrap()
    };
    let with = |a, g: CommGroup| ab.all_reduce_with_s(a, s, &g).unwrap();

    // Inside one server. Ring over NVLink: 2·7·3.4e-6 + 1.75 · 1e9/369.9e9 = 4.778608e-3 s.
    let one = CommGroup::new(8, 8);
    assert_eq!(ring(one), ring_all_reduce_s(8, s, ab.intra));
    assert!((ring(one) - 4.778608e-3).abs() < 1e-9);
    // NVLS: 25e-6 + 9/8 · 1e9/308.7e9 = 3.669315e-3 s — Auto takes it.
    let t_nvls = with(CollectiveAlgorithm::Nvls, one);
    assert_eq!(t_nvls, nvls_all_reduce_s(8, s, nvls));
    assert!((t_nvls - 3.669315e-3).abs() < 1e-9);
    assert_eq!(ab.all_reduce_s(s, &one), t_nvls);
    // The tree inside one server (2S over NVLink, same latency) never beats the ring.
    assert!(with(CollectiveAlgorithm::Tree, one) > ring(one));

    // One per server: flat ring over the network.
    let flat = CommGroup::new(32, 1);
    assert_eq!(ring(flat), ring_all_reduce_s(32, s, ab.inter));

    // 64 ranks, 8 per server (8 servers), chunk c = 4 MiB, fill fraction c/S = 0.0041943.
    let hier = CommGroup::new(64, 8);
    let fill = 4.0 * 1024.0 * 1024.0 / s;
    // Ring with 8 rails: 2·56·3.4e-6 + 2·7·14e-6 + 2·63/64 · 1e9 · max(7/8/369.9e9, 1/(8·47e9))
    // = 3.808e-4 + 1.96e-4 + 1.96875 · 2.659574e-3 = 5.812837e-3 s (NIC-bound).
    assert!((ring(hier) - 5.812837e-3).abs() < 1e-9, "{}", ring(hier));
    // Tree: 2·(7·3.4e-6 + 3·14e-6) + pipelined(2e9/369.9e9, 2e9/(8·47e9))
    // = 1.316e-4 + 5.406867e-3 + (5.406867e-3 + 5.319149e-3) · fill = 5.583455e-3 s.
    let t_tree = with(CollectiveAlgorithm::Tree, hier);
    let (a, b) = (2.0 * s / 369.9e9, 2.0 * s / (8.0 * 47e9));
    assert!(close(
        t_tree,
        2.0 * (7.0 * 3.4e-6 + 3.0 * 14e-6) + a.max(b) + (a + b) * fill,
        1e-12
    ));
    assert!((t_tree - 5.583455e-3).abs() < 1e-9, "{t_tree}");
    // NVLS-tree: 25e-6 + 2·3·14e-6 + pipelined(9/8 · 1e9/308.7e9, 2e9/(8·47e9)) = 5.465744e-3 s.
    let t_nt = with(CollectiveAlgorithm::Nvls, hier);
    assert!((t_nt - 5.465744e-3).abs() < 1e-9, "{t_nt}");
    assert_eq!(ab.all_reduce_s(s, &hier), t_nt);
    // Hierarchical, pipelined: 2·7·3.4e-6 + 2·7·14e-6 + max(1.75e9/369.9e9, 1.75e9/(8·47e9))
    // + (sum) · fill = 5.013973e-3 s; run one after another it was 1.2e-4 + 9.385264e-3.
    let t_h = with(CollectiveAlgorithm::Hierarchical, hier);
    let (a, b) = (1.75 * s / 369.9e9, 1.75 * s / (8.0 * 47e9));
    assert!(close(
        t_h,
        2.0 * 7.0 * (3.4e-6 + 14e-6) + a.max(b) + (a + b) * fill,
        1e-12
    ));
    assert!((t_h - 5.013973e-3).abs() < 1e-9, "{t_h}");
    assert!(t_h < 2.0 * 7.0 * (3.4e-6 + 14e-6) + a + b);
    // Auto never picks the hierarchical form (not an NCCL algorithm).
    assert!(ab.all_reduce_s(s, &hier) > t_h);

    // Reduce-scatter / all-gather: ring with 8 rails, (p−n)·α_i + (n−1)·α_e + 63/64 · S · max(…)
    // = 1.904e-4 + 9.8e-5 + 2.618018e-3 = 2.906419e-3 s.
    let t_rs = ab.reduce_scatter_s(s, &hier);
    assert!((t_rs - 2.906419e-3).abs() < 1e-9, "{t_rs}");
    assert_eq!(ab.all_gather_s(s, &hier), t_rs);
    // Forced hierarchical: 7·3.4e-6 + 7·14e-6 + pipelined(7/8 · 1e9/369.9e9, 7/8 · 1e9/(8·47e9)).
    let mut forced = ab;
    forced.algorithm = CollectiveAlgorithm::Hierarchical;
    let (a, b) = (0.875 * s / 369.9e9, 0.875 * s / (8.0 * 47e9));
    assert!(close(
        forced.reduce_scatter_s(s, &hier),
        7.0 * (3.4e-6 + 14e-6) + a.max(b) + (a + b) * fill,
        1e-12
    ));
    // A size that is not a multiple of the per-server count falls back to the flat network ring.
    let ragged = CommGroup::new(12, 8);
    assert_eq!(ring(ragged), ring_all_reduce_s(12, s, ab.inter));
    // p2p: same server → NVLink, else network (effective bandwidths).
    assert_eq!(
        ab.p2p_s(s, &CommGroup::new(2, 2)),
        3.4e-6 + s / ab.intra.bw_bytes_per_s
    );
    assert_eq!(
        ab.p2p_s(s, &CommGroup::new(2, 1)),
        14e-6 + s / ab.inter.bw_bytes_per_s
    );
    // A part without in-switch reduction has no NVLS; forcing it prices the ring.
    let mut a100 = h100();
    a100.scaleup_reduction = false;
    let c = AlphaBeta {
        algorithm: CollectiveAlgorithm::Nvls,
        ..AlphaBeta::default()
    }
    .links(&a100);
    assert_eq!(c.nvls, None);
    assert_eq!(
        c.all_reduce_with_s(CollectiveAlgorithm::Nvls, s, &one),
        None
    );
    assert_eq!(c.all_reduce_s(s, &one), ring_all_reduce_s(8, s, c.intra));
    // A part with no scale-up link uses the network inside the server too, and has no NVLS.
    let mut t4 = h100();
    t4.scaleup_link_gbs = 0.0;
    let nolink = AlphaBeta::default().links(&t4);
    assert_eq!(nolink.intra, nolink.inter);
    assert_eq!(nolink.nvls, None);
    // An explicit intra bandwidth wins (then × efficiency).
    let fixed = AlphaBeta {
        intra_bw_gbs: Some(300.0),
        intra_efficiency: 1.0,
        ..AlphaBeta::default()
    };
    assert_eq!(fixed.links(&h100()).intra.bw_bytes_per_s, 300e9);
}

#[test]
fn collective_closed_forms() {
    let intra = Link {
        alpha_s: 2e-6,
        bw_bytes_per_s: 400e9,
    };
    let inter = Link {
        alpha_s: 10e-6,
        bw_bytes_per_s: 40e9,
    };
    let one = |g| Layout {
        servers: 1,
        per_server: g,
    };
    let s = 8e9;
    // Multi-server ring reduces to the plain rings at n = 1 and g = 1.
    assert_eq!(
        ring_all_reduce_layout_s(one(8), s, intra, inter),
        ring_all_reduce_s(8, s, intra)
    );
    let flat = Layout {
        servers: 16,
        per_server: 1,
    };
    assert_eq!(
        ring_all_reduce_layout_s(flat, s, intra, inter),
        ring_all_reduce_s(16, s, inter)
    );
    assert_eq!(
        ring_gather_scatter_layout_s(flat, s, intra, inter),
        ring_gather_scatter_s(16, s, inter)
    );
    // 4 servers × 4: 2·12·2e-6 + 2·3·10e-6 + 2·15/16 · 8e9 · max(3/4/400e9, 1/(4·40e9))
    // = 4.8e-5 + 6e-5 + 1.875 · 8e9 / 160e9 = 0.093858 s; with α = 0 the bus bandwidth is the
    // NIC-bound 4 · 40 = 160 GB/s.
    let l44 = Layout {
        servers: 4,
        per_server: 4,
    };
    let t = ring_all_reduce_layout_s(l44, s, intra, inter);
    assert!(close(t, 4.8e-5 + 6e-5 + 1.875 * 8e9 / 160e9, 1e-12));
    let no_lat = |l: Link| Link { alpha_s: 0.0, ..l };
    let t0 = ring_all_reduce_layout_s(l44, s, no_lat(intra), no_lat(inter));
    assert!(close(
        bus_bandwidth(Collective::AllReduce, alg_bandwidth(s, t0), 16),
        160e9,
        1e-12
    ));
    // Reduce-scatter: half the steps, half the bytes.
    let rs = ring_gather_scatter_layout_s(l44, s, intra, inter);
    assert!(close(rs, 2.4e-5 + 3e-5 + 15.0 / 16.0 * 8e9 / 160e9, 1e-12));

    // Tree network factor: 0 on one server, 1 on two, 2 from three on.
    assert_eq!([1, 2, 3, 64].map(tree_net_factor), [0.0, 1.0, 2.0, 2.0]);
    // Tree on one server: 2·7·2e-6 + 2S/400e9 (one stage: nothing to pipeline, no fill).
    let c = 4.0 * 1024.0 * 1024.0;
    let t = tree_all_reduce_s(one(8), s, intra, inter, c);
    assert!(close(t, 2.8e-5 + 2.0 * s / 400e9, 1e-12));
    // Tree on 5 servers × 8: 2·(7·2e-6 + ⌈log2 5⌉·10e-6) + max(2S/400e9, 2S/(8·40e9)) + sum · c/S.
    let l58 = Layout {
        servers: 5,
        per_server: 8,
    };
    let (a, b) = (2.0 * s / 400e9, 2.0 * s / (8.0 * 40e9));
    assert!(close(
        tree_all_reduce_s(l58, s, intra, inter, c),
        2.0 * (7.0 * 2e-6 + 3.0 * 10e-6) + a.max(b) + (a + b) * c / s,
        1e-12
    ));
    // Tree one per server: only the network stage.
    let l81 = Layout {
        servers: 8,
        per_server: 1,
    };
    assert!(close(
        tree_all_reduce_s(l81, s, intra, inter, c),
        2.0 * 3.0 * 10e-6 + 2.0 * s / 40e9,
        1e-12
    ));

    // NVLS: α + (g+1)/g · S/B; busbw with α = 0 is 2(g−1)/g · g/(g+1) · B = 1.556·B at g = 8.
    let nv = Link {
        alpha_s: 20e-6,
        bw_bytes_per_s: 300e9,
    };
    assert!(close(
        nvls_all_reduce_s(8, s, nv),
        20e-6 + 9.0 / 8.0 * s / 300e9,
        1e-12
    ));
    assert_eq!(nvls_all_reduce_s(1, s, nv), 0.0);
    let t0 = nvls_all_reduce_s(8, s, no_lat(nv));
    assert!(close(
        bus_bandwidth(Collective::AllReduce, alg_bandwidth(s, t0), 8),
        1.75 * 8.0 / 9.0 * 300e9,
        1e-12
    ));
    // NVLS-tree: on one server it is NVLS; on 2 servers α + 2·1·α_e + pipelined(9/8 S/B, S/(8·B_e)).
    assert_eq!(
        nvls_tree_all_reduce_s(one(8), s, nv, inter, c),
        nvls_all_reduce_s(8, s, nv)
    );
    let l28 = Layout {
        servers: 2,
        per_server: 8,
    };
    let (a, b) = (9.0 / 8.0 * s / 300e9, s / (8.0 * 40e9));
    assert!(close(
        nvls_tree_all_reduce_s(l28, s, nv, inter, c),
        20e-6 + 2.0 * 10e-6 + a.max(b) + (a + b) * c / s,
        1e-12
    ));

    // Hierarchical: 2(g−1)α_i + 2(n−1)α_e + pipelined(2(g−1)/g · S/B_i, 2(n−1)/n · S/(g·B_e)).
    let (a, b) = (1.5 * s / 400e9, 1.5 * s / (4.0 * 40e9));
    assert!(close(
        hierarchical_all_reduce_s(l44, s, intra, inter, c),
        6.0 * 2e-6 + 6.0 * 10e-6 + a.max(b) + (a + b) * c / s,
        1e-12
    ));
    let (a, b) = (0.75 * s / 400e9, 0.75 * s / (4.0 * 40e9));
    assert!(close(
        hierarchical_gather_scatter_s(l44, s, intra, inter, c),
        3.0 * 2e-6 + 3.0 * 10e-6 + a.max(b) + (a + b) * c / s,
        1e-12
    ));
}

#[test]
fn pipelining_is_max_plus_fill_never_worse_than_sequential() {
    let c = 4.0 * 1024.0 * 1024.0;
    // Large message: max + one chunk per stage.
    let s = 1e10;
    let t = pipelined_s(&[2.0, 1.0, 0.5], s, c);
    assert!(close(t, 2.0 + 3.5 * c / s, 1e-15));
    // A message no larger than a chunk cannot pipeline: the stages add.
    assert_eq!(pipelined_s(&[2.0, 1.0, 0.5], c, c), 3.5);
    assert_eq!(pipelined_s(&[2.0, 1.0], 1e3, c), 3.0);
    // One stage: nothing to overlap, no fill.
    assert_eq!(pipelined_s(&[1.0], s, c), 1.0);
    assert_eq!(pipelined_s(&[1.0, 0.0], s, c), 1.0);
    assert_eq!(pipelined_s(&[1.0, 2.0], 0.0, c), 0.0);
}

#[test]
fn group_layout() {
    let par = |tp, pp, dp| Parallelism {
        tp,
        pp,
        dp,
        micro_batches: 1,
        virtual_stages: 1,
        sequence_parallel: false,
    };
    // tp 8 on 8-GPU servers: TP in one server, DP one per server, pipeline across servers.
    let g = Groups::new(&par(8, 4, 32), 8);
    assert_eq!(g.tp, CommGroup::new(8, 8));
    assert_eq!(g.dp, CommGroup::new(32, 1));
    assert_eq!(g.pp_pair, CommGroup::new(2, 1));
    // tp 2: four DP members per server (ranks 0, 2, 4, 6) → hierarchical DP.
    let g = Groups::new(&par(2, 1, 16), 8);
    assert_eq!(g.tp, CommGroup::new(2, 2));
    assert_eq!(g.dp, CommGroup::new(16, 4));
    // tp 16 on 8-GPU servers: TP spans two servers, 8 each.
    let g = Groups::new(&par(16, 1, 2), 8);
    assert_eq!(g.tp, CommGroup::new(16, 8));
    assert_eq!(g.dp, CommGroup::new(2, 1));
    // Whole job in one server: the pipeline pair is intra-server.
    let g = Groups::new(&par(2, 2, 2), 8);
    assert_eq!(g.pp_pair, CommGroup::new(2, 2));
    assert_eq!(g.dp, CommGroup::new(2, 2));
    // NVL72-sized domain: tp 8 × dp 9 = 72 in one domain.
    let g = Groups::new(&par(8, 2, 9), 72);
    assert_eq!(g.dp, CommGroup::new(9, 9));
    assert_eq!(g.pp_pair, CommGroup::new(2, 1));
}

#[test]
fn bus_bandwidth_matches_nccl_tests() {
    // All-reduce busbw = algbw · 2(n−1)/n; with α = 0 a ring reaches the link bandwidth exactly.
    let link = Link {
        alpha_s: 0.0,
        bw_bytes_per_s: 450e9,
    };
    for n in [2, 8, 72] {
        let t = ring_all_reduce_s(n, 8e9, link);
        let bus = bus_bandwidth(Collective::AllReduce, alg_bandwidth(8e9, t), n);
        assert!(close(bus, 450e9, 1e-12), "n={n}: {bus}");
        let t = ring_gather_scatter_s(n, 8e9, link);
        let bus = bus_bandwidth(Collective::AllGather, alg_bandwidth(8e9, t), n);
        assert!(close(bus, 450e9, 1e-12), "n={n}: {bus}");
    }
    // Factors for n = 8: 2·7/8 = 1.75; 7/8 = 0.875; 1.
    assert_eq!(Collective::AllReduce.bus_factor(8), 1.75);
    assert_eq!(Collective::ReduceScatter.bus_factor(8), 0.875);
    assert_eq!(Collective::AllToAll.bus_factor(8), 0.875);
    assert_eq!(Collective::Broadcast.bus_factor(8), 1.0);
    assert_eq!(bus_bandwidth(Collective::AllReduce, 100.0, 4), 150.0);
}

#[test]
fn recompute_scales_compute_by_8_over_6() {
    let gpu = h100();
    let comm = CommModel::default();
    // No output layer (vocabulary 0): every GEMM belongs to a layer.
    let mut base_plan = llama70b();
    base_plan.model.vocab = Some(0);
    let mut rc_plan = base_plan.clone();
    rc_plan.recompute = Recompute::Full;
    let base = step_time(&base_plan, &gpu, 8, &comm);
    let rc = step_time(&rc_plan, &gpu, 8, &comm);
    // GEMMs and element-wise work: forward + backward = 3 forwards, plus one more → × 4/3 (6PT → 8PT).
    assert!(close(rc.gemm_s, base.gemm_s * 8.0 / 6.0, 1e-12));
    assert!(close(
        rc.elementwise_s,
        base.elementwise_s * 8.0 / 6.0,
        1e-12
    ));
    // Fused attention: 1 + 2.5 → 1 + 2.5 + 1.
    assert!(close(rc.attention_s, base.attention_s * 4.5 / 3.5, 1e-12));
    // The recomputed forward pass repeats its 2 TP all-reduces per layer: 6 instead of 4 → × 1.5.
    assert!(close(rc.tp_comm_s, base.tp_comm_s * 1.5, 1e-15));
    // Nothing else doubles: pipeline sends and gradient all-reduce are unchanged.
    assert_eq!(rc.pp_comm_s, base.pp_comm_s);
    assert_eq!(rc.dp_comm_s, base.dp_comm_s);
    assert_eq!(rc.optimizer_s, base.optimizer_s);
    // The bubble follows the stage time.
    assert!(close(
        rc.bubble_s,
        3.0 / 16.0 * (rc.compute_s + rc.tp_comm_s + rc.pp_comm_s),
        1e-15
    ));
    // Achieved MFU counts model FLOPs (6PT) only, so it drops.
    let e_base = estimate(&base_plan, &gpu, 8, &comm);
    let e_rc = estimate(&rc_plan, &gpu, 8, &comm);
    assert!(e_rc.achieved_mfu < e_base.achieved_mfu);

    // Selective recomputation with fused attention recomputes nothing (the kernel's backward already does).
    let mut sel = base_plan.clone();
    sel.recompute = Recompute::Selective;
    assert_eq!(step_time(&sel, &gpu, 8, &comm).compute_s, base.compute_s);
    // Unfused, it runs the attention core's forward again: attention × 4/3, nothing else.
    let mut unf = base_plan.clone();
    unf.attention = Attention::Unfused;
    let u = step_time(&unf, &gpu, 8, &comm);
    unf.recompute = Recompute::Selective;
    let us = step_time(&unf, &gpu, 8, &comm);
    assert!(close(us.attention_s, u.attention_s * 4.0 / 3.0, 1e-12));
    assert_eq!(us.gemm_s, u.gemm_s);
    assert_eq!(us.tp_comm_s, u.tp_comm_s);
}

#[test]
fn sequence_parallelism_splits_norms_and_keeps_the_volume() {
    let gpu = h100();
    // Rings on both sides (with the default `Auto` the all-reduce may take NVLS, which reduce-scatter and
    // all-gather do not use).
    let comm = line_rate_ring();
    let plan = llama70b();
    let mut sp = plan.clone();
    sp.parallelism.sequence_parallel = true;
    let a = step_time(&plan, &gpu, 8, &comm);
    let b = step_time(&sp, &gpu, 8, &comm);
    // Ring reduce-scatter + all-gather cost exactly one ring all-reduce in the alpha-beta model.
    assert!(close(b.tp_comm_s, a.tp_comm_s, 1e-12));
    assert_eq!(b.gemm_s, a.gemm_s);
    // The 10h norm/residual/dropout elements per token become 10h/8: layer element-wise traffic
    // (10h + 2f/t) → (10h/t + 2f/t) = 90,112 → 18,432 elements per token.
    let bw = 3.35e12 * 0.9;
    let output = 16.0 * 3.0 * 8192.0 * (680_601.0 / 8.0) * 2.0 / bw;
    let ratio = (b.elementwise_s - output) / (a.elementwise_s - output);
    assert!(close(ratio, 18_432.0 / 90_112.0, 1e-9), "{ratio}");
}

#[test]
fn achieved_mfu_is_an_output_bounded_by_gemm_efficiency() {
    let gpu = h100();
    let comm = CommModel::default();
    // Achieved MFU (6PT) never exceeds the GEMM efficiency: every model parameter is in a GEMM that runs
    // three times per token at most at e_gemm of peak, and everything else only adds time.
    for (tp, pp, dp, m) in [
        (8, 4, 32, 16),
        (8, 1, 128, 1),
        (2, 8, 16, 32),
        (4, 2, 8, 4),
        (1, 1, 1, 1),
    ] {
        for recompute in [Recompute::None, Recompute::Full, Recompute::Selective] {
            for overlap in [Some(0.0), Some(0.5), Some(1.0), None] {
                let mut p = llama70b();
                p.parallelism = Parallelism {
                    tp,
                    pp,
                    dp,
                    micro_batches: m,
                    virtual_stages: 1,
                    sequence_parallel: false,
                };
                p.global_batch_tokens = 4096 * dp as u64 * m as u64 * 2;
                p.recompute = recompute;
                p.overlap = overlap;
                p.check().unwrap();
                let e = estimate(&p, &gpu, 8, &comm);
                assert!(e.achieved_mfu <= 0.7 * (1.0 + 1e-12), "{tp} {pp} {dp} {m}");
                assert!(e.achieved_mfu > 0.0);
                assert!(e.gpu_activity >= 0.30 - 1e-12 && e.gpu_activity <= 0.85 + 1e-12);
            }
        }
    }
    // No input caps it at a fixed figure: on one GPU with ideal kernels it gets close to 1 (what remains is the
    // attention core, element-wise work and the optimizer).
    let mut ideal = h100();
    ideal.kernels = KernelEfficiency {
        gemm: 1.0,
        gemm_half_dim: 0.0,
        attention: 1.0,
        memory: 1.0,
        gemm_latency_s: 0.0,
    };
    let mut p = llama70b();
    p.parallelism = Parallelism {
        tp: 1,
        pp: 1,
        dp: 1,
        micro_batches: 8,
        virtual_stages: 1,
        sequence_parallel: false,
    };
    p.global_batch_tokens = 4096 * 8 * 2;
    let e = estimate(&p, &ideal, 8, &comm);
    assert!(
        e.achieved_mfu > 0.85 && e.achieved_mfu < 1.0,
        "{}",
        e.achieved_mfu
    );
}

#[test]
fn overlap_hides_dp_allreduce() {
    let gpu = h100();
    let mut plan = llama70b();
    plan.overlap = Some(0.75);
    let st = step_time(&plan, &gpu, 8, &line_rate_ring());
    // Exposed = (1 − 0.75) · 0.17039925 = 0.0425998 s.
    assert!(close(st.dp_exposed_s, 0.25 * st.dp_comm_s, 1e-15));
    assert!((st.dp_exposed_s - 0.0425998).abs() < 1e-6);
    // Derived: pp 1, one micro-batch of one sequence, a slow network (1 GB/s): the reduction outlasts the
    // backward pass, and only the backward pass hides it.
    plan.overlap = None;
    plan.parallelism = Parallelism {
        tp: 8,
        pp: 1,
        dp: 4,
        micro_batches: 1,
        virtual_stages: 1,
        sequence_parallel: false,
    };
    plan.global_batch_tokens = 4096 * 4;
    let slow = CommModel::AlphaBeta(AlphaBeta {
        inter_node_bw_gbs: 1.0,
        ..AlphaBeta::default()
    });
    let st = step_time(&plan, &gpu, 8, &slow);
    let lt = super::ops::layer_times(&plan, &gpu);
    let backward = 80.0 * lt.backward.total_s() + st.tp_comm_s / 2.0;
    assert!(st.dp_comm_s > backward);
    assert!(close(st.dp_exposed_s, st.dp_comm_s - backward, 1e-12));
}

#[test]
fn checkpoints_and_budget_in_steps() {
    let gpu = h100();
    let mut plan = llama70b();
    plan.budget = Budget::Steps(1000);
    plan.checkpoint = Some(Checkpoint {
        every_s: 1800.0,
        write_s: Some(60.0),
        bytes_per_param: 14.0,
        restart_s: 0.0,
        interval: CheckpointInterval::Fixed,
        mode: CheckpointMode::Sync,
    });
    let est = estimate(&plan, &gpu, 8, &CommModel::default());
    // 1000 steps of training → ⌊train_s/1800⌋ checkpoints of 60 s.
    assert_eq!(est.steps, 1000);
    assert_eq!(est.tokens, 4_194_304_000);
    assert!(close(est.train_s, 1000.0 * est.step.total_s, 1e-15));
    let n = (est.train_s / 1800.0).floor() as u64;
    assert!(n >= 1);
    assert_eq!(est.checkpoints, n);
    assert_eq!(est.checkpoint_s, 60.0 * n as f64);
    assert!(close(
        est.time_to_finish_s,
        est.train_s + est.checkpoint_s,
        1e-15
    ));
    // Run activity: writes at the communication factor.
    let run = (est.gpu_activity * est.train_s + 0.30 * est.checkpoint_s) / est.time_to_finish_s;
    assert!(close(est.run_gpu_activity, run, 1e-12));
    // Energy: 1024 GPUs · (70 + 630 · a_run) W · 6393.414 s / 4.194304e9 tokens.
    let e = energy_per_token_j(&est, &gpu, 1024);
    let want = 1024.0 * (70.0 + est.run_gpu_activity * 630.0) * est.time_to_finish_s / 4.194304e9;
    assert!(close(e, want, 1e-12));
    // Tokens budget rounds up to whole steps: 10,000,000 tokens → ⌈2.384⌉ = 3 steps.
    plan.budget = Budget::Tokens(10_000_000);
    assert_eq!(plan.steps(), 3);
}

#[test]
fn check_errors() {
    let err = |f: &dyn Fn(&mut TrainingPlan)| {
        let mut p = llama70b();
        f(&mut p);
        p.check().unwrap_err().message
    };
    assert!(err(&|p| p.parallelism.tp = 0).contains("`parallelism.tp` must be ≥ 1"));
    assert!(err(&|p| p.parallelism.pp = 0).contains("`parallelism.pp` must be ≥ 1"));
    assert!(err(&|p| p.parallelism.dp = 0).contains("`parallelism.dp` must be ≥ 1"));
    assert!(err(&|p| p.parallelism.micro_batches = 0).contains("`parallelism.micro_batches`"));
    assert!(err(&|p| p.model.layers = 0).contains("`model.layers` must be ≥ 1"));
    assert!(err(&|p| p.model.params = 0.0).contains("`model.params`"));
    assert!(err(&|p| p.model.params = f64::NAN).contains("`model.params`"));
    assert!(err(&|p| p.model.bytes_per_param = -2.0).contains("`model.bytes_per_param`"));
    assert!(err(&|p| p.overlap = Some(1.5)).contains("`overlap` must be in [0, 1]"));
    assert!(err(&|p| p.model.heads = Some(48)).contains("`model.heads` (48)"));
    assert!(err(&|p| p.model.kv_heads = Some(3)).contains("`model.kv_heads`"));
    assert!(err(&|p| p.model.ffn_hidden = Some(100)).contains("`model.ffn_hidden`"));
    assert!(err(&|p| p.global_batch_tokens = 0).contains("`global_batch_tokens` must be ≥ 1"));
    // 4,194,304 − 4096 tokens = 1023 sequences, not divisible by dp·m = 512.
    let e = err(&|p| p.global_batch_tokens = 4_194_304 - 4096);
    assert!(
        e.contains("must be divisible by seq_len · dp · micro_batches"),
        "{e}"
    );
    assert!(err(&|p| p.budget = Budget::Tokens(0)).contains("Tokens must be ≥ 1"));
    assert!(err(&|p| p.budget = Budget::Steps(0)).contains("Steps must be ≥ 1"));
    assert!(err(&|p| p.parallelism.pp = 81).contains("must not exceed `model.layers`"));
    let e = err(&|p| p.parallelism.tp = 3);
    assert!(e.contains("divisible by `parallelism.tp`"), "{e}");
    let e = err(&|p| {
        p.checkpoint = Some(Checkpoint {
            every_s: 0.0,
            write_s: Some(1.0),
            bytes_per_param: 14.0,
            restart_s: 0.0,
            interval: CheckpointInterval::Fixed,
            mode: CheckpointMode::Sync,
        })
    });
    assert!(e.contains("`checkpoint.every_s`"));
    let e = err(&|p| {
        p.checkpoint = Some(Checkpoint {
            every_s: 10.0,
            write_s: Some(-1.0),
            bytes_per_param: 14.0,
            restart_s: 0.0,
            interval: CheckpointInterval::Fixed,
            mode: CheckpointMode::Sync,
        })
    });
    assert!(e.contains("`checkpoint.write_s`"));

    let bad = CommModel::AlphaBeta(AlphaBeta {
        inter_node_bw_gbs: 0.0,
        ..AlphaBeta::default()
    });
    assert!(
        bad.check()
            .unwrap_err()
            .message
            .contains("`inter_node_bw_gbs`")
    );
    let bad = CommModel::AlphaBeta(AlphaBeta {
        intra_alpha_s: -1.0,
        ..AlphaBeta::default()
    });
    assert!(bad.check().unwrap_err().message.contains("`intra_alpha_s`"));
    let bad = CommModel::AlphaBeta(AlphaBeta {
        intra_bw_gbs: Some(f64::INFINITY),
        ..AlphaBeta::default()
    });
    assert!(bad.check().unwrap_err().message.contains("`intra_bw_gbs`"));
    for (bad, field) in [
        (
            AlphaBeta {
                intra_efficiency: 0.0,
                ..AlphaBeta::default()
            },
            "`intra_efficiency`",
        ),
        (
            AlphaBeta {
                inter_efficiency: 1.5,
                ..AlphaBeta::default()
            },
            "`inter_efficiency`",
        ),
        (
            AlphaBeta {
                nvls_efficiency: f64::NAN,
                ..AlphaBeta::default()
            },
            "`nvls_efficiency`",
        ),
        (
            AlphaBeta {
                nvls_alpha_s: -1e-6,
                ..AlphaBeta::default()
            },
            "`nvls_alpha_s`",
        ),
        (
            AlphaBeta {
                pipeline_chunk_bytes: 0.0,
                ..AlphaBeta::default()
            },
            "`pipeline_chunk_bytes`",
        ),
    ] {
        let e = CommModel::AlphaBeta(bad).check().unwrap_err().message;
        assert!(e.contains(field), "{e}");
    }
    assert!(CommModel::default().check().is_ok());
}

#[test]
fn ron_defaults_and_unknown_fields() {
    let text = r#"(
        model: (params: 70e9, layers: 80, hidden: 8192, seq_len: 4096),
        parallelism: (tp: 8, pp: 4, dp: 32, micro_batches: 16),
        global_batch_tokens: 4194304,
        budget: Tokens(1000000000000),
    )"#;
    let plan: TrainingPlan = ron::from_str(text).unwrap();
    assert_eq!(plan, llama70b());
    assert_eq!(plan.model.bytes_per_param, 2.0);
    assert_eq!(plan.recompute, Recompute::None);
    assert_eq!(plan.attention, Attention::Flash);
    assert_eq!(plan.overlap, None);
    assert_eq!(plan.checkpoint, None);

    let text = r#"(
        model: (params: 70e9, layers: 80, hidden: 8192, seq_len: 4096),
        parallelism: (tp: 8, pp: 4, dp: 32, micro_batches: 16),
        global_batch_tokens: 4194304,
        budget: Steps(500),
        recompute: Full,
        attention: Unfused,
        overlap: Some(0.5),
        sharding: Full,
        checkpoint: Some((every_s: 1800.0, write_s: Some(30.0))),
    )"#;
    let plan: TrainingPlan = ron::from_str(text).unwrap();
    assert_eq!(plan.budget, Budget::Steps(500));
    assert_eq!(plan.sharding, Sharding::Full);
    assert_eq!(plan.recompute, Recompute::Full);
    assert_eq!(
        plan.checkpoint,
        Some(Checkpoint {
            every_s: 1800.0,
            write_s: Some(30.0),
            bytes_per_param: 14.0,
            restart_s: 0.0,
            interval: CheckpointInterval::Fixed,
            mode: CheckpointMode::Sync,
        })
    );
    // Round trip.
    let back: TrainingPlan = ron::from_str(&ron::to_string(&plan).unwrap()).unwrap();
    assert_eq!(back, plan);

    let bad = r#"(
        model: (params: 70e9, layers: 80, hidden: 8192, seq_len: 4096, experts: 64),
        parallelism: (tp: 8, pp: 4, dp: 32, micro_batches: 16),
        global_batch_tokens: 4194304,
        budget: Steps(1),
    )"#;
    assert!(ron::from_str::<TrainingPlan>(bad).is_err());

    let comm: CommModel = ron::from_str("AlphaBeta(())").unwrap();
    assert_eq!(comm, CommModel::default());
    let comm: CommModel =
        ron::from_str("AlphaBeta((inter_node_bw_gbs: 100.0, intra_bw_gbs: Some(400.0)))").unwrap();
    let CommModel::AlphaBeta(ab) = &comm else {
        panic!("the default is alpha-beta")
    };
    assert_eq!(ab.inter_node_bw_gbs, 100.0);
    assert_eq!(ab.intra_bw_gbs, Some(400.0));
    assert_eq!(ab.inter_alpha_s, 14e-6);
    assert!(ron::from_str::<CommModel>("AlphaBeta((latency: 1.0))").is_err());
    assert_eq!(ab.algorithm, CollectiveAlgorithm::Auto);
    assert_eq!(ab.intra_efficiency, 0.822);
    assert_eq!(ab.inter_efficiency, 0.94);
    assert_eq!(ab.nvls_efficiency, 0.686);
    assert_eq!(ab.nvls_alpha_s, 25e-6);
    assert_eq!(ab.pipeline_chunk_bytes, 4194304.0);
    let comm: CommModel =
        ron::from_str("AlphaBeta((algorithm: Hierarchical, intra_efficiency: 1.0))").unwrap();
    let CommModel::AlphaBeta(ab) = &comm else {
        panic!("alpha-beta")
    };
    assert_eq!(ab.algorithm, CollectiveAlgorithm::Hierarchical);
    assert_eq!(ab.intra_efficiency, 1.0);
    assert!(ron::from_str::<CommModel>("AlphaBeta((algorithm: NvlsTree))").is_err());
}

#[test]
fn interleaved_pipeline_bubble_is_p_minus_1_over_v_m() {
    let gpu = h100();
    let comm = CommModel::default();
    let mut plan = llama70b(); // tp 8, pp 4, dp 32, m 16, 80 layers
    let base = step_time(&plan, &gpu, 8, &comm);
    for v in [2u32, 4, 5] {
        plan.parallelism.virtual_stages = v;
        plan.check().unwrap();
        let st = step_time(&plan, &gpu, 8, &comm);
        // The same compute and tensor-parallel time; v times the pipeline sends; the bubble fraction
        // (p − 1)/(v·m) of the stage work.
        assert_eq!(st.compute_s, base.compute_s);
        assert_eq!(st.tp_comm_s, base.tp_comm_s);
        assert!(close(st.pp_comm_s, v as f64 * base.pp_comm_s, 1e-12));
        let work = st.compute_s + st.tp_comm_s + st.pp_comm_s;
        assert!(
            close(st.bubble_s / work, 3.0 / (v as f64 * 16.0), 1e-12),
            "v = {v}"
        );
        assert!(st.bubble_s < base.bubble_s);
    }
    // Megatron-LM's rules.
    plan.parallelism.virtual_stages = 3; // 80 layers are not a multiple of 4 · 3
    assert!(
        plan.check()
            .unwrap_err()
            .message
            .contains("pp · virtual_stages")
    );
    plan.parallelism.virtual_stages = 2;
    plan.parallelism.micro_batches = 6; // not a multiple of pp = 4
    plan.global_batch_tokens = 4096 * 32 * 6;
    assert!(
        plan.check()
            .unwrap_err()
            .message
            .contains("multiple of `pp`")
    );
    plan.parallelism.virtual_stages = 0;
    assert!(plan.check().is_err());
}

#[test]
fn recompute_flops_6pt_8pt_and_selective() {
    let mut plan = llama70b(); // 70e9 params, 80 layers, h 8192, s 4096
    let p = plan.model.params;
    assert_eq!(plan.flops_per_token(), 6.0 * p);
    plan.recompute = Recompute::Full;
    assert_eq!(plan.flops_per_token(), 8.0 * p);
    plan.recompute = Recompute::Selective;
    // 6·P + 4·s·h·L: the attention core's forward once more.
    let extra = 4.0 * 4096.0 * 8192.0 * 80.0;
    assert_eq!(plan.flops_per_token(), 6.0 * p + extra);
    // A few percent for a 70B model at 4k context — far below full recomputation's 33%.
    let share = extra / (6.0 * p);
    assert!(share > 0.02 && share < 0.04, "{share}");
}

#[test]
fn zero_stages_and_fsdp_move_the_dp_volume() {
    let gpu = h100();
    let comm = CommModel::default();
    let mut plan = llama70b();
    let base = step_time(&plan, &gpu, 8, &comm);
    for (s, f) in [
        (Sharding::Optimizer, 1.0),
        (Sharding::Gradients, 1.0),
        (Sharding::Full, 1.5),
    ] {
        plan.sharding = s;
        let st = step_time(&plan, &gpu, 8, &comm);
        // Reduce-scatter + all-gather move an all-reduce's volume; full sharding gathers the parameters twice
        // more (forward and backward): 3 × (p−1)/p · S against 2 × (p−1)/p · S.
        assert!(close(st.dp_comm_s, f * base.dp_comm_s, 1e-12), "{s:?}");
        assert_eq!(st.compute_s, base.compute_s);
    }
}
