//! The evaluation of one value at one seed — the figures the constraints name — as kept in the
//! evaluations files, and the verdict on it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::SizeSpec;

/// One run of the scenario at one value and seed: the constraint figures of its summary (`None`: the
/// summary has the figure without a number, e.g. no request finished). One JSON line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub size_hash: String,
    /// The field's value as `--set` text.
    pub value: String,
    pub seed_index: u64,
    pub seed: u64,
    pub figures: BTreeMap<String, Option<f64>>,
}

/// Evaluations by (value text, seed index).
pub type Cache = BTreeMap<(String, u64), Evaluation>;

/// Whether one evaluation satisfies every constraint.
pub fn passes(spec: &SizeSpec, e: &Evaluation) -> bool {
    spec.constraints
        .iter()
        .all(|c| c.holds(e.figures.get(&c.figure).copied().flatten()))
}
