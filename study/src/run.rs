//! Executing a sweep: every run (or one shard's) on a local rayon pool. Each run loads its scenario,
//! simulates, and keeps only its record (one JSON line); records are collected by `k`, so the thread
//! count and the sharding never change a byte of the outputs.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use scenario::sweep::Sweep;

use crate::error::{Error, internal_write};
use crate::outputs::{prepare_out, write_sweep_set};
use crate::record::{MANIFEST_JSON, Manifest, record_line};
use crate::shard::{Shard, resume};

/// Told how a sweep advances (the CLI draws a progress bar). `run_done` is called from worker
/// threads.
pub trait Progress: Sync {
    /// `runs` runs are about to start.
    fn start(&self, runs: u64);
    /// One run finished (in a shard: and its record was appended).
    fn run_done(&self);
    /// The runs are over (all done, or one failed).
    fn finish(&self);
}

/// No progress reporting.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _runs: u64) {}
    fn run_done(&self) {}
    fn finish(&self) {}
}

/// How to execute a sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Output directory (default: `out/<sweep name>/`).
    pub out: Option<PathBuf>,
    /// Worker threads (default: every core).
    pub threads: Option<usize>,
    /// Run only this shard, appending to its file.
    pub shard: Option<Shard>,
    /// The event budget of every run (`--max-events`): a point whose estimate exceeds it refuses the
    /// whole sweep before any run, and a run that reaches it fails the sweep.
    pub max_events: u64,
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions {
            out: None,
            threads: None,
            shard: None,
            max_events: twin::DEFAULT_MAX_EVENTS,
        }
    }
}

/// What a sweep did.
#[derive(Debug)]
pub enum SweepOutcome {
    /// Every run, and the outputs written (paths in order: `runs.jsonl`, the tables, the charts,
    /// `report.html`).
    Complete {
        manifest: Manifest,
        threads: usize,
        elapsed: Duration,
        written: Vec<PathBuf>,
    },
    /// The runs of one shard still missing from its file, appended to it.
    Shard {
        shard: Shard,
        /// Runs executed now.
        ran: usize,
        /// Runs found in the file already.
        already_done: usize,
        threads: usize,
        elapsed: Duration,
        file: PathBuf,
    },
}

/// `dctwin sweep`: loads the sweep file, checks the output directory and every point (that the scenario
/// takes it, and its estimated events against `opts.max_events`) before any run, then runs every run and
/// writes the outputs with `sweep.json` as one set (or writes `sweep.json` and runs the shard's missing
/// runs, appending each to its file).
pub fn sweep(
    file: &Path,
    opts: &SweepOptions,
    progress: &dyn Progress,
) -> Result<SweepOutcome, Error> {
    let sweep = Sweep::load(file)?;
    check_plot(file, &sweep)?;
    let manifest = Manifest::of(&sweep);
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&manifest.name));
    // The output location is checked before the points are loaded and any run starts. A complete
    // sweep stages its whole set (sweep.json included) and swaps it in at the end; a shard appends to
    // its file in the directory itself, after writing sweep.json there.
    let mode = match opts.shard {
        None => Mode::Complete(prepare_out(&out)?),
        Some(shard) => {
            reports::ensure_dir(&out).map_err(|e| Error::Input(e.to_string()))?;
            Mode::Shard(shard)
        }
    };
    sweep.check_points_with(&mut |loaded| within_budget(loaded, opts.max_events))?;
    let pool = pool(opts.threads)?;
    let started = Instant::now();
    let runner = Runner {
        sweep: &sweep,
        manifest: &manifest,
        pool: &pool,
        progress,
        max_events: opts.max_events,
    };
    match mode {
        Mode::Complete(staged) => {
            let lines = runner.all()?;
            let written = write_sweep_set(staged, &manifest.to_json(), &manifest, &lines)?;
            Ok(SweepOutcome::Complete {
                threads: pool.current_num_threads(),
                elapsed: started.elapsed(),
                written,
                manifest,
            })
        }
        Mode::Shard(shard) => {
            reports::write_atomic(&out.join(MANIFEST_JSON), manifest.to_json().as_bytes())
                .map_err(internal_write)?;
            let file = out.join(shard.file_name());
            let (ran, already_done) = runner.shard(shard, &file)?;
            Ok(SweepOutcome::Shard {
                shard,
                ran,
                already_done,
                threads: pool.current_num_threads(),
                elapsed: started.elapsed(),
                file,
            })
        }
    }
}

/// Where a sweep's results go: the whole set, staged; or one shard's file.
enum Mode {
    Complete(reports::OutputDir),
    Shard(Shard),
}

/// The cost guard of a run that has not started: `loaded`'s estimated events against `max_events`
/// ([`twin::RunError::Budget`], reported against the scenario file).
pub(crate) fn within_budget(
    loaded: &scenario::LoadedScenario,
    max_events: u64,
) -> Result<(), scenario::InputError> {
    let estimate = twin::estimate(loaded);
    if estimate.exceeds(max_events) {
        let e = twin::RunError::Budget {
            limit: max_events,
            estimate: Some(estimate),
            reached_s: None,
        };
        return Err(scenario::InputError::file(&loaded.file, e.to_string()));
    }
    Ok(())
}

