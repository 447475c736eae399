//! The maintenance part: scheduled windows that take racks down and bring them back (`maintenance` in a
//! scenario). The worked example of adding a part (docs/architecture.md): it owns its schedule and two events,
//! changes shared state only through [`crate::site`] (which announces [`Signal::ServerDown`] and
//! [`Signal::ServerUp`]), and touches no other part: the cluster interrupts and later reschedules jobs, the
//! serving part moves requests, the capping controller sees the demand, all through signals.

use scenario::LoadedScenario;
use scenario::MaintenanceWindow;
use sim::SimTime;

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
    windows: Vec<MaintenanceWindow>,
    servers: Vec<Vec<u32>>,
    cause: DownCause,
}

impl Maintenance {
    /// The maintenance part of `loaded`, if it schedules any window; `cause`: its own reason for servers down.
    pub fn new(loaded: &LoadedScenario, cause: DownCause) -> Option<Self> {
        let windows = loaded.scenario.maintenance.clone();
        if windows.is_empty() {
            return None;
        }
        let servers = windows
            .iter()
            .map(|w| {
                (0..loaded.site.servers.len() as u32)
                    .filter(|&s| w.racks.contains(&loaded.site.servers[s as usize].rack))
                    .collect()
            })
            .collect();
        Some(Maintenance {
            windows,
            servers,
            cause,
        })
    }
}

impl Part for Maintenance {
    fn name(&self) -> &'static str {
        "maintenance"
    }

    fn start(&mut self, ctx: &mut Ctx<'_, '_>) {
        for (i, w) in self.windows.iter().enumerate() {
            let start = SimTime::from_secs_f64(w.start_s).expect("validated");
            let end = SimTime::from_secs_f64(w.start_s + w.duration_s).expect("validated");
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
