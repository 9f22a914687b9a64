"""Makes sort test inputs and checks outcore's outputs against NumPy.

usage: cases.py make DIR   -> writes DIR/*.npy inputs and DIR/cases.json
       cases.py check DIR  -> compares DIR/out_*.npy with NumPy, prints failures, exit 1 if any
"""
import json
import os
import sys

import numpy as np

rng = np.random.default_rng(12345)

INTS = ["i1", "u1", "<i2", ">i2", "<u2", ">u2", "<i4", ">i4", "<u4", ">u4", "<i8", ">i8", "<u8", ">u8"]
FLOATS = ["<f2", ">f2", "<f4", ">f4", "<f8", ">f8"]


def values(dt, n, kind):
    """Test data of one flavour: random, dups, special (NaN/inf/±0 heavy), sorted, reversed."""
    dt = np.dtype(dt)
    if dt.kind == "b":
        return rng.integers(0, 2, n).astype(bool)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        if kind == "dups":
            a = rng.integers(0, 5, n)
            a = np.where(a == 4, info.max, np.where(a == 3, info.min, a))
        else:
            a = rng.integers(info.min, info.max, n, endpoint=True, dtype=np.int64 if dt.kind == "i" else np.uint64)
        a = a.astype(dt)
    else:
        if kind == "dups":
            a = rng.integers(-3, 3, n).astype(dt)
        else:
            a = (rng.standard_normal(n) * 100).astype(dt)
        if kind in ("special", "dups"):
            specials = np.array([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0], dtype=dt)
            pick = rng.random(n) < 0.5
            a[pick] = specials[rng.integers(0, len(specials), pick.sum())]
            # NaNs with other payloads too
            bits = a.view(np.dtype(f"u{dt.itemsize}").newbyteorder(dt.byteorder))
            nan_pick = np.isnan(a) & (rng.random(n) < 0.3)
            bits[nan_pick] |= 1
    if kind == "sorted":
        a = np.sort(a)
    elif kind == "reversed":
        a = np.sort(a)[::-1].copy()
    return a


