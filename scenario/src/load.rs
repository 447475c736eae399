//! Loading a scenario: RON parsing with positions, `--set` overrides, path resolution, the catalog,
//! semantic validation, and reading the site and trace files it names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use models::catalog::{self, Catalog};
use models::placement;
use models::site::SiteModel;
use models::workload::JobSpec;
use ron::extensions::Extensions;
use serde::de::DeserializeOwned;

use crate::catalog::CatalogFile;
use crate::error::{FieldErrorExt, InputError, Location};
use crate::format::{
    Layout, NodeListSite, Scenario, ServerTemplate, SharedServing, Site, SyntheticJobs, TraceFile,
    Workload,
};
pub use crate::overlay::Override;
use crate::site;
use crate::trace;

/// Longest horizon accepted: 100 years (SimTime holds 584).
pub const MAX_HORIZON_S: f64 = 100.0 * 365.25 * 86_400.0;
/// Most time-series samples one run may produce.
pub const MAX_SAMPLES: f64 = 10_000_000.0;

/// A parsed, validated scenario with everything it refers to loaded.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The scenario file.
    pub file: PathBuf,
    /// The scenario after overrides; relative paths resolved against the scenario's directory.
    pub scenario: Scenario,
    pub catalog: Catalog,
    pub site: SiteModel,
    /// Jobs of a trace workload, in submission order (`None` for synthetic workloads).
    pub trace_jobs: Option<Vec<JobSpec>>,
    /// GPU model mask of each trace job (parallel to `trace_jobs`).
    pub trace_masks: Vec<u64>,
    /// GPU model mask of synthetic jobs.
    pub synthetic_mask: u64,
    /// Requests of an inference trace, in arrival order.
    pub inference_requests: Option<Vec<trace::LlmRequest>>,
    /// Model estimates of a training workload, parallel to `trace_jobs` (submission order).
    pub training: Option<Vec<TrainingJobInfo>>,
    /// The facility models, weather and carbon series, when the scenario has a `facility` section.
    pub facility: Option<LoadedFacility>,
    /// The failure model with its domains and trace, when the scenario has a `failures` section.
    pub failures: Option<LoadedFailures>,
}

/// A scenario's failure model resolved for its site: the failure domains (from the fabric's leaves when the
/// workload has a fabric) and the trace to replay, if any.
#[derive(Debug, Clone)]
pub struct LoadedFailures {
    pub config: models::reliability::FailureConfig,
    pub domains: models::reliability::Domains,
    pub trace: Option<Vec<models::reliability::FailureRecord>>,
}

fn load_failures(
    file: &Path,
    base: &Path,
    s: &Scenario,
    site: &SiteModel,
) -> Result<Option<LoadedFailures>, InputError> {
    let Some(cfg) = &s.failures else {
        return Ok(None);
    };
    let fabric = match &s.workload {
        Workload::Training(t) => match &t.comm {
            models::training::CommModel::Fabric(c) => Some(
                models::network::Fabric::from_site(c, site)
                    .map_err(|m| InputError::field(file, "workload.Training.comm.Fabric", m))?,
            ),
            models::training::CommModel::AlphaBeta(_) => None,
        },
        _ => None,
    };
    let domains = models::reliability::Domains::new(
        site,
        fabric.as_ref().map(|f| f.topology().leaf.as_slice()),
        fabric.as_ref().map_or(0, |f| f.topology().spines()),
    );
    let trace = match &cfg.trace {
        Some(p) => {
            let known: Vec<_> = cfg.classes.iter().map(|c| c.component).collect();
            Some(crate::readers::read_failure_trace(
                &resolve(base, p),
                &domains,
                &known,
                MAX_HORIZON_S,
            )?)
        }
        None => None,
    };
    Ok(Some(LoadedFailures {
        config: cfg.clone(),
        domains,
        trace,
    }))
}

/// A scenario's facility, resolved for its site and with its data files read.
#[derive(Debug, Clone)]
pub struct LoadedFacility {
    pub facility: models::facility::Facility,
    pub weather: models::facility::weather::WeatherSeries,
    pub carbon: Option<models::facility::carbon::CarbonSeries>,
    pub config: models::facility::FacilityConfig,
    /// Nameplate IT power the plant and power chain are sized for: every server at full GPU and host
    /// power, at its power-supply input, W.
    pub design_it_w: f64,
    /// The site's cooling zone (rack inlet temperature model).
    pub thermal: models::facility::thermal::ThermalSpec,
}

fn load_facility(
    file: &Path,
    base: &Path,
    cfg: &models::facility::FacilityConfig,
    site: &SiteModel,
    catalog: &Catalog,
) -> Result<LoadedFacility, InputError> {
    cfg.check()
        .map_err(|e| e.within("facility").into_input_error(file))?;
    let weather = match &cfg.weather {
        Some(w) => crate::readers::load_weather(w, base)?,
        None => models::facility::weather::WeatherSeries::constant(
            models::facility::weather::WeatherPoint::STANDARD,
        ),
    };
    let carbon = cfg
        .carbon
        .as_ref()
        .map(|c| crate::readers::load_carbon(c, base))
        .transpose()?;
    let design_it_w: f64 = site
        .servers
        .iter()
        .map(|s| {
            let g = &catalog.gpus[s.gpu_model];
            s.host.nameplate_input_w(s.gpus, g.board_power_w)
        })
        .sum();
    let thermal = models::facility::thermal::ThermalSpec::new(
        &cfg.thermal,
        site.servers.len() as u64,
        site.racks as u64,
        site.gpus_total(),
        design_it_w,
        cfg.cooling.liquid.as_ref().map_or(0.0, |l| l.fraction),
    );
    Ok(LoadedFacility {
        facility: cfg.resolve(design_it_w),
        weather,
        carbon,
        config: cfg.clone(),
        design_it_w,
        thermal,
    })
}

/// What the training model predicts for one job.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingJobInfo {
    /// The job's index in the scenario's `workload.Training.jobs` (`LoadedScenario::training` is in
    /// submission order, not list order).
    pub index: usize,
    pub name: String,
    pub gpu_model: String,
    pub gpus: u64,
    pub estimate: models::training::TrainingEstimate,
    /// `estimate.run_gpu_activity` in thousandths (the resolution of the power model).
    pub activity_milli: u16,
    /// The plan's checkpointing (what a preempted job keeps), its write time resolved.
    pub checkpoint: Option<models::training::Checkpoint>,
    /// The checkpoint's size, B, when its writes and its loads at restarts go through the storage system (a
    /// `storage` section and no `write_s`); None: writes stall `write_s` and a restart takes `restart_s`.
    pub storage_bytes: Option<f64>,
    /// The plan, and the GPUs per server of its GPU model (the fabric prices it as placed).
    pub plan: models::training::TrainingPlan,
    pub gpus_per_server: u32,
    /// Input power of one of its servers through the step's phases (peak, mean, trough), W.
    pub node_power: models::training::NodePower,
}

