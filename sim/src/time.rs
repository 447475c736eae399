//! Integer simulated time. `SimTime` is an instant, `SimDuration` a span, both in nanoseconds held in a `u64`
//! (about 584 years of range). Floating-point seconds appear only at the edges (scenario input, reports).

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// Nanoseconds per second.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

/// An instant of simulated time: nanoseconds since the start of the run.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct SimTime(u64);

/// A span of simulated time in nanoseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct SimDuration(u64);

/// Converts seconds to whole nanoseconds, rounding to nearest; `None` for NaN, negative or out-of-range input.
fn secs_f64_to_nanos(secs: f64) -> Option<u64> {
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    let ns = (secs * NANOS_PER_SEC as f64).round();
    // u64::MAX as f64 rounds up to 2^64, so compare strictly.
    if ns >= u64::MAX as f64 {
        return None;
    }
    Some(ns as u64)
}

macro_rules! time_common {
    ($t:ident) => {
        impl $t {
            pub const ZERO: $t = $t(0);
            pub const MAX: $t = $t(u64::MAX);

            pub const fn from_nanos(ns: u64) -> Self {
                $t(ns)
            }
            pub const fn as_nanos(self) -> u64 {
                self.0
            }
            /// Whole seconds; saturates at `MAX`.
            pub const fn from_secs(secs: u64) -> Self {
                $t(secs.saturating_mul(NANOS_PER_SEC))
            }
            /// Seconds as `f64`, rounded to the nearest nanosecond. `None` for NaN, negative or overflowing input.
            pub fn from_secs_f64(secs: f64) -> Option<Self> {
                secs_f64_to_nanos(secs).map($t)
            }
            /// Seconds as `f64` (exact below 2^53 ns ≈ 104 days; within 1 ns × 2^-53 relative beyond).
            pub fn as_secs_f64(self) -> f64 {
                (self.0 / NANOS_PER_SEC) as f64 + (self.0 % NANOS_PER_SEC) as f64 * 1e-9
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "{}.{:09}s",
                    self.0 / NANOS_PER_SEC,
                    self.0 % NANOS_PER_SEC
                )
            }
        }
    };
}

time_common!(SimTime);
time_common!(SimDuration);

impl SimTime {
    /// `self + d`, or `None` on overflow.
    pub const fn checked_add(self, d: SimDuration) -> Option<SimTime> {
        match self.0.checked_add(d.0) {
            Some(ns) => Some(SimTime(ns)),
            None => None,
        }
    }
    /// `self + d`, saturating at `SimTime::MAX`.
    pub const fn saturating_add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
    /// The span from `earlier` to `self`; zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    pub const fn checked_add(self, d: SimDuration) -> Option<SimDuration> {
        match self.0.checked_add(d.0) {
            Some(ns) => Some(SimDuration(ns)),
            None => None,
        }
    }
    pub const fn saturating_add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

/// Panics on overflow (a model bug: times beyond 584 years).
impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        self.checked_add(d).expect("SimTime overflow")
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        *self = *self + d;
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        self.checked_add(d).expect("SimDuration overflow")
    }
}

/// Panics if `earlier` is later than `self` (time never runs backwards).
impl Sub for SimTime {
    type Output = SimDuration;
    fn sub(self, earlier: SimTime) -> SimDuration {
        SimDuration(
            self.0
                .checked_sub(earlier.0)
                .expect("SimTime subtraction went backwards"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_trip_and_rounding() {
        assert_eq!(SimTime::from_secs(3600).as_nanos(), 3_600_000_000_000);
        assert_eq!(
            SimTime::from_secs_f64(1.5).unwrap().as_nanos(),
            1_500_000_000
        );
        assert_eq!(SimTime::from_secs_f64(1e-10).unwrap().as_nanos(), 0);
        assert_eq!(SimTime::from_secs_f64(6e-10).unwrap().as_nanos(), 1);
        assert_eq!(SimTime::from_secs(7).as_secs_f64(), 7.0);
        assert!(SimTime::from_secs_f64(f64::NAN).is_none());
        assert!(SimTime::from_secs_f64(-1.0).is_none());
        assert!(SimTime::from_secs_f64(1e300).is_none());
        assert_eq!(
            format!("{}", SimTime::from_nanos(1_000_000_001)),
            "1.000000001s"
        );
    }

    #[test]
    fn arithmetic() {
        let t = SimTime::from_secs(10) + SimDuration::from_secs(5);
        assert_eq!(t, SimTime::from_secs(15));
        assert_eq!(t - SimTime::from_secs(12), SimDuration::from_secs(3));
        assert_eq!(
            SimTime::MAX.saturating_add(SimDuration::from_secs(1)),
            SimTime::MAX
        );
        assert_eq!(
            SimTime::from_secs(1).saturating_since(SimTime::from_secs(2)),
            SimDuration::ZERO
        );
    }
}
