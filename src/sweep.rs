//! `dctwin sweep` and `dctwin merge`: parameter sweeps over a base scenario, run in parallel on
//! one machine or sharded over a Slurm array / Kubernetes Indexed Job and merged.
//!
//! Run `k = point × replicates + replicate` (point-major). Its seed depends only on the master
//! seed and `k` (or the replicate, with `seeds: PerReplicate`). Each run yields one JSON line (the
//! *record*); the outputs are a function of the records in `k` order, so the thread count and the
//! sharding never change a byte. Format and contract: `docs/sweeps.md`.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::Rng as _;
use rayon::prelude::*;
use reports::sweep::{PlotSpec, SweepRun};
use scenario::InputError;
use scenario::parse_ron;
use scenario::{Override, load_scenario};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Failure;

/// Most runs one sweep may have.
const MAX_RUNS: u64 = 10_000_000;
/// Most values one range axis may have.
const MAX_RANGE_VALUES: u64 = 1_000_000;

/// File name of the sweep manifest (written by every sweep and shard, read by `merge`).
pub const MANIFEST_JSON: &str = "sweep.json";
/// File name of all records in `k` order.
pub const RUNS_JSONL: &str = "runs.jsonl";

/// A sweep file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename = "Sweep")]
struct SweepFile {
    /// Base scenario, relative to the sweep file.
    scenario: PathBuf,
    /// Names the default output directory `out/<name>/` (default: the sweep file's stem).
    #[serde(default)]
    name: Option<String>,
    /// `--set` overrides applied to every run before the axes (`"horizon_s=86400"`).
    #[serde(default)]
    set: Vec<String>,
    #[serde(default)]
    axes: Vec<AxisSpec>,
    #[serde(default)]
    mode: Mode,
    #[serde(default = "one")]
    replicates: u64,
    /// Master seed.
    seed: u64,
    #[serde(default)]
    seeds: SeedScheme,
    #[serde(default)]
    plot: PlotFile,
}

fn one() -> u64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AxisSpec {
    /// Dotted field path, as for `--set`.
    path: String,
    #[serde(default)]
    values: Option<Vec<f64>>,
    #[serde(default)]
    words: Option<Vec<String>>,
    #[serde(default)]
    range: Option<RangeSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeSpec {
    start: f64,
    stop: f64,
    step: f64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Deserialize, Serialize)]
enum Mode {
    #[default]
    Grid,
    Zip,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Deserialize, Serialize)]
enum SeedScheme {
    /// Every run its own seed, from (master seed, k).
    #[default]
    PerRun,
    /// Replicate r has the same seed at every point (common random numbers), from (master seed, r).
    PerReplicate,
}

#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct PlotFile {
    #[serde(default)]
    figure: Option<String>,
    #[serde(default)]
    tradeoff: Option<(String, String)>,
}

/// What a sweep is, independent of how it is executed; written as `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub sweep_hash: String,
    pub dctwin_version: String,
    pub runs: u64,
    pub points: u64,
    pub replicates: u64,
    pub axes: Vec<String>,
    plot: PlotFile,
}

/// A parsed, checked sweep.
pub struct Sweep {
    file: PathBuf,
    scenario: PathBuf,
    set: Vec<Override>,
    /// Axis paths.
    axes: Vec<String>,
    /// Axis values of each point, in point order.
    points: Vec<Vec<String>>,
    replicates: u64,
    seed: u64,
    seeds: SeedScheme,
    pub manifest: Manifest,
}

/// The FNV-1a-64 hash of the sweep file's bytes, a zero byte and the base scenario's bytes, as
/// `fnv1a64:<16 hex digits>`.
fn sweep_hash(sweep_text: &[u8], scenario_text: &[u8]) -> String {
    let mut bytes = sweep_text.to_vec();
    bytes.push(0);
    bytes.extend_from_slice(scenario_text);
    format!("fnv1a64:{:016x}", sim::fnv1a64(&bytes))
}

/// Formats an axis value as `--set` text: Rust's shortest round-trip form (`90`, `0.25`).
fn value_text(v: f64) -> String {
    v.to_string()
}

