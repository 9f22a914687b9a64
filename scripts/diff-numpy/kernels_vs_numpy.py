#!/usr/bin/env python3
"""Randomized differential tester: outcore (reduce / stats / eval) vs NumPy.

usage: kernels_vs_numpy.py [--mode reduce|stats|eval|all] [--n N] [--seconds S] [--seed S] [--tag T]
Binary: $OUTCORE (default: target/release/outcore of this repository). Failures go to
$DIFF_NUMPY_DIR/fail_<tag>_<k>/ (default /tmp/outcore-diff-kernels) with the inputs,
repro.sh and details.txt.
"""
import argparse, ast, json, math, os, shutil, subprocess, sys, time, traceback, warnings
from fractions import Fraction
import numpy as np

warnings.simplefilter("ignore")
np.seterr(all="ignore")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OC = os.environ.get("OUTCORE", os.path.join(REPO, "target", "release", "outcore"))
ROOT = os.environ.get("DIFF_NUMPY_DIR", "/tmp/outcore-diff-kernels")
PY = sys.executable

NUM_DTYPES = ["?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"]
CPLX = ["c8", "c16"]
RT = {"f2": 3e-3, "f4": 1e-5, "f8": 1e-12}

# ---------------------------------------------------------------- data
def gen_shape(rng, maxnd=4, maxsize=5000):
    nd = int(rng.choice([0, 1, 1, 2, 2, 3, 4]))
    while True:
        shp = []
        for _ in range(nd):
            r = rng.random()
            if r < 0.06:
                shp.append(0)
            elif r < 0.2:
                shp.append(1)
            elif r < 0.6:
                shp.append(int(rng.integers(2, 8)))
            else:
                shp.append(int(rng.integers(2, 200)))
        if int(np.prod(shp)) <= maxsize:
            return tuple(shp)


def gen_values(rng, dt, n, kind=None):
    dt = np.dtype(dt)
    k = dt.kind
    if k == "b":
        p = float(rng.choice([0.0, 1.0, 0.5, 0.05, 0.95]))
        return rng.random(n) < p, "bool p=%g" % p
    if k in "iu":
        info = np.iinfo(dt)
        kind = kind or str(rng.choice(["small", "small", "full", "extreme", "zeros", "mid"]))
        if kind == "small":
            lo = 0 if k == "u" else -10
            v = rng.integers(lo, 11, n)
        elif kind == "mid":
            lo = 0 if k == "u" else max(info.min, -1000)
            v = rng.integers(lo, min(info.max, 1000) + 1, n)
        elif kind == "full":
            v = rng.integers(info.min, info.max, n, dtype=dt.newbyteorder("="), endpoint=True)
        elif kind == "extreme":
            c = [info.min, info.max, info.max - 1, 0, 1]
            if k == "i":
                c += [info.min + 1, -1]
            v = np.array([c[i] for i in rng.integers(0, len(c), n)], dtype=object)
        else:
            v = np.zeros(n, dtype=np.int64)
        return np.array([int(x) for x in v], dtype=object).astype(dt.newbyteorder("=")) if n else np.zeros(0, dt.newbyteorder("=")), kind
    if k == "f":
        fi = np.finfo(dt)
        kind = kind or str(rng.choice(["normal", "normal", "uniform", "intvals", "nanheavy", "allnan",
                                        "special", "signedzero", "large", "mixedscale", "offset", "posinf"]))
        if kind == "normal":
            v = rng.standard_normal(n) * 10.0 ** int(rng.integers(-3, 4))
        elif kind == "uniform":
            v = rng.random(n) * 2 - 1
        elif kind == "intvals":
            v = rng.integers(-100, 100, n).astype(float)
        elif kind == "nanheavy":
            v = rng.standard_normal(n)
            v[rng.random(n) < 0.6] = np.nan
        elif kind == "allnan":
            v = np.full(n, np.nan)
        elif kind == "special":
            c = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, float(fi.tiny), float(fi.max), -float(fi.max), 2.5])
            v = c[rng.integers(0, len(c), n)]
        elif kind == "posinf":
            c = np.array([np.inf, 0.0, -0.0, 1.0, -3.0, 7.5])
            v = c[rng.integers(0, len(c), n)]
        elif kind == "signedzero":
            v = np.where(rng.random(n) < 0.5, 0.0, -0.0)
        elif kind == "large":
            v = (rng.random(n) * 0.9 + 0.1) * float(fi.max) * np.where(rng.random(n) < 0.7, 1, -1)
        elif kind == "mixedscale":
            e = int(min(fi.maxexp, 300) * 0.3)
            v = rng.standard_normal(n) * 2.0 ** rng.integers(-e, e, n).astype(float)
        elif kind == "offset":
            off = float(rng.choice([1e3, 1e6, 1e9])) if dt.itemsize == 8 else float(rng.choice([10.0, 100.0, 1000.0]))
            v = off + rng.standard_normal(n)
        return v.astype(dt.newbyteorder("=")), kind
    if k == "c":
        v = rng.standard_normal(n) + 1j * rng.standard_normal(n)
        return v.astype(dt.newbyteorder("=")), "complex"
    raise ValueError(dt)


def make_array(rng, dt, shape, kind=None):
    n = int(np.prod(shape)) if shape else 1
    v, kind = gen_values(rng, dt, n, kind)
    a = v.reshape(shape)
    return a, kind


def save_array(rng, a, path, order=None, bo=None):
    bo = bo or str(rng.choice(["<", ">"]))
    order = order or str(rng.choice(["C", "F"]))
    dt = a.dtype.newbyteorder(bo) if a.dtype.itemsize > 1 else a.dtype
    b = a.astype(dt)
    if order == "F":
        b = np.asfortranarray(b)
    else:
        b = np.ascontiguousarray(b)
    np.save(path, b)
    return bo, order


