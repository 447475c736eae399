//! The inline SVG figures of `report.html` and `compare.html`: time charts on a calendar axis with the legend
//! above the plot area (never over the data), events marked on the timeline (breaker trips, spans over the
//! inlet limit, failures), a percentile chart, a scatter, and the site diagram. Hand-written SVG: a few
//! hundred elements each, deterministic, no fonts or scripts needed.

use std::fmt::Write as _;

use crate::calendar::TimeAxis;
use crate::human;
use crate::template::escape;

/// Width of every figure (user units; the page scales it to the column).
pub const WIDTH: f64 = 960.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

/// Colours of the series, in order of use.
pub const PALETTE: [&str; 8] = [
    "#1f5fa8", "#e07b00", "#2e8b57", "#b03a48", "#7a4fa3", "#8c6d31", "#4a9bd6", "#7f7f7f",
];

/// How a line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A solid line.
    Solid,
    /// A dashed reference line.
    Dashed,
    /// Filled down to zero (stacked areas: give cumulative values, largest first).
    Area,
    /// Points only.
    Dots,
}

/// One series.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // the fields are described in the type's documentation
pub struct Line {
    pub label: String,
    pub color: &'static str,
    pub style: Style,
    /// `(x, y)`; x in run seconds on time charts.
    pub points: Vec<(f64, f64)>,
    /// `(x, low, high)`: a translucent envelope drawn under the line (bucket minimum and maximum).
    pub band: Vec<(f64, f64, f64)>,
}

impl Line {
    /// A solid line without an envelope.
    pub fn new(label: impl Into<String>, color: &'static str, points: Vec<(f64, f64)>) -> Line {
        Line {
            label: label.into(),
            color,
            style: Style::Solid,
            points,
            band: Vec::new(),
        }
    }

    /// The same line drawn with `style`.
    pub fn styled(mut self, style: Style) -> Line {
        self.style = style;
        self
    }
}

/// A moment on the timeline: a labelled vertical line (`label` set) or a tick on the time axis (a rug mark).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // the fields are described in the type's documentation
pub struct Marker {
    pub t: f64,
    pub color: &'static str,
    pub label: Option<String>,
}

/// A shaded stretch of the timeline (e.g. rack inlet above its limit).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // the fields are described in the type's documentation
pub struct Span {
    pub t0: f64,
    pub t1: f64,
    pub color: &'static str,
}

/// What the legend says about markers and spans (lines name themselves).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // the fields are described in the type's documentation
pub struct Key {
    pub label: String,
    pub color: &'static str,
    /// `true`: a shaded box (spans); `false`: a vertical tick (markers).
    pub shaded: bool,
}

/// One chart.
#[derive(Debug, Clone, PartialEq, Default)]
#[allow(missing_docs)] // the fields are described in the type's documentation
pub struct Chart {
    pub y_title: String,
    pub lines: Vec<Line>,
    pub markers: Vec<Marker>,
    pub spans: Vec<Span>,
    pub keys: Vec<Key>,
    /// Plot height (the figure adds the legend and the axes).
    pub height: f64,
    /// Start the value axis at zero (else at the data's minimum, padded).
    pub y_from_zero: bool,
    /// Force the value axis to at least this top (e.g. the installed GPU count).
    pub y_max: Option<f64>,
}

