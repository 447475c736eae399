//! The native half of the `dctwin` Python package (`dctwin._dctwin`): runs scenarios, sweeps and sizings
//! through the library entry points the `dctwin` command line uses, with the GIL released, and writes the
//! same output files. The Python half (`python/dctwin/__init__.py`) turns dicts into the JSON text taken
//! here and reads the outputs into pandas DataFrames. Input errors raise `ScenarioError` with the file,
//! line, column, field and message of the Rust [`scenario::InputError`].

use std::path::{Path, PathBuf};

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use scenario::{InputError, LoadedScenario, Location, Override, Scenario};

create_exception!(
    _dctwin,
    ScenarioError,
    PyValueError,
    "Bad input: a scenario (file or dict), an override, a file the scenario names, a sweep or size file. \
     Attributes: file, line, column, field, message (None where unknown)."
);
create_exception!(
    _dctwin,
    DctwinError,
    PyRuntimeError,
    "An internal error of dctwin (writing outputs, a bug)."
);

/// The name a scenario given as a dict has in error messages.
const DICT_FILE: &str = "<dict>";

/// What went wrong, before it becomes a Python exception (built with the GIL held).
enum Failure {
    /// Bad input at a known file and position.
    At(InputError),
    /// Bad input without a position.
    Input(String),
    Internal(String),
}

impl From<InputError> for Failure {
    fn from(e: InputError) -> Self {
        Failure::At(e)
    }
}

impl From<study::Error> for Failure {
    fn from(e: study::Error) -> Self {
        match e {
            study::Error::Input(m) => Failure::Input(m),
            study::Error::At(e) => Failure::At(e),
            study::Error::Internal(m) => Failure::Internal(m),
        }
    }
}

/// A [`ScenarioError`] with its attributes set.
fn scenario_error(
    py: Python<'_>,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    field: Option<String>,
    message: String,
    text: String,
) -> PyErr {
    let err = ScenarioError::new_err(text);
    let value = err.value(py);
    let set = || -> PyResult<()> {
        value.setattr("file", file)?;
        value.setattr("line", line)?;
        value.setattr("column", column)?;
        value.setattr("field", field)?;
        value.setattr("message", message)?;
        Ok(())
    };
    match set() {
        Ok(()) => err,
        Err(e) => e,
    }
}

impl Failure {
    fn into_py(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::At(e) => {
                let text = e.to_string();
                let file = e.file.to_string_lossy().into_owned();
                let file = (!file.is_empty()).then_some(file);
                let (line, column, field, message) = match e.location {
                    Location::File => (None, None, None, e.message),
                    Location::Line(l) => (Some(l), None, None, e.message),
                    Location::LineCol { line, col } => (Some(line), Some(col), None, e.message),
                    Location::LineField { line, field } => {
                        (Some(line), None, Some(field), e.message)
                    }
                    Location::Field(p) => (None, None, Some(p), e.message),
                    Location::Point { index, values } => (
                        None,
                        None,
                        None,
                        format!("point {index} ({values}): {}", e.message),
                    ),
                };
                scenario_error(py, file, line, column, field, message, text)
            }
            Failure::Input(m) => scenario_error(py, None, None, None, None, m.clone(), m),
            Failure::Internal(m) => DctwinError::new_err(m),
        }
    }
}

/// Runs `f` with the GIL released; a panic becomes an internal error.
fn detached<T: Send>(py: Python<'_>, f: impl FnOnce() -> Result<T, Failure> + Send) -> PyResult<T> {
    let result = py.detach(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
            Err(Failure::Internal(
                "dctwin panicked (a bug: please report it with the scenario)".to_string(),
            ))
        })
    });
    result.map_err(|f| f.into_py(py))
}

/// A scenario as the Python side gives it: a file, or a dict as JSON text with the directory its relative
/// paths resolve against.
struct Source {
    path: Option<PathBuf>,
    json: Option<String>,
    base_dir: PathBuf,
    overrides: Vec<String>,
    seed: Option<u64>,
}