fn range_values(r: &RangeSpec) -> Result<Vec<String>, String> {
    let RangeSpec { start, stop, step } = *r;
    if !(start.is_finite() && stop.is_finite() && step.is_finite()) {
        return Err("start, stop and step must be finite numbers".into());
    }
    if step == 0.0 || (stop - start) * step < 0.0 {
        return Err(format!(
            "step {step} never reaches stop {stop} from start {start}"
        ));
    }
    let count = ((stop - start) / step + 1e-9).floor() + 1.0;
    if count > MAX_RANGE_VALUES as f64 {
        return Err(format!("more than {MAX_RANGE_VALUES} values"));
    }
    Ok((0..count as u64)
        .map(|i| {
            // start + i·step (not repeated addition), rounded to 10 decimals so 0.1-steps read well.
            let v = start + i as f64 * step;
            let r: f64 = format!("{v:.10}").parse().unwrap_or(v);
            value_text(r)
        })
        .collect())
}

impl Sweep {
    /// Reads and checks a sweep file (bad input → [`Failure::Input`] naming file, line, column or field).
    pub fn load(file: &Path) -> Result<Sweep, Failure> {
        let input = |e: InputError| Failure::Input(e.to_string());
        let text = fs::read(file)
            .map_err(|e| input(InputError::file(file, format!("cannot read file: {e}"))))?;
        let text_str = String::from_utf8(text.clone())
            .map_err(|_| input(InputError::file(file, "not UTF-8 text")))?;
        let spec: SweepFile = parse_ron(file, &text_str).map_err(input)?;
        let field = |f: &str, m: String| input(InputError::field(file, f, m));

        let scenario = match file.parent() {
            Some(d) if spec.scenario.is_relative() => d.join(&spec.scenario),
            _ => spec.scenario.clone(),
        };
        let scenario_text = fs::read(&scenario).map_err(|e| {
            field(
                "scenario",
                format!("cannot read {}: {e}", scenario.display()),
            )
        })?;
        let set = spec
            .set
            .iter()
            .enumerate()
            .map(|(i, s)| Override::parse(s).map_err(|m| field(&format!("set[{i}]"), m)))
            .collect::<Result<Vec<_>, _>>()?;

        let mut axes = Vec::new();
        let mut values: Vec<Vec<String>> = Vec::new();
        for (i, a) in spec.axes.iter().enumerate() {
            let f = format!("axes[{i}]");
            if a.path.is_empty() || a.path.split('.').any(str::is_empty) {
                return Err(field(
                    &f,
                    format!("`{}` is not a dotted field path", a.path),
                ));
            }
            if axes.contains(&a.path) {
                return Err(field(&f, format!("`{}` is swept twice", a.path)));
            }
            let v = match (&a.values, &a.words, &a.range) {
                (Some(v), None, None) => {
                    if let Some(bad) = v.iter().find(|x| !x.is_finite()) {
                        return Err(field(&f, format!("value {bad} is not finite")));
                    }
                    v.iter().map(|&x| value_text(x)).collect()
                }
                (None, Some(w), None) => w.clone(),
                (None, None, Some(r)) => {
                    range_values(r).map_err(|m| field(&format!("{f}.range"), m))?
                }
                _ => {
                    return Err(field(
                        &f,
                        "give exactly one of `values: [..]`, `words: [..]` or `range: (start, stop, step)`"
                            .into(),
                    ));
                }
            };
            if v.is_empty() {
                return Err(field(&f, "has no values".into()));
            }
            axes.push(a.path.clone());
            values.push(v);
        }
        let points: Vec<Vec<String>> = match spec.mode {
            Mode::Zip => {
                let n = values.first().map_or(1, Vec::len);
                if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| v.len() != n) {
                    return Err(field(
                        &format!("axes[{i}]"),
                        format!(
                            "has {} values but axes[0] has {n}: zipped axes must be the same length",
                            v.len()
                        ),
                    ));
                }
                (0..n)
                    .map(|p| values.iter().map(|v| v[p].clone()).collect())
                    .collect()
            }
            Mode::Grid => {
                let total: u64 = values
                    .iter()
                    .try_fold(1u64, |acc, v| acc.checked_mul(v.len() as u64))
                    .filter(|&t| t <= MAX_RUNS)
                    .ok_or_else(|| field("axes", format!("more than {MAX_RUNS} points")))?;
                // Cartesian product, the last axis varying fastest.
                (0..total)
                    .map(|mut p| {
                        let mut row = vec![String::new(); values.len()];
                        for (j, v) in values.iter().enumerate().rev() {
                            let n = v.len() as u64;
                            row[j] = v[(p % n) as usize].clone();
                            p /= n;
                        }
                        row
                    })
                    .collect()
            }
        };
        if spec.replicates == 0 {
            return Err(field("replicates", "must be at least 1".into()));
        }
        let runs = (points.len() as u64)
            .checked_mul(spec.replicates)
            .filter(|&r| r <= MAX_RUNS)
            .ok_or_else(|| field("replicates", format!("more than {MAX_RUNS} runs in all")))?;
        let name = match &spec.name {
            Some(n) => n.clone(),
            None => file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "sweep".into()),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(field(
                "name",
                format!("`{name}`: use letters, digits, `-`, `_` and `.` only"),
            ));
        }
        let manifest = Manifest {
            name,
            sweep_hash: sweep_hash(&text, &scenario_text),
            dctwin_version: env!("CARGO_PKG_VERSION").to_string(),
            runs,
            points: points.len() as u64,
            replicates: spec.replicates,
            axes: axes.clone(),
            plot: spec.plot.clone(),
        };
        Ok(Sweep {
            file: file.to_path_buf(),
            scenario,
            set,
            axes,
            points,
            replicates: spec.replicates,
            seed: spec.seed,
            seeds: spec.seeds,
            manifest,
        })
    }

    /// The scenario seed of run `k`: the first `u64` of substream `("sweep", i)` of the master
    /// seed's streams, with `i = k` (or the replicate index, with `seeds: PerReplicate`).
    pub fn seed_of(&self, k: u64) -> u64 {
        let i = match self.seeds {
            SeedScheme::PerRun => k,
            SeedScheme::PerReplicate => k % self.replicates,
        };
        sim::RngStreams::new(self.seed)
            .substream("sweep", i)
            .next_u64()
    }

    fn overrides(&self, point: usize) -> Result<Vec<Override>, String> {
        let mut o = self.set.clone();
        for (path, v) in self.axes.iter().zip(&self.points[point]) {
            o.push(Override::parse(&format!("{path}={v}"))?);
        }
        Ok(o)
    }

    /// Loads every point once (with its first run's seed) so bad axis values fail before any run,
    /// reporting the first bad point.
    fn check_points(&self) -> Result<(), Failure> {
        for p in 0..self.points.len() {
            let o = self.overrides(p).map_err(Failure::Input)?;
            let k = p as u64 * self.replicates;
            load_scenario(&self.scenario, &o, Some(self.seed_of(k))).map_err(|e| {
                Failure::Input(format!(
                    "{}: point {p} ({}): {e}",
                    self.file.display(),
                    self.describe_point(p)
                ))
            })?;
        }
        Ok(())
    }

    fn describe_point(&self, p: usize) -> String {
        if self.axes.is_empty() {
            return "no axes".into();
        }
        self.axes
            .iter()
            .zip(&self.points[p])
            .map(|(a, v)| format!("{a}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Runs `k` and returns its record (one JSON line, without the newline). Only the summary is
    /// kept: the time series is dropped as soon as the run ends.
    fn run_one(&self, k: u64) -> Result<String, Failure> {
        let point = (k / self.replicates) as usize;
        let seed = self.seed_of(k);
        let o = self.overrides(point).map_err(Failure::Input)?;
        let loaded = load_scenario(&self.scenario, &o, Some(seed))
            .map_err(|e| Failure::Input(e.to_string()))?;
        let output = twin::run(&loaded, &mut |_| {});
        let mut summary = serde_json::to_value(&output.summary)
            .map_err(|e| Failure::Internal(format!("serialising the summary: {e}")))?;
        drop(output);
        if let Value::Object(m) = &mut summary {
            m.remove("wall_time_s");
            m.remove("dctwin_version");
        }
        let params: serde_json::Map<String, Value> = self
            .axes
            .iter()
            .zip(&self.points[point])
            .map(|(a, v)| (a.clone(), Value::String(v.clone())))
            .collect();
        let record = serde_json::json!({
            "k": k,
            "point": point as u64,
            "replicate": k % self.replicates,
            "seed": seed,
            "params": params,
            "sweep_hash": self.manifest.sweep_hash,
            "dctwin_version": self.manifest.dctwin_version,
            "summary": summary,
        });
        Ok(record.to_string())
    }
}

/// `--shard I/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("`--shard {s}`: expected I/N with 0 ≤ I < N, e.g. `--shard 0/4`");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<u64>().map_err(|_| bad())?,
            n.trim().parse::<u64>().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The shard of a Slurm array task (`SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN` of
    /// `SLURM_ARRAY_TASK_COUNT`, or of `shards`) or of a Kubernetes Indexed Job pod
    /// (`JOB_COMPLETION_INDEX` of `shards`).
    pub fn from_env(
        shards: Option<u64>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Shard, String> {
        let num = |name: &str| -> Result<Option<u64>, String> {
            env(name)
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|_| {
                        format!("environment variable {name}=`{v}` is not a whole number")
                    })
                })
                .transpose()
        };
        let (index, count) = if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = id.checked_sub(min).ok_or_else(|| {
                format!("SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}")
            })?;
            let count = match shards {
                Some(n) => n,
                None => num("SLURM_ARRAY_TASK_COUNT")?.ok_or(
                    "SLURM_ARRAY_TASK_COUNT is not set: give the number of shards with --shards N",
                )?,
            };
            (index, count)
        } else if let Some(index) = num("JOB_COMPLETION_INDEX")? {
            let count = shards.ok_or(
                "JOB_COMPLETION_INDEX is set but Kubernetes does not export the completion count: \
                 give the number of shards with --shards N (the Job's `completions`)",
            )?;
            (index, count)
        } else {
            return Err(
                "--shard-from-env: neither SLURM_ARRAY_TASK_ID (Slurm job array) nor \
                 JOB_COMPLETION_INDEX (Kubernetes Indexed Job) is set"
                    .into(),
            );
        };
        if count == 0 || index >= count {
            return Err(format!(
                "shard index {index} is not below the shard count {count}"
            ));
        }
        Ok(Shard { index, count })
    }

    pub fn file_name(&self) -> String {
        format!("shard-{}-of-{}.jsonl", self.index, self.count)
    }
}

