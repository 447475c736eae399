//! `dctwin init` (each starting scenario validates and runs briefly, as written, with nothing beside it),
//! `dctwin catalog`, `dctwin completions` and `dctwin man`; the run table of a facility run and a serving run.

use crate::common::{dctwin, temp_dir};

fn stdout(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn each_init_template_validates_and_runs_as_written() {
    let dir = temp_dir("init");
    for (template, needles) in [
        (
            "training-cluster",
            &["jobs submitted", "GPU utilization"][..],
        ),
        (
            "inference-fleet",
            &[" arrived: ", "TTFT p50", "SLO attainment", "replicas"][..],
        ),
        (
            "green-hall",
            &["PUE", "facility energy", "water", "carbon", " EUR (energy"][..],
        ),
    ] {
        let file = dir.join(format!("my-{template}.ron"));
        let f = file.to_str().unwrap();
        let said = stdout(&dctwin(&["init", template, f]));
        assert!(said.contains("dctwin run"), "{said}");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("//"), "commented: {text}");
        assert!(
            text.contains(&format!("name: \"my-{template}\",")),
            "{text}"
        );
        assert!(!text.contains("catalog:  \"") && !text.contains("\n    catalog:"));
        // Refuses to replace it without --force.
        let again = dctwin(&["init", template, f]);
        assert_eq!(again.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
        stdout(&dctwin(&["init", template, f, "--force"]));
        stdout(&dctwin(&["validate", f]));
        // Briefly: two hours.
        let out = dir.join(format!("out-{template}"));
        let table = stdout(&dctwin(&[
            "run",
            f,
            "--set",
            "horizon_s=7200",
            "--out",
            out.to_str().unwrap(),
        ]));
        for n in needles {
            assert!(table.contains(n), "{template}: missing {n:?} in\n{table}");
        }
        assert!(out.join("summary.json").exists());
        if template == "inference-fleet" {
            for absent in ["jobs submitted", "jobs queued", "job wait"] {
                assert!(!table.contains(absent), "{absent:?} in\n{table}");
            }
        }
    }
    // `-` writes to stdout.
    let text = stdout(&dctwin(&["init", "green-hall", "-"]));
    assert!(text.contains("name: \"green-hall\","));
}

#[test]
fn catalog_lists_builtin_gpus_and_templates() {
    let t = stdout(&dctwin(&["catalog"]));
    for needle in [
        "GPU models (built-in",
        "H100",
        "B200",
        "989 BF16",
        "Server templates",
        "hgx-h100",
        "hgx-b200",
        "8 × B200",
        "1500 / 4500",
        "DGX B200",
        "Template sources in full",
        "https://docs.nvidia.com/dgx/dgxb200-user-guide/",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in\n{t}");
    }
    // The table shows each source's title; the full text (URLs, figures) follows it.
    let table_row = t
        .lines()
        .find(|l| l.trim_start().starts_with("hgx-b200 "))
        .unwrap();
    assert!(
        table_row.ends_with("NVIDIA DGX B200 User Guide"),
        "{table_row}"
    );
    // A catalog file is listed instead of the built-in one.
    let shipped = crate::common::catalog();
    let t = stdout(&dctwin(&["catalog", &shipped]));
    assert!(t.contains("gpus.ron") && t.contains("hgx-a100"), "{t}");
}

#[test]
fn completions_and_man_page_are_produced() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let t = stdout(&dctwin(&["completions", shell]));
        assert!(t.len() > 500 && t.contains("dctwin"), "{shell}:\n{t}");
        assert!(t.contains("init") && t.contains("catalog"), "{shell}");
    }
    let man = stdout(&dctwin(&["man"]));
    assert!(
        man.starts_with(".ie") || man.contains(".TH dctwin"),
        "{man}"
    );
    for needle in [".TH dctwin", "completions", "init", "catalog"] {
        assert!(man.contains(needle), "missing {needle:?} in the man page");
    }
}

#[test]
fn the_run_table_of_a_facility_run_shows_the_facility() {
    let dir = temp_dir("table-facility");
    let root = crate::common::root();
    let t = stdout(&dctwin(&[
        "run",
        root.join("scenarios/green-chiller-trip.ron")
            .to_str()
            .unwrap(),
        "--out",
        dir.join("o").to_str().unwrap(),
    ]));
    for needle in [
        "  PUE                   1.219\n",
        "  facility power peak   2.23 MW\n",
        "  water                 139.4 m³",
        "30.89 t CO2e operational",
        "  electricity cost      28,752 USD (energy 6,402 + demand charge 22,350)\n",
        "  breaker trips         none\n",
        "  throttling            1 episode(s), 1614.2 GPU-h throttled\n",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in\n{t}");
    }
}
