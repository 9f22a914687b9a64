# outcore.dask: outcore as the per-worker backend of a Dask cluster (needs dask[distributed]).
import os
from typing import Any, Dict, Mapping, Optional, Union

import dask.array as da
import numpy as np

PathLike = Union[str, os.PathLike[str]]
DaskInput = Union[da.Array, np.ndarray, str, os.PathLike[str]]
Size = Union[int, str]

DEFAULT_MEMORY_FRACTION: float
MIN_BUDGET: int
OVERSAMPLE: int

def sort_keys(values: np.ndarray, descending: bool = ...) -> np.ndarray: ...
def sort(
    x: DaskInput,
    out: PathLike,
    *,
    descending: bool = ...,
    memory_fraction: float = ...,
    report: Optional[Dict[str, Any]] = ...,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Any = ...,
) -> np.memmap: ...
def quantile(
    x: DaskInput,
    q: Any,
    *,
    method: str = ...,
    memory_fraction: float = ...,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Any = ...,
) -> Any: ...
def eval(expr: str, names: Mapping[str, Any], *, dtype: Any = ...) -> da.Array: ...
