//! dctwin's discrete-event engine (work in progress).
mod time;
pub use time::{NANOS_PER_SEC, SimDuration, SimTime};
