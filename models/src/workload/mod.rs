//! Workloads: job requests and the distributions, generators and traces that produce them.
pub mod dist;
pub mod job;
pub mod source;
pub use job::{JobSpec, NodeSpec};
pub use source::{JobSource, SyntheticJobs};
