use rand::SeedableRng;

use super::*;

#[test]
fn defaults_reproduce_the_llama3_interruption_count() {
    // 16,384 GPUs on 2,048 servers for 54 days: 419 unexpected interruptions from GPU, HBM, link and host.
    let cfg = FailureConfig::default();
    let h = 54.0 * 24.0;
    let per_class = |c: Component, units: f64| units * h / cfg.class(c).unwrap().lifetime.mtbf_h();
    let total = per_class(Component::Gpu, 16384.0)
        + per_class(Component::GpuMemory, 16384.0)
        + per_class(Component::Link, 16384.0)
        + per_class(Component::Host, 2048.0);
    assert!((total - 419.0).abs() < 0.5, "{total}");
    assert!((per_class(Component::Gpu, 16384.0) - 196.0).abs() < 0.1);
    cfg.check().unwrap();
}

#[test]
fn afr_and_weibull_means() {
    // AFR 2.4% → λ = −ln(0.976)/8766 h → MTBF 360,849 h.
    let l = Lifetime::Afr { afr: 0.024 };
    assert!((l.mtbf_h() - 8766.0 / -(0.976f64.ln())).abs() < 1e-6);
    assert!((l.mtbf_h() - 360_849.0).abs() < 1.0, "{}", l.mtbf_h());
    // The sample mean of a Weibull lifetime is its mtbf (shape 0.7: heavy infant mortality).
    let w = Lifetime::Weibull {
        shape: 0.7,
        mtbf_h: 100.0,
    };
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(1);
    let n = 200_000;
    let mean_h = (0..n).map(|_| w.sample_s(&mut rng, 1.0)).sum::<f64>() / n as f64 / 3600.0;
    assert!((mean_h - 100.0).abs() < 1.5, "{mean_h}");
    // rate_scale 2 halves lifetimes.
    let e = Lifetime::Exponential { mtbf_h: 10.0 };
    let mean2 = (0..n).map(|_| e.sample_s(&mut rng, 2.0)).sum::<f64>() / n as f64 / 3600.0;
    assert!((mean2 - 5.0).abs() < 0.06, "{mean2}");
}

#[test]
fn repair_means() {
    let r = RepairTime::LogNormal {
        median_h: 8.0,
        sigma: 1.0,
    };
    assert!((r.mean_h() - 8.0 * 0.5f64.exp()).abs() < 1e-12);
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(2);
    let n = 200_000;
    let mean = (0..n).map(|_| r.sample_s(&mut rng)).sum::<f64>() / n as f64 / 3600.0;
    assert!((mean - r.mean_h()).abs() / r.mean_h() < 0.02, "{mean}");
    assert_eq!(RepairTime::Fixed { hours: 2.0 }.sample_s(&mut rng), 7200.0);
}

#[test]
fn young_and_daly() {
    // C = 60 s, M = 3 h: Young √(2·60·10800) = 1138.4 s.
    assert!((young_interval_s(60.0, 10_800.0) - 1138.42).abs() < 0.01);
    // Daly's higher-order interval is close to Young's minus C for C ≪ M, and M when C ≥ 2M.
    let d = daly_interval_s(60.0, 10_800.0);
    assert!(d > 1138.42 - 60.0 && d < 1138.42, "{d}");
    assert_eq!(daly_interval_s(30_000.0, 10_000.0), 10_000.0);
    // Daly's expected wall time: no failures (M → ∞) gives work·(τ + C)/τ.
    let t = daly_expected_wall_s(36_000.0, 3600.0, 60.0, 300.0, 1e12);
    assert!((t - 36_000.0 * 3660.0 / 3600.0).abs() < 1e-3, "{t}");
    // And the Daly interval minimises it (numerically, on a grid).
    let (c, r, m) = (120.0, 600.0, 7200.0);
    let best = (1..4000)
        .map(|i| i as f64 * 2.0)
        .min_by(|a, b| {
            daly_expected_wall_s(1e6, *a, c, r, m)
                .total_cmp(&daly_expected_wall_s(1e6, *b, c, r, m))
        })
        .unwrap();
    assert!(
        (best - daly_interval_s(c, m)).abs() < 20.0,
        "{best} vs {}",
        daly_interval_s(c, m)
    );
}

