//! Run time as calendar time for `report.html`: the date and time of a run second, the starts of calendar
//! months (monthly table), and the ticks of a time axis (hours for short runs, days, then months).
//!
//! A run's clock is anchored by its weather: a typical year (TMY3, EPW) starts on 1 January at the
//! scenario's `start_hour`, in no particular year (a non-leap year is used and the year is never shown); a
//! series with an absolute start (NYC hourly) gives a real date. A run without weather has no calendar:
//! its axes count hours or days from the start and its "months" are 30-day periods.

/// Month names for labels.
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

const DAY_S: f64 = 86_400.0;

/// The calendar instant of run time 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calendar {
    /// Seconds since 1970-01-01 00:00 (on the weather's clock) at run time 0.
    start_unix_s: i64,
    /// Whether the year is real (shown) or nominal (a typical year: never shown).
    year_known: bool,
}

/// A date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are described in the type's documentation
pub struct DateTime {
    pub year: i64,
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01 (Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The nominal year of a typical-year calendar (not a leap year, like a TMY's 8,760 hours).
const NOMINAL_YEAR: i64 = 2023;

impl Calendar {
    /// A typical year (TMY3, EPW) replayed from `start_hour` hours after 1 January 00:00.
    pub fn typical_year(start_hour: f64) -> Calendar {
        let base = days_from_civil(NOMINAL_YEAR, 1, 1) * 86_400;
        Calendar {
            start_unix_s: base + (start_hour * 3600.0).round() as i64,
            year_known: false,
        }
    }

    /// A clock with a known start (seconds since 1970-01-01 at run time 0).
    pub fn absolute(start_unix_s: i64) -> Calendar {
        Calendar {
            start_unix_s,
            year_known: true,
        }
    }

    /// Whether dates carry a real year.
    pub fn year_known(&self) -> bool {
        self.year_known
    }

    /// The date and time at run second `t_s`.
    pub fn at(&self, t_s: f64) -> DateTime {
        let s = self.start_unix_s + t_s.floor() as i64;
        let (days, secs) = (s.div_euclid(86_400), s.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        DateTime {
            year,
            month,
            day,
            hour: (secs / 3600) as u32,
            minute: ((secs % 3600) / 60) as u32,
        }
    }

    /// Run time of `year-month-01 00:00`.
    fn run_time_of(&self, year: i64, month: u32) -> f64 {
        (days_from_civil(year, month, 1) * 86_400 - self.start_unix_s) as f64
    }

    /// `"3 Jan"`, with the year when it is known (`"3 Jan 2013"`).
    pub fn date_label(&self, t_s: f64) -> String {
        let d = self.at(t_s);
        if self.year_known {
            format!("{} {} {}", d.day, MONTHS[d.month as usize - 1], d.year)
        } else {
            format!("{} {}", d.day, MONTHS[d.month as usize - 1])
        }
    }

    /// `"Jan"`, or `"Jan 2013"` when the year is known.
    fn month_label(&self, year: i64, month: u32) -> String {
        if self.year_known {
            format!("{} {year}", MONTHS[month as usize - 1])
        } else {
            MONTHS[month as usize - 1].to_string()
        }
    }

    /// The calendar months overlapping `[t0, t1)`: `(label, start, end)` in run seconds, clipped to the run.
    pub fn months(&self, t0: f64, t1: f64) -> Vec<(String, f64, f64)> {
        let mut out = Vec::new();
        if t1.partial_cmp(&t0) != Some(std::cmp::Ordering::Greater) {
            return out;
        }
        let d = self.at(t0);
        let (mut y, mut m) = (d.year, d.month);
        loop {
            let start = self.run_time_of(y, m);
            if start >= t1 {
                break;
            }
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            let end = self.run_time_of(ny, nm);
            out.push((self.month_label(y, m), start.max(t0), end.min(t1)));
            (y, m) = (ny, nm);
        }
        out
    }
}

/// The periods a monthly table has: calendar months with a calendar, else 30-day periods from the start.
pub fn periods(cal: Option<&Calendar>, t0: f64, t1: f64) -> Vec<(String, f64, f64)> {
    match cal {
        Some(c) => c.months(t0, t1),
        None => {
            let mut out = Vec::new();
            let mut k = 0u64;
            loop {
                let start = t0 + k as f64 * 30.0 * DAY_S;
                if start >= t1 {
                    break;
                }
                let end = (start + 30.0 * DAY_S).min(t1);
                out.push((
                    format!("days {}–{}", k * 30 + 1, ((end - t0) / DAY_S).ceil() as u64),
                    start,
                    end,
                ));
                k += 1;
            }
            out
        }
    }
}

/// A time axis: the span in run seconds, its ticks (run second, label) and the axis title.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // the fields are described in the type's documentation
pub struct TimeAxis {
    pub t0: f64,
    pub t1: f64,
    pub ticks: Vec<(f64, String)>,
    pub title: String,
}

/// Ticks for a run from `t0` to `t1` seconds: hours of the day for up to two days, dates for up to about
/// four months, month starts beyond (with a calendar); hours or days since the start without one.
pub fn time_axis(cal: Option<&Calendar>, t0: f64, t1: f64) -> TimeAxis {
    let (t0, t1) = if t1 > t0 { (t0, t1) } else { (t0, t0 + 3600.0) };
    let span = t1 - t0;
    let mut ticks = Vec::new();
    let title;
    if span <= 2.0 * DAY_S {
        let step_h = [1.0, 2.0, 3.0, 4.0, 6.0]
            .into_iter()
            .find(|h| span / (h * 3600.0) <= 12.0)
            .unwrap_or(6.0);
        let step = step_h * 3600.0;
        match cal {
            Some(c) => {
                // Ticks on the hours of the clock that are multiples of the step.
                let d = c.at(t0);
                let into_day = f64::from(d.hour) * 3600.0 + f64::from(d.minute) * 60.0;
                let mut t = t0 - into_day.rem_euclid(step);
                if t < t0 {
                    t += step;
                }
                while t <= t1 + 1e-6 {
                    let dt = c.at(t);
                    let label = if dt.hour == 0 {
                        c.date_label(t)
                    } else {
                        format!("{:02}:00", dt.hour)
                    };
                    ticks.push((t, label));
                    t += step;
                }
                title = format!("time of day (from {})", c.date_label(t0));
            }
            None => {
                let mut t = (t0 / step).ceil() * step;
                while t <= t1 + 1e-6 {
                    ticks.push((t, format!("{} h", (t / 3600.0).round())));
                    t += step;
                }
                title = "hours since the start".into();
            }
        }
    } else if span <= 120.0 * DAY_S || cal.is_none() {
        let step_d = [1.0, 2.0, 7.0, 14.0, 30.0, 61.0]
            .into_iter()
            .find(|d| span / (d * DAY_S) <= 14.0)
            .unwrap_or(61.0);
        let step = step_d * DAY_S;
        match cal {
            Some(c) => {
                let d = c.at(t0);
                let into_day = f64::from(d.hour) * 3600.0 + f64::from(d.minute) * 60.0;
                let mut t = t0 - into_day;
                if t < t0 {
                    t += DAY_S;
                }
                while t <= t1 + 1e-6 {
                    ticks.push((t, c.date_label(t)));
                    t += step;
                }
                title = "date".into();
            }
            None => {
                let mut t = (t0 / step).ceil() * step;
                while t <= t1 + 1e-6 {
                    ticks.push((t, format!("day {}", (t / DAY_S).round())));
                    t += step;
                }
                title = "days since the start".into();
            }
        }
    } else {
        let c = cal.expect("the branch above takes runs without a calendar");
        let months = c.months(t0, t1);
        let every = months.len().div_ceil(13).max(1);
        for (i, (_, start, _)) in months.iter().enumerate() {
            if i % every == 0 && *start >= t0 {
                let d = c.at(*start);
                let label = c.month_label(d.year, d.month);
                ticks.push((*start, label));
            }
        }
        // The end of the run, when it closes a month (a whole year ends on 1 January).
        let end = c.at(t1);
        if end.day == 1 && end.hour == 0 && end.minute == 0 {
            ticks.push((t1, c.month_label(end.year, end.month)));
        }
        title = "month".into();
    }
    TimeAxis {
        t0,
        t1,
        ticks,
        title,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips() {
        for z in [-1000, 0, 59, 365, 10_957, 19_358, 50_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }

    #[test]
    fn a_typical_year_has_twelve_months_and_month_ticks() {
        let c = Calendar::typical_year(0.0);
        let year = 365.0 * DAY_S;
        let m = c.months(0.0, year);
        assert_eq!(m.len(), 12);
        assert_eq!(m[0], ("Jan".to_string(), 0.0, 31.0 * DAY_S));
        assert_eq!(m[1].2 - m[1].1, 28.0 * DAY_S);
        assert_eq!(m[11].2, year);
        let axis = time_axis(Some(&c), 0.0, year);
        let labels: Vec<&str> = axis.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels.first(), Some(&"Jan"));
        assert_eq!(labels.len(), 13, "{labels:?}");
        assert!(
            !labels.iter().any(|l| l.contains("2023")),
            "no nominal year"
        );
        // A day: hours of the day, the date at midnight.
        let day = time_axis(Some(&Calendar::typical_year(6.0)), 0.0, DAY_S);
        assert_eq!(day.ticks[0], (0.0, "06:00".to_string()));
        assert!(day.ticks.iter().any(|t| t.1 == "2 Jan"));
        // A week: dates.
        let week = time_axis(Some(&c), 0.0, 7.0 * DAY_S);
        assert_eq!(week.ticks[1].1, "2 Jan");
        // Without a calendar: hours, then days; 30-day periods.
        assert_eq!(time_axis(None, 0.0, DAY_S).ticks[1].1, "2 h");
        assert_eq!(time_axis(None, 0.0, 90.0 * DAY_S).ticks[1].1, "day 7");
        let p = periods(None, 0.0, 75.0 * DAY_S);
        assert_eq!(p.len(), 3);
        assert_eq!(p[2].0, "days 61–75");
        let abs = Calendar::absolute(days_from_civil(2013, 3, 1) * 86_400);
        assert_eq!(abs.date_label(DAY_S), "2 Mar 2013");
    }
}
