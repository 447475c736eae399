//! The `dctwin` command line: run and validate scenarios.
//!
//! Exit codes: 0 success, 2 bad input (scenario, catalog, trace, command line), 1 internal error.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use models::scenario::{LoadedScenario, Override, load_scenario};

#[derive(Parser)]
#[command(
    name = "dctwin",
    version,
    about = "A datacenter digital twin: discrete-event simulation of GPUs, servers, racks and AI workloads."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct ScenarioArgs {
    /// Scenario file (RON). Paths inside it resolve relative to the file.
    scenario: PathBuf,
    /// Override the scenario seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override any scenario field: `--set dotted.path=value` (repeatable), e.g.
    /// `--set horizon_s=3600`, `--set workload.AlibabaPods.path=other.csv`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
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
}

enum Failure {
    Input(String),
    Internal(String),
}

fn load(args: &ScenarioArgs) -> Result<LoadedScenario, Failure> {
    let overrides = args
        .set
        .iter()
        .map(|s| Override::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::Input)?;
    load_scenario(&args.scenario, &overrides, args.seed).map_err(|e| Failure::Input(e.to_string()))
}

fn show_progress(quiet: bool) -> bool {
    !quiet && std::env::var_os("CI").is_none() && std::io::stderr().is_terminal()
}

fn run(args: &ScenarioArgs, out: Option<&Path>, quiet: bool) -> Result<(), Failure> {
    let loaded = load(args)?;
    let out_dir = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new("out").join(&loaded.scenario.name));

    let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("{spinner} simulating [{bar:40}] {percent:>3}% eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let wants_bar = show_progress(quiet);
    let started = Instant::now();
    let mut shown = false;
    let output = models::datacenter::run(&loaded, &mut |frac| {
        if wants_bar && !shown && started.elapsed() > Duration::from_secs(1) {
            bar.set_draw_target(ProgressDrawTarget::stderr());
            shown = true;
        }
        bar.set_position((frac * 1000.0) as u64);
    });
    bar.finish_and_clear();

    let written = reports::write_run(&out_dir, &output)
        .map_err(|e| Failure::Internal(format!("writing the report: {e}")))?;
    if !quiet {
        print!("{}", reports::stdout_table(&output.summary));
        println!("Wrote:");
        for p in written {
            println!("  {}", p.display());
        }
    }
    Ok(())
}

fn validate(args: &ScenarioArgs) -> Result<(), Failure> {
    let loaded = load(args)?;
    println!("{}: OK", args.scenario.display());
    println!("{}", loaded.describe());
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = std::panic::catch_unwind(|| match &cli.command {
        Command::Run { args, out, quiet } => run(args, out.as_deref(), *quiet),
        Command::Validate { args } => validate(args),
    });
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(Failure::Input(msg))) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Ok(Err(Failure::Internal(msg))) => {
            eprintln!("internal error: {msg}");
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