# ---------------------------------------------------------------- running
def run(cmd, timeout=60):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return "timeout", "", "timeout"


def extra_opts(rng):
    o = []
    r = rng.random()
    if r < 0.5:
        o += ["--chunk", str(rng.choice(["4K", "8K", "1000", "12K", "64K"]))]
    if rng.random() < 0.4:
        o += ["--threads", str(rng.choice(["1", "2", "3", "5"]))]
    if rng.random() < 0.1:
        o += ["--mem", "1M"]
    return o


def shquote(s):
    return "'" + s.replace("'", "'\\''") + "'"


# ---------------------------------------------------------------- comparison helpers
def fkey(dt):
    return np.dtype(dt).str[1:]


def ulp(x, dt):
    dt = np.dtype(dt).newbyteorder("=")
    x = dt.type(x)
    if not np.isfinite(x):
        return 0.0
    return float(np.spacing(np.abs(x)))


def classify(x):
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return "fin"


def fclose(a, b, rt, atol=0.0):
    ca, cb = classify(a), classify(b)
    if ca != "fin" or cb != "fin":
        return ca == cb
    a, b = float(a), float(b)
    return abs(a - b) <= rt * max(abs(a), abs(b)) + atol


def jval(v, dt):
    """JSON scalar -> numpy scalar of dt (raises on a representation problem)."""
    dt = np.dtype(dt).newbyteorder("=")
    if dt.kind == "f":
        if isinstance(v, str):
            assert v in ("nan", "inf", "-inf"), "bad float string %r" % v
            return dt.type(float(v))
        assert isinstance(v, (int, float)) and not isinstance(v, bool), "float value not a number: %r" % (v,)
        f = dt.type(float(v))
        assert float(f) == float(v) or (dt.itemsize < 8), "value %r does not round-trip in %s" % (v, dt)
        return f
    if dt.kind in "iu":
        assert isinstance(v, int) and not isinstance(v, bool), "int value not a JSON int: %r" % (v,)
        return v
    if dt.kind == "b":
        assert isinstance(v, bool), "bool value not a JSON bool: %r" % (v,)
        return v
    raise ValueError(dt)


# ------------------------------------------------------------- exact references
def to_ints(vals):
    """finite float64 array -> (list of ints X, e0) with x = X * 2**e0 exactly."""
    m, e = np.frexp(vals)
    M = (m * 2.0 ** 53).astype(np.int64)
    E = e.astype(np.int64) - 53
    nz = M != 0
    if not nz.any():
        return [0] * len(vals), 0
    e0 = int(E[nz].min())
    X = [int(Mi) << int(Ei - e0) if Mi else 0 for Mi, Ei in zip(M.tolist(), E.tolist())]
    return X, e0


def frac_to_float(fr):
    try:
        return float(fr)
    except OverflowError:
        return math.inf if fr > 0 else -math.inf


def exact_moments(vals, isint):
    """returns (S1 as Fraction, S2 as Fraction) exactly"""
    if isint:
        X = [int(x) for x in vals]
        return Fraction(sum(X)), Fraction(sum(x * x for x in X))
    X, e0 = to_ints(np.asarray(vals, dtype=np.float64))
    s = Fraction(2) ** e0
    return Fraction(sum(X)) * s, Fraction(sum(x * x for x in X)) * s * s


def ref_slice(op, vals, isint, ddof):
    """Exact-ish reference (python float, before rounding to result dtype) of one slice."""
    vals = np.asarray(vals)
    if op.startswith("nan"):
        if not isint:
            vals = vals[~np.isnan(vals)]
        op = op[3:]
    n = len(vals)
    if not isint:
        if np.isnan(vals).any():
            return math.nan
        hasp, hasm = bool((vals == np.inf).any()), bool((vals == -np.inf).any())
        if op in ("sum", "mean"):
            if hasp and hasm:
                return math.nan
            if hasp or hasm:
                return math.inf if hasp else -math.inf
        if op in ("var", "std") and (hasp or hasm):
            return math.nan
    if op == "prod":
        if isint:
            p = 1
            for x in vals:
                p *= int(x)
            return p
        p = np.longdouble(1)
        for x in vals.astype(np.longdouble):
            p = p * x
        return float(p) if abs(p) <= np.longdouble(np.finfo(np.float64).max) or not np.isfinite(p) else (math.inf if p > 0 else -math.inf)
    S1, S2 = exact_moments(vals, isint)
    if op == "sum":
        return frac_to_float(S1)
    if op == "mean":
        if n == 0:
            return math.nan
        return frac_to_float(S1 / n)
    if op in ("var", "std"):
        if n == 0:
            return math.nan
        num = S2 - S1 * S1 / n   # = sum (x-mean)^2 exactly
        d = n - ddof
        if d <= 0:
            if orig_is_nan_variant[0]:
                return math.nan
            return math.nan if num == 0 else math.inf
        q = num / d
        if op == "std":
            v = frac_to_float(q)
            if math.isinf(v):
                return math.sqrt(float(q / Fraction(2) ** 1200)) * 2.0 ** 600
            return math.sqrt(v)
        return frac_to_float(q)
    raise ValueError(op)


orig_is_nan_variant = [False]

