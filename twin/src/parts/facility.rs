//! The facility part: what the facility does to the IT load (docs/models.md §Rack inlet temperature and §Power
//! capping, "In the run"). The facility's energy, water, carbon and cost are metered by the ledger.
//!
//! **Throttling.** When the zone's inlet temperature reaches `thermal.limit_c`, every GPU is limited to
//! `throttle_power_fraction` of its board power (a limit source on the site); the work on it slows by its own
//! DVFS model. Less GPU power means less heat, and when the inlet has fallen to `limit_c −
//! throttle_hysteresis_k` the limit is lifted. The inlet is the RC zone's closed form, so both crossings are
//! exact: after every event the part schedules a wake-up at the next crossing under the current heat and
//! cooling, or at the next weather step or cooling failure when those can change the answer (a later wake-up
//! replaces it).
//!
//! **Feed breaker.** When the utility input (facility power, cooling included) exceeds
//! `power_chain.ratings.feed_w` (watched by the facility meter, also at weather steps), the whole site goes
//! dark: every server goes down (its work stops), and IT, power chain, cooling and misc draw nothing from then
//! on. Weather, carbon intensity and prices keep advancing.

use bevy_ecs::world::World;
use models::facility::capping::Level;
use models::power::ServerPowerModel;
use scenario::LoadedScenario;
use sim::SimTime;

use crate::kernel::{Code, Ctx, EventCode, Interests, Part};
use crate::ledger::Ledger;
use crate::site::{DownCause, LimitSource, Site, set_limits, take_down};
use crate::trips::Trips;
use output::Summary;

/// A state flip is taken when the inlet is within this of its threshold, K (rounding of the crossing time to
/// whole nanoseconds).
const CROSSING_TOLERANCE_K: f64 = 1e-6;

/// The facility part's one event: a wake-up (stale unless it is still the current one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Wake(u32);

impl EventCode for Wake {
    fn encode(self) -> Code {
        Code {
            tag: 0,
            a: self.0,
            b: 0,
        }
    }
    fn decode(c: Code) -> Self {
        Wake(c.a)
    }
}

/// Throttling and feed state.
pub struct FacilityPart {
    limit_c: f64,
    release_c: f64,
    throttle_fraction: f64,
    source: LimitSource,
    cause: DownCause,
    /// Weather steps can change the zone (a failure is configured) or trip the feed (it has a rating).
    watch_weather: bool,
    horizon: SimTime,
    throttled: bool,
    throttled_gpu_s: f64,
    episodes: u64,
    last: SimTime,
    /// The pending wake-up and its number; the zone inputs it was computed for, and whether it must be
    /// computed again (it was used up).
    wake: Option<SimTime>,
    wake_no: u32,
    zone_inputs: (f64, f64, bool),
    wake_stale: bool,
    feed_down: bool,
}

impl FacilityPart {
    /// The facility part of `loaded` (scenarios with a `facility`); `source`: its GPU limits (throttling);
    /// `cause`: the feed trip.
    pub fn new(
        loaded: &LoadedScenario,
        horizon: SimTime,
        source: LimitSource,
        cause: DownCause,
    ) -> Option<Self> {
        let lf = loaded.facility.as_ref()?;
        let th = &lf.config.thermal;
        let r = lf.facility.chain.ratings;
        Some(FacilityPart {
            limit_c: th.limit_c,
            release_c: th.limit_c - th.throttle_hysteresis_k,
            throttle_fraction: th.throttle_power_fraction,
            source,
            cause,
            watch_weather: !th.failures.is_empty() || r.feed_w.is_some(),
            horizon,
            throttled: false,
            throttled_gpu_s: 0.0,
            episodes: 0,
            last: SimTime::ZERO,
            wake: None,
            wake_no: 0,
            zone_inputs: (f64::NAN, f64::NAN, false),
            wake_stale: true,
            feed_down: false,
        })
    }

    /// ∫ GPUs up dt while throttled, up to `now`.
    fn account(&mut self, world: &World, now: SimTime) {
        if self.throttled {
            let gpus_up = world.resource::<Site>().gpus_up();
            self.throttled_gpu_s += gpus_up as f64 * (now - self.last).as_secs_f64();
        }
        self.last = now;
    }

    /// The feed breaker tripped (the meter saw it): every server goes down and the site goes dark.
    fn feed_trip(&mut self, ctx: &mut Ctx<'_, '_>) {
        let now = ctx.now();
        let trip_s = {
            let ledger = ctx.world.resource::<Ledger>();
            match ledger.facility().and_then(|m| m.totals().feed_trip_s) {
                Some(t) if !self.feed_down => t,
                _ => return,
            }
        };
        self.feed_down = true;
        self.account(ctx.world, now);
        let n = ctx.world.resource::<Site>().len() as u32;
        let (world, mut signals) = ctx.split();
        let (mut d_it, mut d_gpu) = (0.0, 0.0);
        let mut downed = (0u64, 0u64);
        for s in 0..n {
            if world.resource::<Site>().is_up(s) {
                downed.0 += 1;
                downed.1 += world.resource::<Site>().gpus(s) as u64;
            }
            let (a, b) = take_down(world, &mut signals, s, self.cause);
            d_it += a;
            d_gpu += b;
        }
        let mut ledger = world.resource_mut::<Ledger>();
        ledger.add(now, d_it, d_gpu);
        ledger.go_dark(now);
        world
            .resource_mut::<Trips>()
            .record(trip_s, Level::Feed, downed.0, downed.1);
    }

