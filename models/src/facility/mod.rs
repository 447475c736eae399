//! Facility physics: the building blocks between IT power and what the grid and the water main supply —
//! outdoor weather and psychrometrics, power-delivery losses, the cooling plant, water and carbon/cost.
//!
//! Each submodule has a scenario-facing config (serde, `deny_unknown_fields`, every parameter with a
//! documented default from `../shared/reference/models.md`, a `check()` naming the bad field) and plain,
//! allocation-free physics functions the simulation can call at every hourly weather event and at every
//! power change. Formulas, units, defaults and sources: `docs/models.md` (facility section).
//!
//! - [`weather`]: a [`weather::WeatherSeries`] replayed step-hold and looped over its length (its file readers
//!   are in the scenario crate).
//! - [`psychro`]: wet bulb (Stull 2011), relative humidity from dew point (Magnus).
//! - [`power_chain`]: UPS and PDU/transformer losses with redundancy; rack/row/feed rating flags.
//! - [`cooling`]: chiller (Carnot fraction), towers, pumps and fans (affinity laws), CRAH airflow,
//!   water- and air-side economizers, direct-to-chip liquid to dry coolers.
//! - [`water`]: tower evaporation and blowdown, WUE.
//! - [`carbon`]: grid carbon intensity series, exact operational-carbon integrals, embodied carbon, tariffs.
//! - [`thermal`]: rack inlet temperature of a cooling zone (RC model solved exactly), cooling failures,
//!   the inlet limit above which GPUs throttle.
//! - [`capping`]: DVFS throughput under a power cap, per-GPU caps and rack/row/feed budgets with a
//!   controller acting at an interval, breaker trips.
//! - [`calendar`]: date arithmetic for the date-times facility inputs carry.
//!
//! Their exact integration during a run (the facility meter) and the summary figures are in the `twin` crate.
//!
//! [`FacilityConfig`] gathers them; [`Facility::power`] evaluates the whole chain for one IT power and
//! one weather point.

pub mod calendar;
pub mod capping;
pub mod carbon;
pub mod cooling;
pub mod plant;
pub mod power_chain;
pub mod psychro;
pub mod thermal;
pub mod water;
pub mod weather;

pub use plant::{Facility, FacilityConfig, FacilityPower, pue};
