//! `report.html`: one self-contained page (no scripts, no network: styles inline, charts inlined as
//! SVG). Here: the plain page of tables, sections and charts (a sweep's, a sizing study's), rendered with the
//! page template ([`crate::template`]); a run's page is composed in [`crate::pages`].

use crate::template::{FigureData, PageData, SectionData, TableData, render};

/// File name of the HTML report.
pub const REPORT_HTML: &str = "report.html";

/// A table: caption, header cells, rows of cells.
pub type Table = (String, Vec<String>, Vec<Vec<String>>);

pub use crate::template::escape;

/// A section of a page after its tables: a heading (`<h2>`), paragraphs, then tables whose captions are
/// `<h3>` headings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Section {
    /// The heading.
    pub heading: String,
    /// Paragraphs of text under the heading.
    pub paragraphs: Vec<String>,
    /// Tables after the paragraphs.
    pub tables: Vec<Table>,
}

/// Renders the page: `title`, paragraphs of `intro` text, one table per `(caption, header, rows)`,
/// then each `(caption, svg)` chart inlined. Deterministic: no dates, no random identifiers.
pub fn page(
    title: &str,
    intro: &[String],
    tables: &[Table],
    charts: &[(String, String)],
) -> String {
    page_with_sections(title, intro, tables, &[], charts)
}

/// A [`Table`] as the template's table.
pub fn table_data((caption, header, rows): &Table) -> TableData {
    TableData {
        caption: caption.clone(),
        header: header.clone(),
        rows: rows.clone(),
        ..TableData::default()
    }
}

/// A [`Section`] as the template's section.
pub fn section_data(s: &Section) -> SectionData {
    SectionData {
        heading: s.heading.clone(),
        paragraphs: s.paragraphs.clone(),
        tables: s.tables.iter().map(table_data).collect(),
        ..SectionData::default()
    }
}

/// [`page`] with `sections` between the tables and the charts (none: the same page as [`page`]). Rendered
/// with the page template ([`crate::template`]).
pub fn page_with_sections(
    title: &str,
    intro: &[String],
    tables: &[Table],
    sections: &[Section],
    charts: &[(String, String)],
) -> String {
    render(&PageData {
        title: title.to_string(),
        intro: intro.to_vec(),
        tables: tables.iter().map(table_data).collect(),
        sections: sections.iter().map(section_data).collect(),
        charts: charts
            .iter()
            .map(|(caption, svg)| FigureData {
                title: None,
                svg: svg.trim().to_string(),
                caption: caption.clone(),
            })
            .collect(),
        ..PageData::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_is_self_contained_and_escaped() {
        let p = page(
            "a <b>",
            &["x & y".into()],
            &[(
                "t".into(),
                vec!["figure".into(), "v".into()],
                vec![vec!["e".into(), "1".into()]],
            )],
            &[("c".into(), "<svg></svg>".into())],
        );
        assert!(p.starts_with("<!DOCTYPE html>"));
        assert!(p.contains("<h1>a &lt;b&gt;</h1>") && p.contains("<p>x &amp; y</p>"));
        assert!(p.contains("<td>1</td>") && p.contains("<svg></svg>"));
        assert!(!p.contains("http") && !p.contains("<script"));
        assert!(!p.contains("<section>"));
    }

    #[test]
    fn sections_come_between_the_tables_and_the_charts() {
        let t: Table = (
            "t".into(),
            vec!["figure".into(), "v".into()],
            vec![vec!["e".into(), "1".into()]],
        );
        let charts = [("c".to_string(), "<svg></svg>".to_string())];
        let plain = page("a", &[], std::slice::from_ref(&t), &charts);
        assert_eq!(
            plain,
            page_with_sections("a", &[], std::slice::from_ref(&t), &[], &charts)
        );
        let sec = Section {
            heading: "Failures & repairs".into(),
            paragraphs: vec!["3 < 4".into()],
            tables: vec![(
                "By class".into(),
                vec!["component".into()],
                vec![vec!["gpu".into()]],
            )],
        };
        let p = page_with_sections("a", &[], &[t], &[sec], &charts);
        let at = |needle: &str| p.find(needle).unwrap_or_else(|| panic!("{needle} in {p}"));
        assert!(at("<h2>t</h2>") < at("<section>"));
        assert!(at("<h2>Failures &amp; repairs</h2>") < at("<p>3 &lt; 4</p>"));
        assert!(at("<p>3 &lt; 4</p>") < at("<h3>By class</h3>"));
        assert!(at("<td>gpu</td>") < at("</section>") && at("</section>") < at("<figure>"));
    }
}
