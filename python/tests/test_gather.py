"""take, mask and concat against NumPy: every kind of input, both orders, several dtypes
(complex, strings, records included), byte orders, tight budgets, errors, identity with the CLI."""

import subprocess

import numpy as np
import pytest

import outcore
from conftest import make
from test_jobs import KINDS, as_input, check_same

REC = np.dtype([("a", "<i4"), ("b", ">f8"), ("c", "S3")])


def data(dtype, shape, order="C", seed=0):
    """Values of any dtype: numbers from `make`, bytes for strings and records."""
    dt = np.dtype(dtype)
    if dt.kind in "biuf":
        return make("plain", dt, shape, order, seed)
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    if dt.kind == "c":
        flat = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dt)
    elif dt.kind == "U":
        flat = np.array(["".join(chr(65 + int(c)) for c in rng.integers(0, 26, 2)) for _ in range(n)], dt)
    else:
        flat = np.frombuffer(rng.integers(65, 91, n * dt.itemsize, dtype=np.uint8).tobytes(), dt)
    return np.asarray(flat.reshape(shape), order=order)


def check_joined(result, expected):
    """concat's result: NumPy's values; the dtype may keep the inputs' byte order where NumPy
    gives native order (SPEC: outputs in native or the input's byte order), as for records."""
    result = np.asarray(result)
    if result.dtype != expected.dtype:
        assert result.dtype.names == expected.dtype.names and result.dtype.kind == expected.dtype.kind
        result = result.astype(expected.dtype)
    check_same(result, expected)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", ["<f8", ">i4", "|b1", "<c8", "<U2", REC])
def test_take_mask_concat_against_numpy(tmp, kind, order, dtype):
    arr = data(dtype, (6, 5, 4), order)
    a = as_input(kind, arr, tmp, "a")
    rng = np.random.default_rng(1)
    idx = rng.integers(-arr.size, arr.size, (3, 7)).astype(">i2")
    check_same(outcore.take(a, as_input(kind, idx, tmp, "i"), tmp / "t.npy"), np.take(arr, idx))
    for axis in (0, 1, -1):
        ax = rng.integers(-arr.shape[axis], arr.shape[axis], 9)
        check_same(outcore.take(a, ax, tmp / f"t{axis}.npy", axis=axis), np.take(arr, ax, axis=axis))
    for k in range(arr.ndim + 1):
        m = rng.random(arr.shape[:k]) < 0.5
        check_same(outcore.mask(a, as_input(kind, m, tmp, "m"), tmp / f"m{k}.npy"), arr[m])
    other = data(dtype, (6, 2, 4), "F" if order == "C" else "C", seed=2)
    b = as_input(kind, other, tmp, "b")
    check_joined(outcore.concat([a, b, a], tmp / "c.npy", axis=1), np.concatenate([arr, other, arr], axis=1))
    check_joined(outcore.concat([a, a], tmp / "s.npy", axis=-1, stack=True), np.stack([arr, arr], axis=-1))


def test_concat_promotes_as_numpy(tmp):
    pairs = [
        (np.array([1, 2], "u1"), np.array([-1], ">i2")),
        (np.array([1.5], "<f4"), np.array([2], ">i8")),
        (np.array([True]), np.array([1 + 2j], "<c8")),
        (np.array([b"ab"]), np.array(["xyz"])),
        (np.array([b"a"]), np.array([1, -2], ">i8")),
        (np.array(["q"]), np.array([0.1, 1e20, np.nan], "<f4")),
        (np.array([2j, 1 - 0j]), np.array([b"c"])),
    ]
    for i, (x, y) in enumerate(pairs):
        check_same(outcore.concat([x, y], tmp / f"p{i}.npy"), np.concatenate([x, y]))


def test_tight_budgets_gather_in_windows(tmp):
    # 2.4 MB under a 1 MiB budget: bucketed windows for rows of 8 bytes, rows of 40 KB one by one.
    a = make("plain", "<f8", (300_000,))
    perm = np.random.default_rng(3).permutation(a.size)
    check_same(outcore.take(a, perm, tmp / "p.npy", mem="1M", chunk="4K"), a[perm])
    wide = a.reshape(60, 5000)
    rows = np.random.default_rng(4).integers(-60, 60, 200)
    check_same(outcore.take(wide, rows, tmp / "w.npy", axis=0, mem="1M", chunk="4K"), wide[rows])
    keep = np.random.default_rng(5).random(60) < 0.5
    check_same(outcore.mask(wide, keep, tmp / "k.npy", mem="1M", chunk="4K"), wide[keep])


