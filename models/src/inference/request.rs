//! An LLM inference request, as a trace records it or a generator draws it.

use sim::SimTime;

/// One LLM inference request of a trace: when it arrives and how many tokens it reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LlmRequest {
    /// Arrival, relative to the trace's first request (which arrives at [`SimTime::ZERO`]).
    pub arrival: SimTime,
    /// Tokens of the prompt (the context the model reads before generating); at least 1.
    pub prompt_tokens: u32,
    /// Tokens generated in reply; at least 1.
    pub output_tokens: u32,
}