impl Source {
    fn new(
        path: Option<PathBuf>,
        json: Option<String>,
        base_dir: Option<PathBuf>,
        overrides: Vec<String>,
        seed: Option<u64>,
    ) -> Result<Source, Failure> {
        if path.is_some() == json.is_some() {
            return Err(Failure::Input(
                "give a scenario file or a dict, not both".to_string(),
            ));
        }
        let base_dir = match base_dir {
            Some(b) => b,
            None => std::env::current_dir().map_err(|e| {
                Failure::Internal(format!("cannot read the current directory: {e}"))
            })?,
        };
        Ok(Source {
            path,
            json,
            base_dir,
            overrides,
            seed,
        })
    }

    /// The file errors are reported against.
    fn file(&self) -> PathBuf {
        self.path
            .clone()
            .unwrap_or_else(|| PathBuf::from(DICT_FILE))
    }

    fn overrides(&self) -> Result<Vec<Override>, Failure> {
        self.overrides
            .iter()
            .map(|s| Override::parse(s).map_err(Failure::Input))
            .collect()
    }

    fn load(&self) -> Result<LoadedScenario, Failure> {
        let overrides = self.overrides()?;
        match (&self.path, &self.json) {
            (Some(path), _) => Ok(scenario::load_scenario(path, &overrides, self.seed)?),
            (None, Some(json)) => {
                let file = Path::new(DICT_FILE);
                let s = scenario_from_json(json)?;
                let mut s = scenario::apply_overrides(file, s, &overrides)?;
                if let Some(seed) = self.seed {
                    s.seed = seed;
                }
                Ok(scenario::load_parsed(file, &self.base_dir, s)?)
            }
            (None, None) => unreachable!("checked in Source::new"),
        }
    }
}

/// A scenario from the JSON text of a dict; an error names the field where it went wrong.
fn scenario_from_json(json: &str) -> Result<Scenario, InputError> {
    let file = Path::new(DICT_FILE);
    let mut de = serde_json::Deserializer::from_str(json);
    let s: Scenario = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        // The dotted form `--set` takes (`halls.0.rows`), not serde_path_to_error's `halls[0].rows`.
        let path = e
            .path()
            .iter()
            .map(|seg| match seg {
                serde_path_to_error::Segment::Seq { index } => index.to_string(),
                serde_path_to_error::Segment::Map { key } => key.clone(),
                serde_path_to_error::Segment::Enum { variant } => variant.clone(),
                serde_path_to_error::Segment::Unknown => "?".to_string(),
            })
            .collect::<Vec<_>>()
            .join(".");
        let inner = e.into_inner();
        // serde_json appends "at line L column C" of the JSON text, which the user never saw.
        let message = inner.to_string();
        let message = match message.rfind(" at line ") {
            Some(i) if inner.line() > 0 => message[..i].to_string(),
            _ => message,
        };
        if path.is_empty() {
            InputError::file(file, message)
        } else {
            InputError::field(file, &path, message)
        }
    })?;
    Ok(s)
}

/// A run refused or stopped for its input, reported against the scenario (as the CLI does).
fn run_refused(file: &Path, e: &twin::RunError) -> Failure {
    Failure::At(match e {
        twin::RunError::Input { field, message } => InputError::field(file, field, message.clone()),
        _ => InputError::file(file, e.to_string()),
    })
}

/// Runs a scenario and writes the output set of `dctwin run` into `out`; returns the files written.
#[pyfunction]
#[pyo3(signature = (path=None, json=None, base_dir=None, overrides=Vec::new(), seed=None, out=None, max_events=None))]
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    path: Option<PathBuf>,
    json: Option<String>,
    base_dir: Option<PathBuf>,
    overrides: Vec<String>,
    seed: Option<u64>,
    out: Option<PathBuf>,
    max_events: Option<u64>,
) -> PyResult<Vec<PathBuf>> {
    detached(py, move || {
        let source = Source::new(path, json, base_dir, overrides, seed)?;
        let loaded = source.load()?;
        let out_dir = out.unwrap_or_else(|| Path::new("out").join(&loaded.scenario.name));
        let staged = reports::OutputDir::prepare(&out_dir, reports::RUN_FILES)
            .map_err(|e| Failure::Input(e.to_string()))?;
        // Like `dctwin run`: the per-entity tables (jobs.csv, requests.csv, racks.csv) are written too.
        let options = twin::RunOptions {
            max_events: max_events.unwrap_or(twin::DEFAULT_MAX_EVENTS),
            tables: true,
        };
        let output = twin::run_with(&loaded, &options, &mut |_| {})
            .map_err(|e| run_refused(&source.file(), &e))?;
        let written = study::write_run_set(staged, &loaded, &output)?;
        Ok(written)
    })
}

