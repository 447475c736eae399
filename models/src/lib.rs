//! dctwin's datacenter models: the hardware catalog, the site layout, server power, placement, workloads
//! and traces, the scenario format, and the datacenter simulation that ties them to the `sim` engine.
//!
//! Each module models one thing; formulas, units and sources are in `docs/models.md`.
pub mod catalog;
pub mod check;
pub mod error;
pub mod facility;
pub mod inference;
pub mod network;
pub mod placement;
pub mod power;
pub mod readers;
pub mod scenario;
pub mod site;
pub mod trace;
pub mod training;
pub mod workload;

pub use error::{InputError, Location};
