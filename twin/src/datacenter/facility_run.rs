//! The facility acting on the cluster: GPU thermal throttling and breaker trips (docs/models.md §Rack inlet
//! temperature and §Power capping, "In the run").
//!
//! **Throttling.** When the zone's inlet temperature reaches `thermal.limit_c`, every GPU is limited to
//! `throttle_power_fraction` of its board power ([`PowerLimits`]); jobs slow by the DVFS model. Less GPU power
//! means less heat, and when the inlet has fallen to `limit_c − throttle_hysteresis_k` the limit is lifted.
//! The inlet is the RC zone's closed form, so both crossings are exact: after every event the run schedules a
//! wake-up ([`Event::Facility`]) at the next crossing under the current heat and cooling, or at the next
//! weather step or cooling failure when those can change the answer (a later wake-up replaces it).
//!
//! **Breakers.** A rack or row breaker trips when the (capped) IT power under it exceeds its rating (watched
//! by the capping controller, at every change of demand); the feed breaker trips when the utility input
//! (facility power, cooling included) exceeds `power_chain.ratings.feed_w` (watched by the facility meter, also
//! at weather steps). Everything under a tripped breaker goes down for the rest of the run: its running jobs
//! are interrupted (back to the queue with the work up to their last checkpoint, as a preemption), its
//! servers draw nothing and take no more work. A feed trip takes the whole site dark: IT, power chain, cooling
//! and misc draw nothing from then on.

use bevy_ecs::prelude::*;
use sim::{Scheduler, SimTime};

use super::capping_run::{CappingRun, PowerLimits, apply_limits, observe_if_stale};
use super::{
    Down, Event, Job, Meters, SiteIndex, add_it_power, apply_job, network, preempt, schedule_pass,
};
use models::facility::capping::Level;
use models::placement::{ANY_MODEL, Grant, HELD_IDLE, JobReq, ServerLoad, WHOLE_GPU_MILLI};
use models::power::ServerPower;
use output::{BreakerSummary, FacilitySummary, TripLevel, TripRecord};
use scenario::LoadedScenario;

/// A state flip is taken when the inlet is within this of its threshold, K (rounding of the crossing time to
/// whole nanoseconds).
const CROSSING_TOLERANCE_K: f64 = 1e-6;

/// Throttling and breaker state of a cluster run with a facility.
#[derive(Resource)]
pub(super) struct FacilityRun {
    limit_c: f64,
    release_c: f64,
    throttle_fraction: f64,
    /// Weather steps can change the zone (a failure is configured) or trip the feed (it has a rating).
    watch_weather: bool,
    has_breakers: bool,
    horizon: SimTime,
    /// GPUs not down, and ∫ throttled GPUs dt (GPU·s) up to `last`.
    gpus_up: u64,
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
    /// Controller trips acted on so far; whether the feed is down.
    seen_trips: usize,
    feed_down: bool,
    trips: Vec<TripRecord>,
    servers_down: u64,
    gpus_down: u64,
    jobs_interrupted: u64,
}

impl FacilityRun {
    /// The facility's feedback for a cluster run of `loaded` (scenarios with a `facility`).
    pub(super) fn new(loaded: &LoadedScenario, horizon: SimTime) -> Option<Self> {
        let lf = loaded.facility.as_ref()?;
        let th = &lf.config.thermal;
        let r = lf.facility.chain.ratings;
        Some(FacilityRun {
            limit_c: th.limit_c,
            release_c: th.limit_c - th.throttle_hysteresis_k,
            throttle_fraction: th.throttle_power_fraction,
            watch_weather: !th.failures.is_empty() || r.feed_w.is_some(),
            has_breakers: r.rack_w.is_some() || r.row_w.is_some() || r.feed_w.is_some(),
            horizon,
            gpus_up: loaded.site.gpus_total(),
            throttled: false,
            throttled_gpu_s: 0.0,
            episodes: 0,
            last: SimTime::ZERO,
            wake: None,
            wake_no: 0,
            zone_inputs: (f64::NAN, f64::NAN, false),
            wake_stale: true,
            seen_trips: 0,
            feed_down: false,
            trips: Vec::new(),
            servers_down: 0,
            gpus_down: 0,
            jobs_interrupted: 0,
        })
    }

