//! Hardware reliability: component classes that fail (GPUs, HBM, links, hosts, leaf and spine switches, rack
//! PDUs and power shelves), their lifetimes and repair times, repair crews and hot spares, and the closed forms of
//! checkpoint/restart (Young, Daly). docs/models.md §Failures and repairs, §Checkpoint interval.

mod checkpoint;
mod config;
mod domains;
mod lifetime;
#[cfg(test)]
mod tests;

pub use checkpoint::{daly_expected_wall_s, daly_interval_s, young_interval_s};
pub use config::{
    ClassConfig, Component, FailureConfig, FailureRecord, MAX_SPARES, Scope, Spares,
    default_classes,
};
pub use domains::Domains;
pub use lifetime::{HOURS_PER_YEAR, Lifetime, MAX_MTBF_H, MAX_REPAIR_H, MIN_MTBF_H, RepairTime};