# ---------------------------------------------------------------- failure store
class Store:
    def __init__(self, tag):
        self.tag = tag
        self.k = 0
        self.sigs = {}
        self.counts = {}
        self.notes = {}

    def count(self, key):
        self.counts[key] = self.counts.get(key, 0) + 1

    def note(self, key):
        self.notes[key] = self.notes.get(key, 0) + 1

    def fail(self, sig, casedir, cmd, numpy_expr, np_res, oc_res, detail):
        self.sigs[sig] = self.sigs.get(sig, 0) + 1
        if self.sigs[sig] > 2:
            return
        self.k += 1
        d = os.path.join(ROOT, "fail_%s_%d" % (self.tag, self.k))
        if os.path.exists(d):
            shutil.rmtree(d)
        shutil.copytree(casedir, d)
        for f in os.listdir(d):
            if f.startswith("out"):
                os.remove(os.path.join(d, f))
        with open(os.path.join(d, "repro.sh"), "w") as f:
            f.write("#!/bin/sh\n# signature: %s\ncd %s\n" % (sig, d))
            f.write(" ".join(shquote(c) if i else c for i, c in enumerate(cmd)).replace(casedir, d) + "\n")
            f.write("# NumPy: %s\n" % numpy_expr.replace("\n", "\n# "))
            f.write("%s -c %s\n" % (PY, shquote("import numpy as np, warnings; warnings.simplefilter('ignore'); import os; os.chdir(%r); %s" % (d, numpy_py_snippet(numpy_expr)))))
        with open(os.path.join(d, "details.txt"), "w") as f:
            f.write("signature: %s\ncommand: %s\nnumpy: %s\nnumpy result: %s\noutcore result: %s\ndetail: %s\n" % (
                sig, " ".join(cmd).replace(casedir, d), numpy_expr, np_res, oc_res, detail))
        print("FAIL %s -> %s: %s" % (sig, d, detail[:300]), flush=True)


def numpy_py_snippet(expr):
    return "from numpy import *; r = %s; print(repr(np.asarray(r)), np.asarray(r).dtype)" % expr


# ---------------------------------------------------------------- reduce
REDUCE_OPS = ["sum", "prod", "min", "max", "mean", "var", "std", "argmin", "argmax", "count-nonzero",
              "any", "all", "nansum", "nanmin", "nanmax", "nanmean", "nanvar", "nanstd", "nanargmin", "nanargmax"]
NPF = {"count-nonzero": "count_nonzero"}
FLOAT_REF_OPS = {"sum", "prod", "mean", "var", "std", "nansum", "nanmean", "nanvar", "nanstd"}


def np_reduce(op, a, axis, ddof):
    f = getattr(np, NPF.get(op, op))
    kw = {}
    if axis is not None:
        kw["axis"] = axis
    if op in ("var", "std", "nanvar", "nanstd"):
        kw["ddof"] = ddof
    r = f(a, **kw)
    if op == "count-nonzero":
        r = np.asarray(r, dtype=np.int64)
    return np.asarray(r)


def random_input(rng, casedir):
    """A random array (complex 2% of the time) saved as casedir/a.npy in a random byte order
    and layout; returns it as loaded back (exactly what outcore sees) with its details."""
    if rng.random() < 0.02:
        dt = str(rng.choice(CPLX))
    else:
        dt = str(rng.choice(NUM_DTYPES))
    shape = gen_shape(rng)
    a, kind = make_array(rng, dt, shape)
    path = os.path.join(casedir, "a.npy")
    bo, order = save_array(rng, a, path)
    return np.load(path), dt, shape, kind, path, bo, order


def reduce_case(rng, st, casedir):
    a, dt, shape, kind, path, bo, order = random_input(rng, casedir)
    op = str(rng.choice(REDUCE_OPS))
    axis = None
    if rng.random() < 0.55 and (a.ndim > 0 or rng.random() < 0.1):
        axis = int(rng.integers(-max(a.ndim, 1), max(a.ndim, 1)))
    ddof = 0
    if op in ("var", "std", "nanvar", "nanstd") and rng.random() < 0.4:
        n = a.size if axis is None else (a.shape[axis] if a.ndim else 1)
        ddof = int(rng.choice([1, 2, n, n + 1]))
    use_out = axis is not None and rng.random() < 0.6
    cmd = [OC, "reduce", op, path]
    if axis is not None:
        cmd += ["--axis", str(axis)]
    if ddof:
        cmd += ["--ddof", str(ddof)]
    outp = os.path.join(casedir, "out.npy")
    if use_out:
        cmd += ["-o", outp]
    cmd += ["--json"] + extra_opts(rng)
    npexpr = "np.%s(np.load('a.npy')%s%s)" % (NPF.get(op, op), "" if axis is None else ", axis=%d" % axis,
                                               ", ddof=%d" % ddof if op in ("var", "std", "nanvar", "nanstd") else "")
    sigbase = "reduce %s %s axis=%s" % (op, np.dtype(dt).kind, "none" if axis is None else "k")
    st.count("reduce")
    st.count("reduce:" + op)
    try:
        npr = np_reduce(op, a, axis, ddof)
        nperr = None
    except Exception as e:
        npr, nperr = None, "%s: %s" % (type(e).__name__, e)
    rc, out, err = run(cmd)
    oc_desc = "rc=%s stdout=%s stderr=%s" % (rc, out.strip()[:2000], err.strip()[:500])
    if "panicked" in err or rc not in (0, 1, 2):
        st.fail(sigbase + " PANIC/RC", casedir, cmd, npexpr, nperr or repr(npr), oc_desc, "bad exit / panic")
        return
    if nperr is not None:
        st.count("reduce:np_error")
        if rc != 2 or not err.strip():
            st.fail("reduce np-raises " + nperr.split(":")[0] + " " + ("axis" if axis is not None else "all") + " " + op[:3], casedir, cmd, npexpr, nperr, oc_desc, "NumPy raises but outcore rc=%s" % rc)
        return
    if rc != 0:
        if np.dtype(dt).kind == "c":
            if rc == 2 and ("c8" in err or "c16" in err or "complex" in err):
                return
        if axis is not None and not use_out and npr.size > 1000:
            return  # printed results are limited to 1000 values
        if "--mem" in cmd and "raise --mem" in err:
            st.note("reduce:budget_refusal_with_mem_1M")
            return
        st.fail(sigbase + " oc-error", casedir, cmd, npexpr, repr(npr), oc_desc, "outcore failed where NumPy gives a result")
        return
    # parse result
    try:
        js = json.loads(out)
    except Exception as e:
        st.fail(sigbase + " badjson", casedir, cmd, npexpr, repr(npr), oc_desc, "unparsable JSON: %s" % e)
        return
    exp_dt = npr.dtype.newbyteorder("=")
    if npr.dtype.str != exp_dt.str:
        st.note("reduce:numpy_nonnative_result")
    if js.get("dtype") != exp_dt.str:
        st.fail(sigbase + " dtype", casedir, cmd, npexpr, "%r dtype %s" % (npr, exp_dt.str), oc_desc,
                "dtype %s != NumPy %s" % (js.get("dtype"), exp_dt.str))
        return
    try:
        if use_out:
            r = np.load(outp)
            if r.dtype.str != exp_dt.str:
                st.fail(sigbase + " filedtype", casedir, cmd, npexpr, "dtype %s" % exp_dt.str, oc_desc + " file dtype %s" % r.dtype.str, "output file dtype differs")
                return
            if r.shape != npr.shape:
                st.fail(sigbase + " shape", casedir, cmd, npexpr, "shape %s" % (npr.shape,), oc_desc + " file shape %s" % (r.shape,), "output shape differs")
                return
            ocv = r.reshape(-1)
        else:
            v = js["value"]
            if axis is not None:
                arrv = np.array(v, dtype=object)
                if npr.ndim == 0:
                    if isinstance(v, list):
                        raise AssertionError("0-d result printed as list")
                    arrv = np.array([v], dtype=object)
                elif arrv.shape != npr.shape and not (npr.size == 0):
                    raise AssertionError("printed shape %s != %s" % (arrv.shape, npr.shape))
                flat = list(arrv.reshape(-1)) if npr.size else []
            else:
                flat = [v]
            ocv = np.array([jval(x, exp_dt) for x in flat], dtype=exp_dt.newbyteorder("=") if exp_dt.kind != "i" and exp_dt.kind != "u" else object)
            if exp_dt.kind in "iu":
                ocv = np.array([int(x) for x in flat], dtype=object)
    except AssertionError as e:
        st.fail(sigbase + " repr", casedir, cmd, npexpr, repr(npr), oc_desc, "result representation: %s" % e)
        return
    npv = npr.reshape(-1)
    if len(ocv) != len(npv):
        st.fail(sigbase + " size", casedir, cmd, npexpr, repr(npr), oc_desc, "result size %d != %d" % (len(ocv), len(npv)))
        return
    bad = compare_reduce(op, a, axis, ddof, npr, npv, ocv, exp_dt, st)
    if bad:
        st.fail(sigbase + " value", casedir, cmd, npexpr, repr(npr)[:3000], oc_desc[:3000], bad)


