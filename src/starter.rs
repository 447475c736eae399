//! `dctwin init`, `dctwin catalog`, `dctwin completions` and `dctwin man`: commented starting scenarios, the
//! built-in catalog listed, shell completions and the man page.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use clap::ValueEnum;
use scenario::catalog::CatalogFile;

/// A starting scenario `dctwin init` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Template {
    /// 256 H100 in 32 HGX servers running a synthetic stream of training jobs for a day.
    TrainingCluster,
    /// 4 Llama-2-70B replicas on HGX H100 servers serving a diurnal day of requests.
    InferenceFleet,
    /// 512 H100 with the facility simulated: power chain, chillers and economizer, water, carbon, cost.
    GreenHall,
}

impl Template {
    /// The name on the command line (`training-cluster`), also the scenario's `name` as written.
    pub fn name(self) -> &'static str {
        match self {
            Template::TrainingCluster => "training-cluster",
            Template::InferenceFleet => "inference-fleet",
            Template::GreenHall => "green-hall",
        }
    }

    /// The commented scenario text (`scenarios/init/<name>.ron`, built into the binary).
    pub fn text(self) -> &'static str {
        match self {
            Template::TrainingCluster => include_str!("../scenarios/init/training-cluster.ron"),
            Template::InferenceFleet => include_str!("../scenarios/init/inference-fleet.ron"),
            Template::GreenHall => include_str!("../scenarios/init/green-hall.ron"),
        }
    }

    /// The text with the scenario named `name` (the output directory is `out/<name>/`) when `name` is a plain
    /// file stem (letters, digits, `-`, `_`); otherwise the template's own name stays.
    pub fn text_named(self, name: &str) -> String {
        let plain = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let text = self.text();
        if !plain {
            return text.to_string();
        }
        text.replacen(
            &format!("name: \"{}\",", self.name()),
            &format!("name: \"{name}\","),
            1,
        )
    }
}

/// `dctwin init TEMPLATE [FILE]`: writes the template to FILE (default `<template>.ron`; `-` for stdout),
/// refusing to replace an existing file unless `force`. Returns what to print.
pub fn init(template: Template, file: Option<&Path>, force: bool) -> Result<String, String> {
    let default = format!("{}.ron", template.name());
    let path = file.unwrap_or(Path::new(&default));
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        out.write_all(template.text().as_bytes())
            .map_err(|e| format!("writing to stdout: {e}"))?;
        return Ok(String::new());
    }
    if path.exists() && !force {
        return Err(format!(
            "{} exists: choose another file or pass --force to replace it",
            path.display()
        ));
    }
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    std::fs::write(path, template.text_named(stem))
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(format!(
        "Wrote {p} ({t} starting scenario). Next:\n  dctwin validate {p}\n  dctwin run {p}\n",
        p = path.display(),
        t = template.name()
    ))
}

/// `dctwin catalog`: the catalog's GPU models and server templates as two aligned tables.
pub fn catalog_listing(c: &CatalogFile, origin: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "GPU models ({origin})");
    let gpus: Vec<Vec<String>> = c
        .gpus
        .iter()
        .map(|g| {
            vec![
                g.name.clone(),
                format!("{:.0}", g.board_power_w),
                format!("{:.0}", g.idle_power_w),
                format!("{} {:?}", trim(g.peak_tflops), g.precision).to_uppercase(),
                trim(g.memory_gb),
                trim(g.memory_bandwidth_tbs),
                if g.scaleup_link_gbs > 0.0 {
                    trim(g.scaleup_link_gbs)
                } else {
                    "-".to_string()
                },
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "name",
            "board W",
            "idle W",
            "peak TFLOP/s",
            "memory GB",
            "memory TB/s",
            "scale-up GB/s",
        ],
        &gpus,
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Server templates ({origin}; a scenario's own template of the same name wins)"
    );
    let templates: Vec<Vec<String>> = c
        .server_templates
        .iter()
        .map(|(name, t)| {
            let board = c
                .gpus
                .iter()
                .find(|g| g.name == t.gpu_model)
                .map(|g| g.board_power_w)
                .unwrap_or(0.0);
            let idle = t.host.idle_w.unwrap_or(0.0);
            let max = t.host.max_w.unwrap_or(idle);
            let full_kw = (t.gpus as f64 * board + max) / t.host.psu_efficiency / 1e3;
            vec![
                name.clone(),
                format!("{} × {}", t.gpus, t.gpu_model),
                format!("{idle:.0} / {max:.0}"),
                format!("{:.2}", t.host.psu_efficiency),
                format!("{full_kw:.2}"),
                source_title(&t.source),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "name",
            "GPUs",
            "host idle / max W",
            "PSU η",
            "full load kW",
            "source",
        ],
        &templates,
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Template sources in full");
    for (name, t) in &c.server_templates {
        let _ = writeln!(out, "  {name}: {}", t.source);
    }
    out
}

/// The title of a template's `source` for the table: the text before its first parenthesis, colon or
/// semicolon, at most 48 characters (the full text follows the table).
fn source_title(source: &str) -> String {
    let end = source.find(['(', ':', ';']).unwrap_or(source.len());
    let title = source[..end].trim();
    if title.chars().count() > 48 {
        let cut: String = title.chars().take(47).collect();
        format!("{}…", cut.trim_end())
    } else {
        title.to_string()
    }
}

/// Appends a left-aligned table, two spaces between columns, the header underlined.
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let line = |cells: Vec<&str>| {
        let mut l = String::from(" ");
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            l.push(' ');
            l.push_str(c);
            if i + 1 < cells.len() {
                l.push_str(&" ".repeat(pad + 1));
            }
        }
        l
    };
    let _ = writeln!(out, "{}", line(header.to_vec()));
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let _ = writeln!(out, "{}", line(rule.iter().map(String::as_str).collect()));
    for r in rows {
        let _ = writeln!(out, "{}", line(r.iter().map(String::as_str).collect()));
    }
}

/// A number with at most 3 decimals, trailing zeros dropped.
fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
