//! The network fabric (issue #5 checks): collectives on an idle fabric against the alpha-beta
//! formula, max-min fairness, oversubscription, aggregated vs full flow simulation, contention.
use models::network::collective::{CollectiveKind, Timing};
use models::network::{
    AllReduceAlgo, Fabric, FabricConfig, FabricServer, FlowNet, FlowSim, GpuRef, JobTraffic,
    TopologyConfig, TwoTierClos,
};
use models::training::comm::AlphaBeta;
use rand::RngExt;
use sim::RngStreams;

/// `racks` racks of `per_rack` 8-GPU servers.
fn servers(racks: u32, per_rack: u32) -> Vec<FabricServer> {
    (0..racks * per_rack)
        .map(|i| FabricServer {
            rack: i / per_rack,
            gpus: 8,
        })
        .collect()
}

fn clos(oversubscription: f64, spines: u32) -> FabricConfig {
    FabricConfig {
        topology: TopologyConfig::TwoTierClos(TwoTierClos {
            servers_per_leaf: None,
            spines,
            oversubscription,
        }),
        ..FabricConfig::default()
    }
}

fn gpus_of_servers(servers: impl Iterator<Item = u32>) -> Vec<GpuRef> {
    servers
        .flat_map(|s| (0..8).map(move |slot| GpuRef { server: s, slot }))
        .collect()
}

