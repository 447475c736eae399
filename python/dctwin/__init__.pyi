import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

import pandas as pd

__version__: str

PathLike = Union[str, os.PathLike[str]]
Scenario = Union[PathLike, Mapping[str, Any]]

class ScenarioError(ValueError):
    """Bad input; the attributes are None where unknown."""

    file: Optional[str]
    line: Optional[int]
    column: Optional[int]
    field: Optional[str]
    message: str

class DctwinError(RuntimeError): ...

class RunResult:
    out: Path
    files: List[Path]
    summary: Dict[str, Any]
    timeseries: pd.DataFrame
    jobs: pd.DataFrame
    requests: pd.DataFrame
    racks: pd.DataFrame
    notes: Dict[str, str]
    _tmp: Optional[tempfile.TemporaryDirectory[str]]
    @property
    def report_html(self) -> Path: ...

def run(
    scenario: Scenario,
    seed: Optional[int] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    out: Optional[PathLike] = None,
    *,
    base_dir: Optional[PathLike] = None,
    max_events: Optional[int] = None,
) -> RunResult: ...
def validate(
    scenario: Scenario,
    seed: Optional[int] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    *,
    base_dir: Optional[PathLike] = None,
    max_events: Optional[int] = None,
) -> str: ...
def scenario_dict(
    path: PathLike, seed: Optional[int] = None, overrides: Optional[Mapping[str, Any]] = None
) -> Dict[str, Any]: ...
def sweep(
    path: PathLike, out: Optional[PathLike] = None, threads: Optional[int] = None, max_events: Optional[int] = None
) -> pd.DataFrame: ...
def size(
    path: PathLike, out: Optional[PathLike] = None, threads: Optional[int] = None, max_events: Optional[int] = None
) -> pd.DataFrame: ...
