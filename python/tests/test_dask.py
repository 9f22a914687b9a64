"""outcore.dask on a local 4-worker process cluster (SPEC §8): sort, quantile, eval.

Each worker's memory limit is small, and the outcore budget of each of its tasks (derived
from that limit) is smaller than the array, so no single task could sort the data in memory.
"""

import os
import signal
import threading
import time

import numpy as np
import pytest

if os.environ.get("CI") == "true":
    import dask  # noqa: F401  (under CI a missing dask fails the run)
    import distributed  # noqa: F401
else:
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        pytest.skip("dask[distributed] is not installed (pip install './python[dask]')", allow_module_level=True)

import dask.array as da
import outcore
import outcore.dask as odask

WORKERS = 4
# The worker process itself holds ~100-150 MiB; this leaves its tasks a budget of a few MiB.
MEMORY_LIMIT = 160 << 20
N = 4_000_000  # 32 MiB of float64: larger than any task's budget
CHUNK = 250_000


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=WORKERS, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, memory_limit=MEMORY_LIMIT, silence_logs=40,
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def data(n=N, seed=1, nans=50):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n) * 1e3
    a[rng.choice(n, min(n, nans), replace=False)] = np.nan
    if n > 10:
        a[:4] = [0.0, -0.0, np.inf, -np.inf]
        a[5:8] = 42.0  # repeats
    return a


def dask_data(shape, chunks, seed=1):
    """A random float64 dask array made on the workers (not shipped in the graph), with NaNs,
    signed zeros, infinities and repeats; and its values."""
    rng = da.random.default_rng(seed)
    x = rng.standard_normal(shape, chunks=chunks) * 1e3
    x = da.where(rng.random(shape, chunks=chunks) < 2e-5, np.nan, x)
    flat_first = (0,) * (len(shape) - 1)
    x[flat_first + (slice(0, 8),)] = [0.0, -0.0, np.inf, -np.inf, -np.nan, 42.0, 42.0, 42.0]
    return x, x.compute()


def same(a, b):
    """Equal as sorted data: values, NaNs at the same places, and the dtype."""
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def no_leftovers(directory, keep):
    return sorted(os.listdir(directory)) == sorted(keep)