/// Options of `dctwin sweep`.
pub struct SweepOptions {
    pub out: Option<PathBuf>,
    pub threads: Option<usize>,
    pub shard: Option<Shard>,
    pub quiet: bool,
}

fn pool(threads: Option<usize>) -> Result<rayon::ThreadPool, Failure> {
    let n = match threads {
        Some(0) => return Err(Failure::Input("--threads must be at least 1".into())),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("dctwin-sweep-{i}"))
        .build()
        .map_err(|e| Failure::Internal(format!("starting {n} threads: {e}")))
}

fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    let target = if crate::show_progress(quiet) {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    bar.set_style(
        ProgressStyle::with_template("{spinner} sweep [{bar:40}] {pos}/{len} runs, eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar
}

fn internal_write(e: reports::ReportError) -> Failure {
    Failure::Internal(format!("writing the sweep outputs: {e}"))
}

/// `dctwin sweep`.
pub fn sweep(file: &Path, opts: &SweepOptions) -> Result<(), Failure> {
    let sweep = Sweep::load(file)?;
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&sweep.manifest.name));
    sweep.check_points()?;
    let pool = pool(opts.threads)?;
    fs::create_dir_all(&out)
        .map_err(|e| Failure::Internal(format!("creating directory {}: {e}", out.display())))?;
    let manifest_text = serde_json::to_string_pretty(&sweep.manifest).expect("manifest") + "\n";
    reports::write_atomic(&out.join(MANIFEST_JSON), manifest_text.as_bytes())
        .map_err(internal_write)?;
    let started = Instant::now();

    match opts.shard {
        None => {
            let ks: Vec<u64> = (0..sweep.manifest.runs).collect();
            let bar = progress_bar(ks.len() as u64, opts.quiet);
            let lines: Vec<Result<String, Failure>> = pool.install(|| {
                ks.par_iter()
                    .map(|&k| {
                        let r = sweep.run_one(k);
                        bar.inc(1);
                        r
                    })
                    .collect()
            });
            bar.finish_and_clear();
            let lines = lines.into_iter().collect::<Result<Vec<_>, _>>()?;
            let written = write_outputs(&out, &sweep.manifest, &lines)?;
            if !opts.quiet {
                println!(
                    "Swept {} runs ({} point(s) × {} replicate(s)) on {} thread(s) in {:.2} s. Wrote:",
                    sweep.manifest.runs,
                    sweep.manifest.points,
                    sweep.manifest.replicates,
                    pool.current_num_threads(),
                    started.elapsed().as_secs_f64()
                );
                for p in written {
                    println!("  {}", p.display());
                }
            }
            Ok(())
        }
        Some(shard) => {
            let path = out.join(shard.file_name());
            let done = resume(&path, &sweep.manifest)?;
            let todo: Vec<u64> = (shard.index..sweep.manifest.runs)
                .step_by(shard.count as usize)
                .filter(|k| !done.contains_key(k))
                .collect();
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| Failure::Internal(format!("opening {}: {e}", path.display())))?;
            let file = Mutex::new(file);
            let bar = progress_bar(todo.len() as u64, opts.quiet);
            let failed = AtomicBool::new(false);
            let results: Vec<Result<(), Failure>> = pool.install(|| {
                todo.par_iter()
                    .map(|&k| {
                        if failed.load(Ordering::Relaxed) {
                            return Ok(());
                        }
                        let line = sweep.run_one(k).inspect_err(|_| {
                            failed.store(true, Ordering::Relaxed);
                        })?;
                        let mut f = file.lock().expect("shard file lock");
                        // One write per record: a kill leaves at worst a partial last line,
                        // which the next run of the shard cuts off.
                        f.write_all(format!("{line}\n").as_bytes()).map_err(|e| {
                            Failure::Internal(format!("appending to {}: {e}", path.display()))
                        })?;
                        bar.inc(1);
                        Ok(())
                    })
                    .collect()
            });
            bar.finish_and_clear();
            for r in results {
                r?;
            }
            file.into_inner()
                .expect("shard file lock")
                .sync_all()
                .map_err(|e| Failure::Internal(format!("syncing {}: {e}", path.display())))?;
            if !opts.quiet {
                println!(
                    "Shard {}/{}: ran {} run(s), {} already done, on {} thread(s) in {:.2} s → {}",
                    shard.index,
                    shard.count,
                    todo.len(),
                    done.len(),
                    pool.current_num_threads(),
                    started.elapsed().as_secs_f64(),
                    path.display()
                );
            }
            Ok(())
        }
    }
}

