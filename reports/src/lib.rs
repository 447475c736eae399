//! dctwin's reports: what a run leaves on disk and prints.
//!
//! [`write_run`] writes four files into an output directory — `summary.json`, `timeseries.csv`,
//! `it_power.svg` and `utilization_queue.svg` (and, for runs with failures, `failures.svg`; for runs with a
//! facility, `facility_power.svg` and `pue_wet_bulb.svg`; the per-entity tables `jobs.csv`, `requests.csv` and
//! `racks.csv` when the run has them, [`entity_tables`]) — each one atomically (temporary file in the same
//! directory, `fsync`, rename over the target), so a reader never sees a half-written file.
//! [`OutputDir`] ([`outdir`]) checks an output directory before the work and replaces its whole set of
//! files at once: commands write into a staging directory that is then swapped into place.
//! [`stdout_table`] renders the summary as a short aligned table for the terminal. [`pages`] composes
//! `report.html` for a run and for a sweep ([`html`] renders it); [`sweep`] writes a sweep's tables and
//! charts.
//!
//! Everything here is deterministic: the same [`RunOutput`] always produces byte-identical files.
//! (The run itself makes one field non-deterministic: `summary.json` → `wall_time_s`.)
//! The file formats are documented in `docs/outputs.md`.
#![warn(missing_docs)]

pub mod calendar;
mod chart;
pub mod compare_page;
pub mod csvtext;
pub mod entity_tables;
pub mod facility_chart;
pub mod figures;
pub mod html;
pub mod human;
pub mod monthly;
pub mod outdir;
pub mod pages;
mod run_report;
mod sections;
pub mod size_chart;
pub mod stats;
pub mod svg;
pub mod sweep;
mod table;
pub mod template;

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use output::{RunOutput, Sample, Summary};

pub use chart::{failures_svg, it_power_svg, utilization_queue_svg};
pub use csvtext::CsvText;
pub use entity_tables::{
    JOBS_CSV, JOBS_HEADER, RACKS_CSV, RACKS_HEADER, REQUESTS_CSV, REQUESTS_HEADER, jobs_csv,
    racks_csv, requests_csv,
};
pub use facility_chart::{facility_charts, facility_power_svg, pue_wet_bulb_svg};
pub use outdir::{OutDirError, OutputDir, ensure_dir};
pub use table::{stdout_table, stdout_table_priced};

/// File name of the run summary (pretty-printed JSON of [`Summary`]).
pub const SUMMARY_JSON: &str = "summary.json";
/// File name of the sampled time series (CSV, one row per [`Sample`]).
pub const TIMESERIES_CSV: &str = "timeseries.csv";
/// File name of the IT-power chart (SVG).
pub const IT_POWER_SVG: &str = "it_power.svg";
/// File name of the busy-GPUs / queued-jobs chart (SVG).
pub const UTILIZATION_QUEUE_SVG: &str = "utilization_queue.svg";
/// File name of the servers-down / failures-so-far chart (SVG; runs with a `failures` section).
pub const FAILURES_SVG: &str = "failures.svg";

/// Every file a run writes (a run without failures writes all but the failures chart, one without a facility
/// all but the facility charts): the set that replaces a run's output directory as a whole ([`OutputDir`]).
pub const RUN_FILES: &[&str] = &[
    SUMMARY_JSON,
    TIMESERIES_CSV,
    IT_POWER_SVG,
    UTILIZATION_QUEUE_SVG,
    FAILURES_SVG,
    facility_chart::FACILITY_POWER_SVG,
    facility_chart::PUE_WET_BULB_SVG,
    html::REPORT_HTML,
    JOBS_CSV,
    REQUESTS_CSV,
    RACKS_CSV,
];

/// The header line of `timeseries.csv` (without the line terminator).
pub const TIMESERIES_HEADER: &str = "time_s,it_power_w,busy_gpus,running_jobs,queued_jobs";

/// The failure columns appended to [`TIMESERIES_HEADER`] when the run has a `failures` section (before any
/// facility columns): servers down for failures, failures so far.
pub const TIMESERIES_FAILURE_COLUMNS: &str = "servers_failed,failures_total";

/// The facility columns appended to [`TIMESERIES_HEADER`] when the run has a facility (every sample then
/// carries [`output::FacilitySample`]); `carbon_intensity_g_per_kwh` is empty without a carbon series.
pub const TIMESERIES_FACILITY_COLUMNS: &str = "facility_power_w,power_chain_loss_w,cooling_power_w,\
chiller_w,tower_fans_w,pumps_w,crah_fans_w,dry_coolers_w,misc_w,pue_interval,outdoor_dry_bulb_c,\
outdoor_wet_bulb_c,inlet_c,carbon_intensity_g_per_kwh,it_energy_j,facility_energy_j";

