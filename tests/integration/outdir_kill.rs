//! A run killed at random points while it overwrites an earlier run's directory leaves either the complete old
//! set or the complete new set (docs/outputs.md § Guarantees), and the next run cleans up what the kills left.
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::bounded;
use crate::common::temp_dir;

/// Kills per test: a few seconds in all.
const KILLS: u64 = 24;

/// The files of a run directory by name; `summary.json` without `wall_time_s`, the one field that is not a
/// function of the input.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(dir).expect("read the output directory") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let mut bytes = fs::read(entry.path()).expect("read an output file");
        if name == "summary.json" {
            let mut v: serde_json::Value =
                serde_json::from_slice(&bytes).expect("summary.json parses");
            v.as_object_mut().expect("an object").remove("wall_time_s");
            bytes = serde_json::to_vec(&v).expect("serialize");
        }
        files.insert(name, bytes);
    }
    files
}

fn run_args(scenario: &Path, out: &Path, seed: u64) -> Vec<String> {
    vec![
        "run".into(),
        scenario.display().to_string(),
        "--seed".into(),
        seed.to_string(),
        "--out".into(),
        out.display().to_string(),
        "--quiet".into(),
    ]
}

/// Runs to completion and returns the wall time.
fn run_complete(bin: &Path, args: &[String]) -> Duration {
    let started = Instant::now();
    let status = Command::new(bin)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start dctwin");
    assert!(status.success(), "dctwin {args:?} failed");
    started.elapsed()
}

/// Leftovers of killed runs beside `target` (staging or renamed-away directories).
fn leftovers(target: &Path) -> Vec<PathBuf> {
    let name = target.file_name().unwrap().to_string_lossy().into_owned();
    fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(&format!(".{name}.dctwin-"))
        })
        .collect()
}

#[test]
fn a_killed_overwrite_leaves_the_old_set_or_the_new_set() {
    let bin = bounded::binary();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.ron");
    let tmp = temp_dir("outdir-kill");
    let (old_ref, new_ref, target) = (tmp.join("old"), tmp.join("new"), tmp.join("out"));
    run_complete(&bin, &run_args(&scenario, &old_ref, 1));
    let took = run_complete(&bin, &run_args(&scenario, &new_ref, 2));
    let (old, new) = (snapshot(&old_ref), snapshot(&new_ref));
    assert_ne!(old, new, "the two seeds must give different sets");

    // Kill points spread over the whole run and a little past its end, from a fixed sequence.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let (mut saw_old, mut saw_new) = (0, 0);
    for _ in 0..KILLS {
        let _ = fs::remove_dir_all(&target);
        run_complete(&bin, &run_args(&scenario, &target, 1));
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let frac = (x >> 11) as f64 / (1u64 << 53) as f64 * 1.3;
        let mut child = Command::new(&bin)
            .args(run_args(&scenario, &target, 2))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dctwin");
        thread::sleep(took.mul_f64(frac));
        let _ = child.kill();
        let _ = child.wait();
        let seen = snapshot(&target);
        if seen == old {
            saw_old += 1;
        } else if seen == new {
            saw_new += 1;
        } else {
            panic!(
                "after a kill at {frac:.2} of the run, {} holds neither complete set: {:?}",
                target.display(),
                seen.keys().collect::<Vec<_>>()
            );
        }
    }
    eprintln!("{KILLS} kills: old set {saw_old}, new set {saw_new}");
    // The next complete run removes whatever the kills left beside the target.
    run_complete(&bin, &run_args(&scenario, &target, 2));
    assert_eq!(snapshot(&target), new);
    assert!(leftovers(&target).is_empty(), "{:?}", leftovers(&target));
}