/// Reads an existing shard file: the `k`s already done (with their line numbers). A partial or
/// unreadable *last* line (a kill mid-write) is cut off; any other bad line, or a record of a
/// different sweep, is an input error.
fn resume(path: &Path, manifest: &Manifest) -> Result<BTreeMap<u64, usize>, Failure> {
    let mut done = BTreeMap::new();
    let text = match File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(done),
        Err(e) => {
            return Err(Failure::Input(format!(
                "{}: cannot read: {e}",
                path.display()
            )));
        }
        Ok(mut f) => {
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes)
                .map_err(|e| Failure::Input(format!("{}: cannot read: {e}", path.display())))?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
    };
    let mut good_end = 0usize;
    let mut pos = 0usize;
    let mut line_no = 0usize;
    while pos < text.len() {
        line_no += 1;
        let (line, next, complete) = match text[pos..].find('\n') {
            Some(i) => (&text[pos..pos + i], pos + i + 1, true),
            None => (&text[pos..], text.len(), false),
        };
        let is_last = next >= text.len();
        match parse_record(line) {
            Ok(rec) if complete => {
                check_record(&rec, manifest)
                    .map_err(|m| Failure::Input(format!("{}:{line_no}: {m}", path.display())))?;
                if done.insert(rec.k, line_no).is_some() {
                    return Err(Failure::Input(format!(
                        "{}:{line_no}: run k={} appears twice",
                        path.display(),
                        rec.k
                    )));
                }
                good_end = next;
            }
            _ if is_last => break,
            Ok(_) => unreachable!("only the last line can lack its newline"),
            Err(m) => {
                return Err(Failure::Input(format!(
                    "{}:{line_no}: not a sweep record ({m}); only a partial last line is repaired",
                    path.display()
                )));
            }
        }
        pos = next;
    }
    if good_end < text.len() {
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Failure::Internal(format!("opening {}: {e}", path.display())))?;
        f.set_len(good_end as u64)
            .map_err(|e| Failure::Internal(format!("truncating {}: {e}", path.display())))?;
    }
    Ok(done)
}

