//! Runs the dctwin binary with a wall-time bound, for the corpus and fuzz tests: a run still going after
//! the bound is killed and reported as timed out (a hang), and output beyond [`KEEP_BYTES`] is counted but
//! not kept.
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Bytes of stdout and stderr kept from one run.
pub const KEEP_BYTES: usize = 1 << 20;

/// What the CLI prints when it catches a panic (src/main.rs).
pub const PANIC_TEXT: &str = "panicked";

/// The binary under test: `DCTWIN_BIN` (e.g. a release build for long fuzz runs), else the one cargo built.
pub fn binary() -> PathBuf {
    std::env::var_os("DCTWIN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_dctwin")))
}

/// How one run ended.
pub struct Finished {
    /// The exit code; `None` when killed (by the bound or a signal).
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Whole length of stderr, kept or not.
    pub stderr_len: usize,
    pub elapsed: Duration,
    pub timed_out: bool,
}

impl Finished {
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Whether the run panicked (the CLI's message or Rust's own panic report).
    pub fn panicked(&self) -> bool {
        self.stderr_text().contains(PANIC_TEXT)
    }
}

/// Reads a pipe to its end, keeping the first [`KEEP_BYTES`]; returns them and the whole length.
fn drain(mut r: impl Read) -> (Vec<u8>, usize) {
    let mut kept = Vec::new();
    let mut total = 0;
    let mut buf = [0u8; 1 << 16];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => return (kept, total),
            Ok(n) => {
                total += n;
                let room = KEEP_BYTES.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

/// Runs `bin args` in `cwd` with `CI=1`, killing it after `timeout`.
pub fn run(bin: &Path, args: &[OsString], cwd: &Path, timeout: Duration) -> Finished {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .env("CI", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dctwin");
    let out = child.stdout.take().expect("piped");
    let err = child.stderr.take().expect("piped");
    let out = thread::spawn(move || drain(out));
    let err = thread::spawn(move || drain(err));
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for dctwin") {
            break s;
        }
        if started.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait for the killed dctwin");
        }
        thread::sleep(Duration::from_millis(2));
    };
    let elapsed = started.elapsed();
    let (stdout, _) = out.join().expect("stdout reader");
    let (stderr, stderr_len) = err.join().expect("stderr reader");
    Finished {
        code: status.code(),
        stdout,
        stderr,
        stderr_len,
        elapsed,
        timed_out,
    }
}

/// Runs `jobs` (indices `0..n`) on up to `threads` worker threads and returns the results in index order.
pub fn parallel<T: Send>(n: usize, threads: usize, job: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new((0..n).map(|_| None).collect::<Vec<Option<T>>>());
    thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        return;
                    }
                    let r = job(i);
                    results.lock().expect("not poisoned")[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("not poisoned")
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

/// Worker threads for the process-spawning tests: the machine's parallelism, at most 4.
pub fn threads() -> usize {
    thread::available_parallelism().map_or(2, |n| n.get().min(4))
}
