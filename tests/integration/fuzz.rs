//! Fuzzing through the binary: every shipped scenario, a trace of each reader, the weather and carbon
//! files, a sweep file, an overlay file (`--set-file`) and calibration telemetry are mutated
//! ([`crate::mutate`]) and fed to `dctwin validate` and, when valid, a short `dctwin run` (or `dctwin sweep`,
//! or `dctwin calibrate`); each shipped scenario also gets 1 or 2 of its numbers set to
//! extremes with `--set`; a shard file and a summary made by the binary are mutated and given to `merge`,
//! `compare` and `check`. Each process must exit with 0 or 2 — never 1 (an internal error or a caught
//! panic; `check` may report a drift) — within a wall-time bound (a hang is a failure), and a rejection
//! must be one short `error: …` line. docs/testing.md describes it.
//!
//! - `DCTWIN_FUZZ_CASES` (default 500) cases, `DCTWIN_FUZZ_SEED` (default [`DEFAULT_SEED`]) seeds them;
//!   case `i` depends only on the seed and `i` (`DCTWIN_FUZZ_ONLY=i` reruns one).
//! - `DCTWIN_FUZZ_TIMEOUT_S` (default 10) bounds each process; `DCTWIN_BIN` picks the binary (e.g. a release
//!   build for long runs).
//! - A failing case keeps its input, command and stderr in `target/fuzz-failures/<seed>-<i>/` and the test
//!   prints the seed and that path.
//! - `tests/fuzz/found/`: the inputs it found, replayed by `found_inputs_exit_0_or_2`; [`LEAD_MUST_FIX`]
//!   lists those that need fixes outside the readers (load checks, models, the twin), skipped until fixed.
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bounded::{self, Finished};
use crate::common::{root, shared};
use crate::mutate::{case_seed, mutate};

/// The seed of the default run.
const DEFAULT_SEED: u64 = 0xDC7_F022;
/// Cases of the default run.
const DEFAULT_CASES: u64 = 500;
/// Longest stderr of a rejected input, in bytes.
const MAX_STDERR: usize = 4096;
/// Horizon of the short runs, s.
const RUN_HORIZON_S: &str = "3600";
/// Event budget passed to `run` when the binary has `--max-events` (the cost guard).
const MAX_EVENTS: &str = "200000";

/// Inputs the fuzz test found that need fixes outside the readers and sweep files (the scenario checks in
/// scenario/src/load.rs, the models, the twin's cost guard): names of `tests/fuzz/found/cases.tsv`, which
/// says what goes wrong with each. `found_inputs_exit_0_or_2` skips them. **Empty this list as they are
/// fixed.**
const LEAD_MUST_FIX: &[&str] = &[];

/// Cases of the default random run (seed [`DEFAULT_SEED`]) skipped for the same reason, by target and case
/// index, with the entry of `tests/fuzz/found/cases.tsv` that reproduces each. **Empty it with them.**
const LEAD_MUST_FIX_CASES: &[(&str, u64, &str)] = &[];

/// How a mutated file is used.
#[derive(Clone)]
enum Use {
    /// A scenario: `validate FILE`, then `run FILE`.
    Scenario,
    /// A file a host scenario names: `validate HOST --set KEY=FILE` (plus `extra`), then `run` the same.
    Input {
        host: PathBuf,
        key: &'static str,
        extra: Vec<String>,
    },
    /// A sweep file: `sweep FILE`.
    Sweep,
    /// A scenario left as is, with 1 or 2 of its numbers (`leaves`, dotted paths) set to extremes by
    /// `--set`: the checks behind the parser, field by field.
    Overrides { leaves: Vec<String> },
    /// A shard file of a sweep whose manifest is `manifest`: `merge` of the two.
    Merge { manifest: String },
    /// A run's summary.json: `compare` and `check` against a real one (`other`), both ways.
    Summary { other: PathBuf },
    /// A telemetry CSV: `calibrate HOST --telemetry FILE --fit …` for each of `fit`.
    Telemetry {
        host: PathBuf,
        fit: Vec<&'static str>,
    },
    /// An overlay file: `validate HOST --set-file FILE`, then `run` the same.
    Overlay { host: PathBuf },
}

/// One thing to mutate.
#[derive(Clone)]
struct Target {
    name: String,
    ext: &'static str,
    text: String,
    usage: Use,
}

