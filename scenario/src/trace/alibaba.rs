//! Alibaba GPU cluster trace 2023 (`cluster-trace-gpu-v2023`, "Beware of Fragmentation", Weng et al.,
//! USENIX ATC 2023; CC-BY 4.0): the pod lists `openb_pod_list_*.csv` and the node list
//! `openb_node_list_gpu_node.csv`. See the [trace module docs](super) for the column mapping.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use sim::{SimDuration, SimTime};

use super::table::{Format, Table, found, opt, req};
use crate::error::InputError;
use models::workload::{JobSpec, NodeSpec};

const NAME: usize = 0;
const CPU_MILLI: usize = 1;
const MEMORY_MIB: usize = 2;
const NUM_GPU: usize = 3;
const GPU_MILLI: usize = 4;
const GPU_SPEC: usize = 5;
const QOS: usize = 6;
const POD_PHASE: usize = 7;
const CREATION: usize = 8;
const DELETION: usize = 9;
const SCHEDULED: usize = 10;

static PODS: Format = Format {
    what: "Alibaba pod list",
    row: "pod",
    columns: &[
        req("name"),
        req("cpu_milli"),
        req("memory_mib"),
        req("num_gpu"),
        req("gpu_milli"),
        opt("gpu_spec"),
        opt("qos"),
        opt("pod_phase"),
        req("creation_time"),
        req("deletion_time"),
        req("scheduled_time"),
    ],
    missing_note: ". The time columns give each pod's arrival and run time; a pod list without them \
                   (such as openb_pod_list_multigpu50.csv, which holds only resource requests) cannot be replayed",
};

const SN: usize = 0;
const NODE_CPU_MILLI: usize = 1;
const NODE_MEMORY_MIB: usize = 2;
const GPU: usize = 3;
const MODEL: usize = 4;

static NODES: Format = Format {
    what: "Alibaba node list",
    row: "node",
    columns: &[
        req("sn"),
        req("cpu_milli"),
        req("memory_mib"),
        req("gpu"),
        req("model"),
    ],
    missing_note: "",
};

/// Largest time in whole seconds that fits [`SimTime`] (u64 nanoseconds, about 584 years).
const MAX_SECS: u64 = u64::MAX / sim::NANOS_PER_SEC;

/// Reads an Alibaba GPU 2023 pod list (`openb_pod_list_*.csv`) as jobs, one per pod, in file order.
///
/// Column mapping (columns by name, any order):
/// - `name` → `name` (empty: none); `cpu_milli`, `memory_mib` → the same fields; `num_gpu` → `gpus`;
///   `gpu_milli` → `gpu_milli` (thousandths of each GPU: 0 when `num_gpu` is 0, 1..=1000 when it is 1,
///   exactly 1000 when it is 2 or more);
/// - `gpu_spec` (optional) → `gpu_models`, split on `|` (empty: any model);
/// - `creation_time` → `submit`; `deletion_time − scheduled_time` → `duration` (the run time, so the
///   cluster's queueing delay `scheduled_time − creation_time` is left to the simulated scheduler);
/// - a pod with an empty `scheduled_time` (phase `Pending`: never scheduled in the real cluster) gets
///   `deletion_time − creation_time`, the time it was alive, as its duration;
/// - `qos`, `pod_phase` (optional) are accepted and ignored.
///
/// Times are whole seconds from the trace start. A duration of 0 is legal (the pod ends as it starts).
/// Errors: times out of order within a row (`scheduled_time < creation_time`, `deletion_time` before
/// either), `creation_time` decreasing from one row to the next (the published lists are sorted), a bad
/// `gpu_milli` for its `num_gpu`, and missing time columns (`openb_pod_list_multigpu50.csv` has none).
pub fn read_alibaba_pods(path: &Path) -> Result<Vec<JobSpec>, InputError> {
    read_pods(Table::open_file(path, &PODS)?)
}

/// [`read_alibaba_pods`] for a pod list already in memory; `source` names it in errors.
pub fn parse_alibaba_pods(data: &[u8], source: &Path) -> Result<Vec<JobSpec>, InputError> {
    read_pods(Table::open_bytes(data, source, &PODS)?)
}

/// Reads an Alibaba GPU 2023 node list (`openb_node_list_gpu_node.csv`), one [`NodeSpec`] per row in file
/// order: `sn` → `name` (required, unique), `cpu_milli`, `memory_mib` → the same fields, `gpu` → `gpus`,
/// `model` → `model` (the GPU model, e.g. `V100M16`; required when `gpu` > 0). All five columns are required.
pub fn read_alibaba_nodes(path: &Path) -> Result<Vec<NodeSpec>, InputError> {
    read_nodes(Table::open_file(path, &NODES)?)
}

/// [`read_alibaba_nodes`] for a node list already in memory; `source` names it in errors.
pub fn parse_alibaba_nodes(data: &[u8], source: &Path) -> Result<Vec<NodeSpec>, InputError> {
    read_nodes(Table::open_bytes(data, source, &NODES)?)
}

