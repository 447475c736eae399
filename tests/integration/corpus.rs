//! The bad-input corpus (`tests/corpus/cases.tsv`, format in its header): every case runs through the built
//! binary twice, in the human and the JSON message format. Each must exit with its expected code within a
//! bound, never panic, keep stderr short, and name the expected file, line, column or field (checked on
//! the JSON object) with its needle in the message (checked in both forms).
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bounded::{self, Finished};
use crate::common::{root, temp_dir};

/// Longest stderr a bad input may produce, in bytes.
const MAX_STDERR: usize = 4096;
/// Wall-time bound of one case.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Sizes of the huge template values.
const HUGE: usize = 4 << 20;
/// Size of `%BIG%` in an argument (each argument is limited to 128 kB).
const BIG_ARG: usize = 100_000;

fn corpus() -> PathBuf {
    root().join("tests/corpus")
}

/// What stderr must name: `FILE[:LINE[:COL]][::FIELD]`, or `-` for no file.
#[derive(Debug, Default)]
struct Where {
    file: Option<String>,
    line: Option<u64>,
    col: Option<u64>,
    field: Option<String>,
}

fn parse_where(s: &str) -> Where {
    if s == "-" {
        return Where::default();
    }
    let (loc, field) = match s.split_once("::") {
        Some((l, f)) => (l, Some(f.to_string())),
        None => (s, None),
    };
    let mut parts = loc.split(':');
    let file = parts.next().map(str::to_string);
    let num = |p: Option<&str>| p.map(|x| x.parse::<u64>().expect("a line or column number"));
    let line = num(parts.next());
    let col = num(parts.next());
    Where {
        file,
        line,
        col,
        field,
    }
}

/// One line of cases.tsv.
struct Case {
    line: usize,
    exit: i32,
    place: Where,
    needle: String,
    command: String,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(corpus().join("cases.tsv")).expect("cases.tsv");
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty())
        .map(|(i, l)| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() >= 4, "cases.tsv:{}: expected 4 fields", i + 1);
            Case {
                line: i + 1,
                exit: f[0].parse().expect("an exit code"),
                place: parse_where(f[1]),
                needle: f[2].to_string(),
                command: f[3].to_string(),
            }
        })
        .collect()
}

/// Expands a template of the corpus into `dir` (same relative path, without `.tmpl`).
fn expand(template: &str, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(corpus().join(template)).expect("template");
    let words: String = "x y ".repeat(HUGE / 4);
    let text = text
        .replace("@@HUGE_WORDS@@", words.trim_end())
        .replace("@@HUGE@@", &"x".repeat(HUGE))
        .replace("@@REPO@@", &root().display().to_string());
    let out = dir.join(template.trim_end_matches(".tmpl"));
    std::fs::create_dir_all(out.parent().expect("a parent")).expect("mkdir");
    std::fs::write(&out, text).expect("write the expansion");
    out
}

/// The arguments of a case: corpus paths made absolute, `@TMP` and templates expanded into `dir`.
fn arguments(command: &str, dir: &Path) -> Vec<OsString> {
    command
        .split(' ')
        .filter(|t| !t.is_empty())
        .enumerate()
        .map(|(i, t)| {
            let big = t.replace("%BIG%", &"x".repeat(BIG_ARG));
            let t = big.as_str();
            if t == "@TMP" {
                return dir.join("out").into_os_string();
            }
            if let Some((k, v)) = t.split_once("=@") {
                return format!("{k}={}", expand(v, dir).display()).into();
            }
            if t.ends_with(".tmpl") {
                return expand(t, dir).into_os_string();
            }
            let path = corpus().join(t);
            if i > 0
                && !t.starts_with('-')
                && !t.contains('=')
                && (t.contains('/') || path.exists())
            {
                return path.into_os_string();
            }
            t.into()
        })
        .collect()
}

/// What is wrong with one run of a case (empty: nothing).
fn check_common(case: &Case, r: &Finished, form: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let err = r.stderr_text();
    if r.timed_out {
        bad.push(format!("{form}: still running after {TIMEOUT:?} (a hang)"));
    }
    if r.panicked() {
        bad.push(format!("{form}: panicked: {}", excerpt(&err)));
    }
    if r.code != Some(case.exit) {
        bad.push(format!(
            "{form}: exit {:?}, expected {}: {}",
            r.code,
            case.exit,
            excerpt(&err)
        ));
    }
    if r.stderr_len > MAX_STDERR {
        bad.push(format!(
            "{form}: stderr is {} bytes (at most {MAX_STDERR}): {}",
            r.stderr_len,
            excerpt(&err)
        ));
    }
    bad
}

