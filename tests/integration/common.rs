//! Helpers shared by the integration tests.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/` beside the checkout.
pub fn shared() -> PathBuf {
    root().join("..").join("shared")
}

/// Absolute path of the shipped GPU catalog, as a RON string literal body.
pub fn catalog() -> String {
    root()
        .join("scenarios/catalog/gpus.ron")
        .display()
        .to_string()
}

/// A fresh temporary directory under the target dir (no extra dependency needed).
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = root()
        .join("target")
        .join("test-tmp")
        .join(format!("{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs the dctwin binary.
pub fn dctwin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dctwin"))
        .args(args)
        .env("CI", "1")
        .output()
        .expect("run dctwin")
}

/// A one-server site (one rack) with `gpus` H100s and the given host power, and a native trace workload.
pub fn one_server_scenario(
    gpus: u32,
    host_idle_w: f64,
    host_max_w: f64,
    psu: f64,
    trace: &Path,
    horizon_s: f64,
) -> String {
    format!(
        r#"Scenario(
    name: "one-server",
    seed: 1,
    horizon_s: {horizon_s:?},
    catalog: "{cat}",
    site: Layout(
        server_templates: {{
            "s": ServerTemplate(gpu_model: "H100", gpus: {gpus}, host: HostPower(idle_w: {host_idle_w:?}, max_w: {host_max_w:?}, psu_efficiency: {psu:?})),
        }},
        halls: [HallGroup(count: 1, rows: [RowGroup(count: 1, racks: [RackGroup(count: 1, servers: [ServerGroup(template: "s", count: 1)])])])],
    ),
    workload: NativeTrace(path: "{trace}"),
    reporting: (interval_s: 60.0),
)
"#,
        cat = catalog(),
        trace = trace.display()
    )
}
