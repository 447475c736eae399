//! Trace readers: job traces to replay ([`read_native`], [`read_alibaba_pods`]) and server lists to build a
//! site from ([`read_alibaba_nodes`]).
//!
//! All readers take CSV with a header line and find columns **by name, in any order**; an unknown or
//! duplicated column is an error that lists the accepted ones. Cells are trimmed of surrounding spaces;
//! empty lines are skipped; quoted cells may contain commas and newlines. Each reader returns rows in file
//! order and never panics: every problem is an [`InputError`](crate::error::InputError) with the file, the 1-based line as an editor
//! shows it (the header is line 1; a quoted cell spanning lines pushes later lines down) and, for a bad cell,
//! the column name, with what was expected and what was found:
//!
//! ```text
//! jobs.csv:7: column `duration_s`: expected a non-negative number of seconds, found `abc`
//! ```
//!
//! A missing or unreadable file, an empty file and a header without rows are reported for the whole file
//! ([`Location::File`](crate::error::Location::File)); a header problem or a row with the wrong number of
//! fields at its line ([`Location::Line`](crate::error::Location::Line)); a bad cell at its line and column
//! ([`Location::LineField`](crate::error::Location::LineField)). Each reader has a `parse_*` twin taking the
//! bytes of a trace held in memory.
//!
//! Readers stream the file through one reused record, so a trace of a million rows costs little more than
//! the [`JobSpec`](crate::workload::JobSpec)s it yields.
//!
//! # Native job trace ([`read_native`])
//!
//! | column       | required | type                 | → `JobSpec`                                                     |
//! |--------------|----------|----------------------|-----------------------------------------------------------------|
//! | `submit_s`   | yes      | seconds, decimal ≥ 0 | `submit` (from the start of the run)                             |
//! | `gpus`       | yes      | integer ≥ 0          | `gpus`; `gpu_milli` = 1000 (whole GPUs), or 0 when `gpus` = 0   |
//! | `duration_s` | yes      | seconds, decimal > 0 | `duration` (run time once placed)                               |
//! | `name`       | no       | text                 | `name` (empty: none)                                            |
//! | `gpu_model`  | no       | text                 | `gpu_models`: the model the job must run on, or several joined by `\|` (empty: any) |
//! | `cpu_milli`  | no       | integer ≥ 0          | `cpu_milli`, thousandths of a CPU core (empty: 0)               |
//! | `memory_mib` | no       | integer ≥ 0          | `memory_mib` (empty: 0)                                         |
//!
//! Rows must be sorted by `submit_s` (non-decreasing; an earlier time than the previous row is an error at
//! that row). Seconds are rounded to the nearest nanosecond; `NaN`, infinities, negative values, a duration
//! that is 0 (or rounds to 0 ns) and times beyond the ≈ 584-year range of simulated time are errors.
//!
//! ```text
//! submit_s,gpus,duration_s,name,gpu_model
//! 0,8,3600,train-a,H100
//! 12.5,1,600,notebook,
//! ```
//!
//! # Alibaba GPU cluster trace 2023 pods ([`read_alibaba_pods`])
//!
//! `openb_pod_list_*.csv` from alibaba/clusterdata `cluster-trace-gpu-v2023` ("Beware of Fragmentation",
//! Weng et al., USENIX ATC 2023; CC-BY 4.0). Header
//! `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time`;
//! times are whole seconds from the trace start.
//!
//! | column           | required | → `JobSpec`                                                                   |
//! |------------------|----------|-------------------------------------------------------------------------------|
//! | `name`           | yes      | `name` (empty: none)                                                          |
//! | `cpu_milli`      | yes      | `cpu_milli`                                                                   |
//! | `memory_mib`     | yes      | `memory_mib`                                                                  |
//! | `num_gpu`        | yes      | `gpus` (0 = CPU-only pod)                                                     |
//! | `gpu_milli`      | yes      | `gpu_milli`, per GPU: must be 0 when `num_gpu` = 0, 1–1000 when `num_gpu` = 1 (below 1000 = a shared GPU), 1000 when `num_gpu` ≥ 2 |
//! | `gpu_spec`       | no       | `gpu_models`, split on `\|` (`V100M16\|V100M32`; empty: any model)            |
//! | `qos`            | no       | ignored (`LS`, `BE`, `Burstable`, `Guaranteed`)                               |
//! | `pod_phase`      | no       | ignored (implied by `scheduled_time`, see below)                              |
//! | `creation_time`  | yes      | `submit`                                                                      |
//! | `deletion_time`  | yes      | end of the pod: `duration` = `deletion_time − scheduled_time`                 |
//! | `scheduled_time` | yes      | start of the pod in the real cluster; may be empty, see below                 |
//!
//! - The duration is the real **run time** `deletion_time − scheduled_time`; the real queueing delay
//!   (`scheduled_time − creation_time`) is not replayed: the simulated scheduler decides when a pod starts.
//! - A pod with an empty `scheduled_time` (phase `Pending`: never scheduled in the real cluster before it
//!   was deleted) is still replayed, with `duration = deletion_time − creation_time`, the time it was alive.
//!   Dropping them would silently change the offered load; a scenario that wants them gone can filter
//!   by duration or name.
//! - A duration of 0 is legal (the pod completes when it starts).
//! - Errors: `scheduled_time` before `creation_time`; `deletion_time` before `scheduled_time` (or before
//!   `creation_time` when never scheduled); `creation_time` lower than the previous row's (the published
//!   lists are sorted by it, so a decrease means a damaged or hand-edited file); `gpu_milli` inconsistent
//!   with `num_gpu`; a missing time column. `openb_pod_list_multigpu50.csv` (and the other lists with only
//!   `name,cpu_milli,memory_mib,num_gpu,gpu_milli`) cannot be replayed: reading it reports the missing
//!   `creation_time`, `deletion_time`, `scheduled_time` columns.
//!
//! Facts about `openb_pod_list_default.csv` (8,152 pods): sorted by `creation_time` (199 ties, no
//! decreases); 897 `Pending` pods, exactly those with an empty `scheduled_time`; one of them has
//! `deletion_time = creation_time`, the only zero duration; 1,088 CPU-only pods; 3,078 shared-GPU pods;
//! `gpu_spec` is empty on every row.
//!
//! # Alibaba GPU cluster trace 2023 nodes ([`read_alibaba_nodes`])
//!
//! `openb_node_list_gpu_node.csv`, header `sn,cpu_milli,memory_mib,gpu,model`, all columns required:
//!
//! | column       | → `NodeSpec`                                                        |
//! |--------------|---------------------------------------------------------------------|
//! | `sn`         | `name` (must be non-empty and unique)                               |
//! | `cpu_milli`  | `cpu_milli`                                                         |
//! | `memory_mib` | `memory_mib`                                                        |
//! | `gpu`        | `gpus`                                                              |
//! | `model`      | `model`, the GPU model as the trace spells it (`P100`, `T4`, `V100M16`, `G2`…); required when `gpu` > 0 |

mod alibaba;
mod native;
mod table;

pub use alibaba::{parse_alibaba_nodes, parse_alibaba_pods, read_alibaba_nodes, read_alibaba_pods};
pub use native::{parse_native, read_native};