    fn account(&mut self, now: SimTime) {
        if self.throttled {
            self.throttled_gpu_s += self.gpus_up as f64 * (now - self.last).as_secs_f64();
        }
        self.last = now;
    }
}

/// The `Facility` event: a wake-up that is still current is used up (the state is then re-evaluated by
/// [`after_event`]).
pub(super) fn on_wake(world: &mut World, wake_no: u32) {
    if let Some(mut f) = world.get_resource_mut::<FacilityRun>()
        && f.wake_no == wake_no
    {
        f.wake = None;
        f.wake_stale = true;
    }
}

/// After every event: acts on new breaker trips, flips throttling at a crossing, and schedules the next
/// wake-up.
pub(super) fn after_event<E: From<Event>>(world: &mut World, sched: &mut Scheduler<E>) {
    let Some(mut fr) = world.remove_resource::<FacilityRun>() else {
        return;
    };
    if fr.has_breakers {
        breakers(world, sched, &mut fr);
    }
    throttle(world, sched, &mut fr);
    world.insert_resource(fr);
}

/// Acts on trips until there are no new ones (interrupted jobs may restart elsewhere and trip that breaker
/// too).
fn breakers<E: From<Event>>(world: &mut World, sched: &mut Scheduler<E>, fr: &mut FacilityRun) {
    while breakers_once(world, sched, fr) {}
}

/// The summary's name for a level of the power hierarchy.
fn trip_level(level: Level) -> TripLevel {
    match level {
        Level::Rack(r) => TripLevel::Rack(r),
        Level::Row(r) => TripLevel::Row(r),
        Level::Feed => TripLevel::Feed,
    }
}

fn breakers_once<E: From<Event>>(
    world: &mut World,
    sched: &mut Scheduler<E>,
    fr: &mut FacilityRun,
) -> bool {
    let now = sched.now();
    let mut take: Vec<usize> = Vec::new();
    if let Some(run) = world.get_resource::<CappingRun>() {
        let trips = run.ctl.trips();
        if trips.len() > fr.seen_trips {
            for &(t, level) in &trips[fr.seen_trips..] {
                fr.trips.push(TripRecord {
                    time_s: t,
                    level: trip_level(level),
                });
            }
            fr.seen_trips = trips.len();
            take.extend((0..run.rack_of.len()).filter(|&i| run.ctl.tripped(run.rack_of[i])));
        }
    }
    let feed_trip = !fr.feed_down
        && world
            .resource::<Meters>()
            .facility
            .as_ref()
            .is_some_and(|m| m.totals().feed_trip_s.is_some());
    if feed_trip {
        fr.feed_down = true;
        let t = world
            .resource::<Meters>()
            .facility
            .as_ref()
            .unwrap()
            .totals()
            .feed_trip_s;
        fr.trips.push(TripRecord {
            time_s: t.unwrap_or(now.as_secs_f64()),
            level: trip_level(Level::Feed),
        });
        take = (0..world.resource::<SiteIndex>().servers.len()).collect();
    }
    if take.is_empty() {
        return false;
    }
    fr.account(now);
    for i in take {
        take_down(world, sched, fr, i);
    }
    if feed_trip && let Some(m) = &mut world.resource_mut::<Meters>().facility {
        m.shut_down(now);
    }
    schedule_pass(world, sched);
    network::reprice_if_dirty(world, sched);
    observe_if_stale(world, now);
    true
}