/// The parts of a record that the merge checks.
struct Record {
    k: u64,
    sweep_hash: String,
    dctwin_version: String,
    point: u64,
    replicate: u64,
    seed: u64,
    params: serde_json::Map<String, Value>,
    summary: Value,
}

impl Record {
    /// The run, with its parameters in the order of `axes`.
    fn into_run(self, axes: &[String]) -> SweepRun {
        let params = axes
            .iter()
            .map(|a| {
                self.params
                    .get(a)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        SweepRun {
            k: self.k,
            point: self.point,
            replicate: self.replicate,
            seed: self.seed,
            params,
            summary: self.summary,
        }
    }
}

fn parse_record(line: &str) -> Result<Record, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let u = |name: &str| {
        v.get(name)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("no whole number `{name}`"))
    };
    let s = |name: &str| {
        v.get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("no string `{name}`"))
    };
    let (k, point, replicate, seed) = (u("k")?, u("point")?, u("replicate")?, u("seed")?);
    let params = v
        .get("params")
        .and_then(Value::as_object)
        .ok_or("no object `params`")?
        .clone();
    let summary = v.get("summary").ok_or("no `summary`")?.clone();
    Ok(Record {
        k,
        sweep_hash: s("sweep_hash")?,
        dctwin_version: s("dctwin_version")?,
        point,
        replicate,
        seed,
        params,
        summary,
    })
}

