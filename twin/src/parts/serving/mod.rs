//! The serving part: LLM inference replicas (docs/models.md §Inference, §Shared fleet).

mod fleet;
mod part;
mod report;
mod surface;

pub use part::Serving;
pub use report::{Latencies, RequestLog, RequestRecord, RequestSample};
pub use surface::{Surface, SurfaceTable};