fn excerpt(s: &str) -> String {
    let e: String = s.chars().take(600).collect();
    if e.len() < s.len() { e + "…" } else { e }
}

/// Checks the human form: `error: …` naming the file, line and field, with the needle.
fn check_human(case: &Case, r: &Finished) -> Vec<String> {
    let mut bad = check_common(case, r, "human");
    if case.exit != 2 {
        return bad;
    }
    let err = r.stderr_text();
    let mut want = vec![case.needle.clone()];
    if let Some(f) = &case.place.file {
        let name = Path::new(f).file_name().expect("a file name");
        let name = name.to_string_lossy();
        want.push(match case.place.line {
            Some(l) => format!("{name}:{l}"),
            None => name.into_owned(),
        });
    }
    if let Some(f) = &case.place.field {
        want.push(format!("`{f}`"));
    }
    if !err.starts_with("error: ") {
        bad.push(format!(
            "human: stderr does not start with `error: `: {}",
            excerpt(&err)
        ));
    }
    for w in want {
        if !err.contains(&w) {
            bad.push(format!("human: stderr lacks `{w}`: {}", excerpt(&err)));
        }
    }
    bad
}

/// Checks the JSON form: one object whose file, line, column and field are as expected.
fn check_json(case: &Case, r: &Finished) -> Vec<String> {
    let mut bad = check_common(case, r, "json");
    let err = r.stderr_text();
    let lines: Vec<&str> = err.lines().collect();
    if lines.len() != 1 {
        bad.push(format!(
            "json: {} lines on stderr: {}",
            lines.len(),
            excerpt(&err)
        ));
        return bad;
    }
    let v: serde_json::Value = match serde_json::from_str(lines[0]) {
        Ok(v) => v,
        Err(e) => {
            bad.push(format!("json: not JSON ({e}): {}", excerpt(&err)));
            return bad;
        }
    };
    let keys: Vec<&str> = v
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    for k in ["file", "line", "column", "field", "message"] {
        if !keys.contains(&k) {
            bad.push(format!("json: no key `{k}`: {}", lines[0]));
        }
    }
    let p = &case.place;
    let file = v["file"].as_str();
    match (&p.file, file) {
        (None, None) => {}
        (Some(want), Some(got)) if got.ends_with(want.as_str()) => {}
        (want, got) => bad.push(format!("json: file {got:?}, expected {want:?}")),
    }
    if p.line.is_some() && v["line"].as_u64() != p.line {
        bad.push(format!("json: line {}, expected {:?}", v["line"], p.line));
    }
    if p.col.is_some() && v["column"].as_u64() != p.col {
        bad.push(format!(
            "json: column {}, expected {:?}",
            v["column"], p.col
        ));
    }
    if p.field.is_some() && v["field"].as_str() != p.field.as_deref() {
        bad.push(format!(
            "json: field {}, expected {:?}",
            v["field"], p.field
        ));
    }
    let message = v["message"].as_str().unwrap_or_default();
    if !message.contains(&case.needle) {
        bad.push(format!("json: message lacks `{}`: {message}", case.needle));
    }
    bad
}

/// Runs one case in both forms; the problems found, each prefixed with the case.
fn run_case(case: &Case, dir: &Path) -> Vec<String> {
    let bin = bounded::binary();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("case dir");
    let args = arguments(&case.command, dir);
    let human = bounded::run(&bin, &args, dir, TIMEOUT);
    let mut bad = check_human(case, &human);
    if case.exit == 2 {
        let _ = std::fs::remove_dir_all(dir.join("out"));
        let mut args = args;
        args.push("--message-format".into());
        args.push("json".into());
        bad.extend(check_json(case, &bounded::run(&bin, &args, dir, TIMEOUT)));
    }
    bad.into_iter()
        .map(|b| format!("cases.tsv:{} `{}`: {b}", case.line, case.command))
        .collect()
}

#[test]
fn every_bad_input_names_its_place_and_exits_2() {
    let cases = cases();
    assert!(cases.len() >= 100, "{} cases", cases.len());
    let dir = temp_dir("corpus");
    let failures: Vec<String> = bounded::parallel(cases.len(), bounded::threads(), |i| {
        run_case(&cases[i], &dir.join(i.to_string()))
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(
        failures.is_empty(),
        "{} problem(s) in the corpus:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
