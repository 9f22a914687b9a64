"""outcore: chunked out-of-core compute on NumPy arrays larger than RAM.

Every function runs the outcore Rust library in-process (no subprocess) with the GIL
released, and mirrors a command of the ``outcore`` command line (SPEC §7):

>>> import os, tempfile
>>> import numpy as np
>>> import outcore
>>> d = tempfile.mkdtemp()
>>> a = outcore.gen(os.path.join(d, "a.npy"), "float64", (1000, 3), fill="arange")
>>> float(outcore.reduce("sum", a))
4498500.0
>>> s = outcore.sort(a, os.path.join(d, "s.npy"), descending=True)
>>> s[0].tolist()
[2.0, 1.0, 0.0]

An input ``a`` is a path (``str`` / ``os.PathLike``) to a ``.npy`` file, a ``numpy.memmap``
(of a ``.npy`` or of a raw file: its file, offset, dtype, shape and order are used, without a
copy), or an in-memory ``numpy.ndarray`` (read in place when C- or F-contiguous, otherwise made
contiguous first). An in-memory array is marked non-writeable while a job reads it; do not
change its memory through other views meanwhile.

Results written to ``out`` are returned opened read-only (``np.load(out, mmap_mode="r")``).

Options every job takes (keyword-only): ``threads`` (worker threads), ``mem`` (memory budget:
bytes or a string such as ``"512M"``), ``chunk`` (chunk size, same forms), ``tmp_dir``
(temporary files of sorts), ``force`` (replace an existing ``out``), ``sync`` (flush outputs
to disk before naming them; ``True``; ``sort`` and ``argsort`` always flush for now), ``progress`` (``True`` for a bar on stderr — tqdm when
installed — or a callable ``(done_bytes, total_bytes, phase)``, called from the calling thread).

Errors are Python's own: ``FileNotFoundError`` (missing input), ``FileExistsError`` (``out``
exists and ``force`` is not set), ``ValueError`` (bad dtype, shape, axis, expression, index,
budget; the command line's message), ``OSError`` with ``errno.ENOSPC`` (disk full),
``KeyboardInterrupt`` on Ctrl-C (the job stops within a chunk; nothing is left behind).
"""

from __future__ import annotations

import mmap as _mmap
import operator
import os
import sys
import threading
import warnings
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core

__all__ = [
    "info",
    "gen",
    "reduce",
    "stats",
    "eval",
    "sort",
    "argsort",
    "transpose",
    "reshape",
    "slice",
    "convert",
    # Gather, select and join.
    "take",
    "mask",
    "concat",
    # Exact analytics.
    "scan",
    "histogram",
    "quantile",
    "unique",
]

__version__ = "0.1.0"

_builtin_slice = slice

# ---------------------------------------------------------------------------------------------
# Inputs


def _dtype_text(dt: np.dtype) -> str:
    """The dtype as outcore's parser reads it: ``dtype.str``, or the descr of a record."""
    if dt.fields is not None or dt.subdtype is not None:
        return repr(np.lib.format.dtype_to_descr(dt))
    return dt.str


def _dtype_arg(dtype: Any) -> str:
    """A dtype argument: strings go to outcore's parser as the CLI's ``--dtype`` would."""
    if isinstance(dtype, str):
        return dtype
    return _dtype_text(np.dtype(dtype))


