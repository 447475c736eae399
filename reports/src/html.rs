//! `report.html`: one self-contained page (no scripts, no network: styles inline, charts inlined as
//! SVG) with the description, a table of figures and every chart of a run or a sweep.

use std::fmt::Write as _;

/// File name of the HTML report.
pub const REPORT_HTML: &str = "report.html";

/// A table: caption, header cells, rows of cells.
pub type Table = (String, Vec<String>, Vec<Vec<String>>);

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

/// [`page`] with `sections` between the tables and the charts (none: the same page as [`page`]).
pub fn page_with_sections(
    title: &str,
    intro: &[String],
    tables: &[Table],
    sections: &[Section],
    charts: &[(String, String)],
) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n\
         body {{ font-family: sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }}\n\
         table {{ border-collapse: collapse; margin: 1em 0; }}\n\
         th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; }}\n\
         td {{ text-align: right; font-variant-numeric: tabular-nums; }}\n\
         td:first-child, th {{ text-align: left; }}\n\
         figure {{ margin: 1.5em 0; }} svg {{ max-width: 100%; height: auto; }}\n\
         </style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );
    for p in intro {
        let _ = writeln!(h, "<p>{}</p>", escape(p));
    }
    for t in tables {
        write_table(&mut h, "h2", t);
    }
    for s in sections {
        let _ = writeln!(h, "<section>\n<h2>{}</h2>", escape(&s.heading));
        for p in &s.paragraphs {
            let _ = writeln!(h, "<p>{}</p>", escape(p));
        }
        for t in &s.tables {
            write_table(&mut h, "h3", t);
        }
        h.push_str("</section>\n");
    }
    for (caption, svg) in charts {
        let _ = writeln!(
            h,
            "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>",
            svg.trim(),
            escape(caption)
        );
    }
    h.push_str("</body>\n</html>\n");
    h
}

/// A table with its caption as a `heading` (`h2`, `h3`) element before it.
fn write_table(h: &mut String, heading: &str, (caption, header, rows): &Table) {
    let _ = writeln!(h, "<{heading}>{}</{heading}>\n<table>", escape(caption));
    let _ = writeln!(
        h,
        "<tr>{}</tr>",
        header
            .iter()
            .map(|c| format!("<th>{}</th>", escape(c)))
            .collect::<String>()
    );
    for r in rows {
        let _ = writeln!(
            h,
            "<tr>{}</tr>",
            r.iter()
                .map(|c| format!("<td>{}</td>", escape(c)))
                .collect::<String>()
        );
    }
    h.push_str("</table>\n");
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