impl LoadedScenario {
    /// One paragraph describing the site and the workload.
    pub fn describe(&self) -> String {
        let s = &self.scenario;
        let workload = match (&s.workload, &self.trace_jobs) {
            (Workload::Synthetic(w), _) => format!(
                "synthetic jobs (mean interarrival {:.1} s, mean duration {:.1} s)",
                w.interarrival_s.mean_s(),
                w.duration_s.mean_s()
            ),
            (Workload::NativeTrace(t), Some(j))
            | (Workload::AlibabaPods(t), Some(j))
            | (Workload::PhillyLog(t), Some(j))
            | (Workload::HeliosLog(t), Some(j)) => {
                format!("{} jobs replayed from {}", j.len(), t.path.display())
            }
            (Workload::Training(t), _) => format!(
                "{} model-driven training job(s) ({})",
                t.jobs.len(),
                t.jobs
                    .iter()
                    .map(|j| format!(
                        "{} on {} {}",
                        j.name,
                        j.plan.parallelism.gpus(),
                        j.gpu_model
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (Workload::Inference(w), _) => {
                let d = &w.deployment;
                let reqs = match (&w.requests, &self.inference_requests) {
                    (_, Some(r)) => format!("{} requests replayed from a trace", r.len()),
                    (models::inference::config::RequestSource::Synthetic(_), _) => {
                        "synthetic requests".to_string()
                    }
                    _ => "requests".to_string(),
                };
                let long = match &w.long_horizon {
                    Some(lh) => format!(
                        "; long-horizon mode: one {:.0} s window per distinct hourly rate on {} replica(s)",
                        lh.window_s,
                        lh.sampled(d.replicas)
                    ),
                    None => String::new(),
                };
                format!(
                    "LLM inference: {} ({:.0}B parameters) on {} replica(s) × {} {} (tensor parallel), {:?} router; {}{}",
                    d.model.name,
                    d.model.params / 1e9,
                    d.replicas,
                    d.tp,
                    d.gpu_model,
                    w.router,
                    reqs,
                    long
                )
            }
            _ => "trace".to_string(),
        };
        let serving = match &s.serving {
            Some(sv) => {
                let d = &sv.inference.deployment;
                format!(
                    " Shared fleet: LLM inference ({} on up to {} replica(s) × {} {}) has priority over the jobs \
                     ({:?} to make room).",
                    d.model.name,
                    sv.inference.replica_slots(),
                    d.tp,
                    d.gpu_model,
                    sv.make_room
                )
            }
            None => String::new(),
        };
        let facility = if self.facility.is_some() {
            "Facility: power chain, cooling plant, water and carbon are simulated with the weather."
        } else {
            "Facility overhead (cooling, power-chain losses) is not modelled: reports give IT energy only."
        };
        format!(
            "Scenario `{}` (seed {}, horizon {:.2} h): {}. Workload: {}.{serving} Scheduler: {:?} queue, {:?} \
             placement. {facility}",
            s.name,
            s.seed,
            s.horizon_s / 3600.0,
            self.site.describe(&self.catalog),
            workload,
            s.scheduler.queue,
            s.scheduler.placement
        )
    }
}

fn read_text(path: &Path) -> Result<String, InputError> {
    let bytes = std::fs::read(path)
        .map_err(|e| InputError::file(path, format!("cannot read file: {e}")))?;
    crate::utf8::into_text(path, "file", bytes)
}

/// Parses RON text into `T`, mapping errors to file:line:col.
pub fn parse_ron<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, InputError> {
    let opts = ron::Options::default()
        .with_default_extension(Extensions::IMPLICIT_SOME | Extensions::UNWRAP_VARIANT_NEWTYPES);
    opts.from_str::<T>(text).map_err(|e| {
        let mut message = e.code.to_string();
        let mut at = (e.span.start.line, e.span.start.col);
        if let Some(key) = message
            .strip_prefix(crate::format::DUPLICATE_KEY)
            .and_then(|m| m.split('`').next())
        {
            let places = key_positions(text, key);
            if places.len() >= 2 {
                at = places[1];
                message = format!(
                    "{}{key}`: defined at {}:{} and again at {}:{}; each name may be defined once",
                    crate::format::DUPLICATE_KEY,
                    places[0].0,
                    places[0].1,
                    places[1].0,
                    places[1].1
                );
            }
        }
        InputError::new(
            path,
            Location::LineCol {
                line: at.0,
                col: at.1,
            },
            message,
        )
    })
}

/// 1-based (line, column) of each `"key"` followed by `:` in a RON text (map keys).
fn key_positions(text: &str, key: &str) -> Vec<(usize, usize)> {
    let quoted = format!("\"{key}\"");
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut from = 0;
        while let Some(p) = line[from..].find(&quoted) {
            let start = from + p;
            let after = &line[start + quoted.len()..];
            if after.trim_start().starts_with(':') {
                out.push((i + 1, line[..start].chars().count() + 1));
            }
            from = start + quoted.len();
        }
    }
    out
}

/// The node at a dotted field `path` of a scenario's JSON image; the error names the first segment that
/// does not exist and what is there instead.
fn field_at_mut<'a>(
    root: &'a mut serde_json::Value,
    path: &str,
) -> Result<&'a mut serde_json::Value, String> {
    let mut node = root;
    let mut walked = String::new();
    for seg in path.split('.') {
        let next = match node {
            serde_json::Value::Object(map) => {
                if !map.contains_key(seg) {
                    let keys: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
                    return Err(format!(
                        "no field `{seg}` under `{}` (fields there: {})",
                        if walked.is_empty() {
                            "<scenario>"
                        } else {
                            &walked
                        },
                        keys.join(", ")
                    ));
                }
                map.get_mut(seg).expect("checked")
            }
            serde_json::Value::Array(items) => {
                let i: usize = seg.parse().map_err(|_| {
                    format!("`{walked}` is a list: expected an index, found `{seg}`")
                })?;
                let n = items.len();
                items.get_mut(i).ok_or_else(|| {
                    format!("`{walked}` has {n} entries; index {i} is out of range")
                })?
            }
            serde_json::Value::String(s) => {
                return Err(format!(
                    "`{walked}` is the unit variant or string `{s}`; it has no field `{seg}`"
                ));
            }
            serde_json::Value::Null => {
                return Err(format!("`{walked}` is unset; set it whole instead"));
            }
            _ => {
                return Err(format!(
                    "`{walked}` is a plain value; it has no field `{seg}`"
                ));
            }
        };
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(seg);
        node = next;
    }
    Ok(node)
}

/// The value of the dotted field `path` of `scenario` (as `--set` names it) in the scenario's JSON image:
/// a number, a string, `null` for an unset optional field, or a structure. The error says which segment
/// does not exist.
pub fn field_value(scenario: &Scenario, path: &str) -> Result<serde_json::Value, String> {
    let mut image = serde_json::to_value(scenario)
        .map_err(|e| format!("cannot read fields of this scenario: {e}"))?;
    field_at_mut(&mut image, path).map(std::mem::take)
}

/// Applies one override to the JSON image of a scenario.
fn apply_override(root: &mut serde_json::Value, ov: &Override) -> Result<(), String> {
    let node = field_at_mut(root, &ov.path)?;
    let raw = ov.value.trim();
    let new = if node.is_string() {
        // Strings (paths, names) take the text as is; quotes are optional.
        let unquoted = raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(raw);
        serde_json::Value::String(unquoted.to_string())
    } else {
        match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(v) => v,
            Err(_) if !raw.is_empty() && raw.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                // A bare word: a unit enum variant such as `Fifo`.
                serde_json::Value::String(raw.to_string())
            }
            Err(e) => {
                return Err(format!(
                    "cannot read `{raw}` as a value ({e}); give numbers as `3600`, words as `Fifo`, \
                     and structured values as JSON, e.g. {{\"Exponential\":{{\"mean_s\":60.0}}}}"
                ));
            }
        }
    };
    *node = new;
    Ok(())
}