    /// Flips throttling at a crossing, and schedules the next wake-up.
    fn throttle(&mut self, ctx: &mut Ctx<'_, '_>) {
        let now = ctx.now();
        let now_s = now.as_secs_f64();
        let inlet = ctx
            .world
            .resource::<Ledger>()
            .facility()
            .filter(|m| !m.is_dark())
            .map(|m| m.zone().inlet_c(now_s));
        let Some(inlet) = inlet else {
            if self.throttled {
                self.account(ctx.world, now);
                self.throttled = false;
            }
            return;
        };
        let flip = if self.throttled {
            inlet <= self.release_c + CROSSING_TOLERANCE_K
        } else {
            inlet >= self.limit_c - CROSSING_TOLERANCE_K
        };
        if flip {
            self.account(ctx.world, now);
            self.throttled = !self.throttled;
            if self.throttled {
                self.episodes += 1;
            }
            self.apply_throttle(ctx);
        }
        self.schedule_wake(ctx);
    }

    /// Sets (or lifts) the throttle limit on every GPU of the site.
    fn apply_throttle(&mut self, ctx: &mut Ctx<'_, '_>) {
        let now = ctx.now();
        let n = ctx.world.resource::<Site>().len() as u32;
        let (world, mut signals) = ctx.split();
        let (mut d_it, mut d_gpu) = (0.0, 0.0);
        let mut caps = [f64::INFINITY; models::placement::MAX_GPUS_PER_SERVER as usize];
        for s in 0..n {
            if self.throttled {
                let e = world.resource::<Site>().entity(s);
                let board = world
                    .get::<ServerPowerModel>(e)
                    .expect("server entity")
                    .gpu_board_w;
                caps.fill(self.throttle_fraction * board);
            } else {
                caps.fill(f64::INFINITY);
            }
            let (a, b) = set_limits(world, &mut signals, s, self.source, &caps);
            d_it += a;
            d_gpu += b;
        }
        world.resource_mut::<Ledger>().add(now, d_it, d_gpu);
    }

    /// The next wake-up, recomputed when the zone's inputs changed (or the pending one was used up).
    fn schedule_wake(&mut self, ctx: &mut Ctx<'_, '_>) {
        let now = ctx.now();
        let now_s = now.as_secs_f64();
        let at = {
            let ledger = ctx.world.resource::<Ledger>();
            let m = ledger
                .facility()
                .expect("a facility part implies a facility meter");
            let z = m.zone();
            let inputs = (z.heat_w(), z.conductance_w_k(), self.throttled);
            if !self.wake_stale && inputs == self.zone_inputs {
                return;
            }
            self.zone_inputs = inputs;
            self.wake_stale = false;
            let target = if self.throttled {
                self.release_c
            } else {
                self.limit_c
            };
            let mut t = z
                .time_until(now_s, target)
                .map_or(f64::INFINITY, |d| now_s + d);
            t = t.min(if self.watch_weather {
                m.next_change_s(now_s)
            } else {
                m.thermal().config.next_change_s(now_s)
            });
            if !t.is_finite() || t > self.horizon.as_secs_f64() {
                self.wake = None;
                return;
            }
            SimTime::from_nanos(((t * 1e9).ceil() as u64).max(now.as_nanos() + 1))
        };
        if self.wake == Some(at) || at > self.horizon {
            return;
        }
        self.wake_no += 1;
        self.wake = Some(at);
        ctx.at(at, Wake(self.wake_no));
    }
}

impl Part for FacilityPart {
    fn name(&self) -> &'static str {
        "facility"
    }

    fn interests(&self) -> Interests {
        Interests::NONE
    }

    fn handle(&mut self, _ctx: &mut Ctx<'_, '_>, code: Code) {
        // A wake-up that is still current is used up; the state is re-evaluated when the part settles.
        if Wake::decode(code).0 == self.wake_no {
            self.wake = None;
            self.wake_stale = true;
        }
    }

    fn settle(&mut self, ctx: &mut Ctx<'_, '_>) {
        // The meter steps through weather changes and cooling failures up to now (the zone's state now).
        let now = ctx.now();
        ctx.world.resource_mut::<Ledger>().advance(now);
        self.feed_trip(ctx);
        self.throttle(ctx);
    }

    fn summarize(&mut self, world: &mut World, horizon: SimTime, out: &mut Summary) {
        self.account(world, horizon);
        if let Some(f) = out.facility.as_mut() {
            f.thermal.throttled_gpu_s = self.throttled_gpu_s;
            f.thermal.throttle_episodes = self.episodes;
        }
    }
}
