//! The Failures and Storage sections of a run's `report.html` (and the training jobs' effective training
//! time they carry), as [`Section`]s of tables in the summary's units.

use output::{FailuresSummary, StorageSummary, Summary, TrainingSummary};

use crate::figures::show;
use crate::html::{Section, Table};

/// A float for the failure and storage sections with `decimals` decimals (`–` for none or non-finite).
fn fixed(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.decimals$}"),
        _ => "–".to_string(),
    }
}

/// A float for the failure and storage sections: 6 significant digits, trailing zeros dropped.
fn num(v: f64) -> String {
    show(Some(v), false)
}

/// The Failures section: totals, the failures by class and by domain, repairs and spares, and what the
/// interruptions cost the training jobs.
pub(crate) fn failures_section(s: &Summary, f: &FailuresSummary) -> Section {
    let source = if f.source == "trace" {
        "replayed from a failure trace"
    } else {
        "drawn from the classes' lifetimes"
    };
    let mut paragraphs = vec![format!(
        "{} failure(s) ({source}), {} of them interrupting running work ({} work item(s) stopped). \
         Down for failures: {:.1} server-h, {:.1} GPU-h; at most {} server(s) at once.",
        f.failures,
        f.interrupting_failures,
        f.work_interrupted,
        f.server_down_h,
        f.gpu_down_h,
        f.servers_down_max
    )];
    if s.inference.is_none() || s.shared_fleet.is_some() {
        paragraphs.push(format!(
            "Jobs: {} interruption(s) (any server down), {:.1} GPU-h of work lost since the last \
             checkpoints, {:.1} GPU-h spent restarting.",
            s.jobs.interrupted, s.jobs.lost_gpu_h, s.jobs.restart_gpu_h
        ));
    }
    if let Some(i) = &s.inference {
        paragraphs.push(format!(
            "Requests: {} rerouted to another replica (theirs stopped), {} dropped (no replica serving).",
            i.requests.rerouted, i.requests.dropped
        ));
    }
    let classes = f
        .classes
        .iter()
        .map(|c| {
            vec![
                c.component.clone(),
                c.domain.clone(),
                c.units.to_string(),
                c.failures.to_string(),
                fixed(c.observed_mtbf_h, 0),
                fixed(Some(c.mtbf_h), 0),
                c.interrupting.to_string(),
                c.servers_taken_down.to_string(),
                fixed(Some(c.repair_mean_h).filter(|_| c.repairs_completed > 0), 1),
            ]
        })
        .collect();
    let domains = f
        .domains
        .iter()
        .map(|d| {
            vec![
                d.domain.clone(),
                d.failures.to_string(),
                d.work_interrupted.to_string(),
            ]
        })
        .collect();
    let r = &f.repairs;
    let sp = &f.spares;
    let repairs = vec![
        vec![
            "repair crews".to_string(),
            r.crews.map_or("unlimited".to_string(), |k| k.to_string()),
        ],
        vec!["repairs completed".to_string(), r.completed.to_string()],
        vec!["open at end".to_string(), r.open_at_end.to_string()],
        vec![
            "wait for a crew, mean (h)".to_string(),
            fixed(Some(r.wait_mean_h), 1),
        ],
        vec![
            "wait for a crew, max (h)".to_string(),
            fixed(Some(r.wait_max_h), 1),
        ],
        vec!["longest repair queue".to_string(), r.queue_max.to_string()],
        vec!["spares at start".to_string(), sp.initial.to_string()],
        vec!["spare swaps".to_string(), sp.swaps.to_string()],
        vec!["stockouts".to_string(), sp.stockouts.to_string()],
        vec![
            "fewest spares on hand".to_string(),
            sp.min_available.to_string(),
        ],
    ];
    let mut tables: Vec<Table> = vec![
        (
            "Failures by class".to_string(),
            [
                "component",
                "domain",
                "units",
                "failures",
                "MTBF observed (h)",
                "MTBF configured (h)",
                "interrupting",
                "servers taken down",
                "mean repair (h)",
            ]
            .map(String::from)
            .to_vec(),
            classes,
        ),
        (
            "Failures by domain".to_string(),
            ["domain", "failures", "work stopped"]
                .map(String::from)
                .to_vec(),
            domains,
        ),
        (
            "Repairs and spares".to_string(),
            ["figure", "value"].map(String::from).to_vec(),
            repairs,
        ),
    ];
    if let Some(t) = &s.training {
        tables.push(training_table(t));
    }
    Section {
        heading: "Failures".to_string(),
        paragraphs,
        tables,
    }
}

/// Per training job: ETTR, interruptions, time lost and restarting, and its checkpoints.
fn training_table(t: &TrainingSummary) -> Table {
    let rows = t
        .jobs
        .iter()
        .map(|j| {
            vec![
                j.name.clone(),
                j.gpus.to_string(),
                fixed(j.ettr, 3),
                j.preemptions.to_string(),
                fixed(Some(j.lost_s / 3600.0), 1),
                fixed(Some(j.restart_s / 3600.0), 1),
                fixed(j.checkpoint_every_s, 0),
                fixed(j.checkpoint_bytes.map(|b| b / 1e12), 2),
                show(j.checkpoint_write_s, false),
            ]
        })
        .collect();
    (
        "Training jobs: effective training time".to_string(),
        [
            "job",
            "GPUs",
            "ETTR",
            "interruptions",
            "lost (h)",
            "restarting (h)",
            "checkpoint every (s)",
            "checkpoint (TB)",
            "checkpoint write (s)",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    )
}

/// The Storage section: bandwidths, power and energy (and, in a run without failures, the training jobs'
/// checkpoints).
pub(crate) fn storage_section(s: &Summary, st: &StorageSummary) -> Section {
    let mut tables = Vec::new();
    if s.failures.is_none()
        && let Some(t) = &s.training
    {
        tables.push(training_table(t));
    }
    Section {
        heading: "Storage".to_string(),
        paragraphs: vec![
            format!(
                "Write {} GB/s, read {} GB/s, {} GB/s per server link; {:.1} kW drawn, {:.2} MWh over the run \
                 (in IT power and energy).",
                num(st.write_gbs),
                num(st.read_gbs),
                num(st.server_link_gbs),
                st.power_w / 1e3,
                st.energy_j / 3.6e9
            ),
            format!(
                "{} checkpoint write(s), {:.2} s each on average ({} TB written, write utilisation {:.2}%, \
                 busy {:.1} h, peak {} GB/s); {} read(s), {:.2} s each on average ({} TB read); at most {} \
                 transfer(s) at once.",
                st.writes,
                st.write_mean_s,
                num(st.bytes_written / 1e12),
                st.write_utilization * 100.0,
                st.write_busy_s / 3600.0,
                num(st.write_peak_gbs),
                st.reads,
                st.read_mean_s,
                num(st.bytes_read / 1e12),
                st.most_concurrent
            ),
        ],
        tables,
    }
}