fn seconds<R: Read>(t: &Table<'_, R>, col: usize) -> Result<Option<u64>, InputError> {
    t.uint_of(col, MAX_SECS, "a non-negative whole number of seconds")
}

fn read_pods<R: Read>(mut t: Table<'_, R>) -> Result<Vec<JobSpec>, InputError> {
    let mut pods = Vec::new();
    let mut prev_creation = 0u64;
    let mut prev_pos = None;
    while t.next_row()? {
        let name = t.text(NAME)?.map(str::to_string);
        let cpu_milli = t.req_uint(CPU_MILLI, u64::MAX)?;
        let memory_mib = t.req_uint(MEMORY_MIB, u64::MAX)?;
        let gpus = t.req_uint(NUM_GPU, u32::MAX as u64)? as u32;
        let gpu_milli = t.req_uint(GPU_MILLI, u32::MAX as u64)? as u32;
        let milli_ok = match gpus {
            0 => gpu_milli == 0,
            1 => (1..=1000).contains(&gpu_milli),
            _ => gpu_milli == 1000,
        };
        if !milli_ok {
            let expected = match gpus {
                0 => "0 for a CPU-only pod (num_gpu 0)".to_string(),
                1 => "1 to 1000 thousandths of the pod's GPU (num_gpu 1)".to_string(),
                n => format!("1000 (whole GPUs) for a pod with num_gpu {n}"),
            };
            return Err(t.err(
                GPU_MILLI,
                format!("expected {expected}, found {}", found(t.raw(GPU_MILLI))),
            ));
        }
        let gpu_models = t.model_list(GPU_SPEC)?;
        // Accepted for completeness; the phase is implied by `scheduled_time`.
        t.text(QOS)?;
        t.text(POD_PHASE)?;

        let need = |col: usize| -> Result<u64, InputError> {
            seconds(&t, col)?.ok_or_else(|| {
                t.err(
                    col,
                    "expected a non-negative whole number of seconds, found an empty cell",
                )
            })
        };
        let creation = need(CREATION)?;
        let deletion = need(DELETION)?;
        let scheduled = seconds(&t, SCHEDULED)?;
        if creation < prev_creation {
            return Err(t.err(
                CREATION,
                format!(
                    "pods must be in non-decreasing creation_time order: expected at least {prev_creation} \
                     (the creation_time of line {}), found {creation}",
                    t.line_of(prev_pos.as_ref())
                ),
            ));
        }
        prev_creation = creation;
        prev_pos = t.position();
        let start = match scheduled {
            Some(s) if s < creation => {
                return Err(t.err(
                    SCHEDULED,
                    format!("expected a time no earlier than creation_time {creation}, found {s}"),
                ));
            }
            Some(s) => s,
            None => creation,
        };
        if deletion < start {
            let what = if scheduled.is_some() {
                "scheduled_time"
            } else {
                "creation_time (the pod was never scheduled)"
            };
            return Err(t.err(
                DELETION,
                format!("expected a time no earlier than {what} {start}, found {deletion}"),
            ));
        }
        // Both at most MAX_SECS, so neither conversion saturates, and the end (submit + duration ≤
        // deletion_time, since start ≥ creation) fits as well.
        let submit = SimTime::from_secs(creation);
        let duration = SimDuration::from_secs(deletion - start);
        pods.push(JobSpec {
            name,
            submit,
            duration,
            gpus,
            gpu_milli,
            cpu_milli,
            memory_mib,
            gpu_models,
            priority: 0,
        });
    }
    Ok(pods)
}

fn read_nodes<R: Read>(mut t: Table<'_, R>) -> Result<Vec<NodeSpec>, InputError> {
    let mut nodes = Vec::new();
    let mut seen: HashMap<String, Option<csv::Position>> = HashMap::new();
    while t.next_row()? {
        let Some(name) = t.text(SN)? else {
            return Err(t.err(SN, "expected a node name, found an empty cell"));
        };
        if let Some(first) = seen.get(name) {
            return Err(t.err(
                SN,
                format!(
                    "node names must be unique: `{name}` is already on line {}",
                    t.line_of(first.as_ref())
                ),
            ));
        }
        let name = name.to_string();
        seen.insert(name.clone(), t.position());
        let cpu_milli = t.req_uint(NODE_CPU_MILLI, u64::MAX)?;
        let memory_mib = t.req_uint(NODE_MEMORY_MIB, u64::MAX)?;
        let gpus = t.req_uint(GPU, u32::MAX as u64)? as u32;
        let model = t.text(MODEL)?.unwrap_or_default().to_string();
        if model.is_empty() && gpus > 0 {
            return Err(t.err(
                MODEL,
                format!("expected the GPU model of the node's {gpus} GPUs, found an empty cell"),
            ));
        }
        nodes.push(NodeSpec {
            name,
            cpu_milli,
            memory_mib,
            gpus,
            model,
        });
    }
    Ok(nodes)
}
