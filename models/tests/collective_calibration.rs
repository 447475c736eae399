//! Calibration of the alpha-beta all-reduce against published nccl-tests bus bandwidths
//! (docs/models.md §Training collectives, "Calibration"). Each row is one published measurement;
//! dctwin's bus bandwidth is computed with the shipped defaults (`AlphaBeta::default()`) and the
//! shipped catalog, through `CommCost::all_reduce_s` and `cost::bus_bandwidth`. Three rows are the
//! sources of the three calibrated efficiencies (marked `calibration`); the others validate.
//! Run with `--nocapture` to print the table.

use models::catalog::{Catalog, GpuModel};
use models::training::{
    AlphaBeta, Collective, CollectiveAlgorithm, CommCost, CommGroup, alg_bandwidth, bus_bandwidth,
};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

struct Row {
    figure: &'static str,
    source: &'static str,
    gpu: &'static str,
    servers: u32,
    per_server: u32,
    bytes: f64,
    algorithm: CollectiveAlgorithm,
    measured_gbs: f64,
    calibration: bool,
}

fn rows() -> Vec<Row> {
    use CollectiveAlgorithm::*;
    let row = |figure, source, gpu, servers, algorithm, bytes, measured_gbs, calibration| Row {
        figure,
        source,
        gpu,
        servers,
        per_server: 8,
        bytes,
        algorithm,
        measured_gbs,
        calibration,
    };
    vec![
        row(
            "8×A100 SXM, one server, default (ring), 4 GiB",
            "https://github.com/NVIDIA/nccl-tests/issues/175",
            "A100",
            1,
            Auto,
            4.0 * GIB,
            232.54,
            false,
        ),
        row(
            "8×H100 SXM, one server, NCCL_ALGO=Ring",
            "https://github.com/NVIDIA/nccl-tests/issues/212",
            "H100",
            1,
            Ring,
            8.0 * GIB,
            370.0,
            true,
        ),
        row(
            "8×H100 SXM, one server, default (NVLS), peak",
            "https://github.com/NVIDIA/nccl-tests/issues/212",
            "H100",
            1,
            Auto,
            8.0 * GIB,
            480.0,
            true,
        ),
        row(
            "8×H100 SXM, one server, default (NVLS)",
            "https://github.com/NVIDIA/nccl-tests/issues/290",
            "H100",
            1,
            Auto,
            8.0 * GIB,
            476.0,
            false,
        ),
        row(
            "8×H100, one server, NVLS on (8×400G RoCE cluster), 4–8 GiB",
            "https://github.com/NVIDIA/nccl/issues/1221",
            "H100",
            1,
            Auto,
            8.0 * GIB,
            430.0,
            false,
        ),
        row(
            "2×8 H100, 8×400G RoCE, NVLS on (NVLS-tree), 4–8 GiB",
            "https://github.com/NVIDIA/nccl/issues/1221",
            "H100",
            2,
            Auto,
            8.0 * GIB,
            430.0,
            false,
        ),
        row(
            "4×8 H100, 8×400G RoCE, default, 4–8 GiB",
            "https://github.com/NVIDIA/nccl/issues/1221",
            "H100",
            4,
            Auto,
            8.0 * GIB,
            320.0,
            false,
        ),
        row(
            "2×8 H100, 8×400G NDR IB, NCCL_ALGO=Ring (NVIDIA: 46–48 GB/s per NIC)",
            "https://github.com/NVIDIA/nccl-tests/issues/290",
            "H100",
            2,
            Ring,
            8.0 * GIB,
            376.0,
            true,
        ),
        row(
            "H100 multi-node ring, no SHARP (GTC 2024 S62129 slide; 16 servers assumed)",
            "https://github.com/NVIDIA/nccl/issues/1649",
            "H100",
            16,
            Ring,
            8.0 * GIB,
            380.0,
            false,
        ),
        row(
            "H100 multi-node NVLS-tree, 370–380 (GTC 2024 S62129 slide; 16 servers assumed)",
            "https://github.com/NVIDIA/nccl/issues/1649",
            "H100",
            16,
            Nvls,
            8.0 * GIB,
            375.0,
            false,
        ),
        row(
            "8×B300, one server, NVLS off (ring); NVLink 5 as catalog B200",
            "https://github.com/NVIDIA/nccl/issues/2140",
            "B200",
            1,
            Ring,
            8.0 * GIB,
            695.0,
            false,
        ),
        row(
            "8×B300, one server, NVLS on; NVLink 5 as catalog B200",
            "https://github.com/NVIDIA/nccl/issues/2140",
            "B200",
            1,
            Auto,
            8.0 * GIB,
            845.0,
            false,
        ),
    ]
}

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

