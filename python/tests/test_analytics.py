"""scan, histogram, quantile and unique against NumPy, for several dtypes, both orders and
every kind of input."""

import numpy as np
import pytest

import outcore
from test_jobs import KINDS, as_input

RNG = np.random.default_rng(11)


def data(dtype, shape, order="C"):
    dt = np.dtype(dtype)
    n = int(np.prod(shape))
    if dt.kind == "f":
        a = (RNG.standard_normal(n) * 50).astype(dt)
    elif dt.kind == "b":
        a = RNG.random(n) < 0.3
    else:
        a = RNG.integers(0 if dt.kind == "u" else -100, 100, n).astype(dt)
    a = a.reshape(shape)
    return np.asfortranarray(a) if order == "F" else a


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", ["<f8", ">f4", "<i4", "|u1"])
def test_scan(tmp_path, kind, dtype):
    a = data(dtype, (30, 7), "F" if kind == "raw" else "C")
    src = as_input(kind, a, tmp_path)
    for op, fn in [("cumsum", np.cumsum), ("nancumprod", np.nancumprod)]:
        for axis in (None, 0, -1):
            out = tmp_path / f"{op}-{axis}.npy"
            r = outcore.scan(op, src, out, axis=axis)
            want = fn(a, axis=axis)
            assert r.dtype == want.dtype.newbyteorder("=") and r.shape == want.shape
            assert np.array_equal(r, want, equal_nan=True)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", ["<f8", ">f4", "<f2", "<i8", "|b1"])
def test_histogram(tmp_path, kind, dtype):
    a = data(dtype, (40, 9))
    src = as_input(kind, a, tmp_path)
    for bins, rng in [(10, None), (7, (-20.0, 30.0)), (1, None)]:
        c, e = outcore.histogram(src, bins=bins, range=rng)
        wc, we = np.histogram(a, bins=bins, range=rng)
        assert c.dtype == wc.dtype and np.array_equal(c, wc)
        assert e.dtype == we.dtype and np.array_equal(e, we)
    out = tmp_path / "h.npy"
    c, _ = outcore.histogram(src, bins=5, out=out)
    assert np.array_equal(np.load(out), c)
    with pytest.raises(FileExistsError):
        outcore.histogram(src, bins=5, out=out)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", ["<f8", ">f4", "<f2", "<i8", ">u2", "|i1"])
@pytest.mark.parametrize("method", ["linear", "lower", "higher", "nearest", "midpoint"])
def test_quantile(tmp_path, kind, dtype, method):
    a = data(dtype, (25, 8), "F" if kind == "raw" else "C")
    src = as_input(kind, a, tmp_path)
    for q in (0.5, [0.0, 0.3, 1.0], np.array([0.25]), np.float64(0.7)):
        for axis in (None, 0, 1):
            got = outcore.quantile(src, q, method=method, axis=axis)
            want = np.quantile(a, q, method=method, axis=axis)
            assert type(got) is type(want), (q, axis, type(got), type(want))
            assert np.asarray(got).dtype == np.asarray(want).dtype.newbyteorder("=")
            assert np.array_equal(got, want), (q, axis, got, want)
    out = tmp_path / f"q-{method}.npy"
    r = outcore.quantile(src, [0.1, 0.9], method=method, axis=0, out=out)
    assert np.array_equal(r, np.quantile(a, [0.1, 0.9], method=method, axis=0))


def test_quantile_integer_q_nan_and_errors(tmp_path):
    a = np.arange(10)
    assert outcore.quantile(a, 1) == np.quantile(a, 1)
    assert type(outcore.quantile(a, 1)) is type(np.quantile(a, 1))
    assert np.array_equal(outcore.quantile(a, [0, 1]), np.quantile(a, [0, 1]))
    x = np.array([1.0, np.nan, 3.0])
    assert np.isnan(outcore.quantile(x, 0.5))
    with pytest.raises(ValueError, match=r"range \[0, 1\]"):
        outcore.quantile(a, 1.5)
    with pytest.raises(ValueError, match="empty"):
        outcore.quantile(np.zeros(0), 0.5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", ["<f8", ">f4", "<f2", "<i8", ">u2", "|b1"])
def test_unique(tmp_path, kind, dtype):
    a = data(dtype, (60, 5))
    if a.dtype.kind == "f":
        a.ravel()[::7] = np.nan
        a.ravel()[3::11] = -0.0
    src = as_input(kind, a, tmp_path)
    v, c = outcore.unique(src, tmp_path / "u.npy", counts=tmp_path / "c.npy")
    wv, wc = np.unique(a, return_counts=True)
    assert v.dtype == wv.dtype.newbyteorder("=") and np.array_equal(v, wv, equal_nan=a.dtype.kind == "f")
    assert c.dtype == np.int64 and np.array_equal(c, wc)
    only = outcore.unique(src, tmp_path / "u2.npy")
    assert np.array_equal(only, wv, equal_nan=a.dtype.kind == "f")
    # Many distinct values under a tiny budget: the external-sort path gives the same.
    big = RNG.integers(0, 10**6, 200_000)
    v, c = outcore.unique(big, tmp_path / "ub.npy", counts=tmp_path / "cb.npy", mem="4M",
                          tmp_dir=tmp_path, force=True)
    wv, wc = np.unique(big, return_counts=True)
    assert np.array_equal(v, wv) and np.array_equal(c, wc)
    assert not list(tmp_path.glob(".outcore-*"))
