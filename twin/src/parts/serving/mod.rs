//! The serving part: LLM inference replicas (docs/models.md §Inference, §Shared fleet).

mod fleet;
mod part;
mod report;

pub use part::Serving;