def compare_reduce(op, a, axis, ddof, npr, npv, ocv, exp_dt, st):
    if exp_dt.kind in "iub":
        for i, (x, y) in enumerate(zip(npv.tolist(), ocv.tolist())):
            if int(x) != int(y):
                return "index %d: NumPy %r, outcore %r" % (i, x, y)
        return None
    # float result
    fk = fkey(exp_dt)
    if op not in FLOAT_REF_OPS:  # min/max/nanmin/nanmax: exact (sign of zero ignored)
        for i, (x, y) in enumerate(zip(npv.tolist(), ocv.tolist())):
            if not ((math.isnan(x) and math.isnan(y)) or x == y):
                return "index %d: NumPy %r, outcore %r" % (i, x, y)
        return None
    # slices
    if axis is None:
        sl = a.reshape(1, -1)
    else:
        ax = axis % a.ndim
        sl = np.moveaxis(a, ax, -1).reshape(int(np.prod([d for j, d in enumerate(a.shape) if j != ax])), a.shape[ax])
    isint = a.dtype.kind in "iub"
    orig_is_nan_variant[0] = op.startswith("nan") and a.dtype.kind == "f"
    rt = RT[fk]
    eps_res = float(np.finfo(exp_dt).eps)
    for i in range(len(npv)):
        vals = sl[i]
        if isint:
            vals = np.array([int(x) for x in vals.tolist()], dtype=object)
        else:
            vals = vals.astype(np.float64)
        ref64 = ref_slice(op, vals, isint, ddof)
        if isinstance(ref64, int):
            ref64 = float(ref64)
        ref = float(exp_dt.newbyteorder("=").type(ref64))
        x, y = float(npv[i]), float(ocv[i])
        n = len(vals)
        absvals = 0.0
        if not isint and n:
            fv = vals[np.isfinite(vals)]
            absvals = float(np.sum(np.abs(fv))) if len(fv) else 0.0
        elif isint and n:
            absvals = float(sum(abs(int(v)) for v in vals))
        if op in ("mean", "nanmean") and n:
            absvals /= n
        if op in ("var", "std", "nanvar", "nanstd", "prod"):
            absvals = 0.0
        rtp = rt if op != "prod" else max(rt, 4 * n * eps_res)
        atol = 2 * ulp(ref, exp_dt) + 8 * 2.0 ** -52 * math.log2(n + 2) * absvals
        if fclose(y, ref, rtp, atol) or fclose(y, x, rtp, atol):
            if not fclose(x, ref, rtp, atol):
                st.note("reduce:numpy_off_but_outcore_close_to_exact:%s:%s" % (op, fk))
                if os.environ.get("DBG"):
                    print("DBG np-off", op, fk, "ddof", ddof, "n", n, "np", x, "oc", y, "ref", ref, "vals", vals[:8])
            continue
        # outcore off from both: accept if at least as accurate as numpy
        if classify(y) == "fin" and classify(ref) == "fin" and classify(x) == "fin" and abs(y - ref) <= 4 * abs(x - ref):
            st.note("reduce:both_off_oc_better:%s:%s" % (op, fk))
            continue
        return "slice %d (n=%d): NumPy %r, outcore %r, exact ref %r (ref64 %r)" % (i, n, x, y, ref, ref64)
    return None