fn ring_formula(p: u32, alpha_s: f64, bytes: f64, bw: f64) -> f64 {
    let p = p as f64;
    2.0 * (p - 1.0) * alpha_s + 2.0 * (p - 1.0) / p * bytes / bw
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// One ring all-reduce of S bytes on an idle fabric: `2(p−1)·α + 2(p−1)/p · S/B` within 1% for
/// p = 8 (one NVLink server: B = 450 GB/s × 0.822, α = 3.4 µs), 64 and 512 (whole servers in rank order:
/// the inter-server hops bound the ring, B = 50 GB/s NIC × 0.94, α = the longest route, 13 µs) — the
/// effective bandwidths (line rate × efficiency) of the alpha-beta model's defaults; bus bandwidth as
/// nccl-tests defines it (`algbw · 2(p−1)/p`).
#[test]
fn ring_all_reduce_matches_alpha_beta_on_idle_fabric() {
    let fabric = Fabric::new(&clos(1.0, 16), &servers(16, 4)).unwrap();
    let bytes = 4.0 * (1u64 << 30) as f64;
    let ab = AlphaBeta::default();
    let (nvlink, nic) = (450e9 * ab.intra_efficiency, 50e9 * ab.inter_efficiency);
    for (p, alpha_s, bw) in [(8u32, 3.4e-6, nvlink), (64, 13e-6, nic), (512, 13e-6, nic)] {
        let group = gpus_of_servers(0..p / 8);
        let t = fabric
            .collective(
                CollectiveKind::AllReduce(AllReduceAlgo::Ring),
                bytes,
                &[group],
                7,
                Timing::Aggregated,
            )
            .unwrap();
        let want = ring_formula(p, alpha_s, bytes, bw);
        let busbw_want = bytes / want * 2.0 * (p as f64 - 1.0) / p as f64;
        println!(
            "ring all-reduce p={p}: {:.6} s (formula {:.6} s), algbw {:.2} GB/s, busbw {:.2} GB/s (link {:.0} GB/s)",
            t.time_s,
            want,
            t.alg_bw_bytes_per_s / 1e9,
            t.bus_bw_bytes_per_s / 1e9,
            bw / 1e9
        );
        assert!(rel(t.time_s, want) < 0.01, "p={p}: {} vs {want}", t.time_s);
        assert!(rel(t.bus_bw_bytes_per_s, busbw_want) < 0.01);
        // Large messages: bus bandwidth approaches the bottleneck link bandwidth.
        assert!(t.bus_bw_bytes_per_s < bw && t.bus_bw_bytes_per_s > 0.9 * bw);
    }
}

/// Two equal flows through one bottleneck link get half of it each; a flow joining and leaving
/// restores the first flow's rate — with rates and with completion times.
#[test]
fn two_flows_share_a_bottleneck_and_rates_restore() {
    // Links: 0 = 100 B/s bottleneck, 1 and 2 = 1000 B/s access links.
    let mut net = FlowNet::new(vec![100.0, 1000.0, 1000.0]);
    let a = net.add(&[1, 0]);
    net.recompute();
    assert_eq!(net.rate(a), 100.0);
    let b = net.add(&[2, 0]);
    net.recompute();
    assert_eq!(net.rate(a), 50.0);
    assert_eq!(net.rate(b), 50.0);
    net.remove(b);
    net.recompute();
    assert_eq!(net.rate(a), 100.0);

    // In time: A has 1000 B; B (200 B) joins at t = 2 s. A: 200 B by t = 2, then 50 B/s until B
    // finishes at t = 6 (B moved 200 B), A has 600 B left at 100 B/s → done at t = 12.
    let mut sim = FlowSim::new(vec![100.0, 1000.0, 1000.0]);
    let fa = sim.start(&[1, 0], 1000.0, 1);
    sim.update();
    assert_eq!(sim.net().rate(fa), 100.0);
    sim.set_time(2.0);
    let fb = sim.start(&[2, 0], 200.0, 2);
    sim.update();
    assert_eq!(sim.net().rate(fa), 50.0);
    let mut done = Vec::new();
    let t = sim.next_batch(&mut done).unwrap();
    assert_eq!((t, done.as_slice()), (6.0, &[fb][..]));
    assert_eq!(sim.net().rate(fa), 100.0);
    done.clear();
    let t = sim.next_batch(&mut done).unwrap();
    assert!(rel(t, 12.0) < 1e-12, "{t}");
    assert_eq!(done, vec![fa]);
}

/// Max-min fairness on random link sets and flow sets, solved incrementally as flows come and go:
/// capacities are never exceeded, every flow has a bottleneck (a saturated link on which no flow
/// is faster — so it cannot grow without shrinking a flow that is not faster), and the incremental
/// rates equal a from-scratch solve.
#[test]
fn max_min_fairness_property_on_random_networks() {
    let mut rng = RngStreams::new(5).stream("network-maxmin");
    for case in 0..60 {
        let n_links = rng.random_range(2..40usize);
        let caps: Vec<f64> = (0..n_links)
            .map(|_| rng.random_range(1.0..1000.0f64))
            .collect();
        let mut net = FlowNet::new(caps.clone());
        let mut live: Vec<(u32, Vec<u32>)> = Vec::new();
        for round in 0..30 {
            // Start or stop a few flows.
            for _ in 0..rng.random_range(1..6usize) {
                if !live.is_empty() && rng.random_range(0..3u32) == 0 {
                    let k = rng.random_range(0..live.len());
                    let (id, _) = live.swap_remove(k);
                    net.remove(id);
                } else {
                    let hops = rng.random_range(1..5usize).min(n_links);
                    let mut path: Vec<u32> = Vec::new();
                    while path.len() < hops {
                        let l = rng.random_range(0..n_links as u32);
                        if !path.contains(&l) {
                            path.push(l);
                        }
                    }
                    live.push((net.add(&path), path));
                }
            }
            net.recompute();
            let mut load = vec![0.0; n_links];
            for (id, path) in &live {
                let r = net.rate(*id);
                assert!(r > 0.0 && r.is_finite(), "case {case} round {round}");
                for &l in path {
                    load[l as usize] += r;
                }
            }
            for l in 0..n_links {
                assert!(
                    load[l] <= caps[l] * (1.0 + 1e-9),
                    "case {case}: link {l} over capacity"
                );
            }
            for (id, path) in &live {
                let r = net.rate(*id);
                let bottlenecked = path.iter().any(|&l| {
                    let saturated = load[l as usize] >= caps[l as usize] * (1.0 - 1e-9);
                    saturated
                        && net
                            .flows_on(l)
                            .iter()
                            .all(|&g| net.rate(g) <= r * (1.0 + 1e-9))
                });
                assert!(
                    bottlenecked,
                    "case {case} round {round}: flow {id} could grow"
                );
            }
            // Incremental == from scratch.
            let mut fresh2 = FlowNet::new(caps.clone());
            let ids: Vec<u32> = live.iter().map(|(_, p)| fresh2.add(p)).collect();
            fresh2.recompute();
            for ((id, _), f) in live.iter().zip(&ids) {
                assert!(
                    rel(net.rate(*id), fresh2.rate(*f)) < 1e-9,
                    "case {case}: incremental {} vs scratch {}",
                    net.rate(*id),
                    fresh2.rate(*f)
                );
            }
        }
    }
}

/// 3:1 oversubscribed 2-tier Clos (one spine, so ECMP cannot skew the split): a ring whose every hop
/// leaves the rack (ranks interleaved over 8 racks, 32 NICs per leaf) gets a third of the NIC rate
/// across the spine — its bandwidth term grows by exactly 3 — while a rack-local ring is unchanged.
#[test]
fn oversubscribed_clos_slows_cross_rack_all_reduce_only() {
    let srv = servers(8, 4);
    let full = Fabric::new(&clos(1.0, 1), &srv).unwrap();
    let over = Fabric::new(&clos(3.0, 1), &srv).unwrap();
    let bytes = 2.0 * (1u64 << 30) as f64;
    let ar = CollectiveKind::AllReduce(AllReduceAlgo::Ring);
    // Cross-rack: 8 rings (one per slot) over the 32 servers in rack-interleaved order.
    let order: Vec<u32> = (0..32).map(|r| (r % 8) * 4 + r / 8).collect();
    let cross: Vec<Vec<GpuRef>> = (0..8)
        .map(|slot| order.iter().map(|&s| GpuRef { server: s, slot }).collect())
        .collect();
    let t1 = full
        .collective(ar, bytes, &cross, 3, Timing::Aggregated)
        .unwrap();
    let t3 = over
        .collective(ar, bytes, &cross, 3, Timing::Aggregated)
        .unwrap();
    let p = 32u32;
    let alpha = 13e-6;
    let lat = 2.0 * (p - 1) as f64 * alpha;
    // The NIC's goodput: line rate × the default network efficiency.
    let bw_term = ring_formula(p, 0.0, bytes, 50e9 * 0.94);
    println!(
        "cross-rack ring all-reduce: 1:1 {:.4} s, 3:1 {:.4} s (×{:.3})",
        t1.time_s,
        t3.time_s,
        t3.time_s / t1.time_s
    );
    assert!(rel(t1.time_s, lat + bw_term) < 1e-6);
    assert!(rel(t3.time_s, lat + 3.0 * bw_term) < 1e-6);
    // Rack-local: 8 rings over the 4 servers of rack 0.
    let local: Vec<Vec<GpuRef>> = (0..8)
        .map(|slot| (0..4).map(|s| GpuRef { server: s, slot }).collect())
        .collect();
    let l1 = full
        .collective(ar, bytes, &local, 3, Timing::Aggregated)
        .unwrap();
    let l3 = over
        .collective(ar, bytes, &local, 3, Timing::Aggregated)
        .unwrap();
    assert_eq!(l1.time_s, l3.time_s);
    assert!(rel(l1.time_s, ring_formula(4, 12e-6, bytes, 50e9 * 0.94)) < 1e-6);
}

/// Aggregated timing (one step per phase) gives the same completion times as simulating every
/// step's flows, on 256 GPUs of a 3:1 Clos with 16 spines (ECMP collisions make rates uneven, so
/// flows finish at different times within a step), for ring, tree and hierarchical all-reduce,
/// reduce-scatter and pipeline sends — with far fewer events.
#[test]
fn aggregated_matches_full_flow_simulation_on_256_gpus() {
    let srv = servers(8, 4);
    let fabric = Fabric::new(&clos(3.0, 16), &srv).unwrap();
    let order: Vec<u32> = (0..32).map(|r| (r % 8) * 4 + r / 8).collect();
    let all: Vec<GpuRef> = gpus_of_servers(order.iter().copied());
    let per_slot: Vec<Vec<GpuRef>> = (0..8)
        .map(|slot| order.iter().map(|&s| GpuRef { server: s, slot }).collect())
        .collect();
    let bytes = 1e9;
    let cases: Vec<(&str, CollectiveKind, Vec<Vec<GpuRef>>)> = vec![
        (
            "ring 256",
            CollectiveKind::AllReduce(AllReduceAlgo::Ring),
            vec![all.clone()],
        ),
        (
            "ring 8×32",
            CollectiveKind::AllReduce(AllReduceAlgo::Ring),
            per_slot.clone(),
        ),
        (
            "tree 256",
            CollectiveKind::AllReduce(AllReduceAlgo::Tree),
            vec![all.clone()],
        ),
        (
            "hierarchical 256",
            CollectiveKind::AllReduce(AllReduceAlgo::Hierarchical),
            vec![all.clone()],
        ),
        (
            "reduce-scatter 8×32",
            CollectiveKind::ReduceScatter,
            per_slot.clone(),
        ),
        ("p2p chain 8×32", CollectiveKind::P2p, per_slot),
    ];
    for (name, kind, groups) in cases {
        let agg = fabric
            .collective(kind, bytes, &groups, 11, Timing::Aggregated)
            .unwrap();
        let full = fabric
            .collective(kind, bytes, &groups, 11, Timing::Full)
            .unwrap();
        println!(
            "{name}: aggregated {:.6} s ({} events), full {:.6} s ({} events)",
            agg.time_s, agg.events, full.time_s, full.events
        );
        assert!(rel(agg.time_s, full.time_s) < 1e-9, "{name}");
        assert!(agg.events <= full.events);
    }
    // The skew is real: the 3:1 ring with ECMP is slower than the perfectly spread one-spine case.
    let one_spine = Fabric::new(&clos(3.0, 1), &srv).unwrap();
    let ar = CollectiveKind::AllReduce(AllReduceAlgo::Ring);
    let g = [all];
    let ecmp = fabric
        .collective(ar, bytes, &g, 11, Timing::Aggregated)
        .unwrap();
    let spread = one_spine
        .collective(ar, bytes, &g, 11, Timing::Aggregated)
        .unwrap();
    assert!(ecmp.time_s > spread.time_s);
}

fn h100() -> models::catalog::GpuModel {
    models::catalog::GpuModel {
        name: "H100".into(),
        board_power_w: 700.0,
        idle_power_w: 70.0,
        peak_tflops: 989.0,
        precision: models::catalog::Precision::Bf16,
        memory_gb: 80.0,
        memory_bandwidth_tbs: 3.35,
        scaleup_link_gbs: 900.0,
        scaleup_reduction: true,
        activity: Default::default(),
        kernels: Default::default(),
        source: String::new(),
    }
}

/// An 8B model, tp 8 × dp `dp`, 4 micro-batches of one 8k sequence per replica.
fn dp_plan(dp: u32) -> models::training::TrainingPlan {
    use models::training::*;
    TrainingPlan {
        model: TransformerModel {
            params: 8e9,
            layers: 32,
            hidden: 4096,
            seq_len: 8192,
            bytes_per_param: 2.0,
            heads: None,
            kv_heads: None,
            ffn_hidden: None,
            gated_mlp: false,
            vocab: None,
        },
        parallelism: Parallelism {
            tp: 8,
            pp: 1,
            dp,
            micro_batches: 4,
            virtual_stages: 1,
            sequence_parallel: false,
        },
        global_batch_tokens: dp as u64 * 4 * 8192,
        budget: Budget::Steps(100),
        recompute: Recompute::None,
        attention: Attention::Flash,
        overlap: Some(0.0),
        sharding: Sharding::None,
        checkpoint: None,
    }
}

/// Placement matters: two 64-GPU jobs whose data-parallel rings both cross the same oversubscribed
/// leaf uplinks slow each other; packed into their own racks they do not.
#[test]
fn contention_depends_on_placement() {
    let srv = servers(8, 4);
    let fabric = Fabric::new(&clos(3.0, 1), &srv).unwrap();
    let gpu = h100();
    let plan = dp_plan(8);
    let job = |servers: Vec<u32>, salt| {
        JobTraffic::training(
            &plan,
            &gpu,
            8,
            gpus_of_servers(servers.into_iter()),
            AllReduceAlgo::Ring,
            salt,
        )
        .unwrap()
    };
    // Packed: job A in racks 0–1, job B in racks 2–3 — rings cross only their own leaves' uplinks.
    let packed = fabric
        .contended_step_comm(&[job((0..8).collect(), 1), job((8..16).collect(), 2)])
        .unwrap();
    // Spread: both jobs take servers from racks 0, 1, 2, 3 alternately (two per rack each), so
    // both rings cross the uplinks of the same four leaves.
    let spread_a: Vec<u32> = (0..4).flat_map(|r| [r * 4, r * 4 + 1]).collect();
    let spread_b: Vec<u32> = (0..4).flat_map(|r| [r * 4 + 2, r * 4 + 3]).collect();
    let spread = fabric
        .contended_step_comm(&[job(spread_a, 1), job(spread_b, 2)])
        .unwrap();
    for (name, res) in [("packed", &packed), ("spread", &spread)] {
        for (i, j) in res.jobs.iter().enumerate() {
            let s = j.step.unwrap();
            println!(
                "{name} job {i}: step {:.4} s (alone {:.4} s), comm {:.4} s ({:.1}% of step); tiers {:?}; switch {:.0} W",
                s.total_s,
                j.idle_step.unwrap().total_s,
                j.comm_s,
                100.0 * s.comm_exposed_s / s.total_s,
                res.tiers
                    .iter()
                    .map(|t| (t.tier.name(), (t.max_utilization * 1000.0).round() / 1000.0))
                    .collect::<Vec<_>>(),
                res.switch_power_w
            );
        }
    }
    for j in &packed.jobs {
        assert_eq!(j.comm_s, j.idle_comm_s, "packed jobs share no link");
    }
    for j in &spread.jobs {
        // Alone, each job sends 8 flows (one per slot's ring) out of each leaf: 400 GB/s < the
        // 533 GB/s uplink. Together 16 flows share it: 33.3 GB/s each, the data-parallel
        // all-reduce's bandwidth term ×1.5 (its latency term unchanged).
        let dp = j.ops.last().unwrap();
        let ratio = dp.contended_s / dp.idle_s;
        assert!(ratio > 1.45 && ratio < 1.5, "spread jobs contend: {ratio}");
        assert!(j.comm_s > j.idle_comm_s);
        assert!(j.step.unwrap().total_s > j.idle_step.unwrap().total_s);
    }
    // Utilisation is within capacity and switch power counts active ports.
    for res in [&packed, &spread] {
        for t in &res.tiers {
            assert!(t.max_utilization <= 1.0 + 1e-9, "{t:?}");
        }
        assert!(res.active_ports > 0);
        assert!(res.switch_power_w > fabric.idle_power_w());
    }
}

/// The fabric-backed communication model prices an isolated job exactly as the run-loop API does
/// for that job alone on the same (packed) GPUs.
#[test]
fn fabric_comm_model_agrees_with_run_loop_api() {
    let srv = servers(8, 4);
    let cfg = clos(3.0, 16);
    let fabric = std::sync::Arc::new(Fabric::new(&cfg, &srv).unwrap());
    let gpu = h100();
    let plan = dp_plan(16);
    let cost = models::training::comm::FabricCost::packed(fabric.clone(), (0..32).collect(), 8);
    let via_cost = models::training::step_time_with(&plan, &gpu, 8, &cost);
    let job =
        JobTraffic::training(&plan, &gpu, 8, gpus_of_servers(0..16), cfg.all_reduce, 0).unwrap();
    let res = fabric.contended_step_comm(&[job]).unwrap();
    let via_api = res.jobs[0].step.unwrap();
    println!(
        "128-GPU job on a 3:1 Clos: step {:.4} s via CommCost, {:.4} s via the run-loop API",
        via_cost.total_s, via_api.total_s
    );
    assert!(rel(via_cost.total_s, via_api.total_s) < 1e-9);
    assert!(rel(via_cost.dp_comm_s, via_api.dp_comm_s) < 1e-9);
}

/// Bad fabric input gives a message naming the field, never a panic.
#[test]
fn bad_fabric_input_names_the_field() {
    let srv = servers(2, 4);
    let bad = |json: &str| -> String {
        let cfg: FabricConfig = serde_json::from_str(json).unwrap();
        Fabric::new(&cfg, &srv).unwrap_err()
    };
    assert!(bad(r#"{"nic_gbs": 0.0}"#).contains("nic_gbs"));
    assert!(
        bad(r#"{"topology": {"TwoTierClos": {"oversubscription": 0.5}}}"#)
            .contains("TwoTierClos.oversubscription")
    );
    assert!(bad(r#"{"topology": {"FatTree": {"k": 5}}}"#).contains("FatTree.k"));
    assert!(bad(r#"{"topology": {"FatTree": {"k": 4}}}"#).contains("k³/4"));
    assert!(bad(r#"{"scale_up": {"gpus_per_domain": 12}}"#).contains("gpus_per_domain"));
    assert!(bad(r#"{"latency": {"nic_s": -1.0}}"#).contains("latency.nic_s"));
    assert!(bad(r#"{"efficiency": {"network": 1.5}}"#).contains("efficiency.network"));
    assert!(bad(r#"{"efficiency": {"scale_up": 0.0}}"#).contains("efficiency.scale_up"));
    let fabric = Fabric::new(&FabricConfig::default(), &srv).unwrap();
    let err = fabric
        .collective(
            CollectiveKind::P2p,
            1.0,
            &[vec![
                GpuRef { server: 0, slot: 0 },
                GpuRef {
                    server: 99,
                    slot: 0,
                },
            ]],
            0,
            Timing::Aggregated,
        )
        .unwrap_err();
    assert!(err.contains("server 99"), "{err}");
}

/// Topology generation: routes have the hop counts and latencies of each topology, switch counts
/// follow the formulas (fat-tree: 5k²/4), NVL72 domains span servers.
#[test]
fn topologies_route_as_designed() {
    let hops = |f: &Fabric, a: GpuRef, b: GpuRef| {
        let mut out = Vec::new();
        let t = f.topology();
        t.route(f.gpu(a).unwrap(), f.gpu(b).unwrap(), 0, &mut out);
        let lat: f64 = out.iter().map(|&l| t.latency_s[l as usize]).sum();
        (out.len(), (lat * 1e7).round() / 10.0)
    };
    let g = |server, slot| GpuRef { server, slot };
    // Rail-optimised, units of 4 servers: same slot = same rail leaf; other slot = via a spine.
    let rail: FabricConfig = serde_json::from_str(
        r#"{"topology": {"RailOptimized": {"servers_per_unit": 4, "spines": 4}}}"#,
    )
    .unwrap();
    let f = Fabric::new(&rail, &servers(2, 4)).unwrap();
    assert_eq!(f.topology().switches, (16, 4, 0));
    assert_eq!(hops(&f, g(0, 3), g(1, 3)), (2, 12.0));
    assert_eq!(hops(&f, g(0, 3), g(1, 4)), (4, 13.0));
    assert_eq!(hops(&f, g(0, 3), g(5, 3)), (4, 13.0)); // other unit
    assert_eq!(hops(&f, g(0, 3), g(0, 4)), (2, 3.4)); // NVLink
    // k = 4 fat-tree with one-GPU servers: 16 NICs, 8 edge + 8 aggregation + 4 core switches.
    let ft: FabricConfig = serde_json::from_str(r#"{"topology": {"FatTree": {"k": 4}}}"#).unwrap();
    let one_gpu: Vec<FabricServer> = (0..16).map(|i| FabricServer { rack: i, gpus: 1 }).collect();
    let f = Fabric::new(&ft, &one_gpu).unwrap();
    assert_eq!(f.switches(), 20);
    assert_eq!(hops(&f, g(0, 0), g(1, 0)).0, 2);
    assert_eq!(hops(&f, g(0, 0), g(2, 0)).0, 4);
    assert_eq!(hops(&f, g(0, 0), g(8, 0)), (6, 14.0));
    // Non-blocking: a permutation across pods runs every flow at NIC speed when ECMP spreads it;
    // all-to-all on 16 NICs is bounded by the NICs: 15/16 · S/B.
    let all: Vec<GpuRef> = (0..16).map(|s| g(s, 0)).collect();
    let t = f
        .collective(
            CollectiveKind::AllToAll,
            16e9,
            &[all],
            0,
            Timing::Aggregated,
        )
        .unwrap();
    assert!(t.time_s >= 15.0 / 16.0 * 16e9 / 50e9);
    // 3-tier Clos: 2 leaves per pod, 2 spines per pod, 2 cores per plane.
    let c3: FabricConfig = serde_json::from_str(
        r#"{"topology": {"ThreeTierClos": {"servers_per_leaf": 1, "leaves_per_pod": 2, "spines_per_pod": 2, "cores_per_plane": 2}}}"#,
    )
    .unwrap();
    let f = Fabric::new(&c3, &servers(8, 1)).unwrap();
    assert_eq!(f.topology().switches, (8, 8, 4));
    assert_eq!(hops(&f, g(0, 0), g(1, 0)).0, 4);
    assert_eq!(hops(&f, g(0, 0), g(2, 0)), (6, 14.0));
    // NVL72: 18 four-GPU trays form one scale-up domain.
    let nvl: FabricConfig =
        serde_json::from_str(r#"{"scale_up": {"gpus_per_domain": 72, "bw_gbs": 900.0}}"#).unwrap();
    let trays: Vec<FabricServer> = (0..36)
        .map(|i| FabricServer {
            rack: i / 18,
            gpus: 4,
        })
        .collect();
    let f = Fabric::new(&nvl, &trays).unwrap();
    assert_eq!(hops(&f, g(0, 0), g(17, 3)), (2, 3.4));
    assert_eq!(hops(&f, g(0, 0), g(18, 0)).0, 4);
}

/// The shipped fabric scenario prices its jobs on the fabric: the 70B job's data-parallel
/// all-reduce (32 ranks, one per server, 8 concurrent rings — one per GPU slot — packed on the
/// first 32 servers of a 2:1 Clos with 16 spines) is exactly what the fabric API gives for those
/// rings, and never faster than the NIC-bound ring formula (13 µs cross-leaf latency). Here ECMP
/// puts two of a leaf's 8 outgoing flows on one 50 GB/s spine bundle, which halves their rate.
#[test]
fn shipped_fabric_scenario_uses_the_fabric() {
    let path = crate::common::root().join("scenarios/llm-training-fabric.ron");
    let loaded = scenario::load_scenario(&path, &[], None).unwrap();
    let jobs = loaded.training.as_ref().unwrap();
    let big = jobs.iter().find(|j| j.name == "pretrain-70b").unwrap();
    let grad = 70e9 / (8.0 * 4.0) * 2.0;
    let nic_bound = ring_formula(32, 13e-6, grad, 50e9);
    let got = big.estimate.step.dp_comm_s;
    let cfg = match &loaded.scenario.workload {
        scenario::Workload::Training(t) => match &t.comm {
            models::training::CommModel::Fabric(cfg) => cfg.clone(),
            other => panic!("expected a fabric, found {other:?}"),
        },
        _ => panic!("expected a training workload"),
    };
    let fabric = Fabric::from_site(&cfg, &loaded.site).unwrap();
    let rings: Vec<Vec<GpuRef>> = (0..8)
        .map(|slot| (0..32).map(|s| GpuRef { server: s, slot }).collect())
        .collect();
    let api = fabric
        .collective(
            CollectiveKind::AllReduce(AllReduceAlgo::Ring),
            grad,
            &rings,
            0,
            Timing::Aggregated,
        )
        .unwrap();
    println!(
        "pretrain-70b on the fabric: DP all-reduce {got:.4} s (API {:.4} s, NIC-bound ring formula {nic_bound:.4} s), step {:.4} s",
        api.time_s, big.estimate.step.total_s
    );
    assert_eq!(got, api.time_s);
    assert!(got >= nic_bound * (1.0 - 1e-9));
    let out = twin::run(&loaded, &mut |_| {}).expect("run");
    assert!(out.summary.training.is_some());
}

/// Rings are laid along the topology: on a rail-optimised fabric, a ring over two 8-GPU servers takes each
/// server's GPUs in rail order and the second server's in reverse, so both inter-server hops join GPUs on one
/// rail leaf (no spine crossing, as NCCL's ring search arranges); in rank order the hop from slot 7 to slot 0 would
/// cross a spine.
#[test]
fn rings_follow_the_rails() {
    let rail: FabricConfig = serde_json::from_str(
        r#"{"topology": {"RailOptimized": {"servers_per_unit": 4, "spines": 4}}}"#,
    )
    .unwrap();
    let f = Fabric::new(&rail, &servers(2, 4)).unwrap();
    let t = f.topology();
    let group: Vec<u32> = (0..2)
        .flat_map(|s| (0..8).map(move |slot| GpuRef { server: s, slot }))
        .map(|g| f.gpu(g).unwrap())
        .collect();
    let order = models::network::collective::ring_order(t, &group);
    assert_eq!(order[..8], group[..8]);
    let back: Vec<u32> = group[8..].iter().rev().copied().collect();
    assert_eq!(order[8..], back[..]);
    let crosses_spine = |ring: &[u32]| {
        let mut path = Vec::new();
        (0..ring.len()).any(|i| {
            path.clear();
            t.route(ring[i], ring[(i + 1) % ring.len()], 0, &mut path);
            path.iter()
                .any(|&l| t.tier[l as usize] == models::network::Tier::LeafSpine)
        })
    };
    assert!(!crosses_spine(&order));
    assert!(crosses_spine(&group));
}
