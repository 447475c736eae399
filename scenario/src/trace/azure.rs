//! Azure LLM inference trace 2023 (`AzureLLMInferenceTrace_code.csv`, `AzureLLMInferenceTrace_conv.csv`
//! from Azure/AzurePublicDataset; "Splitwise", Patel et al., ISCA 2024): one LLM request per row with its
//! arrival time and token counts. See the [trace module docs](super) for the column mapping.

use std::io::Read;
use std::path::Path;

use sim::SimTime;

use super::datetime;
use super::table::{Format, Table, found, req};
use crate::error::InputError;
use models::inference::request::LlmRequest;

const TIMESTAMP: usize = 0;
const CONTEXT: usize = 1;
const GENERATED: usize = 2;

static FORMAT: Format = Format {
    what: "Azure LLM inference trace",
    row: "request",
    columns: &[
        req("TIMESTAMP"),
        req("ContextTokens"),
        req("GeneratedTokens"),
    ],
    missing_note: "",
};

/// Reads an Azure LLM inference trace (header `TIMESTAMP,ContextTokens,GeneratedTokens`, columns in any
/// order; see the [trace module docs](super)) as requests in file order.
///
/// `TIMESTAMP` (`2023-11-16 18:17:03.9799600`) is parsed exactly to the nanosecond and made relative to the
/// first row; timestamps must not decrease from one row to the next. Both token counts must be whole
/// numbers of at least 1. Every problem is an [`InputError`] naming the file, the line and the column.
pub fn read_azure_llm(path: &Path) -> Result<Vec<LlmRequest>, InputError> {
    read(Table::open_file(path, &FORMAT)?)
}

/// [`read_azure_llm`] for a trace already in memory; `source` names it in errors.
pub fn parse_azure_llm(data: &[u8], source: &Path) -> Result<Vec<LlmRequest>, InputError> {
    read(Table::open_bytes(data, source, &FORMAT)?)
}

/// A required token count of at least 1.
fn tokens<R: Read>(t: &Table<'_, R>, col: usize, why_zero: &str) -> Result<u32, InputError> {
    let what = "a positive whole number of tokens";
    match t.uint_of(col, u64::from(u32::MAX), what)? {
        Some(0) => Err(t.err(col, format!("expected {what}, found `0` ({why_zero})"))),
        Some(n) => Ok(n as u32),
        None => Err(t.err(col, format!("expected {what}, found an empty cell"))),
    }
}

fn read<R: Read>(mut t: Table<'_, R>) -> Result<Vec<LlmRequest>, InputError> {
    let mut requests = Vec::new();
    let mut origin: Option<i128> = None;
    let mut prev = i128::MIN;
    let mut prev_text = String::new();
    let mut prev_pos = None;
    while t.next_row()? {
        let raw = t.raw(TIMESTAMP);
        let at = datetime::parse(raw).map_err(|msg| t.err(TIMESTAMP, msg))?;
        if at < prev {
            return Err(t.err(
                TIMESTAMP,
                format!(
                    "requests must be in non-decreasing TIMESTAMP order: expected at least `{prev_text}` \
                     (the TIMESTAMP of line {}), found {}",
                    t.line_of(prev_pos.as_ref()),
                    found(raw)
                ),
            ));
        }
        let origin = *origin.get_or_insert(at);
        let Some(arrival) = datetime::since(at, origin) else {
            return Err(t.err(
                TIMESTAMP,
                format!(
                    "expected a time within the simulated time range (about 584 years) of the first request, found {}",
                    found(raw)
                ),
            ));
        };
        prev = at;
        prev_text.clear();
        prev_text.push_str(&String::from_utf8_lossy(raw));
        prev_pos = t.position();

        let prompt_tokens = tokens(&t, CONTEXT, "a request has at least one prompt token")?;
        let output_tokens = tokens(
            &t,
            GENERATED,
            "a request generates at least one token; the 2023 traces have no 0",
        )?;
        requests.push(LlmRequest {
            arrival: SimTime::from_nanos(arrival),
            prompt_tokens,
            output_tokens,
        });
    }
    Ok(requests)
}