# ---------------------------------------------------------------- stats
def stats_case(rng, st, casedir):
    a, dt, shape, kind, path, _, _ = random_input(rng, casedir)
    cmd = [OC, "stats", path, "--json"] + extra_opts(rng)
    st.count("stats")
    rc, out, err = run(cmd)
    oc_desc = "rc=%s stdout=%s stderr=%s" % (rc, out.strip()[:2000], err.strip()[:500])
    sig = "stats %s" % (np.dtype(dt).kind,)
    npexpr = "[(a:=np.load('a.npy')).size, a.sum(), a.mean(), a.std(), a.min() if a.size else None, a.max() if a.size else None, int(np.isnan(a).sum()) if a.dtype.kind=='f' else 0]"
    if "panicked" in err or rc not in (0, 2):
        st.fail(sig + " PANIC/RC", casedir, cmd, npexpr, "", oc_desc, "bad exit / panic")
        return
    if a.dtype.kind == "c":
        if rc != 2:
            st.fail(sig + " complex", casedir, cmd, npexpr, "error", oc_desc, "complex not refused")
        return
    if rc != 0:
        st.fail(sig + " oc-error", casedir, cmd, npexpr, "result", oc_desc, "outcore failed")
        return
    js = json.loads(out)
    exp = {"count": a.size, "sum": a.sum(), "mean": a.mean(), "std": a.std(),
           "min": a.min() if a.size else None, "max": a.max() if a.size else None,
           "nan_count": int(np.isnan(a).sum()) if a.dtype.kind == "f" else 0}
    flat = a.reshape(-1)
    isint = a.dtype.kind in "iub"
    if isint:
        vals = np.array([int(x) for x in flat.tolist()], dtype=object)
    else:
        vals = flat.astype(np.float64)
    problems = []
    if set(js) != set(exp):
        problems.append("keys %s" % sorted(js))
    for key in ("count", "nan_count"):
        if js.get(key) != exp[key] or isinstance(js.get(key), bool):
            problems.append("%s: NumPy %r outcore %r" % (key, exp[key], js.get(key)))
    for key in ("min", "max"):
        e, o = exp[key], js.get(key)
        if e is None:
            if o is not None:
                problems.append("%s: expected null, got %r" % (key, o))
            continue
        if a.dtype.kind == "b":
            if not isinstance(o, (bool, int)) or bool(o) != bool(e):
                problems.append("%s: NumPy %r outcore %r" % (key, e, o))
        elif a.dtype.kind in "iu":
            if not isinstance(o, int) or isinstance(o, bool) or o != int(e):
                problems.append("%s: NumPy %r outcore %r" % (key, e, o))
        else:
            try:
                ov = jval(o, a.dtype)
            except AssertionError as ex:
                problems.append("%s: %s" % (key, ex))
                continue
            if not ((np.isnan(e) and np.isnan(ov)) or e == ov):
                problems.append("%s: NumPy %r outcore %r" % (key, e, o))
    # sum
    e, o = exp["sum"], js.get("sum")
    if isint:
        if not isinstance(o, int) or isinstance(o, bool) or o != int(e):
            problems.append("sum: NumPy %r (%s) outcore %r" % (e, np.asarray(e).dtype, o))
    fk = fkey(a.dtype) if a.dtype.kind == "f" else "f8"
    for key, op in (("sum", "sum"), ("mean", "mean"), ("std", "std")):
        if key == "sum" and isint:
            continue
        e, o = exp[key], js.get(key)
        rdt = np.asarray(e).dtype
        try:
            ov = float(jval(o, rdt))
        except AssertionError as ex:
            problems.append("%s: %s" % (key, ex))
            continue
        orig_is_nan_variant[0] = False
        ref64 = ref_slice(op, vals, isint, 0)
        ref = float(rdt.type(float(ref64)))
        n = len(vals)
        absvals = 0.0
        if n:
            fv = vals if isint else vals[np.isfinite(vals)]
            absvals = float(sum(abs(float(v)) for v in fv))
            if key == "mean":
                absvals /= n
            if key == "std":
                absvals = 0
        rt = RT[fkey(rdt)]
        atol = 2 * ulp(ref, rdt) + 8 * 2.0 ** -52 * math.log2(n + 2) * absvals
        if key == "std":
            # std of a constant-ish slice: two-pass vs moment formulas differ in the noise
            atol += 1e-7 * (float(np.max(np.abs(vals[np.isfinite(vals)]))) if (not isint and n and np.isfinite(vals).any()) else 0.0) * (2.0 ** -52 / 1.1e-16)
        x = float(e)
        if fclose(ov, ref, rt, atol) or fclose(ov, x, rt, atol):
            continue
        if classify(ov) == "fin" and classify(ref) == "fin" and classify(x) == "fin" and abs(ov - ref) <= 4 * abs(x - ref):
            continue
        problems.append("%s: NumPy %r outcore %r exact %r" % (key, x, ov, ref))
    if problems:
        st.fail(sig + " " + problems[0].split(":")[0], casedir, cmd, npexpr, repr({k: (None if v is None else v.item() if hasattr(v, "item") else v) for k, v in exp.items()}), oc_desc, "; ".join(problems))


# ---------------------------------------------------------------- eval
UNARY_F = ["abs", "sqrt", "exp", "log", "log10", "log1p", "expm1", "sin", "cos", "tan", "arcsin", "arccos",
           "arctan", "sinh", "cosh", "tanh", "floor", "ceil", "round", "isnan", "isfinite"]
BIN_F = ["arctan2", "minimum", "maximum"]
BINOPS = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div, "//": ast.FloorDiv, "%": ast.Mod,
          "**": ast.Pow, "&": ast.BitAnd, "|": ast.BitOr, "^": ast.BitXor}