#[test]
fn checks_name_the_field() {
    let mut cfg = FailureConfig::default();
    cfg.classes[0].lifetime = Lifetime::Exponential { mtbf_h: 0.0 };
    assert_eq!(cfg.check().unwrap_err().path, "classes[0].lifetime.mtbf_h");
    let mut cfg = FailureConfig::default();
    cfg.classes[3].repair = RepairTime::Exponential { mean_h: -1.0 };
    assert_eq!(cfg.check().unwrap_err().path, "classes[3].repair.mean_h");
    let mut cfg = FailureConfig::default();
    cfg.classes[1].component = Component::Gpu;
    assert_eq!(cfg.check().unwrap_err().path, "classes[1].component");
    let cfg = FailureConfig {
        repair_crews: Some(0),
        ..Default::default()
    };
    assert_eq!(cfg.check().unwrap_err().path, "repair_crews");
    let cfg = FailureConfig {
        rate_scale: f64::NAN,
        ..Default::default()
    };
    assert_eq!(cfg.check().unwrap_err().path, "rate_scale");
    let cfg = FailureConfig {
        classes: vec![ClassConfig {
            component: Component::Gpu,
            lifetime: Lifetime::Afr { afr: 1.0 },
            repair: RepairTime::Fixed { hours: 1.0 },
        }],
        ..Default::default()
    };
    assert_eq!(cfg.check().unwrap_err().path, "classes[0].lifetime.afr");
}

#[test]
fn parses_from_ron() {
    let cfg: FailureConfig = ron::from_str(
        "(classes: [(component: Host, lifetime: Weibull(shape: 0.8, mtbf_h: 5000.0), \
         repair: Fixed(hours: 2.0))], repair_crews: Some(2), spares: (servers: 4))",
    )
    .unwrap();
    assert_eq!(cfg.classes.len(), 1);
    assert_eq!(cfg.spares.swap_s, 1800.0);
    assert_eq!(cfg.rate_scale, 1.0);
    let d: FailureConfig = ron::from_str("()").unwrap();
    assert_eq!(d, FailureConfig::default());
}

#[test]
fn domains_follow_the_site() {
    use crate::site::{HostPower, ServerSpec, SiteModel};
    let spec = |rack: u32, gpus: u32| ServerSpec {
        name: String::new(),
        hall: 0,
        row: 0,
        rack,
        gpu_model: 0,
        gpus,
        cpu_milli: 0,
        memory_mib: 0,
        host: HostPower::linear(1.0, 2.0, 1.0),
    };
    // Two racks: servers 0, 1 (8 GPUs each) and 2 (4 GPUs), 3 (CPU only).
    let site = SiteModel {
        servers: vec![spec(0, 8), spec(0, 8), spec(1, 4), spec(1, 0)],
        halls: 1,
        rows: 1,
        racks: 2,
    };
    let d = Domains::new(&site, None, 0);
    assert_eq!(d.units(Scope::Gpu), 20);
    assert_eq!(d.servers(Scope::Gpu, 8), &[1]);
    assert_eq!(d.servers(Scope::Gpu, 19), &[2]);
    assert_eq!(d.servers(Scope::Server, 3), &[3]);
    assert_eq!(d.servers(Scope::Rack, 1), &[2, 3]);
    assert_eq!(d.servers(Scope::Leaf, 0), &[0, 1]);
    // Rail leaves: GPU slot k of every server on leaf k.
    let leaf: Vec<u32> = (0..8).chain(0..8).chain(0..4).collect();
    let d = Domains::new(&site, Some(&leaf), 4);
    assert_eq!(d.units(Scope::Spine), 4);
    assert!(d.servers(Scope::Spine, 2).is_empty());
    assert_eq!(d.units(Scope::Leaf), 8);
    assert_eq!(d.servers(Scope::Leaf, 3), &[0, 1, 2]);
    assert_eq!(d.servers(Scope::Leaf, 7), &[0, 1]);
}
