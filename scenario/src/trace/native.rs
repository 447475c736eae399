//! dctwin's native job-trace CSV: one job per row, columns named in a header, in any order. The column
//! mapping is documented on the [trace module](super).

use std::io::Read;
use std::path::Path;

use sim::{SimDuration, SimTime};

use super::table::{Format, Table, found, opt, req};
use crate::error::InputError;
use models::workload::JobSpec;

const SUBMIT: usize = 0;
const GPUS: usize = 1;
const DURATION: usize = 2;
const NAME: usize = 3;
const GPU_MODEL: usize = 4;
const CPU_MILLI: usize = 5;
const MEMORY_MIB: usize = 6;
const PRIORITY: usize = 7;

static FORMAT: Format = Format {
    what: "native job trace",
    row: "job",
    columns: &[
        req("submit_s"),
        req("gpus"),
        req("duration_s"),
        opt("name"),
        opt("gpu_model"),
        opt("cpu_milli"),
        opt("memory_mib"),
        opt("priority"),
    ],
    missing_note: "",
};

/// Reads a native job-trace CSV (columns `submit_s`, `gpus`, `duration_s`, and optionally `name`,
/// `gpu_model`, `cpu_milli`, `memory_mib`, `priority` (0–255, higher first under the `Priority` queue); see the [trace module docs](super) for the mapping to [`JobSpec`]).
///
/// Jobs come back in file order, which is non-decreasing submission order. Every problem is an
/// [`InputError`] naming the file, the 1-based line and the column; a missing file is reported at
/// [`Location::File`](crate::error::Location::File).
pub fn read_native(path: &Path) -> Result<Vec<JobSpec>, InputError> {
    read(Table::open_file(path, &FORMAT)?)
}

/// [`read_native`] for a trace already in memory (e.g. read from standard input); `source` names it in errors.
pub fn parse_native(data: &[u8], source: &Path) -> Result<Vec<JobSpec>, InputError> {
    read(Table::open_bytes(data, source, &FORMAT)?)
}

/// Converts a cell of seconds to nanoseconds, or explains why it is out of range.
fn nanos<R: Read>(t: &Table<'_, R>, col: usize, secs: f64) -> Result<u64, InputError> {
    SimDuration::from_secs_f64(secs)
        .map(SimDuration::as_nanos)
        .ok_or_else(|| {
            t.err(
                col,
                format!(
                    "expected a number of seconds within the simulated time range (about 584 years), found {}",
                    found(t.raw(col))
                ),
            )
        })
}

fn read<R: Read>(mut t: Table<'_, R>) -> Result<Vec<JobSpec>, InputError> {
    let mut jobs = Vec::new();
    let mut prev_submit = SimTime::ZERO;
    let mut prev_pos = None;
    while t.next_row()? {
        let submit = SimTime::from_nanos(nanos(&t, SUBMIT, t.req_secs_f64(SUBMIT)?)?);
        if submit < prev_submit {
            return Err(t.err(
                SUBMIT,
                format!(
                    "jobs must be in non-decreasing submit_s order: expected at least {} (the submit_s of line {}), found {}",
                    prev_submit.as_secs_f64(),
                    t.line_of(prev_pos.as_ref()),
                    found(t.raw(SUBMIT))
                ),
            ));
        }
        prev_submit = submit;
        prev_pos = t.position();

        let gpus = t.req_uint(GPUS, u32::MAX as u64)? as u32;

        let secs = t.req_secs_f64(DURATION)?;
        let duration = SimDuration::from_nanos(nanos(&t, DURATION, secs)?);
        if duration.is_zero() {
            let why = if secs == 0.0 {
                ""
            } else {
                " (it rounds to 0 ns)"
            };
            return Err(t.err(
                DURATION,
                format!(
                    "expected a positive number of seconds, found {}{why}",
                    found(t.raw(DURATION))
                ),
            ));
        }
        if submit.checked_add(duration).is_none() {
            return Err(t.err(
                DURATION,
                format!(
                    "the job would end beyond the simulated time range (about 584 years): submit_s {} + duration_s {}",
                    submit.as_secs_f64(),
                    duration.as_secs_f64()
                ),
            ));
        }

        let name = t.text(NAME)?.map(str::to_string);
        let gpu_models = t.model_list(GPU_MODEL)?;
        let cpu_milli = t.uint(CPU_MILLI, u64::MAX)?.unwrap_or(0);
        let memory_mib = t.uint(MEMORY_MIB, u64::MAX)?.unwrap_or(0);
        let priority = t.uint(PRIORITY, u8::MAX as u64)?.unwrap_or(0) as u8;
        jobs.push(JobSpec {
            name,
            submit,
            duration,
            gpus,
            gpu_milli: if gpus == 0 { 0 } else { 1000 },
            cpu_milli,
            memory_mib,
            gpu_models,
            priority,
        });
    }
    Ok(jobs)
}