def main_make(d):
    cases = []

    def add(name, arr, ops, mem="1M", threads=2, order="C", **extra):
        path = os.path.join(d, name + ".npy")
        if order == "F":
            arr = np.asfortranarray(arr)
        np.save(path, arr)
        for op in ops:
            c = dict(name=f"{name}-{op['id']}", input=path, mem=mem, threads=threads)
            c.update(op)
            c.update(extra)
            cases.append(c)

    def op(i, kind="sort", **kw):
        o = dict(id=i, op=kind, descending=False, stable=False, flatten=False, by=[])
        o.update(kw)
        return o

    full = [
        op("s"), op("ss", stable=True), op("sd", descending=True), op("sds", descending=True, stable=True),
        op("a", "argsort"), op("as", "argsort", stable=True), op("ad", "argsort", descending=True),
    ]
    # Every dtype, small and in memory.
    for dt in ["|b1"] + INTS + FLOATS:
        tag = dt.replace("<", "le").replace(">", "be").replace("|", "")
        kinds = ["random", "dups"] + (["special"] if dt[-2] == "f" else [])
        for k in kinds:
            add(f"small-{tag}-{k}", values(dt, 3000, k), full)
    # External, multi-pass: data many times the 1 MiB budget.
    add("ext-f8-special", values("<f8", 600_000, "special"), full)
    add("ext-be-f4-dups", values(">f4", 700_000, "dups"), [op("s"), op("ss", stable=True), op("a", "argsort"), op("sds", descending=True, stable=True)])
    add("ext-i4-dups", values("<i4", 900_000, "dups"), [op("s"), op("sd", descending=True), op("a", "argsort"), op("ad", "argsort", descending=True)])
    add("ext-u8-sorted", values("<u8", 500_000, "sorted"), [op("s"), op("a", "argsort")])
    add("ext-i8-reversed", values(">i8", 500_000, "reversed"), [op("s"), op("sd", descending=True), op("as", "argsort", stable=True)])
    add("ext-f2-special", values("<f2", 1_500_000, "special"), [op("ss", stable=True), op("a", "argsort")])
    add("ext-b1", values("|b1", 3_000_000, "random"), [op("s"), op("sd", descending=True), op("as", "argsort", stable=True)])
    add("ext-f8-1thread", values("<f8", 400_000, "special"), [op("ss", stable=True), op("a", "argsort")], threads=1)
    # N-d: rows, flatten, Fortran order, rows longer than the budget.
    add("nd-f4-rows", values("<f4", 50 * 300, "special").reshape(50, 300), full + [op("f", flatten=True), op("af", "argsort", flatten=True)])
    add("nd-i2-3d", values(">i2", 7 * 11 * 13, "dups").reshape(7, 11, 13), [op("s"), op("a", "argsort"), op("f", flatten=True), op("af", "argsort", flatten=True, descending=True)])
    add("nd-f8-fortran", values("<f8", 30 * 400, "special").reshape(30, 400), full + [op("f", flatten=True), op("af", "argsort", flatten=True)], order="F")
    add("nd-u2-3d-fortran", values("<u2", 5 * 6 * 700, "dups").reshape(5, 6, 700), [op("s"), op("a", "argsort"), op("af", "argsort", flatten=True)], order="F")
    add("nd-f8-long-rows", values("<f8", 3 * 200_000, "special").reshape(3, 200_000), [op("ss", stable=True), op("a", "argsort"), op("sd", descending=True)])
    add("nd-f8-wide-flatten", values("<f8", 500 * 1000, "special").reshape(500, 1000), [op("f", flatten=True), op("afs", "argsort", flatten=True, stable=True)], order="F")
    # Record sorts by columns.
    t = values("<i2", 20_000 * 5, "dups").reshape(20_000, 5)
    add("by-i2", t, [op("b20", by=[2, 0]), op("bm1", by=[-1]), op("bd", by=[1, 3, 4], descending=True), op("ab", "argsort", by=[4, 0])])
    add("by-i2-fortran", t, [op("b20", by=[2, 0]), op("ab", "argsort", by=[3])], order="F")
    tf = values(">f8", 200_000 * 3, "dups").reshape(200_000, 3)
    add("by-f8-ext", tf, [op("b1", by=[1]), op("b21", by=[2, 1]), op("bd", by=[0, 1, 2], descending=True)])
    # Edge shapes.
    add("edge-empty", np.zeros(0, "<f8"), [op("s"), op("a", "argsort")])
    add("edge-3x0", np.zeros((3, 0), "<i4"), [op("s"), op("a", "argsort"), op("f", flatten=True)])
    add("edge-0x3", np.zeros((0, 3), "<i4"), [op("s"), op("b", by=[1])])
    add("edge-one", np.array([np.nan], "<f4"), [op("s"), op("a", "argsort")])
    add("edge-0d", np.array(3.5), [op("f", flatten=True), op("af", "argsort", flatten=True)])
    # Bigger budget: everything in memory, no spill.
    # (more than 2^18 records: the parallel sample sort, every op and key width)
    add("mem-f8", values("<f8", 300_000, "special"), full, mem="64M", fits=True)
    add("mem-be-f4-dups", values(">f4", 400_000, "dups"), [op("s"), op("ss", stable=True), op("sds", descending=True, stable=True), op("a", "argsort"), op("ad", "argsort", descending=True)], mem="64M", fits=True)
    add("mem-i8-dups", values("<i8", 300_000, "dups"), [op("s"), op("sd", descending=True), op("a", "argsort"), op("as", "argsort", stable=True)], mem="64M", fits=True)
    add("mem-f2-special", values("<f2", 600_000, "special"), [op("ss", stable=True), op("sds", descending=True, stable=True), op("a", "argsort")], mem="64M", fits=True)
    add("mem-b1", values("|b1", 1_000_000, "random"), [op("s"), op("as", "argsort", stable=True)], mem="64M", fits=True)
    add("mem-u8-sorted", values("<u8", 300_000, "sorted"), [op("s"), op("a", "argsort")], mem="64M", fits=True)
    add("mem-i4-reversed", values(">i4", 300_000, "reversed"), [op("s"), op("sd", descending=True)], mem="64M", fits=True)
    add("mem-i2-const", np.full(300_000, 7, "<i2"), [op("s"), op("a", "argsort"), op("sd", descending=True)], mem="64M", fits=True)
    add("mem-f8-outliers", np.concatenate([rng.random(300_000), [1e300, -1e300, np.inf]]), [op("s"), op("a", "argsort")], mem="64M", fits=True)
    add("mem-by-f8", values("<f8", 300_000 * 3, "dups").reshape(300_000, 3), [op("b21", by=[2, 1]), op("bd", by=[0], descending=True), op("ab", "argsort", by=[1, 0])], mem="64M", fits=True)
    add("mem-f8-fortran", values("<f8", 600 * 500, "special").reshape(600, 500), [op("f", flatten=True), op("afs", "argsort", flatten=True, stable=True)], mem="64M", fits=True, order="F")
    with open(os.path.join(d, "cases.json"), "w") as f:
        json.dump(cases, f)