fn check_record(rec: &Record, m: &Manifest) -> Result<(), String> {
    if rec.sweep_hash != m.sweep_hash {
        return Err(format!(
            "written by a different sweep (hash {}, this sweep is {}): use another output directory",
            rec.sweep_hash, m.sweep_hash
        ));
    }
    if rec.dctwin_version != m.dctwin_version {
        return Err(format!(
            "written by dctwin {}, this is dctwin {}",
            rec.dctwin_version, m.dctwin_version
        ));
    }
    if rec.k >= m.runs {
        return Err(format!(
            "run k={} is beyond the sweep's {} runs",
            rec.k, m.runs
        ));
    }
    Ok(())
}

/// Reduces the records (in `k` order) to the sweep's outputs: `runs.jsonl`, `results.csv`,
/// `points.csv` and the charts. Parses each line back, so an unsharded sweep and a merge of shard
/// files see exactly the same values.
fn write_outputs(out: &Path, m: &Manifest, lines: &[String]) -> Result<Vec<PathBuf>, Failure> {
    let mut runs = Vec::with_capacity(lines.len());
    for (k, line) in lines.iter().enumerate() {
        let rec = parse_record(line)
            .map_err(|e| Failure::Internal(format!("record k={k} does not parse back: {e}")))?;
        runs.push(rec.into_run(&m.axes));
    }
    let mut jsonl = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        jsonl.push_str(l);
        jsonl.push('\n');
    }
    let runs_path = out.join(RUNS_JSONL);
    reports::write_atomic(&runs_path, jsonl.as_bytes()).map_err(internal_write)?;
    let present = |f: &str| {
        runs.first()
            .is_some_and(|r| reports::figures::lookup(&r.summary, f).is_some())
    };
    let figure = m
        .plot
        .figure
        .clone()
        .unwrap_or_else(|| "energy.it_j".into());
    let tradeoff = m.plot.tradeoff.clone().unwrap_or_else(|| {
        let y = if present("inference.ttft_s.p99") {
            "inference.ttft_s.p99"
        } else {
            "jobs.wait_s.p99"
        };
        ("energy.it_j".into(), y.into())
    });
    let plot = PlotSpec { figure, tradeoff };
    let mut written = vec![runs_path];
    written
        .extend(reports::sweep::write_sweep(out, &m.axes, &runs, &plot).map_err(internal_write)?);
    written.push(write_sweep_html(out, m, &runs, &plot)?);
    Ok(written)
}

