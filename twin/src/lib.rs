//! # twin — dctwin's composed simulation
//!
//! One run loop for every scenario: the scenario decides which *parts* exist (cluster scheduling, inference
//! serving, the network fabric, power capping, the facility, maintenance), and the parts share one site, one
//! work registry and one energy ledger, and affect each other only through typed signals delivered in a
//! written order (docs/architecture.md).
//!
//! - [`kernel`]: the part interface, events, signals and the run loop; it knows nothing of datacenters.
//! - Shared state: [`site`] (servers as bevy_ecs entities: load, limits, draw, availability), [`work`] (what
//!   runs where), [`ledger`] (the one energy meter, with the facility meter of [`facility`]), [`trips`].
//! - [`parts`]: one model each.
//! - [`run`] / [`run_with_log`]: compose a loaded scenario's parts, run them, and assemble the summary.
pub mod error;
pub mod estimate;
pub mod facility;
pub mod kernel;
pub mod ledger;
pub mod parts;
pub mod site;
pub mod trips;
pub mod work;

mod compose;
mod entry;
mod horizon;
mod tables;

pub use compose::{DEFAULT_MAX_EVENTS, RunOptions};
pub use entry::{run, run_with, run_with_log, run_with_requests};
pub use error::RunError;
pub use estimate::{Estimate, estimate};
pub use parts::jobs::JobRecord;
