//! Why a run could not be done: the scenario asks for something the run cannot represent (an input error the
//! loader should have caught), or more work than its budget of events.

use std::fmt;

use sim::SimDuration;

use crate::estimate::Estimate;

/// A run that could not be done; callers report it as bad input (exit code 2).
#[derive(Debug, Clone, PartialEq)]
pub enum RunError {
    /// Field `field` holds a value the run cannot use.
    Input { field: String, message: String },
    /// The scenario implies more events than `limit` (`estimate`, before the run), or the run handled `limit`
    /// events before reaching its horizon (`estimate` is then `None`).
    Budget {
        limit: u64,
        estimate: Option<Estimate>,
        reached_s: Option<f64>,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Input { field, message } => write!(f, "field `{field}`: {message}"),
            RunError::Budget {
                limit,
                estimate: Some(e),
                ..
            } => write!(
                f,
                "this scenario implies about {:.3e} events ({e}), more than the limit of {limit} events; \
                 shorten it or raise the limit with --max-events N",
                e.total()
            ),
            RunError::Budget {
                limit, reached_s, ..
            } => write!(
                f,
                "the run handled its limit of {limit} events at {:.1} s of simulated time, before its horizon; \
                 shorten it or raise the limit with --max-events N",
                reached_s.unwrap_or(0.0)
            ),
        }
    }
}

impl std::error::Error for RunError {}

/// `secs` seconds as a simulated duration, or an input error naming `field`.
pub fn duration(field: &str, secs: f64) -> Result<SimDuration, RunError> {
    SimDuration::from_secs_f64(secs).ok_or_else(|| RunError::Input {
        field: field.to_string(),
        message: format!("{secs} s is not a representable duration (0 to 584 years)"),
    })
}

/// The catalog index of GPU model `name`, or an input error naming `field`.
pub fn gpu_index(
    catalog: &models::catalog::Catalog,
    field: &str,
    name: &str,
) -> Result<usize, RunError> {
    catalog.index_of(name).ok_or_else(|| RunError::Input {
        field: field.to_string(),
        message: format!("no GPU model named `{name}` in the catalog"),
    })
}