/// A "nice" step (1, 2, 2.5 or 5 × 10ⁿ) for about `n` intervals over `span`.
fn nice_step(span: f64, n: f64) -> f64 {
    let raw = (span / n).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// A value axis over the finite values: `(lo, hi, ticks)`.
fn value_axis(
    values: impl Iterator<Item = f64>,
    from_zero: bool,
    max: Option<f64>,
    intervals: f64,
) -> (f64, f64, Vec<f64>) {
    let (mut lo, mut hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if let Some(m) = max.filter(|m| m.is_finite()) {
        hi = hi.max(m);
    }
    if from_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    } else {
        let pad = ((hi - lo) * 0.08).max(hi.abs() * 1e-3);
        lo -= pad;
        hi += pad;
    }
    if hi - lo <= hi.abs().max(lo.abs()) * 1e-9 {
        hi = lo + lo.abs().max(1.0);
    }
    let step = nice_step(hi - lo, intervals);
    let lo = (lo / step).floor() * step;
    let hi = (hi / step).ceil() * step;
    let n = ((hi - lo) / step).round() as usize;
    let ticks = (0..=n).map(|i| lo + i as f64 * step).collect();
    (lo, hi, ticks)
}

/// A tick label of a value axis with `step` between ticks: thousands grouped, as many decimals as the step.
fn value_label(v: f64, step: f64) -> String {
    let decimals = (0..=6)
        .find(|&d| {
            let x = step * 10f64.powi(d);
            (x - x.round()).abs() < 1e-6 * x.abs().max(1.0)
        })
        .unwrap_or(6) as usize;
    let s = format!("{v:.decimals$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        "0".into()
    } else {
        human::group(&s)
    }
}

/// The plot frame shared by every chart: x from `x0` to `x1` with `x_ticks`, value axis from the lines.
struct Frame {
    top: f64,
    x0: f64,
    x1: f64,
    lo: f64,
    hi: f64,
    height: f64,
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT)
    }
    fn py(&self, y: f64) -> f64 {
        self.top + (self.hi - y) / (self.hi - self.lo) * self.height
    }
}