/// Applies overrides by way of the scenario's JSON image, then checks the result is still a scenario.
pub fn apply_overrides(
    file: &Path,
    scenario: Scenario,
    overrides: &[Override],
) -> Result<Scenario, InputError> {
    if overrides.is_empty() {
        return Ok(scenario);
    }
    let mut value = serde_json::to_value(&scenario).map_err(|e| {
        InputError::file(
            file,
            format!("cannot apply --set overrides to this scenario: {e}"),
        )
    })?;
    for ov in overrides {
        apply_override(&mut value, ov).map_err(|m| {
            InputError::field(
                file,
                &ov.path,
                format!("in `--set {}={}`: {m}", ov.path, ov.value),
            )
        })?;
    }
    serde_json::from_value(value).map_err(|e| {
        let paths: Vec<String> = overrides
            .iter()
            .map(|o| format!("{}={}", o.path, o.value))
            .collect();
        InputError::file(
            file,
            format!("after `--set {}`: {e}", paths.join(" --set ")),
        )
    })
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn check_finite_pos(file: &Path, field: &str, v: f64) -> Result<(), InputError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(InputError::field(
            file,
            field,
            format!("must be a finite number > 0, found {v}"),
        ))
    }
}

fn check_host(file: &Path, field: &str, h: &crate::format::HostPower) -> Result<(), InputError> {
    let bad = |f: &str, m: String| Err(InputError::field(file, &format!("{field}.{f}"), m));
    match (&h.components, h.idle_w, h.max_w) {
        (Some(c), None, None) => {
            if let Err(e) = c.check() {
                return Err(e.within(field).into_input_error(file));
            }
        }
        (Some(_), _, _) => {
            return bad(
                "components",
                "give either `components` or `idle_w` and `max_w`, not both (the components replace them)"
                    .into(),
            );
        }
        (None, Some(idle), Some(max)) => {
            if !(idle.is_finite() && idle >= 0.0) {
                return bad(
                    "idle_w",
                    format!("must be a finite number ≥ 0, found {idle}"),
                );
            }
            if !(max.is_finite() && max >= idle) {
                return bad(
                    "max_w",
                    format!("must be finite and ≥ idle_w ({idle}), found {max}"),
                );
            }
        }
        (None, idle, _) => {
            let missing = if idle.is_none() { "idle_w" } else { "max_w" };
            return bad(
                missing,
                "is required (the host's power idle and with every GPU allocated), or give `components`"
                    .into(),
            );
        }
    }
    if !(h.psu_efficiency.is_finite() && h.psu_efficiency >= 0.5 && h.psu_efficiency <= 1.0) {
        return bad(
            "psu_efficiency",
            format!(
                "must be in [0.5, 1] (server PSUs are 0.9–0.96), found {}",
                h.psu_efficiency
            ),
        );
    }
    if let Some(c) = &h.psu_curve
        && let Err(e) = c.check()
    {
        return Err(e.within(field).into_input_error(file));
    }
    Ok(())
}

/// Loads, overrides, resolves and validates a scenario, and reads the files it names.
pub fn load_scenario(
    file: &Path,
    overrides: &[Override],
    seed: Option<u64>,
) -> Result<LoadedScenario, InputError> {
    let s = read_scenario(file, overrides, seed)?;
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    load_parsed(file, &base, s)
}

/// [`load_scenario`] of a scenario already parsed and overridden (the Python API builds one from a dict):
/// `file` names it in errors and relative paths inside it resolve against `base`.
pub fn load_parsed(
    file: &Path,
    base: &Path,
    mut s: Scenario,
) -> Result<LoadedScenario, InputError> {
    let base = base.to_path_buf();
    crate::bounds::check(&s).map_err(|(path, m)| InputError::field(file, &path, m))?;
    check_scalars(file, &s)?;
    let (catalog, catalog_templates) = load_catalog(file, &base, &mut s)?;
    let builtin_templates: Vec<String> = catalog_templates.keys().cloned().collect();
    add_catalog_templates(&mut s.site, &catalog_templates);
    let site = build_site(file, &base, &mut s.site, &catalog, &builtin_templates)?;
    if let Some(st) = &s.storage {
        st.check()
            .map_err(|e| e.within("storage").into_input_error(file))?;
    }
    if let Some(f) = &s.failures {
        f.check()
            .map_err(|e| e.within("failures").into_input_error(file))?;
    }
    let ctx = TrainingContext {
        failures: s.failures.clone(),
        storage: s.storage,
    };
    let WorkloadParts {
        trace_jobs,
        trace_masks,
        synthetic_mask,
        mut inference_requests,
        training,
    } = load_workload(file, &base, &mut s.workload, &catalog, &site, &ctx)?;
    if let Some(sv) = &mut s.serving {
        inference_requests = load_serving(
            file,
            &base,
            sv,
            inference_requests.is_some() || matches!(s.workload, Workload::Inference(_)),
            &catalog,
            &site,
        )?;
    }
    if let Some(c) = s.scheduler.job_checkpoint_s
        && !(c.is_finite() && c > 0.0)
    {
        return Err(InputError::field(
            file,
            "scheduler.job_checkpoint_s",
            format!("expected seconds > 0, found {c}"),
        ));
    }
    let facility = match &s.facility {
        Some(cfg) => Some(load_facility(file, &base, cfg, &site, &catalog)?),
        None => None,
    };
    check_inference_cap(file, &s, &catalog, &site)?;
    check_maintenance(file, &s, &site)?;
    if let Some(r) = s.scheduler.job_restart_s
        && !(r.is_finite() && (0.0..=MAX_HORIZON_S).contains(&r))
    {
        return Err(InputError::field(
            file,
            "scheduler.job_restart_s",
            format!("expected seconds in [0, {MAX_HORIZON_S}], found {r}"),
        ));
    }
    let failures = load_failures(file, &base, &s, &site)?;

    Ok(LoadedScenario {
        file: file.to_path_buf(),
        scenario: s,
        catalog,
        site,
        trace_jobs,
        trace_masks,
        synthetic_mask,
        inference_requests,
        training,
        facility,
        failures,
    })
}

