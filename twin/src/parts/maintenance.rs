//! The maintenance part: scheduled windows that take racks down and bring them back (`maintenance` in a
//! scenario). The worked example of adding a part (docs/architecture.md): it owns its schedule and two events,
//! changes shared state only through [`crate::site`] (which announces [`Signal::ServerDown`] and
//! [`Signal::ServerUp`]), and touches no other part: the cluster interrupts and later reschedules jobs, the
//! serving part moves requests, the capping controller sees the demand, all through signals.

use scenario::LoadedScenario;
use scenario::MaintenanceWindow;
use sim::SimTime;

use crate::error::{RunError, duration};
use crate::kernel::{Code, Ctx, EventCode, Interests, Part};
use crate::ledger::Ledger;
use crate::site::{DownCause, bring_up, take_down};

/// Window `window` starts (`down`) or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Edge {
    window: u32,
    down: bool,
}

impl EventCode for Edge {
    fn encode(self) -> Code {
        Code {
            tag: self.down as u8,
            a: self.window,
            b: 0,
        }
    }
    fn decode(c: Code) -> Self {
        Edge {
            window: c.a,
            down: c.tag == 1,
        }
    }
}

/// Maintenance windows and the servers of each.
pub struct Maintenance {
    /// Per window: its start and end, and the servers of its racks.
    windows: Vec<(SimTime, SimTime)>,
    servers: Vec<Vec<u32>>,
    cause: DownCause,
}

impl Maintenance {
    /// The maintenance part of `loaded`, if it schedules any window; `cause`: its own reason for servers down.
    pub fn new(loaded: &LoadedScenario, cause: DownCause) -> Result<Option<Self>, RunError> {
        let list: &[MaintenanceWindow] = &loaded.scenario.maintenance;
        if list.is_empty() {
            return Ok(None);
        }
        let windows = list
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let start = duration(&format!("maintenance[{i}].start_s"), w.start_s)?;
                let length = duration(&format!("maintenance[{i}].duration_s"), w.duration_s)?;
                let start = SimTime::ZERO.saturating_add(start);
                Ok((start, start.saturating_add(length)))
            })
            .collect::<Result<Vec<_>, RunError>>()?;
        let servers = list
            .iter()
            .map(|w| {
                (0..loaded.site.servers.len() as u32)
                    .filter(|&s| w.racks.contains(&loaded.site.servers[s as usize].rack))
                    .collect()
            })
            .collect();
        Ok(Some(Maintenance {
            windows,
            servers,
            cause,
        }))
    }
}

impl Part for Maintenance {
    fn name(&self) -> &'static str {
        "maintenance"
    }

    fn start(&mut self, ctx: &mut Ctx<'_, '_>) {
        for (i, &(start, end)) in self.windows.iter().enumerate() {
            let window = i as u32;
            ctx.at(start, Edge { window, down: true });
            ctx.at(
                end,
                Edge {
                    window,
                    down: false,
                },
            );
        }
    }

    fn interests(&self) -> Interests {
        Interests::NONE
    }

    fn handle(&mut self, ctx: &mut Ctx<'_, '_>, code: Code) {
        let edge = Edge::decode(code);
        let now = ctx.now();
        let (world, mut signals) = ctx.split();
        let (mut d_it, mut d_gpu) = (0.0, 0.0);
        for &s in &self.servers[edge.window as usize] {
            let (a, b) = if edge.down {
                take_down(world, &mut signals, s, self.cause)
            } else {
                bring_up(world, &mut signals, s, self.cause)
            };
            d_it += a;
            d_gpu += b;
        }
        world.resource_mut::<Ledger>().add(now, d_it, d_gpu);
    }
}
