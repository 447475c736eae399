"""dctwin from Python: run scenarios, sweeps and sizings of the dctwin datacenter digital twin and get the
results as pandas DataFrames.

The simulation runs in Rust (the ``dctwin._dctwin`` extension module) with the GIL released, through the
same library entry points as the ``dctwin`` command line, and writes the same output files; this module reads
them back. See docs/python.md.

    >>> import dctwin
    >>> r = dctwin.run("scenarios/green-site.ron", overrides={"horizon_s": 86400})
    >>> r.summary["facility"]["pue"], r.timeseries["pue_interval"].mean()

Scenarios given as dicts follow the JSON image of the RON format: a struct is a dict of its fields (the
RON struct name, ``Scenario(...)`` or ``ServerTemplate(...)``, is dropped), an enum variant with fields is a
one-key dict ``{"Synthetic": {...}}``, a unit variant is its name as a string (``"Fifo"``), a tuple is a
list, ``None`` is an unset optional field. ``scenario_dict(path)`` gives any shipped scenario in that form.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

import pandas as pd

from . import _dctwin
from ._dctwin import DctwinError, ScenarioError

__version__ = _dctwin.__version__

__all__ = [
    "run",
    "sweep",
    "size",
    "validate",
    "scenario_dict",
    "RunResult",
    "ScenarioError",
    "DctwinError",
    "__version__",
]

PathLike = Union[str, "os.PathLike[str]"]
Scenario = Union[PathLike, Mapping[str, Any]]

# CSV files of a run and the RunResult attribute each one fills. jobs.csv, requests.csv and racks.csv are
# written when the run has such entities (requests.csv only for serving); otherwise the attribute is an empty
# DataFrame whose `attrs["note"]` says why.
_RUN_TABLES = {
    "timeseries": "timeseries.csv",
    "jobs": "jobs.csv",
    "requests": "requests.csv",
    "racks": "racks.csv",
}


def _input_error(message: str, field: Optional[str] = None) -> ScenarioError:
    """A ScenarioError raised by this layer, with the attributes the native ones have."""
    e = ScenarioError(f"field `{field}`: {message}" if field else message)
    e.file, e.line, e.column, e.field, e.message = None, None, None, field, message
    return e


def _override_value(value: Any, path: str) -> str:
    """The `--set path=value` text of a Python value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _input_error(f"override value {value!r}: expected a finite number", path)
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    # Structures (enum variants with fields, lists) go as JSON, which --set reads.
    return json.dumps(value, default=_json_default)


def _overrides(overrides: Optional[Mapping[str, Any]]) -> List[str]:
    if not overrides:
        return []
    return [f"{path}={_override_value(v, path)}" for path, v in overrides.items()]