/// Maintenance windows name racks of the site and times that stay representable.
fn check_maintenance(file: &Path, s: &Scenario, site: &SiteModel) -> Result<(), InputError> {
    for (i, w) in s.maintenance.iter().enumerate() {
        let field = |f: &str| format!("maintenance[{i}].{f}");
        if !(w.start_s.is_finite() && (0.0..=MAX_HORIZON_S).contains(&w.start_s)) {
            return Err(InputError::field(
                file,
                &field("start_s"),
                format!(
                    "expected seconds in [0, {MAX_HORIZON_S}], found {}",
                    w.start_s
                ),
            ));
        }
        if !(w.duration_s.is_finite() && w.duration_s > 0.0 && w.duration_s <= MAX_HORIZON_S) {
            return Err(InputError::field(
                file,
                &field("duration_s"),
                format!(
                    "expected seconds in (0, {MAX_HORIZON_S}], found {}",
                    w.duration_s
                ),
            ));
        }
        if w.racks.is_empty() {
            return Err(InputError::field(
                file,
                &field("racks"),
                "names no rack".to_string(),
            ));
        }
        if let Some(r) = w.racks.iter().find(|&&r| r >= site.racks) {
            return Err(InputError::field(
                file,
                &field("racks"),
                format!(
                    "rack {r} does not exist: the site has racks 0..{}",
                    site.racks
                ),
            ));
        }
    }
    Ok(())
}

/// Reads and parses the scenario file, applies the `--set` overrides and the seed.
fn read_scenario(
    file: &Path,
    overrides: &[Override],
    seed: Option<u64>,
) -> Result<Scenario, InputError> {
    let text = read_text(file)?;
    let parsed: Scenario = parse_ron(file, &text)?;
    let mut s = apply_overrides(file, parsed, overrides)?;
    if let Some(seed) = seed {
        s.seed = seed;
    }
    Ok(s)
}

/// Checks the name, horizon, reporting interval and that the scheduler is not set for inference.
fn check_scalars(file: &Path, s: &Scenario) -> Result<(), InputError> {
    // Scalar fields.
    if s.name.trim().is_empty() {
        return Err(InputError::field(file, "name", "must not be empty"));
    }
    if !s
        .name
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(InputError::field(
            file,
            "name",
            format!(
                "`{}`: use letters, digits, `-`, `_` and `.` only (it names the output directory)",
                s.name
            ),
        ));
    }
    if !(s.horizon_s.is_finite() && s.horizon_s > 0.0 && s.horizon_s <= MAX_HORIZON_S) {
        return Err(InputError::field(
            file,
            "horizon_s",
            format!(
                "must be a number of seconds > 0 and ≤ {MAX_HORIZON_S}, found {}",
                s.horizon_s
            ),
        ));
    }
    check_finite_pos(file, "reporting.interval_s", s.reporting.interval_s)?;
    if s.horizon_s / s.reporting.interval_s > MAX_SAMPLES {
        return Err(InputError::field(
            file,
            "reporting.interval_s",
            format!(
                "{} s gives more than {MAX_SAMPLES} samples over the horizon; use a longer interval",
                s.reporting.interval_s
            ),
        ));
    }

    // The job scheduler does not place inference replicas; say so rather than ignore a chosen policy.
    if matches!(s.workload, Workload::Inference(_))
        && s.scheduler != crate::format::SchedulerConfig::default()
    {
        return Err(InputError::field(
            file,
            "scheduler",
            format!(
                "{:?} queue / {:?} placement: the job scheduler does not apply to Inference workloads (replicas are placed first fit, docs/models.md §LLM inference serving); remove `scheduler` or use the defaults",
                s.scheduler.queue, s.scheduler.placement
            ),
        ));
    }
    check_long_horizon(file, s)
}

/// Long-horizon serving (docs/models.md §Long-horizon serving) refuses what its windows cannot carry: the
/// windows run without the facility, on replicas that never stop.
fn check_long_horizon(file: &Path, s: &Scenario) -> Result<(), InputError> {
    let Workload::Inference(w) = &s.workload else {
        return Ok(());
    };
    if w.long_horizon.is_none() {
        return Ok(());
    }
    let f = s.facility.as_ref();
    let r = f.map(|f| f.power_chain.ratings);
    let found = if f.is_some_and(|f| f.capping.is_some()) {
        Some((
            "facility.capping",
            "power capping (the windows run without the facility)",
        ))
    } else if r.is_some_and(|r| r.rack_w.is_some() || r.row_w.is_some() || r.feed_w.is_some()) {
        Some((
            "facility.power_chain.ratings",
            "breaker ratings (a trip would stop replicas)",
        ))
    } else if s.failures.is_some() {
        Some((
            "failures",
            "hardware failures (replicas would differ over the year)",
        ))
    } else if !s.maintenance.is_empty() {
        Some(("maintenance", "maintenance windows"))
    } else if s.storage.is_some() {
        Some(("storage", "model loads from storage"))
    } else {
        None
    };
    match found {
        Some((field, what)) => Err(InputError::field(
            file,
            field,
            format!(
                "long-horizon serving (workload.Inference.long_horizon) does not model {what}: remove one of them"
            ),
        )),
        None => Ok(()),
    }
}

/// The catalog built into dctwin ([`crate::catalog::BUILTIN_TEXT`]), parsed; it parses and its entries check
/// (tests/catalog.rs).
pub fn builtin_catalog() -> CatalogFile {
    parse_ron(
        Path::new(crate::catalog::BUILTIN_LABEL),
        crate::catalog::BUILTIN_TEXT,
    )
    .unwrap_or_else(|e| panic!("the built-in catalog does not parse: {e}"))
}

/// Reads the catalog the scenario names (path resolved in place; none or `"builtin"`: the built-in catalog),
/// checks it and adds `extra_gpus`. Returns the GPU models and the catalog's server templates.
fn load_catalog(
    file: &Path,
    base: &Path,
    s: &mut Scenario,
) -> Result<(Catalog, BTreeMap<String, ServerTemplate>), InputError> {
    let (origin, parsed) = if crate::catalog::is_builtin(&s.catalog) {
        let origin = PathBuf::from(crate::catalog::BUILTIN_LABEL);
        let parsed = parse_ron::<CatalogFile>(&origin, crate::catalog::BUILTIN_TEXT)?;
        (origin, parsed)
    } else {
        s.catalog = resolve(base, &s.catalog);
        let text = read_text(&s.catalog)?;
        let parsed = parse_ron::<CatalogFile>(&s.catalog, &text)?;
        (s.catalog.clone(), parsed)
    };
    let templates = parsed.server_templates.clone();
    let mut catalog = parsed.gpu_catalog();
    crate::bounds::check(&parsed).map_err(|(path, m)| InputError::field(&origin, &path, m))?;
    for (i, m) in catalog.gpus.iter().enumerate() {
        catalog::check_model(m)
            .map_err(|e| e.within(&format!("gpus[{i}]")).into_input_error(&origin))?;
    }
    for (name, t) in &templates {
        let f = format!("server_templates.{name}");
        if t.gpus > 0 && catalog.index_of(&t.gpu_model).is_none() {
            return Err(InputError::field(
                &origin,
                &format!("{f}.gpu_model"),
                format!(
                    "unknown GPU model `{}` (catalog has: {})",
                    t.gpu_model,
                    catalog.names().join(", ")
                ),
            ));
        }
        check_host(&origin, &format!("{f}.host"), &t.host)?;
    }
    for (i, m) in s.extra_gpus.iter().enumerate() {
        catalog::check_model(m)
            .map_err(|e| e.within(&format!("extra_gpus[{i}]")).into_input_error(file))?;
        catalog.upsert(m.clone());
    }
    // Training's kernel overrides replace the catalog's figures for every GPU type (they are read by the training
    // step model only), so every part that prices a step sees the same kernels.
    if let Workload::Training(t) = &s.workload
        && !t.compute.is_empty()
    {
        t.compute
            .check()
            .map_err(|e| e.within("workload.Training.compute").into_input_error(file))?;
        for g in &mut catalog.gpus {
            g.kernels = t.compute.apply(g.kernels);
        }
    }
    if catalog.gpus.len() > placement::MAX_GPU_MODELS {
        return Err(InputError::file(
            &origin,
            format!(
                "at most {} GPU models are supported",
                placement::MAX_GPU_MODELS
            ),
        ));
    }
    Ok((catalog, templates))
}

