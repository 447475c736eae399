//! Failure trace reader: `time_s,component,unit` CSV rows replayed by the failures part instead of drawn
//! failures. `component` is a class name (`gpu`, `gpu_memory`, `link`, `host`, `leaf_switch`, `pdu`,
//! `power_shelf`, `spine_switch`); `unit` its index in site order (a GPU, server, leaf, rack or spine index, by
//! the class's scope).

use std::path::Path;

use models::reliability::{Component, Domains, FailureRecord};

use super::text::{Lines, found, header_columns, read_text, split_into, width_error};
use crate::error::InputError;

/// Reads a failure trace; every unit must exist in `domains`, every component be one of `known` (the classes
/// the scenario configures: their repair times apply) and every time lie in `[0, max_time_s]`.
pub fn read_failure_trace(
    path: &Path,
    domains: &Domains,
    known: &[Component],
    max_time_s: f64,
) -> Result<Vec<FailureRecord>, InputError> {
    parse_failure_trace(
        &read_text(path, "failure trace")?,
        path,
        domains,
        known,
        max_time_s,
    )
}

/// [`read_failure_trace`] of text in memory; `path` names it in errors.
pub fn parse_failure_trace(
    text: &str,
    path: &Path,
    domains: &Domains,
    known: &[Component],
    max_time_s: f64,
) -> Result<Vec<FailureRecord>, InputError> {
    const WHAT: &str = "failure trace";
    let mut lines = Lines::new(text);
    let ([c_t, c_c, c_u], width) =
        header_columns(path, &mut lines, ["time_s", "component", "unit"], WHAT)?;
    let mut f = Vec::new();
    let mut out = Vec::new();
    for (ln, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        split_into(line, &mut f);
        if f.len() != width {
            return Err(width_error(path, ln, width, f.len()));
        }
        let time_s = match f[c_t].parse::<f64>() {
            Ok(v) if v.is_finite() && (0.0..=max_time_s).contains(&v) => v,
            _ => {
                return Err(InputError::line_field(
                    path,
                    ln,
                    "time_s",
                    format!(
                        "expected seconds in [0, {max_time_s}], found {}",
                        found(f[c_t])
                    ),
                ));
            }
        };
        let Some(component) = Component::from_name(f[c_c]) else {
            let names: Vec<&str> = Component::ALL.iter().map(|c| c.name()).collect();
            return Err(InputError::line_field(
                path,
                ln,
                "component",
                format!(
                    "expected one of {}, found {}",
                    names.join(", "),
                    found(f[c_c])
                ),
            ));
        };
        if !known.contains(&component) {
            return Err(InputError::line_field(
                path,
                ln,
                "component",
                format!(
                    "`{}` has no class in the scenario's `failures.classes` (its repair time comes from there)",
                    component.name()
                ),
            ));
        }
        let units = domains.units(component.scope());
        let unit = match f[c_u].parse::<u32>() {
            Ok(u) if u < units => u,
            _ => {
                return Err(InputError::line_field(
                    path,
                    ln,
                    "unit",
                    format!(
                        "expected a {} index in 0..{units} (the site's {} count), found {}",
                        component.name(),
                        scope_noun(component),
                        found(f[c_u])
                    ),
                ));
            }
        };
        out.push(FailureRecord {
            time_s,
            component,
            unit,
        });
    }
    // Replayed in time order; equal times keep file order.
    out.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
    Ok(out)
}

fn scope_noun(c: Component) -> &'static str {
    match c.scope() {
        models::reliability::Scope::Gpu => "GPU",
        models::reliability::Scope::Server => "server",
        models::reliability::Scope::Leaf => "leaf switch",
        models::reliability::Scope::Rack => "rack",
        models::reliability::Scope::Spine => "spine switch",
    }
}
