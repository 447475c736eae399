//! LLM inference serving models: replicas of a model on tensor-parallel GPU groups ([`config`]), their
//! performance (roofline iteration time, KV cache: [`perf`]), static per-GPU power caps ([`power_cap`]),
//! requests ([`request`]) and where they come from ([`source`]), replica placement ([`placement`]), and the
//! windows of long-horizon mode ([`horizon`]).
//! The serving event model (continuous batching, routers, autoscaling) runs in the `twin` crate;
//! docs/models.md §Inference.

pub mod config;
pub mod horizon;
pub mod perf;
pub mod placement;
pub mod power_cap;
pub mod request;
pub mod source;

pub use config::InferenceWorkload;
pub use placement::place_replicas;