def _json_default(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    # numpy scalars and arrays
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot put {type(value).__name__} into a scenario: {value!r}")


def _source(scenario: Scenario, base_dir: Optional[PathLike]) -> Dict[str, Any]:
    """The keyword arguments that name the scenario to the native module."""
    if isinstance(scenario, Mapping):
        try:
            text = json.dumps(scenario, default=_json_default, allow_nan=False)
        except ValueError as e:  # NaN or infinity
            raise _input_error(f"the scenario dict holds a value JSON cannot: {e}") from None
        return {
            "json": text,
            "base_dir": os.fspath(base_dir) if base_dir is not None else None,
        }
    if isinstance(scenario, (str, os.PathLike)):
        if base_dir is not None:
            raise TypeError("base_dir applies to a scenario given as a dict; a file's paths resolve against its directory")
        return {"path": os.fspath(scenario)}
    raise TypeError(f"scenario: expected a path or a dict, found {type(scenario).__name__}")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


@dataclass
class RunResult:
    """The outputs of one run: ``summary`` (summary.json as a dict) and one DataFrame per CSV file.

    ``out`` is the output directory (a temporary directory, removed with this object, when ``run`` was not
    given ``out``); ``files`` lists every file written; ``notes`` says which tables this dctwin build did
    not write (their DataFrames are empty, with the same note in ``df.attrs["note"]``).
    """

    out: Path
    files: List[Path]
    summary: Dict[str, Any]
    timeseries: pd.DataFrame
    jobs: pd.DataFrame
    requests: pd.DataFrame
    racks: pd.DataFrame
    notes: Dict[str, str] = field(default_factory=dict)
    _tmp: Optional[tempfile.TemporaryDirectory] = field(default=None, repr=False, compare=False)

    @property
    def report_html(self) -> Path:
        """The run's report.html."""
        return self.out / "report.html"


def _load_run(out: Path, files: List[Path], tmp: Optional[tempfile.TemporaryDirectory]) -> RunResult:
    with open(out / "summary.json", encoding="utf-8") as f:
        summary = json.load(f)
    tables: Dict[str, pd.DataFrame] = {}
    notes: Dict[str, str] = {}
    for attr, name in _RUN_TABLES.items():
        path = out / name
        if path.exists():
            tables[attr] = _read_csv(path)
        else:
            note = f"{name} was not written by this run (this dctwin build does not write it)"
            df = pd.DataFrame()
            df.attrs["note"] = note
            tables[attr] = df
            notes[attr] = note
    return RunResult(out=out, files=files, summary=summary, notes=notes, _tmp=tmp, **tables)


def _out_dir(out: Optional[PathLike], name: str) -> "tuple[Path, Optional[tempfile.TemporaryDirectory]]":
    if out is not None:
        return Path(out), None
    tmp = tempfile.TemporaryDirectory(prefix="dctwin-")
    return Path(tmp.name) / name, tmp


def run(
    scenario: Scenario,
    seed: Optional[int] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    out: Optional[PathLike] = None,
    *,
    base_dir: Optional[PathLike] = None,
    max_events: Optional[int] = None,
) -> RunResult:
    """Runs a scenario and returns its outputs.

    ``scenario`` is a scenario file (RON) or a dict (see the module docs). ``seed`` replaces the scenario's
    seed; ``overrides`` maps dotted field paths to values, as ``--set path=value`` on the command line
    (``{"horizon_s": 86400, "workload.Synthetic.interarrival_s.Exponential.mean_s": 90}``). ``out`` is the
    output directory (default: a temporary directory). ``base_dir`` is the directory relative paths in a
    dict scenario resolve against (default: the current directory). ``max_events`` is the event budget
    (``--max-events``).

    Raises ``ScenarioError`` for bad input (with ``file``, ``line``, ``column``, ``field``, ``message``)
    and ``DctwinError`` for an internal error.
    """
    out_dir, tmp = _out_dir(out, "run")
    files = _dctwin.run(
        **_source(scenario, base_dir),
        overrides=_overrides(overrides),
        seed=seed,
        out=os.fspath(out_dir),
        max_events=max_events,
    )
    return _load_run(out_dir, [Path(p) for p in files], tmp)


def validate(
    scenario: Scenario,
    seed: Optional[int] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    *,
    base_dir: Optional[PathLike] = None,
    max_events: Optional[int] = None,
) -> str:
    """Loads and checks a scenario without running it (``dctwin validate``); returns the description of
    the site and the expected work. Raises ``ScenarioError`` as ``run`` does."""
    return _dctwin.validate(
        **_source(scenario, base_dir),
        overrides=_overrides(overrides),
        seed=seed,
        max_events=max_events,
    )


def scenario_dict(
    path: PathLike, seed: Optional[int] = None, overrides: Optional[Mapping[str, Any]] = None
) -> Dict[str, Any]:
    """A scenario file as a dict (overrides and seed applied), to edit and pass to ``run`` with
    ``base_dir`` set to the file's directory (relative paths inside stay as written)."""
    return json.loads(_dctwin.scenario_json(os.fspath(path), overrides=_overrides(overrides), seed=seed))


def _finish(df: pd.DataFrame, out: Path, files: List[Path], tmp: Optional[tempfile.TemporaryDirectory]) -> pd.DataFrame:
    """Notes where the outputs are; a temporary output directory is removed (everything is read)."""
    if tmp is not None:
        tmp.cleanup()
        df.attrs["out"] = None
        df.attrs["files"] = [p.name for p in files]
    else:
        df.attrs["out"] = str(out)
        df.attrs["files"] = [str(p) for p in files]
    return df


def sweep(
    path: PathLike,
    out: Optional[PathLike] = None,
    threads: Optional[int] = None,
    max_events: Optional[int] = None,
) -> pd.DataFrame:
    """Runs a sweep file (``dctwin sweep``, docs/sweeps.md) and returns results.csv: one row per run (its
    point, replicate, seed, axis values and summary figures). ``df.attrs`` holds ``out`` (the output
    directory, or None when ``out`` was not given: the outputs then go to a temporary directory, removed
    once read) and ``files``. ``threads`` defaults to every core; results do not depend on it.
    ``max_events`` is every run's event budget (``--max-events``): a point estimated above it refuses the
    sweep before any run."""
    out_dir, tmp = _out_dir(out, "sweep")
    files = [
        Path(p)
        for p in _dctwin.sweep(os.fspath(path), out=os.fspath(out_dir), threads=threads, max_events=max_events)
    ]
    df = _read_csv(out_dir / "results.csv")
    return _finish(df, out_dir, files, tmp)


def size(
    path: PathLike,
    out: Optional[PathLike] = None,
    threads: Optional[int] = None,
    max_events: Optional[int] = None,
) -> pd.DataFrame:
    """Runs a size file (``dctwin size``, docs/sizing.md) and returns size.csv: every evaluation (value,
    seed, pass or fail, the constrained figures). ``df.attrs`` holds ``result`` (size.json as a dict: the
    answer, its statement and confidence), ``out`` and ``files`` (as for ``sweep``); ``max_events`` as for
    ``sweep``."""
    out_dir, tmp = _out_dir(out, "size")
    files = [
        Path(p)
        for p in _dctwin.size(os.fspath(path), out=os.fspath(out_dir), threads=threads, max_events=max_events)
    ]
    df = _read_csv(out_dir / "size.csv")
    result = out_dir / "size.json"
    if result.exists():
        with open(result, encoding="utf-8") as f:
            df.attrs["result"] = json.load(f)
    return _finish(df, out_dir, files, tmp)