/// A scenario's relative file paths made absolute (the mutated copy lives elsewhere).
fn absolute_paths(text: &str, dir: &Path) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        let Some(len) = rest[start + 1..].find('"') else {
            break;
        };
        let inner = &rest[start + 1..start + 1 + len];
        out.push_str(&rest[..=start]);
        let p = dir.join(inner);
        if !inner.is_empty() && !inner.starts_with('/') && inner.contains('.') && p.exists() {
            out.push_str(&p.display().to_string());
        } else {
            out.push_str(inner);
        }
        out.push('"');
        rest = &rest[start + 2 + len..];
    }
    out.push_str(rest);
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The first `n` lines of a file.
fn head(p: &Path, n: usize) -> String {
    read(p).lines().take(n).map(|l| format!("{l}\n")).collect()
}

fn targets() -> Vec<Target> {
    let scenarios = root().join("scenarios");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&scenarios)
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    names.sort();
    let mut out: Vec<Target> = names
        .iter()
        .map(|p| Target {
            name: p.file_name().unwrap().to_string_lossy().into_owned(),
            ext: "ron",
            text: absolute_paths(&read(p), &scenarios),
            usage: Use::Scenario,
        })
        .collect();
    let corpus = root().join("tests/corpus");
    let base = |b: &str| corpus.join("base").join(b);
    let input = |name: &str, ext, text: String, host: &str, key, extra: &[&str]| Target {
        name: name.to_string(),
        ext,
        text,
        usage: Use::Input {
            host: base(host),
            key,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        },
    };
    let sh = shared();
    out.extend([
        input(
            "native.csv",
            "csv",
            read(&root().join("scenarios/traces/sample-jobs.csv")),
            "native.ron",
            "workload.NativeTrace.path",
            &[],
        ),
        input(
            "azure.csv",
            "csv",
            head(
                &sh.join("traces/azure-llm-2023/AzureLLMInferenceTrace_code.csv"),
                200,
            ),
            "azure.ron",
            "workload.Inference.requests.AzureTrace.path",
            &[],
        ),
        input(
            "alibaba-pods.csv",
            "csv",
            read(&corpus.join("alibaba/pods-ok.csv")),
            "alibaba.ron",
            "workload.AlibabaPods.path",
            &[],
        ),
        input(
            "alibaba-nodes.csv",
            "csv",
            read(&corpus.join("alibaba/nodes-ok.csv")),
            "alibaba.ron",
            "site.AlibabaNodes.path",
            &[],
        ),
        input(
            "philly.json",
            "json",
            read(&corpus.join("philly/ok.json")),
            "philly.ron",
            "workload.PhillyLog.path",
            &[],
        ),
        input(
            "helios.csv",
            "csv",
            read(&corpus.join("helios/ok.csv")),
            "helios.ron",
            "workload.HeliosLog.path",
            &[],
        ),
        input(
            "failures.csv",
            "csv",
            read(&corpus.join("base/failures.csv")),
            "failures.ron",
            "failures.trace",
            &[],
        ),
        input(
            "tmy3.csv",
            "csv",
            read(&sh.join("weather/tmy3-723170-greensboro-nc.csv")),
            "tmy3.ron",
            "facility.weather.Tmy3.path",
            &[],
        ),
        input(
            "epw.epw",
            "epw",
            read(&corpus.join("weather/ok.epw")),
            "epw.ron",
            "facility.weather.Epw.path",
            &[],
        ),
        input(
            "weather.csv",
            "csv",
            read(&corpus.join("weather/ok.csv")),
            "wcsv.ron",
            "facility.weather.Csv.path",
            &[],
        ),
        input(
            "nyc.csv",
            "csv",
            head(&sh.join("weather/nyc-2013-hourly-weather.csv"), 200),
            "nyc.ron",
            "facility.weather.Nyc2013.path",
            &["--set", "facility.weather.Nyc2013.origin=EWR"],
        ),
        input(
            "carbon.csv",
            "csv",
            head(&sh.join("carbon/entsoe-2020-fr-carbon-intensity.csv"), 200),
            "carbon.ron",
            "facility.carbon.Csv.path",
            &[],
        ),
    ]);
    for p in &names {
        let text = absolute_paths(&read(p), &scenarios);
        let parsed: scenario::Scenario = scenario::parse_ron(p, &text).expect("a shipped scenario");
        let mut leaves = Vec::new();
        numeric_leaves(
            &serde_json::to_value(parsed).expect("JSON image"),
            "",
            &mut leaves,
        );
        out.push(Target {
            name: format!("--set on {}", p.file_name().unwrap().to_string_lossy()),
            ext: "ron",
            text,
            usage: Use::Overrides { leaves },
        });
    }
    let training = scenarios.join("llm-training.ron");
    let calibrate = root().join("examples/calibrate");
    for (file, fit) in [
        (
            "step-times.csv",
            vec![
                "workload.Training.comm.AlphaBeta.inter_node_bw_gbs=10..100",
                "workload.Training.comm.AlphaBeta.intra_bw_gbs=50..800",
            ],
        ),
        (
            "nccl-busbw.csv",
            vec![
                "workload.Training.comm.AlphaBeta.inter_node_bw_gbs=5..200",
                "workload.Training.comm.AlphaBeta.inter_alpha_s=1e-6..1e-4",
            ],
        ),
    ] {
        out.push(Target {
            name: file.into(),
            ext: "csv",
            text: read(&calibrate.join(file)),
            usage: Use::Telemetry {
                host: training.clone(),
                fit,
            },
        });
    }
    out.push(Target {
        name: "overlay.set".into(),
        ext: "set",
        text: "# fitted\nworkload.Training.comm.AlphaBeta.inter_node_bw_gbs=37.5\n\
               workload.Training.comm.AlphaBeta.intra_bw_gbs=300\nworkload.Training.jobs.0.submit_s=60\n"
            .into(),
        usage: Use::Overlay { host: training },
    });
    out.push(Target {
        name: "sweep.ron".into(),
        ext: "ron",
        text: absolute_paths(&read(&corpus.join("sweep/ok.ron")), &corpus.join("sweep")),
        usage: Use::Sweep,
    });
    out
}

