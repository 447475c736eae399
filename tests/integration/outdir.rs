//! Output directories: an unusable `--out` is bad input (exit 2) before any work; a command's outputs
//! replace the directory as one set, keeping other files; and a run or sweep killed at any moment
//! leaves either the complete old set or the complete new one, never a mix (docs/outputs.md).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};

use crate::common::{dctwin, root, temp_dir, write};

/// Every file `dctwin run` can write (reports::RUN_FILES).
const RUN_SET: &[&str] = &[
    "summary.json",
    "timeseries.csv",
    "it_power.svg",
    "utilization_queue.svg",
    "failures.svg",
    "facility_power.svg",
    "pue_wet_bulb.svg",
    "report.html",
    "jobs.csv",
    "requests.csv",
    "racks.csv",
];

/// Every file a complete sweep writes.
const SWEEP_SET: &[&str] = &[
    "sweep.json",
    "runs.jsonl",
    "results.csv",
    "points.csv",
    "sweep_figure.svg",
    "sweep_tradeoff.svg",
    "report.html",
];

/// Files (relative path → bytes) under `dir`, recursively; `summary.json` without its
/// `wall_time_s` line, the one field that differs between two runs of the same scenario.
type Files = BTreeMap<String, Vec<u8>>;

fn files(dir: &Path) -> Files {
    fn walk(base: &Path, dir: &Path, out: &mut Files) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
                continue;
            }
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let mut bytes = std::fs::read(&p).unwrap();
            if rel == "summary.json" {
                let text = String::from_utf8(bytes).unwrap();
                bytes = text
                    .lines()
                    .filter(|l| !l.contains("\"wall_time_s\""))
                    .collect::<Vec<_>>()
                    .join("\n")
                    .into_bytes();
            }
            out.insert(rel, bytes);
        }
    }
    let mut out = Files::new();
    walk(dir, dir, &mut out);
    out
}

/// `files(dir)` split into the command's set and everything else.
fn split(dir: &Path, set: &[&str]) -> (Files, Files) {
    files(dir)
        .into_iter()
        .partition(|(name, _)| set.contains(&name.as_str()))
}

/// Hidden entries a command keeps beside `target` (staging and set-aside old directories).
fn leftovers(target: &Path) -> Vec<String> {
    let prefix = format!(".{}.dctwin-", target.file_name().unwrap().to_str().unwrap());
    let mut v: Vec<String> = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    v.sort();
    v
}

fn ok(args: &[String]) {
    let o = dctwin(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        o.status.code(),
        Some(0),
        "dctwin {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn quickstart() -> String {
    root()
        .join("scenarios/quickstart.ron")
        .display()
        .to_string()
}

/// A small quickstart sweep (2 rates × 2 replicates of `horizon_s`).
fn small_sweep(dir: &Path, name: &str, seed: u64, horizon_s: u64) -> String {
    write(
        dir,
        name,
        &format!(
            r#"Sweep(
    scenario: "{}",
    set: ["horizon_s={horizon_s}"],
    axes: [(path: "workload.Synthetic.interarrival_s.Exponential.mean_s", values: [100, 140])],
    replicates: 2,
    seed: {seed},
)
"#,
            quickstart()
        ),
    )
    .display()
    .to_string()
}

/// Runs `dctwin args…` and expects exit 2 with `want` in the error.
fn bad_out(args: &[&str], want: &str) {
    let o = dctwin(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "dctwin {args:?}: {err}");
    assert!(err.contains(want), "dctwin {args:?}: {err}\nwanted: {want}");
}