fn gpu(cat: &Catalog, name: &str) -> GpuModel {
    cat.gpus.iter().find(|g| g.name == name).unwrap().clone()
}

/// dctwin's nccl-tests bus bandwidth for `row`, GB/s.
fn dctwin_busbw_gbs(cat: &Catalog, row: &Row) -> f64 {
    let ab = AlphaBeta {
        algorithm: row.algorithm,
        ..AlphaBeta::default()
    };
    let cost = ab.links(&gpu(cat, row.gpu));
    let ranks = row.servers * row.per_server;
    let group = CommGroup::new(ranks, row.per_server);
    let t = cost.all_reduce_s(row.bytes, &group);
    bus_bandwidth(Collective::AllReduce, alg_bandwidth(row.bytes, t), ranks) / 1e9
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[test]
fn all_reduce_bus_bandwidth_matches_published_nccl_tests() {
    let cat = catalog();
    let mut errors = Vec::new();
    let mut validation = Vec::new();
    println!("| figure | measured GB/s | dctwin GB/s | error | source |");
    println!("|---|---|---|---|---|");
    for row in rows() {
        let d = dctwin_busbw_gbs(&cat, &row);
        let err = (d - row.measured_gbs) / row.measured_gbs;
        println!(
            "| {}{} | {:.0} | {:.0} | {:+.1}% | {} |",
            row.figure,
            if row.calibration {
                " (calibration)"
            } else {
                ""
            },
            row.measured_gbs,
            d,
            100.0 * err,
            row.source
        );
        assert!(
            err.abs() <= 0.20,
            "{}: dctwin {d:.1} GB/s vs measured {} GB/s ({:+.1}%)",
            row.figure,
            row.measured_gbs,
            100.0 * err
        );
        errors.push(err.abs());
        if !row.calibration {
            validation.push(err.abs());
        }
    }
    let (all, val) = (median(errors), median(validation));
    println!(
        "median |error|: {:.1}% over all rows, {:.1}% over validation rows",
        100.0 * all,
        100.0 * val
    );
    assert!(all <= 0.10, "median error {all}");
    assert!(val <= 0.10, "median validation error {val}");
}

/// The three calibrated efficiencies reproduce their source rows to within 0.5%.
#[test]
fn calibration_rows_are_reproduced() {
    let cat = catalog();
    for row in rows().into_iter().filter(|r| r.calibration) {
        let d = dctwin_busbw_gbs(&cat, &row);
        assert!(
            (d - row.measured_gbs).abs() / row.measured_gbs < 0.005,
            "{}: {d}",
            row.figure
        );
    }
}

/// Auto picks NVLS inside an H100 server, the ring inside an A100 server (no in-switch reduction),
/// NVLS-tree on two H100 servers, and the ring (not the tree) for large messages on 4 servers.
#[test]
fn auto_picks_what_nccl_picks_at_large_sizes() {
    let cat = catalog();
    let h100 = AlphaBeta::default().links(&gpu(&cat, "H100"));
    let a100 = AlphaBeta::default().links(&gpu(&cat, "A100"));
    let s = 8.0 * GIB;
    let pick = |c: &models::training::AlphaBetaCost, g: CommGroup| {
        let auto = c.all_reduce_s(s, &g);
        [
            CollectiveAlgorithm::Ring,
            CollectiveAlgorithm::Tree,
            CollectiveAlgorithm::Nvls,
        ]
        .into_iter()
        .find(|&a| c.all_reduce_with_s(a, s, &g) == Some(auto))
        .unwrap()
    };
    assert_eq!(pick(&h100, CommGroup::new(8, 8)), CollectiveAlgorithm::Nvls);
    assert_eq!(pick(&a100, CommGroup::new(8, 8)), CollectiveAlgorithm::Ring);
    assert_eq!(
        a100.all_reduce_with_s(CollectiveAlgorithm::Nvls, s, &CommGroup::new(8, 8)),
        None
    );
    assert_eq!(
        pick(&h100, CommGroup::new(16, 8)),
        CollectiveAlgorithm::Nvls
    );
    assert_eq!(
        pick(&h100, CommGroup::new(32, 8)),
        CollectiveAlgorithm::Ring
    );
}
