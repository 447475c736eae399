//! The `dctwin` command line: run and validate scenarios; sweep, merge, compare and check runs;
//! calibrate scenario parameters to measured telemetry; size a field against constraints on figures; write
//! starting scenarios (`init`), list the built-in catalog (`catalog`), print shell completions and the man page.
//!
//! Exit codes: 0 success, 2 bad input (scenario, catalog, trace, sweep file, size file, telemetry, overlay file,
//! command line, an unusable output directory),
//! 1 internal error — and 1 when `dctwin check` finds a figure that drifted.

mod message;
mod progress;
mod starter;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};
use scenario::{LoadedScenario, Override, load_scenario};

use message::{InputProblem, MessageFormat};

#[derive(Parser)]
#[command(
    name = "dctwin",
    version,
    about = "A datacenter digital twin: discrete-event simulation of GPUs, servers, racks and AI workloads."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How input errors are printed: `human` (`error: file:line:col: …`) or `json` (one object per
    /// line: file, line, column, field, message).
    #[arg(long, global = true, value_enum, default_value_t = MessageFormat::Human)]
    message_format: MessageFormat,
}

/// A scenario and the overrides it is loaded with.
#[derive(Args)]
struct ScenarioInput {
    /// Scenario file (RON). Paths inside it resolve relative to the file.
    scenario: PathBuf,
    /// Override the scenario seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Overrides from a file of `dotted.path=value` lines (`#` comment lines), e.g. the overlay
    /// `dctwin calibrate --out` writes (repeatable; applied in order, before any --set).
    #[arg(long = "set-file", value_name = "FILE")]
    set_file: Vec<PathBuf>,
    /// Override any scenario field: `--set dotted.path=value` (repeatable), e.g.
    /// `--set horizon_s=3600`, `--set workload.AlibabaPods.path=other.csv`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
}

impl ScenarioInput {
    /// The overrides: every `--set-file` in order, then every `--set`.
    fn overrides(&self) -> Result<Vec<Override>, Failure> {
        let mut out = Vec::new();
        for f in &self.set_file {
            out.extend(scenario::overlay::read_overlay(f).map_err(Failure::At)?);
        }
        for s in &self.set {
            out.push(Override::parse(s).map_err(Failure::Input)?);
        }
        Ok(out)
    }
}

#[derive(Args)]
struct ScenarioArgs {
    #[command(flatten)]
    input: ScenarioInput,
    #[command(flatten)]
    budget: Budget,
}

/// The cost guard, `--max-events` (`run`, `validate`, `sweep`, `size`).
#[derive(Args)]
struct Budget {
    /// The most events a run may handle (default ten billion): a scenario whose estimate exceeds it is refused
    /// before it runs, and a run that reaches it stops with exit code 2. A sweep checks every point and a
    /// size study both ends of its range before the first run.
    #[arg(long, value_name = "N")]
    max_events: Option<u64>,
}

impl Budget {
    fn max_events(&self) -> u64 {
        self.max_events.unwrap_or(twin::DEFAULT_MAX_EVENTS)
    }
}

