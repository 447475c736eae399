//! The kernel of the twin: parts, their events, signals between them, and the one run loop. It knows nothing
//! of datacenters: the parts do.

pub mod ctx;
pub mod event;
pub mod part;
pub mod run;
pub mod signal;
#[cfg(test)]
mod tests;

pub use ctx::{Ctx, Emitter};
pub use event::{Code, Ev, EventCode, PartId};
pub use part::Part;
pub use run::{Drive, Kernel, run};
pub use signal::{FactorId, Interests, IoId, Signal};