/// Takes server `i` down: interrupts its jobs, holds all its capacity, and drops its power to zero.
fn take_down<E: From<Event>>(
    world: &mut World,
    sched: &mut Scheduler<E>,
    fr: &mut FacilityRun,
    i: usize,
) {
    let now = sched.now();
    let e = world.resource::<SiteIndex>().servers[i];
    if world.get::<Down>(e).is_some() {
        return;
    }
    let victims: Vec<Entity> = {
        let mut q = world.query::<(Entity, &Job)>();
        q.iter(world)
            .filter(|(_, j)| j.start.is_some() && j.grants.iter().any(|g| g.server as usize == i))
            .map(|(e, _)| e)
            .collect()
    };
    for v in victims {
        preempt::preempt(world, v, now);
        fr.jobs_interrupted += 1;
    }
    let load = world.get::<ServerLoad>(e).expect("server entity").clone();
    let mut grants: Vec<Grant> = (0..load.gpus)
        .filter(|&s| load.used_milli[s as usize] < WHOLE_GPU_MILLI)
        .map(|s| Grant {
            server: i as u32,
            slot: s,
            milli: WHOLE_GPU_MILLI - load.used_milli[s as usize],
        })
        .collect();
    if grants.is_empty() {
        // Host capacity only (every GPU held by inference replicas).
        grants.push(Grant {
            server: i as u32,
            slot: 0,
            milli: 0,
        });
    }
    let req = JobReq {
        gpus: grants.len() as u32,
        gpu_milli: WHOLE_GPU_MILLI,
        cpu_milli: load.free_cpu_milli,
        memory_mib: load.free_memory_mib,
        model_mask: ANY_MODEL,
        multi_server: false,
        activity_milli: HELD_IDLE,
    };
    apply_job(world, &grants, &req, true, SimTime::MAX);
    let mut em = world.entity_mut(e);
    em.insert(Down);
    let mut p = em.get_mut::<ServerPower>().expect("server entity");
    let (d_it, d_gpu) = (-p.input_w, -p.gpu_w);
    *p = ServerPower::default();
    add_it_power(world, now, d_it, d_gpu);
    fr.servers_down += 1;
    fr.gpus_down += load.gpus as u64;
    fr.gpus_up -= load.gpus as u64;
}

fn throttle<E: From<Event>>(world: &mut World, sched: &mut Scheduler<E>, fr: &mut FacilityRun) {
    let now = sched.now();
    let now_s = now.as_secs_f64();
    let Some(inlet) = world
        .resource::<Meters>()
        .facility
        .as_ref()
        .filter(|m| !m.is_dark())
        .map(|m| m.zone().inlet_c(now_s))
    else {
        if fr.throttled {
            fr.account(now);
            fr.throttled = false;
        }
        return;
    };
    let flip = if fr.throttled {
        inlet <= fr.release_c + CROSSING_TOLERANCE_K
    } else {
        inlet >= fr.limit_c - CROSSING_TOLERANCE_K
    };
    if flip {
        fr.account(now);
        fr.throttled = !fr.throttled;
        if fr.throttled {
            fr.episodes += 1;
        }
        world.resource_mut::<PowerLimits>().throttle_fraction =
            fr.throttled.then_some(fr.throttle_fraction);
        apply_limits(world, sched);
    }
    // The next wake-up, recomputed when the zone's inputs changed (or the pending one was used up).
    let m = world
        .resource::<Meters>()
        .facility
        .as_ref()
        .expect("checked above");
    let z = m.zone();
    let inputs = (z.heat_w(), z.conductance_w_k(), fr.throttled);
    if !fr.wake_stale && inputs == fr.zone_inputs {
        return;
    }
    fr.zone_inputs = inputs;
    fr.wake_stale = false;
    let target = if fr.throttled {
        fr.release_c
    } else {
        fr.limit_c
    };
    let mut t = z
        .time_until(now_s, target)
        .map_or(f64::INFINITY, |d| now_s + d);
    t = t.min(if fr.watch_weather {
        m.next_change_s(now_s)
    } else {
        m.thermal().config.next_change_s(now_s)
    });
    if !t.is_finite() || t > fr.horizon.as_secs_f64() {
        fr.wake = None;
        return;
    }
    let at = SimTime::from_nanos(((t * 1e9).ceil() as u64).max(now.as_nanos() + 1));
    if fr.wake == Some(at) || at > fr.horizon {
        return;
    }
    fr.wake_no += 1;
    fr.wake = Some(at);
    sched.at(at, Event::Facility(fr.wake_no).into());
}

/// Fills the facility summary's throttling and breaker figures at the end of the run.
pub(super) fn summarize(world: &mut World, horizon: SimTime, f: &mut FacilitySummary) {
    let Some(mut fr) = world.remove_resource::<FacilityRun>() else {
        return;
    };
    fr.account(horizon);
    f.thermal.throttled_gpu_s = fr.throttled_gpu_s;
    f.thermal.throttle_episodes = fr.episodes;
    if fr.has_breakers {
        f.breakers = Some(BreakerSummary {
            trips: fr.trips.clone(),
            servers_down: fr.servers_down,
            gpus_down: fr.gpus_down,
            jobs_interrupted: fr.jobs_interrupted,
        });
    }
    world.insert_resource(fr);
}
