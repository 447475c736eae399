//! Executing a size study: each round's values × seeds on a local rayon pool (or one shard's share of
//! them), every evaluation appended to a JSON-lines file in the output directory as it finishes. The
//! search is replayed over every evaluation found there (`evaluations.jsonl` and
//! `size-shard-I-of-N.jsonl`), so a killed study resumes where it stopped, shards share their work
//! through the directory, and a run without `--shard` over the shards' files evaluates nothing and
//! writes the outputs (the merge).

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use scenario::{InputError, Location, load_scenario};

use super::SizeSpec;
use super::evaluation::{Cache, Evaluation, passes};
use super::report::{SIZE_FILES, SizeResult, write_outputs};
use super::search::Step;
use crate::error::Error;
use crate::run::{Progress, pool};
use crate::shard::Shard;

/// The evaluations of an unsharded study.
pub const EVALUATIONS_JSONL: &str = "evaluations.jsonl";

/// The evaluations file of a shard.
pub fn shard_file_name(shard: Shard) -> String {
    format!("size-shard-{}-of-{}.jsonl", shard.index, shard.count)
}

/// How to execute a size study.
#[derive(Debug, Clone)]
pub struct SizeOptions {
    /// Output directory (default: `out/<name>/`).
    pub out: Option<PathBuf>,
    /// Worker threads (default: every core). Outputs do not depend on it.
    pub threads: Option<usize>,
    /// Evaluate only this shard's share of each round, waiting for the other shards' share.
    pub shard: Option<Shard>,
    /// How often a shard looks for the other shards' evaluations.
    pub poll: Duration,
    /// The event budget of every run (`--max-events`): an end of the range whose estimate exceeds it
    /// refuses the study before any run, and a run that reaches it fails the study.
    pub max_events: u64,
}

impl Default for SizeOptions {
    fn default() -> Self {
        SizeOptions {
            out: None,
            threads: None,
            shard: None,
            poll: Duration::from_secs(5),
            max_events: twin::DEFAULT_MAX_EVENTS,
        }
    }
}

/// What a size study did.
#[derive(Debug)]
pub struct SizeOutcome {
    /// The result (also in `size.json`).
    pub result: SizeResult,
    /// Evaluations run now (the rest were found in the output directory).
    pub ran: usize,
    pub reused: usize,
    pub threads: usize,
    pub elapsed: Duration,
    /// The outputs written (none for a shard: it writes only its evaluations file).
    pub written: Vec<PathBuf>,
    /// The shard's evaluations file, for a shard.
    pub shard_file: Option<PathBuf>,
}

/// `dctwin size`: loads and checks the size file, then runs the search to its end and writes the
/// outputs (`size.json`, `size.csv`, `size.svg`, `report.html`) as one set; with a shard, evaluates
/// that shard's share of every round and writes only its evaluations file.
pub fn size(
    file: &Path,
    opts: &SizeOptions,
    progress: &dyn Progress,
) -> Result<SizeOutcome, Error> {
    let spec = SizeSpec::load(file)?;
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&spec.name));
    reports::ensure_dir(&out).map_err(|e| Error::Input(e.to_string()))?;
    let staged = match opts.shard {
        None => Some(
            reports::OutputDir::prepare(&out, SIZE_FILES)
                .map_err(|e| Error::Input(e.to_string()))?,
        ),
        Some(_) => None,
    };
    // The output location is checked before the scenario is loaded at the ends and any run starts.
    spec.check_ends(opts.max_events)?;
    let mine = out.join(match opts.shard {
        None => EVALUATIONS_JSONL.to_string(),
        Some(s) => shard_file_name(s),
    });
    let pool = pool(opts.threads)?;
    let started = Instant::now();
    let mut cache = read_cache(&out, &spec, &mine)?;
    let mut ran = 0usize;
    let done = loop {
        let round = match spec.plan.step(&|v| verdict(&spec, &cache, v)) {
            Step::Done(d) => break d,
            Step::Evaluate(round) => round,
        };
        // The round's evaluations in order (value-major); shard I takes those with j mod N = I.
        let todo: Vec<(f64, u64)> = round
            .iter()
            .flat_map(|&v| (0..spec.seeds).map(move |i| (v, i)))
            .enumerate()
            .filter(|(j, _)| opts.shard.is_none_or(|s| *j as u64 % s.count == s.index))
            .map(|(_, e)| e)
            .filter(|&(v, i)| !cache.contains_key(&(spec.value_text(v), i)))
            .collect();
        if todo.is_empty() {
            if opts.shard.is_none() {
                return Err(Error::Internal(
                    "the search asked for evaluations that are all done".into(),
                ));
            }
            // The other shards' share of this round is still running.
            std::thread::sleep(opts.poll);
            cache = read_cache(&out, &spec, &mine)?;
            continue;
        }
        for e in evaluate_all(&spec, &todo, &mine, &pool, progress, opts.max_events)? {
            cache.insert((e.value.clone(), e.seed_index), e);
        }
        ran += todo.len();
    };
    let result = SizeResult::of(&spec, &done, &cache);
    let evaluated = result.points.len() * spec.seeds as usize;
    let mut outcome = SizeOutcome {
        ran,
        reused: evaluated.saturating_sub(ran),
        threads: pool.current_num_threads(),
        elapsed: started.elapsed(),
        written: Vec::new(),
        shard_file: opts.shard.map(|_| mine),
        result,
    };
    if let Some(staged) = staged {
        let written = write_outputs(staged.path(), &spec, &outcome.result)?;
        outcome.written = written.iter().map(|p| staged.final_path(p)).collect();
        staged
            .commit()
            .map_err(|e| Error::Internal(format!("writing the size outputs: {e}")))?;
    }
    Ok(outcome)
}

