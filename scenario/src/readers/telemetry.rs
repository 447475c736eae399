//! Measured telemetry for `dctwin calibrate`: a CSV of points, each a measured figure and the
//! configuration it was measured on. The header says which kind of file it is (docs/calibrate.md):
//! - step times — `step_s` (s per optimizer step), optional `job` (index of the training job, default 0)
//!   and `set`;
//! - collectives, as nccl-tests reports them — `collective` (`all_reduce`, `reduce_scatter`, `all_gather`,
//!   `sendrecv`), `ranks`, `gpus_per_server`, `bytes` and one of `busbw_gbs` (GB/s) or `time_us` (µs),
//!   optional `gpu` (catalog name) and `set`;
//! - node power of a training job — one of `node_peak_w` (a server's input power in the compute phases) or
//!   `node_mean_w` (averaged over the run), W, optional `job` and `set`.
//!
//! `set` holds the configuration as `;`-separated `dotted.path=value` overrides applied on top of the
//! scenario (empty: the scenario as it is). Columns may come in any order; an unknown column is an error.

use std::path::Path;

use models::training::Collective;

use super::text::{Lines, found, number, read_text, split_into, width_error};
use crate::error::{InputError, Location};
use crate::overlay::Override;

const WHAT: &str = "telemetry CSV";

/// A collective's measured figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectiveMeasure {
    /// nccl-tests bus bandwidth, GB/s (10^9 B/s).
    BusBwGbs,
    /// Time per operation, µs.
    TimeUs,
}

impl CollectiveMeasure {
    /// The CSV column.
    pub fn column(self) -> &'static str {
        match self {
            CollectiveMeasure::BusBwGbs => "busbw_gbs",
            CollectiveMeasure::TimeUs => "time_us",
        }
    }
}

/// A node-power point's measured figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerMeasure {
    /// One server's input power during the compute phases, W.
    PeakW,
    /// One server's input power averaged over the run, W.
    MeanW,
}

impl PowerMeasure {
    /// The CSV column.
    pub fn column(self) -> &'static str {
        match self {
            PowerMeasure::PeakW => "node_peak_w",
            PowerMeasure::MeanW => "node_mean_w",
        }
    }
}

/// What a point measured.
#[derive(Debug, Clone, PartialEq)]
pub enum PointKind {
    /// The step time of training job `job` (its index in `workload.Training.jobs`), s.
    StepTime { job: usize },
    /// One collective as nccl-tests runs it.
    Collective {
        op: Collective,
        ranks: u32,
        gpus_per_server: u32,
        /// Size as nccl-tests gives it (all-reduce: the per-rank buffer; reduce-scatter and all-gather: the
        /// whole array), B.
        bytes: f64,
        /// Catalog GPU model; `None`: the scenario's first training job's.
        gpu: Option<String>,
        measure: CollectiveMeasure,
    },
    /// The input power of one server of training job `job`, W.
    NodePower { job: usize, measure: PowerMeasure },
}

/// One measured point.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryPoint {
    /// 1-based line in the file.
    pub line: usize,
    /// The configuration it was measured on, applied on top of the scenario.
    pub set: Vec<Override>,
    /// The `set` cell as written (for reports), trimmed.
    pub set_text: String,
    pub kind: PointKind,
    /// The measured figure: s (step time), GB/s (`busbw_gbs`) or µs (`time_us`).
    pub measured: f64,
}

/// The name of the measured figure of a point, with its unit.
pub fn measured_label(kind: &PointKind) -> &'static str {
    match kind {
        PointKind::StepTime { .. } => "step_s",
        PointKind::Collective { measure, .. } => measure.column(),
        PointKind::NodePower { measure, .. } => measure.column(),
    }
}

/// Reads a telemetry CSV (see the module docs). At least one point.
pub fn read_telemetry(path: &Path) -> Result<Vec<TelemetryPoint>, InputError> {
    parse_telemetry(&read_text(path, WHAT)?, path)
}

const STEP_COLUMNS: [&str; 3] = ["set", "job", "step_s"];
const POWER_COLUMNS: [&str; 4] = ["set", "job", "node_peak_w", "node_mean_w"];
const COLLECTIVE_COLUMNS: [&str; 8] = [
    "set",
    "collective",
    "ranks",
    "gpus_per_server",
    "bytes",
    "busbw_gbs",
    "time_us",
    "gpu",
];

