//! dctwin's datacenter models: pure physics and the configs that parameterise it — the hardware catalog,
//! the site's servers, server power, placement, workloads (jobs, distributions, synthetic streams), training
//! step time, the network fabric, LLM inference performance and power caps, and the facility (weather,
//! psychrometrics, power chain, cooling, water, carbon and cost, rack inlet temperature, power capping).
//!
//! Nothing here reads files or runs a simulation: the `scenario` crate loads configs and data into these
//! types, the `twin` crate runs them on the `sim` engine. Each module models one thing; a config's `check`
//! names a bad field with a [`check::FieldError`]. Formulas, units and sources are in `docs/models.md`.
pub mod catalog;
pub mod check;
pub mod facility;
pub mod host;
pub mod inference;
pub mod network;
pub mod placement;
pub mod power;
pub mod reliability;
pub mod site;
pub mod storage;
pub mod training;
pub mod workload;