#[test]
fn an_unusable_out_is_bad_input_for_every_command() {
    let d = temp_dir("outdir-bad");
    let file = write(&d, "file", "not a directory").display().to_string();
    let below = format!("{file}/sub");
    let is_file = format!("output directory {file}: is a file, not a directory");
    let is_below =
        format!("output directory {below}: cannot be created: {file} is a file, not a directory");
    let qs = quickstart();
    let sweep = small_sweep(&d, "s.ron", 1, 86400);
    let shards = d.join("shards").display().to_string();
    let size = write(
        &d,
        "size.ron",
        &format!(
            "Size(scenario: \"{qs}\", field: \"horizon_s\", range: (3600, 7200), tolerance: 600, \
             goal: Smallest, constraints: [\"jobs.submitted >= 1\"], seed: 1)\n"
        ),
    )
    .display()
    .to_string();
    ok(&strings(&[
        "sweep", &sweep, "--quiet", "--shard", "0/1", "--out", &shards,
    ]));
    let run = d.join("run").display().to_string();
    ok(&strings(&[
        "run",
        &qs,
        "--quiet",
        "--set",
        "horizon_s=3600",
        "--out",
        &run,
    ]));
    for (out, want) in [(&file, &is_file), (&below, &is_below)] {
        bad_out(&["run", &qs, "--quiet", "--out", out], want);
        bad_out(&["sweep", &sweep, "--quiet", "--out", out], want);
        bad_out(
            &["sweep", &sweep, "--quiet", "--shard", "0/2", "--out", out],
            want,
        );
        bad_out(&["merge", &shards, "--quiet", "--out", out], want);
        bad_out(&["compare", &run, &run, "--quiet", "--out", out], want);
        bad_out(&["size", &size, "--quiet", "--out", out], want);
        bad_out(
            &["size", &size, "--quiet", "--shard", "0/2", "--out", out],
            want,
        );
    }
    // Checked before the sweep's points are: an invalid point would be reported otherwise.
    let bad_point = write(
        &d,
        "bad.ron",
        &format!(
            "Sweep(scenario: \"{qs}\", axes: [(path: \"horizon_s\", values: [-1])], seed: 1)\n"
        ),
    );
    bad_out(
        &["sweep", bad_point.to_str().unwrap(), "--out", &file],
        &is_file,
    );
    // Nothing was created below the file, and no staging directory was left anywhere.
    assert!(std::fs::metadata(&file).unwrap().is_file());
    assert!(leftovers(&d.join("run")).is_empty() && leftovers(&d.join("shards")).is_empty());

    // The current directory (or one holding it) is replaced as a whole, so it is refused.
    let o = Command::new(env!("CARGO_BIN_EXE_dctwin"))
        .args(["run", &qs, "--quiet", "--out", "."])
        .current_dir(&run)
        .env("CI", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("holds the current directory"));
}

#[test]
fn a_run_replaces_its_set_and_keeps_other_files() {
    let d = temp_dir("outdir-keep");
    let out = d.join("q");
    let run = |seed: &str| {
        ok(&strings(&[
            "run",
            &quickstart(),
            "--quiet",
            "--set",
            "horizon_s=86400",
            "--seed",
            seed,
            "--out",
            out.to_str().unwrap(),
        ]))
    };
    run("1");
    let (first, _) = split(&out, RUN_SET);
    write(&out, "notes.txt", "mine");
    std::fs::create_dir_all(out.join("mine/deeper")).unwrap();
    write(&out.join("mine/deeper"), "x.csv", "1,2\n");
    // Set files the new run will not write (facility and failures charts of an earlier run) go with the old
    // set; a killed writer's temporary file and a killed run's staging directory go too.
    write(&out, "facility_power.svg", "<svg/>");
    write(&out, "failures.svg", "<svg/>");
    write(&out, ".summary.json.tmp-4242-0", "partial");
    std::fs::create_dir_all(d.join(".q.dctwin-staging-999999-0")).unwrap();
    run("2");
    let (set, other) = split(&out, RUN_SET);
    assert_ne!(set, first, "a different seed writes a different set");
    assert_eq!(
        set.keys().collect::<Vec<_>>(),
        first.keys().collect::<Vec<_>>()
    );
    let names: Vec<&str> = other.keys().map(String::as_str).collect();
    assert_eq!(names, ["mine/deeper/x.csv", "notes.txt"]);
    assert_eq!(other["notes.txt"], b"mine");
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
}

/// What is on disk after one kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Killed before its staging directory existed (start-up, loading the scenario).
    BeforeStaging,
    /// Staging directory created, still empty (simulating).
    Simulating,
    /// Some of the new set in the staging directory; the target still the old set.
    Writing,
    /// Fallback only: the old directory renamed away, the new one not yet in.
    TargetAbsent,
    /// The new set in place; the old directory not yet removed.
    Swapped,
    /// The new set in place, nothing left beside it: killed at the very end, or it had exited.
    Done,
}

