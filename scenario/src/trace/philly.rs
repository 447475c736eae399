//! Microsoft Philly job log (`cluster_job_log` of msr-fiddle/philly-traces; "Analysis of Large-Scale
//! Multi-Tenant GPU Clusters for DNN Training Workloads", Jeon et al., USENIX ATC 2019): a JSON array of
//! jobs, each with its scheduling attempts. See the [trace module docs](super) for the mapping.
//!
//! The log is streamed job by job with serde_json. Syntax and type errors carry serde_json's line and
//! column (that of the last character read); a bad timestamp is reported at its closing quote, and a
//! problem with a whole job (its last attempt ending before it starts, say) at the job's closing `}`.

use std::cell::Cell;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::error::Category;
use sim::{SimDuration, SimTime};

use super::datetime;
use crate::error::{InputError, Location};
use crate::utf8::{CheckedReader, Utf8Problem};
use models::workload::JobSpec;

/// The jobs of a Philly log that can be replayed, and how many were left out and why.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PhillyLog {
    /// One job per job of the log that ran to an end, sorted by `submit` (stable: log order among equal
    /// times); the earliest is submitted at [`SimTime::ZERO`].
    pub jobs: Vec<JobSpec>,
    /// Jobs with no scheduling attempt (`"attempts": []`): never started.
    pub no_attempts: usize,
    /// Jobs whose last attempt has no `start_time` (`None`; a logging gap per the trace's README).
    pub no_start: usize,
    /// Jobs whose last attempt started but has no `end_time`: still running when the log was taken.
    pub unfinished: usize,
}

impl PhillyLog {
    /// Jobs in the log: replayed plus left out.
    pub fn total(&self) -> usize {
        self.jobs.len() + self.no_attempts + self.no_start + self.unfinished
    }
}

/// Reads a Philly `cluster_job_log` (a JSON array of job objects; see the [trace module docs](super)).
///
/// Each job that ran to an end becomes a [`JobSpec`]: `jobid` → `name`; `submitted_time` → `submit`,
/// relative to the earliest replayed job; the **last** attempt's `end_time − start_time` → `duration`; the
/// GPUs listed in the last attempt's `detail` → `gpus` (`gpu_milli` 1000). Jobs that never started or never
/// ended are counted in [`PhillyLog`], not returned. Every problem is an [`InputError`]: JSON errors at
/// their line and column ([`Location::LineCol`]), a missing or empty file at [`Location::File`].
pub fn read_philly(path: &Path) -> Result<PhillyLog, InputError> {
    let file = File::open(path)
        .map_err(|e| InputError::file(path, format!("cannot open the Philly job log: {e}")))?;
    let nonblank = Cell::new(false);
    let watched = Watch {
        inner: CheckedReader::new(file),
        nonblank: &nonblank,
    };
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, watched));
    read(&mut de, path, || nonblank.get())
}

/// [`read_philly`] for a log already in memory; `source` names it in errors.
pub fn parse_philly(data: &[u8], source: &Path) -> Result<PhillyLog, InputError> {
    crate::utf8::as_text(source, WHAT, data)?;
    let mut de = serde_json::Deserializer::from_slice(data);
    read(&mut de, source, || !data.iter().all(|&b| is_json_space(b)))
}

/// What the file is, in messages.
const WHAT: &str = "Philly job log";

/// The four whitespace bytes JSON allows between tokens.
fn is_json_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// A reader noting whether anything but JSON whitespace went through it, to tell an empty file from a
/// truncated one.
struct Watch<'a, R> {
    inner: R,
    nonblank: &'a Cell<bool>,
}

impl<R: Read> Read for Watch<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if !self.nonblank.get() && !buf[..n].iter().all(|&b| is_json_space(b)) {
            self.nonblank.set(true);
        }
        Ok(n)
    }
}

/// Reads the log from `de`; `nonblank` tells, after an error, whether the input held anything but
/// whitespace.
fn read<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
    path: &Path,
    nonblank: impl Fn() -> bool,
) -> Result<PhillyLog, InputError> {
    let log = LogSeed
        .deserialize(&mut *de)
        .and_then(|log| de.end().map(|()| log))
        .map_err(|e| json_error(path, e, nonblank()))?;
    finish(log, path)
}

