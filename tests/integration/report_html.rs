//! report.html in headless Chromium: the page of a run and of a sweep loads without console errors,
//! uncaught exceptions or failed resource loads, its charts lay out, and a screenshot is not blank.
//!
//! The browser is driven over the DevTools protocol on `--remote-debugging-pipe` (JSON messages
//! ending in a NUL byte on file descriptors 3 and 4; `sh` maps them to the child's stdin/stdout),
//! so the test needs no WebSocket client. Errors are collected from `Runtime.exceptionThrown`,
//! `Runtime.consoleAPICalled` (error/assert), `Log.entryAdded` (level error: e.g. "Failed to load
//! resource") and `Network.loadingFailed`. The screenshot comes from `Page.captureScreenshot` and is
//! decoded with the `png` crate. Deliberately broken and empty pages prove both checks can fail.
//!
//! Browser: `$CHROMIUM`, else `chromium`, `chromium-browser` or `google-chrome` on PATH. Without
//! one each test prints why and passes, unless `DCTWIN_REQUIRE_BROWSER=1` (set by `.ci/run`).
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{dctwin, root, temp_dir, write};

/// Viewport of every page load (CSS pixels, device scale 1).
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 1600;
/// A page is "not blank" when at least this fraction of its screenshot differs from the background.
const MIN_INK: f64 = 0.01;
/// Guard against a hung browser (not a timing assertion: a healthy load takes about a second).
const HANG_GUARD: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------------
// Finding the browser
// ---------------------------------------------------------------------------------------------

fn browser_required() -> bool {
    std::env::var("DCTWIN_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// `$CHROMIUM`, else the first of chromium / chromium-browser / google-chrome on PATH.
fn find_browser() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("CHROMIUM").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("$CHROMIUM={} is not a file", p.display()))
        };
    }
    let names = ["chromium", "chromium-browser", "google-chrome"];
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(format!(
        "no headless browser: $CHROMIUM is unset and none of {names:?} is on PATH \
         (Debian: apt-get install chromium)"
    ))
}

