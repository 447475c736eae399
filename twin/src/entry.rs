//! The run entry points: a full run of a scenario's parts ([`crate::compose`]), or a long-horizon serving run
//! ([`crate::horizon`]) when the scenario asks for one.

use output::RunOutput;
use scenario::LoadedScenario;

use crate::compose::{Logs, RunOptions, run_parts};
use crate::error::RunError;
use crate::parts::jobs::JobRecord;
use crate::parts::serving::RequestRecord;

/// Runs a loaded scenario under the default budget. `progress` is called with the simulated fraction done
/// (0..=1) a hundred times.
pub fn run(loaded: &LoadedScenario, progress: &mut dyn FnMut(f64)) -> Result<RunOutput, RunError> {
    run_logged(loaded, &RunOptions::default(), progress, false).map(|r| r.0)
}

/// [`run`] under `options`.
pub fn run_with(
    loaded: &LoadedScenario,
    options: &RunOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<RunOutput, RunError> {
    run_logged(loaded, options, progress, false).map(|r| r.0)
}

/// [`run`], also returning what happened to each submitted job (in submission order; empty without jobs).
pub fn run_with_log(
    loaded: &LoadedScenario,
    progress: &mut dyn FnMut(f64),
) -> Result<(RunOutput, Vec<JobRecord>), RunError> {
    run_logged(loaded, &RunOptions::default(), progress, true)
}

/// [`run`] of an inference scenario, also returning every request (in arrival order) with its latencies
/// (empty in long-horizon mode, which simulates windows only).
pub fn run_with_requests(
    loaded: &LoadedScenario,
    progress: &mut dyn FnMut(f64),
) -> Result<(RunOutput, Vec<RequestRecord>), RunError> {
    if crate::horizon::is_long(loaded) {
        return run(loaded, progress).map(|o| (o, Vec::new()));
    }
    let ran = run_parts(
        loaded,
        &RunOptions::default(),
        progress,
        Logs::REQUESTS,
        None,
        &mut |_, _| {},
    )?;
    Ok((ran.output, ran.requests))
}

fn run_logged(
    loaded: &LoadedScenario,
    options: &RunOptions,
    progress: &mut dyn FnMut(f64),
    log: bool,
) -> Result<(RunOutput, Vec<JobRecord>), RunError> {
    if crate::horizon::is_long(loaded) {
        return crate::horizon::run(loaded, options, progress).map(|o| (o, Vec::new()));
    }
    let logs = if log { Logs::JOBS } else { Logs::NONE }.with_tables(options.tables);
    let ran = run_parts(loaded, options, progress, logs, None, &mut |_, _| {})?;
    Ok((ran.output, ran.jobs))
}
