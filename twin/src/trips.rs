//! Breaker trips seen in a run: which levels tripped when, and what went down with them. Parts that watch
//! breakers record here; the summary reads it.

use bevy_ecs::prelude::Resource;
use models::facility::capping::Level;

use output::{BreakerSummary, TripLevel, TripRecord};

/// The trips of a run, in the order they were acted on.
#[derive(Resource, Debug, Default)]
pub struct Trips {
    trips: Vec<TripRecord>,
    servers_down: u64,
    gpus_down: u64,
}

impl Trips {
    /// Level `level` tripped at `time_s`, taking down `servers` servers with `gpus` GPUs (those not down
    /// already).
    pub fn record(&mut self, time_s: f64, level: Level, servers: u64, gpus: u64) {
        self.trips.push(TripRecord {
            time_s,
            level: match level {
                Level::Rack(r) => TripLevel::Rack(r),
                Level::Row(r) => TripLevel::Row(r),
                Level::Feed => TripLevel::Feed,
            },
        });
        self.servers_down += servers;
        self.gpus_down += gpus;
    }

    /// Every trip, in the order acted on.
    pub fn records(&self) -> &[TripRecord] {
        &self.trips
    }

    /// The `facility.breakers` section; `jobs_interrupted`: jobs stopped by servers going down.
    pub fn summary(&self, jobs_interrupted: u64) -> BreakerSummary {
        BreakerSummary {
            trips: self.trips.clone(),
            servers_down: self.servers_down,
            gpus_down: self.gpus_down,
            jobs_interrupted,
        }
    }
}