/// [`read_telemetry`] of text in memory; `path` names it in errors.
pub fn parse_telemetry(text: &str, path: &Path) -> Result<Vec<TelemetryPoint>, InputError> {
    let mut lines = Lines::new(text);
    let Some((lh, head)) = lines.next_nonblank() else {
        return Err(InputError::file(
            path,
            format!(
                "the {WHAT} is empty: expected a header, `set,job,step_s` (step times), \
                 `set,collective,ranks,gpus_per_server,bytes,busbw_gbs` (collectives) or \
                 `set,job,node_peak_w` (node power)"
            ),
        ));
    };
    let mut header = Vec::new();
    split_into(head, &mut header);
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let at_header = |m: String| InputError::new(path, Location::Line(lh), m);
    let has = |c: &str| header.iter().any(|h| h == c);
    let steps = has("step_s");
    let collectives = has("collective");
    let power = has("node_peak_w") || has("node_mean_w");
    let allowed: &[&str] = match (steps, collectives, power) {
        (true, false, false) => &STEP_COLUMNS,
        (false, true, false) => &COLLECTIVE_COLUMNS,
        (false, false, true) => &POWER_COLUMNS,
        (false, false, false) => {
            return Err(at_header(
                "the header has none of `step_s` (step times), `collective` (collectives) and \
                 `node_peak_w`/`node_mean_w` (node power)"
                    .to_string(),
            ));
        }
        _ => {
            return Err(at_header(
                "the header mixes `step_s` (step times), `collective` (collectives) and \
                 `node_peak_w`/`node_mean_w` (node power); one file holds one kind of telemetry"
                    .to_string(),
            ));
        }
    };
    for (i, h) in header.iter().enumerate() {
        if !allowed.contains(&h.as_str()) {
            return Err(at_header(format!(
                "unknown column {} (column {}); this kind of telemetry takes {}",
                found(h),
                i + 1,
                allowed.join(", ")
            )));
        }
        if header[..i].contains(h) {
            return Err(at_header(format!("column `{h}` appears twice")));
        }
    }
    let col = |c: &str| header.iter().position(|h| h == c);
    let shape = if steps {
        Shape::Steps {
            job: col("job"),
            step_s: col("step_s").expect("checked"),
        }
    } else if power {
        let measure = match (col("node_peak_w"), col("node_mean_w")) {
            (Some(i), None) => (i, PowerMeasure::PeakW),
            (None, Some(i)) => (i, PowerMeasure::MeanW),
            _ => {
                return Err(at_header(
                    "node-power telemetry needs exactly one of the columns `node_peak_w` and \
                     `node_mean_w` (W)"
                        .to_string(),
                ));
            }
        };
        Shape::Power {
            job: col("job"),
            measure,
        }
    } else {
        let measure = match (col("busbw_gbs"), col("time_us")) {
            (Some(i), None) => (i, CollectiveMeasure::BusBwGbs),
            (None, Some(i)) => (i, CollectiveMeasure::TimeUs),
            _ => {
                return Err(at_header(
                    "collective telemetry needs exactly one of the columns `busbw_gbs` (GB/s) and \
                     `time_us` (µs)"
                        .to_string(),
                ));
            }
        };
        let mut need = Vec::new();
        for c in ["ranks", "gpus_per_server", "bytes"] {
            if col(c).is_none() {
                need.push(format!("`{c}`"));
            }
        }
        if !need.is_empty() {
            return Err(at_header(format!(
                "the header of the {WHAT} lacks column{} {}",
                if need.len() == 1 { "" } else { "s" },
                need.join(", ")
            )));
        }
        Shape::Collectives {
            op: col("collective").expect("checked"),
            ranks: col("ranks").expect("checked"),
            per_server: col("gpus_per_server").expect("checked"),
            bytes: col("bytes").expect("checked"),
            gpu: col("gpu"),
            measure,
        }
    };
    let set_col = col("set");
    let width = header.len();
    let mut points = Vec::new();
    let mut f = Vec::new();
    for (ln, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        split_into(line, &mut f);
        if f.len() != width {
            return Err(width_error(path, ln, width, f.len()));
        }
        let set_text = set_col.map(|i| f[i]).unwrap_or("");
        let set = parse_set(path, ln, set_text)?;
        let (kind, measured) = match &shape {
            Shape::Steps { job, step_s } => {
                let job = match job {
                    Some(i) => count(path, ln, "job", f[*i], 0)? as usize,
                    None => 0,
                };
                let v = positive(path, ln, "step_s", f[*step_s])?;
                (PointKind::StepTime { job }, v)
            }
            Shape::Power { job, measure } => {
                let job = match job {
                    Some(i) => count(path, ln, "job", f[*i], 0)? as usize,
                    None => 0,
                };
                let v = positive(path, ln, measure.1.column(), f[measure.0])?;
                (
                    PointKind::NodePower {
                        job,
                        measure: measure.1,
                    },
                    v,
                )
            }
            Shape::Collectives {
                op,
                ranks,
                per_server,
                bytes,
                gpu,
                measure,
            } => {
                let op = collective(path, ln, f[*op])?;
                let ranks = count(path, ln, "ranks", f[*ranks], 2)?;
                let gpus_per_server = count(path, ln, "gpus_per_server", f[*per_server], 1)?;
                let bytes = positive(path, ln, "bytes", f[*bytes])?;
                let gpu = gpu
                    .map(|i| f[i])
                    .filter(|g| !g.is_empty())
                    .map(str::to_string);
                let v = positive(path, ln, measure.1.column(), f[measure.0])?;
                (
                    PointKind::Collective {
                        op,
                        ranks: ranks as u32,
                        gpus_per_server: gpus_per_server as u32,
                        bytes,
                        gpu,
                        measure: measure.1,
                    },
                    v,
                )
            }
        };
        points.push(TelemetryPoint {
            line: ln,
            set,
            set_text: set_text.to_string(),
            kind,
            measured,
        });
    }
    if points.is_empty() {
        return Err(InputError::file(
            path,
            format!("the {WHAT} has a header but no rows"),
        ));
    }
    Ok(points)
}