/// Loads and checks a scenario without running it (`dctwin validate`); returns the description of the site
/// and the expected work.
#[pyfunction]
#[pyo3(signature = (path=None, json=None, base_dir=None, overrides=Vec::new(), seed=None, max_events=None))]
fn validate(
    py: Python<'_>,
    path: Option<PathBuf>,
    json: Option<String>,
    base_dir: Option<PathBuf>,
    overrides: Vec<String>,
    seed: Option<u64>,
    max_events: Option<u64>,
) -> PyResult<String> {
    detached(py, move || {
        let source = Source::new(path, json, base_dir, overrides, seed)?;
        let loaded = source.load()?;
        let estimate = twin::estimate(&loaded);
        let limit = max_events.unwrap_or(twin::DEFAULT_MAX_EVENTS);
        if estimate.exceeds(limit) {
            let e = twin::RunError::Budget {
                limit,
                estimate: Some(estimate),
                reached_s: None,
            };
            return Err(run_refused(&source.file(), &e));
        }
        Ok(format!(
            "{}\nExpected work: about {:.3e} events ({estimate}).",
            loaded.describe(),
            estimate.total()
        ))
    })
}

/// The scenario file parsed (with overrides and seed applied, relative paths as written) as JSON text: the
/// dict form a Python user edits and passes back with `base_dir` set to the file's directory.
#[pyfunction]
#[pyo3(signature = (path, overrides=Vec::new(), seed=None))]
fn scenario_json(
    py: Python<'_>,
    path: PathBuf,
    overrides: Vec<String>,
    seed: Option<u64>,
) -> PyResult<String> {
    detached(py, move || {
        let source = Source::new(Some(path.clone()), None, None, overrides, seed)?;
        let bytes = std::fs::read(&path)
            .map_err(|e| InputError::file(&path, format!("cannot read file: {e}")))?;
        let text = scenario::utf8::into_text(&path, "file", bytes)?;
        let parsed: Scenario = scenario::parse_ron(&path, &text)?;
        let mut s = scenario::apply_overrides(&path, parsed, &source.overrides()?)?;
        if let Some(seed) = seed {
            s.seed = seed;
        }
        serde_json::to_string(&s)
            .map_err(|e| Failure::Internal(format!("cannot convert the scenario to JSON: {e}")))
    })
}

/// Runs a sweep file (`dctwin sweep`) into `out` under the event budget `max_events` per run
/// (`--max-events`); returns the files written.
#[pyfunction]
#[pyo3(signature = (path, out=None, threads=None, max_events=None))]
fn sweep(
    py: Python<'_>,
    path: PathBuf,
    out: Option<PathBuf>,
    threads: Option<usize>,
    max_events: Option<u64>,
) -> PyResult<Vec<PathBuf>> {
    detached(py, move || {
        let opts = study::SweepOptions {
            out,
            threads,
            shard: None,
            max_events: max_events.unwrap_or(twin::DEFAULT_MAX_EVENTS),
        };
        match study::sweep(&path, &opts, &study::NoProgress)? {
            study::SweepOutcome::Complete { written, .. } => Ok(written),
            study::SweepOutcome::Shard { file, .. } => Ok(vec![file]),
        }
    })
}

/// Runs a size file (`dctwin size`) into `out` under the event budget `max_events` per run
/// (`--max-events`); returns the files written.
#[pyfunction]
#[pyo3(signature = (path, out=None, threads=None, max_events=None))]
fn size(
    py: Python<'_>,
    path: PathBuf,
    out: Option<PathBuf>,
    threads: Option<usize>,
    max_events: Option<u64>,
) -> PyResult<Vec<PathBuf>> {
    detached(py, move || {
        let opts = study::SizeOptions {
            out,
            threads,
            shard: None,
            poll: std::time::Duration::from_secs(5),
            max_events: max_events.unwrap_or(twin::DEFAULT_MAX_EVENTS),
        };
        Ok(study::size(&path, &opts, &study::NoProgress)?.written)
    })
}

#[pymodule]
fn _dctwin(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ScenarioError", m.py().get_type::<ScenarioError>())?;
    m.add("DctwinError", m.py().get_type::<DctwinError>())?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(scenario_json, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(size, m)?)?;
    Ok(())
}