class _Lender:
    """Marks in-memory arrays non-writeable while jobs read them, and restores them after.

    Counted per array, so that two threads lending the same array restore it only once both
    are done.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lent: Dict[int, List[Any]] = {}

    def lend(self, a: np.ndarray) -> None:
        with self._lock:
            entry = self._lent.get(id(a))
            if entry is not None:
                entry[1] += 1
                return
            was_writeable = bool(a.flags.writeable)
            if was_writeable:
                a.flags.writeable = False
            self._lent[id(a)] = [a, 1, was_writeable]

    def give_back(self, a: np.ndarray) -> None:
        with self._lock:
            entry = self._lent.get(id(a))
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] == 0:
                del self._lent[id(a)]
                if entry[2]:
                    try:
                        a.flags.writeable = True
                    except ValueError:  # pragma: no cover - the base became read-only
                        pass


_lender = _Lender()


def _memmap_source(mm: np.memmap) -> Optional[tuple]:
    """A raw-file source for a memmap (or a view of one), or None to read it from memory."""
    mapping = getattr(mm, "_mmap", None)
    filename = getattr(mm, "filename", None)
    # Copy-on-write changes are private to this process: the file does not have them.
    if mapping is None or filename is None or getattr(mm, "mode", "r") == "c":
        return None
    if mm.flags.c_contiguous:
        order = "C"
    elif mm.flags.f_contiguous:
        order = "F"
    else:
        return None
    try:
        base = np.frombuffer(mapping, dtype=np.uint8).ctypes.data
    except (ValueError, TypeError):  # a closed mapping
        return None
    # np.memmap maps from the offset rounded down to the allocation granularity; a view keeps
    # its parent's offset and mapping, so its position comes from its data pointer.
    start = mm.offset - mm.offset % _mmap.ALLOCATIONGRANULARITY
    position = start + (mm.ctypes.data - base) if mm.size else mm.offset
    if position < 0:
        return None
    return ("raw", os.fspath(filename), _dtype_text(mm.dtype), list(mm.shape), position, order)


def _source(a: Any, lent: List[np.ndarray]) -> tuple:
    """The source tuple ``_core`` takes for an input."""
    if isinstance(a, (str, os.PathLike)):
        return ("npy", os.fspath(a))
    if isinstance(a, bytes):
        return ("npy", os.fsdecode(a))
    if isinstance(a, np.memmap):
        source = _memmap_source(a)
        if source is not None:
            return source
    if isinstance(a, np.ndarray):
        if not (a.flags.c_contiguous or a.flags.f_contiguous):
            a = np.ascontiguousarray(a)
        order = "C" if a.flags.c_contiguous else "F"
        _lender.lend(a)
        lent.append(a)
        return ("mem", a, _dtype_text(a.dtype), list(a.shape), order)
    raise TypeError(
        f"expected a path, a numpy.memmap or a numpy.ndarray, not {type(a).__name__}"
    )


@contextmanager
def _sources(*inputs: Any) -> Iterator[List[tuple]]:
    lent: List[np.ndarray] = []
    try:
        yield [_source(a, lent) for a in inputs]
    finally:
        for a in lent:
            _lender.give_back(a)


def _ndim(a: Any) -> int:
    if isinstance(a, np.ndarray):
        return a.ndim
    return len(info(a)["shape"])


# ---------------------------------------------------------------------------------------------
# Options


def _size(value: Any, name: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, str):
        return _core.parse_bytes(value)
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number of bytes or a string such as '512M'")
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be a number of bytes or a string such as '512M', not {type(value).__name__}"
        ) from None
    if n < 0:
        raise ValueError(f"{name} must not be negative")
    return n


class _Bar:
    """``progress=True``: a tqdm bar per phase when tqdm is installed, else one stderr line."""

    def __init__(self) -> None:
        try:
            import tqdm  # type: ignore

            self._tqdm = tqdm.tqdm
        except ImportError:
            self._tqdm = None
        self._bar: Any = None
        self._phase: Optional[str] = None

    def __call__(self, done: int, total: int, phase: str) -> None:
        if phase != self._phase:
            self.close()
            self._phase = phase
            if self._tqdm is not None:
                self._bar = self._tqdm(
                    total=total, desc=phase, unit="B", unit_scale=True, unit_divisor=1024,
                    file=sys.stderr, leave=False,
                )
        if self._bar is not None:
            self._bar.total = total
            self._bar.update(done - self._bar.n)
        else:
            percent = 100.0 * done / total if total else 100.0
            sys.stderr.write(f"\r{phase}: {percent:5.1f}% ({done}/{total} bytes)")
            sys.stderr.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._phase is not None:
            sys.stderr.write("\n")
            sys.stderr.flush()
        self._phase = None


@contextmanager
def _options(
    threads: Optional[int],
    mem: Any,
    chunk: Any,
    tmp_dir: Any,
    force: bool,
    sync: bool,
    progress: Any,
) -> Iterator[Dict[str, Any]]:
    if threads is not None:
        threads = operator.index(threads)
        if threads < 1:
            raise ValueError("threads must be at least 1")
    bar: Optional[_Bar] = None
    if progress is True:
        bar = _Bar()
        callback: Optional[Callable[[int, int, str], Any]] = bar
    elif progress is None or progress is False:
        callback = None
    elif callable(progress):
        callback = progress
    else:
        raise TypeError("progress must be True, False, None or a callable (done, total, phase)")
    try:
        yield {
            "threads": threads,
            "mem": _size(mem, "mem"),
            "chunk": _size(chunk, "chunk"),
            "tmp_dir": None if tmp_dir is None else os.fspath(tmp_dir),
            "force": bool(force),
            "sync": bool(sync),
            "progress": callback,
        }
    finally:
        if bar is not None:
            bar.close()


def _opened(out: Any) -> np.memmap:
    return np.load(os.fspath(out), mmap_mode="r")


def _warn(messages: Sequence[str]) -> None:
    for m in messages:
        warnings.warn(m, RuntimeWarning, stacklevel=3)


PathLike = Union[str, "os.PathLike[str]"]
ArrayInput = Union[str, "os.PathLike[str]", np.ndarray]

# ---------------------------------------------------------------------------------------------
# Jobs


def info(path: PathLike) -> Dict[str, Any]:
    """The header of a ``.npy`` file, as ``outcore info --json`` prints it.

    Keys: ``path``, ``version``, ``dtype`` (NumPy's ``dtype.str``), ``shape`` (a list),
    ``order`` (``"C"`` or ``"F"``), ``data_offset``, ``nbytes``.

    >>> import os, tempfile, numpy as np, outcore
    >>> p = os.path.join(tempfile.mkdtemp(), "a.npy")
    >>> np.save(p, np.zeros((3, 4), dtype="<f4"))
    >>> h = outcore.info(p)
    >>> h["dtype"], h["shape"], h["order"], h["nbytes"]
    ('<f4', [3, 4], 'C', 48)
    """
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"info() takes the path of a .npy file, not {type(path).__name__}")
    return _core.info(os.fsdecode(path))


def gen(
    out: PathLike,
    dtype: Any,
    shape: Union[int, Sequence[int]],
    *,
    fill: str = "random",
    seed: int = 0,
    order: str = "C",
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
) -> np.memmap:
    """Writes a new ``.npy`` file of ``dtype`` and ``shape`` (``outcore gen``).

    ``fill``: ``random`` (uniform in [0, 1)), ``normal``, ``arange``, ``zeros``, ``ones`` or
    ``randint:LO:HI``; the same ``seed`` gives the same file.

    >>> import os, tempfile, outcore
    >>> a = outcore.gen(os.path.join(tempfile.mkdtemp(), "a.npy"), "int32", (2, 3), fill="arange")
    >>> a.tolist(), a.dtype.str
    ([[0, 1, 2], [3, 4, 5]], '<i4')
    """
    shape_list = [operator.index(shape)] if not isinstance(shape, (tuple, list)) else [operator.index(s) for s in shape]
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo:
        _core.gen(os.fspath(out), _dtype_arg(dtype), shape_list, fill, operator.index(seed), order, jo)
    return _opened(out)


def _axis_arg(axis: Any) -> Optional[int]:
    if axis is None:
        return None
    if isinstance(axis, tuple):
        if len(axis) == 1:
            return operator.index(axis[0])
        raise ValueError("a tuple of several axes is not supported yet: reduce along one axis or all of them")
    return operator.index(axis)


def reduce(
    op: str,
    a: ArrayInput,
    *,
    axis: Optional[Union[int, Tuple[int]]] = None,
    ddof: float = 0,
    keepdims: bool = False,
    out: Optional[PathLike] = None,
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
) -> Any:
    """Reduces ``a`` over all of it or along ``axis`` (``outcore reduce``).

    ``op``: ``sum prod min max mean var std argmin argmax count-nonzero any all`` and the
    NaN-skipping ``nansum nanmin nanmax nanmean nanvar nanstd nanargmin nanargmax``; result
    dtypes and values as NumPy's (argmin/argmax: flat C-order index). ``ddof`` for var/std.

    Without ``out``: a NumPy scalar (or an array, along an axis of a 2-d or larger input).
    With ``out``: the result written there as ``.npy`` (C order), returned opened read-only.

    >>> import numpy as np, outcore
    >>> a = np.arange(12, dtype=np.float32).reshape(3, 4)
    >>> outcore.reduce("sum", a)
    np.float32(66.0)
    >>> outcore.reduce("max", a, axis=0)
    array([ 8.,  9., 10., 11.], dtype=float32)
    >>> outcore.reduce("argmin", a, axis=1, keepdims=True).ravel().tolist()
    [0, 0, 0]
    """
    k = _axis_arg(axis)
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo, _sources(a) as (src,):
        out_path = None if out is None else os.fspath(out)
        if k is None:
            ndim = _ndim(a) if keepdims else 0
            out_shape = [1] * ndim
            dtype, value, warns = _core.reduce_all(op, src, float(ddof), out_path, out_shape, jo)
            _warn(warns)
            if out_path is not None:
                return _opened(out_path)
            scalar = np.dtype(dtype).type(value)
            if keepdims:
                return np.full(out_shape, scalar, dtype=np.dtype(dtype))
            return scalar
        result, warns = _core.reduce_axis(op, src, k, float(ddof), bool(keepdims), out_path, jo)
    _warn(warns)
    if out_path is not None:
        return _opened(out_path)
    data, dtype, shape, order = result
    r = data.view(np.dtype(dtype)).reshape(shape, order=order)
    if keepdims:
        return np.expand_dims(r, k)
    if r.ndim == 0:
        return r[()]
    return r


def stats(
    a: ArrayInput,
    *,
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
) -> Dict[str, Any]:
    """Count, sum, mean, std, min, max and NaN count of ``a`` in one pass (``outcore stats``).

    A dict with the keys of ``outcore stats --json`` as Python ints and floats (``min`` and
    ``max`` are None for an empty array).

    >>> import numpy as np, outcore
    >>> s = outcore.stats(np.array([1.0, 2.0, np.nan, 4.0]))
    >>> s["count"], s["nan_count"], s["min"], s["max"]
    (4, 1, nan, nan)
    >>> outcore.stats(np.arange(5, dtype=np.int16))["sum"]
    10
    """
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo, _sources(a) as (src,):
        return _core.stats(src, jo)


def eval(
    expr: str,
    out: Optional[PathLike],
    names: Mapping[str, ArrayInput],
    *,
    dtype: Any = None,
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
) -> np.memmap:
    """Evaluates an elementwise expression into a new ``.npy`` file (``outcore eval``).

    ``names`` binds the expression's names to inputs (broadcast as in NumPy). Operators
    ``+ - * / // % **``, comparisons, ``& | ~``, functions ``sqrt exp log where clip …``;
    result dtype by NumPy 2's promotion, or ``dtype``. With ``out=None`` the result is
    returned as a new in-memory ``numpy.ndarray`` (C order) instead, for results that fit in
    memory (``outcore.dask.eval`` runs each block this way).

    >>> import os, tempfile, numpy as np, outcore
    >>> x = np.arange(4, dtype=np.float32)
    >>> r = outcore.eval("2*x + y", os.path.join(tempfile.mkdtemp(), "r.npy"), {"x": x, "y": x})
    >>> r.tolist(), r.dtype.str
    ([0.0, 3.0, 6.0, 9.0], '<f4')
    >>> outcore.eval("x > 1", None, {"x": x}).tolist()
    [False, False, True, True]
    """
    if not isinstance(names, Mapping):
        raise TypeError("names must be a mapping of expression names to inputs, e.g. {'x': a}")
    keys = [str(k) for k in names]
    dtype_text = None if dtype is None else _dtype_arg(dtype)
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo, _sources(*names.values()) as srcs:
        if out is None:
            data, result_dtype, shape = _core.eval_memory(expr, list(zip(keys, srcs)), dtype_text, jo)
            return data.view(np.dtype(result_dtype)).reshape(shape)
        _core.eval(expr, os.fspath(out), list(zip(keys, srcs)), dtype_text, jo)
    return _opened(out)


def _ints(values: Any) -> List[int]:
    if isinstance(values, (tuple, list)):
        return [operator.index(v) for v in values]
    return [operator.index(values)]


def sort(
    a: ArrayInput,
    out: PathLike,
    *,
    descending: bool = False,
    stable: bool = False,
    flatten: bool = False,
    by: Optional[Union[int, Sequence[int]]] = None,
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
    out_offset: Optional[int] = None,
) -> np.memmap:
    """Sorts ``a`` into a new ``.npy`` file (``outcore sort``, an external merge sort).

    Along the last axis (rows independently), or all elements with ``flatten``, or the rows of
    a 2-d table by the columns ``by`` (lexicographic, whole rows moved). NaNs last, as NumPy.

    With ``out_offset``, ``out`` is an existing file made by the caller, at least ``out_offset``
    plus the data's size long: the sorted data is written raw (no header) at that byte offset,
    nothing else in the file changes, and the file is neither created nor renamed (``force`` is
    not needed). This is how ``outcore.dask.sort`` writes each key range into its place in one
    output. The result is then a read-only memmap of that range.

    >>> import os, tempfile, numpy as np, outcore
    >>> d = tempfile.mkdtemp()
    >>> outcore.sort(np.array([3, 1, 2]), os.path.join(d, "s.npy")).tolist()
    [1, 2, 3]
    >>> t = np.array([[2, 9], [1, 8], [2, 7]])
    >>> outcore.sort(t, os.path.join(d, "t.npy"), by=[0, 1]).tolist()
    [[1, 8], [2, 7], [2, 9]]
    """
    by_list = [] if by is None else _ints(by)
    if out_offset is not None:
        try:
            offset = None if isinstance(out_offset, bool) else operator.index(out_offset)
        except TypeError:
            offset = None
        if offset is None or offset < 0:
            raise ValueError(f"out_offset must be a byte offset (an int >= 0), not {out_offset!r}")
        out_offset = offset
        if isinstance(a, np.ndarray):
            dtype, shape = a.dtype, tuple(a.shape)
        else:
            h = info(a)
            dtype, shape = np.dtype(h["dtype"]), tuple(h["shape"])
        if flatten:
            shape = (int(np.prod(shape, dtype=np.int64)),)
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo, _sources(a) as (src,):
        _core.sort(src, os.fspath(out), bool(descending), bool(stable), bool(flatten), by_list, jo,
                   out_offset)
    if out_offset is not None:
        return np.memmap(os.fspath(out), dtype=dtype, mode="r", offset=out_offset, shape=shape)
    return _opened(out)


def argsort(
    a: ArrayInput,
    out: PathLike,
    *,
    descending: bool = False,
    stable: bool = False,
    flatten: bool = False,
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
) -> np.memmap:
    """Writes the ``int64`` indices that sort ``a`` (``outcore argsort``; always stable).

    >>> import os, tempfile, numpy as np, outcore
    >>> i = outcore.argsort(np.array([3.0, 1.0, np.nan, 2.0]), os.path.join(tempfile.mkdtemp(), "i.npy"))
    >>> i.tolist(), i.dtype.str
    ([1, 3, 0, 2], '<i8')
    """
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo, _sources(a) as (src,):
        _core.argsort(src, os.fspath(out), bool(descending), bool(stable), bool(flatten), jo)
    return _opened(out)


def transpose(
    a: ArrayInput,
    out: PathLike,
    axes: Optional[Sequence[int]] = None,
    *,
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
) -> np.memmap:
    """Writes ``np.transpose(a, axes)`` as a C-order ``.npy`` file (default: axes reversed).

    >>> import os, tempfile, numpy as np, outcore
    >>> t = outcore.transpose(np.arange(6).reshape(2, 3), os.path.join(tempfile.mkdtemp(), "t.npy"))
    >>> t.tolist()
    [[0, 3], [1, 4], [2, 5]]
    """
    axes_list = None if axes is None else _ints(axes)
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo, _sources(a) as (src,):
        _core.transpose(src, os.fspath(out), axes_list, jo)
    return _opened(out)


def reshape(
    a: ArrayInput,
    out: PathLike,
    shape: Union[int, Sequence[int]],
    order: str = "C",
    *,
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
) -> np.memmap:
    """Writes ``np.reshape(a, shape, order=order)`` (one ``-1`` is inferred) as ``.npy``.

    The file is written in ``order``.

    >>> import os, tempfile, numpy as np, outcore
    >>> r = outcore.reshape(np.arange(6), os.path.join(tempfile.mkdtemp(), "r.npy"), (3, -1))
    >>> r.tolist()
    [[0, 1], [2, 3], [4, 5]]
    """
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo, _sources(a) as (src,):
        _core.reshape(src, os.fspath(out), _ints(shape), order, jo)
    return _opened(out)


def _index_text(index: Any) -> str:
    """A Python index (int, slice, Ellipsis, None or a tuple of them) as the CLI's text."""
    if isinstance(index, str):
        return index
    items = index if isinstance(index, tuple) else (index,)
    if not items:
        return "..."
    parts = []
    for item in items:
        if item is Ellipsis:
            parts.append("...")
        elif item is None:
            parts.append("None")
        elif isinstance(item, _builtin_slice):
            bounds = [
                "" if v is None else str(operator.index(v))
                for v in (item.start, item.stop, item.step)
            ]
            parts.append(":".join(bounds))
        elif isinstance(item, (bool, np.bool_)):
            raise TypeError("boolean indices are not basic indexing: use a slice or an integer")
        else:
            try:
                parts.append(str(operator.index(item)))
            except TypeError:
                raise TypeError(
                    f"only integers, slices, Ellipsis and None are basic indices, not {type(item).__name__}"
                ) from None
    return ", ".join(parts)


def slice(
    a: ArrayInput,
    out: PathLike,
    index: Any,
    *,
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
) -> np.memmap:
    """Writes ``a[index]`` (NumPy basic indexing) as a C-order ``.npy`` file.

    ``index``: the CLI's text (``"1:5, ::-2, ..."``) or a Python index: an int, a slice,
    ``Ellipsis``, ``None`` (``np.newaxis``) or a tuple of them (``np.s_[1:5, ::-2]``).

    >>> import os, tempfile, numpy as np, outcore
    >>> d = tempfile.mkdtemp()
    >>> a = np.arange(12).reshape(3, 4)
    >>> outcore.slice(a, os.path.join(d, "s.npy"), np.s_[1:, ::-2]).tolist()
    [[7, 5], [11, 9]]
    >>> outcore.slice(a, os.path.join(d, "t.npy"), "..., 0").tolist()
    [0, 4, 8]
    """
    text = _index_text(index)
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo, _sources(a) as (src,):
        _core.slice(src, os.fspath(out), text, jo)
    return _opened(out)


def convert(
    a: ArrayInput,
    out: PathLike,
    *,
    dtype: Any = None,
    order: Optional[str] = None,
    byteorder: Optional[str] = None,
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
) -> np.memmap:
    """Converts dtype (NumPy ``astype`` casting), memory order and byte order into ``.npy``.

    ``order``: ``"C"`` (default) or ``"F"``; ``byteorder``: ``"little"``, ``"big"`` or
    ``"native"``. A memmap of a raw file in, a ``.npy`` out.

    >>> import os, tempfile, numpy as np, outcore
    >>> c = outcore.convert(np.array([1.5, -2.5]), os.path.join(tempfile.mkdtemp(), "c.npy"),
    ...                     dtype="int16", byteorder="big")
    >>> c.tolist(), c.dtype.str
    ([1, -2], '>i2')
    """
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo, _sources(a) as (src,):
        _core.convert(
            src,
            os.fspath(out),
            None if dtype is None else _dtype_arg(dtype),
            "C" if order is None else order,
            byteorder,
            jo,
        )
    return _opened(out)


# ---------------------------------------------------------------------------------------------
# Gather, select and join


def _operand(x: Any) -> Any:
    """An input as ``_source`` takes it: array-likes such as lists become arrays."""
    if isinstance(x, (str, bytes, os.PathLike, np.ndarray)):
        return x
    return np.asarray(x)


def take(
    a: ArrayInput,
    indices: Any,
    out: PathLike,
    *,
    axis: Optional[int] = None,
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
) -> np.memmap:
    """Writes ``np.take(a, indices, axis=axis)`` as a C-order ``.npy`` file (``outcore take``).

    ``indices``: integers of any dtype, shape and size (larger than memory too), as a path, a
    memmap or an array; negative entries count from the end. Without ``axis`` the flattened
    ``a`` is taken from. An entry out of range is a ``ValueError`` naming its position, raised
    before anything is written. A random order costs no page fault per element: the source
    is read in budget-sized windows.

    >>> import os, tempfile, numpy as np, outcore
    >>> d = tempfile.mkdtemp()
    >>> a = np.array([[10, 11, 12], [20, 21, 22]])
    >>> outcore.take(a, [2, -1, 0], os.path.join(d, "t.npy")).tolist()
    [12, 22, 10]
    >>> outcore.take(a, np.array([[1, 1]]), os.path.join(d, "u.npy"), axis=1).tolist()
    [[[11, 11]], [[21, 21]]]
    """
    k = None if axis is None else operator.index(axis)
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo, _sources(
        _operand(a), _operand(indices)
    ) as (src, idx):
        _core.take(src, idx, os.fspath(out), k, jo)
    return _opened(out)


def mask(
    a: ArrayInput,
    m: Any,
    out: PathLike,
    *,
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
) -> np.memmap:
    """Writes ``a[m]`` for a boolean ``m`` as a C-order ``.npy`` file (``outcore mask``).

    ``m.shape`` must be a leading part of ``a.shape``; the result has shape
    ``(m.sum(),) + a.shape[m.ndim:]``, its rows in order.

    >>> import os, tempfile, numpy as np, outcore
    >>> a = np.arange(6).reshape(3, 2)
    >>> outcore.mask(a, [True, False, True], os.path.join(tempfile.mkdtemp(), "m.npy")).tolist()
    [[0, 1], [4, 5]]
    """
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo, _sources(
        _operand(a), _operand(m)
    ) as (src, sel):
        _core.mask(src, sel, os.fspath(out), jo)
    return _opened(out)


def concat(
    arrays: Sequence[Any],
    out: PathLike,
    *,
    axis: int = 0,
    stack: bool = False,
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
) -> np.memmap:
    """Writes ``np.concatenate(arrays, axis)`` (``np.stack`` with ``stack``) as ``.npy``.

    The output is C order in NumPy's common dtype of the inputs (numbers promote, strings
    widen, numbers joined with strings are written as their ``str``); inputs may differ in
    memory order and byte order (``outcore concat``).

    >>> import os, tempfile, numpy as np, outcore
    >>> d = tempfile.mkdtemp()
    >>> outcore.concat([np.array([1, 2]), np.array([3.5])], os.path.join(d, "c.npy")).tolist()
    [1.0, 2.0, 3.5]
    >>> outcore.concat([np.arange(3), np.arange(3)], os.path.join(d, "s.npy"), axis=1, stack=True).tolist()
    [[0, 0], [1, 1], [2, 2]]
    """
    if isinstance(arrays, (str, bytes, os.PathLike, np.ndarray)):
        raise TypeError("concat() takes a sequence of arrays, e.g. [a, b]")
    inputs = [_operand(x) for x in arrays]
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo, _sources(*inputs) as srcs:
        _core.concat(srcs, os.fspath(out), operator.index(axis), bool(stack), jo)
    return _opened(out)


# ---- Exact analytics: scan, histogram, quantile, unique (SPEC §5) ----


def scan(
    op: str,
    a: ArrayInput,
    out: PathLike,
    *,
    axis: Optional[int] = None,
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
) -> np.memmap:
    """Cumulative sums or products into ``out`` (``outcore scan``): ``op`` is ``cumsum``,
    ``cumprod``, ``nancumsum`` or ``nancumprod``; NumPy's result dtypes and values, along
    ``axis`` or of the flattened array.

    >>> import os, tempfile, numpy as np, outcore
    >>> d = tempfile.mkdtemp()
    >>> outcore.scan("cumsum", np.array([[1, 2], [3, 4]]), os.path.join(d, "c.npy"), axis=0).tolist()
    [[1, 2], [4, 6]]
    """
    k = _axis_arg(axis)
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo, _sources(a) as (src,):
        _core.scan(op, src, os.fspath(out), k, jo)
    return _opened(out)


def histogram(
    a: ArrayInput,
    *,
    bins: int = 10,
    range: Optional[Tuple[float, float]] = None,
    out: Optional[PathLike] = None,
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """``np.histogram(a, bins, range)`` of the flattened array (``outcore histogram``):
    ``(counts, edges)``, counts int64 and NumPy's exact edges. With ``out``, the counts are
    also saved there as ``.npy``.

    >>> import numpy as np, outcore
    >>> c, e = outcore.histogram(np.array([1.0, 0.0, 1.0, 1.0]), bins=3)
    >>> c.tolist(), e.tolist()
    ([1, 0, 3], [0.0, 0.3333333333333333, 0.6666666666666666, 1.0])
    """
    n = operator.index(bins)
    if n < 1:
        raise ValueError("`bins` must be positive, when an integer")
    rng = None if range is None else (float(range[0]), float(range[1]))
    if out is not None and not force and os.path.exists(os.fspath(out)):
        raise FileExistsError(f"{os.fspath(out)}: exists (pass force=True to replace it)")
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo, _sources(a) as (src,):
        counts, edges, edge_dtype = _core.histogram(src, n, rng, jo)
    c = np.array(counts, dtype=np.int64)
    e = np.array(edges, dtype=np.float64).astype(np.dtype(edge_dtype))
    if out is not None:
        np.save(os.fspath(out), c)
    return c, e


def quantile(
    a: ArrayInput,
    q: Any,
    *,
    method: str = "linear",
    axis: Optional[int] = None,
    out: Optional[PathLike] = None,
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
) -> Any:
    """``np.quantile(a, q, method=method, axis=axis)``, exact and out of core (``outcore
    quantile``): methods ``linear lower higher nearest midpoint``. A Python float ``q`` gives a
    NumPy scalar (or an array without a q axis, along an axis) in NumPy's weakly promoted
    dtype; a sequence or array of ``q`` gives an array with ``len(q)`` first. With ``out``, the
    result is also written there and returned opened read-only.

    >>> import numpy as np, outcore
    >>> outcore.quantile(np.arange(10.0), 0.3)
    np.float64(2.6999999999999997)
    >>> outcore.quantile(np.arange(12).reshape(3, 4), [0.5], axis=1).tolist()
    [[1.5, 5.5, 9.5]]
    """
    scalar_q = type(q) in (int, float)
    qa = np.asanyarray(q)
    if qa.ndim > 1:
        raise ValueError("q must be a scalar or 1d")
    if qa.dtype.kind in "iub" and method == "linear":
        # NumPy takes integer positions (q of 0 and 1) without interpolation: the data's dtype.
        method = "lower"
    numpy_scalar = qa.ndim == 0 and not scalar_q
    if numpy_scalar and out is not None and not force and os.path.exists(os.fspath(out)):
        raise FileExistsError(f"{os.fspath(out)}: exists (pass force=True to replace it)")
    k = _axis_arg(axis)
    qs = [float(x) for x in qa.ravel()]
    # A NumPy scalar q has no q axis but no weak promotion either: computed as a list of one.
    out_path = None if out is None or numpy_scalar else os.fspath(out)
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo, _sources(a) as (src,):
        values, dtype, shape = _core.quantile(src, qs, method, k, bool(scalar_q), out_path, jo)
    r = values.view(np.dtype(dtype)).reshape(shape)
    if numpy_scalar:
        r = r[0]
        if out is not None:
            np.save(os.fspath(out), r)
    if out is not None:
        return _opened(out)
    return r[()] if r.ndim == 0 else r


def unique(
    a: ArrayInput,
    out: PathLike,
    *,
    counts: Optional[PathLike] = None,
    threads: Optional[int] = None,
    mem: Any = None,
    chunk: Any = None,
    tmp_dir: Any = None,
    force: bool = False,
    sync: bool = True,
    progress: Any = None,
) -> Any:
    """``np.unique(a)`` of the flattened array into ``out`` (``outcore unique``): sorted distinct
    values, NaNs collapsed into one at the end. With ``counts``, each value's count (int64) is
    written there too and ``(values, counts)`` is returned, both opened read-only.

    >>> import os, tempfile, numpy as np, outcore
    >>> d = tempfile.mkdtemp()
    >>> v, c = outcore.unique(np.array([3, 1, 3, 3]), os.path.join(d, "u.npy"), counts=os.path.join(d, "c.npy"))
    >>> v.tolist(), c.tolist()
    ([1, 3], [1, 3])
    """
    counts_path = None if counts is None else os.fspath(counts)
    with _options(threads, mem, chunk, tmp_dir, force, sync, progress) as jo, _sources(a) as (src,):
        _core.unique(src, os.fspath(out), counts_path, jo)
    if counts_path is None:
        return _opened(out)
    return _opened(out), _opened(counts_path)


# ---- end of exact analytics ----