/// `report.html` of a sweep: the plotted figure per point (mean ± 95% CI) and both charts.
fn write_sweep_html(
    out: &Path,
    m: &Manifest,
    runs: &[SweepRun],
    plot: &PlotSpec,
) -> Result<PathBuf, Failure> {
    use reports::sweep::{FIGURE_SVG, TRADEOFF_SVG, point_stats, sweep_figures};
    let figures = sweep_figures(runs);
    let shown: Vec<String> = [&plot.figure, &plot.tradeoff.0, &plot.tradeoff.1]
        .into_iter()
        .fold(Vec::new(), |mut acc, f| {
            if figures.contains(f) && !acc.contains(f) {
                acc.push(f.clone());
            }
            acc
        });
    let points = point_stats(runs, &shown);
    let mut header = vec!["point".to_string()];
    header.extend(m.axes.iter().cloned());
    header.push("n".into());
    header.extend(shown.iter().map(|f| format!("{f} (mean ± 95% CI)")));
    let rows = points
        .iter()
        .map(|p| {
            let mut r = vec![p.point.to_string()];
            r.extend(p.params.iter().cloned());
            r.push(p.n.to_string());
            r.extend(p.estimates.iter().map(|e| match e.ci95 {
                Some(h) => format!(
                    "{} ± {}",
                    crate::gate::show(Some(e.mean), false),
                    crate::gate::show(Some(h), false)
                ),
                None => crate::gate::show(Some(e.mean), false),
            }));
            r
        })
        .collect();
    let mut charts = Vec::new();
    for (caption, name) in [
        (
            format!("{} against the first axis", plot.figure),
            FIGURE_SVG,
        ),
        ("Trade-off and Pareto front".to_string(), TRADEOFF_SVG),
    ] {
        let svg = fs::read_to_string(out.join(name))
            .map_err(|e| Failure::Internal(format!("reading {name}: {e}")))?;
        charts.push((caption, svg));
    }
    let intro = vec![format!(
        "Sweep {}: {} runs = {} point(s) × {} replicate(s); sweep hash {}; dctwin {}. \
         Full tables: results.csv (per run) and points.csv (per point: mean, sd, 95% CI of every key figure).",
        m.name, m.runs, m.points, m.replicates, m.sweep_hash, m.dctwin_version
    )];
    let html = reports::html::page(
        &format!("dctwin sweep: {}", m.name),
        &intro,
        &[("Points".to_string(), header, rows)],
        &charts,
    );
    let path = out.join(reports::html::REPORT_HTML);
    reports::write_atomic(&path, html.as_bytes()).map_err(internal_write)?;
    Ok(path)
}

