"""outcore as the per-worker backend of a Dask cluster (SPEC §8): ``sort``, ``quantile``, ``eval``.

Needs ``dask[distributed]`` (``pip install ./python[dask]``). The jobs run on the current
``distributed.Client`` (``distributed.get_client()``); when there is none, a local cluster of
process workers is started for the call and closed after it (start your own ``Client`` to
reuse one across calls). ``sort`` and ``quantile`` exchange data through files, so every
worker must see the output's directory (or ``tmp_dir``) on a shared file system; see
docs/scale-out.md.

How ``sort`` works (a sample sort):

1. a sample of every block picks ``P - 1`` splitters (one key range per worker thread), on
   outcore's order-preserving sort key plus the element's position, so that NaNs, ``-0.0``
   and runs of equal values are split consistently and in balance;
2. one task per block splits the block by key range into piece files;
3. one task per key range concatenates its pieces, sorts them with ``outcore.sort`` inside a
   memory budget derived from its worker's memory limit, straight into its byte range of the
   output ``.npy`` (``out_offset=``), which was created up front (with its final header) under
   a temporary name;
4. only when every range is done is the output renamed to ``out``.

Every task is idempotent (files appear under their final names by rename), so a task that
Dask retries after its worker died redoes its own part; a job that fails leaves nothing
behind.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

try:
    import dask
    import dask.array as da
    import distributed
except ImportError as e:  # pragma: no cover - exercised only without dask installed
    raise ImportError(
        "outcore.dask needs dask[distributed]: pip install 'dask[distributed]' "
        "(or pip install './python[dask]')"
    ) from e

import outcore

__all__ = ["sort", "quantile", "eval"]

#: Share of a worker's memory limit its outcore jobs may use (divided among its threads),
#: after what the worker process already holds; the rest stays below Dask's pause (80%) and
#: terminate (95%) thresholds.
DEFAULT_MEMORY_FRACTION = 0.6

#: Smallest per-task outcore budget.
MIN_BUDGET = 16 << 20

#: Sampled elements per key range (more: better balanced ranges).
OVERSAMPLE = 256

_QUANTILE_METHODS = ("linear", "lower", "higher", "nearest", "midpoint")
_OUTCORE_OPTS = ("threads", "mem", "chunk", "tmp_dir", "force", "sync", "progress")

# ---------------------------------------------------------------------------------------------
# The sort key: outcore's order-preserving key (kernels/src/sort/keys.rs), in NumPy.

_FLOAT_MANTISSA = {2: 10, 4: 23, 8: 52}
_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _check_sortable(dtype: np.dtype) -> None:
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise TypeError(f"outcore.dask sorts booleans, integers and floats, not {dtype}")


def sort_keys(values: np.ndarray, descending: bool = False) -> np.ndarray:
    """outcore's sort key of each value, as ``uint64``: its order is the sort's order.

    Floats: ``-0.0`` just before ``+0.0``, NaNs after ``+inf`` (by payload, whatever their
    sign); descending reverses the non-NaN values and keeps NaNs last. Equal keys are equal
    bit patterns, so a sort by key is fully determined.
    """
    v = np.asarray(values)
    dt = v.dtype
    _check_sortable(dt)
    if not dt.isnative:
        v = v.astype(dt.newbyteorder("="))
    size = dt.itemsize
    u = _UINT[size]
    bits = v.view(u) if dt.kind != "b" else v.view(np.uint8)
    width = 8 * size
    if dt.kind == "f":
        sign = u(1 << (width - 1))
        neg_nans = u((1 << _FLOAT_MANTISSA[size]) - 1)
        inf = u(~int(sign) & ~int(neg_nans) & ((1 << width) - 1))
        max_finite = u((int(inf) | int(sign)) - int(neg_nans))
        # Negative values: all bits flipped; others: the sign bit set. The arithmetic shift
        # of the signed view is all ones for negatives, zero otherwise.
        k = bits.view(np.dtype(f"i{size}")) >> (width - 1)
        k = k.view(u)
        k |= sign
        k ^= bits
        k -= neg_nans  # wraps: the negative NaNs go to the very top
        if descending:
            np.subtract(max_finite, k, out=k, where=k <= max_finite)
    elif dt.kind == "i":
        k = bits ^ u(1 << (width - 1))
        if descending:
            np.invert(k, out=k)
    else:
        k = bits.copy()
        if descending:
            np.invert(k, out=k)
    return k.astype(np.uint64, copy=False)


def _nan_key_floor(dtype: np.dtype) -> Optional[int]:
    """Keys above this are NaNs (floats only; same in both directions)."""
    if dtype.kind != "f":
        return None
    size = dtype.itemsize
    width = 8 * size
    sign = 1 << (width - 1)
    neg_nans = (1 << _FLOAT_MANTISSA[size]) - 1
    inf = ~sign & ~neg_nans & ((1 << width) - 1)
    return (inf | sign) - neg_nans


#: Bits of the key that index the lookup table of ranges (see `_ranges_of`).
_PREFIX_BITS = 20
_prefix_tables: Dict[bytes, Tuple[np.ndarray, np.ndarray]] = {}


def _prefix_table(skeys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """For each key prefix: the range of the keys that start with it, and whether a splitter
    starts with it (then the range depends on the rest of the key). Kept per splitters: every
    block of a job on this worker uses the same."""
    tag = skeys.tobytes()
    table = _prefix_tables.get(tag)
    if table is None:
        starts = np.arange(1 << _PREFIX_BITS, dtype=np.uint64) << np.uint64(64 - _PREFIX_BITS)
        below = np.searchsorted(skeys, starts, side="left")
        upto = np.append(below[1:], len(skeys))
        table = (below.astype(np.uint16 if len(skeys) < 1 << 16 else np.uint32), upto != below)
        _prefix_tables.clear()
        _prefix_tables[tag] = table
    return table


def _ranges_exact(keys: np.ndarray, positions: np.ndarray, skeys: np.ndarray, spos: np.ndarray) -> np.ndarray:
    """How many splitters ``(key, position)`` are at or below each ``(key, position)``."""
    r = np.searchsorted(skeys, keys, side="left")
    nearest = skeys[np.minimum(r, len(skeys) - 1)]
    ties = np.flatnonzero(nearest == keys)
    if len(ties):
        tie_keys = keys[ties]
        for value in np.unique(tie_keys):
            which = ties[tie_keys == value]
            lo = np.searchsorted(skeys, value, side="left")
            hi = np.searchsorted(skeys, value, side="right")
            r[which] += np.searchsorted(spos[lo:hi], positions[which], side="right")
    return r


def _ranges_of(keys: np.ndarray, first: int, splitters: Tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The key range of each element: how many splitters ``(key, position)`` are at or below
    ``(keys[i], first + i)``. The position breaks ties between equal keys."""
    skeys, spos = splitters
    if len(skeys) == 0:
        return np.zeros(len(keys), dtype=np.uint8)
    if len(skeys) <= 8:
        # A few splitters: comparisons (vectorized passes) beat a binary search per element.
        r = np.zeros(len(keys), dtype=np.uint8)
        for k in skeys:
            r += keys > k
        for value in np.unique(skeys):
            which = np.flatnonzero(keys == value)
            if len(which):
                lo = np.searchsorted(skeys, value, side="left")
                hi = np.searchsorted(skeys, value, side="right")
                r[which] += np.searchsorted(spos[lo:hi], first + which, side="right").astype(r.dtype)
        return r
    # Many: a table lookup by the key's top bits settles every key whose prefix no splitter
    # shares; only the others need a binary search.
    table, shared = _prefix_table(skeys)
    prefix = keys >> np.uint64(64 - _PREFIX_BITS)
    r = table[prefix]
    open_ = np.flatnonzero(shared[prefix])
    del prefix
    if len(open_):
        exact = _ranges_exact(keys[open_], first + open_, skeys, spos)
        r[open_] = exact.astype(r.dtype)
    return r