/// Most worker threads `--threads` may ask for: more than any machine's cores, fewer than would exhaust
/// the process's threads before the first run.
pub const MAX_THREADS: usize = 4096;

pub(crate) fn pool(threads: Option<usize>) -> Result<rayon::ThreadPool, Error> {
    let n = match threads {
        Some(0) => return Err(Error::Input("--threads must be at least 1".into())),
        Some(n) if n > MAX_THREADS => {
            return Err(Error::Input(format!(
                "--threads {n}: at most {MAX_THREADS} (outputs do not depend on it)"
            )));
        }
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("dctwin-sweep-{i}"))
        .build()
        .map_err(|e| Error::Internal(format!("starting {n} threads: {e}")))
}

/// A loaded sweep with its pool.
struct Runner<'a> {
    sweep: &'a Sweep,
    manifest: &'a Manifest,
    pool: &'a rayon::ThreadPool,
    progress: &'a dyn Progress,
    max_events: u64,
}

impl Runner<'_> {
    /// Runs `k` and returns its record (one JSON line, without the newline). Only the summary is
    /// kept: the time series is dropped as soon as the run ends.
    fn run_one(&self, k: u64) -> Result<String, Error> {
        let loaded = self.sweep.load_run(k)?;
        let options = twin::RunOptions {
            max_events: self.max_events,
            ..twin::RunOptions::default()
        };
        let output = twin::run_with(&loaded, &options, &mut |_| {}).map_err(|e| {
            // Reported at the run's point of the sweep file (`--message-format json` names the file).
            let p = self.sweep.point_of(k);
            Error::At(scenario::InputError::new(
                self.sweep.file(),
                scenario::Location::Point {
                    index: p,
                    values: self.sweep.describe_point(p),
                },
                format!("run {k}: {}: {e}", loaded.file.display()),
            ))
        })?;
        let summary = serde_json::to_value(&output.summary)
            .map_err(|e| Error::Internal(format!("serialising the summary: {e}")))?;
        drop(output);
        Ok(record_line(self.sweep, self.manifest, k, summary))
    }

    /// Every run's record, in `k` order.
    fn all(&self) -> Result<Vec<String>, Error> {
        let ks: Vec<u64> = (0..self.manifest.runs).collect();
        self.progress.start(ks.len() as u64);
        let lines: Vec<Result<String, Error>> = self.pool.install(|| {
            ks.par_iter()
                .map(|&k| {
                    let r = self.run_one(k);
                    self.progress.run_done();
                    r
                })
                .collect()
        });
        self.progress.finish();
        lines.into_iter().collect()
    }

    /// The runs of `shard` missing from `path`, each appended to it as it finishes; returns the
    /// runs executed and the runs found done.
    fn shard(&self, shard: Shard, path: &Path) -> Result<(usize, usize), Error> {
        let done = resume(path, self.manifest)?;
        let todo: Vec<u64> = (shard.index..self.manifest.runs)
            .step_by(shard.count as usize)
            .filter(|k| !done.contains_key(k))
            .collect();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::Internal(format!("opening {}: {e}", path.display())))?;
        let file = Mutex::new(file);
        self.progress.start(todo.len() as u64);
        let failed = AtomicBool::new(false);
        let results: Vec<Result<(), Error>> = self.pool.install(|| {
            todo.par_iter()
                .map(|&k| {
                    if failed.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    let line = self.run_one(k).inspect_err(|_| {
                        failed.store(true, Ordering::Relaxed);
                    })?;
                    let mut f = file.lock().expect("shard file lock");
                    // One write per record: a kill leaves at worst a partial last line,
                    // which the next run of the shard cuts off.
                    f.write_all(format!("{line}\n").as_bytes()).map_err(|e| {
                        Error::Internal(format!("appending to {}: {e}", path.display()))
                    })?;
                    self.progress.run_done();
                    Ok(())
                })
                .collect()
        });
        self.progress.finish();
        for r in results {
            r?;
        }
        file.into_inner()
            .expect("shard file lock")
            .sync_all()
            .map_err(|e| Error::Internal(format!("syncing {}: {e}", path.display())))?;
        Ok((todo.len(), done.len()))
    }
}

/// The figures a sweep file's `plot` section names must be key figures ([`reports::figures`]);
/// otherwise its chart would be empty. Checked before the output location and any run.
fn check_plot(file: &Path, sweep: &Sweep) -> Result<(), Error> {
    let plot = sweep.plot();
    let named = plot.figure.iter().map(|f| ("plot.figure", f)).chain(
        plot.tradeoff
            .iter()
            .flat_map(|(a, b)| [("plot.tradeoff.0", a), ("plot.tradeoff.1", b)]),
    );
    for (field, name) in named {
        if !reports::figures::is_key_figure_name(name) {
            return Err(Error::At(scenario::InputError::field(
                file,
                field,
                format!(
                    "unknown figure `{}`; expected {}",
                    scenario::echo::excerpt(name),
                    reports::figures::key_figure_grammar()
                ),
            )));
        }
    }
    Ok(())
}