/// One command killed again and again while it replaces `target`'s old set with its new one.
struct KillCase {
    /// The command, without `--out`.
    args: Vec<String>,
    target: PathBuf,
    set: &'static [&'static str],
    old: Files,
    new: Files,
    other: Files,
    /// A copy of the old set, to put back before each kill.
    old_copy: PathBuf,
    /// Extra environment (the fallback switch).
    env: Vec<(&'static str, &'static str)>,
}

impl KillCase {
    fn command(&self, out: &Path) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dctwin"));
        c.args(&self.args)
            .arg("--out")
            .arg(out)
            .env("CI", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Puts the old set back in the target (by hand, from its copy), unless the target is absent
    /// (then the next command puts the set-aside old directory back itself).
    fn reset(&self) {
        if !self.target.exists() {
            return;
        }
        for name in self.set {
            let _ = std::fs::remove_file(self.target.join(name));
            let copy = self.old_copy.join(name);
            if copy.exists() {
                std::fs::copy(copy, self.target.join(name)).unwrap();
            }
        }
        assert_eq!(split(&self.target, self.set).0, self.old);
    }

    /// Kills the command after `sleep` and checks what it left; returns the phase it was in.
    fn kill_once(&self, sleep: Duration, what: &str) -> Phase {
        let before = leftovers(&self.target);
        let mut child = self.command(&self.target).spawn().unwrap();
        let pid = child.id();
        std::thread::sleep(sleep);
        let _ = child.kill();
        let status = child.wait().unwrap();
        let all = leftovers(&self.target);
        let ours: Vec<&String> = all
            .iter()
            .filter(|n| n.contains(&format!("-{pid}-")))
            .collect();
        let phase = if !self.target.exists() {
            self.check_set_aside(&all, what);
            // Absent since an earlier kill if this command never got as far as its own window.
            if ours.iter().any(|n| n.contains(".dctwin-old-")) {
                Phase::TargetAbsent
            } else {
                Phase::BeforeStaging
            }
        } else {
            let (set, other) = split(&self.target, self.set);
            assert_eq!(other, self.other, "{what}: files not of the set changed");
            if set == self.old {
                match ours.first() {
                    None => Phase::BeforeStaging,
                    Some(s) if files(&self.target.with_file_name(s.as_str())).is_empty() => {
                        Phase::Simulating
                    }
                    Some(_) => Phase::Writing,
                }
            } else {
                assert!(
                    set == self.new,
                    "{what}: a mix of the old and new sets: {:?}",
                    set.keys().collect::<Vec<_>>()
                );
                if ours.is_empty() {
                    Phase::Done
                } else {
                    Phase::Swapped
                }
            }
        };
        if matches!(
            phase,
            Phase::Simulating | Phase::Writing | Phase::Swapped | Phase::Done
        ) {
            let stale: Vec<&String> = before
                .iter()
                .filter(|n| leftovers(&self.target).contains(n))
                .collect();
            assert!(
                stale.is_empty(),
                "{what}: earlier leftovers not removed: {stale:?}"
            );
        }
        if phase == Phase::Done && status.success() {
            assert!(leftovers(&self.target).is_empty(), "{what}");
        }
        phase
    }

    /// The target is absent only inside the fallback's window: the old directory, set aside whole.
    fn check_set_aside(&self, all: &[String], what: &str) {
        let old: Vec<&String> = all.iter().filter(|n| n.contains(".dctwin-old-")).collect();
        assert_eq!(old.len(), 1, "{what}: target absent, beside it: {all:?}");
        let (set, other) = split(&self.target.with_file_name(old[0]), self.set);
        assert!(
            set == self.old && other == self.other,
            "{what}: the set-aside directory is not the old one"
        );
    }

    /// `iterations` kills after sleeps uniform in [0, 1.3 × the command's duration] (half of them in
    /// [0.6, 1.3] ×); then one complete command, which must leave the new set and nothing beside it.
    /// Returns the phases the kills landed in.
    fn run(&self, iterations: u32, rng: &mut rand::rngs::ChaCha8Rng, seed: u64) -> String {
        let started = Instant::now();
        // The command's duration: the median of complete runs, taken again as the loop goes (the
        // machine's load changes while other tests run).
        let scratch = self.target.with_file_name("scratch");
        let mut times: Vec<Duration> = Vec::new();
        let measure = |times: &mut Vec<Duration>| {
            let t = Instant::now();
            assert!(self.command(&scratch).status().unwrap().success());
            times.push(t.elapsed());
            times.sort();
            times[times.len() / 2].max(Duration::from_millis(10))
        };
        let mut duration = Duration::ZERO;
        for _ in 0..3 {
            duration = measure(&mut times);
        }
        let mut phases: BTreeMap<Phase, u32> = BTreeMap::new();
        for i in 0..iterations {
            if i % 8 == 7 {
                duration = measure(&mut times);
            }
            self.reset();
            // Half the kills anywhere, half in the last part, where the set is written and swapped.
            let from = if rng.random_bool(0.5) { 0.0 } else { 0.6 };
            let sleep = duration.mul_f64(rng.random_range(from..1.3));
            let what = format!("seed {seed}, iteration {i}, kill after {sleep:?}");
            *phases.entry(self.kill_once(sleep, &what)).or_default() += 1;
        }
        assert!(self.command(&self.target).status().unwrap().success());
        let (set, other) = split(&self.target, self.set);
        assert!(
            set == self.new && other == self.other,
            "seed {seed}: after a complete run"
        );
        assert!(leftovers(&self.target).is_empty(), "seed {seed}");
        format!(
            "{iterations} kills over {duration:?}-long commands in {:.1} s: {phases:?}",
            started.elapsed().as_secs_f64()
        )
    }
}

/// The seed of the kill schedule: `DCTWIN_KILL_SEED`, else the clock (printed either way).
fn kill_seed() -> u64 {
    std::env::var("DCTWIN_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos() as u64
        })
}