# ---------------------------------------------------------------------------------------------
# Inputs: a .npy path (every task reads its own block from the file) or a dask array.


class _Input:
    """The flattened data as blocks: ``(first element, length)`` each, in a fixed order."""

    def __init__(self, x: Any, block_bytes: Callable[[int], int]) -> None:
        if isinstance(x, (str, bytes, os.PathLike)):
            self.path: Optional[str] = os.fsdecode(x)
            head = outcore.info(self.path)
            self.dtype = np.dtype(head["dtype"])
            self.size = int(np.prod(head["shape"], dtype=np.int64))
            self.data_offset = int(head["data_offset"])
            self.array = None
            per = max(1, block_bytes(self.dtype.itemsize) // max(1, self.dtype.itemsize))
            self.blocks = [(s, min(per, self.size - s)) for s in range(0, self.size, per)]
        else:
            if isinstance(x, np.ndarray):
                x = da.from_array(x)
            if not isinstance(x, da.Array):
                raise TypeError(f"expected a dask.array.Array or a .npy path, not {type(x).__name__}")
            self.path = None
            self.array = x
            self.dtype = np.dtype(x.dtype)
            self.size = int(x.size)
            self.blocks = []
            first = 0
            for chunk_shape in _block_shapes(x.chunks):
                n = int(np.prod(chunk_shape, dtype=np.int64))
                self.blocks.append((first, n))
                first += n
        _check_sortable(self.dtype)

    def block_args(self) -> List[Any]:
        """Per block, what its task receives as ``source``: a (path, offset, dtype) triple, or
        the block of the dask array (a delayed object)."""
        if self.array is not None:
            return list(self.array.to_delayed().ravel())
        return [(self.path, self.data_offset, self.dtype.str)] * len(self.blocks)


def _block_shapes(chunks: Tuple[Tuple[int, ...], ...]) -> List[Tuple[int, ...]]:
    shapes: List[Tuple[int, ...]] = [()]
    for dim in chunks:
        shapes = [s + (c,) for s in shapes for c in dim]
    return shapes


def _read_block(source: Any, first: int, n: int) -> np.ndarray:
    """The values of a block, 1-d (read with ``readinto``, not mapped, so they are the
    task's own memory rather than file pages counted in the worker's RSS)."""
    if isinstance(source, tuple):
        path, offset, dtype = source
        dt = np.dtype(dtype)
        out = np.empty(n, dtype=dt)
        view = memoryview(out.view(np.uint8))
        with open(path, "rb", buffering=0) as f:
            f.seek(offset + first * dt.itemsize)
            got = 0
            while got < len(view):
                k = f.readinto(view[got:])
                if not k:
                    raise ValueError(f"{path}: the file is shorter than its header says")
                got += k
        return out
    return np.ravel(np.asarray(source), order="K")


# ---------------------------------------------------------------------------------------------
# Tasks (run on the workers)


def _sample_task(source: Any, first: int, n: int, k: int, seed: int, descending: bool):
    if n == 0 or k == 0:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    rng = np.random.default_rng(seed)
    idx = np.unique(rng.integers(0, n, size=k))
    if isinstance(source, tuple):
        path, offset, dtype = source
        mm = np.memmap(path, dtype=np.dtype(dtype), mode="r", offset=offset + first * np.dtype(dtype).itemsize, shape=(n,))
        values = np.array(mm[idx])
        del mm
    else:
        values = _read_block(source, first, n)[idx]
    return sort_keys(values, descending), first + idx.astype(np.int64)


def _count_task(source: Any, first: int, n: int, splitters, descending: bool) -> np.ndarray:
    """The block's number of elements in each key range, then its number of NaNs."""
    values = _read_block(source, first, n)
    keys = sort_keys(values, descending)
    floor = _nan_key_floor(values.dtype)
    nans = int(np.count_nonzero(keys > floor)) if floor is not None else 0
    r = _ranges_of(keys, first, splitters)
    return np.append(np.bincount(r, minlength=len(splitters[0]) + 1), nans).astype(np.int64)


def _piece_path(job_dir: str, block: int, part: int) -> str:
    return os.path.join(job_dir, f"piece-b{block:06d}-r{part:05d}.raw")


def _write_file(path: str, data: np.ndarray) -> None:
    """Writes ``data`` to ``path`` through a temporary name: the name appears complete."""
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "wb") as f:
        f.write(memoryview(np.ascontiguousarray(data).view(np.uint8)))
    os.replace(tmp, path)


