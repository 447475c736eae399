//! The cluster part: jobs arriving from a trace or a generator, a queue (FIFO, shortest-job-first, priority
//! with preemption, EASY backfilling) over a placement policy (first fit, best fit, topology-aware), and, in a
//! shared fleet, the GPUs of inference replicas (docs/models.md §Scheduling policies, §Shared fleet).

mod backlog;
mod claims;
mod cycle;
mod index;
mod job;
mod part;
mod preempt;
mod report;
mod rules;
mod schedule;
mod speed;
mod state;
mod stream;
#[cfg(test)]
mod tests;

pub use job::{JobLog, JobRecord};
pub use state::Jobs;
