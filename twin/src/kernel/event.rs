//! Events addressed to parts.
//!
//! The engine's queue holds one event type, [`Ev`]: the part it is for and that part's own event, encoded in a
//! [`Code`] (a tag and two integers). A part's event enum implements [`EventCode`], so parts keep typed events
//! while the queue stays a flat array of small copies (no allocation, no boxing, no global enum that lists
//! every part).

/// A part's place in the composition: its index in the parts list, which is also its place in every delivery
/// order (signals, settling, sampling, summaries).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartId(pub(crate) u8);

impl PartId {
    /// The index in the parts list.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A part's event in the engine's terms: a tag (which variant) and two integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Code {
    pub tag: u8,
    pub a: u32,
    pub b: u32,
}

/// The engine's event: part `part`'s event `code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ev {
    pub(crate) part: PartId,
    pub(crate) code: Code,
}

/// A part's own event type: converts to a [`Code`] and back. `decode(encode(e)) == e` for every event.
pub trait EventCode: Copy {
    fn encode(self) -> Code;
    fn decode(code: Code) -> Self;
}
