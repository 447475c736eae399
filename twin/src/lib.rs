//! dctwin's composed simulation: a loaded scenario run on the `sim` engine — the cluster of servers, GPUs
//! and jobs with its scheduler ([`datacenter`], with the fabric, preemption, power capping and facility
//! feedback as its parts), LLM inference serving ([`inference`]), a fleet shared by both, and the facility
//! metered around the IT load ([`facility`]). It produces the run's [`output::RunOutput`].
pub mod datacenter;
pub mod facility;
pub mod inference;

pub use datacenter::{JobRecord, SharedEvent, Telemetry, run, run_with_log};