def _partition_task(
    source: Any, first: int, n: int, block: int, splitters, descending: bool, job_dir: str,
    wanted: Optional[Sequence[int]],
) -> np.ndarray:
    """Splits a block by key range into piece files (only the ``wanted`` ranges, or all)."""
    values = _read_block(source, first, n)
    parts = len(splitters[0]) + 1
    keys = sort_keys(values, descending)
    r = _ranges_of(keys, first, splitters)
    del keys
    counts = np.bincount(r, minlength=parts).astype(np.int64)
    small = r.astype(np.uint16 if parts <= 1 << 16 else np.uint32)
    del r
    order = np.argsort(small, kind="stable")
    del small
    grouped = values[order]
    del order, values
    ends = np.cumsum(counts)
    for part in range(parts) if wanted is None else wanted:
        if counts[part]:
            _write_file(_piece_path(job_dir, block, part), grouped[ends[part] - counts[part] : ends[part]])
    return counts


def _copy_bytes(src: str, src_offset: int, dst_fd: int, dst_offset: int, nbytes: int) -> None:
    """Copies a byte range of a file into another (in the kernel where it can)."""
    with open(src, "rb", buffering=0) as s:
        fd = s.fileno()
        done = 0
        try:
            while done < nbytes:
                k = os.copy_file_range(fd, dst_fd, nbytes - done, src_offset + done, dst_offset + done)
                if k == 0:
                    raise ValueError(f"{src}: shorter than expected")
                done += k
            return
        except (AttributeError, OSError) as e:
            if isinstance(e, OSError) and e.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
        step = 8 << 20
        while done < nbytes:
            chunk = os.pread(fd, min(step, nbytes - done), src_offset + done)
            if not chunk:
                raise ValueError(f"{src}: shorter than expected")
            written = 0
            while written < len(chunk):
                written += os.pwrite(dst_fd, chunk[written:], dst_offset + done + written)
            done += len(chunk)