/// Columns added to `timeseries.csv` by a long-horizon serving run: the latency percentiles its windows measured
/// for the hour of each sample.
pub const TIMESERIES_SERVING_COLUMNS: &str = "ttft_p50_s,ttft_p99_s,tpot_p50_s,tpot_p99_s";

/// A failure to write a report file: which step failed, on which path, and the underlying I/O error.
///
/// `Display` gives all three, e.g. `writing out/summary.json: Permission denied (os error 13)`;
/// [`std::error::Error::source`] returns the I/O error.
#[derive(Debug)]
pub struct ReportError {
    action: &'static str,
    path: PathBuf,
    source: io::Error,
}

impl ReportError {
    fn new(action: &'static str, path: &Path, source: io::Error) -> Self {
        ReportError {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// The path being written (for a failed directory creation, the directory).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying I/O error.
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.action,
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Writes every report file of a run into `out_dir` (created, with its parents, if missing).
///
/// Returns the paths written, in this order: `summary.json`, `timeseries.csv`, `it_power.svg`,
/// `utilization_queue.svg`, then (runs with failures) `failures.svg`, then (runs with a facility)
/// `facility_power.svg`, `pue_wet_bulb.svg`, then the tables the run has: `jobs.csv`, `requests.csv`,
/// `racks.csv` ([`output::Tables`]). Each file is written with [`write_atomic`]; existing files are
/// replaced. If a write fails, the files before it have already been replaced and the ones after
/// it are untouched. The charts' time axes count hours or days from the start ([`write_run_with`] puts
/// them on a calendar).
pub fn write_run(out_dir: &Path, out: &RunOutput) -> Result<Vec<PathBuf>, ReportError> {
    write_run_with(out_dir, out, None)
}

/// [`write_run`] with the charts' time axes on `cal` (clock hours, dates or months, as `report.html`).
pub fn write_run_with(
    out_dir: &Path,
    out: &RunOutput,
    cal: Option<&calendar::Calendar>,
) -> Result<Vec<PathBuf>, ReportError> {
    fs::create_dir_all(out_dir).map_err(|e| ReportError::new("creating directory", out_dir, e))?;

    let gpus_total = Some(out.summary.gpus.total).filter(|&n| n > 0);
    let mut written = Vec::with_capacity(4);
    let mut write = |name: &str, text: io::Result<String>| -> Result<(), ReportError> {
        let path = out_dir.join(name);
        let text = text.map_err(|e| ReportError::new("rendering", &path, e))?;
        write_atomic(&path, text.as_bytes())?;
        written.push(path);
        Ok(())
    };
    write(SUMMARY_JSON, Ok(summary_json(&out.summary)))?;
    write(TIMESERIES_CSV, Ok(timeseries_csv(&out.timeseries)))?;
    write(IT_POWER_SVG, it_power_svg(&out.timeseries, cal))?;
    write(
        UTILIZATION_QUEUE_SVG,
        utilization_queue_svg(&out.timeseries, gpus_total, cal),
    )?;
    if out.timeseries.iter().any(|s| s.failures.is_some()) {
        write(
            FAILURES_SVG,
            failures_svg(&out.timeseries, out.summary.failures.as_ref(), cal),
        )?;
    }
    if out.timeseries.iter().any(|s| s.facility.is_some()) {
        write(
            facility_chart::FACILITY_POWER_SVG,
            facility_power_svg(&out.timeseries, cal),
        )?;
        write(
            facility_chart::PUE_WET_BULB_SVG,
            pue_wet_bulb_svg(&out.timeseries),
        )?;
    }
    let t = &out.tables;
    if let Some(jobs) = &t.jobs {
        write(JOBS_CSV, Ok(jobs_csv(jobs)))?;
    }
    if let Some(requests) = &t.requests {
        write(REQUESTS_CSV, Ok(requests_csv(requests)))?;
    }
    if !t.racks.is_empty() {
        write(RACKS_CSV, Ok(racks_csv(&t.racks)))?;
    }
    Ok(written)
}

/// The run summary as pretty-printed JSON (two-space indent, fields in declaration order),
/// ending with a newline.
///
/// Non-finite floats (NaN, ±∞) — which a correct run never produces — are written as `null`.
pub fn summary_json(s: &Summary) -> String {
    // A struct of numbers, strings, a string-keyed map and a list of strings: serialising into a
    // String cannot fail.
    let mut json = serde_json::to_string_pretty(s).expect("a Summary always serialises to JSON");
    json.push('\n');
    json
}

/// The time series as CSV: the header [`TIMESERIES_HEADER`] (followed by
/// [`TIMESERIES_FAILURE_COLUMNS`] when any sample has failure columns, then
/// [`TIMESERIES_FACILITY_COLUMNS`] when any sample has facility columns, then [`TIMESERIES_SERVING_COLUMNS`]
/// when any has serving columns), then one row per sample, in order, each line ending with `\n`. A sample without facility columns in a facility run leaves them empty.
///
/// Floats use Rust's `Display` (shortest representation that round-trips, never an exponent:
/// `1.5`, `0.1`, `3` for 3.0), so the text is deterministic and parses back to the same `f64`.
pub fn timeseries_csv(samples: &[Sample]) -> String {
    let facility = samples.iter().any(|s| s.facility.is_some());
    let failures = samples.iter().any(|s| s.failures.is_some());
    let serving = samples.iter().any(|s| s.serving.is_some());
    let mut header: Vec<&str> = TIMESERIES_HEADER.split(',').collect();
    for (on, columns) in [
        (failures, TIMESERIES_FAILURE_COLUMNS),
        (facility, TIMESERIES_FACILITY_COLUMNS),
        (serving, TIMESERIES_SERVING_COLUMNS),
    ] {
        if on {
            header.extend(columns.split(','));
        }
    }
    let mut csv = CsvText::new();
    csv.record(&header);
    for s in samples {
        csv.num(s.time_s);
        csv.num(s.it_power_w);
        csv.num(s.busy_gpus);
        csv.num(s.running_jobs);
        csv.num(s.queued_jobs);
        if failures {
            let f = s.failures.as_ref();
            csv.opt(f.map(|f| f.servers_failed));
            csv.opt(f.map(|f| f.failures_total));
        }
        if facility {
            match &s.facility {
                Some(f) => {
                    for x in [
                        f.facility_power_w,
                        f.power_chain_loss_w,
                        f.cooling_power_w,
                        f.chiller_w,
                        f.tower_fans_w,
                        f.pumps_w,
                        f.crah_fans_w,
                        f.dry_coolers_w,
                        f.misc_w,
                        f.pue_interval,
                        f.outdoor_dry_bulb_c,
                        f.outdoor_wet_bulb_c,
                        f.inlet_c,
                    ] {
                        csv.num(x);
                    }
                    csv.opt(f.carbon_intensity_g_per_kwh);
                    csv.num(f.it_energy_j);
                    csv.num(f.facility_energy_j);
                }
                None => (0..16).for_each(|_| csv.field("")),
            }
        }
        if serving {
            let v = s.serving.as_ref();
            csv.opt(v.map(|v| v.ttft_p50_s));
            csv.opt(v.map(|v| v.ttft_p99_s));
            csv.opt(v.map(|v| v.tpot_p50_s));
            csv.opt(v.map(|v| v.tpot_p99_s));
        }
        csv.end();
    }
    csv.finish()
}

/// Distinguishes concurrent [`write_atomic`] calls within one process (threads writing the same
/// path never share a temporary file).
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically: readers see either the old file or the complete new one.
///
/// The bytes go to a temporary file `.<name>.tmp-<pid>-<n>` in the same directory (created new by
/// `tempfile`, with the permissions a plain create gives), which is flushed to disk (`fsync`) and
/// then renamed over `path` (`persist`), replacing any existing file. On Unix the directory is also
/// synced so the rename itself survives a crash. On failure the temporary file is removed (dropped)
/// and `path` is left as it was. The name stays `<pid>-<n>` (no random part) so that
/// [`OutputDir`]'s carry-over recognises the leftovers of a killed writer.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let name = path.file_name().ok_or_else(|| {
        ReportError::new(
            "writing",
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"),
        )
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = dir.join(&tmp_name);
    let mut builder = tempfile::Builder::new();
    builder.prefix(&tmp_name).rand_bytes(0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // As a plain create: 0666 less the umask (tempfile's default is 0600).
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    let mut file = builder
        .tempfile_in(dir)
        .map_err(|e| ReportError::new("writing", &tmp, e))?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| ReportError::new("writing", &tmp, e))?;
    // On an error the temporary file is removed when `e.file` drops.
    file.persist(path)
        .map_err(|e| ReportError::new("renaming to", path, e.error))?;
    sync_dir(dir).map_err(|e| ReportError::new("syncing directory", dir, e))
}

/// Makes a completed rename durable. Directories cannot be opened for syncing on every platform;
/// where they cannot, the rename is still atomic, only not yet guaranteed on disk.
fn sync_dir(dir: &Path) -> io::Result<()> {
    if cfg!(unix) {
        File::open(dir)?.sync_all()
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
