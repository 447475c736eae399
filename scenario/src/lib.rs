//! dctwin's scenario files: the RON format ([`format`](mod@format)), loading with `--set` overrides, path
//! resolution and semantic validation ([`load`]), and the files a scenario names — the GPU catalog, node
//! lists and job traces ([`trace`]), LLM request traces, weather and carbon series ([`readers`]) — read into
//! the models' types. Every malformed input is an [`InputError`] with its file and position ([`error`]).
//! Sweep files — axes, replicates and seeds expanded into runs over a base scenario — are read by
//! [`sweep`]. Overlay files (`--set-file`, what `dctwin calibrate` writes) are read by [`overlay`];
//! measured telemetry for calibration by [`readers::telemetry`].
pub mod bounds;
pub mod catalog;
pub mod echo;
pub mod error;
pub mod format;
pub mod load;
pub mod overlay;
pub mod readers;
pub mod site;
pub mod sweep;
pub mod trace;
pub mod utf8;

pub use error::{FieldErrorExt, InputError, Location};
pub use format::{
    HallGroup, HostPower, Layout, MaintenanceWindow, MakeRoom, NodeListSite, PlacementPolicy,
    QueuePolicy, RackGroup, Reporting, Rescale, RowGroup, Scenario, SchedulerConfig, ServerGroup,
    ServerTemplate, SharedServing, Site, SyntheticJobs, TraceFile, TrainingJob, TrainingJobs,
    Workload,
};
pub use load::{
    LoadedFacility, LoadedFailures, LoadedScenario, Override, TrainingJobInfo, apply_overrides,
    field_value, load_parsed, load_scenario, parse_ron,
};