def test_sort_dask_array_matches_numpy_and_outcore(client, tmp_path):
    x, a = dask_data((1000, N // 1000), chunks=(250, 1500))  # 2-d, uneven chunks
    a = a.ravel()
    report = {}
    s = odask.sort(x, tmp_path / "s.npy", report=report)
    assert same(np.asarray(s), np.sort(a))
    # The same file, byte for byte, as outcore's own sort (NaN payloads, the -0.0/+0.0 order
    # and the header included).
    outcore.sort(a, tmp_path / "ref.npy")
    assert (tmp_path / "s.npy").read_bytes() == (tmp_path / "ref.npy").read_bytes()
    # The work was split, and every task's budget is a fraction of its worker's limit and
    # smaller than the data.
    assert report["parts"] >= WORKERS
    assert sum(report["counts"]) == N
    assert max(report["counts"]) < 0.5 * N, report["counts"]  # balanced ranges
    for r in report["ranges"]:
        assert 0 < r["budget"] < a.nbytes, (report["seconds"], r)
        assert r["budget"] < r["memory_limit"] == MEMORY_LIMIT
    assert no_leftovers(tmp_path, ["s.npy", "ref.npy"])


def test_sort_npy_path_and_descending(client, tmp_path):
    a = data(seed=2).astype(np.float32)
    p = tmp_path / "a.npy"
    np.save(p, a)
    s = odask.sort(str(p), tmp_path / "s.npy")
    assert same(np.asarray(s), np.sort(a))
    d = odask.sort(p, tmp_path / "d.npy", descending=True)
    # Descending keeps NaNs last, as outcore.sort does.
    ref = outcore.sort(a, tmp_path / "ref.npy", descending=True)
    assert np.asarray(d).tobytes() == np.asarray(ref).tobytes()
    finite = np.sort(a[~np.isnan(a)])[::-1]
    assert np.array_equal(np.asarray(d)[: finite.size], finite)
    assert np.isnan(np.asarray(d)[finite.size:]).all()
    assert np.load(p).tobytes() == a.tobytes()  # the input is untouched
    assert no_leftovers(tmp_path, ["a.npy", "s.npy", "d.npy", "ref.npy"])


@pytest.mark.parametrize(
    "case",
    ["empty", "one", "all_equal", "sorted", "reversed", "zeros_and_nans", "int64", "uint8", "bool"],
)
def test_sort_edge_cases(client, tmp_path, case):
    rng = np.random.default_rng(3)
    a = {
        "empty": np.empty(0),
        "one": np.array([7.5]),
        "all_equal": np.full(400_000, 3.25),
        "sorted": np.arange(300_000, dtype=np.float64),
        "reversed": np.arange(300_000, dtype=np.float64)[::-1].copy(),
        "zeros_and_nans": rng.choice(np.array([0.0, -0.0, np.nan, -np.nan, 1.0]), 200_000),
        "int64": rng.integers(-(2**62), 2**62, 300_000),
        "uint8": rng.integers(0, 256, 300_000, dtype=np.uint8),
        "bool": rng.integers(0, 2, 300_000).astype(bool),
    }[case]
    x = da.from_array(a, chunks=max(1, a.size // 7 or 1))
    report = {}
    for descending in (False, True):
        out = tmp_path / f"s{int(descending)}.npy"
        s = odask.sort(x, out, descending=descending, report=report)
        ref = outcore.sort(a, tmp_path / "ref.npy", descending=descending, force=True)
        assert np.asarray(s).tobytes() == np.asarray(ref).tobytes()
        assert s.shape == a.shape and s.dtype == a.dtype
    assert same(np.asarray(np.load(tmp_path / "s0.npy")), np.sort(a))
    if case == "all_equal":
        # Equal keys are split by position: the ranges stay balanced.
        assert max(report["counts"]) <= a.size // WORKERS + a.size // 10, report["counts"]


def test_sort_refuses_existing_output_and_leaves_nothing_on_error(client, tmp_path):
    a = data(100_000)
    out = tmp_path / "s.npy"
    out.write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        odask.sort(da.from_array(a, chunks=10_000), out)
    assert out.read_bytes() == b"keep"
    s = odask.sort(da.from_array(a, chunks=10_000), out, force=True)
    assert same(np.asarray(s), np.sort(a))
    with pytest.raises(TypeError):
        odask.sort(da.from_array(a), tmp_path / "t.npy", bogus=1)
    with pytest.raises(TypeError):
        odask.sort(da.from_array(a.astype(np.complex128)), tmp_path / "t.npy")

    def explode(block):
        raise RuntimeError("this block cannot be computed")

    bad = da.from_array(a, chunks=10_000).map_blocks(explode, dtype=a.dtype)
    with pytest.raises(RuntimeError, match="cannot be computed"):
        odask.sort(bad, tmp_path / "t.npy")
    assert no_leftovers(tmp_path, ["s.npy"])


def _kill_one_worker_when_sorting(client, stop):
    """Kills a worker process (SIGKILL) while a range task runs on it."""
    while not stop.is_set():
        processing = client.processing()
        for addr, keys in processing.items():
            if any(str(k).startswith("outcore-range-") for k in keys):
                pid = client.run(os.getpid, workers=[addr])[addr]
                time.sleep(0.05)
                os.kill(pid, signal.SIGKILL)
                return addr
        time.sleep(0.01)
    return None


def test_sort_survives_a_killed_worker(tmp_path):
    # A cluster of its own: a killed worker is restarted by its nanny, and its tasks retried.
    a = data(4_000_000, seed=5)
    p = tmp_path / "a.npy"
    np.save(p, a)
    with distributed.LocalCluster(
        n_workers=WORKERS, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, memory_limit=MEMORY_LIMIT, silence_logs=50,
    ) as cluster, distributed.Client(cluster) as c:
        stop = threading.Event()
        killed = []
        t = threading.Thread(target=lambda: killed.append(_kill_one_worker_when_sorting(c, stop)))
        t.start()
        try:
            s = odask.sort(p, tmp_path / "s.npy", mem="4M")
        finally:
            stop.set()
            t.join()
        assert killed and killed[0] is not None, "no range task was seen running"
        assert same(np.asarray(s), np.sort(a))
        del s
    assert no_leftovers(tmp_path, ["a.npy", "s.npy"])


def test_failed_job_leaves_nothing(client, tmp_path):
    # A range task that fails for good (its budget is refused by outcore) fails the job:
    # neither the output nor any intermediate file remains.
    a = data(200_000)
    with pytest.raises(ValueError, match="below the minimum"):
        odask.sort(da.from_array(a, chunks=50_000), tmp_path / "s.npy", mem=1)
    assert no_leftovers(tmp_path, [])


@pytest.mark.parametrize("method", ["linear", "lower", "higher", "nearest", "midpoint"])
def test_quantile_matches_numpy(client, tmp_path, method):
    x = da.random.default_rng(7).standard_normal(N // 4, chunks=CHUNK // 2)
    x[100:5000] = 0.5  # a long run of equal values
    a = x.compute()
    qs = np.array([0.0, 1e-7, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9999999, 1.0])
    got = odask.quantile(x, qs, method=method)
    want = np.quantile(a, qs, method=method)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    # A scalar q gives a scalar, as NumPy; a .npy path works the same.
    p = tmp_path / "a.npy"
    np.save(p, a)
    g = odask.quantile(p, 0.3, method=method)
    w = np.quantile(a, 0.3, method=method)
    assert np.shape(g) == () and g == w and type(g) is type(w)


def test_quantile_integers_nans_and_errors(client):
    rng = np.random.default_rng(8)
    i = rng.integers(-50, 50, 500_000).astype(np.int32)
    qs = [0.0, 0.33, 0.5, 1.0]
    for method in ("linear", "lower", "midpoint", "nearest"):
        got = odask.quantile(da.from_array(i, chunks=70_000), qs, method=method)
        want = np.quantile(i, qs, method=method)
        assert got.dtype == want.dtype and np.array_equal(got, want)
    f = data(200_000)  # with NaNs: every quantile is NaN, as in NumPy
    got = odask.quantile(da.from_array(f, chunks=50_000), [0.1, 0.9])
    assert np.isnan(got).all() and np.isnan(np.quantile(f, [0.1, 0.9])).all()
    one = odask.quantile(da.from_array(np.array([2.5])), [0.0, 0.5, 1.0])
    assert np.array_equal(one, [2.5, 2.5, 2.5])
    with pytest.raises(ValueError):
        odask.quantile(da.from_array(f), 1.5)
    with pytest.raises(ValueError):
        odask.quantile(da.from_array(f), 0.5, method="weibull-ish")
    with pytest.raises(ValueError):
        odask.quantile(da.from_array(np.empty(0)), 0.5)


def _marking(directory):
    """A block function that leaves a file per call, to see when blocks are computed."""

    def mark(block, block_info=None):
        loc = block_info[0]["chunk-location"]
        open(os.path.join(directory, "computed-%s" % "-".join(map(str, loc))), "w").close()
        return block

    return mark


def test_eval_is_lazy_and_matches_numpy(client, tmp_path):
    rng = np.random.default_rng(9)
    a = rng.standard_normal((600, 500))
    b = rng.standard_normal(500).astype(np.float32)
    x = da.from_array(a, chunks=(100, 250)).map_blocks(_marking(str(tmp_path)), dtype=a.dtype)
    y = da.from_array(b, chunks=125)  # other chunks: aligned by map_blocks
    r = odask.eval("sqrt(x*x + 1) + where(y > 0, y, 0)", {"x": x, "y": y})
    assert isinstance(r, da.Array) and r.shape == (600, 500) and r.dtype == np.float64
    assert not [f for f in os.listdir(tmp_path) if f.startswith("computed-")], "ran before compute"
    got = r.compute()
    assert len([f for f in os.listdir(tmp_path) if f.startswith("computed-")]) == 12
    want = np.sqrt(a * a + 1) + np.where(b > 0, b, 0)
    assert np.allclose(got, want, rtol=1e-15, atol=0)
    # outcore's values, block by block, are the single-machine eval's values.
    whole = outcore.eval("sqrt(x*x + 1) + where(y > 0, y, 0)", None, {"x": a, "y": b})
    assert np.array_equal(got, whole)
    i = odask.eval("x // 3", {"x": da.arange(10, chunks=4)}, dtype="int16").compute()
    assert i.dtype == np.int16 and i.tolist() == [v // 3 for v in range(10)]
    with pytest.raises(ValueError):
        odask.eval("x +* 1", {"x": x})


@pytest.mark.parametrize("splitters", [3, 20, 300])
def test_key_ranges_follow_key_then_position(splitters):
    # The range of each element is the number of splitters (key, position) at or below its
    # own (key, position), whichever way it is computed (comparisons, prefix table, search).
    rng = np.random.default_rng(splitters)
    for values in (
        rng.standard_normal(300_000),
        np.repeat(rng.standard_normal(7), 300_000 // 7),  # long runs of equal keys
        rng.choice(np.array([0.0, -0.0, np.nan, -np.inf, 5.0]), 300_000),
    ):
        keys = odask.sort_keys(values)
        at = np.sort(rng.choice(values.size, splitters, replace=False))
        order = np.lexsort((at, keys[at]))
        skeys, spos = keys[at][order], at[order]
        got = odask._ranges_of(keys, 0, (skeys, spos)).astype(np.int64)
        pairs = np.rec.fromarrays([skeys, spos])
        want = np.searchsorted(pairs, np.rec.fromarrays([keys, np.arange(values.size)]), side="right")
        assert np.array_equal(got, want)


def test_sort_keys_order_is_outcore_sort_order(tmp_path):
    specials = np.array([np.nan, -np.inf, -1.5, -0.0, 0.0, 5e-324, 1.0, np.inf, -np.nan, 2.0])
    for descending in (False, True):
        keys = odask.sort_keys(specials, descending)
        ref = np.asarray(outcore.sort(specials, tmp_path / f"s{int(descending)}.npy", descending=descending))
        assert specials[np.argsort(keys, kind="stable")].tobytes() == ref.tobytes()