CMPOPS = {"<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE, "==": ast.Eq, "!=": ast.NotEq}
LIT_INTS = [0, 1, 2, 3, 7, 100, 127, 255, 300, 1000, 65536, 2 ** 31, 2 ** 40]
LIT_FLOATS = [1.5, 0.5, 1e-3, 2.0, 0.0, 3.25, 1e10, 1e+300, 1e-300, 100.0]


def lit_node(rng):
    r = rng.random()
    if r < 0.45:
        v = int(rng.choice(LIT_INTS[:7] if rng.random() < 0.8 else LIT_INTS))
        node = ast.Constant(v)
    elif r < 0.85:
        v = float(rng.choice(LIT_FLOATS[:6] if rng.random() < 0.8 else LIT_FLOATS))
        node = ast.Constant(v)
    elif r < 0.92:
        node = ast.Name(str(rng.choice(["inf", "nan"])))
    else:
        node = ast.Constant(bool(rng.random() < 0.5))
    if not isinstance(node.value if isinstance(node, ast.Constant) else 0, bool) and rng.random() < 0.2:
        node = ast.UnaryOp(ast.USub(), node)
    node.is_lit = True
    return node


def has_array(node):
    return not getattr(node, "is_lit", False)


def gen_expr(rng, names, depth):
    if depth <= 0 or rng.random() < 0.25:
        if rng.random() < 0.8:
            n = ast.Name(str(rng.choice(names)))
            return n
        return lit_node(rng)
    r = rng.random()
    if r < 0.40:
        op = str(rng.choice(list(BINOPS), p=[.16, .12, .16, .12, .08, .08, .08, .07, .07, .06]))
        a = gen_expr(rng, names, depth - 1)
        b = gen_expr(rng, names, depth - 1)
        if not has_array(a) and not has_array(b):
            a = ast.Name(str(rng.choice(names)))
        return ast.BinOp(a, BINOPS[op](), b)
    if r < 0.52:
        op = str(rng.choice(list(CMPOPS)))
        a = gen_expr(rng, names, depth - 1)
        b = gen_expr(rng, names, depth - 1)
        if not has_array(a) and not has_array(b):
            a = ast.Name(str(rng.choice(names)))
        return ast.Compare(a, [CMPOPS[op]()], [b])
    if r < 0.60:
        a = gen_expr(rng, names, depth - 1)
        if not has_array(a):
            a = ast.Name(str(rng.choice(names)))
        return ast.UnaryOp(ast.USub() if rng.random() < 0.6 else ast.Invert(), a)
    if r < 0.82:
        f = str(rng.choice(UNARY_F))
        a = gen_expr(rng, names, depth - 1)
        if not has_array(a):
            a = ast.Name(str(rng.choice(names)))
        return ast.Call(ast.Name(f), [a], [])
    if r < 0.90:
        f = str(rng.choice(BIN_F))
        a = gen_expr(rng, names, depth - 1)
        b = gen_expr(rng, names, depth - 1)
        if not has_array(a) and not has_array(b):
            a = ast.Name(str(rng.choice(names)))
        return ast.Call(ast.Name(f), [a, b], [])
    if r < 0.96:
        c = gen_expr(rng, names, depth - 1)
        if rng.random() < 0.7:
            c = ast.Compare(c if has_array(c) else ast.Name(str(rng.choice(names))), [CMPOPS[str(rng.choice(list(CMPOPS)))]()], [gen_expr(rng, names, 0)])
        a = gen_expr(rng, names, depth - 1)
        b = gen_expr(rng, names, depth - 1)
        return ast.Call(ast.Name("where"), [c, a, b], [])
    a = gen_expr(rng, names, depth - 1)
    if not has_array(a):
        a = ast.Name(str(rng.choice(names)))
    lo, hi = lit_node(rng), lit_node(rng)
    if rng.random() < 0.3:
        lo = gen_expr(rng, names, 0)
    return ast.Call(ast.Name("clip"), [a, lo, hi], [])


PYBIN = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
         ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
         ast.Pow: lambda a, b: a ** b, ast.BitAnd: lambda a, b: a & b, ast.BitOr: lambda a, b: a | b,
         ast.BitXor: lambda a, b: a ^ b}
PYCMP = {ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b,
         ast.GtE: lambda a, b: a >= b, ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b}


