//! AI-cluster trace readers: the Azure LLM inference trace 2023 (fixtures, bad inputs with exact positions,
//! and the real files in `../shared/`, which is `../../shared/` from the crate directory the tests run in),
//! the Philly job log (JSON) and the Helios job log, plus never-panic properties.

use std::path::{Path, PathBuf};

use models::workload::JobSpec;
use proptest::prelude::*;
use scenario::trace::{
    LlmRequest, PhillyLog, parse_azure_llm, parse_helios, parse_philly, read_azure_llm,
    read_helios, read_philly,
};
use scenario::{InputError, Location};
use sim::{SimDuration, SimTime};

const NS: u64 = 1_000_000_000;

fn fixture(name: &str) -> PathBuf {
    Path::new("tests/fixtures").join(name)
}

const REAL: &str = "../../shared/traces/azure-llm-2023";

fn real(name: &str) -> PathBuf {
    let p = Path::new(REAL).join(name);
    assert!(
        p.exists(),
        "{} is missing: the shared traces must sit beside the checkout (see ../shared/README.md)",
        p.display()
    );
    p
}

fn secs(s: u64) -> SimTime {
    SimTime::from_secs(s)
}

fn dur(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

/// Asserts a cell error: the line, the column, and that the message contains `needle`.
#[track_caller]
fn assert_cell(err: &InputError, line: usize, field: &str, needle: &str) {
    assert_eq!(
        err.location,
        Location::LineField {
            line,
            field: field.to_string()
        },
        "wrong location for: {err}"
    );
    assert!(
        err.message.contains(needle),
        "message of `{err}` lacks `{needle}`"
    );
}

/// Asserts a JSON error at a line and column.
#[track_caller]
fn assert_at(err: &InputError, line: usize, col: usize, needle: &str) {
    assert_eq!(
        err.location,
        Location::LineCol { line, col },
        "wrong location for: {err}"
    );
    assert!(
        err.message.contains(needle),
        "message of `{err}` lacks `{needle}`"
    );
}

/// Asserts a whole-line error.
#[track_caller]
fn assert_line(err: &InputError, line: usize, needle: &str) {
    assert_eq!(
        err.location,
        Location::Line(line),
        "wrong location for: {err}"
    );
    assert!(
        err.message.contains(needle),
        "message of `{err}` lacks `{needle}`"
    );
}

/// Asserts a whole-file error.
#[track_caller]
fn assert_file(err: &InputError, needle: &str) {
    assert_eq!(err.location, Location::File, "wrong location for: {err}");
    assert!(
        err.message.contains(needle),
        "message of `{err}` lacks `{needle}`"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Azure LLM inference trace

fn azure_err(text: &str) -> InputError {
    parse_azure_llm(text.as_bytes(), Path::new("llm.csv")).unwrap_err()
}

fn req(arrival_ns: u64, prompt_tokens: u32, output_tokens: u32) -> LlmRequest {
    LlmRequest {
        arrival: SimTime::from_nanos(arrival_ns),
        prompt_tokens,
        output_tokens,
    }
}

#[test]
fn azure_fixture_exact_nanoseconds() {
    // CRLF line ends, no final newline, fractions of 7, 1, 9 and 0 digits, a tie, a day boundary, u32::MAX.
    let got = read_azure_llm(&fixture("azure_llm_small.csv")).unwrap();
    // 18:17:03.97996 → 18:17:04.5 is 0.52004 s; → 23:59:59.999999999 is 5 h 42 min 56.020039999 s;
    // → 2023-11-17 00:00:00 one more nanosecond.
    let to_midnight = (5 * 3600 + 42 * 60 + 56) * NS + 20_039_999;
    assert_eq!(
        got,
        vec![
            req(0, 4808, 10),
            req(0, 3180, 8),
            req(520_040_000, 1, 1),
            req(to_midnight, 17, u32::MAX),
            req(to_midnight + 1, u32::MAX, 250),
        ]
    );
    // The same bytes parsed from memory give the same requests.
    let bytes = std::fs::read(fixture("azure_llm_small.csv")).unwrap();
    assert_eq!(parse_azure_llm(&bytes, Path::new("x.csv")).unwrap(), got);
}

#[test]
fn azure_columns_any_order_and_spaces() {
    let got = parse_azure_llm(
        b"GeneratedTokens, TIMESTAMP ,ContextTokens\n7, 2023-11-16 18:17:03 ,5\n9,2023-11-16 18:17:05.25,6\n",
        Path::new("x.csv"),
    )
    .unwrap();
    assert_eq!(got, vec![req(0, 5, 7), req(2_250_000_000, 6, 9)]);
}

#[test]
fn azure_first_row_is_time_zero_even_across_years() {
    let got = parse_azure_llm(
        b"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-12-31 23:59:59.9,1,1\n2024-03-01 00:00:00,1,1\n",
        Path::new("x.csv"),
    )
    .unwrap();
    // 0.1 s to the new year, then January (31 days) and February of a leap year (29 days).
    assert_eq!(got[1].arrival.as_nanos(), 100_000_000 + 60 * 86_400 * NS);
}

#[test]
fn azure_bad_timestamps() {
    let h = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
    let ok = "2023-11-16 18:17:03.9799600,4808,10\n";
    for (cell, needle) in [
        ("2023-11-16T18:17:04", "found `2023-11-16T18:17:04`"),
        ("abc", "found `abc`"),
        ("", "found an empty cell"),
        ("1700158623.98", "found `1700158623.98`"),
        ("2023-11-16 18:17:04.", "found `2023-11-16 18:17:04.`"),
        (
            "2023-11-31 18:17:04",
            "November 2023 has days 01 to 30, not 31",
        ),
        (
            "2023-02-29 00:00:00",
            "February 2023 has days 01 to 28, not 29",
        ),
        ("2023-13-16 18:17:04", "month 13 does not exist"),
        ("2023-11-16 24:00:00", "hour 24 is past 23"),
        ("2023-11-16 18:17:04.1234567890", "10 fractional digits"),
    ] {
        let err = azure_err(&format!("{h}{ok}{cell},1,1\n"));
        assert_cell(&err, 3, "TIMESTAMP", needle);
        assert_cell(
            &err,
            3,
            "TIMESTAMP",
            "expected a date and time `YYYY-MM-DD HH:MM:SS`",
        );
    }
    // The message as a person reads it.
    let err = azure_err(&format!("{h}{ok}2023-11-16T18:17:04,1,1\n"));
    assert_eq!(
        err.to_string(),
        "llm.csv:3: column `TIMESTAMP`: expected a date and time `YYYY-MM-DD HH:MM:SS`, optionally with 1 \
         to 9 fractional digits of a second (`2023-11-16 18:17:03.9799600`), found `2023-11-16T18:17:04`"
    );
}

#[test]
fn azure_decreasing_timestamps() {
    let err = azure_err(
        "TIMESTAMP,ContextTokens,GeneratedTokens\n\
         2023-11-16 18:17:03.9799600,4808,10\n\
         2023-11-16 18:17:04.0319600,3180,8\n\
         2023-11-16 18:17:04.0319600,3180,8\n\
         2023-11-16 18:17:04.0319599,1,1\n",
    );
    assert_cell(
        &err,
        5,
        "TIMESTAMP",
        "non-decreasing TIMESTAMP order: expected at least `2023-11-16 18:17:04.0319600` (the TIMESTAMP of \
         line 4), found `2023-11-16 18:17:04.0319599`",
    );
    // A whole day earlier, with blank lines in between: lines stay exact.
    let err = azure_err(
        "TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 00:00:00,1,1\r\n\r\n\r\n2023-11-15 23:59:59.9,1,1\r\n",
    );
    assert_cell(&err, 5, "TIMESTAMP", "(the TIMESTAMP of line 2)");
}

#[test]
fn azure_bad_tokens() {
    let h = "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03,1,1\n";
    let row = |c: &str, g: &str| format!("{h}2023-11-16 18:17:04,{c},{g}\n");
    let cases = [
        (
            "abc",
            "1",
            "ContextTokens",
            "expected a positive whole number of tokens, found `abc`",
        ),
        (
            "-5",
            "1",
            "ContextTokens",
            "expected a positive whole number of tokens, found `-5`",
        ),
        ("1.5", "1", "ContextTokens", "found `1.5`"),
        ("", "1", "ContextTokens", "found an empty cell"),
        (
            "0",
            "1",
            "ContextTokens",
            "found `0` (a request has at least one prompt token)",
        ),
        (
            "4294967296",
            "1",
            "ContextTokens",
            "of at most 4294967295, found `4294967296`",
        ),
        ("1", "x1", "GeneratedTokens", "found `x1`"),
        ("1", "-1", "GeneratedTokens", "found `-1`"),
        (
            "1",
            "0",
            "GeneratedTokens",
            "found `0` (a request generates at least one token",
        ),
        ("1", "", "GeneratedTokens", "found an empty cell"),
    ];
    for (c, g, field, needle) in cases {
        assert_cell(&azure_err(&row(c, g)), 3, field, needle);
    }
    // From a file with CRLF and a blank line: the line is the one an editor shows.
    let err = read_azure_llm(&fixture("azure_llm_bad_tokens.csv")).unwrap_err();
    assert_cell(&err, 5, "ContextTokens", "found `12x`");
    assert_eq!(
        err.file,
        fixture("azure_llm_bad_tokens.csv"),
        "the error names the file"
    );
}

#[test]
fn azure_shape_and_file_problems() {
    let err = azure_err("TIMESTAMP,ContextTokens\n2023-11-16 18:17:03,1\n");
    assert_line(&err, 1, "lacks required column `GeneratedTokens`");
    let err = azure_err("TIMESTAMP,ContextTokens,GeneratedTokens,Extra\n");
    assert_cell(&err, 1, "Extra", "unknown column `Extra`");
    let err = azure_err("timestamp,ContextTokens,GeneratedTokens\n");
    assert_cell(&err, 1, "timestamp", "did you mean `TIMESTAMP`?");
    let err = azure_err("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03,1\n");
    assert_line(&err, 2, "expected 3 fields as in the header, found 2");
    assert_file(&azure_err(""), "the file is empty");
    assert_file(
        &azure_err("TIMESTAMP,ContextTokens,GeneratedTokens\r\n"),
        "has a header but no requests",
    );
    let err = read_azure_llm(Path::new("tests/fixtures/no_such_llm.csv")).unwrap_err();
    assert_file(&err, "cannot open the Azure LLM inference trace");
}

/// Nanoseconds since midnight of `2023-11-16 HH:MM:SS.fffffff`, by plain arithmetic on the text.
fn clock_ns(ts: &str) -> u64 {
    let (date, time) = ts.split_once(' ').unwrap();
    assert_eq!(
        date, "2023-11-16",
        "the real traces cover one hour of one day"
    );
    let (hms, frac) = time.split_once('.').unwrap();
    let mut parts = hms.split(':').map(|p| p.parse::<u64>().unwrap());
    let (h, m, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let frac_ns: u64 = format!("{frac:0<9}").parse().unwrap();
    (h * 3600 + m * 60 + s) * NS + frac_ns
}

/// Checks a real Azure file against sums computed here from its text with `split`.
fn check_real_azure(name: &str, rows: usize, last_arrival_ns: u64, sums: (u64, u64)) {
    let path = real(name);
    let got = read_azure_llm(&path).unwrap();

    // Independent reading: lines after the header, split on commas.
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .skip(1)
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    let fields = |l: &str| -> (String, u64, u64) {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 3, "{l}");
        (
            f[0].to_string(),
            f[1].parse().unwrap(),
            f[2].parse().unwrap(),
        )
    };
    let parsed: Vec<_> = lines.iter().map(|l| fields(l)).collect();
    let prompt: u64 = parsed.iter().map(|p| p.1).sum();
    let output: u64 = parsed.iter().map(|p| p.2).sum();

    assert_eq!(got.len(), rows);
    assert_eq!(parsed.len(), rows);
    assert_eq!(
        got.iter().map(|r| u64::from(r.prompt_tokens)).sum::<u64>(),
        prompt
    );
    assert_eq!(
        got.iter().map(|r| u64::from(r.output_tokens)).sum::<u64>(),
        output
    );
    assert_eq!((prompt, output), sums);
    assert_eq!(got[0].arrival, SimTime::ZERO);
    assert!(got.windows(2).all(|w| w[0].arrival <= w[1].arrival));

    // The last arrival: last row's clock time minus the first row's, both on 2023-11-16.
    let first = clock_ns(&parsed[0].0);
    let last = clock_ns(&parsed[rows - 1].0);
    assert_eq!(got[rows - 1].arrival.as_nanos(), last - first);
    assert_eq!(got[rows - 1].arrival.as_nanos(), last_arrival_ns);
    assert!(got[rows - 1].arrival < secs(3600), "within one hour");
    // Every arrival, not just the last, matches the text.
    for (r, p) in got.iter().zip(&parsed) {
        assert_eq!(r.arrival.as_nanos(), clock_ns(&p.0) - first);
        assert_eq!(
            (u64::from(r.prompt_tokens), u64::from(r.output_tokens)),
            (p.1, p.2)
        );
    }
    // No request with 0 generated tokens exists in the real files (so refusing 0 refuses nothing real).
    assert!(
        got.iter()
            .all(|r| r.output_tokens > 0 && r.prompt_tokens > 0)
    );
}

#[test]
fn real_azure_code_trace() {
    // 8,819 data rows (`wc -l` says 8,819 because the last row has no final newline; with the header
    // that is 8,820 lines). First 18:17:03.9799600, last 19:14:19.9280160 → 57 min 15.948056 s.
    check_real_azure(
        "AzureLLMInferenceTrace_code.csv",
        8_819,
        3_435_948_056_000,
        (18_059_974, 245_896),
    );
}

#[test]
fn real_azure_conv_trace() {
    // 19,366 data rows. First 18:15:46.6805900, last 19:14:08.4025270 → 58 min 21.721937 s.
    check_real_azure(
        "AzureLLMInferenceTrace_conv.csv",
        19_366,
        3_501_721_937_000,
        (22_361_870, 4_088_665),
    );
}

// ---------------------------------------------------------------------------------------------------------
// Philly job log

fn philly_err(text: &str) -> InputError {
    parse_philly(text.as_bytes(), Path::new("cluster_job_log")).unwrap_err()
}

fn philly_job(name: &str, submit: SimTime, duration: SimDuration, gpus: u32) -> JobSpec {
    JobSpec {
        name: Some(name.to_string()),
        ..JobSpec::whole_gpus(submit, duration, gpus)
    }
}

#[test]
fn philly_fixture_exact_jobs() {
    let log = read_philly(&fixture("philly_job_log.json")).unwrap();
    // Earliest replayed submission: job 5 at 2017-09-30 23:59:58.
    //   job 1: 2017-10-03 07:03:51 → 2 d 7 h 3 min 53 s = 198,233 s; 07:04:07 → 07:05:02 = 55 s; 2 GPUs.
    //   job 7: same submission as job 1 (after it in the log); 0 s; no GPU listed.
    //   job 2: 2017-10-07 01:11:39 → 6 d 1 h 11 min 41 s = 522,701 s; last attempt
    //          2017-10-07 01:13:30 → 2017-10-09 06:53:12 = 2 d 5 h 39 min 42 s = 193,182 s; 8 + 8 GPUs
    //          (the first attempt's 4 GPUs do not count).
    //   job 5: 23:59:59 → 00:00:09 the next day (and month) = 10 s; 1 GPU.
    // Left out: job 3 (no attempts), job 4 (end_time "None"), job 6 (start_time null).
    let id = |n: u32| format!("application_1506638472019_{n:05}");
    let expected = vec![
        philly_job(&id(5), secs(0), dur(10), 1),
        philly_job(&id(1), secs(198_233), dur(55), 2),
        philly_job(&id(7), secs(198_233), dur(0), 0),
        philly_job(&id(2), secs(522_701), dur(193_182), 16),
    ];
    assert_eq!(
        log,
        PhillyLog {
            jobs: expected,
            no_attempts: 1,
            no_start: 1,
            unfinished: 1,
        }
    );
    assert_eq!(log.total(), 7);
    assert_eq!(log.jobs[2].gpu_milli, 0, "no GPU listed: a CPU-only job");
    assert_eq!(log.jobs[1].gpu_milli, 1000);
    // The same bytes from memory.
    let bytes = std::fs::read(fixture("philly_job_log.json")).unwrap();
    assert_eq!(parse_philly(&bytes, Path::new("x")).unwrap(), log);
}

/// One job object on one line, for in-memory cases.
fn pjob(id: &str, submitted: &str, attempts: &str) -> String {
    format!(
        r#"{{"status": "Pass", "vc": "v", "jobid": "{id}", "attempts": [{attempts}], "submitted_time": {submitted}, "user": "u"}}"#
    )
}

fn attempt(start: &str, end: &str, gpus: usize) -> String {
    let list: Vec<String> = (0..gpus).map(|g| format!("\"gpu{g}\"")).collect();
    format!(
        r#"{{"start_time": {start}, "end_time": {end}, "detail": [{{"ip": "m1", "gpus": [{}]}}]}}"#,
        list.join(", ")
    )
}

#[test]
fn philly_times_may_be_missing_in_several_spellings() {
    let a = attempt(r#""2017-10-03 07:00:00""#, r#""2017-10-03 07:00:01.5""#, 1);
    let text = format!(
        "[\n{},\n{},\n{},\n{},\n{}\n]",
        pjob("ok", r#""2017-10-03 06:00:00""#, &a),
        pjob(
            "empty-end",
            r#""2017-10-03 06:00:00""#,
            &attempt(r#""2017-10-03 07:00:00""#, r#""""#, 1)
        ),
        pjob(
            "null-end",
            r#""2017-10-03 06:00:00""#,
            &attempt(r#""2017-10-03 07:00:00""#, "null", 1)
        ),
        pjob(
            "none-start",
            r#""2017-10-03 06:00:00""#,
            &attempt(r#""None""#, r#""2017-10-03 07:00:00""#, 1)
        ),
        // A job that never ran may lack its submission time.
        pjob("never", r#""None""#, ""),
    );
    let log = parse_philly(text.as_bytes(), Path::new("x")).unwrap();
    assert_eq!(
        log.jobs,
        vec![philly_job(
            "ok",
            secs(0),
            SimDuration::from_nanos(1_500_000_000),
            1
        )]
    );
    assert_eq!((log.no_attempts, log.no_start, log.unfinished), (1, 1, 2));
}

#[test]
fn philly_syntax_and_type_errors_at_line_and_column() {
    // A missing comma between two keys, on line 3.
    let err = philly_err("[\n  {\"jobid\": \"a\"\n   \"attempts\": []}\n]");
    assert_at(&err, 3, 4, "expected `,` or `}`");
    // Not an array.
    let err = philly_err("{\"jobid\": \"a\"}");
    assert_at(&err, 1, 1, "expected a JSON array of Philly job objects");
    // An element that is not an object.
    let err = philly_err("[\n  42\n]");
    assert_at(&err, 2, 4, "expected a Philly job object");
    // `gpus` is a number, not a list.
    let text = "[{\"jobid\": \"a\", \"submitted_time\": \"2017-10-03 06:00:00\",\n \"attempts\": [{\"start_time\": \"2017-10-03 07:00:00\",\n  \"end_time\": \"2017-10-03 08:00:00\", \"detail\": [{\"ip\": \"m1\", \"gpus\": 4}]}]}]";
    let err = philly_err(text);
    let col = text.lines().nth(2).unwrap().find("4}").unwrap() + 1;
    assert_eq!(col, 70);
    assert_at(
        &err,
        3,
        col,
        "invalid type: integer `4`, expected a sequence",
    );
    // A missing key, reported at the closing `}` of its object (column 40).
    let err = philly_err("[\n{\"jobid\": \"a\", \"submitted_time\": \"None\"}\n]");
    assert_at(&err, 2, 40, "missing field `attempts`");
    // A time that is a number.
    let err = philly_err("[{\"jobid\": \"a\", \"submitted_time\": 1506638472, \"attempts\": []}]");
    assert_at(&err, 1, 44, "expected a date and time string");
    // Truncated file.
    let err = philly_err("[\n{\"jobid\": \"a\",");
    assert_at(&err, 2, 14, "EOF while parsing a value");
    // Something after the array.
    let a = attempt(r#""2017-10-03 07:00:00""#, r#""2017-10-03 07:00:01""#, 1);
    let err = philly_err(&format!(
        "[{}]\n]",
        pjob("a", r#""2017-10-03 06:00:00""#, &a)
    ));
    assert_at(&err, 2, 1, "trailing characters");
    // The whole message.
    let err = philly_err("[\n  42\n]");
    assert_eq!(
        err.to_string(),
        "cluster_job_log:2:4: invalid type: integer `42`, expected a Philly job object with `jobid`, \
         `submitted_time` and `attempts` (in a Philly cluster_job_log)"
    );
}

#[test]
fn philly_bad_timestamps_point_at_the_string() {
    // The column is that of the closing quote of the bad time (the last character read).
    let text = "[\n  {\"jobid\": \"a\", \"attempts\": [],\n   \"submitted_time\": \"2017-13-03 07:03:51\"}\n]";
    let err = philly_err(text);
    assert_at(&err, 3, 42, "month 13 does not exist");
    assert!(err.message.contains("found `2017-13-03 07:03:51`"), "{err}");
    // In an earlier attempt, which is not replayed, a malformed time is still an error.
    let bad = attempt(r#""2017-10-03T07:00:00""#, r#""2017-10-03 07:00:01""#, 1);
    let good = attempt(r#""2017-10-03 07:00:02""#, r#""2017-10-03 07:00:03""#, 1);
    let text = format!(
        "[\n{}\n]",
        pjob("a", r#""2017-10-03 06:00:00""#, &format!("{bad}, {good}"))
    );
    let err = philly_err(&text);
    // 0-based index just past the closing quote = 1-based column of the quote.
    let col = text.lines().nth(1).unwrap().find("T07:00:00\"").unwrap() + "T07:00:00\"".len();
    assert_at(&err, 2, col, "found `2017-10-03T07:00:00`");
    // 24:00:00 and February 29 of a common year; the closing quote is in column 55.
    let err = philly_err(
        "[{\"jobid\": \"a\", \"submitted_time\": \"2017-10-03 24:00:00\", \"attempts\": []}]",
    );
    assert_at(&err, 1, 55, "hour 24 is past 23");
    let err = philly_err(
        "[{\"jobid\": \"a\", \"submitted_time\": \"2017-02-29 00:00:00\", \"attempts\": []}]",
    );
    assert_at(&err, 1, 55, "February 2017 has days 01 to 28, not 29");
}

#[test]
fn philly_job_level_errors_name_the_job() {
    // The last attempt ends before it starts: reported at the job's closing `}`.
    let a = attempt(r#""2017-10-03 07:00:10""#, r#""2017-10-03 07:00:00""#, 1);
    let first = pjob(
        "fine",
        r#""2017-10-03 06:00:00""#,
        &attempt(r#""2017-10-03 06:00:00""#, r#""2017-10-03 06:00:01""#, 1),
    );
    let bad = pjob("backwards", r#""2017-10-03 06:00:00""#, &a);
    let text = format!("[\n{first},\n{bad}\n]");
    let err = philly_err(&text);
    assert_at(
        &err,
        3,
        bad.len(),
        "job `backwards` (job 2 of the log): its last attempt (attempt 1) ends before it starts: end_time is 10 s before start_time",
    );
    // A job that ran without a submission time.
    let a = attempt(r#""2017-10-03 07:00:00""#, r#""2017-10-03 07:00:01""#, 1);
    let text = format!("[{}]", pjob("nosubmit", "null", &a));
    let err = philly_err(&text);
    assert_at(
        &err,
        1,
        text.len() - 1,
        "job `nosubmit` (job 1 of the log): expected a submitted_time",
    );
    // Jobs more than 584 years apart.
    let a1 = attempt(r#""1900-01-01 00:00:01""#, r#""1900-01-01 00:00:02""#, 1);
    let a2 = attempt(r#""2500-01-01 00:00:01""#, r#""2500-01-01 00:00:02""#, 1);
    let text = format!(
        "[{},\n{}]",
        pjob("old", r#""1900-01-01 00:00:00""#, &a1),
        pjob("new", r#""2500-01-01 00:00:00""#, &a2)
    );
    let err = philly_err(&text);
    assert!(
        matches!(err.location, Location::LineCol { line: 2, .. }),
        "{err}"
    );
    assert!(
        err.message
            .contains("job `new` (job 2 of the log): the jobs of the log span more than"),
        "{err}"
    );
}

#[test]
fn philly_file_level_errors() {
    assert_file(&philly_err(""), "the file is empty");
    assert_file(&philly_err(" \n\t\n"), "the file is empty");
    assert_file(&philly_err("[]"), "the log holds no jobs");
    let text = format!(
        "[{}, {}]",
        pjob("a", r#""2017-10-03 06:00:00""#, ""),
        pjob(
            "b",
            r#""2017-10-03 06:00:00""#,
            &attempt(r#""2017-10-03 07:00:00""#, r#""None""#, 2)
        )
    );
    assert_file(
        &philly_err(&text),
        "none of the log's 2 jobs can be replayed: 1 have no attempts, 0 have a last attempt without start_time, 1 a last attempt without end_time",
    );
    // A truncated or misspelled value is not an empty file.
    assert_at(&philly_err("nul"), 1, 3, "EOF while parsing a value");
    assert_at(&philly_err("\n\n["), 3, 1, "EOF while parsing a list");
    // The same through the file reader, which streams.
    let dir = std::env::temp_dir();
    let blank = dir.join(format!("dctwin-philly-blank-{}", std::process::id()));
    std::fs::write(&blank, " \r\n\t\n").unwrap();
    let err = read_philly(&blank).unwrap_err();
    let truncated = dir.join(format!("dctwin-philly-truncated-{}", std::process::id()));
    std::fs::write(&truncated, "\n[\n").unwrap();
    let err2 = read_philly(&truncated).unwrap_err();
    let _ = std::fs::remove_file(&blank);
    let _ = std::fs::remove_file(&truncated);
    assert_file(&err, "the file is empty");
    assert_eq!(err.file, blank);
    assert_at(&err2, 3, 1, "EOF while parsing a list");
    let err = read_philly(Path::new("tests/fixtures/no_such_cluster_job_log")).unwrap_err();
    assert_file(&err, "cannot open the Philly job log");
    // Invalid UTF-8 inside a string is a JSON error with a position.
    let mut bytes = b"[{\"jobid\": \"a".to_vec();
    bytes.push(0xff);
    bytes.extend_from_slice(b"\"}]");
    let err = parse_philly(&bytes, Path::new("x")).unwrap_err();
    assert!(
        matches!(err.location, Location::LineCol { line: 1, .. }),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Helios job log

const HELIOS_HEADER: &str = "job_id,user,vc,gpu_num,cpu_num,node_num,state,submit_time,start_time,end_time,duration,queue\n";

fn helios_err(text: &str) -> InputError {
    parse_helios(text.as_bytes(), Path::new("cluster_log.csv")).unwrap_err()
}

fn helios_job(id: &str, submit: u64, duration: u64, gpus: u32, cpus: u64) -> JobSpec {
    JobSpec {
        name: Some(id.to_string()),
        submit: secs(submit),
        duration: dur(duration),
        gpus,
        gpu_milli: if gpus == 0 { 0 } else { 1000 },
        cpu_milli: cpus * 1000,
        memory_mib: 0,
        gpu_models: Vec::new(),
        priority: 0,
    }
}

#[test]
fn helios_fixture_exact_jobs() {
    let jobs = read_helios(&fixture("helios_cluster_log.csv")).unwrap();
    // First submission 2020-04-30 23:59:30. Job 3 and 4 at 2020-05-01 00:00:10 = 40 s later; job 5 at
    // 2020-05-02 12:34:56 = 1 d 12 h 35 min 26 s = 131,726 s later.
    assert_eq!(
        jobs,
        vec![
            helios_job("1", 0, 3629, 8, 48),
            helios_job("2", 0, 5, 0, 4),
            helios_job("3", 40, 30, 16, 96),
            helios_job("4", 40, 0, 1, 6),
            helios_job("5", 131_726, 86_400, 2, 12),
        ]
    );
    let bytes = std::fs::read(fixture("helios_cluster_log.csv")).unwrap();
    assert_eq!(parse_helios(&bytes, Path::new("x")).unwrap(), jobs);
}

#[test]
fn helios_minimal_columns_any_order() {
    let jobs = parse_helios(
        b"duration,submit_time,cpu_num,gpu_num,job_id\n60,2020-04-01 00:00:00,8,1,\n1,2020-04-01 00:01:00,0,0,x\n",
        Path::new("x.csv"),
    )
    .unwrap();
    let mut first = helios_job("", 0, 60, 1, 8);
    first.name = None;
    assert_eq!(jobs, vec![first, helios_job("x", 60, 1, 0, 0)]);
}

#[test]
fn helios_bad_cells() {
    let ok =
        "1,u,vc,1,6,1,COMPLETED,2020-04-01 00:00:00,2020-04-01 00:00:01,2020-04-01 00:01:01,60,1\n";
    let row = |gpu: &str, cpu: &str, submit: &str, duration: &str| {
        format!("{HELIOS_HEADER}{ok}2,u,vc,{gpu},{cpu},1,COMPLETED,{submit},,,{duration},0\n")
    };
    let t = "2020-04-01 00:00:05";
    let cases = [
        (
            row("x", "1", t, "1"),
            "gpu_num",
            "expected a non-negative integer, found `x`",
        ),
        (row("-1", "1", t, "1"), "gpu_num", "found `-1`"),
        (
            row("4294967296", "1", t, "1"),
            "gpu_num",
            "of at most 4294967295",
        ),
        (row("", "1", t, "1"), "gpu_num", "found an empty cell"),
        (row("1", "2.5", t, "1"), "cpu_num", "found `2.5`"),
        (
            row("1", "18446744073709552", t, "1"),
            "cpu_num",
            "of at most 18446744073709551",
        ),
        (
            row("1", "1", "2020-04-01", "1"),
            "submit_time",
            "expected a date and time",
        ),
        (
            row("1", "1", "2020-04-31 00:00:00", "1"),
            "submit_time",
            "April 2020 has days 01 to 30, not 31",
        ),
        (
            row("1", "1", "2020-04-01 00:00:60", "1"),
            "submit_time",
            "second 60 is past 59",
        ),
        (row("1", "1", "", "1"), "submit_time", "found an empty cell"),
        (
            row("1", "1", t, "-3"),
            "duration",
            "expected a non-negative whole number of seconds, found `-3`",
        ),
        (row("1", "1", t, "1.5"), "duration", "found `1.5`"),
        (row("1", "1", t, ""), "duration", "found an empty cell"),
        (
            row("1", "1", t, "18446744074"),
            "duration",
            "of at most 18446744073",
        ),
    ];
    for (text, field, needle) in cases {
        assert_cell(&helios_err(&text), 3, field, needle);
    }
    // A duration that fits alone but not after the submission time.
    let err = helios_err(&row("1", "1", "2020-04-02 00:00:00", "18446744073"));
    assert_cell(&err, 3, "duration", "beyond the simulated time range");
}

#[test]
fn helios_submit_order() {
    let err = helios_err(&format!(
        "{HELIOS_HEADER}\
         1,u,vc,1,6,1,COMPLETED,2020-04-01 00:00:00,,,60,1\n\
         \n\
         2,u,vc,1,6,1,COMPLETED,2020-04-01 10:00:00,,,60,1\n\
         3,u,vc,1,6,1,COMPLETED,2020-04-01 09:59:59,,,60,1\n"
    ));
    assert_cell(
        &err,
        5,
        "submit_time",
        "non-decreasing submit_time order: expected at least `2020-04-01 10:00:00` (the submit_time of line 4), found `2020-04-01 09:59:59`",
    );
}

#[test]
fn helios_header_problems() {
    let err = helios_err("job_id,gpu_num,cpu_num,duration\n1,1,1,1\n");
    assert_line(&err, 1, "lacks required column `submit_time`");
    let err = helios_err("job_id,gpu_num,cpu_num,duration,submit_time,jobname\n");
    assert_cell(&err, 1, "jobname", "unknown column `jobname`");
    assert_file(&helios_err(HELIOS_HEADER), "has a header but no jobs");
    let err = read_helios(Path::new("tests/fixtures/no_such_cluster_log.csv")).unwrap_err();
    assert_file(&err, "cannot open the Helios job log");
}

// ---------------------------------------------------------------------------------------------------------
// Never panic

fn read_all(data: &[u8]) {
    let p = Path::new("fuzz");
    let _ = parse_azure_llm(data, p);
    let _ = parse_helios(data, p);
    let _ = parse_philly(data, p);
}

/// Bytes that make date-times, CSV and JSON interesting.
fn trace_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            6 => prop::sample::select(b",\"\r\n-.: 0123456789[]{}N".to_vec()),
            1 => any::<u8>(),
        ],
        0..200,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..300)) {
        read_all(&data);
    }

    #[test]
    fn random_rows_after_valid_headers_never_panic(body in trace_bytes(), which in 0..3usize) {
        let header: &[u8] = match which {
            0 => b"TIMESTAMP,ContextTokens,GeneratedTokens\n",
            1 => HELIOS_HEADER.as_bytes(),
            _ => b"[{\"jobid\": \"a\", \"submitted_time\": \"",
        };
        let mut data = header.to_vec();
        data.extend_from_slice(&body);
        read_all(&data);
    }

    /// Any valid date-time round-trips: the arrival of a second request equals the civil difference.
    #[test]
    fn arrivals_match_civil_arithmetic(
        y in 1970u32..2400, mo in 1u32..=12, d in 1u32..=28, h in 0u32..24, mi in 0u32..60, s in 0u32..60,
        frac in 0u32..1_000_000_000, extra_days in 0u64..4000,
    ) {
        // The second timestamp is `extra_days` later at 00:00:00; count days by walking the calendar.
        let leap = |y: u32| y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
        let month_len = |y: u32, m: u32| match m { 2 if leap(y) => 29, 2 => 28, 4 | 6 | 9 | 11 => 30, _ => 31 };
        let (mut y2, mut m2, mut d2) = (y, mo, d);
        for _ in 0..extra_days + 1 {
            d2 += 1;
            if d2 > month_len(y2, m2) { d2 = 1; m2 += 1; }
            if m2 > 12 { m2 = 1; y2 += 1; }
        }
        let text = format!(
            "TIMESTAMP,ContextTokens,GeneratedTokens\n{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{frac:09},1,1\n{y2:04}-{m2:02}-{d2:02} 00:00:00,1,1\n"
        );
        let got = parse_azure_llm(text.as_bytes(), Path::new("x")).unwrap();
        let day = 86_400 * NS;
        let since_midnight = u64::from(h * 3600 + mi * 60 + s) * NS + u64::from(frac);
        prop_assert_eq!(got[1].arrival.as_nanos(), (extra_days + 1) * day - since_midnight);
    }
}
