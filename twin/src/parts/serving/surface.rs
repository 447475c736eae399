//! The serving part of a long-horizon run (docs/models.md §Long-horizon serving): the replicas hold their GPUs as
//! in a full run (first fit), and at the start of every hour their GPUs take the mean activity, and the fleet
//! the busy fraction, that the window of the hour's arrival rate measured. The site, the facility, the weather
//! and the carbon series then run over the horizon as usual; the `inference` section is the windows' combination
//! (`twin::horizon`), with the IT energy per generated token from this run's ledger.

use bevy_ecs::entity::Entity;
use bevy_ecs::world::World;
use models::placement::WHOLE_GPU_MILLI;
use scenario::{LoadedScenario, Workload};
use sim::SimTime;

use super::part::hold;
use crate::error::{RunError, gpu_index};
use crate::kernel::{Code, Ctx, EventCode, Part, Signal};
use crate::ledger::Ledger;
use crate::site::{ServerAccess, Site};
use output::{InferenceSummary, Sample, ServingSample, Summary, WindowSummary};

/// What the windows measured, for the horizon run.
#[derive(Debug, Clone)]
pub struct SurfaceTable {
    /// For each hour of the horizon (from time zero), the index of its window in
    /// `summary.long_horizon.windows`.
    pub hour_window: Vec<u32>,
    /// The combined `inference` section (its `long_horizon` set), but for the IT energy per generated token.
    pub summary: InferenceSummary,
}

/// The start of hour `.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hour(u32);

impl EventCode for Hour {
    fn encode(self) -> Code {
        Code {
            tag: 0,
            a: self.0,
            b: 0,
        }
    }
    fn decode(c: Code) -> Self {
        Hour(c.a)
    }
}

/// The long-horizon serving part.
pub struct Surface {
    table: SurfaceTable,
    windows: Vec<WindowSummary>,
    /// Each replica's server entity and GPU slots.
    place: Vec<(u32, Entity, Vec<u8>)>,
    access: ServerAccess,
    horizon: SimTime,
    /// The fleet's GPUs in milli-GPUs, and the busy milli-GPUs booked on the ledger now.
    fleet_milli: f64,
    busy_milli: i64,
}

impl Surface {
    /// The part for `loaded` (an `Inference` workload in long-horizon mode): places its replicas now, first
    /// fit, held idle until the first hour starts.
    pub fn new(
        loaded: &LoadedScenario,
        world: &mut World,
        horizon: SimTime,
        table: SurfaceTable,
    ) -> Result<Self, RunError> {
        let Workload::Inference(w) = &loaded.scenario.workload else {
            unreachable!("long-horizon mode is an Inference workload's")
        };
        let at = "workload.Inference.deployment";
        let gi = gpu_index(
            &loaded.catalog,
            &format!("{at}.gpu_model"),
            &w.deployment.gpu_model,
        )?;
        let (tp, n) = (w.deployment.tp, w.deployment.replicas);
        let servers = models::inference::placement::place_replicas(&loaded.site, gi, tp, n)
            .map_err(|message| RunError::Input {
                field: at.into(),
                message,
            })?;
        let mut used = vec![0u32; loaded.site.servers.len()];
        let mut place = Vec::with_capacity(servers.len());
        for &s in &servers {
            let first = used[s];
            used[s] += tp;
            let slots: Vec<u8> = (first..first + tp).map(|k| k as u8).collect();
            hold(world, s as u32, &slots, tp, gi);
            place.push((s as u32, world.resource::<Site>().entity(s as u32), slots));
        }
        let windows = table
            .summary
            .long_horizon
            .as_ref()
            .map(|l| l.windows.clone())
            .unwrap_or_default();
        Ok(Surface {
            table,
            windows,
            place,
            access: ServerAccess::new(world),
            horizon,
            fleet_milli: (n * tp) as f64 * WHOLE_GPU_MILLI as f64,
            busy_milli: 0,
        })
    }

    /// The window standing for the hour holding `t` (the last hour's at and past the horizon).
    fn window_at(&self, t: SimTime) -> &WindowSummary {
        let h = (t.as_nanos() / 3_600_000_000_000) as usize;
        let h = h.min(self.table.hour_window.len().saturating_sub(1));
        &self.windows[self.table.hour_window[h] as usize]
    }
}

impl Part for Surface {
    fn name(&self) -> &'static str {
        "serving"
    }

    fn start(&mut self, ctx: &mut Ctx<'_, '_>) {
        ctx.at(SimTime::ZERO, Hour(0));
    }

    fn handle(&mut self, ctx: &mut Ctx<'_, '_>, code: Code) {
        let Hour(k) = Hour::decode(code);
        let now = ctx.now();
        let win = self.windows[self.table.hour_window[k as usize] as usize];
        let (world, mut signals) = ctx.split();
        let (mut d_it, mut d_gpu) = (0.0, 0.0);
        for (server, e, slots) in &self.place {
            let ((), (a, b)) = self.access.update(world, *e, |load| {
                for &s in slots {
                    load.replica_activity[s as usize] = win.gpu_activity_mean;
                }
            });
            d_it += a;
            d_gpu += b;
            signals.emit(Signal::LoadChanged { server: *server });
        }
        let busy = (win.busy_fraction * self.fleet_milli).round() as i64;
        let mut ledger = world.resource_mut::<Ledger>();
        self.access.book_racks(&mut ledger);
        ledger.add(now, d_it, d_gpu);
        ledger.add_busy(now, busy - self.busy_milli);
        self.busy_milli = busy;
        let next = SimTime::from_secs((k as u64 + 1) * 3600);
        if (k as usize + 1) < self.table.hour_window.len() && next < self.horizon {
            ctx.at(next, Hour(k + 1));
        }
    }

    fn sample(&mut self, _world: &mut World, t: SimTime, row: &mut Sample) {
        let w = self.window_at(t);
        row.serving = Some(ServingSample {
            ttft_p50_s: w.ttft_p50_s,
            ttft_p99_s: w.ttft_p99_s,
            tpot_p50_s: w.tpot_p50_s,
            tpot_p99_s: w.tpot_p99_s,
        });
    }

    fn summarize(&mut self, world: &mut World, horizon: SimTime, out: &mut Summary) {
        let mut ledger = world.resource_mut::<Ledger>();
        ledger.advance(horizon);
        let it_j = ledger.it().energy_j();
        let mut s = self.table.summary.clone();
        let generated = s.tokens.generated;
        s.energy.it_per_generated_token_j = if generated == 0 {
            0.0
        } else {
            it_j / generated as f64
        };
        out.inference = Some(s);
    }
}