/// Renders `chart` across `x_ticks` from `x0` to `x1` (titled `x_title`).
fn render(
    chart: &Chart,
    x0: f64,
    x1: f64,
    x_ticks: &[(f64, String)],
    x_title: &str,
    aria: &str,
) -> String {
    let height = if chart.height > 0.0 {
        chart.height
    } else {
        240.0
    };
    let values = chart.lines.iter().flat_map(|l| {
        l.points
            .iter()
            .map(|p| p.1)
            .chain(l.band.iter().flat_map(|b| [b.1, b.2]))
    });
    let (lo, hi, y_ticks) = value_axis(values, chart.y_from_zero, chart.y_max, 5.0);
    let (x0, x1) = if x1 > x0 { (x0, x1) } else { (x0, x0 + 1.0) };
    let shown: Vec<&Line> = chart.lines.iter().filter(|l| !l.label.is_empty()).collect();
    let has_legend = shown.len() > 1 || !chart.keys.is_empty();
    let top = if has_legend { TOP } else { 14.0 };
    let f = Frame {
        top,
        x0,
        x1,
        lo,
        hi,
        height,
    };
    let total_h = top + height + BOTTOM;
    let right = WIDTH - RIGHT;
    let bottom = top + height;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {total_h}\" role=\"img\" \
         aria-label=\"{}\" font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\" \
         font-size=\"12\">",
        escape(aria)
    );
    // Legend above the plot area.
    let mut lx = LEFT;
    let ly = 16.0;
    let mut legend = |s: &mut String, label: &str, color: &str, kind: u8| {
        match kind {
            0 => {
                let _ = write!(
                    s,
                    "<line x1=\"{lx}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"3\"/>",
                    lx + 18.0
                );
            }
            1 => {
                let _ = write!(
                    s,
                    "<line x1=\"{lx}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2\" stroke-dasharray=\"5 3\"/>",
                    lx + 18.0
                );
            }
            2 => {
                let _ = write!(
                    s,
                    "<rect x=\"{lx}\" y=\"{}\" width=\"18\" height=\"10\" fill=\"{color}\" fill-opacity=\"0.55\"/>",
                    ly - 5.0
                );
            }
            _ => {
                let _ = write!(
                    s,
                    "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{color}\" stroke-width=\"2\"/>",
                    lx + 9.0,
                    ly - 7.0,
                    lx + 9.0,
                    ly + 7.0
                );
            }
        }
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" fill=\"#333\">{}</text>",
            lx + 24.0,
            ly + 4.0,
            escape(label)
        );
        lx += 24.0 + 6.6 * label.chars().count() as f64 + 22.0;
    };
    if has_legend {
        for l in &shown {
            let kind = match l.style {
                Style::Solid => 0,
                Style::Dashed => 1,
                Style::Area | Style::Dots => 2,
            };
            legend(&mut s, &l.label, l.color, kind);
        }
        for k in &chart.keys {
            legend(&mut s, &k.label, k.color, if k.shaded { 2 } else { 3 });
        }
    }
    // Spans behind everything.
    for sp in &chart.spans {
        let (a, b) = (f.px(sp.t0.max(x0)), f.px(sp.t1.min(x1)));
        if b > a - 0.01 {
            let _ = write!(
                s,
                "<rect x=\"{a:.1}\" y=\"{top}\" width=\"{:.1}\" height=\"{height}\" fill=\"{}\" fill-opacity=\"0.18\"/>",
                (b - a).max(1.0),
                sp.color
            );
        }
    }
    // Grid and value ticks.
    let step = if y_ticks.len() > 1 {
        y_ticks[1] - y_ticks[0]
    } else {
        1.0
    };
    for &v in &y_ticks {
        let y = f.py(v);
        let _ = write!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{right}\" y2=\"{y:.1}\" stroke=\"#e6e6e6\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{}</text>",
            LEFT - 8.0,
            y + 4.0,
            value_label(v, step)
        );
    }
    for (x, label) in x_ticks {
        if *x < x0 - 1e-9 || *x > x1 + 1e-9 {
            continue;
        }
        let px = f.px(*x);
        let _ = write!(
            s,
            "<line x1=\"{px:.1}\" y1=\"{top}\" x2=\"{px:.1}\" y2=\"{bottom}\" stroke=\"#f0f0f0\"/>\
             <line x1=\"{px:.1}\" y1=\"{bottom}\" x2=\"{px:.1}\" y2=\"{}\" stroke=\"#999\"/>\
             <text x=\"{px:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            bottom + 5.0,
            bottom + 19.0,
            escape(label)
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"#999\"/>\
         <text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#333\">{}</text>\
         <text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\" fill=\"#333\">{}</text>",
        (LEFT + right) / 2.0,
        bottom + 40.0,
        escape(x_title),
        top + height / 2.0,
        escape(&chart.y_title)
    );
    // Series.
    for l in &chart.lines {
        if !l.band.is_empty() {
            let mut d = String::new();
            for (i, &(x, lo_v, _)) in l.band.iter().enumerate() {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1}",
                    if i == 0 { "M" } else { "L" },
                    f.px(x),
                    f.py(lo_v)
                );
            }
            for &(x, _, hi_v) in l.band.iter().rev() {
                let _ = write!(d, "L{:.1},{:.1}", f.px(x), f.py(hi_v));
            }
            let _ = write!(
                s,
                "<path d=\"{d}Z\" fill=\"{}\" fill-opacity=\"0.16\" stroke=\"none\"/>",
                l.color
            );
        }
        let pts: Vec<(f64, f64)> = l
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|&(x, y)| (f.px(x), f.py(y)))
            .collect();
        if pts.is_empty() {
            continue;
        }
        match l.style {
            Style::Dots => {
                for (x, y) in &pts {
                    let _ = write!(
                        s,
                        "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2\" fill=\"{}\" fill-opacity=\"0.45\"/>",
                        l.color
                    );
                }
            }
            Style::Area => {
                let mut d = format!("M{:.1},{bottom:.1}", pts[0].0);
                for (x, y) in &pts {
                    let _ = write!(d, "L{x:.1},{y:.1}");
                }
                let _ = write!(d, "L{:.1},{bottom:.1}Z", pts[pts.len() - 1].0);
                let _ = write!(
                    s,
                    "<path d=\"{d}\" fill=\"{}\" fill-opacity=\"0.85\" stroke=\"{}\" stroke-width=\"0.6\"/>",
                    l.color, l.color
                );
            }
            Style::Solid | Style::Dashed => {
                let mut d = String::new();
                for (i, (x, y)) in pts.iter().enumerate() {
                    let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" });
                }
                let dash = if l.style == Style::Dashed {
                    " stroke-dasharray=\"6 4\""
                } else {
                    ""
                };
                let width = if l.style == Style::Dashed { 1.5 } else { 1.8 };
                let _ = write!(
                    s,
                    "<path d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{width}\" stroke-linejoin=\"round\"{dash}/>",
                    l.color
                );
            }
        }
    }
    // Markers on top: labelled lines, or rug ticks along the time axis.
    for m in &chart.markers {
        if m.t < x0 || m.t > x1 {
            continue;
        }
        let x = f.px(m.t);
        match &m.label {
            Some(label) => {
                let _ = write!(
                    s,
                    "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{bottom}\" stroke=\"{c}\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\"/>\
                     <text x=\"{:.1}\" y=\"{}\" fill=\"{c}\" font-size=\"11\">{}</text>",
                    x + 3.0,
                    top + 12.0,
                    escape(label),
                    c = m.color
                );
            }
            None => {
                let _ = write!(
                    s,
                    "<line x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{bottom}\" stroke=\"{}\" stroke-width=\"1.2\"/>",
                    bottom - 9.0,
                    m.color
                );
            }
        }
    }
    if chart.lines.iter().all(|l| l.points.is_empty()) {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#888\" font-size=\"16\">no samples</text>",
            (LEFT + right) / 2.0,
            top + height / 2.0
        );
    }
    s.push_str("</svg>");
    s
}