/// Adds to a template layout the catalog's server templates it names but does not define (a scenario's own
/// template of the same name wins).
fn add_catalog_templates(site: &mut Site, templates: &BTreeMap<String, ServerTemplate>) {
    let Site::Layout(layout) = site else {
        return;
    };
    let named: Vec<String> = layout
        .halls
        .iter()
        .flat_map(|h| &h.rows)
        .flat_map(|r| &r.racks)
        .flat_map(|k| &k.servers)
        .map(|g| g.template.clone())
        .collect();
    for name in named {
        if !layout.server_templates.contains_key(&name)
            && let Some(t) = templates.get(&name)
        {
            layout.server_templates.insert(name, t.clone());
        }
    }
}

/// Checks the site section and expands it into servers (a node list is read; its path resolved in place).
fn build_site(
    file: &Path,
    base: &Path,
    site: &mut Site,
    catalog: &Catalog,
    catalog_templates: &[String],
) -> Result<SiteModel, InputError> {
    let site = match site {
        Site::Layout(layout) => {
            check_layout(file, layout, catalog, catalog_templates)?;
            site::expand_layout(layout, catalog)
                .map_err(|m| InputError::field(file, "site.Layout", m))?
        }
        Site::AlibabaNodes(cfg) => node_list_site(file, base, cfg, catalog)?,
    };
    if site.servers.is_empty() {
        return Err(InputError::field(file, "site", "the site has no servers"));
    }
    Ok(site)
}

