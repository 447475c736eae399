//! The facility during a run: exact integration of the facility models between events ([`meter`]) and the
//! summary figures ([`report`]).

pub mod meter;
pub mod report;

pub use meter::{FacilityMeter, FacilityTotals, meter_for};