/// A chart against run time on a calendar `axis`.
pub fn time_chart(chart: &Chart, axis: &TimeAxis, aria: &str) -> String {
    render(chart, axis.t0, axis.t1, &axis.ticks, &axis.title, aria)
}

/// A chart against a numeric x (`x_title`), its ticks chosen from the data.
pub fn xy_chart(chart: &Chart, x_title: &str, x_from_zero: bool, aria: &str) -> String {
    let xs = chart
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0));
    let (x0, x1, ticks) = value_axis(xs, x_from_zero, None, 10.0);
    let step = if ticks.len() > 1 {
        ticks[1] - ticks[0]
    } else {
        1.0
    };
    let labelled: Vec<(f64, String)> = ticks.iter().map(|&t| (t, value_label(t, step))).collect();
    render(chart, x0, x1, &labelled, x_title, aria)
}

/// A chart against a duration in seconds on a logarithmic axis (latency distributions): ticks at 1, 2 and 5
/// times the powers of ten, labelled in ms or s. Points and markers at x ≤ 0 are left out.
pub fn log_seconds_chart(chart: &Chart, x_title: &str, aria: &str) -> String {
    let mut c = chart.clone();
    for l in &mut c.lines {
        l.points = l
            .points
            .iter()
            .filter(|p| p.0 > 0.0 && p.0.is_finite())
            .map(|&(x, y)| (x.log10(), y))
            .collect();
    }
    c.markers = c
        .markers
        .iter()
        .filter(|m| m.t > 0.0 && m.t.is_finite())
        .map(|m| Marker {
            t: m.t.log10(),
            ..m.clone()
        })
        .collect();
    let xs = c
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .chain(c.markers.iter().map(|m| m.t));
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    let (lo, hi) = if lo.is_finite() {
        (lo.floor(), hi.ceil().max(lo.floor() + 1.0))
    } else {
        (-3.0, 1.0)
    };
    let mut ticks = Vec::new();
    let mut k = lo;
    while k < hi + 0.5 {
        for m in [1.0, 2.0, 5.0] {
            let x = k + f64::log10(m);
            if x <= hi + 1e-9 && (m == 1.0 || hi - lo <= 4.0) {
                ticks.push((x, tick_duration(10f64.powf(x))));
            }
        }
        k += 1.0;
    }
    render(&c, lo, hi, &ticks, x_title, aria)
}