/// The dotted paths of every number in a scenario's JSON image (the paths `--set` takes).
fn numeric_leaves(v: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    let join = |k: &str| {
        if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}.{k}")
        }
    };
    match v {
        serde_json::Value::Number(_) => out.push(at.to_string()),
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                numeric_leaves(x, &join(k), out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                numeric_leaves(x, &join(&i.to_string()), out);
            }
        }
        _ => {}
    }
}

/// `--set` arguments setting 1 or 2 of `leaves` to extremes, drawn from `seed`, and what they do.
fn extreme_overrides(leaves: &[String], seed: u64) -> (Vec<OsString>, Vec<String>) {
    let mut rng = crate::mutate::Rng::new(seed);
    let mut args = Vec::new();
    let mut done = Vec::new();
    for _ in 0..1 + rng.below(2) {
        let path = rng.pick(leaves);
        let v = rng.pick(crate::mutate::EXTREMES);
        args.push("--set".into());
        args.push(format!("{path}={v}").into());
        done.push(format!("--set {path}={v}"));
    }
    (args, done)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            let v = v.trim();
            match v.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => v.parse(),
            }
            .unwrap_or_else(|_| panic!("{name}={v}: expected a number"))
        })
        .unwrap_or(default)
}

/// Settings of one fuzz run.
struct Settings {
    bin: PathBuf,
    seed: u64,
    timeout: Duration,
    /// `--max-events N` when the binary's `run` accepts it (the lead's cost guard), else nothing.
    max_events: Vec<OsString>,
    /// The same for `sweep` (which took the flag later).
    sweep_max_events: Vec<OsString>,
    work: PathBuf,
    failures: PathBuf,
}

/// The cost-guard hook: whether `command` takes `--max-events` (detected from its help text).
fn max_events_args(bin: &Path, command: &str) -> Vec<OsString> {
    let help = bounded::run(
        bin,
        &[command.into(), "--help".into()],
        &root(),
        Duration::from_secs(30),
    );
    if String::from_utf8_lossy(&help.stdout).contains("--max-events") {
        vec!["--max-events".into(), MAX_EVENTS.into()]
    } else {
        Vec::new()
    }
}

/// One process of a case and how it ended.
struct Step {
    args: Vec<OsString>,
    result: Finished,
    /// `dctwin check`: exit 1 with its `FAIL:` report (on stdout, nothing on stderr) is a drift found,
    /// not a failure.
    drift_ok: bool,
}

