# The native module (python/src/lib.rs); use the functions of `dctwin` instead.
import os
from typing import List, Optional, Union

_Path = Union[str, os.PathLike[str]]

__version__: str

class ScenarioError(ValueError):
    file: Optional[str]
    line: Optional[int]
    column: Optional[int]
    field: Optional[str]
    message: str

class DctwinError(RuntimeError): ...

def run(
    path: Optional[_Path] = None,
    json: Optional[str] = None,
    base_dir: Optional[_Path] = None,
    overrides: List[str] = ...,
    seed: Optional[int] = None,
    out: Optional[_Path] = None,
    max_events: Optional[int] = None,
) -> List[str]: ...
def validate(
    path: Optional[_Path] = None,
    json: Optional[str] = None,
    base_dir: Optional[_Path] = None,
    overrides: List[str] = ...,
    seed: Optional[int] = None,
    max_events: Optional[int] = None,
) -> str: ...
def scenario_json(path: _Path, overrides: List[str] = ..., seed: Optional[int] = None) -> str: ...
def sweep(
    path: _Path, out: Optional[_Path] = None, threads: Optional[int] = None, max_events: Optional[int] = None
) -> List[str]: ...
def size(
    path: _Path, out: Optional[_Path] = None, threads: Optional[int] = None, max_events: Optional[int] = None
) -> List[str]: ...