def _worker_budget(fraction: float, mem: Optional[int]) -> Tuple[int, int]:
    """The outcore budget of one task on this worker, and the worker's memory limit."""
    worker = distributed.get_worker()
    limit = int(getattr(worker.memory_manager, "memory_limit", 0) or 0)
    if mem is not None:
        return mem, limit
    nthreads = max(1, int(getattr(worker.state, "nthreads", 0) or getattr(worker, "nthreads", 1) or 1))
    if not limit:
        return 0, 0  # no limit: outcore's own default budget
    try:
        import psutil

        held = psutil.Process().memory_info().rss
    except Exception:  # pragma: no cover - psutil comes with distributed
        held = 0
    return max(MIN_BUDGET, int(fraction * limit - held) // nthreads), limit


def _gather_pieces(job_dir: str, part: int, blocks: Sequence[int], dtype: np.dtype, count: int) -> str:
    """The range's values in one raw file (its pieces concatenated; the pieces then go)."""
    gathered = os.path.join(job_dir, f"range-r{part:05d}.raw")
    if os.path.exists(gathered):
        return gathered
    tmp = f"{gathered}.{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        at = 0
        for b in blocks:
            p = _piece_path(job_dir, b, part)
            size = os.path.getsize(p)
            _copy_bytes(p, 0, fd, at, size)
            at += size
    finally:
        os.close(fd)
    if at != count * dtype.itemsize:
        raise RuntimeError(f"range {part}: gathered {at} bytes, expected {count * dtype.itemsize}")
    os.replace(tmp, gathered)
    for b in blocks:
        try:
            os.unlink(_piece_path(job_dir, b, part))
        except FileNotFoundError:
            pass
    return gathered


def _range_task(
    job_dir: str, part: int, blocks: Sequence[int], count: int, dtype_str: str, descending: bool,
    dest: Optional[Tuple[str, int]], ranks: Optional[np.ndarray], fraction: float,
    opts: Dict[str, Any],
) -> Dict[str, Any]:
    """Sorts one key range out of core. With ``dest`` = (path, byte offset): sorts it straight
    into that byte range of the output. With ``ranks``: returns the values at those ranks of the
    range instead."""
    started = time.perf_counter()
    done_mark = os.path.join(job_dir, f"done-r{part:05d}")
    sorted_path = os.path.join(job_dir, f"sorted-r{part:05d}.npy")
    dtype = np.dtype(dtype_str)
    nbytes = count * dtype.itemsize
    budget, limit = _worker_budget(fraction, opts.get("mem"))
    report: Dict[str, Any] = {
        "part": part, "count": count, "budget": budget, "memory_limit": limit,
        "worker": distributed.get_worker().address, "bytes_moved": 0,
    }

    def finished() -> Dict[str, Any]:
        report["seconds"] = time.perf_counter() - started
        return report

    # A retried task resumes after its last complete step: the gathered range appears whole,
    # and sorting it into the output again overwrites the same bytes with the same values.
    if dest is not None and os.path.exists(done_mark):
        return finished()
    gathered = _gather_pieces(job_dir, part, blocks, dtype, count)
    report["bytes_moved"] += 2 * nbytes
    if ranks is not None and nbytes * 3 <= max(budget, MIN_BUDGET):
        # Small enough to select in memory.
        data = np.fromfile(gathered, dtype=dtype, count=count)
        chosen = np.argpartition(sort_keys(data, descending), ranks)
        report["values"] = data[chosen[ranks]]
        return finished()
    job_opts = {k: v for k, v in opts.items() if k in ("threads", "chunk")}
    job_opts["mem"] = budget or None
    job_opts["tmp_dir"] = opts.get("tmp_dir") or job_dir
    values = np.memmap(gathered, dtype=dtype, mode="r", shape=(count,))
    if ranks is not None:
        s = outcore.sort(values, sorted_path, descending=descending, force=True, sync=False, **job_opts)
        del values
        report["bytes_moved"] += 2 * nbytes
        # (A retry gathers again: the range's files go with the job's directory.)
        report["values"] = np.array(s[ranks])
        return finished()
    out_path, out_offset = dest
    outcore.sort(values, out_path, descending=descending, sync=opts.get("sync", True),
                 out_offset=out_offset, **job_opts)
    del values
    report["bytes_moved"] += 2 * nbytes
    with open(done_mark, "wb"):
        pass
    os.unlink(gathered)
    return finished()


# ---------------------------------------------------------------------------------------------
# The driver


class _Cluster:
    """The current client, or a local cluster for the duration of a call."""

    def __enter__(self) -> "distributed.Client":
        self._own = None
        try:
            self.client = distributed.get_client()
        except ValueError:
            cluster = distributed.LocalCluster(
                processes=True, host="127.0.0.1", dashboard_address=None
            )
            self.client = distributed.Client(cluster)
            self._own = cluster
        return self.client

    def __exit__(self, *exc: Any) -> None:
        if self._own is not None:
            self.client.close()
            self._own.close()


def _split_opts(opts: Dict[str, Any], name: str) -> Dict[str, Any]:
    for k in opts:
        if k not in _OUTCORE_OPTS:
            raise TypeError(f"{name}() got an unexpected keyword argument '{k}'")
    out = dict(opts)
    if out.get("mem") is not None:
        out["mem"] = outcore._size(out["mem"], "mem")
    if out.get("chunk") is not None:
        out["chunk"] = outcore._size(out["chunk"], "chunk")
    if out.get("tmp_dir") is not None:
        out["tmp_dir"] = os.fspath(out["tmp_dir"])
    out.pop("progress", None)  # the workers' progress is Dask's dashboard
    return out


class _Shape:
    """What the driver knows of the cluster before it submits anything."""

    threads: int  # worker threads in all
    per_task: int  # outcore threads per task: the host's CPUs over its worker threads
    limit: int  # the smallest memory limit per worker thread (0: no limits)
    budget: int  # the smallest outcore budget a task will get (estimated, as _worker_budget)


def _cluster_shape(client: "distributed.Client", fraction: float, mem: Optional[int]) -> _Shape:
    info = client.scheduler_info(n_workers=-1) if _takes_n_workers(client) else client.scheduler_info()
    workers = info["workers"]
    if not workers:
        raise RuntimeError("the Dask cluster has no workers")
    per_host: Dict[str, int] = {}
    limits, budgets = [], []
    for w in workers.values():
        host = w.get("host", "")
        nthreads = max(1, int(w.get("nthreads", 1)))
        per_host[host] = per_host.get(host, 0) + nthreads
        if w.get("memory_limit"):
            limit = int(w["memory_limit"])
            held = int((w.get("metrics") or {}).get("memory") or 0)
            limits.append(limit // nthreads)
            budgets.append(max(MIN_BUDGET, int(fraction * limit - held) // nthreads))
    shape = _Shape()
    shape.threads = sum(per_host.values())
    shape.per_task = max(1, (os.cpu_count() or 1) // max(per_host.values()))
    shape.limit = min(limits) if limits else 0
    shape.budget = mem if mem is not None else (min(budgets) if budgets else 0)
    return shape


#: A key range sorted by ``outcore.sort`` stays in memory (no spill) up to 3/8 of its budget;
#: ranges are aimed below that, with room for the sample's imbalance.
_RANGE_SHARE_OF_BUDGET = 0.3


def _sort_parts(shape: _Shape, nbytes: int, n: int) -> int:
    """Key ranges of a sort: one per worker thread at least, and small enough to be sorted in
    memory by their tasks (fewer bytes written than an external sort's runs)."""
    parts = shape.threads
    if shape.budget:
        budget = max(shape.budget, MIN_BUDGET)
        parts = max(parts, math.ceil(nbytes / (_RANGE_SHARE_OF_BUDGET * budget)))
    return int(max(1, min(parts, n, 1 << 14)))


def _takes_n_workers(client: "distributed.Client") -> bool:
    import inspect

    try:
        return "n_workers" in inspect.signature(client.scheduler_info).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


#: Bytes a partition task holds per element of its block, at most: the values twice (as read
#: and grouped by range), their 8-byte keys, ranges and sorting order.
_PARTITION_BYTES_PER_ELEMENT = 40


def _block_bytes(limit_per_thread: int, itemsize: int) -> int:
    """Bytes of input per partition task: its transient memory is a quarter of the worker's
    limit per thread at most (and 8 Mi elements)."""
    if not limit_per_thread:
        elements = 8 << 20
    else:
        elements = limit_per_thread // 4 // (_PARTITION_BYTES_PER_ELEMENT + 2 * itemsize)
    return int(min(8 << 20, max(1 << 14, elements))) * itemsize


def _splitters(client, inp: _Input, args: List[Any], parts: int, descending: bool, token: str):
    """``parts - 1`` splitters (keys, positions) from a sample of every block."""
    if parts <= 1 or inp.size == 0:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    want = min(inp.size, OVERSAMPLE * parts)
    futures = []
    for b, ((first, n), src) in enumerate(zip(inp.blocks, args)):
        k = 0 if n == 0 else max(1, int(math.ceil(want * n / inp.size)))
        futures.append(_submit(client, _sample_task, src, first, n, k, b, descending, key=f"outcore-sample-{token}-{b}"))
    samples = client.gather(futures)
    keys = np.concatenate([s[0] for s in samples])
    pos = np.concatenate([s[1] for s in samples])
    order = np.lexsort((pos, keys))
    keys, pos = keys[order], pos[order]
    at = [(j * len(keys)) // parts for j in range(1, parts)]
    return keys[at], pos[at]


def _submit(client, fn, src, *args, key: str):
    """Submits ``fn(src, *args)``; a dask block ``src`` is computed as part of the task graph."""
    if isinstance(src, tuple):
        return client.submit(fn, src, *args, key=key, pure=False)
    return client.compute(dask.delayed(fn, pure=False)(src, *args, dask_key_name=key))


def _new_token() -> str:
    return uuid.uuid4().hex[:12]


def _npy_header(dtype: np.dtype, n: int) -> bytes:
    import io

    buf = io.BytesIO()
    d = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (n,)}
    try:
        np.lib.format.write_array_header_1_0(buf, d)
    except ValueError:
        buf = io.BytesIO()
        np.lib.format.write_array_header_2_0(buf, d)
    return buf.getvalue()


def _create_output(path: str, dtype: np.dtype, n: int) -> int:
    """Creates the output file with its final header and full size; returns the data offset."""
    header = _npy_header(dtype, n)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, header)
        total = len(header) + n * dtype.itemsize
        try:
            os.posix_fallocate(fd, 0, total)
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
            os.ftruncate(fd, total)
    finally:
        os.close(fd)
    return len(header)


def _remove(path: str) -> None:
    try:
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass


def sort(
    x: Any,
    out: Any,
    *,
    descending: bool = False,
    memory_fraction: float = DEFAULT_MEMORY_FRACTION,
    report: Optional[Dict[str, Any]] = None,
    **opts: Any,
) -> np.memmap:
    """Sorts all the elements of ``x`` into the 1-d ``.npy`` file ``out`` on the Dask cluster.

    ``x``: a ``dask.array.Array`` (any chunks; N-d arrays are flattened) or the path of a
    ``.npy`` file (each task reads its own block). The result equals
    ``np.sort(x.ravel())`` — NaNs last, also with ``descending`` — and is bit for bit
    ``outcore.sort(x, out, flatten=True, descending=descending)``'s.

    Each key range is sorted by ``outcore.sort`` within a budget of ``memory_fraction`` of
    its worker's memory limit (less what the worker already holds, shared by its threads),
    unless ``mem`` gives the budget. ``**opts``: outcore's ``threads, mem, chunk, tmp_dir,
    force, sync`` (``progress`` is ignored: the workers report to Dask's dashboard);
    ``tmp_dir`` holds the job's intermediate files and must be visible to every worker
    (default: ``out``'s directory). ``report``: a dict filled with what the job did (ranges,
    per-range budgets and workers, bytes moved, seconds per phase).

    Returns the output opened read-only (``np.load(out, mmap_mode="r")``).
    """
    o = _split_opts(opts, "sort")
    out = os.fspath(out)
    if os.path.exists(out) and not o.get("force"):
        raise FileExistsError(errno.EEXIST, "output already exists (replacing it was not asked for)", out)
    if os.path.isdir(out):
        raise FileExistsError(errno.EEXIST, "output is a directory", out)
    if not (0 < memory_fraction <= 1):
        raise ValueError("memory_fraction must be in (0, 1]")
    rep: Dict[str, Any] = report if report is not None else {}
    t0 = time.perf_counter()
    with _Cluster() as client:
        shape = _cluster_shape(client, memory_fraction, o.get("mem"))
        if o.get("threads") is None:
            o["threads"] = shape.per_task
        inp = _Input(x, lambda itemsize: _block_bytes(shape.limit, itemsize))
        if inp.path is not None and os.path.exists(out) and os.path.samefile(inp.path, out):
            raise ValueError(f"{out}: the output is the input (outcore never writes its inputs)")
        token = _new_token()
        out_dir = os.path.dirname(os.path.abspath(out))
        base = os.path.basename(out)
        job_dir = os.path.join(o.get("tmp_dir") or out_dir, f".{base}.outcore-dask-{token}")
        staging = os.path.join(out_dir, f".{base}.outcore-dask-{token}.tmp")
        os.makedirs(job_dir)
        futures: List[Any] = []
        try:
            data_offset = _create_output(staging, inp.dtype, inp.size)
            parts = _sort_parts(shape, inp.size * inp.dtype.itemsize, inp.size)
            args = inp.block_args()
            splitters = _splitters(client, inp, args, parts, descending, token)
            t1 = time.perf_counter()
            futures = [
                _submit(client, _partition_task, src, first, n, b, splitters, descending, job_dir, None,
                        key=f"outcore-partition-{token}-{b}")
                for b, ((first, n), src) in enumerate(zip(inp.blocks, args))
            ]
            counts = np.array(client.gather(futures)).reshape(len(inp.blocks), parts)
            futures = []
            t2 = time.perf_counter()
            totals = counts.sum(axis=0)
            starts = np.concatenate(([0], np.cumsum(totals)[:-1]))
            for part in range(parts):
                blocks = [b for b in range(len(inp.blocks)) if counts[b, part]]
                if not totals[part]:
                    continue
                dest = (staging, data_offset + int(starts[part]) * inp.dtype.itemsize)
                futures.append(client.submit(
                    _range_task, job_dir, part, blocks, int(totals[part]), inp.dtype.str, descending,
                    dest, None, memory_fraction, o, key=f"outcore-range-{token}-{part}", pure=False,
                ))
            ranges = client.gather(futures)
            futures = []
            t3 = time.perf_counter()
            if o.get("force"):
                os.replace(staging, out)
            else:
                os.link(staging, out)
                os.unlink(staging)
            if o.get("sync", True):
                dfd = os.open(out_dir, os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
        except BaseException:
            for f in futures:
                f.cancel()
            _remove(staging)
            raise
        finally:
            _remove(job_dir)
    item = inp.dtype.itemsize
    rep.update(
        parts=parts, blocks=len(inp.blocks), counts=totals.tolist(), ranges=ranges,
        bytes_moved=int(2 * inp.size * item + sum(r["bytes_moved"] for r in ranges)),
        seconds={"sample": t1 - t0, "partition": t2 - t1, "sort": t3 - t2, "total": time.perf_counter() - t0},
    )
    return np.load(out, mmap_mode="r")


# ---------------------------------------------------------------------------------------------
# quantile


def _numpy_quantile_impl():
    try:
        from numpy.lib import _function_base_impl as fb  # NumPy 2
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.lib import function_base as fb  # type: ignore
    return fb


def _plan_quantile(n: int, q: np.ndarray, method: str, dtype: np.dtype):
    """NumPy's own index arithmetic for ``np.quantile`` (so the result is the same bit for
    bit): the ranks to look up, and a function of their values giving the result."""
    fb = _numpy_quantile_impl()
    props = fb._QuantileMethods[method]
    vi = np.asanyarray(props["get_virtual_index"](n, q))
    if props["fix_gamma"] is None or (method == "linear" and np.issubdtype(vi.dtype, np.integer)):
        idx = np.where(vi < 0, vi + n, vi).astype(np.intp)

        def take(values: np.ndarray, weak_q: bool):
            return values.reshape(idx.shape) if idx.ndim else values[0]

        return idx.ravel(), take
    probe = np.empty(0, dtype=dtype)
    prev, nxt = fb._get_indexes(probe, vi, n)
    prev = np.where(prev < 0, prev + n, prev)
    nxt = np.where(nxt < 0, nxt + n, nxt)
    gamma = fb._get_gamma(vi, prev, props)

    def finish(values: np.ndarray, weak_q: bool):
        m = prev.size
        a = values[:m].reshape(prev.shape)
        b = values[m:].reshape(nxt.shape)
        g = float(gamma) if weak_q else gamma.reshape(vi.shape)
        return fb._lerp(a, b, g)

    return np.concatenate([prev.ravel(), nxt.ravel()]), finish


def quantile(
    x: Any,
    q: Any,
    *,
    method: str = "linear",
    memory_fraction: float = DEFAULT_MEMORY_FRACTION,
    **opts: Any,
) -> Any:
    """The exact ``np.quantile(x.ravel(), q, method=method)`` of a dask array or ``.npy`` path.

    ``method``: ``linear``, ``lower``, ``higher``, ``nearest`` or ``midpoint``. NaN in the
    data makes every quantile NaN, as in NumPy. A sample picks key ranges, one pass counts
    the elements of each, and only the ranges holding the wanted ranks are gathered: selected
    in memory when small, else sorted out of core by ``outcore.sort``. ``**opts``: as
    :func:`sort` (``tmp_dir`` must be visible to every worker).
    """
    if method not in _QUANTILE_METHODS:
        raise ValueError(f"{method!r} is not a valid method. Use one of: {', '.join(_QUANTILE_METHODS)}")
    o = _split_opts(opts, "quantile")
    weak_q = type(q) in (int, float)
    qa = np.asanyarray(q)
    if qa.dtype.kind not in "fiu" or not (np.all(qa >= 0) and np.all(qa <= 1)):
        raise ValueError("Quantiles must be in the range [0, 1]")
    with _Cluster() as client:
        shape = _cluster_shape(client, memory_fraction, o.get("mem"))
        if o.get("threads") is None:
            o["threads"] = shape.per_task
        inp = _Input(x, lambda itemsize: _block_bytes(shape.limit, itemsize))
        n = inp.size
        if n == 0:
            raise ValueError("cannot take a quantile of an empty array")
        ranks, finish = _plan_quantile(n, qa, method, inp.dtype)
        # Ranges small enough for a worker to select in memory.
        per_range = max(1, shape.budget / 4 if shape.budget else (64 << 20))
        parts = int(min(max(shape.threads, math.ceil(n * inp.dtype.itemsize / per_range)), 1 << 14, n))
        token = _new_token()
        args = inp.block_args()
        splitters = _splitters(client, inp, args, parts, False, token)
        counts = np.array(client.gather([
            _submit(client, _count_task, src, first, k, splitters, False, key=f"outcore-count-{token}-{b}")
            for b, ((first, k), src) in enumerate(zip(inp.blocks, args))
        ])).reshape(len(inp.blocks), parts + 1)
        nans = int(counts[:, -1].sum())
        counts = counts[:, :-1]
        totals = counts.sum(axis=0)
        if nans:
            values = np.full(len(ranks), np.nan, dtype=inp.dtype)
        else:
            ends = np.cumsum(totals)
            where = np.searchsorted(ends, ranks, side="right")
            wanted = sorted(set(int(w) for w in where))
            # Beside the input file (on the file system the workers share), else in the
            # temporary directory (enough for a local cluster).
            home = o.get("tmp_dir") or (os.path.dirname(os.path.abspath(inp.path)) if inp.path else tempfile.gettempdir())
            job_dir = os.path.join(home, f".outcore-dask-quantile-{token}")
            os.makedirs(job_dir)
            try:
                client.gather([
                    _submit(client, _partition_task, src, first, k, b, splitters, False, job_dir, wanted,
                            key=f"outcore-qpartition-{token}-{b}")
                    for b, ((first, k), src) in enumerate(zip(inp.blocks, args))
                ])
                futures = {}
                for part in wanted:
                    local = ranks[where == part] - (ends[part] - totals[part])
                    blocks = [b for b in range(len(inp.blocks)) if counts[b, part]]
                    futures[part] = client.submit(
                        _range_task, job_dir, part, blocks, int(totals[part]), inp.dtype.str, False,
                        None, np.unique(local), memory_fraction, o, key=f"outcore-select-{token}-{part}",
                        pure=False,
                    )
                got = client.gather(futures)
            finally:
                _remove(job_dir)
            values = np.empty(len(ranks), dtype=inp.dtype)
            for part in wanted:
                sel = where == part
                local = ranks[sel] - (ends[part] - totals[part])
                uniq = np.unique(local)
                values[sel] = got[part]["values"][np.searchsorted(uniq, local)]
    if inp.dtype.byteorder not in "=|":
        values = values.astype(inp.dtype.newbyteorder("="))
    return finish(values, weak_q)


# ---------------------------------------------------------------------------------------------
# eval


def _eval_block(*blocks: np.ndarray, expr: str, keys: Sequence[str], dtype_text: Optional[str]) -> np.ndarray:
    return outcore.eval(expr, None, dict(zip(keys, blocks)), dtype=dtype_text, threads=1)


def eval(expr: str, names: Mapping[str, Any], *, dtype: Any = None) -> "da.Array":
    """Lazily evaluates outcore's elementwise expression ``expr`` block by block.

    ``names`` binds names to dask arrays (or NumPy arrays), broadcast as in NumPy; their
    chunks are aligned first (``dask.array.map_blocks``). Each block runs ``outcore.eval``
    on the in-memory blocks in place, into a new in-memory block. Nothing runs until the
    result is computed. The result dtype is outcore's (NumPy 2's promotion), or ``dtype``.
    """
    if not isinstance(names, Mapping):
        raise TypeError("names must be a mapping of expression names to arrays, e.g. {'x': a}")
    keys = [str(k) for k in names]
    arrays = [v if isinstance(v, da.Array) else da.asarray(v) for v in names.values()]
    dtype_text = None if dtype is None else outcore._dtype_arg(dtype)
    # The result dtype (and the expression's errors) from empty blocks, now.
    empty = [np.empty((0,) * max(1, a.ndim), dtype=a.dtype) for a in arrays]
    meta = outcore.eval(expr, None, dict(zip(keys, empty)), dtype=dtype_text)
    ndim = max((a.ndim for a in arrays), default=0)
    # As dask's own elementwise operations: dimensions matched from the last, chunks unified
    # (size-1 dimensions broadcast).
    pairs: List[Any] = []
    for a in arrays:
        pairs += [a, tuple(range(a.ndim))[::-1]]
    return da.blockwise(
        _eval_block, tuple(range(ndim))[::-1], *pairs,
        expr=expr, keys=keys, dtype_text=dtype_text,
        dtype=meta.dtype, meta=np.empty((0,) * ndim, dtype=meta.dtype), align_arrays=True,
        name=f"outcore-eval-{dask.base.tokenize(expr, keys, dtype_text, *arrays)}",
    )