/// `dctwin merge DIR`: checks the shard files in `dir` hold every run exactly once, all from the
/// sweep described by `dir/sweep.json`, and writes the outputs an unsharded sweep writes.
pub fn merge(dir: &Path, out: Option<&Path>, quiet: bool) -> Result<(), Failure> {
    let manifest_path = dir.join(MANIFEST_JSON);
    let text = fs::read_to_string(&manifest_path).map_err(|e| {
        Failure::Input(format!(
            "{}: cannot read the sweep manifest ({e}); run the shards with --out {}",
            manifest_path.display(),
            dir.display()
        ))
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        Failure::Input(format!(
            "{}:{}:{}: {e}",
            manifest_path.display(),
            e.line(),
            e.column()
        ))
    })?;
    let mut shard_files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| Failure::Input(format!("{}: cannot list: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("shard-") && n.ends_with(".jsonl"))
        })
        .collect();
    shard_files.sort();
    if shard_files.is_empty() {
        return Err(Failure::Input(format!(
            "{}: no shard-I-of-N.jsonl files",
            dir.display()
        )));
    }
    let mut slots: Vec<Option<(String, String)>> = vec![None; manifest.runs as usize];
    for path in &shard_files {
        let text = fs::read_to_string(path)
            .map_err(|e| Failure::Input(format!("{}: cannot read: {e}", path.display())))?;
        if !text.is_empty() && !text.ends_with('\n') {
            return Err(Failure::Input(format!(
                "{}: the last line is partial (the shard was interrupted): run the shard again to finish it",
                path.display()
            )));
        }
        for (i, line) in text.lines().enumerate() {
            let at = format!("{}:{}", path.display(), i + 1);
            let rec = parse_record(line)
                .map_err(|m| Failure::Input(format!("{at}: not a sweep record ({m})")))?;
            check_record(&rec, &manifest).map_err(|m| Failure::Input(format!("{at}: {m}")))?;
            let slot = &mut slots[rec.k as usize];
            if let Some((_, first)) = slot {
                return Err(Failure::Input(format!(
                    "{at}: run k={} is also at {first}: each run must appear exactly once",
                    rec.k
                )));
            }
            *slot = Some((line.to_string(), at));
        }
    }
    let missing: Vec<u64> = (0..manifest.runs)
        .filter(|&k| slots[k as usize].is_none())
        .collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(20).map(u64::to_string).collect();
        return Err(Failure::Input(format!(
            "{}: {} of {} runs are missing (k = {}{}): run the shards that hold them",
            dir.display(),
            missing.len(),
            manifest.runs,
            shown.join(", "),
            if missing.len() > 20 { ", …" } else { "" }
        )));
    }
    let lines: Vec<String> = slots.into_iter().map(|s| s.expect("checked").0).collect();
    let out = out.unwrap_or(dir);
    fs::create_dir_all(out)
        .map_err(|e| Failure::Internal(format!("creating directory {}: {e}", out.display())))?;
    if out != dir {
        reports::write_atomic(&out.join(MANIFEST_JSON), text.as_bytes()).map_err(internal_write)?;
    }
    let written = write_outputs(out, &manifest, &lines)?;
    if !quiet {
        println!(
            "Merged {} runs from {} shard file(s). Wrote:",
            manifest.runs,
            shard_files.len()
        );
        for p in written {
            println!("  {}", p.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_include_stop_and_read_well() {
        let r = |start, stop, step| range_values(&RangeSpec { start, stop, step }).unwrap();
        assert_eq!(r(0.0, 1.0, 0.25), ["0", "0.25", "0.5", "0.75", "1"]);
        assert_eq!(r(0.1, 0.3, 0.1), ["0.1", "0.2", "0.3"]);
        assert_eq!(r(10.0, 0.0, -5.0), ["10", "5", "0"]);
        assert!(
            range_values(&RangeSpec {
                start: 0.0,
                stop: 1.0,
                step: -1.0
            })
            .is_err()
        );
        assert!(
            range_values(&RangeSpec {
                start: 0.0,
                stop: 1.0,
                step: 0.0
            })
            .is_err()
        );
    }

    #[test]
    fn shards_parse_and_come_from_the_environment() {
        assert_eq!(Shard::parse("1/3"), Ok(Shard { index: 1, count: 3 }));
        assert!(Shard::parse("3/3").is_err() && Shard::parse("x").is_err());
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |n: &str| {
                vars.iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            }
        };
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "12"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            Shard::from_env(None, &slurm),
            Ok(Shard { index: 2, count: 4 })
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "3")]);
        assert_eq!(
            Shard::from_env(Some(5), &k8s),
            Ok(Shard { index: 3, count: 5 })
        );
        assert!(Shard::from_env(None, &k8s).is_err());
        assert!(Shard::from_env(Some(3), &k8s).is_err());
        assert!(Shard::from_env(Some(3), &env(&[])).is_err());
    }
}