impl Step {
    fn run(s: &Settings, args: Vec<OsString>, dir: &Path) -> Step {
        Step {
            result: bounded::run(&s.bin, &args, dir, s.timeout),
            drift_ok: args.first().is_some_and(|a| a == "check"),
            args,
        }
    }
}

/// What is wrong with a step: exit 1 or another code, a panic, a hang, a long or malformed rejection.
fn judge(step: &Step, timeout: Duration) -> Option<String> {
    let r = &step.result;
    let err = r.stderr_text();
    // The first line, or the panic's place and message (the line after it).
    let first: String = match err.lines().position(|l| l.contains("panicked at")) {
        Some(k) => err.lines().skip(k).take(2).collect::<Vec<_>>().join(" "),
        None => err.lines().next().unwrap_or_default().to_string(),
    }
    .chars()
    .take(300)
    .collect();
    if r.timed_out {
        return Some(format!("hang: still running after {timeout:?}"));
    }
    if r.panicked() {
        return Some(format!("panic: {first}"));
    }
    match r.code {
        Some(0) => None,
        // A drift report is on stdout (`FAIL: …`); an internal error would be on stderr.
        Some(1) if step.drift_ok && err.trim().is_empty() => None,
        Some(2) if r.stderr_len > MAX_STDERR => {
            Some(format!("stderr of {} bytes: {first}", r.stderr_len))
        }
        Some(2) if !err.starts_with("error: ") => {
            Some(format!("rejection without `error: `: {first}"))
        }
        Some(2) => None,
        other => Some(format!("exit {other:?}: {first}")),
    }
}

/// Runs case `i`: writes the mutated input into `dir` and runs the steps; the steps run.
fn run_case(s: &Settings, t: &Target, i: u64, dir: &Path) -> (Vec<Step>, Vec<String>, PathBuf) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("case dir");
    let (bytes, mut done) = match &t.usage {
        Use::Overrides { .. } => (t.text.clone().into_bytes(), Vec::new()),
        _ => mutate(&t.text, case_seed(s.seed, i)),
    };
    let input = dir.join(format!("input.{}", t.ext));
    std::fs::write(&input, &bytes).expect("write the input");
    let out = dir.join("out").into_os_string();
    let file = input.clone().into_os_string();
    let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
    let (validate, run): (Vec<OsString>, Vec<OsString>) = match &t.usage {
        Use::Scenario => (
            vec!["validate".into(), file.clone()],
            vec!["run".into(), file],
        ),
        Use::Overrides { leaves } => {
            let (set, what) = extreme_overrides(leaves, case_seed(s.seed, i));
            done = what;
            let mut v = vec!["validate".into(), file.clone()];
            v.extend(set.clone());
            let mut r = vec!["run".into(), file];
            r.extend(set);
            (v, r)
        }
        Use::Input { host, key, extra } => {
            let mut set = os(&["--set"]);
            let mut kv = OsString::from(format!("{key}="));
            kv.push(&file);
            set.push(kv);
            set.extend(extra.iter().map(OsString::from));
            let mut v = vec!["validate".into(), host.clone().into_os_string()];
            v.extend(set.clone());
            let mut r = vec!["run".into(), host.clone().into_os_string()];
            r.extend(set);
            (v, r)
        }
        Use::Overlay { host } => {
            let set = vec![OsString::from("--set-file"), file];
            let mut v = vec!["validate".into(), host.clone().into_os_string()];
            v.extend(set.clone());
            let mut r = vec!["run".into(), host.clone().into_os_string()];
            r.extend(set);
            (v, r)
        }
        Use::Telemetry { host, fit } => {
            let mut a = vec![
                "calibrate".into(),
                host.clone().into_os_string(),
                "--telemetry".into(),
                file,
                "--quiet".into(),
            ];
            for f in fit {
                a.extend(os(&["--fit", f]));
            }
            return (vec![Step::run(s, a, dir)], done, input);
        }
        Use::Sweep => {
            let mut a = vec!["sweep".into(), file, "--out".into(), out.clone()];
            a.extend(os(&["--threads", "1", "--quiet"]));
            a.extend(s.sweep_max_events.iter().cloned());
            return (vec![Step::run(s, a, dir)], done, input);
        }
        Use::Merge { .. } | Use::Summary { .. } => {
            return (study_steps(s, &t.usage, &input, dir), done, input);
        }
    };
    let mut steps = vec![Step::run(s, validate, dir)];
    if steps[0].result.code == Some(0) {
        let mut run = run;
        run.extend(os(&["--quiet", "--out"]));
        run.push(out);
        run.extend(os(&["--set", &format!("horizon_s={RUN_HORIZON_S}")]));
        run.extend(s.max_events.iter().cloned());
        steps.push(Step::run(s, run, dir));
    }
    (steps, done, input)
}

