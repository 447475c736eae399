//! `size.svg` of `dctwin size`: one panel per constraint, its figure against the sized field — every
//! run (grey), the mean over seeds (green where the value passed, red where it failed), the
//! constraint's threshold (dashed) and the answer (a vertical line).

use std::io;

use plotters::prelude::*;

use crate::sweep::{span, tick};

/// One constraint's panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// The constraint as written (`inference.ttft_s.p99 <= 1`).
    pub title: String,
    /// The figure's name (the y axis).
    pub figure: String,
    /// The constraint's threshold (the dashed line).
    pub threshold: f64,
    /// (field value, figure) of every run.
    pub runs: Vec<(f64, f64)>,
    /// (field value, mean over seeds, the value passed) in increasing field value.
    pub means: Vec<(f64, f64, bool)>,
}

const WIDTH: u32 = 960;
const PANEL_HEIGHT: u32 = 360;
const GREY: RGBColor = RGBColor(160, 160, 160);
const BLUE: RGBColor = RGBColor(31, 119, 180);
const GREEN: RGBColor = RGBColor(44, 160, 44);
const RED: RGBColor = RGBColor(214, 39, 40);
const BLACK_ISH: RGBColor = RGBColor(60, 60, 60);

/// The y range of a panel: the threshold and the values within ten thresholds of it (all values when the
/// threshold is 0), padded; and whether some values lie outside it (they are drawn at its edge).
fn y_range(p: &Panel) -> (std::ops::Range<f64>, bool) {
    let window = 10.0 * p.threshold.abs();
    let near = |v: &f64| window == 0.0 || (v - p.threshold).abs() <= window;
    let values = || {
        p.runs
            .iter()
            .map(|r| r.1)
            .chain(p.means.iter().map(|m| m.1))
    };
    let clipped = values().any(|v| !near(&v));
    (
        span(values().filter(near).chain(std::iter::once(p.threshold))),
        clipped,
    )
}

/// Renders the panels stacked, `field` on every x axis, the answer (if any) marked on each, under one
/// line of key.
pub fn size_svg(field: &str, panels: &[Panel], answer: Option<f64>) -> io::Result<String> {
    let height = 40 + PANEL_HEIGHT * panels.len().max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<io::Error>| {
            io::Error::other(format!("drawing the chart: {e}"))
        };
        root.fill(&WHITE).map_err(err)?;
        let key = match answer {
            Some(a) => format!(
                "grey: one run per seed; dots: mean over seeds (green: the value passes, red: fails); dashed: threshold; blue: answer {}",
                tick(&a)
            ),
            None => "grey: one run per seed; dots: mean over seeds (green: the value passes, red: fails); dashed: threshold; no answer".to_string(),
        };
        let body = root.titled(&key, ("sans-serif", 15)).map_err(err)?;
        let areas = body.split_evenly((panels.len().max(1), 1));
        let xr = span(
            panels
                .iter()
                .flat_map(|p| p.runs.iter().map(|r| r.0))
                .chain(answer),
        );
        for (area, p) in areas.iter().zip(panels) {
            let (yr, clipped) = y_range(p);
            let (y0, y1) = (yr.start, yr.end);
            let clamp = |v: f64| v.clamp(y0, y1);
            let caption = if clipped {
                format!(
                    "{} (values off the scale drawn at its edge, hollow)",
                    p.title
                )
            } else {
                p.title.clone()
            };
            let mut chart = ChartBuilder::on(area)
                .caption(caption, ("sans-serif", 20))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(96)
                .build_cartesian_2d(xr.clone(), yr)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc(field)
                .y_desc(p.figure.as_str())
                .label_style(("sans-serif", 13))
                .axis_desc_style(("sans-serif", 14))
                .x_label_formatter(&tick)
                .y_label_formatter(&tick)
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(err)?;
            chart
                .draw_series(DashedLineSeries::new(
                    [(xr.start, p.threshold), (xr.end, p.threshold)],
                    8,
                    5,
                    BLACK_ISH.stroke_width(2),
                ))
                .map_err(err)?;
            if let Some(a) = answer {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        [(a, y0), (a, y1)],
                        BLUE.stroke_width(2),
                    )))
                    .map_err(err)?;
            }
            let inside = |v: f64| (y0..=y1).contains(&v);
            chart
                .draw_series(p.runs.iter().map(|&(x, y)| {
                    let style = if inside(y) {
                        GREY.filled()
                    } else {
                        GREY.stroke_width(1)
                    };
                    Circle::new((x, clamp(y)), 3, style)
                }))
                .map_err(err)?;
            chart
                .draw_series(LineSeries::new(
                    p.means.iter().map(|&(x, m, _)| (x, clamp(m))),
                    BLUE.mix(0.5).stroke_width(1),
                ))
                .map_err(err)?;
            chart
                .draw_series(p.means.iter().map(|&(x, m, pass)| {
                    let c = if pass { GREEN } else { RED };
                    let style = if inside(m) {
                        c.filled()
                    } else {
                        c.stroke_width(2)
                    };
                    Circle::new((x, clamp(m)), 5, style)
                }))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_draw_threshold_answer_and_points() {
        let p = Panel {
            title: "x.y <= 2".into(),
            figure: "x.y".into(),
            threshold: 2.0,
            runs: vec![(1.0, 3.0), (1.0, 3.5), (2.0, 1.0), (2.0, 1.5)],
            means: vec![(1.0, 3.25, false), (2.0, 1.25, true)],
        };
        let svg = size_svg("a.b", &[p.clone(), p.clone()], Some(2.0)).unwrap();
        assert!(
            svg.contains("x.y &lt;= 2") || svg.contains("x.y <= 2"),
            "caption"
        );
        assert!(svg.contains("blue: answer 2"));
        assert!(!svg.contains("off the scale"));
        // A value far beyond the threshold is drawn at the edge, and the caption says so.
        let far = Panel {
            runs: vec![(1.0, 3.0), (2.0, 5e4)],
            means: vec![(1.0, 3.0, true), (2.0, 5e4, false)],
            ..p
        };
        assert!(y_range(&far).1);
        assert!(y_range(&far).0.end < 30.0);
        assert!(
            size_svg("a.b", &[far], None)
                .unwrap()
                .contains("off the scale")
        );
        assert_eq!(svg.matches("a.b").count(), 2, "one x axis per panel");
        assert!(size_svg("a.b", &[], None).unwrap().contains("no answer"));
    }
}
