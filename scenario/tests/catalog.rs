//! The built-in catalog: it parses and checks, has a server template for every GPU model, and scenarios may
//! leave out `catalog:` (or say `"builtin"`) and name its GPUs and templates; a catalog given by path and a
//! scenario's own templates still work, and a scenario's template wins over the catalog's of the same name.

use std::path::PathBuf;

use scenario::catalog::{BUILTIN_TEXT, is_builtin};
use scenario::load::builtin_catalog;
use scenario::{ServerTemplate, Site, load_scenario};

/// A scenario file in a fresh temporary directory (nothing else beside it).
fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dctwin-catalog-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}.ron"));
    std::fs::write(&p, text).unwrap();
    p
}

/// A small synthetic-jobs scenario on `servers` of template `template`; `catalog` and `templates` are inserted as
/// given (a `catalog: …,` line or nothing; template entries or nothing).
fn scenario(catalog: &str, templates: &str, template: &str) -> String {
    format!(
        r#"Scenario(
    name: "cat",
    seed: 1,
    horizon_s: 3600.0,
    {catalog}
    site: Layout(
        server_templates: {{ {templates} }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [
            RackGroup(count: 2, servers: [ServerGroup(template: "{template}", count: 2)]),
        ])])],
    ),
    workload: Synthetic(
        interarrival_s: Exponential(mean_s: 60.0),
        duration_s: Constant(value_s: 600.0),
        gpus: Constant(value: 1),
    ),
)"#
    )
}

/// Vendors' rated maximum input power of the systems the DGX-class templates stand for, W, with the figure as the
/// template's `source` writes it and the document it names (docs/models.md §Server power).
const RATED_MAX_INPUT_W: [(&str, f64, &str, &str); 6] = [
    (
        "hgx-a100",
        6_500.0,
        "6.5 kW max input",
        "dgxa100-user-guide",
    ),
    (
        "hgx-h100",
        10_200.0,
        "DGX H100 10.2 kW max input",
        "dgxh100-user-guide",
    ),
    (
        "hgx-h200",
        10_200.0,
        "DGX H200 10.2 kW max input",
        "dgxh100-user-guide",
    ),
    (
        "hgx-b200",
        14_300.0,
        "14.3 kW max input",
        "dgxb200-user-guide",
    ),
    ("dgx1-v100m16", 3_500.0, "3,500 W max", "dgx1-v100-system"),
    ("dgx1-v100m32", 3_500.0, "3,500 W max", "dgx1-v100-system"),
];

#[test]
fn the_builtin_catalog_checks_and_has_a_template_for_every_gpu() {
    let c = builtin_catalog();
    assert!(c.gpus.len() >= 9);
    for g in &c.gpus {
        models::catalog::check_model(g).unwrap();
        assert!(
            c.server_templates.values().any(|t| t.gpu_model == g.name),
            "no server template for {}",
            g.name
        );
    }
    for (name, t) in &c.server_templates {
        assert!(c.gpus.iter().any(|g| g.name == t.gpu_model), "{name}");
        assert!(!t.source.is_empty(), "{name} names no source");
        // A fully loaded server stays under its nameplate: (GPUs × board + host max) / η for the DGX systems'
        // published maxima (input power), and the template's `source` names that maximum and where it is from.
        let g = &c.gpus[c.gpus.iter().position(|g| g.name == t.gpu_model).unwrap()];
        let full =
            (t.gpus as f64 * g.board_power_w + t.host.max_w.unwrap()) / t.host.psu_efficiency;
        let rated = RATED_MAX_INPUT_W
            .iter()
            .find(|(n, ..)| *n == name.as_str())
            .map(|&(_, w, text, url)| {
                assert!(
                    t.source.contains(text) && t.source.contains(url),
                    "{name}: source names neither {text:?} nor {url:?}: {}",
                    t.source
                );
                w
            });
        match rated {
            Some(rated) => {
                assert!(full <= rated, "{name}: {full} W > {rated} W");
                // Not so far under it that the host is implausibly small: the full-load error vs the rating
                // (−2.3% to −8.0%, docs/models.md §Server power) stays within −15%.
                assert!(full >= 0.85 * rated, "{name}: {full} W ≪ {rated} W");
            }
            None => assert!(name.starts_with("pcie-"), "{name}: no rated maximum"),
        }
    }
    for name in ["hgx-a100", "hgx-h100", "hgx-h200", "hgx-b200"] {
        assert!(c.server_templates.contains_key(name), "{name}");
    }
    // The shipped file is the built-in catalog.
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/catalog/gpus.ron");
    assert_eq!(std::fs::read_to_string(shipped).unwrap(), BUILTIN_TEXT);
    assert!(is_builtin(std::path::Path::new("")) && is_builtin(std::path::Path::new("builtin")));
}