/// Horizontal bars of changes in percent around zero: one group per row (its label on the left), one bar
/// per series (`(label, colour)`, in the legend above) with its value printed at the bar's end. `None`
/// values leave their bar out.
pub fn change_bars(
    rows: &[(String, Vec<Option<f64>>)],
    series: &[(String, &'static str)],
) -> String {
    let label_w = 230.0;
    let bar_h = 14.0;
    let group_h = bar_h * series.len().max(1) as f64 + 10.0;
    let top = 34.0;
    let height = top + group_h * rows.len() as f64 + 44.0;
    let max = rows
        .iter()
        .flat_map(|r| r.1.iter().flatten())
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(1.0);
    let step = nice_step(max, 3.0);
    let lim = (max / step).ceil() * step;
    let (x0, x1) = (label_w + 40.0, WIDTH - 70.0);
    let px = |v: f64| x0 + (v + lim) / (2.0 * lim) * (x1 - x0);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height:.0}\" role=\"img\" \
         aria-label=\"changes against the first run\" font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\" \
         font-size=\"12\">"
    );
    let mut lx = x0;
    for (label, color) in series {
        let _ = write!(
            s,
            "<rect x=\"{lx:.1}\" y=\"8\" width=\"14\" height=\"10\" fill=\"{color}\"/>\
             <text x=\"{:.1}\" y=\"17\" fill=\"#333\">{}</text>",
            lx + 20.0,
            escape(label)
        );
        lx += 20.0 + 6.6 * label.chars().count() as f64 + 24.0;
    }
    let bottom = top + group_h * rows.len() as f64;
    let mut k = -lim;
    while k <= lim + 1e-9 {
        let x = px(k);
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"{}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}{} %</text>",
            if k.abs() < 1e-9 { "#888" } else { "#eeeeee" },
            bottom + 16.0,
            if k > 0.0 { "+" } else { "" },
            value_label(k, step)
        );
        k += step;
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333\">change against the first run</text>",
        (x0 + x1) / 2.0,
        bottom + 32.0
    );
    for (i, (label, values)) in rows.iter().enumerate() {
        let gy = top + i as f64 * group_h + 5.0;
        let _ = write!(
            s,
            "<text x=\"{label_w}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#333\">{}</text>",
            gy + group_h / 2.0 - 1.0,
            escape(label)
        );
        for (j, v) in values.iter().enumerate() {
            let Some(v) = v.filter(|v| v.is_finite()) else {
                continue;
            };
            let y = gy + j as f64 * bar_h;
            let (a, b) = (px(0.0), px(v.clamp(-lim, lim)));
            let (l, w) = (a.min(b), (a - b).abs().max(1.0));
            let color = series.get(j).map_or(PALETTE[0], |c| c.1);
            let text = if v.abs() < 0.05 {
                "±0 %".to_string()
            } else {
                format!("{}{:.1} %", if v > 0.0 { "+" } else { "−" }, v.abs())
            };
            let (tx, anchor) = if v >= 0.0 {
                (l + w + 4.0, "start")
            } else {
                (l - 4.0, "end")
            };
            let _ = write!(
                s,
                "<rect x=\"{l:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{color}\"/>\
                 <text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" fill=\"#444\" font-size=\"11\">{text}</text>",
                bar_h - 3.0,
                y + bar_h - 5.0
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// A duration tick label: [`human::duration_s`] without trailing zeros (`10 ms`, `1 s`, `2.5 s`).
fn tick_duration(s: f64) -> String {
    let d = human::duration_s(s);
    match d.split_once(' ') {
        Some((num, unit)) if num.contains('.') => {
            format!("{} {unit}", num.trim_end_matches('0').trim_end_matches('.'))
        }
        _ => d,
    }
}

/// The series of `(t, v)` points to draw across `[t0, t1]`: as they are when there are few, else bucket means
/// (`bucket_s` wide) with the bucket minimum and maximum as an envelope. Returns the line, the envelope and
/// the bucket width used (0 when not bucketed).
pub fn resample(points: &[(f64, f64)], max_points: usize) -> Resampled {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .collect();
    if pts.len() <= max_points || pts.len() < 2 {
        return (pts, Vec::new(), 0.0);
    }
    let span = pts[pts.len() - 1].0 - pts[0].0;
    let bucket = [3600.0, 3.0 * 3600.0, 6.0 * 3600.0, 86_400.0, 7.0 * 86_400.0]
        .into_iter()
        .find(|b| span / b <= max_points as f64 / 2.0)
        .unwrap_or(7.0 * 86_400.0);
    let mut line = Vec::new();
    let mut band = Vec::new();
    let mut i = 0;
    while i < pts.len() {
        let k = (pts[i].0 / bucket).floor();
        let (mut sum, mut n, mut lo, mut hi) = (0.0, 0usize, f64::INFINITY, f64::NEG_INFINITY);
        while i < pts.len() && (pts[i].0 / bucket).floor() == k {
            let v = pts[i].1;
            sum += v;
            n += 1;
            lo = lo.min(v);
            hi = hi.max(v);
            i += 1;
        }
        let mid = (k + 0.5) * bucket;
        line.push((mid, sum / n as f64));
        band.push((mid, lo, hi));
    }
    (line, band, bucket)
}

/// What [`resample`] returns: the line, its envelope `(x, low, high)` and the bucket width (0: not bucketed).
pub type Resampled = (Vec<(f64, f64)>, Vec<(f64, f64, f64)>, f64);

/// What a bucket width is called in a caption ("daily", "hourly").
pub fn bucket_name(bucket_s: f64) -> &'static str {
    match bucket_s as u64 {
        3600 => "hourly",
        10_800 => "3-hour",
        21_600 => "6-hour",
        86_400 => "daily",
        _ => "weekly",
    }
}

/// One rack of the site diagram.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // the fields are described in the type's documentation
pub struct RackCell {
    pub hall: u32,
    pub row: u32,
    pub rack: u32,
    pub servers: u32,
    pub gpus: u32,
    /// The value the rack is shaded by (peak power in W, inlet °C); `None` shades by GPUs installed.
    pub value: Option<f64>,
}

/// The site as halls of rows of racks, each rack a box shaded by its value (`value_name`, formatted by
/// `format`) or, when no rack has one, by the GPUs it holds. Racks are drawn in row order as the site lists
/// them. Returns the SVG and the caption's description of the shading.
pub fn site_diagram(
    racks: &[RackCell],
    value_name: &str,
    format: fn(f64) -> String,
) -> (String, String) {
    use std::collections::BTreeMap;
    let mut halls: BTreeMap<u32, BTreeMap<u32, Vec<&RackCell>>> = BTreeMap::new();
    for r in racks {
        halls
            .entry(r.hall)
            .or_default()
            .entry(r.row)
            .or_default()
            .push(r);
    }
    for rows in halls.values_mut() {
        for v in rows.values_mut() {
            v.sort_by_key(|r| r.rack);
        }
    }
    let by_value = racks.iter().any(|r| r.value.is_some_and(f64::is_finite));
    let shade_of = |r: &RackCell| -> Option<f64> {
        if by_value {
            r.value.filter(|v| v.is_finite())
        } else {
            Some(f64::from(r.gpus))
        }
    };
    let (vmin, vmax) = racks
        .iter()
        .filter_map(shade_of)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    // A spread below a millionth is rounding in the sums (racks that drew the same), not a difference to
    // shade: one colour, and the legend says "in every rack".
    let vmax = if vmin.is_finite() && vmax.is_finite() && vmax - vmin <= 1e-6 * vmax.abs() {
        vmin
    } else {
        vmax
    };
    let widest = halls
        .values()
        .flat_map(|rows| rows.values().map(Vec::len))
        .max()
        .unwrap_or(1)
        .max(1);
    let usable = WIDTH - 2.0 * 70.0;
    let cell = (usable / widest as f64).clamp(4.0, 28.0);
    let gap = if cell >= 12.0 { 3.0 } else { 1.0 };
    let row_h = (cell * 1.6).clamp(8.0, 36.0);
    let row_gap = (row_h * 0.6).max(6.0);
    let total_rows: usize = halls.values().map(BTreeMap::len).sum();
    let height = 20.0 + halls.len() as f64 * 38.0 + total_rows as f64 * (row_h + row_gap) + 56.0;
    let color = |v: Option<f64>| -> String {
        let Some(v) = v else {
            return "#dddddd".into();
        };
        let t = if vmax > vmin {
            (v - vmin) / (vmax - vmin)
        } else {
            1.0
        };
        if by_value {
            // Pale yellow to deep red.
            let (r, g, b) = lerp3((255.0, 237.0, 160.0), (189.0, 0.0, 38.0), t);
            format!("#{r:02x}{g:02x}{b:02x}")
        } else {
            // Pale to deep blue.
            let (r, g, b) = lerp3((198.0, 219.0, 239.0), (8.0, 81.0, 156.0), t);
            format!("#{r:02x}{g:02x}{b:02x}")
        }
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height:.0}\" role=\"img\" \
         aria-label=\"site diagram\" font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\" \
         font-size=\"12\">"
    );
    let mut y = 20.0;
    for (h, rows) in &halls {
        let racks_in_hall: usize = rows.values().map(Vec::len).sum();
        let hall_h = rows.len() as f64 * (row_h + row_gap) + 30.0;
        let title = format!(
            "Hall {} · {} · {}",
            h + 1,
            plural(rows.len(), "row"),
            plural(racks_in_hall, "rack")
        );
        let hall_w = (widest as f64 * cell + 24.0).max(16.0 + 7.2 * title.chars().count() as f64);
        let _ = write!(
            s,
            "<rect x=\"58\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{hall_h:.1}\" rx=\"6\" fill=\"#f7f8fa\" stroke=\"#c9ced6\"/>\
             <text x=\"66\" y=\"{:.1}\" fill=\"#333\" font-weight=\"600\">{}</text>",
            hall_w,
            y + 16.0,
            escape(&title)
        );
        let mut ry = y + 26.0;
        for (i, row) in rows.values().enumerate() {
            let _ = write!(
                s,
                "<text x=\"52\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#666\" font-size=\"11\">row {}</text>",
                ry + row_h / 2.0 + 4.0,
                i + 1
            );
            for (k, r) in row.iter().enumerate() {
                let x = 70.0 + k as f64 * cell;
                let v = shade_of(r);
                let tip = match (by_value, r.value) {
                    (true, Some(val)) => format!(
                        "rack {}: {} servers, {} GPUs, {value_name} {}",
                        r.rack,
                        r.servers,
                        r.gpus,
                        format(val)
                    ),
                    _ => format!("rack {}: {} servers, {} GPUs", r.rack, r.servers, r.gpus),
                };
                let _ = write!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{ry:.1}\" width=\"{:.1}\" height=\"{row_h:.1}\" rx=\"1.5\" fill=\"{}\" stroke=\"#ffffff\" stroke-width=\"{}\"><title>{}</title></rect>",
                    (cell - gap).max(1.0),
                    color(v),
                    if gap > 1.0 { 1 } else { 0 },
                    escape(&tip)
                );
            }
            ry += row_h + row_gap;
        }
        y += hall_h + 8.0;
    }
    // Colour scale.
    let ly = y + 10.0;
    let (lo_text, hi_text, what) = if by_value {
        (format(vmin), format(vmax), format!("rack {value_name}"))
    } else {
        (
            format!("{vmin:.0}"),
            format!("{vmax:.0}"),
            "GPUs installed per rack".to_string(),
        )
    };
    if vmax > vmin {
        for i in 0..10 {
            let t = i as f64 / 9.0;
            let v = vmin + t * (vmax - vmin);
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{ly:.1}\" width=\"18\" height=\"12\" fill=\"{}\"/>",
                70.0 + i as f64 * 18.0,
                color(Some(v))
            );
        }
        let _ = write!(
            s,
            "<text x=\"66\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\" font-size=\"11\">{}</text>\
             <text x=\"254\" y=\"{:.1}\" fill=\"#555\" font-size=\"11\">{}</text>\
             <text x=\"320\" y=\"{:.1}\" fill=\"#333\">{}</text></svg>",
            ly + 10.0,
            escape(&lo_text),
            ly + 10.0,
            escape(&hi_text),
            ly + 10.0,
            escape(&what)
        );
    } else {
        // Every rack alike: one swatch and the common value.
        let _ = write!(
            s,
            "<rect x=\"70\" y=\"{ly:.1}\" width=\"18\" height=\"12\" fill=\"{}\"/>\
             <text x=\"96\" y=\"{:.1}\" fill=\"#333\">{}: {} in every rack</text></svg>",
            color(Some(vmax)),
            ly + 10.0,
            escape(&what),
            escape(&hi_text)
        );
    }
    let caption = if by_value {
        format!("racks shaded by {value_name}")
    } else {
        "racks shaded by GPUs installed".to_string()
    };
    (s, caption)
}