def np_eval_tree(node, env, prec):
    """Evaluate like Python would; prec collects itemsizes of float-typed intermediates."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        v = np_eval_tree(node.operand, env, prec)
        r = -v if isinstance(node.op, ast.USub) else ~v
    elif isinstance(node, ast.BinOp):
        a = np_eval_tree(node.left, env, prec)
        b = np_eval_tree(node.right, env, prec)
        r = PYBIN[type(node.op)](a, b)
    elif isinstance(node, ast.Compare):
        a = np_eval_tree(node.left, env, prec)
        b = np_eval_tree(node.comparators[0], env, prec)
        r = PYCMP[type(node.ops[0])](a, b)
    elif isinstance(node, ast.Call):
        args = [np_eval_tree(x, env, prec) for x in node.args]
        r = env[node.func.id](*args)
    else:
        raise ValueError(node)
    if isinstance(r, (np.ndarray, np.generic)) and r.dtype.kind == "f":
        prec.append(r.dtype.itemsize)
        MAGS.append(np.asarray(r))
    return r


MAGS = []


TRANSC = ["sqrt", "exp", "log", "log10", "log1p", "expm1", "sin", "cos", "tan", "arcsin", "arccos", "arctan",
          "sinh", "cosh", "tanh"]


def _accurate(fn):
    f = getattr(np, fn)
    def g(*args):
        r = f(*args)
        if not isinstance(r, (np.ndarray, np.generic)) or r.dtype.kind != "f":
            return r
        hp = f(*[np.asarray(a).astype(np.longdouble) if isinstance(a, (np.ndarray, np.generic)) else np.longdouble(a) for a in args])
        return np.asarray(hp).astype(r.dtype)[()] if np.ndim(r) == 0 else np.asarray(hp).astype(r.dtype)
    return g


def np_env_accurate(arrs):
    env = np_env(arrs)
    for f in TRANSC + ["arctan2"]:
        env[f] = _accurate(f)
    return env


def np_env(arrs):
    env = {"__builtins__": {}}
    for f in UNARY_F + BIN_F + ["where", "clip"]:
        env[f] = getattr(np, f)
    env["inf"] = math.inf
    env["nan"] = math.nan
    env.update(arrs)
    return env


def broadcast_shapes(rng, nin):
    base = gen_shape(rng, maxsize=3000)
    shapes = []
    for _ in range(nin):
        s = list(base)
        drop = int(rng.integers(0, len(s) + 1)) if rng.random() < 0.4 else 0
        s = s[drop:]
        s = [1 if (rng.random() < 0.3) else d for d in s]
        shapes.append(tuple(s))
    if rng.random() < 0.04 and nin > 1 and len(shapes[0]) > 0:
        # a non-broadcastable pair
        s = list(shapes[0])
        s[-1] = s[-1] + 2
        shapes[1] = tuple(s)
    return shapes


def eval_case(rng, st, casedir):
    nin = int(rng.choice([1, 2, 2, 3]))
    names = ["x", "y", "z"][:nin]
    shapes = broadcast_shapes(rng, nin)
    arrs, files, descs = {}, [], []
    for nm, shp in zip(names, shapes):
        if rng.random() < 0.01:
            dt = str(rng.choice(CPLX))
        else:
            dt = str(rng.choice(NUM_DTYPES))
        a, kind = make_array(rng, dt, shp, eval_kind(rng, dt))
        p = os.path.join(casedir, nm + ".npy")
        bo, order = save_array(rng, a, p)
        arrs[nm] = np.load(p)
        files.append("%s=%s" % (nm, p))
        descs.append("%s:%s%s%s%s" % (nm, arrs[nm].dtype.str, order, shp, kind))
    tree = gen_expr(rng, names, int(rng.integers(1, 5)))
    expr = ast.unparse(tree)
    # make sure every name is used at least once? not required.
    cast = None
    if rng.random() < 0.08:
        cast = str(rng.choice(["f8", "f4", "f2", "i8", "i4", "u1", "?", ">f8", "i2"]))
    outp = os.path.join(casedir, "out.npy")
    if rng.random() < 0.15:
        expr = expr.replace("0.001", "1e-3")
    cmd = [OC, "eval", expr, "-o", outp] + files + extra_opts(rng)
    if cast:
        cmd += ["--dtype", cast]
    env = np_env(arrs)
    npexpr = "(lambda " + ",".join(names) + ": " + expr + ")(" + ",".join("np.load('%s.npy')" % n for n in names) + ")"
    if cast:
        npexpr = "np.asarray(%s).astype(%r)" % (npexpr, cast)
    st.count("eval")
    try:
        prec = []
        del MAGS[:]
        npr = np.asarray(np_eval_tree(tree, env, prec))
        npr2 = np.asarray(eval(expr, env))
        assert npr2.dtype == npr.dtype and npr2.shape == npr.shape
        if cast:
            if npr.dtype.kind == "f" and np.dtype(cast).kind in "iu":
                info = np.iinfo(np.dtype(cast))
                if not np.all(np.isfinite(npr)) or (npr.size and (npr.min() < info.min or npr.max() > info.max)):
                    cast = None  # platform-defined in NumPy: skip the cast
                    cmd = cmd[:-2]
                    npexpr = npexpr[len("np.asarray("):npexpr.rindex(").astype(")]
            if cast:
                npr = npr.astype(cast)
        nperr = None
    except Exception as e:
        npr, nperr = None, "%s: %s" % (type(e).__name__, e)
    rc, out, err = run(cmd)
    oc_desc = "rc=%s stdout=%s stderr=%s" % (rc, out.strip()[:500], err.strip()[:800])
    sig = "eval"
    if "panicked" in err or rc not in (0, 1, 2):
        st.fail("eval PANIC/RC " + expr[:40], casedir, cmd, npexpr, nperr or repr(npr)[:2000], oc_desc, "bad exit / panic; inputs " + " ".join(descs))
        return
    if nperr is not None:
        st.count("eval:np_error")
        if rc != 2:
            st.fail("eval np-raises " + nperr.split(":")[0] + " " + " ".join(w for w in nperr.split()[1:4] if not w.lstrip("-").isdigit()), casedir, cmd, npexpr, nperr, oc_desc + " out=" + (summ(np.load(outp)) if rc == 0 else ""),
                    "NumPy raises but outcore rc=%s; inputs %s" % (rc, " ".join(descs)))
        return
    if rc != 0:
        if any(arrs[n].dtype.kind == "c" for n in names) and rc == 2:
            return
        st.fail("eval oc-error " + " ".join(first_line(err).split()[2:6]), casedir, cmd, npexpr, summ(npr), oc_desc, "outcore fails where NumPy gives a result; inputs " + " ".join(descs))
        return
    st.count("eval:ok_run")
    r = np.load(outp)
    exp_str = npr.dtype.str if not cast else np.dtype(cast).str
    if npr.dtype.str != npr.dtype.newbyteorder("=").str and not cast:
        st.note("eval:numpy_nonnative_result")
        npr = npr.astype(npr.dtype.newbyteorder("="))
    if r.dtype.str != npr.dtype.str:
        st.fail("eval dtype %s->%s vs %s" % ("/".join(arrs[n].dtype.str[1:] for n in names), r.dtype.str, npr.dtype.str), casedir, cmd, npexpr,
                summ(npr), summ(r), "dtype outcore %s NumPy %s; inputs %s" % (r.dtype.str, npr.dtype.str, " ".join(descs)))
        return
    if r.shape != npr.shape:
        st.fail("eval shape", casedir, cmd, npexpr, summ(npr), summ(r), "shape outcore %s NumPy %s" % (r.shape, npr.shape))
        return
    minprec = min(prec) if prec else 8
    mag = np.zeros(npr.shape)
    for m in MAGS:
        try:
            m = np.abs(np.broadcast_to(m, npr.shape).astype(np.float64))
            mag = np.maximum(mag, np.where(np.isfinite(m), m, 0.0))
        except ValueError:
            pass
    bad = compare_elems(npr, r, minprec, mag.reshape(-1))
    if bad and bad[0] == "zerosign" and any(f + "(" in expr for f in ("minimum", "maximum", "clip")):
        st.note("eval:zerosign_minmaxclip")
        bad = None
    if bad and any(f + "(" in expr for f in TRANSC + ["arctan2"]):
        # NumPy's own float32/float16 (and some float64) transcendental kernels are not correctly rounded;
        # re-run the reference with long-double transcendentals rounded to NumPy's dtype.
        try:
            del MAGS[:]
            alt = np.asarray(np_eval_tree(tree, np_env_accurate(arrs), []))
            # As the NumPy result above: in the byte order `--dtype` asks for, else native.
            alt = alt.astype(cast) if cast else alt.astype(alt.dtype.newbyteorder("="))
            if alt.dtype == r.dtype and alt.shape == r.shape and compare_elems(alt, r, minprec, mag.reshape(-1)) is None:
                st.note("eval:matches_accurate_transcendental_reference")
                bad = None
        except Exception:
            pass
    if bad:
        st.fail("eval value %s %s %s" % (bad[0], r.dtype.str, ",".join(sorted(set(x for x in UNARY_F + BIN_F + ["where", "clip"] if x + "(" in expr)))[:40]), casedir, cmd, npexpr, summ(npr), summ(r), bad[1] + "; inputs " + " ".join(descs))


def first_line(s):
    return s.strip().splitlines()[0] if s.strip() else ""


def summ(a):
    a = np.asarray(a)
    return "%s %s %s" % (a.dtype.str, a.shape, np.array2string(a.reshape(-1)[:50], threshold=60, max_line_width=200))


def eval_kind(rng, dt):
    k = np.dtype(dt).kind
    if k in "iu":
        return str(rng.choice(["small", "small", "mid", "full", "extreme"]))
    if k == "f":
        return str(rng.choice(["normal", "uniform", "uniform", "intvals", "nanheavy", "special", "posinf", "signedzero", "large"]))
    return None


def compare_elems(npr, r, minprec=8, mag=None):
    a = npr.reshape(-1)
    b = r.reshape(-1)
    if a.dtype.kind in "iub":
        ne = np.nonzero(a != b)[0]
        if len(ne):
            i = ne[0]
            return ("int", "%d elements differ; first flat %d: NumPy %r outcore %r" % (len(ne), i, a[i], b[i]))
        return None
    rt = max(RT[fkey(a.dtype)], {2: RT["f2"], 4: RT["f4"], 8: RT["f8"]}[minprec])
    an, bn = np.isnan(a), np.isnan(b)
    if (an != bn).any():
        i = np.nonzero(an != bn)[0][0]
        return ("nanpos", "%d NaN positions differ; first flat %d: NumPy %r outcore %r" % (int((an != bn).sum()), i, a[i], b[i]))
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    inf_a, inf_b = np.isinf(a64), np.isinf(b64)
    bad = (inf_a | inf_b) & (a64 != b64)
    fin = ~(an | inf_a | inf_b)
    with np.errstate(all="ignore"):
        tol = rt * np.maximum(np.abs(a64), np.abs(b64)) + float(np.finfo(a.dtype).tiny) * 4
        if mag is not None:
            tol = np.maximum(tol, 8 * float(np.finfo({2: np.float16, 4: np.float32, 8: np.float64}[minprec]).eps) * mag)
        bad |= fin & (np.abs(a64 - b64) > tol)
    if bad.any():
        i = np.nonzero(bad)[0][0]
        return ("float", "%d elements differ; first flat %d: NumPy %r outcore %r" % (int(bad.sum()), i, a[i], b[i]))
    zs = (a64 == 0) & (b64 == 0) & (np.signbit(a64) != np.signbit(b64))
    if zs.any():
        i = np.nonzero(zs)[0][0]
        return ("zerosign", "%d zero signs differ; first flat %d: NumPy %r outcore %r" % (int(zs.sum()), i, a[i], b[i]))
    return None


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="all")
    ap.add_argument("--n", type=int, default=10 ** 9)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="x")
    args = ap.parse_args()
    os.makedirs(ROOT, exist_ok=True)
    st = Store(args.tag)
    modes = ["reduce", "stats", "eval"] if args.mode == "all" else args.mode.split(",")
    t0 = time.time()
    i = 0
    casedir = os.path.join(ROOT, "work_%s" % args.tag)
    while i < args.n and time.time() - t0 < args.seconds:
        seed = args.seed * 10 ** 7 + i
        rng = np.random.default_rng(seed)
        mode = modes[i % len(modes)]
        if os.path.exists(casedir):
            shutil.rmtree(casedir)
        os.makedirs(casedir)
        try:
            {"reduce": reduce_case, "stats": stats_case, "eval": eval_case}[mode](rng, st, casedir)
        except Exception:
            print("HARNESS ERROR seed=%d mode=%s\n%s" % (seed, mode, traceback.format_exc()), flush=True)
            st.count("harness_error")
        i += 1
    print("COUNTS", json.dumps(st.counts, sort_keys=True))
    print("NOTES", json.dumps(st.notes, sort_keys=True))
    print("FAIL SIGNATURES", json.dumps(st.sigs, sort_keys=True, indent=0))


if __name__ == "__main__":
    main()