/// Column indices of the three kinds of file.
enum Shape {
    Steps {
        job: Option<usize>,
        step_s: usize,
    },
    Power {
        job: Option<usize>,
        measure: (usize, PowerMeasure),
    },
    Collectives {
        op: usize,
        ranks: usize,
        per_server: usize,
        bytes: usize,
        gpu: Option<usize>,
        measure: (usize, CollectiveMeasure),
    },
}

/// The `set` cell: `;`-separated `dotted.path=value` overrides (empty pieces skipped).
fn parse_set(path: &Path, line: usize, cell: &str) -> Result<Vec<Override>, InputError> {
    cell.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            Override::parse(p).map_err(|m| {
                InputError::line_field(
                    path,
                    line,
                    "set",
                    format!("{m} (`set` holds `;`-separated `dotted.path=value` overrides)"),
                )
            })
        })
        .collect()
}

fn positive(path: &Path, line: usize, column: &str, cell: &str) -> Result<f64, InputError> {
    let v = number(path, line, column, cell)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(InputError::line_field(
            path,
            line,
            column,
            format!("expected a number > 0, found {}", found(cell)),
        ))
    }
}

/// A whole number ≥ `min` (at most 2^32 − 1).
fn count(path: &Path, line: usize, column: &str, cell: &str, min: u64) -> Result<u64, InputError> {
    match cell.parse::<u64>() {
        Ok(v) if v >= min && v <= u32::MAX as u64 => Ok(v),
        _ => Err(InputError::line_field(
            path,
            line,
            column,
            format!(
                "expected a whole number in [{min}, {}], found {}",
                u32::MAX,
                found(cell)
            ),
        )),
    }
}

fn collective(path: &Path, line: usize, cell: &str) -> Result<Collective, InputError> {
    match cell {
        "all_reduce" => Ok(Collective::AllReduce),
        "reduce_scatter" => Ok(Collective::ReduceScatter),
        "all_gather" => Ok(Collective::AllGather),
        "sendrecv" => Ok(Collective::SendRecv),
        _ => Err(InputError::line_field(
            path,
            line,
            "collective",
            format!(
                "expected all_reduce, reduce_scatter, all_gather or sendrecv, found {}",
                found(cell)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<Vec<TelemetryPoint>, InputError> {
        parse_telemetry(t, Path::new("t.csv"))
    }

    #[test]
    fn step_times_with_sets_and_jobs() {
        let p = parse("set,job,step_s\n,0,1.5\n\"a.b=1; c=x\",2,3\n").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].kind, PointKind::StepTime { job: 0 });
        assert!(p[0].set.is_empty());
        assert_eq!(p[1].line, 3);
        assert_eq!(p[1].set.len(), 2);
        assert_eq!(p[1].set[1].path, "c");
        assert_eq!(p[1].measured, 3.0);
        // `job` and `set` are optional.
        let p = parse("step_s\n2.0\n").unwrap();
        assert_eq!(p[0].kind, PointKind::StepTime { job: 0 });
    }

    #[test]
    fn collectives_take_busbw_or_time() {
        let p = parse(
            "collective,ranks,gpus_per_server,bytes,busbw_gbs,gpu\nall_reduce,16,8,1e9,40,H100\n",
        )
        .unwrap();
        match &p[0].kind {
            PointKind::Collective {
                op,
                ranks,
                measure,
                gpu,
                ..
            } => {
                assert_eq!(*op, Collective::AllReduce);
                assert_eq!(*ranks, 16);
                assert_eq!(*measure, CollectiveMeasure::BusBwGbs);
                assert_eq!(gpu.as_deref(), Some("H100"));
            }
            k => panic!("{k:?}"),
        }
        let e = parse("collective,ranks,gpus_per_server,bytes\nall_reduce,2,8,1\n").unwrap_err();
        assert!(e.to_string().contains("exactly one of"), "{e}");
    }

    #[test]
    fn bad_cells_name_line_and_column() {
        let e = parse("set,step_s\n,1\n,abc\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:3: column `step_s`: expected a finite number, found `abc`"
        );
        let e = parse("set,step_s\nnot-an-override,1\n").unwrap_err();
        assert!(e.to_string().starts_with("t.csv:2: column `set`: "), "{e}");
        let e = parse("set,stp_s,step_s\n").unwrap_err();
        assert!(e.to_string().contains("unknown column `stp_s`"), "{e}");
        let e = parse("set,step_s\n\n").unwrap_err();
        assert!(e.to_string().contains("no rows"), "{e}");
        let e = parse("").unwrap_err();
        assert!(e.to_string().contains("is empty"), "{e}");
        let e = parse("step_s,job\n1,-1\n").unwrap_err();
        assert!(e.to_string().starts_with("t.csv:2: column `job`"), "{e}");
    }
}
