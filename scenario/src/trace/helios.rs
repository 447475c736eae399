//! Helios job log (`cluster_log.csv` of each cluster in S-Lab-System-Group/HeliosData; "Characterization and
//! Prediction of Deep Learning Workloads in Large-Scale GPU Datacenters", Hu et al., SC 2021; CC-BY 4.0):
//! one Slurm job per row. See the [trace module docs](super) for the column mapping.

use std::io::Read;
use std::path::Path;

use sim::{SimDuration, SimTime};

use super::datetime;
use super::table::{Format, Table, found, opt, req};
use crate::error::InputError;
use models::workload::JobSpec;

const JOB_ID: usize = 0;
const USER: usize = 1;
const VC: usize = 2;
const GPU_NUM: usize = 3;
const CPU_NUM: usize = 4;
const NODE_NUM: usize = 5;
const STATE: usize = 6;
const SUBMIT: usize = 7;
const START: usize = 8;
const END: usize = 9;
const DURATION: usize = 10;
const QUEUE: usize = 11;

static FORMAT: Format = Format {
    what: "Helios job log",
    row: "job",
    columns: &[
        req("job_id"),
        opt("user"),
        opt("vc"),
        req("gpu_num"),
        req("cpu_num"),
        opt("node_num"),
        opt("state"),
        req("submit_time"),
        opt("start_time"),
        opt("end_time"),
        req("duration"),
        opt("queue"),
    ],
    missing_note: "",
};

/// Largest time in whole seconds that fits [`SimTime`] (u64 nanoseconds, about 584 years).
const MAX_SECS: u64 = u64::MAX / sim::NANOS_PER_SEC;

/// Reads a Helios `cluster_log.csv` as jobs, one per row, in file order (which must be non-decreasing
/// `submit_time`).
///
/// Column mapping (by name, any order; see the [trace module docs](super)): `job_id` → `name`;
/// `submit_time` → `submit`, relative to the first row; `duration` (whole seconds) → `duration`;
/// `gpu_num` → `gpus` with `gpu_milli` 1000 (0 for a CPU-only job); `cpu_num` × 1000 → `cpu_milli`.
/// `user`, `vc`, `node_num`, `state`, `start_time`, `end_time` and `queue` are accepted and ignored.
pub fn read_helios(path: &Path) -> Result<Vec<JobSpec>, InputError> {
    read(Table::open_file(path, &FORMAT)?)
}

/// [`read_helios`] for a job log already in memory; `source` names it in errors.
pub fn parse_helios(data: &[u8], source: &Path) -> Result<Vec<JobSpec>, InputError> {
    read(Table::open_bytes(data, source, &FORMAT)?)
}

fn read<R: Read>(mut t: Table<'_, R>) -> Result<Vec<JobSpec>, InputError> {
    let mut jobs = Vec::new();
    let mut origin: Option<i128> = None;
    let mut prev = i128::MIN;
    let mut prev_text = String::new();
    let mut prev_pos = None;
    while t.next_row()? {
        let name = t.text(JOB_ID)?.map(str::to_string);
        // Accepted for completeness, not replayed.
        for col in [USER, VC, NODE_NUM, STATE, START, END, QUEUE] {
            t.text(col)?;
        }
        let gpus = t.req_uint(GPU_NUM, u64::from(u32::MAX))? as u32;
        let cpus = t.req_uint(CPU_NUM, u64::MAX / 1000)?;

        let raw = t.raw(SUBMIT);
        let at = datetime::parse(raw).map_err(|msg| t.err(SUBMIT, msg))?;
        if at < prev {
            return Err(t.err(
                SUBMIT,
                format!(
                    "jobs must be in non-decreasing submit_time order: expected at least `{prev_text}` \
                     (the submit_time of line {}), found {}",
                    t.line_of(prev_pos.as_ref()),
                    found(raw)
                ),
            ));
        }
        let origin = *origin.get_or_insert(at);
        let Some(submit) = datetime::since(at, origin) else {
            return Err(t.err(
                SUBMIT,
                format!(
                    "expected a time within the simulated time range (about 584 years) of the first job, found {}",
                    found(raw)
                ),
            ));
        };
        prev = at;
        prev_text.clear();
        prev_text.push_str(&String::from_utf8_lossy(raw));
        prev_pos = t.position();

        let secs = t
            .uint_of(DURATION, MAX_SECS, "a non-negative whole number of seconds")?
            .ok_or_else(|| {
                t.err(
                    DURATION,
                    "expected a non-negative whole number of seconds, found an empty cell",
                )
            })?;
        let submit = SimTime::from_nanos(submit);
        let duration = SimDuration::from_secs(secs);
        if submit.checked_add(duration).is_none() {
            return Err(t.err(
                DURATION,
                format!(
                    "the job would end beyond the simulated time range (about 584 years) from the first job: \
                     submitted {} s after it, duration {secs} s",
                    submit.as_nanos() / sim::NANOS_PER_SEC
                ),
            ));
        }
        jobs.push(JobSpec {
            name,
            submit,
            duration,
            gpus,
            gpu_milli: if gpus == 0 { 0 } else { 1000 },
            cpu_milli: cpus * 1000,
            memory_mib: 0,
            gpu_models: Vec::new(),
            priority: 0,
        });
    }
    Ok(jobs)
}
