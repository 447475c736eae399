//! Progress of long commands on stderr: a bar on a terminal; on anything else (a log file, CI, a Slurm or
//! Kubernetes job) a plain line every [`LINE_EVERY`] with the fraction done, the elapsed time and an ETA. Short
//! commands print nothing: the bar appears after a second, the first line after one interval.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a progress line is written when stderr is not a terminal. `DCTWIN_PROGRESS_S` (seconds, > 0)
/// overrides it.
pub const LINE_EVERY: Duration = Duration::from_secs(30);

/// Where progress goes.
enum Mode {
    Bar,
    Lines(Duration),
    Off,
}

fn mode(quiet: bool) -> Mode {
    if quiet {
        return Mode::Off;
    }
    if std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
        return Mode::Bar;
    }
    let every = std::env::var("DCTWIN_PROGRESS_S")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(LINE_EVERY, Duration::from_secs_f64);
    Mode::Lines(every)
}

/// `1h 02m`, `3m 07s`, `12s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h {:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// A simulated span: `36.0 s`, `12.5 h`, `3.2 d`.
pub fn sim_span(s: f64) -> String {
    if s >= 2.0 * 86_400.0 {
        format!("{:.1} d", s / 86_400.0)
    } else if s >= 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{s:.1} s")
    }
}

/// The line for `done` of the work after `elapsed` (ETA by linear extrapolation).
pub fn line(label: &str, done: f64, detail: &str, elapsed: Duration) -> String {
    let eta = if done > 0.0 {
        human(elapsed.mul_f64(((1.0 - done) / done).max(0.0)))
    } else {
        "unknown".to_string()
    };
    format!(
        "dctwin: {label}: {:.1}% done{detail}, elapsed {}, eta {eta}",
        100.0 * done,
        human(elapsed)
    )
}

struct LineState {
    every: Duration,
    started: Instant,
    next: Duration,
}

impl LineState {
    fn new(every: Duration) -> Self {
        LineState {
            every,
            started: Instant::now(),
            next: every,
        }
    }

    /// Writes a line when the next one is due.
    fn tick(&mut self, label: &str, done: f64, detail: &str) {
        let elapsed = self.started.elapsed();
        if elapsed >= self.next {
            while self.next <= elapsed {
                self.next += self.every;
            }
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{}", line(label, done, detail, elapsed));
        }
    }
}

/// A simulation's progress: `update(fraction of simulated time)`.
pub struct RunProgress {
    label: String,
    horizon_s: f64,
    bar: Option<ProgressBar>,
    shown: bool,
    lines: Option<LineState>,
    started: Instant,
}

impl RunProgress {
    /// Progress of a run of `horizon_s` simulated seconds.
    pub fn new(label: String, horizon_s: f64, quiet: bool) -> Self {
        let (bar, lines) = match mode(quiet) {
            Mode::Bar => {
                let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::hidden());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} simulating [{bar:40}] {percent:>3}% eta {eta}",
                    )
                    .expect("static template")
                    .progress_chars("=> "),
                );
                (Some(bar), None)
            }
            Mode::Lines(every) => (None, Some(LineState::new(every))),
            Mode::Off => (None, None),
        };
        RunProgress {
            label,
            horizon_s,
            bar,
            shown: false,
            lines,
            started: Instant::now(),
        }
    }

    pub fn update(&mut self, frac: f64) {
        if let Some(bar) = &self.bar {
            if !self.shown && self.started.elapsed() > Duration::from_secs(1) {
                bar.set_draw_target(ProgressDrawTarget::stderr());
                self.shown = true;
            }
            bar.set_position((frac * 1000.0) as u64);
        }
        if let Some(l) = &mut self.lines {
            let detail = format!(
                " (simulated {} of {})",
                sim_span(frac * self.horizon_s),
                sim_span(self.horizon_s)
            );
            l.tick(&self.label, frac, &detail);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Progress over a count of runs (sweeps): `start(n)`, `done()` from any thread, `finish()`.
pub struct CountProgress {
    label: String,
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
    lines: Mutex<Option<(LineState, u64, u64)>>,
}

impl CountProgress {
    pub fn new(label: &str, quiet: bool) -> Self {
        CountProgress {
            label: label.to_string(),
            quiet,
            bar: Mutex::new(None),
            lines: Mutex::new(None),
        }
    }

    pub fn start(&self, total: u64) {
        match mode(self.quiet) {
            Mode::Bar => {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(&format!(
                        "{{spinner}} {} [{{bar:40}}] {{pos}}/{{len}} runs, eta {{eta}}",
                        self.label
                    ))
                    .expect("static template")
                    .progress_chars("=> "),
                );
                *self.bar.lock().expect("progress lock") = Some(bar);
            }
            Mode::Lines(every) => {
                *self.lines.lock().expect("progress lock") =
                    Some((LineState::new(every), 0, total));
            }
            Mode::Off => {}
        }
    }

    pub fn done(&self) {
        if let Some(bar) = self.bar.lock().expect("progress lock").as_ref() {
            bar.inc(1);
        }
        if let Some((state, n, total)) = self.lines.lock().expect("progress lock").as_mut() {
            *n += 1;
            let frac = if *total == 0 {
                1.0
            } else {
                *n as f64 / *total as f64
            };
            state.tick(&self.label, frac, &format!(" ({n}/{total} runs)"));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = self.bar.lock().expect("progress lock").as_ref() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_done_elapsed_and_eta() {
        let l = line("simulating x.ron", 0.25, "", Duration::from_secs(90));
        assert_eq!(
            l,
            "dctwin: simulating x.ron: 25.0% done, elapsed 1m 30s, eta 4m 30s"
        );
        let l = line("sweep", 0.0, " (0/4 runs)", Duration::from_secs(5));
        assert!(l.ends_with("eta unknown"), "{l}");
        assert_eq!(human(Duration::from_secs(3 * 3600 + 125)), "3h 02m");
        assert_eq!(sim_span(30.0 * 86_400.0), "30.0 d");
        assert_eq!(sim_span(5400.0), "1.5 h");
    }
}