def test_empty_results(tmp):
    a = np.arange(12.0).reshape(3, 4)
    check_same(outcore.take(a, np.zeros(0, np.int64), tmp / "t.npy"), np.take(a, np.zeros(0, np.int64)))
    check_same(outcore.mask(a, np.zeros(3, bool), tmp / "m.npy"), a[np.zeros(3, bool)])
    e = np.zeros((0, 4))
    check_same(outcore.concat([e, a, e], tmp / "c.npy"), np.concatenate([e, a, e]))


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda t, a: outcore.take(a, [0, 12], t / "o.npy"), "index 12 at position 1"),
        (lambda t, a: outcore.take(a, [[0, 0], [-5, 0]], t / "o.npy", axis=1), "position 2"),
        (lambda t, a: outcore.take(a, [0.5], t / "o.npy"), "integer"),
        (lambda t, a: outcore.take(a, [0], t / "o.npy", axis=2), "axis 2"),
        (lambda t, a: outcore.mask(a, [True, False], t / "o.npy"), "leading part"),
        (lambda t, a: outcore.mask(a, [1, 0, 1], t / "o.npy"), "bool"),
        (lambda t, a: outcore.concat([a, np.zeros((3, 5))], t / "o.npy"), "dimension 1"),
        (lambda t, a: outcore.concat([a, np.zeros((4, 3))], t / "o.npy", stack=True), "same shape"),
        (lambda t, a: outcore.concat([a, np.zeros((3, 4), "V3")], t / "o.npy"), "no common dtype"),
        (lambda t, a: outcore.concat([], t / "o.npy"), "at least one"),
    ],
)
def test_bad_input_is_value_error_and_leaves_nothing(tmp, call, words):
    a = np.arange(12.0).reshape(3, 4)
    with pytest.raises(ValueError) as e:
        call(tmp, a)
    assert words in str(e.value)
    assert list(tmp.iterdir()) == []


def test_errors_name_the_file(tmp):
    np.save(tmp / "a.npy", np.arange(5.0))
    np.save(tmp / "far.npy", np.array([0, 5]))
    with pytest.raises(ValueError) as e:
        outcore.take(tmp / "a.npy", tmp / "far.npy", tmp / "o.npy")
    assert "far.npy" in str(e.value) and "position 1" in str(e.value)
    with pytest.raises(TypeError):
        outcore.concat(tmp / "a.npy", tmp / "o.npy")
    out = tmp / "o.npy"
    out.write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        outcore.take(tmp / "a.npy", [0], out)
    assert out.read_bytes() == b"keep me"
    check_same(outcore.take(tmp / "a.npy", [4], out, force=True), np.array([4.0]))


def test_results_are_identical_to_the_cli(tmp, cli):
    np.save(tmp / "a.npy", make("nan", ">f4", (50, 30), "F"))
    np.save(tmp / "b.npy", make("plain", "<i2", (50, 30)))
    np.save(tmp / "i.npy", np.random.default_rng(6).integers(-30, 30, 77))
    np.save(tmp / "m.npy", np.random.default_rng(7).random(50) < 0.3)
    a, b, i, m = (tmp / n for n in ("a.npy", "b.npy", "i.npy", "m.npy"))
    cases = [
        (["take", "a.npy", "i.npy", "-o", "c0.npy", "--axis", "1"], lambda o: outcore.take(a, i, o, axis=1)),
        (["mask", "a.npy", "m.npy", "-o", "c1.npy"], lambda o: outcore.mask(a, m, o)),
        (["concat", "a.npy", "b.npy", "-o", "c2.npy", "--axis", "-1", "--stack"],
         lambda o: outcore.concat([a, b], o, axis=-1, stack=True)),
    ]
    for k, (args, job) in enumerate(cases):
        subprocess.run([cli, *args], cwd=tmp, capture_output=True, text=True, check=True)
        mine = tmp / f"p{k}.npy"
        job(mine)
        assert (tmp / f"c{k}.npy").read_bytes() == mine.read_bytes(), args