/// Whether value `v` passes: every constraint on every seed (`None` until every seed is evaluated).
pub fn verdict(spec: &SizeSpec, cache: &Cache, v: f64) -> Option<bool> {
    let text = spec.value_text(v);
    let mut pass = true;
    for i in 0..spec.seeds {
        let e = cache.get(&(text.clone(), i))?;
        pass &= passes(spec, e);
    }
    Some(pass)
}

/// Runs `todo` in parallel, appending each evaluation to `file` as it finishes; returns them in
/// `todo` order.
fn evaluate_all(
    spec: &SizeSpec,
    todo: &[(f64, u64)],
    path: &Path,
    pool: &rayon::ThreadPool,
    progress: &dyn Progress,
    max_events: u64,
) -> Result<Vec<Evaluation>, Error> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::Internal(format!("opening {}: {e}", path.display())))?;
    let file = Mutex::new(file);
    let failed = AtomicBool::new(false);
    progress.start(todo.len() as u64);
    let results: Vec<Result<Option<Evaluation>, Error>> = pool.install(|| {
        todo.par_iter()
            .map(|&(v, i)| {
                if failed.load(Ordering::Relaxed) {
                    return Ok(None);
                }
                let e = evaluate(spec, v, i, max_events)
                    .inspect_err(|_| failed.store(true, Ordering::Relaxed))?;
                let line = serde_json::to_string(&e)
                    .map_err(|e| Error::Internal(format!("serialising an evaluation: {e}")))?;
                // One write per line: a kill leaves at worst a partial last line, cut off on resume.
                file.lock()
                    .expect("evaluations file lock")
                    .write_all(format!("{line}\n").as_bytes())
                    .map_err(|e| {
                        Error::Internal(format!("appending to {}: {e}", path.display()))
                    })?;
                progress.run_done();
                Ok(Some(e))
            })
            .collect()
    });
    progress.finish();
    let mut out = Vec::with_capacity(todo.len());
    for r in results {
        if let Some(e) = r? {
            out.push(e);
        }
    }
    file.into_inner()
        .expect("evaluations file lock")
        .sync_all()
        .map_err(|e| Error::Internal(format!("syncing {}: {e}", path.display())))?;
    Ok(out)
}

