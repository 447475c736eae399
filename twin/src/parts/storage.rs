//! The storage part: the shared storage system checkpoints go to (`storage` in a scenario; docs/models.md
//! §Storage and checkpoint size). Its bandwidth sets training jobs' checkpoint write and restart read times
//! (resolved at load, each job alone on the system); here it draws its power, counted in IT power, and reports.
//! Contention between jobs writing at once is not modelled yet.

use bevy_ecs::world::World;
use models::storage::StorageConfig;
use output::{StorageSummary, Summary};
use scenario::LoadedScenario;
use sim::SimTime;

use crate::kernel::{Ctx, Interests, Part};
use crate::ledger::Ledger;

/// The storage system.
pub struct Storage {
    cfg: StorageConfig,
}

impl Storage {
    /// The storage part of `loaded`, if it has a `storage` section.
    pub fn new(loaded: &LoadedScenario) -> Option<Self> {
        loaded.scenario.storage.map(|cfg| Storage { cfg })
    }
}

impl Part for Storage {
    fn name(&self) -> &'static str {
        "storage"
    }

    fn start(&mut self, ctx: &mut Ctx<'_, '_>) {
        let now = ctx.now();
        if self.cfg.power_w > 0.0 {
            ctx.world
                .resource_mut::<Ledger>()
                .add_other(now, self.cfg.power_w);
        }
    }

    fn interests(&self) -> Interests {
        Interests::NONE
    }

    fn summarize(&mut self, _world: &mut World, horizon: SimTime, out: &mut Summary) {
        out.storage = Some(StorageSummary {
            write_gbs: self.cfg.write_gbs,
            read_gbs: self.cfg.read_gbs,
            server_link_gbs: self.cfg.server_link_gbs,
            power_w: self.cfg.power_w,
            energy_j: self.cfg.power_w * horizon.as_secs_f64(),
        });
    }
}