/// The steps of a study input: `merge` of a mutated shard file beside its manifest, or `compare` and
/// `check` of a mutated summary against a real one.
fn study_steps(s: &Settings, usage: &Use, input: &Path, dir: &Path) -> Vec<Step> {
    let os = |p: &Path| p.as_os_str().to_os_string();
    match usage {
        Use::Merge { manifest } => {
            let m = dir.join("merge");
            std::fs::create_dir_all(&m).expect("merge dir");
            std::fs::write(m.join("sweep.json"), manifest).expect("manifest");
            std::fs::copy(input, m.join("shard-0-of-1.jsonl")).expect("shard");
            let args = vec![
                "merge".into(),
                os(&m),
                "--out".into(),
                os(&dir.join("out")),
                "--quiet".into(),
            ];
            vec![Step::run(s, args, dir)]
        }
        Use::Summary { other } => {
            let (a, b) = (os(input), os(other));
            [
                vec!["compare".into(), a.clone(), b.clone(), "--quiet".into()],
                vec!["check".into(), a.clone(), "--baseline".into(), b.clone()],
                vec!["check".into(), b, "--baseline".into(), a],
            ]
            .into_iter()
            .map(|args| Step::run(s, args, dir))
            .collect()
        }
        _ => Vec::new(),
    }
}

/// Targets made by the binary itself: a shard file of the corpus sweep and a run's summary.json.
fn study_targets(s: &Settings) -> Vec<Target> {
    let corpus = root().join("tests/corpus");
    let seeds = s.work.join("seeds");
    let _ = std::fs::create_dir_all(&seeds);
    let os = |p: PathBuf| p.into_os_string();
    let shard = seeds.join("sweep");
    let sweep = vec![
        "sweep".into(),
        os(corpus.join("sweep/ok.ron")),
        "--shard".into(),
        "0/1".into(),
        "--out".into(),
        os(shard.clone()),
        "--quiet".into(),
    ];
    let run = vec![
        "run".into(),
        os(corpus.join("base/tiny.ron")),
        "--out".into(),
        os(seeds.join("run")),
        "--quiet".into(),
    ];
    for args in [sweep, run] {
        let step = Step::run(s, args, &seeds);
        assert_eq!(step.result.code, Some(0), "{}", step.result.stderr_text());
    }
    vec![
        Target {
            name: "shard-0-of-1.jsonl".into(),
            ext: "jsonl",
            text: read(&shard.join("shard-0-of-1.jsonl")),
            usage: Use::Merge {
                manifest: read(&shard.join("sweep.json")),
            },
        },
        Target {
            name: "summary.json".into(),
            ext: "json",
            text: read(&seeds.join("run/summary.json")),
            usage: Use::Summary {
                other: seeds.join("run/summary.json"),
            },
        },
    ]
}

