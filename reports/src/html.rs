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

/// Renders the page: `title`, paragraphs of `intro` text, one table per `(caption, header, rows)`,
/// then each `(caption, svg)` chart inlined. Deterministic: no dates, no random identifiers.
pub fn page(
    title: &str,
    intro: &[String],
    tables: &[Table],
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
    for (caption, header, rows) in tables {
        let _ = writeln!(h, "<h2>{}</h2>\n<table>", escape(caption));
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
    }
}