/// Runs the scenario at value `v` with seed index `i` (within `max_events` events) and keeps the
/// constraint figures.
pub fn evaluate(spec: &SizeSpec, v: f64, i: u64, max_events: u64) -> Result<Evaluation, Error> {
    let text = spec.value_text(v);
    let seed = spec.seed_of(i);
    let at = |m: String| {
        Error::At(InputError::field(
            &spec.file,
            "field",
            format!("at {}={text} (seed {seed}): {m}", spec.field),
        ))
    };
    let loaded = load_scenario(&spec.scenario, &spec.overrides(v), Some(seed))
        .map_err(|e| at(e.to_string()))?;
    let options = twin::RunOptions {
        max_events,
        ..twin::RunOptions::default()
    };
    let output = twin::run_with(&loaded, &options, &mut |_| {}).map_err(|e| at(e.to_string()))?;
    let summary = serde_json::to_value(&output.summary)
        .map_err(|e| Error::Internal(format!("serialising the summary: {e}")))?;
    drop(output);
    let mut figures = BTreeMap::new();
    for f in &spec.figures {
        let value = match reports::figures::lookup(&summary, f) {
            None => {
                let c = spec
                    .constraints
                    .iter()
                    .position(|c| c.figure == *f)
                    .expect("figures come from constraints");
                return Err(Error::At(InputError::field(
                    &spec.file,
                    &format!("constraints[{c}]"),
                    format!(
                        "the run's summary has no figure `{f}` (at {}={text}); figures are dotted \
                         paths into summary.json, e.g. {}",
                        spec.field,
                        reports::figures::key_figure_grammar()
                    ),
                )));
            }
            Some(x) => x.as_f64(),
        };
        figures.insert(f.clone(), value);
    }
    Ok(Evaluation {
        size_hash: spec.size_hash.clone(),
        value: text,
        seed_index: i,
        seed,
        figures,
    })
}

/// Every evaluation in the output directory: `evaluations.jsonl` and the shard files. A partial last
/// line (a kill mid-write) is skipped, and cut off in `mine` (the file this process appends to); any
/// other bad line, or an evaluation of another study, is an input error.
pub fn read_cache(out: &Path, spec: &SizeSpec, mine: &Path) -> Result<Cache, Error> {
    let mut files: Vec<PathBuf> = Vec::new();
    let entries =
        fs::read_dir(out).map_err(|e| InputError::file(out, format!("cannot list: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| InputError::file(out, format!("cannot list: {e}")))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == EVALUATIONS_JSONL
            || (name.starts_with("size-shard-") && name.ends_with(".jsonl"))
        {
            files.push(entry.path());
        }
    }
    files.sort();
    let mut cache = Cache::new();
    for path in files {
        let bytes =
            fs::read(&path).map_err(|e| InputError::file(&path, format!("cannot read: {e}")))?;
        let text = String::from_utf8_lossy(&bytes);
        let mut good_end = 0usize;
        let mut pos = 0usize;
        for (n, line) in text.split_inclusive('\n').enumerate() {
            let complete = line.ends_with('\n');
            let err = |m: String| Error::At(InputError::new(&path, Location::Line(n + 1), m));
            match serde_json::from_str::<Evaluation>(line.trim_end_matches('\n')) {
                Ok(e) if complete => {
                    if e.size_hash != spec.size_hash {
                        return Err(err(format!(
                            "an evaluation of another size study (size hash {}, this one {}): \
                             the size file or its scenario changed; use another --out or remove the file",
                            e.size_hash, spec.size_hash
                        )));
                    }
                    let key = (e.value.clone(), e.seed_index);
                    match cache.get(&key) {
                        Some(old) if *old != e => {
                            return Err(err(format!(
                                "value {} seed {} was evaluated before with other figures",
                                e.value, e.seed_index
                            )));
                        }
                        Some(_) => {}
                        None => {
                            cache.insert(key, e);
                        }
                    }
                    good_end = pos + line.len();
                }
                _ if !complete => break,
                Ok(_) => unreachable!("a line without its newline is the last"),
                Err(m) => {
                    return Err(err(format!(
                        "not a size evaluation ({m}); only a partial last line is repaired"
                    )));
                }
            }
            pos += line.len();
        }
        if path == mine && good_end < bytes.len() {
            let f = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| Error::Internal(format!("opening {}: {e}", path.display())))?;
            f.set_len(good_end as u64)
                .map_err(|e| Error::Internal(format!("truncating {}: {e}", path.display())))?;
        }
    }
    Ok(cache)
}
