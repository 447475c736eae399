//! A job request: what a trace row or a synthetic generator produces, before placement.

use sim::{SimDuration, SimTime};

/// One job (a training job, a batch task, an Alibaba pod) asking for GPUs for a time.
///
/// Resource semantics:
/// - `gpus` whole GPUs, each needing `gpu_milli` thousandths of a GPU (1000 = the whole GPU).
///   A shared-GPU job has `gpus == 1` and `gpu_milli < 1000`; a CPU-only job has `gpus == 0`, `gpu_milli == 0`.
/// - `cpu_milli` and `memory_mib` are the job's host needs (0 when the trace does not say).
/// - `gpu_models`: the GPU models the job may run on; empty means any.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobSpec {
    pub name: Option<String>,
    pub submit: SimTime,
    pub duration: SimDuration,
    pub gpus: u32,
    pub gpu_milli: u32,
    pub cpu_milli: u64,
    pub memory_mib: u64,
    pub gpu_models: Vec<String>,
    /// Scheduling priority under the `Priority` queue (higher first; may preempt lower). Default 0.
    pub priority: u8,
}

impl JobSpec {
    /// A job needing `gpus` whole GPUs and nothing else.
    pub fn whole_gpus(submit: SimTime, duration: SimDuration, gpus: u32) -> Self {
        JobSpec {
            name: None,
            submit,
            duration,
            gpus,
            gpu_milli: if gpus == 0 { 0 } else { 1000 },
            cpu_milli: 0,
            memory_mib: 0,
            gpu_models: Vec::new(),
            priority: 0,
        }
    }

    /// GPU demand in thousandths of a GPU (gpus × gpu_milli).
    pub fn gpu_milli_total(&self) -> u64 {
        self.gpus as u64 * self.gpu_milli as u64
    }
}

/// One server of a node-list trace (e.g. Alibaba's `openb_node_list_gpu_node.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    pub name: String,
    pub cpu_milli: u64,
    pub memory_mib: u64,
    pub gpus: u32,
    /// GPU model name as the trace spells it; looked up in the GPU catalog.
    pub model: String,
}