/// Checks a template layout: known GPU models and templates, host power, no empty or zero-count level.
fn check_layout(
    file: &Path,
    layout: &Layout,
    catalog: &Catalog,
    catalog_templates: &[String],
) -> Result<(), InputError> {
    for (name, t) in &layout.server_templates {
        let f = format!("site.Layout.server_templates.{name}");
        if t.gpus > 0 && catalog.index_of(&t.gpu_model).is_none() {
            return Err(InputError::field(
                file,
                &format!("{f}.gpu_model"),
                format!(
                    "unknown GPU model `{}` (catalog has: {})",
                    t.gpu_model,
                    catalog.names().join(", ")
                ),
            ));
        }
        if t.gpus > placement::MAX_GPUS_PER_SERVER {
            return Err(InputError::field(
                file,
                &format!("{f}.gpus"),
                format!(
                    "at most {} GPUs per server, found {}",
                    placement::MAX_GPUS_PER_SERVER,
                    t.gpus
                ),
            ));
        }
        check_host(file, &format!("{f}.host"), &t.host)?;
    }
    if layout.halls.is_empty() {
        return Err(InputError::field(
            file,
            "site.Layout.halls",
            "must not be empty",
        ));
    }
    for (hi, h) in layout.halls.iter().enumerate() {
        let hp = format!("site.Layout.halls.{hi}");
        if h.count == 0 {
            return Err(InputError::field(
                file,
                &format!("{hp}.count"),
                "must be ≥ 1, found 0",
            ));
        }
        if h.rows.is_empty() {
            return Err(InputError::field(
                file,
                &format!("{hp}.rows"),
                "must not be empty",
            ));
        }
        for (ri, r) in h.rows.iter().enumerate() {
            let rp = format!("{hp}.rows.{ri}");
            if r.count == 0 {
                return Err(InputError::field(
                    file,
                    &format!("{rp}.count"),
                    "must be ≥ 1, found 0",
                ));
            }
            if r.racks.is_empty() {
                return Err(InputError::field(
                    file,
                    &format!("{rp}.racks"),
                    "must not be empty",
                ));
            }
            for (ki, k) in r.racks.iter().enumerate() {
                let kp = format!("{rp}.racks.{ki}");
                if k.count == 0 {
                    return Err(InputError::field(
                        file,
                        &format!("{kp}.count"),
                        "must be ≥ 1, found 0",
                    ));
                }
                if k.servers.is_empty() {
                    return Err(InputError::field(
                        file,
                        &format!("{kp}.servers"),
                        "must not be empty",
                    ));
                }
                for (si, g) in k.servers.iter().enumerate() {
                    let sp = format!("{kp}.servers.{si}");
                    if g.count == 0 {
                        return Err(InputError::field(
                            file,
                            &format!("{sp}.count"),
                            "must be ≥ 1, found 0",
                        ));
                    }
                    if !layout.server_templates.contains_key(&g.template) {
                        let known: Vec<&str> =
                            layout.server_templates.keys().map(|k| k.as_str()).collect();
                        let from_catalog = if catalog_templates.is_empty() {
                            String::new()
                        } else {
                            format!("; catalog: {}", catalog_templates.join(", "))
                        };
                        return Err(InputError::field(
                            file,
                            &format!("{sp}.template"),
                            format!(
                                "unknown server template `{}` (defined: {}{from_catalog})",
                                g.template,
                                known.join(", ")
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Reads a node-list site and packs its servers into racks, rows and halls.
fn node_list_site(
    file: &Path,
    base: &Path,
    cfg: &mut NodeListSite,
    catalog: &Catalog,
) -> Result<SiteModel, InputError> {
    for (v, f) in [
        (cfg.servers_per_rack, "servers_per_rack"),
        (cfg.racks_per_row, "racks_per_row"),
        (cfg.rows_per_hall, "rows_per_hall"),
    ] {
        if v == 0 {
            return Err(InputError::field(
                file,
                &format!("site.AlibabaNodes.{f}"),
                "must be ≥ 1, found 0",
            ));
        }
    }
    check_host(file, "site.AlibabaNodes.host", &cfg.host)?;
    cfg.path = resolve(base, &cfg.path);
    let nodes = trace::read_alibaba_nodes(&cfg.path)?;
    if nodes
        .iter()
        .any(|n| n.gpus > placement::MAX_GPUS_PER_SERVER)
    {
        return Err(InputError::file(
            &cfg.path,
            format!(
                "a node has more than {} GPUs",
                placement::MAX_GPUS_PER_SERVER
            ),
        ));
    }
    site::from_node_list(&nodes, cfg, catalog).map_err(|(i, m)| {
        // Node i is on line i + 2 (header on line 1, no multi-line fields in node lists).
        InputError::line_field(&cfg.path, i + 2, "model", m)
    })
}

/// The jobs or requests of a scenario's workload, with their GPU model masks and training estimates.
struct WorkloadParts {
    trace_jobs: Option<Vec<JobSpec>>,
    trace_masks: Vec<u64>,
    synthetic_mask: u64,
    inference_requests: Option<Vec<trace::LlmRequest>>,
    training: Option<Vec<TrainingJobInfo>>,
}

/// Checks the workload and reads the trace it names (path resolved in place).
fn load_workload(
    file: &Path,
    base: &Path,
    workload: &mut Workload,
    catalog: &Catalog,
    site: &SiteModel,
    ctx: &TrainingContext,
) -> Result<WorkloadParts, InputError> {
    let mut parts = WorkloadParts {
        trace_jobs: None,
        trace_masks: Vec::new(),
        synthetic_mask: placement::ANY_MODEL,
        inference_requests: None,
        training: None,
    };
    let trace_kind = match workload {
        Workload::NativeTrace(_) => 0,
        Workload::AlibabaPods(_) => 1,
        Workload::PhillyLog(_) => 2,
        _ => 3,
    };
    match workload {
        Workload::Synthetic(w) => parts.synthetic_mask = check_synthetic(file, w, catalog, site)?,
        Workload::NativeTrace(t)
        | Workload::AlibabaPods(t)
        | Workload::PhillyLog(t)
        | Workload::HeliosLog(t) => {
            let (jobs, masks) = load_trace(file, base, t, trace_kind, catalog, site)?;
            parts.trace_jobs = Some(jobs);
            parts.trace_masks = masks;
        }
        Workload::Inference(w) => {
            parts.inference_requests =
                check_inference(file, base, "workload.Inference", w, catalog, site)?;
        }
        Workload::Training(t) => {
            let (jobs, masks, info) = check_training(file, t, catalog, site, ctx)?;
            parts.trace_jobs = Some(jobs);
            parts.trace_masks = masks;
            parts.training = Some(info);
        }
    }
    Ok(parts)
}

/// Checks a synthetic job stream; returns the GPU model mask of its jobs.
fn check_synthetic(
    file: &Path,
    w: &SyntheticJobs,
    catalog: &Catalog,
    site: &SiteModel,
) -> Result<u64, InputError> {
    w.interarrival_s.check().map_err(|e| {
        e.within("workload.Synthetic.interarrival_s")
            .into_input_error(file)
    })?;
    w.duration_s.check().map_err(|e| {
        e.within("workload.Synthetic.duration_s")
            .into_input_error(file)
    })?;
    if let models::workload::dist::DurationDist::Constant { value_s } = w.interarrival_s
        && value_s <= 0.0
    {
        return Err(InputError::field(
            file,
            "workload.Synthetic.interarrival_s",
            "a constant interarrival time must be > 0",
        ));
    }
    w.gpus
        .check()
        .map_err(|e| e.within("workload.Synthetic.gpus").into_input_error(file))?;
    let mask = match &w.gpu_model {
        None => placement::ANY_MODEL,
        Some(m) => match catalog.index_of(m) {
            Some(i) => 1u64 << i,
            None => {
                return Err(InputError::field(
                    file,
                    "workload.Synthetic.gpu_model",
                    format!(
                        "unknown GPU model `{m}` (catalog has: {})",
                        catalog.names().join(", ")
                    ),
                ));
            }
        },
    };
    let biggest = JobSpec::whole_gpus(
        sim::SimTime::ZERO,
        sim::SimDuration::ZERO,
        w.gpus.max_value(),
    );
    let cap = placement::SiteCapacity::new(site);
    cap.check_fits(&biggest, mask).map_err(|m| {
        InputError::field(
            file,
            "workload.Synthetic.gpus",
            format!("the largest job cannot run on this site: {m}"),
        )
    })?;
    Ok(mask)
}

/// Checks a trace workload's rescaling, reads its jobs (kind 0 native, 1 Alibaba pods, 2 Philly, 3 Helios)
/// and checks each fits the site; returns the jobs and their GPU model masks.
fn load_trace(
    file: &Path,
    base: &Path,
    t: &mut TraceFile,
    trace_kind: u8,
    catalog: &Catalog,
    site: &SiteModel,
) -> Result<(Vec<JobSpec>, Vec<u64>), InputError> {
    t.path = resolve(base, &t.path);
    if let Some(r) = &t.rescale {
        if catalog.index_of(&r.recorded_on).is_none() {
            return Err(InputError::field(
                file,
                "workload.rescale.recorded_on",
                format!(
                    "unknown GPU model `{}` (catalog has: {})",
                    r.recorded_on,
                    catalog.names().join(", ")
                ),
            ));
        }
        if !(0.0..=1.0).contains(&r.compute_fraction) {
            return Err(InputError::field(
                file,
                "workload.rescale.compute_fraction",
                format!("expected a fraction in 0..=1, found {}", r.compute_fraction),
            ));
        }
    }
    let jobs = match trace_kind {
        0 => trace::read_native(&t.path)?,
        1 => trace::read_alibaba_pods(&t.path)?,
        2 => trace::read_philly(&t.path)?.jobs,
        _ => trace::read_helios(&t.path)?,
    };
    let cap = placement::SiteCapacity::new(site);
    let mut trace_masks = Vec::with_capacity(jobs.len());
    for (i, j) in jobs.iter().enumerate() {
        let mask = placement::model_mask(&j.gpu_models, catalog).map_err(|m| {
            InputError::file(
                &t.path,
                format!(
                    "job #{} ({}): {m}",
                    i + 1,
                    j.name.as_deref().unwrap_or("unnamed")
                ),
            )
        })?;
        cap.check_fits(j, mask).map_err(|m| {
            InputError::file(
                &t.path,
                format!(
                    "job #{} ({}) can never run on this site: {m}",
                    i + 1,
                    j.name.as_deref().unwrap_or("unnamed")
                ),
            )
        })?;
        trace_masks.push(mask);
    }
    Ok((jobs, trace_masks))
}

/// Checks the shared fleet's inference (none beside an `Inference` workload: `beside_inference`) and reads
/// its request trace.
fn load_serving(
    file: &Path,
    base: &Path,
    sv: &mut SharedServing,
    beside_inference: bool,
    catalog: &Catalog,
    site: &SiteModel,
) -> Result<Option<Vec<trace::LlmRequest>>, InputError> {
    if beside_inference {
        return Err(InputError::field(
            file,
            "serving",
            "a shared fleet serves inference beside a job workload (Synthetic, a trace or Training); \
             with an `Inference` workload, remove `serving`",
        ));
    }
    check_inference(
        file,
        base,
        "serving.inference",
        &mut sv.inference,
        catalog,
        site,
    )
}

/// A static per-GPU cap slows inference replicas by the DVFS model: it must leave their GPUs a clock.
/// A static per-GPU cap must let every GPU model of the site (and an inference deployment's) compute and idle:
/// above its static power and at least its idle power, in every kind of run.
fn check_inference_cap(
    file: &Path,
    s: &Scenario,
    catalog: &Catalog,
    site: &SiteModel,
) -> Result<(), InputError> {
    let Some(c) = s.facility.as_ref().and_then(|f| f.capping.as_ref()) else {
        return Ok(());
    };
    let deployment = match (&s.workload, &s.serving) {
        (Workload::Inference(w), _) => catalog.index_of(&w.deployment.gpu_model),
        (_, Some(sv)) => catalog.index_of(&sv.inference.deployment.gpu_model),
        _ => None,
    };
    let mut models: Vec<usize> = site
        .servers
        .iter()
        .filter(|sv| sv.gpus > 0)
        .map(|sv| sv.gpu_model)
        .chain(deployment)
        .collect();
    models.sort_unstable();
    models.dedup();
    for gi in models {
        models::inference::power_cap::GpuPowerCap::new(c, &catalog.gpus[gi])
            .map_err(|m| InputError::field(file, "facility.capping.gpu_cap_w", m))?;
    }
    Ok(())
}

/// Semantic checks of a training workload; estimates every job and turns it into a job request.
#[allow(clippy::type_complexity)]
fn check_training(
    file: &Path,
    t: &crate::format::TrainingJobs,
    catalog: &Catalog,
    site: &SiteModel,
    ctx: &TrainingContext,
) -> Result<(Vec<JobSpec>, Vec<u64>, Vec<TrainingJobInfo>), InputError> {
    t.comm
        .check()
        .map_err(|e| e.within("workload.Training.comm").into_input_error(file))?;
    // A fabric is generated for the site: jobs are estimated alone on it, packed on their GPU type's servers.
    let fabric = match &t.comm {
        models::training::CommModel::Fabric(cfg) => Some(std::sync::Arc::new(
            models::network::Fabric::from_site(cfg, site)
                .map_err(|m| InputError::field(file, "workload.Training.comm.Fabric", m))?,
        )),
        models::training::CommModel::AlphaBeta(_) => None,
    };
    if t.jobs.is_empty() {
        return Err(InputError::field(
            file,
            "workload.Training.jobs",
            "at least one job is needed",
        ));
    }
    let cap = placement::SiteCapacity::new(site);
    let mut out = Vec::with_capacity(t.jobs.len());
    for (i, j) in t.jobs.iter().enumerate() {
        let field = |p: &str, m: String| {
            InputError::field(file, &format!("workload.Training.jobs.{i}.{p}"), m)
        };
        j.plan.check().map_err(|e| {
            e.within(&format!("workload.Training.jobs.{i}.plan"))
                .into_input_error(file)
        })?;
        let submit = sim::SimTime::from_secs_f64(j.submit_s).ok_or_else(|| {
            field(
                "submit_s",
                format!("expected seconds ≥ 0, found {}", j.submit_s),
            )
        })?;
        let Some(gi) = catalog.index_of(&j.gpu_model) else {
            return Err(field(
                "gpu_model",
                format!(
                    "unknown GPU model `{}` (catalog has: {})",
                    j.gpu_model,
                    catalog.names().join(", ")
                ),
            ));
        };
        let gpu = &catalog.gpus[gi];
        // The job's servers: its GPU type's largest (the first of them for their host power).
        let node = site.servers.iter().filter(|s| s.gpu_model == gi).fold(
            None,
            |best: Option<&models::site::ServerSpec>, s| match best {
                Some(b) if b.gpus >= s.gpus => Some(b),
                _ => Some(s),
            },
        );
        let per_server = node.map_or(0, |s| s.gpus);
        if per_server == 0 {
            return Err(field(
                "gpu_model",
                format!("the site has no {} servers", j.gpu_model),
            ));
        }
        if j.plan.parallelism.tp > per_server {
            return Err(field(
                "plan.parallelism.tp",
                format!(
                    "tensor parallelism {} exceeds the {per_server} GPUs of one {} server (the scale-up domain)",
                    j.plan.parallelism.tp, j.gpu_model
                ),
            ));
        }
        let mut plan = j.plan.clone();
        let storage_bytes = resolve_checkpoint(&mut plan, ctx, site, per_server)
            .map_err(|(path, m)| field(path, m))?;
        let estimate = |plan: &models::training::TrainingPlan| {
            estimate_placed(plan, fabric.as_ref(), &t.comm, site, gi, per_server, gpu)
        };
        let mut est = estimate(&plan);
        // Checkpoints are taken between optimizer steps: at least one step apart.
        if let Some(c) = &mut plan.checkpoint
            && c.every_s < est.step.total_s
        {
            c.every_s = est.step.total_s;
            est = estimate(&plan);
        }
        let duration = sim::SimDuration::from_secs_f64(est.time_to_finish_s).ok_or_else(|| {
            field(
                "plan",
                format!(
                    "the job would take {:.3e} s, beyond the simulated time range",
                    est.time_to_finish_s
                ),
            )
        })?;
        let gpus = j.plan.parallelism.gpus();
        let spec = JobSpec {
            name: Some(j.name.clone()),
            submit,
            duration,
            gpus: u32::try_from(gpus)
                .map_err(|_| field("plan.parallelism", format!("{gpus} GPUs is too many")))?,
            gpu_milli: 1000,
            cpu_milli: 0,
            memory_mib: 0,
            gpu_models: vec![j.gpu_model.clone()],
            priority: 0,
        };
        let mask = 1u64 << gi;
        cap.check_fits(&spec, mask).map_err(|m| {
            field(
                "plan.parallelism",
                format!("the job can never run here: {m}"),
            )
        })?;
        let info = TrainingJobInfo {
            index: i,
            name: j.name.clone(),
            gpu_model: j.gpu_model.clone(),
            gpus,
            estimate: est,
            activity_milli: ((est.run_gpu_activity * 1000.0).round() as u16).max(1),
            checkpoint: plan.checkpoint.clone(),
            storage_bytes,
            node_power: models::training::node_power(
                &est,
                gpu,
                &node.expect("a server of the job's GPU type").host,
                gpus.min(per_server as u64) as u32,
                per_server,
            ),
            plan,
            gpus_per_server: per_server,
        };
        out.push((spec, mask, info));
    }
    // Submission order; equal times keep list order (stable sort).
    out.sort_by_key(|(s, _, _)| s.submit);
    let mut jobs = Vec::with_capacity(out.len());
    let mut masks = Vec::with_capacity(out.len());
    let mut info = Vec::with_capacity(out.len());
    for (s, m, i) in out {
        jobs.push(s);
        masks.push(m);
        info.push(i);
    }
    Ok((jobs, masks, info))
}

/// What training jobs' checkpoints depend on beyond their plan.
struct TrainingContext {
    failures: Option<models::reliability::FailureConfig>,
    storage: Option<models::storage::StorageConfig>,
}

/// The estimate of `plan` on `gpu` (catalog index `gi`, `per_server` a server): on the site's fabric, packed on
/// its GPU type's servers, when there is one; else by the alpha-beta model `comm`.
fn estimate_placed(
    plan: &models::training::TrainingPlan,
    fabric: Option<&std::sync::Arc<models::network::Fabric>>,
    comm: &models::training::CommModel,
    site: &SiteModel,
    gi: usize,
    per_server: u32,
    gpu: &models::catalog::GpuModel,
) -> models::training::TrainingEstimate {
    match fabric {
        Some(f) => {
            let servers = (0..site.servers.len() as u32)
                .filter(|&s| {
                    site.servers[s as usize].gpu_model == gi
                        && site.servers[s as usize].gpus >= per_server
                })
                .collect();
            let cost = models::training::FabricCost::packed(f.clone(), servers, per_server);
            models::training::estimate_with(plan, gpu, per_server, &cost)
        }
        None => models::training::estimate(plan, gpu, per_server, comm),
    }
}

/// Resolves a training plan's checkpoint for its job: the write time (given, or the checkpoint's size over the
/// storage system's bandwidth — then also the size, returned: writes and loads go through the storage system)
/// and the interval (`Fixed`, Young's or Daly's). Errors: (field under the job, message).
fn resolve_checkpoint(
    plan: &mut models::training::TrainingPlan,
    ctx: &TrainingContext,
    site: &SiteModel,
    per_server: u32,
) -> Result<Option<f64>, (&'static str, String)> {
    let gpus = plan.parallelism.gpus();
    let params = plan.model.params;
    let Some(c) = &mut plan.checkpoint else {
        return Ok(None);
    };
    let servers = gpus.div_ceil(per_server.max(1) as u64);
    let bytes = params * c.bytes_per_param;
    let mut storage_bytes = None;
    c.write_s = Some(match (c.write_s, &ctx.storage) {
        (Some(w), _) => w,
        (None, Some(st)) => {
            // Writes and restart loads go through the storage system in the run; the estimate (and Young's and
            // Daly's intervals) use the job alone on it.
            storage_bytes = Some(bytes);
            st.write_s(bytes, servers)
        }
        (None, None) => {
            return Err((
                "plan.checkpoint.write_s",
                "is needed without a `storage` section (with one, writes take the checkpoint's size over its bandwidth)".into(),
            ));
        }
    });
    c.every_s = checkpoint_interval(c, ctx.failures.as_ref(), site, gpus, per_server)
        .map_err(|m| ("plan.checkpoint.interval", m))?;
    Ok(storage_bytes)
}

/// The checkpoint interval of a training job of `gpus` GPUs (`per_server` a server), s: `every_s` under a
/// `Fixed` interval; Young's or Daly's optimum for the job's mean time between interrupting failures
/// otherwise, the job packed on whole servers and racks (docs/models.md §Checkpoint interval).
fn checkpoint_interval(
    c: &models::training::Checkpoint,
    failures: Option<&models::reliability::FailureConfig>,
    site: &SiteModel,
    gpus: u64,
    per_server: u32,
) -> Result<f64, String> {
    use models::training::CheckpointInterval as I;
    if c.interval == I::Fixed {
        return Ok(c.every_s);
    }
    let Some(f) = failures else {
        return Err(format!(
            "a `{:?}` interval needs a `failures` section: the job's mean time between failures comes from it",
            c.interval
        ));
    };
    if c.stall_s() <= 0.0 {
        return Err(format!(
            "a `{:?}` interval needs checkpoints that cost time (`write_s`, or the snapshot of an `Async` mode, > 0; with free checkpoints the optimum is to checkpoint continuously)",
            c.interval
        ));
    }
    let servers = gpus.div_ceil(per_server.max(1) as u64);
    let per_rack = (site.servers.len() as u64)
        .div_ceil(site.racks.max(1) as u64)
        .max(1);
    let racks = servers.div_ceil(per_rack);
    let rate = f.job_rate_per_s(gpus, servers, racks, racks);
    if rate.is_nan() || rate <= 0.0 {
        return Err(format!(
            "no failure strikes the job (`failures.rate_scale` is 0 or no class covers it): a `{:?}` interval is unbounded",
            c.interval
        ));
    }
    let m = 1.0 / rate;
    let tau = match c.interval {
        I::Young => models::reliability::young_interval_s(c.stall_s(), m),
        _ => models::reliability::daly_interval_s(c.stall_s(), m),
    };
    if !(tau.is_finite() && tau > 0.0 && tau <= MAX_HORIZON_S) {
        return Err(format!("the interval comes out as {tau} s"));
    }
    Ok(tau)
}

/// Semantic checks of an inference workload; reads its request trace.
fn check_inference(
    file: &Path,
    base: &Path,
    prefix: &str,
    w: &mut models::inference::InferenceWorkload,
    catalog: &Catalog,
    site: &SiteModel,
) -> Result<Option<Vec<trace::LlmRequest>>, InputError> {
    use models::inference::config::RequestSource;
    let field = |p: &str, m: String| InputError::field(file, &format!("{prefix}.{p}"), m);
    w.check()
        .map_err(|e| e.within(prefix).into_input_error(file))?;
    let Some(gi) = catalog.index_of(&w.deployment.gpu_model) else {
        return Err(field(
            "deployment.gpu_model",
            format!(
                "unknown GPU model `{}` (catalog has: {})",
                w.deployment.gpu_model,
                catalog.names().join(", ")
            ),
        ));
    };
    let perf = models::inference::perf::ReplicaPerf::new(
        &w.deployment.model,
        &catalog.gpus[gi],
        w.deployment.tp,
        &w.efficiency,
        &w.batching,
    )
    .map_err(|m| field("deployment", m))?;
    models::inference::place_replicas(site, gi, w.deployment.tp, w.replica_slots())
        .map_err(|m| field("deployment.replicas", m))?;
    let cap = perf.kv_capacity_tokens;
    match &mut w.requests {
        RequestSource::Synthetic(s) => {
            let most = s.prompt_tokens.max_value() as u64 + s.output_tokens.max_value() as u64;
            if most > cap {
                return Err(field(
                    "requests.Synthetic",
                    format!(
                        "the largest request ({most} tokens of prompt + output) exceeds a replica's KV cache \
                         ({cap} tokens): lower the token maxima or add memory per replica"
                    ),
                ));
            }
            Ok(None)
        }
        RequestSource::AzureTrace { path } => {
            *path = resolve(base, path);
            let reqs = trace::read_azure_llm(path)?;
            for (i, r) in reqs.iter().enumerate() {
                let n = r.prompt_tokens as u64 + r.output_tokens as u64;
                if n > cap {
                    return Err(InputError::file(
                        path,
                        format!(
                            "request #{} (line {}) needs {n} tokens of KV cache, more than a replica holds ({cap})",
                            i + 1,
                            i + 2
                        ),
                    ));
                }
            }
            Ok(Some(reqs))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_parsing() {
        let o = Override::parse("a.b=3").unwrap();
        assert_eq!((o.path.as_str(), o.value.as_str()), ("a.b", "3"));
        assert!(Override::parse("nokey").is_err());
        assert!(Override::parse("a..b=1").is_err());
        assert_eq!(Override::parse("x=a=b").unwrap().value, "a=b");
    }

    #[test]
    fn override_walks_objects_arrays_and_types() {
        let mut v = serde_json::json!({"a": {"b": [1, {"c": "x"}]}, "s": "path", "n": 1.0});
        apply_override(&mut v, &Override::parse("a.b.1.c=hello world").unwrap()).unwrap();
        assert_eq!(v["a"]["b"][1]["c"], "hello world");
        apply_override(&mut v, &Override::parse("n=2.5").unwrap()).unwrap();
        assert_eq!(v["n"], 2.5);
        apply_override(&mut v, &Override::parse("s=\"q.csv\"").unwrap()).unwrap();
        assert_eq!(v["s"], "q.csv");
        let e = apply_override(&mut v, &Override::parse("a.zz=1").unwrap()).unwrap_err();
        assert!(e.contains("no field `zz`") && e.contains("b"), "{e}");
        let e = apply_override(&mut v, &Override::parse("a.b.9=1").unwrap()).unwrap_err();
        assert!(e.contains("out of range"), "{e}");
        let e = apply_override(&mut v, &Override::parse("n=1.2.3").unwrap()).unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
    }
}