/// `n` and the noun, plural unless `n` is 1 (`1 row`, `4 rows`).
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn lerp3(a: (f64, f64, f64), b: (f64, f64, f64), t: f64) -> (u8, u8, u8) {
    let t = t.clamp(0.0, 1.0);
    let m = |x: f64, y: f64| (x + (y - x) * t).round().clamp(0.0, 255.0) as u8;
    (m(a.0, b.0), m(a.1, b.1), m(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{Calendar, time_axis};

    #[test]
    fn axes_are_nice_and_charts_are_deterministic() {
        assert_eq!(nice_step(100.0, 5.0), 20.0);
        assert_eq!(nice_step(1.2, 5.0), 0.25);
        let (lo, hi, t) = value_axis([3.0, 97.0].into_iter(), true, None, 5.0);
        assert_eq!((lo, hi), (0.0, 100.0));
        assert_eq!(t.len(), 6);
        assert_eq!(value_label(1.25, 0.25), "1.25");
        assert_eq!(value_label(12000.0, 2000.0), "12,000");
        let cal = Calendar::typical_year(0.0);
        let axis = time_axis(Some(&cal), 0.0, 86_400.0 * 365.0);
        let pts: Vec<(f64, f64)> = (0..52_560)
            .map(|i| (i as f64 * 600.0, (i % 144) as f64))
            .collect();
        let (line, band, bucket) = resample(&pts, 1500);
        assert_eq!(bucket, 86_400.0);
        assert_eq!(line.len(), 365);
        assert_eq!(band[0], (43_200.0, 0.0, 143.0));
        let chart = Chart {
            y_title: "power (MW)".into(),
            lines: vec![Line {
                band,
                ..Line::new("IT", PALETTE[0], line)
            }],
            markers: vec![Marker {
                t: 86_400.0 * 40.0,
                color: "#c00",
                label: Some("trip".into()),
            }],
            keys: vec![Key {
                label: "breaker trip".into(),
                color: "#c00",
                shaded: false,
            }],
            ..Chart::default()
        };
        let svg = time_chart(&chart, &axis, "power");
        assert_eq!(svg, time_chart(&chart, &axis, "power"));
        assert!(svg.contains(">Jan<") && svg.contains(">Dec<") && svg.contains(">breaker trip<"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn the_site_diagram_shades_by_value_or_gpus() {
        let racks: Vec<RackCell> = (0..8)
            .map(|i| RackCell {
                hall: 0,
                row: i / 4,
                rack: i,
                servers: 4,
                gpus: 32,
                value: None,
            })
            .collect();
        let (svg, caption) = site_diagram(&racks, "peak power", human::power_w);
        assert!(caption.contains("GPUs installed"));
        assert_eq!(svg.matches("<title>").count(), 8);
        assert!(svg.contains("Hall 1 · 2 rows · 8 racks"));
        assert!(svg.contains("GPUs installed per rack: 32 in every rack"));
        let valued: Vec<RackCell> = racks
            .iter()
            .map(|r| RackCell {
                value: Some(10_000.0 + 1000.0 * f64::from(r.rack)),
                ..r.clone()
            })
            .collect();
        let (svg, caption) = site_diagram(&valued, "peak power", human::power_w);
        assert_eq!(caption, "racks shaded by peak power");
        assert!(svg.contains("peak power 17.0 kW"));
        // Racks that drew the same power up to rounding in the sums get one colour, not a full scale.
        let same: Vec<RackCell> = racks
            .iter()
            .map(|r| RackCell {
                value: Some(if r.rack % 2 == 0 {
                    34_711.578_947_368_45
                } else {
                    34_711.578_947_368_434
                }),
                ..r.clone()
            })
            .collect();
        let (svg, _) = site_diagram(&same, "peak power", human::power_w);
        assert!(svg.contains("in every rack"), "{svg}");
        let fills: std::collections::BTreeSet<&str> = svg
            .split("<rect")
            .filter(|r| r.contains("<title>"))
            .filter_map(|r| r.split("fill=\"").nth(1)?.split('"').next())
            .collect();
        assert_eq!(fills.len(), 1, "{fills:?}");
    }
}