def ranks(a):
    """Dense ascending ranks with NumPy's equality (-0 == 0, all NaNs equal, NaN last)."""
    flat = a.ravel()
    nan = np.isnan(flat) if flat.dtype.kind == "f" else np.zeros(flat.shape, bool)
    r = np.zeros(flat.shape, np.int64)
    if (~nan).any():
        _, inv = np.unique(flat[~nan], return_inverse=True)
        r[~nan] = inv.ravel()
    r[nan] = r.max(initial=0) + 1 if (~nan).any() else 0
    return r.reshape(a.shape), nan.reshape(a.shape)


def order_key(a, descending):
    r, nan = ranks(a)
    if descending:
        r = np.where(nan, r.max(initial=0) + 1, (r.max(initial=0) - r))
    return r


def reference(a, c):
    desc = c["descending"]
    if c["by"]:
        keys = [order_key(a[:, col], desc) for col in c["by"]]
        idx = np.lexsort(keys[::-1]) if len(a) else np.zeros(0, np.int64)
        return idx if c["op"] == "argsort" else a[idx]
    if c["flatten"] or a.ndim == 0:
        a = a.ravel()
    if a.ndim == 0:
        a = a.reshape(1)
    idx = np.argsort(order_key(a, desc), axis=-1, kind="stable")
    if c["op"] == "argsort":
        return idx
    return np.take_along_axis(a, idx, axis=-1)


def main_check(d):
    with open(os.path.join(d, "cases.json")) as f:
        cases = json.load(f)
    bad = []
    for c in cases:
        out_path = os.path.join(d, "out_" + c["name"] + ".npy")
        a = np.load(c["input"])
        got = np.load(out_path)
        ref = reference(a, c)
        why = None
        if got.shape != ref.shape:
            why = f"shape {got.shape} != {ref.shape}"
        elif got.dtype != ref.dtype and not (c["op"] == "argsort" and got.dtype == np.int64):
            why = f"dtype {got.dtype} != {ref.dtype}"
        elif not got.flags.c_contiguous:
            why = "output not C order"
        elif c["op"] == "argsort":
            if not np.array_equal(got, ref):
                why = "indices differ from the stable argsort"
        elif c["stable"] or c["by"]:
            if got.tobytes() != ref.tobytes():
                why = "bytes differ from the stable sort"
        elif not np.array_equal(got, ref, equal_nan=ref.dtype.kind == "f"):
            why = "values differ"
        if why is None and c["op"] == "sort" and not c["by"] and not c["descending"]:
            # Against NumPy itself, not only our reference.
            npref = np.sort(a, axis=None if (c["flatten"] or a.ndim == 0) else -1)
            if not np.array_equal(got, npref, equal_nan=npref.dtype.kind == "f"):
                why = "differs from np.sort"
        if why is None and c["op"] == "argsort" and not c["by"] and not c["descending"]:
            npref = np.argsort(a, axis=None if (c["flatten"] or a.ndim == 0) else -1, kind="stable")
            if not np.array_equal(got, npref):
                why = "differs from np.argsort(kind='stable')"
        if why:
            bad.append(f"{c['name']}: {why}")
    for b in bad:
        print("FAIL", b)
    print(f"checked {len(cases)} cases, {len(bad)} failures")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    {"make": main_make, "check": main_check}[sys.argv[1]](sys.argv[2])