/// A serde_json error as an [`InputError`] at its line and column.
fn json_error(path: &Path, e: serde_json::Error, nonblank: bool) -> InputError {
    if e.is_io() {
        let io = io::Error::from(e);
        if let Some(p) = Utf8Problem::of_io(&io) {
            return p.into_input_error(path, WHAT);
        }
        return InputError::file(path, format!("cannot read the {WHAT}: {io}"));
    }
    if e.classify() == Category::Eof && !nonblank {
        return InputError::file(
            path,
            "the file is empty: expected a Philly cluster_job_log, a JSON array of job objects",
        );
    }
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let msg = text.strip_suffix(&suffix).unwrap_or(&text);
    let msg = format!("{msg} (in a Philly cluster_job_log)");
    if e.line() == 0 {
        InputError::file(path, msg)
    } else {
        InputError::new(
            path,
            // serde_json's column is that of the last character read, 0 when none was read on the line
            // yet (the error is at its first character).
            Location::LineCol {
                line: e.line(),
                col: e.column().max(1),
            },
            msg,
        )
    }
}

/// A timestamp of the log: `None` when the log says `None`, `null` or `""` (not recorded).
struct Stamp(Option<i128>);

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StampVisitor)
    }
}

struct StampVisitor;

impl Visitor<'_> for StampVisitor {
    type Value = Stamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a date and time string `YYYY-MM-DD HH:MM:SS`, or \"None\" or null when not recorded"
        )
    }

    fn visit_unit<E: de::Error>(self) -> Result<Stamp, E> {
        Ok(Stamp(None))
    }

    fn visit_none<E: de::Error>(self) -> Result<Stamp, E> {
        Ok(Stamp(None))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Stamp, E> {
        let v = v.trim();
        if v.is_empty() || v == "None" {
            return Ok(Stamp(None));
        }
        datetime::parse(v.as_bytes())
            .map(|t| Stamp(Some(t)))
            .map_err(E::custom)
    }
}

/// The keys of a job object that matter; `status`, `vc`, `user` and unknown keys are skipped.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum JobKey {
    Jobid,
    SubmittedTime,
    Attempts,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(expecting = "an attempt object with `start_time`, `end_time` and `detail`")]
struct RawAttempt {
    start_time: Stamp,
    end_time: Stamp,
    detail: Vec<RawDetail>,
}

/// One server of an attempt; `ip` is skipped, only the number of `gpus` counts.
#[derive(Deserialize)]
#[serde(expecting = "a detail object with `gpus`")]
struct RawDetail {
    gpus: Vec<IgnoredAny>,
}

/// A job that ran, in absolute nanoseconds.
struct Ran {
    name: String,
    submit: i128,
    duration: u64,
    gpus: u32,
}

#[derive(Default)]
struct Collected {
    ran: Vec<Ran>,
    no_attempts: usize,
    no_start: usize,
    unfinished: usize,
    /// Earliest submission and latest `submit + duration` of the jobs that ran, to keep the replay within
    /// simulated time.
    first: Option<i128>,
    last_end: Option<i128>,
}

/// The whole log: an array of jobs, each handed to a [`JobSeed`].
struct LogSeed;

impl<'de> DeserializeSeed<'de> for LogSeed {
    type Value = Collected;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Collected, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for LogSeed {
    type Value = Collected;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON array of Philly job objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Collected, A::Error> {
        let mut c = Collected::default();
        let mut index = 0;
        loop {
            index += 1;
            let seed = JobSeed { c: &mut c, index };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(c);
            }
        }
    }
}

/// One job object, checked and added to `c` as soon as its closing `}` is read, so that an error about
/// the whole job is reported at that `}`.
struct JobSeed<'a> {
    c: &'a mut Collected,
    /// 1-based position of the job in the log, for messages.
    index: usize,
}

