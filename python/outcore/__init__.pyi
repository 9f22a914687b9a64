import os
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union, overload

import numpy as np

__version__: str

PathLike = Union[str, os.PathLike[str]]
ArrayInput = Union[str, os.PathLike[str], np.ndarray]
Size = Union[int, str]
Progress = Union[bool, None, Callable[[int, int, str], Any]]

def info(path: PathLike) -> Dict[str, Any]: ...
def gen(
    out: PathLike,
    dtype: Any,
    shape: Union[int, Sequence[int]],
    *,
    fill: str = ...,
    seed: int = ...,
    order: str = ...,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> np.memmap: ...
def reduce(
    op: str,
    a: ArrayInput,
    *,
    axis: Optional[Union[int, Tuple[int]]] = ...,
    ddof: float = ...,
    keepdims: bool = ...,
    out: Optional[PathLike] = ...,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> Any: ...
def stats(
    a: ArrayInput,
    *,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> Dict[str, Any]: ...
@overload
def eval(
    expr: str,
    out: PathLike,
    names: Mapping[str, ArrayInput],
    *,
    dtype: Any = ...,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> np.memmap: ...
@overload
def eval(
    expr: str,
    out: None,
    names: Mapping[str, ArrayInput],
    *,
    dtype: Any = ...,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> np.ndarray: ...
def sort(
    a: ArrayInput,
    out: PathLike,
    *,
    descending: bool = ...,
    stable: bool = ...,
    flatten: bool = ...,
    by: Optional[Union[int, Sequence[int]]] = ...,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
    out_offset: Optional[int] = ...,
) -> np.memmap: ...
def argsort(
    a: ArrayInput,
    out: PathLike,
    *,
    descending: bool = ...,
    stable: bool = ...,
    flatten: bool = ...,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> np.memmap: ...
def transpose(
    a: ArrayInput,
    out: PathLike,
    axes: Optional[Sequence[int]] = ...,
    *,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> np.memmap: ...
def reshape(
    a: ArrayInput,
    out: PathLike,
    shape: Union[int, Sequence[int]],
    order: str = ...,
    *,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> np.memmap: ...
def slice(
    a: ArrayInput,
    out: PathLike,
    index: Any,
    *,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> np.memmap: ...
def convert(
    a: ArrayInput,
    out: PathLike,
    *,
    dtype: Any = ...,
    order: Optional[str] = ...,
    byteorder: Optional[str] = ...,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> np.memmap: ...

# Gather, select and join.
def take(
    a: ArrayInput,
    indices: Any,
    out: PathLike,
    *,
    axis: Optional[int] = ...,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> np.memmap: ...
def mask(
    a: ArrayInput,
    m: Any,
    out: PathLike,
    *,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> np.memmap: ...
def concat(
    arrays: Sequence[Any],
    out: PathLike,
    *,
    axis: int = ...,
    stack: bool = ...,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> np.memmap: ...

# ---- Exact analytics ----
def scan(
    op: str,
    a: ArrayInput,
    out: PathLike,
    *,
    axis: Optional[int] = ...,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> np.memmap: ...
def histogram(
    a: ArrayInput,
    *,
    bins: int = ...,
    range: Optional[Tuple[float, float]] = ...,
    out: Optional[PathLike] = ...,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> Tuple[np.ndarray, np.ndarray]: ...
def quantile(
    a: ArrayInput,
    q: Any,
    *,
    method: str = ...,
    axis: Optional[int] = ...,
    out: Optional[PathLike] = ...,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> Any: ...
def unique(
    a: ArrayInput,
    out: PathLike,
    *,
    counts: Optional[PathLike] = ...,
    threads: Optional[int] = ...,
    mem: Optional[Size] = ...,
    chunk: Optional[Size] = ...,
    tmp_dir: Optional[PathLike] = ...,
    force: bool = ...,
    sync: bool = ...,
    progress: Progress = ...,
) -> Any: ...
