//! dctwin's datacenter models.
pub mod error;
pub mod output;
pub mod trace;
pub mod workload;
