//! The page template (`reports/templates/page.html`, built into the binary) and the data it renders:
//! [`PageData`] for `report.html` of a run or a sweep and for `compare.html`. Rendered with minijinja: HTML
//! auto-escaped (inline SVG figures are passed as safe strings), no scripts, no external requests, the same
//! bytes for the same data.

use minijinja::Environment;
use serde::Serialize;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The template text.
const PAGE: &str = include_str!("../templates/page.html");

/// A headline figure: a label, a value in human units and a line under it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[allow(missing_docs)] // the fields are described in the type's documentation
pub struct Card {
    pub label: String,
    pub value: String,
    pub sub: Option<String>,
    /// `good`, `warn` or none (border colour).
    pub tone: Option<&'static str>,
}

impl Card {
    /// A card without a tone.
    pub fn new(label: &str, value: String, sub: Option<String>) -> Card {
        Card {
            label: label.into(),
            value,
            sub,
            tone: None,
        }
    }
}

/// A table: caption (a heading), an optional note under it, header cells, rows, an optional total row.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[allow(missing_docs)] // the fields are described in the type's documentation
pub struct TableData {
    pub caption: String,
    pub note: Option<String>,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub footer: Option<Vec<String>>,
    /// CSS class (`figures`: a two-column figure/value table).
    pub class: Option<&'static str>,
}

/// An inline SVG figure with an optional title and a caption.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[allow(missing_docs)] // the fields are described in the type's documentation
pub struct FigureData {
    pub title: Option<String>,
    pub svg: String,
    pub caption: String,
}

/// A section: heading, paragraphs, figures, tables, then a plain list.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[allow(missing_docs)] // the fields are described in the type's documentation
pub struct SectionData {
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub figures: Vec<FigureData>,
    pub tables: Vec<TableData>,
    pub list: Vec<String>,
}

/// A collapsed table at the end of the page.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[allow(missing_docs)] // the fields are described in the type's documentation
pub struct Appendix {
    pub summary: String,
    pub table: TableData,
}

/// Everything a page shows, in page order: the header (title, subtitle, `meta` pairs), intro paragraphs,
/// headline cards, tables, sections, figures, a collapsed appendix and a footer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[allow(missing_docs)] // the fields are described in the type's documentation
pub struct PageData {
    pub title: String,
    pub subtitle: Option<String>,
    pub meta: Vec<(String, String)>,
    pub intro: Vec<String>,
    pub headline: Vec<Card>,
    pub tables: Vec<TableData>,
    pub sections: Vec<SectionData>,
    pub charts: Vec<FigureData>,
    pub appendix: Option<Appendix>,
    pub footer: Option<String>,
}

/// Renders `page` with the page template.
pub fn render(page: &PageData) -> String {
    let mut env = Environment::new();
    env.set_keep_trailing_newline(true);
    // Escape `& < > " '` only (minijinja's default also escapes `/`, which makes `GB/s` unreadable in the
    // source); values marked safe (the SVG figures) pass through.
    env.set_formatter(|out, _state, value| {
        let text = if value.is_safe() {
            value.to_string()
        } else {
            escape(&value.to_string())
        };
        out.write_str(&text).map_err(|_| {
            minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "writing the page")
        })
    });
    env.add_template("page.html", PAGE)
        .expect("the page template parses (checked by the tests)");
    let tmpl = env.get_template("page.html").expect("added above");
    let mut html = tmpl
        .render(page)
        .expect("the page template renders any PageData (checked by the tests)");
    if !html.ends_with('\n') {
        html.push('\n');
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_part_escaped_and_self_contained() {
        let page = PageData {
            title: "dctwin run: a <b>".into(),
            subtitle: Some("one year".into()),
            meta: vec![("seed".into(), "42".into())],
            intro: vec!["x & y".into()],
            headline: vec![Card::new(
                "Facility energy",
                "12.0 GWh".into(),
                Some("IT 9.6 GWh".into()),
            )],
            tables: vec![TableData {
                caption: "Months".into(),
                header: vec!["month".into(), "energy".into()],
                rows: vec![vec!["Jan".into(), "1.00 GWh".into()]],
                footer: Some(vec!["total".into(), "12.0 GWh".into()]),
                ..TableData::default()
            }],
            sections: vec![SectionData {
                heading: "Site".into(),
                figures: vec![FigureData {
                    title: Some("Halls".into()),
                    svg: "<svg viewBox=\"0 0 1 1\"></svg>".into(),
                    caption: "racks".into(),
                }],
                list: vec!["network".into()],
                ..SectionData::default()
            }],
            appendix: Some(Appendix {
                summary: "All figures".into(),
                table: TableData::default(),
            }),
            ..PageData::default()
        };
        let html = render(&page);
        assert!(html.starts_with("<!DOCTYPE html>"));
        for needle in [
            "<title>dctwin run: a &lt;b&gt;</title>",
            "<p>x &amp; y</p>",
            "<div class=\"value\">12.0 GWh</div>",
            "<h2>Months</h2>",
            "<tr><td>Jan</td><td>1.00 GWh</td></tr>",
            "<tfoot><tr><td>total</td><td>12.0 GWh</td></tr></tfoot>",
            "<h2>Site</h2>",
            "<svg viewBox=\"0 0 1 1\"></svg>",
            "<figcaption>racks</figcaption>",
            "<li>network</li>",
            "<summary>All figures</summary>",
            "<dt>seed</dt><dd>42</dd>",
            "<p>x &amp; y</p>",
        ] {
            assert!(html.contains(needle), "{needle} missing from\n{html}");
        }
        assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="));
        assert_eq!(html, render(&page));
    }
}