impl ScenarioArgs {
    fn run_options(&self) -> twin::RunOptions {
        twin::RunOptions {
            max_events: self.budget.max_events(),
            ..twin::RunOptions::default()
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write summary.json, timeseries.csv and SVG charts.
    Run {
        #[command(flatten)]
        args: ScenarioArgs,
        /// Output directory (default: out/<scenario name>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress bar and no table on stdout.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Parse and check a scenario (and the files it names) and describe the site.
    Validate {
        #[command(flatten)]
        args: ScenarioArgs,
    },
    /// Run a parameter sweep (RON sweep file) in parallel, or one shard of it; see docs/sweeps.md.
    Sweep {
        /// Sweep file (RON). The base scenario path inside it resolves relative to the file.
        sweep: PathBuf,
        /// Output directory (default: out/<sweep name>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Worker threads (default: all available cores). Outputs do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Run only shard I of N (runs with k mod N = I), appending to shard-I-of-N.jsonl;
        /// re-running a shard skips the runs already written.
        #[arg(long, value_name = "I/N", conflicts_with = "shard_from_env")]
        shard: Option<String>,
        /// Take the shard from SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN (of SLURM_ARRAY_TASK_COUNT)
        /// or JOB_COMPLETION_INDEX (Kubernetes Indexed Job; needs --shards).
        #[arg(long)]
        shard_from_env: bool,
        /// Number of shards for --shard-from-env (overrides SLURM_ARRAY_TASK_COUNT).
        #[arg(long, value_name = "N", requires = "shard_from_env")]
        shards: Option<u64>,
        #[command(flatten)]
        budget: Budget,
        /// No progress bar and no listing on stdout.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Find the smallest (or largest) value of one scenario field for which constraints on summary
    /// figures hold, by bisection over the field with several seeds a value (RON size file); see
    /// docs/sizing.md.
    Size {
        /// Size file (RON). The base scenario path inside it resolves relative to the file.
        size: PathBuf,
        /// Output directory (default: out/<name>/). Evaluations found there are reused (resume).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Worker threads (default: all available cores). Outputs do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Evaluate only shard I of N's share of every round (appending to size-shard-I-of-N.jsonl),
        /// waiting for the other shards' share through the shared output directory; then run
        /// without --shard to write the outputs.
        #[arg(long, value_name = "I/N", conflicts_with = "shard_from_env")]
        shard: Option<String>,
        /// Take the shard from SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN (of SLURM_ARRAY_TASK_COUNT)
        /// or JOB_COMPLETION_INDEX (Kubernetes Indexed Job; needs --shards).
        #[arg(long)]
        shard_from_env: bool,
        /// Number of shards for --shard-from-env (overrides SLURM_ARRAY_TASK_COUNT).
        #[arg(long, value_name = "N", requires = "shard_from_env")]
        shards: Option<u64>,
        /// Seconds between looks for the other shards' evaluations.
        #[arg(long, value_name = "S", default_value_t = 5.0)]
        poll_s: f64,
        #[command(flatten)]
        budget: Budget,
        /// No progress bar and no result on stdout.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Merge the shard files of a sharded sweep into the outputs an unsharded sweep writes.
    Merge {
        /// Directory holding sweep.json and shard-I-of-N.jsonl files.
        dir: PathBuf,
        /// Output directory (default: DIR).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, short)]
        quiet: bool,
    },
    /// Compare the key figures of runs side by side (differences and ratios to the first).
    Compare {
        /// Run directories or summary.json files (at least two).
        #[arg(required = true, num_args = 2..)]
        runs: Vec<PathBuf>,
        /// Also write compare.md, compare.csv and compare.html into this directory.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Do not print the table.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Fit numeric scenario fields to measured telemetry (step times, or nccl-tests collective
    /// bandwidths) by bounded least squares; print the fit and the error per point, and write the
    /// fitted values as an overlay for --set-file. See docs/calibrate.md.
    Calibrate {
        #[command(flatten)]
        input: ScenarioInput,
        /// Telemetry CSV: `set,job,step_s` (step times) or
        /// `set,collective,ranks,gpus_per_server,bytes,busbw_gbs|time_us[,gpu]` (collectives).
        #[arg(long, value_name = "FILE.csv")]
        telemetry: PathBuf,
        /// A real-valued scenario field to fit and its bounds, e.g.
        /// `--fit workload.Training.comm.AlphaBeta.inter_node_bw_gbs=10..100` (repeatable).
        #[arg(
            long = "fit",
            value_name = "PATH=LO..HI",
            required_unless_present = "predict"
        )]
        fit: Vec<String>,
        /// Write the fitted values to this overlay file (`path=value` lines; use with --set-file).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Print the report as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Fit nothing: write the model's value at every point of --telemetry (the scenario as loaded
        /// with --set/--set-file) to this CSV, a telemetry file of the same kind (synthetic telemetry).
        #[arg(long, value_name = "FILE.csv", conflicts_with_all = ["fit", "out", "json"])]
        predict: Option<PathBuf>,
        /// Print nothing (with --out: only write the overlay).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Regression gate: exit 1 when a figure of RUN drifted from BASELINE past its tolerance.
    Check {
        /// Run directory or summary.json.
        run: PathBuf,
        /// Baseline summary (e.g. tests/golden/quickstart.json).
        #[arg(long)]
        baseline: PathBuf,
        /// Relative tolerance for a field and everything under it, e.g. `energy=1e-6`,
        /// `jobs.wait_s.p99=0.05`, `*=0.01` (repeatable; the longest match wins).
        #[arg(long = "tolerance", value_name = "FIELD=REL")]
        tolerance: Vec<String>,
        /// Write RUN's summary (minus wall_time_s and dctwin_version) as the new baseline.
        #[arg(long)]
        update: bool,
    },
    /// Write a commented starting scenario that loads and runs as written (it uses the built-in catalog),
    /// e.g. `dctwin init inference-fleet my.ron`.
    Init {
        /// Which starting scenario.
        #[arg(value_enum)]
        template: starter::Template,
        /// File to write (default: <TEMPLATE>.ron; `-` for stdout). The scenario is named after the file.
        file: Option<PathBuf>,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// List the GPU models and server templates of the built-in catalog (or of a catalog file), which
    /// scenarios may name without a `catalog:` line.
    Catalog {
        /// A catalog file to list instead of the built-in one.
        file: Option<PathBuf>,
    },
    /// Print a shell completion script, e.g. `dctwin completions bash > /etc/bash_completion.d/dctwin`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `dctwin man > dctwin.1 && man ./dctwin.1`.
    Man,
}

enum Failure {
    Input(String),
    /// Bad input at a known file and position.
    At(scenario::InputError),
    Internal(String),
    /// `dctwin check` found drifted figures (already printed): exit 1.
    Drift,
}

impl From<study::Error> for Failure {
    fn from(e: study::Error) -> Self {
        match e {
            study::Error::Input(m) => Failure::Input(m),
            study::Error::At(e) => Failure::At(e),
            study::Error::Internal(m) => Failure::Internal(m),
        }
    }
}

fn load(args: &ScenarioArgs) -> Result<LoadedScenario, Failure> {
    let input = &args.input;
    load_scenario(&input.scenario, &input.overrides()?, input.seed).map_err(Failure::At)
}

fn run(args: &ScenarioArgs, out: Option<&Path>, quiet: bool) -> Result<(), Failure> {
    let loaded = load(args)?;
    let out_dir = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new("out").join(&loaded.scenario.name));
    // Checked before simulating; the new set is written beside it and swapped in (docs/outputs.md).
    let staged = reports::OutputDir::prepare(&out_dir, reports::RUN_FILES)
        .map_err(|e| Failure::Input(e.to_string()))?;

    let mut progress = progress::RunProgress::new(
        format!("simulating {}", args.input.scenario.display()),
        loaded.scenario.horizon_s,
        quiet,
    );
    // `dctwin run` writes the per-entity tables (jobs.csv, requests.csv, racks.csv).
    let options = twin::RunOptions {
        tables: true,
        ..args.run_options()
    };
    let output = twin::run_with(&loaded, &options, &mut |frac| progress.update(frac));
    progress.finish();
    let output = output.map_err(|e| run_refused(&args.input.scenario, &e))?;

    let written = study::write_run_set(staged, &loaded, &output)?;
    if !quiet {
        match &loaded.scenario.facility {
            Some(f) => print!(
                "{}",
                reports::stdout_table_priced(&output.summary, f.tariff.currency.trim())
            ),
            None => print!("{}", reports::stdout_table(&output.summary)),
        }
        println!("Wrote:");
        for p in written {
            println!("  {}", p.display());
        }
    }
    Ok(())
}

/// A run refused or stopped for its input (over the event budget, a validated assumption that failed),
/// reported against the scenario file.
fn run_refused(scenario: &Path, e: &twin::RunError) -> Failure {
    Failure::At(match e {
        // The field goes into the JSON form too (`--message-format json`).
        twin::RunError::Input { field, message } => {
            scenario::InputError::field(scenario, field, message.clone())
        }
        _ => scenario::InputError::file(scenario, e.to_string()),
    })
}

fn validate(args: &ScenarioArgs) -> Result<(), Failure> {
    let loaded = load(args)?;
    let estimate = twin::estimate(&loaded);
    let limit = args.run_options().max_events;
    if estimate.exceeds(limit) {
        let e = twin::RunError::Budget {
            limit,
            estimate: Some(estimate),
            reached_s: None,
        };
        return Err(run_refused(&args.input.scenario, &e));
    }
    println!("{}: OK", args.input.scenario.display());
    println!("{}", loaded.describe());
    println!(
        "Expected work: about {:.3e} events ({estimate}).",
        estimate.total()
    );
    Ok(())
}

/// The sweep's progress: a bar on a terminal, lines with an ETA elsewhere ([`progress`]).
struct SweepBar(progress::CountProgress);

impl study::Progress for SweepBar {
    fn start(&self, runs: u64) {
        self.0.start(runs);
    }

    fn run_done(&self) {
        self.0.done();
    }

    fn finish(&self) {
        self.0.finish();
    }
}

#[allow(clippy::too_many_arguments)]
fn sweep_command(
    file: &Path,
    out: Option<PathBuf>,
    threads: Option<usize>,
    shard: Option<&str>,
    shard_from_env: bool,
    shards: Option<u64>,
    max_events: u64,
    quiet: bool,
) -> Result<(), Failure> {
    let shard = shard_of(shard, shard_from_env, shards)?;
    let opts = study::SweepOptions {
        out,
        threads,
        shard,
        max_events,
    };
    let bar = SweepBar(progress::CountProgress::new(
        &format!("sweep {}", file.display()),
        quiet,
    ));
    let outcome = study::sweep(file, &opts, &bar)?;
    if quiet {
        return Ok(());
    }
    match outcome {
        study::SweepOutcome::Complete {
            manifest,
            threads,
            elapsed,
            written,
        } => {
            println!(
                "Swept {} runs ({} point(s) × {} replicate(s)) on {} thread(s) in {:.2} s. Wrote:",
                manifest.runs,
                manifest.points,
                manifest.replicates,
                threads,
                elapsed.as_secs_f64()
            );
            for p in written {
                println!("  {}", p.display());
            }
        }
        study::SweepOutcome::Shard {
            shard,
            ran,
            already_done,
            threads,
            elapsed,
            file,
        } => println!(
            "Shard {}/{}: ran {} run(s), {} already done, on {} thread(s) in {:.2} s → {}",
            shard.index,
            shard.count,
            ran,
            already_done,
            threads,
            elapsed.as_secs_f64(),
            file.display()
        ),
    }
    Ok(())
}

/// The shard of `--shard I/N` or `--shard-from-env`.
fn shard_of(
    shard: Option<&str>,
    shard_from_env: bool,
    shards: Option<u64>,
) -> Result<Option<study::Shard>, Failure> {
    Ok(match (shard, shard_from_env) {
        (Some(s), _) => Some(study::Shard::parse(s).map_err(Failure::Input)?),
        (None, true) => Some(
            study::Shard::from_env(shards, &|name| std::env::var(name).ok())
                .map_err(Failure::Input)?,
        ),
        (None, false) => None,
    })
}

/// `dctwin size`.
fn size_command(
    file: &Path,
    out: Option<PathBuf>,
    threads: Option<usize>,
    shard: Option<study::Shard>,
    poll_s: f64,
    max_events: u64,
    quiet: bool,
) -> Result<(), Failure> {
    if !(poll_s.is_finite() && poll_s > 0.0 && poll_s <= 3600.0) {
        return Err(Failure::Input(format!(
            "--poll-s {poll_s}: expected seconds between 0 and 3600"
        )));
    }
    let opts = study::SizeOptions {
        out,
        threads,
        shard,
        poll: std::time::Duration::from_secs_f64(poll_s),
        max_events,
    };
    let bar = SweepBar(progress::CountProgress::new(
        &format!("size {}", file.display()),
        quiet,
    ));
    let o = study::size(file, &opts, &bar)?;
    if quiet {
        return Ok(());
    }
    let r = &o.result;
    println!("{}", r.statement);
    println!("{}", r.confidence_note);
    println!(
        "{}",
        if r.monotone {
            "Monotone on the evaluated values.".to_string()
        } else {
            let pairs: Vec<String> = r
                .violations
                .iter()
                .map(|v| format!("{} passes but {} fails", v.pass, v.fail))
                .collect();
            format!(
                "NOT MONOTONE on the evaluated values: {}.",
                pairs.join("; ")
            )
        }
    );
    println!(
        "{} round(s), {} evaluation(s): {} run now, {} found in the output directory; {} thread(s), {:.2} s.",
        r.rounds,
        r.evaluations,
        o.ran,
        o.reused,
        o.threads,
        o.elapsed.as_secs_f64()
    );
    if let Some(f) = &o.shard_file {
        println!(
            "Shard finished its share ({}); run `dctwin size` without --shard on the directory to write the outputs.",
            f.display()
        );
    }
    if !o.written.is_empty() {
        println!("Wrote:");
        for p in &o.written {
            println!("  {}", p.display());
        }
    }
    Ok(())
}

fn merge(dir: &Path, out: Option<&Path>, quiet: bool) -> Result<(), Failure> {
    let merged = study::merge(dir, out)?;
    if !quiet {
        println!(
            "Merged {} runs from {} shard file(s). Wrote:",
            merged.runs, merged.shard_files
        );
        for p in merged.written {
            println!("  {}", p.display());
        }
    }
    Ok(())
}

fn compare(runs: &[PathBuf], out: Option<&Path>, quiet: bool) -> Result<(), Failure> {
    let table = study::compare(runs)?;
    if !quiet {
        print!("{}", table.markdown);
    }
    if let Some(out) = out {
        study::write_comparison(out, &table, &mut |p| {
            if !quiet {
                println!("Wrote {}", p.display());
            }
        })?;
    }
    Ok(())
}

/// `dctwin calibrate`.
fn calibrate(
    input: &ScenarioInput,
    telemetry: &Path,
    fit: &[String],
    out: Option<&Path>,
    json: bool,
    quiet: bool,
) -> Result<(), Failure> {
    let fit = fit
        .iter()
        .map(|f| study::FitParam::parse(f))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::Input)?;
    let spec = study::CalibrateSpec {
        scenario: input.scenario.clone(),
        base: input.overrides()?,
        seed: input.seed,
        telemetry: telemetry.to_path_buf(),
        fit,
    };
    let c = study::calibrate(&spec)?;
    if let Some(out) = out {
        study::calibrate::write_overlay(out, &c, &spec.base)?;
    }
    if quiet {
        return Ok(());
    }
    if json {
        print!("{}", study::calibrate::to_json(&c));
    } else {
        print!("{}", study::calibrate::table(&c));
        if let Some(out) = out {
            println!("Wrote {} (use it with --set-file)", out.display());
        }
    }
    Ok(())
}

/// `dctwin calibrate --predict`.
fn predict_telemetry(
    input: &ScenarioInput,
    telemetry: &Path,
    to: &Path,
    quiet: bool,
) -> Result<(), Failure> {
    let spec = study::CalibrateSpec {
        scenario: input.scenario.clone(),
        base: input.overrides()?,
        seed: input.seed,
        telemetry: telemetry.to_path_buf(),
        fit: Vec::new(),
    };
    let csv = study::calibrate::predict(&spec)?;
    reports::write_atomic(to, csv.as_bytes())
        .map_err(|e| Failure::Internal(format!("writing the predicted telemetry: {e}")))?;
    if !quiet {
        println!(
            "Wrote {} ({} point(s) as the model predicts them)",
            to.display(),
            csv.lines().count() - 1
        );
    }
    Ok(())
}

/// `dctwin check`; a drifted figure is [`Failure::Drift`] (exit 1) after the report is printed.
fn check(run: &Path, baseline: &Path, tolerances: &[String], update: bool) -> Result<(), Failure> {
    let report = match study::check(run, baseline, tolerances, update)? {
        study::CheckOutcome::Updated => {
            println!("Updated {} from {}", baseline.display(), run.display());
            return Ok(());
        }
        study::CheckOutcome::Checked(report) => report,
    };
    for n in &report.notes {
        println!("note: {n}");
    }
    if report.passed() {
        println!(
            "OK: {} figures of {} within tolerance of {}",
            report.compared,
            run.display(),
            baseline.display()
        );
        Ok(())
    } else {
        println!(
            "FAIL: {} figure(s) of {} moved past tolerance against {}:",
            report.moved.len(),
            run.display(),
            baseline.display()
        );
        for m in &report.moved {
            println!("  {m}");
        }
        println!("(a deliberate change: update the baseline, see docs/sweeps.md § The CI gate)");
        Err(Failure::Drift)
    }
}

/// `dctwin init`.
fn init(template: starter::Template, file: Option<&Path>, force: bool) -> Result<(), Failure> {
    let said = starter::init(template, file, force).map_err(Failure::Input)?;
    print!("{said}");
    Ok(())
}

/// `dctwin catalog`.
fn catalog(file: Option<&Path>) -> Result<(), Failure> {
    let listing = match file {
        None => starter::catalog_listing(
            &scenario::load::builtin_catalog(),
            "built-in; scenarios/catalog/gpus.ron",
        ),
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .map_err(|e| Failure::Input(format!("cannot read {}: {e}", f.display())))?;
            let c: scenario::catalog::CatalogFile =
                scenario::parse_ron(f, &text).map_err(Failure::At)?;
            starter::catalog_listing(&c, &f.display().to_string())
        }
    };
    print!("{listing}");
    Ok(())
}

/// `dctwin completions SHELL`.
fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "dctwin", &mut std::io::stdout());
    Ok(())
}

/// `dctwin man`.
fn man() -> Result<(), Failure> {
    clap_mangen::Man::new(Cli::command())
        .render(&mut std::io::stdout())
        .map_err(|e| Failure::Internal(format!("writing the man page: {e}")))
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so a closed stdout (`dctwin validate … | head -1`) would make `println!` panic;
    // with the default action the process ends quietly, as other command-line tools do.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default before any thread starts has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli: Cli = message::parse();
    let result = std::panic::catch_unwind(|| match &cli.command {
        Command::Run { args, out, quiet } => run(args, out.as_deref(), *quiet),
        Command::Validate { args } => validate(args),
        Command::Sweep {
            sweep,
            out,
            threads,
            shard,
            shard_from_env,
            shards,
            budget,
            quiet,
        } => sweep_command(
            sweep,
            out.clone(),
            *threads,
            shard.as_deref(),
            *shard_from_env,
            *shards,
            budget.max_events(),
            *quiet,
        ),
        Command::Size {
            size,
            out,
            threads,
            shard,
            shard_from_env,
            shards,
            poll_s,
            budget,
            quiet,
        } => shard_of(shard.as_deref(), *shard_from_env, *shards).and_then(|sh| {
            size_command(
                size,
                out.clone(),
                *threads,
                sh,
                *poll_s,
                budget.max_events(),
                *quiet,
            )
        }),
        Command::Merge { dir, out, quiet } => merge(dir, out.as_deref(), *quiet),
        Command::Compare { runs, out, quiet } => compare(runs, out.as_deref(), *quiet),
        Command::Calibrate {
            input,
            telemetry,
            fit,
            out,
            json,
            predict,
            quiet,
        } => match predict {
            Some(to) => predict_telemetry(input, telemetry, to, *quiet),
            None => calibrate(input, telemetry, fit, out.as_deref(), *json, *quiet),
        },
        Command::Check {
            run,
            baseline,
            tolerance,
            update,
        } => check(run, baseline, tolerance, *update),
        Command::Init {
            template,
            file,
            force,
        } => init(*template, file.as_deref(), *force),
        Command::Catalog { file } => catalog(file.as_deref()),
        Command::Completions { shell } => completions(*shell),
        Command::Man => man(),
    });
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(Failure::Input(msg))) => {
            message::print_input(cli.message_format, &InputProblem::Text(msg));
            ExitCode::from(2)
        }
        Ok(Err(Failure::At(e))) => {
            message::print_input(cli.message_format, &InputProblem::At(e));
            ExitCode::from(2)
        }
        Ok(Err(Failure::Drift)) => ExitCode::from(1),
        Ok(Err(Failure::Internal(msg))) => {
            // An internal error may quote input too (a path made from the scenario's name).
            eprintln!("internal error: {}", scenario::echo::bound_message(&msg));
            ExitCode::from(1)
        }
        Err(_) => {
            eprintln!(
                "internal error: dctwin panicked (a bug: please report it with the scenario)"
            );
            ExitCode::from(1)
        }
    }
}