impl<'de> DeserializeSeed<'de> for JobSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for JobSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a Philly job object with `jobid`, `submitted_time` and `attempts`"
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut jobid: Option<String> = None;
        let mut submitted: Option<Stamp> = None;
        let mut attempts: Option<Vec<RawAttempt>> = None;
        while let Some(key) = map.next_key::<JobKey>()? {
            match key {
                JobKey::Jobid if jobid.is_some() => {
                    return Err(de::Error::duplicate_field("jobid"));
                }
                JobKey::Jobid => jobid = Some(map.next_value()?),
                JobKey::SubmittedTime if submitted.is_some() => {
                    return Err(de::Error::duplicate_field("submitted_time"));
                }
                JobKey::SubmittedTime => submitted = Some(map.next_value()?),
                JobKey::Attempts if attempts.is_some() => {
                    return Err(de::Error::duplicate_field("attempts"));
                }
                JobKey::Attempts => attempts = Some(map.next_value()?),
                JobKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let jobid = jobid.ok_or_else(|| de::Error::missing_field("jobid"))?;
        let submitted = submitted.ok_or_else(|| de::Error::missing_field("submitted_time"))?;
        let attempts = attempts.ok_or_else(|| de::Error::missing_field("attempts"))?;
        match check_job(self.c, &submitted, &attempts) {
            Ok(Some((submit, duration, gpus))) => {
                self.c.ran.push(Ran {
                    name: jobid,
                    submit,
                    duration,
                    gpus,
                });
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(msg) => Err(de::Error::custom(format!(
                "job `{jobid}` (job {} of the log): {msg}",
                self.index
            ))),
        }
    }
}

/// A job's submission time, duration and GPUs when it ran to an end; `None` when it is left out (and then
/// counted in `c`). Widens the span of the replayed jobs in `c`. The error is a message about the job.
fn check_job(
    c: &mut Collected,
    submitted: &Stamp,
    attempts: &[RawAttempt],
) -> Result<Option<(i128, u64, u32)>, String> {
    let Some(last) = attempts.last() else {
        c.no_attempts += 1;
        return Ok(None);
    };
    let Some(start) = last.start_time.0 else {
        c.no_start += 1;
        return Ok(None);
    };
    let Some(end) = last.end_time.0 else {
        c.unfinished += 1;
        return Ok(None);
    };
    let Some(submit) = submitted.0 else {
        return Err("expected a submitted_time for a job that ran, found None".into());
    };
    if end < start {
        return Err(format!(
            "its last attempt (attempt {}) ends before it starts: end_time is {} s before start_time",
            attempts.len(),
            fmt_secs(start - end)
        ));
    }
    let gpus = last
        .detail
        .iter()
        .try_fold(0u32, |n, d| {
            u32::try_from(d.gpus.len()).ok()?.checked_add(n)
        })
        .ok_or("its last attempt lists more than 4294967295 GPUs")?;
    let duration = u64::try_from(end - start).map_err(|_| {
        format!(
            "its last attempt lasts {} s, beyond the simulated time range (about 584 years)",
            fmt_secs(end - start)
        )
    })?;
    let first = c.first.map_or(submit, |f| f.min(submit));
    let end_at = submit + i128::from(duration);
    let last_end = c.last_end.map_or(end_at, |e| e.max(end_at));
    if datetime::since(last_end, first).is_none() {
        return Err(
            "the jobs of the log span more than the simulated time range (about 584 years) from the \
             earliest submitted_time to the latest end"
                .into(),
        );
    }
    c.first = Some(first);
    c.last_end = Some(last_end);
    Ok(Some((submit, duration, gpus)))
}

/// Nanoseconds as seconds for messages: `74` or `0.5`.
fn fmt_secs(ns: i128) -> String {
    let (s, frac) = (ns / 1_000_000_000, ns % 1_000_000_000);
    if frac == 0 {
        format!("{s}")
    } else {
        format!("{s}.{}", format!("{frac:09}").trim_end_matches('0'))
    }
}

fn finish(c: Collected, path: &Path) -> Result<PhillyLog, InputError> {
    let skipped = c.no_attempts + c.no_start + c.unfinished;
    if c.ran.is_empty() {
        let msg = if skipped == 0 {
            "the log holds no jobs: expected a JSON array of at least one job object".to_string()
        } else {
            format!(
                "none of the log's {skipped} jobs can be replayed: {} have no attempts, {} have a last \
                 attempt without start_time, {} a last attempt without end_time",
                c.no_attempts, c.no_start, c.unfinished
            )
        };
        return Err(InputError::file(path, msg));
    }
    let origin = c.first.unwrap_or_default();
    let mut ran = c.ran;
    ran.sort_by_key(|r| r.submit);
    let jobs = ran
        .into_iter()
        .map(|r| JobSpec {
            name: (!r.name.is_empty()).then_some(r.name),
            // Within range: checked against the span of all replayed jobs while reading.
            submit: SimTime::from_nanos(datetime::since(r.submit, origin).unwrap_or(u64::MAX)),
            duration: SimDuration::from_nanos(r.duration),
            gpus: r.gpus,
            gpu_milli: if r.gpus == 0 { 0 } else { 1000 },
            cpu_milli: 0,
            memory_mib: 0,
            gpu_models: Vec::new(),
            priority: 0,
        })
        .collect();
    Ok(PhillyLog {
        jobs,
        no_attempts: c.no_attempts,
        no_start: c.no_start,
        unfinished: c.unfinished,
    })
}
