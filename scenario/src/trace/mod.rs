//! Trace readers: job traces to replay ([`read_native`], [`read_alibaba_pods`], [`read_helios`],
//! [`read_philly`]), LLM inference request traces ([`read_azure_llm`]) and server lists to build a site from
//! ([`read_alibaba_nodes`]).
//!
//! All readers but [`read_philly`] (JSON, see below) take CSV with a header line and find columns **by
//! name, in any order**; an unknown or duplicated column is an error that lists the accepted ones. Cells
//! are trimmed of surrounding spaces;
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
//! the [`JobSpec`](models::workload::JobSpec)s it yields.
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
//!
//! # Date-times in the Azure, Philly and Helios traces
//!
//! These traces write instants as `YYYY-MM-DD HH:MM:SS`, optionally followed by `.` and 1 to 9 digits of a
//! fraction of a second (`2023-11-16 18:17:03.9799600`). They are parsed by hand into exact integer
//! nanoseconds (no floating point; proleptic Gregorian calendar, years 0000–9999, no time zone, no leap
//! second) and each trace is shifted so that its first job or request is at simulated time 0. Anything
//! else is an error naming the expected shape; an impossible field is named too: month 13, February 30,
//! hour 24, minute or second 60, or more than 9 fractional digits (finer than a nanosecond, so not exact).
//!
//! # Azure LLM inference trace 2023 ([`read_azure_llm`])
//!
//! `AzureLLMInferenceTrace_code.csv` and `AzureLLMInferenceTrace_conv.csv` from Azure/AzurePublicDataset
//! ("Splitwise", Patel et al., ISCA 2024; CC-BY 4.0): one LLM inference request per row, header
//! `TIMESTAMP,ContextTokens,GeneratedTokens`, all three required. Each row becomes an [`LlmRequest`]:
//!
//! | column            | → `LlmRequest`                                                                 |
//! |-------------------|--------------------------------------------------------------------------------|
//! | `TIMESTAMP`       | `arrival`: nanoseconds since the first row's `TIMESTAMP` (the first request arrives at 0) |
//! | `ContextTokens`   | `prompt_tokens`, a whole number ≥ 1                                            |
//! | `GeneratedTokens` | `output_tokens`, a whole number ≥ 1                                            |
//!
//! - Rows must be in non-decreasing `TIMESTAMP` order (equal times are fine); an earlier time than the
//!   previous row's is an error at that row, naming the previous row's line.
//! - A token count of 0 is an error: every request reads at least one prompt token and generates at least
//!   its first token. Neither real file has a 0 in either column, so nothing real is refused.
//! - Token counts above `u32::MAX`, negative or fractional counts and empty cells are errors.
//!
//! Facts about the real files (all rows CRLF-terminated except the last; 7 fractional digits everywhere;
//! all on 2023-11-16; no decreasing timestamps; no zero token counts):
//!
//! | file                              | requests | Σ `ContextTokens` | Σ `GeneratedTokens` | last arrival        |
//! |-----------------------------------|----------|-------------------|---------------------|---------------------|
//! | `AzureLLMInferenceTrace_code.csv` | 8,819    | 18,059,974        | 245,896             | 3,435.948056 s      |
//! | `AzureLLMInferenceTrace_conv.csv` | 19,366   | 22,361,870        | 4,088,665           | 3,501.721937 s      |
//!
//! # Philly job log ([`read_philly`])
//!
//! `cluster_job_log` from msr-fiddle/philly-traces ("Analysis of Large-Scale Multi-Tenant GPU Clusters for
//! DNN Training Workloads", Jeon et al., USENIX ATC 2019) is **JSON**, not CSV: an array of job objects
//!
//! ```text
//! [{"status": "Pass", "vc": "ee9e8c", "jobid": "application_1506638472019_14199", "user": "ce2f4c",
//!   "submitted_time": "2017-10-07 01:11:39",
//!   "attempts": [{"start_time": "2017-10-07 01:12:09", "end_time": "2017-10-07 01:13:23",
//!                 "detail": [{"ip": "m47", "gpus": ["gpu0", "gpu1"]}]}, …]}, …]
//! ```
//!
//! | key                              | required | → `JobSpec`                                                       |
//! |----------------------------------|----------|-------------------------------------------------------------------|
//! | `jobid`                          | yes      | `name` (empty: none)                                              |
//! | `submitted_time`                 | yes      | `submit`, relative to the earliest `submitted_time` of the replayed jobs |
//! | `attempts`                       | yes      | the **last** attempt gives the duration and the GPUs; earlier (failed or preempted) attempts are only checked for well-formed times |
//! | `attempts[].start_time`          | yes      | `duration` = last attempt's `end_time − start_time`                |
//! | `attempts[].end_time`            | yes      | (see `start_time`)                                                |
//! | `attempts[].detail[].gpus`       | yes      | `gpus` = the number of GPU names in all `detail` entries of the last attempt; `gpu_milli` = 1000 (0 when no GPU is listed) |
//! | `attempts[].detail[].ip`, `status`, `vc`, `user`, other keys | no | ignored                                 |
//!
//! - A time may be `"None"`, `null` or `""`: not recorded. Any other string must be a date-time as above.
//! - **Left out, and counted** in [`PhillyLog`] (`no_attempts`, `no_start`, `unfinished`): jobs with no
//!   attempt (never scheduled), jobs whose last attempt has no `start_time` (a logging gap, per the trace's
//!   README), and jobs whose last attempt has no `end_time` (still running when the log was taken). Their
//!   run time is unknown, so they cannot be replayed; dropping them is reported, not silent.
//! - The duration is the run time of the job's final attempt only: the real cluster's queueing delay and
//!   its earlier attempts are left to the simulated scheduler. (The trace's analysis notebook measures
//!   run time from the *first* attempt's start instead, which includes the retries and the waits between
//!   them.) A duration of 0 is legal.
//! - The log is not guaranteed to be sorted: jobs are returned sorted by `submit`, stably (log order among
//!   equal times). The jobs' `status` (`Pass`, `Killed`, `Failed`) does not matter: each one held its GPUs.
//! - Errors are at a line and column ([`Location::LineCol`](crate::error::Location::LineCol), the column of
//!   the last character serde_json read): JSON syntax, wrong types and missing keys; a malformed time (at
//!   its closing quote); a replayed job without `submitted_time`, or whose last attempt ends before it
//!   starts, or that makes the log span more than the ≈ 584-year range of simulated time (at the job's
//!   closing `}`, naming its `jobid`). An empty file, `[]`, or a log of which no job can be replayed is
//!   reported for the whole file ([`Location::File`](crate::error::Location::File)).
//!
//! # Helios job log ([`read_helios`])
//!
//! `cluster_log.csv` of each cluster (Earth, Saturn, Uranus, Venus) in S-Lab-System-Group/HeliosData
//! ("Characterization and Prediction of Deep Learning Workloads in Large-Scale GPU Datacenters", Hu et al.,
//! SC 2021; CC-BY 4.0), header
//! `job_id,user,vc,gpu_num,cpu_num,node_num,state,submit_time,start_time,end_time,duration,queue`; times are
//! date-times as above (whole seconds), `duration` and `queue` whole seconds.
//!
//! | column        | required | → `JobSpec`                                                          |
//! |---------------|----------|----------------------------------------------------------------------|
//! | `job_id`      | yes      | `name` (empty: none)                                                 |
//! | `gpu_num`     | yes      | `gpus`; `gpu_milli` = 1000 (whole GPUs), or 0 when `gpu_num` = 0 (a CPU-only job) |
//! | `cpu_num`     | yes      | `cpu_milli` = `cpu_num` × 1000                                       |
//! | `submit_time` | yes      | `submit`, relative to the first row's `submit_time`                  |
//! | `duration`    | yes      | `duration`: the job's run time in whole seconds (0 is legal)         |
//! | `user`, `vc`, `node_num`, `state`, `start_time`, `end_time`, `queue` | no | ignored (only checked to be UTF-8) |
//!
//! - The real cluster's queueing delay (`queue`, `start_time − submit_time`) is not replayed; the
//!   simulated scheduler decides when a job starts. Every job is replayed whatever its `state`
//!   (`COMPLETED`, `CANCELLED`, `FAILED`, …): each held its resources for `duration`.
//! - Rows must be in non-decreasing `submit_time` order; an earlier time than the previous row's is an
//!   error at that row, naming the previous row's line. (The real logs are not in `shared/`, so this has
//!   not been checked against them; HeliosArtifact's own simulator sorts them by `submit_time` before use.)
//! - `memory_mib` is 0 and `gpu_models` empty: the log records neither.

mod alibaba;
mod azure;
mod datetime;
mod helios;
mod native;
mod philly;
mod table;

pub use alibaba::{parse_alibaba_nodes, parse_alibaba_pods, read_alibaba_nodes, read_alibaba_pods};
pub use azure::{parse_azure_llm, read_azure_llm};
pub use helios::{parse_helios, read_helios};
pub use models::inference::request::LlmRequest;
pub use native::{parse_native, read_native};
pub use philly::{PhillyLog, parse_philly, read_philly};