#[test]
fn a_scenario_without_a_catalog_names_builtin_gpus_and_templates() {
    for (name, catalog) in [("omitted", ""), ("named", r#"catalog: "builtin","#)] {
        let p = write(name, &scenario(catalog, "", "hgx-b200"));
        let l = load_scenario(&p, &[], None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(l.site.servers.len(), 4);
        assert_eq!(l.site.gpus_total(), 32);
        let b200 = l.catalog.index_of("B200").unwrap();
        assert!(l.site.servers.iter().all(|s| s.gpu_model == b200));
        let Site::Layout(layout) = &l.scenario.site else {
            panic!()
        };
        assert_eq!(layout.server_templates["hgx-b200"].host.max_w, Some(4500.0));
    }
}

#[test]
fn a_scenario_template_wins_over_the_catalogs() {
    let own = r#""hgx-h100": ServerTemplate(gpu_model: "H100", gpus: 4, host: HostPower(idle_w: 100.0, max_w: 200.0)),"#;
    let p = write("own", &scenario("", own, "hgx-h100"));
    let l = load_scenario(&p, &[], None).unwrap();
    assert_eq!(l.site.gpus_total(), 16, "4 servers × the scenario's 4 GPUs");
    let Site::Layout(layout) = &l.scenario.site else {
        panic!()
    };
    let t: &ServerTemplate = &layout.server_templates["hgx-h100"];
    assert_eq!(t.host.max_w, Some(200.0));
    assert!(t.source.is_empty());
}

#[test]
fn an_unknown_template_lists_the_catalogs() {
    let p = write("unknown", &scenario("", "", "hgx-x999"));
    let e = load_scenario(&p, &[], None).unwrap_err().to_string();
    assert!(
        e.contains("unknown server template `hgx-x999`") && e.contains("hgx-b200"),
        "{e}"
    );
}

#[test]
fn a_catalog_file_by_path_replaces_the_builtin_one() {
    let p = write("file", &scenario(r#"catalog: "mine.ron","#, "", "box"));
    std::fs::write(
        p.with_file_name("mine.ron"),
        r#"Catalog(
    gpus: [GpuModel(name: "X1", board_power_w: 500.0, idle_power_w: 50.0, peak_tflops: 100.0, precision: Bf16,
        memory_gb: 40.0, memory_bandwidth_tbs: 1.0)],
    server_templates: {
        "box": ServerTemplate(gpu_model: "X1", gpus: 2, host: HostPower(idle_w: 100.0, max_w: 300.0)),
    },
)"#,
    )
    .unwrap();
    let l = load_scenario(&p, &[], None).unwrap();
    assert_eq!(l.catalog.names(), vec!["X1"]);
    assert_eq!(l.site.gpus_total(), 8);
    // The built-in templates are not there: the file replaced the catalog.
    let q = p.with_file_name("builtin-template.ron");
    std::fs::write(&q, scenario(r#"catalog: "mine.ron","#, "", "hgx-h100")).unwrap();
    let e = load_scenario(&q, &[], None).unwrap_err().to_string();
    assert!(e.contains("unknown server template `hgx-h100`"), "{e}");
    // A catalog template naming a GPU the file lacks is reported against the catalog file.
    std::fs::write(
        p.with_file_name("bad.ron"),
        r#"Catalog(gpus: [], server_templates: {"t": ServerTemplate(gpu_model: "H100", gpus: 8, host: HostPower(idle_w: 1.0, max_w: 2.0))})"#,
    )
    .unwrap();
    let q = p.with_file_name("bad-catalog.ron");
    std::fs::write(&q, scenario(r#"catalog: "bad.ron","#, "", "t")).unwrap();
    let e = load_scenario(&q, &[], None).unwrap_err().to_string();
    assert!(
        e.contains("bad.ron") && e.contains("server_templates.t.gpu_model") && e.contains("H100"),
        "{e}"
    );
}