/// The browser, or `None` after printing why the test is skipped; panics instead of skipping when
/// `DCTWIN_REQUIRE_BROWSER=1`.
fn browser_or_skip(test: &str) -> Option<PathBuf> {
    match find_browser() {
        Ok(p) => Some(p),
        Err(why) if browser_required() => {
            panic!("{test}: DCTWIN_REQUIRE_BROWSER=1 but {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED {test}: {why}; set DCTWIN_REQUIRE_BROWSER=1 to make this a failure");
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A minimal DevTools-protocol client over --remote-debugging-pipe
// ---------------------------------------------------------------------------------------------

/// What loading one page produced.
struct Loaded {
    /// Console errors, uncaught exceptions, failed loads: empty for a clean page.
    problems: Vec<String>,
    /// `document.title`.
    title: String,
    /// `<svg>` elements in the document, and how many of them have a non-empty layout box.
    svgs: u64,
    svgs_laid_out: u64,
    /// The viewport screenshot (PNG bytes).
    screenshot: Vec<u8>,
}

struct Browser {
    child: Child,
    to: ChildStdin,
    from: Receiver<Value>,
    next_id: u64,
    /// Events received while waiting for something else, in arrival order.
    events: Vec<Value>,
    deadline: Instant,
    stderr_log: PathBuf,
}

impl Browser {
    fn launch(exe: &Path, tag: &str) -> Browser {
        let dir = temp_dir(&format!("chromium-{tag}"));
        let profile = dir.join("profile");
        std::fs::create_dir_all(&profile).unwrap();
        let stderr_log = dir.join("chromium-stderr.txt");
        // fd 3 reads our commands (the child's stdin pipe), fd 4 writes replies (its stdout pipe).
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null"#)
            .arg(exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--mute-audio",
                "--force-device-scale-factor=1",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", exe.display()));
        let to = child.stdin.take().unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let (tx, from) = channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if buf.last() == Some(&0) {
                    buf.pop();
                }
                let Ok(v) = serde_json::from_slice::<Value>(&buf) else {
                    continue;
                };
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        Browser {
            child,
            to,
            from,
            next_id: 0,
            events: Vec::new(),
            deadline: Instant::now() + HANG_GUARD,
            stderr_log,
        }
    }

    fn stderr_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.stderr_log).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The next message from the browser, or a panic naming what was awaited.
    fn recv(&mut self, what: &str) -> Value {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match self.from.recv_timeout(left) {
            Ok(v) => v,
            Err(RecvTimeoutError::Timeout) => panic!(
                "headless browser gave no {what} within {HANG_GUARD:?}; its stderr ends:\n{}",
                self.stderr_tail()
            ),
            Err(RecvTimeoutError::Disconnected) => panic!(
                "headless browser closed its DevTools pipe while awaiting {what}; its stderr ends:\n{}",
                self.stderr_tail()
            ),
        }
    }

    /// Sends a command (to a page session when `session` is given) and returns its result.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to
            .write_all(&bytes)
            .and_then(|_| self.to.flush())
            .unwrap_or_else(|e| panic!("send {method} to the browser: {e}"));
        loop {
            let v = self.recv(&format!("reply to {method}"));
            if v["id"].as_u64() == Some(id) {
                if let Some(e) = v.get("error") {
                    panic!("DevTools {method} failed: {e}");
                }
                return v["result"].clone();
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    /// Waits for event `method` of `session` (possibly already received).
    fn wait_event(&mut self, session: &str, method: &str) {
        let is_it = |v: &Value| v["method"] == method && v["sessionId"] == session;
        if self.events.iter().any(is_it) {
            return;
        }
        loop {
            let v = self.recv(method);
            let hit = is_it(&v);
            if v.get("method").is_some() {
                self.events.push(v);
            }
            if hit {
                return;
            }
        }
    }

    /// Loads `page` in a fresh tab and reports what went wrong, what laid out, and a screenshot.
    fn load(&mut self, page: &Path) -> Loaded {
        let page = page
            .canonicalize()
            .unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        let url = format!("file://{}", page.display());
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        let sid = attached["sessionId"].as_str().unwrap().to_string();
        let s = Some(sid.as_str());
        for domain in ["Runtime", "Log", "Network", "Page"] {
            self.call(s, &format!("{domain}.enable"), json!({}));
        }
        self.call(
            s,
            "Emulation.setDeviceMetricsOverride",
            json!({"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": false}),
        );
        let mut problems = Vec::new();
        let nav = self.call(s, "Page.navigate", json!({"url": url}));
        if let Some(e) = nav["errorText"].as_str() {
            problems.push(format!("navigation to {url} failed: {e}"));
        } else {
            self.wait_event(&sid, "Page.loadEventFired");
        }
        // A round trip through the page after `load`: everything it logged is in by now.
        let probe = self.call(
            s,
            "Runtime.evaluate",
            json!({
                "expression": "JSON.stringify({title: document.title, \
                    svgs: document.querySelectorAll('svg').length, \
                    laid_out: Array.from(document.querySelectorAll('svg')).filter(e => { \
                        const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; \
                    }).length})",
                "returnByValue": true,
            }),
        );
        let probe: Value = serde_json::from_str(probe["result"]["value"].as_str().unwrap_or("{}"))
            .unwrap_or_default();
        let shot = self.call(
            s,
            "Page.captureScreenshot",
            json!({"format": "png", "fromSurface": true}),
        );
        let screenshot = base64_decode(shot["data"].as_str().expect("screenshot data"));
        problems.extend(self.problems_of(&sid));
        self.call(None, "Target.closeTarget", json!({"targetId": target_id}));
        Loaded {
            problems,
            title: probe["title"].as_str().unwrap_or_default().to_string(),
            svgs: probe["svgs"].as_u64().unwrap_or(0),
            svgs_laid_out: probe["laid_out"].as_u64().unwrap_or(0),
            screenshot,
        }
    }

    /// Console errors, uncaught exceptions and failed loads among the events of `session`.
    fn problems_of(&self, session: &str) -> Vec<String> {
        let mut urls: HashMap<String, String> = HashMap::new();
        let mut out = Vec::new();
        for e in self.events.iter().filter(|e| e["sessionId"] == session) {
            let p = &e["params"];
            match e["method"].as_str().unwrap_or_default() {
                "Network.requestWillBeSent" => {
                    urls.insert(
                        p["requestId"].as_str().unwrap_or_default().into(),
                        p["request"]["url"].as_str().unwrap_or_default().into(),
                    );
                }
                "Network.loadingFailed" => {
                    let url = urls.get(p["requestId"].as_str().unwrap_or_default());
                    out.push(format!(
                        "failed load of {}: {}",
                        url.map_or("?", |s| s.as_str()),
                        p["errorText"].as_str().unwrap_or("?")
                    ));
                }
                "Runtime.exceptionThrown" => {
                    let d = &p["exceptionDetails"];
                    let text = d["exception"]["description"]
                        .as_str()
                        .or(d["text"].as_str())
                        .unwrap_or("?");
                    out.push(format!("uncaught exception: {text}"));
                }
                "Runtime.consoleAPICalled"
                    if matches!(p["type"].as_str(), Some("error" | "assert")) =>
                {
                    let args: Vec<String> = p["args"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| match &a["value"] {
                            Value::String(s) => s.clone(),
                            Value::Null => a["description"].as_str().unwrap_or("?").to_string(),
                            v => v.to_string(),
                        })
                        .collect();
                    out.push(format!(
                        "console.{}: {}",
                        p["type"].as_str().unwrap(),
                        args.join(" ")
                    ));
                }
                "Log.entryAdded" if p["entry"]["level"] == "error" => {
                    let en = &p["entry"];
                    out.push(format!(
                        "console error ({}): {} {}",
                        en["source"].as_str().unwrap_or("?"),
                        en["text"].as_str().unwrap_or("?"),
                        en["url"].as_str().unwrap_or("")
                    ));
                }
                _ => {}
            }
        }
        out
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ask politely, then make sure: never leave a browser behind.
        self.next_id += 1;
        let mut close = serde_json::to_vec(&json!({"id": self.next_id, "method": "Browser.close"}))
            .unwrap_or_default();
        close.push(0);
        let _ = self.to.write_all(&close).and_then(|_| self.to.flush());
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {:?}", c as char),
        }
    };
    let bytes: Vec<u8> = s
        .bytes()
        .filter(|&c| c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The blank check
// ---------------------------------------------------------------------------------------------

/// Fraction of the screenshot's pixels that differ from its background colour (the most common
/// colour) by more than a little in any channel, with the image size for messages.
fn ink(png_bytes: &[u8]) -> (f64, u32, u32) {
    let mut dec = png::Decoder::new(std::io::Cursor::new(png_bytes));
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec
        .read_info()
        .unwrap_or_else(|e| panic!("screenshot is not a PNG: {e}"));
    let mut buf = vec![0; reader.output_buffer_size().expect("PNG size")];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("decode screenshot: {e}"));
    let channels = info.color_type.samples();
    let px: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|c| match channels {
            1 | 2 => [c[0]; 3],
            _ => [c[0], c[1], c[2]],
        })
        .collect();
    assert!(!px.is_empty(), "screenshot has no pixels");
    let mut counts: HashMap<[u8; 3], usize> = HashMap::new();
    for p in &px {
        *counts.entry(*p).or_default() += 1;
    }
    let (&bg, _) = counts.iter().max_by_key(|&(c, n)| (*n, *c)).unwrap();
    let inked = px
        .iter()
        .filter(|p| p.iter().zip(bg).any(|(&a, b)| a.abs_diff(b) > 16))
        .count();
    (inked as f64 / px.len() as f64, info.width, info.height)
}

fn assert_clean_and_not_blank(what: &str, page: &Path, got: &Loaded, min_svgs: u64) {
    assert!(
        got.problems.is_empty(),
        "{what} ({}) has browser errors:\n  {}",
        page.display(),
        got.problems.join("\n  ")
    );
    assert!(
        got.title.starts_with("dctwin"),
        "{what}: unexpected document title {:?} (did the page load?)",
        got.title
    );
    assert!(
        got.svgs >= min_svgs && got.svgs_laid_out == got.svgs,
        "{what}: {} inline SVG chart(s), {} with a non-empty layout box; expected all of at least {min_svgs}",
        got.svgs,
        got.svgs_laid_out
    );
    let (frac, w, h) = ink(&got.screenshot);
    assert!(
        frac >= MIN_INK,
        "{what}: the {w}×{h} screenshot is blank ({:.3}% of pixels differ from the background, \
         need {:.1}%)",
        frac * 100.0,
        MIN_INK * 100.0
    );
    eprintln!(
        "{what}: loaded in headless Chromium, no errors, {} SVG charts laid out, {w}×{h} screenshot \
         with {:.1}% non-background pixels",
        got.svgs,
        frac * 100.0
    );
}

fn ok(args: &[&str]) {
    let o = dctwin(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "dctwin {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn run_report_loads_cleanly_in_chromium() {
    let Some(exe) = browser_or_skip("run_report_loads_cleanly_in_chromium") else {
        return;
    };
    let d = temp_dir("report-html-run");
    let out = d.join("run");
    let scenario = root().join("scenarios/quickstart.ron");
    ok(&[
        "run",
        scenario.to_str().unwrap(),
        "--quiet",
        "--set",
        "horizon_s=86400",
        "--out",
        out.to_str().unwrap(),
    ]);
    let page = out.join("report.html");
    let mut b = Browser::launch(&exe, "run");
    let got = b.load(&page);
    assert_clean_and_not_blank("run report.html", &page, &got, 2);
}

/// A run with failures and storage: its page has the Failures and Storage sections and a third chart
/// (failures.svg), and loads as cleanly.
#[test]
fn failures_run_report_loads_cleanly_in_chromium() {
    let Some(exe) = browser_or_skip("failures_run_report_loads_cleanly_in_chromium") else {
        return;
    };
    let d = temp_dir("report-html-failures");
    let out = d.join("run");
    let scenario = root().join("scenarios/llm-pretraining-failures.ron");
    ok(&[
        "run",
        scenario.to_str().unwrap(),
        "--quiet",
        "--set",
        "horizon_s=259200",
        "--out",
        out.to_str().unwrap(),
    ]);
    let page = out.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    for needle in [
        "<h2>Failures</h2>",
        "<h3>Failures by class</h3>",
        "<h2>Storage</h2>",
    ] {
        assert!(
            html.contains(needle),
            "{needle} missing from {}",
            page.display()
        );
    }
    let mut b = Browser::launch(&exe, "failures");
    let got = b.load(&page);
    assert_clean_and_not_blank("failures run report.html", &page, &got, 3);
}

#[test]
fn sweep_report_loads_cleanly_in_chromium() {
    let Some(exe) = browser_or_skip("sweep_report_loads_cleanly_in_chromium") else {
        return;
    };
    let d = temp_dir("report-html-sweep");
    let scenario = root().join("scenarios/quickstart.ron");
    // 2 arrival rates × 2 replicates of a one-day quickstart = 4 runs.
    let file = write(
        &d,
        "small.ron",
        &format!(
            r#"Sweep(
    scenario: "{}",
    set: ["horizon_s=86400"],
    axes: [(path: "workload.Synthetic.interarrival_s.Exponential.mean_s", values: [100, 140])],
    replicates: 2,
    seed: 3,
    plot: (figure: "jobs.wait_s.p99", tradeoff: ("energy.it_j", "jobs.wait_s.p99")),
)
"#,
            scenario.display()
        ),
    );
    let out = d.join("sweep");
    ok(&[
        "sweep",
        file.to_str().unwrap(),
        "--quiet",
        "--threads",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    let page = out.join("report.html");
    let mut b = Browser::launch(&exe, "sweep");
    let got = b.load(&page);
    assert_clean_and_not_blank("sweep report.html", &page, &got, 2);
}

/// The checks can fail: a missing image, a throwing script and console.error are each flagged,
/// and an empty page is found blank.
#[test]
fn checker_flags_broken_and_blank_pages() {
    let Some(exe) = browser_or_skip("checker_flags_broken_and_blank_pages") else {
        return;
    };
    let d = temp_dir("report-html-broken");
    let head =
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>dctwin probe</title></head>";
    let missing_img = write(
        &d,
        "missing-img.html",
        &format!("{head}<body><h1>A heading</h1><img src=\"missing.png\" alt=\"\"></body></html>"),
    );
    let throws = write(
        &d,
        "throws.html",
        &format!(
            "{head}<body><h1>A heading</h1><script>throw new Error('probe-thrown')</script></body></html>"
        ),
    );
    let console_error = write(
        &d,
        "console-error.html",
        &format!(
            "{head}<body><h1>A heading</h1><script>console.error('probe-console')</script></body></html>"
        ),
    );
    let empty = write(&d, "empty.html", &format!("{head}<body></body></html>"));

    let mut b = Browser::launch(&exe, "broken");
    for (page, needle) in [
        (&missing_img, "missing.png"),
        (&throws, "probe-thrown"),
        (&console_error, "probe-console"),
    ] {
        let got = b.load(page);
        assert!(
            got.problems.iter().any(|p| p.contains(needle)),
            "{}: the checker missed the deliberate error ({needle}); it reported {:?}",
            page.display(),
            got.problems
        );
        eprintln!("{}: flagged {:?}", page.display(), got.problems);
    }

    let got = b.load(&empty);
    assert!(
        got.problems.is_empty(),
        "an empty page has no errors: {:?}",
        got.problems
    );
    let (frac, _, _) = ink(&got.screenshot);
    assert!(
        frac < MIN_INK,
        "the blank check passed an empty page ({:.3}% ink)",
        frac * 100.0
    );
    eprintln!(
        "empty.html: {:.3}% non-background pixels, below {:.1}%: blank",
        frac * 100.0,
        MIN_INK * 100.0
    );
}

/// `needle` in the page, or a failure naming what the page is.
fn has(page: &Path, html: &str, needle: &str) {
    assert!(
        html.contains(needle),
        "{needle:?} missing from {}",
        page.display()
    );
}

/// The text of a headline card: `<div class="label">LABEL</div><div class="value">VALUE</div>`.
fn card(html: &str, label: &str) -> Option<String> {
    let at = html.find(&format!(
        "<div class=\"label\">{label}</div><div class=\"value\">"
    ))?;
    let rest = &html[at..];
    let v = rest.find("<div class=\"value\">")? + "<div class=\"value\">".len();
    let end = rest[v..].find("</div>")?;
    Some(rest[v..v + end].to_string())
}

/// A year of the green site: the headline figures in human units (GWh, MW, m³, t CO2e, the tariff's
/// currency, PUE, GPU utilisation, jobs), a month-by-month table of twelve calendar months, calendar month
/// ticks on the time axes, the site diagram — and the page loads cleanly.
#[test]
fn year_report_has_headline_figures_in_human_units_and_months() {
    let d = temp_dir("report-html-year");
    let out = d.join("run");
    let scenario = root().join("scenarios/green-site.ron");
    ok(&[
        "run",
        scenario.to_str().unwrap(),
        "--quiet",
        "--set",
        "horizon_s=31536000",
        "--out",
        out.to_str().unwrap(),
    ]);
    let page = out.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    for (label, unit) in [
        ("Facility energy", " GWh"),
        ("Peak facility power", " MW"),
        ("Water", " m³"),
        ("Carbon (operational)", " t CO2e"),
        ("Electricity cost", "USD "),
        ("GPU utilisation", " %"),
    ] {
        let v =
            card(&html, label).unwrap_or_else(|| panic!("no {label} card in {}", page.display()));
        assert!(v.contains(unit), "{label}: {v:?} has no {unit:?}");
        let c: Vec<char> = v.chars().collect();
        let sci = c.windows(3).any(|w| {
            w[0].is_ascii_digit() && w[1] == 'e' && (w[2].is_ascii_digit() || w[2] == '-')
        });
        assert!(!sci, "{label}: {v:?} in scientific notation");
    }
    let pue: f64 = card(&html, "PUE").unwrap().parse().unwrap();
    assert!((1.0..2.0).contains(&pue), "PUE {pue}");
    assert!(card(&html, "Jobs completed").is_some());
    for needle in [
        "<h2>Month by month</h2>",
        "<tr><td>Jan</td>",
        "<tr><td>Dec</td>",
        "<td>whole run</td>",
        ">Jul</text>",
        "<dt>Simulated</dt><dd>1 Jan – 31 Dec · 365 days</dd>",
        "<dt>Currency</dt><dd>USD</dd>",
        "Hall 1 · 4 rows · 32 racks",
    ] {
        has(&page, &html, needle);
    }
    // No raw machine names before the appendix.
    let appendix = html.find("<details>").unwrap();
    assert!(
        !html[..appendix].contains("energy.it_j") && !html[..appendix].contains("facility.water")
    );
    let Some(exe) = browser_or_skip("year_report_has_headline_figures_in_human_units_and_months")
    else {
        return;
    };
    let mut b = Browser::launch(&exe, "year");
    let got = b.load(&page);
    assert_clean_and_not_blank("year report.html", &page, &got, 6);
}

/// A day of LLM serving: requests served, TTFT and TPOT p99 in ms or s and SLO attainment as headline
/// figures, the latency distribution, and no jobs rows (an inference run has no batch jobs).
#[test]
fn serving_report_has_latency_headlines_and_no_jobs() {
    let d = temp_dir("report-html-serving");
    let out = d.join("run");
    let scenario = root().join("scenarios/inference-day.ron");
    ok(&[
        "run",
        scenario.to_str().unwrap(),
        "--quiet",
        "--set",
        "horizon_s=7200",
        "--out",
        out.to_str().unwrap(),
    ]);
    let page = out.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    for (label, unit) in [
        ("IT energy", "Wh"),
        ("Peak IT power", " kW"),
        ("TTFT p99", "s"),
        ("TPOT p99", " ms"),
        ("SLO attainment", " %"),
    ] {
        let v =
            card(&html, label).unwrap_or_else(|| panic!("no {label} card in {}", page.display()));
        assert!(v.contains(unit), "{label}: {v:?} has no {unit:?}");
    }
    assert!(card(&html, "Requests served").is_some());
    assert!(
        card(&html, "Jobs completed").is_none(),
        "jobs card on an inference run"
    );
    for needle in [
        "<h3>Request latency distribution</h3>",
        "TTFT target",
        "<h2>Serving</h2>",
        "<td>time to first token</td>",
    ] {
        has(&page, &html, needle);
    }
    assert!(
        !html.contains("<h2>Jobs</h2>"),
        "jobs section on an inference run"
    );
    let Some(exe) = browser_or_skip("serving_report_has_latency_headlines_and_no_jobs") else {
        return;
    };
    let mut b = Browser::launch(&exe, "serving");
    let got = b.load(&page);
    assert_clean_and_not_blank("serving report.html", &page, &got, 3);
}

/// `dctwin compare --out` writes compare.html beside compare.md and compare.csv: the headline figures of
/// both runs side by side with the change, built with the same template — and it loads cleanly. The
/// tariff's currency (`facility.tariff.currency`) shows on each run's page.
#[test]
fn compare_writes_a_side_by_side_page() {
    let d = temp_dir("report-html-compare");
    let scenario = root().join("scenarios/green-site.ron");
    let (a, b) = (d.join("usd"), d.join("eur"));
    for (dir, currency) in [(&a, "USD"), (&b, "EUR")] {
        ok(&[
            "run",
            scenario.to_str().unwrap(),
            "--quiet",
            "--set",
            "horizon_s=86400",
            "--set",
            &format!("facility.tariff.currency={currency}"),
            "--set",
            if currency == "EUR" {
                "facility.cooling.chws_c=12"
            } else {
                "facility.cooling.chws_c=18"
            },
            "--out",
            dir.to_str().unwrap(),
        ]);
    }
    let eur = std::fs::read_to_string(b.join("report.html")).unwrap();
    assert!(card(&eur, "Electricity cost").unwrap().starts_with("EUR "));
    let out = d.join("cmp");
    ok(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    for f in ["compare.md", "compare.csv", "compare.html"] {
        assert!(out.join(f).is_file(), "{f} not written");
    }
    let page = out.join("compare.html");
    let html = std::fs::read_to_string(&page).unwrap();
    for needle in [
        "<h2>Headline figures</h2>",
        "<h2>Side by side</h2>",
        "<td>PUE</td>",
        "<td>facility energy</td>",
        "change vs ",
        " MWh</td>",
    ] {
        has(&page, &html, needle);
    }
    let Some(exe) = browser_or_skip("compare_writes_a_side_by_side_page") else {
        return;
    };
    let mut br = Browser::launch(&exe, "compare");
    let got = br.load(&page);
    assert_clean_and_not_blank("compare.html", &page, &got, 1);
}