/// A failure, kept on disk for the report.
fn keep(
    s: &Settings,
    i: u64,
    t: &Target,
    input: &Path,
    done: &[String],
    step: &Step,
    why: &str,
) -> String {
    let dir = s.failures.join(format!("{:x}-{i}", s.seed));
    let _ = std::fs::create_dir_all(&dir);
    let kept = dir.join(input.file_name().expect("a name"));
    let _ = std::fs::copy(input, &kept);
    let cmd = step
        .args
        .iter()
        .map(|a| {
            let a = a.to_string_lossy();
            if a.len() > 300 {
                format!("{}…", &a[..300])
            } else {
                a.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let _ = std::fs::write(dir.join("command.txt"), format!("dctwin {cmd}\n"));
    let _ = std::fs::write(dir.join("stderr.txt"), &step.result.stderr);
    format!(
        "case {i} (seed {:#x}, {}; {}): {why}\n    input kept: {}\n    command: dctwin {cmd}",
        s.seed,
        t.name,
        done.join("; "),
        kept.display()
    )
}

#[test]
fn mutated_inputs_never_panic_hang_or_fail_internally() {
    let bin = bounded::binary();
    let seed = env_u64("DCTWIN_FUZZ_SEED", DEFAULT_SEED);
    let cases = env_u64("DCTWIN_FUZZ_CASES", DEFAULT_CASES);
    let only = std::env::var("DCTWIN_FUZZ_ONLY")
        .ok()
        .map(|v| v.parse::<u64>().expect("a case index"));
    let s = Settings {
        max_events: max_events_args(&bin, "run"),
        sweep_max_events: max_events_args(&bin, "sweep"),
        seed,
        timeout: Duration::from_secs(env_u64("DCTWIN_FUZZ_TIMEOUT_S", 10)),
        work: root()
            .join("target/fuzz-work")
            .join(std::process::id().to_string()),
        failures: root().join("target/fuzz-failures"),
        bin,
    };
    let mut targets = targets();
    targets.extend(study_targets(&s));
    let ids: Vec<u64> = match only {
        Some(i) => vec![i],
        None => (0..cases).collect(),
    };
    let skipped = |i: u64| {
        seed == DEFAULT_SEED
            && LEAD_MUST_FIX_CASES.iter().any(|&(name, k, _)| {
                k == i && targets[(k % targets.len() as u64) as usize].name == name
            })
    };
    let results = bounded::parallel(ids.len(), bounded::threads(), |k| {
        let i = ids[k];
        let t = &targets[(i % targets.len() as u64) as usize];
        if skipped(i) && only.is_none() {
            return (0, Duration::ZERO, Vec::new(), true);
        }
        let (steps, done, input) = run_case(&s, t, i, &s.work.join(i.to_string()));
        let slowest = steps
            .iter()
            .map(|st| st.result.elapsed)
            .max()
            .unwrap_or_default();
        let failures: Vec<String> = steps
            .iter()
            .filter_map(|st| {
                judge(st, s.timeout).map(|why| keep(&s, i, t, &input, &done, st, &why))
            })
            .collect();
        let _ = std::fs::remove_dir_all(s.work.join(i.to_string()));
        (steps.len(), slowest, failures, false)
    });
    let runs: usize = results.iter().map(|r| r.0).sum();
    let slowest = results.iter().map(|r| r.1).max().unwrap_or_default();
    let skips = results.iter().filter(|r| r.3).count();
    let failures: Vec<&String> = results.iter().flat_map(|r| &r.2).collect();
    let count = |what: &str| failures.iter().filter(|f| f.contains(what)).count();
    eprintln!(
        "fuzz: seed {seed:#x}, {} case(s) ({skips} skipped as LEAD_MUST_FIX), {runs} process(es), {} failure(s) \
         ({} panic(s), {} hang(s)); slowest process {:.2} s; binary {}; cost guard {}",
        ids.len(),
        failures.len(),
        count("panic:"),
        count("hang:"),
        slowest.as_secs_f64(),
        s.bin.display(),
        if s.max_events.is_empty() {
            "not available"
        } else {
            "--max-events"
        }
    );
    let _ = std::fs::remove_dir_all(&s.work);
    assert!(
        failures.is_empty(),
        "{} failure(s) (rerun one with DCTWIN_FUZZ_SEED={seed:#x} DCTWIN_FUZZ_ONLY=<case>):\n{}",
        failures.len(),
        failures
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Replays `tests/fuzz/found/cases.tsv`: each input the fuzz test found must now end with its expected
/// exit code, without a panic or a hang — except those in [`LEAD_MUST_FIX`].
#[test]
fn found_inputs_exit_0_or_2() {
    let found = root().join("tests/fuzz/found");
    let text = read(&found.join("cases.tsv"));
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
        .collect();
    for skip in LEAD_MUST_FIX
        .iter()
        .chain(LEAD_MUST_FIX_CASES.iter().map(|(_, _, n)| n))
    {
        assert!(
            rows.iter().any(|r| r[0] == *skip),
            "{skip} is not in tests/fuzz/found/cases.tsv"
        );
    }
    let work = crate::common::temp_dir("fuzz-found");
    let bin = bounded::binary();
    let timeout = Duration::from_secs(env_u64("DCTWIN_FUZZ_TIMEOUT_S", 10));
    // `DCTWIN_FUZZ_NO_SKIP=1` replays the LEAD_MUST_FIX inputs too (to see which are fixed).
    let no_skip = std::env::var_os("DCTWIN_FUZZ_NO_SKIP").is_some();
    let mut failures = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let (name, expect, command) = (r[0], r[1], r[2]);
        let what = r.get(3).copied().unwrap_or_default();
        if LEAD_MUST_FIX.contains(&name) && !no_skip {
            eprintln!("skipped (LEAD_MUST_FIX): {name}: {what}");
            continue;
        }
        let dir = work.join(i.to_string());
        std::fs::create_dir_all(&dir).expect("case dir");
        let args: Vec<OsString> = command
            .split(' ')
            .enumerate()
            .map(|(k, t)| {
                if t == "@TMP" {
                    dir.join("out").into_os_string()
                } else if let Some((key, f)) = t.split_once("=@") {
                    format!("{key}={}", found.join(f).display()).into()
                } else if k > 0 && !t.starts_with('-') && found.join(t).exists() {
                    found.join(t).into_os_string()
                } else {
                    t.into()
                }
            })
            .collect();
        let step = Step {
            result: bounded::run(&bin, &args, &dir, timeout),
            args,
            drift_ok: false,
        };
        let code = step.result.code.map(|c| c.to_string()).unwrap_or_default();
        let why = judge(&step, timeout).or_else(|| {
            (!expect.split('|').any(|e| e == code))
                .then(|| format!("exit {code}, expected {expect}"))
        });
        if let Some(why) = why {
            failures.push(format!("{name}: {command}: {why} ({what})"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every number of every shipped scenario set to each extreme, alone, through a short `run` (about 20,000
/// processes: run it with a release binary, `DCTWIN_BIN=… cargo test --test integration every_number --
/// --ignored --nocapture`). Prints each failure once per (place, field); fails when there is one.
#[test]
#[ignore = "long: ~20,000 runs; see docs/testing.md"]
fn every_number_at_every_extreme() {
    let bin = bounded::binary();
    let timeout = Duration::from_secs(env_u64("DCTWIN_FUZZ_TIMEOUT_S", 10));
    let work = crate::common::temp_dir("fuzz-every");
    let mut jobs = Vec::new();
    for t in targets() {
        if let Use::Overrides { leaves } = &t.usage {
            let file = work.join(t.name.replace(' ', "_"));
            std::fs::write(&file, &t.text).expect("write the scenario");
            for leaf in leaves {
                for v in crate::mutate::EXTREMES {
                    jobs.push((file.clone(), leaf.clone(), *v));
                }
            }
        }
    }
    let results = bounded::parallel(jobs.len(), bounded::threads(), |k| {
        let (file, leaf, v) = &jobs[k];
        let dir = work.join(k.to_string());
        let args: Vec<OsString> = vec![
            "run".into(),
            file.clone().into_os_string(),
            "--quiet".into(),
            "--out".into(),
            dir.join("out").into_os_string(),
            "--set".into(),
            format!("horizon_s={RUN_HORIZON_S}").into(),
            "--set".into(),
            format!("{leaf}={v}").into(),
        ];
        let _ = std::fs::create_dir_all(&dir);
        let step = Step {
            result: bounded::run(&bin, &args, &dir, timeout),
            args,
            drift_ok: false,
        };
        let _ = std::fs::remove_dir_all(&dir);
        judge(&step, timeout).map(|why| {
            // The panic's source place, or the kind of failure.
            let place = match why.split_once("panicked at ") {
                Some((_, at)) => at.split(": ").next().unwrap_or_default().to_string(),
                None => why.split(':').next().unwrap_or_default().to_string(),
            };
            let name = file.file_name().unwrap_or_default().to_string_lossy();
            (
                place,
                leaf.clone(),
                format!("{name} --set {leaf}={v}: {why}"),
            )
        })
    });
    let mut seen = std::collections::BTreeMap::new();
    for (place, leaf, line) in results.into_iter().flatten() {
        seen.entry((place, leaf)).or_insert(line);
    }
    eprintln!(
        "{} process(es), {} distinct failure(s):",
        jobs.len(),
        seen.len()
    );
    for line in seen.values() {
        eprintln!("  {line}");
    }
    let _ = std::fs::remove_dir_all(&work);
    assert!(seen.is_empty());
}