/// The old set (another seed and horizon) made in `dir/name`, with files of the user's beside it.
fn prepared(
    dir: &Path,
    name: &str,
    old_args: &[String],
    new_args: &[String],
    set: &'static [&'static str],
) -> KillCase {
    let target = dir.join(name);
    let reference = dir.join(format!("{name}-new"));
    let old_copy = dir.join(format!("{name}-old"));
    ok(&[old_args, &strings(&["--out", old_copy.to_str().unwrap()])].concat());
    ok(&[old_args, &strings(&["--out", target.to_str().unwrap()])].concat());
    ok(&[new_args, &strings(&["--out", reference.to_str().unwrap()])].concat());
    write(&target, "notes.txt", "mine");
    std::fs::create_dir_all(target.join("mine")).unwrap();
    write(&target.join("mine"), "a.csv", "1,2\n");
    let (old, other) = split(&target, set);
    let (new, _) = split(&reference, set);
    assert_ne!(old, new);
    KillCase {
        args: new_args.to_vec(),
        target,
        set,
        old,
        new,
        other,
        old_copy,
        env: Vec::new(),
    }
}

#[cfg(unix)]
#[test]
fn a_killed_run_leaves_the_old_set_or_the_new_set() {
    let seed = kill_seed();
    println!("kill test seed {seed} (DCTWIN_KILL_SEED={seed} repeats the schedule)");
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let d = temp_dir("outdir-kill-run");
    let run = |seed: &str, horizon: &str| {
        strings(&[
            "run",
            &quickstart(),
            "--quiet",
            "--seed",
            seed,
            "--set",
            horizon,
        ])
    };
    let old = run("2", "horizon_s=172800");
    let new = run("1", "horizon_s=604800");
    let case = prepared(&d, "q", &old, &new, RUN_SET);
    println!("run, RENAME_EXCHANGE: {}", case.run(40, &mut rng, seed));
    let mut fallback = prepared(&d, "f", &old, &new, RUN_SET);
    fallback.env.push(("DCTWIN_NO_RENAME_EXCHANGE", "1"));
    println!(
        "run, rename-away fallback: {}",
        fallback.run(12, &mut rng, seed)
    );
}

#[cfg(unix)]
#[test]
fn a_killed_sweep_leaves_the_old_outputs_or_the_new_outputs() {
    let seed = kill_seed();
    println!("kill test seed {seed} (DCTWIN_KILL_SEED={seed} repeats the schedule)");
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let d = temp_dir("outdir-kill-sweep");
    let old = small_sweep(&d, "old.ron", 2, 86400);
    let new = small_sweep(&d, "new.ron", 1, 604800);
    let args = |f: &str| strings(&["sweep", f, "--quiet", "--threads", "2"]);
    let case = prepared(&d, "s", &args(&old), &args(&new), SWEEP_SET);
    println!("sweep: {}", case.run(12, &mut rng, seed));
}
