//! Workloads: job requests and the generators and traces that produce them.
pub mod job;
pub use job::{JobSpec, NodeSpec};
