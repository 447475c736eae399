//! The parts of the twin, one model each.

pub mod capping;
pub mod fabric;
pub mod facility;
pub mod failures;
pub mod jobs;
pub mod maintenance;
pub mod serving;
pub mod storage;
